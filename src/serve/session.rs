//! A serve session: the project, the live tree read from it, the message queue, the file
//! watcher and the change processor that keeps the tree in sync. Dropping the session
//! stops the watcher and joins the processor thread, so nothing outlives it.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::time::Instant;

use rbx_dom_weak::types::Ref;
use uuid::Uuid;

use super::change_processor::{entry_folders, own_folder, ChangeProcessor, ProcessorMessage};
use super::message_queue::MessageQueue;
use super::watcher::{FileWatcher, WatchReport};
use super::wire::SubscribeMessage;
use crate::formats::{project_node, Context, SnapshotError};
use crate::project::{self, Project, ProjectError};
use crate::snapshot::{resolve_tree_references, InstanceSnapshot, Tree};
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
    Watch {
        path: PathBuf,
        source: notify::Error,
    },
    #[error("could not start the change processor: {0}")]
    Thread(std::io::Error),
}

/// The shared, stoppable file watcher.
pub(crate) type SharedWatcher = Arc<Mutex<Option<FileWatcher>>>;

/// The state one run of the server works on.
pub struct ServeSession {
    session_id: Uuid,
    project: Project,
    root_ref: Ref,
    tree: Arc<RwLock<Tree>>,
    queue: Arc<MessageQueue<SubscribeMessage>>,
    watcher: SharedWatcher,
    processor: Mutex<Option<ChangeProcessor>>,
}

impl ServeSession {
    /// Loads the project (a project file or a folder holding a default project), reads
    /// its tree, and starts watching its files.
    pub fn new(project_path: &Path) -> Result<ServeSession, SessionError> {
        Self::start(project_path, true, &Vfs::new_default())
    }

    /// Like [`ServeSession::new`], reading the project's files through `vfs` for the
    /// first tree (live syncback hands over what it has just written); later changes are
    /// read from disk as usual.
    pub fn new_with_vfs(project_path: &Path, vfs: &Vfs) -> Result<ServeSession, SessionError> {
        Self::start(project_path, true, vfs)
    }

    /// Like [`ServeSession::new`] without the watcher and change processor: the tree is
    /// read once and never changes.
    pub fn new_unwatched(project_path: &Path) -> Result<ServeSession, SessionError> {
        Self::start(project_path, false, &Vfs::new_default())
    }

