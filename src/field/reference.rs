//! The CPU reference ray marcher: instant-ngp's NeRF inference written plainly,
//! one ray at a time, used by the tests to check the GPU renderer.
//!
//! Per ray, in unit-cube coordinates (`o`, unit direction `d`, `t` = distance
//! along `d`, `M = render_aabb_to_local`, `c = cone_angle`):
//!
//! ```text
//! (t_in, _) = ray_box_intersect(render_aabb, M·o, M·d)     # no hit → empty
//! t = max(t_in, 0) + 1e-6
//! if !render_aabb.contains(M·(o + t·d)): empty
//! t = advance_n_steps(t, c, 0.5)                           # SAMPLE_OFFSET_STEPS
//! loop:
//!     t = skip_empty_space(t)                              # None → stop
//!     if samples == max_samples: stop
//!     x = o + t·d;  dt = calc_dt(t, c)
//!     sigma = density(x)
//!     t += dt
//!     alpha  = 1 − exp(−sigma·dt)
//!     weight = alpha · (1 − acc_alpha)
//!     rgb    = weight ≥ COLOR_SKIP_WEIGHT ? color(x, d) : 0    # 1e-4; colour MLP skipped otherwise
//!     acc_rgb += rgb·weight;  acc_alpha += weight;  samples += 1
//!     if acc_alpha > 1 − min_transmittance:
//!         acc_rgb /= acc_alpha;  acc_alpha = 1;  stop      # instant-ngp's normalisation
//! pixel = acc_rgb + (1 − acc_alpha)·background
//!
//! skip_empty_space(t):                                     # if_unoccupied_advance_to_next_occupied_voxel
//!     loop:
//!         x = o + t·d
//!         if t ≥ min(MAX_DEPTH, t_max) or !render_aabb.contains(M·x): return None
//!         k = cascade_for(x)                               # mip_from_pos, ≤ max_cascade
//!         if occupied(x, k): return t
//!         while k < max_cascade and !occupied(x, k + 1): k += 1
//!         t = advance_to_next_voxel(t, c, x, d, k)
//! ```
//!
//! With `aabb_scale = 1` (`c = 0`) the samples lie on the lattice
//! `t_in + 1e-6 + (n + 0.5)·dt`, `dt = √3/1024`. instant-ngp uses a random
//! offset per pixel and frame instead of 0.5 steps.

use bevy::math::{Mat4, UVec2, Vec3, Vec4};

use super::asset::{RadianceField, SampleScratch};
use super::occupancy::{MAX_CASCADES, OCCUPANCY_GRID_SIZE};
use super::snapshot::FieldBox;
use crate::camera::CameraView;
use crate::image::ReferenceImage;

/// `√3` as instant-ngp writes it.
pub const SQRT3: f32 = 1.732_050_8;
/// Finest steps per unit length.
pub const MARCH_STEPS: u32 = 1024;
/// The smallest (and, for `aabb_scale = 1`, the only) step: `√3 / 1024`.
pub const MIN_CONE_STEPSIZE: f32 = SQRT3 / MARCH_STEPS as f32;
/// The largest step: one cell of the coarsest possible cascade,
/// `MIN_CONE_STEPSIZE · 2^(MAX_CASCADES−1) · MARCH_STEPS / OCCUPANCY_GRID_SIZE` (= √3).
pub const MAX_CONE_STEPSIZE: f32 =
    MIN_CONE_STEPSIZE * (1u32 << (MAX_CASCADES - 1)) as f32 * MARCH_STEPS as f32 / OCCUPANCY_GRID_SIZE as f32;
/// Rays end at this distance (unit-cube lengths).
pub const MAX_DEPTH: f32 = 16384.0;
/// Added to the box-entry distance before marching.
pub const RAY_START_EPSILON: f32 = 1e-6;
/// Offset of the first sample, in steps (instant-ngp: random in `[0, 1)`).
pub const SAMPLE_OFFSET_STEPS: f32 = 0.5;
/// Samples whose compositing weight `alpha · transmittance` is below this do
/// not evaluate the colour network (their colour counts as 0; their alpha
/// still counts), a GPU saving. The colour error is at most the sum of the
/// skipped weights; on the lego test views it changes PSNR by < 0.002 dB.
pub const COLOR_SKIP_WEIGHT: f32 = 1e-4;
/// Safety cap on empty-space skipping iterations per call.
pub const MAX_SKIP_ITERATIONS: u32 = 1 << 16;

