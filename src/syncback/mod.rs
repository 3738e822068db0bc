//! Syncback: an instance tree becomes project files (the write half of Atlas).
//!
//! One code path serves `atlas syncback` and live syncback from Studio: both call [`run`]
//! with a `WeakDom`, and only the origin of that dom differs. Planning is pure (dom +
//! project + what is on disk -> a [`Plan`]); the writer then applies the plan safely
//! (`writer`). See docs/syncback.md for what gets written.

mod emit;
pub(crate) mod filter;
mod layout;
mod naming;
mod old_tree;
mod orphans;
mod paths;
mod progress;
mod rules;
mod writer;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rbx_dom_weak::types::{Ref, Variant};
use rbx_dom_weak::{AHashMap, Instance, WeakDom};

use crate::formats::{self, FileWrite};
use crate::json_value::Value;
use crate::json_writer::to_file_text;
use crate::project::{self, Project, ProjectNode};
use crate::properties;

pub use naming::{needs_slug, slug};
pub use progress::Progress;
pub use writer::{backup_exists, BACKUP_DIR};

/// The services syncback keeps under a DataModel (fs-format.md §4.3).
pub const VISIBLE_SERVICES: [&str; 14] = [
    "Lighting",
    "MaterialService",
    "ReplicatedFirst",
    "ReplicatedStorage",
    "ServerScriptService",
    "ServerStorage",
    "SoundService",
    "StarterGui",
    "StarterPack",
    "StarterPlayer",
    "Teams",
    "TextChatService",
    "VoiceChatService",
    "Workspace",
];

/// Clean rewrites everything below the `$path` roots and removes orphans; incremental
/// keeps the paths and file kinds of matched instances and skips unchanged subtrees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncbackMode {
    #[default]
    Clean,
    Incremental,
}

/// How to run a syncback.
#[derive(Debug, Clone, Default)]
pub struct SyncbackOptions {
    pub mode: SyncbackMode,
    /// Plan only; the report says what would change and nothing is written.
    pub dry_run: bool,
    /// Draw progress on stderr (the CLI sets this when stderr is a terminal).
    pub progress: bool,
    /// Files never to remove, even where clean mode would (the `--input` place file, when
    /// it lies in a synced folder).
    pub keep: Vec<PathBuf>,
    /// The place holds only the visible services, whatever the real place has (a live
    /// syncback): a hidden service the project maps is left as it is.
    pub only_visible_services: bool,
    /// Tests only: fail as if the disk were full after this many files were written, to
    /// prove that a failed write restores the project.
    #[doc(hidden)]
    pub fail_after: Option<usize>,
}

/// What a syncback did (or, for a dry run, would do). Paths are relative to the project
/// folder, sorted.
#[derive(Debug, Clone, Default)]
pub struct SyncbackReport {
    /// Files created or changed.
    pub written: Vec<PathBuf>,
    /// Files whose bytes were already right, and (incremental mode) files of unchanged
    /// subtrees; none of them is touched.
    pub unchanged: Vec<PathBuf>,
    /// Removed files and directories (only the top-most of a removed subtree).
    pub removed: Vec<PathBuf>,
    /// Whether the project file itself was rewritten.
    pub project_rewritten: bool,
    pub duration: Duration,
    pub warnings: Vec<String>,
    /// Instances written (the camera, pruned services and ignored trees excluded).
    pub instances: usize,
    pub dry_run: bool,
    /// Where the backup for `--undo` is (none when nothing changed or for a dry run).
    pub backup: Option<PathBuf>,
    /// The full contents of every file syncback wrote or found already right (absolute
    /// paths, sorted), so a serve session can start without reading them back from disk.
    /// Files of subtrees incremental mode left alone are only listed in `unchanged`.
    pub files: Vec<FileWrite>,
    /// The project as written (with updated `$path` / `$properties`).
    pub project: Option<Project>,
}

impl SyncbackReport {
    /// The one-line summary printed at the end of a run.
    pub fn summary(&self) -> String {
        let verb = if self.dry_run { "Would write" } else { "Wrote" };
        format!(
            "{verb} {} file(s), {} unchanged, {} removed ({} instances) in {:.2?}",
            self.written.len(),
            self.unchanged.len(),
            self.removed.len(),
            self.instances,
            self.duration
        )
    }
}

