//! Pipelines of the splat passes: the preprocess compute pipeline, queued
//! once in `RenderStartup`, and the raster pipeline, specialized per
//! [`RasterKey`].

use bevy::prelude::*;
use bevy::render::render_resource::binding_types::{
    storage_buffer_read_only_sized, storage_buffer_sized, uniform_buffer,
};
use bevy::render::render_resource::{
    BindGroupLayoutDescriptor, BindGroupLayoutEntries, BlendComponent, BlendFactor, BlendOperation, BlendState,
    CachedComputePipelineId, ColorTargetState, ColorWrites, CompareFunction, ComputePipelineDescriptor,
    DepthStencilState, FragmentState, MultisampleState, PipelineCache, PrimitiveState, PrimitiveTopology,
    RenderPipelineDescriptor, ShaderStages, SpecializedRenderPipeline, TextureFormat, VertexState,
};
use bevy::shader::{Shader, ShaderDefVal};

use super::gpu_types::{CROP_MODE_KEEP_INSIDE, CROP_SHAPE_CUBOID, SplatEntityUniform, SplatViewUniform};
use super::packing::SPLAT_CHUNK_SIZE;
use crate::render::gpu::dispatch_shader_defs;
use crate::splat::edit_flags::{EDIT_DELETED, EDIT_HIDDEN, EDIT_SELECTED};
use crate::render::layer::LAYER_FORMAT;
use crate::render::shaders;
use crate::splat::motion::gpu::{
    MOTION_KIND_SLICED_4D, MOTION_KIND_SPACETIME, MOTION_KIND_STATIC, SLICED_4D_STRIDE_VEC4, SPACETIME_STRIDE_VEC4,
};

/// Threads per workgroup of the preprocess pass (one thread per splat).
pub const PREPROCESS_WORKGROUP_SIZE: u32 = 256;
/// Format of Bevy's 3D depth textures, which the raster pass tests against.
pub const DEPTH_FORMAT: TextureFormat = TextureFormat::Depth32Float;

/// Raster pipeline variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RasterKey {
    /// MSAA sample count of the view (the splat layer matches the depth texture).
    pub samples: u32,
}

/// Layouts, shaders and the preprocess pipeline of the splat passes (render world).
#[derive(Resource)]
pub struct SplatPipelines {
    /// Preprocess group 0: view uniform, entity uniform (dynamic offset), crop volumes.
    pub view_layout: BindGroupLayoutDescriptor,
    /// Preprocess group 1: an asset's packed splats, SH rest bytes, motion and chunks.
    pub asset_layout: BindGroupLayoutDescriptor,
    /// Preprocess group 2: the view's projected splats, sort keys, sort values, draw arguments.
    pub output_layout: BindGroupLayoutDescriptor,
    /// Preprocess group 3: the entity's edit flags (`super::edits`).
    pub edits_layout: BindGroupLayoutDescriptor,
    /// Raster group 0: view uniform, projected splats, sorted indices.
    pub raster_layout: BindGroupLayoutDescriptor,
    /// The preprocess compute pipeline.
    pub preprocess: CachedComputePipelineId,
    raster_shader: Handle<Shader>,
}

impl SplatPipelines {
    /// The shader defs of every splat shader: the constants WGSL shares with Rust.
    pub fn shader_defs() -> Vec<ShaderDefVal> {
        let mut defs = dispatch_shader_defs();
        defs.extend(
            [
                ("PREPROCESS_WORKGROUP_SIZE", PREPROCESS_WORKGROUP_SIZE),
                ("SPLAT_CHUNK_SIZE", SPLAT_CHUNK_SIZE),
                ("MOTION_KIND_STATIC", MOTION_KIND_STATIC),
                ("MOTION_KIND_SPACETIME", MOTION_KIND_SPACETIME),
                ("MOTION_KIND_SLICED_4D", MOTION_KIND_SLICED_4D),
                ("SPACETIME_STRIDE_VEC4", SPACETIME_STRIDE_VEC4),
                ("SLICED_4D_STRIDE_VEC4", SLICED_4D_STRIDE_VEC4),
                ("CROP_SHAPE_CUBOID", CROP_SHAPE_CUBOID),
                ("CROP_MODE_KEEP_INSIDE", CROP_MODE_KEEP_INSIDE),
                ("EDIT_SELECTED", EDIT_SELECTED as u32),
                ("EDIT_CULLED", (EDIT_HIDDEN | EDIT_DELETED) as u32),
            ]
            .map(|(name, value)| ShaderDefVal::UInt(name.into(), value)),
        );
        defs
    }
}

