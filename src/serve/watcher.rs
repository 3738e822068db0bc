//! File watching for serve: `notify` with the full debouncer, so a burst of writes
//! arrives as one batch of paths. Reads (`Access`) and metadata-only changes are dropped
//! (re-reading files must not trigger more re-reads), as is anything inside a hidden
//! folder below a watched root (`.git`, `.atlas`).

use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use notify::event::ModifyKind;
use notify::{EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{new_debouncer, DebounceEventResult, Debouncer, RecommendedCache};

/// How long the files must be quiet before a batch is reported.
pub const DEBOUNCE: Duration = Duration::from_millis(20);

/// A running watcher; stopped (and its thread joined) by [`FileWatcher::stop`] or drop.
pub struct FileWatcher {
    debouncer: Option<Debouncer<RecommendedWatcher, RecommendedCache>>,
    roots: Arc<Mutex<Vec<PathBuf>>>,
}

impl FileWatcher {
    /// Starts a watcher that calls `on_change` with each batch of changed paths (from
    /// the debouncer's thread). Nothing is watched until [`FileWatcher::watch`].
    pub fn new(on_change: impl Fn(Vec<PathBuf>) + Send + 'static) -> notify::Result<FileWatcher> {
        let roots: Arc<Mutex<Vec<PathBuf>>> = Arc::default();
        let handler_roots = Arc::clone(&roots);
        let debouncer = new_debouncer(DEBOUNCE, None, move |result: DebounceEventResult| match result {
            Ok(events) => {
                let roots = handler_roots.lock().unwrap_or_else(|e| e.into_inner()).clone();
                let mut paths: Vec<PathBuf> = Vec::new();
                for event in events {
                    match event.kind {
                        EventKind::Access(_) | EventKind::Modify(ModifyKind::Metadata(_)) => continue,
                        _ => {}
                    }
                    for path in &event.paths {
                        if !is_hidden_below_root(path, &roots) && !paths.contains(path) {
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
        })?;
        Ok(FileWatcher {
            debouncer: Some(debouncer),
            roots,
        })
    }

    /// Watches a folder (with everything below it) or one file's folder (only its entries).
    pub fn watch(&mut self, path: &Path, recursive: bool) -> notify::Result<()> {
        let mode = if recursive {
            RecursiveMode::Recursive
        } else {
            RecursiveMode::NonRecursive
        };
        if let Some(debouncer) = self.debouncer.as_mut() {
            debouncer.watch(path, mode)?;
            self.roots
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(path.to_path_buf());
        }
        Ok(())
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

/// Whether a folder between the watched root and `path` is hidden (`.git/objects/x`).
/// The last component may be hidden: a `.gitkeep` next to scripts is an ordinary file.
fn is_hidden_below_root(path: &Path, roots: &[PathBuf]) -> bool {
    let Some(root) = roots.iter().filter(|r| path.starts_with(r)).max_by_key(|r| r.as_os_str().len()) else {
        return false;
    };
    let Ok(relative) = path.strip_prefix(root) else {
        return false;
    };
    let components: Vec<Component> = relative.components().collect();
    let folders = components.len().saturating_sub(1);
    components[..folders].iter().any(|c| match c {
        Component::Normal(name) => name.to_str().is_some_and(|n| n.starts_with('.')),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_folders_below_the_root_are_skipped() {
        let roots = vec![PathBuf::from("/tmp/.tmpABC/project")];
        let hidden = |p: &str| is_hidden_below_root(Path::new(p), &roots);
        assert!(!hidden("/tmp/.tmpABC/project/src/a.luau"));
        assert!(hidden("/tmp/.tmpABC/project/.git/index"));
        assert!(hidden("/tmp/.tmpABC/project/src/.atlas/backup/x"));
        assert!(!hidden("/tmp/.tmpABC/project/src/.gitkeep"));
        assert!(!hidden("/tmp/.tmpABC/project/.git"));
        assert!(!hidden("/elsewhere/.git/x"));
    }

    #[test]
    fn reports_writes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        let mut watcher = FileWatcher::new(move |paths| {
            let _ = sender.send(paths);
        })
        .unwrap();
        watcher.watch(&root, true).unwrap();
        std::fs::create_dir(root.join(".git")).unwrap();
        std::fs::write(root.join(".git").join("index"), "x").unwrap();
        std::fs::write(root.join("a.luau"), "return 1").unwrap();
        let mut seen = Vec::new();
        while let Ok(paths) = receiver.recv_timeout(Duration::from_secs(2)) {
            seen.extend(paths);
            if seen.contains(&root.join("a.luau")) {
                break;
            }
        }
        assert!(seen.contains(&root.join("a.luau")), "{seen:?}");
        assert!(!seen.contains(&root.join(".git").join("index")), "{seen:?}");
        watcher.stop();
    }
}
