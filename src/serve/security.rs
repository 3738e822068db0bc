//! The request guard (DESIGN.md decision 8): only the user's own Studio may talk to the
//! server. It runs before every route and refuses, in this order:
//!
//! 1. a `Host` that is not a loopback name or literal (`localhost`, `127.x.x.x`, `[::1]`)
//!    with the server's port or no port: 400 (stops DNS rebinding);
//! 2. an `Origin` that is not loopback: 403 (a web page in the user's browser);
//! 3. a POST/PUT/PATCH/DELETE without `Content-Type: application/msgpack`: 415 (a
//!    browser cannot send that type without a CORS preflight, which we never grant);
//! 4. a declared body larger than the cap: 413 (bodies without a length are capped
//!    while read, see [`super::encoding::read_body`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, ORIGIN};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use super::encoding::{ApiError, Encoding, ErrorKind, MSGPACK};

/// What the guard checks against.
#[derive(Debug, Clone)]
pub struct GuardConfig {
    /// The port the server listens on.
    pub port: u16,
    /// The address it was bound to; a non-loopback, non-wildcard address is accepted as a
    /// `Host` too (the user chose to serve on it).
    pub bound_ip: IpAddr,
    /// Largest request body accepted, in bytes.
    pub max_body_size: u64,
}

/// The middleware: answers the first failed check, else runs the route.
pub async fn request_guard(
    State(config): State<Arc<GuardConfig>>,
    request: Request,
    next: Next,
) -> Response {
    match check(&config, &request) {
        Ok(()) => next.run(request).await,
        Err(error) => {
            log::warn!(
                "refused {} {}: {}",
                request.method(),
                request.uri().path(),
                error.details
            );
            Encoding::from_headers(request.headers()).error(error)
        }
    }
}

fn check(config: &GuardConfig, request: &Request) -> Result<(), ApiError> {
    let headers = request.headers();
    let host = headers.get(HOST).and_then(|h| h.to_str().ok());
    match host {
        Some(host) if is_allowed_host(host, config.port, config.bound_ip) => {}
        Some(host) => {
            return Err(ApiError::bad_request(format!(
                "Host {host:?} is not this server: only localhost, 127.0.0.1 or [::1] (with port {} or none) may be used",
                config.port
            )))
        }
        None => return Err(ApiError::bad_request("the request has no Host header")),
    }
    if let Some(origin) = headers.get(ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !is_loopback_origin(origin) {
            return Err(ApiError::new(
                ErrorKind::Forbidden,
                format!("requests from the web origin {origin:?} are not allowed"),
            ));
        }
    }
    let has_body_method = matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    if has_body_method {
        let content_type = headers
            .get(CONTENT_TYPE)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let media_type = content_type.split(';').next().unwrap_or("").trim();
        if !media_type.eq_ignore_ascii_case(MSGPACK) {
            return Err(ApiError::new(
                ErrorKind::UnsupportedMediaType,
                format!(
                    "the body must be sent with Content-Type: {MSGPACK} (got {content_type:?})"
                ),
            ));
        }
    }
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.trim().parse::<u64>().ok());
    if let Some(length) = declared {
        if length > config.max_body_size {
            return Err(ApiError::new(
                ErrorKind::PayloadTooLarge,
                format!(
                    "the request body ({length} bytes) is larger than the limit of {} bytes (see --max-body-size)",
                    config.max_body_size
                ),
            ));
        }
    }
    Ok(())
}

/// Splits `host[:port]` / `[v6][:port]`; `None` when malformed.
fn split_host_port(text: &str) -> Option<(&str, Option<&str>)> {
    if let Some(rest) = text.strip_prefix('[') {
        let end = rest.find(']')?;
        let host = &text[..end + 2];
        let after = &rest[end + 1..];
        return match after {
            "" => Some((host, None)),
            _ => Some((host, Some(after.strip_prefix(':')?))),
        };
    }
    match text.rsplit_once(':') {
        Some((host, port)) => Some((host, Some(port))),
        None => Some((text, None)),
    }
}

/// Whether a host name or literal (IPv6 in brackets) is this machine.
fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<Ipv6Addr>().is_ok_and(|ip| {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        });
    }
    host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether a `Host` header names this server: a loopback host (or the address the server
/// was explicitly bound to) with the server's port or no port.
pub fn is_allowed_host(header: &str, port: u16, bound_ip: IpAddr) -> bool {
    let Some((host, host_port)) = split_host_port(header.trim()) else {
        return false;
    };
    let port_ok = match host_port {
        None => true,
        Some(p) => p.parse::<u16>() == Ok(port),
    };
    if !port_ok {
        return false;
    }
    if is_loopback_host(host) {
        return true;
    }
    if bound_ip.is_unspecified() || bound_ip.is_loopback() {
        return false;
    }
    match bound_ip {
        IpAddr::V4(ip) => host.parse::<Ipv4Addr>() == Ok(ip),
        IpAddr::V6(ip) => host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .is_some_and(|h| h.parse::<Ipv6Addr>() == Ok(ip)),
    }
}

/// Whether an `Origin` header is a loopback origin (`http://localhost:3000`, any port).
/// `null` and other schemes are not.
pub fn is_loopback_origin(origin: &str) -> bool {
    let rest = match origin.split_once("://") {
        Some((scheme, rest))
            if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") =>
        {
            rest
        }
        _ => return false,
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains('/') || rest.contains('@') {
        return false;
    }
    match split_host_port(rest) {
        Some((host, port)) => {
            port.is_none_or(|p| p.parse::<u16>().is_ok()) && is_loopback_host(host)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    #[test]
    fn hosts() {
        for ok in [
            "localhost",
            "LOCALHOST:34873",
            "127.0.0.1",
            "127.0.0.1:34873",
            "127.1.2.3:34873",
            "[::1]",
            "[::1]:34873",
        ] {
            assert!(is_allowed_host(ok, 34873, LOOPBACK), "{ok}");
        }
        for bad in [
            "example.com",
            "example.com:34873",
            "localhost:80",
            "127.0.0.1:1",
            "10.0.0.1:34873",
            "[::2]:34873",
            "localhost.evil.com",
            "127.0.0.1.nip.io",
            "[::1",
            "",
        ] {
            assert!(!is_allowed_host(bad, 34873, LOOPBACK), "{bad}");
        }
        let lan: IpAddr = "192.168.1.5".parse().unwrap();
        assert!(is_allowed_host("192.168.1.5:34873", 34873, lan));
        assert!(!is_allowed_host("192.168.1.6:34873", 34873, lan));
        assert!(!is_allowed_host(
            "0.0.0.0:34873",
            34873,
            "0.0.0.0".parse().unwrap()
        ));
    }

    #[test]
    fn origins() {
        for ok in [
            "http://localhost",
            "http://localhost:3000",
            "https://127.0.0.1:8080",
            "http://[::1]:1",
        ] {
            assert!(is_loopback_origin(ok), "{ok}");
        }
        for bad in [
            "null",
            "https://example.com",
            "http://localhost.evil.com",
            "file://",
            "http://user@localhost",
            "http://10.0.0.1",
        ] {
            assert!(!is_loopback_origin(bad), "{bad}");
        }
    }
}
