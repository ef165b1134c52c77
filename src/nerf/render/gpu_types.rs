//! GPU layouts of the radiance-field pass (mirrored by `shaders/nerf_field.wgsl`
//! and `shaders/nerf_march.wgsl`), and the GPU form of a field.

use bevy::asset::AssetId;
use bevy::ecs::system::{SystemParamItem, lifetimeless::SRes};
use bevy::math::{Mat3, Mat4, Vec3, Vec4};
use bevy::render::render_asset::{PrepareAssetError, RenderAsset};
use bevy::render::render_resource::{Buffer, BufferInitDescriptor, BufferUsages};
use bevy::render::renderer::RenderDevice;

use super::codegen::FieldArch;
use crate::nerf::RadianceFieldSettings;
use crate::nerf::field::{NerfActivation, RadianceField};
use crate::nerf::mlp::{Activation, Mlp};

/// Per-view uniform (`NerfView` in WGSL).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct NerfViewUniform {
    /// View → world.
    pub world_from_view: Mat4,
    /// Clip → view (inverse projection), to turn depth into distance.
    pub view_from_clip: Mat4,
    /// xyz: camera position in world space.
    pub camera_position: Vec4,
    /// Viewport origin and size in physical pixels.
    pub viewport: Vec4,
    /// `fx, fy, cx, cy` relative to the viewport.
    pub intrinsics: Vec4,
    /// xy: viewport pixels per field-layer pixel (1 at full render scale).
    pub layer_ratio: Vec4,
}

/// Per-(view, field) uniform (`NerfField` in WGSL).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct NerfFieldUniform {
    /// Bevy world → the field's unit cube.
    pub unit_from_world: Mat4,
    /// Per level: scale (f32 bits), resolution, entries, entry offset.
    pub levels: [[u32; 4]; 16],
    /// Levels, features per level, dense-level bitmask, occupancy grid size.
    pub grid: [u32; 4],
    /// Density hidden width and layers, colour hidden width and layers.
    pub widths: [u32; 4],
    /// Density outputs, colour outputs, cascades, density activation.
    pub outputs: [u32; 4],
    /// Offsets of the density matrices in the weight buffer.
    pub density_offsets: [u32; 4],
    /// Offsets of the colour matrices in the weight buffer.
    pub colour_offsets: [u32; 4],
    /// Min transmittance, max samples, cone angle, opacity.
    pub march: [f32; 4],
    /// Colour activation (0 logistic, 1 exponential), max cascade, unused ×2.
    pub flags: [u32; 4],
    /// Render box min (in its local frame).
    pub render_min: Vec4,
    /// Render box max.
    pub render_max: Vec4,
    /// Unit cube → render-box frame rotation, as three padded columns (WGSL mat3x3).
    pub render_to_local: [[f32; 4]; 3],
    /// Network box min.
    pub aabb_min: Vec4,
    /// 1 / network box size.
    pub aabb_inv_size: Vec4,
}

/// Stride of per-field uniforms in the view's uniform buffer.
pub const FIELD_UNIFORM_STRIDE: u64 = 768;

/// Widest hidden layer the shader evaluates.
pub const MAX_GPU_WIDTH: u32 = 64;

/// A field uploaded to the GPU.
pub struct GpuRadianceField {
    /// Hash-grid parameters as f16 pairs.
    pub grid_params: Buffer,
    /// MLP weights (f32).
    pub weights: Buffer,
    /// Occupancy bitfields, cascade-major.
    pub occupancy: Buffer,
    /// The asset part of the field uniform (the transform is filled per view).
    template: NerfFieldUniform,
    /// NeRF world → unit cube.
    unit_from_local: Mat4,
    /// Network shapes (selects the generated shader).
    pub arch: FieldArch,
}

impl GpuRadianceField {
    /// The uniform of this field placed at `world_from_local`.
    pub fn uniform(&self, world_from_local: Mat4, settings: &RadianceFieldSettings) -> NerfFieldUniform {
        let mut u = self.template;
        u.unit_from_world = self.unit_from_local * world_from_local.inverse();
        u.march[0] = settings.min_transmittance;
        u.march[1] = settings.max_samples as f32;
        u.march[3] = if settings.opacity.is_nan() { 1.0 } else { settings.opacity.clamp(0.0, 1.0) };
        u
    }
}

/// Why a field cannot be drawn by the GPU path.
fn gpu_unsupported(field: &RadianceField) -> Option<String> {
    let hidden_ok = |m: &Mlp| {
        let n = m.layers.len();
        (1..=4).contains(&n)
            && m.layers[..n - 1]
                .iter()
                .all(|l| l.activation == Activation::ReLU && l.rows <= MAX_GPU_WIDTH && l.cols <= MAX_GPU_WIDTH)
            && m.layers[n - 1].activation == Activation::None
            && m.layers[n - 1].cols <= MAX_GPU_WIDTH
            && m.layers.iter().all(|l| l.cols.is_multiple_of(4))
    };
    if field.grid.levels.len() > 16 || field.grid.config.n_levels * field.grid.config.features_per_level > 32 {
        return Some("more than 16 levels or 32 encoded features".into());
    }
    if !hidden_ok(&field.density_mlp) || !hidden_ok(&field.color_mlp) {
        return Some("MLPs must have ≤ 3 ReLU hidden layers of ≤ 64 neurons and a linear output".into());
    }
    if field.density_mlp.input_width() != 32 || field.color_mlp.input_width() != field.density_mlp.output_width().div_ceil(4) * 4 + 16 {
        return Some("network input widths other than instant-ngp's (32 encoded features; density outputs + 16 SH)".into());
    }
    if ![1, 2, 4].contains(&field.grid.config.features_per_level) {
        return Some("features per level other than 1, 2 or 4".into());
    }
    None
}

