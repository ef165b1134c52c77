//! Hot reload on lavapipe (the `hot_reload` feature, which the crate's own
//! tests enable): a splat file, a radiance field and a sequence manifest are
//! rewritten on disk while shown. Each time the renderer shows the new content
//! (the same pixels as a fresh load of that content from another file); a
//! rewrite to a broken file keeps the last good version on screen and is
//! reported by errors naming the file (Bevy's asset server logs the loader's
//! error, once for its typed reload and once for its untyped retry), never
//! per frame; writing good content again recovers.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use bevy::asset::UntypedHandle;
use bevy::log::tracing::{Event, Level, Subscriber};
use bevy::log::tracing_subscriber::layer::{Context, SubscriberExt};
use bevy::log::tracing_subscriber::{Layer, Registry};
use bevy::prelude::*;
use bevy_radiance::field::RadianceField;
use bevy_radiance::headless::{HeadlessCamera, HeadlessRenderer, HeadlessSettings, HeadlessView, RgbaImage};
use bevy_radiance::io::gaussian_ply::write_gaussian_ply;
use bevy_radiance::io::ply::PlyFormat;
use bevy_radiance::scene::{GaussianSplat3d, RadianceField3d};
use bevy_radiance::sequence::{SplatSequence, SplatSequence3d};
use bevy_radiance::splat::asset::GaussianSplats;
use bevy_radiance::testing::field::{TestSnapshotSpec, write_test_snapshot};
use bevy_radiance::timeline::{Playback, PlaybackClock};
use common::*;

/// Every warning and error logged while the test runs, as text.
static LOGGED: Mutex<Vec<(Level, String)>> = Mutex::new(Vec::new());

struct Record;

impl<S: Subscriber> Layer<S> for Record {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let meta = event.metadata();
        if *meta.level() <= Level::WARN {
            let mut text = format!("{}: ", meta.target());
            event.record(&mut |_: &bevy::log::tracing::field::Field, value: &dyn std::fmt::Debug| {
                text.push_str(&format!("{value:?} "));
            });
            LOGGED.lock().unwrap_or_else(PoisonError::into_inner).push((*meta.level(), text));
        }
    }
}

/// Errors logged so far that name `file`.
fn errors_naming(file: &str) -> Vec<String> {
    let logged = LOGGED.lock().unwrap_or_else(PoisonError::into_inner);
    logged.iter().filter(|(level, text)| *level == Level::ERROR && text.contains(file)).map(|(_, t)| t.clone()).collect()
}

fn bevy_radiance_warnings() -> Vec<String> {
    let logged = LOGGED.lock().unwrap_or_else(PoisonError::into_inner);
    logged.iter().filter(|(_, text)| text.starts_with("bevy_radiance")).map(|(_, t)| t.clone()).collect()
}

/// A fresh asset folder for one case.
fn folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bevy_radiance_hot_reload_{}_{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    dir
}

/// A renderer that loads from `dir` and watches it.
fn watching(dir: &Path) -> HeadlessRenderer {
    let settings =
        HeadlessSettings { asset_folder: dir.to_string_lossy().into_owned(), watch_for_changes: true, ..Default::default() };
    HeadlessRenderer::new(settings).unwrap_or_else(|e| panic!("GPU test cannot run: {e}"))
}

/// The view of every case; fields are marched at a quarter of its size
/// (12×8 rays, about a second a frame on lavapipe).
fn camera() -> HeadlessCamera {
    let mut camera = look_at_camera(48, 32, Vec3::new(0.3, 0.4, 3.0), Vec3::ZERO, 60f32.to_radians());
    camera.field_render_scale = 0.25;
    camera
}

