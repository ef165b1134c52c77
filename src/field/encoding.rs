//! The input encodings of an instant-ngp NeRF: the multiresolution hash grid
//! (tiny-cuda-nn `GridEncoding`, 3D, linear interpolation, `CoherentPrime`
//! hash) for positions and degree-4 spherical harmonics for directions.
//!
//! Hash-grid maths, per level `l` (all `f32` / wrapping `u32`):
//!
//! ```text
//! scale_l      = exp2(l · log2(per_level_scale)) · base_resolution − 1
//! resolution_l = ceil(scale_l) + 1
//! entries_l    = min(next_multiple(resolution_l³, 8), 2^log2_hashmap_size)   (Hash grids)
//! offset_l     = Σ_{k<l} entries_k                                            (in entries)
//! dense_l      = resolution_l ≤ 1625 and resolution_l³ ≤ entries_l              (always for Dense/Tiled grids)
//!
//! pos   = x · scale_l + 0.5          (x ∈ [0,1]³, the network-input position)
//! g     = floor(pos) as i32 as u32   f = pos − floor(pos)
//! for each corner c ∈ {0,1}³ (c = bit 0 → x, bit 1 → y, bit 2 → z):
//!     w   = Π_d (c_d ? f_d : 1 − f_d)
//!     idx = dense_l ? (g+c).x + (g+c).y·r + (g+c).z·r²  : (g+c).x·1 ⊕ (g+c).y·2654435761 ⊕ (g+c).z·805459861
//!     idx = idx mod entries_l
//!     out[l·F + k] += w · params[(offset_l + idx)·F + k]     for k < F
//! ```
//!
//! The output is level-major and zero-padded to a multiple of 16.

use bevy::math::Vec3;

use super::mlp::{MLP_ALIGNMENT, next_multiple};

/// How a level's table is indexed (tiny-cuda-nn `GridType`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum GridType {
    /// Dense where the level fits the table, hashed elsewhere (`HashGrid`).
    #[default]
    Hash,
    /// Always dense (`DenseGrid`).
    Dense,
    /// Dense, tiled with period `base_resolution` (`TiledGrid`).
    Tiled,
}

/// The hash-grid hyper-parameters, with instant-ngp's defaults resolved.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HashGridConfig {
    /// Number of levels.
    pub n_levels: u32,
    /// Features per level (1, 2, 4 or 8).
    pub features_per_level: u32,
    /// log2 of the maximum table size per level.
    pub log2_hashmap_size: u32,
    /// Resolution (vertices per axis) of level 0.
    pub base_resolution: u32,
    /// Growth factor between levels.
    pub per_level_scale: f32,
    /// Indexing scheme.
    pub grid_type: GridType,
}

/// Largest resolution whose `resolution³` fits in `u32` (tiny-cuda-nn's `MAX_BASES[3]`).
pub const MAX_DENSE_RESOLUTION: u32 = 0x659;

/// The `CoherentPrime` hash factors for x, y, z.
pub const HASH_PRIMES: [u32; 3] = [1, 2_654_435_761, 805_459_861];

/// One level of the grid.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GridLevel {
    /// `scale_l` (see the module docs).
    pub scale: f32,
    /// Vertices per axis.
    pub resolution: u32,
    /// Table entries (each `features_per_level` values).
    pub entries: u32,
    /// First entry of this level in the parameter table.
    pub offset: u32,
    /// Indexed densely (`true`) or by the `CoherentPrime` hash (`false`).
    pub dense: bool,
}

/// `exp2(level · log2_per_level_scale) · base_resolution − 1`.
pub fn grid_scale(level: u32, log2_per_level_scale: f32, base_resolution: u32) -> f32 {
    (level as f32 * log2_per_level_scale).exp2() * base_resolution as f32 - 1.0
}

/// `ceil(scale) + 1`.
pub fn grid_resolution(scale: f32) -> u32 {
    scale.ceil() as u32 + 1
}

