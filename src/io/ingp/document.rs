//! Typed access to the decoded MessagePack tree, with each value's path in the
//! document for error messages.

use bevy::math::{Mat3, Vec3};
use rmpv::ValueRef;

use super::RadianceFieldLoadError;
use crate::field::snapshot::FieldBox;

/// A MessagePack value and its path in the document, for error messages.
#[derive(Clone)]
pub(super) struct Node<'v, 'a> {
    pub(super) value: &'v ValueRef<'a>,
    pub(super) path: String,
}

fn type_name(v: &ValueRef<'_>) -> String {
    match v {
        ValueRef::Nil => "nil".into(),
        ValueRef::Boolean(b) => format!("boolean {b}"),
        ValueRef::Integer(i) => format!("integer {i}"),
        ValueRef::F32(f) => format!("float {f}"),
        ValueRef::F64(f) => format!("float {f}"),
        ValueRef::String(s) => format!("string {:?}", s.as_str().unwrap_or("<invalid utf-8>")),
        ValueRef::Binary(b) => format!("binary ({} bytes)", b.len()),
        ValueRef::Array(a) => format!("array ({} items)", a.len()),
        ValueRef::Map(m) => format!("map ({} entries)", m.len()),
        ValueRef::Ext(t, _) => format!("extension type {t}"),
    }
}

