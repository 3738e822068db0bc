//! Subcommands, one file each, and the options every subcommand shares.

mod build;
mod plugin;
mod serve;
mod syncback;

use std::io::IsTerminal;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use build::BuildCommand;
pub use plugin::PluginCommand;
pub use serve::ServeCommand;
pub use syncback::SyncbackCommand;

/// Atlas keeps a Roblox place and a folder of plain files in sync.
#[derive(Debug, Parser)]
#[command(name = "atlas", version, about, propagate_version = true)]
pub struct Options {
    #[command(flatten)]
    pub global: GlobalOptions,
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct GlobalOptions {
    /// More output: -v for debug, -vv for trace.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// When to use colours in output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl GlobalOptions {
    /// Whether stderr output should be coloured.
    pub fn use_color(&self) -> bool {
        match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build a project into a place or model file (.rbxl, .rbxm, .rbxlx, .rbxmx).
    Build(BuildCommand),
    /// Manage the Studio plugin (`atlas plugin install`).
    Plugin(PluginCommand),
    /// Serve a project to the Studio plugin and keep it in sync as files change.
    Serve(ServeCommand),
    /// Write a place or model file back into the project's files.
    Syncback(SyncbackCommand),
}

impl Options {
    /// Runs the chosen subcommand.
    pub fn run(&self) -> anyhow::Result<()> {
        match &self.command {
            Command::Build(command) => command.run(&self.global),
            Command::Plugin(command) => command.run(&self.global),
            Command::Serve(command) => command.run(&self.global),
            Command::Syncback(command) => command.run(&self.global),
        }
    }
}

/// Sets up logging: warnings by default, more with -v; `RUST_LOG` still wins.
pub fn init_logging(global: &GlobalOptions) {
    let level = match global.verbose {
        0 => "warn",
        1 => "info,atlas=debug",
        _ => "trace",
    };
    let env = env_logger::Env::default().default_filter_or(level);
    let style = if global.use_color() {
        env_logger::WriteStyle::Always
    } else {
        env_logger::WriteStyle::Never
    };
    let _ = env_logger::Builder::from_env(env)
        .write_style(style)
        .format_timestamp(None)
        .format_target(false)
        .try_init();
}

/// An error and its causes, `: `-separated, as anyhow's `{:#}` gives them, but without
/// a cause that the message before it already spells out (an error type that prints its
/// source would otherwise show it twice: `Permission denied: Permission denied`).
pub fn error_text(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

/// The `error:` prefix, red when colours are on.
pub fn error_prefix(global: &GlobalOptions) -> &'static str {
    if global.use_color() {
        "\x1b[1;31merror:\x1b[0m"
    } else {
        "error:"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_text_names_each_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "Permission denied");
        let err = anyhow::Error::new(crate::project::ProjectError::Io {
            path: "p/default.project.json5".into(),
            source: io,
        });
        assert_eq!(
            error_text(&err),
            "p/default.project.json5: Permission denied"
        );
        let chained = anyhow::anyhow!("inner").context("outer");
        assert_eq!(error_text(&chained), "outer: inner");
    }
}