impl HashGridConfig {
    /// The per-level table (scales, resolutions, table sizes, offsets, indexing).
    pub fn levels(&self) -> Vec<GridLevel> {
        let log2_scale = self.per_level_scale.log2();
        let mut offset: u64 = 0;
        let mut levels = Vec::with_capacity(self.n_levels as usize);
        for l in 0..self.n_levels {
            let scale = grid_scale(l, log2_scale, self.base_resolution);
            let resolution = grid_resolution(scale);
            let cube = (resolution as u64).pow(3);
            let max_params: u64 = (u32::MAX / 2) as u64;
            let dense_params = if cube as f32 > max_params as f32 { max_params } else { cube };
            let mut entries = (dense_params.div_ceil(8) * 8) as u32;
            match self.grid_type {
                GridType::Dense => {}
                GridType::Tiled => entries = entries.min(self.base_resolution.saturating_pow(3)),
                GridType::Hash => entries = entries.min(1u32 << self.log2_hashmap_size),
            }
            let fits = resolution <= MAX_DENSE_RESOLUTION && cube <= entries as u64;
            let dense = self.grid_type != GridType::Hash || fits;
            levels.push(GridLevel {
                scale,
                resolution,
                entries,
                offset: offset as u32,
                dense,
            });
            offset += entries as u64;
        }
        levels
    }

    /// Total table entries over all levels.
    pub fn total_entries(&self) -> u64 {
        self.levels().iter().map(|l| l.entries as u64).sum()
    }

    /// Number of parameters: entries × features.
    pub fn n_params(&self) -> u64 {
        self.total_entries() * self.features_per_level as u64
    }

    /// Encoded width before padding: `n_levels · features_per_level`.
    pub fn output_width(&self) -> u32 {
        self.n_levels * self.features_per_level
    }

    /// Encoded width padded to the MLP's alignment (the density MLP's input width).
    pub fn padded_output_width(&self) -> u32 {
        next_multiple(self.output_width(), MLP_ALIGNMENT)
    }
}

/// instant-ngp's automatic `per_level_scale` for NeRF: the finest level reaches
/// 2048 · aabb_scale vertices: `exp(ln(2048 · aabb_scale / base_resolution) / (n_levels − 1))`
/// (in `f32`; 2.0 for 8 levels, base 16, aabb_scale 1).
pub fn per_level_scale(n_levels: u32, base_resolution: u32, aabb_scale: u32) -> f32 {
    if n_levels <= 1 {
        return 2.0;
    }
    ((2048.0f32 * aabb_scale as f32 / base_resolution as f32).ln() / (n_levels - 1) as f32).exp()
}

/// The `CoherentPrime` hash: `g.x·1 ⊕ g.y·2654435761 ⊕ g.z·805459861` (wrapping `u32`).
pub fn coherent_prime_hash(g: [u32; 3]) -> u32 {
    g[0].wrapping_mul(HASH_PRIMES[0]) ^ g[1].wrapping_mul(HASH_PRIMES[1]) ^ g[2].wrapping_mul(HASH_PRIMES[2])
}

/// Table entry of vertex `g` of a level (see the module docs).
pub fn grid_index(level: &GridLevel, g: [u32; 3]) -> u32 {
    let index = if level.dense {
        let r = level.resolution;
        g[0].wrapping_add(g[1].wrapping_mul(r)).wrapping_add(g[2].wrapping_mul(r.wrapping_mul(r)))
    } else {
        coherent_prime_hash(g)
    };
    index % level.entries
}

/// Trilinear weight of corner `corner` (bit 0 → x, bit 1 → y, bit 2 → z) for fractional position `f`.
pub fn corner_weight(f: Vec3, corner: u32) -> f32 {
    let fx = if corner & 1 != 0 { f.x } else { 1.0 - f.x };
    let fy = if corner & 2 != 0 { f.y } else { 1.0 - f.y };
    let fz = if corner & 4 != 0 { f.z } else { 1.0 - f.z };
    fx * fy * fz
}

/// The hash grid: its config, level table and parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct HashGrid {
    /// Hyper-parameters.
    pub config: HashGridConfig,
    /// The level table.
    pub levels: Vec<GridLevel>,
    /// Feature table: `params[(level.offset + idx) · F + k]`, `F = features_per_level`.
    /// Values come from fp16 snapshots, so they are exactly representable in fp16.
    pub params: Vec<f32>,
}

