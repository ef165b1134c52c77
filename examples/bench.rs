//! Frame-time benchmark of the splat renderer on the shipped capture.
//!
//! ```text
//! cargo run --release --example bench -- [FILE] [--frames N] [--size WxH] [--render-scale S] [--still] [--save OUT.png] [CROP]
//! cargo run --release --example bench -- --synthetic static|spacetime|sliced4d:COUNT [--facing-away] [--frames N] [--size WxH]
//! cargo run --release --example bench -- assets/wave/wave.splatseq.ron [--frames N]
//! cargo run --release --example bench -- --soak N [--size WxH]
//! ```
//!
//! FILE is a splat file (default: the shipped biker capture) or a radiance
//! field (`.ingp`/`.msgpack`, placed upright as in the `nerf` example).
//! Renders N frames (default 30) at 1280×720 from a camera orbiting the scene,
//! each frame submitted and waited for, and prints the adapter, the median and
//! mean milliseconds per frame and, where the adapter supports timestamp
//! queries, the GPU time of each splat pass (preprocess, sort, raster, composite).
//! `--synthetic KIND:COUNT` benchmarks COUNT random splats (static or 4D, a
//! 2 s clip played in real time), so the preprocess time of a dynamic kind
//! minus that of static splats is the cost of evaluating the 4D motion.
//! `--facing-away` turns the camera away from the scene: every splat is still
//! evaluated, projected and sorted, then culled, so the frame time is the
//! preprocess and sort alone (software adapters report no reliable compute
//! timestamps). A sequence manifest (`.splatseq.ron`) measures, per frame of
//! the clip, the decode time (done off the main thread when playing) and the
//! upload time (GPU packing, buffer creation and the copy, waited for).
//! For a field, `--render-scale` sets the camera's
//! [`RadianceFieldCamera::render_scale`], and the bench also reports network
//! samples per second: the samples of the first frame are counted by the CPU
//! reference marcher (same step schedule) on every 4th layer pixel in x and y.
//! `--still` keeps the camera at the orbit's first position: nothing moves,
//! so the splat pass draws the last sorted order again without preprocessing
//! or sorting (the frame time is the raster and composite alone).
//! `--save OUT.png` also writes the frame of orbit index 0 (rendered after the
//! warm-up, before the timed frames) as an 8-bit RGBA PNG (A = coverage); the
//! bench prints the orbit's `center:` (for `compare/`, which renders the same
//! view with another renderer).
//! CROP is the crop options of `convert` (`--crop`, `--keep-sphere`,
//! `--remove-box`, `--remove-sphere`), in the loaded scene's frame (Bevy's,
//! Y up): they put a `SplatCrop` on the capture's entity (the counts below
//! are then of the cropped capture).
//! `--soak N` renders N frames (default size 128×72, the field at a quarter of
//! that) of the shipped capture, the lego field and a 4D clip while everything changes every frame: the
//! camera orbits, the clip's playhead jumps, a splat entity with a fresh asset
//! is respawned every 10th frame, the view is recreated at another size every
//! 100th. It samples [`RadianceMemoryStats`] and the process's resident memory
//! at the same point of every 100-frame cycle and prints the largest drift
//! from the first cycle.

use std::path::PathBuf;
use std::time::Instant;

#[path = "support/crop_args.rs"]
mod crop_args;

