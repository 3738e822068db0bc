//! Progress lines on stderr for long runs (only when stderr is a terminal; the caller
//! decides). A background thread redraws one line a few times a second.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

#[derive(Default)]
struct State {
    stage: Mutex<(String, usize)>,
    done: AtomicUsize,
    stop: AtomicBool,
}

/// A progress reporter; a disabled one costs one atomic add per step.
pub struct Progress {
    state: Arc<State>,
    thread: Mutex<Option<JoinHandle<()>>>,
    enabled: bool,
}

impl Progress {
    pub fn new(enabled: bool) -> Progress {
        let state = Arc::new(State::default());
        let thread = enabled.then(|| {
            let state = state.clone();
            std::thread::spawn(move || {
                let mut last = String::new();
                while !state.stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(150));
                    let (stage, total) = state.stage.lock().map(|s| s.clone()).unwrap_or_default();
                    if stage.is_empty() {
                        continue;
                    }
                    let done = state.done.load(Ordering::Relaxed);
                    let line = if total > 0 {
                        format!("{stage}: {done}/{total}")
                    } else {
                        format!("{stage}…")
                    };
                    if line != last {
                        let mut err = std::io::stderr().lock();
                        let _ = write!(err, "\r\x1b[2K{line}");
                        let _ = err.flush();
                        last = line;
                    }
                }
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "\r\x1b[2K");
                let _ = err.flush();
            })
        });
        Progress {
            state,
            thread: Mutex::new(thread),
            enabled,
        }
    }

    /// A disabled reporter.
    pub fn none() -> Progress {
        Progress::new(false)
    }

    /// Starts a stage with `total` steps (0 when unknown).
    pub fn stage(&self, name: &str, total: usize) {
        if !self.enabled {
            return;
        }
        if let Ok(mut stage) = self.state.stage.lock() {
            *stage = (name.to_string(), total);
        }
        self.state.done.store(0, Ordering::Relaxed);
    }

    /// One step of the current stage done.
    pub fn inc(&self) {
        if self.enabled {
            self.state.done.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Stops redrawing and clears the line.
    pub fn finish(&self) {
        self.state.stop.store(true, Ordering::Relaxed);
        if let Ok(mut thread) = self.thread.lock() {
            if let Some(handle) = thread.take() {
                let _ = handle.join();
            }
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
