//! PlayCanvas SOG ("Spatially Ordered Gaussians"), versions 1 and 2.
//!
//! A SOG scene is a `meta.json` plus lossless WebP images ("planes") in which
//! pixel `i` (row-major, origin top-left) holds splat `i`; `meta.count` splats
//! are stored and trailing pixels are ignored. A bundled `.sog` file is a ZIP
//! archive with `meta.json` and the planes at its root ([`parse_bundled_sog`]).
//! Streamed scenes with levels of detail (`lod-meta.json`) are in
//! [`sog_lod`](super::sog_lod).
//!
//! Planes and their decoding (`t = byte / 255`):
//!
//! * `means_l` / `means_u`: low / high byte of a 16-bit unorm per axis in R, G,
//!   B. `v = lerp(mins[a], maxs[a], u16 / 65535)` is a *log-transformed*
//!   position; the position is `sign(v)·(e^|v| − 1)` (inverse of the writer's
//!   `sign(x)·ln(|x| + 1)`).
//! * `quats`: "smallest three". A = 252 + index of the largest component in
//!   `(w, x, y, z)` order (made positive); R, G, B hold the other three in that
//!   order, each `(t − 0.5)·√2`; the largest is `√(1 − a² − b² − c²)`.
//! * `scales`: per axis in R, G, B a log scale, then `exp`: v2 indexes
//!   `scales.codebook`, v1 lerps `scales.mins[a]..maxs[a]` by `t`.
//! * `sh0`: R, G, B the DC coefficient (`f_dc`): v2 via `sh0.codebook`, v1 lerped
//!   `sh0.mins[c]..maxs[c]`. A is the opacity: v2 stores `sigmoid(logit)` as
//!   `t` (linear, used as is); v1 lerps the *logit* `sh0.mins[3]..maxs[3]`,
//!   then applies the sigmoid.
//! * `shN_labels` (optional): `R | G << 8` is a palette index (< the number of
//!   centroids).
//! * `shN_centroids` (optional): 64 palette entries per row, each `C` pixels
//!   wide (`C` = 3, 8, 15 SH-rest coefficients per channel for 1, 2, 3 bands,
//!   width `64·C`). Entry `e`, coefficient `j` is pixel
//!   `((e % 64)·C + j, e / 64)`; its R, G, B are that coefficient of the red,
//!   green, blue channel: v2 via `shN.codebook`, v1 lerped `shN.mins..maxs` (two
//!   scalars). v2 names the band count in `shN.bands` and the palette size in
//!   `shN.count`; v1 infers the bands from the width (192 / 512 / 960).
//!
//! `meta.json` v2: `{version: 2, count, antialias?, model?, means: {mins, maxs,
//! files: [l, u]}, scales: {codebook, files}, quats: {files}, sh0: {codebook,
//! files}, shN?: {count, bands, codebook, files: [centroids, labels]}}`. v1 has
//! no `version`; the count is `means.shape[0]`, and `scales` / `sh0` / `shN`
//! carry `mins` / `maxs` instead of codebooks. A `null` first codebook entry
//! (written by early tools) is replaced as the PlayCanvas engine does.
//!
//! Frame: the writer (PlayCanvas `splat-transform`) stores the input PLY's
//! coordinates unchanged (its data is tagged with the same `Transform.PLY` as
//! PLY input, so no axis change is baked in), so decoded scenes are already in
//! the 3DGS training-PLY frame (x right, y down, z forward), like every other
//! loader of this module.

use crate::splat::asset::{GaussianSplats, SplatDataError};

#[cfg(test)]
use bevy::math::{Quat, Vec3};
#[cfg(test)]
use decode::lerp;
#[cfg(test)]
use serde_json::Value;
#[cfg(test)]
use std::collections::HashMap;
#[cfg(test)]
use std::io::{Cursor, Read};

mod bundle;
mod decode;
mod encode;
mod meta;
mod planes;
mod quantize;

pub use bundle::parse_bundled_sog;
pub use encode::{EncodedSog, SogWriteError, SogWriteOptions, encode_sog};
pub(crate) use decode::decode_sog_ranges;
pub(crate) use encode::{column_layout, plane_width};
pub(crate) use meta::{Obj, json_uint, parse_json};
pub use meta::{
    SogMeans, SogMeta, SogQuantization, SogShN, normalize_relative_path, parse_sog_meta,
    resolve_sog_path,
};

