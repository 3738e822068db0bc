//! The project as it is on disk, built like `atlas build` would: incremental mode keeps the
//! names and file kinds of matched instances, and ignore rules protect the files of
//! instances syncback must not touch.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};

use rbx_dom_weak::types::{Ref, Variant};
use rbx_dom_weak::WeakDom;

use super::filter;
use super::paths::RefSet;
use super::rules::{tree_segment, CompiledRules};
use crate::formats::{self, FileRule};
use crate::project::Project;
use crate::snapshot::{BuiltDom, FileKind, InstigatingSource};
use crate::vfs::Vfs;

/// What an old instance was read from.
#[derive(Debug, Clone, PartialEq)]
pub enum OldForm {
    Dir(PathBuf),
    File(PathBuf, FileRule),
}

/// The old tree and what each instance came from.
/// What [`OldTree::unchanged`] needs besides the two instances: the rules, the new
/// instances left out of the sync, and those that must count as changed whatever they
/// hold (reference holders whose targets' files moved; see `layout::moved_references`).
#[derive(Clone, Copy)]
pub struct Sameness<'a> {
    pub rules: &'a CompiledRules,
    pub excluded: &'a RefSet,
    pub rewritten: &'a RefSet,
}

/// Same-named groups larger than this (a folder of 20,000 `Part`s) pair in `~N` order
/// only: searching them for unchanged pairs would take quadratic time.
pub const SEARCHED_DUPLICATES: usize = 64;

pub struct OldTree {
    built: BuiltDom,
    ctx: formats::Context,
}

impl OldTree {
    /// Builds the project as it is on disk.
    pub fn build(project: &Project) -> Result<OldTree, String> {
        // A `$path` that does not exist yet is no reason to give up: read it as optional.
        let mut tolerant = project.clone();
        make_missing_optional(&mut tolerant.tree, project.folder());
        let mut built = crate::build::build_project(&Vfs::new_default(), &tolerant)
            .map_err(|e| e.to_string())?;
        // The place is compared in the form a place file holds, so the project's values
        // are too (`Color: [1, 0, 0]` is an 8-bit colour there).
        let started = std::time::Instant::now();
        crate::properties::saved::normalize_dom(&mut built.dom);
        log::debug!(
            "syncback: project values in their saved form in {:.2?}",
            started.elapsed()
        );
        let ctx = formats::Context::default()
            .for_project(project)
            .map_err(|e| e.to_string())?;
        Ok(OldTree { built, ctx })
    }

    pub fn root(&self) -> Ref {
        self.built.dom.root_ref()
    }

    pub fn children(&self, old: Ref) -> Vec<Ref> {
        self.built
            .dom
            .get_by_ref(old)
            .map(|i| i.children().to_vec())
            .unwrap_or_default()
    }

    /// The old child named `name` (for project nodes).
    pub fn child_named(&self, old: Ref, name: &str) -> Option<Ref> {
        self.children(old).into_iter().find(|c| {
            self.built
                .dom
                .get_by_ref(*c)
                .is_some_and(|i| i.name == name)
        })
    }

    pub fn fs_name(&self, old: Ref) -> Option<String> {
        let metadata = self.built.metadata.get(&old)?;
        match &metadata.instigating_source {
            Some(InstigatingSource::Path(_)) => metadata.fs_name.clone(),
            _ => None,
        }
    }

    fn source_path(&self, old: Ref) -> Option<&Path> {
        match &self.built.metadata.get(&old)?.instigating_source {
            Some(InstigatingSource::Path(path)) => Some(path),
            _ => None,
        }
    }

    /// The file kind an old instance was read from (`None` inside model files and for
    /// project nodes).
    pub fn form(&self, old: Ref) -> Option<OldForm> {
        let metadata = self.built.metadata.get(&old)?;
        let path = self.source_path(old)?.to_path_buf();
        match metadata.kind? {
            FileKind::Directory | FileKind::InitDirectory => Some(OldForm::Dir(path)),
            FileKind::Script
            | FileKind::Text
            | FileKind::Csv
            | FileKind::JsonModel
            | FileKind::DataModule
            | FileKind::BinaryModel
            | FileKind::XmlModel => {
                let name = path.file_name()?.to_str()?.to_string();
                let (rule, _) = self.ctx.rule_for(&path, &name)?;
                Some(OldForm::File(path, rule))
            }
            FileKind::Project | FileKind::ProjectNode => None,
        }
    }

