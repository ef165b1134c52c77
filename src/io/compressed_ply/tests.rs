use super::*;
use crate::io::parse_splat_ply;
use crate::io::ply::PlyFile;

/// A tiny encoder written from the format description above, for tests only.
fn encode(splats: &GaussianSplats, with_colors: bool, packed_type: &str) -> Vec<u8> {
    let n = splats.len();
    let chunks = n.div_ceil(CHUNK_SIZE);
    let k = splats.sh_per_splat();
    let rest = 3 * (k - 1);
    let mut h = format!("ply\nformat binary_little_endian 1.0\nelement chunk {chunks}\n");
    for name in CHUNK_BOUNDS {
        h.push_str(&format!("property float {name}\n"));
    }
    if with_colors {
        for name in CHUNK_COLORS {
            h.push_str(&format!("property float {name}\n"));
        }
    }
    h.push_str(&format!("element vertex {n}\n"));
    for name in PACKED {
        h.push_str(&format!("property {packed_type} {name}\n"));
    }
    if rest > 0 {
        h.push_str(&format!("element sh {n}\n"));
        for i in 0..rest {
            h.push_str(&format!("property uchar f_rest_{i}\n"));
        }
    }
    h.push_str("end_header\n");
    let mut out = h.into_bytes();

    let pack_unorm = |v: f32, bits: u32| {
        let max = ((1u32 << bits) - 1) as f32;
        (v * max + 0.5).floor().clamp(0.0, max) as u32
    };
    let norm = |x: f32, lo: f32, hi: f32| {
        if hi - lo < 1e-5 {
            0.0
        } else {
            ((x - lo) / (hi - lo)).clamp(0.0, 1.0)
        }
    };
    let mut words = Vec::new();
    for ci in 0..chunks {
        let range = ci * CHUNK_SIZE..((ci + 1) * CHUNK_SIZE).min(n);
        let mut lo = [f32::MAX; 9];
        let mut hi = [f32::MIN; 9];
        let attrs = |i: usize| {
            let p = splats.positions[i];
            let s = splats.scales[i];
            let c = splats.sh[i * k];
            [
                p.x,
                p.y,
                p.z,
                s.x.ln(),
                s.y.ln(),
                s.z.ln(),
                c[0] * SH_C0 + 0.5,
                c[1] * SH_C0 + 0.5,
                c[2] * SH_C0 + 0.5,
            ]
        };
        for i in range.clone() {
            for (j, v) in attrs(i).iter().enumerate() {
                lo[j] = lo[j].min(*v);
                hi[j] = hi[j].max(*v);
            }
        }
        let mut bounds = vec![
            lo[0], lo[1], lo[2], hi[0], hi[1], hi[2], lo[3], lo[4], lo[5], hi[3], hi[4], hi[5],
        ];
        if with_colors {
            bounds.extend([lo[6], lo[7], lo[8], hi[6], hi[7], hi[8]]);
        }
        for v in bounds {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for i in range {
            let a = attrs(i);
            let t: Vec<f32> = (0..9).map(|j| norm(a[j], lo[j], hi[j])).collect();
            let pos = (pack_unorm(t[0], 11) << 21)
                | (pack_unorm(t[1], 10) << 11)
                | pack_unorm(t[2], 11);
            let scl = (pack_unorm(t[3], 11) << 21)
                | (pack_unorm(t[4], 10) << 11)
                | pack_unorm(t[5], 11);
            let rgb = if with_colors {
                [t[6], t[7], t[8]]
            } else {
                [a[6], a[7], a[8]]
            };
            let col = (pack_unorm(rgb[0], 8) << 24)
                | (pack_unorm(rgb[1], 8) << 16)
                | (pack_unorm(rgb[2], 8) << 8)
                | pack_unorm(splats.opacities[i], 8);
            let q = splats.rotations[i].normalize();
            let mut c = [q.w, q.x, q.y, q.z];
            let largest = (0..4).fold(
                0,
                |best, j| if c[j].abs() > c[best].abs() { j } else { best },
            );
            if c[largest] < 0.0 {
                c = c.map(|v| -v);
            }
            let mut rot = largest as u32;
            for (j, v) in c.iter().enumerate() {
                if j != largest {
                    rot =
                        (rot << 10) | pack_unorm(v * std::f32::consts::FRAC_1_SQRT_2 + 0.5, 10);
                }
            }
            words.push([pos, rot, scl, col]);
        }
    }
    for w in &words {
        for v in w {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    for i in 0..n {
        for ch in 0..3 {
            for j in 1..k {
                let v = splats.sh[i * k + j][ch] / 8.0 + 0.5;
                out.push((v * 256.0).trunc().clamp(0.0, 255.0) as u8);
            }
        }
    }
    out
}

fn synthetic(n: usize, degree: u8) -> GaussianSplats {
    let mut s = crate::io::gaussian_ply::tests::random_splats(n, degree, 99);
    // Keep colours and SH within the quantisable ranges.
    for c in &mut s.sh {
        for v in c.iter_mut() {
            *v = v.clamp(-1.7, 1.7);
        }
    }
    s
}

#[test]
fn synthetic_round_trip() {
    for (degree, with_colors) in [(0, true), (1, false), (2, true), (3, true)] {
        let s = synthetic(600, degree);
        let bytes = encode(&s, with_colors, "uint");
        let d = parse_splat_ply(&bytes).unwrap();
        assert_eq!(d.len(), s.len());
        assert_eq!(d.sh_degree, degree);
        for i in 0..s.len() {
            // 10 bits over a 20-unit box (worst axis): 20 / 1023 / 2 ≈ 0.01.
            assert!(
                d.positions[i].abs_diff_eq(s.positions[i], 0.011),
                "position {i}"
            );
            let q = s.rotations[i];
            let dot = d.rotations[i].dot(q).abs();
            assert!(dot > 0.999, "rotation {i}: {:?} vs {q:?}", d.rotations[i]);
            for c in 0..3 {
                let (a, b) = (d.scales[i][c].ln(), s.scales[i][c].ln());
                assert!((a - b).abs() < 0.01, "scale {i}");
            }
            assert!((d.opacities[i] - s.opacities[i]).abs() <= 0.5 / 255.0 + 1e-6);
            let k = s.sh_per_splat();
            for c in 0..3 {
                let step = if with_colors {
                    4.0 / 255.0 / SH_C0
                } else {
                    1.0 / 255.0 / SH_C0
                };
                assert!(
                    (d.sh[i * k][c] - s.sh[i * k][c]).abs() <= step,
                    "dc {i}: {:?} vs {:?}",
                    d.sh[i * k],
                    s.sh[i * k]
                );
                for j in 1..k {
                    assert!(
                        (d.sh[i * k + j][c] - s.sh[i * k + j][c]).abs()
                            <= 8.0 / 256.0 * 0.51 + 1e-6
                    );
                }
            }
        }
    }
}

#[test]
fn rotation_index_order() {
    // Largest = rot_1 (x), others w, y, z = 0 -> (w, x, y, z) = (0, 1, 0, 0).
    let mid = 512u32; // (512 / 1023 - 0.5) * √2 ≈ 0.0007
    let v = (1 << 30) | (mid << 20) | (mid << 10) | mid;
    let [w, x, y, z] = unpack_rotation(v);
    assert!(w.abs() < 1e-3 && y.abs() < 1e-3 && z.abs() < 1e-3);
    assert!((x - 1.0).abs() < 1e-5);
    // Index 0 is w; the first 10-bit field is x.
    let v = (1023 << 20) | (mid << 10) | mid;
    let [w, x, y, z] = unpack_rotation(v);
    assert!((x - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
    assert!((w - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-3);
    assert!(y.abs() < 1e-3 && z.abs() < 1e-3);
}

#[test]
fn sh_dequantisation() {
    assert_eq!(sh_from_byte(0.0), -4.0);
    assert_eq!(sh_from_byte(255.0), 4.0);
    assert_eq!(sh_from_byte(128.0), (128.5 / 256.0 - 0.5) * 8.0);
}

#[test]
fn wrong_packed_type() {
    let s = synthetic(10, 0);
    let bytes = encode(&s, true, "float");
    match parse_splat_ply(&bytes) {
        Err(SplatLoadError::WrongPropertyType {
            element, property, ..
        }) => {
            assert_eq!(element, "vertex");
            assert_eq!(property, "packed_position");
        }
        other => panic!("expected WrongPropertyType, got {other:?}"),
    }
}

#[test]
fn too_few_chunks_and_sh_mismatch() {
    let s = synthetic(300, 1);
    let bytes = encode(&s, true, "uint");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    // Claim one chunk: the body is then too long, which is fine, but the
    // vertices need two chunks.
    let mut b = bytes.clone();
    let at = text.find("element chunk 2\n").unwrap();
    b.splice(
        at..at + "element chunk 2\n".len(),
        b"element chunk 1\n".iter().copied(),
    );
    assert!(matches!(
        parse_splat_ply(&b),
        Err(SplatLoadError::TooFewChunks {
            chunks: 1,
            required: 2,
            vertices: 300
        })
    ));
    let mut b = bytes.clone();
    let at = text.find("element sh 300\n").unwrap();
    b.splice(
        at..at + "element sh 300\n".len(),
        b"element sh 299\n".iter().copied(),
    );
    assert!(matches!(
        parse_splat_ply(&b),
        Err(SplatLoadError::ShCountMismatch {
            sh_rows: 299,
            vertices: 300
        })
    ));
}

/// A file shipped with the repository; a missing one fails the test.
fn test_file(relative: &str) -> Option<Vec<u8>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(e) => panic!("test data {} is missing: {e}", path.display()),
    }
}

fn check_real(relative: &str, expected: usize) {
    let Some(bytes) = test_file(relative) else {
        return;
    };
    let start = std::time::Instant::now();
    let s = parse_splat_ply(&bytes).unwrap();
    eprintln!("{relative}: {} splats in {:?}", s.len(), start.elapsed());
    assert_eq!(s.len(), expected);
    assert!(s.opacities.iter().all(|o| (0.0..=1.0).contains(o)));
    assert!(s.rotations.iter().all(|q| (q.length() - 1.0).abs() < 1e-5));
    assert!(
        s.scales
            .iter()
            .all(|v| v.min_element() > 0.0 && v.is_finite())
    );
    // Positions inside their chunk's bounds.
    let ply = PlyFile::parse(&bytes).unwrap();
    let chunk = ply.element("chunk").unwrap();
    let bounds = chunk.read_f32_rows(&CHUNK_BOUNDS[..6]).unwrap();
    for (i, p) in s.positions.iter().enumerate() {
        let b = &bounds[(i / CHUNK_SIZE) * 6..][..6];
        let lo = Vec3::new(b[0], b[1], b[2]);
        let hi = Vec3::new(b[3], b[4], b[5]);
        let eps = (hi - lo).abs() * 1e-6 + Vec3::splat(1e-6);
        assert!(
            p.cmpge(lo - eps).all() && p.cmple(hi + eps).all(),
            "splat {i} at {p:?} outside chunk {lo:?}..{hi:?}"
        );
    }
    // The stored smallest three never exceed the reconstructed largest by
    // more than quantisation error, and their squares sum to at most ~1.
    let vertex = ply.element("vertex").unwrap();
    for r in vertex.read_u32("packed_rotation").unwrap() {
        let c = unpack_rotation(r);
        let largest = c[(r >> 30) as usize];
        assert!(c.iter().all(|v| v.abs() <= largest + 2e-3), "{c:?}");
    }
}

#[test]
fn real_biker_file() {
    check_real("assets/biker.compressed.ply", 152_746);
}

#[test]
fn real_guitar_file() {
    check_real("tests/data/guitar.compressed.ply", 90_854);
}