/// Ray-marching settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MarchSettings {
    /// Stop once transmittance falls below this (then normalise the colour).
    pub min_transmittance: f32,
    /// Most network evaluations per ray.
    pub max_samples: u32,
}

impl Default for MarchSettings {
    fn default() -> Self {
        Self {
            min_transmittance: 0.01,
            max_samples: 16384,
        }
    }
}

/// The result of marching one ray.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RayResult {
    /// Final premultiplied colour: the accumulation, divided by its alpha when
    /// the ray terminated (instant-ngp's `colour /= alpha`).
    pub rgb: Vec3,
    /// Final coverage: 1 when terminated, else the accumulated alpha.
    pub alpha: f32,
    /// `Σ weight · rgb` before the termination normalisation.
    pub raw_rgb: Vec3,
    /// `Σ weight` before the termination normalisation.
    pub raw_alpha: f32,
    /// Whether the ray stopped on the transmittance threshold.
    pub terminated: bool,
    /// Network evaluations (density) made.
    pub samples: u32,
}

impl RayResult {
    /// The colour composited over an opaque background: `rgb + (1 − alpha)·background`.
    pub fn over(&self, background: Vec3) -> Vec3 {
        self.rgb + (1.0 - self.alpha) * background
    }
}

/// `t` → stepping space (instant-ngp's exponential stepping): `t / MIN` for
/// `cone_angle ≤ 1e-5`; otherwise linear in `MIN` steps up to the distance
/// where `t · c` reaches `MIN`, logarithmic (`ln t / ln(1 + c)`) until it
/// reaches `MAX`, then linear in `MAX` steps. One unit of stepping space is one
/// step.
pub fn to_stepping_space(t: f32, cone_angle: f32) -> f32 {
    if cone_angle <= 1e-5 {
        return t / MIN_CONE_STEPSIZE;
    }
    let log1p_c = (1.0 + cone_angle).ln();
    let a = (MIN_CONE_STEPSIZE.ln() - log1p_c.ln()) / log1p_c;
    let b = (MAX_CONE_STEPSIZE.ln() - log1p_c.ln()) / log1p_c;
    let at = (a * log1p_c).exp();
    let bt = (b * log1p_c).exp();
    if t <= at {
        (t - at) / MIN_CONE_STEPSIZE + a
    } else if t <= bt {
        t.ln() / log1p_c
    } else {
        (t - bt) / MAX_CONE_STEPSIZE + b
    }
}

/// Stepping space → `t` (inverse of [`to_stepping_space`]).
pub fn from_stepping_space(n: f32, cone_angle: f32) -> f32 {
    if cone_angle <= 1e-5 {
        return n * MIN_CONE_STEPSIZE;
    }
    let log1p_c = (1.0 + cone_angle).ln();
    let a = (MIN_CONE_STEPSIZE.ln() - log1p_c.ln()) / log1p_c;
    let b = (MAX_CONE_STEPSIZE.ln() - log1p_c.ln()) / log1p_c;
    let at = (a * log1p_c).exp();
    let bt = (b * log1p_c).exp();
    if n <= a {
        (n - a) * MIN_CONE_STEPSIZE + at
    } else if n <= b {
        (n * log1p_c).exp()
    } else {
        (n - b) * MAX_CONE_STEPSIZE + bt
    }
}

/// `t` advanced by `n` steps.
pub fn advance_n_steps(t: f32, cone_angle: f32, n: f32) -> f32 {
    from_stepping_space(to_stepping_space(t, cone_angle) + n, cone_angle)
}

/// The step at `t`: `advance_n_steps(t, c, 1) − t` (`MIN_CONE_STEPSIZE` for
/// `c = 0`; about `clamp(t·c, MIN, MAX)` otherwise).
pub fn calc_dt(t: f32, cone_angle: f32) -> f32 {
    advance_n_steps(t, cone_angle, 1.0) - t
}

