//! Syncback tests: round trips of the whole corpus, fixtures under
//! `rojo-test/syncback-tests/`, determinism, safety of the writer, and the CLI.

mod common;

use std::path::{Path, PathBuf};

use atlas::syncback::SyncbackMode;
use common::random_place::{edited_place, random_place};
use common::syncback_util as util;
use common::tree::{compare, CompareOptions};

/// Every corpus file a round trip runs on.
fn corpus_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for group in ["models", "places"] {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(common::corpus_dir().join(group))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        for dir in dirs {
            for name in ["binary.rbxm", "xml.rbxmx", "binary.rbxl", "xml.rbxlx"] {
                if dir.join(name).exists() {
                    files.push(dir.join(name));
                }
            }
        }
    }
    files
}

/// Syncs `input` into a fresh project, builds it again and lists every difference.
fn round_trip(input: &Path) -> Vec<String> {
    let temp = tempfile::tempdir().unwrap();
    let kind = atlas::place_file::PlaceFileKind::from_path(input).unwrap();
    if kind.is_place() {
        util::write_place_project(temp.path());
    } else {
        util::write_model_project(temp.path(), "Model");
    }
    let dom = util::read_input(input);
    util::run(temp.path(), dom, SyncbackMode::Clean);
    round_trip_differences(util::read_input(input), temp.path())
}

