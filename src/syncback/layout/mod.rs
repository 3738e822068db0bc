//! Phase one of planning: decide where every instance goes (which file kind, which
//! file-system name), without producing any file contents yet. Reference paths need the
//! final name of every instance, so contents are produced afterwards (see `emit`).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use rbx_dom_weak::types::{Ref, Variant};
use rbx_dom_weak::{Instance, WeakDom};

mod plain;

use super::filter;
use super::old_tree::OldTree;
use super::paths::{RefMap, RefSet};
use super::rules::CompiledRules;
use super::{SyncbackMode, VISIBLE_SERVICES};
use crate::formats::{self, csv as csv_format, meta, project_node, ScriptKind};
use crate::project::{NodePath, Project, ProjectNode};

/// What makes a directory more than a Folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    None,
    Script(ScriptKind),
    /// A script whose existing init file (`init.lua`, `init.server.lua`, ...) reads as
    /// the same kind, and is written again under its own name.
    ScriptAt(ScriptKind, &'static str),
    Csv,
}

/// How one instance is written.
#[derive(Debug, Clone, PartialEq)]
pub enum Form {
    /// A project node: its properties go into the project file, or into `meta`, the
    /// meta file its `$path` target already has when the node has no `$properties` or
    /// `$attributes` of its own; `dir` is the `$path` directory holding its children
    /// (with an init file when `init` says so); `file` is a `$path` file that carries the
    /// instance (script, text, csv).
    Node {
        key_path: Vec<String>,
        dir: Option<(PathBuf, Init)>,
        file: Option<Box<Form>>,
        meta: Option<PathBuf>,
        /// The class goes into `meta` (a folder whose meta file names its class).
        class_in_meta: bool,
    },
    Dir {
        dir: PathBuf,
        init: Init,
    },
    Script {
        path: PathBuf,
        kind: ScriptKind,
    },
    Text {
        path: PathBuf,
    },
    Csv {
        path: PathBuf,
    },
    /// A `.model.json5`; `inline` children are written inside it.
    Model {
        path: PathBuf,
        inline: bool,
    },
    /// A whole subtree in one `.rbxm`/`.rbxmx`.
    Rbxm {
        path: PathBuf,
        xml: bool,
    },
    /// Written inside an ancestor's model or rbxm file.
    Inline,
    /// Left exactly as it is on disk (incremental mode, unchanged subtree).
    Kept,
}

/// Where one instance goes.
#[derive(Debug, Clone)]
pub struct Placement {
    pub parent: Option<Ref>,
    /// The path segment `Rojo_Ref_*` paths use for it (file or directory name, project key,
    /// or instance name inside a model file).
    pub segment: String,
    pub form: Form,
    /// The real name must be recorded (the file name is a slug).
    pub needs_name: bool,
    /// Synced children, in layout order.
    pub children: Vec<Ref>,
}

/// The result of phase one.
pub struct Layout {
    pub placements: RefMap<Placement>,
    /// Every placed instance in a deterministic order (parents before children).
    pub order: Vec<Ref>,
    /// The synced project tree with `$path` / `$className` updates (properties are filled
    /// in by `emit`).
    pub tree: ProjectNode,
    /// Directories whose whole content syncback owns (orphan scan roots).
    pub dir_roots: Vec<PathBuf>,
    /// Existing paths never removed.
    pub protected: HashSet<PathBuf>,
    /// Old `$path` targets replaced by a different file kind (removed).
    pub replaced: Vec<PathBuf>,
    /// Instances not written on purpose (pruned services, the camera, ignore rules).
    pub excluded: RefSet,
    pub camera: Option<Ref>,
    /// `$path` directories of services missing from the place: kept, emptied.
    pub empty_dirs: Vec<PathBuf>,
    /// Files of unchanged subtrees left exactly as they are (incremental mode).
    pub kept: Vec<PathBuf>,
    /// The instances of those subtrees and their old counterparts.
    pub kept_pairs: Vec<(Ref, Ref)>,
    /// Incremental mode: files of renamed, otherwise unchanged instances, copied byte for
    /// byte from their old paths to their new ones (the old ones become orphans).
    pub copies: Vec<(PathBuf, PathBuf)>,
    /// Folders those copies need (empty ones included).
    pub moved_dirs: Vec<PathBuf>,
    /// Incremental mode: existing meta files keep their name (`.meta.json`) and, when they
    /// still say the same, their text.
    pub incremental: bool,
    pub warnings: Vec<String>,
}

