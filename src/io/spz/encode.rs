//! The SPZ writer: quantisation, rotation packing and both containers.

use bevy::math::Quat;

use super::header::{
    COLOR_SCALE, FLAG_ANTIALIASED, HEADER_LEN, Header, LEGACY_HEADER_LEN, Layout, MAG_MASK,
    MAX_POINTS, SQRT_1_2, TOC_ENTRY_LEN, convert_rub_rdf,
};
use super::{DEFAULT_FRACTIONAL_BITS, SPZ_MAGIC, SpzError, SpzWriteOptions};
use crate::splat::asset::GaussianSplats;

/// Quantises a float to a byte: rounded, clamped to `0..=255` (NaN gives 0).
pub(super) fn to_u8(x: f32) -> u8 {
    x.round().clamp(0.0, 255.0) as u8
}

/// Quantises an SH coefficient to a byte in buckets of `bucket` (a power of two
/// ≤ 128) centred so that 0 stays exact: `round(x · 128) + 128`, rounded to the
/// nearest multiple of `bucket` (halves up), clamped.
pub(super) fn quantize_sh(x: f32, bucket: i32) -> u8 {
    let q = ((x * 128.0).round() + 128.0).clamp(-1024.0, 1024.0) as i32;
    let q = (q + bucket / 2).div_euclid(bucket) * bucket;
    q.clamp(0, 255) as u8
}

/// Encodes a rotation as a smallest-three word (components in `x y z w` order).
pub(super) fn pack_smallest_three(q: Quat) -> u32 {
    let q = if q.length_squared() > 0.0 {
        q.normalize()
    } else {
        Quat::IDENTITY
    };
    let c = [q.x, q.y, q.z, q.w];
    let mut largest = 0;
    for i in 1..4 {
        if c[i].abs() > c[largest].abs() {
            largest = i;
        }
    }
    let negate = c[largest] < 0.0;
    let mut word = largest as u32;
    for (i, &v) in c.iter().enumerate() {
        if i == largest {
            continue;
        }
        let sign = u32::from((v < 0.0) != negate);
        let mag = ((v.abs() / SQRT_1_2) * MAG_MASK as f32)
            .round()
            .clamp(0.0, MAG_MASK as f32) as u32;
        word = (word << 10) | (sign << 9) | mag;
    }
    word
}

/// Encodes a rotation as "first three" bytes (versions 1 and 2): `w` made
/// non-negative, then `x y z` as `round(v · 127.5 + 127.5)`.
pub(super) fn pack_first_three(q: Quat) -> [u8; 3] {
    let q = if q.length_squared() > 0.0 {
        q.normalize()
    } else {
        Quat::IDENTITY
    };
    let s = if q.w < 0.0 { -127.5 } else { 127.5 };
    [q.x, q.y, q.z].map(|v| to_u8(v * s + 127.5))
}

