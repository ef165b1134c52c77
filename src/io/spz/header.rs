//! SPZ header layouts, stream sizes, shared constants and the RUB ↔ RDF frame
//! conversion.

use bevy::math::Quat;

use super::{MAX_DECOMPRESSED_BYTES, SPZ_MAGIC, SPZ_MAX_SH_DEGREE, SpzError};
use crate::splat::asset::{GaussianSplats, sh_coefficient_count};

/// Scale of the DC colour bytes (the reference library's `colorScale`).
pub(super) const COLOR_SCALE: f32 = 0.15;

/// Header flag: trained with anti-aliasing.
pub(super) const FLAG_ANTIALIASED: u8 = 0x1;

/// Size of the version 1–3 header (inside the gzip stream).
pub(super) const LEGACY_HEADER_LEN: usize = 16;

/// Size of the version 4 header.
pub(super) const HEADER_LEN: usize = 32;

/// Size of one table-of-contents entry (compressed and uncompressed `u64` sizes).
pub(super) const TOC_ENTRY_LEN: usize = 16;

/// Deflate cannot expand more than about 1032:1, so a gzip file of `n` bytes
/// cannot hold more than `n · 1032` bytes of payload.
pub(super) const MAX_DEFLATE_RATIO: u64 = 1032;

/// The reference reader's bound on the zstd ratio: at most
/// `file size · 1024 / 9` points (9 = position bytes per point).
pub(super) const MAX_ZSTD_RATIO: u64 = 1024;

/// The reference reader consumes the point count as an `i32`.
pub(super) const MAX_POINTS: u64 = i32::MAX as u64;

/// Trailing bytes of a legacy stream (extension records) decompressed, and
/// discarded, to let the gzip checksum be verified; anything beyond is ignored.
pub(super) const MAX_LEGACY_TRAILER: u64 = 16 << 20;

/// Names of the six attribute streams, in file order.
pub(super) const STREAM_NAMES: [&str; 6] =
    ["positions", "alphas", "colors", "scales", "rotations", "sh"];

/// The fields shared by both header layouts.
#[derive(Clone, Copy, Debug)]
pub(super) struct Header {
    pub(super) version: u32,
    pub(super) num_points: u32,
    pub(super) sh_degree: u8,
    pub(super) fractional_bits: u8,
    pub(super) flags: u8,
}

/// Byte sizes of the six attribute streams for a header.
#[derive(Clone, Copy, Debug)]
pub(super) struct Layout {
    /// Bytes per point of each stream, in [`STREAM_NAMES`] order.
    pub(super) per_point: [u64; 6],
}

impl Layout {
    pub(super) fn new(version: u32, sh_degree: u8) -> Self {
        let position = if version == 1 { 6 } else { 9 };
        let rotation = if version >= 3 { 4 } else { 3 };
        let sh = (sh_coefficient_count(sh_degree) as u64 - 1) * 3;
        Self {
            per_point: [position, 1, 3, 3, rotation, sh],
        }
    }

    pub(super) fn bytes_per_point(&self) -> u64 {
        self.per_point.iter().sum()
    }

    /// Each stream's size for `n` points (cannot overflow: `n < 2³²` and at most
    /// 72 bytes per point).
    pub(super) fn sizes(&self, n: u64) -> [u64; 6] {
        self.per_point.map(|b| b * n)
    }
}

/// Little-endian `u32` at `at`, if in bounds.
pub(super) fn le_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(b))
}

/// Little-endian `u64` at `at`, if in bounds.
pub(super) fn le_u64(bytes: &[u8], at: usize) -> Option<u64> {
    let b: [u8; 8] = bytes.get(at..at.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(b))
}

/// Reads the fields common to both header layouts (the first 16 bytes).
pub(super) fn read_common_header(bytes: &[u8]) -> Result<Header, SpzError> {
    let truncated = || SpzError::Truncated {
        expected: LEGACY_HEADER_LEN as u64,
        found: bytes.len() as u64,
    };
    if le_u32(bytes, 0).ok_or_else(truncated)? != SPZ_MAGIC {
        return Err(SpzError::BadMagic);
    }
    let version = le_u32(bytes, 4).ok_or_else(truncated)?;
    let num_points = le_u32(bytes, 8).ok_or_else(truncated)?;
    let [sh_degree, fractional_bits, flags] = match bytes.get(12..15) {
        Some(&[a, b, c]) => [a, b, c],
        _ => return Err(truncated()),
    };
    Ok(Header {
        version,
        num_points,
        sh_degree,
        fractional_bits,
        flags,
    })
}

/// Checks the SH degree and the point count of a header against the data size
/// (`max_payload`: the most payload bytes the container could hold); returns
/// the layout and the total payload size.
pub(super) fn check_counts(header: &Header, max_payload: u64) -> Result<(Layout, u64), SpzError> {
    if header.sh_degree > SPZ_MAX_SH_DEGREE {
        return Err(SpzError::InvalidShDegree(header.sh_degree));
    }
    let layout = Layout::new(header.version, header.sh_degree);
    let n = u64::from(header.num_points);
    let total = n * layout.bytes_per_point();
    if n > MAX_POINTS || total > MAX_DECOMPRESSED_BYTES || total > max_payload {
        return Err(SpzError::TooManyPoints(n));
    }
    Ok((layout, total))
}

/// `√½`, the largest magnitude of a quaternion's non-largest component.
pub(super) const SQRT_1_2: f32 = std::f32::consts::FRAC_1_SQRT_2;

/// Mask of a smallest-three component's 9-bit magnitude.
pub(super) const MAG_MASK: u32 = (1 << 9) - 1;

/// Converts between SPZ's RUB frame and the canonical RDF frame (self-inverse),
/// as the reference library does: positions `(x, −y, −z)`, quaternions
/// conjugated by the 180° turn about X (`(w, x, −y, −z)`), SH signs flipped.
pub(super) fn convert_rub_rdf(splats: &mut GaussianSplats) {
    // `flip_yz` handles positions and SH; rotations are conjugated here instead
    // of pre-multiplied (same covariance, the reference's quaternion values).
    let rotations = std::mem::take(&mut splats.rotations);
    splats.flip_yz();
    splats.rotations = rotations
        .into_iter()
        .map(|q| Quat::from_xyzw(q.x, -q.y, -q.z, q.w))
        .collect();
}
