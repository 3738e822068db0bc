//! Phase one for plain instances (everything below a `$path` directory): file kinds,
//! names, duplicates, and incremental mode's reuse of existing files.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use rbx_dom_weak::types::Ref;
use rbx_dom_weak::Instance;

use super::{
    csv_exact, file_name, form_path, relative_to, script_kind, string_prop, Form, Init, Kind,
    Placement, Planner, DIR_CLASSES,
};
use crate::formats::{self, script, FileRule, ScriptKind};
use crate::syncback::filter;
use crate::syncback::naming::{self, Namespace};
use crate::syncback::old_tree::{OldForm, OldTree, Sameness};
use crate::syncback::SyncbackMode;

/// A renamed instance's files at their new place: its new entry name, the files to copy
/// (from, to) and the folders to create.
struct RenamedFiles {
    entry: String,
    copies: Vec<(PathBuf, PathBuf)>,
    folders: Vec<PathBuf>,
    /// The old folder, removed (into the backup) once everything in it is copied.
    old_folder: Option<PathBuf>,
}

/// What incremental mode does with an instance matched to an old one.
pub(super) enum Reuse {
    /// The subtree is unchanged: its files stay exactly as they are.
    Unchanged,
    /// Changed, but its old file name and kind still fit.
    OldForm(Form),
    /// Laid out as in clean mode; the old files become orphans.
    Fresh,
}

