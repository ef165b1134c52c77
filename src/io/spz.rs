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

use std::io::Read;

use bevy::math::{Quat, Vec3};

use super::gaussian_ply::quat_from_wxyz;
use crate::splat::asset::{GaussianSplats, MAX_SH_DEGREE, SplatDataError, sh_coefficient_count};

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

/// Scale of the DC colour bytes (the reference library's `colorScale`).
const COLOR_SCALE: f32 = 0.15;

/// Header flag: trained with anti-aliasing.
const FLAG_ANTIALIASED: u8 = 0x1;

/// Size of the version 1–3 header (inside the gzip stream).
const LEGACY_HEADER_LEN: usize = 16;

/// Size of the version 4 header.
const HEADER_LEN: usize = 32;

/// Size of one table-of-contents entry (compressed and uncompressed `u64` sizes).
const TOC_ENTRY_LEN: usize = 16;

/// Deflate cannot expand more than about 1032:1, so a gzip file of `n` bytes
/// cannot hold more than `n · 1032` bytes of payload.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// The reference reader's bound on the zstd ratio: at most
/// `file size · 1024 / 9` points (9 = position bytes per point).
const MAX_ZSTD_RATIO: u64 = 1024;

/// The reference reader consumes the point count as an `i32`.
const MAX_POINTS: u64 = i32::MAX as u64;

/// Trailing bytes of a legacy stream (extension records) decompressed, and
/// discarded, to let the gzip checksum be verified; anything beyond is ignored.
const MAX_LEGACY_TRAILER: u64 = 16 << 20;

/// Names of the six attribute streams, in file order.
const STREAM_NAMES: [&str; 6] = ["positions", "alphas", "colors", "scales", "rotations", "sh"];

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

/// The fields shared by both header layouts.
#[derive(Clone, Copy, Debug)]
struct Header {
    version: u32,
    num_points: u32,
    sh_degree: u8,
    fractional_bits: u8,
    flags: u8,
}

/// Byte sizes of the six attribute streams for a header.
#[derive(Clone, Copy, Debug)]
struct Layout {
    /// Bytes per point of each stream, in [`STREAM_NAMES`] order.
    per_point: [u64; 6],
}

impl Layout {
    fn new(version: u32, sh_degree: u8) -> Self {
        let position = if version == 1 { 6 } else { 9 };
        let rotation = if version >= 3 { 4 } else { 3 };
        let sh = (sh_coefficient_count(sh_degree) as u64 - 1) * 3;
        Self {
            per_point: [position, 1, 3, 3, rotation, sh],
        }
    }

    fn bytes_per_point(&self) -> u64 {
        self.per_point.iter().sum()
    }

    /// Each stream's size for `n` points (cannot overflow: `n < 2³²` and at most
    /// 72 bytes per point).
    fn sizes(&self, n: u64) -> [u64; 6] {
        self.per_point.map(|b| b * n)
    }
}

/// Little-endian `u32` at `at`, if in bounds.
fn le_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(b))
}

/// Little-endian `u64` at `at`, if in bounds.
fn le_u64(bytes: &[u8], at: usize) -> Option<u64> {
    let b: [u8; 8] = bytes.get(at..at.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(b))
}

