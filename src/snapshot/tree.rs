//! The live instance tree `atlas serve` keeps in memory: a `WeakDom`, the metadata of
//! every instance (where it came from), the reference attributes each instance carries,
//! and an index from file paths to the instances those paths affect.
//!
//! The tree only changes through [`super::apply_patch_set`], so the indexes stay in step
//! with the dom.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use rbx_dom_weak::types::{Ref, Variant};
use rbx_dom_weak::{InstanceBuilder, UstrMap, WeakDom};

use super::dom::{REF_ID_ATTRIBUTE, REF_PATH_PREFIX, REF_TARGET_PREFIX};
use super::dom_rebuild::{rebuild_is_cheaper, rebuild_with_children};
use super::path_index::{indexed_paths, PathIndex};
use super::{InstanceMetadata, InstanceSnapshot};

/// The reference attributes of one instance (`Rojo_Id`, `Rojo_Target_*`, `Rojo_Ref_*`).
///
/// The build turns them into Ref properties and drops them; the tree keeps them aside so
/// it can resolve them again whenever the instances they point at change.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RefAttributes {
    /// `Rojo_Id`: the id `Rojo_Target_*` attributes of other instances use.
    pub id: Option<String>,
    /// `Rojo_Target_<Property>` -> id, in attribute (name) order.
    pub targets: Vec<(String, String)>,
    /// `Rojo_Ref_<Property>` -> path, in attribute (name) order.
    pub paths: Vec<(String, String)>,
}

impl RefAttributes {
    /// Whether there is nothing to resolve or look up.
    pub fn is_empty(&self) -> bool {
        self.id.is_none() && self.targets.is_empty() && self.paths.is_empty()
    }

    /// Whether `property` gets its value from a reference attribute.
    pub fn manages(&self, property: &str) -> bool {
        self.targets.iter().any(|(p, _)| p == property)
            || self.paths.iter().any(|(p, _)| p == property)
    }
}

/// Removes the reference attributes from a property map, as the build does: the
/// `Attributes` property loses them, and disappears when nothing else is left in it.
/// Attribute values that are not text are dropped (the build cannot resolve them either).
pub fn split_ref_attributes(properties: &mut UstrMap<Variant>) -> RefAttributes {
    let mut found = RefAttributes::default();
    let key = "Attributes".into();
    let Some(Variant::Attributes(attributes)) = properties.get(&key) else {
        return found;
    };
    let is_transport = |name: &str| {
        name.starts_with(REF_PATH_PREFIX)
            || name.starts_with(REF_TARGET_PREFIX)
            || name == REF_ID_ATTRIBUTE
    };
    if !attributes.iter().any(|(name, _)| is_transport(name)) {
        return found;
    }
    let mut kept = attributes.clone();
    for (name, value) in attributes.iter() {
        if !is_transport(name) {
            continue;
        }
        kept.remove(name.as_str());
        let text = match value {
            Variant::String(s) => Some(s.clone()),
            Variant::BinaryString(b) => std::str::from_utf8(b.as_ref()).ok().map(str::to_string),
            _ => None,
        };
        let Some(text) = text else {
            log::warn!("{name}: expected a string holding a reference, got {value:?}");
            continue;
        };
        if name == REF_ID_ATTRIBUTE {
            found.id = Some(text);
        } else if let Some(property) = name.strip_prefix(REF_TARGET_PREFIX) {
            found.targets.push((property.to_string(), text));
        } else if let Some(property) = name.strip_prefix(REF_PATH_PREFIX) {
            found.paths.push((property.to_string(), text));
        }
    }
    if kept.is_empty() {
        properties.remove(&key);
    } else {
        properties.insert(key, Variant::Attributes(kept));
    }
    found
}

/// The live tree: a dom plus what serve needs to know to keep it in sync with the files.
pub struct Tree {
    dom: WeakDom,
    metadata: HashMap<Ref, InstanceMetadata>,
    ref_attributes: HashMap<Ref, RefAttributes>,
    path_index: PathIndex,
}

