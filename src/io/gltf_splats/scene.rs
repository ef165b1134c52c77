//! The node graph and node transforms (covariance re-diagonalisation, SH band
//! rotation), and the conversion between the glTF and canonical frames.

use bevy::math::{DMat3, DMat4, DQuat, DVec3, Quat, Vec3};

use super::container::{Doc, NodeDef};
use super::error::{GltfSplatError, Result};
use crate::splat::asset::GaussianSplats;

impl Doc<'_> {
    /// The mesh instances of the displayed scene: (node, global matrix, mesh).
    pub(super) fn instances(&self) -> Result<Vec<(Option<usize>, DMat4, usize)>> {
        let root = &self.root;
        let roots: Vec<usize> = if !root.scenes.is_empty() {
            let index = root.scene.unwrap_or(0);
            root.scenes
                .get(index)
                .ok_or(GltfSplatError::InvalidIndex {
                    kind: "scene",
                    index,
                })?
                .nodes
                .clone()
        } else if !root.nodes.is_empty() {
            let mut is_child = vec![false; root.nodes.len()];
            for node in &root.nodes {
                for &c in &node.children {
                    if let Some(flag) = is_child.get_mut(c) {
                        *flag = true;
                    }
                }
            }
            (0..root.nodes.len()).filter(|&n| !is_child[n]).collect()
        } else {
            return Ok((0..root.meshes.len())
                .map(|m| (None, DMat4::IDENTITY, m))
                .collect());
        };
        let mut visited = vec![false; root.nodes.len()];
        let mut out = Vec::new();
        let mut stack: Vec<(usize, DMat4)> =
            roots.iter().rev().map(|&n| (n, DMat4::IDENTITY)).collect();
        while let Some((n, parent)) = stack.pop() {
            let node = root.nodes.get(n).ok_or(GltfSplatError::InvalidIndex {
                kind: "node",
                index: n,
            })?;
            match visited.get_mut(n) {
                Some(seen) if !*seen => *seen = true,
                _ => return Err(GltfSplatError::InvalidNodeHierarchy { node: n }),
            }
            let world = parent * local_matrix(node);
            if let Some(mesh) = node.mesh {
                out.push((Some(n), world, mesh));
            }
            for &c in node.children.iter().rev() {
                stack.push((c, world));
            }
        }
        Ok(out)
    }
}

fn local_matrix(node: &NodeDef) -> DMat4 {
    if let Some(m) = &node.matrix {
        return DMat4::from_cols_array(m);
    }
    let t = node.translation.map_or(DVec3::ZERO, DVec3::from_array);
    let r = node
        .rotation
        .map_or(DQuat::IDENTITY, |[x, y, z, w]| DQuat::from_xyzw(x, y, z, w));
    let s = node.scale.map_or(DVec3::ONE, DVec3::from_array);
    DMat4::from_scale_rotation_translation(s, r, t)
}

// ---------------------------------------------------------------------------
// Node transforms

enum CovarianceMap {
    /// Rotations and scales unchanged.
    Keep,
    /// Rotate by `rotation`, multiply scales by `scale`.
    Similarity { rotation: DQuat, scale: f64 },
    /// Re-diagonalise `A C Cᵀ Aᵀ`.
    General(DMat3),
}

pub(super) struct InstanceTransform {
    /// `None` for the identity.
    affine: Option<(DMat3, DVec3)>,
    covariance: CovarianceMap,
    /// Per-band SH matrices (degrees 1..), `None` when the rotation is the identity.
    sh: Option<Vec<Vec<f64>>>,
}

impl InstanceTransform {
    pub(super) fn identity() -> Self {
        InstanceTransform {
            affine: None,
            covariance: CovarianceMap::Keep,
            sh: None,
        }
    }

