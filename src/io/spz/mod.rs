//! Niantic's `.spz` format: a reader for versions 1–4 and a writer (version 4 by
//! default, versions 2 and 3 on request).
//!
//! The facts below were taken from Niantic's reference library
//! (`nianticlabs/spz`: `README.md`, `src/cc/load-spz.cc`, `src/cc/load-spz.h`,
//! `src/cc/splat-utils.h`, `src/cc/splat-types.h`) and cross-checked against
//! PlayCanvas' reader (`playcanvas/splat-transform`, `src/lib/readers/read-spz.ts`).
//!
//! # Containers
//!
//! * **Versions 1–3** are one gzip stream holding a 16-byte header (`u32` magic
//!   `0x5053474e`, the bytes `NGSP`; `u32` version; `u32` point count; `u8` SH
//!   degree; `u8` fractional bits; `u8` flags; `u8` reserved, all little-endian)
//!   followed by the attribute blocks, each for all points: positions, alphas,
//!   colours, scales, rotations, SH. Bytes after the SH block (extension records)
//!   are ignored.
//! * **Version 4** is a plain 32-byte header (magic, version, point count, SH
//!   degree, fractional bits, flags, `u8` stream count, `u32` byte offset of the
//!   table of contents, 12 reserved bytes), optional extension records up to the
//!   table of contents, the table (one `u64` compressed size and one `u64`
//!   uncompressed size per stream) and then the streams back to back, each an
//!   independent **zstd** stream, in the order above; empty streams (SH at
//!   degree 0, everything for zero points) are left out of the table. The streams
//!   must end exactly at the end of the file.
//!
//! Flags: `0x1` = trained with anti-aliasing (Mip-Splatting), `0x2` = extension
//! records present (skipped by this reader).
//!
//! # Attributes (per point)
//!
//! * position: three 24-bit little-endian two's-complement fixed-point numbers
//!   with `fractional_bits` fractional bits (version 1: three IEEE half floats);
//! * alpha: one byte, `opacity = a / 255` (the reference stores
//!   `round(sigmoid(logit) · 255)`);
//! * colour: three bytes, `f_dc = (c / 255 − 0.5) / 0.15`; the 0.15 scale
//!   (instead of `SH_C0`) leaves room for base colours outside `[0, 1]`;
//! * scale: three bytes, `ln(scale) = s / 16 − 10`;
//! * rotation, versions 3 and 4: "smallest three" in a little-endian `u32` over the
//!   quaternion in `(x, y, z, w)` order: bits 30–31 hold the index of the
//!   largest-magnitude component (made positive, then derived as
//!   `√(1 − Σ others²)`); the other three follow in index order from bit 29
//!   down, 10 bits each: a sign bit over a 9-bit magnitude `m`, value
//!   `m / 511 · √½`;
//! * rotation, versions 1 and 2: three bytes `x y z`, each `b / 127.5 − 1`, with
//!   `w = √(1 − x² − y² − z²) ≥ 0`;
//! * SH: `(degree + 1)² − 1` coefficients per channel (degree ≤ 4), stored
//!   coefficient-major with the colour channel innermost (`c1r c1g c1b c2r …`),
//!   one byte each, `(b − 128) / 128`. The writer rounds to buckets of
//!   `2^(8 − bits)` (5 bits for degree 1, 4 bits above, as the reference does by
//!   default) to help the compressor.
//!
//! # Frame
//!
//! SPZ data is stored in the RUB frame (x right, y up, z back); the crate's
//! canonical frame is the 3DGS training-PLY one (RDF: x right, y down, z
//! forward). Loading converts exactly as the reference library does when it
//! writes a PLY: positions `(x, −y, −z)`, quaternions `(w, x, −y, −z)` (the
//! rotation conjugated by the 180° turn about X) and each SH coefficient
//! multiplied by its basis function's sign under `(y, z) → (−y, −z)` (the signs
//! [`GaussianSplats::flip_yz`] uses). Writing applies the same (self-inverse)
//! conversion. Note that [`GaussianSplats::flip_yz`] itself *pre-multiplies* the
//! rotations by the turn instead of conjugating them; both give the same
//! covariance (the turn is a diagonal matrix), but only conjugation reproduces
//! the reference's quaternion values.
//!
//! SPZ degree-4 SH is read and truncated to degree 3 (the highest the crate
//! renders).

