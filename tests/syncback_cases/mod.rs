//! The inputs of the fixture cases under `rojo-test/syncback-tests/<case>/`, built in
//! code with `InstanceBuilder` so every property is visible here.

use atlas::syncback::SyncbackMode;
use rbx_dom_weak::types::{
    Attributes, BinaryString, CFrame, Color3, Color3uint8, Content, Enum, Matrix3, Ref, Tags,
    Variant, Vector3,
};
use rbx_dom_weak::{InstanceBuilder, WeakDom};

/// One fixture case.
pub struct Case {
    pub name: &'static str,
    pub mode: SyncbackMode,
    pub input: fn() -> WeakDom,
    /// Whether building the result must give back the input exactly.
    pub round_trip: bool,
}

fn case(name: &'static str, input: fn() -> WeakDom) -> Case {
    Case {
        name,
        mode: SyncbackMode::Clean,
        input,
        round_trip: true,
    }
}

/// Every case, by folder name.
pub fn all() -> Vec<Case> {
    vec![
        case("script_kinds", script_kinds),
        case("script_init_dirs", script_init_dirs),
        case("script_source_bytes", script_source_bytes),
        case("model_properties", model_properties),
        case("model_with_children", model_with_children),
        case("attributes", attributes),
        case("ref_sibling", ref_sibling),
        case("ref_child", ref_child),
        case("ref_parent", ref_parent),
        case("ref_across_services", ref_across_services),
        Case {
            round_trip: false,
            ..case("ref_outside_synced_tree", ref_outside)
        },
        case("special_names", special_names),
        case("duplicates", duplicates),
        case("deep_hierarchy", deep_hierarchy),
        case("string_value_txt", string_values),
        case("localization_csv", localization),
        case("rbxm_fallback", rbxm_fallback),
        case("clean_removes_orphans", clean_orphans),
        Case {
            mode: SyncbackMode::Incremental,
            round_trip: false,
            ..case("incremental_keeps_layout", incremental)
        },
        Case {
            round_trip: false,
            ..case("rules_ignore_trees", rules_input)
        },
        Case {
            round_trip: false,
            ..case("rules_ignore_paths", rules_input)
        },
        Case {
            round_trip: false,
            ..case("rules_ignore_properties", rules_input)
        },
        Case {
            round_trip: false,
            ..case("rules_ignore_classes", rules_input)
        },
        case("rules_sync_current_camera", camera_place),
        Case {
            round_trip: false,
            ..case("rules_sync_unscriptable_off", unscriptable)
        },
        Case {
            round_trip: false,
            ..case("rules_ignore_referents", ref_sibling)
        },
        case("rules_ignore_hidden_services_off", hidden_services),
        case("rules_warn_duplicate_names", duplicates),
        case("project_properties_rewrite", project_properties),
        case("project_unchanged_not_rewritten", project_properties),
        case("template_layout", template_place),
        case("missing_service", missing_service),
        case("node_without_path", node_without_path),
        case("model_single_root", model_single),
        case("model_several_roots", model_several),
        case("unknown_class_and_types", unknown_class),
        case("path_relocated", path_relocated),
        case("project_child_written_once", project_child_once),
        case("camera_dropped", camera_place),
    ]
}

fn inst(class: &str, name: &str) -> InstanceBuilder {
    InstanceBuilder::new(class).with_name(name)
}

fn script(class: &str, name: &str, source: &str, run_context: Option<u32>) -> InstanceBuilder {
    let mut builder = inst(class, name).with_property("Source", source);
    if let Some(rc) = run_context {
        builder = builder.with_property("RunContext", Enum::from_u32(rc));
    }
    builder
}

fn module(name: &str, source: &str) -> InstanceBuilder {
    script("ModuleScript", name, source, None)
}

fn server(name: &str, source: &str) -> InstanceBuilder {
    script("Script", name, source, Some(1))
}

fn part(name: &str) -> InstanceBuilder {
    inst("Part", name).with_property("Anchored", true)
}

/// A DataModel with the standard services of the fixture projects.
fn place(
    shared: Vec<InstanceBuilder>,
    server_children: Vec<InstanceBuilder>,
    workspace: Vec<InstanceBuilder>,
) -> WeakDom {
    let mut root = inst("DataModel", "Game");
    root.add_child(inst("ReplicatedStorage", "ReplicatedStorage").with_children(shared));
    root.add_child(
        inst("ServerScriptService", "ServerScriptService").with_children(server_children),
    );
    root.add_child(inst("Workspace", "Workspace").with_children(workspace));
    WeakDom::new(root)
}

fn shared_only(children: Vec<InstanceBuilder>) -> WeakDom {
    place(children, vec![], vec![])
}

