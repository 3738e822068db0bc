//! `atlas serve`: keeps a live instance tree in sync with the project's files and streams
//! the changes to the Studio plugin over HTTP and WebSocket (docs/serve-protocol.md).
//!
//! - [`session`]: the project, the live tree, the watcher and the change processor;
//! - [`server`]: the axum server, its exit reason, and how other modules add routes;
//! - [`api`], [`socket`]: the endpoints; [`wire`]: what they send;
//! - [`security`]: the request guard on every route; [`encoding`]: msgpack/JSON and errors.

pub mod api;
pub mod change_processor;
pub mod encoding;
pub mod live_syncback;
pub mod message_queue;
mod resnapshot;
pub mod security;
pub mod server;
pub mod session;
pub mod socket;
pub mod watcher;
pub mod wire;

pub use encoding::{decode_msgpack, read_body, ApiError, Encoding, ErrorKind};
pub use message_queue::MessageQueue;
pub use server::{
    AppState, BoundServer, LiveServer, ServeError, ServerConfig, ServerExit, ServerHandle,
    SyncbackPayload, DEFAULT_MAX_BODY_SIZE,
};
pub use session::{ServeSession, SessionError};
