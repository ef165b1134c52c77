//! The glTF container: the `.glb` chunks or the `.gltf` JSON, the JSON
//! structure the reader needs, buffers (BIN chunk, `data:` URIs, external
//! files) and buffer views.

use std::cell::OnceCell;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::EXTENSION_NAME;
use super::error::{GltfSplatError, Result};

pub(super) const GLB_MAGIC: u32 = 0x4654_6C67; // "glTF"
pub(super) const CHUNK_JSON: u32 = 0x4E4F_534A; // "JSON"
pub(super) const CHUNK_BIN: u32 = 0x004E_4942; // "BIN\0"

// ---------------------------------------------------------------------------
// Container

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The JSON document, the BIN chunk if any, and whether the input was binary.
type Container<'a> = (&'a [u8], Option<&'a [u8]>, bool);

/// Splits the input into (JSON, optional BIN chunk, is-binary).
pub(super) fn split_container(bytes: &[u8]) -> Result<Container<'_>> {
    if bytes.starts_with(b"glTF") {
        let found = bytes.len() as u64;
        let (Some(version), Some(length)) = (read_u32(bytes, 4), read_u32(bytes, 8)) else {
            return Err(GltfSplatError::Truncated {
                expected: 12,
                found,
            });
        };
        if version != 2 {
            return Err(GltfSplatError::UnsupportedGlbVersion(version));
        }
        let length = length as usize;
        if length < 12 || length > bytes.len() {
            return Err(GltfSplatError::Truncated {
                expected: (length as u64).max(12),
                found,
            });
        }
        let container = &bytes[..length];
        let mut json = None;
        let mut bin = None;
        let mut pos = 12usize;
        let mut index = 0usize;
        while pos < length {
            let oob = GltfSplatError::ChunkOutOfBounds {
                index,
                offset: pos as u64,
                container_len: length as u64,
            };
            let (Some(chunk_len), Some(chunk_type)) =
                (read_u32(container, pos), read_u32(container, pos + 4))
            else {
                return Err(oob);
            };
            let start = pos + 8;
            let Some(body) = start
                .checked_add(chunk_len as usize)
                .and_then(|end| container.get(start..end))
            else {
                return Err(oob);
            };
            if index == 0 {
                if chunk_type != CHUNK_JSON {
                    return Err(GltfSplatError::MissingJsonChunk);
                }
                json = Some(body);
            } else if chunk_type == CHUNK_BIN && bin.is_none() {
                bin = Some(body);
            }
            pos = start + body.len();
            index += 1;
        }
        let json = json.ok_or(GltfSplatError::MissingJsonChunk)?;
        Ok((json, bin, true))
    } else {
        let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        match text.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => Ok((text, None, false)),
            _ => Err(GltfSplatError::NotGltf),
        }
    }
}

// ---------------------------------------------------------------------------
// JSON structure (only what the reader needs; unknown properties are ignored)

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Root {
    pub(super) asset: AssetDef,
    #[serde(default)]
    pub(super) extensions_required: Vec<String>,
    #[serde(default)]
    pub(super) buffers: Vec<BufferDef>,
    #[serde(default)]
    pub(super) buffer_views: Vec<BufferViewDef>,
    #[serde(default)]
    pub(super) accessors: Vec<AccessorDef>,
    #[serde(default)]
    pub(super) meshes: Vec<MeshDef>,
    #[serde(default)]
    pub(super) nodes: Vec<NodeDef>,
    #[serde(default)]
    pub(super) scenes: Vec<SceneDef>,
    pub(super) scene: Option<usize>,
}