impl Layout {
    /// The file-system segments from the root's children down to `referent` (what
    /// `Rojo_Ref_*` paths are made of); `None` when it is not placed (outside the synced
    /// tree).
    pub fn segments(&self, referent: Ref) -> Option<Vec<&str>> {
        let mut segments = Vec::new();
        let mut current = referent;
        loop {
            let placement = self.placements.get(&current)?;
            match placement.parent {
                Some(parent) => {
                    segments.push(placement.segment.as_str());
                    current = parent;
                }
                None => break,
            }
        }
        segments.reverse();
        Some(segments)
    }
}

/// Classes that are always directories (they usually hold children).
const DIR_CLASSES: [&str; 7] = [
    "Folder",
    "Configuration",
    "Tool",
    "ScreenGui",
    "SurfaceGui",
    "BillboardGui",
    "AdGui",
];

/// The kind of file a plain instance gets, before naming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dir(Init),
    Script(ScriptKind),
    Text,
    Csv,
    Model,
    Rbxm,
}

pub struct Planner<'a> {
    pub dom: &'a WeakDom,
    pub project: &'a Project,
    pub rules: &'a CompiledRules,
    pub mode: SyncbackMode,
    pub old: Option<&'a OldTree>,
    /// Instances that must be written again even if unchanged (see [`moved_references`]).
    rewritten: &'a RefSet,
    ctx: formats::Context,
    layout: Layout,
    /// Names of existing entries to keep free, per directory (protected files).
    reserved: HashMap<PathBuf, Vec<String>>,
    /// Every `$path` target of the project (never orphans).
    path_targets: HashSet<PathBuf>,
    /// New instance -> its old counterpart (incremental mode).
    old_map: RefMap<Ref>,
}

fn script_kind(instance: &Instance) -> Option<ScriptKind> {
    let run_context = match instance.properties.get(&"RunContext".into()) {
        Some(Variant::Enum(e)) => Some(e.to_u32()),
        _ => None,
    };
    let kind = ScriptKind::for_instance(instance.class.as_str(), run_context)?;
    match instance.properties.get(&"Source".into()) {
        Some(Variant::String(_)) | None => Some(kind),
        _ => None,
    }
}

fn string_prop<'i>(instance: &'i Instance, name: &str) -> Option<&'i str> {
    match instance.properties.get(&name.into()) {
        Some(Variant::String(s)) => Some(s),
        _ => None,
    }
}

/// Whether a LocalizationTable's `Contents` can be a `.csv` file exactly.
fn csv_exact(instance: &Instance) -> bool {
    instance.class == "LocalizationTable"
        && string_prop(instance, "Contents")
            .is_some_and(|c| csv_format::write_contents(c).is_some())
}

/// The name the build gives what is at `target` when it reads the folder holding it: a
/// folder's own name, a file's name without its kind's suffix, either without a `~N`
/// (`None` for a file no built-in rule reads).
fn name_read_from(target: &Path) -> Option<String> {
    let name = file_name(target);
    let base = if target.is_dir() {
        name
    } else {
        formats::builtin_rule(&name)?.1
    };
    Some(formats::strip_dedup_suffix(&base).to_string())
}

/// Whether `double`, an entry of a folder, is what the build read from the same files as
/// the project node `node` (its instance `node_instance`): the same children in order,
/// apart from the node's own child nodes, and the same class unless the node names one.
/// The node's own values (`$properties`, `$attributes`) are the node's, so the roots'
/// values are not compared.
fn reads_as_the_node(dom: &WeakDom, double: Ref, node_instance: Ref, node: &ProjectNode) -> bool {
    let (Some(x), Some(y)) = (dom.get_by_ref(double), dom.get_by_ref(node_instance)) else {
        return false;
    };
    if node.class_name.is_none() && x.class != y.class {
        return false;
    }
    let from_files: Vec<Ref> = y
        .children()
        .iter()
        .copied()
        .filter(|child| {
            dom.get_by_ref(*child)
                .is_some_and(|c| !node.children.contains_key(c.name.as_str()))
        })
        .collect();
    x.children().len() == from_files.len()
        && x.children()
            .iter()
            .zip(&from_files)
            .all(|(p, q)| same_subtree(dom, *p, *q, true))
}

