#import bevy_radiance::nerf_field

// Ray-marches one radiance field per pixel (fullscreen triangle), stopping at
// the opaque mesh depth; the output (premultiplied colour, coverage) is blended
// "under" earlier (nearer) fields in the view's field layer.

// Per-view uniform, mirrored by `NerfViewUniform`.
struct NerfView {
    world_from_view: mat4x4<f32>,
    view_from_clip: mat4x4<f32>,
    camera_position: vec4<f32>,
    // Viewport origin (x, y) and size (z, w) in physical pixels.
    viewport: vec4<f32>,
    // fx, fy, cx, cy relative to the viewport.
    intrinsics: vec4<f32>,
}

@group(0) @binding(0) var<uniform> view: NerfView;
#ifdef MULTISAMPLED_DEPTH
@group(0) @binding(1) var depth_texture: texture_depth_multisampled_2d;
#else
@group(0) @binding(1) var depth_texture: texture_depth_2d;
#endif

@vertex
fn vertex(@builtin(vertex_index) index: u32) -> @builtin(position) vec4<f32> {
    let uv = vec2<f32>(f32((index << 1u) & 2u), f32(index & 2u));
    return vec4<f32>(uv * 2.0 - 1.0, 0.0, 1.0);
}

@fragment
fn fragment(@builtin(position) position: vec4<f32>) -> @location(0) vec4<f32> {
    return vec4<f32>(0.0);
}
