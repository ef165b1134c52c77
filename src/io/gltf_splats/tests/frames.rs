//! Frame conversion maths, node transforms, base64, corrupted files.

use crate::testing::{Damage, fuzz_corruptions};
use super::*;

#[test]
fn jacobi_eigen_decomposes() {
    let m = DMat3::from_cols(
        DVec3::new(4.0, 1.0, -2.0),
        DVec3::new(1.0, 3.0, 0.5),
        DVec3::new(-2.0, 0.5, 5.0),
    );
    let (l, v) = sym_eigen(m);
    let back = v * DMat3::from_diagonal(DVec3::from_array(l)) * v.transpose();
    assert!((back - m).to_cols_array().iter().all(|d| d.abs() < 1e-12));
    assert!(
        (v.transpose() * v - DMat3::IDENTITY)
            .to_cols_array()
            .iter()
            .all(|d| d.abs() < 1e-12)
    );
}

#[test]
fn sh_band_matrices_rotate_colours() {
    // The 180° rotation about X gives exactly the flip signs.
    let flip = DMat3::from_diagonal(DVec3::new(1.0, -1.0, -1.0));
    for l in 1..=3u8 {
        let m = sh_band_matrix(l, &flip).unwrap();
        let n = 2 * l as usize + 1;
        for i in 0..n {
            for j in 0..n {
                let expect = if i == j {
                    YZ_FLIP_SH_SIGNS[(l * l) as usize + i] as f64
                } else {
                    0.0
                };
                assert!(
                    (m[i * n + j] - expect).abs() < 1e-9,
                    "l {l} ({i},{j}) {}",
                    m[i * n + j]
                );
            }
        }
    }
    // A general rotation and a mirror: colour seen along d in the world equals the
    // local colour along qᵀ d.
    let splat = random_splats(1, 3, 8);
    for q in [
        DMat3::from_quat(DQuat::from_euler(bevy::math::EulerRot::XYZ, 0.3, -1.1, 2.0)),
        DMat3::from_quat(DQuat::from_rotation_y(0.7))
            * DMat3::from_diagonal(DVec3::new(-1.0, 1.0, 1.0)),
    ] {
        let mut s = splat.clone();
        let t = InstanceTransform::new(0, &DMat4::from_mat3(q), 3).unwrap();
        t.apply(&mut s, 0);
        for d in [
            DVec3::new(0.2, 0.9, -0.3),
            DVec3::new(-0.7, 0.1, 0.6),
            DVec3::X,
        ] {
            let world = eval_sh(&s.sh, d);
            let local = eval_sh(&splat.sh, q.transpose() * d);
            for ch in 0..3 {
                assert!(
                    (world[ch] - local[ch]).abs() < 1e-4,
                    "{world:?} vs {local:?}"
                );
            }
        }
    }
}

