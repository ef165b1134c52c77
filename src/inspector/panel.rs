//! The inspector panel: the capture entities with their figures, the GPU
//! passes' times, and the selected entity's transform, settings, playback,
//! crop volumes, edits and export. Values are copied out, edited, and
//! written back only when they changed and are valid (so an untouched panel
//! changes no component and triggers no re-sort or re-upload).

use bevy::prelude::*;
use bevy::render::render_asset::RenderAsset;
use bevy_egui::{EguiContexts, egui};

use super::editing::{crop_section, edit_section, export_section};
use super::params::{InspectedAssets, InspectedEntities};
use super::{InspectorState, SelectionTool};
use crate::render::field::gpu_asset::GpuRadianceField;
use crate::render::splat::gpu_asset::GpuGaussianSplats;
use crate::timeline::LoopMode;

fn label(entity: Entity, name: Option<&Name>, kind: &str) -> String {
    name.map_or_else(|| format!("{kind} {entity}"), |n| format!("{n} ({kind})"))
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// Draws the panel (`EguiPrimaryContextPass`).
pub fn inspector_panel(
    mut contexts: EguiContexts,
    mut state: ResMut<InspectorState>,
    mut entities: InspectedEntities,
    assets: InspectedAssets,
    mut commands: Commands,
) {
    if !state.open {
        return;
    }
    let Ok(ctx) = contexts.ctx_mut() else {
        return;
    };
    let ctx = ctx.clone();
    egui::Window::new("bevy_radiance inspector")
        .default_pos(egui::pos2(8.0, 8.0))
        .default_width(340.0)
        .default_height(640.0)
        .vscroll(true)
        .show(&ctx, |ui| {
            overview(ui, &mut state, &entities, &assets);
            if let Some(entity) = state.selected {
                ui.separator();
                details(ui, entity, &mut state, &mut entities, &assets, &mut commands);
            }
            if let Some((text, error)) = &state.message {
                ui.separator();
                let color = if *error { egui::Color32::from_rgb(255, 110, 90) } else { egui::Color32::LIGHT_GREEN };
                ui.colored_label(color, text);
            }
        });
    state.pointer_captured = ctx.egui_wants_pointer_input() || ctx.is_pointer_over_egui() || state.tool != SelectionTool::Off;
}

/// Memory, pass times and the entity list.
fn overview(ui: &mut egui::Ui, state: &mut InspectorState, entities: &InspectedEntities, assets: &InspectedAssets) {
    if let Some(memory) = &assets.memory {
        let total = memory.total();
        ui.label(format!("GPU: {} in {} buffers, {} textures", megabytes(total.bytes), total.buffers, total.textures));
    }
    if let Some(diagnostics) = &assets.diagnostics {
        let mut passes: Vec<(String, f64)> = diagnostics
            .iter()
            .filter(|d| d.path().as_str().contains("bevy_radiance:") && d.path().as_str().ends_with("elapsed_gpu"))
            .filter_map(|d| Some((d.path().as_str().trim_start_matches("render/").trim_end_matches("/elapsed_gpu").to_string(), d.smoothed()?)))
            .collect();
        passes.sort_by(|a, b| a.0.cmp(&b.0));
        if !passes.is_empty() {
            ui.collapsing("GPU passes", |ui| {
                for (name, ms) in passes {
                    ui.label(format!("{name}: {ms:.2} ms"));
                }
            });
        }
    }
    ui.heading("Captures");
    let mut rows: Vec<(Entity, String, String)> = Vec::new();
    for (entity, name, splats) in &entities.splats {
        let info = match assets.splats.get(&splats.0) {
            Some(a) => format!(
                "{} splats, SH {}, {}",
                a.len(),
                a.sh_degree,
                megabytes(GpuGaussianSplats::byte_len(a).unwrap_or(0) as u64)
            ),
            None => "loading".into(),
        };
        rows.push((entity, label(entity, name, "splats"), info));
    }
    for (entity, name, field) in &entities.fields {
        let info = match assets.fields.get(&field.0) {
            Some(f) => format!("{} grid levels, {}", f.grid.levels.len(), megabytes(GpuRadianceField::byte_len(f).unwrap_or(0) as u64)),
            None => "loading".into(),
        };
        rows.push((entity, label(entity, name, "field"), info));
    }
    for (entity, name, sequence) in &entities.sequences {
        let info = assets.sequences.get(&sequence.0).map_or("loading".into(), |s| format!("{} frames", s.frames.len()));
        rows.push((entity, label(entity, name, "sequence"), info));
    }
    if rows.is_empty() {
        ui.label("No capture entities. Drop a splat or .ingp file on the window to open one.");
    }
    for (entity, text, info) in rows {
        let selected = state.selected == Some(entity);
        if ui.selectable_label(selected, format!("{text}: {info}")).clicked() {
            state.selected = (!selected).then_some(entity);
            state.drag_start = None;
        }
    }
    if let Some(entity) = state.selected
        && entities.transforms.get(entity).is_err()
    {
        state.selected = None;
    }
}

/// Everything about one entity.
fn details(
    ui: &mut egui::Ui,
    entity: Entity,
    state: &mut InspectorState,
    entities: &mut InspectedEntities,
    assets: &InspectedAssets,
    commands: &mut Commands,
) {
    transform_row(ui, entity, state, entities);
    if let Ok(mut settings) = entities.splat_settings.get_mut(entity) {
        let mut s = *settings;
        ui.collapsing("Splat settings", |ui| {
            ui.add(egui::Slider::new(&mut s.max_sh_degree, 0..=3).text("max SH degree"));
            ui.add(egui::Slider::new(&mut s.opacity_scale, 0.0..=4.0).text("opacity scale"));
            ui.add(egui::Slider::new(&mut s.scale_factor, 0.05..=4.0).logarithmic(true).text("size scale"));
        });
        if s != *settings {
            *settings = s;
        }
    }
    if let Ok(mut settings) = entities.field_settings.get_mut(entity) {
        let mut s = settings.clone();
        ui.collapsing("Field settings", |ui| {
            ui.add(egui::Slider::new(&mut s.opacity, 0.0..=1.0).text("opacity"));
            ui.add(egui::Slider::new(&mut s.max_samples, 16..=4096).logarithmic(true).text("max samples per ray"));
            ui.add(egui::Slider::new(&mut s.min_transmittance, 1e-4..=0.2).logarithmic(true).text("stop below transmittance"));
            ui.checkbox(&mut s.additive, "additive");
        });
        if s != *settings {
            *settings = s;
        }
    }
    if entities.fields.contains(entity) {
        for (camera, mut field_camera) in &mut entities.cameras {
            let mut scale = field_camera.render_scale;
            ui.add(egui::Slider::new(&mut scale, 0.0625..=1.0).text(format!("field render scale, camera {camera}")));
            if scale != field_camera.render_scale {
                field_camera.render_scale = scale;
            }
        }
    }
    playback_row(ui, entity, entities);
    if let Ok((_, _, splats)) = entities.splats.get(entity) {
        let handle = splats.0.clone();
        crop_section(ui, entity, state, entities, assets, commands);
        edit_section(ui, entity, state, entities, assets, &handle, commands);
        export_section(ui, entity, state, entities, assets, &handle);
    }
}

fn transform_row(ui: &mut egui::Ui, entity: Entity, state: &mut InspectorState, entities: &mut InspectedEntities) {
    let Ok((mut transform, _)) = entities.transforms.get_mut(entity) else {
        return;
    };
    let mut t = *transform;
    let (mut yaw, mut pitch, mut roll) = t.rotation.to_euler(EulerRot::YXZ);
    let (y0, p0, r0) = (yaw, pitch, roll);
    let mut scale = t.scale.x;
    ui.collapsing("Transform", |ui| {
        ui.horizontal(|ui| {
            ui.label("position");
            ui.add(egui::DragValue::new(&mut t.translation.x).speed(0.01).prefix("x "));
            ui.add(egui::DragValue::new(&mut t.translation.y).speed(0.01).prefix("y "));
            ui.add(egui::DragValue::new(&mut t.translation.z).speed(0.01).prefix("z "));
        });
        ui.horizontal(|ui| {
            ui.label("rotation");
            ui.drag_angle(&mut yaw);
            ui.drag_angle(&mut pitch);
            ui.drag_angle(&mut roll);
        });
        ui.horizontal(|ui| {
            ui.label("scale");
            ui.add(egui::DragValue::new(&mut scale).speed(0.01));
        });
    });
    if (yaw, pitch, roll) != (y0, p0, r0) {
        t.rotation = Quat::from_euler(EulerRot::YXZ, yaw, pitch, roll);
    }
    if scale != transform.scale.x {
        t.scale = Vec3::splat(scale);
    }
    if t != *transform {
        if t.translation.is_finite() && t.rotation.is_finite() && t.scale.is_finite() && t.scale.cmpgt(Vec3::ZERO).all() {
            *transform = t;
        } else {
            state.report("the transform needs finite values and a positive scale; not applied", true);
        }
    }
}

fn playback_row(ui: &mut egui::Ui, entity: Entity, entities: &mut InspectedEntities) {
    let Ok(mut playback) = entities.playbacks.get_mut(entity) else {
        return;
    };
    let mut p = playback.clone();
    egui::CollapsingHeader::new("Playback").default_open(true).show(ui, |ui| {
        ui.horizontal(|ui| {
            if ui.button(if p.paused { "play" } else { "pause" }).clicked() {
                p.paused = !p.paused;
            }
            let end = p.duration.unwrap_or(p.time.max(1.0));
            ui.add(egui::Slider::new(&mut p.time, 0.0..=end).suffix(" s"));
        });
        ui.horizontal(|ui| {
            ui.add(egui::DragValue::new(&mut p.speed).speed(0.01).range(-8.0..=8.0).prefix("speed "));
            egui::ComboBox::from_id_salt(("loop", entity))
                .selected_text(format!("{:?}", p.mode))
                .show_ui(ui, |ui| {
                    for mode in [LoopMode::Once, LoopMode::Loop, LoopMode::PingPong] {
                        ui.selectable_value(&mut p.mode, mode, format!("{mode:?}"));
                    }
                });
        });
    });
    if p != *playback {
        *playback = p;
    }
}

