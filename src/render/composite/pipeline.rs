//! The composite pipelines, specialized per [`CompositeKey`].

use bevy::core_pipeline::FullscreenShader;
use bevy::prelude::*;
use bevy::render::render_resource::binding_types::{texture_2d, uniform_buffer};
use bevy::render::render_resource::{
    BindGroupLayoutDescriptor, BindGroupLayoutEntries, ColorTargetState, ColorWrites, FragmentState,
    RenderPipelineDescriptor, ShaderStages, SpecializedRenderPipeline, TextureSampleType,
};
use bevy::shader::{Shader, ShaderDefVal};

use super::{CompositeKey, LayerRectUniform};
use crate::render::shaders;

/// Layouts and shaders of the composite pass (render world, from `RenderStartup`).
#[derive(Resource)]
pub struct CompositePipeline {
    /// Group 0 of a full-size layer: main texture, layer.
    pub layout: BindGroupLayoutDescriptor,
    /// Group 0 of an upsampled layer: main texture, layer, [`LayerRectUniform`].
    pub upsample_layout: BindGroupLayoutDescriptor,
    shader: Handle<Shader>,
    fullscreen: FullscreenShader,
}

impl CompositePipeline {
    /// The group 0 layout of a variant.
    pub fn layout(&self, upsample: bool) -> &BindGroupLayoutDescriptor {
        if upsample { &self.upsample_layout } else { &self.layout }
    }

    /// The shader defs of a variant.
    pub fn shader_defs(key: CompositeKey) -> Vec<ShaderDefVal> {
        [(key.linear, "MAIN_TEXTURE_LINEAR"), (key.upsample, "UPSAMPLE")]
            .into_iter()
            .filter(|&(on, _)| on)
            .map(|(_, def)| def.into())
            .collect()
    }
}

/// `RenderStartup` system creating [`CompositePipeline`].
pub fn init_composite_pipeline(mut commands: Commands, assets: Res<AssetServer>, fullscreen: Res<FullscreenShader>) {
    let texture = || texture_2d(TextureSampleType::Float { filterable: false });
    commands.insert_resource(CompositePipeline {
        layout: BindGroupLayoutDescriptor::new(
            "bevy_radiance:composite:layout",
            &BindGroupLayoutEntries::sequential(ShaderStages::FRAGMENT, (texture(), texture())),
        ),
        upsample_layout: BindGroupLayoutDescriptor::new(
            "bevy_radiance:composite:upsample_layout",
            &BindGroupLayoutEntries::sequential(
                ShaderStages::FRAGMENT,
                (texture(), texture(), uniform_buffer::<LayerRectUniform>(false)),
            ),
        ),
        shader: assets.load(shaders::LAYER_COMPOSITE.asset_path()),
        fullscreen: fullscreen.clone(),
    });
}

impl SpecializedRenderPipeline for CompositePipeline {
    type Key = CompositeKey;

    fn specialize(&self, key: CompositeKey) -> RenderPipelineDescriptor {
        RenderPipelineDescriptor {
            label: Some("bevy_radiance:composite".into()),
            layout: vec![self.layout(key.upsample).clone()],
            vertex: self.fullscreen.to_vertex_state(),
            fragment: Some(FragmentState {
                shader: self.shader.clone(),
                shader_defs: Self::shader_defs(key),
                entry_point: Some("fragment".into()),
                targets: vec![Some(ColorTargetState {
                    format: key.format,
                    blend: None,
                    write_mask: ColorWrites::ALL,
                })],
            }),
            zero_initialize_workgroup_memory: true,
            ..default()
        }
    }
}
