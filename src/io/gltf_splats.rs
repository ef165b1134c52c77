//! Gaussian splats stored in glTF 2.0 assets with the Khronos
//! `KHR_gaussian_splatting` extension (`.glb` and `.gltf`), and a minimal writer.
//!
//! # The extension, as published
//!
//! Source: `extensions/2.0/Khronos/KHR_gaussian_splatting/README.md` and
//! `schema/mesh.primitive.KHR_gaussian_splatting.schema.json` in the Khronos
//! `glTF` repository (status *Release Candidate*, last changed by the editorial
//! review merged in April 2026).
//!
//! * A mesh primitive whose `extensions` object holds `KHR_gaussian_splatting`
//!   is a splat field. Its `mode` must be `POINTS` (0); its material is ignored.
//! * The extension object: `kernel` (required; only `"ellipse"` is defined),
//!   `colorSpace` (required; `"srgb_rec709_display"` or
//!   `"lin_rec709_display"`), `projection` (default `"perspective"`, the only
//!   value defined), `sortingMethod` (default `"cameraDistance"`, the only value
//!   defined) and `extensions` (for extensions of the extension, such as
//!   compression).
//! * Attributes of the ellipse kernel:
//!
//!   | data | semantic | type | component types |
//!   | --- | --- | --- | --- |
//!   | centre | `POSITION` | VEC3 | as core glTF (float; the integer types of `KHR_mesh_quantization`) |
//!   | rotation | `KHR_gaussian_splatting:ROTATION` | VEC4 | float, normalized byte, normalized short |
//!   | scale | `KHR_gaussian_splatting:SCALE` | VEC3 | float, (normalized) unsigned byte, (normalized) unsigned short |
//!   | opacity | `KHR_gaussian_splatting:OPACITY` | SCALAR | float, normalized unsigned byte, normalized unsigned short |
//!   | SH degree *l*, coefficient *n* | `KHR_gaussian_splatting:SH_DEGREE_l_COEF_n` | VEC3 | float |
//!
//!   Rotations are unit quaternions in glTF order (x, y, z, w); scales are
//!   **linear** standard deviations (not logs) and must not be negative;
//!   opacities are **linear** in `[0, 1]` (already through the sigmoid; values
//!   outside are invalid). `SH_DEGREE_0_COEF_0` (the DC term, RGB) is required;
//!   degree *l* has coefficients `n = 0 ..= 2l`, ordered from `m = −l` to
//!   `m = l`; a degree must be complete and all lower degrees present. The SH
//!   basis (with its Condon–Shortley signs) and the colour
//!   `0.5 + Σ sh · Y(d)` are exactly those of the 3DGS training code, so the
//!   coefficients map one to one onto [`GaussianSplats::sh`]. `COLOR_0` is only
//!   a point-cloud fallback (`0.5 + 0.282095 · dc`, clamped, linearised) and is
//!   ignored here.
//! * Node transforms apply: the centre goes through the node's global matrix
//!   `M`, the covariance becomes `M₃ C Cᵀ M₃ᵀ` with `C = R(q)·diag(s)`, and the SH
//!   "SHOULD" be rotated by the rotation part of `M`. Rendering with matrices
//!   that are not translation · rotation · positive scale is undefined by the
//!   extension.
//! * Frame: the data lives in the glTF frame (+Y up, right-handed, the front of
//!   an asset faces +Z). The extension recommends training in that frame, and
//!   otherwise rotating positions, quaternions and SH on conversion.
//!
//! The draft `KHR_gaussian_splatting_compression_spz_2` (an extension *of* this
//! extension, carried in the `KHR_gaussian_splatting` object's own `extensions`;
//! not in the main branch; last edited October 2025) stores the attributes in one SPZ blob
//! and tells converters to pack and unpack SPZ in its *Left-Up-Front* frame.
//! It is not supported: such primitives load only when their accessors also
//! carry plain (fallback) data; otherwise the reader returns
//! [`GltfSplatError::UnsupportedSplatExtension`] (or
//! [`GltfSplatError::UnsupportedRequiredExtension`] when the file requires it).
//!
//! # What this reader returns
//!
//! [`parse_gltf_splats`] reads `.glb` (magic `glTF`, container version 2, a JSON
//! chunk and an optional BIN chunk) and `.gltf` (JSON; buffers as base64 `data:`
//! URIs or external files fetched through a callback), walks the default scene
//! (or the first scene, or, without scenes, the root nodes, or, without nodes,
//! every mesh), and concatenates every instanced splat primitive after applying
//! its node's global transform. Primitives with a lower SH degree are padded
//! with zero coefficients up to the highest degree found.
//!
//! The result is in the crate's canonical frame, the 3DGS training frame
//! (+X right, +Y down, +Z forward). glTF coordinates are mapped there by the
//! 180° rotation about X — the same rotation as [`GaussianSplats::flip_yz`],
//! applied here exactly (sign flips and a quaternion component permutation), so
//! that the default [`AxisConvention::Opencv`](crate::splat::asset::AxisConvention)
//! turns it back and a glTF splat field lands in Bevy with the file's own
//! coordinates, exactly as Bevy's glTF loader places meshes. (Converters that
//! go through SPZ's "LUF" convention map a PLY's `(x, y, z)` to glTF
//! `(−x, −y, z)`; such a file therefore shows the PLY scene turned 180° about
//! the vertical axis compared with loading the PLY itself, as it does in every
//! glTF viewer.)
//!
//! Node transforms: translations and rotation · uniform-scale matrices (also
//! mirrored ones) are applied exactly; any other invertible matrix (non-uniform
//! scale, shear) is applied exactly to the covariance by re-diagonalising
//! `M₃ C Cᵀ M₃ᵀ` per splat, and the SH are rotated by the rotation factor of
//! the polar decomposition of `M₃` (exact for rotation · scale matrices, the
//! only ones the extension defines rendering for; an approximation for shears).
//! Singular or non-finite matrices are rejected
//! ([`GltfSplatError::DegenerateTransform`]). Morph targets and skins are
//! ignored.
//!
//! The colour space is reported by [`parse_gltf_splat_scene`];
//! [`parse_gltf_splats`] accepts only `srgb_rec709_display`, the
//! display-referred colours every 3DGS trainer produces and this crate renders.

use std::cell::OnceCell;
use std::collections::BTreeMap;

use bevy::math::{DMat3, DMat4, DQuat, DVec3, Quat, Vec3};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::splat::asset::{GaussianSplats, MAX_SH_DEGREE, SplatDataError, sh_coefficient_count};

/// The extension's name, as it appears in `extensionsUsed` and on primitives.
pub const EXTENSION_NAME: &str = "KHR_gaussian_splatting";

/// Attribute semantic of the splat rotations (unit quaternions, x y z w).
pub const ROTATION_ATTRIBUTE: &str = "KHR_gaussian_splatting:ROTATION";

/// Attribute semantic of the splat scales (linear standard deviations).
pub const SCALE_ATTRIBUTE: &str = "KHR_gaussian_splatting:SCALE";

/// Attribute semantic of the splat opacities (linear, `[0, 1]`).
pub const OPACITY_ATTRIBUTE: &str = "KHR_gaussian_splatting:OPACITY";

/// The most splats one asset may expand to (after node instancing); larger
/// assets are rejected with [`GltfSplatError::TooManySplats`] instead of
/// exhausting memory.
pub const MAX_GLTF_SPLATS: usize = 1 << 27;

/// Attribute semantic of SH coefficient `coefficient` (`0 ..= 2·degree`, from
/// `m = −degree` to `m = degree`) of SH degree `degree`, e.g.
/// `KHR_gaussian_splatting:SH_DEGREE_1_COEF_2`.
pub fn sh_attribute_name(degree: u8, coefficient: u8) -> String {
    format!("KHR_gaussian_splatting:SH_DEGREE_{degree}_COEF_{coefficient}")
}

const GLB_MAGIC: u32 = 0x4654_6C67; // "glTF"
const CHUNK_JSON: u32 = 0x4E4F_534A; // "JSON"
const CHUNK_BIN: u32 = 0x004E_4942; // "BIN\0"

/// The colour space of a splat primitive's reconstructed colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GltfSplatColorSpace {
    /// `srgb_rec709_display`: sRGB-encoded, display-referred (as 3DGS trains).
    SrgbRec709Display,
    /// `lin_rec709_display`: linear BT.709, display-referred.
    LinRec709Display,
}

impl GltfSplatColorSpace {
    /// The value of the extension's `colorSpace` property.
    pub fn as_str(self) -> &'static str {
        match self {
            GltfSplatColorSpace::SrgbRec709Display => "srgb_rec709_display",
            GltfSplatColorSpace::LinRec709Display => "lin_rec709_display",
        }
    }
}

/// Splats read from a glTF asset, with the extension properties that matter.
#[derive(Clone, Debug, PartialEq)]
pub struct GltfSplatScene {
    /// All instanced splat primitives, concatenated, in the canonical frame.
    pub splats: GaussianSplats,
    /// The colour space shared by all the splat primitives.
    pub color_space: GltfSplatColorSpace,
    /// How many primitive instances were concatenated.
    pub primitive_instances: usize,
}

