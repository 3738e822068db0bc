//! Live syncback end to end (issue #5): the real `atlas serve` gets a place split into
//! per-service chunks exactly as the Studio plugin sends it (docs/live-syncback-protocol.md),
//! and must write the same files as `atlas syncback` of the same place, byte for byte;
//! refuses bad requests without touching anything; and comes back up on the same port.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::live_syncback_util::*;
use common::serve_util::{try_http, HttpResponse, TestServe};
use common::tree::{compare, CompareOptions};
use rbx_dom_weak::types::{
    Attributes, BrickColor, CFrame, Color3, Color3uint8, ColorSequence, ColorSequenceKeypoint,
    Enum, EnumItem, Font, FontStyle, FontWeight, Matrix3, NumberRange, NumberSequence,
    NumberSequenceKeypoint, Rect, Tags, UDim, UDim2, Variant, Vector2, Vector3, Vector3int16,
};
use rbx_dom_weak::{InstanceBuilder, WeakDom};

const BASIC: &str = "live_syncback";
const PLACE_IDS: &str = "live_syncback_place_ids";
const COMPLEX: &str = "live_syncback_complex";

fn start(fixture: &str) -> TestServe {
    TestServe::start(fixture, &[])
}

fn module(name: &str, source: &str) -> InstanceBuilder {
    InstanceBuilder::new("ModuleScript")
        .with_name(name)
        .with_property("Source", source)
}

fn script(name: &str, source: &str, run_context: u32) -> InstanceBuilder {
    InstanceBuilder::new("Script")
        .with_name(name)
        .with_property("Source", source)
        .with_property("RunContext", Enum::from_u32(run_context))
}

fn folder(name: &str) -> InstanceBuilder {
    InstanceBuilder::new("Folder").with_name(name)
}

fn part(name: &str) -> InstanceBuilder {
    InstanceBuilder::new("Part")
        .with_name(name)
        .with_property("Anchored", true)
        .with_property("Size", Vector3::new(4.0, 1.0, 2.0))
}

fn string_value(name: &str, value: &str) -> InstanceBuilder {
    InstanceBuilder::new("StringValue")
        .with_name(name)
        .with_property("Value", value)
}

fn cframe(x: f32, y: f32, z: f32) -> CFrame {
    CFrame::new(Vector3::new(x, y, z), Matrix3::identity())
}

/// A small valid place for the refusal tests.
fn small_place() -> WeakDom {
    make_place(vec![
        (
            "ReplicatedStorage",
            vec![module("NewModule", "return \"new\"\n")],
        ),
        ("Workspace", vec![part("NewPart")]),
    ])
}

fn small_request() -> WireRequest {
    request_from_place(&small_place(), &local_schema())
}

// ---------------------------------------------------------------------------------------
// CLI parity
// ---------------------------------------------------------------------------------------

#[test]
fn parity_scripts() {
    let server = start(BASIC);
    let mut shared_lib = module("Lib", "local Lib = {}\nreturn Lib\n");
    shared_lib.add_child(module("Helper", "return function() end\n"));
    shared_lib.add_child(
        InstanceBuilder::new("LocalScript")
            .with_name("ClientPart")
            .with_property("Source", "print('local')\n"),
    );
    let place = make_place(vec![
        (
            "ReplicatedStorage",
            vec![
                module("Shared", "return {\n\tvalue = 1,\n}\n"),
                module("CrLf", "print(1)\r\nprint(2)\r\n"),
                module("Empty", ""),
                shared_lib,
            ],
        ),
        (
            "ServerScriptService",
            vec![
                script("Main", "print(\"server\")\n", 1),
                script("Client", "print(\"client\")\n", 2),
                script("Legacy", "print(\"legacy\")\n", 0),
                InstanceBuilder::new("LocalScript")
                    .with_name("Local")
                    .with_property("Source", "print(\"local\")\n"),
                script("Disabled", "print(\"off\")\n", 1).with_property("Disabled", true),
            ],
        ),
    ]);
    assert_live_matches_cli(&server, BASIC, &place);
    assert!(server.path("src/server/Main.server.luau").is_file());
    assert!(server.path("src/server/Client.client.luau").is_file());
    assert!(server.path("src/server/Local.local.luau").is_file());
    assert!(!server.path("src/shared/OldModule.luau").exists());
}

#[test]
fn parity_models_with_properties() {
    let server = start(BASIC);
    let mut model = InstanceBuilder::new("Model").with_name("House");
    for (index, shape) in [0u32, 1, 2].into_iter().enumerate() {
        model.add_child(
            InstanceBuilder::new("Part")
                .with_name(format!("Piece{index}"))
                .with_property("Anchored", index % 2 == 0)
                .with_property("Size", Vector3::new(1.5 + index as f32, 0.2, 3.0))
                .with_property("CFrame", cframe(10.0 * index as f32, 0.5, -7.25))
                .with_property("Color", Color3uint8::new(200, 10 * index as u8, 33))
                .with_property("Shape", Enum::from_u32(shape))
                .with_property("Transparency", 0.125f32 * index as f32),
        );
    }
    let place = make_place(vec![(
        "Workspace",
        vec![
            InstanceBuilder::new("Part")
                .with_name("Floor")
                .with_property("Anchored", true)
                .with_property("Size", Vector3::new(512.0, 20.0, 512.0))
                .with_property(
                    "CFrame",
                    CFrame::new(
                        Vector3::new(0.0, -10.0, 0.0),
                        Matrix3::new(
                            Vector3::new(0.0, 0.0, 1.0),
                            Vector3::new(0.0, 1.0, 0.0),
                            Vector3::new(-1.0, 0.0, 0.0),
                        ),
                    ),
                )
                .with_property("Color", Color3uint8::new(91, 93, 105))
                .with_property("Material", Enum::from_u32(816))
                .with_property("Transparency", 0.3f32),
            InstanceBuilder::new("SpawnLocation")
                .with_name("Spawn")
                .with_property("TeamColor", BrickColor::from_number(21).unwrap())
                .with_property("BrickColor", BrickColor::from_number(194).unwrap()),
            model,
        ],
    )]);
    assert_live_matches_cli(&server, BASIC, &place);
}

#[test]
fn parity_ref_properties() {
    let server = start(BASIC);
    let primary = part("Root");
    let primary_ref = primary.referent();
    let other = part("Door");
    let other_ref = other.referent();
    let model = InstanceBuilder::new("Model")
        .with_name("Car")
        .with_property("PrimaryPart", Variant::Ref(primary_ref))
        .with_child(primary)
        .with_child(other)
        .with_child(
            InstanceBuilder::new("ObjectValue")
                .with_name("Inside")
                .with_property("Value", Variant::Ref(other_ref)),
        );
    let shared_target = module("Target", "return 1\n");
    let shared_target_ref = shared_target.referent();
    let place = make_place(vec![
        (
            "ReplicatedStorage",
            vec![
                shared_target,
                InstanceBuilder::new("ObjectValue")
                    .with_name("ToWorkspace")
                    .with_property("Value", Variant::Ref(other_ref)),
                InstanceBuilder::new("ObjectValue")
                    .with_name("Nothing")
                    .with_property("Value", Variant::Ref(rbx_dom_weak::types::Ref::none())),
            ],
        ),
        (
            "Workspace",
            vec![
                model,
                InstanceBuilder::new("ObjectValue")
                    .with_name("ToShared")
                    .with_property("Value", Variant::Ref(shared_target_ref)),
            ],
        ),
    ]);
    let request = request_from_place(&place, &local_schema());
    assert_eq!(
        request.refs.len(),
        2,
        "two refs cross services: {:?}",
        request.refs
    );
    assert_live_matches_cli(&server, BASIC, &place);
}

