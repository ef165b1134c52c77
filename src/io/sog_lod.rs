//! Streamed SOG: a `lod-meta.json` index over SOG files at several levels of
//! detail (as written by PlayCanvas `splat-transform` and read by the
//! PlayCanvas engine's octree loader).
//!
//! `lod-meta.json`: `{version?: 1, count?, counts?: [per level], lodLevels,
//! environment?: "env/meta.json" | null, filenames: ["0_0/meta.json", …], tree}`.
//! Every path is relative to the folder of `lod-meta.json`, and paths inside a
//! referenced `meta.json` are relative to that file's folder. A tree node is
//! `{bound: {min: [x, y, z], max: [x, y, z]}, children?: [node…]}` or, for a
//! leaf, `{bound, lods: {"level": {file, offset, count}, …}}`.
//!
//! Level `L` (0 = finest) is the union, over all leaves, of splats
//! `offset..offset + count` of file `filenames[lods["L"].file]`; the levels are
//! alternative versions of the whole scene, not refinements to add up. A leaf
//! without an entry for a level has no splats at that level (the engine
//! records file −1 / count 0 and draws nothing for it, unless its optional
//! "underfill" substitutes a coarser loaded level). The optional environment
//! SOG is drawn with every level and is not part of any level here.
//!
//! [`build_lod`] writes such a set from any capture (the LOD builder).

use std::collections::HashMap;

use bevy::math::Vec3;
use serde_json::Value;

use super::error::SplatLoadError;
use super::siblings::SiblingFiles;
use super::sog::{
    MAX_SOG_SPLATS, Obj, SogError, SogMeta, decode_sog_ranges, json_uint, normalize_relative_path,
    parse_json, parse_sog_meta, resolve_sog_path,
};
use crate::splat::asset::{GaussianSplats, sh_coefficient_count};

/// The most LOD levels accepted.
pub const MAX_LOD_LEVELS: u32 = 256;

/// The most files a `lod-meta.json` may list.
const MAX_LOD_FILES: usize = 1 << 20;

/// The splats of one file that a tree leaf uses at one level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SogLodRange {
    /// Index into [`SogLodTree::filenames`].
    pub file: u32,
    /// First splat in that file.
    pub offset: u64,
    /// Number of splats.
    pub count: u64,
}

/// A node of the LOD tree: an inner node with children, or a leaf with
/// per-level splat ranges.
#[derive(Clone, Debug, PartialEq)]
pub struct SogLodNode {
    /// Minimum corner of the node's bounds (of the splats' extents, in the
    /// file frame).
    pub min: Vec3,
    /// Maximum corner of the node's bounds.
    pub max: Vec3,
    /// `(level, range)` pairs sorted by level; empty for inner nodes.
    pub lods: Vec<(u32, SogLodRange)>,
    /// Child nodes; empty for leaves.
    pub children: Vec<SogLodNode>,
}

impl SogLodNode {
    /// The range this node uses at `level`, if it has one.
    pub fn range(&self, level: u32) -> Option<&SogLodRange> {
        self.lods.iter().find(|(l, _)| *l == level).map(|(_, r)| r)
    }

    /// Calls `f` on this node and all its descendants, depth first.
    pub fn visit<'a>(&'a self, f: &mut impl FnMut(&'a SogLodNode)) {
        f(self);
        for child in &self.children {
            child.visit(f);
        }
    }
}

/// A parsed `lod-meta.json`.
#[derive(Clone, Debug, PartialEq)]
pub struct SogLodTree {
    /// Number of levels (`lodLevels`); level 0 is the finest.
    pub levels: u32,
    /// The SOG files' `meta.json` paths, relative to the folder of
    /// `lod-meta.json` (normalised); [`SogLodRange::file`] indexes this.
    pub filenames: Vec<String>,
    /// The optional environment SOG's `meta.json` path (drawn at every level).
    pub environment: Option<String>,
    /// The root of the spatial tree.
    pub root: SogLodNode,
}

fn lod_field_error(field: String, reason: String) -> SogError {
    SogError::LodMetaField { field, reason }
}

