//! One policy for hostile values, applied alike by every loader whose format
//! can carry them (float PLY, glTF, dynamic PLY): a NaN or infinite position,
//! scale, opacity or SH coefficient, or a zero rotation quaternion, rejects
//! the file with a typed error naming the splat; finite extremes (denormal
//! quaternions, scales of 1e30) load, and a splat whose covariance overflows
//! in the projection is culled by the CPU reference (it draws nothing).
//! Quantised formats (SPZ, `.splat`, SOG, compressed PLY
//! attributes) cannot encode these values. On the GPU, extreme but valid
//! values (and near-degenerate 4D covariances) never make an output pixel
//! NaN or infinite (read back from an HDR float view).

mod common;

use bevy::math::{Mat4, Quat, Vec3};
use bevy::prelude::{Assets, Transform};
use bevy_radiance::field::RadianceField;
use bevy_radiance::scene::{GaussianSplat3d, RadianceField3d};
use bevy_radiance::splat::motion::SplatMotion;
use bevy_radiance::testing::field::{TestSnapshotSpec, test_field};
use bevy_radiance::timeline::{Playback, PlaybackClock};
use bevy_radiance::io::dynamic_ply::write_spacetime_ply;
use bevy_radiance::io::gltf_splats::{parse_gltf_splats, write_glb_splats};
use bevy_radiance::io::ply::PlyFormat;
use bevy_radiance::io::{gaussian_ply::write_gaussian_ply, parse_splat_ply};
use bevy_radiance::splat::asset::GaussianSplats;
use bevy_radiance::splat::motion::MotionKind;
use bevy_radiance::splat::projection::SplatParams;
use bevy_radiance::splat::reference::ReferenceItem;
use bevy_radiance::testing::motion::synthetic_dynamic;
use common::*;

/// Every format that stores these attributes as floats, as `(name, parse(write(splats)))`.
fn round_trips(splats: &GaussianSplats) -> Vec<(&'static str, Result<GaussianSplats, String>)> {
    let ply = write_gaussian_ply(splats, PlyFormat::BinaryLittleEndian);
    let ascii = write_gaussian_ply(splats, PlyFormat::Ascii);
    let glb = write_glb_splats(splats);
    let mut dynamic = synthetic_dynamic(MotionKind::Spacetime, splats.len(), 5);
    dynamic.positions = splats.positions.clone();
    dynamic.rotations = splats.rotations.clone();
    dynamic.scales = splats.scales.clone();
    dynamic.opacities = splats.opacities.clone();
    dynamic.sh_degree = splats.sh_degree;
    dynamic.sh = splats.sh.clone();
    let spacetime = write_spacetime_ply(&dynamic, PlyFormat::BinaryLittleEndian).expect("a spacetime scene");
    vec![
        ("binary PLY", parse_splat_ply(&ply).map_err(|e| e.to_string())),
        ("ASCII PLY", parse_splat_ply(&ascii).map_err(|e| e.to_string())),
        ("glTF", parse_gltf_splats(&glb, &|_| None).map_err(|e| e.to_string())),
        ("Spacetime PLY", parse_splat_ply(&spacetime).map_err(|e| e.to_string())),
    ]
}

/// Puts one hostile value into splat 1.
type Damage = fn(&mut GaussianSplats);

/// 300 splats (SH degree 1: 4 coefficients each); the tests damage splat 1.
fn base() -> GaussianSplats {
    synthetic_splats(300, 1, 7)
}

