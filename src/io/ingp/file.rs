//! Snapshot files to [`RadianceField`]s: the settings a field is built with,
//! and decoding from bytes or from disk.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{MAX_DOCUMENT_BYTES, RadianceFieldLoadError, parse_snapshot};
use crate::field::{FieldActivation, FieldOptions, RadianceField};

/// Settings of the radiance-field readers (and of the Bevy loader), readable from a `.meta` RON file:
///
/// ```ron
/// (
///     meta_format_version: "1.0",
///     asset: Load(
///         loader: "bevy_radiance::field::loader::RadianceFieldLoader",
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
    pub density_activation: Option<FieldActivation>,
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
    pub source: RadianceFieldLoadError,
}

/// Decodes a snapshot's bytes (`.ingp` or `.msgpack`, told apart by content).
pub fn decode_radiance_field(bytes: &[u8], settings: &RadianceFieldLoaderSettings) -> Result<RadianceField, RadianceFieldLoadError> {
    if let Some(t) = settings.occupancy_threshold
        && !t.is_finite()
    {
        return Err(RadianceFieldLoadError::Unsupported {
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
    let size = std::fs::metadata(path).map_err(|e| err(RadianceFieldLoadError::Io(e)))?.len();
    if size > MAX_DOCUMENT_BYTES {
        return Err(err(RadianceFieldLoadError::Oversize(format!("the file has {size} bytes (at most {MAX_DOCUMENT_BYTES})"))));
    }
    let bytes = std::fs::read(path).map_err(|e| err(RadianceFieldLoadError::Io(e)))?;
    decode_radiance_field(&bytes, settings).map_err(err)
}
