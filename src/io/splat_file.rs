//! Splat files of every supported format, decoded into [`GaussianSplats`]:
//! bytes in, asset out, with the files a scene refers to fetched through
//! [`SiblingFiles`] (from disk, or through Bevy's asset server in the loader).
//!
//! | format | file name | notes |
//! |---|---|---|
//! | 3DGS training PLY, PlayCanvas compressed PLY | `*.ply` | layout detected from the header |
//! | dynamic PLY: Spacetime Gaussians lite, sliced 4D Gaussians | `*.ply`, `*.ply4d` | detected from the header, see [`crate::splat::motion`] |
//! | Niantic SPZ (versions 1–4) | `*.spz` | |
//! | antimatter15 splat | `*.splat` | |
//! | PlayCanvas SOG, bundled | `*.sog` | zip of `meta.json` + WebP planes |
//! | PlayCanvas SOG, unbundled | `meta.json` (any `*.json` without `lodLevels`) | planes read next to it |
//! | PlayCanvas streamed SOG | `lod-meta.json` (a `*.json` with `lodLevels`) | one level, see [`LodSelection`] |
//! | glTF 2.0 + `KHR_gaussian_splatting` | `*.glb`, `*.gltf` | external buffers read next to it |
//!
//! Every format is decoded into the canonical 3DGS frame (COLMAP/OpenCV: +X
//! right, +Y down, +Z forward), then [`SplatLoaderSettings::axes`] maps that
//! frame into Bevy's.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::siblings::{DiskSiblings, SiblingFiles};
use super::sog::{decode_sog, parse_bundled_sog, parse_sog_meta, resolve_sog_path};
use super::sog_lod::{SogLodTree, parse_lod_meta, read_lod_level};
use super::{SplatLoadError, compressed_ply, dot_splat, dynamic_ply, gaussian_ply, gltf_splats, ply, spz};
use crate::splat::asset::{AxisConvention, GaussianSplats};

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

impl LodSelection {
    /// The level of `tree` this selection picks, or why there is none.
    pub fn level_of(self, tree: &SogLodTree) -> Result<u32, SplatLoadError> {
        match self {
            LodSelection::Level(level) if level < tree.levels => Ok(level),
            LodSelection::Level(level) => Err(SplatLoadError::Lod(format!(
                "LOD level {level} does not exist (the scene has {} levels)",
                tree.levels
            ))),
            LodSelection::Budget(budget) => tree.finest_level_within(budget).ok_or_else(|| {
                SplatLoadError::Lod(format!(
                    "no LOD level has at most {budget} splats (the coarsest has {})",
                    tree.level_count(tree.levels.saturating_sub(1))
                ))
            }),
        }
    }
}

/// Settings of the splat readers (and of the Bevy splat loader), readable from a `.meta` RON file next to the asset:
///
/// ```ron
/// (
///     meta_format_version: "1.0",
///     asset: Load(
///         loader: "bevy_radiance::loader::splat::GaussianSplatLoader",
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

/// A decoded scene, plus the LOD tree for streamed SOG.
pub struct DecodedSplats {
    /// The splats, in Bevy's frame per the settings.
    pub splats: GaussianSplats,
    /// The LOD tree of a `lod-meta.json`, with the level that was loaded.
    pub lod_tree: Option<(SogLodTree, u32)>,
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
            let level = settings.lod.level_of(&tree)?;
            let splats = read_lod_level(&tree, level, siblings).await?;
            lod_tree = Some((tree, level));
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
            for uri in gltf_splats::external_buffer_uris(bytes) {
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

/// Parses a PLY file into splats in the file's own frame (no axis conversion).
///
/// The layout is detected from the header: a `chunk` element plus a `vertex`
/// element with `packed_position` is the PlayCanvas compressed layout, dynamic
/// properties (see [`dynamic_ply::detect_dynamic_layout`]) a dynamic layout,
/// anything else is read as the 3DGS training layout. The result is validated
/// (matching array lengths, finite values).
pub fn parse_splat_ply(bytes: &[u8]) -> Result<GaussianSplats, SplatLoadError> {
    let ply = ply::PlyFile::parse(bytes)?;
    if let Some(layout) = dynamic_ply::detect_dynamic_layout(ply.header()) {
        dynamic_ply::decode_dynamic_ply(&ply, layout)
    } else if compressed_ply::is_compressed_layout(ply.header()) {
        compressed_ply::decode_compressed_ply(&ply)
    } else {
        gaussian_ply::decode_gaussian_ply(&ply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::gaussian_ply::tests::random_splats;
    use crate::io::gaussian_ply::write_gaussian_ply;
    use crate::io::ply::PlyFormat;
    use crate::testing::{Damage, fuzz_corruptions};

    /// Random corruptions (byte changes, digits typed into the header,
    /// truncation) must give an error or a valid scene, never a panic.
    #[test]
    fn corrupted_files_never_panic() {
        let mut bases = Vec::new();
        for format in [
            PlyFormat::Ascii,
            PlyFormat::BinaryLittleEndian,
            PlyFormat::BinaryBigEndian,
        ] {
            bases.push(write_gaussian_ply(&random_splats(6, 1, 1), format));
        }
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/biker.compressed.ply");
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e} (the shipped capture is part of the repository)"));
        // Header plus a little of the body is enough to exercise the decoder.
        bases.push(bytes[..bytes.len().min(40_000)].to_vec());
        for base in &bases {
            let header = base.windows(11).position(|w| w == b"end_header\n").map_or(base.len(), |p| p + 11);
            let damage = Damage { text: b"0123456789 \n-", text_region: header, ..Damage::default() };
            let outcome = fuzz_corruptions(std::slice::from_ref(base), 400, header as u64, &damage, parse_splat_ply, |s| {
                assert!(s.validate().is_ok())
            });
            assert!(outcome.rejected > 0, "{outcome:?}");
        }
    }
}
