//! `atlas serve`: serve a project to the Studio plugin, live.

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;

use super::GlobalOptions;
use crate::project::DEFAULT_SERVE_PORT;
use crate::serve::{LiveServer, ServeSession, ServerConfig, ServerExit, DEFAULT_MAX_BODY_SIZE};

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
        let mut session = Some(self.start_session()?);
        let address = {
            let project = session.as_ref().map(ServeSession::project).context("no session")?;
            let ip = self
                .address
                .or(project.serve_address)
                .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
            let port = self.port.or(project.serve_port).unwrap_or(DEFAULT_SERVE_PORT);
            SocketAddr::new(ip, port)
        };
        loop {
            let current = match session.take() {
                Some(session) => session,
                None => self.start_session()?,
            };
            let config = ServerConfig {
                max_body_size: self.max_body_size.unwrap_or(DEFAULT_MAX_BODY_SIZE),
                handle_ctrl_c: true,
                ..ServerConfig::default()
            };
            let server = LiveServer::new(Arc::new(current), config).bind(address)?;
            println!("Atlas server listening on http://{}", server.local_addr());
            let _ = std::io::stdout().flush();
            match server.run()? {
                ServerExit::Shutdown => return Ok(()),
                ServerExit::SyncbackRequested(_) => {
                    // Live syncback (its own module) writes the payload here, then the
                    // loop serves a fresh session on the same address.
                    log::error!("live syncback is not available in this build; serving the files again");
                }
            }
        }
    }

    fn start_session(&self) -> anyhow::Result<ServeSession> {
        ServeSession::new(&self.project).with_context(|| format!("serving {}", self.project.display()))
    }
}
