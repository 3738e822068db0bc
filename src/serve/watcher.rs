//! File watching for serve: `notify`, with its events gathered into batches here, so a
//! burst of writes arrives as one batch of paths.
//!
//! Watched: recursively, the outermost folders the tree is made of (the `$path`
//! folders, [`FileWatcher::watch_tree`]); and only their own entries, the other folders
//! holding files the tree reads, such as the project folder with its project file
//! ([`FileWatcher::watch_entries`]). Watching starts after the first read, since a watch
//! during it would queue an event for every file opened; and one recursive watch per root
//! is set up in one go, where a watch per folder costs a round trip to notify's thread
//! each. The change processor adds the folders of instances that appear later.
//!
//! A batch ends when the files have been quiet for [`DEBOUNCE`] (or has waited
//! [`MAX_WAIT`] under a steady stream of writes). The batching thread sleeps until an
//! event comes, so an idle server does no work at all (notify's own debouncers wake every
//! few milliseconds).
//!
//! Reads (`Access`) and metadata-only changes are dropped (re-reading files must not
//! trigger more re-reads), as is anything inside a hidden folder below the project
//! folder (`.git`, `.atlas`). When the kernel drops events (its inotify queue
//! overflowed, e.g. a checkout touching 100k files while the server was busy), the
//! watcher says so ([`WatchReport::EventsLost`]) instead of passing on a partial batch.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use notify::event::ModifyKind;
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};

/// How long the files must be quiet before a batch is reported.
pub const DEBOUNCE: Duration = Duration::from_millis(20);

/// The longest a batch waits while writes keep coming.
pub const MAX_WAIT: Duration = Duration::from_millis(500);

/// What the batching thread receives: notify's events, and the word to stop.
enum Batched {
    Event(notify::Result<Event>),
    Stop,
}

/// A running watcher; stopped (and its thread joined) by [`FileWatcher::stop`] or drop.
pub struct FileWatcher {
    watcher: Option<RecommendedWatcher>,
    batcher: Option<JoinHandle<()>>,
    /// Tells the batching thread to stop (notify's backends need not drop their event
    /// handler, and with it the other sender, when the watcher is dropped).
    stop: Sender<Batched>,
    project_folder: PathBuf,
    /// Folders watched with everything below them.
    roots: Vec<PathBuf>,
    /// Folders watched for their own entries only.
    entries: HashSet<PathBuf>,
}

impl FileWatcher {
    /// Starts a watcher that calls `on_change` with each batch (from the batching
    /// thread). Nothing is watched until [`FileWatcher::watch_tree`] or
    /// [`FileWatcher::watch_entries`].
    pub fn new(
        project_folder: &Path,
        on_change: impl Fn(WatchReport) + Send + 'static,
    ) -> notify::Result<FileWatcher> {
        let (sender, receiver) = channel::<Batched>();
        let stop = sender.clone();
        let watcher = RecommendedWatcher::new(
            move |event| {
                let _ = sender.send(Batched::Event(event));
            },
            notify::Config::default(),
        )?;
        let folder = project_folder.to_path_buf();
        let batcher = std::thread::Builder::new()
            .name("atlas watch batches".to_string())
            .spawn(move || gather_batches(&receiver, &folder, &on_change))
            .map_err(notify::Error::io)?;
        Ok(FileWatcher {
            watcher: Some(watcher),
            batcher: Some(batcher),
            stop,
            project_folder: project_folder.to_path_buf(),
            roots: Vec::new(),
            entries: HashSet::new(),
        })
    }

    /// Watches every watched folder again, after events were lost: folders created
    /// meanwhile were never given a watch of their own.
    pub fn rewatch(&mut self) {
        let Some(watcher) = self.watcher.as_mut() else {
            return;
        };
        let watched = self
            .roots
            .iter()
            .map(|root| (root, RecursiveMode::Recursive))
            .chain(
                self.entries
                    .iter()
                    .map(|folder| (folder, RecursiveMode::NonRecursive)),
            );
        for (folder, mode) in watched {
            let _ = watcher.unwatch(folder);
            if let Err(err) = watcher.watch(folder, mode) {
                log::warn!("could not watch {} again: {err}", folder.display());
            }
        }
    }

