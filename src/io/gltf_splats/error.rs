//! Why a glTF asset could not be read, and the colour spaces of splat primitives.

use crate::splat::asset::SplatDataError;

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
    /// The `colorSpace` is unknown, or (for [`parse_gltf_splats`](super::parse_gltf_splats)) not sRGB.
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
    /// The asset expands to more than [`MAX_GLTF_SPLATS`](super::MAX_GLTF_SPLATS) splats.
    #[error("the asset expands to {count} splats, more than the limit of {limit}")]
    TooManySplats {
        /// Splats after instancing (saturating).
        count: u64,
        /// [`MAX_GLTF_SPLATS`](super::MAX_GLTF_SPLATS).
        limit: usize,
    },
    /// Memory for the splats could not be reserved.
    #[error("not enough memory for the splats")]
    OutOfMemory,
    /// The decoded splats contain NaN / infinite values or are inconsistent.
    #[error("invalid splat data: {0}")]
    InvalidData(#[from] SplatDataError),
}

/// The reader's result type.
pub(super) type Result<T> = std::result::Result<T, GltfSplatError>;
