//! The in-game inspector and editor (Cargo feature `inspector`, bevy_egui):
//! a panel listing every capture entity with its figures and settings, a
//! playback row for dynamic ones, crop volumes, selection tools, hide /
//! delete / undo, and export of the edited capture. Everything it edits is a
//! component game code can use without it ([`SplatSettings`], [`SplatCrop`],
//! [`SplatEdits`], [`Playback`], `Transform`, …).
//!
//! | schedule | system | what |
//! |---|---|---|
//! | `Update` | [`toggle_inspector`] | the toggle key opens and closes the panel |
//! | `Update` | [`tools::open_dropped_files`] | files dropped on the window are opened as captures |
//! | `EguiPrimaryContextPass` | [`panel::inspector_panel`] | the panel |
//! | `EguiPrimaryContextPass` | [`tools::selection_tools`] | rectangle and brush selection, crop outlines, shortcuts (after the panel) |
//!
//! Keys (while the pointer is not over the panel): the toggle key (default
//! `F1`) shows or hides the panel; with a selection tool chosen, left-drag
//! selects (Shift adds, Alt subtracts); `Delete` deletes the selection, `H`
//! hides it, `U` shows hidden splats again, `Ctrl+Z` / `Ctrl+Y` undo and redo.

mod editing;
pub mod export;
pub mod panel;
pub mod params;
pub mod tools;

use bevy::prelude::*;
use bevy_egui::{EguiPlugin, EguiPrimaryContextPass};

#[cfg(doc)]
use crate::{scene::{SplatCrop, SplatEdits, SplatSettings}, timeline::Playback};

/// Adds the inspector (and bevy_egui's plugin, if the app has none).
pub struct RadianceInspectorPlugin {
    /// Key that shows and hides the panel.
    pub toggle_key: KeyCode,
    /// Whether the panel starts open.
    pub open: bool,
}

impl Default for RadianceInspectorPlugin {
    fn default() -> Self {
        Self { toggle_key: KeyCode::F1, open: true }
    }
}

/// What the selection tools do with the pointer in the 3D view.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum SelectionTool {
    /// None: the pointer belongs to the game (camera controls).
    #[default]
    Off,
    /// Drag a screen rectangle.
    Rectangle,
    /// Paint with a circular brush of this radius in logical pixels.
    Brush(f32),
}

/// The inspector's state (a resource): open or not, the entity shown, the
/// active tool and the export dialog.
#[derive(Resource, Debug)]
pub struct InspectorState {
    /// Whether the panel is shown.
    pub open: bool,
    /// Key that shows and hides the panel.
    pub toggle_key: KeyCode,
    /// The entity whose details are shown.
    pub selected: Option<Entity>,
    /// The selection tool.
    pub tool: SelectionTool,
    /// Draw the selected entity's crop volumes over the view.
    pub show_crop_outlines: bool,
    /// Path typed in the export row.
    pub export_path: String,
    /// An export waiting for the user to confirm overwriting this file.
    pub pending_overwrite: Option<std::path::PathBuf>,
    /// The last message (text, is an error).
    pub message: Option<(String, bool)>,
    /// True while the panel or a selection tool uses the pointer: camera
    /// controls should ignore it (the `viewer` example checks this).
    pub pointer_captured: bool,
    /// Start of the rectangle being dragged (logical pixels).
    pub(crate) drag_start: Option<Vec2>,
}

impl Default for InspectorState {
    fn default() -> Self {
        Self {
            open: true,
            toggle_key: KeyCode::F1,
            selected: None,
            tool: SelectionTool::Off,
            show_crop_outlines: true,
            export_path: "edited.ply".into(),
            pending_overwrite: None,
            message: None,
            pointer_captured: false,
            drag_start: None,
        }
    }
}

impl InspectorState {
    /// Shows a message in the panel (and logs it).
    pub fn report(&mut self, text: impl Into<String>, error: bool) {
        let text = text.into();
        if error {
            warn!("bevy_radiance inspector: {text}");
        } else {
            info!("bevy_radiance inspector: {text}");
        }
        self.message = Some((text, error));
    }
}

impl Plugin for RadianceInspectorPlugin {
    fn build(&self, app: &mut App) {
        if !app.is_plugin_added::<EguiPlugin>() {
            app.add_plugins(EguiPlugin::default());
        }
        if !app.is_plugin_added::<bevy::render::diagnostic::RenderDiagnosticsPlugin>() {
            app.add_plugins(bevy::render::diagnostic::RenderDiagnosticsPlugin);
        }
        app.insert_resource(InspectorState { open: self.open, toggle_key: self.toggle_key, ..default() })
        .add_systems(Update, (toggle_inspector, tools::open_dropped_files))
        .add_systems(EguiPrimaryContextPass, (panel::inspector_panel, tools::selection_tools).chain());
    }
}

/// Shows or hides the panel on the toggle key.
pub fn toggle_inspector(keys: Res<ButtonInput<KeyCode>>, mut state: ResMut<InspectorState>) {
    if keys.just_pressed(state.toggle_key) {
        state.open = !state.open;
        if !state.open {
            state.tool = SelectionTool::Off;
            state.pointer_captured = false;
        }
    }
}
