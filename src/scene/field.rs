//! The ECS side of radiance fields: [`RadianceField3d`] places a field in the
//! world, [`RadianceFieldSettings`] tunes how it renders, and
//! [`RadianceFieldCamera`] sets a camera's field render scale.

use bevy::prelude::*;

use crate::field::{MarchSettings, RadianceField};

/// A radiance field placed in the world, like [`Mesh3d`] for meshes.
///
/// The entity's local frame is the field's NeRF world (the training
/// `transforms.json` frame); its [`Transform`] moves, rotates and scales the
/// field. Add [`RadianceFieldSettings`] to change how it renders.
#[derive(Component, Clone, Debug, Default, Deref, DerefMut)]
#[require(Transform, Visibility)]
pub struct RadianceField3d(pub Handle<RadianceField>);

impl From<Handle<RadianceField>> for RadianceField3d {
    fn from(handle: Handle<RadianceField>) -> Self {
        Self(handle)
    }
}

/// Per-entity render settings of a [`RadianceField3d`].
#[derive(Component, Clone, Copy, Debug, PartialEq)]
pub struct RadianceFieldSettings {
    /// Rays stop once transmittance falls below this; the colour gathered so
    /// far is then divided by its alpha (instant-ngp's rule). Default 0.01.
    pub min_transmittance: f32,
    /// Most network evaluations per ray (a cost cap). Default 16384.
    pub max_samples: u32,
    /// Multiplies the field's colour and coverage (fading a field in or out).
    /// Clamped to `[0, 1]`. Default 1.
    pub opacity: f32,
    /// Add the field to the others instead of layering it behind nearer ones:
    /// two fields at the same place drawn additively with opacities `1 − w`
    /// and `w` cross-fade exactly (used by [`FieldSequence3d`](crate::sequence::FieldSequence3d)). Default false.
    pub additive: bool,
}

impl Default for RadianceFieldSettings {
    fn default() -> Self {
        let march = MarchSettings::default();
        Self {
            min_transmittance: march.min_transmittance,
            max_samples: march.max_samples,
            opacity: 1.0,
            additive: false,
        }
    }
}

impl RadianceFieldSettings {
    /// The settings as the ray marcher sees them.
    pub fn march_settings(&self) -> MarchSettings {
        MarchSettings {
            min_transmittance: self.min_transmittance,
            max_samples: self.max_samples,
        }
    }
}

/// Per-camera render settings of radiance fields: add to a `Camera3d` entity.
///
/// Fields are ray-marched into a layer of `render_scale` × the camera's
/// viewport (see [`field_layer_size`](crate::field::field_layer_size)) and bilinearly upsampled when composited,
/// so the march cost falls with the square of the scale. At the edges of meshes
/// in front of a field the upsampled field can bleed by up to one layer pixel.
#[derive(Component, Clone, Copy, Debug, PartialEq)]
pub struct RadianceFieldCamera {
    /// Resolution of the field layer relative to the viewport, in `(0, 1]`
    /// (values outside are clamped to `[1/16, 1]`). Default 1: full resolution.
    pub render_scale: f32,
}

impl Default for RadianceFieldCamera {
    fn default() -> Self {
        Self { render_scale: 1.0 }
    }
}
