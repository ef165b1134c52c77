//! The radiance-field pass of a camera: ray-march every visible field into the
//! field layer (nearest first), then composite the layer over the main texture
//! in display space. Runs in `Core3d` after the transparent pass and before the
//! splat pass, so splats are composited over fields.

use bevy::prelude::*;
use bevy::render::diagnostic::RecordDiagnostics;
use bevy::render::render_resource::PipelineCache;
use bevy::render::renderer::{RenderContext, ViewQuery};
use bevy::render::view::ViewTarget;

use super::prepare::RadianceFieldViewResources;
use crate::render::composite::{CompositePipeline, composite_layer};
use crate::render::layer::begin_clear_pass;

/// The `Core3d` system that renders a view's radiance fields.
pub fn field_pass(
    view: ViewQuery<(&ViewTarget, Option<&RadianceFieldViewResources>)>,
    composite: Option<Res<CompositePipeline>>,
    pipeline_cache: Res<PipelineCache>,
    mut ctx: RenderContext,
) {
    let (target, resources) = view.into_inner();
    let Some(resources) = resources else {
        return;
    };
    let Some(composite) = composite else {
        warn_once!("bevy_radiance: the composite pipeline was not created; radiance fields are not drawn");
        return;
    };
    let diagnostics = ctx.diagnostic_recorder();
    let diagnostics = diagnostics.as_deref();
    {
        let encoder = ctx.command_encoder();
        let span = diagnostics.time_span(encoder, "bevy_radiance:field_march");
        let mut pass = begin_clear_pass(encoder, "bevy_radiance:field:march", &resources.layer.default_view);
        pass.set_bind_group(0, &resources.view_bind_group, &[]);
        for draw in &resources.draws {
            let Some(march) = pipeline_cache.get_render_pipeline(draw.pipeline) else {
                debug!("bevy_radiance: a radiance-field pipeline is still compiling; the field is skipped this frame");
                continue;
            };
            pass.set_pipeline(march);
            let size = draw.scissor.size();
            pass.set_scissor_rect(draw.scissor.min.x, draw.scissor.min.y, size.x, size.y);
            pass.set_bind_group(1, &draw.bind_group, &[draw.uniform_offset]);
            pass.draw(0..3, 0..1);
        }
        drop(pass);
        span.end(encoder);
    }
    composite_layer(
        &mut ctx,
        target,
        &composite,
        &pipeline_cache,
        resources.composite_pipeline,
        &resources.layer.default_view,
        Some(resources.layer_rect.as_entire_binding()),
        "bevy_radiance:field_composite",
    );
}