    /// Whether the old instance's name came from a meta/model `name` rather than its file.
    pub fn has_name_override(&self, old: Ref) -> bool {
        let (Some(instance), Some(fs_name)) = (self.built.dom.get_by_ref(old), self.fs_name(old))
        else {
            return false;
        };
        let derived = match self.form(old) {
            Some(OldForm::Dir(_)) => fs_name.clone(),
            _ => formats::builtin_rule(&fs_name)
                .map(|(_, n)| n)
                .unwrap_or(fs_name),
        };
        formats::strip_dedup_suffix(&derived) != instance.name
    }

    /// The project file an old instance is the root of, when a nested project (a
    /// `Thing.project.json5` in a `$path` folder) made it.
    pub fn nested_project_file(&self, old: Ref) -> Option<PathBuf> {
        if old == self.root() {
            return None;
        }
        let metadata = self.built.metadata.get(&old)?;
        matches!(
            metadata.kind,
            Some(FileKind::ProjectNode | FileKind::Project)
        )
        .then(|| {
            metadata
                .relevant_paths
                .iter()
                .find(|path| formats_is_project_file(path) && path.is_file())
                .cloned()
        })
        .flatten()
    }

    /// Every existing file or directory the old instance and its subtree were read from.
    pub fn paths_of_subtree(&self, old: Ref) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for instance in self.built.dom.descendants_of(old) {
            out.extend(self.nested_project_file(instance.referent()));
            if let Some(metadata) = self.built.metadata.get(&instance.referent()) {
                if let Some(InstigatingSource::Path(path)) = &metadata.instigating_source {
                    out.push(path.clone());
                }
                for path in &metadata.relevant_paths {
                    if path.exists() && !formats_is_project_file(path) {
                        out.push(path.clone());
                    }
                }
            }
        }
        out
    }

    /// The files that say something about this old instance itself (its file, meta file,
    /// or the model file holding it), not its descendants'.
    pub fn own_files(&self, old: Ref) -> Vec<PathBuf> {
        let Some(metadata) = self.built.metadata.get(&old) else {
            return Vec::new();
        };
        let mut out: Vec<PathBuf> = metadata
            .relevant_paths
            .iter()
            .filter(|path| path.is_file())
            .cloned()
            .collect();
        if let Some(InstigatingSource::Path(path)) = &metadata.instigating_source {
            if path.is_file() && !out.contains(path) {
                out.push(path.clone());
            }
        }
        out
    }

    /// Files of old instances that ignore rules protect (`ignoreTrees`, `ignoreClasses`).
    pub fn protected_entries(&self, rules: &CompiledRules) -> Vec<(PathBuf, ())> {
        if !rules.has_ignore_trees() && !rules.has_ignore_classes() {
            return Vec::new();
        }
        let dom = &self.built.dom;
        let mut out = Vec::new();
        let mut stack: Vec<(Ref, String)> = dom
            .root()
            .children()
            .iter()
            .map(|r| (*r, String::new()))
            .collect();
        while let Some((referent, parent_path)) = stack.pop() {
            let Some(instance) = dom.get_by_ref(referent) else {
                continue;
            };
            let path = if parent_path.is_empty() {
                tree_segment(&instance.name)
            } else {
                format!("{parent_path}/{}", tree_segment(&instance.name))
            };
            if rules.ignores_tree(&path) || rules.ignores_class(instance.class.as_str()) {
                for file in self.paths_of_subtree(referent) {
                    out.push((file, ()));
                }
                continue;
            }
            for child in instance.children() {
                stack.push((*child, path.clone()));
            }
        }
        out
    }

    /// Pairs new children with old ones: same name and class, in order. Old siblings of
    /// the same name are taken in their `~N` order (`Part`, `Part~2`, …, `Part~10`), the
    /// order clean mode numbered them in, not the file names' alphabetical order. This is
    /// how [`OldTree::unchanged`] and kept subtrees pair: a subtree whose duplicates were
    /// merely reordered counts as changed, and its children are then paired by
    /// [`OldTree::match_children_unchanged_first`] one level down.
    pub fn match_children(
        &self,
        dom: &WeakDom,
        new_children: &[Ref],
        old_children: &[Ref],
    ) -> HashMap<Ref, Ref> {
        self.pair_children(dom, new_children, old_children, None).0
    }

    /// [`OldTree::match_children`], except that a new sibling of a same-named group of at
    /// most [`SEARCHED_DUPLICATES`] first takes an old one it is unchanged from: after an
    /// edit (one of two `Door`s gains a child) each keeps its own files instead of the two
    /// trading places, and a second syncback of the same place changes nothing. Also
    /// returns the new children already found unchanged, so they are not compared again.
    pub fn match_children_unchanged_first(
        &self,
        dom: &WeakDom,
        new_children: &[Ref],
        old_children: &[Ref],
        sameness: Sameness,
    ) -> (HashMap<Ref, Ref>, RefSet) {
        self.pair_children(dom, new_children, old_children, Some(sameness))
    }

    fn pair_children(
        &self,
        dom: &WeakDom,
        new_children: &[Ref],
        old_children: &[Ref],
        unchanged_by: Option<Sameness>,
    ) -> (HashMap<Ref, Ref>, RefSet) {
        let mut groups: HashMap<(&str, &str), VecDeque<Ref>> = HashMap::new();
        for old in old_children {
            if let Some(instance) = self.built.dom.get_by_ref(*old) {
                groups
                    .entry((instance.name.as_str(), instance.class.as_str()))
                    .or_default()
                    .push_back(*old);
            }
        }
        for group in groups.values_mut().filter(|group| group.len() > 1) {
            group
                .make_contiguous()
                .sort_by_cached_key(|old| self.fs_name(*old).map_or(1, |n| dedup_number(&n)));
        }
        let key_of = |new: &Ref| {
            dom.get_by_ref(*new)
                .map(|instance| (instance.name.as_str(), instance.class.as_str()))
        };
        let mut out = HashMap::new();
        let mut unchanged = RefSet::default();
        if let Some(sameness) = unchanged_by {
            let mut counts: HashMap<(&str, &str), usize> = HashMap::new();
            for key in new_children.iter().filter_map(key_of) {
                *counts.entry(key).or_default() += 1;
            }
            // Each group's old children in order, to prefer the one at a new child's own
            // position among its namesakes: identical siblings then keep their files, and
            // an edit to the first `Box` goes to `Box`, not `Box~2`.
            let ordered: HashMap<(&str, &str), Vec<Ref>> = groups
                .iter()
                .map(|(key, group)| (*key, group.iter().copied().collect()))
                .collect();
            let mut seen: HashMap<(&str, &str), usize> = HashMap::new();
            for new in new_children {
                let Some(key) = key_of(new) else { continue };
                let position = {
                    let seen = seen.entry(key).or_default();
                    *seen += 1;
                    *seen - 1
                };
                let Some(group) = groups.get_mut(&key) else {
                    continue;
                };
                let searched = group.len().max(counts[&key]);
                if !(2..=SEARCHED_DUPLICATES).contains(&searched) {
                    continue;
                }
                let own = ordered[&key]
                    .get(position)
                    .and_then(|old| group.iter().position(|o| o == old))
                    .filter(|index| self.unchanged(dom, *new, group[*index], sameness));
                let same = own.or_else(|| {
                    group
                        .iter()
                        .position(|old| self.unchanged(dom, *new, *old, sameness))
                });
                if let Some(old) = same.and_then(|index| group.remove(index)) {
                    out.insert(*new, old);
                    unchanged.insert(*new);
                }
            }
        }
        for new in new_children {
            if out.contains_key(new) {
                continue;
            }
            let Some(group) = key_of(new).and_then(|key| groups.get_mut(&key)) else {
                continue;
            };
            if let Some(old) = group.pop_front() {
                out.insert(*new, old);
            }
        }
        (out, unchanged)
    }

    /// The matched child pairs of two matched instances, paired as
    /// [`OldTree::unchanged`] pairs them.
    pub fn pair_subtree_children(&self, dom: &WeakDom, new: Ref, old: Ref) -> Vec<(Ref, Ref)> {
        let new_children = dom
            .get_by_ref(new)
            .map(|i| i.children().to_vec())
            .unwrap_or_default();
        let old_children = self.children(old);
        let matches = self.match_children(dom, &new_children, &old_children);
        new_children
            .iter()
            .filter_map(|n| matches.get(n).map(|o| (*n, *o)))
            .collect()
    }

    /// Whether the new subtree equals the old one in everything syncback writes.
    pub fn unchanged(&self, dom: &WeakDom, new: Ref, old: Ref, sameness: Sameness) -> bool {
        self.unchanged_as(dom, new, old, sameness, None)
    }

    /// Whether the new subtree equals the old one in everything but the root's name (a
    /// renamed instance whose descendants' files can move as they are).
    pub fn unchanged_but_name(
        &self,
        dom: &WeakDom,
        new: Ref,
        old: Ref,
        sameness: Sameness,
    ) -> bool {
        self.unchanged_as(dom, new, old, sameness, Some((new, old)))
    }

    /// `renamed`: the roots of a renamed subtree (new, old), whose names may differ, and
    /// below which references are compared by their paths within the subtree.
    fn unchanged_as(
        &self,
        dom: &WeakDom,
        new: Ref,
        old: Ref,
        sameness: Sameness,
        renamed: Option<(Ref, Ref)>,
    ) -> bool {
        let same_name = renamed != Some((new, old));
        let Sameness {
            rules,
            excluded,
            rewritten,
        } = sameness;
        let (Some(a), Some(b)) = (dom.get_by_ref(new), self.built.dom.get_by_ref(old)) else {
            return false;
        };
        if (same_name && a.name != b.name) || a.class != b.class || rewritten.contains(&new) {
            return false;
        }
        // References: the same properties must point at instances with the same path of
        // names and the same class (the camera and other skipped targets count as nil).
        // Whether the targets' files stayed where they were is checked once the layout
        // is known (`layout::moved_references`).
        if !rules.ignore_referents && !self.same_references(dom, a, b, excluded, renamed) {
            return false;
        }
        let (pa, pb) = (compared_properties(rules, a), compared_properties(rules, b));
        if pa.len() != pb.len()
            || pa
                .iter()
                .zip(pb.iter())
                .any(|((ka, va), (kb, vb))| ka != kb || !filter::identical(va, vb))
        {
            return false;
        }
        let new_children: Vec<Ref> = a
            .children()
            .iter()
            .copied()
            .filter(|c| !excluded.contains(c))
            .collect();
        if new_children.len() != b.children().len() {
            return false;
        }
        let matches = self.match_children(dom, &new_children, b.children());
        if matches.len() != new_children.len() {
            return false;
        }
        new_children
            .iter()
            .all(|n| self.unchanged_as(dom, *n, matches[n], sameness, renamed))
    }
}