#[test]
fn every_corpus_file_round_trips_exactly() {
    let files = corpus_files();
    assert!(files.len() >= 100, "only {} corpus files", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let differences = round_trip(file);
        if !differences.is_empty() {
            failures.push(format!(
                "{}:\n  {}",
                file.display(),
                differences.join("\n  ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus files differ:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

/// Incremental mode on an unchanged place leaves every file alone, even files a user has
/// edited by hand (a comment at the top of each meta and model file): no value read from
/// a place file may compare as changed against the same value read from the files
/// (string attributes stored as bytes, NaNs, ...).
#[test]
fn every_corpus_file_keeps_hand_edited_files_in_incremental_mode() {
    let mut failures = Vec::new();
    for input in corpus_files() {
        let temp = tempfile::tempdir().unwrap();
        let kind = atlas::place_file::PlaceFileKind::from_path(&input).unwrap();
        if kind.is_place() {
            util::write_place_project(temp.path());
        } else {
            util::write_model_project(temp.path(), "Model");
        }
        util::run(temp.path(), util::read_input(&input), SyncbackMode::Clean);
        let mut edited = Vec::new();
        for (path, bytes) in util::tree_bytes(temp.path()) {
            let is_project = path.to_string_lossy().ends_with(".project.json5");
            if path.to_string_lossy().ends_with(".json5") && !is_project {
                let mut text = b"// edited by hand\n".to_vec();
                text.extend_from_slice(&bytes);
                std::fs::write(temp.path().join(&path), text).unwrap();
                edited.push(path);
            }
        }
        let before = util::tree_bytes(temp.path());
        let report = util::run(
            temp.path(),
            util::read_input(&input),
            SyncbackMode::Incremental,
        );
        if !report.written.is_empty() || util::tree_bytes(temp.path()) != before {
            failures.push(format!(
                "{}: rewrote {:?} ({} files edited)",
                input.display(),
                report.written,
                edited.len()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[path = "syncback_cases/mod.rs"]
mod cases;

/// Lists how two byte trees differ (missing, extra and changed files, with both texts).
fn tree_differences(
    expected: &std::collections::BTreeMap<PathBuf, Vec<u8>>,
    actual: &std::collections::BTreeMap<PathBuf, Vec<u8>>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (path, bytes) in expected {
        match actual.get(path) {
            None => out.push(format!("missing {}", path.display())),
            Some(other) if other != bytes => out.push(format!(
                "{} differs\n--- expected\n{}\n--- actual\n{}",
                path.display(),
                String::from_utf8_lossy(bytes),
                String::from_utf8_lossy(other)
            )),
            Some(_) => {}
        }
    }
    for path in actual.keys() {
        if !expected.contains_key(path) {
            out.push(format!("unexpected {}", path.display()));
        }
    }
    out
}

/// Compares a built project with the input it was synced from.
fn round_trip_differences(input: rbx_dom_weak::WeakDom, project_dir: &Path) -> Vec<String> {
    let mut built = util::build(project_dir);
    let mut expected = input;
    if expected.root().class == "DataModel" {
        let project = atlas::project::load(project_dir).unwrap();
        expected = util::expected_place(expected, !project.syncback_rules.sync_current_camera);
        util::drop_missing_services(&expected, &mut built);
    } else {
        util::scrub(&mut expected);
    }
    let root = expected.root_ref();
    expected.get_by_ref_mut(root).unwrap().name = built.root().name.clone();
    let options = CompareOptions {
        unordered_children: true,
        missing_is_default: true,
    };
    compare(&expected, root, &built, built.root_ref(), options)
}

#[test]
fn fixtures_match_their_expected_projects() {
    let root = common::repo_root().join("rojo-test").join("syncback-tests");
    let all = cases::all();
    assert!(all.len() >= 30, "only {} syncback cases", all.len());
    let mut failures = Vec::new();
    for case in &all {
        let dir = root.join(case.name);
        let before = dir.join("project-before");
        let expected_dir = dir.join("expected");
        assert!(before.is_dir(), "{} has no project-before/", case.name);
        let temp = tempfile::tempdir().unwrap();
        let project_dir = temp.path().join("project");
        common::copy_dir(&before, &project_dir);
        util::run(&project_dir, (case.input)(), case.mode);
        let actual = util::tree_bytes(&project_dir);
        if common::updating_snapshots() {
            if expected_dir.exists() {
                std::fs::remove_dir_all(&expected_dir).unwrap();
            }
            for (path, bytes) in &actual {
                let target = expected_dir.join(path);
                std::fs::create_dir_all(target.parent().unwrap()).unwrap();
                std::fs::write(target, bytes).unwrap();
            }
        } else {
            let expected = util::tree_bytes(&expected_dir);
            let differences = tree_differences(&expected, &actual);
            if !differences.is_empty() {
                failures.push(format!("{}:\n  {}", case.name, differences.join("\n  ")));
            }
        }
        if case.round_trip {
            let differences = round_trip_differences((case.input)(), &project_dir);
            if !differences.is_empty() {
                failures.push(format!(
                    "{} (round trip):\n  {}",
                    case.name,
                    differences.join("\n  ")
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn output_is_deterministic() {
    let corpus_place = common::corpus_dir()
        .join("places")
        .join("baseplate-566")
        .join("binary.rbxl");
    let mut runs = Vec::new();
    for _ in 0..2 {
        let temp = tempfile::tempdir().unwrap();
        util::write_standard_project(temp.path());
        util::run(temp.path(), util::sample_place(), SyncbackMode::Clean);
        let place_dir = temp.path().join("place");
        util::write_place_project(&place_dir);
        util::run(
            &place_dir,
            util::read_input(&corpus_place),
            SyncbackMode::Clean,
        );
        runs.push(util::tree_bytes(temp.path()));
    }
    assert!(runs[0].len() > 100, "{} files", runs[0].len());
    assert_eq!(runs[0], runs[1]);
}

#[test]
fn a_second_syncback_changes_nothing() {
    let temp = tempfile::tempdir().unwrap();
    util::write_standard_project(temp.path());
    util::run(temp.path(), util::sample_place(), SyncbackMode::Clean);
    let before = util::tree_bytes(temp.path());
    for mode in [SyncbackMode::Clean, SyncbackMode::Incremental] {
        let report = util::run(temp.path(), util::sample_place(), mode);
        assert!(
            report.written.is_empty(),
            "{mode:?} rewrote {:?}",
            report.written
        );
        assert!(
            report.removed.is_empty(),
            "{mode:?} removed {:?}",
            report.removed
        );
        assert_eq!(util::tree_bytes(temp.path()), before);
    }
}

/// Twelve scripts and twelve folders of one name, alternating: clean mode numbers them
/// `Dup`, `Dup~2` … `Dup~24` in place order, whatever their kind of file, so the build
/// (which compares `~N` as numbers) gives them back in place order; and incremental mode
/// must pair them the same way instead of rewriting them into each other's files.
#[test]
fn many_duplicates_keep_their_files_in_incremental_mode() {
    use rbx_dom_weak::InstanceBuilder;
    let place = || {
        let mut workspace = InstanceBuilder::new("Workspace").with_name("Workspace");
        for i in 0..12 {
            workspace.add_child(
                InstanceBuilder::new("ModuleScript")
                    .with_name("Dup")
                    .with_property("Source", format!("return {i}\n")),
            );
            workspace.add_child(InstanceBuilder::new("Folder").with_name("Dup"));
        }
        rbx_dom_weak::WeakDom::new(InstanceBuilder::new("DataModel").with_child(workspace))
    };
    let temp = tempfile::tempdir().unwrap();
    util::write_standard_project(temp.path());
    util::run(temp.path(), place(), SyncbackMode::Clean);
    let workspace = temp.path().join("src").join("workspace");
    assert_eq!(
        std::fs::read_to_string(workspace.join("Dup~19.luau")).unwrap(),
        "return 9\n"
    );
    assert!(workspace.join("Dup~20").is_dir());
    let order = |dom: &rbx_dom_weak::WeakDom| -> Vec<String> {
        let workspace = dom.descendants().find(|i| i.class == "Workspace").unwrap();
        workspace
            .children()
            .iter()
            .map(|child| {
                let child = dom.get_by_ref(*child).unwrap();
                match child.properties.get(&"Source".into()) {
                    Some(rbx_dom_weak::types::Variant::String(source)) => source.clone(),
                    _ => child.class.to_string(),
                }
            })
            .collect()
    };
    assert_eq!(order(&util::build(temp.path())), order(&place()));
    let before = util::tree_bytes(temp.path());
    let report = util::run(temp.path(), place(), SyncbackMode::Incremental);
    assert!(report.written.is_empty(), "rewrote {:?}", report.written);
    assert!(report.removed.is_empty(), "removed {:?}", report.removed);
    assert_eq!(util::tree_bytes(temp.path()), before);
}

/// Incremental mode keeps the files of unchanged same-named siblings; a new sibling of
/// that name still numbers after them, so the build gives all back in place order.
#[test]
fn a_new_same_named_sibling_comes_last_in_incremental_mode() {
    use rbx_dom_weak::InstanceBuilder;
    let place = |extra: bool| {
        let mut workspace = InstanceBuilder::new("Workspace")
            .with_name("Workspace")
            .with_child(InstanceBuilder::new("Part").with_name("Door"))
            .with_child(
                InstanceBuilder::new("Model")
                    .with_name("Door")
                    .with_child(InstanceBuilder::new("Part").with_name("Knob")),
            );
        if extra {
            workspace.add_child(
                InstanceBuilder::new("ModuleScript")
                    .with_name("Door")
                    .with_property("Source", "return 'new'\n"),
            );
        }
        rbx_dom_weak::WeakDom::new(InstanceBuilder::new("DataModel").with_child(workspace))
    };
    let classes = |dom: &rbx_dom_weak::WeakDom| -> Vec<String> {
        let workspace = dom.descendants().find(|i| i.class == "Workspace").unwrap();
        workspace
            .children()
            .iter()
            .map(|c| dom.get_by_ref(*c).unwrap().class.to_string())
            .collect()
    };
    let temp = tempfile::tempdir().unwrap();
    util::write_standard_project(temp.path());
    util::run(temp.path(), place(false), SyncbackMode::Clean);
    util::run(temp.path(), place(true), SyncbackMode::Incremental);
    assert_eq!(classes(&util::build(temp.path())), classes(&place(true)));
}

/// In incremental mode a `.lua` script that gains children keeps its spelling: it becomes
/// a folder with `init.lua` (or `init.server.lua`), not `init.luau`.
#[test]
fn a_lua_script_that_gains_children_keeps_its_spelling() {
    let temp = util::project_with(&[
        (
            "default.project.json5",
            "{ name: \"p\", tree: { $className: \"DataModel\", ReplicatedStorage: { $path: \"src\" }, ServerScriptService: { $path: \"server\" } } }\n",
        ),
        ("src/Mod.lua", "return {}\n"),
        ("server/Run.server.lua", "print(1)\n"),
    ]);
    let project = temp.path();
    let mut place = util::build(project);
    for parent in ["Mod", "Run"] {
        let at = util::find(&place, parent);
        place.insert(
            at,
            rbx_dom_weak::InstanceBuilder::new("ModuleScript")
                .with_name("Child")
                .with_property("Source", "return 1\n"),
        );
    }
    util::run(project, place, SyncbackMode::Incremental);
    assert_eq!(
        std::fs::read_to_string(project.join("src/Mod/init.lua")).unwrap(),
        "return {}\n"
    );
    assert_eq!(
        std::fs::read_to_string(project.join("server/Run/init.server.lua")).unwrap(),
        "print(1)\n"
    );
    assert!(!project.join("src/Mod.lua").exists());
    assert!(!project.join("server/Run.server.lua").exists());
    let built = util::build(project);
    let run = built.descendants().find(|i| i.name == "Run").unwrap();
    assert_eq!(run.class, "Script");
    assert_eq!(run.children().len(), 1);
    let before = util::tree_bytes(project);
    let again = util::run(project, util::build(project), SyncbackMode::Incremental);
    assert!(again.written.is_empty(), "{:?}", again.written);
    assert_eq!(util::tree_bytes(project), before);
}

/// In incremental mode a hand-written `.meta.json` keeps its name, and its text while it
/// says the same; when it changes it stays plain JSON.
#[test]
fn incremental_mode_keeps_hand_written_meta_json_files() {
    let temp = tempfile::tempdir().unwrap();
    let project = temp.path();
    let mod_meta =
        "{ // keep me\n  \"ignoreUnknownInstances\": true,\n  \"attributes\": { \"A\": 1 } }\n";
    let folder_meta = "{\n  // the folder's own\n  \"attributes\": { \"B\": true }\n}\n";
    util::write_files(
        project,
        &[
            (
                "default.project.json",
                r#"{ "name": "m", "tree": { "$className": "DataModel", "ReplicatedStorage": { "$path": "src" } } }"#,
            ),
            ("src/Mod.lua", "return 1\n"),
            ("src/Mod.meta.json", mod_meta),
            ("src/Folder/init.meta.json", folder_meta),
            ("src/Folder/Inner.lua", "return 0\n"),
            // only what the place cannot say
            (
                "src/Kept/init.meta.json",
                "{ \"ignoreUnknownInstances\": true }\n",
            ),
            ("src/Kept/Leaf.lua", "return 4\n"),
        ],
    );
    let mut edited = util::build(project);
    util::set_property(
        &mut edited,
        "Mod",
        "Source",
        rbx_dom_weak::types::Variant::String("return 2\n".into()),
    );
    util::set_property(
        &mut edited,
        "Inner",
        "Source",
        rbx_dom_weak::types::Variant::String("return 3\n".into()),
    );
    util::set_property(
        &mut edited,
        "Leaf",
        "Source",
        rbx_dom_weak::types::Variant::String("return 5\n".into()),
    );
    util::run(project, edited, SyncbackMode::Incremental);
    let files = util::tree_bytes(project);
    assert_eq!(
        files[Path::new("src/Kept/init.meta.json")],
        b"{ \"ignoreUnknownInstances\": true }\n"
    );
    assert_eq!(files[Path::new("src/Mod.lua")], b"return 2\n");
    assert_eq!(files[Path::new("src/Mod.meta.json")], mod_meta.as_bytes());
    assert_eq!(
        files[Path::new("src/Folder/init.meta.json")],
        folder_meta.as_bytes()
    );
    assert!(
        !files
            .keys()
            .any(|p| p.to_string_lossy().ends_with(".json5")),
        "{:?}",
        files.keys()
    );

    // A changed value rewrites it, still as JSON.
    let mut edited = util::build(project);
    let mut attributes = rbx_dom_weak::types::Attributes::new();
    attributes.insert("A".to_string(), rbx_dom_weak::types::Variant::Float64(5.0));
    util::set_property(
        &mut edited,
        "Mod",
        "Attributes",
        rbx_dom_weak::types::Variant::Attributes(attributes),
    );
    util::run(project, edited, SyncbackMode::Incremental);
    let text = std::fs::read_to_string(project.join("src/Mod.meta.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).expect(&text);
    assert_eq!(json["attributes"]["A"], 5);
    assert_eq!(json["ignoreUnknownInstances"], true, "{text}");
    assert!(!project.join("src/Mod.meta.json5").exists());
}

#[test]
fn a_project_node_deleted_in_studio_is_warned_about() {
    let temp = util::project_with(&[
        (
            "default.project.json5",
            "{ name: \"p\", tree: { $className: \"DataModel\", ReplicatedStorage: { $path: \"src\", Config: { $className: \"Configuration\" } } } }\n",
        ),
        ("src/A.luau", "return 1\n"),
    ]);
    let project = temp.path();
    let mut place = util::build(project);
    let config = util::find(&place, "Config");
    place.destroy(config);
    let report = util::run(project, place, SyncbackMode::Clean);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("Config") && w.contains("stays in the project file")),
        "{:?}",
        report.warnings
    );
}

/// A service node without `$path` whose instance has children gets a new folder, which
/// must not lie inside another node's `$path` folder (here ReplicatedStorage's `src`):
/// that folder would read it as one more child, and every build would copy the service.
#[test]
fn a_new_path_folder_stays_out_of_other_nodes_folders() {
    let temp = util::project_with(&[
        (
            "default.project.json5",
            "{ name: \"p\", tree: { $className: \"DataModel\", ReplicatedStorage: { $path: \"src\" }, Lighting: {}, Workspace: { $className: \"Workspace\" } } }\n",
        ),
        ("src/A.luau", "return 1\n"),
        // A folder of the user's where the fallback would go: not taken over.
        ("Lighting/notes.md", "mine\n"),
    ]);
    let project = temp.path();
    let edited = || {
        let mut place = util::build(project);
        for service in ["Lighting", "Workspace"] {
            let parent = util::find(&place, service);
            place.insert(
                parent,
                rbx_dom_weak::InstanceBuilder::new("Folder").with_name(format!("{service}Stuff")),
            );
        }
        place
    };
    let (expected, place, again) = (edited(), edited(), edited());
    let report = util::run(project, place, SyncbackMode::Clean);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("it now has $path")),
        "{:?}",
        report.warnings
    );
    assert!(!project.join("src/Lighting").exists());
    assert!(!project.join("src/Workspace").exists());
    assert_eq!(
        std::fs::read_to_string(project.join("Lighting/notes.md")).unwrap(),
        "mine\n"
    );
    assert!(project.join("Lighting~2/LightingStuff").is_dir());
    let differences = round_trip_differences(expected, project);
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    // A second syncback of the same place changes nothing.
    let before = util::tree_bytes(project);
    util::run(project, again, SyncbackMode::Clean);
    assert_eq!(util::tree_bytes(project), before);
}

/// The build reads hidden entries (as Rojo does), but syncback neither writes nor removes
/// them: the instances made from them are left as their files are, instead of gaining a
/// `_vscode` copy on every round trip. With `$path: "."` that includes `.git`.
#[test]
fn hidden_files_and_folders_round_trip_without_copies() {
    let temp = util::project_with(&[
        (
            "default.project.json5",
            "{ name: \"p\", tree: { $className: \"DataModel\", ReplicatedStorage: { $path: \".\" } } }\n",
        ),
        ("A.luau", "return 1\n"),
        (".secret.luau", "return 'hidden'\n"),
        (".vscode/settings.json", "{ \"editor.tabSize\": 4 }\n"),
        (".git/HEAD", "ref: refs/heads/main\n"),
        (".git/refs/heads/main", "0123\n"),
    ]);
    let project = temp.path();
    let before = util::tree_bytes(project);
    for mode in [
        SyncbackMode::Clean,
        SyncbackMode::Incremental,
        SyncbackMode::Clean,
    ] {
        let place = util::build(project);
        let expected = util::build(project);
        let report = util::run(project, place, mode);
        assert!(
            report
                .warnings
                .iter()
                .any(|w| w.contains(".vscode") && w.contains("leaves as it is")),
            "{:?}",
            report.warnings
        );
        assert_eq!(util::tree_bytes(project), before, "{mode:?}");
        let differences = round_trip_differences(expected, project);
        assert!(differences.is_empty(), "{}", differences.join("\n"));
    }
    assert!(!project.join("_vscode").exists());
    assert!(!project.join("_git").exists());
    assert!(!project.join(".git/refs/.gitkeep").exists());
}

/// A script whose only children are left out by `ignoreTrees` / `ignoreClasses` stays a
/// folder with an init file: those children's files stay in that folder, and a script
/// file beside it would build as a second instance.
#[test]
fn a_script_whose_children_the_rules_leave_out_stays_a_folder() {
    for (rules, child_file, child_text) in [
        (
            "ignoreTrees: [\"**/Cache\"]",
            "rs/A/Cache/C.luau",
            "return 'c'\n",
        ),
        (
            "ignoreClasses: [\"Sound\"]",
            "rs/A/S.model.json5",
            "{ className: \"Sound\" }\n",
        ),
    ] {
        let project_file = format!(
            "{{ name: \"p\", syncbackRules: {{ {rules} }}, tree: {{ $className: \"DataModel\", ReplicatedStorage: {{ $path: \"rs\" }} }} }}\n"
        );
        let temp = util::project_with(&[
            ("default.project.json5", project_file.as_str()),
            ("rs/A/init.luau", "return 'a'\n"),
            (child_file, child_text),
        ]);
        let project = temp.path();
        let before = util::tree_bytes(project);
        let expected = util::build(project);
        util::run(project, util::build(project), SyncbackMode::Clean);
        assert_eq!(util::tree_bytes(project), before, "{rules}");
        assert!(!project.join("rs/A.luau").exists(), "{rules}");
        let differences = round_trip_differences(expected, project);
        assert!(
            differences.is_empty(),
            "{rules}: {}",
            differences.join("\n")
        );
    }
}

/// An instance whose file `globIgnorePaths` would keep out of the build is not written
/// (the next build would not have it anyway), with a warning; the project's own ignored
/// files stay as they are.
#[test]
fn instances_whose_files_the_build_ignores_are_not_written() {
    use rbx_dom_weak::InstanceBuilder;
    let temp = util::project_with(&[
        (
            "default.project.json5",
            "{ name: \"p\", globIgnorePaths: [\"**/*.spec.luau\", \"**/tmp\"], tree: { $className: \"DataModel\", ReplicatedStorage: { $path: \"rs\" } } }\n",
        ),
        ("rs/A.luau", "return 1\n"),
        ("rs/A.spec.luau", "return 'test'\n"),
    ]);
    let project = temp.path();
    let mut place = util::build(project);
    let storage = util::find(&place, "ReplicatedStorage");
    place.insert(
        storage,
        InstanceBuilder::new("ModuleScript")
            .with_name("B.spec")
            .with_property("Source", "return 2\n"),
    );
    let tmp = place.insert(storage, InstanceBuilder::new("Folder").with_name("tmp"));
    place.insert(tmp, InstanceBuilder::new("Folder").with_name("Inside"));
    let report = util::run(project, place, SyncbackMode::Clean);
    for name in ["B.spec", "tmp"] {
        assert!(
            report
                .warnings
                .iter()
                .any(|w| w.contains(name) && w.contains("globIgnorePaths")),
            "{name}: {:?}",
            report.warnings
        );
    }
    assert!(!project.join("rs/B.spec.luau").exists());
    assert!(!project.join("rs/tmp").exists());
    assert_eq!(
        std::fs::read_to_string(project.join("rs/A.spec.luau")).unwrap(),
        "return 'test'\n"
    );
    assert!(project.join("rs/A.luau").is_file());
}

/// Incremental mode keeps a node's `$path` file untouched while its instance is
/// unchanged, as it keeps unchanged plain files: a `.json` data module stays JSON and a
/// model file keeps its comments.
#[test]
fn incremental_mode_keeps_unchanged_path_file_nodes() {
    let temp = util::project_with(&[
        (
            "default.project.json5",
            "{ name: \"p\", tree: { $className: \"DataModel\", ReplicatedStorage: { JS: { $path: \"f/Data.json\" }, MJ: { $path: \"f/Thing.model.json5\" } } } }\n",
        ),
        ("f/Data.json", "{\"a\": 1}\n"),
        (
            "f/Thing.model.json5",
            "// thing\n{ className: \"Part\", properties: { Transparency: 0.25 } }\n",
        ),
    ]);
    let project = temp.path();
    let before = util::tree_bytes(project);
    let report = util::run(project, util::build(project), SyncbackMode::Incremental);
    assert!(report.written.is_empty(), "{:?}", report.written);
    assert!(report.removed.is_empty(), "{:?}", report.removed);
    assert_eq!(util::tree_bytes(project), before);

    // A changed node is written again; the unchanged one still stays as it is.
    let mut place = util::build(project);
    util::set_property(
        &mut place,
        "MJ",
        "Transparency",
        rbx_dom_weak::types::Variant::Float32(0.5),
    );
    util::run(project, place, SyncbackMode::Incremental);
    assert_eq!(
        std::fs::read_to_string(project.join("f/Data.json")).unwrap(),
        "{\"a\": 1}\n"
    );
    let thing = std::fs::read_to_string(project.join("f/Thing.model.json5")).unwrap();
    assert!(thing.contains("0.5"), "{thing}");
}

/// A node folder's meta file that still says the same keeps its text, even when it spells
/// out a default value (`Archivable: true`); and the folder it keeps needs no `.gitkeep`.
#[test]
fn a_node_folders_meta_file_that_says_the_same_is_kept() {
    let temp = util::project_with(&[
        (
            "default.project.json5",
            "{ name: \"p\", tree: { $className: \"DataModel\", ReplicatedStorage: { Cfg: { $path: \"cfg\" } } } }\n",
        ),
        (
            "cfg/init.meta.json5",
            "// keep me\n{ className: \"Configuration\", properties: { Archivable: true }, attributes: { A: \"b\" } }\n",
        ),
    ]);
    let project = temp.path();
    let before = util::tree_bytes(project);
    for mode in [SyncbackMode::Clean, SyncbackMode::Incremental] {
        let report = util::run(project, util::build(project), mode);
        assert!(report.written.is_empty(), "{mode:?}: {:?}", report.written);
        assert_eq!(util::tree_bytes(project), before, "{mode:?}");
    }
}

/// Two project nodes with one `$path` folder: when the place has the same contents for
/// both, syncback writes them once; when it has different contents, one would be lost, so
/// nothing is written.
#[test]
fn two_nodes_with_one_path_must_agree() {
    let temp = util::project_with(&[
        (
            "default.project.json5",
            "{ name: \"p\", tree: { $className: \"DataModel\", ReplicatedStorage: { A: { $path: \"shared\" } }, ServerStorage: { B: { $path: \"shared\" } } } }\n",
        ),
        ("shared/M.luau", "return 1\n"),
    ]);
    let project = temp.path();
    let before = util::tree_bytes(project);
    util::run(project, util::build(project), SyncbackMode::Clean);
    assert_eq!(util::tree_bytes(project), before);

    let mut place = util::build(project);
    let modules: Vec<_> = place
        .descendants()
        .filter(|i| i.name == "M")
        .map(|i| i.referent())
        .collect();
    place
        .get_by_ref_mut(modules[1])
        .unwrap()
        .properties
        .insert("Source".into(), "return 2\n".into());
    let project_file = atlas::project::load(project).unwrap();
    let error = atlas::syncback::run(&project_file, place, &Default::default())
        .expect_err("different contents for one file");
    let message = error.to_string();
    assert!(message.contains("shared/M.luau"), "{message}");
    assert!(message.contains("nothing was written"), "{message}");
    assert_eq!(util::tree_bytes(project), before);
}

/// Incremental mode: of two identical same-named siblings, an edit to the first is
/// written to the first's files (`Box/`), so the two keep their order in the build.
#[test]
fn an_edit_to_one_of_identical_namesakes_goes_to_its_own_files() {
    let temp = util::project_with(&[
        (
            "default.project.json5",
            "{ name: \"p\", tree: { $className: \"DataModel\", ReplicatedStorage: { $path: \"src\" } } }\n",
        ),
        ("src/Box/Tag.txt", "x"),
        ("src/Box~2/Tag.txt", "x"),
    ]);
    let project = temp.path();
    let mut place = util::build(project);
    let first_tag = util::find(&place, "Tag");
    place
        .get_by_ref_mut(first_tag)
        .unwrap()
        .properties
        .insert("Value".into(), "changed".into());
    let report = util::run(project, place, SyncbackMode::Incremental);
    assert_eq!(report.written, [Path::new("src/Box/Tag.txt")]);
    assert_eq!(
        std::fs::read_to_string(project.join("src/Box~2/Tag.txt")).unwrap(),
        "x"
    );
}

/// Incremental mode: a model file with inline children stays one model file when a child
/// changes (it was split into a folder of files).
#[test]
fn a_model_file_with_inline_children_stays_one_file() {
    let temp = util::project_with(&[
        (
            "default.project.json5",
            "{ name: \"p\", tree: { $className: \"DataModel\", Workspace: { $path: \"src\" } } }\n",
        ),
        (
            "src/Lamp.model.json5",
            "// Lamp model\n{ className: \"Model\", children: [ { name: \"Bulb\", className: \"Part\", properties: { Transparency: 0.5 } } ] }\n",
        ),
    ]);
    let project = temp.path();
    let edited = || {
        let mut place = util::build(project);
        util::set_property(
            &mut place,
            "Bulb",
            "Transparency",
            rbx_dom_weak::types::Variant::Float32(0.25),
        );
        place
    };
    let expected = edited();
    let report = util::run(project, edited(), SyncbackMode::Incremental);
    assert_eq!(report.written, [Path::new("src/Lamp.model.json5")]);
    assert!(report.removed.is_empty(), "{:?}", report.removed);
    assert!(!project.join("src/Lamp").exists());
    let differences = round_trip_differences(expected, project);
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// Values written in a form place files do not keep (a `Color3` for `Part.Color`, an
/// alias, an old name Roblox migrated, a property never saved) say the same as what the
/// place holds for them: the files that hold them are left as they are, comments
/// included, in both modes, and also when the instance's folder changes.
#[test]
fn values_a_place_holds_in_another_form_leave_their_files_alone() {
    let files = [
        (
            "default.project.json5",
            "// project comment\n{ name: \"p\", tree: { $className: \"DataModel\", Workspace: { $path: \"src\",\n  Base: { $className: \"Part\", $properties: { Color: [1, 0, 0], Anchored: true } },\n  Brick: { $className: \"Part\", $properties: { BrickColor: { BrickColor: 21 }, size: [2, 2, 2] } } } } }\n",
        ),
        (
            "src/Door/init.meta.json5",
            "// door\n{ className: \"Part\", properties: { Color: [0, 1, 0.5], Position: [1, 2, 3] } }\n",
        ),
        ("src/Door/S.server.luau", "print(1)\n"),
        (
            "src/D.model.json5",
            "// decal\n{ className: \"Decal\", properties: { Texture: \"rbxassetid://5\" } }\n",
        ),
        (
            "src/S.model.json5",
            "// sound\n{ className: \"Sound\", properties: { SoundId: \"rbxassetid://7\" } }\n",
        ),
        (
            "src/L.model.json5",
            "// label\n{ className: \"TextLabel\", properties: { Font: \"Arial\" } }\n",
        ),
    ];
    // The place as a place file gives it back.
    let saved_place = |project: &Path| {
        let file = project.join("../place.rbxl");
        atlas::place_file::write(&file, &util::build(project)).unwrap();
        atlas::place_file::read(&file).unwrap()
    };
    for mode in [SyncbackMode::Incremental, SyncbackMode::Clean] {
        let temp = tempfile::tempdir().unwrap();
        let project = temp.path().join("project");
        util::write_files(&project, &files);
        let before = util::tree_bytes(&project);
        let report = util::run(&project, saved_place(&project), mode);
        assert!(!report.project_rewritten, "{mode:?}");
        if mode == SyncbackMode::Incremental {
            assert!(report.written.is_empty(), "{:?}", report.written);
            assert_eq!(util::tree_bytes(&project), before);
        }
    }

    // The door gains a child: its folder is written, and its meta file stays.
    let temp = tempfile::tempdir().unwrap();
    let project = temp.path().join("project");
    util::write_files(&project, &files);
    let mut place = saved_place(&project);
    let door = util::find(&place, "Door");
    place.insert(
        door,
        rbx_dom_weak::InstanceBuilder::new("Folder").with_name("Hinge"),
    );
    let report = util::run(&project, place, SyncbackMode::Incremental);
    assert!(!report.project_rewritten);
    assert_eq!(
        std::fs::read_to_string(project.join("src/Door/init.meta.json5")).unwrap(),
        files[1].1
    );
    assert!(project.join("src/Door/Hinge").is_dir());
}

/// Incremental mode: a nested project in a `$path` folder is left as it is (with a
/// warning) when the place differs from it, rather than written again beside it as plain
/// files (which built both); when its instance is gone, its project file goes too.
#[test]
fn a_nested_project_in_a_path_folder_is_left_alone_or_removed_with_its_instance() {
    let files = [
        (
            "default.project.json5",
            "{ name: \"p\", tree: { $className: \"DataModel\", ReplicatedStorage: { $path: \"src\" } } }\n",
        ),
        (
            "src/Thing.project.json5",
            "// nested\n{ name: \"Thing\", tree: { $className: \"Folder\", Inner: { $className: \"StringValue\", $properties: { Value: \"hey\" } } } }\n",
        ),
        ("src/Other.luau", "return 1\n"),
    ];
    let temp = util::project_with(&files);
    let project = temp.path();
    let before = util::tree_bytes(project);
    let mut place = util::build(project);
    util::set_property(
        &mut place,
        "Inner",
        "Value",
        rbx_dom_weak::types::Variant::String("changed".into()),
    );
    let report = util::run(project, place, SyncbackMode::Incremental);
    assert!(report.written.is_empty(), "{:?}", report.written);
    assert!(report.removed.is_empty(), "{:?}", report.removed);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("Thing.project.json5")),
        "{:?}",
        report.warnings
    );
    assert_eq!(util::tree_bytes(project), before);
    assert_eq!(util::build(project).descendants().count(), 5);

    let mut place = util::build(project);
    let thing = util::find(&place, "Thing");
    place.destroy(thing);
    let report = util::run(project, place, SyncbackMode::Incremental);
    assert_eq!(report.removed, [PathBuf::from("src/Thing.project.json5")]);
    assert!(project.join("src/Other.luau").is_file());
}

/// A folder linked into the project builds as if its target were there, and syncback
/// (both modes) treats it so: the link stays a link, unchanged files behind it are left
/// alone, a changed one is written through it, and it is never an orphan.
#[cfg(unix)]
#[test]
fn a_linked_folder_is_synced_through_and_kept() {
    for mode in [SyncbackMode::Clean, SyncbackMode::Incremental] {
        let temp = util::project_with(&[
            (
                "default.project.json5",
                "{ name: \"p\", tree: { $className: \"DataModel\", ReplicatedStorage: { $path: \"src\" } } }\n",
            ),
            ("src/a/x.luau", "return 1\n"),
        ]);
        let project = temp.path();
        std::os::unix::fs::symlink("a", project.join("src/b")).unwrap();
        let report = util::run(project, util::build(project), mode);
        assert!(report.written.is_empty(), "{mode:?}: {:?}", report.written);
        assert!(report.removed.is_empty(), "{mode:?}: {:?}", report.removed);

        let mut place = util::build(project);
        let b = place
            .descendants()
            .find(|i| i.name == "b")
            .map(|i| i.referent())
            .unwrap();
        let x = place.get_by_ref(b).unwrap().children()[0];
        place.get_by_ref_mut(x).unwrap().properties.insert(
            "Source".into(),
            rbx_dom_weak::types::Variant::String("return 2\n".into()),
        );
        util::run(project, place, mode);
        let link = std::fs::symlink_metadata(project.join("src/b")).unwrap();
        assert!(link.file_type().is_symlink(), "{mode:?}");
        assert_eq!(
            std::fs::read_to_string(project.join("src/b/x.luau")).unwrap(),
            "return 2\n"
        );
    }
}

/// Incremental mode: an `.rbxmx` file whose subtree now holds a string XML cannot hold
/// (a control character) is rewritten in another form instead of as an unreadable file.
#[test]
fn an_xml_model_that_can_no_longer_hold_its_strings_is_rewritten() {
    let temp = util::project_with(&[(
        "default.project.json5",
        "{ name: \"p\", tree: { $className: \"DataModel\", Workspace: { $path: \"src\" } } }\n",
    )]);
    let project = temp.path();
    let mut model =
        rbx_dom_weak::WeakDom::new(rbx_dom_weak::InstanceBuilder::new("Model").with_name("Crate"));
    let root = model.root_ref();
    model.insert(
        root,
        rbx_dom_weak::InstanceBuilder::new("StringValue")
            .with_name("Label")
            .with_property("Value", "plain"),
    );
    std::fs::create_dir_all(project.join("src")).unwrap();
    atlas::place_file::write(&project.join("src/Crate.rbxmx"), &model).unwrap();
    let edited = || {
        let mut place = util::build(project);
        util::set_property(
            &mut place,
            "Label",
            "Value",
            rbx_dom_weak::types::Variant::String("bell\u{7}".into()),
        );
        place
    };
    let expected = edited();
    let report = util::run(project, edited(), SyncbackMode::Incremental);
    assert!(
        report.removed.contains(&PathBuf::from("src/Crate.rbxmx")),
        "{:?}",
        report.removed
    );
    assert!(!project.join("src/Crate.rbxmx").exists());
    let differences = round_trip_differences(expected, project);
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// Incremental mode: a script that gains children becomes a folder, and its meta file
/// moves in as the init meta with its text (comments, `.meta.json` spelling) when it
/// still says the same.
#[test]
fn a_meta_file_moves_with_its_text_into_a_new_folder() {
    for (meta_name, init_meta) in [
        ("Main.meta.json5", "init.meta.json5"),
        ("Main.meta.json", "init.meta.json"),
    ] {
        let meta_text = "// keep me\n{ \"attributes\": { \"Priority\": 5 } }\n";
        let meta_path = format!("src/{meta_name}");
        let temp = util::project_with(&[
            (
                "default.project.json5",
                "{ name: \"p\", tree: { $className: \"DataModel\", ServerScriptService: { $path: \"src\" } } }\n",
            ),
            ("src/Main.server.lua", "print(1)\n"),
            (meta_path.as_str(), meta_text),
        ]);
        let project = temp.path();
        let mut place = util::build(project);
        let main = util::find(&place, "Main");
        place.insert(
            main,
            rbx_dom_weak::InstanceBuilder::new("Folder").with_name("Parts"),
        );
        util::run(project, place, SyncbackMode::Incremental);
        assert!(
            project.join("src/Main/init.server.lua").is_file(),
            "{meta_name}"
        );
        assert_eq!(
            std::fs::read_to_string(project.join("src/Main").join(init_meta)).unwrap(),
            meta_text,
            "{meta_name}"
        );
        assert!(
            !project.join(&meta_path).exists(),
            "{meta_name} left behind"
        );
    }
}

/// Incremental mode: an instance renamed in Studio, otherwise unchanged, keeps its files
/// byte for byte under the new name: a folder with everything in it (`.lua` spellings,
/// comments, an `.rbxm`), or a file with its meta file.
#[test]
fn a_renamed_instance_keeps_its_files_byte_for_byte() {
    let rbxm =
        std::fs::read(common::corpus_dir().join("models/three-unique-parts/binary.rbxm")).unwrap();
    let temp = util::project_with(&[
        (
            "default.project.json5",
            "{ name: \"p\", tree: { $className: \"DataModel\", ReplicatedStorage: { $path: \"src\" } } }\n",
        ),
        ("src/Models/Util.lua", "return 'util'\n"),
        ("src/Models/Util.meta.json", "// cfg\n{ \"attributes\": { \"A\": 1 } }\n"),
        (
            "src/Models/Door.model.json",
            "// door\n{ \"className\": \"Part\", \"properties\": { \"Anchored\": true } }\n",
        ),
        ("src/Models/Empty/.gitkeep", ""),
        ("src/Boot.server.lua", "print('boot')\n"),
        ("src/Boot.meta.json", "// boot\n{ \"attributes\": { \"B\": 2 } }\n"),
    ]);
    let project = temp.path();
    std::fs::write(project.join("src/Models/Asset.rbxm"), &rbxm).unwrap();
    let before = util::tree_bytes(project);
    let edited = || {
        let mut place = util::build(project);
        for (from, to) in [("Models", "Props"), ("Boot", "Start")] {
            let referent = util::find(&place, from);
            place.get_by_ref_mut(referent).unwrap().name = to.to_string();
        }
        place
    };
    let expected = edited();
    let report = util::run(project, edited(), SyncbackMode::Incremental);
    let after = util::tree_bytes(project);
    for (old, new) in [
        ("src/Models/Util.lua", "src/Props/Util.lua"),
        ("src/Models/Util.meta.json", "src/Props/Util.meta.json"),
        ("src/Models/Door.model.json", "src/Props/Door.model.json"),
        ("src/Models/Asset.rbxm", "src/Props/Asset.rbxm"),
        ("src/Models/Empty/.gitkeep", "src/Props/Empty/.gitkeep"),
        ("src/Boot.server.lua", "src/Start.server.lua"),
        ("src/Boot.meta.json", "src/Start.meta.json"),
    ] {
        assert_eq!(
            after.get(Path::new(new)),
            before.get(Path::new(old)),
            "{new}: {:?}",
            report.written
        );
        assert!(!after.contains_key(Path::new(old)), "{old} stayed");
    }
    let differences = round_trip_differences(expected, project);
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    // Nothing left to do.
    let again = util::run(project, util::build(project), SyncbackMode::Incremental);
    assert!(again.written.is_empty(), "{:?}", again.written);
}

/// A renamed folder moves whole: its hidden files and those `globIgnorePaths` keeps out go
/// with it, so the old folder does not stay behind as one more instance.
#[test]
fn a_renamed_folder_takes_its_hidden_and_ignored_files_along() {
    let temp = util::project_with(&[
        (
            "default.project.json5",
            "{ name: \"p\", globIgnorePaths: [\"**/*.spec.lua\"], tree: { $className: \"DataModel\", ReplicatedStorage: { $path: \"src\" } } }\n",
        ),
        ("src/Hidden/Mod.lua", "return 1\n"),
        ("src/Hidden/Mod.spec.lua", "return 'test'\n"),
        ("src/Hidden/.notes", "mine\n"),
    ]);
    let project = temp.path();
    let renamed = || {
        let mut place = util::build(project);
        let hidden = util::find(&place, "Hidden");
        place.get_by_ref_mut(hidden).unwrap().name = "Secret".to_string();
        place
    };
    let expected = renamed();
    util::run(project, renamed(), SyncbackMode::Incremental);
    assert!(!project.join("src/Hidden").exists());
    for (path, text) in [
        ("src/Secret/Mod.lua", "return 1\n"),
        ("src/Secret/Mod.spec.lua", "return 'test'\n"),
        ("src/Secret/.notes", "mine\n"),
    ] {
        assert_eq!(std::fs::read_to_string(project.join(path)).unwrap(), text);
    }
    let differences = round_trip_differences(expected, project);
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// A renamed folder's files move as they are, and references into it from outside and
/// out of it follow: the build of the result points where the place points.
#[test]
fn references_follow_a_renamed_folder() {
    use rbx_dom_weak::types::Variant;
    use rbx_dom_weak::InstanceBuilder;
    let temp = util::project_with(&[
        (
            "default.project.json5",
            "{ name: \"p\", tree: { $className: \"DataModel\", ReplicatedStorage: { $path: \"src\" } } }\n",
        ),
        (
            "src/Models/Door.model.json5",
            "// the door\n{ className: \"Part\" }\n",
        ),
        ("src/Target.luau", "return 1\n"),
    ]);
    let project = temp.path();
    // Files with references: one outside pointing in, one inside pointing out.
    let mut place = util::build(project);
    let (storage, models, door, target) = (
        util::find(&place, "ReplicatedStorage"),
        util::find(&place, "Models"),
        util::find(&place, "Door"),
        util::find(&place, "Target"),
    );
    place.insert(
        storage,
        InstanceBuilder::new("ObjectValue")
            .with_name("In")
            .with_property("Value", Variant::Ref(door)),
    );
    place.insert(
        models,
        InstanceBuilder::new("ObjectValue")
            .with_name("Out")
            .with_property("Value", Variant::Ref(target)),
    );
    place.insert(
        models,
        InstanceBuilder::new("ObjectValue")
            .with_name("Within")
            .with_property("Value", Variant::Ref(door)),
    );
    util::run(project, place, SyncbackMode::Clean);
    // Hand-written touches that only moving the files as they are keeps.
    for file in [
        "src/Models/Door.model.json5",
        "src/Models/Out.model.json5",
        "src/Models/Within.model.json5",
    ] {
        let text = std::fs::read_to_string(project.join(file)).unwrap();
        std::fs::write(project.join(file), format!("// mine\n{text}")).unwrap();
    }
    let renamed = || {
        let mut place = util::build(project);
        let models = util::find(&place, "Models");
        place.get_by_ref_mut(models).unwrap().name = "Props".to_string();
        place
    };
    let before = util::tree_bytes(project);
    let expected = renamed();
    util::run(project, renamed(), SyncbackMode::Incremental);
    assert!(project.join("src/Props").is_dir());
    assert!(!project.join("src/Models").exists());
    let after = util::tree_bytes(project);
    // The folder's files move as they are, the reference out of it included; the one
    // into it, outside, is written again with the new path.
    for name in ["Door.model.json5", "Out.model.json5", "Within.model.json5"] {
        assert_eq!(
            after.get(&Path::new("src/Props").join(name)),
            before.get(&Path::new("src/Models").join(name)),
            "{name}"
        );
    }
    let pointer = std::fs::read_to_string(project.join("src/In.model.json5")).unwrap();
    assert!(pointer.contains("Props/Door"), "{pointer}");
    let differences = round_trip_differences(expected, project);
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// A `$path` file node that gains children moves into a folder; its old adjacent meta file
/// moves in as the folder's init meta (keeping its text and spelling in incremental mode
/// while it says the same), not left behind and not folded into the project file.
#[test]
fn a_path_file_that_becomes_a_folder_takes_its_meta_file_along() {
    for mode in [SyncbackMode::Incremental, SyncbackMode::Clean] {
        let temp = util::project_with(&[
            (
                "default.project.json5",
                "{ name: \"p\", tree: { $className: \"DataModel\", ServerScriptService: { Boot: { $path: \"boot/Boot.server.lua\" } } } }\n",
            ),
            ("boot/Boot.server.lua", "print(1)\n"),
            ("boot/Boot.meta.json", "{ \"attributes\": { \"A\": 1 } }\n"),
        ]);
        let project = temp.path();
        let edited = || {
            let mut place = util::build(project);
            let boot = util::find(&place, "Boot");
            place.insert(
                boot,
                rbx_dom_weak::InstanceBuilder::new("ModuleScript")
                    .with_name("Child")
                    .with_property("Source", "return 1\n"),
            );
            place
        };
        let expected = edited();
        let before = std::fs::read_to_string(project.join("boot/Boot.meta.json")).unwrap();
        util::run(project, edited(), mode);
        assert!(!project.join("boot/Boot.meta.json").exists(), "left behind");
        let project_text = std::fs::read_to_string(project.join("default.project.json5")).unwrap();
        assert!(!project_text.contains("attributes"), "{project_text}");
        if mode == SyncbackMode::Incremental {
            assert_eq!(
                std::fs::read_to_string(project.join("boot/Boot/init.meta.json")).unwrap(),
                before
            );
        }
        let differences = round_trip_differences(expected, project);
        assert!(
            differences.is_empty(),
            "{mode:?}: {}",
            differences.join("\n")
        );
    }
}

/// A chain of 400 nested folders (far deeper than real places) with a script and a model
/// at the bottom syncs back in both modes and builds to the same tree: no phase collects
/// paths in a way that blows up on a deep place. Folders are read recursively, so this runs
/// on threads with the stack `atlas` gives its own (debug builds use far more per level).
#[test]
fn a_very_deep_place_round_trips() {
    rayon::ThreadPoolBuilder::new()
        .stack_size(atlas::THREAD_STACK_SIZE)
        .build()
        .unwrap()
        .install(deep_place_round_trips);
}

fn deep_place_round_trips() {
    use rbx_dom_weak::InstanceBuilder;
    let place = || {
        let mut node = InstanceBuilder::new("Folder")
            .with_name("Bottom")
            .with_child(
                InstanceBuilder::new("ModuleScript")
                    .with_name("Leaf")
                    .with_property("Source", "return 'deep'\n"),
            )
            .with_child(InstanceBuilder::new("Part").with_name("Stone"));
        for level in (0..400).rev() {
            node = InstanceBuilder::new("Folder")
                .with_name(format!("L{level}"))
                .with_child(node);
        }
        let workspace = InstanceBuilder::new("Workspace")
            .with_name("Workspace")
            .with_child(node);
        rbx_dom_weak::WeakDom::new(InstanceBuilder::new("DataModel").with_child(workspace))
    };
    let temp = tempfile::tempdir().unwrap();
    util::write_standard_project(temp.path());
    util::run(temp.path(), place(), SyncbackMode::Clean);
    let differences = round_trip_differences(place(), temp.path());
    assert!(differences.is_empty(), "{differences:#?}");
    let before = util::tree_bytes(temp.path());
    let report = util::run(temp.path(), place(), SyncbackMode::Incremental);
    assert!(report.written.is_empty(), "rewrote {:?}", report.written);
    assert_eq!(util::tree_bytes(temp.path()), before);
}

/// A project as users write it by hand: a meta file with a string attribute (place files
/// store those as bytes) and data modules in JSON5, TOML and YAML. An incremental syncback
/// of the place built from it leaves every file alone; once the place changes a data
/// module, that module becomes a `.luau` file of its own name (not `Arena~2.luau`) and
/// keeps its meta file.
#[test]
fn incremental_mode_keeps_hand_written_files_and_converts_changed_data_modules() {
    let temp = tempfile::tempdir().unwrap();
    util::write_standard_project(temp.path());
    let shared = temp.path().join("src").join("shared");
    for service in ["server", "workspace"] {
        let dir = temp.path().join("src").join(service);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(".gitkeep"), "").unwrap();
    }
    std::fs::create_dir_all(&shared).unwrap();
    let meta = "{ attributes: { Owner: \"Design\" } }\n";
    let files = [
        ("Plain.luau", "return 1\n"),
        ("Plain.meta.json5", meta),
        ("Arena.toml", "gravity = 196.2\n"),
        ("Arena.meta.json5", meta),
        ("Quests.yaml", "name: Board\nsteps: [gather, return]\n"),
        ("Settings.json5", "{ speed: 16 }\n"),
    ];
    for (name, text) in files {
        std::fs::write(shared.join(name), text).unwrap();
    }
    let build = |output: &str| {
        let built = atlas(&["build", ".", "-o", output], temp.path());
        assert!(built.status.success(), "{built:?}");
    };
    build("place.rbxl");
    let before = util::tree_bytes(temp.path());
    let synced = atlas(
        &["syncback", ".", "--input", "place.rbxl", "--incremental"],
        temp.path(),
    );
    assert!(synced.status.success(), "{synced:?}");
    assert_eq!(util::tree_bytes(temp.path()), before);

    std::fs::write(shared.join("Arena.toml"), "gravity = 10\n").unwrap();
    build("changed.rbxl");
    std::fs::write(shared.join("Arena.toml"), "gravity = 196.2\n").unwrap();
    let synced = atlas(
        &["syncback", ".", "--input", "changed.rbxl", "--incremental"],
        temp.path(),
    );
    assert!(synced.status.success(), "{synced:?}");
    let mut names: Vec<String> = std::fs::read_dir(&shared)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "Arena.luau",
            "Arena.meta.json5",
            "Plain.luau",
            "Plain.meta.json5",
            "Quests.yaml",
            "Settings.json5"
        ]
    );
    assert_eq!(
        std::fs::read_to_string(shared.join("Arena.luau")).unwrap(),
        "return {\n\tgravity = 10,\n}"
    );
    assert_eq!(
        std::fs::read_to_string(shared.join("Plain.meta.json5")).unwrap(),
        meta
    );
}

/// A project with files that a syncback of `sample_place` overwrites, keeps and removes.
fn project_with_history(dir: &Path) {
    util::write_standard_project(dir);
    util::run(dir, util::sample_place(), SyncbackMode::Clean);
    let shared = dir.join("src").join("shared");
    std::fs::write(shared.join("Data").join("Module.luau"), "return 'edited'\n").unwrap();
    std::fs::write(shared.join("Stale.luau"), "return 'stale'\n").unwrap();
    std::fs::create_dir_all(shared.join("OldDir").join("Inner")).unwrap();
    std::fs::write(
        shared.join("OldDir").join("Inner").join("x.luau"),
        "return 1\n",
    )
    .unwrap();
    std::fs::remove_file(shared.join("Folder1").join("Note.txt")).unwrap();
}

#[test]
fn a_failed_write_leaves_the_project_as_it_was() {
    let temp = tempfile::tempdir().unwrap();
    project_with_history(temp.path());
    let files_before = util::tree_bytes(temp.path());
    let dirs_before = util::tree_dirs(temp.path());
    let project = atlas::project::load(temp.path()).unwrap();
    // Two files are rewritten and two orphans removed: fail at each step.
    for fail_after in [0, 1, 2, 3] {
        let options = atlas::syncback::SyncbackOptions {
            fail_after: Some(fail_after),
            ..Default::default()
        };
        let error = atlas::syncback::run(&project, util::sample_place(), &options).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("restored"), "{message}");
        assert_eq!(
            util::tree_bytes(temp.path()),
            files_before,
            "after failing at {fail_after}"
        );
        assert_eq!(util::tree_dirs(temp.path()), dirs_before);
    }
    // The syncback before the failed ones can still be undone: its backup was set aside,
    // not deleted, while they wrote.
    let restored = atlas::syncback::undo(temp.path()).expect("the earlier syncback's undo");
    assert!(!restored.deleted.is_empty() || !restored.restored.is_empty());
    assert!(!atlas::syncback::backup_exists(temp.path()));
}

#[test]
fn a_file_that_cannot_be_replaced_does_not_fail_the_restore() {
    let temp = util::project_with(&[
        ("default.project.json5", "{ name: \"p\", tree: { $className: \"DataModel\", ReplicatedStorage: { $path: \"src\" } } }\n"),
        ("src/A.luau", "return 'old'\n"),
    ]);
    let project = temp.path();
    let mut place = util::build(project);
    util::set_property(
        &mut place,
        "A",
        "Source",
        rbx_dom_weak::types::Variant::String("return 'new'\n".into()),
    );
    let before = util::tree_bytes(project);
    // `A.luau` is immutable: the write fails, and the restore finds it as it was, which
    // is not a failure of the restore.
    let Some(lock) = common::Unwritable::new(&project.join("src/A.luau")) else {
        eprintln!("cannot make a file immutable here (not root, no chattr); skipped");
        return;
    };
    let loaded = atlas::project::load(project).unwrap();
    let error = atlas::syncback::run(&loaded, place, &Default::default()).unwrap_err();
    drop(lock);
    let message = error.to_string();
    assert!(message.contains("the project was restored"), "{message}");
    assert_eq!(util::tree_bytes(project), before);
}

#[test]
fn undo_restores_every_byte() {
    let temp = tempfile::tempdir().unwrap();
    project_with_history(temp.path());
    // A link to nothing (an editor's lock file, say) makes no instance: clean mode
    // removes it, and the undo must put it back.
    let link = temp.path().join("src/shared/Broken.md");
    std::os::unix::fs::symlink("nowhere", &link).unwrap();
    let files_before = util::tree_bytes(temp.path());
    let dirs_before = util::tree_dirs(temp.path());
    let report = util::run(temp.path(), util::sample_place(), SyncbackMode::Clean);
    assert!(std::fs::symlink_metadata(&link).is_err(), "the link stayed");
    assert!(
        report.removed.iter().any(|p| p.ends_with("Stale.luau")),
        "{:?}",
        report.removed
    );
    assert!(
        report.removed.iter().any(|p| p.ends_with("OldDir")),
        "{:?}",
        report.removed
    );
    assert_ne!(util::tree_bytes(temp.path()), files_before);
    atlas::syncback::undo(temp.path()).unwrap();
    assert_eq!(util::tree_bytes(temp.path()), files_before);
    assert_eq!(util::tree_dirs(temp.path()), dirs_before);
    assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("nowhere"));
    assert!(
        atlas::syncback::undo(temp.path()).is_err(),
        "a second undo has nothing to restore"
    );
}

/// An undo after the user edited files the syncback wrote keeps those edits: each edited
/// file is copied to `.atlas/kept-edits/<time>/` before the project is put back.
#[test]
fn undo_keeps_copies_of_files_edited_since_the_syncback() {
    let temp = tempfile::tempdir().unwrap();
    project_with_history(temp.path());
    let files_before = util::tree_bytes(temp.path());
    let report = util::run(temp.path(), util::sample_place(), SyncbackMode::Clean);
    let overwritten = Path::new("src/shared/Data/Module.luau");
    assert!(
        report.written.iter().any(|p| p == overwritten),
        "{:?}",
        report.written
    );
    let created = Path::new("src/shared/Folder1/Note.txt");
    assert!(
        report.written.iter().any(|p| p == created),
        "{:?}",
        report.written
    );
    std::fs::write(temp.path().join(overwritten), "return 'my edit'\n").unwrap();
    std::fs::write(temp.path().join(created), "my note\n").unwrap();

    let restored = atlas::syncback::undo(temp.path()).unwrap();
    assert_eq!(util::tree_bytes(temp.path()), files_before);
    assert_eq!(
        restored.kept_edits,
        [overwritten.to_path_buf(), created.to_path_buf()]
    );
    let kept_in = restored.kept_in.expect("where the edits are");
    assert!(kept_in.starts_with(temp.path().join(".atlas/kept-edits")));
    assert_eq!(
        std::fs::read_to_string(kept_in.join(overwritten)).unwrap(),
        "return 'my edit'\n"
    );
    assert_eq!(
        std::fs::read_to_string(kept_in.join(created)).unwrap(),
        "my note\n"
    );

    // Without edits, nothing is kept aside.
    util::run(temp.path(), util::sample_place(), SyncbackMode::Clean);
    let restored = atlas::syncback::undo(temp.path()).unwrap();
    assert!(restored.kept_edits.is_empty());
    assert!(restored.kept_in.is_none());
}

#[test]
fn unchanged_files_keep_their_modification_time() {
    let temp = tempfile::tempdir().unwrap();
    util::write_standard_project(temp.path());
    util::run(temp.path(), util::sample_place(), SyncbackMode::Clean);
    let file = temp
        .path()
        .join("src")
        .join("shared")
        .join("Data")
        .join("Module.luau");
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(old)
        .unwrap();
    util::run(temp.path(), util::sample_place(), SyncbackMode::Clean);
    assert_eq!(std::fs::metadata(&file).unwrap().modified().unwrap(), old);
}

fn atlas(args: &[&str], dir: &Path) -> std::process::Output {
    std::process::Command::new(common::atlas_bin())
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

/// A model into a place project, or a place into a model project, would replace the
/// project's root: refused before anything is written.
#[test]
fn cli_refuses_a_place_for_a_model_project_and_the_other_way_round() {
    let temp = tempfile::tempdir().unwrap();
    let place_project = temp.path().join("place");
    util::write_standard_project(&place_project);
    util::run(&place_project, util::sample_place(), SyncbackMode::Clean);
    let model_project = temp.path().join("model");
    util::write_files(
        &model_project,
        &[
            (
                "default.project.json5",
                "{ name: \"m\", tree: { $className: \"Folder\", $path: \"src\" } }\n",
            ),
            ("src/A.luau", "return 1\n"),
        ],
    );
    write_sample_place(&temp.path().join("game.rbxl"));
    atlas::place_file::write(
        &temp.path().join("thing.rbxm"),
        &util::build(&model_project),
    )
    .unwrap();
    for (project, input, says) in [
        (&place_project, "thing.rbxm", "builds a place"),
        (&model_project, "game.rbxl", "builds a model"),
    ] {
        let before = util::tree_bytes(project);
        let output = atlas(
            &[
                "syncback",
                project.to_str().unwrap(),
                "--input",
                input,
                "-y",
            ],
            temp.path(),
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{input}: {stderr}");
        assert!(stderr.contains(says), "{input}: {stderr}");
        assert!(stderr.contains("nothing was written"), "{stderr}");
        assert_eq!(util::tree_bytes(project), before, "{input}");
    }
}

fn write_sample_place(path: &Path) {
    atlas::place_file::write(path, &util::sample_place()).unwrap();
}

/// A reference whose path would go through a project node key holding `/` cannot be
/// spelled (the build splits paths on `/`): it is dropped with a warning saying why,
/// instead of being written as a path that resolves to nothing.
#[test]
fn a_reference_through_a_name_with_a_slash_is_warned_about() {
    use rbx_dom_weak::types::Variant;
    use rbx_dom_weak::InstanceBuilder;
    let temp = util::project_with(&[
        (
            "default.project.json5",
            "{ name: \"p\", tree: { $className: \"DataModel\", ReplicatedStorage: { $path: \"rs\" }, Workspace: { \"Odd/Name\": { $className: \"Model\", P: { $className: \"Part\" } } } } }\n",
        ),
        ("rs/A.luau", "return 1\n"),
    ]);
    let project = temp.path();
    let mut place = util::build(project);
    let part = util::find(&place, "P");
    let storage = util::find(&place, "ReplicatedStorage");
    place.insert(
        storage,
        InstanceBuilder::new("ObjectValue")
            .with_name("Pointer")
            .with_property("Value", Variant::Ref(part)),
    );
    let report = util::run(project, place, SyncbackMode::Clean);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("Pointer.Value") && w.contains("cannot be spelled")),
        "{:?}",
        report.warnings
    );
    let pointer = std::fs::read_to_string(project.join("rs/Pointer.model.json5")).unwrap();
    assert!(!pointer.contains("Rojo_Ref_Value"), "{pointer}");
}

#[test]
fn references_that_syncback_cannot_follow_are_warned_about() {
    use rbx_dom_weak::types::Variant;
    use rbx_dom_weak::InstanceBuilder;
    let temp = tempfile::tempdir().unwrap();
    util::write_files(
        temp.path(),
        &[(
            "default.project.json5",
            "{ name: \"p\", tree: { $className: \"DataModel\", ReplicatedStorage: { $path: \"src\" } } }\n",
        )],
    );
    let mut dom = rbx_dom_weak::WeakDom::new(InstanceBuilder::new("DataModel"));
    let root = dom.root_ref();
    let workspace = dom.insert(
        root,
        InstanceBuilder::new("Workspace").with_name("Workspace"),
    );
    let camera = dom.insert(
        workspace,
        InstanceBuilder::new("Camera").with_name("Camera"),
    );
    let wheel = dom.insert(workspace, InstanceBuilder::new("Part").with_name("Wheel"));
    dom.get_by_ref_mut(workspace)
        .unwrap()
        .properties
        .insert("CurrentCamera".into(), Variant::Ref(camera));
    let storage = dom.insert(
        root,
        InstanceBuilder::new("ReplicatedStorage").with_name("ReplicatedStorage"),
    );
    dom.insert(
        storage,
        InstanceBuilder::new("ObjectValue")
            .with_name("ToWheel")
            .with_property("Value", Variant::Ref(wheel)),
    );
    dom.insert(
        storage,
        InstanceBuilder::new("ObjectValue")
            .with_name("ToCamera")
            .with_property("Value", Variant::Ref(camera)),
    );
    let report = util::run(temp.path(), dom, SyncbackMode::Clean);
    let warned = |what: &str| report.warnings.iter().any(|w| w.contains(what));
    assert!(
        warned("ReplicatedStorage/ToWheel.Value points at Workspace/Wheel"),
        "{:?}",
        report.warnings
    );
    assert!(warned("ToCamera.Value points at the workspace camera"));
    assert!(!warned("Workspace.CurrentCamera"), "{:?}", report.warnings);
    let text = std::fs::read_to_string(temp.path().join("src/ToWheel.model.json5")).unwrap();
    assert!(text.contains("@game/Workspace/Wheel"), "{text}");
}

/// A node whose `$path` lies deeper inside its parent's `$path` folder is read twice by
/// the build; syncback says so instead of silently adding a copy.
#[test]
fn a_node_deeper_inside_its_parents_folder_is_warned_about() {
    let temp = util::project_with(&[
        (
            "default.project.json5",
            "{ name: \"p\", tree: { $className: \"DataModel\", ReplicatedStorage: { $path: \"src\", Deep: { $path: \"src/a/b\" } } } }\n",
        ),
        ("src/a/b/M.luau", "return 1\n"),
    ]);
    let project = temp.path();
    let report = util::run(project, util::build(project), SyncbackMode::Clean);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("ReplicatedStorage.Deep")
                && w.contains("lies inside its parent's $path src")),
        "{:?}",
        report.warnings
    );
}

#[test]
fn a_node_inside_its_parents_folder_is_written_once() {
    // Builds the project, syncs the place back twice and checks the files never change;
    // gives each run's report and the project.
    let stays_as_written = |project_text: &str, files: &[(&str, &str)]| {
        let mut all = vec![("default.project.json5", project_text)];
        all.extend_from_slice(files);
        let temp = util::project_with(&all);
        let project = temp.path();
        let before = util::tree_bytes(project);
        let reports: Vec<_> = (0..2)
            .map(|_| {
                let report = util::run(project, util::build(project), SyncbackMode::Clean);
                assert_eq!(util::tree_bytes(project), before, "{:?}", report.written);
                report
            })
            .collect();
        (reports, temp)
    };

    // The build reads src/Lib twice (the node, and an entry of src), so the place holds two
    // Libs; syncback must not write the second as src/Lib~2, which would add a third.
    let (reports, _) = stays_as_written(
        r#"{ name: "n", tree: { $className: "DataModel", ReplicatedStorage: { $path: "src", Lib: { $path: "src/Lib" } } } }"#,
        &[
            ("src/Lib/init.luau", "return {}\n"),
            ("src/Lib/X.luau", "return 1\n"),
            ("src/Other.luau", "return 2\n"),
        ],
    );
    for report in &reports {
        assert!(
            report.warnings.iter().any(|w| w.contains("read twice")),
            "{:?}",
            report.warnings
        );
    }

    // The double is the sibling that says what the node says, not any sibling of that
    // name: a Folder `Foo` beside the node's `Foo.luau` is a sibling of its own.
    let (_, temp) = stays_as_written(
        r#"{ name: "n", tree: { $className: "DataModel", ReplicatedStorage: { $path: "src", X: { $path: "src/Foo.luau" } } } }"#,
        &[("src/Foo/Kid/.gitkeep", ""), ("src/Foo.luau", "return 1\n")],
    );
    assert!(temp.path().join("src/Foo/Kid").is_dir());

    // A node with values and child nodes of its own: its double in the folder has
    // neither, and is still its double.
    stays_as_written(
        r#"{ name: "n", tree: { $className: "DataModel", ReplicatedStorage: { $path: "src", X: { $path: "src/Foo.luau", $attributes: { A: 1 } }, Shared: { $path: "src/Shared", Extra: { $className: "Folder" } } } } }"#,
        &[
            ("src/Foo.luau", "return 1\n"),
            ("src/Shared/M.luau", "return 2\n"),
        ],
    );
}

#[test]
fn a_link_to_nothing_where_a_file_goes_is_replaced_not_written_through() {
    let temp = tempfile::tempdir().unwrap();
    let project = temp.path().join("project");
    util::write_files(
        &project,
        &[
            (
                "default.project.json5",
                "{ name: \"p\", tree: { $className: \"DataModel\", ReplicatedStorage: { $path: \"src\" } } }\n",
            ),
            ("src/Other.luau", "return 0\n"),
        ],
    );
    let mut place = util::build(&project);
    let storage = place
        .descendants()
        .find(|i| i.class == "ReplicatedStorage")
        .unwrap()
        .referent();
    place.insert(
        storage,
        rbx_dom_weak::InstanceBuilder::new("ModuleScript")
            .with_name("Foo")
            .with_property("Source", "return 1\n"),
    );
    let link = project.join("src/Foo.luau");
    std::os::unix::fs::symlink("../../outside/Foo.luau", &link).unwrap();
    util::run(&project, place, SyncbackMode::Clean);
    assert!(
        !temp.path().join("outside").exists(),
        "written through the link"
    );
    assert_eq!(std::fs::read_to_string(&link).unwrap(), "return 1\n");
    assert!(!std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    atlas::syncback::undo(&project).unwrap();
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        Path::new("../../outside/Foo.luau")
    );
}

#[test]
fn unknown_classes_are_written_and_warned_about_once() {
    use rbx_dom_weak::InstanceBuilder;
    let temp = tempfile::tempdir().unwrap();
    util::write_standard_project(temp.path());
    let storage = InstanceBuilder::new("ReplicatedStorage")
        .with_name("ReplicatedStorage")
        .with_child(InstanceBuilder::new("Prt").with_name("A"))
        .with_child(InstanceBuilder::new("Prt").with_name("B"));
    let place = rbx_dom_weak::WeakDom::new(InstanceBuilder::new("DataModel").with_child(storage));
    let report = util::run(temp.path(), place, SyncbackMode::Clean);
    let about_prt: Vec<_> = report
        .warnings
        .iter()
        .filter(|w| w.contains("Prt"))
        .collect();
    assert_eq!(about_prt.len(), 1, "{:?}", report.warnings);
    assert!(about_prt[0].contains("(2 instances)"), "{}", about_prt[0]);
    let built = util::build(temp.path());
    assert_eq!(built.descendants().filter(|i| i.class == "Prt").count(), 2);
}

#[test]
fn cli_never_removes_the_place_it_reads() {
    // `$path: "."`: the place saved in the project folder lies in a synced folder and makes
    // no instance, so clean mode would take it for an orphan.
    let temp = util::project_with(&[
        (
            "default.project.json5",
            "{ name: \"p\", tree: { $className: \"DataModel\", ReplicatedStorage: { $path: \".\" } } }\n",
        ),
        ("Module.luau", "return 1\n"),
        ("notes.md", "no instance: an orphan\n"),
    ]);
    let project = temp.path();
    atlas::place_file::write(&project.join("place.rbxlx"), &util::build(project)).unwrap();
    let output = atlas(&["syncback", ".", "--input", "place.rbxlx"], project);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        project.join("place.rbxlx").is_file(),
        "the input was removed"
    );
    assert!(!project.join("notes.md").exists(), "other orphans still go");
    assert!(project.join("Module.luau").is_file());
}

/// Ctrl-C while a syncback writes stops it and puts every file back: the project is
/// never left half written. (The test holds the writes after the first file, through
/// `ATLAS_TEST_PAUSE_WRITES_AFTER`, then sends a real SIGINT.)
#[cfg(unix)]
#[test]
fn ctrl_c_during_the_writes_puts_the_project_back() {
    use std::io::{BufRead, BufReader};
    let temp = tempfile::tempdir().unwrap();
    let project = temp.path().join("project");
    project_with_history(&project);
    let place = temp.path().join("place.rbxl");
    write_sample_place(&place);
    let files_before = util::tree_bytes(&project);
    let dirs_before = util::tree_dirs(&project);

    let mut child = std::process::Command::new(common::atlas_bin())
        .args(["syncback", "project", "--input", "place.rbxl", "-y"])
        .current_dir(temp.path())
        .env("ATLAS_TEST_PAUSE_WRITES_AFTER", "1")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            panic!("atlas ended before its writes were held: {seen}");
        }
        seen.push_str(&line);
        if line.contains("writes paused for a test") {
            break;
        }
    }
    // SAFETY: sends SIGINT to the child this test started.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    seen.push_str(&rest);
    assert_eq!(status.code(), Some(130), "{seen}");
    assert!(seen.contains("stopped by Ctrl-C"), "{seen}");
    assert!(seen.contains("put back as it was"), "{seen}");
    assert_eq!(util::tree_bytes(&project), files_before);
    assert_eq!(util::tree_dirs(&project), dirs_before);
}

#[test]
fn cli_list_dry_run_undo_and_no_prompt() {
    let temp = tempfile::tempdir().unwrap();
    let project = temp.path().join("project");
    project_with_history(&project);
    let place = temp.path().join("place.rbxl");
    write_sample_place(&place);
    let before = util::tree_bytes(&project);

    let output = atlas(
        &[
            "syncback",
            "project",
            "--input",
            "place.rbxl",
            "--dry-run",
            "--list",
        ],
        temp.path(),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("Writing src/shared/Data/Module.luau"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Writing src/shared/Folder1/Note.txt"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Removing src/shared/Stale.luau"),
        "{stdout}"
    );
    assert!(stdout.contains("Removing src/shared/OldDir"), "{stdout}");
    assert!(
        !stdout.contains("Removing src/shared/OldDir/"),
        "only the top-most orphan: {stdout}"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("Would write"));
    assert_eq!(
        util::tree_bytes(&project),
        before,
        "--dry-run wrote something"
    );

    // stdin is not a terminal: no question, the syncback just runs.
    let output = atlas(
        &["syncback", "project", "--input", "place.rbxl"],
        temp.path(),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("Continue?"), "{stderr}");
    assert!(stderr.contains("removed"), "{stderr}");
    assert!(!project.join("src/shared/Stale.luau").exists());

    let output = atlas(&["syncback", "project", "--undo"], temp.path());
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        util::tree_bytes(&project),
        before,
        "--undo did not restore the project"
    );
}

#[test]
fn cli_reports_bad_inputs_clearly() {
    let temp = tempfile::tempdir().unwrap();
    util::write_standard_project(temp.path());
    let output = atlas(&["syncback", ".", "--input", "missing.rbxl"], temp.path());
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("missing.rbxl") && stderr.contains("does not exist"),
        "{stderr}"
    );

    std::fs::write(temp.path().join("place.zip"), b"zip").unwrap();
    let output = atlas(&["syncback", ".", "--input", "place.zip"], temp.path());
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("place.zip") && stderr.contains(".rbxl"),
        "{stderr}"
    );

    let output = atlas(&["syncback", "."], temp.path());
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--input"));

    let output = atlas(&["syncback", ".", "--undo"], temp.path());
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("nothing to undo"));

    // A place cut short: rbx_binary panics on it; that is an error, with no panic report.
    write_sample_place(&temp.path().join("whole.rbxl"));
    let whole = std::fs::read(temp.path().join("whole.rbxl")).unwrap();
    std::fs::write(temp.path().join("cut.rbxl"), &whole[..48]).unwrap();
    let before = util::tree_bytes(temp.path());
    let output = std::process::Command::new(common::atlas_bin())
        .args(["syncback", ".", "--input", "cut.rbxl", "-y"])
        .current_dir(temp.path())
        .env("RUST_BACKTRACE", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cut.rbxl") && stderr.contains("cut short or corrupt"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(util::tree_bytes(temp.path()), before);
}

#[test]
fn cli_syncs_every_input_kind() {
    let temp = tempfile::tempdir().unwrap();
    for extension in ["rbxl", "rbxlx", "rbxm", "rbxmx"] {
        let project = temp.path().join(extension);
        if extension.starts_with("rbxl") {
            util::write_standard_project(&project);
        } else {
            util::write_model_project(&project, "Model");
        }
        let input = temp.path().join(format!("input.{extension}"));
        write_sample_place(&input);
        let output = atlas(
            &["syncback", extension, "--input", input.to_str().unwrap()],
            temp.path(),
        );
        assert!(
            output.status.success(),
            "{extension}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let files = util::tree_bytes(&project);
        let modules = files
            .keys()
            .filter(|p| p.to_string_lossy().ends_with("Module.luau"))
            .count();
        assert_eq!(
            modules,
            20,
            "{extension}: {:?}",
            files.keys().collect::<Vec<_>>()
        );
    }
}

#[test]
fn files_the_project_ignores_are_never_orphans() {
    let temp = tempfile::tempdir().unwrap();
    let project = temp.path();
    let files = [
        ("default.project.json5", "{ name: \"p\", globIgnorePaths: [\"**/*.spec.lua\", \"src/vendor/**\"], syncbackRules: { ignorePaths: [\"**/notes.md\"] }, tree: { $className: \"DataModel\", ReplicatedStorage: { $path: \"src\" } } }\n"),
        ("src/Mod.lua", "return 1\n"),
        ("src/Mod.spec.lua", "return function() end\n"),
        ("src/tests/only/Deep.spec.lua", "return function() end\n"),
        ("src/vendor/init.lua", "return 2\n"),
        ("src/docs/more/notes.md", "kept\n"),
        ("src/Lib/Lib.spec.lua", "return function() end\n"),
        ("src/Lib/init.lua", "return 3\n"),
    ];
    util::write_files(project, &files);
    let dom = util::build(project);
    for mode in [SyncbackMode::Clean, SyncbackMode::Incremental] {
        util::run(project, util::build(project), mode);
        let after = util::tree_bytes(project);
        for (path, text) in &files[2..files.len() - 1] {
            assert_eq!(
                after.get(Path::new(path)).map(Vec::as_slice),
                Some(text.as_bytes()),
                "{mode:?}: {path} was removed or changed; files now: {:?}",
                after.keys().collect::<Vec<_>>()
            );
        }
        // A script whose folder holds an ignored file stays that folder's init script.
        assert!(!after.contains_key(Path::new("src/Lib.luau")), "{mode:?}");
        // Folders holding only ignored files are not empty: no marker is added to them.
        for marker in ["src/tests/only/.gitkeep", "src/docs/more/.gitkeep"] {
            assert!(!after.contains_key(Path::new(marker)), "{mode:?}: {marker}");
        }
        let rebuilt = util::build(project);
        let differences = compare(
            &dom,
            dom.root_ref(),
            &rebuilt,
            rebuilt.root_ref(),
            CompareOptions {
                unordered_children: true,
                missing_is_default: true,
            },
        );
        assert!(differences.is_empty(), "{}", differences.join("\n"));
    }
}

#[test]
fn a_path_to_the_project_folder_syncs_and_keeps_the_project_file() {
    // `$path: "."`: the project's own folder is ReplicatedStorage.
    let temp = tempfile::tempdir().unwrap();
    let project = temp.path();
    let project_text = "{ name: \"p\", tree: { $className: \"DataModel\", ReplicatedStorage: { $path: \".\" } } }\n";
    util::write_files(
        project,
        &[
            ("default.project.json5", project_text),
            ("Top.luau", "return 1\n"),
        ],
    );
    let mut place = util::build(project);
    util::set_property(
        &mut place,
        "Top",
        "Source",
        rbx_dom_weak::types::Variant::String("return 2\n".into()),
    );
    util::run(project, place, SyncbackMode::Clean);
    let after = util::tree_bytes(project);
    assert_eq!(after[Path::new("Top.luau")], b"return 2\n");
    assert_eq!(
        after[Path::new("default.project.json5")],
        project_text.as_bytes()
    );

    // `$path: "../"` from a project in a subfolder: that subfolder is a child, and the
    // project file in it stays (it is the project, not an orphan).
    let temp = tempfile::tempdir().unwrap();
    let outer = temp.path();
    let project_text = "{ name: \"s\", tree: { $className: \"DataModel\", ReplicatedStorage: { $path: \"../\" } } }\n";
    util::write_files(
        outer,
        &[
            ("sub/default.project.json5", project_text),
            ("M.luau", "return 1\n"),
        ],
    );
    let project = outer.join("sub");
    util::run(&project, util::build(&project), SyncbackMode::Clean);
    let after = util::tree_bytes(outer);
    assert_eq!(
        after[Path::new("sub/default.project.json5")],
        project_text.as_bytes()
    );
    assert!(
        !after.contains_key(Path::new("sub/.gitkeep")),
        "{:?}",
        after.keys()
    );
    assert_eq!(after[Path::new("M.luau")], b"return 1\n");
}

#[test]
fn a_rojo_template_project_syncs_without_change() {
    // The classic Rojo template: plain JSON, and service values place files never keep
    // (FilteringEnabled, HttpEnabled) or that the place cannot tell apart from them.
    let temp = tempfile::tempdir().unwrap();
    let project = temp.path();
    let project_text = r#"{
  "name": "Template",
  "tree": {
    "$className": "DataModel",
    "ReplicatedStorage": { "$path": "src" },
    "Workspace": { "$properties": { "FilteringEnabled": true } },
    "HttpService": { "$properties": { "HttpEnabled": true } },
    "SoundService": { "$properties": { "RespectFilteringEnabled": true } }
  }
}
"#;
    util::write_files(
        project,
        &[
            ("default.project.json", project_text),
            ("src/Shared.luau", "return {}\n"),
        ],
    );
    let before = util::tree_bytes(project);
    let report = util::run(project, util::build(project), SyncbackMode::Clean);
    assert!(report.written.is_empty(), "{:?}", report.written);
    assert_eq!(util::tree_bytes(project), before);

    // A value the place does carry still syncs, and the file stays plain JSON.
    let mut edited = util::build(project);
    util::set_property(
        &mut edited,
        "SoundService",
        "DistanceFactor",
        rbx_dom_weak::types::Variant::Float32(10.0),
    );
    util::run(project, edited, SyncbackMode::Clean);
    let text = std::fs::read_to_string(project.join("default.project.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).expect(&text);
    let sound = &json["tree"]["SoundService"]["$properties"];
    assert_eq!(sound["DistanceFactor"], 10, "{text}");
    assert_eq!(sound["RespectFilteringEnabled"], true, "{text}");
    assert_eq!(
        json["tree"]["Workspace"]["$properties"]["FilteringEnabled"],
        true
    );

    // Elsewhere a value place files do not keep may mirror one they do: a Part's Position
    // is its CFrame's. Moving the part must not leave the old Position to undo the move.
    let moved = text.replace(
        r#""Workspace": {"#,
        r#""Workspace": { "Brick": { "$className": "Part", "$properties": { "Position": [0, 10, 0], "Anchored": true } },"#,
    );
    assert_ne!(moved, text);
    std::fs::write(project.join("default.project.json"), &moved).unwrap();
    let mut edited = util::build(project);
    util::set_property(
        &mut edited,
        "Brick",
        "CFrame",
        rbx_dom_weak::types::Variant::CFrame(rbx_dom_weak::types::CFrame::new(
            rbx_dom_weak::types::Vector3::new(5.0, 20.0, 5.0),
            rbx_dom_weak::types::Matrix3::identity(),
        )),
    );
    util::run(project, edited, SyncbackMode::Clean);
    let text = std::fs::read_to_string(project.join("default.project.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).expect(&text);
    let brick = &json["tree"]["Workspace"]["Brick"]["$properties"];
    assert!(brick.get("Position").is_none(), "{text}");
    assert_eq!(brick["CFrame"][0], 5, "{text}");
}

#[test]
fn project_nodes_keep_their_init_and_meta_files() {
    let temp = tempfile::tempdir().unwrap();
    let project = temp.path();
    let project_text = "// hand-written\n{ name: \"p\", tree: { $className: \"DataModel\", ServerScriptService: { Boot: { $path: \"Boot.server.luau\" }, Main: { $path: \"server\" } }, ReplicatedStorage: { $path: \"lib\" }, Workspace: { $properties: { FallenPartsDestroyHeight: -500 }, Map: { $path: \"map\" } } } }\n";
    let files = [
        ("default.project.json5", project_text),
        ("Boot.server.luau", "print('boot')\n"),
        ("Boot.meta.json5", "{ properties: { Disabled: true } }\n"),
        ("server/init.server.lua", "print('main')\n"),
        ("server/init.meta.json5", "{ attributes: { Level: 3 } }\n"),
        ("server/Mod.luau", "return 1\n"),
        ("lib/Sub/init.lua", "return 2\n"),
        ("lib/Sub/Child.lua", "return 3\n"),
        (
            "map/init.meta.json5",
            "{ className: \"Model\", attributes: { Zone: 1 } }\n",
        ),
        ("map/Floor.model.json5", "{ className: \"Part\" }\n"),
    ];
    util::write_files(project, &files);
    let options = CompareOptions {
        unordered_children: true,
        missing_is_default: true,
    };
    let same = |a: &rbx_dom_weak::WeakDom, b: &rbx_dom_weak::WeakDom| {
        let differences = compare(a, a.root_ref(), b, b.root_ref(), options);
        assert!(differences.is_empty(), "{}", differences.join("\n"));
    };

    // Incremental mode: an init-script folder whose child changed keeps its `init.lua`.
    let mut edited = util::build(project);
    util::set_property(
        &mut edited,
        "Child",
        "Source",
        rbx_dom_weak::types::Variant::String("return 4\n".into()),
    );
    util::run(project, edited, SyncbackMode::Incremental);
    let after = util::tree_bytes(project);
    assert!(
        after.contains_key(Path::new("lib/Sub/init.lua")),
        "{:?}",
        after.keys()
    );
    assert_eq!(after[Path::new("lib/Sub/Child.lua")], b"return 4\n");

    // Clean mode too: a node's own init script keeps its name, and its values stay in the meta
    // files the build reads them from; a default value written out in the project stays
    // (the project file is not touched).
    let before = util::build(project);
    util::run(project, util::build(project), SyncbackMode::Clean);
    let after = util::tree_bytes(project);
    assert_eq!(
        after[Path::new("default.project.json5")],
        project_text.as_bytes()
    );
    assert!(
        after.contains_key(Path::new("server/init.server.lua")),
        "{:?}",
        after.keys()
    );
    assert!(!after.contains_key(Path::new("server/init.legacy.luau")));
    // Meta files that still say the same keep their hand-written text.
    for meta in [
        "Boot.meta.json5",
        "server/init.meta.json5",
        "map/init.meta.json5",
    ] {
        let written = files.iter().find(|(path, _)| *path == meta).unwrap().1;
        assert_eq!(
            String::from_utf8_lossy(&after[Path::new(meta)]),
            written,
            "{meta}"
        );
    }
    same(&before, &util::build(project));

    // A value that went back to its default leaves the meta file empty: it is removed, so
    // the build no longer applies the old value.
    let mut edited = util::build(project);
    util::set_property(
        &mut edited,
        "Boot",
        "Disabled",
        rbx_dom_weak::types::Variant::Bool(false),
    );
    util::run(project, edited, SyncbackMode::Clean);
    let after = util::tree_bytes(project);
    assert!(
        !after.contains_key(Path::new("Boot.meta.json5")),
        "{:?}",
        after.keys()
    );
    assert_eq!(
        after[Path::new("default.project.json5")],
        project_text.as_bytes()
    );
    let rebuilt = util::build(project);
    let boot = rebuilt.descendants().find(|i| i.name == "Boot").unwrap();
    assert_ne!(
        boot.properties.get(&"Disabled".into()),
        Some(&rbx_dom_weak::types::Variant::Bool(true))
    );
}

#[test]
fn example_project_survives_both_modes() {
    let temp = tempfile::tempdir().unwrap();
    let project = temp.path().join("place");
    common::copy_dir(
        &common::repo_root().join("examples").join("place"),
        &project,
    );
    let original = util::build(&project);
    let before = util::tree_bytes(&project);

    // Incremental: nothing changed in the place, so no file is touched, hand-written
    // formatting included.
    let dom = util::build(&project);
    let report = util::run(&project, dom, SyncbackMode::Incremental);
    assert!(report.written.is_empty(), "{:?}", report.written);
    assert!(report.removed.is_empty(), "{:?}", report.removed);
    assert_eq!(util::tree_bytes(&project), before);

    // Clean: files are rewritten canonically, and the project still builds the same tree.
    let dom = util::build(&project);
    util::run(&project, dom, SyncbackMode::Clean);
    let rebuilt = util::build(&project);
    let options = CompareOptions {
        unordered_children: true,
        missing_is_default: true,
    };
    let differences = compare(
        &original,
        original.root_ref(),
        &rebuilt,
        rebuilt.root_ref(),
        options,
    );
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

#[test]
fn random_places_round_trip() {
    let mut failures = Vec::new();
    for seed in 1..=30u64 {
        let temp = tempfile::tempdir().unwrap();
        util::write_place_project(temp.path());
        let report = util::run(temp.path(), random_place(seed), SyncbackMode::Clean);
        let differences = round_trip_differences(random_place(seed), temp.path());
        if !differences.is_empty() {
            failures.push(format!(
                "seed {seed} ({} files):\n  {}",
                report.written.len(),
                differences.join("\n  ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Incremental mode follows a place through edits: after syncing a place and then an
/// edited copy of it incrementally, the files build to the edited place, and syncing the
/// edited place once more changes nothing.
#[test]
fn incremental_mode_follows_edits() {
    let mut failures = Vec::new();
    for seed in 1..=60u64 {
        let temp = tempfile::tempdir().unwrap();
        util::write_place_project(temp.path());
        util::run(temp.path(), random_place(seed), SyncbackMode::Clean);
        util::run(temp.path(), edited_place(seed), SyncbackMode::Incremental);
        let differences = round_trip_differences(edited_place(seed), temp.path());
        if !differences.is_empty() {
            failures.push(format!("seed {seed}:\n  {}", differences.join("\n  ")));
            continue;
        }
        let before = util::tree_bytes(temp.path());
        let again = util::run(temp.path(), edited_place(seed), SyncbackMode::Incremental);
        if !again.written.is_empty() || util::tree_bytes(temp.path()) != before {
            failures.push(format!(
                "seed {seed}: a second incremental syncback rewrote {:?}",
                again.written
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
