//! The radiance-field pass of a camera: ray-march every visible field into the
//! field layer (nearest first), then composite the layer over the main texture
//! in display space. Runs in `Core3d` after the transparent pass and before the
//! splat pass, so splats are composited over fields.

use bevy::prelude::*;
use bevy::render::diagnostic::RecordDiagnostics;
use bevy::render::renderer::{RenderContext, ViewQuery};
use bevy::render::view::ViewTarget;

use super::pipeline::NerfPipelines;
use super::prepare::NerfViewResources;
use crate::splat::render::node::{begin_clear_pass, composite_layer};
use crate::splat::render::pipeline::SplatPipelines;

/// The `Core3d` system that renders a view's radiance fields.
pub fn nerf_pass(
    view: ViewQuery<(&ViewTarget, Option<&NerfViewResources>)>,
    pipelines: Option<Res<NerfPipelines>>,
    splat_pipelines: Option<Res<SplatPipelines>>,
    mut ctx: RenderContext,
) {
    let (target, resources) = view.into_inner();
    let (Some(resources), Some(pipelines), Some(splat_pipelines)) = (resources, pipelines, splat_pipelines) else {
        return;
    };
    let Some(composite) = splat_pipelines.composite(resources.composite_key) else {
        warn_once!("bevy_radiance: radiance-field pipelines are not ready; fields are skipped this frame");
        return;
    };
    let diagnostics = ctx.diagnostic_recorder();
    let diagnostics = diagnostics.as_deref();
    {
        let encoder = ctx.command_encoder();
        let span = diagnostics.time_span(encoder, "bevy_radiance:nerf_march");
        let mut pass = begin_clear_pass(encoder, "bevy_radiance:nerf:march", &resources.layer.default_view);
        pass.set_bind_group(0, &resources.view_bind_group, &[]);
        for draw in &resources.draws {
            let Some(march) = pipelines.get(draw.key) else {
                warn_once!("bevy_radiance: a radiance-field pipeline is not ready; the field is skipped this frame");
                continue;
            };
            pass.set_pipeline(march);
            pass.set_bind_group(1, &draw.bind_group, &[draw.uniform_offset]);
            pass.draw(0..3, 0..1);
        }
        drop(pass);
        span.end(encoder);
    }
    composite_layer(
        &mut ctx,
        target,
        &splat_pipelines,
        composite,
        &resources.layer.default_view,
        Some(&resources.layer_rect),
        "bevy_radiance:nerf_composite",
    );
}
