//! Loader throughput: every splat format, parsed from real files (plus
//! synthetic training PLYs) into `GaussianSplats`. Each benchmark reports both
//! bytes/s (of file bytes) and elements/s (splats/s). The `write` group times
//! the encoders of the formats that need real work (SOG's quantisers and WebP
//! planes, SPZ's zstd streams) on the real captures, in memory.
//!
//! `cargo bench --bench loaders` (a few minutes; `cargo bench --bench loaders -- spz`
//! runs the benchmarks whose name contains `spz`).
//!
//! All inputs are read into memory before timing, except the streamed SOG
//! level (`sog_lod0_..._from_disk`): it goes through
//! `splat::loader::load_splat_file`, which reads `lod-meta.json`, the level's
//! `meta.json` and its WebP planes from disk on each iteration (from the OS
//! page cache once warm), so that benchmark includes the file reads. SOG and
//! SPZ v4 decode their planes / streams on several threads.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bevy::math::{Quat, Vec3};
use bevy_radiance::io::dot_splat::{parse_dot_splat, write_dot_splat};
use bevy_radiance::io::gaussian_ply::write_gaussian_ply;
use bevy_radiance::io::gltf_splats::{parse_gltf_splats, write_glb_splats};
use bevy_radiance::io::parse_splat_ply;
use bevy_radiance::io::ply::PlyFormat;
use bevy_radiance::io::sog::parse_bundled_sog;
use bevy_radiance::io::spz::parse_spz;
use bevy_radiance::splat::asset::{AxisConvention, GaussianSplats, sh_coefficient_count};
use bevy_radiance::io::{SplatLoaderSettings, encode_splat_file, load_splat_file};

fn synthetic(n: usize, degree: u8) -> GaussianSplats {
    let k = sh_coefficient_count(degree);
    let f = |i: usize, s: f32| (i as f32 * s).sin() * 0.5;
    GaussianSplats {
        positions: (0..n)
            .map(|i| Vec3::new(f(i, 0.1), f(i, 0.2), f(i, 0.3)))
            .collect(),
        rotations: (0..n).map(|i| Quat::from_rotation_y(i as f32)).collect(),
        scales: (0..n)
            .map(|i| Vec3::splat(0.01 + f(i, 0.7).abs() * 0.1))
            .collect(),
        opacities: (0..n).map(|i| 0.2 + f(i, 0.4).abs()).collect(),
        sh_degree: degree,
        sh: (0..n * k)
            .map(|i| [f(i, 0.11), f(i, 0.13), f(i, 0.17)])
            .collect(),
        motion: Default::default(),
    }
}

