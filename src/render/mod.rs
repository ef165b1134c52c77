//! GPU rendering of captures inside Bevy's renderer.
//!
//! This module owns what splat and field rendering share: the layer format
//! and per-camera layer extraction ([`layer`]), the display-space composite
//! of a layer over the main texture ([`composite`]), GPU memory figures
//! ([`memory::RadianceMemoryStats`]), the embedded shaders
//! ([`shaders`]), small GPU helpers ([`gpu`]) and the system sets both
//! renderers run in. The two renderers, [`splat`](mod@splat) and
//! [`field`](mod@field), are siblings that never import each other; each
//! adds [`RadianceLayerPlugin`] if it is not there yet, so either works alone.
//! [`sort`] is the GPU radix sort the splat renderer uses.
//!
//! | schedule | system | set |
//! |---|---|---|
//! | `RenderStartup` | [`composite::init_composite_pipeline`] | |
//! | `ExtractSchedule` | [`layer::extract_view_render_layers`] | |
//! | `Render` | the renderers' prepare systems | [`RadianceRenderSystems::PrepareFields`], then [`RadianceRenderSystems::PrepareSplats`], in `RenderSystems::PrepareResources` |
//! | `Core3d` | the renderers' passes | [`RadianceRenderSystems::FieldPass`], then [`RadianceRenderSystems::SplatPass`], in `Core3dSystems::MainPass` after the main transparent pass |

pub mod composite;
pub mod field;
pub mod gpu;
pub mod layer;
pub mod memory;
pub mod shaders;
pub mod sort;
pub mod splat;

use bevy::core_pipeline::Core3dSystems;
use bevy::core_pipeline::core_3d::main_transparent_pass_3d;
use bevy::core_pipeline::schedule::Core3d;
use bevy::prelude::*;
use bevy::render::render_resource::SpecializedRenderPipelines;
use bevy::render::{ExtractSchedule, Render, RenderApp, RenderStartup, RenderSystems};

pub use layer::{LAYER_FORMAT, ViewRenderLayers};

/// Public system sets of the capture renderers (render world).
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum RadianceRenderSystems {
    /// Per-view radiance-field resources (in `RenderSystems::PrepareResources`).
    PrepareFields,
    /// Per-view splat resources (in `RenderSystems::PrepareResources`, after [`Self::PrepareFields`]).
    PrepareSplats,
    /// The radiance-field pass of a camera (in `Core3dSystems::MainPass`, after the main transparent pass).
    FieldPass,
    /// The splat pass of a camera (after [`Self::FieldPass`]: splats are composited over fields).
    SplatPass,
}

/// What both renderers share: shaders, the layer composite, per-camera
/// render layers and the system sets. Added by the splat and field render
/// plugins (once, whichever comes first).
pub struct RadianceLayerPlugin;

impl Plugin for RadianceLayerPlugin {
    fn build(&self, app: &mut App) {
        shaders::embed(app, &[shaders::LAYER_COMPOSITE]);
        memory::add_memory_stats(app);
        let Some(render_app) = app.get_sub_app_mut(RenderApp) else {
            return;
        };
        render_app
            .init_resource::<SpecializedRenderPipelines<composite::CompositePipeline>>()
            .configure_sets(
                Render,
                (RadianceRenderSystems::PrepareFields, RadianceRenderSystems::PrepareSplats)
                    .chain()
                    .in_set(RenderSystems::PrepareResources),
            )
            .configure_sets(
                Core3d,
                (RadianceRenderSystems::FieldPass, RadianceRenderSystems::SplatPass)
                    .chain()
                    .in_set(Core3dSystems::MainPass)
                    .after(main_transparent_pass_3d),
            )
            .add_systems(RenderStartup, composite::init_composite_pipeline)
            .add_systems(ExtractSchedule, layer::extract_view_render_layers);
    }
}

/// Adds [`RadianceLayerPlugin`] unless it is there already.
pub(crate) fn add_layer_plugin(app: &mut App) {
    if !app.is_plugin_added::<RadianceLayerPlugin>() {
        app.add_plugins(RadianceLayerPlugin);
    }
}
