//! `atlas syncback`: a place or model file becomes the project's files.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context as _};
use clap::Args;

use super::GlobalOptions;
use crate::place_file::{self, PlaceFileKind};
use crate::project;
use crate::syncback::{self, SyncbackMode, SyncbackOptions};

/// Write a place (.rbxl/.rbxlx) or model (.rbxm/.rbxmx) into the project's files.
#[derive(Debug, Args)]
pub struct SyncbackCommand {
    /// The project file, or a folder holding default.project.json5.
    #[arg(default_value = ".")]
    pub project: PathBuf,
    /// The place or model file to read.
    #[arg(short, long, required_unless_present = "undo")]
    pub input: Option<PathBuf>,
    /// Keep the paths and file kinds of instances that already have files, and leave
    /// unchanged subtrees alone (default: clean mode, everything written fresh).
    #[arg(short = 'n', long)]
    pub incremental: bool,
    /// Print every file that would be written or removed.
    #[arg(short, long)]
    pub list: bool,
    /// Compute everything but write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask before removing files (only asked when stdin is a terminal).
    #[arg(short, long)]
    pub yes: bool,
    /// Restore the project as it was before the last syncback.
    #[arg(long, conflicts_with_all = ["input", "incremental", "dry_run"])]
    pub undo: bool,
}

fn shown(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

impl SyncbackCommand {
    pub fn run(&self, _global: &GlobalOptions) -> anyhow::Result<()> {
        let started = Instant::now();
        // Ctrl-C during the writes (or an undo) puts the project back instead of leaving
        // it half written.
        crate::interrupt::install();
        // Absolute paths, as live syncback uses: a `$path` of "." then names the same
        // files however the project was given.
        let project_path =
            std::fs::canonicalize(&self.project).unwrap_or_else(|_| self.project.clone());
        if self.undo {
            // The backup may hold the project file itself: undo must not need to read it.
            let folder = if project_path.is_dir() {
                project_path.clone()
            } else {
                match project_path.parent() {
                    Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
                    _ => PathBuf::from("."),
                }
            };
            let restored = syncback::undo(&folder)?;
            if let Some(kept_in) = &restored.kept_in {
                let paths: Vec<String> = restored.kept_edits.iter().map(|p| shown(p)).collect();
                log::warn!(
                    "{} file(s) changed since the syncback wrote them; the edited copies are kept in {}: {}",
                    paths.len(),
                    kept_in.display(),
                    paths.join(", ")
                );
            }
            eprintln!(
                "Restored {} path(s) from the last syncback's backup",
                restored.deleted.len() + restored.restored.len()
            );
            return Ok(());
        }
        let project = project::load(&project_path)?;
        let folder = project.folder().to_path_buf();
        let Some(input) = &self.input else {
            bail!("give the place or model file to read with --input");
        };
        let kind = PlaceFileKind::from_path(input)?;
        if !input.is_file() {
            bail!("{}: the input file does not exist", input.display());
        }
        if let Err(message) = syncback::check_input_fits(&project, kind.is_place()) {
            bail!("{message}; nothing was written");
        }
        let interactive_err = std::io::stderr().is_terminal();
        let reading = syncback::Progress::new(interactive_err);
        reading.stage(&format!("Reading {}", input.display()), 0);
        let mut dom = place_file::read(input)?;
        syncback::compact(&mut dom);
        reading.stage(
            &format!("Planning {} instances", dom.descendants().count()),
            0,
        );
        log::debug!("read {} in {:.2?}", input.display(), started.elapsed());
        let dom = if kind.is_place() {
            dom
        } else {
            let name = input
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| project.name.clone());
            syncback::model_root(dom, &name)
        };
        let options = SyncbackOptions {
            mode: if self.incremental {
                SyncbackMode::Incremental
            } else {
                SyncbackMode::Clean
            },
            dry_run: self.dry_run,
            progress: interactive_err,
            // A place saved inside a synced folder (`$path: "."`) is read, never removed.
            keep: vec![input.clone()],
            ..Default::default()
        };
        let plan = syncback::plan(&project, &dom, &options)?;
        reading.finish();
        // The process ends soon: freeing the whole tree would only cost time.
        std::mem::forget(dom);
        let remove_count = plan.removals.len();
        if remove_count > 0 && !self.yes && !self.dry_run && std::io::stdin().is_terminal() {
            // Show what would go, so the answer is an informed one (all of it with --list).
            let shown_count = if self.list { remove_count } else { 20 };
            for path in plan.removals.iter().take(shown_count) {
                let relative = path.strip_prefix(&folder).unwrap_or(path);
                eprintln!("  remove {}", shown(relative));
            }
            if remove_count > shown_count {
                eprintln!(
                    "  ... and {} more (--list shows all)",
                    remove_count - shown_count
                );
            }
            eprint!(
                "Syncback will remove {remove_count} file(s) or folder(s) (a backup is kept; `atlas syncback --undo` restores). Continue? [y/N] "
            );
            let _ = std::io::stderr().flush();
            let mut answer = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut answer)
                .context("reading the answer")?;
            if !matches!(answer.trim(), "y" | "Y" | "yes" | "Yes") {
                bail!("cancelled; nothing was written");
            }
        }
        let report = syncback::execute(&folder, plan, &options, started)?;
        if self.list {
            let mut out = std::io::stdout().lock();
            for path in &report.written {
                writeln!(out, "Writing {}", shown(path))?;
            }
            for path in &report.removed {
                writeln!(out, "Removing {}", shown(path))?;
            }
        }
        if let Some(backup) = &report.backup {
            log::info!("backup of the previous files: {}", backup.display());
        }
        eprintln!("{}", report.summary());
        std::mem::forget(report);
        Ok(())
    }
}
