//! Ray-marcher tests: the step schedule, empty-space skipping, termination and
//! frames, on synthetic fields.

use bevy::math::{Mat4, Vec3};

use super::*;
use crate::camera::CameraIntrinsics;
use crate::testing::field::{TestGrid, TestSnapshotSpec, test_field};

fn all_occupied(field: &RadianceField) -> RadianceField {
    let mut f = field.clone();
    for bits in &mut f.occupancy.bitfields {
        bits.fill(u32::MAX);
    }
    f
}

fn camera_view(size: u32, eye: Vec3) -> CameraView {
    let world_from_camera = Mat4::look_at_rh(eye, Vec3::ZERO, Vec3::Y).inverse();
    CameraIntrinsics::from_horizontal_fov(size, size, 0.7).camera_view(world_from_camera, 0.01)
}

#[test]
fn step_constants_and_schedule() {
    assert_eq!(MAX_CONE_STEPSIZE, SQRT3);
    assert!((MIN_CONE_STEPSIZE - 3f32.sqrt() / 1024.0).abs() < 1e-9);
    // Fixed steps without a cone.
    for t in [0.0f32, 0.3, 1.0, 1.7] {
        assert!((calc_dt(t, 0.0) - MIN_CONE_STEPSIZE).abs() < 1e-6);
        assert!((advance_n_steps(t, 0.0, 0.5) - (t + 0.5 * MIN_CONE_STEPSIZE)).abs() < 1e-6);
    }
    // Exponential stepping: dt ≈ clamp(t · c, MIN, MAX).
    let c = 1.0 / 256.0;
    for t in [0.01f32, 0.2, 1.0, 3.0, 100.0, 500.0, 2000.0] {
        let expected = (t * c).clamp(MIN_CONE_STEPSIZE, MAX_CONE_STEPSIZE);
        let dt = calc_dt(t, c);
        assert!((dt - expected).abs() <= 0.02 * expected, "t {t}: {dt} vs {expected}");
        let back = from_stepping_space(to_stepping_space(t, c), c);
        assert!((back - t).abs() <= 1e-4 * t.max(1.0), "t {t}: {back}");
    }
}

#[test]
fn voxel_and_box_distances() {
    // 0.3 of a cell into cell 64 of cascade 0, moving +x: 0.7 cells to go.
    let pos = Vec3::new(0.5 + 0.3 / 128.0, 0.5 + 0.1 / 128.0, 0.5);
    let d = distance_to_next_voxel(pos, Vec3::X, 128.0);
    assert!((d - 0.7 / 128.0).abs() < 1e-6, "{d}");
    let d = distance_to_next_voxel(pos, -Vec3::X, 128.0);
    assert!((d - 0.3 / 128.0).abs() < 1e-6, "{d}");
    // Diagonal: the y boundary comes first (0.9 cells at speed 1/√2… vs 0.7 along x).
    let dir = Vec3::new(1.0, 1.0, 0.0).normalize();
    let d = distance_to_next_voxel(pos, dir, 128.0);
    assert!((d - 0.7 / 128.0 * 2f32.sqrt()).abs() < 1e-6, "{d}");
    // advance_to_next_voxel moves whole steps, at least one.
    let t = advance_to_next_voxel(1.0, 0.0, pos, Vec3::X, 0);
    let steps = (t - 1.0) / MIN_CONE_STEPSIZE;
    assert!((steps - steps.round()).abs() < 1e-2 && steps.round() >= 1.0, "{steps}");
    let unit = FieldBox::centered_cube(0.5);
    let (a, b) = ray_box_intersect(&unit, Vec3::new(-1.0, 0.5, 0.5), Vec3::X).unwrap();
    assert!((a - 1.0).abs() < 1e-6 && (b - 2.0).abs() < 1e-6);
    assert!(ray_box_intersect(&unit, Vec3::new(-1.0, 2.0, 0.5), Vec3::X).is_none());
    let (a, _) = ray_box_intersect(&unit, Vec3::splat(0.5), Vec3::Y).unwrap();
    assert!(a < 0.0);
}

#[test]
fn frames() {
    let field = test_field(&TestSnapshotSpec::default());
    let p = Vec3::new(1.0, 2.0, 3.0);
    let u = field.world_to_unit(p);
    assert!((u - Vec3::new(0.33 * 2.0 + 0.5, 0.33 * 3.0 + 0.5, 0.33 * 1.0 + 0.5)).length() < 1e-6);
    assert!((field.unit_to_world(u) - p).length() < 1e-5);
    assert!((field.world_dir_to_unit(Vec3::new(0.0, 0.0, 2.0)) - Vec3::Y).length() < 1e-6);
    // The dataset's up (0, 1, 0) in unit-cube axes is NeRF-world +Z (Blender's up).
    assert_eq!(field.up_world(), Vec3::Z);
    let (lo, hi) = field.world_bounds();
    assert!((lo + Vec3::splat(1.5151515)).length() < 1e-4 && (hi - Vec3::splat(1.5151515)).length() < 1e-4);
    assert_eq!(field.cone_angle, 0.0);
    assert_eq!(field.max_cascade(), 0);
}

