#import bevy_radiance::splat::common::{ProjectedSplat, SplatView, splat_alpha}

// Draws the sorted splats back to front with premultiplied alpha into the
// view's splat layer, depth-tested (read-only) against the view's mesh depth.
// Each splat is a quad along its footprint's axes, just covering the ellipse
// where its alpha reaches MIN_ALPHA (`footprint_sigmas` σ): no fragment of a
// quad lies wholly outside it, and fainter splats get smaller quads.

@group(0) @binding(0) var<uniform> view: SplatView;
@group(0) @binding(1) var<storage, read> projected: array<ProjectedSplat>;
@group(0) @binding(2) var<storage, read> sorted_indices: array<u32>;

struct VertexOutput {
    @builtin(position) position: vec4<f32>,
    // Position in σ along the footprint's axes (0 at the centre).
    @location(0) uv: vec2<f32>,
    @location(1) @interpolate(flat) color_opacity: vec4<f32>,
}

@vertex
fn vertex(@builtin(vertex_index) vertex_index: u32, @builtin(instance_index) instance: u32) -> VertexOutput {
    let s = projected[sorted_indices[instance]];
    let uv = (vec2<f32>(f32(vertex_index & 1u), f32(vertex_index >> 1u)) * 2.0 - 1.0) * s.mean_depth_sigmas.w;
    let pixel = s.mean_depth_sigmas.xy + uv.x * s.axes.xy + uv.y * s.axes.zw;
    let size = view.viewport.zw;
    let ndc = vec2<f32>(pixel.x / size.x * 2.0 - 1.0, 1.0 - pixel.y / size.y * 2.0);
    var out: VertexOutput;
    out.position = vec4<f32>(ndc, s.mean_depth_sigmas.z, 1.0);
    out.uv = uv;
    out.color_opacity = s.color_opacity;
    return out;
}

@fragment
fn fragment(in: VertexOutput) -> @location(0) vec4<f32> {
    // Outside the footprint the fragment adds nothing: (0, 0, 0, 0) leaves the
    // premultiplied layer exactly as it was (cheaper than `discard` on
    // software rasterisers, which then keep their fast paths).
    let alpha = max(splat_alpha(in.color_opacity.w, in.uv), 0.0);
    return vec4<f32>(in.color_opacity.rgb * alpha, alpha);
}
