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

/// Runs a command to completion and measures it. Peak memory is the child's own `VmHWM`,
/// polled from /proc while it runs: `wait4`'s `ru_maxrss` would also count the benchmark
/// process itself, because the child shares its memory map until `exec`.
pub fn measure(command: &mut Command) -> Measured {
    let started = Instant::now();
    let mut child = command.spawn().expect("spawn");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kb: f64 = 0.0;
    let status = loop {
        if let Some(kb) = std::fs::read_to_string(&status_file)
            .ok()
            .as_deref()
            .and_then(vm_hwm_kb)
        {
            peak_kb = peak_kb.max(kb);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let wall = started.elapsed();
    assert!(status.success(), "benchmark command failed: {status:?}");
    Measured {
        wall,
        peak_rss_mb: peak_kb / 1024.0,
    }
}

/// `VmHWM` (peak resident memory, kB) from a /proc status text.
pub fn vm_hwm_kb(status: &str) -> Option<f64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
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

/// Peak resident memory of a running process, from /proc (MB; NaN once it has exited).
pub fn peak_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .as_deref()
        .and_then(vm_hwm_kb)
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// A child process (an `atlas serve`) killed when dropped.
pub struct Server(pub std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `atlas syncback <project> --input <place>` in clean mode, quiet, without a terminal.
pub fn syncback_command(project: &Path, place: &Path) -> Command {
    let mut command = Command::new(atlas_bin());
    command
        .arg("syncback")
        .arg(project)
        .arg("--input")
        .arg(place)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    command
}

/// `atlas serve <project> --port <port>`, quiet.
pub fn serve_command(project: &Path, port: u16) -> Command {
    let mut command = Command::new(atlas_bin());
    command
        .arg("serve")
        .arg(project)
        .arg("--port")
        .arg(port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    command
}
