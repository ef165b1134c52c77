//! The compact GPU form of a splat asset: 16 bytes per splat plus its SH rest
//! coefficients as bytes, quantised relative to chunks of
//! [`SPLAT_CHUNK_SIZE`] spatially neighbouring splats (as PlayCanvas's
//! compressed PLY and SOG quantise), so precision follows the local extent of
//! the capture instead of banding far from the origin as f16 world positions do.
//!
//! Splats are put in Morton order of their centres first, so that a chunk
//! covers a small region; the permutation is kept ([`PackedSplats::order`]) and
//! applied to the motion data too. Per splat (four `u32` words):
//!
//! | word | bits | content |
//! |---|---|---|
//! | 0 | 11-10-11 | centre, unorm within the chunk's bounds |
//! | 1 | 2-10-10-10 | rotation, smallest three (index of the largest component in the top bits; the largest is made positive) |
//! | 2 | 11-10-11 | `ln(scale)`, unorm within the chunk's range |
//! | 3 | 8-8-8-8 | SH degree-0 coefficient (r, g, b), unorm within the chunk's range; opacity (0..1) |
//!
//! SH rest coefficients (degree ≥ 1; 9, 24 or 45 per splat) are bytes, unorm
//! within the chunk's single range, `3·(k−1)` bytes per splat packed back to
//! back in `u32` words (coefficient-major RGB, as in the asset).
//! `shaders/splat/preprocess.wgsl` decodes the same layout; [`unpack_splat`]
//! is its CPU mirror.

use bevy::math::{Quat, Vec3, Vec4};

use super::gpu_types::SplatChunkGpu;
use crate::splat::asset::{GaussianSplats, sh_coefficient_count};

/// Splats per quantisation chunk.
pub const SPLAT_CHUNK_SIZE: u32 = 256;

/// Bytes of quantised SH rest coefficients per splat for a degree.
pub fn sh_rest_bytes(degree: u8) -> u32 {
    3 * (sh_coefficient_count(degree) as u32 - 1)
}

/// A splat asset in the GPU layout.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PackedSplats {
    /// Four words per splat (see the [module docs](self)).
    pub splats: Vec<[u32; 4]>,
    /// SH rest bytes, back to back, padded to whole words.
    pub sh_rest: Vec<u32>,
    /// One entry per [`SPLAT_CHUNK_SIZE`] splats.
    pub chunks: Vec<SplatChunkGpu>,
    /// `order[k]` is the asset index of the `k`-th packed splat.
    pub order: Vec<u32>,
}

fn unorm(v: f32, lo: f32, hi: f32, max: u32) -> u32 {
    let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.0 };
    ((t.clamp(0.0, 1.0) * max as f32).round() as u32).min(max)
}

fn pack_11_10_11(v: Vec3, lo: Vec3, hi: Vec3) -> u32 {
    unorm(v.x, lo.x, hi.x, 2047) | (unorm(v.y, lo.y, hi.y, 1023) << 11) | (unorm(v.z, lo.z, hi.z, 2047) << 21)
}

fn unpack_11_10_11(w: u32, lo: Vec3, hi: Vec3) -> Vec3 {
    let t = Vec3::new((w & 2047) as f32 / 2047.0, ((w >> 11) & 1023) as f32 / 1023.0, (w >> 21) as f32 / 2047.0);
    lo + t * (hi - lo)
}

/// `ln(scale)`, with zero scales clamped to a tiny size.
fn log_scale(s: Vec3) -> Vec3 {
    s.max(Vec3::splat(1e-12)).ln()
}

const SQRT_HALF: f32 = std::f32::consts::FRAC_1_SQRT_2;

fn pack_rotation(q: Quat) -> u32 {
    let v = Vec4::from(q.normalize());
    let a = v.abs().to_array();
    let largest = (0..4).fold(0, |m, i| if a[i] > a[m] { i } else { m });
    let v = if v[largest] < 0.0 { -v } else { v };
    let mut word = (largest as u32) << 30;
    let mut shift = 20;
    for i in (0..4).filter(|&i| i != largest) {
        word |= unorm(v[i], -SQRT_HALF, SQRT_HALF, 1023) << shift;
        shift -= 10;
    }
    word
}

