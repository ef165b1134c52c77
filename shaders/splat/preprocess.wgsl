#import bevy_radiance::splat::common::{
    ProjectedSplat, SplatEntity, SplatView, footprint_axes, footprint_sigmas, mat4_to_mat3, project_covariance,
    quat_to_mat3, sh_color,
}

// Splats per quantisation chunk (`src/render/splat/packing.rs`).
const CHUNK_SIZE: u32 = #{SPLAT_CHUNK_SIZE}u;
// Motion kinds and the per-splat motion layout, from `src/splat/motion/gpu.rs`.
const MOTION_KIND_SPACETIME: u32 = #{MOTION_KIND_SPACETIME}u;
const MOTION_KIND_SLICED_4D: u32 = #{MOTION_KIND_SLICED_4D}u;
const SPACETIME_STRIDE: u32 = #{SPACETIME_STRIDE_VEC4}u;
const SLICED_4D_STRIDE: u32 = #{SLICED_4D_STRIDE_VEC4}u;
// Crop volume shapes and modes, from `src/render/splat/gpu_types.rs`.
const CROP_SHAPE_CUBOID: u32 = #{CROP_SHAPE_CUBOID}u;
const CROP_MODE_KEEP_INSIDE: u32 = #{CROP_MODE_KEEP_INSIDE}u;
// Edit flag bits (`src/splat/edit_flags.rs`): selected; hidden or deleted.
const EDIT_SELECTED: u32 = #{EDIT_SELECTED}u;
const EDIT_CULLED: u32 = #{EDIT_CULLED}u;
// Selected splats are drawn as mix(colour, SELECTION_TINT, SELECTION_MIX)
// (`highlight` in src/splat/edit_flags.rs).
const SELECTION_TINT_R: f32 = 1.0;
const SELECTION_TINT_G: f32 = 0.8;
const SELECTION_TINT_B: f32 = 0.1;
const SELECTION_MIX: f32 = 0.5;
// Threads per workgroup and the dispatch split (`src/render/splat/pipeline.rs`, `src/render/gpu.rs`).
const WORKGROUP_SIZE: u32 = #{PREPROCESS_WORKGROUP_SIZE}u;
const MAX_DISPATCH_X: u32 = #{MAX_DISPATCH_X}u;
// Largest finite f32.
const F32_MAX: f32 = 3.40282347e38;

// Preprocess: one thread per splat of one entity. Culls, projects the covariance,
// evaluates SH colour and writes the projected splat (at its slot). Each visible
// splat takes the next entry of the sort's arrays (the draw arguments' instance
// count) for its depth key and slot; only those entries are sorted and drawn.

@group(0) @binding(0) var<uniform> view: SplatView;
@group(0) @binding(1) var<uniform> entity: SplatEntity;
// Every entity's crop volumes (`entity.crop` selects this entity's).
@group(0) @binding(2) var<storage, read> crops: array<CropVolume>;

// Mirrored by `CropVolumeGpu`.
struct CropVolume {
    // Entity local frame -> unit cube (box) or unit ball (sphere).
    volume_from_local: mat4x4<f32>,
    // x: shape, y: mode.
    shape_mode: vec4<u32>,
}

// The crop rule of `crop_keeps` (src/splat/crop.rs): inside at least one
// keep volume (when there are any) and inside no remove volume.
fn crop_keeps(p: vec3<f32>) -> bool {
    var any_keep = false;
    var kept = false;
    for (var v = 0u; v < entity.crop.y; v++) {
        let volume = crops[entity.crop.x + v];
        let q = (volume.volume_from_local * vec4<f32>(p, 1.0)).xyz;
        var inside: bool;
        if (volume.shape_mode.x == CROP_SHAPE_CUBOID) {
            inside = all(abs(q) <= vec3<f32>(1.0));
        } else {
            inside = dot(q, q) <= 1.0;
        }
        if (volume.shape_mode.y == CROP_MODE_KEEP_INSIDE) {
            any_keep = true;
            kept = kept || inside;
        } else if (inside) {
            return false;
        }
    }
    return kept || !any_keep;
}

// The packed asset (`src/render/splat/packing.rs`): per splat, the centre
// (11-10-11 unorm in the chunk's bounds), the rotation (smallest three,
// 2-10-10-10), ln(scale) (11-10-11 in the chunk's range) and SH DC + opacity
// (8-8-8-8).
@group(1) @binding(0) var<storage, read> packed: array<vec4<u32>>;
// SH rest coefficients as bytes in the chunk's range, `entity.sh_rest_bytes`
// per splat back to back, coefficient-major RGB.
@group(1) @binding(1) var<storage, read> sh_rest: array<u32>;
// Temporal attributes (layout per `entity.motion_kind`: `src/splat/motion/gpu.rs`).
@group(1) @binding(2) var<storage, read> motion: array<vec4<f32>>;
// Quantisation ranges, one entry per CHUNK_SIZE splats (`SplatChunkGpu`).
@group(1) @binding(3) var<storage, read> chunks: array<SplatChunk>;

