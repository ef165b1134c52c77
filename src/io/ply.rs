//! A generic reader for the PLY ("Polygon File Format") container.
//!
//! [`PlyHeader::parse`] reads the text header; [`PlyFile::parse`] also locates
//! (binary) or tokenises (ASCII) the body of every element, checking sizes
//! against the file length before allocating anything sized by the header.
//! [`ElementView`] then reads named properties as `f32` or `u32`, converting
//! from any scalar type.
//!
//! Binary bodies are not copied: a fixed-size element keeps a slice of the file
//! and reads properties at precomputed byte offsets. `list` properties are
//! supported (they make rows variable-sized, so such elements are walked row by
//! row), as are the non-standard `half` / `float16` scalars.

use std::fmt;

use super::error::SplatLoadError;

/// The largest header accepted, in bytes.
pub const MAX_HEADER_BYTES: usize = 1 << 20;

/// How a PLY body is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PlyFormat {
    /// Whitespace-separated text.
    Ascii,
    /// Little-endian binary.
    BinaryLittleEndian,
    /// Big-endian binary.
    BinaryBigEndian,
}

impl PlyFormat {
    /// The format's name on the header's `format` line.
    pub const fn header_name(self) -> &'static str {
        match self {
            PlyFormat::Ascii => "ascii",
            PlyFormat::BinaryLittleEndian => "binary_little_endian",
            PlyFormat::BinaryBigEndian => "binary_big_endian",
        }
    }

    /// Parses a `format` line's encoding name.
    pub fn from_header_name(name: &str) -> Option<Self> {
        match name {
            "ascii" => Some(PlyFormat::Ascii),
            "binary_little_endian" => Some(PlyFormat::BinaryLittleEndian),
            "binary_big_endian" => Some(PlyFormat::BinaryBigEndian),
            _ => None,
        }
    }
}

/// A PLY scalar type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScalarType {
    /// `char` / `int8`.
    Int8,
    /// `uchar` / `uint8`.
    Uint8,
    /// `short` / `int16`.
    Int16,
    /// `ushort` / `uint16`.
    Uint16,
    /// `int` / `int32`.
    Int32,
    /// `uint` / `uint32`.
    Uint32,
    /// `half` / `float16` (not in the original PLY spec, written by some tools).
    Float16,
    /// `float` / `float32`.
    Float32,
    /// `double` / `float64`.
    Float64,
}

impl ScalarType {
    /// Parses a type name as written in a `property` line (either spelling).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "char" | "int8" => ScalarType::Int8,
            "uchar" | "uint8" => ScalarType::Uint8,
            "short" | "int16" => ScalarType::Int16,
            "ushort" | "uint16" => ScalarType::Uint16,
            "int" | "int32" => ScalarType::Int32,
            "uint" | "uint32" => ScalarType::Uint32,
            "half" | "float16" => ScalarType::Float16,
            "float" | "float32" => ScalarType::Float32,
            "double" | "float64" => ScalarType::Float64,
            _ => return None,
        })
    }

    /// The classic PLY name of the type (`uchar`, `float`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            ScalarType::Int8 => "char",
            ScalarType::Uint8 => "uchar",
            ScalarType::Int16 => "short",
            ScalarType::Uint16 => "ushort",
            ScalarType::Int32 => "int",
            ScalarType::Uint32 => "uint",
            ScalarType::Float16 => "half",
            ScalarType::Float32 => "float",
            ScalarType::Float64 => "double",
        }
    }

    /// Size in bytes in a binary body.
    pub const fn size(self) -> usize {
        match self {
            ScalarType::Int8 | ScalarType::Uint8 => 1,
            ScalarType::Int16 | ScalarType::Uint16 | ScalarType::Float16 => 2,
            ScalarType::Int32 | ScalarType::Uint32 | ScalarType::Float32 => 4,
            ScalarType::Float64 => 8,
        }
    }

    /// Whether this is a floating-point type.
    pub const fn is_float(self) -> bool {
        matches!(
            self,
            ScalarType::Float16 | ScalarType::Float32 | ScalarType::Float64
        )
    }

    /// Whether this is an unsigned integer type (which [`ElementView::read_u32`] accepts).
    pub const fn is_unsigned_integer(self) -> bool {
        matches!(
            self,
            ScalarType::Uint8 | ScalarType::Uint16 | ScalarType::Uint32
        )
    }

    /// The inclusive value range of an integer type (`None` for floats).
    const fn integer_range(self) -> Option<(f64, f64)> {
        match self {
            ScalarType::Int8 => Some((i8::MIN as f64, i8::MAX as f64)),
            ScalarType::Uint8 => Some((0.0, u8::MAX as f64)),
            ScalarType::Int16 => Some((i16::MIN as f64, i16::MAX as f64)),
            ScalarType::Uint16 => Some((0.0, u16::MAX as f64)),
            ScalarType::Int32 => Some((i32::MIN as f64, i32::MAX as f64)),
            ScalarType::Uint32 => Some((0.0, u32::MAX as f64)),
            _ => None,
        }
    }
}