    pub(super) fn new(node: usize, m: &DMat4, sh_degree: u8) -> Result<Self> {
        let degenerate = GltfSplatError::DegenerateTransform { node };
        if !m.is_finite() {
            return Err(degenerate);
        }
        let a = DMat3::from_mat4(*m);
        let t = m.w_axis.truncate();
        if a == DMat3::IDENTITY {
            return Ok(InstanceTransform {
                affine: (t != DVec3::ZERO).then_some((a, t)),
                covariance: CovarianceMap::Keep,
                sh: None,
            });
        }
        let norms = a.x_axis.length() * a.y_axis.length() * a.z_axis.length();
        let det = a.determinant();
        if norms.is_nan()
            || norms <= 0.0
            || det.is_nan()
            || det.abs() <= 1e-12 * norms
            || !det.is_finite()
        {
            return Err(degenerate);
        }
        // Polar decomposition A = Q·P, P = (AᵀA)^½.
        let ata = a.transpose() * a;
        let (lambda, v) = sym_eigen(ata);
        if lambda.iter().any(|l| l.is_nan() || *l <= 0.0) {
            return Err(degenerate);
        }
        let inv_sqrt = DMat3::from_diagonal(DVec3::new(
            1.0 / lambda[0].sqrt(),
            1.0 / lambda[1].sqrt(),
            1.0 / lambda[2].sqrt(),
        ));
        let q = a * (v * inv_sqrt * v.transpose());
        let r2 = (ata.x_axis.x + ata.y_axis.y + ata.z_axis.z) / 3.0;
        let diff = ata - DMat3::from_diagonal(DVec3::splat(r2));
        let similar = diff.to_cols_array().iter().all(|d| d.abs() <= 1e-6 * r2);
        let covariance = if similar {
            // A = r·Q; for a mirror (det < 0), r·Q·C Cᵀ·Qᵀ·r = r·(−Q)·C Cᵀ·(−Q)ᵀ·r.
            let proper = if det < 0.0 { q * -1.0 } else { q };
            CovarianceMap::Similarity {
                rotation: DQuat::from_mat3(&proper).normalize(),
                scale: r2.sqrt(),
            }
        } else {
            CovarianceMap::General(a)
        };
        let sh = if sh_degree > 0
            && (q - DMat3::IDENTITY)
                .to_cols_array()
                .iter()
                .any(|d| d.abs() > 1e-12)
        {
            let mut bands = Vec::new();
            for l in 1..=sh_degree {
                bands.push(
                    sh_band_matrix(l, &q).ok_or(GltfSplatError::DegenerateTransform { node })?,
                );
            }
            Some(bands)
        } else {
            None
        };
        Ok(InstanceTransform {
            affine: Some((a, t)),
            covariance,
            sh,
        })
    }

    /// Transforms the splats from index `base` on.
    pub(super) fn apply(&self, s: &mut GaussianSplats, base: usize) {
        let Some((a, t)) = self.affine else {
            return;
        };
        for p in s.positions.iter_mut().skip(base) {
            *p = (a * p.as_dvec3() + t).as_vec3();
        }
        match &self.covariance {
            CovarianceMap::Keep => {}
            CovarianceMap::Similarity { rotation, scale } => {
                for (q, sc) in s.rotations.iter_mut().zip(s.scales.iter_mut()).skip(base) {
                    *q = (*rotation * q.as_dquat()).normalize().as_quat();
                    *sc = (sc.as_dvec3() * *scale).as_vec3();
                }
            }
            CovarianceMap::General(a) => {
                for (q, sc) in s.rotations.iter_mut().zip(s.scales.iter_mut()).skip(base) {
                    let b = *a
                        * DMat3::from_quat(q.as_dquat().normalize())
                        * DMat3::from_diagonal(sc.as_dvec3());
                    let (lambda, mut v) = sym_eigen(b * b.transpose());
                    if v.determinant() < 0.0 {
                        v.z_axis = -v.z_axis;
                    }
                    *q = DQuat::from_mat3(&v).normalize().as_quat();
                    *sc = DVec3::new(
                        lambda[0].max(0.0).sqrt(),
                        lambda[1].max(0.0).sqrt(),
                        lambda[2].max(0.0).sqrt(),
                    )
                    .as_vec3();
                }
            }
        }
        if let Some(bands) = &self.sh {
            let k = s.sh_per_splat();
            if k == 0 {
                return;
            }
            for coeffs in s.sh.chunks_exact_mut(k).skip(base) {
                for (l, m) in bands.iter().enumerate() {
                    let l = l + 1;
                    let (off, n) = (l * l, 2 * l + 1);
                    let Some(band) = coeffs.get_mut(off..off + n) else {
                        continue;
                    };
                    let old: Vec<[f64; 3]> = band
                        .iter()
                        .map(|c| [c[0] as f64, c[1] as f64, c[2] as f64])
                        .collect();
                    for (i, c) in band.iter_mut().enumerate() {
                        let mut acc = [0.0f64; 3];
                        for (j, o) in old.iter().enumerate() {
                            let w = m.get(i * n + j).copied().unwrap_or(0.0);
                            for ch in 0..3 {
                                acc[ch] += w * o[ch];
                            }
                        }
                        *c = [acc[0] as f32, acc[1] as f32, acc[2] as f32];
                    }
                }
            }
        }
    }
}