/// Parses a `lod-meta.json`. Checks paths (relative, no `..`), level keys
/// (< `lodLevels`), file indices, finite bounds, and `counts` when present.
pub fn parse_lod_meta(json: &[u8]) -> Result<SogLodTree, SogError> {
    let value = parse_json(json, "lod-meta.json")?;
    let root = Obj::new(&value, "", lod_field_error)?;
    if let Some(v) = root.opt("version")
        && json_uint(v) != Some(1)
    {
        return Err(SogError::UnsupportedVersion {
            file: "lod-meta.json",
            version: v.to_string().chars().take(40).collect(),
            expected: "1, or none",
        });
    }
    let levels = root.uint("lodLevels")?;
    if levels == 0 || levels > MAX_LOD_LEVELS as u64 {
        return Err(root.fail(
            "lodLevels",
            format!("is {levels}, expected 1..={MAX_LOD_LEVELS}"),
        ));
    }
    let levels = levels as u32;

    let names = root.array("filenames")?;
    if names.len() > MAX_LOD_FILES {
        return Err(root.fail(
            "filenames",
            format!("lists {} files, more than {MAX_LOD_FILES}", names.len()),
        ));
    }
    let filenames = names
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let name = v
                .as_str()
                .ok_or_else(|| root.fail(&format!("filenames[{i}]"), "is not a string"))?;
            normalize_relative_path(name)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let environment = match root.opt("environment") {
        None => None,
        Some(v) => {
            Some(normalize_relative_path(v.as_str().ok_or_else(|| {
                root.fail("environment", "is not a string")
            })?)?)
        }
    };

    let tree = root.req("tree")?;
    let root_node = parse_node(tree, "tree".into(), levels, filenames.len())?;
    let tree = SogLodTree {
        levels,
        filenames,
        environment,
        root: root_node,
    };

    if let Some(counts) = root.opt("counts") {
        let counts = counts
            .as_array()
            .ok_or_else(|| root.fail("counts", "is not an array"))?;
        if counts.len() != levels as usize {
            return Err(root.fail(
                "counts",
                format!("has {} entries for {levels} levels", counts.len()),
            ));
        }
        for (level, declared) in counts.iter().enumerate() {
            let key = format!("counts[{level}]");
            let declared = json_uint(declared)
                .ok_or_else(|| root.fail(&key, "is not a non-negative integer"))?;
            let found = tree.level_count(level as u32);
            if declared != found {
                return Err(root.fail(
                    &key,
                    format!("is {declared}, but the tree holds {found} splats at that level"),
                ));
            }
        }
    }
    Ok(tree)
}

fn parse_node(
    value: &Value,
    path: String,
    levels: u32,
    files: usize,
) -> Result<SogLodNode, SogError> {
    let node = Obj::new(value, &path, lod_field_error)?;
    let bound_path = node.child_path("bound");
    let bound = node.object("bound", &bound_path)?;
    let min = bound.numbers("min", 3)?;
    let max = bound.numbers("max", 3)?;
    let vec = |v: &[f64], key: &str| {
        let out = Vec3::new(v[0] as f32, v[1] as f32, v[2] as f32);
        if out.is_finite() {
            Ok(out)
        } else {
            Err(bound.fail(key, "overflows a 32-bit float"))
        }
    };
    let (min, max) = (vec(&min, "min")?, vec(&max, "max")?);

    let mut lods = Vec::new();
    if let Some(map) = node.opt("lods") {
        let lods_path = node.child_path("lods");
        let map = Obj::new(map, &lods_path, lod_field_error)?;
        for (key, entry) in map.map {
            let level = key
                .parse::<u32>()
                .ok()
                .filter(|l| *l < levels)
                .ok_or_else(|| map.fail(key, format!("is not a level in 0..{levels}")))?;
            let entry_path = map.child_path(key);
            let entry = Obj::new(entry, &entry_path, lod_field_error)?;
            let file = entry.uint("file")?;
            if file >= files as u64 {
                return Err(entry.fail(
                    "file",
                    format!("is {file}, but there are {files} filenames"),
                ));
            }
            let offset = entry.uint("offset")?;
            let count = entry.uint("count")?;
            if count > MAX_SOG_SPLATS as u64 || offset > MAX_SOG_SPLATS as u64 {
                return Err(SogError::CountTooLarge {
                    count: offset.saturating_add(count),
                    limit: MAX_SOG_SPLATS,
                });
            }
            lods.push((
                level,
                SogLodRange {
                    file: file as u32,
                    offset,
                    count,
                },
            ));
        }
        lods.sort_by_key(|(l, _)| *l);
    }

    let mut children = Vec::new();
    if let Some(list) = node.opt("children") {
        let list = list
            .as_array()
            .ok_or_else(|| node.fail("children", "is not an array"))?;
        if !lods.is_empty() && !list.is_empty() {
            return Err(node.fail(
                "children",
                "are given together with `lods` (a node is either a leaf or an inner node)",
            ));
        }
        for (i, child) in list.iter().enumerate() {
            let child_path = format!("{}[{i}]", node.child_path("children"));
            children.push(parse_node(child, child_path, levels, files)?);
        }
    }
    Ok(SogLodNode {
        min,
        max,
        lods,
        children,
    })
}

