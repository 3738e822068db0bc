//! Live syncback, server side (docs/live-syncback-protocol.md): `POST /api/syncback`
//! validates and decodes Studio's per-service payload into one `WeakDom` *before*
//! answering, then asks the server to stop so the serve loop can run the same syncback
//! as the CLI; `GET /api/syncback/schema` tells the plugin what to collect.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use rayon::prelude::*;
use rbx_dom_weak::types::{Ref, UniqueId, Variant};
use rbx_dom_weak::{InstanceBuilder, UstrMap, WeakDom};
use serde::Serialize;

use super::encoding::{decode_msgpack, read_body, ApiError, Encoding, ErrorKind};
use super::server::{AppState, LiveServer, ServerExit, SyncbackPayload};
use super::wire::{
    plugin_uses, InstanceLocation, ServiceChunk, SyncbackRequest, SyncbackSchema, WireNumber,
    PROTOCOL_VERSION, SERVER_VERSION, VISIBLE_SERVICES,
};
use crate::json_value::Value;
use crate::project::Project;
use crate::properties;

/// Whether a place file stores this property; `Name` and `Parent` are the tree itself,
/// not properties to send.
fn is_stored(name: &str, property: &rbx_reflection::PropertyDescriptor) -> bool {
    use rbx_reflection::{PropertyKind, PropertySerialization};
    let serializes = matches!(
        &property.kind,
        PropertyKind::Canonical {
            serialization: PropertySerialization::Serializes
                | PropertySerialization::SerializesAs(_)
        }
    );
    serializes && name != "Name" && name != "Parent"
}

/// The properties of `class` (its superclasses' included) that a place file stores,
/// with their types.
fn own_properties(class: &str) -> Vec<(&'static str, &'static rbx_reflection::DataType<'static>)> {
    let database = rbx_reflection_database::get_bundled();
    let mut out = Vec::new();
    let mut current = database.classes.get(class);
    while let Some(descriptor) = current {
        for (name, property) in &descriptor.properties {
            if is_stored(name, property) {
                out.push((*name, &property.data_type));
            }
        }
        current = descriptor.superclass.and_then(|s| database.classes.get(s));
    }
    out
}

/// The type of one property of `class` that a place file stores, if it is one.
fn stored_property_type(
    class: &str,
    name: &str,
) -> Option<&'static rbx_reflection::DataType<'static>> {
    properties::find_property(class, name)
        .filter(|property| is_stored(name, property))
        .map(|property| &property.data_type)
}

/// Builds the schema from the reflection database.
pub fn schema() -> SyncbackSchema {
    let database = rbx_reflection_database::get_bundled();
    let property_types = |class: &str| {
        own_properties(class)
            .into_iter()
            .map(|(name, data_type)| (name, data_type.ty()))
            .collect::<Vec<_>>()
    };
    let mut service_properties = BTreeMap::new();
    for service in VISIBLE_SERVICES {
        let props = property_types(service)
            .into_iter()
            // References go in `refs`; values a plugin cannot use it cannot send either.
            .filter(|(_, ty)| *ty != rbx_dom_weak::types::VariantType::Ref && plugin_uses(*ty))
            .map(|(name, ty)| (name.to_string(), format!("{ty:?}")))
            .collect();
        service_properties.insert(service.to_string(), props);
    }
    let mut ref_properties = BTreeMap::new();
    for class in database.classes.keys() {
        let refs: BTreeSet<String> = property_types(class)
            .into_iter()
            .filter(|(_, ty)| *ty == rbx_dom_weak::types::VariantType::Ref)
            .map(|(name, _)| name.to_string())
            .collect();
        if !refs.is_empty() {
            ref_properties.insert(class.to_string(), refs.into_iter().collect());
        }
    }
    SyncbackSchema {
        services: VISIBLE_SERVICES.iter().map(|s| s.to_string()).collect(),
        service_properties,
        ref_properties,
    }
}

