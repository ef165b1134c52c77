//! The inspector's work in the 3D view: rectangle and brush selection on the
//! selected capture (drawn as egui overlays), the crop volumes' outlines,
//! keyboard shortcuts for the edit commands, and files dropped on the window.

use bevy::camera::Camera;
use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy::window::{FileDragAndDrop, PrimaryWindow};
use bevy_egui::{EguiContexts, egui};

use super::{InspectorState, SelectionTool};
use crate::camera::CameraView;
use crate::field::RadianceField;
use crate::io::{SplatLoaderSettings, load_radiance_field_file, load_splat_file};
use crate::scene::{GaussianSplat3d, RadianceField3d, SelectionMode, SelectionView, SplatCrop, SplatEdits};
use crate::splat::asset::GaussianSplats;
use crate::splat::crop::{CropShape, CropVolume};
use crate::timeline::Playback;

/// The camera, window and input the tools read.
#[derive(SystemParam)]
pub struct ToolInput<'w, 's> {
    window: Query<'w, 's, &'static Window, With<PrimaryWindow>>,
    cameras: Query<'w, 's, (&'static Camera, &'static GlobalTransform), With<Camera3d>>,
    buttons: Res<'w, ButtonInput<MouseButton>>,
    keys: Res<'w, ButtonInput<KeyCode>>,
}

/// The first active 3D camera as a [`CameraView`] in logical pixels, with
/// its viewport's top-left corner.
fn camera_view(input: &ToolInput) -> Option<(CameraView, Vec2)> {
    let (camera, transform) = input.cameras.iter().filter(|(c, _)| c.is_active).max_by_key(|(c, _)| c.order)?;
    let rect = camera.logical_viewport_rect()?;
    let view = CameraView {
        view_from_world: transform.to_matrix().inverse(),
        clip_from_view: camera.clip_from_view(),
        size: rect.size(),
    };
    Some((view, rect.min))
}

/// Pixel position (viewport-relative, logical) of a world point, if in front.
fn project(view: &CameraView, world: Vec3) -> Option<Vec2> {
    let p = view.view_from_world.transform_point3(world);
    let depth = -p.z;
    if !(depth > 1e-4) {
        return None;
    }
    let k = view.intrinsics();
    Some(Vec2::new(k.fx * p.x / depth + k.cx, k.fy * -p.y / depth + k.cy))
}

/// Line segments (local frame) outlining a crop volume: a box's 12 edges,
/// or three great circles of a sphere.
fn outline(volume: &CropVolume) -> Vec<(Vec3, Vec3)> {
    match volume.shape {
        CropShape::Cuboid { center, half_size, rotation } => {
            let corner = |i: usize| {
                let sign = Vec3::new(
                    if i & 1 == 0 { -1.0 } else { 1.0 },
                    if i & 2 == 0 { -1.0 } else { 1.0 },
                    if i & 4 == 0 { -1.0 } else { 1.0 },
                );
                center + rotation.normalize() * (sign * half_size)
            };
            let mut edges = Vec::new();
            for i in 0..8 {
                for bit in [1, 2, 4] {
                    if i & bit == 0 {
                        edges.push((corner(i), corner(i | bit)));
                    }
                }
            }
            edges
        }
        CropShape::Sphere { center, radius } => {
            const N: usize = 48;
            let mut edges = Vec::new();
            for (a, b) in [(Vec3::X, Vec3::Y), (Vec3::Y, Vec3::Z), (Vec3::Z, Vec3::X)] {
                let at = |k: usize| {
                    let t = k as f32 / N as f32 * std::f32::consts::TAU;
                    center + (a * t.cos() + b * t.sin()) * radius
                };
                edges.extend((0..N).map(|k| (at(k), at(k + 1))));
            }
            edges
        }
    }
}

fn to_egui(p: Vec2) -> egui::Pos2 {
    egui::pos2(p.x, p.y)
}