impl fmt::Display for ScalarType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The declared type of a property.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PropertyType {
    /// One value per row.
    Scalar(ScalarType),
    /// A length-prefixed list per row.
    List {
        /// Type of the length prefix (an integer type).
        count: ScalarType,
        /// Type of each item.
        item: ScalarType,
    },
}

impl fmt::Display for PropertyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PropertyType::Scalar(t) => write!(f, "{t}"),
            PropertyType::List { count, item } => write!(f, "list {count} {item}"),
        }
    }
}

/// A `property` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PropertyDef {
    /// The property's name.
    pub name: String,
    /// Its type.
    pub ty: PropertyType,
}

/// An `element` line and its properties.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElementDef {
    /// The element's name.
    pub name: String,
    /// Number of rows the header declares.
    pub count: usize,
    /// Properties in row order.
    pub properties: Vec<PropertyDef>,
}

impl ElementDef {
    /// Index of the first property with this name.
    pub fn property_index(&self, name: &str) -> Option<usize> {
        self.properties.iter().position(|p| p.name == name)
    }

    /// The property with this name (the first, if repeated).
    pub fn property(&self, name: &str) -> Option<&PropertyDef> {
        self.properties.iter().find(|p| p.name == name)
    }

    /// Bytes per row in a binary body, or `None` when a list property makes rows
    /// variable-sized (or the sum overflows).
    pub fn fixed_row_size(&self) -> Option<usize> {
        self.properties
            .iter()
            .try_fold(0usize, |acc, p| match p.ty {
                PropertyType::Scalar(t) => acc.checked_add(t.size()),
                PropertyType::List { .. } => None,
            })
    }
}

/// A parsed PLY header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlyHeader {
    /// Body encoding.
    pub format: PlyFormat,
    /// Elements in file order.
    pub elements: Vec<ElementDef>,
    /// `comment` and `obj_info` lines' text.
    pub comments: Vec<String>,
    /// Byte offset of the body (just past the `end_header` line).
    pub body_offset: usize,
    /// Number of lines in the header, `ply` and `end_header` included.
    pub line_count: usize,
}

