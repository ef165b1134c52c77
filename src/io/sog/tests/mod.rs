use super::*;
use super::encode::smallest_three;
use crate::splat::asset::sh_coefficient_count;
use image_webp::{ColorType, WebPEncoder};
use std::io::Write;

/// Plane files by name.
pub(crate) type Planes = HashMap<String, Vec<u8>>;

pub(crate) const WAVE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/wave/wave_0001.sog");

/// Lossless RGBA WebP.
pub(crate) fn webp(rgba: &[u8], w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    WebPEncoder::new(&mut out)
        .encode(rgba, w, h, ColorType::Rgba8)
        .unwrap();
    out
}

fn log_t(x: f32) -> f64 {
    (x as f64).signum() * ((x as f64).abs() + 1.0).ln()
}

/// A uniform 256-entry table over `lo..=hi` and the nearest index of a value.
fn table(values: impl Iterator<Item = f32>) -> (Vec<f32>, f32, f32) {
    let (lo, hi) = values.fold((f32::MAX, f32::MIN), |(a, b), v| (a.min(v), b.max(v)));
    let (lo, hi) = if lo > hi { (0.0, 0.0) } else { (lo, hi) };
    let cb = (0..256).map(|i| lerp(lo, hi, i as f32 / 255.0)).collect();
    (cb, lo, hi)
}

fn quant(v: f32, lo: f32, hi: f32) -> u8 {
    if hi > lo {
        ((v - lo) / (hi - lo) * 255.0).round().clamp(0.0, 255.0) as u8
    } else {
        0
    }
}

/// A test-only SOG encoder (v1 or v2): planes `width` pixels wide, uniform
/// tables, one SH palette entry per splat. Returns `meta.json` and the files.
pub(crate) fn encode(
    s: &GaussianSplats,
    width: u32,
    version: u32,
) -> (Vec<u8>, HashMap<String, Vec<u8>>) {
    let n = s.len();
    let h = (n as u32).div_ceil(width).max(1);
    let px = (width * h) as usize;
    let k = s.sh_per_splat();
    let mut files = HashMap::new();
    let mut plane = |name: &str, data: Vec<u8>, w: u32, h: u32| {
        files.insert(name.to_owned(), webp(&data, w, h));
    };

    let mut mins = [f64::MAX; 3];
    let mut maxs = [f64::MIN; 3];
    for p in &s.positions {
        for a in 0..3 {
            mins[a] = mins[a].min(log_t(p[a]));
            maxs[a] = maxs[a].max(log_t(p[a]));
        }
    }
    let (mut lo, mut hi) = (vec![0u8; px * 4], vec![0u8; px * 4]);
    for (i, p) in s.positions.iter().enumerate() {
        for a in 0..3 {
            let range = maxs[a] - mins[a];
            let u = if range > 0.0 {
                ((log_t(p[a]) - mins[a]) / range * 65535.0).round() as u32
            } else {
                0
            };
            lo[i * 4 + a] = u as u8;
            hi[i * 4 + a] = (u >> 8) as u8;
        }
        lo[i * 4 + 3] = 255;
        hi[i * 4 + 3] = 255;
    }
    plane("means_l.webp", lo, width, h);
    plane("means_u.webp", hi, width, h);

    let mut quats = vec![0u8; px * 4];
    for (i, q) in s.rotations.iter().enumerate() {
        quats[i * 4..i * 4 + 4].copy_from_slice(&smallest_three(*q));
    }
    plane("quats.webp", quats, width, h);

    let logs: Vec<[f32; 3]> = s.scales.iter().map(|v| v.to_array().map(f32::ln)).collect();
    let (scb, slo, shi) = table(logs.iter().flatten().copied());
    let mut scales = vec![255u8; px * 4];
    for (i, l) in logs.iter().enumerate() {
        for a in 0..3 {
            scales[i * 4 + a] = quant(l[a], slo, shi);
        }
    }
    plane("scales.webp", scales, width, h);

    let (ccb, clo, chi) = table((0..n).flat_map(|i| s.sh[i * k]));
    let logits: Vec<f32> = s
        .opacities
        .iter()
        .map(|o| {
            let o = o.clamp(1e-4, 1.0 - 1e-4);
            (o / (1.0 - o)).ln()
        })
        .collect();
    let (_, olo, ohi) = table(logits.iter().copied());
    let mut sh0 = vec![0u8; px * 4];
    for i in 0..n {
        for c in 0..3 {
            sh0[i * 4 + c] = quant(s.sh[i * k][c], clo, chi);
        }
        sh0[i * 4 + 3] = if version == 2 {
            (s.opacities[i] * 255.0).round() as u8
        } else {
            quant(logits[i], olo, ohi)
        };
    }
    plane("sh0.webp", sh0, width, h);

    let mut meta = if version == 2 {
        serde_json::json!({
            "version": 2, "count": n,
            "means": {"mins": mins, "maxs": maxs, "files": ["means_l.webp", "means_u.webp"]},
            "scales": {"codebook": scb, "files": ["scales.webp"]},
            "quats": {"files": ["quats.webp"]},
            "sh0": {"codebook": ccb, "files": ["sh0.webp"]},
        })
    } else {
        let (smins, smaxs) = ([slo; 3], [shi; 3]);
        serde_json::json!({
            "means": {"shape": [n, 3], "mins": mins, "maxs": maxs,
                      "files": ["means_l.webp", "means_u.webp"]},
            "scales": {"mins": smins, "maxs": smaxs, "files": ["scales.webp"]},
            "quats": {"files": ["quats.webp"]},
            "sh0": {"mins": [clo, clo, clo, olo], "maxs": [chi, chi, chi, ohi],
                    "files": ["sh0.webp"]},
        })
    };

    if s.sh_degree > 0 {
        let rest = k - 1;
        let (rcb, rlo, rhi) =
            table((0..n).flat_map(|i| s.sh[i * k + 1..(i + 1) * k].iter().flatten().copied()));
        let (cw, ch) = (64 * rest as u32, (n as u32).div_ceil(64).max(1));
        let mut centroids = vec![255u8; (cw * ch) as usize * 4];
        let mut labels = vec![255u8; px * 4];
        for i in 0..n {
            for j in 0..rest {
                let o = ((i / 64) * cw as usize + (i % 64) * rest + j) * 4;
                for c in 0..3 {
                    centroids[o + c] = quant(s.sh[i * k + 1 + j][c], rlo, rhi);
                }
            }
            labels[i * 4] = i as u8;
            labels[i * 4 + 1] = (i >> 8) as u8;
            labels[i * 4 + 2] = 0;
        }
        plane("shN_centroids.webp", centroids, cw, ch);
        plane("shN_labels.webp", labels, width, h);
        let files = ["shN_centroids.webp", "shN_labels.webp"];
        meta["shN"] = if version == 2 {
            serde_json::json!({"count": n.max(1), "bands": s.sh_degree,
                               "codebook": rcb, "files": files})
        } else {
            serde_json::json!({"mins": rlo, "maxs": rhi, "files": files})
        };
    }
    (serde_json::to_vec(&meta).unwrap(), files)
}

