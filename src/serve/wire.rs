//! What travels between `atlas serve` and the Studio plugin: request/response bodies and
//! socket packets (docs/serve-protocol.md), the live syncback request and schema
//! (docs/live-syncback-protocol.md), and their construction from the live tree.
//!
//! Field names are part of the protocol: responses use camelCase, instances PascalCase
//! (as Rojo's plugin expects). Ids are 32-digit lowercase hex strings. Property values use
//! the explicit tagged form of the file format (`{Vector3: [1, 2, 3]}`), so the plugin and
//! the files share one value encoding.

use std::collections::{BTreeMap, HashMap, HashSet};

use rbx_dom_weak::types::{Ref, Variant, VariantType};
use serde::{Deserialize, Deserializer, Serialize};

use crate::json_value::Value;
use crate::properties;
use crate::snapshot::{AppliedPatchSet, AppliedUpdate, Tree};

/// The protocol version; bumped on any incompatible change of this module's types.
pub const PROTOCOL_VERSION: u32 = 1;

/// The version of this server.
pub const SERVER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The services Studio shows and live syncback sends, in the plugin's order (the same list
/// syncback keeps under a DataModel).
pub use crate::syncback::VISIBLE_SERVICES;

/// An id on the wire.
pub fn id_string(id: Ref) -> String {
    id.to_string()
}

/// Parses a wire id: exactly 32 hex digits (the null id is not an instance).
pub fn parse_id(text: &str) -> Option<Ref> {
    if text.len() != 32 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    text.parse::<Ref>().ok().filter(|r| r.is_some())
}

/// `GET /api/rojo`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServerInfo {
    pub session_id: String,
    pub server_version: String,
    pub protocol_version: u32,
    pub project_name: String,
    /// From the project's `servePlaceIds`. Numbers are sent as floats: Luau has no integers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_place_ids: Option<Vec<f64>>,
    /// From the project's `blockedPlaceIds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unexpected_place_ids: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place_id: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub game_id: Option<f64>,
    pub root_instance_id: String,
    pub visible_services: Vec<String>,
    /// The outcome of the syncback that started this session; nil otherwise.
    pub last_syncback: Option<LastSyncback>,
}

/// What the last live syncback did (DESIGN.md decision 9).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct LastSyncback {
    pub ok: bool,
    pub error: Option<String>,
    pub files_written: u64,
    pub files_removed: u64,
    pub duration_ms: u64,
    /// The command that restores the files the syncback replaced.
    pub undo: Option<String>,
}

/// An instance as Studio sees it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Instance {
    pub id: String,
    /// The null id for the root.
    pub parent: String,
    pub name: String,
    pub class_name: String,
    pub properties: BTreeMap<String, Value>,
    pub children: Vec<String>,
    pub metadata: InstanceMetadata,
}

/// The metadata Studio uses.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct InstanceMetadata {
    /// Leave Studio-only children of this instance alone.
    pub ignore_unknown_instances: bool,
}

/// `GET /api/read/{ids}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReadResponse {
    pub session_id: String,
    pub message_cursor: u32,
    pub instances: BTreeMap<String, Instance>,
}

/// One batch of changes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct SubscribeMessage {
    pub removed: Vec<String>,
    /// Every added instance and all of its descendants.
    pub added: BTreeMap<String, Instance>,
    pub updated: Vec<InstanceUpdate>,
}

/// Changes to one instance.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InstanceUpdate {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_class_name: Option<String>,
    /// Property -> new value; nil means the property was removed.
    #[serde(default)]
    pub changed_properties: BTreeMap<String, Option<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_metadata: Option<InstanceMetadata>,
}

/// A WebSocket frame from the server.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SocketPacket {
    pub session_id: String,
    /// Always `"messages"` for now.
    pub packet_type: String,
    pub body: MessagesPacket,
}

/// The body of a `"messages"` packet.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MessagesPacket {
    /// Reconnect with this cursor to get only later messages.
    pub message_cursor: u32,
    pub messages: Vec<SubscribeMessage>,
}

/// The body of every error response.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorResponse {
    /// `NotFound`, `BadRequest`, `Forbidden`, `PayloadTooLarge`, `UnsupportedMediaType`,
    /// `Conflict`, `MethodNotAllowed` or `InternalError`.
    pub kind: String,
    pub details: String,
}

