use super::*;
use bevy::math::{DMat3, DMat4, DQuat, DVec3, Quat, Vec3};
use serde_json::{Value, json};

use super::container::{decode_base64, percent_decode};
use super::scene::{YZ_FLIP_SH_SIGNS, canonical_to_gltf, sh_band_matrix, sh_basis, sym_eigen};
use super::writer::assemble_glb;
use crate::io::gaussian_ply::tests::random_splats;

fn no_external(_: &str) -> Option<Vec<u8>> {
    None
}

fn parse(bytes: &[u8]) -> Result<GaussianSplats> {
    parse_gltf_splats(bytes, &no_external)
}

fn encode_base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Splits a `.glb` into its JSON document and BIN chunk.
fn split_glb(glb: &[u8]) -> (Value, Vec<u8>) {
    let (json, bin, _) = split_container(glb).unwrap();
    (
        serde_json::from_slice(json).unwrap(),
        bin.unwrap_or_default().to_vec(),
    )
}

fn glb(json: &Value, bin: &[u8]) -> Vec<u8> {
    assemble_glb(json, bin)
}

fn base_doc(degree: u8) -> (GaussianSplats, Value, Vec<u8>) {
    let splats = random_splats(20, degree, 99 + degree as u64);
    let (json, bin) = split_glb(&write_glb_splats(&splats));
    (splats, json, bin)
}

fn covariance(q: Quat, s: Vec3) -> DMat3 {
    let r = DMat3::from_quat(q.as_dquat());
    let m = r * DMat3::from_diagonal(s.as_dvec3());
    m * m.transpose()
}

fn eval_sh(coeffs: &[[f32; 3]], d: DVec3) -> [f64; 3] {
    let y = sh_basis(d.normalize());
    let mut c = [0.0; 3];
    for (j, k) in coeffs.iter().enumerate() {
        for ch in 0..3 {
            c[ch] += y[j] * k[ch] as f64;
        }
    }
    c
}

#[test]
fn round_trip_all_degrees_is_exact() {
    for degree in 0..=3u8 {
        let splats = random_splats(57, degree, 3 + degree as u64);
        let bytes = write_glb_splats(&splats);
        assert_eq!(&bytes[..4], b"glTF");
        assert_eq!(bytes.len() % 4, 0);
        let back = parse(&bytes).unwrap_or_else(|e| panic!("degree {degree}: {e}"));
        assert_eq!(back, splats, "degree {degree}");
        let scene = parse_gltf_splat_scene(&bytes, &no_external).unwrap();
        assert_eq!(scene.color_space, GltfSplatColorSpace::SrgbRec709Display);
        assert_eq!(scene.primitive_instances, 1);
    }
}

#[test]
fn written_file_is_in_the_gltf_frame() {
    let splats = random_splats(5, 1, 1);
    let (json, bin) = split_glb(&write_glb_splats(&splats));
    let prim = &json["meshes"][0]["primitives"][0];
    assert_eq!(prim["mode"], 0);
    assert_eq!(prim["extensions"][EXTENSION_NAME]["kernel"], "ellipse");
    for name in [
        "POSITION",
        ROTATION_ATTRIBUTE,
        SCALE_ATTRIBUTE,
        OPACITY_ATTRIBUTE,
        "KHR_gaussian_splatting:SH_DEGREE_0_COEF_0",
        "KHR_gaussian_splatting:SH_DEGREE_1_COEF_2",
    ] {
        assert!(prim["attributes"].get(name).is_some(), "{name}");
    }
    // POSITION is the first view: the glTF-frame position is flip_yz of the canonical one.
    let mut flipped = splats.clone();
    flipped.flip_yz();
    let x = f32::from_le_bytes(bin[0..4].try_into().unwrap());
    let y = f32::from_le_bytes(bin[4..8].try_into().unwrap());
    let z = f32::from_le_bytes(bin[8..12].try_into().unwrap());
    assert_eq!(Vec3::new(x, y, z), flipped.positions[0]);
    let min = &json["accessors"][0]["min"];
    assert!(min.is_array());
}