impl SogLodTree {
    /// The `(file, range)` entries of `level`, in depth-first tree order.
    pub fn ranges(&self, level: u32) -> Vec<SogLodRange> {
        let mut out = Vec::new();
        self.root.visit(&mut |node| {
            if let Some(r) = node.range(level) {
                out.push(*r);
            }
        });
        out
    }

    /// Total splats at `level` (0 for a level that does not exist).
    pub fn level_count(&self, level: u32) -> u64 {
        self.ranges(level)
            .iter()
            .fold(0u64, |sum, r| sum.saturating_add(r.count))
    }

    /// The finest (lowest-numbered) non-empty level with at most `budget`
    /// splats, or `None` when even the coarsest is larger.
    pub fn finest_level_within(&self, budget: u64) -> Option<u32> {
        (0..self.levels).find(|&level| {
            let n = self.level_count(level);
            n > 0 && n <= budget
        })
    }

    /// The `meta.json` paths (relative to the folder of `lod-meta.json`) that
    /// `level` needs, in order of first use.
    pub fn files_for_level(&self, level: u32) -> Vec<String> {
        let mut indices: Vec<u32> = Vec::new();
        for r in self.ranges(level) {
            if r.count > 0 && !indices.contains(&r.file) {
                indices.push(r.file);
            }
        }
        indices
            .into_iter()
            .filter_map(|i| self.filenames.get(i as usize).cloned())
            .collect()
    }
}

/// Decodes LOD `level` of a streamed SOG scene.
///
/// `metas` returns the parsed `meta.json` of each path in
/// [`SogLodTree::files_for_level`]; `files` returns plane bytes by their path
/// relative to the folder of `lod-meta.json` (a plane `p` of `a/meta.json` is
/// asked for as `a/p`, see [`resolve_sog_path`]). The splats are grouped by
/// file (in order of first use) and, within a file, follow the tree's
/// depth-first order. Files with fewer SH bands than others are padded with
/// zero coefficients. The result is validated and in the 3DGS training-PLY
/// frame.
pub fn decode_lod_level<'m, 'a>(
    tree: &SogLodTree,
    level: u32,
    metas: &dyn Fn(&str) -> Option<&'m SogMeta>,
    files: &dyn Fn(&str) -> Option<&'a [u8]>,
) -> Result<GaussianSplats, SogError> {
    if level >= tree.levels {
        return Err(SogError::LevelOutOfRange {
            level,
            levels: tree.levels,
        });
    }
    let total = tree.level_count(level);
    if total > MAX_SOG_SPLATS as u64 {
        return Err(SogError::CountTooLarge {
            count: total,
            limit: MAX_SOG_SPLATS,
        });
    }
    let ranges = tree.ranges(level);
    let mut order: Vec<u32> = Vec::new();
    for r in &ranges {
        if r.count > 0 && !order.contains(&r.file) {
            order.push(r.file);
        }
    }

    let mut parts = Vec::with_capacity(order.len());
    for file in order {
        let path = tree
            .filenames
            .get(file as usize)
            .ok_or_else(|| SogError::LodMetaField {
                field: "filenames".into(),
                reason: format!("has no entry {file}"),
            })?;
        let meta = metas(path).ok_or_else(|| SogError::MissingFile { name: path.clone() })?;
        let mut spans: Vec<(usize, usize)> = Vec::new();
        for r in ranges.iter().filter(|r| r.file == file && r.count > 0) {
            let end = r.offset.saturating_add(r.count);
            if end > meta.count as u64 {
                return Err(SogError::LodRangeOutOfBounds {
                    file: path.clone(),
                    offset: r.offset,
                    count: r.count,
                    file_count: meta.count,
                });
            }
            spans.push((r.offset as usize, end as usize));
        }
        let mut sorted = spans.clone();
        sorted.sort_unstable();
        if let Some(w) = sorted.windows(2).find(|w| w[1].0 < w[0].1) {
            return Err(SogError::LodRangeOverlap {
                file: path.clone(),
                at: w[1].0 as u64,
            });
        }
        let resolve_err = |e| SogError::InFile {
            file: path.clone(),
            source: Box::new(e),
        };
        // Resolve every plane path up front so that lookups cannot fail later.
        let mut resolved = Vec::new();
        for name in meta.files() {
            resolved.push((
                name.clone(),
                resolve_sog_path(path, &name).map_err(resolve_err)?,
            ));
        }
        let lookup = |name: &str| {
            resolved
                .iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, full)| files(full))
        };
        let part = decode_sog_ranges(meta, &lookup, &spans).map_err(|e| match e {
            SogError::MissingFile { name } => SogError::MissingFile {
                name: resolve_sog_path(path, &name).unwrap_or(name),
            },
            e => SogError::InFile {
                file: path.clone(),
                source: Box::new(e),
            },
        })?;
        parts.push(part);
    }
    Ok(concat_splats(parts))
}

