//! The GPU splat renderer, wired into Bevy's renderer.
//!
//! | schedule | system | set |
//! |---|---|---|
//! | `RenderStartup` | [`pipeline::init_splat_pipelines`] | |
//! | `ExtractSchedule` | [`extract::extract_splats`], [`extract::extract_camera_layers`] | |
//! | `Render` | [`prepare::prepare_splat_views`] | `RenderSystems::PrepareResources` |
//! | `Core3d` | [`node::splat_pass`] | `Core3dSystems::MainPass`, after the transparent pass |
//!
//! Per camera, every visible splat of every splat entity is preprocessed into
//! one array, sorted by depth on the GPU in one radix sort (so overlapping
//! captures interleave correctly), drawn back to front into a splat layer that is
//! depth-tested against the meshes' depth, and composited over the main texture.

pub mod extract;
pub mod gpu_types;
pub mod node;
pub mod pipeline;
pub mod prepare;

use bevy::core_pipeline::core_3d::main_transparent_pass_3d;
use bevy::core_pipeline::schedule::Core3d;
use bevy::core_pipeline::Core3dSystems;
use bevy::prelude::*;
use bevy::render::render_asset::RenderAssetPlugin;
use bevy::render::{ExtractSchedule, Render, RenderApp, RenderStartup, RenderSystems};

/// Public system sets of the splat renderer (render world).
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum SplatRenderSystems {
    /// Builds per-view buffers, uniforms and bind groups (in `RenderSystems::PrepareResources`).
    Prepare,
    /// The splat pass of a camera (in `Core3dSystems::MainPass`).
    Pass,
}

/// Renders [`GaussianSplat3d`](crate::splat::component::GaussianSplat3d) entities.
pub struct SplatRenderPlugin;

impl Plugin for SplatRenderPlugin {
    fn build(&self, app: &mut App) {
        app.add_plugins(RenderAssetPlugin::<gpu_types::GpuGaussianSplats>::default());
        let Some(render_app) = app.get_sub_app_mut(RenderApp) else {
            return;
        };
        render_app
            .init_resource::<extract::ExtractedSplats>()
            .configure_sets(Render, SplatRenderSystems::Prepare.in_set(RenderSystems::PrepareResources))
            .configure_sets(
                Core3d,
                SplatRenderSystems::Pass
                    .in_set(Core3dSystems::MainPass)
                    .after(main_transparent_pass_3d),
            )
            .add_systems(RenderStartup, pipeline::init_splat_pipelines)
            .add_systems(ExtractSchedule, (extract::extract_splats, extract::extract_camera_layers))
            .add_systems(Render, prepare::prepare_splat_views.in_set(SplatRenderSystems::Prepare))
            .add_systems(Core3d, node::splat_pass.in_set(SplatRenderSystems::Pass));
    }
}
