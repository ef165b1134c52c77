//! GPU-side data layouts, defined once and mirrored by the WGSL structs in
//! `shaders/splat_common.wgsl`, and the GPU form of a splat asset.

use bevy::math::{Mat4, Vec4};
use bevy::render::render_asset::{PrepareAssetError, RenderAsset};
use bevy::render::render_resource::{BindGroup, BindGroupEntry, Buffer, BufferUsages};
use bevy::render::renderer::RenderDevice;
use bevy::ecs::system::{lifetimeless::SRes, SystemParamItem};
use bevy::asset::AssetId;

use super::pipeline::SplatPipelines;
use crate::splat::asset::GaussianSplats;
use crate::splat::motion::gpu::MOTION_KIND_STATIC;

/// Per-view uniform (`SplatView` in WGSL).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct SplatViewUniform {
    /// World → view.
    pub view_from_world: Mat4,
    /// View → clip (reverse-Z perspective).
    pub clip_from_view: Mat4,
    /// xyz: camera position in world space.
    pub camera_position: Vec4,
    /// Viewport origin (x, y) and size (z, w) in physical pixels.
    pub viewport: Vec4,
    /// `fx, fy, cx, cy` in pixels relative to the viewport.
    pub intrinsics: Vec4,
}

/// Per-(view, entity) uniform (`SplatEntity` in WGSL).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct SplatEntityUniform {
    /// Local → world.
    pub world_from_local: Mat4,
    /// xyz: camera position in the entity's local frame.
    pub camera_local: Vec4,
    /// First slot of this entity's splats in the view's arrays.
    pub offset: u32,
    /// Number of splats.
    pub count: u32,
    /// SH degree evaluated.
    pub sh_degree: u32,
    /// u32 words of packed f16 SH per splat.
    pub sh_stride: u32,
    /// Opacity multiplier.
    pub opacity_scale: f32,
    /// Scale multiplier.
    pub scale_factor: f32,
    /// Temporal attributes of the asset (`crate::splat::motion::gpu::MOTION_KIND_*`).
    pub motion_kind: u32,
    /// The entity's playback time in the asset's model time units.
    pub model_time: f32,
}

/// Bytes of one projected splat (`ProjectedSplat` in WGSL: three vec4).
pub const PROJECTED_SPLAT_SIZE: u64 = 48;

/// Uniform offsets must be multiples of this on every adapter.
pub const UNIFORM_STRIDE: u64 = 256;

/// Packed f16 SH words per splat for a degree.
pub fn sh_stride_words(degree: u8) -> u32 {
    let halves = crate::splat::asset::sh_coefficient_count(degree) as u32 * 3;
    halves.div_ceil(2)
}

