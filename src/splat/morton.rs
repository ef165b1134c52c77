//! Morton (Z-curve) order of splat centres: neighbouring indices hold
//! neighbouring splats. Used to pack GPU chunks, to lay out SOG planes and to
//! find merge candidates when simplifying a capture.

use bevy::math::Vec3;

/// Bits per axis of a Morton code (three axes in 63 bits).
const BITS: u32 = 21;

/// Spreads the low 21 bits of `v` to every third bit.
pub(crate) fn spread_bits(v: u64) -> u64 {
    let mut x = v & 0x1f_ffff;
    x = (x | (x << 32)) & 0x001f_0000_0000_ffff;
    x = (x | (x << 16)) & 0x001f_0000_ff00_00ff;
    x = (x | (x << 8)) & 0x100f_00f0_0f00_f00f;
    x = (x | (x << 4)) & 0x10c3_0c30_c30c_30c3;
    x = (x | (x << 2)) & 0x1249_2492_4924_9249;
    x
}

/// The indices of `positions` in Morton order over their bounding box,
/// 21 bits per axis (ties in index order).
pub fn morton_order(positions: &[Vec3]) -> Vec<u32> {
    let mut lo = Vec3::INFINITY;
    let mut hi = Vec3::NEG_INFINITY;
    for p in positions {
        lo = lo.min(*p);
        hi = hi.max(*p);
    }
    morton_order_in(positions, lo, hi)
}

/// The indices of `positions` in Morton order over the box `lo..hi` (points
/// outside are clamped to it), 21 bits per axis, ties in index order. A box
/// shifted against the points' own bounds gives a second curve whose jumps
/// fall elsewhere.
pub fn morton_order_in(positions: &[Vec3], lo: Vec3, hi: Vec3) -> Vec<u32> {
    let cells = ((1u32 << BITS) - 1) as f32;
    let scale = Vec3::select((hi - lo).cmpgt(Vec3::ZERO), cells / (hi - lo), Vec3::ZERO);
    let mut keyed: Vec<(u64, u32)> = positions
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let cell = ((*p - lo) * scale).clamp(Vec3::ZERO, Vec3::splat(cells));
            let code = spread_bits(cell.x as u64) | spread_bits(cell.y as u64) << 1 | spread_bits(cell.z as u64) << 2;
            (code, i as u32)
        })
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn morton_order_walks_the_z_curve() {
        let corners: Vec<Vec3> = (0..8).rev().map(|c| Vec3::new((c & 1) as f32, (c >> 1 & 1) as f32, (c >> 2 & 1) as f32)).collect();
        // Input corner c sits at index 7 - c; Morton order visits c = 0..8.
        assert_eq!(morton_order(&corners), (0..8).rev().collect::<Vec<u32>>());
        assert_eq!(spread_bits(0b111), 0b1001001);
        // NaN-free degenerate input: one point, and all points equal.
        assert_eq!(morton_order(&[Vec3::ONE]), vec![0]);
        assert_eq!(morton_order(&[Vec3::ONE; 3]), vec![0, 1, 2]);
        assert!(morton_order(&[]).is_empty());
    }
}
