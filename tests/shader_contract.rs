//! The shader contract, checked on the CPU without a GPU adapter: every WGSL
//! file and every pipeline variant composes with the same composer Bevy uses
//! (naga_oil, with the crate's shader defs) and validates with naga, and every
//! struct and constant the WGSL shares with Rust has the Rust side's layout
//! and value.

use std::collections::HashMap;

use bevy::render::render_resource::{ShaderType, TextureFormat};
use bevy::shader::ShaderDefVal;
use bevy_radiance::field::reference::{
    COLOR_SKIP_WEIGHT, MAX_CONE_STEPSIZE, MAX_DEPTH, MIN_CONE_STEPSIZE, RAY_START_EPSILON, SAMPLE_OFFSET_STEPS,
};
use bevy_radiance::render::composite::{CompositeKey, CompositePipeline, LayerRectUniform};
use bevy_radiance::render::field::codegen::{FieldArch, generate};
use bevy_radiance::render::field::gpu_types::{FieldUniform, FieldViewUniform};
use bevy_radiance::render::field::pipeline::RadianceFieldPipelines;
use bevy_radiance::render::shaders::{self, ShaderFile};
use bevy_radiance::render::sort::{RadixSortPipelines, SortParams, SortState};
use bevy_radiance::render::splat::gpu_types::{CropVolumeGpu, ProjectedSplatGpu, SplatChunkGpu, SplatDrawArgs, SplatEntityUniform, SplatViewUniform};
use bevy_radiance::render::splat::pipeline::SplatPipelines;
use bevy_radiance::splat::asset::SH_C0;
use bevy_radiance::splat::projection::{COVARIANCE_BLUR, FRUSTUM_CLAMP_MARGIN, MAX_ALPHA, MIN_ALPHA, SH_C1};
use naga::valid::{Capabilities, ValidationFlags, Validator};
use naga_oil::compose::{ComposableModuleDescriptor, Composer, NagaModuleDescriptor, ShaderDefValue};

fn naga_defs(defs: &[ShaderDefVal]) -> HashMap<String, ShaderDefValue> {
    defs.iter()
        .map(|def| match def {
            ShaderDefVal::Bool(name, v) => (name.clone(), ShaderDefValue::Bool(*v)),
            ShaderDefVal::Int(name, v) => (name.clone(), ShaderDefValue::Int(*v)),
            ShaderDefVal::UInt(name, v) => (name.clone(), ShaderDefValue::UInt(*v)),
        })
        .collect()
}

/// A composer holding every importable module of the crate, added as Bevy's
/// shader cache adds them (without defs of their own: the top-level shader's
/// defs apply).
fn composer() -> Composer {
    let mut composer = Composer::default().with_capabilities(Capabilities::all());
    for file in shaders::ALL.iter().filter(|f| f.source.contains("#define_import_path")) {
        let added = composer.add_composable_module(ComposableModuleDescriptor {
            source: file.source,
            file_path: file.path,
            ..Default::default()
        });
        if let Err(e) = added {
            panic!("{}: {}", file.path, e.emit_to_string(&composer));
        }
    }
    composer
}

/// Composes a top-level shader with `defs` and validates it.
fn compose(source: &str, path: &str, defs: &[ShaderDefVal]) -> naga::Module {
    let mut composer = composer();
    let made = composer.make_naga_module(NagaModuleDescriptor {
        source,
        file_path: path,
        shader_defs: naga_defs(defs),
        ..Default::default()
    });
    let module = match made {
        Ok(module) => module,
        Err(e) => panic!("{path} ({defs:?}): {}", e.emit_to_string(&composer)),
    };
    Validator::new(ValidationFlags::all(), Capabilities::all())
        .validate(&module)
        .unwrap_or_else(|e| panic!("{path} ({defs:?}) does not validate: {e:?}"));
    module
}

fn compose_file(file: &ShaderFile, defs: &[ShaderDefVal]) -> naga::Module {
    compose(file.source, file.path, defs)
}

/// A WGSL struct's size and `(member, offset)` pairs, found by name (naga_oil
/// decorates the names of imported items).
fn wgsl_struct(module: &naga::Module, name: &str) -> (u32, Vec<(String, u32)>) {
    let decorated = format!("{name}X_naga_oil_mod_X");
    module
        .types
        .iter()
        .find_map(|(_, ty)| {
            let type_name = ty.name.as_deref()?;
            if type_name != name && !type_name.starts_with(&decorated) {
                return None;
            }
            match &ty.inner {
                naga::TypeInner::Struct { members, span } => Some((
                    *span,
                    members.iter().map(|m| (m.name.clone().unwrap_or_default(), m.offset)).collect(),
                )),
                _ => None,
            }
        })
        .unwrap_or_else(|| panic!("struct {name} is not in the module"))
}

