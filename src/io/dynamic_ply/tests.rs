use bevy::math::{Quat, Vec3};

use super::*;
use crate::io::parse_splat_ply;
use crate::io::ply::PlyFormat;
use crate::splat::asset::SplatDataError;
use crate::splat::motion::MotionKind;
use crate::testing::motion::synthetic_dynamic;
use crate::testing::{Damage, fuzz_corruptions};

const FORMATS: [PlyFormat; 3] = [PlyFormat::Ascii, PlyFormat::BinaryLittleEndian, PlyFormat::BinaryBigEndian];

fn close(a: f32, b: f32, tol: f32) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

/// Same splats at every time (positions, covariances, opacities within `tol`).
fn assert_same_motion(a: &GaussianSplats, b: &GaussianSplats, tol: f32) {
    assert_eq!(a.len(), b.len());
    assert_eq!(a.motion.kind(), b.motion.kind());
    for t in [0.0, 0.35, 1.0, 1.8] {
        for i in 0..a.len() {
            let (x, y) = (a.evaluate(i, t), b.evaluate(i, t));
            assert!(x.position.abs_diff_eq(y.position, tol), "{i} at {t}: {:?} vs {:?}", x.position, y.position);
            let (cx, cy) = (x.covariance.to_cols_array(), y.covariance.to_cols_array());
            assert!(cx.iter().zip(cy).all(|(u, v)| (u - v).abs() <= tol), "{i} at {t}");
            assert!(close(x.opacity, y.opacity, tol), "{i} at {t}: {} vs {}", x.opacity, y.opacity);
        }
    }
    for (x, y) in a.sh.iter().zip(&b.sh) {
        assert!(x.iter().zip(y).all(|(u, v)| close(*u, *v, tol)), "{x:?} vs {y:?}");
    }
}

#[test]
fn spacetime_round_trip() {
    let mut splats = synthetic_dynamic(MotionKind::Spacetime, 40, 1);
    for format in FORMATS {
        let bytes = write_spacetime_ply(&splats, format).unwrap();
        let back = parse_splat_ply(&bytes).unwrap();
        assert_eq!(detect_dynamic_layout(&crate::io::ply::PlyHeader::parse(&bytes).unwrap()), Some(DynamicLayout::Spacetime));
        let t = back.motion.timeline().copied().unwrap();
        assert_eq!((t.start, t.end, t.time_scale), (0.0, 1.0, SPACETIME_DEFAULT_TIME_SCALE));
        // The file has no clip information: compare in model time.
        splats.motion.timeline_mut().unwrap().time_scale = SPACETIME_DEFAULT_TIME_SCALE;
        assert_same_motion(&splats, &back, 1e-4);
        assert_eq!(splats.positions, back.positions);
    }
    assert!(write_spacetime_ply(&synthetic_dynamic(MotionKind::Sliced4d, 2, 1), PlyFormat::Ascii).is_none());
}

#[test]
fn sliced4d_round_trip_both_namings() {
    let mut splats = synthetic_dynamic(MotionKind::Sliced4d, 40, 2);
    // Degree-1 SH to check the coefficient order of both namings.
    let mut sh = Vec::new();
    for (i, dc) in splats.sh.iter().enumerate() {
        sh.push(*dc);
        for j in 1..4 {
            let v = (i * 4 + j) as f32 * 0.01;
            sh.push([v, -v, 2.0 * v]);
        }
    }
    splats.sh = sh;
    splats.sh_degree = 1;
    splats.validate().unwrap();
    for naming in [Sliced4dNaming::Fudan, Sliced4dNaming::Ply4d] {
        for format in FORMATS {
            let bytes = write_sliced4d_ply(&splats, format, naming).unwrap();
            let back = parse_splat_ply(&bytes).unwrap_or_else(|e| panic!("{naming:?} {format:?}: {e}"));
            assert_eq!(back.sh_degree, 1);
            let mut expected = splats.clone();
            // Default clip: the range of the mean times.
            let SplatMotion::Sliced4d(m) = &back.motion else { panic!("not sliced") };
            let lo = m.mean_time.iter().copied().fold(f32::INFINITY, f32::min);
            let hi = m.mean_time.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            assert_eq!((m.timeline.start, m.timeline.end, m.timeline.time_scale), (lo, hi, 1.0));
            *expected.motion.timeline_mut().unwrap() = m.timeline;
            assert_same_motion(&expected, &back, 1e-4);
        }
    }
    assert!(write_sliced4d_ply(&synthetic_dynamic(MotionKind::Static, 2, 1), PlyFormat::Ascii, Sliced4dNaming::Fudan).is_none());
}

fn spacetime_header(omit: &str, extra: &str) -> String {
    let mut text = String::from("ply\nformat ascii 1.0\nelement vertex 1\n");
    let names = [
        "x", "y", "z", "trbf_center", "trbf_scale", "nx", "ny", "nz", "motion_0", "motion_1", "motion_2", "motion_3",
        "motion_4", "motion_5", "motion_6", "motion_7", "motion_8", "f_dc_0", "f_dc_1", "f_dc_2", "opacity",
        "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3", "omega_0", "omega_1", "omega_2",
        "omega_3",
    ];
    for name in names.iter().filter(|n| **n != omit) {
        text.push_str(&format!("property float {name}\n"));
    }
    text.push_str(extra);
    text.push_str("end_header\n");
    text
}