    fn start(project_path: &Path, watch: bool, vfs: &Vfs) -> Result<ServeSession, SessionError> {
        let started = Instant::now();
        let absolute =
            std::fs::canonicalize(project_path).unwrap_or_else(|_| project_path.to_path_buf());
        let project = project::load(&absolute)?;
        let folder = project.folder().to_path_buf();
        let snapshot = project_node::snapshot_project(&Context::default(), vfs, &project, None)?
            .ok_or_else(|| SessionError::EmptyProject(project.file_path.clone()))?;
        let read = started.elapsed();
        log::debug!(
            "session: files read in {read:.2?} ({})",
            crate::memory::resident()
        );

        // Watching starts once the files are read (watching while reading would queue an
        // event for every file opened), on another thread while the tree is built.
        let channel = ChangeProcessor::channel();
        let folders = if watch {
            folders_to_watch(&snapshot)
        } else {
            Default::default()
        };
        let (tree, watcher) = std::thread::scope(|scope| {
            let sender = channel.0.clone();
            let watcher = watch.then(|| {
                scope.spawn(|| {
                    let timer = Instant::now();
                    let watcher = start_watcher(&folder, sender, &folders);
                    log::debug!("session: file watches set in {:.2?}", timer.elapsed());
                    watcher
                })
            });
            let timer = Instant::now();
            let mut tree = Tree::new(snapshot);
            log::debug!(
                "session: tree built in {:.2?} ({})",
                timer.elapsed(),
                crate::memory::resident()
            );
            let timer = Instant::now();
            resolve_tree_references(&mut tree, true);
            log::debug!("session: references resolved in {:.2?}", timer.elapsed());
            let watcher = watcher.map(|handle| {
                handle.join().unwrap_or_else(|_| {
                    Err(SessionError::Thread(std::io::Error::other(
                        "the watcher thread panicked",
                    )))
                })
            });
            (tree, watcher)
        });
        let watcher = watcher.transpose()?;

        let count = tree.len();
        let root_ref = tree.root_ref();
        let tree = Arc::new(RwLock::new(tree));
        let queue = Arc::new(MessageQueue::new());
        let watcher: SharedWatcher = Arc::new(Mutex::new(watcher));
        let processor = if watch {
            Some(
                ChangeProcessor::start(
                    Arc::clone(&tree),
                    Arc::clone(&queue),
                    Arc::clone(&watcher),
                    channel,
                )
                .map_err(SessionError::Thread)?,
            )
        } else {
            None
        };
        log::info!(
            "read {count} instances from {} in {} ms (files read in {} ms); watching {} folder trees",
            project.file_path.display(),
            started.elapsed().as_millis(),
            read.as_millis(),
            folders.0.len()
        );
        Ok(ServeSession {
            session_id: Uuid::new_v4(),
            project,
            root_ref,
            tree,
            queue,
            watcher,
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

    /// The root instance's id (it never changes during a session).
    pub fn root_ref(&self) -> Ref {
        self.root_ref
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

    /// Stops the change processor and the watcher (also done on drop).
    pub fn stop(&self) {
        let processor = self
            .processor
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(processor) = processor {
            processor.stop();
        }
        let watcher = self
            .watcher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(watcher) = watcher {
            watcher.stop();
        }
    }
}

impl Drop for ServeSession {
    fn drop(&mut self) {
        self.stop();
        log::debug!("session {} ended", self.session_id);
    }
}

/// What to watch for a snapshot: the outermost folders it is made of (recursively),
/// and the other folders holding files it reads (their entries only).
fn folders_to_watch(snapshot: &InstanceSnapshot) -> (Vec<PathBuf>, Vec<PathBuf>) {
    fn visit<'a>(
        snapshot: &'a InstanceSnapshot,
        trees: &mut HashSet<&'a Path>,
        entries: &mut HashSet<&'a Path>,
    ) {
        trees.extend(own_folder(&snapshot.metadata));
        entries.extend(entry_folders(&snapshot.metadata));
        for child in &snapshot.children {
            visit(child, trees, entries);
        }
    }
    let (mut trees, mut entries) = (HashSet::new(), HashSet::new());
    visit(snapshot, &mut trees, &mut entries);
    let mut sorted: Vec<&Path> = trees.into_iter().collect();
    sorted.sort();
    let mut roots: Vec<PathBuf> = Vec::new();
    for folder in sorted {
        if !roots.iter().any(|root| folder.starts_with(root)) {
            roots.push(folder.to_path_buf());
        }
    }
    let entries = entries
        .into_iter()
        .filter(|folder| !roots.iter().any(|root| folder.starts_with(root)))
        .map(Path::to_path_buf)
        .collect();
    (roots, entries)
}

fn start_watcher(
    project_folder: &Path,
    sender: Sender<ProcessorMessage>,
    (roots, entries): &(Vec<PathBuf>, Vec<PathBuf>),
) -> Result<FileWatcher, SessionError> {
    let mut watcher = FileWatcher::new(project_folder, move |report| {
        let _ = sender.send(match report {
            WatchReport::Changed(paths) => ProcessorMessage::Changed(paths),
            WatchReport::EventsLost => ProcessorMessage::EventsLost,
        });
    })
    .map_err(|source| SessionError::Watch {
        path: project_folder.to_path_buf(),
        source,
    })?;
    for folder in roots {
        watcher
            .watch_tree(folder)
            .map_err(|source| SessionError::Watch {
                path: folder.clone(),
                source,
            })?;
    }
    for folder in entries {
        watcher
            .watch_entries(folder)
            .map_err(|source| SessionError::Watch {
                path: folder.clone(),
                source,
            })?;
    }
    Ok(watcher)
}
