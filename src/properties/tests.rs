//! Round trips for every Variant type through the canonical text, the shorthand examples
//! of fs-format.md §3.1, and error messages.

use rbx_types::*;

use super::types::ALL_TYPES;
use super::*;
use crate::json_value::parse;
use crate::json_writer::to_canonical_string;

/// Exact equality: Debug prints every float in shortest round-trip form (with `-0.0` and
/// `NaN`), so equal Debug text means equal bits up to NaN payload.
fn assert_identical(actual: &Variant, expected: &Variant, context: &str) {
    assert_eq!(format!("{actual:?}"), format!("{expected:?}"), "{context}");
    if !format!("{expected:?}").contains("NaN") {
        assert_eq!(actual, expected, "{context}");
    }
}

fn through_text(value: &Value) -> Value {
    let text = to_canonical_string(value);
    parse(&text).unwrap_or_else(|err| panic!("canonical text does not parse: {err}\n{text}"))
}

const EDGE_F32: &[f32] = &[
    0.0,
    -0.0,
    0.1,
    1.0 / 3.0,
    801.715_6,
    7.6e-6,
    16_777_217.0,
    f32::MAX,
    f32::MIN,
    f32::MIN_POSITIVE,
    1e-45,
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::NAN,
];

fn f(i: usize) -> f32 {
    EDGE_F32[i % EDGE_F32.len()]
}

fn v3(i: usize) -> Vector3 {
    Vector3::new(f(i), f(i + 1), f(i + 2))
}

fn cframe(i: usize) -> CFrame {
    CFrame::new(v3(i), Matrix3::new(v3(i + 3), v3(i + 6), v3(i + 9)))
}

fn full_material_colors() -> MaterialColors {
    let mut colors = MaterialColors::new();
    for (index, (_, material)) in super::font_materials::MATERIALS.iter().enumerate() {
        let n = index as u8;
        colors.set_color(*material, Color3uint8::new(n, 255 - n, n.wrapping_mul(7)));
    }
    colors
}

