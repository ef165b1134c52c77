//! The splat-sequence manifest (`.splatseq.ron`) and its loader.

use bevy::asset::io::Reader;
use bevy::asset::{Asset, AssetLoader, AssetPath, LoadContext};
use bevy::reflect::TypePath;
use serde::Deserialize;

use crate::io::SplatLoaderSettings;

/// Most frames a sequence may list.
pub const MAX_SEQUENCE_FRAMES: u32 = 1_000_000;

/// Largest manifest file read (frames are separate files).
pub const MAX_MANIFEST_BYTES: usize = 64 << 20;

/// The frames of a manifest.
#[derive(Deserialize, Clone, Debug, PartialEq)]
pub enum FrameList {
    /// Explicit file names, in playback order.
    List(Vec<String>),
    /// Numbered files: `pattern` with one `{}` (or `{:0N}` for zero-padding to
    /// N digits) replaced by `first`, `first + 1`, … (`count` frames).
    Pattern {
        /// File name with one number placeholder, e.g. `"wave_{:04}.sog"`.
        pattern: String,
        /// Number of the first frame.
        first: u32,
        /// Number of frames.
        count: u32,
    },
}

/// The manifest as written:
///
/// ```ron
/// (
///     fps: 30.0,
///     frames: Pattern(pattern: "wave_{:04}.sog", first: 1, count: 200),
///     // or: frames: List(["a.ply", "b.ply"]),
///     settings: Some((axes: Opencv)), // loader settings of every frame (optional)
/// )
/// ```
#[derive(Deserialize, Clone, Debug)]
struct Manifest {
    fps: f32,
    frames: FrameList,
    #[serde(default)]
    settings: Option<SplatLoaderSettings>,
}

/// A splat sequence (volumetric video): per-frame splat files in any format
/// the crate loads, played at `fps` by a
/// [`SplatSequence3d`](super::SplatSequence3d) entity. Loading the manifest
/// loads no frame; frames stream in around the playhead.
#[derive(Asset, TypePath, Clone, Debug)]
pub struct SplatSequence {
    /// Frames per second.
    pub fps: f32,
    /// Asset paths of the frames, resolved relative to the manifest.
    pub frames: SequenceFrames,
    /// Loader settings applied to every frame; `None`: each frame's own
    /// `.meta` file (or the defaults).
    pub settings: Option<SplatLoaderSettings>,
}

impl SplatSequence {
    /// Length in seconds: `frames / fps`.
    pub fn duration_seconds(&self) -> f32 {
        self.frames.len() as f32 / self.fps
    }

    /// The frame shown at `seconds` (`floor(seconds · fps)`, clamped to the clip).
    pub fn frame_at(&self, seconds: f32) -> usize {
        let last = self.frames.len().saturating_sub(1);
        let index = (seconds * self.fps).floor();
        if index.is_nan() || index < 0.0 { 0 } else { (index as usize).min(last) }
    }
}

/// Why a sequence manifest cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SequenceError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The manifest.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_MANIFEST_BYTES`].
    #[error("{path}: manifest larger than {MAX_MANIFEST_BYTES} bytes")]
    TooLarge {
        /// The manifest.
        path: String,
    },
    /// The RON does not parse as a manifest.
    #[error("{path}: not a splat-sequence manifest: {message}")]
    Syntax {
        /// The manifest.
        path: String,
        /// The parser's message.
        message: String,
    },
    /// A value is out of range.
    #[error("{path}: {problem}")]
    Invalid {
        /// The manifest.
        path: String,
        /// What is wrong.
        problem: String,
    },
}

/// The frames of a [`SplatSequence`]: their asset paths, resolved relative to
/// the manifest. A numbered pattern stays a pattern (a frame's path is made
/// when asked for), so a manifest of a few bytes that names a million frames
/// costs a few bytes, not a million paths.
#[derive(Clone, Debug, PartialEq)]
pub struct SequenceFrames(Frames);

