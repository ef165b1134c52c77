//! Splat sequences played through the timeline: the shipped 200-frame wave
//! clip streams with bounded memory, shows the right frame at every time, and
//! renders every one of its frames exactly as that frame's file rendered directly. Runs on
//! Mesa lavapipe in CI (the renderer needs an adapter).

mod common;

use std::path::Path;

use bevy::prelude::*;
use bevy_radiance::headless::HeadlessRenderer;
use bevy_radiance::sequence::{SequenceStatus, SequenceWindow, SplatSequence, SplatSequence3d};
use bevy_radiance::splat::asset::GaussianSplats;
use bevy_radiance::scene::GaussianSplat3d;
use bevy_radiance::io::{SplatLoaderSettings, load_splat_file};
use bevy_radiance::timeline::{LoopMode, Playback, PlaybackClock};
use common::*;

const MANIFEST: &str = "wave/wave.splatseq.ron";

fn spawn_wave(r: &mut HeadlessRenderer, window: SequenceWindow) -> Entity {
    let handle = r.world_mut().resource::<AssetServer>().load::<SplatSequence>(MANIFEST);
    let playback = Playback::new().with_clock(PlaybackClock::Manual).with_mode(LoopMode::Loop);
    r.world_mut().spawn((SplatSequence3d(handle), playback, window)).id()
}

/// Seeks and updates until the frame on screen is the one at the playhead.
fn show(r: &mut HeadlessRenderer, entity: Entity, seconds: f32) -> usize {
    r.world_mut().get_mut::<Playback>(entity).unwrap().seek(seconds);
    for _ in 0..400 {
        r.update();
        let status = r.world_mut().get::<SequenceStatus>(entity).unwrap();
        if let Some(current) = status.current
            && status.displayed == Some(current)
        {
            return current;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    panic!("frame at {seconds} s never loaded");
}

fn displayed_path(r: &mut HeadlessRenderer, entity: Entity) -> String {
    let world = r.world_mut();
    let handle = world.get::<GaussianSplat3d>(entity).expect("a frame is shown").0.clone();
    handle.path().expect("frames are loaded from files").to_string()
}

#[test]
fn long_clip_keeps_resident_frames_bounded() {
    let mut r = renderer();
    let window = SequenceWindow { ahead: 4, behind: 1 };
    let entity = spawn_wave(&mut r, window);
    let bound = (window.ahead + window.behind + 1) as usize;
    let mut most_assets = 0;
    for frame in 0..200usize {
        let shown = show(&mut r, entity, (frame as f32 + 0.5) / 30.0);
        assert_eq!(shown, frame);
        assert_eq!(displayed_path(&mut r, entity), format!("wave/wave_{:04}.sog", frame + 1));
        let status = r.world_mut().get::<SequenceStatus>(entity).unwrap();
        assert!(status.resident_frames() <= bound, "frame {frame}: {} frames held", status.resident_frames());
        let loaded = r.world_mut().resource::<Assets<GaussianSplats>>().len();
        most_assets = most_assets.max(loaded);
        assert!(loaded <= bound + 1, "frame {frame}: {loaded} splat assets resident (window {bound} + the one on screen)");
    }
    let duration = r.world_mut().get::<Playback>(entity).unwrap().duration;
    assert_eq!(duration, Some(200.0 / 30.0));
    println!("200 frames played; at most {most_assets} frames resident (window {bound})");
}

#[test]
fn sequence_frames_render_like_their_files() {
    let mut r = renderer();
    let entity = spawn_wave(&mut r, SequenceWindow::default());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    // Small images: every one of the 200 frames is rendered twice on the CPU adapter.
    let mut camera = look_at_camera(64, 48, Vec3::new(0.0, 2.5, 9.0), Vec3::new(0.0, 1.0, 0.0), 1.2);
    camera.background = Vec3::new(0.05, 0.05, 0.08);
    let mut previous: Option<Vec<u8>> = None;
    let mut worst = f64::INFINITY;
    for frame in 0..200usize {
        let shown = show(&mut r, entity, (frame as f32 + 0.5) / 30.0);
        assert_eq!(shown, frame);
        let from_sequence = r.render(&camera).unwrap();
        // The same frame's file, loaded directly, alone in the scene.
        let file = root.join(format!("wave/wave_{:04}.sog", frame + 1));
        let splats = load_splat_file(&file, &SplatLoaderSettings::default()).unwrap();
        r.world_mut().entity_mut(entity).insert(Visibility::Hidden);
        let direct = r.spawn_splats(splats, Transform::IDENTITY);
        let expected = r.render(&camera).unwrap();
        r.world_mut().despawn(direct);
        r.world_mut().entity_mut(entity).insert(Visibility::Inherited);
        if frame % 50 == 0 {
            save_for_inspection(&from_sequence, &format!("sequence_frame_{frame}.png"));
        }
        let p = psnr(&from_sequence.data, &expected.data);
        worst = worst.min(p);
        assert_not_blank(&from_sequence, &format!("wave frame {frame}"));
        assert!(p >= 50.0, "wave frame {frame}: PSNR {p:.2} < 50 against its own file");
        if let Some(previous) = &previous {
            assert!(previous != &from_sequence.data, "frame {frame} looks like the previous one");
        }
        previous = Some(from_sequence.data);
    }
    println!("200 wave frames: lowest PSNR against their files {worst:.2} dB");
}

#[test]
fn a_missing_frame_keeps_the_last_good_one_on_screen() {
    let dir = std::env::temp_dir().join(format!("bevy_radiance_sequence_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let wave = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/wave/wave_0001.sog");
    std::fs::copy(&wave, dir.join("first.sog")).unwrap();
    std::fs::write(dir.join("clip.splatseq.ron"), r#"(fps: 10.0, frames: List(["first.sog", "missing.sog"]))"#).unwrap();
    let settings = bevy_radiance::headless::HeadlessSettings { asset_folder: dir.to_string_lossy().into_owned(), ..Default::default() };
    let mut r = HeadlessRenderer::new(settings).unwrap_or_else(|e| panic!("GPU test cannot run: {e}"));
    let handle = r.world_mut().resource::<AssetServer>().load::<SplatSequence>("clip.splatseq.ron");
    let playback = Playback::new().with_clock(PlaybackClock::Manual);
    let entity = r.world_mut().spawn((SplatSequence3d(handle), playback)).id();
    assert_eq!(show(&mut r, entity, 0.05), 0);
    r.world_mut().get_mut::<Playback>(entity).unwrap().seek(0.15);
    let mut failed = None;
    for _ in 0..400 {
        r.update();
        failed = r.world_mut().get::<SequenceStatus>(entity).unwrap().failed;
        if failed.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert_eq!(failed, Some(1), "the missing frame is reported");
    let status = r.world_mut().get::<SequenceStatus>(entity).unwrap();
    assert_eq!((status.current, status.displayed), (Some(1), Some(0)), "the last good frame stays on screen");
    assert_eq!(displayed_path(&mut r, entity), "first.sog");
    let _ = std::fs::remove_dir_all(&dir);
}