impl Tree {
    /// A tree holding `root` and its descendants. Reference attributes are set aside but
    /// not resolved yet: [`super::resolve_tree_references`] does that.
    pub fn new(root: InstanceSnapshot) -> Tree {
        let mut metadata = HashMap::with_capacity(root.count());
        let mut ref_attributes = HashMap::new();
        let builder = to_builder(root, &mut metadata, &mut ref_attributes);
        // The dom and the path index do not depend on each other: build them side by side.
        let (dom, path_index) = std::thread::scope(|scope| {
            let index = scope.spawn(|| PathIndex::build(&metadata));
            let dom = WeakDom::new(builder);
            let index = index.join().unwrap_or_else(|_| PathIndex::build(&metadata));
            (dom, index)
        });
        Tree {
            dom,
            metadata,
            ref_attributes,
            path_index,
        }
    }

    /// The instances.
    pub fn dom(&self) -> &WeakDom {
        &self.dom
    }

    /// The root instance's id.
    pub fn root_ref(&self) -> Ref {
        self.dom.root_ref()
    }

    /// Metadata of one instance.
    pub fn metadata(&self, id: Ref) -> Option<&InstanceMetadata> {
        self.metadata.get(&id)
    }

    /// Metadata of every instance (what [`super::resolve_path`] needs).
    pub fn metadata_map(&self) -> &HashMap<Ref, InstanceMetadata> {
        &self.metadata
    }

    /// The reference attributes of one instance, if it has any.
    pub fn ref_attributes(&self, id: Ref) -> Option<&RefAttributes> {
        self.ref_attributes.get(&id)
    }

    /// Every instance that has reference attributes.
    pub fn ref_holders(&self) -> impl Iterator<Item = (Ref, &RefAttributes)> {
        self.ref_attributes.iter().map(|(id, attrs)| (*id, attrs))
    }

    /// The instances a path is relevant to (as instigating source or relevant path).
    pub fn ids_at_path(&self, path: &Path) -> Vec<Ref> {
        self.path_index
            .candidates(path)
            .iter()
            .copied()
            .filter(|id| {
                self.metadata
                    .get(id)
                    .is_some_and(|m| indexed_paths(m).any(|p| p == path))
            })
            .collect()
    }

    /// Number of instances.
    pub fn len(&self) -> usize {
        self.metadata.len()
    }

    /// Whether the tree is empty (never: it always has a root).
    pub fn is_empty(&self) -> bool {
        self.metadata.is_empty()
    }

    /// Inserts a snapshot under `parent`; returns the new instance's id. A snapshot whose
    /// `snapshot_id` is set keeps it as its id (patch computation assigns them).
    pub fn insert(&mut self, parent: Ref, snapshot: InstanceSnapshot) -> Ref {
        let mut metadata = HashMap::new();
        let builder = to_builder(snapshot, &mut metadata, &mut self.ref_attributes);
        for (id, metadata) in metadata {
            self.path_index.add(id, &metadata);
            self.metadata.insert(id, metadata);
        }
        self.dom.insert(parent, builder)
    }

    /// Removes an instance and its descendants. The root cannot be removed.
    pub fn remove(&mut self, id: Ref) -> bool {
        !self.remove_all(&[id]).is_empty()
    }

