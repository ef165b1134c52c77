//! instant-ngp's occupancy ("density") grid: cascades of 128³ cells centred on
//! the unit cube, one bit per cell, used to skip empty space.
//!
//! * Cascade `k` covers `[0.5 − 2^(k−1), 0.5 + 2^(k−1)]³` in unit-cube coordinates
//!   (cascade 0 is the unit cube; each next cascade doubles the extent). A field
//!   with `aabb_scale = 2^m` has `m + 1` cascades.
//! * Cell of `pos` in cascade `k`: `i = i32(((pos − 0.5) · 2^−k + 0.5) · 128)`
//!   (conversion truncates toward zero); outside `[0, 128)³` it is not occupied.
//!   Cells are stored at their Morton index ([`morton3d`]).
//! * The snapshot stores each cell's optical thickness (max density ·
//!   `MIN_CONE_STEPSIZE`). A cell is occupied when its value is `> threshold`,
//!   `threshold = min(0.01, mean)`, `mean = Σ max(v, 0) / 128³` over cascade 0
//!   only (so +inf cells make the mean +inf and the threshold 0.01; NaN counts
//!   as 0 in the mean and is never occupied).
//! * Then each cascade `k ≥ 1` also gets the coarsened bits of cascade `k − 1`
//!   (max-pooling): coarse cell `c ∈ [32, 96)³` is occupied if any of the fine
//!   cells `2·(c − 32) + {0,1}³` of cascade `k − 1` is (after its own pooling).

use bevy::math::Vec3;

use super::encoding::{morton3d, morton3d_invert};

/// Cells per axis of every cascade.
pub const OCCUPANCY_GRID_SIZE: u32 = 128;
/// Cells per cascade.
pub const OCCUPANCY_GRID_CELLS: u32 = OCCUPANCY_GRID_SIZE * OCCUPANCY_GRID_SIZE * OCCUPANCY_GRID_SIZE;
/// The most cascades instant-ngp supports (so `aabb_scale ≤ 128`).
pub const MAX_CASCADES: u32 = 8;
/// instant-ngp's cap on the occupancy threshold.
pub const MIN_OPTICAL_THICKNESS: f32 = 0.01;

/// `min(0.01, Σ max(v, 0) / N)` over the values of cascade 0 (see the module docs).
pub fn occupancy_threshold(cascade0: &[f32]) -> f32 {
    if cascade0.is_empty() {
        return MIN_OPTICAL_THICKNESS;
    }
    let mut sum = 0.0f64;
    for &v in cascade0 {
        // fmaxf semantics: NaN → 0, +inf stays +inf.
        let v = if v.is_nan() { 0.0 } else { v.max(0.0) };
        sum += v as f64;
    }
    let mean = (sum / cascade0.len() as f64) as f32;
    MIN_OPTICAL_THICKNESS.min(mean)
}

/// The occupancy bitfields of all cascades.
#[derive(Clone, Debug, PartialEq)]
pub struct Occupancy {
    /// Cells per axis (128).
    pub grid_size: u32,
    /// One bitfield per cascade; bit `i` of the field (`words[i / 32] >> (i % 32) & 1`)
    /// is the cell with Morton index `i`. Each field has `grid_size³ / 32` words.
    pub bitfields: Vec<Vec<u32>>,
    /// The threshold the bits were derived with.
    pub threshold: f32,
}

impl Occupancy {
    /// Derives the bitfields from the snapshot's per-cell values (cascade-major,
    /// Morton order within a cascade, `128³` values per cascade). `threshold`
    /// overrides instant-ngp's [`occupancy_threshold`].
    pub fn from_density_grid(values: &[f32], cascades: u32, threshold: Option<f32>) -> Self {
        let n = OCCUPANCY_GRID_CELLS as usize;
        let threshold = threshold.unwrap_or_else(|| occupancy_threshold(&values[..n.min(values.len())]));
        let words = n / 32;
        let mut bitfields: Vec<Vec<u32>> = Vec::with_capacity(cascades as usize);
        for k in 0..cascades as usize {
            let mut bits = vec![0u32; words];
            if let Some(cells) = values.get(k * n..(k + 1) * n) {
                for (i, &v) in cells.iter().enumerate() {
                    if v > threshold {
                        bits[i / 32] |= 1 << (i % 32);
                    }
                }
            }
            bitfields.push(bits);
        }
        // Max-pool each cascade into the centre of the next coarser one.
        for k in 1..cascades as usize {
            let (finer, coarser) = bitfields.split_at_mut(k);
            pool_into(&finer[k - 1], &mut coarser[0]);
        }
        Self {
            grid_size: OCCUPANCY_GRID_SIZE,
            bitfields,
            threshold,
        }
    }

