//! The SOG writer (version 2, as PlayCanvas `splat-transform` writes it and
//! the PlayCanvas engine reads it; layout in the [module docs](super)).
//!
//! * Splats are stored in Morton order of their centres (optional), planes
//!   `⌈√n / 4⌉·4` pixels wide and a multiple of 4 high. The curve runs down
//!   the columns of the filled rows ([`column_layout`]), so each pixel's
//!   upper neighbour is the splat before it on the curve: the lossless WebP
//!   encoder predicts every pixel from the one above.
//! * Positions: 16 bits per axis over the log-transformed range.
//! * Rotations: smallest three, 8 bits each.
//! * Log scales and DC colours: one 256-entry codebook each (a 1D k-means
//!   over all three axes / channels); opacity as an 8-bit linear value.
//! * Higher SH bands: a palette of up to 65,536 entries (the largest power of
//!   two ≤ the splat count) clustered from the splats' coefficients, the
//!   palette's coefficients through a third 256-entry codebook.
//!
//! All planes are lossless WebP. The encoder is deterministic: the same
//! capture gives the same bytes.

use std::io::Write;
use std::path::{Path, PathBuf};

use image_webp::{ColorType, WebPEncoder};

use super::MAX_SOG_SPLATS;
use super::quantize::{codebook_1d, nearest_index, palette, palette_size};
use crate::splat::morton::morton_order;
use crate::splat::asset::GaussianSplats;
use crate::splat::motion::SplatMotion;

/// Entries of the scale, colour and SH codebooks.
const CODEBOOK_LEN: usize = 256;

/// Palette entries per row of `shN_centroids.webp`.
const CENTROIDS_PER_ROW: usize = 64;

/// The smallest linear scale written (its log is the codebook's floor), so a
/// degenerate zero-sized splat stays finite.
const MIN_SCALE: f32 = 1e-12;

/// How the SOG writer works.
#[derive(Clone, Debug, PartialEq)]
pub struct SogWriteOptions {
    /// Refinement rounds of the SH palette (more is slower and closer).
    /// Default 10, as `splat-transform`'s `--iterations`.
    pub sh_iterations: u32,
    /// Store splats in Morton order of their centres (smaller files, and the
    /// spatial order the format is named for). Default `true`; `false`
    /// keeps the capture's order, so splat `i` stays pixel `i`.
    pub morton_order: bool,
}

impl Default for SogWriteOptions {
    fn default() -> Self {
        Self { sh_iterations: 10, morton_order: true }
    }
}

/// Why a capture could not be written as SOG.
#[derive(Debug, thiserror::Error)]
pub enum SogWriteError {
    /// There are no splats.
    #[error("nothing to write, the capture has no splats")]
    Empty,
    /// More splats than one SOG scene holds.
    #[error("{count} splats are more than the {limit} one SOG scene holds")]
    TooMany {
        /// Splats in the capture.
        count: usize,
        /// [`MAX_SOG_SPLATS`].
        limit: usize,
    },
    /// SOG holds static captures only.
    #[error("SOG cannot hold a dynamic capture; write .ply")]
    Dynamic,
    /// A value is NaN or infinite.
    #[error("splat {index}: {attribute} is not finite")]
    NonFinite {
        /// The splat.
        index: usize,
        /// `position`, `rotation`, `scale`, `opacity` or `sh`.
        attribute: &'static str,
    },
    /// The WebP encoder refused a plane.
    #[error("cannot encode {file}: {message}")]
    Webp {
        /// The plane.
        file: &'static str,
        /// What the encoder said.
        message: String,
    },
}

/// An encoded SOG scene: `meta.json` and its planes.
#[derive(Clone, Debug)]
pub struct EncodedSog {
    /// The `meta.json` text.
    pub meta: Vec<u8>,
    /// The planes by file name (`means_l.webp`, …), in the order written.
    pub planes: Vec<(&'static str, Vec<u8>)>,
}

impl EncodedSog {
    /// The scene as a bundled `.sog` (a ZIP of `meta.json` and the planes,
    /// stored: WebP is compressed already).
    pub fn bundle(&self) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        let entries = std::iter::once(("meta.json", &self.meta)).chain(self.planes.iter().map(|(n, b)| (*n, b)));
        for (name, bytes) in entries {
            // Writing into memory cannot fail but for sizes beyond ZIP64,
            // which MAX_SOG_SPLATS rules out.
            let _ = zip.start_file(name, options).and_then(|()| zip.write_all(bytes).map_err(Into::into));
        }
        zip.finish().map(|c| c.into_inner()).unwrap_or_default()
    }

