//! Per-view resources of the radiance-field pass.

use bevy::prelude::*;
use bevy::render::camera::ExtractedCamera;
use bevy::render::render_asset::RenderAssets;
use bevy::render::render_resource::{
    BindGroup, BindGroupEntry, BindingResource, Buffer, BufferBinding, BufferDescriptor,
    BufferUsages, Extent3d, TextureDescriptor, TextureDimension, TextureUsages,
};
use bevy::render::renderer::{RenderDevice, RenderQueue};
use bevy::render::texture::{CachedTexture, TextureCache};
use bevy::render::view::{ExtractedView, Msaa, ViewDepthTexture, ViewTarget};

use super::extract::ExtractedFields;
use super::gpu_types::{FIELD_UNIFORM_STRIDE, GpuRadianceField, NerfFieldUniform, NerfViewUniform};
use super::pipeline::{MarchKey, NerfPipelines};
use crate::splat::render::extract::SplatViewLayers;
use crate::nerf::{RadianceFieldCamera, field_layer_size};
use crate::splat::render::pipeline::{CompositeKey, LayerRectUniform, SPLAT_LAYER_FORMAT, SplatPipelines};
use crate::splat::render::prepare::splat_view;

/// One field's draw.
pub struct FieldDraw {
    /// Its pipeline variant.
    pub key: MarchKey,
    /// Group 1 of the field.
    pub bind_group: BindGroup,
    /// Dynamic offset of its uniform.
    pub uniform_offset: u32,
}

/// Everything the field pass needs for a view this frame; present only on views
/// that see at least one field.
#[derive(Component)]
pub struct NerfViewResources {
    /// Group 0.
    pub view_bind_group: BindGroup,
    /// Fields, nearest first.
    pub draws: Vec<FieldDraw>,
    /// The field layer.
    pub layer: CachedTexture,
    /// Composite variant.
    pub composite_key: CompositeKey,
    /// Where the layer lies in the main texture ([`LayerRectUniform`]).
    pub layer_rect: Buffer,
    // Keep the per-frame uniform buffers alive with the bind groups.
    _buffers: (Buffer, Buffer),
}