// Mirrored by `SplatChunkGpu`.
struct SplatChunk {
    // xyz: lowest centre; w: lowest SH rest coefficient.
    position_min: vec4<f32>,
    // xyz: highest centre; w: highest SH rest coefficient.
    position_max: vec4<f32>,
    log_scale_min: vec4<f32>,
    log_scale_max: vec4<f32>,
    dc_min: vec4<f32>,
    dc_max: vec4<f32>,
}

struct DrawArgs {
    vertex_count: u32,
    instance_count: atomic<u32>,
    first_vertex: u32,
    first_instance: u32,
}

@group(2) @binding(0) var<storage, read_write> projected: array<ProjectedSplat>;
@group(2) @binding(1) var<storage, read_write> keys: array<u32>;
@group(2) @binding(2) var<storage, read_write> values: array<u32>;
@group(2) @binding(3) var<storage, read_write> draw_args: DrawArgs;

// The entity's edit flags, one byte per packed splat, four per word; read
// only when `entity.crop.z` is 1 (otherwise a one-word placeholder).
@group(3) @binding(0) var<storage, read> edit_flags: array<u32>;

fn unpack_11_10_11(w: u32, lo: vec3<f32>, hi: vec3<f32>) -> vec3<f32> {
    let t = vec3<f32>(f32(w & 2047u) / 2047.0, f32((w >> 11u) & 1023u) / 1023.0, f32(w >> 21u) / 2047.0);
    return lo + t * (hi - lo);
}

const SQRT_HALF: f32 = 0.70710678;

fn unpack_rotation(w: u32) -> vec4<f32> {
    let largest = w >> 30u;
    var q = vec4<f32>(0.0);
    var shift = 20u;
    var sum = 0.0;
    for (var i = 0u; i < 4u; i++) {
        if (i != largest) {
            let v = f32((w >> shift) & 1023u) / 1023.0 * (2.0 * SQRT_HALF) - SQRT_HALF;
            q[i] = v;
            sum += v * v;
            shift -= 10u;
        }
    }
    q[largest] = sqrt(max(1.0 - sum, 0.0));
    return q;
}

fn unorm8(w: u32, at: u32) -> f32 {
    return f32((w >> at) & 255u) / 255.0;
}

// SH coefficient `c` (RGB) of packed splat `i`.
fn sh_coefficient(i: u32, c: u32, chunk: SplatChunk, w3: u32) -> vec3<f32> {
    if (c == 0u) {
        let t = vec3<f32>(unorm8(w3, 0u), unorm8(w3, 8u), unorm8(w3, 16u));
        return chunk.dc_min.xyz + t * (chunk.dc_max.xyz - chunk.dc_min.xyz);
    }
    let base = i * entity.sh_rest_bytes + (c - 1u) * 3u;
    var rgb = vec3<f32>(0.0);
    for (var k = 0u; k < 3u; k++) {
        let at = base + k;
        rgb[k] = unorm8(sh_rest[at / 4u], 8u * (at % 4u));
    }
    return chunk.position_min.w + rgb * (chunk.position_max.w - chunk.position_min.w);
}

// A splat at the entity's time: centre, local covariance (scale factor
// applied) and opacity. Mirrors `GaussianSplats::evaluate` (src/splat/motion/evaluate.rs).
struct SplatState {
    position: vec3<f32>,
    covariance: mat3x3<f32>,
    opacity: f32,
}

fn rotation_scale_covariance(rotation: vec4<f32>, scale: vec3<f32>) -> mat3x3<f32> {
    let s = mat3x3<f32>(vec3<f32>(scale.x, 0.0, 0.0), vec3<f32>(0.0, scale.y, 0.0), vec3<f32>(0.0, 0.0, scale.z));
    let a = quat_to_mat3(rotation) * s;
    return a * transpose(a);
}

fn splat_at_time(i: u32, chunk: SplatChunk, w: vec4<u32>) -> SplatState {
    let position = unpack_11_10_11(w.x, chunk.position_min.xyz, chunk.position_max.xyz);
    var rotation = unpack_rotation(w.y);
    let scale = exp(unpack_11_10_11(w.z, chunk.log_scale_min.xyz, chunk.log_scale_max.xyz)) * entity.scale_factor;
    var state = SplatState(position, mat3x3<f32>(), unorm8(w.w, 24u));
    if (entity.motion_kind == MOTION_KIND_SPACETIME) {
        // Spacetime Gaussians: (m1, trbf_center), (m2, trbf_scale), (m3, 0), omega.
        let w0 = motion[i * SPACETIME_STRIDE];
        let w1 = motion[i * SPACETIME_STRIDE + 1u];
        let w2 = motion[i * SPACETIME_STRIDE + 2u];
        let omega = motion[i * SPACETIME_STRIDE + 3u];
        let d = entity.model_time - w0.w;
        state.position += d * (w0.xyz + d * (w1.xyz + d * w2.xyz));
        let q = rotation + d * omega;
        let len = length(q);
        rotation = select(vec4<f32>(0.0, 0.0, 0.0, 1.0), q / len, len > 0.0);
        let r = d / w1.w;
        state.opacity *= exp(-r * r);
    } else if (entity.motion_kind == MOTION_KIND_SLICED_4D) {
        // 4D Gaussian sliced at t: (Sxx, Sxy, Sxz, Syy), (Syz, Szz, Sxt, Syt), (Szt, Stt, mu_t, 0).
        let w0 = motion[i * SLICED_4D_STRIDE];
        let w1 = motion[i * SLICED_4D_STRIDE + 1u];
        let w2 = motion[i * SLICED_4D_STRIDE + 2u];
        let s_tt = w2.y;
        let s_xt = vec3<f32>(w1.z, w1.w, w2.x);
        let cov = mat3x3<f32>(
            vec3<f32>(w0.x, w0.y, w0.z),
            vec3<f32>(w0.y, w0.w, w1.x),
            vec3<f32>(w0.z, w1.x, w1.y),
        );
        let f2 = entity.scale_factor * entity.scale_factor;
        if (!(s_tt > 0.0)) {
            state.opacity = 0.0;
            state.covariance = cov * f2;
            return state;
        }
        let d = entity.model_time - w2.z;
        let k = s_xt / s_tt;
        state.position += k * d;
        state.opacity *= exp(-0.5 * d * d / s_tt);
        let conditional = cov - mat3x3<f32>(s_xt * k.x, s_xt * k.y, s_xt * k.z);
        state.covariance = conditional * f2;
        return state;
    }
    state.covariance = rotation_scale_covariance(rotation, scale);
    return state;
}

