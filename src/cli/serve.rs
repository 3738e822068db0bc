//! `atlas serve`: serve a project to the Studio plugin, live.

use std::collections::HashMap;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;

use super::GlobalOptions;
use crate::formats::FileWrite;
use crate::project;
use crate::project::DEFAULT_SERVE_PORT;
use crate::serve::live_syncback;
use crate::serve::wire::LastSyncback;
use crate::serve::{
    BoundServer, LiveServer, ServeError, ServeSession, ServerConfig, ServerExit,
    DEFAULT_MAX_BODY_SIZE,
};
use crate::syncback::{self, SyncbackError, SyncbackOptions};
use crate::vfs::Vfs;

/// Serve a project to the Studio plugin and keep it in sync as files change.
#[derive(Debug, Args)]
pub struct ServeCommand {
    /// The project file, or a folder holding default.project.json5.
    #[arg(default_value = ".")]
    pub project: PathBuf,
    /// The address to listen on [default: the project's serveAddress, else 127.0.0.1].
    #[arg(long, value_name = "IP")]
    pub address: Option<IpAddr>,
    /// The port to listen on [default: the project's servePort, else 34873].
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,
    /// The largest request body accepted, in bytes [default: 512 MiB].
    #[arg(long, value_name = "BYTES")]
    pub max_body_size: Option<u64>,
}

impl ServeCommand {
    pub fn run(&self, _global: &GlobalOptions) -> anyhow::Result<()> {
        let mut session = Some(self.start_session(&Vfs::new_default())?);
        let address = {
            let project = session
                .as_ref()
                .map(ServeSession::project)
                .context("no session")?;
            let ip = self
                .address
                .or(project.serve_address)
                .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
            let port = self
                .port
                .or(project.serve_port)
                .unwrap_or(DEFAULT_SERVE_PORT);
            SocketAddr::new(ip, port)
        };
        let project_folder = session
            .as_ref()
            .map(|session| session.project().folder().to_path_buf())
            .context("no session")?;
        let mut last_syncback = None;
        let mut last_syncback_ran = false;
        let mut written = None;
        loop {
            let starting = Instant::now();
            let current = match session.take() {
                Some(session) => session,
                None => {
                    self.restart_session(&project_folder, &mut last_syncback, written.take())?
                }
            };
            let config = ServerConfig {
                max_body_size: self.max_body_size.unwrap_or(DEFAULT_MAX_BODY_SIZE),
                handle_ctrl_c: true,
                last_syncback: last_syncback.take(),
                ..ServerConfig::default()
            };
            let retries = if last_syncback_ran { 100 } else { 0 };
            let server = bind_with_retry(Arc::new(current), config, address, retries)?;
            if last_syncback_ran {
                log::info!(
                    "new session serving {} ms after the syncback finished",
                    starting.elapsed().as_millis()
                );
            }
            println!("Atlas server listening on http://{}", server.local_addr());
            let _ = std::io::stdout().flush();
            match server.run()? {
                ServerExit::Shutdown => return Ok(()),
                ServerExit::SyncbackRequested(payload) => {
                    // The old session (watcher, connections, tree) is gone by now; write
                    // the place exactly as `atlas syncback` would, then serve again.
                    let (outcome, files) = self.live_syncback(payload.dom);
                    last_syncback = Some(outcome);
                    written = files;
                    last_syncback_ran = true;
                }
            }
        }
    }

