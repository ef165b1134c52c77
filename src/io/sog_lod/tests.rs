use std::collections::HashMap;

use super::*;
use crate::testing::{Damage, fuzz_corruptions};
use crate::io::sog::parse_sog_meta;
use crate::io::sog::tests::{Planes, encode, sample_splats};

const PLAYBOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/playbot/");

/// Reads the files a level needs from `assets/playbot`.
fn playbot_level(
    tree: &SogLodTree,
    level: u32,
) -> (HashMap<String, SogMeta>, HashMap<String, Vec<u8>>) {
    let (mut metas, mut files) = (HashMap::new(), HashMap::new());
    for path in tree.files_for_level(level) {
        let meta = parse_sog_meta(&std::fs::read(format!("{PLAYBOT}{path}")).unwrap()).unwrap();
        for plane in meta.files() {
            let full = resolve_sog_path(&path, &plane).unwrap();
            files.insert(
                full.clone(),
                std::fs::read(format!("{PLAYBOT}{full}")).unwrap(),
            );
        }
        metas.insert(path, meta);
    }
    (metas, files)
}

fn playbot_tree() -> SogLodTree {
    parse_lod_meta(&std::fs::read(format!("{PLAYBOT}lod-meta.json")).unwrap()).unwrap()
}

#[test]
fn playbot_tree_parses() {
    let tree = playbot_tree();
    assert_eq!(tree.levels, 7);
    assert_eq!(tree.filenames.len(), 7);
    assert_eq!(tree.environment, None);
    assert_eq!(tree.root.children.len(), 2);
    assert!(tree.root.lods.is_empty());
    let counts: Vec<u64> = (0..7).map(|l| tree.level_count(l)).collect();
    assert_eq!(
        counts,
        [500_000, 250_000, 125_000, 31_000, 8_406, 3_000, 1_873]
    );
    assert_eq!(tree.level_count(7), 0);
    assert_eq!(tree.files_for_level(0), ["0_0/meta.json"]);
    assert_eq!(tree.files_for_level(1), ["1_0/meta.json"]);
    assert_eq!(tree.files_for_level(4), ["4_0/meta.json"]);
    assert!(tree.files_for_level(9).is_empty());
    assert_eq!(tree.finest_level_within(u64::MAX), Some(0));
    assert_eq!(tree.finest_level_within(500_000), Some(0));
    assert_eq!(tree.finest_level_within(499_999), Some(1));
    assert_eq!(tree.finest_level_within(100_000), Some(3));
    assert_eq!(tree.finest_level_within(1_873), Some(6));
    assert_eq!(tree.finest_level_within(1_872), None);
    assert_eq!(tree.finest_level_within(0), None);
    let r = tree.root.children[1].range(0).unwrap();
    assert_eq!((r.file, r.offset, r.count), (0, 248_155, 251_845));
    assert!(tree.root.min.y < tree.root.max.y);
}

#[test]
fn playbot_levels_decode() {
    let tree = playbot_tree();
    for level in 0..tree.levels {
        let (metas, files) = playbot_level(&tree, level);
        let start = std::time::Instant::now();
        let s = decode_lod_level(&tree, level, &|p| metas.get(p), &|p| {
            files.get(p).map(Vec::as_slice)
        })
        .unwrap();
        eprintln!(
            "playbot LOD {level}: {} splats decoded in {:?}",
            s.len(),
            start.elapsed()
        );
        assert_eq!(s.len() as u64, tree.level_count(level));
        // The robot stands on a platform at y ≈ 0 and rises towards −y:
        // the 3DGS training frame (y down), as the PLY it was made from.
        let (lo, hi) = s.bounds().unwrap();
        assert!(lo.y < -1.0 && hi.y < 0.06, "{lo} {hi}");
        // Every file's `shN.bands` is 2 (SH degree 2, 8 rest coefficients).
        assert_eq!(s.sh_degree, 2);
        s.validate().unwrap();
        for i in (0..s.len()).step_by(97) {
            assert!((0.0..=1.0).contains(&s.opacities[i]));
            assert!((s.rotations[i].length() - 1.0).abs() < 1e-4);
            // Centres lie inside the tree's bounds (which include extents).
            let p = s.positions[i];
            assert!(p.cmpge(tree.root.min - 1e-3).all() && p.cmple(tree.root.max + 1e-3).all());
        }
    }
}

