//! Live syncback test helpers: building `POST /api/syncback` bodies the way the Studio
//! plugin does (docs/live-syncback-protocol.md), sending them to a real `atlas serve`,
//! waiting for the restarted session, running the CLI syncback on the same place for
//! comparison, and comparing project folders byte for byte.
//!
//! The request types here are written independently of the server's (`Serialize` only,
//! numbers as Luau doubles), so the tests check the wire format, not a shared struct.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use atlas::json_value::Value;
use atlas::serve::wire::ServerInfo;
use rbx_dom_weak::types::{Ref, Variant};
use rbx_dom_weak::{InstanceBuilder, WeakDom};
use serde::Serialize;

use super::serve_util::{try_http, HttpResponse, TestServe};

/// How long a restarted server gets to answer with a new session.
pub const RESTART_TIMEOUT: Duration = Duration::from_secs(30);

/// The 14 services the plugin sends, in its order (the server's list).
pub const SERVICES: [&str; 14] = atlas::syncback::VISIBLE_SERVICES;

/// The body of `POST /api/syncback`, as the plugin sends it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireRequest {
    /// Luau has only doubles: sent as a float.
    pub protocol_version: f64,
    pub server_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place_id: Option<f64>,
    pub services: Vec<WireChunk>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refs: Vec<WireRef>,
}

/// One service: the rbxm of its children and its own properties (explicit form).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireChunk {
    pub class_name: String,
    pub data: serde_bytes::ByteBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<Value>,
}

/// A Ref property that crosses a chunk boundary.
#[derive(Debug, Clone, Serialize)]
pub struct WireRef {
    pub source: WireLocation,
    pub property: String,
    pub target: WireLocation,
}

/// A service class name and child indexes below it.
#[derive(Debug, Clone, Serialize)]
pub struct WireLocation {
    pub service: String,
    pub path: Vec<f64>,
}

impl WireRequest {
    /// A request with these chunks; the versions are filled in when it is sent.
    pub fn new(services: Vec<WireChunk>) -> WireRequest {
        WireRequest {
            protocol_version: 0.0,
            server_version: String::new(),
            place_id: None,
            services,
            refs: Vec::new(),
        }
    }

    /// The msgpack body (named fields, as a Luau encoder writes a table).
    pub fn to_msgpack(&self) -> Vec<u8> {
        rmp_serde::to_vec_named(self).expect("encode the request")
    }

    /// Sets the versions the server reported.
    pub fn with_versions(mut self, info: &ServerInfo) -> WireRequest {
        self.protocol_version = f64::from(info.protocol_version);
        self.server_version = info.server_version.clone();
        self
    }
}

/// A chunk of `class` holding `children` (rbx_binary, as `SerializeInstancesAsync`
/// returns); empty data when there are none.
pub fn make_service_chunk(class: &str, children: Vec<InstanceBuilder>) -> WireChunk {
    let data = if children.is_empty() {
        Vec::new()
    } else {
        let mut dom = WeakDom::new(InstanceBuilder::new("Folder"));
        let root = dom.root_ref();
        for child in children {
            dom.insert(root, child);
        }
        let mut bytes = Vec::new();
        rbx_binary::to_writer(&mut bytes, &dom, dom.root().children()).expect("encode a chunk");
        bytes
    };
    WireChunk {
        class_name: class.to_string(),
        data: serde_bytes::ByteBuf::from(data),
        properties: None,
    }
}

/// A place: a DataModel with the given services and their children, in this order.
/// Builders may point at each other across services with `Variant::Ref(b.referent())`.
pub fn make_place(services: Vec<(&str, Vec<InstanceBuilder>)>) -> WeakDom {
    make_place_with(
        services
            .into_iter()
            .map(|(class, children)| (InstanceBuilder::new(class).with_name(class), children))
            .collect(),
    )
}

/// Like [`make_place`], with service builders (to give services properties).
pub fn make_place_with(services: Vec<(InstanceBuilder, Vec<InstanceBuilder>)>) -> WeakDom {
    let mut dom = WeakDom::new(InstanceBuilder::new("DataModel").with_name("Game"));
    let root = dom.root_ref();
    for (service, children) in services {
        let service = dom.insert(root, service);
        for child in children {
            dom.insert(service, child);
        }
    }
    dom
}

