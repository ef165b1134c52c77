#define_import_path bevy_radiance::nerf_field

// An instant-ngp radiance field evaluated per sample: multiresolution hash
// grid → density MLP → (density outputs ++ SH degree-4 direction encoding) →
// colour MLP. Mirrors `src/nerf/field.rs` function by function.


// Per-field uniform, mirrored by `NerfFieldUniform` in `src/nerf/render/gpu_types.rs`.
struct NerfField {
    // Bevy world → the field's unit cube (instant-ngp coordinates), affine.
    unit_from_world: mat4x4<f32>,
    // Per level: (scale as f32 bits, resolution, table entries, entry offset).
    levels: array<vec4<u32>, 16>,
    // x: n_levels, y: features per level, z: bit 0 = level dense (bitmask over levels), w: occupancy grid size.
    grid: vec4<u32>,
    // x: density hidden width, y: density hidden layers, z: colour hidden width, w: colour hidden layers.
    widths: vec4<u32>,
    // x: density output width, y: colour output width, z: cascades, w: density activation (0 exp, 1 relu, 2 logistic, 3 none).
    outputs: vec4<u32>,
    // Word offsets of the weight matrices in `weights`: density layers 0..3, colour layers 0..3.
    density_offsets: vec4<u32>,
    colour_offsets: vec4<u32>,
    // x: min transmittance, y: max samples (as f32), z: cone angle, w: unused.
    march: vec4<f32>,
    // x: colour activation (0 logistic, 1 exponential), y: max cascade, zw: unused.
    flags: vec4<u32>,
    // Render box (in its local frame) and the rotation into that frame (columns).
    render_min: vec4<f32>,
    render_max: vec4<f32>,
    render_to_local: mat3x3<f32>,
    // Network input = (unit − aabb_min) · aabb_inv_size.
    aabb_min: vec4<f32>,
    aabb_inv_size: vec4<f32>,
}

@group(1) @binding(0) var<uniform> field: NerfField;
// Hash-grid parameters as f16 pairs.
@group(1) @binding(1) var<storage, read> grid_params: array<u32>;
// MLP weights, row-major [out][in] as vec4s (widths are multiples of 4).
@group(1) @binding(2) var<storage, read> weights: array<vec4<f32>>;
// Occupancy bitfield, cascade-major, Morton order within a cascade.
@group(1) @binding(3) var<storage, read> occupancy: array<u32>;

// Table entry of a grid vertex (dense index where the level fits, else the
// coherent prime hash), modulo the table size.
fn grid_index(corner: vec3<u32>, level: vec4<u32>, dense: bool) -> u32 {
    let r = level.y;
    let dense_index = corner.x + corner.y * r + corner.z * r * r;
    let hashed = corner.x ^ (corner.y * 2654435761u) ^ (corner.z * 805459861u);
    return select(hashed, dense_index, dense) % level.z;
}

// SH degree-4 encoding of a unit direction (tiny-cuda-nn order and constants).
fn sh4(d: vec3<f32>) -> array<vec4<f32>, 4> {
    let x = d.x; let y = d.y; let z = d.z;
    let xy = x * y; let xz = x * z; let yz = y * z;
    let x2 = x * x; let y2 = y * y; let z2 = z * z;
    var o: array<f32, 16>;
    o[0] = 0.28209479177387814;
    o[1] = -0.48860251190291987 * y;
    o[2] = 0.48860251190291987 * z;
    o[3] = -0.48860251190291987 * x;
    o[4] = 1.0925484305920792 * xy;
    o[5] = -1.0925484305920792 * yz;
    o[6] = 0.94617469575755997 * z2 - 0.31539156525251999;
    o[7] = -1.0925484305920792 * xz;
    o[8] = 0.54627421529603959 * x2 - 0.54627421529603959 * y2;
    o[9] = 0.59004358992664352 * y * (-3.0 * x2 + y2);
    o[10] = 2.8906114426405538 * xy * z;
    o[11] = 0.45704579946446572 * y * (1.0 - 5.0 * z2);
    o[12] = 0.3731763325901154 * z * (5.0 * z2 - 3.0);
    o[13] = 0.45704579946446572 * x * (1.0 - 5.0 * z2);
    o[14] = 1.4453057213202769 * z * (x2 - y2);
    o[15] = 0.59004358992664352 * x * (-x2 + 3.0 * y2);
    return array<vec4<f32>, 4>(
        vec4<f32>(o[0], o[1], o[2], o[3]),
        vec4<f32>(o[4], o[5], o[6], o[7]),
        vec4<f32>(o[8], o[9], o[10], o[11]),
        vec4<f32>(o[12], o[13], o[14], o[15]),
    );
}

