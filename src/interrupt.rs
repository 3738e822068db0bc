//! Ctrl-C while `atlas syncback` changes files. Killed halfway, a syncback would leave
//! the project half written; instead the writes stop and the project is restored from
//! the backup taken just before them. Before the first write, Ctrl-C ends the process at
//! once as usual (nothing has changed yet). Only the CLI installs the handler; `atlas
//! serve` keeps its own (a clean shutdown).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// How many [`Changing`] guards are alive (files are being changed or restored).
static CHANGING: AtomicUsize = AtomicUsize::new(0);
/// Ctrl-C came while files were being changed.
static REQUESTED: AtomicBool = AtomicBool::new(false);

/// The exit code of a process stopped by Ctrl-C (128 + SIGINT), as shells report it.
pub const EXIT_CODE: i32 = 130;

/// Routes Ctrl-C through this module for the rest of the process.
pub fn install() {
    let installed = ctrlc::set_handler(|| {
        // The request is recorded before the count is read, and `Changing::begin` counts
        // before it reads the request: so either files are being changed and see the
        // request, or none will be changed and the process ends here.
        let first = !REQUESTED.swap(true, Ordering::SeqCst);
        if CHANGING.load(Ordering::SeqCst) == 0 {
            std::process::exit(EXIT_CODE);
        }
        if first {
            eprintln!("\nCtrl-C: finishing the file changes under way safely...");
        }
    });
    if let Err(err) = installed {
        log::debug!("Ctrl-C handler not installed: {err}");
    }
}

/// Whether Ctrl-C asked the writes to stop.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Held while files are changed or restored: Ctrl-C then only asks the writes to stop
/// (see [`requested`]), so the restore always runs to its end.
pub struct Changing(());

impl Changing {
    /// Before a syncback's first change: `None` when Ctrl-C already came (nothing may be
    /// changed then; the process is ending).
    pub fn begin() -> Option<Changing> {
        let changing = Changing::always();
        (!requested()).then_some(changing)
    }

    /// For a restore, which runs whether or not Ctrl-C came.
    pub fn always() -> Changing {
        CHANGING.fetch_add(1, Ordering::SeqCst);
        Changing(())
    }
}

impl Drop for Changing {
    fn drop(&mut self) {
        CHANGING.fetch_sub(1, Ordering::SeqCst);
    }
}
