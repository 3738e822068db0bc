//! Font and MaterialColors values: both forms share one object shape, used by the
//! explicit form and the shorthand alike.

use rbx_types::{Font, FontStyle, FontWeight, MaterialColors, TerrainMaterials};

use super::explicit::{color3uint8, color3uint8_value};
use super::fields::*;
use crate::json_value::Value;

/// `cachedFaceId` is written as `null` when absent so every Font has the same keys.
pub(super) fn font_value(font: &Font) -> Value {
    Value::object([
        (
            "cachedFaceId",
            match &font.cached_face_id {
                Some(id) => Value::from(id.as_str()),
                None => Value::Null,
            },
        ),
        ("family", Value::from(font.family.as_str())),
        ("style", font_style_value(font.style)),
        ("weight", font_weight_value(font.weight)),
    ])
}

const FONT_WEIGHTS: &[(&str, FontWeight)] = &[
    ("Thin", FontWeight::Thin),
    ("ExtraLight", FontWeight::ExtraLight),
    ("Light", FontWeight::Light),
    ("Regular", FontWeight::Regular),
    ("Medium", FontWeight::Medium),
    ("SemiBold", FontWeight::SemiBold),
    ("Bold", FontWeight::Bold),
    ("ExtraBold", FontWeight::ExtraBold),
    ("Heavy", FontWeight::Heavy),
];

const FONT_STYLES: &[(&str, FontStyle)] =
    &[("Normal", FontStyle::Normal), ("Italic", FontStyle::Italic)];

/// Weight and style are names; a value newer than this table is kept as its number.
fn font_weight_value(weight: FontWeight) -> Value {
    match FONT_WEIGHTS.iter().find(|(_, w)| *w == weight) {
        Some((name, _)) => Value::from(*name),
        None => Value::Int(i64::from(weight.as_u16())),
    }
}

fn font_style_value(style: FontStyle) -> Value {
    match FONT_STYLES.iter().find(|(_, s)| *s == style) {
        Some((name, _)) => Value::from(*name),
        None => Value::Int(i64::from(style.as_u8())),
    }
}

pub(super) fn font(value: &Value) -> Decoded<Font> {
    let map = object(value)?;
    only_keys(map, &["cachedFaceId", "family", "style", "weight"])?;
    let weight = field_with(map, "weight", |v| match v {
        Value::String(name) => FONT_WEIGHTS
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, w)| *w)
            .ok_or_else(|| Fail::invalid(format!("\"{name}\" is not a FontWeight"))),
        _ => FontWeight::from_u16(integer_as(v, "a FontWeight")?)
            .ok_or_else(|| Fail::invalid("not a FontWeight value")),
    })?;
    let style = field_with(map, "style", |v| match v {
        Value::String(name) => FONT_STYLES
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| *s)
            .ok_or_else(|| Fail::invalid(format!("\"{name}\" is not a FontStyle"))),
        _ => FontStyle::from_u8(integer_as(v, "a FontStyle")?)
            .ok_or_else(|| Fail::invalid("not a FontStyle value")),
    })?;
    let cached_face_id = match map.get("cachedFaceId") {
        None | Some(Value::Null) => None,
        Some(v) => Some(string(v).map_err(|f| f.at_key("cachedFaceId"))?.to_string()),
    };
    Ok(Font {
        family: field_with(map, "family", string)?.to_string(),
        weight,
        style,
        cached_face_id,
    })
}

/// The 21 terrain materials in the order Roblox stores them.
pub(super) const MATERIALS: &[(&str, TerrainMaterials)] = &[
    ("Grass", TerrainMaterials::Grass),
    ("Slate", TerrainMaterials::Slate),
    ("Concrete", TerrainMaterials::Concrete),
    ("Brick", TerrainMaterials::Brick),
    ("Sand", TerrainMaterials::Sand),
    ("WoodPlanks", TerrainMaterials::WoodPlanks),
    ("Rock", TerrainMaterials::Rock),
    ("Glacier", TerrainMaterials::Glacier),
    ("Snow", TerrainMaterials::Snow),
    ("Sandstone", TerrainMaterials::Sandstone),
    ("Mud", TerrainMaterials::Mud),
    ("Basalt", TerrainMaterials::Basalt),
    ("Ground", TerrainMaterials::Ground),
    ("CrackedLava", TerrainMaterials::CrackedLava),
    ("Asphalt", TerrainMaterials::Asphalt),
    ("Cobblestone", TerrainMaterials::Cobblestone),
    ("Ice", TerrainMaterials::Ice),
    ("LeafyGrass", TerrainMaterials::LeafyGrass),
    ("Salt", TerrainMaterials::Salt),
    ("Limestone", TerrainMaterials::Limestone),
    ("Pavement", TerrainMaterials::Pavement),
];

/// Every material is written, so the value reads back complete.
pub(super) fn material_colors_value(colors: &MaterialColors) -> Value {
    Value::object(
        MATERIALS
            .iter()
            .map(|(name, material)| (*name, color3uint8_value(colors.get_color(*material)))),
    )
}

/// Materials that are not given get their default colour, so the result always holds all
/// 21 materials, the same as a MaterialColors read from a place file.
pub(super) fn material_colors(value: &Value) -> Decoded<MaterialColors> {
    let map = object(value)?;
    if let Some(key) = map.keys().find(|k| !MATERIALS.iter().any(|(n, _)| n == k)) {
        return Err(Fail::invalid(format!(
            "\"{key}\" is not a terrain material"
        )));
    }
    let mut colors = MaterialColors::new();
    for (name, material) in MATERIALS {
        let color = match map.get(*name) {
            Some(v) => color3uint8(v).map_err(|f| f.at_key(name))?,
            None => material.default_color(),
        };
        colors.set_color(*material, color);
    }
    Ok(colors)
}