impl HashGrid {
    /// Encodes a network-input position `x ∈ [0,1]³` into `out`, which must hold
    /// [`HashGridConfig::padded_output_width`] values (the padding is set to 0).
    pub fn encode_into(&self, x: Vec3, out: &mut [f32]) {
        let f_per = self.config.features_per_level as usize;
        out.fill(0.0);
        for (l, level) in self.levels.iter().enumerate() {
            let pos = x * level.scale + Vec3::splat(0.5);
            let floor = pos.floor();
            let g = [floor.x as i32 as u32, floor.y as i32 as u32, floor.z as i32 as u32];
            let f = pos - floor;
            let features = &mut out[l * f_per..(l + 1) * f_per];
            for corner in 0..8u32 {
                let w = corner_weight(f, corner);
                let v = [
                    g[0].wrapping_add(corner & 1),
                    g[1].wrapping_add((corner >> 1) & 1),
                    g[2].wrapping_add((corner >> 2) & 1),
                ];
                let entry = (level.offset + grid_index(level, v)) as usize * f_per;
                let values = &self.params[entry..entry + f_per];
                for k in 0..f_per {
                    features[k] += w * values[k];
                }
            }
        }
    }

    /// Encodes a network-input position (allocating; see [`HashGrid::encode_into`]).
    pub fn encode(&self, x: Vec3) -> Vec<f32> {
        let mut out = vec![0.0; self.config.padded_output_width() as usize];
        self.encode_into(x, &mut out);
        out
    }
}

/// Degree-4 real spherical harmonics (16 values, bands 0..=3) of a unit
/// direction, in tiny-cuda-nn's order, signs and constants.
///
/// instant-ngp stores the direction as `(d + 1) / 2` and the encoder maps it
/// back with `· 2 − 1`; that round trip only changes rounding, so this takes
/// `d` itself.
pub fn sh4_encode(d: Vec3) -> [f32; 16] {
    let (x, y, z) = (d.x, d.y, d.z);
    let (xy, xz, yz) = (x * y, x * z, y * z);
    let (x2, y2, z2) = (x * x, y * y, z * z);
    [
        0.282_094_79,                                // 1/(2√π)
        -0.488_602_51 * y,                           // −√3·y/(2√π)
        0.488_602_51 * z,                            // √3·z/(2√π)
        -0.488_602_51 * x,                           // −√3·x/(2√π)
        1.092_548_4 * xy,                            // √15·xy/(2√π)
        -1.092_548_4 * yz,                           // −√15·yz/(2√π)
        0.946_174_7 * z2 - 0.315_391_57,             // √5·(3z² − 1)/(4√π)
        -1.092_548_4 * xz,                           // −√15·xz/(2√π)
        0.546_274_2 * x2 - 0.546_274_2 * y2,         // √15·(x² − y²)/(4√π)
        0.590_043_6 * y * (-3.0 * x2 + y2),          // √70·y·(−3x² + y²)/(8√π)
        2.890_611_4 * xy * z,                        // √105·xyz/(2√π)
        0.457_045_8 * y * (1.0 - 5.0 * z2),          // √42·y·(1 − 5z²)/(8√π)
        0.373_176_33 * z * (5.0 * z2 - 3.0),         // √7·z·(5z² − 3)/(4√π)
        0.457_045_8 * x * (1.0 - 5.0 * z2),          // √42·x·(1 − 5z²)/(8√π)
        1.445_305_7 * z * (x2 - y2),                 // √105·z·(x² − y²)/(4√π)
        0.590_043_6 * x * (-x2 + 3.0 * y2),          // √70·x·(−x² + 3y²)/(8√π)
    ]
}

/// Spreads the low 10 bits of `v` to every third bit.
pub fn expand_bits(v: u32) -> u32 {
    let mut v = v;
    v = v.wrapping_mul(0x0001_0001) & 0xFF00_00FF;
    v = v.wrapping_mul(0x0000_0101) & 0x0F00_F00F;
    v = v.wrapping_mul(0x0000_0011) & 0xC30C_30C3;
    v = v.wrapping_mul(0x0000_0005) & 0x4924_9249;
    v
}

/// 30-bit Morton code: bits of x → bit 0, y → bit 1, z → bit 2 (then every third bit).
pub fn morton3d(x: u32, y: u32, z: u32) -> u32 {
    expand_bits(x) | (expand_bits(y) << 1) | (expand_bits(z) << 2)
}

/// The coordinate in bits 0, 3, 6, … of a Morton code (shift the code by 1 or 2 for y, z).
pub fn morton3d_invert(v: u32) -> u32 {
    let mut x = v & 0x4924_9249;
    x = (x | (x >> 2)) & 0xC30C_30C3;
    x = (x | (x >> 4)) & 0x0F00_F00F;
    x = (x | (x >> 8)) & 0xFF00_00FF;
    x = (x | (x >> 16)) & 0x0000_FFFF;
    x
}

#[cfg(test)]
mod tests;