pub(super) fn unsupported(field: &str, value: impl std::fmt::Display, reason: &str) -> RadianceFieldLoadError {
    RadianceFieldLoadError::Unsupported {
        field: field.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

impl<'v, 'a> Node<'v, 'a> {
    pub(super) fn root(value: &'v ValueRef<'a>) -> Self {
        Self { value, path: String::new() }
    }

    pub(super) fn child_path(&self, key: &str) -> String {
        if self.path.is_empty() { key.to_string() } else { format!("{}.{key}", self.path) }
    }

    pub(super) fn wrong(&self, expected: &'static str) -> RadianceFieldLoadError {
        RadianceFieldLoadError::WrongType {
            path: if self.path.is_empty() { "(document root)".into() } else { self.path.clone() },
            expected,
            found: type_name(self.value),
        }
    }

    pub(super) fn unsupported(&self, value: impl std::fmt::Display, reason: &str) -> RadianceFieldLoadError {
        unsupported(&self.path, value, reason)
    }

    pub(super) fn entries(&self) -> Result<&'v [(ValueRef<'a>, ValueRef<'a>)], RadianceFieldLoadError> {
        match self.value {
            ValueRef::Map(m) => Ok(m),
            _ => Err(self.wrong("map")),
        }
    }

    /// The value under `key` (this must be a map); `None` when absent or nil.
    pub(super) fn opt(&self, key: &str) -> Result<Option<Node<'v, 'a>>, RadianceFieldLoadError> {
        let entries = self.entries()?;
        Ok(entries
            .iter()
            .find(|(k, _)| matches!(k, ValueRef::String(s) if s.as_str() == Some(key)))
            .filter(|(_, v)| !matches!(v, ValueRef::Nil))
            .map(|(_, v)| Node { value: v, path: self.child_path(key) }))
    }

    /// The value under `key`, required.
    pub(super) fn get(&self, key: &str) -> Result<Node<'v, 'a>, RadianceFieldLoadError> {
        self.opt(key)?.ok_or_else(|| RadianceFieldLoadError::MissingField(self.child_path(key)))
    }

    pub(super) fn index(&self, i: usize, value: &'v ValueRef<'a>) -> Node<'v, 'a> {
        Node { value, path: format!("{}[{i}]", self.path) }
    }

    pub(super) fn f64(&self) -> Result<f64, RadianceFieldLoadError> {
        match self.value {
            ValueRef::F32(f) => Ok(*f as f64),
            ValueRef::F64(f) => Ok(*f),
            ValueRef::Integer(i) => i.as_f64().ok_or_else(|| self.wrong("number")),
            _ => Err(self.wrong("number")),
        }
    }

    pub(super) fn f32(&self) -> Result<f32, RadianceFieldLoadError> {
        Ok(self.f64()? as f32)
    }

    pub(super) fn u64(&self) -> Result<u64, RadianceFieldLoadError> {
        match self.value {
            ValueRef::Integer(i) => i.as_u64().ok_or_else(|| self.wrong("non-negative integer")),
            ValueRef::F32(_) | ValueRef::F64(_) => {
                let f = self.f64()?;
                if f >= 0.0 && f.fract() == 0.0 && f < u64::MAX as f64 {
                    Ok(f as u64)
                } else {
                    Err(self.wrong("non-negative integer"))
                }
            }
            _ => Err(self.wrong("non-negative integer")),
        }
    }

    pub(super) fn u32(&self) -> Result<u32, RadianceFieldLoadError> {
        let v = self.u64()?;
        u32::try_from(v).map_err(|_| self.unsupported(v, "too large"))
    }

    pub(super) fn bool(&self) -> Result<bool, RadianceFieldLoadError> {
        match self.value {
            ValueRef::Boolean(b) => Ok(*b),
            ValueRef::Integer(i) => Ok(i.as_u64() != Some(0)),
            _ => Err(self.wrong("boolean")),
        }
    }

    pub(super) fn str(&self) -> Result<&'v str, RadianceFieldLoadError> {
        match self.value {
            ValueRef::String(s) => s.as_str().ok_or_else(|| self.wrong("UTF-8 string")),
            _ => Err(self.wrong("string")),
        }
    }

    pub(super) fn bin(&self) -> Result<&'a [u8], RadianceFieldLoadError> {
        match self.value {
            ValueRef::Binary(b) => Ok(b),
            _ => Err(self.wrong("binary")),
        }
    }

    pub(super) fn array(&self) -> Result<&'v [ValueRef<'a>], RadianceFieldLoadError> {
        match self.value {
            ValueRef::Array(a) => Ok(a),
            _ => Err(self.wrong("array")),
        }
    }

    pub(super) fn vec3(&self) -> Result<Vec3, RadianceFieldLoadError> {
        let items = self.array()?;
        if items.len() != 3 {
            return Err(self.wrong("array of 3 numbers"));
        }
        let mut out = [0.0; 3];
        for (i, item) in items.iter().enumerate() {
            out[i] = self.index(i, item).f32()?;
        }
        Ok(Vec3::from_array(out))
    }

    /// A 3×3 matrix stored as an array of 3 rows.
    pub(super) fn mat3_rows(&self) -> Result<Mat3, RadianceFieldLoadError> {
        let rows = self.array()?;
        if rows.len() != 3 {
            return Err(self.wrong("3×3 matrix (array of 3 rows)"));
        }
        let mut r = [Vec3::ZERO; 3];
        for (i, row) in rows.iter().enumerate() {
            r[i] = self.index(i, row).vec3()?;
        }
        Ok(Mat3::from_cols(r[0], r[1], r[2]).transpose())
    }

    pub(super) fn nerf_box(&self) -> Result<FieldBox, RadianceFieldLoadError> {
        Ok(FieldBox {
            min: self.get("min")?.vec3()?,
            max: self.get("max")?.vec3()?,
        })
    }

    pub(super) fn opt_u32(&self, key: &str) -> Result<Option<u32>, RadianceFieldLoadError> {
        self.opt(key)?.map(|n| n.u32()).transpose()
    }

    pub(super) fn opt_f32(&self, key: &str) -> Result<Option<f32>, RadianceFieldLoadError> {
        self.opt(key)?.map(|n| n.f32()).transpose()
    }

    pub(super) fn opt_bool(&self, key: &str) -> Result<Option<bool>, RadianceFieldLoadError> {
        self.opt(key)?.map(|n| n.bool()).transpose()
    }

    pub(super) fn opt_str(&self, key: &str) -> Result<Option<&'v str>, RadianceFieldLoadError> {
        self.opt(key)?.map(|n| n.str()).transpose()
    }
}