/// Luau has only doubles: every number becomes an f64 (Float32 values widen exactly).
pub fn as_luau_numbers(value: Value) -> Value {
    match value {
        Value::Int(i) => Value::Float(i as f64),
        Value::UInt(u) => Value::Float(u as f64),
        Value::Float32(f) => Value::Float(f64::from(f)),
        Value::Array(items) => Value::Array(items.into_iter().map(as_luau_numbers).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, as_luau_numbers(v)))
                .collect(),
        ),
        other => other,
    }
}

/// `GET /api/syncback/schema`, decoded loosely (what the plugin reads of it).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schema {
    pub services: Vec<String>,
    pub service_properties: BTreeMap<String, BTreeMap<String, String>>,
    pub ref_properties: BTreeMap<String, Vec<String>>,
}

/// The schema the server in this crate would hand out (without a running server).
pub fn local_schema() -> Schema {
    let schema = atlas::serve::live_syncback::schema();
    Schema {
        services: schema.services,
        service_properties: schema.service_properties,
        ref_properties: schema.ref_properties,
    }
}

/// Splits a place the way the plugin does: for each visible service present, the rbxm of
/// its children, its non-Ref properties in explicit form (only those the schema lists,
/// as Luau doubles), and every Ref listed in the schema whose source or target is a
/// service or which crosses services (targets outside the 14 services are skipped).
pub fn request_from_place(place: &WeakDom, schema: &Schema) -> WireRequest {
    let root = place.root();
    let mut present: HashMap<&str, Ref> = HashMap::new();
    for child in root.children() {
        let instance = place.get_by_ref(*child).unwrap();
        if schema
            .services
            .iter()
            .any(|s| *s == instance.class.as_str())
        {
            present.entry(instance.class.as_str()).or_insert(*child);
        }
    }
    // Where every instance below a sent service is: (service class, child indexes).
    let mut locations: HashMap<Ref, (String, Vec<f64>)> = HashMap::new();
    let mut chunks = Vec::new();
    for class in &schema.services {
        let Some(service_ref) = present.get(class.as_str()).copied() else {
            continue;
        };
        let service = place.get_by_ref(service_ref).unwrap();
        let mut stack = vec![(service_ref, Vec::<f64>::new())];
        while let Some((referent, path)) = stack.pop() {
            let instance = place.get_by_ref(referent).unwrap();
            for (index, child) in instance.children().iter().enumerate() {
                let mut child_path = path.clone();
                child_path.push(index as f64);
                stack.push((*child, child_path));
            }
            locations.insert(referent, (class.clone(), path));
        }
        let data = if service.children().is_empty() {
            Vec::new()
        } else {
            let mut bytes = Vec::new();
            rbx_binary::to_writer(&mut bytes, place, service.children()).expect("encode a chunk");
            bytes
        };
        let listed = schema.service_properties.get(class.as_str());
        let properties: BTreeMap<String, Value> = service
            .properties
            .iter()
            .filter(|(name, value)| {
                !matches!(value, Variant::Ref(_))
                    && listed.is_some_and(|listed| listed.contains_key(name.as_str()))
            })
            .map(|(name, value)| {
                (
                    name.to_string(),
                    as_luau_numbers(atlas::properties::encode_explicit(value)),
                )
            })
            .collect();
        chunks.push(WireChunk {
            class_name: class.clone(),
            data: serde_bytes::ByteBuf::from(data),
            properties: (!properties.is_empty()).then_some(Value::Object(properties)),
        });
    }
    let mut refs = Vec::new();
    let mut sources: Vec<(&Ref, &(String, Vec<f64>))> = locations.iter().collect();
    sources.sort_by(|a, b| (&a.1 .0, &a.1 .1).partial_cmp(&(&b.1 .0, &b.1 .1)).unwrap());
    for (source, (source_service, source_path)) in sources {
        let instance = place.get_by_ref(*source).unwrap();
        let Some(names) = schema.ref_properties.get(instance.class.as_str()) else {
            continue;
        };
        for name in names {
            let Some(Variant::Ref(target)) = instance.properties.get(&name.as_str().into()) else {
                continue;
            };
            let Some((target_service, target_path)) = locations.get(target) else {
                continue;
            };
            let crosses = source_path.is_empty()
                || target_path.is_empty()
                || source_service != target_service;
            if crosses {
                refs.push(WireRef {
                    source: WireLocation {
                        service: source_service.clone(),
                        path: source_path.clone(),
                    },
                    property: name.clone(),
                    target: WireLocation {
                        service: target_service.clone(),
                        path: target_path.clone(),
                    },
                });
            }
        }
    }
    let mut request = WireRequest::new(chunks);
    request.refs = refs;
    request
}

