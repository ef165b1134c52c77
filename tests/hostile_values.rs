//! One policy for hostile values, applied alike by every loader whose format
//! can carry them (float PLY, glTF, dynamic PLY): a NaN or infinite position,
//! scale, opacity or SH coefficient, or a zero rotation quaternion, rejects
//! the file with a typed error naming the splat; finite extremes (denormal
//! quaternions, scales of 1e30) load, and a splat whose covariance overflows
//! in the projection is culled by the CPU reference (it draws nothing).
//! Quantised formats (SPZ, `.splat`, SOG, compressed PLY
//! attributes) cannot encode these values.

mod common;

use bevy::math::{Mat4, Quat, Vec3};
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
    let item = |s| ReferenceItem { splats: s, world_from_local: Mat4::IDENTITY, params: SplatParams::default(), time: 0.0 };
    let with_image = reference(&camera, &[item(&huge)]);
    let without_image = reference(&camera, &[item(&without)]);
    assert!(with_image.pixels.iter().all(|p| p.is_finite()), "no NaN or infinite pixel");
    assert_eq!(with_image.pixels, without_image.pixels, "the overflowing splat is culled");
}
