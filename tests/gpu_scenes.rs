//! Scene-level GPU checks: several entities, sizes across workgroup and sort
//! block boundaries, camera variants, invariance, and compositing with meshes.

mod common;

use bevy::prelude::*;
use bevy_radiance::headless::HeadlessRenderer;
use bevy_radiance::render::splat::prepare::SplatViewResources;
use bevy_radiance::splat::asset::GaussianSplats;
use bevy_radiance::splat::projection::SplatParams;
use bevy_radiance::splat::reference::ReferenceItem;
use common::*;

fn item(splats: &GaussianSplats, transform: Transform) -> ReferenceItem<'_> {
    ReferenceItem { splats, world_from_local: transform.to_matrix(), params: SplatParams::default(), time: 0.0, crop: &[], edits: &[] }
}

#[test]
fn two_overlapping_entities_interleave_in_depth() {
    let mut r = renderer();
    let a = synthetic_splats(900, 3, 11);
    let b = synthetic_splats(900, 1, 12);
    let ta = Transform::from_xyz(-0.3, 0.0, 0.0).with_rotation(Quat::from_rotation_y(0.6));
    let tb = Transform::from_xyz(0.3, 0.1, -0.2)
        .with_rotation(Quat::from_rotation_x(-0.4))
        .with_scale(Vec3::new(1.2, 0.8, 1.0));
    r.spawn_splats(a.clone(), ta);
    r.spawn_splats(b.clone(), tb);
    let camera = look_at_camera(200, 150, Vec3::new(0.2, 0.5, 3.0), Vec3::ZERO, 1.1);
    let gpu = r.render(&camera).unwrap();
    let cpu = reference(&camera, &[item(&a, ta), item(&b, tb)]);
    let (p, m) = compare(&gpu, &cpu, "two_entities");
    println!("two entities: PSNR {p:.2} dB, max error {m}");
    assert_not_blank(&gpu, "two entities");
    assert!(p >= 40.0, "two entities: PSNR {p:.2} < 40 (max {m})");
}

#[test]
fn splat_counts_across_workgroup_and_block_sizes() {
    let mut r = renderer();
    for n in [1usize, 255, 256, 257, 4097] {
        let mut splats = synthetic_splats(n, 2, n as u64);
        // Make a single splat big enough to see.
        if n == 1 {
            splats.scales[0] = Vec3::new(0.3, 0.2, 0.1);
        }
        let e = r.spawn_splats(splats.clone(), Transform::IDENTITY);
        let camera = look_at_camera(96, 72, Vec3::new(0.0, 0.0, 3.0), Vec3::ZERO, 1.2);
        let gpu = r.render(&camera).unwrap();
        let cpu = reference(&camera, &[item(&splats, Transform::IDENTITY)]);
        let (p, m) = compare(&gpu, &cpu, &format!("count_{n}"));
        println!("{n} splats: PSNR {p:.2} dB, max error {m}");
        assert!(gpu.data.chunks(4).any(|px| px[3] > 0), "{n} splats: nothing drawn");
        assert!(p >= 40.0, "{n} splats: PSNR {p:.2} < 40 (max {m})");
        r.world_mut().despawn(e);
    }
}

#[test]
fn hdr_msaa_viewport_sizes_and_background() {
    let mut r = renderer();
    let splats = synthetic_splats(1500, 3, 99);
    r.spawn_splats(splats.clone(), Transform::IDENTITY);
    for (hdr, msaa, w, h) in [(true, 1, 131, 97), (false, 4, 128, 96), (true, 4, 257, 65)] {
        let mut camera = look_at_camera(w, h, Vec3::new(-0.5, 0.4, 2.8), Vec3::ZERO, 1.0);
        camera.hdr = hdr;
        camera.msaa = msaa;
        camera.background = Vec3::new(0.2, 0.4, 0.9);
        let gpu = r.render(&camera).unwrap();
        let cpu = reference(&camera, &[item(&splats, Transform::IDENTITY)]);
        let (p, m) = compare(&gpu, &cpu, &format!("variant_hdr{hdr}_msaa{msaa}_{w}x{h}"));
        println!("hdr {hdr} msaa {msaa} {w}x{h}: PSNR {p:.2} dB, max error {m}");
        assert_not_blank(&gpu, "variant");
        assert!(p >= 40.0, "hdr {hdr} msaa {msaa}: PSNR {p:.2} < 40 (max {m})");
    }
}

