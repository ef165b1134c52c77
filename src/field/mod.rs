//! Neural radiance fields, the data model (bottom layer, no Bevy render
//! types): instant-ngp NeRF snapshots as [`RadianceField`] assets and the maths
//! the GPU renderer mirrors.
//!
//! The files are read by [`crate::io::ingp`]; a field is placed in the world
//! with a [`RadianceField3d`](crate::scene::RadianceField3d) entity, whose local
//! frame is the NeRF world of the training `transforms.json` (OpenGL camera
//! convention, Bevy's), so with an identity `Transform` a camera from that file
//! sees what the training photos show.
//!
//! * [`encoding`]: the multiresolution hash grid and degree-4 spherical harmonics;
//! * [`mlp`]: the bias-free `FullyFusedMLP` layers;
//! * [`occupancy`]: the cascaded occupancy grid;
//! * [`asset`]: frames and the per-sample density and colour;
//! * [`limits`]: the network shapes the GPU ray marcher evaluates;
//! * [`snapshot`]: the parsed form of an instant-ngp snapshot;
//! * [`reference`](mod@reference): the CPU reference ray marcher (instant-ngp's inference).

pub mod asset;
pub mod encoding;
pub mod limits;
pub mod mlp;
pub mod occupancy;
pub mod reference;
pub mod snapshot;

pub use asset::{FieldActivation, FieldOptions, FieldTransform, RadianceField};
pub use reference::{
    MIN_RENDER_SCALE, MarchSettings, RayResult, field_layer_size, march_ray, render_field_reference,
    render_field_reference_scaled,
};
