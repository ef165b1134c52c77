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

use std::collections::HashMap;
use std::io::{Cursor, Read};

use bevy::math::{Quat, Vec3};
use image_webp::WebPDecoder;
use serde_json::{Map, Value};

use crate::splat::asset::{GaussianSplats, SplatDataError, sh_coefficient_count};

/// The most splats one SOG scene (or one LOD level) may hold.
pub const MAX_SOG_SPLATS: usize = 1 << 26;

/// The largest `meta.json` / `lod-meta.json` accepted, in bytes.
pub const MAX_META_BYTES: u64 = 64 << 20;

/// The largest single entry of a `.sog` bundle accepted, in bytes (uncompressed).
pub const MAX_ENTRY_BYTES: u64 = 1 << 30;

/// Deflate cannot expand data by more than about 1032:1; entries that claim
/// more are rejected before they are read.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// Palette entries per row of `shN_centroids`.
const CENTROIDS_PER_ROW: usize = 64;

/// SH-rest coefficients per colour channel for 0..=3 bands.
const REST_PER_CHANNEL: [usize; 4] = [0, 3, 8, 15];

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

/// How the values of a quantised attribute are recovered from bytes.
#[derive(Clone, Debug, PartialEq)]
pub enum SogQuantization {
    /// Version 2: a byte indexes this table (up to 256 entries, shared by all
    /// channels of the attribute).
    Codebook(Vec<f32>),
    /// Version 1: byte `b` of channel `c` is `lerp(mins[c], maxs[c], b / 255)`.
    Range {
        /// Value at byte 0, per channel.
        mins: Vec<f32>,
        /// Value at byte 255, per channel.
        maxs: Vec<f32>,
    },
}

/// The `means` entry of `meta.json`.
#[derive(Clone, Debug, PartialEq)]
pub struct SogMeans {
    /// Log-transformed position at 0, per axis.
    pub mins: [f64; 3],
    /// Log-transformed position at 65535, per axis.
    pub maxs: [f64; 3],
    /// The low-byte (`means_l`) plane.
    pub low_file: String,
    /// The high-byte (`means_u`) plane.
    pub high_file: String,
}

/// The optional `shN` entry of `meta.json` (SH bands above 0).
#[derive(Clone, Debug, PartialEq)]
pub struct SogShN {
    /// SH bands (1..=3) from v2's `bands`; `None` for v1, where the width of
    /// the centroids plane decides.
    pub bands: Option<u8>,
    /// v2's `count`: the palette size (labels must be below it and below the
    /// number of entries the centroids plane holds).
    pub palette_count: Option<usize>,
    /// Codebook (v2) or one scalar range for all coefficients (v1).
    pub quantization: SogQuantization,
    /// The palette plane (`shN_centroids`).
    pub centroids_file: String,
    /// The per-splat label plane (`shN_labels`).
    pub labels_file: String,
}

/// A parsed SOG `meta.json` (version 1 or 2).
#[derive(Clone, Debug, PartialEq)]
pub struct SogMeta {
    /// 1 (legacy, no `version` field) or 2.
    pub version: u32,
    /// Number of splats.
    pub count: usize,
    /// Whether the scene was trained with an anti-aliasing filter (v2
    /// `antialias: true` or `model: "antialiased"`).
    pub antialias: bool,
    /// v2's optional `model` tag (`default`, `antialiased`, `2dgs`).
    pub model: Option<String>,
    /// Positions.
    pub means: SogMeans,
    /// Log scales (3 channels).
    pub scales: SogQuantization,
    /// The `scales` plane.
    pub scales_file: String,
    /// The `quats` plane.
    pub quats_file: String,
    /// DC colour (3 channels; v1 ranges have a 4th entry, the opacity logit).
    pub sh0: SogQuantization,
    /// The `sh0` plane.
    pub sh0_file: String,
    /// Higher SH bands, if any.
    pub sh_n: Option<SogShN>,
}

impl SogMeta {
    /// The plane files this metadata references, as relative paths from the
    /// folder of `meta.json` (normalised: `/`-separated, no `.` parts).
    pub fn files(&self) -> Vec<String> {
        let mut files = vec![
            self.means.low_file.clone(),
            self.means.high_file.clone(),
            self.quats_file.clone(),
            self.scales_file.clone(),
            self.sh0_file.clone(),
        ];
        if let Some(sh) = &self.sh_n {
            files.push(sh.centroids_file.clone());
            files.push(sh.labels_file.clone());
        }
        files
    }
}

// ---------------------------------------------------------------------------
// Paths

/// Normalises a relative path from SOG metadata: `\` and `/` separate parts,
/// empty and `.` parts are dropped. Absolute paths, drive or URL prefixes and
/// `..` parts are rejected.
pub fn normalize_relative_path(path: &str) -> Result<String, SogError> {
    let bad = |reason| SogError::InvalidPath {
        path: path.chars().take(200).collect(),
        reason,
    };
    if path.starts_with('/') || path.starts_with('\\') {
        return Err(bad("absolute paths are not allowed"));
    }
    if path.contains(':') {
        return Err(bad("drive letters and URLs are not allowed"));
    }
    if path.contains('\0') {
        return Err(bad("NUL characters are not allowed"));
    }
    let mut parts = Vec::new();
    for part in path.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => return Err(bad("`..` is not allowed")),
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return Err(bad("the path is empty"));
    }
    Ok(parts.join("/"))
}

/// Resolves `relative` against the folder of the file `base` (both relative,
/// `/`-separated), e.g. `("0_0/meta.json", "means_l.webp")` →
/// `0_0/means_l.webp`. Rejects absolute paths and `..` escapes.
pub fn resolve_sog_path(base: &str, relative: &str) -> Result<String, SogError> {
    let relative = normalize_relative_path(relative)?;
    let base = normalize_relative_path(base)?;
    Ok(match base.rfind('/') {
        Some(slash) => format!("{}/{relative}", &base[..slash]),
        None => relative,
    })
}

// ---------------------------------------------------------------------------
// JSON helpers

/// Field-error constructor, so that `meta.json` and `lod-meta.json` share helpers.
pub(crate) type FieldError = fn(String, String) -> SogError;

pub(crate) fn meta_field_error(field: String, reason: String) -> SogError {
    SogError::MetaField { field, reason }
}

/// Parses a JSON metadata document, with the size limit.
pub(crate) fn parse_json(bytes: &[u8], file: &'static str) -> Result<Value, SogError> {
    if bytes.len() as u64 > MAX_META_BYTES {
        return Err(SogError::MetaTooLarge {
            file,
            size: bytes.len() as u64,
            limit: MAX_META_BYTES,
        });
    }
    serde_json::from_slice(bytes).map_err(|e| SogError::Json {
        file,
        reason: e.to_string(),
    })
}

/// A JSON object with its path, for error messages.
#[derive(Clone, Copy)]
pub(crate) struct Obj<'a> {
    pub(crate) map: &'a Map<String, Value>,
    pub(crate) path: &'a str,
    pub(crate) err: FieldError,
}

impl<'a> Obj<'a> {
    pub(crate) fn new(value: &'a Value, path: &'a str, err: FieldError) -> Result<Self, SogError> {
        match value {
            Value::Object(map) => Ok(Obj { map, path, err }),
            _ => Err(err(display_path(path), "is not an object".into())),
        }
    }

    pub(crate) fn child_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    pub(crate) fn fail(&self, key: &str, reason: impl Into<String>) -> SogError {
        (self.err)(self.child_path(key), reason.into())
    }

