//! The GPU radiance-field ray marcher against the CPU reference (same maths) on
//! synthetic snapshots (random weights + a planted density blob) and the real
//! lego field, plus compositing with meshes. Runs on Mesa lavapipe in CI.

mod common;

use std::path::Path;

use bevy::prelude::*;
use bevy_radiance::camera::{CameraIntrinsics, DEFAULT_NEAR, read_transforms};
use bevy_radiance::headless::{HeadlessCamera, HeadlessRenderer};
use bevy_radiance::io::ingp::{RadianceFieldLoaderSettings, decode_radiance_field};
use bevy_radiance::testing::field::{TestGrid, TestSnapshotSpec, write_test_snapshot};
use bevy_radiance::field::{MarchSettings, RadianceField, render_field_reference, render_field_reference_scaled};
use bevy_radiance::io::load_radiance_field_file;
use bevy_radiance::scene::{RadianceField3d, RadianceFieldCamera};
use bevy_radiance::sequence::FieldSequence3d;
use bevy_radiance::timeline::{Playback, PlaybackClock};
use common::*;

fn synthetic(spec: TestSnapshotSpec) -> RadianceField {
    decode_radiance_field(&write_test_snapshot(&spec), &RadianceFieldLoaderSettings::default()).expect("synthetic snapshot")
}

fn spawn_field(r: &mut HeadlessRenderer, field: RadianceField, transform: Transform) -> Entity {
    let handle = r.world_mut().resource_mut::<Assets<RadianceField>>().add(field);
    r.world_mut().spawn((RadianceField3d(handle), transform)).id()
}

fn cpu(field: &RadianceField, camera: &HeadlessCamera, world_from_local: Mat4) -> bevy_radiance::image::ReferenceImage {
    let view = camera.intrinsics.camera_view(camera.world_from_camera, DEFAULT_NEAR);
    render_field_reference(field, &view, world_from_local, camera.background, &MarchSettings::default())
}

#[test]
fn synthetic_fields_match_reference() {
    let mut r = renderer();
    let cases = [
        ("8x4_dense_and_hashed", TestSnapshotSpec::default(), Transform::IDENTITY),
        ("16x2", TestSnapshotSpec { grid: TestGrid::Levels16x2, seed: 2, ..Default::default() }, Transform::IDENTITY),
        (
            "aabb_scale_4",
            TestSnapshotSpec { aabb_scale: 4, seed: 3, blob_radius: 0.6, ..Default::default() },
            Transform::IDENTITY,
        ),
        (
            "moved_rotated_scaled",
            TestSnapshotSpec { seed: 4, blob_center: Vec3::new(0.55, 0.45, 0.5), ..Default::default() },
            Transform::from_xyz(0.3, -0.2, 0.1)
                .with_rotation(Quat::from_rotation_y(0.7) * Quat::from_rotation_x(-0.4))
                .with_scale(Vec3::splat(1.3)),
        ),
    ];
    for (name, spec, transform) in cases {
        let field = synthetic(spec);
        let e = spawn_field(&mut r, field.clone(), transform);
        let mut camera = look_at_camera(64, 48, Vec3::new(0.8, 0.6, 3.2), Vec3::ZERO, 0.9);
        camera.background = Vec3::new(1.0, 1.0, 1.0);
        let gpu = r.render(&camera).unwrap();
        let reference = cpu(&field, &camera, transform.to_matrix());
        let (p, m) = compare(&gpu, &reference, &format!("nerf_{name}"));
        println!("{name}: PSNR {p:.2} dB, max error {m}");
        assert!(gpu.data.chunks(4).filter(|px| px[3] > 16).count() > 100, "{name}: the field is not visible");
        assert!(p >= 40.0, "{name}: PSNR {p:.2} < 40 (max {m})");
        r.world_mut().despawn(e);
    }
}

