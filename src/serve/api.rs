//! The plain HTTP endpoints: server info and reading instances, plus the answers for
//! unknown routes and methods.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{Method, Uri};
use axum::response::Response;

use super::encoding::{ApiError, Encoding, ErrorKind};
use super::server::AppState;
use super::wire::{
    self, ReadResponse, ServerInfo, PROTOCOL_VERSION, SERVER_VERSION, VISIBLE_SERVICES,
};

/// `GET /api/rojo`: who this server is and what it serves.
pub async fn server_info(State(state): State<AppState>, encoding: Encoding) -> Response {
    let session = state.session();
    let project = session.project();
    let as_floats =
        |ids: &std::collections::BTreeSet<u64>| ids.iter().map(|id| *id as f64).collect::<Vec<_>>();
    let info = ServerInfo {
        session_id: session.session_id().to_string(),
        server_version: SERVER_VERSION.to_string(),
        protocol_version: PROTOCOL_VERSION,
        // The live root's name: an edit to the project's `name` renames it.
        project_name: session.tree().dom().root().name.clone(),
        expected_place_ids: project.serve_place_ids.as_ref().map(as_floats),
        unexpected_place_ids: project.blocked_place_ids.as_ref().map(as_floats),
        place_id: project.place_id.map(|id| id as f64),
        game_id: project.game_id.map(|id| id as f64),
        root_instance_id: wire::id_string(session.root_ref()),
        visible_services: VISIBLE_SERVICES.iter().map(|s| s.to_string()).collect(),
        last_syncback: state.last_syncback().cloned(),
    };
    encoding.ok(&info)
}

/// `GET /api/read/{ids}`: the instances with these ids and all their descendants.
pub async fn read(
    State(state): State<AppState>,
    encoding: Encoding,
    Path(ids): Path<String>,
) -> Response {
    let mut requested = Vec::new();
    for part in ids.split(',') {
        let part = part.trim();
        match wire::parse_id(part) {
            Some(id) => requested.push(id),
            // Well formed, but the nil id: no instance has it.
            None if part.len() == 32 && part.bytes().all(|b| b == b'0') => {
                return encoding.error(ApiError::not_found(format!(
                    "no instance has the id {part} (the nil id)"
                )))
            }
            None => {
                return encoding.error(ApiError::bad_request(format!(
                    "malformed instance id {part:?}: ids are 32 hex digits, separated by commas"
                )))
            }
        }
    }
    let session = state.session().clone();
    // Building a big subtree takes a while: keep it off the async workers.
    let answer = tokio::task::spawn_blocking(move || {
        // Sampled before the tree is read: a change racing with this read is sent again
        // to a client that subscribes with this cursor, never lost.
        let message_cursor = session.message_queue().cursor();
        let tree = session.tree();
        let mut instances = BTreeMap::new();
        for id in &requested {
            if tree.dom().get_by_ref(*id).is_none() {
                return encoding.error(ApiError::not_found(format!("no instance has the id {id}")));
            }
            wire::add_subtree(&tree, *id, &mut instances);
        }
        drop(tree);
        encoding.ok(&ReadResponse {
            session_id: session.session_id().to_string(),
            message_cursor,
            instances,
        })
    })
    .await;
    answer.unwrap_or_else(|err| {
        encoding.error(ApiError::internal(format!(
            "reading instances failed: {err}"
        )))
    })
}

/// Any route that does not exist.
pub async fn not_found(encoding: Encoding, method: Method, uri: Uri) -> Response {
    encoding.error(ApiError::not_found(format!(
        "there is no endpoint {method} {}",
        uri.path()
    )))
}

/// A route that exists, with a method it does not take.
pub async fn method_not_allowed(encoding: Encoding, method: Method, uri: Uri) -> Response {
    encoding.error(ApiError::new(
        ErrorKind::MethodNotAllowed,
        format!("{} does not accept {method}", uri.path()),
    ))
}
