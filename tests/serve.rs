//! Serve tests: the real `atlas serve` on copies of `rojo-test/serve-tests/*`. Every file
//! change must produce the right patch and leave the served tree equal to a fresh
//! `atlas build` of the same files.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use atlas::json_value::Value;
use atlas::serve::wire::{ServerInfo, SubscribeMessage, PROTOCOL_VERSION, VISIBLE_SERVICES};
use atlas::serve::{
    read_body, ApiError, AppState, Encoding, ErrorKind, LiveServer, ServeError, ServeSession,
    ServerConfig, ServerExit, SyncbackPayload,
};
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use common::serve_util::{free_port, run_serve_test, run_serve_test_with, try_http, TestServe};
use rbx_dom_weak::{InstanceBuilder, WeakDom};

fn string(text: &str) -> Option<Value> {
    Some(Value::object([("String", Value::from(text))]))
}

fn updated_property(
    messages: &[SubscribeMessage],
    id: &str,
    property: &str,
    value: &Option<Value>,
) -> bool {
    messages.iter().any(|m| {
        m.updated
            .iter()
            .any(|u| u.id == id && u.changed_properties.get(property) == Some(value))
    })
}

fn updated_any(messages: &[SubscribeMessage], id: &str, property: &str) -> bool {
    messages.iter().any(|m| {
        m.updated
            .iter()
            .any(|u| u.id == id && u.changed_properties.contains_key(property))
    })
}

fn removed(messages: &[SubscribeMessage], id: &str) -> bool {
    messages.iter().any(|m| m.removed.iter().any(|r| r == id))
}

fn added(messages: &[SubscribeMessage], name: &str, class: &str) -> bool {
    messages.iter().any(|m| {
        m.added
            .values()
            .any(|i| i.name == name && i.class_name == class)
    })
}

#[test]
fn initial_tree_matches_build() {
    for fixture in ["basic", "nested"] {
        run_serve_test(fixture, |session| {
            let served = session.tree().node();
            let differences = served.diff(&session.built());
            assert!(
                differences.is_empty(),
                "{fixture}:\n{}",
                differences.join("\n")
            );
        });
    }
}

#[test]
fn server_info_describes_the_session() {
    run_serve_test("basic", |session| {
        let info: ServerInfo = session.info();
        assert_eq!(info.project_name, "ServeBasic");
        assert_eq!(info.protocol_version, PROTOCOL_VERSION);
        assert_eq!(info.server_version, env!("CARGO_PKG_VERSION"));
        assert_eq!(info.expected_place_ids, Some(vec![123.0]));
        assert_eq!(info.unexpected_place_ids, Some(vec![999.0]));
        assert_eq!(info.place_id, Some(123.0));
        assert_eq!(info.game_id, None);
        assert_eq!(info.visible_services, VISIBLE_SERVICES);
        assert!(uuid::Uuid::parse_str(&info.session_id).is_ok_and(|id| id.get_version_num() == 4));
        // Unset ids are omitted; `lastSyncback` is there, as nil.
        let raw: Value = rmp_serde::from_slice(&session.get("/api/rojo").body).unwrap();
        let map = raw.as_object().unwrap();
        assert!(!map.contains_key("gameId"));
        assert_eq!(map.get("lastSyncback"), Some(&Value::Null));
        assert!(
            matches!(map["placeId"], Value::Float(_)),
            "{:?}",
            map["placeId"]
        );
        // Renaming the project renames the root, and the info follows.
        let project = std::fs::read_to_string(session.path("default.project.json5")).unwrap();
        session.write(
            "default.project.json5",
            &project.replace("name: \"ServeBasic\"", "name: \"Renamed\""),
        );
        session.assert_matches_build();
        assert_eq!(session.info().project_name, "Renamed");
    });
}

#[test]
fn script_edit_create_rename_delete() {
    run_serve_test("basic", |session| {
        let util = session.tree().expect_id("ReplicatedStorage/Util");
        session.expect_patch(
            || session.write("src/shared/Util.luau", "return { edited = true }\n"),
            "the new Source of Util",
            |m| updated_property(m, &util, "Source", &string("return { edited = true }\n")),
        );
        session.expect_patch(
            || session.write("src/shared/Fresh.server.luau", "print(1)\n"),
            "an added Script Fresh",
            |m| added(m, "Fresh", "Script"),
        );
        let fresh = session.tree().expect_id("ReplicatedStorage/Fresh");
        session.expect_patch(
            || {
                std::fs::rename(
                    session.path("src/shared/Fresh.server.luau"),
                    session.path("src/shared/Renamed.client.luau"),
                )
                .unwrap()
            },
            "Fresh removed and Renamed added",
            |m| removed(m, &fresh) && added(m, "Renamed", "Script"),
        );
        let renamed = session.tree().expect_id("ReplicatedStorage/Renamed");
        session.expect_patch(
            || std::fs::remove_file(session.path("src/shared/Renamed.client.luau")).unwrap(),
            "Renamed removed",
            |m| removed(m, &renamed),
        );
        // An edit keeps the instance's id.
        assert_eq!(session.tree().expect_id("ReplicatedStorage/Util"), util);
    });
}

