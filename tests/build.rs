//! Build tests: every `rojo-test/build-tests/<case>` builds to the instance tree checked
//! in at `rojo-test/build-snapshots/<case>.json5`, or fails with the message fragments in
//! its `expected-error.txt`. Set `ATLAS_UPDATE_SNAPSHOTS=1` to rewrite the snapshots.

mod common;

use std::path::Path;

use atlas::vfs::Vfs;
use common::tree::{compare, compare_many, dump, CompareOptions};

fn build_case(dir: &Path) -> Result<atlas::snapshot::BuiltDom, String> {
    let project = atlas::project::load(dir).map_err(|e| e.to_string())?;
    atlas::build::build_project(&Vfs::new_default(), &project).map_err(|e| e.to_string())
}

#[test]
fn build_tests_match_their_snapshots() {
    let root = common::repo_root().join("rojo-test");
    let cases_dir = root.join("build-tests");
    let snapshots_dir = root.join("build-snapshots");
    std::fs::create_dir_all(&snapshots_dir).unwrap();
    let mut cases: Vec<_> = std::fs::read_dir(&cases_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 40,
        "expected at least 40 build cases, found {}",
        cases.len()
    );

    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let expected_error = case.join("expected-error.txt");
        let result = build_case(case);
        if expected_error.exists() {
            let fragments = std::fs::read_to_string(&expected_error).unwrap();
            match result {
                Ok(_) => failures.push(format!("{name}: built, but an error was expected")),
                Err(message) => {
                    for fragment in fragments.lines().map(str::trim).filter(|l| !l.is_empty()) {
                        if !message.contains(fragment) {
                            failures.push(format!(
                                "{name}: error {message:?} does not contain {fragment:?}"
                            ));
                        }
                    }
                }
            }
            continue;
        }
        let built = match result {
            Ok(built) => built,
            Err(message) => {
                failures.push(format!("{name}: {message}"));
                continue;
            }
        };
        let actual = dump(&built.dom, built.dom.root_ref());
        let snapshot = snapshots_dir.join(format!("{name}.json5"));
        if common::updating_snapshots() || !snapshot.exists() {
            std::fs::write(&snapshot, &actual).unwrap();
            if !common::updating_snapshots() {
                failures.push(format!(
                    "{name}: no snapshot yet; wrote {}",
                    snapshot.display()
                ));
            }
            continue;
        }
        let expected = std::fs::read_to_string(&snapshot).unwrap();
        if expected != actual {
            failures.push(format!(
                "{name}: tree differs from {}\n--- expected\n{expected}\n--- actual\n{actual}",
                snapshot.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} build case(s) failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Builds one corpus model inside a project and returns (original model dom, built place).
fn build_model_in_project(model: &Path) -> (rbx_dom_weak::WeakDom, rbx_dom_weak::WeakDom) {
    let temp = tempfile::tempdir().unwrap();
    let file_name = format!("Model.{}", model.extension().unwrap().to_string_lossy());
    std::fs::copy(model, temp.path().join(&file_name)).unwrap();
    std::fs::write(
        temp.path().join("default.project.json5"),
        format!("{{ name: \"Corpus\", tree: {{ $className: \"DataModel\", Workspace: {{ Model: {{ $path: \"{file_name}\" }} }} }} }}"),
    )
    .unwrap();
    let project = atlas::project::load(temp.path()).unwrap();
    let built = atlas::build::build_project(&Vfs::new_default(), &project)
        .unwrap_or_else(|e| panic!("{}: {e}", model.display()));
    // Writing must work, but the comparison uses the built tree itself: the binary
    // format stores axis-aligned rotations as ids, which drops the sign of -0.
    let place = temp.path().join("out.rbxl");
    atlas::place_file::write(&place, &built.dom).unwrap();
    let original = atlas::place_file::read(model).unwrap();
    (original, built.dom)
}

#[test]
fn every_corpus_model_builds_to_the_same_instances() {
    let models = common::corpus_dir().join("models");
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(&models)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    for dir in dirs {
        for file in ["binary.rbxm", "xml.rbxmx"] {
            let model = dir.join(file);
            if !model.exists() {
                continue;
            }
            let (original, place) = build_model_in_project(&model);
            let workspace = place
                .root()
                .children()
                .iter()
                .copied()
                .find(|r| place.get_by_ref(*r).unwrap().class == "Workspace")
                .expect("workspace");
            let built_model = place.get_by_ref(workspace).unwrap().children()[0];
            let roots = original.root().children().to_vec();
            let differences = if roots.len() == 1 {
                let mut d = compare(
                    &original,
                    roots[0],
                    &place,
                    built_model,
                    CompareOptions::default(),
                );
                // The file-derived name replaces the stored one.
                d.retain(|line| !line.contains(": name "));
                d
            } else {
                let folder = place.get_by_ref(built_model).unwrap();
                let mut d = Vec::new();
                if folder.class != "Folder" || folder.children().len() != roots.len() {
                    d.push(format!("expected a Folder of {} instances", roots.len()));
                } else {
                    let pairs: Vec<_> = roots
                        .iter()
                        .copied()
                        .zip(folder.children().iter().copied())
                        .collect();
                    d.extend(compare_many(
                        &original,
                        &place,
                        &pairs,
                        CompareOptions::default(),
                    ));
                }
                d
            };
            if !differences.is_empty() {
                failures.push(format!(
                    "{}:\n  {}",
                    model.display(),
                    differences.join("\n  ")
                ));
            }
            checked += 1;
        }
    }
    assert!(checked >= 90, "only {checked} corpus models checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs `atlas build PROJECT -o OUTPUT`.
fn atlas_build(project: &Path, output: &Path) -> std::process::Output {
    std::process::Command::new(common::atlas_bin())
        .arg("build")
        .arg(project)
        .arg("-o")
        .arg(output)
        .output()
        .unwrap()
}

#[test]
fn cli_builds_every_output_format() {
    let temp = tempfile::tempdir().unwrap();
    let example = common::repo_root().join("examples").join("place");
    for extension in ["rbxl", "rbxlx", "rbxm", "rbxmx"] {
        let output = temp.path().join(format!("out.{extension}"));
        let status = atlas_build(&example, &output);
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
        let dom = atlas::place_file::read(&output).unwrap();
        assert!(
            dom.descendants().any(|i| i.name == "Baseplate"),
            "{extension}"
        );
    }
    let bad = atlas_build(&example, &temp.path().join("out.zip"));
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("out.zip") && stderr.contains(".rbxl"),
        "{stderr}"
    );

    // A value of the wrong type for its property is refused by every format alike, and
    // the error names the output, not the temporary file written first.
    let project = temp.path().join("wrong-type");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("default.project.json5"),
        "{ name: \"W\", tree: { $className: \"Folder\", X: { $className: \"Part\", $properties: { Size: { Vector2: [1, 2] } } } } }\n",
    )
    .unwrap();
    for extension in ["rbxm", "rbxmx"] {
        let output = project.join(format!("out.{extension}"));
        let result = atlas_build(&project, &output);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(!result.status.success(), "{extension}: {stderr}");
        assert!(stderr.contains("Part.Size"), "{stderr}");
        assert!(!stderr.contains("atlas-tmp"), "{stderr}");
        assert!(!output.exists());
    }
}

/// XML place and model files hold carriage returns exactly, and a string XML cannot hold
/// at all stops the build with the instance named, writing nothing.
#[test]
fn xml_outputs_keep_carriage_returns_and_refuse_control_characters() {
    let temp = tempfile::tempdir().unwrap();
    let project = temp.path().join("project");
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(
        project.join("default.project.json5"),
        "{ name: \"X\", tree: { $className: \"DataModel\", ReplicatedStorage: { $path: \"src\" } } }\n",
    )
    .unwrap();
    let texts = ["one\r\ntwo\r\n", "  indented\r\n", "x ]]>\r]]>"];
    for (index, text) in texts.iter().enumerate() {
        std::fs::write(project.join("src").join(format!("T{index}.txt")), text).unwrap();
    }
    std::fs::write(project.join("src/Mod.luau"), "local a = 1\r\nreturn a\r\n").unwrap();
    for extension in ["rbxlx", "rbxmx"] {
        let output = temp.path().join(format!("out.{extension}"));
        let result = atlas_build(&project, &output);
        assert!(
            result.status.success(),
            "{}",
            String::from_utf8_lossy(&result.stderr)
        );
        let dom = atlas::place_file::read(&output).unwrap();
        let value = |name: &str, property: &str| {
            let instance = dom.descendants().find(|i| i.name == name).unwrap();
            match instance.properties.get(&property.into()) {
                Some(rbx_dom_weak::types::Variant::String(text)) => text.clone(),
                other => panic!("{name}.{property}: {other:?}"),
            }
        };
        for (index, text) in texts.iter().enumerate() {
            assert_eq!(value(&format!("T{index}"), "Value"), *text, "{extension}");
        }
        assert_eq!(value("Mod", "Source"), "local a = 1\r\nreturn a\r\n");
    }

    std::fs::write(project.join("src/Bad.txt"), "bell\u{7}").unwrap();
    let output = temp.path().join("bad.rbxlx");
    let result = atlas_build(&project, &output);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success(), "{stderr}");
    assert!(
        stderr.contains("ReplicatedStorage.Bad.Value") && stderr.contains("U+0007"),
        "{stderr}"
    );
    assert!(!output.exists());
    assert!(atlas_build(&project, &temp.path().join("ok.rbxl"))
        .status
        .success());
}

#[test]
fn plugin_install_builds_the_studio_plugin() {
    let plugin = common::repo_root().join("plugin");
    assert!(
        plugin.join("Packages").is_dir(),
        "plugin/Packages is missing: run `bash scripts/install-plugin-packages.sh` first"
    );
    let temp = tempfile::tempdir().unwrap();
    let install = |output: &std::path::Path| {
        std::process::Command::new(common::atlas_bin())
            .args(["plugin", "install", "--source"])
            .arg(&plugin)
            .arg("-o")
            .arg(output)
            .output()
            .unwrap()
    };
    // Studio loads plugins from model files only.
    let place = temp.path().join("Atlas.rbxl");
    let refused = install(&place);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("use .rbxm or .rbxmx"), "{stderr}");
    assert!(!place.exists());
    // The output's folder is made, as `atlas build` does.
    let output = temp.path().join("plugins").join("Atlas.rbxmx");
    let result = install(&output);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let dom = atlas::place_file::read(&output).unwrap();
    let root = dom.get_by_ref(dom.root().children()[0]).unwrap();
    assert_eq!(root.name, "Atlas");
    let child = |name: &str| {
        root.children()
            .iter()
            .map(|r| dom.get_by_ref(*r).unwrap())
            .find(|i| i.name == name)
            .unwrap_or_else(|| panic!("Atlas has no {name}"))
    };
    assert_eq!(child("Plugin").class, "Script");
    let packages = child("Packages");
    for package in ["Roact", "TestEZ", "t", "Promise"] {
        assert!(
            packages
                .children()
                .iter()
                .any(|r| dom.get_by_ref(*r).unwrap().name == package),
            "Packages has no {package}"
        );
    }
}

/// `place_file::decode_binary` (rbx_binary with a database that has no defaults, so it
/// reserves less memory) decodes every binary corpus file to the same tree as plain
/// `rbx_binary::from_reader`: same instances, same properties, bit for bit.
#[test]
fn lean_binary_decoder_gives_the_same_tree() {
    let mut files = Vec::new();
    for group in ["models", "places"] {
        for entry in std::fs::read_dir(common::corpus_dir().join(group)).unwrap() {
            let dir = entry.unwrap().path();
            for name in ["binary.rbxm", "binary.rbxl"] {
                if dir.join(name).is_file() {
                    files.push(dir.join(name));
                }
            }
        }
    }
    assert!(
        files.len() >= 50,
        "only {} binary corpus files",
        files.len()
    );
    let options = CompareOptions {
        unordered_children: false,
        missing_is_default: false,
    };
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        let plain = rbx_binary::from_reader(bytes.as_slice()).unwrap();
        let lean = atlas::place_file::decode_binary(bytes.as_slice()).unwrap();
        // Cut in half, the file is an error, never a panic (rbx_binary panics on some).
        assert!(atlas::place_file::decode_binary(&bytes[..bytes.len() / 2]).is_err());
        let differences = compare(&plain, plain.root_ref(), &lean, lean.root_ref(), options);
        assert!(
            differences.is_empty(),
            "{}:\n{}",
            file.display(),
            differences.join("\n")
        );
    }
}
