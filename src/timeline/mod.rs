//! The timeline of dynamic captures: a [`Playback`] component that game code
//! drives (play, pause, seek, speed, loop mode, clip range), advanced by a
//! chosen clock, with messages when a clip finishes or loops.
//!
//! | schedule | system | set |
//! |---|---|---|
//! | `Update` | [`advance_playback`]`::<false>` (virtual and real clocks) | [`TimelineSystems::Advance`] |
//! | `FixedUpdate` | [`advance_playback`]`::<true>` (fixed clock) | [`TimelineSystems::Advance`] |
//! | `PostUpdate` | [`apply_transform_tracks`], the asset kinds' systems | [`TimelineSystems::Apply`], before transform propagation |
//!
//! Asset kinds read [`Playback::time`] in [`TimelineSystems::Apply`]: 4D splat
//! clips (`GaussianSplat3d` with a dynamic asset), splat sequences and
//! [`TransformTrack`]s. Order game systems that seek or react to the messages
//! `.before(TimelineSystems::Advance)` / `.after(TimelineSystems::Advance)`.
//!
//! ```no_run
//! use bevy::prelude::*;
//! use bevy_radiance::timeline::{LoopMode, Playback, PlaybackFinished, TimelineSystems};
//!
//! fn start_on_key(keys: Res<ButtonInput<KeyCode>>, mut clips: Query<&mut Playback>) {
//!     if keys.just_pressed(KeyCode::Space) {
//!         for mut playback in &mut clips {
//!             playback.play();
//!         }
//!     }
//! }
//!
//! fn on_finished(mut finished: MessageReader<PlaybackFinished>) {
//!     for message in finished.read() {
//!         info!("{:?} finished", message.entity);
//!     }
//! }
//!
//! # let mut app = App::new();
//! app.add_systems(Update, (start_on_key.before(TimelineSystems::Advance), on_finished.after(TimelineSystems::Advance)));
//! ```

mod playback;
mod track;

#[cfg(test)]
mod tests;

use bevy::prelude::*;
use bevy::transform::TransformSystems;

pub use playback::{AdvanceOutcome, LoopMode, Playback, PlaybackClock};
pub use track::{TransformTrack, apply_transform_tracks};

/// Public system sets of the timeline (main world).
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum TimelineSystems {
    /// Asset systems that fill in [`Playback::duration`] (in `Update`, before `Advance`).
    Sync,
    /// Playback times advance (in `Update` for virtual/real clocks, in
    /// `FixedUpdate` for the fixed clock); the messages are written here.
    Advance,
    /// Dynamic assets read the time (in `PostUpdate`, before transform propagation).
    Apply,
}

/// Marks an entity whose [`Playback::duration`] is set by the component that
/// owns the playback (a splat sequence, for example), so systems that would
/// otherwise take the duration from the entity's asset leave it alone.
#[derive(Component, Clone, Copy, Debug, Default)]
pub struct OwnedPlaybackDuration;

/// Sent once when a [`LoopMode::Once`] playback reaches the end of its clip
/// (the start when playing backwards). Seeking or restarting re-arms it.
#[derive(Message, Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlaybackFinished {
    /// The entity whose playback finished.
    pub entity: Entity,
}

/// Sent when a [`LoopMode::Loop`] playback wraps around or a
/// [`LoopMode::PingPong`] playback bounces.
#[derive(Message, Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlaybackLooped {
    /// The entity whose playback looped.
    pub entity: Entity,
    /// Wraps or bounces in this step (more than one after a long frame).
    pub count: u32,
}

/// Registers [`Playback`], its systems and messages. Added by the splat and
/// radiance-field plugins (once, whichever comes first).
pub struct TimelinePlugin;

impl Plugin for TimelinePlugin {
    fn build(&self, app: &mut App) {
        app.add_message::<PlaybackFinished>()
            .add_message::<PlaybackLooped>()
            .register_type::<Playback>()
            .register_type::<TransformTrack>()
            .configure_sets(Update, TimelineSystems::Sync.before(TimelineSystems::Advance))
            .configure_sets(PostUpdate, TimelineSystems::Apply.before(TransformSystems::Propagate))
            .add_systems(Update, advance_playback::<false>.in_set(TimelineSystems::Advance))
            .add_systems(FixedUpdate, advance_playback::<true>.in_set(TimelineSystems::Advance))
            .add_systems(PostUpdate, apply_transform_tracks.in_set(TimelineSystems::Apply));
    }
}

/// Advances every playback whose clock runs in this schedule (`FIXED`: the
/// fixed clock in `FixedUpdate`; otherwise virtual and real clocks in `Update`)
/// and writes [`PlaybackFinished`] / [`PlaybackLooped`].
pub fn advance_playback<const FIXED: bool>(
    mut playbacks: Query<(Entity, &mut Playback)>,
    time: Res<Time>,
    real: Res<Time<Real>>,
    mut finished: MessageWriter<PlaybackFinished>,
    mut looped: MessageWriter<PlaybackLooped>,
) {
    for (entity, mut playback) in &mut playbacks {
        let dt = match (playback.clock, FIXED) {
            (PlaybackClock::Fixed, true) | (PlaybackClock::Virtual, false) => time.delta_secs(),
            (PlaybackClock::Real, false) => real.delta_secs(),
            _ => continue,
        };
        if playback.paused || dt == 0.0 {
            continue;
        }
        let outcome = playback.advance(dt);
        if outcome.finished {
            finished.write(PlaybackFinished { entity });
        }
        if outcome.loops > 0 {
            looped.write(PlaybackLooped { entity, count: outcome.loops });
        }
    }
}