    /// Removes instances and their descendants; returns the ids that were removed (not
    /// the root, not ids already gone or inside another removed instance). Removing many
    /// children of one big folder rebuilds the dom once instead of detaching each.
    pub fn remove_all(&mut self, ids: &[Ref]) -> Vec<Ref> {
        let root = self.dom.root_ref();
        let wanted: HashSet<Ref> = ids
            .iter()
            .copied()
            .filter(|id| *id != root && self.dom.get_by_ref(*id).is_some())
            .collect();
        let mut removed = Vec::new();
        let mut seen = HashSet::new();
        for &id in ids {
            if !wanted.contains(&id) || !seen.insert(id) {
                continue;
            }
            let inside_another = self
                .dom
                .ancestors_of(id)
                .skip(1)
                .any(|ancestor| wanted.contains(&ancestor.referent()));
            if !inside_another {
                removed.push(id);
            }
        }
        let scanned: usize = removed
            .iter()
            .filter_map(|id| self.dom.get_by_ref(*id))
            .filter_map(|instance| self.dom.get_by_ref(instance.parent()))
            .map(|parent| parent.children().len())
            .sum();
        let dom_len = self.len();
        for &id in &removed {
            let gone: Vec<Ref> = self.dom.descendants_of(id).map(|i| i.referent()).collect();
            for referent in gone {
                if let Some(metadata) = self.metadata.remove(&referent) {
                    self.path_index.remove(referent, &metadata);
                }
                self.ref_attributes.remove(&referent);
            }
        }
        if rebuild_is_cheaper(scanned, dom_len) {
            let removed_set: HashSet<Ref> = removed.iter().copied().collect();
            let dom = std::mem::replace(&mut self.dom, placeholder_dom());
            self.dom = rebuild_with_children(dom, |_, children| {
                children
                    .iter()
                    .any(|child| removed_set.contains(child))
                    .then(|| {
                        children
                            .iter()
                            .copied()
                            .filter(|child| !removed_set.contains(child))
                            .collect()
                    })
            });
        } else {
            for &id in &removed {
                self.dom.destroy(id);
            }
        }
        removed
    }

    /// Renames an instance.
    pub fn set_name(&mut self, id: Ref, name: String) {
        if let Some(instance) = self.dom.get_by_ref_mut(id) {
            instance.name = name;
        }
    }

    /// Changes an instance's class.
    pub fn set_class(&mut self, id: Ref, class: &str) {
        if let Some(instance) = self.dom.get_by_ref_mut(id) {
            instance.class = class.into();
        }
    }

    /// Sets (`Some`) or removes (`None`) a property.
    pub fn set_property(&mut self, id: Ref, name: &str, value: Option<Variant>) {
        if let Some(instance) = self.dom.get_by_ref_mut(id) {
            match value {
                Some(value) => {
                    instance.properties.insert(name.into(), value);
                }
                None => {
                    instance.properties.remove(&name.into());
                }
            }
        }
    }

    /// Replaces an instance's metadata and re-indexes its paths.
    pub fn set_metadata(&mut self, id: Ref, metadata: InstanceMetadata) {
        if let Some(old) = self.metadata.remove(&id) {
            self.path_index.remove(id, &old);
        }
        self.path_index.add(id, &metadata);
        self.metadata.insert(id, metadata);
    }

    /// Replaces an instance's reference attributes.
    pub fn set_ref_attributes(&mut self, id: Ref, attributes: RefAttributes) {
        if attributes.is_empty() {
            self.ref_attributes.remove(&id);
        } else {
            self.ref_attributes.insert(id, attributes);
        }
    }

    /// Puts the children of `parent` in the given order (which must list exactly its
    /// current children).
    pub fn reorder_children(&mut self, parent: Ref, order: &[Ref]) {
        let Some(instance) = self.dom.get_by_ref(parent) else {
            return;
        };
        if instance.children() == order {
            return;
        }
        let current = instance.children();
        let wanted: HashSet<Ref> = order.iter().copied().collect();
        if current.len() != order.len()
            || wanted.len() != order.len()
            || !current.iter().all(|child| wanted.contains(child))
        {
            log::debug!("reorder_children: the order does not list the current children");
            return;
        }
        // WeakDom has no reorder; moving a child to its own parent appends it. The longest
        // start of `order` already in sequence among the current children can stay; the
        // rest moves to the end, one scan of the child list each, unless rebuilding the
        // dom is cheaper (a new file near the start of a folder of 60,000).
        let mut kept = 0;
        for child in current {
            if kept < order.len() && *child == order[kept] {
                kept += 1;
            }
        }
        let moves = order.len() - kept;
        if rebuild_is_cheaper(moves.saturating_mul(current.len()), self.len()) {
            let dom = std::mem::replace(&mut self.dom, placeholder_dom());
            self.dom = rebuild_with_children(dom, |referent, _| {
                (referent == parent).then(|| order.to_vec())
            });
        } else {
            for child in &order[kept..] {
                self.dom.transfer_within(*child, parent);
            }
        }
    }
}

