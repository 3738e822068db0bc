//! Random places for the round-trip tests: awkward names, every script kind, values,
//! references, attributes and tags; and the same places after the edits people make in
//! Studio. The same seed always gives the same place.

use rbx_dom_weak::InstanceBuilder;

/// A small deterministic generator (xorshift) for the random round trips.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    pub fn float(&mut self) -> f32 {
        let raw = (self.next() % 2_000_001) as f32 / 1000.0 - 1000.0;
        *self.pick(&[raw, raw.round(), 0.0, -0.0, 1e-30, 3.0e9, 0.1, 1.0 / 3.0])
    }
}

/// Names that stress the file naming rules: characters no file name may hold,
/// reserved and hidden names, names that look like file kinds, case twins, long names.
pub const AWKWARD_NAMES: &[&str] = &[
    "Part",
    "part",
    "PART",
    "a/b",
    "a\\b",
    "c:d",
    "what?",
    "<tag>",
    "pipe|",
    "star*",
    "quote\"d",
    "trailing.",
    "trailing ",
    " leading",
    "CON",
    "nul",
    "Com1",
    ".hidden",
    "init",
    "init.meta",
    "x.server",
    "y.luau",
    "z.model.json5",
    "a.meta.json5",
    "b.txt",
    "Part~2",
    "héllo",
    "日本語",
    "emoji🙂",
    "",
    "  ",
    "tab\there",
    "new\nline",
    "..",
    ".",
    "-",
    "%percent%",
    "#hash",
    "semi;colon",
];

pub fn random_name(rng: &mut Rng) -> String {
    match rng.below(10) {
        0 => "L".repeat(120 + rng.below(200)),
        1..=4 => rng.pick(AWKWARD_NAMES).to_string(),
        _ => format!("Item{}", rng.below(6)),
    }
}

pub fn random_text(rng: &mut Rng) -> String {
    let pieces = [
        "print(1)",
        "\r\n",
        "\n",
        "\t",
        "  ",
        "-- ünïcode",
        "\"quoted\"",
        "\\",
        "]]",
        "local x = [[long]]",
        "\u{0}",
        "\u{7f}",
        "end",
        "🙂",
    ];
    (0..rng.below(8)).map(|_| *rng.pick(&pieces)).collect()
}

pub fn random_instance(
    rng: &mut Rng,
    depth: usize,
    refs: &mut Vec<rbx_dom_weak::types::Ref>,
) -> InstanceBuilder {
    use rbx_dom_weak::types::{
        Attributes, CFrame, Color3, Color3uint8, Enum, Matrix3, Tags, Variant, Vector3,
    };
    let classes = [
        "Folder",
        "Model",
        "Part",
        "ModuleScript",
        "Script",
        "LocalScript",
        "StringValue",
        "IntValue",
        "NumberValue",
        "BoolValue",
        "ObjectValue",
        "Configuration",
    ];
    let class = *rng.pick(&classes);
    let mut builder = InstanceBuilder::new(class).with_name(random_name(rng));
    match class {
        "Part" => {
            builder = builder
                .with_property("Anchored", rng.below(2) == 0)
                .with_property("Size", Vector3::new(rng.float(), rng.float(), rng.float()))
                .with_property(
                    "CFrame",
                    CFrame::new(
                        Vector3::new(rng.float(), rng.float(), rng.float()),
                        Matrix3::identity(),
                    ),
                )
                .with_property("Color", Color3uint8::new(rng.below(256) as u8, 7, 200))
                .with_property(
                    "Material",
                    Enum::from_u32(*rng.pick(&[256u32, 512, 816, 1088])),
                )
                .with_property("Transparency", rng.float());
        }
        "ModuleScript" | "LocalScript" => {
            builder = builder.with_property("Source", random_text(rng))
        }
        "Script" => {
            builder = builder
                .with_property("Source", random_text(rng))
                .with_property("RunContext", Enum::from_u32(rng.below(4) as u32));
        }
        "StringValue" => builder = builder.with_property("Value", random_text(rng)),
        "IntValue" => builder = builder.with_property("Value", rng.next() as i64),
        "NumberValue" => builder = builder.with_property("Value", f64::from(rng.float()) / 7.0),
        "BoolValue" => builder = builder.with_property("Value", rng.below(2) == 0),
        "ObjectValue" if !refs.is_empty() => {
            builder = builder.with_property("Value", Variant::Ref(*rng.pick(refs)));
        }
        _ => {}
    }
    if rng.below(4) == 0 {
        let mut attributes = Attributes::new();
        attributes.insert(random_name(rng), Variant::String(random_text(rng)));
        attributes.insert("Number".into(), Variant::Float64(f64::from(rng.float())));
        attributes.insert(
            "Tint".into(),
            Variant::Color3(Color3::new(0.5, rng.float(), 0.25)),
        );
        builder = builder.with_property("Attributes", attributes);
    }
    if rng.below(5) == 0 {
        let mut tags = Tags::new();
        tags.push(&random_name(rng));
        builder = builder.with_property("Tags", tags);
    }
    refs.push(builder.referent());
    if depth < 4 && !class.ends_with("Value") {
        for _ in 0..rng.below(6) {
            builder.add_child(random_instance(rng, depth + 1, refs));
        }
    }
    builder
}

