//! The SPZ reader: the version 1–3 gzip container, the version 4 zstd
//! container and the attribute decoding.

use std::io::Read;

use bevy::math::{Quat, Vec3};

use super::header::{
    COLOR_SCALE, FLAG_ANTIALIASED, HEADER_LEN, Header, LEGACY_HEADER_LEN, Layout, MAG_MASK,
    MAX_DEFLATE_RATIO, MAX_LEGACY_TRAILER, MAX_ZSTD_RATIO, SQRT_1_2, STREAM_NAMES, TOC_ENTRY_LEN,
    check_counts, convert_rub_rdf, le_u32, le_u64, read_common_header,
};
use super::{LATEST_SPZ_VERSION, SpzError, SpzFile};
use crate::io::values::quat_from_wxyz;
use crate::splat::asset::{GaussianSplats, MAX_SH_DEGREE, sh_coefficient_count};

/// Maps an I/O error of the gzip decoder.
pub(super) fn gzip_error(e: std::io::Error) -> SpzError {
    SpzError::Decompress(format!("gzip: {e}"))
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
pub(super) fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> Result<usize, SpzError> {
    let mut filled = 0;
    while filled < buf.len() {
        let Some(rest) = buf.get_mut(filled..) else {
            break;
        };
        match reader.read(rest) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(gzip_error(e)),
        }
    }
    Ok(filled)
}

/// Versions 1–3: one gzip stream.
pub(super) fn parse_legacy(bytes: &[u8]) -> Result<SpzFile, SpzError> {
    let mut decoder = flate2::read::GzDecoder::new(bytes);
    let mut head = [0u8; LEGACY_HEADER_LEN];
    let got = read_up_to(&mut decoder, &mut head)?;
    if got < LEGACY_HEADER_LEN {
        return Err(SpzError::Truncated {
            expected: LEGACY_HEADER_LEN as u64,
            found: got as u64,
        });
    }
    let header = read_common_header(&head)?;
    // The reference reads versions up to the newest with the legacy layout.
    if !(1..=LATEST_SPZ_VERSION).contains(&header.version) {
        return Err(SpzError::UnsupportedVersion(header.version));
    }
    let max_payload = (bytes.len() as u64).saturating_mul(MAX_DEFLATE_RATIO);
    let (layout, total) = check_counts(&header, max_payload)?;

    // `total` is bounded by the checks above; the vector grows with the data
    // actually decompressed, from a capacity tied to the compressed size.
    let initial = total.min((bytes.len() as u64).saturating_mul(4));
    let mut payload = Vec::with_capacity(usize::try_from(initial).unwrap_or(0));
    (&mut decoder)
        .take(total)
        .read_to_end(&mut payload)
        .map_err(gzip_error)?;
    if (payload.len() as u64) < total {
        return Err(SpzError::Truncated {
            expected: LEGACY_HEADER_LEN as u64 + total,
            found: LEGACY_HEADER_LEN as u64 + payload.len() as u64,
        });
    }
    // Decompress (and drop) what follows, so the gzip checksum is verified.
    std::io::copy(
        &mut (&mut decoder).take(MAX_LEGACY_TRAILER),
        &mut std::io::sink(),
    )
    .map_err(gzip_error)?;

    let mut streams: [&[u8]; 6] = [&[]; 6];
    let mut rest = payload.as_slice();
    for (stream, size) in streams
        .iter_mut()
        .zip(layout.sizes(u64::from(header.num_points)))
    {
        let size =
            usize::try_from(size).map_err(|_| SpzError::TooManyPoints(header.num_points.into()))?;
        let (head, tail) = rest.split_at_checked(size).ok_or(SpzError::Truncated {
            expected: total,
            found: payload.len() as u64,
        })?;
        *stream = head;
        rest = tail;
    }
    decode(&header, &streams)
}

