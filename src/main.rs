//! The `atlas` command line: parses arguments, runs the subcommand, prints errors.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
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
