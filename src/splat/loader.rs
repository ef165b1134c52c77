//! Loading splat files of every supported format, as a Bevy asset loader and
//! as a plain function.
//!
//! | format | file name | notes |
//! |---|---|---|
//! | 3DGS training PLY, PlayCanvas compressed PLY | `*.ply` | layout detected from the header |
//! | dynamic PLY: Spacetime Gaussians lite, sliced 4D Gaussians | `*.ply`, `*.ply4d` | detected from the header, see [`crate::splat::motion`] |
//! | Niantic SPZ (versions 1–4) | `*.spz` | |
//! | antimatter15 splat | `*.splat` | |
//! | PlayCanvas SOG, bundled | `*.sog` | zip of `meta.json` + WebP planes |
//! | PlayCanvas SOG, unbundled | `meta.json` (any `*.json` without `lodLevels`) | planes read next to it |
//! | PlayCanvas streamed SOG | `lod-meta.json` (a `*.json` with `lodLevels`) | one level, see [`LodSelection`]; the tree is kept as the labeled sub-asset `lod` ([`SplatLodTree`]) |
//! | glTF 2.0 + `KHR_gaussian_splatting` | `*.glb`, `*.gltf` | external buffers read next to it |
//!
//! Every format is decoded into the canonical 3DGS frame (COLMAP/OpenCV: +X
//! right, +Y down, +Z forward), then [`SplatLoaderSettings::axes`] maps that
//! frame into Bevy's.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bevy::asset::io::Reader;
use bevy::asset::{Asset, AssetLoader, LoadContext};
use bevy::reflect::TypePath;
use serde::{Deserialize, Serialize};

use super::asset::{AxisConvention, GaussianSplats};
use crate::io::sog::{SogMeta, decode_sog, parse_bundled_sog, parse_sog_meta, resolve_sog_path};
use crate::io::sog_lod::{SogLodTree, decode_lod_level, parse_lod_meta};
use crate::io::{SplatLoadError, dot_splat, gltf_splats, parse_splat_ply, spz};

/// Which level of a streamed (LOD) SOG scene to load.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LodSelection {
    /// A level by number; 0 is the finest.
    Level(u32),
    /// The finest level with at most this many splats.
    Budget(u64),
}

impl Default for LodSelection {
    fn default() -> Self {
        Self::Level(0)
    }
}

/// Settings of the splat loader, readable from a `.meta` RON file next to the asset:
///
/// ```ron
/// (
///     meta_format_version: "1.0",
///     asset: Load(
///         loader: "bevy_radiance::splat::loader::GaussianSplatLoader",
///         settings: (
///             axes: Opencv,
///             max_sh_degree: 3,
///             lod: Budget(200000),
///             time_scale: Some(0.6),
///             time_range: Some((0.0, 1.0)),
///         ),
///     ),
/// )
/// ```
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default)]
pub struct SplatLoaderSettings {
    /// How the canonical 3DGS frame maps to Bevy's. Default:
    /// [`AxisConvention::Opencv`] (captures are +Y down; they are turned upright).
    pub axes: AxisConvention,
    /// Drop SH coefficients above this degree at load time to save memory (0..=3).
    pub max_sh_degree: u8,
    /// Level of a streamed SOG scene (`lod-meta.json`). Default: the finest.
    pub lod: LodSelection,
    /// Playback speed of a dynamic scene in model time units per second
    /// (ignored for static scenes). Default `None`: the format's own
    /// assumption, 0.6 for Spacetime Gaussians (time normalised to `[0, 1]`
    /// per 50-frame clip at 30 fps, [`SPACETIME_DEFAULT_TIME_SCALE`](crate::io::dynamic_ply::SPACETIME_DEFAULT_TIME_SCALE))
    /// and 1.0 for sliced 4D Gaussians (time in seconds,
    /// [`SLICED_4D_DEFAULT_TIME_SCALE`](crate::io::dynamic_ply::SLICED_4D_DEFAULT_TIME_SCALE)).
    pub time_scale: Option<f32>,
    /// Clip range `(start, end)` of a dynamic scene in model time units
    /// (ignored for static scenes). Default `None`: `(0, 1)` for Spacetime
    /// Gaussians (their normalised clip) and the range of the splats' mean
    /// times for sliced 4D Gaussians (files carry no clip range).
    pub time_range: Option<(f32, f32)>,
}

impl Default for SplatLoaderSettings {
    fn default() -> Self {
        Self {
            axes: AxisConvention::Opencv,
            max_sh_degree: 3,
            lod: LodSelection::default(),
            time_scale: None,
            time_range: None,
        }
    }
}

impl SplatLoaderSettings {
    /// Applies [`SplatLoaderSettings::time_scale`] and
    /// [`SplatLoaderSettings::time_range`] to a dynamic scene and checks the
    /// resulting timeline (static scenes are left alone).
    pub fn apply_timeline(&self, splats: &mut GaussianSplats) -> Result<(), SplatLoadError> {
        let Some(timeline) = splats.motion.timeline_mut() else {
            return Ok(());
        };
        if let Some(scale) = self.time_scale {
            timeline.time_scale = scale;
        }
        if let Some((start, end)) = self.time_range {
            timeline.start = start;
            timeline.end = end;
        }
        timeline.validate()?;
        Ok(())
    }
}

