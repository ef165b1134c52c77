//! The sort's compute pipelines, queued once in `RenderStartup`.

use bevy::prelude::*;
use bevy::render::render_resource::binding_types::{storage_buffer_read_only_sized, storage_buffer_sized, uniform_buffer};
use bevy::render::render_resource::{
    BindGroupLayout, BindGroupLayoutDescriptor, BindGroupLayoutEntries, CachedComputePipelineId, ComputePipeline,
    ComputePipelineDescriptor, PipelineCache, ShaderStages,
};
use bevy::shader::ShaderDefVal;

use super::{PARAMS_STRIDE, PASSES, RADIX_BITS, SortParams};
use crate::render::gpu::dispatch_shader_defs;
use crate::render::shaders;

/// Threads per workgroup of every kernel; equal to the 256 values of an 8-bit
/// digit, which the kernels rely on (one histogram counter per thread).
pub const SORT_WORKGROUP_SIZE: u32 = 256;
/// 256-element tiles each count and scatter workgroup walks.
pub const SORT_TILES_PER_BLOCK: u32 = 16;
/// Elements handled by one workgroup of the count and scatter kernels.
pub const SORT_BLOCK: u32 = SORT_WORKGROUP_SIZE * SORT_TILES_PER_BLOCK;
/// Words of the scatter kernel's per-digit thread masks: one bit per thread
/// for each of the 256 digits.
pub const SORT_MASK_LEN: u32 = 256 * SORT_WORKGROUP_SIZE / 32;
/// Histogram entries each scan thread handles.
pub const SORT_SCAN_ITEMS: u32 = 4;
/// Histogram entries scanned by one workgroup.
pub const SORT_SCAN_CHUNK: u32 = SORT_WORKGROUP_SIZE * SORT_SCAN_ITEMS;

/// The kernels of one sort pass, in dispatch order.
pub const SORT_KERNELS: [&str; 5] = ["count", "scan_local", "scan_partials", "scan_add", "scatter"];

/// The sort's bind-group layouts and kernels (render world).
#[derive(Resource, Clone)]
pub struct RadixSortPipelines {
    /// Group 0 of the pass kernels: pass parameters (dynamic offset),
    /// keys/values in and out, histogram, partial sums.
    pub layout: BindGroupLayoutDescriptor,
    /// Group 0 of the setup kernel: the sort state and the pass parameters.
    pub setup_layout: BindGroupLayoutDescriptor,
    /// One pipeline per pass kernel, in [`SORT_KERNELS`] order.
    pub kernels: [CachedComputePipelineId; 5],
    /// The setup kernel (sizes the passes from the element count).
    pub setup: CachedComputePipelineId,
}

/// The bind-group layouts a [`GpuRadixSort`](super::GpuRadixSort) is built with.
pub struct SortLayouts {
    /// Layout of the pass kernels' group 0.
    pub passes: BindGroupLayout,
    /// Layout of the setup kernel's group 0.
    pub setup: BindGroupLayout,
}

/// The compiled kernels.
pub struct SortKernels<'a> {
    /// The setup kernel.
    pub setup: &'a ComputePipeline,
    /// The pass kernels, in [`SORT_KERNELS`] order.
    pub passes: [&'a ComputePipeline; 5],
}

impl RadixSortPipelines {
    /// The shader defs of the pass kernels: the sizes above and the dispatch split.
    pub fn shader_defs() -> Vec<ShaderDefVal> {
        let mut defs = dispatch_shader_defs();
        defs.extend([
            ShaderDefVal::UInt("SORT_WORKGROUP_SIZE".into(), SORT_WORKGROUP_SIZE),
            ShaderDefVal::UInt("SORT_TILES_PER_BLOCK".into(), SORT_TILES_PER_BLOCK),
            ShaderDefVal::UInt("SORT_SCAN_ITEMS".into(), SORT_SCAN_ITEMS),
            ShaderDefVal::UInt("SORT_MASK_LEN".into(), SORT_MASK_LEN),
        ]);
        defs
    }

