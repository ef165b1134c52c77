//! The GPU splat renderer, wired into Bevy's renderer.
//!
//! | schedule | system | set |
//! |---|---|---|
//! | `RenderStartup` | [`pipeline::init_splat_pipelines`], [`init_radix_sort_pipelines`] | |
//! | `ExtractSchedule` | [`extract::extract_splats`], [`edits::extract_splat_edits`] | |
//! | `Render` | [`edits::prepare_splat_edits`] | [`RadianceRenderSystems::PrepareSplats`], before `prepare_splat_views` |
//! | `Render` | [`prepare::prepare_splat_views`] | [`RadianceRenderSystems::PrepareSplats`] |
//! | `Render` | [`prepare::measure_splat_memory`] | `RenderSystems::PrepareResources`, after [`RadianceRenderSystems::PrepareSplats`] |
//! | `Core3d` | [`node::splat_pass`] | [`RadianceRenderSystems::SplatPass`] |
//!
//! Per camera, every visible splat of every splat entity is preprocessed into
//! one array (`shaders/splat/preprocess.wgsl`), sorted by depth on the GPU in
//! one radix sort ([`crate::render::sort`], so overlapping captures interleave
//! correctly), drawn back to front into a splat layer that is depth-tested
//! against the meshes' depth (`shaders/splat/raster.wgsl`), and composited
//! over the main texture ([`crate::render::composite`]).

pub mod edits;
pub mod extract;
pub mod gpu_asset;
pub mod gpu_types;
pub mod node;
pub mod packing;
pub mod pipeline;
pub mod prepare;

use bevy::prelude::*;
use bevy::render::render_asset::RenderAssetPlugin;
use bevy::render::render_resource::SpecializedRenderPipelines;
use bevy::render::{ExtractSchedule, Render, RenderApp, RenderStartup, RenderSystems};
use bevy::core_pipeline::schedule::Core3d;

use super::sort::init_radix_sort_pipelines;
use super::{RadianceRenderSystems, add_layer_plugin, shaders};

/// Renders [`GaussianSplat3d`](crate::scene::GaussianSplat3d) entities. Added by
/// [`GaussianSplatPlugin`](crate::GaussianSplatPlugin).
pub struct SplatRenderPlugin;

impl Plugin for SplatRenderPlugin {
    fn build(&self, app: &mut App) {
        add_layer_plugin(app);
        shaders::embed(app, &[shaders::SPLAT_COMMON, shaders::SPLAT_PREPROCESS, shaders::SPLAT_RASTER, shaders::RADIX_SORT, shaders::SORT_SETUP]);
        app.add_plugins(RenderAssetPlugin::<gpu_asset::GpuGaussianSplats>::default());
        let Some(render_app) = app.get_sub_app_mut(RenderApp) else {
            return;
        };
        render_app
            .init_resource::<extract::ExtractedSplats>()
            .init_resource::<edits::ExtractedSplatEdits>()
            .init_resource::<edits::SplatEditBuffers>()
            .init_resource::<SpecializedRenderPipelines<pipeline::SplatPipelines>>()
            .add_systems(RenderStartup, (pipeline::init_splat_pipelines, init_radix_sort_pipelines))
            .add_systems(ExtractSchedule, (extract::extract_splats, edits::extract_splat_edits))
            .add_systems(
                Render,
                (edits::prepare_splat_edits, prepare::prepare_splat_views)
                    .chain()
                    .in_set(RadianceRenderSystems::PrepareSplats),
            )
            .add_systems(
                Render,
                prepare::measure_splat_memory
                    .in_set(RenderSystems::PrepareResources)
                    .after(RadianceRenderSystems::PrepareSplats),
            )
            .add_systems(Core3d, node::splat_pass.in_set(RadianceRenderSystems::SplatPass));
    }
}
