//! `.txt` files: a StringValue whose `Value` is the exact file text.

use std::path::Path;

use rbx_dom_weak::types::Variant;

use super::SnapshotError;
use crate::snapshot::{FileKind, InstanceSnapshot, InstigatingSource};
use crate::vfs::Vfs;

/// Builds the StringValue for a `.txt` file.
pub fn snapshot(vfs: &Vfs, path: &Path, name: &str) -> Result<InstanceSnapshot, SnapshotError> {
    let text = vfs
        .read_to_string(path)
        .map_err(|e| SnapshotError::io(path, e))?;
    let mut snapshot =
        InstanceSnapshot::new("StringValue", name).with_property("Value", Variant::String(text));
    snapshot.metadata.instigating_source = Some(InstigatingSource::Path(path.to_path_buf()));
    snapshot.metadata.relevant_paths.push(path.to_path_buf());
    snapshot.metadata.kind = Some(FileKind::Text);
    Ok(snapshot)
}

/// A `.txt` file holding a StringValue's `Value` verbatim.
pub fn write(path: impl Into<std::path::PathBuf>, value: &str) -> super::FileWrite {
    super::FileWrite::new(path, value.as_bytes())
}
