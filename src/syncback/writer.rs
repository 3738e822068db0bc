//! The safe writer (DESIGN.md decision 7): a backup of everything that will be
//! overwritten or removed is made before the first change, new contents go through a
//! temporary file and a rename, orphans are removed last, and any failure restores the
//! project from the backup. `atlas syncback --undo` uses the same restore.
//!
//! The backup lives in `<project folder>/.atlas/backup/`: a `manifest.json` and the saved
//! files under `files/` (flat, numbered, extension-less so no build rule reads them).

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::orphans::Existing;
use super::paths;
use super::progress::Progress;
use super::SyncbackError;
use crate::formats::FileWrite;

/// The backup folder, relative to the project folder.
pub const BACKUP_DIR: &str = ".atlas/backup";
/// Where the last backup waits while a syncback writes (it comes back if that one is
/// undone, so a failed syncback does not cost the undo of the one before).
const PREVIOUS_BACKUP_DIR: &str = ".atlas/backup.previous";
const MANIFEST: &str = "manifest.json";

/// What writing a plan will do to each file (indices into the plan's files).
#[derive(Debug, Default, Clone)]
pub struct Classified {
    pub created: Vec<usize>,
    pub overwritten: Vec<usize>,
    pub unchanged: Vec<usize>,
    /// Directories that do not exist yet, parents first.
    pub created_dirs: Vec<PathBuf>,
    /// Existing paths in the way of a planned file or directory (a directory where a file
    /// goes, or the reverse); removed (with a backup) before writing.
    pub in_the_way: Vec<PathBuf>,
}

/// Compares planned contents with the disk. `existing` is what the orphan scan found
/// below `scanned_roots`; paths elsewhere are checked with the file system.
pub fn classify(
    files: &[FileWrite],
    dirs: &[PathBuf],
    existing: &Existing,
    scanned_roots: &[PathBuf],
) -> Classified {
    // Behind a link the scan did not look: the file system itself says what is there.
    let scanned = |path: &Path| {
        scanned_roots.iter().any(|root| paths::under(path, root)) && !existing.behind_link(path)
    };
    #[derive(Clone, Copy)]
    enum State {
        Created,
        Overwritten,
        Unchanged,
        InTheWay,
    }
    let states: Vec<State> = files
        .par_iter()
        .with_min_len(256)
        .map(|file| {
            let path = &file.path;
            let (is_file, is_dir) = if scanned(path) {
                (existing.has_file(path), existing.has_dir(path))
            } else {
                (path.is_file(), path.is_dir())
            };
            if is_dir {
                State::InTheWay
            } else if !is_file {
                State::Created
            } else {
                match std::fs::metadata(path) {
                    Ok(meta) if meta.len() as usize != file.contents.len() => State::Overwritten,
                    Ok(_) => match std::fs::read(path) {
                        Ok(bytes) if bytes == file.contents => State::Unchanged,
                        _ => State::Overwritten,
                    },
                    // Something is there that does not read as a file: a link to nothing.
                    // It is saved and replaced, never written through (its target may lie
                    // outside the project).
                    Err(_) => State::Overwritten,
                }
            }
        })
        .collect();
    let mut out = Classified::default();
    for (index, state) in states.into_iter().enumerate() {
        match state {
            State::Created => out.created.push(index),
            State::Overwritten => out.overwritten.push(index),
            State::Unchanged => out.unchanged.push(index),
            State::InTheWay => {
                out.in_the_way.push(files[index].path.clone());
                out.created.push(index);
            }
        }
    }
    for dir in dirs {
        let (is_dir, is_file) = if scanned(dir) {
            (existing.has_dir(dir), existing.has_file(dir))
        } else {
            (dir.is_dir(), dir.is_file())
        };
        if is_dir {
            continue;
        }
        if is_file {
            out.in_the_way.push(dir.clone());
        }
        out.created_dirs.push(dir.clone());
    }
    out
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Saved {
    path: PathBuf,
    backup: String,
    /// For an overwritten file, the [`digest`] of what syncback wrote over it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    written: Option<String>,
}

/// The backup's table of contents; paths are relative to the project folder.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Manifest {
    version: u32,
    created_files: Vec<PathBuf>,
    created_dirs: Vec<PathBuf>,
    overwritten: Vec<Saved>,
    removed: Vec<Saved>,
    /// The [`digest`] of each created file's contents, in the order of `created_files`, so
    /// `--undo` can tell a file edited since then and keep that edit.
    #[serde(default)]
    created_digests: Vec<String>,
}

