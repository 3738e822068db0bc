//! End-to-end tests of the Studio plugin against the real `atlas serve`.
//!
//! The plugin runs headless under Lune: `plugin-tests/e2e/*.luau` load the real plugin
//! modules (`plugin/src`, mounted as `Atlas` by `plugin-tests/lib`'s runtime) and talk to
//! the `atlas` binary over 127.0.0.1, exactly as Studio would.
//!
//! - Connect flow (issue #7): `ApiContext` + `ServeSession` + `Reconciler` sync a fresh
//!   DataModel from a served copy of `rojo-test/serve-tests/plugin_e2e`; the DataModel
//!   (dumped with `roblox.serializePlace`) must equal `atlas::build::build_project` of
//!   the same files, first after connecting, then after every edit, addition and
//!   deletion in the project.
//! - Live syncback (issue #8): `require(Atlas.Syncback).run(...)` with `game` being a
//!   place loaded with `roblox.deserializePlace` must leave the project folder byte for
//!   byte as `atlas syncback <copy> --input <same place> -y` leaves a fresh copy.
//!
//! These tests need `lune` (on `PATH`, in `~/.cargo/bin` or in `.tools/bin`) and the
//! plugin's packages (`scripts/install-plugin-packages.sh`). Without `lune` they print
//! why and pass; CI installs it (`scripts/test.sh`), so there they always run.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::live_syncback_util::{local_schema, studio_visible};
use common::tree::{compare_many, ref_path, CompareOptions};
use rbx_dom_weak::types::{Ref, Variant};
use rbx_dom_weak::{Instance, WeakDom};

/// How long the server, the plugin or a change may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// How long a whole live syncback may take (the plugin polls for up to 60 s itself).
const SYNCBACK_TIMEOUT: Duration = Duration::from_secs(120);

// ---------------------------------------------------------------------------------------
// Lune
// ---------------------------------------------------------------------------------------

/// `lune` from `PATH`, `~/.cargo/bin` or `.tools/bin`.
fn find_lune() -> Option<PathBuf> {
    let name = if cfg!(windows) { "lune.exe" } else { "lune" };
    let mut candidates = Vec::new();
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|dir| dir.join(name)));
    }
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join(".cargo").join("bin").join(name));
    }
    candidates.push(common::repo_root().join(".tools").join("bin").join(name));
    candidates.into_iter().find(|path| path.is_file())
}

/// The `lune` binary, or `None` after printing why the test is skipped. Panics when the
/// plugin's packages are missing (that is a setup error, not a reason to skip).
fn lune_or_skip(test: &str) -> Option<PathBuf> {
    let Some(lune) = find_lune() else {
        // CI installs Lune first (scripts/test.sh); there a missing Lune is a setup error
        // that must not pass as a skipped test.
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: `lune` was not found on PATH, in ~/.cargo/bin or in .tools/bin, and CI is set"
        );
        let message = format!(
            "SKIPPED {test}: `lune` was not found on PATH, in ~/.cargo/bin or in .tools/bin \
             (install it with scripts/install-tools.sh); the plugin end-to-end test did not run"
        );
        // Written to the stderr handle, not with `eprintln!`: the test harness captures
        // the print macros of passing tests, and this must be seen.
        let _ = writeln!(std::io::stderr(), "{message}");
        return None;
    };
    let packages = common::repo_root().join("plugin").join("Packages");
    assert!(
        packages.join("Promise").is_dir() && packages.join("Roact").is_dir(),
        "{} is missing: run `bash scripts/install-plugin-packages.sh` first",
        packages.display()
    );
    Some(lune)
}

/// A line the Lune script printed for the test: `E2E <word> <text>`.
#[derive(Debug)]
struct Said {
    word: String,
    text: String,
}

/// A running `lune run plugin-tests/e2e/<script>`. Killed when dropped.
struct LuneScript {
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    said: Receiver<Said>,
    /// Everything it printed to stdout, for failure messages.
    transcript: Arc<Mutex<String>>,
    stderr: PathBuf,
    /// `E2E applyError` lines seen so far (changes the Reconciler could not apply).
    apply_errors: Vec<String>,
}

