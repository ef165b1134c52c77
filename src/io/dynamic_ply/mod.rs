//! Dynamic (4D) Gaussian-splat PLY layouts: Spacetime Gaussians lite and
//! sliced 4D Gaussians (3DGS-style names and bevy_gaussian_splatting's
//! `.ply4d` names). The accepted property names, their activations and their
//! sources are listed in [`crate::splat::motion`].
//!
//! [`detect_dynamic_layout`] tells the layouts apart by the `vertex`
//! properties; [`parse_splat_ply`](super::parse_splat_ply) uses it. Decoded
//! scenes are in the file's own frame and validated (lengths, finite values,
//! positive temporal scales and `Σ_tt`).

mod write;

pub use write::{Sliced4dNaming, write_sliced4d_ply, write_spacetime_ply};

use bevy::math::{Quat, Vec3};

use super::error::SplatLoadError;
use super::gaussian_ply::decode_gaussian_ply;
use super::values::quat_from_wxyz;
use super::ply::{PlyFile, PlyHeader};
use crate::splat::asset::{GaussianSplats, SH_C0};
use crate::splat::motion::{Sliced4dMotion, SpacetimeMotion, SplatMotion, SplatTimeline};

/// Model time units per second assumed for Spacetime Gaussians: its trainers
/// normalise time per clip (`t = frame / duration`, `duration` = 50 frames in
/// the published configs) and the Neural 3D Video / Technicolor captures run
/// at 30 fps, so one model unit is 50 / 30 s.
pub const SPACETIME_DEFAULT_TIME_SCALE: f32 = 0.6;

/// Model time units per second assumed for sliced 4D Gaussians: the fudan
/// trainer stores time in seconds for real captures (`time_duration: [0, 10]`
/// for the 10 s DyNeRF clips).
pub const SLICED_4D_DEFAULT_TIME_SCALE: f32 = 1.0;

/// A dynamic PLY layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DynamicLayout {
    /// Spacetime Gaussians lite (`trbf_center`, `trbf_scale`, `motion_*`, `omega_*`).
    Spacetime,
    /// Sliced 4D Gaussians with 3DGS-style names (`t`, `scale_t`, `rot_r_0..3`).
    Sliced4d,
    /// Sliced 4D Gaussians with `.ply4d` names (`t`, `st`, `sx`, `rot_r_x`, ...).
    Ply4d,
}

/// The dynamic layout of a PLY header, or `None` for a static scene.
///
/// `trbf_center` or `trbf_scale` means Spacetime; `rot_r_0` or `scale_t` a
/// 3DGS-style sliced 4D file; `rot_r_x` or `st` a `.ply4d` file. The other
/// properties of the layout are then required.
pub fn detect_dynamic_layout(header: &PlyHeader) -> Option<DynamicLayout> {
    let vertex = header.element("vertex")?;
    let has = |name: &str| vertex.property_index(name).is_some();
    if has("trbf_center") || has("trbf_scale") {
        Some(DynamicLayout::Spacetime)
    } else if has("rot_r_0") || has("scale_t") {
        Some(DynamicLayout::Sliced4d)
    } else if has("rot_r_x") || has("st") {
        Some(DynamicLayout::Ply4d)
    } else {
        None
    }
}

/// Decodes a dynamic layout from a parsed PLY and validates the result.
pub fn decode_dynamic_ply(ply: &PlyFile<'_>, layout: DynamicLayout) -> Result<GaussianSplats, SplatLoadError> {
    let splats = match layout {
        DynamicLayout::Spacetime => decode_spacetime(ply)?,
        DynamicLayout::Sliced4d => decode_sliced4d(ply)?,
        DynamicLayout::Ply4d => decode_ply4d(ply)?,
    };
    splats.validate()?;
    Ok(splats)
}

/// Spacetime Gaussians lite: the 3DGS columns (with `f_dc_0..2` holding RGB)
/// plus `trbf_center trbf_scale motion_0..8 omega_0..3`.
fn decode_spacetime(ply: &PlyFile<'_>) -> Result<GaussianSplats, SplatLoadError> {
    let vertex = ply.require_element("vertex")?;
    if vertex.has_property("f_dc_3") {
        return Err(SplatLoadError::UnsupportedDynamicModel(
            "Spacetime Gaussians full model (a 9-channel feature vector in f_dc_0..8 decoded by an MLP); \
             only the lite model (RGB in f_dc_0..2) is supported",
        ));
    }
    let mut splats = decode_gaussian_ply(ply)?;
    // Lite renders f_dc as precomputed RGB; store it as the SH DC term.
    splats.truncate_sh(0);
    for c in &mut splats.sh {
        *c = c.map(|v| (v - 0.5) / SH_C0);
    }
    const NAMES: [&str; 19] = [
        "trbf_center", "trbf_scale", "motion_0", "motion_1", "motion_2", "motion_3", "motion_4", "motion_5",
        "motion_6", "motion_7", "motion_8", "omega_0", "omega_1", "omega_2", "omega_3", "rot_0", "rot_1",
        "rot_2", "rot_3",
    ];
    let n = vertex.len();
    // Every row was checked to be present in the body, so `n` is backed by input.
    let mut m = SpacetimeMotion {
        trbf_center: Vec::with_capacity(n),
        trbf_scale: Vec::with_capacity(n),
        polynomial: Vec::with_capacity(n),
        omega: Vec::with_capacity(n),
        timeline: SplatTimeline {
            start: 0.0,
            end: 1.0,
            time_scale: SPACETIME_DEFAULT_TIME_SCALE,
        },
    };
    vertex.visit_f32_rows(&NAMES, |row| {
        let Some(r) = row.first_chunk::<19>() else {
            return;
        };
        m.trbf_center.push(r[0]);
        m.trbf_scale.push(r[1].exp());
        m.polynomial.push([
            Vec3::new(r[2], r[3], r[4]),
            Vec3::new(r[5], r[6], r[7]),
            Vec3::new(r[8], r[9], r[10]),
        ]);
        // The model normalises `rot + Δ·ω` with the raw `rot`; the asset keeps
        // `rot / |rot|`, so ω is divided by `|rot|` too.
        let len = (r[15..19].iter().map(|v| (*v as f64) * (*v as f64)).sum::<f64>()).sqrt();
        let inv = if len > 0.0 { (1.0 / len) as f32 } else { 1.0 };
        m.omega.push(Quat::from_xyzw(r[12] * inv, r[13] * inv, r[14] * inv, r[11] * inv));
    })?;
    splats.motion = SplatMotion::Spacetime(m);
    Ok(splats)
}

