//! The per-splat maths shared (line for line) by the CPU reference renderer and
//! `shaders/splat/common.wgsl`: camera intrinsics from a projection matrix,
//! covariance projection with the 3DGS/gsplat Jacobian, SH colour.

use bevy::math::{Mat3, Mat4, Vec2, Vec3, Vec4Swizzles};

use crate::camera::CameraView;

/// Real SH constants, as in 3DGS.
pub const SH_C1: f32 = 0.488_602_52;
/// Degree-2 SH constants.
pub const SH_C2: [f32; 5] = [1.092_548_4, -1.092_548_4, 0.315_391_57, -1.092_548_4, 0.546_274_2];
/// Degree-3 SH constants.
pub const SH_C3: [f32; 7] = [
    -0.590_043_6,
    2.890_611_4,
    -0.457_045_8,
    0.373_176_33,
    -0.457_045_8,
    1.445_305_7,
    -0.590_043_6,
];

/// Low-pass filter added to the diagonal of every 2D covariance (pixels²).
pub const COVARIANCE_BLUR: f32 = 0.3;
/// Fraction of the field of view beyond the image edge at which splat centres are
/// clamped when building the Jacobian (3DGS's 1.3× frustum clamp).
pub const FRUSTUM_CLAMP_MARGIN: f32 = 0.3;
/// Splat alpha ceiling.
pub const MAX_ALPHA: f32 = 0.99;
/// Fragments with less alpha than this are discarded.
pub const MIN_ALPHA: f32 = 1.0 / 255.0;
/// Front-to-back compositing stops before transmittance would fall below this.
pub const MIN_TRANSMITTANCE: f32 = 1e-4;

/// Per-entity render settings, as the GPU sees them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SplatParams {
    /// Highest SH degree evaluated.
    pub sh_degree: u8,
    /// Multiplies every opacity (result clamped to 1).
    pub opacity_scale: f32,
    /// Multiplies every splat's scale.
    pub scale_factor: f32,
}

impl Default for SplatParams {
    fn default() -> Self {
        Self {
            sh_degree: 3,
            opacity_scale: 1.0,
            scale_factor: 1.0,
        }
    }
}

/// A splat projected into a view.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProjectedSplat {
    /// Centre in pixels, relative to the viewport's top-left corner.
    pub mean: Vec2,
    /// Inverse 2D covariance `(a, b, c)` of `[[a, b], [b, c]]`.
    pub conic: Vec3,
    /// Half-size in pixels of the axis-aligned box around the splat's
    /// footprint: the ellipse where its alpha reaches [`MIN_ALPHA`].
    pub extent: Vec2,
    /// The footprint's axes in pixels per σ: the 2D covariance's eigenvectors
    /// scaled by the square roots of their eigenvalues (major axis first).
    pub axes: [Vec2; 2],
    /// The footprint's half-size in σ along both axes ([`footprint_sigmas`]).
    pub sigmas: f32,
    /// View-space distance along the viewing direction (the sort key).
    pub depth: f32,
    /// Normalised device depth of the centre (reverse Z), used against mesh depth.
    pub ndc_depth: f32,
    /// View-dependent colour, `max(0, 0.5 + SH)`.
    pub color: Vec3,
    /// Opacity after the entity's opacity scale.
    pub opacity: f32,
}

/// Evaluates view-dependent colour from SH coefficients (3DGS basis and constants)
/// for a unit direction from the camera to the splat, in the splat's frame.
pub fn sh_color(sh: &[[f32; 3]], degree: u8, dir: Vec3) -> Vec3 {
    let c = |k: usize| Vec3::from_array(sh[k]);
    let mut result = 0.282_094_8 * c(0);
    if degree >= 1 && sh.len() >= 4 {
        let (x, y, z) = (dir.x, dir.y, dir.z);
        result += -SH_C1 * y * c(1) + SH_C1 * z * c(2) - SH_C1 * x * c(3);
        if degree >= 2 && sh.len() >= 9 {
            let (xx, yy, zz) = (x * x, y * y, z * z);
            let (xy, yz, xz) = (x * y, y * z, x * z);
            result += SH_C2[0] * xy * c(4)
                + SH_C2[1] * yz * c(5)
                + SH_C2[2] * (2.0 * zz - xx - yy) * c(6)
                + SH_C2[3] * xz * c(7)
                + SH_C2[4] * (xx - yy) * c(8);
            if degree >= 3 && sh.len() >= 16 {
                result += SH_C3[0] * y * (3.0 * xx - yy) * c(9)
                    + SH_C3[1] * xy * z * c(10)
                    + SH_C3[2] * y * (4.0 * zz - xx - yy) * c(11)
                    + SH_C3[3] * z * (2.0 * zz - 3.0 * xx - 3.0 * yy) * c(12)
                    + SH_C3[4] * x * (4.0 * zz - xx - yy) * c(13)
                    + SH_C3[5] * z * (xx - yy) * c(14)
                    + SH_C3[6] * x * (xx - 3.0 * yy) * c(15);
            }
        }
    }
    (result + Vec3::splat(0.5)).max(Vec3::ZERO)
}