/// Checks the versions and the place id (steps 3–5 of the protocol).
pub fn check_request(request: &SyncbackRequest, project: &Project) -> Result<(), ApiError> {
    if request.protocol_version.0 != f64::from(PROTOCOL_VERSION) {
        return Err(ApiError::bad_request(format!(
            "protocol version mismatch: the plugin speaks {}, this server speaks {PROTOCOL_VERSION}; update the plugin or atlas",
            request.protocol_version.0
        )));
    }
    if major_minor(&request.server_version) != major_minor(SERVER_VERSION) {
        return Err(ApiError::bad_request(format!(
            "server version mismatch: the plugin expects {}, this server is {SERVER_VERSION}",
            request.server_version
        )));
    }
    let place_id = match request.place_id {
        None => 0,
        Some(number) => number.as_u64().ok_or_else(|| {
            ApiError::bad_request(format!(
                "placeId must be a whole number from 0 up, got {}",
                number.0
            ))
        })?,
    };
    // The plugin sends a place.
    crate::syncback::check_input_fits(project, true).map_err(ApiError::bad_request)?;
    if let Some(blocked) = &project.blocked_place_ids {
        if blocked.contains(&place_id) {
            return Err(ApiError::new(
                ErrorKind::Forbidden,
                format!("place {place_id} is in this project's blockedPlaceIds"),
            ));
        }
    }
    if let Some(allowed) = &project.serve_place_ids {
        if !allowed.contains(&place_id) {
            return Err(ApiError::new(
                ErrorKind::Forbidden,
                format!("place {place_id} is not in this project's servePlaceIds"),
            ));
        }
    }
    Ok(())
}

fn major_minor(version: &str) -> (String, String) {
    let mut parts = version.trim().split('.');
    (
        parts.next().unwrap_or_default().to_string(),
        parts.next().unwrap_or_default().to_string(),
    )
}

