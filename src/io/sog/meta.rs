//! `meta.json`: the parsed metadata types, relative paths, the JSON helpers
//! shared with `lod-meta.json` and the parser.

use serde_json::{Map, Value};

use super::{MAX_META_BYTES, MAX_SOG_SPLATS, SogError};

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
