//! The Bevy asset loader of instant-ngp snapshots (`.ingp`, `.msgpack`): reads
//! the bytes through the asset server and hands them to [`crate::io::ingp`].
//!
//! Settings come from a `.meta` RON file next to the asset (see
//! [`RadianceFieldLoaderSettings`]). Fields the GPU ray marcher cannot draw
//! ([`gpu_unsupported`]) fail to load with
//! [`RadianceFieldLoadError::GpuUnsupported`] instead of never appearing.

use bevy::asset::io::Reader;
use bevy::asset::{AssetLoader, LoadContext};
use bevy::reflect::TypePath;

use crate::field::RadianceField;
use crate::field::limits::gpu_unsupported;
pub use crate::io::ingp::RadianceFieldFileError;
use crate::io::ingp::{RadianceFieldLoadError, RadianceFieldLoaderSettings, decode_radiance_field};

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
            .map_err(|e| err(RadianceFieldLoadError::Io(e)))?;
        let field = decode_radiance_field(&bytes, settings).map_err(err)?;
        match gpu_unsupported(&field) {
            Some(reason) => Err(err(RadianceFieldLoadError::GpuUnsupported(reason))),
            None => Ok(field),
        }
    }

    fn extensions(&self) -> &[&str] {
        &["ingp", "msgpack"]
    }
}
