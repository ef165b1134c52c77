//! Gaussian splats stored in glTF 2.0 assets with the Khronos
//! `KHR_gaussian_splatting` extension (`.glb` and `.gltf`), and a minimal writer.
//!
//! # The extension, as published
//!
//! Source: `extensions/2.0/Khronos/KHR_gaussian_splatting/README.md` and
//! `schema/mesh.primitive.KHR_gaussian_splatting.schema.json` in the Khronos
//! `glTF` repository (status *Release Candidate*, last changed by the editorial
//! review merged in April 2026).
//!
//! * A mesh primitive whose `extensions` object holds `KHR_gaussian_splatting`
//!   is a splat field. Its `mode` must be `POINTS` (0); its material is ignored.
//! * The extension object: `kernel` (required; only `"ellipse"` is defined),
//!   `colorSpace` (required; `"srgb_rec709_display"` or
//!   `"lin_rec709_display"`), `projection` (default `"perspective"`, the only
//!   value defined), `sortingMethod` (default `"cameraDistance"`, the only value
//!   defined) and `extensions` (for extensions of the extension, such as
//!   compression).
//! * Attributes of the ellipse kernel:
//!
//!   | data | semantic | type | component types |
//!   | --- | --- | --- | --- |
//!   | centre | `POSITION` | VEC3 | as core glTF (float; the integer types of `KHR_mesh_quantization`) |
//!   | rotation | `KHR_gaussian_splatting:ROTATION` | VEC4 | float, normalized byte, normalized short |
//!   | scale | `KHR_gaussian_splatting:SCALE` | VEC3 | float, (normalized) unsigned byte, (normalized) unsigned short |
//!   | opacity | `KHR_gaussian_splatting:OPACITY` | SCALAR | float, normalized unsigned byte, normalized unsigned short |
//!   | SH degree *l*, coefficient *n* | `KHR_gaussian_splatting:SH_DEGREE_l_COEF_n` | VEC3 | float |
//!
//!   Rotations are unit quaternions in glTF order (x, y, z, w); scales are
//!   **linear** standard deviations (not logs) and must not be negative;
//!   opacities are **linear** in `[0, 1]` (already through the sigmoid; values
//!   outside are invalid). `SH_DEGREE_0_COEF_0` (the DC term, RGB) is required;
//!   degree *l* has coefficients `n = 0 ..= 2l`, ordered from `m = −l` to
//!   `m = l`; a degree must be complete and all lower degrees present. The SH
//!   basis (with its Condon–Shortley signs) and the colour
//!   `0.5 + Σ sh · Y(d)` are exactly those of the 3DGS training code, so the
//!   coefficients map one to one onto [`GaussianSplats::sh`]. `COLOR_0` is only
//!   a point-cloud fallback (`0.5 + 0.282095 · dc`, clamped, linearised) and is
//!   ignored here.
//! * Node transforms apply: the centre goes through the node's global matrix
//!   `M`, the covariance becomes `M₃ C Cᵀ M₃ᵀ` with `C = R(q)·diag(s)`, and the SH
//!   "SHOULD" be rotated by the rotation part of `M`. Rendering with matrices
//!   that are not translation · rotation · positive scale is undefined by the
//!   extension.
//! * Frame: the data lives in the glTF frame (+Y up, right-handed, the front of
//!   an asset faces +Z). The extension recommends training in that frame, and
//!   otherwise rotating positions, quaternions and SH on conversion.
//!
//! The draft `KHR_gaussian_splatting_compression_spz_2` (an extension *of* this
//! extension, carried in the `KHR_gaussian_splatting` object's own `extensions`;
//! not in the main branch; last edited October 2025) stores the attributes in one SPZ blob
//! and tells converters to pack and unpack SPZ in its *Left-Up-Front* frame.
//! It is not supported: such primitives load only when their accessors also
//! carry plain (fallback) data; otherwise the reader returns
//! [`GltfSplatError::UnsupportedSplatExtension`] (or
//! [`GltfSplatError::UnsupportedRequiredExtension`] when the file requires it).
//!
//! # What this reader returns
//!
//! [`parse_gltf_splats`] reads `.glb` (magic `glTF`, container version 2, a JSON
//! chunk and an optional BIN chunk) and `.gltf` (JSON; buffers as base64 `data:`
//! URIs or external files fetched through a callback), walks the default scene
//! (or the first scene, or, without scenes, the root nodes, or, without nodes,
//! every mesh), and concatenates every instanced splat primitive after applying
//! its node's global transform. Primitives with a lower SH degree are padded
//! with zero coefficients up to the highest degree found.
//!
//! The result is in the crate's canonical frame, the 3DGS training frame
//! (+X right, +Y down, +Z forward). glTF coordinates are mapped there by the
//! 180° rotation about X — the same rotation as [`GaussianSplats::flip_yz`],
//! applied here exactly (sign flips and a quaternion component permutation), so
//! that the default [`AxisConvention::Opencv`](crate::splat::asset::AxisConvention)
//! turns it back and a glTF splat field lands in Bevy with the file's own
//! coordinates, exactly as Bevy's glTF loader places meshes. (Converters that
//! go through SPZ's "LUF" convention map a PLY's `(x, y, z)` to glTF
//! `(−x, −y, z)`; such a file therefore shows the PLY scene turned 180° about
//! the vertical axis compared with loading the PLY itself, as it does in every
//! glTF viewer.)
//!
//! Node transforms: translations and rotation · uniform-scale matrices (also
//! mirrored ones) are applied exactly; any other invertible matrix (non-uniform
//! scale, shear) is applied exactly to the covariance by re-diagonalising
//! `M₃ C Cᵀ M₃ᵀ` per splat, and the SH are rotated by the rotation factor of
//! the polar decomposition of `M₃` (exact for rotation · scale matrices, the
//! only ones the extension defines rendering for; an approximation for shears).
//! Singular or non-finite matrices are rejected
//! ([`GltfSplatError::DegenerateTransform`]). Morph targets and skins are
//! ignored.
//!
//! The colour space is reported by [`parse_gltf_splat_scene`];
//! [`parse_gltf_splats`] accepts only `srgb_rec709_display`, the
//! display-referred colours every 3DGS trainer produces and this crate renders.

