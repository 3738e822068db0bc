//! Helpers for the syncback tests: projects to sync into, running syncback, building the
//! result back, and byte snapshots of project folders.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use atlas::syncback::{self, SyncbackMode, SyncbackOptions, SyncbackReport, VISIBLE_SERVICES};
use atlas::vfs::Vfs;
use rbx_dom_weak::types::{Ref, Variant};
use rbx_dom_weak::WeakDom;

/// A project mapping each of the 14 visible services to `src/<Service>`.
pub fn write_place_project(dir: &Path) {
    let mut text =
        String::from("{\n  name: \"Game\",\n  tree: {\n    $className: \"DataModel\",\n");
    for service in VISIBLE_SERVICES {
        text.push_str(&format!("    {service}: {{ $path: \"src/{service}\" }},\n"));
    }
    text.push_str("  },\n}\n");
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("default.project.json5"), text).unwrap();
}

/// A project whose root is the folder `src`.
pub fn write_model_project(dir: &Path, name: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("default.project.json5"),
        format!("{{\n  name: {name:?},\n  tree: {{\n    $path: \"src\",\n  }},\n}}\n"),
    )
    .unwrap();
}

/// Reads a place or model file the way `atlas syncback` does.
pub fn read_input(path: &Path) -> WeakDom {
    let dom = atlas::place_file::read(path).unwrap_or_else(|e| panic!("{e}"));
    let kind = atlas::place_file::PlaceFileKind::from_path(path).unwrap();
    if kind.is_place() {
        dom
    } else {
        syncback::model_root(dom, "Model")
    }
}

/// Runs a syncback of `dom` into the project in `dir`.
pub fn run(dir: &Path, dom: WeakDom, mode: SyncbackMode) -> SyncbackReport {
    let project = atlas::project::load(dir).unwrap();
    let options = SyncbackOptions {
        mode,
        dry_run: false,
        progress: false,
        ..Default::default()
    };
    syncback::run(&project, dom, &options)
        .unwrap_or_else(|e| panic!("syncback into {}: {e}", dir.display()))
}

/// Writes `(relative path, contents)` files below `dir`, creating their folders.
pub fn write_files(dir: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// Builds the project in `dir`.
pub fn build(dir: &Path) -> WeakDom {
    let project = atlas::project::load(dir).unwrap();
    atlas::build::build_project(&Vfs::new_default(), &project)
        .unwrap_or_else(|e| panic!("building {}: {e}", dir.display()))
        .dom
}

/// Every file below `dir` (the backup folder excluded) with its bytes.
pub fn tree_bytes(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.unwrap();
        let relative = entry.path().strip_prefix(dir).unwrap().to_path_buf();
        if relative.starts_with(".atlas") || !entry.file_type().is_file() {
            continue;
        }
        out.insert(relative, std::fs::read(entry.path()).unwrap());
    }
    out
}

/// Every directory below `dir` (the backup folder excluded).
pub fn tree_dirs(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_dir())
        .map(|e| e.path().strip_prefix(dir).unwrap().to_path_buf())
        .filter(|p| !p.starts_with(".atlas"))
        .collect()
}

/// Makes an input place comparable with what a syncback + build gives back: hidden
/// services go, the workspace camera goes (the one expected loss), UniqueId values go
/// (never written), and references to instances that were dropped become nil.
pub fn expected_place(mut dom: WeakDom, drop_camera: bool) -> WeakDom {
    let root = dom.root_ref();
    let children = dom.root().children().to_vec();
    for child in children {
        let name = dom.get_by_ref(child).unwrap().name.clone();
        if !VISIBLE_SERVICES.contains(&name.as_str()) {
            dom.destroy(child);
        }
    }
    let camera = dom.root().children().iter().find_map(|c| {
        let instance = dom.get_by_ref(*c)?;
        match instance.properties.get(&"CurrentCamera".into()) {
            Some(Variant::Ref(camera)) if instance.class == "Workspace" && camera.is_some() => {
                Some(*camera)
            }
            _ => None,
        }
    });
    if let Some(camera) = camera.filter(|_| drop_camera) {
        if dom.get_by_ref(camera).is_some() && camera != root {
            dom.destroy(camera);
        }
    }
    scrub(&mut dom);
    dom
}

/// Whether the reflection database says `class.property` is never saved (syncback drops
/// such properties even when a file carries them).
fn does_not_serialize(class: &str, property: &str) -> bool {
    let database = rbx_reflection_database::get().unwrap();
    let mut current = database.classes.get(class);
    while let Some(descriptor) = current {
        if let Some(property) = descriptor.properties.get(property) {
            return matches!(
                property.kind,
                rbx_reflection::PropertyKind::Canonical {
                    serialization: rbx_reflection::PropertySerialization::DoesNotSerialize
                }
            );
        }
        current = descriptor.superclass.and_then(|s| database.classes.get(s));
    }
    false
}

