//! Writing XML place and model files that read back exactly.
//!
//! rbx_xml writes strings as they are. Two kinds of character do not survive that:
//! - a carriage return, which every XML reader turns into a line feed (`\r\n` into `\n`).
//!   It is written here as the character reference `&#13;`, which readers keep;
//! - control characters other than tab, line feed and carriage return (and U+FFFE,
//!   U+FFFF), which XML 1.0 cannot hold at all, not even as references. A file holding one
//!   is refused by every XML reader, Atlas's own included, so it is not written: the
//!   error names the instance and property, and the binary formats hold such strings.

use std::io::{self, Write};

use rbx_dom_weak::types::{Ref, Variant};
use rbx_dom_weak::WeakDom;

/// Writes the subtrees at `refs` as Roblox XML to `writer`. Errors name the first string
/// XML cannot hold, or what rbx_xml refused.
pub fn encode<W: Write>(writer: W, dom: &WeakDom, refs: &[Ref]) -> Result<(), String> {
    if let Some(problem) = first_unwritable(dom, refs) {
        return Err(format!(
            "{problem}, which XML files cannot hold; use the binary format (.rbxl or .rbxm)"
        ));
    }
    let options = rbx_xml::EncodeOptions::new()
        .property_behavior(rbx_xml::EncodePropertyBehavior::WriteUnknown);
    let mut escaped = CarriageReturns::new(writer);
    rbx_xml::to_writer(&mut escaped, dom, refs, options).map_err(|e| e.to_string())?;
    escaped.flush().map_err(|e| e.to_string())
}

/// Whether every string in the subtrees at `refs` can be written as XML.
pub fn can_hold(dom: &WeakDom, refs: &[Ref]) -> bool {
    first_unwritable(dom, refs).is_none()
}

/// Describes the first name or string property in the subtrees at `refs` holding a
/// character XML 1.0 cannot hold (`Workspace.Data.Value holds U+0001`).
pub fn first_unwritable(dom: &WeakDom, refs: &[Ref]) -> Option<String> {
    let mut stack: Vec<Ref> = refs.iter().rev().copied().collect();
    while let Some(referent) = stack.pop() {
        let Some(instance) = dom.get_by_ref(referent) else {
            continue;
        };
        if let Some(bad) = forbidden_char(&instance.name) {
            return Some(format!(
                "{}'s name holds {}",
                full_name(dom, referent),
                code(bad)
            ));
        }
        let mut names: Vec<_> = instance.properties.keys().collect();
        names.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
        for name in names {
            let text = match &instance.properties[name] {
                Variant::String(text) => Some(text.as_str()),
                Variant::ContentId(content) => Some(content.as_str()),
                Variant::Content(content) => content.as_uri(),
                Variant::Font(font) => Some(font.family.as_str()),
                _ => None,
            };
            if let Some(bad) = text.and_then(forbidden_char) {
                return Some(format!(
                    "{}.{name} holds {}",
                    full_name(dom, referent),
                    code(bad)
                ));
            }
        }
        stack.extend(instance.children().iter().rev().copied());
    }
    None
}

fn forbidden_char(text: &str) -> Option<char> {
    text.chars().find(|&c| {
        (c < '\u{20}' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
    })
}

fn code(c: char) -> String {
    let kind = if c < '\u{20}' {
        "control character"
    } else {
        "noncharacter"
    };
    format!("the {kind} U+{:04X}", u32::from(c))
}

/// `Workspace.Folder.Part`, without the DataModel.
fn full_name(dom: &WeakDom, referent: Ref) -> String {
    let mut names = Vec::new();
    let mut current = dom.get_by_ref(referent);
    while let Some(instance) = current {
        if instance.parent().is_none() && instance.class == "DataModel" {
            break;
        }
        names.push(instance.name.as_str());
        current = dom.get_by_ref(instance.parent());
    }
    names.reverse();
    names.join(".")
}

const CDATA_OPEN: &[u8] = b"<![CDATA[";
const CDATA_CLOSE: &[u8] = b"]]>";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Markup and plain text.
    Outside,
    /// Inside a CDATA section, as rbx_xml wrote it.
    Cdata,
    /// The rest of a CDATA section after a carriage return, written as escaped text.
    CdataAsText,
}