/// The digest recorded for a written file: XXH3 (fast, and fixed by its specification)
/// and the length.
fn digest(bytes: &[u8]) -> String {
    format!(
        "{:016x}-{}",
        twox_hash::XxHash3_64::oneshot(bytes),
        bytes.len()
    )
}

/// What writing did.
#[derive(Debug, Default, Clone)]
pub struct Written {
    pub backup: Option<PathBuf>,
}

fn io_error(path: &Path, err: io::Error) -> SyncbackError {
    SyncbackError::Io {
        path: path.to_path_buf(),
        message: err.to_string(),
    }
}

fn relative(folder: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(folder).unwrap_or(path).to_path_buf()
}

/// Moves `from` to `to`, copying when a rename is impossible (another device).
fn move_path(from: &Path, to: &Path) -> io::Result<()> {
    match std::fs::rename(from, to) {
        Ok(()) => Ok(()),
        Err(_) if from.is_file() => {
            std::fs::copy(from, to)?;
            std::fs::remove_file(from)
        }
        Err(err) => Err(err),
    }
}

/// Writes the plan: backup, directories, files, then removals. On failure everything done
/// so far is undone and the error says so.
pub fn apply(
    folder: &Path,
    files: &[FileWrite],
    classified: &Classified,
    removals: &[PathBuf],
    progress: &Progress,
    fail_after: Option<usize>,
) -> Result<Written, SyncbackError> {
    let nothing_to_do = classified.created.is_empty()
        && classified.overwritten.is_empty()
        && classified.created_dirs.is_empty()
        && removals.is_empty();
    if nothing_to_do {
        return Ok(Written::default());
    }
    // From here on Ctrl-C stops the writes and restores instead of ending the process.
    let Some(_changing) = crate::interrupt::Changing::begin() else {
        return Err(SyncbackError::Interrupted { restored: true });
    };
    let backup_dir = folder.join(BACKUP_DIR);
    let manifest_timer = std::time::Instant::now();
    let staging = folder.join(".atlas/backup.new");
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(|e| io_error(&staging, e))?;
    }
    std::fs::create_dir_all(staging.join("files")).map_err(|e| io_error(&staging, e))?;

    // 1. Save what will be overwritten (a hard link costs nothing and keeps the old bytes
    // when the new file is renamed over the name).
    let mut manifest = Manifest {
        version: 1,
        created_files: classified
            .created
            .iter()
            .map(|i| relative(folder, &files[*i].path))
            .collect(),
        created_dirs: classified
            .created_dirs
            .iter()
            .map(|p| relative(folder, p))
            .collect(),
        created_digests: classified
            .created
            .par_iter()
            .map(|i| digest(&files[*i].contents))
            .collect(),
        ..Default::default()
    };
    let mut counter = 0usize;
    let mut next_name = || {
        counter += 1;
        format!("files/{counter}")
    };
    for file in classified.overwritten.iter().map(|i| &files[*i]) {
        let path = &file.path;
        let name = next_name();
        let target = staging.join(&name);
        if std::fs::hard_link(path, &target).is_err() {
            std::fs::copy(path, &target).map_err(|e| io_error(path, e))?;
        }
        manifest.overwritten.push(Saved {
            path: relative(folder, path),
            backup: name,
            written: Some(digest(&file.contents)),
        });
    }
    let mut to_remove: Vec<(PathBuf, String)> = Vec::new();
    for path in classified.in_the_way.iter().chain(removals.iter()) {
        let name = next_name();
        manifest.removed.push(Saved {
            path: relative(folder, path),
            backup: name.clone(),
            written: None,
        });
        to_remove.push((path.clone(), name));
    }
    // Compact: for 100k files it is megabytes, written before every syncback's first change.
    let manifest_text = serde_json::to_string(&manifest).map_err(|e| SyncbackError::Io {
        path: staging.join(MANIFEST),
        message: e.to_string(),
    })?;
    std::fs::write(staging.join(MANIFEST), manifest_text).map_err(|e| io_error(&staging, e))?;
    log::debug!(
        "syncback: backup manifest in {:.2?}",
        manifest_timer.elapsed()
    );
    // The last syncback's backup steps aside until this one has written everything: if
    // this one fails and is restored, `--undo` still undoes the last one.
    let previous = folder.join(PREVIOUS_BACKUP_DIR);
    if previous.exists() {
        std::fs::remove_dir_all(&previous).map_err(|e| io_error(&previous, e))?;
    }
    if backup_dir.exists() {
        std::fs::rename(&backup_dir, &previous).map_err(|e| io_error(&backup_dir, e))?;
    }
    std::fs::rename(&staging, &backup_dir).map_err(|e| io_error(&backup_dir, e))?;

    let result = write_all(
        files,
        classified,
        &to_remove,
        &backup_dir,
        progress,
        fail_after,
    );
    match result {
        Ok(()) => {
            if previous.exists() {
                let _ = std::fs::remove_dir_all(&previous);
            }
            if crate::interrupt::requested() {
                log::warn!(
                    "Ctrl-C came as the last files were written: the syncback is complete (`atlas syncback --undo` restores the files as they were)"
                );
            }
            Ok(Written {
                backup: Some(backup_dir),
            })
        }
        Err(SyncbackError::Interrupted { .. }) => {
            let restored = restore(folder, false).map(|_| true).unwrap_or(false);
            Err(SyncbackError::Interrupted { restored })
        }
        Err(err) => {
            let restored = restore(folder, false).map(|_| true).unwrap_or(false);
            Err(SyncbackError::WriteFailed {
                message: err.to_string(),
                restored,
            })
        }
    }
}