/// Reads the fields common to both header layouts (the first 16 bytes).
fn read_common_header(bytes: &[u8]) -> Result<Header, SpzError> {
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

/// Checks the SH degree and the point count of a header against the data size
/// (`max_payload`: the most payload bytes the container could hold); returns
/// the layout and the total payload size.
fn check_counts(header: &Header, max_payload: u64) -> Result<(Layout, u64), SpzError> {
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

/// Maps an I/O error of the gzip decoder.
fn gzip_error(e: std::io::Error) -> SpzError {
    SpzError::Decompress(format!("gzip: {e}"))
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> Result<usize, SpzError> {
    let mut filled = 0;
    while filled < buf.len() {
        let Some(rest) = buf.get_mut(filled..) else {
            break;
        };
        match reader.read(rest) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(gzip_error(e)),
        }
    }
    Ok(filled)
}

/// Versions 1–3: one gzip stream.
fn parse_legacy(bytes: &[u8]) -> Result<SpzFile, SpzError> {
    let mut decoder = flate2::read::GzDecoder::new(bytes);
    let mut head = [0u8; LEGACY_HEADER_LEN];
    let got = read_up_to(&mut decoder, &mut head)?;
    if got < LEGACY_HEADER_LEN {
        return Err(SpzError::Truncated {
            expected: LEGACY_HEADER_LEN as u64,
            found: got as u64,
        });
    }
    let header = read_common_header(&head)?;
    // The reference reads versions up to the newest with the legacy layout.
    if !(1..=LATEST_SPZ_VERSION).contains(&header.version) {
        return Err(SpzError::UnsupportedVersion(header.version));
    }
    let max_payload = (bytes.len() as u64).saturating_mul(MAX_DEFLATE_RATIO);
    let (layout, total) = check_counts(&header, max_payload)?;

    // `total` is bounded by the checks above; the vector grows with the data
    // actually decompressed, from a capacity tied to the compressed size.
    let initial = total.min((bytes.len() as u64).saturating_mul(4));
    let mut payload = Vec::with_capacity(usize::try_from(initial).unwrap_or(0));
    (&mut decoder)
        .take(total)
        .read_to_end(&mut payload)
        .map_err(gzip_error)?;
    if (payload.len() as u64) < total {
        return Err(SpzError::Truncated {
            expected: LEGACY_HEADER_LEN as u64 + total,
            found: LEGACY_HEADER_LEN as u64 + payload.len() as u64,
        });
    }
    // Decompress (and drop) what follows, so the gzip checksum is verified.
    std::io::copy(
        &mut (&mut decoder).take(MAX_LEGACY_TRAILER),
        &mut std::io::sink(),
    )
    .map_err(gzip_error)?;

    let mut streams: [&[u8]; 6] = [&[]; 6];
    let mut rest = payload.as_slice();
    for (stream, size) in streams
        .iter_mut()
        .zip(layout.sizes(u64::from(header.num_points)))
    {
        let size =
            usize::try_from(size).map_err(|_| SpzError::TooManyPoints(header.num_points.into()))?;
        let (head, tail) = rest.split_at_checked(size).ok_or(SpzError::Truncated {
            expected: total,
            found: payload.len() as u64,
        })?;
        *stream = head;
        rest = tail;
    }
    decode(&header, &streams)
}

/// Version 4: plain header, table of contents, zstd streams.
fn parse_v4(bytes: &[u8]) -> Result<SpzFile, SpzError> {
    let header = read_common_header(bytes)?;
    if header.version != 4 {
        return Err(SpzError::UnsupportedVersion(header.version));
    }
    let file_len = bytes.len() as u64;
    if bytes.len() < HEADER_LEN {
        return Err(SpzError::Truncated {
            expected: HEADER_LEN as u64,
            found: file_len,
        });
    }
    let (layout, _) = check_counts(&header, u64::MAX)?;
    let n = u64::from(header.num_points);
    // The reference's sanity bound: 9 position bytes per point, zstd ratio ≤ 1024.
    if n * 9 > file_len.saturating_mul(MAX_ZSTD_RATIO) {
        return Err(SpzError::TooManyPoints(n));
    }
    let num_streams = bytes.get(15).copied().unwrap_or(0) as usize;
    let toc_offset = le_u32(bytes, 16).unwrap_or(0) as usize;
    if toc_offset < HEADER_LEN {
        return Err(SpzError::InvalidContainer(format!(
            "table of contents at byte {toc_offset}, inside the {HEADER_LEN}-byte header"
        )));
    }
    // Extension records (flag 0x2) between the header and the table are skipped.

    let sizes = layout.sizes(n);
    let present: Vec<usize> = (0..6).filter(|&i| sizes[i] > 0).collect();
    if num_streams != present.len() {
        return Err(SpzError::InvalidContainer(format!(
            "{num_streams} streams, {} expected for SH degree {} and {n} points",
            present.len(),
            header.sh_degree
        )));
    }
    // `toc_offset < 2³²` and at most 255 entries: no overflow.
    let toc_end = toc_offset as u64 + (num_streams * TOC_ENTRY_LEN) as u64;
    if toc_end > file_len {
        return Err(SpzError::Truncated {
            expected: toc_end,
            found: file_len,
        });
    }

    // Locate every stream and check its declared size before decompressing.
    let mut offset = toc_end;
    let mut ranges = Vec::with_capacity(present.len());
    for (entry, &which) in present.iter().enumerate() {
        let at = toc_offset + entry * TOC_ENTRY_LEN;
        let (Some(compressed), Some(uncompressed)) = (le_u64(bytes, at), le_u64(bytes, at + 8))
        else {
            return Err(SpzError::Truncated {
                expected: toc_end,
                found: file_len,
            });
        };
        if uncompressed != sizes[which] {
            return Err(SpzError::StreamSize {
                stream: STREAM_NAMES[which],
                expected: sizes[which],
                found: uncompressed,
            });
        }
        let end = offset.checked_add(compressed).filter(|&e| e <= file_len);
        let Some(end) = end else {
            return Err(SpzError::Truncated {
                expected: offset.saturating_add(compressed),
                found: file_len,
            });
        };
        ranges.push((which, offset as usize, end as usize));
        offset = end;
    }
    if offset != file_len {
        return Err(SpzError::InvalidContainer(format!(
            "{} bytes after the last stream",
            file_len - offset
        )));
    }

    let decode_stream = |&(which, start, end): &(usize, usize, usize)| {
        let input = bytes.get(start..end).ok_or(SpzError::Truncated {
            expected: end as u64,
            found: file_len,
        })?;
        zstd_decode_exact(input, sizes[which], STREAM_NAMES[which])
    };
    // The streams are independent: decompress them in parallel (as the
    // reference does) when there is enough data; sequentially where threads
    // cannot be spawned.
    let results: Vec<Result<Vec<u8>, SpzError>> = if offset - toc_end >= PARALLEL_MIN_BYTES {
        std::thread::scope(|scope| {
            let spawned: Vec<_> = ranges
                .iter()
                .skip(1)
                .map(|range| {
                    std::thread::Builder::new()
                        .name("spz-zstd".into())
                        .spawn_scoped(scope, move || decode_stream(range))
                })
                .collect();
            let mut results = Vec::with_capacity(ranges.len());
            results.extend(ranges.first().map(decode_stream));
            for (handle, range) in spawned.into_iter().zip(ranges.iter().skip(1)) {
                results.push(match handle {
                    Ok(handle) => handle.join().unwrap_or_else(|_| {
                        Err(SpzError::Decompress("zstd decoder thread panicked".into()))
                    }),
                    Err(_) => decode_stream(range),
                });
            }
            results
        })
    } else {
        ranges.iter().map(decode_stream).collect()
    };
    let mut decoded: [Vec<u8>; 6] = Default::default();
    for (&(which, ..), result) in ranges.iter().zip(results) {
        if let Some(slot) = decoded.get_mut(which) {
            *slot = result?;
        }
    }
    let streams: [&[u8]; 6] = [0, 1, 2, 3, 4, 5].map(|i| decoded[i].as_slice());
    decode(&header, &streams)
}

/// Compressed size from which version-4 streams are decompressed in parallel.
const PARALLEL_MIN_BYTES: u64 = 256 << 10;

/// Decompresses a zstd stream (one or more frames) that must produce exactly
/// `expected` bytes. Never holds more than about `expected` plus one block of
/// decoded data, whatever the frame headers claim.
fn zstd_decode_exact(
    mut input: &[u8],
    expected: u64,
    stream: &'static str,
) -> Result<Vec<u8>, SpzError> {
    use ruzstd::decoding::StreamingDecoder;
    use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};

    let err =
        |e: &dyn std::fmt::Display| SpzError::Decompress(format!("zstd {stream} stream: {e}"));
    // `expected` passed the size checks; start with what a modest ratio allows.
    let initial = expected.min(
        (input.len() as u64)
            .saturating_mul(32)
            .saturating_add(1 << 16),
    );
    let mut out = Vec::with_capacity(usize::try_from(initial).unwrap_or(0));
    while !input.is_empty() && (out.len() as u64) <= expected {
        let mut decoder = match StreamingDecoder::new(&mut input) {
            Ok(d) => d,
            Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                length,
                ..
            })) => {
                // A skippable frame: its magic and length were consumed.
                input = input
                    .get(length as usize..)
                    .ok_or_else(|| err(&"skippable frame runs past the end"))?;
                continue;
            }
            Err(e) => return Err(err(&e)),
        };
        let room = expected + 1 - out.len() as u64;
        (&mut decoder)
            .take(room)
            .read_to_end(&mut out)
            .map_err(|e| err(&e))?;
    }
    if out.len() as u64 != expected {
        return Err(SpzError::StreamSize {
            stream,
            expected,
            found: out.len() as u64,
        });
    }
    Ok(out)
}

