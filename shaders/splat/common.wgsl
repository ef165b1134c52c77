#define_import_path bevy_radiance::splat::common

// Shared splat maths and GPU structs. The maths mirrors
// `src/splat/projection.rs` line for line; the structs mirror
// `src/render/splat/gpu_types.rs` (the contract test compares constants and
// layouts with the Rust side).

const SH_C0: f32 = 0.2820948;
const SH_C1: f32 = 0.48860252;
const COVARIANCE_BLUR: f32 = 0.3;
const FRUSTUM_CLAMP_MARGIN: f32 = 0.3;
const MAX_ALPHA: f32 = 0.99;
const MIN_ALPHA: f32 = 0.003921569; // 1 / 255

// Per-view data, mirrored by `SplatViewUniform`.
struct SplatView {
    view_from_world: mat4x4<f32>,
    clip_from_view: mat4x4<f32>,
    // xyz: camera position in world space.
    camera_position: vec4<f32>,
    // Viewport origin (x, y) and size (z, w) in physical pixels.
    viewport: vec4<f32>,
    // fx, fy, cx, cy in pixels relative to the viewport's top-left corner.
    intrinsics: vec4<f32>,
}

// Per-(view, entity) data, mirrored by `SplatEntityUniform`.
struct SplatEntity {
    world_from_local: mat4x4<f32>,
    // xyz: camera position in the entity's local frame.
    camera_local: vec4<f32>,
    // First slot of this entity's splats in the view's arrays.
    offset: u32,
    // Number of splats.
    count: u32,
    // SH degree evaluated (entity cap and asset degree combined).
    sh_degree: u32,
    // Bytes of quantised SH rest coefficients per splat.
    sh_rest_bytes: u32,
    opacity_scale: f32,
    scale_factor: f32,
    // Temporal attributes: MOTION_KIND_STATIC, _SPACETIME or _SLICED_4D.
    motion_kind: u32,
    // The entity's time in the asset's model units.
    model_time: f32,
    // Crop volumes: x first (in the view's crop array), y count.
    crop: vec4<u32>,
}

// A splat projected into a view, mirrored by `ProjectedSplatGpu`.
struct ProjectedSplat {
    // Centre in pixels (viewport-relative), NDC depth, footprint half-size in σ.
    mean_depth_sigmas: vec4<f32>,
    // Footprint axes in pixels per σ: major (x, y), minor (z, w).
    axes: vec4<f32>,
    // View-dependent colour and opacity.
    color_opacity: vec4<f32>,
}

fn quat_to_mat3(q: vec4<f32>) -> mat3x3<f32> {
    let x = q.x; let y = q.y; let z = q.z; let w = q.w;
    let x2 = x + x; let y2 = y + y; let z2 = z + z;
    let xx = x * x2; let xy = x * y2; let xz = x * z2;
    let yy = y * y2; let yz = y * z2; let zz = z * z2;
    let wx = w * x2; let wy = w * y2; let wz = w * z2;
    return mat3x3<f32>(
        vec3<f32>(1.0 - (yy + zz), xy + wz, xz - wy),
        vec3<f32>(xy - wz, 1.0 - (xx + zz), yz + wx),
        vec3<f32>(xz + wy, yz - wx, 1.0 - (xx + yy)),
    );
}

fn mat4_to_mat3(m: mat4x4<f32>) -> mat3x3<f32> {
    return mat3x3<f32>(m[0].xyz, m[1].xyz, m[2].xyz);
}