fn write_all(
    files: &[FileWrite],
    classified: &Classified,
    to_remove: &[(PathBuf, String)],
    backup_dir: &Path,
    progress: &Progress,
    fail_after: Option<usize>,
) -> Result<(), SyncbackError> {
    // Ctrl-C while the backup was being made: nothing has changed yet.
    if crate::interrupt::requested() {
        return Err(SyncbackError::Interrupted { restored: false });
    }
    // Things in the way of planned paths go first (into the backup).
    let in_the_way: HashSet<&PathBuf> = classified.in_the_way.iter().collect();
    for (path, name) in to_remove.iter().filter(|(p, _)| in_the_way.contains(p)) {
        move_path(path, &backup_dir.join(name)).map_err(|e| io_error(path, e))?;
    }
    for dir in &classified.created_dirs {
        match std::fs::create_dir(dir) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?
            }
            Err(err) => return Err(io_error(dir, err)),
        }
    }
    let written = AtomicUsize::new(0);
    progress.stage(
        "Writing files",
        classified.created.len() + classified.overwritten.len(),
    );
    let jobs: Vec<(usize, bool)> = classified
        .created
        .iter()
        .map(|i| (*i, true))
        .chain(classified.overwritten.iter().map(|i| (*i, false)))
        .collect();
    let pause = pause_for_tests();
    jobs.par_iter()
        .with_min_len(64)
        .try_for_each(|(index, is_new)| {
            let path = &files[*index].path;
            if fail_after.is_some_and(|limit| written.load(Ordering::Relaxed) >= limit) {
                return Err(io_error(path, io::Error::other("injected failure (test)")));
            }
            if let Some(after) = pause {
                if written.load(Ordering::Relaxed) == after {
                    wait_for_interrupt();
                }
            }
            if crate::interrupt::requested() {
                return Err(SyncbackError::Interrupted { restored: false });
            }
            let contents = &files[*index].contents;
            let result = if *is_new {
                // A new file: the manifest already lists it, so undo removes a partial one.
                std::fs::write(path, contents)
            } else {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let temp = path.with_file_name(format!(".{name}.atlas-tmp"));
                std::fs::write(&temp, contents)
                    .and_then(|_| std::fs::rename(&temp, path))
                    .inspect_err(|_| {
                        let _ = std::fs::remove_file(&temp);
                    })
            };
            written.fetch_add(1, Ordering::Relaxed);
            progress.inc();
            result.map_err(|e| io_error(path, e))
        })?;
    // Orphans last.
    for (path, name) in to_remove.iter().filter(|(p, _)| !in_the_way.contains(p)) {
        if crate::interrupt::requested() {
            return Err(SyncbackError::Interrupted { restored: false });
        }
        if fail_after.is_some_and(|limit| written.fetch_add(1, Ordering::Relaxed) >= limit) {
            return Err(io_error(path, io::Error::other("injected failure (test)")));
        }
        move_path(path, &backup_dir.join(name)).map_err(|e| io_error(path, e))?;
    }
    Ok(())
}

