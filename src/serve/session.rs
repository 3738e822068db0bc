//! A serve session: the project, the live tree read from it, the message queue, the file
//! watcher and the change processor that keeps the tree in sync. Dropping the session
//! stops the watcher and joins the processor thread, so nothing outlives it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::time::Instant;

use uuid::Uuid;

use super::change_processor::{ChangeProcessor, ProcessorMessage};
use super::message_queue::MessageQueue;
use super::watcher::FileWatcher;
use super::wire::SubscribeMessage;
use crate::formats::{project_node, Context, SnapshotError};
use crate::project::{self, Project, ProjectError};
use crate::snapshot::{resolve_tree_references, Tree};
use crate::vfs::Vfs;

/// Why a session could not start.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Project(#[from] ProjectError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error("{}: the project's root node makes no instance", .0.display())]
    EmptyProject(PathBuf),
    #[error("could not watch {}: {source}", .path.display())]
    Watch { path: PathBuf, source: notify::Error },
    #[error("could not start the change processor: {0}")]
    Thread(std::io::Error),
}

/// The state one run of the server works on.
pub struct ServeSession {
    session_id: Uuid,
    project: Project,
    tree: Arc<RwLock<Tree>>,
    queue: Arc<MessageQueue<SubscribeMessage>>,
    watcher: Mutex<Option<FileWatcher>>,
    processor: Mutex<Option<ChangeProcessor>>,
}

impl ServeSession {
    /// Loads the project (a project file or a folder holding a default project), reads
    /// its tree, and starts watching its files.
    pub fn new(project_path: &Path) -> Result<ServeSession, SessionError> {
        Self::start(project_path, true)
    }

    /// Like [`ServeSession::new`] without the watcher and change processor: the tree is
    /// read once and never changes.
    pub fn new_unwatched(project_path: &Path) -> Result<ServeSession, SessionError> {
        Self::start(project_path, false)
    }

    fn start(project_path: &Path, watch: bool) -> Result<ServeSession, SessionError> {
        let started = Instant::now();
        let absolute = std::fs::canonicalize(project_path).unwrap_or_else(|_| project_path.to_path_buf());
        let project = project::load(&absolute)?;
        let folder = project.folder().to_path_buf();
        let vfs = Vfs::new_default();
        let channel = ChangeProcessor::channel();

        // The watcher walks the folder while the tree is read: both take a while on big
        // projects, and a change made meanwhile is still seen.
        let (snapshot, watcher) = std::thread::scope(|scope| {
            let sender = channel.0.clone();
            let folder = &folder;
            let watcher = watch.then(|| scope.spawn(move || start_watcher(folder, sender)));
            let snapshot = project_node::snapshot_project(&Context::default(), &vfs, &project, None);
            let watcher = watcher.map(|handle| match handle.join() {
                Ok(result) => result,
                Err(_) => Err(SessionError::Thread(std::io::Error::other("the watcher thread panicked"))),
            });
            (snapshot, watcher)
        });
        let snapshot = snapshot?.ok_or_else(|| SessionError::EmptyProject(project.file_path.clone()))?;
        let mut watcher = watcher.transpose()?;

        let mut tree = Tree::new(snapshot);
        resolve_tree_references(&mut tree, true);
        if let Some(watcher) = watcher.as_mut() {
            for (path, recursive) in outside_roots(&tree, &folder) {
                watcher
                    .watch(&path, recursive)
                    .map_err(|source| SessionError::Watch { path, source })?;
            }
        }
        let count = tree.len();
        let tree = Arc::new(RwLock::new(tree));
        let queue = Arc::new(MessageQueue::new());
        let processor = if watch {
            Some(ChangeProcessor::start(Arc::clone(&tree), Arc::clone(&queue), channel).map_err(SessionError::Thread)?)
        } else {
            None
        };
        log::info!(
            "read {count} instances from {} in {:.0?}",
            project.file_path.display(),
            started.elapsed()
        );
        Ok(ServeSession {
            session_id: Uuid::new_v4(),
            project,
            tree,
            queue,
            watcher: Mutex::new(watcher),
            processor: Mutex::new(processor),
        })
    }

    /// This session's id (new for every session).
    pub fn session_id(&self) -> Uuid {
        self.session_id
    }

    /// The project as it was when the session started.
    pub fn project(&self) -> &Project {
        &self.project
    }

    /// The live tree, locked for reading.
    pub fn tree(&self) -> RwLockReadGuard<'_, Tree> {
        self.tree.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The live tree, shared.
    pub fn tree_handle(&self) -> Arc<RwLock<Tree>> {
        Arc::clone(&self.tree)
    }

    /// The history of change messages.
    pub fn message_queue(&self) -> &Arc<MessageQueue<SubscribeMessage>> {
        &self.queue
    }

    /// Stops the watcher and the change processor (also done on drop).
    pub fn stop(&self) {
        if let Some(watcher) = self.watcher.lock().unwrap_or_else(|e| e.into_inner()).take() {
            watcher.stop();
        }
        if let Some(processor) = self.processor.lock().unwrap_or_else(|e| e.into_inner()).take() {
            processor.stop();
        }
    }
}

impl Drop for ServeSession {
    fn drop(&mut self) {
        self.stop();
        log::debug!("session {} ended", self.session_id);
    }
}

fn start_watcher(
    folder: &Path,
    sender: std::sync::mpsc::Sender<ProcessorMessage>,
) -> Result<FileWatcher, SessionError> {
    let mut watcher = FileWatcher::new(move |paths| {
        let _ = sender.send(ProcessorMessage::Changed(paths));
    })
    .map_err(|source| SessionError::Watch {
        path: folder.to_path_buf(),
        source,
    })?;
    watcher.watch(folder, true).map_err(|source| SessionError::Watch {
        path: folder.to_path_buf(),
        source,
    })?;
    Ok(watcher)
}

/// Paths the tree reads from outside the project folder (`$path: "../shared"`), reduced
/// to the outermost ones: folders are watched recursively, files through their folder.
fn outside_roots(tree: &Tree, folder: &Path) -> Vec<(PathBuf, bool)> {
    let mut outside: BTreeSet<PathBuf> = BTreeSet::new();
    for metadata in tree.metadata_map().values() {
        for path in &metadata.relevant_paths {
            if !path.starts_with(folder) {
                outside.insert(path.clone());
            }
        }
    }
    let mut roots: Vec<(PathBuf, bool)> = Vec::new();
    let mut kept: Vec<&PathBuf> = Vec::new();
    for path in &outside {
        if kept.iter().any(|k| path.starts_with(k)) {
            continue;
        }
        kept.push(path);
        let root = if path.is_dir() {
            (path.clone(), true)
        } else {
            match path.parent() {
                Some(parent) if parent.is_dir() => (parent.to_path_buf(), false),
                _ => continue,
            }
        };
        if !roots.iter().any(|(r, recursive)| root.0.starts_with(r) && (*recursive || *r == root.0)) {
            roots.push(root);
        }
    }
    roots
}
