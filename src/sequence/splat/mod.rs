//! Splat sequences (volumetric video): one splat file per frame, declared in a
//! RON manifest ([`SplatSequence`]), played by the [timeline](crate::timeline).
//!
//! A [`SplatSequence3d`] entity keeps a window of frames around its playhead
//! loading through the asset server (decoded off the main thread by the splat
//! loader, any format it reads), drops the handles of frames that leave the
//! window (so memory stays bounded however long the clip), and shows the
//! current frame through its [`GaussianSplat3d`] once that frame has loaded —
//! until then the previous frame stays on screen, so playback never stalls on
//! I/O.
//!
//! | schedule | system | set |
//! |---|---|---|
//! | `Update` | [`sync_sequence_playback`] | [`TimelineSystems::Sync`] |
//! | `PostUpdate` | [`stream_sequence_frames`] | [`TimelineSystems::Apply`] |
//!
//! ```no_run
//! use bevy::prelude::*;
//! use bevy_radiance::prelude::*;
//! use bevy_radiance::sequence::SplatSequence3d;
//!
//! fn setup(mut commands: Commands, assets: Res<AssetServer>) {
//!     commands.spawn((SplatSequence3d(assets.load("wave/wave.splatseq.ron")), Playback::new()));
//! }
//! # let _ = setup;
//! ```

mod manifest;

use bevy::platform::collections::HashMap;
use bevy::prelude::*;

pub use manifest::{
    FrameList, MAX_MANIFEST_BYTES, MAX_SEQUENCE_FRAMES, SequenceError, SequenceFrames, SplatSequence, SplatSequenceLoader, parse_manifest,
};

use crate::splat::asset::GaussianSplats;
use crate::scene::GaussianSplat3d;
use crate::io::SplatLoaderSettings;
use crate::timeline::{LoopMode, OwnedPlaybackDuration, Playback, TimelineSystems};

/// A splat sequence placed in the world, played by the entity's [`Playback`].
#[derive(Component, Clone, Debug, Default, Deref, DerefMut, PartialEq, Eq)]
#[require(Transform, Visibility, Playback, OwnedPlaybackDuration, SequenceWindow, SequenceStatus)]
pub struct SplatSequence3d(pub Handle<SplatSequence>);

/// How many frames around the playhead a [`SplatSequence3d`] keeps loading or
/// loaded (in the direction of play: `ahead` frames ahead, `behind` behind).
/// At most `ahead + behind + 1` frames are held (plus the one on screen while
/// its successor loads).
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq)]
pub struct SequenceWindow {
    /// Frames prefetched ahead of the playhead. Default 8.
    pub ahead: u32,
    /// Frames kept behind it. Default 1.
    pub behind: u32,
}

impl Default for SequenceWindow {
    fn default() -> Self {
        Self { ahead: 8, behind: 1 }
    }
}

/// What a [`SplatSequence3d`] holds and shows (read it for tools and tests).
#[derive(Component, Clone, Debug, Default)]
pub struct SequenceStatus {
    /// The frame the playhead is on.
    pub current: Option<usize>,
    /// The frame on screen (lags `current` while that frame loads).
    pub displayed: Option<usize>,
    /// The last frame reported as failing to load (warned once).
    pub failed: Option<usize>,
    /// The sequence asset the held frames belong to.
    source: Option<AssetId<SplatSequence>>,
    /// Frames whose handles are held (loading or loaded), by index.
    resident: HashMap<usize, Handle<GaussianSplats>>,
}

impl SequenceStatus {
    /// Number of frames held (loading or loaded), excluding the one on screen
    /// when it already left the window.
    pub fn resident_frames(&self) -> usize {
        self.resident.len()
    }

    /// Indices of the frames held, sorted.
    pub fn resident_indices(&self) -> Vec<usize> {
        let mut v: Vec<usize> = self.resident.keys().copied().collect();
        v.sort_unstable();
        v
    }
}

/// Registers the sequence asset, its loader and systems. Added by
/// [`GaussianSplatPlugin`](crate::GaussianSplatPlugin).
pub struct SplatSequencePlugin;

impl Plugin for SplatSequencePlugin {
    fn build(&self, app: &mut App) {
        app.init_asset::<SplatSequence>()
            .register_asset_loader(SplatSequenceLoader)
            .add_systems(Update, sync_sequence_playback.in_set(TimelineSystems::Sync))
            .add_systems(PostUpdate, stream_sequence_frames.in_set(TimelineSystems::Apply));
    }
}

/// Sets each sequence entity's [`Playback::duration`] to `frames / fps`.
pub fn sync_sequence_playback(sequences: Res<Assets<SplatSequence>>, mut entities: Query<(&SplatSequence3d, &mut Playback)>) {
    for (sequence, mut playback) in &mut entities {
        if let Some(asset) = sequences.get(&sequence.0) {
            let duration = Some(asset.duration_seconds());
            if playback.duration != duration {
                playback.duration = duration;
            }
        }
    }
}