    /// Watches a folder and everything below it, unless a watched root covers it.
    /// `Ok(false)` when nothing was added (covered, hidden, or missing).
    pub fn watch_tree(&mut self, folder: &Path) -> notify::Result<bool> {
        if self.is_covered(folder) {
            return Ok(false);
        }
        let Some(watcher) = self.watcher.as_mut() else {
            return Ok(false);
        };
        watcher.watch(folder, RecursiveMode::Recursive)?;
        self.roots.push(folder.to_path_buf());
        Ok(true)
    }

    /// Watches a folder's own entries, unless already watched.
    pub fn watch_entries(&mut self, folder: &Path) -> notify::Result<bool> {
        if self.entries.contains(folder) || self.is_covered(folder) {
            return Ok(false);
        }
        let Some(watcher) = self.watcher.as_mut() else {
            return Ok(false);
        };
        watcher.watch(folder, RecursiveMode::NonRecursive)?;
        self.entries.insert(folder.to_path_buf());
        Ok(true)
    }

    fn is_covered(&self, folder: &Path) -> bool {
        self.roots.iter().any(|root| folder.starts_with(root))
            || is_hidden_below(folder, &self.project_folder, true)
            || !folder.is_dir()
    }

    /// Watches a watched folder again if `path` is one (then `true`): a watch follows the
    /// folder it was set on, so after `mv map old; mkdir map` it would be watching `old`.
    pub fn renew(&mut self, path: &Path) -> bool {
        let mode = if self.roots.iter().any(|root| root == path) {
            RecursiveMode::Recursive
        } else if self.entries.contains(path) {
            RecursiveMode::NonRecursive
        } else {
            return false;
        };
        let Some(watcher) = self.watcher.as_mut() else {
            return false;
        };
        let _ = watcher.unwatch(path);
        if let Err(err) = watcher.watch(path, mode) {
            log::warn!("could not watch {} again: {err}", path.display());
        }
        true
    }

    /// Forgets a removed folder (and what was watched below it), so it is watched again
    /// if it comes back.
    pub fn forget(&mut self, path: &Path) {
        self.roots.retain(|root| !root.starts_with(path));
        if self.entries.remove(path) {
            self.entries.retain(|folder| !folder.starts_with(path));
        }
    }

    /// The folders watched recursively.
    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// Stops watching and waits for the batching thread to end.
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        drop(self.watcher.take());
        // The batching thread reports what it holds and ends.
        let _ = self.stop.send(Batched::Stop);
        if let Some(batcher) = self.batcher.take() {
            let _ = batcher.join();
        }
    }
}

impl Drop for FileWatcher {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

/// What the watcher passes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchReport {
    /// These paths were created, written, removed or renamed (each once).
    Changed(Vec<PathBuf>),
    /// Some events were lost: only reading everything again is sure to catch up.
    EventsLost,
}

/// The batching thread: waits for an event, gathers more until the files are quiet for
/// [`DEBOUNCE`] (at most [`MAX_WAIT`]), reports the batch; ends on [`Batched::Stop`] or
/// when every sender is gone.
fn gather_batches(
    receiver: &Receiver<Batched>,
    project_folder: &Path,
    on_change: &impl Fn(WatchReport),
) {
    let mut batch: Vec<Event> = Vec::new();
    // Whether to go on after this message.
    let add = |batch: &mut Vec<Event>, message: Batched| match message {
        Batched::Event(Ok(event)) => {
            batch.push(event);
            true
        }
        Batched::Event(Err(err)) => {
            log::warn!("file watcher: {err}");
            true
        }
        Batched::Stop => false,
    };
    // Blocks while idle.
    while let Ok(first) = receiver.recv() {
        let mut open = add(&mut batch, first);
        let started = Instant::now();
        while open {
            let wait = DEBOUNCE.min(MAX_WAIT.saturating_sub(started.elapsed()));
            if wait.is_zero() {
                break;
            }
            match receiver.recv_timeout(wait) {
                Ok(message) => open = add(&mut batch, message),
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => open = false,
            }
        }
        if let Some(report) = report_for(&batch, project_folder) {
            on_change(report);
        }
        batch.clear();
        if !open {
            break;
        }
    }
}