// Projects a view-space covariance to the 2D pixel covariance with the 3DGS/gsplat
// Jacobian (frustum-clamped centre) and the low-pass blur. Returns (a, b, c).
fn project_covariance(view: SplatView, p_view: vec3<f32>, cov_view: mat3x3<f32>) -> vec3<f32> {
    let flip = mat3x3<f32>(vec3<f32>(1.0, 0.0, 0.0), vec3<f32>(0.0, -1.0, 0.0), vec3<f32>(0.0, 0.0, -1.0));
    let cov = flip * cov_view * flip;
    let fx = view.intrinsics.x; let fy = view.intrinsics.y;
    let cx = view.intrinsics.z; let cy = view.intrinsics.w;
    let size = view.viewport.zw;
    let tx = p_view.x; let ty = -p_view.y; let tz = -p_view.z;
    let tan_fovx = 0.5 * size.x / fx;
    let tan_fovy = 0.5 * size.y / fy;
    let lim_x_pos = (size.x - cx) / fx + FRUSTUM_CLAMP_MARGIN * tan_fovx;
    let lim_x_neg = cx / fx + FRUSTUM_CLAMP_MARGIN * tan_fovx;
    let lim_y_pos = (size.y - cy) / fy + FRUSTUM_CLAMP_MARGIN * tan_fovy;
    let lim_y_neg = cy / fy + FRUSTUM_CLAMP_MARGIN * tan_fovy;
    let txc = tz * clamp(tx / tz, -lim_x_neg, lim_x_pos);
    let tyc = tz * clamp(ty / tz, -lim_y_neg, lim_y_pos);
    let j0 = vec3<f32>(fx / tz, 0.0, -fx * txc / (tz * tz));
    let j1 = vec3<f32>(0.0, fy / tz, -fy * tyc / (tz * tz));
    let s0 = cov * j0;
    let s1 = cov * j1;
    return vec3<f32>(dot(j0, s0) + COVARIANCE_BLUR, dot(j0, s1), dot(j1, s1) + COVARIANCE_BLUR);
}

// View-dependent colour from SH coefficients (3DGS basis), max(0, 0.5 + SH).
fn sh_color(sh: array<vec3<f32>, 16>, degree: u32, dir: vec3<f32>) -> vec3<f32> {
    var result = SH_C0 * sh[0];
    if (degree >= 1u) {
        let x = dir.x; let y = dir.y; let z = dir.z;
        result += -SH_C1 * y * sh[1] + SH_C1 * z * sh[2] - SH_C1 * x * sh[3];
        if (degree >= 2u) {
            let xx = x * x; let yy = y * y; let zz = z * z;
            let xy = x * y; let yz = y * z; let xz = x * z;
            result += 1.0925484 * xy * sh[4]
                + -1.0925484 * yz * sh[5]
                + 0.31539157 * (2.0 * zz - xx - yy) * sh[6]
                + -1.0925484 * xz * sh[7]
                + 0.5462742 * (xx - yy) * sh[8];
            if (degree >= 3u) {
                result += -0.5900436 * y * (3.0 * xx - yy) * sh[9]
                    + 2.8906114 * xy * z * sh[10]
                    + -0.4570458 * y * (4.0 * zz - xx - yy) * sh[11]
                    + 0.37317633 * z * (2.0 * zz - 3.0 * xx - 3.0 * yy) * sh[12]
                    + -0.4570458 * x * (4.0 * zz - xx - yy) * sh[13]
                    + 1.4453057 * z * (xx - yy) * sh[14]
                    + -0.5900436 * x * (xx - 3.0 * yy) * sh[15];
            }
        }
    }
    return max(result + vec3<f32>(0.5), vec3<f32>(0.0));
}

// Half-size in σ of a splat's footprint, where alpha = opacity · exp(−½ r²)
// reaches MIN_ALPHA; not positive when the splat draws nothing.
fn footprint_sigmas(opacity: f32) -> f32 {
    let r2 = 2.0 * log(opacity / MIN_ALPHA);
    return select(0.0, sqrt(r2), r2 > 0.0);
}

// Axes of a 2D covariance (a, b, c) with determinant det > 0: unit
// eigenvectors scaled by the square roots of their eigenvalues, major first
// (xy), minor (zw).
fn footprint_axes(cov: vec3<f32>, det: f32) -> vec4<f32> {
    let a = cov.x; let b = cov.y; let c = cov.z;
    let mid = 0.5 * (a + c);
    let disc = sqrt(0.25 * (a - c) * (a - c) + b * b);
    let major = mid + disc;
    let minor = det / major;
    var v = select(vec2<f32>(b, major - a), vec2<f32>(major - c, b), a >= c);
    let len = length(v);
    v = select(vec2<f32>(1.0, 0.0), v / len, len > 0.0);
    return vec4<f32>(v * sqrt(major), vec2<f32>(-v.y, v.x) * sqrt(minor));
}

// Alpha at a point `uv` σ from a splat's centre (in its footprint axes);
// negative where it contributes nothing.
fn splat_alpha(opacity: f32, uv: vec2<f32>) -> f32 {
    let alpha = min(MAX_ALPHA, opacity * exp(-0.5 * dot(uv, uv)));
    return select(-1.0, alpha, alpha >= MIN_ALPHA);
}