#[test]
fn files_in_linked_folders_are_followed() {
    // src/shared/Linked is a link to a folder outside the project.
    let prepare = |root: &Path| {
        let target = root.parent().unwrap().join("linked-target");
        std::fs::create_dir_all(&target).unwrap();
        std::fs::write(target.join("Inner.luau"), "return 1\n").unwrap();
        std::os::unix::fs::symlink(&target, root.join("src/shared/Linked")).unwrap();
    };
    let session = TestServe::start_prepared("basic", &[], prepare);
    let inner = session.tree().expect_id("ReplicatedStorage/Linked/Inner");
    session.expect_patch(
        || session.write("src/shared/Linked/Inner.luau", "return 2\n"),
        "the new Source of Inner",
        |m| updated_property(m, &inner, "Source", &string("return 2\n")),
    );
    session.expect_patch(
        || session.write("src/shared/Linked/Added.luau", "return 3\n"),
        "an added ModuleScript Added",
        |m| added(m, "Added", "ModuleScript"),
    );
}

#[test]
fn meta_file_create_edit_delete() {
    run_serve_test("basic", |session| {
        let util = session.tree().expect_id("ReplicatedStorage/Util");
        session.expect_patch(
            || {
                session.write(
                    "src/shared/Util.meta.json5",
                    "{ attributes: { Level: 3 } }\n",
                )
            },
            "Attributes on Util",
            |m| updated_any(m, &util, "Attributes"),
        );
        session.expect_patch(
            || {
                session.write(
                    "src/shared/Util.meta.json5",
                    "{ attributes: { Level: 4 } }\n",
                )
            },
            "changed Attributes on Util",
            |m| updated_any(m, &util, "Attributes"),
        );
        let config = session.tree().expect_id("ReplicatedStorage/Config");
        session.expect_patch(
            || std::fs::remove_file(session.path("src/shared/Config.meta.json5")).unwrap(),
            "Attributes removed from Config",
            |m| updated_property(m, &config, "Attributes", &None),
        );
        session.expect_patch(
            || {
                session.write(
                    "src/shared/Lib/init.meta.json5",
                    "{ properties: { Archivable: false } }\n",
                )
            },
            "Archivable on Lib",
            |m| {
                updated_any(
                    m,
                    &session.tree().expect_id("ReplicatedStorage/Lib"),
                    "Archivable",
                )
            },
        );
    });
}

#[test]
fn model_file_edit_create_rename_delete() {
    run_serve_test("basic", |session| {
        let tree = session.tree();
        let floor = tree.expect_id("Workspace/Parts/Floor");
        let pointer = tree.expect_id("Workspace/Parts/Pointer");
        session.expect_patch(
            || {
                session.write(
                    "src/parts/Floor.model.json5",
                    "{ className: \"Part\", properties: { Anchored: false, Size: [10, 1, 10] } }\n",
                )
            },
            "Anchored false on Floor",
            |m| {
                updated_property(
                    m,
                    &floor,
                    "Anchored",
                    &Some(Value::object([("Bool", Value::Bool(false))])),
                )
            },
        );
        session.expect_patch(
            || {
                session.write(
                    "src/parts/Wall.model.json5",
                    "{ className: \"WedgePart\", children: [{ className: \"Decal\" }] }\n",
                )
            },
            "an added WedgePart with its Decal",
            |m| added(m, "Wall", "WedgePart") && added(m, "Decal", "Decal"),
        );
        // Renaming the target of a Rojo_Ref_ attribute breaks the reference: the
        // property goes away, as in a build.
        session.expect_patch(
            || {
                std::fs::rename(
                    session.path("src/parts/Floor.model.json5"),
                    session.path("src/parts/Ground.model.json5"),
                )
                .unwrap()
            },
            "Floor replaced by Ground and Pointer.Value cleared",
            |m| {
                removed(m, &floor)
                    && added(m, "Ground", "Part")
                    && updated_property(m, &pointer, "Value", &None)
            },
        );
        session.expect_patch(
            || {
                std::fs::rename(
                    session.path("src/parts/Ground.model.json5"),
                    session.path("src/parts/Floor.model.json5"),
                )
                .unwrap()
            },
            "Floor back and Pointer.Value pointing at it",
            |m| added(m, "Floor", "Part") && updated_any(m, &pointer, "Value"),
        );
        let wall = session.tree().expect_id("Workspace/Parts/Wall");
        session.expect_patch(
            || std::fs::remove_file(session.path("src/parts/Wall.model.json5")).unwrap(),
            "Wall removed",
            |m| removed(m, &wall),
        );
    });
}

