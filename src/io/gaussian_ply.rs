//! The 3DGS training PLY layout (as written by the reference trainer and most
//! tools derived from it).
//!
//! One `vertex` element with float properties
//! `x y z [nx ny nz] f_dc_0..2 f_rest_0..(3·(K−1)−1) opacity scale_0..2 rot_0..3`,
//! where `K = (degree + 1)²` SH coefficients per colour channel. Values are
//! stored pre-activation: `opacity` is a logit, `scale_*` are natural logs and
//! `rot_*` is an unnormalised quaternion `(w, x, y, z)`. The `f_rest_*` block is
//! channel-major: `f_rest_{c·(K−1) + (k−1)}` is coefficient `k` (1..K) of channel
//! `c` (0 = R, 1 = G, 2 = B). Other properties (`nx`, `transform`, ...) are ignored.

use std::fmt::Write as _;

use bevy::math::{Quat, Vec3};

use super::error::SplatLoadError;
use super::ply::{PlyFile, PlyFormat};
use crate::splat::asset::{GaussianSplats, sh_coefficient_count};

/// Properties read before the `f_rest_*` block, in decode order.
const BASE_PROPERTIES: [&str; 14] = [
    "x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2",
    "rot_0", "rot_1", "rot_2", "rot_3",
];

/// The SH degree for a number of `f_rest_*` properties (0, 9, 24 or 45).
pub fn sh_degree_for_rest_count(count: usize) -> Option<u8> {
    match count {
        0 => Some(0),
        9 => Some(1),
        24 => Some(2),
        45 => Some(3),
        _ => None,
    }
}

/// Number of `f_rest_*` properties of the element (those whose suffix is an integer).
pub(crate) fn count_rest_properties(element: &super::ply::ElementDef) -> usize {
    element
        .properties
        .iter()
        .filter(|p| {
            p.name
                .strip_prefix("f_rest_")
                .is_some_and(|i| i.parse::<usize>().is_ok())
        })
        .count()
}

/// `f_rest_0 .. f_rest_{count-1}`.
pub(crate) fn rest_names(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("f_rest_{i}")).collect()
}

