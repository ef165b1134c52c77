//! The merge maths and the simplification passes.

use super::*;
use bevy::math::Quat;
use crate::splat::motion::MotionKind;
use crate::testing::TestRng;
use crate::testing::motion::synthetic_dynamic;

fn random_unit(rng: &mut TestRng) -> DVec3 {
    DVec3::new(rng.unit() as f64 - 0.5, rng.unit() as f64 - 0.5, rng.unit() as f64 - 0.5).normalize()
}

#[test]
fn eigen_decomposition_rebuilds_the_matrix_with_a_rotation() {
    let mut rng = TestRng::new(11);
    for case in 0..200 {
        let rotation = DMat3::from_quat(DQuat::from_axis_angle(random_unit(&mut rng), rng.unit() as f64 * 6.0));
        // Distinct, repeated and tiny eigenvalues.
        let values = match case % 3 {
            0 => DVec3::new(rng.unit() as f64 + 0.01, rng.unit() as f64 * 3.0 + 0.01, 1e-9),
            1 => DVec3::new(0.5, 0.5, rng.unit() as f64),
            _ => DVec3::splat(2.0),
        };
        let m = rotation * DMat3::from_diagonal(values) * rotation.transpose();
        let (found, axes) = symmetric_eigen(m);
        let rebuilt = axes * DMat3::from_diagonal(found) * axes.transpose();
        let error = (rebuilt - m).to_cols_array().iter().fold(0.0f64, |e, x| e.max(x.abs()));
        assert!(error < 1e-12, "case {case}: rebuilt with error {error}");
        assert!((axes.determinant() - 1.0).abs() < 1e-12, "case {case}: not a rotation");
        let orthogonal = axes.transpose() * axes - DMat3::IDENTITY;
        assert!(orthogonal.to_cols_array().iter().all(|x| x.abs() < 1e-12), "case {case}");
        let (mut a, mut b) = (found.to_array(), values.to_array());
        a.sort_by(f64::total_cmp);
        b.sort_by(f64::total_cmp);
        assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-12), "case {case}: {a:?} vs {b:?}");
    }
}

fn one(position: Vec3, rotation: Quat, scale: Vec3, opacity: f32, colour: [f32; 3]) -> GaussianSplats {
    GaussianSplats {
        positions: vec![position],
        rotations: vec![rotation],
        scales: vec![scale],
        opacities: vec![opacity],
        sh_degree: 0,
        sh: vec![colour],
        motion: SplatMotion::Static,
    }
}

fn join(a: &GaussianSplats, b: &GaussianSplats) -> GaussianSplats {
    let mut out = a.clone();
    out.positions.extend(&b.positions);
    out.rotations.extend(&b.rotations);
    out.scales.extend(&b.scales);
    out.opacities.extend(&b.opacities);
    out.sh.extend(&b.sh);
    out
}

#[test]
fn a_merge_matches_the_mixture_moments_and_keeps_the_ink() {
    let rotation = Quat::from_rotation_z(0.4) * Quat::from_rotation_x(-1.1);
    // Two copies: same shape, opacity doubled (under 1).
    let a = one(Vec3::new(1.0, 2.0, 3.0), rotation, Vec3::new(0.3, 0.1, 0.02), 0.3, [0.2, -0.1, 0.4]);
    let merged = simplify(&join(&a, &a), 1).unwrap();
    assert_eq!(merged.len(), 1);
    assert!((merged.positions[0] - a.positions[0]).length() < 1e-6);
    assert!((merged.opacities[0] - 0.6).abs() < 1e-5, "{}", merged.opacities[0]);
    let covariance = |s: &GaussianSplats| {
        let r = DMat3::from_quat(s.rotations[0].as_dquat());
        r * DMat3::from_diagonal((s.scales[0] * s.scales[0]).as_dvec3()) * r.transpose()
    };
    let difference = (covariance(&merged) - covariance(&a)).to_cols_array();
    assert!(difference.iter().all(|x| x.abs() < 1e-8), "{difference:?}");
    assert_eq!(merged.sh[0], a.sh[0]);

    // Two different splats: weighted mean, total-variance covariance, ink kept.
    let b = one(Vec3::new(1.2, 2.0, 3.1), Quat::IDENTITY, Vec3::new(0.05, 0.2, 0.05), 0.8, [0.6, 0.0, 0.0]);
    let merged = simplify(&join(&a, &b), 1).unwrap();
    let (ma, mb) = (moments(&a, 0), moments(&b, 0));
    let pa = ma.weight / (ma.weight + mb.weight);
    let mean = ma.mean * pa + mb.mean * (1.0 - pa);
    assert!((merged.positions[0].as_dvec3() - mean).length() < 1e-6);
    let ink = merged.opacities[0] as f64 * ellipsoid_area(merged.scales[0].as_dvec3());
    assert!(merged.opacities[0] < 1.0 && (ink / (ma.weight + mb.weight) - 1.0).abs() < 1e-4, "ink {ink}");
    let colour = merged.sh[0][0] as f64;
    assert!((colour - (0.2 * pa + 0.6 * (1.0 - pa))).abs() < 1e-6);
    // The merged splat covers both centres: its variance along the line
    // between them is at least the spread of the centres.
    let axis = (mb.mean - ma.mean).normalize();
    let along = axis.dot(covariance(&merged) * axis);
    assert!(along >= pa * (1.0 - pa) * mb.mean.distance_squared(ma.mean), "{along}");
}

#[test]
fn simplify_reaches_the_target_deterministically() {
    let splats = synthetic_dynamic(MotionKind::Static, 1000, 3);
    for target in [999, 700, 500, 250, 1] {
        let simplified = simplify(&splats, target).unwrap();
        assert_eq!(simplified.len(), target);
        simplified.validate().unwrap();
        assert_eq!(simplify(&splats, target).unwrap(), simplified, "target {target}");
    }
    assert_eq!(simplify(&splats, 1000).unwrap(), splats);
    assert_eq!(simplify(&splats, 5000).unwrap(), splats);
    assert_eq!(simplify(&splats, 0).unwrap().len(), 1);
    // The total ink is about kept (merges only clamp opacity at 1).
    let ink = |s: &GaussianSplats| (0..s.len()).map(|i| moments(s, i).weight).sum::<f64>();
    let half = simplify(&splats, 500).unwrap();
    assert!(ink(&half) <= ink(&splats) * 1.0001 && ink(&half) > 0.5 * ink(&splats), "{} vs {}", ink(&half), ink(&splats));
}

#[test]
fn simplify_refuses_motion_and_invalid_values() {
    let dynamic = synthetic_dynamic(MotionKind::Spacetime, 10, 1);
    assert!(matches!(simplify(&dynamic, 5), Err(SimplifyError::Dynamic)));
    let mut bad = synthetic_dynamic(MotionKind::Static, 10, 1);
    bad.positions[4].x = f32::NAN;
    let error = simplify(&bad, 5).unwrap_err();
    assert!(matches!(error, SimplifyError::Invalid(_)), "{error}");
    assert_eq!(simplify(&GaussianSplats::default(), 5).unwrap().len(), 0);
}
