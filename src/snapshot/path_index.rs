//! Path -> instances, for the live tree: which instances must be re-read when a path
//! changes. Keys are 64-bit fingerprints of the path's bytes, so the ~3 paths of every
//! instance are not copied; a lookup checks the candidates' own metadata, so a
//! fingerprint collision can never return a wrong instance.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::{Path, PathBuf};

use rbx_dom_weak::types::Ref;

use super::{InstanceMetadata, InstigatingSource};

/// The index.
#[derive(Default)]
pub(super) struct PathIndex {
    map: HashMap<u64, Ids, BuildHasherDefault<FingerprintHasher>>,
}

/// Most paths belong to one instance; avoid a `Vec` for those.
enum Ids {
    One(Ref),
    Many(Vec<Ref>),
}

/// The fingerprints are hashes already: the map uses them as they are.
#[derive(Default)]
struct FingerprintHasher(u64);

impl Hasher for FingerprintHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

fn fingerprint(path: &Path) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    hasher.write(path.as_os_str().as_encoded_bytes());
    hasher.finish()
}

/// The paths an instance is known by: its instigating file or folder and its relevant
/// paths (meta files, init files, project files, and meta files that may appear).
pub(super) fn indexed_paths(metadata: &InstanceMetadata) -> impl Iterator<Item = &PathBuf> {
    let source = match &metadata.instigating_source {
        Some(InstigatingSource::Path(path)) => Some(path),
        _ => None,
    };
    source.into_iter().chain(metadata.relevant_paths.iter())
}

impl PathIndex {
    /// Indexes every instance.
    pub(super) fn build(metadata: &HashMap<Ref, InstanceMetadata>) -> PathIndex {
        let mut index = PathIndex::default();
        index.map.reserve(metadata.len() * 2);
        for (id, metadata) in metadata {
            index.add(*id, metadata);
        }
        index
    }

    pub(super) fn add(&mut self, id: Ref, metadata: &InstanceMetadata) {
        for path in indexed_paths(metadata) {
            match self.map.entry(fingerprint(path)) {
                Entry::Vacant(entry) => {
                    entry.insert(Ids::One(id));
                }
                Entry::Occupied(mut entry) => {
                    let ids = entry.get_mut();
                    match ids {
                        Ids::One(existing) if *existing == id => {}
                        Ids::One(existing) => *ids = Ids::Many(vec![*existing, id]),
                        Ids::Many(list) => {
                            if !list.contains(&id) {
                                list.push(id);
                            }
                        }
                    }
                }
            }
        }
    }

    pub(super) fn remove(&mut self, id: Ref, metadata: &InstanceMetadata) {
        for path in indexed_paths(metadata) {
            let Entry::Occupied(mut entry) = self.map.entry(fingerprint(path)) else {
                continue;
            };
            let ids = entry.get_mut();
            let now_empty = match ids {
                Ids::One(existing) => *existing == id,
                Ids::Many(list) => {
                    list.retain(|r| *r != id);
                    if let [last] = list.as_slice() {
                        *ids = Ids::One(*last);
                    }
                    false
                }
            };
            if now_empty {
                entry.remove();
            }
        }
    }

    /// Instances that may be known by `path` (check their metadata).
    pub(super) fn candidates(&self, path: &Path) -> &[Ref] {
        match self.map.get(&fingerprint(path)) {
            Some(Ids::One(id)) => std::slice::from_ref(id),
            Some(Ids::Many(ids)) => ids,
            None => &[],
        }
    }
}
