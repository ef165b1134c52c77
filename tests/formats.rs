//! Real files of every format load through the one loader with the counts
//! their headers state, in the canonical frame.

use std::path::Path;

use bevy_radiance::splat::asset::AxisConvention;
use bevy_radiance::io::{LodSelection, SplatLoaderSettings, load_splat_file};

fn manifest(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn as_is(lod: LodSelection) -> SplatLoaderSettings {
    SplatLoaderSettings { axes: AxisConvention::AsIs, lod, ..Default::default() }
}

#[test]
fn playbot_loads_at_every_lod_level() {
    let counts = [500_000usize, 250_000, 125_000, 31_000, 8_406, 3_000, 1_873];
    let path = manifest("assets/playbot/lod-meta.json");
    for (level, &count) in counts.iter().enumerate() {
        let splats = load_splat_file(&path, &as_is(LodSelection::Level(level as u32))).unwrap();
        assert_eq!(splats.len(), count, "level {level}");
        assert_eq!(splats.sh_degree, 2, "level {level}");
    }
    // A budget picks the finest level that fits.
    let within = load_splat_file(&path, &as_is(LodSelection::Budget(100_000))).unwrap();
    assert_eq!(within.len(), 31_000);
    let error = load_splat_file(&path, &as_is(LodSelection::Level(7))).unwrap_err().to_string();
    assert!(error.contains("lod-meta.json") && error.contains("level 7"), "{error}");
    let error = load_splat_file(&path, &as_is(LodSelection::Budget(10))).unwrap_err().to_string();
    assert!(error.contains("no LOD level"), "{error}");
}

#[test]
fn bundled_sog_frame_loads() {
    let splats = load_splat_file(&manifest("assets/wave/wave_0001.sog"), &as_is(LodSelection::default())).unwrap();
    assert_eq!(splats.len(), 4_225);
}

#[test]
fn spz_and_compressed_ply_agree_attribute_by_attribute() {
    let ply = load_splat_file(&manifest("assets/biker.compressed.ply"), &as_is(LodSelection::default())).unwrap();
    let spz = load_splat_file(&manifest("tests/data/biker.spz"), &as_is(LodSelection::default())).unwrap();
    assert_eq!(ply.len(), 152_746);
    assert_eq!(spz.len(), ply.len());
    // Tolerances: SPZ positions are 24-bit fixed point with 12 fractional bits
    // (half a step 2^-13, plus float error of the PLY's chunk interpolation);
    // log-scales are 1/16 steps; opacity is a byte; SPZ DC colour bytes step
    // 1/(0.15·255); rotations are 3×10-bit smallest-three.
    let mut worst = [0f32; 5];
    for i in 0..ply.len() {
        worst[0] = worst[0].max((ply.positions[i] - spz.positions[i]).abs().max_element());
        // SPZ stores ln(scale) as a byte: s/16 − 10, so values clamp to [−10, 5.9375].
        let clamped = ply.scales[i].ln().clamp(bevy::math::Vec3::splat(-10.0), bevy::math::Vec3::splat(5.9375));
        worst[1] = worst[1].max((clamped - spz.scales[i].ln()).abs().max_element());
        worst[2] = worst[2].max((ply.opacities[i] - spz.opacities[i]).abs());
        let dc = |s: &bevy_radiance::splat::asset::GaussianSplats| bevy::math::Vec3::from_array(s.sh_of(i)[0]);
        worst[3] = worst[3].max((dc(&ply) - dc(&spz)).abs().max_element());
        worst[4] = worst[4].max(1.0 - ply.rotations[i].dot(spz.rotations[i]).abs());
    }
    println!("max deviations: position {:.3e}, ln scale {:.4}, opacity {:.4}, DC {:.4}, rotation 1-|dot| {:.2e}", worst[0], worst[1], worst[2], worst[3], worst[4]);
    assert!(worst[0] <= 1.01 * 2f32.powi(-13), "positions differ by {}", worst[0]);
    assert!(worst[1] <= 1.0 / 32.0 + 1e-4, "log scales differ by {}", worst[1]);
    assert!(worst[2] <= 0.5 / 255.0 + 1e-6, "opacities differ by {}", worst[2]);
    assert!(worst[3] <= 0.5 / (0.15 * 255.0) + 1e-4, "DC differs by {}", worst[3]);
    assert!(worst[4] <= 1e-5, "rotations differ by {}", worst[4]);
}