/// Distance along `dir` from `pos` to the next cell boundary of a grid with
/// `res` cells per unit length whose boundaries lie at `0.5 + k / res`
/// (a cascade of `res = 128 >> k` cells). Axes with `dir = 0` have no boundary.
pub fn distance_to_next_voxel(pos: Vec3, dir: Vec3, res: f32) -> f32 {
    let p = (pos - Vec3::splat(0.5)) * res;
    let mut t = f32::MAX;
    for axis in 0..3 {
        let (pa, da) = (p[axis], dir[axis]);
        if da == 0.0 {
            continue;
        }
        let sign = if da > 0.0 { 1.0 } else { -1.0 };
        let boundary = (pa + 0.5 + 0.5 * sign).floor();
        t = t.min((boundary - pa) * (1.0 / da));
    }
    (t / res).max(0.0)
}

/// `t` advanced past the current cell of `cascade` (whole steps, at least one).
pub fn advance_to_next_voxel(t: f32, cone_angle: f32, pos: Vec3, dir: Vec3, cascade: u32) -> f32 {
    let res = (OCCUPANCY_GRID_SIZE >> cascade) as f32;
    let t_target = t + distance_to_next_voxel(pos, dir, res);
    let n = to_stepping_space(t, cone_angle);
    let n_target = to_stepping_space(t_target, cone_angle);
    from_stepping_space(n + (n_target - n).max(0.5).ceil(), cone_angle)
}

/// Entry and exit distances of a ray through a box (slab test), `None` when it
/// misses. Axes with `dir = 0` constrain nothing if `origin` lies within the slab.
pub fn ray_box_intersect(aabb: &FieldBox, origin: Vec3, dir: Vec3) -> Option<(f32, f32)> {
    let mut t_min = f32::MIN;
    let mut t_max = f32::MAX;
    for axis in 0..3 {
        let (o, d) = (origin[axis], dir[axis]);
        let (lo, hi) = (aabb.min[axis], aabb.max[axis]);
        if d == 0.0 {
            if o < lo || o > hi {
                return None;
            }
            continue;
        }
        let mut t0 = (lo - o) / d;
        let mut t1 = (hi - o) / d;
        if t0 > t1 {
            std::mem::swap(&mut t0, &mut t1);
        }
        t_min = t_min.max(t0);
        t_max = t_max.min(t1);
        if t_min > t_max {
            return None;
        }
    }
    Some((t_min, t_max))
}

/// Whether unit-cube point `x` is inside the field's render box.
pub fn in_render_box(field: &RadianceField, x: Vec3) -> bool {
    field.render_aabb.contains(field.render_aabb_to_local * x)
}

/// instant-ngp's `if_unoccupied_advance_to_next_occupied_voxel`: the first
/// `t' ≥ t` (on the step schedule) in an occupied cell, or `None` once the ray
/// leaves the render box or reaches `t_limit`.
pub fn skip_empty_space(field: &RadianceField, t: f32, origin: Vec3, dir: Vec3, t_limit: f32) -> Option<f32> {
    let max_cascade = field.max_cascade();
    let mut t = t;
    for _ in 0..MAX_SKIP_ITERATIONS {
        let x = origin + dir * t;
        if t >= t_limit.min(MAX_DEPTH) || !in_render_box(field, x) {
            return None;
        }
        let mut cascade = field.cascade_for(x);
        if field.is_occupied(x, cascade) {
            return Some(t);
        }
        // Skip the largest empty cell around x.
        while cascade < max_cascade && !field.is_occupied(x, cascade + 1) {
            cascade += 1;
        }
        t = advance_to_next_voxel(t, field.cone_angle, x, dir, cascade);
    }
    None
}

