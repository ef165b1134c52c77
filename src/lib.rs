//! # bevy_radiance
//!
//! Captured 3D scenes as Bevy assets: Gaussian splats loaded from the files
//! capture tools write, sorted on the GPU and splatted inside Bevy's renderer,
//! composited with meshes.
//!
//! ```no_run
//! use bevy::prelude::*;
//! use bevy_radiance::prelude::*;
//!
//! fn main() {
//!     App::new()
//!         .add_plugins((DefaultPlugins, RadiancePlugin))
//!         .add_systems(Startup, setup)
//!         .run();
//! }
//!
//! fn setup(mut commands: Commands, assets: Res<AssetServer>) {
//!     commands.spawn(GaussianSplat3d(assets.load("biker.compressed.ply")));
//!     commands.spawn((Camera3d::default(), Transform::from_xyz(0.0, 1.0, 4.0)));
//! }
//! ```
//!
//! Conventions: splat colours are display-referred (sRGB-encoded) values, as
//! every 3DGS trainer and reference renderer treats them. Each camera's splats
//! are blended in display space, then composited over the meshes (converted to
//! display space for the blend), so a splats-only image with tonemapping off
//! equals the reference maths; see the README.
#![warn(missing_docs)]

pub mod camera;
pub mod headless;
pub mod io;
pub mod nerf;
pub mod shader;
pub mod sort;
pub mod sequence;
pub mod splat;
pub mod timeline;

use bevy::prelude::*;

/// The common imports.
pub mod prelude {
    pub use crate::RadiancePlugin;
    pub use crate::splat::asset::{AxisConvention, GaussianSplats};
    pub use crate::splat::component::{GaussianSplat3d, SplatSettings};
    pub use crate::nerf::{RadianceField, RadianceField3d, RadianceFieldCamera, RadianceFieldSettings, FieldSequence3d};
    pub use crate::splat::loader::{LodSelection, SplatLoaderSettings, SplatLodTree};
    pub use crate::sequence::{SequenceWindow, SplatSequence, SplatSequence3d};
    pub use crate::timeline::{LoopMode, Playback, PlaybackClock, PlaybackFinished, PlaybackLooped, TimelineSystems, TransformTrack};
}

/// Adds splat and radiance-field assets, their loaders and their renderers,
/// and the [`timeline`] of dynamic captures. Add it once.
pub struct RadiancePlugin;

impl Plugin for RadiancePlugin {
    fn build(&self, app: &mut App) {
        app.init_asset::<splat::asset::GaussianSplats>()
            .init_asset::<splat::loader::SplatLodTree>()
            .register_asset_loader(splat::loader::GaussianSplatLoader)
            .add_plugins((
                timeline::TimelinePlugin,
                sequence::SplatSequencePlugin,
                splat::render::SplatRenderPlugin,
                nerf::RadianceFieldPlugin,
            ))
            .add_systems(
                Update,
                splat::component::sync_splat_playback.in_set(timeline::TimelineSystems::Sync),
            );
    }
}