/// The writer, for versions 1–4 (version 1, with half-float positions, is never
/// written by the reference library; the tests use it to exercise the reader).
pub(super) fn write_any_version(
    splats: &GaussianSplats,
    options: &SpzWriteOptions,
) -> Result<Vec<u8>, SpzError> {
    if !(1..=8).contains(&options.sh1_bits) || !(1..=8).contains(&options.sh_rest_bits) {
        return Err(SpzError::InvalidOptions("SH bits must be in 1..=8"));
    }
    splats.validate()?;
    let n = splats.len();
    if n as u64 > MAX_POINTS {
        return Err(SpzError::TooManyPoints(n as u64));
    }
    let version = options.version;

    // Into SPZ's RUB frame.
    let mut rub = splats.clone();
    convert_rub_rdf(&mut rub);

    // Fractional bits: 12 unless a coordinate would overflow 24 bits.
    let max_abs = rub
        .positions
        .iter()
        .map(|p| p.abs().max_element())
        .fold(0.0f32, f32::max);
    let limit = ((1 << 23) - 1) as f32;
    let mut fractional_bits = DEFAULT_FRACTIONAL_BITS;
    while fractional_bits > 0 && (max_abs * (f32::from(fractional_bits)).exp2()).round() > limit {
        fractional_bits -= 1;
    }
    if version >= 2 && max_abs.round() > limit {
        // The frame change keeps magnitudes: report the caller's coordinate.
        let (index, value) = splats
            .positions
            .iter()
            .enumerate()
            .flat_map(|(i, p)| p.to_array().map(|v| (i, v)))
            .find(|(_, v)| v.abs().round() > limit)
            .unwrap_or((0, max_abs));
        return Err(SpzError::PositionOutOfRange { index, value });
    }
    let header = Header {
        version,
        num_points: n as u32,
        sh_degree: rub.sh_degree,
        fractional_bits,
        flags: if options.antialiased {
            FLAG_ANTIALIASED
        } else {
            0
        },
    };
    let layout = Layout::new(version, rub.sh_degree);
    let sizes = layout.sizes(n as u64).map(|s| s as usize);

    let mut positions = Vec::with_capacity(sizes[0]);
    if version == 1 {
        for p in &rub.positions {
            for v in p.to_array() {
                positions.extend_from_slice(&half::f16::from_f32(v).to_le_bytes());
            }
        }
    } else {
        let scale = f32::from(fractional_bits).exp2();
        for p in &rub.positions {
            for v in p.to_array() {
                let fixed = (v * scale).round() as i32;
                positions.extend_from_slice(&fixed.to_le_bytes()[..3]);
            }
        }
    }
    let alphas: Vec<u8> = rub.opacities.iter().map(|&a| to_u8(a * 255.0)).collect();
    let k = rub.sh_per_splat();
    let mut colors = Vec::with_capacity(sizes[2]);
    let mut sh = Vec::with_capacity(sizes[5]);
    let bucket1 = 1 << (8 - options.sh1_bits);
    let bucket_rest = 1 << (8 - options.sh_rest_bits);
    for coeffs in rub.sh.chunks_exact(k) {
        for (j, c) in coeffs.iter().enumerate() {
            if j == 0 {
                colors.extend(c.map(|v| to_u8(v * (COLOR_SCALE * 255.0) + 0.5 * 255.0)));
            } else {
                let bucket = if j <= 3 { bucket1 } else { bucket_rest };
                sh.extend(c.map(|v| quantize_sh(v, bucket)));
            }
        }
    }
    let mut scales = Vec::with_capacity(sizes[3]);
    for s in &rub.scales {
        scales.extend(s.to_array().map(|v| to_u8((v.ln() + 10.0) * 16.0)));
    }
    let mut rotations = Vec::with_capacity(sizes[4]);
    for &q in &rub.rotations {
        if version >= 3 {
            rotations.extend_from_slice(&pack_smallest_three(q).to_le_bytes());
        } else {
            rotations.extend_from_slice(&pack_first_three(q));
        }
    }
    let streams = [positions, alphas, colors, scales, rotations, sh];

    if version >= 4 {
        Ok(write_v4_container(&header, &streams))
    } else {
        write_legacy_container(&header, &streams)
    }
}

/// The version-4 container: header, table of contents, zstd streams.
pub(super) fn write_v4_container(header: &Header, streams: &[Vec<u8>; 6]) -> Vec<u8> {
    use ruzstd::encoding::{CompressionLevel, compress_to_vec};
    let chunks: Vec<(u64, Vec<u8>)> = streams
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| {
            (
                s.len() as u64,
                compress_to_vec(s.as_slice(), CompressionLevel::Fastest),
            )
        })
        .collect();
    let mut out = Vec::with_capacity(
        HEADER_LEN + chunks.len() * TOC_ENTRY_LEN + chunks.iter().map(|c| c.1.len()).sum::<usize>(),
    );
    out.extend_from_slice(&SPZ_MAGIC.to_le_bytes());
    out.extend_from_slice(&header.version.to_le_bytes());
    out.extend_from_slice(&header.num_points.to_le_bytes());
    out.extend_from_slice(&[
        header.sh_degree,
        header.fractional_bits,
        header.flags,
        chunks.len() as u8,
    ]);
    out.extend_from_slice(&(HEADER_LEN as u32).to_le_bytes());
    out.extend_from_slice(&[0u8; 12]);
    for (uncompressed, chunk) in &chunks {
        out.extend_from_slice(&(chunk.len() as u64).to_le_bytes());
        out.extend_from_slice(&uncompressed.to_le_bytes());
    }
    for (_, chunk) in &chunks {
        out.extend_from_slice(chunk);
    }
    out
}

/// The version 1–3 container: one gzip stream of header and attribute blocks.
pub(super) fn write_legacy_container(
    header: &Header,
    streams: &[Vec<u8>; 6],
) -> Result<Vec<u8>, SpzError> {
    use std::io::Write;
    let mut raw =
        Vec::with_capacity(LEGACY_HEADER_LEN + streams.iter().map(Vec::len).sum::<usize>());
    raw.extend_from_slice(&SPZ_MAGIC.to_le_bytes());
    raw.extend_from_slice(&header.version.to_le_bytes());
    raw.extend_from_slice(&header.num_points.to_le_bytes());
    raw.extend_from_slice(&[header.sh_degree, header.fractional_bits, header.flags, 0]);
    for s in streams {
        raw.extend_from_slice(s);
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(&raw)
        .and_then(|()| encoder.try_finish())
        .map_err(|e| SpzError::Compress(format!("gzip: {e}")))?;
    encoder
        .finish()
        .map_err(|e| SpzError::Compress(format!("gzip: {e}")))
}
