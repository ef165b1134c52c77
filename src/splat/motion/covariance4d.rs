//! The 4D rotation and covariance of a sliced 4D Gaussian, as the fudan-zvg
//! model builds them (`utils/general_utils.py`, `build_rotation_4d` and
//! `build_scaling_rotation_4d`).
//!
//! With the left quaternion `q_l = (a, b, c, d)` and the right quaternion
//! `q_r = (p, q, r, s)` (real part first, both normalised), the model forms
//! `A = M_l · M_r`, `M_l` the matrix of left multiplication by `q_l` and `M_r`
//! that of right multiplication by the conjugate of `q_r` (so `A·x = q_l x q̄_r`
//! on quaternions `x`), then reverses both the row and column order of `A`
//! (`flip(1, 2)`): the rotation acting on `(x, y, z, t)` is
//! `R[i][j] = A[3 − i][3 − j]`. The covariance is `Σ = R·diag(s)²·Rᵀ` with
//! `s = (s_x, s_y, s_z, s_t)`.

use bevy::math::{Quat, Vec4};

/// The 4D rotation acting on `(x, y, z, t)` (row-major) for a left and a right
/// quaternion (glam storage: `(x, y, z, w)` = fudan's `(b, c, d, a)`). Both are
/// normalised first; a zero quaternion counts as the identity.
pub fn rotation_4d(left: Quat, right: Quat) -> [[f32; 4]; 4] {
    let unit = |q: Quat| {
        let len = q.length();
        if len > 0.0 && len.is_finite() {
            q / len
        } else {
            Quat::IDENTITY
        }
    };
    let (l, r) = (unit(left), unit(right));
    let (a, b, c, d) = (l.w, l.x, l.y, l.z);
    let (p, q, r_, s) = (r.w, r.x, r.y, r.z);
    let m_l = [
        [a, -b, -c, -d],
        [b, a, -d, c],
        [c, d, a, -b],
        [d, -c, b, a],
    ];
    let m_r = [
        [p, q, r_, s],
        [-q, p, -s, r_],
        [-r_, s, p, -q],
        [-s, -r_, q, p],
    ];
    let mut out = [[0.0f32; 4]; 4];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            // A[3 − i][3 − j] with A = M_l · M_r.
            let (ai, aj) = (3 - i, 3 - j);
            *v = (0..4).map(|k| m_l[ai][k] * m_r[k][aj]).sum();
        }
    }
    out
}

/// The 10 unique entries `(Σxx, Σxy, Σxz, Σyy, Σyz, Σzz, Σxt, Σyt, Σzt, Σtt)`
/// of `Σ = R·diag(scale)²·Rᵀ`, `R` = [`rotation_4d`]`(left, right)`, `scale`
/// the linear standard deviations `(s_x, s_y, s_z, s_t)`.
pub fn covariance_4d(scale: Vec4, left: Quat, right: Quat) -> [f32; 10] {
    let rot = rotation_4d(left, right);
    let s2 = (scale * scale).to_array();
    let e = |i: usize, j: usize| -> f32 { (0..4).map(|k| rot[i][k] * s2[k] * rot[j][k]).sum() };
    [
        e(0, 0),
        e(0, 1),
        e(0, 2),
        e(1, 1),
        e(1, 2),
        e(2, 2),
        e(0, 3),
        e(1, 3),
        e(2, 3),
        e(3, 3),
    ]
}