fn make_missing_optional(node: &mut crate::project::ProjectNode, folder: &Path) {
    if let Some(crate::project::NodePath::Required(path)) = &node.path {
        if !folder.join(path).exists() {
            node.path = Some(crate::project::NodePath::Optional(path.clone()));
        }
    }
    for child in node.children.values_mut() {
        make_missing_optional(child, folder);
    }
}

fn formats_is_project_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(crate::project::is_project_file_name)
}

impl OldTree {
    fn same_references(
        &self,
        dom: &WeakDom,
        new: &rbx_dom_weak::Instance,
        old: &rbx_dom_weak::Instance,
        excluded: &RefSet,
        renamed: Option<(Ref, Ref)>,
    ) -> bool {
        // Inside a renamed subtree a target's path differs by the root's name: compare
        // the path below the root instead.
        let below = |full: String, root: String| -> Option<String> {
            if full == root {
                Some(String::new())
            } else {
                full.strip_prefix(&format!("{root}/")).map(str::to_string)
            }
        };
        let same_place = |ta: Ref, tb: Ref| -> bool {
            let (new_path, old_path) = (
                dom.full_path_of(ta, "/"),
                self.built.dom.full_path_of(tb, "/"),
            );
            match renamed {
                Some((new_root, old_root)) => {
                    let inside_new = below(new_path.clone(), dom.full_path_of(new_root, "/"));
                    let inside_old =
                        below(old_path.clone(), self.built.dom.full_path_of(old_root, "/"));
                    match (inside_new, inside_old) {
                        (Some(a), Some(b)) => a == b,
                        (None, None) => new_path == old_path,
                        _ => false,
                    }
                }
                None => new_path == old_path,
            }
        };
        let refs = |instance: &rbx_dom_weak::Instance, in_new: bool| -> Vec<(String, Ref)> {
            let mut out: Vec<(String, Ref)> = instance
                .properties
                .iter()
                .filter_map(|(name, value)| match value {
                    Variant::Ref(target)
                        if target.is_some() && !(in_new && excluded.contains(target)) =>
                    {
                        Some((name.to_string(), *target))
                    }
                    _ => None,
                })
                .collect();
            out.sort_by(|x, y| x.0.cmp(&y.0));
            out
        };
        let (a, b) = (refs(new, true), refs(old, false));
        a.len() == b.len()
            && a.iter().zip(b.iter()).all(|((na, ta), (nb, tb))| {
                let (Some(ti), Some(to)) = (dom.get_by_ref(*ta), self.built.dom.get_by_ref(*tb))
                else {
                    return false;
                };
                na == nb && ti.class == to.class && same_place(*ta, *tb)
            })
    }

