//! Snapshot parsing: containers, defaults, and typed errors for broken files.

use rmpv::Value;

use super::*;
use crate::testing::{Damage, fuzz_corruptions};
use crate::field::snapshot::FieldBox;
use crate::testing::field::{TestContainer, TestGrid, TestSnapshotSpec, encode_document, remove_at, test_snapshot_value, value_at, write_test_snapshot};

fn spec() -> TestSnapshotSpec {
    TestSnapshotSpec::default()
}

fn parse_doc(doc: &Value) -> Result<FieldSnapshot, RadianceFieldLoadError> {
    parse_snapshot(&encode_document(doc, TestContainer::Msgpack))
}

fn edited(edit: impl FnOnce(&mut Value)) -> Result<FieldSnapshot, RadianceFieldLoadError> {
    let mut doc = test_snapshot_value(&spec());
    edit(&mut doc);
    parse_doc(&doc)
}

/// Sets (or inserts) the value at a dotted path.
fn set(doc: &mut Value, path: &str, value: Value) {
    if let Some(v) = value_at(doc, path) {
        *v = value;
        return;
    }
    let (parent, key) = path.rsplit_once('.').expect("a nested path");
    match value_at(doc, parent) {
        Some(Value::Map(entries)) => entries.push((Value::from(key), value)),
        _ => panic!("{parent} is not a map in the test document"),
    }
}

#[test]
fn parses_every_container() {
    let gz = parse_snapshot(&write_test_snapshot(&spec())).unwrap();
    let zlib = parse_snapshot(&write_test_snapshot(&TestSnapshotSpec { container: TestContainer::Zlib, ..spec() })).unwrap();
    let raw = parse_snapshot(&write_test_snapshot(&TestSnapshotSpec { container: TestContainer::Msgpack, ..spec() })).unwrap();
    assert_eq!(gz.params, zlib.params);
    assert_eq!(gz.params, raw.params);
    assert_eq!(gz.density_grid, raw.density_grid);
    assert_eq!(gz.version, 1);
    assert_eq!(gz.cascades, 1);
    assert_eq!(gz.aabb_scale, 1);
    assert_eq!(gz.params_type, ParamsType::Half);
    assert_eq!(gz.encoding.n_levels, 8);
    assert_eq!(gz.encoding.features_per_level, 4);
    assert_eq!(gz.encoding.per_level_scale, 2.0);
    assert_eq!(gz.density_network.input_width, 32);
    assert_eq!(gz.rgb_network.input_width, 32);
    assert_eq!(gz.rgb_network.padded_output_width(), 16);
    assert_eq!(gz.density_grid.len(), 128 * 128 * 128);
    assert_eq!(gz.dataset.scale, 0.33);
    assert_eq!(gz.dataset.offset, Vec3::splat(0.5));
    assert!(gz.dataset.render_aabb.unwrap().is_empty());
    assert_eq!(gz.render_aabb, Some(FieldBox::centered_cube(0.5)));
}

#[test]
fn old_default_and_cascades() {
    let s = TestSnapshotSpec {
        grid: TestGrid::Levels16x2,
        aabb_scale: 4,
        blob_radius: 0.6,
        ..spec()
    };
    let snap = parse_snapshot(&write_test_snapshot(&s)).unwrap();
    assert_eq!(snap.cascades, 3);
    assert_eq!(snap.encoding.n_levels, 16);
    assert_eq!(snap.encoding.features_per_level, 2);
    assert!((snap.encoding.per_level_scale - (8192.0f32 / 16.0).powf(1.0 / 15.0)).abs() < 1e-5);
    assert_eq!(snap.density_grid.len(), 3 * 128 * 128 * 128);
}

#[test]
fn defaults_when_keys_are_absent() {
    let snap = edited(|doc| {
        for key in ["encoding.n_levels", "encoding.n_features_per_level", "encoding.base_resolution", "encoding.log2_hashmap_size"] {
            assert!(remove_at(doc, key));
        }
    });
    // tiny-cuda-nn's defaults (16 levels × 2 features, table 2^19, base resolution
    // 2^(15/3) = 32 from instant-ngp) imply a different parameter count than the file holds.
    match snap {
        Err(RadianceFieldLoadError::SizeMismatch { field, .. }) => assert_eq!(field, "snapshot.n_params"),
        other => panic!("{other:?}"),
    }
    let mut doc = test_snapshot_value(&spec());
    set(&mut doc, "encoding.per_level_scale", Value::F32(1.5));
    let e = parse_doc(&doc).unwrap_err();
    assert!(matches!(e, RadianceFieldLoadError::SizeMismatch { .. }), "{e}");
}

