//! Splat primitives: validating the extension object and attributes, and
//! decoding the splats of one primitive.

use bevy::math::{Quat, Vec3};
use serde::Deserialize;

use super::accessor::{
    INDEX_TYPES, OPACITY_TYPES, POSITION_TYPES, ROTATION_TYPES, Resolved, SCALE_TYPES, SH_TYPES,
};
use super::container::{Doc, PrimitiveDef, SplatExtensionDef};
use super::error::{GltfSplatColorSpace, GltfSplatError, Result};
use super::{
    EXTENSION_NAME, OPACITY_ATTRIBUTE, ROTATION_ATTRIBUTE, SCALE_ATTRIBUTE, sh_attribute_name,
};
use crate::splat::asset::{GaussianSplats, MAX_SH_DEGREE};

/// A splat primitive, validated and with its accessors resolved.
pub(super) struct SplatPrimitive<'a> {
    pub(super) mesh: usize,
    pub(super) primitive: usize,
    pub(super) position: Resolved<'a>,
    pub(super) rotation: Resolved<'a>,
    pub(super) scale: Resolved<'a>,
    pub(super) opacity: Resolved<'a>,
    /// One accessor per SH coefficient, `(degree + 1)²` of them.
    pub(super) sh: Vec<Resolved<'a>>,
    pub(super) degree: u8,
    pub(super) indices: Option<Resolved<'a>>,
    pub(super) vertex_count: usize,
    pub(super) splat_count: usize,
    pub(super) color_space: GltfSplatColorSpace,
}