/// Sample values covering every Variant type, with edge floats in every f32 slot.
fn samples() -> Vec<Variant> {
    let mut out = Vec::new();
    for i in 0..EDGE_F32.len() {
        out.push(Variant::Float32(f(i)));
        out.push(Variant::Vector2(Vector2::new(f(i), f(i + 1))));
        out.push(Variant::Vector3(v3(i)));
        out.push(Variant::Color3(Color3::new(f(i), f(i + 4), f(i + 8))));
        out.push(Variant::CFrame(cframe(i)));
        out.push(Variant::UDim(UDim::new(f(i), i32::MIN + i as i32)));
        out.push(Variant::NumberRange(NumberRange::new(f(i), f(i + 1))));
        out.push(Variant::Ray(Ray::new(v3(i), v3(i + 5))));
        out.push(Variant::Region3(Region3::new(v3(i), v3(i + 7))));
    }
    for x in [
        0.0,
        -0.0,
        0.1,
        1.0 / 3.0,
        f64::MAX,
        f64::MIN_POSITIVE,
        5e-324,
        1e21,
        9e15,
        f64::NAN,
    ] {
        out.push(Variant::Float64(x));
    }
    out.extend([
        Variant::Bool(true),
        Variant::Bool(false),
        Variant::Int32(i32::MIN),
        Variant::Int32(i32::MAX),
        Variant::Int64(i64::MIN),
        Variant::Int64(i64::MAX),
        Variant::Int64(9_007_199_254_740_993),
        Variant::String(String::new()),
        Variant::String("héllo \"quoted\" \\ \n\t\u{0}\u{1f}\u{7f}\u{2028} 日本 🎉".into()),
        Variant::BinaryString(BinaryString::from(vec![0u8, 255, 10, 13, 0x80, 0x3f])),
        Variant::BinaryString(BinaryString::from(b"plain text".to_vec())),
        Variant::SharedString(SharedString::new(vec![1, 2, 3, 0, 255])),
        Variant::NetAssetRef(NetAssetRef::new(vec![9, 8, 7])),
        Variant::Vector2int16(Vector2int16::new(i16::MIN, i16::MAX)),
        Variant::Vector3int16(Vector3int16::new(i16::MIN, 0, i16::MAX)),
        Variant::UDim2(UDim2::new(UDim::new(0.5, -3), UDim::new(-0.0, i32::MAX))),
        Variant::Color3uint8(Color3uint8::new(0, 128, 255)),
        Variant::BrickColor(BrickColor::from_number(194).unwrap()),
        Variant::NumberSequence(NumberSequence {
            keypoints: vec![
                NumberSequenceKeypoint::new(0.0, 1.0 / 3.0, -0.0),
                NumberSequenceKeypoint::new(1.0, 7.6e-6, 0.1),
            ],
        }),
        Variant::ColorSequence(ColorSequence {
            keypoints: vec![
                ColorSequenceKeypoint::new(0.0, Color3::new(0.1, 0.2, 0.3)),
                ColorSequenceKeypoint::new(1.0, Color3::new(1.0, -0.0, 1.0 / 3.0)),
            ],
        }),
        Variant::Rect(Rect::new(
            Vector2::new(-0.0, 0.1),
            Vector2::new(1e-45, f32::MAX),
        )),
        Variant::Region3int16(Region3int16::new(
            Vector3int16::new(-1, -2, -3),
            Vector3int16::new(i16::MAX, 5, 6),
        )),
        Variant::OptionalCFrame(None),
        Variant::OptionalCFrame(Some(cframe(3))),
        Variant::Enum(Enum::from_u32(816)),
        Variant::Enum(Enum::from_u32(u32::MAX)),
        Variant::EnumItem(EnumItem {
            ty: "Material".into(),
            value: 256,
        }),
        Variant::Faces(Faces::empty()),
        Variant::Faces(Faces::all()),
        Variant::Faces(Faces::from_bits(0b101001).unwrap()),
        Variant::Axes(Axes::empty()),
        Variant::Axes(Axes::all()),
        Variant::Axes(Axes::from_bits(0b101).unwrap()),
        Variant::PhysicalProperties(PhysicalProperties::Default),
        Variant::PhysicalProperties(PhysicalProperties::Custom(CustomPhysicalProperties::new(
            0.7,
            0.3,
            0.5,
            1.0,
            -0.0,
            1.0 / 3.0,
        ))),
        Variant::Font(Font::default()),
        Variant::Font(Font {
            family: "rbxasset://fonts/families/RobotoMono.json".into(),
            weight: FontWeight::Thin,
            style: FontStyle::Italic,
            cached_face_id: Some("rbxasset://fonts/RobotoMono-Thin.ttf".into()),
        }),
        Variant::Tags(Tags::new()),
        Variant::Tags(Tags::from(vec!["A".to_string(), "b c".into(), "".into()])),
        Variant::Attributes(Attributes::new()),
        Variant::Attributes(
            Attributes::new()
                .with("Health", 100.0f64)
                .with("Name", "x")
                .with("Bool", true)
                .with("Pos", Vector3::new(-0.0, 0.1, 1e-45))
                .with("Blob", BinaryString::from(b"abc".to_vec())),
        ),
        // A single attribute named like a type must not be mistaken for an explicit form.
        Variant::Attributes(Attributes::new().with("Bool", true)),
        Variant::Content(Content::none()),
        Variant::Content(Content::from_uri("")),
        Variant::Content(Content::from_uri("None")),
        Variant::Content(Content::from_uri("rbxassetid://1")),
        Variant::Content(Content::from_referent(Ref::some(0xdead_beef))),
        Variant::ContentId(ContentId::from("rbxassetid://1")),
        Variant::ContentId(ContentId::new()),
        Variant::Ref(Ref::none()),
        Variant::Ref(Ref::some(u128::MAX)),
        Variant::UniqueId(UniqueId::nil()),
        Variant::UniqueId(UniqueId::new(7, 123_456, -5)),
        Variant::UniqueId(UniqueId::new(u32::MAX, u32::MAX, i64::MAX)),
        Variant::SecurityCapabilities(SecurityCapabilities::from_bits(0)),
        Variant::SecurityCapabilities(SecurityCapabilities::from_bits(u64::MAX)),
        Variant::MaterialColors(full_material_colors()),
        Variant::MaterialColors(material_colors_default()),
    ]);
    out
}

fn material_colors_default() -> MaterialColors {
    let mut colors = MaterialColors::new();
    for (_, material) in super::font_materials::MATERIALS {
        colors.set_color(*material, material.default_color());
    }
    colors
}

