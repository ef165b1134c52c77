//! The LOD builder on real captures: every level reads back through our
//! streamed-SOG reader, the tree addresses every splat exactly once, the
//! coarse levels look like the capture from afar (better than dropping
//! splats), and nothing is overwritten unasked. CPU only.

mod common;

use std::path::{Path, PathBuf};

use bevy::prelude::*;
use bevy_radiance::camera::read_transforms;
use bevy_radiance::headless::{HeadlessCamera, RgbaImage};
use bevy_radiance::io::sog_lod::{LodBuildOptions, parse_lod_meta};
use bevy_radiance::io::splat_file::LodSelection;
use bevy_radiance::io::{SplatLoaderSettings, SplatWriteError, load_splat_file, write_lod};
use bevy_radiance::splat::asset::{AxisConvention, GaussianSplats};
use bevy_radiance::splat::projection::SplatParams;
use bevy_radiance::splat::reference::ReferenceItem;
use common::*;

fn manifest(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn level(path: &Path, level: u32) -> GaussianSplats {
    let settings = SplatLoaderSettings { axes: AxisConvention::AsIs, lod: LodSelection::Level(level), ..Default::default() };
    load_splat_file(path, &settings).unwrap_or_else(|e| panic!("level {level}: {e}"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("lod_builder_{name}_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn render(splats: &GaussianSplats, camera: &HeadlessCamera) -> RgbaImage {
    let item = [ReferenceItem { splats, world_from_local: Mat4::IDENTITY, params: SplatParams::default(), time: 0.0, crop: &[], edits: &[] }];
    reference_rgba(&reference(camera, &item))
}

/// Every other splat of `splats` (the naive LOD the merge must beat).
fn every_other(splats: &GaussianSplats, keep: usize) -> GaussianSplats {
    let mut out = splats.clone();
    let stride = splats.len() as f64 / keep as f64;
    let kept: std::collections::HashSet<usize> = (0..keep).map(|k| (k as f64 * stride) as usize).collect();
    out.retain(|i| kept.contains(&i));
    out
}

#[test]
fn biker_lod_levels_read_back_and_look_like_the_capture_from_afar() {
    let original = load_splat_file(&manifest("assets/biker.compressed.ply"), &SplatLoaderSettings { axes: AxisConvention::AsIs, ..Default::default() }).unwrap();
    let dir = scratch("biker");
    let path = dir.join("lod-meta.json");
    let options = LodBuildOptions { levels: Some(4), ..Default::default() };
    let start = std::time::Instant::now();
    let bytes = write_lod(&path, &original, AxisConvention::AsIs, &options, false).unwrap();
    println!("biker: 4 levels, {bytes} bytes in {:?}", start.elapsed());
    let tree = parse_lod_meta(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(tree.levels, 4);
    let counts: Vec<u64> = (0..4).map(|l| tree.level_count(l)).collect();
    assert_eq!(counts, [152_746, 76_373, 38_187, 19_094]);

    // The biker from 2.5 times the test cameras' distance: a 4× coarser
    // level stands in for the capture at a quarter of the pixels' worth.
    let cameras: Vec<HeadlessCamera> = read_transforms(&manifest("tests/data/biker_cameras.json"))
        .unwrap()
        .iter()
        .map(|f| {
            let mut world_from_camera = f.world_from_camera;
            let eye = world_from_camera.w_axis.truncate();
            world_from_camera.w_axis = (eye * 2.5).extend(1.0);
            let mut c = HeadlessCamera::new(f.intrinsics, world_from_camera);
            c.background = Vec3::splat(0.5);
            c
        })
        .collect();
    let level0 = level(&path, 0);
    for l in 1..4u32 {
        let coarse = level(&path, l);
        assert_eq!(coarse.len() as u64, counts[l as usize]);
        coarse.validate().unwrap();
        let dropped = every_other(&original, coarse.len());
        for (c, camera) in cameras.iter().enumerate() {
            let truth = render(&level0, camera);
            let merged = render(&coarse, camera);
            let naive = render(&dropped, camera);
            assert_not_blank(&merged, "biker LOD");
            save_for_inspection(&merged, &format!("lod_builder_biker_level{l}_{c}.png"));
            let (p_merged, p_naive) = (psnr(&truth.data, &merged.data), psnr(&truth.data, &naive.data));
            println!("biker level {l} camera {c}: merged {p_merged:.2} dB, every-other-splat {p_naive:.2} dB");
            assert!(p_merged > p_naive + 3.0, "level {l} camera {c}: merging ({p_merged:.2} dB) must beat dropping ({p_naive:.2} dB)");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn small_chunks_make_a_tree_whose_leaves_address_every_splat_once() {
    let original = load_splat_file(&manifest("tests/data/fruit_drops_minimal.ply"), &SplatLoaderSettings { axes: AxisConvention::AsIs, ..Default::default() }).unwrap();
    let dir = scratch("fruit");
    let path = dir.join("lod-meta.json");
    let options = LodBuildOptions { levels: Some(3), chunk_splats: 1000, ..Default::default() };
    write_lod(&path, &original, AxisConvention::AsIs, &options, false).unwrap();
    let tree = parse_lod_meta(&std::fs::read(&path).unwrap()).unwrap();
    let mut leaves = 0;
    let mut covered: std::collections::HashMap<u32, Vec<(u64, u64)>> = Default::default();
    tree.root.visit(&mut |node| {
        if node.children.is_empty() {
            leaves += 1;
            let total: u64 = node.lods.iter().map(|(_, r)| r.count).sum();
            assert!(total <= 1000, "a leaf holds {total} splats");
            for (_, r) in &node.lods {
                covered.entry(r.file).or_default().push((r.offset, r.count));
            }
        } else {
            for child in &node.children {
                assert!(child.min.cmpge(node.min).all() && child.max.cmple(node.max).all(), "child bound outside its parent's");
            }
        }
    });
    assert!(leaves >= 8, "{leaves} leaves");
    assert!(tree.filenames.len() > 3, "levels split into files: {:?}", tree.filenames);
    // Ranges tile each file without gaps or overlaps.
    for (file, mut ranges) in covered {
        ranges.sort();
        let mut next = 0;
        for (offset, count) in ranges {
            assert_eq!(offset, next, "file {file}");
            next += count;
        }
        let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join(&tree.filenames[file as usize])).unwrap()).unwrap();
        assert_eq!(meta["count"].as_u64(), Some(next), "file {file}");
    }
    // Level 0 holds the capture's splats (centres match up to SOG's 16 bits).
    let level0 = level(&path, 0);
    assert_eq!((level0.len(), level0.sh_degree), (original.len(), 3));
    let key = |p: Vec3| (p * 1000.0).round().as_ivec3().to_array();
    let mut a: Vec<_> = original.positions.iter().map(|&p| key(p)).collect();
    let mut b: Vec<_> = level0.positions.iter().map(|&p| key(p)).collect();
    a.sort();
    b.sort();
    let moved = a.iter().zip(&b).filter(|(x, y)| x != y).count();
    assert!(moved < original.len() / 50, "{moved} centres moved");
    // Every leaf's bound holds its level-0 splats' centres.
    let (lo, hi) = (tree.root.min, tree.root.max);
    assert!(level0.positions.iter().all(|p| p.cmpge(lo - 1e-3).all() && p.cmple(hi + 1e-3).all()));

    // Nothing is replaced unasked, and a refused write leaves no trace.
    let before = std::fs::read(&path).unwrap();
    let error = write_lod(&path, &original, AxisConvention::AsIs, &options, false).unwrap_err();
    assert!(matches!(error, SplatWriteError::Exists(_)), "{error}");
    std::fs::remove_file(&path).unwrap();
    let error = write_lod(&path, &original, AxisConvention::AsIs, &options, false).unwrap_err();
    assert!(matches!(&error, SplatWriteError::Exists(p) if p.to_string_lossy().contains("0_0")), "{error}");
    assert!(!path.exists(), "lod-meta.json written although a level file exists");
    write_lod(&path, &original, AxisConvention::AsIs, &options, true).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), before, "the build is deterministic");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_lod_options_and_inputs_are_typed_errors() {
    let dir = scratch("bad");
    let path = dir.join("lod-meta.json");
    let splats = load_splat_file(&manifest("tests/data/fruit_drops_minimal.ply"), &SplatLoaderSettings::default()).unwrap();
    for (options, says) in [
        (LodBuildOptions { ratio: 1.0, ..Default::default() }, "ratio"),
        (LodBuildOptions { levels: Some(0), ..Default::default() }, "levels"),
        (LodBuildOptions { chunk_splats: 0, ..Default::default() }, "chunks"),
        (LodBuildOptions { chunk_extent: f32::NAN, ..Default::default() }, "chunks"),
    ] {
        let error = write_lod(&path, &splats, AxisConvention::AsIs, &options, false).unwrap_err();
        assert!(error.to_string().contains(says), "{error}");
    }
    let empty = GaussianSplats::default();
    assert!(matches!(write_lod(&path, &empty, AxisConvention::AsIs, &LodBuildOptions::default(), false), Err(SplatWriteError::Empty(_))));
    let mut nan = splats.clone();
    nan.scales[3].y = f32::NAN;
    let error = write_lod(&path, &nan, AxisConvention::AsIs, &LodBuildOptions::default(), false).unwrap_err();
    assert!(error.to_string().contains("lod-meta.json"), "{error}");
    assert!(!dir.exists() || std::fs::read_dir(&dir).unwrap().next().is_none(), "a failed build wrote files");
}
