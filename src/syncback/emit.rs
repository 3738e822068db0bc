//! Phase two of planning: the contents of every file, in parallel. Each instance's files
//! come from its format module (`formats::*`); this module decides what goes in them:
//! filtered properties, attributes, `Rojo_Ref_*` paths and the real name of slugs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use rbx_dom_weak::types::{Attributes, Ref, Variant};
use rbx_dom_weak::{Instance, InstanceBuilder, WeakDom};

use super::filter;
use super::layout::{Form, Init, Layout};
use super::rules::CompiledRules;
use crate::formats::{
    csv as csv_format, dir, meta, model_json, rbxm, script, FileWrite, ScriptKind,
};
use crate::json_value::Value;
use crate::properties;

/// Attribute prefix of path references (resolved by `snapshot::resolve_references`).
const REF_PATH_PREFIX: &str = "Rojo_Ref_";
/// Attribute prefix of legacy id references.
const REF_TARGET_PREFIX: &str = "Rojo_Target_";

/// What a project node's instance puts into the project file.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeData {
    pub key_path: Vec<String>,
    pub class_name: String,
    pub properties: BTreeMap<String, (Value, Variant)>,
    pub attributes: BTreeMap<String, Value>,
    /// The node's `$path` file carries everything: `$properties`/`$attributes` are cleared.
    pub cleared: bool,
}

/// Everything phase two produces.
#[derive(Default)]
pub struct Emitted {
    pub files: Vec<FileWrite>,
    /// Directories that must exist (including empty `$path` directories).
    pub dirs: Vec<PathBuf>,
    pub nodes: Vec<NodeData>,
    pub warnings: Vec<String>,
}

struct Emitter<'a> {
    dom: &'a WeakDom,
    layout: &'a Layout,
    rules: &'a CompiledRules,
}

/// Produces the files of every placed instance.
pub fn emit(dom: &WeakDom, layout: &Layout, rules: &CompiledRules) -> Emitted {
    let emitter = Emitter { dom, layout, rules };
    let mut all = layout
        .order
        .par_iter()
        .with_min_len(64)
        .fold(Emitted::default, |mut out, referent| {
            emitter.instance(*referent, &mut out);
            out
        })
        .reduce(Emitted::default, |mut a, mut b| {
            a.files.append(&mut b.files);
            a.dirs.append(&mut b.dirs);
            a.nodes.append(&mut b.nodes);
            a.warnings.append(&mut b.warnings);
            a
        });
    for empty in &layout.empty_dirs {
        all.dirs.push(empty.clone());
        all.files.push(dir::gitkeep(empty));
    }
    // Renamed instances' files, as they are (incremental mode).
    all.dirs.extend(layout.moved_dirs.iter().cloned());
    let copied: Vec<Result<FileWrite, String>> = layout
        .copies
        .par_iter()
        .map(|(from, to)| {
            std::fs::read(from)
                .map(|bytes| FileWrite::new(to.clone(), bytes))
                .map_err(|err| format!("{} could not be read to move it: {err}", from.display()))
        })
        .collect();
    for copy in copied {
        match copy {
            Ok(file) => all.files.push(file),
            Err(warning) => all.warnings.push(warning),
        }
    }
    all
}

/// Properties a file kind carries itself (so they are not repeated in meta files).
fn carried(form: &Form, class: &str, instance: &Instance) -> Vec<&'static str> {
    let script = |kind: ScriptKind| {
        let mut out = vec!["Source"];
        if class == "Script" {
            let matches = match instance.properties.get(&"RunContext".into()) {
                Some(Variant::Enum(e)) => Some(e.to_u32()) == kind.run_context(),
                None => true,
                _ => false,
            };
            if matches {
                out.push("RunContext");
            }
        }
        out
    };
    match form {
        Form::Script { kind, .. }
        | Form::Dir {
            init: Init::Script(kind) | Init::ScriptAt(kind, _),
            ..
        } => script(*kind),
        Form::Text { .. } => vec!["Value"],
        Form::Csv { .. }
        | Form::Dir {
            init: Init::Csv, ..
        } => vec!["Contents"],
        Form::Node {
            dir: Some((_, Init::Script(kind) | Init::ScriptAt(kind, _))),
            ..
        } => script(*kind),
        Form::Node {
            dir: Some((_, Init::Csv)),
            ..
        } => vec!["Contents"],
        Form::Node {
            file: Some(file), ..
        } => carried(file, class, instance),
        _ => Vec::new(),
    }
}

