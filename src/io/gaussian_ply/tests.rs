use super::*;
use crate::io::parse_splat_ply;
use crate::splat::asset::SplatDataError;

use crate::testing::TestRng;

pub(crate) fn random_splats(n: usize, degree: u8, seed: u64) -> GaussianSplats {
    let mut rng = TestRng::new(seed);
    let k = sh_coefficient_count(degree);
    let mut s = GaussianSplats {
        sh_degree: degree,
        ..Default::default()
    };
    for _ in 0..n {
        s.positions.push(Vec3::new(
            rng.range(-10.0, 10.0),
            rng.range(-10.0, 10.0),
            rng.range(-10.0, 10.0),
        ));
        let q = Quat::from_xyzw(
            rng.range(-1.0, 1.0),
            rng.range(-1.0, 1.0),
            rng.range(-1.0, 1.0),
            rng.range(0.1, 1.0),
        )
        .normalize();
        s.rotations.push(q);
        s.scales.push(Vec3::new(
            rng.range(0.001, 2.0),
            rng.range(0.001, 2.0),
            rng.range(0.001, 2.0),
        ));
        s.opacities.push(rng.range(0.01, 0.99));
        for _ in 0..k {
            s.sh.push([
                rng.range(-2.0, 2.0),
                rng.range(-2.0, 2.0),
                rng.range(-2.0, 2.0),
            ]);
        }
    }
    s
}

pub(crate) fn assert_close(a: &GaussianSplats, b: &GaussianSplats, tol: f32) {
    assert_eq!(a.len(), b.len());
    assert_eq!(a.sh_degree, b.sh_degree);
    assert_eq!(a.sh.len(), b.sh.len());
    let close = |x: f32, y: f32| (x - y).abs() <= tol * (1.0 + x.abs().max(y.abs()));
    for i in 0..a.len() {
        assert!(
            a.positions[i].abs_diff_eq(b.positions[i], tol),
            "position {i}"
        );
        assert!(
            a.rotations[i].abs_diff_eq(b.rotations[i], tol),
            "rotation {i}: {:?} vs {:?}",
            a.rotations[i],
            b.rotations[i]
        );
        for c in 0..3 {
            assert!(close(a.scales[i][c], b.scales[i][c]), "scale {i}");
        }
        assert!(close(a.opacities[i], b.opacities[i]), "opacity {i}");
    }
    for (j, (x, y)) in a.sh.iter().zip(&b.sh).enumerate() {
        for c in 0..3 {
            assert!(close(x[c], y[c]), "sh {j}: {x:?} vs {y:?}");
        }
    }
}

#[test]
fn round_trip_all_formats_and_degrees() {
    for format in [
        PlyFormat::Ascii,
        PlyFormat::BinaryLittleEndian,
        PlyFormat::BinaryBigEndian,
    ] {
        for degree in 0..=3u8 {
            let splats = random_splats(37, degree, 7 + degree as u64);
            let bytes = write_gaussian_ply(&splats, format);
            let back = parse_splat_ply(&bytes)
                .unwrap_or_else(|e| panic!("{format:?} degree {degree}: {e}"));
            assert_close(&splats, &back, 1e-5);
            // Positions and SH are stored verbatim.
            assert_eq!(splats.positions, back.positions);
            assert_eq!(splats.sh, back.sh);
        }
    }
}

#[test]
fn f_rest_is_channel_major() {
    // Degree 1, one splat: f_rest_0..2 = R coeffs 1..3, 3..5 = G, 6..8 = B.
    let mut text = String::from(
        "ply\nformat ascii 1.0\nelement vertex 1\n\
         property float x\nproperty float y\nproperty float z\n\
         property float f_dc_0\nproperty float f_dc_1\nproperty float f_dc_2\n",
    );
    for i in 0..9 {
        text.push_str(&format!("property float f_rest_{i}\n"));
    }
    text.push_str(
        "property float opacity\nproperty float scale_0\nproperty float scale_1\n\
         property float scale_2\nproperty float rot_0\nproperty float rot_1\n\
         property float rot_2\nproperty float rot_3\nend_header\n",
    );
    text.push_str("1 2 3 0.1 0.2 0.3 10 11 12 20 21 22 30 31 32 0 0 0 0 2 0 0 0\n");
    let s = parse_splat_ply(text.as_bytes()).unwrap();
    assert_eq!(s.sh_degree, 1);
    assert_eq!(
        s.sh,
        vec![
            [0.1, 0.2, 0.3],
            [10.0, 20.0, 30.0],
            [11.0, 21.0, 31.0],
            [12.0, 22.0, 32.0]
        ]
    );
    assert_eq!(s.opacities, vec![0.5]);
    assert_eq!(s.scales, vec![Vec3::ONE]);
    // rot_0 is w; (2, 0, 0, 0) normalises to the identity.
    assert_eq!(s.rotations, vec![Quat::IDENTITY]);
    assert_eq!(s.positions, vec![Vec3::new(1.0, 2.0, 3.0)]);
}