/// Why a syncback failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncbackError {
    #[error("{0}")]
    Project(String),
    #[error("{}: {message}", shortened(path))]
    Io { path: PathBuf, message: String },
    #[error("writing failed: {message}; {}", if *.restored { "the project was restored from the backup" } else { "restoring failed too: run `atlas syncback --undo`" })]
    WriteFailed { message: String, restored: bool },
    #[error("stopped by Ctrl-C; {}", if *.restored { "the project was put back as it was" } else { "putting it back failed: run `atlas syncback --undo`" })]
    Interrupted { restored: bool },
    #[error("restoring the backup failed: {0}")]
    RestoreFailed(String),
    #[error("nothing to undo: no syncback backup in {}", .0.join(BACKUP_DIR).display())]
    NothingToUndo(PathBuf),
}

/// The computed result of planning: every file and directory, what to remove, and the
/// updated project.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Every file syncback owns, with its contents (absolute paths, sorted).
    pub files: Vec<FileWrite>,
    /// Every directory that must exist below the project folder (sorted).
    pub dirs: Vec<PathBuf>,
    /// Top-most paths to remove.
    pub removals: Vec<PathBuf>,
    pub project: Project,
    pub project_rewritten: bool,
    pub warnings: Vec<String>,
    pub instances: usize,
    /// Files of unchanged subtrees that incremental mode leaves untouched.
    pub kept: Vec<PathBuf>,
    /// What is on disk below the synced directories (from the orphan scan).
    existing: orphans::Existing,
    scanned_roots: Vec<PathBuf>,
}