/// Selection by rectangle or brush, outlines and shortcuts
/// (`EguiPrimaryContextPass`, after the panel).
#[expect(clippy::type_complexity, reason = "a Bevy system's queries")]
pub fn selection_tools(
    mut contexts: EguiContexts,
    mut state: ResMut<InspectorState>,
    input: ToolInput,
    splat_assets: Res<Assets<GaussianSplats>>,
    captures: Query<(&GaussianSplat3d, &GlobalTransform, Option<&SplatCrop>, Option<&Playback>)>,
    mut edits: Query<&mut SplatEdits>,
) {
    if !state.open {
        return;
    }
    let Ok(ctx) = contexts.ctx_mut() else {
        return;
    };
    let ctx = ctx.clone();
    let Some(entity) = state.selected else {
        return;
    };
    let Ok((capture, global, crop, playback)) = captures.get(entity) else {
        return;
    };
    let crop: &[CropVolume] = crop.map_or(&[], |c| &c.0);
    let Some((view, origin)) = camera_view(&input) else {
        return;
    };
    let world_from_local = global.to_matrix();
    let painter = ctx.layer_painter(egui::LayerId::new(egui::Order::Foreground, egui::Id::new("bevy_radiance_tools")));

    if state.show_crop_outlines {
        for volume in crop {
            let color = match volume.mode {
                crate::splat::crop::CropMode::KeepInside => egui::Color32::from_rgb(90, 200, 255),
                crate::splat::crop::CropMode::RemoveInside => egui::Color32::from_rgb(255, 120, 90),
            };
            for (a, b) in outline(volume) {
                let (Some(a), Some(b)) = (
                    project(&view, world_from_local.transform_point3(a)),
                    project(&view, world_from_local.transform_point3(b)),
                ) else {
                    continue;
                };
                painter.line_segment([to_egui(a + origin), to_egui(b + origin)], egui::Stroke::new(1.5, color));
            }
        }
    }

    let Ok(mut edits) = edits.get_mut(entity) else {
        return;
    };
    // Shortcuts, unless egui is typing.
    if !ctx.egui_wants_keyboard_input() {
        let ctrl = input.keys.any_pressed([KeyCode::ControlLeft, KeyCode::ControlRight]);
        let shift = input.keys.any_pressed([KeyCode::ShiftLeft, KeyCode::ShiftRight]);
        if input.keys.just_pressed(KeyCode::Delete) {
            edits.delete_selected();
        } else if input.keys.just_pressed(KeyCode::KeyH) && !ctrl {
            edits.hide_selected();
        } else if input.keys.just_pressed(KeyCode::KeyU) && !ctrl {
            edits.unhide_all();
        } else if ctrl && (input.keys.just_pressed(KeyCode::KeyY) || (shift && input.keys.just_pressed(KeyCode::KeyZ))) {
            edits.redo();
        } else if ctrl && input.keys.just_pressed(KeyCode::KeyZ) {
            edits.undo();
        }
    }

    let Some(splats) = splat_assets.get(&capture.0) else {
        return;
    };
    let cursor = input.window.single().ok().and_then(Window::cursor_position);
    let over_panel = ctx.is_pointer_over_egui() && state.drag_start.is_none();
    let mode = if input.keys.any_pressed([KeyCode::AltLeft, KeyCode::AltRight]) {
        SelectionMode::Subtract
    } else if input.keys.any_pressed([KeyCode::ShiftLeft, KeyCode::ShiftRight]) {
        SelectionMode::Add
    } else {
        SelectionMode::Replace
    };
    let target = SelectionView {
        splats,
        world_from_local,
        camera: &view,
        time: playback.map_or(0.0, |p| p.time),
        crop,
    };
    let stroke = egui::Stroke::new(1.5, egui::Color32::from_rgb(255, 210, 40));
    match state.tool {
        SelectionTool::Off => {}
        SelectionTool::Rectangle => {
            if input.buttons.just_pressed(MouseButton::Left) && !over_panel {
                state.drag_start = cursor;
            }
            if let (Some(start), Some(now)) = (state.drag_start, cursor) {
                let rect = Rect::from_corners(start, now);
                painter.rect_stroke(
                    egui::Rect::from_min_max(to_egui(rect.min), to_egui(rect.max)),
                    0.0,
                    stroke,
                    egui::StrokeKind::Middle,
                );
                if input.buttons.just_released(MouseButton::Left) {
                    let local = Rect::from_corners(rect.min - origin, rect.max - origin);
                    edits.select_rect(&target, local, mode);
                    state.drag_start = None;
                }
            } else if !input.buttons.pressed(MouseButton::Left) {
                state.drag_start = None;
            }
        }
        SelectionTool::Brush(radius) => {
            if let Some(now) = cursor {
                painter.circle_stroke(to_egui(now), radius, stroke);
                if input.buttons.just_pressed(MouseButton::Left) && !over_panel {
                    state.drag_start = Some(now);
                    edits.begin_stroke();
                }
                if state.drag_start.is_some() && input.buttons.pressed(MouseButton::Left) {
                    let mode = if mode == SelectionMode::Subtract { mode } else { SelectionMode::Add };
                    edits.select_brush(&target, now - origin, radius, mode);
                }
            }
            if state.drag_start.is_some() && !input.buttons.pressed(MouseButton::Left) {
                state.drag_start = None;
                edits.end_stroke();
            }
        }
    }
}