#[test]
fn bad_containers() {
    assert!(matches!(parse_snapshot(&[]), Err(RadianceFieldLoadError::BadContainer(_))));
    let e = parse_snapshot(b"hello world").unwrap_err();
    assert!(matches!(e, RadianceFieldLoadError::BadContainer(_)), "{e}");
    assert!(e.to_string().contains("68 65"), "{e}");
    // A truncated gzip stream.
    let gz = write_test_snapshot(&spec());
    for cut in [3, 20, gz.len() / 2, gz.len() - 5] {
        let e = parse_snapshot(&gz[..cut]).unwrap_err();
        assert!(matches!(e, RadianceFieldLoadError::BadContainer(_) | RadianceFieldLoadError::Msgpack(_)), "{e}");
    }
    // A corrupt deflate body.
    let mut bad = gz.clone();
    for b in &mut bad[20..60] {
        *b ^= 0x5a;
    }
    assert!(parse_snapshot(&bad).is_err());
}

#[test]
fn oversized_inflation_is_refused() {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(&vec![0u8; 8 << 20]).unwrap();
    let bomb = e.finish().unwrap();
    assert!(bomb.len() * 64 < 8 << 20);
    let err = parse_snapshot(&bomb).unwrap_err();
    assert!(matches!(err, RadianceFieldLoadError::Oversize(_)), "{err}");
}

#[test]
fn malformed_msgpack() {
    let raw = write_test_snapshot(&TestSnapshotSpec { container: TestContainer::Msgpack, ..spec() });
    for cut in [1, 2, 10, 100, 1000, raw.len() / 2, raw.len() - 1] {
        let e = parse_snapshot(&raw[..cut]).unwrap_err();
        assert!(matches!(e, RadianceFieldLoadError::Msgpack(_)), "cut {cut}: {e}");
    }
    // Trailing garbage.
    let mut long = raw.clone();
    long.push(0xc0);
    assert!(matches!(parse_snapshot(&long), Err(RadianceFieldLoadError::Msgpack(_))));
    // Lengths far beyond the data: map32 / bin32 headers with nothing after them.
    for bytes in [vec![0xdf, 0xff, 0xff, 0xff, 0xff], vec![0x81, 0xa1, b'a', 0xc6, 0xff, 0xff, 0xff, 0xff, 0]] {
        assert!(matches!(parse_snapshot(&bytes), Err(RadianceFieldLoadError::Msgpack(_))));
    }
    // Deep nesting fails on the depth limit instead of the stack.
    let mut deep = vec![0x81, 0xa1, b'a'];
    deep.extend(std::iter::repeat_n(0x91, 100_000));
    deep.push(0xc0);
    assert!(matches!(parse_snapshot(&deep), Err(RadianceFieldLoadError::Msgpack(_))));
    // Not a map at the root.
    let e = parse_snapshot(&encode_document(&Value::Array(vec![]), TestContainer::Gzip)).unwrap_err();
    assert!(matches!(e, RadianceFieldLoadError::WrongType { .. }), "{e}");
}

#[test]
fn missing_fields_name_their_path() {
    for path in ["snapshot.density_grid_binary", "snapshot.params_binary", "snapshot.n_params", "snapshot.density_grid_size", "encoding", "rgb_network", "snapshot"] {
        let e = edited(|doc| assert!(remove_at(doc, path))).unwrap_err();
        match &e {
            RadianceFieldLoadError::MissingField(p) => assert_eq!(p, path),
            other => panic!("{path}: {other}"),
        }
        assert!(e.to_string().contains(path), "{e}");
    }
}

#[test]
fn wrong_types_name_their_path() {
    let cases: [(&str, Value, &str); 5] = [
        ("snapshot.density_grid_binary", Value::from("not bytes"), "binary"),
        ("snapshot.params_binary", Value::from(12u32), "binary"),
        ("snapshot.n_params", Value::from("many"), "non-negative integer"),
        ("encoding.n_levels", Value::F32(8.5), "non-negative integer"),
        ("snapshot.nerf.dataset.scale", Value::Array(vec![]), "number"),
    ];
    for (path, value, expected_kind) in cases {
        let e = edited(|doc| set(doc, path, value)).unwrap_err();
        match &e {
            RadianceFieldLoadError::WrongType { path: p, expected, .. } => {
                assert_eq!(p, path);
                assert_eq!(*expected, expected_kind);
            }
            other => panic!("{path}: {other}"),
        }
    }
    let e = edited(|doc| set(doc, "snapshot.up_dir", Value::Array(vec![Value::F32(1.0)]))).unwrap_err();
    assert!(e.to_string().contains("snapshot.up_dir"), "{e}");
}