/// Plans a syncback of `dom` into `project` without writing anything.
pub fn plan(
    project: &Project,
    dom: &WeakDom,
    options: &SyncbackOptions,
) -> Result<Plan, SyncbackError> {
    let mut rules = rules::CompiledRules::new(project)?;
    rules.only_visible_services = options.only_visible_services;
    let mut warnings = Vec::new();
    let needs_old = options.mode == SyncbackMode::Incremental
        || rules.has_ignore_trees()
        || rules.has_ignore_classes();
    let old = if needs_old {
        match old_tree::OldTree::build(project) {
            Ok(old) => Some(old),
            Err(err) => {
                let message =
                    format!("the project could not be read as it is ({err}); writing it fresh");
                log::warn!("{message}");
                warnings.push(message);
                None
            }
        }
    } else {
        None
    };
    let mode = if old.is_none() {
        SyncbackMode::Clean
    } else {
        options.mode
    };
    let timer = Instant::now();
    // Incremental mode: reference holders whose targets' files moved are laid out again
    // as changed, until none is left (each round only adds holders).
    let mut rewritten = paths::RefSet::default();
    let layout = loop {
        let planner = layout::Planner::new(dom, project, &rules, mode, old.as_ref(), &rewritten)?;
        let layout = planner.run();
        let Some(old) = old.as_ref() else {
            break layout;
        };
        let before = rewritten.len();
        rewritten.extend(layout::moved_references(&layout, dom, old, &rules));
        if rewritten.len() == before {
            break layout;
        }
    };
    log::debug!(
        "syncback: layout of {} instances in {:.2?} ({})",
        layout.placements.len(),
        timer.elapsed(),
        crate::memory::resident()
    );
    let timer = Instant::now();
    warnings.extend(layout.warnings.iter().cloned());
    warnings.extend(unknown_class_warnings(dom, &layout));
    let emitted = emit::emit(dom, &layout, &rules);
    log::debug!(
        "syncback: {} files produced in {:.2?} ({})",
        emitted.files.len(),
        timer.elapsed(),
        crate::memory::resident()
    );
    let timer = Instant::now();
    warnings.extend(emitted.warnings.iter().cloned());

    let folder = project.folder().to_path_buf();
    let mut files: Vec<FileWrite> = emitted.files;
    if rules.has_user_ignore_paths() {
        files.retain(|file| !rules.ignores_path(paths::relative(&file.path, &folder)));
    }

    // The project file.
    let mut new_project = project.clone();
    new_project.tree = layout.tree.clone();
    for node in &emitted.nodes {
        apply_node(&mut new_project.tree, node, &rules);
    }
    let project_rewritten = new_project != *project;
    if project_rewritten {
        let text = to_file_text(&project.file_path, &project::to_value(&new_project));
        files.push(FileWrite::new(project.file_path.clone(), text));
    }
    files.sort_by(|a, b| paths::key(&a.path).cmp(paths::key(&b.path)));
    // Two instances written to one file (two project nodes with the same `$path`): the
    // same bytes are written once; different bytes would lose one of them, so nothing is
    // written.
    let conflicts: Vec<String> = files
        .windows(2)
        .filter(|pair| pair[0].path == pair[1].path && pair[0].contents != pair[1].contents)
        .map(|pair| {
            paths::relative(&pair[0].path, project.folder())
                .display()
                .to_string()
        })
        .collect();
    if !conflicts.is_empty() {
        let more = match conflicts.len() {
            n if n > 5 => format!(" and {} more", n - 5),
            _ => String::new(),
        };
        return Err(SyncbackError::Project(format!(
            "two instances of the place would be written to the same file with different contents, so one of them would be lost (two project nodes with one $path?): {}{more}; nothing was written",
            conflicts[..conflicts.len().min(5)].join(", ")
        )));
    }
    files.dedup_by(|later, earlier| later.path == earlier.path);

    // Every directory that must exist (below the project folder).
    let dirs = paths::dirs_to_create(
        emitted.dirs,
        files.iter().filter_map(|f| f.path.parent()),
        &folder,
    );
    log::debug!(
        "syncback: project file and paths in {:.2?}",
        timer.elapsed()
    );
    let timer = Instant::now();

    // Orphans.
    let mut roots = layout.dir_roots.clone();
    paths::sort_dedup(&mut roots);
    // Files the build skips make no instance, so no instance claims them; they are still
    // the user's (tests kept out of the place, vendored files) and must never be orphans.
    // Nor is the project file, whatever path reaches it (`$path: "../"` names it
    // `sub/../sub/default.project.json5`), nor a file the caller keeps (the place read).
    let build_context = formats::Context::default()
        .for_project(project)
        .map_err(|err| SyncbackError::Project(err.to_string()))?;
    let project_file =
        std::fs::canonicalize(&project.file_path).unwrap_or_else(|_| project.file_path.clone());
    let mut kept_files = vec![project_file];
    kept_files.extend(
        options
            .keep
            .iter()
            .map(|path| std::fs::canonicalize(path).unwrap_or_else(|_| path.clone())),
    );
    let leaves_alone = |path: &Path| {
        rules.leaves_alone(&build_context, &folder, path)
            || kept_files.iter().any(|kept| {
                path.file_name() == kept.file_name()
                    && std::fs::canonicalize(path).is_ok_and(|path| path == *kept)
            })
    };
    let existing = orphans::scan(&roots, &leaves_alone);
    if !existing.ignored.is_empty() {
        // A folder holding such a file is not empty in git: it needs no marker.
        let holders = existing.ignored_holders();
        files.retain(|file| {
            file.path.file_name() != Some(std::ffi::OsStr::new(formats::dir::GITKEEP))
                || !file
                    .path
                    .parent()
                    .is_some_and(|dir| holders.contains(paths::key(dir)))
        });
    }
    let mut removals = Vec::new();
    let mut protected = layout.protected.clone();
    protected.insert(project.file_path.clone());
    let written_files: HashSet<&[u8]> = files.iter().map(|f| paths::key(&f.path)).collect();
    if !existing.is_empty() {
        let mut path_targets = HashSet::new();
        collect_targets(&new_project.tree, &folder, &mut path_targets);
        collect_targets(&project.tree, &folder, &mut path_targets);
        let written_dirs: HashSet<&[u8]> = dirs.iter().map(|d| paths::key(d)).collect();
        let candidates = (mode == SyncbackMode::Incremental).then(|| {
            old.as_ref()
                .map(|old| {
                    old.paths_of_subtree(old.root())
                        .into_iter()
                        .filter(|p| !protected.contains(p))
                        .map(|p| paths::key(&p).to_vec())
                        .collect::<HashSet<Vec<u8>>>()
                })
                .unwrap_or_default()
        });
        let keep = orphans::Keep {
            files: &written_files,
            dirs: &written_dirs,
            protected: &protected,
            path_targets: &path_targets,
            candidates: candidates.as_ref(),
        };
        removals = orphans::find(&roots, &existing, &keep);
    }
    let targets_now = collect_targets_vec(&new_project.tree, &folder);
    for replaced in &layout.replaced {
        let written = written_files.contains(paths::key(replaced));
        if replaced.exists()
            && !written
            && !removals.contains(replaced)
            && !targets_now.contains(replaced)
        {
            removals.push(replaced.clone());
        }
    }
    paths::sort_dedup(&mut removals);
    // A path inside a removed folder goes with it (a renamed folder is removed whole).
    let removed: HashSet<PathBuf> = removals.iter().cloned().collect();
    removals.retain(|path| !path.ancestors().skip(1).any(|a| removed.contains(a)));
    log::debug!(
        "syncback: orphan scan in {:.2?} ({})",
        timer.elapsed(),
        crate::memory::resident()
    );

    Ok(Plan {
        files,
        dirs,
        removals,
        project: new_project,
        project_rewritten,
        warnings,
        instances: layout.placements.len(),
        kept: {
            let mut kept = layout.kept.clone();
            paths::sort_dedup(&mut kept);
            kept
        },
        existing,
        scanned_roots: roots,
    })
}