/// Opens files dropped on the window: splat files (any supported format, in
/// the 3DGS frame) and instant-ngp fields, each as a new entity that the
/// panel then shows. A file that fails to load is reported, nothing else changes.
pub fn open_dropped_files(
    mut drops: MessageReader<FileDragAndDrop>,
    mut state: ResMut<InspectorState>,
    mut splat_assets: ResMut<Assets<GaussianSplats>>,
    mut field_assets: ResMut<Assets<RadianceField>>,
    mut commands: Commands,
) {
    for drop in drops.read() {
        let FileDragAndDrop::DroppedFile { path_buf, .. } = drop else {
            continue;
        };
        let name = Name::new(path_buf.file_name().map_or_else(|| "dropped".into(), |n| n.to_string_lossy().into_owned()));
        let extension = path_buf.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        let entity = if extension == "ingp" || extension == "msgpack" {
            match load_radiance_field_file(path_buf) {
                Ok(field) => commands.spawn((RadianceField3d(field_assets.add(field)), name)).id(),
                Err(e) => {
                    state.report(format!("cannot open {}: {e}", path_buf.display()), true);
                    continue;
                }
            }
        } else {
            match load_splat_file(path_buf, &SplatLoaderSettings::default()) {
                Ok(splats) => commands.spawn((GaussianSplat3d(splat_assets.add(splats)), name)).id(),
                Err(e) => {
                    state.report(format!("cannot open {}: {e}", path_buf.display()), true);
                    continue;
                }
            }
        };
        state.selected = Some(entity);
        state.report(format!("opened {}", path_buf.display()), false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bevy::asset::AssetPlugin;

    /// A good splat file opens as a named, selected capture; a missing one
    /// is reported by name and spawns nothing.
    #[test]
    fn dropped_files_open_as_captures_and_bad_ones_are_reported() {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, AssetPlugin::default()))
            .init_asset::<GaussianSplats>()
            .init_asset::<RadianceField>()
            .add_message::<FileDragAndDrop>()
            .init_resource::<InspectorState>()
            .add_systems(Update, open_dropped_files);
        let window = app.world_mut().spawn_empty().id();
        let good = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/biker.compressed.ply");
        let missing = std::env::temp_dir().join("bevy_radiance_no_such_capture.ply");
        app.world_mut().write_message(FileDragAndDrop::DroppedFile { window, path_buf: good });
        app.update();
        let (entity, name) = {
            let world = app.world_mut();
            let mut captures = world.query::<(Entity, &Name, &GaussianSplat3d)>();
            let found: Vec<(Entity, String)> = captures.iter(world).map(|(e, n, _)| (e, n.to_string())).collect();
            assert_eq!(found.len(), 1, "{found:?}");
            found[0].clone()
        };
        assert_eq!(name, "biker.compressed.ply");
        let state = app.world().resource::<InspectorState>();
        assert_eq!(state.selected, Some(entity));
        assert!(matches!(&state.message, Some((text, false)) if text.contains("opened")));

        app.world_mut().write_message(FileDragAndDrop::DroppedFile { window, path_buf: missing });
        app.update();
        let state = app.world().resource::<InspectorState>();
        assert_eq!(state.selected, Some(entity), "a failed open keeps the selection");
        let Some((text, true)) = &state.message else {
            panic!("no error reported: {:?}", state.message);
        };
        assert!(text.contains("bevy_radiance_no_such_capture.ply"), "{text}");
        let world = app.world_mut();
        assert_eq!(world.query::<&GaussianSplat3d>().iter(world).count(), 1);
    }
}
