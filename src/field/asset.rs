//! The radiance-field asset and its per-sample maths.
//!
//! Frames:
//!
//! * **NeRF world**: the frame of the training `transforms.json` (OpenGL camera
//!   convention, the same as Bevy's). A [`RadianceField3d`](super::RadianceField3d)
//!   entity's local frame is this frame.
//! * **Unit cube** (instant-ngp space): `unit = cycle(p · scale + offset)` with
//!   `cycle(v) = (v.y, v.z, v.x)` (no cycling for Mitsuba datasets). The occupancy
//!   grid, render box and ray marching live here.
//! * **Network input**: `x_net = (unit − aabb.min) / (aabb.max − aabb.min)`, the
//!   hash grid's `[0,1]³` (the identity for `aabb_scale = 1`).
//!
//! One sample at unit-cube position `x` seen along unit direction `d`:
//!
//! ```text
//! enc    = hash_grid(x_net)                      # n_levels·F values, zero-padded to 16k
//! dens   = density_mlp(enc)                      # 16 raw outputs
//! sigma  = density_activation(dens[0])           # exp by default; per unit-cube length
//! rgb    = rgb_activation(color_mlp([dens, sh4_encode(d)]))   # sigmoid by default (sRGB values)
//! ```

use bevy::asset::Asset;
use bevy::math::{Mat3, Vec3};
use bevy::reflect::TypePath;
use serde::{Deserialize, Serialize};

use super::encoding::{HashGrid, sh4_encode};
use super::mlp::{Mlp, MlpScratch, logistic, mlp_forward_into};
use super::occupancy::{Occupancy, mip_from_pos};
use super::snapshot::{FieldBox, FieldSnapshot};

/// The activation instant-ngp applies to the raw density or colour outputs
/// (`ENerfActivation`). Not stored in snapshots: density uses
/// [`FieldActivation::Exponential`], colour [`FieldActivation::Logistic`] (or
/// `Exponential` for HDR datasets).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FieldActivation {
    /// Identity.
    None,
    /// `max(v, 0)`.
    ReLU,
    /// `1 / (1 + exp(−v))`.
    Logistic,
    /// `exp(v)` (for colours: `exp(clamp(v, −10, 10))`).
    #[default]
    Exponential,
}

/// `network_to_density`: the density (per unit-cube length) of a raw output.
pub fn network_to_density(v: f32, activation: FieldActivation) -> f32 {
    match activation {
        FieldActivation::None => v,
        FieldActivation::ReLU => v.max(0.0),
        FieldActivation::Logistic => logistic(v),
        FieldActivation::Exponential => v.exp(),
    }
}

/// `network_to_rgb`: one colour channel of a raw output.
pub fn network_to_rgb(v: f32, activation: FieldActivation) -> f32 {
    match activation {
        FieldActivation::None => v,
        FieldActivation::ReLU => v.max(0.0),
        FieldActivation::Logistic => logistic(v),
        FieldActivation::Exponential => v.clamp(-10.0, 10.0).exp(),
    }
}

/// NeRF world ↔ unit cube (instant-ngp's `nerf_position_to_ngp`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FieldTransform {
    /// Uniform scale (0.33 for NeRF-synthetic).
    pub scale: f32,
    /// Offset, added before the axis cycle (so in NeRF axes).
    pub offset: Vec3,
    /// Cycle axes `(x, y, z) → (y, z, x)` (false only for Mitsuba datasets).
    pub cycle_axes: bool,
}

impl Default for FieldTransform {
    fn default() -> Self {
        Self {
            scale: 0.33,
            offset: Vec3::splat(0.5),
            cycle_axes: true,
        }
    }
}

impl FieldTransform {
    /// `(v.y, v.z, v.x)` when cycling, else `v`.
    pub fn cycle(&self, v: Vec3) -> Vec3 {
        if self.cycle_axes { Vec3::new(v.y, v.z, v.x) } else { v }
    }

    /// The inverse of [`FieldTransform::cycle`]: `(v.z, v.x, v.y)`.
    pub fn uncycle(&self, v: Vec3) -> Vec3 {
        if self.cycle_axes { Vec3::new(v.z, v.x, v.y) } else { v }
    }

    /// NeRF-world point → unit cube: `cycle(p · scale + offset)`.
    pub fn point_to_unit(&self, p: Vec3) -> Vec3 {
        self.cycle(p * self.scale + self.offset)
    }

    /// Unit cube → NeRF-world point.
    pub fn point_from_unit(&self, u: Vec3) -> Vec3 {
        (self.uncycle(u) - self.offset) / self.scale
    }