#[test]
fn node_transforms_apply_to_covariances() {
    let splats = random_splats(30, 1, 21);
    let (mut json, bin) = split_glb(&write_glb_splats(&splats));
    let mut gl = splats.clone();
    canonical_to_gltf(&mut gl);
    let matrices = [
        // Translation, rotation, uniform scale.
        DMat4::from_scale_rotation_translation(
            DVec3::splat(2.5),
            DQuat::from_euler(bevy::math::EulerRot::YXZ, 0.4, -0.2, 1.3),
            DVec3::new(1.0, -2.0, 3.0),
        ),
        // Mirror with uniform scale.
        DMat4::from_scale_rotation_translation(
            DVec3::new(-0.5, 0.5, 0.5),
            DQuat::from_rotation_z(0.9),
            DVec3::ZERO,
        ),
        // Non-uniform scale, and a shear (general path).
        DMat4::from_scale_rotation_translation(
            DVec3::new(1.0, 3.0, 0.2),
            DQuat::from_rotation_x(0.5),
            DVec3::Y,
        ),
        DMat4::from_cols_array(&[
            1.0, 0.0, 0.0, 0.0, 0.7, 1.0, 0.0, 0.0, 0.0, 0.3, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0,
        ]),
    ];
    for m in matrices {
        json["nodes"][0] = json!({ "mesh": 0, "matrix": m.to_cols_array() });
        let s = parse(&glb(&json, &bin)).unwrap();
        let mut w = s.clone();
        canonical_to_gltf(&mut w);
        let a = DMat3::from_mat4(m);
        for i in 0..splats.len() {
            let p = m.transform_point3(gl.positions[i].as_dvec3());
            assert!((w.positions[i].as_dvec3() - p).length() < 1e-4 * (1.0 + p.length()));
            let expect = a * covariance(gl.rotations[i], gl.scales[i]) * a.transpose();
            let got = covariance(w.rotations[i], w.scales[i]);
            let scale = expect
                .to_cols_array()
                .iter()
                .fold(0.0f64, |m, v| m.max(v.abs()));
            let err = (got - expect)
                .to_cols_array()
                .iter()
                .fold(0.0f64, |m, v| m.max(v.abs()));
            assert!(
                err < 1e-4 * scale.max(1e-6),
                "matrix {m:?} splat {i}: {err} / {scale}"
            );
            assert!((w.rotations[i].length() - 1.0).abs() < 1e-5);
        }
    }
    // TRS properties on nested nodes compose like the matrix.
    json["nodes"] = json!([
        { "children": [1], "translation": [1.0, 2.0, 3.0], "rotation": [0.0, 0.0, 0.3826834, 0.9238795] },
        { "mesh": 0, "scale": [2.0, 2.0, 2.0] },
    ]);
    let s = parse(&glb(&json, &bin)).unwrap();
    let mut w = s.clone();
    canonical_to_gltf(&mut w);
    let m = DMat4::from_rotation_translation(
        DQuat::from_xyzw(0.0, 0.0, 0.3826834, 0.9238795),
        DVec3::new(1.0, 2.0, 3.0),
    ) * DMat4::from_scale(DVec3::splat(2.0));
    for i in 0..splats.len() {
        let p = m.transform_point3(gl.positions[i].as_dvec3());
        assert!((w.positions[i].as_dvec3() - p).length() < 1e-4 * (1.0 + p.length()));
        assert!((w.scales[i] - gl.scales[i] * 2.0).abs().max_element() < 1e-5);
    }
}

#[test]
fn base64_decoder() {
    for n in 0..20usize {
        let data: Vec<u8> = (0..n as u8)
            .map(|i| i.wrapping_mul(37).wrapping_add(5))
            .collect();
        let text = encode_base64(&data);
        assert_eq!(decode_base64(&text).unwrap(), data);
        assert_eq!(decode_base64(text.trim_end_matches('=')).unwrap(), data);
    }
    assert!(decode_base64("A").is_err());
    assert!(decode_base64("AA===").is_err());
    assert!(decode_base64("A A=").is_err());
    assert_eq!(percent_decode("a%20b%2Fc%zz"), "a b/c%zz");
}

/// Random corruptions must give an error or a valid scene, never a panic.
#[test]
fn corrupted_files_never_panic() {
    let splats = random_splats(9, 2, 77);
    let glb_bytes = write_glb_splats(&splats);
    let (mut json, bin) = split_glb(&glb_bytes);
    json["buffers"][0]["uri"] = json!(format!(
        "data:application/octet-stream;base64,{}",
        encode_base64(&bin)
    ));
    json["nodes"][0]["translation"] = json!([1.0, 2.0, 3.0]);
    let gltf_bytes = serde_json::to_vec(&json).unwrap();
    let damage = Damage { text: b"0123456789-.e,{}[]\"9", ..Damage::default() };
    let outcome = fuzz_corruptions(&[glb_bytes, gltf_bytes], 400, 0x9e37, &damage, parse, |s| {
        assert!(s.validate().is_ok())
    });
    let ok = outcome.accepted;
    // Some corruptions hit float payloads and still parse.
    assert!(ok > 0);
}
