//! The parsed form of an instant-ngp snapshot: the network shapes, the
//! parameters and the dataset metadata a [`RadianceField`](super::RadianceField)
//! is built from. [`crate::io::ingp`] reads it from `.ingp` / `.msgpack` files.

use bevy::math::{Mat3, Vec3};

use super::encoding::HashGridConfig;
use super::mlp::MlpConfig;

/// How the parameters are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamsType {
    /// `__half`: little-endian IEEE fp16 (instant-ngp's default).
    Half,
    /// `float`: little-endian fp32.
    Float,
}

/// An axis-aligned box in instant-ngp unit-cube coordinates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FieldBox {
    /// Minimum corner.
    pub min: Vec3,
    /// Maximum corner.
    pub max: Vec3,
}

impl FieldBox {
    /// The box `[0.5 − h, 0.5 + h]³`.
    pub fn centered_cube(half: f32) -> Self {
        Self {
            min: Vec3::splat(0.5 - half),
            max: Vec3::splat(0.5 + half),
        }
    }

    /// Whether `max < min` on some axis.
    pub fn is_empty(&self) -> bool {
        self.max.x < self.min.x || self.max.y < self.min.y || self.max.z < self.min.z
    }

    /// Component-wise intersection.
    pub fn intersection(&self, other: &Self) -> Self {
        Self {
            min: self.min.max(other.min),
            max: self.max.min(other.max),
        }
    }

    /// Whether `p` is inside (boundary included).
    pub fn contains(&self, p: Vec3) -> bool {
        p.x >= self.min.x && p.x <= self.max.x && p.y >= self.min.y && p.y <= self.max.y && p.z >= self.min.z && p.z <= self.max.z
    }
}

/// The part of `snapshot.nerf.dataset` a renderer needs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DatasetInfo {
    /// NeRF world → unit cube scale (default 0.33).
    pub scale: f32,
    /// NeRF world → unit cube offset, in NeRF axes (default 0.5).
    pub offset: Vec3,
    /// Mitsuba convention: no axis cycling.
    pub from_mitsuba: bool,
    /// Up direction in unit-cube axes.
    pub up: Vec3,
    /// HDR training: linear colours with an exponential activation.
    pub is_hdr: bool,
    /// The dataset's render box (may be empty: no restriction).
    pub render_aabb: Option<FieldBox>,
    /// The dataset's render-box rotation.
    pub render_aabb_to_local: Option<Mat3>,
    /// Extra per-image latent dimensions fed to the colour network (must be 0).
    pub n_extra_learnable_dims: u32,
}

impl Default for DatasetInfo {
    fn default() -> Self {
        Self {
            scale: 0.33,
            offset: Vec3::splat(0.5),
            from_mitsuba: false,
            up: Vec3::Y,
            is_hdr: false,
            render_aabb: None,
            render_aabb_to_local: None,
            n_extra_learnable_dims: 0,
        }
    }
}

/// A parsed, size-checked NeRF snapshot.
#[derive(Clone, Debug)]
pub struct FieldSnapshot {
    /// `snapshot.version` (≥ 1).
    pub version: u64,
    /// The position encoding, defaults and `per_level_scale` resolved.
    pub encoding: HashGridConfig,
    /// The density MLP (`network`).
    pub density_network: MlpConfig,
    /// The colour MLP (`rgb_network`).
    pub rgb_network: MlpConfig,
    /// How `params_binary` was stored.
    pub params_type: ParamsType,
    /// All parameters: density MLP, rgb MLP, hash grid.
    pub params: Vec<f32>,
    /// `density_grid_binary`, decoded (cascade-major, Morton order).
    pub density_grid: Vec<f32>,
    /// Number of density-grid cascades (`log2(aabb_scale) + 1`).
    pub cascades: u32,
    /// `aabb_scale` (a power of two ≤ 128).
    pub aabb_scale: u32,
    /// `snapshot.render_aabb`, if stored.
    pub render_aabb: Option<FieldBox>,
    /// `snapshot.render_aabb_to_local`, if stored.
    pub render_aabb_to_local: Option<Mat3>,
    /// `snapshot.up_dir`, if stored.
    pub up_dir: Option<Vec3>,
    /// The training-set metadata (defaults when absent).
    pub dataset: DatasetInfo,
    /// `snapshot.training_step`, if stored.
    pub training_step: Option<u64>,
}
