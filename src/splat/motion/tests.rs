use bevy::math::{Mat3, Mat4, Quat, Vec2, Vec3, Vec4};

use super::evaluate::static_covariance;
use super::gpu::{MOTION_KIND_SLICED_4D, MOTION_KIND_SPACETIME, MOTION_KIND_STATIC};
use crate::testing::motion::synthetic_dynamic;
use super::*;
use crate::splat::asset::{GaussianSplats, SplatDataError};
use crate::camera::CameraView;
use crate::splat::projection::{SplatParams, project_splat};
use crate::splat::reference::{ReferenceItem, render_reference};

fn close(a: f32, b: f32, tol: f32) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

fn mat_close(a: Mat3, b: Mat3, tol: f32) -> bool {
    a.to_cols_array().iter().zip(b.to_cols_array()).all(|(x, y)| close(*x, y, tol))
}

/// Fudan `(a, b, c, d)` (real part first) to the glam storage.
fn q(a: f32, b: f32, c: f32, d: f32) -> Quat {
    Quat::from_xyzw(b, c, d, a)
}

/// `q_l = (cos θ, 0, 0, sin θ)`, `q_r = (cos θ, 0, 0, −sin θ)`: by hand,
/// `M_l · M_r` rotates the (e0, e3) plane by 2θ and fixes e1, e2; after the
/// index reversal that is a rotation by φ = 2θ in the x–t plane:
/// `x' = cos φ x + sin φ t`, `t' = −sin φ x + cos φ t`.
fn xt_rotation(phi: f32) -> (Quat, Quat) {
    let (s, c) = (0.5 * phi).sin_cos();
    (q(c, 0.0, 0.0, s), q(c, 0.0, 0.0, -s))
}

#[test]
fn rotation_4d_in_the_x_t_plane() {
    let phi = core::f32::consts::FRAC_PI_4;
    let (l, r) = xt_rotation(phi);
    let rot = rotation_4d(l, r);
    let (s, c) = phi.sin_cos();
    let expected = [[c, 0.0, 0.0, s], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [-s, 0.0, 0.0, c]];
    for i in 0..4 {
        for j in 0..4 {
            assert!((rot[i][j] - expected[i][j]).abs() < 1e-6, "R[{i}][{j}] = {}", rot[i][j]);
        }
    }
    // Identity factors give the identity.
    let id = rotation_4d(Quat::IDENTITY, Quat::IDENTITY);
    for (i, row) in id.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            assert_eq!(*v, if i == j { 1.0 } else { 0.0 });
        }
    }
}

/// One splat rotated 45° in x–t, scales (0.1, 0.2, 0.3, 1), mean (1, 2, 3) at
/// μ_t = 0.5. By hand: Σxx = Σtt = (0.01 + 1) / 2 = 0.505, Σxt = (1 − 0.01) / 2 =
/// 0.495, Σyy = 0.04, Σzz = 0.09; velocity Σxt/Σtt = 0.980198; conditional
/// Σxx = 0.01 / 0.505 = 0.019802; opacity factor at |Δ| = 1: exp(−0.5 / 0.505).
fn xt_splat() -> GaussianSplats {
    let (l, r) = xt_rotation(core::f32::consts::FRAC_PI_4);
    let mut s = GaussianSplats::with_capacity(1, 0);
    s.positions.push(Vec3::new(1.0, 2.0, 3.0));
    s.rotations.push(l);
    s.scales.push(Vec3::new(0.1, 0.2, 0.3));
    s.opacities.push(0.8);
    s.sh.push([0.0; 3]);
    let mut m = Sliced4dMotion {
        mean_time: vec![0.5],
        time_scales: vec![1.0],
        right_rotations: vec![r],
        timeline: SplatTimeline {
            start: 0.0,
            end: 2.0,
            time_scale: 1.0,
        },
        ..Default::default()
    };
    m.recompute_covariance(&s.rotations, &s.scales);
    s.motion = SplatMotion::Sliced4d(m);
    s
}

