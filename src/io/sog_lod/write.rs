//! The LOD builder: a capture written as streamed SOG (`lod-meta.json`
//! version 1 with SOG version 2 files, the layout PlayCanvas'
//! `splat-transform` writes and the PlayCanvas engine streams).
//!
//! * Levels: level 0 is the capture; each coarser level is the previous one
//!   simplified by [`simplify`] (neighbouring splats merged by moment
//!   matching) to `ratio` of its splats.
//! * Tree: a k-d tree over the centres of every level's splats together,
//!   each node split at the median of its longest axis while it holds more
//!   than `chunk_splats` splats or spans more than `chunk_extent`. A leaf
//!   lists, per level, the range of its splats in that level's file; its
//!   bound is the union of its splats' 1σ ellipsoid boxes, an inner node's
//!   the union of its children's.
//! * Files: `L_F/meta.json` (level `L`, file `F`), unbundled SOG. Leaves add
//!   their splats of each level to that level's current file, which is closed
//!   once another leaf would take it past `chunk_splats`. Within a leaf's
//!   range the splats are in Morton order, laid down the plane's columns
//!   where the range fills whole rows (smaller lossless planes).

use std::path::{Path, PathBuf};

use bevy::math::{Mat3, Vec3};
use serde_json::{Value, json};

use crate::io::sog::{EncodedSog, SogWriteError, SogWriteOptions, column_layout, encode_sog, plane_width};
use crate::splat::asset::GaussianSplats;
use crate::splat::morton::morton_order;
use crate::splat::simplify::{SimplifyError, simplify};

/// The most levels the builder writes.
pub const MAX_BUILD_LEVELS: u32 = 16;

/// How a LOD set is built.
#[derive(Clone, Debug, PartialEq)]
pub struct LodBuildOptions {
    /// Levels to write, the capture itself included; `None` keeps halving
    /// (by `ratio`) while the coarser level still has `min_splats` splats,
    /// up to [`MAX_BUILD_LEVELS`].
    pub levels: Option<u32>,
    /// Splats of each level as a fraction of the finer one's, in `(0, 1)`.
    /// Default 0.5.
    pub ratio: f32,
    /// With `levels: None`, the fewest splats a coarser level is made
    /// with. Default 2,000.
    pub min_splats: usize,
    /// Splats per tree leaf and per file (all levels together), at most.
    /// Default 524,288 (as `splat-transform`'s `--lod-chunk-count 512`).
    pub chunk_splats: usize,
    /// The largest extent of a tree leaf, in the capture's units. Default
    /// 16 (as `splat-transform`'s `--lod-chunk-extent`).
    pub chunk_extent: f32,
    /// How each SOG file is encoded (its order is always kept: the tree
    /// addresses ranges of it).
    pub sog: SogWriteOptions,
}

impl Default for LodBuildOptions {
    fn default() -> Self {
        Self { levels: None, ratio: 0.5, min_splats: 2_000, chunk_splats: 512 * 1024, chunk_extent: 16.0, sog: SogWriteOptions::default() }
    }
}