#[test]
fn parity_special_names() {
    let server = start(BASIC);
    let names = [
        "Hello World",
        "a/b",
        "colon:name",
        "question?",
        "star*",
        "quote\"d",
        "<angle>",
        "pipe|",
        "back\\slash",
        "trailing.",
        "trailing ",
        " leading",
        "CON",
        "nul",
        "init",
        ".hidden",
        "x.server",
        "y.luau",
        "Ünïcödé 名前",
        "",
        "Case",
        "case",
        "tab\tname",
    ];
    let shared = names
        .iter()
        .enumerate()
        .map(|(i, name)| module(name, &format!("return {i}\n")))
        .collect();
    let workspace = names
        .iter()
        .map(|name| {
            let mut f = folder(name);
            f.add_child(part(name));
            f
        })
        .collect();
    let place = make_place(vec![
        ("ReplicatedStorage", shared),
        ("Workspace", workspace),
    ]);
    assert_live_matches_cli(&server, BASIC, &place);
}

#[test]
fn parity_duplicate_names() {
    let server = start(BASIC);
    let data = |i: usize| {
        let mut f = folder("Data");
        f.add_child(string_value("Value", &format!("copy {i}")));
        f
    };
    let place = make_place(vec![
        (
            "ReplicatedStorage",
            vec![data(1), data(2), folder("data"), data(3)],
        ),
        (
            "ServerScriptService",
            vec![
                script("Handler", "print(1)\n", 1),
                script("Handler", "print(2)\n", 1),
                module("Handler", "return 3\n"),
            ],
        ),
        (
            "Workspace",
            vec![part("Brick"), part("Brick"), part("brick")],
        ),
    ]);
    assert_live_matches_cli(&server, BASIC, &place);
}

#[test]
fn parity_deep_hierarchy() {
    let server = start(BASIC);
    // Six levels below the service, each with a script or a value next to the next level.
    let mut level = InstanceBuilder::new("Attachment").with_name("Level6");
    for depth in (1..=5).rev() {
        let class = match depth {
            2 => "ModuleScript",
            4 => "Model",
            5 => "Part",
            _ => "Folder",
        };
        let mut parent = InstanceBuilder::new(class).with_name(format!("Level{depth}"));
        if class == "ModuleScript" {
            parent = parent.with_property("Source", format!("return {depth}\n"));
        }
        parent.add_child(level);
        parent.add_child(module(
            &format!("Script{depth}"),
            &format!("return 'depth {depth}'\n"),
        ));
        parent.add_child(string_value(&format!("Note{depth}"), "deep"));
        level = parent;
    }
    let mut deep_workspace = folder("Level1");
    let mut l2 = folder("Level2");
    let mut l3 = InstanceBuilder::new("Model").with_name("Level3");
    let mut l4 = part("Level4");
    let mut l5 = InstanceBuilder::new("Attachment").with_name("Level5");
    l5.add_child(InstanceBuilder::new("Attachment").with_name("Level6"));
    l4.add_child(l5);
    l3.add_child(l4);
    l2.add_child(l3);
    deep_workspace.add_child(l2);
    let place = make_place(vec![
        ("ReplicatedStorage", vec![level]),
        ("Workspace", vec![deep_workspace]),
    ]);
    assert_live_matches_cli(&server, BASIC, &place);
}

#[test]
fn parity_mixed_file_types() {
    let server = start(BASIC);
    let mut strings = InstanceBuilder::new("LocalizationTable")
        .with_name("Strings")
        .with_property(
            "Contents",
            r#"[{"key":"Greet","source":"Hello","values":{"es":"Hola","fr":"Bonjour"}},{"key":"Bye","context":"menu","source":"Goodbye","values":{"es":"Adiós"}}]"#,
        );
    strings.add_child(string_value("Child", "a value under a table"));
    let place = make_place(vec![
        (
            "ReplicatedStorage",
            vec![
                string_value("Greeting", "hello\nworld\n"),
                string_value("Blank", ""),
                InstanceBuilder::new("LocalizationTable")
                    .with_name("Flat")
                    .with_property(
                        "Contents",
                        r#"[{"key":"A","source":"a","values":{"de":"ä"}}]"#,
                    ),
                strings,
                folder("EmptyFolder"),
                {
                    let mut f = folder("Full");
                    f.add_child(module("Inner", "return nil\n"));
                    f.add_child(string_value("Text", "x"));
                    f
                },
                InstanceBuilder::new("Configuration").with_name("Config"),
                InstanceBuilder::new("NumberValue")
                    .with_name("Number")
                    .with_property("Value", 2.5f64),
                InstanceBuilder::new("BoolValue")
                    .with_name("Flag")
                    .with_property("Value", true),
            ],
        ),
        ("Workspace", vec![part("Lonely")]),
    ]);
    assert_live_matches_cli(&server, BASIC, &place);
}

