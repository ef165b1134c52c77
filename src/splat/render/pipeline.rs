//! Pipelines of the splat passes, created once in `RenderStartup`; raster and
//! composite variants are built on first use for each [`RasterKey`] / [`CompositeKey`].

use bevy::platform::collections::HashMap;
use bevy::prelude::*;
use bevy::render::render_resource::{
    BindGroupLayout, BindGroupLayoutEntry, BindingType, BlendComponent, BlendFactor,
    BlendOperation, BlendState, BufferBindingType, ColorTargetState, ColorWrites, CompareFunction,
    ComputePipeline, RawComputePipelineDescriptor, DepthStencilState, RawFragmentState,
    MultisampleState, PipelineLayout, PipelineLayoutDescriptor, PrimitiveState,
    PrimitiveTopology, RawRenderPipelineDescriptor, RenderPipeline, ShaderModule,
    ShaderModuleDescriptor, ShaderSource, ShaderStages, TextureFormat, TextureSampleType,
    TextureViewDimension, RawVertexState,
};
use bevy::render::renderer::RenderDevice;

use crate::shader;
use crate::sort::RadixSortPipelines;

/// Format of the per-view splat accumulation texture.
pub const SPLAT_LAYER_FORMAT: TextureFormat = TextureFormat::Rgba16Float;
/// Format of Bevy's 3D depth textures.
pub const DEPTH_FORMAT: TextureFormat = TextureFormat::Depth32Float;

/// Raster pipeline variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RasterKey {
    /// MSAA sample count of the view (the splat layer matches the depth texture).
    pub samples: u32,
}

/// Composite pipeline variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CompositeKey {
    /// Format of the view's main texture.
    pub format: TextureFormat,
    /// Whether the main texture holds linear values (otherwise display values,
    /// as with Bevy's `CompositingSpace::Srgb`).
    pub linear: bool,
    /// Whether the layer covers only the viewport at a reduced resolution and
    /// is upsampled (the radiance-field layer); its bind group then also holds a
    /// [`LayerRectUniform`].
    pub upsample: bool,
}

/// Where an upsampled layer lies (`LayerRect` in `shaders/splat_composite.wgsl`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct LayerRectUniform {
    /// Viewport origin (x, y) and size (z, w) in main-texture pixels.
    pub viewport: Vec4,
    /// xy: layer size in pixels; zw: layer pixels per viewport pixel.
    pub layer: Vec4,
}

/// Every pipeline and layout of the splat renderer.
#[derive(Resource)]
pub struct SplatPipelines {
    /// Group 0 of the preprocess: view uniform, entity uniform (dynamic offset).
    pub preprocess_view_layout: BindGroupLayout,
    /// Group 1 of the preprocess: an asset's geometry, SH and motion buffers.
    pub asset_layout: BindGroupLayout,
    /// Group 2 of the preprocess: the view's projected splats, keys, values, draw arguments.
    pub preprocess_output_layout: BindGroupLayout,
    /// The preprocess compute pipeline.
    pub preprocess: ComputePipeline,
    /// Group 0 of the raster pass.
    pub raster_layout: BindGroupLayout,
    /// Group 0 of the composite pass.
    pub composite_layout: BindGroupLayout,
    /// Group 0 of the upsampling composite pass (plus a [`LayerRectUniform`]).
    pub composite_upsample_layout: BindGroupLayout,
    /// The radix sort's kernels.
    pub sort: RadixSortPipelines,
    raster_module: ShaderModule,
    raster_pipeline_layout: PipelineLayout,
    composite_pipeline_layouts: HashMap<bool, PipelineLayout>,
    composite_modules: HashMap<(bool, bool), ShaderModule>,
    raster: HashMap<RasterKey, RenderPipeline>,
    composite: HashMap<CompositeKey, RenderPipeline>,
}

fn buffer_entry(binding: u32, visibility: ShaderStages, ty: BufferBindingType, dynamic: bool) -> BindGroupLayoutEntry {
    BindGroupLayoutEntry {
        binding,
        visibility,
        ty: BindingType::Buffer {
            ty,
            has_dynamic_offset: dynamic,
            min_binding_size: None,
        },
        count: None,
    }
}