/// Decodes the six attribute streams (already checked to have the sizes the
/// header implies) into validated splats in the canonical frame.
fn decode(header: &Header, streams: &[&[u8]; 6]) -> Result<SpzFile, SpzError> {
    let n = header.num_points as usize;
    let layout = Layout::new(header.version, header.sh_degree);
    for (i, (s, per)) in streams.iter().zip(layout.per_point).enumerate() {
        let expected = per * n as u64;
        if s.len() as u64 != expected {
            return Err(SpzError::StreamSize {
                stream: STREAM_NAMES[i],
                expected,
                found: s.len() as u64,
            });
        }
    }
    let [positions, alphas, colors, scales, rotations, sh] = *streams;

    let degree = header.sh_degree.min(MAX_SH_DEGREE);
    let k = sh_coefficient_count(degree);
    let file_sh = layout.per_point[5] as usize;
    let mut splats = GaussianSplats::with_capacity(n, degree);

    if header.version == 1 {
        let h = |a: u8, b: u8| half::f16::from_le_bytes([a, b]).to_f32();
        for p in positions.chunks_exact(6) {
            if let &[x0, x1, y0, y1, z0, z1] = p {
                splats
                    .positions
                    .push(Vec3::new(h(x0, x1), h(y0, y1), h(z0, z1)));
            }
        }
    } else {
        let scale = (-f32::from(header.fractional_bits)).exp2();
        // Sign-extend the 24-bit value by placing it in the top bytes.
        let fixed = |a: u8, b: u8, c: u8| (i32::from_le_bytes([0, a, b, c]) >> 8) as f32 * scale;
        for p in positions.chunks_exact(9) {
            if let &[x0, x1, x2, y0, y1, y2, z0, z1, z2] = p {
                splats.positions.push(Vec3::new(
                    fixed(x0, x1, x2),
                    fixed(y0, y1, y2),
                    fixed(z0, z1, z2),
                ));
            }
        }
    }

    splats
        .opacities
        .extend(alphas.iter().map(|&a| f32::from(a) / 255.0));

    let scale_of: [f32; 256] = std::array::from_fn(|b| (b as f32 / 16.0 - 10.0).exp());
    for s in scales.chunks_exact(3) {
        if let &[x, y, z] = s {
            let v = |b: u8| scale_of[usize::from(b)];
            splats.scales.push(Vec3::new(v(x), v(y), v(z)));
        }
    }

    if header.version >= 3 {
        for r in rotations.chunks_exact(4) {
            if let &[a, b, c, d] = r {
                splats
                    .rotations
                    .push(unpack_smallest_three(u32::from_le_bytes([a, b, c, d])));
            }
        }
    } else {
        for r in rotations.chunks_exact(3) {
            if let &[x, y, z] = r {
                splats.rotations.push(unpack_first_three([x, y, z]));
            }
        }
    }

    let dc = |b: u8| (f32::from(b) / 255.0 - 0.5) / COLOR_SCALE;
    let coeff = |b: u8| (f32::from(b) - 128.0) / 128.0;
    // At degree 0 the SH stream is empty and yields nothing.
    let mut sh_chunks = sh.chunks_exact(file_sh.max(1));
    for c in colors.chunks_exact(3) {
        if let &[r, g, b] = c {
            splats.sh.push([dc(r), dc(g), dc(b)]);
        }
        if file_sh > 0
            && let Some(s) = sh_chunks.next()
        {
            for rgb in s.chunks_exact(3).take(k - 1) {
                if let &[r, g, b] = rgb {
                    splats.sh.push([coeff(r), coeff(g), coeff(b)]);
                }
            }
        }
    }

    convert_rub_rdf(&mut splats);
    splats.validate()?;
    Ok(SpzFile {
        splats,
        version: header.version,
        antialiased: header.flags & FLAG_ANTIALIASED != 0,
    })
}

