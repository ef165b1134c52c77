// Composites a capture layer (premultiplied, display-referred colour and
// coverage) over the main texture. Capture colours are display (sRGB-encoded)
// values, so the blend happens in display space, exactly as the reference
// renderers blend:
//   out = layer.rgb + (1 - layer.a) * display(main.rgb)
// and the result is converted back to the main texture's storage space.
// The splat layer covers the main texture; the radiance-field layer
// (`UPSAMPLE`) covers the viewport at the field render scale.
// Vertex stage: Bevy's fullscreen triangle.

@group(0) @binding(0) var main_texture: texture_2d<f32>;
@group(0) @binding(1) var layer_texture: texture_2d<f32>;

#ifdef UPSAMPLE
// The layer covers only the camera viewport, at a reduced resolution (the
// radiance-field render scale); it is upsampled bilinearly, texel centres
// aligned, edges clamped (mirrored by `field::reference::upsample_bilinear`).
// Mirrored by `LayerRectUniform` (src/render/composite/mod.rs).
struct LayerRect {
    // Viewport origin (x, y) and size (z, w) in main-texture pixels.
    viewport: vec4<f32>,
    // xy: layer size in pixels; zw: layer pixels per viewport pixel.
    layer: vec4<f32>,
}
@group(0) @binding(2) var<uniform> rect: LayerRect;

fn layer_value(p: vec2<i32>) -> vec4<f32> {
    let local = vec2<f32>(p) + 0.5 - rect.viewport.xy;
    if (any(local < vec2<f32>(0.0)) || any(local >= rect.viewport.zw)) {
        return vec4<f32>(0.0);
    }
    let last = vec2<i32>(rect.layer.xy) - 1;
    let q = local * rect.layer.zw - 0.5;
    let base = floor(q);
    let f = q - base;
    let i0 = clamp(vec2<i32>(base), vec2<i32>(0), last);
    let i1 = clamp(vec2<i32>(base) + 1, vec2<i32>(0), last);
    let top = mix(textureLoad(layer_texture, i0, 0), textureLoad(layer_texture, vec2<i32>(i1.x, i0.y), 0), f.x);
    let bottom = mix(textureLoad(layer_texture, vec2<i32>(i0.x, i1.y), 0), textureLoad(layer_texture, i1, 0), f.x);
    return mix(top, bottom, f.y);
}
#else
fn layer_value(p: vec2<i32>) -> vec4<f32> {
    return textureLoad(layer_texture, p, 0);
}
#endif

fn linear_to_srgb(c: vec3<f32>) -> vec3<f32> {
    let lo = c * 12.92;
    let hi = 1.055 * pow(max(c, vec3<f32>(0.0)), vec3<f32>(1.0 / 2.4)) - 0.055;
    return select(hi, lo, c <= vec3<f32>(0.0031308));
}

fn srgb_to_linear(c: vec3<f32>) -> vec3<f32> {
    let lo = c / 12.92;
    let hi = pow(max((c + 0.055) / 1.055, vec3<f32>(0.0)), vec3<f32>(2.4));
    return select(hi, lo, c <= vec3<f32>(0.04045));
}

@fragment
fn fragment(@builtin(position) position: vec4<f32>) -> @location(0) vec4<f32> {
    let p = vec2<i32>(position.xy);
    let dst = textureLoad(main_texture, p, 0);
    let layer = layer_value(p);
#ifdef MAIN_TEXTURE_LINEAR
    let background = linear_to_srgb(dst.rgb);
#else
    let background = dst.rgb;
#endif
    let rgb = layer.rgb + (1.0 - layer.a) * background;
    let a = layer.a + (1.0 - layer.a) * dst.a;
#ifdef MAIN_TEXTURE_LINEAR
    return vec4<f32>(srgb_to_linear(rgb), a);
#else
    return vec4<f32>(rgb, a);
#endif
}
