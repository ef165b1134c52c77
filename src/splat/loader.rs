//! The Bevy asset loader for splat files, and the same loading as a plain function.

use std::path::Path;

use bevy::asset::io::Reader;
use bevy::asset::{AssetLoader, LoadContext};
use serde::{Deserialize, Serialize};

use super::asset::{AxisConvention, GaussianSplats};
use crate::io::{SplatLoadError, parse_splat_ply};

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
///         ),
///     ),
/// )
/// ```
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default)]
pub struct SplatLoaderSettings {
    /// The file's axis convention. Default: [`AxisConvention::Opencv`] (3DGS
    /// captures are +Y down; they are turned upright for Bevy).
    pub axes: AxisConvention,
    /// Drop SH coefficients above this degree at load time to save memory (0..=3).
    pub max_sh_degree: u8,
}

impl Default for SplatLoaderSettings {
    fn default() -> Self {
        Self {
            axes: AxisConvention::Opencv,
            max_sh_degree: 3,
        }
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

/// Parses splat file bytes by extension and applies the settings.
pub fn load_splat_bytes(
    bytes: &[u8],
    extension: &str,
    settings: &SplatLoaderSettings,
) -> Result<GaussianSplats, SplatLoadError> {
    let mut splats = match extension.to_ascii_lowercase().as_str() {
        "ply" => parse_splat_ply(bytes)?,
        other => return Err(SplatLoadError::UnsupportedFormat(format!("unknown splat file extension `.{other}`"))),
    };
    splats.truncate_sh(settings.max_sh_degree);
    settings.axes.apply(&mut splats);
    Ok(splats)
}

/// Reads and parses a splat file from disk (outside Bevy's asset system).
pub fn load_splat_file(path: &Path, settings: &SplatLoaderSettings) -> Result<GaussianSplats, SplatFileError> {
    let err = |source| SplatFileError {
        path: path.display().to_string(),
        source,
    };
    let bytes = std::fs::read(path).map_err(|e| err(SplatLoadError::Io(e)))?;
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    load_splat_bytes(&bytes, extension, settings).map_err(err)
}

/// Loads `.ply` splat files (3DGS training PLY and PlayCanvas compressed PLY).
#[derive(Default, Clone, Copy, Debug, bevy::reflect::TypePath)]
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
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| err(SplatLoadError::Io(e)))?;
        let extension = load_context
            .path()
            .path()
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("ply")
            .to_string();
        load_splat_bytes(&bytes, &extension, settings).map_err(err)
    }

    fn extensions(&self) -> &[&str] {
        &["ply"]
    }
}
