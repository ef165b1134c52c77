//! Baking a transform into a splat asset: what an entity shows at its
//! `Transform`, moved into the asset's own coordinates (for export, or to
//! merge captures). Centres, rotations, scales and motion are mapped, and the
//! view-dependent colour is rotated with the splats: each SH band's
//! coefficients are multiplied by that band's rotation matrix, found by
//! fitting the rotated basis at fixed directions ([`ShRotation`]).
//!
//! Only similarity transforms are exact for splats with view-dependent colour
//! (a non-uniform scale bends the view directions the SH is evaluated at), so
//! [`GaussianSplats::apply_transform`] takes a uniform scale. Sliced 4D
//! Gaussians keep their 4D factors, which a spatial scale does not preserve:
//! they take rotations and translations only.

use bevy::math::{Mat3, Quat, Vec3};
use bevy::transform::components::Transform;

use super::asset::GaussianSplats;
use super::motion::SplatMotion;
use super::projection::{SH_C1, SH_C2, SH_C3};

/// The real SH basis of the renderer (`sh_color`'s terms, degree 3, 16
/// values) at a unit direction.
pub fn sh_basis(dir: Vec3) -> [f32; 16] {
    let (x, y, z) = (dir.x, dir.y, dir.z);
    let (xx, yy, zz) = (x * x, y * y, z * z);
    let (xy, yz, xz) = (x * y, y * z, x * z);
    [
        0.282_094_8,
        -SH_C1 * y,
        SH_C1 * z,
        -SH_C1 * x,
        SH_C2[0] * xy,
        SH_C2[1] * yz,
        SH_C2[2] * (2.0 * zz - xx - yy),
        SH_C2[3] * xz,
        SH_C2[4] * (xx - yy),
        SH_C3[0] * y * (3.0 * xx - yy),
        SH_C3[1] * xy * z,
        SH_C3[2] * y * (4.0 * zz - xx - yy),
        SH_C3[3] * z * (2.0 * zz - 3.0 * xx - 3.0 * yy),
        SH_C3[4] * x * (4.0 * zz - xx - yy),
        SH_C3[5] * z * (xx - yy),
        SH_C3[6] * x * (xx - 3.0 * yy),
    ]
}

/// The matrices that rotate SH coefficients of bands 1–3: with
/// `c' = D·c` per band, `Σ c'ₖ Yₖ(d) = Σ cₖ Yₖ(R⁻¹ d)` for every direction
/// `d`, so colour seen along `d` after rotating by `R` equals the colour
/// seen along `R⁻¹ d` before.
#[derive(Clone, Debug, PartialEq)]
pub struct ShRotation {
    /// Band 1 (3×3), band 2 (5×5), band 3 (7×7), row-major.
    bands: [Vec<f64>; 3],
}

/// Directions the band matrices are fitted at: a Fibonacci sphere (well
/// spread, so every band's basis matrix is well conditioned).
fn fit_directions() -> Vec<Vec3> {
    const N: usize = 32;
    let golden = std::f32::consts::PI * (3.0 - 5f32.sqrt());
    (0..N)
        .map(|i| {
            let y = 1.0 - 2.0 * (i as f32 + 0.5) / N as f32;
            let r = (1.0 - y * y).max(0.0).sqrt();
            let phi = golden * i as f32;
            Vec3::new(r * phi.cos(), y, r * phi.sin())
        })
        .collect()
}

