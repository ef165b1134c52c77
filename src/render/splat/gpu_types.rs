//! GPU-side data layouts of the splat passes, defined once here and mirrored
//! by the WGSL structs of `shaders/splat/` (the shader contract test checks
//! every size and offset against naga's reflection of the WGSL).

use bevy::math::{Mat4, UVec4, Vec4};
use bevy::render::render_resource::ShaderType;

/// Quantisation ranges of one chunk of a packed splat asset (`SplatChunk` in
/// WGSL; see [`super::packing`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable, ShaderType)]
pub struct SplatChunkGpu {
    /// xyz: lowest splat centre; w: lowest SH rest coefficient.
    pub position_min: Vec4,
    /// xyz: highest splat centre; w: highest SH rest coefficient.
    pub position_max: Vec4,
    /// xyz: lowest `ln(scale)`; w unused.
    pub log_scale_min: Vec4,
    /// xyz: highest `ln(scale)`; w unused.
    pub log_scale_max: Vec4,
    /// xyz: lowest SH degree-0 coefficient (r, g, b); w unused.
    pub dc_min: Vec4,
    /// xyz: highest SH degree-0 coefficient; w unused.
    pub dc_max: Vec4,
}

/// Per-view uniform (`SplatView` in WGSL).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable, ShaderType)]
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

/// Per-(view, entity) uniform (`SplatEntity` in WGSL), one dynamic-offset
/// entry per visible splat entity.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable, ShaderType)]
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
    /// Bytes of quantised SH rest coefficients per splat in the asset.
    pub sh_rest_bytes: u32,
    /// Opacity multiplier.
    pub opacity_scale: f32,
    /// Scale multiplier.
    pub scale_factor: f32,
    /// Temporal attributes of the asset (`crate::splat::motion::gpu::MOTION_KIND_*`).
    pub motion_kind: u32,
    /// The entity's playback time in the asset's model time units.
    pub model_time: f32,
    /// The entity's crop volumes in the view's [`CropVolumeGpu`] array: x is
    /// the first, y the count (0: no crop); z: 1 when the entity's edit flags
    /// are bound (preprocess group 3); w unused.
    pub crop: UVec4,
}

/// One crop volume of an entity (`CropVolume` in WGSL; see
/// [`crate::splat::crop`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable, ShaderType)]
pub struct CropVolumeGpu {
    /// Entity local frame → the unit cube `[-1, 1]³` (box) or unit ball (sphere).
    pub volume_from_local: Mat4,
    /// x: shape ([`CROP_SHAPE_CUBOID`] or [`CROP_SHAPE_SPHERE`]); y: mode
    /// ([`CROP_MODE_KEEP_INSIDE`] or [`CROP_MODE_REMOVE_INSIDE`]); z, w unused.
    pub shape_mode: UVec4,
}

/// [`CropVolumeGpu::shape_mode`]`.x` of a box.
pub const CROP_SHAPE_CUBOID: u32 = 0;
/// [`CropVolumeGpu::shape_mode`]`.x` of a sphere.
pub const CROP_SHAPE_SPHERE: u32 = 1;
/// [`CropVolumeGpu::shape_mode`]`.y` of a volume keeping what is inside.
pub const CROP_MODE_KEEP_INSIDE: u32 = 0;
/// [`CropVolumeGpu::shape_mode`]`.y` of a volume removing what is inside.
pub const CROP_MODE_REMOVE_INSIDE: u32 = 1;

impl CropVolumeGpu {
    /// The GPU form of a (validated) crop volume.
    pub fn new(volume: &crate::splat::crop::CropVolume) -> Self {
        use crate::splat::crop::{CropMode, CropShape};
        let shape = match volume.shape {
            CropShape::Cuboid { .. } => CROP_SHAPE_CUBOID,
            CropShape::Sphere { .. } => CROP_SHAPE_SPHERE,
        };
        let mode = match volume.mode {
            CropMode::KeepInside => CROP_MODE_KEEP_INSIDE,
            CropMode::RemoveInside => CROP_MODE_REMOVE_INSIDE,
        };
        Self {
            volume_from_local: volume.volume_from_local(),
            shape_mode: UVec4::new(shape, mode, 0, 0),
        }
    }
}

/// A splat projected into a view (`ProjectedSplat` in WGSL), written by the
/// preprocess pass and read by the raster pass.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable, ShaderType)]
pub struct ProjectedSplatGpu {
    /// Centre in pixels (viewport-relative), NDC depth, and the footprint's
    /// half-size in σ (`crate::splat::projection::footprint_sigmas`).
    pub mean_depth_sigmas: Vec4,
    /// The footprint's axes in pixels per σ: major `(x, y)`, minor `(z, w)`.
    pub axes: Vec4,
    /// View-dependent colour and opacity.
    pub color_opacity: Vec4,
}

/// The raster pass's indirect draw arguments (`DrawArgs` in WGSL): four
/// vertices per instance, one instance per visible splat (counted by the
/// preprocess pass).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable, ShaderType)]
pub struct SplatDrawArgs {
    /// Vertices per splat quad (4, a triangle strip).
    pub vertex_count: u32,
    /// Visible splats; incremented atomically by the preprocess pass.
    pub instance_count: u32,
    /// First vertex (0).
    pub first_vertex: u32,
    /// First instance (0).
    pub first_instance: u32,
}

impl SplatDrawArgs {
    /// Byte offset of `instance_count` (the visible splat count the sort reads).
    pub const INSTANCE_COUNT_OFFSET: u64 = 4;

    /// The arguments before the preprocess pass has counted any splat.
    pub const RESET: Self = Self {
        vertex_count: 4,
        instance_count: 0,
        first_vertex: 0,
        first_instance: 0,
    };
}
