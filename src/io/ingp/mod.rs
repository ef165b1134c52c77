//! Reading instant-ngp NeRF snapshots (`.ingp`: deflate-compressed MessagePack,
//! gzip or zlib framed; `.msgpack`: plain MessagePack) into a typed
//! [`FieldSnapshot`], with instant-ngp's defaults resolved and every size checked.
//!
//! Memory stays proportional to the file: the decompressed document is capped
//! at [`MAX_COMPRESSION_RATIO`]× the compressed size and [`MAX_DOCUMENT_BYTES`],
//! the MessagePack tree borrows the byte blobs, and nothing is preallocated from
//! a length the file claims before that length has been checked.

use std::io::Read;

use bevy::math::Vec3;
use rmpv::ValueRef;

mod error;
mod file;

pub use error::RadianceFieldLoadError;
pub use file::{
    RadianceFieldFileError, RadianceFieldLoaderSettings, decode_radiance_field, load_radiance_field_file,
    load_radiance_field_file_with_settings,
};

use crate::field::encoding::{GridType, HashGridConfig, MAX_DENSE_RESOLUTION, per_level_scale};
use crate::field::mlp::{Activation, MLP_ALIGNMENT, MlpConfig, next_multiple};
use crate::field::occupancy::{MAX_CASCADES, OCCUPANCY_GRID_CELLS, OCCUPANCY_GRID_SIZE};
use crate::field::snapshot::{DatasetInfo, FieldSnapshot, ParamsType};
use document::{Node, unsupported};

/// Largest decompressed document accepted (2 GiB).
pub const MAX_DOCUMENT_BYTES: u64 = 2 << 30;
/// Largest accepted ratio of decompressed to compressed size.
pub const MAX_COMPRESSION_RATIO: u64 = 64;
/// Deepest MessagePack nesting accepted.
pub const MAX_MSGPACK_DEPTH: usize = 64;
/// Output width of the rgb network that carries colour.
pub const RGB_OUTPUTS: u32 = 3;
/// Spherical-harmonics degree (tiny-cuda-nn's count: `degree²` outputs) supported.
pub const SH_DEGREE: u32 = 4;