#[test]
fn meshes_hide_fields_and_fields_cover_meshes() {
    let mut r = renderer();
    let field = synthetic(TestSnapshotSpec { seed: 9, ..Default::default() });
    let camera = look_at_camera(64, 48, Vec3::new(0.0, 0.0, 4.0), Vec3::ZERO, 0.8);
    let world = r.world_mut();
    let mesh = world.resource_mut::<Assets<Mesh>>().add(Cuboid::new(0.5, 0.5, 0.5));
    let material = world.resource_mut::<Assets<StandardMaterial>>().add(StandardMaterial {
        base_color: Color::srgb(0.1, 0.7, 0.2),
        unlit: true,
        ..default()
    });
    // A cube in front of the field hides it.
    let cube = world.spawn((Mesh3d(mesh.clone()), MeshMaterial3d(material.clone()), Transform::from_xyz(0.0, 0.0, 2.0))).id();
    let mesh_only = r.render(&camera).unwrap();
    let cube_pixels: Vec<usize> = (0..64 * 48).filter(|i| mesh_only.data[i * 4 + 3] == 255).collect();
    assert!(cube_pixels.len() > 50);
    let f = spawn_field(&mut r, field.clone(), Transform::IDENTITY);
    let both = r.render(&camera).unwrap();
    save_for_inspection(&both, "nerf_cube_front.png");
    for &i in &cube_pixels {
        assert!(both.data[i * 4..i * 4 + 4] == mesh_only.data[i * 4..i * 4 + 4], "pixel {i}: the field must stay behind the cube");
    }
    assert!(both.data != mesh_only.data, "the field must show around the cube");
    // The cube moved behind the field: the field covers it (reference layer over the mesh-only image).
    r.world_mut().entity_mut(cube).insert(Transform::from_xyz(0.0, 0.0, -1.5));
    r.world_mut().entity_mut(f).insert(Visibility::Hidden);
    let mesh_behind = r.render(&camera).unwrap();
    r.world_mut().entity_mut(f).insert(Visibility::Inherited);
    let covered = r.render(&camera).unwrap();
    save_for_inspection(&covered, "nerf_cube_behind.png");
    let mut black = camera.clone();
    black.background = Vec3::ZERO;
    let layer = cpu(&field, &black, Mat4::IDENTITY);
    let expected: Vec<u8> = layer
        .pixels
        .iter()
        .enumerate()
        .flat_map(|(i, p)| {
            let m = &mesh_behind.data[i * 4..i * 4 + 4];
            (0..4).map(move |c| ((p[c] + (1.0 - p[3]) * m[c] as f32 / 255.0).clamp(0.0, 1.0) * 255.0).round() as u8)
        })
        .collect();
    let (p, m) = (psnr(&covered.data, &expected), max_error(&covered.data, &expected));
    println!("field over cube: PSNR {p:.2} dB, max error {m}");
    assert!(p >= 40.0, "field over the cube: PSNR {p:.2} < 40 (max {m})");
}

#[test]
fn reduced_render_scale_matches_scaled_reference() {
    let mut r = renderer();
    let field = synthetic(TestSnapshotSpec { seed: 11, ..Default::default() });
    spawn_field(&mut r, field.clone(), Transform::IDENTITY);
    // Odd sizes so the layer does not divide the viewport evenly.
    let mut camera = look_at_camera(97, 61, Vec3::new(0.7, 0.5, 3.0), Vec3::ZERO, 0.9);
    camera.background = Vec3::new(0.2, 0.3, 0.4);
    let view = camera.intrinsics.camera_view(camera.world_from_camera, DEFAULT_NEAR);
    let full = render_field_reference(&field, &view, Mat4::IDENTITY, camera.background, &MarchSettings::default());
    for scale in [0.5, 0.37] {
        let headless_view = r.spawn_view(&camera).unwrap();
        r.world_mut().entity_mut(headless_view.camera).insert(RadianceFieldCamera { render_scale: scale });
        // The render target is prepared during the first frame (see `HeadlessRenderer::render`).
        r.update();
        let gpu = r.read_view(&headless_view).unwrap();
        r.despawn_view(headless_view);
        let expected = render_field_reference_scaled(&field, &view, Mat4::IDENTITY, camera.background, &MarchSettings::default(), scale);
        let (p, m) = compare(&gpu, &expected, &format!("nerf_scale_{scale}"));
        let full_psnr = psnr(&gpu.data, &full.to_rgba8());
        println!("render scale {scale}: PSNR {p:.2} dB vs scaled reference (max error {m}), {full_psnr:.2} dB vs full resolution");
        assert_not_blank(&gpu, "scaled field");
        assert!(p >= 40.0, "render scale {scale}: PSNR {p:.2} < 40 (max {m})");
    }
}