/// `√½`, the largest magnitude of a quaternion's non-largest component.
const SQRT_1_2: f32 = std::f32::consts::FRAC_1_SQRT_2;

/// Mask of a smallest-three component's 9-bit magnitude.
const MAG_MASK: u32 = (1 << 9) - 1;

/// Decodes a smallest-three rotation word (components in `x y z w` order).
fn unpack_smallest_three(word: u32) -> Quat {
    let largest = (word >> 30) as usize;
    let mut q = [0.0f32; 4];
    let mut rest = word;
    let mut sum = 0.0;
    for i in (0..4).rev() {
        if i == largest {
            continue;
        }
        let mag = (rest & MAG_MASK) as f32 / MAG_MASK as f32 * SQRT_1_2;
        let v = if rest & (1 << 9) != 0 { -mag } else { mag };
        rest >>= 10;
        q[i] = v;
        sum += v * v;
    }
    q[largest] = (1.0 - sum).max(0.0).sqrt();
    let [x, y, z, w] = q;
    quat_from_wxyz(w, x, y, z)
}

/// Decodes a "first three" rotation (versions 1 and 2): `x y z` bytes, `w ≥ 0`.
fn unpack_first_three(b: [u8; 3]) -> Quat {
    let [x, y, z] = b.map(|v| f32::from(v) / 127.5 - 1.0);
    let w = (1.0 - (x * x + y * y + z * z)).max(0.0).sqrt();
    quat_from_wxyz(w, x, y, z)
}

