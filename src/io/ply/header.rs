//! The PLY text header: formats, scalar and property types, element
//! definitions and the header parser.

use std::fmt;

use super::MAX_HEADER_BYTES;
use crate::io::error::SplatLoadError;

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
    pub(super) const fn integer_range(self) -> Option<(f64, f64)> {
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

pub(super) fn shorten(text: &str) -> String {
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
