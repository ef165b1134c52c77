//! The plugins a game adds. Each works alone; [`RadiancePlugin`] adds both.

use bevy::prelude::*;

use crate::field::RadianceField;
use crate::loader::{GaussianSplatLoader, RadianceFieldLoader, SplatLodTree};
use crate::render::field::RadianceFieldRenderPlugin;
use crate::render::splat::SplatRenderPlugin;
use crate::scene::sync_splat_playback;
use crate::sequence::{SplatSequencePlugin, animate_field_sequences};
use crate::splat::asset::GaussianSplats;
use crate::timeline::{TimelinePlugin, TimelineSystems};

/// Gaussian splats and radiance fields: adds [`GaussianSplatPlugin`] and
/// [`RadianceFieldPlugin`]. Add it once.
pub struct RadiancePlugin;

impl Plugin for RadiancePlugin {
    fn build(&self, app: &mut App) {
        app.add_plugins((GaussianSplatPlugin, RadianceFieldPlugin));
    }
}

/// Gaussian splats: the [`GaussianSplats`] asset and its loader (every splat
/// format), [`GaussianSplat3d`](crate::scene::GaussianSplat3d) entities, 4D
/// playback, splat sequences and the GPU splat renderer.
pub struct GaussianSplatPlugin;

impl Plugin for GaussianSplatPlugin {
    fn build(&self, app: &mut App) {
        add_timeline(app);
        app.init_asset::<GaussianSplats>()
            .init_asset::<SplatLodTree>()
            .register_asset_loader(GaussianSplatLoader)
            .add_plugins((SplatSequencePlugin, SplatRenderPlugin))
            .add_systems(Update, sync_splat_playback.in_set(TimelineSystems::Sync));
    }
}

/// Radiance fields: the [`RadianceField`] asset and its loader (instant-ngp
/// `.ingp`, `.msgpack`), [`RadianceField3d`](crate::scene::RadianceField3d)
/// entities, field sequences and the GPU ray marcher.
pub struct RadianceFieldPlugin;

impl Plugin for RadianceFieldPlugin {
    fn build(&self, app: &mut App) {
        add_timeline(app);
        app.init_asset::<RadianceField>()
            .register_asset_loader(RadianceFieldLoader)
            .add_plugins(RadianceFieldRenderPlugin)
            .add_systems(PostUpdate, animate_field_sequences.in_set(TimelineSystems::Apply));
    }
}

/// Adds the [`TimelinePlugin`] unless another plugin of the crate already did.
fn add_timeline(app: &mut App) {
    if !app.is_plugin_added::<TimelinePlugin>() {
        app.add_plugins(TimelinePlugin);
    }
}
