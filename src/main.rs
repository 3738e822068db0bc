//! The `atlas` command line: parses arguments, runs the subcommand, prints errors.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    limit_malloc_arenas();
    let options = atlas::cli::Options::parse();
    atlas::cli::init_logging(&options.global);
    // Deep trees are walked recursively: every thread gets atlas's own stack size.
    let pool = rayon::ThreadPoolBuilder::new()
        .stack_size(atlas::THREAD_STACK_SIZE)
        .build_global();
    if let Err(err) = pool {
        log::debug!("rayon's thread pool was already set up: {err}");
    }
    let command = std::thread::Builder::new()
        .name("atlas".to_string())
        .stack_size(atlas::THREAD_STACK_SIZE)
        .spawn(move || {
            let result = options.run();
            (options, result)
        });
    let (options, result) = match command.map(|handle| handle.join()) {
        Ok(Ok(finished)) => finished,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(err) => {
            eprintln!("error: could not start atlas's thread: {err}");
            return ExitCode::FAILURE;
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!(
                "{} {}",
                atlas::cli::error_prefix(&options.global),
                atlas::cli::error_text(&err)
            );
            let interrupted = matches!(
                err.downcast_ref::<atlas::syncback::SyncbackError>(),
                Some(atlas::syncback::SyncbackError::Interrupted { .. })
            );
            if interrupted {
                ExitCode::from(atlas::interrupt::EXIT_CODE as u8)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// glibc gives threads that allocate at the same time their own heap arenas (up to 8 per
/// core), and memory freed in one arena is not reused by threads allocating in another.
/// A live syncback decodes on one set of threads and rebuilds the session on others, which
/// left `atlas serve` at 380 MB where two arenas need 300 MB, with no measurable cost in
/// time (docs/benchmarks.md). A `MALLOC_ARENA_MAX` set by the user still wins.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only changes allocator tuning; called before any other thread.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}