fn collect_targets(node: &ProjectNode, folder: &Path, out: &mut HashSet<PathBuf>) {
    if let Some(path) = &node.path {
        out.insert(folder.join(path.path()));
    }
    for child in node.children.values() {
        collect_targets(child, folder, out);
    }
}

fn collect_targets_vec(node: &ProjectNode, folder: &Path) -> HashSet<PathBuf> {
    let mut out = HashSet::new();
    collect_targets(node, folder, &mut out);
    out
}

/// Puts a node's properties and attributes into the project tree, keeping the existing
/// text of values that decode to exactly the same thing (no churn).
fn apply_node(tree: &mut ProjectNode, data: &emit::NodeData, rules: &rules::CompiledRules) {
    let mut node = tree;
    for key in &data.key_path {
        match node.children.get_mut(key) {
            Some(child) => node = child,
            None => return,
        }
    }
    if data.cleared {
        node.properties.clear();
        node.attributes.clear();
        return;
    }
    let class = data.class_name.as_str();
    let mut new_properties = BTreeMap::new();
    for (name, (value, variant)) in &data.properties {
        // The text already there stays when it says the same, also under another name
        // the place holds it as (`BrickColor: 21` for the place's `Color`).
        let says_same = |old_name: &str, old: &Value| {
            properties::decode_property(class, old_name, old).is_ok_and(|decoded| {
                if old_name == name && filter::identical(&decoded, variant) {
                    return true;
                }
                properties::saved::saved_property(class, old_name, &decoded).is_some_and(
                    |(saved_name, saved)| saved_name == name && filter::identical(&saved, variant),
                )
            })
        };
        let kept = node
            .properties
            .get_key_value(name)
            .filter(|(old_name, old)| says_same(old_name, old))
            .or_else(|| {
                node.properties
                    .iter()
                    .find(|(old_name, old)| *old_name != name && says_same(old_name, old))
            });
        match kept {
            Some((old_name, old)) => new_properties.insert(old_name.clone(), old.clone()),
            None => new_properties.insert(name.clone(), value.clone()),
        };
    }
    // A value written out although it is the default builds the same as no value: it
    // stays, so the project file is not rewritten (and does not lose its comments) for it.
    // So does a value the rules tell syncback to ignore, and a service's value place files
    // do not keep (Workspace.FilteringEnabled): the place cannot say it changed. Only a
    // service's: elsewhere such a property may mirror one the place does carry (a Part's
    // Position is its CFrame's), and a stale copy would undo the change.
    for (name, old) in &node.properties {
        let is_default = filter::default_value(&data.class_name, name).is_some_and(|default| {
            properties::decode_property(&data.class_name, name, old)
                .is_ok_and(|decoded| filter::identical(&decoded, default))
        });
        let unknowable = match filter::never_written(rules, &data.class_name, name) {
            Some(filter::Skip::Ignored) => true,
            Some(_) => filter::is_service(&data.class_name),
            None => false,
        };
        if (is_default || unknowable) && !new_properties.contains_key(name) {
            new_properties.insert(name.clone(), old.clone());
        }
    }
    node.properties = new_properties;
    let mut new_attributes = BTreeMap::new();
    for (name, value) in &data.attributes {
        let kept = node.attributes.get(name).filter(|old| {
            let a = properties::decode_attribute(name, old);
            let b = properties::decode_attribute(name, value);
            matches!((a, b), (Ok(a), Ok(b)) if filter::identical(&a, &b))
        });
        new_attributes.insert(name.clone(), kept.cloned().unwrap_or_else(|| value.clone()));
    }
    node.attributes = new_attributes;
}

