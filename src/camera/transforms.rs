//! nerfstudio / instant-ngp `transforms.json` camera files.

use std::path::Path;

use bevy::math::Mat4;
use serde::Deserialize;

use super::CameraIntrinsics;

/// Errors reading a `transforms.json`.
#[derive(Debug, thiserror::Error)]
pub enum TransformsError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The JSON is malformed or lacks required fields.
    #[error("{path} is not a valid transforms.json: {source}")]
    Json {
        /// The file.
        path: String,
        /// The cause.
        source: serde_json::Error,
    },
    /// A frame has no usable intrinsics.
    #[error("{path}: frame {index} has no intrinsics (needs fl_x/fl_y or camera_angle_x, and w/h)")]
    MissingIntrinsics {
        /// The file.
        path: String,
        /// The frame.
        index: usize,
    },
    /// A value is not finite or a size is zero.
    #[error("{path}: frame {index} has an invalid {what}")]
    Invalid {
        /// The file.
        path: String,
        /// The frame.
        index: usize,
        /// Which value.
        what: &'static str,
    },
}

#[derive(Deserialize, Default, Clone)]
struct RawIntrinsics {
    fl_x: Option<f32>,
    fl_y: Option<f32>,
    cx: Option<f32>,
    cy: Option<f32>,
    w: Option<f32>,
    h: Option<f32>,
    camera_angle_x: Option<f32>,
    camera_angle_y: Option<f32>,
}

#[derive(Deserialize)]
struct RawFrame {
    transform_matrix: [[f32; 4]; 4],
    file_path: Option<String>,
    #[serde(flatten)]
    intrinsics: RawIntrinsics,
}

#[derive(Deserialize)]
struct RawTransforms {
    #[serde(flatten)]
    intrinsics: RawIntrinsics,
    frames: Vec<RawFrame>,
}

/// One posed camera of a `transforms.json`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CameraFrame {
    /// Camera → world, OpenGL/Blender convention (Bevy's camera convention).
    pub world_from_camera: Mat4,
    /// Intrinsics (per-frame values override the file's global ones).
    pub intrinsics: CameraIntrinsics,
}

/// Reads the frames of a nerfstudio / instant-ngp style `transforms.json`.
///
/// Intrinsics come from `fl_x`, `fl_y`, `cx`, `cy`, `w`, `h`, or from
/// `camera_angle_x` (and optionally `camera_angle_y`) with `w`/`h`; per-frame
/// values override global ones. When the file gives no `w`/`h` (the
/// NeRF-synthetic datasets), the size is read from the header of the frame's
/// photograph (`file_path`, relative to the JSON file, `.png` appended when it
/// has no extension); only when that is missing too does it default to 800×800.
pub fn read_transforms(path: &Path) -> Result<Vec<CameraFrame>, TransformsError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| TransformsError::Io {
        path: name.clone(),
        source,
    })?;
    let folder = path.parent().unwrap_or(Path::new("."));
    parse_transforms_with(&text, &name, |file| {
        let mut image = folder.join(file);
        if image.extension().is_none() {
            image.set_extension("png");
        }
        png_size(&image)
    })
}

/// Width and height from a PNG file's header (its first 24 bytes).
fn png_size(path: &Path) -> Option<(u32, u32)> {
    use std::io::Read;
    let mut header = [0u8; 24];
    std::fs::File::open(path).ok()?.read_exact(&mut header).ok()?;
    if header[..8] != *b"\x89PNG\r\n\x1a\n" || header[12..16] != *b"IHDR" {
        return None;
    }
    let word = |at: usize| u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]]);
    Some((word(16), word(20)))
}

/// Parses `transforms.json` text; `name` labels errors. Without `w`/`h` in the
/// text the size defaults to 800×800 (use [`read_transforms`] to take it from
/// the photographs).
pub fn parse_transforms(text: &str, name: &str) -> Result<Vec<CameraFrame>, TransformsError> {
    parse_transforms_with(text, name, |_| None)
}

