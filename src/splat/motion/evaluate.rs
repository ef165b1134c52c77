//! Evaluating a splat at a model time: the maths the GPU mirrors.

use bevy::math::{Mat3, Quat, Vec3, Vec4};

use super::SplatMotion;
use crate::splat::asset::GaussianSplats;

/// A splat at one instant: what projection needs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EvaluatedSplat {
    /// Centre, in the asset's (local) frame.
    pub position: Vec3,
    /// 3D covariance in the asset's frame (before the entity's scale factor).
    pub covariance: Mat3,
    /// Opacity including the temporal factor, in `[0, 1]`.
    pub opacity: f32,
}

/// `R·S·Sᵀ·Rᵀ` for a unit rotation and linear scales.
pub fn static_covariance(rotation: Quat, scale: Vec3) -> Mat3 {
    let m = Mat3::from_quat(rotation) * Mat3::from_diagonal(scale);
    m * m.transpose()
}

/// `q / |q|` as a 4-vector, or the identity for a zero (or non-finite) quaternion.
pub fn normalize_or_identity(q: Vec4) -> Quat {
    let len = q.length();
    if len > 0.0 && len.is_finite() {
        Quat::from_vec4(q / len)
    } else {
        Quat::IDENTITY
    }
}

impl GaussianSplats {
    /// Splat `i` at `model_time` (see [`GaussianSplats::model_time`]).
    ///
    /// * Static: the stored position, `R·S·Sᵀ·Rᵀ` and opacity.
    /// * Spacetime: `Δ = t − trbf_center`; position `μ + Δ·(m₁ + Δ·(m₂ + Δ·m₃))`,
    ///   rotation `normalize(q + Δ·ω)` (identity if that is zero), covariance
    ///   `R·S·Sᵀ·Rᵀ`, opacity `opacity · exp(−(Δ / trbf_scale)²)`.
    /// * Sliced4d: `Δ = t − μ_t`; position `μ + Σ_xyz,t · (Δ / Σ_tt)`,
    ///   covariance `Σ_xyz − Σ_xyz,t Σ_xyz,tᵀ / Σ_tt`, opacity
    ///   `opacity · exp(−½ Δ² / Σ_tt)` (0 when `Σ_tt ≤ 0`).
    ///
    /// Panics if `i` is out of range or the asset does not pass
    /// [`GaussianSplats::validate`] (motion arrays too short).
    ///
    /// Finite inputs can still overflow (a polynomial with huge coefficients,
    /// a time far from the splat's centre): a splat whose position,
    /// covariance or opacity is not finite at `model_time` is hidden there
    /// (opacity 0, zero covariance, its stored position), as the GPU
    /// preprocess culls it.
    pub fn evaluate(&self, i: usize, model_time: f32) -> EvaluatedSplat {
        let e = self.evaluate_unchecked(i, model_time);
        if e.position.is_finite() && e.covariance.is_finite() && e.opacity.is_finite() {
            e
        } else {
            EvaluatedSplat {
                position: self.positions[i],
                covariance: Mat3::ZERO,
                opacity: 0.0,
            }
        }
    }

    fn evaluate_unchecked(&self, i: usize, model_time: f32) -> EvaluatedSplat {
        let position = self.positions[i];
        let opacity = self.opacities[i];
        match &self.motion {
            SplatMotion::Static => EvaluatedSplat {
                position,
                covariance: static_covariance(self.rotations[i], self.scales[i]),
                opacity,
            },
            SplatMotion::Spacetime(m) => {
                let dt = model_time - m.trbf_center[i];
                let [m1, m2, m3] = m.polynomial[i];
                let position = position + dt * (m1 + dt * (m2 + dt * m3));
                let q = Vec4::from(self.rotations[i]) + dt * Vec4::from(m.omega[i]);
                let rotation = normalize_or_identity(q);
                let x = dt / m.trbf_scale[i];
                EvaluatedSplat {
                    position,
                    covariance: static_covariance(rotation, self.scales[i]),
                    opacity: opacity * (-x * x).exp(),
                }
            }
            SplatMotion::Sliced4d(m) => {
                let c = m.covariance[i];
                let tt = c[9];
                let cross = Vec3::new(c[6], c[7], c[8]);
                let spatial = Mat3::from_cols(
                    Vec3::new(c[0], c[1], c[2]),
                    Vec3::new(c[1], c[3], c[4]),
                    Vec3::new(c[2], c[4], c[5]),
                );
                if tt <= 0.0 || tt.is_nan() {
                    return EvaluatedSplat {
                        position,
                        covariance: spatial,
                        opacity: 0.0,
                    };
                }
                let dt = model_time - m.mean_time[i];
                let k = cross / tt;
                let covariance = spatial
                    - Mat3::from_cols(cross * k.x, cross * k.y, cross * k.z);
                EvaluatedSplat {
                    position: position + k * dt,
                    covariance,
                    opacity: opacity * (-0.5 * dt * dt / tt).exp(),
                }
            }
        }
    }
}