/// Deterministic pseudo-random splats.
pub(crate) fn sample_splats(n: usize, degree: u8, seed: u64) -> GaussianSplats {
    let mut rng = crate::testing::TestRng::new(seed);
    let mut rnd = move || rng.unit();
    let k = sh_coefficient_count(degree);
    let mut s = GaussianSplats {
        sh_degree: degree,
        ..Default::default()
    };
    for _ in 0..n {
        s.positions.push(Vec3::new(
            rnd() * 8.0 - 4.0,
            rnd() * 2.0 - 1.5,
            rnd() * 30.0 - 5.0,
        ));
        s.rotations.push(
            Quat::from_xyzw(rnd() - 0.5, rnd() - 0.5, rnd() - 0.5, rnd() - 0.5).normalize(),
        );
        s.scales.push(Vec3::new(
            rnd() * 0.1 + 0.001,
            rnd() * 0.05 + 0.001,
            rnd() * 0.3 + 0.01,
        ));
        s.opacities.push(rnd() * 0.98 + 0.01);
        for _ in 0..k {
            s.sh.push([rnd() * 2.0 - 1.0, rnd() * 2.0 - 1.0, rnd() * 2.0 - 1.0]);
        }
    }
    s
}

fn decode_set(
    meta: &[u8],
    files: &HashMap<String, Vec<u8>>,
) -> Result<GaussianSplats, SogError> {
    decode_sog(&parse_sog_meta(meta)?, &|n| files.get(n).map(Vec::as_slice))
}

fn assert_close(a: &GaussianSplats, b: &GaussianSplats, version: u32) {
    assert_eq!(a.len(), b.len());
    assert_eq!(a.sh_degree, b.sh_degree);
    let k = a.sh_per_splat();
    for i in 0..a.len() {
        let dp = (a.positions[i] - b.positions[i]).abs().max_element();
        assert!(
            dp < 2e-3,
            "position {i}: {} vs {}",
            a.positions[i],
            b.positions[i]
        );
        let dq = a.rotations[i].dot(b.rotations[i]).abs();
        assert!(
            dq > 0.999,
            "rotation {i}: {} vs {}",
            a.rotations[i],
            b.rotations[i]
        );
        let ds = (a.scales[i] / b.scales[i] - Vec3::ONE).abs().max_element();
        assert!(ds < 0.03, "scale {i}: {} vs {}", a.scales[i], b.scales[i]);
        let tol = if version == 2 { 0.003 } else { 0.02 };
        assert!((a.opacities[i] - b.opacities[i]).abs() < tol, "opacity {i}");
        for j in 0..k {
            for c in 0..3 {
                let d = (a.sh[i * k + j][c] - b.sh[i * k + j][c]).abs();
                assert!(d < 0.01, "sh {i} {j} {c}: {d}");
            }
        }
    }
}

