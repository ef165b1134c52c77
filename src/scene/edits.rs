//! Editing a capture on its entity: select splats by screen rectangle or
//! brush, hide or delete the selection, undo and redo. [`SplatEdits`] keeps
//! one flag byte per splat of the entity's asset ([`EDIT_SELECTED`],
//! [`EDIT_HIDDEN`], [`EDIT_DELETED`]); the renderer culls hidden and deleted
//! splats in its GPU preprocess (they are neither sorted nor drawn) and tints
//! selected ones ([`highlight`]), and the CPU reference does the same with
//! the same flags. [`SplatEdits::apply_deletions`] removes the deleted splats
//! from an asset for export. The inspector drives the same calls; game code
//! can use them without it.

use bevy::math::{Mat4, Rect, Vec2, Vec4Swizzles};
use bevy::prelude::Component;

use crate::camera::{CameraView, Intrinsics};
use crate::splat::asset::GaussianSplats;
use crate::splat::crop::{CropVolume, PreparedCrop};
use crate::splat::motion::SplatMotion;

pub use crate::splat::edit_flags::{EDIT_DELETED, EDIT_HIDDEN, EDIT_SELECTED, SELECTION_MIX, SELECTION_TINT, highlight};

/// How a selection combines with the current one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SelectionMode {
    /// The new selection replaces the old.
    #[default]
    Replace,
    /// Adds to the selection.
    Add,
    /// Removes from the selection.
    Subtract,
}

/// What a screen-space selection sees: the entity's asset, where it is, the
/// camera, the playback time and the entity's crop (cropped, hidden and
/// deleted splats are never selected).
#[derive(Clone, Copy, Debug)]
pub struct SelectionView<'a> {
    /// The entity's splats.
    pub splats: &'a GaussianSplats,
    /// The entity's world transform.
    pub world_from_local: Mat4,
    /// The camera (pixels from the viewport's top-left corner, +y down).
    pub camera: &'a CameraView,
    /// Playback time in seconds (dynamic captures).
    pub time: f32,
    /// The entity's crop volumes.
    pub crop: &'a [CropVolume],
}

impl SelectionView<'_> {
    /// Pixel position of splat `i`'s centre, `None` behind the camera or cropped.
    fn pixel(&self, crop: &PreparedCrop, k: &Intrinsics, i: usize, model_time: f32) -> Option<Vec2> {
        let local = match self.splats.motion {
            SplatMotion::Static => self.splats.positions[i],
            _ => self.splats.evaluate(i, model_time).position,
        };
        if !crop.keeps(local) {
            return None;
        }
        let view = self.camera.view_from_world * (self.world_from_local * local.extend(1.0));
        let depth = -view.z;
        if !(depth > 0.0) {
            return None;
        }
        let xy = view.xy();
        Some(Vec2::new(k.fx * xy.x / depth + k.cx, k.fy * -xy.y / depth + k.cy))
    }
}

/// Why edits cannot be applied to an asset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// The edits were made on an asset with another number of splats.
    #[error("the edits are for {edits} splats but the asset has {asset}")]
    CountMismatch {
        /// Splats the edits cover.
        edits: usize,
        /// Splats in the asset.
        asset: usize,
    },
    /// The export would hold no splat (everything deleted, or an empty selection kept).
    #[error("nothing left to export: every splat is deleted or cropped")]
    Empty,
}

/// One undoable step: the flags it changed and their values before.
#[derive(Clone, Debug, Default, PartialEq)]
struct EditStep {
    indices: Vec<u32>,
    before: Vec<u8>,
}

/// Per-splat edits of a [`GaussianSplat3d`](crate::scene::GaussianSplat3d)
/// entity. Sized to the asset on the first selection; an asset with another
/// splat count (a reload) leaves the entity drawn unedited with a warning.
#[derive(Component, Clone, Debug, PartialEq)]
pub struct SplatEdits {
    flags: Vec<u8>,
    undo: Vec<EditStep>,
    redo: Vec<EditStep>,
    /// The flags when the open stroke began ([`SplatEdits::begin_stroke`]).
    stroke: Option<Vec<u8>>,
    /// Draw the selection tinted (on by default).
    pub show_selection: bool,
    /// Most undo steps kept (oldest dropped first).
    pub max_history: usize,
}