    /// Number of cascades.
    pub fn cascades(&self) -> u32 {
        self.bitfields.len() as u32
    }

    /// Whether the cell with Morton index `index` of `cascade` is occupied.
    pub fn cell_occupied(&self, cascade: u32, index: u32) -> bool {
        let Some(bits) = self.bitfields.get(cascade as usize) else {
            return false;
        };
        bits.get((index / 32) as usize).is_some_and(|w| (w >> (index % 32)) & 1 != 0)
    }

    /// Whether unit-cube position `pos` lies in an occupied cell of `cascade`
    /// (positions outside the cascade are not occupied).
    pub fn is_occupied(&self, pos: Vec3, cascade: u32) -> bool {
        match cascaded_grid_index(pos, cascade) {
            Some(index) => self.cell_occupied(cascade, index),
            None => false,
        }
    }

    /// Occupied cells of a cascade.
    pub fn occupied_count(&self, cascade: u32) -> u32 {
        self.bitfields
            .get(cascade as usize)
            .map_or(0, |b| b.iter().map(|w| w.count_ones()).sum())
    }
}

/// ORs the 2×2×2-pooled bits of `finer` into the central `[32, 96)³` cells of `coarser`.
fn pool_into(finer: &[u32], coarser: &mut [u32]) {
    let quarter = OCCUPANCY_GRID_SIZE / 4;
    // Each group of 8 consecutive Morton indices is one 2×2×2 block.
    for block in 0..OCCUPANCY_GRID_CELLS / 8 {
        let base = block * 8;
        let any = (finer[(base / 32) as usize] >> (base % 32)) & 0xFF != 0;
        if any {
            let x = morton3d_invert(block) + quarter;
            let y = morton3d_invert(block >> 1) + quarter;
            let z = morton3d_invert(block >> 2) + quarter;
            let index = morton3d(x, y, z);
            coarser[(index / 32) as usize] |= 1 << (index % 32);
        }
    }
}

/// The binary exponent `e` of `frexp(v) = m · 2^e` with `m ∈ [0.5, 1)`; 0 for 0.
pub fn frexp_exponent(v: f32) -> i32 {
    if v == 0.0 || !v.is_finite() {
        return 0;
    }
    let bits = v.abs().to_bits();
    let exp = ((bits >> 23) & 0xFF) as i32;
    if exp == 0 {
        // Subnormal: normalise first.
        return frexp_exponent(v * 2f32.powi(64)) - 64;
    }
    exp - 126
}

/// The cascade instant-ngp uses at unit-cube position `pos`: the smallest one
/// containing it, `clamp(frexp_exponent(max |pos − 0.5|) + 1, 0, max_cascade)`.
///
/// (At exactly `pos = 0.5` the exponent of 0 is 0, so the result is
/// `min(1, max_cascade)` — instant-ngp's quirk, kept.)
pub fn mip_from_pos(pos: Vec3, max_cascade: u32) -> u32 {
    let d = (pos - Vec3::splat(0.5)).abs();
    let max = d.x.max(d.y).max(d.z);
    (frexp_exponent(max) + 1).clamp(0, max_cascade as i32) as u32
}

/// Morton index of the cell of `cascade` containing unit-cube position `pos`,
/// `None` outside the cascade.
pub fn cascaded_grid_index(pos: Vec3, cascade: u32) -> Option<u32> {
    let mip_scale = 2f32.powi(-(cascade as i32));
    let p = (pos - Vec3::splat(0.5)) * mip_scale + Vec3::splat(0.5);
    let size = OCCUPANCY_GRID_SIZE as f32;
    // `as i32` truncates toward zero, like CUDA's float → int conversion.
    let (x, y, z) = ((p.x * size) as i32, (p.y * size) as i32, (p.z * size) as i32);
    let n = OCCUPANCY_GRID_SIZE as i32;
    if x < 0 || x >= n || y < 0 || y >= n || z < 0 || z >= n {
        return None;
    }
    Some(morton3d(x as u32, y as u32, z as u32))
}

#[cfg(test)]
mod tests;
