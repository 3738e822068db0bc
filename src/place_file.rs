//! Reading and writing Roblox place and model files, by extension.

use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

use rbx_dom_weak::types::Ref;
use rbx_dom_weak::WeakDom;

/// The four Roblox file kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceFileKind {
    /// `.rbxl`: binary place.
    BinaryPlace,
    /// `.rbxm`: binary model.
    BinaryModel,
    /// `.rbxlx`: XML place.
    XmlPlace,
    /// `.rbxmx`: XML model.
    XmlModel,
}

/// An error reading or writing a place/model file.
#[derive(Debug, thiserror::Error)]
pub enum PlaceFileError {
    #[error("{}: unsupported file type; use .rbxl, .rbxlx, .rbxm or .rbxmx", .0.display())]
    UnknownExtension(std::path::PathBuf),
    #[error("{}: {message}", .path.display())]
    Failed {
        path: std::path::PathBuf,
        message: String,
    },
}

impl PlaceFileKind {
    /// The kind for a path, by its extension.
    pub fn from_path(path: &Path) -> Result<PlaceFileKind, PlaceFileError> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("rbxl") => Ok(PlaceFileKind::BinaryPlace),
            Some("rbxm") => Ok(PlaceFileKind::BinaryModel),
            Some("rbxlx") => Ok(PlaceFileKind::XmlPlace),
            Some("rbxmx") => Ok(PlaceFileKind::XmlModel),
            _ => Err(PlaceFileError::UnknownExtension(path.to_path_buf())),
        }
    }

    pub fn is_place(self) -> bool {
        matches!(self, PlaceFileKind::BinaryPlace | PlaceFileKind::XmlPlace)
    }

    pub fn is_xml(self) -> bool {
        matches!(self, PlaceFileKind::XmlPlace | PlaceFileKind::XmlModel)
    }
}

/// Reads a place or model file into a `WeakDom` (its root is the file's DataModel or
/// the model container).
pub fn read(path: &Path) -> Result<WeakDom, PlaceFileError> {
    let kind = PlaceFileKind::from_path(path)?;
    let failed = |message: String| PlaceFileError::Failed {
        path: path.to_path_buf(),
        message,
    };
    let file = std::fs::File::open(path).map_err(|e| failed(e.to_string()))?;
    let reader = BufReader::new(file);
    if kind.is_xml() {
        rbx_xml::from_reader(reader, xml_decode_options())
            .map_err(|e| failed(format!("invalid XML file: {e}")))
    } else {
        decode_binary(reader).map_err(|e| failed(format!("invalid binary file: {e}")))
    }
}

/// Decodes a binary place or model (`.rbxl`/`.rbxm` bytes); the error says why not.
///
/// rbx_binary reserves room in every decoded instance for all the default properties of
/// its class (about 50 for a Part) and keeps those reservations until the whole file is
/// read: 350 MB for a 100k-instance place that needs a tenth of that. The database given
/// to it here is the usual one without defaults, which it consults for nothing else, so
/// the tree it decodes is the same and each instance only holds what the file stores.
///
/// rbx_binary can also panic on malformed input instead of returning an error; that is
/// caught here, so a corrupt file or Studio chunk is an error for every caller.
pub fn decode_binary<R: std::io::Read>(reader: R) -> Result<WeakDom, String> {
    quiet_decoder_panics();
    DECODING.with(|decoding| decoding.set(true));
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rbx_binary::Deserializer::new()
            .reflection_database(lean_database())
            .deserialize(reader)
    }));
    DECODING.with(|decoding| decoding.set(false));
    match decoded {
        Ok(result) => result.map_err(|err| err.to_string()),
        Err(panic) => {
            let reason = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            log::debug!("rbx_binary panicked while decoding: {reason}");
            Err("it is cut short or corrupt (the decoder stopped on it)".to_string())
        }
    }
}

thread_local! {
    /// Set while this thread runs rbx_binary's decoder, whose panics are caught and
    /// become errors.
    static DECODING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A caught decoder panic is an error message, not a crash: the panic hook stays quiet
/// for it (no "thread panicked" and backtrace in the log) and speaks for every other.
fn quiet_decoder_panics() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !DECODING.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
}

fn lean_database() -> &'static rbx_reflection::ReflectionDatabase<'static> {
    static LEAN: std::sync::OnceLock<rbx_reflection::ReflectionDatabase<'static>> =
        std::sync::OnceLock::new();
    LEAN.get_or_init(|| {
        let full = crate::properties::database();
        let mut lean = rbx_reflection::ReflectionDatabase::new();
        lean.version = full.version;
        lean.enums = full.enums.clone();
        for (name, class) in &full.classes {
            let mut copy = rbx_reflection::ClassDescriptor::new(class.name);
            copy.tags = class.tags.clone();
            copy.superclass = class.superclass;
            copy.properties = class.properties.clone();
            lean.classes.insert(name, copy);
        }
        lean
    })
}

/// Writes `dom` to `path`. A place file holds the root's children (the services); a
/// model file holds the root itself, unless the root is a DataModel, whose children
/// are written instead.
pub fn write(path: &Path, dom: &WeakDom) -> Result<(), PlaceFileError> {
    let kind = PlaceFileKind::from_path(path)?;
    let root = dom.root();
    let refs: Vec<Ref> = if kind.is_place() || root.class == "DataModel" {
        root.children().to_vec()
    } else {
        vec![dom.root_ref()]
    };
    let failed = |message: String| PlaceFileError::Failed {
        path: path.to_path_buf(),
        message,
    };
    if kind.is_xml() {
        // rbx_xml writes a value of the wrong type for its property (a Vector2 `Size`) as
        // it is, where rbx_binary refuses it; both formats refuse the same projects, and
        // Studio never sees such a value.
        rbx_binary::to_writer(std::io::sink(), dom, &refs)
            .map_err(|e| failed(format!("could not encode: {e}")))?;
        if let Some(problem) = crate::xml_text::first_unwritable(dom, &refs) {
            return Err(failed(format!(
                "{problem}, which XML files cannot hold; use the binary format (.rbxl or .rbxm)"
            )));
        }
    }
    let file = std::fs::File::create(path).map_err(|e| failed(e.to_string()))?;
    let mut writer = BufWriter::with_capacity(1 << 20, file);
    if kind.is_xml() {
        crate::xml_text::encode(&mut writer, dom, &refs)
            .map_err(|e| failed(format!("could not encode: {e}")))?;
    } else {
        rbx_binary::to_writer(&mut writer, dom, &refs)
            .map_err(|e| failed(format!("could not encode: {e}")))?;
    }
    writer.flush().map_err(|e| failed(e.to_string()))
}

/// XML decoding keeps properties rbx_xml does not know, so nothing a file stores is lost.
pub fn xml_decode_options() -> rbx_xml::DecodeOptions<'static> {
    rbx_xml::DecodeOptions::new().property_behavior(rbx_xml::DecodePropertyBehavior::ReadUnknown)
}
