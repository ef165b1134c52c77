//! Accessor forms: quantised, strided, sparse, indexed, several meshes.

use super::*;

/// Quantised attributes, an interleaved strided view, and a linear colour space.
#[test]
fn quantized_and_strided_attributes() {
    let mut bin = Vec::new();
    // View 0: interleaved POSITION (float VEC3) + opacity (u8 normalized) with stride 16.
    for (i, p) in [[1.0f32, 2.0, 3.0], [-4.0, 5.5, 0.25]].iter().enumerate() {
        for v in p {
            bin.extend_from_slice(&v.to_le_bytes());
        }
        bin.extend_from_slice(&[[255u8, 0, 0, 0], [51, 0, 0, 0]][i]);
    }
    // View 1 (offset 32): rotations as normalized i16, x y z w.
    let rot: [[i16; 4]; 2] = [[0, 0, 0, 32767], [32767, 0, 0, 0]];
    for q in rot {
        for v in q {
            bin.extend_from_slice(&v.to_le_bytes());
        }
    }
    // View 2 (offset 48): scales as u16 normalized, padded to 8 bytes each.
    for s in [[65535u16, 0, 32768, 0], [13107, 26214, 39321, 0]] {
        for v in s {
            bin.extend_from_slice(&v.to_le_bytes());
        }
    }
    // View 3 (offset 64): DC, float.
    for v in [0.5f32, -0.5, 1.0, 0.0, 0.1, 0.2] {
        bin.extend_from_slice(&v.to_le_bytes());
    }
    let json = json!({
        "asset": { "version": "2.0" },
        "extensionsUsed": ["KHR_gaussian_splatting", "KHR_mesh_quantization"],
        "extensionsRequired": ["KHR_mesh_quantization"],
        "buffers": [{ "byteLength": bin.len() }],
        "bufferViews": [
            { "buffer": 0, "byteOffset": 0, "byteLength": 32, "byteStride": 16 },
            { "buffer": 0, "byteOffset": 32, "byteLength": 16 },
            { "buffer": 0, "byteOffset": 48, "byteLength": 16, "byteStride": 8 },
            { "buffer": 0, "byteOffset": 64, "byteLength": 24 },
        ],
        "accessors": [
            { "bufferView": 0, "componentType": 5126, "count": 2, "type": "VEC3" },
            { "bufferView": 0, "byteOffset": 12, "componentType": 5121, "normalized": true, "count": 2, "type": "SCALAR" },
            { "bufferView": 1, "componentType": 5122, "normalized": true, "count": 2, "type": "VEC4" },
            { "bufferView": 2, "componentType": 5123, "normalized": true, "count": 2, "type": "VEC3" },
            { "bufferView": 3, "componentType": 5126, "count": 2, "type": "VEC3" },
        ],
        "meshes": [{ "primitives": [{
            "mode": 0,
            "attributes": {
                "POSITION": 0,
                "KHR_gaussian_splatting:OPACITY": 1,
                "KHR_gaussian_splatting:ROTATION": 2,
                "KHR_gaussian_splatting:SCALE": 3,
                "KHR_gaussian_splatting:SH_DEGREE_0_COEF_0": 4,
            },
            "extensions": { "KHR_gaussian_splatting": { "kernel": "ellipse", "colorSpace": "lin_rec709_display" } },
        }] }],
    });
    let bytes = glb(&json, &bin);
    assert!(matches!(
        parse(&bytes),
        Err(GltfSplatError::UnsupportedColorSpace(_))
    ));
    let scene = parse_gltf_splat_scene(&bytes, &no_external).unwrap();
    assert_eq!(scene.color_space, GltfSplatColorSpace::LinRec709Display);
    let s = scene.splats;
    assert_eq!(s.len(), 2);
    // Canonical frame: y and z negated.
    assert_eq!(
        s.positions,
        vec![Vec3::new(1.0, -2.0, -3.0), Vec3::new(-4.0, -5.5, -0.25)]
    );
    assert_eq!(s.opacities, vec![1.0, 0.2]);
    assert!(
        (s.scales[0] - Vec3::new(1.0, 0.0, 32768.0 / 65535.0))
            .abs()
            .max_element()
            < 1e-7
    );
    assert!((s.scales[1] - Vec3::new(0.2, 0.4, 0.6)).abs().max_element() < 1e-6);
    // Identity in glTF → 180° about X in the canonical frame; 180° about X stays (up to sign).
    let expect = [Quat::from_rotation_x(core::f32::consts::PI), Quat::IDENTITY];
    for (q, e) in s.rotations.iter().zip(expect) {
        assert!(q.dot(e).abs() > 1.0 - 1e-6, "{q:?}");
    }
    assert_eq!(s.sh, vec![[0.5, -0.5, 1.0], [0.0, 0.1, 0.2]]);
}

