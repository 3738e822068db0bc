//! File-safe names (slugs) and `~N` duplicate suffixes (fs-format.md §4.7-4.8, with the
//! Atlas differences listed in docs/syncback.md).

use std::collections::{HashMap, HashSet};

/// Characters no file name may contain on some platform, and `~` (our dedup marker).
const FORBIDDEN: [char; 10] = ['<', '>', ':', '"', '/', '|', '?', '*', '\\', '~'];

/// Suffixes that would change how the build reads a file name.
const DANGEROUS_SUFFIXES: [&str; 8] = [
    ".server", ".client", ".plugin", ".local", ".legacy", ".meta", ".model", ".project",
];

/// Names Windows reserves (with or without an extension), and `init`, which the build
/// reads as a directory's init file.
const RESERVED_STEMS: [&str; 23] = [
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9", "init",
];

/// Longest slug, in bytes, so that a file name with suffixes stays well under 255 bytes.
const MAX_SLUG_BYTES: usize = 150;

fn reserved_stem(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or("");
    RESERVED_STEMS.iter().any(|r| stem.eq_ignore_ascii_case(r))
}

fn ends_with_dangerous_suffix(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    DANGEROUS_SUFFIXES.iter().any(|s| lower.ends_with(s))
}

/// Whether an instance name cannot be used verbatim as a file or directory base name.
pub fn needs_slug(name: &str) -> bool {
    name.is_empty()
        || name.len() > MAX_SLUG_BYTES
        || name.starts_with(' ')
        || name.starts_with('.')
        || name.ends_with(' ')
        || name.ends_with('.')
        || name
            .chars()
            .any(|c| FORBIDDEN.contains(&c) || c.is_control())
        || ends_with_dangerous_suffix(name)
        || reserved_stem(name)
}

