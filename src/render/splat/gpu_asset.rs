//! The GPU form of a splat asset: packed geometry, f16 SH and motion words in
//! storage buffers, with the preprocess pass's bind group over them.

use bevy::asset::AssetId;
use bevy::ecs::system::{SystemParamItem, lifetimeless::SRes};
use bevy::render::render_asset::{PrepareAssetError, RenderAsset};
use bevy::render::render_resource::{BindGroup, BindGroupEntries, Buffer, BufferInitDescriptor, BufferUsages, PipelineCache};
use bevy::render::renderer::RenderDevice;

use super::pipeline::SplatPipelines;
use crate::splat::asset::{GaussianSplats, sh_coefficient_count};
use crate::splat::motion::gpu::MOTION_KIND_STATIC;

pub use super::gpu_types::GEOMETRY_STRIDE_VEC4;

/// Packed f16 SH words per splat for a degree.
pub fn sh_stride_words(degree: u8) -> u32 {
    let halves = sh_coefficient_count(degree) as u32 * 3;
    halves.div_ceil(2)
}

/// Packs a splat asset into the GPU layout: [`GEOMETRY_STRIDE_VEC4`] `vec4`s of
/// geometry per splat and the SH coefficients as f16 pairs.
pub fn pack_splats(splats: &GaussianSplats) -> (Vec<[f32; 4]>, Vec<u32>) {
    let n = splats.len();
    let mut geometry = Vec::with_capacity(n * GEOMETRY_STRIDE_VEC4 as usize);
    for i in 0..n {
        let p = splats.positions[i];
        let q = splats.rotations[i];
        let s = splats.scales[i];
        geometry.push([p.x, p.y, p.z, splats.opacities[i]]);
        geometry.push([q.x, q.y, q.z, q.w]);
        geometry.push([s.x, s.y, s.z, 0.0]);
    }
    let stride = sh_stride_words(splats.sh_degree) as usize;
    let mut sh = vec![0u32; n * stride];
    for i in 0..n {
        let halves: Vec<u16> = splats
            .sh_of(i)
            .iter()
            .flatten()
            .map(|v| half::f16::from_f32(*v).to_bits())
            .collect();
        for (w, pair) in halves.chunks(2).enumerate() {
            let lo = pair[0] as u32;
            let hi = pair.get(1).copied().unwrap_or(0) as u32;
            sh[i * stride + w] = lo | (hi << 16);
        }
    }
    (geometry, sh)
}

/// Bytes of the asset's largest buffer, which must fit one storage binding.
fn largest_buffer_bytes(source: &GaussianSplats) -> u64 {
    let n = source.len() as u64;
    let geometry = n * 16 * GEOMETRY_STRIDE_VEC4 as u64;
    let sh = n * 4 * sh_stride_words(source.sh_degree) as u64;
    let motion = n * 16 * source.motion.gpu_stride_vec4() as u64;
    geometry.max(sh).max(motion)
}

/// A splat asset uploaded to the GPU.
pub struct GpuGaussianSplats {
    /// Number of splats (0: nothing to draw).
    pub count: u32,
    /// SH degree of the asset.
    pub sh_degree: u8,
    /// Geometry buffer ([`GEOMETRY_STRIDE_VEC4`] `vec4`s per splat).
    pub geometry: Buffer,
    /// Packed f16 SH buffer.
    pub sh: Buffer,
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
}

impl GpuGaussianSplats {
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
        let per_splat =
            16 * (GEOMETRY_STRIDE_VEC4 + source.motion.gpu_stride_vec4()) + 4 * sh_stride_words(source.sh_degree);
        Some(source.len() * per_splat as usize)
    }

    fn prepare_asset(
        source: Self::SourceAsset,
        _id: AssetId<Self::SourceAsset>,
        (device, pipeline_cache, pipelines): &mut SystemParamItem<Self::Param>,
        _previous: Option<&Self>,
    ) -> Result<Self, PrepareAssetError<Self::SourceAsset>> {
        let limit = device.limits().max_storage_buffer_binding_size;
        let needed = largest_buffer_bytes(&source);
        let drawable = needed <= limit;
        if !drawable {
            bevy::log::error!(
                "bevy_radiance: a splat asset of {} splats needs {needed} bytes in one storage buffer, above this adapter's {limit}-byte limit; it is not drawn (split the capture or lower its SH degree)",
                source.len(),
            );
        }
        let (geometry, sh) = if drawable { pack_splats(&source) } else { (Vec::new(), Vec::new()) };
        let (motion_kind, _, motion_words) =
            if drawable { source.motion.gpu_words() } else { (MOTION_KIND_STATIC, 0, Vec::new()) };
        let timeline = source.motion.timeline().copied().unwrap_or_default();
        let geometry = storage_buffer(device, "bevy_radiance:splats:geometry", bytemuck::cast_slice(&geometry));
        let sh = storage_buffer(device, "bevy_radiance:splats:sh", bytemuck::cast_slice(&sh));
        let motion = storage_buffer(device, "bevy_radiance:splats:motion", bytemuck::cast_slice(&motion_words));
        let bind_group = device.create_bind_group(
            "bevy_radiance:splats:bind_group",
            &pipeline_cache.get_bind_group_layout(&pipelines.asset_layout),
            &BindGroupEntries::sequential((
                geometry.as_entire_binding(),
                sh.as_entire_binding(),
                motion.as_entire_binding(),
            )),
        );
        Ok(Self {
            count: if drawable { source.len() as u32 } else { 0 },
            sh_degree: source.sh_degree,
            geometry,
            sh,
            motion,
            motion_kind,
            time_start: timeline.start,
            time_scale: timeline.time_scale,
            bind_group,
        })
    }
}
