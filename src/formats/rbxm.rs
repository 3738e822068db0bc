//! `.rbxm` (binary) and `.rbxmx` (XML) model files: Roblox's own model formats.

use std::collections::HashMap;
use std::path::Path;

use rbx_dom_weak::types::{Ref, Variant};
use rbx_dom_weak::WeakDom;

use super::{FileRule, SnapshotError, SnapshotResult};
use crate::snapshot::{FileKind, InstanceSnapshot, InstigatingSource};
use crate::vfs::Vfs;

/// Builds the instance of a model file. One top-level instance is used as is (renamed
/// after the file); several become the children of a Folder named after the file.
pub fn snapshot(vfs: &Vfs, path: &Path, name: &str, rule: FileRule) -> SnapshotResult {
    let bytes = vfs.read(path).map_err(|e| SnapshotError::io(path, e))?;
    let dom = decode(&bytes, rule == FileRule::Rbxmx).map_err(|e| SnapshotError::new(path, e))?;
    let roots = dom.root().children().to_vec();
    let mut snapshot = match roots.len() {
        0 => {
            return Err(SnapshotError::new(
                path,
                "the model file contains no instances",
            ))
        }
        1 => {
            let mut only = dom_to_snapshot(&dom, &roots).remove(0);
            only.name = name.to_string();
            only
        }
        _ => InstanceSnapshot::new("Folder", name).with_children(dom_to_snapshot(&dom, &roots)),
    };
    snapshot.metadata.instigating_source = Some(InstigatingSource::Path(path.to_path_buf()));
    snapshot.metadata.relevant_paths.push(path.to_path_buf());
    snapshot.metadata.kind = Some(if rule == FileRule::Rbxmx {
        FileKind::XmlModel
    } else {
        FileKind::BinaryModel
    });
    snapshot.metadata.fs_name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    // An adjacent meta file may record the real name of a slugified instance (syncback
    // writes one when an rbxm carries an instance whose name is not file-safe).
    super::meta::apply_adjacent(vfs, path, None, &mut snapshot)?;
    Ok(Some(snapshot))
}

/// Decodes model bytes (binary or XML).
pub fn decode(bytes: &[u8], xml: bool) -> Result<WeakDom, String> {
    if xml {
        rbx_xml::from_reader(bytes, crate::place_file::xml_decode_options())
            .map_err(|e| format!("invalid XML model: {e}"))
    } else {
        crate::place_file::decode_binary(bytes).map_err(|e| format!("invalid binary model: {e}"))
    }
}

/// Copies the subtrees at `roots` into snapshots with fresh ids. Ref properties between
/// instances of the copied subtrees are rewritten to the new ids; refs pointing outside
/// are dropped (they could not resolve in the built tree either).
pub fn dom_to_snapshot(dom: &WeakDom, roots: &[Ref]) -> Vec<InstanceSnapshot> {
    let mut new_ids = HashMap::new();
    for root in roots {
        for instance in dom.descendants_of(*root) {
            new_ids.insert(instance.referent(), Ref::new());
        }
    }
    roots
        .iter()
        .map(|root| copy(dom, *root, &new_ids))
        .collect()
}

fn copy(dom: &WeakDom, referent: Ref, new_ids: &HashMap<Ref, Ref>) -> InstanceSnapshot {
    let instance = dom
        .get_by_ref(referent)
        .expect("referent from the same dom");
    let mut snapshot = InstanceSnapshot::new(instance.class.as_str(), instance.name.clone());
    snapshot.snapshot_id = new_ids[&referent];
    snapshot.properties.reserve(instance.properties.len());
    for (key, value) in &instance.properties {
        let value = match value {
            Variant::Ref(target) if target.is_some() => match new_ids.get(target) {
                Some(new) => Variant::Ref(*new),
                None => continue,
            },
            // Object contents are references too (e.g. an EditableImage inside the model).
            Variant::Content(content) if content.as_object().is_some() => {
                match content.as_object().and_then(|target| new_ids.get(&target)) {
                    Some(new) => {
                        Variant::Content(rbx_dom_weak::types::Content::from_referent(*new))
                    }
                    None => continue,
                }
            }
            other => other.clone(),
        };
        snapshot.properties.insert(*key, value);
    }
    snapshot.children = instance
        .children()
        .iter()
        .map(|child| copy(dom, *child, new_ids))
        .collect();
    snapshot.metadata.kind = None;
    snapshot
}

/// Encodes the subtrees at `roots` as a binary (or XML) model file.
pub fn encode(dom: &WeakDom, roots: &[Ref], xml: bool) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    if xml {
        crate::xml_text::encode(&mut bytes, dom, roots)
            .map_err(|e| format!("could not encode an XML model: {e}"))?;
    } else {
        rbx_binary::to_writer(&mut bytes, dom, roots)
            .map_err(|e| format!("could not encode a binary model: {e}"))?;
    }
    Ok(bytes)
}
