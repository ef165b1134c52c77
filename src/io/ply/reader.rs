//! Body decoding: binary scalar readers, binary element location and ASCII
//! tokenising.

use super::header::shorten;
use super::{ElementDef, PropertyType, ScalarType};
use crate::io::error::SplatLoadError;

// ---------------------------------------------------------------------------
// Binary decoding helpers.

/// The first `N` bytes of `b` (zeros if `b` is shorter, which the callers rule out).
#[inline(always)]
pub(super) fn arr<const N: usize>(b: &[u8]) -> [u8; N] {
    match b.first_chunk::<N>() {
        Some(a) => *a,
        None => [0; N],
    }
}

/// `b` from `offset` on (empty when out of range).
#[inline(always)]
pub(super) fn at(b: &[u8], offset: usize) -> &[u8] {
    b.get(offset..).unwrap_or_default()
}

pub(super) type ReadF32 = fn(&[u8]) -> f32;
pub(super) type ReadU32 = fn(&[u8]) -> u32;

/// A function decoding one value of `ty` as `f32` from the start of a slice.
pub(super) fn f32_reader(ty: ScalarType, big_endian: bool) -> ReadF32 {
    macro_rules! pick {
        ($t:ty, $n:literal) => {
            if big_endian {
                |b: &[u8]| <$t>::from_be_bytes(arr::<$n>(b)) as f32
            } else {
                |b: &[u8]| <$t>::from_le_bytes(arr::<$n>(b)) as f32
            }
        };
    }
    match ty {
        ScalarType::Int8 => pick!(i8, 1),
        ScalarType::Uint8 => pick!(u8, 1),
        ScalarType::Int16 => pick!(i16, 2),
        ScalarType::Uint16 => pick!(u16, 2),
        ScalarType::Int32 => pick!(i32, 4),
        ScalarType::Uint32 => pick!(u32, 4),
        ScalarType::Float32 => pick!(f32, 4),
        ScalarType::Float64 => pick!(f64, 8),
        ScalarType::Float16 => {
            if big_endian {
                |b: &[u8]| half::f16::from_be_bytes(arr::<2>(b)).to_f32()
            } else {
                |b: &[u8]| half::f16::from_le_bytes(arr::<2>(b)).to_f32()
            }
        }
    }
}

/// A function decoding an unsigned integer of `ty` (8 to 32 bits) as `u32`.
pub(super) fn u32_reader(ty: ScalarType, big_endian: bool) -> Option<ReadU32> {
    macro_rules! pick {
        ($t:ty, $n:literal) => {
            if big_endian {
                |b: &[u8]| u32::from(<$t>::from_be_bytes(arr::<$n>(b)))
            } else {
                |b: &[u8]| u32::from(<$t>::from_le_bytes(arr::<$n>(b)))
            }
        };
    }
    Some(match ty {
        ScalarType::Uint8 => pick!(u8, 1),
        ScalarType::Uint16 => pick!(u16, 2),
        ScalarType::Uint32 => pick!(u32, 4),
        _ => return None,
    })
}

/// Decodes one value of `ty` as `f64` (exact for every PLY type).
pub(super) fn decode_f64(ty: ScalarType, big_endian: bool, b: &[u8]) -> f64 {
    macro_rules! get {
        ($t:ty, $n:literal) => {
            if big_endian {
                <$t>::from_be_bytes(arr::<$n>(b)) as f64
            } else {
                <$t>::from_le_bytes(arr::<$n>(b)) as f64
            }
        };
    }
    match ty {
        ScalarType::Int8 => get!(i8, 1),
        ScalarType::Uint8 => get!(u8, 1),
        ScalarType::Int16 => get!(i16, 2),
        ScalarType::Uint16 => get!(u16, 2),
        ScalarType::Int32 => get!(i32, 4),
        ScalarType::Uint32 => get!(u32, 4),
        ScalarType::Float32 => get!(f32, 4),
        ScalarType::Float64 => get!(f64, 8),
        ScalarType::Float16 => {
            let h = if big_endian {
                half::f16::from_be_bytes(arr::<2>(b))
            } else {
                half::f16::from_le_bytes(arr::<2>(b))
            };
            f64::from(h.to_f32())
        }
    }
}