/// Whether two meta files say the same (values compared decoded, so `0.5` and `0.50` or
/// key order make no difference).
fn same_meta(class: &str, old: &meta::MetaFile, meta: &meta::MetaFile) -> bool {
    old.class_name == meta.class_name
        && old.name == meta.name
        && old.id == meta.id
        && old.ignore_unknown_instances == meta.ignore_unknown_instances
        && same_properties(class, &old.properties, &meta.properties)
        && same_values(
            &old.attributes,
            &meta.attributes,
            properties::decode_attribute,
        )
}

/// Whether two maps of encoded property values say the same: a property one leaves out
/// is its class default, so a hand-written `Archivable: true` still says the same.
fn same_properties(class: &str, a: &BTreeMap<String, Value>, b: &BTreeMap<String, Value>) -> bool {
    let value = |map: &BTreeMap<String, Value>, name: &str| match map.get(name) {
        Some(encoded) => properties::decode_property(class, name, encoded).ok(),
        None => filter::default_value(class, name).cloned(),
    };
    let same = a.keys().chain(b.keys()).all(|name| {
        matches!(
            (value(a, name), value(b, name)),
            (Some(x), Some(y)) if filter::identical(&x, &y)
        )
    });
    // Else compare what a place file would hold for each (`Color: [0, 1, 0]` is an 8-bit
    // colour there, `Texture` is `TextureContent`).
    same || matches!(
        (saved_properties(class, a), saved_properties(class, b)),
        (Some(x), Some(y)) if x.keys().chain(y.keys()).all(|name| {
            let p = x.get(name).or_else(|| filter::default_value(class, name));
            let q = y.get(name).or_else(|| filter::default_value(class, name));
            matches!((p, q), (Some(p), Some(q)) if filter::identical(p, q))
        })
    )
}

/// The values a place file holds for a map of encoded properties, by the names it holds
/// them under; `None` when one does not decode.
fn saved_properties(
    class: &str,
    map: &BTreeMap<String, Value>,
) -> Option<BTreeMap<String, Variant>> {
    let mut saved = BTreeMap::new();
    for (name, encoded) in map {
        let decoded = properties::decode_property(class, name, encoded).ok()?;
        if let Some((saved_name, value)) = properties::saved::saved_property(class, name, &decoded)
        {
            saved.insert(saved_name.to_string(), value);
        }
    }
    Some(saved)
}

/// Whether two maps of encoded values hold the same keys with values that decode equal.
fn same_values<E>(
    a: &BTreeMap<String, Value>,
    b: &BTreeMap<String, Value>,
    decode: impl Fn(&str, &Value) -> Result<Variant, E>,
) -> bool {
    a.len() == b.len()
        && a.iter().all(|(name, value)| {
            b.get(name).is_some_and(|other| {
                matches!(
                    (decode(name, value), decode(name, other)),
                    (Ok(x), Ok(y)) if filter::identical(&x, &y)
                )
            })
        })
}

/// For a folder's init meta file (`Main/init.meta.json5`), the meta file beside the folder
/// (`Main.meta.json5`, else `Main.meta.json`) that held the instance's values while it was
/// a file, if there is one.
fn moved_meta_source(init_meta: &Path) -> Option<PathBuf> {
    let file_name = init_meta.file_name()?.to_str()?;
    if file_name != meta::INIT_META && file_name != "init.meta.json" {
        return None;
    }
    let folder = init_meta.parent()?;
    let base = folder.file_name()?.to_str()?;
    meta::file_names(base)
        .into_iter()
        .map(|name| folder.with_file_name(name))
        .find(|candidate| candidate.is_file())
}