    /// NeRF-world vector → unit cube (scaled, not normalised): `cycle(v · scale)`.
    pub fn vector_to_unit(&self, v: Vec3) -> Vec3 {
        self.cycle(v * self.scale)
    }
}

/// Options applied when a snapshot becomes a [`RadianceField`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FieldOptions {
    /// Occupancy threshold instead of instant-ngp's `min(0.01, mean)`.
    pub occupancy_threshold: Option<f32>,
    /// Density activation instead of [`FieldActivation::Exponential`].
    pub density_activation: Option<FieldActivation>,
}

/// An instant-ngp NeRF ready to render: encodings, networks, occupancy and frames.
#[derive(Asset, TypePath, Clone, Debug)]
pub struct RadianceField {
    /// The position encoding (config, level table, feature table).
    pub grid: HashGrid,
    /// Density MLP: encoded position → 16 raw outputs (output 0 is the raw density).
    pub density_mlp: Mlp,
    /// Colour MLP: `[16 density outputs, 16 SH values]` → 3 raw colour outputs
    /// (the file's padding rows 3..15 are dropped).
    pub color_mlp: Mlp,
    /// Raw density → density.
    pub density_activation: FieldActivation,
    /// Raw colour → colour.
    pub rgb_activation: FieldActivation,
    /// Empty-space skipping bits.
    pub occupancy: Occupancy,
    /// The scene box in unit-cube coordinates, `[0.5 − s/2, 0.5 + s/2]³` for
    /// `s = min(aabb_scale, 128)`; the network sees positions relative to it.
    pub aabb: FieldBox,
    /// Rays are marched where `render_aabb.contains(render_aabb_to_local · x)`.
    pub render_aabb: FieldBox,
    /// Rotation applied before the render-box test.
    pub render_aabb_to_local: Mat3,
    /// The dataset's `aabb_scale` (power of two).
    pub aabb_scale: u32,
    /// instant-ngp's cone angle: 0 (fixed steps) for `aabb_scale = 1`, else 1/256.
    pub cone_angle: f32,
    /// NeRF world ↔ unit cube.
    pub transform: FieldTransform,
    /// The dataset's up direction, in unit-cube axes.
    pub up: Vec3,
    /// Colours are linear (HDR dataset) rather than sRGB-encoded values.
    pub linear_colors: bool,
}

/// Reusable buffers for per-sample evaluation.
#[derive(Clone, Debug, Default)]
pub struct SampleScratch {
    encoded: Vec<f32>,
    color_input: Vec<f32>,
    mlp: MlpScratch,
}

impl RadianceField {
    /// Builds the field from a parsed snapshot.
    pub fn from_snapshot(snapshot: FieldSnapshot, options: &FieldOptions) -> Self {
        let mut params = snapshot.params;
        let n_density = snapshot.density_network.n_params() as usize;
        let n_rgb = snapshot.rgb_network.n_params() as usize;
        let grid_params = params.split_off(n_density + n_rgb);
        let density_mlp = snapshot.density_network.build(&params[..n_density], snapshot.density_network.padded_output_width());
        let color_mlp = snapshot.rgb_network.build(&params[n_density..], snapshot.rgb_network.output_width);
        let aabb = FieldBox::centered_cube(0.5 * snapshot.aabb_scale.min(128) as f32);
        let render_aabb = match (snapshot.render_aabb, snapshot.dataset.render_aabb) {
            (Some(b), _) => b,
            (None, Some(b)) if !b.is_empty() => b.intersection(&aabb),
            _ => aabb,
        };
        let render_aabb_to_local = snapshot
            .render_aabb_to_local
            .or(snapshot.dataset.render_aabb_to_local)
            .unwrap_or(Mat3::IDENTITY);
        let occupancy = Occupancy::from_density_grid(&snapshot.density_grid, snapshot.cascades, options.occupancy_threshold);
        Self {
            grid: HashGrid {
                config: snapshot.encoding,
                levels: snapshot.encoding.levels(),
                params: grid_params,
            },
            density_mlp,
            color_mlp,
            density_activation: options.density_activation.unwrap_or(FieldActivation::Exponential),
            rgb_activation: if snapshot.dataset.is_hdr { FieldActivation::Exponential } else { FieldActivation::Logistic },
            occupancy,
            aabb,
            render_aabb,
            render_aabb_to_local,
            aabb_scale: snapshot.aabb_scale,
            cone_angle: if snapshot.aabb_scale <= 1 { 0.0 } else { 1.0 / 256.0 },
            transform: FieldTransform {
                scale: snapshot.dataset.scale,
                offset: snapshot.dataset.offset,
                cycle_axes: !snapshot.dataset.from_mitsuba,
            },
            up: snapshot.dataset.up,
            linear_colors: snapshot.dataset.is_hdr,
        }
    }