/// UniqueId values and never-saved properties removed, references to missing instances
/// set to nil.
pub fn scrub(dom: &mut WeakDom) {
    let refs: Vec<Ref> = dom.descendants().map(|i| i.referent()).collect();
    for referent in refs {
        let dangling: Vec<String> = {
            let instance = dom.get_by_ref(referent).unwrap();
            instance
                .properties
                .iter()
                .filter(|(_, v)| matches!(v, Variant::Ref(t) if t.is_some() && dom.get_by_ref(*t).is_none()))
                .map(|(k, _)| k.to_string())
                .collect()
        };
        let instance = dom.get_by_ref_mut(referent).unwrap();
        let class = instance.class.to_string();
        instance.properties.retain(|k, v| {
            !matches!(v, Variant::UniqueId(_)) && !does_not_serialize(&class, k.as_str())
        });
        for name in dangling {
            instance
                .properties
                .insert(name.as_str().into(), Variant::Ref(Ref::none()));
        }
    }
}

/// Removes from `built` the empty root children that `expected` lacks (services the
/// project maps but the place did not have sync as empty services).
pub fn drop_missing_services(expected: &WeakDom, built: &mut WeakDom) {
    let names: Vec<String> = expected
        .root()
        .children()
        .iter()
        .map(|c| expected.get_by_ref(*c).unwrap().name.clone())
        .collect();
    let extra: Vec<Ref> = built
        .root()
        .children()
        .iter()
        .copied()
        .filter(|c| {
            let instance = built.get_by_ref(*c).unwrap();
            !names.contains(&instance.name) && instance.children().is_empty()
        })
        .collect();
    for child in extra {
        built.destroy(child);
    }
}

/// A place of a few hundred instances with every file kind, duplicates, odd names and
/// references, for determinism and safety tests.
pub fn sample_place() -> WeakDom {
    use rbx_dom_weak::types::{Enum, Vector3};
    use rbx_dom_weak::InstanceBuilder;
    let mut root = InstanceBuilder::new("DataModel").with_name("Game");
    let mut shared = InstanceBuilder::new("ReplicatedStorage").with_name("ReplicatedStorage");
    let mut workspace = InstanceBuilder::new("Workspace").with_name("Workspace");
    let mut targets = Vec::new();
    for i in 0..20 {
        let part = InstanceBuilder::new("Part")
            .with_name(format!("Part{}", i % 7))
            .with_property("Size", Vector3::new(i as f32 * 0.1, 1.0, 2.0))
            .with_property("Anchored", i % 2 == 0);
        targets.push(part.referent());
        workspace.add_child(part);
    }
    for i in 0..20 {
        let mut folder = InstanceBuilder::new("Folder").with_name(if i % 3 == 0 {
            "Data".to_string()
        } else {
            format!("Folder{i}")
        });
        folder.add_child(
            InstanceBuilder::new("ModuleScript")
                .with_name("Module")
                .with_property("Source", format!("return {i}\n")),
        );
        folder.add_child(
            InstanceBuilder::new("Script")
                .with_name("Run?")
                .with_property("Source", "print(1)\r\n")
                .with_property("RunContext", Enum::from_u32(1)),
        );
        folder.add_child(
            InstanceBuilder::new("ObjectValue")
                .with_name("Pointer")
                .with_property("Value", Variant::Ref(targets[i % targets.len()])),
        );
        folder.add_child(
            InstanceBuilder::new("StringValue")
                .with_name("Note")
                .with_property("Value", format!("note {i}")),
        );
        shared.add_child(folder);
    }
    root.add_child(shared);
    root.add_child(workspace);
    root.add_child(InstanceBuilder::new("ServerScriptService").with_name("ServerScriptService"));
    WeakDom::new(root)
}

/// The fixture project layout: ReplicatedStorage, ServerScriptService and Workspace
/// mapped to `src/shared`, `src/server` and `src/workspace`.
pub fn write_standard_project(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("default.project.json5"),
        "{\n  name: \"Game\",\n  tree: {\n    $className: \"DataModel\",\n    ReplicatedStorage: { $path: \"src/shared\" },\n    ServerScriptService: { $path: \"src/server\" },\n    Workspace: { $path: \"src/workspace\" },\n  },\n}\n",
    )
    .unwrap();
}

/// Sets a property of the first instance named `name` in `dom`, as an edit in Studio would.
/// The first instance named `name` (panics without one).
pub fn find(dom: &WeakDom, name: &str) -> Ref {
    dom.descendants()
        .find(|i| i.name == name)
        .unwrap_or_else(|| panic!("no instance named {name}"))
        .referent()
}

pub fn set_property(dom: &mut WeakDom, name: &str, property: &str, value: Variant) {
    let referent = find(dom, name);
    dom.get_by_ref_mut(referent)
        .unwrap()
        .properties
        .insert(property.into(), value);
}

/// A fresh folder holding `files` (see [`write_files`]).
pub fn project_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let temp = tempfile::tempdir().unwrap();
    write_files(temp.path(), files);
    temp
}
