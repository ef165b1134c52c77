//! Per-view GPU resources of the splat passes: buffers sized for every visible
//! splat of the view (all entities together), uniforms, bind groups and the
//! splat layer texture.

use bevy::camera::CompositingSpace;
use bevy::prelude::*;
use bevy::render::camera::ExtractedCamera;
use bevy::render::render_asset::RenderAssets;
use bevy::render::render_resource::{
    BindGroup, BindGroupEntry, BindingResource, Buffer, BufferBinding, BufferDescriptor,
    BufferUsages, Extent3d, TextureDescriptor, TextureDimension, TextureUsages,
};
use bevy::render::renderer::{RenderDevice, RenderQueue};
use bevy::render::texture::{CachedTexture, TextureCache};
use bevy::render::view::{ExtractedView, Msaa, ViewTarget};

use super::extract::{ExtractedSplats, SplatViewLayers};
use super::gpu_types::{
    GpuGaussianSplats, PROJECTED_SPLAT_SIZE, SplatEntityUniform, SplatViewUniform,
    UNIFORM_STRIDE, sh_stride_words,
};
use super::pipeline::{CompositeKey, RasterKey, SPLAT_LAYER_FORMAT, SplatPipelines};
use crate::sort::GpuRadixSort;
use crate::splat::projection::SplatView;

/// One entity's preprocess dispatch.
pub struct SplatBatch {
    /// The asset's geometry/SH bind group.
    pub asset_bind_group: BindGroup,
    /// Dynamic offset of the entity's uniform.
    pub uniform_offset: u32,
    /// Number of splats.
    pub count: u32,
}

/// Persistent buffers of a view, grown as needed.
#[derive(Component, Clone)]
pub struct SplatViewBuffers {
    capacity: u32,
    entity_capacity: u32,
    view_uniform: Buffer,
    entity_uniforms: Buffer,
    projected: Buffer,
    draw_args: Buffer,
    sort: GpuRadixSort,
}

/// Everything the splat pass needs for a view this frame. Present only on views
/// that see at least one splat.
#[derive(Component)]
pub struct SplatViewResources {
    /// The view's buffers (shared handles).
    pub buffers: SplatViewBuffers,
    /// Splats in the view's arrays (all entities).
    pub total: u32,
    /// One preprocess dispatch per entity.
    pub batches: Vec<SplatBatch>,
    /// Preprocess group 0 (view + entity uniforms).
    pub preprocess_view_bind_group: BindGroup,
    /// Preprocess group 2 (outputs).
    pub preprocess_output_bind_group: BindGroup,
    /// Raster group 0.
    pub raster_bind_group: BindGroup,
    /// Splat layer (multisampled when the view is).
    pub layer: CachedTexture,
    /// Resolve target of the layer when multisampled.
    pub layer_resolve: Option<CachedTexture>,
    /// Raster pipeline variant.
    pub raster_key: RasterKey,
    /// Composite pipeline variant.
    pub composite_key: CompositeKey,
    /// Camera viewport (x, y, width, height) in physical pixels.
    pub viewport: UVec4,
}

impl SplatViewResources {
    /// The sort of this view.
    pub fn sort(&self) -> &GpuRadixSort {
        &self.buffers.sort
    }

    /// The indirect draw arguments (instance count = visible splats).
    pub fn draw_args(&self) -> &Buffer {
        &self.buffers.draw_args
    }

    /// The resolved splat layer.
    pub fn layer_view(&self) -> &bevy::render::render_resource::TextureView {
        &self.layer_resolve.as_ref().unwrap_or(&self.layer).default_view
    }
}

impl SplatViewBuffers {
    fn new(device: &RenderDevice, pipelines: &SplatPipelines, capacity: u32, entities: u32) -> Self {
        let buffer = |label: &str, size: u64, usage: BufferUsages| {
            device.create_buffer(&BufferDescriptor {
                label: Some(label),
                size,
                usage,
                mapped_at_creation: false,
            })
        };
        let uniform = BufferUsages::UNIFORM | BufferUsages::COPY_DST;
        Self {
            capacity,
            entity_capacity: entities,
            view_uniform: buffer(
                "bevy_radiance:view:uniform",
                size_of::<SplatViewUniform>() as u64,
                uniform,
            ),
            entity_uniforms: buffer(
                "bevy_radiance:view:entity_uniforms",
                UNIFORM_STRIDE * entities as u64,
                uniform,
            ),
            projected: buffer(
                "bevy_radiance:view:projected",
                PROJECTED_SPLAT_SIZE * capacity as u64,
                BufferUsages::STORAGE,
            ),
            draw_args: buffer(
                "bevy_radiance:view:draw_args",
                16,
                BufferUsages::STORAGE | BufferUsages::INDIRECT | BufferUsages::COPY_DST,
            ),
            sort: GpuRadixSort::new(device, &pipelines.sort, capacity),
        }
    }
}

