//! Serve test harness: runs the real `atlas serve` on a copy of a fixture from
//! `rojo-test/serve-tests/`, and talks to it with a minimal HTTP/1.1 client and a
//! WebSocket client. The server is killed when the test ends, also on panic (its log is
//! printed then).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use atlas::json_value::Value;
use atlas::serve::wire::{ErrorResponse, ReadResponse, ServerInfo, SocketPacket, SubscribeMessage};
use rbx_dom_weak::types::{Ref, Variant};
use rbx_dom_weak::WeakDom;
use serde::de::DeserializeOwned;
use tungstenite::client::IntoClientRequest;

/// How long to wait for the server or for a patch.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// Runs `test` against a server for the fixture `rojo-test/serve-tests/<fixture>`.
pub fn run_serve_test(fixture: &str, test: impl FnOnce(&TestServe)) {
    run_serve_test_with(fixture, &[], test);
}

/// Like [`run_serve_test`], with extra `atlas serve` arguments.
pub fn run_serve_test_with(fixture: &str, args: &[&str], test: impl FnOnce(&TestServe)) {
    let session = TestServe::start(fixture, args);
    test(&session);
}

/// A running `atlas serve` on a temporary copy of a fixture.
pub struct TestServe {
    _temp: tempfile::TempDir,
    root: PathBuf,
    pub port: u16,
    child: Option<Child>,
    log: PathBuf,
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

impl TestServe {
    /// Copies the fixture, starts the server and waits until `GET /api/rojo` answers.
    pub fn start(fixture: &str, args: &[&str]) -> TestServe {
        Self::start_prepared(fixture, args, |_| {})
    }

    /// Like [`TestServe::start`], calling `prepare` with the copied fixture's folder
    /// before the server starts (for what a fixture in git cannot hold, like links).
    pub fn start_prepared(fixture: &str, args: &[&str], prepare: impl FnOnce(&Path)) -> TestServe {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().canonicalize().unwrap().join(fixture);
        super::copy_dir(
            &super::repo_root()
                .join("rojo-test")
                .join("serve-tests")
                .join(fixture),
            &root,
        );
        prepare(&root);
        let log = temp.path().join("serve.log");
        let mut session = TestServe {
            _temp: temp,
            root,
            port: 0,
            child: None,
            log,
        };
        for _ in 0..3 {
            session.port = free_port();
            let out = File::create(&session.log).unwrap();
            let err = out.try_clone().unwrap();
            let child = Command::new(super::atlas_bin())
                .arg("serve")
                .arg(&session.root)
                .arg("--port")
                .arg(session.port.to_string())
                .args(args)
                .arg("-v")
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .spawn()
                .expect("start atlas serve");
            session.child = Some(child);
            if session.wait_online() {
                return session;
            }
            if !session.log_text().contains("already in use") {
                panic!("atlas serve did not come up:\n{}", session.log_text());
            }
        }
        panic!("no free port found:\n{}", session.log_text());
    }

