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

mod accessors;
mod errors;
mod frames;