/// Why a glTF asset could not be read as Gaussian splats.
#[derive(Debug, thiserror::Error)]
pub enum GltfSplatError {
    /// The bytes start neither with the binary glTF magic nor with a JSON object.
    #[error("not a glTF asset: neither the binary glTF magic `glTF` nor a JSON object")]
    NotGltf,
    /// The binary container's version is not 2.
    #[error("unsupported binary glTF container version {0} (expected 2)")]
    UnsupportedGlbVersion(u32),
    /// The binary container is shorter than its header or declared length.
    #[error("binary glTF is truncated: {expected} bytes needed, the file has {found}")]
    Truncated {
        /// Bytes needed.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// A chunk header or body extends past the container's end.
    #[error(
        "binary glTF chunk {index} at byte {offset} does not fit in the {container_len}-byte container"
    )]
    ChunkOutOfBounds {
        /// 0-based chunk number.
        index: usize,
        /// Byte offset of the chunk header.
        offset: u64,
        /// The container's declared length.
        container_len: u64,
    },
    /// The first chunk of a binary glTF is not a JSON chunk.
    #[error("binary glTF does not start with a JSON chunk")]
    MissingJsonChunk,
    /// The JSON document is malformed or does not have the glTF structure.
    #[error("invalid glTF JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// `asset.version` is not a 2.x version.
    #[error("unsupported glTF asset version `{0}` (expected 2.x)")]
    UnsupportedAssetVersion(String),
    /// `extensionsRequired` names an extension that changes how data must be read.
    #[error("the asset requires the glTF extension `{0}`, which this reader does not support")]
    UnsupportedRequiredExtension(String),
    /// No primitive of the displayed scene carries `KHR_gaussian_splatting`.
    #[error(
        "the asset has no mesh primitive with the `KHR_gaussian_splatting` extension in its scene"
    )]
    NoSplatPrimitive,
    /// The `KHR_gaussian_splatting` object is not an object with the required string properties.
    #[error(
        "invalid `KHR_gaussian_splatting` object on mesh {mesh} primitive {primitive}: {reason}"
    )]
    InvalidExtensionObject {
        /// Mesh index.
        mesh: usize,
        /// Primitive index within the mesh.
        primitive: usize,
        /// What is wrong.
        reason: String,
    },
    /// The `kernel` is not `"ellipse"`.
    #[error(
        "unsupported splat kernel `{kernel}` on mesh {mesh} primitive {primitive} (only `ellipse` is supported)"
    )]
    UnsupportedKernel {
        /// Mesh index.
        mesh: usize,
        /// Primitive index within the mesh.
        primitive: usize,
        /// The kernel named by the file.
        kernel: String,
    },
    /// The `colorSpace` is unknown, or (for [`parse_gltf_splats`]) not sRGB.
    #[error("unsupported splat color space `{0}`")]
    UnsupportedColorSpace(String),
    /// The `projection` is not `"perspective"`.
    #[error(
        "unsupported splat projection `{projection}` on mesh {mesh} primitive {primitive} (only `perspective` is supported)"
    )]
    UnsupportedProjection {
        /// Mesh index.
        mesh: usize,
        /// Primitive index within the mesh.
        primitive: usize,
        /// The projection named by the file.
        projection: String,
    },
    /// Two splat primitives declare different colour spaces.
    #[error("splat primitives use different color spaces (`{first}` and `{other}`)")]
    MixedColorSpaces {
        /// The first primitive's colour space.
        first: &'static str,
        /// A differing one.
        other: &'static str,
    },
    /// The primitive's data is provided only by an extension of the extension
    /// (e.g. SPZ compression) that this reader does not implement.
    #[error(
        "mesh {mesh} primitive {primitive} stores its splats with the unsupported extension `{extension}`"
    )]
    UnsupportedSplatExtension {
        /// Mesh index.
        mesh: usize,
        /// Primitive index within the mesh.
        primitive: usize,
        /// The nested extension's name.
        extension: String,
    },
    /// The splat primitive's `mode` is not `POINTS` (an absent mode means triangles).
    #[error(
        "mesh {mesh} primitive {primitive} has mode {mode}; splat primitives must be POINTS (0)"
    )]
    WrongPrimitiveMode {
        /// Mesh index.
        mesh: usize,
        /// Primitive index within the mesh.
        primitive: usize,
        /// The mode found.
        mode: u32,
    },
    /// A required attribute is absent.
    #[error("mesh {mesh} primitive {primitive} has no `{attribute}` attribute")]
    MissingAttribute {
        /// Mesh index.
        mesh: usize,
        /// Primitive index within the mesh.
        primitive: usize,
        /// The attribute semantic.
        attribute: String,
    },
    /// An SH degree is only partly present, or present while a lower one is missing.
    #[error(
        "mesh {mesh} primitive {primitive}: SH degree {degree} is incomplete or lower degrees are missing"
    )]
    IncompleteShDegree {
        /// Mesh index.
        mesh: usize,
        /// Primitive index within the mesh.
        primitive: usize,
        /// The offending degree.
        degree: u8,
    },
    /// None of the primitive's attributes is backed by a buffer view.
    #[error("mesh {mesh} primitive {primitive} has no attribute stored in a buffer view")]
    NoAttributeData {
        /// Mesh index.
        mesh: usize,
        /// Primitive index within the mesh.
        primitive: usize,
    },
    /// An index refers past the end of a top-level array.
    #[error("{kind} index {index} does not exist")]
    InvalidIndex {
        /// Which array (`"accessor"`, `"bufferView"`, `"buffer"`, `"mesh"`, `"node"`, `"scene"`).
        kind: &'static str,
        /// The index.
        index: usize,
    },
    /// An accessor's `type` is not what its attribute needs.
    #[error("accessor {accessor} for `{attribute}` has type `{found}`, expected `{expected}`")]
    AccessorType {
        /// Accessor index.
        accessor: usize,
        /// The attribute it feeds.
        attribute: String,
        /// The type required.
        expected: &'static str,
        /// The type found.
        found: String,
    },
    /// An accessor's component type (and normalisation) is not allowed for its attribute.
    #[error(
        "accessor {accessor} for `{attribute}` has unsupported component type {component_type} (normalized: {normalized})"
    )]
    UnsupportedComponentType {
        /// Accessor index.
        accessor: usize,
        /// The attribute it feeds.
        attribute: String,
        /// The `componentType` code.
        component_type: u32,
        /// The `normalized` flag.
        normalized: bool,
    },
    /// An accessor's elements extend past its buffer view.
    #[error("accessor {accessor} needs {needed} bytes of its buffer view, which has {available}")]
    AccessorOutOfBounds {
        /// Accessor index.
        accessor: usize,
        /// Bytes needed from the view's start (saturating).
        needed: u64,
        /// The view's length.
        available: u64,
    },
    /// A buffer view extends past its buffer.
    #[error("buffer view {buffer_view} needs {needed} bytes of its buffer, which has {available}")]
    BufferViewOutOfBounds {
        /// Buffer view index.
        buffer_view: usize,
        /// Bytes needed from the buffer's start (saturating).
        needed: u64,
        /// The buffer's length.
        available: u64,
    },
    /// A buffer view's `byteStride` is smaller than an element or above 252.
    #[error(
        "buffer view {buffer_view} has byteStride {stride}, invalid for {element_size}-byte elements"
    )]
    InvalidByteStride {
        /// Buffer view index.
        buffer_view: usize,
        /// The stride.
        stride: u64,
        /// The element size it must hold.
        element_size: u64,
    },
    /// The attributes of one primitive have different counts.
    #[error(
        "mesh {mesh} primitive {primitive}: `{attribute}` has {found} elements, POSITION has {expected}"
    )]
    AttributeCountMismatch {
        /// Mesh index.
        mesh: usize,
        /// Primitive index within the mesh.
        primitive: usize,
        /// The attribute semantic.
        attribute: String,
        /// POSITION's count.
        expected: u64,
        /// This attribute's count.
        found: u64,
    },
    /// A sparse accessor substitutes an element past its count.
    #[error("sparse accessor {accessor} substitutes element {index} of {count}")]
    SparseIndexOutOfRange {
        /// Accessor index.
        accessor: usize,
        /// The substituted index.
        index: u64,
        /// The accessor's count.
        count: u64,
    },
    /// A primitive's `indices` refer past its vertex count.
    #[error(
        "mesh {mesh} primitive {primitive}: index {index} is out of range for {vertex_count} splats"
    )]
    VertexIndexOutOfRange {
        /// Mesh index.
        mesh: usize,
        /// Primitive index within the mesh.
        primitive: usize,
        /// The index value.
        index: u64,
        /// The primitive's vertex count.
        vertex_count: u64,
    },
    /// A buffer holds fewer bytes than its `byteLength`.
    #[error("buffer {buffer} declares {declared} bytes but {found} are available")]
    BufferTooShort {
        /// Buffer index.
        buffer: usize,
        /// `byteLength`.
        declared: u64,
        /// Bytes available.
        found: u64,
    },
    /// Buffer 0 of a `.glb` has no URI, but the file has no BIN chunk.
    #[error("binary glTF buffer 0 refers to the BIN chunk, but the file has none")]
    MissingBinChunk,
    /// A buffer has no URI and is not the `.glb` BIN chunk.
    #[error("buffer {buffer} has no uri")]
    MissingBufferUri {
        /// Buffer index.
        buffer: usize,
    },
    /// The callback did not provide an external buffer.
    #[error("external buffer `{uri}` is not available")]
    ExternalBufferMissing {
        /// The buffer's URI (percent-decoded).
        uri: String,
    },
    /// A `data:` URI is not valid base64 data.
    #[error("buffer {buffer} has an invalid data URI: {reason}")]
    InvalidDataUri {
        /// Buffer index.
        buffer: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// The node graph is not a forest (a cycle, or a node with two parents).
    #[error("node {node} is reached twice: the node hierarchy is not a set of disjoint trees")]
    InvalidNodeHierarchy {
        /// The node reached twice.
        node: usize,
    },
    /// A node's global matrix is singular or not finite.
    #[error("node {node} has a singular or non-finite global transform")]
    DegenerateTransform {
        /// The node holding the splat mesh.
        node: usize,
    },
    /// A scale is negative.
    #[error("mesh {mesh} primitive {primitive}: splat {vertex} has a negative scale")]
    NegativeScale {
        /// Mesh index.
        mesh: usize,
        /// Primitive index within the mesh.
        primitive: usize,
        /// Vertex index within the primitive.
        vertex: usize,
    },
    /// An opacity is outside `[0, 1]`.
    #[error(
        "mesh {mesh} primitive {primitive}: splat {vertex} has opacity {value}, outside [0, 1]"
    )]
    OpacityOutOfRange {
        /// Mesh index.
        mesh: usize,
        /// Primitive index within the mesh.
        primitive: usize,
        /// Vertex index within the primitive.
        vertex: usize,
        /// The value.
        value: f32,
    },
    /// A rotation quaternion is zero.
    #[error("mesh {mesh} primitive {primitive}: splat {vertex} has a zero rotation quaternion")]
    ZeroRotation {
        /// Mesh index.
        mesh: usize,
        /// Primitive index within the mesh.
        primitive: usize,
        /// Vertex index within the primitive.
        vertex: usize,
    },
    /// The asset expands to more than [`MAX_GLTF_SPLATS`] splats.
    #[error("the asset expands to {count} splats, more than the limit of {limit}")]
    TooManySplats {
        /// Splats after instancing (saturating).
        count: u64,
        /// [`MAX_GLTF_SPLATS`].
        limit: usize,
    },
    /// Memory for the splats could not be reserved.
    #[error("not enough memory for the splats")]
    OutOfMemory,
    /// The decoded splats contain NaN / infinite values or are inconsistent.
    #[error("invalid splat data: {0}")]
    InvalidData(#[from] SplatDataError),
}

