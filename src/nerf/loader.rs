//! Loading instant-ngp snapshots (`.ingp`, `.msgpack`) as [`RadianceField`]
//! assets, through Bevy's asset server or from disk.

use std::path::Path;

use bevy::asset::io::Reader;
use bevy::asset::{AssetLoader, LoadContext};
use bevy::reflect::TypePath;
use serde::{Deserialize, Serialize};

use super::field::{FieldOptions, NerfActivation, RadianceField};
use super::snapshot::{MAX_DOCUMENT_BYTES, NerfLoadError, parse_snapshot};

/// Settings of the radiance-field loader, readable from a `.meta` RON file:
///
/// ```ron
/// (
///     meta_format_version: "1.0",
///     asset: Load(
///         loader: "bevy_radiance::nerf::loader::RadianceFieldLoader",
///         settings: (
///             occupancy_threshold: Some(0.02),
///         ),
///     ),
/// )
/// ```
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq)]
#[serde(default)]
pub struct RadianceFieldLoaderSettings {
    /// Occupancy threshold (optical thickness per cell) instead of instant-ngp's
    /// `min(0.01, mean)`. Must be finite.
    pub occupancy_threshold: Option<f32>,
    /// Density activation instead of instant-ngp's `Exponential` (snapshots do not store it).
    pub density_activation: Option<NerfActivation>,
}

impl RadianceFieldLoaderSettings {
    /// The options the field is built with.
    pub fn field_options(&self) -> FieldOptions {
        FieldOptions {
            occupancy_threshold: self.occupancy_threshold,
            density_activation: self.density_activation,
        }
    }
}

/// A snapshot file that could not be loaded: which file, and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("cannot load radiance field from {path}: {source}")]
pub struct RadianceFieldFileError {
    /// The file.
    pub path: String,
    /// The problem.
    #[source]
    pub source: NerfLoadError,
}

/// Decodes a snapshot's bytes (`.ingp` or `.msgpack`, told apart by content).
pub fn decode_radiance_field(bytes: &[u8], settings: &RadianceFieldLoaderSettings) -> Result<RadianceField, NerfLoadError> {
    if let Some(t) = settings.occupancy_threshold
        && !t.is_finite()
    {
        return Err(NerfLoadError::Unsupported {
            field: "RadianceFieldLoaderSettings::occupancy_threshold".into(),
            value: t.to_string(),
            reason: "the threshold must be finite".into(),
        });
    }
    let snapshot = parse_snapshot(bytes)?;
    Ok(RadianceField::from_snapshot(snapshot, &settings.field_options()))
}

/// Reads and decodes a snapshot file from disk with default settings.
pub fn load_radiance_field_file(path: &Path) -> Result<RadianceField, RadianceFieldFileError> {
    load_radiance_field_file_with_settings(path, &RadianceFieldLoaderSettings::default())
}

/// Reads and decodes a snapshot file from disk.
pub fn load_radiance_field_file_with_settings(
    path: &Path,
    settings: &RadianceFieldLoaderSettings,
) -> Result<RadianceField, RadianceFieldFileError> {
    let err = |source| RadianceFieldFileError {
        path: path.display().to_string(),
        source,
    };
    let size = std::fs::metadata(path).map_err(|e| err(NerfLoadError::Io(e)))?.len();
    if size > MAX_DOCUMENT_BYTES {
        return Err(err(NerfLoadError::Oversize(format!("the file has {size} bytes (at most {MAX_DOCUMENT_BYTES})"))));
    }
    let bytes = std::fs::read(path).map_err(|e| err(NerfLoadError::Io(e)))?;
    decode_radiance_field(&bytes, settings).map_err(err)
}

/// Loads instant-ngp NeRF snapshots (`*.ingp`, `*.msgpack`).
#[derive(Default, Clone, Copy, Debug, TypePath)]
pub struct RadianceFieldLoader;

impl AssetLoader for RadianceFieldLoader {
    type Asset = RadianceField;
    type Settings = RadianceFieldLoaderSettings;
    type Error = RadianceFieldFileError;

    async fn load(
        &self,
        reader: &mut dyn Reader,
        settings: &Self::Settings,
        load_context: &mut LoadContext<'_>,
    ) -> Result<Self::Asset, Self::Error> {
        let err = |source| RadianceFieldFileError {
            path: load_context.path().to_string(),
            source,
        };
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| err(NerfLoadError::Io(e)))?;
        decode_radiance_field(&bytes, settings).map_err(err)
    }

    fn extensions(&self) -> &[&str] {
        &["ingp", "msgpack"]
    }
}
