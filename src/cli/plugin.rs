//! `atlas plugin install`: builds the Studio plugin and puts it in Studio's plugins folder.

use std::path::PathBuf;

use anyhow::{bail, Context as _};
use clap::{Args, Subcommand};

use super::GlobalOptions;
use crate::project;
use crate::vfs::Vfs;

/// Manage the Atlas Studio plugin.
#[derive(Debug, Args)]
pub struct PluginCommand {
    #[command(subcommand)]
    pub action: PluginAction,
}

#[derive(Debug, Subcommand)]
pub enum PluginAction {
    /// Build the plugin (plugin/default.project.json5) into Studio's local plugins folder.
    Install {
        /// The plugin project [default: `plugin` in the current folder].
        #[arg(long, default_value = "plugin")]
        source: PathBuf,
        /// Write here instead of Studio's plugins folder (.rbxm or .rbxmx).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

/// Studio's local plugins folder on this system, if it exists.
pub fn studio_plugins_folder() -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = if cfg!(windows) {
        std::env::var_os("LOCALAPPDATA")
            .map(|base| PathBuf::from(base).join("Roblox").join("Plugins"))
            .into_iter()
            .collect()
    } else {
        std::env::var_os("HOME")
            .map(|home| {
                PathBuf::from(home)
                    .join("Documents")
                    .join("Roblox")
                    .join("Plugins")
            })
            .into_iter()
            .collect()
    };
    candidates.into_iter().find(|dir| dir.is_dir())
}

impl PluginCommand {
    pub fn run(&self, _global: &GlobalOptions) -> anyhow::Result<()> {
        match &self.action {
            PluginAction::Install { source, output } => {
                let output = match output {
                    Some(output) => output.clone(),
                    None => match studio_plugins_folder() {
                        Some(folder) => folder.join("Atlas.rbxm"),
                        None => bail!(
                            "Roblox Studio's plugins folder was not found (%LOCALAPPDATA%\\Roblox\\Plugins on Windows, ~/Documents/Roblox/Plugins on macOS); give a file with --output"
                        ),
                    },
                };
                // Studio loads plugins from model files only.
                let extension = output
                    .extension()
                    .map(|e| e.to_string_lossy().to_ascii_lowercase());
                if !matches!(extension.as_deref(), Some("rbxm" | "rbxmx")) {
                    bail!(
                        "{}: a plugin is a model file; use .rbxm or .rbxmx",
                        output.display()
                    );
                }
                let project = project::load(source).with_context(|| {
                    format!("loading the plugin project in {}", source.display())
                })?;
                let built = crate::build::build_project(&Vfs::new_default(), &project)?;
                super::build::write_output(&output, &built.dom)
                    .with_context(|| format!("writing {}", output.display()))?;
                eprintln!("Installed the Atlas plugin to {}", output.display());
                Ok(())
            }
        }
    }
}
