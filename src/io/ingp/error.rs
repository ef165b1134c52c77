//! Typed errors of the instant-ngp snapshot reader.

/// Why a snapshot could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RadianceFieldLoadError {
    /// The bytes are neither a gzip/zlib stream nor a MessagePack map, or the stream is corrupt.
    #[error("bad snapshot container: {0}")]
    BadContainer(String),
    /// The MessagePack document is malformed or truncated.
    #[error("MessagePack error: {0}")]
    Msgpack(String),
    /// A required field is absent.
    #[error("missing field `{0}`")]
    MissingField(String),
    /// A field has the wrong MessagePack type.
    #[error("field `{path}` has the wrong type: expected {expected}, found {found}")]
    WrongType {
        /// The field, e.g. `snapshot.density_grid_binary`.
        path: String,
        /// What was expected.
        expected: &'static str,
        /// What was found.
        found: String,
    },
    /// A field has a value this crate (or instant-ngp) cannot render.
    #[error("unsupported snapshot: {field} = {value} ({reason})")]
    Unsupported {
        /// The field.
        field: String,
        /// Its value.
        value: String,
        /// Why it is not supported.
        reason: String,
    },
    /// A size disagrees with what the config implies.
    #[error("size mismatch in `{field}`: expected {expected}, found {found} ({detail})")]
    SizeMismatch {
        /// The field.
        field: String,
        /// The size the config implies.
        expected: u64,
        /// The size in the file.
        found: u64,
        /// What is counted.
        detail: String,
    },
    /// The file or its decompressed document is larger than allowed.
    #[error("snapshot too large: {0}")]
    Oversize(String),
    /// The file could not be read.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The field loaded, but the GPU ray marcher cannot draw it (the Bevy
    /// asset loader refuses it; the CPU reference still renders it).
    #[error("the GPU ray marcher cannot draw this field: {0} (render it with the CPU reference, `crate::field::reference`)")]
    GpuUnsupported(String),
}
