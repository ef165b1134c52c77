#define_import_path bevy_radiance::nerf_field

// An instant-ngp radiance field evaluated per sample: multiresolution hash
// grid → density MLP → (density outputs ++ SH degree-4 direction encoding) →
// colour MLP. Mirrors `src/nerf/field.rs` function by function.

const MAX_LEVELS: u32 = 16u;
const MAX_WIDTH: u32 = 64u;
const ENCODING_WIDTH: u32 = 32u;

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
    // x: density output width (padded), y: colour output width (padded), z: cascades, w: density activation (0 exp, 1 relu, 2 none).
    outputs: vec4<u32>,
    // Word offsets of the weight matrices in `weights`: density layers 0..3, colour layers 0..3.
    density_offsets: vec4<u32>,
    colour_offsets: vec4<u32>,
    // x: min transmittance, y: max samples (as f32), z: min step (unit-cube length), w: cone angle.
    march: vec4<f32>,
    // x: max step, y: aabb_scale, zw: unused.
    march2: vec4<f32>,
    // Render box in unit-cube coordinates.
    render_min: vec4<f32>,
    render_max: vec4<f32>,
}

@group(1) @binding(0) var<uniform> field: NerfField;
// Hash-grid parameters as f16 pairs.
@group(1) @binding(1) var<storage, read> grid_params: array<u32>;
// MLP weights (f32, row-major [out][in], padded widths).
@group(1) @binding(2) var<storage, read> weights: array<f32>;
// Occupancy bitfield, cascade-major, Morton order within a cascade.
@group(1) @binding(3) var<storage, read> occupancy: array<u32>;

fn grid_param(index: u32) -> f32 {
    let pair = unpack2x16float(grid_params[index >> 1u]);
    return select(pair.x, pair.y, (index & 1u) == 1u);
}

// Multiresolution hash encoding of a unit-cube position (level-major output).
fn encode_position(x: vec3<f32>) -> array<f32, 32> {
    var out: array<f32, 32>;
    let features = field.grid.y;
    for (var l = 0u; l < field.grid.x; l++) {
        let level = field.levels[l];
        let scale = bitcast<f32>(level.x);
        let resolution = level.y;
        let entries = level.z;
        let dense = ((field.grid.z >> l) & 1u) == 1u;
        let pos = x * scale + vec3<f32>(0.5);
        let g = vec3<u32>(floor(pos));
        let f = pos - floor(pos);
        for (var c = 0u; c < 8u; c++) {
            let bits = vec3<u32>(c & 1u, (c >> 1u) & 1u, (c >> 2u) & 1u);
            let corner = g + bits;
            let w3 = select(vec3<f32>(1.0) - f, f, bits == vec3<u32>(1u));
            let weight = w3.x * w3.y * w3.z;
            var idx: u32;
            if (dense) {
                idx = corner.x + corner.y * resolution + corner.z * resolution * resolution;
            } else {
                idx = corner.x ^ (corner.y * 2654435761u) ^ (corner.z * 805459861u);
            }
            idx = idx % entries;
            let base = (level.w + idx) * features;
            for (var k = 0u; k < features; k++) {
                out[l * features + k] += weight * grid_param(base + k);
            }
        }
    }
    return out;
}

// SH degree-4 encoding of a unit direction (tiny-cuda-nn order and constants).
fn sh4(d: vec3<f32>) -> array<f32, 16> {
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
    return o;
}

// One dense layer: out = W · in (W row-major [out][in] at `offset`), optional ReLU.
fn dense_layer(input: ptr<function, array<f32, 64>>, in_width: u32, out_width: u32, offset: u32, relu: bool) -> array<f32, 64> {
    var out: array<f32, 64>;
    for (var o = 0u; o < out_width; o++) {
        var acc = 0.0;
        let row = offset + o * in_width;
        for (var i = 0u; i < in_width; i++) {
            acc += weights[row + i] * (*input)[i];
        }
        out[o] = select(acc, max(acc, 0.0), relu);
    }
    return out;
}

// Runs an MLP with `hidden_layers` ReLU layers of `width` and a linear output
// layer of `out_width`; `offsets` holds each matrix's start in `weights`.
fn mlp(input: ptr<function, array<f32, 64>>, in_width: u32, width: u32, hidden_layers: u32, out_width: u32, offsets: vec4<u32>) -> array<f32, 64> {
    var h = *input;
    var w = in_width;
    for (var l = 0u; l < hidden_layers; l++) {
        h = dense_layer(&h, w, width, offsets[l], true);
        w = width;
    }
    return dense_layer(&h, w, out_width, offsets[hidden_layers], false);
}

fn density_activation(v: f32) -> f32 {
    switch field.outputs.w {
        case 0u: { return exp(v); }
        case 1u: { return max(v, 0.0); }
        default: { return v; }
    }
}

// Raw density-network outputs at a unit-cube position.
fn density_outputs(x: vec3<f32>) -> array<f32, 64> {
    let encoded = encode_position(x);
    var input: array<f32, 64>;
    for (var i = 0u; i < ENCODING_WIDTH; i++) {
        input[i] = encoded[i];
    }
    return mlp(&input, field.grid.x * field.grid.y, field.widths.x, field.widths.y, field.outputs.x, field.density_offsets);
}

// Colour (sigmoid of the colour network) from the density outputs and a unit direction.
fn colour(density: ptr<function, array<f32, 64>>, d: vec3<f32>) -> vec3<f32> {
    let sh = sh4(d);
    var input: array<f32, 64>;
    let n = field.outputs.x;
    for (var i = 0u; i < n; i++) {
        input[i] = (*density)[i];
    }
    for (var i = 0u; i < 16u; i++) {
        input[n + i] = sh[i];
    }
    let out = mlp(&input, n + 16u, field.widths.z, field.widths.w, field.outputs.y, field.colour_offsets);
    return vec3<f32>(1.0) / (vec3<f32>(1.0) + exp(-vec3<f32>(out[0], out[1], out[2])));
}
