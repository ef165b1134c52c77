use std::time::Duration;

use bevy::prelude::*;
use bevy::time::{TimePlugin, TimeUpdateStrategy};

use super::*;

fn clip(duration: f32) -> Playback {
    Playback::new().with_duration(duration)
}

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() < 1e-5
}

#[test]
fn loop_wraps_and_counts() {
    let mut p = clip(2.0);
    assert_eq!(p.advance(1.5), AdvanceOutcome { loops: 0, finished: false });
    assert!(close(p.time, 1.5));
    assert_eq!(p.advance(1.0).loops, 1);
    assert!(close(p.time, 0.5));
    // A long frame wraps several times at once.
    assert_eq!(p.advance(7.0).loops, 3);
    assert!(close(p.time, 1.5));
}

#[test]
fn reverse_loop_wraps_to_the_end() {
    let mut p = clip(2.0).with_speed(-1.0).at(0.5);
    assert_eq!(p.advance(1.0).loops, 1);
    assert!(close(p.time, 1.5));
}

#[test]
fn once_stops_and_finishes_once() {
    let mut p = clip(2.0).with_mode(LoopMode::Once);
    assert!(!p.advance(1.5).finished);
    assert!(p.advance(1.0).finished);
    assert!(close(p.time, 2.0) && p.is_finished());
    assert_eq!(p.advance(1.0), AdvanceOutcome::default(), "a finished clip stays put and reports nothing");
    p.play();
    assert!(close(p.time, 0.0) && !p.is_finished(), "play restarts a finished clip");
    // Backwards it finishes at the start.
    let mut back = clip(2.0).with_mode(LoopMode::Once).with_speed(-2.0).at(1.0);
    assert!(back.advance(0.75).finished);
    assert!(close(back.time, 0.0));
    back.play();
    assert!(close(back.time, 2.0), "a reversed restart begins at the end");
}

#[test]
fn ping_pong_bounces() {
    let mut p = clip(2.0).with_mode(LoopMode::PingPong);
    assert_eq!(p.advance(2.5).loops, 1);
    assert!(close(p.time, 1.5) && p.direction() < 0.0);
    assert_eq!(p.advance(2.0).loops, 1);
    assert!(close(p.time, 0.5) && p.direction() > 0.0);
    // Four bounces in one step end up where they started, moving the same way.
    assert_eq!(p.advance(8.0).loops, 4);
    assert!(close(p.time, 0.5) && p.direction() > 0.0);
    // Negative speed runs the path backwards.
    let mut r = clip(2.0).with_mode(LoopMode::PingPong).with_speed(-1.0).at(0.5);
    assert_eq!(r.advance(1.0).loops, 1);
    assert!(close(r.time, 0.5) && r.direction() < 0.0);
}

#[test]
fn clip_range_limits_playback() {
    let mut p = clip(10.0).with_clip(2.0, 4.0).at(3.5);
    assert_eq!(p.advance(1.0).loops, 1);
    assert!(close(p.time, 2.5));
    p.seek(9.0);
    assert!(close(p.time, 4.0), "seeks clamp to the clip range");
    // A range past the duration is clamped to it.
    let clamped = clip(3.0).with_clip(2.0, 8.0);
    assert_eq!(clamped.range(), Some((2.0, 3.0)));
}

#[test]
fn degenerate_inputs_are_safe() {
    for duration in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        let mut p = clip(duration);
        assert_eq!(p.advance(1.0), AdvanceOutcome::default());
        assert!(p.time.is_finite());
    }
    let mut p = clip(2.0);
    for dt in [f32::NAN, f32::INFINITY, 0.0] {
        assert_eq!(p.advance(dt), AdvanceOutcome::default());
    }
    p.seek(f32::NAN);
    assert!(close(p.time, 0.0));
    // Without a duration the time just advances.
    let mut open = Playback::new();
    open.advance(3.0);
    assert!(close(open.time, 3.0));
    // Paused playback does not move.
    let mut paused = clip(2.0).paused();
    assert_eq!(paused.advance(1.0), AdvanceOutcome::default());
    assert!(close(paused.time, 0.0));
}

#[test]
fn transform_track_interpolates() {
    let track = TransformTrack::new([
        (2.0, Transform::from_xyz(2.0, 0.0, 0.0).with_rotation(Quat::from_rotation_y(1.0))),
        (0.0, Transform::from_xyz(0.0, 0.0, 0.0)),
    ]);
    assert_eq!(track.duration(), 2.0);
    let mid = track.sample(1.0).unwrap();
    assert!(mid.translation.abs_diff_eq(Vec3::new(1.0, 0.0, 0.0), 1e-6));
    assert!(mid.rotation.abs_diff_eq(Quat::from_rotation_y(0.5), 1e-6));
    assert_eq!(track.sample(-1.0).unwrap().translation, Vec3::ZERO);
    assert_eq!(track.sample(5.0).unwrap().translation, Vec3::new(2.0, 0.0, 0.0));
    assert!(TransformTrack::default().sample(0.0).is_none());
}

