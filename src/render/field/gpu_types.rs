//! GPU-side data layouts of the radiance-field pass, defined once here and
//! mirrored by `shaders/field/network.wgsl` and `shaders/field/march.wgsl`
//! (the shader contract test checks every size and offset against naga's
//! reflection of the WGSL).

use bevy::math::{Mat4, UVec4, Vec4};
use bevy::render::render_resource::ShaderType;

use crate::field::limits::MAX_GPU_LEVELS;

/// Per-view uniform (`FieldView` in WGSL).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable, ShaderType)]
pub struct FieldViewUniform {
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

/// Per-(view, field) uniform (`FieldUniform` in WGSL), one dynamic-offset
/// entry per visible field.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable, ShaderType)]
pub struct FieldUniform {
    /// Bevy world → the field's unit cube.
    pub unit_from_world: Mat4,
    /// Per level: scale (f32 bits), resolution, entries, entry offset.
    pub levels: [UVec4; MAX_GPU_LEVELS as usize],
    /// Levels, features per level, dense-level bitmask, occupancy grid size.
    pub grid: UVec4,
    /// Density hidden width and layers, colour hidden width and layers.
    pub widths: UVec4,
    /// Density outputs, colour outputs, cascades, density activation
    /// (0 exponential, 1 ReLU, 2 logistic, 3 none).
    pub outputs: UVec4,
    /// Offsets (in `vec4`s) of the density matrices in the weight buffer.
    pub density_offsets: UVec4,
    /// Offsets (in `vec4`s) of the colour matrices in the weight buffer.
    pub colour_offsets: UVec4,
    /// Min transmittance, max samples, cone angle, opacity.
    pub march: Vec4,
    /// Colour activation (0 logistic, 1 exponential), max cascade, unused ×2.
    pub flags: UVec4,
    /// Render box min (in its local frame).
    pub render_min: Vec4,
    /// Render box max.
    pub render_max: Vec4,
    /// Unit cube → render-box frame rotation, as three padded columns (WGSL `mat3x3`).
    pub render_to_local: [Vec4; 3],
    /// Network box min.
    pub aabb_min: Vec4,
    /// 1 / network box size.
    pub aabb_inv_size: Vec4,
}
