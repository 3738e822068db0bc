//! Syncback benchmark: a generated ~100k-instance place (scripts of a few KB, folders,
//! parts with properties, values, references) synced by the release `atlas` binary into a
//! fresh project in clean mode. Prints the median wall time of 5 runs, peak memory, files
//! per second, and the time to only decode the place file (the baseline ratio).
//!
//! Run with `cargo bench --bench syncback`. Targets: <= 1.5 s and <= 300 MB on 2 cores.
//! `ATLAS_BENCH_DIR` picks where the projects are written (default: the system temp
//! folder); creating 100k files is mostly file-system work, so the figures depend on it.
//! Each run writes a fresh project; they are deleted only at the end (ext4 slows down file
//! creation right after mass deletions). `ATLAS_BENCH_KEEP=1` keeps the place and the
//! projects afterwards (for profiling).

mod common;

use std::time::Instant;

use common::place::{generate, write_project};

fn main() {
    let temp = match std::env::var_os("ATLAS_BENCH_DIR") {
        Some(dir) => tempfile::tempdir_in(dir).unwrap(),
        None => tempfile::tempdir().unwrap(),
    };
    let place = temp.path().join("place.rbxl");
    let started = Instant::now();
    let dom = generate();
    let instances = dom.descendants().count();
    atlas::place_file::write(&place, &dom).unwrap();
    drop(dom);
    let place_mb = std::fs::metadata(&place).unwrap().len() as f64 / 1e6;
    eprintln!(
        "generated {instances} instances ({place_mb:.1} MB place) in {:.2?}",
        started.elapsed()
    );

    let mut runs = Vec::new();
    let mut peak: f64 = 0.0;
    let mut files = 0;
    for run in 0..5 {
        let project = temp.path().join(format!("project{run}"));
        write_project(&project);
        let measured = common::measure(&mut common::syncback_command(&project, &place));
        runs.push(measured.wall);
        peak = peak.max(measured.peak_rss_mb);
        files = common::count_files(&project.join("src"));
    }
    let syncback = common::median(runs);
    let plain_write = common::plain_write_time(
        &temp.path().join("project0"),
        &temp.path().join("plain-write"),
    );

    let mut decodes = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        std::hint::black_box(atlas::place_file::read(&place).unwrap());
        decodes.push(started.elapsed());
    }
    let decode = common::median(decodes);

    println!(
        "syncback benchmark ({instances} instances, {files} files written under {})",
        temp.path().display()
    );
    println!(
        "  syncback wall time (median of 5): {:.3} s",
        syncback.as_secs_f64()
    );
    println!("  peak memory:                      {peak:.0} MB");
    println!(
        "  files per second:                 {:.0}",
        files as f64 / syncback.as_secs_f64()
    );
    println!(
        "  decode only (median of 5):        {:.3} s",
        decode.as_secs_f64()
    );
    println!(
        "  syncback / decode ratio:          {:.1}x",
        syncback.as_secs_f64() / decode.as_secs_f64()
    );
    println!(
        "  plain parallel write of the same files (file-system floor): {:.3} s; syncback is {:.2}x that",
        plain_write.as_secs_f64(),
        syncback.as_secs_f64() / plain_write.as_secs_f64()
    );
    println!(
        "  targets: wall <= 1.5 s ({}), memory <= 300 MB ({})",
        if syncback.as_secs_f64() <= 1.5 {
            "met"
        } else {
            "MISSED"
        },
        if peak <= 300.0 { "met" } else { "MISSED" }
    );
    if std::env::var_os("ATLAS_BENCH_KEEP").is_some() {
        println!("  kept {}", temp.keep().display());
    }
}