/// An app whose every update advances time by `step` seconds.
fn app(step: f32) -> App {
    let mut app = App::new();
    app.add_plugins((TaskPoolPlugin::default(), TimePlugin, TransformPlugin, TimelinePlugin));
    app.insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_secs_f32(step)));
    // The first update only starts the clocks.
    app.update();
    app
}

fn messages<M: Message + Copy>(app: &App) -> Vec<M> {
    let messages = app.world().resource::<Messages<M>>();
    messages.iter_current_update_messages().copied().collect()
}

#[test]
fn messages_fire_once_per_event() {
    let mut app = app(0.25);
    let once = app.world_mut().spawn(clip(1.0).with_mode(LoopMode::Once)).id();
    let looping = app.world_mut().spawn(clip(1.0)).id();
    let mut finished = Vec::new();
    let mut looped = Vec::new();
    for _ in 0..12 {
        app.update();
        finished.extend(messages::<PlaybackFinished>(&app));
        looped.extend(messages::<PlaybackLooped>(&app));
    }
    assert_eq!(finished, vec![PlaybackFinished { entity: once }]);
    assert_eq!(looped.iter().filter(|m| m.entity == looping).map(|m| m.count).sum::<u32>(), 3);
    assert!(looped.iter().all(|m| m.entity == looping));
}

#[test]
fn virtual_pause_stops_playback_and_real_clock_ignores_it() {
    let mut app = app(0.1);
    let game = app.world_mut().spawn(Playback::new()).id();
    let ui = app.world_mut().spawn(Playback::new().with_clock(PlaybackClock::Real)).id();
    app.update();
    app.world_mut().resource_mut::<Time<Virtual>>().pause();
    for _ in 0..5 {
        app.update();
    }
    let time = |app: &App, e| app.world().get::<Playback>(e).unwrap().time;
    assert!(close(time(&app, game), 0.1), "virtual time paused: {}", time(&app, game));
    assert!(close(time(&app, ui), 0.6), "real time runs: {}", time(&app, ui));
    // Scaled virtual time scales playback.
    app.world_mut().resource_mut::<Time<Virtual>>().unpause();
    app.world_mut().resource_mut::<Time<Virtual>>().set_relative_speed(2.0);
    app.update();
    assert!(close(time(&app, game), 0.3), "scaled: {}", time(&app, game));
}

#[test]
fn fixed_and_manual_clocks() {
    let mut app = app(1.0 / 32.0);
    let fixed = app.world_mut().spawn(Playback::new().with_clock(PlaybackClock::Fixed)).id();
    let manual = app.world_mut().spawn(Playback::new().with_clock(PlaybackClock::Manual)).id();
    for _ in 0..8 {
        app.update();
    }
    let timestep = app.world().resource::<Time<Fixed>>().timestep().as_secs_f32();
    let fixed_time = app.world().get::<Playback>(fixed).unwrap().time;
    // Whole fixed steps only.
    let steps = fixed_time / timestep;
    assert!((steps - steps.round()).abs() < 1e-3 && steps >= 1.0, "{fixed_time} is not whole steps of {timestep}");
    assert_eq!(app.world().get::<Playback>(manual).unwrap().time, 0.0);
    app.world_mut().get_mut::<Playback>(manual).unwrap().seek(1.25);
    app.update();
    assert_eq!(app.world().get::<Playback>(manual).unwrap().time, 1.25);
}

#[test]
fn entities_play_independently_and_tracks_move_transforms() {
    // (Virtual time clamps a frame to 0.25 s by default.)
    let mut app = app(0.2);
    let a = app.world_mut().spawn(clip(4.0)).id();
    let b = app.world_mut().spawn(clip(4.0).with_speed(2.0).at(1.0)).id();
    let track = TransformTrack::new([(0.0, Transform::IDENTITY), (2.0, Transform::from_xyz(4.0, 0.0, 0.0))]);
    let moving = app.world_mut().spawn((track, Playback::new().with_mode(LoopMode::Once))).id();
    for _ in 0..5 {
        app.update();
    }
    let time = |e| app.world().get::<Playback>(e).unwrap().time;
    assert!(close(time(a), 1.0) && close(time(b), 3.0));
    let transform = app.world().get::<Transform>(moving).unwrap();
    assert!(transform.translation.abs_diff_eq(Vec3::new(2.0, 0.0, 0.0), 1e-5), "{transform:?}");
    let global = app.world().get::<GlobalTransform>(moving).unwrap();
    assert!(global.translation().abs_diff_eq(Vec3::new(2.0, 0.0, 0.0), 1e-5), "propagated in the same frame");
    assert_eq!(app.world().get::<Playback>(moving).unwrap().duration, Some(2.0));
}