#[test]
fn non_finite_values_and_zero_rotations_are_rejected_by_every_format() {
    let cases: [(&str, &str, Damage); 7] = [
        ("NaN position", "position", |s| s.positions[1].y = f32::NAN),
        ("infinite position", "position", |s| s.positions[1].x = f32::INFINITY),
        ("infinite scale", "scale", |s| s.scales[1].z = f32::INFINITY),
        ("NaN opacity", "opacity", |s| s.opacities[1] = f32::NAN),
        ("NaN SH", "SH", |s| s.sh[4][1] = f32::NAN),
        ("NaN rotation", "rotation", |s| s.rotations[1] = Quat::from_xyzw(f32::NAN, 0.0, 0.0, 1.0)),
        ("zero rotation", "rotation", |s| s.rotations[1] = Quat::from_xyzw(0.0, 0.0, 0.0, 0.0)),
    ];
    for (case, field, damage) in cases {
        let mut splats = base();
        damage(&mut splats);
        for (format, result) in round_trips(&splats) {
            match result {
                Ok(_) => panic!("{format}, {case}: loaded"),
                Err(message) => assert!(
                    message.contains("splat 1") && message.contains(field),
                    "{format}, {case}: the error names neither splat 1 nor its {field}: {message}"
                ),
            }
        }
    }
}

#[test]
fn finite_extremes_load_and_overflowing_splats_draw_nothing() {
    // Denormal quaternion components still name a rotation.
    let mut splats = base();
    splats.rotations[1] = Quat::from_xyzw(1e-40, 0.0, 0.0, 2e-40);
    for (format, result) in round_trips(&splats) {
        match result {
            Ok(loaded) => {
                let q = loaded.rotations[1];
                assert!(q.is_finite() && (q.length() - 1.0).abs() < 1e-5, "{format}: {q}");
            }
            // Spacetime Gaussians scale ω with the rotation's normalisation:
            // ω / 1e-40 overflows, and that is rejected like any non-finite value.
            Err(message) if format == "Spacetime PLY" => {
                assert!(message.contains("splat 1") && message.contains("omega"), "{message}")
            }
            Err(message) => panic!("{format}: {message}"),
        }
    }

    // A scale of 1e30 loads; its covariance overflows f32 in the projection,
    // so the splat is culled and the image equals the scene without it.
    let mut huge = base();
    huge.scales[1] = Vec3::splat(1e30);
    for (format, result) in round_trips(&huge) {
        let loaded = result.unwrap_or_else(|e| panic!("{format}: {e}"));
        assert!(loaded.scales[1].x > 1e29, "{format}");
    }
    let mut without = huge.clone();
    without.retain(|i| i != 1);
    let camera = look_at_camera(48, 32, Vec3::new(0.0, 0.2, 3.0), Vec3::ZERO, 60f32.to_radians());
    let item = |s| ReferenceItem { splats: s, world_from_local: Mat4::IDENTITY, params: SplatParams::default(), time: 0.0, crop: &[], edits: &[] };
    let with_image = reference(&camera, &[item(&huge)]);
    let without_image = reference(&camera, &[item(&without)]);
    assert!(with_image.pixels.iter().all(|p| p.is_finite()), "no NaN or infinite pixel");
    assert_eq!(with_image.pixels, without_image.pixels, "the overflowing splat is culled");
}

