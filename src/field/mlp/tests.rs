//! MLP tests with hand-made weights.

use super::*;

#[test]
fn forward_with_hand_made_weights() {
    // 2 → 3 (ReLU) → 2 (None).
    let mlp = Mlp {
        layers: vec![
            MlpLayer {
                rows: 3,
                cols: 2,
                weights: vec![1.0, 2.0, -1.0, 0.5, 3.0, -3.0],
                activation: Activation::ReLU,
            },
            MlpLayer {
                rows: 2,
                cols: 3,
                weights: vec![1.0, 1.0, 1.0, 0.5, -1.0, 2.0],
                activation: Activation::None,
            },
        ],
    };
    // h = relu([1·1 + 2·2, −1·1 + 0.5·2, 3·1 − 3·2]) = [5, 0, 0]; out = [5, 2.5].
    assert_eq!(mlp_forward(&mlp, &[1.0, 2.0]), vec![5.0, 2.5]);
    // h = relu([−1 − 2, 1 − 0.5, −3 + 3]) = [0, 0.5, 0]; out = [0.5, −0.5].
    assert_eq!(mlp_forward(&mlp, &[-1.0, -1.0]), vec![0.5, -0.5]);
    let mut scratch = MlpScratch::default();
    assert_eq!(mlp_forward_into(&mlp, &[1.0, 2.0], &mut scratch), &[5.0, 2.5]);
}

#[test]
fn dot_matches_sequential_sum() {
    let row: Vec<f32> = (0..37).map(|i| (i as f32 * 0.37).sin()).collect();
    let x: Vec<f32> = (0..37).map(|i| (i as f32 * 0.11).cos()).collect();
    let expected: f64 = row.iter().zip(&x).map(|(a, b)| *a as f64 * *b as f64).sum();
    assert!((dot(&row, &x) as f64 - expected).abs() < 1e-5);
}

#[test]
fn layer_shapes_and_build() {
    // The base.json density network: 32 → 64 → 16.
    let density = MlpConfig {
        n_neurons: 64,
        n_hidden_layers: 1,
        activation: Activation::ReLU,
        output_activation: Activation::None,
        input_width: 32,
        output_width: 16,
    };
    assert_eq!(density.layer_shapes(), vec![(64, 32), (16, 64)]);
    assert_eq!(density.n_params(), 3072);
    // The rgb network: 32 → 64 → 64 → 3 (padded to 16).
    let rgb = MlpConfig { n_hidden_layers: 2, output_width: 3, ..density };
    assert_eq!(rgb.layer_shapes(), vec![(64, 32), (64, 64), (16, 64)]);
    assert_eq!(rgb.n_params(), 7168);
    let params: Vec<f32> = (0..rgb.n_params()).map(|i| i as f32).collect();
    let mlp = rgb.build(&params, 3);
    assert_eq!(mlp.layers.len(), 3);
    assert_eq!((mlp.layers[2].rows, mlp.layers[2].cols), (3, 64));
    assert_eq!(mlp.layers[2].weights[0], (2048 + 4096) as f32);
    assert_eq!(mlp.layers[1].weights[0], 2048.0);
    assert_eq!(mlp.layers[0].activation, Activation::ReLU);
    assert_eq!(mlp.layers[2].activation, Activation::None);
}

#[test]
fn activations() {
    assert_eq!(Activation::from_name("relu"), Some(Activation::ReLU));
    assert_eq!(Activation::from_name("Sigmoid"), Some(Activation::Sigmoid));
    assert_eq!(Activation::from_name("Swish"), None);
    assert_eq!(Activation::ReLU.apply(-2.0), 0.0);
    assert_eq!(Activation::LeakyReLU.apply(-2.0), -0.02);
    assert!((Activation::Sigmoid.apply(0.0) - 0.5).abs() < 1e-7);
    assert!((Activation::Exponential.apply(1.0) - std::f32::consts::E).abs() < 1e-6);
    assert!((Activation::Squareplus.apply(0.0) - 0.1).abs() < 1e-7);
    assert!((Activation::Softplus.apply(0.0) - 2f32.ln() / 10.0).abs() < 1e-7);
    assert_eq!(Activation::None.apply(-3.5), -3.5);
}
