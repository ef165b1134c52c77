//! Writing float-only `vertex` PLY files (the splat writers' common part).

use std::fmt::Write as _;

use super::PlyFormat;

/// A PLY file with one `vertex` element of `n` rows whose properties are all
/// `float`, named `names`; `fill(i, row)` writes row `i` into a zeroed row.
/// ASCII rows use the shortest round-trip decimal form, so values are exact.
pub(crate) fn write_float_vertex_ply(
    names: &[String],
    n: usize,
    format: PlyFormat,
    mut fill: impl FnMut(usize, &mut [f32]),
) -> Vec<u8> {
    let mut header = String::new();
    header.push_str("ply\n");
    let _ = writeln!(header, "format {} 1.0", format.header_name());
    header.push_str("comment written by bevy_radiance\n");
    let _ = writeln!(header, "element vertex {n}");
    for name in names {
        let _ = writeln!(header, "property float {name}");
    }
    header.push_str("end_header\n");
    let mut out = header.into_bytes();
    let bytes_per_value = if format == PlyFormat::Ascii { 12 } else { 4 };
    out.reserve(n.saturating_mul(names.len()).saturating_mul(bytes_per_value));
    let mut row = vec![0f32; names.len()];
    let mut text = String::new();
    for i in 0..n {
        row.fill(0.0);
        fill(i, &mut row);
        match format {
            PlyFormat::Ascii => {
                text.clear();
                for (j, v) in row.iter().enumerate() {
                    if j > 0 {
                        text.push(' ');
                    }
                    let _ = write!(text, "{v}");
                }
                text.push('\n');
                out.extend_from_slice(text.as_bytes());
            }
            PlyFormat::BinaryLittleEndian => row.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
            PlyFormat::BinaryBigEndian => row.iter().for_each(|v| out.extend_from_slice(&v.to_be_bytes())),
        }
    }
    out
}
