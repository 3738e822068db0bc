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
