//! The `atlas` command line: parses arguments, runs the subcommand, prints errors.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    limit_malloc_arenas();
    let options = atlas::cli::Options::parse();
    atlas::cli::init_logging(&options.global);
    match options.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{} {err:#}", atlas::cli::error_prefix(&options.global));
            ExitCode::FAILURE
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
