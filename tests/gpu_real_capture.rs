//! The GPU renderer against the CPU reference on real captures: the shipped
//! biker (PlayCanvas compressed PLY) and playbot (streamed SOG, finest level,
//! SH degree 2) from three cameras of a `transforms.json` each, and a 3DGS
//! training PLY with SH degree 3. The GPU draws the compact, chunk-quantised
//! form of each asset; the reference uses the f32 splats: 45 dB is the line.

mod common;

use std::path::Path;

use bevy::prelude::*;
use bevy_radiance::camera::read_transforms;
use bevy_radiance::headless::HeadlessCamera;
use bevy_radiance::splat::asset::AxisConvention;
use bevy_radiance::io::{SplatLoaderSettings, load_splat_file};
use bevy_radiance::splat::projection::SplatParams;
use bevy_radiance::splat::reference::ReferenceItem;
use common::*;

fn manifest(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Renders the capture `file` (file axes, identity transform) from every
/// camera of `cameras` over `background` and checks it against the CPU
/// reference at 45 dB.
fn capture_matches_reference(name: &str, file: &str, splat_count: usize, cameras: &str, background: Vec3) {
    let settings = SplatLoaderSettings { axes: AxisConvention::AsIs, ..Default::default() };
    let splats = load_splat_file(&manifest(file), &settings).unwrap();
    assert_eq!(splats.len(), splat_count);
    let frames = read_transforms(&manifest(cameras)).unwrap();
    assert_eq!(frames.len(), 3);
    let mut r = renderer();
    r.spawn_splats(splats.clone(), Transform::IDENTITY);
    for (i, frame) in frames.iter().enumerate() {
        let mut camera = HeadlessCamera::new(frame.intrinsics, frame.world_from_camera);
        camera.background = background;
        let gpu = r.render(&camera).unwrap();
        let items = [ReferenceItem { splats: &splats, world_from_local: Mat4::IDENTITY, params: SplatParams::default(), time: 0.0, crop: &[], edits: &[] }];
        let cpu = reference(&camera, &items);
        let (p, m) = compare(&gpu, &cpu, &format!("{name}_{i}"));
        println!("{name} camera {i}: PSNR {p:.2} dB, max error {m}");
        assert_not_blank(&gpu, name);
        assert!(p >= 45.0, "{name} camera {i}: PSNR {p:.2} < 45 (max {m})");
    }
}

#[test]
fn biker_from_three_cameras_matches_reference() {
    capture_matches_reference("biker", "assets/biker.compressed.ply", 152_746, "tests/data/biker_cameras.json", Vec3::splat(0.5));
}

#[test]
fn playbot_from_three_cameras_matches_reference() {
    capture_matches_reference("playbot", "assets/playbot/lod-meta.json", 500_000, "tests/data/playbot_cameras.json", Vec3::ZERO);
}

#[test]
fn training_ply_with_sh3_matches_reference() {
    let settings = SplatLoaderSettings { axes: AxisConvention::AsIs, ..Default::default() };
    let splats = load_splat_file(&manifest("tests/data/fruit_drops_minimal.ply"), &settings).unwrap();
    assert_eq!(splats.len(), 4_721);
    assert_eq!(splats.sh_degree, 3);
    let (lo, hi) = splats.positions.iter().fold((Vec3::MAX, Vec3::MIN), |(a, b), p| (a.min(*p), b.max(*p)));
    let center = (lo + hi) * 0.5;
    let extent = (hi - lo).length();
    let mut r = renderer();
    r.spawn_splats(splats.clone(), Transform::IDENTITY);
    for (i, dir) in [Vec3::new(0.0, -0.3, -1.0), Vec3::new(1.0, -0.5, 0.4)].into_iter().enumerate() {
        let eye = center + dir.normalize() * extent * 0.9;
        let world_from_camera = Transform::from_translation(eye).looking_at(center, Vec3::NEG_Y).to_matrix();
        let camera = HeadlessCamera::new(bevy_radiance::camera::CameraIntrinsics::from_horizontal_fov(160, 160, 1.0), world_from_camera);
        let gpu = r.render(&camera).unwrap();
        let items = [ReferenceItem { splats: &splats, world_from_local: Mat4::IDENTITY, params: SplatParams::default(), time: 0.0, crop: &[], edits: &[] }];
        let cpu = reference(&camera, &items);
        let (p, m) = compare(&gpu, &cpu, &format!("fruit_{i}"));
        println!("fruit camera {i}: PSNR {p:.2} dB, max error {m}");
        assert_not_blank(&gpu, "fruit");
        assert!(p >= 45.0, "fruit camera {i}: PSNR {p:.2} < 45 (max {m})");
    }
}

#[test]
fn biker_spz_and_compressed_ply_render_the_same() {
    let settings = SplatLoaderSettings { axes: AxisConvention::AsIs, ..Default::default() };
    let ply = load_splat_file(&manifest("assets/biker.compressed.ply"), &settings).unwrap();
    let spz = load_splat_file(&manifest("tests/data/biker.spz"), &settings).unwrap();
    assert_eq!(ply.len(), spz.len());
    let frames = read_transforms(&manifest("tests/data/biker_cameras.json")).unwrap();
    let mut r = renderer();
    let a = r.spawn_splats(ply, Transform::IDENTITY);
    let b = r.spawn_splats(spz, Transform::IDENTITY);
    for (i, frame) in frames.iter().enumerate() {
        let camera = HeadlessCamera::new(frame.intrinsics, frame.world_from_camera);
        r.world_mut().entity_mut(b).insert(Visibility::Hidden);
        r.world_mut().entity_mut(a).insert(Visibility::Inherited);
        let from_ply = r.render(&camera).unwrap();
        r.world_mut().entity_mut(a).insert(Visibility::Hidden);
        r.world_mut().entity_mut(b).insert(Visibility::Inherited);
        let from_spz = r.render(&camera).unwrap();
        save_for_inspection(&from_spz, &format!("biker_spz_{i}.png"));
        let (p, m) = (psnr(&from_ply.data, &from_spz.data), max_error(&from_ply.data, &from_spz.data));
        println!("biker camera {i}: SPZ vs compressed PLY PSNR {p:.2} dB, max error {m}");
        assert_not_blank(&from_spz, "biker spz");
        assert!(p >= 40.0, "camera {i}: SPZ vs compressed PLY PSNR {p:.2} < 40");
    }
}

/// Crop volumes on the biker capture: a turned box that keeps the bike and
/// a ball that cuts into it. The GPU's crop matches the CPU reference with
/// the same crop, and the cropped capture written as SPZ renders the same.
#[test]
fn biker_cropped_matches_reference_and_the_exported_spz() {
    use bevy_radiance::io::spz::write_spz;
    use bevy_radiance::prelude::{CropMode, CropVolume, SplatCrop};

    let settings = SplatLoaderSettings { axes: AxisConvention::AsIs, ..Default::default() };
    let splats = load_splat_file(&manifest("assets/biker.compressed.ply"), &settings).unwrap();
    // The median centre: the bike, not the background's far floaters.
    let median = |axis: usize| {
        let mut v: Vec<f32> = splats.positions.iter().map(|p| p[axis]).collect();
        v.sort_by(f32::total_cmp);
        v[v.len() / 2]
    };
    let center = Vec3::new(median(0), median(1), median(2));
    let volumes = vec![
        CropVolume::cuboid(center, Vec3::new(0.9, 0.7, 1.2), Quat::from_rotation_y(0.4), CropMode::KeepInside),
        CropVolume::sphere(center + Vec3::new(0.3, -0.3, 0.0), 0.35, CropMode::RemoveInside),
    ];
    let frames = read_transforms(&manifest("tests/data/biker_cameras.json")).unwrap();
    let camera = HeadlessCamera::new(frames[0].intrinsics, frames[0].world_from_camera);
    let mut r = renderer();
    let entity = r.spawn_splats(splats.clone(), Transform::IDENTITY);
    let whole = r.render(&camera).unwrap();
    r.world_mut().entity_mut(entity).insert(SplatCrop::new(volumes.clone()));
    let cropped = r.render(&camera).unwrap();
    save_for_inspection(&cropped, "biker_cropped");
    assert_not_blank(&cropped, "biker cropped");
    let items = [ReferenceItem { splats: &splats, world_from_local: Mat4::IDENTITY, params: SplatParams::default(), time: 0.0, crop: &volumes, edits: &[] }];
    let (p, m) = compare(&cropped, &reference(&camera, &items), "biker_cropped_reference");
    println!("biker cropped vs reference: PSNR {p:.2} dB, max error {m}");
    assert!(p >= 45.0, "biker cropped vs reference: PSNR {p:.2} dB < 45 (max error {m})");
    let changed = psnr(&cropped.data, &whole.data);
    assert!(changed < 20.0, "the crop changed too little ({changed:.1} dB from the uncropped image)");

    let mut kept = splats.clone();
    let removed = kept.crop(&volumes, 0.0).unwrap();
    println!("crop removed {removed} of {} splats", splats.len());
    assert!(removed > splats.len() / 4 && removed < splats.len(), "{removed} splats removed");
    let dir = std::env::temp_dir().join(format!("bevy_radiance_crop_spz_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("biker_cropped.spz");
    std::fs::write(&path, write_spz(&kept).unwrap()).unwrap();
    let exported = load_splat_file(&path, &settings).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(exported.len(), kept.len());
    r.world_mut().despawn(entity);
    r.spawn_splats(exported, Transform::IDENTITY);
    let from_file = r.render(&camera).unwrap();
    let p = psnr(&from_file.data, &cropped.data);
    println!("biker cropped vs the exported SPZ: PSNR {p:.2} dB");
    assert!(p >= 45.0, "biker cropped vs the exported SPZ: PSNR {p:.2} dB < 45");
}

/// An SH degree-3 capture drawn at a turned, scaled, moved transform equals
/// the same capture with that transform baked in, drawn at the identity
/// (view-dependent colour rotated with it), on the GPU and in the reference.
#[test]
fn baked_transform_renders_as_the_entity_transform() {
    let settings = SplatLoaderSettings { axes: AxisConvention::AsIs, ..Default::default() };
    let splats = load_splat_file(&manifest("tests/data/fruit_drops_minimal.ply"), &settings).unwrap();
    let transform = Transform {
        translation: Vec3::new(0.4, -0.3, 0.2),
        rotation: Quat::from_euler(EulerRot::YXZ, 1.1, -0.5, 0.3),
        scale: Vec3::splat(1.6),
    };
    let mut baked = splats.clone();
    baked.apply_transform(&transform).unwrap();
    let (lo, hi) = baked.positions.iter().fold((Vec3::MAX, Vec3::MIN), |(a, b), p| (a.min(*p), b.max(*p)));
    let (center, extent) = ((lo + hi) * 0.5, (hi - lo).length());
    let mut r = renderer();
    let moved = r.spawn_splats(splats.clone(), transform);
    let at_identity = r.spawn_splats(baked.clone(), Transform::IDENTITY);
    for (i, dir) in [Vec3::new(0.0, -0.3, -1.0), Vec3::new(1.0, -0.5, 0.4)].into_iter().enumerate() {
        let eye = center + dir.normalize() * extent * 0.9;
        let world_from_camera = Transform::from_translation(eye).looking_at(center, Vec3::NEG_Y).to_matrix();
        let camera = HeadlessCamera::new(bevy_radiance::camera::CameraIntrinsics::from_horizontal_fov(160, 160, 1.0), world_from_camera);
        r.world_mut().entity_mut(at_identity).insert(Visibility::Hidden);
        r.world_mut().entity_mut(moved).insert(Visibility::Inherited);
        let entity_transform = r.render(&camera).unwrap();
        r.world_mut().entity_mut(moved).insert(Visibility::Hidden);
        r.world_mut().entity_mut(at_identity).insert(Visibility::Inherited);
        let baked_gpu = r.render(&camera).unwrap();
        assert_not_blank(&baked_gpu, "baked");
        let p = psnr(&baked_gpu.data, &entity_transform.data);
        let items = [ReferenceItem { splats: &baked, world_from_local: Mat4::IDENTITY, params: SplatParams::default(), time: 0.0, crop: &[], edits: &[] }];
        let (q, m) = compare(&baked_gpu, &reference(&camera, &items), &format!("baked_{i}"));
        let moved_items = [ReferenceItem { splats: &splats, world_from_local: transform.to_matrix(), params: SplatParams::default(), time: 0.0, crop: &[], edits: &[] }];
        let cpu = psnr(&reference_rgba(&reference(&camera, &items)).data, &reference_rgba(&reference(&camera, &moved_items)).data);
        println!("camera {i}: baked vs entity transform {p:.2} dB (GPU), {cpu:.2} dB (reference); baked GPU vs reference {q:.2} dB (max {m})");
        assert!(p >= 45.0, "camera {i}: baked vs entity transform: PSNR {p:.2} dB < 45");
        assert!(cpu >= 50.0, "camera {i}: baked vs entity transform in the reference: PSNR {cpu:.2} dB < 50");
        assert!(q >= 45.0, "camera {i}: baked vs reference: PSNR {q:.2} dB < 45 (max {m})");
    }
}
