//! The HTTP/WebSocket server: axum on a tokio runtime owned by one run of the server.
//!
//! ```text
//! let session = Arc::new(ServeSession::new(project_path)?);
//! let server = LiveServer::new(session, ServerConfig::default())
//!     .route("/api/syncback", post(handler))      // other modules add routes
//!     .bind(address)?;                            // a port in use is an error here
//! match server.run()? {                           // blocks; everything is dropped after
//!     ServerExit::Shutdown => {}
//!     ServerExit::SyncbackRequested(payload) => { /* write files, start a new session */ }
//! }
//! ```

use std::future::IntoFuture;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, MethodRouter};
use axum::{middleware, Router};
use rbx_dom_weak::WeakDom;
use tokio::sync::watch;

use super::security::{self, GuardConfig};
use super::session::ServeSession;
use super::wire::LastSyncback;
use super::{api, socket};

/// The default cap on request bodies (`--max-body-size`).
pub const DEFAULT_MAX_BODY_SIZE: u64 = 512 * 1024 * 1024;

/// How long open connections get to finish once the server is asked to stop.
const GRACE: Duration = Duration::from_secs(2);

/// Why [`BoundServer::run`] returned.
pub enum ServerExit {
    /// Ctrl+C (when handled) or [`ServerHandle::shutdown`].
    Shutdown,
    /// A validated live-syncback request: the caller writes it to the files and starts a
    /// new session.
    SyncbackRequested(Box<SyncbackPayload>),
}

impl std::fmt::Debug for ServerExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServerExit::Shutdown => f.write_str("Shutdown"),
            ServerExit::SyncbackRequested(payload) => f
                .debug_struct("SyncbackRequested")
                .field("place_id", &payload.place_id)
                .field("instances", &payload.dom.descendants().count())
                .finish(),
        }
    }
}

/// What live syncback hands over when it asks the server to stop: the place rebuilt
/// from Studio's payload (a `DataModel` with its services).
pub struct SyncbackPayload {
    pub dom: WeakDom,
    pub place_id: Option<u64>,
}

/// Options of one server run.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest request body, in bytes.
    pub max_body_size: u64,
    /// Stop with [`ServerExit::Shutdown`] on Ctrl+C (the CLI sets it; tests do not).
    pub handle_ctrl_c: bool,
    /// Reported by `GET /api/rojo` (the syncback that led to this run).
    pub last_syncback: Option<LastSyncback>,
    /// Tokio worker threads; default: the number of CPUs, at most 4.
    pub worker_threads: Option<usize>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body_size: DEFAULT_MAX_BODY_SIZE,
            handle_ctrl_c: false,
            last_syncback: None,
            worker_threads: None,
        }
    }
}

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("port {port} is already in use on {ip} (is another atlas serve running?); pick another with --port")]
    PortInUse { ip: std::net::IpAddr, port: u16 },
    #[error("could not listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("could not start the server: {0}")]
    Runtime(std::io::Error),
    #[error("the server on {address} failed: {source}")]
    Serve {
        address: SocketAddr,
        source: std::io::Error,
    },
}

/// The stop request shared by the accept loop, the handlers and [`ServerHandle`]s.
struct ExitSignal {
    reason: Mutex<Option<ServerExit>>,
    requested: watch::Sender<bool>,
}

impl ExitSignal {
    fn new() -> Self {
        ExitSignal {
            reason: Mutex::new(None),
            requested: watch::Sender::new(false),
        }
    }

    /// Records the first request; `false` when one was already made, even when the
    /// server has already taken it to stop.
    fn request(&self, exit: ServerExit) -> bool {
        let mut reason = self.reason.lock().unwrap_or_else(|e| e.into_inner());
        if reason.is_some() || *self.requested.borrow() {
            return false;
        }
        *reason = Some(exit);
        self.requested.send_replace(true);
        true
    }

    fn take(&self) -> Option<ServerExit> {
        self.reason.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// Resolves once a stop was requested.
pub(crate) async fn exit_requested(mut receiver: watch::Receiver<bool>) {
    let _ = receiver.wait_for(|requested| *requested).await;
}

/// What every handler gets: the session and the server's controls.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<StateInner>,
}

struct StateInner {
    session: Arc<ServeSession>,
    exit: Arc<ExitSignal>,
    max_body_size: u64,
    last_syncback: Option<LastSyncback>,
}

impl AppState {
    /// The session being served.
    pub fn session(&self) -> &Arc<ServeSession> {
        &self.inner.session
    }

    /// Asks the server to stop with `exit` once the current request is answered;
    /// `false` when a stop was already requested (e.g. a second syncback: 409).
    pub fn request_exit(&self, exit: ServerExit) -> bool {
        self.inner.exit.request(exit)
    }

    /// Whether a stop was requested.
    pub fn is_exiting(&self) -> bool {
        *self.inner.exit.requested.borrow()
    }

    /// A receiver that turns `true` when a stop is requested.
    pub fn exit_receiver(&self) -> watch::Receiver<bool> {
        self.inner.exit.requested.subscribe()
    }

    /// The body size cap, for handlers that read bodies with
    /// [`super::encoding::read_body`].
    pub fn max_body_size(&self) -> usize {
        usize::try_from(self.inner.max_body_size).unwrap_or(usize::MAX)
    }

