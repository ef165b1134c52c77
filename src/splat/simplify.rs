//! Simplifying a capture to fewer splats by merging neighbours: the coarser
//! levels of a LOD tree.
//!
//! Each pass pairs neighbouring splats and replaces every pair by one
//! moment-matched Gaussian:
//!
//! * weights `w = α · A`, with `A` the ellipsoid's surface area (Knud
//!   Thomsen's approximation): the "ink" a splat puts on screen, so thin and
//!   transparent splats weigh what they show;
//! * mean and covariance of the two-component mixture (law of total
//!   variance: `Σ = Σₖ pₖ (Σₖ + δₖ δₖᵀ)`), split back into scales and a
//!   rotation by a symmetric eigen-decomposition;
//! * opacity conserving the ink, `α = min(1, (w₁ + w₂) / A_merged)`;
//! * every SH coefficient the `p`-weighted mean.
//!
//! Candidate pairs are the neighbours of each splat along two Morton curves
//! (the second over a shifted box, so the first one's jumps are covered),
//! ranked by Ward's criterion, the growth of the weighted second moment a
//! merge causes: `w₁w₂/(w₁+w₂) · (|μ₁ − μ₂|² + s̄² |c₁ − c₂|²)`, with the
//! colour difference `c` of the DC terms counted at the pair's mean size
//! `s̄`, so the criterion does not depend on the scene's units. Pairs are
//! taken greedily, cheapest first, each splat in at most one pair; passes
//! repeat until the target count is reached. The same input always gives
//! the same output.

use bevy::math::{DMat3, DQuat, DVec3, Vec3};

use super::asset::{GaussianSplats, SplatDataError};
use super::morton::{morton_order, morton_order_in};
use super::motion::SplatMotion;

/// Neighbours on each side of a splat, along each Morton curve, that are
/// considered for merging.
const WINDOW: usize = 6;

/// Exponent of Knud Thomsen's ellipsoid surface-area approximation (error
/// ≤ 1.06 %).
const THOMSEN_P: f64 = 1.6075;

/// The smallest variance a merged splat gets (a scale of 10⁻¹²).
const MIN_VARIANCE: f64 = 1e-24;

