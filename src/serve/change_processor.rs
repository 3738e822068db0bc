//! The change processor: one thread that turns batches of changed paths into patches.
//!
//! For each path it walks up to the nearest path the tree knows (a file, a meta file, a
//! folder, a project file), re-reads the instances there through their instigating
//! sources, diffs them against the tree, applies the patch, and pushes one message per
//! batch to the message queue. It is the only writer of the tree. It also keeps the
//! watcher on every folder the tree reads from.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rbx_dom_weak::types::Ref;

use super::message_queue::MessageQueue;
use super::resnapshot::{resnapshot, source_instance};
use super::session::SharedWatcher;
use super::wire::{self, SubscribeMessage};
use crate::snapshot::{
    apply_patch_set, compute_patch_set, AppliedPatchSet, FileKind, InstanceMetadata, Tree,
};
use crate::vfs::Vfs;

/// What the processor thread is told.
#[derive(Debug)]
pub enum ProcessorMessage {
    /// These paths changed (created, written, removed or renamed).
    Changed(Vec<PathBuf>),
    /// Folders to read again because files may have appeared in them before their watch
    /// began (sent by the processor itself; their watches are already new).
    Recheck(Vec<PathBuf>),
    /// The watcher lost events: watch again and re-read the whole project.
    EventsLost,
    /// Finish and end the thread.
    Shutdown,
}

/// The running processor thread; stopped and joined on [`ChangeProcessor::stop`] or drop.
pub struct ChangeProcessor {
    sender: Sender<ProcessorMessage>,
    thread: Option<JoinHandle<()>>,
}

impl ChangeProcessor {
    /// The channel to create before the processor, so a watcher can be sending to it
    /// while the processor is not started yet.
    pub fn channel() -> (Sender<ProcessorMessage>, Receiver<ProcessorMessage>) {
        mpsc::channel()
    }

    /// Starts the thread on a channel from [`ChangeProcessor::channel`].
    pub(crate) fn start(
        tree: Arc<RwLock<Tree>>,
        queue: Arc<MessageQueue<SubscribeMessage>>,
        watcher: SharedWatcher,
        (sender, receiver): (Sender<ProcessorMessage>, Receiver<ProcessorMessage>),
    ) -> std::io::Result<ChangeProcessor> {
        let processor = Processor {
            tree,
            queue,
            watcher,
            recheck: sender.clone(),
            vfs: Vfs::new_default(),
            failed: RefCell::new(HashMap::new()),
        };
        // It reads folders recursively, as deep as the project goes (see THREAD_STACK_SIZE).
        let thread = std::thread::Builder::new()
            .name("atlas change processor".to_string())
            .stack_size(crate::THREAD_STACK_SIZE)
            .spawn(move || processor.run(receiver))?;
        Ok(ChangeProcessor {
            sender,
            thread: Some(thread),
        })
    }

    /// A sender for change batches.
    pub fn sender(&self) -> Sender<ProcessorMessage> {
        self.sender.clone()
    }

    /// Ends the thread after the batch it is working on.
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        let _ = self.sender.send(ProcessorMessage::Shutdown);
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                log::error!("the change processor thread panicked");
            }
        }
    }
}

