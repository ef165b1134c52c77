//! The CPU reference ray marcher on a real instant-ngp snapshot: the compact
//! lego field (`assets/lego_ngp_small/lego.ingp`) rendered from test views 0,
//! 40 and 80 of the NeRF-synthetic lego test set and compared with the
//! ground-truth photographs, plus loading through Bevy's asset server.

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use bevy::asset::LoadState;
use bevy::math::{Mat4, Vec3};
use bevy::prelude::*;
use bevy_radiance::camera::{CameraIntrinsics, read_transforms};
use bevy_radiance::RadianceFieldPlugin;
use bevy_radiance::field::{MarchSettings, RadianceField, render_field_reference};
use bevy_radiance::io::load_radiance_field_file;

fn manifest(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Render size. The snapshot's README quotes PSNRs at 200×200 (photographs 2×2
/// box-averaged); rendering the three views at 200×200 takes a few seconds in
/// release builds on two cores.
const SIZE: u32 = 200;

/// `(view, README PSNR at 200×200)` of `lego_ngp_small/README.md`.
const VIEWS: [(usize, f64); 3] = [(0, 31.86), (40, 32.02), (80, 28.89)];

/// How far below the README's figures a view may fall (dB).
const TOLERANCE_DB: f64 = 0.5;

/// Decodes a PNG into 8-bit RGBA.
#[test]
fn lego_small_matches_test_photographs() {
    let field = load_radiance_field_file(&manifest("assets/lego_ngp_small/lego.ingp")).unwrap();
    assert_eq!(field.aabb_scale, 1);
    assert_eq!(field.occupancy.cascades(), 1);
    // The file holds +inf cells, so instant-ngp's mean is infinite and the threshold is its cap.
    assert_eq!(field.occupancy.threshold, 0.01);
    assert_eq!(field.grid.levels.iter().map(|l| l.dense).collect::<Vec<_>>(), [true, true, false, false, false, false, false, false]);

    let frames = read_transforms(&manifest("tests/data/lego_test_cameras.json")).unwrap();
    assert_eq!(frames.len(), VIEWS.len());
    let settings = MarchSettings::default();
    let mut total = 0.0;
    let mut report = Vec::new();
    for (frame, (view_index, readme_psnr)) in frames.iter().zip(VIEWS) {
        let k = frame.intrinsics;
        let s = SIZE as f32 / k.width as f32;
        let intrinsics = CameraIntrinsics {
            width: SIZE,
            height: SIZE,
            fx: k.fx * s,
            fy: k.fy * s,
            cx: k.cx * s,
            cy: k.cy * s,
        };
        let view = intrinsics.camera_view(frame.world_from_camera, 0.01);
        let start = Instant::now();
        let image = render_field_reference(&field, &view, Mat4::IDENTITY, Vec3::ONE, &settings);
        let seconds = start.elapsed().as_secs_f64();
        total += seconds;
        let rendered: Vec<Vec3> = image.pixels.iter().map(|p| p.truncate()).collect();
        let truth = common::ground_truth(&manifest(&format!("tests/data/lego_test/r_{view_index}.png")), SIZE);
        let value = common::psnr_vec3(&rendered, &truth);
        let line = format!("view {view_index}: PSNR {value:.3} dB at {SIZE}×{SIZE} (README {readme_psnr:.2}), {seconds:.2} s");
        println!("{line}");
        report.push((view_index, value, readme_psnr, line));
    }
    println!("total CPU render time: {total:.2} s");
    for (view_index, value, readme_psnr, line) in report {
        assert!(value >= readme_psnr - TOLERANCE_DB, "view {view_index} is too far below the README: {line}");
    }
}

fn wait_for(app: &mut App, handle: &Handle<RadianceField>) -> Result<(), String> {
    for _ in 0..2000 {
        app.update();
        match app.world().resource::<AssetServer>().load_state(handle) {
            LoadState::Loaded => return Ok(()),
            LoadState::Failed(e) => return Err(e.to_string()),
            _ => std::thread::sleep(std::time::Duration::from_millis(5)),
        }
    }
    Err("timed out".into())
}

#[test]
fn asset_server_loads_snapshots_and_names_broken_files() {
    let dir = std::env::temp_dir().join(format!("bevy_radiance_nerf_cpu_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bytes = std::fs::read(manifest("assets/lego_ngp_small/lego.ingp")).unwrap();
    std::fs::write(dir.join("broken.ingp"), &bytes[..bytes.len() / 3]).unwrap();
    std::fs::write(dir.join("lego.msgpack"), {
        use std::io::Read;
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..]).read_to_end(&mut raw).unwrap();
        raw
    })
    .unwrap();

    let mut app = App::new();
    app.add_plugins((
        MinimalPlugins,
        AssetPlugin {
            file_path: dir.display().to_string(),
            ..Default::default()
        },
        RadianceFieldPlugin,
    ));
    let good: Handle<RadianceField> = app.world().resource::<AssetServer>().load("lego.msgpack");
    let bad: Handle<RadianceField> = app.world().resource::<AssetServer>().load("broken.ingp");
    let good_result = wait_for(&mut app, &good);
    let bad_result = wait_for(&mut app, &bad);
    let _ = std::fs::remove_dir_all(&dir);

    good_result.unwrap();
    let field = app.world().resource::<Assets<RadianceField>>().get(&good).unwrap();
    assert_eq!(field.grid.config.log2_hashmap_size, 15);
    let error = bad_result.unwrap_err();
    assert!(error.contains("broken.ingp") && error.contains("gzip"), "{error}");
}
