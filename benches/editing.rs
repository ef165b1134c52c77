//! CPU costs of editing a capture (the inspector's and `SplatEdits`' work per
//! action): selecting by screen rectangle and by brush, applying crop
//! volumes, and baking a transform with SH degree 3 into an asset. On the
//! shipped biker capture (152,746 splats) and a 200,000-splat SH 3 synthetic
//! scene. Reports splats/s.
//!
//! `cargo bench --bench editing`.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use bevy::math::{Mat4, Quat, Rect, Vec2, Vec3};
use bevy::transform::components::Transform;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use bevy_radiance::camera::{CameraIntrinsics, DEFAULT_NEAR};
use bevy_radiance::io::{SplatLoaderSettings, load_splat_file};
use bevy_radiance::scene::{SelectionMode, SelectionView, SplatEdits};
use bevy_radiance::splat::crop::{CropMode, CropVolume};
use bevy_radiance::splat::motion::MotionKind;
use bevy_radiance::testing::motion::synthetic_dynamic;

fn editing(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/biker.compressed.ply");
    let biker = load_splat_file(&path, &SplatLoaderSettings::default()).expect("the shipped capture");
    let n = biker.len();
    let center = biker.positions.iter().copied().sum::<Vec3>() / n as f32;
    let world_from_camera = Transform::from_translation(center + Vec3::new(0.0, 0.3, 2.5)).looking_at(center, Vec3::Y).to_matrix();
    let camera = CameraIntrinsics::from_horizontal_fov(1280, 720, 1.2).camera_view(world_from_camera, DEFAULT_NEAR);
    let crop = [
        CropVolume::cuboid(center, Vec3::new(0.4, 0.8, 0.4), Quat::from_rotation_y(0.3), CropMode::KeepInside),
        CropVolume::sphere(center + Vec3::Y * 0.5, 0.2, CropMode::RemoveInside),
    ];
    let view = SelectionView { splats: &biker, world_from_local: Mat4::IDENTITY, camera: &camera, time: 0.0, crop: &crop };

    let mut group = c.benchmark_group("editing_biker");
    group.sample_size(10).measurement_time(Duration::from_secs(4));
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("select_rect", |b| {
        let mut edits = SplatEdits::new(n);
        b.iter(|| edits.select_rect(&view, black_box(Rect::new(400.0, 100.0, 900.0, 600.0)), SelectionMode::Replace))
    });
    group.bench_function("select_brush", |b| {
        let mut edits = SplatEdits::new(n);
        edits.begin_stroke();
        b.iter(|| edits.select_brush(&view, black_box(Vec2::new(640.0, 360.0)), 40.0, SelectionMode::Add))
    });
    group.bench_function("crop_asset", |b| {
        b.iter(|| {
            let mut s = biker.clone();
            black_box(s.crop(&crop, 0.0).expect("valid"))
        })
    });
    group.finish();

    let sh3 = synthetic_dynamic(MotionKind::Static, 200_000, 3);
    let mut sh3 = sh3;
    sh3.sh_degree = 3;
    sh3.sh = (0..sh3.len() * 16).map(|i| [(i % 7) as f32 * 0.01, 0.02, -0.01]).collect();
    let mut group = c.benchmark_group("bake_transform_sh3");
    group.sample_size(10).measurement_time(Duration::from_secs(4));
    group.throughput(Throughput::Elements(sh3.len() as u64));
    let transform = Transform { translation: Vec3::ONE, rotation: Quat::from_euler(bevy::math::EulerRot::YXZ, 0.4, 0.2, 0.1), scale: Vec3::splat(1.5) };
    group.bench_function("apply_transform", |b| {
        b.iter(|| {
            let mut s = sh3.clone();
            s.apply_transform(black_box(&transform)).expect("valid");
            black_box(s.len())
        })
    });
    group.finish();
}

criterion_group!(benches, editing);
criterion_main!(benches);
