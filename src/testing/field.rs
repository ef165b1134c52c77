//! Test support (not part of the stable API): writes synthetic instant-ngp
//! snapshots — random weights plus a planted density blob, so images are not
//! empty — for the unit tests, the integration tests and the GPU tests.
//!
//! The planted density: level-0 feature 0 of the hash grid is 1 at the
//! vertices inside the blob (a ball in unit-cube coordinates) and 0 elsewhere,
//! feature 1 is 1 everywhere; density-MLP hidden units 0 and 1 copy those two
//! features and output 0 is `14·h0 − 10·h1`, so `sigma = exp(14·f0 − 10)`
//! (≈ 55 inside, ≈ 4.5e-5 outside). Everything else is random, so colours vary.
//! The density grid marks the cells near the blob.

use std::io::Write;

use bevy::math::Vec3;
use rmpv::Value;

use super::random::TestRng;
use crate::field::encoding::{HashGridConfig, morton3d_invert, per_level_scale};
use crate::field::mlp::MlpConfig;
use crate::field::occupancy::{OCCUPANCY_GRID_CELLS, OCCUPANCY_GRID_SIZE};

/// Which encoding defaults to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestGrid {
    /// Today's `base.json`: 8 levels × 4 features, base resolution 16.
    Levels8x4,
    /// The older default: 16 levels × 2 features, base resolution 16.
    Levels16x2,
}

/// How the MessagePack document is framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestContainer {
    /// Plain MessagePack (`.msgpack`).
    Msgpack,
    /// gzip-framed deflate (instant-ngp's `.ingp`).
    Gzip,
    /// zlib-framed deflate (also accepted by instant-ngp).
    Zlib,
}

/// What synthetic snapshot to write.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TestSnapshotSpec {
    /// Encoding defaults.
    pub grid: TestGrid,
    /// Table size (small keeps tests fast; 14 gives dense and hashed levels).
    pub log2_hashmap_size: u32,
    /// 1 (one cascade) or a larger power of two.
    pub aabb_scale: u32,
    /// Random seed.
    pub seed: u64,
    /// Blob centre, unit-cube coordinates.
    pub blob_center: Vec3,
    /// Blob radius, unit-cube lengths.
    pub blob_radius: f32,
    /// Framing.
    pub container: TestContainer,
}

impl Default for TestSnapshotSpec {
    fn default() -> Self {
        Self {
            grid: TestGrid::Levels8x4,
            log2_hashmap_size: 14,
            aabb_scale: 1,
            seed: 1,
            blob_center: Vec3::splat(0.5),
            blob_radius: 0.25,
            container: TestContainer::Gzip,
        }
    }
}

/// The encoding config a spec writes (per_level_scale as instant-ngp derives it).
pub fn test_encoding(spec: &TestSnapshotSpec) -> HashGridConfig {
    let (n_levels, features_per_level) = match spec.grid {
        TestGrid::Levels8x4 => (8, 4),
        TestGrid::Levels16x2 => (16, 2),
    };
    HashGridConfig {
        n_levels,
        features_per_level,
        log2_hashmap_size: spec.log2_hashmap_size,
        base_resolution: 16,
        per_level_scale: per_level_scale(n_levels, 16, spec.aabb_scale),
        grid_type: crate::field::encoding::GridType::Hash,
    }
}

fn map(entries: Vec<(&str, Value)>) -> Value {
    Value::Map(entries.into_iter().map(|(k, v)| (Value::from(k), v)).collect())
}

fn vec3(v: Vec3) -> Value {
    Value::Array(vec![Value::F32(v.x), Value::F32(v.y), Value::F32(v.z)])
}

fn f16_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| half::f16::from_f32(*v).to_le_bytes()).collect()
}

fn mlp_config(n_hidden_layers: u32, input_width: u32, output_width: u32) -> MlpConfig {
    MlpConfig {
        n_neurons: 64,
        n_hidden_layers,
        activation: crate::field::mlp::Activation::ReLU,
        output_activation: crate::field::mlp::Activation::None,
        input_width,
        output_width,
    }
}