/// Some property whose database type is `ty`, in a deterministic choice.
fn example_property(ty: VariantType) -> Option<(&'static str, &'static str)> {
    let db = database();
    let mut found: Vec<(&str, &str)> = db
        .classes
        .iter()
        .flat_map(|(class, descriptor)| {
            descriptor
                .properties
                .iter()
                .filter(|(_, p)| p.data_type.ty() == ty)
                .map(move |(name, _)| (*class, *name))
        })
        .collect();
    found.sort();
    found.into_iter().next()
}

#[test]
fn samples_cover_every_type() {
    let covered: Vec<VariantType> = samples().iter().map(Variant::ty).collect();
    for ty in ALL_TYPES {
        assert!(covered.contains(ty), "no sample of {ty:?}");
    }
}

#[test]
fn explicit_round_trips_every_type() {
    for value in samples() {
        let encoded = through_text(&encode_explicit(&value));
        let decoded = decode_property("Folder", "NotARealProperty", &encoded)
            .unwrap_or_else(|err| panic!("{value:?}: {err}"));
        assert_identical(&decoded, &value, "explicit");
    }
}

#[test]
fn attribute_round_trips_every_type_attributes_hold() {
    let mut refused = 0;
    for value in samples() {
        let encoded = through_text(&encode_attribute(&value));
        if !super::explicit::attribute_type(value.ty()) {
            // A place file cannot store it: refused when read, not when the build writes.
            let err = decode_attribute("A", &encoded).expect_err(&format!("{value:?}"));
            assert!(
                err.to_string().contains("an attribute cannot hold"),
                "{value:?}: {err}"
            );
            refused += 1;
            continue;
        }
        let decoded =
            decode_attribute("A", &encoded).unwrap_or_else(|err| panic!("{value:?}: {err}"));
        // A UTF-8 BinaryString is written as a plain string: the same attribute in a place.
        let expected = match &value {
            Variant::BinaryString(bytes) => match std::str::from_utf8(bytes.as_ref()) {
                Ok(text) => Variant::String(text.to_string()),
                Err(_) => value.clone(),
            },
            _ => value.clone(),
        };
        assert_identical(&decoded, &expected, "attribute");
    }
    assert!(refused > 0, "every sample type can be an attribute?");
}

#[test]
fn property_round_trips_every_type() {
    for value in samples() {
        let Some((class, property)) = example_property(value.ty()) else {
            continue;
        };
        let encoded = through_text(&encode_property(class, property, &value));
        let decoded = decode_property(class, property, &encoded)
            .unwrap_or_else(|err| panic!("{class}.{property} {value:?}: {err}"));
        assert_identical(&decoded, &value, &format!("{class}.{property}"));
    }
}

#[test]
fn property_round_trips_under_other_property_types() {
    // A value whose type differs from the database type must still come back unchanged.
    for value in samples() {
        let encoded = through_text(&encode_property("Part", "Size", &value));
        let decoded = decode_property("Part", "Size", &encoded).unwrap();
        assert_identical(&decoded, &value, "Part.Size");
    }
}

#[test]
fn every_enum_item_round_trips_by_name() {
    let value = Variant::Enum(Enum::from_u32(816));
    assert_eq!(
        encode_property("Part", "Material", &value),
        Value::from("Concrete")
    );
    let db = database();
    let material = &db.enums["Material"];
    for (name, item) in &material.items {
        let decoded = decode_property("Part", "Material", &Value::from(*name)).unwrap();
        assert_eq!(decoded, Variant::Enum(Enum::from_u32(*item)));
        let encoded = encode_property("Part", "Material", &decoded);
        assert_eq!(
            decode_property("Part", "Material", &encoded).unwrap(),
            decoded
        );
    }
}

fn decode(class: &str, property: &str, json5: &str) -> Variant {
    decode_property(class, property, &parse(json5).unwrap())
        .unwrap_or_else(|err| panic!("{class}.{property} = {json5}: {err}"))
}