/// Every property type a place can carry. (Vector2int16 cannot appear in a place: no
/// class has such a property and neither the binary format nor attributes encode it.)
fn comprehensive_instances() -> (
    Vec<InstanceBuilder>,
    Vec<InstanceBuilder>,
    Vec<InstanceBuilder>,
) {
    let mut attributes = Attributes::new();
    attributes.insert("String".into(), Variant::String("text".into()));
    attributes.insert("Number".into(), Variant::Float64(1.0 / 3.0));
    attributes.insert("Flag".into(), Variant::Bool(true));
    attributes.insert("Int".into(), Variant::Int32(-7));
    attributes.insert("Single".into(), Variant::Float32(0.1));
    attributes.insert("Vec2".into(), Variant::Vector2(Vector2::new(1.5, -2.0)));
    attributes.insert("Vec3".into(), Variant::Vector3(Vector3::new(0.1, 0.2, 0.3)));
    attributes.insert("Color".into(), Variant::Color3(Color3::new(0.2, 0.4, 0.6)));
    attributes.insert(
        "Brick".into(),
        Variant::BrickColor(BrickColor::from_number(1004).unwrap()),
    );
    attributes.insert("Scale".into(), Variant::UDim(UDim::new(0.5, 4)));
    attributes.insert(
        "Layout".into(),
        Variant::UDim2(UDim2::new(UDim::new(0.25, -3), UDim::new(1.0, 10))),
    );
    attributes.insert(
        "Range".into(),
        Variant::NumberRange(NumberRange::new(1.0, 9.5)),
    );
    attributes.insert(
        "Box".into(),
        Variant::Rect(Rect::new(Vector2::new(0.0, 1.0), Vector2::new(2.0, 3.0))),
    );
    attributes.insert("Frame".into(), Variant::CFrame(cframe(1.0, 2.0, 3.0)));
    attributes.insert(
        "Curve".into(),
        Variant::NumberSequence(NumberSequence {
            keypoints: vec![
                NumberSequenceKeypoint::new(0.0, 1.0, 0.0),
                NumberSequenceKeypoint::new(1.0, 0.5, 0.1),
            ],
        }),
    );
    attributes.insert(
        "Gradient".into(),
        Variant::ColorSequence(ColorSequence {
            keypoints: vec![
                ColorSequenceKeypoint::new(0.0, Color3::new(1.0, 0.0, 0.0)),
                ColorSequenceKeypoint::new(1.0, Color3::new(0.0, 0.0, 1.0)),
            ],
        }),
    );
    attributes.insert(
        "Typeface".into(),
        Variant::Font(Font::new(
            "rbxasset://fonts/families/GothamSSm.json",
            FontWeight::Bold,
            FontStyle::Italic,
        )),
    );
    attributes.insert(
        "Item".into(),
        Variant::EnumItem(EnumItem {
            ty: "Material".into(),
            value: 256,
        }),
    );
    attributes.insert("with space".into(), Variant::String("odd key".into()));

    let mut tags = Tags::new();
    tags.push("Interactive");
    tags.push("Zone:Red");

    let workspace = vec![
        InstanceBuilder::new("Part")
            .with_name("Everything")
            .with_property("Anchored", true) // Bool
            .with_property("Transparency", 0.1f32) // Float32
            .with_property("Size", Vector3::new(0.1, 1.0 / 3.0, 1e-7)) // Vector3
            .with_property("Color", Color3uint8::new(1, 2, 3)) // Color3uint8
            .with_property("Material", Enum::from_u32(512)) // Enum
            .with_property("CFrame", cframe(1e6, -0.0, 123.456))
            .with_property("Tags", tags) // Tags
            .with_property("Attributes", attributes), // Attributes
        InstanceBuilder::new("SpawnLocation")
            .with_name("Spawn")
            .with_property("TeamColor", BrickColor::from_number(1004).unwrap()), // BrickColor
        InstanceBuilder::new("DoubleConstrainedValue")
            .with_name("Bounded")
            .with_property("MaxValue", 1e300f64) // Float64
            .with_property("MinValue", -0.1f64),
        InstanceBuilder::new("NumberValue")
            .with_name("Precise")
            .with_property("Value", std::f64::consts::PI),
        InstanceBuilder::new("IntValue")
            .with_name("Big")
            .with_property("Value", 9_007_199_254_740_993i64),
        InstanceBuilder::new("TerrainRegion")
            .with_name("Region")
            .with_property("ExtentsMax", Vector3int16::new(10, -20, 30)) // Vector3int16
            .with_property("ExtentsMin", Vector3int16::new(-1, 2, -3)),
        InstanceBuilder::new("ParticleEmitter")
            .with_name("Sparks")
            .with_property("Lifetime", NumberRange::new(0.5, 2.25)) // NumberRange
            .with_property("SpreadAngle", Vector2::new(15.0, 30.0)),
    ];
    let mut gui = InstanceBuilder::new("ScreenGui").with_name("Hud");
    let mut frame = InstanceBuilder::new("Frame")
        .with_name("Panel")
        .with_property("ZIndex", 5i32) // Int32
        .with_property("LayoutOrder", -3i32)
        .with_property("AnchorPoint", Vector2::new(0.5, 0.5)) // Vector2
        .with_property(
            "Size",
            UDim2::new(UDim::new(0.5, 0), UDim::new(0.0, 48)), // UDim2
        )
        .with_property("BackgroundColor3", Color3::new(0.1, 0.2, 0.3)); // Color3
    frame.add_child(
        InstanceBuilder::new("UICorner")
            .with_name("Corner")
            .with_property("CornerRadius", UDim::new(0.0, 8)), // UDim
    );
    frame.add_child(
        InstanceBuilder::new("TextLabel")
            .with_name("Title")
            .with_property("Text", "Hello, \"world\"\n") // String
            .with_property(
                "FontFace",
                Font::new(
                    "rbxasset://fonts/families/SourceSansPro.json",
                    FontWeight::SemiBold,
                    FontStyle::Normal,
                ),
            ), // Font
    );
    frame.add_child(
        InstanceBuilder::new("ImageLabel")
            .with_name("Icon")
            .with_property(
                "SliceCenter",
                Rect::new(Vector2::new(8.0, 8.0), Vector2::new(24.0, 24.0)),
            ), // Rect
    );
    gui.add_child(frame);
    let teams = vec![InstanceBuilder::new("Team")
        .with_name("Blue")
        .with_property("TeamColor", BrickColor::from_number(23).unwrap())];
    (workspace, vec![gui], teams)
}

#[test]
fn parity_comprehensive_properties() {
    let server = start(COMPLEX);
    let (workspace, gui, teams) = comprehensive_instances();
    let place = make_place(vec![
        ("Workspace", workspace),
        ("StarterGui", gui),
        ("Teams", teams),
    ]);
    assert_live_matches_cli(&server, COMPLEX, &place);
}

/// Children for every one of the 14 services.
fn all_services_place() -> WeakDom {
    let mut target = Some(part("Target"));
    let target_ref = target.as_ref().unwrap().referent();
    let mut services: Vec<(InstanceBuilder, Vec<InstanceBuilder>)> = Vec::new();
    for service in SERVICES {
        let builder = InstanceBuilder::new(service).with_name(service);
        let children = match service {
            "Lighting" => vec![
                InstanceBuilder::new("Sky").with_name("Sky"),
                InstanceBuilder::new("Atmosphere")
                    .with_name("Atmosphere")
                    .with_property("Density", 0.4f32),
            ],
            "MaterialService" => vec![folder("Materials")],
            "ReplicatedFirst" => vec![InstanceBuilder::new("LocalScript")
                .with_name("Loading")
                .with_property("Source", "print('loading')\n")],
            "ReplicatedStorage" => vec![module("Shared", "return {}\n")],
            "ServerScriptService" => vec![script("Main", "print('main')\n", 1)],
            "ServerStorage" => vec![InstanceBuilder::new("ObjectValue")
                .with_name("Pointer")
                .with_property("Value", Variant::Ref(target_ref))],
            "SoundService" => vec![
                InstanceBuilder::new("SoundGroup").with_name("Music"),
                InstanceBuilder::new("Sound")
                    .with_name("Theme")
                    .with_property("Volume", 0.2f32),
            ],
            "StarterGui" => vec![InstanceBuilder::new("ScreenGui")
                .with_name("Menu")
                .with_child(InstanceBuilder::new("Frame").with_name("Root"))],
            "StarterPack" => vec![InstanceBuilder::new("Tool")
                .with_name("Sword")
                .with_child(part("Handle"))],
            "StarterPlayer" => vec![
                InstanceBuilder::new("StarterPlayerScripts")
                    .with_name("StarterPlayerScripts")
                    .with_child(script("Controls", "print('controls')\n", 2)),
                InstanceBuilder::new("StarterCharacterScripts")
                    .with_name("StarterCharacterScripts")
                    .with_child(
                        InstanceBuilder::new("LocalScript")
                            .with_name("Health")
                            .with_property("Source", "print('health')\n"),
                    ),
            ],
            "Teams" => vec![InstanceBuilder::new("Team")
                .with_name("Red")
                .with_property("TeamColor", BrickColor::from_number(21).unwrap())],
            "TextChatService" => {
                vec![InstanceBuilder::new("Configuration").with_name("ChatConfig")]
            }
            "VoiceChatService" => vec![string_value("Note", "voice\n")],
            "Workspace" => vec![
                target.take().unwrap(),
                InstanceBuilder::new("Model")
                    .with_name("Map")
                    .with_child(part("Wall")),
            ],
            _ => unreachable!(),
        };
        services.push((builder, children));
    }
    make_place_with(services)
}