/// Packs a splat asset into the GPU layout: three vec4 of geometry per splat
/// and the SH coefficients as f16 pairs.
pub fn pack_splats(splats: &GaussianSplats) -> (Vec<[f32; 4]>, Vec<u32>) {
    let n = splats.len();
    let mut geometry = Vec::with_capacity(n * 3);
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

/// `vec4`s of motion data per splat (see `crate::splat::motion::gpu`).
fn motion_stride_vec4(source: &GaussianSplats) -> u32 {
    use crate::splat::motion::gpu::{SLICED_4D_STRIDE_VEC4, SPACETIME_STRIDE_VEC4};
    match source.motion.kind() {
        crate::splat::motion::MotionKind::Static => 0,
        crate::splat::motion::MotionKind::Spacetime => SPACETIME_STRIDE_VEC4,
        crate::splat::motion::MotionKind::Sliced4d => SLICED_4D_STRIDE_VEC4,
    }
}

/// A splat asset uploaded to the GPU.
pub struct GpuGaussianSplats {
    /// Number of splats.
    pub count: u32,
    /// SH degree of the asset.
    pub sh_degree: u8,
    /// Geometry buffer (three vec4 per splat).
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
    /// A GPU asset with no splats (never drawn).
    fn empty(device: &RenderDevice, pipelines: &SplatPipelines) -> Self {
        let [geometry, sh, motion] = upload(device, pipelines, [&[0u8; 48], &[0u8; 16], &[0u8; 16]]);
        let bind_group = bind(device, pipelines, [&geometry, &sh, &motion]);
        Self {
            count: 0,
            sh_degree: 0,
            geometry,
            sh,
            motion,
            motion_kind: MOTION_KIND_STATIC,
            time_start: 0.0,
            time_scale: 1.0,
            bind_group,
        }
    }

    /// The model time of the asset at a playback time in seconds.
    pub fn model_time(&self, seconds: f32) -> f32 {
        self.time_start + seconds * self.time_scale
    }
}

/// Creates the geometry, SH and motion buffers (none may be empty).
fn upload(device: &RenderDevice, _pipelines: &SplatPipelines, contents: [&[u8]; 3]) -> [Buffer; 3] {
    let labels = ["bevy_radiance:splats:geometry", "bevy_radiance:splats:sh", "bevy_radiance:splats:motion"];
    std::array::from_fn(|i| {
        device.create_buffer_with_data(&bevy::render::render_resource::BufferInitDescriptor {
            label: Some(labels[i]),
            contents: contents[i],
            usage: BufferUsages::STORAGE,
        })
    })
}

/// The preprocess group 1 of an asset's buffers.
fn bind(device: &RenderDevice, pipelines: &SplatPipelines, buffers: [&Buffer; 3]) -> BindGroup {
    let entries: Vec<BindGroupEntry> = buffers
        .iter()
        .enumerate()
        .map(|(i, buffer)| BindGroupEntry {
            binding: i as u32,
            resource: buffer.as_entire_binding(),
        })
        .collect();
    device.create_bind_group("bevy_radiance:splats:bind_group", &pipelines.asset_layout, &entries)
}

impl RenderAsset for GpuGaussianSplats {
    type SourceAsset = GaussianSplats;
    type Param = (SRes<RenderDevice>, SRes<SplatPipelines>);

    fn byte_len(source: &Self::SourceAsset) -> Option<usize> {
        let motion = 16 * motion_stride_vec4(source) as usize;
        Some(source.len() * (48 + motion + 4 * sh_stride_words(source.sh_degree) as usize))
    }

    fn prepare_asset(
        source: Self::SourceAsset,
        _id: AssetId<Self::SourceAsset>,
        (device, pipelines): &mut SystemParamItem<Self::Param>,
        _previous: Option<&Self>,
    ) -> Result<Self, PrepareAssetError<Self::SourceAsset>> {
        let limit = device.limits().max_storage_buffer_binding_size;
        let needed = source.len() as u64 * 48;
        let sh_needed = source.len() as u64 * 4 * sh_stride_words(source.sh_degree) as u64;
        let motion_needed = source.len() as u64 * 16 * motion_stride_vec4(&source) as u64;
        let sh_needed = sh_needed.max(motion_needed);
        if needed.max(sh_needed) > limit {
            bevy::log::error!(
                "bevy_radiance: a splat asset of {} splats needs {} bytes in one storage buffer, above this adapter's {limit}-byte limit; it is not drawn (split the capture or lower its SH degree)",
                source.len(),
                needed.max(sh_needed)
            );
            return Ok(Self::empty(device, pipelines));
        }
        let (geometry, sh) = pack_splats(&source);
        // Empty assets still get valid (non-zero) buffers; they are never drawn.
        let geometry_bytes: &[u8] = if geometry.is_empty() {
            &[0u8; 48]
        } else {
            bytemuck::cast_slice(&geometry)
        };
        let sh_bytes: &[u8] = if sh.is_empty() {
            &[0u8; 16]
        } else {
            bytemuck::cast_slice(&sh)
        };
        let (motion_kind, _, motion_words) = source.motion.gpu_words();
        let timeline = source.motion.timeline().copied().unwrap_or_default();
        let motion_bytes: &[u8] = if motion_words.is_empty() {
            &[0u8; 16]
        } else {
            bytemuck::cast_slice(&motion_words)
        };
        let [geometry, sh, motion] = upload(device, pipelines, [geometry_bytes, sh_bytes, motion_bytes]);
        let bind_group = bind(device, pipelines, [&geometry, &sh, &motion]);
        Ok(Self {
            count: source.len() as u32,
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