mod accessor;
mod container;
mod error;
mod primitive;
mod scene;
mod writer;

use std::cell::OnceCell;
use std::collections::BTreeMap;

use crate::splat::asset::GaussianSplats;

use container::{Doc, Root, required_extension_is_harmless, split_container};
use error::Result;
pub use container::external_buffer_uris;
pub use error::{GltfSplatColorSpace, GltfSplatError};
use primitive::{SplatPrimitive, decode_primitive, gather, reserve};
use scene::{InstanceTransform, gltf_to_canonical};
pub use writer::write_glb_splats;

/// The extension's name, as it appears in `extensionsUsed` and on primitives.
pub const EXTENSION_NAME: &str = "KHR_gaussian_splatting";

/// Attribute semantic of the splat rotations (unit quaternions, x y z w).
pub const ROTATION_ATTRIBUTE: &str = "KHR_gaussian_splatting:ROTATION";

/// Attribute semantic of the splat scales (linear standard deviations).
pub const SCALE_ATTRIBUTE: &str = "KHR_gaussian_splatting:SCALE";

/// Attribute semantic of the splat opacities (linear, `[0, 1]`).
pub const OPACITY_ATTRIBUTE: &str = "KHR_gaussian_splatting:OPACITY";

/// The most splats one asset may expand to (after node instancing); larger
/// assets are rejected with [`GltfSplatError::TooManySplats`] instead of
/// exhausting memory.
pub const MAX_GLTF_SPLATS: usize = 1 << 27;

/// Attribute semantic of SH coefficient `coefficient` (`0 ..= 2·degree`, from
/// `m = −degree` to `m = degree`) of SH degree `degree`, e.g.
/// `KHR_gaussian_splatting:SH_DEGREE_1_COEF_2`.
pub fn sh_attribute_name(degree: u8, coefficient: u8) -> String {
    format!("KHR_gaussian_splatting:SH_DEGREE_{degree}_COEF_{coefficient}")
}

/// Splats read from a glTF asset, with the extension properties that matter.
#[derive(Clone, Debug, PartialEq)]
pub struct GltfSplatScene {
    /// All instanced splat primitives, concatenated, in the canonical frame.
    pub splats: GaussianSplats,
    /// The colour space shared by all the splat primitives.
    pub color_space: GltfSplatColorSpace,
    /// How many primitive instances were concatenated.
    pub primitive_instances: usize,
}

