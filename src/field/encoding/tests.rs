//! Hash-grid and SH tests against hand-computed values.

use super::*;

fn base_8x4(log2: u32) -> HashGridConfig {
    HashGridConfig {
        n_levels: 8,
        features_per_level: 4,
        log2_hashmap_size: log2,
        base_resolution: 16,
        per_level_scale: per_level_scale(8, 16, 1),
        grid_type: GridType::Hash,
    }
}

#[test]
fn per_level_scale_defaults() {
    assert_eq!(per_level_scale(8, 16, 1), 2.0);
    assert!((per_level_scale(16, 16, 1) - 1.381_913).abs() < 1e-6);
    // aabb_scale 4: the finest level reaches 8192 vertices.
    assert!((per_level_scale(8, 16, 4) - 512f32.powf(1.0 / 7.0)).abs() < 1e-5);
}

#[test]
fn level_table_8x4_log2_19() {
    let levels = base_8x4(19).levels();
    let scales: Vec<f32> = levels.iter().map(|l| l.scale).collect();
    assert_eq!(scales, [15.0, 31.0, 63.0, 127.0, 255.0, 511.0, 1023.0, 2047.0]);
    let res: Vec<u32> = levels.iter().map(|l| l.resolution).collect();
    assert_eq!(res, [16, 32, 64, 128, 256, 512, 1024, 2048]);
    let entries: Vec<u32> = levels.iter().map(|l| l.entries).collect();
    assert_eq!(entries, [4096, 32768, 262144, 524288, 524288, 524288, 524288, 524288]);
    let offsets: Vec<u32> = levels.iter().map(|l| l.offset).collect();
    assert_eq!(offsets, [0, 4096, 36864, 299008, 823296, 1347584, 1871872, 2396160]);
    let dense: Vec<bool> = levels.iter().map(|l| l.dense).collect();
    assert_eq!(dense, [true, true, true, false, false, false, false, false]);
    // The lego snapshot's parameter count: MLPs 10240 + grid.
    assert_eq!(base_8x4(19).n_params() + 10240, 11_692_032);
}

#[test]
fn level_table_8x4_log2_15() {
    let levels = base_8x4(15).levels();
    let entries: Vec<u32> = levels.iter().map(|l| l.entries).collect();
    assert_eq!(entries, [4096, 32768, 32768, 32768, 32768, 32768, 32768, 32768]);
    let offsets: Vec<u32> = levels.iter().map(|l| l.offset).collect();
    assert_eq!(offsets, [0, 4096, 36864, 69632, 102400, 135168, 167936, 200704]);
    // 32³ = 2^15 still fits densely; 64³ does not.
    let dense: Vec<bool> = levels.iter().map(|l| l.dense).collect();
    assert_eq!(dense, [true, true, false, false, false, false, false, false]);
    assert_eq!(base_8x4(15).n_params(), 233_472 * 4);
}

#[test]
fn level_table_16x2() {
    let config = HashGridConfig {
        n_levels: 16,
        features_per_level: 2,
        log2_hashmap_size: 19,
        base_resolution: 16,
        per_level_scale: per_level_scale(16, 16, 1),
        grid_type: GridType::Hash,
    };
    let levels = config.levels();
    let b = config.per_level_scale.log2();
    for (l, level) in levels.iter().enumerate() {
        let scale = (l as f32 * b).exp2() * 16.0 - 1.0;
        assert_eq!(level.scale, scale);
        assert_eq!(level.resolution, scale.ceil() as u32 + 1);
    }
    let res: Vec<u32> = levels.iter().take(6).map(|l| l.resolution).collect();
    assert_eq!(res, [16, 23, 31, 43, 59, 81]);
    // Dense while r³ ≤ 2^19 (r ≤ 80): levels 0..=4; the table caps at 2^19.
    let dense: Vec<bool> = levels.iter().map(|l| l.dense).collect();
    assert_eq!(dense.iter().filter(|d| **d).count(), 5);
    assert!(dense[..5].iter().all(|d| *d));
    assert_eq!(levels[1].entries, 12168); // next_multiple(23³ = 12167, 8)
    assert_eq!(levels[5].entries, 524288);
    assert_eq!(levels[1].offset, 4096);
    assert_eq!(config.output_width(), 32);
    assert_eq!(config.padded_output_width(), 32);
}

#[test]
fn dense_and_hashed_indices() {
    let levels = base_8x4(19).levels();
    // Dense level 0 (r = 16, T = 4096): x + y·16 + z·256.
    assert_eq!(grid_index(&levels[0], [1, 2, 3]), 801);
    // The far corner wraps (tiny-cuda-nn's documented wrap-around).
    assert_eq!(grid_index(&levels[0], [16, 15, 15]), 0);
    // Hashed level 3 (T = 2^19): 1·1 ⊕ 2·2654435761 ⊕ 3·805459861 = 2892625372.
    assert_eq!(coherent_prime_hash([1, 2, 3]), 2_892_625_372);
    assert_eq!(grid_index(&levels[3], [1, 2, 3]), 2_892_625_372 % 524_288);
    assert_eq!(grid_index(&levels[3], [100, 200, 300]), 3_655_970_992 % 524_288);
    let small = base_8x4(15).levels();
    assert_eq!(grid_index(&small[2], [1, 2, 3]), 2_892_625_372 % 32_768);
}