/// `RenderStartup` system creating [`SplatPipelines`] and queueing the preprocess pipeline.
pub fn init_splat_pipelines(mut commands: Commands, pipeline_cache: Res<PipelineCache>, assets: Res<AssetServer>) {
    let storage = || storage_buffer_sized(false, None);
    let read_only = || storage_buffer_read_only_sized(false, None);
    let compute = ShaderStages::COMPUTE;
    let view_layout = BindGroupLayoutDescriptor::new(
        "bevy_radiance:preprocess:view_layout",
        &BindGroupLayoutEntries::sequential(
            compute,
            (uniform_buffer::<SplatViewUniform>(false), uniform_buffer::<SplatEntityUniform>(true), read_only()),
        ),
    );
    let asset_layout = BindGroupLayoutDescriptor::new(
        "bevy_radiance:preprocess:asset_layout",
        &BindGroupLayoutEntries::sequential(compute, (read_only(), read_only(), read_only(), read_only())),
    );
    let output_layout = BindGroupLayoutDescriptor::new(
        "bevy_radiance:preprocess:output_layout",
        &BindGroupLayoutEntries::sequential(compute, (storage(), storage(), storage(), storage())),
    );
    let edits_layout = BindGroupLayoutDescriptor::new(
        "bevy_radiance:preprocess:edits_layout",
        &BindGroupLayoutEntries::single(compute, read_only()),
    );
    let raster_layout = BindGroupLayoutDescriptor::new(
        "bevy_radiance:raster:layout",
        &BindGroupLayoutEntries::with_indices(
            ShaderStages::VERTEX,
            (
                (0, uniform_buffer::<SplatViewUniform>(false).visibility(ShaderStages::VERTEX_FRAGMENT)),
                (1, read_only()),
                (2, read_only()),
            ),
        ),
    );
    let preprocess = pipeline_cache.queue_compute_pipeline(ComputePipelineDescriptor {
        label: Some("bevy_radiance:preprocess".into()),
        layout: vec![view_layout.clone(), asset_layout.clone(), output_layout.clone(), edits_layout.clone()],
        shader: assets.load(shaders::SPLAT_PREPROCESS.asset_path()),
        shader_defs: SplatPipelines::shader_defs(),
        entry_point: Some("preprocess".into()),
        zero_initialize_workgroup_memory: true,
        ..default()
    });
    commands.insert_resource(SplatPipelines {
        view_layout,
        asset_layout,
        output_layout,
        edits_layout,
        raster_layout,
        preprocess,
        raster_shader: assets.load(shaders::SPLAT_RASTER.asset_path()),
    });
}

impl SpecializedRenderPipeline for SplatPipelines {
    type Key = RasterKey;

    fn specialize(&self, key: RasterKey) -> RenderPipelineDescriptor {
        let premultiplied = BlendComponent {
            src_factor: BlendFactor::One,
            dst_factor: BlendFactor::OneMinusSrcAlpha,
            operation: BlendOperation::Add,
        };
        RenderPipelineDescriptor {
            label: Some("bevy_radiance:raster".into()),
            layout: vec![self.raster_layout.clone()],
            vertex: VertexState {
                shader: self.raster_shader.clone(),
                shader_defs: Self::shader_defs(),
                entry_point: Some("vertex".into()),
                buffers: Vec::new(),
            },
            primitive: PrimitiveState {
                topology: PrimitiveTopology::TriangleStrip,
                ..default()
            },
            depth_stencil: Some(DepthStencilState {
                format: DEPTH_FORMAT,
                depth_write_enabled: Some(false),
                depth_compare: Some(CompareFunction::GreaterEqual),
                stencil: default(),
                bias: default(),
            }),
            multisample: MultisampleState {
                count: key.samples,
                ..default()
            },
            fragment: Some(FragmentState {
                shader: self.raster_shader.clone(),
                shader_defs: Self::shader_defs(),
                entry_point: Some("fragment".into()),
                targets: vec![Some(ColorTargetState {
                    format: LAYER_FORMAT,
                    blend: Some(BlendState {
                        color: premultiplied,
                        alpha: premultiplied,
                    }),
                    write_mask: ColorWrites::ALL,
                })],
            }),
            zero_initialize_workgroup_memory: true,
            ..default()
        }
    }
}