impl LuneScript {
    fn start(lune: &Path, script: &str, args: &[String], stderr: PathBuf) -> LuneScript {
        let mut child = Command::new(lune)
            .arg("run")
            .arg(script)
            .arg("--")
            .args(args)
            .current_dir(common::repo_root())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", lune.display()));
        let stdout = child.stdout.take().unwrap();
        let stdin = child.stdin.take();
        let transcript = Arc::new(Mutex::new(String::new()));
        let (sender, said) = std::sync::mpsc::channel();
        let copy = transcript.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if !line.starts_with("E2E dumped") {
                    copy.lock().unwrap().push_str(&format!("{line}\n"));
                }
                if let Some(rest) = line.strip_prefix("E2E ") {
                    let (word, text) = rest.split_once(' ').unwrap_or((rest, ""));
                    let said = Said {
                        word: word.to_string(),
                        text: text.replace("\\n", "\n"),
                    };
                    if sender.send(said).is_err() {
                        break;
                    }
                }
            }
        });
        LuneScript {
            child: Some(child),
            stdin,
            said,
            transcript,
            stderr,
            apply_errors: Vec::new(),
        }
    }

    /// What the script printed so far (stdout and stderr).
    fn output(&self) -> String {
        format!(
            "--- lune stdout:\n{}--- lune stderr:\n{}",
            self.transcript.lock().unwrap(),
            std::fs::read_to_string(&self.stderr).unwrap_or_default()
        )
    }

    /// Waits for `E2E <word> ...` and returns its text. Fails on `E2E error`, on
    /// `E2E disconnected`, when the script exits first, or after `timeout`.
    fn expect(&mut self, word: &str, timeout: Duration) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.said.recv_timeout(left) {
                Ok(said) if said.word == word => return Ok(said.text),
                Ok(said) if said.word == "applyError" => self.apply_errors.push(said.text),
                Ok(said) if said.word == "error" || said.word == "disconnected" => {
                    return Err(format!(
                        "the plugin reported `{} {}` while the test waited for `{word}`\n{}",
                        said.word,
                        said.text,
                        self.output()
                    ))
                }
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "no `{word}` from the plugin within {timeout:?}\n{}",
                        self.output()
                    ))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.wait_exit(Duration::from_secs(5));
                    return Err(format!(
                        "the Lune script ended ({status:?}) before `{word}`\n{}",
                        self.output()
                    ));
                }
            }
        }
    }

    /// Sends one command line.
    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        writeln!(stdin, "{line}").expect("write to lune");
        stdin.flush().unwrap();
    }

    /// Waits for the script to exit (killing it after `timeout`).
    fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        self.stdin = None;
        let child = self.child.as_mut()?;
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        child.wait().ok()
    }
}