/// Marches a ray given in unit-cube coordinates (`dir` normalised; `t_max` in
/// unit-cube lengths, `f32::INFINITY` for none). See the module docs.
pub fn march_ray_unit(
    field: &RadianceField,
    origin: Vec3,
    dir: Vec3,
    t_max: f32,
    settings: &MarchSettings,
    scratch: &mut SampleScratch,
) -> RayResult {
    let mut result = RayResult::default();
    let local_origin = field.render_aabb_to_local * origin;
    let local_dir = field.render_aabb_to_local * dir;
    let Some((t_enter, _)) = ray_box_intersect(&field.render_aabb, local_origin, local_dir) else {
        return result;
    };
    let mut t = t_enter.max(0.0) + RAY_START_EPSILON;
    if !in_render_box(field, origin + dir * t) {
        return result;
    }
    let cone = field.cone_angle;
    t = advance_n_steps(t, cone, SAMPLE_OFFSET_STEPS);
    let mut rgb = Vec3::ZERO;
    let mut alpha = 0.0f32;
    while let Some(t_sample) = skip_empty_space(field, t, origin, dir, t_max) {
        if result.samples >= settings.max_samples {
            break;
        }
        let x = origin + dir * t_sample;
        let dt = calc_dt(t_sample, cone);
        let sigma = field.density_with(x, scratch);
        t = t_sample + dt;
        let sample_alpha = 1.0 - (-sigma * dt).exp();
        let weight = sample_alpha * (1.0 - alpha);
        if weight >= COLOR_SKIP_WEIGHT {
            rgb += field.color_with(dir, scratch) * weight;
        }
        alpha += weight;
        result.samples += 1;
        if alpha > 1.0 - settings.min_transmittance {
            result.terminated = true;
            break;
        }
    }
    result.raw_rgb = rgb;
    result.raw_alpha = alpha;
    if result.terminated {
        result.rgb = rgb / alpha;
        result.alpha = 1.0;
    } else {
        result.rgb = rgb;
        result.alpha = alpha;
    }
    result
}

/// Marches a ray given in the field's NeRF-world frame (the entity's local
/// frame): points `origin + t·direction`, `t < t_max` (`f32::INFINITY` for no
/// opaque depth). `direction` need not be normalised; `t` is measured in
/// multiples of it.
pub fn march_ray(field: &RadianceField, origin: Vec3, direction: Vec3, t_max: f32, settings: &MarchSettings) -> RayResult {
    march_ray_with(field, origin, direction, t_max, settings, &mut SampleScratch::default())
}

/// [`march_ray`] reusing `scratch`.
pub fn march_ray_with(
    field: &RadianceField,
    origin: Vec3,
    direction: Vec3,
    t_max: f32,
    settings: &MarchSettings,
    scratch: &mut SampleScratch,
) -> RayResult {
    let unit_origin = field.world_to_unit(origin);
    let unit_vector = field.transform.vector_to_unit(direction);
    let length = unit_vector.length();
    if !(length > 0.0 && length.is_finite() && unit_origin.is_finite()) {
        return RayResult::default();
    }
    march_ray_unit(field, unit_origin, unit_vector / length, t_max * length, settings, scratch)
}

/// The NeRF-world ray through the centre of pixel `(x, y)` of `view`, for a
/// field placed at `world_from_local`: `(origin, direction)`, direction not normalised.
///
/// View-space direction: `((x + 0.5 − cx) / fx, −(y + 0.5 − cy) / fy, −1)`
/// (Bevy/OpenGL camera: −Z forward, +Y up; intrinsics are OpenCV-style, +y down).
pub fn pixel_ray(view: &CameraView, local_from_world: &Mat4, x: u32, y: u32) -> (Vec3, Vec3) {
    let k = view.intrinsics();
    let world_from_view = view.view_from_world.inverse();
    let d_view = Vec3::new((x as f32 + 0.5 - k.cx) / k.fx, -((y as f32 + 0.5 - k.cy) / k.fy), -1.0);
    let origin = world_from_view.transform_point3(Vec3::ZERO);
    let dir = world_from_view.transform_vector3(d_view);
    (local_from_world.transform_point3(origin), local_from_world.transform_vector3(dir))
}