/// A list length read from the body, as a `usize` (`None` if negative).
pub(super) fn list_len(ty: ScalarType, big_endian: bool, b: &[u8]) -> Option<usize> {
    let v = decode_f64(ty, big_endian, b);
    (v >= 0.0 && v.fract() == 0.0 && v <= u32::MAX as f64).then_some(v as usize)
}

pub(super) fn truncated(expected: u128, found: usize) -> SplatLoadError {
    SplatLoadError::Truncated {
        expected_bytes: u64::try_from(expected).unwrap_or(u64::MAX),
        found_bytes: found as u64,
    }
}

// ---------------------------------------------------------------------------
// Element storage.

#[derive(Debug)]
pub(super) enum RowLayout {
    /// Every row has `stride` bytes; `offsets[p]` is property `p`'s offset.
    Fixed { stride: usize, offsets: Vec<usize> },
    /// List properties: row `r` spans `row_starts[r]..row_starts[r + 1]`.
    Variable { row_starts: Vec<usize> },
}

#[derive(Debug, Default)]
pub(super) struct AsciiList {
    /// `starts[r]..starts[r + 1]` indexes `values` (`starts` has rows + 1 entries).
    pub(super) starts: Vec<usize>,
    pub(super) values: Vec<f64>,
}

#[derive(Debug, Default)]
pub(super) struct AsciiElement {
    /// Per property: index among the scalar properties, if scalar.
    pub(super) scalar_slot: Vec<Option<usize>>,
    /// Per property: index into `lists`, if a list.
    pub(super) list_slot: Vec<Option<usize>>,
    pub(super) scalar_count: usize,
    /// Row-major scalar values.
    pub(super) scalars: Vec<f64>,
    pub(super) lists: Vec<AsciiList>,
}

#[derive(Debug)]
pub(super) enum ElementData<'a> {
    Binary { bytes: &'a [u8], layout: RowLayout },
    Ascii(AsciiElement),
}

/// Checks that element `def` fits in `bytes` from `offset` on; returns its data
/// and the offset just past it.
pub(super) fn locate_binary_element<'a>(
    bytes: &'a [u8],
    offset: usize,
    def: &ElementDef,
    big: bool,
) -> Result<(ElementData<'a>, usize), SplatLoadError> {
    let available = bytes.len().saturating_sub(offset);
    if let Some(stride) = def.fixed_row_size() {
        let need = (def.count as u128) * (stride as u128);
        if need > available as u128 {
            return Err(truncated(offset as u128 + need, bytes.len()));
        }
        // `need <= available`, so these fit in usize and in range.
        let end = offset + need as usize;
        let slice = bytes.get(offset..end).unwrap_or_default();
        let mut offsets = Vec::with_capacity(def.properties.len());
        let mut o = 0usize;
        for p in &def.properties {
            offsets.push(o);
            if let PropertyType::Scalar(t) = p.ty {
                o += t.size();
            }
        }
        let layout = RowLayout::Fixed { stride, offsets };
        return Ok((
            ElementData::Binary {
                bytes: slice,
                layout,
            },
            end,
        ));
    }
    // Variable-sized rows: walk them. Every row holds at least one list length
    // (>= 1 byte), so `row_starts` grows no faster than the bytes consumed.
    let body = bytes.get(offset..).unwrap_or_default();
    let mut row_starts = Vec::with_capacity(def.count.min(body.len()).saturating_add(1));
    let mut o = 0usize;
    row_starts.push(0);
    for _ in 0..def.count {
        for p in &def.properties {
            let size = match p.ty {
                PropertyType::Scalar(t) => t.size(),
                PropertyType::List { count, item } => {
                    if o + count.size() > body.len() {
                        return Err(truncated((offset + o + count.size()) as u128, bytes.len()));
                    }
                    let n = list_len(count, big, at(body, o)).ok_or_else(|| {
                        SplatLoadError::WrongPropertyType {
                            element: def.name.clone(),
                            property: p.name.clone(),
                            expected: "a non-negative list length",
                            found: format!("{}", decode_f64(count, big, at(body, o))),
                        }
                    })?;
                    n.saturating_mul(item.size()).saturating_add(count.size())
                }
            };
            o = o.saturating_add(size);
            if o > body.len() {
                return Err(truncated(offset as u128 + o as u128, bytes.len()));
            }
        }
        row_starts.push(o);
    }
    let slice = body.get(..o).unwrap_or_default();
    Ok((
        ElementData::Binary {
            bytes: slice,
            layout: RowLayout::Variable { row_starts },
        },
        offset + o,
    ))
}

