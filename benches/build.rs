//! Build benchmark: generates a project of ~100k instances (scripts of a few KB, folders,
//! models with properties), then times `atlas build` against a plain parallel read of the
//! same files measured in the same run. Run with `cargo bench --bench build`.
//! Targets (issue #2): ≤ 0.5 s wall, ≤ 300 MB peak for ~100k instances, warm cache.
//! `ATLAS_BENCH_KEEP=1` keeps the generated project and prints where it is.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rayon::prelude::*;

/// Folders at the top of the generated tree; each holds `PER_FOLDER` groups.
const TOP_FOLDERS: usize = 50;
const PER_FOLDER: usize = 1600;

fn script_source(i: usize) -> String {
    let mut source = format!("-- module {i}\nlocal M = {{}}\n");
    while source.len() < 3000 {
        source.push_str(&format!(
            "function M.f{}(x: number): number\n\treturn x * {} + {}\nend\n",
            source.len(),
            i % 97,
            i % 13
        ));
    }
    source.push_str("return M\n");
    source
}

/// Writes the project; returns the number of files.
pub fn generate(root: &Path) -> usize {
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(
        root.join("default.project.json5"),
        "{ name: \"Bench\", tree: { $className: \"DataModel\", ReplicatedStorage: { $path: \"src\" } } }\n",
    )
    .unwrap();
    (0..TOP_FOLDERS).into_par_iter().for_each(|folder| {
        let dir = root.join("src").join(format!("Folder{folder}"));
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..PER_FOLDER {
            let n = folder * PER_FOLDER + i;
            match i % 4 {
                0 => std::fs::write(dir.join(format!("Module{n}.luau")), script_source(n)).unwrap(),
                1 => std::fs::write(dir.join(format!("Script{n}.server.luau")), script_source(n)).unwrap(),
                2 => std::fs::write(
                    dir.join(format!("Part{n}.model.json5")),
                    format!(
                        "{{\n  className: \"Part\",\n  properties: {{\n    Anchored: true,\n    Size: [{}, 1, 2],\n    CFrame: [{n}, 5, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1],\n    Material: \"Concrete\",\n    Transparency: 0.25\n  }}\n}}\n",
                        n % 50 + 1
                    ),
                )
                .unwrap(),
                _ => {
                    let sub = dir.join(format!("Group{n}"));
                    std::fs::create_dir_all(&sub).unwrap();
                    std::fs::write(sub.join("init.meta.json5"), "{ className: \"Model\" }\n").unwrap();
                    std::fs::write(sub.join("Value.txt"), format!("value {n}")).unwrap();
                }
            }
        }
    });
    common::count_files(&root.join("src")) + 1
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

fn main() {
    let temp = tempfile::tempdir().unwrap();
    let project = temp.path().join("project");
    let started = Instant::now();
    let files = generate(&project);
    eprintln!("generated {files} files in {:.2?}", started.elapsed());
    let output = temp.path().join("out.rbxl");

    // Warm the cache, and count instances once.
    let _ = read_all(&project);
    let mut runs = Vec::new();
    let mut peak: f64 = 0.0;
    for _ in 0..5 {
        let measured = common::measure(
            Command::new(common::atlas_bin())
                .args([
                    "build",
                    project.to_str().unwrap(),
                    "-o",
                    output.to_str().unwrap(),
                ])
                .stderr(Stdio::null()),
        );
        runs.push(measured.wall);
        peak = peak.max(measured.peak_rss_mb);
    }
    let build = common::median(runs);
    let instances = atlas::place_file::read(&output)
        .unwrap()
        .descendants()
        .count();

    let mut reads = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        std::hint::black_box(read_all(&project));
        reads.push(started.elapsed());
    }
    let read = common::median(reads);

    let secs = |d: Duration| d.as_secs_f64();
    println!("build benchmark: {instances} instances from {files} files");
    println!(
        "  atlas build (median of 5): {:.3} s, peak {:.0} MB, {:.0} files/s",
        secs(build),
        peak,
        files as f64 / secs(build)
    );
    println!(
        "  baseline parallel read of the same files: {:.3} s",
        secs(read)
    );
    println!("  ratio build / read: {:.2}", secs(build) / secs(read));
    println!("  targets: <= 0.5 s wall, <= 300 MB peak");
    // ATLAS_BENCH_KEEP=1 keeps the generated project for profiling.
    if std::env::var_os("ATLAS_BENCH_KEEP").is_some() {
        println!("  kept {}", temp.keep().display());
    }
}