    /// The file-system segments from the root's children down to an old instance: the
    /// file or folder name it was read from, or its name (project nodes, instances
    /// inside model files), as the layout's segments are for new instances.
    pub fn segments(&self, old: Ref) -> Vec<String> {
        let mut segments: Vec<String> = self
            .built
            .dom
            .ancestors_of(old)
            .map(|instance| {
                self.fs_name(instance.referent())
                    .unwrap_or_else(|| instance.name.clone())
            })
            .collect();
        segments.pop();
        segments.reverse();
        segments
    }

    /// The old instance's Ref property `property`, when it points at an old instance.
    pub fn reference(&self, old: Ref, property: &str) -> Option<Ref> {
        match self
            .built
            .dom
            .get_by_ref(old)?
            .properties
            .get(&property.into())
        {
            Some(Variant::Ref(target)) if self.built.dom.get_by_ref(*target).is_some() => {
                Some(*target)
            }
            _ => None,
        }
    }
}

/// The properties `unchanged` compares: what files record, plus non-empty attributes.
fn compared_properties<'i>(
    rules: &CompiledRules,
    instance: &'i rbx_dom_weak::Instance,
) -> Vec<(&'i str, &'i Variant)> {
    let mut props = filter::kept_properties(rules, instance);
    if let Some(value @ Variant::Attributes(attributes)) =
        instance.properties.get(&"Attributes".into())
    {
        if !attributes.is_empty() {
            props.push(("Attributes", value));
        }
    }
    props
}

/// The `N` of a `~N` duplicate suffix in a file or folder name (`Part~3.luau` is 3), 1
/// when there is none.
fn dedup_number(fs_name: &str) -> u32 {
    let name = formats::builtin_rule(fs_name).map_or_else(|| fs_name.to_string(), |(_, name)| name);
    let base = formats::strip_dedup_suffix(&name);
    if base.len() == name.len() {
        return 1;
    }
    name[base.len() + 1..].parse().unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_suffixes_are_numbers() {
        assert_eq!(dedup_number("Part.luau"), 1);
        assert_eq!(dedup_number("Part~2.server.luau"), 2);
        assert_eq!(dedup_number("Part~10.model.json5"), 10);
        assert_eq!(dedup_number("Folder~7"), 7);
        assert_eq!(dedup_number("Odd~x.luau"), 1);
    }
}
