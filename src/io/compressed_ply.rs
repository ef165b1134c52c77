//! The PlayCanvas / SuperSplat "compressed PLY" layout (`*.compressed.ply`).
//!
//! Splats are quantised in chunks of [`CHUNK_SIZE`] consecutive splats:
//!
//! * element `chunk` (one row per chunk, `float`): `min_x min_y min_z max_x max_y
//!   max_z min_scale_x min_scale_y min_scale_z max_scale_x max_scale_y
//!   max_scale_z` and optionally `min_r min_g min_b max_r max_g max_b`;
//! * element `vertex` (`uint` each):
//!   * `packed_position`: 11-10-11 bit unorms (x in bits 21..32, y in 11..21,
//!     z in 0..11), each lerped between the chunk's min and max;
//!   * `packed_rotation`: "smallest three": bits 30..32 hold the index (in
//!     `rot_0..3` = `w x y z` order) of the largest-magnitude component, which
//!     was made positive; bits 20..30, 10..20 and 0..10 hold the other three in
//!     that same order as 10-bit unorms `u`, each `(u − 0.5)·√2` (range ±1/√2);
//!     the largest is `√(1 − a² − b² − c²)`;
//!   * `packed_scale`: 11-10-11 like the position, lerped between the chunk's
//!     scale min / max, giving **log** scales;
//!   * `packed_color`: RGBA8 with R in the top byte. RGB lerped between the
//!     chunk's colour min / max (or taken as is without them) is the base colour
//!     `0.5 + SH_C0 · f_dc`; alpha / 255 is the (linear) opacity;
//! * optional element `sh` (one row per splat, `uchar f_rest_0..N`, N + 1 = 9,
//!   24 or 45): channel-major like the training layout; a byte `v` decodes to
//!   `(t − 0.5) · 8` with `t = 0` for 0, `1` for 255 and `(v + 0.5) / 256`
//!   otherwise (the writer stores `trunc((f / 8 + 0.5) · 256)` clamped to 0..255).

use bevy::math::Vec3;

use super::error::SplatLoadError;
use super::gaussian_ply::{
    count_rest_properties, quat_from_wxyz, rest_names, sh_degree_for_rest_count,
};
use super::ply::{PlyFile, PlyHeader, ScalarType};
use crate::splat::asset::{GaussianSplats, SH_C0, sh_coefficient_count};

/// Number of splats quantised together against one `chunk` row.
pub const CHUNK_SIZE: usize = 256;

/// Per-chunk bounds, always present.
const CHUNK_BOUNDS: [&str; 12] = [
    "min_x",
    "min_y",
    "min_z",
    "max_x",
    "max_y",
    "max_z",
    "min_scale_x",
    "min_scale_y",
    "min_scale_z",
    "max_scale_x",
    "max_scale_y",
    "max_scale_z",
];

/// Per-chunk colour bounds, optional.
const CHUNK_COLORS: [&str; 6] = ["min_r", "min_g", "min_b", "max_r", "max_g", "max_b"];

/// The packed per-splat words.
const PACKED: [&str; 4] = [
    "packed_position",
    "packed_rotation",
    "packed_scale",
    "packed_color",
];

/// Whether a header uses the compressed layout: a `chunk` element and a `vertex`
/// element with a `packed_position` property (of any type; a wrong type is
/// reported by [`decode_compressed_ply`]).
pub fn is_compressed_layout(header: &PlyHeader) -> bool {
    header.element("chunk").is_some()
        && header
            .element("vertex")
            .is_some_and(|v| v.property("packed_position").is_some())
}

/// `bits`-wide unorm in the low bits of `value`, as `[0, 1]`.
#[inline(always)]
fn unorm(value: u32, bits: u32) -> f32 {
    let max = (1u32 << bits) - 1;
    (value & max) as f32 / max as f32
}

/// The 11-10-11 triple of a packed position or scale, as unorms.
#[inline(always)]
fn unpack_11_10_11(v: u32) -> [f32; 3] {
    [unorm(v >> 21, 11), unorm(v >> 11, 10), unorm(v, 11)]
}

/// `a` at `t = 0`, `b` at `t = 1` (exactly, at both ends).
#[inline(always)]
fn lerp(a: f32, b: f32, t: f32) -> f32 {
    a * (1.0 - t) + b * t
}

/// Decodes a "smallest three" 2-10-10-10 quaternion into `(w, x, y, z)`.
#[inline]
pub(crate) fn unpack_rotation(v: u32) -> [f32; 4] {
    let a = (unorm(v >> 20, 10) - 0.5) * std::f32::consts::SQRT_2;
    let b = (unorm(v >> 10, 10) - 0.5) * std::f32::consts::SQRT_2;
    let c = (unorm(v, 10) - 0.5) * std::f32::consts::SQRT_2;
    let m = (1.0 - (a * a + b * b + c * c)).max(0.0).sqrt();
    match v >> 30 {
        0 => [m, a, b, c],
        1 => [a, m, b, c],
        2 => [a, b, m, c],
        _ => [a, b, c, m],
    }
}

/// Dequantises a compressed SH byte.
#[inline]
fn sh_from_byte(v: f32) -> f32 {
    let t = if v <= 0.0 {
        0.0
    } else if v >= 255.0 {
        1.0
    } else {
        (v + 0.5) / 256.0
    };
    (t - 0.5) * 8.0
}

