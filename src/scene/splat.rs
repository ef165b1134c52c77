//! The ECS side of Gaussian splats: [`GaussianSplat3d`] places a capture in the
//! world and [`SplatSettings`] tunes how it renders.

use bevy::camera::visibility::Visibility;
use bevy::prelude::*;

use crate::splat::asset::GaussianSplats;
use crate::splat::crop::{CropError, CropVolume, crop_keeps, validate_crop};
use crate::splat::projection::SplatParams;
use crate::timeline::{OwnedPlaybackDuration, Playback};

/// A Gaussian-splat capture placed in the world, like [`Mesh3d`] for meshes.
///
/// The entity's [`Transform`] moves, rotates and scales the capture;
/// [`Visibility`] hides it. Add [`SplatSettings`] to change how it renders.
///
/// A dynamic (4D) capture renders at the entity's
/// [`Playback`](crate::timeline::Playback) time; an entity showing one without
/// a `Playback` gets a looping one when the asset has loaded
/// ([`sync_splat_playback`]).
#[derive(Component, Clone, Debug, Default, Deref, DerefMut, PartialEq, Eq)]
#[require(Transform, Visibility, SplatSettings)]
pub struct GaussianSplat3d(pub Handle<GaussianSplats>);

impl From<Handle<GaussianSplats>> for GaussianSplat3d {
    fn from(handle: Handle<GaussianSplats>) -> Self {
        Self(handle)
    }
}

/// Per-entity render settings of a [`GaussianSplat3d`].
#[derive(Component, Clone, Copy, Debug, PartialEq)]
pub struct SplatSettings {
    /// Highest spherical-harmonics degree evaluated (0 = view-independent colour).
    /// Lower degrees are cheaper; the asset's own degree is the upper bound.
    pub max_sh_degree: u8,
    /// Multiplies every splat's opacity (the result is clamped to 1).
    pub opacity_scale: f32,
    /// Multiplies every splat's size.
    pub scale_factor: f32,
}

impl Default for SplatSettings {
    fn default() -> Self {
        Self {
            max_sh_degree: 3,
            opacity_scale: 1.0,
            scale_factor: 1.0,
        }
    }
}

impl SplatSettings {
    /// The settings as the splat maths sees them.
    pub fn params(&self) -> SplatParams {
        SplatParams {
            sh_degree: self.max_sh_degree.min(3),
            opacity_scale: self.opacity_scale,
            scale_factor: self.scale_factor,
        }
    }
}

/// Crop volumes of a [`GaussianSplat3d`] entity, in the capture's local
/// frame: splats cropped away are culled in the GPU preprocess (they are
/// neither sorted nor drawn). See [`crate::splat::crop`] for the rule.
///
/// The volumes are checked every frame they are drawn; an entity whose list
/// holds an invalid volume (see [`CropError`]) is drawn uncropped, and a
/// warning names the entity and the problem.
///
/// ```
/// # use bevy::prelude::*;
/// # use bevy_radiance::prelude::*;
/// // Keep a 4 m box around the subject, minus a floater near its top.
/// let crop = SplatCrop::new([
///     CropVolume::aabb(Vec3::splat(-2.0), Vec3::splat(2.0), CropMode::KeepInside),
///     CropVolume::sphere(Vec3::new(0.3, 1.8, 0.0), 0.2, CropMode::RemoveInside),
/// ]);
/// assert!(crop.validate().is_ok());
/// ```
#[derive(Component, Clone, Debug, Default, PartialEq, Deref, DerefMut)]
pub struct SplatCrop(pub Vec<CropVolume>);

impl SplatCrop {
    /// A crop made of `volumes`.
    pub fn new(volumes: impl IntoIterator<Item = CropVolume>) -> Self {
        Self(volumes.into_iter().collect())
    }

    /// Checks every volume.
    pub fn validate(&self) -> Result<(), CropError> {
        validate_crop(&self.0)
    }

    /// Whether a splat centred at `point` (local frame) is kept.
    pub fn keeps(&self, point: Vec3) -> bool {
        crop_keeps(&self.0, point)
    }
}

/// Gives entities showing a dynamic (4D) splat asset a looping
/// [`Playback`] if they have none, and sets every such playback's
/// [`duration`](Playback::duration) from the asset's clip (in
/// [`TimelineSystems::Sync`](crate::timeline::TimelineSystems::Sync)).
pub fn sync_splat_playback(
    mut commands: Commands,
    assets: Res<Assets<GaussianSplats>>,
    mut entities: Query<(Entity, &GaussianSplat3d, Option<&mut Playback>), Without<OwnedPlaybackDuration>>,
) {
    for (entity, splats, playback) in &mut entities {
        let Some(timeline) = assets.get(&splats.0).and_then(|a| a.motion.timeline()) else {
            continue;
        };
        let duration = timeline.duration_seconds();
        match playback {
            Some(mut playback) => {
                if playback.duration != Some(duration) {
                    playback.duration = Some(duration);
                }
            }
            None => {
                commands.entity(entity).insert(Playback::new().with_duration(duration));
            }
        }
    }
}
