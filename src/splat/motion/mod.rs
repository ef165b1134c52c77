//! Dynamic (4D) Gaussian splats: per-splat motion over time.
//!
//! A [`GaussianSplats`](super::asset::GaussianSplats) asset carries a
//! [`SplatMotion`]: [`SplatMotion::Static`] for ordinary 3DGS scenes, or one of
//! two dynamic models, stored per splat (splat-major, one entry per splat):
//!
//! * [`SplatMotion::Spacetime`]: Spacetime Gaussians "lite" (Li et al., CVPR
//!   2024). With `Δ = t − trbf_center`:
//!   `opacity(t) = opacity · exp(−(Δ / trbf_scale)²)`,
//!   `position(t) = μ + Δ·(m₁ + Δ·(m₂ + Δ·m₃))` and
//!   `rotation(t) = normalize(q + Δ·ω)` (component-wise quaternion sum).
//! * [`SplatMotion::Sliced4d`]: 4D Gaussians sliced by time (Yang et al., ICLR
//!   2024). Each splat is a 4D Gaussian over `(x, y, z, t)` with mean
//!   `(μ, μ_t)` and covariance `Σ = A·diag(s)²·Aᵀ`, `A` the 4D rotation built from
//!   a left and a right quaternion (see [`covariance_4d`]). At time `t`:
//!   `position(t) = μ + Σ_xyz,t / Σ_tt · (t − μ_t)`,
//!   `covariance(t) = Σ_xyz − Σ_xyz,t Σ_t,xyz / Σ_tt` and
//!   `opacity(t) = opacity · exp(−½ (t − μ_t)² / Σ_tt)`.
//!
//! [`GaussianSplats::evaluate`](super::asset::GaussianSplats::evaluate) applies
//! these formulas on the CPU; [`SplatMotion::gpu_words`] packs the per-splat
//! motion data for the GPU (layout documented in [`gpu`]).
//!
//! # Time
//!
//! Each dynamic model carries a [`SplatTimeline`]: the clip's range in *model*
//! time units and a `time_scale` (model units per second of playback), so a
//! playback time `seconds` maps to model time `start + seconds · time_scale`.
//!
//! # Files
//!
//! PLY files are recognised by their `vertex` properties (see
//! [`crate::io::dynamic_ply`]):
//!
//! | model | properties | source |
//! |---|---|---|
//! | Spacetime lite | `x y z trbf_center trbf_scale [nx ny nz] motion_0..8 f_dc_0..2 opacity scale_0..2 rot_0..3 omega_0..3` | `oppo-us-research/SpacetimeGaussians`, `thirdparty/gaussian_splatting/scene/ourslite.py` (`construct_list_of_attributes`, `save_ply`) |
//! | Sliced 4D, 3DGS-style names | `x y z [nx ny nz] f_dc_0..2 f_rest_* opacity scale_0..2 rot_0..3 t scale_t rot_r_0..3` | `fudan-zvg/4d-gaussian-splatting` saves only `.pth` checkpoints; these are the names of the `save_ply` of its fork `yangzf-1023/4C4D` (`scene/gaussian_model.py`), matching the fudan parameter names `_t`, `_scaling_t`, `_rotation_r` |
//! | Sliced 4D, `.ply4d` | `x y z t st sx sy sz opacity rot_x rot_y rot_z rot_w rot_r_x rot_r_y rot_r_z rot_r_w feat_{r,g,b}_{i}` | `mosure/bevy_gaussian_splatting`, `src/io/ply.rs` (`parse_ply_4d`) and `src/render/gaussian_4d.wgsl` |
//!
//! Spacetime lite stores pre-activation values: `opacity` is a logit, `scale_*`
//! and `trbf_scale` are natural logs, `rot_*` and `omega_*` are `(w, x, y, z)`
//! and `f_dc_0..2` is the splat's RGB colour itself (the lite model renders
//! `f_dc` as precomputed colour, no SH), which is stored here as the SH DC term
//! `(rgb − 0.5) / SH_C0`. Its time is normalised per clip: `t = frame / duration`
//! with `duration` 50 frames in the published configs.
//!
//! The 3DGS-style sliced files store pre-activation values too (logit opacity,
//! log scales including `scale_t`, unnormalised quaternions in fudan's
//! component order). `.ply4d` stores activated values (linear `sx sy sz st`,
//! opacity in `[0, 1]`); its `rot_x rot_y rot_z rot_w` hold fudan's four
//! components in fudan's order (bevy_gaussian_splatting's shader reads `rot_x` as
//! the real part), likewise `rot_r_*`; `feat_{c}_{i}` is SH coefficient `i` of
//! channel `c` (only the spatial coefficients `i < 16` are used).
//!
//! The sliced 4D maths follows the fudan trainer (`build_rotation_4d`, including
//! its reversal of the row and column order, and `L·Lᵀ`); that renderer also
//! drops splats whose temporal factor is below 0.05, which this crate does not
//! (they fade out continuously).
//!
//! For [`SplatMotion::Sliced4d`] the asset's `rotations` and `scales` hold the
//! *factors* of the 4D covariance (the left quaternion and the spatial scales),
//! kept so that the scene can be written back; they are not a 3D orientation.

