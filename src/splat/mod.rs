//! Gaussian splats: the asset, its maths, the CPU reference renderer, the ECS
//! components and the GPU renderer.

pub mod asset;
pub mod motion;
pub mod projection;
pub mod reference;
pub mod component;
pub mod loader;
pub mod render;