#[test]
fn folder_create_rename_delete() {
    run_serve_test("basic", |session| {
        session.expect_patch(
            || {
                std::fs::create_dir(session.path("src/shared/Group")).unwrap();
                session.write("src/shared/Group/A.luau", "return 'a'\n");
                session.write("src/shared/Group/B.txt", "b");
            },
            "an added Group with its children",
            |m| {
                added(m, "Group", "Folder")
                    && added(m, "A", "ModuleScript")
                    && added(m, "B", "StringValue")
            },
        );
        let group = session.tree().expect_id("ReplicatedStorage/Group");
        session.expect_patch(
            || {
                std::fs::rename(
                    session.path("src/shared/Group"),
                    session.path("src/shared/Team"),
                )
                .unwrap()
            },
            "Group replaced by Team",
            |m| removed(m, &group) && added(m, "Team", "Folder") && added(m, "A", "ModuleScript"),
        );
        // A folder becomes a script when it gets an init file: the instance that was
        // re-read changes class (Studio replaces it, keeping the id).
        let team = session.tree().expect_id("ReplicatedStorage/Team");
        session.expect_patch(
            || session.write("src/shared/Team/init.server.luau", "print('team')\n"),
            "Team turned into a Script",
            |m| {
                m.iter().any(|m| {
                    m.updated
                        .iter()
                        .any(|u| u.id == team && u.changed_class_name.as_deref() == Some("Script"))
                }) && updated_property(m, &team, "Source", &string("print('team')\n"))
            },
        );
        let team = session.tree().expect_id("ReplicatedStorage/Team");
        session.expect_patch(
            || std::fs::remove_dir_all(session.path("src/shared/Team")).unwrap(),
            "Team removed",
            |m| removed(m, &team),
        );
        let lib = session.tree().expect_id("ReplicatedStorage/Lib");
        session.expect_patch(
            || session.write("src/shared/Lib/init.luau", "return 'lib'\n"),
            "the new Source of Lib",
            |m| updated_property(m, &lib, "Source", &string("return 'lib'\n")),
        );
    });
}

#[test]
fn ignored_and_hidden_files_change_nothing() {
    run_serve_test("basic", |session| {
        let cursor = session.tree().response.message_cursor;
        let mut socket = session.connect(cursor, false);
        session.write("src/server/Other.ignored.luau", "print(1)\n");
        session.write(".git/objects/abc", "x");
        session.write("notes.md", "# not in the tree\n");
        assert!(socket.next_packet(Duration::from_millis(700)).is_none());
        session.assert_matches_build();
    });
}

#[test]
fn project_file_edits_resync_the_project() {
    run_serve_test("basic", |session| {
        let workspace = session.tree().expect_id("Workspace");
        let text = std::fs::read_to_string(session.path("default.project.json5")).unwrap();
        let text = text.replace("Gravity: 100", "Gravity: 50").replace(
            "Parts: {",
            "Lights: { $className: \"Folder\" },\n      Parts: {",
        );
        session.expect_patch(
            || session.write("default.project.json5", &text),
            "the new Gravity and an added Lights folder",
            |m| updated_any(m, &workspace, "Gravity") && added(m, "Lights", "Folder"),
        );
        // A broken project file keeps the last good tree.
        session.write("default.project.json5", "{ name: ");
        std::thread::sleep(Duration::from_millis(300));
        assert!(session.tree().id("Workspace/Lights").is_some());
    });
}

#[test]
fn a_path_folder_that_appears_after_the_project_file_is_picked_up() {
    run_serve_test("basic", |session| {
        // As a `git checkout` writes them: the project file first, the new `$path`
        // folder later, in a folder no watch covers.
        let text = std::fs::read_to_string(session.path("default.project.json5")).unwrap();
        let text = text.replace(
            "Workspace: {",
            "StarterPlayer: { StarterPlayerScripts: { Client: { $path: \"later/client\" } } },\n    Workspace: {",
        );
        session.write("default.project.json5", &text);
        std::thread::sleep(Duration::from_millis(400));
        session.write("later/client/Input.client.luau", "print('input')\n");
        session.assert_matches_build();
        assert!(session
            .tree()
            .id("StarterPlayer/StarterPlayerScripts/Client/Input")
            .is_some());
    });
}

#[test]
fn fixing_a_broken_meta_file_brings_back_a_script_renamed_meanwhile() {
    run_serve_test("basic", |session| {
        session.write(
            "src/server/Main.meta.json5",
            "{ properties: { Disabled: true } }\n",
        );
        session.assert_matches_build();
        session.write("src/server/Main.meta.json5", "{ properties: { Disabled: ");
        std::thread::sleep(Duration::from_millis(300));
        std::fs::rename(
            session.path("src/server/Main.server.luau"),
            session.path("src/server/Main.client.luau"),
        )
        .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        session.write(
            "src/server/Main.meta.json5",
            "{ properties: { Disabled: false } }\n",
        );
        session.assert_matches_build();
        assert!(session.tree().id("ServerScriptService/Main").is_some());
    });
}