fn script_kinds() -> WeakDom {
    shared_only(vec![
        module("Module", "return {}\n"),
        server("Server", "print('server')\n"),
        script("Script", "Client", "print('client')\n", Some(2)),
        script("Script", "Plugin", "print('plugin')\n", Some(3)),
        script("Script", "Legacy", "print('legacy')\n", Some(0)),
        script("LocalScript", "Local", "print('local')\n", None),
        script("Script", "Disabled", "--\n", Some(1)).with_property("Disabled", true),
    ])
}

fn script_init_dirs() -> WeakDom {
    let with_child = |b: InstanceBuilder| b.with_child(module("Child", "return 1\n"));
    shared_only(vec![
        with_child(module("Module", "return require(script.Child)\n")),
        with_child(server("Server", "--s\n")),
        with_child(script("Script", "Client", "--c\n", Some(2))),
        with_child(script("Script", "Plugin", "--p\n", Some(3))),
        with_child(script("Script", "Legacy", "--l\n", Some(0))),
        with_child(script("LocalScript", "Local", "--local\n", None)),
    ])
}

fn script_source_bytes() -> WeakDom {
    shared_only(vec![
        module("Crlf", "local a = 1\r\nreturn a\r\n"),
        module("NoTrailingNewline", "return 'x'"),
        module("Unicode", "return \"héllo wörld ✓\"\n"),
        module("Tabs", "\tif true then\n\t\treturn\n\tend\n"),
        module("Empty", ""),
    ])
}

fn model_properties() -> WeakDom {
    let mut tags = Tags::new();
    tags.push("Ground");
    tags.push("Big");
    place(
        vec![inst("RemoteEvent", "OnHit")],
        vec![],
        vec![
            part("Baseplate")
                .with_property("Size", Vector3::new(512.0, 20.0, 512.0))
                .with_property(
                    "CFrame",
                    CFrame::new(Vector3::new(0.0, -10.0, 0.0), Matrix3::identity()),
                )
                .with_property("Color", Color3uint8::new(91, 93, 105))
                .with_property("Material", Enum::from_u32(816))
                .with_property("Transparency", 0.1f32)
                .with_property("Tags", tags),
            part("Tilted")
                .with_property(
                    "CFrame",
                    CFrame::new(
                        Vector3::new(801.715_6, 3.0e-7, -0.0),
                        Matrix3::new(
                            Vector3::new(0.70710677, 0.0, 0.70710677),
                            Vector3::new(0.0, 1.0, 0.0),
                            Vector3::new(-0.70710677, 0.0, 0.70710677),
                        ),
                    ),
                )
                .with_property("Reflectance", 0.333_333_34f32),
            inst("NumberValue", "Precise").with_property("Value", 0.1f64 + 0.2f64),
            inst("IntValue", "Big").with_property("Value", 9_007_199_254_740_993i64),
            inst("Color3Value", "Tint").with_property("Value", Color3::new(0.2, 0.4, 0.6)),
        ],
    )
}

fn model_with_children() -> WeakDom {
    let door = part("Door");
    let door_ref = door.referent();
    let house = inst("Model", "House")
        .with_property("PrimaryPart", Variant::Ref(door_ref))
        .with_child(door)
        .with_child(part("Window"));
    place(vec![], vec![], vec![house])
}

fn attributes() -> WeakDom {
    let mut attrs = Attributes::new();
    attrs.insert("Health".into(), Variant::Float64(100.0));
    attrs.insert("Name With Spaces".into(), Variant::String("x".into()));
    attrs.insert("Enabled".into(), Variant::Bool(true));
    attrs.insert(
        "Offset".into(),
        Variant::Vector3(Vector3::new(1.0, 2.5, -3.0)),
    );
    attrs.insert("Count".into(), Variant::Int32(3));
    attrs.insert("RBXInternal".into(), Variant::String("kept".into()));
    attrs.insert(
        "Blob".into(),
        Variant::BinaryString(BinaryString::from(b"bytes\xff\x00\x01".to_vec())),
    );
    attrs.insert(
        "Text".into(),
        Variant::BinaryString(BinaryString::from(b"utf8 text".to_vec())),
    );
    shared_only(vec![
        inst("Folder", "Config").with_property("Attributes", attrs.clone()),
        module("WithAttributes", "return 1\n").with_property("Attributes", attrs),
    ])
}

fn object_value(name: &str, target: Ref) -> InstanceBuilder {
    inst("ObjectValue", name).with_property("Value", Variant::Ref(target))
}

fn ref_sibling() -> WeakDom {
    let target = part("Target");
    let target_ref = target.referent();
    place(
        vec![],
        vec![],
        vec![target, object_value("Pointer", target_ref)],
    )
}

fn ref_child() -> WeakDom {
    let child = part("Inner");
    let child_ref = child.referent();
    let holder = object_value("Holder", child_ref).with_child(child);
    place(vec![], vec![], vec![holder])
}