impl Doc<'_> {
    /// Validates a primitive; `None` when it is not a splat primitive.
    pub(super) fn plan_primitive<'d>(
        &'d self,
        mesh: usize,
        primitive: usize,
        def: &PrimitiveDef,
    ) -> Result<Option<SplatPrimitive<'d>>> {
        let Some(ext) = def.extensions.get(EXTENSION_NAME) else {
            return Ok(None);
        };
        let ext: SplatExtensionDef = SplatExtensionDef::deserialize(ext).map_err(|e| {
            GltfSplatError::InvalidExtensionObject {
                mesh,
                primitive,
                reason: e.to_string(),
            }
        })?;
        if ext.kernel != "ellipse" {
            return Err(GltfSplatError::UnsupportedKernel {
                mesh,
                primitive,
                kernel: ext.kernel,
            });
        }
        let color_space = match ext.color_space.as_str() {
            "srgb_rec709_display" => GltfSplatColorSpace::SrgbRec709Display,
            "lin_rec709_display" => GltfSplatColorSpace::LinRec709Display,
            _ => return Err(GltfSplatError::UnsupportedColorSpace(ext.color_space)),
        };
        if let Some(projection) = ext.projection
            && projection != "perspective"
        {
            return Err(GltfSplatError::UnsupportedProjection {
                mesh,
                primitive,
                projection,
            });
        }
        // `sortingMethod` only orders the blending; the renderer sorts its own way.
        let mode = def.mode.unwrap_or(4);
        if mode != 0 {
            return Err(GltfSplatError::WrongPrimitiveMode {
                mesh,
                primitive,
                mode,
            });
        }

        let attr = |name: &str| -> Result<usize> {
            def.attributes
                .get(name)
                .copied()
                .ok_or_else(|| GltfSplatError::MissingAttribute {
                    mesh,
                    primitive,
                    attribute: name.to_owned(),
                })
        };
        let mut plain = vec![
            ("POSITION".to_owned(), attr("POSITION")?),
            (ROTATION_ATTRIBUTE.to_owned(), attr(ROTATION_ATTRIBUTE)?),
            (SCALE_ATTRIBUTE.to_owned(), attr(SCALE_ATTRIBUTE)?),
            (OPACITY_ATTRIBUTE.to_owned(), attr(OPACITY_ATTRIBUTE)?),
        ];
        let dc = sh_attribute_name(0, 0);
        let mut sh_names = vec![(dc.clone(), attr(&dc)?)];
        let mut degree = 0u8;
        for l in 1..=MAX_SH_DEGREE {
            let names: Vec<String> = (0..2 * l + 1).map(|c| sh_attribute_name(l, c)).collect();
            let present: Vec<Option<usize>> = names
                .iter()
                .map(|n| def.attributes.get(n).copied())
                .collect();
            let found = present.iter().filter(|p| p.is_some()).count();
            if found == 0 {
                continue;
            }
            if found < names.len() || degree + 1 != l {
                return Err(GltfSplatError::IncompleteShDegree {
                    mesh,
                    primitive,
                    degree: l,
                });
            }
            sh_names.extend(names.into_iter().zip(present.into_iter().flatten()));
            degree = l;
        }
        plain.extend(sh_names.iter().cloned());

        // Data provided by an extension of the extension (e.g. SPZ compression)?
        let nested = ext.extensions.keys().next().cloned();
        let all_plain = plain.iter().all(|(_, a)| {
            self.root
                .accessors
                .get(*a)
                .is_some_and(|acc| acc.buffer_view.is_some() || acc.sparse.is_some())
        });
        if let Some(extension) = &nested
            && !all_plain
        {
            return Err(GltfSplatError::UnsupportedSplatExtension {
                mesh,
                primitive,
                extension: extension.clone(),
            });
        }
        // Counts are only trusted when some attribute's data backs them.
        if !plain.iter().any(|(_, a)| self.accessor_backed(*a)) {
            return Err(GltfSplatError::NoAttributeData { mesh, primitive });
        }

        let position = self.resolve(attr("POSITION")?, "POSITION", "VEC3", 3, POSITION_TYPES)?;
        let vertex_count = position.count;
        let check =
            |name: &str, r: Resolved<'d>| same_count(r, name, vertex_count, mesh, primitive);
        let rotation = check(
            ROTATION_ATTRIBUTE,
            self.resolve(
                attr(ROTATION_ATTRIBUTE)?,
                ROTATION_ATTRIBUTE,
                "VEC4",
                4,
                ROTATION_TYPES,
            )?,
        )?;
        let scale = check(
            SCALE_ATTRIBUTE,
            self.resolve(
                attr(SCALE_ATTRIBUTE)?,
                SCALE_ATTRIBUTE,
                "VEC3",
                3,
                SCALE_TYPES,
            )?,
        )?;
        let opacity = check(
            OPACITY_ATTRIBUTE,
            self.resolve(
                attr(OPACITY_ATTRIBUTE)?,
                OPACITY_ATTRIBUTE,
                "SCALAR",
                1,
                OPACITY_TYPES,
            )?,
        )?;
        let mut sh = Vec::with_capacity(sh_names.len());
        for (name, a) in &sh_names {
            sh.push(check(name, self.resolve(*a, name, "VEC3", 3, SH_TYPES)?)?);
        }
        let (indices, splat_count) = match def.indices {
            None => (None, vertex_count),
            Some(i) => {
                if !self.accessor_backed(i) {
                    return Err(GltfSplatError::NoAttributeData { mesh, primitive });
                }
                let r = self.resolve(i, "indices", "SCALAR", 1, INDEX_TYPES)?;
                let n = r.count;
                (Some(r), n)
            }
        };
        Ok(Some(SplatPrimitive {
            mesh,
            primitive,
            position,
            rotation,
            scale,
            opacity,
            sh,
            degree,
            indices,
            vertex_count,
            splat_count,
            color_space,
        }))
    }
}

/// Checks that an attribute has as many elements as POSITION.
fn same_count<'d>(
    r: Resolved<'d>,
    name: &str,
    vertex_count: usize,
    mesh: usize,
    primitive: usize,
) -> Result<Resolved<'d>> {
    if r.count != vertex_count {
        return Err(GltfSplatError::AttributeCountMismatch {
            mesh,
            primitive,
            attribute: name.to_owned(),
            expected: vertex_count as u64,
            found: r.count as u64,
        });
    }
    Ok(r)
}

pub(super) fn reserve(s: &mut GaussianSplats, n: usize) -> Result<()> {
    let k = s.sh_per_splat();
    let oom = |_| GltfSplatError::OutOfMemory;
    s.positions.try_reserve_exact(n).map_err(oom)?;
    s.rotations.try_reserve_exact(n).map_err(oom)?;
    s.scales.try_reserve_exact(n).map_err(oom)?;
    s.opacities.try_reserve_exact(n).map_err(oom)?;
    let sh = n.checked_mul(k).ok_or(GltfSplatError::OutOfMemory)?;
    s.sh.try_reserve_exact(sh).map_err(oom)?;
    Ok(())
}

