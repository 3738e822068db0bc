//! Fast path helpers: paths compared and hashed as bytes (std's component-wise `Path`
//! ordering dominated profiles with 100k files).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The path's bytes, for hashing, ordering and prefix checks.
pub fn key(path: &Path) -> &[u8] {
    path.as_os_str().as_encoded_bytes()
}

/// Sorts by bytes and removes duplicates.
pub fn sort_dedup(paths: &mut Vec<PathBuf>) {
    paths.sort_unstable_by(|a, b| key(a).cmp(key(b)));
    paths.dedup();
}

fn is_separator(byte: u8) -> bool {
    byte == b'/' || (cfg!(windows) && byte == b'\\')
}

/// Whether `path` is `root` or below it.
pub fn under(path: &Path, root: &Path) -> bool {
    let (p, r) = (key(path), key(root));
    p.starts_with(r)
        && (p.len() == r.len()
            || r.is_empty()
            || is_separator(p[r.len()])
            || is_separator(r[r.len() - 1]))
}

/// Whether `path` is below `root` (and not `root` itself).
pub fn strictly_under(path: &Path, root: &Path) -> bool {
    key(path).len() > key(root).len() && under(path, root)
}

/// `path` relative to `base` (or `path` itself when it is not below `base`).
pub fn relative<'p>(path: &'p Path, base: &Path) -> &'p Path {
    path.strip_prefix(base).unwrap_or(path)
}

/// Every directory strictly below `folder` that the planned `dirs` and the parents of
/// planned files need, with all their ancestors, sorted by bytes. Each walk up stops at a
/// directory already known (its ancestors are walked from there), so a chain of nested
/// folders costs its depth, not its depth squared in paths.
pub fn dirs_to_create<'p>(
    mut dirs: Vec<PathBuf>,
    file_parents: impl Iterator<Item = &'p Path>,
    folder: &Path,
) -> Vec<PathBuf> {
    dirs.extend(file_parents.map(Path::to_path_buf));
    dirs.retain(|d| strictly_under(d, folder));
    sort_dedup(&mut dirs);
    let mut known: HashSet<&[u8]> = dirs.iter().map(|d| key(d)).collect();
    let mut ancestors = Vec::new();
    for dir in &dirs {
        let mut current = dir.parent();
        while let Some(d) = current {
            if !strictly_under(d, folder) || !known.insert(key(d)) {
                break;
            }
            ancestors.push(d.to_path_buf());
            current = d.parent();
        }
    }
    dirs.extend(ancestors);
    sort_dedup(&mut dirs);
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_needed_directory_once_with_its_ancestors() {
        let folder = Path::new("/p");
        let files = [
            PathBuf::from("/p/src/a/b/c/x.luau"),
            PathBuf::from("/p/src/a/y.luau"),
            PathBuf::from("/p/top.luau"),
            PathBuf::from("/elsewhere/z.luau"),
        ];
        let dirs = dirs_to_create(
            vec![PathBuf::from("/p/src/d/e"), PathBuf::from("/p/src/a/b")],
            files.iter().filter_map(|f| f.parent()),
            folder,
        );
        let expected = [
            "/p/src",
            "/p/src/a",
            "/p/src/a/b",
            "/p/src/a/b/c",
            "/p/src/d",
            "/p/src/d/e",
        ];
        assert_eq!(dirs, expected.map(PathBuf::from));

        let mut deep = PathBuf::from("/p");
        for _ in 0..2000 {
            deep.push("F");
        }
        let dirs = dirs_to_create(vec![deep.clone()], std::iter::empty(), folder);
        assert_eq!(dirs.len(), 2000);
        assert_eq!(dirs.last(), Some(&deep));
    }

    #[test]
    fn prefixes_respect_components() {
        assert!(under(Path::new("/a/b/c"), Path::new("/a/b")));
        assert!(under(Path::new("/a/b"), Path::new("/a/b")));
        assert!(!under(Path::new("/a/bc"), Path::new("/a/b")));
        assert!(strictly_under(Path::new("/a/b/c"), Path::new("/a/b")));
        assert!(!strictly_under(Path::new("/a/b"), Path::new("/a/b")));
    }
}

/// A hasher for `Ref` keys: referents are random 128-bit numbers already, so folding them
/// is enough (std's SipHash showed up in profiles).
#[derive(Default, Clone, Copy)]
pub struct RefHasher(u64);

impl std::hash::Hasher for RefHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u128(&mut self, value: u128) {
        self.0 ^= (value as u64) ^ ((value >> 64) as u64);
    }
}

/// `HashMap` keyed by referents.
pub type RefMap<V> = std::collections::HashMap<
    rbx_dom_weak::types::Ref,
    V,
    std::hash::BuildHasherDefault<RefHasher>,
>;
/// `HashSet` of referents.
pub type RefSet =
    std::collections::HashSet<rbx_dom_weak::types::Ref, std::hash::BuildHasherDefault<RefHasher>>;
