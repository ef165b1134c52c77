//! Writers for the dynamic PLY layouts (for tests, benchmarks and tools).
//!
//! Scenes are written in their own frame: a scene loaded with
//! [`AxisConvention::Opencv`](crate::splat::asset::AxisConvention::Opencv) is
//! in Bevy's frame, so flip it back (or load the file with `AsIs`) to round-trip.

use bevy::math::{Quat, Vec3};

use crate::io::gaussian_ply::rest_names;
use crate::io::values::{log_scale, logit};
use crate::io::ply::{PlyFormat, write_float_vertex_ply};
use crate::splat::asset::{GaussianSplats, MAX_SH_DEGREE, SH_C0, sh_coefficient_count};
use crate::splat::motion::SplatMotion;

/// Which property names a sliced 4D file is written with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sliced4dNaming {
    /// 3DGS-style, pre-activation: `x y z nx ny nz f_dc_* f_rest_* opacity
    /// scale_0..2 rot_0..3 t scale_t rot_r_0..3`.
    Fudan,
    /// bevy_gaussian_splatting's `.ply4d`, activated: `x y z t st sx sy sz
    /// opacity rot_x..rot_w rot_r_x..rot_r_w feat_{r,g,b}_{i}`.
    Ply4d,
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn wxyz(q: Quat) -> [f32; 4] {
    [q.w, q.x, q.y, q.z]
}

/// Writes a [`SplatMotion::Spacetime`] scene in the Spacetime Gaussians lite
/// layout (`x y z trbf_center trbf_scale nx ny nz motion_0..8 f_dc_0..2
/// opacity scale_0..2 rot_0..3 omega_0..3`, pre-activation; `f_dc` is the RGB
/// colour `0.5 + SH_C0 · dc`, higher SH bands are dropped). `None` for other
/// motion kinds.
pub fn write_spacetime_ply(splats: &GaussianSplats, format: PlyFormat) -> Option<Vec<u8>> {
    let SplatMotion::Spacetime(m) = &splats.motion else {
        return None;
    };
    let mut names = strings(&["x", "y", "z", "trbf_center", "trbf_scale", "nx", "ny", "nz"]);
    names.extend((0..9).map(|i| format!("motion_{i}")));
    names.extend(strings(&["f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2"]));
    names.extend(strings(&["rot_0", "rot_1", "rot_2", "rot_3", "omega_0", "omega_1", "omega_2", "omega_3"]));
    let k = splats.sh_per_splat();
    Some(write_float_vertex_ply(&names, splats.len(), format, |i, row| {
        let p = splats.positions.get(i).copied().unwrap_or(Vec3::ZERO);
        row[0..3].copy_from_slice(&p.to_array());
        row[3] = m.trbf_center.get(i).copied().unwrap_or(0.0);
        row[4] = log_scale(m.trbf_scale.get(i).copied().unwrap_or(1.0));
        let poly = m.polynomial.get(i).copied().unwrap_or([Vec3::ZERO; 3]);
        for (j, v) in poly.iter().enumerate() {
            row[8 + 3 * j..11 + 3 * j].copy_from_slice(&v.to_array());
        }
        let dc = splats.sh.get(i * k).copied().unwrap_or([0.0; 3]);
        row[17..20].copy_from_slice(&dc.map(|v| 0.5 + SH_C0 * v));
        row[20] = logit(splats.opacities.get(i).copied().unwrap_or(1.0));
        let s = splats.scales.get(i).copied().unwrap_or(Vec3::ONE);
        row[21..24].copy_from_slice(&s.to_array().map(log_scale));
        row[24..28].copy_from_slice(&wxyz(splats.rotations.get(i).copied().unwrap_or(Quat::IDENTITY)));
        row[28..32].copy_from_slice(&wxyz(m.omega.get(i).copied().unwrap_or(Quat::from_xyzw(0.0, 0.0, 0.0, 0.0))));
    }))
}

/// Writes a [`SplatMotion::Sliced4d`] scene with the given property names
/// (the factors: `rotations` as the left quaternion, `scales`, the right
/// quaternions, temporal scales and mean times). `None` for other motion kinds.
pub fn write_sliced4d_ply(splats: &GaussianSplats, format: PlyFormat, naming: Sliced4dNaming) -> Option<Vec<u8>> {
    let SplatMotion::Sliced4d(m) = &splats.motion else {
        return None;
    };
    let degree = splats.sh_degree.min(MAX_SH_DEGREE);
    let k = sh_coefficient_count(degree);
    let stride = splats.sh_per_splat();
    let coeff = |i: usize, j: usize| splats.sh.get(i * stride + j).copied().unwrap_or([0.0; 3]);
    let left = |i: usize| wxyz(splats.rotations.get(i).copied().unwrap_or(Quat::IDENTITY));
    let right = |i: usize| wxyz(m.right_rotations.get(i).copied().unwrap_or(Quat::IDENTITY));
    let scale = |i: usize| splats.scales.get(i).copied().unwrap_or(Vec3::ONE);
    let time = |i: usize| m.mean_time.get(i).copied().unwrap_or(0.0);
    let time_scale = |i: usize| m.time_scales.get(i).copied().unwrap_or(1.0);
    let position = |i: usize| splats.positions.get(i).copied().unwrap_or(Vec3::ZERO);
    let opacity = |i: usize| splats.opacities.get(i).copied().unwrap_or(1.0);
    Some(match naming {
        Sliced4dNaming::Fudan => {
            let mut names = strings(&["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]);
            names.extend(rest_names(3 * (k - 1)));
            names.extend(strings(&["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]));
            names.extend(strings(&["t", "scale_t", "rot_r_0", "rot_r_1", "rot_r_2", "rot_r_3"]));
            write_float_vertex_ply(&names, splats.len(), format, |i, row| {
                row[0..3].copy_from_slice(&position(i).to_array());
                row[6..9].copy_from_slice(&coeff(i, 0));
                for j in 1..k {
                    for (ch, v) in coeff(i, j).iter().enumerate() {
                        row[9 + ch * (k - 1) + (j - 1)] = *v;
                    }
                }
                let tail = 9 + 3 * (k - 1);
                row[tail] = logit(opacity(i));
                row[tail + 1..tail + 4].copy_from_slice(&scale(i).to_array().map(log_scale));
                row[tail + 4..tail + 8].copy_from_slice(&left(i));
                row[tail + 8] = time(i);
                row[tail + 9] = log_scale(time_scale(i));
                row[tail + 10..tail + 14].copy_from_slice(&right(i));
            })
        }
        Sliced4dNaming::Ply4d => {
            let mut names = strings(&[
                "x", "y", "z", "t", "st", "sx", "sy", "sz", "opacity", "rot_x", "rot_y", "rot_z", "rot_w", "rot_r_x",
                "rot_r_y", "rot_r_z", "rot_r_w",
            ]);
            for j in 0..k {
                names.extend(["r", "g", "b"].map(|c| format!("feat_{c}_{j}")));
            }
            write_float_vertex_ply(&names, splats.len(), format, |i, row| {
                row[0..3].copy_from_slice(&position(i).to_array());
                row[3] = time(i);
                row[4] = time_scale(i);
                row[5..8].copy_from_slice(&scale(i).to_array());
                row[8] = opacity(i);
                row[9..13].copy_from_slice(&left(i));
                row[13..17].copy_from_slice(&right(i));
                for j in 0..k {
                    row[17 + 3 * j..20 + 3 * j].copy_from_slice(&coeff(i, j));
                }
            })
        }
    })
}
