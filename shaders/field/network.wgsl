#define_import_path bevy_radiance::field::network

// An instant-ngp radiance field evaluated per sample: multiresolution hash
// grid → density MLP → (density outputs ++ SH degree-4 direction encoding) →
// colour MLP. Mirrors `src/field/asset.rs` function by function.
//
// The networks themselves are generated for each field architecture
// (`src/render/field/codegen.rs`) as the top-level shader, which overrides
// the two virtual functions at the end of this module.

// Per-field uniform, mirrored by `FieldUniform` in `src/render/field/gpu_types.rs`.
struct FieldUniform {
    // Bevy world → the field's unit cube (instant-ngp coordinates), affine.
    unit_from_world: mat4x4<f32>,
    // Per level: (scale as f32 bits, resolution, table entries, entry offset).
    levels: array<vec4<u32>, #{MAX_GPU_LEVELS}>,
    // x: n_levels, y: features per level, z: bit 0 = level dense (bitmask over levels), w: occupancy grid size.
    grid: vec4<u32>,
    // x: density hidden width, y: density hidden layers, z: colour hidden width, w: colour hidden layers.
    widths: vec4<u32>,
    // x: density output width, y: colour output width, z: cascades, w: density activation (0 exp, 1 relu, 2 logistic, 3 none).
    outputs: vec4<u32>,
    // Word offsets of the weight matrices in `weights`: density layers 0..3, colour layers 0..3.
    density_offsets: vec4<u32>,
    colour_offsets: vec4<u32>,
    // x: min transmittance, y: max samples (as f32), z: cone angle, w: opacity (fades).
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

@group(1) @binding(0) var<uniform> field: FieldUniform;
// Hash-grid parameters as f16 pairs.
@group(1) @binding(1) var<storage, read> grid_params: array<u32>;
// MLP weights, row-major [out][in] as vec4s (widths are multiples of 4),
// one vec4 per texel, WEIGHTS_TEXTURE_WIDTH texels per row (see `weight`).
@group(1) @binding(2) var weights: texture_2d<f32>;
// Occupancy bitfield, cascade-major, Morton order within a cascade.
@group(1) @binding(3) var<storage, read> occupancy: array<u32>;

// The `i`-th vec4 of the MLP weights. A texel fetch rather than a storage
// load: software rasterisers compile it as a straight-line gather.
fn weight(i: u32) -> vec4<f32> {
    return textureLoad(weights, vec2<u32>(i % #{WEIGHTS_TEXTURE_WIDTH}u, i / #{WEIGHTS_TEXTURE_WIDTH}u), 0);
}

// Table entry of a grid vertex (dense index where the level fits, else the
// coherent prime hash), modulo the table size.
fn grid_index(corner: vec3<u32>, level: vec4<u32>, dense: bool) -> u32 {
    let r = level.y;
    let dense_index = corner.x + corner.y * r + corner.z * r * r;
    let hashed = corner.x ^ (corner.y * #{HASH_PRIME_Y}u) ^ (corner.z * #{HASH_PRIME_Z}u);
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

// The density network's outputs for one sample (output 0 is the raw density;
// all of them feed the colour network). Outputs past the network's are 0.
// `field_density` and `field_colour` are virtual: the generated network of the
// field's architecture overrides them. (No comment may directly precede a
// `virtual fn` line: naga_oil joins the two lines.)
struct FieldDensity {
    outputs: array<vec4<f32>, #{MAX_GPU_DENSITY_OUTPUTS_VEC4}>,
}
virtual fn field_density(x_unit: vec3<f32>) -> FieldDensity {
    // Raw density-network outputs at a unit-cube position.
    return FieldDensity();
}
virtual fn field_colour(density: FieldDensity, d: vec3<f32>) -> vec3<f32> {
    // Activated colour for a sample's density outputs seen along unit direction `d`.
    return vec3<f32>(0.0);
}