#[test]
fn sliced_gaussian_moves_linearly_in_x() {
    let s = xt_splat();
    s.validate().unwrap();
    let SplatMotion::Sliced4d(m) = &s.motion else { unreachable!() };
    let expected = [0.505, 0.0, 0.0, 0.04, 0.0, 0.09, 0.495, 0.0, 0.0, 0.505];
    for (a, b) in m.covariance[0].iter().zip(expected) {
        assert!((a - b).abs() < 1e-6, "{:?}", m.covariance[0]);
    }
    let at = |t| s.evaluate(0, t);
    let e0 = at(0.5);
    assert!(e0.position.abs_diff_eq(Vec3::new(1.0, 2.0, 3.0), 1e-6));
    assert!(close(e0.opacity, 0.8, 1e-6));
    let v = 0.495 / 0.505;
    for dt in [-1.0f32, 0.25, 1.0, 2.0] {
        let e = at(0.5 + dt);
        assert!(e.position.abs_diff_eq(Vec3::new(1.0 + v * dt, 2.0, 3.0), 1e-5), "{dt}: {:?}", e.position);
        assert!(close(e.opacity, 0.8 * (-0.5 * dt * dt / 0.505f32).exp(), 1e-5));
        let cov = Mat3::from_diagonal(Vec3::new(0.01 / 0.505, 0.04, 0.09));
        assert!(mat_close(e.covariance, cov, 1e-5), "{:?}", e.covariance);
    }
}

#[test]
fn spacetime_matches_hand_values() {
    let mut s = GaussianSplats::with_capacity(1, 0);
    s.positions.push(Vec3::new(1.0, 2.0, 3.0));
    s.rotations.push(Quat::IDENTITY);
    s.scales.push(Vec3::new(1.0, 0.1, 0.2));
    s.opacities.push(0.9);
    s.sh.push([0.0; 3]);
    s.motion = SplatMotion::Spacetime(SpacetimeMotion {
        trbf_center: vec![0.5],
        trbf_scale: vec![0.25],
        polynomial: vec![[Vec3::X, Vec3::Y, Vec3::Z]],
        omega: vec![Quat::from_xyzw(1.0, 0.0, 0.0, 0.0)],
        timeline: SplatTimeline {
            start: 0.0,
            end: 1.0,
            time_scale: 0.5,
        },
    });
    s.validate().unwrap();
    let e = s.evaluate(0, 1.0);
    // Δ = 0.5: μ + 0.5·X + 0.25·Y + 0.125·Z; opacity 0.9·exp(−(0.5/0.25)²).
    assert!(e.position.abs_diff_eq(Vec3::new(1.5, 2.25, 3.125), 1e-6));
    assert!(close(e.opacity, 0.9 * (-4.0f32).exp(), 1e-6));
    // normalize((0, 0, 0, 1) + 0.5·(1, 0, 0, 0)): a rotation about X by 2·atan(0.5).
    let r = Quat::from_rotation_x(2.0 * 0.5f32.atan());
    assert!(mat_close(e.covariance, static_covariance(r, Vec3::new(1.0, 0.1, 0.2)), 1e-6));
    // Time mapping: 2 s of playback is model time 1.
    assert_eq!(s.model_time(2.0), 1.0);
    assert_eq!(s.duration_seconds(), 2.0);
}

#[test]
fn static_evaluation_is_the_stored_splat() {
    let s = synthetic_dynamic(MotionKind::Static, 20, 3);
    assert_eq!(s.duration_seconds(), 0.0);
    for i in 0..s.len() {
        let e = s.evaluate(i, 123.0);
        assert_eq!(e.position, s.positions[i]);
        assert_eq!(e.opacity, s.opacities[i]);
        let m = Mat3::from_quat(s.rotations[i]) * Mat3::from_diagonal(s.scales[i]);
        assert!(mat_close(e.covariance, m * m.transpose(), 1e-6));
    }
}

fn flip_point(p: Vec3) -> Vec3 {
    Vec3::new(p.x, -p.y, -p.z)
}

#[test]
fn flip_yz_transforms_dynamic_splats_consistently() {
    let c = Mat3::from_diagonal(Vec3::new(1.0, -1.0, -1.0));
    for kind in [MotionKind::Spacetime, MotionKind::Sliced4d] {
        let original = synthetic_dynamic(kind, 40, 9);
        let mut flipped = original.clone();
        flipped.flip_yz();
        flipped.validate().unwrap();
        for t in [0.0, 0.3, 0.9, 1.7] {
            for i in 0..original.len() {
                let (a, b) = (original.evaluate(i, t), flipped.evaluate(i, t));
                assert!(b.position.abs_diff_eq(flip_point(a.position), 1e-5), "{kind:?} {i}");
                assert!(mat_close(b.covariance, c * a.covariance * c, 1e-4), "{kind:?} {i} t {t}");
                assert!(close(a.opacity, b.opacity, 1e-5));
            }
        }
        if let SplatMotion::Sliced4d(m) = &flipped.motion {
            // The flipped factors give the flipped covariance.
            let mut again = m.clone();
            again.recompute_covariance(&flipped.rotations, &flipped.scales);
            for (x, y) in again.covariance.iter().zip(&m.covariance) {
                for (u, v) in x.iter().zip(y) {
                    assert!((u - v).abs() < 1e-6, "{x:?} vs {y:?}");
                }
            }
        }
    }
}

