//! Fast path helpers: paths compared and hashed as bytes (std's component-wise `Path`
//! ordering dominated profiles with 100k files).

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

#[cfg(test)]
mod tests {
    use super::*;

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