/// Whether two subtrees of the place say the same: classes, values (references only by
/// being set) and children in order; the roots' names are compared when asked.
fn same_subtree(dom: &WeakDom, a: Ref, b: Ref, compare_names: bool) -> bool {
    let (Some(x), Some(y)) = (dom.get_by_ref(a), dom.get_by_ref(b)) else {
        return false;
    };
    let same_values = x.properties.len() == y.properties.len()
        && x.properties.iter().all(|(key, value)| {
            y.properties
                .get(key)
                .is_some_and(|other| match (value, other) {
                    (Variant::Ref(p), Variant::Ref(q)) => p.is_some() == q.is_some(),
                    _ => filter::identical(value, other),
                })
        });
    x.class == y.class
        && (!compare_names || x.name == y.name)
        && same_values
        && x.children().len() == y.children().len()
        && x.children()
            .iter()
            .zip(y.children())
            .all(|(p, q)| same_subtree(dom, *p, *q, true))
}

fn collect_paths(node: &ProjectNode, folder: &Path, out: &mut HashSet<PathBuf>) {
    if let Some(path) = &node.path {
        out.insert(folder.join(path.path()));
    }
    for child in node.children.values() {
        collect_paths(child, folder, out);
    }
}

fn node_mut<'t>(tree: &'t mut ProjectNode, key_path: &[String]) -> &'t mut ProjectNode {
    let mut node = tree;
    for key in key_path {
        node = node
            .children
            .get_mut(key)
            .expect("key path from the same tree");
    }
    node
}