/// A Rust type's size, encase's minimum binding size and its fields' offsets.
macro_rules! rust_layout {
    ($ty:ty { $($field:ident),* $(,)? }) => {
        (
            size_of::<$ty>() as u32,
            <$ty as ShaderType>::min_size().get() as u32,
            vec![$((stringify!($field).to_string(), core::mem::offset_of!($ty, $field) as u32)),*],
        )
    };
}

fn assert_layout(module: &naga::Module, wgsl: &str, rust: (u32, u32, Vec<(String, u32)>)) {
    let (span, members) = wgsl_struct(module, wgsl);
    let (size, encase_size, fields) = rust;
    assert_eq!(members, fields, "{wgsl}: member names and offsets differ from the Rust type");
    assert_eq!(span, size, "{wgsl}: WGSL size {span} != Rust size {size}");
    assert_eq!(encase_size, size, "{wgsl}: encase's size differs from the Rust type's");
}

/// The value of a WGSL `f32` constant, if the composed module still has it.
fn wgsl_f32(module: &naga::Module, name: &str) -> Option<f32> {
    let decorated = format!("{name}X_naga_oil_mod_X");
    module.constants.iter().find_map(|(_, c)| {
        let n = c.name.as_deref()?;
        if n != name && !n.starts_with(&decorated) {
            return None;
        }
        match module.global_expressions[c.init] {
            naga::Expression::Literal(naga::Literal::F32(v)) => Some(v),
            _ => None,
        }
    })
}

fn assert_constants(module: &naga::Module, constants: &[(&str, f32)]) {
    for (name, value) in constants {
        let wgsl = wgsl_f32(module, name).unwrap_or_else(|| panic!("constant {name} is not in the module"));
        assert_eq!(wgsl.to_bits(), value.to_bits(), "{name}: WGSL {wgsl} != Rust {value}");
    }
}

/// Names of the functions called by the functions of `module` whose names pass `caller`.
fn called_functions(module: &naga::Module, caller: impl Fn(&str) -> bool) -> Vec<String> {
    fn walk(block: &naga::Block, out: &mut Vec<naga::Handle<naga::Function>>) {
        for statement in block.iter() {
            match statement {
                naga::Statement::Call { function, .. } => out.push(*function),
                naga::Statement::Block(b) => walk(b, out),
                naga::Statement::If { accept, reject, .. } => {
                    walk(accept, out);
                    walk(reject, out);
                }
                naga::Statement::Loop { body, continuing, .. } => {
                    walk(body, out);
                    walk(continuing, out);
                }
                naga::Statement::Switch { cases, .. } => cases.iter().for_each(|c| walk(&c.body, out)),
                _ => {}
            }
        }
    }
    let mut handles = Vec::new();
    for (_, function) in module.functions.iter() {
        if function.name.as_deref().is_some_and(&caller) {
            walk(&function.body, &mut handles);
        }
    }
    handles.into_iter().filter_map(|h| module.functions[h].name.clone()).collect()
}

/// Architectures around instant-ngp's defaults and the GPU limits.
const ARCHS: [FieldArch; 4] = [
    FieldArch { levels: 8, features: 4, density: (64, 1, 16), colour: (64, 2, 16) },
    FieldArch { levels: 16, features: 2, density: (64, 1, 16), colour: (64, 2, 16) },
    FieldArch { levels: 16, features: 1, density: (32, 3, 4), colour: (16, 1, 4) },
    FieldArch { levels: 4, features: 4, density: (64, 2, 1), colour: (64, 3, 3) },
];

#[test]
fn splat_shaders_compose_and_share_rust_layouts() {
    let defs = SplatPipelines::shader_defs();
    let preprocess = compose_file(&shaders::SPLAT_PREPROCESS, &defs);
    let raster = compose_file(&shaders::SPLAT_RASTER, &defs);
    assert_layout(&preprocess, "SplatView", rust_layout!(SplatViewUniform { view_from_world, clip_from_view, camera_position, viewport, intrinsics }));
    assert_layout(
        &preprocess,
        "SplatEntity",
        rust_layout!(SplatEntityUniform {
            world_from_local, camera_local, offset, count, sh_degree, sh_rest_bytes, opacity_scale, scale_factor, motion_kind, model_time, crop
        }),
    );
    for module in [&preprocess, &raster] {
        assert_layout(module, "ProjectedSplat", rust_layout!(ProjectedSplatGpu { mean_depth_sigmas, axes, color_opacity }));
    }
    assert_layout(
        &preprocess,
        "SplatChunk",
        rust_layout!(SplatChunkGpu { position_min, position_max, log_scale_min, log_scale_max, dc_min, dc_max }),
    );
    assert_layout(&preprocess, "CropVolume", rust_layout!(CropVolumeGpu { volume_from_local, shape_mode }));
    assert_layout(&preprocess, "DrawArgs", rust_layout!(SplatDrawArgs { vertex_count, instance_count, first_vertex, first_instance }));
    assert_constants(
        &preprocess,
        &[
            ("SH_C0", SH_C0),
            ("SH_C1", SH_C1),
            ("COVARIANCE_BLUR", COVARIANCE_BLUR),
            ("FRUSTUM_CLAMP_MARGIN", FRUSTUM_CLAMP_MARGIN),
            ("MIN_ALPHA", MIN_ALPHA),
        ],
    );
    assert_constants(&raster, &[("MAX_ALPHA", MAX_ALPHA), ("MIN_ALPHA", MIN_ALPHA)]);
    {
        use bevy_radiance::splat::edit_flags::{SELECTION_MIX, SELECTION_TINT};
        assert_constants(
            &preprocess,
            &[
                ("SELECTION_TINT_R", SELECTION_TINT.x),
                ("SELECTION_TINT_G", SELECTION_TINT.y),
                ("SELECTION_TINT_B", SELECTION_TINT.z),
                ("SELECTION_MIX", SELECTION_MIX),
            ],
        );
    }
}