@compute @workgroup_size(#{PREPROCESS_WORKGROUP_SIZE})
fn preprocess(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * (MAX_DISPATCH_X * WORKGROUP_SIZE);
    if (i >= entity.count) {
        return;
    }
    let slot = entity.offset + i;
    var flags = 0u;
    if (entity.crop.z != 0u) {
        flags = (edit_flags[i / 4u] >> (8u * (i % 4u))) & 255u;
        if ((flags & EDIT_CULLED) != 0u) {
            return;
        }
    }

    let chunk = chunks[i / CHUNK_SIZE];
    let w = packed[i];
    let state = splat_at_time(i, chunk, w);
    // Motion that overflows f32 at this time hides the splat (as
    // `GaussianSplats::evaluate`); NaN fails every comparison.
    let c = state.covariance;
    let largest = max(max(abs(state.position), abs(c[0])), max(abs(c[1]), abs(c[2])));
    if (!(all(largest <= vec3<f32>(F32_MAX)) && abs(state.opacity) <= F32_MAX)) {
        return;
    }
    let position = state.position;
    if (!crop_keeps(position)) {
        return;
    }

    let p_view = (view.view_from_world * (entity.world_from_local * vec4<f32>(position, 1.0))).xyz;
    let clip = view.clip_from_view * vec4<f32>(p_view, 1.0);
    let depth = -p_view.z;
    if (depth <= 0.0 || clip.w <= 0.0) {
        return;
    }
    let ndc_depth = clip.z / clip.w;
    if (ndc_depth < 0.0 || ndc_depth > 1.0) {
        return;
    }

    let t = mat4_to_mat3(view.view_from_world) * mat4_to_mat3(entity.world_from_local);
    let cov_view = t * state.covariance * transpose(t);
    let cov2d = project_covariance(view, p_view, cov_view);

    let det = cov2d.x * cov2d.z - cov2d.y * cov2d.y;
    if (!(det > 0.0)) {
        return;
    }
    // The footprint (alpha ≥ MIN_ALPHA), as in `project_splat`.
    let opacity = clamp(state.opacity * entity.opacity_scale, 0.0, 1.0);
    let sigmas = footprint_sigmas(opacity);
    if (!(sigmas > 0.0)) {
        return;
    }
    let extent = sqrt(cov2d.xz) * sigmas;
    let k = view.intrinsics;
    let mean = vec2<f32>(k.x * p_view.x / depth + k.z, k.y * -p_view.y / depth + k.w);
    let size = view.viewport.zw;
    if (mean.x + extent.x <= 0.0 || mean.x - extent.x >= size.x
        || mean.y + extent.y <= 0.0 || mean.y - extent.y >= size.y) {
        return;
    }

    var sh: array<vec3<f32>, 16>;
    let coefficients = (entity.sh_degree + 1u) * (entity.sh_degree + 1u);
    for (var c = 0u; c < coefficients; c++) {
        sh[c] = sh_coefficient(i, c, chunk, w.w);
    }
    let dir = normalize(position - entity.camera_local.xyz);
    var color = sh_color(sh, entity.sh_degree, dir);
    if ((flags & EDIT_SELECTED) != 0u) {
        let tint = vec3<f32>(SELECTION_TINT_R, SELECTION_TINT_G, SELECTION_TINT_B);
        color = color + (tint - color) * SELECTION_MIX;
    }
    projected[slot] = ProjectedSplat(
        vec4<f32>(mean, ndc_depth, sigmas),
        footprint_axes(cov2d, det),
        vec4<f32>(color, opacity),
    );
    let entry = atomicAdd(&draw_args.instance_count, 1u);
    keys[entry] = bitcast<u32>(depth) ^ 0xffffffffu;
    values[entry] = slot;
}