/// Solves `m·x = b` (n×n, row-major, partial pivoting) in place; `m` is
/// symmetric positive definite here (normal equations), so it never fails.
fn solve(mut m: Vec<f64>, mut b: Vec<f64>, n: usize) -> Vec<f64> {
    for col in 0..n {
        let pivot = (col..n).max_by(|&a, &c| m[a * n + col].abs().total_cmp(&m[c * n + col].abs())).unwrap_or(col);
        if pivot != col {
            for k in 0..n {
                m.swap(col * n + k, pivot * n + k);
            }
            b.swap(col, pivot);
        }
        let d = m[col * n + col];
        for row in col + 1..n {
            let f = m[row * n + col] / d;
            for k in col..n {
                m[row * n + k] -= f * m[col * n + k];
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| m[row * n + k] * x[k]).sum();
        x[row] = (b[row] - s) / m[row * n + row];
    }
    x
}

impl ShRotation {
    /// The band matrices for `rotation` (normalised first).
    pub fn new(rotation: Quat) -> Self {
        let inverse = rotation.normalize().inverse();
        let dirs = fit_directions();
        let a: Vec<[f32; 16]> = dirs.iter().map(|d| sh_basis(*d)).collect();
        let b: Vec<[f32; 16]> = dirs.iter().map(|d| sh_basis(inverse * *d)).collect();
        let band = |l: usize| {
            let (start, n) = (l * l, 2 * l + 1);
            // Least squares A·D = B over the directions, band by band:
            // (AᵀA)·D = AᵀB, one column of D at a time.
            let ata: Vec<f64> = (0..n * n)
                .map(|ij| a.iter().map(|r| r[start + ij / n] as f64 * r[start + ij % n] as f64).sum())
                .collect();
            let mut d = vec![0.0f64; n * n];
            for col in 0..n {
                let atb: Vec<f64> =
                    (0..n).map(|i| a.iter().zip(&b).map(|(ra, rb)| ra[start + i] as f64 * rb[start + col] as f64).sum()).collect();
                for (row, v) in solve(ata.clone(), atb, n).into_iter().enumerate() {
                    d[row * n + col] = v;
                }
            }
            d
        };
        Self { bands: [band(1), band(2), band(3)] }
    }

    /// Rotates one splat's coefficients (`(degree + 1)²` RGB triples) in place.
    pub fn apply(&self, coefficients: &mut [[f32; 3]]) {
        for l in 1..=3usize {
            let (start, n) = (l * l, 2 * l + 1);
            if coefficients.len() < start + n {
                break;
            }
            let old: Vec<[f32; 3]> = coefficients[start..start + n].to_vec();
            let d = &self.bands[l - 1];
            for (row, out) in coefficients[start..start + n].iter_mut().enumerate() {
                for (channel, value) in out.iter_mut().enumerate() {
                    *value = (0..n).map(|k| d[row * n + k] * old[k][channel] as f64).sum::<f64>() as f32;
                }
            }
        }
    }
}

/// Why a transform cannot be baked into an asset.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TransformError {
    /// A translation, rotation or scale component is NaN or infinite.
    #[error("the transform is not finite ({0:?})")]
    NonFinite(Transform),
    /// The rotation quaternion is zero.
    #[error("the transform's rotation is a zero quaternion")]
    ZeroRotation,
    /// The scale differs between axes (splats would need re-fitting).
    #[error("the transform's scale {0} is not uniform; only uniform scales can be baked into splats")]
    NonUniformScale(Vec3),
    /// The scale is zero or negative (a mirror or a collapse).
    #[error("the transform's scale {0} must be positive")]
    NonPositiveScale(f32),
    /// A sliced 4D capture with a scale other than 1.
    #[error("a sliced 4D capture can be moved and rotated but not scaled (scale {0})")]
    ScaledSliced4d(f32),
}

/// The uniform scale of `transform`, checked.
fn check(transform: &Transform) -> Result<f32, TransformError> {
    if !(transform.translation.is_finite() && transform.rotation.is_finite() && transform.scale.is_finite()) {
        return Err(TransformError::NonFinite(*transform));
    }
    if !(transform.rotation.length_squared() > 0.0) {
        return Err(TransformError::ZeroRotation);
    }
    let s = transform.scale;
    let scale = s.x;
    let tolerance = 1e-5 * scale.abs().max(f32::MIN_POSITIVE);
    if (s.y - scale).abs() > tolerance || (s.z - scale).abs() > tolerance {
        return Err(TransformError::NonUniformScale(s));
    }
    if !(scale > 0.0) {
        return Err(TransformError::NonPositiveScale(scale));
    }
    Ok(scale)
}

