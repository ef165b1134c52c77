//! The display-space composite of a capture layer over a view's main texture,
//! shared by the splat and radiance-field renderers.
//!
//! A layer holds premultiplied, display-referred colour and coverage. The
//! composite converts the main texture's colour to display space (unless the
//! view composites in sRGB already), blends `layer + (1 − coverage)·main`, and
//! converts back (`shaders/layer_composite.wgsl`). A layer covering only the
//! viewport at a reduced resolution is upsampled bilinearly on the way
//! ([`CompositeKey::upsample`], placed by a [`LayerRectUniform`]).

mod node;
mod pipeline;

pub use node::composite_layer;
pub use pipeline::{CompositePipeline, init_composite_pipeline};

use bevy::math::Vec4;
use bevy::render::render_resource::{ShaderType, TextureFormat};

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

/// Where an upsampled layer lies (`LayerRect` in `shaders/layer_composite.wgsl`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable, ShaderType)]
pub struct LayerRectUniform {
    /// Viewport origin (x, y) and size (z, w) in main-texture pixels.
    pub viewport: Vec4,
    /// xy: layer size in pixels; zw: layer pixels per viewport pixel.
    pub layer: Vec4,
}
