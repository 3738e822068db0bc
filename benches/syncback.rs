//! Syncback benchmark: a generated ~100k-instance place (scripts of a few KB, folders,
//! parts with properties, values, references) synced by the release `atlas` binary into a
//! fresh project in clean mode. Prints the median wall time of 5 runs, peak memory, files
//! per second, and the time to only decode the place file (the baseline ratio).
//!
//! Run with `cargo bench --bench syncback`. Targets: <= 1.5 s and <= 300 MB on 2 cores.
//! `ATLAS_BENCH_DIR` picks where the projects are written (default: the system temp
//! folder); creating 100k files is mostly file-system work, so the figures depend on it.
//! Each run writes a fresh project; they are deleted only at the end (ext4 slows down file
//! creation right after mass deletions).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use rbx_dom_weak::types::{CFrame, Color3uint8, Enum, Matrix3, Variant, Vector3};
use rbx_dom_weak::{InstanceBuilder, WeakDom};

/// A script of a few KB with varied lines.
fn source(seed: usize) -> String {
    let mut text = format!("-- generated module {seed}\nlocal M = {{}}\n\n");
    for line in 0..60 {
        text.push_str(&format!(
            "function M.f{line}(a, b)\n\treturn a * {seed} + b - {line} -- keep the bytes varied\nend\n"
        ));
    }
    text.push_str("\nreturn M\n");
    text
}

/// Builds the place: 2,000 areas in Workspace and 2,000 module groups in ReplicatedStorage
/// (about 100k instances, 10k of them scripts).
fn generate() -> WeakDom {
    let mut root = InstanceBuilder::new("DataModel").with_name("Game");
    let mut shared = InstanceBuilder::new("ReplicatedStorage").with_name("ReplicatedStorage");
    let mut workspace = InstanceBuilder::new("Workspace").with_name("Workspace");
    let mut server = InstanceBuilder::new("ServerScriptService").with_name("ServerScriptService");
    for group in 0..2000 {
        // Workspace: a model with 36 parts, one of them its PrimaryPart, and a value pointing
        // at another part.
        let mut model = InstanceBuilder::new("Model").with_name(format!("Area{group}"));
        let mut first = None;
        for index in 0..36 {
            let part = InstanceBuilder::new("Part")
                .with_name(if index % 10 == 0 {
                    "Wall".to_string()
                } else {
                    format!("Part{index}")
                })
                .with_property("Anchored", true)
                .with_property(
                    "Size",
                    Vector3::new(4.0 + index as f32 * 0.1, 1.0, 2.0 + group as f32 * 0.01),
                )
                .with_property(
                    "CFrame",
                    CFrame::new(
                        Vector3::new(group as f32 * 1.5, index as f32 * 0.7, -3.25),
                        Matrix3::identity(),
                    ),
                )
                .with_property("Color", Color3uint8::new((index * 7 % 255) as u8, 93, 105))
                .with_property("Material", Enum::from_u32(816))
                .with_property("Transparency", (index % 4) as f32 * 0.25);
            first.get_or_insert(part.referent());
            model.add_child(part);
        }
        let first = first.expect("parts");
        model = model.with_property("PrimaryPart", Variant::Ref(first));
        model.add_child(
            InstanceBuilder::new("ObjectValue")
                .with_name("Target")
                .with_property("Value", Variant::Ref(first)),
        );
        workspace.add_child(model);

        // ReplicatedStorage: a folder of 4 modules (one with children), 4 values, a folder.
        let mut folder = InstanceBuilder::new("Folder").with_name(format!("Group{group}"));
        for index in 0..4 {
            let mut module = InstanceBuilder::new("ModuleScript")
                .with_name(format!("Module{index}"))
                .with_property("Source", source(group * 100 + index));
            if index == 0 {
                module.add_child(
                    InstanceBuilder::new("ModuleScript")
                        .with_name("Types")
                        .with_property("Source", "export type T = number\nreturn nil\n"),
                );
            }
            folder.add_child(module);
        }
        for index in 0..4 {
            folder.add_child(
                InstanceBuilder::new("StringValue")
                    .with_name(format!("Value{index}"))
                    .with_property("Value", format!("value {group}/{index}")),
            );
        }
        folder.add_child(InstanceBuilder::new("Folder").with_name("Empty"));
        shared.add_child(folder);

        if group % 20 == 0 {
            server.add_child(
                InstanceBuilder::new("Script")
                    .with_name(format!("Main{group}"))
                    .with_property("Source", source(group))
                    .with_property("RunContext", Enum::from_u32(1)),
            );
        }
    }
    root.add_child(shared);
    root.add_child(workspace);
    root.add_child(server);
    WeakDom::new(root)
}

fn write_project(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("default.project.json5"),
        "{\n  name: \"Bench\",\n  tree: {\n    $className: \"DataModel\",\n    ReplicatedStorage: { $path: \"src/shared\" },\n    ServerScriptService: { $path: \"src/server\" },\n    Workspace: { $path: \"src/workspace\" },\n  },\n}\n",
    )
    .unwrap();
}

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
        let measured = common::measure(
            Command::new(common::atlas_bin())
                .args([
                    "syncback",
                    project.to_str().unwrap(),
                    "--input",
                    place.to_str().unwrap(),
                ])
                .stdin(Stdio::null())
                .stderr(Stdio::null()),
        );
        runs.push(measured.wall);
        peak = peak.max(measured.peak_rss_mb);
        files = common::count_files(&project.join("src"));
    }
    let syncback = common::median(runs);

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
        "  targets: wall <= 1.5 s ({}), memory <= 300 MB ({})",
        if syncback.as_secs_f64() <= 1.5 {
            "met"
        } else {
            "MISSED"
        },
        if peak <= 300.0 { "met" } else { "MISSED" }
    );
}