/// The file-safe base for `name`: itself when safe, otherwise a slug (the real name is then
/// recorded in a meta/model file by the caller).
pub fn slug(name: &str) -> String {
    if !needs_slug(name) {
        return name.to_string();
    }
    let mut out: String = name
        .chars()
        .map(|c| {
            if FORBIDDEN.contains(&c) || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    out = out.trim_start_matches(' ').to_string();
    if out.starts_with('.') {
        out.replace_range(0..1, "_");
    }
    while ends_with_dangerous_suffix(&out) {
        match out.rfind('.') {
            Some(index) => out.replace_range(index..index + 1, "_"),
            None => break,
        }
    }
    out = out.trim_end_matches([' ', '.']).to_string();
    if out.len() > MAX_SLUG_BYTES {
        let mut cut = MAX_SLUG_BYTES;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out = out.trim_end_matches([' ', '.']).to_string();
    }
    if reserved_stem(&out) {
        let stem_len = out.find('.').unwrap_or(out.len());
        out.insert(stem_len, '_');
    }
    if out.chars().all(|c| c == '_') {
        out = "instance".to_string();
    }
    out
}

/// The names already taken in one directory, compared case-insensitively (file systems
/// on Windows and macOS are).
#[derive(Debug, Default, Clone)]
pub struct Namespace {
    taken: HashSet<String>,
    /// Per lowercased base and suffix list, the `~N` to try first: every smaller N was
    /// found taken before, and names are never released, so a folder of 20,000 "Part"s
    /// claims each in constant time instead of rescanning `Part~2…` every time.
    next_suffix: HashMap<String, u32>,
    /// Per lowercased base, the largest `~N` claimed with it (any suffixes): a later
    /// sibling of the same name takes a larger one, so the build, which reads a folder in
    /// name order with `~N` compared as numbers, gives the siblings back in place order
    /// (`Door.model.json5` then `Door~2/`, never `Door/` before `Door.model.json5`).
    last_suffix: HashMap<String, u32>,
}

impl Namespace {
    pub fn new() -> Self {
        Namespace::default()
    }

    fn key(name: &str) -> String {
        name.to_lowercase()
    }

    /// Marks `name` as taken (an existing file to protect, a project child's name).
    pub fn reserve(&mut self, name: &str) {
        self.taken.insert(Namespace::key(name));
    }

    /// Marks `name` as taken by a sibling whose file incremental mode keeps: a later claim
    /// of the same base numbers after it, so a new same-named sibling still comes after
    /// the kept ones in the build.
    pub fn keep(&mut self, name: &str) {
        // A file by its kind's suffix; anything else (a folder) by its whole name.
        let base = match crate::formats::builtin_rule(name) {
            Some((_, base)) => base,
            None => name.to_string(),
        };
        let stem = crate::formats::strip_dedup_suffix(&base);
        let n = base[stem.len()..]
            .strip_prefix('~')
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(1);
        let last = self.last_suffix.entry(Namespace::key(stem)).or_insert(n);
        *last = (*last).max(n);
        self.taken.insert(Namespace::key(name));
    }

    pub fn is_taken(&self, name: &str) -> bool {
        self.taken.contains(&Namespace::key(name))
    }

    /// Claims the first free name `base[~N]` + each of `suffixes` (all must be free:
    /// e.g. `.server.luau` and `.meta.json5` for a script with an adjacent meta file).
    /// The first suffix names the entry; returns (base used, entry name).
    pub fn claim(&mut self, base: &str, suffixes: &[&str]) -> (String, String) {
        let mut hint_key = Namespace::key(base);
        for suffix in suffixes {
            hint_key.push('\0');
            hint_key.push_str(&Namespace::key(suffix));
        }
        let base_key = Namespace::key(base);
        let after_last = self.last_suffix.get(&base_key).map_or(1, |last| last + 1);
        let mut n = self
            .next_suffix
            .get(&hint_key)
            .copied()
            .unwrap_or(1)
            .max(after_last);
        loop {
            let candidate = if n == 1 {
                base.to_string()
            } else {
                format!("{base}~{n}")
            };
            let names: Vec<String> = suffixes.iter().map(|s| format!("{candidate}{s}")).collect();
            if names.iter().all(|name| !self.is_taken(name)) {
                for name in &names {
                    self.reserve(name);
                }
                self.next_suffix.insert(hint_key, n + 1);
                self.last_suffix.insert(base_key, n);
                let entry = names
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| candidate.clone());
                return (candidate, entry);
            }
            n += 1;
        }
    }

    /// Claims an exact name (kept from an existing file in incremental mode).
    pub fn claim_exact(&mut self, names: &[String]) {
        for name in names {
            self.keep(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug("Hey/Bro"), "Hey_Bro");
        assert_eq!(slug("A:B"), "A_B");
        assert_eq!(slug("What?"), "What_");
        assert_eq!(slug("Data~2"), "Data_2");
        assert_eq!(slug(" Foo. "), "Foo");
        assert_eq!(slug("???"), "instance");
        assert_eq!(slug("init"), "init_");
        assert_eq!(slug("Init"), "Init_");
        assert_eq!(slug("CON"), "CON_");
        assert_eq!(slug("con."), "con_");
        assert_eq!(slug("CON.txt"), "CON_.txt");
        assert_eq!(slug("init.luau"), "init_.luau");
        assert_eq!(slug("foo.server"), "foo_server");
        assert_eq!(slug("x.Model"), "x_Model");
        assert_eq!(slug("a.server.client"), "a.server_client");
        assert_eq!(slug(".hidden"), "_hidden");
        assert_eq!(slug(""), "instance");
        assert_eq!(slug("<Angle>"), "_Angle_");
        assert_eq!(slug("He said \"hi\""), "He said _hi_");
        assert_eq!(slug("Plain name"), "Plain name");
        assert_eq!(slug("Ünïcödé"), "Ünïcödé");
        let long = "x".repeat(300);
        assert_eq!(slug(&long).len(), MAX_SLUG_BYTES);
        for name in [
            "Hey/Bro",
            "CON",
            "init",
            "a.server",
            " x ",
            "...",
            "~1",
            "init.luau",
        ] {
            let s = slug(name);
            assert!(!needs_slug(&s), "{name} -> {s}");
        }
    }

    #[test]
    fn dedup_is_case_insensitive_and_skips_one() {
        let mut ns = Namespace::new();
        assert_eq!(ns.claim("Data", &[""]).1, "Data");
        assert_eq!(ns.claim("Data", &[""]).1, "Data~2");
        assert_eq!(ns.claim("data", &[""]).1, "data~3");
        // Later siblings of the same name number on, whatever their kind of file.
        assert_eq!(ns.claim("Data", &[".luau", ".meta.json5"]).1, "Data~4.luau");
        assert_eq!(ns.claim("Data", &[".txt", ".meta.json5"]).1, "Data~5.txt");
        let mut ns = Namespace::new();
        assert_eq!(ns.claim("Door", &[".model.json5"]).1, "Door.model.json5");
        assert_eq!(ns.claim("Door", &[""]).1, "Door~2");
        assert_eq!(ns.claim("Other", &[""]).1, "Other");
    }

    #[test]
    fn many_duplicates_resume_where_the_last_claim_stopped() {
        let mut ns = Namespace::new();
        // A kept `Part~3` comes first: claims number after it.
        ns.keep("Part~3.model.json5");
        let entries: Vec<String> = (0..6)
            .map(|i| {
                let base = if i % 2 == 0 { "Part" } else { "PART" };
                ns.claim(base, &[".model.json5"]).1
            })
            .collect();
        assert_eq!(
            entries,
            [
                "Part~4.model.json5",
                "PART~5.model.json5",
                "Part~6.model.json5",
                "PART~7.model.json5",
                "Part~8.model.json5",
                "PART~9.model.json5",
            ]
        );
        // Another kind of file numbers on after them (place order survives the build).
        assert_eq!(ns.claim("Part", &[""]).1, "Part~10");
        // A name kept after a claim is skipped, and numbered after.
        ns.keep("part~11.model.json5");
        assert_eq!(ns.claim("Part", &[".model.json5"]).1, "Part~12.model.json5");
        // Scripts need their meta file name free too, whatever claimed it.
        ns.reserve("Part~13.meta.json5");
        assert_eq!(
            ns.claim("Part", &[".luau", ".meta.json5"]).1,
            "Part~14.luau",
            "Part~13.meta.json5 is taken"
        );
        // Kept siblings (incremental mode) of every kind come before a new one.
        let mut kept = Namespace::new();
        kept.keep("Door.model.json5");
        kept.keep("Door~2");
        kept.keep("Door~3.server.luau");
        // A merely reserved name (a protected file) is skipped but does not push claims on.
        kept.reserve("Window~5.model.json5");
        assert_eq!(kept.claim("Window", &[""]).1, "Window");
        assert_eq!(kept.claim("Door", &[""]).1, "Door~4");
        // A base claimed for the first time still starts without a suffix.
        ns.reserve("Bolt.meta.json5");
        assert_eq!(ns.claim("Bolt", &[".luau", ".meta.json5"]).1, "Bolt~2.luau");
    }
}