    /// Writes `meta.json` as `meta_path` and the planes beside it. Nothing
    /// is written if any of the files exists and `overwrite` is false (the
    /// first such file is returned as the error). The folder is created if
    /// it does not exist. Returns the bytes written.
    pub fn write_unbundled(&self, meta_path: &Path, overwrite: bool) -> Result<usize, (PathBuf, std::io::Error)> {
        let dir = meta_path.parent().unwrap_or(Path::new(""));
        let files: Vec<(PathBuf, &Vec<u8>)> = std::iter::once((meta_path.to_path_buf(), &self.meta))
            .chain(self.planes.iter().map(|(n, b)| (dir.join(n), b)))
            .collect();
        if !overwrite && let Some((path, _)) = files.iter().find(|(p, _)| p.exists()) {
            let error = std::io::Error::new(std::io::ErrorKind::AlreadyExists, "the file exists; confirm to overwrite it");
            return Err((path.clone(), error));
        }
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(|e| (dir.to_path_buf(), e))?;
        }
        // Planes first, meta.json last: a reader never finds a meta.json
        // whose planes are missing.
        let mut total = 0;
        for (path, bytes) in files.iter().rev() {
            std::fs::write(path, bytes).map_err(|e| (path.clone(), e))?;
            total += bytes.len();
        }
        Ok(total)
    }
}

/// Lossless RGBA WebP of one plane.
fn webp(file: &'static str, rgba: &[u8], width: usize, height: usize) -> Result<Vec<u8>, SogWriteError> {
    let mut out = Vec::new();
    WebPEncoder::new(&mut out)
        .encode(rgba, width as u32, height as u32, ColorType::Rgba8)
        .map_err(|e| SogWriteError::Webp { file, message: e.to_string() })?;
    Ok(out)
}

/// The width of the planes of an `n`-splat SOG file: `⌈√n / 4⌉·4`.
pub(crate) fn plane_width(n: usize) -> usize {
    ((n as f64).sqrt().ceil() as usize).div_ceil(4) * 4
}

/// Lays the splats of `curve` (in curve order) out on the pixels `start..`
/// of a plane `width` wide: the returned list holds the splat of each of
/// those pixels, row by row. The rows the curve fills completely are filled
/// column by column (down the first column, then the second, …); the part
/// of a row before them and after them left to right. So the pixels stay
/// `start..start + curve.len()`, as a range of a SOG file must, and each
/// pixel's upper neighbour is mostly its predecessor on the curve.
pub(crate) fn column_layout(curve: &[u32], width: usize, start: usize) -> Vec<u32> {
    let head = ((width - start % width) % width).min(curve.len());
    let rows = (curve.len() - head) / width;
    let block = &curve[head..head + rows * width];
    let mut out = curve[..head].to_vec();
    out.extend((0..rows * width).map(|p| block[p % width * rows + p / width]));
    out.extend_from_slice(&curve[head + rows * width..]);
    out
}

/// The `quats.webp` texel of rotation `q`: the three components other than
/// the largest (of `w, x, y, z`, sign made positive), each `v·√2/2 + 0.5`
/// in 8 bits, and `252 +` the largest one's index in alpha. A zero
/// quaternion is written as the identity.
pub(crate) fn smallest_three(q: bevy::math::Quat) -> [u8; 4] {
    let q = if q.length_squared() > 0.0 { q.normalize() } else { bevy::math::Quat::IDENTITY };
    let mut c = [q.w, q.x, q.y, q.z];
    let largest = (1..4).fold(0, |m, j| if c[j].abs() > c[m].abs() { j } else { m });
    if c[largest] < 0.0 {
        c.iter_mut().for_each(|v| *v = -*v);
    }
    let mut texel = [0, 0, 0, 252 + largest as u8];
    for (o, v) in c.iter().enumerate().filter(|&(j, _)| j != largest).map(|(_, v)| v).enumerate() {
        texel[o] = ((v * std::f32::consts::SQRT_2 * 0.5 + 0.5) * 255.0).round().clamp(0.0, 255.0) as u8;
    }
    texel
}

