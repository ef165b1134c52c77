// Composites the view's splat layer (premultiplied, display-referred colour) over
// the main texture. Splat colours are display (sRGB-encoded) values, so the
// blend happens in display space, exactly as the reference renderers blend:
//   out = splats.rgb + (1 - splats.a) * display(main.rgb)
// and the result is converted back to the main texture's storage space.

@group(0) @binding(0) var main_texture: texture_2d<f32>;
@group(0) @binding(1) var splat_texture: texture_2d<f32>;

@vertex
fn vertex(@builtin(vertex_index) index: u32) -> @builtin(position) vec4<f32> {
    let uv = vec2<f32>(f32((index << 1u) & 2u), f32(index & 2u));
    return vec4<f32>(uv * 2.0 - 1.0, 0.0, 1.0);
}

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
    let splats = textureLoad(splat_texture, p, 0);
#ifdef MAIN_TEXTURE_LINEAR
    let background = linear_to_srgb(dst.rgb);
#else
    let background = dst.rgb;
#endif
    let rgb = splats.rgb + (1.0 - splats.a) * background;
    let a = splats.a + (1.0 - splats.a) * dst.a;
#ifdef MAIN_TEXTURE_LINEAR
    return vec4<f32>(srgb_to_linear(rgb), a);
#else
    return vec4<f32>(rgb, a);
#endif
}
