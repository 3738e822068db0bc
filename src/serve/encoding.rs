//! Response encoding (msgpack by default, JSON when the client asks for it), the error
//! type every endpoint returns, and reading request bodies under the size cap.

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::extract::FromRequestParts;
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::wire::ErrorResponse;

/// The msgpack media type, for responses and for POST bodies.
pub const MSGPACK: &str = "application/msgpack";
/// The JSON media type.
pub const JSON: &str = "application/json";

/// How a response body is encoded, chosen by the request's `Accept` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// rmp-serde with named fields (structs as maps): the plugin's encoding.
    Msgpack,
    /// JSON, for `Accept: application/json` (debugging, curl, tests).
    Json,
}

impl Encoding {
    /// JSON when `Accept` names `application/json` (and not msgpack), else msgpack.
    pub fn from_headers(headers: &HeaderMap) -> Encoding {
        let accept = headers
            .get_all(ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",")
            .to_ascii_lowercase();
        if accept.contains(JSON) && !accept.contains(MSGPACK) {
            Encoding::Json
        } else {
            Encoding::Msgpack
        }
    }

    /// The `Content-Type` of bodies in this encoding.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Msgpack => MSGPACK,
            Encoding::Json => JSON,
        }
    }

    /// Encodes a value.
    pub fn encode<T: Serialize + ?Sized>(self, value: &T) -> Result<Vec<u8>, String> {
        match self {
            Encoding::Msgpack => rmp_serde::to_vec_named(value).map_err(|e| e.to_string()),
            Encoding::Json => serde_json::to_vec(value).map_err(|e| e.to_string()),
        }
    }

    /// A 200 response holding `value`.
    pub fn ok<T: Serialize + ?Sized>(self, value: &T) -> Response {
        self.respond(StatusCode::OK, value)
    }

    /// A response with the given status holding `value`.
    pub fn respond<T: Serialize + ?Sized>(self, status: StatusCode, value: &T) -> Response {
        match self.encode(value) {
            Ok(body) => {
                let mut response = (status, body).into_response();
                response
                    .headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static(self.content_type()));
                response
            }
            Err(err) => {
                log::error!("could not encode a response: {err}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("could not encode the response: {err}"),
                )
                    .into_response()
            }
        }
    }

    /// The response for an error.
    pub fn error(self, error: ApiError) -> Response {
        let body = ErrorResponse {
            kind: error.kind.as_str().to_string(),
            details: error.details,
        };
        self.respond(error.kind.status(), &body)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Encoding {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Encoding::from_headers(&parts.headers))
    }
}

/// What went wrong, as the `kind` of an error body; each kind has one status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400.
    BadRequest,
    /// 403.
    Forbidden,
    /// 404.
    NotFound,
    /// 405.
    MethodNotAllowed,
    /// 409.
    Conflict,
    /// 413.
    PayloadTooLarge,
    /// 415.
    UnsupportedMediaType,
    /// 500.
    InternalError,
}

impl ErrorKind {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "BadRequest",
            ErrorKind::Forbidden => "Forbidden",
            ErrorKind::NotFound => "NotFound",
            ErrorKind::MethodNotAllowed => "MethodNotAllowed",
            ErrorKind::Conflict => "Conflict",
            ErrorKind::PayloadTooLarge => "PayloadTooLarge",
            ErrorKind::UnsupportedMediaType => "UnsupportedMediaType",
            ErrorKind::InternalError => "InternalError",
        }
    }

    /// The HTTP status of this kind.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorKind::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// An error answer: a kind (which fixes the status) and a message for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} ({}): {details}", kind.as_str(), kind.status().as_u16())]
pub struct ApiError {
    pub kind: ErrorKind,
    pub details: String,
}

impl ApiError {
    pub fn new(kind: ErrorKind, details: impl Into<String>) -> Self {
        ApiError {
            kind,
            details: details.into(),
        }
    }

    pub fn bad_request(details: impl Into<String>) -> Self {
        ApiError::new(ErrorKind::BadRequest, details)
    }

    pub fn not_found(details: impl Into<String>) -> Self {
        ApiError::new(ErrorKind::NotFound, details)
    }

    pub fn internal(details: impl Into<String>) -> Self {
        ApiError::new(ErrorKind::InternalError, details)
    }
}

/// Without a request to negotiate with, errors are msgpack. Handlers that have an
/// [`Encoding`] should use [`Encoding::error`] instead.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        Encoding::Msgpack.error(self)
    }
}

/// Reads a whole request body, refusing more than `limit` bytes (413).
pub async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|err| {
        let too_large = std::error::Error::source(&err)
            .is_some_and(|source| source.to_string().contains("length limit exceeded"))
            || err.to_string().contains("length limit exceeded");
        if too_large {
            ApiError::new(
                ErrorKind::PayloadTooLarge,
                format!("the request body is larger than the limit of {limit} bytes (see --max-body-size)"),
            )
        } else {
            ApiError::bad_request(format!("could not read the request body: {err}"))
        }
    })
}

/// Decodes a msgpack request body (rmp-serde; maps or arrays for structs).
pub fn decode_msgpack<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    rmp_serde::from_slice(bytes)
        .map_err(|err| ApiError::bad_request(format!("invalid msgpack body: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_only_when_asked_for() {
        let mut headers = HeaderMap::new();
        assert_eq!(Encoding::from_headers(&headers), Encoding::Msgpack);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        assert_eq!(Encoding::from_headers(&headers), Encoding::Json);
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("application/msgpack, application/json"),
        );
        assert_eq!(Encoding::from_headers(&headers), Encoding::Msgpack);
    }

    #[test]
    fn errors_carry_kind_and_status() {
        let response = Encoding::Json.error(ApiError::not_found("no instance 1"));
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.headers()[CONTENT_TYPE], JSON);
    }

    #[tokio::test]
    async fn body_limit_is_a_413() {
        let err = read_body(Body::from(vec![0u8; 10]), 4).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::PayloadTooLarge);
        assert_eq!(
            read_body(Body::from(vec![1u8; 4]), 4).await.unwrap().len(),
            4
        );
    }
}
