//! `GET /api/socket/{cursor}`: the WebSocket that streams change messages. A client
//! first gets every message after its cursor, then each new one as it is pushed. Frames
//! are binary msgpack, or text JSON when the upgrade request asked for JSON.

use std::sync::Arc;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{close_code, CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::Response;

use super::encoding::{ApiError, Encoding};
use super::server::{exit_requested, AppState};
use super::wire::{MessagesPacket, SocketPacket, SubscribeMessage};

/// The upgrade handler.
pub async fn subscribe(
    State(state): State<AppState>,
    encoding: Encoding,
    Path(cursor): Path<String>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Ok(cursor) = cursor.parse::<u32>() else {
        return encoding.error(ApiError::bad_request(format!(
            "malformed message cursor {cursor:?}: expected a whole number"
        )));
    };
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => {
            return encoding.error(ApiError::bad_request(format!(
                "/api/socket must be called as a WebSocket upgrade request ({rejection})"
            )))
        }
    };
    upgrade.on_upgrade(move |socket| stream(socket, state, cursor, encoding))
}

async fn stream(mut socket: WebSocket, state: AppState, mut cursor: u32, encoding: Encoding) {
    let session = Arc::clone(state.session());
    let queue = Arc::clone(session.message_queue());
    let session_id = session.session_id().to_string();
    drop(session);
    log::info!(
        "Studio connected (cursor {cursor}, {})",
        encoding.content_type()
    );
    let mut changes = queue.subscribe();
    let exit = state.exit_receiver();
    let reason = loop {
        changes.borrow_and_update();
        let (next, messages) = queue.since(cursor);
        // From here on a cursor beyond the end (another session's) is the end.
        cursor = next;
        if !messages.is_empty() {
            let packet = SocketPacket {
                session_id: session_id.clone(),
                packet_type: "messages".to_string(),
                body: MessagesPacket {
                    message_cursor: next,
                    messages: messages
                        .iter()
                        .map(|m| SubscribeMessage::clone(m))
                        .collect(),
                },
            };
            let frame = match encode(encoding, &packet) {
                Ok(frame) => frame,
                Err(err) => {
                    log::error!("could not encode a change message: {err}");
                    break "an encoding error";
                }
            };
            if socket.send(frame).await.is_err() {
                break "a send error";
            }
        }
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() {
                    break "the session ended";
                }
            }
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) => break "the connection dropped",
                Some(Ok(Message::Close(_))) => break "the client closed it",
                Some(Ok(_)) => {}
            },
            () = exit_requested(exit.clone()) => {
                let _ = socket
                    .send(Message::Close(Some(CloseFrame {
                        code: close_code::AWAY,
                        reason: Utf8Bytes::from_static("the server is stopping"),
                    })))
                    .await;
                break "the server is stopping";
            }
        }
    };
    log::info!("Studio disconnected ({reason})");
}

fn encode(encoding: Encoding, packet: &SocketPacket) -> Result<Message, String> {
    let bytes = encoding.encode(packet)?;
    Ok(match encoding {
        Encoding::Msgpack => Message::Binary(bytes.into()),
        Encoding::Json => Message::Text(Utf8Bytes::try_from(bytes).map_err(|e| e.to_string())?),
    })
}