#[test]
fn sort_and_composite_shaders_compose_and_share_rust_layouts() {
    let sort = compose_file(&shaders::RADIX_SORT, &RadixSortPipelines::shader_defs());
    assert_layout(&sort, "SortParams", rust_layout!(SortParams { n, shift, num_blocks, hist_len }));
    let setup = compose_file(&shaders::SORT_SETUP, &RadixSortPipelines::setup_shader_defs());
    assert_layout(
        &setup,
        "SortState",
        rust_layout!(SortState { n, blocks_x, blocks_y, blocks_z, chunks_x, chunks_y, chunks_z, capacity }),
    );
    for linear in [false, true] {
        for upsample in [false, true] {
            let key = CompositeKey { format: TextureFormat::Rgba8UnormSrgb, linear, upsample };
            let module = compose_file(&shaders::LAYER_COMPOSITE, &CompositePipeline::shader_defs(key));
            if upsample {
                assert_layout(&module, "LayerRect", rust_layout!(LayerRectUniform { viewport, layer }));
            }
        }
    }
}

#[test]
fn generated_field_shaders_compose_and_share_rust_layouts() {
    for arch in ARCHS {
        for multisampled in [false, true] {
            let defs = RadianceFieldPipelines::shader_defs(multisampled);
            let module = compose(&generate(&arch), "generated.wgsl", &defs);
            assert_layout(
                &module,
                "FieldView",
                rust_layout!(FieldViewUniform { world_from_view, view_from_clip, camera_position, viewport, intrinsics, layer_ratio }),
            );
            assert_layout(
                &module,
                "FieldUniform",
                rust_layout!(FieldUniform {
                    unit_from_world, levels, grid, widths, outputs, density_offsets, colour_offsets, march, flags,
                    render_min, render_max, render_to_local, aabb_min, aabb_inv_size
                }),
            );
            assert_constants(
                &module,
                &[
                    ("MIN_CONE_STEPSIZE", MIN_CONE_STEPSIZE),
                    ("MAX_CONE_STEPSIZE", MAX_CONE_STEPSIZE),
                    ("MAX_DEPTH", MAX_DEPTH),
                    ("RAY_START_EPSILON", RAY_START_EPSILON),
                    ("SAMPLE_OFFSET_STEPS", SAMPLE_OFFSET_STEPS),
                    ("COLOR_SKIP_WEIGHT", COLOR_SKIP_WEIGHT),
                ],
            );
            // The generated network replaces the module's virtual functions:
            // what the marcher calls as field_density runs the generated
            // encoding, and field_colour the SH encoding and colour network.
            let callees = |caller: &str| called_functions(&module, |name| name.starts_with(caller));
            let density: Vec<String> = callees("march_ray_unit").into_iter().filter(|f| f.starts_with("field_density")).collect();
            assert_eq!(density.len(), 1, "{arch:?}: {density:?}");
            assert!(callees(&density[0]).iter().any(|f| f == "encode_position"), "{arch:?}: field_density is not the generated network");
            let colour: Vec<String> = callees("march_ray_unit").into_iter().filter(|f| f.starts_with("field_colour")).collect();
            assert_eq!(colour.len(), 1, "{arch:?}: {colour:?}");
            assert!(callees(&colour[0]).iter().any(|f| f.starts_with("sh4")), "{arch:?}: field_colour is not the generated network");
        }
    }
}

#[test]
fn every_shader_file_is_embedded_and_used() {
    // Every WGSL file under shaders/ is listed (and so embedded and checked above).
    let mut on_disk = Vec::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "wgsl") {
                on_disk.push(path.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/"));
            }
        }
    }
    on_disk.sort();
    let mut listed: Vec<String> = shaders::ALL.iter().map(|f| f.path.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}
