//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod live_syncback_util;
pub mod random_place;
pub mod serve_util;
pub mod syncback_util;
pub mod tree;

use std::path::{Path, PathBuf};

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shared corpus of real place and model files (read-only; copy before use).
pub fn corpus_dir() -> PathBuf {
    repo_root().join("..").join("shared").join("corpus")
}

/// Whether snapshot files should be (re)written instead of compared.
pub fn updating_snapshots() -> bool {
    std::env::var_os("ATLAS_UPDATE_SNAPSHOTS").is_some()
}

/// Copies a folder recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
            let mut permissions = std::fs::metadata(&target).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            permissions.set_readonly(false);
            std::fs::set_permissions(&target, permissions).unwrap();
        }
    }
}

/// The atlas binary built for the tests.
pub fn atlas_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_atlas"))
}

/// Makes a directory unwritable (chmod, or `chattr +i` for root), or a file immutable
/// (`chattr +i`), until dropped; `None` where the system cannot.
pub struct Unwritable {
    dir: PathBuf,
    immutable: bool,
}

impl Unwritable {
    pub fn new(dir: &Path) -> Option<Unwritable> {
        use std::os::unix::fs::PermissionsExt;
        if dir.is_file() {
            let guard = Self::immutable(dir)?;
            let blocked = std::fs::OpenOptions::new().append(true).open(dir).is_err();
            return blocked.then_some(guard);
        }
        let probe = dir.join(".probe");
        let blocked = |probe: &Path| {
            let ok = std::fs::write(probe, b"x").is_ok();
            let _ = std::fs::remove_file(probe);
            !ok
        };
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).ok()?;
        if blocked(&probe) {
            return Some(Unwritable {
                dir: dir.to_path_buf(),
                immutable: false,
            });
        }
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).ok()?;
        let guard = Self::immutable(dir)?;
        blocked(&probe).then_some(guard)
    }

    /// `chattr +i` (root ignores permissions), undone when the guard drops.
    fn immutable(path: &Path) -> Option<Unwritable> {
        let status = std::process::Command::new("chattr")
            .arg("+i")
            .arg(path)
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then(|| Unwritable {
            dir: path.to_path_buf(),
            immutable: true,
        })
    }
}

impl Drop for Unwritable {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        if self.immutable {
            let _ = std::process::Command::new("chattr")
                .arg("-i")
                .arg(&self.dir)
                .status();
        }
        if self.dir.is_dir() {
            let _ = std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o755));
        }
    }
}
