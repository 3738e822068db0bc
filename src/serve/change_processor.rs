//! The change processor: one thread that turns batches of changed paths into patches.
//!
//! For each path it walks up to the nearest path the tree knows (a file, a meta file, a
//! folder, a project file), re-reads the instances there through their instigating
//! sources, diffs them against the tree, applies the patch, and pushes one message per
//! batch to the message queue. It is the only writer of the tree.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::Instant;

use rbx_dom_weak::types::Ref;

use super::message_queue::MessageQueue;
use super::resnapshot::{resnapshot, source_instance};
use super::wire::{self, SubscribeMessage};
use crate::snapshot::{apply_patch_set, compute_patch_set, AppliedPatchSet, Tree};
use crate::vfs::Vfs;

/// What the processor thread is told.
#[derive(Debug)]
pub enum ProcessorMessage {
    /// These paths changed (created, written, removed or renamed).
    Changed(Vec<PathBuf>),
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
    /// while the initial tree is still being read.
    pub fn channel() -> (Sender<ProcessorMessage>, Receiver<ProcessorMessage>) {
        mpsc::channel()
    }

    /// Starts the thread on a channel from [`ChangeProcessor::channel`].
    pub fn start(
        tree: Arc<RwLock<Tree>>,
        queue: Arc<MessageQueue<SubscribeMessage>>,
        (sender, receiver): (Sender<ProcessorMessage>, Receiver<ProcessorMessage>),
    ) -> std::io::Result<ChangeProcessor> {
        let thread = std::thread::Builder::new()
            .name("atlas change processor".to_string())
            .spawn(move || run(receiver, &tree, &queue))?;
        Ok(ChangeProcessor {
            sender,
            thread: Some(thread),
        })
    }

    /// A sender for change batches (the watcher holds one).
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

fn run(receiver: Receiver<ProcessorMessage>, tree: &RwLock<Tree>, queue: &MessageQueue<SubscribeMessage>) {
    let vfs = Vfs::new_default();
    while let Ok(message) = receiver.recv() {
        let mut paths = match message {
            ProcessorMessage::Changed(paths) => paths,
            ProcessorMessage::Shutdown => return,
        };
        // Everything already queued joins this batch.
        let mut shutdown = false;
        while let Ok(more) = receiver.try_recv() {
            match more {
                ProcessorMessage::Changed(more) => paths.extend(more),
                ProcessorMessage::Shutdown => shutdown = true,
            }
        }
        process_batch(tree, queue, &vfs, paths);
        if shutdown {
            return;
        }
    }
}

/// Re-reads what `paths` affect, applies the changes and queues one message; returns
/// what changed (for tests and benchmarks).
pub fn process_batch(
    tree: &RwLock<Tree>,
    queue: &MessageQueue<SubscribeMessage>,
    vfs: &Vfs,
    mut paths: Vec<PathBuf>,
) -> AppliedPatchSet {
    let started = Instant::now();
    paths.sort();
    paths.dedup();
    let mut tree = tree.write().unwrap_or_else(|e| e.into_inner());
    let ids = affected_instances(&tree, &paths);
    let mut applied = AppliedPatchSet::default();
    for id in ids {
        if tree.dom().get_by_ref(id).is_none() {
            continue;
        }
        match resnapshot(&tree, vfs, id) {
            Ok(snapshot) => {
                if snapshot.is_none() && id == tree.root_ref() {
                    log::error!("the project's root instance no longer reads from its files; keeping the last good tree");
                    continue;
                }
                let patch = compute_patch_set(snapshot, &tree, id);
                if !patch.is_empty() {
                    applied.merge(apply_patch_set(&mut tree, patch));
                }
            }
            Err(err) => log::error!("{err} (the last good version stays in Studio)"),
        }
    }
    if !applied.is_empty() {
        let message = wire::subscribe_message(&tree, &applied);
        queue.push(message);
        log::info!(
            "applied changes to {} ({} added, {} removed, {} updated) in {:.1?}",
            describe_paths(&paths),
            applied.added.len(),
            applied.removed.len(),
            applied.updated.len(),
            started.elapsed()
        );
    } else {
        log::debug!("no instance changed for {}", describe_paths(&paths));
    }
    applied
}

/// The instances to re-read for a batch of paths: for each path, those registered at the
/// nearest path up its ancestry; then only the topmost of them (re-reading an instance
/// re-reads its descendants).
fn affected_instances(tree: &Tree, paths: &[PathBuf]) -> Vec<Ref> {
    let mut found: Vec<Ref> = Vec::new();
    let mut set: HashSet<Ref> = HashSet::new();
    for path in paths {
        for candidate in path.ancestors() {
            let ids = tree.ids_at_path(candidate);
            if !ids.is_empty() {
                for id in ids {
                    if let Some(source) = source_instance(tree, *id) {
                        if set.insert(source) {
                            found.push(source);
                        }
                    }
                }
                break;
            }
        }
    }
    found
        .into_iter()
        .filter(|id| {
            !tree
                .dom()
                .ancestors_of(*id)
                .skip(1)
                .any(|ancestor| set.contains(&ancestor.referent()))
        })
        .collect()
}

fn describe_paths(paths: &[PathBuf]) -> String {
    match paths {
        [one] => one.display().to_string(),
        [first, rest @ ..] => format!("{} and {} more", first.display(), rest.len()),
        [] => "nothing".to_string(),
    }
}
