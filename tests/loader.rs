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
use bevy_radiance::splat::loader::{SplatLoaderSettings, load_splat_file};

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