/// Updates until `done` holds for the view's image; panics after 400 s (a
/// field pipeline variant new to Mesa's shader cache compiles for minutes).
fn wait_for(r: &mut HeadlessRenderer, view: &HeadlessView, what: &str, done: impl Fn(&RgbaImage) -> bool) -> RgbaImage {
    let start = Instant::now();
    loop {
        r.update();
        let image = r.read_view(view).expect("readback");
        if done(&image) {
            if start.elapsed() > Duration::from_secs(5) {
                println!("{what}: {:.1} s", start.elapsed().as_secs_f64());
            }
            return image;
        }
        if start.elapsed() > Duration::from_secs(400) {
            save_for_inspection(&image, &format!("hot_reload_{}.png", what.replace(' ', "_")));
            panic!("{what}: not seen within 400 s (last image saved for inspection)");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_loaded(r: &mut HeadlessRenderer, handle: impl Into<UntypedHandle>, what: &str) {
    let handle = handle.into();
    let start = Instant::now();
    while !r.world_mut().resource::<AssetServer>().is_loaded_with_dependencies(&handle) {
        assert!(start.elapsed() < Duration::from_secs(60), "{what} did not load");

        r.update();
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Writes `bytes` over `file` in place, as an editor saving does.
fn overwrite(dir: &Path, file: &str, bytes: &[u8]) {
    std::fs::write(dir.join(file), bytes).expect("write the asset");
}

/// One asset kind's cycle: `file` holds `good`, then `other`, then `broken`,
/// then `good` again, while an entity made by `show` displays it.
struct Cycle<'a> {
    name: &'a str,
    file: &'a str,
    good: Vec<u8>,
    other: Vec<u8>,
    broken: Vec<u8>,
    /// Other files the assets name (sequence frames).
    extra: Vec<(&'a str, Vec<u8>)>,
    /// Loads a file into an entity; returns it (loaded) and the asset's handle.
    show: &'a dyn Fn(&mut HeadlessRenderer, &str) -> (Entity, UntypedHandle),
}

fn run(cycle: Cycle<'_>) {
    let Cycle { name, file, good, other, broken, extra, show } = cycle;
    let dir = folder(name);
    for (extra, bytes) in &extra {
        overwrite(&dir, extra, bytes);
    }
    let copy = format!("copy_of_other_{file}");
    overwrite(&dir, file, &good);
    overwrite(&dir, &copy, &other);
    let mut r = watching(&dir);
    let view = r.spawn_view(&camera()).expect("a view");
    let background = wait_for(&mut r, &view, &format!("{name} background"), |_| true);

    // What the other content looks like, loaded fresh from its own file.
    let (entity, copy_handle) = show(&mut r, &copy);
    let expected_other = wait_for(&mut r, &view, &format!("{name} copy"), |i| i.data != background.data);
    r.world_mut().despawn(entity);
    wait_for(&mut r, &view, &format!("{name} copy gone"), |i| i.data == background.data);
    drop(copy_handle);

    let (_entity, _handle) = show(&mut r, file);
    let first = wait_for(&mut r, &view, &format!("{name} first load"), |i| i.data != background.data);
    assert_not_blank(&first, &format!("{name}: first load"));
    assert_ne!(first.data, expected_other.data, "{name}: the two contents look different");

    // Rewritten: the new content shows, pixel for pixel as a fresh load.
    overwrite(&dir, file, &other);
    wait_for(&mut r, &view, &format!("{name} reloaded"), |i| i.data == expected_other.data);

    // Broken: errors name the file, the last good version stays.
    let before = errors_naming(file).len();
    let warnings = bevy_radiance_warnings().len();
    overwrite(&dir, file, &broken);
    let start = Instant::now();
    while errors_naming(file).len() == before {
        assert!(start.elapsed() < Duration::from_secs(60), "{name}: no error names {file} after it broke");
        r.update();
        std::thread::sleep(Duration::from_millis(20));
    }
    // Give any further reload (duplicate watcher events) time to land.
    let start = Instant::now();
    let mut frames = 0;
    while frames < 3 || start.elapsed() < Duration::from_millis(1500) {
        frames += 1;
        r.update();
        std::thread::sleep(Duration::from_millis(20));
        let image = r.read_view(&view).expect("readback");
        if image.data != expected_other.data {
            save_for_inspection(&image, &format!("hot_reload_{name}_broken.png"));
            panic!("{name}: the image changed after the file broke (saved for inspection)");
        }
    }
    let errors = errors_naming(file)[before..].to_vec();
    println!("{name}: {} error(s) after the file broke: {errors:#?}", errors.len());
    assert!(errors.len() <= 2, "{name}: one failed reload is reported at most twice, not per frame: {errors:#?}");
    assert_eq!(bevy_radiance_warnings()[warnings..], [] as [String; 0], "{name}: the plugin itself stays quiet");

    // Repaired: the first content is back.
    overwrite(&dir, file, &good);
    wait_for(&mut r, &view, &format!("{name} repaired"), |i| i.data == first.data);
    let _ = std::fs::remove_dir_all(&dir);
}

fn splat_ply(seed: u64) -> Vec<u8> {
    write_gaussian_ply(&synthetic_splats(300, 1, seed), PlyFormat::BinaryLittleEndian)
}

fn install_log() {
    bevy::log::tracing::subscriber::set_global_default(Registry::default().with(Record))
        .expect("no other global subscriber in this test binary");
}

/// The three kinds run one after another in one test: the log is global.
#[test]
fn rewritten_files_reload_and_broken_ones_keep_the_last_good_version() {
    install_log();

    let good = splat_ply(1);
    run(Cycle {
        name: "splats",
        file: "scene.ply",
        broken: good[..good.len() / 2].to_vec(),
        good,
        other: splat_ply(2),
        extra: Vec::new(),
        show: &|r, path| {
            let handle = r.world_mut().resource::<AssetServer>().load::<GaussianSplats>(path.to_string());
            let entity = r.world_mut().spawn((GaussianSplat3d(handle.clone()), Transform::IDENTITY)).id();
            wait_loaded(r, handle.clone(), path);
            (entity, handle.untyped())
        },
    });

    let field = |seed, blob_radius| write_test_snapshot(&TestSnapshotSpec { seed, blob_radius, ..Default::default() });
    let good = field(1, 0.25);
    run(Cycle {
        name: "field",
        file: "blob.ingp",
        broken: good[..good.len() / 2].to_vec(),
        good,
        other: field(5, 0.35),
        extra: Vec::new(),
        show: &|r, path| {
            let handle = r.world_mut().resource::<AssetServer>().load::<RadianceField>(path.to_string());
            let entity = r.world_mut().spawn((RadianceField3d(handle.clone()), Transform::IDENTITY)).id();
            wait_loaded(r, handle.clone(), path);
            (entity, handle.untyped())
        },
    });

    // The manifest names frame files (written beside it by `show`): the
    // rewrite switches the clip to other frames.
    let manifest = |frame: &str| format!("(fps: 10.0, frames: List([\"{frame}\"]))").into_bytes();
    run(Cycle {
        name: "sequence",
        file: "clip.splatseq.ron",
        good: manifest("a.ply"),
        other: manifest("b.ply"),
        broken: b"(fps: 10.0, frames: List([".to_vec(),
        extra: vec![("a.ply", splat_ply(3)), ("b.ply", splat_ply(4))],
        show: &|r, path| {
            let handle = r.world_mut().resource::<AssetServer>().load::<SplatSequence>(path.to_string());
            let playback = Playback::new().with_clock(PlaybackClock::Manual);
            let entity = r.world_mut().spawn((SplatSequence3d(handle.clone()), playback, Transform::IDENTITY)).id();
            wait_loaded(r, handle.clone(), path);
            (entity, handle.untyped())
        },
    });
}
