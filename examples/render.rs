//! Headless render of a splat scene from the cameras of a `transforms.json`.
//!
//! ```text
//! cargo run --release --example render -- SCENE_FILE --cameras transforms.json --out DIR \
//!     [--frames 0,3,5] [--background R,G,B] [--time SECONDS] [--render-scale S] [--check] [--overwrite] \
//!     [--crop MINX,MINY,MINZ,MAXX,MAXY,MAXZ] [--keep-sphere X,Y,Z,R] [--remove-box …] [--remove-sphere X,Y,Z,R]
//! ```
//!
//! SCENE_FILE is a splat file (any supported format) or a radiance field
//! (instant-ngp `.ingp` / `.msgpack`). The scene is placed at the identity
//! transform in the file's own coordinates (no axis conversion; for a field,
//! the frame of the `transforms.json` it was trained from). Each selected frame is written as `DIR/frame_NNN.png`
//! (NNN = the frame's index in the file): 8-bit RGBA, RGB composited over the
//! background (components in 0..1, default black), A = coverage, no tonemapping.
//! `--time` renders a dynamic capture at that playback time in seconds
//! (default 0): a 4D Gaussian PLY / `.ply4d`, or a splat-sequence manifest
//! (`.splatseq.ron`, whose frame at that time is rendered).
//! `--render-scale` (0..1, default 1) marches radiance fields at that fraction of
//! the image resolution and upsamples them.
//! The crop options put a `SplatCrop` on a splat scene (the same options
//! as `convert`, which writes the cropped file).
//! `--check` also renders the CPU reference and prints the PSNR of each frame.
//! Existing files are never replaced unless `--overwrite` is given.

use std::path::PathBuf;
use std::process::ExitCode;

#[path = "support/crop_args.rs"]
mod crop_args;

use bevy::prelude::*;
use bevy_radiance::camera::{DEFAULT_NEAR, read_transforms};
use bevy_radiance::headless::{HeadlessCamera, HeadlessRenderer, HeadlessSettings, RgbaImage};
use bevy_radiance::field::{MarchSettings, RadianceField, render_field_reference_scaled};
use bevy_radiance::io::load_radiance_field_file;
use bevy_radiance::scene::{RadianceField3d, SplatCrop};
use bevy_radiance::splat::crop::CropVolume;
use bevy_radiance::sequence::parse_manifest;
use bevy_radiance::splat::asset::{AxisConvention, GaussianSplats};
use bevy_radiance::io::{SplatLoaderSettings, load_splat_file};
use bevy_radiance::splat::projection::SplatParams;
use bevy_radiance::splat::reference::{ReferenceItem, render_reference};
use bevy_radiance::timeline::{Playback, PlaybackClock};

struct Args {
    scene: PathBuf,
    cameras: PathBuf,
    out: PathBuf,
    frames: Option<Vec<usize>>,
    background: Vec3,
    time: f32,
    render_scale: f32,
    check: bool,
    overwrite: bool,
    crop: Vec<CropVolume>,
}

const USAGE: &str = "usage: render SCENE_FILE --cameras transforms.json --out DIR [--frames 0,3,5] [--background R,G,B] [--time SECONDS] [--render-scale S] [--check] [--overwrite] [crop options: see convert]";

fn parse_args() -> Result<Args, String> {
    let mut scene = None;
    let mut cameras = None;
    let mut out = None;
    let mut frames = None;
    let mut background = Vec3::ZERO;
    let mut render_scale = 1.0;
    let mut time = 0.0;
    let mut check = false;
    let mut overwrite = false;
    let mut crop = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if crop_args::parse_crop_option(&arg, || args.next(), &mut crop)? {
            continue;
        }
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--cameras" => cameras = Some(PathBuf::from(value("--cameras")?)),
            "--out" => out = Some(PathBuf::from(value("--out")?)),
            "--frames" => {
                let list = value("--frames")?;
                let parsed: Result<Vec<usize>, _> = list.split(',').map(|s| s.trim().parse()).collect();
                frames = Some(parsed.map_err(|_| format!("--frames: `{list}` is not a comma-separated list of indices"))?);
            }
            "--background" => {
                let text = value("--background")?;
                let parts: Result<Vec<f32>, _> = text.split(',').map(|s| s.trim().parse()).collect();
                match parts.as_deref() {
                    Ok([r, g, b]) if [r, g, b].iter().all(|v| (0.0..=1.0).contains(*v)) => background = Vec3::new(*r, *g, *b),
                    _ => return Err(format!("--background: `{text}` is not R,G,B with components in 0..1")),
                }
            }
            "--render-scale" => {
                let text = value("--render-scale")?;
                render_scale = match text.parse::<f32>() {
                    Ok(v) if v > 0.0 && v <= 1.0 => v,
                    _ => return Err(format!("--render-scale: `{text}` is not a number in (0, 1]")),
                };
            }
            "--time" => {
                let text = value("--time")?;
                time = match text.parse::<f32>() {
                    Ok(v) if v.is_finite() && v >= 0.0 => v,
                    _ => return Err(format!("--time: `{text}` is not a number of seconds ≥ 0")),
                };
            }
            "--check" => check = true,
            "--overwrite" => overwrite = true,
            "-h" | "--help" => return Err(format!("{USAGE}\ncrop options: {}", crop_args::CROP_USAGE)),
            other if other.starts_with("--") => return Err(format!("unknown option {other}\n{USAGE}")),
            other => {
                if scene.replace(PathBuf::from(other)).is_some() {
                    return Err(format!("more than one scene file given\n{USAGE}"));
                }
            }
        }
    }
    Ok(Args {
        scene: scene.ok_or(format!("no scene file given\n{USAGE}"))?,
        cameras: cameras.ok_or(format!("--cameras is required\n{USAGE}"))?,
        out: out.ok_or(format!("--out is required\n{USAGE}"))?,
        frames,
        background,
        time,
        render_scale,
        check,
        overwrite,
        crop,
    })
}