mod covariance4d;
pub(crate) mod evaluate;
pub mod gpu;

pub use covariance4d::{covariance_4d, rotation_4d};
pub use evaluate::EvaluatedSplat;

use bevy::math::{Quat, Vec3};

use super::error::SplatDataError;

/// The quaternion `k = (0, 0, 1)·sin(π/2)` that conjugates the 4D rotation of a
/// sliced Gaussian when the `y` and `z` axes are negated (see [`SplatMotion::flip_yz`]).
const QUAT_K: Quat = Quat::from_xyzw(0.0, 0.0, 1.0, 0.0);

/// Signs of the 10 unique 4D covariance entries under `(x, y, z, t) → (x, −y, −z, t)`.
const FLIP_YZ_COV4_SIGNS: [f32; 10] = [1.0, -1.0, -1.0, 1.0, 1.0, 1.0, 1.0, -1.0, -1.0, 1.0];

/// How a playback time in seconds maps to the model's own time units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SplatTimeline {
    /// Model time at the start of the clip.
    pub start: f32,
    /// Model time at the end of the clip.
    pub end: f32,
    /// Model time units per second of playback (> 0).
    pub time_scale: f32,
}

impl Default for SplatTimeline {
    /// A one-second clip of model time `[0, 1]` at one unit per second.
    fn default() -> Self {
        Self {
            start: 0.0,
            end: 1.0,
            time_scale: 1.0,
        }
    }
}

impl SplatTimeline {
    /// The model time at `seconds` of playback: `start + seconds · time_scale`
    /// (not wrapped or clamped; looping is the caller's choice).
    pub fn model_time(&self, seconds: f32) -> f32 {
        self.start + seconds * self.time_scale
    }

    /// Length of the clip in seconds.
    pub fn duration_seconds(&self) -> f32 {
        (self.end - self.start) / self.time_scale
    }

    /// Checks that the values are finite, `end ≥ start` and `time_scale > 0`.
    pub fn validate(&self) -> Result<(), SplatDataError> {
        let ok = self.start.is_finite()
            && self.end.is_finite()
            && self.time_scale.is_finite()
            && self.end >= self.start
            && self.time_scale > 0.0;
        if ok {
            Ok(())
        } else {
            Err(SplatDataError::InvalidTimeline {
                start: self.start,
                end: self.end,
                time_scale: self.time_scale,
            })
        }
    }
}

/// Which motion model a scene uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MotionKind {
    /// No motion.
    #[default]
    Static,
    /// Spacetime Gaussians lite.
    Spacetime,
    /// 4D Gaussians sliced by time.
    Sliced4d,
}

/// Per-splat data of the Spacetime Gaussians lite model (one entry per splat).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpacetimeMotion {
    /// Temporal centre of each splat, in model time units.
    pub trbf_center: Vec<f32>,
    /// Temporal radius of each splat (linear: `exp` of the file's `trbf_scale`; > 0).
    pub trbf_scale: Vec<f32>,
    /// Polynomial motion coefficients `[m₁, m₂, m₃]` (file `motion_0..2`,
    /// `motion_3..5`, `motion_6..8`).
    pub polynomial: Vec<[Vec3; 3]>,
    /// Angular term ω, in the same component convention as the asset's
    /// rotations and divided by the length of the file's unnormalised
    /// quaternion, so that `normalize(q_unit + Δ·ω)` equals the model's
    /// `normalize(q_file + Δ·ω_file)`. Not a unit quaternion.
    pub omega: Vec<Quat>,
    /// Time mapping.
    pub timeline: SplatTimeline,
}

