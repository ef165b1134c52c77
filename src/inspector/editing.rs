//! The panel's editing sections for a splat entity: crop volumes, the
//! selection tools and edit commands, and export.

use bevy::prelude::*;
use bevy_egui::egui;

use super::export::{ExportError, ExportScope, export_capture};
use super::params::{InspectedAssets, InspectedEntities};
use super::{InspectorState, SelectionTool};
use crate::io::SplatWriteError;
use crate::scene::{SplatCrop, SplatEdits};
use crate::splat::asset::{AxisConvention, GaussianSplats};
use crate::splat::crop::{CropMode, CropShape, CropVolume, validate_crop};
use crate::splat::edit_flags::{EDIT_DELETED, EDIT_HIDDEN, EDIT_SELECTED};

/// Crop volumes: add, edit, remove; invalid edits are reported, not applied.
pub(super) fn crop_section(
    ui: &mut egui::Ui,
    entity: Entity,
    state: &mut InspectorState,
    entities: &mut InspectedEntities,
    assets: &InspectedAssets,
    commands: &mut Commands,
) {
    let current: Vec<CropVolume> = entities.crops.get(entity).map(|c| c.0.clone()).unwrap_or_default();
    let mut volumes = current.clone();
    // The capture's bounds (a pass over every splat) only when a volume is added.
    let bounds = || {
        entities
            .splats
            .get(entity)
            .ok()
            .and_then(|(_, _, s)| assets.splats.get(&s.0))
            .and_then(GaussianSplats::bounds)
            .unwrap_or((-Vec3::ONE, Vec3::ONE))
    };
    egui::CollapsingHeader::new("Crop volumes").default_open(true).show(ui, |ui| {
        let mut remove = None;
        for (i, volume) in volumes.iter_mut().enumerate() {
            ui.push_id(i, |ui| {
                ui.horizontal(|ui| {
                    egui::ComboBox::from_id_salt("mode")
                        .selected_text(match volume.mode {
                            CropMode::KeepInside => "keep inside",
                            CropMode::RemoveInside => "remove inside",
                        })
                        .show_ui(ui, |ui| {
                            ui.selectable_value(&mut volume.mode, CropMode::KeepInside, "keep inside");
                            ui.selectable_value(&mut volume.mode, CropMode::RemoveInside, "remove inside");
                        });
                    if ui.button("remove").clicked() {
                        remove = Some(i);
                    }
                });
                match &mut volume.shape {
                    CropShape::Cuboid { center, half_size, .. } => {
                        vec3_row(ui, "box centre", center);
                        vec3_row(ui, "half size", half_size);
                    }
                    CropShape::Sphere { center, radius } => {
                        vec3_row(ui, "sphere centre", center);
                        ui.add(egui::DragValue::new(radius).speed(0.01).prefix("radius "));
                    }
                }
            });
        }
        if let Some(i) = remove {
            volumes.remove(i);
        }
        ui.horizontal(|ui| {
            if ui.button("add box").clicked() {
                let (lo, hi) = bounds();
                volumes.push(CropVolume::aabb(lo, hi, CropMode::KeepInside));
            }
            if ui.button("add sphere").clicked() {
                let (lo, hi) = bounds();
                volumes.push(CropVolume::sphere((lo + hi) * 0.5, (hi - lo).length() * 0.25, CropMode::RemoveInside));
            }
            ui.checkbox(&mut state.show_crop_outlines, "outlines");
        });
    });
    if volumes != current {
        match validate_crop(&volumes) {
            Ok(()) => match entities.crops.get_mut(entity) {
                Ok(mut crop) => crop.0 = volumes,
                Err(_) => {
                    commands.entity(entity).insert(SplatCrop(volumes));
                }
            },
            Err(e) => state.report(format!("{e}; the crop keeps its last valid state"), true),
        }
    }
}

fn vec3_row(ui: &mut egui::Ui, text: &str, v: &mut Vec3) {
    ui.horizontal(|ui| {
        ui.label(text);
        ui.add(egui::DragValue::new(&mut v.x).speed(0.01));
        ui.add(egui::DragValue::new(&mut v.y).speed(0.01));
        ui.add(egui::DragValue::new(&mut v.z).speed(0.01));
    });
}