#[test]
fn frame_conversion_matches_flip_yz() {
    let splats = random_splats(40, 3, 5);
    let mut exact = splats.clone();
    gltf_to_canonical(&mut exact);
    let mut reference = splats.clone();
    reference.flip_yz();
    assert_eq!(exact.positions, reference.positions);
    assert_eq!(exact.sh, reference.sh);
    for (a, b) in exact.rotations.iter().zip(&reference.rotations) {
        assert!(a.dot(*b).abs() > 1.0 - 1e-6, "{a:?} vs {b:?}");
    }
    let mut back = exact.clone();
    canonical_to_gltf(&mut back);
    assert_eq!(back, splats);
}

#[test]
fn gltf_with_data_uri_buffer() {
    let (splats, mut json, bin) = base_doc(2);
    json["buffers"][0]["uri"] = json!(format!(
        "data:application/octet-stream;base64,{}",
        encode_base64(&bin)
    ));
    let text = serde_json::to_vec_pretty(&json).unwrap();
    assert_eq!(parse(&text).unwrap(), splats);
    // Also the glTF-specific media type, and a BOM.
    json["buffers"][0]["uri"] = json!(format!(
        "data:application/gltf-buffer;base64,{}",
        encode_base64(&bin)
    ));
    let mut text = b"\xEF\xBB\xBF".to_vec();
    text.extend(serde_json::to_vec(&json).unwrap());
    assert_eq!(parse(&text).unwrap(), splats);
    // Broken payloads are typed errors.
    json["buffers"][0]["uri"] = json!("data:application/octet-stream;base64,AB$C");
    let text = serde_json::to_vec(&json).unwrap();
    assert!(matches!(
        parse(&text),
        Err(GltfSplatError::InvalidDataUri { buffer: 0, .. })
    ));
    json["buffers"][0]["uri"] = json!("data:application/octet-stream,abc");
    let text = serde_json::to_vec(&json).unwrap();
    assert!(matches!(
        parse(&text),
        Err(GltfSplatError::InvalidDataUri { .. })
    ));
}

#[test]
fn gltf_with_external_buffer() {
    let (splats, mut json, bin) = base_doc(3);
    json["buffers"][0]["uri"] = json!("splat%20data.bin");
    let text = serde_json::to_vec(&json).unwrap();
    let bin2 = bin.clone();
    let external = move |uri: &str| (uri == "splat data.bin").then(|| bin2.clone());
    assert_eq!(parse_gltf_splats(&text, &external).unwrap(), splats);
    match parse(&text) {
        Err(GltfSplatError::ExternalBufferMissing { uri }) => assert_eq!(uri, "splat data.bin"),
        other => panic!("{other:?}"),
    }
    // A short external file.
    let short = move |_: &str| Some(bin[..bin.len() - 4].to_vec());
    assert!(matches!(
        parse_gltf_splats(&text, &short),
        Err(GltfSplatError::BufferTooShort { buffer: 0, .. })
    ));
}