/// What the tree holds for the moment its dom is being rebuilt.
fn placeholder_dom() -> WeakDom {
    WeakDom::new(InstanceBuilder::new("Folder"))
}

/// Turns a snapshot into a builder, moving metadata and reference attributes aside.
fn to_builder(
    snapshot: InstanceSnapshot,
    metadata: &mut HashMap<Ref, InstanceMetadata>,
    ref_attributes: &mut HashMap<Ref, RefAttributes>,
) -> InstanceBuilder {
    let InstanceSnapshot {
        snapshot_id,
        name,
        class_name,
        mut properties,
        children,
        metadata: instance_metadata,
    } = snapshot;
    let attributes = split_ref_attributes(&mut properties);
    let mut builder =
        InstanceBuilder::with_property_capacity(class_name.as_str(), properties.len())
            .with_name(name);
    if snapshot_id.is_some() {
        builder = builder.with_referent(snapshot_id);
    }
    builder.add_properties(properties);
    let id = builder.referent();
    metadata.insert(id, instance_metadata);
    if !attributes.is_empty() {
        ref_attributes.insert(id, attributes);
    }
    for child in children {
        builder.add_child(to_builder(child, metadata, ref_attributes));
    }
    builder
}

#[cfg(test)]
mod tests {
    use super::super::dom_rebuild::child_names;
    use super::super::InstigatingSource;
    use super::*;
    use rbx_dom_weak::types::Attributes;

    fn script(name: &str, path: &str) -> InstanceSnapshot {
        let mut s = InstanceSnapshot::new("ModuleScript", name);
        s.metadata.instigating_source = Some(InstigatingSource::Path(path.into()));
        s.metadata.relevant_paths = vec![path.into(), format!("{path}.meta.json5").into()];
        s
    }

    #[test]
    fn indexes_paths_and_forgets_removed_instances() {
        let root = InstanceSnapshot::new("Folder", "root")
            .with_children(vec![script("A", "/p/A.luau"), script("B", "/p/B.luau")]);
        let mut tree = Tree::new(root);
        assert_eq!(tree.len(), 3);
        let a = tree.ids_at_path(Path::new("/p/A.luau"))[0];
        assert_eq!(tree.dom().get_by_ref(a).unwrap().name, "A");
        assert_eq!(tree.ids_at_path(Path::new("/p/A.luau.meta.json5")), [a]);
        assert!(tree.remove(a));
        assert!(tree.ids_at_path(Path::new("/p/A.luau")).is_empty());
        assert_eq!(tree.len(), 2);
        assert!(!tree.remove(tree.root_ref()));
    }

    #[test]
    fn sets_reference_attributes_aside() {
        let mut attributes = Attributes::new();
        attributes.insert("Rojo_Ref_Value".into(), Variant::String("./B".into()));
        attributes.insert("Rojo_Id".into(), Variant::String("x".into()));
        attributes.insert("Keep".into(), Variant::Bool(true));
        let mut properties = UstrMap::default();
        properties.insert("Attributes".into(), Variant::Attributes(attributes));
        let found = split_ref_attributes(&mut properties);
        assert_eq!(found.id.as_deref(), Some("x"));
        assert_eq!(found.paths, vec![("Value".to_string(), "./B".to_string())]);
        assert!(found.manages("Value"));
        match properties.get(&"Attributes".into()) {
            Some(Variant::Attributes(kept)) => assert_eq!(kept.len(), 1),
            other => panic!("{other:?}"),
        }
    }