/// Decodes the compressed layout from a parsed PLY (in the file's own frame) and
/// validates the result.
pub fn decode_compressed_ply(ply: &PlyFile<'_>) -> Result<GaussianSplats, SplatLoadError> {
    let chunk = ply.require_element("chunk")?;
    let vertex = ply.require_element("vertex")?;

    // Packed words must be 32-bit unsigned.
    for name in PACKED {
        let ty = vertex.scalar_type(name)?;
        if ty != ScalarType::Uint32 {
            return Err(SplatLoadError::WrongPropertyType {
                element: vertex.name().to_owned(),
                property: name.to_owned(),
                expected: "uint (a packed 32-bit word)",
                found: ty.to_string(),
            });
        }
    }

    let n = vertex.len();
    let required = n.div_ceil(CHUNK_SIZE);
    if chunk.len() < required {
        return Err(SplatLoadError::TooFewChunks {
            chunks: chunk.len(),
            required,
            vertices: n,
        });
    }

    let has_colors = CHUNK_COLORS.iter().any(|c| chunk.has_property(c));
    let mut chunk_names: Vec<&str> = CHUNK_BOUNDS.to_vec();
    if has_colors {
        chunk_names.extend(CHUNK_COLORS);
    }
    let chunk_width = chunk_names.len();
    let chunks = chunk.read_f32_rows(&chunk_names)?;

    let [positions, rotations, scales, colors] = PACKED.map(|name| vertex.read_u32(name));
    let (positions, rotations, scales, colors) = (positions?, rotations?, scales?, colors?);

    // Optional SH.
    let (degree, sh_rows) = match ply.element("sh") {
        None => (0, Vec::new()),
        Some(sh) => {
            let count = count_rest_properties(sh.def());
            let degree =
                sh_degree_for_rest_count(count).ok_or(SplatLoadError::UnsupportedShCount(count))?;
            if sh.len() != n {
                return Err(SplatLoadError::ShCountMismatch {
                    sh_rows: sh.len(),
                    vertices: n,
                });
            }
            let names = rest_names(count);
            for name in &names {
                let ty = sh.scalar_type(name)?;
                if ty != ScalarType::Uint8 {
                    return Err(SplatLoadError::WrongPropertyType {
                        element: sh.name().to_owned(),
                        property: name.clone(),
                        expected: "uchar (a quantised SH coefficient)",
                        found: ty.to_string(),
                    });
                }
            }
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            (degree, sh.read_f32_rows(&refs)?)
        }
    };
    let k = sh_coefficient_count(degree);
    let per_channel = k - 1;

    let mut splats = GaussianSplats {
        positions: Vec::with_capacity(n),
        rotations: Vec::with_capacity(n),
        scales: Vec::with_capacity(n),
        opacities: Vec::with_capacity(n),
        sh_degree: degree,
        sh: Vec::with_capacity(n.saturating_mul(k)),
    };

    let groups = chunks
        .chunks_exact(chunk_width)
        .zip(positions.chunks(CHUNK_SIZE))
        .zip(rotations.chunks(CHUNK_SIZE))
        .zip(scales.chunks(CHUNK_SIZE))
        .zip(colors.chunks(CHUNK_SIZE));
    for ((((c, pp), pr), ps), pc) in groups {
        let Some(b) = c.first_chunk::<12>() else {
            continue;
        };
        let [
            min_x,
            min_y,
            min_z,
            max_x,
            max_y,
            max_z,
            min_sx,
            min_sy,
            min_sz,
            max_sx,
            max_sy,
            max_sz,
        ] = *b;
        let color_bounds = c.get(12..18).and_then(|s| s.first_chunk::<6>()).copied();
        for (((&p, &r), &s), &col) in pp.iter().zip(pr).zip(ps).zip(pc) {
            let [tx, ty, tz] = unpack_11_10_11(p);
            splats.positions.push(Vec3::new(
                lerp(min_x, max_x, tx),
                lerp(min_y, max_y, ty),
                lerp(min_z, max_z, tz),
            ));

            let [w, x, y, z] = unpack_rotation(r);
            splats.rotations.push(quat_from_wxyz(w, x, y, z));

            let [sx, sy, sz] = unpack_11_10_11(s);
            splats.scales.push(Vec3::new(
                lerp(min_sx, max_sx, sx).exp(),
                lerp(min_sy, max_sy, sy).exp(),
                lerp(min_sz, max_sz, sz).exp(),
            ));

            let (cr, cg, cb) = (unorm(col >> 24, 8), unorm(col >> 16, 8), unorm(col >> 8, 8));
            let rgb = match color_bounds {
                Some([lr, lg, lb, hr, hg, hb]) => {
                    [lerp(lr, hr, cr), lerp(lg, hg, cg), lerp(lb, hb, cb)]
                }
                None => [cr, cg, cb],
            };
            splats.sh.push(rgb.map(|v| (v - 0.5) / SH_C0));
            splats.opacities.push(unorm(col, 8));
        }
    }

    if per_channel > 0 {
        // Interleave the SH rows after each splat's DC term.
        let dc = std::mem::take(&mut splats.sh);
        let mut sh = Vec::with_capacity(n.saturating_mul(k));
        for (d, row) in dc.iter().zip(sh_rows.chunks_exact(3 * per_channel)) {
            sh.push(*d);
            for j in 0..per_channel {
                let get =
                    |ch: usize| sh_from_byte(row.get(ch * per_channel + j).copied().unwrap_or(0.0));
                sh.push([get(0), get(1), get(2)]);
            }
        }
        splats.sh = sh;
    }

    splats.validate()?;
    Ok(splats)
}

#[cfg(test)]
mod tests {
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
        check_real("assets/guitar.compressed.ply", 90_854);
    }
}
