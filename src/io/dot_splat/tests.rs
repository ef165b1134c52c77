use super::*;
use crate::io::gaussian_ply::tests::random_splats;

/// Rotation byte step 1/128: each component within 0.5/128 before the
/// decoder's normalisation; allow a little more for the renormalisation.
const ROT_TOL: f32 = 0.01;

#[test]
fn round_trip_within_quantisation() {
    let mut splats = random_splats(200, 0, 11);
    // Keep colours inside the representable [0, 1] range.
    for c in &mut splats.sh {
        for v in c.iter_mut() {
            *v = v.clamp(-1.7, 1.7);
        }
    }
    let bytes = write_dot_splat(&splats);
    assert_eq!(bytes.len(), 200 * 32);
    let back = parse_dot_splat(&bytes).unwrap();
    assert_eq!(back.len(), 200);
    assert_eq!(back.sh_degree, 0);
    for i in 0..200 {
        // f32 fields are exact.
        assert_eq!(back.positions[i], splats.positions[i]);
        assert_eq!(back.scales[i], splats.scales[i]);
        // Opacity: a byte, error ≤ 0.5/255.
        assert!((back.opacities[i] - splats.opacities[i]).abs() <= 0.5 / 255.0 + 1e-6);
        // Colour value 0.5 + SH_C0·dc: a byte, error ≤ 0.5/255.
        for c in 0..3 {
            let a = 0.5 + SH_C0 * back.sh[i][c];
            let b = 0.5 + SH_C0 * splats.sh[i][c];
            assert!((a - b).abs() <= 0.5 / 255.0 + 1e-6, "colour {i}");
        }
        let dot = back.rotations[i].dot(splats.rotations[i]).abs();
        assert!(dot >= 1.0 - ROT_TOL * ROT_TOL, "rotation {i}: dot {dot}");
        assert!(back.rotations[i].is_normalized());
    }
}

#[test]
fn higher_sh_keeps_only_dc() {
    let splats = random_splats(5, 3, 2);
    let back = parse_dot_splat(&write_dot_splat(&splats)).unwrap();
    assert_eq!(back.sh_degree, 0);
    assert_eq!(back.sh.len(), 5);
}

#[test]
fn empty_file_is_an_empty_scene() {
    let back = parse_dot_splat(&[]).unwrap();
    assert!(back.is_empty());
}

#[test]
fn length_must_be_a_multiple_of_32() {
    let bytes = write_dot_splat(&random_splats(3, 0, 1));
    for cut in [1, 31, 33, 95] {
        match parse_dot_splat(&bytes[..cut]) {
            Err(DotSplatError::LengthNotMultipleOf32 { len }) => assert_eq!(len, cut),
            other => panic!("cut {cut}: {other:?}"),
        }
    }
}

#[test]
fn nan_is_rejected() {
    let mut bytes = write_dot_splat(&random_splats(3, 0, 1));
    bytes[32 + 4..32 + 8].copy_from_slice(&f32::NAN.to_le_bytes());
    assert!(matches!(
        parse_dot_splat(&bytes),
        Err(DotSplatError::InvalidData(SplatDataError::NonFinite {
            index: 1,
            ..
        }))
    ));
    let mut bytes = write_dot_splat(&random_splats(3, 0, 1));
    bytes[2 * 32 + 16..2 * 32 + 20].copy_from_slice(&f32::INFINITY.to_le_bytes());
    assert!(matches!(
        parse_dot_splat(&bytes),
        Err(DotSplatError::InvalidData(SplatDataError::NonFinite {
            index: 2,
            ..
        }))
    ));
}

#[test]
fn zero_rotation_bytes_are_rejected_like_every_format_does() {
    let mut bytes = write_dot_splat(&random_splats(1, 0, 1));
    bytes[28..32].copy_from_slice(&[128; 4]);
    assert!(matches!(
        parse_dot_splat(&bytes),
        Err(DotSplatError::InvalidData(SplatDataError::ZeroRotation { index: 0 }))
    ));
}
