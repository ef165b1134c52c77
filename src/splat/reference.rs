//! The CPU reference renderer: the splat maths written plainly, per pixel, front
//! to back, used by the tests to check the GPU renderer.
//!
//! It follows the 3DGS rasteriser: splats are sorted by view depth, each pixel
//! composites the splats whose footprint (alpha ≥ 1/255) covers it front to back, and stops
//! before transmittance would drop below [`MIN_TRANSMITTANCE`]. Colours are
//! blended as they are (display-referred), as the reference renderers do.

use bevy::math::{Mat4, Vec2, Vec3, Vec4};

use crate::image::ReferenceImage;

use super::asset::GaussianSplats;
use super::crop::{CropVolume, PreparedCrop};
use super::edit_flags::{EDIT_DELETED, EDIT_HIDDEN, EDIT_SELECTED, highlight};
use crate::camera::CameraView;
use super::projection::{
    ProjectedSplat, SplatParams, depth_sort_key, project_splat, splat_alpha,
    MIN_TRANSMITTANCE,
};

/// One splat entity of a reference scene.
#[derive(Clone, Copy, Debug)]
pub struct ReferenceItem<'a> {
    /// The splats.
    pub splats: &'a GaussianSplats,
    /// The entity's world transform.
    pub world_from_local: Mat4,
    /// The entity's render settings.
    pub params: SplatParams,
    /// Playback time in seconds at which a dynamic scene is drawn (mapped to
    /// model time by [`GaussianSplats::model_time`]); ignored by static scenes.
    pub time: f32,
    /// The entity's crop volumes (empty: no crop), assumed valid as the
    /// renderer only applies valid ones.
    pub crop: &'a [CropVolume],
    /// The entity's edit flags, one byte per splat
    /// ([`SplatEdits::drawn_flags`](crate::scene::SplatEdits::drawn_flags);
    /// empty: no edits): hidden and deleted splats are culled, selected ones tinted.
    pub edits: &'a [u8],
}

/// Projects every splat of every item and returns them in draw order
/// (the GPU's order: ascending [`depth_sort_key`], ties by item then splat index).
pub fn project_and_sort(view: &CameraView, items: &[ReferenceItem<'_>]) -> Vec<ProjectedSplat> {
    let mut projected = Vec::new();
    for item in items {
        let local_from_world = item.world_from_local.inverse();
        let camera_local = local_from_world.transform_point3(view.world_position());
        let s = item.splats;
        let model_time = s.model_time(item.time);
        let edits = (item.edits.len() == s.len()).then_some(item.edits);
        let crop = PreparedCrop::new(item.crop);
        for i in 0..s.len() {
            let flags = edits.map_or(0, |f| f[i]);
            if flags & (EDIT_HIDDEN | EDIT_DELETED) != 0 {
                continue;
            }
            let e = s.evaluate(i, model_time);
            if e.opacity <= 0.0 || !crop.keeps(e.position) {
                continue;
            }
            if let Some(p) = project_splat(
                view,
                &item.world_from_local,
                camera_local,
                e.position,
                e.covariance,
                e.opacity,
                s.sh_of(i),
                &item.params,
            ) {
                let mut p = p;
                if flags & EDIT_SELECTED != 0 {
                    p.color = highlight(p.color);
                }
                projected.push(p);
            }
        }
    }
    // Stable: equal keys keep item/splat order, like the GPU radix sort.
    projected.sort_by_key(|p| depth_sort_key(p.depth));
    projected
}

const TILE: u32 = 16;

/// Renders `items` from `view` over an RGB `background` (display values).
pub fn render_reference(
    view: &CameraView,
    items: &[ReferenceItem<'_>],
    background: Vec3,
) -> ReferenceImage {
    let (width, height) = (view.size.x as u32, view.size.y as u32);
    let sorted = project_and_sort(view, items);
    // Bin splats into 16×16 tiles, front to back (reverse of draw order).
    let tiles_x = width.div_ceil(TILE);
    let tiles_y = height.div_ceil(TILE);
    let mut bins: Vec<Vec<u32>> = vec![Vec::new(); (tiles_x * tiles_y) as usize];
    for (index, s) in sorted.iter().enumerate().rev() {
        let lo = ((s.mean - s.extent) / TILE as f32).floor().max(Vec2::ZERO);
        let hi = ((s.mean + s.extent) / TILE as f32)
            .floor()
            .min(Vec2::new(tiles_x as f32 - 1.0, tiles_y as f32 - 1.0));
        for ty in lo.y as u32..=hi.y as u32 {
            for tx in lo.x as u32..=hi.x as u32 {
                bins[(ty * tiles_x + tx) as usize].push(index as u32);
            }
        }
    }
    let mut pixels = vec![Vec4::ZERO; (width * height) as usize];
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    let rows_per = (height as usize).div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        for (chunk_index, chunk) in pixels.chunks_mut(rows_per * width as usize).enumerate() {
            let (sorted, bins) = (&sorted, &bins);
            scope.spawn(move || {
                for (offset, out) in chunk.iter_mut().enumerate() {
                    let pixel = chunk_index * rows_per * width as usize + offset;
                    let (x, y) = ((pixel % width as usize) as u32, (pixel / width as usize) as u32);
                    let bin = &bins[((y / TILE) * tiles_x + x / TILE) as usize];
                    let center = Vec2::new(x as f32 + 0.5, y as f32 + 0.5);
                    *out = shade_pixel(sorted, bin, center, background);
                }
            });
        }
    });
    ReferenceImage {
        width,
        height,
        pixels,
    }
}

/// Front-to-back compositing of one pixel.
fn shade_pixel(sorted: &[ProjectedSplat], bin: &[u32], center: Vec2, background: Vec3) -> Vec4 {
    let mut transmittance = 1.0f32;
    let mut color = Vec3::ZERO;
    for &i in bin {
        let s = &sorted[i as usize];
        let Some(alpha) = splat_alpha(s, center) else {
            continue;
        };
        let next = transmittance * (1.0 - alpha);
        if next < MIN_TRANSMITTANCE {
            break;
        }
        color += s.color * alpha * transmittance;
        transmittance = next;
    }
    (color + transmittance * background).extend(1.0 - transmittance)
}

/// Fragments the raster pass generates for one projected splat in a view of
/// `size` pixels: the pixel centres inside its quad (the footprint's bounding
/// parallelogram along its axes, `sigmas` σ each way), clipped to the view.
/// The CPU mirror of the quad extents, for fragment counts where the adapter
/// has no pipeline-statistics query.
pub fn quad_fragments(s: &ProjectedSplat, size: Vec2) -> u64 {
    let [a1, a2] = s.axes.map(|a| a * s.sigmas);
    let half = a1.abs() + a2.abs();
    let lo = (s.mean - half - 0.5).ceil().max(Vec2::ZERO);
    let hi = (s.mean + half - 0.5).floor().min(size - 1.0);
    let (l1, l2) = (a1.length_squared(), a2.length_squared());
    if !(l1 > 0.0 && l2 > 0.0) {
        return 0;
    }
    let mut count = 0;
    let mut y = lo.y;
    while y <= hi.y {
        let mut x = lo.x;
        while x <= hi.x {
            let d = Vec2::new(x + 0.5, y + 0.5) - s.mean;
            if (d.dot(a1) / l1).abs() <= 1.0 && (d.dot(a2) / l2).abs() <= 1.0 {
                count += 1;
            }
            x += 1.0;
        }
        y += 1.0;
    }
    count
}
