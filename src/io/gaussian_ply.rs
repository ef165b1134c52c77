//! The 3DGS training PLY layout (as written by the reference trainer and most
//! tools derived from it).
//!
//! One `vertex` element with float properties
//! `x y z [nx ny nz] f_dc_0..2 f_rest_0..(3·(K−1)−1) opacity scale_0..2 rot_0..3`,
//! where `K = (degree + 1)²` SH coefficients per colour channel. Values are
//! stored pre-activation: `opacity` is a logit, `scale_*` are natural logs and
//! `rot_*` is an unnormalised quaternion `(w, x, y, z)`. The `f_rest_*` block is
//! channel-major: `f_rest_{c·(K−1) + (k−1)}` is coefficient `k` (1..K) of channel
//! `c` (0 = R, 1 = G, 2 = B). Other properties (`nx`, `transform`, ...) are ignored.

use bevy::math::{Quat, Vec3};

use super::error::SplatLoadError;
use super::values::{log_scale, logit, quat_from_wxyz, sigmoid};
use super::ply::{PlyFile, PlyFormat, write_float_vertex_ply};
use crate::splat::asset::{GaussianSplats, sh_coefficient_count};

/// Properties read before the `f_rest_*` block, in decode order.
const BASE_PROPERTIES: [&str; 14] = [
    "x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2",
    "rot_0", "rot_1", "rot_2", "rot_3",
];

/// The SH degree for a number of `f_rest_*` properties (0, 9, 24 or 45).
pub fn sh_degree_for_rest_count(count: usize) -> Option<u8> {
    match count {
        0 => Some(0),
        9 => Some(1),
        24 => Some(2),
        45 => Some(3),
        _ => None,
    }
}

/// Number of `f_rest_*` properties of the element (those whose suffix is an integer).
pub(crate) fn count_rest_properties(element: &super::ply::ElementDef) -> usize {
    element
        .properties
        .iter()
        .filter(|p| {
            p.name
                .strip_prefix("f_rest_")
                .is_some_and(|i| i.parse::<usize>().is_ok())
        })
        .count()
}

/// `f_rest_0 .. f_rest_{count-1}`.
pub(crate) fn rest_names(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("f_rest_{i}")).collect()
}

/// Decodes the 3DGS training layout from a parsed PLY (in the file's own frame)
/// and validates the result.
pub fn decode_gaussian_ply(ply: &PlyFile<'_>) -> Result<GaussianSplats, SplatLoadError> {
    let vertex = ply.require_element("vertex")?;
    let rest_count = count_rest_properties(vertex.def());
    let degree = sh_degree_for_rest_count(rest_count)
        .ok_or(SplatLoadError::UnsupportedShCount(rest_count))?;
    let k = sh_coefficient_count(degree);
    let per_channel = k - 1;

    let rest = rest_names(rest_count);
    let mut names: Vec<&str> = BASE_PROPERTIES.to_vec();
    names.extend(rest.iter().map(String::as_str));

    let n = vertex.len();
    // Every row was checked to be present in the body (at least one byte per
    // value in binary, two per value in ASCII), so these sizes are backed by input.
    let mut splats = GaussianSplats::with_capacity(n, degree);
    vertex.visit_f32_rows(&names, |row| {
        let Some((base, rest)) = row.split_first_chunk::<14>() else {
            return;
        };
        let [x, y, z, dc0, dc1, dc2, opacity, s0, s1, s2, r0, r1, r2, r3] = *base;
        splats.positions.push(Vec3::new(x, y, z));
        splats.opacities.push(sigmoid(opacity));
        splats.scales.push(Vec3::new(s0.exp(), s1.exp(), s2.exp()));
        splats.rotations.push(quat_from_wxyz(r0, r1, r2, r3));
        splats.sh.push([dc0, dc1, dc2]);
        for j in 0..per_channel {
            let get = |c: usize| rest.get(c * per_channel + j).copied().unwrap_or(0.0);
            splats.sh.push([get(0), get(1), get(2)]);
        }
    })?;
    splats.validate()?;
    Ok(splats)
}

/// Writes splats in the 3DGS training layout: float properties
/// `x y z nx ny nz f_dc_0..2 f_rest_* opacity scale_0..2 rot_0..3`
/// (normals are zero), storing pre-activation values: opacity as a logit
/// (clamped into `[1e-6, 1 − 1e-6]` first), scales as natural logs and rotations
/// as `(w, x, y, z)`.
///
/// Values are written exactly (ASCII uses the shortest round-trip decimal form).
pub fn write_gaussian_ply(splats: &GaussianSplats, format: PlyFormat) -> Vec<u8> {
    let degree = splats.sh_degree.min(crate::splat::asset::MAX_SH_DEGREE);
    let k = sh_coefficient_count(degree);
    let per_channel = k - 1;
    let mut names: Vec<String> = ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    names.extend(rest_names(3 * per_channel));
    names.extend(
        ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]
            .iter()
            .map(|s| s.to_string()),
    );
    let stride = splats.sh_per_splat();
    write_float_vertex_ply(&names, splats.len(), format, |i, row| {
        let p = splats.positions.get(i).copied().unwrap_or(Vec3::ZERO);
        let q = splats.rotations.get(i).copied().unwrap_or(Quat::IDENTITY);
        let s = splats.scales.get(i).copied().unwrap_or(Vec3::ONE);
        let o = splats.opacities.get(i).copied().unwrap_or(1.0);
        let coeff = |j: usize| splats.sh.get(i * stride + j).copied().unwrap_or([0.0; 3]);
        row[0] = p.x;
        row[1] = p.y;
        row[2] = p.z;
        // row[3..6]: normals, zero.
        let dc = coeff(0);
        row[6..9].copy_from_slice(&dc);
        for j in 0..per_channel {
            let c = coeff(j + 1);
            for (ch, v) in c.iter().enumerate() {
                row[9 + ch * per_channel + j] = *v;
            }
        }
        let tail = 9 + 3 * per_channel;
        row[tail] = logit(o);
        row[tail + 1] = log_scale(s.x);
        row[tail + 2] = log_scale(s.y);
        row[tail + 3] = log_scale(s.z);
        row[tail + 4] = q.w;
        row[tail + 5] = q.x;
        row[tail + 6] = q.y;
        row[tail + 7] = q.z;
    })
}

#[cfg(test)]
pub(crate) mod tests;