use crate::splat::asset::{GaussianSplats, SplatDataError};

mod decode;
mod encode;
mod header;

#[cfg(test)]
use bevy::math::{Quat, Vec3};
#[cfg(test)]
use decode::unpack_smallest_three;
use decode::{parse_legacy, parse_v4};
use encode::write_any_version;
#[cfg(test)]
use header::{COLOR_SCALE, HEADER_LEN, TOC_ENTRY_LEN};
#[cfg(test)]
use std::io::Read;

/// The magic number at the start of every SPZ header (`NGSP` in file order).
pub const SPZ_MAGIC: u32 = 0x5053_474e;

/// The newest SPZ version this module reads and the version [`write_spz`] writes.
pub const LATEST_SPZ_VERSION: u32 = 4;

/// The largest decompressed payload (all attribute streams together) the reader
/// accepts, 4 GiB; larger claims fail with [`SpzError::TooManyPoints`] before
/// anything is allocated.
pub const MAX_DECOMPRESSED_BYTES: u64 = 4 << 30;

/// The fractional bits the reference writer uses (~0.24 mm resolution); the
/// writer uses fewer only when a coordinate would not fit in 24 bits.
pub const DEFAULT_FRACTIONAL_BITS: u8 = 12;

/// The highest SH degree an SPZ file can hold.
pub const SPZ_MAX_SH_DEGREE: u8 = 4;

/// A decoded `.spz` file.
#[derive(Clone, Debug, PartialEq)]
pub struct SpzFile {
    /// The splats, in the crate's canonical frame (3DGS training PLY: x right,
    /// y down, z forward), validated. SPZ degree-4 SH is truncated to degree 3.
    pub splats: GaussianSplats,
    /// The file's format version (1–4).
    pub version: u32,
    /// Whether the header's anti-aliasing flag (`0x1`, Mip-Splatting style
    /// training) is set.
    pub antialiased: bool,
}