    /// NeRF-world point → unit cube.
    pub fn world_to_unit(&self, p: Vec3) -> Vec3 {
        self.transform.point_to_unit(p)
    }

    /// NeRF-world direction → normalised unit-cube direction.
    pub fn world_dir_to_unit(&self, d: Vec3) -> Vec3 {
        self.transform.cycle(d).normalize_or_zero()
    }

    /// Unit cube → NeRF-world point.
    pub fn unit_to_world(&self, u: Vec3) -> Vec3 {
        self.transform.point_from_unit(u)
    }

    /// The dataset's up direction in NeRF-world axes.
    pub fn up_world(&self) -> Vec3 {
        self.transform.uncycle(self.up)
    }

    /// The field's bounds (its scene box) in the NeRF world: `(min, max)`.
    pub fn world_bounds(&self) -> (Vec3, Vec3) {
        let a = self.unit_to_world(self.aabb.min);
        let b = self.unit_to_world(self.aabb.max);
        (a.min(b), a.max(b))
    }

    /// The highest cascade index (`log2(aabb_scale)`).
    pub fn max_cascade(&self) -> u32 {
        self.occupancy.cascades().saturating_sub(1)
    }

    /// Unit-cube position → hash-grid input: `(x − aabb.min) / (aabb.max − aabb.min)`.
    pub fn network_position(&self, x_unit: Vec3) -> Vec3 {
        (x_unit - self.aabb.min) / (self.aabb.max - self.aabb.min)
    }

    /// The hash-grid encoding of a **network-input** position `x_net ∈ [0,1]³`
    /// (see [`RadianceField::network_position`]), zero-padded to the density MLP's input width.
    pub fn encode_position(&self, x_net: Vec3) -> Vec<f32> {
        self.grid.encode(x_net)
    }

    /// Degree-4 SH of a unit direction (see [`sh4_encode`]).
    pub fn sh4_encode(&self, d: Vec3) -> [f32; 16] {
        sh4_encode(d)
    }

    /// The cascade instant-ngp reads at unit-cube position `x` ([`mip_from_pos`]).
    pub fn cascade_for(&self, x_unit: Vec3) -> u32 {
        mip_from_pos(x_unit, self.max_cascade())
    }

    /// Whether unit-cube position `x` is in an occupied cell of `cascade`.
    pub fn is_occupied(&self, x_unit: Vec3, cascade: u32) -> bool {
        self.occupancy.is_occupied(x_unit, cascade)
    }

    /// Density at unit-cube position `x`; leaves the 16 raw density outputs in
    /// `scratch` for [`RadianceField::color_with`].
    pub fn density_with(&self, x_unit: Vec3, scratch: &mut SampleScratch) -> f32 {
        let width = self.grid.config.padded_output_width() as usize;
        scratch.encoded.resize(width, 0.0);
        self.grid.encode_into(self.network_position(x_unit), &mut scratch.encoded);
        let dens = mlp_forward_into(&self.density_mlp, &scratch.encoded, &mut scratch.mlp);
        scratch.color_input.clear();
        scratch.color_input.extend_from_slice(dens);
        network_to_density(dens[0], self.density_activation)
    }

    /// Colour along unit direction `d` of the sample last passed to
    /// [`RadianceField::density_with`].
    pub fn color_with(&self, d_unit: Vec3, scratch: &mut SampleScratch) -> Vec3 {
        let n_density = self.density_mlp.output_width();
        scratch.color_input.truncate(n_density);
        scratch.color_input.extend_from_slice(&sh4_encode(d_unit));
        scratch.color_input.resize(self.color_mlp.input_width(), 0.0);
        let raw = mlp_forward_into(&self.color_mlp, &scratch.color_input, &mut scratch.mlp);
        Vec3::new(
            network_to_rgb(raw[0], self.rgb_activation),
            network_to_rgb(raw[1], self.rgb_activation),
            network_to_rgb(raw[2], self.rgb_activation),
        )
    }

    /// Density (per unit-cube length) and colour at unit-cube position `x` seen
    /// along unit direction `d`, reusing `scratch`.
    pub fn density_and_color_with(&self, x_unit: Vec3, d_unit: Vec3, scratch: &mut SampleScratch) -> (f32, Vec3) {
        let sigma = self.density_with(x_unit, scratch);
        (sigma, self.color_with(d_unit, scratch))
    }

    /// Density (per unit-cube length) and colour at unit-cube position `x` seen
    /// along unit direction `d`.
    pub fn density_and_color(&self, x_unit: Vec3, d_unit: Vec3) -> (f32, Vec3) {
        self.density_and_color_with(x_unit, d_unit, &mut SampleScratch::default())
    }
}