/// One warning per class that the reflection database does not know: such instances are
/// still written (their values in explicit form, so they build back), but a user should
/// know their defaults could not be checked.
fn unknown_class_warnings(dom: &WeakDom, layout: &layout::Layout) -> Vec<String> {
    let placed = layout.order.iter().filter_map(|r| dom.get_by_ref(*r));
    properties::unknown_classes(placed)
        .into_iter()
        .map(|(class, (count, _))| {
            let message = format!(
                "class {class} ({count} instance{}) is not in the reflection database; \
                 every property written in explicit form, since its defaults are unknown",
                if count == 1 { "" } else { "s" }
            );
            log::warn!("{message}");
            message
        })
        .collect()
}

/// Runs a syncback: plans, then (unless `dry_run`) writes safely. The dom may come from a
/// place file or from Studio; its root is a DataModel (place) or the model's root.
pub fn run(
    project: &Project,
    mut dom: WeakDom,
    options: &SyncbackOptions,
) -> Result<SyncbackReport, SyncbackError> {
    let started = Instant::now();
    compact(&mut dom);
    let plan = {
        let progress = Progress::new(options.progress);
        progress.stage("Planning", 0);
        plan(project, &dom, options)?
    };
    // Freeing 100k instances takes a while; let it overlap with writing.
    std::thread::spawn(move || drop(dom));
    execute(project.folder(), plan, options, started)
}

/// Applies a plan made by [`plan`] (or only classifies it for a dry run) and reports.
pub fn execute(
    folder: &Path,
    plan: Plan,
    options: &SyncbackOptions,
    started: Instant,
) -> Result<SyncbackReport, SyncbackError> {
    let progress = Progress::new(options.progress);
    let timer = Instant::now();
    let classified = writer::classify(&plan.files, &plan.dirs, &plan.existing, &plan.scanned_roots);
    log::debug!(
        "syncback: compared with the disk in {:.2?}",
        timer.elapsed()
    );
    let timer = Instant::now();
    let mut backup = None;
    if !options.dry_run {
        let written = writer::apply(
            folder,
            &plan.files,
            &classified,
            &plan.removals,
            &progress,
            options.fail_after,
        )?;
        backup = written.backup;
    }
    progress.finish();
    log::debug!(
        "syncback: written in {:.2?} ({})",
        timer.elapsed(),
        crate::memory::resident()
    );
    let rel = |indices: &[usize]| -> Vec<PathBuf> {
        indices
            .iter()
            .map(|i| paths::relative(&plan.files[*i].path, folder).to_path_buf())
            .collect()
    };
    let mut written = rel(&classified.created);
    written.extend(rel(&classified.overwritten));
    paths::sort_dedup(&mut written);
    let mut unchanged = rel(&classified.unchanged);
    unchanged.extend(
        plan.kept
            .iter()
            .map(|p| paths::relative(p, folder).to_path_buf()),
    );
    paths::sort_dedup(&mut unchanged);
    let removed = plan
        .removals
        .iter()
        .map(|p| paths::relative(p, folder).to_path_buf())
        .collect();
    Ok(SyncbackReport {
        written,
        unchanged,
        removed,
        project_rewritten: plan.project_rewritten,
        duration: started.elapsed(),
        warnings: plan.warnings,
        instances: plan.instances,
        dry_run: options.dry_run,
        backup,
        files: plan.files,
        project: Some(plan.project),
    })
}