#[test]
fn shorthand_examples_decode() {
    assert_eq!(decode("Part", "Anchored", "true"), Variant::Bool(true));
    assert_eq!(
        decode("StringValue", "Value", "'hi'"),
        Variant::String("hi".into())
    );
    assert_eq!(
        decode("Decal", "Texture", "'rbxassetid://1'"),
        Variant::ContentId("rbxassetid://1".into())
    );
    assert_eq!(
        decode("MeshPart", "MeshContent", "'rbxassetid://1'"),
        Variant::Content(Content::from_uri("rbxassetid://1"))
    );
    let voxel = database().enums["Technology"].items["Voxel"];
    assert_eq!(
        decode("Lighting", "Technology", "'Voxel'"),
        Variant::Enum(Enum::from_u32(voxel))
    );
    assert_eq!(
        decode("Part", "Material", "'Concrete'"),
        Variant::Enum(Enum::from_u32(816))
    );
    assert_eq!(
        decode("Part", "Material", "816"),
        Variant::Enum(Enum::from_u32(816))
    );
    assert_eq!(decode("IntValue", "Value", "65"), Variant::Int64(65));
    assert_eq!(decode("IntValue", "Value", "-65.9"), Variant::Int64(-65));
    assert_eq!(decode("Part", "Transparency", "0.5"), Variant::Float32(0.5));
    // The type follows the database: a Float32 written for a Float64 property is Float64.
    assert_eq!(
        decode_property("NumberValue", "Value", &Value::Float32(0.1)).unwrap(),
        Variant::Float64(f64::from(0.1f32))
    );
    assert_eq!(
        decode("Part", "Tags", "['A', 'B']"),
        Variant::Tags(Tags::from(vec!["A".to_string(), "B".to_string()]))
    );
    assert_eq!(
        decode("ParticleEmitter", "SpreadAngle", "[1, 2]"),
        Variant::Vector2(Vector2::new(1.0, 2.0))
    );
    assert_eq!(
        decode("Part", "Size", "[4, 1, 2]"),
        Variant::Vector3(Vector3::new(4.0, 1.0, 2.0))
    );
    assert_eq!(
        decode("Part", "Color", "[0.5, 0.25, 0]"),
        Variant::Color3(Color3::new(0.5, 0.25, 0.0))
    );
    assert_eq!(
        decode("Part", "CFrame", "[1,2,3, 0,1,0, 0,0,1, 1,0,0]"),
        Variant::CFrame(CFrame::new(
            Vector3::new(1.0, 2.0, 3.0),
            Matrix3::new(
                Vector3::new(0.0, 1.0, 0.0),
                Vector3::new(0.0, 0.0, 1.0),
                Vector3::new(1.0, 0.0, 0.0),
            ),
        ))
    );
    assert_eq!(
        decode("Folder", "Attributes", "{ Hey: { String: 'Grandma' } }"),
        Variant::Attributes(Attributes::new().with("Hey", "Grandma"))
    );
    assert_eq!(
        decode(
            "TextLabel",
            "FontFace",
            "{ family: 'rbxasset://fonts/families/RobotoMono.json', weight: 'Thin', style: 'Normal' }"
        ),
        Variant::Font(Font::new(
            "rbxasset://fonts/families/RobotoMono.json",
            FontWeight::Thin,
            FontStyle::Normal
        ))
    );
    let Variant::MaterialColors(colors) =
        decode("Terrain", "MaterialColors", "{ Grass: [10, 20, 30] }")
    else {
        panic!("not MaterialColors");
    };
    assert_eq!(
        colors.get_color(TerrainMaterials::Grass),
        Color3uint8::new(10, 20, 30)
    );
    assert_eq!(
        colors.get_color(TerrainMaterials::Mud),
        TerrainMaterials::Mud.default_color()
    );
    assert_eq!(colors, {
        let mut expected = material_colors_default();
        expected.set_color(TerrainMaterials::Grass, Color3uint8::new(10, 20, 30));
        expected
    });
}