/// The frames to hold for a playhead at `current` of `count` frames.
fn window_frames(current: usize, count: usize, window: SequenceWindow, forward: bool, wrap: bool) -> Vec<usize> {
    let (before, after) = if forward { (window.behind, window.ahead) } else { (window.ahead, window.behind) };
    // At most the whole clip, however large the window.
    let span = count.saturating_sub(1) as i64;
    let (before, after) = ((before as i64).min(span), (after as i64).min(span));
    let mut frames = Vec::with_capacity((before + after + 1) as usize);
    for offset in -before..=after {
        let index = current as i64 + offset;
        let index = if wrap {
            index.rem_euclid(count as i64)
        } else if (0..count as i64).contains(&index) {
            index
        } else {
            continue;
        };
        if !frames.contains(&(index as usize)) {
            frames.push(index as usize);
        }
    }
    // Load order: the current frame first, then outwards in the direction of play.
    frames.sort_by_key(|&f| {
        if forward {
            (f as i64 - current as i64).rem_euclid(count as i64)
        } else {
            (current as i64 - f as i64).rem_euclid(count as i64)
        }
    });
    frames
}

/// Streams each sequence's frames around its playhead and shows the current
/// one once loaded.
#[expect(clippy::type_complexity, reason = "a Bevy system's query")]
pub fn stream_sequence_frames(
    mut commands: Commands,
    mut events: MessageReader<AssetEvent<SplatSequence>>,
    asset_server: Res<AssetServer>,
    sequences: Res<Assets<SplatSequence>>,
    splats: Res<Assets<GaussianSplats>>,
    mut entities: Query<(Entity, &SplatSequence3d, &Playback, &SequenceWindow, &mut SequenceStatus, Option<&GaussianSplat3d>)>,
) {
    let modified: Vec<AssetId<SplatSequence>> = events
        .read()
        .filter_map(|e| match e {
            AssetEvent::Modified { id } => Some(*id),
            _ => None,
        })
        .collect();
    for (entity, sequence, playback, window, mut status, shown) in &mut entities {
        if modified.contains(&sequence.0.id()) {
            status.source = None;
        }
        let Some(asset) = sequences.get(&sequence.0) else {
            continue;
        };
        let count = asset.frames.len();
        // Built in code without frames or with a bad rate: nothing to play.
        if count == 0 || !(asset.fps.is_finite() && asset.fps > 0.0) {
            continue;
        }
        // A different (or reloaded) sequence: start over.
        if status.source != Some(sequence.0.id()) {
            status.resident.clear();
            status.displayed = None;
            status.failed = None;
            status.source = Some(sequence.0.id());
        }
        let current = asset.frame_at(playback.time);
        let forward = playback.speed * playback.direction() >= 0.0;
        let wrap = playback.mode == LoopMode::Loop && playback.clip.is_none();
        let wanted = window_frames(current, count, *window, forward, wrap);
        status.resident.retain(|index, _| wanted.contains(index));
        for &index in &wanted {
            if status.resident.contains_key(&index) {
                continue;
            }
            let Some(path) = asset.frames.get(index) else {
                continue;
            };
            let handle = match asset.settings.clone() {
                Some(settings) => asset_server
                    .load_builder()
                    .with_settings(move |s: &mut SplatLoaderSettings| *s = settings.clone())
                    .load(path),
                None => asset_server.load(path),
            };
            status.resident.insert(index, handle);
        }
        status.current = Some(current);
        let Some(handle) = status.resident.get(&current).cloned() else {
            continue;
        };
        if asset_server.load_state(&handle).is_failed() && status.failed != Some(current) {
            status.failed = Some(current);
            warn!(
                "bevy_radiance: frame {current} of sequence {:?} ({}) failed to load; the last good frame stays on screen",
                sequence.0.path(),
                asset.frames.get(current).map(|p| p.to_string()).unwrap_or_default()
            );
        }
        if status.displayed != Some(current) && splats.contains(&handle) {
            status.displayed = Some(current);
            if shown.map(|s| &s.0) != Some(&handle) {
                commands.entity(entity).insert(GaussianSplat3d(handle));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_follow_the_direction_of_play() {
        let w = SequenceWindow { ahead: 3, behind: 1 };
        assert_eq!(window_frames(5, 100, w, true, false), vec![5, 6, 7, 8, 4]);
        assert_eq!(window_frames(5, 100, w, false, false), vec![5, 4, 3, 2, 6]);
        assert_eq!(window_frames(98, 100, w, true, true), vec![98, 99, 0, 1, 97]);
        assert_eq!(window_frames(98, 100, w, true, false), vec![98, 99, 97]);
        assert_eq!(window_frames(0, 2, w, true, true), vec![0, 1]);
    }
}