/// Undoes the container: gzip or zlib deflate streams are inflated (capped),
/// a plain MessagePack map is returned as is.
pub fn decompress_container(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, RadianceFieldLoadError> {
    let cap = (bytes.len() as u64).saturating_mul(MAX_COMPRESSION_RATIO).min(MAX_DOCUMENT_BYTES);
    let read_capped = |reader: &mut dyn Read, what: &str| -> Result<Vec<u8>, RadianceFieldLoadError> {
        let mut out = Vec::with_capacity(bytes.len().saturating_mul(4).min(cap as usize));
        reader
            .take(cap + 1)
            .read_to_end(&mut out)
            .map_err(|e| RadianceFieldLoadError::BadContainer(format!("{what} stream: {e}")))?;
        if out.len() as u64 > cap {
            return Err(RadianceFieldLoadError::Oversize(format!(
                "the {what} stream inflates beyond {cap} bytes ({MAX_COMPRESSION_RATIO}× the file, at most {MAX_DOCUMENT_BYTES})"
            )));
        }
        Ok(out)
    };
    match bytes {
        [] => Err(RadianceFieldLoadError::BadContainer("the file is empty".into())),
        [0x1f, 0x8b, ..] => Ok(read_capped(&mut flate2::read::MultiGzDecoder::new(bytes), "gzip")?.into()),
        [cmf, flg, ..] if cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0 => {
            Ok(read_capped(&mut flate2::read::ZlibDecoder::new(bytes), "zlib")?.into())
        }
        [0x80..=0x8f | 0xde | 0xdf, ..] => Ok(bytes.into()),
        [a, rest @ ..] => Err(RadianceFieldLoadError::BadContainer(format!(
            "neither gzip, zlib nor a MessagePack map (starts with {a:02x}{})",
            rest.first().map(|b| format!(" {b:02x}")).unwrap_or_default()
        ))),
    }
}

/// Parses a snapshot file's bytes (`.ingp` or `.msgpack`, told apart by content).
pub fn parse_snapshot(bytes: &[u8]) -> Result<FieldSnapshot, RadianceFieldLoadError> {
    let document = decompress_container(bytes)?;
    let mut reader: &[u8] = &document;
    let root = rmpv::decode::read_value_ref_with_max_depth(&mut reader, MAX_MSGPACK_DEPTH)
        .map_err(|e| RadianceFieldLoadError::Msgpack(e.to_string()))?;
    if !reader.is_empty() {
        return Err(RadianceFieldLoadError::Msgpack(format!("{} trailing bytes after the document", reader.len())));
    }
    snapshot_from_value(&root)
}

fn parse_encoding(node: &Node<'_, '_>, aabb_scale: u32) -> Result<HashGridConfig, RadianceFieldLoadError> {
    let otype = node.opt_str("otype")?.unwrap_or("OneBlob");
    let default_type = if otype.eq_ignore_ascii_case("HashGrid") || otype.eq_ignore_ascii_case("Grid") {
        GridType::Hash
    } else if otype.eq_ignore_ascii_case("DenseGrid") {
        GridType::Dense
    } else if otype.eq_ignore_ascii_case("TiledGrid") {
        GridType::Tiled
    } else {
        return Err(unsupported(
            &node.child_path("otype"),
            format!("{otype:?}"),
            "only HashGrid, Grid, DenseGrid and TiledGrid position encodings are supported",
        ));
    };
    let grid_type = match node.opt("type")? {
        None => default_type,
        Some(n) => match n.str()? {
            t if t.eq_ignore_ascii_case("Hash") => GridType::Hash,
            t if t.eq_ignore_ascii_case("Dense") => GridType::Dense,
            t if t.eq_ignore_ascii_case("Tiled") => GridType::Tiled,
            t => return Err(n.unsupported(format!("{t:?}"), "the grid type must be Hash, Dense or Tiled")),
        },
    };
    let features_per_level = node.opt_u32("n_features_per_level")?.unwrap_or(2);
    if ![1, 2, 4, 8].contains(&features_per_level) {
        return Err(unsupported(&node.child_path("n_features_per_level"), features_per_level, "must be 1, 2, 4 or 8"));
    }
    let n_features = match node.opt_u32("n_features")? {
        Some(n) => Some(n),
        None => node.opt_u32("n_grid_features")?,
    };
    let n_levels = match n_features {
        Some(n) if n > 0 => n / features_per_level,
        _ => node.opt_u32("n_levels")?.unwrap_or(16),
    };
    if !(1..=128).contains(&n_levels) {
        return Err(unsupported(&node.child_path("n_levels"), n_levels, "must be 1..=128"));
    }
    let log2_hashmap_size = node.opt_u32("log2_hashmap_size")?;
    let table_log2 = log2_hashmap_size.unwrap_or(19);
    if !(1..=30).contains(&table_log2) {
        return Err(unsupported(&node.child_path("log2_hashmap_size"), table_log2, "must be 1..=30"));
    }
    // instant-ngp derives a missing base resolution from log2_hashmap_size read with default 15.
    let base_resolution = match node.opt_u32("base_resolution")? {
        Some(b) if b > 0 => b,
        _ => 1 << (log2_hashmap_size.unwrap_or(15) / 3),
    };
    if base_resolution > 1 << 16 {
        return Err(unsupported(&node.child_path("base_resolution"), base_resolution, "too large"));
    }
    let stored = node.opt_f32("per_level_scale")?.unwrap_or(0.0);
    let per_level_scale = if stored > 0.0 { stored } else { per_level_scale(n_levels, base_resolution, aabb_scale) };
    if !(per_level_scale.is_finite() && (1.0..=64.0).contains(&per_level_scale)) {
        return Err(unsupported(&node.child_path("per_level_scale"), per_level_scale, "must be a finite growth factor in [1, 64]"));
    }
    if let Some(n) = node.opt("interpolation")? {
        let v = n.str()?;
        if !v.eq_ignore_ascii_case("Linear") {
            return Err(n.unsupported(format!("{v:?}"), "only Linear interpolation is supported"));
        }
    }
    if let Some(n) = node.opt("hash")? {
        let v = n.str()?;
        if !v.eq_ignore_ascii_case("CoherentPrime") {
            return Err(n.unsupported(format!("{v:?}"), "only the CoherentPrime hash is supported"));
        }
    }
    if node.opt_bool("fixed_point_pos")? == Some(true) {
        return Err(unsupported(&node.child_path("fixed_point_pos"), true, "fixed-point positions are not supported"));
    }
    let config = HashGridConfig {
        n_levels,
        features_per_level,
        log2_hashmap_size: table_log2,
        base_resolution,
        per_level_scale,
        grid_type,
    };
    if grid_type != GridType::Hash
        && let Some(l) = config.levels().iter().find(|l| l.resolution > MAX_DENSE_RESOLUTION)
    {
        return Err(unsupported(
            &node.child_path("otype"),
            format!("{otype:?}"),
            &format!("a dense level of resolution {} overflows the index", l.resolution),
        ));
    }
    Ok(config)
}

fn parse_mlp(node: &Node<'_, '_>, input_width: u32, fixed_outputs: Option<u32>) -> Result<MlpConfig, RadianceFieldLoadError> {
    let otype = node.opt_str("otype")?.unwrap_or("MLP");
    if !otype.eq_ignore_ascii_case("FullyFusedMLP") {
        return Err(unsupported(&node.child_path("otype"), format!("{otype:?}"), "only FullyFusedMLP networks are supported"));
    }
    let n_neurons = node.opt_u32("n_neurons")?.unwrap_or(128);
    if ![16, 32, 64, 128].contains(&n_neurons) {
        return Err(unsupported(&node.child_path("n_neurons"), n_neurons, "FullyFusedMLP has 16, 32, 64 or 128 neurons"));
    }
    let n_hidden_layers = node.opt_u32("n_hidden_layers")?.unwrap_or(5);
    if !(1..=64).contains(&n_hidden_layers) {
        return Err(unsupported(&node.child_path("n_hidden_layers"), n_hidden_layers, "FullyFusedMLP has 1..=64 hidden layers"));
    }
    let activation = |key: &str, default: Activation| -> Result<Activation, RadianceFieldLoadError> {
        match node.opt(key)? {
            None => Ok(default),
            Some(n) => {
                let name = n.str()?;
                Activation::from_name(name).ok_or_else(|| n.unsupported(format!("{name:?}"), "unknown activation"))
            }
        }
    };
    let output_width = match fixed_outputs {
        Some(fixed) => fixed,
        None => node.opt_u32("n_output_dims")?.unwrap_or(16),
    };
    if !(1..=128).contains(&output_width) {
        return Err(unsupported(&node.child_path("n_output_dims"), output_width, "must be 1..=128"));
    }
    Ok(MlpConfig {
        n_neurons,
        n_hidden_layers,
        activation: activation("activation", Activation::ReLU)?,
        output_activation: activation("output_activation", Activation::None)?,
        input_width,
        output_width,
    })
}

fn check_sh(sh: &Node<'_, '_>) -> Result<(), RadianceFieldLoadError> {
    let otype = sh.opt_str("otype")?.unwrap_or("OneBlob");
    if !otype.eq_ignore_ascii_case("SphericalHarmonics") {
        return Err(unsupported(&sh.child_path("otype"), format!("{otype:?}"), "the direction encoding must be SphericalHarmonics"));
    }
    let degree = sh.opt_u32("degree")?.unwrap_or(4);
    if degree != SH_DEGREE {
        return Err(unsupported(&sh.child_path("degree"), degree, "only degree 4 (16 coefficients) is supported"));
    }
    if let Some(n) = sh.opt_u32("n_dims_to_encode")?
        && n != 3
    {
        return Err(unsupported(&sh.child_path("n_dims_to_encode"), n, "spherical harmonics encode 3 dims"));
    }
    Ok(())
}

/// Checks that the direction encoding is degree-4 spherical harmonics of the 3D
/// direction (alone, or first in a `Composite` whose other parts encode nothing).
fn check_dir_encoding(node: &Node<'_, '_>) -> Result<(), RadianceFieldLoadError> {
    let otype = node.opt_str("otype")?.unwrap_or("OneBlob");
    if otype.eq_ignore_ascii_case("SphericalHarmonics") {
        return check_sh(node);
    }
    if !otype.eq_ignore_ascii_case("Composite") {
        return Err(unsupported(
            &node.child_path("otype"),
            format!("{otype:?}"),
            "the direction encoding must be SphericalHarmonics (alone or first in a Composite)",
        ));
    }
    let nested = node.get("nested")?;
    let items = nested.array()?;
    let Some(first) = items.first() else {
        return Err(nested.unsupported("[]", "the composite direction encoding is empty"));
    };
    check_sh(&nested.index(0, first))?;
    for (i, item) in items.iter().enumerate().skip(1) {
        let part = nested.index(i, item);
        let dims = part.opt_u32("n_dims_to_encode")?.unwrap_or(0);
        if dims != 0 {
            return Err(unsupported(&part.child_path("n_dims_to_encode"), dims, "extra direction inputs are not supported"));
        }
    }
    Ok(())
}

fn parse_dataset(node: &Node<'_, '_>) -> Result<DatasetInfo, RadianceFieldLoadError> {
    let mut info = DatasetInfo::default();
    if let Some(n) = node.opt("scale")? {
        info.scale = n.f32()?;
        if !(info.scale.is_finite() && info.scale > 0.0) {
            return Err(n.unsupported(info.scale, "the scale must be finite and positive"));
        }
    }
    if let Some(n) = node.opt("offset")? {
        info.offset = match n.value {
            ValueRef::Array(_) => n.vec3()?,
            _ => Vec3::splat(n.f32()?),
        };
        if !info.offset.is_finite() {
            return Err(n.unsupported(info.offset, "the offset must be finite"));
        }
    }
    if let Some(b) = node.opt_bool("from_mitsuba")? {
        info.from_mitsuba = b;
    }
    if let Some(n) = node.opt("up")? {
        info.up = n.vec3()?;
    }
    if let Some(b) = node.opt_bool("is_hdr")? {
        info.is_hdr = b;
    }
    info.render_aabb = node.opt("render_aabb")?.map(|n| n.nerf_box()).transpose()?;
    info.render_aabb_to_local = node.opt("render_aabb_to_local")?.map(|n| n.mat3_rows()).transpose()?;
    if let Some(n) = node.opt_u32("n_extra_learnable_dims")? {
        info.n_extra_learnable_dims = n;
        if n != 0 {
            return Err(unsupported(&node.child_path("n_extra_learnable_dims"), n, "per-image latent inputs are not supported"));
        }
    }
    Ok(info)
}

/// Decodes little-endian fp16 or fp32 values.
fn decode_floats(bytes: &[u8], ty: ParamsType) -> Vec<f32> {
    match ty {
        ParamsType::Half => bytes
            .chunks_exact(2)
            .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        ParamsType::Float => bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    }
}

/// Builds the typed snapshot from the decoded MessagePack document.
pub fn snapshot_from_value(root: &ValueRef<'_>) -> Result<FieldSnapshot, RadianceFieldLoadError> {
    let root = Node::root(root);
    root.entries()?;
    let snapshot = root.get("snapshot")?;
    snapshot.entries()?;

    let version = snapshot.opt("version")?.map(|n| n.u64()).transpose()?.unwrap_or(0);
    if version < 1 {
        return Err(unsupported("snapshot.version", version, "snapshots older than format version 1 cannot be loaded"));
    }
    let nerf = snapshot.opt("nerf")?;
    match snapshot.opt_str("mode")? {
        Some(mode) if !mode.eq_ignore_ascii_case("nerf") => {
            return Err(unsupported("snapshot.mode", format!("{mode:?}"), "only NeRF snapshots can be rendered"));
        }
        None if nerf.is_none() => return Err(RadianceFieldLoadError::MissingField("snapshot.mode".into())),
        _ => {}
    }
    let nerf = nerf.ok_or_else(|| RadianceFieldLoadError::MissingField("snapshot.nerf".into()))?;

    // instant-ngp renders a snapshot with the dataset metadata stored in it.
    let dataset_node = nerf.opt("dataset")?;
    let dataset = match &dataset_node {
        Some(n) => parse_dataset(n)?,
        None => DatasetInfo::default(),
    };
    let (aabb_scale, scale_path) = match dataset_node.as_ref().map(|n| n.opt_u32("aabb_scale")).transpose()?.flatten() {
        Some(s) => (s, "snapshot.nerf.dataset.aabb_scale"),
        None => (nerf.opt_u32("aabb_scale")?.unwrap_or(1), "snapshot.nerf.aabb_scale"),
    };
    if !aabb_scale.is_power_of_two() || aabb_scale > 1 << (MAX_CASCADES - 1) {
        return Err(unsupported(scale_path, aabb_scale, "must be a power of two ≤ 128"));
    }
    let cascades = aabb_scale.trailing_zeros() + 1;

    // Network config.
    let encoding = parse_encoding(&root.get("encoding")?, aabb_scale)?;
    let density_network = parse_mlp(&root.get("network")?, encoding.padded_output_width(), None)?;
    check_dir_encoding(&root.get("dir_encoding")?)?;
    let rgb_input = next_multiple(
        density_network.padded_output_width() + next_multiple(SH_DEGREE * SH_DEGREE, MLP_ALIGNMENT),
        MLP_ALIGNMENT,
    );
    let rgb_network = parse_mlp(&root.get("rgb_network")?, rgb_input, Some(RGB_OUTPUTS))?;

    // Parameters.
    let params_type = match snapshot.opt_str("params_type")? {
        None | Some("__half") => ParamsType::Half,
        Some("float") => ParamsType::Float,
        Some(other) => {
            return Err(unsupported("snapshot.params_type", format!("{other:?}"), "parameters must be \"__half\" or \"float\""));
        }
    };
    let expected = density_network.n_params() + rgb_network.n_params() + encoding.n_params();
    let n_params = snapshot.get("n_params")?.u64()?;
    if n_params != expected {
        return Err(RadianceFieldLoadError::SizeMismatch {
            field: "snapshot.n_params".into(),
            expected,
            found: n_params,
            detail: format!(
                "parameters the config implies: density MLP {} + rgb MLP {} + hash grid {}",
                density_network.n_params(),
                rgb_network.n_params(),
                encoding.n_params()
            ),
        });
    }
    let blob = snapshot.get("params_binary")?.bin()?;
    let width = match params_type {
        ParamsType::Half => 2,
        ParamsType::Float => 4,
    };
    if blob.len() as u64 != expected * width {
        return Err(RadianceFieldLoadError::SizeMismatch {
            field: "snapshot.params_binary".into(),
            expected: expected * width,
            found: blob.len() as u64,
            detail: format!("bytes: {expected} parameters of {width} bytes"),
        });
    }

    // Density grid.
    let grid_size = snapshot.get("density_grid_size")?.u64()?;
    if grid_size != OCCUPANCY_GRID_SIZE as u64 {
        return Err(unsupported("snapshot.density_grid_size", grid_size, "instant-ngp's density grid has 128 cells per axis"));
    }
    let grid_blob = snapshot.get("density_grid_binary")?.bin()?;
    let grid_expected = OCCUPANCY_GRID_CELLS as u64 * cascades as u64 * 2;
    if grid_blob.len() as u64 != grid_expected {
        return Err(RadianceFieldLoadError::SizeMismatch {
            field: "snapshot.density_grid_binary".into(),
            expected: grid_expected,
            found: grid_blob.len() as u64,
            detail: format!("bytes: 128³ fp16 cells × {cascades} cascade(s) for aabb_scale {aabb_scale}"),
        });
    }

    Ok(FieldSnapshot {
        version,
        encoding,
        density_network,
        rgb_network,
        params_type,
        params: decode_floats(blob, params_type),
        density_grid: decode_floats(grid_blob, ParamsType::Half),
        cascades,
        aabb_scale,
        render_aabb: snapshot.opt("render_aabb")?.map(|n| n.nerf_box()).transpose()?,
        render_aabb_to_local: snapshot.opt("render_aabb_to_local")?.map(|n| n.mat3_rows()).transpose()?,
        up_dir: snapshot.opt("up_dir")?.map(|n| n.vec3()).transpose()?,
        dataset,
        training_step: snapshot.opt("training_step")?.map(|n| n.u64()).transpose()?,
    })
}

mod document;
#[cfg(test)]
mod tests;