/// Parses a `.glb` or `.gltf` asset with `KHR_gaussian_splatting` primitives
/// into splats in the canonical (3DGS training, +Y down) frame.
///
/// `external(uri)` supplies buffers stored in other files; it receives the
/// buffer's URI percent-decoded (e.g. `"splats data.bin"` for
/// `"splats%20data.bin"`), relative to the asset, and returns `None` when the
/// file is unavailable. Buffers given as base64 `data:` URIs and the `.glb` BIN
/// chunk need no callback.
///
/// Fails with [`GltfSplatError::UnsupportedColorSpace`] for linear-colour
/// primitives (see [`parse_gltf_splat_scene`] to read those). The result is
/// validated.
pub fn parse_gltf_splats(
    bytes: &[u8],
    external: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> std::result::Result<GaussianSplats, GltfSplatError> {
    let scene = parse_gltf_splat_scene(bytes, external)?;
    match scene.color_space {
        GltfSplatColorSpace::SrgbRec709Display => Ok(scene.splats),
        other => Err(GltfSplatError::UnsupportedColorSpace(
            other.as_str().to_owned(),
        )),
    }
}

/// Like [`parse_gltf_splats`], but accepts both published colour spaces and
/// reports which one the splats use (coefficients are returned as stored).
pub fn parse_gltf_splat_scene(
    bytes: &[u8],
    external: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> std::result::Result<GltfSplatScene, GltfSplatError> {
    let (json, bin, is_glb) = split_container(bytes)?;
    let root: Root = serde_json::from_slice(json)?;
    let doc = Doc {
        buffers: (0..root.buffers.len()).map(|_| OnceCell::new()).collect(),
        root,
        bin,
        is_glb,
        external,
    };
    doc.read()
}

impl Doc<'_> {
    fn read(&self) -> Result<GltfSplatScene> {
        let root = &self.root;
        if !root.asset.version.starts_with("2.") {
            return Err(GltfSplatError::UnsupportedAssetVersion(
                root.asset.version.clone(),
            ));
        }
        if let Some(name) = root
            .extensions_required
            .iter()
            .find(|e| !required_extension_is_harmless(e))
        {
            return Err(GltfSplatError::UnsupportedRequiredExtension(name.clone()));
        }
        let instances = self.instances()?;

        // Plan every instanced mesh once.
        let mut plans: BTreeMap<usize, Vec<SplatPrimitive<'_>>> = BTreeMap::new();
        for &(_, _, mesh) in &instances {
            if plans.contains_key(&mesh) {
                continue;
            }
            let def = root.meshes.get(mesh).ok_or(GltfSplatError::InvalidIndex {
                kind: "mesh",
                index: mesh,
            })?;
            let mut prims = Vec::new();
            for (p, prim) in def.primitives.iter().enumerate() {
                if let Some(plan) = self.plan_primitive(mesh, p, prim)? {
                    prims.push(plan);
                }
            }
            plans.insert(mesh, prims);
        }

        let mut total: u64 = 0;
        let mut degree = 0u8;
        let mut color_space: Option<GltfSplatColorSpace> = None;
        let mut primitive_instances = 0usize;
        for (_, _, mesh) in &instances {
            for plan in plans.get(mesh).map(Vec::as_slice).unwrap_or_default() {
                total = total.saturating_add(plan.splat_count as u64);
                degree = degree.max(plan.degree);
                primitive_instances += 1;
                match color_space {
                    None => color_space = Some(plan.color_space),
                    Some(c) if c != plan.color_space => {
                        return Err(GltfSplatError::MixedColorSpaces {
                            first: c.as_str(),
                            other: plan.color_space.as_str(),
                        });
                    }
                    Some(_) => {}
                }
            }
        }
        let Some(color_space) = color_space else {
            return Err(GltfSplatError::NoSplatPrimitive);
        };
        if total > MAX_GLTF_SPLATS as u64 {
            return Err(GltfSplatError::TooManySplats {
                count: total,
                limit: MAX_GLTF_SPLATS,
            });
        }
        let total = total as usize;

        let mut out = GaussianSplats {
            sh_degree: degree,
            ..Default::default()
        };
        reserve(&mut out, total)?;
        for (node, matrix, mesh) in &instances {
            let prims = plans.get(mesh).map(Vec::as_slice).unwrap_or_default();
            if prims.is_empty() {
                continue;
            }
            let transform = match node {
                Some(node) => InstanceTransform::new(*node, matrix, degree)?,
                None => InstanceTransform::identity(),
            };
            for plan in prims {
                let base = out.len();
                match &plan.indices {
                    None => decode_primitive(plan, &mut out)?,
                    Some(indices) => {
                        let mut tmp = GaussianSplats {
                            sh_degree: degree,
                            ..Default::default()
                        };
                        reserve(&mut tmp, plan.vertex_count)?;
                        decode_primitive(plan, &mut tmp)?;
                        gather(plan, indices, &tmp, &mut out)?;
                    }
                }
                transform.apply(&mut out, base);
            }
        }
        gltf_to_canonical(&mut out);
        out.validate()?;
        Ok(GltfSplatScene {
            splats: out,
            color_space,
            primitive_instances,
        })
    }
}

#[cfg(test)]
mod tests;