/// Two small files; level 0 uses both (file 1 first), level 1 is only in
/// one leaf.
fn synthetic() -> (
    String,
    HashMap<String, SogMeta>,
    Planes,
    [GaussianSplats; 2],
) {
    let a = sample_splats(12, 1, 11);
    let b = sample_splats(9, 0, 12);
    let (mut metas, mut files) = (HashMap::new(), HashMap::new());
    for (dir, s) in [("fine", &a), ("coarse/x", &b)] {
        let (meta, planes) = encode(s, 4, 2);
        metas.insert(format!("{dir}/meta.json"), parse_sog_meta(&meta).unwrap());
        for (name, bytes) in planes {
            files.insert(format!("{dir}/{name}"), bytes);
        }
    }
    let json = r#"{"version":1,"lodLevels":2,"filenames":["fine/meta.json","./coarse/x/meta.json"],
        "counts":[21,4],
        "tree":{"bound":{"min":[-9,-9,-9],"max":[9,9,9]},"children":[
          {"bound":{"min":[-9,-9,-9],"max":[0,9,9]},"lods":{"0":{"file":1,"offset":0,"count":9}}},
          {"bound":{"min":[0,-9,-9],"max":[9,9,9]},"children":[
            {"bound":{"min":[0,-9,-9],"max":[9,9,9]},
             "lods":{"1":{"file":0,"offset":8,"count":4},"0":{"file":0,"offset":0,"count":12}}}]}]}}"#;
    let decoded = [
        crate::io::sog::decode_sog(&metas["fine/meta.json"], &|n| {
            files.get(&format!("fine/{n}")).map(Vec::as_slice)
        })
        .unwrap(),
        crate::io::sog::decode_sog(&metas["coarse/x/meta.json"], &|n| {
            files.get(&format!("coarse/x/{n}")).map(Vec::as_slice)
        })
        .unwrap(),
    ];
    (json.to_owned(), metas, files, decoded)
}