/// Eigen-decomposition of a symmetric 3×3 matrix by cyclic Jacobi rotations:
/// eigenvalues and the matrix whose columns are the eigenvectors.
pub(super) fn sym_eigen(m: DMat3) -> ([f64; 3], DMat3) {
    // a[row][col]
    let c = m.to_cols_array_2d();
    let mut a = [[0.0f64; 3]; 3];
    for (col, column) in c.iter().enumerate() {
        for (row, v) in column.iter().enumerate() {
            a[row][col] = *v;
        }
    }
    let mut v = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    for _ in 0..64 {
        let off = a[0][1] * a[0][1] + a[0][2] * a[0][2] + a[1][2] * a[1][2];
        let diag = a[0][0] * a[0][0] + a[1][1] * a[1][1] + a[2][2] * a[2][2];
        if off.is_nan() || off <= 1e-30 * diag {
            break;
        }
        for (p, q) in [(0usize, 1usize), (0, 2), (1, 2)] {
            if a[p][q] == 0.0 {
                continue;
            }
            let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
            let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
            let cos = 1.0 / (t * t + 1.0).sqrt();
            let sin = t * cos;
            for row in a.iter_mut() {
                let (akp, akq) = (row[p], row[q]);
                row[p] = cos * akp - sin * akq;
                row[q] = sin * akp + cos * akq;
            }
            let (rp, rq) = (a[p], a[q]);
            a[p] = std::array::from_fn(|k| cos * rp[k] - sin * rq[k]);
            a[q] = std::array::from_fn(|k| sin * rp[k] + cos * rq[k]);
            for row in v.iter_mut() {
                let (vkp, vkq) = (row[p], row[q]);
                row[p] = cos * vkp - sin * vkq;
                row[q] = sin * vkp + cos * vkq;
            }
        }
    }
    let vectors = DMat3::from_cols(
        DVec3::new(v[0][0], v[1][0], v[2][0]),
        DVec3::new(v[0][1], v[1][1], v[2][1]),
        DVec3::new(v[0][2], v[1][2], v[2][2]),
    );
    ([a[0][0], a[1][1], a[2][2]], vectors)
}

/// The 16 real SH basis functions of degrees 0..=3 at unit direction `d`, in
/// the 3DGS / `KHR_gaussian_splatting` convention (Condon–Shortley signs).
pub(super) fn sh_basis(d: DVec3) -> [f64; 16] {
    let (x, y, z) = (d.x, d.y, d.z);
    let (xx, yy, zz) = (x * x, y * y, z * z);
    const C1: f64 = 0.488_602_511_902_919_9;
    [
        0.282_094_791_773_878_1,
        -C1 * y,
        C1 * z,
        -C1 * x,
        1.092_548_430_592_079 * x * y,
        -1.092_548_430_592_079 * y * z,
        0.315_391_565_252_52 * (2.0 * zz - xx - yy),
        -1.092_548_430_592_079 * x * z,
        0.546_274_215_296_039_5 * (xx - yy),
        -0.590_043_589_926_643_5 * y * (3.0 * xx - yy),
        2.890_611_442_640_554 * x * y * z,
        -0.457_045_799_464_465_7 * y * (4.0 * zz - xx - yy),
        0.373_176_332_590_115_4 * z * (2.0 * zz - 3.0 * xx - 3.0 * yy),
        -0.457_045_799_464_465_7 * x * (4.0 * zz - xx - yy),
        1.445_305_721_320_277 * z * (xx - yy),
        -0.590_043_589_926_643_5 * x * (xx - 3.0 * yy),
    ]
}