/// Decodes every chunk in parallel and rebuilds one DataModel: a real instance of each
/// service with its properties, its children moved in (referents kept, so refs inside a
/// chunk stay valid), then the cross-chunk refs. Any problem is a 400 naming the chunk.
pub fn rebuild_dom(request: &SyncbackRequest) -> Result<WeakDom, ApiError> {
    let started = std::time::Instant::now();
    if request.services.is_empty() {
        // Every place has a Workspace: an empty list is a broken client, and syncing it
        // would empty every mapped folder.
        return Err(ApiError::bad_request(
            "the payload holds no service; a place always has at least Workspace",
        ));
    }
    let mut seen = BTreeSet::new();
    for chunk in &request.services {
        if !VISIBLE_SERVICES.contains(&chunk.class_name.as_str()) {
            return Err(ApiError::bad_request(format!(
                "unknown service \"{}\": live syncback takes only {}",
                chunk.class_name,
                VISIBLE_SERVICES.join(", ")
            )));
        }
        if !seen.insert(chunk.class_name.as_str()) {
            return Err(ApiError::bad_request(format!(
                "service {} is sent twice",
                chunk.class_name
            )));
        }
    }
    let decoded: Vec<Option<WeakDom>> = request
        .services
        .par_iter()
        .map(|chunk| {
            if chunk.data.is_empty() {
                return Ok(None);
            }
            crate::place_file::decode_binary(chunk.data.as_slice())
                .map(Some)
                .map_err(|reason| {
                    ApiError::bad_request(format!(
                        "the data of service {} is not a valid rbxm: {reason}",
                        chunk.class_name
                    ))
                })
        })
        .collect::<Result<_, _>>()?;
    let decoded_at = started.elapsed();

    // Each chunk's tree is kept as it is: its root becomes the service and the trees are
    // joined under one DataModel at the storage level. Moving the instances one by one
    // instead costs a scan of the service's children per child (quadratic: 0.6 s for a
    // service with 40k children, seconds beyond).
    let (root, mut instances) =
        WeakDom::new(InstanceBuilder::new("DataModel").with_name("Game")).into_raw();
    let mut unique_ids = HashSet::new();
    let mut services: HashMap<&str, Ref> = HashMap::new();
    let mut order = Vec::with_capacity(request.services.len());
    for (chunk, chunk_dom) in request.services.iter().zip(decoded) {
        let class = chunk.class_name.as_str();
        let (service, chunk_instances) = chunk_dom
            .unwrap_or_else(|| WeakDom::new(InstanceBuilder::new(class)))
            .into_raw();
        for (referent, mut instance) in chunk_instances {
            if referent == service {
                instance.class = class.into();
                instance.name = class.to_string();
                instance.properties = service_properties(chunk)?;
            }
            keep_unique_id_unique(&mut instance, &mut unique_ids, class)?;
            if instances.insert(referent, instance).is_some() {
                return Err(ApiError::new(
                    ErrorKind::InternalError,
                    format!(
                        "service {class}: two instances got the same id while rebuilding the place"
                    ),
                ));
            }
        }
        services.insert(class, service);
        order.push(service);
    }
    let mut dom = WeakDom::from_raw(root, instances);
    for service in order {
        dom.transfer_within(service, root);
    }

    for (index, cross) in request.refs.iter().enumerate() {
        let locate = |location: &InstanceLocation, what: &str| -> Result<Ref, ApiError> {
            let mut current = *services.get(location.service.as_str()).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "refs[{index}]: the {what} is in service {}, which the payload does not send",
                    location.service
                ))
            })?;
            for step in &location.path {
                let children = dom
                    .get_by_ref(current)
                    .map(|i| i.children())
                    .unwrap_or_default();
                let child = step
                    .as_u64()
                    .and_then(|i| children.get(i as usize).copied())
                    .ok_or_else(|| {
                        // Indices read as numbers; whole ones are shown as such (`[5]`).
                        let shown: Vec<String> = location
                            .path
                            .iter()
                            .map(|n| match n.as_u64() {
                                Some(whole) => whole.to_string(),
                                None => n.0.to_string(),
                            })
                            .collect();
                        ApiError::bad_request(format!(
                            "refs[{index}]: the {what} path [{}] in {} does not exist",
                            shown.join(", "),
                            location.service
                        ))
                    })?;
                current = child;
            }
            Ok(current)
        };
        let source = locate(&cross.source, "source")?;
        let target = locate(&cross.target, "target")?;
        let source_class = dom
            .get_by_ref(source)
            .map(|i| i.class.to_string())
            .unwrap_or_default();
        let is_ref_property = matches!(
            stored_property_type(&source_class, &cross.property),
            Some(rbx_reflection::DataType::Value(
                rbx_dom_weak::types::VariantType::Ref
            ))
        );
        if !is_ref_property {
            return Err(ApiError::bad_request(format!(
                "refs[{index}]: {} is not a reference property of {source_class}",
                cross.property
            )));
        }
        if let Some(instance) = dom.get_by_ref_mut(source) {
            instance
                .properties
                .insert(cross.property.as_str().into(), Variant::Ref(target));
        }
    }
    log::debug!(
        "live syncback: chunks decoded in {decoded_at:.2?}, place rebuilt at {:.2?}",
        started.elapsed()
    );
    Ok(dom)
}

/// Whether a value fits a property's type (an enum value must name one of its items):
/// a value that does not would be written into the project and fail the next build.
fn check_type(variant: &Variant, data_type: &rbx_reflection::DataType) -> Result<(), String> {
    use rbx_reflection::DataType;
    match (data_type, variant) {
        (DataType::Enum(name), Variant::Enum(value)) => {
            let known = rbx_reflection_database::get_bundled()
                .enums
                .get(&**name)
                .is_none_or(|descriptor| descriptor.items.values().any(|v| *v == value.to_u32()));
            if known {
                Ok(())
            } else {
                Err(format!("{} is not an item of Enum.{name}", value.to_u32()))
            }
        }
        (DataType::Enum(name), other) => Err(format!(
            "expected an Enum.{name} value, got {:?}",
            other.ty()
        )),
        (DataType::Value(expected), other) if other.ty() != *expected => Err(format!(
            "expected a {expected:?} value, got {:?}",
            other.ty()
        )),
        _ => Ok(()),
    }
}

