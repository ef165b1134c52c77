//! The Bevy asset loader of splat files: reads the bytes through the asset
//! server and hands them to [`crate::io::splat_file`], fetching the files a
//! scene refers to through the same asset source.
//!
//! Settings come from a `.meta` RON file next to the asset (see
//! [`SplatLoaderSettings`]).

use std::sync::Arc;

use bevy::asset::io::Reader;
use bevy::asset::{Asset, AssetLoader, AssetPath, LoadContext};
use bevy::reflect::TypePath;

use crate::io::sog_lod::SogLodTree;
use crate::io::{SiblingFiles, SplatFileError, SplatFormat, SplatLoadError, SplatLoaderSettings, decode_splats};
use crate::splat::asset::GaussianSplats;

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

/// Referenced files read through Bevy's asset sources.
struct AssetSiblings<'a, 'ctx> {
    context: &'a mut LoadContext<'ctx>,
}

impl SiblingFiles for AssetSiblings<'_, '_> {
    async fn read_relative(&mut self, relative: &str) -> Result<Vec<u8>, SplatLoadError> {
        let path = self.context.path().resolve_embed(&AssetPath::parse(relative));
        self.context
            .read_asset_bytes(path)
            .await
            .map_err(|e| SplatLoadError::MissingFile {
                path: relative.to_string(),
                message: e.to_string(),
            })
    }
}

/// Loads splat files of every supported format (see [`crate::io::splat_file`]).
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
        if let Some((tree, loaded_level)) = decoded.lod_tree {
            load_context.add_labeled_asset("lod".to_string(), SplatLodTree { tree: Arc::new(tree), loaded_level });
        }
        Ok(decoded.splats)
    }

    fn extensions(&self) -> &[&str] {
        &["ply", "ply4d", "spz", "splat", "sog", "json", "glb", "gltf"]
    }
}
