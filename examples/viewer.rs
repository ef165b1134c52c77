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
//! The inspector panel (`RadianceInspectorPlugin`, `F1` shows or hides it)
//! lists the captures with their figures and settings, crops, selects
//! (rectangle or brush tool, then left-drag; Shift adds, Alt subtracts),
//! hides, deletes, undoes and exports; dropping a splat or `.ingp` file on
//! the window opens it. While the panel or a tool has the pointer, the
//! camera ignores the mouse.
//! `--edit-demo` starts with the capture selected in the inspector, a crop
//! box trimming its ground and the splats above its middle selected (to
//! check the editing state in a screenshot).
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
use orbit::{Orbit, OrbitInputBlocked, OrbitPlugin};
use screenshot::ScreenshotPlugin;

#[derive(Resource)]
struct Options {
    file: Option<PathBuf>,
    edit_demo: bool,
}

#[derive(Component)]
struct Capture;


fn main() {
    let mut file = None;
    let mut screenshot = None;
    let mut edit_demo = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--screenshot" => screenshot = args.next().map(PathBuf::from),
            "--edit-demo" => edit_demo = true,
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
            RadianceInspectorPlugin::default(),
        ))
        .init_resource::<OrbitInputBlocked>()
        .add_systems(PreUpdate, block_orbit_under_inspector)
        .insert_resource(Options { file, edit_demo })
        .insert_resource(ClearColor(Color::srgb(0.05, 0.06, 0.08)))
        .add_systems(Startup, setup)
        .add_systems(Update, frame_capture)
        .run();
}

/// The orbit camera leaves the mouse to the inspector while it uses it.
fn block_orbit_under_inspector(state: Res<bevy_radiance::inspector::InspectorState>, mut blocked: ResMut<OrbitInputBlocked>) {
    blocked.0 = state.open && state.pointer_captured;
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
    let name = options.file.as_ref().and_then(|f| f.file_name()).map_or("playbot".into(), |n| n.to_string_lossy().into_owned());
    commands.spawn((GaussianSplat3d(handle), Capture, Name::new(name)));
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
#[expect(clippy::too_many_arguments, reason = "a Bevy system")]
fn frame_capture(
    mut commands: Commands,
    options: Res<Options>,
    mut inspector: ResMut<bevy_radiance::inspector::InspectorState>,
    captures: Query<(Entity, &GaussianSplat3d), With<Capture>>,
    splat_assets: Res<Assets<GaussianSplats>>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
    mut cameras: Query<&mut Orbit>,
    mut done: Local<bool>,
) {
    if *done {
        return;
    }
    let Some((capture, splats)) = captures.iter().next().and_then(|(e, c)| Some((e, splat_assets.get(&c.0)?))) else {
        return;
    };
    inspector.selected = Some(capture);
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
    if options.edit_demo {
        // Trim a tenth off each side of the ground, select the upper half.
        let margin = (hi - lo) * Vec3::new(0.1, 0.0, 0.1);
        let crop = SplatCrop::new([CropVolume::aabb(lo - Vec3::Y + margin, hi + Vec3::Y * extent - margin, CropMode::KeepInside)]);
        let mut edits = SplatEdits::new(splats.len());
        let mid = center.y;
        edits.select_where(splats.len(), SelectionMode::Replace, |i| splats.positions[i].y > mid + 0.25 * (hi.y - lo.y));
        commands.entity(capture).insert((crop, edits));
        inspector.tool = bevy_radiance::inspector::SelectionTool::Rectangle;
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