fn read(relative: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One benchmark: a loader run on one input, returning the number of splats.
struct Case {
    name: &'static str,
    /// Bytes parsed per iteration (for the disk-read case: all files read).
    bytes: u64,
    /// Samples (criterion's minimum is 10); fewer for the slow inputs.
    samples: usize,
    load: Box<dyn Fn() -> usize>,
}

impl Case {
    /// A parser over bytes held in memory.
    fn in_memory(
        name: &'static str,
        samples: usize,
        bytes: Vec<u8>,
        parse: impl Fn(&[u8]) -> usize + 'static,
    ) -> Self {
        Self {
            name,
            bytes: bytes.len() as u64,
            samples,
            load: Box::new(move || parse(black_box(&bytes))),
        }
    }
}

/// Sum of the sizes of the files a streamed SOG level reads: `lod-meta.json`
/// plus everything in the level's folder (`meta.json` and its WebP planes).
fn lod_level_bytes(lod_meta: &Path, level_dir: &str) -> u64 {
    let folder = lod_meta.parent().expect("a folder").join(level_dir);
    let planes: u64 = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
        .map(|entry| {
            entry
                .expect("readable folder")
                .metadata()
                .expect("metadata")
                .len()
        })
        .sum();
    planes + std::fs::metadata(lod_meta).expect("lod-meta.json").len()
}

fn cases() -> Vec<Case> {
    let biker_compressed = read("assets/biker.compressed.ply");
    let biker = parse_splat_ply(&biker_compressed).expect("shipped asset");
    let lod_meta: PathBuf =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/playbot/lod-meta.json");
    let lod_bytes = lod_level_bytes(&lod_meta, "0_0");
    let lod_settings = SplatLoaderSettings {
        axes: AxisConvention::AsIs,
        ..Default::default()
    };
    vec![
        Case::in_memory("compressed_ply_biker_152k", 20, biker_compressed, |b| {
            parse_splat_ply(b).expect("valid file").len()
        }),
        Case::in_memory(
            "training_ply_fruit_4.7k_sh3",
            20,
            read("tests/data/fruit_drops_minimal.ply"),
            |b| parse_splat_ply(b).expect("valid file").len(),
        ),
        Case::in_memory(
            "training_ply_binary_200k_sh3",
            10,
            write_gaussian_ply(&synthetic(200_000, 3), PlyFormat::BinaryLittleEndian),
            |b| parse_splat_ply(b).expect("valid file").len(),
        ),
        Case::in_memory(
            "training_ply_ascii_20k_sh3",
            10,
            write_gaussian_ply(&synthetic(20_000, 3), PlyFormat::Ascii),
            |b| parse_splat_ply(b).expect("valid file").len(),
        ),
        Case::in_memory("spz_v4_biker_152k", 20, read("tests/data/biker.spz"), |b| {
            parse_spz(b).expect("valid file").splats.len()
        }),
        Case::in_memory("dot_splat_biker_152k", 20, write_dot_splat(&biker), |b| {
            parse_dot_splat(b).expect("valid file").len()
        }),
        Case::in_memory("glb_biker_152k", 20, write_glb_splats(&biker), |b| {
            parse_gltf_splats(b, &|_| None).expect("valid file").len()
        }),
        Case::in_memory(
            "sog_bundled_wave_4.2k",
            20,
            read("assets/wave/wave_0001.sog"),
            |b| parse_bundled_sog(b).expect("valid file").len(),
        ),
        Case {
            name: "sog_lod0_playbot_500k_from_disk",
            bytes: lod_bytes,
            samples: 10,
            load: Box::new(move || {
                load_splat_file(black_box(&lod_meta), &lod_settings)
                    .expect("shipped asset")
                    .len()
            }),
        },
    ]
}

fn loaders(c: &mut Criterion) {
    let mut group = c.benchmark_group("load");
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(4));
    for case in cases() {
        // One untimed run: checks the input and counts its splats.
        let splats = (case.load)() as u64;
        eprintln!("{}: {} bytes, {splats} splats", case.name, case.bytes);
        group.sample_size(case.samples);
        group.throughput(Throughput::ElementsAndBytes {
            elements: splats,
            bytes: case.bytes,
        });
        group.bench_function(case.name, |b| b.iter(|| (case.load)()));
    }
    group.finish();
}

fn writers(c: &mut Criterion) {
    let mut group = c.benchmark_group("write");
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(6));
    group.sample_size(10);
    let as_is = SplatLoaderSettings { axes: AxisConvention::AsIs, ..Default::default() };
    let load = |relative: &str| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
        load_splat_file(&path, &as_is).unwrap_or_else(|e| panic!("{e}"))
    };
    let biker = load("assets/biker.compressed.ply");
    let fruit = load("tests/data/fruit_drops_minimal.ply");
    for (name, splats, file) in [
        ("sog_biker_sh0", &biker, "out.sog"),
        ("sog_fruit_drops_sh3", &fruit, "out.sog"),
        ("spz_biker_sh0", &biker, "out.spz"),
    ] {
        let bytes = encode_splat_file(Path::new(file), splats, AxisConvention::AsIs).unwrap_or_else(|e| panic!("{e}"));
        eprintln!("{name}: {} splats, {} bytes", splats.len(), bytes.len());
        group.throughput(Throughput::ElementsAndBytes { elements: splats.len() as u64, bytes: bytes.len() as u64 });
        group.bench_function(name, |b| b.iter(|| encode_splat_file(Path::new(file), black_box(splats), AxisConvention::AsIs)));
    }
    group.finish();
}

criterion_group!(benches, loaders, writers);
criterion_main!(benches);
