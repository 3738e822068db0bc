//! Instance-tree helpers for tests: a readable canonical dump, and an exact comparison
//! of two trees that reports every difference.

use std::collections::BTreeMap;

use atlas::json_value::Value;
use rbx_dom_weak::types::{BinaryString, Ref, Variant};
use rbx_dom_weak::WeakDom;

/// A canonical JSON5 dump of the tree under `root`: names, classes, every property in
/// explicit form (Refs as the target's path), children in order.
pub fn dump(dom: &WeakDom, root: Ref) -> String {
    atlas::json_writer::to_canonical_string(&dump_value(dom, root))
}

fn dump_value(dom: &WeakDom, referent: Ref) -> Value {
    let instance = dom.get_by_ref(referent).expect("instance in dom");
    let mut map = BTreeMap::new();
    map.insert("name".to_string(), Value::from(instance.name.as_str()));
    map.insert(
        "className".to_string(),
        Value::from(instance.class.as_str()),
    );
    let mut properties = BTreeMap::new();
    for (key, value) in &instance.properties {
        let encoded = match value {
            Variant::Ref(target) => Value::object([("Ref", Value::String(ref_path(dom, *target)))]),
            other => atlas::properties::encode_explicit(other),
        };
        properties.insert(key.to_string(), encoded);
    }
    if !properties.is_empty() {
        map.insert("properties".to_string(), Value::Object(properties));
    }
    let children: Vec<Value> = instance
        .children()
        .iter()
        .map(|c| dump_value(dom, *c))
        .collect();
    if !children.is_empty() {
        map.insert("children".to_string(), Value::Array(children));
    }
    Value::Object(map)
}

/// `game/Workspace/Part`-style path of an instance, `nil` for no instance.
pub fn ref_path(dom: &WeakDom, target: Ref) -> String {
    if target.is_none() {
        return "nil".to_string();
    }
    match dom.get_by_ref(target) {
        Some(_) => {
            let mut names: Vec<&str> = dom.ancestors_of(target).map(|i| i.name.as_str()).collect();
            names.reverse();
            names.join("/")
        }
        None => "<outside>".to_string(),
    }
}

/// Options for [`compare`].
#[derive(Clone, Copy, Default)]
pub struct CompareOptions {
    /// Children are compared as a set (by name and class) instead of in order.
    pub unordered_children: bool,
    /// A property missing on one side equals the class default on the other.
    pub missing_is_default: bool,
}

/// Compares the subtrees at `a_root` and `b_root` exactly; returns every difference.
pub fn compare(
    a: &WeakDom,
    a_root: Ref,
    b: &WeakDom,
    b_root: Ref,
    options: CompareOptions,
) -> Vec<String> {
    compare_many(a, b, &[(a_root, b_root)], options)
}

/// Compares several pairs of subtrees at once, so Refs between them are matched too.
pub fn compare_many(
    a: &WeakDom,
    b: &WeakDom,
    roots: &[(Ref, Ref)],
    options: CompareOptions,
) -> Vec<String> {
    let mut pairs = Vec::new();
    let mut differences = Vec::new();
    for (a_root, b_root) in roots {
        pair_up(
            a,
            *a_root,
            b,
            *b_root,
            options,
            &mut pairs,
            &mut differences,
        );
    }
    let a_to_b: std::collections::HashMap<Ref, Ref> = pairs.iter().copied().collect();
    for (ar, br) in &pairs {
        let ai = a.get_by_ref(*ar).unwrap();
        let bi = b.get_by_ref(*br).unwrap();
        let at = ref_path(a, *ar);
        let keys: std::collections::BTreeSet<String> = ai
            .properties
            .keys()
            .chain(bi.properties.keys())
            .map(|k| k.to_string())
            .collect();
        for key in keys {
            let av = ai.properties.get(&key.as_str().into());
            let bv = bi.properties.get(&key.as_str().into());
            let equal = match (av, bv) {
                (Some(Variant::Ref(x)), Some(Variant::Ref(y))) => {
                    if x.is_none() || y.is_none() {
                        x.is_none() == y.is_none()
                    } else {
                        a_to_b.get(x) == Some(y)
                    }
                }
                (Some(Variant::Ref(x)), None) | (None, Some(Variant::Ref(x))) => x.is_none(),
                (Some(Variant::Content(x)), Some(Variant::Content(y)))
                    if x.as_object().is_some() =>
                {
                    // Object contents point at instances: compare where they point.
                    x.as_object().and_then(|x| a_to_b.get(&x)).copied() == y.as_object()
                }
                (Some(x), Some(y)) => variants_equal(x, y),
                (Some(x), None) => {
                    options.missing_is_default && is_default(ai.class.as_str(), &key, x)
                }
                (None, Some(y)) => {
                    options.missing_is_default && is_default(bi.class.as_str(), &key, y)
                }
                (None, None) => true,
            };
            if !equal {
                differences.push(format!("{at}.{key}: {av:?} != {bv:?}"));
            }
        }
    }
    differences
}