    pub(crate) fn opt(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub(crate) fn req(&self, key: &str) -> Result<&'a Value, SogError> {
        self.opt(key).ok_or_else(|| self.fail(key, "is missing"))
    }

    pub(crate) fn object(&self, key: &str, path: &'a str) -> Result<Obj<'a>, SogError> {
        Obj::new(self.req(key)?, path, self.err)
    }

    pub(crate) fn array(&self, key: &str) -> Result<&'a Vec<Value>, SogError> {
        self.req(key)?
            .as_array()
            .ok_or_else(|| self.fail(key, "is not an array"))
    }

    pub(crate) fn uint(&self, key: &str) -> Result<u64, SogError> {
        json_uint(self.req(key)?).ok_or_else(|| self.fail(key, "is not a non-negative integer"))
    }

    /// A finite number.
    pub(crate) fn number(&self, key: &str) -> Result<f64, SogError> {
        number(self.req(key)?).map_err(|r| self.fail(key, r))
    }

    /// An array of finite numbers of length `len`.
    pub(crate) fn numbers(&self, key: &str, len: usize) -> Result<Vec<f64>, SogError> {
        let array = self.array(key)?;
        if array.len() != len {
            return Err(self.fail(key, format!("has {} entries, expected {len}", array.len())));
        }
        array
            .iter()
            .enumerate()
            .map(|(i, v)| number(v).map_err(|r| self.fail(&format!("{key}[{i}]"), r)))
            .collect()
    }
}

fn display_path(path: &str) -> String {
    if path.is_empty() {
        "(root)".into()
    } else {
        path.into()
    }
}

/// A non-negative integer (also `3.0`).
pub(crate) fn json_uint(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 9.0e15)
            .map(|f| f as u64)
    })
}

fn number(v: &Value) -> Result<f64, &'static str> {
    match v.as_f64() {
        Some(f) if f.is_finite() => Ok(f),
        Some(_) => Err("is not a finite number"),
        None if v.is_null() => Err("is null (NaN or infinity when written)"),
        None => Err("is not a number"),
    }
}

/// An `f64` that must also be finite as `f32`.
fn to_f32(obj: &Obj<'_>, key: &str, value: f64) -> Result<f32, SogError> {
    let f = value as f32;
    if f.is_finite() {
        Ok(f)
    } else {
        Err(obj.fail(key, "overflows a 32-bit float"))
    }
}

// ---------------------------------------------------------------------------
// meta.json

/// Parses a SOG `meta.json` (v1 or v2). Checks every field used for decoding:
/// finite numbers, codebook lengths, file counts, relative file paths and the
/// splat count limit.
pub fn parse_sog_meta(json: &[u8]) -> Result<SogMeta, SogError> {
    let value = parse_json(json, "meta.json")?;
    let root = Obj::new(&value, "", meta_field_error)?;
    let version = match root.opt("version") {
        None => 1,
        Some(v) => match json_uint(v) {
            Some(2) => 2,
            _ => {
                return Err(SogError::UnsupportedVersion {
                    file: "meta.json",
                    version: v.to_string().chars().take(40).collect(),
                    expected: "2, or none for version 1",
                });
            }
        },
    };

    let means = root.object("means", "means")?;
    let count = if version == 2 {
        root.uint("count")?
    } else {
        let shape = means.array("shape")?;
        shape
            .first()
            .and_then(json_uint)
            .ok_or_else(|| means.fail("shape[0]", "is not a non-negative integer"))?
    };
    if count > MAX_SOG_SPLATS as u64 {
        return Err(SogError::CountTooLarge {
            count,
            limit: MAX_SOG_SPLATS,
        });
    }
    let count = count as usize;

    let mins = means.numbers("mins", 3)?;
    let maxs = means.numbers("maxs", 3)?;
    let [low_file, high_file] = files::<2>(&means)?;
    let means = SogMeans {
        mins: [mins[0], mins[1], mins[2]],
        maxs: [maxs[0], maxs[1], maxs[2]],
        low_file,
        high_file,
    };

    let quats = root.object("quats", "quats")?;
    let [quats_file] = files::<1>(&quats)?;

    let scales_obj = root.object("scales", "scales")?;
    let [scales_file] = files::<1>(&scales_obj)?;
    let sh0_obj = root.object("sh0", "sh0")?;
    let [sh0_file] = files::<1>(&sh0_obj)?;
    let (scales, sh0) = if version == 2 {
        (codebook(&scales_obj)?, codebook(&sh0_obj)?)
    } else {
        (ranges(&scales_obj, 3)?, ranges(&sh0_obj, 4)?)
    };

    let sh_n = match root.opt("shN") {
        None => None,
        Some(_) => {
            let sh = root.object("shN", "shN")?;
            let [centroids_file, labels_file] = files::<2>(&sh)?;
            if version == 2 {
                let bands = sh.uint("bands")?;
                if bands > 3 {
                    return Err(sh.fail("bands", format!("is {bands}, expected 0..=3")));
                }
                if bands == 0 {
                    None
                } else {
                    let palette = sh.uint("count")?;
                    if palette == 0 || palette > 65536 {
                        return Err(sh.fail("count", format!("is {palette}, expected 1..=65536")));
                    }
                    Some(SogShN {
                        bands: Some(bands as u8),
                        palette_count: Some(palette as usize),
                        quantization: codebook(&sh)?,
                        centroids_file,
                        labels_file,
                    })
                }
            } else {
                let min = sh.number("mins")?;
                let max = sh.number("maxs")?;
                Some(SogShN {
                    bands: None,
                    palette_count: None,
                    quantization: SogQuantization::Range {
                        mins: vec![to_f32(&sh, "mins", min)?],
                        maxs: vec![to_f32(&sh, "maxs", max)?],
                    },
                    centroids_file,
                    labels_file,
                })
            }
        }
    };

    let model = match root.opt("model") {
        None => None,
        Some(v) => Some(
            v.as_str()
                .ok_or_else(|| root.fail("model", "is not a string"))?
                .to_owned(),
        ),
    };
    let antialias = root.opt("antialias").and_then(Value::as_bool) == Some(true)
        || model.as_deref() == Some("antialiased");

    Ok(SogMeta {
        version,
        count,
        antialias,
        model,
        means,
        scales,
        scales_file,
        quats_file,
        sh0,
        sh0_file,
        sh_n,
    })
}

/// The `files` array of an attribute: exactly `N` relative paths.
fn files<const N: usize>(obj: &Obj<'_>) -> Result<[String; N], SogError> {
    let array = obj.array("files")?;
    if array.len() != N {
        return Err(obj.fail(
            "files",
            format!("lists {} files, expected {N}", array.len()),
        ));
    }
    let mut out: [String; N] = std::array::from_fn(|_| String::new());
    for (i, v) in array.iter().enumerate() {
        let name = v
            .as_str()
            .ok_or_else(|| obj.fail(&format!("files[{i}]"), "is not a string"))?;
        out[i] = normalize_relative_path(name)?;
    }
    Ok(out)
}

