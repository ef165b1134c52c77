//! The per-splat edit flags an entity's [`SplatEdits`](crate::scene::SplatEdits)
//! holds (one byte per splat), and how the renderers draw them: hidden and
//! deleted splats are culled, selected ones tinted. The GPU preprocess and the
//! CPU reference apply the same rule.

use bevy::math::Vec3;

/// Flag bit: the splat is selected (drawn tinted while
/// [`SplatEdits::show_selection`](crate::scene::SplatEdits::show_selection) is on).
pub const EDIT_SELECTED: u8 = 1;
/// Flag bit: the splat is hidden (not drawn; [`SplatEdits::unhide_all`](crate::scene::SplatEdits::unhide_all) brings it back).
pub const EDIT_HIDDEN: u8 = 2;
/// Flag bit: the splat is deleted (not drawn, left out of exports; only undo brings it back).
pub const EDIT_DELETED: u8 = 4;

/// Colour selected splats are pulled towards.
pub const SELECTION_TINT: Vec3 = Vec3::new(1.0, 0.8, 0.1);
/// How far selected splats are pulled towards [`SELECTION_TINT`] (0..1).
pub const SELECTION_MIX: f32 = 0.5;

/// The colour a selected splat is drawn with (the GPU preprocess mirrors it).
pub fn highlight(color: Vec3) -> Vec3 {
    color + (SELECTION_TINT - color) * SELECTION_MIX
}