/// Converts between SPZ's RUB frame and the canonical RDF frame (self-inverse),
/// as the reference library does: positions `(x, −y, −z)`, quaternions
/// conjugated by the 180° turn about X (`(w, x, −y, −z)`), SH signs flipped.
fn convert_rub_rdf(splats: &mut GaussianSplats) {
    // `flip_yz` handles positions and SH; rotations are conjugated here instead
    // of pre-multiplied (same covariance, the reference's quaternion values).
    let rotations = std::mem::take(&mut splats.rotations);
    splats.flip_yz();
    splats.rotations = rotations
        .into_iter()
        .map(|q| Quat::from_xyzw(q.x, -q.y, -q.z, q.w))
        .collect();
}

/// Quantises a float to a byte: rounded, clamped to `0..=255` (NaN gives 0).
fn to_u8(x: f32) -> u8 {
    x.round().clamp(0.0, 255.0) as u8
}

/// Quantises an SH coefficient to a byte in buckets of `bucket` (a power of two
/// ≤ 128) centred so that 0 stays exact: `round(x · 128) + 128`, rounded to the
/// nearest multiple of `bucket` (halves up), clamped.
fn quantize_sh(x: f32, bucket: i32) -> u8 {
    let q = ((x * 128.0).round() + 128.0).clamp(-1024.0, 1024.0) as i32;
    let q = (q + bucket / 2).div_euclid(bucket) * bucket;
    q.clamp(0, 255) as u8
}