/// Why an `.spz` file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SpzError {
    /// The data starts neither with a gzip header nor with the `NGSP` magic, or
    /// the decompressed legacy header has the wrong magic.
    #[error("not an SPZ file: bad magic number")]
    BadMagic,
    /// The header's version is not 1–4 (4 for the uncompressed `NGSP` container,
    /// 1–4 inside gzip), or the writer was asked for a version it cannot write.
    #[error("unsupported SPZ version {0}")]
    UnsupportedVersion(u32),
    /// The data ends before what the header describes. For versions 1–3 the
    /// sizes count decompressed bytes, for version 4 bytes of the file.
    #[error("SPZ data is truncated: {expected} bytes needed, {found} present")]
    Truncated {
        /// Bytes needed.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// A gzip or zstd stream is corrupt.
    #[error("SPZ decompression failed: {0}")]
    Decompress(String),
    /// The header claims more points than the file can possibly hold (or more
    /// than [`MAX_DECOMPRESSED_BYTES`] of data, or more than `i32::MAX` points).
    #[error("SPZ header claims {0} points, more than the file can hold")]
    TooManyPoints(u64),
    /// The header's SH degree is above 4.
    #[error("SPZ SH degree {0} is not supported (0..=4)")]
    InvalidShDegree(u8),
    /// The version-4 container is inconsistent (table of contents, stream
    /// count, trailing bytes).
    #[error("malformed SPZ container: {0}")]
    InvalidContainer(String),
    /// A version-4 stream's uncompressed size (in the table of contents, or
    /// after decompression) differs from what the header implies.
    #[error("SPZ {stream} stream holds {found} bytes, the header implies {expected}")]
    StreamSize {
        /// The stream's name (`positions`, `alphas`, `colors`, `scales`,
        /// `rotations`, `sh`).
        stream: &'static str,
        /// Bytes implied by the point count.
        expected: u64,
        /// Bytes declared or decoded.
        found: u64,
    },
    /// The writer cannot represent a position: a coordinate's magnitude is at
    /// least 2²³ (the 24-bit fixed-point range even with no fractional bits).
    #[error("splat {index} has a coordinate {value} beyond the SPZ position range")]
    PositionOutOfRange {
        /// Splat index.
        index: usize,
        /// The offending coordinate.
        value: f32,
    },
    /// Compressing the output failed (not expected when writing to memory).
    #[error("SPZ compression failed: {0}")]
    Compress(String),
    /// The writer options are invalid (SH bits outside 1..=8).
    #[error("invalid SPZ writer options: {0}")]
    InvalidOptions(&'static str),
    /// The decoded (or to-be-written) splats are inconsistent or contain NaN /
    /// infinite values.
    #[error("invalid splat data: {0}")]
    InvalidData(#[from] SplatDataError),
}

/// Options of [`write_spz_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpzWriteOptions {
    /// Format version: 4 (zstd streams, the default) or 2 / 3 (one gzip stream;
    /// 2 uses the older, less precise "first three" rotation encoding).
    pub version: u32,
    /// Bits kept of each degree-1 SH byte (1..=8; the reference default is 5).
    pub sh1_bits: u8,
    /// Bits kept of each degree-2 and degree-3 SH byte (1..=8; default 4).
    pub sh_rest_bits: u8,
    /// Value of the header's anti-aliasing flag.
    pub antialiased: bool,
}

impl Default for SpzWriteOptions {
    /// The reference library's defaults: version 4, 5 and 4 SH bits, no
    /// anti-aliasing flag.
    fn default() -> Self {
        Self {
            version: LATEST_SPZ_VERSION,
            sh1_bits: 5,
            sh_rest_bits: 4,
            antialiased: false,
        }
    }
}

/// Parses an `.spz` file (any version 1–4) into validated splats in the
/// canonical frame.
///
/// The container is detected from the first bytes: a gzip header means versions
/// 1–3, the `NGSP` magic means version 4. Point counts are checked against the
/// file size before anything is allocated, decompression never produces more
/// than the header implies, and no input makes this function panic.
pub fn parse_spz(bytes: &[u8]) -> Result<SpzFile, SpzError> {
    const GZIP: [u8; 2] = [0x1f, 0x8b];
    let magic = SPZ_MAGIC.to_le_bytes();
    if bytes.starts_with(&GZIP) {
        parse_legacy(bytes)
    } else if bytes.starts_with(&magic) {
        parse_v4(bytes)
    } else if GZIP.starts_with(bytes) || (bytes.len() < 4 && magic.starts_with(bytes)) {
        // A prefix of a valid start (including the empty file).
        Err(SpzError::Truncated {
            expected: 4,
            found: bytes.len() as u64,
        })
    } else {
        Err(SpzError::BadMagic)
    }
}

/// Writes splats (canonical frame) as an `.spz` file with the reference
/// library's defaults: version 4 (per-attribute zstd streams), 12 fractional
/// position bits, 5 bits for degree-1 SH and 4 bits above. See
/// [`write_spz_with`].
pub fn write_spz(splats: &GaussianSplats) -> Result<Vec<u8>, SpzError> {
    write_spz_with(splats, &SpzWriteOptions::default())
}

/// Writes splats (canonical frame) as an `.spz` file.
///
/// The scene is validated first ([`SpzError::InvalidData`]). Positions use 12
/// fractional bits, or fewer when a coordinate would not fit in 24 bits
/// ([`SpzError::PositionOutOfRange`] beyond ±2²³). Version 4 streams are
/// compressed with `ruzstd`'s fastest level (the only one it implements; files
/// are somewhat larger than the reference's level 12, but any zstd decoder
/// reads them).
///
/// Quantisation (the round-trip tolerances): position ≤ 2^−(bits+1); log scale
/// ≤ 1/32 within `[−10, 5.94]` (clamped outside); opacity ≤ 0.5/255; DC
/// coefficient ≤ 0.5/(0.15·255) within about ±3.33 (clamped outside); SH
/// coefficient ≤ 2^(7−bits)/128 (plus 0.5/128 when rounding) within `[−1, 1)`
/// (clamped outside); rotation components within about 0.0007 (versions 3–4) or
/// 0.004 (version 2) after the sign of the quaternion is chosen.
pub fn write_spz_with(
    splats: &GaussianSplats,
    options: &SpzWriteOptions,
) -> Result<Vec<u8>, SpzError> {
    if !(2..=LATEST_SPZ_VERSION).contains(&options.version) {
        return Err(SpzError::UnsupportedVersion(options.version));
    }
    write_any_version(splats, options)
}

#[cfg(test)]
mod tests;
