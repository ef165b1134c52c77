//! Images the crate produces: the CPU references' floating-point images and
//! the 8-bit RGBA images the GPU renders are read back into.

use std::path::Path;

use bevy::math::Vec4;

/// A rendered image: `width × height` RGBA pixels in `[0, 1]`, row-major from the top.
#[derive(Clone, Debug, PartialEq)]
pub struct ReferenceImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// RGB composited over the background, A = coverage (1 − transmittance).
    pub pixels: Vec<Vec4>,
}

impl ReferenceImage {
    /// The image as 8-bit RGBA (rounded, clamped), as the GPU path writes it.
    pub fn to_rgba8(&self) -> Vec<u8> {
        self.pixels
            .iter()
            .flat_map(|p| p.to_array().map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8))
            .collect()
    }
}

/// An 8-bit RGBA image, rows from the top.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RgbaImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 4` bytes.
    pub data: Vec<u8>,
}

impl RgbaImage {
    /// Writes the image as a PNG file.
    pub fn save_png(&self, path: &Path) -> Result<(), ImageWriteError> {
        let err = |message: String| ImageWriteError {
            path: path.display().to_string(),
            message,
        };
        let file = std::fs::File::create(path).map_err(|e| err(e.to_string()))?;
        let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), self.width, self.height);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| err(e.to_string()))?;
        writer.write_image_data(&self.data).map_err(|e| err(e.to_string()))
    }
}

/// An image file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {message}")]
pub struct ImageWriteError {
    /// The file.
    pub path: String,
    /// The cause.
    pub message: String,
}
