//! Reading (and, for tests and tools, writing) Gaussian-splat files.
//!
//! * [`ply`]: a generic PLY header and element / property reader;
//! * [`gaussian_ply`]: the 3DGS training layout (`x y z f_dc_* f_rest_* opacity
//!   scale_* rot_*`) and a writer for it;
//! * [`compressed_ply`]: the PlayCanvas / SuperSplat `*.compressed.ply` layout;
//! * [`dynamic_ply`]: dynamic (4D) layouts: Spacetime Gaussians lite and sliced
//!   4D Gaussians (3DGS-style names and `.ply4d`).
//!
//! [`parse_splat_ply`] picks the layout from the header. Decoded scenes are in
//! the file's own frame; apply an
//! [`AxisConvention`](crate::splat::asset::AxisConvention) to bring them into
//! Bevy's.

pub mod compressed_ply;
pub mod dot_splat;
pub mod dynamic_ply;
pub mod error;
pub mod gaussian_ply;
pub mod gltf_splats;
pub mod ply;
pub mod sog;
pub mod sog_lod;
pub mod spz;

pub use error::SplatLoadError;

use crate::splat::asset::GaussianSplats;

/// Parses a PLY file into splats in the file's own frame (no axis conversion).
///
/// The layout is detected from the header: a `chunk` element plus a `vertex`
/// element with `packed_position` is the PlayCanvas compressed layout, dynamic
/// properties (see [`dynamic_ply::detect_dynamic_layout`]) a dynamic layout,
/// anything else is read as the 3DGS training layout. The result is validated
/// (matching array lengths, finite values).
pub fn parse_splat_ply(bytes: &[u8]) -> Result<GaussianSplats, SplatLoadError> {
    let ply = ply::PlyFile::parse(bytes)?;
    if let Some(layout) = dynamic_ply::detect_dynamic_layout(ply.header()) {
        dynamic_ply::decode_dynamic_ply(&ply, layout)
    } else if compressed_ply::is_compressed_layout(ply.header()) {
        compressed_ply::decode_compressed_ply(&ply)
    } else {
        gaussian_ply::decode_gaussian_ply(&ply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::gaussian_ply::tests::random_splats;
    use crate::io::gaussian_ply::write_gaussian_ply;
    use crate::io::ply::PlyFormat;

    /// Random corruptions (byte changes, digits typed into the header,
    /// truncation) must give an error or a valid scene, never a panic.
    #[test]
    fn corrupted_files_never_panic() {
        let mut bases = Vec::new();
        for format in [
            PlyFormat::Ascii,
            PlyFormat::BinaryLittleEndian,
            PlyFormat::BinaryBigEndian,
        ] {
            bases.push(write_gaussian_ply(&random_splats(6, 1, 1), format));
        }
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/biker.compressed.ply");
        if let Ok(bytes) = std::fs::read(path) {
            // Header plus a little of the body is enough to exercise the decoder.
            bases.push(bytes[..bytes.len().min(40_000)].to_vec());
        }
        let mut state = 0x1234_5678_9abc_def0u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for base in &bases {
            let header_len = base
                .windows(11)
                .position(|w| w == b"end_header\n")
                .map_or(base.len(), |p| p + 11);
            for _ in 0..400 {
                let mut bytes = base.clone();
                for _ in 0..1 + next() % 3 {
                    let len = bytes.len() as u64;
                    match next() % 4 {
                        0 => {
                            let i = (next() % len) as usize;
                            bytes[i] = next() as u8;
                        }
                        1 => {
                            let i = (next() % header_len.min(bytes.len()) as u64) as usize;
                            bytes[i] = b"0123456789 \n-"[(next() % 13) as usize];
                        }
                        2 => {
                            let i = (next() % header_len.min(bytes.len()) as u64) as usize;
                            bytes.insert(i, b'0' + (next() % 10) as u8);
                        }
                        _ => bytes.truncate((next() % len) as usize),
                    }
                    if bytes.is_empty() {
                        break;
                    }
                }
                if let Ok(splats) = parse_splat_ply(&bytes) {
                    assert!(splats.validate().is_ok());
                }
            }
        }
    }
}