#[test]
fn container_errors() {
    let good = write_glb_splats(&random_splats(4, 0, 1));
    assert!(matches!(parse(b"PLY\n"), Err(GltfSplatError::NotGltf)));
    assert!(matches!(parse(b""), Err(GltfSplatError::NotGltf)));
    let mut wrong_magic = good.clone();
    wrong_magic[0] = b'x';
    assert!(matches!(parse(&wrong_magic), Err(GltfSplatError::NotGltf)));
    let mut v1 = good.clone();
    v1[4] = 1;
    assert!(matches!(
        parse(&v1),
        Err(GltfSplatError::UnsupportedGlbVersion(1))
    ));
    assert!(matches!(
        parse(&good[..10]),
        Err(GltfSplatError::Truncated { .. })
    ));
    // Declared length beyond the data.
    assert!(matches!(
        parse(&good[..good.len() - 8]),
        Err(GltfSplatError::Truncated { .. })
    ));
    // Declared length shortened too: the BIN chunk no longer fits.
    let mut cut = good[..good.len() - 8].to_vec();
    let len = cut.len() as u32;
    cut[8..12].copy_from_slice(&len.to_le_bytes());
    assert!(matches!(
        parse(&cut),
        Err(GltfSplatError::ChunkOutOfBounds { index: 1, .. })
    ));
    // First chunk not JSON.
    let mut not_json = good.clone();
    not_json[16] = b'X';
    assert!(matches!(
        parse(&not_json),
        Err(GltfSplatError::MissingJsonChunk)
    ));
    // BIN chunk missing.
    let (json, _) = split_glb(&good);
    assert!(matches!(
        parse(&glb(&json, &[])),
        Err(GltfSplatError::MissingBinChunk)
    ));
    // Not glTF JSON.
    assert!(matches!(
        parse(b"{\"foo\": 1}"),
        Err(GltfSplatError::Json(_))
    ));
    let mut j = json.clone();
    j["asset"]["version"] = json!("1.0");
    assert!(matches!(
        parse(&serde_json::to_vec(&j).unwrap()),
        Err(GltfSplatError::UnsupportedAssetVersion(_))
    ));
}

