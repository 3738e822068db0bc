//! Serve benchmark: generates a project of ~100k instances, then measures the release
//! `atlas serve`: time from start to the first answer of `GET /api/rojo`, peak memory,
//! and the latency from a file write to its patch arriving on the WebSocket (200 edits).
//! The baseline, measured in the same run, is a plain parallel read of the same files.
//! Run with `cargo bench --bench serve`. `ATLAS_BENCH_DIR` picks where the project is
//! written (default: the system temp folder); `ATLAS_BENCH_KEEP=1` keeps it afterwards.
//! Targets (issue #4): startup <= 0.75 s and <= 250 MB peak; median edit-to-patch <= 60 ms.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use tungstenite::Message;

const TOP_FOLDERS: usize = 50;
const PER_FOLDER: usize = 400;
const PARTS_PER_GROUP: usize = 13;
const EDITS: usize = 200;

fn script_source(i: usize) -> String {
    let mut source = format!("-- module {i}\nlocal M = {{}}\n");
    while source.len() < 1500 {
        source.push_str(&format!(
            "function M.f{}(x: number): number\n\treturn x * {}\nend\n",
            source.len(),
            i % 97
        ));
    }
    source.push_str("return M\n");
    source
}

fn part(n: usize) -> String {
    format!("{{ className: \"Part\", properties: {{ Anchored: true, Size: [{}, 1, 2], Transparency: 0.25 }} }}", n % 50 + 1)
}

/// Writes the project; returns the number of instances it makes.
fn generate(root: &Path) -> usize {
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(
        root.join("default.project.json5"),
        "{ name: \"ServeBench\", tree: { $className: \"DataModel\", ReplicatedStorage: { $path: \"src\" } } }\n",
    )
    .unwrap();
    (0..TOP_FOLDERS).into_par_iter().for_each(|folder| {
        let dir = root.join("src").join(format!("Folder{folder}"));
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..PER_FOLDER {
            let n = folder * PER_FOLDER + i;
            match i % 4 {
                0 => std::fs::write(dir.join(format!("Module{n}.luau")), script_source(n)).unwrap(),
                1 => std::fs::write(dir.join(format!("Script{n}.server.luau")), script_source(n))
                    .unwrap(),
                2 => std::fs::write(dir.join(format!("Part{n}.model.json5")), part(n)).unwrap(),
                _ => {
                    let sub = dir.join(format!("Group{n}"));
                    std::fs::create_dir_all(&sub).unwrap();
                    std::fs::write(sub.join("init.meta.json5"), "{ className: \"Model\" }\n")
                        .unwrap();
                    std::fs::write(sub.join("Value.txt"), format!("value {n}")).unwrap();
                    let children: Vec<String> = (0..PARTS_PER_GROUP).map(|k| part(n + k)).collect();
                    std::fs::write(
                        sub.join("Parts.model.json5"),
                        format!(
                            "{{ className: \"Model\", children: [{}] }}\n",
                            children.join(",\n")
                        ),
                    )
                    .unwrap();
                }
            }
        }
    });
    let per_four = 3 + (3 + PARTS_PER_GROUP);
    2 + TOP_FOLDERS + TOP_FOLDERS * PER_FOLDER / 4 * per_four
}

/// Baseline: list and read every file in parallel, doing nothing with the bytes.
fn read_all(dir: &Path) -> usize {
    let entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    entries
        .par_iter()
        .map(|entry| {
            if entry.file_type().unwrap().is_dir() {
                read_all(&entry.path())
            } else {
                std::fs::read(entry.path()).unwrap().len()
            }
        })
        .sum()
}

fn get_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// Starts the server; returns it and the time until `/api/rojo` answered.
fn start(project: &Path, port: u16) -> (common::Server, Duration) {
    let started = Instant::now();
    let child = common::serve_command(project, port).spawn().unwrap();
    let mut server = common::Server(child);
    loop {
        if get_status(port, "/api/rojo") == Some(200) {
            return (server, started.elapsed());
        }
        assert!(server.0.try_wait().unwrap().is_none(), "atlas serve exited");
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "atlas serve did not come up"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn main() {
    // ATLAS_BENCH_DIR picks the folder the project is written into (a fresh folder inside
    // it, as the other benchmarks do: nothing already there is touched).
    let temp = match std::env::var_os("ATLAS_BENCH_DIR") {
        Some(dir) => tempfile::tempdir_in(dir).unwrap(),
        None => tempfile::tempdir().unwrap(),
    };
    let project = temp.path().join("project");
    let started = Instant::now();
    let instances = generate(&project);
    let files = common::count_files(&project);
    eprintln!(
        "generated {instances} instances in {files} files in {:.2?}",
        started.elapsed()
    );
    let _ = read_all(&project);

    let mut reads = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        std::hint::black_box(read_all(&project));
        reads.push(started.elapsed());
    }
    let read = common::median(reads);

    let mut startups = Vec::new();
    let mut peak: f64 = 0.0;
    for _ in 0..3 {
        let (server, startup) = start(&project, common::free_port());
        startups.push(startup);
        peak = peak.max(common::peak_rss_mb(server.0.id()));
    }
    let startup = common::median(startups);

    // Edit latency: write a module, wait for its patch.
    let port = common::free_port();
    let (server, _) = start(&project, port);
    let (mut socket, _) =
        tungstenite::connect(format!("ws://127.0.0.1:{port}/api/socket/0")).expect("WebSocket");
    if let tungstenite::stream::MaybeTlsStream::Plain(stream) = socket.get_mut() {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
    }
    let mut latencies = Vec::with_capacity(EDITS);
    for edit in 0..EDITS {
        let n = (edit * 4 * 7) % (TOP_FOLDERS * PER_FOLDER) / 4 * 4;
        let file = project
            .join("src")
            .join(format!("Folder{}", n / PER_FOLDER))
            .join(format!("Module{n}.luau"));
        let source = format!("-- edit {edit}\n{}", script_source(n));
        let written = Instant::now();
        std::fs::write(&file, source).unwrap();
        loop {
            match socket.read().expect("a patch") {
                Message::Binary(_) | Message::Text(_) => break,
                _ => continue,
            }
        }
        latencies.push(written.elapsed());
        std::thread::sleep(Duration::from_millis(10));
    }
    peak = peak.max(common::peak_rss_mb(server.0.id()));
    drop(server);
    latencies.sort();

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("serve benchmark: {instances} instances from {files} files");
    println!(
        "  startup to first /api/rojo answer (median of 3): {:.3} s",
        startup.as_secs_f64()
    );
    println!("  peak memory: {peak:.0} MB");
    println!(
        "  edit-to-patch over {EDITS} edits: median {:.1} ms, p99 {:.1} ms (max {:.1} ms)",
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
        ms(latencies[latencies.len() - 1])
    );
    println!(
        "  baseline parallel read of the same files: {:.3} s",
        read.as_secs_f64()
    );
    println!(
        "  ratio startup / read: {:.2}",
        startup.as_secs_f64() / read.as_secs_f64()
    );
    println!("  targets: startup <= 0.75 s, <= 250 MB peak, median edit-to-patch <= 60 ms");
    if std::env::var_os("ATLAS_BENCH_KEEP").is_some() {
        println!("  kept {}", temp.keep().display());
    }
}