/// Joins path segments; `Err(Some(name))` for a segment holding `/`, which no path can
/// spell.
fn joined<S: AsRef<str>>(segments: &[S]) -> Result<String, Option<String>> {
    match segments.iter().find(|s| s.as_ref().contains('/')) {
        Some(name) => Err(Some(name.as_ref().to_string())),
        None => Ok(segments
            .iter()
            .map(AsRef::as_ref)
            .collect::<Vec<&str>>()
            .join("/")),
    }
}

/// The `Rojo_Ref_*` path from the instance at `from` to the one at `to` (file-system
/// segments below the root, both in the synced tree and different): `@self/...` below
/// the holder, `./` or `../` within a shared ancestor, else `@game/...`.
pub fn ref_path_between<S: AsRef<str> + PartialEq>(
    from: &[S],
    to: &[S],
) -> Result<String, Option<String>> {
    if to.len() > from.len() && to[..from.len()] == from[..] {
        return Ok(format!("@self/{}", joined(&to[from.len()..])?));
    }
    let common = from
        .iter()
        .zip(to.iter())
        .take_while(|(a, b)| a == b)
        .count();
    if to.is_empty() {
        return Ok("@game".to_string());
    }
    if common == 0 || common == to.len() {
        return Ok(format!("@game/{}", joined(to)?));
    }
    let up = from.len() - 1 - common;
    let rest = joined(&to[common..])?;
    if up == 0 {
        Ok(format!("./{rest}"))
    } else {
        Ok(format!("{}{rest}", "../".repeat(up)))
    }
}

fn adjacent_meta_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    path.with_file_name(meta::adjacent_file_name(meta::meta_base(name)))
}

fn source_of(instance: &Instance, property: &str) -> String {
    // One copy: the file's bytes take ownership of it.
    match instance.properties.get(&property.into()) {
        Some(Variant::String(s)) => s.clone(),
        _ => String::new(),
    }
}

