use super::*;
use crate::io::gaussian_ply::tests::random_splats;
use crate::io::gaussian_ply::write_gaussian_ply;
use crate::io::parse_splat_ply;
use crate::io::ply::PlyFormat;
use crate::splat::asset::SH_C0;

const BIKER_SPZ: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/biker.spz");
const BIKER_PLY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/biker.compressed.ply");
const FRUIT_PLY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/fruit_drops_minimal.ply"
);

/// Largest SH byte value, as a coefficient.
const SH_MAX: f32 = 127.0 / 128.0;
/// Representable log-scale range.
const LOG_SCALE_RANGE: (f32, f32) = (-10.0, 255.0 / 16.0 - 10.0);
/// Representable DC range.
const DC_RANGE: (f32, f32) = (-0.5 / COLOR_SCALE, 0.5 / COLOR_SCALE);

/// Per-attribute tolerances of one SPZ encode / decode cycle.
#[derive(Clone, Copy, Debug)]
struct Tolerances {
    /// Absolute position error (per coordinate).
    position: f32,
    /// Absolute error of ln(scale), against the clamped value.
    log_scale: f32,
    /// Absolute opacity error.
    opacity: f32,
    /// Absolute DC-coefficient error, against the clamped value.
    dc: f32,
    /// Absolute error of degree-1 / higher SH coefficients, against the clamped value.
    sh1: f32,
    sh_rest: f32,
    /// Bound on `1 − |q · q'|`.
    rotation: f32,
}

impl Tolerances {
    /// Tolerances for a version-2+ file with `fractional_bits` and SH bits.
    fn spz(fractional_bits: u8, sh1_bits: u8, sh_rest_bits: u8, smallest_three: bool) -> Self {
        let bucket = |bits: u8| (1u32 << (8 - bits)) as f32;
        Self {
            // Rounding to the nearest step 2^-bits: half a step (plus f32 noise).
            position: (-(f32::from(fractional_bits) + 1.0)).exp2() * 1.01,
            // Step 1/16 in ln(scale): half a step.
            log_scale: 1.0 / 32.0 + 1e-5,
            // Step 1/255.
            opacity: 0.5 / 255.0 + 1e-6,
            // Step 1/(0.15·255) in f_dc.
            dc: 0.5 / (COLOR_SCALE * 255.0) + 1e-5,
            // round(x·128) (half of 1/128), then half a bucket (bucket/2 /128).
            sh1: (0.5 + bucket(sh1_bits) / 2.0) / 128.0 + 1e-6,
            sh_rest: (0.5 + bucket(sh_rest_bits) / 2.0) / 128.0 + 1e-6,
            // Smallest three: components within √½/511/2 ≈ 7e-4 → 1 − |dot| ≲ 4e-6.
            // First three: bytes within 1/255, w derived (poor near w = 0).
            rotation: if smallest_three { 1e-5 } else { 5e-3 },
        }
    }
}

/// Largest deviations seen by [`compare`].
#[derive(Clone, Copy, Debug, Default)]
struct Deviations {
    position: f32,
    log_scale: f32,
    opacity: f32,
    dc: f32,
    colour: f32,
    sh1: f32,
    sh_rest: f32,
    rotation: f32,
}

/// Compares `decoded` (after SPZ) with `original`, each value against the
/// original clamped to the SPZ range; returns the largest deviations and
/// panics when one exceeds its tolerance.
fn compare(original: &GaussianSplats, decoded: &GaussianSplats, tol: Tolerances) -> Deviations {
    assert_eq!(original.len(), decoded.len());
    assert_eq!(original.sh_degree, decoded.sh_degree);
    let mut d = Deviations::default();
    let k = original.sh_per_splat();
    for i in 0..original.len() {
        let dp = (original.positions[i] - decoded.positions[i])
            .abs()
            .max_element();
        d.position = d.position.max(dp);
        assert!(
            dp <= tol.position,
            "position {i}: {} vs {}",
            original.positions[i],
            decoded.positions[i]
        );
        for c in 0..3 {
            let a = original.scales[i][c]
                .ln()
                .clamp(LOG_SCALE_RANGE.0, LOG_SCALE_RANGE.1);
            let b = decoded.scales[i][c].ln();
            d.log_scale = d.log_scale.max((a - b).abs());
            assert!((a - b).abs() <= tol.log_scale, "scale {i}: {a} vs {b}");
        }
        let dop = (original.opacities[i].clamp(0.0, 1.0) - decoded.opacities[i]).abs();
        d.opacity = d.opacity.max(dop);
        assert!(dop <= tol.opacity, "opacity {i}");
        let dot = original.rotations[i]
            .normalize()
            .dot(decoded.rotations[i])
            .abs();
        d.rotation = d.rotation.max(1.0 - dot);
        assert!(
            1.0 - dot <= tol.rotation,
            "rotation {i}: {:?} vs {:?}",
            original.rotations[i],
            decoded.rotations[i]
        );
        for j in 0..k {
            for c in 0..3 {
                let (a, b) = (original.sh[i * k + j][c], decoded.sh[i * k + j][c]);
                if j == 0 {
                    let a = a.clamp(DC_RANGE.0, DC_RANGE.1);
                    d.dc = d.dc.max((a - b).abs());
                    d.colour = d.colour.max(SH_C0 * (a - b).abs());
                    assert!((a - b).abs() <= tol.dc, "dc {i}/{c}: {a} vs {b}");
                } else {
                    let a = a.clamp(-1.0, SH_MAX);
                    let (dev, t) = if j <= 3 {
                        (&mut d.sh1, tol.sh1)
                    } else {
                        (&mut d.sh_rest, tol.sh_rest)
                    };
                    *dev = dev.max((a - b).abs());
                    assert!((a - b).abs() <= t, "sh {i}/{j}/{c}: {a} vs {b}");
                }
            }
        }
    }
    d
}

