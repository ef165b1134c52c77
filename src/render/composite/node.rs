//! Recording the composite of a layer into a view's command encoder.

use bevy::prelude::*;
use bevy::render::diagnostic::RecordDiagnostics;
use bevy::render::render_resource::{
    BindGroupEntries, BindingResource, CachedRenderPipelineId, PipelineCache, TextureView,
};
use bevy::render::renderer::RenderContext;
use bevy::render::view::ViewTarget;

use super::CompositePipeline;
use crate::render::layer::begin_clear_pass;

/// Composites a premultiplied, display-referred layer over the view's main
/// texture (a post-process write: the result becomes the main texture).
/// `layer_rect` places an upsampled layer (the pipeline's
/// [`CompositeKey::upsample`](super::CompositeKey::upsample) variant).
/// Returns without drawing (and says so once) when the pipeline is not ready.
#[expect(clippy::too_many_arguments, reason = "the inputs of one pass")]
pub fn composite_layer(
    ctx: &mut RenderContext,
    target: &ViewTarget,
    composite: &CompositePipeline,
    pipeline_cache: &PipelineCache,
    pipeline: CachedRenderPipelineId,
    layer: &TextureView,
    layer_rect: Option<BindingResource<'_>>,
    label: &'static str,
) {
    let Some(pipeline) = pipeline_cache.get_render_pipeline(pipeline) else {
        debug!("{label}: the composite pipeline is not ready; skipped this frame");
        return;
    };
    let post_process = target.post_process_write();
    let device = ctx.render_device().clone();
    let bind_group = match layer_rect {
        Some(rect) => device.create_bind_group(
            label,
            &pipeline_cache.get_bind_group_layout(composite.layout(true)),
            &BindGroupEntries::sequential((post_process.source, layer, rect)),
        ),
        None => device.create_bind_group(
            label,
            &pipeline_cache.get_bind_group_layout(composite.layout(false)),
            &BindGroupEntries::sequential((post_process.source, layer)),
        ),
    };
    let diagnostics = ctx.diagnostic_recorder();
    let diagnostics = diagnostics.as_deref();
    let encoder = ctx.command_encoder();
    let span = diagnostics.time_span(encoder, label);
    {
        let mut pass = begin_clear_pass(encoder, label, post_process.destination);
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.draw(0..3, 0..1);
    }
    span.end(encoder);
}