/// A property value in wire form; `None` for values Studio never gets.
pub fn property_value(value: &Variant) -> Option<Value> {
    match value {
        _ if !plugin_uses(value.ty()) => None,
        Variant::Ref(id) => Some(Value::object([("Ref", Value::String(id_string(*id)))])),
        other => Some(properties::encode_explicit(other)),
    }
}

/// Whether a plugin can set and use values of this type. Studio makes its own ids and
/// capabilities, and keeps shared strings, terrain colours and asset references behind
/// APIs of their own: such values are never sent (each would fail on every sync), nor
/// asked for by the syncback schema.
pub fn plugin_uses(ty: VariantType) -> bool {
    !matches!(
        ty,
        VariantType::SharedString
            | VariantType::UniqueId
            | VariantType::SecurityCapabilities
            | VariantType::MaterialColors
            | VariantType::NetAssetRef
    )
}

/// One tree instance in wire form.
pub fn instance(tree: &Tree, id: Ref) -> Option<Instance> {
    let instance = tree.dom().get_by_ref(id)?;
    let unwritable = properties::plugin_unwritable(instance.class.as_str());
    let properties = instance
        .properties
        .iter()
        .filter(|(key, _)| !unwritable.is_some_and(|names| names.contains(key.as_str())))
        .filter_map(|(key, value)| Some((key.to_string(), property_value(value)?)))
        .collect();
    Some(Instance {
        id: id_string(id),
        parent: id_string(instance.parent()),
        name: instance.name.clone(),
        class_name: instance.class.to_string(),
        properties,
        children: instance.children().iter().copied().map(id_string).collect(),
        metadata: InstanceMetadata {
            ignore_unknown_instances: tree
                .metadata(id)
                .is_some_and(|m| m.ignore_unknown_instances),
        },
    })
}

/// Adds `id` and all of its descendants to `out`.
pub fn add_subtree(tree: &Tree, id: Ref, out: &mut BTreeMap<String, Instance>) {
    if tree.dom().get_by_ref(id).is_none() {
        return;
    }
    for descendant in tree.dom().descendants_of(id) {
        if let Some(wire) = instance(tree, descendant.referent()) {
            out.insert(wire.id.clone(), wire);
        }
    }
}

/// The message for an applied patch, built from the tree right after applying it.
pub fn subscribe_message(tree: &Tree, applied: &AppliedPatchSet) -> SubscribeMessage {
    let mut added = BTreeMap::new();
    for id in &applied.added {
        add_subtree(tree, *id, &mut added);
    }
    let mut updated: Vec<InstanceUpdate> = applied
        .updated
        .iter()
        .filter_map(|u| {
            let instance = tree.dom().get_by_ref(u.id)?;
            Some(instance_update(u, instance.class.as_str()))
        })
        .collect();
    let replaced: HashSet<Ref> = applied
        .updated
        .iter()
        .filter(|u| u.changed_class_name.is_some())
        .map(|u| u.id)
        .collect();
    if !replaced.is_empty() {
        resend_for_replaced(tree, &replaced, &mut updated);
    }
    SubscribeMessage {
        removed: applied.removed.iter().copied().map(id_string).collect(),
        added,
        updated,
    }
}

/// Studio changes an instance's class by replacing it with a new instance: that one
/// starts from its class defaults, and references to the old one point at a destroyed
/// instance. So a class change carries every value of the instance, and every reference
/// to it is sent again.
fn resend_for_replaced(tree: &Tree, replaced: &HashSet<Ref>, updated: &mut Vec<InstanceUpdate>) {
    let mut index: HashMap<String, usize> = updated
        .iter()
        .enumerate()
        .map(|(i, update)| (update.id.clone(), i))
        .collect();
    let mut send = |id: Ref, key: &str, value: &Variant| {
        let Some(value) = property_value(value) else {
            return;
        };
        let id = id_string(id);
        let at = *index.entry(id.clone()).or_insert_with(|| {
            updated.push(InstanceUpdate {
                id,
                changed_name: None,
                changed_class_name: None,
                changed_properties: BTreeMap::new(),
                changed_metadata: None,
            });
            updated.len() - 1
        });
        updated[at]
            .changed_properties
            .entry(key.to_string())
            .or_insert(Some(value));
    };
    for id in replaced {
        if let Some(instance) = tree.dom().get_by_ref(*id) {
            for (key, value) in &instance.properties {
                if properties::plugin_can_write(instance.class.as_str(), key) {
                    send(*id, key.as_str(), value);
                }
            }
        }
    }
    for instance in tree.dom().descendants() {
        for (key, value) in &instance.properties {
            if matches!(value, Variant::Ref(target) if replaced.contains(target))
                && properties::plugin_can_write(instance.class.as_str(), key)
            {
                send(instance.referent(), key.as_str(), value);
            }
        }
    }
}