/// Logistic sigmoid.
#[inline]
pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// A unit quaternion from `(w, x, y, z)` components, normalised in `f64`; a zero
/// quaternion gives the identity and non-finite input stays non-finite.
#[inline]
pub(crate) fn quat_from_wxyz(w: f32, x: f32, y: f32, z: f32) -> Quat {
    let (w64, x64, y64, z64) = (w as f64, x as f64, y as f64, z as f64);
    let len = (w64 * w64 + x64 * x64 + y64 * y64 + z64 * z64).sqrt();
    if len == 0.0 {
        return Quat::IDENTITY;
    }
    if !len.is_finite() {
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

/// Decodes the 3DGS training layout from a parsed PLY (in the file's own frame)
/// and validates the result.
pub fn decode_gaussian_ply(ply: &PlyFile<'_>) -> Result<GaussianSplats, SplatLoadError> {
    let vertex = ply.require_element("vertex")?;
    let rest_count = count_rest_properties(vertex.def());
    let degree = sh_degree_for_rest_count(rest_count)
        .ok_or(SplatLoadError::UnsupportedShCount(rest_count))?;
    let k = sh_coefficient_count(degree);
    let per_channel = k - 1;

    let rest = rest_names(rest_count);
    let mut names: Vec<&str> = BASE_PROPERTIES.to_vec();
    names.extend(rest.iter().map(String::as_str));

    let n = vertex.len();
    // Every row was checked to be present in the body (at least one byte per
    // value in binary, two per value in ASCII), so these sizes are backed by input.
    let mut splats = GaussianSplats {
        positions: Vec::with_capacity(n),
        rotations: Vec::with_capacity(n),
        scales: Vec::with_capacity(n),
        opacities: Vec::with_capacity(n),
        sh_degree: degree,
        sh: Vec::with_capacity(n.saturating_mul(k)),
    };
    vertex.visit_f32_rows(&names, |row| {
        let Some((base, rest)) = row.split_first_chunk::<14>() else {
            return;
        };
        let [x, y, z, dc0, dc1, dc2, opacity, s0, s1, s2, r0, r1, r2, r3] = *base;
        splats.positions.push(Vec3::new(x, y, z));
        splats.opacities.push(sigmoid(opacity));
        splats.scales.push(Vec3::new(s0.exp(), s1.exp(), s2.exp()));
        splats.rotations.push(quat_from_wxyz(r0, r1, r2, r3));
        splats.sh.push([dc0, dc1, dc2]);
        for j in 0..per_channel {
            let get = |c: usize| rest.get(c * per_channel + j).copied().unwrap_or(0.0);
            splats.sh.push([get(0), get(1), get(2)]);
        }
    })?;
    splats.validate()?;
    Ok(splats)
}

/// Writes splats in the 3DGS training layout: float properties
/// `x y z nx ny nz f_dc_0..2 f_rest_* opacity scale_0..2 rot_0..3`
/// (normals are zero), storing pre-activation values: opacity as a logit
/// (clamped into `[1e-6, 1 − 1e-6]` first), scales as natural logs and rotations
/// as `(w, x, y, z)`.
///
/// Values are written exactly (ASCII uses the shortest round-trip decimal form).
pub fn write_gaussian_ply(splats: &GaussianSplats, format: PlyFormat) -> Vec<u8> {
    let degree = splats.sh_degree.min(crate::splat::asset::MAX_SH_DEGREE);
    let k = sh_coefficient_count(degree);
    let per_channel = k - 1;
    let n = splats.len();

    let mut header = String::new();
    header.push_str("ply\n");
    let _ = writeln!(header, "format {} 1.0", format.header_name());
    header.push_str("comment written by bevy_radiance\n");
    let _ = writeln!(header, "element vertex {n}");
    let mut names: Vec<String> = [
        "x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    names.extend(rest_names(3 * per_channel));
    names.extend(
        [
            "opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    for name in &names {
        let _ = writeln!(header, "property float {name}");
    }
    header.push_str("end_header\n");

    let m = names.len();
    let mut out = header.into_bytes();
    match format {
        PlyFormat::Ascii => out.reserve(n * m * 12),
        _ => out.reserve(n * m * 4),
    }
    let stride = splats.sh_per_splat();
    let mut row = vec![0f32; m];
    let mut text = String::new();
    for i in 0..n {
        let p = splats.positions.get(i).copied().unwrap_or(Vec3::ZERO);
        let q = splats.rotations.get(i).copied().unwrap_or(Quat::IDENTITY);
        let s = splats.scales.get(i).copied().unwrap_or(Vec3::ONE);
        let o = splats.opacities.get(i).copied().unwrap_or(1.0);
        let coeff = |j: usize| splats.sh.get(i * stride + j).copied().unwrap_or([0.0; 3]);
        row.fill(0.0);
        row[0] = p.x;
        row[1] = p.y;
        row[2] = p.z;
        // row[3..6]: normals, zero.
        let dc = coeff(0);
        row[6..9].copy_from_slice(&dc);
        for j in 0..per_channel {
            let c = coeff(j + 1);
            for (ch, v) in c.iter().enumerate() {
                row[9 + ch * per_channel + j] = *v;
            }
        }
        let tail = 9 + 3 * per_channel;
        row[tail] = logit(o);
        row[tail + 1] = log_scale(s.x);
        row[tail + 2] = log_scale(s.y);
        row[tail + 3] = log_scale(s.z);
        row[tail + 4] = q.w;
        row[tail + 5] = q.x;
        row[tail + 6] = q.y;
        row[tail + 7] = q.z;
        match format {
            PlyFormat::Ascii => {
                text.clear();
                for (j, v) in row.iter().enumerate() {
                    if j > 0 {
                        text.push(' ');
                    }
                    let _ = write!(text, "{v}");
                }
                text.push('\n');
                out.extend_from_slice(text.as_bytes());
            }
            PlyFormat::BinaryLittleEndian => {
                for v in &row {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
            PlyFormat::BinaryBigEndian => {
                for v in &row {
                    out.extend_from_slice(&v.to_be_bytes());
                }
            }
        }
    }
    out
}

/// Inverse sigmoid with the probability clamped into `[1e-6, 1 − 1e-6]`.
fn logit(p: f32) -> f32 {
    let p = (p as f64).clamp(1e-6, 1.0 - 1e-6);
    (p / (1.0 - p)).ln() as f32
}

/// Natural log of a scale, keeping NaN and mapping non-positive scales to the
/// log of the smallest positive normal `f32`.
fn log_scale(s: f32) -> f32 {
    if s.is_nan() {
        s
    } else {
        s.max(f32::MIN_POSITIVE).ln()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::io::parse_splat_ply;
    use crate::splat::asset::SplatDataError;

    /// Small deterministic generator (xorshift64*).
    struct Rng(u64);
    impl Rng {
        fn next_f32(&mut self) -> f32 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let v = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
            (v >> 40) as f32 / (1u64 << 24) as f32
        }
        fn range(&mut self, lo: f32, hi: f32) -> f32 {
            lo + (hi - lo) * self.next_f32()
        }
    }

    pub(crate) fn random_splats(n: usize, degree: u8, seed: u64) -> GaussianSplats {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
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
    fn zero_quaternion_is_identity() {
        let mut text = minimal_header("", "");
        text.push_str("0 0 0 0 0 0 0 0 0 0 0 0 0 0\n");
        let s = parse_splat_ply(text.as_bytes()).unwrap();
        assert_eq!(s.rotations, vec![Quat::IDENTITY]);
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

    fn test_file(relative: &str) -> Option<Vec<u8>> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
        match std::fs::read(&path) {
            Ok(bytes) => Some(bytes),
            Err(_) => {
                eprintln!("skipping: {} is not present", path.display());
                None
            }
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

    /// Release-mode timing of a large training-layout file (1M splats, SH 3):
    /// `cargo test --release --lib io::gaussian_ply::tests::load_one_million -- --ignored --nocapture`.
    #[test]
    #[ignore = "benchmark: allocates about 1 GB"]
    fn load_one_million() {
        let n = 1_000_000;
        let splats = random_splats(n, 3, 11);
        let bytes = write_gaussian_ply(&splats, PlyFormat::BinaryLittleEndian);
        let start = std::time::Instant::now();
        let back = parse_splat_ply(&bytes).unwrap();
        eprintln!(
            "1M splats x 62 floats ({} MB): parsed in {:?}",
            bytes.len() / 1_000_000,
            start.elapsed()
        );
        assert_eq!(back.len(), n);
    }
}
