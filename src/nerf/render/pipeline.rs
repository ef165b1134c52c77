//! Pipelines of the radiance-field pass: a fullscreen fragment ray marcher per
//! field, blended front to back ("under") into the view's field layer.

use bevy::platform::collections::HashMap;
use bevy::prelude::*;
use bevy::render::render_resource::{
    BindGroupLayout, BindGroupLayoutEntry, BindingType, BlendComponent, BlendFactor,
    BlendOperation, BlendState, BufferBindingType, ColorTargetState, ColorWrites,
    MultisampleState, PipelineLayout, PipelineLayoutDescriptor, PrimitiveState,
    RawFragmentState, RawRenderPipelineDescriptor, RawVertexState, RenderPipeline,
    ShaderModuleDescriptor, ShaderSource, ShaderStages, TextureSampleType,
    TextureViewDimension,
};
use bevy::render::renderer::RenderDevice;

use super::codegen::{self, FieldArch};
use crate::shader;
use crate::splat::render::pipeline::SPLAT_LAYER_FORMAT;

/// Ray-march pipeline variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MarchKey {
    /// Whether the view's depth texture is multisampled.
    pub multisampled_depth: bool,
    /// The field's network shapes (the network code is generated for them).
    pub arch: FieldArch,
    /// Additive blending (cross-fades) instead of "under".
    pub additive: bool,
}

/// Layouts and pipelines of the radiance-field pass.
#[derive(Resource)]
pub struct NerfPipelines {
    /// Group 0: view uniform and depth textures (single and multisampled variants).
    pub view_layouts: HashMap<bool, BindGroupLayout>,
    /// Group 1: field uniform (dynamic offset), grid parameters, weights, occupancy.
    pub field_layout: BindGroupLayout,
    pipeline_layouts: HashMap<bool, PipelineLayout>,
    pipelines: HashMap<MarchKey, RenderPipeline>,
}

fn buffer_entry(binding: u32, ty: BufferBindingType, dynamic: bool) -> BindGroupLayoutEntry {
    BindGroupLayoutEntry {
        binding,
        visibility: ShaderStages::FRAGMENT,
        ty: BindingType::Buffer {
            ty,
            has_dynamic_offset: dynamic,
            min_binding_size: None,
        },
        count: None,
    }
}

impl NerfPipelines {
    /// Creates the layouts.
    pub fn new(device: &RenderDevice) -> Self {
        let view_layouts: HashMap<bool, BindGroupLayout> = [false, true]
            .into_iter()
            .map(|multisampled| {
                let layout = device.create_bind_group_layout(
                    "bevy_radiance:nerf:view_layout",
                    &[
                        buffer_entry(0, BufferBindingType::Uniform, false),
                        BindGroupLayoutEntry {
                            binding: 1,
                            visibility: ShaderStages::FRAGMENT,
                            ty: BindingType::Texture {
                                sample_type: TextureSampleType::Depth,
                                view_dimension: TextureViewDimension::D2,
                                multisampled,
                            },
                            count: None,
                        },
                    ],
                );
                (multisampled, layout)
            })
            .collect();
        let read_only = BufferBindingType::Storage { read_only: true };
        let field_layout = device.create_bind_group_layout(
            "bevy_radiance:nerf:field_layout",
            &[
                buffer_entry(0, BufferBindingType::Uniform, true),
                buffer_entry(1, read_only, false),
                buffer_entry(2, read_only, false),
                buffer_entry(3, read_only, false),
            ],
        );
        let pipeline_layouts = view_layouts
            .iter()
            .map(|(multisampled, view_layout)| {
                let layouts = [Some(&**view_layout), Some(&*field_layout)];
                let layout = device.create_pipeline_layout(&PipelineLayoutDescriptor {
                    label: Some("bevy_radiance:nerf:pipeline_layout"),
                    bind_group_layouts: &layouts,
                    immediate_size: 0,
                });
                (*multisampled, layout)
            })
            .collect();
        Self {
            view_layouts,
            field_layout,
            pipeline_layouts,
            pipelines: HashMap::default(),
        }
    }

    /// Builds (once) the ray-march pipeline for `key`.
    pub fn prepare(&mut self, device: &RenderDevice, key: MarchKey) {
        if self.pipelines.contains_key(&key) {
            return;
        }
        let defs: &[&str] = if key.multisampled_depth { &["MULTISAMPLED_DEPTH"] } else { &[] };
        let module = device.create_and_validate_shader_module(ShaderModuleDescriptor {
            label: Some("bevy_radiance:nerf:shader"),
            source: ShaderSource::Wgsl(
                shader::compose(shader::NERF_MARCH, defs)
                    .replace("//@FIELD_NETWORK", &codegen::generate(&key.arch))
                    .into(),
            ),
        });
        // Fields are drawn nearest first; each adds what shows through the ones before.
        let under = BlendComponent {
            src_factor: BlendFactor::OneMinusDstAlpha,
            dst_factor: BlendFactor::One,
            operation: BlendOperation::Add,
        };
        let add = BlendComponent {
            src_factor: BlendFactor::One,
            dst_factor: BlendFactor::One,
            operation: BlendOperation::Add,
        };
        let blend = if key.additive { add } else { under };
        let pipeline = device.create_render_pipeline(&RawRenderPipelineDescriptor {
            label: Some("bevy_radiance:nerf:march"),
            layout: Some(&self.pipeline_layouts[&key.multisampled_depth]),
            vertex: RawVertexState {
                module: &module,
                entry_point: Some("vertex"),
                compilation_options: Default::default(),
                buffers: &[],
            },
            primitive: PrimitiveState::default(),
            depth_stencil: None,
            multisample: MultisampleState::default(),
            fragment: Some(RawFragmentState {
                module: &module,
                entry_point: Some("fragment"),
                compilation_options: Default::default(),
                targets: &[Some(ColorTargetState {
                    format: SPLAT_LAYER_FORMAT,
                    blend: Some(BlendState { color: blend, alpha: blend }),
                    write_mask: ColorWrites::ALL,
                })],
            }),
            multiview_mask: None,
            cache: None,
        });
        self.pipelines.insert(key, pipeline);
    }

    /// The pipeline for `key`, if prepared.
    pub fn get(&self, key: MarchKey) -> Option<&RenderPipeline> {
        self.pipelines.get(&key)
    }
}

/// `RenderStartup` system creating [`NerfPipelines`].
pub fn init_nerf_pipelines(mut commands: Commands, device: Res<RenderDevice>) {
    commands.insert_resource(NerfPipelines::new(&device));
}