/// All parameters of the synthetic field (density MLP, rgb MLP, hash grid), in file order.
pub fn test_params(spec: &TestSnapshotSpec) -> Vec<f32> {
    let mut rng = TestRng::new(spec.seed);
    let encoding = test_encoding(spec);
    let density = mlp_config(1, encoding.padded_output_width(), 16);
    let rgb = mlp_config(2, 32, 3);
    let mut params = Vec::with_capacity((density.n_params() + rgb.n_params() + encoding.n_params()) as usize);

    // Density MLP: layer 0 [64 × in], layer 1 [16 × 64].
    let cols = encoding.padded_output_width() as usize;
    let a = 1.0 / (cols as f32).sqrt();
    for r in 0..64 {
        for c in 0..cols {
            params.push(match (r, c) {
                (0, 0) | (1, 1) => 1.0,
                (0 | 1, _) => 0.0,
                _ => rng.range(-a, a),
            });
        }
    }
    for r in 0..16 {
        for c in 0..64 {
            params.push(match (r, c) {
                (0, 0) => 14.0,
                (0, 1) => -10.0,
                (0, _) => 0.0,
                _ => rng.range(-0.3, 0.3),
            });
        }
    }
    // Colour MLP: [64 × 32], [64 × 64], [16 × 64].
    for (rows, cols, gain) in [(64, 32, 1.5f32), (64, 64, 1.5), (16, 64, 2.0)] {
        let a = gain / (cols as f32).sqrt();
        for _ in 0..rows * cols {
            params.push(rng.range(-a, a));
        }
    }
    // Hash grid.
    let levels = encoding.levels();
    let f = encoding.features_per_level as usize;
    let aabb_half = 0.5 * spec.aabb_scale.min(128) as f32;
    let aabb_min = Vec3::splat(0.5 - aabb_half);
    for (l, level) in levels.iter().enumerate() {
        for entry in 0..level.entries {
            for k in 0..f {
                let v = if l == 0 && k < 2 {
                    if k == 1 {
                        1.0
                    } else {
                        // Level 0 is dense: entry = gx + gy·r + gz·r².
                        let r = level.resolution;
                        let g = Vec3::new((entry % r) as f32, ((entry / r) % r) as f32, (entry / (r * r)) as f32);
                        let x_net = (g - Vec3::splat(0.5)) / level.scale;
                        let x_unit = aabb_min + x_net * (2.0 * aabb_half);
                        if x_unit.distance(spec.blob_center) < spec.blob_radius { 1.0 } else { 0.0 }
                    }
                } else {
                    rng.range(-0.5, 0.5)
                };
                params.push(v);
            }
        }
    }
    params
}

/// The density-grid values (cascade-major, Morton order): 1 near the blob, 0 elsewhere.
pub fn test_density_grid(spec: &TestSnapshotSpec) -> Vec<f32> {
    let cascades = spec.aabb_scale.trailing_zeros() + 1;
    let encoding = test_encoding(spec);
    let spacing = spec.aabb_scale.min(128) as f32 / encoding.levels()[0].scale;
    let mut values = Vec::with_capacity((OCCUPANCY_GRID_CELLS * cascades) as usize);
    for k in 0..cascades {
        let size = 2f32.powi(k as i32) / OCCUPANCY_GRID_SIZE as f32;
        let margin = spec.blob_radius + spacing + size * 3f32.sqrt();
        for i in 0..OCCUPANCY_GRID_CELLS {
            let cell = Vec3::new(morton3d_invert(i) as f32, morton3d_invert(i >> 1) as f32, morton3d_invert(i >> 2) as f32);
            let centre = Vec3::splat(0.5) + ((cell + Vec3::splat(0.5)) * size - Vec3::splat(0.5 * OCCUPANCY_GRID_SIZE as f32 * size));
            values.push(if centre.distance(spec.blob_center) < margin { 1.0 } else { 0.0 });
        }
    }
    values
}