// ---------------------------------------------------------------------------
// ASCII bodies.

pub(super) struct Tokens<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) pos: usize,
    /// 1-based line of `pos`.
    pub(super) line: usize,
}

impl<'a> Tokens<'a> {
    /// The next whitespace-separated token and its line.
    fn next(&mut self) -> Option<(&'a [u8], usize)> {
        let rest = self.bytes.get(self.pos..)?;
        let mut i = 0;
        while let Some(&b) = rest.get(i) {
            if !b.is_ascii_whitespace() {
                break;
            }
            if b == b'\n' {
                self.line += 1;
            }
            i += 1;
        }
        let start = i;
        while let Some(&b) = rest.get(i) {
            if b.is_ascii_whitespace() {
                break;
            }
            i += 1;
        }
        self.pos += i;
        (i > start).then(|| (&rest[start..i], self.line))
    }

    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }
}

/// Parses an ASCII token as a value of `ty` (range-checked for integers).
pub(super) fn parse_ascii_value(token: &[u8], ty: ScalarType) -> Option<f64> {
    let s = std::str::from_utf8(token).ok()?;
    match ty.integer_range() {
        None => s.parse::<f64>().ok(),
        Some((lo, hi)) => {
            let v = match s.parse::<i64>() {
                Ok(v) => v as f64,
                // Some writers print integers as `3.0`.
                Err(_) => s.parse::<f64>().ok().filter(|v| v.fract() == 0.0)?,
            };
            (lo..=hi).contains(&v).then_some(v)
        }
    }
}

pub(super) fn parse_ascii_element(
    def: &ElementDef,
    tokens: &mut Tokens<'_>,
) -> Result<AsciiElement, SplatLoadError> {
    let mut element = AsciiElement::default();
    for p in &def.properties {
        match p.ty {
            PropertyType::Scalar(_) => {
                element.scalar_slot.push(Some(element.scalar_count));
                element.list_slot.push(None);
                element.scalar_count += 1;
            }
            PropertyType::List { .. } => {
                element.scalar_slot.push(None);
                element.list_slot.push(Some(element.lists.len()));
                element.lists.push(AsciiList::default());
            }
        }
    }
    if def.properties.is_empty() {
        return Ok(element);
    }
    // Every value needs at least two bytes (a digit and a separator), so never
    // reserve more than that allows, whatever the header claims.
    let budget = tokens.remaining() / 2;
    element.scalars =
        Vec::with_capacity(def.count.saturating_mul(element.scalar_count).min(budget));
    for list in &mut element.lists {
        list.starts = Vec::with_capacity(def.count.min(budget).saturating_add(1));
        list.starts.push(0);
    }
    for row in 0..def.count {
        for (pi, p) in def.properties.iter().enumerate() {
            let mut value = |ty: ScalarType| -> Result<f64, SplatLoadError> {
                let (token, line) =
                    tokens
                        .next()
                        .ok_or_else(|| SplatLoadError::AsciiTruncated {
                            element: def.name.clone(),
                            expected_rows: def.count,
                            found_rows: row,
                        })?;
                parse_ascii_value(token, ty).ok_or_else(|| SplatLoadError::AsciiParse {
                    line,
                    token: shorten(&String::from_utf8_lossy(token)),
                    expected: ty.name(),
                })
            };
            match p.ty {
                PropertyType::Scalar(t) => {
                    let v = value(t)?;
                    element.scalars.push(v);
                }
                PropertyType::List { count, item } => {
                    let n = value(count)?;
                    if n < 0.0 {
                        return Err(SplatLoadError::WrongPropertyType {
                            element: def.name.clone(),
                            property: p.name.clone(),
                            expected: "a non-negative list length",
                            found: format!("{n}"),
                        });
                    }
                    let mut items = Vec::new();
                    for _ in 0..n as u64 {
                        items.push(value(item)?);
                    }
                    let slot = element.list_slot.get(pi).copied().flatten();
                    if let Some(list) = slot.and_then(|s| element.lists.get_mut(s)) {
                        list.values.extend_from_slice(&items);
                        list.starts.push(list.values.len());
                    }
                }
            }
        }
    }
    Ok(element)
}