fn zip_of(entries: &[(&str, &[u8])], deflate: bool) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let method = if deflate {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    let options = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, data) in entries {
        w.start_file(*name, options).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn bundle(meta: &[u8], files: &HashMap<String, Vec<u8>>, deflate: bool) -> Vec<u8> {
    let mut entries: Vec<(&str, &[u8])> = vec![("meta.json", meta)];
    let mut names: Vec<&String> = files.keys().collect();
    names.sort();
    for name in names {
        entries.push((name, &files[name]));
    }
    zip_of(&entries, deflate)
}

/// The wave bundle's meta.json and planes.
fn wave_parts() -> (Vec<u8>, HashMap<String, Vec<u8>>) {
    let bytes = std::fs::read(WAVE).unwrap();
    let mut archive = zip::ZipArchive::new(Cursor::new(&bytes[..])).unwrap();
    let mut files = HashMap::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        files.insert(f.name().unwrap().into_owned(), data);
    }
    let meta = files.remove("meta.json").unwrap();
    (meta, files)
}

fn check_sane(s: &GaussianSplats) {
    s.validate().unwrap();
    for i in 0..s.len() {
        assert!((0.0..=1.0).contains(&s.opacities[i]));
        assert!((s.rotations[i].length() - 1.0).abs() < 1e-4);
        assert!(s.scales[i].min_element() > 0.0);
    }
}

#[test]
fn wave_bundle_loads() {
    let bytes = std::fs::read(WAVE).unwrap();
    let start = std::time::Instant::now();
    let s = parse_bundled_sog(&bytes).unwrap();
    eprintln!(
        "wave_0001.sog: {} splats decoded in {:?}",
        s.len(),
        start.elapsed()
    );
    assert_eq!(s.len(), 4225);
    assert_eq!(s.sh_degree, 0);
    check_sane(&s);
    // meta.json's means range (log space) bounds the positions.
    let (meta, _) = wave_parts();
    let meta = parse_sog_meta(&meta).unwrap();
    assert_eq!(meta.version, 2);
    assert_eq!(meta.count, 4225);
    assert!(meta.sh_n.is_none());
    let (lo, hi) = s.bounds().unwrap();
    for a in 0..3 {
        let inv = |v: f64| (v.signum() * (v.abs().exp() - 1.0)) as f32;
        assert!(lo[a] >= inv(meta.means.mins[a]) - 1e-4);
        assert!(hi[a] <= inv(meta.means.maxs[a]) + 1e-4);
    }
}

#[test]
fn round_trips() {
    for (version, degree, n, width) in [
        (2, 3, 300, 20),
        (2, 0, 17, 4),
        (1, 1, 130, 16),
        (1, 2, 5, 8),
    ] {
        let s = sample_splats(n, degree, 7 + n as u64);
        let (meta, files) = encode(&s, width, version);
        let parsed = parse_sog_meta(&meta).unwrap();
        assert_eq!(parsed.version, version);
        assert_eq!(parsed.count, n);
        let mut expected: Vec<String> = files.keys().cloned().collect();
        let mut listed = parsed.files();
        expected.sort();
        listed.sort();
        assert_eq!(listed, expected);
        let decoded = decode_set(&meta, &files).unwrap();
        assert_close(&decoded, &s, version);
        // The same set bundled, stored and deflated.
        for deflate in [false, true] {
            let zipped = bundle(&meta, &files, deflate);
            assert_eq!(parse_bundled_sog(&zipped).unwrap(), decoded);
        }
    }
}

#[test]
fn ranges_select_splats() {
    let s = sample_splats(40, 1, 3);
    let (meta, files) = encode(&s, 8, 2);
    let meta = parse_sog_meta(&meta).unwrap();
    let get = |n: &str| files.get(n).map(Vec::as_slice);
    let all = decode_sog(&meta, &get).unwrap();
    let part = decode_sog_ranges(&meta, &get, &[(30, 40), (2, 5)]).unwrap();
    assert_eq!(part.len(), 13);
    assert_eq!(part.positions[0], all.positions[30]);
    assert_eq!(part.positions[10], all.positions[2]);
    assert_eq!(part.sh_of(12), all.sh_of(4));
    assert!(decode_sog_ranges(&meta, &get, &[(30, 41)]).is_err());
}

mod damaged;
mod writer;