#[test]
fn a_class_change_carries_every_value_and_the_references_to_it() {
    run_serve_test("basic", |session| {
        let tree = session.tree();
        let floor = tree.expect_id("Workspace/Parts/Floor");
        let pointer = tree.expect_id("Workspace/Parts/Pointer");
        let messages = session.expect_patch(
            || {
                session.write(
                    "src/parts/Floor.model.json5",
                    "{ className: \"TrussPart\", properties: { Anchored: true, Size: [10, 1, 10] } }\n",
                )
            },
            "the class change",
            |m| {
                m.iter().any(|m| {
                    m.updated
                        .iter()
                        .any(|u| u.id == floor && u.changed_class_name.is_some())
                })
            },
        );
        // Studio replaces the instance: unchanged values must come along, and the
        // ObjectValue pointing at it must be pointed at the replacement.
        let update = messages
            .iter()
            .flat_map(|m| &m.updated)
            .find(|u| u.id == floor && u.changed_class_name.is_some())
            .unwrap();
        for property in ["Anchored", "size"] {
            assert!(
                update
                    .changed_properties
                    .keys()
                    .any(|k| k.eq_ignore_ascii_case(property)),
                "{property} missing from {:?}",
                update.changed_properties.keys()
            );
        }
        let resent = messages
            .iter()
            .flat_map(|m| &m.updated)
            .find(|u| u.id == pointer)
            .expect("the reference to the replaced instance");
        assert!(resent.changed_properties.contains_key("Value"));
    });
}

#[test]
fn values_plugins_cannot_write_are_not_sent() {
    run_serve_test("basic", |session| {
        session.expect_patch(
            || {
                session.write(
                    "src/parts/Gear.model.json5",
                    "{ className: \"Model\", properties: { Scale: 2 }, children: [\n\
                     { name: \"Mesh\", className: \"MeshPart\", properties: {\n\
                     MeshId: \"rbxassetid://1\", Size: [1, 2, 3], SourceAssetId: { Int64: 7 } } },\n\
                     ] }\n",
                )
            },
            "the new model",
            |m| added(m, "Mesh", "MeshPart"),
        );
        let tree = session.tree();
        let model = tree.expect_id("Workspace/Parts/Gear");
        let mesh = tree.expect_id("Workspace/Parts/Gear/Mesh");
        let read = session.read(&[&model, &mesh]);
        let model = &read.instances[&model].properties;
        let mesh = &read.instances[&mesh].properties;
        // Custom: the plugin writes it with Model:ScaleTo.
        assert!(model.contains_key("Scale"), "{model:?}");
        assert!(mesh.contains_key("Size"), "{mesh:?}");
        // Read-only and NotScriptable: Studio refuses them to plugins.
        assert!(!mesh.contains_key("MeshId"), "{mesh:?}");
        assert!(!mesh.contains_key("MeshContent"), "{mesh:?}");
        assert!(!mesh.contains_key("SourceAssetId"), "{mesh:?}");
    });
}

#[test]
fn a_new_broken_file_does_not_hold_back_edits_to_its_siblings() {
    run_serve_test("basic", |session| {
        let tree = session.tree();
        let util = tree.expect_id("ReplicatedStorage/Util");
        let helper = tree.expect_id("ReplicatedStorage/Lib/Helper");
        let mut socket = session.connect(tree.response.message_cursor, false);
        // Half-saved new files: the folders holding them no longer read. The first arrives
        // in the same batch as an edit beside it, the second before one.
        std::fs::write(session.path("src/shared/Broken.luau"), b"return \"\xff\"\n").unwrap();
        session.write("src/shared/Util.luau", "return 'edited'\n");
        socket.wait_for(
            "the edit beside a broken new file",
            |m| updated_property(m, &util, "Source", &string("return 'edited'\n")),
            session,
        );
        session.write("src/shared/Lib/Half.model.json5", "{ className: \"Fo");
        std::thread::sleep(Duration::from_millis(300));
        session.write("src/shared/Lib/Helper.luau", "return 'helped'\n");
        socket.wait_for(
            "the edit beside a broken new model file",
            |m| updated_property(m, &helper, "Source", &string("return 'helped'\n")),
            session,
        );
        std::fs::remove_file(session.path("src/shared/Broken.luau")).unwrap();
        session.write(
            "src/shared/Lib/Half.model.json5",
            "{ className: \"Folder\" }\n",
        );
        session.assert_matches_build();
        assert!(session.tree().id("ReplicatedStorage/Lib/Half").is_some());
    });
}