#[test]
#[allow(clippy::redundant_pattern_matching)]
fn document_errors() {
    let (_, json, bin) = base_doc(1);
    let run = |edit: &dyn Fn(&mut Value)| {
        let mut j = json.clone();
        edit(&mut j);
        parse(&glb(&j, &bin))
    };
    macro_rules! expect {
        ($edit:expr, $pat:pat) => {{
            let r = run(&$edit);
            assert!(matches!(r, $pat), "{:?}", r.err());
        }};
    }
    expect!(
        |j: &mut Value| j["accessors"][0]["count"] = json!(21),
        Err(GltfSplatError::AccessorOutOfBounds { accessor: 0, .. })
    );
    expect!(
        |j: &mut Value| j["accessors"][1]["count"] = json!(19),
        Err(GltfSplatError::AttributeCountMismatch { .. })
    );
    expect!(
        |j: &mut Value| j["accessors"][2]["byteOffset"] = json!(8),
        Err(GltfSplatError::AccessorOutOfBounds { accessor: 2, .. })
    );
    expect!(
        |j: &mut Value| j["bufferViews"][0]["byteLength"] = json!(1 << 30),
        Err(GltfSplatError::BufferViewOutOfBounds { buffer_view: 0, .. })
    );
    expect!(
        |j: &mut Value| j["bufferViews"][0]["byteStride"] = json!(8),
        Err(GltfSplatError::InvalidByteStride { .. })
    );
    expect!(
        |j: &mut Value| j["buffers"][0]["byteLength"] = json!(1u64 << 40),
        Err(GltfSplatError::BufferTooShort { .. })
    );
    expect!(
        |j: &mut Value| j["accessors"][0]["type"] = json!("VEC4"),
        Err(GltfSplatError::AccessorType { accessor: 0, .. })
    );
    expect!(
        |j: &mut Value| j["accessors"][4]["componentType"] = json!(5123),
        Err(GltfSplatError::UnsupportedComponentType { accessor: 4, .. })
    );
    expect!(
        |j: &mut Value| j["accessors"][1]["componentType"] = json!(5121),
        Err(GltfSplatError::UnsupportedComponentType { accessor: 1, .. })
    );
    expect!(
        |j: &mut Value| j["accessors"][0]["componentType"] = json!(5125),
        Err(GltfSplatError::UnsupportedComponentType { accessor: 0, .. })
    );
    expect!(
        |j: &mut Value| {
            j["meshes"][0]["primitives"][0]["attributes"]
                .as_object_mut()
                .unwrap()
                .remove("POSITION");
        },
        Err(GltfSplatError::MissingAttribute { .. })
    );
    expect!(
        |j: &mut Value| {
            j["meshes"][0]["primitives"][0]["attributes"]
                .as_object_mut()
                .unwrap()
                .remove(OPACITY_ATTRIBUTE);
        },
        Err(GltfSplatError::MissingAttribute { .. })
    );
    expect!(
        |j: &mut Value| {
            j["meshes"][0]["primitives"][0]["attributes"]
                .as_object_mut()
                .unwrap()
                .remove("KHR_gaussian_splatting:SH_DEGREE_1_COEF_1");
        },
        Err(GltfSplatError::IncompleteShDegree { degree: 1, .. })
    );
    expect!(
        |j: &mut Value| {
            j["meshes"][0]["primitives"][0]["attributes"]
                .as_object_mut()
                .unwrap()
                .remove("KHR_gaussian_splatting:SH_DEGREE_0_COEF_0");
        },
        Err(GltfSplatError::MissingAttribute { .. })
    );
    expect!(
        |j: &mut Value| j["meshes"][0]["primitives"][0]["attributes"]["POSITION"] = json!(99),
        Err(GltfSplatError::InvalidIndex {
            kind: "accessor",
            index: 99
        })
    );
    expect!(
        |j: &mut Value| {
            j["meshes"][0]["primitives"][0]
                .as_object_mut()
                .unwrap()
                .remove("mode");
        },
        Err(GltfSplatError::WrongPrimitiveMode { mode: 4, .. })
    );
    expect!(
        |j: &mut Value| {
            j["meshes"][0]["primitives"][0]["extensions"]
                .as_object_mut()
                .unwrap()
                .remove(EXTENSION_NAME);
        },
        Err(GltfSplatError::NoSplatPrimitive)
    );
    expect!(
        |j: &mut Value| j["meshes"][0]["primitives"][0]["extensions"][EXTENSION_NAME]["kernel"] =
            json!("customShape"),
        Err(GltfSplatError::UnsupportedKernel { .. })
    );
    expect!(
        |j: &mut Value| j["meshes"][0]["primitives"][0]["extensions"][EXTENSION_NAME]["colorSpace"] =
            json!("acescg"),
        Err(GltfSplatError::UnsupportedColorSpace(_))
    );
    expect!(
        |j: &mut Value| j["meshes"][0]["primitives"][0]["extensions"][EXTENSION_NAME]["colorSpace"] =
            json!("lin_rec709_display"),
        Err(GltfSplatError::UnsupportedColorSpace(_))
    );
    expect!(
        |j: &mut Value| j["meshes"][0]["primitives"][0]["extensions"][EXTENSION_NAME]["projection"] =
            json!("orthographic"),
        Err(GltfSplatError::UnsupportedProjection { .. })
    );
    expect!(
        |j: &mut Value| {
            j["meshes"][0]["primitives"][0]["extensions"][EXTENSION_NAME]
                .as_object_mut()
                .unwrap()
                .remove("kernel");
        },
        Err(GltfSplatError::InvalidExtensionObject { .. })
    );
    expect!(
        |j: &mut Value| j["extensionsRequired"] =
            json!(["KHR_gaussian_splatting_compression_spz_2"]),
        Err(GltfSplatError::UnsupportedRequiredExtension(_))
    );
    expect!(
        |j: &mut Value| j["nodes"][0]["children"] = json!([0]),
        Err(GltfSplatError::InvalidNodeHierarchy { node: 0 })
    );
    expect!(
        |j: &mut Value| j["nodes"][0]["scale"] = json!([1.0, 0.0, 1.0]),
        Err(GltfSplatError::DegenerateTransform { node: 0 })
    );
    expect!(
        |j: &mut Value| j["scene"] = json!(3),
        Err(GltfSplatError::InvalidIndex {
            kind: "scene",
            index: 3
        })
    );
    // Harmless required extensions and an unknown sortingMethod are accepted.
    expect!(
        |j: &mut Value| j["extensionsRequired"] =
            json!(["KHR_gaussian_splatting", "KHR_materials_unlit"]),
        Ok(_)
    );
    expect!(
        |j: &mut Value| j["meshes"][0]["primitives"][0]["extensions"][EXTENSION_NAME]["sortingMethod"] =
            json!("other"),
        Ok(_)
    );
    // An SPZ-style nested extension with no plain data.
    expect!(
        |j: &mut Value| {
            j["meshes"][0]["primitives"][0]["extensions"][EXTENSION_NAME]["extensions"] =
                json!({ "KHR_gaussian_splatting_compression_spz_2": { "bufferView": 0 } });
            for a in j["accessors"].as_array_mut().unwrap() {
                a.as_object_mut().unwrap().remove("bufferView");
            }
        },
        Err(GltfSplatError::UnsupportedSplatExtension { .. })
    );
    // ... while plain fallback data next to it is read.
    expect!(
        |j: &mut Value| {
            j["meshes"][0]["primitives"][0]["extensions"][EXTENSION_NAME]["extensions"] =
                json!({ "KHR_gaussian_splatting_compression_spz_2": { "bufferView": 0 } });
        },
        Ok(_)
    );
    expect!(
        |j: &mut Value| {
            for a in j["accessors"].as_array_mut().unwrap() {
                a.as_object_mut().unwrap().remove("bufferView");
            }
        },
        Err(GltfSplatError::NoAttributeData { .. })
    );
}

