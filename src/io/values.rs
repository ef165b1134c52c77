//! Value conventions shared by the splat file formats: pre-activation values
//! (logit opacities, log scales) and `(w, x, y, z)` quaternions.

use bevy::math::Quat;

/// Logistic sigmoid.
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// A unit quaternion from `(w, x, y, z)` components, normalised in `f64` (so
/// denormal components still give a unit quaternion). A zero quaternion stays
/// zero and non-finite input stays non-finite: [`GaussianSplats::validate`]
/// rejects both, so every loader treats them alike.
///
/// [`GaussianSplats::validate`]: crate::splat::asset::GaussianSplats::validate
#[inline]
pub fn quat_from_wxyz(w: f32, x: f32, y: f32, z: f32) -> Quat {
    let (w64, x64, y64, z64) = (w as f64, x as f64, y as f64, z as f64);
    let len = (w64 * w64 + x64 * x64 + y64 * y64 + z64 * z64).sqrt();
    if len == 0.0 || !len.is_finite() {
        return Quat::from_xyzw(x, y, z, w);
    }
    let inv = 1.0 / len;
    Quat::from_xyzw(
        (x64 * inv) as f32,
        (y64 * inv) as f32,
        (z64 * inv) as f32,
        (w64 * inv) as f32,
    )
}

/// Inverse sigmoid with the probability clamped into `[1e-6, 1 − 1e-6]`.
pub fn logit(p: f32) -> f32 {
    let p = (p as f64).clamp(1e-6, 1.0 - 1e-6);
    (p / (1.0 - p)).ln() as f32
}

/// Natural log of a scale, keeping NaN and mapping non-positive scales to the
/// log of the smallest positive normal `f32`.
pub fn log_scale(s: f32) -> f32 {
    if s.is_nan() {
        s
    } else {
        s.max(f32::MIN_POSITIVE).ln()
    }
}
