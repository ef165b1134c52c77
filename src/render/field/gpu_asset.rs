//! The GPU form of a radiance field: hash-grid parameters and the occupancy
//! bitfield in storage buffers, the MLP weights in a texture (one vec4 per
//! texel, see `codegen`), and the asset's part of the field uniform.

use bevy::asset::AssetId;
use bevy::ecs::system::{SystemParamItem, lifetimeless::SRes};
use bevy::math::{Mat3, Mat4, UVec4, Vec3, Vec4};
use bevy::render::render_asset::{PrepareAssetError, RenderAsset};
use bevy::render::render_resource::{
    Buffer, BufferInitDescriptor, BufferUsages, Extent3d, Texture, TextureDataOrder, TextureDescriptor, TextureDimension,
    TextureFormat, TextureUsages, TextureView, TextureViewDescriptor,
};
use bevy::render::renderer::{RenderDevice, RenderQueue};

use super::codegen::FieldArch;
use super::gpu_types::FieldUniform;
use crate::field::limits::{MAX_GPU_LEVELS, gpu_unsupported};
use crate::field::mlp::Mlp;
use crate::render::memory::GpuMemoryUsage;
use crate::field::{FieldActivation, RadianceField};
use crate::scene::RadianceFieldSettings;

/// Texels per row of a field's weights texture.
pub const WEIGHTS_TEXTURE_WIDTH: u32 = 256;

/// Rows of the weights texture holding `floats` weights (four per texel).
fn weights_texture_rows(floats: usize) -> u32 {
    (floats.div_ceil(4).max(1) as u32).div_ceil(WEIGHTS_TEXTURE_WIDTH)
}

/// The buffers of a field the GPU can draw.
pub struct FieldBuffers {
    /// Hash-grid parameters as f16 pairs.
    pub grid_params: Buffer,
    /// MLP weights (f32), density layers then colour layers, one vec4 per
    /// `Rgba32Float` texel, [`WEIGHTS_TEXTURE_WIDTH`] texels per row.
    pub weights: Texture,
    /// The view of `weights` the field pass binds.
    pub weights_view: TextureView,
    /// Occupancy bitfields, cascade-major.
    pub occupancy: Buffer,
}

/// A field uploaded to the GPU.
pub struct GpuRadianceField {
    /// The buffers, or `None` for a field the GPU cannot draw (logged once, when prepared).
    pub buffers: Option<FieldBuffers>,
    /// The asset part of the field uniform (the transform and settings are filled per view).
    template: FieldUniform,
    /// NeRF world → unit cube.
    unit_from_local: Mat4,
    /// Network shapes (selects the generated shader).
    pub arch: FieldArch,
}

impl GpuRadianceField {
    /// The field's buffers (none for a field the GPU cannot draw).
    pub fn memory(&self) -> GpuMemoryUsage {
        let mut usage = GpuMemoryUsage::of_buffers(self.buffers.iter().flat_map(|b| [&b.grid_params, &b.occupancy]));
        if let Some(b) = &self.buffers {
            usage.add_texture(&b.weights);
        }
        usage
    }

    /// The uniform of this field placed at `world_from_local` with `settings`.
    pub fn uniform(&self, world_from_local: Mat4, settings: &RadianceFieldSettings) -> FieldUniform {
        let opacity = if settings.opacity.is_nan() { 1.0 } else { settings.opacity.clamp(0.0, 1.0) };
        FieldUniform {
            unit_from_world: self.unit_from_local * world_from_local.inverse(),
            march: Vec4::new(settings.min_transmittance, settings.max_samples as f32, self.template.march.z, opacity),
            ..self.template
        }
    }
}

fn mlp_dims(m: &Mlp) -> (u32, u32) {
    let hidden = m.layers.len() as u32 - 1;
    let width = if hidden > 0 { m.layers[0].rows } else { 0 };
    (width, hidden)
}

/// The network shapes of a field.
pub fn field_arch(field: &RadianceField) -> FieldArch {
    let (dw, dh) = mlp_dims(&field.density_mlp);
    let (cw, ch) = mlp_dims(&field.color_mlp);
    FieldArch {
        levels: field.grid.levels.len() as u32,
        features: field.grid.config.features_per_level,
        density: (dw, dh, field.density_mlp.output_width() as u32),
        colour: (cw, ch, field.color_mlp.output_width() as u32),
    }
}

/// The asset part of a field's uniform: grid levels, network shapes and
/// offsets, activations, boxes (the march vector holds only the cone angle).
fn uniform_template(field: &RadianceField, density_offsets: UVec4, colour_offsets: UVec4) -> FieldUniform {
    let arch = field_arch(field);
    let mut template = FieldUniform {
        density_offsets,
        colour_offsets,
        ..Default::default()
    };
    let mut dense_levels = 0;
    for (i, level) in field.grid.levels.iter().enumerate().take(MAX_GPU_LEVELS as usize) {
        template.levels[i] = UVec4::new(level.scale.to_bits(), level.resolution, level.entries, level.offset);
        if level.dense {
            dense_levels |= 1 << i;
        }
    }
    template.grid = UVec4::new(arch.levels, arch.features, dense_levels, field.occupancy.grid_size);
    template.widths = UVec4::new(arch.density.0, arch.density.1, arch.colour.0, arch.colour.1);
    template.outputs = UVec4::new(
        arch.density.2,
        arch.colour.2,
        field.occupancy.cascades(),
        match field.density_activation {
            FieldActivation::Exponential => 0,
            FieldActivation::ReLU => 1,
            FieldActivation::Logistic => 2,
            FieldActivation::None => 3,
        },
    );
    template.march.z = field.cone_angle;
    template.flags = UVec4::new(
        u32::from(field.rgb_activation == FieldActivation::Exponential),
        field.max_cascade(),
        0,
        0,
    );
    template.render_min = field.render_aabb.min.extend(0.0);
    template.render_max = field.render_aabb.max.extend(0.0);
    let m = field.render_aabb_to_local;
    template.render_to_local = [m.x_axis.extend(0.0), m.y_axis.extend(0.0), m.z_axis.extend(0.0)];
    template.aabb_min = field.aabb.min.extend(0.0);
    template.aabb_inv_size = (Vec3::ONE / (field.aabb.max - field.aabb.min)).extend(0.0);
    template
}

