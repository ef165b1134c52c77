//! Per-view GPU resources of the splat passes: buffers sized for every visible
//! splat of the view (all entities together), uniforms, bind groups, pipeline
//! variants and the splat layer texture.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bevy::camera::CompositingSpace;
use bevy::prelude::*;
use bevy::render::camera::ExtractedCamera;
use bevy::render::render_asset::RenderAssets;
use bevy::render::render_resource::{
    BindGroup, BindGroupEntries, BindGroupId, Buffer, BufferUsages, CachedRenderPipelineId,
    DynamicUniformBuffer, PipelineCache, RawBufferVec, SpecializedRenderPipelines, UniformBuffer,
};
use bevy::render::renderer::{RenderDevice, RenderQueue};
use bevy::render::texture::{CachedTexture, TextureCache};
use bevy::render::view::{ExtractedView, Msaa, ViewTarget};

use super::edits::SplatEditBuffers;
use super::extract::ExtractedSplats;
use super::gpu_asset::GpuGaussianSplats;
use super::packing::sh_rest_bytes;
use super::gpu_types::{CropVolumeGpu, ProjectedSplatGpu, SplatDrawArgs, SplatEntityUniform, SplatViewUniform};
use super::pipeline::{RasterKey, SplatPipelines};
use crate::render::composite::{CompositeKey, CompositePipeline};
use crate::render::gpu::create_buffer;
use crate::render::memory::{GpuMemoryUsage, SharedMemoryStats};
use crate::render::layer::{ViewRenderLayers, camera_view, layer_texture};
use crate::render::sort::{GpuRadixSort, RadixSortPipelines, SortLayouts};

/// One entity's preprocess dispatch.
pub struct SplatBatch {
    /// The asset's geometry/SH/motion bind group.
    pub asset_bind_group: BindGroup,
    /// The entity's edit flags (group 3; a placeholder without edits).
    pub edits_bind_group: BindGroup,
    /// Dynamic offset of the entity's uniform.
    pub uniform_offset: u32,
    /// Number of splats.
    pub count: u32,
}

/// Bytes a view's buffers hold per splat slot: the projected splat and the
/// sort's keys and values with their ping-pong copies (the buffers are
/// allocated with a quarter of headroom when they grow).
pub const VIEW_BYTES_PER_SPLAT: u64 = size_of::<ProjectedSplatGpu>() as u64 + 4 * 4;

/// What the view's sorted splats were computed from: when a frame matches
/// the last sorted one (no camera, entity, setting, time or asset changed),
/// the preprocess and sort are skipped and last frame's order is drawn again.
#[derive(Clone, Debug, PartialEq)]
struct SortedFrame {
    view: SplatViewUniform,
    entities: Vec<SplatEntityUniform>,
    crops: Vec<CropVolumeGpu>,
    assets: Vec<BindGroupId>,
}

/// Persistent buffers of a view, grown as needed.
#[derive(Component)]
pub struct SplatViewBuffers {
    capacity: u32,
    /// The inputs of the last preprocess and sort recorded for this view.
    last: Option<SortedFrame>,
    /// Set by the splat pass once it has recorded that preprocess and sort
    /// (a frame skipped while pipelines compile leaves it unset).
    sorted: Arc<AtomicBool>,
    view_uniform: UniformBuffer<SplatViewUniform>,
    entity_uniforms: DynamicUniformBuffer<SplatEntityUniform>,
    /// Every entity's crop volumes (one unused entry when there are none: a
    /// binding is never empty).
    crops: RawBufferVec<CropVolumeGpu>,
    projected: Buffer,
    draw_args: Buffer,
    sort: GpuRadixSort,
}

impl SplatViewBuffers {
    fn new(device: &RenderDevice, sort_layouts: &SortLayouts, capacity: u32) -> Self {
        let buffer = |label: &str, size: u64, usage: BufferUsages| create_buffer(device, label, size, usage);
        let mut view_uniform = UniformBuffer::default();
        view_uniform.set_label(Some("bevy_radiance:view:uniform"));
        let mut entity_uniforms = DynamicUniformBuffer::default();
        entity_uniforms.set_label(Some("bevy_radiance:view:entity_uniforms"));
        let mut crops = RawBufferVec::new(BufferUsages::STORAGE);
        crops.set_label(Some("bevy_radiance:view:crops"));
        Self {
            capacity,
            last: None,
            sorted: Arc::default(),
            view_uniform,
            entity_uniforms,
            crops,
            projected: buffer(
                "bevy_radiance:view:projected",
                size_of::<ProjectedSplatGpu>() as u64 * capacity as u64,
                BufferUsages::STORAGE,
            ),
            draw_args: buffer(
                "bevy_radiance:view:draw_args",
                size_of::<SplatDrawArgs>() as u64,
                BufferUsages::STORAGE | BufferUsages::INDIRECT | BufferUsages::COPY_DST | BufferUsages::COPY_SRC,
            ),
            sort: GpuRadixSort::new(device, sort_layouts, capacity),
        }
    }
}

