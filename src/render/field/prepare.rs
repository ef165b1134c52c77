//! Per-view resources of the radiance-field pass: uniforms in persistent
//! per-view buffers, bind groups, pipeline variants and the field layer.

use bevy::camera::CompositingSpace;
use bevy::prelude::*;
use bevy::render::camera::ExtractedCamera;
use bevy::render::render_asset::RenderAssets;
use bevy::render::render_resource::{
    BindGroup, BindGroupEntries, Buffer, CachedRenderPipelineId, DynamicUniformBuffer, PipelineCache,
    SpecializedRenderPipelines, UniformBuffer,
};
use bevy::render::renderer::{RenderDevice, RenderQueue};
use bevy::render::texture::{CachedTexture, TextureCache};
use bevy::render::view::{ExtractedView, Msaa, ViewDepthTexture, ViewTarget};

use super::extract::ExtractedFields;
use super::gpu_asset::GpuRadianceField;
use super::gpu_types::{FieldUniform, FieldViewUniform};
use super::pipeline::{MarchKey, RadianceFieldPipelines};
use crate::field::field_layer_size;
use crate::render::composite::{CompositeKey, CompositePipeline, LayerRectUniform};
use crate::render::memory::{GpuMemoryUsage, SharedMemoryStats};
use crate::render::layer::{ViewRenderLayers, camera_view, layer_texture};
use crate::scene::RadianceFieldCamera;

/// One field's draw.
pub struct FieldDraw {
    /// Its pipeline.
    pub pipeline: CachedRenderPipelineId,
    /// Group 1 of the field.
    pub bind_group: BindGroup,
    /// Dynamic offset of its uniform.
    pub uniform_offset: u32,
    /// The layer pixels its render box can cover (the pass's scissor).
    pub scissor: URect,
}

/// The pixels of a `layer_size` layer that a field's render box can cover,
/// seen through `clip_from_world`: the bounds of its eight projected corners
/// (plus a pixel), the whole layer when the box straddles the camera plane,
/// `None` when it is entirely behind the camera or off screen.
pub fn field_scissor(uniform: &FieldUniform, clip_from_world: Mat4, layer_size: UVec2) -> Option<URect> {
    let world_from_unit = uniform.unit_from_world.inverse();
    let local_to_render = Mat3::from_cols(
        uniform.render_to_local[0].truncate(),
        uniform.render_to_local[1].truncate(),
        uniform.render_to_local[2].truncate(),
    )
    .transpose();
    let (lo, hi) = (uniform.render_min.truncate(), uniform.render_max.truncate());
    let full = URect::from_corners(UVec2::ZERO, layer_size);
    let (mut min, mut max) = (Vec2::MAX, Vec2::MIN);
    let mut behind = 0;
    for i in 0..8 {
        let corner = Vec3::select(BVec3::new(i & 1 != 0, i & 2 != 0, i & 4 != 0), hi, lo);
        let clip = clip_from_world * world_from_unit * (local_to_render * corner).extend(1.0);
        if !clip.is_finite() {
            return Some(full);
        }
        if clip.w <= 1e-6 {
            behind += 1;
            continue;
        }
        let ndc = clip.truncate().truncate() / clip.w;
        let pixel = Vec2::new(ndc.x * 0.5 + 0.5, 0.5 - ndc.y * 0.5) * layer_size.as_vec2();
        min = min.min(pixel);
        max = max.max(pixel);
    }
    match behind {
        8 => None,
        0 => {
            let min = (min - 1.0).floor().clamp(Vec2::ZERO, layer_size.as_vec2()).as_uvec2();
            let max = (max + 1.0).ceil().clamp(Vec2::ZERO, layer_size.as_vec2()).as_uvec2();
            (max.x > min.x && max.y > min.y).then(|| URect::from_corners(min, max))
        }
        _ => Some(full),
    }
}

/// Uniform buffers of a view, kept across frames and rewritten in place.
#[derive(Component)]
pub struct FieldViewBuffers {
    view: UniformBuffer<FieldViewUniform>,
    fields: DynamicUniformBuffer<FieldUniform>,
    layer_rect: UniformBuffer<LayerRectUniform>,
}

impl Default for FieldViewBuffers {
    fn default() -> Self {
        let mut buffers = Self {
            view: UniformBuffer::default(),
            fields: DynamicUniformBuffer::default(),
            layer_rect: UniformBuffer::default(),
        };
        buffers.view.set_label(Some("bevy_radiance:field:view_uniform"));
        buffers.fields.set_label(Some("bevy_radiance:field:field_uniforms"));
        buffers.layer_rect.set_label(Some("bevy_radiance:field:layer_rect"));
        buffers
    }
}

impl FieldViewBuffers {
    /// The view's uniform buffers.
    pub fn memory(&self) -> GpuMemoryUsage {
        GpuMemoryUsage::of_buffers([self.view.buffer(), self.fields.buffer(), self.layer_rect.buffer()].into_iter().flatten())
    }
}