/// `class`: the instance's class now. A plugin resets a removed property to the default
/// of a fresh instance of the class, and cannot make a service: for a service, the reset
/// carries the class default instead of nil. Values a plugin cannot write are left out.
fn instance_update(update: &AppliedUpdate, class: &str) -> InstanceUpdate {
    let service = crate::syncback::filter::is_service(class).then_some(class);
    InstanceUpdate {
        id: id_string(update.id),
        changed_name: update.changed_name.clone(),
        changed_class_name: update.changed_class_name.clone(),
        // A removed property is sent as nil; one Studio never gets is not sent at all.
        changed_properties: update
            .changed_properties
            .iter()
            .filter(|(key, _)| properties::plugin_can_write(class, key))
            .filter_map(|(key, value)| match value {
                // A service has no fresh instance to reset from: without a known default
                // (`Lighting.ClockTime`, which `TimeOfDay` also sets) Studio keeps its value.
                None => match service {
                    Some(class) => crate::syncback::filter::default_value(class, key)
                        .and_then(property_value)
                        .map(|default| (key.to_string(), Some(default))),
                    None => Some((key.to_string(), None)),
                },
                Some(value) => property_value(value).map(|wire| (key.to_string(), Some(wire))),
            })
            .collect(),
        changed_metadata: update
            .changed_ignore_unknown_instances
            .map(|ignore_unknown_instances| InstanceMetadata {
                ignore_unknown_instances,
            }),
    }
}

// ---------------------------------------------------------------------------------------
// Live syncback (docs/live-syncback-protocol.md)
// ---------------------------------------------------------------------------------------

/// A number from Luau: msgpack may carry it as an integer or a float.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WireNumber(pub f64);

impl WireNumber {
    /// The value as a whole number, if it is one.
    pub fn as_u64(self) -> Option<u64> {
        (self.0.fract() == 0.0 && self.0 >= 0.0 && self.0 < 1.8e19).then_some(self.0 as u64)
    }
}

impl<'de> Deserialize<'de> for WireNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::Int(i) => Ok(WireNumber(i as f64)),
            Value::UInt(u) => Ok(WireNumber(u as f64)),
            Value::Float(f) => Ok(WireNumber(f)),
            Value::Float32(f) => Ok(WireNumber(f as f64)),
            other => Err(serde::de::Error::custom(format!(
                "expected a number, got {}",
                other.kind()
            ))),
        }
    }
}

/// The body of `POST /api/syncback`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncbackRequest {
    pub protocol_version: WireNumber,
    pub server_version: String,
    #[serde(default)]
    pub place_id: Option<WireNumber>,
    pub services: Vec<ServiceChunk>,
    #[serde(default, deserialize_with = "list_or_empty_map")]
    pub refs: Vec<CrossRef>,
}

/// One service: the rbxm of its children, and its own properties.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceChunk {
    pub class_name: String,
    pub data: serde_bytes::ByteBuf,
    /// Explicit-form property values; an empty Luau table may arrive as an empty array.
    #[serde(default)]
    pub properties: Option<Value>,
}

/// A Ref property whose source or target lies outside one chunk.
#[derive(Debug, Deserialize)]
pub struct CrossRef {
    pub source: InstanceLocation,
    pub property: String,
    pub target: InstanceLocation,
}

/// A service's class name and child indexes from it (`[]` is the service itself).
#[derive(Debug, Deserialize)]
pub struct InstanceLocation {
    pub service: String,
    #[serde(default, deserialize_with = "list_or_empty_map")]
    pub path: Vec<WireNumber>,
}