/// A writer that turns raw carriage returns in strings into `&#13;`, which XML readers
/// keep. In plain text the reference replaces the byte. CDATA cannot hold references, so
/// at a carriage return the section is closed and the rest of it is written as escaped
/// text. rbx_xml's own markup has no carriage returns, and it escapes `<` in text, so a
/// `<![CDATA[` can only be the start of a section.
///
/// The XML reader rbx_xml uses reports text that is only whitespace so far as ignorable
/// whitespace, which rbx_xml skips, so a carriage return before the first other
/// character of a string stays raw and reads back as a line feed, as it always did.
struct CarriageReturns<W: Write> {
    inner: W,
    mode: Mode,
    /// Inside `<...>` markup (outside CDATA).
    in_tag: bool,
    /// The current element's text has had a character other than whitespace.
    has_text: bool,
    /// How many bytes of the marker being looked for (the section's opening, or its
    /// closing) have just been seen.
    matched: usize,
}

impl<W: Write> CarriageReturns<W> {
    fn new(inner: W) -> Self {
        CarriageReturns {
            inner,
            mode: Mode::Outside,
            in_tag: false,
            has_text: false,
            matched: 0,
        }
    }

    /// The new match length after `byte`, for `marker` (only `]]]>` needs the fallback).
    fn next_match(marker: &[u8], matched: usize, byte: u8) -> usize {
        if marker[matched] == byte {
            return matched + 1;
        }
        let mut seen = marker[..matched].to_vec();
        seen.push(byte);
        (1..seen.len())
            .map(|skip| &seen[skip..])
            .find(|tail| marker.starts_with(tail))
            .map_or(0, <[u8]>::len)
    }

    fn write_escaped(&mut self, byte: u8) -> io::Result<()> {
        match byte {
            b'&' => self.inner.write_all(b"&amp;"),
            b'<' => self.inner.write_all(b"&lt;"),
            b'>' => self.inner.write_all(b"&gt;"),
            b'\r' => self.inner.write_all(b"&#13;"),
            other => self.inner.write_all(&[other]),
        }
    }

    fn write_byte(&mut self, byte: u8) -> io::Result<()> {
        match self.mode {
            Mode::Outside => {
                if byte == b'\r' && self.has_text && !self.in_tag {
                    return self.inner.write_all(b"&#13;");
                }
                if byte == b'<' {
                    self.in_tag = true;
                } else if byte == b'>' {
                    self.in_tag = false;
                    self.has_text = false;
                } else if !self.in_tag && !byte.is_ascii_whitespace() {
                    self.has_text = true;
                }
                self.matched = Self::next_match(CDATA_OPEN, self.matched, byte);
                if self.matched == CDATA_OPEN.len() {
                    self.mode = Mode::Cdata;
                    self.in_tag = false;
                    self.matched = 0;
                }
                self.inner.write_all(&[byte])
            }
            Mode::Cdata => {
                // Held `]` bytes are text once a carriage return follows them.
                if byte == b'\r' && (self.has_text || self.matched > 0) {
                    self.mode = Mode::CdataAsText;
                    self.matched = 0;
                    return self.inner.write_all(b"]]>&#13;");
                }
                let matched = Self::next_match(CDATA_CLOSE, self.matched, byte);
                if matched == CDATA_CLOSE.len() {
                    self.mode = Mode::Outside;
                    self.matched = 0;
                } else {
                    // Bytes that can no longer be part of the closing marker are text.
                    let content = if byte == b']' {
                        self.matched == 2
                    } else {
                        self.matched > 0 || !byte.is_ascii_whitespace()
                    };
                    self.has_text |= content;
                    self.matched = matched;
                }
                self.inner.write_all(&[byte])
            }
            Mode::CdataAsText => {
                // `]` bytes are held until it is known whether they close the section.
                match (byte, self.matched) {
                    (b']', held) if held < 2 => self.matched += 1,
                    (b']', _) => self.inner.write_all(b"]")?,
                    (b'>', 2) => {
                        self.mode = Mode::Outside;
                        self.matched = 0;
                    }
                    (other, held) => {
                        for _ in 0..held {
                            self.inner.write_all(b"]")?;
                        }
                        self.matched = 0;
                        self.write_escaped(other)?;
                    }
                }
                Ok(())
            }
        }
    }
}

