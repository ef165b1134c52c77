//! The GPU form of a splat asset: the packed splats, SH rest bytes and chunk
//! ranges of [`super::packing`] and the motion words in storage buffers, with
//! the preprocess pass's bind group over them.

use bevy::asset::AssetId;
use bevy::ecs::system::{SystemParamItem, lifetimeless::SRes};
use bevy::render::render_asset::{PrepareAssetError, RenderAsset};
use bevy::render::render_resource::{BindGroup, BindGroupEntries, Buffer, BufferInitDescriptor, BufferUsages, PipelineCache};
use bevy::render::renderer::RenderDevice;

use super::pipeline::SplatPipelines;
use super::gpu_types::SplatChunkGpu;
use crate::render::memory::GpuMemoryUsage;
use crate::splat::asset::GaussianSplats;
use crate::splat::motion::gpu::MOTION_KIND_STATIC;

use super::packing::{PackedSplats, SPLAT_CHUNK_SIZE, pack_splats, sh_rest_bytes};

/// Bytes of the asset's buffers: packed splats, SH rest bytes, chunks, motion.
fn buffer_bytes(source: &GaussianSplats) -> [u64; 4] {
    let n = source.len() as u64;
    [
        16 * n,
        (n * sh_rest_bytes(source.sh_degree) as u64).div_ceil(4) * 4,
        n.div_ceil(SPLAT_CHUNK_SIZE as u64) * size_of::<SplatChunkGpu>() as u64,
        n * 16 * source.motion.gpu_stride_vec4() as u64,
    ]
}

/// The motion words in the packed splats' order.
fn permuted_motion(words: Vec<[f32; 4]>, stride: u32, packed: &PackedSplats) -> Vec<[f32; 4]> {
    let stride = stride as usize;
    if stride == 0 {
        return words;
    }
    let mut out = Vec::with_capacity(words.len());
    for &i in &packed.order {
        out.extend_from_slice(&words[i as usize * stride..(i as usize + 1) * stride]);
    }
    out
}

/// A splat asset uploaded to the GPU.
pub struct GpuGaussianSplats {
    /// Number of splats (0: nothing to draw).
    pub count: u32,
    /// SH degree of the asset.
    pub sh_degree: u8,
    /// Packed splats (16 bytes each, see [`super::packing`]).
    pub splats: Buffer,
    /// SH rest coefficients as bytes.
    pub sh_rest: Buffer,
    /// Quantisation ranges per chunk of splats.
    pub chunks: Buffer,
    /// Temporal attributes (a 16-byte placeholder for static assets).
    pub motion: Buffer,
    /// Which temporal attributes `motion` holds (`crate::splat::motion::gpu::MOTION_KIND_*`).
    pub motion_kind: u32,
    /// Model time at playback time 0.
    pub time_start: f32,
    /// Model time units per second of playback.
    pub time_scale: f32,
    /// Bind group of the buffers for the preprocess pass (group 1).
    pub bind_group: BindGroup,
    /// `order[k]` is the asset index of the `k`-th packed splat (per-entity
    /// edit flags are uploaded in this order).
    pub order: std::sync::Arc<[u32]>,
}

impl GpuGaussianSplats {
    /// The asset's buffers.
    pub fn memory(&self) -> GpuMemoryUsage {
        GpuMemoryUsage::of_buffers([&self.splats, &self.sh_rest, &self.chunks, &self.motion])
    }

    /// The model time of the asset at a playback time in seconds.
    pub fn model_time(&self, seconds: f32) -> f32 {
        self.time_start + seconds * self.time_scale
    }
}

/// A storage buffer holding `contents`, or 16 zero bytes when there are none
/// (bindings may not be empty).
fn storage_buffer(device: &RenderDevice, label: &'static str, contents: &[u8]) -> Buffer {
    device.create_buffer_with_data(&BufferInitDescriptor {
        label: Some(label),
        contents: if contents.is_empty() { &[0u8; 16] } else { contents },
        usage: BufferUsages::STORAGE,
    })
}

impl RenderAsset for GpuGaussianSplats {
    type SourceAsset = GaussianSplats;
    type Param = (SRes<RenderDevice>, SRes<PipelineCache>, SRes<SplatPipelines>);

    fn byte_len(source: &Self::SourceAsset) -> Option<usize> {
        Some(buffer_bytes(source).iter().sum::<u64>() as usize)
    }

    fn prepare_asset(
        source: Self::SourceAsset,
        _id: AssetId<Self::SourceAsset>,
        (device, pipeline_cache, pipelines): &mut SystemParamItem<Self::Param>,
        _previous: Option<&Self>,
    ) -> Result<Self, PrepareAssetError<Self::SourceAsset>> {
        let limit = device.limits().max_storage_buffer_binding_size;
        let needed = buffer_bytes(&source).into_iter().max().unwrap_or(0);
        let drawable = needed <= limit;
        if !drawable {
            bevy::log::error!(
                "bevy_radiance: a splat asset of {} splats needs {needed} bytes in one storage buffer, above this adapter's {limit}-byte limit; it is not drawn (split the capture or lower its SH degree)",
                source.len(),
            );
        }
        let packed = if drawable { pack_splats(&source) } else { PackedSplats::default() };
        let (motion_kind, stride, motion_words) =
            if drawable { source.motion.gpu_words() } else { (MOTION_KIND_STATIC, 0, Vec::new()) };
        let motion_words = permuted_motion(motion_words, stride, &packed);
        let timeline = source.motion.timeline().copied().unwrap_or_default();
        let splats = storage_buffer(device, "bevy_radiance:splats:packed", bytemuck::cast_slice(&packed.splats));
        let sh_rest = storage_buffer(device, "bevy_radiance:splats:sh_rest", bytemuck::cast_slice(&packed.sh_rest));
        let chunks = storage_buffer(device, "bevy_radiance:splats:chunks", bytemuck::cast_slice(&packed.chunks));
        let motion = storage_buffer(device, "bevy_radiance:splats:motion", bytemuck::cast_slice(&motion_words));
        let bind_group = device.create_bind_group(
            "bevy_radiance:splats:bind_group",
            &pipeline_cache.get_bind_group_layout(&pipelines.asset_layout),
            &BindGroupEntries::sequential((
                splats.as_entire_binding(),
                sh_rest.as_entire_binding(),
                motion.as_entire_binding(),
                chunks.as_entire_binding(),
            )),
        );
        Ok(Self {
            count: if drawable { source.len() as u32 } else { 0 },
            sh_degree: source.sh_degree,
            splats,
            sh_rest,
            chunks,
            motion,
            motion_kind,
            time_start: timeline.start,
            time_scale: timeline.time_scale,
            bind_group,
            order: packed.order.into(),
        })
    }
}
