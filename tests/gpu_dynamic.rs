//! 4D Gaussians on the GPU against the CPU reference (same maths) at several
//! times of the clip, including times where splats fade in and out, with a
//! static capture in the same view (one shared sort) and two entities sharing
//! one asset at different times. Runs on Mesa lavapipe in CI.

mod common;

use bevy::prelude::*;
use bevy_radiance::splat::asset::GaussianSplats;
use bevy_radiance::splat::motion::MotionKind;
use bevy_radiance::testing::motion::synthetic_dynamic;
use bevy_radiance::splat::projection::SplatParams;
use bevy_radiance::splat::reference::ReferenceItem;
use bevy_radiance::timeline::{Playback, PlaybackClock};
use common::*;

fn manual(seconds: f32) -> Playback {
    Playback::new().with_clock(PlaybackClock::Manual).at(seconds)
}

fn item(splats: &GaussianSplats, transform: Transform, time: f32) -> ReferenceItem<'_> {
    ReferenceItem { splats, world_from_local: transform.to_matrix(), params: SplatParams::default(), time, crop: &[], edits: &[] }
}

#[test]
fn dynamic_splats_match_reference_over_the_clip() {
    let mut r = renderer();
    let background = synthetic_splats(1500, 1, 7);
    let background_transform = Transform::from_xyz(0.0, 0.0, -1.5);
    r.spawn_splats(background.clone(), background_transform);
    let mut camera = look_at_camera(160, 120, Vec3::new(0.0, 0.4, 3.4), Vec3::ZERO, 1.0);
    camera.background = Vec3::new(0.1, 0.1, 0.12);
    for (kind, seed) in [(MotionKind::Spacetime, 1), (MotionKind::Sliced4d, 2)] {
        let splats = synthetic_dynamic(kind, 3000, seed);
        assert_eq!(splats.duration_seconds(), 2.0);
        let entity = r.spawn_splats(splats.clone(), Transform::IDENTITY);
        let mut previous: Option<Vec<u8>> = None;
        for time in [0.0, 0.45, 1.0, 1.55, 2.0] {
            r.world_mut().entity_mut(entity).insert(manual(time));
            let gpu = r.render(&camera).unwrap();
            let reference = reference(&camera, &[item(&splats, Transform::IDENTITY, time), item(&background, background_transform, 0.0)]);
            let name = format!("dynamic_{kind:?}_{time}");
            let (p, m) = compare(&gpu, &reference, &name);
            println!("{kind:?} at {time} s: PSNR {p:.2} dB, max error {m}");
            assert_not_blank(&gpu, &name);
            assert!(p >= 40.0, "{name}: PSNR {p:.2} < 40 (max {m})");
            if let Some(previous) = &previous {
                let changed = previous.chunks(4).zip(gpu.data.chunks(4)).filter(|(a, b)| a != b).count();
                assert!(changed > 500, "{name}: the clip must change over time ({changed} pixels changed)");
            }
            previous = Some(gpu.data);
        }
        r.world_mut().despawn(entity);
    }
}

#[test]
fn entities_sharing_a_dynamic_asset_play_independently() {
    let mut r = renderer();
    let splats = synthetic_dynamic(MotionKind::Spacetime, 2000, 5);
    let handle = r.world_mut().resource_mut::<Assets<GaussianSplats>>().add(splats.clone());
    let left = Transform::from_xyz(-1.2, 0.0, 0.0);
    let right = Transform::from_xyz(1.2, 0.0, 0.0);
    use bevy_radiance::scene::GaussianSplat3d;
    r.world_mut().spawn((GaussianSplat3d(handle.clone()), left, manual(0.3)));
    r.world_mut().spawn((GaussianSplat3d(handle.clone()), right, manual(1.4)));
    // An entity without a playback gets a looping one with the clip's duration.
    let auto = r.world_mut().spawn((GaussianSplat3d(handle), Visibility::Hidden)).id();
    let camera = look_at_camera(160, 96, Vec3::new(0.0, 0.3, 4.5), Vec3::ZERO, 1.1);
    let gpu = r.render(&camera).unwrap();
    let expected = reference(&camera, &[item(&splats, left, 0.3), item(&splats, right, 1.4)]);
    let (p, m) = compare(&gpu, &expected, "dynamic_shared_asset");
    println!("shared asset at 0.3 s and 1.4 s: PSNR {p:.2} dB, max error {m}");
    assert!(p >= 40.0, "shared asset: PSNR {p:.2} < 40 (max {m})");
    let playback = r.world_mut().get::<Playback>(auto).expect("a dynamic capture gets a playback").clone();
    assert_eq!(playback.duration, Some(2.0));
    assert_eq!(playback.clock, PlaybackClock::Virtual);
}
