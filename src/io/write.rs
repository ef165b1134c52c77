//! Writing a splat asset to a file, the format picked by the extension:
//! `.ply` (3DGS training layout, binary little-endian; dynamic captures in
//! their own PLY layouts), `.spz`, `.splat`, `.glb` (glTF
//! `KHR_gaussian_splatting`), `.sog` (bundled SOG version 2), a file
//! named `meta.json` (unbundled SOG: the planes are written beside it) and a
//! file named `lod-meta.json` (streamed SOG with levels of detail, built
//! with [`LodBuildOptions::default`]).
//! An existing file is never replaced unless the caller says so.

use std::path::{Path, PathBuf};

use crate::splat::asset::{AxisConvention, GaussianSplats};
use crate::splat::motion::SplatMotion;

use super::dynamic_ply::{Sliced4dNaming, write_sliced4d_ply, write_spacetime_ply};
use super::gaussian_ply::write_gaussian_ply;
use super::ply::PlyFormat;
use super::sog::{SogWriteOptions, encode_sog};
use super::sog_lod::{LodBuildOptions, LodWriteError, build_lod};

/// Why a splat file was not written.
#[derive(Debug, thiserror::Error)]
pub enum SplatWriteError {
    /// The file exists and overwriting was not asked for.
    #[error("{0}: the file exists; confirm to overwrite it")]
    Exists(PathBuf),
    /// The extension names no format this crate writes.
    #[error("{0}: unknown output format (write .ply, .spz, .splat, .glb, .sog, meta.json or lod-meta.json)")]
    UnknownFormat(PathBuf),
    /// There is nothing to write.
    #[error("{0}: nothing to write, the capture has no splats")]
    Empty(PathBuf),
    /// The format cannot hold this capture (a dynamic capture to a static format).
    #[error("{path}: {format} cannot hold a dynamic capture; write .ply")]
    Dynamic {
        /// The file.
        path: PathBuf,
        /// The format asked for.
        format: &'static str,
    },
    /// The encoder refused the data.
    #[error("{path}: cannot encode: {message}")]
    Encode {
        /// The file.
        path: PathBuf,
        /// What the encoder said.
        message: String,
    },
    /// The file system refused.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// Encodes `splats` (in Bevy's frame) for `path` in the file convention
/// `axes` (the one its loader would undo; [`AxisConvention::Opencv`] for
/// files other tools read), without touching the disk. Unbundled SOG
/// (`meta.json` and its planes) is several files: [`write_splat_file`]
/// writes it, or [`encode_sog`] encodes it.
pub fn encode_splat_file(path: &Path, splats: &GaussianSplats, axes: AxisConvention) -> Result<Vec<u8>, SplatWriteError> {
    let path_buf = || path.to_path_buf();
    if splats.is_empty() {
        return Err(SplatWriteError::Empty(path_buf()));
    }
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    // Both conventions are their own inverse: applying one again goes back.
    let mut file_frame = splats.clone();
    axes.apply(&mut file_frame);
    let dynamic = |format| Err(SplatWriteError::Dynamic { path: path_buf(), format });
    let encode = |message: String| SplatWriteError::Encode { path: path_buf(), message };
    match extension.as_str() {
        "ply" => match &file_frame.motion {
            SplatMotion::Static => Ok(write_gaussian_ply(&file_frame, PlyFormat::BinaryLittleEndian)),
            SplatMotion::Spacetime(_) => write_spacetime_ply(&file_frame, PlyFormat::BinaryLittleEndian)
                .ok_or_else(|| encode("inconsistent Spacetime motion data".into())),
            SplatMotion::Sliced4d(_) => write_sliced4d_ply(&file_frame, PlyFormat::BinaryLittleEndian, Sliced4dNaming::Fudan)
                .ok_or_else(|| encode("inconsistent 4D motion data".into())),
        },
        "spz" | "splat" | "glb" | "sog" if !matches!(file_frame.motion, SplatMotion::Static) => dynamic(match extension.as_str() {
            "spz" => "SPZ",
            "splat" => ".splat",
            "glb" => "glTF",
            _ => "SOG",
        }),
        "spz" => super::spz::write_spz(&file_frame).map_err(|e| encode(e.to_string())),
        "splat" => Ok(super::dot_splat::write_dot_splat(&file_frame)),
        "glb" => Ok(super::gltf_splats::write_glb_splats(&file_frame)),
        "sog" => Ok(encode_sog(&file_frame, &SogWriteOptions::default()).map_err(|e| encode(e.to_string()))?.bundle()),
        _ => Err(SplatWriteError::UnknownFormat(path_buf())),
    }
}

/// `splats` in the file convention `axes`, for a multi-file `format` that
/// holds static, non-empty captures only.
fn static_file_frame(path: &Path, splats: &GaussianSplats, axes: AxisConvention, format: &'static str) -> Result<GaussianSplats, SplatWriteError> {
    if !matches!(splats.motion, SplatMotion::Static) {
        return Err(SplatWriteError::Dynamic { path: path.to_path_buf(), format });
    }
    if splats.is_empty() {
        return Err(SplatWriteError::Empty(path.to_path_buf()));
    }
    let mut file_frame = splats.clone();
    axes.apply(&mut file_frame);
    Ok(file_frame)
}

/// Whether `path`'s file name is `name` (any case).
fn is_named(path: &Path, name: &str) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.eq_ignore_ascii_case(name))
}