impl Planner<'_> {
    /// A fresh `$path` directory for a project node that needs one: `src/<keys…>`, or
    /// `<keys…>` in the project folder when that would overlap another node's `$path`
    /// (`src` is often ReplicatedStorage's folder, which would read it as a child), with
    /// `~N` when taken. Only the node's own ancestors in the project may hold it.
    pub(super) fn new_node_dir(&self, key_path: &[String]) -> PathBuf {
        let folder = self.project.folder();
        let mut ancestors = Vec::new();
        let mut node = Some(&self.layout.tree);
        for key in key_path {
            let Some(current) = node else { break };
            ancestors.extend(current.path.as_ref().map(|p| folder.join(p.path())));
            node = current.children.get(key);
        }
        let overlaps = |candidate: &Path| {
            self.path_targets
                .iter()
                .filter(|target| !ancestors.contains(target))
                .any(|target| candidate.starts_with(target) || target.starts_with(candidate))
        };
        let keys: PathBuf = key_path.iter().map(|key| naming::slug(key)).collect();
        // A folder already there is the user's (a node's own folder is a `$path` target).
        let taken = |candidate: &Path| candidate.exists() || self.path_targets.contains(candidate);
        let numbered = |base: &Path, n: usize| match n {
            1 => folder.join(base),
            n => folder.join(format!("{}~{n}", base.display())),
        };
        for base in [Path::new("src").join(&keys), keys.clone()] {
            for n in 1..=100 {
                let candidate = numbered(&base, n);
                if !taken(&candidate) && !overlaps(&candidate) {
                    return candidate;
                }
            }
        }
        // Every candidate overlaps (a node reads the whole project folder): the first
        // free one, as before.
        let base = Path::new("src").join(&keys);
        (1..)
            .map(|n| numbered(&base, n))
            .find(|candidate| !taken(candidate))
            .expect("some ~N is free")
    }

    /// The form an existing (or wanted) `$path` target gives the node's instance, or `None`
    /// when that kind of file cannot carry it (the caller relocates it).
    pub(super) fn node_target_form(
        &self,
        instance: &Instance,
        target: &Path,
        has_children: bool,
    ) -> Option<Form> {
        let name = file_name(target);
        let is_dir = target.is_dir();
        let rule = if is_dir {
            None
        } else {
            self.ctx.rule_for(target, &name).map(|(rule, _)| rule)
        };
        if is_dir || (!target.exists() && rule.is_none()) {
            // A nested project is left as it is; the project being synced, found in its
            // own folder (`$path: "."`), is not nested.
            if is_dir
                && formats::INIT_FILES.iter().any(|(init, rule)| {
                    let init = target.join(init);
                    *rule == FileRule::Project && init.is_file() && !self.ctx.is_being_read(&init)
                })
            {
                return Some(Form::Kept);
            }
            // A project node keeps its own init file when it still reads as the same kind.
            return Some(Form::Dir {
                dir: target.to_path_buf(),
                init: existing_init(target, self.init_for(instance)),
            });
        }
        let path = target.to_path_buf();
        match rule? {
            FileRule::Script(kind) => (!has_children
                && script_kind(instance) == Some(kind)
                && string_prop(instance, "Source").is_some())
            .then_some(Form::Script { path, kind }),
            FileRule::Text => (!has_children
                && instance.class == "StringValue"
                && string_prop(instance, "Value").is_some())
            .then_some(Form::Text { path }),
            FileRule::Csv => (!has_children && csv_exact(instance)).then_some(Form::Csv { path }),
            FileRule::JsonModel => Some(Form::Model { path, inline: true }),
            FileRule::Rbxm => Some(Form::Rbxm { path, xml: false }),
            FileRule::Rbxmx if self.xml_can_hold(instance) => Some(Form::Rbxm { path, xml: true }),
            FileRule::Project => Some(Form::Kept),
            FileRule::Rbxmx
            | FileRule::JsonModule
            | FileRule::TomlModule
            | FileRule::YamlModule
            | FileRule::Ignore => None,
        }
    }

    /// A new `$path` target next to `target` that fits the instance.
    pub(super) fn relocated_form(
        &self,
        instance: &Instance,
        target: &Path,
        has_children: bool,
    ) -> Form {
        let parent = target.parent().unwrap_or(Path::new("")).to_path_buf();
        let name = file_name(target);
        let base = crate::formats::meta::meta_base(&name).to_string();
        let base = base
            .strip_suffix(".model")
            .or_else(|| base.strip_suffix(".project"))
            .unwrap_or(&base)
            .to_string();
        match self.kind_for(instance, has_children) {
            Kind::Dir(init) => Form::Dir {
                dir: parent.join(base),
                init,
            },
            Kind::Script(kind) => Form::Script {
                path: parent.join(script::file_name(&base, kind)),
                kind,
            },
            Kind::Text => Form::Text {
                path: parent.join(format!("{base}.txt")),
            },
            Kind::Csv => Form::Csv {
                path: parent.join(format!("{base}.csv")),
            },
            Kind::Model => Form::Model {
                path: parent.join(format!("{base}.model.json5")),
                inline: false,
            },
            Kind::Rbxm => Form::Rbxm {
                path: parent.join(format!("{base}.rbxm")),
                xml: false,
            },
        }
    }

    pub(super) fn init_for(&self, instance: &Instance) -> Init {
        if let Some(kind) = script_kind(instance) {
            if string_prop(instance, "Source").is_some()
                || !instance.properties.contains_key(&"Source".into())
            {
                return Init::Script(kind);
            }
        }
        if csv_exact(instance) {
            return Init::Csv;
        }
        Init::None
    }

    /// The file kind for a plain instance (fs-format.md §4.4, Atlas rules).
    pub(super) fn kind_for(&self, instance: &Instance, has_children: bool) -> Kind {
        if !filter::instance_encodable(instance) {
            return Kind::Rbxm;
        }
        let class = instance.class.as_str();
        if DIR_CLASSES.contains(&class) {
            return Kind::Dir(Init::None);
        }
        if let Some(kind) = script_kind(instance) {
            return if has_children {
                Kind::Dir(Init::Script(kind))
            } else {
                Kind::Script(kind)
            };
        }
        if class == "StringValue" && !has_children && string_prop(instance, "Value").is_some() {
            return Kind::Text;
        }
        if csv_exact(instance) {
            return if has_children {
                Kind::Dir(Init::Csv)
            } else {
                Kind::Csv
            };
        }
        if has_children {
            Kind::Dir(Init::None)
        } else {
            Kind::Model
        }
    }

    /// A namespace for `dir` with protected existing entries already taken.
    pub(super) fn namespace_for(&self, dir: &Path) -> Namespace {
        let mut ns = Namespace::new();
        if let Some(names) = self.reserved.get(dir) {
            for name in names {
                ns.reserve(name);
            }
        }
        for target in &self.path_targets {
            if target.parent() == Some(dir) {
                ns.reserve(&file_name(target));
            }
        }
        ns
    }

    /// Plain children written into a directory: sorted by name (stable), then named.
    pub(super) fn layout_dir_children(
        &mut self,
        parent: Ref,
        dir: &Path,
        mut children: Vec<Ref>,
        mut ns: Namespace,
    ) {
        let dom = self.dom;
        children.sort_by(|a, b| {
            let an = dom.get_by_ref(*a).map(|i| i.name.as_str()).unwrap_or("");
            let bn = dom.get_by_ref(*b).map(|i| i.name.as_str()).unwrap_or("");
            an.cmp(bn)
        });
        if self.rules.warn_duplicate_names {
            let mut seen: HashSet<String> = HashSet::new();
            for child in &children {
                if let Some(instance) = dom.get_by_ref(*child) {
                    if !seen.insert(instance.name.to_lowercase()) {
                        let message = format!(
                            "duplicate name {:?} under {}",
                            instance.name,
                            dom.full_path_of(parent, "/")
                        );
                        self.warn(message);
                    }
                }
            }
        }
        let old_children = match (self.old, self.old_map.get(&parent)) {
            (Some(old), Some(old_parent)) => old.children(*old_parent),
            _ => Vec::new(),
        };
        let mut reuse = HashMap::new();
        // Old children no new child is paired with by name: a renamed one is among them.
        let mut unpaired: Vec<Ref> = Vec::new();
        if let (Some(old), SyncbackMode::Incremental) = (self.old, self.mode) {
            // Decide first which old files stay, so only their names are taken: an old
            // file that is replaced (say a `.json5` data module now written as `.luau`)
            // leaves its name, and its meta file's, free for its own instance.
            let mut staying = HashSet::new();
            let (matches, unchanged) =
                old.match_children_unchanged_first(dom, &children, &old_children, self.sameness());
            let paired: HashSet<Ref> = matches.values().copied().collect();
            unpaired = old_children
                .iter()
                .copied()
                .filter(|old_child| !paired.contains(old_child))
                .collect();
            for (child, old_child) in matches {
                let decision = self.reuse_of(child, old_child, unchanged.contains(&child));
                if !matches!(decision, Reuse::Fresh) {
                    staying.insert(old_child);
                }
                reuse.insert(child, (old_child, decision));
            }
            for old_child in old_children.iter().filter(|c| staying.contains(*c)) {
                if let Some(name) = old.fs_name(*old_child) {
                    // Its meta file too: a new sibling must not share it.
                    if matches!(old.form(*old_child), Some(OldForm::File(..))) {
                        ns.reserve(&format!("{}.meta.json5", formats::meta::meta_base(&name)));
                    }
                    ns.keep(&name);
                }
            }
        }
        for child in children {
            if let Some(entry) = self.hidden_entry_for(child, dir) {
                self.keep_hidden(child, parent, &entry, &mut ns);
                continue;
            }
            let matched = reuse.remove(&child);
            if let Some((old_child, _)) = &matched {
                self.old_map.insert(child, *old_child);
            }
            if matched.is_none() && self.moves_renamed(child, parent, dir, &mut ns, &mut unpaired) {
                continue;
            }
            self.layout_plain(child, parent, dir, &mut ns, matched);
        }
    }

    /// Incremental mode: a child renamed in Studio, whose subtree is otherwise unchanged,
    /// keeps its files byte for byte under its new name (`Models/` -> `Props/`, with every
    /// file inside as it was), instead of being written afresh. Only a plain rename of a
    /// folder or a file whose names need no recorded name qualifies; anything else is
    /// laid out as new. Returns whether the child was placed.
    fn moves_renamed(
        &mut self,
        child: Ref,
        parent: Ref,
        dir: &Path,
        ns: &mut Namespace,
        unpaired: &mut Vec<Ref>,
    ) -> bool {
        /// Old siblings compared per renamed child, at most (a flat folder of thousands
        /// of new names must not compare each with each).
        const SEARCHED: usize = 16;
        let Some(old) = self.old else {
            return false;
        };
        let Some(instance) = self.dom.get_by_ref(child) else {
            return false;
        };
        if naming::needs_slug(&instance.name) {
            return false;
        }
        let sameness = self.sameness();
        let Some(index) = unpaired.iter().take(SEARCHED).position(|old_child| {
            !old.has_name_override(*old_child)
                && old.unchanged_but_name(self.dom, child, *old_child, sameness)
        }) else {
            return false;
        };
        let old_child = unpaired[index];
        let Some(moves) = self.renamed_files(old, old_child, &instance.name, dir, ns) else {
            return false;
        };
        unpaired.remove(index);
        let RenamedFiles {
            entry,
            copies,
            folders,
            old_folder,
        } = moves;
        self.layout.copies.extend(copies);
        self.layout.moved_dirs.extend(folders);
        self.layout.replaced.extend(old_folder);
        self.place_kept(child, Some(parent), entry);
        self.layout.kept_pairs.push((child, old_child));
        for (new_child, old_grandchild) in old.pair_subtree_children(self.dom, child, old_child) {
            self.old_segments(new_child, child, old_grandchild, old);
        }
        true
    }

    /// Where a renamed old child's files go (a folder's whole content, hidden and ignored
    /// files too). `None` when its new name is taken, or its folder holds something that
    /// is neither a file nor a folder (a link).
    fn renamed_files(
        &self,
        old: &OldTree,
        old_child: Ref,
        new_name: &str,
        dir: &Path,
        ns: &mut Namespace,
    ) -> Option<RenamedFiles> {
        let own: HashSet<PathBuf> = old.paths_of_subtree(old_child).into_iter().collect();
        match old.form(old_child)? {
            OldForm::Dir(from) => {
                if ns.is_taken(new_name) || dir.join(new_name).exists() {
                    return None;
                }
                let mut files = Vec::new();
                let mut folders = Vec::new();
                // The whole folder moves, with the files that are not the instance's own
                // (hidden ones, those `globIgnorePaths` keeps out): left behind, they would
                // keep the old folder, and the build would read it as one more instance.
                for entry in walkdir::WalkDir::new(&from).min_depth(1) {
                    let entry = entry.ok()?;
                    let path = entry.path().to_path_buf();
                    if entry.file_type().is_dir() {
                        folders.push(path);
                    } else if entry.file_type().is_file() {
                        files.push(path);
                    } else {
                        return None;
                    }
                }
                let (_, entry) = ns.claim(new_name, &[""]);
                let to = dir.join(&entry);
                let moved = |path: &Path| path.strip_prefix(&from).ok().map(|rest| to.join(rest));
                let copies = files
                    .iter()
                    .map(|path| Some((path.clone(), moved(path)?)))
                    .collect::<Option<Vec<_>>>()?;
                let mut new_folders = vec![to.clone()];
                new_folders.extend(folders.iter().filter_map(|path| moved(path)));
                Some(RenamedFiles {
                    entry,
                    copies,
                    folders: new_folders,
                    old_folder: Some(from),
                })
            }
            OldForm::File(from, _) => {
                let old_name = file_name(&from);
                let old_base = old.fs_name(old_child).map(|name| {
                    formats::builtin_rule(&name)
                        .map(|(_, base)| base)
                        .unwrap_or(name)
                })?;
                let suffix = old_name.strip_prefix(old_base.as_str())?.to_string();
                let meta_from = formats::meta::file_names(&old_base)
                    .into_iter()
                    .map(|name| from.with_file_name(name))
                    .find(|path| own.contains(path));
                let new_file = format!("{new_name}{suffix}");
                if ns.is_taken(&new_file) || dir.join(&new_file).exists() {
                    return None;
                }
                ns.claim_exact(std::slice::from_ref(&new_file));
                let mut copies = vec![(from.clone(), dir.join(&new_file))];
                if let Some(meta_from) = meta_from {
                    let meta_name = file_name(&meta_from);
                    let meta_suffix = meta_name.strip_prefix(old_base.as_str())?;
                    let meta_to = dir.join(format!("{new_name}{meta_suffix}"));
                    ns.claim_exact(&[file_name(&meta_to)]);
                    copies.push((meta_from, meta_to));
                }
                Some(RenamedFiles {
                    entry: new_file,
                    copies,
                    folders: Vec::new(),
                    old_folder: None,
                })
            }
        }
    }

    /// The hidden file or folder in `dir` the build made `child` from (`.vscode/`,
    /// `.secret.luau`). The build reads hidden entries, but syncback never writes or
    /// removes them (they are editor and tool files), and names starting with a dot are
    /// written as slugs: without this, every round trip would add a `_vscode` copy.
    fn hidden_entry_for(&self, child: Ref, dir: &Path) -> Option<PathBuf> {
        let name = self.dom.get_by_ref(child)?.name.as_str();
        // Only a name that is a file name as it stands (not `.`, `..` or `.a/b`).
        let plain = name != "." && name != ".." && !name.contains(['/', '\\']);
        if !name.starts_with('.') || !plain {
            return None;
        }
        let folder = dir.join(name);
        if folder.is_dir() {
            return Some(folder);
        }
        std::fs::read_dir(dir)
            .ok()?
            .flatten()
            .map(|entry| entry.path())
            .find(|path| {
                let file_name = file_name(path);
                file_name.starts_with(name)
                    && path.is_file()
                    && self
                        .ctx
                        .rule_for(path, &file_name)
                        .is_some_and(|(rule, built_name)| {
                            built_name == name
                                && !matches!(rule, FileRule::Project | FileRule::Ignore)
                        })
            })
    }

    /// Leaves a hidden entry, and the instance made from it, as they are.
    fn keep_hidden(&mut self, child: Ref, parent: Ref, entry: &Path, ns: &mut Namespace) {
        let entry_name = file_name(entry);
        ns.keep(&entry_name);
        self.layout.protected.insert(entry.to_path_buf());
        self.warn(format!(
            "{} comes from the hidden {} {}, which syncback leaves as it is",
            self.dom.full_path_of(child, "/"),
            if entry.is_dir() { "folder" } else { "file" },
            entry.display()
        ));
        let segment = self
            .dom
            .get_by_ref(child)
            .map(|i| i.name.clone())
            .unwrap_or_default();
        self.place_kept(child, Some(parent), segment);
    }

    /// Whether `folder` exists and holds a file the project tells syncback to leave alone
    /// (`globIgnorePaths`, `syncbackRules.ignorePaths`).
    fn holds_ignored_files(&self, folder: &Path) -> bool {
        if !self.ctx.has_ignore_rules() && !self.rules.has_user_ignore_paths() {
            return false;
        }
        if !folder.is_dir() {
            return false;
        }
        let project_folder = self.project.folder();
        walkdir::WalkDir::new(folder)
            .min_depth(1)
            .into_iter()
            .flatten()
            .any(|entry| {
                self.rules
                    .leaves_alone(&self.ctx, project_folder, entry.path())
            })
    }

    /// Whether `folder` exists and `instance` has children the rules leave out, whose
    /// files (kept as they are) would be in it.
    fn holds_excluded_children(&self, instance: &Instance, folder: &Path) -> bool {
        instance
            .children()
            .iter()
            .any(|child| self.layout.excluded.contains(child))
            && folder.is_dir()
    }

    /// What [`OldTree::unchanged`] compares with in this layout.
    pub(super) fn sameness(&self) -> Sameness<'_> {
        Sameness {
            rules: self.rules,
            excluded: &self.layout.excluded,
            rewritten: self.rewritten,
        }
    }

    /// What incremental mode does with an instance matched to an old one
    /// (`known_unchanged` when the pairing already compared them).
    fn reuse_of(&self, referent: Ref, old_ref: Ref, known_unchanged: bool) -> Reuse {
        let (Some(old), Some(instance)) = (self.old, self.dom.get_by_ref(referent)) else {
            return Reuse::Fresh;
        };
        let unchanged =
            || known_unchanged || old.unchanged(self.dom, referent, old_ref, self.sameness());
        if old.nested_project_file(old_ref).is_some() {
            return if unchanged() {
                Reuse::Unchanged
            } else {
                Reuse::OldForm(Form::Kept)
            };
        }
        let Some(old_form) = old.form(old_ref) else {
            return Reuse::Fresh;
        };
        if unchanged() {
            return Reuse::Unchanged;
        }
        let has_children = !self.synced_children(instance).is_empty();
        match self.keep_old_form(instance, has_children, &old_form) {
            Some(form) => Reuse::OldForm(form),
            None => Reuse::Fresh,
        }
    }

    /// One instance below a `$path` directory, and its subtree.
    fn layout_plain(
        &mut self,
        referent: Ref,
        parent: Ref,
        dir: &Path,
        ns: &mut Namespace,
        matched: Option<(Ref, Reuse)>,
    ) {
        let dom = self.dom;
        let Some(instance) = dom.get_by_ref(referent) else {
            return;
        };
        let children = self.synced_children(instance);
        let folder = self.project.folder().to_path_buf();

        // Incremental mode: an unchanged subtree keeps its files untouched, a matched
        // instance keeps its file name and kind when they still fit.
        if let (Some(old), Some((old_ref, reuse))) = (self.old, matched) {
            match reuse {
                Reuse::Unchanged | Reuse::OldForm(Form::Kept) => {
                    // A nested project below a `$path` folder: incremental mode leaves it
                    // as it is, as it does one a node's `$path` names.
                    if let (Reuse::OldForm(_), Some(project_file)) =
                        (&reuse, old.nested_project_file(old_ref))
                    {
                        self.warn(format!(
                            "{}: nested project {} is left as it is, although the place \
                             differs from it",
                            self.dom.full_path_of(referent, "/"),
                            project_file
                                .strip_prefix(&folder)
                                .unwrap_or(&project_file)
                                .display()
                        ));
                    }
                    for path in old.paths_of_subtree(old_ref) {
                        if path.is_file() {
                            self.layout.kept.push(path.clone());
                        }
                        self.layout.protected.insert(path);
                    }
                    self.old_segments(referent, parent, old_ref, old);
                    return;
                }
                // A file turned folder (its folder is new) whose name a sibling already
                // holds is laid out anew.
                Reuse::OldForm(form)
                    if !(matches!(form, Form::Dir { .. })
                        && !form_path(&form).exists()
                        && ns.is_taken(&file_name(&form_path(&form)))) =>
                {
                    ns.claim_exact(&[file_name(&form_path(&form))]);
                    let segment = file_name(&form_path(&form));
                    let needs_name = naming::slug(&instance.name)
                        != strip_for_name(&segment, &form)
                        || naming::needs_slug(&instance.name)
                        || old.has_name_override(old_ref);
                    self.finish_plain(referent, parent, segment, form, needs_name, children);
                    return;
                }
                Reuse::OldForm(_) | Reuse::Fresh => {}
            }
        }
        let has_children = !children.is_empty();

        let needs_name = naming::needs_slug(&instance.name);
        let base = naming::slug(&instance.name);
        let mut kind = self.kind_for(instance, has_children);
        if !matches!(kind, Kind::Dir(_))
            && (self.holds_ignored_files(&dir.join(&base))
                || self.holds_excluded_children(instance, &dir.join(&base)))
        {
            // That folder stays (syncback never removes ignored files, nor the files of
            // children `ignoreTrees`/`ignoreClasses` leave alone), so the instance is
            // written into it as its init file: beside it, the build would read both.
            kind = self.kind_for(instance, true);
        }
        let (form, entry) = match kind {
            Kind::Dir(init) => {
                let (_, entry) = ns.claim(&base, &[""]);
                (
                    Form::Dir {
                        dir: dir.join(&entry),
                        init,
                    },
                    entry,
                )
            }
            Kind::Script(kind) => {
                let suffix = format!("{}.luau", kind.suffix());
                let (_, entry) = ns.claim(&base, &[&suffix, ".meta.json5"]);
                (
                    Form::Script {
                        path: dir.join(&entry),
                        kind,
                    },
                    entry,
                )
            }
            Kind::Text => {
                let (_, entry) = ns.claim(&base, &[".txt", ".meta.json5"]);
                (
                    Form::Text {
                        path: dir.join(&entry),
                    },
                    entry,
                )
            }
            Kind::Csv => {
                let (_, entry) = ns.claim(&base, &[".csv", ".meta.json5"]);
                (
                    Form::Csv {
                        path: dir.join(&entry),
                    },
                    entry,
                )
            }
            Kind::Model => {
                let (_, entry) = ns.claim(&base, &[".model.json5"]);
                (
                    Form::Model {
                        path: dir.join(&entry),
                        inline: false,
                    },
                    entry,
                )
            }
            Kind::Rbxm => {
                let (_, entry) = ns.claim(&base, &[".rbxm", ".meta.json5"]);
                let message = format!(
                    "{} ({}) has a value no text file can hold; written as {}",
                    dom.full_path_of(referent, "/"),
                    instance.class,
                    relative_to(&dir.join(&entry), &folder).display()
                );
                self.warn(message);
                (
                    Form::Rbxm {
                        path: dir.join(&entry),
                        xml: false,
                    },
                    entry,
                )
            }
        };
        if self
            .rules
            .ignores_path(&relative_to(&form_path(&form), &folder))
        {
            self.layout.excluded.insert(referent);
            self.layout.protected.insert(form_path(&form));
            return;
        }
        if self.ctx.has_ignore_rules() && self.ctx.is_ignored(&form_path(&form)) {
            // Written there, the build would leave it out (a `Foo.spec` module with
            // `globIgnorePaths: ["**/*.spec.luau"]`): the project keeps such files out of
            // the place, so syncback keeps the instance out of the files.
            self.warn(format!(
                "{} is not written: its file {} matches globIgnorePaths, which keeps it out of the build",
                self.dom.full_path_of(referent, "/"),
                relative_to(&form_path(&form), &folder).display()
            ));
            self.layout.excluded.insert(referent);
            self.layout.protected.insert(form_path(&form));
            return;
        }
        self.finish_plain(referent, parent, entry, form, needs_name, children);
    }

    fn finish_plain(
        &mut self,
        referent: Ref,
        parent: Ref,
        segment: String,
        form: Form,
        needs_name: bool,
        children: Vec<Ref>,
    ) {
        let recurse_dir = match &form {
            Form::Dir { dir, .. } => Some(dir.clone()),
            _ => None,
        };
        let inline = matches!(form, Form::Rbxm { .. } | Form::Model { inline: true, .. });
        self.place(
            referent,
            Placement {
                parent: Some(parent),
                segment,
                form,
                needs_name,
                children: children.clone(),
            },
        );
        if let Some(dir) = recurse_dir {
            let ns = self.namespace_for(&dir);
            self.layout_dir_children(referent, &dir, children, ns);
        } else if inline {
            for child in children {
                self.layout_inline(child, referent);
            }
        }
    }

    /// An instance written inside an ancestor's model or rbxm file.
    pub(super) fn layout_inline(&mut self, referent: Ref, parent: Ref) {
        let Some(instance) = self.dom.get_by_ref(referent) else {
            return;
        };
        let children = self.synced_children(instance);
        self.place(
            referent,
            Placement {
                parent: Some(parent),
                segment: instance.name.clone(),
                form: Form::Inline,
                needs_name: false,
                children: children.clone(),
            },
        );
        for child in children {
            self.layout_inline(child, referent);
        }
    }

    /// Placements for an unchanged subtree (kept files), so references into it resolve.
    pub(super) fn old_segments(&mut self, referent: Ref, parent: Ref, old_ref: Ref, old: &OldTree) {
        let segment = old
            .fs_name(old_ref)
            .or_else(|| self.dom.get_by_ref(referent).map(|i| i.name.clone()))
            .unwrap_or_default();
        self.place_kept(referent, Some(parent), segment);
        self.layout.kept_pairs.push((referent, old_ref));
        let pairs = old.pair_subtree_children(self.dom, referent, old_ref);
        for (new_child, old_child) in pairs {
            self.old_segments(new_child, referent, old_child, old);
        }
    }

    /// Whether an `.rbxmx` file can still hold the subtree: a string with a control
    /// character moves it to a fresh binary file (XML cannot hold one).
    fn xml_can_hold(&self, instance: &Instance) -> bool {
        crate::xml_text::can_hold(self.dom, &[instance.referent()])
    }

    /// In incremental mode, the old file kind of a matched instance when it still fits.
    fn keep_old_form(
        &self,
        instance: &Instance,
        has_children: bool,
        old: &OldForm,
    ) -> Option<Form> {
        let fits = |form: Form| Some(form);
        match old {
            OldForm::Dir(path) => fits(Form::Dir {
                dir: path.clone(),
                init: if DIR_CLASSES.contains(&instance.class.as_str()) {
                    Init::None
                } else {
                    match self.kind_for(instance, true) {
                        Kind::Dir(init) => existing_init(path, init),
                        _ => Init::None,
                    }
                },
            }),
            OldForm::File(path, rule) => {
                if has_children {
                    return match rule {
                        // A script that gains children becomes a folder with the init file
                        // of the same spelling (`Mod.lua` -> `Mod/init.lua`).
                        FileRule::Script(kind)
                            if script_kind(instance) == Some(*kind)
                                && string_prop(instance, "Source").is_some() =>
                        {
                            init_folder_for(path, *kind)
                        }
                        FileRule::Rbxm => fits(Form::Rbxm {
                            path: path.clone(),
                            xml: false,
                        }),
                        FileRule::Rbxmx if self.xml_can_hold(instance) => fits(Form::Rbxm {
                            path: path.clone(),
                            xml: true,
                        }),
                        // A model file holds its children inline (`children: [...]`).
                        FileRule::JsonModel if self.subtree_encodable(instance) => {
                            fits(Form::Model {
                                path: path.clone(),
                                inline: true,
                            })
                        }
                        _ => None,
                    };
                }
                match rule {
                    FileRule::Script(kind) => (script_kind(instance) == Some(*kind)
                        && string_prop(instance, "Source").is_some())
                    .then(|| Form::Script {
                        path: path.clone(),
                        kind: *kind,
                    }),
                    FileRule::Text => (instance.class == "StringValue"
                        && string_prop(instance, "Value").is_some())
                    .then(|| Form::Text { path: path.clone() }),
                    FileRule::Csv => csv_exact(instance).then(|| Form::Csv { path: path.clone() }),
                    FileRule::JsonModel => {
                        filter::instance_encodable(instance).then(|| Form::Model {
                            path: path.clone(),
                            inline: false,
                        })
                    }
                    FileRule::Rbxm => fits(Form::Rbxm {
                        path: path.clone(),
                        xml: false,
                    }),
                    FileRule::Rbxmx if self.xml_can_hold(instance) => fits(Form::Rbxm {
                        path: path.clone(),
                        xml: true,
                    }),
                    _ => None,
                }
            }
        }
    }
}

