//! Dynamic captures in a level: a looping splat sequence (volumetric video)
//! and a 4D Gaussian clip on a mesh stage, driven by the timeline.
//!
//! ```text
//! cargo run --release --example dynamic [-- --screenshot PATH]
//! ```
//!
//! * Left: the shipped 200-frame `wave` sequence (bundled SOG frames, streamed
//!   around the playhead), looping.
//! * Right: the procedural 4D `fountain` clip (Spacetime Gaussians), which
//!   plays once when the player (the orange ball, `W`/`A`/`S`/`D`) walks into
//!   the glowing trigger pad, and again on each new entry.
//! * `Space` pauses/resumes both, `←`/`→` seek the wave by half a second,
//!   `↑`/`↓` double/halve its speed, `B` plays it backwards, `L` cycles its
//!   loop mode (loop, ping-pong, once). Finished and looped clips are logged.
//! * Left-drag orbits, right-drag pans, the wheel zooms, `R` resets the view.
//!
//! `--screenshot PATH` walks the player onto the pad, saves the window a
//! second later and exits (used to check the example under Xvfb).

use std::path::PathBuf;

use bevy::prelude::*;
use bevy_radiance::prelude::*;

#[path = "support/orbit.rs"]
mod orbit;
#[path = "support/screenshot.rs"]
mod screenshot;
use orbit::{Orbit, OrbitPlugin};
use screenshot::ScreenshotPlugin;

#[derive(Resource)]
struct Options {
    /// `--screenshot`: walk the player onto the pad by script.
    scripted: bool,
}

/// The wave sequence.
#[derive(Component)]
struct Wave;

/// The fountain clip.
#[derive(Component)]
struct Fountain;

/// The ball the player moves.
#[derive(Component)]
struct Player;

/// An axis-aligned trigger volume; `inside` remembers the last frame's state.
#[derive(Component)]
struct Trigger {
    half_extents: Vec3,
    inside: bool,
}

fn main() {
    let mut screenshot = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--screenshot" => screenshot = args.next().map(PathBuf::from),
            other => {
                eprintln!("unknown argument {other}; usage: dynamic [--screenshot PATH]");
                std::process::exit(2);
            }
        }
    }
    App::new()
        .add_plugins((
            DefaultPlugins,
            RadiancePlugin,
            OrbitPlugin,
            ScreenshotPlugin { path: screenshot.clone(), at_frame: 70 },
        ))
        .insert_resource(Options { scripted: screenshot.is_some() })
        .insert_resource(ClearColor(Color::srgb(0.05, 0.06, 0.08)))
        .add_systems(Startup, setup)
        .add_systems(
            Update,
            (
                (move_player, trigger_fountain, playback_keys).chain().before(TimelineSystems::Advance),
                log_playback_messages.after(TimelineSystems::Advance),
            ),
        )
        .run();
}

fn setup(
    mut commands: Commands,
    assets: Res<AssetServer>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    // The stage.
    commands.spawn((
        Mesh3d(meshes.add(Plane3d::default().mesh().size(10.0, 10.0))),
        MeshMaterial3d(materials.add(Color::srgb(0.3, 0.32, 0.36))),
    ));
    for x in [-3.5, 3.5] {
        commands.spawn((
            Mesh3d(meshes.add(Cuboid::new(0.4, 2.0, 0.4))),
            MeshMaterial3d(materials.add(Color::srgb(0.55, 0.5, 0.45))),
            Transform::from_xyz(x, 1.0, -1.5),
        ));
    }
    commands.spawn((
        DirectionalLight {
            illuminance: 8_000.0,
            shadow_maps_enabled: true,
            ..default()
        },
        Transform::from_xyz(3.0, 6.0, 2.0).looking_at(Vec3::ZERO, Vec3::Y),
    ));

    // A looping splat sequence (volumetric video).
    commands.spawn((
        Wave,
        SplatSequence3d(assets.load("wave/wave.splatseq.ron")),
        Playback::new().with_mode(LoopMode::Loop),
        Transform::from_xyz(-1.8, 1.0, -0.5).with_scale(Vec3::splat(0.35)),
    ));

    // A 4D Gaussian clip that waits for the player.
    commands.spawn((
        Fountain,
        GaussianSplat3d(assets.load("fountain/fountain.spacetime.ply")),
        Playback::new().with_mode(LoopMode::Once).paused(),
        Transform::from_xyz(1.8, 0.0, 0.0),
    ));
    let pad = Vec3::new(1.8, 0.05, 1.6);
    commands.spawn((
        Trigger { half_extents: Vec3::new(0.5, 1.0, 0.5), inside: false },
        Mesh3d(meshes.add(Cuboid::new(1.0, 0.1, 1.0))),
        MeshMaterial3d(materials.add(StandardMaterial {
            base_color: Color::srgb(0.2, 0.8, 0.9),
            emissive: LinearRgba::rgb(0.1, 0.5, 0.6),
            ..default()
        })),
        Transform::from_translation(pad),
    ));
    commands.spawn((
        Player,
        Mesh3d(meshes.add(Sphere::new(0.2))),
        MeshMaterial3d(materials.add(Color::srgb(0.95, 0.5, 0.1))),
        Transform::from_xyz(0.0, 0.2, 2.8),
    ));
    commands.spawn((Camera3d::default(), Orbit::new(Vec3::new(0.0, 0.9, 0.0), 7.0, 0.0, -0.3)));
}