/// The report for one batch, or `None` when nothing in it matters.
fn report_for(events: &[Event], project_folder: &Path) -> Option<WatchReport> {
    if events.iter().any(|event| event.need_rescan()) {
        return Some(WatchReport::EventsLost);
    }
    let mut seen: HashSet<&Path> = HashSet::new();
    let mut paths: Vec<PathBuf> = Vec::new();
    for event in events {
        if matches!(
            event.kind,
            EventKind::Access(_) | EventKind::Modify(ModifyKind::Metadata(_))
        ) {
            continue;
        }
        for path in &event.paths {
            if !is_hidden_below(path, project_folder, false) && seen.insert(path) {
                paths.push(path.clone());
            }
        }
    }
    (!paths.is_empty()).then_some(WatchReport::Changed(paths))
}

/// Whether a folder between `root` and `path` is hidden (`.git/objects/x`); the last
/// component counts only when `path` is itself a folder (a `.gitkeep` file is ordinary).
fn is_hidden_below(path: &Path, root: &Path, path_is_folder: bool) -> bool {
    let Ok(relative) = path.strip_prefix(root) else {
        return false;
    };
    let components: Vec<Component> = relative.components().collect();
    let folders = if path_is_folder {
        components.len()
    } else {
        components.len().saturating_sub(1)
    };
    components[..folders].iter().any(|c| match c {
        Component::Normal(name) => name.to_str().is_some_and(|n| n.starts_with('.')),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_folders_below_the_project_are_skipped() {
        let root = Path::new("/tmp/.tmpABC/project");
        let hidden = |p: &str| is_hidden_below(Path::new(p), root, false);
        assert!(!hidden("/tmp/.tmpABC/project/src/a.luau"));
        assert!(hidden("/tmp/.tmpABC/project/.git/index"));
        assert!(hidden("/tmp/.tmpABC/project/src/.atlas/backup/x"));
        assert!(!hidden("/tmp/.tmpABC/project/src/.gitkeep"));
        assert!(!hidden("/tmp/.tmpABC/project/.git"));
        assert!(!hidden("/elsewhere/.git/x"));
        assert!(is_hidden_below(
            Path::new("/tmp/.tmpABC/project/.git"),
            root,
            true
        ));
    }

    fn debounced(kind: EventKind, paths: &[&str]) -> Event {
        let mut event = notify::Event::new(kind);
        for path in paths {
            event = event.add_path(PathBuf::from(path));
        }
        event
    }

    #[test]
    fn batches_keep_each_path_once_and_report_lost_events() {
        use notify::event::{CreateKind, DataChange};
        let project = Path::new("/p");
        let write = EventKind::Modify(ModifyKind::Data(DataChange::Content));
        let mut events: Vec<Event> = (0..50_000)
            .map(|i| debounced(write, &[&format!("/p/src/f{}.luau", i % 25_000)]))
            .collect();
        events.push(debounced(
            EventKind::Create(CreateKind::File),
            &["/p/.git/x"],
        ));
        events.push(debounced(
            EventKind::Access(notify::event::AccessKind::Any),
            &["/p/src/read.luau"],
        ));
        let Some(WatchReport::Changed(paths)) = report_for(&events, project) else {
            panic!("a batch of writes is a change");
        };
        assert_eq!(
            paths.len(),
            25_000,
            "each path once, hidden and reads dropped"
        );
        assert_eq!(
            paths[1],
            PathBuf::from("/p/src/f1.luau"),
            "first-seen order"
        );

        let lost = notify::Event::new(EventKind::Other).set_flag(notify::event::Flag::Rescan);
        events.push(lost);
        assert_eq!(report_for(&events, project), Some(WatchReport::EventsLost));
        assert_eq!(report_for(&events[50_000..50_002], project), None);
    }

    #[test]
    fn batches_end_when_the_files_are_quiet_and_when_the_watcher_stops() {
        let project = Path::new("/p");
        let write = EventKind::Modify(ModifyKind::Data(notify::event::DataChange::Content));
        let (sender, receiver) = channel();
        let (reports, reported) = channel();
        let batcher = std::thread::spawn(move || {
            gather_batches(&receiver, project, &|report| {
                let _ = reports.send(report);
            })
        });
        // A burst is reported (in one batch unless this machine stalls the sender for
        // longer than the quiet period), each path once.
        for i in 0..100 {
            let event = debounced(write, &[&format!("/p/src/f{i}.luau")]);
            sender.send(Batched::Event(Ok(event))).unwrap();
        }
        let mut paths = Vec::new();
        while paths.len() < 100 {
            let Ok(WatchReport::Changed(batch)) = reported.recv_timeout(Duration::from_secs(5))
            else {
                panic!("the burst was not reported: {} paths", paths.len());
            };
            paths.extend(batch);
        }
        assert_eq!(paths.len(), 100);
        // An event after the quiet period starts the next batch; an error is only logged.
        let failed = notify::Error::generic("watch failed");
        sender.send(Batched::Event(Err(failed))).unwrap();
        let late = debounced(write, &["/p/src/late.luau"]);
        sender.send(Batched::Event(Ok(late))).unwrap();
        // Stop reports what is held and ends the thread, though a sender is still there.
        sender.send(Batched::Stop).unwrap();
        batcher.join().unwrap();
        let rest: Vec<WatchReport> = reported.try_iter().collect();
        assert_eq!(
            rest,
            [WatchReport::Changed(vec![PathBuf::from(
                "/p/src/late.luau"
            )])]
        );
        drop(sender);
    }

    #[test]
    fn reports_writes_in_watched_folders() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("src").join("deep")).unwrap();
        std::fs::create_dir(root.join("other")).unwrap();
        std::fs::create_dir(root.join(".git")).unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        let mut watcher = FileWatcher::new(&root, move |report| {
            if let WatchReport::Changed(paths) = report {
                let _ = sender.send(paths);
            }
        })
        .unwrap();
        assert!(watcher.watch_entries(&root).unwrap());
        assert!(!watcher.watch_entries(&root).unwrap(), "already watched");
        assert!(watcher.watch_tree(&root.join("src")).unwrap());
        assert!(
            !watcher.watch_tree(&root.join("src").join("deep")).unwrap(),
            "below a root"
        );
        assert!(
            !watcher
                .watch_entries(&root.join("src").join("deep"))
                .unwrap(),
            "below a root"
        );
        assert!(!watcher.watch_tree(&root.join(".git")).unwrap(), "hidden");
        assert_eq!(watcher.roots(), [root.join("src")]);
        std::fs::write(root.join(".git").join("index"), "x").unwrap();
        std::fs::write(root.join("other").join("unwatched.luau"), "x").unwrap();
        std::fs::write(root.join("src").join("deep").join("a.luau"), "return 1").unwrap();
        std::fs::write(root.join("default.project.json5"), "{}").unwrap();
        let wanted = [
            root.join("src").join("deep").join("a.luau"),
            root.join("default.project.json5"),
        ];
        let mut seen = Vec::new();
        while let Ok(paths) = receiver.recv_timeout(Duration::from_secs(2)) {
            seen.extend(paths);
            if wanted.iter().all(|w| seen.contains(w)) {
                break;
            }
        }
        assert!(wanted.iter().all(|w| seen.contains(w)), "{seen:?}");
        assert!(
            !seen.iter().any(|p| p.starts_with(root.join(".git"))),
            "{seen:?}"
        );
        assert!(
            !seen.contains(&root.join("other").join("unwatched.luau")),
            "{seen:?}"
        );
        watcher.forget(&root.join("src"));
        assert!(watcher.roots().is_empty());
        watcher.stop();
    }
}
