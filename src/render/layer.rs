//! Capture layers: the per-camera textures splats and fields are drawn into
//! before the display-space composite, and the per-camera data both
//! renderers extract.

use bevy::camera::visibility::RenderLayers;
use bevy::prelude::*;
use bevy::render::Extract;
use bevy::render::render_resource::{
    CommandEncoder, Extent3d, LoadOp, Operations, RenderPassColorAttachment, RenderPassDescriptor, StoreOp,
    TextureDescriptor, TextureDimension, TextureFormat, TextureUsages, TextureView,
};
use bevy::render::renderer::RenderDevice;
use bevy::render::sync_world::RenderEntity;
use bevy::render::texture::{CachedTexture, TextureCache};
use bevy::render::view::ExtractedView;

use crate::camera::CameraView;

/// Format of every capture layer: premultiplied, display-referred colour and coverage.
pub const LAYER_FORMAT: TextureFormat = TextureFormat::Rgba16Float;

/// Render layers of a camera, copied onto its render-world view.
#[derive(Component, Clone, Debug, Default, Deref)]
pub struct ViewRenderLayers(pub RenderLayers);

/// Copies each 3D camera's [`RenderLayers`] onto its render-world view.
#[expect(clippy::type_complexity, reason = "a Bevy system's query")]
pub fn extract_view_render_layers(
    mut commands: Commands,
    cameras: Extract<Query<(RenderEntity, Option<&RenderLayers>), With<Camera3d>>>,
) {
    for (render_entity, layers) in &cameras {
        if let Ok(mut entity) = commands.get_entity(render_entity) {
            entity.insert(ViewRenderLayers(layers.cloned().unwrap_or_default()));
        }
    }
}

/// The camera model of an extracted view with a viewport of `size` pixels.
pub fn camera_view(view: &ExtractedView, size: UVec2) -> CameraView {
    CameraView {
        view_from_world: view.world_from_view.to_matrix().inverse(),
        clip_from_view: view.clip_from_view,
        size: size.as_vec2(),
    }
}

/// A layer texture of `size` pixels from the texture cache (render target and
/// shader input).
pub fn layer_texture(
    texture_cache: &mut TextureCache,
    device: &RenderDevice,
    label: &'static str,
    size: UVec2,
    sample_count: u32,
) -> CachedTexture {
    texture_cache.get(
        device,
        TextureDescriptor {
            label: Some(label),
            size: Extent3d {
                width: size.x,
                height: size.y,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count,
            dimension: TextureDimension::D2,
            format: LAYER_FORMAT,
            usage: TextureUsages::RENDER_ATTACHMENT | TextureUsages::TEXTURE_BINDING,
            view_formats: &[],
        },
    )
}

/// Begins a render pass that clears one colour attachment, `view`, to
/// transparent black and stores it (no depth attachment).
pub fn begin_clear_pass<'a>(
    encoder: &'a mut CommandEncoder,
    label: &'a str,
    view: &'a TextureView,
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
