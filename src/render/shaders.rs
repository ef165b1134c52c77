//! The crate's WGSL, kept in the top-level `shaders/` folder and embedded in
//! the crate at build time as Bevy embedded assets
//! (`embedded://bevy_radiance/shaders/…`). Modules declare
//! `#define_import_path bevy_radiance::…` and are imported with Bevy's own
//! shader composer; variants are chosen with shader defs, and every constant
//! WGSL shares with Rust is passed in as a def from its one Rust definition.
//!
//! Each renderer [`embed`]s the files it uses when its plugin is built; the
//! handles are kept in [`RadianceShaders`], so imported modules stay loaded.

use std::path::{Path, PathBuf};

use bevy::asset::io::embedded::EmbeddedAssetRegistry;
use bevy::asset::{AssetPath, LoadState};
use bevy::prelude::*;
use bevy::shader::Shader;

/// One WGSL file of the crate: its path under `shaders/` and its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShaderFile {
    /// Path under the crate's `shaders/` folder.
    pub path: &'static str,
    /// The file's text.
    pub source: &'static str,
}

macro_rules! shader_file {
    ($path:literal) => {
        ShaderFile {
            path: $path,
            source: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/shaders/", $path)),
        }
    };
}

/// Display-space composite of a capture layer over the main texture.
pub const LAYER_COMPOSITE: ShaderFile = shader_file!("layer_composite.wgsl");
/// Shared splat maths and GPU structs (`bevy_radiance::splat::common`).
pub const SPLAT_COMMON: ShaderFile = shader_file!("splat/common.wgsl");
/// Splat preprocess compute shader.
pub const SPLAT_PREPROCESS: ShaderFile = shader_file!("splat/preprocess.wgsl");
/// Splat raster shader.
pub const SPLAT_RASTER: ShaderFile = shader_file!("splat/raster.wgsl");
/// The stable radix sort's kernels.
pub const RADIX_SORT: ShaderFile = shader_file!("sort/radix_sort.wgsl");
/// The radix sort's setup kernel (sizes the passes from a GPU-written count).
pub const SORT_SETUP: ShaderFile = shader_file!("sort/setup.wgsl");
/// A radiance field's uniform, buffers and per-sample maths (`bevy_radiance::field::network`).
pub const FIELD_NETWORK: ShaderFile = shader_file!("field/network.wgsl");
/// The ray marcher (`bevy_radiance::field::march`); the top-level shader of
/// each network architecture is generated (see [`crate::render::field::codegen`]).
pub const FIELD_MARCH: ShaderFile = shader_file!("field/march.wgsl");

/// Every WGSL file of the crate.
pub const ALL: &[ShaderFile] =
    &[LAYER_COMPOSITE, SPLAT_COMMON, SPLAT_PREPROCESS, SPLAT_RASTER, RADIX_SORT, SORT_SETUP, FIELD_NETWORK, FIELD_MARCH];

impl ShaderFile {
    /// The file's path in Bevy's embedded asset source, without the source name.
    pub fn embedded_path(&self) -> PathBuf {
        Path::new("bevy_radiance/shaders").join(self.path)
    }

    /// The file's asset path (`embedded://bevy_radiance/shaders/…`).
    pub fn asset_path(&self) -> AssetPath<'static> {
        AssetPath::from_path_buf(self.embedded_path()).with_source("embedded")
    }
}

/// Handles of every embedded shader, kept so that shader modules imported by
/// others stay loaded (main world).
#[derive(Resource, Default, Debug)]
pub struct RadianceShaders(pub Vec<Handle<Shader>>);

impl RadianceShaders {
    /// Whether every shader has loaded (headless renders wait for this so
    /// that the first frame already draws).
    pub fn all_loaded(&self, assets: &AssetServer) -> bool {
        self.0.iter().all(|h| matches!(assets.get_load_state(h), Some(LoadState::Loaded)))
    }

    /// The first shader that failed to load, if any.
    pub fn failed(&self, assets: &AssetServer) -> Option<String> {
        self.0.iter().find_map(|h| match assets.get_load_state(h) {
            Some(LoadState::Failed(e)) => Some(e.to_string()),
            _ => None,
        })
    }
}

/// Registers `files` as embedded assets and loads them (each once per app).
/// Does nothing in an app without a renderer (no `Shader` assets, e.g.
/// `MinimalPlugins` + `AssetPlugin` on a server): there is nothing to draw.
pub fn embed(app: &mut App, files: &[ShaderFile]) {
    let world = app.world_mut();
    if !world.contains_resource::<Assets<Shader>>() {
        return;
    }
    let mut handles = Vec::new();
    {
        let Some(registry) = world.get_resource_mut::<EmbeddedAssetRegistry>() else {
            return;
        };
        for file in files {
            registry.insert_asset(PathBuf::new(), &file.embedded_path(), file.source.as_bytes());
        }
    }
    let server = world.resource::<AssetServer>().clone();
    for file in files {
        handles.push(server.load::<Shader>(file.asset_path()));
    }
    world.get_resource_or_init::<RadianceShaders>().0.extend(handles);
}