impl SplatViewBuffers {
    /// The view's buffers (projected splats, draw arguments, uniforms, sort).
    pub fn memory(&self) -> GpuMemoryUsage {
        let uniforms =
            [self.view_uniform.buffer(), self.entity_uniforms.buffer(), self.crops.buffer()].into_iter().flatten();
        self.sort.memory() + GpuMemoryUsage::of_buffers([&self.projected, &self.draw_args].into_iter().chain(uniforms))
    }
}

/// Everything the splat pass needs for a view this frame. Present only on views
/// that see at least one splat.
#[derive(Component)]
pub struct SplatViewResources {
    /// Nothing changed since the last sorted frame: the pass draws its order
    /// again without the preprocess and the sort.
    pub reuse_sorted: bool,
    /// Set once the pass has recorded the preprocess and sort of this frame.
    pub sorted: Arc<AtomicBool>,
    /// One preprocess dispatch per entity.
    pub batches: Vec<SplatBatch>,
    /// Preprocess group 0 (view + entity uniforms).
    pub preprocess_view_bind_group: BindGroup,
    /// Preprocess group 2 (outputs).
    pub preprocess_output_bind_group: BindGroup,
    /// Raster group 0.
    pub raster_bind_group: BindGroup,
    /// The view's sort (its keys and values are the preprocess outputs).
    pub sort: GpuRadixSort,
    /// The indirect draw arguments (instance count = visible splats).
    pub draw_args: Buffer,
    /// Splat layer (multisampled when the view is).
    pub layer: CachedTexture,
    /// Resolve target of the layer when multisampled.
    pub layer_resolve: Option<CachedTexture>,
    /// Raster pipeline.
    pub raster_pipeline: CachedRenderPipelineId,
    /// Composite pipeline.
    pub composite_pipeline: CachedRenderPipelineId,
    /// Camera viewport (x, y, width, height) in physical pixels.
    pub viewport: UVec4,
}

impl SplatViewResources {
    /// The view's layer textures (the buffers belong to [`SplatViewBuffers`]).
    pub fn memory(&self) -> GpuMemoryUsage {
        let mut usage = GpuMemoryUsage::default();
        for layer in std::iter::once(&self.layer).chain(&self.layer_resolve) {
            usage.add_texture(&layer.texture);
        }
        usage
    }

    /// The resolved splat layer.
    pub fn layer_view(&self) -> &bevy::render::render_resource::TextureView {
        &self.layer_resolve.as_ref().unwrap_or(&self.layer).default_view
    }
}