    fn wait_online(&mut self) -> bool {
        let started = Instant::now();
        while started.elapsed() < TIMEOUT {
            if let Some(child) = self.child.as_mut() {
                if child.try_wait().ok().flatten().is_some() {
                    return false;
                }
            }
            if let Ok(response) = try_http(self.port, "GET", "/api/rojo", &[], &[]) {
                if response.status == 200 {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// What the server printed so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The served project folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A path inside the served project.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// Writes a file (creating folders).
    pub fn write(&self, relative: &str, contents: &str) {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    /// Sends a request; `Host` defaults to `127.0.0.1:<port>`.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> HttpResponse {
        try_http(self.port, method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// `GET` with msgpack.
    pub fn get(&self, path: &str) -> HttpResponse {
        self.request("GET", path, &[], &[])
    }

    /// `GET /api/rojo`.
    pub fn info(&self) -> ServerInfo {
        self.get("/api/rojo").ok_msgpack()
    }

    /// `GET /api/read/{ids}`.
    pub fn read(&self, ids: &[&str]) -> ReadResponse {
        self.get(&format!("/api/read/{}", ids.join(",")))
            .ok_msgpack()
    }

    /// The whole served tree.
    pub fn tree(&self) -> ServedTree {
        let root = self.info().root_instance_id;
        let response = self.read(&[&root]);
        ServedTree { root, response }
    }

    /// The tree `atlas build` makes of the same files, in the comparable form.
    pub fn built(&self) -> Node {
        let project = atlas::project::load(&self.root).unwrap();
        let built = atlas::build::build_project(&atlas::vfs::Vfs::new_default(), &project).unwrap();
        Node::from_dom(&built.dom, built.dom.root_ref())
    }

    /// Waits until the served tree equals a fresh build (the watcher may still be
    /// delivering events); panics with the differences after [`TIMEOUT`].
    pub fn assert_matches_build(&self) {
        let started = Instant::now();
        loop {
            let served = self.tree().node();
            let built = self.built();
            let differences = served.diff(&built);
            if differences.is_empty() {
                return;
            }
            if started.elapsed() > TIMEOUT {
                panic!(
                    "the served tree differs from a fresh build:\n{}\n--- server log:\n{}",
                    differences.join("\n"),
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Opens the change socket at `cursor` (msgpack frames, or JSON ones).
    pub fn connect(&self, cursor: u32, json: bool) -> Socket {
        let mut request = format!("ws://127.0.0.1:{}/api/socket/{cursor}", self.port)
            .into_client_request()
            .unwrap();
        if json {
            request
                .headers_mut()
                .insert("Accept", "application/json".parse().unwrap());
        }
        let stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        let (socket, _) = tungstenite::client(request, stream).expect("WebSocket handshake");
        Socket { socket }
    }

    /// Connects at the current cursor, runs `change`, and waits for messages until
    /// `done` accepts what arrived; then waits for the tree to equal a fresh build.
    pub fn expect_patch(
        &self,
        change: impl FnOnce(),
        what: &str,
        done: impl Fn(&[SubscribeMessage]) -> bool,
    ) -> Vec<SubscribeMessage> {
        let cursor = self.tree().response.message_cursor;
        let mut socket = self.connect(cursor, false);
        change();
        let messages = socket.wait_for(what, done, self);
        self.assert_matches_build();
        messages
    }
}

impl Drop for TestServe {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "--- atlas serve log ({}):\n{}",
                self.log.display(),
                self.log_text()
            );
        }
    }
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A header's value (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts 200 and a msgpack body, and decodes it.
    pub fn ok_msgpack<T: DeserializeOwned>(&self) -> T {
        assert_eq!(self.status, 200, "{self:?}: {:?}", self.error_body());
        assert_eq!(self.header("content-type"), Some("application/msgpack"));
        rmp_serde::from_slice(&self.body).expect("msgpack body")
    }

    /// Decodes an error body (msgpack or JSON by its content type).
    pub fn error_body(&self) -> Option<ErrorResponse> {
        match self.header("content-type") {
            Some("application/json") => serde_json::from_slice(&self.body).ok(),
            _ => rmp_serde::from_slice(&self.body).ok(),
        }
    }

    /// Asserts the status and the error kind.
    pub fn assert_error(&self, status: u16, kind: &str) -> ErrorResponse {
        let body = self
            .error_body()
            .unwrap_or_else(|| panic!("no error body in {self:?}"));
        assert_eq!(
            (self.status, body.kind.as_str()),
            (status, kind),
            "{body:?}"
        );
        body
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`).
pub fn try_http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<HttpResponse> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    let mut request = format!("{method} {path} HTTP/1.1\r\n");
    let has = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    if !has("host") {
        request.push_str(&format!("Host: 127.0.0.1:{port}\r\n"));
    }
    if !has("content-length") && !has("transfer-encoding") && (!body.is_empty() || method == "POST")
    {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    // The server may answer (and close) before reading a body it refuses.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    match stream.read_to_end(&mut raw) {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset && !raw.is_empty() => {}
        Err(e) => return Err(e),
    }
    parse_response(&raw).ok_or_else(|| {
        std::io::Error::other(format!("bad response: {:?}", String::from_utf8_lossy(&raw)))
    })
}

fn parse_response(raw: &[u8]) -> Option<HttpResponse> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body)?;
    }
    Some(HttpResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..line_end]).ok()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

/// The change socket.
pub struct Socket {
    socket: tungstenite::WebSocket<TcpStream>,
}

impl Socket {
    /// The next packet, or `None` after `timeout` or when the server closed the socket.
    pub fn next_packet(&mut self, timeout: Duration) -> Option<SocketPacket> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            self.socket
                .get_mut()
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .unwrap();
            match self.socket.read() {
                Ok(tungstenite::Message::Binary(bytes)) => {
                    return Some(rmp_serde::from_slice(&bytes).expect("msgpack packet"))
                }
                Ok(tungstenite::Message::Text(text)) => {
                    return Some(serde_json::from_str(&text).expect("JSON packet"))
                }
                Ok(tungstenite::Message::Close(_)) => return None,
                Ok(_) => continue,
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                {
                    return None
                }
                Err(_) => return None,
            }
        }
    }

    /// Collects messages until `done` accepts them all; panics after [`TIMEOUT`].
    pub fn wait_for(
        &mut self,
        what: &str,
        done: impl Fn(&[SubscribeMessage]) -> bool,
        session: &TestServe,
    ) -> Vec<SubscribeMessage> {
        let started = Instant::now();
        let mut messages = Vec::new();
        while started.elapsed() < TIMEOUT {
            if let Some(packet) = self.next_packet(Duration::from_millis(200)) {
                assert_eq!(packet.packet_type, "messages");
                messages.extend(packet.body.messages);
                if done(&messages) {
                    return messages;
                }
            }
        }
        panic!(
            "no patch with {what} within {TIMEOUT:?}; got {messages:#?}\n--- server log:\n{}",
            session.log_text()
        );
    }
}

/// The served tree as read from `/api/read/{root}`.
pub struct ServedTree {
    pub root: String,
    pub response: ReadResponse,
}

impl ServedTree {
    /// The id at a `/`-separated name path from the root (`ReplicatedStorage/Util`).
    pub fn id(&self, path: &str) -> Option<String> {
        let mut current = self.root.clone();
        for name in path.split('/').filter(|s| !s.is_empty()) {
            let instance = &self.response.instances[&current];
            current = instance
                .children
                .iter()
                .find(|c| self.response.instances[*c].name == name)?
                .clone();
        }
        Some(current)
    }

    /// Like [`ServedTree::id`], panicking when the path does not exist.
    pub fn expect_id(&self, path: &str) -> String {
        self.id(path)
            .unwrap_or_else(|| panic!("no instance at {path}"))
    }

    /// The comparable form of the whole tree.
    pub fn node(&self) -> Node {
        Node::from_wire(&self.response, &self.root)
    }
}

/// An instance with its properties in normalized explicit form (Refs as name paths) and
/// its children in order: what the served tree and a build are compared on.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub name: String,
    pub class: String,
    pub properties: BTreeMap<String, Value>,
    pub children: Vec<Node>,
}

impl Node {
    /// From a built dom, without the values the server never sends (shared strings,
    /// properties plugins cannot write).
    pub fn from_dom(dom: &WeakDom, id: Ref) -> Node {
        let instance = dom.get_by_ref(id).unwrap();
        let class = instance.class.as_str();
        let properties = instance
            .properties
            .iter()
            .filter_map(|(key, value)| {
                if !atlas::serve::wire::plugin_uses(value.ty())
                    || !atlas::properties::plugin_can_write(class, key)
                {
                    return None;
                }
                let value = match value {
                    Variant::Ref(target) => ref_value(dom_path(dom, *target)),
                    other => normalize(atlas::properties::encode_explicit(other)),
                };
                Some((key.to_string(), value))
            })
            .collect();
        Node {
            name: instance.name.clone(),
            class: instance.class.to_string(),
            properties,
            children: instance
                .children()
                .iter()
                .map(|c| Node::from_dom(dom, *c))
                .collect(),
        }
    }

    /// From a read response.
    pub fn from_wire(response: &ReadResponse, id: &str) -> Node {
        let instance = &response.instances[id];
        let properties = instance
            .properties
            .iter()
            .map(|(key, value)| {
                let target = value
                    .as_object()
                    .filter(|o| o.len() == 1)
                    .and_then(|o| o.get("Ref"))
                    .and_then(Value::as_str);
                let value = match target {
                    Some(target) => ref_value(wire_path(response, target)),
                    None => normalize(value.clone()),
                };
                (key.clone(), value)
            })
            .collect();
        Node {
            name: instance.name.clone(),
            class: instance.class_name.clone(),
            properties,
            children: instance
                .children
                .iter()
                .map(|c| Node::from_wire(response, c))
                .collect(),
        }
    }

    /// Every difference to `other`, as readable lines.
    pub fn diff(&self, other: &Node) -> Vec<String> {
        let mut out = Vec::new();
        self.diff_into(other, &self.name, &mut out);
        out
    }

    fn diff_into(&self, other: &Node, at: &str, out: &mut Vec<String>) {
        if (self.name.as_str(), self.class.as_str()) != (other.name.as_str(), other.class.as_str())
        {
            out.push(format!(
                "{at}: {} ({}) != {} ({})",
                self.name, self.class, other.name, other.class
            ));
            return;
        }
        for key in self.properties.keys().chain(other.properties.keys()) {
            let (a, b) = (self.properties.get(key), other.properties.get(key));
            if a != b {
                out.push(format!("{at}.{key}: {a:?} != {b:?}"));
            }
        }
        let names = |n: &Node| {
            n.children
                .iter()
                .map(|c| c.name.clone())
                .collect::<Vec<_>>()
        };
        if self.children.len() != other.children.len() {
            out.push(format!(
                "{at}: children {:?} != {:?}",
                names(self),
                names(other)
            ));
            return;
        }
        for (a, b) in self.children.iter().zip(&other.children) {
            a.diff_into(b, &format!("{at}/{}", a.name), out);
        }
    }
}

fn ref_value(path: String) -> Value {
    Value::object([("Ref", Value::String(path))])
}

fn dom_path(dom: &WeakDom, target: Ref) -> String {
    if target.is_none() {
        return "nil".to_string();
    }
    if dom.get_by_ref(target).is_none() {
        return "<outside>".to_string();
    }
    let mut names: Vec<&str> = dom.ancestors_of(target).map(|i| i.name.as_str()).collect();
    names.reverse();
    names.join("/")
}

fn wire_path(response: &ReadResponse, target: &str) -> String {
    if target.bytes().all(|b| b == b'0') {
        return "nil".to_string();
    }
    let mut names = Vec::new();
    let mut current = target;
    while let Some(instance) = response.instances.get(current) {
        names.push(instance.name.as_str());
        current = &instance.parent;
    }
    if names.is_empty() {
        return "<outside>".to_string();
    }
    names.reverse();
    names.join("/")
}

/// Widens f32 to f64 and small unsigned integers to signed ones, so values that went
/// through msgpack compare equal to freshly encoded ones.
pub fn normalize(value: Value) -> Value {
    match value {
        Value::Float32(x) => Value::Float(f64::from(x)),
        Value::UInt(u) => match i64::try_from(u) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::UInt(u),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(normalize).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, normalize(v))).collect())
        }
        other => other,
    }
}