/// The splat view of an extracted camera.
pub fn splat_view(view: &ExtractedView, size: UVec2) -> SplatView {
    SplatView {
        view_from_world: view.world_from_view.to_matrix().inverse(),
        clip_from_view: view.clip_from_view,
        size: size.as_vec2(),
    }
}

/// Builds [`SplatViewResources`] for every camera view that sees splats.
#[expect(clippy::too_many_arguments, clippy::type_complexity, reason = "a Bevy system")]
pub fn prepare_splat_views(
    mut commands: Commands,
    device: Res<RenderDevice>,
    queue: Res<RenderQueue>,
    mut pipelines: ResMut<SplatPipelines>,
    extracted: Res<ExtractedSplats>,
    assets: Res<RenderAssets<GpuGaussianSplats>>,
    mut texture_cache: ResMut<TextureCache>,
    views: Query<(
        Entity,
        &ExtractedView,
        &ExtractedCamera,
        &ViewTarget,
        &Msaa,
        Option<&SplatViewLayers>,
        Option<&SplatViewBuffers>,
    )>,
) {
    for (entity, view, camera, target, msaa, layers, existing) in &views {
        let (Some(target_size), Some(viewport_size)) =
            (camera.physical_target_size, camera.physical_viewport_size)
        else {
            continue;
        };
        if view.clip_from_view.w_axis.w == 1.0 {
            warn_once!("bevy_radiance: splats are rendered by perspective cameras only; an orthographic camera sees none");
            commands.entity(entity).remove::<SplatViewResources>();
            continue;
        }
        let origin = camera
            .viewport
            .as_ref()
            .map_or(UVec2::ZERO, |v| v.physical_position);
        let camera_layers = layers.map(|l| l.0.clone()).unwrap_or_default();
        let splat_view = splat_view(view, viewport_size);
        let camera_position = splat_view.world_position();

        // Lay every visible entity's splats out one after another.
        let mut entity_uniforms = Vec::new();
        let mut batch_assets = Vec::new();
        let mut total: u32 = 0;
        for item in &extracted.0 {
            if !item.layers.intersects(&camera_layers) {
                continue;
            }
            let Some(gpu) = assets.get(item.asset) else {
                continue;
            };
            if gpu.count == 0 {
                continue;
            }
            let Some(new_total) = total.checked_add(gpu.count) else {
                warn_once!("bevy_radiance: more than 4 billion splats in one view; extra entities are skipped");
                break;
            };
            let camera_local = item.world_from_local.inverse().transform_point3(camera_position);
            entity_uniforms.push(SplatEntityUniform {
                world_from_local: item.world_from_local,
                camera_local: camera_local.extend(1.0),
                offset: total,
                count: gpu.count,
                sh_degree: item.params.sh_degree.min(gpu.sh_degree) as u32,
                sh_stride: sh_stride_words(gpu.sh_degree),
                opacity_scale: item.params.opacity_scale,
                scale_factor: item.params.scale_factor,
                motion_kind: gpu.motion_kind,
                model_time: gpu.model_time(item.time_seconds),
            });
            batch_assets.push(gpu.bind_group.clone());
            total = new_total;
        }
        if total == 0 {
            commands.entity(entity).remove::<SplatViewResources>();
            continue;
        }

        let needed_entities = entity_uniforms.len() as u32;
        let fits = |b: &&SplatViewBuffers| b.capacity >= total && b.entity_capacity >= needed_entities;
        let buffers = match existing.filter(fits) {
            Some(buffers) => buffers.clone(),
            None => {
                let capacity = total.saturating_add(total / 4);
                let projected_bytes = PROJECTED_SPLAT_SIZE * capacity as u64;
                let limit = device.limits().max_storage_buffer_binding_size;
                if projected_bytes > limit {
                    warn_once!(
                        "bevy_radiance: {total} splats in one view need {projected_bytes} bytes of projected splats, above this adapter's {limit}-byte storage binding limit; the view draws no splats"
                    );
                    commands.entity(entity).remove::<SplatViewResources>();
                    continue;
                }
                let buffers =
                    SplatViewBuffers::new(&device, &pipelines, capacity, needed_entities.next_power_of_two());
                commands.entity(entity).insert(buffers.clone());
                buffers
            }
        };

        // Uniforms and per-frame resets.
        let view_uniform = SplatViewUniform {
            view_from_world: splat_view.view_from_world,
            clip_from_view: splat_view.clip_from_view,
            camera_position: camera_position.extend(1.0),
            viewport: Vec4::new(
                origin.x as f32,
                origin.y as f32,
                viewport_size.x as f32,
                viewport_size.y as f32,
            ),
            intrinsics: {
                let k = splat_view.intrinsics();
                Vec4::new(k.fx, k.fy, k.cx, k.cy)
            },
        };
        let mut entity_bytes = vec![0u8; UNIFORM_STRIDE as usize * entity_uniforms.len()];
        for (i, u) in entity_uniforms.iter().enumerate() {
            let at = i * UNIFORM_STRIDE as usize;
            entity_bytes[at..at + size_of::<SplatEntityUniform>()].copy_from_slice(bytemuck::bytes_of(u));
        }
        let samples = msaa.samples();
        let raster_key = RasterKey { samples };
        let composite_key = CompositeKey {
            format: target.main_texture_format(),
            linear: target.compositing_space != Some(CompositingSpace::Srgb),
            upsample: false,
        };
        if target.compositing_space == Some(CompositingSpace::Oklab) {
            warn_once!("bevy_radiance: Oklab compositing is not supported; splats are composited as if the main texture were linear");
        }
        pipelines.prepare_raster(&device, raster_key);
        pipelines.prepare_composite(&device, composite_key);

        let layer_descriptor = |label, sample_count| TextureDescriptor {
            label: Some(label),
            size: Extent3d {
                width: target_size.x,
                height: target_size.y,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count,
            dimension: TextureDimension::D2,
            format: SPLAT_LAYER_FORMAT,
            usage: TextureUsages::RENDER_ATTACHMENT | TextureUsages::TEXTURE_BINDING,
            view_formats: &[],
        };
        let layer = texture_cache.get(&device, layer_descriptor("bevy_radiance:splat_layer", samples));
        let layer_resolve = (samples > 1).then(|| {
            texture_cache.get(&device, layer_descriptor("bevy_radiance:splat_layer_resolve", 1))
        });

        queue.write_buffer(&buffers.view_uniform, 0, bytemuck::bytes_of(&view_uniform));
        queue.write_buffer(&buffers.entity_uniforms, 0, &entity_bytes);
        queue.write_buffer(&buffers.draw_args, 0, bytemuck::cast_slice(&[4u32, 0, 0, 0]));
        buffers.sort.write_params(&queue, total);

        let preprocess_view_bind_group = device.create_bind_group(
            "bevy_radiance:preprocess:view_bind_group",
            &pipelines.preprocess_view_layout,
            &[
                BindGroupEntry {
                    binding: 0,
                    resource: buffers.view_uniform.as_entire_binding(),
                },
                BindGroupEntry {
                    binding: 1,
                    resource: BindingResource::Buffer(BufferBinding {
                        buffer: &buffers.entity_uniforms,
                        offset: 0,
                        size: core::num::NonZeroU64::new(size_of::<SplatEntityUniform>() as u64),
                    }),
                },
            ],
        );
        let preprocess_output_bind_group = device.create_bind_group(
            "bevy_radiance:preprocess:output_bind_group",
            &pipelines.preprocess_output_layout,
            &[
                BindGroupEntry {
                    binding: 0,
                    resource: buffers.projected.as_entire_binding(),
                },
                BindGroupEntry {
                    binding: 1,
                    resource: buffers.sort.keys().as_entire_binding(),
                },
                BindGroupEntry {
                    binding: 2,
                    resource: buffers.sort.values().as_entire_binding(),
                },
                BindGroupEntry {
                    binding: 3,
                    resource: buffers.draw_args.as_entire_binding(),
                },
            ],
        );
        let raster_bind_group = device.create_bind_group(
            "bevy_radiance:raster:bind_group",
            &pipelines.raster_layout,
            &[
                BindGroupEntry {
                    binding: 0,
                    resource: buffers.view_uniform.as_entire_binding(),
                },
                BindGroupEntry {
                    binding: 1,
                    resource: buffers.projected.as_entire_binding(),
                },
                BindGroupEntry {
                    binding: 2,
                    resource: buffers.sort.values().as_entire_binding(),
                },
            ],
        );
        let batches = batch_assets
            .into_iter()
            .zip(&entity_uniforms)
            .enumerate()
            .map(|(i, (asset_bind_group, u))| SplatBatch {
                asset_bind_group,
                uniform_offset: (i as u64 * UNIFORM_STRIDE) as u32,
                count: u.count,
            })
            .collect();
        commands.entity(entity).insert(SplatViewResources {
            buffers,
            total,
            batches,
            preprocess_view_bind_group,
            preprocess_output_bind_group,
            raster_bind_group,
            layer,
            layer_resolve,
            raster_key,
            composite_key,
            viewport: UVec4::new(origin.x, origin.y, viewport_size.x, viewport_size.y),
        });
    }
}