#[test]
fn a_path_folder_replaced_by_a_new_one_is_watched_again() {
    run_serve_test("basic", |session| {
        let old = session.root().with_file_name("parts-old");
        std::fs::rename(session.path("src/parts"), &old).unwrap();
        std::fs::create_dir(session.path("src/parts")).unwrap();
        session.write("src/parts/B.luau", "return 2\n");
        session.assert_matches_build();
        std::thread::sleep(Duration::from_millis(300));
        // Written after the swap has been processed: only a watch on the new folder sees it.
        session.write("src/parts/C.luau", "return 3\n");
        session.write(
            &format!(
                "../{}/Ghost.luau",
                old.file_name().unwrap().to_string_lossy()
            ),
            "return 0\n",
        );
        session.assert_matches_build();
        assert!(session.tree().id("Workspace/Parts/C").is_some());
    });
}

#[test]
fn a_new_meta_file_beside_a_file_path_target_applies() {
    let prepare = |root: &Path| {
        let project = root.join("default.project.json5");
        let text = std::fs::read_to_string(&project).unwrap().replace(
            "ServerScriptService: {\n      $path: \"src/server\",\n    },",
            "ServerScriptService: {\n      Boot: { $path: \"boot/Boot.server.luau\" },\n    },",
        );
        std::fs::write(project, text).unwrap();
        std::fs::create_dir_all(root.join("boot")).unwrap();
        std::fs::write(root.join("boot/Boot.server.luau"), "print('boot')\n").unwrap();
    };
    let session = TestServe::start_prepared("basic", &[], prepare);
    let boot = session.tree().expect_id("ServerScriptService/Boot");
    session.expect_patch(
        || {
            session.write(
                "boot/Boot.meta.json5",
                "{ properties: { Disabled: true } }\n",
            )
        },
        "Disabled on Boot",
        |m| updated_any(m, &boot, "Disabled"),
    );
    session.assert_matches_build();
}

#[test]
fn nested_projects_follow_their_files() {
    run_serve_test("nested", |session| {
        let main = session
            .tree()
            .expect_id("ReplicatedStorage/Packages/Lib/Source/Main");
        session.expect_patch(
            || session.write("packages/Lib/src/Main.luau", "return 'changed'\n"),
            "the new Source of Main",
            |m| updated_property(m, &main, "Source", &string("return 'changed'\n")),
        );
        session.expect_patch(
            || {
                session.write(
                    "packages/Lib/default.project.json5",
                    "{ name: \"Lib\", tree: { $className: \"Folder\", Source: { $path: \"src\" }, Extra: { $className: \"Model\" } } }\n",
                )
            },
            "Settings replaced by Extra",
            |m| added(m, "Extra", "Model") && !m.iter().all(|m| m.removed.is_empty()),
        );
        session.expect_patch(
            || session.write("packages/Lib/src/Second.luau", "return 2\n"),
            "an added Second",
            |m| added(m, "Second", "ModuleScript"),
        );
    });
}

#[test]
fn burst_of_writes_ends_equal_to_a_fresh_build() {
    run_serve_test("basic", |session| {
        std::fs::create_dir_all(session.path("src/shared/Burst")).unwrap();
        for i in 0..200 {
            let file = format!("src/shared/Burst/Module{}.luau", i % 37);
            match i % 10 {
                7 => {
                    let _ = std::fs::remove_file(session.path(&file));
                }
                8 => session.write(
                    &format!("src/shared/Burst/Sub{}/init.meta.json5", i % 5),
                    &format!("{{ attributes: {{ N: {i} }} }}\n"),
                ),
                9 => session.write(
                    "src/parts/Floor.model.json5",
                    &format!(
                        "{{ className: \"Part\", properties: {{ Transparency: {}.5 }} }}\n",
                        i % 3
                    ),
                ),
                _ => session.write(&file, &format!("return {i}\n")),
            }
        }
        session.assert_matches_build();
    });
}

#[test]
fn reconnecting_with_an_old_cursor_gets_missed_messages() {
    run_serve_test("basic", |session| {
        let start = session.tree().response.message_cursor;
        let util = session.tree().expect_id("ReplicatedStorage/Util");
        session.expect_patch(
            || session.write("src/shared/Util.luau", "return 1\n"),
            "the first edit",
            |m| updated_property(m, &util, "Source", &string("return 1\n")),
        );
        session.expect_patch(
            || session.write("src/shared/Util.luau", "return 2\n"),
            "the second edit",
            |m| updated_property(m, &util, "Source", &string("return 2\n")),
        );
        let now = session.tree().response.message_cursor;
        assert!(now >= start + 2);
        let mut socket = session.connect(start, false);
        let packet = socket
            .next_packet(Duration::from_secs(5))
            .expect("missed messages");
        assert_eq!(packet.body.message_cursor, now);
        assert_eq!(packet.body.messages.len() as u32, now - start);
        assert!(updated_property(
            &packet.body.messages,
            &util,
            "Source",
            &string("return 1\n")
        ));
        assert!(updated_property(
            &packet.body.messages,
            &util,
            "Source",
            &string("return 2\n")
        ));
        // Up to date: nothing until the next change.
        let mut current = session.connect(now, false);
        assert!(current.next_packet(Duration::from_millis(500)).is_none());
        // A cursor beyond the end (kept from another session) counts as the end: the
        // next change arrives, not the one after the queue catches up with it.
        let mut ahead = session.connect(now + 5, false);
        assert!(ahead.next_packet(Duration::from_millis(300)).is_none());
        session.write("src/shared/Util.luau", "return 3\n");
        let packet = ahead
            .next_packet(Duration::from_secs(5))
            .expect("the first change after connecting ahead of the end");
        assert_eq!(packet.body.message_cursor, now + 1);
        assert!(updated_property(
            &packet.body.messages,
            &util,
            "Source",
            &string("return 3\n")
        ));
    });
}

