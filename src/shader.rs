//! Embedded WGSL and the small composer that assembles it.
//!
//! The shaders live in the top-level `shaders/` folder and are embedded at build
//! time. Modules declare `#define_import_path bevy_radiance::NAME` and are pulled
//! in by `#import bevy_radiance::NAME`; `#ifdef DEF` / `#else` / `#endif` select
//! variants. Pipelines are created directly on the render device, so they are
//! ready on the first frame (headless renders need no warm-up frames).

/// Shared splat maths (`bevy_radiance::splat_common`).
pub const SPLAT_COMMON: &str = include_str!("../shaders/splat_common.wgsl");
/// Splat preprocess compute shader.
pub const SPLAT_PREPROCESS: &str = include_str!("../shaders/splat_preprocess.wgsl");
/// Splat raster shader.
pub const SPLAT_RASTER: &str = include_str!("../shaders/splat_raster.wgsl");
/// Splat composite shader.
pub const SPLAT_COMPOSITE: &str = include_str!("../shaders/splat_composite.wgsl");

/// Radiance-field evaluation (`bevy_radiance::nerf_field`).
pub const NERF_FIELD: &str = include_str!("../shaders/nerf_field.wgsl");
/// Radiance-field ray-march shader.
pub const NERF_MARCH: &str = include_str!("../shaders/nerf_march.wgsl");

/// The importable modules, by import path.
const MODULES: &[(&str, &str)] = &[
    ("bevy_radiance::splat_common", SPLAT_COMMON),
    ("bevy_radiance::nerf_field", NERF_FIELD),
];

/// Resolves `#import`s (each module once) and `#ifdef` blocks for `defs`.
pub fn compose(source: &str, defs: &[&str]) -> String {
    let mut out = String::new();
    let mut imported = Vec::new();
    append(source, defs, &mut imported, &mut out);
    out
}

fn append(source: &str, defs: &[&str], imported: &mut Vec<String>, out: &mut String) {
    // Stack of "is this branch active" flags.
    let mut active: Vec<bool> = Vec::new();
    for line in source.lines() {
        let trimmed = line.trim();
        let enabled = active.iter().all(|a| *a);
        if let Some(def) = trimmed.strip_prefix("#ifdef ") {
            active.push(defs.contains(&def.trim()));
        } else if let Some(def) = trimmed.strip_prefix("#ifndef ") {
            active.push(!defs.contains(&def.trim()));
        } else if trimmed == "#else" {
            if let Some(last) = active.last_mut() {
                *last = !*last;
            }
        } else if trimmed == "#endif" {
            active.pop();
        } else if trimmed.starts_with("#define_import_path") {
        } else if let Some(path) = trimmed.strip_prefix("#import ") {
            let path = path.trim().trim_end_matches(';');
            if enabled && !imported.iter().any(|p| p == path) {
                imported.push(path.to_string());
                if let Some((_, module)) = MODULES.iter().find(|(p, _)| *p == path) {
                    append(module, defs, imported, out);
                }
            }
        } else if enabled {
            out.push_str(line);
            out.push('\n');
        }
    }
}