/// Random splats whose values lie inside the SPZ ranges.
fn in_range_splats(n: usize, degree: u8, seed: u64) -> GaussianSplats {
    let mut s = random_splats(n, degree, seed);
    let k = s.sh_per_splat();
    for (j, c) in s.sh.iter_mut().enumerate() {
        for v in c.iter_mut() {
            *v = if j % k == 0 {
                v.clamp(-3.3, 3.3)
            } else {
                *v * 0.5
            };
        }
    }
    s
}

#[test]
fn round_trip_v4_all_degrees() {
    for degree in 0..=3u8 {
        let splats = in_range_splats(300, degree, 3 + u64::from(degree));
        let bytes = write_spz(&splats).unwrap();
        assert_eq!(&bytes[..4], b"NGSP");
        let file = parse_spz(&bytes).unwrap();
        assert_eq!(file.version, 4);
        assert!(!file.antialiased);
        // |coordinates| ≤ 10 → 12 fractional bits.
        assert_eq!(bytes[13], 12);
        let d = compare(&splats, &file.splats, Tolerances::spz(12, 5, 4, true));
        eprintln!("v4 degree {degree}: {d:?}");
    }
}

#[test]
fn round_trip_full_sh_precision_and_flags() {
    let splats = in_range_splats(100, 3, 9);
    let options = SpzWriteOptions {
        sh1_bits: 8,
        sh_rest_bits: 8,
        antialiased: true,
        ..Default::default()
    };
    let file = parse_spz(&write_spz_with(&splats, &options).unwrap()).unwrap();
    assert!(file.antialiased);
    compare(&splats, &file.splats, Tolerances::spz(12, 8, 8, true));
}

#[test]
fn round_trip_legacy_versions() {
    for version in 1..=3u32 {
        for degree in [0u8, 1, 3] {
            let splats = in_range_splats(120, degree, 40 + u64::from(version));
            let options = SpzWriteOptions {
                version,
                ..Default::default()
            };
            let bytes = write_any_version(&splats, &options).unwrap();
            assert_eq!(&bytes[..2], &[0x1f, 0x8b]);
            let file = parse_spz(&bytes).unwrap();
            assert_eq!(file.version, version);
            let mut tol = Tolerances::spz(12, 5, 4, version >= 3);
            if version == 1 {
                // Half floats: 11 significant bits, |p| ≤ 10 → error ≤ 8 · 2^-11 / 2.
                tol.position = 10.0 * (-11.0f32).exp2();
            }
            let d = compare(&splats, &file.splats, tol);
            eprintln!("v{version} degree {degree}: {d:?}");
        }
    }
    // Version 1 is not offered by the public writer.
    assert!(matches!(
        write_spz_with(
            &random_splats(1, 0, 1),
            &SpzWriteOptions {
                version: 1,
                ..Default::default()
            }
        ),
        Err(SpzError::UnsupportedVersion(1))
    ));
}

