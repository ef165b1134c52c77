//! WebP planes: opening, size checks and (parallel) decoding.

use std::io::Cursor;

use image_webp::WebPDecoder;

use super::SogError;

/// A decoded plane: 3 (RGB) or 4 (RGBA) bytes per pixel.
pub(super) struct Plane {
    pub(super) width: usize,
    pub(super) channels: usize,
    pub(super) data: Vec<u8>,
}

impl Plane {
    /// Pixel `i` as RGBA (alpha 255 when the image has none).
    #[inline(always)]
    pub(super) fn texel(&self, i: usize) -> [u8; 4] {
        let o = i * self.channels;
        if self.channels == 4 {
            [
                self.data[o],
                self.data[o + 1],
                self.data[o + 2],
                self.data[o + 3],
            ]
        } else {
            [self.data[o], self.data[o + 1], self.data[o + 2], 255]
        }
    }
}

/// A WebP plane whose header has been read but whose pixels have not.
pub(super) struct PendingPlane<'a> {
    pub(super) name: String,
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) decoder: WebPDecoder<Cursor<&'a [u8]>>,
}

pub(super) fn open_plane<'a>(
    name: &str,
    files: &dyn Fn(&str) -> Option<&'a [u8]>,
) -> Result<PendingPlane<'a>, SogError> {
    let bytes = files(name).ok_or_else(|| SogError::MissingFile {
        name: name.to_owned(),
    })?;
    let webp_err = |e: image_webp::DecodingError| SogError::Webp {
        file: name.to_owned(),
        reason: e.to_string(),
    };
    let mut decoder = WebPDecoder::new(Cursor::new(bytes)).map_err(webp_err)?;
    if decoder.is_animated() {
        return Err(SogError::Webp {
            file: name.to_owned(),
            reason: "animated images are not SOG planes".into(),
        });
    }
    if decoder.is_lossy() {
        return Err(SogError::LossyPlane {
            file: name.to_owned(),
        });
    }
    let (width, height) = decoder.dimensions();
    Ok(PendingPlane {
        name: name.to_owned(),
        width,
        height,
        decoder,
    })
}

impl PendingPlane<'_> {
    pub(super) fn pixels(&self) -> u64 {
        self.width as u64 * self.height as u64
    }

    pub(super) fn decode(mut self) -> Result<Plane, SogError> {
        let err = |reason: String| SogError::Webp {
            file: self.name.clone(),
            reason,
        };
        let size = self
            .decoder
            .output_buffer_size()
            .ok_or_else(|| err("image size overflows".into()))?;
        let channels = if self.decoder.has_alpha() { 4 } else { 3 };
        let mut data = vec![0u8; size];
        self.decoder
            .read_image(&mut data)
            .map_err(|e| err(e.to_string()))?;
        Ok(Plane {
            width: self.width as usize,
            channels,
            data,
        })
    }
}

/// Decodes planes, in parallel threads when there is enough work.
pub(super) fn decode_planes(pending: Vec<PendingPlane<'_>>) -> Result<Vec<Plane>, SogError> {
    let total: u64 = pending.iter().map(PendingPlane::pixels).sum();
    let parallel = cfg!(not(target_arch = "wasm32")) && total >= 1 << 16 && pending.len() > 1;
    if !parallel {
        return pending.into_iter().map(PendingPlane::decode).collect();
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = pending
            .into_iter()
            .map(|p| (p.name.clone(), scope.spawn(move || p.decode())))
            .collect();
        handles
            .into_iter()
            .map(|(file, handle)| {
                handle.join().unwrap_or_else(|_| {
                    Err(SogError::Webp {
                        file,
                        reason: "the WebP decoder panicked".into(),
                    })
                })
            })
            .collect()
    })
}
