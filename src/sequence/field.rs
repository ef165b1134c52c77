//! Radiance fields over time: keyframed fields cross-faded by the
//! [timeline](crate::timeline). (To move a field, give it a
//! [`TransformTrack`](crate::timeline::TransformTrack).)

use bevy::prelude::*;

use crate::field::RadianceField;
use crate::scene::{RadianceField3d, RadianceFieldSettings};
use crate::timeline::Playback;

/// A sequence of radiance fields played by the entity's [`Playback`]: key `k`
/// shows from its time until the next key's; over the last `crossfade`
/// seconds before a key, the outgoing field fades out while the incoming one
/// fades in (drawn additively with opacities `1 − w` and `w`, an exact
/// cross-fade where no other radiance field lies in front of the pair). The clip lasts until the last key's time plus `crossfade`
/// (the last key holds for that long). Looping wraps from the last key to the
/// first without a fade.
///
/// The keyframe fields are drawn by child entities that this component
/// spawns (one per key, hidden while inactive); they inherit the entity's
/// transform, so the whole sequence moves like one field.
#[derive(Component, Debug, Default)]
#[require(Transform, Visibility, Playback)]
#[component(on_discard = despawn_keyframe_children)]
pub struct FieldSequence3d {
    keys: Vec<(f32, Handle<RadianceField>)>,
    /// Cross-fade length in seconds (0: cut).
    pub crossfade: f32,
    /// Base render settings of the keyframe fields (opacity and blending are
    /// set per frame).
    pub settings: RadianceFieldSettings,
    children: Vec<Entity>,
}

impl Clone for FieldSequence3d {
    /// A copy with the same keys and settings; it spawns its own keyframe
    /// children (the original's stay with the original).
    fn clone(&self) -> Self {
        Self {
            keys: self.keys.clone(),
            crossfade: self.crossfade,
            settings: self.settings,
            children: Vec::new(),
        }
    }
}

/// Removes a sequence's keyframe children when the component is replaced or removed.
fn despawn_keyframe_children(mut world: bevy::ecs::world::DeferredWorld, context: bevy::ecs::lifecycle::HookContext) {
    let children = world
        .get::<FieldSequence3d>(context.entity)
        .map(|s| s.children.clone())
        .unwrap_or_default();
    let mut commands = world.commands();
    for child in children {
        if let Ok(mut entity) = commands.get_entity(child) {
            entity.despawn();
        }
    }
}

impl FieldSequence3d {
    /// A sequence from `(seconds, field)` keys in any order; keys with a
    /// non-finite time are dropped. A negative or NaN cross-fade counts as 0.
    pub fn new(keys: impl IntoIterator<Item = (f32, Handle<RadianceField>)>, crossfade: f32) -> Self {
        let mut keys: Vec<_> = keys.into_iter().filter(|(t, _)| t.is_finite()).collect();
        keys.sort_by(|a, b| a.0.total_cmp(&b.0));
        Self {
            keys,
            crossfade: if crossfade > 0.0 { crossfade } else { 0.0 },
            settings: RadianceFieldSettings::default(),
            children: Vec::new(),
        }
    }

    /// The keys, sorted by time.
    pub fn keys(&self) -> &[(f32, Handle<RadianceField>)] {
        &self.keys
    }

    /// Length in seconds: the last key's time plus the cross-fade.
    pub fn duration(&self) -> f32 {
        self.keys.last().map_or(0.0, |k| k.0.max(0.0) + self.crossfade)
    }

    /// The weight of every key at `seconds` (all zero but one, or two during a
    /// cross-fade; they sum to 1 when the sequence has keys).
    pub fn weights(&self, seconds: f32) -> Vec<f32> {
        let mut weights = vec![0.0; self.keys.len()];
        if self.keys.is_empty() {
            return weights;
        }
        let current = self.keys.partition_point(|k| k.0 <= seconds).saturating_sub(1);
        weights[current] = 1.0;
        if let Some(next) = self.keys.get(current + 1) {
            // Keys closer than the cross-fade fade over the whole gap.
            let fade = self.crossfade.min(next.0 - self.keys[current].0);
            let fade_start = next.0 - fade;
            if fade > 0.0 && seconds > fade_start && seconds >= self.keys[current].0 {
                let w = ((seconds - fade_start) / fade).clamp(0.0, 1.0);
                weights[current] = 1.0 - w;
                weights[current + 1] = w;
            }
        }
        weights
    }
}

