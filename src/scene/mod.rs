//! Components that place captures in a Bevy world, like `Mesh3d` for meshes:
//! [`GaussianSplat3d`] and [`RadianceField3d`] wrap an asset handle and
//! require `Transform` and `Visibility`; their settings components tune how
//! each entity renders.

pub mod edits;
pub mod field;
pub mod splat;

pub use edits::{SelectionMode, SelectionView, SplatEdits};
pub use field::{RadianceField3d, RadianceFieldCamera, RadianceFieldSettings};
pub use splat::{GaussianSplat3d, SplatCrop, SplatSettings, sync_splat_playback};