/// `sign(x)·ln(|x| + 1)`, the position transform of SOG.
fn log_transform(x: f32) -> f32 {
    x.signum() * (x.abs() + 1.0).ln()
}

/// Checks that every value is finite (and the capture writable at all).
fn check(splats: &GaussianSplats) -> Result<(), SogWriteError> {
    if splats.is_empty() {
        return Err(SogWriteError::Empty);
    }
    if splats.len() > MAX_SOG_SPLATS {
        return Err(SogWriteError::TooMany { count: splats.len(), limit: MAX_SOG_SPLATS });
    }
    if !matches!(splats.motion, SplatMotion::Static) {
        return Err(SogWriteError::Dynamic);
    }
    let k = splats.sh_per_splat();
    for i in 0..splats.len() {
        let bad = |attribute| Err(SogWriteError::NonFinite { index: i, attribute });
        if !splats.positions[i].is_finite() {
            return bad("position");
        }
        if !splats.rotations[i].is_finite() {
            return bad("rotation");
        }
        if !splats.scales[i].is_finite() {
            return bad("scale");
        }
        if !splats.opacities[i].is_finite() {
            return bad("opacity");
        }
        if splats.sh[i * k..(i + 1) * k].iter().flatten().any(|v| !v.is_finite()) {
            return bad("sh");
        }
    }
    Ok(())
}

/// Encodes a static capture as SOG version 2. The splats are written in
/// the frame they are in (convert to the 3DGS training frame first, as
/// [`crate::io::write_splat_file`] does).
pub fn encode_sog(splats: &GaussianSplats, options: &SogWriteOptions) -> Result<EncodedSog, SogWriteError> {
    check(splats)?;
    let n = splats.len();
    let width = plane_width(n);
    let order: Vec<u32> = if options.morton_order {
        column_layout(&morton_order(&splats.positions), width, 0)
    } else {
        (0..n as u32).collect()
    };
    let height = n.div_ceil(width).div_ceil(4) * 4;
    let plane = || vec![0u8; width * height * 4];
    let mut planes = Vec::new();

    // Positions: 16 bits per axis over the log-transformed bounds.
    let logs: Vec<[f32; 3]> = splats.positions.iter().map(|p| p.to_array().map(log_transform)).collect();
    let mut mins = [f32::INFINITY; 3];
    let mut maxs = [f32::NEG_INFINITY; 3];
    for l in &logs {
        for a in 0..3 {
            mins[a] = mins[a].min(l[a]);
            maxs[a] = maxs[a].max(l[a]);
        }
    }
    let (mut low, mut high) = (plane(), plane());
    for (pixel, &i) in order.iter().enumerate() {
        for a in 0..3 {
            let range = maxs[a] - mins[a];
            let t = if range > 0.0 { (logs[i as usize][a] - mins[a]) / range } else { 0.0 };
            let u = (t * 65535.0).round().clamp(0.0, 65535.0) as u16;
            low[pixel * 4 + a] = u as u8;
            high[pixel * 4 + a] = (u >> 8) as u8;
        }
        low[pixel * 4 + 3] = 255;
        high[pixel * 4 + 3] = 255;
    }
    planes.push(("means_l.webp", webp("means_l.webp", &low, width, height)?));
    planes.push(("means_u.webp", webp("means_u.webp", &high, width, height)?));

    // Rotations: smallest three in (w, x, y, z) order.
    let mut quats = plane();
    for (pixel, &i) in order.iter().enumerate() {
        quats[pixel * 4..pixel * 4 + 4].copy_from_slice(&smallest_three(splats.rotations[i as usize]));
    }
    planes.push(("quats.webp", webp("quats.webp", &quats, width, height)?));

    // Log scales through one codebook.
    let log_scales: Vec<f32> = splats.scales.iter().flat_map(|s| s.to_array().map(|v| v.max(MIN_SCALE).ln())).collect();
    let scale_codebook = codebook_1d(&log_scales, CODEBOOK_LEN);
    let mut scales = plane();
    for (pixel, &i) in order.iter().enumerate() {
        for a in 0..3 {
            scales[pixel * 4 + a] = nearest_index(&scale_codebook, log_scales[i as usize * 3 + a]);
        }
        scales[pixel * 4 + 3] = 255;
    }
    planes.push(("scales.webp", webp("scales.webp", &scales, width, height)?));

    // DC colour through one codebook, opacity linear in alpha.
    let k = splats.sh_per_splat();
    let dc: Vec<f32> = (0..n).flat_map(|i| splats.sh[i * k]).collect();
    let colour_codebook = codebook_1d(&dc, CODEBOOK_LEN);
    let mut sh0 = plane();
    for (pixel, &i) in order.iter().enumerate() {
        let i = i as usize;
        for c in 0..3 {
            sh0[pixel * 4 + c] = nearest_index(&colour_codebook, dc[i * 3 + c]);
        }
        sh0[pixel * 4 + 3] = (splats.opacities[i].clamp(0.0, 1.0) * 255.0).round() as u8;
    }
    planes.push(("sh0.webp", webp("sh0.webp", &sh0, width, height)?));

    let mut meta = serde_json::json!({
        "version": 2,
        "asset": {"generator": concat!("bevy_radiance ", env!("CARGO_PKG_VERSION"))},
        "count": n,
        "means": {"mins": mins, "maxs": maxs, "files": ["means_l.webp", "means_u.webp"]},
        "scales": {"codebook": scale_codebook, "files": ["scales.webp"]},
        "quats": {"files": ["quats.webp"]},
        "sh0": {"codebook": colour_codebook, "files": ["sh0.webp"]},
    });
    if splats.sh_degree > 0 {
        let (sh_n, centroids, labels) = encode_sh_rest(splats, &order, options, width, height)?;
        meta["shN"] = sh_n;
        planes.push(("shN_centroids.webp", centroids));
        planes.push(("shN_labels.webp", labels));
    }
    // Serialising a tree of numbers and strings cannot fail.
    let meta = serde_json::to_vec(&meta).unwrap_or_default();
    Ok(EncodedSog { meta, planes })
}