/// Encodes a rotation as a smallest-three word (components in `x y z w` order).
fn pack_smallest_three(q: Quat) -> u32 {
    let q = if q.length_squared() > 0.0 {
        q.normalize()
    } else {
        Quat::IDENTITY
    };
    let c = [q.x, q.y, q.z, q.w];
    let mut largest = 0;
    for i in 1..4 {
        if c[i].abs() > c[largest].abs() {
            largest = i;
        }
    }
    let negate = c[largest] < 0.0;
    let mut word = largest as u32;
    for (i, &v) in c.iter().enumerate() {
        if i == largest {
            continue;
        }
        let sign = u32::from((v < 0.0) != negate);
        let mag = ((v.abs() / SQRT_1_2) * MAG_MASK as f32)
            .round()
            .clamp(0.0, MAG_MASK as f32) as u32;
        word = (word << 10) | (sign << 9) | mag;
    }
    word
}

/// Encodes a rotation as "first three" bytes (versions 1 and 2): `w` made
/// non-negative, then `x y z` as `round(v · 127.5 + 127.5)`.
fn pack_first_three(q: Quat) -> [u8; 3] {
    let q = if q.length_squared() > 0.0 {
        q.normalize()
    } else {
        Quat::IDENTITY
    };
    let s = if q.w < 0.0 { -127.5 } else { 127.5 };
    [q.x, q.y, q.z].map(|v| to_u8(v * s + 127.5))
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

/// The writer, for versions 1–4 (version 1, with half-float positions, is never
/// written by the reference library; the tests use it to exercise the reader).
fn write_any_version(
    splats: &GaussianSplats,
    options: &SpzWriteOptions,
) -> Result<Vec<u8>, SpzError> {
    if !(1..=8).contains(&options.sh1_bits) || !(1..=8).contains(&options.sh_rest_bits) {
        return Err(SpzError::InvalidOptions("SH bits must be in 1..=8"));
    }
    splats.validate()?;
    let n = splats.len();
    if n as u64 > MAX_POINTS {
        return Err(SpzError::TooManyPoints(n as u64));
    }
    let version = options.version;

    // Into SPZ's RUB frame.
    let mut rub = splats.clone();
    convert_rub_rdf(&mut rub);

    // Fractional bits: 12 unless a coordinate would overflow 24 bits.
    let max_abs = rub
        .positions
        .iter()
        .map(|p| p.abs().max_element())
        .fold(0.0f32, f32::max);
    let limit = ((1 << 23) - 1) as f32;
    let mut fractional_bits = DEFAULT_FRACTIONAL_BITS;
    while fractional_bits > 0 && (max_abs * (f32::from(fractional_bits)).exp2()).round() > limit {
        fractional_bits -= 1;
    }
    if version >= 2 && max_abs.round() > limit {
        // The frame change keeps magnitudes: report the caller's coordinate.
        let (index, value) = splats
            .positions
            .iter()
            .enumerate()
            .flat_map(|(i, p)| p.to_array().map(|v| (i, v)))
            .find(|(_, v)| v.abs().round() > limit)
            .unwrap_or((0, max_abs));
        return Err(SpzError::PositionOutOfRange { index, value });
    }
    let header = Header {
        version,
        num_points: n as u32,
        sh_degree: rub.sh_degree,
        fractional_bits,
        flags: if options.antialiased {
            FLAG_ANTIALIASED
        } else {
            0
        },
    };
    let layout = Layout::new(version, rub.sh_degree);
    let sizes = layout.sizes(n as u64).map(|s| s as usize);

    let mut positions = Vec::with_capacity(sizes[0]);
    if version == 1 {
        for p in &rub.positions {
            for v in p.to_array() {
                positions.extend_from_slice(&half::f16::from_f32(v).to_le_bytes());
            }
        }
    } else {
        let scale = f32::from(fractional_bits).exp2();
        for p in &rub.positions {
            for v in p.to_array() {
                let fixed = (v * scale).round() as i32;
                positions.extend_from_slice(&fixed.to_le_bytes()[..3]);
            }
        }
    }
    let alphas: Vec<u8> = rub.opacities.iter().map(|&a| to_u8(a * 255.0)).collect();
    let k = rub.sh_per_splat();
    let mut colors = Vec::with_capacity(sizes[2]);
    let mut sh = Vec::with_capacity(sizes[5]);
    let bucket1 = 1 << (8 - options.sh1_bits);
    let bucket_rest = 1 << (8 - options.sh_rest_bits);
    for coeffs in rub.sh.chunks_exact(k) {
        for (j, c) in coeffs.iter().enumerate() {
            if j == 0 {
                colors.extend(c.map(|v| to_u8(v * (COLOR_SCALE * 255.0) + 0.5 * 255.0)));
            } else {
                let bucket = if j <= 3 { bucket1 } else { bucket_rest };
                sh.extend(c.map(|v| quantize_sh(v, bucket)));
            }
        }
    }
    let mut scales = Vec::with_capacity(sizes[3]);
    for s in &rub.scales {
        scales.extend(s.to_array().map(|v| to_u8((v.ln() + 10.0) * 16.0)));
    }
    let mut rotations = Vec::with_capacity(sizes[4]);
    for &q in &rub.rotations {
        if version >= 3 {
            rotations.extend_from_slice(&pack_smallest_three(q).to_le_bytes());
        } else {
            rotations.extend_from_slice(&pack_first_three(q));
        }
    }
    let streams = [positions, alphas, colors, scales, rotations, sh];

    if version >= 4 {
        Ok(write_v4_container(&header, &streams))
    } else {
        write_legacy_container(&header, &streams)
    }
}

/// The version-4 container: header, table of contents, zstd streams.
fn write_v4_container(header: &Header, streams: &[Vec<u8>; 6]) -> Vec<u8> {
    use ruzstd::encoding::{CompressionLevel, compress_to_vec};
    let chunks: Vec<(u64, Vec<u8>)> = streams
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| {
            (
                s.len() as u64,
                compress_to_vec(s.as_slice(), CompressionLevel::Fastest),
            )
        })
        .collect();
    let mut out = Vec::with_capacity(
        HEADER_LEN + chunks.len() * TOC_ENTRY_LEN + chunks.iter().map(|c| c.1.len()).sum::<usize>(),
    );
    out.extend_from_slice(&SPZ_MAGIC.to_le_bytes());
    out.extend_from_slice(&header.version.to_le_bytes());
    out.extend_from_slice(&header.num_points.to_le_bytes());
    out.extend_from_slice(&[
        header.sh_degree,
        header.fractional_bits,
        header.flags,
        chunks.len() as u8,
    ]);
    out.extend_from_slice(&(HEADER_LEN as u32).to_le_bytes());
    out.extend_from_slice(&[0u8; 12]);
    for (uncompressed, chunk) in &chunks {
        out.extend_from_slice(&(chunk.len() as u64).to_le_bytes());
        out.extend_from_slice(&uncompressed.to_le_bytes());
    }
    for (_, chunk) in &chunks {
        out.extend_from_slice(chunk);
    }
    out
}

/// The version 1–3 container: one gzip stream of header and attribute blocks.
fn write_legacy_container(header: &Header, streams: &[Vec<u8>; 6]) -> Result<Vec<u8>, SpzError> {
    use std::io::Write;
    let mut raw =
        Vec::with_capacity(LEGACY_HEADER_LEN + streams.iter().map(Vec::len).sum::<usize>());
    raw.extend_from_slice(&SPZ_MAGIC.to_le_bytes());
    raw.extend_from_slice(&header.version.to_le_bytes());
    raw.extend_from_slice(&header.num_points.to_le_bytes());
    raw.extend_from_slice(&[header.sh_degree, header.fractional_bits, header.flags, 0]);
    for s in streams {
        raw.extend_from_slice(s);
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(&raw)
        .and_then(|()| encoder.try_finish())
        .map_err(|e| SpzError::Compress(format!("gzip: {e}")))?;
    encoder
        .finish()
        .map_err(|e| SpzError::Compress(format!("gzip: {e}")))
}

#[cfg(test)]
mod tests;
