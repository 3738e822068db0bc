//! The snapshot tree and the metadata every instance carries about where it came from.

use std::path::PathBuf;

use rbx_dom_weak::types::{Ref, Variant};
use rbx_dom_weak::UstrMap;

/// One instance read from the file system, with its children.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceSnapshot {
    /// The referent to give the built instance; `Ref::none()` means a fresh one. Set when
    /// Ref properties inside the snapshot point at it (models from `.rbxm`/`.rbxmx`).
    pub snapshot_id: Ref,
    pub name: String,
    pub class_name: String,
    pub properties: UstrMap<Variant>,
    pub children: Vec<InstanceSnapshot>,
    pub metadata: InstanceMetadata,
}

impl InstanceSnapshot {
    pub fn new(class_name: impl Into<String>, name: impl Into<String>) -> Self {
        InstanceSnapshot {
            snapshot_id: Ref::none(),
            name: name.into(),
            class_name: class_name.into(),
            properties: UstrMap::default(),
            children: Vec::new(),
            metadata: InstanceMetadata::default(),
        }
    }

    pub fn with_property(mut self, name: &str, value: impl Into<Variant>) -> Self {
        self.properties.insert(name.into(), value.into());
        self
    }

    pub fn with_children(mut self, children: Vec<InstanceSnapshot>) -> Self {
        self.children = children;
        self
    }

    pub fn with_metadata(mut self, metadata: InstanceMetadata) -> Self {
        self.metadata = metadata;
        self
    }

    /// Number of instances in this subtree, including itself.
    pub fn count(&self) -> usize {
        1 + self
            .children
            .iter()
            .map(InstanceSnapshot::count)
            .sum::<usize>()
    }
}

/// Which file kind produced an instance: syncback's incremental mode keeps it, and serve
/// uses it to know what to re-read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    Directory,
    /// A directory made into a script/LocalizationTable by an `init.*` file.
    InitDirectory,
    Script,
    Text,
    Csv,
    JsonModel,
    /// A data module: a ModuleScript generated from a `.json5`/`.json`, `.toml` or `.yaml` file.
    DataModule,
    BinaryModel,
    XmlModel,
    Project,
    ProjectNode,
}

/// Where an instance came from and how to find it again.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InstanceMetadata {
    /// The file or project node that produced this instance.
    pub instigating_source: Option<InstigatingSource>,
    /// Every path whose change can change this instance (file, meta file, init files).
    pub relevant_paths: Vec<PathBuf>,
    /// The file-system name (`Foo.server.luau`, `Bar/`, or the instance name for project
    /// nodes) that `Rojo_Ref_*` path segments match first.
    pub fs_name: Option<String>,
    /// Live sync leaves unknown Studio children of this instance alone.
    pub ignore_unknown_instances: bool,
    /// Legacy id for `Rojo_Target_*` references (`$id`, meta `id`, model `id`).
    pub legacy_id: Option<String>,
    pub kind: Option<FileKind>,
}

/// The origin of an instance.
#[derive(Debug, Clone, PartialEq)]
pub enum InstigatingSource {
    /// A file or directory.
    Path(PathBuf),
    /// A node of a project file: the project file and the node's key path from its root.
    ProjectNode {
        project_file: PathBuf,
        node_path: Vec<String>,
    },
}
