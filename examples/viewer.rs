//! Interactive viewer: a Gaussian-splat capture standing on a mesh floor beside
//! a mesh object, with an orbit camera.
//!
//! ```text
//! cargo run --release --example viewer [-- FILE] [--screenshot PATH]
//! ```
//!
//! Without FILE it shows the shipped capture `assets/playbot/` ("PLAYBOT" by
//! Stephane Agullo, CC-BY-4.0), a streamed SOG scene at its finest level.
//! Left-drag orbits, right-drag pans, the wheel zooms, `R` resets the view.
//! `--screenshot PATH` saves the window after a few frames and exits (used to
//! check the viewer under Xvfb).

use std::path::PathBuf;

use bevy::prelude::*;
use bevy_radiance::prelude::*;
use bevy_radiance::io::load_splat_file;

#[path = "support/orbit.rs"]
mod orbit;
#[path = "support/screenshot.rs"]
mod screenshot;
use orbit::{Orbit, OrbitPlugin};
use screenshot::ScreenshotPlugin;

#[derive(Resource)]
struct Options {
    file: Option<PathBuf>,
}

#[derive(Component)]
struct Capture;


fn main() {
    let mut file = None;
    let mut screenshot = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--screenshot" => screenshot = args.next().map(PathBuf::from),
            _ => file = Some(PathBuf::from(arg)),
        }
    }
    App::new()
        .add_plugins((
            DefaultPlugins.set(WindowPlugin {
                primary_window: Some(Window {
                    title: "bevy_radiance viewer".into(),
                    ..default()
                }),
                ..default()
            }),
            RadiancePlugin,
            OrbitPlugin,
            ScreenshotPlugin { path: screenshot, at_frame: 30 },
        ))
        .insert_resource(Options { file })
        .insert_resource(ClearColor(Color::srgb(0.05, 0.06, 0.08)))
        .add_systems(Startup, setup)
        .add_systems(Update, frame_capture)
        .run();
}

fn setup(
    mut commands: Commands,
    options: Res<Options>,
    assets: Res<AssetServer>,
    mut splat_assets: ResMut<Assets<GaussianSplats>>,
) {
    let handle = match &options.file {
        Some(path) => match load_splat_file(path, &SplatLoaderSettings::default()) {
            Ok(splats) => splat_assets.add(splats),
            Err(e) => {
                error!("{e}");
                std::process::exit(1);
            }
        },
        None => assets.load("playbot/lod-meta.json"),
    };
    commands.spawn((GaussianSplat3d(handle), Capture));
    commands.spawn((
        DirectionalLight {
            illuminance: 8_000.0,
            shadow_maps_enabled: true,
            ..default()
        },
        Transform::from_xyz(3.0, 6.0, 2.0).looking_at(Vec3::ZERO, Vec3::Y),
    ));
    commands.spawn((Camera3d::default(), Orbit::new(Vec3::ZERO, 4.0, 0.6, -0.25)));
}

/// Once the capture is loaded: robust bounds → floor under it, a mesh beside it,
/// camera framing it.
fn frame_capture(
    mut commands: Commands,
    captures: Query<&GaussianSplat3d, With<Capture>>,
    splat_assets: Res<Assets<GaussianSplats>>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
    mut cameras: Query<&mut Orbit>,
    mut done: Local<bool>,
) {
    if *done {
        return;
    }
    let Some(splats) = captures.iter().next().and_then(|c| splat_assets.get(&c.0)) else {
        return;
    };
    *done = true;
    let (lo, hi) = robust_bounds(&splats.positions);
    let center = (lo + hi) * 0.5;
    let extent = (hi - lo).max_element().max(0.1);
    info!("capture: {} splats, SH degree {}, bounds {lo} .. {hi}", splats.len(), splats.sh_degree);
    commands.spawn((
        Mesh3d(meshes.add(Plane3d::default().mesh().size(extent * 4.0, extent * 4.0))),
        MeshMaterial3d(materials.add(Color::srgb(0.35, 0.37, 0.4))),
        Transform::from_xyz(center.x, lo.y, center.z),
    ));
    let size = extent * 0.25;
    commands.spawn((
        Mesh3d(meshes.add(Cuboid::new(size, size, size))),
        MeshMaterial3d(materials.add(Color::srgb(0.8, 0.25, 0.15))),
        Transform::from_xyz(hi.x + size, lo.y + size * 0.5, center.z),
    ));
    for mut orbit in &mut cameras {
        orbit.set_home(center, extent * 1.6, 0.5, -0.2);
    }
}

/// 2nd–98th percentile box of the splat centres (captures carry far floaters).
fn robust_bounds(points: &[Vec3]) -> (Vec3, Vec3) {
    if points.is_empty() {
        return (Vec3::splat(-1.0), Vec3::splat(1.0));
    }
    let axis = |f: fn(&Vec3) -> f32| {
        let mut v: Vec<f32> = points.iter().map(f).collect();
        v.sort_by(f32::total_cmp);
        (v[v.len() * 2 / 100], v[(v.len() * 98 / 100).min(v.len() - 1)])
    };
    let (x, y, z) = (axis(|p| p.x), axis(|p| p.y), axis(|p| p.z));
    (Vec3::new(x.0, y.0, z.0), Vec3::new(x.1, y.1, z.1))
}