#[test]
fn trilinear_weights_sum_to_one() {
    for f in [Vec3::ZERO, Vec3::splat(0.5), Vec3::new(0.1, 0.7, 0.93), Vec3::new(0.999, 0.001, 0.5)] {
        let sum: f32 = (0..8).map(|c| corner_weight(f, c)).sum();
        assert!((sum - 1.0).abs() < 1e-6, "{f}: {sum}");
    }
    assert_eq!(corner_weight(Vec3::new(0.25, 0.5, 0.75), 0b101), 0.25 * 0.5 * 0.75);
}

#[test]
fn encoding_interpolates_level_major() {
    // One level, 16³ dense, 2 features: feature k at vertex g = g.x + 10·k.
    let config = HashGridConfig {
        n_levels: 1,
        features_per_level: 2,
        log2_hashmap_size: 19,
        base_resolution: 16,
        per_level_scale: 2.0,
        grid_type: GridType::Hash,
    };
    let levels = config.levels();
    let mut params = vec![0.0; levels[0].entries as usize * 2];
    for e in 0..levels[0].entries as usize {
        params[e * 2] = (e % 16) as f32;
        params[e * 2 + 1] = (e % 16) as f32 + 10.0;
    }
    let grid = HashGrid { config, levels, params };
    // x = 0.3 → pos = 0.3·15 + 0.5 = 5.0 → exactly vertex 5 along x.
    let out = grid.encode(Vec3::new(0.3, 0.5, 0.5));
    assert_eq!(out.len(), 16);
    assert!((out[0] - 5.0).abs() < 1e-5 && (out[1] - 15.0).abs() < 1e-5, "{out:?}");
    assert!(out[2..].iter().all(|v| *v == 0.0));
    // Half-way between vertices 5 and 6.
    let out = grid.encode(Vec3::new(0.3 + 0.5 / 15.0, 0.5, 0.5));
    assert!((out[0] - 5.5).abs() < 1e-4, "{out:?}");
}

fn sh_reference(d: Vec3) -> [f64; 16] {
    let (x, y, z) = (d.x as f64, d.y as f64, d.z as f64);
    let sp = std::f64::consts::PI.sqrt();
    let s = |v: f64| v.sqrt();
    [
        1.0 / (2.0 * sp),
        -s(3.0) * y / (2.0 * sp),
        s(3.0) * z / (2.0 * sp),
        -s(3.0) * x / (2.0 * sp),
        s(15.0) * x * y / (2.0 * sp),
        -s(15.0) * y * z / (2.0 * sp),
        s(5.0) * (3.0 * z * z - 1.0) / (4.0 * sp),
        -s(15.0) * x * z / (2.0 * sp),
        s(15.0) * (x * x - y * y) / (4.0 * sp),
        s(70.0) * y * (-3.0 * x * x + y * y) / (8.0 * sp),
        s(105.0) * x * y * z / (2.0 * sp),
        s(42.0) * y * (1.0 - 5.0 * z * z) / (8.0 * sp),
        s(7.0) * z * (5.0 * z * z - 3.0) / (4.0 * sp),
        s(42.0) * x * (1.0 - 5.0 * z * z) / (8.0 * sp),
        s(105.0) * z * (x * x - y * y) / (4.0 * sp),
        s(70.0) * x * (-x * x + 3.0 * y * y) / (8.0 * sp),
    ]
}

#[test]
fn sh4_basis_values() {
    // Hand-computed: +z.
    let z = sh4_encode(Vec3::Z);
    let expected_z = [0.282_094_8, 0.0, 0.488_602_5, 0.0, 0.0, 0.0, 0.630_783_1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.746_352_7, 0.0, 0.0, 0.0];
    for (a, b) in z.iter().zip(expected_z) {
        assert!((a - b).abs() < 1e-6, "{z:?}");
    }
    // +x.
    let x = sh4_encode(Vec3::X);
    let expected_x = [0.282_094_8, 0.0, 0.0, -0.488_602_5, 0.0, 0.0, -0.315_391_6, 0.0, 0.546_274_2, 0.0, 0.0, 0.0, 0.0, 0.457_045_8, 0.0, -0.590_043_6];
    for (a, b) in x.iter().zip(expected_x) {
        assert!((a - b).abs() < 1e-6, "{x:?}");
    }
    // Arbitrary directions against the closed forms.
    for d in [Vec3::new(1.0, 1.0, 1.0), Vec3::new(-0.3, 0.8, -0.2), Vec3::new(0.1, -0.9, 0.4)] {
        let d = d.normalize();
        let got = sh4_encode(d);
        for (i, (a, b)) in got.iter().zip(sh_reference(d)).enumerate() {
            assert!((*a as f64 - b).abs() < 2e-6, "coefficient {i} of {d}: {a} vs {b}");
        }
    }
}

#[test]
fn morton_order() {
    assert_eq!(morton3d(1, 0, 0), 1);
    assert_eq!(morton3d(0, 1, 0), 2);
    assert_eq!(morton3d(0, 0, 1), 4);
    assert_eq!(morton3d(1, 1, 1), 7);
    assert_eq!(morton3d(2, 0, 0), 8);
    // x = 011, y = 101, z = 110 interleaved (z y x per bit, high to low).
    assert_eq!(morton3d(3, 5, 6), 0b110_101_011);
    assert_eq!(morton3d(127, 127, 127), 128 * 128 * 128 - 1);
    for (x, y, z) in [(0, 0, 0), (5, 77, 127), (127, 3, 64), (1000, 1, 513)] {
        let m = morton3d(x, y, z);
        assert_eq!((morton3d_invert(m), morton3d_invert(m >> 1), morton3d_invert(m >> 2)), (x, y, z));
    }
}
