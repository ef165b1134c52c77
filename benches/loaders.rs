//! Loader throughput (MB/s of file bytes parsed into `GaussianSplats`).
//!
//! `cargo bench --bench loaders`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

use bevy::math::{Quat, Vec3};
use bevy_radiance::io::gaussian_ply::write_gaussian_ply;
use bevy_radiance::io::parse_splat_ply;
use bevy_radiance::io::ply::PlyFormat;
use bevy_radiance::splat::asset::{GaussianSplats, sh_coefficient_count};

fn synthetic(n: usize, degree: u8) -> GaussianSplats {
    let k = sh_coefficient_count(degree);
    let f = |i: usize, s: f32| ((i as f32 * s).sin() * 0.5) as f32;
    GaussianSplats {
        positions: (0..n).map(|i| Vec3::new(f(i, 0.1), f(i, 0.2), f(i, 0.3))).collect(),
        rotations: (0..n).map(|i| Quat::from_rotation_y(i as f32)).collect(),
        scales: (0..n).map(|i| Vec3::splat(0.01 + f(i, 0.7).abs() * 0.1)).collect(),
        opacities: (0..n).map(|i| 0.2 + f(i, 0.4).abs()).collect(),
        sh_degree: degree,
        sh: (0..n * k).map(|i| [f(i, 0.11), f(i, 0.13), f(i, 0.17)]).collect(),
    }
}

fn loaders(c: &mut Criterion) {
    let mut group = c.benchmark_group("load");
    group.sample_size(20);
    let root = env!("CARGO_MANIFEST_DIR");
    let inputs = [
        ("compressed_ply_biker_152k", std::fs::read(format!("{root}/assets/biker.compressed.ply")).expect("shipped asset")),
        ("training_ply_fruit_4.7k_sh3", std::fs::read(format!("{root}/tests/data/fruit_drops_minimal.ply")).expect("test data")),
        ("training_ply_binary_200k_sh3", write_gaussian_ply(&synthetic(200_000, 3), PlyFormat::BinaryLittleEndian)),
        ("training_ply_ascii_20k_sh3", write_gaussian_ply(&synthetic(20_000, 3), PlyFormat::Ascii)),
    ];
    for (name, bytes) in &inputs {
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(*name, |b| b.iter(|| parse_splat_ply(black_box(bytes)).expect("valid file")));
    }
    group.finish();
}

criterion_group!(benches, loaders);
criterion_main!(benches);
