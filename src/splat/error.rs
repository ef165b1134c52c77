//! The error of a splat asset that breaks its invariants.

/// Error returned by [`GaussianSplats::validate`](super::asset::GaussianSplats::validate).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SplatDataError {
    /// Two per-splat arrays have different lengths.
    #[error("splat array `{name}` has {found} entries, expected {expected}")]
    LengthMismatch {
        /// The array's name.
        name: &'static str,
        /// Its length.
        found: usize,
        /// The expected length.
        expected: usize,
    },
    /// The SH degree is above [`MAX_SH_DEGREE`](super::asset::MAX_SH_DEGREE).
    #[error("spherical-harmonics degree {0} is not supported (0..=3)")]
    ShDegree(u8),
    /// A value is NaN or infinite.
    #[error("splat {index} has a non-finite {field}")]
    NonFinite {
        /// Splat index.
        index: usize,
        /// Which attribute.
        field: &'static str,
    },
    /// A rotation quaternion is zero (it names no rotation).
    #[error("splat {index} has a zero rotation quaternion")]
    ZeroRotation {
        /// Splat index.
        index: usize,
    },
    /// A value that must be positive (a temporal scale, `Σ_tt`) is zero or negative.
    #[error("splat {index} has a non-positive {field}")]
    NonPositive {
        /// Splat index.
        index: usize,
        /// Which attribute.
        field: &'static str,
    },
    /// A dynamic scene's time mapping is not finite, ends before it starts or
    /// has a non-positive time scale.
    #[error("invalid timeline: start {start}, end {end}, time scale {time_scale} (need finite values, end ≥ start, time scale > 0)")]
    InvalidTimeline {
        /// Model time at the start.
        start: f32,
        /// Model time at the end.
        end: f32,
        /// Model time units per second.
        time_scale: f32,
    },
}
