#import bevy_radiance::splat_common

// Preprocess: one thread per splat of one entity. Culls, projects the covariance,
// evaluates SH colour and writes the projected splat, its depth key and its index.
// Culled splats get key 0xffffffff, which sorts after every visible splat.

@group(0) @binding(0) var<uniform> view: SplatView;
@group(0) @binding(1) var<uniform> entity: SplatEntity;

// Three vec4 per splat: (position, opacity), rotation (x, y, z, w), (scale, 0).
@group(1) @binding(0) var<storage, read> geometry: array<vec4<f32>>;
// SH coefficients as packed f16, `entity.sh_stride` words per splat, coefficient-major RGB.
@group(1) @binding(1) var<storage, read> sh_words: array<u32>;

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

fn sh_half(splat: u32, h: u32) -> f32 {
    let word = sh_words[splat * entity.sh_stride + h / 2u];
    let pair = unpack2x16float(word);
    return select(pair.x, pair.y, (h & 1u) == 1u);
}

@compute @workgroup_size(256)
fn preprocess(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * 16776960u; // 65535 * 256
    if (i >= entity.count) {
        return;
    }
    let slot = entity.offset + i;
    keys[slot] = 0xffffffffu;
    values[slot] = slot;

    let g0 = geometry[i * 3u];
    let rotation = geometry[i * 3u + 1u];
    let scale = geometry[i * 3u + 2u].xyz * entity.scale_factor;
    let position = g0.xyz;

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
    let s = mat3x3<f32>(vec3<f32>(scale.x, 0.0, 0.0), vec3<f32>(0.0, scale.y, 0.0), vec3<f32>(0.0, 0.0, scale.z));
    let a = t * quat_to_mat3(rotation) * s;
    let cov_view = a * transpose(a);
    let cov2d = project_covariance(view, p_view, cov_view);

    let det = cov2d.x * cov2d.z - cov2d.y * cov2d.y;
    if (!(det > 0.0)) {
        return;
    }
    let inv_det = 1.0 / det;
    let conic = vec3<f32>(cov2d.z * inv_det, -cov2d.y * inv_det, cov2d.x * inv_det);
    let mid = 0.5 * (cov2d.x + cov2d.z);
    let disc = sqrt(max(mid * mid - det, 0.1));
    let lambda = max(mid + disc, mid - disc);
    let radius = ceil(3.0 * sqrt(lambda));
    let k = view.intrinsics;
    let mean = vec2<f32>(k.x * p_view.x / depth + k.z, k.y * -p_view.y / depth + k.w);
    let size = view.viewport.zw;
    if (radius <= 0.0 || mean.x + radius <= 0.0 || mean.x - radius >= size.x
        || mean.y + radius <= 0.0 || mean.y - radius >= size.y) {
        return;
    }

    var sh: array<vec3<f32>, 16>;
    let coefficients = (entity.sh_degree + 1u) * (entity.sh_degree + 1u);
    for (var c = 0u; c < coefficients; c++) {
        sh[c] = vec3<f32>(sh_half(i, c * 3u), sh_half(i, c * 3u + 1u), sh_half(i, c * 3u + 2u));
    }
    let dir = normalize(position - entity.camera_local.xyz);
    let color = sh_color(sh, entity.sh_degree, dir);
    let opacity = clamp(g0.w * entity.opacity_scale, 0.0, 1.0);

    projected[slot] = ProjectedSplat(
        vec4<f32>(mean, ndc_depth, radius),
        vec4<f32>(conic, opacity),
        vec4<f32>(color, 0.0),
    );
    keys[slot] = bitcast<u32>(depth) ^ 0xffffffffu;
    atomicAdd(&draw_args.instance_count, 1u);
}
