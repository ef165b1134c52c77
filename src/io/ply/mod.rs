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

use super::error::SplatLoadError;

mod header;
mod reader;
mod view;
mod writer;

pub use header::{ElementDef, PlyFormat, PlyHeader, PropertyDef, PropertyType, ScalarType};
pub use view::ElementView;
pub(crate) use writer::write_float_vertex_ply;

use reader::{ElementData, Tokens, locate_binary_element, parse_ascii_element};

/// The largest header accepted, in bytes.
pub const MAX_HEADER_BYTES: usize = 1 << 20;

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

#[cfg(test)]
mod tests;