/// Copies every file whose bytes are no longer what the syncback wrote into a fresh
/// `.atlas/kept-edits/<seconds since 1970>/`, keeping its relative path.
fn keep_edited_files(
    folder: &Path,
    manifest: &Manifest,
    out: &mut Restored,
) -> Result<(), SyncbackError> {
    let written: Vec<(&PathBuf, &String)> = manifest
        .created_files
        .iter()
        .zip(&manifest.created_digests)
        .chain(
            manifest
                .overwritten
                .iter()
                .filter_map(|saved| Some((&saved.path, saved.written.as_ref()?))),
        )
        .collect();
    let edited: Vec<&PathBuf> = written
        .par_iter()
        .filter(|(path, written)| {
            std::fs::read(folder.join(path)).is_ok_and(|now| digest(&now) != **written)
        })
        .map(|(path, _)| *path)
        .collect();
    if edited.is_empty() {
        return Ok(());
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut kept_in = folder
        .join(".atlas")
        .join("kept-edits")
        .join(stamp.to_string());
    let mut n = 2;
    while kept_in.exists() {
        kept_in = folder
            .join(".atlas")
            .join("kept-edits")
            .join(format!("{stamp}-{n}"));
        n += 1;
    }
    for path in edited {
        let to = kept_in.join(path);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io_error(parent, e))?;
        }
        std::fs::copy(folder.join(path), &to).map_err(|e| io_error(&to, e))?;
        out.kept_edits.push(path.clone());
    }
    out.kept_edits.sort();
    out.kept_in = Some(kept_in);
    Ok(())
}

/// Tests only: `ATLAS_TEST_PAUSE_WRITES_AFTER=N` holds the writes after N files (saying
/// so on stderr) until Ctrl-C or 20 s, so a test can interrupt a syncback mid-write.
fn pause_for_tests() -> Option<usize> {
    std::env::var("ATLAS_TEST_PAUSE_WRITES_AFTER")
        .ok()
        .and_then(|n| n.parse().ok())
}

