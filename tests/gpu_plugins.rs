//! Each of the crate's plugins works alone: an app with only the splat plugin
//! renders splats, one with only the field plugin renders a field, and
//! neither pulls in the other's renderer (runs on Mesa lavapipe in CI).

mod common;

use bevy::prelude::*;
use bevy_radiance::camera::DEFAULT_NEAR;
use bevy_radiance::field::{MarchSettings, RadianceField, render_field_reference};
use bevy_radiance::headless::{HeadlessPlugins, HeadlessRenderer, HeadlessSettings};
use bevy_radiance::io::ingp::{RadianceFieldLoaderSettings, decode_radiance_field};
use bevy_radiance::render::field::pipeline::RadianceFieldPipelines;
use bevy_radiance::render::splat::pipeline::SplatPipelines;
use bevy_radiance::scene::RadianceField3d;
use bevy_radiance::splat::asset::GaussianSplats;
use bevy_radiance::splat::projection::SplatParams;
use bevy_radiance::splat::reference::ReferenceItem;
use bevy_radiance::testing::field::{TestSnapshotSpec, write_test_snapshot};
use common::*;

fn renderer_with(plugins: HeadlessPlugins) -> HeadlessRenderer {
    HeadlessRenderer::new(HeadlessSettings { plugins, ..Default::default() })
        .unwrap_or_else(|e| panic!("GPU test cannot run: {e}"))
}

#[test]
fn splat_plugin_alone_renders_splats() {
    let mut r = renderer_with(HeadlessPlugins::Splats);
    assert!(r.render_world().get_resource::<SplatPipelines>().is_some(), "no splat pipelines");
    assert!(
        r.render_world().get_resource::<RadianceFieldPipelines>().is_none(),
        "the splat plugin pulled in the field renderer"
    );
    assert!(!r.world_mut().contains_resource::<Assets<RadianceField>>(), "the splat plugin registered fields");

    let splats = synthetic_splats(700, 1, 11);
    r.spawn_splats(splats.clone(), Transform::IDENTITY);
    let camera = look_at_camera(160, 120, Vec3::new(0.4, 0.3, 3.2), Vec3::ZERO, 1.0);
    let gpu = r.render(&camera).unwrap();
    let items =
        [ReferenceItem { splats: &splats, world_from_local: Mat4::IDENTITY, params: SplatParams::default(), time: 0.0, crop: &[], edits: &[] }];
    let (p, m) = compare(&gpu, &reference(&camera, &items), "plugin_splats_alone");
    println!("splats alone: PSNR {p:.2} dB, max error {m}");
    assert_not_blank(&gpu, "splats alone");
    assert!(p >= 40.0, "splats alone: PSNR {p:.2} dB < 40 (max error {m})");
}

#[test]
fn field_plugin_alone_renders_a_field() {
    let mut r = renderer_with(HeadlessPlugins::Fields);
    assert!(r.render_world().get_resource::<RadianceFieldPipelines>().is_some(), "no field pipelines");
    assert!(
        r.render_world().get_resource::<SplatPipelines>().is_none(),
        "the field plugin pulled in the splat renderer"
    );
    assert!(!r.world_mut().contains_resource::<Assets<GaussianSplats>>(), "the field plugin registered splats");

    let field = decode_radiance_field(&write_test_snapshot(&TestSnapshotSpec::default()), &RadianceFieldLoaderSettings::default())
        .expect("synthetic snapshot");
    let handle = r.world_mut().resource_mut::<Assets<RadianceField>>().add(field.clone());
    r.world_mut().spawn(RadianceField3d(handle));
    let mut camera = look_at_camera(64, 48, Vec3::new(0.8, 0.6, 3.2), Vec3::ZERO, 0.9);
    camera.background = Vec3::ONE;
    let gpu = r.render(&camera).unwrap();
    let view = camera.intrinsics.camera_view(camera.world_from_camera, DEFAULT_NEAR);
    let cpu = render_field_reference(&field, &view, Mat4::IDENTITY, camera.background, &MarchSettings::default());
    let (p, m) = compare(&gpu, &cpu, "plugin_field_alone");
    println!("field alone: PSNR {p:.2} dB, max error {m}");
    assert!(gpu.data.chunks(4).filter(|px| px[3] > 16).count() > 100, "field alone: the field is not visible");
    assert!(p >= 40.0, "field alone: PSNR {p:.2} dB < 40 (max error {m})");
}
