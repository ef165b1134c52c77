//! Reading (and, for tests and tools, writing) capture files: bytes in,
//! assets out. This layer depends only on the data models below it
//! ([`crate::splat`], [`crate::field`]); the Bevy asset loaders
//! ([`crate::loader`]) are thin glue over it.
//!
//! * [`splat_file`]: every splat format behind one entry point
//!   ([`decode_splats`], [`load_splat_file`]), with the files a scene refers to
//!   read through [`SiblingFiles`];
//! * [`ply`]: a generic PLY header and element / property reader;
//! * [`gaussian_ply`]: the 3DGS training layout (`x y z f_dc_* f_rest_* opacity
//!   scale_* rot_*`) and a writer for it;
//! * [`compressed_ply`]: the PlayCanvas / SuperSplat `*.compressed.ply` layout;
//! * [`dynamic_ply`]: dynamic (4D) layouts: Spacetime Gaussians lite and sliced
//!   4D Gaussians (3DGS-style names and `.ply4d`);
//! * [`spz`], [`dot_splat`], [`sog`], [`sog_lod`], [`gltf_splats`]: the other
//!   splat formats;
//! * [`ingp`]: instant-ngp radiance-field snapshots;
//! * [`write`]: an asset to a file, the format picked by the extension.
//!
//! Decoded splat scenes are in the file's own frame; apply an
//! [`AxisConvention`](crate::splat::asset::AxisConvention) to bring them into
//! Bevy's ([`decode_splats`] does, per its settings).

pub mod compressed_ply;
pub mod dot_splat;
pub mod dynamic_ply;
pub mod error;
pub mod gaussian_ply;
pub mod gltf_splats;
pub mod ingp;
pub mod ply;
pub mod siblings;
pub mod sog;
pub mod sog_lod;
pub mod splat_file;
pub mod spz;
pub mod values;
pub mod write;

pub use error::SplatLoadError;
pub use write::{SplatWriteError, encode_splat_file, write_lod, write_splat_file};
pub use ingp::{RadianceFieldLoadError, decode_radiance_field, load_radiance_field_file};
pub use siblings::{DiskSiblings, SiblingFiles};
pub use splat_file::{
    DecodedSplats, LodSelection, SplatFileError, SplatFormat, SplatLoaderSettings, decode_splats, load_splat_file,
    parse_splat_ply,
};
