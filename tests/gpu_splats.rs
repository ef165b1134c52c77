//! The GPU splat renderer against the CPU reference on synthetic scenes
//! (runs on Mesa lavapipe in CI).

mod common;

use bevy::prelude::*;
use bevy_radiance::splat::projection::SplatParams;
use bevy_radiance::splat::reference::ReferenceItem;
use common::*;

#[test]
fn synthetic_sh_degrees_match_reference() {
    let mut r = renderer();
    for degree in 0..=3u8 {
        let splats = synthetic_splats(700, degree, degree as u64 + 1);
        let entity = r.spawn_splats(splats.clone(), Transform::IDENTITY);
        let camera = look_at_camera(160, 120, Vec3::new(0.4, 0.3, 3.2), Vec3::ZERO, 1.0);
        let gpu = r.render(&camera).unwrap();
        let items = [ReferenceItem { splats: &splats, world_from_local: Mat4::IDENTITY, params: SplatParams::default(), time: 0.0, crop: &[], edits: &[] }];
        let cpu = reference(&camera, &items);
        let (p, m) = compare(&gpu, &cpu, &format!("synthetic_deg{degree}"));
        assert_not_blank(&gpu, "synthetic");
        println!("degree {degree}: PSNR {p:.2} dB, max error {m}");
        assert!(p >= 45.0, "degree {degree}: PSNR {p:.2} dB < 45 (max error {m})");
        r.world_mut().despawn(entity);
    }
}