#[test]
fn read_answers_404_for_unknown_ids_and_400_for_malformed_ones() {
    run_serve_test("basic", |session| {
        let tree = session.tree();
        let util = tree.expect_id("ReplicatedStorage/Util");
        let read = session.read(&[&util]);
        assert_eq!(read.instances.len(), 1);
        let lib = tree.expect_id("ReplicatedStorage/Lib");
        assert_eq!(
            session.read(&[&lib]).instances.len(),
            2,
            "Lib and its Helper"
        );
        let unknown = "0123456789abcdef0123456789abcdef";
        let details = session
            .get(&format!("/api/read/{util},{unknown}"))
            .assert_error(404, "NotFound");
        assert!(details.details.contains(unknown));
        // The nil id is well formed; no instance has it.
        session
            .get(&format!("/api/read/{}", "0".repeat(32)))
            .assert_error(404, "NotFound");
        session.get("/api/read/xyz").assert_error(400, "BadRequest");
        session
            .get(&format!("/api/read/{util},"))
            .assert_error(400, "BadRequest");
        session
            .get("/api/nothing-here")
            .assert_error(404, "NotFound");
        session
            .get("/api/socket/12")
            .assert_error(400, "BadRequest");
        session
            .get("/api/socket/abc")
            .assert_error(400, "BadRequest");
    });
}

#[test]
fn request_guard_refuses_foreign_requests() {
    run_serve_test_with("basic", &["--max-body-size", "1000"], |session| {
        let port = session.port.to_string();
        for host in [
            "localhost",
            "127.0.0.1",
            "[::1]",
            &format!("localhost:{port}"),
            &format!("127.0.0.1:{port}"),
        ] {
            assert_eq!(
                session
                    .request("GET", "/api/rojo", &[("Host", host)], &[])
                    .status,
                200,
                "{host}"
            );
        }
        for host in ["example.com", &format!("evil.test:{port}"), "127.0.0.1:1"] {
            session
                .request("GET", "/api/rojo", &[("Host", host)], &[])
                .assert_error(400, "BadRequest");
        }
        session
            .request(
                "GET",
                "/api/rojo",
                &[("Origin", "https://example.com")],
                &[],
            )
            .assert_error(403, "Forbidden");
        session
            .request("GET", "/api/rojo", &[("Origin", "null")], &[])
            .assert_error(403, "Forbidden");
        assert_eq!(
            session
                .request(
                    "GET",
                    "/api/rojo",
                    &[("Origin", "http://localhost:3000")],
                    &[]
                )
                .status,
            200
        );
        // Bodies: the guard runs before routing, so any POST shows it.
        session
            .request(
                "POST",
                "/api/rojo",
                &[("Content-Type", "text/plain")],
                b"{}",
            )
            .assert_error(415, "UnsupportedMediaType");
        session
            .request("POST", "/api/rojo", &[], b"{}")
            .assert_error(415, "UnsupportedMediaType");
        session
            .request(
                "POST",
                "/api/rojo",
                &[("Content-Type", "application/msgpack")],
                &[0u8; 2000],
            )
            .assert_error(413, "PayloadTooLarge");
        session
            .request(
                "POST",
                "/api/rojo",
                &[("Content-Type", "application/msgpack")],
                &[0x80],
            )
            .assert_error(405, "MethodNotAllowed");
    });
}

