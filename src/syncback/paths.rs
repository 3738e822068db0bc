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