/// A service's own properties as the request states them (the optional `properties`).
fn service_properties(chunk: &ServiceChunk) -> Result<UstrMap<Variant>, ApiError> {
    let mut out = UstrMap::default();
    match &chunk.properties {
        None => {}
        Some(Value::Array(items)) if items.is_empty() => {}
        Some(Value::Object(props)) => {
            for (name, value) in props {
                let bad = |message: String| {
                    ApiError::bad_request(format!(
                        "service {}: property {name}: {message}",
                        chunk.class_name
                    ))
                };
                let Some(data_type) = stored_property_type(&chunk.class_name, name) else {
                    return Err(bad(format!(
                        "not a property {} stores (GET /api/syncback/schema lists them)",
                        chunk.class_name
                    )));
                };
                if matches!(
                    data_type,
                    rbx_reflection::DataType::Value(rbx_dom_weak::types::VariantType::Ref)
                ) {
                    return Err(bad(
                        "references go in `refs`, by instance location (the schema lists no \
                         reference properties here)"
                            .to_string(),
                    ));
                }
                let variant = properties::decode_property(&chunk.class_name, name, value)
                    .map_err(|err| bad(err.to_string()))?;
                check_type(&variant, data_type).map_err(bad)?;
                out.insert(name.as_str().into(), variant);
            }
        }
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "service {}: `properties` must be a map, got {}",
                chunk.class_name,
                other.kind()
            )))
        }
    }
    Ok(out)
}

/// A place's `UniqueId`s are unique; one that repeats across chunks gets a new value (what
/// `WeakDom` does for an insert). A `UniqueId` property of another type is malformed.
fn keep_unique_id_unique(
    instance: &mut rbx_dom_weak::Instance,
    seen: &mut HashSet<UniqueId>,
    service: &str,
) -> Result<(), ApiError> {
    let key = "UniqueId".into();
    match instance.properties.get(&key) {
        None => Ok(()),
        Some(Variant::UniqueId(id)) if seen.insert(*id) => Ok(()),
        Some(Variant::UniqueId(_)) => {
            let fresh = UniqueId::now().map_err(|err| {
                ApiError::new(ErrorKind::InternalError, format!("no new UniqueId: {err}"))
            })?;
            seen.insert(fresh);
            instance.properties.insert(key, Variant::UniqueId(fresh));
            Ok(())
        }
        Some(other) => Err(ApiError::bad_request(format!(
            "service {service}: instance {:?} has a UniqueId property of type {:?}",
            instance.name,
            other.ty()
        ))),
    }
}

/// Adds `POST /api/syncback` and `GET /api/syncback/schema` to a server.
pub fn add_routes(server: LiveServer) -> LiveServer {
    let busy = Arc::new(AtomicBool::new(false));
    server
        .route(
            "/api/syncback",
            post(
                move |state: State<AppState>, headers: HeaderMap, body: Body| {
                    let busy = busy.clone();
                    async move { handle_syncback(state, headers, body, busy).await }
                },
            ),
        )
        .route("/api/syncback/schema", get(handle_schema))
}

async fn handle_schema(encoding: Encoding) -> Response {
    encoding.respond(StatusCode::OK, &schema())
}

/// Releases the in-progress flag unless the request handed the dom to the serve loop.
struct BusyGuard(Arc<AtomicBool>, bool);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        if !self.1 {
            self.0.store(false, Ordering::SeqCst);
        }
    }
}

async fn handle_syncback(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
    busy: Arc<AtomicBool>,
) -> Response {
    let encoding = Encoding::from_headers(&headers);
    match accept_syncback(&state, body, busy).await {
        Ok(()) => encoding.respond(
            StatusCode::OK,
            &SyncbackAccepted {
                status: "syncback_initiated".to_string(),
            },
        ),
        Err(err) => encoding.error(err),
    }
}

#[derive(Serialize)]
struct SyncbackAccepted {
    status: String,
}