#[test]
fn camera_inside_the_cloud() {
    let mut r = renderer();
    let splats = synthetic_splats(3000, 1, 5);
    r.spawn_splats(splats.clone(), Transform::IDENTITY);
    let camera = look_at_camera(120, 90, Vec3::new(0.05, 0.0, 0.1), Vec3::new(0.0, 0.0, -1.0), 1.4);
    let gpu = r.render(&camera).unwrap();
    let cpu = reference(&camera, &[item(&splats, Transform::IDENTITY)]);
    let (p, m) = compare(&gpu, &cpu, "inside");
    println!("inside the cloud: PSNR {p:.2} dB, max error {m}");
    assert!(p >= 40.0, "inside: PSNR {p:.2} < 40 (max {m})");
}

#[test]
fn hidden_entities_change_nothing_and_empty_scenes_render_the_background() {
    let mut r = renderer();
    let a = synthetic_splats(800, 2, 21);
    let b = synthetic_splats(800, 2, 22);
    let mut camera = look_at_camera(100, 80, Vec3::new(0.0, 0.3, 3.0), Vec3::ZERO, 1.0);
    camera.background = Vec3::new(64.0, 128.0, 191.0) / 255.0;

    // Zero splats: an empty asset renders exactly the background.
    let empty = r.spawn_splats(GaussianSplats::default(), Transform::IDENTITY);
    let background = r.render(&camera).unwrap();
    let expected: Vec<u8> = [64u8, 128, 191, 0].repeat(100 * 80);
    assert!(background.data == expected, "zero splats must render the background");
    r.world_mut().despawn(empty);

    let ea = r.spawn_splats(a, Transform::IDENTITY);
    let only_a = r.render(&camera).unwrap();
    let eb = r.spawn_splats(b, Transform::from_xyz(0.2, 0.0, 0.5));
    let both = r.render(&camera).unwrap();
    assert!(only_a.data != both.data, "the second entity must be visible");
    r.world_mut().entity_mut(eb).insert(Visibility::Hidden);
    let hidden = r.render(&camera).unwrap();
    assert!(only_a.data == hidden.data, "a hidden entity must change nothing");
    r.world_mut().entity_mut(ea).insert(Visibility::Hidden);
    let none = r.render(&camera).unwrap();
    assert!(none.data == expected, "all hidden: background only");
}

fn spawn_cube(r: &mut HeadlessRenderer, transform: Transform) -> Entity {
    let world = r.world_mut();
    let mesh = world.resource_mut::<Assets<Mesh>>().add(Cuboid::new(0.8, 0.8, 0.8));
    let material = world.resource_mut::<Assets<StandardMaterial>>().add(StandardMaterial {
        base_color: Color::srgb(0.9, 0.3, 0.1),
        unlit: true,
        ..default()
    });
    world.spawn((Mesh3d(mesh), MeshMaterial3d(material), transform)).id()
}

#[test]
fn meshes_occlude_splats_and_splats_cover_meshes() {
    let mut r = renderer();
    let camera = look_at_camera(128, 96, Vec3::new(0.0, 0.0, 4.0), Vec3::ZERO, 1.0);

    // A cube in front of a cloud hides it: where the cube is, pixels equal the mesh-only render.
    let cube = spawn_cube(&mut r, Transform::from_xyz(0.0, 0.0, 2.0));
    let mesh_only = r.render(&camera).unwrap();
    let cube_pixels: Vec<usize> = (0..128 * 96).filter(|i| mesh_only.data[i * 4 + 3] == 255).collect();
    assert!(cube_pixels.len() > 500, "cube must cover part of the image ({} px)", cube_pixels.len());
    let cloud = synthetic_splats(2000, 0, 3);
    let behind = r.spawn_splats(cloud.clone(), Transform::from_xyz(0.0, 0.0, -0.5));
    let combined = r.render(&camera).unwrap();
    save_for_inspection(&combined, "occlusion_behind.png");
    for &i in &cube_pixels {
        assert!(combined.data[i * 4..i * 4 + 4] == mesh_only.data[i * 4..i * 4 + 4], "pixel {i}: splats behind the cube must be hidden");
    }
    assert!(combined.data != mesh_only.data, "the cloud must show around the cube");
    r.world_mut().despawn(behind);

    // Splats in front of the cube cover it: the result is the reference splat layer
    // composited over the mesh-only image.
    let front = Transform::from_xyz(0.0, 0.0, 2.8).with_scale(Vec3::splat(0.35));
    r.spawn_splats(cloud.clone(), front);
    let covered = r.render(&camera).unwrap();
    save_for_inspection(&covered, "occlusion_front.png");
    let mut black = camera.clone();
    black.background = Vec3::ZERO;
    let layer = reference(&black, &[item(&cloud, front)]);
    let expected: Vec<u8> = layer
        .pixels
        .iter()
        .enumerate()
        .flat_map(|(i, p)| {
            let m = &mesh_only.data[i * 4..i * 4 + 4];
            (0..4).map(move |c| {
                let under = m[c] as f32 / 255.0;
                ((p[c] + (1.0 - p[3]) * under).clamp(0.0, 1.0) * 255.0).round() as u8
            })
        })
        .collect();
    let (p, m) = (psnr(&covered.data, &expected), max_error(&covered.data, &expected));
    println!("splats over cube: PSNR {p:.2} dB, max error {m}");
    assert!(p >= 40.0, "splats over the cube: PSNR {p:.2} < 40 (max {m})");
    let changed = cube_pixels.iter().filter(|&&i| covered.data[i * 4..i * 4 + 3] != mesh_only.data[i * 4..i * 4 + 3]).count();
    assert!(changed > 100, "splats in front must cover cube pixels ({changed} changed)");
    r.world_mut().despawn(cube);
}