/// A v2 `codebook`: 1..=256 finite numbers; a `null` first entry is
/// extrapolated from entries 1 and 255 as the PlayCanvas engine does.
fn codebook(obj: &Obj<'_>) -> Result<SogQuantization, SogError> {
    let array = obj
        .map
        .get("codebook")
        .ok_or_else(|| obj.fail("codebook", "is missing"))?
        .as_array()
        .ok_or_else(|| obj.fail("codebook", "is not an array"))?;
    if array.is_empty() || array.len() > 256 {
        return Err(obj.fail(
            "codebook",
            format!("has {} entries, expected 1..=256", array.len()),
        ));
    }
    let mut values = Vec::with_capacity(array.len());
    for (i, v) in array.iter().enumerate() {
        let key = format!("codebook[{i}]");
        if i == 0 && v.is_null() && array.len() == 256 {
            values.push(f32::NAN); // patched below
            continue;
        }
        let f = number(v).map_err(|r| obj.fail(&key, r))?;
        values.push(to_f32(obj, &key, f)?);
    }
    if values[0].is_nan() {
        let patched = values[1] + (values[1] - values[255]) / 255.0;
        if !patched.is_finite() {
            return Err(obj.fail("codebook[0]", "is null and cannot be extrapolated"));
        }
        values[0] = patched;
    }
    Ok(SogQuantization::Codebook(values))
}

/// v1 per-channel `mins` / `maxs`.
fn ranges(obj: &Obj<'_>, channels: usize) -> Result<SogQuantization, SogError> {
    let mins = obj.numbers("mins", channels)?;
    let maxs = obj.numbers("maxs", channels)?;
    let conv = |key: &str, v: Vec<f64>| -> Result<Vec<f32>, SogError> {
        v.into_iter()
            .enumerate()
            .map(|(i, f)| to_f32(obj, &format!("{key}[{i}]"), f))
            .collect()
    };
    Ok(SogQuantization::Range {
        mins: conv("mins", mins)?,
        maxs: conv("maxs", maxs)?,
    })
}

// ---------------------------------------------------------------------------
// Planes

/// A decoded plane: 3 (RGB) or 4 (RGBA) bytes per pixel.
struct Plane {
    width: usize,
    channels: usize,
    data: Vec<u8>,
}

impl Plane {
    /// Pixel `i` as RGBA (alpha 255 when the image has none).
    #[inline(always)]
    fn texel(&self, i: usize) -> [u8; 4] {
        let o = i * self.channels;
        if self.channels == 4 {
            [
                self.data[o],
                self.data[o + 1],
                self.data[o + 2],
                self.data[o + 3],
            ]
        } else {
            [self.data[o], self.data[o + 1], self.data[o + 2], 255]
        }
    }
}

/// A WebP plane whose header has been read but whose pixels have not.
struct PendingPlane<'a> {
    name: String,
    width: u32,
    height: u32,
    decoder: WebPDecoder<Cursor<&'a [u8]>>,
}

fn open_plane<'a>(
    name: &str,
    files: &dyn Fn(&str) -> Option<&'a [u8]>,
) -> Result<PendingPlane<'a>, SogError> {
    let bytes = files(name).ok_or_else(|| SogError::MissingFile {
        name: name.to_owned(),
    })?;
    let webp_err = |e: image_webp::DecodingError| SogError::Webp {
        file: name.to_owned(),
        reason: e.to_string(),
    };
    let mut decoder = WebPDecoder::new(Cursor::new(bytes)).map_err(webp_err)?;
    if decoder.is_animated() {
        return Err(SogError::Webp {
            file: name.to_owned(),
            reason: "animated images are not SOG planes".into(),
        });
    }
    if decoder.is_lossy() {
        return Err(SogError::LossyPlane {
            file: name.to_owned(),
        });
    }
    let (width, height) = decoder.dimensions();
    Ok(PendingPlane {
        name: name.to_owned(),
        width,
        height,
        decoder,
    })
}

impl PendingPlane<'_> {
    fn pixels(&self) -> u64 {
        self.width as u64 * self.height as u64
    }

    fn decode(mut self) -> Result<Plane, SogError> {
        let err = |reason: String| SogError::Webp {
            file: self.name.clone(),
            reason,
        };
        let size = self
            .decoder
            .output_buffer_size()
            .ok_or_else(|| err("image size overflows".into()))?;
        let channels = if self.decoder.has_alpha() { 4 } else { 3 };
        let mut data = vec![0u8; size];
        self.decoder
            .read_image(&mut data)
            .map_err(|e| err(e.to_string()))?;
        Ok(Plane {
            width: self.width as usize,
            channels,
            data,
        })
    }
}

/// Decodes planes, in parallel threads when there is enough work.
fn decode_planes(pending: Vec<PendingPlane<'_>>) -> Result<Vec<Plane>, SogError> {
    let total: u64 = pending.iter().map(PendingPlane::pixels).sum();
    let parallel = cfg!(not(target_arch = "wasm32")) && total >= 1 << 16 && pending.len() > 1;
    if !parallel {
        return pending.into_iter().map(PendingPlane::decode).collect();
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = pending
            .into_iter()
            .map(|p| (p.name.clone(), scope.spawn(move || p.decode())))
            .collect();
        handles
            .into_iter()
            .map(|(file, handle)| {
                handle.join().unwrap_or_else(|_| {
                    Err(SogError::Webp {
                        file,
                        reason: "the WebP decoder panicked".into(),
                    })
                })
            })
            .collect()
    })
}

// ---------------------------------------------------------------------------
// Decoding

/// `lerp(a, b, t)`, exact at both ends.
#[inline(always)]
fn lerp(a: f32, b: f32, t: f32) -> f32 {
    a * (1.0 - t) + b * t
}

/// Decodes one channel's byte through a quantisation.
struct Dequant<'a> {
    attribute: &'static str,
    q: &'a SogQuantization,
}

impl Dequant<'_> {
    #[inline(always)]
    fn get(&self, channel: usize, byte: u8, at: impl FnOnce() -> String) -> Result<f32, SogError> {
        match self.q {
            SogQuantization::Codebook(cb) => {
                cb.get(byte as usize)
                    .copied()
                    .ok_or_else(|| SogError::CodebookIndex {
                        attribute: self.attribute,
                        value: byte,
                        len: cb.len(),
                        at: at(),
                    })
            }
            SogQuantization::Range { mins, maxs } => {
                let c = channel.min(mins.len() - 1).min(maxs.len() - 1);
                Ok(lerp(mins[c], maxs[c], byte as f32 / 255.0))
            }
        }
    }
}