type Result<T> = std::result::Result<T, GltfSplatError>;

/// Parses a `.glb` or `.gltf` asset with `KHR_gaussian_splatting` primitives
/// into splats in the canonical (3DGS training, +Y down) frame.
///
/// `external(uri)` supplies buffers stored in other files; it receives the
/// buffer's URI percent-decoded (e.g. `"splats data.bin"` for
/// `"splats%20data.bin"`), relative to the asset, and returns `None` when the
/// file is unavailable. Buffers given as base64 `data:` URIs and the `.glb` BIN
/// chunk need no callback.
///
/// Fails with [`GltfSplatError::UnsupportedColorSpace`] for linear-colour
/// primitives (see [`parse_gltf_splat_scene`] to read those). The result is
/// validated.
pub fn parse_gltf_splats(
    bytes: &[u8],
    external: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> std::result::Result<GaussianSplats, GltfSplatError> {
    let scene = parse_gltf_splat_scene(bytes, external)?;
    match scene.color_space {
        GltfSplatColorSpace::SrgbRec709Display => Ok(scene.splats),
        other => Err(GltfSplatError::UnsupportedColorSpace(
            other.as_str().to_owned(),
        )),
    }
}

/// Like [`parse_gltf_splats`], but accepts both published colour spaces and
/// reports which one the splats use (coefficients are returned as stored).
pub fn parse_gltf_splat_scene(
    bytes: &[u8],
    external: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> std::result::Result<GltfSplatScene, GltfSplatError> {
    let (json, bin, is_glb) = split_container(bytes)?;
    let root: Root = serde_json::from_slice(json)?;
    let doc = Doc {
        buffers: (0..root.buffers.len()).map(|_| OnceCell::new()).collect(),
        root,
        bin,
        is_glb,
        external,
    };
    doc.read()
}

/// Writes splats (in the canonical frame) as a minimal conforming `.glb`: one
/// node, one mesh with one `POINTS` primitive carrying `KHR_gaussian_splatting`
/// (`kernel` `ellipse`, `colorSpace` `srgb_rec709_display`), float attributes
/// for position, rotation, scale, opacity and every SH coefficient, converted
/// to the glTF frame. [`parse_gltf_splats`] reads it back exactly.
///
/// The splats should pass [`GaussianSplats::validate`]; missing entries of
/// shorter arrays are written as identity / zero values. An empty scene gives
/// an asset without meshes, which the reader rejects with
/// [`GltfSplatError::NoSplatPrimitive`].
pub fn write_glb_splats(splats: &GaussianSplats) -> Vec<u8> {
    let mut s = GaussianSplats {
        sh_degree: splats.sh_degree.min(MAX_SH_DEGREE),
        ..Default::default()
    };
    let n = splats.len();
    let k_in = sh_coefficient_count(splats.sh_degree.min(15));
    let k = sh_coefficient_count(s.sh_degree);
    for i in 0..n {
        s.positions
            .push(splats.positions.get(i).copied().unwrap_or(Vec3::ZERO));
        s.rotations
            .push(splats.rotations.get(i).copied().unwrap_or(Quat::IDENTITY));
        s.scales
            .push(splats.scales.get(i).copied().unwrap_or(Vec3::ZERO));
        s.opacities
            .push(splats.opacities.get(i).copied().unwrap_or(0.0));
        for j in 0..k {
            s.sh.push(splats.sh.get(i * k_in + j).copied().unwrap_or([0.0; 3]));
        }
    }
    canonical_to_gltf(&mut s);

    let mut asset = json!({
        "asset": { "version": "2.0", "generator": "bevy_radiance" },
        "extensionsUsed": [EXTENSION_NAME],
    });
    if n == 0 {
        return assemble_glb(&asset, &[]);
    }
    let mut bin: Vec<u8> = Vec::new();
    let mut views = Vec::new();
    let mut accessors = Vec::new();
    let mut attributes = serde_json::Map::new();
    let mut add = |name: String, ty: &str, data: &[f32], extra: Option<(Vec3, Vec3)>| {
        let offset = bin.len();
        for v in data {
            bin.extend_from_slice(&v.to_le_bytes());
        }
        views.push(json!({ "buffer": 0, "byteOffset": offset, "byteLength": data.len() * 4 }));
        let mut accessor = json!({
            "bufferView": views.len() - 1,
            "componentType": 5126,
            "count": n,
            "type": ty,
        });
        if let (Some((lo, hi)), Some(obj)) = (extra, accessor.as_object_mut()) {
            obj.insert("min".into(), json!([lo.x, lo.y, lo.z]));
            obj.insert("max".into(), json!([hi.x, hi.y, hi.z]));
        }
        accessors.push(accessor);
        attributes.insert(name, json!(accessors.len() - 1));
    };
    let flat3 = |v: &[Vec3]| v.iter().flat_map(|p| p.to_array()).collect::<Vec<f32>>();
    add("POSITION".into(), "VEC3", &flat3(&s.positions), s.bounds());
    let rot: Vec<f32> = s.rotations.iter().flat_map(|q| q.to_array()).collect();
    add(ROTATION_ATTRIBUTE.into(), "VEC4", &rot, None);
    add(SCALE_ATTRIBUTE.into(), "VEC3", &flat3(&s.scales), None);
    add(OPACITY_ATTRIBUTE.into(), "SCALAR", &s.opacities, None);
    for degree in 0..=s.sh_degree {
        for c in 0..2 * degree + 1 {
            let j = (degree as usize) * (degree as usize) + c as usize;
            let data: Vec<f32> = (0..n)
                .flat_map(|i| s.sh.get(i * k + j).copied().unwrap_or([0.0; 3]))
                .collect();
            add(sh_attribute_name(degree, c), "VEC3", &data, None);
        }
    }
    if let Some(obj) = asset.as_object_mut() {
        obj.insert("scene".into(), json!(0));
        obj.insert("scenes".into(), json!([{ "nodes": [0] }]));
        obj.insert("nodes".into(), json!([{ "mesh": 0 }]));
        obj.insert(
            "meshes".into(),
            json!([{ "primitives": [{
                "attributes": attributes,
                "mode": 0,
                "extensions": { EXTENSION_NAME: {
                    "kernel": "ellipse",
                    "colorSpace": "srgb_rec709_display",
                    "projection": "perspective",
                    "sortingMethod": "cameraDistance",
                } },
            }] }]),
        );
        obj.insert("buffers".into(), json!([{ "byteLength": bin.len() }]));
        obj.insert("bufferViews".into(), Value::Array(views));
        obj.insert("accessors".into(), Value::Array(accessors));
    }
    assemble_glb(&asset, &bin)
}

/// Builds a `.glb` container from a JSON document and BIN chunk contents.
fn assemble_glb(json: &Value, bin: &[u8]) -> Vec<u8> {
    let mut json_bytes = serde_json::to_vec(json).unwrap_or_default();
    while !json_bytes.len().is_multiple_of(4) {
        json_bytes.push(b' ');
    }
    let bin_padded = bin.len().div_ceil(4) * 4;
    let mut total = 12 + 8 + json_bytes.len();
    if !bin.is_empty() {
        total += 8 + bin_padded;
    }
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&GLB_MAGIC.to_le_bytes());
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&(json_bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(&CHUNK_JSON.to_le_bytes());
    out.extend_from_slice(&json_bytes);
    if !bin.is_empty() {
        out.extend_from_slice(&(bin_padded as u32).to_le_bytes());
        out.extend_from_slice(&CHUNK_BIN.to_le_bytes());
        out.extend_from_slice(bin);
        out.resize(total, 0);
    }
    out
}

// ---------------------------------------------------------------------------
// Container

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The JSON document, the BIN chunk if any, and whether the input was binary.
type Container<'a> = (&'a [u8], Option<&'a [u8]>, bool);

/// Splits the input into (JSON, optional BIN chunk, is-binary).
fn split_container(bytes: &[u8]) -> Result<Container<'_>> {
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
struct Root {
    asset: AssetDef,
    #[serde(default)]
    extensions_required: Vec<String>,
    #[serde(default)]
    buffers: Vec<BufferDef>,
    #[serde(default)]
    buffer_views: Vec<BufferViewDef>,
    #[serde(default)]
    accessors: Vec<AccessorDef>,
    #[serde(default)]
    meshes: Vec<MeshDef>,
    #[serde(default)]
    nodes: Vec<NodeDef>,
    #[serde(default)]
    scenes: Vec<SceneDef>,
    scene: Option<usize>,
}

#[derive(Deserialize)]
struct AssetDef {
    version: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BufferDef {
    uri: Option<String>,
    byte_length: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BufferViewDef {
    buffer: usize,
    #[serde(default)]
    byte_offset: u64,
    byte_length: u64,
    byte_stride: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccessorDef {
    buffer_view: Option<usize>,
    #[serde(default)]
    byte_offset: u64,
    component_type: u32,
    #[serde(default)]
    normalized: bool,
    count: u64,
    #[serde(rename = "type")]
    ty: String,
    sparse: Option<SparseDef>,
}

#[derive(Deserialize)]
struct SparseDef {
    count: u64,
    indices: SparseIndicesDef,
    values: SparseValuesDef,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SparseIndicesDef {
    buffer_view: usize,
    #[serde(default)]
    byte_offset: u64,
    component_type: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SparseValuesDef {
    buffer_view: usize,
    #[serde(default)]
    byte_offset: u64,
}

#[derive(Deserialize)]
struct MeshDef {
    #[serde(default)]
    primitives: Vec<PrimitiveDef>,
}

#[derive(Deserialize)]
struct PrimitiveDef {
    #[serde(default)]
    attributes: BTreeMap<String, usize>,
    indices: Option<usize>,
    mode: Option<u32>,
    #[serde(default)]
    extensions: BTreeMap<String, Value>,
}

#[derive(Deserialize)]
struct NodeDef {
    #[serde(default)]
    children: Vec<usize>,
    mesh: Option<usize>,
    matrix: Option<[f64; 16]>,
    translation: Option<[f64; 3]>,
    rotation: Option<[f64; 4]>,
    scale: Option<[f64; 3]>,
}

#[derive(Deserialize)]
struct SceneDef {
    #[serde(default)]
    nodes: Vec<usize>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SplatExtensionDef {
    kernel: String,
    color_space: String,
    projection: Option<String>,
    #[allow(dead_code)]
    sorting_method: Option<String>,
    #[serde(default)]
    extensions: BTreeMap<String, Value>,
}

/// Required extensions that do not change how splat data is read.
fn required_extension_is_harmless(name: &str) -> bool {
    name == EXTENSION_NAME
        || name == "KHR_mesh_quantization"
        || name.starts_with("KHR_materials_")
        || name.starts_with("KHR_texture_")
        || name.starts_with("EXT_texture_")
        || name.starts_with("KHR_lights_")
}

// ---------------------------------------------------------------------------
// Accessors

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Comp {
    I8,
    U8,
    I16,
    U16,
    U32,
    F32,
}

impl Comp {
    fn from_code(code: u32) -> Option<Comp> {
        Some(match code {
            5120 => Comp::I8,
            5121 => Comp::U8,
            5122 => Comp::I16,
            5123 => Comp::U16,
            5125 => Comp::U32,
            5126 => Comp::F32,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            Comp::I8 | Comp::U8 => 1,
            Comp::I16 | Comp::U16 => 2,
            Comp::U32 | Comp::F32 => 4,
        }
    }

    /// Decodes one component (`bytes` has exactly [`Comp::size`] bytes).
    fn decode(self, bytes: &[u8], normalized: bool) -> f32 {
        match (self, bytes) {
            (Comp::F32, &[a, b, c, d]) => f32::from_le_bytes([a, b, c, d]),
            (Comp::U32, &[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]) as f32,
            (Comp::I8, &[a]) => {
                let v = a as i8 as f32;
                if normalized { (v / 127.0).max(-1.0) } else { v }
            }
            (Comp::U8, &[a]) => {
                let v = a as f32;
                if normalized { v / 255.0 } else { v }
            }
            (Comp::I16, &[a, b]) => {
                let v = i16::from_le_bytes([a, b]) as f32;
                if normalized {
                    (v / 32767.0).max(-1.0)
                } else {
                    v
                }
            }
            (Comp::U16, &[a, b]) => {
                let v = u16::from_le_bytes([a, b]) as f32;
                if normalized { v / 65535.0 } else { v }
            }
            _ => 0.0,
        }
    }

    fn decode_index(self, bytes: &[u8]) -> u64 {
        match (self, bytes) {
            (Comp::U8, &[a]) => a as u64,
            (Comp::U16, &[a, b]) => u16::from_le_bytes([a, b]) as u64,
            (Comp::U32, &[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]) as u64,
            _ => u64::MAX,
        }
    }
}

/// Component types (with normalisation) an attribute accepts.
type Allowed = &'static [(Comp, bool)];

const POSITION_TYPES: Allowed = &[
    (Comp::F32, false),
    (Comp::I8, false),
    (Comp::I8, true),
    (Comp::U8, false),
    (Comp::U8, true),
    (Comp::I16, false),
    (Comp::I16, true),
    (Comp::U16, false),
    (Comp::U16, true),
];
const ROTATION_TYPES: Allowed = &[(Comp::F32, false), (Comp::I8, true), (Comp::I16, true)];
const SCALE_TYPES: Allowed = &[
    (Comp::F32, false),
    (Comp::U8, false),
    (Comp::U8, true),
    (Comp::U16, false),
    (Comp::U16, true),
];
const OPACITY_TYPES: Allowed = &[(Comp::F32, false), (Comp::U8, true), (Comp::U16, true)];
const SH_TYPES: Allowed = &[(Comp::F32, false)];
const INDEX_TYPES: Allowed = &[(Comp::U8, false), (Comp::U16, false), (Comp::U32, false)];

/// `count` fixed-size elements `stride` bytes apart.
#[derive(Clone, Copy)]
struct Strided<'a> {
    data: &'a [u8],
    stride: usize,
    elem: usize,
}

impl<'a> Strided<'a> {
    fn element(&self, i: usize) -> Option<&'a [u8]> {
        let start = i.checked_mul(self.stride)?;
        self.data.get(start..start.checked_add(self.elem)?)
    }
}

/// A bounds-checked accessor, ready to be read.
struct Resolved<'a> {
    index: usize,
    count: usize,
    comps: usize,
    comp: Comp,
    normalized: bool,
    base: Option<Strided<'a>>,
    /// (indices, index component type, values) of a sparse accessor.
    sparse: Option<(Strided<'a>, Comp, Strided<'a>)>,
}

impl Resolved<'_> {
    /// Calls `f(i, element bytes)` for every element (sparse substitutions after
    /// the base values; elements without a buffer view are zero bytes).
    fn for_each_raw(&self, mut f: impl FnMut(usize, &[u8])) -> Result<()> {
        const ZERO: [u8; 16] = [0; 16];
        let elem = self.comp.size() * self.comps;
        let zero = ZERO.get(..elem).unwrap_or(&ZERO);
        match &self.base {
            Some(base) => {
                for i in 0..self.count {
                    if let Some(e) = base.element(i) {
                        f(i, e);
                    }
                }
            }
            None => {
                for i in 0..self.count {
                    f(i, zero);
                }
            }
        }
        if let Some((indices, index_comp, values)) = &self.sparse {
            let n = indices.data.len() / indices.stride.max(1);
            for s in 0..n {
                let (Some(ib), Some(vb)) = (indices.element(s), values.element(s)) else {
                    break;
                };
                let i = index_comp.decode_index(ib);
                match usize::try_from(i) {
                    Ok(i) if i < self.count => f(i, vb),
                    _ => {
                        return Err(GltfSplatError::SparseIndexOutOfRange {
                            accessor: self.index,
                            index: i,
                            count: self.count as u64,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Calls `f(i, components)` for every element, decoded to floats.
    fn for_each(&self, mut f: impl FnMut(usize, [f32; 4])) -> Result<()> {
        let size = self.comp.size();
        self.for_each_raw(|i, elem| {
            let mut v = [0.0f32; 4];
            for (slot, c) in v.iter_mut().zip(elem.chunks_exact(size)) {
                *slot = self.comp.decode(c, self.normalized);
            }
            f(i, v);
        })
    }

    /// The values of an index accessor, as integers.
    fn indices(&self) -> Result<Vec<u64>> {
        let mut out = Vec::new();
        out.try_reserve_exact(self.count)
            .map_err(|_| GltfSplatError::OutOfMemory)?;
        out.resize(self.count, 0);
        self.for_each_raw(|i, elem| {
            if let Some(slot) = out.get_mut(i) {
                *slot = self.comp.decode_index(elem);
            }
        })?;
        Ok(out)
    }
}

enum BufferData<'a> {
    Borrowed(&'a [u8]),
    Owned(Vec<u8>),
}

struct Doc<'a> {
    root: Root,
    bin: Option<&'a [u8]>,
    is_glb: bool,
    external: &'a dyn Fn(&str) -> Option<Vec<u8>>,
    buffers: Vec<OnceCell<BufferData<'a>>>,
}

/// A splat primitive, validated and with its accessors resolved.
struct SplatPrimitive<'a> {
    mesh: usize,
    primitive: usize,
    position: Resolved<'a>,
    rotation: Resolved<'a>,
    scale: Resolved<'a>,
    opacity: Resolved<'a>,
    /// One accessor per SH coefficient, `(degree + 1)²` of them.
    sh: Vec<Resolved<'a>>,
    degree: u8,
    indices: Option<Resolved<'a>>,
    vertex_count: usize,
    splat_count: usize,
    color_space: GltfSplatColorSpace,
}

impl<'a> Doc<'a> {
    fn buffer(&self, index: usize) -> Result<&[u8]> {
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

    /// A bounds-checked region of a buffer view: `count` elements of `elem`
    /// bytes from `offset` (the view's stride, or tight packing).
    fn view_region(
        &self,
        view_index: usize,
        offset: u64,
        count: usize,
        elem: usize,
        use_stride: bool,
        accessor: usize,
    ) -> Result<Strided<'_>> {
        let view = self
            .root
            .buffer_views
            .get(view_index)
            .ok_or(GltfSplatError::InvalidIndex {
                kind: "bufferView",
                index: view_index,
            })?;
        let buffer = self.buffer(view.buffer)?;
        let view_end = view.byte_offset.saturating_add(view.byte_length);
        let data = usize::try_from(view.byte_offset)
            .ok()
            .zip(usize::try_from(view_end).ok())
            .and_then(|(s, e)| buffer.get(s..e))
            .ok_or(GltfSplatError::BufferViewOutOfBounds {
                buffer_view: view_index,
                needed: view_end,
                available: buffer.len() as u64,
            })?;
        let stride = match view.byte_stride {
            Some(s) if use_stride => {
                if s < elem as u64 || s > 252 {
                    return Err(GltfSplatError::InvalidByteStride {
                        buffer_view: view_index,
                        stride: s,
                        element_size: elem as u64,
                    });
                }
                s as usize
            }
            _ => elem,
        };
        let needed = if count == 0 {
            offset
        } else {
            ((count - 1) as u64)
                .saturating_mul(stride as u64)
                .saturating_add(elem as u64)
                .saturating_add(offset)
        };
        let region = usize::try_from(offset)
            .ok()
            .zip(usize::try_from(needed).ok())
            .and_then(|(s, e)| data.get(s..e))
            .ok_or(GltfSplatError::AccessorOutOfBounds {
                accessor,
                needed,
                available: data.len() as u64,
            })?;
        Ok(Strided {
            data: region,
            stride,
            elem,
        })
    }

    /// Resolves accessor `index` for `attribute`, checking its type, component
    /// type and every byte range it reads.
    fn resolve(
        &self,
        index: usize,
        attribute: &str,
        ty: &'static str,
        comps: usize,
        allowed: Allowed,
    ) -> Result<Resolved<'_>> {
        let acc = self
            .root
            .accessors
            .get(index)
            .ok_or(GltfSplatError::InvalidIndex {
                kind: "accessor",
                index,
            })?;
        if acc.ty != ty {
            return Err(GltfSplatError::AccessorType {
                accessor: index,
                attribute: attribute.to_owned(),
                expected: ty,
                found: acc.ty.clone(),
            });
        }
        let unsupported = || GltfSplatError::UnsupportedComponentType {
            accessor: index,
            attribute: attribute.to_owned(),
            component_type: acc.component_type,
            normalized: acc.normalized,
        };
        let comp = Comp::from_code(acc.component_type).ok_or_else(unsupported)?;
        if !allowed.contains(&(comp, acc.normalized)) {
            return Err(unsupported());
        }
        let elem = comp.size() * comps;
        let count =
            usize::try_from(acc.count).map_err(|_| GltfSplatError::AccessorOutOfBounds {
                accessor: index,
                needed: u64::MAX,
                available: 0,
            })?;
        let base = match acc.buffer_view {
            Some(view) => {
                Some(self.view_region(view, acc.byte_offset, count, elem, true, index)?)
            }
            None => None,
        };
        let sparse = match &acc.sparse {
            None => None,
            Some(sp) => {
                let index_comp = Comp::from_code(sp.indices.component_type)
                    .filter(|c| INDEX_TYPES.contains(&(*c, false)))
                    .ok_or(GltfSplatError::UnsupportedComponentType {
                        accessor: index,
                        attribute: format!("{attribute} (sparse indices)"),
                        component_type: sp.indices.component_type,
                        normalized: false,
                    })?;
                let n =
                    usize::try_from(sp.count).map_err(|_| GltfSplatError::AccessorOutOfBounds {
                        accessor: index,
                        needed: u64::MAX,
                        available: 0,
                    })?;
                let indices = self.view_region(
                    sp.indices.buffer_view,
                    sp.indices.byte_offset,
                    n,
                    index_comp.size(),
                    false,
                    index,
                )?;
                let values = self.view_region(
                    sp.values.buffer_view,
                    sp.values.byte_offset,
                    n,
                    elem,
                    false,
                    index,
                )?;
                Some((indices, index_comp, values))
            }
        };
        Ok(Resolved {
            index,
            count,
            comps,
            comp,
            normalized: acc.normalized,
            base,
            sparse,
        })
    }

    fn accessor_backed(&self, index: usize) -> bool {
        self.root
            .accessors
            .get(index)
            .is_some_and(|a| a.buffer_view.is_some())
    }

    /// Validates a primitive; `None` when it is not a splat primitive.
    fn plan_primitive<'d>(
        &'d self,
        mesh: usize,
        primitive: usize,
        def: &PrimitiveDef,
    ) -> Result<Option<SplatPrimitive<'d>>> {
        let Some(ext) = def.extensions.get(EXTENSION_NAME) else {
            return Ok(None);
        };
        let ext: SplatExtensionDef = SplatExtensionDef::deserialize(ext).map_err(|e| {
            GltfSplatError::InvalidExtensionObject {
                mesh,
                primitive,
                reason: e.to_string(),
            }
        })?;
        if ext.kernel != "ellipse" {
            return Err(GltfSplatError::UnsupportedKernel {
                mesh,
                primitive,
                kernel: ext.kernel,
            });
        }
        let color_space = match ext.color_space.as_str() {
            "srgb_rec709_display" => GltfSplatColorSpace::SrgbRec709Display,
            "lin_rec709_display" => GltfSplatColorSpace::LinRec709Display,
            _ => return Err(GltfSplatError::UnsupportedColorSpace(ext.color_space)),
        };
        if let Some(projection) = ext.projection
            && projection != "perspective"
        {
            return Err(GltfSplatError::UnsupportedProjection {
                mesh,
                primitive,
                projection,
            });
        }
        // `sortingMethod` only orders the blending; the renderer sorts its own way.
        let mode = def.mode.unwrap_or(4);
        if mode != 0 {
            return Err(GltfSplatError::WrongPrimitiveMode {
                mesh,
                primitive,
                mode,
            });
        }

        let attr = |name: &str| -> Result<usize> {
            def.attributes
                .get(name)
                .copied()
                .ok_or_else(|| GltfSplatError::MissingAttribute {
                    mesh,
                    primitive,
                    attribute: name.to_owned(),
                })
        };
        let mut plain = vec![
            ("POSITION".to_owned(), attr("POSITION")?),
            (ROTATION_ATTRIBUTE.to_owned(), attr(ROTATION_ATTRIBUTE)?),
            (SCALE_ATTRIBUTE.to_owned(), attr(SCALE_ATTRIBUTE)?),
            (OPACITY_ATTRIBUTE.to_owned(), attr(OPACITY_ATTRIBUTE)?),
        ];
        let dc = sh_attribute_name(0, 0);
        let mut sh_names = vec![(dc.clone(), attr(&dc)?)];
        let mut degree = 0u8;
        for l in 1..=MAX_SH_DEGREE {
            let names: Vec<String> = (0..2 * l + 1).map(|c| sh_attribute_name(l, c)).collect();
            let present: Vec<Option<usize>> = names
                .iter()
                .map(|n| def.attributes.get(n).copied())
                .collect();
            let found = present.iter().filter(|p| p.is_some()).count();
            if found == 0 {
                continue;
            }
            if found < names.len() || degree + 1 != l {
                return Err(GltfSplatError::IncompleteShDegree {
                    mesh,
                    primitive,
                    degree: l,
                });
            }
            sh_names.extend(names.into_iter().zip(present.into_iter().flatten()));
            degree = l;
        }
        plain.extend(sh_names.iter().cloned());

        // Data provided by an extension of the extension (e.g. SPZ compression)?
        let nested = ext.extensions.keys().next().cloned();
        let all_plain = plain.iter().all(|(_, a)| {
            self.root
                .accessors
                .get(*a)
                .is_some_and(|acc| acc.buffer_view.is_some() || acc.sparse.is_some())
        });
        if let Some(extension) = &nested
            && !all_plain
        {
            return Err(GltfSplatError::UnsupportedSplatExtension {
                mesh,
                primitive,
                extension: extension.clone(),
            });
        }
        // Counts are only trusted when some attribute's data backs them.
        if !plain.iter().any(|(_, a)| self.accessor_backed(*a)) {
            return Err(GltfSplatError::NoAttributeData { mesh, primitive });
        }

        let position = self.resolve(attr("POSITION")?, "POSITION", "VEC3", 3, POSITION_TYPES)?;
        let vertex_count = position.count;
        let check =
            |name: &str, r: Resolved<'d>| same_count(r, name, vertex_count, mesh, primitive);
        let rotation = check(
            ROTATION_ATTRIBUTE,
            self.resolve(
                attr(ROTATION_ATTRIBUTE)?,
                ROTATION_ATTRIBUTE,
                "VEC4",
                4,
                ROTATION_TYPES,
            )?,
        )?;
        let scale = check(
            SCALE_ATTRIBUTE,
            self.resolve(
                attr(SCALE_ATTRIBUTE)?,
                SCALE_ATTRIBUTE,
                "VEC3",
                3,
                SCALE_TYPES,
            )?,
        )?;
        let opacity = check(
            OPACITY_ATTRIBUTE,
            self.resolve(
                attr(OPACITY_ATTRIBUTE)?,
                OPACITY_ATTRIBUTE,
                "SCALAR",
                1,
                OPACITY_TYPES,
            )?,
        )?;
        let mut sh = Vec::with_capacity(sh_names.len());
        for (name, a) in &sh_names {
            sh.push(check(name, self.resolve(*a, name, "VEC3", 3, SH_TYPES)?)?);
        }
        let (indices, splat_count) = match def.indices {
            None => (None, vertex_count),
            Some(i) => {
                if !self.accessor_backed(i) {
                    return Err(GltfSplatError::NoAttributeData { mesh, primitive });
                }
                let r = self.resolve(i, "indices", "SCALAR", 1, INDEX_TYPES)?;
                let n = r.count;
                (Some(r), n)
            }
        };
        Ok(Some(SplatPrimitive {
            mesh,
            primitive,
            position,
            rotation,
            scale,
            opacity,
            sh,
            degree,
            indices,
            vertex_count,
            splat_count,
            color_space,
        }))
    }

    /// The mesh instances of the displayed scene: (node, global matrix, mesh).
    fn instances(&self) -> Result<Vec<(Option<usize>, DMat4, usize)>> {
        let root = &self.root;
        let roots: Vec<usize> = if !root.scenes.is_empty() {
            let index = root.scene.unwrap_or(0);
            root.scenes
                .get(index)
                .ok_or(GltfSplatError::InvalidIndex {
                    kind: "scene",
                    index,
                })?
                .nodes
                .clone()
        } else if !root.nodes.is_empty() {
            let mut is_child = vec![false; root.nodes.len()];
            for node in &root.nodes {
                for &c in &node.children {
                    if let Some(flag) = is_child.get_mut(c) {
                        *flag = true;
                    }
                }
            }
            (0..root.nodes.len()).filter(|&n| !is_child[n]).collect()
        } else {
            return Ok((0..root.meshes.len())
                .map(|m| (None, DMat4::IDENTITY, m))
                .collect());
        };
        let mut visited = vec![false; root.nodes.len()];
        let mut out = Vec::new();
        let mut stack: Vec<(usize, DMat4)> =
            roots.iter().rev().map(|&n| (n, DMat4::IDENTITY)).collect();
        while let Some((n, parent)) = stack.pop() {
            let node = root.nodes.get(n).ok_or(GltfSplatError::InvalidIndex {
                kind: "node",
                index: n,
            })?;
            match visited.get_mut(n) {
                Some(seen) if !*seen => *seen = true,
                _ => return Err(GltfSplatError::InvalidNodeHierarchy { node: n }),
            }
            let world = parent * local_matrix(node);
            if let Some(mesh) = node.mesh {
                out.push((Some(n), world, mesh));
            }
            for &c in node.children.iter().rev() {
                stack.push((c, world));
            }
        }
        Ok(out)
    }

    fn read(&self) -> Result<GltfSplatScene> {
        let root = &self.root;
        if !root.asset.version.starts_with("2.") {
            return Err(GltfSplatError::UnsupportedAssetVersion(
                root.asset.version.clone(),
            ));
        }
        if let Some(name) = root
            .extensions_required
            .iter()
            .find(|e| !required_extension_is_harmless(e))
        {
            return Err(GltfSplatError::UnsupportedRequiredExtension(name.clone()));
        }
        let instances = self.instances()?;

        // Plan every instanced mesh once.
        let mut plans: BTreeMap<usize, Vec<SplatPrimitive<'_>>> = BTreeMap::new();
        for &(_, _, mesh) in &instances {
            if plans.contains_key(&mesh) {
                continue;
            }
            let def = root.meshes.get(mesh).ok_or(GltfSplatError::InvalidIndex {
                kind: "mesh",
                index: mesh,
            })?;
            let mut prims = Vec::new();
            for (p, prim) in def.primitives.iter().enumerate() {
                if let Some(plan) = self.plan_primitive(mesh, p, prim)? {
                    prims.push(plan);
                }
            }
            plans.insert(mesh, prims);
        }

        let mut total: u64 = 0;
        let mut degree = 0u8;
        let mut color_space: Option<GltfSplatColorSpace> = None;
        let mut primitive_instances = 0usize;
        for (_, _, mesh) in &instances {
            for plan in plans.get(mesh).map(Vec::as_slice).unwrap_or_default() {
                total = total.saturating_add(plan.splat_count as u64);
                degree = degree.max(plan.degree);
                primitive_instances += 1;
                match color_space {
                    None => color_space = Some(plan.color_space),
                    Some(c) if c != plan.color_space => {
                        return Err(GltfSplatError::MixedColorSpaces {
                            first: c.as_str(),
                            other: plan.color_space.as_str(),
                        });
                    }
                    Some(_) => {}
                }
            }
        }
        let Some(color_space) = color_space else {
            return Err(GltfSplatError::NoSplatPrimitive);
        };
        if total > MAX_GLTF_SPLATS as u64 {
            return Err(GltfSplatError::TooManySplats {
                count: total,
                limit: MAX_GLTF_SPLATS,
            });
        }
        let total = total as usize;

        let mut out = GaussianSplats {
            sh_degree: degree,
            ..Default::default()
        };
        reserve(&mut out, total)?;
        for (node, matrix, mesh) in &instances {
            let prims = plans.get(mesh).map(Vec::as_slice).unwrap_or_default();
            if prims.is_empty() {
                continue;
            }
            let transform = match node {
                Some(node) => InstanceTransform::new(*node, matrix, degree)?,
                None => InstanceTransform::identity(),
            };
            for plan in prims {
                let base = out.len();
                match &plan.indices {
                    None => decode_primitive(plan, &mut out)?,
                    Some(indices) => {
                        let mut tmp = GaussianSplats {
                            sh_degree: degree,
                            ..Default::default()
                        };
                        reserve(&mut tmp, plan.vertex_count)?;
                        decode_primitive(plan, &mut tmp)?;
                        gather(plan, indices, &tmp, &mut out)?;
                    }
                }
                transform.apply(&mut out, base);
            }
        }
        gltf_to_canonical(&mut out);
        out.validate()?;
        Ok(GltfSplatScene {
            splats: out,
            color_space,
            primitive_instances,
        })
    }
}

/// Checks that an attribute has as many elements as POSITION.
fn same_count<'d>(
    r: Resolved<'d>,
    name: &str,
    vertex_count: usize,
    mesh: usize,
    primitive: usize,
) -> Result<Resolved<'d>> {
    if r.count != vertex_count {
        return Err(GltfSplatError::AttributeCountMismatch {
            mesh,
            primitive,
            attribute: name.to_owned(),
            expected: vertex_count as u64,
            found: r.count as u64,
        });
    }
    Ok(r)
}

fn local_matrix(node: &NodeDef) -> DMat4 {
    if let Some(m) = &node.matrix {
        return DMat4::from_cols_array(m);
    }
    let t = node.translation.map_or(DVec3::ZERO, DVec3::from_array);
    let r = node
        .rotation
        .map_or(DQuat::IDENTITY, |[x, y, z, w]| DQuat::from_xyzw(x, y, z, w));
    let s = node.scale.map_or(DVec3::ONE, DVec3::from_array);
    DMat4::from_scale_rotation_translation(s, r, t)
}

fn reserve(s: &mut GaussianSplats, n: usize) -> Result<()> {
    let k = s.sh_per_splat();
    let oom = |_| GltfSplatError::OutOfMemory;
    s.positions.try_reserve_exact(n).map_err(oom)?;
    s.rotations.try_reserve_exact(n).map_err(oom)?;
    s.scales.try_reserve_exact(n).map_err(oom)?;
    s.opacities.try_reserve_exact(n).map_err(oom)?;
    let sh = n.checked_mul(k).ok_or(GltfSplatError::OutOfMemory)?;
    s.sh.try_reserve_exact(sh).map_err(oom)?;
    Ok(())
}

/// Appends the primitive's `vertex_count` splats (local frame, SH zero-padded
/// to `out.sh_degree`) and checks scales, opacities and rotations.
fn decode_primitive(plan: &SplatPrimitive<'_>, out: &mut GaussianSplats) -> Result<()> {
    let n = plan.vertex_count;
    let base = out.len();
    let k = out.sh_per_splat();
    let end = base + n;
    reserve(out, n)?;
    out.positions.resize(end, Vec3::ZERO);
    out.rotations.resize(end, Quat::IDENTITY);
    out.scales.resize(end, Vec3::ONE);
    out.opacities.resize(end, 0.0);
    out.sh.resize(end * k, [0.0; 3]);
    plan.position.for_each(|i, v| {
        if let Some(p) = out.positions.get_mut(base + i) {
            *p = Vec3::new(v[0], v[1], v[2]);
        }
    })?;
    plan.rotation.for_each(|i, v| {
        if let Some(q) = out.rotations.get_mut(base + i) {
            *q = Quat::from_xyzw(v[0], v[1], v[2], v[3]);
        }
    })?;
    plan.scale.for_each(|i, v| {
        if let Some(s) = out.scales.get_mut(base + i) {
            *s = Vec3::new(v[0], v[1], v[2]);
        }
    })?;
    plan.opacity.for_each(|i, v| {
        if let Some(o) = out.opacities.get_mut(base + i) {
            *o = v[0];
        }
    })?;
    for (j, acc) in plan.sh.iter().enumerate().take(k) {
        acc.for_each(|i, v| {
            if let Some(c) = out.sh.get_mut((base + i) * k + j) {
                *c = [v[0], v[1], v[2]];
            }
        })?;
    }
    let (mesh, primitive) = (plan.mesh, plan.primitive);
    for vertex in 0..n {
        let i = base + vertex;
        if let Some(s) = out.scales.get(i)
            && (s.x < 0.0 || s.y < 0.0 || s.z < 0.0)
        {
            return Err(GltfSplatError::NegativeScale {
                mesh,
                primitive,
                vertex,
            });
        }
        if let Some(&value) = out.opacities.get(i)
            && !(0.0..=1.0).contains(&value)
            && !value.is_nan()
        {
            return Err(GltfSplatError::OpacityOutOfRange {
                mesh,
                primitive,
                vertex,
                value,
            });
        }
        if let Some(q) = out.rotations.get_mut(i) {
            let len2 = q.length_squared();
            if len2 == 0.0 {
                return Err(GltfSplatError::ZeroRotation {
                    mesh,
                    primitive,
                    vertex,
                });
            }
            // Quantised quaternions are only nearly unit; float ones are kept bit-exact.
            if (len2 - 1.0).abs() > 1e-6 {
                *q /= len2.sqrt();
            }
        }
    }
    Ok(())
}

/// Appends `src`'s splats in the order of the primitive's `indices`.
fn gather(
    plan: &SplatPrimitive<'_>,
    indices: &Resolved<'_>,
    src: &GaussianSplats,
    out: &mut GaussianSplats,
) -> Result<()> {
    let k = out.sh_per_splat();
    for index in indices.indices()? {
        let i = usize::try_from(index)
            .ok()
            .filter(|&i| i < src.len())
            .ok_or(GltfSplatError::VertexIndexOutOfRange {
                mesh: plan.mesh,
                primitive: plan.primitive,
                index,
                vertex_count: src.len() as u64,
            })?;
        out.positions
            .push(src.positions.get(i).copied().unwrap_or(Vec3::ZERO));
        out.rotations
            .push(src.rotations.get(i).copied().unwrap_or(Quat::IDENTITY));
        out.scales
            .push(src.scales.get(i).copied().unwrap_or(Vec3::ZERO));
        out.opacities
            .push(src.opacities.get(i).copied().unwrap_or(0.0));
        for j in 0..k {
            out.sh
                .push(src.sh.get(i * k + j).copied().unwrap_or([0.0; 3]));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Node transforms

enum CovarianceMap {
    /// Rotations and scales unchanged.
    Keep,
    /// Rotate by `rotation`, multiply scales by `scale`.
    Similarity { rotation: DQuat, scale: f64 },
    /// Re-diagonalise `A C Cᵀ Aᵀ`.
    General(DMat3),
}

struct InstanceTransform {
    /// `None` for the identity.
    affine: Option<(DMat3, DVec3)>,
    covariance: CovarianceMap,
    /// Per-band SH matrices (degrees 1..), `None` when the rotation is the identity.
    sh: Option<Vec<Vec<f64>>>,
}

impl InstanceTransform {
    fn identity() -> Self {
        InstanceTransform {
            affine: None,
            covariance: CovarianceMap::Keep,
            sh: None,
        }
    }

    fn new(node: usize, m: &DMat4, sh_degree: u8) -> Result<Self> {
        let degenerate = GltfSplatError::DegenerateTransform { node };
        if !m.is_finite() {
            return Err(degenerate);
        }
        let a = DMat3::from_mat4(*m);
        let t = m.w_axis.truncate();
        if a == DMat3::IDENTITY {
            return Ok(InstanceTransform {
                affine: (t != DVec3::ZERO).then_some((a, t)),
                covariance: CovarianceMap::Keep,
                sh: None,
            });
        }
        let norms = a.x_axis.length() * a.y_axis.length() * a.z_axis.length();
        let det = a.determinant();
        if norms.is_nan()
            || norms <= 0.0
            || det.is_nan()
            || det.abs() <= 1e-12 * norms
            || !det.is_finite()
        {
            return Err(degenerate);
        }
        // Polar decomposition A = Q·P, P = (AᵀA)^½.
        let ata = a.transpose() * a;
        let (lambda, v) = sym_eigen(ata);
        if lambda.iter().any(|l| l.is_nan() || *l <= 0.0) {
            return Err(degenerate);
        }
        let inv_sqrt = DMat3::from_diagonal(DVec3::new(
            1.0 / lambda[0].sqrt(),
            1.0 / lambda[1].sqrt(),
            1.0 / lambda[2].sqrt(),
        ));
        let q = a * (v * inv_sqrt * v.transpose());
        let r2 = (ata.x_axis.x + ata.y_axis.y + ata.z_axis.z) / 3.0;
        let diff = ata - DMat3::from_diagonal(DVec3::splat(r2));
        let similar = diff.to_cols_array().iter().all(|d| d.abs() <= 1e-6 * r2);
        let covariance = if similar {
            // A = r·Q; for a mirror (det < 0), r·Q·C Cᵀ·Qᵀ·r = r·(−Q)·C Cᵀ·(−Q)ᵀ·r.
            let proper = if det < 0.0 { q * -1.0 } else { q };
            CovarianceMap::Similarity {
                rotation: DQuat::from_mat3(&proper).normalize(),
                scale: r2.sqrt(),
            }
        } else {
            CovarianceMap::General(a)
        };
        let sh = if sh_degree > 0
            && (q - DMat3::IDENTITY)
                .to_cols_array()
                .iter()
                .any(|d| d.abs() > 1e-12)
        {
            let mut bands = Vec::new();
            for l in 1..=sh_degree {
                bands.push(
                    sh_band_matrix(l, &q).ok_or(GltfSplatError::DegenerateTransform { node })?,
                );
            }
            Some(bands)
        } else {
            None
        };
        Ok(InstanceTransform {
            affine: Some((a, t)),
            covariance,
            sh,
        })
    }

    /// Transforms the splats from index `base` on.
    fn apply(&self, s: &mut GaussianSplats, base: usize) {
        let Some((a, t)) = self.affine else {
            return;
        };
        for p in s.positions.iter_mut().skip(base) {
            *p = (a * p.as_dvec3() + t).as_vec3();
        }
        match &self.covariance {
            CovarianceMap::Keep => {}
            CovarianceMap::Similarity { rotation, scale } => {
                for (q, sc) in s.rotations.iter_mut().zip(s.scales.iter_mut()).skip(base) {
                    *q = (*rotation * q.as_dquat()).normalize().as_quat();
                    *sc = (sc.as_dvec3() * *scale).as_vec3();
                }
            }
            CovarianceMap::General(a) => {
                for (q, sc) in s.rotations.iter_mut().zip(s.scales.iter_mut()).skip(base) {
                    let b = *a
                        * DMat3::from_quat(q.as_dquat().normalize())
                        * DMat3::from_diagonal(sc.as_dvec3());
                    let (lambda, mut v) = sym_eigen(b * b.transpose());
                    if v.determinant() < 0.0 {
                        v.z_axis = -v.z_axis;
                    }
                    *q = DQuat::from_mat3(&v).normalize().as_quat();
                    *sc = DVec3::new(
                        lambda[0].max(0.0).sqrt(),
                        lambda[1].max(0.0).sqrt(),
                        lambda[2].max(0.0).sqrt(),
                    )
                    .as_vec3();
                }
            }
        }
        if let Some(bands) = &self.sh {
            let k = s.sh_per_splat();
            if k == 0 {
                return;
            }
            for coeffs in s.sh.chunks_exact_mut(k).skip(base) {
                for (l, m) in bands.iter().enumerate() {
                    let l = l + 1;
                    let (off, n) = (l * l, 2 * l + 1);
                    let Some(band) = coeffs.get_mut(off..off + n) else {
                        continue;
                    };
                    let old: Vec<[f64; 3]> = band
                        .iter()
                        .map(|c| [c[0] as f64, c[1] as f64, c[2] as f64])
                        .collect();
                    for (i, c) in band.iter_mut().enumerate() {
                        let mut acc = [0.0f64; 3];
                        for (j, o) in old.iter().enumerate() {
                            let w = m.get(i * n + j).copied().unwrap_or(0.0);
                            for ch in 0..3 {
                                acc[ch] += w * o[ch];
                            }
                        }
                        *c = [acc[0] as f32, acc[1] as f32, acc[2] as f32];
                    }
                }
            }
        }
    }
}

/// Eigen-decomposition of a symmetric 3×3 matrix by cyclic Jacobi rotations:
/// eigenvalues and the matrix whose columns are the eigenvectors.
fn sym_eigen(m: DMat3) -> ([f64; 3], DMat3) {
    // a[row][col]
    let c = m.to_cols_array_2d();
    let mut a = [[0.0f64; 3]; 3];
    for (col, column) in c.iter().enumerate() {
        for (row, v) in column.iter().enumerate() {
            a[row][col] = *v;
        }
    }
    let mut v = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    for _ in 0..64 {
        let off = a[0][1] * a[0][1] + a[0][2] * a[0][2] + a[1][2] * a[1][2];
        let diag = a[0][0] * a[0][0] + a[1][1] * a[1][1] + a[2][2] * a[2][2];
        if off.is_nan() || off <= 1e-30 * diag {
            break;
        }
        for (p, q) in [(0usize, 1usize), (0, 2), (1, 2)] {
            if a[p][q] == 0.0 {
                continue;
            }
            let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
            let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
            let cos = 1.0 / (t * t + 1.0).sqrt();
            let sin = t * cos;
            for row in a.iter_mut() {
                let (akp, akq) = (row[p], row[q]);
                row[p] = cos * akp - sin * akq;
                row[q] = sin * akp + cos * akq;
            }
            let (rp, rq) = (a[p], a[q]);
            a[p] = std::array::from_fn(|k| cos * rp[k] - sin * rq[k]);
            a[q] = std::array::from_fn(|k| sin * rp[k] + cos * rq[k]);
            for row in v.iter_mut() {
                let (vkp, vkq) = (row[p], row[q]);
                row[p] = cos * vkp - sin * vkq;
                row[q] = sin * vkp + cos * vkq;
            }
        }
    }
    let vectors = DMat3::from_cols(
        DVec3::new(v[0][0], v[1][0], v[2][0]),
        DVec3::new(v[0][1], v[1][1], v[2][1]),
        DVec3::new(v[0][2], v[1][2], v[2][2]),
    );
    ([a[0][0], a[1][1], a[2][2]], vectors)
}

/// The 16 real SH basis functions of degrees 0..=3 at unit direction `d`, in
/// the 3DGS / `KHR_gaussian_splatting` convention (Condon–Shortley signs).
fn sh_basis(d: DVec3) -> [f64; 16] {
    let (x, y, z) = (d.x, d.y, d.z);
    let (xx, yy, zz) = (x * x, y * y, z * z);
    const C1: f64 = 0.488_602_511_902_919_9;
    [
        0.282_094_791_773_878_1,
        -C1 * y,
        C1 * z,
        -C1 * x,
        1.092_548_430_592_079 * x * y,
        -1.092_548_430_592_079 * y * z,
        0.315_391_565_252_52 * (2.0 * zz - xx - yy),
        -1.092_548_430_592_079 * x * z,
        0.546_274_215_296_039_5 * (xx - yy),
        -0.590_043_589_926_643_5 * y * (3.0 * xx - yy),
        2.890_611_442_640_554 * x * y * z,
        -0.457_045_799_464_465_7 * y * (4.0 * zz - xx - yy),
        0.373_176_332_590_115_4 * z * (2.0 * zz - 3.0 * xx - 3.0 * yy),
        -0.457_045_799_464_465_7 * x * (4.0 * zz - xx - yy),
        1.445_305_721_320_277 * z * (xx - yy),
        -0.590_043_589_926_643_5 * x * (xx - 3.0 * yy),
    ]
}

/// The `(2l+1)²` row-major matrix `M` of SH band `l` under the orthogonal map
/// `q` (local → world): world coefficients `c' = M c`, so that
/// `Σ c'ᵢ Yᵢ(d) = Σ cⱼ Yⱼ(qᵀ d)` for every direction `d`. Found by least squares
/// over well-spread directions (exact up to rounding, since each band is
/// closed under rotations and `Y(−d) = (−1)ˡ Y(d)` covers mirrors).
fn sh_band_matrix(l: u8, q: &DMat3) -> Option<Vec<f64>> {
    const SAMPLES: usize = 64;
    let l = l as usize;
    let (off, n) = (l * l, 2 * l + 1);
    let qt = q.transpose();
    // Normal equations (AᵀA) M = AᵀB with A = Y(d), B = Y(qᵀ d).
    let mut ata = vec![0.0f64; n * n];
    let mut atb = vec![0.0f64; n * n];
    let golden = core::f64::consts::PI * (3.0 - 5.0f64.sqrt());
    for s in 0..SAMPLES {
        let z = 1.0 - (2.0 * s as f64 + 1.0) / SAMPLES as f64;
        let r = (1.0 - z * z).max(0.0).sqrt();
        let phi = golden * s as f64;
        let d = DVec3::new(r * phi.cos(), r * phi.sin(), z);
        let ya = sh_basis(d);
        let yb = sh_basis((qt * d).normalize());
        for i in 0..n {
            for j in 0..n {
                ata[i * n + j] += ya[off + i] * ya[off + j];
                atb[i * n + j] += ya[off + i] * yb[off + j];
            }
        }
    }
    // Gauss–Jordan elimination with partial pivoting on [AᵀA | AᵀB].
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&r1, &r2| ata[r1 * n + col].abs().total_cmp(&ata[r2 * n + col].abs()))?;
        let p = ata[pivot * n + col].abs();
        if p.is_nan() || p <= 1e-12 {
            return None;
        }
        for k in 0..n {
            ata.swap(col * n + k, pivot * n + k);
            atb.swap(col * n + k, pivot * n + k);
        }
        let inv = 1.0 / ata[col * n + col];
        for k in 0..n {
            ata[col * n + k] *= inv;
            atb[col * n + k] *= inv;
        }
        for row in 0..n {
            if row == col {
                continue;
            }
            let f = ata[row * n + col];
            if f == 0.0 {
                continue;
            }
            for k in 0..n {
                ata[row * n + k] -= f * ata[col * n + k];
                atb[row * n + k] -= f * atb[col * n + k];
            }
        }
    }
    Some(atb)
}

// ---------------------------------------------------------------------------
// Frames

/// Sign of each SH basis function (degrees 0..=3) under `(x, y, z) → (x, −y, −z)`.
const YZ_FLIP_SH_SIGNS: [f32; 16] = [
    1.0, -1.0, -1.0, 1.0, -1.0, 1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0, -1.0, 1.0, -1.0, 1.0,
];

fn flip_sh_signs(s: &mut GaussianSplats) {
    let k = s.sh_per_splat();
    if k <= 1 {
        return;
    }
    for coeffs in s.sh.chunks_exact_mut(k) {
        for (c, sign) in coeffs.iter_mut().zip(YZ_FLIP_SH_SIGNS) {
            for v in c.iter_mut() {
                *v *= sign;
            }
        }
    }
}

/// glTF frame (+Y up) → canonical 3DGS frame (+Y down): the 180° rotation about
/// X of [`GaussianSplats::flip_yz`], without rounding (`r·q` with `r = i`).
fn gltf_to_canonical(s: &mut GaussianSplats) {
    for p in &mut s.positions {
        *p = Vec3::new(p.x, -p.y, -p.z);
    }
    for q in &mut s.rotations {
        *q = Quat::from_xyzw(q.w, -q.z, q.y, -q.x);
    }
    flip_sh_signs(s);
}

/// The exact inverse of [`gltf_to_canonical`] (`r⁻¹·q`).
fn canonical_to_gltf(s: &mut GaussianSplats) {
    for p in &mut s.positions {
        *p = Vec3::new(p.x, -p.y, -p.z);
    }
    for q in &mut s.rotations {
        *q = Quat::from_xyzw(-q.w, q.z, -q.y, q.x);
    }
    flip_sh_signs(s);
}

// ---------------------------------------------------------------------------
// URIs

/// Decodes `%XX` escapes; returns the input unchanged if the result is not UTF-8.
fn percent_decode(uri: &str) -> String {
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
fn decode_data_uri(uri: &str) -> std::result::Result<Vec<u8>, &'static str> {
    let rest = uri.get(5..).ok_or("missing payload")?;
    let (header, payload) = rest.split_once(',').ok_or("no `,` before the payload")?;
    if !header.to_ascii_lowercase().ends_with(";base64") {
        return Err("only base64 data URIs are supported");
    }
    decode_base64(payload)
}

/// Standard (or URL-safe) base64, padding optional.
fn decode_base64(text: &str) -> std::result::Result<Vec<u8>, &'static str> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::gaussian_ply::tests::random_splats;

    fn no_external(_: &str) -> Option<Vec<u8>> {
        None
    }

    fn parse(bytes: &[u8]) -> Result<GaussianSplats> {
        parse_gltf_splats(bytes, &no_external)
    }

    fn encode_base64(data: &[u8]) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
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
}