fn wait_for_interrupt() {
    eprintln!("syncback: writes paused for a test");
    let started = std::time::Instant::now();
    while !crate::interrupt::requested() && started.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// What an undo restored.
#[derive(Debug, Default, Clone)]
pub struct Restored {
    pub deleted: Vec<PathBuf>,
    pub restored: Vec<PathBuf>,
    /// Files edited since the syncback wrote them, copied here before the undo (relative
    /// paths below [`Restored::kept_in`]).
    pub kept_edits: Vec<PathBuf>,
    pub kept_in: Option<PathBuf>,
}

/// Whether `folder` holds a syncback backup that `--undo` can restore.
pub fn backup_exists(folder: &Path) -> bool {
    folder.join(BACKUP_DIR).join(MANIFEST).is_file()
}

/// Whether two paths are files with the same bytes.
fn same_file_contents(a: &Path, b: &Path) -> bool {
    let (Ok(meta_a), Ok(meta_b)) = (std::fs::metadata(a), std::fs::metadata(b)) else {
        return false;
    };
    meta_a.is_file()
        && meta_b.is_file()
        && meta_a.len() == meta_b.len()
        && matches!((std::fs::read(a), std::fs::read(b)), (Ok(x), Ok(y)) if x == y)
}

/// Restores the project from the last backup (after a failed write, or `--undo`), then
/// deletes the backup.
/// `keep_edits` (an undo the user asked for): files changed since the syncback wrote them
/// are copied to `.atlas/kept-edits/<time>/` first, so the undo loses no one's work.
pub fn restore(folder: &Path, keep_edits: bool) -> Result<Restored, SyncbackError> {
    // A restore runs to its end: Ctrl-C meanwhile would leave the project half restored.
    let _changing = crate::interrupt::Changing::always();
    let backup_dir = folder.join(BACKUP_DIR);
    let manifest_path = backup_dir.join(MANIFEST);
    let text = std::fs::read_to_string(&manifest_path)
        .map_err(|_| SyncbackError::NothingToUndo(folder.to_path_buf()))?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| SyncbackError::Io {
        path: manifest_path.clone(),
        message: e.to_string(),
    })?;
    let mut out = Restored::default();
    if keep_edits {
        keep_edited_files(folder, &manifest, &mut out)?;
    }
    let mut failures = Vec::new();
    for path in &manifest.created_files {
        let full = folder.join(path);
        if full.is_file() {
            match std::fs::remove_file(&full) {
                Ok(()) => out.deleted.push(path.clone()),
                Err(err) => failures.push(format!("{}: {err}", full.display())),
            }
        }
    }
    for saved in manifest.overwritten.iter().chain(manifest.removed.iter()) {
        let from = backup_dir.join(&saved.backup);
        let to = folder.join(&saved.path);
        // `symlink_metadata`: a saved link to nothing is still something to put back.
        if std::fs::symlink_metadata(&from).is_err() {
            continue;
        }
        if same_file_contents(&from, &to) {
            // Never replaced (its write failed), or written back already: nothing to undo,
            // and a file that cannot be written must not make the restore fail.
            out.restored.push(saved.path.clone());
            continue;
        }
        if let Some(parent) = to.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        if to.is_dir() && from.is_file() {
            let _ = std::fs::remove_dir_all(&to);
        } else if to.is_file() && from.is_dir() {
            let _ = std::fs::remove_file(&to);
        }
        match move_path(&from, &to) {
            Ok(()) => out.restored.push(saved.path.clone()),
            Err(err) => failures.push(format!("{}: {err}", to.display())),
        }
    }
    let mut dirs = manifest.created_dirs.clone();
    dirs.sort();
    for dir in dirs.iter().rev() {
        let full = folder.join(dir);
        let _ = std::fs::remove_dir(&full);
    }
    if !failures.is_empty() {
        return Err(SyncbackError::RestoreFailed(failures.join("; ")));
    }
    std::fs::remove_dir_all(&backup_dir).map_err(|e| io_error(&backup_dir, e))?;
    let previous = folder.join(PREVIOUS_BACKUP_DIR);
    if previous.exists() {
        let _ = std::fs::rename(&previous, &backup_dir);
    }
    let atlas_dir = folder.join(".atlas");
    let _ = std::fs::remove_dir(&atlas_dir);
    Ok(out)
}
