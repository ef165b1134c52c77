//! The GPU packing of per-splat motion data: the one definition of the layout.
//!
//! [`SplatMotion::gpu_words`] returns `(kind, stride, words)`: `words` holds
//! `stride` `vec4<f32>` per splat, splat-major (splat `i` at
//! `words[i * stride .. (i + 1) * stride]`), in the asset's axis frame.
//!
//! | kind | stride | vec4 0 | vec4 1 | vec4 2 | vec4 3 |
//! |---|---|---|---|---|---|
//! | [`MOTION_KIND_STATIC`] = 0 | 0 | | | | |
//! | [`MOTION_KIND_SPACETIME`] = 1 | 4 | `(m₁.xyz, trbf_center)` | `(m₂.xyz, trbf_scale)` | `(m₃.xyz, 0)` | `ω (x, y, z, w)` |
//! | [`MOTION_KIND_SLICED_4D`] = 2 | 3 | `(Σxx, Σxy, Σxz, Σyy)` | `(Σyz, Σzz, Σxt, Σyt)` | `(Σzt, Σtt, μ_t, 0)` | |
//!
//! `trbf_scale` is linear (already `exp`-activated); ω uses the same `(x, y, z,
//! w)` component order as the splat rotations and is added to the *unit*
//! rotation before normalising. The static attributes (position, rotation,
//! scale, opacity, SH) are packed as for static scenes; see
//! [`GaussianSplats::evaluate`](crate::splat::asset::GaussianSplats::evaluate)
//! for the formulas.

use super::SplatMotion;

/// Kind code of a static scene (no motion words).
pub const MOTION_KIND_STATIC: u32 = 0;
/// Kind code of a Spacetime Gaussians lite scene.
pub const MOTION_KIND_SPACETIME: u32 = 1;
/// Kind code of a sliced 4D Gaussian scene.
pub const MOTION_KIND_SLICED_4D: u32 = 2;
/// `vec4`s per splat for [`MOTION_KIND_SPACETIME`].
pub const SPACETIME_STRIDE_VEC4: u32 = 4;
/// `vec4`s per splat for [`MOTION_KIND_SLICED_4D`].
pub const SLICED_4D_STRIDE_VEC4: u32 = 3;

impl SplatMotion {
    /// `vec4`s of motion data per splat on the GPU (0 for static scenes).
    pub fn gpu_stride_vec4(&self) -> u32 {
        match self {
            SplatMotion::Static => 0,
            SplatMotion::Spacetime(_) => SPACETIME_STRIDE_VEC4,
            SplatMotion::Sliced4d(_) => SLICED_4D_STRIDE_VEC4,
        }
    }

    /// The motion data packed for the GPU: `(kind, vec4s per splat, words)`;
    /// see the [module docs](self) for the layout. Static scenes give
    /// `(0, 0, [])`.
    pub fn gpu_words(&self) -> (u32, u32, Vec<[f32; 4]>) {
        match self {
            SplatMotion::Static => (MOTION_KIND_STATIC, 0, Vec::new()),
            SplatMotion::Spacetime(m) => {
                let mut words = Vec::with_capacity(m.trbf_center.len() * SPACETIME_STRIDE_VEC4 as usize);
                for (((c, s), p), w) in m.trbf_center.iter().zip(&m.trbf_scale).zip(&m.polynomial).zip(&m.omega) {
                    let [m1, m2, m3] = *p;
                    words.push(m1.extend(*c).to_array());
                    words.push(m2.extend(*s).to_array());
                    words.push(m3.extend(0.0).to_array());
                    words.push(w.to_array());
                }
                (MOTION_KIND_SPACETIME, SPACETIME_STRIDE_VEC4, words)
            }
            SplatMotion::Sliced4d(m) => {
                let mut words = Vec::with_capacity(m.covariance.len() * SLICED_4D_STRIDE_VEC4 as usize);
                for (c, t) in m.covariance.iter().zip(&m.mean_time) {
                    words.push([c[0], c[1], c[2], c[3]]);
                    words.push([c[4], c[5], c[6], c[7]]);
                    words.push([c[8], c[9], *t, 0.0]);
                }
                (MOTION_KIND_SLICED_4D, SLICED_4D_STRIDE_VEC4, words)
            }
        }
    }
}
