//! The splat pass of a camera: preprocess → sort → raster into the splat layer →
//! composite the layer over the main texture. Runs in `Core3d` after the main
//! transparent pass (and the radiance-field pass), so meshes and fields are
//! already drawn.

use std::sync::atomic::Ordering;

use bevy::prelude::*;
use bevy::render::diagnostic::RecordDiagnostics;
use bevy::render::render_resource::{
    ComputePassDescriptor, LoadOp, Operations, PipelineCache, RenderPassColorAttachment,
    RenderPassDepthStencilAttachment, RenderPassDescriptor, StoreOp,
};
use bevy::render::renderer::{RenderContext, ViewQuery};
use bevy::render::view::{ViewDepthTexture, ViewTarget};

use super::pipeline::{PREPROCESS_WORKGROUP_SIZE, SplatPipelines};
use super::gpu_types::SplatDrawArgs;
use super::prepare::SplatViewResources;
use crate::render::composite::{CompositePipeline, composite_layer};
use crate::render::gpu::dispatch_grid;
use crate::render::sort::RadixSortPipelines;

/// The `Core3d` system that renders a view's splats.
pub fn splat_pass(
    view: ViewQuery<(&ViewTarget, &ViewDepthTexture, Option<&SplatViewResources>)>,
    pipelines: Option<Res<SplatPipelines>>,
    sort_pipelines: Option<Res<RadixSortPipelines>>,
    composite: Option<Res<CompositePipeline>>,
    pipeline_cache: Res<PipelineCache>,
    mut ctx: RenderContext,
) {
    let (target, depth, resources) = view.into_inner();
    let Some(resources) = resources else {
        return;
    };
    let (Some(pipelines), Some(sort_pipelines), Some(composite)) = (pipelines, sort_pipelines, composite) else {
        warn_once!("bevy_radiance: the splat pipelines were not created; splats are not drawn");
        return;
    };
    let (Some(preprocess), Some(sort), Some(raster)) = (
        pipeline_cache.get_compute_pipeline(pipelines.preprocess),
        sort_pipelines.kernels(&pipeline_cache),
        pipeline_cache.get_render_pipeline(resources.raster_pipeline),
    ) else {
        debug!("bevy_radiance: splat pipelines are still compiling; splats are skipped this frame");
        return;
    };

    let diagnostics = ctx.diagnostic_recorder();
    let diagnostics = diagnostics.as_deref();

    // 1–2. Unless nothing changed since the last sorted frame: preprocess
    // every entity into the view's arrays, then sort the visible splats by
    // depth (the preprocess counted them in the draw arguments' instance count).
    if !resources.reuse_sorted {
        {
            let encoder = ctx.command_encoder();
            let span = diagnostics.time_span(encoder, "bevy_radiance:preprocess");
            let mut pass = encoder.begin_compute_pass(&ComputePassDescriptor {
                label: Some("bevy_radiance:preprocess"),
                timestamp_writes: None,
            });
            pass.set_pipeline(preprocess);
            pass.set_bind_group(2, &resources.preprocess_output_bind_group, &[]);
            for batch in &resources.batches {
                pass.set_bind_group(0, &resources.preprocess_view_bind_group, &[batch.uniform_offset]);
                pass.set_bind_group(1, &batch.asset_bind_group, &[]);
                pass.set_bind_group(3, &batch.edits_bind_group, &[]);
                let (x, y) = dispatch_grid(batch.count.div_ceil(PREPROCESS_WORKGROUP_SIZE));
                pass.dispatch_workgroups(x, y, 1);
            }
            drop(pass);
            span.end(encoder);
        }

        {
            let encoder = ctx.command_encoder();
            let span = diagnostics.time_span(encoder, "bevy_radiance:sort");
            resources.sort.copy_count(encoder, &resources.draw_args, SplatDrawArgs::INSTANCE_COUNT_OFFSET);
            resources.sort.encode(&sort, encoder);
            span.end(encoder);
        }
        resources.sorted.store(true, Ordering::Release);
    }

    // 3. Draw them back to front into the splat layer, tested against mesh depth.
    {
        let encoder = ctx.command_encoder();
        let span = diagnostics.time_span(encoder, "bevy_radiance:raster");
        let mut pass = encoder.begin_render_pass(&RenderPassDescriptor {
            label: Some("bevy_radiance:raster"),
            color_attachments: &[Some(RenderPassColorAttachment {
                view: &resources.layer.default_view,
                depth_slice: None,
                resolve_target: resources.layer_resolve.as_ref().map(|t| &*t.default_view),
                ops: Operations {
                    load: LoadOp::Clear(Default::default()),
                    store: StoreOp::Store,
                },
            })],
            depth_stencil_attachment: Some(RenderPassDepthStencilAttachment {
                view: depth.view(),
                depth_ops: None,
                stencil_ops: None,
            }),
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        });
        let v = resources.viewport.as_vec4();
        pass.set_viewport(v.x, v.y, v.z, v.w, 0.0, 1.0);
        pass.set_pipeline(raster);
        pass.set_bind_group(0, &resources.raster_bind_group, &[]);
        pass.draw_indirect(&resources.draw_args, 0);
        drop(pass);
        span.end(encoder);
    }

    // 4. Composite the layer over the main texture in display space.
    composite_layer(
        &mut ctx,
        target,
        &composite,
        &pipeline_cache,
        resources.composite_pipeline,
        resources.layer_view(),
        None,
        "bevy_radiance:composite",
    );
}
