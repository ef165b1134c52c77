//! Frame-time benchmark of `bevy_gaussian_splatting` 8.0.2 with the camera,
//! resolution and loop of bevy_radiance's `bench` example.
//!
//! ```text
//! cargo run --release --bin peer_bench -- FILE.ply [--frames N] [--size WxH] [--save OUT.png] [--center x,y,z] [--log]
//! ```
//!
//! FILE is a 3DGS training PLY (bevy_gaussian_splatting reads no compressed
//! PLY; write one with `cargo run --release --example convert -- IN OUT.ply`
//! in the main crate). Mirrors `examples/bench.rs`:
//!
//! - a windowless Bevy app (no winit, no pipelined rendering, synchronous
//!   pipeline compilation, render diagnostics on) rendering into an offscreen
//!   `Rgba8UnormSrgb` image of WxH (default 1280×720), MSAA off, no tonemapping,
//!   cleared to transparent black;
//! - a horizontal field of view of 1.2 rad (Bevy's vertical fov =
//!   2·atan(tan(0.6)·h/w)), near plane 0.01;
//! - the camera orbits `center` (the mean splat position in bevy_radiance's
//!   frame): frame i looks at it from `center + (sin a·2.5, 0.6, cos a·2.5)`,
//!   a = 0.05·i;
//! - frames are run until the cloud is drawn (a frame read back shows it),
//!   then 3 warm-up frames, then N timed frames (default 30), each
//!   `app.update()` followed by waiting for the GPU to be idle.
//!
//! bevy_radiance turns captures upright on load (3DGS frame, +Y down, →
//! Bevy's: y and z negated); bevy_gaussian_splatting keeps the file's axes,
//! so the cloud entity gets the same turn (a half turn about X) and both
//! renderers see the same scene from the same camera. `--center` overrides the
//! computed centre (e.g. with the `center:` line `bench` prints).
//! `--save` writes the frame of orbit index 0 (read back after the warm-up)
//! as an 8-bit RGBA PNG (A = coverage). `--log` turns on Bevy's log plugin.
//!
//! Prints the adapter, the scene, the centre and
//! `frame (CPU + GPU, submit to idle): median X ms, mean Y ms`.

use std::f32::consts::PI;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bevy::app::PluginsState;
use bevy::asset::RenderAssetUsages;
use bevy::camera::RenderTarget;
use bevy::core_pipeline::tonemapping::{DebandDither, Tonemapping};
use bevy::prelude::*;
use bevy::render::RenderPlugin;
use bevy::render::gpu_readback::{Readback, ReadbackComplete};
use bevy::render::pipelined_rendering::PipelinedRenderingPlugin;
use bevy::render::render_resource::{Extent3d, PollType, TextureDimension, TextureFormat, TextureUsages};
use bevy::render::renderer::{RenderAdapterInfo, RenderDevice};
use bevy::render::view::Msaa;
use bevy::window::ExitCondition;
use bevy_gaussian_splatting::sort::SortMode;
use bevy_gaussian_splatting::{CloudSettings, GaussianCamera, GaussianSplattingPlugin, PlanarGaussian3d, PlanarGaussian3dHandle};

type Error = Box<dyn std::error::Error>;

/// bevy_radiance's near plane (`camera::DEFAULT_NEAR`).
const NEAR: f32 = 0.01;

