//! Live syncback benchmark: the ~100k-instance place of the syncback benchmark, split into
//! per-service chunks the way the Studio plugin sends it, POSTed to a release `atlas serve`.
//! Measures the time from the POST to the new session answering `GET /api/rojo`, split into
//! decode + validation (POST to the 200), syncback (the server's `lastSyncback.durationMs`)
//! and teardown + restart (the rest), next to CLI `atlas syncback` of the same place in the
//! same run. Also reports the server's peak memory and how chunk decoding scales with
//! threads (`rebuild_dom` in a 1-thread pool vs the default pool).
//!
//! Run with `cargo bench --bench live_syncback`. Targets (issue #5): live total <= 1.2x the
//! CLI time and <= 2.5 s, peak memory <= 300 MB. `ATLAS_BENCH_DIR` picks where projects are
//! written (default: the system temp folder); `ATLAS_BENCH_SERVE_LOG=<file>` keeps the
//! verbose log of the last server run, and each CLI run's in `<file>.cli<N>`, to compare
//! their phases.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use atlas::serve::live_syncback::rebuild_dom;
use atlas::serve::wire::SyncbackRequest;
use common::place::{generate, write_project};
use rbx_dom_weak::WeakDom;
use serde::Serialize;

const RUNS: usize = 3;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Body {
    protocol_version: u32,
    server_version: String,
    place_id: Option<u64>,
    services: Vec<Chunk>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Chunk {
    class_name: String,
    data: serde_bytes::ByteBuf,
}

/// The plugin's payload for a place: one rbxm of each service's children.
fn request_body(place: &WeakDom) -> Vec<u8> {
    let services = place
        .root()
        .children()
        .iter()
        .map(|&service| {
            let instance = place.get_by_ref(service).expect("service");
            let mut data = Vec::new();
            rbx_binary::to_writer(&mut data, place, instance.children()).expect("rbxm");
            Chunk {
                class_name: instance.class.to_string(),
                data: serde_bytes::ByteBuf::from(data),
            }
        })
        .collect();
    let body = Body {
        protocol_version: atlas::serve::wire::PROTOCOL_VERSION,
        server_version: atlas::serve::wire::SERVER_VERSION.to_string(),
        place_id: None,
        services,
    };
    rmp_serde::to_vec_named(&body).expect("msgpack")
}

/// One HTTP/1.0 exchange on a fresh connection (so the answer is never chunked: its body
/// is everything after the head); returns the status and the body.
fn http(port: u16, method: &str, path: &str, body: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nAccept: application/json\r\n\
         Content-Type: application/msgpack\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no header end"))?;
    let status = std::str::from_utf8(&response[..split])
        .ok()
        .and_then(|head| head.get(9..12))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status"))?;
    Ok((status, response[split + 4..].to_vec()))
}

/// `GET /api/rojo` as JSON, if the server answers.
fn info(port: u16) -> Option<serde_json::Value> {
    match http(port, "GET", "/api/rojo", &[]) {
        Ok((200, body)) => serde_json::from_slice(&body).ok(),
        _ => None,
    }
}

/// Waits until `/api/rojo` answers with a session id other than `old`.
fn wait_for_session(
    server: &mut common::Server,
    port: u16,
    old: Option<&str>,
) -> serde_json::Value {
    let started = Instant::now();
    loop {
        if let Some(info) = info(port) {
            if info["sessionId"].as_str() != old {
                return info;
            }
        }
        assert!(server.0.try_wait().unwrap().is_none(), "atlas serve exited");
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "atlas serve did not come back"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

struct LiveRun {
    total: Duration,
    accepted: Duration,
    syncback: Duration,
    peak_mb: f64,
}

fn live_run(project: &Path, body: &[u8]) -> LiveRun {
    let port = common::free_port();
    // ATLAS_BENCH_SERVE_LOG=<file> keeps the server's verbose log (phase timings).
    let mut command = common::serve_command(project, port);
    if let Some(path) = std::env::var_os("ATLAS_BENCH_SERVE_LOG") {
        command
            .arg("-v")
            .stderr(std::fs::File::create(path).unwrap());
    }
    let child = command.spawn().unwrap();
    let mut server = common::Server(child);
    let first = wait_for_session(&mut server, port, None);
    let old = first["sessionId"].as_str().unwrap().to_string();

    let started = Instant::now();
    let (status, answer) = http(port, "POST", "/api/syncback", body).expect("POST");
    let accepted = started.elapsed();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    let info = wait_for_session(&mut server, port, Some(&old));
    let total = started.elapsed();
    let last = &info["lastSyncback"];
    assert_eq!(last["ok"], true, "live syncback failed: {last}");
    LiveRun {
        total,
        accepted,
        syncback: Duration::from_millis(last["durationMs"].as_u64().unwrap_or(0)),
        peak_mb: common::peak_rss_mb(server.0.id()),
    }
}

/// Median time of `runs` calls of `rebuild_dom` inside a pool of `threads` threads.
fn decode_time(request: &SyncbackRequest, threads: usize, runs: usize) -> Duration {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let times = (0..runs)
        .map(|_| {
            pool.install(|| {
                let started = Instant::now();
                let dom = rebuild_dom(request).expect("decode");
                let elapsed = started.elapsed();
                drop(dom);
                elapsed
            })
        })
        .collect();
    common::median(times)
}

fn secs(duration: Duration) -> f64 {
    duration.as_secs_f64()
}

fn main() {
    let temp = match std::env::var_os("ATLAS_BENCH_DIR") {
        Some(dir) => tempfile::tempdir_in(dir).unwrap(),
        None => tempfile::tempdir().unwrap(),
    };
    let started = Instant::now();
    let dom = generate();
    let instances = dom.descendants().count();
    let place = temp.path().join("place.rbxl");
    atlas::place_file::write(&place, &dom).unwrap();
    let body = request_body(&dom);
    drop(dom);
    eprintln!(
        "generated {instances} instances ({:.1} MB payload) in {:.2?}",
        body.len() as f64 / 1e6,
        started.elapsed()
    );

    // Decode scaling, in process.
    let request: SyncbackRequest = rmp_serde::from_slice(&body).expect("request");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let one_thread = decode_time(&request, 1, 3);
    let all_threads = decode_time(&request, cores, 3);
    drop(request);

    // CLI baseline and live runs, alternating so both see the same file-system state.
    let mut cli_times = Vec::new();
    let mut cli_peak: f64 = 0.0;
    let mut live = Vec::new();
    for run in 0..RUNS {
        let project = temp.path().join(format!("cli{run}"));
        write_project(&project);
        let mut command = common::syncback_command(&project, &place);
        // With ATLAS_BENCH_SERVE_LOG, the CLI's phase timings go beside the server's.
        if let Some(path) = std::env::var_os("ATLAS_BENCH_SERVE_LOG") {
            let mut path = std::path::PathBuf::from(path).into_os_string();
            path.push(format!(".cli{run}"));
            command
                .arg("-v")
                .stderr(std::fs::File::create(path).unwrap());
        }
        let measured = common::measure(&mut command);
        cli_times.push(measured.wall);
        cli_peak = cli_peak.max(measured.peak_rss_mb);

        let project = temp.path().join(format!("live{run}"));
        write_project(&project);
        // `atlas serve` needs the mapped folders to exist.
        for folder in ["shared", "server", "workspace"] {
            std::fs::create_dir_all(project.join("src").join(folder)).unwrap();
        }
        live.push(live_run(&project, &body));
    }
    let cli = common::median(cli_times);
    live.sort_by_key(|run| run.total);
    let median = &live[live.len() / 2];
    let peak = live.iter().map(|run| run.peak_mb).fold(0.0, f64::max);
    let restart = median
        .total
        .saturating_sub(median.accepted)
        .saturating_sub(median.syncback);

    println!(
        "live syncback benchmark ({instances} instances, {:.1} MB payload, median of {RUNS})",
        body.len() as f64 / 1e6
    );
    println!(
        "  live total (POST -> new session):   {:.3} s",
        secs(median.total)
    );
    println!(
        "    decode + validate (POST -> 200):  {:.3} s",
        secs(median.accepted)
    );
    println!(
        "    syncback (server-reported):       {:.3} s",
        secs(median.syncback)
    );
    println!(
        "    teardown + restart:               {:.3} s",
        secs(restart)
    );
    println!("  CLI atlas syncback, same place:     {:.3} s", secs(cli));
    println!(
        "  live / CLI ratio:                   {:.2}x",
        secs(median.total) / secs(cli)
    );
    println!("  serve peak memory:                  {peak:.0} MB (CLI {cli_peak:.0} MB)");
    println!(
        "  chunk decode: 1 thread {:.3} s, {cores} threads {:.3} s ({:.2}x)",
        secs(one_thread),
        secs(all_threads),
        secs(one_thread) / secs(all_threads)
    );
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "  targets: live <= 1.2x CLI ({}), live <= 2.5 s ({}), memory <= 300 MB ({})",
        verdict(secs(median.total) <= 1.2 * secs(cli)),
        verdict(secs(median.total) <= 2.5),
        verdict(peak <= 300.0)
    );
}