fn density_activation(v: f32) -> f32 {
    var out = v;
    let a = field.outputs.w;
    if (a == 0u) {
        out = exp(v);
    } else if (a == 1u) {
        out = max(v, 0.0);
    } else if (a == 2u) {
        out = 1.0 / (1.0 + exp(-v));
    }
    return out;
}

fn colour_activation(raw: vec3<f32>) -> vec3<f32> {
    let logistic = vec3<f32>(1.0) / (vec3<f32>(1.0) + exp(-raw));
    let exponential = exp(clamp(raw, vec3<f32>(-10.0), vec3<f32>(10.0)));
    return select(logistic, exponential, field.flags.x == 1u);
}

// The field's networks, generated for its architecture without loops
// (`src/nerf/render/codegen.rs`): encode_position, density_outputs, colour.
//@FIELD_NETWORK

// ---- Occupancy and the step schedule (instant-ngp), mirroring src/nerf/occupancy.rs and reference.rs.

const NERF_GRID_SIZE: u32 = 128u;
const SQRT3: f32 = 1.7320508;
const MIN_CONE_STEPSIZE: f32 = 0.0016914558; // sqrt(3) / 1024
const MAX_CONE_STEPSIZE: f32 = 1.7320508;    // MIN · 2^7 · 1024 / 128
const MAX_DEPTH: f32 = 16384.0;
const RAY_START_EPSILON: f32 = 1e-6;
const SAMPLE_OFFSET_STEPS: f32 = 0.5;
const COLOR_SKIP_WEIGHT: f32 = 1e-4;
const MAX_SKIP_ITERATIONS: u32 = 65536u;

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
    let size = f32(NERF_GRID_SIZE);
    let c = vec3<i32>(p * size); // truncates toward zero
    let n = i32(NERF_GRID_SIZE);
    let inside = all(c >= vec3<i32>(0)) && all(c < vec3<i32>(n));
    let cc = vec3<u32>(clamp(c, vec3<i32>(0), vec3<i32>(n - 1)));
    let index = morton3d(cc.x, cc.y, cc.z) + cascade * NERF_GRID_SIZE * NERF_GRID_SIZE * NERF_GRID_SIZE;
    let bit = ((occupancy[index >> 5u] >> (index & 31u)) & 1u) == 1u;
    return inside && bit;
}

fn to_stepping_space(t: f32, c: f32) -> f32 {
    var n = t / MIN_CONE_STEPSIZE;
    if (c > 1e-5) {
        let log1p_c = log(1.0 + c);
        let a = (log(MIN_CONE_STEPSIZE) - log(log1p_c)) / log1p_c;
        let b = (log(MAX_CONE_STEPSIZE) - log(log1p_c)) / log1p_c;
        let at = exp(a * log1p_c);
        let bt = exp(b * log1p_c);
        if (t <= at) {
            n = (t - at) / MIN_CONE_STEPSIZE + a;
        } else if (t <= bt) {
            n = log(t) / log1p_c;
        } else {
            n = (t - bt) / MAX_CONE_STEPSIZE + b;
        }
    }
    return n;
}

fn from_stepping_space(n: f32, c: f32) -> f32 {
    var t = n * MIN_CONE_STEPSIZE;
    if (c > 1e-5) {
        let log1p_c = log(1.0 + c);
        let a = (log(MIN_CONE_STEPSIZE) - log(log1p_c)) / log1p_c;
        let b = (log(MAX_CONE_STEPSIZE) - log(log1p_c)) / log1p_c;
        let at = exp(a * log1p_c);
        let bt = exp(b * log1p_c);
        if (n <= a) {
            t = (n - a) * MIN_CONE_STEPSIZE + at;
        } else if (n <= b) {
            t = exp(n * log1p_c);
        } else {
            t = (n - b) * MAX_CONE_STEPSIZE + bt;
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
    let res = f32(NERF_GRID_SIZE >> cascade);
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
            let dens = density_outputs(x);
            let sigma = density_activation(dens[0].x);
            t = t_sample + dt;
            let sample_alpha = 1.0 - exp(-sigma * dt);
            let weight = sample_alpha * (1.0 - alpha);
            if (weight >= COLOR_SKIP_WEIGHT) {
                rgb += colour(dens, dir) * weight;
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