#[test]
fn retain_keeps_motion_in_step() {
    for kind in [MotionKind::Spacetime, MotionKind::Sliced4d] {
        let original = synthetic_dynamic(kind, 30, 4);
        let mut kept = original.clone();
        kept.retain(|i| i % 3 == 1);
        kept.validate().unwrap();
        assert_eq!(kept.len(), 10);
        for (j, i) in (1..30).step_by(3).enumerate() {
            assert_eq!(kept.evaluate(j, 0.4), original.evaluate(i, 0.4));
        }
    }
}

#[test]
fn validate_rejects_bad_motion() {
    let mut s = xt_splat();
    if let SplatMotion::Sliced4d(m) = &mut s.motion {
        m.covariance[0][9] = 0.0;
    }
    assert_eq!(
        s.validate(),
        Err(SplatDataError::NonPositive {
            index: 0,
            field: "4D covariance Σ_tt"
        })
    );
    let mut s = synthetic_dynamic(MotionKind::Spacetime, 5, 1);
    if let SplatMotion::Spacetime(m) = &mut s.motion {
        m.omega.pop();
    }
    assert!(matches!(s.validate(), Err(SplatDataError::LengthMismatch { name: "omega", found: 4, expected: 5 })));
    let mut s = synthetic_dynamic(MotionKind::Spacetime, 5, 1);
    if let SplatMotion::Spacetime(m) = &mut s.motion {
        m.polynomial[2][1].y = f32::NAN;
        m.timeline.time_scale = 1.0;
    }
    assert!(matches!(s.validate(), Err(SplatDataError::NonFinite { index: 2, field: "motion polynomial" })));
    let mut s = synthetic_dynamic(MotionKind::Sliced4d, 5, 1);
    if let Some(t) = s.motion.timeline_mut() {
        t.time_scale = 0.0;
    }
    assert!(matches!(s.validate(), Err(SplatDataError::InvalidTimeline { .. })));
}

#[test]
fn gpu_words_follow_the_documented_layout() {
    assert_eq!(SplatMotion::Static.gpu_words(), (MOTION_KIND_STATIC, 0, Vec::new()));
    let s = synthetic_dynamic(MotionKind::Spacetime, 3, 2);
    let SplatMotion::Spacetime(m) = &s.motion else { unreachable!() };
    let (kind, stride, words) = s.motion.gpu_words();
    assert_eq!((kind, stride, words.len()), (MOTION_KIND_SPACETIME, 4, 12));
    let [m1, m2, m3] = m.polynomial[2];
    assert_eq!(words[8], [m1.x, m1.y, m1.z, m.trbf_center[2]]);
    assert_eq!(words[9], [m2.x, m2.y, m2.z, m.trbf_scale[2]]);
    assert_eq!(words[10], [m3.x, m3.y, m3.z, 0.0]);
    assert_eq!(words[11], m.omega[2].to_array());
    let s = xt_splat();
    let SplatMotion::Sliced4d(m) = &s.motion else { unreachable!() };
    let c = m.covariance[0];
    let (kind, stride, words) = s.motion.gpu_words();
    assert_eq!((kind, stride), (MOTION_KIND_SLICED_4D, 3));
    assert_eq!(words, vec![[c[0], c[1], c[2], c[3]], [c[4], c[5], c[6], c[7]], [c[8], c[9], 0.5, 0.0]]);
}

#[test]
fn synthetic_scenes_fade_in_and_out() {
    for kind in [MotionKind::Spacetime, MotionKind::Sliced4d] {
        let s = synthetic_dynamic(kind, 500, 5);
        s.validate().unwrap();
        assert!(close(s.duration_seconds(), 2.0, 1e-6), "{kind:?}");
        for seconds in [0.0, 1.0, 2.0] {
            let t = s.model_time(seconds);
            let opacities: Vec<f32> = (0..s.len()).map(|i| s.evaluate(i, t).opacity).collect();
            let invisible = opacities.iter().filter(|o| **o < 1.0 / 255.0).count();
            let visible = opacities.iter().filter(|o| **o > 0.3).count();
            assert!(invisible > 100 && visible > 20, "{kind:?} at {seconds}s: {invisible} invisible, {visible} visible");
        }
    }
}