/// Version 4: plain header, table of contents, zstd streams.
pub(super) fn parse_v4(bytes: &[u8]) -> Result<SpzFile, SpzError> {
    let header = read_common_header(bytes)?;
    if header.version != 4 {
        return Err(SpzError::UnsupportedVersion(header.version));
    }
    let file_len = bytes.len() as u64;
    if bytes.len() < HEADER_LEN {
        return Err(SpzError::Truncated {
            expected: HEADER_LEN as u64,
            found: file_len,
        });
    }
    let (layout, _) = check_counts(&header, u64::MAX)?;
    let n = u64::from(header.num_points);
    // The reference's sanity bound: 9 position bytes per point, zstd ratio ≤ 1024.
    if n * 9 > file_len.saturating_mul(MAX_ZSTD_RATIO) {
        return Err(SpzError::TooManyPoints(n));
    }
    let num_streams = bytes.get(15).copied().unwrap_or(0) as usize;
    let toc_offset = le_u32(bytes, 16).unwrap_or(0) as usize;
    if toc_offset < HEADER_LEN {
        return Err(SpzError::InvalidContainer(format!(
            "table of contents at byte {toc_offset}, inside the {HEADER_LEN}-byte header"
        )));
    }
    // Extension records (flag 0x2) between the header and the table are skipped.

    let sizes = layout.sizes(n);
    let present: Vec<usize> = (0..6).filter(|&i| sizes[i] > 0).collect();
    if num_streams != present.len() {
        return Err(SpzError::InvalidContainer(format!(
            "{num_streams} streams, {} expected for SH degree {} and {n} points",
            present.len(),
            header.sh_degree
        )));
    }
    // `toc_offset < 2³²` and at most 255 entries: no overflow.
    let toc_end = toc_offset as u64 + (num_streams * TOC_ENTRY_LEN) as u64;
    if toc_end > file_len {
        return Err(SpzError::Truncated {
            expected: toc_end,
            found: file_len,
        });
    }

    // Locate every stream and check its declared size before decompressing.
    let mut offset = toc_end;
    let mut ranges = Vec::with_capacity(present.len());
    for (entry, &which) in present.iter().enumerate() {
        let at = toc_offset + entry * TOC_ENTRY_LEN;
        let (Some(compressed), Some(uncompressed)) = (le_u64(bytes, at), le_u64(bytes, at + 8))
        else {
            return Err(SpzError::Truncated {
                expected: toc_end,
                found: file_len,
            });
        };
        if uncompressed != sizes[which] {
            return Err(SpzError::StreamSize {
                stream: STREAM_NAMES[which],
                expected: sizes[which],
                found: uncompressed,
            });
        }
        let end = offset.checked_add(compressed).filter(|&e| e <= file_len);
        let Some(end) = end else {
            return Err(SpzError::Truncated {
                expected: offset.saturating_add(compressed),
                found: file_len,
            });
        };
        ranges.push((which, offset as usize, end as usize));
        offset = end;
    }
    if offset != file_len {
        return Err(SpzError::InvalidContainer(format!(
            "{} bytes after the last stream",
            file_len - offset
        )));
    }

    let decode_stream = |&(which, start, end): &(usize, usize, usize)| {
        let input = bytes.get(start..end).ok_or(SpzError::Truncated {
            expected: end as u64,
            found: file_len,
        })?;
        zstd_decode_exact(input, sizes[which], STREAM_NAMES[which])
    };
    // The streams are independent: decompress them in parallel (as the
    // reference does) when there is enough data; sequentially where threads
    // cannot be spawned.
    let results: Vec<Result<Vec<u8>, SpzError>> = if offset - toc_end >= PARALLEL_MIN_BYTES {
        std::thread::scope(|scope| {
            let spawned: Vec<_> = ranges
                .iter()
                .skip(1)
                .map(|range| {
                    std::thread::Builder::new()
                        .name("spz-zstd".into())
                        .spawn_scoped(scope, move || decode_stream(range))
                })
                .collect();
            let mut results = Vec::with_capacity(ranges.len());
            results.extend(ranges.first().map(decode_stream));
            for (handle, range) in spawned.into_iter().zip(ranges.iter().skip(1)) {
                results.push(match handle {
                    Ok(handle) => handle.join().unwrap_or_else(|_| {
                        Err(SpzError::Decompress("zstd decoder thread panicked".into()))
                    }),
                    Err(_) => decode_stream(range),
                });
            }
            results
        })
    } else {
        ranges.iter().map(decode_stream).collect()
    };
    let mut decoded: [Vec<u8>; 6] = Default::default();
    for (&(which, ..), result) in ranges.iter().zip(results) {
        if let Some(slot) = decoded.get_mut(which) {
            *slot = result?;
        }
    }
    let streams: [&[u8]; 6] = [0, 1, 2, 3, 4, 5].map(|i| decoded[i].as_slice());
    decode(&header, &streams)
}

