//! Bevy asset loaders: thin glue between the asset server and the file
//! readers of [`crate::io`], which do the decoding. Each loader reads its
//! settings from a `.meta` RON file next to the asset.
//!
//! | loader | asset | extensions |
//! |---|---|---|
//! | [`GaussianSplatLoader`] | [`GaussianSplats`](crate::splat::asset::GaussianSplats) | `ply`, `ply4d`, `spz`, `splat`, `sog`, `json`, `glb`, `gltf` |
//! | [`RadianceFieldLoader`] | [`RadianceField`](crate::field::RadianceField) | `ingp`, `msgpack` |

pub mod field;
pub mod splat;

pub use field::{RadianceFieldFileError, RadianceFieldLoader};
pub use splat::{GaussianSplatLoader, SplatLodTree};