/// The `(2l+1)²` row-major matrix `M` of SH band `l` under the orthogonal map
/// `q` (local → world): world coefficients `c' = M c`, so that
/// `Σ c'ᵢ Yᵢ(d) = Σ cⱼ Yⱼ(qᵀ d)` for every direction `d`. Found by least squares
/// over well-spread directions (exact up to rounding, since each band is
/// closed under rotations and `Y(−d) = (−1)ˡ Y(d)` covers mirrors).
pub(super) fn sh_band_matrix(l: u8, q: &DMat3) -> Option<Vec<f64>> {
    const SAMPLES: usize = 64;
    let l = l as usize;
    let (off, n) = (l * l, 2 * l + 1);
    let qt = q.transpose();
    // Normal equations (AᵀA) M = AᵀB with A = Y(d), B = Y(qᵀ d).
    let mut ata = vec![0.0f64; n * n];
    let mut atb = vec![0.0f64; n * n];
    let golden = core::f64::consts::PI * (3.0 - 5.0f64.sqrt());
    for s in 0..SAMPLES {
        let z = 1.0 - (2.0 * s as f64 + 1.0) / SAMPLES as f64;
        let r = (1.0 - z * z).max(0.0).sqrt();
        let phi = golden * s as f64;
        let d = DVec3::new(r * phi.cos(), r * phi.sin(), z);
        let ya = sh_basis(d);
        let yb = sh_basis((qt * d).normalize());
        for i in 0..n {
            for j in 0..n {
                ata[i * n + j] += ya[off + i] * ya[off + j];
                atb[i * n + j] += ya[off + i] * yb[off + j];
            }
        }
    }
    // Gauss–Jordan elimination with partial pivoting on [AᵀA | AᵀB].
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&r1, &r2| ata[r1 * n + col].abs().total_cmp(&ata[r2 * n + col].abs()))?;
        let p = ata[pivot * n + col].abs();
        if p.is_nan() || p <= 1e-12 {
            return None;
        }
        for k in 0..n {
            ata.swap(col * n + k, pivot * n + k);
            atb.swap(col * n + k, pivot * n + k);
        }
        let inv = 1.0 / ata[col * n + col];
        for k in 0..n {
            ata[col * n + k] *= inv;
            atb[col * n + k] *= inv;
        }
        for row in 0..n {
            if row == col {
                continue;
            }
            let f = ata[row * n + col];
            if f == 0.0 {
                continue;
            }
            for k in 0..n {
                ata[row * n + k] -= f * ata[col * n + k];
                atb[row * n + k] -= f * atb[col * n + k];
            }
        }
    }
    Some(atb)
}

// ---------------------------------------------------------------------------
// Frames

/// Sign of each SH basis function (degrees 0..=3) under `(x, y, z) → (x, −y, −z)`.
pub(super) const YZ_FLIP_SH_SIGNS: [f32; 16] = [
    1.0, -1.0, -1.0, 1.0, -1.0, 1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0, -1.0, 1.0, -1.0, 1.0,
];

fn flip_sh_signs(s: &mut GaussianSplats) {
    let k = s.sh_per_splat();
    if k <= 1 {
        return;
    }
    for coeffs in s.sh.chunks_exact_mut(k) {
        for (c, sign) in coeffs.iter_mut().zip(YZ_FLIP_SH_SIGNS) {
            for v in c.iter_mut() {
                *v *= sign;
            }
        }
    }
}

/// glTF frame (+Y up) → canonical 3DGS frame (+Y down): the 180° rotation about
/// X of [`GaussianSplats::flip_yz`], without rounding (`r·q` with `r = i`).
pub(super) fn gltf_to_canonical(s: &mut GaussianSplats) {
    for p in &mut s.positions {
        *p = Vec3::new(p.x, -p.y, -p.z);
    }
    for q in &mut s.rotations {
        *q = Quat::from_xyzw(q.w, -q.z, q.y, -q.x);
    }
    flip_sh_signs(s);
}

/// The exact inverse of [`gltf_to_canonical`] (`r⁻¹·q`).
pub(super) fn canonical_to_gltf(s: &mut GaussianSplats) {
    for p in &mut s.positions {
        *p = Vec3::new(p.x, -p.y, -p.z);
    }
    for q in &mut s.rotations {
        *q = Quat::from_xyzw(-q.w, q.z, -q.y, q.x);
    }
    flip_sh_signs(s);
}