#[test]
fn viewport_offsets_and_two_cameras_in_one_frame() {
    use bevy::camera::Viewport;
    use bevy_radiance::camera::{CameraIntrinsics, IntrinsicProjection};
    use bevy_radiance::headless::HeadlessCamera;

    let mut r = renderer();
    let splats = synthetic_splats(1200, 2, 31);
    r.spawn_splats(splats.clone(), Transform::IDENTITY);
    let (w, h) = (80u32, 72u32);
    let pose_a = Transform::from_xyz(0.0, 0.2, 3.0).looking_at(Vec3::ZERO, Vec3::Y).to_matrix();
    let pose_b = Transform::from_xyz(2.0, -0.3, 2.0).looking_at(Vec3::ZERO, Vec3::Y).to_matrix();
    let small = CameraIntrinsics::from_horizontal_fov(w, h, 1.0);
    let expected = |pose| reference_rgba(&reference(&HeadlessCamera::new(small, pose), &[item(&splats, Transform::IDENTITY)]));

    // Camera A draws into a viewport at (37, 11) of a larger target.
    let (ox, oy) = (37usize, 11usize);
    let big = CameraIntrinsics { width: 150, height: 100, ..small };
    let view_a = r.spawn_view(&HeadlessCamera::new(big, pose_a)).unwrap();
    {
        let mut a = r.world_mut().entity_mut(view_a.camera);
        a.insert(Projection::custom(IntrinsicProjection::new(small)));
        a.get_mut::<Camera>().unwrap().viewport = Some(Viewport {
            physical_position: UVec2::new(ox as u32, oy as u32),
            physical_size: UVec2::new(w, h),
            ..default()
        });
    }
    // Camera B renders the same frame into its own image.
    let view_b = r.spawn_view(&HeadlessCamera::new(small, pose_b)).unwrap();
    r.update();
    let image_a = r.read_view(&view_a).unwrap();
    let image_b = r.read_view(&view_b).unwrap();
    save_for_inspection(&image_a, "viewport_a.png");
    save_for_inspection(&image_b, "viewport_b.png");
    let crop: Vec<u8> = (0..h as usize)
        .flat_map(|y| {
            let start = ((y + oy) * 150 + ox) * 4;
            image_a.data[start..start + w as usize * 4].to_vec()
        })
        .collect();
    for (name, gpu, pose) in [("viewport", &crop, pose_a), ("second camera", &image_b.data, pose_b)] {
        let cpu = expected(pose);
        let (p, m) = (psnr(gpu, &cpu.data), max_error(gpu, &cpu.data));
        println!("{name}: PSNR {p:.2} dB, max error {m}");
        assert!(gpu.chunks(4).filter(|px| px[3] > 16).count() > 200, "{name}: nothing drawn");
        assert!(p >= 40.0, "{name}: PSNR {p:.2} < 40 (max {m})");
    }
}

#[test]
fn per_entity_settings_match_reference() {
    use bevy_radiance::scene::SplatSettings;
    let mut r = renderer();
    let splats = synthetic_splats(1000, 3, 41);
    let camera = look_at_camera(120, 90, Vec3::new(0.3, 0.2, 3.0), Vec3::ZERO, 1.0);
    for settings in [
        SplatSettings { max_sh_degree: 0, ..default() },
        SplatSettings { max_sh_degree: 1, opacity_scale: 0.5, ..default() },
        SplatSettings { scale_factor: 0.6, opacity_scale: 1.5, ..default() },
    ] {
        let e = r.spawn_splats(splats.clone(), Transform::IDENTITY);
        r.world_mut().entity_mut(e).insert(settings);
        let gpu = r.render(&camera).unwrap();
        let items = [ReferenceItem { splats: &splats, world_from_local: Mat4::IDENTITY, params: settings.params(), time: 0.0, crop: &[], edits: &[] }];
        let cpu = reference(&camera, &items);
        let (p, m) = compare(&gpu, &cpu, "settings");
        println!("{settings:?}: PSNR {p:.2} dB, max error {m}");
        assert_not_blank(&gpu, "settings");
        assert!(p >= 40.0, "{settings:?}: PSNR {p:.2} < 40 (max {m})");
        r.world_mut().despawn(e);
    }
}