/// Selection tools and the edit commands.
pub(super) fn edit_section(
    ui: &mut egui::Ui,
    entity: Entity,
    state: &mut InspectorState,
    entities: &mut InspectedEntities,
    assets: &InspectedAssets,
    handle: &Handle<GaussianSplats>,
    commands: &mut Commands,
) {
    let count = assets.splats.get(handle).map_or(0, GaussianSplats::len);
    egui::CollapsingHeader::new("Edit").default_open(true).show(ui, |ui| {
        ui.horizontal(|ui| {
            ui.label("tool");
            ui.radio_value(&mut state.tool, SelectionTool::Off, "camera");
            ui.radio_value(&mut state.tool, SelectionTool::Rectangle, "rectangle");
            let brush = if let SelectionTool::Brush(r) = state.tool { r } else { 24.0 };
            ui.radio_value(&mut state.tool, SelectionTool::Brush(brush), "brush");
            if let SelectionTool::Brush(r) = &mut state.tool {
                ui.add(egui::DragValue::new(r).range(2.0..=400.0).suffix(" px"));
            }
        });
        let Ok(edits) = entities.edits.get(entity) else {
            if ui.button("start editing").clicked() || state.tool != SelectionTool::Off {
                commands.entity(entity).insert(SplatEdits::new(count));
            }
            return;
        };
        ui.label(format!(
            "{} selected, {} hidden, {} deleted of {count}",
            edits.count(EDIT_SELECTED),
            edits.count(EDIT_HIDDEN),
            edits.count(EDIT_DELETED)
        ));
        let mut show = edits.show_selection;
        let (can_undo, can_redo) = (edits.can_undo(), edits.can_redo());
        let mut action: Option<fn(&mut SplatEdits, usize) -> usize> = None;
        ui.horizontal(|ui| {
            if ui.button("all").clicked() {
                action = Some(|e, n| e.select_all(n));
            }
            if ui.button("invert").clicked() {
                action = Some(|e, n| e.invert_selection(n));
            }
            if ui.button("none").clicked() {
                action = Some(|e, _| e.clear_selection());
            }
            ui.checkbox(&mut show, "show selection");
        });
        ui.horizontal(|ui| {
            if ui.button("hide").clicked() {
                action = Some(|e, _| e.hide_selected());
            }
            if ui.button("unhide all").clicked() {
                action = Some(|e, _| e.unhide_all());
            }
            if ui.button("delete").clicked() {
                action = Some(|e, _| e.delete_selected());
            }
            if ui.add_enabled(can_undo, egui::Button::new("undo")).clicked() {
                action = Some(|e, _| e.undo() as usize);
            }
            if ui.add_enabled(can_redo, egui::Button::new("redo")).clicked() {
                action = Some(|e, _| e.redo() as usize);
            }
        });
        if let Ok(mut edits) = entities.edits.get_mut(entity) {
            if show != edits.show_selection {
                edits.show_selection = show;
            }
            if let Some(action) = action {
                action(&mut edits, count);
            }
        }
    });
}

pub(super) fn export_section(
    ui: &mut egui::Ui,
    entity: Entity,
    state: &mut InspectorState,
    entities: &InspectedEntities,
    assets: &InspectedAssets,
    handle: &Handle<GaussianSplats>,
) {
    let mut run: Option<(ExportScope, bool)> = None;
    egui::CollapsingHeader::new("Export").default_open(true).show(ui, |ui| {
        ui.horizontal(|ui| {
            ui.label("file");
            ui.text_edit_singleline(&mut state.export_path);
        });
        ui.label(".ply, .spz, .splat, .glb, .sog or meta.json (unbundled SOG); written in the 3DGS (OpenCV) frame with the entity's transform baked in");
        ui.horizontal(|ui| {
            if ui.button("export edited").clicked() {
                run = Some((ExportScope::Edited, false));
            }
            if ui.button("export selection").clicked() {
                run = Some((ExportScope::Selection, false));
            }
        });
        if let Some(path) = state.pending_overwrite.clone() {
            ui.colored_label(egui::Color32::YELLOW, format!("{} exists.", path.display()));
            ui.horizontal(|ui| {
                if ui.button("overwrite (edited)").clicked() {
                    run = Some((ExportScope::Edited, true));
                }
                if ui.button("overwrite (selection)").clicked() {
                    run = Some((ExportScope::Selection, true));
                }
                if ui.button("cancel").clicked() {
                    state.pending_overwrite = None;
                }
            });
        }
    });
    let Some((scope, overwrite)) = run else {
        return;
    };
    let Some(splats) = assets.splats.get(handle) else {
        state.report("the capture is still loading", true);
        return;
    };
    let path = std::path::PathBuf::from(state.export_path.trim());
    let crop = entities.crops.get(entity).map(|c| c.0.clone()).unwrap_or_default();
    let edits = entities.edits.get(entity).ok();
    let time = entities.playbacks.get(entity).map_or(0.0, |p| p.time);
    let transform = entities.transforms.get(entity).map_or(Transform::IDENTITY, |(_, g)| g.compute_transform());
    match export_capture(&path, splats, &crop, edits, scope, &transform, time, AxisConvention::Opencv, overwrite) {
        Ok((n, bytes)) => {
            state.pending_overwrite = None;
            state.report(format!("wrote {} ({n} splats, {bytes} bytes)", path.display()), false);
        }
        Err(ExportError::Write(SplatWriteError::Exists(existing))) => {
            state.report(format!("{} exists; confirm to overwrite it", existing.display()), true);
            state.pending_overwrite = Some(existing);
        }
        Err(e) => {
            state.pending_overwrite = None;
            state.report(format!("not exported: {e}"), true);
        }
    }
}