/// The LOD tree of a streamed SOG scene, kept beside the loaded level (the
/// labeled sub-asset `lod` of a `lod-meta.json` asset) so a renderer can
/// stream levels by distance.
#[derive(Asset, TypePath, Clone, Debug)]
pub struct SplatLodTree {
    /// The tree: node bounds and per-level file ranges.
    pub tree: Arc<SogLodTree>,
    /// The level that was loaded.
    pub loaded_level: u32,
}

/// A splat file that could not be loaded: which file, and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("cannot load splats from {path}: {source}")]
pub struct SplatFileError {
    /// The file.
    pub path: String,
    /// The problem.
    #[source]
    pub source: SplatLoadError,
}

/// The formats, as told by a file's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplatFormat {
    /// `.ply` or `.ply4d` (3DGS training, PlayCanvas compressed or dynamic).
    Ply,
    /// `.spz`.
    Spz,
    /// `.splat`.
    DotSplat,
    /// `.sog` (bundled SOG).
    SogBundle,
    /// `.json`: SOG `meta.json` or streamed `lod-meta.json` (told apart by content).
    Json,
    /// `.glb`.
    Glb,
    /// `.gltf`.
    Gltf,
}

impl SplatFormat {
    /// The format of a file name, from its extension.
    pub fn from_path(path: &Path) -> Result<Self, SplatLoadError> {
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        Ok(match extension.as_str() {
            "ply" | "ply4d" => Self::Ply,
            "spz" => Self::Spz,
            "splat" => Self::DotSplat,
            "sog" => Self::SogBundle,
            "json" => Self::Json,
            "glb" => Self::Glb,
            "gltf" => Self::Gltf,
            _ => return Err(SplatLoadError::UnknownFormat(path.display().to_string())),
        })
    }
}

/// Reads files that a splat file refers to (SOG planes, LOD levels, glTF
/// buffers), by paths relative to the splat file's folder.
pub trait SiblingFiles {
    /// Reads one referenced file.
    fn read(&mut self, relative: &str) -> impl Future<Output = Result<Vec<u8>, SplatLoadError>>;
}

/// The decoded scene, plus the LOD tree for streamed SOG.
pub struct DecodedSplats {
    /// The splats, in Bevy's frame per the settings.
    pub splats: GaussianSplats,
    /// The LOD tree of a `lod-meta.json`.
    pub lod_tree: Option<SplatLodTree>,
}

/// Decodes a splat file of any supported format and applies the settings.
pub async fn decode_splats(
    bytes: &[u8],
    format: SplatFormat,
    settings: &SplatLoaderSettings,
    siblings: &mut impl SiblingFiles,
) -> Result<DecodedSplats, SplatLoadError> {
    let mut lod_tree = None;
    let mut splats = match format {
        SplatFormat::Ply => parse_splat_ply(bytes)?,
        SplatFormat::Spz => spz::parse_spz(bytes)?.splats,
        SplatFormat::DotSplat => dot_splat::parse_dot_splat(bytes)?,
        SplatFormat::SogBundle => parse_bundled_sog(bytes)?,
        SplatFormat::Json if is_lod_meta(bytes) => {
            let tree = parse_lod_meta(bytes)?;
            let level = match settings.lod {
                LodSelection::Level(level) if level < tree.levels => level,
                LodSelection::Level(level) => {
                    return Err(SplatLoadError::Lod(format!(
                        "LOD level {level} does not exist (the scene has {} levels)",
                        tree.levels
                    )));
                }
                LodSelection::Budget(budget) => tree.finest_level_within(budget).ok_or_else(|| {
                    SplatLoadError::Lod(format!(
                        "no LOD level has at most {budget} splats (the coarsest has {})",
                        tree.level_count(tree.levels.saturating_sub(1))
                    ))
                })?,
            };
            let mut metas: HashMap<String, SogMeta> = HashMap::new();
            let mut files: HashMap<String, Vec<u8>> = HashMap::new();
            for meta_path in tree.files_for_level(level) {
                let meta = parse_sog_meta(&siblings.read(&meta_path).await?)?;
                for plane in meta.files() {
                    // Relative to the meta.json's folder.
                    let path = resolve_sog_path(&meta_path, &plane)?;
                    #[expect(clippy::map_entry, reason = "the value is read asynchronously")]
                    if !files.contains_key(&path) {
                        let data = siblings.read(&path).await?;
                        files.insert(path, data);
                    }
                }
                metas.insert(meta_path, meta);
            }
            let splats = decode_lod_level(&tree, level, &|p| metas.get(p), &|p| files.get(p).map(Vec::as_slice))?;
            lod_tree = Some(SplatLodTree {
                tree: Arc::new(tree),
                loaded_level: level,
            });
            splats
        }
        SplatFormat::Json => {
            let meta = parse_sog_meta(bytes)?;
            let mut files: HashMap<String, Vec<u8>> = HashMap::new();
            for plane in meta.files() {
                let path = resolve_sog_path("meta.json", &plane)?;
                let data = siblings.read(&path).await?;
                files.insert(plane, data);
            }
            decode_sog(&meta, &|p| files.get(p).map(Vec::as_slice))?
        }
        SplatFormat::Glb | SplatFormat::Gltf => {
            let mut buffers: HashMap<String, Vec<u8>> = HashMap::new();
            for uri in gltf_external_uris(bytes) {
                let data = siblings.read(&uri).await?;
                buffers.insert(uri, data);
            }
            gltf_splats::parse_gltf_splats(bytes, &|uri| buffers.get(uri).cloned())?
        }
    };
    splats.truncate_sh(settings.max_sh_degree);
    settings.apply_timeline(&mut splats)?;
    settings.axes.apply(&mut splats);
    Ok(DecodedSplats { splats, lod_tree })
}