use bevy::diagnostic::DiagnosticsStore;
use bevy::prelude::*;
use bevy_radiance::camera::CameraIntrinsics;
use bevy_radiance::headless::{HeadlessCamera, HeadlessRenderer, HeadlessSettings};
use bevy_radiance::camera::DEFAULT_NEAR;
use bevy_radiance::field::reference::pixel_ray;
use bevy_radiance::field::{MarchSettings, RadianceField, field_layer_size, march_ray};
use bevy_radiance::io::load_radiance_field_file;
use bevy_radiance::scene::{RadianceField3d, RadianceFieldCamera, SplatCrop};
use bevy_radiance::splat::crop::CropVolume;
use bevy_radiance::io::{SplatLoaderSettings, load_splat_file};
use bevy_radiance::splat::asset::GaussianSplats;
use bevy_radiance::splat::motion::MotionKind;
use bevy_radiance::testing::motion::synthetic_dynamic;
use bevy_radiance::timeline::Playback;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut file = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/biker.compressed.ply"));
    let mut frames = 30usize;
    let mut crop: Vec<CropVolume> = Vec::new();
    let (mut width, mut height) = (1280u32, 720u32);
    let mut render_scale = 1.0f32;
    let mut synthetic: Option<(MotionKind, usize)> = None;
    let mut facing_away = false;
    let mut still = false;
    let mut save: Option<PathBuf> = None;
    let mut soak_frames: Option<usize> = None;
    let mut size_given = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if crop_args::parse_crop_option(&arg, || args.next(), &mut crop)? {
            continue;
        }
        match arg.as_str() {
            "--frames" => frames = args.next().ok_or("--frames needs a value")?.parse()?,
            "--size" => {
                let s = args.next().ok_or("--size needs WxH")?;
                let (w, h) = s.split_once('x').ok_or("--size needs WxH")?;
                (width, height) = (w.parse()?, h.parse()?);
                size_given = true;
            }
            "--soak" => soak_frames = Some(args.next().ok_or("--soak needs a frame count")?.parse()?),
            "--synthetic" => {
                let spec = args.next().ok_or("--synthetic needs KIND:COUNT")?;
                let (kind, count) = spec.split_once(':').ok_or("--synthetic needs KIND:COUNT")?;
                let kind = match kind {
                    "static" => MotionKind::Static,
                    "spacetime" => MotionKind::Spacetime,
                    "sliced4d" => MotionKind::Sliced4d,
                    other => return Err(format!("unknown synthetic kind `{other}` (static, spacetime, sliced4d)").into()),
                };
                synthetic = Some((kind, count.parse()?));
            }
            "--facing-away" => facing_away = true,
            "--still" => still = true,
            "--save" => save = Some(PathBuf::from(args.next().ok_or("--save needs a path")?)),
            "--render-scale" => render_scale = args.next().ok_or("--render-scale needs a value")?.parse()?,
            other if other.starts_with("--") => {
                return Err(format!("unknown option {other} (crop options: {})", crop_args::CROP_USAGE).into());
            }
            other => file = PathBuf::from(other),
        }
    }
    let mut renderer = HeadlessRenderer::new(HeadlessSettings { diagnostics: true, ..Default::default() })?;
    if let Some(n) = soak_frames {
        let size = if size_given { UVec2::new(width, height) } else { UVec2::new(128, 72) };
        return soak(&mut renderer, n, size);
    }
    if file.to_string_lossy().ends_with(".splatseq.ron") {
        return sequence_upload(&mut renderer, &file, frames);
    }
    let extension = file.extension().and_then(|e| e.to_str()).unwrap_or("");
    let mut field_for_count = None;
    let mut splats_for_count = None;
    let (center, what) = if let Some((kind, count)) = synthetic {
        let splats = synthetic_dynamic(kind, count, 1);
        splats_for_count = Some(splats.clone());
        let entity = renderer.spawn_splats(splats, Transform::IDENTITY);
        if kind != MotionKind::Static {
            renderer.world_mut().entity_mut(entity).insert(Playback::new().with_duration(2.0));
        }
        file = PathBuf::from(format!("synthetic {kind:?}"));
        (Vec3::ZERO, format!("{count} splats, {kind:?}"))
    } else if extension == "ingp" || extension == "msgpack" {
        let field = load_radiance_field_file(&file)?;
        let handle = renderer.world_mut().resource_mut::<Assets<RadianceField>>().add(field.clone());
        let placement = Transform::from_rotation(Quat::from_rotation_x(-std::f32::consts::FRAC_PI_2));
        renderer.world_mut().spawn((RadianceField3d(handle), placement));
        field_for_count = Some((field, placement.to_matrix()));
        (Vec3::ZERO, format!("radiance field, render scale {render_scale}"))
    } else {
        let splats = load_splat_file(&file, &SplatLoaderSettings::default())?;
        let count = splats.len();
        let center = splats.positions.iter().copied().sum::<Vec3>() / count.max(1) as f32;
        splats_for_count = Some(splats.clone());
        let entity = renderer.spawn_splats(splats, Transform::IDENTITY);
        if !crop.is_empty() {
            renderer.world_mut().entity_mut(entity).insert(SplatCrop::new(crop.clone()));
        }
        (center, format!("{count} splats"))
    };
    let intrinsics = CameraIntrinsics::from_horizontal_fov(width, height, 1.2);
    let orbit = |i: usize| {
        let angle = i as f32 * 0.05;
        let eye = center + Vec3::new(angle.sin() * 2.5, 0.6, angle.cos() * 2.5);
        let target = if facing_away { 2.0 * eye - center } else { center };
        Transform::from_translation(eye).looking_at(target, Vec3::Y).to_matrix()
    };
    let view = renderer.spawn_view(&HeadlessCamera::new(intrinsics, orbit(0)))?;
    renderer.world_mut().entity_mut(view.camera).insert(RadianceFieldCamera { render_scale });
    // Warm-up: target and buffers are created during the first frames.
    for _ in 0..3 {
        renderer.update();
    }
    if let Some(path) = &save {
        renderer.set_view_transform(&view, orbit(0));
        renderer.read_view(&view)?.save_png(path)?;
        println!("saved {} (orbit frame 0)", path.display());
    }
    let mut times = Vec::with_capacity(frames);
    for i in 0..frames {
        renderer.set_view_transform(&view, orbit(if still { 0 } else { i }));
        let start = Instant::now();
        renderer.update();
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    if let Some(error) = renderer.render_error() {
        return Err(error.into());
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    println!("adapter: {}", renderer.adapter_name());
    println!("scene: {} ({what}), {width}x{height}, {frames} frames", file.display());
    println!("center: {} {} {}", center.x, center.y, center.z);
    println!("frame (CPU + GPU, submit to idle): median {median:.2} ms, mean {mean:.2} ms");
    if let Some(splats) = &splats_for_count {
        splat_work(splats, &crop, &intrinsics.camera_view(orbit(0), DEFAULT_NEAR));
    }
    if let Some((field, world_from_local)) = &field_for_count {
        let full = intrinsics.camera_view(orbit(0), DEFAULT_NEAR);
        let layer = field_layer_size(UVec2::new(width, height), render_scale);
        let layer_view = bevy_radiance::camera::CameraView { size: layer.as_vec2(), ..full };
        let local_from_world = world_from_local.inverse();
        let settings = MarchSettings::default();
        let (mut samples, mut rays) = (0u64, 0u64);
        for y in (0..layer.y).step_by(4) {
            for x in (0..layer.x).step_by(4) {
                let (origin, dir) = pixel_ray(&layer_view, &local_from_world, x, y);
                samples += u64::from(march_ray(field, origin, dir, f32::INFINITY, &settings).samples);
                rays += 1;
            }
        }
        let per_frame = samples as f64 * (layer.x as f64 * layer.y as f64) / rays.max(1) as f64;
        println!(
            "field layer {}x{}: ~{:.1} M samples/frame ({:.0} per ray), ~{:.2} M samples/s",
            layer.x,
            layer.y,
            per_frame / 1e6,
            samples as f64 / rays.max(1) as f64,
            per_frame / median * 1e3 / 1e6
        );
    }
    let store = renderer.world_mut().resource::<DiagnosticsStore>();
    let mut passes: Vec<(String, f64)> = store
        .iter()
        .filter(|d| d.path().as_str().contains("bevy_radiance"))
        .filter_map(|d| Some((d.path().as_str().to_string(), d.average()?)))
        .collect();
    passes.sort_by(|a, b| a.0.cmp(&b.0));
    if passes.is_empty() {
        println!("per-pass GPU times: not available on this adapter");
    }
    for (path, ms) in passes {
        println!("{path}: {ms:.3} ms");
    }
    Ok(())
}

/// The splat path's work on the first frame's view, counted by the CPU mirror
/// (the reference projection and the raster pass's quad extents; software
/// adapters have no pipeline-statistics query), and its GPU memory per splat.
fn splat_work(splats: &GaussianSplats, crop: &[CropVolume], view: &bevy_radiance::camera::CameraView) {
    use bevy::render::render_asset::RenderAsset;
    use bevy_radiance::render::splat::gpu_asset::GpuGaussianSplats;
    use bevy_radiance::render::splat::prepare::VIEW_BYTES_PER_SPLAT;
    use bevy_radiance::splat::projection::SplatParams;
    use bevy_radiance::splat::reference::{ReferenceItem, project_and_sort, quad_fragments};
    let item = ReferenceItem { splats, world_from_local: Mat4::IDENTITY, params: SplatParams::default(), time: 0.0, crop, edits: &[] };
    let visible = project_and_sort(view, &[item]);
    let fragments: u64 = visible.iter().map(|s| quad_fragments(s, view.size)).sum();
    let n = splats.len().max(1) as f64;
    println!("splats sorted per frame: {} of {}", visible.len(), splats.len());
    println!("splats drawn per frame: {}", visible.len());
    println!("fragments shaded per frame: {fragments} ({:.1} per pixel, CPU mirror of the quads)", fragments as f64 / (view.size.x * view.size.y) as f64);
    let resident = GpuGaussianSplats::byte_len(splats).unwrap_or(0);
    println!("resident bytes per splat: {:.1}", resident as f64 / n);
    println!("per-view bytes per splat: {VIEW_BYTES_PER_SPLAT}");
}

/// Resident memory of this process in bytes (Linux `/proc/self/statm`), if known.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// `--soak`: everything changes every frame; memory sampled once per cycle.
fn soak(renderer: &mut HeadlessRenderer, frames: usize, size: UVec2) -> Result<(), Box<dyn std::error::Error>> {
    use bevy_radiance::render::memory::RadianceMemoryStats;
    use bevy_radiance::timeline::PlaybackClock;
    const CYCLE: usize = 100;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let capture = load_splat_file(&root.join("assets/biker.compressed.ply"), &SplatLoaderSettings::default())?;
    let center = capture.positions.iter().copied().sum::<Vec3>() / capture.len().max(1) as f32;
    renderer.spawn_splats(capture, Transform::IDENTITY);
    let field = load_radiance_field_file(&root.join("assets/lego_ngp_small/lego.ingp"))?;
    let field = renderer.world_mut().resource_mut::<Assets<RadianceField>>().add(field);
    renderer.world_mut().spawn((
        RadianceField3d(field),
        Transform::from_translation(center + Vec3::new(1.2, 0.0, 0.0))
            .with_rotation(Quat::from_rotation_x(-std::f32::consts::FRAC_PI_2))
            .with_scale(Vec3::splat(0.5)),
    ));
    let clip = renderer.spawn_splats(synthetic_dynamic(MotionKind::Spacetime, 20_000, 3), Transform::from_translation(center));
    renderer.world_mut().entity_mut(clip).insert(Playback::new().with_clock(PlaybackClock::Manual).with_duration(2.0));
    let sizes = [size, size / 2 + UVec2::splat(8), size + size / 4];
    let camera = |i: usize, size: UVec2| {
        let angle = i as f32 * 0.05;
        let eye = center + Vec3::new(angle.sin() * 2.5, 0.6, angle.cos() * 2.5);
        HeadlessCamera::new(
            CameraIntrinsics::from_horizontal_fov(size.x, size.y, 1.2),
            Transform::from_translation(eye).looking_at(center, Vec3::Y).to_matrix(),
        )
    };
    let mut view = renderer.spawn_view(&camera(0, size))?;
    renderer.world_mut().entity_mut(view.camera).insert(RadianceFieldCamera { render_scale: 0.25 });
    let mut churn: Option<Entity> = None;
    let mut samples: Vec<(RadianceMemoryStats, Option<u64>)> = Vec::new();
    let start = Instant::now();
    for i in 0..frames {
        if i % CYCLE == 0 {
            // The sample point: same entities, same view size every cycle.
            samples.push((renderer.memory_stats(), resident_bytes()));
            if i > 0 && i % (10 * CYCLE) == 0 {
                // Progress on stderr, so a long soak shows where it is.
                let (stats, rss) = samples.last().expect("just pushed");
                eprintln!(
                    "soak: frame {i}, {:.1} ms/frame so far, GPU {} bytes, resident {} bytes",
                    start.elapsed().as_secs_f64() * 1e3 / i as f64,
                    stats.total().bytes,
                    rss.map_or("?".to_string(), |b| b.to_string())
                );
            }
            renderer.despawn_view(view);
            view = renderer.spawn_view(&camera(i, sizes[(i / CYCLE) % sizes.len()]))?;
            // The field at quarter resolution: marching is the slow part on software adapters.
            renderer.world_mut().entity_mut(view.camera).insert(RadianceFieldCamera { render_scale: 0.25 });
        }
        if i % 10 == 0 {
            if let Some(e) = churn.take() {
                renderer.world_mut().despawn(e);
            }
            let splats = synthetic_dynamic(MotionKind::Static, 2_000, i as u64);
            churn = Some(renderer.spawn_splats(splats, Transform::from_translation(center + Vec3::Y * 0.5)));
        }
        renderer.set_view_transform(&view, camera(i, UVec2::ONE).world_from_camera);
        if let Some(mut playback) = renderer.world_mut().get_mut::<Playback>(clip) {
            playback.seek((i as f32 * 0.37) % 2.0);
        }
        renderer.update();
        if let Some(error) = renderer.render_error() {
            return Err(error.into());
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!("adapter: {}", renderer.adapter_name());
    println!("soak: {frames} frames in {elapsed:.1} s ({:.2} ms/frame), views {sizes:?} in turn", elapsed * 1e3 / frames.max(1) as f64);
    // Compare each sample with the first one taken at the same view size.
    let mut max_gpu: i64 = 0;
    let mut max_rss: i64 = 0;
    // Sample 0 precedes the first frame; sample k ≥ 1 sees the view of cycle k − 1.
    for (k, (stats, rss)) in samples.iter().enumerate().skip(1) {
        let (first, first_rss) = &samples[1 + (k - 1) % sizes.len()];
        let drift = stats.total().bytes as i64 - first.total().bytes as i64;
        max_gpu = if drift.abs() > max_gpu.abs() { drift } else { max_gpu };
        if let (Some(a), Some(b)) = (rss, first_rss) {
            let drift = *a as i64 - *b as i64;
            max_rss = if drift.abs() > max_rss.abs() { drift } else { max_rss };
        }
    }
    if let Some((last, last_rss)) = samples.last() {
        for (name, usage) in last.kinds() {
            println!("memory, {name}: {} buffers, {} textures, {} bytes", usage.buffers, usage.textures, usage.bytes);
        }
        println!("memory samples: {} (one per {CYCLE} frames)", samples.len().saturating_sub(1));
        println!("GPU memory max drift: {max_gpu} bytes (of {} at the last sample)", last.total().bytes);
        if let Some(rss) = last_rss {
            println!("resident memory max drift: {max_rss} bytes (of {rss} at the last sample)");
        }
    }
    Ok(())
}

/// Decode and upload cost of each frame of a splat sequence.
fn sequence_upload(renderer: &mut HeadlessRenderer, manifest: &std::path::Path, frames: usize) -> Result<(), Box<dyn std::error::Error>> {
    use bevy::render::render_resource::{BufferInitDescriptor, BufferUsages};
    use bevy_radiance::sequence::parse_manifest;
    use bevy_radiance::render::splat::packing::pack_splats;
    let text = std::fs::read_to_string(manifest)?;
    let name = manifest.file_name().and_then(|n| n.to_str()).ok_or("manifest name")?;
    let sequence = parse_manifest(&text, &bevy::asset::AssetPath::from(name.to_string()))?;
    let folder = manifest.parent().unwrap_or(std::path::Path::new("."));
    let settings = sequence.settings.clone().unwrap_or_default();
    let (mut decode, mut upload) = (Vec::new(), Vec::new());
    let mut splat_count = 0;
    for path in sequence.frames.iter().take(frames.max(1)) {
        let start = Instant::now();
        let splats = load_splat_file(&folder.join(path.path()), &settings)?;
        decode.push(start.elapsed().as_secs_f64() * 1000.0);
        splat_count = splats.len();
        let start = Instant::now();
        let packed = pack_splats(&splats);
        let device = renderer.render_device();
        let buffers: Vec<_> = [
            bytemuck::cast_slice::<[u32; 4], u8>(&packed.splats),
            bytemuck::cast_slice::<u32, u8>(&packed.sh_rest),
            bytemuck::cast_slice::<_, u8>(&packed.chunks),
        ]
            .into_iter()
            .map(|contents| device.create_buffer_with_data(&BufferInitDescriptor { label: Some("bench:upload"), contents, usage: BufferUsages::STORAGE }))
            .collect();
        renderer.render_queue().submit([]);
        let _ = renderer.render_device().poll(wgpu::PollType::Wait { submission_index: None, timeout: None });
        upload.push(start.elapsed().as_secs_f64() * 1000.0);
        drop(buffers);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!("adapter: {}", renderer.adapter_name());
    println!("sequence: {} ({} frames at {} fps, {splat_count} splats a frame), {} frames measured", manifest.display(), sequence.frames.len(), sequence.fps, decode.len());
    println!("decode per frame (one thread): median {:.2} ms", median(&mut decode));
    println!("upload per frame (pack + buffers + copy): median {:.2} ms", median(&mut upload));
    Ok(())
}