fn move_player(
    keys: Res<ButtonInput<KeyCode>>,
    time: Res<Time>,
    options: Res<Options>,
    mut frame: Local<u32>,
    mut players: Query<&mut Transform, With<Player>>,
) {
    let mut direction = Vec3::ZERO;
    for (key, d) in [(KeyCode::KeyW, -Vec3::Z), (KeyCode::KeyS, Vec3::Z), (KeyCode::KeyA, -Vec3::X), (KeyCode::KeyD, Vec3::X)] {
        if keys.pressed(key) {
            direction += d;
        }
    }
    *frame += 1;
    for mut transform in &mut players {
        if options.scripted && *frame == 10 {
            // Scripted run: step onto the pad.
            transform.translation = Vec3::new(1.8, 0.2, 1.6);
        }
        transform.translation += direction.normalize_or_zero() * 2.0 * time.delta_secs();
    }
}

/// Game code: the fountain plays from the start whenever the player enters the pad.
fn trigger_fountain(
    players: Query<&Transform, With<Player>>,
    mut triggers: Query<(&Transform, &mut Trigger)>,
    mut fountains: Query<&mut Playback, With<Fountain>>,
) {
    let Ok(player) = players.single() else {
        return;
    };
    for (transform, mut trigger) in &mut triggers {
        let offset = (player.translation - transform.translation).abs();
        let inside = offset.cmple(trigger.half_extents).all();
        if inside && !trigger.inside {
            info!("player entered the trigger: the fountain starts");
            for mut playback in &mut fountains {
                playback.restart();
                playback.play();
            }
        }
        trigger.inside = inside;
    }
}

fn playback_keys(keys: Res<ButtonInput<KeyCode>>, mut waves: Query<&mut Playback, With<Wave>>, mut all: Query<&mut Playback, Without<Wave>>) {
    let Ok(mut wave) = waves.single_mut() else {
        return;
    };
    if keys.just_pressed(KeyCode::Space) {
        let pause = !wave.paused;
        for mut playback in all.iter_mut().chain(std::iter::once(wave.reborrow())) {
            if pause { playback.pause() } else { playback.play() }
        }
        info!("{}", if pause { "paused" } else { "playing" });
    }
    if keys.just_pressed(KeyCode::ArrowRight) {
        let t = wave.time + 0.5;
        wave.seek(t);
    }
    if keys.just_pressed(KeyCode::ArrowLeft) {
        let t = wave.time - 0.5;
        wave.seek(t);
    }
    if keys.just_pressed(KeyCode::ArrowUp) {
        wave.speed = (wave.speed * 2.0).clamp(-8.0, 8.0);
    }
    if keys.just_pressed(KeyCode::ArrowDown) {
        wave.speed *= 0.5;
    }
    if keys.just_pressed(KeyCode::KeyB) {
        wave.speed = -wave.speed;
    }
    if keys.just_pressed(KeyCode::KeyL) {
        wave.mode = match wave.mode {
            LoopMode::Loop => LoopMode::PingPong,
            LoopMode::PingPong => LoopMode::Once,
            LoopMode::Once => LoopMode::Loop,
        };
        wave.play();
    }
    if keys.any_just_pressed([KeyCode::ArrowUp, KeyCode::ArrowDown, KeyCode::KeyB, KeyCode::KeyL, KeyCode::ArrowLeft, KeyCode::ArrowRight]) {
        info!("wave: {:.2} s, speed {}, {:?}", wave.time, wave.speed, wave.mode);
    }
}

fn log_playback_messages(mut finished: MessageReader<PlaybackFinished>, mut looped: MessageReader<PlaybackLooped>) {
    for message in finished.read() {
        info!("{:?} finished", message.entity);
    }
    for message in looped.read() {
        debug!("{:?} looped ×{}", message.entity, message.count);
    }
}
