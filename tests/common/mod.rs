//! Helpers shared by the integration tests.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::Path;

use bevy::math::{Quat, Vec3};
use bevy_radiance::camera::CameraIntrinsics;
use bevy_radiance::headless::{HeadlessCamera, HeadlessRenderer, HeadlessSettings, RgbaImage};
use bevy_radiance::splat::asset::{GaussianSplats, sh_coefficient_count};
use bevy_radiance::image::ReferenceImage;
use bevy_radiance::splat::reference::{ReferenceItem, render_reference};

/// A headless renderer, or a failure that says how to install an adapter.
pub fn renderer() -> HeadlessRenderer {
    match HeadlessRenderer::new(HeadlessSettings::default()) {
        Ok(r) => r,
        Err(e) => panic!("GPU test cannot run: {e}"),
    }
}

pub use bevy_radiance::testing::TestRng;

/// `n` random anisotropic, rotated splats in a box around the origin.
pub fn synthetic_splats(n: usize, sh_degree: u8, seed: u64) -> GaussianSplats {
    let mut rng = TestRng::new(seed);
    let k = sh_coefficient_count(sh_degree);
    let mut s = GaussianSplats {
        sh_degree,
        ..Default::default()
    };
    for _ in 0..n {
        s.positions.push(Vec3::new(rng.range(-1.0, 1.0), rng.range(-1.0, 1.0), rng.range(-1.0, 1.0)));
        s.rotations.push(
            Quat::from_xyzw(rng.range(-1.0, 1.0), rng.range(-1.0, 1.0), rng.range(-1.0, 1.0), rng.range(-1.0, 1.0))
                .normalize(),
        );
        s.scales.push(Vec3::new(rng.range(0.01, 0.12), rng.range(0.01, 0.06), rng.range(0.005, 0.03)));
        s.opacities.push(rng.range(0.2, 0.95));
        for c in 0..k {
            let amp = if c == 0 { 1.5 } else { 0.4 };
            s.sh.push([rng.range(-amp, amp), rng.range(-amp, amp), rng.range(-amp, amp)]);
        }
    }
    s
}

/// A camera at `eye` looking at `target`.
pub fn look_at_camera(width: u32, height: u32, eye: Vec3, target: Vec3, fov_x: f32) -> HeadlessCamera {
    let world_from_camera = bevy::prelude::Transform::from_translation(eye).looking_at(target, Vec3::Y).to_matrix();
    HeadlessCamera::new(CameraIntrinsics::from_horizontal_fov(width, height, fov_x), world_from_camera)
}

/// CPU reference image for a headless camera.
pub fn reference(camera: &HeadlessCamera, items: &[ReferenceItem<'_>]) -> ReferenceImage {
    let view = camera.intrinsics.camera_view(camera.world_from_camera, bevy_radiance::camera::DEFAULT_NEAR);
    render_reference(&view, items, camera.background)
}

/// Peak signal-to-noise ratio (dB) over RGBA, 8-bit.
pub fn psnr(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let mse: f64 = a.iter().zip(b).map(|(x, y)| (*x as f64 - *y as f64).powi(2)).sum::<f64>() / a.len() as f64;
    if mse == 0.0 { f64::INFINITY } else { 10.0 * (255.0f64 * 255.0 / mse).log10() }
}

/// Largest per-channel difference.
pub fn max_error(a: &[u8], b: &[u8]) -> u8 {
    a.iter().zip(b).map(|(x, y)| x.abs_diff(*y)).max().unwrap_or(0)
}

/// Fails when an image is (nearly) uniform: a blank render is never a pass.
pub fn assert_not_blank(image: &RgbaImage, what: &str) {
    let covered = image.data.chunks(4).filter(|p| p[3] > 16).count();
    let total = (image.width * image.height) as usize;
    assert!(covered * 50 > total, "{what}: only {covered} of {total} pixels covered");
    let first = &image.data[..4];
    assert!(image.data.chunks(4).any(|p| p != first), "{what}: uniform image");
}

/// Writes an image for a person to look at, under the target dir.
pub fn save_for_inspection(image: &RgbaImage, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("renders");
    let _ = std::fs::create_dir_all(&dir);
    let _ = image.save_png(&dir.join(name));
}

/// The reference image as an [`RgbaImage`].
pub fn reference_rgba(image: &ReferenceImage) -> RgbaImage {
    RgbaImage { width: image.width, height: image.height, data: image.to_rgba8() }
}

/// Compares GPU and CPU images; returns (psnr, max error) and saves both.
pub fn compare(gpu: &RgbaImage, cpu: &ReferenceImage, name: &str) -> (f64, u8) {
    let cpu = reference_rgba(cpu);
    save_for_inspection(gpu, &format!("{name}_gpu.png"));
    save_for_inspection(&cpu, &format!("{name}_cpu.png"));
    (psnr(&gpu.data, &cpu.data), max_error(&gpu.data, &cpu.data))
}

/// Decodes a PNG into 8-bit RGBA.
pub fn read_png_rgba(path: &Path) -> (u32, u32, Vec<u8>) {
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())));
    let mut decoder = png::Decoder::new(file);
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("PNG size")];
    let info = reader.next_frame(&mut buf).expect("PNG data");
    let (w, h) = (info.width, info.height);
    let rgba = match info.color_type {
        png::ColorType::Rgba => buf[..(w * h * 4) as usize].to_vec(),
        png::ColorType::Rgb => buf[..(w * h * 3) as usize].chunks(3).flat_map(|c| [c[0], c[1], c[2], 255]).collect(),
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    (w, h, rgba)
}

/// A photograph composited on white (`rgb·a + (1 − a)`) and box-averaged to `size`.
pub fn ground_truth(path: &Path, size: u32) -> Vec<Vec3> {
    let (w, h, rgba) = read_png_rgba(path);
    assert_eq!(w % size, 0);
    assert_eq!(w, h);
    let f = w / size;
    let mut out = vec![Vec3::ZERO; (size * size) as usize];
    for y in 0..h {
        for x in 0..w {
            let p = &rgba[((y * w + x) * 4) as usize..][..4];
            let a = p[3] as f32 / 255.0;
            let rgb = Vec3::new(p[0] as f32, p[1] as f32, p[2] as f32) / 255.0 * a + Vec3::splat(1.0 - a);
            out[((y / f) * size + x / f) as usize] += rgb / (f * f) as f32;
        }
    }
    out
}

/// PSNR (dB) of linear RGB images in [0, 1] (values clamped).
pub fn psnr_vec3(a: &[Vec3], b: &[Vec3]) -> f64 {
    let mse: f64 = a
        .iter()
        .zip(b)
        .map(|(p, q)| {
            let d = p.clamp(Vec3::ZERO, Vec3::ONE) - q.clamp(Vec3::ZERO, Vec3::ONE);
            (d.x as f64).powi(2) + (d.y as f64).powi(2) + (d.z as f64).powi(2)
        })
        .sum::<f64>()
        / (a.len() * 3) as f64;
    10.0 * (1.0 / mse).log10()
}