/// Replaces the float data of accessor `acc` (view `acc`, as written) in place.
fn patch_f32(json: &Value, bin: &mut [u8], acc: usize, index: usize, value: f32) {
    let view = json["accessors"][acc]["bufferView"].as_u64().unwrap() as usize;
    let off = json["bufferViews"][view]["byteOffset"].as_u64().unwrap() as usize + index * 4;
    bin[off..off + 4].copy_from_slice(&value.to_le_bytes());
}

#[test]
fn value_errors() {
    let (_, json, bin) = base_doc(0);
    let mut b = bin.clone();
    patch_f32(&json, &mut b, 0, 4, f32::NAN);
    assert!(matches!(
        parse(&glb(&json, &b)),
        Err(GltfSplatError::InvalidData(_))
    ));
    let mut b = bin.clone();
    patch_f32(&json, &mut b, 3, 2, 1.5);
    assert!(matches!(
        parse(&glb(&json, &b)),
        Err(GltfSplatError::OpacityOutOfRange { vertex: 2, .. })
    ));
    let mut b = bin.clone();
    patch_f32(&json, &mut b, 2, 7, -0.5);
    assert!(matches!(
        parse(&glb(&json, &b)),
        Err(GltfSplatError::NegativeScale { vertex: 2, .. })
    ));
    let mut b = bin.clone();
    for c in 0..4 {
        patch_f32(&json, &mut b, 1, 12 + c, 0.0);
    }
    assert!(matches!(
        parse(&glb(&json, &b)),
        Err(GltfSplatError::ZeroRotation { vertex: 3, .. })
    ));
}

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
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut ok = 0;
    for base in [&glb_bytes, &gltf_bytes] {
        for _ in 0..400 {
            let mut bytes = base.clone();
            for _ in 0..1 + next() % 3 {
                let len = bytes.len() as u64;
                if len == 0 {
                    break;
                }
                let i = (next() % len) as usize;
                match next() % 5 {
                    0 => bytes[i] = next() as u8,
                    1 => bytes[i] = b"0123456789-.e,{}[]\"9"[(next() % 20) as usize],
                    2 => bytes.insert(i, b'0' + (next() % 10) as u8),
                    3 => {
                        bytes.remove(i);
                    }
                    _ => bytes.truncate(i),
                }
            }
            if let Ok(s) = parse(&bytes) {
                assert!(s.validate().is_ok());
                ok += 1;
            }
        }
    }
    // Some corruptions hit float payloads and still parse.
    assert!(ok > 0);
}
