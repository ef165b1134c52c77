//! A trained radiance field (instant-ngp snapshot) beside meshes, with an orbit
//! camera.
//!
//! ```text
//! cargo run --release --example nerf [-- FILE.ingp|FILE.msgpack] [--render-scale S] [--screenshot PATH]
//! ```
//!
//! Without FILE it shows the shipped `assets/lego_ngp_small/lego.ingp`
//! (derived from the NeRF synthetic dataset, Mildenhall et al. 2020, lego
//! scene). The field's local frame is the frame of the `transforms.json` it was
//! trained from; NeRF-synthetic scenes are +Z up, so the entity is turned
//! −90° about X to stand upright in Bevy. Left-drag orbits, right-drag pans, the wheel zooms, `R` resets,
//! `[` / `]` halve / double the field render scale (`--render-scale`, default 0.5:
//! fields are marched at that fraction of the window resolution and upsampled).
//! Software adapters are slow (seconds per frame); a GPU renders it in real time.

use std::path::PathBuf;

use bevy::prelude::*;
use bevy_radiance::io::load_radiance_field_file;
use bevy_radiance::scene::RadianceField3d;
use bevy_radiance::field::RadianceField;
use bevy_radiance::prelude::*;

#[path = "support/orbit.rs"]
mod orbit;
#[path = "support/screenshot.rs"]
mod screenshot;
use orbit::{Orbit, OrbitPlugin};
use screenshot::ScreenshotPlugin;

#[derive(Resource)]
struct Options {
    file: Option<PathBuf>,
    render_scale: f32,
}


fn main() {
    let mut file = None;
    let mut screenshot = None;
    let mut render_scale = 0.5;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--screenshot" => screenshot = args.next().map(PathBuf::from),
            "--render-scale" => match args.next().and_then(|v| v.parse().ok()) {
                Some(v) => render_scale = v,
                None => {
                    eprintln!("--render-scale needs a number in (0, 1]");
                    std::process::exit(2);
                }
            },
            _ => file = Some(PathBuf::from(arg)),
        }
    }
    App::new()
        .add_plugins((
            DefaultPlugins,
            RadiancePlugin,
            OrbitPlugin,
            ScreenshotPlugin { path: screenshot, at_frame: 20 },
        ))
        .insert_resource(Options { file, render_scale })
        .insert_resource(ClearColor(Color::srgb(0.05, 0.06, 0.08)))
        .add_systems(Startup, setup)
        .add_systems(Update, change_render_scale)
        .run();
}

fn setup(
    mut commands: Commands,
    options: Res<Options>,
    assets: Res<AssetServer>,
    mut fields: ResMut<Assets<RadianceField>>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    let handle = match &options.file {
        Some(path) => match load_radiance_field_file(path) {
            Ok(field) => fields.add(field),
            Err(e) => {
                error!("{e}");
                std::process::exit(1);
            }
        },
        None => assets.load("lego_ngp_small/lego.ingp"),
    };
    commands.spawn((
        RadianceField3d(handle),
        Transform::from_rotation(Quat::from_rotation_x(-std::f32::consts::FRAC_PI_2)),
    ));
    commands.spawn((
        Mesh3d(meshes.add(Plane3d::default().mesh().size(6.0, 6.0))),
        MeshMaterial3d(materials.add(Color::srgb(0.35, 0.37, 0.4))),
        Transform::from_xyz(0.0, -0.36, 0.0),
    ));
    commands.spawn((
        Mesh3d(meshes.add(Cuboid::new(0.5, 0.5, 0.5))),
        MeshMaterial3d(materials.add(Color::srgb(0.2, 0.45, 0.85))),
        Transform::from_xyz(1.4, -0.11, 0.3),
    ));
    commands.spawn((
        DirectionalLight { illuminance: 8_000.0, shadow_maps_enabled: true, ..default() },
        Transform::from_xyz(3.0, 6.0, 2.0).looking_at(Vec3::ZERO, Vec3::Y),
    ));
    commands.spawn((
        Camera3d::default(),
        RadianceFieldCamera { render_scale: options.render_scale },
        Orbit::new(Vec3::ZERO, 4.0, 0.5, -0.35),
    ));
}

fn change_render_scale(keys: Res<ButtonInput<KeyCode>>, mut cameras: Query<&mut RadianceFieldCamera>) {
    for mut camera in &mut cameras {
        let scale = if keys.just_pressed(KeyCode::BracketLeft) {
            camera.render_scale * 0.5
        } else if keys.just_pressed(KeyCode::BracketRight) {
            camera.render_scale * 2.0
        } else {
            continue;
        };
        camera.render_scale = scale.clamp(bevy_radiance::field::MIN_RENDER_SCALE, 1.0);
        info!("field render scale {}", camera.render_scale);
    }
}