/// Three crop volumes (a turned box and a ball that keep, a ball that
/// removes) on a moved entity: the GPU culls what the CPU reference culls,
/// the cropped file exported through the PLY writer renders the same, and an
/// invalid crop leaves the entity drawn whole.
#[test]
fn crop_volumes_match_reference_and_the_exported_file() {
    use bevy_radiance::io::gaussian_ply::write_gaussian_ply;
    use bevy_radiance::io::ply::PlyFormat;
    use bevy_radiance::io::{SplatLoaderSettings, load_splat_file};
    use bevy_radiance::prelude::{CropMode, CropVolume, SplatCrop};
    use bevy_radiance::splat::asset::AxisConvention;

    let volumes = vec![
        CropVolume::cuboid(Vec3::new(0.1, 0.0, 0.0), Vec3::new(0.7, 0.45, 0.9), Quat::from_rotation_y(0.6), CropMode::KeepInside),
        CropVolume::sphere(Vec3::new(-0.7, 0.6, 0.2), 0.35, CropMode::KeepInside),
        CropVolume::sphere(Vec3::new(0.2, 0.1, 0.3), 0.3, CropMode::RemoveInside),
    ];
    // The GPU tests the crop on the centre as it stores it, quantised within
    // its chunk (steps of ~1 mm in this sparse scene): splats within 4 mm of
    // a crop surface could fall on either side and are left out.
    let mut splats = synthetic_splats(3000, 1, 11);
    let near_surface = |p: Vec3| {
        let keeps = bevy_radiance::splat::crop::crop_keeps(&volumes, p);
        (-1..=1).flat_map(|x| (-1..=1).flat_map(move |y| (-1..=1).map(move |z| Vec3::new(x as f32, y as f32, z as f32))))
            .any(|d| bevy_radiance::splat::crop::crop_keeps(&volumes, p + d * 0.004) != keeps)
    };
    let positions = splats.positions.clone();
    splats.retain(|i| !near_surface(positions[i]));
    let n = splats.len();
    assert!(n > 2900, "{n} splats left");
    let transform = Transform::from_xyz(0.1, -0.2, 0.0).with_rotation(Quat::from_rotation_x(0.3));
    let camera = look_at_camera(160, 120, Vec3::new(0.5, 0.4, 3.4), Vec3::ZERO, 1.0);
    let item = |splats, crop| ReferenceItem { splats, world_from_local: transform.to_matrix(), params: SplatParams::default(), time: 0.0, crop, edits: &[] };

    let mut r = renderer();
    let entity = r.spawn_splats(splats.clone(), transform);
    let whole = r.render(&camera).unwrap();
    r.world_mut().entity_mut(entity).insert(SplatCrop::new(volumes.clone()));
    let cropped = r.render(&camera).unwrap();
    assert_not_blank(&cropped, "cropped");
    let (p, m) = compare(&cropped, &reference(&camera, &[item(&splats, &volumes)]), "crop");
    println!("crop vs reference: PSNR {p:.2} dB, max error {m}");
    assert!(p >= 45.0, "crop vs reference: PSNR {p:.2} dB < 45 (max error {m})");
    let changed = psnr(&cropped.data, &whole.data);
    assert!(changed < 25.0, "the crop changed too little ({changed:.1} dB from the uncropped image)");

    // The same crop applied to the asset and written out renders the same.
    let mut kept = splats.clone();
    let removed = kept.crop(&volumes, 0.0).unwrap();
    assert!((500..2500).contains(&removed), "{removed} of {n} splats removed");
    let dir = std::env::temp_dir().join(format!("bevy_radiance_crop_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cropped.ply");
    std::fs::write(&path, write_gaussian_ply(&kept, PlyFormat::BinaryLittleEndian)).unwrap();
    let settings = SplatLoaderSettings { axes: AxisConvention::AsIs, ..Default::default() };
    let exported = load_splat_file(&path, &settings).unwrap();
    assert_eq!(exported.len(), n - removed);
    let _ = std::fs::remove_dir_all(&dir);
    r.world_mut().entity_mut(entity).insert(Visibility::Hidden);
    let file_entity = r.spawn_splats(exported, transform);
    let from_file = r.render(&camera).unwrap();
    let p = psnr(&from_file.data, &cropped.data);
    println!("crop vs the exported file: PSNR {p:.2} dB");
    assert!(p >= 45.0, "crop vs the exported file: PSNR {p:.2} dB < 45");
    r.world_mut().despawn(file_entity);

    // An inverted box: the entity is drawn whole (and a warning names it).
    r.world_mut().entity_mut(entity).insert((
        Visibility::Inherited,
        SplatCrop::new([CropVolume::aabb(Vec3::ONE, -Vec3::ONE, CropMode::KeepInside)]),
    ));
    let invalid = r.render(&camera).unwrap();
    assert!(invalid.data == whole.data, "an invalid crop changed the image");
    // Removing the crop draws the whole capture again.
    r.world_mut().entity_mut(entity).insert(SplatCrop::new(volumes.clone()));
    assert!(r.render(&camera).unwrap().data == cropped.data);
    r.world_mut().entity_mut(entity).remove::<SplatCrop>();
    assert!(r.render(&camera).unwrap().data == whole.data, "removing the crop did not restore the image");
}

/// Selection, hiding, deletion and undo on the GPU: the selection is drawn
/// tinted as the reference draws it, deleted and hidden splats are culled as
/// the reference culls them, undoing everything gives back the exact
/// original image, and the deletions exported to a file render the same.
#[test]
fn edits_match_reference_and_undo_restores_the_original() {
    use bevy::math::Rect;
    use bevy_radiance::camera::DEFAULT_NEAR;
    use bevy_radiance::io::gaussian_ply::write_gaussian_ply;
    use bevy_radiance::io::ply::PlyFormat;
    use bevy_radiance::io::{SplatLoaderSettings, load_splat_file};
    use bevy_radiance::prelude::{SelectionMode, SelectionView, SplatEdits};
    use bevy_radiance::splat::asset::AxisConvention;

    let splats = synthetic_splats(2000, 2, 21);
    let transform = Transform::from_xyz(-0.1, 0.1, 0.0).with_rotation(Quat::from_rotation_y(0.4));
    let camera = look_at_camera(160, 120, Vec3::new(0.3, 0.5, 3.4), Vec3::ZERO, 1.0);
    let view = camera.intrinsics.camera_view(camera.world_from_camera, DEFAULT_NEAR);
    let mut r = renderer();
    let entity = r.spawn_splats(splats.clone(), transform);
    let original = r.render(&camera).unwrap();

    let check = |r: &mut bevy_radiance::headless::HeadlessRenderer, what: &str| {
        let gpu = r.render(&camera).unwrap();
        let edits = r.world_mut().get::<SplatEdits>(entity).unwrap().clone();
        let flags = edits.drawn_flags();
        let items = [ReferenceItem { splats: &splats, world_from_local: transform.to_matrix(), params: SplatParams::default(), time: 0.0, crop: &[], edits: &flags }];
        let (p, m) = compare(&gpu, &reference(&camera, &items), &format!("edits_{what}"));
        println!("{what}: PSNR {p:.2} dB vs reference, max error {m}");
        assert!(p >= 45.0, "{what}: PSNR {p:.2} dB < 45 (max error {m})");
        assert_not_blank(&gpu, what);
        gpu
    };

    // Select the left half of the view with a rectangle, then brush a spot.
    let mut edits = SplatEdits::default();
    let target = SelectionView { splats: &splats, world_from_local: transform.to_matrix(), camera: &view, time: 0.0, crop: &[] };
    let picked = edits.select_rect(&target, Rect::new(0.0, 0.0, 80.0, 120.0), SelectionMode::Replace);
    edits.select_brush(&target, Vec2::new(120.0, 60.0), 12.0, SelectionMode::Add);
    assert!(picked > 300, "{picked} splats selected");
    r.world_mut().entity_mut(entity).insert(edits);
    let selected = check(&mut r, "selected");
    assert!(psnr(&selected.data, &original.data) < 30.0, "the selection is not visible");

    // Hiding the selection shows the capture without it; delete the rest of a new selection.
    r.world_mut().get_mut::<SplatEdits>(entity).unwrap().hide_selected();
    check(&mut r, "hidden");
    {
        let mut e = r.world_mut().get_mut::<SplatEdits>(entity).unwrap();
        e.select_where(2000, SelectionMode::Replace, |i| i % 3 == 0);
        e.delete_selected();
    }
    let deleted = check(&mut r, "hidden_and_deleted");

    // Exported (deletions applied; hidden splats stay): drawn without the
    // edits' hiding, it matches the reference of the kept splats.
    let mut kept = splats.clone();
    let edits = r.world_mut().get::<SplatEdits>(entity).unwrap().clone();
    let removed = edits.apply_deletions(&mut kept).unwrap();
    assert!(removed > 200, "{removed} removed");
    let dir = std::env::temp_dir().join(format!("bevy_radiance_edits_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("edited.ply");
    std::fs::write(&path, write_gaussian_ply(&kept, PlyFormat::BinaryLittleEndian)).unwrap();
    let exported = load_splat_file(&path, &SplatLoaderSettings { axes: AxisConvention::AsIs, ..Default::default() }).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(exported.len(), 2000 - removed);
    r.world_mut().entity_mut(entity).insert(Visibility::Hidden);
    let file_entity = r.spawn_splats(exported, transform);
    let from_file = r.render(&camera).unwrap();
    r.world_mut().despawn(file_entity);
    r.world_mut().entity_mut(entity).insert(Visibility::Inherited);
    let unhidden = {
        let mut e = r.world_mut().get_mut::<SplatEdits>(entity).unwrap();
        e.unhide_all();
        e.clone()
    };
    let with_deletions = r.render(&camera).unwrap();
    let p = psnr(&from_file.data, &with_deletions.data);
    println!("exported file vs deletions drawn: PSNR {p:.2} dB");
    assert!(p >= 45.0, "exported file vs deletions drawn: PSNR {p:.2} dB < 45");
    assert!(psnr(&with_deletions.data, &deleted.data) < 40.0);

    // Undo everything: the exact original image; redo: the deletion again.
    {
        let mut e = r.world_mut().get_mut::<SplatEdits>(entity).unwrap();
        while e.undo() {}
    }
    assert!(r.render(&camera).unwrap().data == original.data, "undoing every edit did not restore the original image");
    {
        let mut e = r.world_mut().get_mut::<SplatEdits>(entity).unwrap();
        for _ in 0..6 {
            assert!(e.redo());
        }
        assert!(!e.redo());
        assert_eq!(e.flags(), unhidden.flags());
    }
    assert!(r.render(&camera).unwrap().data == with_deletions.data, "redo did not restore the edited image");
    // The selection can be drawn untinted; without the component the capture is whole.
    {
        let mut e = r.world_mut().get_mut::<SplatEdits>(entity).unwrap();
        while e.undo() {}
        e.select_all(2000);
        e.show_selection = false;
    }
    assert!(r.render(&camera).unwrap().data == original.data, "an untinted selection changed the image");
    r.world_mut().entity_mut(entity).remove::<SplatEdits>();
    assert!(r.render(&camera).unwrap().data == original.data);
}
