//! The PlayCanvas / SuperSplat "compressed PLY" layout (`*.compressed.ply`).
//!
//! Splats are quantised in chunks of [`CHUNK_SIZE`] consecutive splats:
//!
//! * element `chunk` (one row per chunk, `float`): `min_x min_y min_z max_x max_y
//!   max_z min_scale_x min_scale_y min_scale_z max_scale_x max_scale_y
//!   max_scale_z` and optionally `min_r min_g min_b max_r max_g max_b`;
//! * element `vertex` (`uint` each):
//!   * `packed_position`: 11-10-11 bit unorms (x in bits 21..32, y in 11..21,
//!     z in 0..11), each lerped between the chunk's min and max;
//!   * `packed_rotation`: "smallest three": bits 30..32 hold the index (in
//!     `rot_0..3` = `w x y z` order) of the largest-magnitude component, which
//!     was made positive; bits 20..30, 10..20 and 0..10 hold the other three in
//!     that same order as 10-bit unorms `u`, each `(u − 0.5)·√2` (range ±1/√2);
//!     the largest is `√(1 − a² − b² − c²)`;
//!   * `packed_scale`: 11-10-11 like the position, lerped between the chunk's
//!     scale min / max, giving **log** scales;
//!   * `packed_color`: RGBA8 with R in the top byte. RGB lerped between the
//!     chunk's colour min / max (or taken as is without them) is the base colour
//!     `0.5 + SH_C0 · f_dc`; alpha / 255 is the (linear) opacity;
//! * optional element `sh` (one row per splat, `uchar f_rest_0..N`, N + 1 = 9,
//!   24 or 45): channel-major like the training layout; a byte `v` decodes to
//!   `(t − 0.5) · 8` with `t = 0` for 0, `1` for 255 and `(v + 0.5) / 256`
//!   otherwise (the writer stores `trunc((f / 8 + 0.5) · 256)` clamped to 0..255).

use bevy::math::Vec3;

use super::error::SplatLoadError;
use super::gaussian_ply::{
    count_rest_properties, rest_names, sh_degree_for_rest_count,
};
use super::ply::{PlyFile, PlyHeader, ScalarType};
use super::values::quat_from_wxyz;
use crate::splat::asset::{GaussianSplats, SH_C0, sh_coefficient_count};

/// Number of splats quantised together against one `chunk` row.
pub const CHUNK_SIZE: usize = 256;

/// Per-chunk bounds, always present.
const CHUNK_BOUNDS: [&str; 12] = [
    "min_x",
    "min_y",
    "min_z",
    "max_x",
    "max_y",
    "max_z",
    "min_scale_x",
    "min_scale_y",
    "min_scale_z",
    "max_scale_x",
    "max_scale_y",
    "max_scale_z",
];

/// Per-chunk colour bounds, optional.
const CHUNK_COLORS: [&str; 6] = ["min_r", "min_g", "min_b", "max_r", "max_g", "max_b"];

/// The packed per-splat words.
const PACKED: [&str; 4] = [
    "packed_position",
    "packed_rotation",
    "packed_scale",
    "packed_color",
];

/// Whether a header uses the compressed layout: a `chunk` element and a `vertex`
/// element with a `packed_position` property (of any type; a wrong type is
/// reported by [`decode_compressed_ply`]).
pub fn is_compressed_layout(header: &PlyHeader) -> bool {
    header.element("chunk").is_some()
        && header
            .element("vertex")
            .is_some_and(|v| v.property("packed_position").is_some())
}

/// `bits`-wide unorm in the low bits of `value`, as `[0, 1]`.
#[inline(always)]
fn unorm(value: u32, bits: u32) -> f32 {
    let max = (1u32 << bits) - 1;
    (value & max) as f32 / max as f32
}

/// The 11-10-11 triple of a packed position or scale, as unorms.
#[inline(always)]
fn unpack_11_10_11(v: u32) -> [f32; 3] {
    [unorm(v >> 21, 11), unorm(v >> 11, 10), unorm(v, 11)]
}

/// `a` at `t = 0`, `b` at `t = 1` (exactly, at both ends).
#[inline(always)]
fn lerp(a: f32, b: f32, t: f32) -> f32 {
    a * (1.0 - t) + b * t
}

/// Decodes a "smallest three" 2-10-10-10 quaternion into `(w, x, y, z)`.
#[inline]
pub(crate) fn unpack_rotation(v: u32) -> [f32; 4] {
    let a = (unorm(v >> 20, 10) - 0.5) * std::f32::consts::SQRT_2;
    let b = (unorm(v >> 10, 10) - 0.5) * std::f32::consts::SQRT_2;
    let c = (unorm(v, 10) - 0.5) * std::f32::consts::SQRT_2;
    let m = (1.0 - (a * a + b * b + c * c)).max(0.0).sqrt();
    match v >> 30 {
        0 => [m, a, b, c],
        1 => [a, m, b, c],
        2 => [a, b, m, c],
        _ => [a, b, c, m],
    }
}

/// Dequantises a compressed SH byte.
#[inline]
fn sh_from_byte(v: f32) -> f32 {
    let t = if v <= 0.0 {
        0.0
    } else if v >= 255.0 {
        1.0
    } else {
        (v + 0.5) / 256.0
    };
    (t - 0.5) * 8.0
}