/// Projects one splat; `None` when it is culled (behind the near plane, outside
/// the depth range, degenerate, or entirely off-screen).
///
/// `camera_local` is the camera position in the splat entity's local frame;
/// `covariance` is the splat's 3D covariance in that frame (`R·S·Sᵀ·Rᵀ` for a
/// static splat, see [`GaussianSplats::evaluate`](super::asset::GaussianSplats::evaluate));
/// it is multiplied by `params.scale_factor²` (the factor scales the splat's axes).
#[expect(clippy::too_many_arguments, reason = "mirrors the shader's inputs one to one")]
pub fn project_splat(
    view: &CameraView,
    world_from_local: &Mat4,
    camera_local: Vec3,
    position: Vec3,
    covariance: Mat3,
    opacity: f32,
    sh: &[[f32; 3]],
    params: &SplatParams,
) -> Option<ProjectedSplat> {
    let p_view = (view.view_from_world * world_from_local.mul_vec4(position.extend(1.0))).xyz();
    let clip = view.clip_from_view * p_view.extend(1.0);
    let depth = -p_view.z;
    if depth <= 0.0 || clip.w <= 0.0 {
        return None;
    }
    let ndc_depth = clip.z / clip.w;
    if !(0.0..=1.0).contains(&ndc_depth) {
        return None;
    }
    let k = view.intrinsics();

    // View-space covariance T Σ Tᵀ · f² with T = (view · model)₃ₓ₃, f the scale factor.
    let t = Mat3::from_mat4(view.view_from_world) * Mat3::from_mat4(*world_from_local);
    let cov_view = t * (covariance * (params.scale_factor * params.scale_factor)) * t.transpose();
    // To the OpenCV camera frame (x right, y down, z forward): C Σ C, C = diag(1, −1, −1).
    let flip = Mat3::from_diagonal(Vec3::new(1.0, -1.0, -1.0));
    let cov = flip * cov_view * flip;
    let (tx, ty, tz) = (p_view.x, -p_view.y, depth);

    // Jacobian of the perspective projection at the (frustum-clamped) centre.
    let tan_fovx = 0.5 * view.size.x / k.fx;
    let tan_fovy = 0.5 * view.size.y / k.fy;
    let lim_x_pos = (view.size.x - k.cx) / k.fx + FRUSTUM_CLAMP_MARGIN * tan_fovx;
    let lim_x_neg = k.cx / k.fx + FRUSTUM_CLAMP_MARGIN * tan_fovx;
    let lim_y_pos = (view.size.y - k.cy) / k.fy + FRUSTUM_CLAMP_MARGIN * tan_fovy;
    let lim_y_neg = k.cy / k.fy + FRUSTUM_CLAMP_MARGIN * tan_fovy;
    let txc = tz * (tx / tz).clamp(-lim_x_neg, lim_x_pos);
    let tyc = tz * (ty / tz).clamp(-lim_y_neg, lim_y_pos);
    // J is 2×3; compute J Σ Jᵀ directly with its rows j0 = (fx/z, 0, −fx·x/z²), j1 = (0, fy/z, −fy·y/z²).
    let j0 = Vec3::new(k.fx / tz, 0.0, -k.fx * txc / (tz * tz));
    let j1 = Vec3::new(0.0, k.fy / tz, -k.fy * tyc / (tz * tz));
    let s0 = cov * j0;
    let s1 = cov * j1;
    let cov_a = j0.dot(s0) + COVARIANCE_BLUR;
    let cov_b = j0.dot(s1);
    let cov_c = j1.dot(s1) + COVARIANCE_BLUR;

    let det = cov_a * cov_c - cov_b * cov_b;
    if det <= 0.0 || !det.is_finite() {
        return None;
    }
    let inv_det = 1.0 / det;
    let conic = Vec3::new(cov_c * inv_det, -cov_b * inv_det, cov_a * inv_det);
    // The footprint: where alpha = opacity · exp(−½ dᵀΣ⁻¹d) ≥ MIN_ALPHA, an
    // ellipse of `sigmas` σ. A splat below MIN_ALPHA opacity has none (most
    // splats of a 4D clip at any time).
    let opacity = (opacity * params.opacity_scale).clamp(0.0, 1.0);
    let sigmas = footprint_sigmas(opacity);
    if sigmas <= 0.0 {
        return None;
    }
    let extent = Vec2::new(cov_a.sqrt(), cov_c.sqrt()) * sigmas;
    let mean = Vec2::new(k.fx * tx / tz + k.cx, k.fy * ty / tz + k.cy);
    if mean.x + extent.x <= 0.0
        || mean.x - extent.x >= view.size.x
        || mean.y + extent.y <= 0.0
        || mean.y - extent.y >= view.size.y
    {
        return None;
    }
    let axes = footprint_axes(Vec3::new(cov_a, cov_b, cov_c), det);
    let dir = (position - camera_local).normalize_or_zero();
    let degree = params.sh_degree.min(sh_degree_of(sh.len()));
    let color = sh_color(sh, degree, dir);
    Some(ProjectedSplat {
        mean,
        conic,
        extent,
        axes,
        sigmas,
        depth,
        ndc_depth,
        color,
        opacity,
    })
}