fn relative_to(path: &Path, base: &Path) -> PathBuf {
    path.strip_prefix(base)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

impl<'a> Planner<'a> {
    pub fn new(
        dom: &'a WeakDom,
        project: &'a Project,
        rules: &'a CompiledRules,
        mode: SyncbackMode,
        old: Option<&'a OldTree>,
        rewritten: &'a RefSet,
    ) -> Result<Self, super::SyncbackError> {
        let ctx = formats::Context::default()
            .for_project(project)
            .map_err(|e| super::SyncbackError::Project(e.to_string()))?;
        let mut path_targets = HashSet::new();
        collect_paths(&project.tree, project.folder(), &mut path_targets);
        Ok(Planner {
            dom,
            project,
            rules,
            mode,
            old,
            rewritten,
            ctx,
            layout: Layout {
                placements: RefMap::default(),
                order: Vec::new(),
                tree: project.tree.clone(),
                dir_roots: Vec::new(),
                protected: HashSet::new(),
                replaced: Vec::new(),
                excluded: RefSet::default(),
                camera: None,
                empty_dirs: Vec::new(),
                kept: Vec::new(),
                kept_pairs: Vec::new(),
                copies: Vec::new(),
                moved_dirs: Vec::new(),
                incremental: mode == SyncbackMode::Incremental,
                warnings: Vec::new(),
            },
            reserved: HashMap::new(),
            path_targets,
            old_map: RefMap::default(),
        })
    }

    fn warn(&mut self, message: String) {
        log::warn!("{message}");
        self.layout.warnings.push(message);
    }

    /// Runs phase one.
    pub fn run(mut self) -> Layout {
        self.exclude_by_rules();
        if let Some(old) = self.old {
            for (path, ()) in old.protected_entries(self.rules) {
                self.layout.protected.insert(path.clone());
                if let (Some(parent), Some(name)) = (path.parent(), path.file_name()) {
                    self.reserved
                        .entry(parent.to_path_buf())
                        .or_default()
                        .push(name.to_string_lossy().into_owned());
                }
            }
        }
        let root = self.dom.root_ref();
        if let Some(old) = self.old {
            self.old_map.insert(root, old.root());
        }
        let tree = self.project.tree.clone();
        self.layout_node(&tree, Vec::new(), Some(root), None, None);
        self.layout
    }

    /// The camera, `ignoreTrees` and `ignoreClasses` instances.
    fn exclude_by_rules(&mut self) {
        let dom = self.dom;
        let root = dom.root();
        if !self.rules.sync_current_camera {
            for child in root.children() {
                let Some(instance) = dom.get_by_ref(*child) else {
                    continue;
                };
                if instance.class != "Workspace" {
                    continue;
                }
                if let Some(Variant::Ref(camera)) = instance.properties.get(&"CurrentCamera".into())
                {
                    if dom.get_by_ref(*camera).is_some() && *camera != root.referent() {
                        self.layout.camera = Some(*camera);
                        self.layout.excluded.insert(*camera);
                    }
                }
            }
        }
        if !self.rules.has_ignore_trees() && !self.rules.has_ignore_classes() {
            return;
        }
        let mut stack: Vec<(Ref, String)> = root
            .children()
            .iter()
            .map(|r| (*r, String::new()))
            .collect();
        while let Some((referent, parent_path)) = stack.pop() {
            let Some(instance) = dom.get_by_ref(referent) else {
                continue;
            };
            let path = if parent_path.is_empty() {
                super::rules::tree_segment(&instance.name)
            } else {
                format!(
                    "{parent_path}/{}",
                    super::rules::tree_segment(&instance.name)
                )
            };
            if self.rules.ignores_tree(&path) || self.rules.ignores_class(instance.class.as_str()) {
                self.layout.excluded.insert(referent);
                continue;
            }
            for child in instance.children() {
                stack.push((*child, path.clone()));
            }
        }
    }

    fn place(&mut self, referent: Ref, placement: Placement) {
        self.layout.order.push(referent);
        self.layout.placements.insert(referent, placement);
    }

    /// Places an instance whose files stay as they are (or are moved as they are): only
    /// its segment matters, for the reference paths that lead through it.
    fn place_kept(&mut self, referent: Ref, parent: Option<Ref>, segment: String) {
        self.place(
            referent,
            Placement {
                parent,
                segment,
                form: Form::Kept,
                needs_name: false,
                children: Vec::new(),
            },
        );
    }

    fn synced_children(&self, instance: &Instance) -> Vec<Ref> {
        instance
            .children()
            .iter()
            .copied()
            .filter(|c| !self.layout.excluded.contains(c) && self.dom.get_by_ref(*c).is_some())
            .collect()
    }

    /// One project node and, recursively, its project children.
    fn layout_node(
        &mut self,
        node: &ProjectNode,
        key_path: Vec<String>,
        instance: Option<Ref>,
        parent: Option<Ref>,
        parent_class: Option<&str>,
    ) {
        let folder = self.project.folder().to_path_buf();
        let key = key_path
            .last()
            .cloned()
            .unwrap_or_else(|| self.project.name.clone());
        let Some(referent) = instance else {
            self.layout_missing_node(node, &key_path, parent_class, false);
            return;
        };
        let dom = self.dom;
        let instance = dom.get_by_ref(referent).expect("matched instance");
        let class = instance.class.as_str().to_string();

        // Match project children to instance children by name (class breaks ties).
        let mut taken = RefSet::default();
        let mut matched: Vec<(String, Option<Ref>)> = Vec::new();
        for (child_key, child_node) in &node.children {
            let candidates: Vec<Ref> = instance
                .children()
                .iter()
                .copied()
                .filter(|c| !taken.contains(c) && !self.layout.excluded.contains(c))
                .filter(|c| dom.get_by_ref(*c).is_some_and(|i| &i.name == child_key))
                .collect();
            let wanted_class = child_node
                .class_name
                .clone()
                .or_else(|| project_node::inferred_class(child_key, Some(&class)));
            // Among same-named candidates (a node whose `$path` lies in this folder is
            // there twice), the one holding the node's own child nodes, then the one of
            // the node's class, then the first.
            let holds_child_nodes = |c: &Ref| {
                !child_node.children.is_empty()
                    && dom.get_by_ref(*c).is_some_and(|i| {
                        child_node.children.keys().all(|key| {
                            i.children()
                                .iter()
                                .any(|k| dom.get_by_ref(*k).is_some_and(|k| &k.name == key))
                        })
                    })
            };
            let of_class = |c: &Ref| {
                wanted_class
                    .as_deref()
                    .is_some_and(|w| dom.get_by_ref(*c).is_some_and(|i| i.class == w))
            };
            let chosen = candidates
                .iter()
                .copied()
                .find(holds_child_nodes)
                .or_else(|| candidates.iter().copied().find(of_class))
                .or_else(|| candidates.first().copied());
            if let Some(chosen) = chosen {
                taken.insert(chosen);
                if let Some(old) = self.old {
                    if let Some(old_parent) = self.old_map.get(&referent).copied() {
                        if let Some(old_child) = old.child_named(old_parent, child_key) {
                            self.old_map.insert(chosen, old_child);
                        }
                    }
                }
            }
            matched.push((child_key.clone(), chosen));
        }

        let mut remaining: Vec<Ref> = self
            .synced_children(instance)
            .into_iter()
            .filter(|c| !taken.contains(c))
            .collect();

        let is_data_model_root = parent.is_none() && class == "DataModel";
        if is_data_model_root {
            let has_dir = node.path.as_ref().is_some_and(|p| {
                let full = folder.join(p.path());
                full.is_dir()
                    || (!full.exists() && formats::builtin_rule(&file_name(&full)).is_none())
            });
            let mut kept = Vec::new();
            for child in remaining {
                let child_instance = dom.get_by_ref(child).expect("child");
                let visible = VISIBLE_SERVICES.contains(&child_instance.name.as_str());
                if (self.rules.ignore_hidden_services && !visible) || !has_dir {
                    self.layout.excluded.insert(child);
                } else {
                    kept.push(child);
                }
            }
            remaining = kept;
        }

        // Where the node's own content goes.
        let mut dir: Option<(PathBuf, Init)> = None;
        let mut file: Option<Box<Form>> = None;
        let mut inline_children = false;
        let target = match &node.path {
            Some(path) => Some(folder.join(path.path())),
            None if !remaining.is_empty() => {
                let new_dir = self.new_node_dir(&key_path);
                let relative = relative_to(&new_dir, &folder);
                self.warn(format!(
                    "project node {} had no $path for its {} children; it now has $path \"{}\"",
                    display_key_path(&key_path),
                    remaining.len(),
                    relative.display()
                ));
                node_mut(&mut self.layout.tree, &key_path).path =
                    Some(NodePath::Required(relative));
                Some(new_dir)
            }
            None => None,
        };
        if let Some(target) = &target {
            if self.keeps_unchanged_file_node(node, referent, parent, target) {
                return;
            }
        }
        // The meta file beside a `$path` file that gives way to a folder.
        let mut left_meta: Option<PathBuf> = None;
        if let Some(target) = target {
            let form = self.node_target_form(instance, &target, !remaining.is_empty());
            let (form, relocated) = match form {
                Some(form) => (form, false),
                None => (
                    self.relocated_form(instance, &target, !remaining.is_empty()),
                    true,
                ),
            };
            if relocated {
                if target.exists() && !self.path_targets.contains(&form_path(&form)) {
                    self.layout.replaced.push(target.clone());
                    // A file's adjacent meta file goes with it: its values are the node's
                    // now, written where the node's new form keeps them.
                    if target.is_file() {
                        let name = file_name(&target);
                        for meta_name in meta::file_names(meta::meta_base(&name)) {
                            let meta_path = target.with_file_name(meta_name);
                            if meta_path.is_file() && !self.path_targets.contains(&meta_path) {
                                self.layout.replaced.push(meta_path.clone());
                                left_meta.get_or_insert(meta_path);
                            }
                        }
                    }
                }
                let relative = relative_to(&form_path(&form), &folder);
                let node_entry = node_mut(&mut self.layout.tree, &key_path);
                node_entry.path = Some(match node_entry.path {
                    Some(NodePath::Optional(_)) => NodePath::Optional(relative),
                    _ => NodePath::Required(relative),
                });
            }
            match form {
                Form::Dir { dir: path, init } => {
                    let inferred = project_node::inferred_class(&key, parent_class);
                    let node_entry = node_mut(&mut self.layout.tree, &key_path);
                    if init == Init::None {
                        let resolved = node_entry
                            .class_name
                            .clone()
                            .or(inferred)
                            .unwrap_or_else(|| "Folder".to_string());
                        if resolved != class {
                            node_entry.class_name = Some(class.clone());
                        }
                    } else {
                        node_entry.class_name = None;
                    }
                    dir = Some((path, init));
                }
                Form::Model { path, .. } => {
                    node_mut(&mut self.layout.tree, &key_path).class_name = None;
                    inline_children = true;
                    file = Some(Box::new(Form::Model { path, inline: true }));
                }
                Form::Rbxm { .. } => {
                    node_mut(&mut self.layout.tree, &key_path).class_name = None;
                    inline_children = true;
                    file = Some(Box::new(form));
                }
                Form::Kept => {
                    // A nested project: left as it is.
                    self.layout.protected.insert(target.clone());
                    self.warn(format!(
                        "project node {}: nested project {} is left as it is",
                        display_key_path(&key_path),
                        target.display()
                    ));
                    self.place_kept(referent, parent, key);
                    return;
                }
                other => {
                    node_mut(&mut self.layout.tree, &key_path).class_name = None;
                    file = Some(Box::new(other));
                }
            }
        }

        // The node's values stay where the user keeps them: in a meta file its target
        // already has (then the build applies it, and nothing else holds them), unless the
        // project node has values of its own. A meta file left with nothing is removed.
        // A `$path` file's meta file moves into the folder that replaces the file, as its
        // init meta (with its text, when it still says the same).
        let meta = if node.properties.is_empty() && node.attributes.is_empty() {
            existing_meta(dir.as_ref().map(|(d, _)| d), file.as_deref()).or_else(|| {
                let (dir_path, _) = dir.as_ref()?;
                let spelling = if left_meta?.extension().is_some_and(|e| e == "json") {
                    "init.meta.json"
                } else {
                    meta::INIT_META
                };
                Some(dir_path.join(spelling))
            })
        } else {
            None
        };
        // A folder's class the project did not name stays in the meta file too.
        let mut class_in_meta = false;
        if let Some(meta) = &meta {
            self.layout.replaced.push(meta.clone());
            let node_entry = node_mut(&mut self.layout.tree, &key_path);
            if matches!(dir, Some((_, Init::None)))
                && node.class_name.is_none()
                && node_entry.class_name.is_some()
            {
                node_entry.class_name = None;
                class_in_meta = true;
            }
        }
        self.place(
            referent,
            Placement {
                parent,
                segment: key.clone(),
                form: Form::Node {
                    key_path: key_path.clone(),
                    dir: dir.clone(),
                    file,
                    meta,
                    class_in_meta,
                },
                needs_name: false,
                children: remaining.clone(),
            },
        );

        if inline_children {
            for child in &remaining {
                self.layout_inline(*child, referent);
            }
        } else if let Some((dir_path, _)) = &dir {
            self.layout.dir_roots.push(dir_path.clone());
            let mut ns = self.namespace_for(dir_path);
            for child_key in node.children.keys() {
                ns.reserve(child_key);
            }
            let plain = self.without_doubles(node, &key_path, dir_path, &matched, remaining);
            self.layout_dir_children(referent, dir_path, plain, ns);
        }

        for (child_key, chosen) in matched {
            let child_node = &node.children[&child_key];
            let mut child_path = key_path.clone();
            child_path.push(child_key);
            self.layout_node(child_node, child_path, chosen, Some(referent), Some(&class));
        }
    }

    /// Incremental mode: a node whose `$path` is a file (`Data.json`, `Thing.model.json5`)
    /// and whose subtree is unchanged keeps that file untouched, as unchanged plain files
    /// are (a data module would otherwise become `.luau`, a model file lose its comments).
    fn keeps_unchanged_file_node(
        &mut self,
        node: &ProjectNode,
        referent: Ref,
        parent: Option<Ref>,
        target: &Path,
    ) -> bool {
        let (Some(old), Some(parent)) = (self.old, parent) else {
            return false;
        };
        if self.mode != SyncbackMode::Incremental || !node.children.is_empty() || !target.is_file()
        {
            return false;
        }
        let Some(old_ref) = self.old_map.get(&referent).copied() else {
            return false;
        };
        if !old.unchanged(self.dom, referent, old_ref, self.sameness()) {
            return false;
        }
        for path in old.paths_of_subtree(old_ref) {
            if path.is_file() {
                self.layout.kept.push(path.clone());
            }
            self.layout.protected.insert(path);
        }
        self.layout.protected.insert(target.to_path_buf());
        self.old_segments(referent, parent, old_ref, old);
        true
    }

    /// A project node with no instance in the place: a service syncs as if empty;
    /// anything else is left as it is. `left_alone`: an ancestor is a service the plugin
    /// does not send, which was warned about once for all of its nodes.
    fn layout_missing_node(
        &mut self,
        node: &ProjectNode,
        key_path: &[String],
        parent_class: Option<&str>,
        left_alone: bool,
    ) {
        let folder = self.project.folder().to_path_buf();
        let key = key_path.last().cloned().unwrap_or_default();
        let class = node
            .class_name
            .clone()
            .or_else(|| project_node::inferred_class(&key, parent_class));
        let is_service = class.as_deref().is_some_and(filter::is_service);
        let unsent = self.rules.only_visible_services
            && is_service
            && !class
                .as_deref()
                .is_some_and(|class| VISIBLE_SERVICES.contains(&class));
        let target = node.path.as_ref().map(|p| folder.join(p.path()));
        match target {
            Some(target) if left_alone => {
                self.layout.protected.insert(target);
            }
            None if left_alone => {}
            Some(target) if unsent => {
                self.layout.protected.insert(target);
                self.warn(format!(
                    "project node {} is a service Studio's plugin does not send; its files are left as they are",
                    display_key_path(key_path)
                ));
            }
            Some(target) if is_service && (target.is_dir() || !target.exists()) => {
                self.layout.dir_roots.push(target.clone());
                self.layout.empty_dirs.push(target);
            }
            Some(target) => {
                self.layout.protected.insert(target);
                self.warn(format!(
                    "project node {} is not in the place; its files are left as they are",
                    display_key_path(key_path)
                ));
            }
            // Syncback never removes a project node (fs-format.md §4.11): say so, since the
            // next build brings it back.
            None if !is_service => self.warn(format!(
                "project node {} is not in the place; it stays in the project file (remove it there to remove it)",
                display_key_path(key_path)
            )),
            None => {}
        }
        for (child_key, child) in &node.children {
            let mut child_path = key_path.to_vec();
            child_path.push(child_key.clone());
            self.layout_missing_node(child, &child_path, class.as_deref(), left_alone || unsent);
        }
    }
}

/// Reference holders left as they are (incremental mode, unchanged subtrees) whose file
/// records a path that no longer leads to the target: the target's file, or the holder's
/// own, is not where it was (a target that gained children became a folder, a duplicate
/// took another `~N`, ...). Laying out again with these counted as changed writes them.
pub fn moved_references(
    layout: &Layout,
    dom: &WeakDom,
    old: &OldTree,
    rules: &CompiledRules,
) -> RefSet {
    let mut moved = RefSet::default();
    if rules.ignore_referents {
        return moved;
    }
    for (holder, old_holder) in &layout.kept_pairs {
        let Some(instance) = dom.get_by_ref(*holder) else {
            continue;
        };
        // Targets in the synced tree (outside it a reference is a path of names, which
        // did not change); the camera and other skipped targets are not written.
        let targets: Vec<(&str, Vec<&str>)> = instance
            .properties
            .iter()
            .filter_map(|(property, value)| match value {
                Variant::Ref(target)
                    if dom.get_by_ref(*target).is_some()
                        && !layout.excluded.contains(target)
                        && layout.camera != Some(*target) =>
                {
                    Some((property.as_str(), layout.segments(*target)?))
                }
                _ => None,
            })
            .collect();
        if targets.is_empty() {
            continue;
        }
        let Some(holder_now) = layout.segments(*holder) else {
            continue;
        };
        let holder_before = old.segments(*old_holder);
        let holder_stayed = same_segments(&holder_now, &holder_before);
        let targets_stayed = targets.iter().all(|(property, new)| {
            old.reference(*old_holder, property)
                .is_some_and(|old_target| same_segments(new, &old.segments(old_target)))
        });
        if holder_stayed && targets_stayed {
            continue;
        }
        // Moved together (a renamed folder holding both ends, or a path from inside it to
        // outside): the path its file records may read the same from the new place.
        let same_paths = targets.iter().all(|(property, target_now)| {
            let Some(old_target) = old.reference(*old_holder, property) else {
                return false;
            };
            let before = super::emit::ref_path_between(&holder_before, &old.segments(old_target));
            let now = super::emit::ref_path_between(&holder_now, target_now);
            matches!((&before, &now), (Ok(a), Ok(b)) if a == b)
                && before.is_ok_and(|path| records_path(old, *old_holder, &path))
        });
        if !same_paths {
            moved.insert(*holder);
        }
    }
    moved
}

/// Whether one of the old instance's own files holds `path` as a JSON string (the
/// `Rojo_Ref_*` value syncback wrote there): a hand-written path that reads differently
/// is not known to survive a move, so such a holder is written again.
fn records_path(old: &OldTree, old_holder: Ref, path: &str) -> bool {
    let quoted = serde_json::to_string(path).unwrap_or_default();
    old.own_files(old_holder)
        .iter()
        .any(|file| std::fs::read_to_string(file).is_ok_and(|text| text.contains(&quoted)))
}

fn same_segments(new: &[&str], old: &[String]) -> bool {
    new.len() == old.len() && new.iter().zip(old).all(|(a, b)| *a == b.as_str())
}

/// The meta file a project node's `$path` target has on disk: `init.meta.json5` (or
/// `.json`) of a folder, the adjacent meta file of a script, text or CSV file.
fn existing_meta(dir: Option<&PathBuf>, file: Option<&Form>) -> Option<PathBuf> {
    let (folder, base) = match (dir, file) {
        (Some(dir), _) => (dir.clone(), "init".to_string()),
        (None, Some(Form::Script { path, .. } | Form::Text { path } | Form::Csv { path })) => (
            path.parent()?.to_path_buf(),
            meta::meta_base(&file_name(path)).to_string(),
        ),
        _ => return None,
    };
    meta::file_names(&base)
        .into_iter()
        .map(|name| folder.join(name))
        .find(|path| path.is_file())
}

fn display_key_path(key_path: &[String]) -> String {
    if key_path.is_empty() {
        "(root)".to_string()
    } else {
        key_path.join(".")
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The main path of a file form.
pub fn form_path(form: &Form) -> PathBuf {
    match form {
        Form::Dir { dir, .. } => dir.clone(),
        Form::Script { path, .. }
        | Form::Text { path }
        | Form::Csv { path }
        | Form::Model { path, .. }
        | Form::Rbxm { path, .. } => path.clone(),
        Form::Node {
            dir: Some((dir, _)),
            ..
        } => dir.clone(),
        Form::Node {
            file: Some(file), ..
        } => form_path(file),
        _ => PathBuf::new(),
    }
}

impl Planner<'_> {
    /// A project child whose `$path` lies directly in its parent's `$path` folder is read
    /// twice by the build: as the node, and as an entry of that folder. The place then
    /// holds it twice; the node writes it, and its double among the folder's children is
    /// left out (written beside it, it would come back once more on every build). A
    /// double is a sibling named as the build names that entry that reads as the node
    /// ([`reads_as_the_node`]); anything else is a sibling of its own and is written.
    fn without_doubles(
        &mut self,
        node: &ProjectNode,
        key_path: &[String],
        dir: &Path,
        matched: &[(String, Option<Ref>)],
        mut plain: Vec<Ref>,
    ) -> Vec<Ref> {
        let folder = self.project.folder().to_path_buf();
        for (child_key, node_instance) in matched {
            let (Some(child), Some(node_instance)) = (node.children.get(child_key), node_instance)
            else {
                continue;
            };
            let Some(target) = child.path.as_ref().map(|p| folder.join(p.path())) else {
                continue;
            };
            if target.starts_with(dir) && target.parent() != Some(dir) && target.exists() {
                // Deeper inside: the build reads those files as part of the folder too.
                let mut child_path = key_path.to_vec();
                child_path.push(child_key.clone());
                self.warn(format!(
                    "project node {}: its $path {} lies inside its parent's $path {}, so the build reads those files twice; give the node a $path outside that folder, or list it in globIgnorePaths",
                    display_key_path(&child_path),
                    relative_to(&target, &folder).display(),
                    relative_to(dir, &folder).display()
                ));
                continue;
            }
            if target.parent() != Some(dir) || !target.exists() {
                continue;
            }
            let Some(name) = name_read_from(&target) else {
                continue;
            };
            let dom = self.dom;
            let Some(index) = plain.iter().position(|r| {
                dom.get_by_ref(*r).is_some_and(|i| i.name == name)
                    && reads_as_the_node(dom, *r, *node_instance, child)
            }) else {
                continue;
            };
            let double = plain.remove(index);
            self.layout.excluded.insert(double);
            let mut node_path = key_path.to_vec();
            node_path.push(child_key.clone());
            self.warn(format!(
                "{} is read twice by the build: as project node {} and inside {}; written once, by the node",
                self.dom.full_path_of(double, "/"),
                display_key_path(&node_path),
                relative_to(dir, &folder).display()
            ));
        }
        plain
    }
}