fn texture_entry(binding: u32) -> BindGroupLayoutEntry {
    BindGroupLayoutEntry {
        binding,
        visibility: ShaderStages::FRAGMENT,
        ty: BindingType::Texture {
            sample_type: TextureSampleType::Float { filterable: false },
            view_dimension: TextureViewDimension::D2,
            multisampled: false,
        },
        count: None,
    }
}

fn module(device: &RenderDevice, label: &str, source: &str, defs: &[&str]) -> ShaderModule {
    device.create_and_validate_shader_module(ShaderModuleDescriptor {
        label: Some(label),
        source: ShaderSource::Wgsl(shader::compose(source, defs).into()),
    })
}

fn pipeline_layout(device: &RenderDevice, label: &str, layouts: &[&BindGroupLayout]) -> PipelineLayout {
    let layouts: Vec<Option<&wgpu::BindGroupLayout>> =
        layouts.iter().map(|l| Some(&***l)).collect();
    device.create_pipeline_layout(&PipelineLayoutDescriptor {
        label: Some(label),
        bind_group_layouts: &layouts,
        immediate_size: 0,
    })
}

impl SplatPipelines {
    /// Creates the layouts, the preprocess pipeline and the sort kernels.
    pub fn new(device: &RenderDevice) -> Self {
        use BufferBindingType::{Storage, Uniform};
        let c = ShaderStages::COMPUTE;
        let preprocess_view_layout = device.create_bind_group_layout(
            "bevy_radiance:preprocess:view_layout",
            &[buffer_entry(0, c, Uniform, false), buffer_entry(1, c, Uniform, true)],
        );
        let asset_layout = device.create_bind_group_layout(
            "bevy_radiance:preprocess:asset_layout",
            &[
                buffer_entry(0, c, Storage { read_only: true }, false),
                buffer_entry(1, c, Storage { read_only: true }, false),
                buffer_entry(2, c, Storage { read_only: true }, false),
            ],
        );
        let rw = Storage { read_only: false };
        let preprocess_output_layout = device.create_bind_group_layout(
            "bevy_radiance:preprocess:output_layout",
            &[
                buffer_entry(0, c, rw, false),
                buffer_entry(1, c, rw, false),
                buffer_entry(2, c, rw, false),
                buffer_entry(3, c, rw, false),
            ],
        );
        let preprocess_module = module(device, "bevy_radiance:preprocess:shader", shader::SPLAT_PREPROCESS, &[]);
        let preprocess_layout = pipeline_layout(
            device,
            "bevy_radiance:preprocess:pipeline_layout",
            &[&preprocess_view_layout, &asset_layout, &preprocess_output_layout],
        );
        let preprocess = device.create_compute_pipeline(&RawComputePipelineDescriptor {
            label: Some("bevy_radiance:preprocess"),
            layout: Some(&preprocess_layout),
            module: &preprocess_module,
            entry_point: Some("preprocess"),
            compilation_options: Default::default(),
            cache: None,
        });

        let vf = ShaderStages::VERTEX | ShaderStages::FRAGMENT;
        let raster_layout = device.create_bind_group_layout(
            "bevy_radiance:raster:layout",
            &[
                buffer_entry(0, vf, Uniform, false),
                buffer_entry(1, ShaderStages::VERTEX, Storage { read_only: true }, false),
                buffer_entry(2, ShaderStages::VERTEX, Storage { read_only: true }, false),
            ],
        );
        let raster_module = module(device, "bevy_radiance:raster:shader", shader::SPLAT_RASTER, &[]);
        let raster_pipeline_layout = pipeline_layout(device, "bevy_radiance:raster:pipeline_layout", &[&raster_layout]);

        let composite_layout = device.create_bind_group_layout(
            "bevy_radiance:composite:layout",
            &[texture_entry(0), texture_entry(1)],
        );
        let composite_upsample_layout = device.create_bind_group_layout(
            "bevy_radiance:composite:upsample_layout",
            &[texture_entry(0), texture_entry(1), buffer_entry(2, ShaderStages::FRAGMENT, Uniform, false)],
        );
        let composite_pipeline_layouts = HashMap::from_iter([
            (false, pipeline_layout(device, "bevy_radiance:composite:pipeline_layout", &[&composite_layout])),
            (
                true,
                pipeline_layout(device, "bevy_radiance:composite:upsample_pipeline_layout", &[&composite_upsample_layout]),
            ),
        ]);
        let mut composite_modules = HashMap::default();
        for linear in [false, true] {
            for upsample in [false, true] {
                let defs: Vec<&str> = [(linear, "MAIN_TEXTURE_LINEAR"), (upsample, "UPSAMPLE")]
                    .into_iter()
                    .filter_map(|(on, def)| on.then_some(def))
                    .collect();
                let shader = module(device, "bevy_radiance:composite:shader", shader::SPLAT_COMPOSITE, &defs);
                composite_modules.insert((linear, upsample), shader);
            }
        }

        Self {
            preprocess_view_layout,
            asset_layout,
            preprocess_output_layout,
            preprocess,
            raster_layout,
            composite_layout,
            composite_upsample_layout,
            sort: RadixSortPipelines::new(device),
            raster_module,
            raster_pipeline_layout,
            composite_pipeline_layouts,
            composite_modules,
            raster: HashMap::default(),
            composite: HashMap::default(),
        }
    }

