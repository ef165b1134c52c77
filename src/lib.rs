//! # bevy_radiance
//!
//! Captured 3D scenes as Bevy assets: Gaussian splats and radiance fields
//! loaded from the files capture tools write, rendered inside Bevy's renderer
//! and composited with meshes.
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
//! The crate is layered; each layer depends only on the ones below it (see
//! `ARCHITECTURE.md`):
//!
//! | layer | modules |
//! |---|---|
//! | data models and maths (no Bevy render types) | [`camera`], [`splat`], [`field`], [`image`], [`timeline`] |
//! | files: bytes in, assets out | [`io`] |
//! | Bevy glue: asset loaders, components, sequences | [`loader`], [`scene`], [`sequence`] |
//! | GPU rendering: the shared layer, then splats and fields as siblings | [`render`] |
//! | apps | [`RadiancePlugin`], [`GaussianSplatPlugin`], [`RadianceFieldPlugin`], [`headless`] |
//!
//! Conventions: splat colours are display-referred (sRGB-encoded) values, as
//! every 3DGS trainer and reference renderer treats them. Each camera's splats
//! are blended in display space, then composited over the meshes (converted to
//! display space for the blend), so a splats-only image with tonemapping off
//! equals the reference maths; see the README.
#![deny(missing_docs)]

pub mod camera;
pub mod field;
pub mod headless;
pub mod image;
#[cfg(feature = "inspector")]
pub mod inspector;
pub mod io;
pub mod loader;
mod plugin;
pub mod render;
pub mod scene;
pub mod sequence;
pub mod splat;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod timeline;

pub use plugin::{GaussianSplatPlugin, RadianceFieldPlugin, RadiancePlugin};

/// The common imports.
pub mod prelude {
    pub use crate::field::RadianceField;
    pub use crate::io::{LodSelection, SplatLoaderSettings};
    pub use crate::loader::SplatLodTree;
    pub use crate::render::memory::{GpuMemoryUsage, RadianceMemoryStats};
    pub use crate::scene::{GaussianSplat3d, RadianceField3d, RadianceFieldCamera, RadianceFieldSettings, SelectionMode, SelectionView, SplatCrop, SplatEdits, SplatSettings};
    pub use crate::splat::crop::{CropMode, CropShape, CropVolume};
    pub use crate::sequence::{FieldSequence3d, SequenceWindow, SplatSequence, SplatSequence3d};
    pub use crate::splat::asset::{AxisConvention, GaussianSplats};
    pub use crate::timeline::{LoopMode, Playback, PlaybackClock, PlaybackFinished, PlaybackLooped, TimelineSystems, TransformTrack};
    #[cfg(feature = "inspector")]
    pub use crate::inspector::RadianceInspectorPlugin;
    pub use crate::{GaussianSplatPlugin, RadianceFieldPlugin, RadiancePlugin};
}