/// Why a capture cannot be simplified.
#[derive(Debug, thiserror::Error)]
pub enum SimplifyError {
    /// Motion is not merged: simplify each frame of a sequence instead.
    #[error("a dynamic capture cannot be simplified (merging does not carry motion)")]
    Dynamic,
    /// The capture holds invalid values (NaN, negative scales, …).
    #[error(transparent)]
    Invalid(#[from] SplatDataError),
}

/// `splats` reduced to at most `target` splats (at least one) by merging
/// neighbours (see the [module docs](self)). A capture already at or under
/// the target is returned unchanged.
pub fn simplify(splats: &GaussianSplats, target: usize) -> Result<GaussianSplats, SimplifyError> {
    if !matches!(splats.motion, SplatMotion::Static) {
        return Err(SimplifyError::Dynamic);
    }
    splats.validate()?;
    let target = target.max(1);
    let mut current = splats.clone();
    while current.len() > target {
        let merged = merge_pass(&current, current.len() - target);
        if merged.len() == current.len() {
            break;
        }
        current = merged;
    }
    Ok(current)
}

/// One splat in the merge's terms.
struct Moments {
    mean: DVec3,
    covariance: DMat3,
    /// `α · area`.
    weight: f64,
    /// Mean variance, `tr Σ / 3`.
    size2: f64,
}

fn moments(splats: &GaussianSplats, i: usize) -> Moments {
    let scale = splats.scales[i].as_dvec3();
    let rotation = DMat3::from_quat(splats.rotations[i].as_dquat().normalize());
    let covariance = rotation * DMat3::from_diagonal(scale * scale) * rotation.transpose();
    Moments {
        mean: splats.positions[i].as_dvec3(),
        covariance,
        weight: splats.opacities[i] as f64 * ellipsoid_area(scale) + 1e-30,
        size2: (scale * scale).element_sum() / 3.0,
    }
}

/// Surface area of the ellipsoid with semi-axes `s` (Knud Thomsen).
fn ellipsoid_area(s: DVec3) -> f64 {
    let p = THOMSEN_P;
    let mean = ((s.x * s.y).powf(p) + (s.x * s.z).powf(p) + (s.y * s.z).powf(p)) / 3.0;
    4.0 * std::f64::consts::PI * mean.powf(1.0 / p)
}

/// Merges at most `wanted` disjoint pairs of `splats`; returns the new
/// capture (merged pairs where their first splat was, other splats in
/// order).
fn merge_pass(splats: &GaussianSplats, wanted: usize) -> GaussianSplats {
    let n = splats.len();
    let prepared: Vec<Moments> = (0..n).map(|i| moments(splats, i)).collect();
    let k = splats.sh_per_splat();
    let dc = |i: usize| Vec3::from_array(splats.sh[i * k]).as_dvec3();
    let cost = |a: usize, b: usize| {
        let (ma, mb) = (&prepared[a], &prepared[b]);
        let ward = ma.weight * mb.weight / (ma.weight + mb.weight);
        let size2 = 0.5 * (ma.size2 + mb.size2);
        ward * (ma.mean.distance_squared(mb.mean) + size2 * dc(a).distance_squared(dc(b)))
    };
    // Candidates along two Morton curves.
    let (lo, hi) = splats.bounds().unwrap_or((Vec3::ZERO, Vec3::ONE));
    let extent = (hi - lo).max(Vec3::splat(1e-6));
    let curves = [morton_order(&splats.positions), morton_order_in(&splats.positions, lo - extent / 3.0, hi + extent * 2.0 / 3.0)];
    let mut edges: Vec<(f64, u32, u32)> = Vec::with_capacity(n * WINDOW * 2);
    for curve in &curves {
        for (i, &a) in curve.iter().enumerate() {
            for &b in curve.iter().skip(i + 1).take(WINDOW) {
                let (a, b) = (a.min(b), a.max(b));
                edges.push((cost(a as usize, b as usize), a, b));
            }
        }
    }
    edges.sort_unstable_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
    let mut partner = vec![u32::MAX; n];
    let mut pairs = 0;
    for &(_, a, b) in &edges {
        if pairs == wanted {
            break;
        }
        if partner[a as usize] == u32::MAX && partner[b as usize] == u32::MAX {
            partner[a as usize] = b;
            partner[b as usize] = a;
            pairs += 1;
        }
    }
    let mut out = GaussianSplats::with_capacity(n - pairs, splats.sh_degree);
    for (i, &j) in partner.iter().enumerate() {
        match j {
            u32::MAX => out.push_from(splats, i),
            j if j as usize > i => merge_into(&mut out, splats, &prepared, i, j as usize),
            _ => {}
        }
    }
    out
}

/// Appends the moment-matched merge of splats `i` and `j` to `out`.
fn merge_into(out: &mut GaussianSplats, splats: &GaussianSplats, prepared: &[Moments], i: usize, j: usize) {
    let (a, b) = (&prepared[i], &prepared[j]);
    let total = a.weight + b.weight;
    let (pa, pb) = (a.weight / total, b.weight / total);
    let mean = a.mean * pa + b.mean * pb;
    let (da, db) = (a.mean - mean, b.mean - mean);
    let outer = |d: DVec3| DMat3::from_cols(d * d.x, d * d.y, d * d.z);
    let covariance = (a.covariance + outer(da)) * pa + (b.covariance + outer(db)) * pb;
    let (variances, axes) = symmetric_eigen(covariance);
    let scale = variances.max(DVec3::splat(MIN_VARIANCE)).map(f64::sqrt);
    let opacity = (total / ellipsoid_area(scale).max(1e-300)).min(1.0);
    out.positions.push(mean.as_vec3());
    out.rotations.push(DQuat::from_mat3(&axes).normalize().as_quat());
    out.scales.push(scale.as_vec3());
    out.opacities.push(opacity as f32);
    for (x, y) in splats.sh_of(i).iter().zip(splats.sh_of(j)) {
        out.sh.push(std::array::from_fn(|c| (x[c] as f64 * pa + y[c] as f64 * pb) as f32));
    }
}

/// Eigenvalues and eigenvectors (the columns of a rotation, determinant +1)
/// of a symmetric 3×3 matrix, by cyclic Jacobi rotations.
pub(crate) fn symmetric_eigen(m: DMat3) -> (DVec3, DMat3) {
    let mut a = m.to_cols_array_2d(); // a[col][row]; symmetric, so a[p][q] == a[q][p]
    let mut v = DMat3::IDENTITY.to_cols_array_2d();
    let scale = a.iter().flatten().fold(0.0f64, |s, x| s.max(x.abs()));
    for _ in 0..32 {
        let off = a[0][1].powi(2) + a[0][2].powi(2) + a[1][2].powi(2);
        if off <= (scale * 1e-15).powi(2) {
            break;
        }
        for (p, q) in [(0, 1), (0, 2), (1, 2)] {
            if a[p][q] == 0.0 {
                continue;
            }
            let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
            let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
            let c = 1.0 / (t * t + 1.0).sqrt();
            let s = t * c;
            // a ← Jᵀ a J with J the rotation by (c, s) in the (p, q) plane.
            for row in &mut a {
                let (x, y) = (row[p], row[q]);
                row[p] = c * x - s * y;
                row[q] = s * x + c * y;
            }
            let (row_p, row_q) = (a[p], a[q]);
            for k in 0..3 {
                a[p][k] = c * row_p[k] - s * row_q[k];
                a[q][k] = s * row_p[k] + c * row_q[k];
            }
            for row in &mut v {
                let (x, y) = (row[p], row[q]);
                row[p] = c * x - s * y;
                row[q] = s * x + c * y;
            }
        }
    }
    // `v` was built as rows of a column-major array: transpose back.
    let mut axes = DMat3::from_cols_array_2d(&v).transpose();
    if axes.determinant() < 0.0 {
        axes.z_axis = -axes.z_axis;
    }
    (DVec3::new(a[0][0], a[1][1], a[2][2]), axes)
}

#[cfg(test)]
mod tests;
