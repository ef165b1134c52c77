//! Accessors: component types, normalisation, strides and sparse substitution.

use super::container::Doc;
use super::error::{GltfSplatError, Result};

// ---------------------------------------------------------------------------
// Accessors

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Comp {
    I8,
    U8,
    I16,
    U16,
    U32,
    F32,
}

impl Comp {
    fn from_code(code: u32) -> Option<Comp> {
        Some(match code {
            5120 => Comp::I8,
            5121 => Comp::U8,
            5122 => Comp::I16,
            5123 => Comp::U16,
            5125 => Comp::U32,
            5126 => Comp::F32,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            Comp::I8 | Comp::U8 => 1,
            Comp::I16 | Comp::U16 => 2,
            Comp::U32 | Comp::F32 => 4,
        }
    }

    /// Decodes one component (`bytes` has exactly [`Comp::size`] bytes).
    fn decode(self, bytes: &[u8], normalized: bool) -> f32 {
        match (self, bytes) {
            (Comp::F32, &[a, b, c, d]) => f32::from_le_bytes([a, b, c, d]),
            (Comp::U32, &[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]) as f32,
            (Comp::I8, &[a]) => {
                let v = a as i8 as f32;
                if normalized { (v / 127.0).max(-1.0) } else { v }
            }
            (Comp::U8, &[a]) => {
                let v = a as f32;
                if normalized { v / 255.0 } else { v }
            }
            (Comp::I16, &[a, b]) => {
                let v = i16::from_le_bytes([a, b]) as f32;
                if normalized {
                    (v / 32767.0).max(-1.0)
                } else {
                    v
                }
            }
            (Comp::U16, &[a, b]) => {
                let v = u16::from_le_bytes([a, b]) as f32;
                if normalized { v / 65535.0 } else { v }
            }
            _ => 0.0,
        }
    }

    fn decode_index(self, bytes: &[u8]) -> u64 {
        match (self, bytes) {
            (Comp::U8, &[a]) => a as u64,
            (Comp::U16, &[a, b]) => u16::from_le_bytes([a, b]) as u64,
            (Comp::U32, &[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]) as u64,
            _ => u64::MAX,
        }
    }
}

/// Component types (with normalisation) an attribute accepts.
pub(super) type Allowed = &'static [(Comp, bool)];

pub(super) const POSITION_TYPES: Allowed = &[
    (Comp::F32, false),
    (Comp::I8, false),
    (Comp::I8, true),
    (Comp::U8, false),
    (Comp::U8, true),
    (Comp::I16, false),
    (Comp::I16, true),
    (Comp::U16, false),
    (Comp::U16, true),
];
pub(super) const ROTATION_TYPES: Allowed =
    &[(Comp::F32, false), (Comp::I8, true), (Comp::I16, true)];
pub(super) const SCALE_TYPES: Allowed = &[
    (Comp::F32, false),
    (Comp::U8, false),
    (Comp::U8, true),
    (Comp::U16, false),
    (Comp::U16, true),
];
pub(super) const OPACITY_TYPES: Allowed =
    &[(Comp::F32, false), (Comp::U8, true), (Comp::U16, true)];
pub(super) const SH_TYPES: Allowed = &[(Comp::F32, false)];
pub(super) const INDEX_TYPES: Allowed =
    &[(Comp::U8, false), (Comp::U16, false), (Comp::U32, false)];

/// `count` fixed-size elements `stride` bytes apart.
#[derive(Clone, Copy)]
pub(super) struct Strided<'a> {
    pub(super) data: &'a [u8],
    pub(super) stride: usize,
    pub(super) elem: usize,
}

impl<'a> Strided<'a> {
    fn element(&self, i: usize) -> Option<&'a [u8]> {
        let start = i.checked_mul(self.stride)?;
        self.data.get(start..start.checked_add(self.elem)?)
    }
}

/// A bounds-checked accessor, ready to be read.
pub(super) struct Resolved<'a> {
    index: usize,
    pub(super) count: usize,
    comps: usize,
    comp: Comp,
    normalized: bool,
    base: Option<Strided<'a>>,
    /// (indices, index component type, values) of a sparse accessor.
    sparse: Option<(Strided<'a>, Comp, Strided<'a>)>,
}