    /// The syncback outcome `GET /api/rojo` reports.
    pub fn last_syncback(&self) -> Option<&LastSyncback> {
        self.inner.last_syncback.as_ref()
    }
}

/// A server to be bound: the built-in routes plus any added with [`LiveServer::route`].
pub struct LiveServer {
    session: Arc<ServeSession>,
    config: ServerConfig,
    routes: Router<AppState>,
}

impl LiveServer {
    /// A server for `session`.
    pub fn new(session: Arc<ServeSession>, config: ServerConfig) -> Self {
        LiveServer {
            session,
            config,
            routes: Router::new(),
        }
    }

    /// Adds a route (e.g. `post(handler)`); the request guard covers it like the rest.
    /// Handlers get the [`AppState`] through `State<AppState>`.
    pub fn route(mut self, path: &str, method_router: MethodRouter<AppState>) -> Self {
        self.routes = self.routes.route(path, method_router);
        self
    }

    /// Binds the address; a port in use is [`ServeError::PortInUse`].
    pub fn bind(self, address: SocketAddr) -> Result<BoundServer, ServeError> {
        let listener = TcpListener::bind(address).map_err(|source| {
            if source.kind() == std::io::ErrorKind::AddrInUse {
                ServeError::PortInUse {
                    ip: address.ip(),
                    port: address.port(),
                }
            } else {
                ServeError::Bind { address, source }
            }
        })?;
        let local = listener
            .local_addr()
            .map_err(|source| ServeError::Bind { address, source })?;
        let exit = Arc::new(ExitSignal::new());
        let state = AppState {
            inner: Arc::new(StateInner {
                session: self.session,
                exit: Arc::clone(&exit),
                max_body_size: self.config.max_body_size,
                last_syncback: self.config.last_syncback.clone(),
            }),
        };
        let guard = Arc::new(GuardConfig {
            port: local.port(),
            bound_ip: address.ip(),
            max_body_size: self.config.max_body_size,
        });
        let router = Router::new()
            .route("/api/rojo", get(api::server_info))
            .route("/api/read/{ids}", get(api::read))
            .route("/api/socket/{cursor}", get(socket::subscribe))
            .merge(self.routes)
            .fallback(api::not_found)
            .method_not_allowed_fallback(api::method_not_allowed)
            .layer(DefaultBodyLimit::max(
                usize::try_from(self.config.max_body_size).unwrap_or(usize::MAX),
            ))
            .layer(middleware::from_fn_with_state(
                guard,
                security::request_guard,
            ))
            .with_state(state.clone());
        Ok(BoundServer {
            listener,
            local,
            router,
            state,
            exit,
            config: self.config,
        })
    }
}

/// A server listening on its port, ready to [`BoundServer::run`].
pub struct BoundServer {
    listener: TcpListener,
    local: SocketAddr,
    router: Router,
    state: AppState,
    exit: Arc<ExitSignal>,
    config: ServerConfig,
}

/// Stops a running server from another thread.
#[derive(Clone)]
pub struct ServerHandle {
    exit: Arc<ExitSignal>,
}

impl ServerHandle {
    /// Asks the server to return [`ServerExit::Shutdown`].
    pub fn shutdown(&self) {
        self.exit.request(ServerExit::Shutdown);
    }

    /// Asks the server to return `exit`; `false` if a stop was already requested.
    pub fn request_exit(&self, exit: ServerExit) -> bool {
        self.exit.request(exit)
    }
}

impl BoundServer {
    /// The address actually bound (the port is known even when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// A handle to stop the server.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle {
            exit: Arc::clone(&self.exit),
        }
    }

    /// Serves until a stop is requested, then closes every connection, drops the runtime
    /// and the session (watcher, change processor, tree) and says why it stopped.
    pub fn run(self) -> Result<ServerExit, ServeError> {
        let BoundServer {
            listener,
            local,
            router,
            state,
            exit,
            config,
        } = self;
        let workers = config.worker_threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get().min(4))
                .unwrap_or(2)
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers.max(1))
            .thread_name("atlas-serve")
            .enable_all()
            .build()
            .map_err(ServeError::Runtime)?;
        let served = runtime.block_on(serve(
            listener,
            router,
            Arc::clone(&exit),
            config.handle_ctrl_c,
        ));
        runtime.shutdown_timeout(GRACE);
        drop(state);
        served.map_err(|source| ServeError::Serve {
            address: local,
            source,
        })?;
        let reason = exit.take().unwrap_or(ServerExit::Shutdown);
        log::info!("server on {local} stopped: {reason:?}");
        Ok(reason)
    }
}

async fn serve(
    listener: TcpListener,
    router: Router,
    exit: Arc<ExitSignal>,
    handle_ctrl_c: bool,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    if handle_ctrl_c {
        let exit = Arc::clone(&exit);
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                log::info!("stopping (Ctrl+C)");
                exit.request(ServerExit::Shutdown);
            }
        });
    }
    let server = axum::serve(listener, router)
        .with_graceful_shutdown(exit_requested(exit.requested.subscribe()));
    let mut server = std::pin::pin!(server.into_future());
    tokio::select! {
        result = &mut server => result,
        () = exit_requested(exit.requested.subscribe()) => {
            match tokio::time::timeout(GRACE, &mut server).await {
                Ok(result) => result,
                Err(_) => {
                    log::debug!("connections still open after {GRACE:?}; closing them");
                    Ok(())
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_exit_request_wins_even_after_the_server_took_it() {
        let signal = ExitSignal::new();
        assert!(signal.request(ServerExit::Shutdown));
        assert!(!signal.request(ServerExit::Shutdown));
        assert!(matches!(signal.take(), Some(ServerExit::Shutdown)));
        assert!(!signal.request(ServerExit::Shutdown));
        assert!(signal.take().is_none());
    }
}
