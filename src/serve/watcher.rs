//! File watching for serve: `notify` with the full debouncer, so a burst of writes
//! arrives as one batch of paths.
//!
//! Only the folders the tree reads from are watched, each on its own (not recursively):
//! a recursive watch would walk and stat every file again, and watching while the first
//! read runs would queue an event for every file opened. The change processor adds the
//! folders of added instances as they appear ([`FileWatcher::watch_folder`]).
//!
//! Reads (`Access`) and metadata-only changes are dropped (re-reading files must not
//! trigger more re-reads), as is anything inside a hidden folder below the project
//! folder (`.git`, `.atlas`).

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use notify::event::ModifyKind;
use notify::{EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{new_debouncer, DebounceEventResult, Debouncer, RecommendedCache};

/// How long the files must be quiet before a batch is reported.
pub const DEBOUNCE: Duration = Duration::from_millis(20);

/// A running watcher; stopped (and its thread joined) by [`FileWatcher::stop`] or drop.
pub struct FileWatcher {
    debouncer: Option<Debouncer<RecommendedWatcher, RecommendedCache>>,
    project_folder: PathBuf,
    watched: HashSet<PathBuf>,
}

impl FileWatcher {
    /// Starts a watcher that calls `on_change` with each batch of changed paths (from
    /// the debouncer's thread). Nothing is watched until [`FileWatcher::watch_folder`].
    pub fn new(
        project_folder: &Path,
        on_change: impl Fn(Vec<PathBuf>) + Send + 'static,
    ) -> notify::Result<FileWatcher> {
        let folder = project_folder.to_path_buf();
        let debouncer = new_debouncer(DEBOUNCE, None, move |result: DebounceEventResult| {
            match result {
                Ok(events) => {
                    let mut paths: Vec<PathBuf> = Vec::new();
                    for event in events {
                        if matches!(
                            event.kind,
                            EventKind::Access(_) | EventKind::Modify(ModifyKind::Metadata(_))
                        ) {
                            continue;
                        }
                        for path in &event.paths {
                            if !is_hidden_below(path, &folder, false) && !paths.contains(path) {
                                paths.push(path.clone());
                            }
                        }
                    }
                    if !paths.is_empty() {
                        on_change(paths);
                    }
                }
                Err(errors) => {
                    for error in errors {
                        log::warn!("file watcher: {error}");
                    }
                }
            }
        })?;
        Ok(FileWatcher {
            debouncer: Some(debouncer),
            project_folder: project_folder.to_path_buf(),
            watched: HashSet::new(),
        })
    }

    /// Watches the entries of one folder (not its subfolders); `Ok(false)` when it was
    /// watched already, is hidden, or does not exist.
    pub fn watch_folder(&mut self, folder: &Path) -> notify::Result<bool> {
        if self.watched.contains(folder) || is_hidden_below(folder, &self.project_folder, true) {
            return Ok(false);
        }
        let Some(debouncer) = self.debouncer.as_mut() else {
            return Ok(false);
        };
        if !folder.is_dir() {
            return Ok(false);
        }
        debouncer.watch(folder, RecursiveMode::NonRecursive)?;
        self.watched.insert(folder.to_path_buf());
        Ok(true)
    }

    /// Forgets a folder that was removed (and the folders below it), so it is watched
    /// again if it comes back.
    pub fn forget(&mut self, path: &Path) {
        if self.watched.remove(path) {
            self.watched.retain(|folder| !folder.starts_with(path));
        }
    }

    /// How many folders are watched.
    pub fn watched_count(&self) -> usize {
        self.watched.len()
    }

    /// Stops watching and waits for the debouncer thread to end.
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        if let Some(debouncer) = self.debouncer.take() {
            debouncer.stop();
        }
    }
}

impl Drop for FileWatcher {
    fn drop(&mut self) {
        self.stop_inner();
    }
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
        assert!(is_hidden_below(Path::new("/tmp/.tmpABC/project/.git"), root, true));
    }

    #[test]
    fn reports_writes_in_watched_folders() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::create_dir(root.join(".git")).unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        let mut watcher = FileWatcher::new(&root, move |paths| {
            let _ = sender.send(paths);
        })
        .unwrap();
        assert!(watcher.watch_folder(&root).unwrap());
        assert!(!watcher.watch_folder(&root).unwrap(), "already watched");
        assert!(!watcher.watch_folder(&root.join(".git")).unwrap(), "hidden");
        std::fs::write(root.join(".git").join("index"), "x").unwrap();
        std::fs::write(root.join("sub").join("unwatched.luau"), "x").unwrap();
        std::fs::write(root.join("a.luau"), "return 1").unwrap();
        let mut seen = Vec::new();
        while let Ok(paths) = receiver.recv_timeout(Duration::from_secs(2)) {
            seen.extend(paths);
            if seen.contains(&root.join("a.luau")) {
                break;
            }
        }
        assert!(seen.contains(&root.join("a.luau")), "{seen:?}");
        assert!(!seen.iter().any(|p| p.starts_with(root.join(".git"))), "{seen:?}");
        assert!(!seen.contains(&root.join("sub").join("unwatched.luau")), "{seen:?}");
        watcher.forget(&root);
        assert_eq!(watcher.watched_count(), 0);
        watcher.stop();
    }
}