impl Drop for LuneScript {
    fn drop(&mut self) {
        self.stdin = None;
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------
// atlas serve
// ---------------------------------------------------------------------------------------

/// A port nobody listens on right now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A running `atlas serve <root> --port <free port>`. Killed when dropped.
struct Server {
    port: u16,
    child: Option<Child>,
    log: PathBuf,
}

impl Server {
    fn start(root: &Path, log: PathBuf) -> Server {
        let mut server = Server {
            port: 0,
            child: None,
            log,
        };
        for _ in 0..3 {
            server.port = free_port();
            let out = std::fs::File::create(&server.log).unwrap();
            let err = out.try_clone().unwrap();
            let child = Command::new(common::atlas_bin())
                .arg("serve")
                .arg(root)
                .arg("--port")
                .arg(server.port.to_string())
                .arg("-v")
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .spawn()
                .expect("start atlas serve");
            server.child = Some(child);
            if server.wait_online() {
                return server;
            }
            if let Some(mut child) = server.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
            if !server.log_text().contains("in use") {
                panic!("atlas serve did not come up:\n{}", server.log_text());
            }
        }
        panic!("no free port for atlas serve:\n{}", server.log_text());
    }

    fn wait_online(&mut self) -> bool {
        let started = Instant::now();
        while started.elapsed() < TIMEOUT {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(_)) = child.try_wait() {
                    return false;
                }
            }
            if matches!(self.info(), Ok(Some(_))) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `GET /api/rojo` as JSON: `Ok(None)` when it answers with something else than 200.
    fn info(&self) -> std::io::Result<Option<serde_json::Value>> {
        let (status, body) = http_get(self.port, "/api/rojo")?;
        if status != 200 {
            return Ok(None);
        }
        Ok(serde_json::from_slice(&body).ok())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `GET path` on 127.0.0.1 asking for JSON; returns the status and the body.
fn http_get(port: u16, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    match stream.read_to_end(&mut raw) {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset && !raw.is_empty() => {}
        Err(e) => return Err(e),
    }
    let bad =
        || std::io::Error::other(format!("bad response: {:?}", String::from_utf8_lossy(&raw)));
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(bad)?;
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    let mut body = raw[end + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body).ok_or_else(bad)?;
    }
    Ok((status, body))
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

// ---------------------------------------------------------------------------------------
// Connect flow
// ---------------------------------------------------------------------------------------

/// The fixture's served copy, the server and the plugin following it.
struct ConnectSession {
    _temp: tempfile::TempDir,
    root: PathBuf,
    dumps: PathBuf,
    dump_count: usize,
    server: Server,
    plugin: LuneScript,
}

impl ConnectSession {
    fn start(lune: &Path, fixture: &str) -> ConnectSession {
        let temp = tempfile::tempdir().unwrap();
        let base = temp.path().canonicalize().unwrap();
        let root = base.join("project");
        common::copy_dir(
            &common::repo_root()
                .join("rojo-test")
                .join("serve-tests")
                .join(fixture),
            &root,
        );
        let dumps = base.join("dumps");
        std::fs::create_dir_all(&dumps).unwrap();
        let server = Server::start(&root, base.join("serve.log"));
        let plugin = LuneScript::start(
            lune,
            "plugin-tests/e2e/serve.luau",
            &["--port".to_string(), server.port.to_string()],
            base.join("lune.stderr"),
        );
        let mut session = ConnectSession {
            _temp: temp,
            root,
            dumps,
            dump_count: 0,
            server,
            plugin,
        };
        if let Err(message) = session.plugin.expect("ready", TIMEOUT) {
            session.fail(&message);
        }
        session
    }

    fn fail(&self, message: &str) -> ! {
        panic!(
            "{message}\n--- atlas serve log:\n{}",
            self.server.log_text()
        );
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    fn write(&self, relative: &str, contents: &str) {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    /// The plugin's DataModel right now.
    fn dump(&mut self) -> WeakDom {
        self.dump_count += 1;
        let path = self.dumps.join(format!("dump{}.rbxl", self.dump_count));
        self.plugin.send(&format!("dump {}", path.display()));
        if let Err(message) = self.plugin.expect("dumped", TIMEOUT) {
            self.fail(&message);
        }
        let bytes = std::fs::read(&path).unwrap();
        let mut dom: WeakDom = rbx_binary::from_reader(bytes.as_slice())
            .unwrap_or_else(|e| panic!("the dump {} does not decode: {e}", path.display()));
        normalize_harness_limits(&mut dom);
        dom
    }

    /// A fresh build of the served files, saved and loaded with rbx_binary as the dump
    /// is (see [`synced_differences`]).
    fn build(&self) -> WeakDom {
        let project = atlas::project::load(&self.root).unwrap();
        let built = atlas::build::build_project(&atlas::vfs::Vfs::new_default(), &project)
            .unwrap_or_else(|e| panic!("building {}: {e}", self.root.display()))
            .dom;
        let mut bytes = Vec::new();
        rbx_binary::to_writer(&mut bytes, &built, built.root().children()).unwrap();
        let mut dom: WeakDom = rbx_binary::from_reader(bytes.as_slice()).unwrap();
        normalize_harness_limits(&mut dom);
        dom
    }

    /// Waits until the plugin's DataModel equals a fresh build and `check` accepts it;
    /// panics with every difference after [`TIMEOUT`].
    fn assert_synced(
        &mut self,
        what: &str,
        options: CompareOptions,
        check: impl Fn(&WeakDom) -> Vec<String>,
    ) {
        let started = Instant::now();
        loop {
            let synced = self.dump();
            let built = self.build();
            let mut problems = synced_differences(&built, &synced, options);
            problems.extend(check(&synced));
            if problems.is_empty() && self.plugin.apply_errors.is_empty() {
                return;
            }
            if started.elapsed() > TIMEOUT {
                self.fail(&format!(
                    "{what}: the plugin's DataModel does not match a fresh build after {TIMEOUT:?} \
                     (left: build, right: plugin):\n  {}\nchanges the plugin could not apply: {:#?}\n{}",
                    problems.join("\n  "),
                    self.plugin.apply_errors,
                    self.plugin.output()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Every difference between the built tree and the plugin's DataModel, service by
/// service (names, classes, children, properties; Refs compared by where they point).
///
/// Documented harness limits, and nothing else, are allowed for:
/// - the plugin's DataModel holds the services of a fresh Studio place that the project
///   does not map (Players, TestService, CoreGui, ...): only the project's services are
///   compared, and the DataModel's own properties are not (the plugin never changes
///   them);
/// - a property missing on one side equals its class default (Lune writes only the
///   properties an instance has, the build only the ones the files set);
/// - the DataModel leaves Lune as an rbxl file (`roblox.serializePlace`), so the build is
///   saved and loaded with rbx_binary too before comparing: both sides get the file
///   format's conversions (`BasePart.Color` stored as `Color3uint8`, `BrickColor` as
///   that colour, attribute strings read back as `BinaryString`);
/// - attribute numbers are compared as Float64 and duplicate tags as one
///   ([`normalize_harness_limits`]).
fn synced_differences(built: &WeakDom, synced: &WeakDom, options: CompareOptions) -> Vec<String> {
    let mut out = Vec::new();
    let mut pairs = Vec::new();
    for service in built.root().children() {
        let instance = built.get_by_ref(*service).unwrap();
        let found = synced.root().children().iter().copied().find(|c| {
            let other = synced.get_by_ref(*c).unwrap();
            other.name == instance.name && other.class == instance.class
        });
        match found {
            Some(other) => pairs.push((*service, other)),
            None => out.push(format!(
                "service {} ({}) is missing in the plugin's DataModel",
                instance.name, instance.class
            )),
        }
    }
    out.extend(compare_many(built, synced, &pairs, options));
    out
}

/// Applied to both sides before comparing:
/// - attribute numbers as Float64 and attribute strings as BinaryString: Lune stores a
///   whole number given to `SetAttribute` as an Int32 and its rbxm writer saves that as
///   a Float32 attribute (Studio stores every attribute number as Float64), and
///   rbx_binary reads attribute strings back as BinaryString;
/// - each tag once: Lune's `AddTag` appends a tag the instance already has (Roblox's
///   does nothing then), and the Reconciler re-adds the kept tags when `Tags` changes.
fn normalize_harness_limits(dom: &mut WeakDom) {
    let referents: Vec<Ref> = dom.descendants().map(|i| i.referent()).collect();
    for referent in referents {
        let instance = dom.get_by_ref_mut(referent).unwrap();
        if let Some(Variant::Tags(tags)) = instance.properties.get_mut(&"Tags".into()) {
            let mut unique: Vec<&str> = Vec::new();
            for tag in tags.iter() {
                if !unique.contains(&tag) {
                    unique.push(tag);
                }
            }
            let unique: rbx_dom_weak::types::Tags = unique
                .into_iter()
                .map(str::to_string)
                .collect::<Vec<_>>()
                .into();
            *tags = unique;
        }
        if let Some(Variant::Attributes(attributes)) =
            instance.properties.get_mut(&"Attributes".into())
        {
            let mut normalized = rbx_dom_weak::types::Attributes::new();
            for (name, value) in attributes.iter() {
                let value = match value {
                    Variant::Float32(x) => Variant::Float64(f64::from(*x)),
                    Variant::Int32(x) => Variant::Float64(f64::from(*x)),
                    Variant::String(text) => Variant::BinaryString(text.as_bytes().to_vec().into()),
                    other => other.clone(),
                };
                normalized.insert(name.clone(), value);
            }
            *attributes = normalized;
        }
    }
}

/// The instance at `Service/Child/...` below the root.
fn find<'a>(dom: &'a WeakDom, path: &str) -> Option<&'a Instance> {
    let mut current = dom.root();
    for name in path.split('/') {
        current = current
            .children()
            .iter()
            .map(|c| dom.get_by_ref(*c).unwrap())
            .find(|i| i.name == name)?;
    }
    Some(current)
}

/// A check that `path` exists and `property` satisfies `test` (described by `what`).
fn expect_property(
    dom: &WeakDom,
    path: &str,
    property: &str,
    what: &str,
    test: impl Fn(Option<&Variant>) -> bool,
) -> Vec<String> {
    match find(dom, path) {
        None => vec![format!("{path} does not exist in the plugin's DataModel")],
        Some(instance) => {
            let value = instance.properties.get(&property.into());
            if test(value) {
                Vec::new()
            } else {
                vec![format!("{path}.{property} is {value:?}, expected {what}")]
            }
        }
    }
}

/// The path (below the root) a Ref property points at.
fn ref_target(dom: &WeakDom, path: &str, property: &str) -> Option<String> {
    let instance = find(dom, path)?;
    match instance.properties.get(&property.into()) {
        Some(Variant::Ref(target)) if target.is_some() => {
            let full = ref_path(dom, *target);
            Some(
                full.split_once('/')
                    .map(|(_, rest)| rest.to_string())
                    .unwrap_or(full),
            )
        }
        _ => None,
    }
}

fn expect_ref(dom: &WeakDom, path: &str, property: &str, target: &str) -> Vec<String> {
    let actual = ref_target(dom, path, property);
    if actual.as_deref() == Some(target) {
        Vec::new()
    } else {
        vec![format!(
            "{path}.{property} points at {actual:?}, expected {target}"
        )]
    }
}

fn expect_missing(dom: &WeakDom, path: &str) -> Vec<String> {
    match find(dom, path) {
        Some(_) => vec![format!("{path} still exists in the plugin's DataModel")],
        None => Vec::new(),
    }
}

fn expect_class(dom: &WeakDom, path: &str, class: &str) -> Vec<String> {
    match find(dom, path) {
        Some(i) if i.class == class => Vec::new(),
        Some(i) => vec![format!("{path} is a {}, expected a {class}", i.class)],
        None => vec![format!("{path} does not exist in the plugin's DataModel")],
    }
}

fn is_string(value: Option<&Variant>, expected: &str) -> bool {
    matches!(value, Some(Variant::String(s)) if s == expected)
}

/// Children are compared as sets (by name and class). The plugin gives siblings no
/// defined order: instances added under an existing parent (a service on the first sync,
/// any parent later) are created in the iteration order of the patch's `added` map, and
/// later additions come after their older siblings, while a build orders children by
/// file name. Studio's child order carries no meaning either.
const UNORDERED: CompareOptions = CompareOptions {
    unordered_children: true,
    missing_is_default: true,
};

#[test]
fn plugin_connects_syncs_the_project_and_follows_file_changes() {
    let Some(lune) = lune_or_skip("plugin_connects_syncs_the_project_and_follows_file_changes")
    else {
        return;
    };
    let mut session = ConnectSession::start(&lune, "plugin_e2e");

    // The first sync: everything, in the build's order, with the fixture's specifics.
    session.assert_synced("the first sync", UNORDERED, |dom| {
        let mut problems = Vec::new();
        problems.extend(expect_ref(
            dom,
            "Workspace/Map/Pointer",
            "Value",
            "Workspace/Map/Floor",
        ));
        problems.extend(expect_ref(
            dom,
            "Workspace/Map/House",
            "PrimaryPart",
            "Workspace/Map/House/Door",
        ));
        problems.extend(expect_ref(
            dom,
            "ServerStorage/Spawner",
            "Value",
            "Workspace/Map/House/Door",
        ));
        problems.extend(expect_class(
            dom,
            "StarterPlayer/StarterPlayerScripts/Input",
            "LocalScript",
        ));
        problems.extend(expect_property(
            dom,
            "Workspace",
            "Gravity",
            "100",
            |v| matches!(v, Some(Variant::Float32(g)) if *g == 100.0),
        ));
        problems.extend(expect_property(
            dom,
            "Lighting",
            "ClockTime",
            "6.5",
            |v| matches!(v, Some(Variant::Float32(t)) if *t == 6.5),
        ));
        problems
    });

    // Edit a script.
    session.write("src/shared/Util.luau", "return {\n\tanswer = 43,\n}\n");
    session.assert_synced("editing Util.luau", UNORDERED, |dom| {
        expect_property(
            dom,
            "ReplicatedStorage/Util",
            "Source",
            "the new source",
            |v| is_string(v, "return {\n\tanswer = 43,\n}\n"),
        )
    });

    // Add a script, and a folder holding a module.
    session.write("src/shared/Added.server.luau", "print(\"added\")\n");
    session.write("src/shared/Tools/Hammer.luau", "return \"hammer\"\n");
    session.assert_synced("adding files", UNORDERED, |dom| {
        let mut problems = expect_class(dom, "ReplicatedStorage/Added", "Script");
        problems.extend(expect_class(dom, "ReplicatedStorage/Tools", "Folder"));
        problems.extend(expect_property(
            dom,
            "ReplicatedStorage/Tools/Hammer",
            "Source",
            "the module",
            |v| is_string(v, "return \"hammer\"\n"),
        ));
        problems
    });

    // Delete a file and a folder.
    std::fs::remove_file(session.path("src/shared/Message.txt")).unwrap();
    std::fs::remove_dir_all(session.path("src/shared/Lib")).unwrap();
    session.assert_synced("deleting files", UNORDERED, |dom| {
        let mut problems = expect_missing(dom, "ReplicatedStorage/Message");
        problems.extend(expect_missing(dom, "ReplicatedStorage/Lib"));
        problems
    });

    // Change a model's properties (one removed: reset to its default) and a reference.
    session.write(
        "src/map/Floor.model.json5",
        "{\n  className: \"Part\",\n  properties: {\n    Anchored: true,\n    Size: [20, 1, 20],\n    \
         CFrame: [0, -0.5, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1],\n    Color: [0.8, 0.1, 0.1],\n    \
         Material: \"Wood\",\n  },\n  attributes: {\n    Kind: \"stage\",\n  },\n}\n",
    );
    session.write(
        "src/map/Pointer.model.json5",
        "{\n  className: \"ObjectValue\",\n  attributes: {\n    Rojo_Ref_Value: \"./House.model.json5/Roof\",\n  },\n}\n",
    );
    session.assert_synced("editing models", UNORDERED, |dom| {
        let mut problems = expect_property(
            dom,
            "Workspace/Map/Floor",
            "Transparency",
            "the default 0",
            |v| matches!(v, None | Some(Variant::Float32(0.0))),
        );
        problems.extend(expect_property(
            dom,
            "Workspace/Map/Floor",
            "Size",
            "20, 1, 20",
            |v| matches!(v, Some(Variant::Vector3(s)) if s.x == 20.0 && s.z == 20.0),
        ));
        problems.extend(expect_ref(
            dom,
            "Workspace/Map/Pointer",
            "Value",
            "Workspace/Map/House/Roof",
        ));
        problems
    });

    // Attributes and tags from a meta file.
    session.write(
        "src/shared/Util.meta.json5",
        "{\n  attributes: {\n    Enabled: false,\n    Level: 4,\n  },\n  properties: {\n    Tags: [\"Shared\"],\n  },\n}\n",
    );
    session.assert_synced("editing a meta file", UNORDERED, |dom| {
        expect_property(
            dom,
            "ReplicatedStorage/Util",
            "Attributes",
            "Enabled false, Level 4",
            |v| {
                matches!(v, Some(Variant::Attributes(a))
                if a.len() == 2 && a.get("Level") == Some(&Variant::Float64(4.0)))
            },
        )
    });

    // A script changes kind (LocalScript -> Script), another is renamed.
    std::fs::rename(
        session.path("src/client/Input.local.luau"),
        session.path("src/client/Input.client.luau"),
    )
    .unwrap();
    std::fs::rename(
        session.path("src/client/Camera.client.luau"),
        session.path("src/client/CameraController.client.luau"),
    )
    .unwrap();
    session.assert_synced("renaming scripts", UNORDERED, |dom| {
        let mut problems = expect_class(dom, "StarterPlayer/StarterPlayerScripts/Input", "Script");
        problems.extend(expect_missing(
            dom,
            "StarterPlayer/StarterPlayerScripts/Camera",
        ));
        problems.extend(expect_class(
            dom,
            "StarterPlayer/StarterPlayerScripts/CameraController",
            "Script",
        ));
        problems
    });

    // The project file itself: service properties and a new mapped child.
    let project = std::fs::read_to_string(session.path("default.project.json5")).unwrap();
    let project = project
        .replace("Gravity: 100,", "Gravity: 55.5,")
        .replace("ClockTime: 6.5,", "ClockTime: 20,")
        .replace(
            "      Map: {\n",
            "      Extra: {\n        $className: \"Folder\",\n      },\n      Map: {\n",
        );
    session.write("default.project.json5", &project);
    session.assert_synced("editing the project file", UNORDERED, |dom| {
        let mut problems = expect_property(
            dom,
            "Workspace",
            "Gravity",
            "55.5",
            |v| matches!(v, Some(Variant::Float32(g)) if *g == 55.5),
        );
        problems.extend(expect_property(
            dom,
            "Lighting",
            "ClockTime",
            "20",
            |v| matches!(v, Some(Variant::Float32(t)) if *t == 20.0),
        ));
        problems.extend(expect_class(dom, "Workspace/Extra", "Folder"));
        problems
    });

    session.plugin.send("quit");
    let status = session.plugin.wait_exit(TIMEOUT);
    assert!(
        matches!(status, Some(s) if s.success()),
        "the Lune script did not quit cleanly ({status:?})\n{}",
        session.plugin.output()
    );
}

// ---------------------------------------------------------------------------------------
// Live syncback
// ---------------------------------------------------------------------------------------

/// Every file below `dir` but the `.atlas/` backup folder, with its bytes; directories
/// map to `None`.
fn tree_bytes(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.unwrap();
        let relative = entry.path().strip_prefix(dir).unwrap().to_path_buf();
        if relative.starts_with(".atlas") || relative.as_os_str().is_empty() {
            continue;
        }
        let bytes = entry
            .file_type()
            .is_file()
            .then(|| std::fs::read(entry.path()).unwrap());
        out.insert(relative, bytes);
    }
    out
}

/// Every difference between two project folders (missing, extra and changed entries).
fn folder_differences(expected: &Path, actual: &Path, skip: &[&str]) -> Vec<String> {
    let expected = tree_bytes(expected);
    let actual = tree_bytes(actual);
    let skipped = |path: &Path| skip.iter().any(|s| path == Path::new(s));
    let mut out = Vec::new();
    for (path, bytes) in &expected {
        if skipped(path) {
            continue;
        }
        match actual.get(path) {
            None => out.push(format!("missing {}", path.display())),
            Some(other) if other != bytes => out.push(format!(
                "{} differs\n--- expected (CLI)\n{}\n--- actual (live)\n{}",
                path.display(),
                String::from_utf8_lossy(bytes.as_deref().unwrap_or(b"<directory>")),
                String::from_utf8_lossy(other.as_deref().unwrap_or(b"<directory>"))
            )),
            Some(_) => {}
        }
    }
    for path in actual.keys() {
        if !expected.contains_key(path) && !skipped(path) {
            out.push(format!("unexpected {}", path.display()));
        }
    }
    out
}

/// The place as Studio has it open: old place files still carry service properties
/// that Roblox has since removed (`StarterPlayer.GameSettingsAssetIDFace`,
/// `Workspace.ModelInPrimary`, `Lighting.LegacyOutlines`, ...). Studio drops properties
/// it does not know when it opens a place, and a plugin can only read a service's
/// properties by name, from the schema the server derives from the reflection
/// database, so live syncback can never send them, while the CLI, reading the file,
/// writes them into the project file's `$properties`. (Properties of the services'
/// descendants are unaffected: they travel inside the serialized chunks.)
///
/// Returns the place with the service properties the schema does not list removed
/// (`studio_visible`, written to `dir`) and the removed `Service.Property` names; the
/// unchanged path when there are none.
fn studio_equivalent(place: &Path, dir: &Path) -> (PathBuf, Vec<String>) {
    let dom = atlas::place_file::read(place).unwrap_or_else(|e| panic!("{e}"));
    let (dom, removed) = studio_visible(dom, &local_schema());
    if removed.is_empty() {
        return (place.to_path_buf(), removed);
    }
    let path = dir.join("studio-equivalent.rbxl");
    atlas::place_file::write(&path, &dom).unwrap();
    (path, removed)
}

/// `atlas syncback <dir> --input <place> -y`.
fn cli_syncback(dir: &Path, place: &Path) {
    let output = Command::new(common::atlas_bin())
        .arg("syncback")
        .arg(dir)
        .arg("--input")
        .arg(place)
        .arg("-y")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "atlas syncback {} --input {} failed:\n{}{}",
        dir.display(),
        place.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

const SYNCBACK_FIXTURE: &str = "plugin_e2e_syncback";

fn copy_fixture(to: &Path) {
    common::copy_dir(
        &common::repo_root()
            .join("rojo-test")
            .join("serve-tests")
            .join(SYNCBACK_FIXTURE),
        to,
    );
}

/// Runs the plugin's live syncback of `place` into a served copy of the fixture and the
/// CLI's syncback of the same place into another copy; returns the live project folder
/// (inside `temp`) or every difference.
fn syncback_parity(lune: &Path, place: &Path, temp: &Path) -> Result<PathBuf, String> {
    let (input, removed) = studio_equivalent(place, temp);

    let cli = temp.join("cli");
    copy_fixture(&cli);
    cli_syncback(&cli, &input);

    if !removed.is_empty() {
        // The adjustment touches the project file's service `$properties` only.
        let original = temp.join("cli-original");
        copy_fixture(&original);
        cli_syncback(&original, place);
        let differences = folder_differences(&original, &cli, &["default.project.json5"]);
        if !differences.is_empty() {
            return Err(format!(
                "removing the unknown service properties {removed:?} changed more than the project file:\n{}",
                differences.join("\n")
            ));
        }
    }

    let live = temp.join("live");
    copy_fixture(&live);
    let server = Server::start(&live, temp.join("serve.log"));
    let old_session = server
        .info()
        .ok()
        .flatten()
        .and_then(|info| info["sessionId"].as_str().map(str::to_string));
    let mut plugin = LuneScript::start(
        lune,
        "plugin-tests/e2e/syncback.luau",
        &[
            "--port".to_string(),
            server.port.to_string(),
            "--place".to_string(),
            input.display().to_string(),
        ],
        temp.join("lune.stderr"),
    );
    let with_log =
        |message: String| format!("{message}\n--- atlas serve log:\n{}", server.log_text());
    let result = plugin
        .expect("result", SYNCBACK_TIMEOUT)
        .map_err(with_log)?;
    if !result.starts_with("completed ") {
        return Err(with_log(format!(
            "the plugin reported `{result}`\n{}",
            plugin.output()
        )));
    }
    let status = plugin.wait_exit(TIMEOUT);
    if !matches!(status, Some(s) if s.success()) {
        return Err(with_log(format!(
            "the Lune script failed ({status:?})\n{}",
            plugin.output()
        )));
    }

    // The server is back on the same port with a new session reporting the syncback.
    let info = server.info().ok().flatten().unwrap_or_default();
    if info["sessionId"].as_str().map(str::to_string) == old_session
        || info["lastSyncback"]["ok"] != serde_json::Value::Bool(true)
    {
        return Err(with_log(format!(
            "after the syncback the server answers {info} (old session {old_session:?})"
        )));
    }
    drop(server);

    let differences = folder_differences(&cli, &live, &[]);
    if !differences.is_empty() {
        return Err(format!(
            "the live syncback differs from `atlas syncback` (service properties removed from the input as \
             Studio would: {removed:?}):\n{}\n{}",
            differences.join("\n"),
            plugin.output()
        ));
    }
    Ok(live)
}

#[test]
fn live_syncback_equals_cli_syncback_for_every_corpus_place() {
    let Some(lune) = lune_or_skip("live_syncback_equals_cli_syncback_for_every_corpus_place")
    else {
        return;
    };
    let mut places: Vec<PathBuf> = std::fs::read_dir(common::corpus_dir().join("places"))
        .unwrap()
        .map(|e| e.unwrap().path().join("binary.rbxl"))
        .filter(|p| p.is_file())
        .collect();
    places.sort();
    assert!(!places.is_empty(), "no corpus places found");
    let mut failures = Vec::new();
    for place in &places {
        let temp = tempfile::tempdir().unwrap();
        if let Err(message) = syncback_parity(&lune, place, &temp.path().canonicalize().unwrap()) {
            failures.push(format!("{}:\n{message}", place.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} places differ:\n{}",
        failures.len(),
        places.len(),
        failures.join("\n\n")
    );
}

/// A place with what per-service chunks alone would lose: non-default service
/// properties (numbers, a bool, a colour, an enum, tags, attributes), references across
/// services, to a service (`Sun`), and from a service (`Workspace.CurrentCamera`, whose
/// camera syncback drops on both sides).
fn made_up_place() -> WeakDom {
    use rbx_dom_weak::types::{Attributes, CFrame, Color3, Enum, Matrix3, Tags, Vector3};
    use rbx_dom_weak::InstanceBuilder;

    let part = |name: &str, x: f32| {
        InstanceBuilder::new("Part")
            .with_name(name)
            .with_property("Anchored", true)
            .with_property("Size", Vector3::new(4.0, 1.0, 2.0))
            .with_property(
                "CFrame",
                CFrame::new(Vector3::new(x, 2.0, 0.0), Matrix3::identity()),
            )
    };
    let target = part("Target", 5.0);
    let target_ref = target.referent();
    let base = part("Base", -5.0);
    let base_ref = base.referent();
    let tower = InstanceBuilder::new("Model")
        .with_name("Tower")
        .with_property("PrimaryPart", Variant::Ref(base_ref))
        .with_child(base)
        .with_child(part("Top", -5.0));
    let camera = InstanceBuilder::new("Camera").with_name("Camera");
    let camera_ref = camera.referent();
    let workspace = InstanceBuilder::new("Workspace")
        .with_name("Workspace")
        .with_property("Gravity", 50.0f32)
        .with_property("StreamingEnabled", true)
        .with_property(
            "Tags",
            Tags::from(vec!["Level".to_string(), "Arena".to_string()]),
        )
        .with_property("CurrentCamera", Variant::Ref(camera_ref))
        .with_child(camera)
        .with_child(target)
        .with_child(tower);

    let lighting = InstanceBuilder::new("Lighting")
        .with_name("Lighting")
        .with_property("ClockTime", 18.25f32)
        .with_property("Brightness", 1.5f32)
        .with_property("Ambient", Color3::new(0.25, 0.5, 0.75))
        .with_property("Technology", Enum::from_u32(4))
        .with_child(InstanceBuilder::new("Sky").with_name("Sky"));
    let lighting_ref = lighting.referent();

    let link = InstanceBuilder::new("ObjectValue")
        .with_name("Link")
        .with_property("Value", Variant::Ref(target_ref));
    let link_ref = link.referent();
    let mut attributes = Attributes::new();
    attributes.insert("Version".to_string(), Variant::Float64(3.0));
    attributes.insert("Owner".to_string(), Variant::String("atlas".to_string()));
    let storage = InstanceBuilder::new("ServerStorage")
        .with_name("ServerStorage")
        .with_property("Attributes", attributes)
        .with_child(link)
        .with_child(
            InstanceBuilder::new("ObjectValue")
                .with_name("Sun")
                .with_property("Value", Variant::Ref(lighting_ref)),
        );
    let replicated = InstanceBuilder::new("ReplicatedStorage")
        .with_name("ReplicatedStorage")
        .with_child(
            InstanceBuilder::new("ModuleScript")
                .with_name("Shared")
                .with_property("Source", "return { gravity = 50 }\n"),
        )
        .with_child(
            InstanceBuilder::new("ObjectValue")
                .with_name("Back")
                .with_property("Value", Variant::Ref(link_ref)),
        );
    let scripts = InstanceBuilder::new("ServerScriptService")
        .with_name("ServerScriptService")
        .with_child(
            InstanceBuilder::new("Script")
                .with_name("Main")
                .with_property("Source", "print(workspace.Gravity)\n"),
        );
    WeakDom::new(
        InstanceBuilder::new("DataModel")
            .with_name("Game")
            .with_child(workspace)
            .with_child(lighting)
            .with_child(storage)
            .with_child(replicated)
            .with_child(scripts),
    )
}

#[test]
fn live_syncback_equals_cli_syncback_for_a_made_up_place() {
    let Some(lune) = lune_or_skip("live_syncback_equals_cli_syncback_for_a_made_up_place") else {
        return;
    };
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().canonicalize().unwrap();
    let place = dir.join("made-up.rbxl");
    atlas::place_file::write(&place, &made_up_place()).unwrap();
    let live = syncback_parity(&lune, &place, &dir).unwrap_or_else(|message| panic!("{message}"));

    // Parity alone would also hold if both sides lost the same thing: check that what
    // only the extra payload parts carry arrived.
    let project = std::fs::read_to_string(live.join("default.project.json5")).unwrap();
    for wanted in [
        "Gravity: 50",
        "StreamingEnabled: true",
        "ClockTime: 18.25",
        "Brightness: 1.5",
        "Technology: \"Future\"",
        "Ambient: [ 0.25, 0.5, 0.75 ]",
        "\"Level\"",
        "Version: 3",
        // a string attribute (a place file gives it as bytes), written as a plain string
        "Owner: \"atlas\"",
    ] {
        assert!(
            project.contains(wanted),
            "no `{wanted}` in the project file:\n{project}"
        );
    }
    let files = tree_bytes(&live);
    let text_of = |needle: &str| -> Vec<String> {
        files
            .iter()
            .filter(|(path, _)| path.to_string_lossy().contains(needle))
            .filter_map(|(path, bytes)| {
                Some(format!(
                    "{}: {}",
                    path.display(),
                    String::from_utf8_lossy(bytes.as_ref()?)
                ))
            })
            .collect()
    };
    for (file, reference) in [
        ("Link", "Rojo_Ref_Value"),
        ("Sun", "Rojo_Ref_Value"),
        ("Back", "Rojo_Ref_Value"),
        ("Tower", "Rojo_Ref_PrimaryPart"),
    ] {
        let texts = text_of(file);
        assert!(
            texts.iter().any(|t| t.contains(reference)),
            "no {reference} written for {file}: {texts:#?}\nfiles: {:#?}",
            files.keys().collect::<Vec<_>>()
        );
    }
}
