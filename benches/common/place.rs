//! Benchmark fixtures shared by the syncback benchmarks: a generated ~100k-instance place
//! and the project that maps its services.

use std::path::Path;

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
pub fn generate() -> WeakDom {
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

pub fn write_project(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("default.project.json5"),
        "{\n  name: \"Bench\",\n  tree: {\n    $className: \"DataModel\",\n    ReplicatedStorage: { $path: \"src/shared\" },\n    ServerScriptService: { $path: \"src/server\" },\n    Workspace: { $path: \"src/workspace\" },\n  },\n}\n",
    )
    .unwrap();
}
