//! The antimatter15 `.splat` format (the WebGL viewer `antimatter15/splat`).
//!
//! A headerless array of 32-byte records, one per splat, little-endian:
//!
//! | bytes | content |
//! |---|---|
//! | 0..12 | position, 3 × `f32` |
//! | 12..24 | scale, 3 × `f32`, **linear** (`exp` of the training PLY's `scale_*`) |
//! | 24..28 | RGBA, 4 × `u8`: RGB = `(0.5 + SH_C0 · f_dc) · 255`, A = `opacity · 255` |
//! | 28..32 | rotation, 4 × `u8`, `w x y z`, each `q · 128 + 128` of the unit quaternion |
//!
//! The decoder reads rotation bytes as `(b − 128) / 128` and normalises them,
//! as the viewer does; four bytes of 128 (a zero quaternion) are rejected, as
//! in every format. There is no SH beyond the DC colour. Positions and rotations
//! are copied from the training PLY unchanged (the viewer's `convert.py` and PLY
//! importer), so the file is in the same frame as the PLY: the crate's canonical
//! frame, and no axis conversion is applied.

use bevy::math::{Quat, Vec3};

use super::values::quat_from_wxyz;
use crate::splat::asset::{GaussianSplats, SH_C0, SplatDataError};

/// Bytes per splat record.
pub const DOT_SPLAT_RECORD_BYTES: usize = 32;

/// Why a `.splat` file could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DotSplatError {
    /// The file's length is not a whole number of 32-byte records.
    #[error(".splat file is {len} bytes long, not a multiple of the 32-byte record size")]
    LengthNotMultipleOf32 {
        /// The file's length in bytes.
        len: usize,
    },
    /// The decoded splats contain NaN or infinite values.
    #[error("invalid splat data: {0}")]
    InvalidData(#[from] SplatDataError),
}

/// Parses a `.splat` file into validated splats (SH degree 0) in the file's
/// frame, which is the canonical training-PLY frame.
pub fn parse_dot_splat(bytes: &[u8]) -> Result<GaussianSplats, DotSplatError> {
    if !bytes.len().is_multiple_of(DOT_SPLAT_RECORD_BYTES) {
        return Err(DotSplatError::LengthNotMultipleOf32 { len: bytes.len() });
    }
    let n = bytes.len() / DOT_SPLAT_RECORD_BYTES;
    let mut splats = GaussianSplats::with_capacity(n, 0);
    let dc = |c: u8| (f32::from(c) / 255.0 - 0.5) / SH_C0;
    let rot = |b: u8| (f32::from(b) - 128.0) / 128.0;
    for record in bytes.chunks_exact(DOT_SPLAT_RECORD_BYTES) {
        let Ok(r) = <&[u8; DOT_SPLAT_RECORD_BYTES]>::try_from(record) else {
            continue;
        };
        // Fixed-size array: the constant indices below are checked at compile time.
        let f = |at: usize| f32::from_le_bytes([r[at], r[at + 1], r[at + 2], r[at + 3]]);
        splats.positions.push(Vec3::new(f(0), f(4), f(8)));
        splats.scales.push(Vec3::new(f(12), f(16), f(20)));
        splats.sh.push([dc(r[24]), dc(r[25]), dc(r[26])]);
        splats.opacities.push(f32::from(r[27]) / 255.0);
        splats.rotations.push(quat_from_wxyz(
            rot(r[28]),
            rot(r[29]),
            rot(r[30]),
            rot(r[31]),
        ));
    }
    splats.validate()?;
    Ok(splats)
}

/// Quantises to a byte: rounded, clamped to `0..=255` (NaN gives 0).
#[inline]
fn to_u8(x: f32) -> u8 {
    x.round().clamp(0.0, 255.0) as u8
}

/// Writes splats as a `.splat` file (records in the scene's order; only the SH
/// DC term is kept). Colours and opacities are rounded to bytes and clamped to
/// `[0, 1]`; rotations are normalised and stored as `round(q · 128 + 128)`
/// clamped to a byte. Meant for tests and tools: the input is not validated.
pub fn write_dot_splat(splats: &GaussianSplats) -> Vec<u8> {
    let n = splats.len();
    let k = splats.sh_per_splat();
    let mut out = Vec::with_capacity(n * DOT_SPLAT_RECORD_BYTES);
    for i in 0..n {
        let p = splats.positions.get(i).copied().unwrap_or(Vec3::ZERO);
        let s = splats.scales.get(i).copied().unwrap_or(Vec3::ZERO);
        let dc = splats.sh.get(i * k).copied().unwrap_or([0.0; 3]);
        let opacity = splats.opacities.get(i).copied().unwrap_or(0.0);
        let q = splats.rotations.get(i).copied().unwrap_or(Quat::IDENTITY);
        let q = if q.length_squared() > 0.0 {
            q.normalize()
        } else {
            Quat::IDENTITY
        };
        for v in p.to_array().into_iter().chain(s.to_array()) {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend(dc.map(|c| to_u8((0.5 + SH_C0 * c) * 255.0)));
        out.push(to_u8(opacity * 255.0));
        out.extend([q.w, q.x, q.y, q.z].map(|v| to_u8(v * 128.0 + 128.0)));
    }
    out
}

#[cfg(test)]
mod tests;
