//! The GPU splat renderer against the CPU reference on synthetic scenes
//! (runs on Mesa lavapipe in CI).

mod common;

use bevy::prelude::*;
use bevy_radiance::splat::projection::SplatParams;
use bevy_radiance::splat::reference::ReferenceItem;
use common::*;

#[test]
fn synthetic_sh_degrees_match_reference() {
    let mut r = renderer();
    for degree in 0..=3u8 {
        let splats = synthetic_splats(700, degree, degree as u64 + 1);
        let entity = r.spawn_splats(splats.clone(), Transform::IDENTITY);
        let camera = look_at_camera(160, 120, Vec3::new(0.4, 0.3, 3.2), Vec3::ZERO, 1.0);
        let gpu = r.render(&camera).unwrap();
        let items = [ReferenceItem { splats: &splats, world_from_local: Mat4::IDENTITY, params: SplatParams::default(), time: 0.0 }];
        let cpu = reference(&camera, &items);
        let (p, m) = compare(&gpu, &cpu, &format!("synthetic_deg{degree}"));
        assert_not_blank(&gpu, "synthetic");
        println!("degree {degree}: PSNR {p:.2} dB, max error {m}");
        assert!(p >= 45.0, "degree {degree}: PSNR {p:.2} dB < 45 (max error {m})");
        r.world_mut().despawn(entity);
    }
}