/// Compressed size from which version-4 streams are decompressed in parallel.
pub(super) const PARALLEL_MIN_BYTES: u64 = 256 << 10;

/// Decompresses a zstd stream (one or more frames) that must produce exactly
/// `expected` bytes. Never holds more than about `expected` plus one block of
/// decoded data, whatever the frame headers claim.
pub(super) fn zstd_decode_exact(
    mut input: &[u8],
    expected: u64,
    stream: &'static str,
) -> Result<Vec<u8>, SpzError> {
    use ruzstd::decoding::StreamingDecoder;
    use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};

    let err =
        |e: &dyn std::fmt::Display| SpzError::Decompress(format!("zstd {stream} stream: {e}"));
    // `expected` passed the size checks; start with what a modest ratio allows.
    let initial = expected.min(
        (input.len() as u64)
            .saturating_mul(32)
            .saturating_add(1 << 16),
    );
    let mut out = Vec::with_capacity(usize::try_from(initial).unwrap_or(0));
    while !input.is_empty() && (out.len() as u64) <= expected {
        let mut decoder = match StreamingDecoder::new(&mut input) {
            Ok(d) => d,
            Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                length,
                ..
            })) => {
                // A skippable frame: its magic and length were consumed.
                input = input
                    .get(length as usize..)
                    .ok_or_else(|| err(&"skippable frame runs past the end"))?;
                continue;
            }
            Err(e) => return Err(err(&e)),
        };
        let room = expected + 1 - out.len() as u64;
        (&mut decoder)
            .take(room)
            .read_to_end(&mut out)
            .map_err(|e| err(&e))?;
    }
    if out.len() as u64 != expected {
        return Err(SpzError::StreamSize {
            stream,
            expected,
            found: out.len() as u64,
        });
    }
    Ok(out)
}

