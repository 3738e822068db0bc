//! Existing files under the synced `$path` directories, and which of them no instance
//! claims any more (clean mode's orphans, fs-format.md §4.13).

use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};

use super::paths::key;

/// What is on disk below the synced directories (paths as bytes).
#[derive(Debug, Default, Clone)]
pub struct Existing {
    pub files: HashSet<Vec<u8>>,
    pub dirs: HashSet<Vec<u8>>,
    /// Entries syncback leaves alone (`globIgnorePaths`, which the build skips,
    /// `syncbackRules.ignorePaths`, the project file): never orphans, and neither are the
    /// folders holding them.
    pub ignored: HashSet<Vec<u8>>,
    /// Symbolic links to folders. They count as the folders they point at, are never
    /// orphans, and are not looked into: what lies behind them may be outside the
    /// project. (A link to a file, or to nothing, is an entry like a file.)
    pub folder_links: HashSet<Vec<u8>>,
}

impl Existing {
    /// Whether nothing exists below the scanned roots (a fresh project).
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.dirs.len() <= 1
    }

    pub fn has_file(&self, path: &Path) -> bool {
        self.files.contains(key(path))
    }

    pub fn has_dir(&self, path: &Path) -> bool {
        self.dirs.contains(key(path))
    }

    /// Whether `path` lies behind a link to a folder (so the scan does not say what is
    /// there).
    pub fn behind_link(&self, path: &Path) -> bool {
        !self.folder_links.is_empty()
            && path
                .ancestors()
                .skip(1)
                .any(|a| self.folder_links.contains(key(a)))
    }

    /// The folders directly holding an ignored entry.
    pub fn ignored_holders(&self) -> HashSet<&[u8]> {
        self.ignored
            .iter()
            .filter_map(|bytes| {
                let slash = bytes
                    .iter()
                    .rposition(|b| *b == b'/' || (cfg!(windows) && *b == b'\\'))?;
                Some(&bytes[..slash])
            })
            .collect()
    }
}

fn hidden(name: &str) -> bool {
    name.starts_with('.') && name != ".gitkeep"
}

/// Lists every file and directory below `roots` (hidden entries and their contents are
/// skipped, except `.gitkeep`), noting which of them `ignores` protects.
pub fn scan(roots: &[PathBuf], ignores: &dyn Fn(&Path) -> bool) -> Existing {
    let mut existing = Existing::default();
    for root in roots {
        if !root.is_dir() || existing.dirs.contains(key(root)) {
            continue;
        }
        existing.dirs.insert(key(root).to_vec());
        let walker = walkdir::WalkDir::new(root)
            .min_depth(1)
            .into_iter()
            .filter_entry(|e| !hidden(&e.file_name().to_string_lossy()));
        for entry in walker.flatten() {
            let folder_link = entry.path_is_symlink() && entry.path().is_dir();
            let is_dir = folder_link || entry.file_type().is_dir();
            let ignored = folder_link || ignores(entry.path());
            let bytes = entry.into_path().into_os_string().into_encoded_bytes();
            if ignored {
                existing.ignored.insert(bytes.clone());
            }
            if folder_link {
                existing.folder_links.insert(bytes.clone());
            }
            if is_dir {
                existing.dirs.insert(bytes);
            } else {
                existing.files.insert(bytes);
            }
        }
    }
    existing
}

/// What must stay.
pub struct Keep<'a> {
    pub files: &'a HashSet<&'a [u8]>,
    pub dirs: &'a HashSet<&'a [u8]>,
    pub protected: &'a HashSet<PathBuf>,
    pub path_targets: &'a HashSet<PathBuf>,
    /// Incremental mode: only these paths (files of old instances) may be removed.
    pub candidates: Option<&'a HashSet<Vec<u8>>>,
}

/// The top-most existing paths below `roots` that nothing keeps, sorted.
pub fn find(roots: &[PathBuf], existing: &Existing, keep: &Keep) -> Vec<PathBuf> {
    // Directories that hold something kept.
    let mut holders: HashSet<Vec<u8>> = HashSet::new();
    let kept_paths = keep
        .protected
        .iter()
        .chain(keep.path_targets.iter())
        .map(|p| key(p).to_vec())
        .chain(keep.files.iter().map(|k| k.to_vec()))
        .chain(keep.dirs.iter().map(|k| k.to_vec()))
        .chain(existing.ignored.iter().cloned());
    for bytes in kept_paths {
        let mut end = bytes.len();
        while let Some(slash) = bytes[..end]
            .iter()
            .rposition(|b| *b == b'/' || (cfg!(windows) && *b == b'\\'))
        {
            if slash == 0 || !holders.insert(bytes[..slash].to_vec()) {
                break;
            }
            end = slash;
        }
    }
    let may_remove = |path: &Path| keep.candidates.is_none_or(|c| c.contains(key(path)));
    let mut out = Vec::new();
    let mut queue: VecDeque<PathBuf> = roots
        .iter()
        .filter(|r| existing.has_dir(r))
        .cloned()
        .collect();
    let mut visited = HashSet::new();
    while let Some(dir) = queue.pop_front() {
        if !visited.insert(key(&dir).to_vec()) {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if hidden(&name) {
                continue;
            }
            let path = entry.path();
            if existing.ignored.contains(key(&path))
                || keep.protected.contains(&path)
                || keep.path_targets.contains(&path)
            {
                continue;
            }
            if existing.has_dir(&path) {
                if keep.dirs.contains(key(&path))
                    || holders.contains(key(&path))
                    || !may_remove(&path)
                {
                    queue.push_back(path);
                } else {
                    out.push(path);
                }
            } else if !keep.files.contains(key(&path)) && may_remove(&path) {
                out.push(path);
            }
        }
    }
    super::paths::sort_dedup(&mut out);
    out
}