/// Everything the field pass needs for a view this frame; present only on views
/// that see at least one field.
#[derive(Component)]
pub struct RadianceFieldViewResources {
    /// Group 0.
    pub view_bind_group: BindGroup,
    /// Fields, nearest first.
    pub draws: Vec<FieldDraw>,
    /// The field layer.
    pub layer: CachedTexture,
    /// Composite pipeline.
    pub composite_pipeline: CachedRenderPipelineId,
    /// Where the layer lies in the main texture ([`LayerRectUniform`]).
    pub layer_rect: Buffer,
}

/// Builds [`RadianceFieldViewResources`] for every camera view that sees a field.
#[expect(clippy::too_many_arguments, clippy::type_complexity, reason = "a Bevy system")]
pub fn prepare_field_views(
    mut commands: Commands,
    device: Res<RenderDevice>,
    queue: Res<RenderQueue>,
    mut pipeline_cache: ResMut<PipelineCache>,
    mut pipelines: ResMut<RadianceFieldPipelines>,
    composite: Res<CompositePipeline>,
    mut march_variants: ResMut<SpecializedRenderPipelines<RadianceFieldPipelines>>,
    mut composite_variants: ResMut<SpecializedRenderPipelines<CompositePipeline>>,
    extracted: Res<ExtractedFields>,
    assets: Res<RenderAssets<GpuRadianceField>>,
    mut texture_cache: ResMut<TextureCache>,
    mut views: Query<(
        Entity,
        &ExtractedView,
        &ExtractedCamera,
        &ViewTarget,
        &ViewDepthTexture,
        &Msaa,
        Option<&ViewRenderLayers>,
        Option<&RadianceFieldCamera>,
        Option<&mut FieldViewBuffers>,
    )>,
) {
    for (entity, view, camera, target, depth, msaa, layers, field_camera, buffers) in &mut views {
        let Some(viewport_size) = camera.physical_viewport_size else {
            continue;
        };
        let render_scale = field_camera.map_or(1.0, |c| c.render_scale);
        let layer_size = field_layer_size(viewport_size, render_scale);
        let camera_layers = layers.map(|l| l.0.clone()).unwrap_or_default();
        let cv = camera_view(view, viewport_size);
        let camera_position = cv.world_position();
        let clip_from_world = view.clip_from_view * view.world_from_view.to_matrix().inverse();
        let mut fields: Vec<(f32, &GpuRadianceField, FieldUniform, bool, URect)> = extracted
            .0
            .iter()
            .filter(|f| f.layers.intersects(&camera_layers))
            .filter_map(|f| {
                let gpu = assets.get(f.asset).filter(|g| g.buffers.is_some())?;
                let uniform = gpu.uniform(f.world_from_local, &f.settings);
                // A field out of sight costs nothing; one in sight, only its pixels.
                let scissor = field_scissor(&uniform, clip_from_world, layer_size)?;
                let distance = f.world_from_local.w_axis.truncate().distance(camera_position);
                Some((distance, gpu, uniform, f.settings.additive, scissor))
            })
            .collect();
        if fields.is_empty() || view.clip_from_view.w_axis.w == 1.0 {
            commands.entity(entity).remove::<(RadianceFieldViewResources, FieldViewBuffers)>();
            continue;
        }
        fields.sort_by(|a, b| a.0.total_cmp(&b.0));

        let mut created = None;
        let buffers = match buffers {
            Some(buffers) => buffers.into_inner(),
            None => created.insert(FieldViewBuffers::default()),
        };
        let origin = camera.viewport.as_ref().map_or(UVec2::ZERO, |v| v.physical_position);
        let viewport = Vec4::new(origin.x as f32, origin.y as f32, viewport_size.x as f32, viewport_size.y as f32);
        let k = cv.intrinsics();
        buffers.view.set(FieldViewUniform {
            world_from_view: view.world_from_view.to_matrix(),
            view_from_clip: view.clip_from_view.inverse(),
            camera_position: camera_position.extend(1.0),
            viewport,
            intrinsics: Vec4::new(k.fx, k.fy, k.cx, k.cy),
            layer_ratio: (viewport_size.as_vec2() / layer_size.as_vec2()).extend(0.0).extend(0.0),
        });
        buffers.view.write_buffer(&device, &queue);
        buffers.layer_rect.set(LayerRectUniform {
            viewport,
            layer: Vec4::new(
                layer_size.x as f32,
                layer_size.y as f32,
                layer_size.x as f32 / viewport_size.x as f32,
                layer_size.y as f32 / viewport_size.y as f32,
            ),
        });
        buffers.layer_rect.write_buffer(&device, &queue);
        buffers.fields.clear();
        let offsets: Vec<u32> = fields.iter().map(|(_, _, u, _, _)| buffers.fields.push(u)).collect();
        buffers.fields.write_buffer(&device, &queue);

        let multisampled_depth = msaa.samples() > 1;
        let composite_pipeline = composite_variants.specialize(
            &pipeline_cache,
            &composite,
            CompositeKey {
                format: target.main_texture_format(),
                linear: target.compositing_space != Some(CompositingSpace::Srgb),
                upsample: true,
            },
        );
        let (Some(view_binding), Some(field_binding), Some(layer_rect)) =
            (buffers.view.binding(), buffers.fields.binding(), buffers.layer_rect.buffer().cloned())
        else {
            continue;
        };
        let view_bind_group = device.create_bind_group(
            "bevy_radiance:field:view_bind_group",
            &pipeline_cache.get_bind_group_layout(pipelines.view_layout(multisampled_depth)),
            &BindGroupEntries::sequential((view_binding, depth.view())),
        );
        let field_layout = pipeline_cache.get_bind_group_layout(&pipelines.field_layout);
        let mut draws = Vec::with_capacity(fields.len());
        for ((_, gpu, _, additive, scissor), uniform_offset) in fields.iter().zip(offsets) {
            let Some(field_buffers) = &gpu.buffers else {
                continue;
            };
            pipelines.register_network(&mut pipeline_cache, gpu.arch);
            let key = MarchKey { multisampled_depth, arch: gpu.arch, additive: *additive };
            draws.push(FieldDraw {
                pipeline: march_variants.specialize(&pipeline_cache, &pipelines, key),
                bind_group: device.create_bind_group(
                    "bevy_radiance:field:field_bind_group",
                    &field_layout,
                    &BindGroupEntries::sequential((
                        field_binding.clone(),
                        field_buffers.grid_params.as_entire_binding(),
                        &field_buffers.weights_view,
                        field_buffers.occupancy.as_entire_binding(),
                    )),
                ),
                uniform_offset,
                scissor: *scissor,
            });
        }
        let layer = layer_texture(&mut texture_cache, &device, "bevy_radiance:field_layer", layer_size, 1);
        let resources = RadianceFieldViewResources {
            view_bind_group,
            draws,
            layer,
            composite_pipeline,
            layer_rect,
        };
        let mut commands = commands.entity(entity);
        commands.insert(resources);
        if let Some(buffers) = created {
            commands.insert(buffers);
        }
    }
}

