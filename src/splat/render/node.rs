//! The splat pass of a camera: preprocess → sort → raster into the splat layer →
//! composite the layer over the main texture. Runs in `Core3d` after the main
//! transparent pass, so opaque and transparent meshes are already drawn.

use bevy::prelude::*;
use bevy::render::diagnostic::RecordDiagnostics;
use bevy::render::render_resource::{
    BindGroupEntry, BindingResource, ComputePassDescriptor, LoadOp, Operations,
    RenderPassColorAttachment, RenderPassDepthStencilAttachment, RenderPassDescriptor, StoreOp,
};
use bevy::render::renderer::{RenderContext, ViewQuery};
use bevy::render::view::{ViewDepthTexture, ViewTarget};

use super::pipeline::SplatPipelines;
use super::prepare::SplatViewResources;

/// Preprocess workgroup size (threads per workgroup in `splat_preprocess.wgsl`).
const PREPROCESS_WORKGROUP: u32 = 256;

/// The `Core3d` system that renders a view's splats.
pub fn splat_pass(
    view: ViewQuery<(&ViewTarget, &ViewDepthTexture, Option<&SplatViewResources>)>,
    pipelines: Option<Res<SplatPipelines>>,
    mut ctx: RenderContext,
) {
    let (target, depth, resources) = view.into_inner();
    let (Some(resources), Some(pipelines)) = (resources, pipelines) else {
        return;
    };
    let (Some(raster), Some(composite)) = (
        pipelines.raster(resources.raster_key),
        pipelines.composite(resources.composite_key),
    ) else {
        warn_once!("bevy_radiance: splat pipelines are not ready; splats are skipped this frame");
        return;
    };

    let diagnostics = ctx.diagnostic_recorder();
    let diagnostics = diagnostics.as_deref();

    // 1. Preprocess every entity into the view's arrays.
    {
        let encoder = ctx.command_encoder();
        let span = diagnostics.time_span(encoder, "bevy_radiance:preprocess");
        let mut pass = encoder.begin_compute_pass(&ComputePassDescriptor {
            label: Some("bevy_radiance:preprocess"),
            timestamp_writes: None,
        });
        pass.set_pipeline(&pipelines.preprocess);
        pass.set_bind_group(2, &resources.preprocess_output_bind_group, &[]);
        for batch in &resources.batches {
            pass.set_bind_group(0, &resources.preprocess_view_bind_group, &[batch.uniform_offset]);
            pass.set_bind_group(1, &batch.asset_bind_group, &[]);
            let groups = batch.count.div_ceil(PREPROCESS_WORKGROUP);
            let (x, y) = if groups <= 65_535 {
                (groups, 1)
            } else {
                (65_535, groups.div_ceil(65_535))
            };
            pass.dispatch_workgroups(x, y, 1);
        }
        drop(pass);
        span.end(encoder);
    }

    // 2. Sort all of the view's splats by depth.
    {
        let encoder = ctx.command_encoder();
        let span = diagnostics.time_span(encoder, "bevy_radiance:sort");
        resources.sort().encode(&pipelines.sort, encoder, resources.total);
        span.end(encoder);
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
        pass.draw_indirect(resources.draw_args(), 0);
        drop(pass);
        span.end(encoder);
    }

    // 4. Composite the layer over the main texture in display space.
    composite_layer(&mut ctx, target, &pipelines, composite, resources.layer_view(), None, "bevy_radiance:composite");
}

/// Composites a premultiplied, display-referred layer over the view's main
/// texture (display-space blend, see `splat_composite.wgsl`). Used by the splat
/// and radiance-field passes.
pub fn composite_layer(
    ctx: &mut RenderContext,
    target: &ViewTarget,
    pipelines: &SplatPipelines,
    pipeline: &bevy::render::render_resource::RenderPipeline,
    layer: &bevy::render::render_resource::TextureView,
    layer_rect: Option<&bevy::render::render_resource::Buffer>,
    label: &'static str,
) {
    let post_process = target.post_process_write();
    let mut entries = vec![
        BindGroupEntry {
            binding: 0,
            resource: BindingResource::TextureView(post_process.source),
        },
        BindGroupEntry {
            binding: 1,
            resource: BindingResource::TextureView(layer),
        },
    ];
    let layout = match layer_rect {
        Some(rect) => {
            entries.push(BindGroupEntry {
                binding: 2,
                resource: rect.as_entire_binding(),
            });
            &pipelines.composite_upsample_layout
        }
        None => &pipelines.composite_layout,
    };
    let bind_group = ctx.render_device().create_bind_group(label, layout, &entries);
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

/// Begins a render pass that clears one colour attachment, `view`, to
/// transparent black and stores it (no depth attachment).
pub fn begin_clear_pass<'a>(
    encoder: &'a mut bevy::render::render_resource::CommandEncoder,
    label: &'a str,
    view: &'a bevy::render::render_resource::TextureView,
) -> wgpu::RenderPass<'a> {
    encoder.begin_render_pass(&RenderPassDescriptor {
        label: Some(label),
        color_attachments: &[Some(RenderPassColorAttachment {
            view,
            depth_slice: None,
            resolve_target: None,
            ops: Operations {
                load: LoadOp::Clear(Default::default()),
                store: StoreOp::Store,
            },
        })],
        depth_stencil_attachment: None,
        timestamp_writes: None,
        occlusion_query_set: None,
        multiview_mask: None,
    })
}
