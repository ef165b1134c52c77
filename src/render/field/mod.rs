//! The GPU radiance-field renderer, wired into Bevy's renderer.
//!
//! | schedule | system | set |
//! |---|---|---|
//! | `PostUpdate` (main world) | [`extract::enable_depth_texture_binding`] | |
//! | `RenderStartup` | [`pipeline::init_field_pipelines`] | |
//! | `ExtractSchedule` | [`extract::extract_fields`], [`extract::extract_field_cameras`] | |
//! | `Render` | [`prepare::prepare_field_views`] | [`RadianceRenderSystems::PrepareFields`] |
//! | `Render` | [`prepare::measure_field_memory`] | `RenderSystems::PrepareResources`, after [`RadianceRenderSystems::PrepareFields`] |
//! | `Core3d` | [`node::field_pass`] | [`RadianceRenderSystems::FieldPass`] |
//!
//! Per camera, each visible field is ray-marched per pixel by a fragment
//! shader drawn over the screen rectangle its render box projects to (a
//! scissor; a field behind the camera or off screen is not drawn at all,
//! [`prepare::field_scissor`]) (hash grid + MLPs evaluated per sample, generated for the
//! field's architecture by [`codegen`]; empty space skipped with the
//! occupancy grid; rays stopped at the meshes' depth), nearest field first,
//! into a field layer covering the viewport at the camera's render scale
//! ([`RadianceFieldCamera`](crate::scene::RadianceFieldCamera)), which is
//! upsampled and composited over the main texture in display space
//! ([`crate::render::composite`]). Splats are composited after fields.

pub mod codegen;
pub mod extract;
pub mod gpu_asset;
pub mod gpu_types;
pub mod node;
pub mod pipeline;
pub mod prepare;

use bevy::core_pipeline::schedule::Core3d;
use bevy::prelude::*;
use bevy::render::render_asset::RenderAssetPlugin;
use bevy::render::render_resource::SpecializedRenderPipelines;
use bevy::render::{ExtractSchedule, Render, RenderApp, RenderStartup, RenderSystems};

use super::{RadianceRenderSystems, add_layer_plugin, shaders};

/// Renders [`RadianceField3d`](crate::scene::RadianceField3d) entities. Added
/// by [`RadianceFieldPlugin`](crate::RadianceFieldPlugin).
pub struct RadianceFieldRenderPlugin;

impl Plugin for RadianceFieldRenderPlugin {
    fn build(&self, app: &mut App) {
        add_layer_plugin(app);
        shaders::embed(app, &[shaders::FIELD_NETWORK, shaders::FIELD_MARCH]);
        app.add_plugins(RenderAssetPlugin::<gpu_asset::GpuRadianceField>::default())
            .add_systems(PostUpdate, extract::enable_depth_texture_binding);
        let Some(render_app) = app.get_sub_app_mut(RenderApp) else {
            return;
        };
        render_app
            .init_resource::<extract::ExtractedFields>()
            .init_resource::<SpecializedRenderPipelines<pipeline::RadianceFieldPipelines>>()
            .add_systems(RenderStartup, pipeline::init_field_pipelines)
            .add_systems(ExtractSchedule, (extract::extract_fields, extract::extract_field_cameras))
            .add_systems(Render, prepare::prepare_field_views.in_set(RadianceRenderSystems::PrepareFields))
            .add_systems(
                Render,
                prepare::measure_field_memory
                    .in_set(RenderSystems::PrepareResources)
                    .after(RadianceRenderSystems::PrepareFields),
            )
            .add_systems(Core3d, node::field_pass.in_set(RadianceRenderSystems::FieldPass));
    }
}