#[test]
fn encoding_prefers_shorthand_only_when_exact() {
    let size = Variant::Vector3(Vector3::new(4.0, 1.0, 0.1));
    assert_eq!(
        encode_property("Part", "Size", &size),
        Value::Array(vec![
            Value::Float32(4.0),
            Value::Float32(1.0),
            Value::Float32(0.1)
        ])
    );
    assert_eq!(
        to_canonical_string(&encode_property("Part", "Size", &size)),
        "[ 4, 1, 0.1 ]\n"
    );
    // Not a member of the property's enum: explicit.
    let odd = Variant::Enum(Enum::from_u32(123_456));
    assert_eq!(
        encode_property("Part", "Material", &odd),
        parse("{ Enum: 123456 }").unwrap()
    );
    // Content::none stays explicit so it does not come back as an empty Uri.
    let none = Variant::Content(Content::none());
    assert_eq!(
        encode_property("MeshPart", "MeshContent", &none),
        parse("{ Content: 'None' }").unwrap()
    );
    assert_eq!(
        encode_property(
            "MeshPart",
            "MeshContent",
            &Variant::Content(Content::from_uri(""))
        ),
        Value::from("")
    );
    // Type differs from the database type (Part.Color is Color3): explicit.
    let color = Variant::Color3uint8(Color3uint8::new(1, 2, 3));
    assert_eq!(
        encode_property("Part", "Color", &color),
        parse("{ Color3uint8: [1, 2, 3] }").unwrap()
    );
    // Unknown property: explicit.
    assert_eq!(
        encode_property("Part", "NoSuchThing", &Variant::Bool(true)),
        parse("{ Bool: true }").unwrap()
    );
    let float = Variant::Float32(0.1);
    assert_eq!(
        encode_property("NumberValue", "Value", &float),
        Value::object([("Float32", Value::Float32(0.1))])
    );
    // An Attributes object whose only key is a type name would read as explicit.
    let attrs = Variant::Attributes(Attributes::new().with("Bool", true));
    let encoded = encode_property("Folder", "Attributes", &attrs);
    assert!(encoded.as_object().unwrap().contains_key("Attributes"));
    assert_eq!(
        decode_property("Folder", "Attributes", &encoded).unwrap(),
        attrs
    );
}

#[test]
fn attributes_encode_unambiguously() {
    assert_eq!(
        encode_attribute(&Variant::String("x".into())),
        Value::from("x")
    );
    assert_eq!(encode_attribute(&Variant::Float64(2.5)), Value::Float(2.5));
    assert_eq!(encode_attribute(&Variant::Bool(true)), Value::Bool(true));
    let text = Variant::BinaryString(BinaryString::from(b"text".to_vec()));
    assert_eq!(encode_attribute(&text), Value::from("text"));
    let blob = Variant::BinaryString(BinaryString::from(vec![0x74, 0xff, 0x00]));
    assert_eq!(
        encode_attribute(&blob),
        parse("{ BinaryString: 'dP8A' }").unwrap()
    );
    assert_eq!(
        decode_attribute("N", &Value::Int(3)).unwrap(),
        Variant::Float64(3.0)
    );
    let map = parse("{ a: 'x', b: 1.5, c: false, d: { Vector3: [1, 2, 3] } }").unwrap();
    let attributes = decode_attributes(map.as_object().unwrap()).unwrap();
    assert_eq!(
        attributes.get("d"),
        Some(&Variant::Vector3(Vector3::new(1.0, 2.0, 3.0)))
    );
    assert_eq!(attributes.len(), 4);
}

#[test]
fn property_type_walks_superclasses() {
    assert_eq!(property_type("Part", "Size"), Some(VariantType::Vector3));
    assert_eq!(property_type("Part", "Name"), Some(VariantType::String));
    assert_eq!(property_type("Part", "Material"), Some(VariantType::Enum));
    assert_eq!(property_type("Part", "size"), Some(VariantType::Vector3));
    assert_eq!(property_type("Part", "Nope"), None);
    assert_eq!(property_type("NoSuchClass", "Name"), None);
}

fn error(class: &str, property: &str, json5: &str) -> String {
    decode_property(class, property, &parse(json5).unwrap())
        .expect_err("expected an error")
        .to_string()
}