/// What the scene file holds.
enum Scene {
    Splats(GaussianSplats),
    Field(RadianceField),
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let extension = args.scene.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let scene = if extension == "ingp" || extension == "msgpack" {
        Scene::Field(load_radiance_field_file(&args.scene)?)
    } else if args.scene.to_string_lossy().ends_with(".splatseq.ron") {
        let text = std::fs::read_to_string(&args.scene).map_err(|e| format!("{}: {e}", args.scene.display()))?;
        let name = args.scene.file_name().and_then(|n| n.to_str()).unwrap_or("sequence").to_string();
        let sequence = parse_manifest(&text, &bevy::asset::AssetPath::from(name))?;
        let index = sequence.frame_at(args.time);
        let frame = sequence.frames.get(index).ok_or("the sequence has no frames")?;
        let file = args.scene.parent().unwrap_or(std::path::Path::new(".")).join(frame.path());
        eprintln!("sequence frame {index} of {} at {} s: {}", sequence.frames.len(), args.time, file.display());
        let settings = sequence.settings.clone().unwrap_or(SplatLoaderSettings { axes: AxisConvention::AsIs, ..default() });
        Scene::Splats(load_splat_file(&file, &settings)?)
    } else {
        let settings = SplatLoaderSettings { axes: AxisConvention::AsIs, ..default() };
        Scene::Splats(load_splat_file(&args.scene, &settings)?)
    };
    let frames = read_transforms(&args.cameras)?;
    let selected: Vec<usize> = match &args.frames {
        Some(list) => {
            if let Some(bad) = list.iter().find(|&&i| i >= frames.len()) {
                return Err(format!("frame {bad} does not exist ({} has {} frames)", args.cameras.display(), frames.len()).into());
            }
            list.clone()
        }
        None => (0..frames.len()).collect(),
    };
    std::fs::create_dir_all(&args.out)?;
    let paths: Vec<PathBuf> = selected.iter().map(|i| args.out.join(format!("frame_{i:03}.png"))).collect();
    if !args.overwrite
        && let Some(existing) = paths.iter().find(|p| p.exists())
    {
        return Err(format!("{} exists; pass --overwrite to replace it", existing.display()).into());
    }

    let mut renderer = HeadlessRenderer::new(HeadlessSettings { log: std::env::var_os("RADIANCE_LOG").is_some(), ..HeadlessSettings::default() })?;
    match &scene {
        Scene::Splats(splats) => {
            eprintln!("adapter: {}; {} splats (SH degree {})", renderer.adapter_name(), splats.len(), splats.sh_degree);
            let entity = renderer.spawn_splats(splats.clone(), Transform::IDENTITY);
            if !args.crop.is_empty() {
                renderer.world_mut().entity_mut(entity).insert(SplatCrop::new(args.crop.clone()));
            }
            if let Some(timeline) = splats.motion.timeline() {
                eprintln!("dynamic ({:?}), {:.3} s clip; rendering at {} s", splats.motion.kind(), timeline.duration_seconds(), args.time);
                let playback = Playback::new().with_clock(PlaybackClock::Manual).at(args.time);
                renderer.world_mut().entity_mut(entity).insert(playback);
            }
        }
        Scene::Field(field) => {
            if !args.crop.is_empty() {
                return Err("crop options apply to splat scenes only".into());
            }
            eprintln!("adapter: {}; radiance field, {} grid levels", renderer.adapter_name(), field.grid.levels.len());
            let handle = renderer.world_mut().resource_mut::<Assets<RadianceField>>().add(field.clone());
            renderer.world_mut().spawn(RadianceField3d(handle));
        }
    }
    for (&index, path) in selected.iter().zip(&paths) {
        let frame = &frames[index];
        let mut camera = HeadlessCamera::new(frame.intrinsics, frame.world_from_camera);
        camera.background = args.background;
        camera.field_render_scale = args.render_scale;
        let image = renderer.render(&camera)?;
        image.save_png(path)?;
        if args.check {
            let view = frame.intrinsics.camera_view(frame.world_from_camera, DEFAULT_NEAR);
            let reference = match &scene {
                Scene::Splats(splats) => {
                    let items = [ReferenceItem { splats, world_from_local: Mat4::IDENTITY, params: SplatParams::default(), time: args.time, crop: &args.crop, edits: &[] }];
                    render_reference(&view, &items, args.background)
                }
                Scene::Field(field) => render_field_reference_scaled(
                    field,
                    &view,
                    Mat4::IDENTITY,
                    args.background,
                    &MarchSettings::default(),
                    args.render_scale,
                ),
            };
            let reference = RgbaImage { width: reference.width, height: reference.height, data: reference.to_rgba8() };
            let (psnr, max) = compare(&image, &reference);
            println!("{}: PSNR vs CPU reference {psnr:.2} dB, max error {max}", path.display());
        } else {
            println!("{}", path.display());
        }
    }
    Ok(())
}

fn compare(a: &RgbaImage, b: &RgbaImage) -> (f64, u8) {
    let mse = a.data.iter().zip(&b.data).map(|(x, y)| (*x as f64 - *y as f64).powi(2)).sum::<f64>() / a.data.len() as f64;
    let max = a.data.iter().zip(&b.data).map(|(x, y)| x.abs_diff(*y)).max().unwrap_or(0);
    let psnr = if mse == 0.0 { f64::INFINITY } else { 10.0 * (255.0f64.powi(2) / mse).log10() };
    (psnr, max)
}

fn main() -> ExitCode {
    match parse_args() {
        Ok(args) => match run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}