/// Measures the field renderer's GPU memory (uploaded fields; per-view
/// uniforms and layers) into [`SharedMemoryStats`].
pub fn measure_field_memory(
    shared: Res<SharedMemoryStats>,
    assets: Res<RenderAssets<GpuRadianceField>>,
    views: Query<(Option<&FieldViewBuffers>, Option<&RadianceFieldViewResources>)>,
) {
    let field_assets = assets.iter().map(|(_, asset)| asset.memory()).sum();
    let layer = |resources: &RadianceFieldViewResources| {
        let mut usage = GpuMemoryUsage::default();
        usage.add_texture(&resources.layer.texture);
        usage
    };
    let field_views = views
        .iter()
        .flat_map(|(buffers, resources)| [buffers.map(FieldViewBuffers::memory), resources.map(layer)])
        .flatten()
        .sum();
    shared.update(|stats| {
        stats.field_assets = field_assets;
        stats.field_views = field_views;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A unit-cube field at the origin, seen from +Z by a 90° camera.
    fn setup(camera_z: f32) -> (FieldUniform, Mat4) {
        let uniform = FieldUniform {
            unit_from_world: Mat4::from_translation(Vec3::splat(0.5)),
            render_to_local: [Vec4::X, Vec4::Y, Vec4::Z],
            render_min: Vec4::ZERO,
            render_max: Vec4::ONE,
            ..Default::default()
        };
        let view_from_world = Mat4::from_translation(Vec3::new(0.0, 0.0, -camera_z));
        let clip_from_view = Mat4::perspective_infinite_reverse_rh(std::f32::consts::FRAC_PI_2, 1.0, 0.1);
        (uniform, clip_from_view * view_from_world)
    }

    #[test]
    fn scissor_bounds_the_box_and_culls_what_is_out_of_sight() {
        let size = UVec2::new(100, 100);
        // In front: the box (±0.5 at 2.5..3.5 away) covers the middle of the layer.
        let (uniform, clip_from_world) = setup(3.0);
        let rect = field_scissor(&uniform, clip_from_world, size).expect("in sight");
        assert!(rect.min.x >= 30 && rect.max.x <= 70 && rect.min.y >= 30 && rect.max.y <= 70, "{rect:?}");
        // The near face, 2.5 away, spans ±0.2 in NDC: pixels 40..60, plus one.
        assert_eq!(rect, URect::new(39, 39, 62, 62));
        // Behind the camera: culled.
        let (uniform, clip_from_world) = setup(-3.0);
        assert_eq!(field_scissor(&uniform, clip_from_world, size), None);
        // The camera inside the box: the whole layer.
        let (uniform, clip_from_world) = setup(0.0);
        assert_eq!(field_scissor(&uniform, clip_from_world, size), Some(URect::from_corners(UVec2::ZERO, size)));
        // Off to the side: culled.
        let (mut uniform, clip_from_world) = setup(3.0);
        uniform.unit_from_world = Mat4::from_translation(Vec3::new(-20.0, 0.5, 0.5));
        assert_eq!(field_scissor(&uniform, clip_from_world, size), None);
    }
}