#[test]
fn errors_name_the_property_and_shape() {
    assert_eq!(
        error("Part", "Size", "'big'"),
        "Property Part.Size expects Vector3 (an array of 3 numbers), got a string"
    );
    assert_eq!(
        error("Part", "Size", "[1, 2]"),
        "Property Part.Size expects Vector3 (an array of 3 numbers), got an array of 2 items"
    );
    assert_eq!(
        error("Part", "Size", "[1, 'x', 2]"),
        "Property Part.Size expects Vector3 (an array of 3 numbers), got a string at [1]"
    );
    assert_eq!(
        error("Part", "Size", "{ Vector3: [1, 2] }"),
        "Property Part.Size expects Vector3 (an array of 3 numbers), got an array of 2 items"
    );
    let message = error(
        "Beam",
        "Transparency",
        "{ NumberSequence: { keypoints: [{ time: 0, value: 'x', envelope: 0 }] } }",
    );
    assert!(
        message.starts_with("Property Beam.Transparency expects NumberSequence"),
        "{message}"
    );
    assert!(
        message.ends_with("got a string at keypoints[0].value"),
        "{message}"
    );
    assert!(error("Part", "Wat", "1").contains("Unknown property Part.Wat"));
    let message = error("Part", "Material", "'Cheese'");
    assert_eq!(
        message,
        "Property Part.Material: \"Cheese\" is not an item of enum Material"
    );
    let message = error("ObjectValue", "Value", "'Workspace/Part'");
    assert!(message.contains("Rojo_Ref_Value"), "{message}");
    assert!(error("Part", "BrickColor", "{ BrickColor: 9999 }").contains("not a BrickColor number"));
    let message = error("Frame", "Size", "[[0, 1], [0, 2]]");
    assert!(
        message.contains("Property Frame.Size has type UDim2"),
        "{message}"
    );
    assert!(error("IntValue", "Value", "{ Int64: 1.5 }").contains("not an integer"));
    assert!(
        error("Model", "Attributes", "{ Int32: 3000000000 }").contains("out of range for Int32")
    );
    assert!(error("Folder", "X", "{ BinaryString: '***' }").contains("invalid base64"));
    assert!(error("Folder", "X", "{ Ref: 'abc' }").contains("32 hex digits"));
    let message = decode_attribute("Speed", &parse("[1, 2]").unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with("Attribute Speed expects a string, number, boolean"),
        "{message}"
    );
    let message = decode_attribute("Pos", &parse("{ Vector3: 'x' }").unwrap())
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        "Attribute Pos expects Vector3 (an array of 3 numbers), got a string"
    );
}

#[test]
fn physical_properties_accept_missing_acoustic_absorption() {
    let value = decode(
        "Part",
        "CustomPhysicalProperties",
        "{ PhysicalProperties: { density: 1, friction: 0.5, elasticity: 0.2, frictionWeight: 1, elasticityWeight: 1 } }",
    );
    let Variant::PhysicalProperties(PhysicalProperties::Custom(custom)) = value else {
        panic!("not custom");
    };
    assert_eq!(custom.acoustic_absorption(), 1.0);
    assert_eq!(custom.friction(), 0.5);
}

#[test]
fn identical_sees_zero_sign_and_nan() {
    assert!(!identical(&Variant::Float32(0.0), &Variant::Float32(-0.0)));
    assert!(identical(
        &Variant::Float32(f32::NAN),
        &Variant::Float32(f32::NAN)
    ));
    let a = Variant::Vector3(Vector3::new(0.0, 1.0, f32::NAN));
    let b = Variant::Vector3(Vector3::new(-0.0, 1.0, f32::NAN));
    assert!(identical(&a, &a.clone()));
    assert!(!identical(&a, &b));
    assert!(!identical(&Variant::Float32(1.0), &Variant::Float64(1.0)));
}

#[test]
fn plugin_can_write_follows_scriptability() {
    // ReadWrite, inherited from BasePart and Instance.
    assert!(plugin_can_write("Part", "Size"));
    assert!(plugin_can_write("Part", "Name"));
    // Custom: written through methods the plugin knows.
    assert!(plugin_can_write("Model", "Scale"));
    assert!(plugin_can_write("Model", "WorldPivotData"));
    assert!(plugin_can_write("Part", "Attributes"));
    // NotScriptable (inherited from Instance) and read-only.
    assert!(!plugin_can_write("Part", "SourceAssetId"));
    assert!(!plugin_can_write("MeshPart", "MeshId"));
    assert!(!plugin_can_write("Workspace", "StreamingTargetRadius"));
    // Aliases follow what they stand for (`size` is `Size`, `ScaleFactor` is `Scale`).
    assert!(plugin_can_write("Part", "size"));
    assert!(plugin_can_write("Part", "Color3uint8"));
    assert!(plugin_can_write("Model", "ScaleFactor"));
    // Unknown to the database: perhaps newer than it, so sent.
    assert!(plugin_can_write("Part", "BrandNewProperty"));
    assert!(plugin_can_write("BrandNewClass", "Anything"));
}