#[test]
fn json_when_the_client_accepts_it() {
    run_serve_test("basic", |session| {
        let accept = [("Accept", "application/json")];
        let response = session.request("GET", "/api/rojo", &accept, &[]);
        assert_eq!(response.header("content-type"), Some("application/json"));
        let info: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(info["projectName"], "ServeBasic");
        assert!(info["lastSyncback"].is_null());
        let root = info["rootInstanceId"].as_str().unwrap().to_string();
        let read: serde_json::Value = serde_json::from_slice(
            &session
                .request("GET", &format!("/api/read/{root}"), &accept, &[])
                .body,
        )
        .unwrap();
        assert_eq!(read["instances"][&root]["ClassName"], "DataModel");
        let errors = session.request("GET", "/api/read/nope", &accept, &[]);
        assert_eq!(errors.header("content-type"), Some("application/json"));
        errors.assert_error(400, "BadRequest");

        let util = session.tree().expect_id("ReplicatedStorage/Util");
        let mut socket = session.connect(read["messageCursor"].as_u64().unwrap() as u32, true);
        session.write("src/shared/Util.luau", "return 'json'\n");
        let messages = socket.wait_for(
            "a JSON packet",
            |m| updated_any(m, &util, "Source"),
            session,
        );
        assert!(updated_property(
            &messages,
            &util,
            "Source",
            &string("return 'json'\n")
        ));
    });
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let temp = tempfile::tempdir().unwrap();
    common::copy_dir(
        &common::repo_root().join("rojo-test/serve-tests/basic"),
        temp.path(),
    );
    let output = std::process::Command::new(common::atlas_bin())
        .arg("serve")
        .arg(temp.path())
        .arg("--port")
        .arg(port.to_string())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("port {port}")) && stderr.contains("already in use"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    drop(listener);
}

#[test]
fn cli_prints_the_address_and_uses_the_project_port() {
    let port = free_port();
    let temp = tempfile::tempdir().unwrap();
    common::copy_dir(
        &common::repo_root().join("rojo-test/serve-tests/nested"),
        temp.path(),
    );
    let project = temp.path().join("default.project.json5");
    let text = std::fs::read_to_string(&project).unwrap().replace(
        "name: \"Nested\",",
        &format!("name: \"Nested\",\n  servePort: {port},"),
    );
    std::fs::write(&project, text).unwrap();
    let mut child = std::process::Command::new(common::atlas_bin())
        .arg("serve")
        .arg(temp.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        line.trim(),
        format!("Atlas server listening on http://127.0.0.1:{port}")
    );
}

/// Threads the server, the watcher and the change processor run on (by their names).
fn serve_threads() -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| {
            let name = name.trim();
            name.starts_with("atlas-serve")
                || name.starts_with("atlas change")
                || name.starts_with("notify-rs")
        })
        .count()
}

async fn echo(State(state): State<AppState>, encoding: Encoding, body: Body) -> Response {
    match read_body(body, state.max_body_size()).await {
        Ok(bytes) => (StatusCode::OK, bytes).into_response(),
        Err(error) => encoding.error(error),
    }
}

async fn request_syncback(State(state): State<AppState>, encoding: Encoding) -> Response {
    let payload = SyncbackPayload {
        dom: WeakDom::new(InstanceBuilder::new("DataModel")),
        place_id: Some(7),
    };
    if state.request_exit(ServerExit::SyncbackRequested(Box::new(payload))) {
        encoding.ok(&"syncback_initiated")
    } else {
        encoding.error(ApiError::new(
            ErrorKind::Conflict,
            "a syncback is already in progress",
        ))
    }
}