impl Drop for ChangeProcessor {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

struct Processor {
    tree: Arc<RwLock<Tree>>,
    queue: Arc<MessageQueue<SubscribeMessage>>,
    watcher: SharedWatcher,
    /// Folders added while files may still have been appearing in them are read again.
    recheck: Sender<ProcessorMessage>,
    vfs: Vfs,
    /// Instances whose files could not be read (and the error), read again with every
    /// batch and, while any is left, every [`RETRY_AFTER`] or so: what broke them is not
    /// always a file a watch sees (a `$path` folder that appears later, in a folder
    /// nobody watches), and fixing one file may be what another change was waiting for.
    failed: RefCell<HashMap<Ref, String>>,
}

/// How long a failed read waits before it is tried again without a change; doubled after
/// each try up to [`RETRY_AFTER_MAX`].
const RETRY_AFTER: Duration = Duration::from_millis(250);
const RETRY_AFTER_MAX: Duration = Duration::from_secs(8);

impl Processor {
    fn run(self, receiver: Receiver<ProcessorMessage>) {
        let mut retry_after = RETRY_AFTER;
        loop {
            let message = if self.failed.borrow().is_empty() {
                retry_after = RETRY_AFTER;
                match receiver.recv() {
                    Ok(message) => message,
                    Err(_) => return,
                }
            } else {
                match receiver.recv_timeout(retry_after) {
                    Ok(message) => message,
                    Err(RecvTimeoutError::Timeout) => {
                        retry_after = (retry_after * 2).min(RETRY_AFTER_MAX);
                        self.apply(Vec::new(), Vec::new(), &[]);
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            };
            let mut paths = Vec::new();
            let mut rechecked = Vec::new();
            let mut lost = false;
            // Everything already queued joins this batch.
            let queued = std::iter::from_fn(|| receiver.try_recv().ok());
            for message in std::iter::once(message).chain(queued) {
                match message {
                    ProcessorMessage::Changed(more) => paths.extend(more),
                    ProcessorMessage::Recheck(more) => rechecked.extend(more),
                    ProcessorMessage::EventsLost => lost = true,
                    ProcessorMessage::Shutdown => return,
                }
            }
            let changed = paths.clone();
            paths.extend(rechecked);
            paths.sort();
            paths.dedup();
            if lost {
                self.catch_up(paths);
            } else {
                self.process_batch(paths, &changed);
            }
        }
    }

    /// After lost events: every folder is watched again (new folders may have no watch),
    /// then the whole project is read again and diffed, so nothing changed meanwhile is
    /// missed.
    fn catch_up(&self, paths: Vec<PathBuf>) {
        log::warn!(
            "the file watcher lost events (too many changes at once); reading the whole project again"
        );
        if let Some(watcher) = self
            .watcher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            watcher.rewatch();
        }
        let root = self
            .tree
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .root_ref();
        self.apply(paths, vec![root], &[]);
    }

    /// Re-reads what `paths` affect, applies the changes and queues one message;
    /// `changed` are those the watcher reported (the rest are folders read again).
    fn process_batch(&self, paths: Vec<PathBuf>, changed: &[PathBuf]) {
        let ids = affected_instances(&self.tree.read().unwrap_or_else(|e| e.into_inner()), &paths);
        self.apply(paths, ids, changed);
    }

    /// Re-reads the instances `ids` (and those that failed before) from their files,
    /// applies the changes, watches the folders that appeared and queues one message.
    fn apply(&self, paths: Vec<PathBuf>, mut ids: Vec<Ref>, changed: &[PathBuf]) {
        let started = Instant::now();
        let mut tree = self.tree.write().unwrap_or_else(|e| e.into_inner());
        let mut applied = AppliedPatchSet::default();
        // Each changed path's own instance, before the outermost of them are chosen.
        let requested = ids.clone();
        let retried = self.failed.borrow().keys().copied().collect::<Vec<_>>();
        if !retried.is_empty() {
            self.failed
                .borrow_mut()
                .retain(|id, _| tree.dom().get_by_ref(*id).is_some());
            ids.extend(retried);
        }
        ids = outermost(&tree, ids);
        let mut unreadable = Vec::new();
        for id in ids {
            if !self.read_again(&mut tree, id, &mut applied) {
                unreadable.push(id);
            }
        }
        // What changed inside a folder (or node) that does not read is read on its own:
        // a broken new file must not hold back edits to its siblings.
        if !unreadable.is_empty() {
            let inside = requested
                .into_iter()
                .filter(|id| {
                    !unreadable.contains(id)
                        && tree.dom().get_by_ref(*id).is_some()
                        && tree
                            .dom()
                            .ancestors_of(*id)
                            .skip(1)
                            .any(|ancestor| unreadable.contains(&ancestor.referent()))
                })
                .collect();
            for id in outermost(&tree, inside) {
                self.read_again(&mut tree, id, &mut applied);
            }
        }
        self.update_watches(&tree, &paths, changed, &applied);
        let what = if paths.is_empty() {
            "files that could not be read before".to_string()
        } else {
            describe_paths(&paths)
        };
        if applied.is_empty() {
            log::debug!("no instance changed for {what}");
            return;
        }
        let message = wire::subscribe_message(&tree, &applied);
        self.queue.push(message);
        log::info!(
            "applied changes to {} ({} added, {} removed, {} updated) in {:.1?}",
            what,
            applied.added.len(),
            applied.removed.len(),
            applied.updated.len(),
            started.elapsed()
        );
    }

    /// Reads instance `id` again and applies what changed; `false` when its files do not
    /// read (it keeps its last good version and is tried again later).
    fn read_again(&self, tree: &mut Tree, id: Ref, applied: &mut AppliedPatchSet) -> bool {
        if tree.dom().get_by_ref(id).is_none() {
            self.failed.borrow_mut().remove(&id);
            return true;
        }
        match resnapshot(tree, &self.vfs, id) {
            Ok(None) if id == tree.root_ref() => {
                self.failed_read(
                    id,
                    "the project's root no longer reads from its files; keeping the last good tree"
                        .to_string(),
                );
                false
            }
            Ok(snapshot) => {
                if self.failed.borrow_mut().remove(&id).is_some() {
                    log::info!("{} reads again", describe_instance(tree, id));
                }
                let patch = compute_patch_set(snapshot, tree, id);
                if !patch.is_empty() {
                    applied.merge(apply_patch_set(tree, patch));
                }
                true
            }
            Err(err) => {
                self.failed_read(id, format!("{err} (Studio keeps the last good version)"));
                false
            }
        }
    }

    /// Logs a failed read once (not again on every retry while it stays the same).
    fn failed_read(&self, id: Ref, message: String) {
        let mut failed = self.failed.borrow_mut();
        if failed.get(&id) != Some(&message) {
            log::error!("{message}");
            failed.insert(id, message);
        }
    }

    /// Watches the folders of added instances, forgets removed folders, and reads new
    /// folders once more: files created in them before the watch began were missed.
    fn update_watches(
        &self,
        tree: &Tree,
        paths: &[PathBuf],
        changed: &[PathBuf],
        applied: &AppliedPatchSet,
    ) {
        let mut guard = self.watcher.lock().unwrap_or_else(|e| e.into_inner());
        let Some(watcher) = guard.as_mut() else {
            return;
        };
        let mut recheck = Vec::new();
        for path in paths {
            if !path.exists() {
                watcher.forget(path);
            }
        }
        for path in changed {
            if path.is_dir() && watcher.renew(path) {
                // An event on a watched folder itself: it may be a new folder by that
                // name, and files may have appeared in it before the new watch.
                recheck.push(path.clone());
            }
        }
        for id in &applied.added {
            for instance in tree.dom().descendants_of(*id) {
                let Some(metadata) = tree.metadata(instance.referent()) else {
                    continue;
                };
                if let Some(folder) = own_folder(metadata) {
                    if let Err(err) = watcher.watch_tree(folder) {
                        log::warn!("could not watch {}: {err}", folder.display());
                    }
                    recheck.push(folder.to_path_buf());
                }
                for folder in entry_folders(metadata) {
                    if let Err(err) = watcher.watch_entries(folder) {
                        log::warn!("could not watch {}: {err}", folder.display());
                    }
                }
            }
        }
        if !recheck.is_empty() {
            let _ = self.recheck.send(ProcessorMessage::Recheck(recheck));
        }
    }
}

/// The folder a directory instance is made of (`$path` folders included).
pub(crate) fn own_folder(metadata: &InstanceMetadata) -> Option<&Path> {
    match metadata.kind {
        Some(FileKind::Directory | FileKind::InitDirectory) => {
            metadata.relevant_paths.first().map(PathBuf::as_path)
        }
        _ => None,
    }
}

/// The folders holding the files an instance reads (its file, meta files, init files,
/// project file).
pub(crate) fn entry_folders(metadata: &InstanceMetadata) -> impl Iterator<Item = &Path> {
    metadata
        .relevant_paths
        .iter()
        .filter_map(|path| path.parent())
}

/// The instances to re-read for a batch of paths: for each path, those registered at the
/// nearest path up its ancestry, each once (`apply` keeps the topmost of them, since
/// re-reading an instance re-reads its descendants, and falls back on the others when
/// that read fails).
fn affected_instances(tree: &Tree, paths: &[PathBuf]) -> Vec<Ref> {
    let mut found: Vec<Ref> = Vec::new();
    let mut set: HashSet<Ref> = HashSet::new();
    for path in paths {
        for candidate in path.ancestors() {
            let ids = tree.ids_at_path(candidate);
            if ids.is_empty() {
                continue;
            }
            for id in ids {
                if let Some(source) = source_instance(tree, id) {
                    if set.insert(source) {
                        found.push(source);
                    }
                }
            }
            break;
        }
    }
    found
}

/// The instances of `ids` none of whose ancestors is in `ids` (reading an instance
/// again reads its descendants too), each once, in their first order.
fn outermost(tree: &Tree, ids: Vec<Ref>) -> Vec<Ref> {
    let set: HashSet<Ref> = ids.iter().copied().collect();
    let mut seen = HashSet::new();
    ids.into_iter()
        .filter(|id| {
            seen.insert(*id)
                && !tree
                    .dom()
                    .ancestors_of(*id)
                    .skip(1)
                    .any(|ancestor| set.contains(&ancestor.referent()))
        })
        .collect()
}

fn describe_instance(tree: &Tree, id: Ref) -> String {
    match tree.dom().full_path_of(id, ".") {
        // The root's path is empty: name it.
        path if path.is_empty() => tree.dom().get_by_ref(id).map_or_else(String::new, |root| {
            format!("the project root ({})", root.name)
        }),
        path => path,
    }
}

fn describe_paths(paths: &[PathBuf]) -> String {
    match paths {
        [one] => one.display().to_string(),
        [first, rest @ ..] => format!("{} and {} more", first.display(), rest.len()),
        [] => "the whole project".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::formats::{project_node, Context};
    use crate::snapshot::resolve_tree_references;

    fn source_of(tree: &Tree, name: &str) -> Option<String> {
        let root = tree.dom().root();
        root.children().iter().find_map(|child| {
            let instance = tree.dom().get_by_ref(*child)?;
            if instance.name != name {
                return None;
            }
            match instance.properties.get(&"Source".into()) {
                Some(rbx_dom_weak::types::Variant::String(source)) => Some(source.clone()),
                _ => None,
            }
        })
    }

    #[test]
    fn lost_events_read_the_whole_project_again() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().canonicalize().unwrap();
        std::fs::create_dir(folder.join("src")).unwrap();
        std::fs::write(
            folder.join("default.project.json5"),
            r#"{ name: "P", tree: { $path: "src" } }"#,
        )
        .unwrap();
        std::fs::write(folder.join("src").join("a.luau"), "return 1").unwrap();
        let project = crate::project::load(&folder).unwrap();
        let snapshot = project_node::snapshot_project(
            &Context::default(),
            &Vfs::new_default(),
            &project,
            None,
        )
        .unwrap()
        .unwrap();
        let mut tree = Tree::new(snapshot);
        resolve_tree_references(&mut tree, true);
        let tree = Arc::new(RwLock::new(tree));
        let queue = Arc::new(MessageQueue::new());
        // No watcher: these writes are exactly the events that got lost.
        let processor = ChangeProcessor::start(
            Arc::clone(&tree),
            Arc::clone(&queue),
            Arc::new(Mutex::new(None)),
            ChangeProcessor::channel(),
        )
        .unwrap();
        std::fs::write(folder.join("src").join("a.luau"), "return 2").unwrap();
        std::fs::write(folder.join("src").join("b.luau"), "return 3").unwrap();
        processor
            .sender()
            .send(ProcessorMessage::EventsLost)
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while queue.cursor() == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        processor.stop();
        assert_eq!(queue.cursor(), 1, "one message for the catch-up");
        let tree = tree.read().unwrap();
        assert_eq!(source_of(&tree, "a").as_deref(), Some("return 2"));
        assert_eq!(source_of(&tree, "b").as_deref(), Some("return 3"));
    }
}