/// Appends the primitive's `vertex_count` splats (local frame, SH zero-padded
/// to `out.sh_degree`) and checks scales, opacities and rotations.
pub(super) fn decode_primitive(plan: &SplatPrimitive<'_>, out: &mut GaussianSplats) -> Result<()> {
    let n = plan.vertex_count;
    let base = out.len();
    let k = out.sh_per_splat();
    let end = base + n;
    reserve(out, n)?;
    out.positions.resize(end, Vec3::ZERO);
    out.rotations.resize(end, Quat::IDENTITY);
    out.scales.resize(end, Vec3::ONE);
    out.opacities.resize(end, 0.0);
    out.sh.resize(end * k, [0.0; 3]);
    plan.position.for_each(|i, v| {
        if let Some(p) = out.positions.get_mut(base + i) {
            *p = Vec3::new(v[0], v[1], v[2]);
        }
    })?;
    plan.rotation.for_each(|i, v| {
        if let Some(q) = out.rotations.get_mut(base + i) {
            *q = Quat::from_xyzw(v[0], v[1], v[2], v[3]);
        }
    })?;
    plan.scale.for_each(|i, v| {
        if let Some(s) = out.scales.get_mut(base + i) {
            *s = Vec3::new(v[0], v[1], v[2]);
        }
    })?;
    plan.opacity.for_each(|i, v| {
        if let Some(o) = out.opacities.get_mut(base + i) {
            *o = v[0];
        }
    })?;
    for (j, acc) in plan.sh.iter().enumerate().take(k) {
        acc.for_each(|i, v| {
            if let Some(c) = out.sh.get_mut((base + i) * k + j) {
                *c = [v[0], v[1], v[2]];
            }
        })?;
    }
    let (mesh, primitive) = (plan.mesh, plan.primitive);
    for vertex in 0..n {
        let i = base + vertex;
        if let Some(s) = out.scales.get(i)
            && (s.x < 0.0 || s.y < 0.0 || s.z < 0.0)
        {
            return Err(GltfSplatError::NegativeScale {
                mesh,
                primitive,
                vertex,
            });
        }
        if let Some(&value) = out.opacities.get(i)
            && !(0.0..=1.0).contains(&value)
            && !value.is_nan()
        {
            return Err(GltfSplatError::OpacityOutOfRange {
                mesh,
                primitive,
                vertex,
                value,
            });
        }
        if let Some(q) = out.rotations.get_mut(i) {
            // In f64, as `quat_from_wxyz`: denormal components still name a rotation.
            let len2 = q.as_dquat().length_squared();
            if len2 == 0.0 {
                return Err(GltfSplatError::ZeroRotation {
                    mesh,
                    primitive,
                    vertex,
                });
            }
            // Quantised quaternions are only nearly unit; float ones are kept bit-exact.
            if (len2 - 1.0).abs() > 1e-6 && len2.is_finite() {
                *q = (q.as_dquat() / len2.sqrt()).as_quat();
            }
        }
    }
    Ok(())
}

/// Appends `src`'s splats in the order of the primitive's `indices`.
pub(super) fn gather(
    plan: &SplatPrimitive<'_>,
    indices: &Resolved<'_>,
    src: &GaussianSplats,
    out: &mut GaussianSplats,
) -> Result<()> {
    let k = out.sh_per_splat();
    for index in indices.indices()? {
        let i = usize::try_from(index)
            .ok()
            .filter(|&i| i < src.len())
            .ok_or(GltfSplatError::VertexIndexOutOfRange {
                mesh: plan.mesh,
                primitive: plan.primitive,
                index,
                vertex_count: src.len() as u64,
            })?;
        out.positions
            .push(src.positions.get(i).copied().unwrap_or(Vec3::ZERO));
        out.rotations
            .push(src.rotations.get(i).copied().unwrap_or(Quat::IDENTITY));
        out.scales
            .push(src.scales.get(i).copied().unwrap_or(Vec3::ZERO));
        out.opacities
            .push(src.opacities.get(i).copied().unwrap_or(0.0));
        for j in 0..k {
            out.sh
                .push(src.sh.get(i * k + j).copied().unwrap_or([0.0; 3]));
        }
    }
    Ok(())
}