fn minimal_header(extra: &str, omit: &str) -> String {
    let mut text = String::from("ply\nformat ascii 1.0\nelement vertex 1\n");
    for name in BASE_PROPERTIES {
        if name != omit {
            text.push_str(&format!("property float {name}\n"));
        }
    }
    text.push_str(extra);
    text.push_str("end_header\n");
    text
}

#[test]
fn zero_quaternion_is_rejected() {
    let mut text = minimal_header("", "");
    text.push_str("0 0 0 0 0 0 0 0 0 0 0 0 0 0\n");
    let err = parse_splat_ply(text.as_bytes()).unwrap_err();
    assert!(
        matches!(err, SplatLoadError::InvalidData(crate::splat::asset::SplatDataError::ZeroRotation { index: 0 })),
        "{err}"
    );
}

#[test]
fn missing_opacity() {
    let mut text = minimal_header("", "opacity");
    text.push_str("0 0 0 0 0 0 0 0 0 1 0 0 0\n");
    match parse_splat_ply(text.as_bytes()) {
        Err(SplatLoadError::MissingProperty { element, property }) => {
            assert_eq!(element, "vertex");
            assert_eq!(property, "opacity");
        }
        other => panic!("expected MissingProperty, got {other:?}"),
    }
}

#[test]
fn unsupported_sh_count() {
    let extra: String = (0..7)
        .map(|i| format!("property float f_rest_{i}\n"))
        .collect();
    let mut text = minimal_header(&extra, "");
    text.push_str(&"0 ".repeat(21));
    text.push('\n');
    assert!(matches!(
        parse_splat_ply(text.as_bytes()),
        Err(SplatLoadError::UnsupportedShCount(7))
    ));
}

#[test]
fn nan_is_invalid_data() {
    for format in [PlyFormat::Ascii, PlyFormat::BinaryLittleEndian] {
        let mut splats = random_splats(5, 1, 3);
        splats.positions[3].y = f32::NAN;
        let bytes = write_gaussian_ply(&splats, format);
        match parse_splat_ply(&bytes) {
            Err(SplatLoadError::InvalidData(SplatDataError::NonFinite { index, field })) => {
                assert_eq!(index, 3);
                assert_eq!(field, "position");
            }
            other => panic!("expected InvalidData, got {other:?}"),
        }
    }
    let mut splats = random_splats(4, 0, 3);
    splats.sh[2][1] = f32::INFINITY;
    let bytes = write_gaussian_ply(&splats, PlyFormat::BinaryBigEndian);
    assert!(matches!(
        parse_splat_ply(&bytes),
        Err(SplatLoadError::InvalidData(SplatDataError::NonFinite {
            index: 2,
            ..
        }))
    ));
}

#[test]
fn truncated_binary() {
    let splats = random_splats(10, 2, 5);
    let bytes = write_gaussian_ply(&splats, PlyFormat::BinaryLittleEndian);
    let cut = &bytes[..bytes.len() - 3];
    match parse_splat_ply(cut) {
        Err(SplatLoadError::Truncated {
            expected_bytes,
            found_bytes,
        }) => {
            assert_eq!(expected_bytes, bytes.len() as u64);
            assert_eq!(found_bytes, cut.len() as u64);
        }
        other => panic!("expected Truncated, got {other:?}"),
    }
    let ascii = write_gaussian_ply(&splats, PlyFormat::Ascii);
    let text = String::from_utf8(ascii).unwrap();
    // Drop the last row.
    let cut = text.trim_end().rsplit_once('\n').unwrap().0;
    assert!(matches!(
        parse_splat_ply(cut.as_bytes()),
        Err(SplatLoadError::AsciiTruncated {
            expected_rows: 10,
            found_rows: 9,
            ..
        })
    ));
}

