//! Neural radiance fields: instant-ngp NeRF snapshots as Bevy assets.
//!
//! A [`RadianceField`] is loaded from the snapshot files
//! instant-ngp writes (`.ingp`, `.msgpack`) and placed in the world with a
//! [`RadianceField3d`] entity. The entity's local frame is the NeRF world of the
//! training `transforms.json` (OpenGL camera convention, Bevy's), so with an
//! identity [`Transform`] a camera from that file sees what the training photos show.
//!
//! The maths is written plainly for the GPU renderer to mirror:
//!
//! * [`encoding`]: the multiresolution hash grid and degree-4 spherical harmonics;
//! * [`mlp`]: the bias-free `FullyFusedMLP` layers;
//! * [`occupancy`]: the cascaded occupancy grid;
//! * [`field`]: frames and the per-sample density and colour;
//! * [`reference`](mod@reference): the CPU reference ray marcher (instant-ngp's inference).
//!
//! ```no_run
//! use bevy::prelude::*;
//! use bevy_radiance::nerf::{RadianceField3d, RadianceFieldPlugin};
//!
//! fn setup(mut commands: Commands, assets: Res<AssetServer>) {
//!     commands.spawn(RadianceField3d(assets.load("lego_ngp_small/lego.ingp")));
//! }
//! # let _ = (setup, RadianceFieldPlugin);
//! ```

pub mod encoding;
pub mod field;
pub mod loader;
pub mod mlp;
pub mod occupancy;
pub mod reference;
pub mod render;
pub mod sequence;
pub mod snapshot;
#[doc(hidden)]
pub mod testing;

use bevy::prelude::*;

pub use field::RadianceField;
pub use loader::{RadianceFieldLoader, RadianceFieldLoaderSettings, load_radiance_field_file};
pub use reference::{MarchSettings, RayResult, march_ray, render_field_reference, render_field_reference_scaled};
pub use sequence::{FieldSequence3d, animate_field_sequences};
pub use snapshot::NerfLoadError;

/// Registers the [`RadianceField`] asset, its loader (`.ingp`, `.msgpack`) and its GPU renderer.
pub struct RadianceFieldPlugin;

impl Plugin for RadianceFieldPlugin {
    fn build(&self, app: &mut App) {
        app.init_asset::<RadianceField>()
            .register_asset_loader(RadianceFieldLoader)
            .add_plugins(render::NerfRenderPlugin)
            .add_systems(PostUpdate, animate_field_sequences.in_set(crate::timeline::TimelineSystems::Apply));
    }
}

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
    /// and `w` cross-fade exactly (used by [`FieldSequence3d`]). Default false.
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
/// viewport (see [`field_layer_size`]) and bilinearly upsampled when composited,
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

/// Smallest render scale fields are marched at.
pub const MIN_RENDER_SCALE: f32 = 1.0 / 16.0;

/// Size of the field layer for a viewport of `viewport` physical pixels at
/// `render_scale`: each side rounded to the nearest pixel, at least 1.
/// NaN scales count as 1.
pub fn field_layer_size(viewport: UVec2, render_scale: f32) -> UVec2 {
    let scale = if render_scale.is_nan() { 1.0 } else { render_scale.clamp(MIN_RENDER_SCALE, 1.0) };
    (viewport.as_vec2() * scale).round().as_uvec2().max(UVec2::ONE).min(viewport.max(UVec2::ONE))
}