async fn accept_syncback(
    state: &AppState,
    body: Body,
    busy: Arc<AtomicBool>,
) -> Result<(), ApiError> {
    let started = std::time::Instant::now();
    let bytes = read_body(body, state.max_body_size()).await?;
    let received = started.elapsed();
    let request: SyncbackRequest = decode_msgpack(&bytes)?;
    drop(bytes);
    log::debug!(
        "live syncback: body received in {received:.2?}, msgpack decoded at {:.2?}",
        started.elapsed()
    );
    check_request(&request, state.session().project())?;
    if state.is_exiting() || busy.swap(true, Ordering::SeqCst) {
        return Err(ApiError::new(
            ErrorKind::Conflict,
            "a syncback is already in progress; wait for the server to come back",
        ));
    }
    let mut guard = BusyGuard(busy, false);
    log::info!(
        "live syncback: request checked, decoding {} service chunk(s)",
        request.services.len()
    );
    let place_id = request.place_id.and_then(WireNumber::as_u64);
    let dom = tokio::task::spawn_blocking(move || rebuild_dom(&request))
        .await
        .map_err(|err| {
            ApiError::new(ErrorKind::InternalError, format!("decoding failed: {err}"))
        })??;
    log::info!(
        "live syncback accepted: {} instances in {:.2?}; restarting the session",
        dom.descendants().count(),
        started.elapsed()
    );
    if !state.request_exit(ServerExit::SyncbackRequested(Box::new(SyncbackPayload {
        dom,
        place_id,
    }))) {
        return Err(ApiError::new(
            ErrorKind::Conflict,
            "the server is already stopping",
        ));
    }
    guard.1 = true;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::wire::{CrossRef, ServiceChunk};

    fn chunk(class: &str, dom: Option<&WeakDom>) -> ServiceChunk {
        let data = match dom {
            Some(dom) => {
                let mut bytes = Vec::new();
                rbx_binary::to_writer(&mut bytes, dom, dom.root().children()).unwrap();
                bytes
            }
            None => Vec::new(),
        };
        ServiceChunk {
            class_name: class.to_string(),
            data: serde_bytes::ByteBuf::from(data),
            properties: None,
        }
    }

    fn request(services: Vec<ServiceChunk>, refs: Vec<CrossRef>) -> SyncbackRequest {
        SyncbackRequest {
            protocol_version: WireNumber(f64::from(PROTOCOL_VERSION)),
            server_version: SERVER_VERSION.to_string(),
            place_id: None,
            services,
            refs,
        }
    }

    #[test]
    fn values_that_would_not_build_back_are_refused() {
        let with_properties = |props: Value| {
            let mut workspace = chunk("Workspace", None);
            workspace.properties = Some(props);
            request(vec![workspace], Vec::new())
        };
        let refused = |req: SyncbackRequest, expected: &str| {
            let err = rebuild_dom(&req).expect_err(expected);
            let text = format!("{err:?}");
            assert!(text.contains(expected), "{text} lacks {expected:?}");
        };
        refused(
            with_properties(Value::object([(
                "Gravity",
                Value::object([("Float64", Value::Float(5.5))]),
            )])),
            "expected a Float32 value, got Float64",
        );
        refused(
            with_properties(Value::object([("NotAProp", Value::Bool(true))])),
            "not a property Workspace stores",
        );
        refused(
            with_properties(Value::object([("Name", Value::String("x".into()))])),
            "not a property Workspace stores",
        );
        refused(
            with_properties(Value::object([(
                "ClientAnimatorThrottling",
                Value::object([("Enum", Value::Int(99999))]),
            )])),
            "99999 is not an item of Enum.ClientAnimatorThrottlingMode",
        );
        for kind in ["Ref", "Int64", "SharedString"] {
            let value = match kind {
                "Ref" => Value::String("0".repeat(32)),
                "Int64" => Value::Int(5),
                _ => Value::String("AAAA".into()),
            };
            refused(
                with_properties(Value::object([(
                    "Attributes",
                    Value::object([(
                        "Attributes",
                        Value::object([("x", Value::object([(kind, value)]))]),
                    )]),
                )])),
                &format!("an attribute cannot hold {kind} values"),
            );
        }
        refused(
            with_properties(Value::object([(
                "CurrentCamera",
                Value::object([("Ref", Value::String("0".repeat(32)))]),
            )])),
            "references go in `refs`",
        );
        let mut storage = WeakDom::new(InstanceBuilder::new("Folder"));
        let root = storage.root_ref();
        storage.insert(root, InstanceBuilder::new("Part").with_name("P"));
        let to_parent = CrossRef {
            source: InstanceLocation {
                service: "ServerStorage".into(),
                path: vec![WireNumber(0.0)],
            },
            property: "Parent".into(),
            target: InstanceLocation {
                service: "ServerStorage".into(),
                path: Vec::new(),
            },
        };
        refused(
            request(
                vec![chunk("ServerStorage", Some(&storage))],
                vec![to_parent],
            ),
            "Parent is not a reference property of Part",
        );

        let project = crate::project::parse(
            "{ tree: { $className: \"DataModel\" } }",
            std::path::Path::new("default.project.json5"),
        )
        .unwrap();
        let mut fractional = request(Vec::new(), Vec::new());
        fractional.place_id = Some(WireNumber(999.5));
        let err = check_request(&fractional, &project).expect_err("a fractional place id");
        assert!(
            format!("{err:?}").contains("placeId must be a whole number"),
            "{err:?}"
        );
    }

    #[test]
    fn rebuilds_services_children_properties_and_cross_refs() {
        let mut storage = WeakDom::new(InstanceBuilder::new("Folder"));
        let storage_root = storage.root_ref();
        let pointer = storage.insert(
            storage_root,
            InstanceBuilder::new("ObjectValue").with_name("Pointer"),
        );
        let inner = storage.insert(
            storage_root,
            InstanceBuilder::new("ObjectValue").with_name("Inner"),
        );
        storage
            .get_by_ref_mut(pointer)
            .unwrap()
            .properties
            .insert("Value".into(), Variant::Ref(inner));
        let mut workspace = WeakDom::new(InstanceBuilder::new("Folder"));
        let ws_root = workspace.root_ref();
        workspace.insert(ws_root, InstanceBuilder::new("Part").with_name("Target"));

        let mut ws_chunk = chunk("Workspace", Some(&workspace));
        ws_chunk.properties = Some(Value::object([(
            "Gravity",
            Value::object([("Float32", Value::Float(100.0))]),
        )]));
        let refs = vec![CrossRef {
            source: InstanceLocation {
                service: "ServerStorage".into(),
                path: vec![WireNumber(1.0)],
            },
            property: "Value".into(),
            target: InstanceLocation {
                service: "Workspace".into(),
                path: vec![WireNumber(0.0)],
            },
        }];
        let req = request(
            vec![
                chunk("ServerStorage", Some(&storage)),
                ws_chunk,
                chunk("Teams", None),
            ],
            refs,
        );
        let dom = rebuild_dom(&req).unwrap();
        let find = |name: &str| dom.descendants().find(|i| i.name == name).unwrap();
        assert_eq!(
            find("Workspace").properties.get(&"Gravity".into()),
            Some(&Variant::Float32(100.0))
        );
        // The in-chunk ref survived the transfer.
        assert_eq!(
            find("Pointer").properties.get(&"Value".into()),
            Some(&Variant::Ref(find("Inner").referent()))
        );
        // The cross-chunk ref is set on the second child of ServerStorage.
        assert_eq!(
            find("Inner").properties.get(&"Value".into()),
            Some(&Variant::Ref(find("Target").referent()))
        );
        assert_eq!(find("Teams").children().len(), 0);
        let order: Vec<_> = dom
            .root()
            .children()
            .iter()
            .map(|r| dom.get_by_ref(*r).unwrap().name.clone())
            .collect();
        assert_eq!(order, ["ServerStorage", "Workspace", "Teams"]);
    }

    #[test]
    fn a_service_with_many_children_keeps_them_all_in_order() {
        let mut flat = WeakDom::new(InstanceBuilder::new("Folder"));
        let flat_root = flat.root_ref();
        for index in 0..5000 {
            let mut part = InstanceBuilder::new("Part").with_name(format!("P{index}"));
            part.add_child(InstanceBuilder::new("Decal").with_name("Face"));
            flat.insert(flat_root, part);
        }
        let dom = rebuild_dom(&request(vec![chunk("Workspace", Some(&flat))], vec![])).unwrap();
        let workspace = dom.get_by_ref(dom.root().children()[0]).unwrap();
        assert_eq!(workspace.class, "Workspace");
        assert_eq!(workspace.parent(), dom.root_ref());
        let names: Vec<&str> = workspace
            .children()
            .iter()
            .map(|r| dom.get_by_ref(*r).unwrap().name.as_str())
            .collect();
        let expected: Vec<String> = (0..5000).map(|i| format!("P{i}")).collect();
        assert_eq!(names, expected);
        assert_eq!(dom.descendants().count(), 1 + 1 + 5000 * 2);
    }

    #[test]
    fn unique_ids_stay_unique_and_must_be_unique_ids() {
        let id = UniqueId::new(7, 123_456, -5);
        let with_id = |value: Variant| {
            let mut dom = WeakDom::new(InstanceBuilder::new("Folder"));
            let root = dom.root_ref();
            dom.insert(
                root,
                InstanceBuilder::new("Part").with_property("UniqueId", value),
            );
            dom
        };
        let same = request(
            vec![
                chunk("Workspace", Some(&with_id(Variant::UniqueId(id)))),
                chunk("Lighting", Some(&with_id(Variant::UniqueId(id)))),
            ],
            vec![],
        );
        let dom = rebuild_dom(&same).unwrap();
        let ids: HashSet<UniqueId> = dom
            .descendants()
            .filter_map(|i| match i.properties.get(&"UniqueId".into()) {
                Some(Variant::UniqueId(id)) => Some(*id),
                _ => None,
            })
            .collect();
        assert_eq!(ids.len(), 2, "{ids:?}");
        assert!(ids.contains(&id));

        // rbx_binary will not write such a file; a hand-made one could hold it.
        let (root, mut raw) =
            WeakDom::new(InstanceBuilder::new("Part").with_property("UniqueId", "x")).into_raw();
        let instance = raw.get_mut(&root).unwrap();
        let err = keep_unique_id_unique(instance, &mut HashSet::new(), "Workspace").unwrap_err();
        assert!(err.to_string().contains("service Workspace"), "{err}");
        assert!(err.to_string().contains("UniqueId"), "{err}");
    }

    #[test]
    fn rejects_bad_chunks_naming_the_service() {
        let mut bad = chunk("Lighting", None);
        bad.data = serde_bytes::ByteBuf::from(b"not an rbxm".to_vec());
        let err = rebuild_dom(&request(vec![bad], vec![])).unwrap_err();
        assert!(err.details.contains("Lighting"), "{}", err.details);
        let err = rebuild_dom(&request(vec![chunk("HttpService", None)], vec![])).unwrap_err();
        assert!(err.details.contains("HttpService"), "{}", err.details);
        let err = rebuild_dom(&request(
            vec![chunk("Teams", None), chunk("Teams", None)],
            vec![],
        ))
        .unwrap_err();
        assert!(err.details.contains("twice"));
        let refs = vec![CrossRef {
            source: InstanceLocation {
                service: "Teams".into(),
                path: vec![WireNumber(3.0)],
            },
            property: "Value".into(),
            target: InstanceLocation {
                service: "Teams".into(),
                path: vec![],
            },
        }];
        let err = rebuild_dom(&request(vec![chunk("Teams", None)], refs)).unwrap_err();
        assert!(err.details.contains("refs[0]"), "{}", err.details);
    }

    #[test]
    fn decodes_ints_or_floats_and_empty_tables() {
        let body = rmp_serde::to_vec_named(&serde_json::json!({
            "protocolVersion": 1.0,
            "serverVersion": SERVER_VERSION,
            "placeId": 123,
            "services": [{"className": "Teams", "data": [], "properties": []}],
            "refs": {},
        }))
        .unwrap();
        let request: SyncbackRequest = rmp_serde::from_slice(&body).unwrap();
        assert_eq!(request.place_id.and_then(WireNumber::as_u64), Some(123));
        assert!(request.refs.is_empty());
    }

    #[test]
    fn schema_lists_services_and_inherited_refs() {
        let schema = schema();
        assert_eq!(schema.services.len(), 14);
        assert!(schema.service_properties["Workspace"].contains_key("Gravity"));
        assert!(!schema.service_properties["Workspace"].contains_key("CurrentCamera"));
        assert!(schema.ref_properties["ObjectValue"].contains(&"Value".to_string()));
        assert!(schema.ref_properties["Workspace"].contains(&"CurrentCamera".to_string()));
        assert!(schema.ref_properties["RopeConstraint"].contains(&"Attachment0".to_string()));
    }
}