#[test]
fn parity_multi_service() {
    let server = start(COMPLEX);
    let place = all_services_place();
    let request = request_from_place(&place, &local_schema());
    assert_eq!(request.services.len(), 14);
    assert_live_matches_cli(&server, COMPLEX, &place);
    // Every service's folder has something of its own.
    for service in SERVICES {
        let dir = server.path(&format!("src/{service}"));
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .count();
        assert!(entries > 0, "{service} is empty");
    }
}

#[test]
fn parity_empty_services_mixed() {
    let server = start(COMPLEX);
    // Some services have children, some are present but empty, the rest are absent.
    let place = make_place(vec![
        ("ReplicatedStorage", vec![module("Kept", "return 1\n")]),
        ("Workspace", vec![part("Floor")]),
        ("Lighting", vec![]),
        ("Teams", vec![]),
        ("StarterGui", vec![]),
        ("ServerScriptService", vec![script("Main", "print(1)\n", 1)]),
    ]);
    assert_live_matches_cli(&server, COMPLEX, &place);
    let built = common::syncback_util::build(server.root());
    for service in SERVICES {
        let instance = built
            .root()
            .children()
            .iter()
            .map(|c| built.get_by_ref(*c).unwrap())
            .find(|i| i.name == service)
            .unwrap_or_else(|| panic!("{service} is not in the rebuilt place"));
        let expected = match service {
            "ReplicatedStorage" | "Workspace" | "ServerScriptService" => 1,
            _ => 0,
        };
        assert_eq!(
            instance.children().len(),
            expected,
            "{service} should have {expected} children after the syncback"
        );
    }
    // The old files of absent and empty services are gone.
    for old in [
        "src/Lighting/Atmosphere.model.json5",
        "src/Teams/Red.model.json5",
        "src/StarterGui/Hud.model.json5",
        "src/SoundService/Music.model.json5",
        "src/ServerStorage/Crate",
    ] {
        assert!(!server.path(old).exists(), "{old} should be gone");
    }
}

