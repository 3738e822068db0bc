//! Script files: `.luau` with a suffix naming the script kind (DESIGN.md decision 2),
//! and `.lua` with Rojo's meanings.

use std::path::Path;

use rbx_dom_weak::types::{Enum, Variant};

use super::SnapshotError;
use crate::snapshot::{FileKind, InstanceSnapshot, InstigatingSource};
use crate::vfs::Vfs;

/// What kind of script a file makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScriptKind {
    /// `Script` with RunContext Server.
    Server,
    /// `Script` with RunContext Client.
    Client,
    /// `Script` with RunContext Plugin.
    Plugin,
    /// `Script` with RunContext Legacy.
    Legacy,
    /// `LocalScript`.
    Local,
    /// `ModuleScript`.
    Module,
}

impl ScriptKind {
    /// The class this kind makes.
    pub fn class_name(self) -> &'static str {
        match self {
            ScriptKind::Server | ScriptKind::Client | ScriptKind::Plugin | ScriptKind::Legacy => {
                "Script"
            }
            ScriptKind::Local => "LocalScript",
            ScriptKind::Module => "ModuleScript",
        }
    }

    /// The `RunContext` enum value a `Script` of this kind has.
    pub fn run_context(self) -> Option<u32> {
        match self {
            ScriptKind::Legacy => Some(0),
            ScriptKind::Server => Some(1),
            ScriptKind::Client => Some(2),
            ScriptKind::Plugin => Some(3),
            ScriptKind::Local | ScriptKind::Module => None,
        }
    }

    /// The `.luau` file suffix syncback writes for this kind (`""` for modules).
    pub fn suffix(self) -> &'static str {
        match self {
            ScriptKind::Server => ".server",
            ScriptKind::Client => ".client",
            ScriptKind::Plugin => ".plugin",
            ScriptKind::Legacy => ".legacy",
            ScriptKind::Local => ".local",
            ScriptKind::Module => "",
        }
    }

    /// The kind for an instance of `class` with an optional RunContext value; a missing or
    /// unknown RunContext on a Script means Legacy.
    pub fn for_instance(class: &str, run_context: Option<u32>) -> Option<ScriptKind> {
        match class {
            "ModuleScript" => Some(ScriptKind::Module),
            "LocalScript" => Some(ScriptKind::Local),
            "Script" => Some(match run_context {
                Some(1) => ScriptKind::Server,
                Some(2) => ScriptKind::Client,
                Some(3) => ScriptKind::Plugin,
                _ => ScriptKind::Legacy,
            }),
            _ => None,
        }
    }
}

/// Builds the script instance for a file: `Source` is the file text, byte for byte
/// (no newline normalisation, so syncback round trips exactly).
pub fn snapshot(
    vfs: &Vfs,
    path: &Path,
    name: &str,
    kind: ScriptKind,
) -> Result<InstanceSnapshot, SnapshotError> {
    let source = vfs
        .read_to_string(path)
        .map_err(|e| SnapshotError::io(path, e))?;
    Ok(instance(path, name, kind, source))
}

/// The script instance itself (shared with init-file directories).
pub fn instance(path: &Path, name: &str, kind: ScriptKind, source: String) -> InstanceSnapshot {
    let mut snapshot = InstanceSnapshot::new(kind.class_name(), name)
        .with_property("Source", Variant::String(source));
    if let Some(run_context) = kind.run_context() {
        snapshot.properties.insert(
            "RunContext".into(),
            Variant::Enum(Enum::from_u32(run_context)),
        );
    }
    snapshot.metadata.instigating_source = Some(InstigatingSource::Path(path.to_path_buf()));
    snapshot.metadata.relevant_paths.push(path.to_path_buf());
    snapshot.metadata.kind = Some(FileKind::Script);
    snapshot
}

/// The file name syncback writes for a script of `kind` whose file base is `base`
/// (`Foo` + Server -> `Foo.server.luau`).
pub fn file_name(base: &str, kind: ScriptKind) -> String {
    format!("{base}{}.luau", kind.suffix())
}

/// The init file that makes a directory a script of `kind` (`init.server.luau`).
pub fn init_file_name(kind: ScriptKind) -> String {
    format!("init{}.luau", kind.suffix())
}

/// A script file: `Source` byte for byte (the build does not normalise newlines either).
pub fn write(path: impl Into<std::path::PathBuf>, source: &str) -> super::FileWrite {
    super::FileWrite::new(path, source.as_bytes())
}
