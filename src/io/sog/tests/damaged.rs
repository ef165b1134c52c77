//! Broken paths, metadata, planes and bundles give typed errors; random
//! damage gives an error or a valid scene.

use super::*;

#[test]
fn paths_are_checked() {
    assert_eq!(
        normalize_relative_path("./a//b\\c.webp").unwrap(),
        "a/b/c.webp"
    );
    for bad in [
        "../x.webp",
        "a/../../x",
        "/abs.webp",
        "\\x",
        "C:/x",
        "http://h/x",
        "",
        "./",
    ] {
        assert!(
            matches!(
                normalize_relative_path(bad),
                Err(SogError::InvalidPath { .. })
            ),
            "{bad}"
        );
    }
    assert_eq!(
        resolve_sog_path("0_0/meta.json", "means_l.webp").unwrap(),
        "0_0/means_l.webp"
    );
    assert_eq!(
        resolve_sog_path("meta.json", "x/y.webp").unwrap(),
        "x/y.webp"
    );
    assert!(resolve_sog_path("0_0/meta.json", "../1_0/x.webp").is_err());
}

/// Edits the meta JSON of a small valid set.
fn edited(f: impl FnOnce(&mut Value)) -> Vec<u8> {
    let (meta, _) = encode(&sample_splats(10, 1, 5), 4, 2);
    let mut v: Value = serde_json::from_slice(&meta).unwrap();
    f(&mut v);
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn bad_meta_is_reported() {
    let err = |json: &[u8]| parse_sog_meta(json).unwrap_err();
    assert!(matches!(err(b"{\"version\": 2,"), SogError::Json { .. }));
    assert!(matches!(err(b"[1, 2]"), SogError::MetaField { .. }));
    let e = err(&edited(|v| v["version"] = 3.into()));
    assert!(matches!(e, SogError::UnsupportedVersion { .. }), "{e}");
    let e = err(&edited(|v| v["count"] = 1_000_000_000_000u64.into()));
    assert!(matches!(e, SogError::CountTooLarge { .. }), "{e}");
    let e = err(&edited(|v| v["count"] = (-1).into()));
    assert!(matches!(e, SogError::MetaField { .. }), "{e}");
    // NaN is written as `null` by JSON.stringify, as `NaN` by some tools.
    let e = err(&edited(|v| v["means"]["mins"][1] = Value::Null));
    assert!(
        matches!(&e, SogError::MetaField { field, .. } if field == "means.mins[1]"),
        "{e}"
    );
    let nan = String::from_utf8(edited(|_| {})).unwrap();
    let nan = nan.replacen("\"mins\":[", "\"mins\":[NaN,", 1);
    assert!(matches!(err(nan.as_bytes()), SogError::Json { .. }));
    let e = err(&edited(|v| v["scales"]["codebook"][3] = 1e39.into()));
    assert!(matches!(e, SogError::MetaField { .. }), "{e}");
    let e = err(&edited(|v| v["sh0"]["codebook"] = serde_json::json!([])));
    assert!(matches!(e, SogError::MetaField { .. }), "{e}");
    let e = err(&edited(|v| v["shN"]["bands"] = 4.into()));
    assert!(matches!(e, SogError::MetaField { .. }), "{e}");
    let e = err(&edited(|v| {
        v["means"]["files"] = serde_json::json!(["a.webp"])
    }));
    assert!(matches!(e, SogError::MetaField { .. }), "{e}");
    let e = err(&edited(|v| v["quats"]["files"][0] = "../quats.webp".into()));
    assert!(matches!(e, SogError::InvalidPath { .. }), "{e}");
    let e = err(&edited(|v| {
        v["quats"]["files"][0] = "/tmp/quats.webp".into()
    }));
    assert!(matches!(e, SogError::InvalidPath { .. }), "{e}");
    // A null first codebook entry (old tools) is extrapolated.
    let meta = parse_sog_meta(&edited(|v| v["sh0"]["codebook"][0] = Value::Null)).unwrap();
    let SogQuantization::Codebook(cb) = meta.sh0 else {
        panic!()
    };
    assert!(cb[0].is_finite() && cb[0] <= cb[1]);
}

#[test]
fn bad_planes_are_reported() {
    let s = sample_splats(10, 1, 5);
    let (meta, files) = encode(&s, 4, 2);
    let try_with = |f: &dyn Fn(&mut Planes), meta: &[u8]| {
        let mut files = files.clone();
        f(&mut files);
        decode_set(meta, &files).unwrap_err()
    };
    // Missing plane.
    let e = try_with(&|f| drop(f.remove("scales.webp")), &meta);
    assert!(
        matches!(&e, SogError::MissingFile { name } if name == "scales.webp"),
        "{e}"
    );
    // Not a WebP.
    let e = try_with(
        &|f| drop(f.insert("quats.webp".into(), b"RIFF1234WEBPnope".to_vec())),
        &meta,
    );
    assert!(matches!(e, SogError::Webp { .. }), "{e}");
    // A plane of the wrong size.
    let e = try_with(
        &|f| drop(f.insert("sh0.webp".into(), webp(&[0; 4 * 5 * 3], 5, 3))),
        &meta,
    );
    assert!(
        matches!(&e, SogError::PlaneSizeMismatch { file, .. } if file == "sh0.webp"),
        "{e}"
    );
    // All planes too small for the count.
    let bigger = edited(|v| v["count"] = 13.into());
    let e = try_with(&|_| {}, &bigger);
    assert!(matches!(e, SogError::PlaneTooSmall { .. }), "{e}");
    // Far more pixels than the count needs.
    let huge = webp(&vec![0; 2048 * 1024 * 4], 2048, 1024);
    let e = try_with(
        &|f| {
            for name in [
                "means_l.webp",
                "means_u.webp",
                "quats.webp",
                "scales.webp",
                "sh0.webp",
                "shN_labels.webp",
            ] {
                f.insert(name.into(), huge.clone());
            }
        },
        &meta,
    );
    assert!(matches!(e, SogError::PlaneTooLarge { .. }), "{e}");
    // SH palette index out of range: label 700 with 10 centroids.
    let mut labels = vec![0u8; 4 * 4 * 3];
    labels[4 * 7] = (700 & 255) as u8;
    labels[4 * 7 + 1] = (700 >> 8) as u8;
    let e = try_with(
        &|f| drop(f.insert("shN_labels.webp".into(), webp(&labels, 4, 3))),
        &meta,
    );
    assert_eq!(
        e.to_string(),
        "SH palette index 700 out of range (10 centroids), at splat 7"
    );
    // Centroids plane too narrow for its bands.
    let e = try_with(
        &|f| drop(f.insert("shN_centroids.webp".into(), webp(&[0; 4 * 64], 64, 1))),
        &meta,
    );
    assert!(matches!(e, SogError::CentroidsSize { .. }), "{e}");
    // Bad rotation tag.
    let mut quats = vec![255u8; 4 * 4 * 3];
    quats[4 * 2 + 3] = 17;
    let e = try_with(
        &|f| drop(f.insert("quats.webp".into(), webp(&quats, 4, 3))),
        &meta,
    );
    assert!(matches!(e, SogError::QuatTag { index: 2, tag: 17 }), "{e}");
    // Codebook indices past a short codebook.
    let short = edited(|v| v["scales"]["codebook"] = serde_json::json!([-3.0, -2.0]));
    let e = try_with(&|_| {}, &short);
    assert!(
        matches!(
            e,
            SogError::CodebookIndex {
                attribute: "scales",
                len: 2,
                ..
            }
        ),
        "{e}"
    );
    // Scales that overflow after `exp`.
    let inf = edited(|v| v["scales"]["codebook"] = serde_json::json!(vec![200.0; 256]));
    let e = try_with(&|_| {}, &inf);
    assert!(matches!(e, SogError::InvalidData(_)), "{e}");
}

#[test]
fn bad_bundles_are_reported() {
    let bytes = std::fs::read(WAVE).unwrap();
    // Truncated.
    for len in [0, 10, bytes.len() / 2, bytes.len() - 10] {
        let e = parse_bundled_sog(&bytes[..len]).unwrap_err();
        assert!(
            matches!(e, SogError::Zip(_) | SogError::BadEntry { .. }),
            "{len}: {e}"
        );
    }
    // Missing entry.
    let (meta, mut files) = wave_parts();
    files.remove("sh0.webp");
    let e = parse_bundled_sog(&bundle(&meta, &files, true)).unwrap_err();
    assert!(
        matches!(&e, SogError::MissingEntry { name } if name == "sh0.webp"),
        "{e}"
    );
    let e = parse_bundled_sog(&zip_of(&[("x.json", b"{}")], false)).unwrap_err();
    assert!(
        matches!(&e, SogError::MissingEntry { name } if name == "meta.json"),
        "{e}"
    );
    // A damaged entry (CRC mismatch).
    let (meta, files) = wave_parts();
    let mut zipped = bundle(&meta, &files, false);
    let at = zipped.windows(4).position(|w| w == b"VP8L").unwrap() + 40;
    zipped[at] ^= 0x55;
    let e = parse_bundled_sog(&zipped).unwrap_err();
    assert!(matches!(e, SogError::BadEntry { .. }), "{e}");
    // An entry declaring an absurd uncompressed size (central directory).
    let mut zipped = bundle(&meta, &files, true);
    let cd = zipped
        .windows(4)
        .rposition(|w| w == [0x50, 0x4b, 0x01, 0x02])
        .unwrap();
    zipped[cd + 24..cd + 28].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let e = parse_bundled_sog(&zipped).unwrap_err();
    assert!(
        matches!(&e, SogError::EntryTooLarge { name, .. } if name == "sh0.webp"),
        "{e}"
    );
    // Deflated bundles decode like stored ones.
    assert_eq!(
        parse_bundled_sog(&bundle(&meta, &files, true)).unwrap(),
        parse_bundled_sog(&bytes).unwrap()
    );
}

use crate::testing::{Damage, TestRng, corrupt};

const BINARY: Damage<'static> = Damage { max_edits: 3, text: &[], text_region: 0 };
const JSON: Damage<'static> = Damage { max_edits: 3, text: b"0123456789-.e,]\"n", text_region: usize::MAX };

/// Random damage to the bundle, its meta.json and its planes gives an
/// error or a valid scene, never a panic.
#[test]
fn corruptions_never_panic() {
    let bytes = std::fs::read(WAVE).unwrap();
    let mut rng = TestRng::new(0x9e37_79b9_7f4a_7c15);
    for _ in 0..300 {
        let mut b = bytes.clone();
        corrupt(&mut rng, &mut b, &BINARY);
        if let Ok(s) = parse_bundled_sog(&b) {
            s.validate().unwrap();
        }
    }
    let (meta, files) = wave_parts();
    let mut names: Vec<String> = files.keys().cloned().collect();
    names.sort();
    let mut errors = 0;
    for round in 0..400 {
        let mut meta = meta.clone();
        let mut files = files.clone();
        if round % 2 == 0 {
            corrupt(&mut rng, &mut meta, &JSON);
        } else {
            let name = &names[rng.below(names.len())];
            let plane = files.get_mut(name).unwrap();
            // Mostly damage the image data, sometimes the header.
            corrupt(&mut rng, plane, &BINARY);
        }
        match decode_set(&meta, &files) {
            Ok(s) => s.validate().unwrap(),
            Err(_) => errors += 1,
        }
    }
    assert!(errors > 50, "only {errors} corruptions were detected");
}
