//! Shared benchmark helpers: running the release `atlas` binary and measuring it.
#![allow(dead_code)]

pub mod place;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Wall time and peak resident memory of one child process.
pub struct Measured {
    pub wall: Duration,
    pub peak_rss_mb: f64,
}

/// Runs a command to completion and measures it (peak RSS via wait4's rusage).
pub fn measure(command: &mut Command) -> Measured {
    use std::os::unix::process::ExitStatusExt;
    let started = Instant::now();
    let child = command.spawn().expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child; `usage` is a valid out-pointer.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    assert_eq!(waited, pid, "wait4 failed");
    let exit = std::process::ExitStatus::from_raw(status);
    assert!(exit.success(), "benchmark command failed: {exit:?}");
    std::mem::forget(child);
    Measured {
        wall,
        peak_rss_mb: usage.ru_maxrss as f64 / 1024.0,
    }
}

/// Median of durations.
pub fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

/// Counts files below a folder.
pub fn count_files(dir: &Path) -> usize {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .count()
}

/// The release `atlas` binary this benchmark was built with.
pub fn atlas_bin() -> &'static str {
    env!("CARGO_BIN_EXE_atlas")
}

/// The file-system floor for writing a project: every file below `source` is read into
/// memory (not timed), then the same folders and files are created under `dest` with a
/// plain parallel writer (rayon), timed. Creating files dominates syncback on a slow disk,
/// so syncback times are best read as a ratio to this.
pub fn plain_write_time(source: &Path, dest: &Path) -> Duration {
    use rayon::prelude::*;
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(source)
        .into_iter()
        .filter_map(Result::ok)
    {
        let relative = entry.path().strip_prefix(source).unwrap().to_path_buf();
        if entry.file_type().is_dir() {
            dirs.push(relative);
        } else if entry.file_type().is_file() {
            files.push((relative, std::fs::read(entry.path()).unwrap()));
        }
    }
    let started = Instant::now();
    for dir in &dirs {
        std::fs::create_dir_all(dest.join(dir)).unwrap();
    }
    files
        .par_iter()
        .for_each(|(path, bytes)| std::fs::write(dest.join(path), bytes).unwrap());
    started.elapsed()
}