/// The snapshot document a spec describes (modify it to build broken files).
pub fn test_snapshot_value(spec: &TestSnapshotSpec) -> Value {
    let encoding = test_encoding(spec);
    let params = test_params(spec);
    let grid = test_density_grid(spec);
    let half = 0.5 * spec.aabb_scale.min(128) as f32;
    let aabb = map(vec![("max", vec3(Vec3::splat(0.5 + half))), ("min", vec3(Vec3::splat(0.5 - half)))]);
    let identity = Value::Array(
        [Vec3::X, Vec3::Y, Vec3::Z].iter().map(|r| vec3(*r)).collect(),
    );
    let network = |hidden: u32| {
        map(vec![
            ("activation", "ReLU".into()),
            ("n_hidden_layers", Value::from(hidden)),
            ("n_neurons", Value::from(64u32)),
            ("otype", "FullyFusedMLP".into()),
            ("output_activation", "None".into()),
        ])
    };
    let dataset = map(vec![
        ("aabb_scale", Value::from(spec.aabb_scale)),
        ("from_mitsuba", Value::from(false)),
        ("is_hdr", Value::from(false)),
        ("n_extra_learnable_dims", Value::from(0u32)),
        ("n_images", Value::from(0u32)),
        ("offset", vec3(Vec3::splat(0.5))),
        (
            "render_aabb",
            map(vec![("max", vec3(Vec3::splat(f32::NEG_INFINITY))), ("min", vec3(Vec3::splat(f32::INFINITY)))]),
        ),
        ("render_aabb_to_local", identity.clone()),
        ("scale", Value::F32(0.33)),
        ("up", vec3(Vec3::Y)),
        ("xforms", Value::Array(Vec::new())),
    ]);
    map(vec![
        ("dir_encoding", map(vec![
            ("nested", Value::Array(vec![
                map(vec![("degree", Value::from(4u32)), ("n_dims_to_encode", Value::from(3u32)), ("otype", "SphericalHarmonics".into())]),
                map(vec![("otype", "Identity".into())]),
            ])),
            ("otype", "Composite".into()),
        ])),
        ("encoding", map(vec![
            ("base_resolution", Value::from(encoding.base_resolution)),
            ("log2_hashmap_size", Value::from(encoding.log2_hashmap_size)),
            ("n_features_per_level", Value::from(encoding.features_per_level)),
            ("n_levels", Value::from(encoding.n_levels)),
            ("otype", "HashGrid".into()),
        ])),
        ("loss", map(vec![("otype", "Huber".into())])),
        ("network", network(1)),
        ("rgb_network", network(2)),
        ("snapshot", map(vec![
            ("aabb", aabb.clone()),
            ("background_color", Value::Array(vec![Value::F32(1.0); 4])),
            ("density_grid_binary", Value::Binary(f16_bytes(&grid))),
            ("density_grid_size", Value::from(OCCUPANCY_GRID_SIZE)),
            ("loss", Value::F32(0.001)),
            ("mode", "nerf".into()),
            ("n_params", Value::from(params.len() as u64)),
            ("nerf", map(vec![("aabb_scale", Value::from(spec.aabb_scale)), ("dataset", dataset)])),
            ("params_binary", Value::Binary(f16_bytes(&params))),
            ("params_type", "__half".into()),
            ("render_aabb", aabb),
            ("render_aabb_to_local", identity),
            ("training_step", Value::from(1u32)),
            ("up_dir", vec3(Vec3::Y)),
            ("version", Value::from(1u32)),
        ])),
    ])
}

/// Serialises a document and frames it.
pub fn encode_document(value: &Value, container: TestContainer) -> Vec<u8> {
    let mut bytes = Vec::new();
    rmpv::encode::write_value(&mut bytes, value).expect("writing to a Vec cannot fail");
    match container {
        TestContainer::Msgpack => bytes,
        TestContainer::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&bytes).expect("in-memory");
            e.finish().expect("in-memory")
        }
        TestContainer::Zlib => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&bytes).expect("in-memory");
            e.finish().expect("in-memory")
        }
    }
}

/// A synthetic snapshot file's bytes.
pub fn write_test_snapshot(spec: &TestSnapshotSpec) -> Vec<u8> {
    encode_document(&test_snapshot_value(spec), spec.container)
}

/// The synthetic field itself (parsed back from the written snapshot).
pub fn test_field(spec: &TestSnapshotSpec) -> crate::field::RadianceField {
    let snapshot = crate::io::ingp::parse_snapshot(&write_test_snapshot(spec)).expect("the test snapshot parses");
    crate::field::RadianceField::from_snapshot(snapshot, &crate::field::FieldOptions::default())
}

/// The value at a dotted path (`"snapshot.n_params"`) of a document, for editing.
pub fn value_at<'v>(value: &'v mut Value, path: &str) -> Option<&'v mut Value> {
    let mut current = value;
    for key in path.split('.') {
        let Value::Map(entries) = current else {
            return None;
        };
        current = entries.iter_mut().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v)?;
    }
    Some(current)
}

/// Removes the entry at a dotted path; returns whether it existed.
pub fn remove_at(value: &mut Value, path: &str) -> bool {
    let (parent, key) = match path.rsplit_once('.') {
        Some((p, k)) => (value_at(value, p), k),
        None => (Some(value), path),
    };
    let Some(Value::Map(entries)) = parent else {
        return false;
    };
    let before = entries.len();
    entries.retain(|(k, _)| k.as_str() != Some(key));
    entries.len() != before
}
