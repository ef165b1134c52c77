//! The CPU-side Gaussian-splat asset.

use bevy::asset::Asset;
use bevy::math::{Quat, Vec3};
use bevy::reflect::TypePath;
use serde::{Deserialize, Serialize};

use super::motion::SplatMotion;

/// The zeroth-order real spherical-harmonics constant, `1 / (2√π)`.
pub const SH_C0: f32 = 0.282_094_8;

/// Number of SH coefficients per colour channel for a degree (0..=3).
pub const fn sh_coefficient_count(degree: u8) -> usize {
    let d = degree as usize + 1;
    d * d
}

/// The highest SH degree the crate handles.
pub const MAX_SH_DEGREE: u8 = 3;

/// A Gaussian-splat scene held on the CPU.
///
/// All arrays have one entry per splat, except [`GaussianSplats::sh`], which has
/// [`sh_coefficient_count`]`(sh_degree)` entries per splat (splat-major: the
/// coefficients of splat `i` are `sh[i * K .. (i + 1) * K]`, each an RGB triple,
/// in the usual real-SH order `l = 0; l = 1 (m = -1, 0, 1); …`).
///
/// Values are stored *activated*: scales are linear (not logs), opacities are in
/// `[0, 1]` (not logits) and rotations are unit quaternions. The colour of a splat
/// seen from direction `d` is `max(0, 0.5 + Σ sh_k · Y_k(d))`, as in 3DGS.
///
/// Dynamic scenes carry per-splat motion in [`GaussianSplats::motion`]; the
/// arrays above then hold each splat's state at its reference time (for
/// Spacetime scenes) or the spatial factors of its 4D covariance (for sliced 4D
/// scenes); see [`crate::splat::motion`].
#[derive(Asset, TypePath, Clone, Debug, Default, PartialEq)]
pub struct GaussianSplats {
    /// Splat centres.
    pub positions: Vec<Vec3>,
    /// Unit rotation of each splat's ellipsoid.
    pub rotations: Vec<Quat>,
    /// Standard deviations along the ellipsoid's local axes (linear, not log).
    pub scales: Vec<Vec3>,
    /// Opacity in `[0, 1]` (already passed through the sigmoid).
    pub opacities: Vec<f32>,
    /// Spherical-harmonics degree, 0..=3.
    pub sh_degree: u8,
    /// SH coefficients, splat-major, [`sh_coefficient_count`] RGB triples per splat.
    pub sh: Vec<[f32; 3]>,
    /// How the splats move over time ([`SplatMotion::Static`] for 3DGS scenes).
    pub motion: SplatMotion,
}

pub use super::error::SplatDataError;

impl GaussianSplats {
    /// An empty scene of SH degree `sh_degree` with room for `n` splats.
    ///
    /// Callers size `n` from data already present in memory (never from an
    /// unchecked file header).
    pub fn with_capacity(n: usize, sh_degree: u8) -> Self {
        Self {
            positions: Vec::with_capacity(n),
            rotations: Vec::with_capacity(n),
            scales: Vec::with_capacity(n),
            opacities: Vec::with_capacity(n),
            sh_degree,
            sh: Vec::with_capacity(n.saturating_mul(sh_coefficient_count(sh_degree))),
            motion: SplatMotion::Static,
        }
    }

    /// Number of splats.
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    /// Whether the scene has no splats.
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// SH coefficients per splat for this scene's degree.
    pub fn sh_per_splat(&self) -> usize {
        sh_coefficient_count(self.sh_degree)
    }

    /// The SH coefficients of splat `i`.
    pub fn sh_of(&self, i: usize) -> &[[f32; 3]] {
        let k = self.sh_per_splat();
        &self.sh[i * k..(i + 1) * k]
    }

    /// Axis-aligned bounds of the splat centres, or `None` for an empty scene.
    pub fn bounds(&self) -> Option<(Vec3, Vec3)> {
        let first = *self.positions.first()?;
        Some(
            self.positions
                .iter()
                .fold((first, first), |(lo, hi), p| (lo.min(*p), hi.max(*p))),
        )
    }

    /// The model time at `seconds` of playback (see
    /// [`SplatTimeline::model_time`](super::motion::SplatTimeline::model_time));
    /// 0 for a static scene.
    pub fn model_time(&self, seconds: f32) -> f32 {
        self.motion.timeline().map_or(0.0, |t| t.model_time(seconds))
    }

    /// Length of a dynamic scene's clip in seconds; 0 for a static scene.
    pub fn duration_seconds(&self) -> f32 {
        self.motion.timeline().map_or(0.0, |t| t.duration_seconds())
    }