/// A path for a message: whole up to 300 bytes, else its start and end around "...", so
/// an error about a path thousands of bytes deep stays readable.
fn shortened(path: &Path) -> String {
    const KEEP: usize = 140;
    let text = path.display().to_string();
    if text.len() <= 2 * KEEP + 20 {
        return text;
    }
    let start = (0..=KEEP)
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0);
    let end = (text.len() - KEEP..text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    format!("{}...{}", &text[..start], &text[end..])
}

/// Whether an input fits the project: a place goes into a place project (root
/// `$className: "DataModel"`), a model into any other. The other way round, the project's
/// root would be replaced by the input's (its services by a model, or a model by a
/// DataModel), which is never what was meant.
pub fn check_input_fits(project: &Project, input_is_place: bool) -> Result<(), String> {
    let root_class = project.tree.class_name.as_deref();
    let place_project = root_class == Some("DataModel");
    // A root read from another project file (`$path: "game.project.json5"`) may be a place.
    let root_from_project = root_class.is_none()
        && project
            .tree
            .path
            .as_ref()
            .is_some_and(|path| project::is_project_file_name(&path.path().to_string_lossy()));
    if root_from_project {
        return Ok(());
    }
    match (input_is_place, place_project) {
        (true, false) => Err(format!(
            "{} builds a model (its root is {}), but the input is a place; give a model file (.rbxm, .rbxmx), or a project whose root has $className \"DataModel\"",
            project.file_path.display(),
            root_class.map_or_else(|| "read from its $path".to_string(), |c| format!("a {c}"))
        )),
        (false, true) => Err(format!(
            "{} builds a place (its root is a DataModel), but the input is a model; give a place file (.rbxl, .rbxlx)",
            project.file_path.display()
        )),
        _ => Ok(()),
    }
}

/// Releases the spare capacity of every instance's property map. Decoders size those
/// maps for every property a class could have; after this a large place takes a fraction
/// of the memory, so planning never needs more than decoding did.
pub fn compact(dom: &mut WeakDom) {
    let referents: Vec<_> = dom.descendants().map(|i| i.referent()).collect();
    for referent in referents {
        if let Some(instance) = dom.get_by_ref_mut(referent) {
            instance.properties.shrink_to_fit();
        }
    }
}

/// Restores the project in `folder` as it was before the last syncback; files edited
/// since it wrote them are copied aside first (see [`writer::restore`]).
pub fn undo(folder: &Path) -> Result<writer::Restored, SyncbackError> {
    writer::restore(folder, true)
}

/// Turns a model file's dom into the tree syncback expects: one top-level instance
/// becomes the root; several become the children of a Folder root named `name`. Nothing
/// is moved instance by instance: moving each child of a big folder scans that folder's
/// children every time (quadratic; seconds for a model of 100k loose parts).
pub fn model_root(mut dom: WeakDom, name: &str) -> WeakDom {
    let roots = dom.root().children().to_vec();
    if let [only] = roots[..] {
        dom.transfer_within(only, Ref::none());
        let (old_root, mut instances) = dom.into_raw();
        instances.remove(&old_root);
        return dom_from_parts(only, instances);
    }
    let root = dom.root_mut();
    root.class = "Folder".into();
    root.name = name.to_string();
    root.properties.clear();
    dom
}

