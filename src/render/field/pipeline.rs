//! Pipelines of the radiance-field pass: a fragment ray marcher (a fullscreen
//! triangle clipped to the field's scissor rectangle) per
//! field architecture, blended front to back ("under") into the view's field
//! layer, specialized per [`MarchKey`].
//!
//! The fragment shader of an architecture is generated
//! ([`codegen::generate`]) and registered with the pipeline cache under a
//! stable id derived from the architecture ([`network_shader`]); it imports
//! the crate's field modules like any other shader.

use bevy::asset::uuid::Uuid;
use bevy::core_pipeline::FullscreenShader;
use bevy::platform::collections::HashSet;
use bevy::prelude::*;
use bevy::render::render_resource::binding_types::{
    storage_buffer_read_only_sized, texture_2d, texture_depth_2d, texture_depth_2d_multisampled, uniform_buffer,
};
use bevy::render::render_resource::{
    BindGroupLayoutDescriptor, BindGroupLayoutEntries, BlendComponent, BlendFactor, BlendOperation, BlendState,
    ColorTargetState, ColorWrites, FragmentState, PipelineCache, RenderPipelineDescriptor,
    ShaderStages, SpecializedRenderPipeline, TextureSampleType,
};
use bevy::shader::{Shader, ShaderDefVal};

use super::codegen::{self, FieldArch};
use super::gpu_asset::WEIGHTS_TEXTURE_WIDTH;
use super::gpu_types::{FieldUniform, FieldViewUniform};
use crate::field::encoding::HASH_PRIMES;
use crate::field::limits::{MAX_GPU_DENSITY_OUTPUTS, MAX_GPU_LEVELS};
use crate::field::occupancy::OCCUPANCY_GRID_SIZE;
use crate::field::reference::MAX_SKIP_ITERATIONS;
use crate::render::layer::LAYER_FORMAT;

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

/// Layouts of the radiance-field pass and the generated network shaders
/// registered so far (render world).
#[derive(Resource)]
pub struct RadianceFieldPipelines {
    /// Group 0: view uniform and depth texture, single-sampled.
    pub view_layout: BindGroupLayoutDescriptor,
    /// Group 0: view uniform and depth texture, multisampled.
    pub view_layout_multisampled: BindGroupLayoutDescriptor,
    /// Group 1: field uniform (dynamic offset), grid parameters, weights texture, occupancy.
    pub field_layout: BindGroupLayoutDescriptor,
    fullscreen: FullscreenShader,
    registered: HashSet<FieldArch>,
}

/// The stable handle of an architecture's generated fragment shader.
pub fn network_shader(arch: &FieldArch) -> Handle<Shader> {
    // FNV-1a over the architecture's numbers, in a namespace of this crate.
    let numbers = [
        arch.levels,
        arch.features,
        arch.density.0,
        arch.density.1,
        arch.density.2,
        arch.colour.0,
        arch.colour.1,
        arch.colour.2,
    ];
    let mut hash: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for byte in numbers.iter().flat_map(|n| n.to_le_bytes()) {
        hash ^= byte as u128;
        hash = hash.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
    }
    Handle::Uuid(Uuid::from_u128(hash), default())
}

impl RadianceFieldPipelines {
    /// The view layout for a depth texture that is (or is not) multisampled.
    pub fn view_layout(&self, multisampled_depth: bool) -> &BindGroupLayoutDescriptor {
        if multisampled_depth { &self.view_layout_multisampled } else { &self.view_layout }
    }

    /// The shader defs of a variant: the constants WGSL shares with Rust and
    /// the depth texture kind.
    pub fn shader_defs(multisampled_depth: bool) -> Vec<ShaderDefVal> {
        let mut defs: Vec<ShaderDefVal> = [
            ("OCCUPANCY_GRID_SIZE", OCCUPANCY_GRID_SIZE),
            ("MAX_SKIP_ITERATIONS", MAX_SKIP_ITERATIONS),
            ("MAX_GPU_LEVELS", MAX_GPU_LEVELS),
            ("MAX_GPU_DENSITY_OUTPUTS_VEC4", MAX_GPU_DENSITY_OUTPUTS / 4),
            ("HASH_PRIME_Y", HASH_PRIMES[1]),
            ("HASH_PRIME_Z", HASH_PRIMES[2]),
            ("WEIGHTS_TEXTURE_WIDTH", WEIGHTS_TEXTURE_WIDTH),
        ]
        .map(|(name, value)| ShaderDefVal::UInt(name.into(), value))
        .into();
        if multisampled_depth {
            defs.push("MULTISAMPLED_DEPTH".into());
        }
        defs
    }

    /// Registers the generated fragment shader of `arch` with the pipeline
    /// cache (once per architecture).
    pub fn register_network(&mut self, pipeline_cache: &mut PipelineCache, arch: FieldArch) {
        if self.registered.insert(arch) {
            let handle = network_shader(&arch);
            let path = format!("bevy_radiance/generated/field_network_{}.wgsl", handle.id());
            pipeline_cache.set_shader(handle.id(), Shader::from_wgsl(codegen::generate(&arch), path));
        }
    }
}

/// `RenderStartup` system creating [`RadianceFieldPipelines`].
pub fn init_field_pipelines(mut commands: Commands, fullscreen: Res<FullscreenShader>) {
    let stages = ShaderStages::FRAGMENT;
    let view_layout = |label: &'static str, multisampled: bool| {
        let depth = if multisampled { texture_depth_2d_multisampled() } else { texture_depth_2d() };
        BindGroupLayoutDescriptor::new(
            label,
            &BindGroupLayoutEntries::sequential(stages, (uniform_buffer::<FieldViewUniform>(false), depth)),
        )
    };
    let read_only = || storage_buffer_read_only_sized(false, None);
    commands.insert_resource(RadianceFieldPipelines {
        view_layout: view_layout("bevy_radiance:field:view_layout", false),
        view_layout_multisampled: view_layout("bevy_radiance:field:view_layout_multisampled", true),
        field_layout: BindGroupLayoutDescriptor::new(
            "bevy_radiance:field:field_layout",
            &BindGroupLayoutEntries::sequential(
                stages,
                (
                    uniform_buffer::<FieldUniform>(true),
                    read_only(),
                    texture_2d(TextureSampleType::Float { filterable: false }),
                    read_only(),
                ),
            ),
        ),
        fullscreen: fullscreen.clone(),
        registered: HashSet::default(),
    });
}

impl SpecializedRenderPipeline for RadianceFieldPipelines {
    type Key = MarchKey;

    fn specialize(&self, key: MarchKey) -> RenderPipelineDescriptor {
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
        RenderPipelineDescriptor {
            label: Some("bevy_radiance:field:march".into()),
            layout: vec![self.view_layout(key.multisampled_depth).clone(), self.field_layout.clone()],
            vertex: self.fullscreen.to_vertex_state(),
            fragment: Some(FragmentState {
                shader: network_shader(&key.arch),
                shader_defs: Self::shader_defs(key.multisampled_depth),
                entry_point: Some("fragment".into()),
                targets: vec![Some(ColorTargetState {
                    format: LAYER_FORMAT,
                    blend: Some(BlendState { color: blend, alpha: blend }),
                    write_mask: ColorWrites::ALL,
                })],
            }),
            zero_initialize_workgroup_memory: true,
            ..default()
        }
    }
}
