//! The camera model (bottom layer): pinhole views and intrinsics shared by the
//! renderers and the CPU references, a Bevy projection with explicit
//! intrinsics, and nerfstudio / instant-ngp `transforms.json` files.

mod transforms;
mod view;

pub use transforms::{CameraFrame, TransformsError, parse_transforms, read_transforms};
pub use view::{CameraView, Intrinsics};

use bevy::camera::CameraProjection;
use bevy::camera::SubCameraView;
use bevy::math::{Mat4, Vec3A, Vec4};
use bevy::prelude::*;

/// Near plane of [`IntrinsicProjection`] by default (world units).
pub const DEFAULT_NEAR: f32 = 0.01;

/// Pinhole intrinsics in pixels (OpenCV convention: origin at the top-left
/// corner, +y down).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CameraIntrinsics {
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// Focal length along x, pixels.
    pub fx: f32,
    /// Focal length along y, pixels.
    pub fy: f32,
    /// Principal point x, pixels.
    pub cx: f32,
    /// Principal point y, pixels.
    pub cy: f32,
}

impl CameraIntrinsics {
    /// A centred camera with a horizontal field of view (radians).
    pub fn from_horizontal_fov(width: u32, height: u32, fov_x: f32) -> Self {
        let f = 0.5 * width as f32 / (0.5 * fov_x).tan();
        Self {
            width,
            height,
            fx: f,
            fy: f,
            cx: width as f32 * 0.5,
            cy: height as f32 * 0.5,
        }
    }

    /// The reverse-Z infinite perspective matrix (Bevy's convention) with these intrinsics.
    pub fn clip_from_view(&self, near: f32) -> Mat4 {
        let (w, h) = (self.width as f32, self.height as f32);
        Mat4::from_cols(
            Vec4::new(2.0 * self.fx / w, 0.0, 0.0, 0.0),
            Vec4::new(0.0, 2.0 * self.fy / h, 0.0, 0.0),
            Vec4::new(1.0 - 2.0 * self.cx / w, 2.0 * self.cy / h - 1.0, 0.0, -1.0),
            Vec4::new(0.0, 0.0, near, 0.0),
        )
    }

    /// The view of a camera with these intrinsics at `world_from_camera`
    /// (OpenGL/Blender/Bevy convention: looks down −Z, +Y up).
    pub fn camera_view(&self, world_from_camera: Mat4, near: f32) -> CameraView {
        CameraView {
            view_from_world: world_from_camera.inverse(),
            clip_from_view: self.clip_from_view(near),
            size: Vec2::new(self.width as f32, self.height as f32),
        }
    }
}

/// A Bevy camera projection with explicit pinhole intrinsics (off-centre
/// principal points included). Use with [`Projection::custom`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IntrinsicProjection {
    /// The intrinsics, for the image size they were calibrated at.
    pub intrinsics: CameraIntrinsics,
    /// Near plane.
    pub near: f32,
    /// Far plane used for culling and shadows (the depth range is infinite).
    pub far: f32,
}

impl IntrinsicProjection {
    /// A projection with [`DEFAULT_NEAR`] and a far plane of 1000.
    pub fn new(intrinsics: CameraIntrinsics) -> Self {
        Self {
            intrinsics,
            near: DEFAULT_NEAR,
            far: 1000.0,
        }
    }
}

impl CameraProjection for IntrinsicProjection {
    fn get_clip_from_view(&self) -> Mat4 {
        self.intrinsics.clip_from_view(self.near)
    }

    fn get_clip_from_view_for_sub(&self, _sub_view: &SubCameraView) -> Mat4 {
        self.get_clip_from_view()
    }

    fn update(&mut self, _width: f32, _height: f32) {}

    fn far(&self) -> f32 {
        self.far
    }

    fn get_frustum_corners(&self, z_near: f32, z_far: f32) -> [Vec3A; 8] {
        let k = &self.intrinsics;
        let corners = |z: f32| {
            let d = z.abs();
            let left = -k.cx / k.fx * d;
            let right = (k.width as f32 - k.cx) / k.fx * d;
            let top = k.cy / k.fy * d;
            let bottom = -(k.height as f32 - k.cy) / k.fy * d;
            [
                Vec3A::new(right, bottom, z),
                Vec3A::new(right, top, z),
                Vec3A::new(left, top, z),
                Vec3A::new(left, bottom, z),
            ]
        };
        let (n, f) = (corners(z_near), corners(z_far));
        [n[0], n[1], n[2], n[3], f[0], f[1], f[2], f[3]]
    }
}