#[test]
fn file_is_stored_in_rub() {
    // A splat at (1, 2, −3) in the canonical RDF frame, rotated about +Y.
    let q = Quat::from_rotation_y(0.5);
    let splats = GaussianSplats {
        positions: vec![Vec3::new(1.0, 2.0, -3.0)],
        rotations: vec![q],
        scales: vec![Vec3::ONE],
        opacities: vec![1.0],
        sh_degree: 1,
        sh: vec![
            [0.0; 3],
            [0.5, 0.5, 0.5],
            [0.25, 0.25, 0.25],
            [-0.5, -0.5, -0.5],
        ],
        ..Default::default()
    };
    let options = SpzWriteOptions {
        version: 3,
        sh1_bits: 8,
        ..Default::default()
    };
    let bytes = write_spz_with(&splats, &options).unwrap();
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(bytes.as_slice())
        .read_to_end(&mut raw)
        .unwrap();
    let fixed = |at: usize| i32::from_le_bytes([0, raw[at], raw[at + 1], raw[at + 2]]) >> 8;
    // RUB: (x, −y, −z) = (1, −2, 3) in 1/4096 units.
    assert_eq!([fixed(16), fixed(19), fixed(22)], [4096, -8192, 12288]);
    // Rotation after positions (9), alpha (1), colour (3), scale (3): the
    // conjugated quaternion (w, x, −y, −z): y component negated.
    let word = u32::from_le_bytes(raw[32..36].try_into().unwrap());
    let back = unpack_smallest_three(word);
    let expected = Quat::from_xyzw(q.x, -q.y, -q.z, q.w);
    assert!(
        back.dot(expected).abs() > 1.0 - 1e-5,
        "{back:?} vs {expected:?}"
    );
    // SH degree 1 (m = −1, 0, 1 ~ y, z, x) flips sign for y and z only.
    let sh = &raw[36..45];
    assert_eq!(sh, &[64, 64, 64, 96, 96, 96, 64, 64, 64]);
    assert_eq!(parse_spz(&bytes).unwrap().splats.sh[1], [0.5; 3]);
}

#[test]
fn large_coordinates_use_fewer_fractional_bits() {
    let mut splats = in_range_splats(10, 0, 5);
    splats.positions[3] = Vec3::new(5000.0, -7000.0, 1.5);
    let bytes = write_spz(&splats).unwrap();
    // 7000 · 2^10 < 2^23 ≤ 7000 · 2^11.
    assert_eq!(bytes[13], 10);
    compare(
        &splats,
        &parse_spz(&bytes).unwrap().splats,
        Tolerances::spz(10, 5, 4, true),
    );
    splats.positions[7].z = 9.0e6;
    assert!(matches!(
        write_spz(&splats),
        Err(SpzError::PositionOutOfRange { index: 7, .. })
    ));
}

#[test]
fn empty_scene_round_trips() {
    let file = parse_spz(&write_spz(&GaussianSplats::default()).unwrap()).unwrap();
    assert!(file.splats.is_empty());
}

#[test]
fn writer_rejects_invalid_splats() {
    let mut splats = random_splats(4, 1, 1);
    splats.opacities[2] = f32::NAN;
    assert!(matches!(
        write_spz(&splats),
        Err(SpzError::InvalidData(SplatDataError::NonFinite {
            index: 2,
            ..
        }))
    ));
    let options = SpzWriteOptions {
        sh1_bits: 0,
        ..Default::default()
    };
    assert!(matches!(
        write_spz_with(&random_splats(4, 1, 1), &options),
        Err(SpzError::InvalidOptions(_))
    ));
}

#[test]
fn degree_four_is_truncated_to_three() {
    let splats = in_range_splats(20, 3, 8);
    let mut streams_file = write_any_version(
        &splats,
        &SpzWriteOptions {
            version: 3,
            ..Default::default()
        },
    )
    .unwrap();
    // Rebuild as degree 4: 24 coefficients per channel, the extra 9 all zero (128).
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(streams_file.as_slice())
        .read_to_end(&mut raw)
        .unwrap();
    let n = 20;
    let sh_at = 16 + n * (9 + 1 + 3 + 3 + 4);
    let mut out = raw[..sh_at].to_vec();
    out[12] = 4;
    for i in 0..n {
        out.extend_from_slice(&raw[sh_at + i * 45..sh_at + (i + 1) * 45]);
        out.extend_from_slice(&[128; 27]);
    }
    streams_file = gzip(&out);
    let file = parse_spz(&streams_file).unwrap();
    assert_eq!(file.splats.sh_degree, 3);
    compare(&splats, &file.splats, Tolerances::spz(12, 5, 4, true));
}

fn gzip(raw: &[u8]) -> Vec<u8> {
    gzip_level(raw, flate2::Compression::fast())
}

fn gzip_level(raw: &[u8], level: flate2::Compression) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), level);
    e.write_all(raw).unwrap();
    e.finish().unwrap()
}

/// The first 16 header bytes.
fn legacy_header(version: u32, n: u32, degree: u8) -> Vec<u8> {
    let mut h = SPZ_MAGIC.to_le_bytes().to_vec();
    h.extend_from_slice(&version.to_le_bytes());
    h.extend_from_slice(&n.to_le_bytes());
    h.extend_from_slice(&[degree, 12, 0, 0]);
    h
}

fn biker_bytes() -> Vec<u8> {
    std::fs::read(BIKER_SPZ).unwrap()
}

mod malformed;
mod real_files;