/// Whether each view that sees splats drew last frame's sorted order again.
fn reused_sort(r: &HeadlessRenderer) -> Vec<bool> {
    r.render_world()
        .iter_entities()
        .filter_map(|e| e.get::<SplatViewResources>().map(|v| v.reuse_sorted))
        .collect()
}

#[test]
fn still_frames_reuse_the_sort_and_any_move_sorts_again() {
    let mut r = renderer();
    let splats = synthetic_splats(3_000, 1, 41);
    let entity = r.spawn_splats(splats.clone(), Transform::IDENTITY);
    let camera = look_at_camera(160, 120, Vec3::new(0.3, 0.4, 3.0), Vec3::ZERO, 1.0);
    let view = r.spawn_view(&camera).unwrap();
    let first = r.read_view(&view).unwrap();
    r.update();
    assert_eq!(reused_sort(&r), [true], "nothing moved, yet the splats were sorted again");
    let still = r.read_view(&view).unwrap();
    assert!(still.data == first.data, "a frame drawn from the reused sort differs");
    let cpu = reference(&camera, &[item(&splats, Transform::IDENTITY)]);
    let (p, m) = compare(&still, &cpu, "still_frame");
    assert!(p >= 45.0, "still frame: PSNR {p:.2} dB < 45 (max error {m})");

    // Moving the entity (or the camera) sorts again, and the image follows.
    let moved = Transform::from_xyz(0.15, -0.1, 0.2).with_rotation(Quat::from_rotation_y(0.4));
    *r.world_mut().get_mut::<Transform>(entity).unwrap() = moved;
    r.update();
    assert_eq!(reused_sort(&r), [false], "the entity moved but the old order was drawn");
    let after = r.read_view(&view).unwrap();
    let cpu = reference(&camera, &[item(&splats, moved)]);
    let (p, m) = compare(&after, &cpu, "moved_entity");
    assert!(p >= 45.0, "moved entity: PSNR {p:.2} dB < 45 (max error {m})");
    let camera2 = look_at_camera(160, 120, Vec3::new(-0.5, 0.2, 2.8), Vec3::ZERO, 1.0);
    r.set_view_transform(&view, camera2.world_from_camera);
    r.update();
    assert_eq!(reused_sort(&r), [false], "the camera moved but the old order was drawn");
    let after = r.read_view(&view).unwrap();
    let cpu = reference(&camera2, &[item(&splats, moved)]);
    let (p, m) = compare(&after, &cpu, "moved_camera");
    assert!(p >= 45.0, "moved camera: PSNR {p:.2} dB < 45 (max error {m})");
}

#[test]
fn a_gpu_validation_error_is_reported_not_rendered_blank() {
    use bevy::render::render_resource::{BufferDescriptor, BufferUsages, CommandEncoderDescriptor};
    let mut r = renderer();
    r.spawn_splats(synthetic_splats(100, 0, 3), Transform::IDENTITY);
    let camera = look_at_camera(64, 48, Vec3::new(0.0, 0.0, 3.0), Vec3::ZERO, 1.0);
    assert!(r.render(&camera).is_ok());
    // Misuse the device: a copy from a buffer without COPY_SRC.
    let device = r.render_device().clone();
    let buffer = |usage| device.create_buffer(&BufferDescriptor { label: Some("test:misuse"), size: 16, usage, mapped_at_creation: false });
    let (src, dst) = (buffer(BufferUsages::STORAGE), buffer(BufferUsages::COPY_DST));
    let mut encoder = device.create_command_encoder(&CommandEncoderDescriptor { label: None });
    encoder.copy_buffer_to_buffer(&src, 0, &dst, 0, 16);
    r.render_queue().submit([encoder.finish()]);
    let error = r.render(&camera).expect_err("a frame after a validation error must not read back as a valid image");
    let message = error.to_string();
    assert!(message.contains("rendering failed") && message.contains("Validation"), "{message}");
    assert!(r.render_error().is_some());
}
