//! The orbit camera shared by the windowed examples: left-drag orbits,
//! right-drag pans, the wheel zooms, `R` returns to the home view.

use bevy::input::mouse::{AccumulatedMouseMotion, AccumulatedMouseScroll};
use bevy::prelude::*;

/// An orbiting camera: looks at `target` from `distance` at `yaw`/`pitch` (radians).
#[derive(Component, Clone, Copy, Debug)]
pub struct Orbit {
    /// The point looked at.
    pub target: Vec3,
    /// Distance from the target.
    pub distance: f32,
    /// Rotation about +Y.
    pub yaw: f32,
    /// Rotation about the camera's x axis.
    pub pitch: f32,
    /// `(target, distance, yaw, pitch)` that `R` returns to.
    pub home: (Vec3, f32, f32, f32),
}

impl Orbit {
    /// An orbit whose home view is the given one.
    pub fn new(target: Vec3, distance: f32, yaw: f32, pitch: f32) -> Self {
        Self { target, distance, yaw, pitch, home: (target, distance, yaw, pitch) }
    }

    /// Sets the view and makes it the home view.
    #[allow(dead_code, reason = "shared by several examples; not all of them re-home the camera")]
    pub fn set_home(&mut self, target: Vec3, distance: f32, yaw: f32, pitch: f32) {
        self.home = (target, distance, yaw, pitch);
        (self.target, self.distance, self.yaw, self.pitch) = self.home;
    }
}

/// While this resource holds `true`, orbit cameras ignore the mouse (another
/// tool, such as the inspector, is using it).
#[derive(Resource, Default)]
#[allow(dead_code, reason = "shared by several examples; only the viewer blocks the orbit")]
pub struct OrbitInputBlocked(pub bool);

/// Adds [`orbit_camera`] to `Update`.
pub struct OrbitPlugin;

impl Plugin for OrbitPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Update, orbit_camera);
    }
}

/// Moves every [`Orbit`] camera from mouse and keyboard input.
pub fn orbit_camera(
    mut cameras: Query<(&mut Orbit, &mut Transform)>,
    buttons: Res<ButtonInput<MouseButton>>,
    keys: Res<ButtonInput<KeyCode>>,
    motion: Res<AccumulatedMouseMotion>,
    scroll: Res<AccumulatedMouseScroll>,
    blocked: Option<Res<OrbitInputBlocked>>,
) {
    let mouse = !blocked.is_some_and(|b| b.0);
    for (mut orbit, mut transform) in &mut cameras {
        if keys.just_pressed(KeyCode::KeyR) {
            (orbit.target, orbit.distance, orbit.yaw, orbit.pitch) = orbit.home;
        }
        if mouse && buttons.pressed(MouseButton::Left) {
            orbit.yaw -= motion.delta.x * 0.005;
            orbit.pitch = (orbit.pitch - motion.delta.y * 0.005).clamp(-1.5, 1.5);
        }
        if mouse && buttons.pressed(MouseButton::Right) {
            let (right, up) = (transform.right(), transform.up());
            let k = orbit.distance * 0.0015;
            orbit.target += (-right * motion.delta.x + up * motion.delta.y) * k;
        }
        if mouse {
            orbit.distance = (orbit.distance * (1.0 - scroll.delta.y * 0.1)).clamp(0.05, 1000.0);
        }
        let rotation = Quat::from_euler(EulerRot::YXZ, orbit.yaw, orbit.pitch, 0.0);
        *transform = Transform::from_translation(orbit.target + rotation * Vec3::Z * orbit.distance)
            .looking_at(orbit.target, Vec3::Y);
    }
}