fn unpack_rotation(w: u32) -> Quat {
    let largest = (w >> 30) as usize;
    let mut v = [0.0f32; 4];
    let mut shift = 20;
    let mut sum = 0.0;
    for (i, slot) in v.iter_mut().enumerate() {
        if i != largest {
            *slot = ((w >> shift) & 1023) as f32 / 1023.0 * (2.0 * SQRT_HALF) - SQRT_HALF;
            sum += *slot * *slot;
            shift -= 10;
        }
    }
    v[largest] = (1.0 - sum).max(0.0).sqrt();
    Quat::from_array(v)
}

/// Whether splat `i` can ever be drawn. One whose covariance overflows f32
/// (a scale above about 1.8e19) never is: the CPU reference hides it
/// ([`GaussianSplats::evaluate`]). Such a splat is packed with opacity 0 and
/// left out of its chunk's ranges, so an outlier costs its neighbours no
/// precision.
fn drawable(splats: &GaussianSplats, i: usize) -> bool {
    crate::splat::motion::evaluate::static_covariance(splats.rotations[i], splats.scales[i]).is_finite()
}

/// A range that saw no value (every splat of the chunk hidden) as `[0, 0]`.
fn seen_or_zero(lo: Vec3, hi: Vec3) -> (Vec3, Vec3) {
    if lo.cmple(hi).all() { (lo, hi) } else { (Vec3::ZERO, Vec3::ZERO) }
}

/// Packs `splats` into the GPU layout.
pub fn pack_splats(splats: &GaussianSplats) -> PackedSplats {
    let n = splats.len();
    let order = crate::splat::morton::morton_order(&splats.positions);
    let rest_bytes = sh_rest_bytes(splats.sh_degree) as usize;
    let k = splats.sh_per_splat();
    let mut packed = PackedSplats {
        splats: Vec::with_capacity(n),
        sh_rest: vec![0; (n * rest_bytes).div_ceil(4)],
        chunks: Vec::with_capacity(n.div_ceil(SPLAT_CHUNK_SIZE as usize)),
        order,
    };
    for (chunk_index, chunk) in packed.order.chunks(SPLAT_CHUNK_SIZE as usize).enumerate() {
        let (mut pos_lo, mut pos_hi) = (Vec3::INFINITY, Vec3::NEG_INFINITY);
        let (mut scale_lo, mut scale_hi) = (Vec3::INFINITY, Vec3::NEG_INFINITY);
        let (mut dc_lo, mut dc_hi) = (Vec3::INFINITY, Vec3::NEG_INFINITY);
        let (mut rest_lo, mut rest_hi) = (f32::INFINITY, f32::NEG_INFINITY);
        let shown: Vec<bool> = chunk.iter().map(|&i| drawable(splats, i as usize)).collect();
        for (&i, _) in chunk.iter().zip(&shown).filter(|(_, shown)| **shown) {
            let i = i as usize;
            pos_lo = pos_lo.min(splats.positions[i]);
            pos_hi = pos_hi.max(splats.positions[i]);
            let s = log_scale(splats.scales[i]);
            scale_lo = scale_lo.min(s);
            scale_hi = scale_hi.max(s);
            let sh = splats.sh_of(i);
            let dc = Vec3::from_array(sh[0]);
            dc_lo = dc_lo.min(dc);
            dc_hi = dc_hi.max(dc);
            for v in sh[1..].iter().flatten() {
                rest_lo = rest_lo.min(*v);
                rest_hi = rest_hi.max(*v);
            }
        }
        if rest_lo > rest_hi {
            (rest_lo, rest_hi) = (0.0, 0.0);
        }
        let (pos_lo, pos_hi) = seen_or_zero(pos_lo, pos_hi);
        let (scale_lo, scale_hi) = seen_or_zero(scale_lo, scale_hi);
        let (dc_lo, dc_hi) = seen_or_zero(dc_lo, dc_hi);
        let entry = SplatChunkGpu {
            position_min: pos_lo.extend(rest_lo),
            position_max: pos_hi.extend(rest_hi),
            log_scale_min: scale_lo.extend(0.0),
            log_scale_max: scale_hi.extend(0.0),
            dc_min: dc_lo.extend(0.0),
            dc_max: dc_hi.extend(0.0),
        };
        for (j, &i) in chunk.iter().enumerate() {
            let i = i as usize;
            let sh = splats.sh_of(i);
            let dc = Vec3::from_array(sh[0]);
            packed.splats.push([
                pack_11_10_11(splats.positions[i], pos_lo, pos_hi),
                pack_rotation(splats.rotations[i]),
                pack_11_10_11(log_scale(splats.scales[i]), scale_lo, scale_hi),
                unorm(dc.x, dc_lo.x, dc_hi.x, 255)
                    | (unorm(dc.y, dc_lo.y, dc_hi.y, 255) << 8)
                    | (unorm(dc.z, dc_lo.z, dc_hi.z, 255) << 16)
                    | (if shown[j] { unorm(splats.opacities[i], 0.0, 1.0, 255) << 24 } else { 0 }),
            ]);
            let base = (chunk_index * SPLAT_CHUNK_SIZE as usize + j) * rest_bytes;
            for (b, v) in sh[1..k].iter().flatten().enumerate() {
                let byte = base + b;
                packed.sh_rest[byte / 4] |= unorm(*v, rest_lo, rest_hi, 255) << (8 * (byte % 4));
            }
        }
        packed.chunks.push(entry);
    }
    packed
}