/// The quaternion, in the sliced 4D model's component order, of the 3D
/// rotation `r` acting on `(x, y, z)`: that model maps `(x, y, z, t)` to the
/// quaternion components `(k, j, i, real)` (see
/// [`rotation_4d`](super::motion::covariance4d::rotation_4d)), a reversal of
/// the spatial axes, so the rotation is conjugated by that reversal.
fn sliced4d_quaternion(r: Mat3) -> Quat {
    let reverse = Mat3::from_cols(Vec3::Z, Vec3::Y, Vec3::X);
    Quat::from_mat3(&(reverse * r * reverse))
}

impl GaussianSplats {
    /// Moves the splats by `transform` (uniform scale), so that the asset
    /// drawn at the identity looks as it did drawn at `transform`, view-
    /// dependent colour included. On error the asset is unchanged.
    pub fn apply_transform(&mut self, transform: &Transform) -> Result<(), TransformError> {
        let scale = check(transform)?;
        let rotation = transform.rotation.normalize();
        if matches!(self.motion, SplatMotion::Sliced4d(_)) && scale != 1.0 {
            return Err(TransformError::ScaledSliced4d(scale));
        }
        let matrix = Mat3::from_quat(rotation);
        for p in &mut self.positions {
            *p = matrix * (*p * scale) + transform.translation;
        }
        if !matches!(self.motion, SplatMotion::Sliced4d(_)) {
            for q in &mut self.rotations {
                *q = rotation * *q;
            }
        }
        for s in &mut self.scales {
            *s *= scale;
        }
        if self.sh_degree > 0 {
            let sh = ShRotation::new(rotation);
            let k = self.sh_per_splat();
            for coefficients in self.sh.chunks_mut(k) {
                sh.apply(coefficients);
            }
        }
        match &mut self.motion {
            SplatMotion::Static => {}
            SplatMotion::Spacetime(m) => {
                for terms in &mut m.polynomial {
                    for v in terms {
                        *v = matrix * (*v * scale);
                    }
                }
                // normalize(q + Δ·ω) turns with q: ω is multiplied like q.
                for w in &mut m.omega {
                    *w = rotation * *w;
                }
            }
            SplatMotion::Sliced4d(m) => {
                // The asset's rotations are the 4D left quaternions: both
                // factors take the rotation (x ↦ q·l·x·r̄·q̄).
                let q = sliced4d_quaternion(matrix);
                for (left, right) in self.rotations.iter_mut().zip(&mut m.right_rotations) {
                    *left = q * *left;
                    *right = q * *right;
                }
                m.recompute_covariance(&self.rotations, &self.scales);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::splat::projection::sh_color;

    #[test]
    fn the_basis_is_sh_color_term_for_term() {
        let mut rng = crate::testing::TestRng::new(5);
        for _ in 0..50 {
            let dir = Vec3::new(rng.range(-1.0, 1.0), rng.range(-1.0, 1.0), rng.range(-1.0, 1.0)).normalize();
            let sh: Vec<[f32; 3]> = (0..16).map(|_| [rng.range(-0.2, 0.2), rng.range(-0.2, 0.2), rng.range(-0.2, 0.2)]).collect();
            let basis = sh_basis(dir);
            let sum: Vec3 = sh.iter().zip(basis).map(|(c, y)| Vec3::from_array(*c) * y).sum();
            let expected = (sum + Vec3::splat(0.5)).max(Vec3::ZERO);
            assert!((sh_color(&sh, 3, dir) - expected).abs().max_element() < 1e-5);
        }
    }

    #[test]
    fn rotated_coefficients_seen_along_rotated_directions_match() {
        let mut rng = crate::testing::TestRng::new(9);
        for _ in 0..10 {
            let rotation = Quat::from_xyzw(rng.range(-1.0, 1.0), rng.range(-1.0, 1.0), rng.range(-1.0, 1.0), rng.range(-1.0, 1.0)).normalize();
            let sh: Vec<[f32; 3]> = (0..16).map(|_| [rng.range(-0.3, 0.3), rng.range(-0.3, 0.3), rng.range(-0.3, 0.3)]).collect();
            let mut rotated = sh.clone();
            ShRotation::new(rotation).apply(&mut rotated);
            assert_eq!(rotated[0], sh[0]);
            for _ in 0..20 {
                let d = Vec3::new(rng.range(-1.0, 1.0), rng.range(-1.0, 1.0), rng.range(-1.0, 1.0)).normalize();
                let before = sh_color(&sh, 3, d);
                let after = sh_color(&rotated, 3, rotation * d);
                assert!((before - after).abs().max_element() < 1e-4, "{before} vs {after}");
            }
        }
    }

    #[test]
    fn bad_transforms_are_typed_errors_and_change_nothing() {
        let mut splats = crate::testing::motion::synthetic_dynamic(crate::splat::motion::MotionKind::Static, 10, 1);
        let original = splats.clone();
        let cases = [
            (Transform::from_scale(Vec3::new(1.0, 2.0, 1.0)), "not uniform"),
            (Transform::from_scale(Vec3::splat(-1.0)), "must be positive"),
            (Transform::from_xyz(f32::NAN, 0.0, 0.0), "not finite"),
            (Transform::from_rotation(Quat::from_xyzw(0.0, 0.0, 0.0, 0.0)), "zero quaternion"),
        ];
        for (transform, message) in cases {
            let error = splats.apply_transform(&transform).unwrap_err();
            assert!(error.to_string().contains(message), "{error}");
            assert_eq!(splats, original);
        }
        let mut sliced = crate::testing::motion::synthetic_dynamic(crate::splat::motion::MotionKind::Sliced4d, 10, 1);
        assert!(matches!(sliced.apply_transform(&Transform::from_scale(Vec3::splat(2.0))), Err(TransformError::ScaledSliced4d(_))));
    }

    /// Every motion kind: the splat evaluated after baking equals the baked
    /// transform applied to the splat evaluated before, at several times.
    #[test]
    fn baked_splats_evaluate_to_the_transformed_splats() {
        use crate::splat::motion::MotionKind;
        let rotation = Quat::from_euler(bevy::math::EulerRot::YXZ, 0.7, -0.4, 0.2);
        for kind in [MotionKind::Static, MotionKind::Spacetime, MotionKind::Sliced4d] {
            let scale = if kind == MotionKind::Sliced4d { 1.0 } else { 1.7 };
            let transform = Transform { translation: Vec3::new(0.3, -1.0, 2.0), rotation, scale: Vec3::splat(scale) };
            let before = crate::testing::motion::synthetic_dynamic(kind, 50, 3);
            let mut after = before.clone();
            after.apply_transform(&transform).unwrap();
            let m = Mat3::from_quat(rotation);
            for time in [0.0, 0.3, 0.9] {
                let t = before.model_time(time);
                for i in 0..before.len() {
                    let (a, b) = (before.evaluate(i, t), after.evaluate(i, t));
                    let position = transform.transform_point(a.position);
                    assert!((b.position - position).length() < 1e-4 * (1.0 + position.length()), "{kind:?} position");
                    assert!((b.opacity - a.opacity).abs() < 1e-5, "{kind:?} opacity");
                    let covariance = m * a.covariance * m.transpose() * (scale * scale);
                    let diff = (b.covariance - covariance).to_cols_array().iter().fold(0.0f32, |x, v| x.max(v.abs()));
                    let size = covariance.to_cols_array().iter().fold(0.0f32, |x, v| x.max(v.abs()));
                    assert!(diff <= 1e-4 * size.max(1e-6), "{kind:?} covariance: {diff} of {size}");
                }
            }
        }
    }
}