impl<W: Write> Write for CarriageReturns<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Runs without a byte of interest go through in one piece.
        let mut start = 0;
        for (index, &byte) in buf.iter().enumerate() {
            let plain = self.mode == Mode::Outside
                && self.matched == 0
                && !self.in_tag
                && self.has_text
                && !matches!(byte, b'\r' | b'<' | b'>');
            if plain {
                continue;
            }
            self.inner.write_all(&buf[start..index])?;
            start = index + 1;
            self.write_byte(byte)?;
        }
        self.inner.write_all(&buf[start..])?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rbx_dom_weak::InstanceBuilder;

    fn string_values(values: &[&str]) -> WeakDom {
        let mut dom = WeakDom::new(InstanceBuilder::new("DataModel"));
        let root = dom.root_ref();
        let storage = dom.insert(root, InstanceBuilder::new("ReplicatedStorage"));
        for (index, value) in values.iter().enumerate() {
            dom.insert(
                storage,
                InstanceBuilder::new("StringValue")
                    .with_name(format!("V{index}"))
                    .with_property("Value", *value),
            );
        }
        dom
    }

    fn values_after_round_trip(dom: &WeakDom) -> Vec<String> {
        let mut bytes = Vec::new();
        encode(&mut bytes, dom, dom.root().children()).unwrap();
        let read = rbx_xml::from_reader_default(bytes.as_slice()).unwrap();
        let storage = read.get_by_ref(read.root().children()[0]).unwrap();
        storage
            .children()
            .iter()
            .map(|child| {
                match read
                    .get_by_ref(*child)
                    .unwrap()
                    .properties
                    .get(&"Value".into())
                {
                    Some(Variant::String(text)) => text.clone(),
                    other => panic!("unexpected {other:?}"),
                }
            })
            .collect()
    }

    #[test]
    fn carriage_returns_read_back_in_text_and_cdata() {
        let values = [
            "a\r\nb",
            "line\r\n",
            "x\r\r",
            "x\r\n\r\n",
            " x\r\r ",
            "x ]]> \r",
            "]]]>\r<![CDATA[\r",
            "]]>\r\n]]>",
            "<tag>\r</tag>",
            "\tx\r\n\ty\r\n",
            "plain",
            "",
            "  spaced  ",
        ];
        assert_eq!(values_after_round_trip(&string_values(&values)), values);
    }

    /// What XML keeps of a string: line ends before its first other character are
    /// normalised to `\n`, everything after is exact.
    fn kept_by_xml(value: &str) -> String {
        let first = value
            .find(|c: char| !matches!(c, ' ' | '\t' | '\n' | '\r'))
            .unwrap_or(value.len());
        value[..first].replace("\r\n", "\n").replace('\r', "\n") + &value[first..]
    }

    #[test]
    fn random_strings_of_markup_and_line_ends_read_back() {
        let alphabet = ['a', ' ', '\r', '\n', ']', '>', '<', '&', '\t', '['];
        let mut seed: u64 = 0x5eed;
        let values: Vec<String> = (0..3000)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let len = (seed >> 59) as usize;
                (0..len)
                    .map(|i| alphabet[((seed >> (i * 4 % 56)) & 0xf) as usize % alphabet.len()])
                    .collect()
            })
            .collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let read = values_after_round_trip(&string_values(&refs));
        for (value, read) in values.iter().zip(read) {
            assert_eq!(read, kept_by_xml(value), "{value:?}");
        }
    }

    #[test]
    fn carriage_returns_before_any_other_character_read_back_as_line_feeds() {
        let values = ["\r", " \r ", "\r\n", "\r\nlocal x\r\n", "\n\r\nfoo\r"];
        assert_eq!(
            values_after_round_trip(&string_values(&values)),
            ["\n", " \n ", "\n", "\nlocal x\r\n", "\n\nfoo\r"]
        );
    }

    #[test]
    fn the_escaper_follows_cdata_markers_split_across_writes() {
        let mut out = Vec::new();
        let mut writer = CarriageReturns::new(&mut out);
        for piece in [
            &b"<s><![CD"[..],
            b"ATA[a\r]",
            b"]]></s><t>b\r",
            b"]]",
            b"]></t>",
        ] {
            writer.write_all(piece).unwrap();
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<s><![CDATA[a]]>&#13;]</s><t>b&#13;]]]></t>"
        );
    }

    #[test]
    fn control_characters_are_refused_with_the_instance_and_property() {
        let dom = string_values(&["fine", "bad\u{1}"]);
        let err = encode(Vec::new(), &dom, dom.root().children()).unwrap_err();
        assert!(
            err.contains("ReplicatedStorage.V1.Value holds the control character U+0001"),
            "{err}"
        );
        assert!(err.contains(".rbxl"), "{err}");
        assert!(can_hold(&string_values(&["tab\tnew\nline\r"]), &[]));

        let mut named = WeakDom::new(InstanceBuilder::new("Folder").with_name("a\u{FFFF}"));
        let root = named.root_ref();
        named.insert(root, InstanceBuilder::new("Folder"));
        let err = first_unwritable(&named, &[root]).unwrap();
        assert!(err.contains("name holds the noncharacter U+FFFF"), "{err}");
    }
}