#[derive(Deserialize)]
pub(super) struct AssetDef {
    pub(super) version: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct BufferDef {
    pub(super) uri: Option<String>,
    pub(super) byte_length: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct BufferViewDef {
    pub(super) buffer: usize,
    #[serde(default)]
    pub(super) byte_offset: u64,
    pub(super) byte_length: u64,
    pub(super) byte_stride: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AccessorDef {
    pub(super) buffer_view: Option<usize>,
    #[serde(default)]
    pub(super) byte_offset: u64,
    pub(super) component_type: u32,
    #[serde(default)]
    pub(super) normalized: bool,
    pub(super) count: u64,
    #[serde(rename = "type")]
    pub(super) ty: String,
    pub(super) sparse: Option<SparseDef>,
}

#[derive(Deserialize)]
pub(super) struct SparseDef {
    pub(super) count: u64,
    pub(super) indices: SparseIndicesDef,
    pub(super) values: SparseValuesDef,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SparseIndicesDef {
    pub(super) buffer_view: usize,
    #[serde(default)]
    pub(super) byte_offset: u64,
    pub(super) component_type: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SparseValuesDef {
    pub(super) buffer_view: usize,
    #[serde(default)]
    pub(super) byte_offset: u64,
}

#[derive(Deserialize)]
pub(super) struct MeshDef {
    #[serde(default)]
    pub(super) primitives: Vec<PrimitiveDef>,
}

#[derive(Deserialize)]
pub(super) struct PrimitiveDef {
    #[serde(default)]
    pub(super) attributes: BTreeMap<String, usize>,
    pub(super) indices: Option<usize>,
    pub(super) mode: Option<u32>,
    #[serde(default)]
    pub(super) extensions: BTreeMap<String, Value>,
}

#[derive(Deserialize)]
pub(super) struct NodeDef {
    #[serde(default)]
    pub(super) children: Vec<usize>,
    pub(super) mesh: Option<usize>,
    pub(super) matrix: Option<[f64; 16]>,
    pub(super) translation: Option<[f64; 3]>,
    pub(super) rotation: Option<[f64; 4]>,
    pub(super) scale: Option<[f64; 3]>,
}

#[derive(Deserialize)]
pub(super) struct SceneDef {
    #[serde(default)]
    pub(super) nodes: Vec<usize>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SplatExtensionDef {
    pub(super) kernel: String,
    pub(super) color_space: String,
    pub(super) projection: Option<String>,
    #[allow(dead_code)]
    pub(super) sorting_method: Option<String>,
    #[serde(default)]
    pub(super) extensions: BTreeMap<String, Value>,
}

/// Required extensions that do not change how splat data is read.
pub(super) fn required_extension_is_harmless(name: &str) -> bool {
    name == EXTENSION_NAME
        || name == "KHR_mesh_quantization"
        || name.starts_with("KHR_materials_")
        || name.starts_with("KHR_texture_")
        || name.starts_with("EXT_texture_")
        || name.starts_with("KHR_lights_")
}

// ---------------------------------------------------------------------------
// Buffers and buffer views

pub(super) enum BufferData<'a> {
    Borrowed(&'a [u8]),
    Owned(Vec<u8>),
}

pub(super) struct Doc<'a> {
    pub(super) root: Root,
    pub(super) bin: Option<&'a [u8]>,
    pub(super) is_glb: bool,
    pub(super) external: &'a dyn Fn(&str) -> Option<Vec<u8>>,
    pub(super) buffers: Vec<OnceCell<BufferData<'a>>>,
}

impl<'a> Doc<'a> {
    pub(super) fn buffer(&self, index: usize) -> Result<&[u8]> {
        let def = self
            .root
            .buffers
            .get(index)
            .ok_or(GltfSplatError::InvalidIndex {
                kind: "buffer",
                index,
            })?;
        let cell = self
            .buffers
            .get(index)
            .ok_or(GltfSplatError::InvalidIndex {
                kind: "buffer",
                index,
            })?;
        if cell.get().is_none() {
            let data = self.load_buffer(index, def)?;
            let _ = cell.set(data);
        }
        let data = match cell.get() {
            Some(BufferData::Borrowed(b)) => *b,
            Some(BufferData::Owned(v)) => v.as_slice(),
            None => {
                return Err(GltfSplatError::InvalidIndex {
                    kind: "buffer",
                    index,
                });
            }
        };
        usize::try_from(def.byte_length)
            .ok()
            .and_then(|n| data.get(..n))
            .ok_or(GltfSplatError::BufferTooShort {
                buffer: index,
                declared: def.byte_length,
                found: data.len() as u64,
            })
    }

    fn load_buffer(&self, index: usize, def: &BufferDef) -> Result<BufferData<'a>> {
        match &def.uri {
            None if self.is_glb && index == 0 => self
                .bin
                .map(BufferData::Borrowed)
                .ok_or(GltfSplatError::MissingBinChunk),
            None => Err(GltfSplatError::MissingBufferUri { buffer: index }),
            Some(uri) => {
                if uri
                    .get(..5)
                    .is_some_and(|s| s.eq_ignore_ascii_case("data:"))
                {
                    decode_data_uri(uri)
                        .map(BufferData::Owned)
                        .map_err(|reason| GltfSplatError::InvalidDataUri {
                            buffer: index,
                            reason,
                        })
                } else {
                    let path = percent_decode(uri);
                    (self.external)(&path)
                        .map(BufferData::Owned)
                        .ok_or(GltfSplatError::ExternalBufferMissing { uri: path })
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// URIs

/// The external (non-`data:`) buffer URIs of a `.gltf` or `.glb` file,
/// percent-decoded, in buffer order: the files a reader must supply to
/// [`parse_gltf_splats`](super::parse_gltf_splats). Empty when the container
/// or its JSON cannot be read (parsing then reports the problem).
pub fn external_buffer_uris(bytes: &[u8]) -> Vec<String> {
    let Ok((json, _, _)) = split_container(bytes) else {
        return Vec::new();
    };
    let Ok(value) = serde_json::from_slice::<Value>(json) else {
        return Vec::new();
    };
    value
        .get("buffers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|b| b.get("uri")?.as_str())
        .filter(|uri| !uri.get(..5).is_some_and(|s| s.eq_ignore_ascii_case("data:")))
        .map(percent_decode)
        .collect()
}

/// Decodes `%XX` escapes; returns the input unchanged if the result is not UTF-8.
pub(super) fn percent_decode(uri: &str) -> String {
    let bytes = uri.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%'
            && let Some(hex) = bytes.get(i + 1..i + 3)
            && let Ok(hex) = std::str::from_utf8(hex)
            && let Ok(v) = u8::from_str_radix(hex, 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| uri.to_owned())
}

/// Decodes a base64 `data:` URI's payload.
pub(super) fn decode_data_uri(uri: &str) -> std::result::Result<Vec<u8>, &'static str> {
    let rest = uri.get(5..).ok_or("missing payload")?;
    let (header, payload) = rest.split_once(',').ok_or("no `,` before the payload")?;
    if !header.to_ascii_lowercase().ends_with(";base64") {
        return Err("only base64 data URIs are supported");
    }
    decode_base64(payload)
}

/// Standard (or URL-safe) base64, padding optional.
pub(super) fn decode_base64(text: &str) -> std::result::Result<Vec<u8>, &'static str> {
    let body = text.trim_end_matches('=');
    if text.len() - body.len() > 2 {
        return Err("too much base64 padding");
    }
    let mut out = Vec::with_capacity(body.len() / 4 * 3 + 3);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for b in body.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return Err("invalid base64 character"),
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if bits >= 6 {
        return Err("truncated base64 payload");
    }
    Ok(out)
}