fn parse_transforms_with(
    text: &str,
    name: &str,
    image_size: impl Fn(&str) -> Option<(u32, u32)>,
) -> Result<Vec<CameraFrame>, TransformsError> {
    let raw: RawTransforms = serde_json::from_str(text).map_err(|source| TransformsError::Json {
        path: name.to_string(),
        source,
    })?;
    let g = &raw.intrinsics;
    raw.frames
        .iter()
        .enumerate()
        .map(|(index, frame)| {
            let f = &frame.intrinsics;
            let pick = |a: Option<f32>, b: Option<f32>| a.or(b);
            let invalid = |what| TransformsError::Invalid {
                path: name.to_string(),
                index,
                what,
            };
            let photo = || frame.file_path.as_deref().and_then(&image_size).map(|(w, h)| (w as f32, h as f32));
            let (w, h) = match (pick(f.w, g.w), pick(f.h, g.h)) {
                (Some(w), Some(h)) => (w, h),
                (w, h) => {
                    let (pw, ph) = photo().unwrap_or((800.0, 800.0));
                    (w.unwrap_or(pw), h.unwrap_or(ph))
                }
            };
            if !(w >= 1.0 && h >= 1.0 && w <= 16384.0 && h <= 16384.0) {
                return Err(invalid("image size"));
            }
            let angle_x = pick(f.camera_angle_x, g.camera_angle_x);
            let angle_y = pick(f.camera_angle_y, g.camera_angle_y);
            let fx = pick(f.fl_x, g.fl_x).or(angle_x.map(|a| 0.5 * w / (0.5 * a).tan()));
            let fy = pick(f.fl_y, g.fl_y)
                .or(angle_y.map(|a| 0.5 * h / (0.5 * a).tan()))
                .or(fx);
            let (Some(fx), Some(fy)) = (fx, fy) else {
                return Err(TransformsError::MissingIntrinsics {
                    path: name.to_string(),
                    index,
                });
            };
            let cx = pick(f.cx, g.cx).unwrap_or(0.5 * w);
            let cy = pick(f.cy, g.cy).unwrap_or(0.5 * h);
            if ![fx, fy, cx, cy].iter().all(|v| v.is_finite()) || fx <= 0.0 || fy <= 0.0 {
                return Err(invalid("focal length or principal point"));
            }
            let m = frame.transform_matrix;
            // Row-major in the file.
            let world_from_camera = Mat4::from_cols_array_2d(&m).transpose();
            if !world_from_camera.is_finite() || world_from_camera.determinant().abs() < 1e-12 {
                return Err(invalid("transform_matrix"));
            }
            Ok(CameraFrame {
                world_from_camera,
                intrinsics: CameraIntrinsics {
                    width: w as u32,
                    height: h as u32,
                    fx,
                    fy,
                    cx,
                    cy,
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_size_comes_from_the_photograph_when_the_file_has_none() {
        let dir = std::env::temp_dir().join(format!("bevy_radiance_transforms_{}", std::process::id()));
        std::fs::create_dir_all(dir.join("test")).unwrap();
        let mut png = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut png, 40, 30);
            encoder.set_color(png::ColorType::Rgba);
            let mut writer = encoder.write_header().unwrap();
            writer.write_image_data(&[0u8; 40 * 30 * 4]).unwrap();
        }
        std::fs::write(dir.join("test/r_0.png"), &png).unwrap();
        let json = r#"{"camera_angle_x": 0.69, "frames": [
            {"file_path": "./test/r_0", "transform_matrix": [[1,0,0,0],[0,1,0,0],[0,0,1,3],[0,0,0,1]]},
            {"file_path": "./test/missing", "transform_matrix": [[1,0,0,0],[0,1,0,0],[0,0,1,3],[0,0,0,1]]}]}"#;
        std::fs::write(dir.join("transforms.json"), json).unwrap();
        let frames = read_transforms(&dir.join("transforms.json")).unwrap();
        assert_eq!((frames[0].intrinsics.width, frames[0].intrinsics.height), (40, 30));
        assert!((frames[0].intrinsics.fx - 20.0 / (0.345f32).tan()).abs() < 1e-3);
        assert_eq!((frames[1].intrinsics.width, frames[1].intrinsics.height), (800, 800));
        let parsed = parse_transforms(json, "inline").unwrap();
        assert_eq!(parsed[0].intrinsics.width, 800);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