#[test]
fn lying_header_does_not_allocate() {
    for format in ["binary_little_endian", "ascii"] {
        let mut text = format!("ply\nformat {format} 1.0\nelement vertex 4000000000\n");
        for name in BASE_PROPERTIES {
            text.push_str(&format!("property float {name}\n"));
        }
        text.push_str("end_header\n");
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(b"0 0 0 0 0 0 0 0 0 0 0 0 0 0\n");
        match parse_splat_ply(&bytes) {
            Err(SplatLoadError::Truncated {
                expected_bytes,
                found_bytes,
            }) => {
                assert!(expected_bytes > 4_000_000_000 * 56);
                assert_eq!(found_bytes, bytes.len() as u64);
            }
            Err(SplatLoadError::AsciiTruncated {
                expected_rows,
                found_rows,
                ..
            }) => {
                assert_eq!(expected_rows, 4_000_000_000);
                assert_eq!(found_rows, 1);
            }
            other => panic!("expected a truncation error, got {other:?}"),
        }
    }
    // A count that overflows usize arithmetic.
    let text = format!(
        "ply\nformat binary_big_endian 1.0\nelement vertex {}\nproperty double x\nend_header\n",
        u64::MAX
    );
    assert!(matches!(
        parse_splat_ply(text.as_bytes()),
        Err(SplatLoadError::Truncated {
            expected_bytes: u64::MAX,
            ..
        })
    ));
}

#[test]
fn bad_magic() {
    assert!(matches!(
        parse_splat_ply(b"plx\nformat ascii 1.0\nend_header\n"),
        Err(SplatLoadError::BadMagic)
    ));
    assert!(matches!(
        parse_splat_ply(b"\x89PNG\r\n"),
        Err(SplatLoadError::BadMagic)
    ));
    assert!(matches!(
        parse_splat_ply(b""),
        Err(SplatLoadError::BadMagic)
    ));
}

#[test]
fn missing_vertex_element() {
    let text = "ply\nformat ascii 1.0\nelement face 0\nend_header\n";
    assert!(matches!(
        parse_splat_ply(text.as_bytes()),
        Err(SplatLoadError::MissingElement { element }) if element == "vertex"
    ));
}

#[test]
fn double_properties_and_extras_are_accepted() {
    // Doubles for some properties, an unknown extra property and a face
    // element with a list after the vertices.
    let text = "ply\nformat ascii 1.0\ncomment hi\nelement vertex 2\n\
        property double x\nproperty double y\nproperty double z\nproperty uchar flags\n\
        property float f_dc_0\nproperty float f_dc_1\nproperty float f_dc_2\n\
        property half opacity\nproperty float scale_0\nproperty float scale_1\n\
        property float scale_2\nproperty float rot_0\nproperty float rot_1\n\
        property float rot_2\nproperty float rot_3\n\
        element face 1\nproperty list uchar int vertex_indices\nend_header\n\
        1.5 2.5 3.5 7 0 0 0 0 0 0 0 1 0 0 0\n\
        -1 -2 -3 255 0 0 0 0 0 0 0 0 0 0 1\n\
        3 0 1 1\n";
    let s = parse_splat_ply(text.as_bytes()).unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(s.positions[1], Vec3::new(-1.0, -2.0, -3.0));
    assert_eq!(s.rotations[1], Quat::from_xyzw(0.0, 0.0, 1.0, 0.0));
}

/// A file shipped with the repository; a missing one fails the test.
fn test_file(relative: &str) -> Option<Vec<u8>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(e) => panic!("test data {} is missing: {e}", path.display()),
    }
}

#[test]
fn real_fruit_drops_file() {
    let Some(bytes) = test_file("tests/data/fruit_drops_minimal.ply") else {
        return;
    };
    let start = std::time::Instant::now();
    let s = parse_splat_ply(&bytes).unwrap();
    eprintln!(
        "fruit_drops_minimal.ply: {} splats in {:?}",
        s.len(),
        start.elapsed()
    );
    assert_eq!(s.len(), 4721);
    assert_eq!(s.sh_degree, 3);
    assert_eq!(s.sh.len(), 4721 * 16);
    assert!(s.opacities.iter().all(|o| (0.0..=1.0).contains(o)));
    assert!(s.rotations.iter().all(|q| (q.length() - 1.0).abs() < 1e-5));
    assert!(
        s.scales
            .iter()
            .all(|v| v.min_element() > 0.0 && v.is_finite())
    );
    // Round trip through the writer.
    let again =
        parse_splat_ply(&write_gaussian_ply(&s, PlyFormat::BinaryLittleEndian)).unwrap();
    assert_close(&s, &again, 1e-5);
}