/// Checks that a v1 range has at least `channels` entries (the parser ensures
/// it; a hand-built [`SogMeta`] might not).
fn check_quantization(q: &SogQuantization, field: &str, channels: usize) -> Result<(), SogError> {
    let bad = |reason: String| SogError::MetaField {
        field: field.to_owned(),
        reason,
    };
    match q {
        SogQuantization::Codebook(cb) if cb.is_empty() || cb.len() > 256 => Err(bad(format!(
            "codebook has {} entries, expected 1..=256",
            cb.len()
        ))),
        SogQuantization::Range { mins, maxs } if mins.len() < channels || maxs.len() < channels => {
            Err(bad(format!("ranges need {channels} entries")))
        }
        _ => Ok(()),
    }
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

/// Decodes only the splats in `ranges` (`(start, end)` pairs, in that order);
/// each range must lie within `0..meta.count`.
pub(crate) fn decode_sog_ranges<'a>(
    meta: &SogMeta,
    files: &dyn Fn(&str) -> Option<&'a [u8]>,
    ranges: &[(usize, usize)],
) -> Result<GaussianSplats, SogError> {
    let count = meta.count;
    if count > MAX_SOG_SPLATS {
        return Err(SogError::CountTooLarge {
            count: count as u64,
            limit: MAX_SOG_SPLATS,
        });
    }
    let mut selected = 0usize;
    for &(start, end) in ranges {
        if start > end || end > count {
            return Err(SogError::LodRangeOutOfBounds {
                file: "meta.json".into(),
                offset: start as u64,
                count: end.saturating_sub(start) as u64,
                file_count: count,
            });
        }
        selected = selected.saturating_add(end - start);
    }
    if selected > MAX_SOG_SPLATS {
        return Err(SogError::CountTooLarge {
            count: selected as u64,
            limit: MAX_SOG_SPLATS,
        });
    }
    check_quantization(&meta.scales, "scales", 3)?;
    check_quantization(&meta.sh0, "sh0", if meta.version == 2 { 3 } else { 4 })?;
    if let Some(sh) = &meta.sh_n {
        check_quantization(&sh.quantization, "shN", 1)?;
    }
    let v1_opacity = match &meta.sh0 {
        SogQuantization::Range { mins, maxs } if mins.len() >= 4 && maxs.len() >= 4 => {
            Some((mins[3], maxs[3]))
        }
        _ => None,
    };

    // Open every plane (headers only) and check sizes before decoding pixels.
    let per_splat = [
        &meta.means.low_file,
        &meta.means.high_file,
        &meta.quats_file,
        &meta.scales_file,
        &meta.sh0_file,
    ];
    let mut pending = Vec::with_capacity(7);
    for name in per_splat {
        pending.push(open_plane(name, files)?);
    }
    let mut sh_layout = None;
    if let Some(sh) = &meta.sh_n {
        pending.push(open_plane(&sh.labels_file, files)?);
        let centroids = open_plane(&sh.centroids_file, files)?;
        let (width, height) = (centroids.width, centroids.height);
        let size_err = |reason: String| SogError::CentroidsSize {
            file: sh.centroids_file.clone(),
            width,
            height,
            reason,
        };
        let bands = match sh.bands {
            Some(b @ 1..=3) => {
                let expected = (CENTROIDS_PER_ROW * REST_PER_CHANNEL[b as usize]) as u32;
                if width != expected {
                    return Err(size_err(format!("{b} SH bands need a width of {expected}")));
                }
                b
            }
            Some(b) => {
                return Err(SogError::MetaField {
                    field: "shN.bands".into(),
                    reason: format!("is {b}, expected 1..=3"),
                });
            }
            None => match width {
                192 => 1,
                512 => 2,
                960 => 3,
                _ => {
                    return Err(size_err(
                        "the width must be 192, 512 or 960 (1, 2 or 3 SH bands)".into(),
                    ));
                }
            },
        };
        let max_rows = 65536 / CENTROIDS_PER_ROW as u32;
        if height > max_rows {
            return Err(size_err(format!(
                "16-bit labels address at most {max_rows} rows"
            )));
        }
        let stored = CENTROIDS_PER_ROW * height as usize;
        let entries = sh.palette_count.map_or(stored, |p| p.min(stored));
        sh_layout = Some((bands, entries));
        pending.push(centroids);
    }
    let per_splat_planes = pending.len() - usize::from(meta.sh_n.is_some());
    let (ref_w, ref_h) = (pending[0].width, pending[0].height);
    let limit = 2 * count as u64 + (1 << 20);
    for p in &pending[..per_splat_planes] {
        if p.width != ref_w || p.height != ref_h {
            return Err(SogError::PlaneSizeMismatch {
                file: p.name.clone(),
                width: p.width,
                height: p.height,
                reference: pending[0].name.clone(),
                expected_width: ref_w,
                expected_height: ref_h,
            });
        }
    }
    let first = &pending[0];
    if first.pixels() < count as u64 {
        return Err(SogError::PlaneTooSmall {
            file: first.name.clone(),
            width: first.width,
            height: first.height,
            count,
        });
    }
    if first.pixels() > limit {
        return Err(SogError::PlaneTooLarge {
            file: first.name.clone(),
            width: first.width,
            height: first.height,
            count,
            limit,
        });
    }

    let planes = decode_planes(pending)?;
    let (means_l, means_u, quats, scales_p, sh0_p) =
        (&planes[0], &planes[1], &planes[2], &planes[3], &planes[4]);

    // The SH palette, expanded once: `entries × rest` RGB triples.
    let (degree, palette, rest) = match (sh_layout, &meta.sh_n) {
        (Some((bands, entries)), Some(sh)) => {
            let rest = REST_PER_CHANNEL[bands as usize];
            let centroids = &planes[6];
            let dq = Dequant {
                attribute: "shN",
                q: &sh.quantization,
            };
            let mut palette = Vec::with_capacity(entries * rest);
            for e in 0..entries {
                let (x0, y) = ((e % CENTROIDS_PER_ROW) * rest, e / CENTROIDS_PER_ROW);
                for j in 0..rest {
                    let px = centroids.texel(y * centroids.width + x0 + j);
                    let at = || format!("SH palette entry {e}");
                    palette.push([
                        dq.get(0, px[0], at)?,
                        dq.get(0, px[1], at)?,
                        dq.get(0, px[2], at)?,
                    ]);
                }
            }
            (bands, palette, rest)
        }
        _ => (0, Vec::new(), 0),
    };
    let labels = meta.sh_n.as_ref().map(|_| &planes[5]);
    let k = sh_coefficient_count(degree);
    let entries = palette.len().checked_div(rest).unwrap_or(0);

    let mut out = GaussianSplats {
        positions: Vec::with_capacity(selected),
        rotations: Vec::with_capacity(selected),
        scales: Vec::with_capacity(selected),
        opacities: Vec::with_capacity(selected),
        sh_degree: degree,
        sh: Vec::with_capacity(selected * k),
    };
    let scale_dq = Dequant {
        attribute: "scales",
        q: &meta.scales,
    };
    let color_dq = Dequant {
        attribute: "sh0",
        q: &meta.sh0,
    };
    let (mins, maxs) = (meta.means.mins, meta.means.maxs);

    for &(start, end) in ranges {
        for i in start..end {
            let lo = means_l.texel(i);
            let hi = means_u.texel(i);
            let mut p = [0f32; 3];
            for a in 0..3 {
                let n = lo[a] as u32 | (hi[a] as u32) << 8;
                let t = n as f64 / 65535.0;
                let v = mins[a] * (1.0 - t) + maxs[a] * t;
                p[a] = (v.signum() * (v.abs().exp() - 1.0)) as f32;
            }
            out.positions.push(Vec3::from_array(p));

            let q = quats.texel(i);
            if !(252..=255).contains(&q[3]) {
                return Err(SogError::QuatTag {
                    index: i,
                    tag: q[3],
                });
            }
            let s = std::f32::consts::SQRT_2;
            let a = (q[0] as f32 / 255.0 - 0.5) * s;
            let b = (q[1] as f32 / 255.0 - 0.5) * s;
            let c = (q[2] as f32 / 255.0 - 0.5) * s;
            let d = (1.0 - (a * a + b * b + c * c)).max(0.0).sqrt();
            // (x, y, z, w); the three stored values keep (w, x, y, z) order.
            let rot = match q[3] - 252 {
                0 => Quat::from_xyzw(a, b, c, d),
                1 => Quat::from_xyzw(d, b, c, a),
                2 => Quat::from_xyzw(b, d, c, a),
                _ => Quat::from_xyzw(b, c, d, a),
            };
            out.rotations.push(rot.normalize());

            let sc = scales_p.texel(i);
            let at = || format!("splat {i}");
            out.scales.push(Vec3::new(
                scale_dq.get(0, sc[0], at)?.exp(),
                scale_dq.get(1, sc[1], at)?.exp(),
                scale_dq.get(2, sc[2], at)?.exp(),
            ));

            let c0 = sh0_p.texel(i);
            out.sh.push([
                color_dq.get(0, c0[0], at)?,
                color_dq.get(1, c0[1], at)?,
                color_dq.get(2, c0[2], at)?,
            ]);
            out.opacities.push(match v1_opacity {
                Some((lo, hi)) => {
                    let logit = lerp(lo, hi, c0[3] as f32 / 255.0);
                    1.0 / (1.0 + (-logit).exp())
                }
                None => c0[3] as f32 / 255.0,
            });

            if let Some(labels) = labels {
                let l = labels.texel(i);
                let label = l[0] as usize | (l[1] as usize) << 8;
                if label >= entries {
                    return Err(SogError::ShPaletteIndex {
                        index: label as u32,
                        centroids: entries,
                        splat: i,
                    });
                }
                out.sh
                    .extend_from_slice(&palette[label * rest..(label + 1) * rest]);
            }
        }
    }
    out.validate()?;
    Ok(out)
}