fn ref_parent() -> WeakDom {
    let mut folder = inst("Folder", "Parent");
    let folder_ref = folder.referent();
    folder.add_child(object_value("Up", folder_ref));
    let deep = object_value("Deep", folder_ref);
    folder.add_child(inst("Folder", "Nested").with_child(deep));
    place(vec![], vec![], vec![folder])
}

fn ref_across_services() -> WeakDom {
    let target = part("Spawn");
    let target_ref = target.referent();
    let module_target = module("Util", "return {}\n");
    let module_ref = module_target.referent();
    place(
        vec![
            inst("Folder", "Refs").with_child(object_value("ToWorkspace", target_ref)),
            module_target,
        ],
        vec![object_value("ToShared", module_ref)],
        vec![inst("Model", "Map").with_child(target)],
    )
}

fn ref_outside() -> WeakDom {
    let mut root = inst("DataModel", "Game");
    let hidden = inst("Folder", "Secret");
    let hidden_ref = hidden.referent();
    root.add_child(inst("ServerStorage", "ServerStorage").with_child(hidden));
    root.add_child(
        inst("ReplicatedStorage", "ReplicatedStorage")
            .with_child(object_value("ToUnmapped", hidden_ref)),
    );
    root.add_child(inst("ServerScriptService", "ServerScriptService"));
    root.add_child(inst("Workspace", "Workspace"));
    WeakDom::new(root)
}

fn special_names() -> WeakDom {
    shared_only(vec![
        module("What?", "return 1\n"),
        inst("Folder", "Key:Value"),
        module("A/B", "return 2\n"),
        inst("StringValue", "<Angle>").with_property("Value", "angle"),
        inst("RemoteEvent", "He said \"hi\""),
        module("CON", "return 3\n"),
        inst("Folder", "Dots..."),
        module("Handler.server", "return 4\n"),
        inst("Folder", "init"),
        module("Tilde~2", "return 5\n"),
        inst("Folder", " Spaced "),
        inst("Folder", ""),
    ])
}

fn duplicates() -> WeakDom {
    shared_only(vec![
        inst("Folder", "Data").with_child(module("First", "return 1\n")),
        inst("Folder", "Data").with_child(module("Second", "return 2\n")),
        inst("Folder", "data"),
        server("Handler", "print(1)\n"),
        server("Handler", "print(2)\n"),
        module("Data", "return 'module'\n"),
    ])
}

fn deep_hierarchy() -> WeakDom {
    let mut current = module("Level6", "return 6\n");
    for level in (1..=5).rev() {
        current = inst("Folder", &format!("Level{level}")).with_child(current);
    }
    shared_only(vec![current])
}

fn string_values() -> WeakDom {
    shared_only(vec![
        inst("StringValue", "Version").with_property("Value", "1.2.3"),
        inst("StringValue", "Multiline").with_property("Value", "line 1\r\nline 2\n"),
        inst("StringValue", "WithChildren")
            .with_property("Value", "kept")
            .with_child(inst("StringValue", "Inner").with_property("Value", "inner")),
    ])
}

fn localization() -> WeakDom {
    let contents = r#"[{"key":"Ack","example":"An exclamation of despair","source":"Ack!","values":{"es":"¡Ay!"}},{"key":"Hi","source":"Hello, \"friend\"","values":{"es":"Hola","fr":"Salut"}}]"#;
    shared_only(vec![
        inst("LocalizationTable", "Strings").with_property("Contents", contents),
        inst("LocalizationTable", "NotCsv")
            .with_property("Contents", "[{\"key\":\"a\",\"values\":{}}, {}]"),
        inst("LocalizationTable", "WithChildren")
            .with_property("Contents", contents)
            .with_child(inst("LocalizationTable", "Nested").with_property("Contents", "[]")),
    ])
}

fn rbxm_fallback() -> WeakDom {
    let image = inst("EditableImage", "Canvas");
    let image_ref = image.referent();
    let label = inst("ImageLabel", "Odd/Label")
        .with_property("ImageContent", Content::from_referent(image_ref))
        .with_child(image);
    shared_only(vec![inst("ScreenGui", "Gui").with_child(label)])
}

fn clean_orphans() -> WeakDom {
    shared_only(vec![
        module("Util", "return {}\n"),
        inst("Folder", "Kept").with_child(module("Inside", "return 1\n")),
    ])
}

fn incremental() -> WeakDom {
    shared_only(vec![
        module("Legacy", "return 'changed'\n"),
        module("Same", "return 'same'\n"),
        inst("RemoteEvent", "Event").with_property("Attributes", {
            let mut a = Attributes::new();
            a.insert("New".into(), Variant::Bool(true));
            a
        }),
        inst("Folder", "Props").with_child(part("Crate")),
        module("Brand New", "return 'new'\n"),
    ])
}