/// One splat decoded from the GPU layout (the CPU mirror of the preprocess's
/// decoding): centre, rotation, scale, opacity and SH coefficients.
pub fn unpack_splat(packed: &PackedSplats, degree: u8, k: usize) -> (Vec3, Quat, Vec3, f32, Vec<[f32; 3]>) {
    let c = &packed.chunks[k / SPLAT_CHUNK_SIZE as usize];
    let [w0, w1, w2, w3] = packed.splats[k];
    let position = unpack_11_10_11(w0, c.position_min.truncate(), c.position_max.truncate());
    let scale = unpack_11_10_11(w2, c.log_scale_min.truncate(), c.log_scale_max.truncate()).exp();
    let byte = |w: u32, at: u32| ((w >> at) & 255) as f32 / 255.0;
    let dc = c.dc_min.truncate() + Vec3::new(byte(w3, 0), byte(w3, 8), byte(w3, 16)) * (c.dc_max - c.dc_min).truncate();
    let mut sh = vec![dc.to_array()];
    let rest_bytes = sh_rest_bytes(degree) as usize;
    let (lo, hi) = (c.position_min.w, c.position_max.w);
    for coefficient in 1..sh_coefficient_count(degree) {
        let mut rgb = [0.0; 3];
        for (channel, value) in rgb.iter_mut().enumerate() {
            let at = k * rest_bytes + (coefficient - 1) * 3 + channel;
            *value = lo + byte(packed.sh_rest[at / 4], 8 * (at % 4) as u32) * (hi - lo);
        }
        sh.push(rgb);
    }
    (position, unpack_rotation(w1), scale, byte(w3, 24), sh)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestRng;

    #[test]
    fn round_trip_within_the_quantisation_steps() {
        let mut rng = TestRng::new(5);
        for degree in 0..=3u8 {
            let n = 700;
            let k = sh_coefficient_count(degree);
            let mut s = GaussianSplats::with_capacity(n, degree);
            for _ in 0..n {
                s.positions.push(Vec3::new(rng.range(-3.0, 3.0), rng.range(-1.0, 1.0), rng.range(40.0, 45.0)));
                let q = Quat::from_xyzw(rng.range(-1.0, 1.0), rng.range(-1.0, 1.0), rng.range(-1.0, 1.0), rng.range(-1.0, 1.0));
                s.rotations.push(q.normalize());
                s.scales.push(Vec3::new(rng.range(0.001, 0.1), rng.range(0.001, 0.1), rng.range(0.0, 0.1)));
                s.opacities.push(rng.unit());
                for _ in 0..k {
                    s.sh.push([rng.range(-2.0, 2.0), rng.range(-2.0, 2.0), rng.range(-2.0, 2.0)]);
                }
            }
            let packed = pack_splats(&s);
            assert_eq!(packed.splats.len(), n);
            assert_eq!(packed.chunks.len(), n.div_ceil(SPLAT_CHUNK_SIZE as usize));
            let mut seen = packed.order.clone();
            seen.sort_unstable();
            assert!(seen.iter().copied().eq(0..n as u32), "the order is a permutation");
            for (slot, &i) in packed.order.iter().enumerate() {
                let i = i as usize;
                let (p, q, scale, opacity, sh) = unpack_splat(&packed, degree, slot);
                let c = &packed.chunks[slot / SPLAT_CHUNK_SIZE as usize];
                let step = (c.position_max - c.position_min).truncate() / Vec3::new(2047.0, 1023.0, 2047.0);
                assert!(((p - s.positions[i]).abs() - 0.5 * step).max_element() <= 1e-5, "position {i}");
                let dq = q.dot(s.rotations[i]).abs();
                assert!(dq > 0.9999, "rotation {i}: |dot| {dq}");
                let ratio = scale / s.scales[i].max(Vec3::splat(1e-12));
                assert!((ratio - Vec3::ONE).abs().max_element() < 0.01 || s.scales[i].min_element() < 1e-6, "scale {i}: {ratio}");
                assert!((opacity - s.opacities[i]).abs() <= 0.5 / 255.0 + 1e-6, "opacity {i}");
                for (a, b) in sh.iter().flatten().zip(s.sh_of(i).iter().flatten()) {
                    assert!((a - b).abs() <= 4.0 / 255.0 * 0.5 + 1e-5, "sh {i}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn undrawable_outliers_are_hidden_and_cost_their_chunk_nothing() {
        let mut s = GaussianSplats::with_capacity(3, 0);
        for (i, scale) in [0.01, 1e30, 0.02].into_iter().enumerate() {
            s.positions.push(Vec3::new(i as f32 * 0.01, 0.0, 0.0));
            s.rotations.push(Quat::IDENTITY);
            s.scales.push(Vec3::splat(scale));
            s.opacities.push(0.8);
            s.sh.push([0.1 * i as f32; 3]);
        }
        let packed = pack_splats(&s);
        assert_eq!(packed.chunks.len(), 1);
        let chunk = &packed.chunks[0];
        // The chunk's scale range is that of the two drawable splats alone.
        assert!((chunk.log_scale_max.x - 0.02f32.ln()).abs() < 1e-6, "{:?}", chunk.log_scale_max);
        for slot in 0..3 {
            let i = packed.order[slot] as usize;
            let (_, _, scale, opacity, _) = unpack_splat(&packed, 0, slot);
            if i == 1 {
                assert_eq!(opacity, 0.0, "the outlier is hidden");
            } else {
                assert!((scale.x / s.scales[i].x - 1.0).abs() < 0.002, "splat {i}: {scale}");
                assert!((opacity - 0.8).abs() <= 0.5 / 255.0);
            }
        }
        // A chunk of nothing but outliers packs without NaN.
        let mut all = s.clone();
        all.retain(|i| i == 1);
        let packed = pack_splats(&all);
        let (p, _, scale, opacity, _) = unpack_splat(&packed, 0, 0);
        assert!(p.is_finite() && scale.is_finite() && opacity == 0.0);
    }

    #[test]
    fn empty_and_degenerate_assets() {
        let empty = pack_splats(&GaussianSplats::default());
        assert!(empty.splats.is_empty() && empty.chunks.is_empty());
        let mut one = GaussianSplats::with_capacity(1, 0);
        one.positions.push(Vec3::splat(1e6));
        one.rotations.push(Quat::IDENTITY);
        one.scales.push(Vec3::ZERO);
        one.opacities.push(1.0);
        one.sh.push([0.5, 0.5, 0.5]);
        let packed = pack_splats(&one);
        let (p, q, _, opacity, sh) = unpack_splat(&packed, 0, 0);
        assert_eq!(p, Vec3::splat(1e6));
        assert!(q.dot(Quat::IDENTITY).abs() > 0.9999);
        assert_eq!(opacity, 1.0);
        assert_eq!(sh, vec![[0.5, 0.5, 0.5]]);
    }
}