    /// The shader defs of the setup kernel.
    pub fn setup_shader_defs() -> Vec<ShaderDefVal> {
        let mut defs = dispatch_shader_defs();
        defs.extend([
            ShaderDefVal::UInt("SORT_BLOCK".into(), SORT_BLOCK),
            ShaderDefVal::UInt("SORT_SCAN_CHUNK".into(), SORT_SCAN_CHUNK),
            ShaderDefVal::UInt("SORT_PASSES".into(), PASSES as u32),
            ShaderDefVal::UInt("SORT_RADIX_BITS".into(), RADIX_BITS),
            ShaderDefVal::UInt("SORT_PARAMS_STRIDE_WORDS".into(), (PARAMS_STRIDE / 4) as u32),
        ]);
        defs
    }

    /// Queues the kernels on `pipeline_cache`.
    pub fn new(pipeline_cache: &PipelineCache, assets: &AssetServer) -> Self {
        let storage = || storage_buffer_sized(false, None);
        let read_only = || storage_buffer_read_only_sized(false, None);
        let layout = BindGroupLayoutDescriptor::new(
            "bevy_radiance:sort:layout",
            &BindGroupLayoutEntries::sequential(
                ShaderStages::COMPUTE,
                (uniform_buffer::<SortParams>(true), read_only(), read_only(), storage(), storage(), storage(), storage()),
            ),
        );
        let setup_layout = BindGroupLayoutDescriptor::new(
            "bevy_radiance:sort:setup_layout",
            &BindGroupLayoutEntries::sequential(ShaderStages::COMPUTE, (storage(), storage())),
        );
        let shader = assets.load(shaders::RADIX_SORT.asset_path());
        let kernels = SORT_KERNELS.map(|entry| {
            pipeline_cache.queue_compute_pipeline(ComputePipelineDescriptor {
                label: Some(format!("bevy_radiance:sort:{entry}").into()),
                layout: vec![layout.clone()],
                shader: shader.clone(),
                shader_defs: Self::shader_defs(),
                entry_point: Some(entry.into()),
                zero_initialize_workgroup_memory: true,
                ..default()
            })
        });
        let setup = pipeline_cache.queue_compute_pipeline(ComputePipelineDescriptor {
            label: Some("bevy_radiance:sort:setup".into()),
            layout: vec![setup_layout.clone()],
            shader: assets.load(shaders::SORT_SETUP.asset_path()),
            shader_defs: Self::setup_shader_defs(),
            entry_point: Some("setup".into()),
            zero_initialize_workgroup_memory: false,
            ..default()
        });
        Self { layout, setup_layout, kernels, setup }
    }

    /// The bind-group layouts of [`GpuRadixSort`](super::GpuRadixSort)s.
    pub fn bind_group_layouts(&self, pipeline_cache: &PipelineCache) -> SortLayouts {
        SortLayouts {
            passes: pipeline_cache.get_bind_group_layout(&self.layout),
            setup: pipeline_cache.get_bind_group_layout(&self.setup_layout),
        }
    }

    /// The kernels, once all of them have compiled.
    pub fn kernels<'a>(&self, pipeline_cache: &'a PipelineCache) -> Option<SortKernels<'a>> {
        let [a, b, c, d, e] = self.kernels.map(|id| pipeline_cache.get_compute_pipeline(id));
        Some(SortKernels {
            setup: pipeline_cache.get_compute_pipeline(self.setup)?,
            passes: [a?, b?, c?, d?, e?],
        })
    }
}

/// `RenderStartup` system queueing the sort's kernels.
pub fn init_radix_sort_pipelines(mut commands: Commands, pipeline_cache: Res<PipelineCache>, assets: Res<AssetServer>) {
    commands.insert_resource(RadixSortPipelines::new(&pipeline_cache, &assets));
}