    /// A folder big enough that reordering or emptying it takes the rebuild path.
    fn big_folder(count: usize) -> (Tree, Ref) {
        let children = (0..count)
            .map(|i| script(&format!("S{i:05}"), &format!("/p/big/S{i:05}.luau")))
            .collect();
        let root = InstanceSnapshot::new("Folder", "root").with_children(vec![
            InstanceSnapshot::new("Folder", "big").with_children(children),
            script("Other", "/p/Other.luau"),
        ]);
        let tree = Tree::new(root);
        let big = tree.dom().root().children()[0];
        (tree, big)
    }

    #[test]
    fn reorders_a_big_folder_keeping_ids_and_metadata() {
        let (mut tree, big) = big_folder(3000);
        let before: Vec<Ref> = tree.dom().get_by_ref(big).unwrap().children().to_vec();
        let mut order = before.clone();
        order.reverse();
        assert!(rebuild_is_cheaper(order.len() * order.len(), tree.len()));
        tree.reorder_children(big, &order);
        assert_eq!(tree.dom().get_by_ref(big).unwrap().children(), &order[..]);
        assert_eq!(child_names(tree.dom(), big)[0], "S02999");
        assert_eq!(child_names(tree.dom(), tree.root_ref()), ["big", "Other"]);
        assert_eq!(
            tree.ids_at_path(Path::new("/p/big/S00007.luau")),
            [before[7]]
        );
        assert_eq!(tree.len(), 3003);
        // One child moved to the front of the same folder: still exact.
        let last = order.pop().unwrap();
        order.insert(0, last);
        tree.reorder_children(big, &order);
        assert_eq!(tree.dom().get_by_ref(big).unwrap().children(), &order[..]);
        // A list that is not a permutation of the children changes nothing.
        tree.reorder_children(big, &order[1..]);
        assert_eq!(tree.dom().get_by_ref(big).unwrap().children(), &order[..]);
    }

    #[test]
    fn removes_many_children_of_a_big_folder() {
        let (mut tree, big) = big_folder(3000);
        let children: Vec<Ref> = tree.dom().get_by_ref(big).unwrap().children().to_vec();
        let mut doomed: Vec<Ref> = children.iter().copied().step_by(3).collect();
        doomed.push(doomed[0]);
        let root = tree.root_ref();
        doomed.push(root);
        let removed = tree.remove_all(&doomed);
        assert_eq!(removed.len(), 1000, "repeats and the root are not removed");
        assert!(rebuild_is_cheaper(1000 * 3000, 3003));
        assert_eq!(tree.len(), 2003);
        assert_eq!(tree.dom().descendants().count(), 2003);
        let names = child_names(tree.dom(), big);
        assert_eq!(&names[..3], ["S00001", "S00002", "S00004"]);
        assert!(tree.ids_at_path(Path::new("/p/big/S00000.luau")).is_empty());
        assert!(tree.metadata(children[0]).is_none());
        assert_eq!(
            tree.ids_at_path(Path::new("/p/big/S00001.luau")),
            [children[1]]
        );
        // A folder and one of its children in one batch: only the folder is reported.
        let removed = tree.remove_all(&[children[1], big]);
        assert_eq!(removed, [big]);
        assert_eq!(child_names(tree.dom(), root), ["Other"]);
        assert_eq!(tree.len(), 2);
    }

    #[test]
    fn reorders_children() {
        let root = InstanceSnapshot::new("Folder", "root").with_children(vec![
            script("A", "/p/A.luau"),
            script("B", "/p/B.luau"),
            script("C", "/p/C.luau"),
        ]);
        let mut tree = Tree::new(root);
        let root_ref = tree.root_ref();
        let mut order = tree.dom().root().children().to_vec();
        order.reverse();
        tree.reorder_children(root_ref, &order);
        assert_eq!(child_names(tree.dom(), root_ref), ["C", "B", "A"]);
    }
}