/// Two sessions, one after the other, on the same port in one process: routes added by
/// another module sit behind the guard, the exit reason comes back, and nothing (threads,
/// the session) outlives a run.
#[test]
fn sessions_start_stop_and_start_again_in_one_process() {
    let temp = tempfile::tempdir().unwrap();
    common::copy_dir(
        &common::repo_root().join("rojo-test/serve-tests/basic"),
        temp.path(),
    );
    let port = free_port();
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let before = serve_threads();
    for round in 0..2 {
        let session = Arc::new(ServeSession::new(temp.path()).unwrap());
        let weak = Arc::downgrade(&session);
        let config = ServerConfig {
            max_body_size: 64,
            ..ServerConfig::default()
        };
        let server = LiveServer::new(session, config)
            .route("/api/echo", post(echo))
            .route("/api/syncback-test", post(request_syncback))
            .bind(address)
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(server.local_addr(), address);
        // A second server cannot take the port.
        let clash = LiveServer::new(
            Arc::new(ServeSession::new_unwatched(temp.path()).unwrap()),
            ServerConfig::default(),
        )
        .bind(address);
        assert!(matches!(clash, Err(ServeError::PortInUse { port: p, .. }) if p == port));
        let handle = server.handle();
        let thread = std::thread::spawn(move || server.run());
        let started = Instant::now();
        while try_http(port, "GET", "/api/rojo", &[], &[])
            .map(|r| r.status)
            .ok()
            != Some(200)
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "server did not come up"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(serve_threads() > before);

        let msgpack = [("Content-Type", "application/msgpack")];
        let echoed = try_http(port, "POST", "/api/echo", &msgpack, b"\x91\x01").unwrap();
        assert_eq!(
            (echoed.status, echoed.body.as_slice()),
            (200, &b"\x91\x01"[..])
        );
        try_http(
            port,
            "POST",
            "/api/echo",
            &[("Content-Type", "text/plain")],
            b"x",
        )
        .unwrap()
        .assert_error(415, "UnsupportedMediaType");
        // Without a length, the body is capped while it is read.
        let chunked = [
            ("Content-Type", "application/msgpack"),
            ("Transfer-Encoding", "chunked"),
        ];
        let mut body = format!("{:x}\r\n", 100).into_bytes();
        body.extend_from_slice(&[0u8; 100]);
        body.extend_from_slice(b"\r\n0\r\n\r\n");
        try_http(port, "POST", "/api/echo", &chunked, &body)
            .unwrap()
            .assert_error(413, "PayloadTooLarge");
        try_http(
            port,
            "POST",
            "/api/echo",
            &[
                ("Content-Type", "application/msgpack"),
                ("Host", "evil.test"),
            ],
            b"",
        )
        .unwrap()
        .assert_error(400, "BadRequest");

        let exit = if round == 0 {
            handle.shutdown();
            thread.join().unwrap().unwrap()
        } else {
            let answer = try_http(port, "POST", "/api/syncback-test", &msgpack, b"").unwrap();
            assert_eq!(answer.status, 200);
            assert!(
                !handle.request_exit(ServerExit::Shutdown),
                "the first request wins"
            );
            thread.join().unwrap().unwrap()
        };
        match (round, exit) {
            (0, ServerExit::Shutdown) => {}
            (1, ServerExit::SyncbackRequested(payload)) => assert_eq!(payload.place_id, Some(7)),
            (_, other) => panic!("round {round}: unexpected exit {other:?}"),
        }
        assert!(
            weak.upgrade().is_none(),
            "round {round}: the session outlived its server"
        );
        let stopped = Instant::now();
        while serve_threads() > before {
            assert!(
                stopped.elapsed() < Duration::from_secs(5),
                "round {round}: {} threads left",
                serve_threads() - before
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            try_http(port, "GET", "/api/rojo", &[], &[]).is_err(),
            "the port is closed"
        );
    }
}

/// Random file-system edits of the kinds people make while serving (new, edited and
/// removed scripts, text, models, meta, TOML and init files; new, renamed and removed
/// folders), in batches: after each batch the served tree settles equal to a fresh build.
#[test]
fn random_edits_end_equal_to_a_fresh_build() {
    use common::random_place::Rng;
    const DIRS: [&str; 5] = ["", "Dir1", "Dir2", "Dir1/Inner", "Lib"];
    const FILES: [(&str, &str); 9] = [
        ("A.luau", "return 'a'\n"),
        ("A.server.luau", "print('a')\n"),
        ("B.txt", "some text"),
        (
            "C.model.json5",
            "{ className: \"Part\", properties: { Anchored: true } }\n",
        ),
        ("A.meta.json5", "{ attributes: { Tuned: 2 } }\n"),
        ("init.luau", "return 'init'\n"),
        (
            "init.meta.json5",
            "{ properties: { } , attributes: { Ready: true } }\n",
        ),
        ("Conf.toml", "speed = 16\n"),
        ("D.client.luau", "print('d')\n"),
    ];
    for seed in 1..=3u64 {
        run_serve_test("basic", |session| {
            let base = session.path("src/shared");
            let mut rng = Rng(0x2545_F491_4F6C_DD1D ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            for _round in 0..8 {
                for _ in 0..10 {
                    let dir = base.join(DIRS[rng.below(DIRS.len())]);
                    let (name, text) = FILES[rng.below(FILES.len())];
                    match rng.below(8) {
                        0 => {
                            let _ = std::fs::remove_file(dir.join(name));
                        }
                        1 if dir != base => {
                            let _ = std::fs::remove_dir_all(&dir);
                        }
                        2 if dir != base => {
                            let renamed = dir.with_file_name(format!("Moved{}", rng.below(3)));
                            if !renamed.exists() {
                                let _ = std::fs::rename(&dir, renamed);
                            }
                        }
                        3 => {
                            // Scripts change kind by name alone; other renames would
                            // give a file contents of another format.
                            let to_name = FILES[rng.below(FILES.len())].0;
                            let (from, to) = (dir.join(name), dir.join(to_name));
                            let scripts = name.ends_with(".luau") && to_name.ends_with(".luau");
                            if scripts && from.exists() && !to.exists() {
                                let _ = std::fs::rename(from, to);
                            }
                        }
                        _ => {
                            let comment = match name.rsplit('.').next() {
                                Some("toml") => "#",
                                Some("json5") => "//",
                                _ => "--",
                            };
                            let text = format!("{text}{comment} {}\n", rng.below(99));
                            std::fs::create_dir_all(&dir).unwrap();
                            std::fs::write(dir.join(name), text).unwrap();
                        }
                    }
                }
                session.assert_matches_build();
            }
        });
    }
}