impl Emitter<'_> {
    fn warn(&self, out: &mut Emitted, message: String) {
        log::warn!("{message}");
        out.warnings.push(message);
    }

    /// Encoded properties of an instance, minus the ones its file carries.
    fn properties(&self, instance: &Instance, skip: &[&str]) -> BTreeMap<String, Value> {
        let class = instance.class.as_str();
        filter::kept_properties(self.rules, instance)
            .into_iter()
            .filter(|(name, _)| !skip.contains(name))
            .map(|(name, value)| {
                (
                    name.to_string(),
                    properties::encode_property(class, name, value),
                )
            })
            .collect()
    }

    /// Like `properties`, keeping each value for comparison with the project file.
    fn node_properties(
        &self,
        instance: &Instance,
        skip: &[&str],
    ) -> BTreeMap<String, (Value, Variant)> {
        let class = instance.class.as_str();
        filter::kept_properties(self.rules, instance)
            .into_iter()
            .filter(|(name, _)| !skip.contains(name))
            .map(|(name, value)| {
                (
                    name.to_string(),
                    (
                        properties::encode_property(class, name, value),
                        value.clone(),
                    ),
                )
            })
            .collect()
    }

    /// The instance's attributes plus `Rojo_Ref_*` paths for its Ref properties.
    fn attributes(
        &self,
        referent: Ref,
        instance: &Instance,
        out: &mut Emitted,
    ) -> BTreeMap<String, Value> {
        let refs = self.ref_attributes(referent, instance, out);
        let mut map = BTreeMap::new();
        if let Some(Variant::Attributes(attributes)) = instance.properties.get(&"Attributes".into())
        {
            for (name, value) in attributes.iter() {
                let transport =
                    name.starts_with(REF_PATH_PREFIX) || name.starts_with(REF_TARGET_PREFIX);
                if transport && refs.is_some() {
                    continue;
                }
                map.insert(name.clone(), properties::encode_attribute(value));
            }
        }
        for (name, path) in refs.unwrap_or_default() {
            map.insert(name, Value::String(path));
        }
        map
    }

    /// `Rojo_Ref_<Prop>` attributes, or `None` when the instance has no references.
    fn ref_attributes(
        &self,
        referent: Ref,
        instance: &Instance,
        out: &mut Emitted,
    ) -> Option<Vec<(String, String)>> {
        if self.rules.ignore_referents {
            return None;
        }
        let mut refs: Vec<(&str, Ref)> = instance
            .properties
            .iter()
            .filter_map(|(name, value)| match value {
                Variant::Ref(target) if target.is_some() => Some((name.as_str(), *target)),
                _ => None,
            })
            .collect();
        if refs.is_empty() {
            return None;
        }
        refs.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut result = Vec::new();
        for (property, target) in refs {
            if Some(target) == self.layout.camera {
                let class = instance.class.as_str();
                if !(class == "Workspace" && property == "CurrentCamera") {
                    let message = format!(
                        "{}.{property} points at the workspace camera, which is not written \
                         (syncCurrentCamera is off); dropped",
                        self.dom.full_path_of(referent, "/")
                    );
                    self.warn(out, message);
                }
                continue;
            }
            // Not placed: outside the synced tree (a placed instance's ancestors are placed).
            if !self.layout.placements.contains_key(&target)
                && self.dom.get_by_ref(target).is_some()
            {
                let message = format!(
                    "{}.{property} points at {}, which this syncback does not write; kept as a \
                     path of instance names, which resolves once that part of the place is synced",
                    self.dom.full_path_of(referent, "/"),
                    self.dom.full_path_of(target, "/")
                );
                self.warn(out, message);
            }
            match self.ref_path(referent, target) {
                Ok(path) => result.push((format!("{REF_PATH_PREFIX}{property}"), path)),
                Err(None) => {
                    let message = format!(
                        "{}.{property} points at an instance that is not in the place; dropped",
                        self.dom.full_path_of(referent, "/")
                    );
                    self.warn(out, message);
                }
                Err(Some(name)) => {
                    let message = format!(
                        "{}.{property} points at {}, whose path goes through {name:?}: a name \
                         holding '/' cannot be spelled in a reference path; dropped (rename it)",
                        self.dom.full_path_of(referent, "/"),
                        self.dom.full_path_of(target, "/")
                    );
                    self.warn(out, message);
                }
            }
        }
        Some(result)
    }

    /// The `Rojo_Ref_*` path from `source` to `target` that the build resolves. Errors:
    /// `None` when the target is not in the place, `Some(name)` when the path would go
    /// through a name holding `/` (a project node's key), which no path can spell.
    fn ref_path(&self, source: Ref, target: Ref) -> Result<String, Option<String>> {
        if source == target {
            return Ok("@self".to_string());
        }
        self.dom.get_by_ref(target).ok_or(None)?;
        let Some(to) = self.layout.segments(target) else {
            // Outside the synced tree: a path of instance names, which resolves if that
            // part of the place is ever synced.
            let mut names: Vec<&str> = self
                .dom
                .ancestors_of(target)
                .map(|i| i.name.as_str())
                .collect();
            names.pop();
            names.reverse();
            return Ok(format!("@game/{}", joined(&names)?));
        };
        let from = self.layout.segments(source).ok_or(None)?;
        ref_path_between(&from, &to)
    }

    fn meta(
        &self,
        instance: &Instance,
        props: BTreeMap<String, Value>,
        attributes: BTreeMap<String, Value>,
        needs_name: bool,
        class_name: Option<String>,
    ) -> meta::MetaFile {
        meta::MetaFile {
            class_name,
            properties: props,
            attributes,
            name: needs_name.then(|| instance.name.clone()),
            ..Default::default()
        }
    }

    fn instance(&self, referent: Ref, out: &mut Emitted) {
        let Some(placement) = self.layout.placements.get(&referent) else {
            return;
        };
        let Some(instance) = self.dom.get_by_ref(referent) else {
            return;
        };
        let class = instance.class.as_str();
        let needs_name = placement.needs_name;
        match &placement.form {
            Form::Inline | Form::Kept => {}
            Form::Node {
                key_path,
                dir,
                file,
                meta: meta_home,
                class_in_meta,
            } => {
                let skip = carried(&placement.form, class, instance);
                let mut cleared = false;
                // An empty folder needs a `.gitkeep`, unless its meta file keeps it.
                let mut needs_gitkeep = None;
                if let Some((dir_path, init)) = dir {
                    out.dirs.push(dir_path.clone());
                    let wrote_init = self.init_file(dir_path, *init, instance, out);
                    if placement.children.is_empty() && !wrote_init {
                        needs_gitkeep = Some(dir_path);
                    }
                }
                if let Some(file) = file {
                    match file.as_ref() {
                        Form::Model { path, .. } => {
                            cleared = true;
                            let model = self.model(referent, instance, false, true, out);
                            out.files.push(model.write(path.clone()));
                        }
                        Form::Rbxm { path, xml } => {
                            cleared = true;
                            self.rbxm_file(referent, &placement.children, path, *xml, false, out);
                        }
                        Form::Script { path, .. } => out
                            .files
                            .push(FileWrite::new(path.clone(), source_of(instance, "Source"))),
                        Form::Text { path } => out
                            .files
                            .push(FileWrite::new(path.clone(), source_of(instance, "Value"))),
                        Form::Csv { path } => {
                            let contents =
                                csv_format::write_contents(&source_of(instance, "Contents"))
                                    .unwrap_or_default();
                            out.files.push(FileWrite::new(path.clone(), contents));
                        }
                        _ => {}
                    }
                }
                if let (false, Some(meta_path)) = (cleared, meta_home) {
                    cleared = true;
                    let props = self.properties(instance, &skip);
                    let attributes = self.attributes(referent, instance, out);
                    let class_name = class_in_meta.then(|| class.to_string());
                    let meta = self.meta(instance, props, attributes, false, class_name);
                    // As in the project file: what the place cannot say, and a meta file
                    // that says the same, stay as the user wrote them.
                    let wrote_meta = self.push_meta(out, meta_path.clone(), class, meta, true);
                    if wrote_meta
                        && needs_gitkeep.is_some_and(|dir| meta_path.parent() == Some(dir))
                    {
                        needs_gitkeep = None;
                    }
                }
                if let Some(dir_path) = needs_gitkeep {
                    out.files.push(dir::gitkeep(dir_path));
                }
                let (properties, attributes) = if cleared {
                    (BTreeMap::new(), BTreeMap::new())
                } else {
                    (
                        self.node_properties(instance, &skip),
                        self.attributes(referent, instance, out),
                    )
                };
                out.nodes.push(NodeData {
                    key_path: key_path.clone(),
                    class_name: class.to_string(),
                    properties,
                    attributes,
                    cleared,
                });
            }
            Form::Dir {
                dir: dir_path,
                init,
            } => {
                out.dirs.push(dir_path.clone());
                let wrote_init = self.init_file(dir_path, *init, instance, out);
                let skip = carried(&placement.form, class, instance);
                let props = self.properties(instance, &skip);
                let attributes = self.attributes(referent, instance, out);
                let class_name =
                    (*init == Init::None && class != "Folder").then(|| class.to_string());
                let meta = self.meta(instance, props, attributes, needs_name, class_name);
                let wrote_meta = self.push_meta(
                    out,
                    dir_path.join(meta::INIT_META),
                    class,
                    meta,
                    self.layout.incremental,
                );
                if !wrote_meta && placement.children.is_empty() && !wrote_init {
                    out.files.push(dir::gitkeep(dir_path));
                }
            }
            Form::Script { path, .. } | Form::Text { path } | Form::Csv { path } => {
                let contents = match &placement.form {
                    Form::Script { .. } => source_of(instance, "Source"),
                    Form::Text { .. } => source_of(instance, "Value"),
                    _ => csv_format::write_contents(&source_of(instance, "Contents"))
                        .unwrap_or_default(),
                };
                out.files.push(FileWrite::new(path.clone(), contents));
                let skip = carried(&placement.form, class, instance);
                let props = self.properties(instance, &skip);
                let attributes = self.attributes(referent, instance, out);
                let meta = self.meta(instance, props, attributes, needs_name, None);
                self.push_meta(
                    out,
                    adjacent_meta_path(path),
                    class,
                    meta,
                    self.layout.incremental,
                );
            }
            Form::Model { path, inline } => {
                let model = self.model(referent, instance, needs_name, *inline, out);
                out.files.push(model.write(path.clone()));
            }
            Form::Rbxm { path, xml } => {
                self.rbxm_file(referent, &placement.children, path, *xml, needs_name, out);
            }
        }
    }

    /// Writes an instance's meta file at `path` (a `.meta.json5` name); returns whether
    /// one was written. With `keep_existing` (incremental mode, a project node's meta
    /// file) a `.meta.json` the user keeps there is written instead, what it says that the
    /// place cannot stays, and when it still says the same it keeps its text.
    fn push_meta(
        &self,
        out: &mut Emitted,
        mut path: PathBuf,
        class: &str,
        mut meta: meta::MetaFile,
        keep_existing: bool,
    ) -> bool {
        if keep_existing {
            let json = path.with_extension("json");
            if !path.exists() && json.is_file() {
                path = json;
            }
            // A file that became a folder (`Main.server.lua` -> `Main/init.server.lua`)
            // takes the meta file it had (`Main.meta.json`) along as its init meta.
            let moved = (!path.exists()).then(|| moved_meta_source(&path)).flatten();
            if let Some(source) = &moved {
                if source.extension().is_some_and(|e| e == "json") {
                    path = path.with_extension("json");
                }
            }
            let source = moved.as_deref().unwrap_or(&path);
            if let Ok(text) = std::fs::read_to_string(source) {
                if let Ok(old) = meta::parse(&text, source) {
                    // What the place cannot say stays as the user wrote it.
                    meta.schema = old.schema.clone();
                    meta.ignore_unknown_instances = old.ignore_unknown_instances;
                    meta.id = old.id.clone();
                    if !meta.is_empty() && same_meta(class, &old, &meta) {
                        out.files.push(FileWrite::new(path, text));
                        return true;
                    }
                }
            }
        }
        match meta.write(path) {
            Some(file) => {
                out.files.push(file);
                true
            }
            None => false,
        }
    }

    /// Writes a directory's init file; returns whether one was written.
    fn init_file(
        &self,
        dir_path: &Path,
        init: Init,
        instance: &Instance,
        out: &mut Emitted,
    ) -> bool {
        match init {
            Init::None => false,
            Init::Script(kind) => {
                out.files.push(FileWrite::new(
                    dir_path.join(script::init_file_name(kind)),
                    source_of(instance, "Source"),
                ));
                true
            }
            Init::ScriptAt(_, name) => {
                out.files.push(FileWrite::new(
                    dir_path.join(name),
                    source_of(instance, "Source"),
                ));
                true
            }
            Init::Csv => {
                let contents = csv_format::write_contents(&source_of(instance, "Contents"))
                    .unwrap_or_default();
                out.files
                    .push(FileWrite::new(dir_path.join("init.csv"), contents));
                true
            }
        }
    }

    fn model(
        &self,
        referent: Ref,
        instance: &Instance,
        with_name: bool,
        inline: bool,
        out: &mut Emitted,
    ) -> model_json::ModelFile {
        let props = self.properties(instance, &[]);
        let attributes = self.attributes(referent, instance, out);
        let mut children = Vec::new();
        if inline {
            if let Some(placement) = self.layout.placements.get(&referent) {
                for child in &placement.children {
                    if let Some(child_instance) = self.dom.get_by_ref(*child) {
                        children.push(self.model(*child, child_instance, true, true, out));
                    }
                }
            }
        }
        model_json::ModelFile {
            name: with_name.then(|| instance.name.clone()),
            class_name: instance.class.to_string(),
            properties: props,
            attributes,
            children,
        }
    }

    /// The whole subtree in one model file; references leaving it become `Rojo_Ref_*`.
    fn rbxm_file(
        &self,
        referent: Ref,
        children: &[Ref],
        path: &Path,
        xml: bool,
        needs_name: bool,
        out: &mut Emitted,
    ) {
        let mut model = WeakDom::new(InstanceBuilder::new("DataModel"));
        let root = model.root_ref();
        let builder = self.builder_in(referent, referent, Some(children));
        let inserted = model.insert(root, builder);
        let bytes = rbxm::encode(&model, &[inserted], xml).or_else(|err| {
            self.warn(out, format!("{}: {err}; trying XML", path.display()));
            rbxm::encode(&model, &[inserted], true)
        });
        match bytes {
            Ok(bytes) => out.files.push(FileWrite::new(path.to_path_buf(), bytes)),
            Err(err) => {
                let message = format!("{}: {err}", path.display());
                self.warn(out, message);
            }
        }
        if needs_name {
            if let Some(instance) = self.dom.get_by_ref(referent) {
                let meta = meta::MetaFile {
                    name: Some(instance.name.clone()),
                    ..Default::default()
                };
                if let Some(file) = meta.write(adjacent_meta_path(path)) {
                    out.files.push(file);
                }
            }
        }
    }

    fn inside(&self, target: Ref, subtree_root: Ref) -> bool {
        self.dom
            .ancestors_of(target)
            .any(|a| a.referent() == subtree_root)
    }

    fn builder_in(
        &self,
        referent: Ref,
        subtree_root: Ref,
        children: Option<&[Ref]>,
    ) -> InstanceBuilder {
        let instance = self.dom.get_by_ref(referent).expect("placed instance");
        let mut builder = InstanceBuilder::with_property_capacity(
            instance.class.as_str(),
            instance.properties.len(),
        )
        .with_name(instance.name.clone())
        .with_referent(referent);
        let mut outside: Vec<(String, String)> = Vec::new();
        for (name, value) in &instance.properties {
            match value {
                Variant::Ref(target) if target.is_some() && !self.inside(*target, subtree_root) => {
                    if !self.rules.ignore_referents && Some(*target) != self.layout.camera {
                        if let Ok(path) = self.ref_path(referent, *target) {
                            outside.push((format!("{REF_PATH_PREFIX}{name}"), path));
                        }
                    }
                    builder = builder.with_property(*name, Variant::Ref(Ref::none()));
                }
                Variant::Ref(target)
                    if target.is_some() && self.layout.excluded.contains(target) =>
                {
                    builder = builder.with_property(*name, Variant::Ref(Ref::none()));
                }
                other => builder = builder.with_property(*name, other.clone()),
            }
        }
        if !outside.is_empty() {
            let mut attributes = match instance.properties.get(&"Attributes".into()) {
                Some(Variant::Attributes(a)) => a.clone(),
                _ => Attributes::new(),
            };
            for (name, path) in outside {
                attributes.insert(name, Variant::String(path));
            }
            builder = builder.with_property("Attributes", Variant::Attributes(attributes));
        }
        let child_refs: Vec<Ref> = match children {
            Some(children) => children.to_vec(),
            None => instance
                .children()
                .iter()
                .copied()
                .filter(|c| !self.layout.excluded.contains(c))
                .collect(),
        };
        for child in child_refs {
            builder.add_child(self.builder_in(child, subtree_root, None));
        }
        builder
    }
}
