//! `--screenshot PATH` for the windowed examples: save the primary window at
//! a given frame, then exit ten frames later (used to check them under Xvfb).

use std::path::PathBuf;

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, save_to_disk};

/// Saves the primary window to `path` at frame `at_frame` and exits; does
/// nothing without a path.
pub struct ScreenshotPlugin {
    /// Where to save the screenshot (`None`: run normally).
    pub path: Option<PathBuf>,
    /// The frame to take it at (after assets have loaded and drawn).
    pub at_frame: u32,
}

#[derive(Resource)]
struct ScreenshotRequest {
    path: PathBuf,
    at_frame: u32,
}

impl Plugin for ScreenshotPlugin {
    fn build(&self, app: &mut App) {
        if let Some(path) = &self.path {
            app.insert_resource(ScreenshotRequest { path: path.clone(), at_frame: self.at_frame })
                .add_systems(Update, take_screenshot);
        }
    }
}

fn take_screenshot(
    mut commands: Commands,
    request: Res<ScreenshotRequest>,
    mut frame: Local<u32>,
    mut exit: MessageWriter<AppExit>,
) {
    *frame += 1;
    if *frame == request.at_frame {
        commands.spawn(Screenshot::primary_window()).observe(save_to_disk(request.path.clone()));
    }
    if *frame == request.at_frame + 10 {
        exit.write(AppExit::Success);
    }
}