/// Whether a JSON file is a streamed-SOG `lod-meta.json` rather than a SOG `meta.json`.
fn is_lod_meta(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| v.get("lodLevels").cloned())
        .is_some()
}

/// The external (non-`data:`) buffer URIs of a `.gltf` file, percent-decoded.
fn gltf_external_uris(bytes: &[u8]) -> Vec<String> {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Vec::new();
    };
    json.get("buffers")
        .and_then(|b| b.as_array())
        .into_iter()
        .flatten()
        .filter_map(|b| b.get("uri")?.as_str())
        .filter(|uri| !uri.starts_with("data:"))
        .map(percent_decode)
        .collect()
}

fn percent_decode(uri: &str) -> String {
    let bytes = uri.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(v) = uri.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Referenced files read from disk, relative to a folder.
struct DiskSiblings(PathBuf);

impl SiblingFiles for DiskSiblings {
    async fn read(&mut self, relative: &str) -> Result<Vec<u8>, SplatLoadError> {
        if relative.starts_with('/') || relative.split('/').any(|c| c == "..") {
            return Err(SplatLoadError::MissingFile {
                path: relative.to_string(),
                message: "paths must stay inside the scene's folder".into(),
            });
        }
        std::fs::read(self.0.join(relative)).map_err(|e| SplatLoadError::MissingFile {
            path: relative.to_string(),
            message: e.to_string(),
        })
    }
}

/// Referenced files read through Bevy's asset sources.
struct AssetSiblings<'a, 'ctx> {
    context: &'a mut LoadContext<'ctx>,
}

impl SiblingFiles for AssetSiblings<'_, '_> {
    async fn read(&mut self, relative: &str) -> Result<Vec<u8>, SplatLoadError> {
        if relative.starts_with('/') || relative.split('/').any(|c| c == "..") {
            return Err(SplatLoadError::MissingFile {
                path: relative.to_string(),
                message: "paths must stay inside the scene's folder".into(),
            });
        }
        let path = self.context.path().resolve_embed(&bevy::asset::AssetPath::parse(relative));
        self.context
            .read_asset_bytes(path)
            .await
            .map_err(|e| SplatLoadError::MissingFile {
                path: relative.to_string(),
                message: e.to_string(),
            })
    }
}

/// Reads and decodes a splat file from disk (outside Bevy's asset system);
/// files it refers to are read from its folder.
pub fn load_splat_file(path: &Path, settings: &SplatLoaderSettings) -> Result<GaussianSplats, SplatFileError> {
    let err = |source| SplatFileError {
        path: path.display().to_string(),
        source,
    };
    let format = SplatFormat::from_path(path).map_err(err)?;
    let bytes = std::fs::read(path).map_err(|e| err(SplatLoadError::Io(e)))?;
    let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
    bevy::tasks::block_on(decode_splats(&bytes, format, settings, &mut DiskSiblings(folder)))
        .map(|d| d.splats)
        .map_err(err)
}

/// Loads splat files of every supported format (see the module docs).
#[derive(Default, Clone, Copy, Debug, TypePath)]
pub struct GaussianSplatLoader;

impl AssetLoader for GaussianSplatLoader {
    type Asset = GaussianSplats;
    type Settings = SplatLoaderSettings;
    type Error = SplatFileError;

    async fn load(
        &self,
        reader: &mut dyn Reader,
        settings: &Self::Settings,
        load_context: &mut LoadContext<'_>,
    ) -> Result<Self::Asset, Self::Error> {
        let path = load_context.path().to_string();
        let err = |source| SplatFileError {
            path: path.clone(),
            source,
        };
        let format = SplatFormat::from_path(load_context.path().path()).map_err(err)?;
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| err(SplatLoadError::Io(e)))?;
        let decoded = decode_splats(&bytes, format, settings, &mut AssetSiblings { context: load_context })
            .await
            .map_err(err)?;
        if let Some(tree) = decoded.lod_tree {
            load_context.add_labeled_asset("lod".to_string(), tree);
        }
        Ok(decoded.splats)
    }

    fn extensions(&self) -> &[&str] {
        &["ply", "ply4d", "spz", "splat", "sog", "json", "glb", "gltf"]
    }
}