/// `WeakDom::from_raw`, which panics on a `UniqueId` property that holds another type
/// (a hand-written XML file can): such a property is dropped first, with a warning.
fn dom_from_parts(root: Ref, mut instances: AHashMap<Ref, Instance>) -> WeakDom {
    let key = "UniqueId".into();
    for instance in instances.values_mut() {
        if let Some(value) = instance.properties.get(&key) {
            if !matches!(value, Variant::UniqueId(_)) {
                log::warn!(
                    "{}: dropping its UniqueId property, which holds a {:?} instead of a UniqueId",
                    instance.name,
                    value.ty()
                );
                instance.properties.remove(&key);
            }
        }
    }
    WeakDom::from_raw(root, instances)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rbx_dom_weak::InstanceBuilder;

    fn names(dom: &WeakDom, parent: Ref) -> Vec<String> {
        let instance = dom.get_by_ref(parent).unwrap();
        instance
            .children()
            .iter()
            .map(|r| dom.get_by_ref(*r).unwrap().name.clone())
            .collect()
    }

    #[test]
    fn long_paths_are_shortened_in_messages() {
        let short = Path::new("/p/src/A.luau");
        assert_eq!(shortened(short), "/p/src/A.luau");
        let deep: PathBuf = std::iter::repeat_n("é".repeat(40), 40).collect();
        let text = shortened(&deep);
        assert!(text.len() < 320, "{}", text.len());
        assert!(text.contains("..."));
        let error = SyncbackError::Io {
            path: deep,
            message: "File name too long".to_string(),
        };
        assert!(error.to_string().ends_with(": File name too long"));
    }

    #[test]
    fn inputs_fit_the_projects_root() {
        let dir = tempfile::tempdir().unwrap();
        let project_with = |tree: &str| {
            std::fs::write(
                dir.path().join("default.project.json5"),
                format!("{{ name: \"p\", tree: {tree} }}"),
            )
            .unwrap();
            project::load(dir.path()).unwrap()
        };
        let place = project_with("{ $className: \"DataModel\" }");
        assert!(check_input_fits(&place, true).is_ok());
        assert!(check_input_fits(&place, false)
            .unwrap_err()
            .contains("builds a place"));
        let model = project_with("{ $className: \"Folder\" }");
        assert!(check_input_fits(&model, false).is_ok());
        assert!(check_input_fits(&model, true)
            .unwrap_err()
            .contains("builds a model"));
        // A root read from another project file may be either: left to that file.
        let nested = project_with("{ $path: \"game.project.json5\" }");
        assert!(check_input_fits(&nested, true).is_ok());
        assert!(check_input_fits(&nested, false).is_ok());
    }

    #[test]
    fn one_top_level_instance_becomes_the_root_with_its_subtree() {
        let mut model = InstanceBuilder::new("Model").with_name("Map");
        for index in 0..3000 {
            let mut part = InstanceBuilder::new("Part").with_name(format!("P{index}"));
            part.add_child(InstanceBuilder::new("Decal").with_name("Face"));
            model.add_child(part);
        }
        let model_ref = model.referent();
        let mut file = WeakDom::new(InstanceBuilder::new("DataModel"));
        let file_root = file.root_ref();
        file.insert(file_root, model);

        let dom = model_root(file, "Ignored");
        assert_eq!(dom.root_ref(), model_ref);
        assert_eq!(dom.root().name, "Map");
        assert_eq!(dom.root().parent(), Ref::none());
        let expected: Vec<String> = (0..3000).map(|i| format!("P{i}")).collect();
        assert_eq!(names(&dom, model_ref), expected);
        assert_eq!(dom.descendants().count(), 1 + 3000 * 2);
    }

    #[test]
    fn several_top_level_instances_go_into_a_named_folder() {
        let mut file = WeakDom::new(InstanceBuilder::new("DataModel"));
        let file_root = file.root_ref();
        for name in ["B", "A", "C"] {
            file.insert(file_root, InstanceBuilder::new("Part").with_name(name));
        }
        let dom = model_root(file, "Loose");
        assert_eq!(dom.root().class, "Folder");
        assert_eq!(dom.root().name, "Loose");
        assert!(dom.root().properties.is_empty());
        assert_eq!(names(&dom, dom.root_ref()), ["B", "A", "C"]);
    }

    #[test]
    fn a_unique_id_of_another_type_is_dropped_not_a_panic() {
        let mut file = WeakDom::new(InstanceBuilder::new("DataModel"));
        let file_root = file.root_ref();
        file.insert(
            file_root,
            InstanceBuilder::new("Part")
                .with_name("Odd")
                .with_property("UniqueId", "not an id")
                .with_property("Anchored", true),
        );
        let dom = model_root(file, "Model");
        assert_eq!(dom.root().name, "Odd");
        assert!(!dom.root().properties.contains_key(&"UniqueId".into()));
        assert!(dom.root().properties.contains_key(&"Anchored".into()));
    }
}