fn test_view() -> CameraView {
    CameraView {
        view_from_world: Mat4::look_at_rh(Vec3::new(0.0, 0.0, 4.0), Vec3::ZERO, Vec3::Y),
        clip_from_view: Mat4::perspective_infinite_reverse_rh(1.0, 1.0, 0.1),
        size: Vec2::new(64.0, 64.0),
    }
}

#[test]
fn projection_scale_factor_multiplies_scales() {
    let view = test_view();
    let s = synthetic_dynamic(MotionKind::Static, 50, 8);
    let cam = view.world_position();
    for i in 0..s.len() {
        let params = |f| SplatParams {
            scale_factor: f,
            ..Default::default()
        };
        let a = project_splat(&view, &Mat4::IDENTITY, cam, s.positions[i], static_covariance(s.rotations[i], s.scales[i]), 0.5, s.sh_of(i), &params(2.0));
        let b = project_splat(&view, &Mat4::IDENTITY, cam, s.positions[i], static_covariance(s.rotations[i], 2.0 * s.scales[i]), 0.5, s.sh_of(i), &params(1.0));
        match (a, b) {
            (Some(a), Some(b)) => {
                assert!(a.mean.abs_diff_eq(b.mean, 1e-4));
                assert!(a.conic.abs_diff_eq(b.conic, 1e-4 * (1.0 + b.conic.abs().max_element())));
                assert!(a.extent.abs_diff_eq(b.extent, 1e-3 * (1.0 + b.extent.max_element())));
            }
            (None, None) => {}
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn reference_renders_dynamic_scenes_at_a_time() {
    let view = test_view();
    let static_scene = synthetic_dynamic(MotionKind::Static, 200, 6);
    // A Spacetime scene with no motion and a huge temporal radius looks static.
    let mut frozen = static_scene.clone();
    frozen.motion = SplatMotion::Spacetime(SpacetimeMotion {
        trbf_center: vec![0.0; 200],
        trbf_scale: vec![1e6; 200],
        polynomial: vec![[Vec3::ZERO; 3]; 200],
        omega: vec![Quat::from_vec4(Vec4::ZERO); 200],
        timeline: SplatTimeline {
            start: 0.0,
            end: 1.0,
            time_scale: 1.0,
        },
    });
    let item = |splats, time| ReferenceItem {
        splats,
        world_from_local: Mat4::IDENTITY,
        params: SplatParams::default(),
        time,
        crop: &[],
        edits: &[],
    };
    let a = render_reference(&view, &[item(&static_scene, 0.0)], Vec3::ZERO);
    let b = render_reference(&view, &[item(&frozen, 0.7)], Vec3::ZERO);
    assert_eq!(a.to_rgba8(), b.to_rgba8());
    // A fading scene differs between times.
    let dynamic = synthetic_dynamic(MotionKind::Sliced4d, 300, 6);
    let c = render_reference(&view, &[item(&dynamic, 0.2)], Vec3::ZERO);
    let d = render_reference(&view, &[item(&dynamic, 1.6)], Vec3::ZERO);
    assert_ne!(c.to_rgba8(), d.to_rgba8());
    assert!(c.pixels.iter().any(|p| p.w > 0.1));
}

#[test]
fn motion_that_overflows_hides_the_splat() {
    let mut s = GaussianSplats {
        positions: vec![Vec3::ZERO, Vec3::ONE],
        rotations: vec![Quat::IDENTITY; 2],
        scales: vec![Vec3::splat(0.1); 2],
        opacities: vec![0.8; 2],
        sh: vec![[0.0; 3]; 2],
        ..Default::default()
    };
    // Finite, valid data whose cubic term overflows f32 far from its centre.
    s.motion = SplatMotion::Spacetime(SpacetimeMotion {
        trbf_center: vec![0.0, 0.0],
        trbf_scale: vec![1e30, 1e30],
        polynomial: vec![[Vec3::ZERO, Vec3::ZERO, Vec3::splat(1e30)], [Vec3::ZERO; 3]],
        omega: vec![Quat::from_vec4(Vec4::ZERO); 2],
        timeline: SplatTimeline { start: 0.0, end: 1e4, time_scale: 1.0 },
    });
    assert_eq!(s.validate(), Ok(()));
    let near = s.evaluate(0, 1e-3);
    assert!(near.opacity > 0.7 && near.position.is_finite());
    let far = s.evaluate(0, 1e4);
    assert_eq!((far.position, far.covariance, far.opacity), (Vec3::ZERO, Mat3::ZERO, 0.0), "hidden where it overflows");
    assert!(s.evaluate(1, 1e4).opacity > 0.7, "the other splat is untouched");
}