/// Why a LOD set was not built or written.
#[derive(Debug, thiserror::Error)]
pub enum LodWriteError {
    /// There is nothing to write.
    #[error("nothing to write, the capture has no splats")]
    Empty,
    /// The options cannot be followed.
    #[error("LOD options: {0}")]
    Options(String),
    /// A coarser level could not be made.
    #[error("simplifying level {level}: {source}")]
    Simplify {
        /// The level being made.
        level: u32,
        /// Why.
        source: SimplifyError,
    },
    /// A level's file could not be encoded.
    #[error("{file}: {source}")]
    Encode {
        /// The file (relative to `lod-meta.json`).
        file: String,
        /// Why.
        source: SogWriteError,
    },
    /// A file exists and overwriting was not asked for; nothing was written.
    #[error("{0}: the file exists; confirm to overwrite it")]
    Exists(PathBuf),
    /// The file system refused.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// A built LOD set, in memory.
pub struct BuiltLod {
    /// Splats per level, finest first.
    pub counts: Vec<usize>,
    /// The `lod-meta.json` text.
    pub meta: Vec<u8>,
    /// The SOG files, by their `meta.json` path relative to `lod-meta.json`.
    pub files: Vec<(String, EncodedSog)>,
}

/// One splat of the tree: its level and index in that level.
type Item = (u32, u32);

/// A node of the tree being built.
struct Node {
    min: Vec3,
    max: Vec3,
    /// `(level, file index into filenames, offset, count)` of a leaf.
    lods: Vec<(u32, usize, usize, usize)>,
    children: Vec<Node>,
}

/// One level's files while they are filled: per file, its leaf ranges.
struct LevelFiles {
    files: Vec<Vec<Vec<u32>>>,
    /// Index into the global file names of each of `files`.
    names: Vec<usize>,
}

/// Builds the LOD set of `splats` (a static capture, in the frame it is to
/// be written in).
pub fn build_lod(splats: &GaussianSplats, options: &LodBuildOptions) -> Result<BuiltLod, LodWriteError> {
    if splats.is_empty() {
        return Err(LodWriteError::Empty);
    }
    options.validate()?;
    let levels = make_levels(splats, options)?;
    let mut items: Vec<Item> = Vec::new();
    for (l, level) in levels.iter().enumerate() {
        items.extend((0..level.len() as u32).map(|i| (l as u32, i)));
    }
    let mut filenames: Vec<String> = Vec::new();
    let mut level_files: Vec<LevelFiles> = (0..levels.len()).map(|_| LevelFiles { files: vec![Vec::new()], names: Vec::new() }).collect();
    let tree = build_node(&levels, &mut items, options, &mut filenames, &mut level_files);

    // Encode every file: its leaf ranges back to back, Morton order within each.
    let sog = SogWriteOptions { morton_order: false, ..options.sog.clone() };
    let mut files: Vec<(usize, EncodedSog)> = Vec::new();
    for (l, level) in level_files.iter().enumerate() {
        for (f, ranges) in level.files.iter().enumerate() {
            if ranges.is_empty() {
                continue;
            }
            // Each range Morton-ordered and laid down the plane's columns
            // where it fills whole rows (see `column_layout`).
            let width = plane_width(ranges.iter().map(Vec::len).sum());
            let mut order: Vec<u32> = Vec::new();
            for range in ranges {
                let curve = in_morton_order(&levels[l], range);
                order.extend(column_layout(&curve, width, order.len()));
            }
            let name = level.names[f];
            let encoded = encode_sog(&gather(&levels[l], &order), &sog)
                .map_err(|source| LodWriteError::Encode { file: filenames[name].clone(), source })?;
            files.push((name, encoded));
        }
    }
    // In the order of `filenames` (first use in the tree).
    files.sort_by_key(|(name, _)| *name);
    let files: Vec<(String, EncodedSog)> = files.into_iter().map(|(name, encoded)| (filenames[name].clone(), encoded)).collect();
    let counts: Vec<usize> = levels.iter().map(GaussianSplats::len).collect();
    let meta = json!({
        "version": 1,
        "asset": {"generator": concat!("bevy_radiance ", env!("CARGO_PKG_VERSION"))},
        "count": counts.iter().sum::<usize>(),
        "counts": counts,
        "lodLevels": levels.len(),
        "filenames": filenames,
        "tree": node_json(&tree),
    });
    Ok(BuiltLod { counts, meta: serde_json::to_vec(&meta).unwrap_or_default(), files })
}

impl BuiltLod {
    /// Writes `lod-meta.json` as `lod_meta_path` and the level folders beside
    /// it (the folder is created if missing). Nothing is written if any of
    /// the files exists and `overwrite` is false. The SOG files go first and
    /// `lod-meta.json` last, so a reader never finds an index whose files
    /// are missing. Returns the bytes written.
    pub fn write(&self, lod_meta_path: &Path, overwrite: bool) -> Result<usize, LodWriteError> {
        let dir = lod_meta_path.parent().unwrap_or(Path::new(""));
        if !overwrite {
            let mut paths = vec![lod_meta_path.to_path_buf()];
            for (name, encoded) in &self.files {
                let meta = dir.join(name);
                let folder = meta.parent().unwrap_or(dir).to_path_buf();
                paths.extend(encoded.planes.iter().map(|(plane, _)| folder.join(plane)));
                paths.push(meta);
            }
            if let Some(existing) = paths.into_iter().find(|p| p.exists()) {
                return Err(LodWriteError::Exists(existing));
            }
        }
        let mut total = 0;
        for (name, encoded) in &self.files {
            let meta = dir.join(name);
            if let Some(folder) = meta.parent() {
                std::fs::create_dir_all(folder).map_err(|source| LodWriteError::Io { path: folder.to_path_buf(), source })?;
            }
            total += encoded.write_unbundled(&meta, true).map_err(|(path, source)| LodWriteError::Io { path, source })?;
        }
        std::fs::write(lod_meta_path, &self.meta).map_err(|source| LodWriteError::Io { path: lod_meta_path.to_path_buf(), source })?;
        Ok(total + self.meta.len())
    }
}

impl LodBuildOptions {
    /// Checks that the options can be followed (a ratio in `(0, 1)`, 1 to
    /// [`MAX_BUILD_LEVELS`] levels, chunks that hold a splat).
    pub fn validate(&self) -> Result<(), LodWriteError> {
        let bad = |m: String| Err(LodWriteError::Options(m));
        if self.ratio.is_nan() || self.ratio <= 0.0 || self.ratio >= 1.0 {
            return bad(format!("ratio {} is not in (0, 1)", self.ratio));
        }
        if let Some(levels) = self.levels
            && !(1..=MAX_BUILD_LEVELS).contains(&levels)
        {
            return bad(format!("{levels} levels asked for; write 1 to {MAX_BUILD_LEVELS}"));
        }
        if self.chunk_splats == 0 || self.chunk_extent.is_nan() || self.chunk_extent <= 0.0 {
            return bad(format!("chunks of {} splats and {} units cannot hold a splat", self.chunk_splats, self.chunk_extent));
        }
        Ok(())
    }
}

/// Level 0 and its simplifications.
fn make_levels(splats: &GaussianSplats, options: &LodBuildOptions) -> Result<Vec<GaussianSplats>, LodWriteError> {
    // Simplifying to its own size checks the capture (static, finite) and
    // returns it unchanged.
    let mut levels = vec![simplify(splats, splats.len()).map_err(|source| LodWriteError::Simplify { level: 0, source })?];
    loop {
        let finer = &levels[levels.len() - 1];
        let target = (finer.len() as f64 * options.ratio as f64).ceil() as usize;
        let more = match options.levels {
            Some(n) => (levels.len() as u32) < n,
            None => target >= options.min_splats && (levels.len() as u32) < MAX_BUILD_LEVELS,
        };
        if !more || target >= finer.len() {
            break;
        }
        let level = levels.len() as u32;
        levels.push(simplify(finer, target).map_err(|source| LodWriteError::Simplify { level, source })?);
    }
    Ok(levels)
}

/// Builds the subtree over `items`, filling the levels' files from its
/// leaves (left to right).
fn build_node(levels: &[GaussianSplats], items: &mut [Item], options: &LodBuildOptions, filenames: &mut Vec<String>, files: &mut [LevelFiles]) -> Node {
    let position = |&(l, i): &Item| levels[l as usize].positions[i as usize];
    let (mut lo, mut hi) = (Vec3::INFINITY, Vec3::NEG_INFINITY);
    for item in items.iter() {
        lo = lo.min(position(item));
        hi = hi.max(position(item));
    }
    let extent = hi - lo;
    if items.len() > 1 && (items.len() > options.chunk_splats || extent.max_element() > options.chunk_extent) {
        let axis = if extent.x >= extent.y && extent.x >= extent.z { 0 } else if extent.y >= extent.z { 1 } else { 2 };
        let mid = items.len() / 2;
        items.select_nth_unstable_by(mid, |a, b| position(a)[axis].total_cmp(&position(b)[axis]).then(a.cmp(b)));
        let (left, right) = items.split_at_mut(mid);
        let children = vec![build_node(levels, left, options, filenames, files), build_node(levels, right, options, filenames, files)];
        let min = children[0].min.min(children[1].min);
        let max = children[0].max.max(children[1].max);
        return Node { min, max, lods: Vec::new(), children };
    }
    // A leaf: its splats per level, appended to each level's current file.
    items.sort_unstable();
    let (mut min, mut max) = (Vec3::INFINITY, Vec3::NEG_INFINITY);
    let mut lods = Vec::new();
    for chunk in items.chunk_by(|a, b| a.0 == b.0) {
        let level = chunk[0].0;
        let indices: Vec<u32> = chunk.iter().map(|&(_, i)| i).collect();
        let splats = &levels[level as usize];
        for &i in &indices {
            let half = ellipsoid_half_extent(splats, i as usize);
            min = min.min(splats.positions[i as usize] - half);
            max = max.max(splats.positions[i as usize] + half);
        }
        let level_files = &mut files[level as usize];
        let size = |file: &Vec<Vec<u32>>| file.iter().map(Vec::len).sum::<usize>();
        let current = level_files.files.len() - 1;
        if !level_files.files[current].is_empty() && size(&level_files.files[current]) + indices.len() > options.chunk_splats {
            level_files.files.push(Vec::new());
        }
        let f = level_files.files.len() - 1;
        if level_files.names.len() <= f {
            level_files.names.push(filenames.len());
            filenames.push(format!("{level}_{f}/meta.json"));
        }
        let offset = size(&level_files.files[f]);
        lods.push((level, level_files.names[f], offset, indices.len()));
        level_files.files[f].push(indices);
    }
    Node { min, max, lods, children: Vec::new() }
}

/// Half the extent, per axis, of splat `i`'s 1σ ellipsoid.
fn ellipsoid_half_extent(splats: &GaussianSplats, i: usize) -> Vec3 {
    let r = Mat3::from_quat(splats.rotations[i].normalize());
    let s = splats.scales[i];
    // Row a of R·diag(s): the axis-a components of the scaled local axes.
    let m = Mat3::from_cols(r.x_axis * s.x, r.y_axis * s.y, r.z_axis * s.z).transpose();
    Vec3::new(m.x_axis.length(), m.y_axis.length(), m.z_axis.length())
}

/// `indices` of `splats` in Morton order of their centres.
fn in_morton_order(splats: &GaussianSplats, indices: &[u32]) -> Vec<u32> {
    let positions: Vec<Vec3> = indices.iter().map(|&i| splats.positions[i as usize]).collect();
    morton_order(&positions).into_iter().map(|k| indices[k as usize]).collect()
}

/// The splats `order` of `splats`, in that order.
fn gather(splats: &GaussianSplats, order: &[u32]) -> GaussianSplats {
    let mut out = GaussianSplats::with_capacity(order.len(), splats.sh_degree);
    for &i in order {
        out.push_from(splats, i as usize);
    }
    out
}

/// `v` as the shortest decimal that reads back as the same `f32` (JSON
/// numbers are doubles; a plain widening would print 17 digits).
fn short(v: Vec3) -> [f64; 3] {
    v.to_array().map(|x| x.to_string().parse().unwrap_or(0.0))
}

fn node_json(node: &Node) -> Value {
    let bound = json!({"min": short(node.min), "max": short(node.max)});
    if node.children.is_empty() {
        let lods: serde_json::Map<String, Value> = node
            .lods
            .iter()
            .map(|&(level, file, offset, count)| (level.to_string(), json!({"file": file, "offset": offset, "count": count})))
            .collect();
        json!({"bound": bound, "lods": lods})
    } else {
        json!({"bound": bound, "children": node.children.iter().map(node_json).collect::<Vec<_>>()})
    }
}