#[test]
fn field_sequence_cross_fades_exactly() {
    let mut r = renderer();
    let a = synthetic(TestSnapshotSpec { seed: 21, ..Default::default() });
    let b = synthetic(TestSnapshotSpec { seed: 22, blob_center: Vec3::new(0.6, 0.45, 0.5), ..Default::default() });
    let mut assets = r.world_mut().resource_mut::<Assets<RadianceField>>();
    let (ha, hb) = (assets.add(a.clone()), assets.add(b.clone()));
    let playback = Playback::new().with_clock(PlaybackClock::Manual).at(1.3);
    r.world_mut().spawn((FieldSequence3d::new([(0.0, ha), (2.0, hb)], 1.0), playback));
    let mut camera = look_at_camera(64, 48, Vec3::new(0.6, 0.5, 3.2), Vec3::ZERO, 0.9);
    camera.background = Vec3::new(0.9, 0.8, 0.7);
    r.update();
    let gpu = r.render(&camera).unwrap();
    // (1 − w)·A + w·B (premultiplied, rendered over black), then over the background.
    let mut black = camera.clone();
    black.background = Vec3::ZERO;
    let (ca, cb) = (cpu(&a, &black, Mat4::IDENTITY), cpu(&b, &black, Mat4::IDENTITY));
    let w = 0.3;
    let pixels = ca
        .pixels
        .iter()
        .zip(&cb.pixels)
        .map(|(pa, pb)| {
            let sum = *pa * (1.0 - w) + *pb * w;
            (sum.truncate() + (1.0 - sum.w) * camera.background).extend(sum.w)
        })
        .collect();
    let expected = bevy_radiance::image::ReferenceImage { width: ca.width, height: ca.height, pixels };
    let (p, m) = compare(&gpu, &expected, "nerf_cross_fade");
    println!("cross-fade at w = 0.3: PSNR {p:.2} dB, max error {m}");
    assert_not_blank(&gpu, "cross-fade");
    assert!(p >= 40.0, "cross-fade: PSNR {p:.2} < 40 (max {m})");
}

#[test]
fn lego_field_matches_reference() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let field = load_radiance_field_file(&root.join("assets/lego_ngp_small/lego.ingp")).unwrap();
    let frames = read_transforms(&root.join("tests/data/lego_test_cameras.json")).unwrap();
    let mut r = renderer();
    spawn_field(&mut r, field.clone(), Transform::IDENTITY);
    let frame = &frames[0];
    let k = frame.intrinsics;
    let s = 48.0 / k.width as f32;
    let small = CameraIntrinsics { width: 48, height: 48, fx: k.fx * s, fy: k.fy * s, cx: k.cx * s, cy: k.cy * s };
    let mut camera = HeadlessCamera::new(small, frame.world_from_camera);
    camera.background = Vec3::ONE;
    let gpu = r.render(&camera).unwrap();
    let reference = cpu(&field, &camera, Mat4::IDENTITY);
    let (p, m) = compare(&gpu, &reference, "nerf_lego");
    println!("lego: PSNR {p:.2} dB, max error {m}");
    assert_not_blank(&gpu, "lego");
    assert!(p >= 40.0, "lego: PSNR {p:.2} < 40 (max {m})");
}

#[test]
fn gpu_render_reproduces_lego_test_photographs() {
    // The README of the trained field gives these PSNRs at 200×200 (photographs
    // composited on white, 2×2 box-averaged); the GPU must stay within 0.5 dB.
    const VIEWS: [(usize, f64); 3] = [(0, 31.86), (40, 32.02), (80, 28.89)];
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let field = load_radiance_field_file(&root.join("assets/lego_ngp_small/lego.ingp")).unwrap();
    let frames = read_transforms(&root.join("tests/data/lego_test_cameras.json")).unwrap();
    let mut r = renderer();
    spawn_field(&mut r, field, Transform::IDENTITY);
    for (frame, (view_index, readme)) in frames.iter().zip(VIEWS) {
        let k = frame.intrinsics;
        let s = 200.0 / k.width as f32;
        let small = CameraIntrinsics { width: 200, height: 200, fx: k.fx * s, fy: k.fy * s, cx: k.cx * s, cy: k.cy * s };
        let mut camera = HeadlessCamera::new(small, frame.world_from_camera);
        camera.background = Vec3::ONE;
        let image = r.render(&camera).unwrap();
        save_for_inspection(&image, &format!("lego_gpu_view{view_index}.png"));
        let rendered: Vec<Vec3> = image.data.chunks(4).map(|p| Vec3::new(p[0] as f32, p[1] as f32, p[2] as f32) / 255.0).collect();
        let truth = ground_truth(&root.join(format!("tests/data/lego_test/r_{view_index}.png")), 200);
        let value = psnr_vec3(&rendered, &truth);
        println!("GPU view {view_index}: PSNR {value:.2} dB vs photograph (README {readme:.2})");
        assert!(value >= readme - 0.5, "view {view_index}: {value:.2} dB is more than 0.5 dB below {readme:.2}");
    }
}