/// Per-splat data of the sliced 4D Gaussian model (one entry per splat).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sliced4dMotion {
    /// Mean time `μ_t`, in model time units.
    pub mean_time: Vec<f32>,
    /// Temporal scale `s_t` (linear standard deviation along the 4th local axis).
    pub time_scales: Vec<f32>,
    /// Right quaternion of the 4D rotation (unit, same storage convention as
    /// the asset's rotations; the left quaternion is in the asset's `rotations`).
    pub right_rotations: Vec<Quat>,
    /// The 4D covariance `(Σxx, Σxy, Σxz, Σyy, Σyz, Σzz, Σxt, Σyt, Σzt, Σtt)` in
    /// the asset's axis frame, derived from the factors (see [`covariance_4d`]);
    /// this is what evaluation and the GPU use.
    pub covariance: Vec<[f32; 10]>,
    /// Time mapping.
    pub timeline: SplatTimeline,
}

impl Sliced4dMotion {
    /// Recomputes [`Sliced4dMotion::covariance`] from the factors: the left
    /// quaternions and spatial scales of the asset plus this model's right
    /// quaternions and temporal scales.
    pub fn recompute_covariance(&mut self, left: &[Quat], scales: &[Vec3]) {
        self.covariance = left
            .iter()
            .zip(scales)
            .zip(self.right_rotations.iter().zip(&self.time_scales))
            .map(|((l, s), (r, st))| covariance_4d(s.extend(*st), *l, *r))
            .collect();
    }
}

/// How the splats of a scene move over time.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum SplatMotion {
    /// No motion: the 3DGS model.
    #[default]
    Static,
    /// Spacetime Gaussians lite.
    Spacetime(SpacetimeMotion),
    /// 4D Gaussians sliced by time.
    Sliced4d(Sliced4dMotion),
}

impl SplatMotion {
    /// The motion model.
    pub fn kind(&self) -> MotionKind {
        match self {
            SplatMotion::Static => MotionKind::Static,
            SplatMotion::Spacetime(_) => MotionKind::Spacetime,
            SplatMotion::Sliced4d(_) => MotionKind::Sliced4d,
        }
    }

    /// The time mapping of a dynamic scene; `None` when static.
    pub fn timeline(&self) -> Option<&SplatTimeline> {
        match self {
            SplatMotion::Static => None,
            SplatMotion::Spacetime(m) => Some(&m.timeline),
            SplatMotion::Sliced4d(m) => Some(&m.timeline),
        }
    }

    /// The time mapping of a dynamic scene, mutably; `None` when static.
    pub fn timeline_mut(&mut self) -> Option<&mut SplatTimeline> {
        match self {
            SplatMotion::Static => None,
            SplatMotion::Spacetime(m) => Some(&mut m.timeline),
            SplatMotion::Sliced4d(m) => Some(&mut m.timeline),
        }
    }

    /// Keeps the entries `i` with `keep[i]`, in order (`keep` has one entry per splat).
    pub(crate) fn retain_mask(&mut self, keep: &[bool]) {
        fn filter<T: Copy>(v: &mut Vec<T>, keep: &[bool]) {
            let mut i = 0;
            v.retain(|_| {
                let k = keep.get(i).copied().unwrap_or(false);
                i += 1;
                k
            });
        }
        match self {
            SplatMotion::Static => {}
            SplatMotion::Spacetime(m) => {
                filter(&mut m.trbf_center, keep);
                filter(&mut m.trbf_scale, keep);
                filter(&mut m.polynomial, keep);
                filter(&mut m.omega, keep);
            }
            SplatMotion::Sliced4d(m) => {
                filter(&mut m.mean_time, keep);
                filter(&mut m.time_scales, keep);
                filter(&mut m.right_rotations, keep);
                filter(&mut m.covariance, keep);
            }
        }
    }

