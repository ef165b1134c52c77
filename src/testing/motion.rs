//! Synthetic dynamic scenes for tests and benchmarks (not part of the stable API).

use bevy::math::{Quat, Vec3};

use crate::splat::motion::{MotionKind, Sliced4dMotion, SpacetimeMotion, SplatMotion, SplatTimeline};
use crate::splat::asset::GaussianSplats;

use super::random::TestRng;

fn vec3(rng: &mut TestRng, r: f32) -> Vec3 {
    Vec3::new(rng.range(-r, r), rng.range(-r, r), rng.range(-r, r))
}

fn quat_near_identity(rng: &mut TestRng, r: f32) -> Quat {
    Quat::from_xyzw(rng.range(-r, r), rng.range(-r, r), rng.range(-r, r), 1.0).normalize()
}

/// `n` random splats (SH degree 0, bright colours) in the cube `[−1, 1]³`,
/// small (σ 0.02–0.08) and fairly opaque, with motion of `kind` over a clip of
/// 2 s (`duration_seconds() == 2`):
///
/// * Spacetime: model time `[0, 1]` at 0.5 units/s; `trbf_center` uniform in
///   `[0, 1]`, `trbf_scale` 0.04–0.12 (each splat is visible for a fraction
///   of the clip and fully invisible, below 1/255, far from its centre);
///   polynomial motion up to ±0.5 units/unit and a small ω.
/// * Sliced4d: model time `[0, 2]` s at 1 unit/s; `μ_t` uniform in `[0, 2]`,
///   temporal scale 0.08–0.25 s and factor quaternions near the identity, so
///   each splat drifts a little while it fades in and out.
/// * Static: no motion.
pub fn synthetic_dynamic(kind: MotionKind, n: usize, seed: u64) -> GaussianSplats {
    let mut rng = TestRng::new(seed);
    let mut s = GaussianSplats::with_capacity(n, 0);
    for _ in 0..n {
        s.positions.push(vec3(&mut rng, 1.0));
        s.rotations.push(quat_near_identity(&mut rng, 1.0));
        s.scales.push(Vec3::new(rng.range(0.02, 0.08), rng.range(0.02, 0.08), rng.range(0.02, 0.08)));
        s.opacities.push(rng.range(0.6, 0.95));
        s.sh.push([rng.range(-0.5, 1.5), rng.range(-0.5, 1.5), rng.range(-0.5, 1.5)]);
    }
    s.motion = match kind {
        MotionKind::Static => SplatMotion::Static,
        MotionKind::Spacetime => {
            let mut m = SpacetimeMotion {
                timeline: SplatTimeline {
                    start: 0.0,
                    end: 1.0,
                    time_scale: 0.5,
                },
                ..Default::default()
            };
            for _ in 0..n {
                m.trbf_center.push(rng.range(0.0, 1.0));
                m.trbf_scale.push(rng.range(0.04, 0.12));
                m.polynomial.push([vec3(&mut rng, 0.5), vec3(&mut rng, 0.5), vec3(&mut rng, 0.5)]);
                m.omega.push(Quat::from_xyzw(rng.range(-1.0, 1.0), rng.range(-1.0, 1.0), rng.range(-1.0, 1.0), 0.0));
            }
            SplatMotion::Spacetime(m)
        }
        MotionKind::Sliced4d => {
            let mut m = Sliced4dMotion {
                timeline: SplatTimeline {
                    start: 0.0,
                    end: 2.0,
                    time_scale: 1.0,
                },
                ..Default::default()
            };
            for _ in 0..n {
                m.mean_time.push(rng.range(0.0, 2.0));
                m.time_scales.push(rng.range(0.08, 0.25));
                m.right_rotations.push(quat_near_identity(&mut rng, 0.3));
            }
            // The left factors: near the identity too, so that little x/y/z–t
            // mixing happens (slow drift rather than teleporting splats).
            for q in &mut s.rotations {
                *q = quat_near_identity(&mut rng, 0.3);
            }
            m.recompute_covariance(&s.rotations, &s.scales);
            SplatMotion::Sliced4d(m)
        }
    };
    s
}

/// A procedural 4D clip for demos: `n` glowing particles launched in a spiral
/// from the origin, each flying a parabola (up 1.2, out 0.6) for one second,
/// fading in at launch and out at landing (Spacetime Gaussians: velocity and
/// gravity as polynomial motion, a temporal RBF for opacity). The clip lasts
/// 4 s (model time `[0, 1]` at 0.25 units/s), in Bevy's frame (+Y up).
pub fn fountain(n: usize, seed: u64) -> GaussianSplats {
    let mut rng = TestRng::new(seed);
    let mut s = GaussianSplats::with_capacity(n, 0);
    let mut m = SpacetimeMotion {
        timeline: SplatTimeline {
            start: 0.0,
            end: 1.0,
            time_scale: 0.25,
        },
        ..Default::default()
    };
    // Model units: 1 unit = 4 s. Flight time, apex height and reach.
    let flight = 0.25f32;
    let gravity = 8.0 * 1.2 / (flight * flight);
    for _ in 0..n {
        let launch = rng.range(-flight * 0.5, 1.0);
        let angle = launch * std::f32::consts::TAU * 3.0 + rng.range(-0.25, 0.25);
        let reach = rng.range(0.45, 0.75);
        let dir = Vec3::new(angle.cos(), 0.0, angle.sin());
        let horizontal = dir * (reach / flight);
        let apex = dir * (reach * 0.5) + Vec3::Y * rng.range(1.0, 1.3);
        s.positions.push(apex);
        s.rotations.push(Quat::IDENTITY);
        s.scales.push(Vec3::splat(rng.range(0.012, 0.028)));
        s.opacities.push(rng.range(0.7, 0.95));
        let hue = angle.rem_euclid(std::f32::consts::TAU) / std::f32::consts::TAU;
        let rgb = Vec3::new(hue, hue + 1.0 / 3.0, hue + 2.0 / 3.0)
            .map(|h| 0.55 + 0.45 * (std::f32::consts::TAU * h).cos());
        let dc = (rgb - Vec3::splat(0.5)) / crate::splat::asset::SH_C0;
        s.sh.push(dc.to_array());
        m.trbf_center.push(launch + flight * 0.5);
        m.trbf_scale.push(flight / 3.0);
        m.polynomial.push([horizontal, Vec3::new(0.0, -gravity * 0.5, 0.0), Vec3::ZERO]);
        m.omega.push(Quat::from_xyzw(0.0, 0.0, 0.0, 0.0));
    }
    s.motion = SplatMotion::Spacetime(m);
    s
}
