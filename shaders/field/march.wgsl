#define_import_path bevy_radiance::field::march

#import bevy_radiance::field::network::{density_activation, field, field_colour, field_density, occupancy}

// Ray-marches one radiance field per pixel (fullscreen triangle, scissored to the
// field's projected box), stopping at
// the opaque mesh depth; the output (premultiplied colour, coverage) is blended
// "under" earlier (nearer) fields in the view's field layer. The fragment entry
// point of each network architecture (generated, see
// `src/render/field/codegen.rs`) calls `march_pixel`.

// Per-view uniform, mirrored by `FieldViewUniform` in `src/render/field/gpu_types.rs`.
struct FieldView {
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

@group(0) @binding(0) var<uniform> view: FieldView;
#ifdef MULTISAMPLED_DEPTH
@group(0) @binding(1) var depth_texture: texture_depth_multisampled_2d;
#else
@group(0) @binding(1) var depth_texture: texture_depth_2d;
#endif

// Distance along the normalised world ray to the opaque mesh at this pixel
// (infinite where the depth buffer holds the far plane).
fn opaque_distance(pixel: vec2<i32>, dir_view: vec3<f32>) -> f32 {
    let depth = textureLoad(depth_texture, pixel, 0);
    let v = view.view_from_clip * vec4<f32>(0.0, 0.0, max(depth, 1e-30), 1.0);
    let z = -v.z / v.w;
    // dir_view has z = −1, so the hit is dir_view · z; its length along the unit ray
    // (the far plane, depth 0, is infinitely far).
    return select(z * length(dir_view), 3.4028235e38, depth <= 0.0);
}

// The march of one layer pixel (its fragment position): premultiplied colour and coverage.
fn march_pixel(position: vec4<f32>) -> vec4<f32> {
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

// ---- Occupancy and the step schedule (instant-ngp), mirroring src/field/occupancy.rs and reference.rs.

const OCCUPANCY_GRID_SIZE: u32 = #{OCCUPANCY_GRID_SIZE}u;
const MIN_CONE_STEPSIZE: f32 = 0.0016914558; // √3 / 1024
const MAX_CONE_STEPSIZE: f32 = 1.7320508;    // MIN · 2^7 · 1024 / 128
const MAX_DEPTH: f32 = 16384.0;
const RAY_START_EPSILON: f32 = 1e-6;
const SAMPLE_OFFSET_STEPS: f32 = 0.5;
const COLOR_SKIP_WEIGHT: f32 = 1e-4;
const MAX_SKIP_ITERATIONS: u32 = #{MAX_SKIP_ITERATIONS}u;

fn expand_bits(v_in: u32) -> u32 {
    var v = (v_in * 0x00010001u) & 0xFF0000FFu;
    v = (v * 0x00000101u) & 0x0F00F00Fu;
    v = (v * 0x00000011u) & 0xC30C30C3u;
    v = (v * 0x00000005u) & 0x49249249u;
    return v;
}

fn morton3d(x: u32, y: u32, z: u32) -> u32 {
    return expand_bits(x) | (expand_bits(y) << 1u) | (expand_bits(z) << 2u);
}

// frexp exponent of |v| (m·2^e, m ∈ [0.5, 1)); 0 for 0.
fn frexp_exponent(v: f32) -> i32 {
    let bits = bitcast<u32>(abs(v));
    let e = i32((bits >> 23u) & 0xFFu);
    // 0 for 0; subnormals fall below every normal exponent (cascade 0).
    return select(select(e - 126, -126, e == 0), 0, v == 0.0);
}

fn mip_from_pos(pos: vec3<f32>) -> u32 {
    let d = abs(pos - vec3<f32>(0.5));
    let m = max(d.x, max(d.y, d.z));
    return min(u32(max(frexp_exponent(m) + 1, 0)), field.flags.y);
}

fn is_occupied(pos: vec3<f32>, cascade: u32) -> bool {
    let mip_scale = exp2(-f32(cascade));
    let p = (pos - vec3<f32>(0.5)) * mip_scale + vec3<f32>(0.5);
    let size = f32(OCCUPANCY_GRID_SIZE);
    let c = vec3<i32>(p * size); // truncates toward zero
    let n = i32(OCCUPANCY_GRID_SIZE);
    let inside = all(c >= vec3<i32>(0)) && all(c < vec3<i32>(n));
    let cc = vec3<u32>(clamp(c, vec3<i32>(0), vec3<i32>(n - 1)));
    let index = morton3d(cc.x, cc.y, cc.z) + cascade * OCCUPANCY_GRID_SIZE * OCCUPANCY_GRID_SIZE * OCCUPANCY_GRID_SIZE;
    let bit = ((occupancy[index >> 5u] >> (index & 31u)) & 1u) == 1u;
    return inside && bit;
}

/// The cone-stepping piecewise map for cone angle `c > 0`: `log1p_c`, the
/// stepping-space ends `a`/`b` of the logarithmic segment and their distances
/// `at`/`bt`.
struct SteppingBounds {
    log1p_c: f32,
    a: f32,
    b: f32,
    at: f32,
    bt: f32,
}

fn stepping_bounds(c: f32) -> SteppingBounds {
    let log1p_c = log(1.0 + c);
    let a = (log(MIN_CONE_STEPSIZE) - log(log1p_c)) / log1p_c;
    let b = (log(MAX_CONE_STEPSIZE) - log(log1p_c)) / log1p_c;
    return SteppingBounds(log1p_c, a, b, exp(a * log1p_c), exp(b * log1p_c));
}

fn to_stepping_space(t: f32, c: f32) -> f32 {
    var n = t / MIN_CONE_STEPSIZE;
    if (c > 1e-5) {
        let s = stepping_bounds(c);
        if (t <= s.at) {
            n = (t - s.at) / MIN_CONE_STEPSIZE + s.a;
        } else if (t <= s.bt) {
            n = log(t) / s.log1p_c;
        } else {
            n = (t - s.bt) / MAX_CONE_STEPSIZE + s.b;
        }
    }
    return n;
}

fn from_stepping_space(n: f32, c: f32) -> f32 {
    var t = n * MIN_CONE_STEPSIZE;
    if (c > 1e-5) {
        let s = stepping_bounds(c);
        if (n <= s.a) {
            t = (n - s.a) * MIN_CONE_STEPSIZE + s.at;
        } else if (n <= s.b) {
            t = exp(n * s.log1p_c);
        } else {
            t = (n - s.b) * MAX_CONE_STEPSIZE + s.bt;
        }
    }
    return t;
}

fn advance_n_steps(t: f32, c: f32, n: f32) -> f32 {
    return from_stepping_space(to_stepping_space(t, c) + n, c);
}

fn calc_dt(t: f32, c: f32) -> f32 {
    return advance_n_steps(t, c, 1.0) - t;
}

fn axis_distance(pa: f32, da: f32) -> f32 {
    let s = select(-1.0, 1.0, da > 0.0);
    let boundary = floor(pa + 0.5 + 0.5 * s);
    return select((boundary - pa) * (1.0 / da), 3.4028235e38, da == 0.0);
}

fn distance_to_next_voxel(pos: vec3<f32>, dir: vec3<f32>, res: f32) -> f32 {
    let p = (pos - vec3<f32>(0.5)) * res;
    let t = min(axis_distance(p.x, dir.x), min(axis_distance(p.y, dir.y), axis_distance(p.z, dir.z)));
    return max(t / res, 0.0);
}

fn advance_to_next_voxel(t: f32, c: f32, pos: vec3<f32>, dir: vec3<f32>, cascade: u32) -> f32 {
    let res = f32(OCCUPANCY_GRID_SIZE >> cascade);
    let t_target = t + distance_to_next_voxel(pos, dir, res);
    let n = to_stepping_space(t, c);
    let n_target = to_stepping_space(t_target, c);
    return from_stepping_space(n + ceil(max(n_target - n, 0.5)), c);
}

fn in_render_box(x: vec3<f32>) -> bool {
    let l = field.render_to_local * x;
    return all(l >= field.render_min.xyz) && all(l <= field.render_max.xyz);
}

// Entry and exit distances of a ray through the render box (slab test); x > y when it misses.
fn ray_box_enter(origin: vec3<f32>, dir: vec3<f32>) -> vec2<f32> {
    let lo = field.render_min.xyz;
    let hi = field.render_max.xyz;
    let inv = vec3<f32>(1.0) / dir;
    let a = (lo - origin) * inv;
    let b = (hi - origin) * inv;
    let parallel = dir == vec3<f32>(0.0);
    let outside = (origin < lo) | (origin > hi);
    let near = select(min(a, b), vec3<f32>(-3.4028235e38), parallel);
    let far = select(max(a, b), vec3<f32>(3.4028235e38), parallel);
    let t_min = max(near.x, max(near.y, near.z));
    let t_max = min(far.x, min(far.y, far.z));
    let miss = any(parallel & outside) || t_min > t_max;
    return select(vec2<f32>(t_min, t_max), vec2<f32>(1.0, 0.0), miss);
}

// The first t' ≥ t in an occupied cell, or a negative value once the ray leaves
// the render box or reaches t_limit.
fn skip_empty_space(t_in: f32, origin: vec3<f32>, dir: vec3<f32>, t_limit: f32) -> f32 {
    var t = t_in;
    var result = -1.0;
    let c = field.march.z;
    for (var i = 0u; i < MAX_SKIP_ITERATIONS; i++) {
        let x = origin + dir * t;
        if (t >= min(t_limit, MAX_DEPTH) || !in_render_box(x)) {
            break;
        }
        var cascade = mip_from_pos(x);
        if (is_occupied(x, cascade)) {
            result = t;
            break;
        }
        while (cascade < field.flags.y && !is_occupied(x, cascade + 1u)) {
            cascade += 1u;
        }
        t = advance_to_next_voxel(t, c, x, dir, cascade);
    }
    return result;
}

// Marches a unit-cube ray (dir normalised, t_max in unit-cube lengths):
// returns (premultiplied rgb, coverage), with instant-ngp's colour /= alpha at termination.
fn march_ray_unit(origin: vec3<f32>, dir: vec3<f32>, t_max: f32) -> vec4<f32> {
    let local_origin = field.render_to_local * origin;
    let local_dir = field.render_to_local * dir;
    let enter = ray_box_enter(local_origin, local_dir);
    var t = max(enter.x, 0.0) + RAY_START_EPSILON;
    var rgb = vec3<f32>(0.0);
    var alpha = 0.0;
    var terminated = false;
    if (enter.x <= enter.y && in_render_box(origin + dir * t)) {
        let c = field.march.z;
        t = advance_n_steps(t, c, SAMPLE_OFFSET_STEPS);
        var samples = 0u;
        let max_samples = u32(field.march.y);
        loop {
            let t_sample = skip_empty_space(t, origin, dir, t_max);
            if (t_sample < 0.0 || samples >= max_samples) {
                break;
            }
            let x = origin + dir * t_sample;
            let dt = calc_dt(t_sample, c);
            let dens = field_density(x);
            let sigma = density_activation(dens.outputs[0].x);
            t = t_sample + dt;
            let sample_alpha = 1.0 - exp(-sigma * dt);
            let weight = sample_alpha * (1.0 - alpha);
            if (weight >= COLOR_SKIP_WEIGHT) {
                rgb += field_colour(dens, dir) * weight;
            }
            alpha += weight;
            samples += 1u;
            if (alpha > 1.0 - field.march.x) {
                terminated = true;
                break;
            }
        }
    }
    // instant-ngp's normalisation at termination: colour /= alpha, alpha = 1.
    return select(vec4<f32>(rgb, alpha), vec4<f32>(rgb / alpha, 1.0), terminated);
}