#[test]
fn spacetime_lite_activations() {
    let mut text = spacetime_header("", "");
    // x y z, trbf_center 0.25, trbf_scale ln 0.5, normals, motion 1..9,
    // rgb (1, 0.5, 0), opacity logit 0, scales ln 1, rot (2, 0, 0, 0), omega (0, 2, 0, 0).
    text.push_str("1 2 3 0.25 -0.6931472 0 0 0 1 2 3 4 5 6 7 8 9 1 0.5 0 0 0 0 0 2 0 0 0 0 2 0 0\n");
    let s = parse_splat_ply(text.as_bytes()).unwrap();
    let SplatMotion::Spacetime(m) = &s.motion else { panic!("not spacetime") };
    assert_eq!(s.opacities, vec![0.5]);
    assert_eq!(s.rotations, vec![Quat::IDENTITY]);
    assert!(close(m.trbf_scale[0], 0.5, 1e-6));
    assert_eq!(m.trbf_center, vec![0.25]);
    assert_eq!(m.polynomial[0], [Vec3::new(1.0, 2.0, 3.0), Vec3::new(4.0, 5.0, 6.0), Vec3::new(7.0, 8.0, 9.0)]);
    // omega (w, x, y, z) = (0, 2, 0, 0), divided by |rot| = 2.
    assert_eq!(m.omega[0], Quat::from_xyzw(1.0, 0.0, 0.0, 0.0));
    let dc = s.sh[0];
    assert!(close(0.5 + SH_C0 * dc[0], 1.0, 1e-6) && close(0.5 + SH_C0 * dc[1], 0.5, 1e-6));
    assert!(close(0.5 + SH_C0 * dc[2], 0.0, 1e-6));
}

/// A row of `n` zeros except `rot_0` (w = 1): a valid rotation.
fn zero_row(n: usize) -> String {
    (0..n).map(|i| if i == 24 { "1 " } else { "0 " }).collect()
}

#[test]
fn malformed_dynamic_files_give_typed_errors() {
    // A missing Spacetime property.
    let mut text = spacetime_header("omega_3", "");
    text.push_str(&zero_row(31));
    text.push('\n');
    assert!(matches!(
        parse_splat_ply(text.as_bytes()),
        Err(SplatLoadError::MissingProperty { property, .. }) if property == "omega_3"
    ));
    // The full Spacetime model.
    let mut text = spacetime_header("", "property float f_dc_3\n");
    text.push_str(&zero_row(33));
    text.push('\n');
    assert!(matches!(parse_splat_ply(text.as_bytes()), Err(SplatLoadError::UnsupportedDynamicModel(_))));
    // A sliced file without its right quaternion.
    let splats = synthetic_dynamic(MotionKind::Sliced4d, 3, 3);
    let bytes = write_sliced4d_ply(&splats, PlyFormat::Ascii, Sliced4dNaming::Fudan).unwrap();
    let text = String::from_utf8(bytes).unwrap().replace("property float rot_r_2\n", "");
    let text = text
        .lines()
        .map(|l| if l.contains(' ') && !l.starts_with(|c: char| c.is_ascii_alphabetic()) { l.rsplit_once(' ').map_or(l, |(a, _)| a) } else { l })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(matches!(
        parse_splat_ply(text.as_bytes()),
        Err(SplatLoadError::MissingProperty { property, .. }) if property == "rot_r_2"
    ));
    // A non-finite mean time.
    let mut bad = splats.clone();
    if let SplatMotion::Sliced4d(m) = &mut bad.motion {
        m.mean_time[1] = f32::NAN;
    }
    let bytes = write_sliced4d_ply(&bad, PlyFormat::BinaryLittleEndian, Sliced4dNaming::Fudan).unwrap();
    assert!(matches!(
        parse_splat_ply(&bytes),
        Err(SplatLoadError::InvalidData(SplatDataError::NonFinite { index: 1, field: "mean time" }))
    ));
    // Σ_tt = 0: a `.ply4d` splat with no temporal extent and no x/y/z–t mixing.
    let mut flat = synthetic_dynamic(MotionKind::Sliced4d, 3, 4);
    flat.rotations[2] = Quat::IDENTITY;
    if let SplatMotion::Sliced4d(m) = &mut flat.motion {
        m.right_rotations[2] = Quat::IDENTITY;
        m.time_scales[2] = 0.0;
    }
    let bytes = write_sliced4d_ply(&flat, PlyFormat::BinaryBigEndian, Sliced4dNaming::Ply4d).unwrap();
    assert!(matches!(
        parse_splat_ply(&bytes),
        Err(SplatLoadError::InvalidData(SplatDataError::NonPositive { index: 2, .. }))
    ));
}

/// Random corruptions of dynamic files give an error or a valid scene, never a panic.
#[test]
fn corrupted_dynamic_files_never_panic() {
    let spacetime = synthetic_dynamic(MotionKind::Spacetime, 5, 6);
    let sliced = synthetic_dynamic(MotionKind::Sliced4d, 5, 6);
    let mut bases = Vec::new();
    for format in FORMATS {
        bases.push(write_spacetime_ply(&spacetime, format).unwrap());
        bases.push(write_sliced4d_ply(&sliced, format, Sliced4dNaming::Fudan).unwrap());
        bases.push(write_sliced4d_ply(&sliced, format, Sliced4dNaming::Ply4d).unwrap());
    }
    let damage = Damage { text: b"0123456789 \n-e", ..Damage::default() };
    let outcome = fuzz_corruptions(&bases, 200, 0x0bad_cafe, &damage, parse_splat_ply, |s| assert!(s.validate().is_ok()));
    assert!(outcome.rejected > 0, "{outcome:?}");
}