/// The most splats one SOG scene (or one LOD level) may hold.
pub const MAX_SOG_SPLATS: usize = 1 << 26;

/// The largest `meta.json` / `lod-meta.json` accepted, in bytes.
pub const MAX_META_BYTES: u64 = 64 << 20;

/// The largest single entry of a `.sog` bundle accepted, in bytes (uncompressed).
pub const MAX_ENTRY_BYTES: u64 = 1 << 30;

/// Why a SOG scene could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum SogError {
    /// A metadata file is not valid JSON.
    #[error("{file} is not valid JSON: {reason}")]
    Json {
        /// `meta.json` or `lod-meta.json`.
        file: &'static str,
        /// The parser's message.
        reason: String,
    },
    /// A metadata file is larger than [`MAX_META_BYTES`].
    #[error("{file} is {size} bytes, more than the {limit}-byte limit")]
    MetaTooLarge {
        /// `meta.json` or `lod-meta.json`.
        file: &'static str,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A `meta.json` field is missing or has a wrong value.
    #[error("meta.json field `{field}` {reason}")]
    MetaField {
        /// The field's path, e.g. `means.mins[1]`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A `lod-meta.json` field is missing or has a wrong value.
    #[error("lod-meta.json field `{field}` {reason}")]
    LodMetaField {
        /// The field's path, e.g. `tree.children[0].lods.3.count`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The `version` of a metadata file is not one this reader handles.
    #[error("unsupported {file} version {version} (expected {expected})")]
    UnsupportedVersion {
        /// `meta.json` or `lod-meta.json`.
        file: &'static str,
        /// The version as written.
        version: String,
        /// The versions this reader handles.
        expected: &'static str,
    },
    /// The splat count is above [`MAX_SOG_SPLATS`].
    #[error("SOG splat count {count} is above the limit of {limit}")]
    CountTooLarge {
        /// The declared (or summed) count.
        count: u64,
        /// The limit.
        limit: usize,
    },
    /// A path in a metadata file is absolute or leaves its folder.
    #[error("invalid path `{path}` in SOG metadata: {reason}")]
    InvalidPath {
        /// The path as written.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A file the metadata references was not provided.
    #[error("SOG file `{name}` is missing")]
    MissingFile {
        /// The file's (resolved) name.
        name: String,
    },
    /// A plane is not a decodable WebP image.
    #[error("SOG plane `{file}` is not a valid WebP image: {reason}")]
    Webp {
        /// The plane's file name.
        file: String,
        /// The decoder's message.
        reason: String,
    },
    /// A plane is lossy WebP, which destroys the quantised values.
    #[error("SOG plane `{file}` is lossy WebP; SOG planes must be lossless")]
    LossyPlane {
        /// The plane's file name.
        file: String,
    },
    /// A per-splat plane has fewer pixels than the splat count.
    #[error("SOG plane `{file}` is {width}x{height}, too small for {count} splats")]
    PlaneTooSmall {
        /// The plane's file name.
        file: String,
        /// Its width.
        width: u32,
        /// Its height.
        height: u32,
        /// The splat count.
        count: usize,
    },
    /// A per-splat plane is far larger than the splat count needs.
    #[error(
        "SOG plane `{file}` is {width}x{height}, implausibly large for {count} splats (at most {limit} pixels)"
    )]
    PlaneTooLarge {
        /// The plane's file name.
        file: String,
        /// Its width.
        width: u32,
        /// Its height.
        height: u32,
        /// The splat count.
        count: usize,
        /// The most pixels accepted for this count.
        limit: u64,
    },
    /// Per-splat planes have different sizes.
    #[error(
        "SOG plane `{file}` is {width}x{height}, but `{reference}` is {expected_width}x{expected_height}"
    )]
    PlaneSizeMismatch {
        /// The plane's file name.
        file: String,
        /// Its width.
        width: u32,
        /// Its height.
        height: u32,
        /// The plane that set the expected size.
        reference: String,
        /// The expected width.
        expected_width: u32,
        /// The expected height.
        expected_height: u32,
    },
    /// The SH palette image does not have the layout its band count requires.
    #[error("SH centroids plane `{file}` is {width}x{height}: {reason}")]
    CentroidsSize {
        /// The plane's file name.
        file: String,
        /// Its width.
        width: u32,
        /// Its height.
        height: u32,
        /// What is wrong with it.
        reason: String,
    },
    /// A splat's rotation tag (alpha of `quats`) is not 252..=255.
    #[error("splat {index} has rotation tag {tag} (expected 252..=255)")]
    QuatTag {
        /// The splat.
        index: usize,
        /// The tag byte.
        tag: u8,
    },
    /// A codebook index is past the end of its codebook.
    #[error("{attribute} codebook index {value} out of range ({len} entries), at {at}")]
    CodebookIndex {
        /// `scales`, `sh0` or `shN`.
        attribute: &'static str,
        /// The index byte.
        value: u8,
        /// The codebook's length.
        len: usize,
        /// Where: `splat N` or `SH palette entry N`.
        at: String,
    },
    /// A splat's SH palette label is not below the number of palette entries.
    #[error("SH palette index {index} out of range ({centroids} centroids), at splat {splat}")]
    ShPaletteIndex {
        /// The label.
        index: u32,
        /// Number of palette entries.
        centroids: usize,
        /// The splat.
        splat: usize,
    },
    /// The `.sog` bundle is not a readable ZIP archive.
    #[error("SOG bundle is not a valid ZIP archive: {0}")]
    Zip(String),
    /// The bundle has no entry of this name.
    #[error("SOG bundle has no entry `{name}`")]
    MissingEntry {
        /// The entry's name.
        name: String,
    },
    /// A bundle entry declares an uncompressed size that is too large or
    /// impossible for its compressed size.
    #[error(
        "SOG bundle entry `{name}` declares {size} bytes ({compressed} compressed); the limit is {limit}"
    )]
    EntryTooLarge {
        /// The entry's name.
        name: String,
        /// Its declared uncompressed size.
        size: u64,
        /// Its compressed size.
        compressed: u64,
        /// The most this entry may hold.
        limit: u64,
    },
    /// A bundle entry could not be read (bad compressed data, CRC mismatch, size
    /// different from the declared one).
    #[error("SOG bundle entry `{name}` cannot be read: {reason}")]
    BadEntry {
        /// The entry's name.
        name: String,
        /// What went wrong.
        reason: String,
    },
    /// A LOD level past `lodLevels` was asked for.
    #[error("LOD level {level} does not exist (the scene has {levels} levels)")]
    LevelOutOfRange {
        /// The level asked for.
        level: u32,
        /// `lodLevels`.
        levels: u32,
    },
    /// A LOD node's splat range does not lie inside its file.
    #[error(
        "LOD range {offset}..{end} of `{file}` is outside the file's {file_count} splats",
        end = offset.saturating_add(*count)
    )]
    LodRangeOutOfBounds {
        /// The file's `meta.json` path.
        file: String,
        /// First splat of the range.
        offset: u64,
        /// Splats in the range.
        count: u64,
        /// Splats in the file.
        file_count: usize,
    },
    /// Two LOD nodes of one level claim overlapping splats of a file.
    #[error("LOD ranges of `{file}` overlap at splat {at}")]
    LodRangeOverlap {
        /// The file's `meta.json` path.
        file: String,
        /// First splat claimed twice.
        at: u64,
    },
    /// An error inside one file of a streamed scene.
    #[error("in `{file}`: {source}")]
    InFile {
        /// The file's `meta.json` path.
        file: String,
        /// The error.
        #[source]
        source: Box<SogError>,
    },
    /// The decoded splats contain NaN / infinite values.
    #[error("invalid splat data: {0}")]
    InvalidData(#[from] SplatDataError),
}

/// Decodes a SOG scene from its parsed `meta.json` and a lookup of its plane
/// files by the names [`SogMeta::files`] returns (e.g.
/// `&|name| planes.get(name).map(Vec::as_slice)`; the bytes may borrow from any
/// storage that outlives the call). Planes are decoded in parallel threads for
/// large scenes. The result is validated and in the 3DGS training-PLY frame.
pub fn decode_sog<'a>(
    meta: &SogMeta,
    files: &dyn Fn(&str) -> Option<&'a [u8]>,
) -> Result<GaussianSplats, SogError> {
    decode_sog_ranges(meta, files, &[(0, meta.count)])
}

#[cfg(test)]
pub(crate) mod tests;