/// Renders a field from `view` (Bevy world) with the field entity at
/// `world_from_local` (the NeRF world of the training `transforms.json`; use
/// `Mat4::IDENTITY` to reproduce its cameras). Pixels: RGB composited over
/// `background` (display values), A = coverage.
pub fn render_field_reference(
    field: &RadianceField,
    view: &CameraView,
    world_from_local: Mat4,
    background: Vec3,
    settings: &MarchSettings,
) -> ReferenceImage {
    let (width, height) = (view.size.x as u32, view.size.y as u32);
    let local_from_world = world_from_local.inverse();
    let mut pixels = vec![Vec4::ZERO; width as usize * height as usize];
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 16);
    let next_row = std::sync::atomic::AtomicU32::new(0);
    let rows: Vec<std::sync::Mutex<&mut [Vec4]>> = pixels
        .chunks_mut(width.max(1) as usize)
        .map(std::sync::Mutex::new)
        .collect();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut scratch = SampleScratch::default();
                loop {
                    let y = next_row.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if y >= height {
                        break;
                    }
                    let mut row = rows[y as usize].lock().unwrap_or_else(|e| e.into_inner());
                    for x in 0..width {
                        let (origin, dir) = pixel_ray(view, &local_from_world, x, y);
                        let r = march_ray_with(field, origin, dir, f32::INFINITY, settings, &mut scratch);
                        row[x as usize] = r.over(background).extend(r.alpha);
                    }
                }
            });
        }
    });
    drop(rows);
    ReferenceImage { width, height, pixels }
}

/// [`render_field_reference`] at a reduced render scale, as the GPU does it with
/// a [`RadianceFieldCamera`](crate::field::RadianceFieldCamera): march a layer of
/// [`field_layer_size`] pixels (same projection,
/// so the intrinsics scale with it), then upsample it bilinearly to the view's
/// size with [`upsample_bilinear`]. Compositing over the background commutes
/// with the (linear) upsampling, so the layer is composited first.
pub fn render_field_reference_scaled(
    field: &RadianceField,
    view: &CameraView,
    world_from_local: Mat4,
    background: Vec3,
    settings: &MarchSettings,
    render_scale: f32,
) -> ReferenceImage {
    let full = view.size.as_uvec2();
    let layer_size = field_layer_size(full, render_scale);
    let layer_view = CameraView { size: layer_size.as_vec2(), ..*view };
    let layer = render_field_reference(field, &layer_view, world_from_local, background, settings);
    upsample_bilinear(&layer, full)
}

/// Bilinear upsampling with texel centres aligned and edges clamped, the
/// filter of the GPU field composite: output pixel centre `p + ½` samples the
/// layer at `(p + ½)·layer/size − ½`.
pub fn upsample_bilinear(layer: &ReferenceImage, size: bevy::math::UVec2) -> ReferenceImage {
    let (lw, lh) = (layer.width.max(1), layer.height.max(1));
    let ratio = bevy::math::Vec2::new(lw as f32 / size.x.max(1) as f32, lh as f32 / size.y.max(1) as f32);
    let texel = |x: i64, y: i64| {
        let (x, y) = (x.clamp(0, lw as i64 - 1) as usize, y.clamp(0, lh as i64 - 1) as usize);
        layer.pixels.get(y * lw as usize + x).copied().unwrap_or(Vec4::ZERO)
    };
    let mut pixels = Vec::with_capacity(size.x as usize * size.y as usize);
    for y in 0..size.y {
        for x in 0..size.x {
            let q = (bevy::math::Vec2::new(x as f32, y as f32) + 0.5) * ratio - 0.5;
            let base = q.floor();
            let f = q - base;
            let (x0, y0) = (base.x as i64, base.y as i64);
            let top = texel(x0, y0).lerp(texel(x0 + 1, y0), f.x);
            let bottom = texel(x0, y0 + 1).lerp(texel(x0 + 1, y0 + 1), f.x);
            pixels.push(top.lerp(bottom, f.y));
        }
    }
    ReferenceImage { width: size.x, height: size.y, pixels }
}

/// Smallest render scale fields are marched at.
pub const MIN_RENDER_SCALE: f32 = 1.0 / 16.0;

/// Size of the field layer for a viewport of `viewport` physical pixels at
/// `render_scale`: each side rounded to the nearest pixel, at least 1.
/// NaN scales count as 1.
pub fn field_layer_size(viewport: UVec2, render_scale: f32) -> UVec2 {
    let scale = if render_scale.is_nan() { 1.0 } else { render_scale.clamp(MIN_RENDER_SCALE, 1.0) };
    (viewport.as_vec2() * scale).round().as_uvec2().max(UVec2::ONE).min(viewport.max(UVec2::ONE))
}

#[cfg(test)]
mod tests;