fn rules_input() -> WeakDom {
    place(
        vec![
            inst("Folder", "IgnoreMe").with_child(module("Hidden", "return 1\n")),
            module("Keep", "return 2\n"),
            inst("RemoteEvent", "Remote"),
        ],
        vec![server("Main", "print(1)\n")],
        vec![part("Block")
            .with_property("Transparency", 0.5f32)
            .with_property("Size", Vector3::new(1.0, 2.0, 3.0))],
    )
}

fn camera_place() -> WeakDom {
    let mut root = inst("DataModel", "Game");
    let camera = inst("Camera", "Camera").with_property("FieldOfView", 80.0f32);
    let camera_ref = camera.referent();
    root.add_child(inst("ReplicatedStorage", "ReplicatedStorage"));
    root.add_child(inst("ServerScriptService", "ServerScriptService"));
    root.add_child(
        inst("Workspace", "Workspace")
            .with_property("CurrentCamera", Variant::Ref(camera_ref))
            .with_child(camera)
            .with_child(part("Floor")),
    );
    WeakDom::new(root)
}

fn unscriptable() -> WeakDom {
    shared_only(vec![module("Module", "return 1\n").with_property(
        "ScriptGuid",
        "{0F1E2D3C-0000-0000-0000-000000000000}",
    )])
}

fn hidden_services() -> WeakDom {
    let mut root = inst("DataModel", "Game");
    root.add_child(
        inst("ReplicatedStorage", "ReplicatedStorage").with_child(module("M", "return 1\n")),
    );
    root.add_child(inst("HttpService", "HttpService").with_property("HttpEnabled", true));
    WeakDom::new(root)
}

fn project_properties() -> WeakDom {
    let mut root = inst("DataModel", "Game");
    root.add_child(inst("ReplicatedStorage", "ReplicatedStorage"));
    root.add_child(inst("ServerScriptService", "ServerScriptService"));
    root.add_child(
        inst("Workspace", "Workspace")
            .with_property("Gravity", 100.0f32)
            .with_child(part("Floor")),
    );
    WeakDom::new(root)
}

fn template_place() -> WeakDom {
    let mut root = inst("DataModel", "Game");
    root.add_child(
        inst("ReplicatedStorage", "ReplicatedStorage").with_child(module("Util", "return {}\n")),
    );
    root.add_child(inst("Lighting", "Lighting").with_property("Brightness", 3.0f32));
    root.add_child(inst("Workspace", "Workspace").with_child(part("Floor")));
    root.add_child(inst("HttpService", "HttpService"));
    WeakDom::new(root)
}

fn missing_service() -> WeakDom {
    let mut root = inst("DataModel", "Game");
    root.add_child(
        inst("ServerScriptService", "ServerScriptService").with_child(server("Main", "print(1)\n")),
    );
    root.add_child(inst("Workspace", "Workspace"));
    WeakDom::new(root)
}

fn node_without_path() -> WeakDom {
    let mut root = inst("DataModel", "Game");
    root.add_child(
        inst("ReplicatedStorage", "ReplicatedStorage").with_child(module("Util", "return {}\n")),
    );
    root.add_child(inst("Workspace", "Workspace").with_child(part("Floor")));
    WeakDom::new(root)
}

fn model_single() -> WeakDom {
    inst("Model", "Car")
        .with_child(part("Wheel"))
        .with_child(server("Drive", "print('vroom')\n"))
        .pipe_dom()
}

fn model_several() -> WeakDom {
    let mut root = inst("Folder", "Model");
    root.add_child(part("One"));
    root.add_child(part("Two"));
    WeakDom::new(root)
}

fn unknown_class() -> WeakDom {
    shared_only(vec![inst("FutureThing", "Future")
        .with_property("Speed", 3.5f32)
        .with_property("Mode", Enum::from_u32(2))
        .with_property("Label", "hi")])
}

fn path_relocated() -> WeakDom {
    let mut root = inst("DataModel", "Game");
    root.add_child(inst("ReplicatedStorage", "ReplicatedStorage"));
    root.add_child(
        inst("ServerScriptService", "ServerScriptService").with_child(
            module("Main", "return 'now a module'\n").with_child(module("Helper", "return 1\n")),
        ),
    );
    root.add_child(inst("Workspace", "Workspace"));
    WeakDom::new(root)
}

fn project_child_once() -> WeakDom {
    shared_only(vec![
        inst("Folder", "OnlyOneCopy").with_child(module("child_of_one", "return 1\n")),
        module("Other", "return 2\n"),
    ])
}

trait PipeDom {
    fn pipe_dom(self) -> WeakDom;
}

impl PipeDom for InstanceBuilder {
    fn pipe_dom(self) -> WeakDom {
        WeakDom::new(self)
    }
}
