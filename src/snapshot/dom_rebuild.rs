//! Rebuilding a `WeakDom` with new child lists in time linear in its size.
//!
//! `rbx_dom_weak` has no way to reorder children, and it detaches a child by scanning its
//! parent's whole child list. Reordering or removing thousands of children of one big
//! folder one at a time is therefore quadratic (adding a file to a folder of 60,000 took
//! 4.7 s). Rebuilding the dom from builders that keep every referent, property and
//! UniqueId costs one pass over the instances instead; callers pick whichever is cheaper.

use std::collections::{HashMap, HashSet};

use rbx_dom_weak::types::Ref;
use rbx_dom_weak::{InstanceBuilder, WeakDom};

/// How many child-list entries one move scans for the price of rebuilding one instance
/// (an estimate: a scan compares a 16-byte Ref, a rebuild allocates and hashes). With it
/// a new file at the start of a 60,000-file folder rebuilds, a small folder moves.
pub const SCANS_PER_REBUILT_INSTANCE: usize = 256;

/// Whether scanning `scanned` child-list entries costs more than rebuilding a dom of
/// `dom_len` instances.
pub fn rebuild_is_cheaper(scanned: usize, dom_len: usize) -> bool {
    scanned / SCANS_PER_REBUILT_INSTANCE > dom_len
}

/// A dom with the same instances (same referents, names, classes and properties), where
/// `new_children(parent, current)` may replace an instance's child list: `None` keeps it,
/// `Some(list)` puts the listed children in that order and drops the others with their
/// descendants. Entries that are not among `current` are ignored. Instances not reachable
/// from the root (detached ones) are dropped.
pub fn rebuild_with_children(
    dom: WeakDom,
    mut new_children: impl FnMut(Ref, &[Ref]) -> Option<Vec<Ref>>,
) -> WeakDom {
    let root_ref = dom.root_ref();
    let (_, mut instances) = dom.into_raw();

    // Parents before children, so walking the list backwards finishes every child's
    // builder before its parent needs it (no recursion: trees can be deep).
    let mut preorder = Vec::with_capacity(instances.len());
    let mut stack = vec![root_ref];
    while let Some(referent) = stack.pop() {
        if let Some(instance) = instances.get(&referent) {
            preorder.push(referent);
            stack.extend(instance.children().iter().rev().copied());
        }
    }

    let mut finished: HashMap<Ref, InstanceBuilder> = HashMap::with_capacity(preorder.len());
    for referent in preorder.into_iter().rev() {
        let Some(instance) = instances.remove(&referent) else {
            continue;
        };
        let children = match new_children(referent, instance.children()) {
            Some(wanted) => {
                let own: HashSet<Ref> = instance.children().iter().copied().collect();
                let mut seen = HashSet::with_capacity(wanted.len());
                wanted
                    .into_iter()
                    .filter(|child| own.contains(child) && seen.insert(*child))
                    .collect()
            }
            None => instance.children().to_vec(),
        };
        let mut builder =
            InstanceBuilder::with_property_capacity(instance.class, instance.properties.len())
                .with_referent(referent)
                .with_name(instance.name)
                .with_properties(instance.properties);
        for child in children {
            if let Some(child_builder) = finished.remove(&child) {
                builder.add_child(child_builder);
            }
        }
        finished.insert(referent, builder);
    }
    let root = finished
        .remove(&root_ref)
        .expect("the root is always rebuilt: it is the first instance of the walk");
    WeakDom::new(root)
}

/// The names of `parent`'s children in order (what the tests of the tree compare).
#[cfg(test)]
pub(crate) fn child_names(dom: &WeakDom, parent: Ref) -> Vec<String> {
    dom.get_by_ref(parent)
        .map(|instance| instance.children())
        .unwrap_or_default()
        .iter()
        .filter_map(|child| dom.get_by_ref(*child))
        .map(|child| child.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rbx_dom_weak::types::{UniqueId, Variant};

    #[test]
    fn reorders_and_drops_children_keeping_everything_else() {
        let mut dom = WeakDom::new(InstanceBuilder::new("DataModel"));
        let root = dom.root_ref();
        let folder = dom.insert(root, InstanceBuilder::new("Folder").with_name("F"));
        let unique = UniqueId::new(7, 8, 9);
        let a = dom.insert(
            folder,
            InstanceBuilder::new("ModuleScript")
                .with_name("A")
                .with_property("Source", "return 1")
                .with_property("UniqueId", unique),
        );
        let b = dom.insert(folder, InstanceBuilder::new("Part").with_name("B"));
        let c = dom.insert(folder, InstanceBuilder::new("Model").with_name("C"));
        let deep = dom.insert(c, InstanceBuilder::new("Part").with_name("Deep"));
        let gone = dom.insert(b, InstanceBuilder::new("Part").with_name("Gone"));
        let other = dom.insert(root, InstanceBuilder::new("Folder").with_name("Other"));

        let dom = rebuild_with_children(dom, |parent, _| {
            if parent == folder {
                // `other` is not a child of the folder: ignored, as is the repeat of c.
                Some(vec![c, a, other, c])
            } else {
                None
            }
        });
        assert_eq!(dom.root_ref(), root);
        assert_eq!(child_names(&dom, root), ["F", "Other"]);
        assert_eq!(child_names(&dom, folder), ["C", "A"]);
        assert_eq!(dom.get_by_ref(deep).unwrap().parent(), c);
        assert!(dom.get_by_ref(b).is_none(), "B was left out");
        assert!(dom.get_by_ref(gone).is_none(), "with its descendants");
        let a_instance = dom.get_by_ref(a).unwrap();
        assert_eq!(
            a_instance.properties.get(&"Source".into()),
            Some(&Variant::String("return 1".into()))
        );
        assert_eq!(dom.get_unique_id(a), Some(unique));
        assert_eq!(dom.get_by_ref(other).unwrap().parent(), root);
    }

    #[test]
    fn deep_trees_do_not_recurse() {
        let mut dom = WeakDom::new(InstanceBuilder::new("Folder"));
        let mut parent = dom.root_ref();
        for _ in 0..50_000 {
            parent = dom.insert(parent, InstanceBuilder::new("Folder"));
        }
        let leaf = parent;
        let dom = rebuild_with_children(dom, |_, _| None);
        assert_eq!(dom.descendants().count(), 50_001);
        assert_eq!(dom.ancestors_of(leaf).count(), 50_001);
    }
}