impl Default for SplatEdits {
    fn default() -> Self {
        Self { flags: Vec::new(), undo: Vec::new(), redo: Vec::new(), stroke: None, show_selection: true, max_history: 64 }
    }
}

impl SplatEdits {
    /// Edits with no flag set for `count` splats.
    pub fn new(count: usize) -> Self {
        Self { flags: vec![0; count], ..Default::default() }
    }

    /// One flag byte per splat (asset order); empty before the first edit.
    pub fn flags(&self) -> &[u8] {
        &self.flags
    }

    /// The flags as the renderer uses them: without the selection bit when
    /// [`show_selection`](Self::show_selection) is off.
    pub fn drawn_flags(&self) -> std::borrow::Cow<'_, [u8]> {
        if self.show_selection {
            std::borrow::Cow::Borrowed(&self.flags)
        } else {
            std::borrow::Cow::Owned(self.flags.iter().map(|f| f & !EDIT_SELECTED).collect())
        }
    }

    /// Splats with every bit of `flag` set.
    pub fn count(&self, flag: u8) -> usize {
        self.flags.iter().filter(|f| **f & flag == flag).count()
    }

    /// Whether an undo step is available.
    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    /// Whether a redo step is available.
    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    /// Sets every splat's flags to `update(index, flags)`, recording one undo
    /// step for the splats that changed (none: no step), or adding them to
    /// the open stroke. Resets the flags first when they were made for
    /// another splat count.
    fn change(&mut self, count: usize, mut update: impl FnMut(usize, u8) -> u8) -> usize {
        if self.flags.len() != count {
            self.flags = vec![0; count];
            self.undo.clear();
            self.redo.clear();
            if self.stroke.is_some() {
                self.stroke = Some(self.flags.clone());
            }
        }
        let own_stroke = self.stroke.is_none();
        if own_stroke {
            self.begin_stroke();
        }
        let mut changed = 0;
        for (i, f) in self.flags.iter_mut().enumerate() {
            let new = update(i, *f);
            changed += (new != *f) as usize;
            *f = new;
        }
        if own_stroke {
            self.end_stroke();
        }
        changed
    }

    /// Opens a stroke: the edits until [`end_stroke`](Self::end_stroke)
    /// (a brush drag, say) become one undo step.
    pub fn begin_stroke(&mut self) {
        if self.stroke.is_none() {
            self.stroke = Some(self.flags.clone());
        }
    }

    /// Closes the open stroke, recording what it changed as one undo step.
    pub fn end_stroke(&mut self) {
        let Some(before) = self.stroke.take() else {
            return;
        };
        let mut step = EditStep::default();
        for (i, (old, new)) in before.iter().zip(&self.flags).enumerate() {
            if old != new {
                step.indices.push(i as u32);
                step.before.push(*old);
            }
        }
        if !step.indices.is_empty() {
            self.undo.push(step);
            if self.undo.len() > self.max_history.max(1) {
                self.undo.remove(0);
            }
            self.redo.clear();
        }
    }

    /// Selects the splats for which `pick(index)` is true (among those not
    /// hidden or deleted), combined by `mode`; returns how many flags changed.
    pub fn select_where(&mut self, count: usize, mode: SelectionMode, mut pick: impl FnMut(usize) -> bool) -> usize {
        self.change(count, |i, f| {
            if f & (EDIT_HIDDEN | EDIT_DELETED) != 0 {
                return f & !EDIT_SELECTED;
            }
            let picked = pick(i);
            let selected = match mode {
                SelectionMode::Replace => picked,
                SelectionMode::Add => f & EDIT_SELECTED != 0 || picked,
                SelectionMode::Subtract => f & EDIT_SELECTED != 0 && !picked,
            };
            if selected { f | EDIT_SELECTED } else { f & !EDIT_SELECTED }
        })
    }

    /// Selects the splats whose centres project inside `rect` (pixels).
    pub fn select_rect(&mut self, view: &SelectionView<'_>, rect: Rect, mode: SelectionMode) -> usize {
        let t = view.splats.model_time(view.time);
        let (crop, k) = (PreparedCrop::new(view.crop), view.camera.intrinsics());
        self.select_where(view.splats.len(), mode, |i| view.pixel(&crop, &k, i, t).is_some_and(|p| rect.contains(p)))
    }

    /// Selects the splats whose centres project within `radius` pixels of
    /// `center` (a brush stroke is a series of these with [`SelectionMode::Add`]).
    pub fn select_brush(&mut self, view: &SelectionView<'_>, center: Vec2, radius: f32, mode: SelectionMode) -> usize {
        let t = view.splats.model_time(view.time);
        let r2 = radius * radius;
        let (crop, k) = (PreparedCrop::new(view.crop), view.camera.intrinsics());
        self.select_where(view.splats.len(), mode, |i| view.pixel(&crop, &k, i, t).is_some_and(|p| p.distance_squared(center) <= r2))
    }

    /// Selects every visible splat.
    pub fn select_all(&mut self, count: usize) -> usize {
        self.select_where(count, SelectionMode::Replace, |_| true)
    }

    /// Inverts the selection among visible splats.
    pub fn invert_selection(&mut self, count: usize) -> usize {
        let flags = self.flags.clone();
        self.select_where(count, SelectionMode::Replace, |i| flags.get(i).is_none_or(|f| f & EDIT_SELECTED == 0))
    }

    /// Clears the selection.
    pub fn clear_selection(&mut self) -> usize {
        self.change(self.flags.len(), |_, f| f & !EDIT_SELECTED)
    }

    /// Hides the selected splats (and deselects them).
    pub fn hide_selected(&mut self) -> usize {
        self.change(self.flags.len(), |_, f| if f & EDIT_SELECTED != 0 { (f | EDIT_HIDDEN) & !EDIT_SELECTED } else { f })
    }

    /// Shows every hidden splat again (deleted ones stay deleted).
    pub fn unhide_all(&mut self) -> usize {
        self.change(self.flags.len(), |_, f| f & !EDIT_HIDDEN)
    }

    /// Deletes the selected splats (and deselects them).
    pub fn delete_selected(&mut self) -> usize {
        self.change(self.flags.len(), |_, f| if f & EDIT_SELECTED != 0 { (f | EDIT_DELETED) & !EDIT_SELECTED } else { f })
    }

    /// Moves the last step of `from` onto `to`, swapping its flags with the
    /// current ones (so the same step undoes and redoes).
    fn replay(flags: &mut [u8], from: &mut Vec<EditStep>, to: &mut Vec<EditStep>) -> bool {
        let Some(mut step) = from.pop() else {
            return false;
        };
        for (i, before) in step.indices.iter().zip(&mut step.before) {
            std::mem::swap(&mut flags[*i as usize], before);
        }
        to.push(step);
        true
    }

    /// Undoes the last step (closing an open stroke first); false when there is none.
    pub fn undo(&mut self) -> bool {
        self.end_stroke();
        Self::replay(&mut self.flags, &mut self.undo, &mut self.redo)
    }

    /// Redoes the last undone step; false when there is none.
    pub fn redo(&mut self) -> bool {
        self.end_stroke();
        Self::replay(&mut self.flags, &mut self.redo, &mut self.undo)
    }

    /// Removes the deleted splats from `splats` (the asset the edits were
    /// made on), for export; returns how many were removed. Hidden splats
    /// are kept (hiding is a view, deleting an edit).
    pub fn apply_deletions(&self, splats: &mut GaussianSplats) -> Result<usize, EditError> {
        if self.flags.is_empty() {
            return Ok(0);
        }
        if self.flags.len() != splats.len() {
            return Err(EditError::CountMismatch { edits: self.flags.len(), asset: splats.len() });
        }
        let before = splats.len();
        splats.retain(|i| self.flags[i] & EDIT_DELETED == 0);
        if splats.is_empty() {
            return Err(EditError::Empty);
        }
        Ok(before - splats.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bevy::math::{Quat, Vec3};

    fn row(n: usize) -> GaussianSplats {
        let mut s = GaussianSplats::with_capacity(n, 0);
        for i in 0..n {
            s.positions.push(Vec3::new(i as f32 - (n as f32 - 1.0) / 2.0, 0.0, 0.0));
            s.rotations.push(Quat::IDENTITY);
            s.scales.push(Vec3::splat(0.1));
            s.opacities.push(0.5);
            s.sh.push([0.0; 3]);
        }
        s
    }

    #[test]
    fn rectangle_and_brush_select_what_the_camera_sees_there() {
        let splats = row(9);
        let camera = crate::camera::CameraIntrinsics::from_horizontal_fov(200, 100, 1.2)
            .camera_view(Mat4::from_translation(Vec3::new(0.0, 0.0, 10.0)), crate::camera::DEFAULT_NEAR);
        let view = SelectionView { splats: &splats, world_from_local: Mat4::IDENTITY, camera: &camera, time: 0.0, crop: &[] };
        let mut edits = SplatEdits::default();
        // The right half of the image: splats x > 0.
        assert_eq!(edits.select_rect(&view, Rect::new(101.0, 0.0, 200.0, 100.0), SelectionMode::Replace), 4);
        assert_eq!(edits.flags(), &[0, 0, 0, 0, 0, 1, 1, 1, 1]);
        // A brush at the centre adds the middle splat.
        assert_eq!(edits.select_brush(&view, Vec2::new(100.0, 50.0), 3.0, SelectionMode::Add), 1);
        assert_eq!(edits.count(EDIT_SELECTED), 5);
        assert_eq!(edits.select_brush(&view, Vec2::new(100.0, 50.0), 3.0, SelectionMode::Subtract), 1);
        // Cropped splats are not selected.
        let crop = [CropVolume::aabb(Vec3::new(-0.5, -1.0, -1.0), Vec3::new(2.5, 1.0, 1.0), crate::splat::crop::CropMode::KeepInside)];
        let cropped = SelectionView { crop: &crop, ..view };
        edits.select_rect(&cropped, Rect::new(0.0, 0.0, 200.0, 100.0), SelectionMode::Replace);
        assert_eq!(edits.flags(), &[0, 0, 0, 0, 1, 1, 1, 0, 0]);
    }

    #[test]
    fn delete_hide_undo_redo_round_trip() {
        let splats = row(6);
        let mut edits = SplatEdits::default();
        edits.select_where(6, SelectionMode::Replace, |i| i % 2 == 0);
        let selected = edits.flags().to_vec();
        assert_eq!(edits.delete_selected(), 3);
        assert_eq!(edits.flags(), &[4, 0, 4, 0, 4, 0]);
        edits.select_all(6);
        assert_eq!(edits.flags(), &[4, 1, 4, 1, 4, 1], "deleted splats are never selected");
        edits.hide_selected();
        assert_eq!(edits.count(EDIT_HIDDEN), 3);
        let mut exported = splats.clone();
        assert_eq!(edits.apply_deletions(&mut exported), Ok(3), "hidden splats are exported");
        assert!(edits.undo() && edits.undo() && edits.undo());
        assert_eq!(edits.flags(), &selected[..]);
        assert!(edits.redo());
        assert_eq!(edits.flags(), &[4, 0, 4, 0, 4, 0]);
        assert!(edits.undo() && edits.undo());
        assert!(!edits.undo());
        assert_eq!(edits.count(0xff), 0);
        edits.select_all(6);
        edits.delete_selected();
        assert_eq!(edits.apply_deletions(&mut splats.clone()), Err(EditError::Empty));
        assert!(matches!(edits.apply_deletions(&mut row(5)), Err(EditError::CountMismatch { edits: 6, asset: 5 })));
    }

    #[test]
    fn a_stroke_is_one_undo_step() {
        let mut edits = SplatEdits::new(8);
        edits.begin_stroke();
        for i in 0..8 {
            edits.select_where(8, SelectionMode::Add, |j| j == i);
        }
        edits.end_stroke();
        assert_eq!(edits.count(EDIT_SELECTED), 8);
        assert!(edits.undo());
        assert_eq!(edits.count(EDIT_SELECTED), 0);
        assert!(!edits.undo());
        assert!(edits.redo());
        assert_eq!(edits.count(EDIT_SELECTED), 8);
    }

    #[test]
    fn history_is_bounded() {
        let mut edits = SplatEdits { max_history: 3, ..SplatEdits::new(4) };
        for i in 0..10 {
            edits.select_where(4, SelectionMode::Replace, |j| j == i % 4);
        }
        let mut undone = 0;
        while edits.undo() {
            undone += 1;
        }
        assert_eq!(undone, 3);
    }
}