/// Concatenates scenes, raising every part to the highest SH degree (missing
/// coefficients are zero).
fn concat_splats(mut parts: Vec<GaussianSplats>) -> GaussianSplats {
    if parts.len() == 1 {
        return parts.pop().unwrap_or_default();
    }
    let degree = parts.iter().map(|p| p.sh_degree).max().unwrap_or(0);
    let k = sh_coefficient_count(degree);
    let n: usize = parts.iter().map(GaussianSplats::len).sum();
    let mut out = GaussianSplats::with_capacity(n, degree);
    for part in parts {
        out.positions.extend_from_slice(&part.positions);
        out.rotations.extend_from_slice(&part.rotations);
        out.scales.extend_from_slice(&part.scales);
        out.opacities.extend_from_slice(&part.opacities);
        let pk = part.sh_per_splat();
        if pk == k {
            out.sh.extend_from_slice(&part.sh);
        } else {
            for i in 0..part.len() {
                out.sh.extend_from_slice(&part.sh[i * pk..(i + 1) * pk]);
                out.sh.extend(std::iter::repeat_n([0.0; 3], k - pk));
            }
        }
    }
    out
}

/// Reads level `level` of a streamed SOG scene: every `meta.json` of the
/// level and the planes they name (each file once), fetched through
/// `siblings`, then decoded with [`decode_lod_level`].
pub async fn read_lod_level(
    tree: &SogLodTree,
    level: u32,
    siblings: &mut impl SiblingFiles,
) -> Result<GaussianSplats, SplatLoadError> {
    let mut metas: HashMap<String, SogMeta> = HashMap::new();
    let mut files: HashMap<String, Vec<u8>> = HashMap::new();
    for meta_path in tree.files_for_level(level) {
        let meta = parse_sog_meta(&siblings.read(&meta_path).await?)?;
        for plane in meta.files() {
            // Relative to the meta.json's folder.
            let path = resolve_sog_path(&meta_path, &plane)?;
            if let std::collections::hash_map::Entry::Vacant(slot) = files.entry(path) {
                let data = siblings.read(slot.key()).await?;
                slot.insert(data);
            }
        }
        metas.insert(meta_path, meta);
    }
    Ok(decode_lod_level(tree, level, &|p| metas.get(p), &|p| files.get(p).map(Vec::as_slice))?)
}

mod write;
pub use write::{BuiltLod, LodBuildOptions, LodWriteError, MAX_BUILD_LEVELS, build_lod};

#[cfg(test)]
mod tests;
