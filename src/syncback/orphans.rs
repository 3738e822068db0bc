//! Existing files under the synced `$path` directories, and which of them no instance
//! claims any more (clean mode's orphans, fs-format.md §4.13).

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use super::rules::CompiledRules;

/// What is on disk below the synced directories.
#[derive(Debug, Default)]
pub struct Existing {
    pub files: HashSet<PathBuf>,
    pub dirs: HashSet<PathBuf>,
}

/// Lists every file and directory below `roots` (hidden entries and their contents are
/// skipped, except `.gitkeep`).
pub fn scan(roots: &[PathBuf]) -> Existing {
    let mut existing = Existing::default();
    let mut seen = HashSet::new();
    for root in roots {
        if !seen.insert(root.clone()) || !root.is_dir() {
            continue;
        }
        existing.dirs.insert(root.clone());
        let walker = walkdir::WalkDir::new(root)
            .min_depth(1)
            .into_iter()
            .filter_entry(|e| {
                let name = e.file_name().to_string_lossy();
                !name.starts_with('.') || name == ".gitkeep"
            });
        for entry in walker.flatten() {
            if entry.file_type().is_dir() {
                existing.dirs.insert(entry.into_path());
            } else {
                existing.files.insert(entry.into_path());
            }
        }
    }
    existing
}

/// What must stay.
pub struct Keep<'a> {
    pub folder: &'a Path,
    pub files: &'a HashSet<PathBuf>,
    pub dirs: &'a HashSet<PathBuf>,
    pub protected: &'a HashSet<PathBuf>,
    pub path_targets: &'a HashSet<PathBuf>,
    pub rules: &'a CompiledRules,
    /// Incremental mode: only these paths (files of old instances) may be removed.
    pub candidates: Option<&'a HashSet<PathBuf>>,
}

/// The top-most existing paths below `roots` that nothing keeps, sorted.
pub fn find(roots: &[PathBuf], existing: &Existing, keep: &Keep) -> Vec<PathBuf> {
    // Directories that hold something kept.
    let mut holders: HashSet<&Path> = HashSet::new();
    for path in keep
        .files
        .iter()
        .chain(keep.dirs.iter())
        .chain(keep.protected.iter())
        .chain(keep.path_targets.iter())
    {
        let mut current = path.parent();
        while let Some(dir) = current {
            if !holders.insert(dir) || dir == keep.folder {
                break;
            }
            current = dir.parent();
        }
    }
    let mut out = BTreeSet::new();
    let mut stack: Vec<PathBuf> = roots.iter().filter(|r| r.is_dir()).cloned().collect();
    let mut visited = HashSet::new();
    while let Some(dir) = stack.pop() {
        if !visited.insert(dir.clone()) {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name != ".gitkeep" {
                continue;
            }
            let relative = path.strip_prefix(keep.folder).unwrap_or(&path);
            if keep.rules.ignores_path(relative) || keep.protected.contains(&path) || keep.path_targets.contains(&path) {
                continue;
            }
            let is_dir = existing.dirs.contains(&path) || (!existing.files.contains(&path) && path.is_dir());
            if is_dir {
                if keep.dirs.contains(&path) || holders.contains(path.as_path()) {
                    stack.push(path);
                } else if keep.candidates.is_none_or(|c| c.contains(&path)) {
                    out.insert(path);
                } else {
                    stack.push(path);
                }
            } else if !keep.files.contains(&path) && keep.candidates.is_none_or(|c| c.contains(&path)) {
                out.insert(path);
            }
        }
    }
    out.into_iter().collect()
}
