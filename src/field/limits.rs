//! What the GPU ray marcher evaluates: the network shapes its generated
//! shader code handles. Larger fields load and render on the CPU reference
//! ([`crate::field::reference`]); the asset loader rejects them with a typed
//! error, so a game never holds a field that silently draws nothing.

use super::asset::RadianceField;
use super::mlp::{Activation, Mlp};

/// Widest hidden layer (and widest layer input) the GPU evaluates.
pub const MAX_GPU_WIDTH: u32 = 64;
/// Most hash-grid levels the GPU evaluates.
pub const MAX_GPU_LEVELS: u32 = 16;
/// Most encoded features (levels × features per level) the GPU evaluates.
pub const MAX_GPU_ENCODED_FEATURES: u32 = 32;
/// Most density-network outputs (padded) the GPU passes to the colour network.
pub const MAX_GPU_DENSITY_OUTPUTS: u32 = 16;

/// Why the GPU ray marcher cannot draw `field`, or `None` when it can.
pub fn gpu_unsupported(field: &RadianceField) -> Option<String> {
    let hidden_ok = |m: &Mlp| {
        let n = m.layers.len();
        (1..=4).contains(&n)
            && m.layers[..n - 1]
                .iter()
                .all(|l| l.activation == Activation::ReLU && l.rows <= MAX_GPU_WIDTH && l.cols <= MAX_GPU_WIDTH)
            && m.layers[n - 1].activation == Activation::None
            && m.layers[n - 1].cols <= MAX_GPU_WIDTH
            && m.layers.iter().all(|l| l.cols.is_multiple_of(4))
    };
    let config = &field.grid.config;
    if field.grid.levels.len() > MAX_GPU_LEVELS as usize
        || config.n_levels * config.features_per_level > MAX_GPU_ENCODED_FEATURES
    {
        return Some(format!(
            "more than {MAX_GPU_LEVELS} levels or {MAX_GPU_ENCODED_FEATURES} encoded features"
        ));
    }
    if !hidden_ok(&field.density_mlp) || !hidden_ok(&field.color_mlp) {
        return Some(format!(
            "MLPs must have ≤ 3 ReLU hidden layers of ≤ {MAX_GPU_WIDTH} neurons and a linear output"
        ));
    }
    if field.density_mlp.output_width() > MAX_GPU_DENSITY_OUTPUTS as usize {
        return Some(format!("more than {MAX_GPU_DENSITY_OUTPUTS} density-network outputs"));
    }
    if field.density_mlp.input_width() != 32
        || field.color_mlp.input_width() != field.density_mlp.output_width().div_ceil(4) * 4 + 16
    {
        return Some("network input widths other than instant-ngp's (32 encoded features; density outputs + 16 SH)".into());
    }
    if ![1, 2, 4].contains(&config.features_per_level) {
        return Some("features per level other than 1, 2 or 4".into());
    }
    None
}
