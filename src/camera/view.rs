//! The camera model every renderer and reference in the crate shares: a
//! pinhole view (world → view transform, reverse-Z perspective projection,
//! viewport size) and the pixel intrinsics it implies.

use bevy::math::{Mat4, Vec2, Vec3, Vec4Swizzles};

/// A pinhole view of a scene: what the splat and field maths need from a camera.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CameraView {
    /// World → view (Bevy convention: camera looks down −Z, +Y up).
    pub view_from_world: Mat4,
    /// View → clip, a perspective projection with reverse Z (Bevy's convention).
    pub clip_from_view: Mat4,
    /// Viewport size in pixels.
    pub size: Vec2,
}

/// Pixel-space intrinsics (OpenCV convention: +y down, origin at the top-left
/// corner of the viewport).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Intrinsics {
    /// Focal length in pixels along x.
    pub fx: f32,
    /// Focal length in pixels along y.
    pub fy: f32,
    /// Principal point x in pixels.
    pub cx: f32,
    /// Principal point y in pixels.
    pub cy: f32,
}

impl CameraView {
    /// Intrinsics implied by the projection matrix and viewport size.
    pub fn intrinsics(&self) -> Intrinsics {
        let p = &self.clip_from_view;
        Intrinsics {
            fx: p.x_axis.x * self.size.x * 0.5,
            fy: p.y_axis.y * self.size.y * 0.5,
            cx: (1.0 - p.z_axis.x) * self.size.x * 0.5,
            cy: (1.0 + p.z_axis.y) * self.size.y * 0.5,
        }
    }

    /// Camera position in world space.
    pub fn world_position(&self) -> Vec3 {
        self.view_from_world.inverse().w_axis.xyz()
    }
}
