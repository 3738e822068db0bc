//! File reading for the formats: the real file system, or an in-memory tree for tests.
//!
//! Everything that reads project files goes through [`Vfs`] so unit tests can build a
//! project in memory and serve can later layer caching and watching on the same calls.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

/// What a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Directory,
}

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub path: PathBuf,
    pub name: String,
    pub kind: EntryKind,
}

/// A file-system backend: the real disk or an in-memory tree.
#[derive(Clone, Default)]
pub struct Vfs {
    memory: Option<Arc<RwLock<BTreeMap<PathBuf, MemoryEntry>>>>,
    /// Contents of disk files known without reading them (files a syncback has just
    /// written); each is handed out once, then the disk answers.
    preloaded: Option<Arc<Mutex<Contents>>>,
}

/// File contents by path.
type Contents = HashMap<PathBuf, Vec<u8>>;

#[derive(Clone)]
enum MemoryEntry {
    File(Arc<Vec<u8>>),
    Directory,
}

impl Vfs {
    /// A VFS over the real file system.
    pub fn new_default() -> Self {
        Vfs::default()
    }

    /// A VFS over the real file system that already knows the contents of `files` (by
    /// path as the formats will ask for it). Live syncback starts its new session with the
    /// bytes it has just written instead of reading ~100k files back; listings, kinds and
    /// any other file still come from the disk.
    pub fn with_preloaded(files: Contents) -> Self {
        Vfs {
            memory: None,
            preloaded: Some(Arc::new(Mutex::new(files))),
        }
    }

    /// An empty in-memory VFS (for tests).
    pub fn new_memory() -> Self {
        Vfs {
            memory: Some(Arc::new(RwLock::new(BTreeMap::new()))),
            preloaded: None,
        }
    }

    /// Writes a file into the in-memory VFS, creating parent directories.
    pub fn insert_file(&self, path: impl AsRef<Path>, contents: impl Into<Vec<u8>>) {
        let memory = self
            .memory
            .as_ref()
            .expect("insert_file needs a memory VFS");
        let mut map = memory.write().unwrap_or_else(|e| e.into_inner());
        let path = path.as_ref();
        for ancestor in path.ancestors().skip(1) {
            if ancestor.as_os_str().is_empty() {
                break;
            }
            map.entry(ancestor.to_path_buf())
                .or_insert(MemoryEntry::Directory);
        }
        map.insert(
            path.to_path_buf(),
            MemoryEntry::File(Arc::new(contents.into())),
        );
    }

    /// Creates an (empty) directory in the in-memory VFS.
    pub fn insert_dir(&self, path: impl AsRef<Path>) {
        let memory = self.memory.as_ref().expect("insert_dir needs a memory VFS");
        let mut map = memory.write().unwrap_or_else(|e| e.into_inner());
        for ancestor in path.as_ref().ancestors() {
            if ancestor.as_os_str().is_empty() {
                break;
            }
            map.entry(ancestor.to_path_buf())
                .or_insert(MemoryEntry::Directory);
        }
    }