/// The `shN` entry and its two planes (centroids, labels).
fn encode_sh_rest(
    splats: &GaussianSplats,
    order: &[u32],
    options: &SogWriteOptions,
    width: usize,
    height: usize,
) -> Result<(serde_json::Value, Vec<u8>, Vec<u8>), SogWriteError> {
    let n = splats.len();
    let k = splats.sh_per_splat();
    let rest = k - 1;
    let dim = rest * 3;
    // Channel-major per splat (all red coefficients, then green, then blue),
    // as the 3DGS `f_rest_*` columns.
    let mut vectors = Vec::with_capacity(n * dim);
    for i in 0..n {
        let coefficients = &splats.sh[i * k + 1..(i + 1) * k];
        for c in 0..3 {
            vectors.extend(coefficients.iter().map(|rgb| rgb[c]));
        }
    }
    let palette_len = palette_size(n);
    let fitted = palette(&vectors, dim, palette_len, options.sh_iterations);
    let entries = fitted.count(dim);
    let codebook = codebook_1d(&fitted.centroids, CODEBOOK_LEN);

    let rows = entries.div_ceil(CENTROIDS_PER_ROW);
    let centroid_width = CENTROIDS_PER_ROW * rest;
    let mut centroids = vec![0u8; centroid_width * rows * 4];
    for e in 0..entries {
        for j in 0..rest {
            let o = ((e / CENTROIDS_PER_ROW) * centroid_width + (e % CENTROIDS_PER_ROW) * rest + j) * 4;
            for c in 0..3 {
                centroids[o + c] = nearest_index(&codebook, fitted.centroids[e * dim + c * rest + j]);
            }
            centroids[o + 3] = 255;
        }
    }
    let mut labels = vec![0u8; width * height * 4];
    for (pixel, &i) in order.iter().enumerate() {
        let label = fitted.labels[i as usize];
        labels[pixel * 4] = label as u8;
        labels[pixel * 4 + 1] = (label >> 8) as u8;
        // Blue is unused by readers: a copy of green is free after the
        // encoder's subtract-green transform (a zero would cost 8 bits).
        labels[pixel * 4 + 2] = (label >> 8) as u8;
        labels[pixel * 4 + 3] = 255;
    }
    let entry = serde_json::json!({
        "count": palette_len,
        "bands": splats.sh_degree,
        "codebook": codebook,
        "files": ["shN_centroids.webp", "shN_labels.webp"],
    });
    Ok((
        entry,
        webp("shN_centroids.webp", &centroids, centroid_width, rows)?,
        webp("shN_labels.webp", &labels, width, height)?,
    ))
}
