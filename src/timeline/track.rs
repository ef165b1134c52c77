//! [`TransformTrack`]: keyframed transforms played by a [`Playback`].

use bevy::prelude::*;

use super::Playback;

/// Keyframed transforms: sets the entity's [`Transform`] from its
/// [`Playback`] time (linear translation and scale, spherical interpolation of
/// rotation; held constant before the first and after the last key). Use it to
/// move a radiance field, a splat capture or anything else along a path in
/// step with the capture's clock.
#[derive(Component, Clone, Debug, Default, PartialEq, Reflect)]
#[require(Playback, Transform)]
#[reflect(Component)]
pub struct TransformTrack {
    keys: Vec<(f32, Transform)>,
}

impl TransformTrack {
    /// A track from `(seconds, transform)` keys, in any order; keys with a
    /// non-finite time are dropped.
    pub fn new(keys: impl IntoIterator<Item = (f32, Transform)>) -> Self {
        let mut keys: Vec<(f32, Transform)> = keys.into_iter().filter(|(t, _)| t.is_finite()).collect();
        keys.sort_by(|a, b| a.0.total_cmp(&b.0));
        Self { keys }
    }

    /// The keys, sorted by time.
    pub fn keys(&self) -> &[(f32, Transform)] {
        &self.keys
    }

    /// Time of the last key (0 for an empty track).
    pub fn duration(&self) -> f32 {
        self.keys.last().map_or(0.0, |k| k.0.max(0.0))
    }

    /// The transform at `seconds`; `None` for an empty track.
    pub fn sample(&self, seconds: f32) -> Option<Transform> {
        let first = self.keys.first()?;
        let next = self.keys.partition_point(|k| k.0 <= seconds);
        if next == 0 {
            return Some(first.1);
        }
        let (t0, a) = self.keys[next - 1];
        let Some(&(t1, b)) = self.keys.get(next) else {
            return Some(a);
        };
        let f = if t1 > t0 { ((seconds - t0) / (t1 - t0)).clamp(0.0, 1.0) } else { 1.0 };
        Some(Transform {
            translation: a.translation.lerp(b.translation, f),
            rotation: a.rotation.slerp(b.rotation, f),
            scale: a.scale.lerp(b.scale, f),
        })
    }
}

/// Sets the transforms of [`TransformTrack`] entities from their playback time,
/// and sets their playbacks' duration to the track's.
pub fn apply_transform_tracks(mut tracks: Query<(&TransformTrack, &mut Playback, &mut Transform)>) {
    for (track, mut playback, mut transform) in &mut tracks {
        if !track.keys.is_empty() && playback.duration != Some(track.duration()) {
            playback.duration = Some(track.duration());
        }
        if let Some(sampled) = track.sample(playback.time)
            && *transform != sampled
        {
            *transform = sampled;
        }
    }
}