fn corpus_places() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(common::corpus_dir().join("places"))
        .map(|entries| {
            entries
                .map(|e| e.unwrap().path().join("binary.rbxl"))
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn parity_corpus_places() {
    let places = corpus_places();
    assert!(
        !places.is_empty(),
        "no corpus places in {}",
        common::corpus_dir().display()
    );
    let schema = local_schema();
    let mut failures = Vec::new();
    for path in &places {
        let read = || atlas::place_file::read(path).unwrap_or_else(|e| panic!("{e}"));
        // Studio cannot read service properties the reflection database does not know; the
        // CLI of the place as the plugin sees it is the baseline live output must equal.
        let (place, removed) = studio_visible(read(), &schema);
        let request = request_from_place(&place, &schema);
        let server = start(COMPLEX);
        let cli = run_cli_syncback(COMPLEX, &place);
        let from_chunks = run_cli_syncback_on_chunks(COMPLEX, &request);
        let old = post_api_syncback(&server, request);
        let info = wait_to_come_back_online(&server, &old);
        let last = info.last_syncback.expect("lastSyncback");
        if !last.ok {
            failures.push(format!(
                "{}: live syncback failed: {:?}",
                path.display(),
                last.error
            ));
            continue;
        }
        let mut differences = dir_differences(server.root(), &cli.root);
        differences.extend(
            dir_differences(server.root(), &from_chunks.root)
                .into_iter()
                .map(|d| format!("(vs CLI of the chunks) {d}")),
        );
        // The place file itself: only the project file's service properties may differ,
        // and only when some were unreadable.
        let raw = run_cli_syncback(COMPLEX, &read());
        differences.extend(
            dir_differences(&raw.root, &cli.root)
                .into_iter()
                .filter(|d| removed.is_empty() || !d.starts_with("default.project.json5 differs"))
                .map(|d| format!("(CLI of the file vs of the visible place) {d}")),
        );
        if !differences.is_empty() {
            failures.push(format!(
                "{}: {} difference(s):\n{}",
                path.display(),
                differences.len(),
                differences.join("\n")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Random places (awkward names, every script kind, values, references, attributes,
/// tags), and the same places after Studio-like edits synced over them: live syncback
/// writes exactly what the CLI writes for each.
#[test]
fn parity_random_places_and_their_edits() {
    use common::random_place::{edited_place, random_place};
    let mut failures = Vec::new();
    for seed in 1..=4u64 {
        let server = start(COMPLEX);
        for (label, place) in [
            ("place", random_place(seed)),
            ("edited", edited_place(seed)),
        ] {
            let cli = run_cli_syncback(COMPLEX, &place);
            live_syncback(&server, request_from_place(&place, &local_schema()));
            let differences = dir_differences(server.root(), &cli.root);
            if !differences.is_empty() {
                failures.push(format!("seed {seed} {label}:\n{}", differences.join("\n")));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn parity_cross_service_refs_and_service_properties() {
    let server = start(COMPLEX);
    let target = part("Target");
    let target_ref = target.referent();
    let label = InstanceBuilder::new("TextLabel").with_name("Label");
    let label_ref = label.referent();
    let hud = InstanceBuilder::new("ScreenGui")
        .with_name("Hud")
        .with_child(label);
    let shared = InstanceBuilder::new("ReplicatedStorage").with_name("ReplicatedStorage");
    let shared_ref = shared.referent();
    let mut lighting_attributes = Attributes::new();
    lighting_attributes.insert("Season".into(), Variant::String("winter".into()));
    lighting_attributes.insert("Intensity".into(), Variant::Float64(0.75));
    let mut workspace_tags = Tags::new();
    workspace_tags.push("World");
    let place = make_place_with(vec![
        (
            InstanceBuilder::new("Lighting")
                .with_name("Lighting")
                .with_property("ClockTime", 6.5f32)
                .with_property("Brightness", 2.25f32)
                .with_property("Ambient", Color3::new(0.25, 0.5, 0.75))
                .with_property("FogEnd", 5000.0f32)
                .with_property("Attributes", lighting_attributes),
            vec![InstanceBuilder::new("Sky").with_name("Sky")],
        ),
        (
            shared,
            vec![
                InstanceBuilder::new("ObjectValue")
                    .with_name("ToLabel")
                    .with_property("Value", Variant::Ref(label_ref)),
                module("Module", "return 1\n"),
            ],
        ),
        (
            InstanceBuilder::new("ServerStorage").with_name("ServerStorage"),
            vec![
                InstanceBuilder::new("ObjectValue")
                    .with_name("ToWorkspacePart")
                    .with_property("Value", Variant::Ref(target_ref)),
                InstanceBuilder::new("ObjectValue")
                    .with_name("ToService")
                    .with_property("Value", Variant::Ref(shared_ref)),
            ],
        ),
        (
            InstanceBuilder::new("StarterGui").with_name("StarterGui"),
            vec![hud],
        ),
        (
            InstanceBuilder::new("Workspace")
                .with_name("Workspace")
                .with_property("Gravity", 100.0f32)
                .with_property("FallenPartsDestroyHeight", -1000.0f32)
                .with_property("Tags", workspace_tags),
            vec![
                target,
                InstanceBuilder::new("Model")
                    .with_name("Holder")
                    .with_property("PrimaryPart", Variant::Ref(target_ref)),
            ],
        ),
        (
            InstanceBuilder::new("StarterPlayer")
                .with_name("StarterPlayer")
                .with_property("CameraMaxZoomDistance", 64.0f32),
            vec![],
        ),
    ]);
    let request = request_from_place(&place, &local_schema());
    // ToLabel, ToWorkspacePart and ToService cross services; Holder.PrimaryPart does not.
    assert_eq!(request.refs.len(), 3, "{:?}", request.refs);
    assert!(request
        .services
        .iter()
        .any(|c| c.class_name == "Workspace" && c.properties.is_some()));
    assert_live_matches_cli(&server, COMPLEX, &place);
    let project = std::fs::read_to_string(server.path("default.project.json5")).unwrap();
    assert!(project.contains("Gravity"), "{project}");
    assert!(project.contains("ClockTime"), "{project}");
    // The rebuilt place carries the service properties and the cross-service refs.
    let built = common::syncback_util::build(server.root());
    let find = |name: &str| {
        built
            .descendants()
            .find(|i| i.name == name)
            .unwrap_or_else(|| panic!("no {name}"))
    };
    assert_eq!(
        find("Workspace").properties.get(&"Gravity".into()),
        Some(&Variant::Float32(100.0))
    );
    assert_eq!(
        find("Lighting").properties.get(&"ClockTime".into()),
        Some(&Variant::Float32(6.5))
    );
    assert_eq!(
        find("ToWorkspacePart").properties.get(&"Value".into()),
        Some(&Variant::Ref(find("Target").referent()))
    );
    assert_eq!(
        find("ToService").properties.get(&"Value".into()),
        Some(&Variant::Ref(find("ReplicatedStorage").referent()))
    );
    assert_eq!(
        find("ToLabel").properties.get(&"Value".into()),
        Some(&Variant::Ref(find("Label").referent()))
    );
}

// ---------------------------------------------------------------------------------------
// Refusals: the old session keeps serving and no file changes
// ---------------------------------------------------------------------------------------

/// What a refusal must leave untouched.
struct Before {
    session_id: String,
    files: (
        BTreeMap<PathBuf, Vec<u8>>,
        std::collections::BTreeSet<PathBuf>,
    ),
}

fn before(server: &TestServe) -> Before {
    Before {
        session_id: server.info().session_id,
        files: dir_contents(server.root()),
    }
}

/// Asserts the refusal's status and kind, that the same session still answers (also a
/// moment later, when a wrongly accepted syncback would have restarted it) and that no
/// file changed. Returns the error details.
fn assert_refused(
    server: &TestServe,
    before: &Before,
    response: &HttpResponse,
    status: u16,
    kind: &str,
) -> String {
    let body = response.assert_error(status, kind);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        server.info().session_id,
        before.session_id,
        "the session changed"
    );
    assert!(
        dir_contents(server.root()) == before.files,
        "files changed after a refusal"
    );
    assert!(
        !server.path(".atlas").exists(),
        "a refused syncback made a backup"
    );
    body.details
}

fn versioned(server: &TestServe, request: WireRequest) -> WireRequest {
    request.with_versions(&server.info())
}

#[test]
fn rejects_bad_protocol() {
    let server = start(BASIC);
    let state = before(&server);
    let mut request = versioned(&server, small_request());
    request.protocol_version += 1.0;
    let response = post_api_syncback_raw(&server, &request.to_msgpack());
    let details = assert_refused(&server, &state, &response, 400, "BadRequest");
    assert!(details.contains("protocol"), "{details}");
}

#[test]
fn rejects_bad_version() {
    let server = start(BASIC);
    let state = before(&server);
    let mut request = versioned(&server, small_request());
    request.server_version = "999.0.0".to_string();
    let response = post_api_syncback_raw(&server, &request.to_msgpack());
    let details = assert_refused(&server, &state, &response, 400, "BadRequest");
    assert!(details.contains("version"), "{details}");
}

#[test]
fn rejects_blocked_place() {
    let server = start(PLACE_IDS);
    let state = before(&server);
    let mut request = versioned(&server, small_request());
    request.place_id = Some(999.0);
    let response = post_api_syncback_raw(&server, &request.to_msgpack());
    let details = assert_refused(&server, &state, &response, 403, "Forbidden");
    assert!(details.contains("999"), "{details}");
}

#[test]
fn rejects_a_model_project() {
    // A project that builds a model: the place the plugin sends would replace its root.
    let prepare = |root: &Path| {
        std::fs::write(
            root.join("default.project.json5"),
            "{ name: \"m\", tree: { $className: \"Folder\", $path: \"src/shared\" } }\n",
        )
        .unwrap();
    };
    let server = TestServe::start_prepared(BASIC, &[], prepare);
    let state = before(&server);
    let request = versioned(&server, small_request());
    let response = post_api_syncback_raw(&server, &request.to_msgpack());
    let details = assert_refused(&server, &state, &response, 400, "BadRequest");
    assert!(details.contains("builds a model"), "{details}");
}

#[test]
fn rejects_unlisted_place() {
    let server = start(PLACE_IDS);
    let state = before(&server);
    for place_id in [Some(555.0), Some(0.0), None] {
        let mut request = versioned(&server, small_request());
        request.place_id = place_id;
        let response = post_api_syncback_raw(&server, &request.to_msgpack());
        let details = assert_refused(&server, &state, &response, 403, "Forbidden");
        assert!(details.contains("servePlaceIds"), "{details}");
    }
}

#[test]
fn rejects_corrupt_chunk() {
    let server = start(BASIC);
    let state = before(&server);
    let mut request = versioned(&server, small_request());
    let workspace = request
        .services
        .iter_mut()
        .find(|c| c.class_name == "Workspace")
        .unwrap();
    // A real rbxm cut in half.
    let half = workspace.data.len() / 2;
    workspace.data.truncate(half);
    let response = post_api_syncback_raw(&server, &request.to_msgpack());
    let details = assert_refused(&server, &state, &response, 400, "BadRequest");
    assert!(details.contains("Workspace"), "{details}");

    // Not msgpack at all.
    let response = post_api_syncback_raw(&server, b"\xc1 definitely not msgpack");
    assert_refused(&server, &state, &response, 400, "BadRequest");

    // A ref path that does not resolve.
    let mut request = versioned(&server, small_request());
    request.refs.push(WireRef {
        source: WireLocation {
            service: "Workspace".into(),
            path: vec![5.0],
        },
        property: "Value".into(),
        target: WireLocation {
            service: "ReplicatedStorage".into(),
            path: vec![],
        },
    });
    let response = post_api_syncback_raw(&server, &request.to_msgpack());
    let details = assert_refused(&server, &state, &response, 400, "BadRequest");
    assert!(
        details.contains("refs[0]") && details.contains("path [5] in Workspace"),
        "{details}"
    );
}

#[test]
fn rejects_unknown_service() {
    let server = start(BASIC);
    let state = before(&server);
    let mut request = versioned(&server, small_request());
    request
        .services
        .push(make_service_chunk("HttpService", vec![folder("Sneaky")]));
    let response = post_api_syncback_raw(&server, &request.to_msgpack());
    let details = assert_refused(&server, &state, &response, 400, "BadRequest");
    assert!(details.contains("HttpService"), "{details}");
}

#[test]
fn rejects_a_payload_without_services() {
    let server = start(BASIC);
    let state = before(&server);
    let mut request = versioned(&server, small_request());
    request.services.clear();
    let response = post_api_syncback_raw(&server, &request.to_msgpack());
    let details = assert_refused(&server, &state, &response, 400, "BadRequest");
    assert!(details.contains("no service"), "{details}");
}

#[test]
fn rejects_foreign_origin() {
    let server = start(BASIC);
    let state = before(&server);
    let body = versioned(&server, small_request()).to_msgpack();
    for origin in ["https://evil.example", "http://attacker.test:34873", "null"] {
        let response = server.request(
            "POST",
            "/api/syncback",
            &[("Content-Type", "application/msgpack"), ("Origin", origin)],
            &body,
        );
        assert_refused(&server, &state, &response, 403, "Forbidden");
    }
}

#[test]
fn rejects_bad_host() {
    let server = start(BASIC);
    let state = before(&server);
    let body = versioned(&server, small_request()).to_msgpack();
    let wrong_port = format!("127.0.0.1:{}", server.port.wrapping_add(1));
    for host in [
        "evil.example",
        "evil.example:80",
        wrong_port.as_str(),
        "127.0.0.1.nip.io",
    ] {
        let response = server.request(
            "POST",
            "/api/syncback",
            &[("Content-Type", "application/msgpack"), ("Host", host)],
            &body,
        );
        assert_refused(&server, &state, &response, 400, "BadRequest");
    }
}

#[test]
fn rejects_wrong_content_type() {
    let server = start(BASIC);
    let state = before(&server);
    let body = versioned(&server, small_request()).to_msgpack();
    for content_type in [
        Some("application/json"),
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let headers: Vec<(&str, &str)> = content_type
            .map(|t| ("Content-Type", t))
            .into_iter()
            .collect();
        let response = server.request("POST", "/api/syncback", &headers, &body);
        assert_refused(&server, &state, &response, 415, "UnsupportedMediaType");
    }
}

/// Source text that rbxm's chunk compression cannot shrink much (a pseudo-random walk).
fn incompressible_source(bytes: usize) -> String {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut text = String::from("-- ");
    while text.len() < bytes {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        text.push(char::from(b'a' + (state % 26) as u8));
    }
    text
}

#[test]
fn rejects_oversized_body() {
    let server = TestServe::start(BASIC, &["--max-body-size", "4096"]);
    let state = before(&server);
    let mut request = versioned(&server, small_request());
    request.services.push(make_service_chunk(
        "ServerStorage",
        vec![module("Big", &incompressible_source(8000))],
    ));
    let body = request.to_msgpack();
    assert!(body.len() > 4096);
    // With a declared length (refused by the guard) ...
    let response = post_api_syncback_raw(&server, &body);
    assert_refused(&server, &state, &response, 413, "PayloadTooLarge");
    // ... and streamed without one (refused while reading).
    let mut chunked = Vec::new();
    for piece in body.chunks(1000) {
        chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let response = server.request(
        "POST",
        "/api/syncback",
        &[
            ("Content-Type", "application/msgpack"),
            ("Transfer-Encoding", "chunked"),
        ],
        &chunked,
    );
    assert_refused(&server, &state, &response, 413, "PayloadTooLarge");
    // A body under the limit still goes through.
    let small = versioned(&server, small_request()).to_msgpack();
    assert!(small.len() < 4096, "{}", small.len());
    live_syncback(&server, small_request());
}

// ---------------------------------------------------------------------------------------
// Allowed places
// ---------------------------------------------------------------------------------------

#[test]
fn allows_whitelisted_place() {
    let server = start(PLACE_IDS);
    let mut request = small_request();
    request.place_id = Some(123.0);
    let info = live_syncback(&server, request);
    assert!(info.last_syncback.unwrap().ok);
    assert!(server.path("src/shared/NewModule.luau").is_file());
}

#[test]
fn allows_any_place_when_unrestricted() {
    let server = start(BASIC);
    for (round, place_id) in [Some(999.0), Some(0.0), None].into_iter().enumerate() {
        let mut request = request_from_place(
            &make_place(vec![(
                "ReplicatedStorage",
                vec![module(&format!("Round{round}"), "return nil\n")],
            )]),
            &local_schema(),
        );
        request.place_id = place_id;
        live_syncback(&server, request);
        assert!(server
            .path(&format!("src/shared/Round{round}.luau"))
            .is_file());
    }
}

// ---------------------------------------------------------------------------------------
// Lifecycle
// ---------------------------------------------------------------------------------------

#[test]
fn server_comes_back_functional() {
    let server = start(BASIC);
    let port = server.port;
    let info = live_syncback(&server, small_request());
    let last = info.last_syncback.clone().unwrap();
    assert!(last.ok && last.error.is_none(), "{last:?}");
    // Two new files, three old ones removed.
    assert!(last.files_written >= 2, "{last:?}");
    assert!(last.files_removed >= 3, "{last:?}");
    assert!(
        last.undo.as_deref().is_some_and(|u| u.contains("--undo")),
        "{last:?}"
    );
    assert_eq!(server.port, port);
    assert_eq!(info.project_name, "LiveSyncback");

    // /api/read serves the new files.
    let tree = server.tree();
    assert!(tree.id("ReplicatedStorage/NewModule").is_some());
    assert!(tree.id("Workspace/NewPart").is_some());
    assert!(tree.id("ReplicatedStorage/OldModule").is_none());
    server.assert_matches_build();

    // The new session watches the files: a change reaches a WebSocket client.
    let id = tree.expect_id("ReplicatedStorage/NewModule");
    server.expect_patch(
        || server.write("src/shared/NewModule.luau", "return \"edited\"\n"),
        "the edited Source",
        |messages| {
            messages.iter().any(|m| {
                m.updated.iter().any(|u| {
                    u.id == id
                        && u.changed_properties.get("Source").is_some_and(|v| {
                            v.as_ref()
                                .is_some_and(|v| format!("{v:?}").contains("edited"))
                        })
                })
            })
        },
    );
    // And a second session id answers the same way on the next syncback.
    let again = live_syncback(&server, small_request());
    assert_ne!(again.session_id, info.session_id);
}

fn place_a() -> WeakDom {
    make_place(vec![
        (
            "ReplicatedStorage",
            vec![
                module("OnlyInA", "return 'a'\n"),
                module("Both", "return 'from a'\n"),
                {
                    let mut f = folder("FolderA");
                    f.add_child(string_value("Note", "a"));
                    f
                },
            ],
        ),
        ("Workspace", vec![part("PartA")]),
        (
            "ServerScriptService",
            vec![script("ScriptA", "print('a')\n", 1)],
        ),
    ])
}

fn place_b() -> WeakDom {
    make_place(vec![
        (
            "ReplicatedStorage",
            vec![
                module("OnlyInB", "return 'b'\n"),
                module("Both", "return 'from b'\n"),
            ],
        ),
        ("Workspace", vec![part("PartB"), part("PartB2")]),
    ])
}

#[test]
fn syncback_twice_different_data() {
    let server = start(BASIC);
    live_syncback(&server, request_from_place(&place_a(), &local_schema()));
    assert!(server.path("src/shared/OnlyInA.luau").is_file());
    let b = place_b();
    live_syncback(&server, request_from_place(&b, &local_schema()));
    let cli = run_cli_syncback(BASIC, &b);
    assert_dirs_equal(server.root(), &cli.root);
    assert!(!server.path("src/shared/OnlyInA.luau").exists());
    assert!(!server.path("src/shared/FolderA").exists());
    assert_eq!(
        std::fs::read_to_string(server.path("src/shared/Both.luau")).unwrap(),
        "return 'from b'\n"
    );
    server.assert_matches_build();
}

#[test]
fn a_hidden_service_the_project_maps_is_left_alone() {
    // Studio's plugin sends the 14 visible services only: Chat, which this project maps,
    // is not in the request, and must not be synced as if the place had emptied it.
    let prepare = |root: &Path| {
        let project = root.join("default.project.json5");
        let text = std::fs::read_to_string(&project).unwrap();
        let text = text.replacen(
            "tree: {",
            "tree: {\n    Chat: { $className: \"Chat\", $path: \"src/chat\", Bubble: { $path: \"src/bubble\" } },",
            1,
        );
        std::fs::write(&project, text).unwrap();
        std::fs::create_dir_all(root.join("src/chat")).unwrap();
        std::fs::write(root.join("src/chat/ChatMod.luau"), "return 'chat'\n").unwrap();
        std::fs::create_dir_all(root.join("src/bubble")).unwrap();
        std::fs::write(root.join("src/bubble/Theme.luau"), "return 'bubble'\n").unwrap();
    };
    let server = TestServe::start_prepared(BASIC, &[], prepare);
    let info = live_syncback(&server, request_from_place(&place_b(), &local_schema()));
    assert_eq!(info.last_syncback.as_ref().map(|l| l.ok), Some(true));
    assert_eq!(
        std::fs::read_to_string(server.path("src/chat/ChatMod.luau")).unwrap(),
        "return 'chat'\n"
    );
    assert!(!server.path("src/chat/.gitkeep").exists());
    // Its child nodes are left alone with it, under the one warning about the service.
    assert_eq!(
        std::fs::read_to_string(server.path("src/bubble/Theme.luau")).unwrap(),
        "return 'bubble'\n"
    );
    let log = server.log_text();
    assert_eq!(log.matches("does not send").count(), 1, "{log}");
    assert!(!log.contains("not in the place"), "{log}");
}

#[test]
fn syncback_replaces_all_old_files() {
    let server = start(BASIC);
    // Extra old files the syncback must remove (the watcher sees them first).
    server.write("src/shared/Legacy/Deep/Deeper/x.luau", "return 1\n");
    server.write(
        "src/shared/Legacy/init.meta.json5",
        "{\n  className: \"Model\",\n}\n",
    );
    server.write("src/workspace/Stuff.txt", "stuff\n");
    server.write("src/server/Other.client.luau", "print(2)\n");
    let place = place_b();
    let cli = run_cli_syncback(BASIC, &place);
    live_syncback(&server, request_from_place(&place, &local_schema()));
    assert_dirs_equal(server.root(), &cli.root);
    for orphan in [
        "src/shared/OldModule.luau",
        "src/server/OldScript.server.luau",
        "src/workspace/OldPart.model.json5",
        "src/shared/Legacy",
        "src/workspace/Stuff.txt",
        "src/server/Other.client.luau",
    ] {
        assert!(!server.path(orphan).exists(), "{orphan} survived");
    }
    // The undo brings them back (the backup holds them).
    let undo = std::process::Command::new(common::atlas_bin())
        .args(["syncback", "--undo"])
        .arg(server.root())
        .output()
        .unwrap();
    assert!(
        undo.status.success(),
        "{}",
        String::from_utf8_lossy(&undo.stderr)
    );
    assert!(server
        .path("src/shared/Legacy/Deep/Deeper/x.luau")
        .is_file());
    assert!(server.path("src/shared/OldModule.luau").is_file());
}

#[test]
fn failed_syncback_restores_and_serves() {
    let server = start(BASIC);
    server.write("src/shared/Locked/Keep.luau", "return 'keep'\n");
    server.assert_matches_build();
    let Some(lock) = common::Unwritable::new(&server.path("src/shared/Locked")) else {
        eprintln!("cannot make a directory unwritable here (not root, no chattr); skipped");
        return;
    };
    let files_before = dir_contents(server.root());
    // Files sort before and after the locked folder, so some are written before the
    // failure and must be taken back.
    let mut locked = folder("Locked");
    locked.add_child(module("Inner", "return 'cannot be written'\n"));
    let place = make_place(vec![
        (
            "ReplicatedStorage",
            vec![
                module("Alpha", "return 1\n"),
                locked,
                module("Zeta", "return 2\n"),
            ],
        ),
        (
            "ServerScriptService",
            vec![script("Written", "print('first')\n", 1)],
        ),
        ("Workspace", vec![part("AlsoWritten")]),
    ]);
    let old = post_api_syncback(&server, request_from_place(&place, &local_schema()));
    let info = wait_to_come_back_online(&server, &old);
    drop(lock);
    let last = info.last_syncback.clone().expect("lastSyncback");
    assert!(!last.ok, "{last:?}");
    let error = last.error.clone().unwrap_or_default();
    assert!(error.contains("restored"), "{error}");
    assert_eq!(last.files_written, 0, "{last:?}");
    // The restore used the backup up: `--undo` would restore an older syncback's.
    assert!(last.undo.is_none(), "{last:?}");
    assert!(
        dir_contents(server.root()) == files_before,
        "the project was not restored: {:?}",
        {
            let now = dir_contents(server.root());
            now.0
                .keys()
                .filter(|k| files_before.0.get(*k) != now.0.get(*k))
                .chain(files_before.0.keys().filter(|k| !now.0.contains_key(*k)))
                .cloned()
                .collect::<Vec<_>>()
        }
    );
    // The old project is served again.
    let tree = server.tree();
    assert!(tree.id("ReplicatedStorage/OldModule").is_some());
    assert!(tree.id("ReplicatedStorage/Locked/Keep").is_some());
    assert!(tree.id("ServerScriptService/Written").is_none());
    server.assert_matches_build();
}

/// A payload whose decoding takes a while: many instances in a service the fixture does
/// not map (decoded in full, then pruned by the syncback, so writing stays fast).
fn slow_to_decode_request() -> WireRequest {
    let mut bulk = folder("Bulk");
    for i in 0..150_000 {
        bulk.add_child(
            InstanceBuilder::new("Part")
                .with_name(format!("P{i}"))
                .with_property("Size", Vector3::new(i as f32, 1.0, 1.0)),
        );
    }
    let mut request = small_request();
    request
        .services
        .push(make_service_chunk("ServerStorage", vec![bulk]));
    request
}

#[test]
fn concurrent_syncback_gets_409() {
    let mut saw_conflict = false;
    let mut notes = Vec::new();
    for attempt in 0..4 {
        let server = start(BASIC);
        let info = server.info();
        let big = slow_to_decode_request().with_versions(&info).to_msgpack();
        // The probe is refused at the chunk check (step 7) unless a syncback is already
        // running (step 6: 409), so it can never start a syncback of its own.
        let mut probe = small_request().with_versions(&info);
        probe.services[0].data = serde_bytes::ByteBuf::from(b"garbage".to_vec());
        let probe = probe.to_msgpack();
        let port = server.port;
        let (sent_tx, sent_rx) = mpsc::channel();
        let first = std::thread::spawn(move || {
            post_syncback_signalling(port, &big, move || {
                let _ = sent_tx.send(());
            })
        });
        sent_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("body sent");
        // Probe only once the first request holds the syncback slot: a probe that got
        // there first would hold it itself for a moment and the first would see the 409.
        let waiting = Instant::now();
        while !server.log_text().contains("decoding") && waiting.elapsed() < Duration::from_secs(30)
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        let mut statuses = Vec::new();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            match try_http(
                port,
                "POST",
                "/api/syncback",
                &[("Content-Type", "application/msgpack")],
                &probe,
            ) {
                Ok(response) if response.status == 409 => {
                    response.assert_error(409, "Conflict");
                    statuses.push(409);
                    saw_conflict = true;
                    break;
                }
                Ok(response) => {
                    statuses.push(response.status);
                    if first.is_finished() {
                        break;
                    }
                }
                // The server already stopped to write the files.
                Err(_) => break,
            }
        }
        let first_status = first.join().unwrap();
        notes.push(format!(
            "attempt {attempt}: first {first_status:?}, probes {statuses:?}"
        ));
        if first_status.as_ref().ok() == Some(&200) {
            let back = wait_to_come_back_online(&server, &info.session_id);
            assert!(back.last_syncback.unwrap().ok);
            assert!(server.path("src/shared/NewModule.luau").is_file());
        }
        if saw_conflict {
            assert_eq!(first_status.ok(), Some(200), "{}", notes.join("\n"));
            break;
        }
    }
    assert!(
        saw_conflict,
        "no 409 seen while a syncback was running:\n{}",
        notes.join("\n")
    );
}

#[test]
fn schema_endpoint() {
    let server = start(BASIC);
    let schema: Schema = server.get("/api/syncback/schema").ok_msgpack();
    assert_eq!(schema.services, SERVICES.map(String::from).to_vec());
    assert_eq!(
        schema.service_properties["Workspace"]
            .get("Gravity")
            .map(String::as_str),
        Some("Float32")
    );
    assert!(schema.service_properties["Lighting"].contains_key("ClockTime"));
    assert!(!schema.service_properties["Workspace"].contains_key("CurrentCamera"));
    assert_eq!(schema.service_properties.len(), 14);
    assert!(schema.ref_properties["ObjectValue"].contains(&"Value".to_string()));
    assert!(schema.ref_properties["Model"].contains(&"PrimaryPart".to_string()));
    assert!(schema.ref_properties["Workspace"].contains(&"CurrentCamera".to_string()));
    assert!(schema.ref_properties["RopeConstraint"].contains(&"Attachment0".to_string()));
    assert!(schema
        .ref_properties
        .values()
        .all(|props| !props.iter().any(|p| p == "Parent")));
    // The same in JSON.
    let json = server.request(
        "GET",
        "/api/syncback/schema",
        &[("Accept", "application/json")],
        &[],
    );
    assert_eq!(json.status, 200);
    let decoded: serde_json::Value = serde_json::from_slice(&json.body).unwrap();
    assert_eq!(decoded["services"].as_array().unwrap().len(), 14);
    assert!(decoded["refProperties"]["ObjectValue"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v == "Value"));
}

#[test]
fn accepts_minimal_and_luau_shaped_bodies() {
    // Only className and data per chunk, numbers as integers, an empty Luau table for refs
    // and properties; the place id as a float.
    let server = start(BASIC);
    let info = server.info();
    let chunk = make_service_chunk("ReplicatedStorage", vec![module("Minimal", "return 0\n")]);
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Body {
        protocol_version: u32,
        server_version: String,
        place_id: f64,
        services: Vec<BodyChunk>,
        refs: BTreeMap<String, u8>,
    }
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct BodyChunk {
        class_name: String,
        data: serde_bytes::ByteBuf,
        properties: Vec<u8>,
    }
    let body = Body {
        protocol_version: info.protocol_version,
        server_version: info.server_version.clone(),
        place_id: 42.0,
        services: vec![
            BodyChunk {
                class_name: chunk.class_name,
                data: chunk.data,
                properties: Vec::new(),
            },
            BodyChunk {
                class_name: "Teams".into(),
                data: serde_bytes::ByteBuf::new(),
                properties: Vec::new(),
            },
        ],
        refs: BTreeMap::new(),
    };
    let response = post_api_syncback_raw(&server, &rmp_serde::to_vec_named(&body).unwrap());
    assert_eq!(response.status, 200, "{:?}", response.error_body());
    let back = wait_to_come_back_online(&server, &info.session_id);
    assert!(back.last_syncback.unwrap().ok);
    assert!(server.path("src/shared/Minimal.luau").is_file());
    // The equivalent place file gives the same files through the CLI.
    let request = WireRequest::new(vec![make_service_chunk(
        "ReplicatedStorage",
        vec![module("Minimal", "return 0\n")],
    )]);
    let place = dom_from_chunks(&request);
    let rbxl = make_rbxl_from_chunks(&request);
    assert_eq!(
        rbx_binary::from_reader(rbxl.as_slice())
            .unwrap()
            .descendants()
            .count(),
        place.descendants().count()
    );
    let cli = run_cli_syncback(BASIC, &place);
    assert_dirs_equal(server.root(), &cli.root);
}

// ---------------------------------------------------------------------------------------
// Round trip
// ---------------------------------------------------------------------------------------

#[test]
fn roundtrip_build_syncback_rebuild() {
    let original = common::syncback_util::build(&fixture_dir(COMPLEX));
    let server = start(COMPLEX);
    let request = request_from_place(&original, &local_schema());
    assert_eq!(request.services.len(), 14);
    assert!(
        !request.refs.is_empty(),
        "the fixture has cross-service refs"
    );
    live_syncback(&server, request);
    // The new session (started from the bytes just written) serves what a build reads.
    server.assert_matches_build();
    let rebuilt = common::syncback_util::build(server.root());
    // Both trees as a place file carries them: a place stores Part colours as
    // Color3uint8 and every attribute string as a string of bytes, whatever the project
    // files said, so that is the form in which the two builds must be equal.
    let as_place = |dom: &WeakDom| {
        let mut bytes = Vec::new();
        rbx_binary::to_writer(&mut bytes, dom, dom.root().children()).expect("encode");
        rbx_binary::from_reader(bytes.as_slice()).expect("decode")
    };
    let (original_place, rebuilt_place): (WeakDom, WeakDom) =
        (as_place(&original), as_place(&rebuilt));
    let differences = compare(
        &original_place,
        original_place.root_ref(),
        &rebuilt_place,
        rebuilt_place.root_ref(),
        CompareOptions {
            unordered_children: true,
            missing_is_default: true,
        },
    );
    assert!(
        differences.is_empty(),
        "{} difference(s) after build -> live syncback -> build:\n{}",
        differences.len(),
        differences.join("\n")
    );
    // Child counts per service, explicitly.
    let counts = |dom: &WeakDom| -> BTreeMap<String, usize> {
        dom.root()
            .children()
            .iter()
            .map(|c| {
                let i = dom.get_by_ref(*c).unwrap();
                (i.name.clone(), dom.descendants_of(*c).count())
            })
            .collect()
    };
    assert_eq!(counts(&original), counts(&rebuilt));
    // And the CLI writes the same files.
    let cli = run_cli_syncback(COMPLEX, &original);
    assert_dirs_equal(server.root(), &cli.root);
}

/// The plugin's `SYNCBACK_SERVICES` (plugin/src/Syncback/Services.luau) is the server's
/// list, name for name and in the same order: a service missing on either side would be
/// dropped or refused.
#[test]
fn plugin_and_server_send_the_same_services() {
    let path = common::repo_root()
        .join("plugin")
        .join("src")
        .join("Syncback")
        .join("Services.luau");
    let source = std::fs::read_to_string(&path).unwrap();
    let start = source
        .find("SYNCBACK_SERVICES = table.freeze({")
        .expect("SYNCBACK_SERVICES in Services.luau");
    let end = start + source[start..].find("})").expect("end of the list");
    let names: Vec<&str> = source[start..end]
        .lines()
        .skip(1)
        .map(|line| line.trim().trim_end_matches(',').trim_matches('"'))
        .filter(|name| !name.is_empty())
        .collect();
    assert_eq!(names, atlas::syncback::VISIBLE_SERVICES);
}
