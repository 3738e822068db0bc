//! Atlas: keeps a Roblox place and a folder of plain files in sync.
//!
//! The crate is a pair of inverse functions between a project folder and an instance
//! tree (see docs/architecture.md): `formats` read files into snapshots (build) and
//! write instances back to files (syncback); `serve` applies the same functions live.

pub mod build;
pub mod cli;
pub mod formats;
pub mod interrupt;
pub mod json_value;
pub mod json_writer;
pub mod memory;
pub mod place_file;
pub mod project;
pub mod properties;
pub mod serve;
pub mod snapshot;
pub mod syncback;
pub mod vfs;
pub mod xml_text;

/// The stack each thread of `atlas` gets (the command's own thread and rayon's workers).
/// Folders, project nodes and syncback layouts are walked recursively, one level per
/// folder; 64 MiB of address space (touched only as deep as a tree goes) covers the
/// deepest tree a file system can hold, in debug builds too.
pub const THREAD_STACK_SIZE: usize = 64 << 20;