    /// Builds (once) the raster pipeline for `key`.
    pub fn prepare_raster(&mut self, device: &RenderDevice, key: RasterKey) {
        if self.raster.contains_key(&key) {
            return;
        }
        let premultiplied = BlendComponent {
            src_factor: BlendFactor::One,
            dst_factor: BlendFactor::OneMinusSrcAlpha,
            operation: BlendOperation::Add,
        };
        let pipeline = device.create_render_pipeline(&RawRenderPipelineDescriptor {
            label: Some("bevy_radiance:raster"),
            layout: Some(&self.raster_pipeline_layout),
            vertex: RawVertexState {
                module: &self.raster_module,
                entry_point: Some("vertex"),
                compilation_options: Default::default(),
                buffers: &[],
            },
            primitive: PrimitiveState {
                topology: PrimitiveTopology::TriangleStrip,
                ..default()
            },
            depth_stencil: Some(DepthStencilState {
                format: DEPTH_FORMAT,
                depth_write_enabled: Some(false),
                depth_compare: Some(CompareFunction::GreaterEqual),
                stencil: default(),
                bias: default(),
            }),
            multisample: MultisampleState {
                count: key.samples,
                ..default()
            },
            fragment: Some(RawFragmentState {
                module: &self.raster_module,
                entry_point: Some("fragment"),
                compilation_options: Default::default(),
                targets: &[Some(ColorTargetState {
                    format: SPLAT_LAYER_FORMAT,
                    blend: Some(BlendState {
                        color: premultiplied,
                        alpha: premultiplied,
                    }),
                    write_mask: ColorWrites::ALL,
                })],
            }),
            multiview_mask: None,
            cache: None,
        });
        self.raster.insert(key, pipeline);
    }

    /// Builds (once) the composite pipeline for `key`.
    pub fn prepare_composite(&mut self, device: &RenderDevice, key: CompositeKey) {
        if self.composite.contains_key(&key) {
            return;
        }
        let module = &self.composite_modules[&(key.linear, key.upsample)];
        let pipeline = device.create_render_pipeline(&RawRenderPipelineDescriptor {
            label: Some("bevy_radiance:composite"),
            layout: Some(&self.composite_pipeline_layouts[&key.upsample]),
            vertex: RawVertexState {
                module,
                entry_point: Some("vertex"),
                compilation_options: Default::default(),
                buffers: &[],
            },
            primitive: PrimitiveState::default(),
            depth_stencil: None,
            multisample: MultisampleState::default(),
            fragment: Some(RawFragmentState {
                module,
                entry_point: Some("fragment"),
                compilation_options: Default::default(),
                targets: &[Some(ColorTargetState {
                    format: key.format,
                    blend: None,
                    write_mask: ColorWrites::ALL,
                })],
            }),
            multiview_mask: None,
            cache: None,
        });
        self.composite.insert(key, pipeline);
    }

    /// The raster pipeline for `key`, if prepared.
    pub fn raster(&self, key: RasterKey) -> Option<&RenderPipeline> {
        self.raster.get(&key)
    }

    /// The composite pipeline for `key`, if prepared.
    pub fn composite(&self, key: CompositeKey) -> Option<&RenderPipeline> {
        self.composite.get(&key)
    }
}

/// `RenderStartup` system creating [`SplatPipelines`].
pub fn init_splat_pipelines(mut commands: Commands, device: Res<RenderDevice>) {
    commands.insert_resource(SplatPipelines::new(&device));
}
