//! Small GPU helpers both renderers and the sort use.

use bevy::render::render_resource::{Buffer, BufferDescriptor, BufferUsages};
use bevy::render::renderer::RenderDevice;
use bevy::shader::ShaderDefVal;

/// Workgroups per dispatch dimension that every adapter accepts (WebGPU's
/// `maxComputeWorkgroupsPerDimension` default).
pub const MAX_DISPATCH_X: u32 = 65_535;

/// Splits a workgroup count over x and y so neither exceeds [`MAX_DISPATCH_X`]
/// (at least one workgroup). Shaders recover the linear index as
/// `id.x + id.y · MAX_DISPATCH_X` (the def of [`dispatch_shader_defs`]) and
/// skip indices past the end.
pub fn dispatch_grid(groups: u32) -> (u32, u32) {
    if groups <= MAX_DISPATCH_X {
        (groups.max(1), 1)
    } else {
        (MAX_DISPATCH_X, groups.div_ceil(MAX_DISPATCH_X))
    }
}

/// The shader def of [`MAX_DISPATCH_X`].
pub fn dispatch_shader_defs() -> Vec<ShaderDefVal> {
    vec![ShaderDefVal::UInt("MAX_DISPATCH_X".into(), MAX_DISPATCH_X)]
}

/// A buffer of `size` bytes, not mapped at creation; `label` is namespaced
/// (`"bevy_radiance:sort:keys"`).
pub fn create_buffer(device: &RenderDevice, label: &str, size: u64, usage: BufferUsages) -> Buffer {
    device.create_buffer(&BufferDescriptor {
        label: Some(label),
        size,
        usage,
        mapped_at_creation: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_grid_covers_every_group_within_the_limit() {
        for groups in [0, 1, 65_535, 65_536, 131_070, 131_071, 1_000_000, u32::MAX / 2] {
            let (x, y) = dispatch_grid(groups);
            assert!(x <= MAX_DISPATCH_X && y <= MAX_DISPATCH_X && x >= 1 && y >= 1, "{groups}");
            assert!(x as u64 * y as u64 >= groups as u64, "{groups}: {x}×{y}");
            assert!((x as u64) * (y as u64 - 1) < groups.max(1) as u64, "{groups}: one row too many");
        }
    }
}