#[test]
fn sparse_accessor_and_indices() {
    let (splats, mut json, mut bin) = base_doc(0);
    // Sparse: replace opacity of splats 3 and 17 with 0.25 / 0.75.
    let idx_off = bin.len();
    bin.extend_from_slice(&3u16.to_le_bytes());
    bin.extend_from_slice(&17u16.to_le_bytes());
    let val_off = bin.len();
    bin.extend_from_slice(&0.25f32.to_le_bytes());
    bin.extend_from_slice(&0.75f32.to_le_bytes());
    let views = json["bufferViews"].as_array_mut().unwrap();
    views.push(json!({ "buffer": 0, "byteOffset": idx_off, "byteLength": 4 }));
    views.push(json!({ "buffer": 0, "byteOffset": val_off, "byteLength": 8 }));
    let nv = views.len();
    json["accessors"][3]["sparse"] = json!({
        "count": 2,
        "indices": { "bufferView": nv - 2, "componentType": 5123 },
        "values": { "bufferView": nv - 1 },
    });
    // Indices: splats 5, 0, 5.
    let ind_off = bin.len();
    for i in [5u8, 0, 5, 0] {
        bin.push(i);
    }
    json["bufferViews"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "buffer": 0, "byteOffset": ind_off, "byteLength": 4 }));
    let iv = json["bufferViews"].as_array().unwrap().len() - 1;
    json["accessors"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "bufferView": iv, "componentType": 5121, "count": 3, "type": "SCALAR" }));
    let ia = json["accessors"].as_array().unwrap().len() - 1;
    json["buffers"][0]["byteLength"] = json!(bin.len());

    let s = parse(&glb(&json, &bin)).unwrap();
    assert_eq!(s.opacities[3], 0.25);
    assert_eq!(s.opacities[17], 0.75);
    assert_eq!(s.opacities[4], splats.opacities[4]);

    json["meshes"][0]["primitives"][0]["indices"] = json!(ia);
    let s = parse(&glb(&json, &bin)).unwrap();
    assert_eq!(s.len(), 3);
    assert_eq!(
        s.positions,
        vec![
            splats.positions[5],
            splats.positions[0],
            splats.positions[5]
        ]
    );
    assert_eq!(s.sh[1], splats.sh[0]);

    // An index past the vertex count.
    let mut b = bin.clone();
    b[ind_off + 1] = 20;
    assert!(matches!(
        parse(&glb(&json, &b)),
        Err(GltfSplatError::VertexIndexOutOfRange { index: 20, .. })
    ));
    // A sparse index past the count.
    let mut b = bin.clone();
    b[idx_off..idx_off + 2].copy_from_slice(&20u16.to_le_bytes());
    assert!(matches!(
        parse(&glb(&json, &b)),
        Err(GltfSplatError::SparseIndexOutOfRange { index: 20, .. })
    ));
}

#[test]
fn meshes_and_instances_are_concatenated_with_padded_sh() {
    // Two files merged: degree 0 and degree 2 primitives in two meshes, the
    // first mesh instanced twice (the second time under a translated parent).
    let a = random_splats(7, 0, 11);
    let b = random_splats(5, 2, 12);
    let (ja, bin_a) = split_glb(&write_glb_splats(&a));
    let (jb, bin_b) = split_glb(&write_glb_splats(&b));
    let mut json = ja.clone();
    let mut bin = bin_a.clone();
    let view_shift = json["bufferViews"].as_array().unwrap().len();
    let acc_shift = json["accessors"].as_array().unwrap().len();
    for v in jb["bufferViews"].as_array().unwrap() {
        let mut v = v.clone();
        v["byteOffset"] = json!(v["byteOffset"].as_u64().unwrap() + bin_a.len() as u64);
        json["bufferViews"].as_array_mut().unwrap().push(v);
    }
    for acc in jb["accessors"].as_array().unwrap() {
        let mut acc = acc.clone();
        acc["bufferView"] = json!(acc["bufferView"].as_u64().unwrap() + view_shift as u64);
        json["accessors"].as_array_mut().unwrap().push(acc);
    }
    let mut prim = jb["meshes"][0]["primitives"][0].clone();
    for (_, v) in prim["attributes"].as_object_mut().unwrap() {
        *v = json!(v.as_u64().unwrap() + acc_shift as u64);
    }
    json["meshes"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "primitives": [prim] }));
    bin.extend_from_slice(&bin_b);
    json["buffers"][0]["byteLength"] = json!(bin.len());
    json["nodes"] = json!([
        { "mesh": 0 },
        { "children": [2], "translation": [0.0, 10.0, 0.0] },
        { "mesh": 0 },
        { "mesh": 1 },
    ]);
    json["scenes"] = json!([{ "nodes": [0, 1, 3] }]);

    let s = parse_gltf_splat_scene(&glb(&json, &bin), &no_external).unwrap();
    assert_eq!(s.primitive_instances, 3);
    let s = s.splats;
    assert_eq!(s.sh_degree, 2);
    assert_eq!(s.len(), 7 + 7 + 5);
    assert_eq!(&s.positions[..7], &a.positions[..]);
    // +10 along glTF +Y is −10 along canonical Y.
    for i in 0..7 {
        assert!(
            (s.positions[7 + i] - (a.positions[i] - Vec3::new(0.0, 10.0, 0.0))).length() < 1e-5
        );
        assert_eq!(s.rotations[7 + i], a.rotations[i]);
    }
    assert_eq!(&s.positions[14..], &b.positions[..]);
    for i in 0..7 {
        assert_eq!(s.sh_of(i)[0], a.sh[i]);
        assert!(s.sh_of(i)[1..].iter().all(|c| *c == [0.0; 3]));
    }
    for i in 0..5 {
        assert_eq!(s.sh_of(14 + i), b.sh_of(i));
    }
}