/// Builds [`SplatViewResources`] for every camera view that sees splats.
#[expect(clippy::too_many_arguments, clippy::type_complexity, reason = "a Bevy system")]
pub fn prepare_splat_views(
    mut commands: Commands,
    device: Res<RenderDevice>,
    queue: Res<RenderQueue>,
    pipeline_cache: Res<PipelineCache>,
    pipelines: Res<SplatPipelines>,
    sort_pipelines: Res<RadixSortPipelines>,
    composite: Res<CompositePipeline>,
    mut raster_variants: ResMut<SpecializedRenderPipelines<SplatPipelines>>,
    mut composite_variants: ResMut<SpecializedRenderPipelines<CompositePipeline>>,
    extracted: Res<ExtractedSplats>,
    assets: Res<RenderAssets<GpuGaussianSplats>>,
    edits: Res<SplatEditBuffers>,
    mut texture_cache: ResMut<TextureCache>,
    mut views: Query<(
        Entity,
        &ExtractedView,
        &ExtractedCamera,
        &ViewTarget,
        &Msaa,
        Option<&ViewRenderLayers>,
        Option<&mut SplatViewBuffers>,
    )>,
) {
    let no_edits = edits.empty();
    for (entity, view, camera, target, msaa, layers, existing) in &mut views {
        let (Some(target_size), Some(viewport_size)) = (camera.physical_target_size, camera.physical_viewport_size)
        else {
            continue;
        };
        if view.clip_from_view.w_axis.w == 1.0 {
            warn_once!("bevy_radiance: splats are rendered by perspective cameras only; an orthographic camera sees none");
            commands.entity(entity).remove::<(SplatViewResources, SplatViewBuffers)>();
            continue;
        }
        let origin = camera.viewport.as_ref().map_or(UVec2::ZERO, |v| v.physical_position);
        let camera_layers = layers.map(|l| l.0.clone()).unwrap_or_default();
        let splat_view = camera_view(view, viewport_size);
        let camera_position = splat_view.world_position();

        // Lay every visible entity's splats out one after another.
        let mut entity_uniforms = Vec::new();
        let mut crops = Vec::new();
        let mut batch_assets = Vec::new();
        let mut batch_edits = Vec::new();
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
            let entity_edits = edits.get(item.main_entity);
            let Some(edits_bind_group) = entity_edits.or(no_edits) else {
                continue;
            };
            entity_uniforms.push(SplatEntityUniform {
                world_from_local: item.world_from_local,
                camera_local: camera_local.extend(1.0),
                offset: total,
                count: gpu.count,
                sh_degree: item.params.sh_degree.min(gpu.sh_degree) as u32,
                sh_rest_bytes: sh_rest_bytes(gpu.sh_degree),
                opacity_scale: item.params.opacity_scale,
                scale_factor: item.params.scale_factor,
                motion_kind: gpu.motion_kind,
                model_time: gpu.model_time(item.time_seconds),
                crop: UVec4::new(crops.len() as u32, item.crop.len() as u32, entity_edits.is_some() as u32, 0),
            });
            crops.extend(item.crop.iter().map(CropVolumeGpu::new));
            batch_assets.push(gpu.bind_group.clone());
            batch_edits.push(edits_bind_group.clone());
            total = new_total;
        }
        if total == 0 {
            // Nothing to draw: the view's buffers go too (they are sized for
            // what it saw, and come back when splats do).
            commands.entity(entity).remove::<(SplatViewResources, SplatViewBuffers)>();
            continue;
        }

        // Reuse the view's buffers while they are large enough.
        let mut grown = None;
        let buffers = match existing {
            Some(buffers) if buffers.capacity >= total => buffers.into_inner(),
            _ => {
                let capacity = total.saturating_add(total / 4);
                let projected_bytes = size_of::<ProjectedSplatGpu>() as u64 * capacity as u64;
                let limit = device.limits().max_storage_buffer_binding_size;
                if projected_bytes > limit {
                    warn_once!(
                        "bevy_radiance: {total} splats in one view need {projected_bytes} bytes of projected splats, above this adapter's {limit}-byte storage binding limit; the view draws no splats"
                    );
                    commands.entity(entity).remove::<SplatViewResources>();
                    continue;
                }
                let sort_layouts = sort_pipelines.bind_group_layouts(&pipeline_cache);
                grown.insert(SplatViewBuffers::new(&device, &sort_layouts, capacity))
            }
        };

        // Uniforms and per-frame resets.
        let k = splat_view.intrinsics();
        let view_uniform = SplatViewUniform {
            view_from_world: splat_view.view_from_world,
            clip_from_view: splat_view.clip_from_view,
            camera_position: camera_position.extend(1.0),
            viewport: Vec4::new(origin.x as f32, origin.y as f32, viewport_size.x as f32, viewport_size.y as f32),
            intrinsics: Vec4::new(k.fx, k.fy, k.cx, k.cy),
        };
        let frame = SortedFrame {
            view: view_uniform,
            entities: entity_uniforms.clone(),
            crops: crops.clone(),
            assets: batch_assets.iter().chain(&batch_edits).map(BindGroup::id).collect(),
        };
        let reuse_sorted =
            buffers.sorted.load(Ordering::Acquire) && buffers.last.as_ref() == Some(&frame);
        buffers.last = Some(frame);
        buffers.view_uniform.set(view_uniform);
        buffers.view_uniform.write_buffer(&device, &queue);
        buffers.entity_uniforms.clear();
        let offsets: Vec<u32> = entity_uniforms.iter().map(|u| buffers.entity_uniforms.push(u)).collect();
        buffers.entity_uniforms.write_buffer(&device, &queue);
        buffers.crops.clear();
        if crops.is_empty() {
            crops.push(CropVolumeGpu::default());
        }
        buffers.crops.extend(crops);
        buffers.crops.write_buffer(&device, &queue);
        if !reuse_sorted {
            buffers.sorted.store(false, Ordering::Release);
            queue.write_buffer(&buffers.draw_args, 0, bytemuck::bytes_of(&SplatDrawArgs::RESET));
            // The sort's capacity; the pass copies the visible count over `n`.
            buffers.sort.write_count(&queue, total);
        }

        // Pipeline variants and the layer.
        let samples = msaa.samples();
        let raster_pipeline = raster_variants.specialize(&pipeline_cache, &pipelines, RasterKey { samples });
        if target.compositing_space == Some(CompositingSpace::Oklab) {
            warn_once!("bevy_radiance: Oklab compositing is not supported; captures are composited as if the main texture were linear");
        }
        let composite_pipeline = composite_variants.specialize(
            &pipeline_cache,
            &composite,
            CompositeKey {
                format: target.main_texture_format(),
                linear: target.compositing_space != Some(CompositingSpace::Srgb),
                upsample: false,
            },
        );
        let layer = layer_texture(&mut texture_cache, &device, "bevy_radiance:splat_layer", target_size, samples);
        let layer_resolve = (samples > 1)
            .then(|| layer_texture(&mut texture_cache, &device, "bevy_radiance:splat_layer_resolve", target_size, 1));

        // Bind groups.
        let (Some(view_binding), Some(entity_binding), Some(crops_binding)) =
            (buffers.view_uniform.binding(), buffers.entity_uniforms.binding(), buffers.crops.binding())
        else {
            continue;
        };
        let preprocess_view_bind_group = device.create_bind_group(
            "bevy_radiance:preprocess:view_bind_group",
            &pipeline_cache.get_bind_group_layout(&pipelines.view_layout),
            &BindGroupEntries::sequential((view_binding.clone(), entity_binding, crops_binding)),
        );
        let preprocess_output_bind_group = device.create_bind_group(
            "bevy_radiance:preprocess:output_bind_group",
            &pipeline_cache.get_bind_group_layout(&pipelines.output_layout),
            &BindGroupEntries::sequential((
                buffers.projected.as_entire_binding(),
                buffers.sort.keys().as_entire_binding(),
                buffers.sort.values().as_entire_binding(),
                buffers.draw_args.as_entire_binding(),
            )),
        );
        let raster_bind_group = device.create_bind_group(
            "bevy_radiance:raster:bind_group",
            &pipeline_cache.get_bind_group_layout(&pipelines.raster_layout),
            &BindGroupEntries::sequential((
                view_binding,
                buffers.projected.as_entire_binding(),
                buffers.sort.values().as_entire_binding(),
            )),
        );
        let batches = batch_assets
            .into_iter()
            .zip(batch_edits)
            .zip(&entity_uniforms)
            .zip(offsets)
            .map(|(((asset_bind_group, edits_bind_group), u), uniform_offset)| SplatBatch {
                asset_bind_group,
                edits_bind_group,
                uniform_offset,
                count: u.count,
            })
            .collect();
        let resources = SplatViewResources {
            reuse_sorted,
            sorted: buffers.sorted.clone(),
            batches,
            preprocess_view_bind_group,
            preprocess_output_bind_group,
            raster_bind_group,
            sort: buffers.sort.clone(),
            draw_args: buffers.draw_args.clone(),
            layer,
            layer_resolve,
            raster_pipeline,
            composite_pipeline,
            viewport: UVec4::new(origin.x, origin.y, viewport_size.x, viewport_size.y),
        };
        let mut commands = commands.entity(entity);
        commands.insert(resources);
        if let Some(buffers) = grown {
            commands.insert(buffers);
        }
    }
}

/// Measures the splat renderer's GPU memory (uploaded assets; per-view
/// buffers and layers) into [`SharedMemoryStats`].
pub fn measure_splat_memory(
    shared: Res<SharedMemoryStats>,
    assets: Res<RenderAssets<GpuGaussianSplats>>,
    edits: Res<SplatEditBuffers>,
    views: Query<(Option<&SplatViewBuffers>, Option<&SplatViewResources>)>,
) {
    let splat_assets = assets.iter().map(|(_, asset)| asset.memory()).sum::<GpuMemoryUsage>() + edits.memory();
    let splat_views = views
        .iter()
        .flat_map(|(buffers, resources)| [buffers.map(SplatViewBuffers::memory), resources.map(SplatViewResources::memory)])
        .flatten()
        .sum();
    shared.update(|stats| {
        stats.splat_assets = splat_assets;
        stats.splat_views = splat_views;
    });
}
