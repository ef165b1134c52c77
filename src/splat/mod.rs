//! Gaussian splats, the data model (bottom layer, no Bevy render types): the
//! [`GaussianSplats`](asset::GaussianSplats) asset, per-splat motion of
//! dynamic captures, the projection maths the GPU mirrors line for line, and
//! the CPU reference renderer the GPU is tested against.
//!
//! Files become splats in [`crate::io`]; entities show them through
//! [`GaussianSplat3d`](crate::scene::GaussianSplat3d); the GPU renderer lives in
//! [`crate::render::splat`].

pub mod asset;
pub mod crop;
pub mod edit_flags;
pub mod error;
pub mod morton;
pub mod motion;
pub mod projection;
pub mod simplify;
pub mod reference;
pub mod transform;