    /// Checks array lengths, the SH degree, that every value is finite, that
    /// no rotation quaternion is zero and,
    /// for dynamic scenes, the motion data (lengths, finiteness, positive
    /// temporal scales and `Σ_tt`, a valid timeline).
    pub fn validate(&self) -> Result<(), SplatDataError> {
        if self.sh_degree > MAX_SH_DEGREE {
            return Err(SplatDataError::ShDegree(self.sh_degree));
        }
        let n = self.len();
        let check = |name, found, expected| {
            if found == expected {
                Ok(())
            } else {
                Err(SplatDataError::LengthMismatch {
                    name,
                    found,
                    expected,
                })
            }
        };
        check("rotations", self.rotations.len(), n)?;
        check("scales", self.scales.len(), n)?;
        check("opacities", self.opacities.len(), n)?;
        check("sh", self.sh.len(), n * self.sh_per_splat())?;
        let k = self.sh_per_splat();
        for i in 0..n {
            let bad = |field| Err(SplatDataError::NonFinite { index: i, field });
            if !self.positions[i].is_finite() {
                return bad("position");
            }
            if !self.rotations[i].is_finite() {
                return bad("rotation");
            }
            if self.rotations[i].length_squared() == 0.0 {
                return Err(SplatDataError::ZeroRotation { index: i });
            }
            if !self.scales[i].is_finite() {
                return bad("scale");
            }
            if !self.opacities[i].is_finite() {
                return bad("opacity");
            }
            if self.sh[i * k..(i + 1) * k]
                .iter()
                .any(|c| !c.iter().all(|v| v.is_finite()))
            {
                return bad("SH coefficient");
            }
        }
        self.motion.validate(n)
    }

    /// Appends splat `i` of `source` (its static attributes, not motion;
    /// both of the same SH degree).
    pub(crate) fn push_from(&mut self, source: &GaussianSplats, i: usize) {
        self.positions.push(source.positions[i]);
        self.rotations.push(source.rotations[i]);
        self.scales.push(source.scales[i]);
        self.opacities.push(source.opacities[i]);
        self.sh.extend_from_slice(source.sh_of(i));
    }

    /// Keeps the splats for which `keep(index)` is true, in order (motion data included).
    pub fn retain(&mut self, mut keep: impl FnMut(usize) -> bool) {
        let mask: Vec<bool> = (0..self.len()).map(&mut keep).collect();
        let mut out = GaussianSplats {
            sh_degree: self.sh_degree,
            ..Default::default()
        };
        for (i, _) in mask.iter().enumerate().filter(|(_, k)| **k) {
            out.push_from(self, i);
        }
        out.motion = core::mem::take(&mut self.motion);
        out.motion.retain_mask(&mask);
        *self = out;
    }

    /// Keeps only SH coefficients up to `degree` (no-op when already at or below it).
    pub fn truncate_sh(&mut self, degree: u8) {
        if degree >= self.sh_degree {
            return;
        }
        let (old, new) = (self.sh_per_splat(), sh_coefficient_count(degree));
        let mut sh = Vec::with_capacity(self.len() * new);
        for i in 0..self.len() {
            sh.extend_from_slice(&self.sh[i * old..i * old + new]);
        }
        self.sh = sh;
        self.sh_degree = degree;
    }

    /// Rotates the whole scene by 180° about +X, mapping the COLMAP/OpenCV frame
    /// (+Y down, +Z forward) to Bevy's (+Y up, −Z forward) and back.
    ///
    /// Positions and rotations are rotated; SH coefficients are rotated exactly
    /// (for this rotation each real SH basis function only changes sign); motion
    /// vectors, ω and 4D covariances are transformed the same way (see
    /// [`SplatMotion`]).
    pub fn flip_yz(&mut self) {
        let r = Quat::from_rotation_x(core::f32::consts::PI);
        for p in &mut self.positions {
            *p = Vec3::new(p.x, -p.y, -p.z);
        }
        if !self.motion.flip_yz(&mut self.rotations) {
            for q in &mut self.rotations {
                *q = (r * *q).normalize();
            }
        }
        let k = self.sh_per_splat();
        if k > 1 {
            for i in 0..self.len() {
                for (c, sign) in self.sh[i * k..(i + 1) * k]
                    .iter_mut()
                    .zip(FLIP_YZ_SH_SIGNS)
                {
                    for v in c.iter_mut() {
                        *v *= sign;
                    }
                }
            }
        }
    }
}

/// Sign of each real SH basis function (degrees 0..=3) under `(x, y, z) → (x, −y, −z)`:
/// `(−1)^(power of y + power of z)` in the basis polynomial.
const FLIP_YZ_SH_SIGNS: [f32; 16] = [
    1.0, // 1
    -1.0, -1.0, 1.0, // y, z, x
    -1.0, 1.0, 1.0, -1.0, 1.0, // xy, yz, 2z²−x²−y², xz, x²−y²
    -1.0, 1.0, -1.0, -1.0, 1.0, -1.0, 1.0, // y(3x²−y²), xyz, y(4z²−x²−y²), z(2z²−3x²−3y²), x(4z²−x²−y²), z(x²−y²), x(x²−3y²)
];

/// How a file's axes map to Bevy's.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AxisConvention {
    /// The 3DGS / COLMAP / OpenCV frame: +X right, +Y down, +Z forward. Loaded
    /// scenes are rotated 180° about X so that they stand upright in Bevy
    /// (+Y up). The default, since every 3DGS trainer writes this frame.
    #[default]
    Opencv,
    /// Keep the file's coordinates as they are.
    AsIs,
}

impl AxisConvention {
    /// Converts a scene loaded in the file's frame into Bevy's frame.
    pub fn apply(self, splats: &mut GaussianSplats) {
        match self {
            AxisConvention::Opencv => splats.flip_yz(),
            AxisConvention::AsIs => {}
        }
    }
}