/// Spawns the keyframe children of new [`FieldSequence3d`]s and sets their
/// visibility and opacity from the playback time (in
/// [`TimelineSystems::Apply`](crate::timeline::TimelineSystems::Apply)).
pub fn animate_field_sequences(
    mut commands: Commands,
    mut sequences: Query<(Entity, &mut FieldSequence3d, &mut Playback)>,
    mut fields: Query<(&mut Visibility, &mut RadianceFieldSettings), With<RadianceField3d>>,
) {
    for (entity, mut sequence, mut playback) in &mut sequences {
        let duration = Some(sequence.duration());
        if playback.duration != duration {
            playback.duration = duration;
        }
        if sequence.children.len() != sequence.keys.len() {
            for child in sequence.children.drain(..) {
                commands.entity(child).despawn();
            }
            let children: Vec<Entity> = sequence
                .keys
                .iter()
                .map(|(_, handle)| {
                    commands
                        .spawn((RadianceField3d(handle.clone()), sequence.settings, Visibility::Hidden, ChildOf(entity)))
                        .id()
                })
                .collect();
            sequence.children = children;
            continue;
        }
        let weights = sequence.weights(playback.time);
        let fading = weights.iter().filter(|w| **w > 0.0).count() > 1;
        for (&child, weight) in sequence.children.iter().zip(weights) {
            let Ok((mut visibility, mut settings)) = fields.get_mut(child) else {
                continue;
            };
            let wanted_visibility = if weight > 0.0 { Visibility::Inherited } else { Visibility::Hidden };
            if *visibility != wanted_visibility {
                *visibility = wanted_visibility;
            }
            let wanted = RadianceFieldSettings { opacity: weight, additive: fading, ..sequence.settings };
            if *settings != wanted {
                *settings = wanted;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_cross_fade_before_each_key() {
        let handles: Vec<Handle<RadianceField>> = (0..3).map(|_| Handle::default()).collect();
        let s = FieldSequence3d::new([(2.0, handles[1].clone()), (0.0, handles[0].clone()), (4.0, handles[2].clone())], 1.0);
        assert_eq!(s.duration(), 5.0);
        assert_eq!(s.weights(0.5), vec![1.0, 0.0, 0.0]);
        assert_eq!(s.weights(1.25), vec![0.75, 0.25, 0.0]);
        assert_eq!(s.weights(2.0), vec![0.0, 1.0, 0.0]);
        assert_eq!(s.weights(3.5), vec![0.0, 0.5, 0.5]);
        assert_eq!(s.weights(4.9), vec![0.0, 0.0, 1.0]);
        assert_eq!(s.weights(-1.0), vec![1.0, 0.0, 0.0]);
        let cut = FieldSequence3d::new([(0.0, handles[0].clone()), (1.0, handles[1].clone())], f32::NAN);
        assert_eq!(cut.weights(0.99), vec![1.0, 0.0]);
        // Keys closer than the cross-fade fade across the whole gap, continuously.
        let close = FieldSequence3d::new([(0.0, handles[0].clone()), (0.5, handles[1].clone())], 2.0);
        assert_eq!(close.weights(0.0), vec![1.0, 0.0]);
        assert_eq!(close.weights(0.25), vec![0.5, 0.5]);
        assert!(FieldSequence3d::default().weights(1.0).is_empty());
    }

    #[test]
    fn replacing_a_sequence_removes_its_children() {
        use bevy::ecs::system::RunSystemOnce;
        let mut world = World::new();
        let keys = [(0.0, Handle::default()), (1.0, Handle::default())];
        let entity = world.spawn(FieldSequence3d::new(keys.clone(), 0.5)).id();
        world.run_system_once(animate_field_sequences).unwrap();
        let count = |world: &mut World| world.query::<&RadianceField3d>().iter(world).count();
        assert_eq!(count(&mut world), 2);
        world.run_system_once(animate_field_sequences).unwrap();
        assert_eq!(count(&mut world), 2, "children are spawned once");
        world.entity_mut(entity).insert(FieldSequence3d::new(keys, 0.5));
        world.flush();
        assert_eq!(count(&mut world), 0, "the replaced sequence's children are gone");
        world.run_system_once(animate_field_sequences).unwrap();
        assert_eq!(count(&mut world), 2);
    }
}