impl Resolved<'_> {
    /// Calls `f(i, element bytes)` for every element (sparse substitutions after
    /// the base values; elements without a buffer view are zero bytes).
    fn for_each_raw(&self, mut f: impl FnMut(usize, &[u8])) -> Result<()> {
        const ZERO: [u8; 16] = [0; 16];
        let elem = self.comp.size() * self.comps;
        let zero = ZERO.get(..elem).unwrap_or(&ZERO);
        match &self.base {
            Some(base) => {
                for i in 0..self.count {
                    if let Some(e) = base.element(i) {
                        f(i, e);
                    }
                }
            }
            None => {
                for i in 0..self.count {
                    f(i, zero);
                }
            }
        }
        if let Some((indices, index_comp, values)) = &self.sparse {
            let n = indices.data.len() / indices.stride.max(1);
            for s in 0..n {
                let (Some(ib), Some(vb)) = (indices.element(s), values.element(s)) else {
                    break;
                };
                let i = index_comp.decode_index(ib);
                match usize::try_from(i) {
                    Ok(i) if i < self.count => f(i, vb),
                    _ => {
                        return Err(GltfSplatError::SparseIndexOutOfRange {
                            accessor: self.index,
                            index: i,
                            count: self.count as u64,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Calls `f(i, components)` for every element, decoded to floats.
    pub(super) fn for_each(&self, mut f: impl FnMut(usize, [f32; 4])) -> Result<()> {
        let size = self.comp.size();
        self.for_each_raw(|i, elem| {
            let mut v = [0.0f32; 4];
            for (slot, c) in v.iter_mut().zip(elem.chunks_exact(size)) {
                *slot = self.comp.decode(c, self.normalized);
            }
            f(i, v);
        })
    }

    /// The values of an index accessor, as integers.
    pub(super) fn indices(&self) -> Result<Vec<u64>> {
        let mut out = Vec::new();
        out.try_reserve_exact(self.count)
            .map_err(|_| GltfSplatError::OutOfMemory)?;
        out.resize(self.count, 0);
        self.for_each_raw(|i, elem| {
            if let Some(slot) = out.get_mut(i) {
                *slot = self.comp.decode_index(elem);
            }
        })?;
        Ok(out)
    }
}

impl Doc<'_> {
    /// A bounds-checked region of a buffer view: `count` elements of `elem`
    /// bytes from `offset` (the view's stride, or tight packing).
    pub(super) fn view_region(
        &self,
        view_index: usize,
        offset: u64,
        count: usize,
        elem: usize,
        use_stride: bool,
        accessor: usize,
    ) -> Result<Strided<'_>> {
        let view = self
            .root
            .buffer_views
            .get(view_index)
            .ok_or(GltfSplatError::InvalidIndex {
                kind: "bufferView",
                index: view_index,
            })?;
        let buffer = self.buffer(view.buffer)?;
        let view_end = view.byte_offset.saturating_add(view.byte_length);
        let data = usize::try_from(view.byte_offset)
            .ok()
            .zip(usize::try_from(view_end).ok())
            .and_then(|(s, e)| buffer.get(s..e))
            .ok_or(GltfSplatError::BufferViewOutOfBounds {
                buffer_view: view_index,
                needed: view_end,
                available: buffer.len() as u64,
            })?;
        let stride = match view.byte_stride {
            Some(s) if use_stride => {
                if s < elem as u64 || s > 252 {
                    return Err(GltfSplatError::InvalidByteStride {
                        buffer_view: view_index,
                        stride: s,
                        element_size: elem as u64,
                    });
                }
                s as usize
            }
            _ => elem,
        };
        let needed = if count == 0 {
            offset
        } else {
            ((count - 1) as u64)
                .saturating_mul(stride as u64)
                .saturating_add(elem as u64)
                .saturating_add(offset)
        };
        let region = usize::try_from(offset)
            .ok()
            .zip(usize::try_from(needed).ok())
            .and_then(|(s, e)| data.get(s..e))
            .ok_or(GltfSplatError::AccessorOutOfBounds {
                accessor,
                needed,
                available: data.len() as u64,
            })?;
        Ok(Strided {
            data: region,
            stride,
            elem,
        })
    }

    /// Resolves accessor `index` for `attribute`, checking its type, component
    /// type and every byte range it reads.
    pub(super) fn resolve(
        &self,
        index: usize,
        attribute: &str,
        ty: &'static str,
        comps: usize,
        allowed: Allowed,
    ) -> Result<Resolved<'_>> {
        let acc = self
            .root
            .accessors
            .get(index)
            .ok_or(GltfSplatError::InvalidIndex {
                kind: "accessor",
                index,
            })?;
        if acc.ty != ty {
            return Err(GltfSplatError::AccessorType {
                accessor: index,
                attribute: attribute.to_owned(),
                expected: ty,
                found: acc.ty.clone(),
            });
        }
        let unsupported = || GltfSplatError::UnsupportedComponentType {
            accessor: index,
            attribute: attribute.to_owned(),
            component_type: acc.component_type,
            normalized: acc.normalized,
        };
        let comp = Comp::from_code(acc.component_type).ok_or_else(unsupported)?;
        if !allowed.contains(&(comp, acc.normalized)) {
            return Err(unsupported());
        }
        let elem = comp.size() * comps;
        let count =
            usize::try_from(acc.count).map_err(|_| GltfSplatError::AccessorOutOfBounds {
                accessor: index,
                needed: u64::MAX,
                available: 0,
            })?;
        let base = match acc.buffer_view {
            Some(view) => {
                Some(self.view_region(view, acc.byte_offset, count, elem, true, index)?)
            }
            None => None,
        };
        let sparse = match &acc.sparse {
            None => None,
            Some(sp) => {
                let index_comp = Comp::from_code(sp.indices.component_type)
                    .filter(|c| INDEX_TYPES.contains(&(*c, false)))
                    .ok_or(GltfSplatError::UnsupportedComponentType {
                        accessor: index,
                        attribute: format!("{attribute} (sparse indices)"),
                        component_type: sp.indices.component_type,
                        normalized: false,
                    })?;
                let n =
                    usize::try_from(sp.count).map_err(|_| GltfSplatError::AccessorOutOfBounds {
                        accessor: index,
                        needed: u64::MAX,
                        available: 0,
                    })?;
                let indices = self.view_region(
                    sp.indices.buffer_view,
                    sp.indices.byte_offset,
                    n,
                    index_comp.size(),
                    false,
                    index,
                )?;
                let values = self.view_region(
                    sp.values.buffer_view,
                    sp.values.byte_offset,
                    n,
                    elem,
                    false,
                    index,
                )?;
                Some((indices, index_comp, values))
            }
        };
        Ok(Resolved {
            index,
            count,
            comps,
            comp,
            normalized: acc.normalized,
            base,
            sparse,
        })
    }

    pub(super) fn accessor_backed(&self, index: usize) -> bool {
        self.root
            .accessors
            .get(index)
            .is_some_and(|a| a.buffer_view.is_some())
    }
}