fn shorten(text: &str) -> String {
    const MAX: usize = 120;
    if text.len() <= MAX {
        return text.to_owned();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

impl PlyHeader {
    /// The first element with this name.
    pub fn element(&self, name: &str) -> Option<&ElementDef> {
        self.elements.iter().find(|e| e.name == name)
    }

    /// Parses the header at the start of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Self, SplatLoadError> {
        if !bytes.starts_with(b"ply") {
            return Err(SplatLoadError::BadMagic);
        }
        let mut format = None;
        let mut elements: Vec<ElementDef> = Vec::new();
        let mut comments = Vec::new();
        let mut pos = 0usize;
        let mut line_number = 0usize;
        loop {
            let rest = bytes.get(pos..).unwrap_or_default();
            let window = &rest[..rest.len().min(MAX_HEADER_BYTES.saturating_sub(pos))];
            let (raw, next) = match window.iter().position(|&b| b == b'\n') {
                Some(nl) => (&window[..nl], pos + nl + 1),
                None if rest.len() > window.len() => {
                    return Err(SplatLoadError::HeaderTooLong {
                        limit: MAX_HEADER_BYTES,
                    });
                }
                // The last line of the file, without a newline.
                None if !window.is_empty() => (window, pos + window.len()),
                None => return Err(SplatLoadError::MissingEndHeader),
            };
            line_number += 1;
            pos = next;
            let malformed = |reason: &'static str| SplatLoadError::MalformedHeader {
                line_number,
                line: shorten(&String::from_utf8_lossy(raw)),
                reason,
            };
            let line = std::str::from_utf8(raw).map_err(|_| malformed("not valid UTF-8"))?;
            let line = line.trim();
            if line_number == 1 {
                if line != "ply" {
                    return Err(SplatLoadError::BadMagic);
                }
                continue;
            }
            let mut tokens = line.split_ascii_whitespace();
            let Some(keyword) = tokens.next() else {
                continue; // blank line
            };
            match keyword {
                "comment" | "obj_info" => {
                    let text = line[keyword.len()..].trim();
                    comments.push(text.to_owned());
                }
                "format" => {
                    if format.is_some() {
                        return Err(malformed("second `format` line"));
                    }
                    let (Some(name), Some(version), None) =
                        (tokens.next(), tokens.next(), tokens.next())
                    else {
                        return Err(malformed("expected `format <encoding> <version>`"));
                    };
                    let encoding = PlyFormat::from_header_name(name);
                    let version_ok = version.parse::<f64>().is_ok_and(|v| v == 1.0);
                    match encoding {
                        Some(f) if version_ok => format = Some(f),
                        _ => {
                            return Err(SplatLoadError::UnsupportedFormat(format!(
                                "{name} {version}"
                            )));
                        }
                    }
                }
                "element" => {
                    let (Some(name), Some(count), None) =
                        (tokens.next(), tokens.next(), tokens.next())
                    else {
                        return Err(malformed("expected `element <name> <count>`"));
                    };
                    let count = count
                        .parse::<u64>()
                        .ok()
                        .and_then(|c| usize::try_from(c).ok())
                        .ok_or_else(|| malformed("element count is not a non-negative integer"))?;
                    elements.push(ElementDef {
                        name: name.to_owned(),
                        count,
                        properties: Vec::new(),
                    });
                }
                "property" => {
                    let Some(element) = elements.last_mut() else {
                        return Err(malformed("`property` before any `element`"));
                    };
                    let parts: Vec<&str> = tokens.collect();
                    let scalar = |type_name: &str, property: &str| {
                        ScalarType::from_name(type_name).ok_or_else(|| {
                            SplatLoadError::UnknownPropertyType {
                                type_name: type_name.to_owned(),
                                property: property.to_owned(),
                            }
                        })
                    };
                    let def = match parts.as_slice() {
                        ["list", count, item, name] => {
                            let count = scalar(count, name)?;
                            if count.is_float() {
                                return Err(malformed("list length type must be an integer type"));
                            }
                            PropertyDef {
                                name: (*name).to_owned(),
                                ty: PropertyType::List {
                                    count,
                                    item: scalar(item, name)?,
                                },
                            }
                        }
                        ["list", ..] => {
                            return Err(malformed(
                                "expected `property list <length type> <item type> <name>`",
                            ));
                        }
                        [ty, name] => PropertyDef {
                            name: (*name).to_owned(),
                            ty: PropertyType::Scalar(scalar(ty, name)?),
                        },
                        _ => return Err(malformed("expected `property <type> <name>`")),
                    };
                    element.properties.push(def);
                }
                "end_header" => {
                    if tokens.next().is_some() {
                        return Err(malformed("unexpected text after `end_header`"));
                    }
                    let format = format.ok_or_else(|| malformed("header has no `format` line"))?;
                    return Ok(PlyHeader {
                        format,
                        elements,
                        comments,
                        body_offset: pos,
                        line_count: line_number,
                    });
                }
                _ => return Err(malformed("unknown header keyword")),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Binary decoding helpers.

/// The first `N` bytes of `b` (zeros if `b` is shorter, which the callers rule out).
#[inline(always)]
fn arr<const N: usize>(b: &[u8]) -> [u8; N] {
    match b.first_chunk::<N>() {
        Some(a) => *a,
        None => [0; N],
    }
}

/// `b` from `offset` on (empty when out of range).
#[inline(always)]
fn at(b: &[u8], offset: usize) -> &[u8] {
    b.get(offset..).unwrap_or_default()
}

type ReadF32 = fn(&[u8]) -> f32;
type ReadU32 = fn(&[u8]) -> u32;

/// A function decoding one value of `ty` as `f32` from the start of a slice.
fn f32_reader(ty: ScalarType, big_endian: bool) -> ReadF32 {
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
fn u32_reader(ty: ScalarType, big_endian: bool) -> Option<ReadU32> {
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
fn decode_f64(ty: ScalarType, big_endian: bool, b: &[u8]) -> f64 {
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
fn list_len(ty: ScalarType, big_endian: bool, b: &[u8]) -> Option<usize> {
    let v = decode_f64(ty, big_endian, b);
    (v >= 0.0 && v.fract() == 0.0 && v <= u32::MAX as f64).then_some(v as usize)
}

fn truncated(expected: u128, found: usize) -> SplatLoadError {
    SplatLoadError::Truncated {
        expected_bytes: u64::try_from(expected).unwrap_or(u64::MAX),
        found_bytes: found as u64,
    }
}

// ---------------------------------------------------------------------------
// Element storage.

#[derive(Debug)]
enum RowLayout {
    /// Every row has `stride` bytes; `offsets[p]` is property `p`'s offset.
    Fixed { stride: usize, offsets: Vec<usize> },
    /// List properties: row `r` spans `row_starts[r]..row_starts[r + 1]`.
    Variable { row_starts: Vec<usize> },
}

#[derive(Debug, Default)]
struct AsciiList {
    /// `starts[r]..starts[r + 1]` indexes `values` (`starts` has rows + 1 entries).
    starts: Vec<usize>,
    values: Vec<f64>,
}

#[derive(Debug, Default)]
struct AsciiElement {
    /// Per property: index among the scalar properties, if scalar.
    scalar_slot: Vec<Option<usize>>,
    /// Per property: index into `lists`, if a list.
    list_slot: Vec<Option<usize>>,
    scalar_count: usize,
    /// Row-major scalar values.
    scalars: Vec<f64>,
    lists: Vec<AsciiList>,
}

#[derive(Debug)]
enum ElementData<'a> {
    Binary { bytes: &'a [u8], layout: RowLayout },
    Ascii(AsciiElement),
}

/// A parsed PLY file: the header plus the located body of every element.
///
/// Binary bodies borrow from the input bytes.
#[derive(Debug)]
pub struct PlyFile<'a> {
    header: PlyHeader,
    data: Vec<ElementData<'a>>,
}

impl<'a> PlyFile<'a> {
    /// Parses the header and checks / locates every element's body.
    ///
    /// Errors if the body is shorter than the header requires. Bytes after the
    /// last element are ignored.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, SplatLoadError> {
        let header = PlyHeader::parse(bytes)?;
        let mut data = Vec::with_capacity(header.elements.len());
        match header.format {
            PlyFormat::Ascii => {
                let mut tokens = Tokens {
                    bytes,
                    pos: header.body_offset,
                    line: header.line_count + 1,
                };
                for def in &header.elements {
                    data.push(ElementData::Ascii(parse_ascii_element(def, &mut tokens)?));
                }
            }
            PlyFormat::BinaryLittleEndian | PlyFormat::BinaryBigEndian => {
                let big = header.format == PlyFormat::BinaryBigEndian;
                let mut offset = header.body_offset;
                for def in &header.elements {
                    let (element, next) = locate_binary_element(bytes, offset, def, big)?;
                    data.push(element);
                    offset = next;
                }
            }
        }
        Ok(PlyFile { header, data })
    }

    /// The header.
    pub fn header(&self) -> &PlyHeader {
        &self.header
    }

    /// The body encoding.
    pub fn format(&self) -> PlyFormat {
        self.header.format
    }

    /// The first element with this name.
    pub fn element(&self, name: &str) -> Option<ElementView<'_, 'a>> {
        let index = self.header.elements.iter().position(|e| e.name == name)?;
        Some(ElementView {
            def: self.header.elements.get(index)?,
            data: self.data.get(index)?,
            big_endian: self.header.format == PlyFormat::BinaryBigEndian,
        })
    }

    /// The first element with this name, or [`SplatLoadError::MissingElement`].
    pub fn require_element(&self, name: &str) -> Result<ElementView<'_, 'a>, SplatLoadError> {
        self.element(name)
            .ok_or_else(|| SplatLoadError::MissingElement {
                element: name.to_owned(),
            })
    }
}

/// Checks that element `def` fits in `bytes` from `offset` on; returns its data
/// and the offset just past it.
fn locate_binary_element<'a>(
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

struct Tokens<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// 1-based line of `pos`.
    line: usize,
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
fn parse_ascii_value(token: &[u8], ty: ScalarType) -> Option<f64> {
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

fn parse_ascii_element(
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

// ---------------------------------------------------------------------------
// Reading properties.

/// One element of a [`PlyFile`], for reading its properties.
#[derive(Clone, Copy, Debug)]
pub struct ElementView<'f, 'a> {
    def: &'f ElementDef,
    data: &'f ElementData<'a>,
    big_endian: bool,
}

impl<'f, 'a> ElementView<'f, 'a> {
    /// The element's name.
    pub fn name(&self) -> &'f str {
        &self.def.name
    }

    /// The element's header definition.
    pub fn def(&self) -> &'f ElementDef {
        self.def
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.def.count
    }

    /// Whether the element has no rows.
    pub fn is_empty(&self) -> bool {
        self.def.count == 0
    }

    /// The property with this name.
    pub fn property(&self, name: &str) -> Option<&'f PropertyDef> {
        self.def.property(name)
    }

    /// Whether the element has a property with this name.
    pub fn has_property(&self, name: &str) -> bool {
        self.def.property_index(name).is_some()
    }

    fn missing(&self, name: &str) -> SplatLoadError {
        SplatLoadError::MissingProperty {
            element: self.def.name.clone(),
            property: name.to_owned(),
        }
    }

    fn wrong_type(
        &self,
        name: &str,
        expected: &'static str,
        found: PropertyType,
    ) -> SplatLoadError {
        SplatLoadError::WrongPropertyType {
            element: self.def.name.clone(),
            property: name.to_owned(),
            expected,
            found: found.to_string(),
        }
    }

    /// The index and type of a scalar property (errors if absent or a list).
    fn scalar(&self, name: &str) -> Result<(usize, ScalarType), SplatLoadError> {
        let index = self
            .def
            .property_index(name)
            .ok_or_else(|| self.missing(name))?;
        match self.def.properties.get(index).map(|p| p.ty) {
            Some(PropertyType::Scalar(t)) => Ok((index, t)),
            Some(other) => Err(self.wrong_type(name, "a scalar type", other)),
            None => Err(self.missing(name)),
        }
    }

    /// The scalar type of a property ([`SplatLoadError::MissingProperty`] if
    /// absent, [`SplatLoadError::WrongPropertyType`] if a list).
    pub fn scalar_type(&self, name: &str) -> Result<ScalarType, SplatLoadError> {
        self.scalar(name).map(|(_, t)| t)
    }

    /// Byte offset of property `index` within a variable-sized binary row.
    fn variable_offset(&self, row: &[u8], index: usize) -> usize {
        let mut o = 0usize;
        for p in self.def.properties.iter().take(index) {
            o = o.saturating_add(match p.ty {
                PropertyType::Scalar(t) => t.size(),
                PropertyType::List { count, item } => {
                    let n = list_len(count, self.big_endian, at(row, o)).unwrap_or(0);
                    n.saturating_mul(item.size()).saturating_add(count.size())
                }
            });
        }
        o
    }

    /// Calls `visit` with each row's values of the named scalar properties,
    /// converted to `f32`, in the order of `names`.
    ///
    /// This is the fast path for reading many properties: one pass over the
    /// rows, no intermediate column buffers.
    pub fn visit_f32_rows(
        &self,
        names: &[&str],
        mut visit: impl FnMut(&[f32]),
    ) -> Result<(), SplatLoadError> {
        let props = names
            .iter()
            .map(|n| self.scalar(n))
            .collect::<Result<Vec<_>, _>>()?;
        let m = props.len();
        if m == 0 || self.def.count == 0 {
            return Ok(());
        }
        let mut buf = vec![0f32; m];
        match self.data {
            ElementData::Binary {
                bytes,
                layout: RowLayout::Fixed { stride, offsets },
            } => {
                let offs: Vec<usize> = props
                    .iter()
                    .map(|&(i, _)| offsets.get(i).copied().unwrap_or(0))
                    .collect();
                // `stride > 0`: there is at least one scalar property.
                let rows = bytes.chunks_exact((*stride).max(1));
                if props.iter().all(|&(_, t)| t == ScalarType::Float32) {
                    if self.big_endian {
                        for row in rows {
                            for (v, &o) in buf.iter_mut().zip(&offs) {
                                *v = f32::from_be_bytes(arr::<4>(at(row, o)));
                            }
                            visit(&buf);
                        }
                    } else {
                        for row in rows {
                            for (v, &o) in buf.iter_mut().zip(&offs) {
                                *v = f32::from_le_bytes(arr::<4>(at(row, o)));
                            }
                            visit(&buf);
                        }
                    }
                } else {
                    let readers: Vec<(usize, ReadF32)> = props
                        .iter()
                        .zip(&offs)
                        .map(|(&(_, t), &o)| (o, f32_reader(t, self.big_endian)))
                        .collect();
                    for row in rows {
                        for (v, &(o, read)) in buf.iter_mut().zip(&readers) {
                            *v = read(at(row, o));
                        }
                        visit(&buf);
                    }
                }
            }
            ElementData::Binary {
                bytes,
                layout: RowLayout::Variable { row_starts },
            } => {
                for w in row_starts.windows(2) {
                    let row = bytes.get(w[0]..w[1]).unwrap_or_default();
                    for (v, &(i, t)) in buf.iter_mut().zip(&props) {
                        *v = decode_f64(t, self.big_endian, at(row, self.variable_offset(row, i)))
                            as f32;
                    }
                    visit(&buf);
                }
            }
            ElementData::Ascii(a) => {
                let slots: Vec<usize> = props
                    .iter()
                    .map(|&(i, _)| a.scalar_slot.get(i).copied().flatten().unwrap_or(0))
                    .collect();
                for row in a.scalars.chunks_exact(a.scalar_count.max(1)) {
                    for (v, &s) in buf.iter_mut().zip(&slots) {
                        *v = row.get(s).copied().unwrap_or(0.0) as f32;
                    }
                    visit(&buf);
                }
            }
        }
        Ok(())
    }

    /// The named scalar properties of every row, converted to `f32`, row-major
    /// (`names.len()` values per row).
    pub fn read_f32_rows(&self, names: &[&str]) -> Result<Vec<f32>, SplatLoadError> {
        let total = self
            .def
            .count
            .checked_mul(names.len())
            .ok_or(SplatLoadError::SizeOverflow)?;
        // The element's body was checked to exist, so `total` values are backed
        // by at least `count` bytes of input (or parsed tokens).
        let mut out = Vec::with_capacity(total);
        self.visit_f32_rows(names, |row| out.extend_from_slice(row))?;
        Ok(out)
    }

    /// One scalar property of every row, converted to `f32`.
    pub fn read_f32(&self, name: &str) -> Result<Vec<f32>, SplatLoadError> {
        self.read_f32_rows(&[name])
    }

    /// One unsigned-integer property (`uchar`, `ushort` or `uint`) of every row.
    ///
    /// Other types give [`SplatLoadError::WrongPropertyType`].
    pub fn read_u32(&self, name: &str) -> Result<Vec<u32>, SplatLoadError> {
        let (index, ty) = self.scalar(name)?;
        let Some(read) = u32_reader(ty, self.big_endian) else {
            return Err(self.wrong_type(
                name,
                "an unsigned integer type (uchar, ushort or uint)",
                PropertyType::Scalar(ty),
            ));
        };
        let mut out = Vec::with_capacity(self.def.count);
        match self.data {
            ElementData::Binary {
                bytes,
                layout: RowLayout::Fixed { stride, offsets },
            } => {
                let o = offsets.get(index).copied().unwrap_or(0);
                out.extend(
                    bytes
                        .chunks_exact((*stride).max(1))
                        .map(|row| read(at(row, o))),
                );
            }
            ElementData::Binary {
                bytes,
                layout: RowLayout::Variable { row_starts },
            } => {
                for w in row_starts.windows(2) {
                    let row = bytes.get(w[0]..w[1]).unwrap_or_default();
                    out.push(read(at(row, self.variable_offset(row, index))));
                }
            }
            ElementData::Ascii(a) => {
                let slot = a.scalar_slot.get(index).copied().flatten().unwrap_or(0);
                // Range-checked against the (unsigned) type when parsed.
                out.extend(
                    a.scalars
                        .chunks_exact(a.scalar_count.max(1))
                        .map(|row| row.get(slot).copied().unwrap_or(0.0) as u32),
                );
            }
        }
        Ok(out)
    }

    /// A list property of every row, items converted to `f64`.
    pub fn read_list_f64(&self, name: &str) -> Result<Vec<Vec<f64>>, SplatLoadError> {
        let index = self
            .def
            .property_index(name)
            .ok_or_else(|| self.missing(name))?;
        let Some(PropertyType::List { count, item }) = self.def.properties.get(index).map(|p| p.ty)
        else {
            let found = self
                .def
                .properties
                .get(index)
                .map_or(PropertyType::Scalar(ScalarType::Uint8), |p| p.ty);
            return Err(self.wrong_type(name, "a list type", found));
        };
        let mut out = Vec::new();
        match self.data {
            ElementData::Binary {
                bytes,
                layout: RowLayout::Variable { row_starts },
            } => {
                for w in row_starts.windows(2) {
                    let row = bytes.get(w[0]..w[1]).unwrap_or_default();
                    let o = self.variable_offset(row, index);
                    let n = list_len(count, self.big_endian, at(row, o)).unwrap_or(0);
                    let items = (0..n)
                        .map(|k| {
                            decode_f64(
                                item,
                                self.big_endian,
                                at(row, o + count.size() + k * item.size()),
                            )
                        })
                        .collect();
                    out.push(items);
                }
            }
            // A list property always makes a binary layout variable.
            ElementData::Binary { .. } => {}
            ElementData::Ascii(a) => {
                let slot = a.list_slot.get(index).copied().flatten().unwrap_or(0);
                if let Some(list) = a.lists.get(slot) {
                    for w in list.starts.windows(2) {
                        out.push(list.values.get(w[0]..w[1]).unwrap_or_default().to_vec());
                    }
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
