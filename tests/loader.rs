//! Loading through Bevy's asset server and from disk: settings from `.meta`
//! files, the default axis conversion, and errors that name the file.

mod common;

use std::path::Path;

use bevy::asset::LoadState;
use bevy::prelude::*;
use bevy_radiance::headless::{HeadlessRenderer, HeadlessSettings};
use bevy_radiance::io::gaussian_ply::write_gaussian_ply;
use bevy_radiance::io::parse_splat_ply;
use bevy_radiance::io::ply::PlyFormat;
use bevy_radiance::splat::asset::GaussianSplats;
use bevy_radiance::io::{SplatLoaderSettings, load_splat_file};

fn manifest(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn load(r: &mut HeadlessRenderer, path: &str) -> Result<GaussianSplats, String> {
    let handle: Handle<GaussianSplats> = r.world_mut().resource::<AssetServer>().load(path.to_string());
    for _ in 0..500 {
        r.update();
        let server = r.world_mut().resource::<AssetServer>();
        match server.load_state(&handle) {
            LoadState::Loaded => {
                return Ok(r.world_mut().resource::<Assets<GaussianSplats>>().get(&handle).cloned().expect("loaded asset"));
            }
            LoadState::Failed(e) => return Err(e.to_string()),
            _ => std::thread::sleep(std::time::Duration::from_millis(5)),
        }
    }
    Err(format!("{path} did not load"))
}

#[test]
fn asset_server_loads_with_default_and_meta_settings() {
    let mut r = HeadlessRenderer::new(HeadlessSettings { asset_folder: manifest("tests/data").display().to_string(), ..Default::default() })
        .unwrap_or_else(|e| panic!("GPU test cannot run: {e}"));
    let raw = parse_splat_ply(&std::fs::read(manifest("tests/data/fruit_drops_minimal.ply")).unwrap()).unwrap();

    // Default settings: OpenCV frame turned upright for Bevy (y and z negated).
    let upright = load(&mut r, "fruit_drops_minimal.ply").unwrap();
    assert_eq!(upright.len(), raw.len());
    for (a, b) in upright.positions.iter().zip(&raw.positions) {
        assert!((a.x - b.x).abs() < 1e-6 && (a.y + b.y).abs() < 1e-6 && (a.z + b.z).abs() < 1e-6);
    }

    // `meta_as_is.ply.meta` asks for the file's own axes and SH degree 1.
    let as_is = load(&mut r, "meta_as_is.ply").unwrap();
    let raw_small = parse_splat_ply(&std::fs::read(manifest("tests/data/meta_as_is.ply")).unwrap()).unwrap();
    assert_eq!(as_is.positions, raw_small.positions);
    assert_eq!(as_is.sh_degree, 1);
    assert_eq!(raw_small.sh_degree, 3);

    // A broken file fails to load with an error naming it.
    let error = load(&mut r, "truncated.ply").unwrap_err();
    assert!(error.contains("truncated.ply") && error.contains("truncated"), "{error}");
}

#[test]
fn disk_errors_name_the_file_and_the_problem() {
    let dir = std::env::temp_dir().join(format!("bevy_radiance_loader_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bytes = std::fs::read(manifest("tests/data/fruit_drops_minimal.ply")).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("cut.ply", bytes[..bytes.len() / 2].to_vec(), "truncated"),
        ("lying.ply", {
            let header_end = bytes.windows(11).position(|w| w == b"end_header\n").unwrap() + 11;
            let text = String::from_utf8_lossy(&bytes[..header_end]).replace("element vertex 4721", "element vertex 999999999");
            let mut b = text.into_bytes();
            b.extend_from_slice(&[0u8; 64]);
            b
        }, "truncated"),
        ("text.ply", b"hello world".to_vec(), "not a PLY file"),
        ("nan.ply", {
            let mut splats = parse_splat_ply(&bytes).unwrap();
            splats.positions[7].x = f32::NAN;
            write_gaussian_ply(&splats, PlyFormat::BinaryLittleEndian)
        }, "non-finite"),
    ];
    for (name, data, problem) in cases {
        let path = dir.join(name);
        std::fs::write(&path, data).unwrap();
        let error = load_splat_file(&path, &SplatLoaderSettings::default()).unwrap_err().to_string();
        assert!(error.contains(name) && error.contains(problem), "{name}: {error}");
    }
    let missing = load_splat_file(&dir.join("missing.ply"), &SplatLoaderSettings::default()).unwrap_err().to_string();
    assert!(missing.contains("missing.ply"), "{missing}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn dynamic_files_load_from_disk_with_time_settings() {
    use bevy_radiance::io::dynamic_ply::{Sliced4dNaming, write_sliced4d_ply, write_spacetime_ply};
    use bevy_radiance::splat::asset::AxisConvention;
    use bevy_radiance::splat::motion::{MotionKind, SplatMotion};
    use bevy_radiance::testing::motion::synthetic_dynamic;

    let dir = std::env::temp_dir().join(format!("bevy_radiance_dynamic_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spacetime = synthetic_dynamic(MotionKind::Spacetime, 20, 1);
    let sliced = synthetic_dynamic(MotionKind::Sliced4d, 20, 2);
    let stg = dir.join("clip.ply");
    let ply4d = dir.join("clip.ply4d");
    std::fs::write(&stg, write_spacetime_ply(&spacetime, PlyFormat::BinaryLittleEndian).unwrap()).unwrap();
    std::fs::write(&ply4d, write_sliced4d_ply(&sliced, PlyFormat::BinaryLittleEndian, Sliced4dNaming::Ply4d).unwrap()).unwrap();

    // Defaults: OpenCV axes turned upright, the formats' own time mappings.
    let a = load_splat_file(&stg, &SplatLoaderSettings::default()).unwrap();
    assert_eq!(a.motion.kind(), MotionKind::Spacetime);
    assert!((a.duration_seconds() - 1.0 / 0.6).abs() < 1e-5);
    assert!((a.positions[3].y + spacetime.positions[3].y).abs() < 1e-6);
    let b = load_splat_file(&ply4d, &SplatLoaderSettings::default()).unwrap();
    assert_eq!(b.motion.kind(), MotionKind::Sliced4d);
    // Sliced 4D default clip: the range of the splats' mean times, in seconds.
    let SplatMotion::Sliced4d(m) = &sliced.motion else { unreachable!() };
    let lo = m.mean_time.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = m.mean_time.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    assert!((b.duration_seconds() - (hi - lo)).abs() < 1e-6);
    assert_eq!(b.model_time(0.0), lo);

    // Overrides from the settings; AsIs keeps the file's frame.
    let settings = SplatLoaderSettings { axes: AxisConvention::AsIs, time_scale: Some(2.0), time_range: Some((0.0, 3.0)), ..Default::default() };
    let c = load_splat_file(&ply4d, &settings).unwrap();
    assert_eq!(c.duration_seconds(), 1.5);
    assert_eq!(c.model_time(1.0), 2.0);
    for i in 0..c.len() {
        let (x, y) = (c.evaluate(i, 0.7), sliced.evaluate(i, 0.7));
        assert!(x.position.abs_diff_eq(y.position, 1e-5) && (x.opacity - y.opacity).abs() < 1e-5);
    }

    // A bad override is an error naming the file.
    let bad = SplatLoaderSettings { time_scale: Some(0.0), ..Default::default() };
    let error = load_splat_file(&stg, &bad).unwrap_err().to_string();
    assert!(error.contains("clip.ply") && error.contains("invalid timeline"), "{error}");
    let _ = std::fs::remove_dir_all(&dir);
}