/// Builds [`NerfViewResources`] for every camera view that sees a field.
#[expect(clippy::too_many_arguments, clippy::type_complexity, reason = "a Bevy system")]
pub fn prepare_nerf_views(
    mut commands: Commands,
    device: Res<RenderDevice>,
    queue: Res<RenderQueue>,
    mut pipelines: ResMut<NerfPipelines>,
    mut splat_pipelines: ResMut<SplatPipelines>,
    extracted: Res<ExtractedFields>,
    assets: Res<RenderAssets<GpuRadianceField>>,
    mut texture_cache: ResMut<TextureCache>,
    views: Query<(
        Entity,
        &ExtractedView,
        &ExtractedCamera,
        &ViewTarget,
        &ViewDepthTexture,
        &Msaa,
        Option<&SplatViewLayers>,
        Option<&RadianceFieldCamera>,
    )>,
) {
    for (entity, view, camera, target, depth, msaa, layers, field_camera) in &views {
        let Some(viewport_size) = camera.physical_viewport_size else {
            continue;
        };
        let render_scale = field_camera.map_or(1.0, |c| c.render_scale);
        let layer_size = field_layer_size(viewport_size, render_scale);
        let camera_layers = layers.map(|l| l.0.clone()).unwrap_or_default();
        let sv = splat_view(view, viewport_size);
        let camera_position = sv.world_position();
        let mut fields: Vec<(f32, &GpuRadianceField, NerfFieldUniform, bool)> = extracted
            .0
            .iter()
            .filter(|f| f.layers.intersects(&camera_layers))
            .filter_map(|f| {
                let gpu = assets.get(f.asset).filter(|g| g.arch.levels > 0)?;
                let distance = f.world_from_local.w_axis.truncate().distance(camera_position);
                Some((distance, gpu, gpu.uniform(f.world_from_local, &f.settings), f.settings.additive))
            })
            .collect();
        if fields.is_empty() || view.clip_from_view.w_axis.w == 1.0 {
            commands.entity(entity).remove::<NerfViewResources>();
            continue;
        }
        fields.sort_by(|a, b| a.0.total_cmp(&b.0));

        let origin = camera.viewport.as_ref().map_or(UVec2::ZERO, |v| v.physical_position);
        let k = sv.intrinsics();
        let view_uniform = NerfViewUniform {
            world_from_view: view.world_from_view.to_matrix(),
            view_from_clip: view.clip_from_view.inverse(),
            camera_position: camera_position.extend(1.0),
            viewport: Vec4::new(origin.x as f32, origin.y as f32, viewport_size.x as f32, viewport_size.y as f32),
            intrinsics: Vec4::new(k.fx, k.fy, k.cx, k.cy),
            layer_ratio: (viewport_size.as_vec2() / layer_size.as_vec2()).extend(0.0).extend(0.0),
        };
        let uniform_buffer = |label: &str, size: u64| {
            device.create_buffer(&BufferDescriptor {
                label: Some(label),
                size,
                usage: BufferUsages::UNIFORM | BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        };
        let view_buffer = uniform_buffer("bevy_radiance:nerf:view_uniform", size_of::<NerfViewUniform>() as u64);
        queue.write_buffer(&view_buffer, 0, bytemuck::bytes_of(&view_uniform));
        let layer_rect = uniform_buffer("bevy_radiance:nerf:layer_rect", size_of::<LayerRectUniform>() as u64);
        let rect = LayerRectUniform {
            viewport: view_uniform.viewport,
            layer: Vec4::new(
                layer_size.x as f32,
                layer_size.y as f32,
                layer_size.x as f32 / viewport_size.x as f32,
                layer_size.y as f32 / viewport_size.y as f32,
            ),
        };
        queue.write_buffer(&layer_rect, 0, bytemuck::bytes_of(&rect));
        let field_buffer = uniform_buffer("bevy_radiance:nerf:field_uniforms", FIELD_UNIFORM_STRIDE * fields.len() as u64);
        let mut bytes = vec![0u8; FIELD_UNIFORM_STRIDE as usize * fields.len()];
        for (i, (_, _, u, _)) in fields.iter().enumerate() {
            let at = i * FIELD_UNIFORM_STRIDE as usize;
            bytes[at..at + size_of::<NerfFieldUniform>()].copy_from_slice(bytemuck::bytes_of(u));
        }
        queue.write_buffer(&field_buffer, 0, &bytes);

        let multisampled_depth = msaa.samples() > 1;
        for (_, gpu, _, additive) in &fields {
            pipelines.prepare(&device, MarchKey { multisampled_depth, arch: gpu.arch, additive: *additive });
        }
        let composite_key = CompositeKey {
            format: target.main_texture_format(),
            linear: target.compositing_space != Some(bevy::camera::CompositingSpace::Srgb),
            upsample: true,
        };
        splat_pipelines.prepare_composite(&device, composite_key);

        let view_bind_group = device.create_bind_group(
            "bevy_radiance:nerf:view_bind_group",
            &pipelines.view_layouts[&multisampled_depth],
            &[
                BindGroupEntry {
                    binding: 0,
                    resource: view_buffer.as_entire_binding(),
                },
                BindGroupEntry {
                    binding: 1,
                    resource: BindingResource::TextureView(depth.view()),
                },
            ],
        );
        let draws = fields
            .iter()
            .enumerate()
            .map(|(i, (_, gpu, _, additive))| FieldDraw {
                key: MarchKey { multisampled_depth, arch: gpu.arch, additive: *additive },
                bind_group: device.create_bind_group(
                    "bevy_radiance:nerf:field_bind_group",
                    &pipelines.field_layout,
                    &[
                        BindGroupEntry {
                            binding: 0,
                            resource: BindingResource::Buffer(BufferBinding {
                                buffer: &field_buffer,
                                offset: 0,
                                size: core::num::NonZeroU64::new(size_of::<NerfFieldUniform>() as u64),
                            }),
                        },
                        BindGroupEntry {
                            binding: 1,
                            resource: gpu.grid_params.as_entire_binding(),
                        },
                        BindGroupEntry {
                            binding: 2,
                            resource: gpu.weights.as_entire_binding(),
                        },
                        BindGroupEntry {
                            binding: 3,
                            resource: gpu.occupancy.as_entire_binding(),
                        },
                    ],
                ),
                uniform_offset: (i as u64 * FIELD_UNIFORM_STRIDE) as u32,
            })
            .collect();
        let layer = texture_cache.get(
            &device,
            TextureDescriptor {
                label: Some("bevy_radiance:nerf:layer"),
                size: Extent3d {
                    width: layer_size.x,
                    height: layer_size.y,
                    depth_or_array_layers: 1,
                },
                mip_level_count: 1,
                sample_count: 1,
                dimension: TextureDimension::D2,
                format: SPLAT_LAYER_FORMAT,
                usage: TextureUsages::RENDER_ATTACHMENT | TextureUsages::TEXTURE_BINDING,
                view_formats: &[],
            },
        );
        commands.entity(entity).insert(NerfViewResources {
            view_bind_group,
            draws,
            layer,
            composite_key,
            layer_rect,
            _buffers: (view_buffer, field_buffer),
        });
    }
}