/// Luau encodes an empty table as an empty map or array; accept both for lists.
fn list_or_empty_map<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrMap<T> {
        List(Vec<T>),
        Map(BTreeMap<String, serde::de::IgnoredAny>),
    }
    match Option::<ListOrMap<T>>::deserialize(deserializer)? {
        Some(ListOrMap::List(items)) => Ok(items),
        Some(ListOrMap::Map(map)) if map.is_empty() => Ok(Vec::new()),
        Some(ListOrMap::Map(_)) => Err(serde::de::Error::custom("expected an array")),
        None => Ok(Vec::new()),
    }
}

/// `GET /api/syncback/schema`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SyncbackSchema {
    pub services: Vec<String>,
    /// Per service class: serializable non-Ref properties and their Variant type names.
    pub service_properties: BTreeMap<String, BTreeMap<String, String>>,
    /// Per class: every serializable Ref property, inherited ones included.
    pub ref_properties: BTreeMap<String, Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::InstanceSnapshot;
    use rbx_dom_weak::types::{SharedString, Vector3};

    #[test]
    fn parses_only_full_hex_ids() {
        let id = Ref::new();
        assert_eq!(parse_id(&id_string(id)), Some(id));
        assert_eq!(parse_id("abc"), None);
        assert_eq!(parse_id(&"0".repeat(32)), None);
        assert_eq!(parse_id(&"g".repeat(32)), None);
    }

    #[test]
    fn instances_use_the_explicit_form_and_drop_shared_strings() {
        let snapshot = InstanceSnapshot::new("Part", "P")
            .with_property("Size", Vector3::new(1.0, 2.0, 3.0))
            .with_property("Blob", Variant::SharedString(SharedString::new(vec![1, 2])));
        let tree = Tree::new(snapshot);
        let wire = instance(&tree, tree.root_ref()).unwrap();
        assert_eq!(wire.parent, "0".repeat(32));
        assert!(!wire.properties.contains_key("Blob"));
        assert_eq!(
            wire.properties["Size"],
            Value::object([(
                "Vector3",
                Value::Array(vec![
                    Value::Float32(1.0),
                    Value::Float32(2.0),
                    Value::Float32(3.0)
                ])
            )])
        );
        let json = serde_json::to_value(&wire).unwrap();
        assert_eq!(json["Metadata"]["ignoreUnknownInstances"], false);
        assert_eq!(json["ClassName"], "Part");
    }

    #[test]
    fn updates_skip_unset_fields_and_send_nil_for_removed_properties() {
        let mut update = AppliedUpdate::new(Ref::new());
        update.changed_properties.insert("Gone".into(), None);
        // Values a plugin cannot set are not sent at all (not sent as nil, a reset).
        update.changed_properties.insert(
            "UniqueId".into(),
            Some(Variant::UniqueId(rbx_dom_weak::types::UniqueId::new(
                1, 2, 3,
            ))),
        );
        update.changed_properties.insert(
            "Blob".into(),
            Some(Variant::SharedString(SharedString::new(vec![1]))),
        );
        // Nor are values Roblox keeps from plugins, changed or removed.
        update
            .changed_properties
            .insert("SourceAssetId".into(), Some(Variant::Int64(5)));
        update.changed_properties.insert("MeshId".into(), None);
        let wire = instance_update(&update, "MeshPart");
        let json = serde_json::to_value(&wire).unwrap();
        assert!(json.get("changedName").is_none());
        assert_eq!(json["changedProperties"]["Gone"], serde_json::Value::Null);
        assert!(json["changedProperties"].get("UniqueId").is_none());
        assert!(json["changedProperties"].get("Blob").is_none());
        assert!(json["changedProperties"].get("SourceAssetId").is_none());
        assert!(json["changedProperties"].get("MeshId").is_none());

        // A service cannot be made afresh for its defaults: its reset carries the default.
        let mut reset = AppliedUpdate::new(Ref::new());
        reset.changed_properties.insert("Brightness".into(), None);
        // One whose default nobody knows is left as Studio has it (a nil would fail there).
        reset.changed_properties.insert("ClockTime".into(), None);
        let json = serde_json::to_value(instance_update(&reset, "Lighting")).unwrap();
        assert!(
            json["changedProperties"]["Brightness"]["Float32"].is_number(),
            "{json}"
        );
        assert!(
            json["changedProperties"].get("ClockTime").is_none(),
            "{json}"
        );
    }
}