#[test]
fn synthetic_levels_decode() {
    let (json, metas, files, [fine, coarse]) = synthetic();
    let tree = parse_lod_meta(json.as_bytes()).unwrap();
    assert_eq!(tree.filenames, ["fine/meta.json", "coarse/x/meta.json"]);
    assert_eq!(
        tree.files_for_level(0),
        ["coarse/x/meta.json", "fine/meta.json"]
    );
    assert_eq!(tree.files_for_level(1), ["fine/meta.json"]);
    let m = |p: &str| metas.get(p);
    let f = |p: &str| files.get(p).map(Vec::as_slice);
    let l0 = decode_lod_level(&tree, 0, &m, &f).unwrap();
    assert_eq!(l0.len(), 21);
    // Mixed SH degrees: the degree-0 file is padded with zeros.
    assert_eq!(l0.sh_degree, 1);
    assert_eq!(l0.positions[..9], coarse.positions[..]);
    assert_eq!(l0.positions[9..], fine.positions[..]);
    assert_eq!(l0.sh_of(0)[0], coarse.sh_of(0)[0]);
    assert_eq!(&l0.sh_of(0)[1..], &[[0.0; 3]; 3]);
    assert_eq!(l0.sh_of(9), fine.sh_of(0));
    let l1 = decode_lod_level(&tree, 1, &m, &f).unwrap();
    assert_eq!(l1.positions[..], fine.positions[8..12]);
    assert_eq!(tree.finest_level_within(20), Some(1));

    let e = decode_lod_level(&tree, 2, &m, &f).unwrap_err();
    assert!(
        matches!(
            e,
            SogError::LevelOutOfRange {
                level: 2,
                levels: 2
            }
        ),
        "{e}"
    );
    let e = decode_lod_level(&tree, 1, &|_| None, &f).unwrap_err();
    assert!(
        matches!(&e, SogError::MissingFile { name } if name == "fine/meta.json"),
        "{e}"
    );
    let e = decode_lod_level(&tree, 1, &m, &|p| {
        if p.ends_with("quats.webp") {
            None
        } else {
            f(p)
        }
    })
    .unwrap_err();
    assert!(
        matches!(&e, SogError::MissingFile { name } if name == "fine/quats.webp"),
        "{e}"
    );
    let e = decode_lod_level(&tree, 1, &m, &|p| {
        if p == "fine/sh0.webp" {
            Some(b"junk")
        } else {
            f(p)
        }
    })
    .unwrap_err();
    assert!(
        matches!(&e, SogError::InFile { file, .. } if file == "fine/meta.json"),
        "{e}"
    );

    // Ranges past the file's end, and overlapping ranges.
    let past = json.replace(r#""offset":8,"count":4"#, r#""offset":10,"count":4"#);
    let past = past.replace(r#""counts":[21,4],"#, "");
    let tree = parse_lod_meta(past.as_bytes()).unwrap();
    let e = decode_lod_level(&tree, 1, &m, &f).unwrap_err();
    assert!(
        matches!(
            e,
            SogError::LodRangeOutOfBounds {
                offset: 10,
                count: 4,
                file_count: 12,
                ..
            }
        ),
        "{e}"
    );
    let overlap = json
        .replace(
            r#""1":{"file":0,"offset":8,"count":4}"#,
            r#""1":{"file":1,"offset":2,"count":4}"#,
        )
        .replace(
            r#""0":{"file":1,"offset":0,"count":9}"#,
            r#""1":{"file":1,"offset":0,"count":3}"#,
        )
        .replace(r#""counts":[21,4],"#, "");
    let tree = parse_lod_meta(overlap.as_bytes()).unwrap();
    let e = decode_lod_level(&tree, 1, &m, &f).unwrap_err();
    assert!(matches!(e, SogError::LodRangeOverlap { at: 2, .. }), "{e}");
}

#[test]
fn bad_lod_meta_is_reported() {
    let (json, ..) = synthetic();
    let err = |s: String| parse_lod_meta(s.as_bytes()).unwrap_err();
    let e = err(json.replace(r#""version":1"#, r#""version":2"#));
    assert!(matches!(e, SogError::UnsupportedVersion { .. }), "{e}");
    let e = err(json.replace(r#""counts":[21,4]"#, r#""counts":[21,5]"#));
    assert!(
        matches!(&e, SogError::LodMetaField { field, .. } if field == "counts[1]"),
        "{e}"
    );
    let e = err(json.replace("fine/meta.json", "../fine/meta.json"));
    assert!(matches!(e, SogError::InvalidPath { .. }), "{e}");
    let e = err(json.replace("fine/meta.json", "/srv/fine/meta.json"));
    assert!(matches!(e, SogError::InvalidPath { .. }), "{e}");
    let e = err(json.replace(r#""1":{"file":0"#, r#""7":{"file":0"#));
    assert!(
        matches!(&e, SogError::LodMetaField { field, .. } if field.ends_with("lods.7")),
        "{e}"
    );
    let e = err(json.replace(r#""0":{"file":1"#, r#""0":{"file":2"#));
    assert!(matches!(e, SogError::LodMetaField { .. }), "{e}");
    let e = err(json.replace(r#""lodLevels":2"#, r#""lodLevels":0"#));
    assert!(matches!(e, SogError::LodMetaField { .. }), "{e}");
    let e = err(json.replace(r#""max":[0,9,9]"#, r#""max":[0,null,9]"#));
    assert!(matches!(e, SogError::LodMetaField { .. }), "{e}");
    let e = err(json.replace(r#""max":[0,9,9]"#, r#""max":[0,1e40,9]"#));
    assert!(matches!(e, SogError::LodMetaField { .. }), "{e}");
    let e = err(json.replace(r#""count":9}"#, r#""count":-9}"#));
    assert!(matches!(e, SogError::LodMetaField { .. }), "{e}");
    let e = err(json.replace(r#""count":9}"#, r#""count":90000000000}"#));
    assert!(matches!(e, SogError::CountTooLarge { .. }), "{e}");
    let e = err(json.replace(
        r#""lods":{"0":{"file":1,"offset":0,"count":9}}"#,
        r#""lods":{"0":{"file":1,"offset":0,"count":9}},"children":[{"bound":{"min":[0,0,0],"max":[0,0,0]}}]"#,
    ));
    assert!(matches!(e, SogError::LodMetaField { .. }), "{e}");
    assert!(matches!(err("{".into()), SogError::Json { .. }));
    // Deep nesting hits the JSON parser's recursion limit, not the stack.
    let deep = format!("{}{}", r#"{"children":["#.repeat(5000), "]}".repeat(5000));
    assert!(parse_lod_meta(deep.as_bytes()).is_err());
}

/// What a parsed tree promises: a level count in range, safe relative paths,
/// file indices inside `filenames`, finite bounds.
fn assert_valid_tree(tree: &SogLodTree) {
    assert!((1..=MAX_LOD_LEVELS).contains(&tree.levels), "{} levels", tree.levels);
    for name in tree.filenames.iter().chain(&tree.environment) {
        assert!(!name.starts_with('/') && !name.split('/').any(|c| c == ".."), "unsafe path {name}");
    }
    for level in 0..tree.levels.min(8) {
        for range in tree.ranges(level) {
            assert!((range.file as usize) < tree.filenames.len(), "file index {}", range.file);
        }
        for file in tree.files_for_level(level) {
            assert!(tree.filenames.contains(&file), "{file}");
        }
    }
    tree.root.visit(&mut |node| assert!(node.min.is_finite() && node.max.is_finite()));
    if let Some(level) = tree.finest_level_within(100_000) {
        assert!(tree.level_count(level) <= 100_000);
    }
}

/// Damaged `lod-meta.json` text gives an error or a valid tree, never a panic.
#[test]
fn corrupted_lod_meta_never_panics() {
    let text = std::fs::read(format!("{PLAYBOT}lod-meta.json")).unwrap();
    let damage = Damage { text: b"0123456789-.e,]}\"[{", ..Damage::default() };
    let outcome = fuzz_corruptions(&[text], 300, 0x2545, &damage, parse_lod_meta, assert_valid_tree);
    assert!(outcome.rejected > 50, "{outcome:?}");
}
