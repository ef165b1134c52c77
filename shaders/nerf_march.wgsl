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
    // xy: viewport pixels per layer pixel (the layer covers the viewport at the
    // camera's render scale).
    layer_ratio: vec4<f32>,
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

// Distance along the normalised world ray to the opaque mesh at this pixel
// (infinite where the depth buffer holds the far plane).
fn opaque_distance(pixel: vec2<i32>, dir_view: vec3<f32>) -> f32 {
#ifdef MULTISAMPLED_DEPTH
    let depth = textureLoad(depth_texture, pixel, 0);
#else
    let depth = textureLoad(depth_texture, pixel, 0);
#endif
    let v = view.view_from_clip * vec4<f32>(0.0, 0.0, max(depth, 1e-30), 1.0);
    let z = -v.z / v.w;
    // dir_view has z = −1, so the hit is dir_view · z; its length along the unit ray
    // (the far plane, depth 0, is infinitely far).
    return select(z * length(dir_view), 3.4028235e38, depth <= 0.0);
}

@fragment
fn fragment(@builtin(position) position: vec4<f32>) -> @location(0) vec4<f32> {
    // The layer pixel's centre in viewport pixels.
    let pixel = position.xy * view.layer_ratio.xy;
    let k = view.intrinsics;
    let dir_view = vec3<f32>((pixel.x - k.z) / k.x, -(pixel.y - k.w) / k.y, -1.0);
    let dir_world = normalize((view.world_from_view * vec4<f32>(dir_view, 0.0)).xyz);
    let depth_pixel = min(vec2<i32>(view.viewport.xy + pixel), vec2<i32>(view.viewport.xy + view.viewport.zw) - 1);
    let t_world = opaque_distance(depth_pixel, dir_view);

    let origin = (field.unit_from_world * vec4<f32>(view.camera_position.xyz, 1.0)).xyz;
    let unit_vector = (field.unit_from_world * vec4<f32>(dir_world, 0.0)).xyz;
    let length_scale = max(length(unit_vector), 1e-30);
    // field.march.w: the entity's opacity (fades).
    return march_ray_unit(origin, unit_vector / length_scale, t_world * length_scale) * field.march.w;
}