/// Decodes the compressed layout from a parsed PLY (in the file's own frame) and
/// validates the result.
pub fn decode_compressed_ply(ply: &PlyFile<'_>) -> Result<GaussianSplats, SplatLoadError> {
    let chunk = ply.require_element("chunk")?;
    let vertex = ply.require_element("vertex")?;

    // Packed words must be 32-bit unsigned.
    for name in PACKED {
        let ty = vertex.scalar_type(name)?;
        if ty != ScalarType::Uint32 {
            return Err(SplatLoadError::WrongPropertyType {
                element: vertex.name().to_owned(),
                property: name.to_owned(),
                expected: "uint (a packed 32-bit word)",
                found: ty.to_string(),
            });
        }
    }

    let n = vertex.len();
    let required = n.div_ceil(CHUNK_SIZE);
    if chunk.len() < required {
        return Err(SplatLoadError::TooFewChunks {
            chunks: chunk.len(),
            required,
            vertices: n,
        });
    }

    let has_colors = CHUNK_COLORS.iter().any(|c| chunk.has_property(c));
    let mut chunk_names: Vec<&str> = CHUNK_BOUNDS.to_vec();
    if has_colors {
        chunk_names.extend(CHUNK_COLORS);
    }
    let chunk_width = chunk_names.len();
    let chunks = chunk.read_f32_rows(&chunk_names)?;

    let [positions, rotations, scales, colors] = PACKED.map(|name| vertex.read_u32(name));
    let (positions, rotations, scales, colors) = (positions?, rotations?, scales?, colors?);

    // Optional SH.
    let (degree, sh_rows) = match ply.element("sh") {
        None => (0, Vec::new()),
        Some(sh) => {
            let count = count_rest_properties(sh.def());
            let degree =
                sh_degree_for_rest_count(count).ok_or(SplatLoadError::UnsupportedShCount(count))?;
            if sh.len() != n {
                return Err(SplatLoadError::ShCountMismatch {
                    sh_rows: sh.len(),
                    vertices: n,
                });
            }
            let names = rest_names(count);
            for name in &names {
                let ty = sh.scalar_type(name)?;
                if ty != ScalarType::Uint8 {
                    return Err(SplatLoadError::WrongPropertyType {
                        element: sh.name().to_owned(),
                        property: name.clone(),
                        expected: "uchar (a quantised SH coefficient)",
                        found: ty.to_string(),
                    });
                }
            }
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            (degree, sh.read_f32_rows(&refs)?)
        }
    };
    let k = sh_coefficient_count(degree);
    let per_channel = k - 1;

    let mut splats = GaussianSplats::with_capacity(n, degree);

    let groups = chunks
        .chunks_exact(chunk_width)
        .zip(positions.chunks(CHUNK_SIZE))
        .zip(rotations.chunks(CHUNK_SIZE))
        .zip(scales.chunks(CHUNK_SIZE))
        .zip(colors.chunks(CHUNK_SIZE));
    for ((((c, pp), pr), ps), pc) in groups {
        let Some(b) = c.first_chunk::<12>() else {
            continue;
        };
        let [
            min_x,
            min_y,
            min_z,
            max_x,
            max_y,
            max_z,
            min_sx,
            min_sy,
            min_sz,
            max_sx,
            max_sy,
            max_sz,
        ] = *b;
        let color_bounds = c.get(12..18).and_then(|s| s.first_chunk::<6>()).copied();
        for (((&p, &r), &s), &col) in pp.iter().zip(pr).zip(ps).zip(pc) {
            let [tx, ty, tz] = unpack_11_10_11(p);
            splats.positions.push(Vec3::new(
                lerp(min_x, max_x, tx),
                lerp(min_y, max_y, ty),
                lerp(min_z, max_z, tz),
            ));

            let [w, x, y, z] = unpack_rotation(r);
            splats.rotations.push(quat_from_wxyz(w, x, y, z));

            let [sx, sy, sz] = unpack_11_10_11(s);
            splats.scales.push(Vec3::new(
                lerp(min_sx, max_sx, sx).exp(),
                lerp(min_sy, max_sy, sy).exp(),
                lerp(min_sz, max_sz, sz).exp(),
            ));

            let (cr, cg, cb) = (unorm(col >> 24, 8), unorm(col >> 16, 8), unorm(col >> 8, 8));
            let rgb = match color_bounds {
                Some([lr, lg, lb, hr, hg, hb]) => {
                    [lerp(lr, hr, cr), lerp(lg, hg, cg), lerp(lb, hb, cb)]
                }
                None => [cr, cg, cb],
            };
            splats.sh.push(rgb.map(|v| (v - 0.5) / SH_C0));
            splats.opacities.push(unorm(col, 8));
        }
    }

    if per_channel > 0 {
        // Interleave the SH rows after each splat's DC term.
        let dc = std::mem::take(&mut splats.sh);
        let mut sh = Vec::with_capacity(n.saturating_mul(k));
        for (d, row) in dc.iter().zip(sh_rows.chunks_exact(3 * per_channel)) {
            sh.push(*d);
            for j in 0..per_channel {
                let get =
                    |ch: usize| sh_from_byte(row.get(ch * per_channel + j).copied().unwrap_or(0.0));
                sh.push([get(0), get(1), get(2)]);
            }
        }
        splats.sh = sh;
    }

    splats.validate()?;
    Ok(splats)
}

#[cfg(test)]
mod tests;