fn main() -> Result<(), Error> {
    let mut file: Option<PathBuf> = None;
    let mut frames = 30usize;
    let (mut width, mut height) = (1280u32, 720u32);
    let mut save: Option<PathBuf> = None;
    let mut center_arg: Option<Vec3> = None;
    let mut log = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--frames" => frames = args.next().ok_or("--frames needs a value")?.parse()?,
            "--size" => {
                let s = args.next().ok_or("--size needs WxH")?;
                let (w, h) = s.split_once('x').ok_or("--size needs WxH")?;
                (width, height) = (w.parse()?, h.parse()?);
            }
            "--save" => save = Some(PathBuf::from(args.next().ok_or("--save needs a path")?)),
            "--center" => {
                let s = args.next().ok_or("--center needs x,y,z")?;
                let v: Vec<f32> = s.split(',').map(|c| c.trim().parse()).collect::<Result<_, _>>()?;
                let [x, y, z] = v[..] else { return Err("--center needs x,y,z".into()) };
                center_arg = Some(Vec3::new(x, y, z));
            }
            "--log" => log = true,
            other if other.starts_with("--") => return Err(format!("unknown option {other}").into()),
            other => file = Some(PathBuf::from(other)),
        }
    }
    let file = file.ok_or("usage: peer_bench FILE.ply [--frames N] [--size WxH] [--save OUT.png] [--center x,y,z] [--log]")?;
    if frames == 0 {
        return Err("--frames must be at least 1".into());
    }

    // The cloud, parsed by the peer's own PLY parser (the one its asset loader runs).
    let count = ply_vertex_count(&file)?;
    let mut reader = BufReader::new(std::fs::File::open(&file)?);
    let cloud = bevy_gaussian_splatting::io::ply::parse_ply_3d(&mut reader)?;
    // The peer's frame → bevy_radiance's (y and z negated).
    let upright = Quat::from_rotation_x(PI);
    let center = center_arg.unwrap_or_else(|| {
        let sum: Vec3 = cloud.position_visibility[..count.min(cloud.position_visibility.len())]
            .iter()
            .map(|p| Vec3::from_array(p.position))
            .sum();
        upright * (sum / count.max(1) as f32)
    });

    let mut app = new_app(log);
    let handle = app.world_mut().resource_mut::<Assets<PlanarGaussian3d>>().add(cloud);
    app.world_mut().spawn((
        PlanarGaussian3dHandle(handle),
        CloudSettings { sort_mode: SortMode::Radix, ..default() },
        Transform::from_rotation(upright),
        Name::new("peer_bench cloud"),
    ));

    let orbit = |i: usize| {
        let angle = i as f32 * 0.05;
        let eye = center + Vec3::new(angle.sin() * 2.5, 0.6, angle.cos() * 2.5);
        Transform::from_translation(eye).looking_at(center, Vec3::Y)
    };
    let (camera, target) = spawn_camera(&mut app, width, height, orbit(0));

    // Run until the cloud shows in a frame (asset upload, pipelines, first sort).
    let updates = wait_until_drawn(&mut app, &target, width, height)?;
    // Warm-up, as in `bench`.
    for _ in 0..3 {
        update(&mut app);
    }
    if let Some(path) = &save {
        let rgba = read_target(&mut app, &target, width, height)?;
        save_png(path, width, height, &rgba)?;
        println!("saved {} (orbit frame 0, drawn after {updates} updates)", path.display());
    }
    let mut times = Vec::with_capacity(frames);
    for i in 0..frames {
        *app.world_mut().get_mut::<Transform>(camera).ok_or("camera")? = orbit(i);
        let start = Instant::now();
        update(&mut app);
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    let info = app.world().resource::<RenderAdapterInfo>();
    println!("adapter: {} ({:?})", info.name, info.backend);
    println!(
        "scene: {} ({count} splats, bevy_gaussian_splatting 8.0.2, radix sort), {width}x{height}, {frames} frames",
        file.display()
    );
    println!("center: {} {} {}", center.x, center.y, center.z);
    println!("frame (CPU + GPU, submit to idle): median {median:.2} ms, mean {mean:.2} ms");
    Ok(())
}

/// The windowless app of bevy_radiance's `HeadlessRenderer`, with the peer's plugin.
fn new_app(log: bool) -> App {
    let mut app = App::new();
    let plugins = DefaultPlugins
        .set(WindowPlugin {
            primary_window: None,
            exit_condition: ExitCondition::DontExit,
            close_when_requested: false,
            ..default()
        })
        .set(RenderPlugin {
            synchronous_pipeline_compilation: true,
            ..default()
        })
        .disable::<PipelinedRenderingPlugin>()
        // The peer turns on bevy_winit; no window here.
        .disable::<bevy::winit::WinitPlugin>();
    let plugins = if log { plugins } else { plugins.disable::<bevy::log::LogPlugin>() };
    app.add_plugins(plugins);
    app.add_plugins(GaussianSplattingPlugin);
    // `bench` runs with `diagnostics: true`.
    app.add_plugins(bevy::render::diagnostic::RenderDiagnosticsPlugin);
    while app.plugins_state() == PluginsState::Adding {
        bevy::tasks::tick_global_task_pools_on_main_thread();
    }
    app.finish();
    app.cleanup();
    app
}

/// One frame, then wait for the GPU to be idle (as `HeadlessRenderer::update`).
fn update(app: &mut App) {
    app.update();
    let device = app.world().resource::<RenderDevice>();
    let _ = device.poll(PollType::Wait {
        submission_index: None,
        timeout: None,
    });
}