/// The place as a Studio plugin can see it: service properties that the schema does not
/// list (ones the reflection database does not know, which scripts in Studio cannot read
/// either) are removed. Returns the removed `Service.Property` names. Everything below the
/// services is unaffected: it travels inside the serialized chunks.
pub fn studio_visible(mut place: WeakDom, schema: &Schema) -> (WeakDom, Vec<String>) {
    let mut removed = Vec::new();
    let services: Vec<Ref> = place.root().children().to_vec();
    for service in services {
        let instance = place.get_by_ref_mut(service).unwrap();
        let class = instance.class.to_string();
        if !schema.services.contains(&class) {
            continue;
        }
        let listed = schema.service_properties.get(&class);
        let refs = schema.ref_properties.get(&class);
        let unreadable: Vec<_> = instance
            .properties
            .iter()
            .filter(|(name, value)| match value {
                Variant::Ref(_) => {
                    !refs.is_some_and(|refs| refs.iter().any(|r| r == name.as_str()))
                }
                _ => !listed.is_some_and(|listed| listed.contains_key(name.as_str())),
            })
            .map(|(name, _)| *name)
            .collect();
        for name in unreadable {
            instance.properties.remove(&name);
            removed.push(format!("{class}.{name}"));
        }
    }
    (place, removed)
}

/// The place file a set of chunks stands for: each chunk decoded under a real service
/// with its properties, cross refs applied; written as a binary place (.rbxl bytes).
pub fn make_rbxl_from_chunks(request: &WireRequest) -> Vec<u8> {
    let dom = dom_from_chunks(request);
    let mut bytes = Vec::new();
    rbx_binary::to_writer(&mut bytes, &dom, dom.root().children()).expect("encode the place");
    bytes
}

/// The DataModel a set of chunks stands for.
pub fn dom_from_chunks(request: &WireRequest) -> WeakDom {
    let mut dom = WeakDom::new(InstanceBuilder::new("DataModel").with_name("Game"));
    let root = dom.root_ref();
    let mut services = HashMap::new();
    for chunk in &request.services {
        let mut builder =
            InstanceBuilder::new(chunk.class_name.as_str()).with_name(chunk.class_name.as_str());
        if let Some(Value::Object(properties)) = &chunk.properties {
            for (name, value) in properties {
                let variant = atlas::properties::decode_property(&chunk.class_name, name, value)
                    .unwrap_or_else(|e| panic!("{}.{name}: {e}", chunk.class_name));
                builder.add_property(name.as_str(), variant);
            }
        }
        let service = dom.insert(root, builder);
        services.insert(chunk.class_name.clone(), service);
        if !chunk.data.is_empty() {
            let mut chunk_dom = rbx_binary::from_reader(chunk.data.as_slice()).expect("chunk");
            for child in chunk_dom.root().children().to_vec() {
                chunk_dom.transfer(child, &mut dom, service);
            }
        }
    }
    let locate = |dom: &WeakDom, location: &WireLocation| {
        let mut current = services[&location.service];
        for index in &location.path {
            current = dom.get_by_ref(current).unwrap().children()[*index as usize];
        }
        current
    };
    for cross in &request.refs {
        let source = locate(&dom, &cross.source);
        let target = locate(&dom, &cross.target);
        dom.get_by_ref_mut(source)
            .unwrap()
            .properties
            .insert(cross.property.as_str().into(), Variant::Ref(target));
    }
    dom
}

/// Writes a place as a binary .rbxl.
pub fn write_rbxl(path: &Path, place: &WeakDom) {
    let mut bytes = Vec::new();
    rbx_binary::to_writer(&mut bytes, place, place.root().children()).expect("encode the place");
    std::fs::write(path, bytes).unwrap();
}

