//! Variant <-> JSON5 value codec (being written).