/// Sliced 4D with 3DGS-style names: the 3DGS columns (left quaternion in
/// `rot_0..3`) plus `t scale_t rot_r_0..3`.
fn decode_sliced4d(ply: &PlyFile<'_>) -> Result<GaussianSplats, SplatLoadError> {
    let vertex = ply.require_element("vertex")?;
    let mut splats = decode_gaussian_ply(ply)?;
    let n = vertex.len();
    let mut m = sliced_with_capacity(n);
    vertex.visit_f32_rows(&["t", "scale_t", "rot_r_0", "rot_r_1", "rot_r_2", "rot_r_3"], |row| {
        let Some(&[t, st, r0, r1, r2, r3]) = row.first_chunk::<6>() else {
            return;
        };
        m.mean_time.push(t);
        m.time_scales.push(st.exp());
        m.right_rotations.push(quat_from_wxyz(r0, r1, r2, r3));
    })?;
    finish_sliced(&mut splats, m);
    Ok(splats)
}

/// Sliced 4D with `.ply4d` names (activated values).
fn decode_ply4d(ply: &PlyFile<'_>) -> Result<GaussianSplats, SplatLoadError> {
    let vertex = ply.require_element("vertex")?;
    let has_coefficient = |i: usize| ["r", "g", "b"].iter().all(|c| vertex.has_property(&format!("feat_{c}_{i}")));
    let count = (0..16).take_while(|&i| has_coefficient(i)).count();
    let degree: u8 = match count {
        0 => {
            return Err(SplatLoadError::MissingProperty {
                element: "vertex".into(),
                property: "feat_r_0".into(),
            });
        }
        1..=3 => 0,
        4..=8 => 1,
        9..=15 => 2,
        _ => 3,
    };
    let k = crate::splat::asset::sh_coefficient_count(degree);
    let mut names: Vec<String> = [
        "x", "y", "z", "t", "st", "sx", "sy", "sz", "opacity", "rot_x", "rot_y", "rot_z", "rot_w", "rot_r_x",
        "rot_r_y", "rot_r_z", "rot_r_w",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for i in 0..k {
        for c in ["r", "g", "b"] {
            names.push(format!("feat_{c}_{i}"));
        }
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let n = vertex.len();
    let mut splats = GaussianSplats::with_capacity(n, degree);
    let mut m = sliced_with_capacity(n);
    vertex.visit_f32_rows(&names, |row| {
        let Some((r, feat)) = row.split_first_chunk::<17>() else {
            return;
        };
        splats.positions.push(Vec3::new(r[0], r[1], r[2]));
        m.mean_time.push(r[3]);
        m.time_scales.push(r[4].abs());
        splats.scales.push(Vec3::new(r[5], r[6], r[7]).abs());
        splats.opacities.push(r[8].clamp(0.0, 1.0));
        splats.rotations.push(quat_from_wxyz(r[9], r[10], r[11], r[12]));
        m.right_rotations.push(quat_from_wxyz(r[13], r[14], r[15], r[16]));
        for c in feat.chunks_exact(3) {
            splats.sh.push([c[0], c[1], c[2]]);
        }
    })?;
    finish_sliced(&mut splats, m);
    Ok(splats)
}

fn sliced_with_capacity(n: usize) -> Sliced4dMotion {
    Sliced4dMotion {
        mean_time: Vec::with_capacity(n),
        time_scales: Vec::with_capacity(n),
        right_rotations: Vec::with_capacity(n),
        covariance: Vec::new(),
        timeline: SplatTimeline {
            start: 0.0,
            end: 0.0,
            time_scale: SLICED_4D_DEFAULT_TIME_SCALE,
        },
    }
}

/// Computes the covariances and the default timeline (the range of the
/// splats' mean times, at [`SLICED_4D_DEFAULT_TIME_SCALE`]).
fn finish_sliced(splats: &mut GaussianSplats, mut m: Sliced4dMotion) {
    m.recompute_covariance(&splats.rotations, &splats.scales);
    let finite = m.mean_time.iter().copied().filter(|t| t.is_finite());
    let (lo, hi) = finite.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), t| (lo.min(t), hi.max(t)));
    if lo <= hi {
        m.timeline.start = lo;
        m.timeline.end = hi;
    }
    splats.motion = SplatMotion::Sliced4d(m);
}

#[cfg(test)]
mod tests;
