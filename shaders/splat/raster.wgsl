#import bevy_radiance::splat::common::{ProjectedSplat, SplatView, splat_alpha}

// Draws the sorted splats back to front as screen-aligned squares with
// premultiplied alpha into the view's splat accumulation texture, depth-tested
// (read-only) against the view's mesh depth.

@group(0) @binding(0) var<uniform> view: SplatView;
@group(0) @binding(1) var<storage, read> projected: array<ProjectedSplat>;
@group(0) @binding(2) var<storage, read> sorted_indices: array<u32>;

struct VertexOutput {
    @builtin(position) position: vec4<f32>,
    @location(0) @interpolate(flat) mean: vec2<f32>,
    @location(1) @interpolate(flat) conic_opacity: vec4<f32>,
    @location(2) @interpolate(flat) color: vec3<f32>,
}

@vertex
fn vertex(@builtin(vertex_index) vertex_index: u32, @builtin(instance_index) instance: u32) -> VertexOutput {
    let s = projected[sorted_indices[instance]];
    let corner = vec2<f32>(f32(vertex_index & 1u), f32(vertex_index >> 1u)) * 2.0 - 1.0;
    let radius = s.mean_depth_radius.w;
    let pixel = s.mean_depth_radius.xy + corner * radius;
    let size = view.viewport.zw;
    let ndc = vec2<f32>(pixel.x / size.x * 2.0 - 1.0, 1.0 - pixel.y / size.y * 2.0);
    var out: VertexOutput;
    out.position = vec4<f32>(ndc, s.mean_depth_radius.z, 1.0);
    out.mean = s.mean_depth_radius.xy;
    out.conic_opacity = s.conic_opacity;
    out.color = s.color.rgb;
    return out;
}

@fragment
fn fragment(in: VertexOutput) -> @location(0) vec4<f32> {
    let pixel_center = in.position.xy - view.viewport.xy;
    let alpha = splat_alpha(in.mean, in.conic_opacity.xyz, in.conic_opacity.w, pixel_center);
    if (alpha < 0.0) {
        discard;
    }
    return vec4<f32>(in.color * alpha, alpha);
}
