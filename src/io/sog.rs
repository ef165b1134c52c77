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

use crate::splat::asset::{GaussianSplats, SplatDataError};

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
    let entries = palette.len().checked_div(rest).unwrap_or(0);

    let mut out = GaussianSplats::with_capacity(selected, degree);
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
pub(crate) mod tests;
