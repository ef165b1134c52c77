//! The two small MLPs of an instant-ngp NeRF (tiny-cuda-nn `FullyFusedMLP`):
//! layer shapes, the parameter layout, activations and the forward pass.
//!
//! A `FullyFusedMLP` with `n_hidden_layers = H` and width `W` has `H + 1`
//! weight matrices and **no biases**:
//!
//! | matrix | shape `[rows][cols]` (`[out][in]`) | activation after it |
//! |---|---|---|
//! | input layer | `W × input_width` | `activation` |
//! | hidden layers 1..H−1 | `W × W` | `activation` |
//! | output layer | `padded_output × W` | `output_activation` |
//!
//! Each matrix is stored row-major (`weights[row * cols + col]`), the matrices
//! one after another in that order. `input_width` and the output width are
//! padded to multiples of 16 (the tensor-core tile).

/// Alignment of `FullyFusedMLP` inputs and outputs (its 16×16×16 tensor-core tiles).
pub const MLP_ALIGNMENT: u32 = 16;

/// Rounds `value` up to a multiple of `multiple`.
pub const fn next_multiple(value: u32, multiple: u32) -> u32 {
    value.div_ceil(multiple) * multiple
}

/// The per-neuron activations tiny-cuda-nn's networks support.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Activation {
    /// Identity.
    #[default]
    None,
    /// `max(v, 0)`.
    ReLU,
    /// `v` if `v > 0`, else `0.01·v`.
    LeakyReLU,
    /// `exp(v)`.
    Exponential,
    /// `sin(v)`.
    Sine,
    /// `1 / (1 + exp(−v))`.
    Sigmoid,
    /// `0.5·(10v + sqrt((10v)² + 4)) / 10`.
    Squareplus,
    /// `ln(exp(10v) + 1) / 10`.
    Softplus,
    /// `tanh(v)`.
    Tanh,
    /// `v / (1 + exp(−v))`.
    SiLU,
}

/// The sharpness constant of tiny-cuda-nn's `Squareplus` and `Softplus`.
pub const ACTIVATION_K: f32 = 10.0;

impl Activation {
    /// The activation named by a tiny-cuda-nn config string (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        let all = [
            ("None", Self::None),
            ("ReLU", Self::ReLU),
            ("LeakyReLU", Self::LeakyReLU),
            ("Exponential", Self::Exponential),
            ("Sine", Self::Sine),
            ("Sigmoid", Self::Sigmoid),
            ("Squareplus", Self::Squareplus),
            ("Softplus", Self::Softplus),
            ("Tanh", Self::Tanh),
            ("SiLU", Self::SiLU),
        ];
        all.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, a)| *a)
    }

    /// Applies the activation to one value.
    pub fn apply(self, v: f32) -> f32 {
        match self {
            Self::None => v,
            Self::ReLU => v.max(0.0),
            Self::LeakyReLU => {
                if v > 0.0 {
                    v
                } else {
                    v * 0.01
                }
            }
            Self::Exponential => v.exp(),
            Self::Sine => v.sin(),
            Self::Sigmoid => logistic(v),
            Self::Squareplus => {
                let x = v * ACTIVATION_K;
                0.5 * (x + (x * x + 4.0).sqrt()) / ACTIVATION_K
            }
            Self::Softplus => ((v * ACTIVATION_K).exp() + 1.0).ln() / ACTIVATION_K,
            Self::Tanh => v.tanh(),
            Self::SiLU => v * logistic(v),
        }
    }
}

/// `1 / (1 + exp(−v))`.
pub fn logistic(v: f32) -> f32 {
    1.0 / (1.0 + (-v).exp())
}

/// The shape of one `FullyFusedMLP`, as its config and the surrounding model imply.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MlpConfig {
    /// Hidden width (16, 32, 64 or 128).
    pub n_neurons: u32,
    /// Number of hidden layers (≥ 1).
    pub n_hidden_layers: u32,
    /// Activation after every hidden layer.
    pub activation: Activation,
    /// Activation after the output layer.
    pub output_activation: Activation,
    /// Input width, already padded to a multiple of [`MLP_ALIGNMENT`].
    pub input_width: u32,
    /// Output width before padding (the rows that carry meaning).
    pub output_width: u32,
}

impl MlpConfig {
    /// Output rows stored in the parameters: the output width padded to [`MLP_ALIGNMENT`].
    pub fn padded_output_width(&self) -> u32 {
        next_multiple(self.output_width, MLP_ALIGNMENT)
    }

    /// `(rows, cols)` of every weight matrix, in parameter order.
    pub fn layer_shapes(&self) -> Vec<(u32, u32)> {
        let mut shapes = vec![(self.n_neurons, self.input_width)];
        for _ in 1..self.n_hidden_layers {
            shapes.push((self.n_neurons, self.n_neurons));
        }
        shapes.push((self.padded_output_width(), self.n_neurons));
        shapes
    }