/// A random place with three services; the same seed gives the same place.
pub fn random_place(seed: u64) -> rbx_dom_weak::WeakDom {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (seed * 0x1000_0001));
    let mut refs = Vec::new();
    let mut root = InstanceBuilder::new("DataModel").with_name("Game");
    for service in ["Workspace", "ReplicatedStorage", "ServerScriptService"] {
        let mut builder = InstanceBuilder::new(service).with_name(service);
        for _ in 0..4 + rng.below(6) {
            builder.add_child(random_instance(&mut rng, 0, &mut refs));
        }
        root.add_child(builder);
    }
    rbx_dom_weak::WeakDom::new(root)
}

/// `random_place(seed)` after a run of the edits people make in Studio: renames, removals,
/// new instances, moves to another parent, changed sources and sizes.
pub fn edited_place(seed: u64) -> rbx_dom_weak::WeakDom {
    use rbx_dom_weak::types::{Variant, Vector3};
    let mut dom = random_place(seed);
    let mut rng = Rng(0xD1B5_4A32_D192_ED03 ^ (seed * 0x9E37_79B9));
    let mut refs = Vec::new();
    for _ in 0..12 {
        let root = dom.root_ref();
        let services: Vec<_> = dom.root().children().to_vec();
        let candidates: Vec<_> = dom
            .descendants()
            .map(|i| i.referent())
            .filter(|r| *r != root && !services.contains(r))
            .collect();
        if candidates.is_empty() {
            break;
        }
        let target = *rng.pick(&candidates);
        match rng.below(6) {
            0 => dom.get_by_ref_mut(target).unwrap().name = random_name(&mut rng),
            1 => dom.destroy(target),
            2 => {
                let child = random_instance(&mut rng, 3, &mut refs);
                dom.insert(target, child);
            }
            3 => {
                let parents: Vec<_> = services
                    .iter()
                    .copied()
                    .chain(candidates.iter().copied())
                    .filter(|p| {
                        !dom.descendants_of(target).any(|d| d.referent() == *p)
                            && !dom.get_by_ref(*p).unwrap().class.ends_with("Value")
                    })
                    .collect();
                if !parents.is_empty() {
                    let parent = *rng.pick(&parents);
                    dom.transfer_within(target, parent);
                }
            }
            4 => {
                let instance = dom.get_by_ref_mut(target).unwrap();
                if instance.properties.contains_key(&"Source".into()) {
                    instance
                        .properties
                        .insert("Source".into(), Variant::String(random_text(&mut rng)));
                }
            }
            _ => {
                let instance = dom.get_by_ref_mut(target).unwrap();
                if instance.class == "Part" {
                    let size = Vector3::new(rng.float(), 2.0, rng.float());
                    instance
                        .properties
                        .insert("Size".into(), Variant::Vector3(size));
                }
            }
        }
    }
    // A place file saves a reference to a removed instance as nil.
    let dangling: Vec<(rbx_dom_weak::types::Ref, rbx_dom_weak::Ustr)> = dom
        .descendants()
        .flat_map(|instance| {
            instance
                .properties
                .iter()
                .filter_map(|(name, value)| match value {
                    Variant::Ref(target)
                        if target.is_some() && dom.get_by_ref(*target).is_none() =>
                    {
                        Some((instance.referent(), *name))
                    }
                    _ => None,
                })
        })
        .collect();
    for (referent, name) in dangling {
        let instance = dom.get_by_ref_mut(referent).unwrap();
        instance
            .properties
            .insert(name, Variant::Ref(rbx_dom_weak::types::Ref::none()));
    }
    dom
}