/// Writes `splats` to `path` (see [`encode_splat_file`]); an existing file
/// is replaced only when `overwrite` is true. A path named `meta.json` is
/// written as unbundled SOG: its planes go beside it, and none of the
/// files is written if any exists unasked. Returns the bytes written.
pub fn write_splat_file(path: &Path, splats: &GaussianSplats, axes: AxisConvention, overwrite: bool) -> Result<usize, SplatWriteError> {
    if is_named(path, "lod-meta.json") {
        return write_lod(path, splats, axes, &LodBuildOptions::default(), overwrite);
    }
    if is_named(path, "meta.json") {
        let file_frame = static_file_frame(path, splats, axes, "SOG")?;
        let encoded = encode_sog(&file_frame, &SogWriteOptions::default())
            .map_err(|e| SplatWriteError::Encode { path: path.to_path_buf(), message: e.to_string() })?;
        return encoded.write_unbundled(path, overwrite).map_err(|(path, source)| match source.kind() {
            std::io::ErrorKind::AlreadyExists => SplatWriteError::Exists(path),
            _ => SplatWriteError::Io { path, source },
        });
    }
    if path.exists() && !overwrite {
        return Err(SplatWriteError::Exists(path.to_path_buf()));
    }
    let bytes = encode_splat_file(path, splats, axes)?;
    std::fs::write(path, &bytes).map_err(|source| SplatWriteError::Io { path: path.to_path_buf(), source })?;
    Ok(bytes.len())
}

/// Writes `splats` (in Bevy's frame) as a streamed SOG set with levels of
/// detail: `lod-meta.json` as `path`, the levels' SOG folders beside it (see
/// [`build_lod`]). Nothing is written if any of the files exists and
/// `overwrite` is false. Returns the bytes written.
pub fn write_lod(path: &Path, splats: &GaussianSplats, axes: AxisConvention, options: &LodBuildOptions, overwrite: bool) -> Result<usize, SplatWriteError> {
    let file_frame = static_file_frame(path, splats, axes, "streamed SOG")?;
    // Refuse before the (long) build; the build's own check covers the
    // level files.
    if path.exists() && !overwrite {
        return Err(SplatWriteError::Exists(path.to_path_buf()));
    }
    let lod_error = |e: LodWriteError| match e {
        LodWriteError::Exists(path) => SplatWriteError::Exists(path),
        LodWriteError::Io { path, source } => SplatWriteError::Io { path, source },
        other => SplatWriteError::Encode { path: path.to_path_buf(), message: other.to_string() },
    };
    build_lod(&file_frame, options).and_then(|built| built.write(path, overwrite)).map_err(lod_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::{SplatLoaderSettings, load_splat_file};
    use crate::splat::motion::MotionKind;
    use crate::testing::motion::synthetic_dynamic;

    #[test]
    fn every_format_round_trips_through_its_reader_in_the_bevy_frame() {
        let dir = std::env::temp_dir().join(format!("bevy_radiance_write_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let splats = synthetic_dynamic(MotionKind::Static, 50, 4);
        for name in ["a.ply", "a.spz", "a.splat", "a.glb", "a.sog", "meta.json"] {
            let path = dir.join(name);
            let written = write_splat_file(&path, &splats, AxisConvention::Opencv, false).unwrap();
            // Unbundled SOG counts its planes too.
            let on_disk = std::fs::metadata(&path).unwrap().len();
            assert!(if name == "meta.json" { written as u64 > on_disk } else { written as u64 == on_disk }, "{name}");
            let back = load_splat_file(&path, &SplatLoaderSettings::default()).unwrap();
            assert_eq!(back.len(), 50, "{name}");
            // SOG stores the splats in Morton order: match each to the
            // nearest original.
            let worst = back
                .positions
                .iter()
                .map(|a| splats.positions.iter().map(|b| (*a - *b).length()).fold(f32::INFINITY, f32::min))
                .fold(0.0, f32::max);
            assert!(worst < 0.02, "{name}: positions moved by {worst} (axes not undone?)");
            assert!(matches!(write_splat_file(&path, &splats, AxisConvention::Opencv, false), Err(SplatWriteError::Exists(_))));
            write_splat_file(&path, &splats, AxisConvention::Opencv, true).unwrap();
        }
        let dynamic = synthetic_dynamic(MotionKind::Spacetime, 20, 4);
        let ply = dir.join("dynamic.ply");
        write_splat_file(&ply, &dynamic, AxisConvention::Opencv, false).unwrap();
        assert_eq!(load_splat_file(&ply, &SplatLoaderSettings::default()).unwrap().motion.kind(), MotionKind::Spacetime);
        let error = write_splat_file(&dir.join("d.spz"), &dynamic, AxisConvention::Opencv, false).unwrap_err();
        assert!(error.to_string().contains("dynamic"), "{error}");
        assert!(matches!(write_splat_file(&dir.join("a.obj"), &splats, AxisConvention::Opencv, false), Err(SplatWriteError::UnknownFormat(_))));
        let empty = GaussianSplats::default();
        assert!(matches!(write_splat_file(&dir.join("e.ply"), &empty, AxisConvention::Opencv, false), Err(SplatWriteError::Empty(_))));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