impl Planner<'_> {
    /// Whether every instance of the subtree (children the rules leave out aside) can be
    /// written as JSON values, as a model file with inline children needs.
    fn subtree_encodable(&self, instance: &Instance) -> bool {
        filter::instance_encodable(instance)
            && self.synced_children(instance).iter().all(|child| {
                self.dom
                    .get_by_ref(*child)
                    .is_some_and(|child| self.subtree_encodable(child))
            })
    }
}

/// The name part a file name gives back on build (for deciding whether a kept file name
/// still matches the instance's name).
fn strip_for_name(segment: &str, form: &Form) -> String {
    let name = match form {
        Form::Dir { .. } => segment.to_string(),
        _ => formats::builtin_rule(segment)
            .map(|(_, name)| name)
            .unwrap_or_else(|| segment.to_string()),
    };
    formats::strip_dedup_suffix(&name).to_string()
}

/// The folder a script file becomes when it gains children, with the init file spelled
/// as the file was (`Mod.server.lua` -> `Mod/init.server.lua`); `None` when there is no
/// such init file, or something is already at that folder's name.
fn init_folder_for(file: &Path, kind: ScriptKind) -> Option<Form> {
    let name = file.file_name()?.to_str()?;
    let (_, base) = formats::builtin_rule(name)?;
    let suffix = &name[base.len()..];
    let (init, _) = formats::INIT_FILES.iter().find(|(init, rule)| {
        *rule == FileRule::Script(kind) && init.strip_prefix("init") == Some(suffix)
    })?;
    let dir = file.with_file_name(&base);
    if std::fs::symlink_metadata(&dir).is_ok() {
        return None;
    }
    Some(Form::Dir {
        dir,
        init: Init::ScriptAt(kind, init),
    })
}

/// `init` for the folder `dir`, naming the init script already there when it reads as the
/// same kind (an `init.lua` stays `init.lua`, an `init.server.lua` is not renamed to
/// `init.legacy.luau`). The first such file in the build's order is the one it reads.
fn existing_init(dir: &Path, init: Init) -> Init {
    let Init::Script(kind) = init else {
        return init;
    };
    formats::INIT_FILES
        .iter()
        .find(|(name, rule)| *rule == FileRule::Script(kind) && dir.join(name).is_file())
        .map_or(init, |(name, _)| Init::ScriptAt(kind, name))
}