/// NeRF world → unit cube: `cycle(p · scale + offset)`.
fn unit_from_local(field: &RadianceField) -> Mat4 {
    let t = field.transform;
    let cycle = if t.cycle_axes {
        Mat3::from_cols(Vec3::new(0.0, 0.0, 1.0), Vec3::new(1.0, 0.0, 0.0), Vec3::new(0.0, 1.0, 0.0))
    } else {
        Mat3::IDENTITY
    };
    let linear = Mat4::from_mat3(cycle * t.scale);
    Mat4::from_cols(linear.x_axis, linear.y_axis, linear.z_axis, (cycle * t.offset).extend(1.0))
}

impl RenderAsset for GpuRadianceField {
    type SourceAsset = RadianceField;
    type Param = (SRes<RenderDevice>, SRes<RenderQueue>);

    fn byte_len(field: &Self::SourceAsset) -> Option<usize> {
        let weights: usize = [&field.density_mlp, &field.color_mlp].iter().flat_map(|m| &m.layers).map(|l| l.weights.len()).sum();
        let rows = weights_texture_rows(weights) as usize;
        let grid = field.grid.params.len().div_ceil(2).max(1) * 4;
        let occupancy = field.occupancy.bitfields.iter().map(Vec::len).sum::<usize>().max(1) * 4;
        Some(grid + rows * WEIGHTS_TEXTURE_WIDTH as usize * 16 + occupancy)
    }

    fn prepare_asset(
        field: Self::SourceAsset,
        _id: AssetId<Self::SourceAsset>,
        (device, queue): &mut SystemParamItem<Self::Param>,
        _previous: Option<&Self>,
    ) -> Result<Self, PrepareAssetError<Self::SourceAsset>> {
        // MLP weights, density layers then colour layers, and each layer's offset.
        let mut weights: Vec<f32> = Vec::new();
        let mut push = |m: &Mlp| {
            let mut offsets = [0u32; 4];
            for (i, layer) in m.layers.iter().enumerate().take(4) {
                offsets[i] = weights.len() as u32 / 4;
                weights.extend_from_slice(&layer.weights);
            }
            UVec4::from_array(offsets)
        };
        let density_offsets = push(&field.density_mlp);
        let colour_offsets = push(&field.color_mlp);
        let template = uniform_template(&field, density_offsets, colour_offsets);
        let (arch, unit_from_local) = (field_arch(&field), unit_from_local(&field));
        if let Some(reason) = gpu_unsupported(&field) {
            // The asset loader rejects such fields; this one was added in code.
            bevy::log::error!("bevy_radiance: this radiance field cannot be rendered on the GPU ({reason}); it is not drawn");
            return Ok(Self { buffers: None, template, unit_from_local, arch });
        }
        // Hash-grid parameters (exactly fp16 values) as f16 pairs.
        let halves: Vec<u16> = field.grid.params.iter().map(|v| half::f16::from_f32(*v).to_bits()).collect();
        let mut grid_words: Vec<u32> =
            halves.chunks(2).map(|p| p[0] as u32 | (p.get(1).copied().unwrap_or(0) as u32) << 16).collect();
        grid_words.resize(grid_words.len().max(1), 0);
        let rows = weights_texture_rows(weights.len());
        weights.resize((rows * WEIGHTS_TEXTURE_WIDTH * 4) as usize, 0.0);
        let weights_texture = device.create_texture_with_data(
            queue,
            &TextureDescriptor {
                label: Some("bevy_radiance:field:weights"),
                size: Extent3d { width: WEIGHTS_TEXTURE_WIDTH, height: rows, depth_or_array_layers: 1 },
                mip_level_count: 1,
                sample_count: 1,
                dimension: TextureDimension::D2,
                format: TextureFormat::Rgba32Float,
                usage: TextureUsages::TEXTURE_BINDING,
                view_formats: &[],
            },
            TextureDataOrder::LayerMajor,
            bytemuck::cast_slice(&weights),
        );
        let weights_view = weights_texture.create_view(&TextureViewDescriptor::default());
        let mut occupancy: Vec<u32> = field.occupancy.bitfields.concat();
        occupancy.resize(occupancy.len().max(1), 0);
        let buffer = |label: &str, contents: &[u8]| {
            device.create_buffer_with_data(&BufferInitDescriptor {
                label: Some(label),
                contents,
                usage: BufferUsages::STORAGE,
            })
        };
        Ok(Self {
            buffers: Some(FieldBuffers {
                grid_params: buffer("bevy_radiance:field:grid", bytemuck::cast_slice(&grid_words)),
                weights: weights_texture,
                weights_view,
                occupancy: buffer("bevy_radiance:field:occupancy", bytemuck::cast_slice(&occupancy)),
            }),
            template,
            unit_from_local,
            arch,
        })
    }
}