#[derive(Clone, Debug, PartialEq)]
enum Frames {
    Listed(Vec<AssetPath<'static>>),
    Numbered { base: AssetPath<'static>, pattern: String, first: u32, count: u32 },
}

impl SequenceFrames {
    /// Frames given by their paths, in playback order.
    pub fn listed(paths: Vec<AssetPath<'static>>) -> Self {
        Self(Frames::Listed(paths))
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        match &self.0 {
            Frames::Listed(paths) => paths.len(),
            Frames::Numbered { count, .. } => *count as usize,
        }
    }

    /// Whether there are no frames.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The path of frame `index` (from 0), or `None` past the end.
    pub fn get(&self, index: usize) -> Option<AssetPath<'static>> {
        match &self.0 {
            Frames::Listed(paths) => paths.get(index).cloned(),
            Frames::Numbered { base, pattern, first, count } => {
                let index = u32::try_from(index).ok().filter(|i| i < count)?;
                // Checked when parsed: every number expands and resolves.
                base.resolve_embed_str(&expand(pattern, first + index)?).ok()
            }
        }
    }

    /// The frames' paths in playback order.
    pub fn iter(&self) -> impl Iterator<Item = AssetPath<'static>> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

/// Expands a numbered-file pattern (`{}` or `{:0N}`) for `number`.
fn expand(pattern: &str, number: u32) -> Option<String> {
    let open = pattern.find('{')?;
    let close = open + pattern[open..].find('}')?;
    let spec = &pattern[open + 1..close];
    let digits = match spec {
        "" => 0,
        _ => spec.strip_prefix(":0")?.parse::<usize>().ok().filter(|d| *d <= 12)?,
    };
    let rest = &pattern[close + 1..];
    if rest.contains('{') || rest.contains('}') || pattern[..open].contains('}') {
        return None;
    }
    Some(format!("{}{number:0digits$}{rest}", &pattern[..open]))
}

/// Parses a manifest; frame names are resolved against `base` (the manifest's path).
pub fn parse_manifest(text: &str, base: &AssetPath<'_>) -> Result<SplatSequence, SequenceError> {
    let path = base.to_string();
    let invalid = |problem: String| SequenceError::Invalid { path: path.clone(), problem };
    let manifest: Manifest = ron::from_str(text).map_err(|e| SequenceError::Syntax { path: path.clone(), message: e.to_string() })?;
    if !(manifest.fps.is_finite() && manifest.fps > 0.0 && manifest.fps <= 10_000.0) {
        return Err(invalid(format!("fps {} is not in (0, 10000]", manifest.fps)));
    }
    let resolve = |name: &str| {
        if name.is_empty() {
            return Err(invalid("an empty frame name".into()));
        }
        base.resolve_embed_str(name).map_err(|e| invalid(format!("frame `{name}`: {e}")))
    };
    let frames = match manifest.frames {
        FrameList::List(names) => {
            if names.len() > MAX_SEQUENCE_FRAMES as usize {
                return Err(invalid(format!("{} frames listed; at most {MAX_SEQUENCE_FRAMES}", names.len())));
            }
            SequenceFrames::listed(names.iter().map(|name| resolve(name)).collect::<Result<_, _>>()?)
        }
        FrameList::Pattern { pattern, first, count } => {
            if count > MAX_SEQUENCE_FRAMES {
                return Err(invalid(format!("{count} frames; at most {MAX_SEQUENCE_FRAMES}")));
            }
            let Some(end) = first.checked_add(count) else {
                return Err(invalid(format!("frame numbers {first} + {count} overflow")));
            };
            // Names differ only in their digits: the first and last frames
            // resolving means every one does.
            for number in [first, end.saturating_sub(1).max(first)] {
                let name = expand(&pattern, number)
                    .ok_or_else(|| invalid(format!("pattern `{pattern}` needs exactly one `{{}}` or `{{:0N}}` placeholder")))?;
                resolve(&name)?;
            }
            SequenceFrames(Frames::Numbered { base: base.clone_owned(), pattern, first, count })
        }
    };
    if frames.is_empty() {
        return Err(invalid("the sequence has no frames".into()));
    }
    Ok(SplatSequence { fps: manifest.fps, frames, settings: manifest.settings })
}

/// Loads [`SplatSequence`] manifests (`*.splatseq.ron`).
#[derive(Default, TypePath)]
pub struct SplatSequenceLoader;

impl AssetLoader for SplatSequenceLoader {
    type Asset = SplatSequence;
    type Settings = ();
    type Error = SequenceError;

    async fn load(&self, reader: &mut dyn Reader, _: &(), load_context: &mut LoadContext<'_>) -> Result<SplatSequence, SequenceError> {
        let base = load_context.path().clone_owned();
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .await
            .map_err(|source| SequenceError::Io { path: base.to_string(), source })?;
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(SequenceError::TooLarge { path: base.to_string() });
        }
        let text = std::str::from_utf8(&bytes).map_err(|e| SequenceError::Syntax { path: base.to_string(), message: e.to_string() })?;
        parse_manifest(text, &base)
    }

    fn extensions(&self) -> &[&str] {
        &["splatseq.ron"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SplatSequence, SequenceError> {
        parse_manifest(text, &AssetPath::from("clips/wave/wave.splatseq.ron"))
    }

    #[test]
    fn patterns_and_lists_resolve_next_to_the_manifest() {
        let s = parse(r#"(fps: 30.0, frames: Pattern(pattern: "wave_{:04}.sog", first: 1, count: 3))"#).unwrap();
        let names: Vec<String> = s.frames.iter().map(|p| p.to_string()).collect();
        assert_eq!(s.frames.get(3), None);
        assert_eq!(names, ["clips/wave/wave_0001.sog", "clips/wave/wave_0002.sog", "clips/wave/wave_0003.sog"]);
        assert_eq!(s.duration_seconds(), 0.1);
        let l = parse(r#"(fps: 2.0, frames: List(["a.ply", "../b.spz"]), settings: Some((axes: AsIs)))"#).unwrap();
        assert_eq!(l.frames.get(1).unwrap().to_string(), "clips/b.spz");
        assert_eq!(l.settings.map(|s| s.axes), Some(crate::splat::asset::AxisConvention::AsIs));
        assert_eq!(expand("f{}.ply", 7).as_deref(), Some("f7.ply"));
    }

    #[test]
    fn frame_at_clamps() {
        let s = parse(r#"(fps: 10.0, frames: Pattern(pattern: "{}.ply", first: 0, count: 5))"#).unwrap();
        assert_eq!(s.frame_at(0.0), 0);
        assert_eq!(s.frame_at(0.25), 2);
        assert_eq!(s.frame_at(9.0), 4);
        assert_eq!(s.frame_at(-1.0), 0);
        assert_eq!(s.frame_at(f32::NAN), 0);
    }

    #[test]
    fn bad_manifests_are_typed_errors() {
        let cases = [
            ("(fps: 30.0", "not a splat-sequence manifest"),
            (r#"(fps: 0.0, frames: List(["a.ply"]))"#, "fps 0"),
            (r#"(fps: -3.0, frames: List(["a.ply"]))"#, "fps -3"),
            (r#"(fps: NaN, frames: List(["a.ply"]))"#, "fps NaN"),
            (r#"(fps: 30.0, frames: List([]))"#, "no frames"),
            (r#"(fps: 30.0, frames: List([""]))"#, "empty frame name"),
            (r#"(fps: 30.0, frames: Pattern(pattern: "a.ply", first: 0, count: 2))"#, "placeholder"),
            (r#"(fps: 30.0, frames: Pattern(pattern: "{}{}.ply", first: 0, count: 2))"#, "placeholder"),
            (r#"(fps: 30.0, frames: Pattern(pattern: "{}.ply", first: 0, count: 4000000000))"#, "at most"),
            (r#"(fps: 30.0, frames: Pattern(pattern: "{}.ply", first: 4294967295, count: 2))"#, "overflow"),
        ];
        for (text, expected) in cases {
            let message = parse(text).expect_err(text).to_string();
            assert!(message.contains(expected) && message.contains("wave.splatseq.ron"), "{text}: {message}");
        }
    }
}
