//! Typed errors for splat file loading.
//!
//! The errors describe what is wrong with the bytes only; the asset loader adds
//! the file name.

use crate::splat::asset::SplatDataError;

/// Why a splat file could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum SplatLoadError {
    /// The file does not start with the `ply` magic line.
    #[error("not a PLY file: the first line is not `ply`")]
    BadMagic,
    /// The `format` line names an encoding or version this reader does not handle.
    #[error(
        "unsupported PLY format `{0}` (expected ascii, binary_little_endian or binary_big_endian, version 1.0)"
    )]
    UnsupportedFormat(String),
    /// No `end_header` line within the first [`MAX_HEADER_BYTES`](super::ply::MAX_HEADER_BYTES) bytes.
    #[error("PLY header is longer than {limit} bytes (no `end_header` found)")]
    HeaderTooLong {
        /// The header size limit in bytes.
        limit: usize,
    },
    /// The file ends before the header's `end_header` line.
    #[error("PLY header is not terminated: the file ends before `end_header`")]
    MissingEndHeader,
    /// A header line cannot be understood.
    #[error("malformed PLY header line {line_number} `{line}`: {reason}")]
    MalformedHeader {
        /// 1-based line number in the file.
        line_number: usize,
        /// The offending line (lossily decoded, possibly shortened).
        line: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A `property` line names a type that is not a PLY scalar type.
    #[error("unknown PLY property type `{type_name}` for property `{property}`")]
    UnknownPropertyType {
        /// The type as written in the header.
        type_name: String,
        /// The property it was declared for.
        property: String,
    },
    /// A required element is absent from the header.
    #[error("PLY file has no `{element}` element")]
    MissingElement {
        /// The element's name.
        element: String,
    },
    /// A required property is absent from an element.
    #[error("PLY element `{element}` has no property `{property}`")]
    MissingProperty {
        /// The element's name.
        element: String,
        /// The property's name.
        property: String,
    },
    /// A property exists but its declared type cannot be used for what it holds.
    #[error("PLY property `{element}.{property}` has type `{found}`, expected {expected}")]
    WrongPropertyType {
        /// The element's name.
        element: String,
        /// The property's name.
        property: String,
        /// What the decoder needs.
        expected: &'static str,
        /// The declared type.
        found: String,
    },
    /// The binary body is shorter than the element counts in the header require.
    #[error(
        "PLY file is truncated: the header requires at least {expected_bytes} bytes, the file has {found_bytes}"
    )]
    Truncated {
        /// Bytes needed (file offset just past the data that could not be read;
        /// saturates at `u64::MAX` for absurd counts).
        expected_bytes: u64,
        /// The file's length.
        found_bytes: u64,
    },
    /// The ASCII body ends before the header's element counts are satisfied.
    #[error(
        "PLY ASCII body ends early: element `{element}` has {found_rows} complete rows of {expected_rows}"
    )]
    AsciiTruncated {
        /// The element being read.
        element: String,
        /// Rows the header declares.
        expected_rows: usize,
        /// Complete rows found.
        found_rows: usize,
    },
    /// An ASCII body token is not a valid value of the property's type.
    #[error("PLY ASCII body line {line}: `{token}` is not a valid {expected}")]
    AsciiParse {
        /// 1-based line number in the file.
        line: usize,
        /// The token (possibly shortened).
        token: String,
        /// The type expected there.
        expected: &'static str,
    },
    /// A size computed from the header does not fit in memory.
    #[error("PLY element sizes in the header overflow the address space")]
    SizeOverflow,
    /// A 3DGS file has a number of `f_rest_*` properties that matches no SH degree.
    #[error("{0} `f_rest_*` properties do not match any SH degree (expected 0, 9, 24 or 45)")]
    UnsupportedShCount(usize),
    /// A compressed PLY has fewer `chunk` rows than its vertices need (one per 256).
    #[error("compressed PLY has {chunks} chunks but {vertices} splats need {required}")]
    TooFewChunks {
        /// Chunk rows in the file.
        chunks: usize,
        /// Chunk rows required.
        required: usize,
        /// Splats in the file.
        vertices: usize,
    },
    /// A compressed PLY's `sh` element row count differs from its `vertex` count.
    #[error("compressed PLY has {sh_rows} SH rows for {vertices} splats")]
    ShCountMismatch {
        /// Rows in the `sh` element.
        sh_rows: usize,
        /// Rows in the `vertex` element.
        vertices: usize,
    },
    /// A dynamic splat file uses a model variant this crate does not decode.
    #[error("unsupported dynamic splat model: {0}")]
    UnsupportedDynamicModel(&'static str),
    /// The decoded splats are inconsistent or contain NaN / infinite values.
    #[error("invalid splat data: {0}")]
    InvalidData(#[from] SplatDataError),
    /// Reading the file failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A Niantic SPZ file could not be decoded.
    #[error("SPZ: {0}")]
    Spz(#[from] super::spz::SpzError),
    /// An antimatter15 `.splat` file could not be decoded.
    #[error(".splat: {0}")]
    DotSplat(#[from] super::dot_splat::DotSplatError),
    /// A PlayCanvas SOG file or set could not be decoded.
    #[error("SOG: {0}")]
    Sog(#[from] super::sog::SogError),
    /// A glTF file with `KHR_gaussian_splatting` could not be decoded.
    #[error("glTF: {0}")]
    Gltf(#[from] super::gltf_splats::GltfSplatError),
    /// The file name does not say which splat format it is.
    #[error("unknown splat file type `{0}` (expected .ply, .ply4d, .spz, .splat, .sog, meta.json, lod-meta.json, .glb or .gltf)")]
    UnknownFormat(String),
    /// A file this one refers to could not be read.
    #[error("cannot read `{path}`, referenced by this file: {message}")]
    MissingFile {
        /// The referenced path, relative to this file.
        path: String,
        /// Why it could not be read.
        message: String,
    },
    /// The requested level of detail does not exist or no level fits the budget.
    #[error("{0}")]
    Lod(String),
}