    /// Reads a whole file.
    pub fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        match &self.memory {
            None => {
                if let Some(preloaded) = &self.preloaded {
                    let known = preloaded
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(path);
                    if let Some(bytes) = known {
                        return Ok(bytes);
                    }
                }
                std::fs::read(path)
            }
            Some(memory) => {
                let map = memory.read().unwrap_or_else(|e| e.into_inner());
                match map.get(path) {
                    Some(MemoryEntry::File(data)) => Ok(data.as_ref().clone()),
                    Some(MemoryEntry::Directory) => Err(io::Error::other("is a directory")),
                    None => Err(not_found(path)),
                }
            }
        }
    }

    /// Reads a whole file as UTF-8, with an error that says where it stops being UTF-8.
    pub fn read_to_string(&self, path: &Path) -> io::Result<String> {
        let bytes = self.read(path)?;
        // Callers name the file; the message says what is wrong with it.
        String::from_utf8(bytes).map_err(|err| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "not valid UTF-8 text (byte {} is not part of a UTF-8 character)",
                    err.utf8_error().valid_up_to()
                ),
            )
        })
    }

    /// What `path` is, or `None` when it does not exist.
    pub fn kind(&self, path: &Path) -> io::Result<Option<EntryKind>> {
        match &self.memory {
            None => match std::fs::metadata(path) {
                Ok(meta) if meta.is_dir() => Ok(Some(EntryKind::Directory)),
                Ok(_) => Ok(Some(EntryKind::File)),
                Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(err) => Err(err),
            },
            Some(memory) => {
                let map = memory.read().unwrap_or_else(|e| e.into_inner());
                Ok(map.get(path).map(|entry| match entry {
                    MemoryEntry::File(_) => EntryKind::File,
                    MemoryEntry::Directory => EntryKind::Directory,
                }))
            }
        }
    }

    /// Lists a directory in the build's child order ([`build_order`]).
    pub fn read_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>> {
        let mut entries = match &self.memory {
            None => {
                let mut entries = Vec::new();
                for entry in std::fs::read_dir(path)? {
                    let entry = entry?;
                    let Ok(name) = entry.file_name().into_string() else {
                        log::warn!(
                            "skipping {}: its name is not valid UTF-8",
                            entry.path().display()
                        );
                        continue;
                    };
                    let mut file_type = entry.file_type()?;
                    if file_type.is_symlink() {
                        file_type = match std::fs::metadata(entry.path()) {
                            Ok(target) => target.file_type(),
                            // A link to nothing (an editor's lock file, a moved target)
                            // holds nothing to read.
                            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                                let message = format!(
                                    "skipping {}: it links to something that does not exist",
                                    entry.path().display()
                                );
                                if name.starts_with('.') {
                                    log::debug!("{message}");
                                } else {
                                    log::warn!("{message}");
                                }
                                continue;
                            }
                            Err(err) => {
                                return Err(io::Error::new(
                                    err.kind(),
                                    format!("{}: {err}", entry.path().display()),
                                ))
                            }
                        };
                        if file_type.is_dir() && links_to_ancestor(path, &entry.path()) {
                            continue;
                        }
                    }
                    let kind = if file_type.is_dir() {
                        EntryKind::Directory
                    } else {
                        EntryKind::File
                    };
                    entries.push(DirEntry {
                        path: entry.path(),
                        name,
                        kind,
                    });
                }
                entries
            }
            Some(memory) => {
                let map = memory.read().unwrap_or_else(|e| e.into_inner());
                if !matches!(map.get(path), Some(MemoryEntry::Directory)) {
                    return Err(not_found(path));
                }
                map.iter()
                    .filter(|(p, _)| p.parent() == Some(path))
                    .map(|(p, entry)| DirEntry {
                        path: p.clone(),
                        name: p
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default(),
                        kind: match entry {
                            MemoryEntry::File(_) => EntryKind::File,
                            MemoryEntry::Directory => EntryKind::Directory,
                        },
                    })
                    .collect()
            }
        };
        entries.sort_by(|a, b| build_order(&a.name, &b.name));
        Ok(entries)
    }
}

/// A linked folder is followed, unless it links to the folder holding it or one of that
/// folder's parents: reading it would never end, so it is left out with a warning.
fn links_to_ancestor(dir: &Path, link: &Path) -> bool {
    let (Ok(target), Ok(here)) = (std::fs::canonicalize(link), std::fs::canonicalize(dir)) else {
        return false;
    };
    if !here.starts_with(&target) {
        return false;
    }
    log::warn!(
        "skipping {}: it links to {}, a folder that holds it, so reading it would never end",
        link.display(),
        target.display()
    );
    true
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{} does not exist", path.display()),
    )
}