/// `POST /api/syncback` with `Content-Type: application/msgpack` and `body` as is.
pub fn post_api_syncback_raw(server: &TestServe, body: &[u8]) -> HttpResponse {
    server.request(
        "POST",
        "/api/syncback",
        &[("Content-Type", "application/msgpack")],
        body,
    )
}

/// Sends `request` with the versions `GET /api/rojo` reports and panics unless the server
/// answers 200; returns the session id that was running (to wait for a new one).
pub fn post_api_syncback(server: &TestServe, request: WireRequest) -> String {
    let info = server.info();
    let request = request.with_versions(&info);
    let response = post_api_syncback_raw(server, &request.to_msgpack());
    assert_eq!(
        response.status,
        200,
        "live syncback refused: {:?}\n--- server log:\n{}",
        response.error_body(),
        server.log_text()
    );
    let body: BTreeMap<String, String> =
        rmp_serde::from_slice(&response.body).expect("msgpack answer");
    assert_eq!(
        body.get("status").map(String::as_str),
        Some("syncback_initiated")
    );
    info.session_id
}

/// Polls `GET /api/rojo` with backoff (25 ms doubling to 500 ms) until a session other
/// than `old_session_id` answers; panics with the server log after 30 s.
pub fn wait_to_come_back_online(server: &TestServe, old_session_id: &str) -> ServerInfo {
    let started = Instant::now();
    let mut delay = Duration::from_millis(25);
    let mut last = String::new();
    while started.elapsed() < RESTART_TIMEOUT {
        match try_http(server.port, "GET", "/api/rojo", &[], &[]) {
            Ok(response) if response.status == 200 => {
                match rmp_serde::from_slice::<ServerInfo>(&response.body) {
                    Ok(info) if info.session_id != old_session_id => return info,
                    Ok(_) => last = "the old session still answers".to_string(),
                    Err(e) => last = format!("bad body: {e}"),
                }
            }
            Ok(response) => last = format!("status {}", response.status),
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(500));
    }
    panic!(
        "the server did not come back within {RESTART_TIMEOUT:?} (last: {last})\n--- server log:\n{}",
        server.log_text()
    );
}

/// Sends a place split as the plugin does, waits for the new session and asserts the
/// syncback reported success; returns the new session's info.
pub fn live_syncback(server: &TestServe, request: WireRequest) -> ServerInfo {
    let old = post_api_syncback(server, request);
    let info = wait_to_come_back_online(server, &old);
    let last = info
        .last_syncback
        .as_ref()
        .unwrap_or_else(|| panic!("no lastSyncback in {info:?}"));
    assert!(
        last.ok,
        "live syncback failed: {:?}\n--- server log:\n{}",
        last.error,
        server.log_text()
    );
    info
}

/// A copy of a fixture synced with the CLI: `atlas syncback <dir> --input place.rbxl -y`.
pub struct CliSyncback {
    _temp: tempfile::TempDir,
    pub root: PathBuf,
    pub output: std::process::Output,
}

/// Copies `rojo-test/serve-tests/<fixture>` to a temporary folder (same folder name as
/// the serve harness uses), writes `place` next to it as `place.rbxl` and runs the real
/// binary's syncback on it; panics if the CLI fails.
pub fn run_cli_syncback(fixture: &str, place: &WeakDom) -> CliSyncback {
    let mut bytes = Vec::new();
    rbx_binary::to_writer(&mut bytes, place, place.root().children()).expect("encode the place");
    run_cli_syncback_on_rbxl(fixture, &bytes)
}

/// Like [`run_cli_syncback`], on the place file the chunks of `request` stand for
/// ([`make_rbxl_from_chunks`]): what the CLI makes of exactly the data the server received.
pub fn run_cli_syncback_on_chunks(fixture: &str, request: &WireRequest) -> CliSyncback {
    run_cli_syncback_on_rbxl(fixture, &make_rbxl_from_chunks(request))
}

fn run_cli_syncback_on_rbxl(fixture: &str, rbxl: &[u8]) -> CliSyncback {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path().canonicalize().unwrap().join(fixture);
    super::copy_dir(&fixture_dir(fixture), &root);
    let input = temp.path().join("place.rbxl");
    std::fs::write(&input, rbxl).unwrap();
    let output = Command::new(super::atlas_bin())
        .arg("syncback")
        .arg(&root)
        .arg("--input")
        .arg(&input)
        .arg("-y")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run atlas syncback");
    assert!(
        output.status.success(),
        "atlas syncback failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    CliSyncback {
        _temp: temp,
        root,
        output,
    }
}

