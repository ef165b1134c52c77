//! [`ElementView`]: reading named properties of one element.

use super::reader::{
    ElementData, ReadF32, RowLayout, arr, at, decode_f64, f32_reader, list_len, u32_reader,
};
use super::{ElementDef, PropertyDef, PropertyType, ScalarType};
use crate::io::error::SplatLoadError;

/// One element of a [`PlyFile`], for reading its properties.
#[derive(Clone, Copy, Debug)]
pub struct ElementView<'f, 'a> {
    pub(super) def: &'f ElementDef,
    pub(super) data: &'f ElementData<'a>,
    pub(super) big_endian: bool,
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