/// Extreme but loadable values in every splat attribute, a 4D clip with a
/// near-degenerate temporal covariance and huge spatial scales, and a field,
/// rendered on the GPU through an HDR view into a float image: no pixel is
/// NaN or infinite, at several clip times and with and without MSAA.
#[test]
fn no_output_pixel_is_nan_or_infinite() {
    let mut splats = synthetic_splats(400, 1, 11);
    let eye = Vec3::new(0.2, 0.3, 3.0);
    splats.scales[0] = Vec3::splat(1e30);
    splats.scales[1] = Vec3::splat(1e-30);
    splats.scales[2] = Vec3::new(1e30, 1e-30, 1.0);
    splats.opacities[3] = 1.0;
    splats.opacities[4] = 1e-40;
    splats.sh[5 * 4] = [1e30, -1e30, 1e30];
    splats.sh[6 * 4 + 1] = [3e38, 3e38, -3e38];
    splats.positions[7] = eye;
    splats.positions[8] = Vec3::new(1e30, -1e30, 1e30);
    splats.positions[9] = eye + Vec3::new(0.0, 0.0, -1e-7);
    splats.validate().expect("extreme but valid values");

    let mut clip = synthetic_dynamic(MotionKind::Sliced4d, 200, 12);
    if let SplatMotion::Sliced4d(m) = &mut clip.motion {
        m.time_scales[0] = 1e-20;
        m.time_scales[1] = 1e15;
        clip.scales[2] = Vec3::splat(1e15);
        m.recompute_covariance(&clip.rotations, &clip.scales);
    }
    clip.validate().expect("near-degenerate but valid motion");

    let mut r = renderer();
    let field: RadianceField = test_field(&TestSnapshotSpec::default());
    let world = r.world_mut();
    let splats = world.resource_mut::<Assets<GaussianSplats>>().add(splats);
    let clip = world.resource_mut::<Assets<GaussianSplats>>().add(clip);
    let field = world.resource_mut::<Assets<RadianceField>>().add(field);
    world.spawn((GaussianSplat3d(splats), Transform::IDENTITY));
    let playback = Playback::new().with_clock(PlaybackClock::Manual);
    let clip_entity = world.spawn((GaussianSplat3d(clip), playback, Transform::from_xyz(0.3, 0.0, 0.0))).id();
    world.spawn((RadianceField3d(field), Transform::from_xyz(-0.4, 0.0, -0.5)));

    for msaa in [1, 4] {
        let mut camera = look_at_camera(64, 48, eye, Vec3::ZERO, 60f32.to_radians());
        camera.hdr = true;
        camera.float_output = true;
        camera.msaa = msaa;
        camera.field_render_scale = 0.25;
        let view = r.spawn_view(&camera).expect("a view");
        for time in [0.0, 0.37, 1.0] {
            r.world_mut().get_mut::<Playback>(clip_entity).expect("the clip").time = time;
            r.update();
            let pixels = r.read_view_linear(&view).expect("readback");
            let bad = pixels.iter().filter(|p| p.iter().any(|v| !v.is_finite())).count();
            let covered = pixels.iter().filter(|p| p[3] > 0.05).count();
            println!("MSAA {msaa}, time {time}: {covered} of {} pixels covered, {bad} not finite", pixels.len());
            assert!(covered > pixels.len() / 10, "MSAA {msaa}, time {time}: the scene is on screen ({covered} pixels)");
            assert_eq!(bad, 0, "MSAA {msaa}, time {time}: {bad} pixels are NaN or infinite");
        }
        r.despawn_view(view);
    }
}

/// A splat whose covariance overflows (scale 1e30) is hidden on the GPU as in
/// the CPU reference, and costs the splats packed beside it no precision: the
/// scene with it renders as the CPU reference of the scene without it.
#[test]
fn an_overflowing_outlier_changes_nothing_on_the_gpu() {
    let mut r = renderer();
    let camera = look_at_camera(96, 64, Vec3::new(0.0, 0.2, 3.0), Vec3::ZERO, 60f32.to_radians());
    let mut huge = synthetic_splats(2000, 1, 21);
    let mut without = huge.clone();
    for i in (0..huge.len()).step_by(97) {
        huge.scales[i] = Vec3::new(1e30, 0.01, 0.01);
    }
    without.retain(|i| i % 97 != 0);
    let entity = r.spawn_splats(huge, bevy::prelude::Transform::IDENTITY);
    let gpu = r.render(&camera).expect("render");
    r.world_mut().despawn(entity);
    let item = ReferenceItem { splats: &without, world_from_local: Mat4::IDENTITY, params: SplatParams::default(), time: 0.0, crop: &[], edits: &[] };
    let cpu = reference(&camera, &[item]);
    let (p, m) = compare(&gpu, &cpu, "overflowing_outliers");
    println!("21 overflowing outliers among 2,000 splats: PSNR {p:.2} dB against the reference without them (max error {m})");
    assert_not_blank(&gpu, "outliers scene");
    assert!(p >= 45.0, "PSNR {p:.2} dB < 45 (max error {m})");
}