/// A camera rendering into an offscreen image, set up as `HeadlessRenderer::spawn_view`.
fn spawn_camera(app: &mut App, width: u32, height: u32, transform: Transform) -> (Entity, Handle<Image>) {
    let mut image = Image::new_uninit(
        Extent3d {
            width,
            height,
            depth_or_array_layers: 1,
        },
        TextureDimension::D2,
        TextureFormat::Rgba8UnormSrgb,
        RenderAssetUsages::RENDER_WORLD,
    );
    image.texture_descriptor.usage |= TextureUsages::RENDER_ATTACHMENT | TextureUsages::COPY_SRC | TextureUsages::TEXTURE_BINDING;
    let world = app.world_mut();
    let handle = world.resource_mut::<Assets<Image>>().add(image);
    // bench: CameraIntrinsics::from_horizontal_fov(width, height, 1.2).
    let fov_y = 2.0 * ((0.5f32 * 1.2).tan() * height as f32 / width as f32).atan();
    let camera = world
        .spawn((
            Camera3d::default(),
            Camera {
                clear_color: ClearColorConfig::Custom(Color::srgba(0.0, 0.0, 0.0, 0.0)),
                ..default()
            },
            RenderTarget::from(handle.clone()),
            Projection::Perspective(PerspectiveProjection {
                fov: fov_y,
                aspect_ratio: width as f32 / height as f32,
                near: NEAR,
                far: 1000.0,
                ..default()
            }),
            transform,
            Tonemapping::None,
            DebandDither::Disabled,
            Msaa::Off,
            GaussianCamera::default(),
        ))
        .id();
    (camera, handle)
}

/// Runs frames, reading each back, until one has a covered pixel; returns the
/// number of updates run.
fn wait_until_drawn(app: &mut App, target: &Handle<Image>, width: u32, height: u32) -> Result<u32, Error> {
    const MAX_UPDATES: u32 = 2_000;
    let drawn = Arc::new(Mutex::new(false));
    let sink = drawn.clone();
    let row = width as usize * 4;
    let padded = RenderDevice::align_copy_bytes_per_row(row);
    let readback = app
        .world_mut()
        .spawn(Readback::texture(target.clone()))
        .observe(move |event: On<ReadbackComplete>| {
            let any = (0..height as usize).any(|y| event.data[y * padded..y * padded + row].chunks_exact(4).any(|p| p[3] > 0));
            if any {
                *sink.lock().unwrap_or_else(|e| e.into_inner()) = true;
            }
        })
        .id();
    for n in 1..=MAX_UPDATES {
        update(app);
        if *drawn.lock().unwrap_or_else(|e| e.into_inner()) {
            app.world_mut().despawn(readback);
            return Ok(n);
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    Err(format!("the cloud was not drawn after {MAX_UPDATES} updates").into())
}

/// Renders frames until the target is read back (as `HeadlessRenderer::read_view`); RGBA8 rows without padding.
fn read_target(app: &mut App, target: &Handle<Image>, width: u32, height: u32) -> Result<Vec<u8>, Error> {
    let result: Arc<Mutex<Option<Vec<u8>>>> = Arc::default();
    let sink = result.clone();
    let readback = app
        .world_mut()
        .spawn(Readback::texture(target.clone()))
        .observe(move |event: On<ReadbackComplete>| {
            let mut slot = sink.lock().unwrap_or_else(|e| e.into_inner());
            if slot.is_none() {
                *slot = Some(event.data.clone());
            }
        })
        .id();
    let mut data = None;
    for _ in 0..8 {
        update(app);
        data = result.lock().unwrap_or_else(|e| e.into_inner()).take();
        if data.is_some() {
            break;
        }
    }
    app.world_mut().despawn(readback);
    let data = data.ok_or("the frame was not read back after 8 updates")?;
    let row = width as usize * 4;
    let padded = RenderDevice::align_copy_bytes_per_row(row);
    Ok((0..height as usize).flat_map(|y| &data[y * padded..y * padded + row]).copied().collect())
}

fn save_png(path: &Path, width: u32, height: u32, rgba: &[u8]) -> Result<(), Error> {
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut encoder = png::Encoder::new(file, width, height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header()?.write_image_data(rgba)?;
    Ok(())
}

/// The `element vertex N` count of a PLY header (the peer pads the cloud to a
/// multiple of 32 with empty splats; the centre is the mean of the real ones).
fn ply_vertex_count(path: &Path) -> Result<usize, Error> {
    let mut reader = BufReader::new(std::fs::File::open(path)?);
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Err(format!("{}: no end_header", path.display()).into());
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim();
        if let Some(n) = text.strip_prefix("element vertex ") {
            return Ok(n.trim().parse()?);
        }
        if text == "end_header" {
            return Err(format!("{}: no vertex element", path.display()).into());
        }
    }
}
