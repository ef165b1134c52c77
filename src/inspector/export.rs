//! Export of an edited capture: the entity's asset with its crop, its
//! deletions (or only its selection) and its transform baked in, written
//! through [`crate::io::write_splat_file`] (never over an existing file
//! unless confirmed).

use std::path::Path;

use bevy::prelude::*;

use crate::io::{SplatWriteError, write_splat_file};
use crate::scene::SplatEdits;
use crate::splat::asset::{AxisConvention, GaussianSplats};
use crate::splat::crop::{CropError, CropVolume};
use crate::splat::edit_flags::EDIT_SELECTED;
use crate::scene::edits::EditError;
use crate::splat::transform::TransformError;

/// Which splats an export keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExportScope {
    /// Everything not cropped away or deleted (hidden splats are kept).
    #[default]
    Edited,
    /// Only the selected splats (within the crop).
    Selection,
}

/// Why an export failed; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The crop has an invalid volume.
    #[error("crop: {0}")]
    Crop(#[from] CropError),
    /// The edits do not fit the asset, or delete everything.
    #[error("edits: {0}")]
    Edit(#[from] EditError),
    /// The entity's transform cannot be baked in.
    #[error("transform: {0}")]
    Transform(#[from] TransformError),
    /// Exporting the selection with nothing selected.
    #[error("nothing is selected; select splats first or export the whole edited capture")]
    EmptySelection,
    /// Everything was cropped away.
    #[error("the crop keeps no splat")]
    Empty,
    /// The file could not be written.
    #[error(transparent)]
    Write(#[from] SplatWriteError),
}

/// The capture as the entity shows it: `splats` cropped by `crop` (at the
/// playback time), without deleted splats (or with only the selected ones),
/// with `transform` baked in.
pub fn edited_capture(
    splats: &GaussianSplats,
    crop: &[CropVolume],
    edits: Option<&SplatEdits>,
    scope: ExportScope,
    transform: &Transform,
    time_seconds: f32,
) -> Result<GaussianSplats, ExportError> {
    let mut out = splats.clone();
    let flags = edits.map(|e| e.flags()).filter(|f| !f.is_empty());
    if let Some(flags) = flags
        && flags.len() != splats.len()
    {
        return Err(EditError::CountMismatch { edits: flags.len(), asset: splats.len() }.into());
    }
    if scope == ExportScope::Selection {
        let selected = |i: usize| flags.is_some_and(|f| f[i] & EDIT_SELECTED != 0);
        if !(0..splats.len()).any(selected) {
            return Err(ExportError::EmptySelection);
        }
        out.retain(selected);
        // The crop applies to the selection below; deletions cannot be selected.
    } else if let Some(edits) = edits {
        edits.apply_deletions(&mut out)?;
    }
    out.crop(crop, splats.model_time(time_seconds))?;
    if out.is_empty() {
        return Err(ExportError::Empty);
    }
    out.apply_transform(transform)?;
    Ok(out)
}

/// [`edited_capture`] written to `path` in the file convention `axes`;
/// returns the splats and bytes written.
#[expect(clippy::too_many_arguments, reason = "each input is a separate choice of the user")]
pub fn export_capture(
    path: &Path,
    splats: &GaussianSplats,
    crop: &[CropVolume],
    edits: Option<&SplatEdits>,
    scope: ExportScope,
    transform: &Transform,
    time_seconds: f32,
    axes: AxisConvention,
    overwrite: bool,
) -> Result<(usize, usize), ExportError> {
    if path.exists() && !overwrite {
        return Err(SplatWriteError::Exists(path.to_path_buf()).into());
    }
    let edited = edited_capture(splats, crop, edits, scope, transform, time_seconds)?;
    let bytes = write_splat_file(path, &edited, axes, overwrite)?;
    Ok((edited.len(), bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::{SplatLoaderSettings, load_splat_file};
    use crate::scene::SelectionMode;
    use crate::splat::crop::CropMode;
    use crate::splat::motion::MotionKind;
    use crate::testing::motion::synthetic_dynamic;

    #[test]
    fn export_bakes_crop_deletions_and_transform_and_never_overwrites_unasked() {
        let splats = synthetic_dynamic(MotionKind::Static, 200, 7);
        let mut edits = SplatEdits::default();
        edits.select_where(200, SelectionMode::Replace, |i| i < 50);
        edits.delete_selected();
        edits.select_where(200, SelectionMode::Replace, |i| (50..60).contains(&i));
        let crop = [CropVolume::aabb(Vec3::splat(-100.0), Vec3::new(100.0, 100.0, 0.0), CropMode::KeepInside)];
        let kept_by_crop = (50..200).filter(|&i| splats.positions[i].z <= 0.0).count();
        let transform = Transform::from_xyz(1.0, 2.0, 3.0);

        let edited = edited_capture(&splats, &crop, Some(&edits), ExportScope::Edited, &transform, 0.0).unwrap();
        assert_eq!(edited.len(), kept_by_crop);
        assert!(edited.positions.iter().all(|p| p.z <= 3.0 + 1e-5));
        let selection = edited_capture(&splats, &[], Some(&edits), ExportScope::Selection, &Transform::IDENTITY, 0.0).unwrap();
        assert_eq!(selection.positions, splats.positions[50..60].to_vec());

        let dir = std::env::temp_dir().join(format!("bevy_radiance_export_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Every writer the panel offers, SOG bundled and unbundled among them.
        for name in ["edited.spz", "edited.sog", "unbundled/meta.json"] {
            let path = dir.join(name);
            let (n, bytes) = export_capture(&path, &splats, &crop, Some(&edits), ExportScope::Edited, &transform, 0.0, AxisConvention::Opencv, false).unwrap();
            assert_eq!(n, kept_by_crop);
            if name.ends_with("meta.json") {
                assert!(bytes as u64 > std::fs::metadata(&path).unwrap().len(), "{name}: the planes count too");
            } else {
                assert_eq!(bytes as u64, std::fs::metadata(&path).unwrap().len());
            }
            assert_eq!(load_splat_file(&path, &SplatLoaderSettings::default()).unwrap().len(), kept_by_crop, "{name}");
            let before = std::fs::read(&path).unwrap();
            let again = export_capture(&path, &splats, &[], None, ExportScope::Edited, &Transform::IDENTITY, 0.0, AxisConvention::Opencv, false);
            assert!(matches!(again, Err(ExportError::Write(SplatWriteError::Exists(_)))), "{name}");
            assert_eq!(std::fs::read(&path).unwrap(), before, "{name}: the existing file was touched");
            export_capture(&path, &splats, &[], None, ExportScope::Edited, &Transform::IDENTITY, 0.0, AxisConvention::Opencv, true).unwrap();
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn bad_exports_are_typed_errors() {
        let splats = synthetic_dynamic(MotionKind::Static, 20, 7);
        let none = SplatEdits::default();
        let scope = ExportScope::Selection;
        assert!(matches!(edited_capture(&splats, &[], Some(&none), scope, &Transform::IDENTITY, 0.0), Err(ExportError::EmptySelection)));
        let inverted = [CropVolume::aabb(Vec3::ONE, Vec3::ZERO, CropMode::KeepInside)];
        let error = edited_capture(&splats, &inverted, None, ExportScope::Edited, &Transform::IDENTITY, 0.0).unwrap_err();
        assert!(error.to_string().contains("inverted"), "{error}");
        let nowhere = [CropVolume::sphere(Vec3::splat(1e6), 1.0, CropMode::KeepInside)];
        assert!(matches!(edited_capture(&splats, &nowhere, None, ExportScope::Edited, &Transform::IDENTITY, 0.0), Err(ExportError::Empty)));
        let nan = Transform::from_xyz(f32::NAN, 0.0, 0.0);
        assert!(matches!(edited_capture(&splats, &[], None, ExportScope::Edited, &nan, 0.0), Err(ExportError::Transform(_))));
        let mut other = SplatEdits::default();
        other.select_all(5);
        assert!(matches!(edited_capture(&splats, &[], Some(&other), ExportScope::Edited, &Transform::IDENTITY, 0.0), Err(ExportError::Edit(_))));
    }
}
