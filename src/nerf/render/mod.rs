//! The GPU radiance-field renderer, wired into Bevy's renderer.
//!
//! | schedule | system | set |
//! |---|---|---|
//! | `PostUpdate` (main world) | [`extract::enable_depth_texture_binding`] | |
//! | `RenderStartup` | [`pipeline::init_nerf_pipelines`] | |
//! | `ExtractSchedule` | [`extract::extract_fields`], [`extract::extract_field_cameras`] | |
//! | `Render` | [`prepare::prepare_nerf_views`] | `RenderSystems::PrepareResources` |
//! | `Core3d` | [`node::nerf_pass`] | `Core3dSystems::MainPass`, after the transparent pass, before the splat pass |
//!
//! Per camera, each visible field is ray-marched per pixel by a fullscreen
//! fragment shader (hash grid + MLPs evaluated per sample, empty space skipped
//! with the occupancy grid, rays stopped at the meshes' depth), nearest field
//! first, into a field layer covering the viewport at the camera's render scale
//! ([`RadianceFieldCamera`](crate::nerf::RadianceFieldCamera)), which is
//! upsampled and composited over the main texture in display space. Splats are composited after fields.

pub mod codegen;
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

use crate::splat::render::SplatRenderSystems;

/// Public system sets of the radiance-field renderer (render world).
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum NerfRenderSystems {
    /// Per-view uniforms, bind groups and layers (in `RenderSystems::PrepareResources`).
    Prepare,
    /// The field pass of a camera (in `Core3dSystems::MainPass`).
    Pass,
}

/// Renders [`RadianceField3d`](crate::nerf::RadianceField3d) entities.
pub struct NerfRenderPlugin;

impl Plugin for NerfRenderPlugin {
    fn build(&self, app: &mut App) {
        app.add_plugins(RenderAssetPlugin::<gpu_types::GpuRadianceField>::default())
            .add_systems(PostUpdate, extract::enable_depth_texture_binding);
        let Some(render_app) = app.get_sub_app_mut(RenderApp) else {
            return;
        };
        render_app
            .init_resource::<extract::ExtractedFields>()
            .configure_sets(Render, NerfRenderSystems::Prepare.in_set(RenderSystems::PrepareResources))
            .configure_sets(
                Core3d,
                NerfRenderSystems::Pass
                    .in_set(Core3dSystems::MainPass)
                    .after(main_transparent_pass_3d)
                    .before(SplatRenderSystems::Pass),
            )
            .add_systems(RenderStartup, pipeline::init_nerf_pipelines)
            .add_systems(ExtractSchedule, (extract::extract_fields, extract::extract_field_cameras))
            .add_systems(
                Render,
                prepare::prepare_nerf_views
                    .in_set(NerfRenderSystems::Prepare)
                    .ambiguous_with(SplatRenderSystems::Prepare),
            )
            .add_systems(Core3d, node::nerf_pass.in_set(NerfRenderSystems::Pass));
    }
}