    /// Runs the shared syncback on a place rebuilt from Studio; never fails the process.
    /// On success it also returns the bytes of every file the project now holds below its
    /// synced folders, keyed by canonical path, for the next session to start from.
    fn live_syncback(&self, dom: rbx_dom_weak::WeakDom) -> (LastSyncback, Option<WrittenFiles>) {
        let started = Instant::now();
        // On failure: the message, and the project folder when this syncback's own backup
        // is still there (its write failed and could not be restored).
        let result = project::load(&self.project)
            .map_err(|err| (err.to_string(), None))
            .and_then(|project| {
                let folder = project.folder().to_path_buf();
                // Studio's plugin sends the visible services only: a hidden one the project
                // maps is not in this place, and must not be emptied for that.
                let options = SyncbackOptions {
                    only_visible_services: true,
                    ..Default::default()
                };
                syncback::run(&project, dom, &options)
                    .map(|report| (report, folder.clone()))
                    .map_err(|err| {
                        let mut backup_left = false;
                        if matches!(
                            err,
                            SyncbackError::WriteFailed {
                                restored: false,
                                ..
                            }
                        ) {
                            if let Err(undo) = syncback::undo(&folder) {
                                log::error!("restoring the backup failed too: {undo}");
                                backup_left = true;
                            }
                        }
                        (err.to_string(), backup_left.then_some(folder))
                    })
            });
        // `--undo` restores the backup of the last syncback that made one: offer it only
        // when it is this one's (a failed write that was restored has used its own up, and
        // the backup there now is the syncback before it; one that failed before writing
        // made none).
        let undo_command = || Some(format!("atlas syncback --undo {}", self.project.display()));
        match result {
            Ok((report, folder)) => {
                let undo = report.backup.as_ref().and_then(|_| undo_command());
                log::info!("live syncback: {}", report.summary());
                eprintln!("Live syncback: {}", report.summary());
                let outcome = LastSyncback {
                    ok: true,
                    error: None,
                    files_written: report.written.len() as u64,
                    files_removed: report.removed.len() as u64,
                    duration_ms: started.elapsed().as_millis() as u64,
                    undo,
                };
                (outcome, Some(written_files(&folder, report.files)))
            }
            Err((error, backup_made)) => {
                log::error!("live syncback failed: {error}");
                let undo = backup_made
                    .filter(|folder| syncback::backup_exists(folder))
                    .and_then(|_| undo_command());
                let outcome = LastSyncback {
                    ok: false,
                    error: Some(error),
                    files_written: 0,
                    files_removed: 0,
                    duration_ms: started.elapsed().as_millis() as u64,
                    undo,
                };
                (outcome, None)
            }
        }
    }

    /// Starts the session after a live syncback. If the files it wrote do not load (the
    /// process must not die because of a syncback), the backup is restored, the outcome
    /// reports why, and the session starts from the restored project.
    fn restart_session(
        &self,
        project_folder: &std::path::Path,
        last_syncback: &mut Option<LastSyncback>,
        written: Option<WrittenFiles>,
    ) -> anyhow::Result<ServeSession> {
        crate::memory::release_free_memory();
        log::debug!(
            "session: restarting with {} in use",
            crate::memory::resident()
        );
        let vfs = written.map_or_else(Vfs::new_default, Vfs::with_preloaded);
        let error = match self.start_session(&vfs) {
            Ok(session) => return Ok(session),
            Err(error) => error,
        };
        drop(vfs);
        log::error!("the project written by live syncback does not load: {error:#}; restoring it");
        eprintln!(
            "Live syncback: the written project does not load ({error:#}); restoring the backup"
        );
        let restored = syncback::undo(project_folder);
        if let Err(undo) = &restored {
            log::error!("restoring the backup failed: {undo}");
        }
        if let Some(outcome) = last_syncback.as_mut() {
            outcome.ok = false;
            outcome.error = Some(match restored {
                Ok(_) => format!("the written project did not load, so it was restored: {error:#}"),
                Err(undo) => format!(
                    "the written project did not load ({error:#}) and restoring it failed: {undo}"
                ),
            });
        }
        // The preloaded bytes are what was undone: read the restored files from disk.
        self.start_session(&Vfs::new_default())
    }

    fn start_session(&self, vfs: &Vfs) -> anyhow::Result<ServeSession> {
        ServeSession::new_with_vfs(&self.project, vfs)
            .with_context(|| format!("serving {}", self.project.display()))
    }
}

/// File contents by canonical path.
type WrittenFiles = HashMap<PathBuf, Vec<u8>>;

/// The files of a syncback report keyed the way a session started from the canonical
/// project folder will ask for them (files outside `folder` are left to the disk).
fn written_files(folder: &std::path::Path, files: Vec<FileWrite>) -> WrittenFiles {
    let canonical = std::fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf());
    files
        .into_iter()
        .filter_map(|file| {
            let relative = file.path.strip_prefix(folder).ok()?.to_path_buf();
            Some((canonical.join(relative), file.contents))
        })
        .collect()
}

/// Binds the address, retrying briefly: after a live syncback the old listener may take
/// a moment to be released.
fn bind_with_retry(
    session: Arc<ServeSession>,
    config: ServerConfig,
    address: SocketAddr,
    retries: u32,
) -> anyhow::Result<BoundServer> {
    let mut attempt = 0;
    loop {
        let server =
            live_syncback::add_routes(LiveServer::new(Arc::clone(&session), config.clone()));
        match server.bind(address) {
            Ok(bound) => return Ok(bound),
            Err(ServeError::PortInUse { .. }) if attempt < retries => {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(err) => return Err(err.into()),
        }
    }
}