#[test]
fn unsupported_configs_say_which_field() {
    let e = edited(|doc| set(doc, "encoding.otype", Value::from("Frequency"))).unwrap_err();
    assert!(matches!(e, RadianceFieldLoadError::Unsupported { .. }));
    assert!(e.to_string().contains("encoding.otype = \"Frequency\""), "{e}");
    let cases: [(&str, Value); 9] = [
        ("network.otype", Value::from("CutlassMLP")),
        ("network.n_neurons", Value::from(48u32)),
        ("rgb_network.activation", Value::from("Swish")),
        ("encoding.n_features_per_level", Value::from(3u32)),
        ("snapshot.version", Value::from(0u32)),
        ("snapshot.mode", Value::from("sdf")),
        ("snapshot.density_grid_size", Value::from(64u32)),
        ("snapshot.nerf.dataset.aabb_scale", Value::from(3u32)),
        ("snapshot.params_type", Value::from("double")),
    ];
    for (path, value) in cases {
        let e = edited(|doc| set(doc, path, value)).unwrap_err();
        match &e {
            RadianceFieldLoadError::Unsupported { field, .. } => assert_eq!(field, path, "{e}"),
            other => panic!("{path}: {other}"),
        }
    }
    let e = edited(|doc| set(doc, "dir_encoding.nested", Value::Array(vec![Value::Map(vec![(Value::from("otype"), Value::from("Frequency"))])]))).unwrap_err();
    assert!(e.to_string().contains("dir_encoding.nested[0].otype"), "{e}");
    let e = edited(|doc| set(doc, "encoding.interpolation", Value::from("Smoothstep"))).unwrap_err();
    assert!(e.to_string().contains("encoding.interpolation = \"Smoothstep\""), "{e}");
}

#[test]
fn size_mismatches() {
    let e = edited(|doc| {
        let n = value_at(doc, "snapshot.n_params").unwrap().as_u64().unwrap();
        set(doc, "snapshot.n_params", Value::from(n + 1));
    })
    .unwrap_err();
    assert!(matches!(&e, RadianceFieldLoadError::SizeMismatch { field, .. } if field == "snapshot.n_params"), "{e}");
    let e = edited(|doc| {
        if let Some(Value::Binary(b)) = value_at(doc, "snapshot.params_binary") {
            b.truncate(b.len() - 2);
        }
    })
    .unwrap_err();
    assert!(matches!(&e, RadianceFieldLoadError::SizeMismatch { field, .. } if field == "snapshot.params_binary"), "{e}");
    // aabb_scale 4 needs three cascades; the file has one.
    let e = edited(|doc| {
        set(doc, "snapshot.nerf.dataset.aabb_scale", Value::from(4u32));
    })
    .unwrap_err();
    // (The grid encoding also depends on aabb_scale, but its parameter count does not.)
    assert!(matches!(&e, RadianceFieldLoadError::SizeMismatch { field, expected, .. } if field == "snapshot.density_grid_binary" && *expected == 3 * 128 * 128 * 128 * 2), "{e}");
    let e = edited(|doc| set(doc, "snapshot.density_grid_binary", Value::Binary(vec![]))).unwrap_err();
    assert!(matches!(&e, RadianceFieldLoadError::SizeMismatch { field, .. } if field == "snapshot.density_grid_binary"), "{e}");
}

#[test]
fn float_params_are_accepted() {
    let snap = edited(|doc| {
        let Some(Value::Binary(b)) = value_at(doc, "snapshot.params_binary") else { panic!() };
        let floats: Vec<u8> = b
            .chunks_exact(2)
            .flat_map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32().to_le_bytes())
            .collect();
        *b = floats;
        set(doc, "snapshot.params_type", Value::from("float"));
    })
    .unwrap();
    let reference = parse_snapshot(&write_test_snapshot(&spec())).unwrap();
    assert_eq!(snap.params, reference.params);
    assert_eq!(snap.params_type, ParamsType::Float);
}

/// The size invariants a parsed snapshot promises (what the renderer indexes by).
fn assert_consistent(snap: &FieldSnapshot) {
    let expected = snap.density_network.n_params() + snap.rgb_network.n_params() + snap.encoding.n_params();
    assert_eq!(snap.params.len() as u64, expected, "parameter count");
    let cells = crate::field::occupancy::OCCUPANCY_GRID_CELLS as usize;
    assert_eq!(snap.density_grid.len(), cells * snap.cascades as usize, "density grid size");
    assert!(snap.aabb_scale.is_power_of_two() && snap.aabb_scale <= 128, "aabb_scale {}", snap.aabb_scale);
}

/// Damaged bytes (a changed byte, a truncation) give an error or a snapshot
/// whose sizes are consistent, never a panic.
#[test]
fn random_corruption_never_panics() {
    let raw = write_test_snapshot(&TestSnapshotSpec { container: TestContainer::Msgpack, ..spec() });
    assert_consistent(&parse_snapshot(&raw).unwrap());
    // Damage the header region (the document before the large binary blobs).
    let damage = Damage { max_edits: 2, text: &[0xC0, 0xC2, 0xCC, 0xDC, 0xDE, 0x7F, 0x00], text_region: raw.len().min(3000) };
    let outcome = fuzz_corruptions(&[raw], 300, 12345, &damage, parse_snapshot, assert_consistent);
    assert!(outcome.rejected > 100, "{outcome:?}");
}