fn mlp_dims(m: &Mlp) -> (u32, u32) {
    let hidden = m.layers.len() as u32 - 1;
    let width = if hidden > 0 { m.layers[0].rows } else { 0 };
    (width, hidden)
}

impl RenderAsset for GpuRadianceField {
    type SourceAsset = RadianceField;
    type Param = SRes<RenderDevice>;

    fn prepare_asset(
        field: Self::SourceAsset,
        _id: AssetId<Self::SourceAsset>,
        device: &mut SystemParamItem<Self::Param>,
        _previous: Option<&Self>,
    ) -> Result<Self, PrepareAssetError<Self::SourceAsset>> {
        let mut template: NerfFieldUniform = bytemuck::Zeroable::zeroed();
        let unsupported = gpu_unsupported(&field);
        if let Some(reason) = &unsupported {
            bevy::log::error!("bevy_radiance: this radiance field cannot be rendered on the GPU ({reason}); it is not drawn");
        }
        // Hash-grid parameters (exactly fp16 values) as f16 pairs.
        let halves: Vec<u16> = field.grid.params.iter().map(|v| half::f16::from_f32(*v).to_bits()).collect();
        let mut grid_words: Vec<u32> = halves
            .chunks(2)
            .map(|p| p[0] as u32 | (p.get(1).copied().unwrap_or(0) as u32) << 16)
            .collect();
        grid_words.resize(grid_words.len().max(1), 0);
        // MLP weights, density layers then colour layers.
        let mut weights: Vec<f32> = Vec::new();
        let mut push = |m: &Mlp, offsets: &mut [u32; 4]| {
            for (i, layer) in m.layers.iter().enumerate().take(4) {
                offsets[i] = weights.len() as u32 / 4;
                weights.extend_from_slice(&layer.weights);
            }
        };
        push(&field.density_mlp, &mut template.density_offsets);
        push(&field.color_mlp, &mut template.colour_offsets);
        weights.resize(weights.len().max(4).next_multiple_of(4), 0.0);
        let mut occupancy: Vec<u32> = field.occupancy.bitfields.concat();
        occupancy.resize(occupancy.len().max(1), 0);

        for (i, level) in field.grid.levels.iter().enumerate().take(16) {
            template.levels[i] = [level.scale.to_bits(), level.resolution, level.entries, level.offset];
            if level.dense {
                template.grid[2] |= 1 << i;
            }
        }
        template.grid[0] = if unsupported.is_some() { 0 } else { field.grid.levels.len() as u32 };
        template.grid[1] = field.grid.config.features_per_level;
        template.grid[3] = field.occupancy.grid_size;
        let (dw, dh) = mlp_dims(&field.density_mlp);
        let (cw, ch) = mlp_dims(&field.color_mlp);
        template.widths = [dw, dh, cw, ch];
        template.outputs = [
            field.density_mlp.output_width() as u32,
            field.color_mlp.output_width() as u32,
            field.occupancy.cascades(),
            match field.density_activation {
                NerfActivation::Exponential => 0,
                NerfActivation::ReLU => 1,
                NerfActivation::Logistic => 2,
                NerfActivation::None => 3,
            },
        ];
        template.march = [0.01, 16384.0, field.cone_angle, 1.0];
        template.flags = [
            u32::from(field.rgb_activation == NerfActivation::Exponential),
            field.max_cascade(),
            0,
            0,
        ];
        if unsupported.is_some() {
            // An empty render box: every ray misses.
            template.render_min = Vec4::splat(1.0);
            template.render_max = Vec4::splat(0.0);
        } else {
            template.render_min = field.render_aabb.min.extend(0.0);
            template.render_max = field.render_aabb.max.extend(0.0);
        }
        let m = field.render_aabb_to_local;
        template.render_to_local = [m.x_axis.extend(0.0).to_array(), m.y_axis.extend(0.0).to_array(), m.z_axis.extend(0.0).to_array()];
        template.aabb_min = field.aabb.min.extend(0.0);
        template.aabb_inv_size = (Vec3::ONE / (field.aabb.max - field.aabb.min)).extend(0.0);

        // NeRF world → unit cube: cycle(p · scale + offset).
        let t = field.transform;
        let cycle = if t.cycle_axes {
            Mat3::from_cols(Vec3::new(0.0, 0.0, 1.0), Vec3::new(1.0, 0.0, 0.0), Vec3::new(0.0, 1.0, 0.0))
        } else {
            Mat3::IDENTITY
        };
        let unit_from_local = Mat4::from_mat3(cycle * t.scale) .mul_mat4(&Mat4::IDENTITY);
        let unit_from_local = Mat4::from_cols(
            unit_from_local.x_axis,
            unit_from_local.y_axis,
            unit_from_local.z_axis,
            (cycle * t.offset).extend(1.0),
        );

        let buffer = |label: &str, contents: &[u8]| {
            device.create_buffer_with_data(&BufferInitDescriptor {
                label: Some(label),
                contents,
                usage: BufferUsages::STORAGE,
            })
        };
        let arch = FieldArch {
            levels: if unsupported.is_some() { 0 } else { field.grid.levels.len() as u32 },
            features: field.grid.config.features_per_level,
            density: (dw, dh, field.density_mlp.output_width() as u32),
            colour: (cw, ch, field.color_mlp.output_width() as u32),
        };
        Ok(Self {
            arch,
            grid_params: buffer("bevy_radiance:nerf:grid", bytemuck::cast_slice(&grid_words)),
            weights: buffer("bevy_radiance:nerf:weights", bytemuck::cast_slice(&weights)),
            occupancy: buffer("bevy_radiance:nerf:occupancy", bytemuck::cast_slice(&occupancy)),
            template,
            unit_from_local,
        })
    }
}