/// Bit-exact equality (NaN equals NaN of the same bits). Inside attributes, a String and
/// a BinaryString with the same bytes are equal: a place file stores both as one string
/// type, and syncback writes UTF-8 BinaryString attributes as plain strings.
pub fn variants_equal(a: &Variant, b: &Variant) -> bool {
    match (a, b) {
        (Variant::Attributes(x), Variant::Attributes(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|((kx, vx), (ky, vy))| kx == ky && attribute_equal(vx, vy))
        }
        _ => format!("{a:?}") == format!("{b:?}"),
    }
}

fn attribute_equal(a: &Variant, b: &Variant) -> bool {
    match (a, b) {
        (Variant::String(text), Variant::BinaryString(bytes))
        | (Variant::BinaryString(bytes), Variant::String(text)) => {
            text.as_bytes() == <BinaryString as AsRef<[u8]>>::as_ref(bytes)
        }
        _ => format!("{a:?}") == format!("{b:?}"),
    }
}

fn is_default(class: &str, property: &str, value: &Variant) -> bool {
    if let Variant::Attributes(attributes) = value {
        if attributes.is_empty() {
            return true;
        }
    }
    if let Variant::Tags(tags) = value {
        if tags.iter().next().is_none() {
            return true;
        }
    }
    let Ok(database) = rbx_reflection_database::get() else {
        return false;
    };
    let mut current = database.classes.get(class);
    while let Some(descriptor) = current {
        if let Some(default) = descriptor.default_properties.get(property) {
            return variants_equal(default, value);
        }
        current = descriptor.superclass.and_then(|s| database.classes.get(s));
    }
    false
}

fn pair_up(
    a: &WeakDom,
    ar: Ref,
    b: &WeakDom,
    br: Ref,
    options: CompareOptions,
    pairs: &mut Vec<(Ref, Ref)>,
    differences: &mut Vec<String>,
) {
    let ai = a.get_by_ref(ar).unwrap();
    let bi = b.get_by_ref(br).unwrap();
    let at = ref_path(a, ar);
    if ai.name != bi.name {
        differences.push(format!("{at}: name {:?} != {:?}", ai.name, bi.name));
    }
    if ai.class != bi.class {
        differences.push(format!("{at}: class {} != {}", ai.class, bi.class));
    }
    pairs.push((ar, br));
    let key = |dom: &WeakDom, r: &Ref| {
        let i = dom.get_by_ref(*r).unwrap();
        (i.name.clone(), i.class.to_string())
    };
    if options.unordered_children {
        let mut b_groups: BTreeMap<(String, String), Vec<Ref>> = BTreeMap::new();
        for child in bi.children() {
            b_groups.entry(key(b, child)).or_default().push(*child);
        }
        for child in ai.children() {
            let k = key(a, child);
            match b_groups.get_mut(&k).filter(|g| !g.is_empty()) {
                Some(group) => {
                    // Same-named siblings may come back in another order: pair each with
                    // the candidate it differs least from (the first on a tie). References
                    // leaving the subtree cannot be told apart here, so they do not count.
                    let index = if group.len() == 1 {
                        0
                    } else {
                        let score = |other: Ref| {
                            compare(a, *child, b, other, options)
                                .iter()
                                .filter(|difference| !difference.contains("(Ref("))
                                .count()
                        };
                        group
                            .iter()
                            .enumerate()
                            .min_by_key(|(_, other)| score(**other))
                            .map_or(0, |(index, _)| index)
                    };
                    let other = group.remove(index);
                    pair_up(a, *child, b, other, options, pairs, differences);
                }
                None => differences.push(format!(
                    "{at}: child {:?} ({}) missing on the right",
                    k.0, k.1
                )),
            }
        }
        for (k, rest) in b_groups {
            for _ in rest {
                differences.push(format!(
                    "{at}: extra child {:?} ({}) on the right",
                    k.0, k.1
                ));
            }
        }
    } else {
        if ai.children().len() != bi.children().len() {
            differences.push(format!(
                "{at}: {} children != {} children",
                ai.children().len(),
                bi.children().len()
            ));
        }
        for (x, y) in ai.children().iter().zip(bi.children()) {
            pair_up(a, *x, b, *y, options, pairs, differences);
        }
    }
}