/// Half-size in σ of a splat's footprint: alpha = `opacity · exp(−½ r²)`
/// reaches [`MIN_ALPHA`] at `r = √(2 ln(opacity / MIN_ALPHA))` (3.33 σ at
/// opacity 1, less for fainter splats). Not positive when the opacity is
/// below [`MIN_ALPHA`] (or NaN): such a splat draws nothing.
pub fn footprint_sigmas(opacity: f32) -> f32 {
    let r2 = 2.0 * (opacity / MIN_ALPHA).ln();
    if r2 > 0.0 { r2.sqrt() } else { 0.0 }
}

/// The axes of a 2D covariance `(a, b, c)` (determinant `det > 0`): its unit
/// eigenvectors scaled by the square roots of their eigenvalues, major first.
/// The minor eigenvalue is `det / λ₁` (no cancellation for long, thin splats).
pub fn footprint_axes(cov: Vec3, det: f32) -> [Vec2; 2] {
    let (a, b, c) = (cov.x, cov.y, cov.z);
    let mid = 0.5 * (a + c);
    let disc = (0.25 * (a - c) * (a - c) + b * b).sqrt();
    let major = mid + disc;
    let minor = det / major;
    // The eigenvector of `major` from whichever row of (Σ − λI) is better conditioned.
    let v = if a >= c { Vec2::new(major - c, b) } else { Vec2::new(b, major - a) };
    let len = v.length();
    let v = if len > 0.0 { v / len } else { Vec2::X };
    [v * major.sqrt(), Vec2::new(-v.y, v.x) * minor.sqrt()]
}

/// SH degree implied by a per-splat coefficient count (1, 4, 9, 16).
fn sh_degree_of(coefficients: usize) -> u8 {
    match coefficients {
        0..=3 => 0,
        4..=8 => 1,
        9..=15 => 2,
        _ => 3,
    }
}

/// Alpha of a projected splat at a pixel centre, or `None` where the splat
/// contributes nothing (positive exponent, below 1/255: outside its footprint).
pub fn splat_alpha(s: &ProjectedSplat, pixel_center: Vec2) -> Option<f32> {
    let d = s.mean - pixel_center;
    let power = -0.5 * (s.conic.x * d.x * d.x + s.conic.z * d.y * d.y) - s.conic.y * d.x * d.y;
    if power > 0.0 {
        return None;
    }
    let alpha = (s.opacity * power.exp()).min(MAX_ALPHA);
    (alpha >= MIN_ALPHA).then_some(alpha)
}

/// Sort key of a splat: ascending keys draw back to front (farthest first).
/// Culled splats get `u32::MAX` and sort last.
pub fn depth_sort_key(depth: f32) -> u32 {
    depth.to_bits() ^ u32::MAX
}