    /// Applies `(x, y, z) → (x, −y, −z)` (180° about X) to the motion data.
    ///
    /// `left` are the asset's rotations. For Spacetime they are rotated by the
    /// caller like static rotations and ω is rotated the same way (a left
    /// multiplication by the unit quaternion `i`, which commutes with the sum
    /// `q + Δ·ω`). For a sliced 4D Gaussian negating `y` and `z` is the 4D
    /// rotation `diag(1, −1, −1, 1)`, which is conjugation by the quaternion `k`
    /// in fudan's basis: both factor quaternions are multiplied by `k` on the
    /// left (so `left` is handled here) and the covariance entries change sign
    /// per [`FLIP_YZ_COV4_SIGNS`]. Returns whether `left` was handled.
    pub(crate) fn flip_yz(&mut self, left: &mut [Quat]) -> bool {
        match self {
            SplatMotion::Static => false,
            SplatMotion::Spacetime(m) => {
                let r = Quat::from_xyzw(1.0, 0.0, 0.0, 0.0);
                for p in &mut m.polynomial {
                    for v in p.iter_mut() {
                        *v = Vec3::new(v.x, -v.y, -v.z);
                    }
                }
                for w in &mut m.omega {
                    *w = r * *w;
                }
                false
            }
            SplatMotion::Sliced4d(m) => {
                for q in left.iter_mut().chain(m.right_rotations.iter_mut()) {
                    *q = mul_k_wxyz(*q);
                }
                for c in &mut m.covariance {
                    for (v, s) in c.iter_mut().zip(FLIP_YZ_COV4_SIGNS) {
                        *v *= s;
                    }
                }
                true
            }
        }
    }

    /// Checks lengths against `n` splats, finiteness, positive temporal scales
    /// (`trbf_scale > 0`, `Σ_tt > 0`) and the timeline.
    pub(crate) fn validate(&self, n: usize) -> Result<(), SplatDataError> {
        let check = |name, found: usize| {
            if found == n {
                Ok(())
            } else {
                Err(SplatDataError::LengthMismatch {
                    name,
                    found,
                    expected: n,
                })
            }
        };
        let non_finite = |index, field| Err(SplatDataError::NonFinite { index, field });
        let non_positive = |index, field| Err(SplatDataError::NonPositive { index, field });
        match self {
            SplatMotion::Static => Ok(()),
            SplatMotion::Spacetime(m) => {
                m.timeline.validate()?;
                check("trbf_center", m.trbf_center.len())?;
                check("trbf_scale", m.trbf_scale.len())?;
                check("motion polynomial", m.polynomial.len())?;
                check("omega", m.omega.len())?;
                for i in 0..n {
                    if !m.trbf_center[i].is_finite() {
                        return non_finite(i, "trbf_center");
                    }
                    if !m.trbf_scale[i].is_finite() {
                        return non_finite(i, "trbf_scale");
                    }
                    if m.trbf_scale[i] <= 0.0 {
                        return non_positive(i, "trbf_scale");
                    }
                    if !m.polynomial[i].iter().all(|v| v.is_finite()) {
                        return non_finite(i, "motion polynomial");
                    }
                    if !m.omega[i].is_finite() {
                        return non_finite(i, "omega");
                    }
                }
                Ok(())
            }
            SplatMotion::Sliced4d(m) => {
                m.timeline.validate()?;
                check("mean time", m.mean_time.len())?;
                check("time scale", m.time_scales.len())?;
                check("right rotation", m.right_rotations.len())?;
                check("4D covariance", m.covariance.len())?;
                for i in 0..n {
                    if !m.mean_time[i].is_finite() {
                        return non_finite(i, "mean time");
                    }
                    if !m.time_scales[i].is_finite() {
                        return non_finite(i, "time scale");
                    }
                    if !m.right_rotations[i].is_finite() {
                        return non_finite(i, "right rotation");
                    }
                    if !m.covariance[i].iter().all(|v| v.is_finite()) {
                        return non_finite(i, "4D covariance");
                    }
                    if m.covariance[i][9] <= 0.0 {
                        return non_positive(i, "4D covariance Σ_tt");
                    }
                }
                Ok(())
            }
        }
    }
}

/// `k · q` for a quaternion stored as glam `(x, y, z, w)` whose fudan
/// components are `(w, x, y, z)`: exact (only permutes and negates components).
fn mul_k_wxyz(q: Quat) -> Quat {
    QUAT_K * q
}

#[cfg(test)]
mod tests;