/// The build's child order: file names in byte order, except that a `~N` duplicate
/// suffix compares as a number, so `Item~2` comes before `Item~10` (syncback numbers
/// same-named siblings in place order, and the build gives them back in that order).
pub fn build_order(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    fn numbered(s: &[u8], at: usize) -> bool {
        s[at] == b'~' && s.get(at + 1).is_some_and(u8::is_ascii_digit)
    }
    fn digit_run(s: &[u8], from: usize) -> &[u8] {
        let len = s[from..].iter().take_while(|c| c.is_ascii_digit()).count();
        &s[from..from + len]
    }
    fn without_leading_zeros(run: &[u8]) -> &[u8] {
        let zeros = run.iter().take_while(|c| **c == b'0').count();
        &run[zeros..]
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if numbered(a, i) && numbered(b, j) {
            let (run_a, run_b) = (digit_run(a, i + 1), digit_run(b, j + 1));
            let (n_a, n_b) = (without_leading_zeros(run_a), without_leading_zeros(run_b));
            // Without leading zeros, a longer run is a larger number.
            let order = n_a
                .len()
                .cmp(&n_b.len())
                .then_with(|| n_a.cmp(n_b))
                .then_with(|| run_a.len().cmp(&run_b.len()));
            if order != Ordering::Equal {
                return order;
            }
            i += 1 + run_a.len();
            j += 1 + run_b.len();
            continue;
        }
        match a[i].cmp(&b[j]) {
            Ordering::Equal => {
                i += 1;
                j += 1;
            }
            other => return other,
        }
    }
    (a.len() - i).cmp(&(b.len() - j))
}

#[cfg(test)]
mod tests {
    use super::build_order;

    #[test]
    fn duplicate_suffixes_sort_as_numbers() {
        let mut names = vec![
            "Item~10.model.json5",
            "Item~2.model.json5",
            "Item.model.json5",
            "Item~9",
            "Door~2",
            "Door.model.json5",
            "Item~011.luau",
            "It",
            "Item~x",
        ];
        names.sort_by(|a, b| build_order(a, b));
        assert_eq!(
            names,
            [
                "Door.model.json5",
                "Door~2",
                "It",
                "Item.model.json5",
                "Item~2.model.json5",
                "Item~9",
                "Item~10.model.json5",
                "Item~011.luau",
                "Item~x",
            ]
        );
        assert_eq!(build_order("a~2", "a~02"), std::cmp::Ordering::Less);
        assert_eq!(build_order("b", "a~2"), std::cmp::Ordering::Greater);
    }

    use super::*;

    #[test]
    fn preloaded_contents_are_served_once_then_the_disk_answers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.luau");
        std::fs::write(&path, "on disk").unwrap();
        let vfs = Vfs::with_preloaded(HashMap::from([(path.clone(), b"known".to_vec())]));
        assert_eq!(vfs.read(&path).unwrap(), b"known");
        assert_eq!(vfs.read(&path).unwrap(), b"on disk");
        assert_eq!(vfs.kind(&path).unwrap(), Some(EntryKind::File));
        assert!(vfs.read(&dir.path().join("missing")).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn links_to_a_parent_folder_or_to_nothing_are_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("src").join("a");
        std::fs::create_dir_all(&inner).unwrap();
        std::fs::create_dir_all(dir.path().join("shared")).unwrap();
        std::os::unix::fs::symlink("../..", inner.join("loop")).unwrap();
        std::os::unix::fs::symlink("../../shared", inner.join("linked")).unwrap();
        std::os::unix::fs::symlink("nowhere", inner.join("README.md")).unwrap();
        std::os::unix::fs::symlink("user@host.1", inner.join(".#a.luau")).unwrap();
        let vfs = Vfs::new_default();
        let names: Vec<_> = vfs
            .read_dir(&inner)
            .unwrap()
            .into_iter()
            .map(|e| (e.name, e.kind))
            .collect();
        assert_eq!(names, [("linked".to_string(), EntryKind::Directory)]);
    }

    #[test]
    fn memory_backend_lists_sorted() {
        let vfs = Vfs::new_memory();
        vfs.insert_file("/p/b.luau", "b");
        vfs.insert_file("/p/A.luau", "a");
        vfs.insert_dir("/p/dir");
        let names: Vec<_> = vfs
            .read_dir(Path::new("/p"))
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["A.luau", "b.luau", "dir"]);
        assert_eq!(vfs.read_to_string(Path::new("/p/b.luau")).unwrap(), "b");
        assert_eq!(
            vfs.kind(Path::new("/p/dir")).unwrap(),
            Some(EntryKind::Directory)
        );
        assert_eq!(vfs.kind(Path::new("/p/none")).unwrap(), None);
    }
}