// ---------------------------------------------------------------------------
// Bundles

/// Reads one entry of a bundle, with size checks before any allocation.
fn read_entry(
    archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
    name: &str,
    limit: u64,
) -> Result<Vec<u8>, SogError> {
    let index = archive
        .index_for_name(name)
        .ok_or_else(|| SogError::MissingEntry {
            name: name.to_owned(),
        })?;
    let bad = |reason: String| SogError::BadEntry {
        name: name.to_owned(),
        reason,
    };
    let file = archive.by_index(index).map_err(|e| bad(e.to_string()))?;
    let (size, compressed) = (file.size(), file.compressed_size());
    let limit = limit.min(
        compressed
            .saturating_mul(MAX_DEFLATE_RATIO)
            .saturating_add(64),
    );
    if size > limit {
        return Err(SogError::EntryTooLarge {
            name: name.to_owned(),
            size,
            compressed,
            limit,
        });
    }
    let mut data = Vec::with_capacity(size as usize);
    file.take(size + 1)
        .read_to_end(&mut data)
        .map_err(|e| bad(e.to_string()))?;
    if data.len() as u64 != size {
        return Err(bad(format!(
            "holds {} bytes, but declares {size}",
            data.len()
        )));
    }
    Ok(data)
}

/// Decodes a bundled `.sog` file: a ZIP archive (stored or deflated entries)
/// with `meta.json` and the planes it names at the root.
pub fn parse_bundled_sog(zip_bytes: &[u8]) -> Result<GaussianSplats, SogError> {
    let mut archive =
        zip::ZipArchive::new(Cursor::new(zip_bytes)).map_err(|e| SogError::Zip(e.to_string()))?;
    let meta_bytes = read_entry(&mut archive, "meta.json", MAX_META_BYTES)?;
    let meta = parse_sog_meta(&meta_bytes)?;
    let mut planes: HashMap<String, Vec<u8>> = HashMap::new();
    for name in meta.files() {
        if let std::collections::hash_map::Entry::Vacant(slot) = planes.entry(name) {
            let bytes = read_entry(&mut archive, slot.key(), MAX_ENTRY_BYTES)?;
            slot.insert(bytes);
        }
    }
    decode_sog(&meta, &|name| planes.get(name).map(Vec::as_slice))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use image_webp::{ColorType, WebPEncoder};
    use std::io::Write;

    /// Plane files by name.
    pub(crate) type Planes = HashMap<String, Vec<u8>>;

    pub(crate) const WAVE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/wave_0001.sog");

    /// Lossless RGBA WebP.
    pub(crate) fn webp(rgba: &[u8], w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        WebPEncoder::new(&mut out)
            .encode(rgba, w, h, ColorType::Rgba8)
            .unwrap();
        out
    }

    fn log_t(x: f32) -> f64 {
        (x as f64).signum() * ((x as f64).abs() + 1.0).ln()
    }

    /// A uniform 256-entry table over `lo..=hi` and the nearest index of a value.
    fn table(values: impl Iterator<Item = f32>) -> (Vec<f32>, f32, f32) {
        let (lo, hi) = values.fold((f32::MAX, f32::MIN), |(a, b), v| (a.min(v), b.max(v)));
        let (lo, hi) = if lo > hi { (0.0, 0.0) } else { (lo, hi) };
        let cb = (0..256).map(|i| lerp(lo, hi, i as f32 / 255.0)).collect();
        (cb, lo, hi)
    }

    fn quant(v: f32, lo: f32, hi: f32) -> u8 {
        if hi > lo {
            ((v - lo) / (hi - lo) * 255.0).round().clamp(0.0, 255.0) as u8
        } else {
            0
        }
    }

    /// A test-only SOG encoder (v1 or v2): planes `width` pixels wide, uniform
    /// tables, one SH palette entry per splat. Returns `meta.json` and the files.
    pub(crate) fn encode(
        s: &GaussianSplats,
        width: u32,
        version: u32,
    ) -> (Vec<u8>, HashMap<String, Vec<u8>>) {
        let n = s.len();
        let h = (n as u32).div_ceil(width).max(1);
        let px = (width * h) as usize;
        let k = s.sh_per_splat();
        let mut files = HashMap::new();
        let mut plane = |name: &str, data: Vec<u8>, w: u32, h: u32| {
            files.insert(name.to_owned(), webp(&data, w, h));
        };

        let mut mins = [f64::MAX; 3];
        let mut maxs = [f64::MIN; 3];
        for p in &s.positions {
            for a in 0..3 {
                mins[a] = mins[a].min(log_t(p[a]));
                maxs[a] = maxs[a].max(log_t(p[a]));
            }
        }
        let (mut lo, mut hi) = (vec![0u8; px * 4], vec![0u8; px * 4]);
        for (i, p) in s.positions.iter().enumerate() {
            for a in 0..3 {
                let range = maxs[a] - mins[a];
                let u = if range > 0.0 {
                    ((log_t(p[a]) - mins[a]) / range * 65535.0).round() as u32
                } else {
                    0
                };
                lo[i * 4 + a] = u as u8;
                hi[i * 4 + a] = (u >> 8) as u8;
            }
            lo[i * 4 + 3] = 255;
            hi[i * 4 + 3] = 255;
        }
        plane("means_l.webp", lo, width, h);
        plane("means_u.webp", hi, width, h);

        let mut quats = vec![0u8; px * 4];
        for (i, q) in s.rotations.iter().enumerate() {
            let q = q.normalize();
            let mut c = [q.w, q.x, q.y, q.z];
            let mut m = 0;
            for j in 1..4 {
                if c[j].abs() > c[m].abs() {
                    m = j;
                }
            }
            if c[m] < 0.0 {
                c.iter_mut().for_each(|v| *v = -*v);
            }
            let mut o = 0;
            for (j, v) in c.iter().enumerate() {
                if j != m {
                    let t = v * std::f32::consts::SQRT_2 * 0.5 + 0.5;
                    quats[i * 4 + o] = (t * 255.0).round().clamp(0.0, 255.0) as u8;
                    o += 1;
                }
            }
            quats[i * 4 + 3] = 252 + m as u8;
        }
        plane("quats.webp", quats, width, h);

        let logs: Vec<[f32; 3]> = s.scales.iter().map(|v| v.to_array().map(f32::ln)).collect();
        let (scb, slo, shi) = table(logs.iter().flatten().copied());
        let mut scales = vec![255u8; px * 4];
        for (i, l) in logs.iter().enumerate() {
            for a in 0..3 {
                scales[i * 4 + a] = quant(l[a], slo, shi);
            }
        }
        plane("scales.webp", scales, width, h);

        let (ccb, clo, chi) = table((0..n).flat_map(|i| s.sh[i * k]));
        let logits: Vec<f32> = s
            .opacities
            .iter()
            .map(|o| {
                let o = o.clamp(1e-4, 1.0 - 1e-4);
                (o / (1.0 - o)).ln()
            })
            .collect();
        let (_, olo, ohi) = table(logits.iter().copied());
        let mut sh0 = vec![0u8; px * 4];
        for i in 0..n {
            for c in 0..3 {
                sh0[i * 4 + c] = quant(s.sh[i * k][c], clo, chi);
            }
            sh0[i * 4 + 3] = if version == 2 {
                (s.opacities[i] * 255.0).round() as u8
            } else {
                quant(logits[i], olo, ohi)
            };
        }
        plane("sh0.webp", sh0, width, h);

        let mut meta = if version == 2 {
            serde_json::json!({
                "version": 2, "count": n,
                "means": {"mins": mins, "maxs": maxs, "files": ["means_l.webp", "means_u.webp"]},
                "scales": {"codebook": scb, "files": ["scales.webp"]},
                "quats": {"files": ["quats.webp"]},
                "sh0": {"codebook": ccb, "files": ["sh0.webp"]},
            })
        } else {
            let (smins, smaxs) = ([slo; 3], [shi; 3]);
            serde_json::json!({
                "means": {"shape": [n, 3], "mins": mins, "maxs": maxs,
                          "files": ["means_l.webp", "means_u.webp"]},
                "scales": {"mins": smins, "maxs": smaxs, "files": ["scales.webp"]},
                "quats": {"files": ["quats.webp"]},
                "sh0": {"mins": [clo, clo, clo, olo], "maxs": [chi, chi, chi, ohi],
                        "files": ["sh0.webp"]},
            })
        };

        if s.sh_degree > 0 {
            let rest = k - 1;
            let (rcb, rlo, rhi) =
                table((0..n).flat_map(|i| s.sh[i * k + 1..(i + 1) * k].iter().flatten().copied()));
            let (cw, ch) = (64 * rest as u32, (n as u32).div_ceil(64).max(1));
            let mut centroids = vec![255u8; (cw * ch) as usize * 4];
            let mut labels = vec![255u8; px * 4];
            for i in 0..n {
                for j in 0..rest {
                    let o = ((i / 64) * cw as usize + (i % 64) * rest + j) * 4;
                    for c in 0..3 {
                        centroids[o + c] = quant(s.sh[i * k + 1 + j][c], rlo, rhi);
                    }
                }
                labels[i * 4] = i as u8;
                labels[i * 4 + 1] = (i >> 8) as u8;
                labels[i * 4 + 2] = 0;
            }
            plane("shN_centroids.webp", centroids, cw, ch);
            plane("shN_labels.webp", labels, width, h);
            let files = ["shN_centroids.webp", "shN_labels.webp"];
            meta["shN"] = if version == 2 {
                serde_json::json!({"count": n.max(1), "bands": s.sh_degree,
                                   "codebook": rcb, "files": files})
            } else {
                serde_json::json!({"mins": rlo, "maxs": rhi, "files": files})
            };
        }
        (serde_json::to_vec(&meta).unwrap(), files)
    }

    /// Deterministic pseudo-random splats.
    pub(crate) fn sample_splats(n: usize, degree: u8, seed: u64) -> GaussianSplats {
        let mut state = seed | 1;
        let mut rnd = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f32 / (1u64 << 53) as f32
        };
        let k = sh_coefficient_count(degree);
        let mut s = GaussianSplats {
            sh_degree: degree,
            ..Default::default()
        };
        for _ in 0..n {
            s.positions.push(Vec3::new(
                rnd() * 8.0 - 4.0,
                rnd() * 2.0 - 1.5,
                rnd() * 30.0 - 5.0,
            ));
            s.rotations.push(
                Quat::from_xyzw(rnd() - 0.5, rnd() - 0.5, rnd() - 0.5, rnd() - 0.5).normalize(),
            );
            s.scales.push(Vec3::new(
                rnd() * 0.1 + 0.001,
                rnd() * 0.05 + 0.001,
                rnd() * 0.3 + 0.01,
            ));
            s.opacities.push(rnd() * 0.98 + 0.01);
            for _ in 0..k {
                s.sh.push([rnd() * 2.0 - 1.0, rnd() * 2.0 - 1.0, rnd() * 2.0 - 1.0]);
            }
        }
        s
    }

    fn decode_set(
        meta: &[u8],
        files: &HashMap<String, Vec<u8>>,
    ) -> Result<GaussianSplats, SogError> {
        decode_sog(&parse_sog_meta(meta)?, &|n| files.get(n).map(Vec::as_slice))
    }

    fn assert_close(a: &GaussianSplats, b: &GaussianSplats, version: u32) {
        assert_eq!(a.len(), b.len());
        assert_eq!(a.sh_degree, b.sh_degree);
        let k = a.sh_per_splat();
        for i in 0..a.len() {
            let dp = (a.positions[i] - b.positions[i]).abs().max_element();
            assert!(
                dp < 2e-3,
                "position {i}: {} vs {}",
                a.positions[i],
                b.positions[i]
            );
            let dq = a.rotations[i].dot(b.rotations[i]).abs();
            assert!(
                dq > 0.999,
                "rotation {i}: {} vs {}",
                a.rotations[i],
                b.rotations[i]
            );
            let ds = (a.scales[i] / b.scales[i] - Vec3::ONE).abs().max_element();
            assert!(ds < 0.03, "scale {i}: {} vs {}", a.scales[i], b.scales[i]);
            let tol = if version == 2 { 0.003 } else { 0.02 };
            assert!((a.opacities[i] - b.opacities[i]).abs() < tol, "opacity {i}");
            for j in 0..k {
                for c in 0..3 {
                    let d = (a.sh[i * k + j][c] - b.sh[i * k + j][c]).abs();
                    assert!(d < 0.01, "sh {i} {j} {c}: {d}");
                }
            }
        }
    }

    fn zip_of(entries: &[(&str, &[u8])], deflate: bool) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let method = if deflate {
            zip::CompressionMethod::Deflated
        } else {
            zip::CompressionMethod::Stored
        };
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        for (name, data) in entries {
            w.start_file(*name, options).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn bundle(meta: &[u8], files: &HashMap<String, Vec<u8>>, deflate: bool) -> Vec<u8> {
        let mut entries: Vec<(&str, &[u8])> = vec![("meta.json", meta)];
        let mut names: Vec<&String> = files.keys().collect();
        names.sort();
        for name in names {
            entries.push((name, &files[name]));
        }
        zip_of(&entries, deflate)
    }

    /// The wave bundle's meta.json and planes.
    fn wave_parts() -> (Vec<u8>, HashMap<String, Vec<u8>>) {
        let bytes = std::fs::read(WAVE).unwrap();
        let mut archive = zip::ZipArchive::new(Cursor::new(&bytes[..])).unwrap();
        let mut files = HashMap::new();
        for i in 0..archive.len() {
            let mut f = archive.by_index(i).unwrap();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            files.insert(f.name().unwrap().into_owned(), data);
        }
        let meta = files.remove("meta.json").unwrap();
        (meta, files)
    }

    fn check_sane(s: &GaussianSplats) {
        s.validate().unwrap();
        for i in 0..s.len() {
            assert!((0.0..=1.0).contains(&s.opacities[i]));
            assert!((s.rotations[i].length() - 1.0).abs() < 1e-4);
            assert!(s.scales[i].min_element() > 0.0);
        }
    }

    #[test]
    fn wave_bundle_loads() {
        let bytes = std::fs::read(WAVE).unwrap();
        let start = std::time::Instant::now();
        let s = parse_bundled_sog(&bytes).unwrap();
        eprintln!(
            "wave_0001.sog: {} splats decoded in {:?}",
            s.len(),
            start.elapsed()
        );
        assert_eq!(s.len(), 4225);
        assert_eq!(s.sh_degree, 0);
        check_sane(&s);
        // meta.json's means range (log space) bounds the positions.
        let (meta, _) = wave_parts();
        let meta = parse_sog_meta(&meta).unwrap();
        assert_eq!(meta.version, 2);
        assert_eq!(meta.count, 4225);
        assert!(meta.sh_n.is_none());
        let (lo, hi) = s.bounds().unwrap();
        for a in 0..3 {
            let inv = |v: f64| (v.signum() * (v.abs().exp() - 1.0)) as f32;
            assert!(lo[a] >= inv(meta.means.mins[a]) - 1e-4);
            assert!(hi[a] <= inv(meta.means.maxs[a]) + 1e-4);
        }
    }

    #[test]
    fn round_trips() {
        for (version, degree, n, width) in [
            (2, 3, 300, 20),
            (2, 0, 17, 4),
            (1, 1, 130, 16),
            (1, 2, 5, 8),
        ] {
            let s = sample_splats(n, degree, 7 + n as u64);
            let (meta, files) = encode(&s, width, version);
            let parsed = parse_sog_meta(&meta).unwrap();
            assert_eq!(parsed.version, version);
            assert_eq!(parsed.count, n);
            let mut expected: Vec<String> = files.keys().cloned().collect();
            let mut listed = parsed.files();
            expected.sort();
            listed.sort();
            assert_eq!(listed, expected);
            let decoded = decode_set(&meta, &files).unwrap();
            assert_close(&decoded, &s, version);
            // The same set bundled, stored and deflated.
            for deflate in [false, true] {
                let zipped = bundle(&meta, &files, deflate);
                assert_eq!(parse_bundled_sog(&zipped).unwrap(), decoded);
            }
        }
    }

    #[test]
    fn ranges_select_splats() {
        let s = sample_splats(40, 1, 3);
        let (meta, files) = encode(&s, 8, 2);
        let meta = parse_sog_meta(&meta).unwrap();
        let get = |n: &str| files.get(n).map(Vec::as_slice);
        let all = decode_sog(&meta, &get).unwrap();
        let part = decode_sog_ranges(&meta, &get, &[(30, 40), (2, 5)]).unwrap();
        assert_eq!(part.len(), 13);
        assert_eq!(part.positions[0], all.positions[30]);
        assert_eq!(part.positions[10], all.positions[2]);
        assert_eq!(part.sh_of(12), all.sh_of(4));
        assert!(decode_sog_ranges(&meta, &get, &[(30, 41)]).is_err());
    }

    #[test]
    fn paths_are_checked() {
        assert_eq!(
            normalize_relative_path("./a//b\\c.webp").unwrap(),
            "a/b/c.webp"
        );
        for bad in [
            "../x.webp",
            "a/../../x",
            "/abs.webp",
            "\\x",
            "C:/x",
            "http://h/x",
            "",
            "./",
        ] {
            assert!(
                matches!(
                    normalize_relative_path(bad),
                    Err(SogError::InvalidPath { .. })
                ),
                "{bad}"
            );
        }
        assert_eq!(
            resolve_sog_path("0_0/meta.json", "means_l.webp").unwrap(),
            "0_0/means_l.webp"
        );
        assert_eq!(
            resolve_sog_path("meta.json", "x/y.webp").unwrap(),
            "x/y.webp"
        );
        assert!(resolve_sog_path("0_0/meta.json", "../1_0/x.webp").is_err());
    }

    /// Edits the meta JSON of a small valid set.
    fn edited(f: impl FnOnce(&mut Value)) -> Vec<u8> {
        let (meta, _) = encode(&sample_splats(10, 1, 5), 4, 2);
        let mut v: Value = serde_json::from_slice(&meta).unwrap();
        f(&mut v);
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn bad_meta_is_reported() {
        let err = |json: &[u8]| parse_sog_meta(json).unwrap_err();
        assert!(matches!(err(b"{\"version\": 2,"), SogError::Json { .. }));
        assert!(matches!(err(b"[1, 2]"), SogError::MetaField { .. }));
        let e = err(&edited(|v| v["version"] = 3.into()));
        assert!(matches!(e, SogError::UnsupportedVersion { .. }), "{e}");
        let e = err(&edited(|v| v["count"] = 1_000_000_000_000u64.into()));
        assert!(matches!(e, SogError::CountTooLarge { .. }), "{e}");
        let e = err(&edited(|v| v["count"] = (-1).into()));
        assert!(matches!(e, SogError::MetaField { .. }), "{e}");
        // NaN is written as `null` by JSON.stringify, as `NaN` by some tools.
        let e = err(&edited(|v| v["means"]["mins"][1] = Value::Null));
        assert!(
            matches!(&e, SogError::MetaField { field, .. } if field == "means.mins[1]"),
            "{e}"
        );
        let nan = String::from_utf8(edited(|_| {})).unwrap();
        let nan = nan.replacen("\"mins\":[", "\"mins\":[NaN,", 1);
        assert!(matches!(err(nan.as_bytes()), SogError::Json { .. }));
        let e = err(&edited(|v| v["scales"]["codebook"][3] = 1e39.into()));
        assert!(matches!(e, SogError::MetaField { .. }), "{e}");
        let e = err(&edited(|v| v["sh0"]["codebook"] = serde_json::json!([])));
        assert!(matches!(e, SogError::MetaField { .. }), "{e}");
        let e = err(&edited(|v| v["shN"]["bands"] = 4.into()));
        assert!(matches!(e, SogError::MetaField { .. }), "{e}");
        let e = err(&edited(|v| {
            v["means"]["files"] = serde_json::json!(["a.webp"])
        }));
        assert!(matches!(e, SogError::MetaField { .. }), "{e}");
        let e = err(&edited(|v| v["quats"]["files"][0] = "../quats.webp".into()));
        assert!(matches!(e, SogError::InvalidPath { .. }), "{e}");
        let e = err(&edited(|v| {
            v["quats"]["files"][0] = "/tmp/quats.webp".into()
        }));
        assert!(matches!(e, SogError::InvalidPath { .. }), "{e}");
        // A null first codebook entry (old tools) is extrapolated.
        let meta = parse_sog_meta(&edited(|v| v["sh0"]["codebook"][0] = Value::Null)).unwrap();
        let SogQuantization::Codebook(cb) = meta.sh0 else {
            panic!()
        };
        assert!(cb[0].is_finite() && cb[0] <= cb[1]);
    }

    #[test]
    fn bad_planes_are_reported() {
        let s = sample_splats(10, 1, 5);
        let (meta, files) = encode(&s, 4, 2);
        let try_with = |f: &dyn Fn(&mut Planes), meta: &[u8]| {
            let mut files = files.clone();
            f(&mut files);
            decode_set(meta, &files).unwrap_err()
        };
        // Missing plane.
        let e = try_with(&|f| drop(f.remove("scales.webp")), &meta);
        assert!(
            matches!(&e, SogError::MissingFile { name } if name == "scales.webp"),
            "{e}"
        );
        // Not a WebP.
        let e = try_with(
            &|f| drop(f.insert("quats.webp".into(), b"RIFF1234WEBPnope".to_vec())),
            &meta,
        );
        assert!(matches!(e, SogError::Webp { .. }), "{e}");
        // A plane of the wrong size.
        let e = try_with(
            &|f| drop(f.insert("sh0.webp".into(), webp(&[0; 4 * 5 * 3], 5, 3))),
            &meta,
        );
        assert!(
            matches!(&e, SogError::PlaneSizeMismatch { file, .. } if file == "sh0.webp"),
            "{e}"
        );
        // All planes too small for the count.
        let bigger = edited(|v| v["count"] = 13.into());
        let e = try_with(&|_| {}, &bigger);
        assert!(matches!(e, SogError::PlaneTooSmall { .. }), "{e}");
        // Far more pixels than the count needs.
        let huge = webp(&vec![0; 2048 * 1024 * 4], 2048, 1024);
        let e = try_with(
            &|f| {
                for name in [
                    "means_l.webp",
                    "means_u.webp",
                    "quats.webp",
                    "scales.webp",
                    "sh0.webp",
                    "shN_labels.webp",
                ] {
                    f.insert(name.into(), huge.clone());
                }
            },
            &meta,
        );
        assert!(matches!(e, SogError::PlaneTooLarge { .. }), "{e}");
        // SH palette index out of range: label 700 with 10 centroids.
        let mut labels = vec![0u8; 4 * 4 * 3];
        labels[4 * 7] = (700 & 255) as u8;
        labels[4 * 7 + 1] = (700 >> 8) as u8;
        let e = try_with(
            &|f| drop(f.insert("shN_labels.webp".into(), webp(&labels, 4, 3))),
            &meta,
        );
        assert_eq!(
            e.to_string(),
            "SH palette index 700 out of range (10 centroids), at splat 7"
        );
        // Centroids plane too narrow for its bands.
        let e = try_with(
            &|f| drop(f.insert("shN_centroids.webp".into(), webp(&[0; 4 * 64], 64, 1))),
            &meta,
        );
        assert!(matches!(e, SogError::CentroidsSize { .. }), "{e}");
        // Bad rotation tag.
        let mut quats = vec![255u8; 4 * 4 * 3];
        quats[4 * 2 + 3] = 17;
        let e = try_with(
            &|f| drop(f.insert("quats.webp".into(), webp(&quats, 4, 3))),
            &meta,
        );
        assert!(matches!(e, SogError::QuatTag { index: 2, tag: 17 }), "{e}");
        // Codebook indices past a short codebook.
        let short = edited(|v| v["scales"]["codebook"] = serde_json::json!([-3.0, -2.0]));
        let e = try_with(&|_| {}, &short);
        assert!(
            matches!(
                e,
                SogError::CodebookIndex {
                    attribute: "scales",
                    len: 2,
                    ..
                }
            ),
            "{e}"
        );
        // Scales that overflow after `exp`.
        let inf = edited(|v| v["scales"]["codebook"] = serde_json::json!(vec![200.0; 256]));
        let e = try_with(&|_| {}, &inf);
        assert!(matches!(e, SogError::InvalidData(_)), "{e}");
    }

    #[test]
    fn bad_bundles_are_reported() {
        let bytes = std::fs::read(WAVE).unwrap();
        // Truncated.
        for len in [0, 10, bytes.len() / 2, bytes.len() - 10] {
            let e = parse_bundled_sog(&bytes[..len]).unwrap_err();
            assert!(
                matches!(e, SogError::Zip(_) | SogError::BadEntry { .. }),
                "{len}: {e}"
            );
        }
        // Missing entry.
        let (meta, mut files) = wave_parts();
        files.remove("sh0.webp");
        let e = parse_bundled_sog(&bundle(&meta, &files, true)).unwrap_err();
        assert!(
            matches!(&e, SogError::MissingEntry { name } if name == "sh0.webp"),
            "{e}"
        );
        let e = parse_bundled_sog(&zip_of(&[("x.json", b"{}")], false)).unwrap_err();
        assert!(
            matches!(&e, SogError::MissingEntry { name } if name == "meta.json"),
            "{e}"
        );
        // A damaged entry (CRC mismatch).
        let (meta, files) = wave_parts();
        let mut zipped = bundle(&meta, &files, false);
        let at = zipped.windows(4).position(|w| w == b"VP8L").unwrap() + 40;
        zipped[at] ^= 0x55;
        let e = parse_bundled_sog(&zipped).unwrap_err();
        assert!(matches!(e, SogError::BadEntry { .. }), "{e}");
        // An entry declaring an absurd uncompressed size (central directory).
        let mut zipped = bundle(&meta, &files, true);
        let cd = zipped
            .windows(4)
            .rposition(|w| w == [0x50, 0x4b, 0x01, 0x02])
            .unwrap();
        zipped[cd + 24..cd + 28].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        let e = parse_bundled_sog(&zipped).unwrap_err();
        assert!(
            matches!(&e, SogError::EntryTooLarge { name, .. } if name == "sh0.webp"),
            "{e}"
        );
        // Deflated bundles decode like stored ones.
        assert_eq!(
            parse_bundled_sog(&bundle(&meta, &files, true)).unwrap(),
            parse_bundled_sog(&bytes).unwrap()
        );
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    fn corrupt(rng: &mut Rng, bytes: &mut Vec<u8>, digits: bool) {
        for _ in 0..1 + rng.below(3) {
            if bytes.is_empty() {
                return;
            }
            let i = rng.below(bytes.len());
            match rng.below(4) {
                0 => bytes[i] = rng.next() as u8,
                1 if digits => bytes[i] = b"0123456789-.e,]\"n"[rng.below(17)],
                1 => bytes[i] ^= 1 << rng.below(8),
                2 => bytes.insert(i, if digits { b'9' } else { rng.next() as u8 }),
                _ => bytes.truncate(i),
            }
        }
    }

    /// Random damage to the bundle, its meta.json and its planes gives an
    /// error or a valid scene, never a panic.
    #[test]
    fn corruptions_never_panic() {
        let bytes = std::fs::read(WAVE).unwrap();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..300 {
            let mut b = bytes.clone();
            corrupt(&mut rng, &mut b, false);
            if let Ok(s) = parse_bundled_sog(&b) {
                s.validate().unwrap();
            }
        }
        let (meta, files) = wave_parts();
        let mut names: Vec<String> = files.keys().cloned().collect();
        names.sort();
        let mut errors = 0;
        for round in 0..400 {
            let mut meta = meta.clone();
            let mut files = files.clone();
            if round % 2 == 0 {
                corrupt(&mut rng, &mut meta, true);
            } else {
                let name = &names[rng.below(names.len())];
                let plane = files.get_mut(name).unwrap();
                // Mostly damage the image data, sometimes the header.
                corrupt(&mut rng, plane, false);
            }
            match decode_set(&meta, &files) {
                Ok(s) => s.validate().unwrap(),
                Err(_) => errors += 1,
            }
        }
        assert!(errors > 50, "only {errors} corruptions were detected");
    }
}