/// Decodes the six attribute streams (already checked to have the sizes the
/// header implies) into validated splats in the canonical frame.
pub(super) fn decode(header: &Header, streams: &[&[u8]; 6]) -> Result<SpzFile, SpzError> {
    let n = header.num_points as usize;
    let layout = Layout::new(header.version, header.sh_degree);
    for (i, (s, per)) in streams.iter().zip(layout.per_point).enumerate() {
        let expected = per * n as u64;
        if s.len() as u64 != expected {
            return Err(SpzError::StreamSize {
                stream: STREAM_NAMES[i],
                expected,
                found: s.len() as u64,
            });
        }
    }
    let [positions, alphas, colors, scales, rotations, sh] = *streams;

    let degree = header.sh_degree.min(MAX_SH_DEGREE);
    let k = sh_coefficient_count(degree);
    let file_sh = layout.per_point[5] as usize;
    let mut splats = GaussianSplats::with_capacity(n, degree);

    if header.version == 1 {
        let h = |a: u8, b: u8| half::f16::from_le_bytes([a, b]).to_f32();
        for p in positions.chunks_exact(6) {
            if let &[x0, x1, y0, y1, z0, z1] = p {
                splats
                    .positions
                    .push(Vec3::new(h(x0, x1), h(y0, y1), h(z0, z1)));
            }
        }
    } else {
        let scale = (-f32::from(header.fractional_bits)).exp2();
        // Sign-extend the 24-bit value by placing it in the top bytes.
        let fixed = |a: u8, b: u8, c: u8| (i32::from_le_bytes([0, a, b, c]) >> 8) as f32 * scale;
        for p in positions.chunks_exact(9) {
            if let &[x0, x1, x2, y0, y1, y2, z0, z1, z2] = p {
                splats.positions.push(Vec3::new(
                    fixed(x0, x1, x2),
                    fixed(y0, y1, y2),
                    fixed(z0, z1, z2),
                ));
            }
        }
    }

    splats
        .opacities
        .extend(alphas.iter().map(|&a| f32::from(a) / 255.0));

    let scale_of: [f32; 256] = std::array::from_fn(|b| (b as f32 / 16.0 - 10.0).exp());
    for s in scales.chunks_exact(3) {
        if let &[x, y, z] = s {
            let v = |b: u8| scale_of[usize::from(b)];
            splats.scales.push(Vec3::new(v(x), v(y), v(z)));
        }
    }

    if header.version >= 3 {
        for r in rotations.chunks_exact(4) {
            if let &[a, b, c, d] = r {
                splats
                    .rotations
                    .push(unpack_smallest_three(u32::from_le_bytes([a, b, c, d])));
            }
        }
    } else {
        for r in rotations.chunks_exact(3) {
            if let &[x, y, z] = r {
                splats.rotations.push(unpack_first_three([x, y, z]));
            }
        }
    }

    let dc = |b: u8| (f32::from(b) / 255.0 - 0.5) / COLOR_SCALE;
    let coeff = |b: u8| (f32::from(b) - 128.0) / 128.0;
    // At degree 0 the SH stream is empty and yields nothing.
    let mut sh_chunks = sh.chunks_exact(file_sh.max(1));
    for c in colors.chunks_exact(3) {
        if let &[r, g, b] = c {
            splats.sh.push([dc(r), dc(g), dc(b)]);
        }
        if file_sh > 0
            && let Some(s) = sh_chunks.next()
        {
            for rgb in s.chunks_exact(3).take(k - 1) {
                if let &[r, g, b] = rgb {
                    splats.sh.push([coeff(r), coeff(g), coeff(b)]);
                }
            }
        }
    }

    convert_rub_rdf(&mut splats);
    splats.validate()?;
    Ok(SpzFile {
        splats,
        version: header.version,
        antialiased: header.flags & FLAG_ANTIALIASED != 0,
    })
}

/// Decodes a smallest-three rotation word (components in `x y z w` order).
pub(super) fn unpack_smallest_three(word: u32) -> Quat {
    let largest = (word >> 30) as usize;
    let mut q = [0.0f32; 4];
    let mut rest = word;
    let mut sum = 0.0;
    for i in (0..4).rev() {
        if i == largest {
            continue;
        }
        let mag = (rest & MAG_MASK) as f32 / MAG_MASK as f32 * SQRT_1_2;
        let v = if rest & (1 << 9) != 0 { -mag } else { mag };
        rest >>= 10;
        q[i] = v;
        sum += v * v;
    }
    q[largest] = (1.0 - sum).max(0.0).sqrt();
    let [x, y, z, w] = q;
    quat_from_wxyz(w, x, y, z)
}

/// Decodes a "first three" rotation (versions 1 and 2): `x y z` bytes, `w ≥ 0`.
pub(super) fn unpack_first_three(b: [u8; 3]) -> Quat {
    let [x, y, z] = b.map(|v| f32::from(v) / 127.5 - 1.0);
    let w = (1.0 - (x * x + y * y + z * z)).max(0.0).sqrt();
    quat_from_wxyz(w, x, y, z)
}
