//! A minimal `.glb` writer for splats.

use bevy::math::{Quat, Vec3};
use serde_json::{Value, json};

use super::container::{CHUNK_BIN, CHUNK_JSON, GLB_MAGIC};
use super::scene::canonical_to_gltf;
use super::{
    EXTENSION_NAME, OPACITY_ATTRIBUTE, ROTATION_ATTRIBUTE, SCALE_ATTRIBUTE, sh_attribute_name,
};
use crate::splat::asset::{GaussianSplats, MAX_SH_DEGREE, sh_coefficient_count};

/// Writes splats (in the canonical frame) as a minimal conforming `.glb`: one
/// node, one mesh with one `POINTS` primitive carrying `KHR_gaussian_splatting`
/// (`kernel` `ellipse`, `colorSpace` `srgb_rec709_display`), float attributes
/// for position, rotation, scale, opacity and every SH coefficient, converted
/// to the glTF frame. [`parse_gltf_splats`](super::parse_gltf_splats) reads it back exactly.
///
/// The splats should pass [`GaussianSplats::validate`]; missing entries of
/// shorter arrays are written as identity / zero values. An empty scene gives
/// an asset without meshes, which the reader rejects with
/// [`GltfSplatError::NoSplatPrimitive`](super::GltfSplatError::NoSplatPrimitive).
pub fn write_glb_splats(splats: &GaussianSplats) -> Vec<u8> {
    let mut s = GaussianSplats {
        sh_degree: splats.sh_degree.min(MAX_SH_DEGREE),
        ..Default::default()
    };
    let n = splats.len();
    let k_in = sh_coefficient_count(splats.sh_degree.min(15));
    let k = sh_coefficient_count(s.sh_degree);
    for i in 0..n {
        s.positions
            .push(splats.positions.get(i).copied().unwrap_or(Vec3::ZERO));
        s.rotations
            .push(splats.rotations.get(i).copied().unwrap_or(Quat::IDENTITY));
        s.scales
            .push(splats.scales.get(i).copied().unwrap_or(Vec3::ZERO));
        s.opacities
            .push(splats.opacities.get(i).copied().unwrap_or(0.0));
        for j in 0..k {
            s.sh.push(splats.sh.get(i * k_in + j).copied().unwrap_or([0.0; 3]));
        }
    }
    canonical_to_gltf(&mut s);

    let mut asset = json!({
        "asset": { "version": "2.0", "generator": "bevy_radiance" },
        "extensionsUsed": [EXTENSION_NAME],
    });
    if n == 0 {
        return assemble_glb(&asset, &[]);
    }
    let mut bin: Vec<u8> = Vec::new();
    let mut views = Vec::new();
    let mut accessors = Vec::new();
    let mut attributes = serde_json::Map::new();
    let mut add = |name: String, ty: &str, data: &[f32], extra: Option<(Vec3, Vec3)>| {
        let offset = bin.len();
        for v in data {
            bin.extend_from_slice(&v.to_le_bytes());
        }
        views.push(json!({ "buffer": 0, "byteOffset": offset, "byteLength": data.len() * 4 }));
        let mut accessor = json!({
            "bufferView": views.len() - 1,
            "componentType": 5126,
            "count": n,
            "type": ty,
        });
        if let (Some((lo, hi)), Some(obj)) = (extra, accessor.as_object_mut()) {
            obj.insert("min".into(), json!([lo.x, lo.y, lo.z]));
            obj.insert("max".into(), json!([hi.x, hi.y, hi.z]));
        }
        accessors.push(accessor);
        attributes.insert(name, json!(accessors.len() - 1));
    };
    let flat3 = |v: &[Vec3]| v.iter().flat_map(|p| p.to_array()).collect::<Vec<f32>>();
    add("POSITION".into(), "VEC3", &flat3(&s.positions), s.bounds());
    let rot: Vec<f32> = s.rotations.iter().flat_map(|q| q.to_array()).collect();
    add(ROTATION_ATTRIBUTE.into(), "VEC4", &rot, None);
    add(SCALE_ATTRIBUTE.into(), "VEC3", &flat3(&s.scales), None);
    add(OPACITY_ATTRIBUTE.into(), "SCALAR", &s.opacities, None);
    for degree in 0..=s.sh_degree {
        for c in 0..2 * degree + 1 {
            let j = (degree as usize) * (degree as usize) + c as usize;
            let data: Vec<f32> = (0..n)
                .flat_map(|i| s.sh.get(i * k + j).copied().unwrap_or([0.0; 3]))
                .collect();
            add(sh_attribute_name(degree, c), "VEC3", &data, None);
        }
    }
    if let Some(obj) = asset.as_object_mut() {
        obj.insert("scene".into(), json!(0));
        obj.insert("scenes".into(), json!([{ "nodes": [0] }]));
        obj.insert("nodes".into(), json!([{ "mesh": 0 }]));
        obj.insert(
            "meshes".into(),
            json!([{ "primitives": [{
                "attributes": attributes,
                "mode": 0,
                "extensions": { EXTENSION_NAME: {
                    "kernel": "ellipse",
                    "colorSpace": "srgb_rec709_display",
                    "projection": "perspective",
                    "sortingMethod": "cameraDistance",
                } },
            }] }]),
        );
        obj.insert("buffers".into(), json!([{ "byteLength": bin.len() }]));
        obj.insert("bufferViews".into(), Value::Array(views));
        obj.insert("accessors".into(), Value::Array(accessors));
    }
    assemble_glb(&asset, &bin)
}

/// Builds a `.glb` container from a JSON document and BIN chunk contents.
pub(super) fn assemble_glb(json: &Value, bin: &[u8]) -> Vec<u8> {
    let mut json_bytes = serde_json::to_vec(json).unwrap_or_default();
    while !json_bytes.len().is_multiple_of(4) {
        json_bytes.push(b' ');
    }
    let bin_padded = bin.len().div_ceil(4) * 4;
    let mut total = 12 + 8 + json_bytes.len();
    if !bin.is_empty() {
        total += 8 + bin_padded;
    }
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&GLB_MAGIC.to_le_bytes());
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&(json_bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(&CHUNK_JSON.to_le_bytes());
    out.extend_from_slice(&json_bytes);
    if !bin.is_empty() {
        out.extend_from_slice(&(bin_padded as u32).to_le_bytes());
        out.extend_from_slice(&CHUNK_BIN.to_le_bytes());
        out.extend_from_slice(bin);
        out.resize(total, 0);
    }
    out
}
