//! Typed errors of malformed documents and values.

use super::*;

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
