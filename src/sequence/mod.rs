//! Captures over time, played by the [timeline](crate::timeline):
//!
//! * [`splat`](mod@splat): splat sequences (volumetric video), one splat file
//!   per frame declared in a RON manifest, streamed around the playhead;
//! * [`field`]: keyframed radiance fields cross-faded over time.

pub mod field;
pub mod splat;

pub use field::{FieldSequence3d, animate_field_sequences};
pub use splat::{
    FrameList, SequenceError, SequenceFrames, SequenceStatus, SequenceWindow, SplatSequence, SplatSequence3d, SplatSequenceLoader,
    SplatSequencePlugin, parse_manifest,
};