#[test]
fn planted_blob_density() {
    let field = test_field(&TestSnapshotSpec::default());
    let (inside, _) = field.density_and_color(Vec3::splat(0.5), Vec3::Z);
    let (outside, rgb) = field.density_and_color(Vec3::new(0.1, 0.1, 0.9), Vec3::Z);
    assert!((inside - 4f32.exp()).abs() < 0.5, "{inside}");
    assert!(outside < 1e-3, "{outside}");
    assert!(rgb.min_element() > 0.0 && rgb.max_element() < 1.0);
    assert!(field.is_occupied(Vec3::splat(0.5), 0));
    assert!(!field.is_occupied(Vec3::new(0.05, 0.05, 0.05), 0));
    // The colour depends on the direction.
    let (_, a) = field.density_and_color(Vec3::splat(0.5), Vec3::X);
    let (_, b) = field.density_and_color(Vec3::splat(0.5), -Vec3::Y);
    assert!((a - b).length() > 1e-3);
}

#[test]
fn ray_through_blob_terminates_and_normalises() {
    let field = test_field(&TestSnapshotSpec::default());
    let settings = MarchSettings::default();
    let r = march_ray(&field, Vec3::new(0.0, 0.0, 4.0), -Vec3::Z, f32::INFINITY, &settings);
    assert!(r.terminated, "{r:?}");
    assert_eq!(r.alpha, 1.0);
    assert!(r.raw_alpha > 0.99 && r.raw_alpha <= 1.0);
    assert!((r.rgb - r.raw_rgb / r.raw_alpha).length() < 1e-6);
    assert!(r.samples > 10 && r.samples < 400, "{}", r.samples);
    // A ray that misses the blob stays transparent.
    let miss = march_ray(&field, Vec3::new(1.2, 1.2, 4.0), -Vec3::Z, f32::INFINITY, &settings);
    assert!(miss.alpha < 0.01 && !miss.terminated, "{miss:?}");
    // An opaque depth before the blob hides it; `t` counts multiples of the direction.
    let blocked = march_ray(&field, Vec3::new(0.0, 0.0, 4.0), -Vec3::Z * 2.0, 1.3, &settings);
    assert_eq!(blocked.samples, 0);
    let half_way = march_ray(&field, Vec3::new(0.0, 0.0, 4.0), -Vec3::Z, 4.0, &settings);
    assert!(half_way.alpha > 0.5 && half_way.samples < r.samples + 1);
    // The sample budget stops the ray without normalising.
    let short = march_ray(&field, Vec3::new(0.0, 0.0, 4.0), -Vec3::Z, f32::INFINITY, &MarchSettings { max_samples: 3, ..settings });
    assert_eq!(short.samples, 3);
    assert!(!short.terminated && short.rgb == short.raw_rgb);
}

fn compare_skipping(spec: TestSnapshotSpec, eye: Vec3) {
    let field = test_field(&spec);
    let dense = all_occupied(&field);
    let view = camera_view(24, eye);
    let settings = MarchSettings::default();
    let a = render_field_reference(&field, &view, Mat4::IDENTITY, Vec3::ONE, &settings);
    let b = render_field_reference(&dense, &view, Mat4::IDENTITY, Vec3::ONE, &settings);
    let mut covered = 0;
    for (p, q) in a.pixels.iter().zip(&b.pixels) {
        assert!((*p - *q).abs().max_element() < 2e-3, "{p} vs {q}");
        if p.w > 0.5 {
            covered += 1;
        }
    }
    assert!(covered > 20 && covered < 24 * 24 - 20, "{covered} covered pixels");
}

#[test]
fn skipping_keeps_the_sample_lattice() {
    compare_skipping(TestSnapshotSpec::default(), Vec3::new(0.5, 1.0, 3.5));
}

#[test]
fn cascades_and_cone_stepping() {
    let spec = TestSnapshotSpec {
        aabb_scale: 4,
        blob_radius: 0.6,
        grid: TestGrid::Levels16x2,
        ..TestSnapshotSpec::default()
    };
    let field = test_field(&spec);
    assert_eq!(field.occupancy.cascades(), 3);
    assert_eq!(field.cone_angle, 1.0 / 256.0);
    assert_eq!(field.aabb, FieldBox::centered_cube(2.0));
    assert_eq!(field.cascade_for(Vec3::new(2.2, 0.5, 0.5)), 2);
    // The camera starts outside the scene box.
    compare_skipping(spec, Vec3::new(1.5, 0.5, 6.5));
}

#[test]
fn entity_transform_moves_the_field() {
    let field = test_field(&TestSnapshotSpec::default());
    let settings = MarchSettings::default();
    let eye = Vec3::new(0.3, 0.8, 3.0);
    let a = render_field_reference(&field, &camera_view(16, eye), Mat4::IDENTITY, Vec3::ZERO, &settings);
    let shift = Mat4::from_translation(Vec3::new(5.0, -2.0, 1.0));
    let moved_view = camera_view(16, Vec3::ZERO);
    let mut view = moved_view;
    view.view_from_world = camera_view(16, eye).view_from_world * shift.inverse();
    let b = render_field_reference(&field, &view, shift, Vec3::ZERO, &settings);
    for (p, q) in a.pixels.iter().zip(&b.pixels) {
        assert!((*p - *q).abs().max_element() < 1e-3, "{p} vs {q}");
    }
}