/// `rojo-test/serve-tests/<fixture>`.
pub fn fixture_dir(fixture: &str) -> PathBuf {
    super::repo_root()
        .join("rojo-test")
        .join("serve-tests")
        .join(fixture)
}

/// Every file (with its bytes) and directory below `dir`, `.atlas/` excluded.
pub fn dir_contents(dir: &Path) -> (BTreeMap<PathBuf, Vec<u8>>, BTreeSet<PathBuf>) {
    let mut files = BTreeMap::new();
    let mut dirs = BTreeSet::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.unwrap();
        let relative = entry.path().strip_prefix(dir).unwrap().to_path_buf();
        if relative.starts_with(".atlas") || relative.as_os_str().is_empty() {
            continue;
        }
        if entry.file_type().is_dir() {
            dirs.insert(relative);
        } else {
            files.insert(relative, std::fs::read(entry.path()).unwrap());
        }
    }
    (files, dirs)
}

/// Every difference between two folders (files byte for byte, and directories), `.atlas/`
/// excluded; empty when they are equal.
pub fn dir_differences(a: &Path, b: &Path) -> Vec<String> {
    let (a_files, a_dirs) = dir_contents(a);
    let (b_files, b_dirs) = dir_contents(b);
    let mut out = Vec::new();
    for (path, bytes) in &a_files {
        match b_files.get(path) {
            None => out.push(format!("only in {}: {}", a.display(), path.display())),
            Some(other) if other != bytes => out.push(format!(
                "{} differs:\n--- {}\n{}\n--- {}\n{}",
                path.display(),
                a.display(),
                String::from_utf8_lossy(bytes),
                b.display(),
                String::from_utf8_lossy(other)
            )),
            Some(_) => {}
        }
    }
    for path in b_files.keys().filter(|p| !a_files.contains_key(*p)) {
        out.push(format!("only in {}: {}", b.display(), path.display()));
    }
    for path in a_dirs.symmetric_difference(&b_dirs) {
        let side = if a_dirs.contains(path) { a } else { b };
        out.push(format!(
            "directory only in {}: {}/",
            side.display(),
            path.display()
        ));
    }
    out
}

/// Panics listing every difference between the two folders.
pub fn assert_dirs_equal(a: &Path, b: &Path) {
    let differences = dir_differences(a, b);
    assert!(
        differences.is_empty(),
        "{} difference(s) between {} and {}:\n{}",
        differences.len(),
        a.display(),
        b.display(),
        differences.join("\n")
    );
}

/// The full CLI-parity check: the same place goes through the CLI (on a copy of the
/// fixture) and, split into chunks, through live syncback on `server`; both folders must
/// be equal byte for byte. Returns the CLI copy for further checks.
pub fn assert_live_matches_cli(server: &TestServe, fixture: &str, place: &WeakDom) -> CliSyncback {
    let cli = run_cli_syncback(fixture, place);
    let request = request_from_place(place, &local_schema());
    live_syncback(server, request);
    assert_dirs_equal(server.root(), &cli.root);
    cli
}

/// Reads one HTTP response (status and body) from a stream, `Connection: close`.
fn read_response(stream: &mut TcpStream) -> std::io::Result<(u16, Vec<u8>)> {
    let mut raw = Vec::new();
    match stream.read_to_end(&mut raw) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset && !raw.is_empty() => {}
        Err(e) => return Err(e),
    }
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no response head"))?;
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line: {head}")))?;
    Ok((status, raw[end + 4..].to_vec()))
}

/// Sends a msgpack POST to `/api/syncback` and calls `sent` once the whole body is in
/// the socket, before the answer is read; returns the status.
pub fn post_syncback_signalling(
    port: u16,
    body: &[u8],
    sent: impl FnOnce(),
) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(RESTART_TIMEOUT))?;
    let head = format!(
        "POST /api/syncback HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/msgpack\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()?;
    sent();
    read_response(&mut stream).map(|(status, _)| status)
}