    /// Number of parameters (weights) of the network.
    pub fn n_params(&self) -> u64 {
        self.layer_shapes().iter().map(|&(r, c)| r as u64 * c as u64).sum()
    }

    /// Builds the network from its slice of the parameter array (see the module
    /// docs for the layout). `keep_outputs` output rows are kept (the rest is padding).
    ///
    /// `params` must hold exactly [`MlpConfig::n_params`] values.
    pub fn build(&self, params: &[f32], keep_outputs: u32) -> Mlp {
        let shapes = self.layer_shapes();
        let last = shapes.len() - 1;
        let mut offset = 0usize;
        let mut layers = Vec::with_capacity(shapes.len());
        for (i, &(rows, cols)) in shapes.iter().enumerate() {
            let n = rows as usize * cols as usize;
            let block = &params[offset..offset + n];
            offset += n;
            let (rows, activation) = if i == last {
                (keep_outputs.min(rows), self.output_activation)
            } else {
                (rows, self.activation)
            };
            layers.push(MlpLayer {
                rows,
                cols,
                weights: block[..rows as usize * cols as usize].to_vec(),
                activation,
            });
        }
        Mlp { layers }
    }
}

/// One fully connected layer without bias: `out = activation(W · in)`.
#[derive(Clone, Debug, PartialEq)]
pub struct MlpLayer {
    /// Output count.
    pub rows: u32,
    /// Input count.
    pub cols: u32,
    /// Row-major `[rows][cols]` weights: `weights[row * cols + col]`.
    pub weights: Vec<f32>,
    /// Applied to every output.
    pub activation: Activation,
}

/// A bias-free MLP: its layers in evaluation order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mlp {
    /// The layers, input first.
    pub layers: Vec<MlpLayer>,
}

impl Mlp {
    /// Width of the input vector.
    pub fn input_width(&self) -> usize {
        self.layers.first().map_or(0, |l| l.cols as usize)
    }

    /// Width of the output vector.
    pub fn output_width(&self) -> usize {
        self.layers.last().map_or(0, |l| l.rows as usize)
    }

    /// The widest layer input or output (sizes the scratch buffers).
    pub fn max_width(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.rows.max(l.cols) as usize)
            .max()
            .unwrap_or(0)
    }
}

/// Dot product of a weight row with the input. The sum is split over 8
/// partial sums so that it vectorises; the GPU may sum in any order (only
/// fp32 rounding differs).
#[inline]
pub fn dot(row: &[f32], input: &[f32]) -> f32 {
    let n = row.len().min(input.len());
    let (row, input) = (&row[..n], &input[..n]);
    let mut acc = [0.0f32; 8];
    let chunks = n / 8;
    for c in 0..chunks {
        let r = &row[c * 8..c * 8 + 8];
        let x = &input[c * 8..c * 8 + 8];
        for k in 0..8 {
            acc[k] += r[k] * x[k];
        }
    }
    let mut sum = 0.0;
    for i in chunks * 8..n {
        sum += row[i] * input[i];
    }
    sum + ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
}

/// One layer: `output[r] = activation(Σ_c W[r][c] · input[c])`.
///
/// `input` must have `cols` values and `output` at least `rows`.
pub fn layer_forward(layer: &MlpLayer, input: &[f32], output: &mut [f32]) {
    let cols = layer.cols as usize;
    for (r, out) in output[..layer.rows as usize].iter_mut().enumerate() {
        let row = &layer.weights[r * cols..(r + 1) * cols];
        *out = layer.activation.apply(dot(row, input));
    }
}

/// Reusable buffers for [`mlp_forward_into`].
#[derive(Clone, Debug, Default)]
pub struct MlpScratch {
    a: Vec<f32>,
    b: Vec<f32>,
}

/// The MLP's output for `input`, using `scratch` for the activations; returns
/// a slice of [`Mlp::output_width`] values.
pub fn mlp_forward_into<'s>(mlp: &Mlp, input: &[f32], scratch: &'s mut MlpScratch) -> &'s [f32] {
    let width = mlp.max_width();
    scratch.a.resize(width, 0.0);
    scratch.b.resize(width, 0.0);
    let MlpScratch { a, b } = scratch;
    let n_in = input.len().min(width);
    a[..n_in].copy_from_slice(&input[..n_in]);
    let mut current_is_a = true;
    for layer in &mlp.layers {
        if current_is_a {
            layer_forward(layer, &a[..layer.cols as usize], b);
        } else {
            layer_forward(layer, &b[..layer.cols as usize], a);
        }
        current_is_a = !current_is_a;
    }
    let out = mlp.output_width();
    if current_is_a { &a[..out] } else { &b[..out] }
}

/// The MLP's output for `input` (allocating; see [`mlp_forward_into`]).
pub fn mlp_forward(mlp: &Mlp, input: &[f32]) -> Vec<f32> {
    let mut scratch = MlpScratch::default();
    mlp_forward_into(mlp, input, &mut scratch).to_vec()
}

#[cfg(test)]
mod tests;
