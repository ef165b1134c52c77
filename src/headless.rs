//! Headless rendering: render scenes from given cameras to images, without a
//! window, through the same Bevy renderer a game uses.
//!
//! ```no_run
//! # use bevy_radiance::headless::*;
//! # use bevy_radiance::camera::CameraIntrinsics;
//! # use bevy::prelude::*;
//! let mut renderer = HeadlessRenderer::new(HeadlessSettings::default())?;
//! let splats = bevy_radiance::io::load_splat_file("scene.ply".as_ref(), &Default::default())?;
//! renderer.spawn_splats(splats, Transform::IDENTITY);
//! let camera = HeadlessCamera::new(CameraIntrinsics::from_horizontal_fov(640, 480, 1.0), Mat4::IDENTITY);
//! let image = renderer.render(&camera)?;
//! image.save_png("frame.png".as_ref())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::{Arc, Mutex};

use bevy::app::PluginsState;
use bevy::asset::RenderAssetUsages;
use bevy::camera::RenderTarget;
use bevy::core_pipeline::tonemapping::{DebandDither, Tonemapping};
use bevy::prelude::*;
use bevy::render::RenderPlugin;
use bevy::render::error_handler::{RenderErrorHandler, RenderErrorPolicy};
use bevy::render::gpu_readback::{Readback, ReadbackComplete};
use bevy::render::pipelined_rendering::PipelinedRenderingPlugin;
use bevy::render::render_resource::{Extent3d, PollType, TextureDimension, TextureFormat, TextureUsages};
use bevy::render::renderer::RenderDevice;
use bevy::render::view::Msaa;
use bevy::window::ExitCondition;

use crate::camera::{CameraIntrinsics, IntrinsicProjection};
use crate::render::shaders::RadianceShaders;
pub use crate::image::{ImageWriteError, RgbaImage};
use crate::splat::asset::GaussianSplats;
use crate::scene::GaussianSplat3d;

/// How to install a software adapter when none is found.
pub const ADAPTER_HELP: &str = "no GPU adapter (Vulkan, Metal, DX12 or GL) was found. On Debian/Ubuntu install \
Mesa's software Vulkan driver: `sudo apt-get install mesa-vulkan-drivers` (lavapipe), or run on a machine with a GPU driver";

/// Errors of the headless renderer.
#[derive(Debug, thiserror::Error)]
pub enum HeadlessError {
    /// No adapter.
    #[error("{ADAPTER_HELP}")]
    NoAdapter,
    /// The frame never came back from the GPU.
    #[error("the rendered frame was not read back after {0} updates")]
    NoReadback(u32),
    /// Writing an image failed.
    #[error(transparent)]
    Write(#[from] ImageWriteError),
    /// The plugin's shaders did not finish loading.
    #[error("the radiance shaders were not loaded after {0} updates")]
    ShadersNotLoaded(u32),
    /// One of the plugin's shaders failed to load.
    #[error("a radiance shader failed to load: {0}")]
    ShaderFailed(String),
    /// A view read with the reader of the other image format.
    #[error("wrong readback: {0}")]
    WrongReadback(&'static str),
    /// The camera's image size is zero or too large.
    #[error("invalid image size {0}×{1}")]
    ImageSize(u32, u32),
    /// The GPU rejected the renderer's work (a wgpu validation or
    /// out-of-memory error); rendering stopped.
    #[error("rendering failed: {0}")]
    RenderFailed(String),
}

/// The first render error of a [`HeadlessRenderer`] (main world): Bevy's
/// renderer stops at it, and the renderer reports it instead of frames.
#[derive(Resource, Clone, Debug)]
struct HeadlessRenderError(String);

/// Options of a [`HeadlessRenderer`].
#[derive(Clone, Debug)]
pub struct HeadlessSettings {
    /// Install Bevy's log plugin (only one per process may; tests leave it off).
    pub log: bool,
    /// Record CPU/GPU time per render pass into Bevy's `DiagnosticsStore`
    /// (GPU times where the adapter supports timestamp queries).
    pub diagnostics: bool,
    /// Folder the `AssetServer` loads from (relative to the crate root when run
    /// through cargo, else to the working directory).
    pub asset_folder: String,
    /// Which of the crate's plugins the app gets.
    pub plugins: HeadlessPlugins,
    /// Reload assets whose files change on disk (Bevy's asset watcher). Needs
    /// the crate's `hot_reload` feature (Bevy's `file_watcher`); without it
    /// Bevy logs that watching is unsupported and nothing reloads.
    pub watch_for_changes: bool,
}

/// Which of the crate's plugins a [`HeadlessRenderer`] adds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HeadlessPlugins {
    /// [`RadiancePlugin`](crate::RadiancePlugin): splats and radiance fields.
    #[default]
    All,
    /// Only [`GaussianSplatPlugin`](crate::GaussianSplatPlugin).
    Splats,
    /// Only [`RadianceFieldPlugin`](crate::RadianceFieldPlugin).
    Fields,
}

impl Default for HeadlessSettings {
    fn default() -> Self {
        Self {
            log: false,
            diagnostics: false,
            asset_folder: "assets".to_string(),
            plugins: HeadlessPlugins::All,
            watch_for_changes: false,
        }
    }
}

/// A camera to render from.
#[derive(Clone, Debug)]
pub struct HeadlessCamera {
    /// Intrinsics (image size included).
    pub intrinsics: CameraIntrinsics,
    /// Camera → world (looks down −Z, +Y up).
    pub world_from_camera: Mat4,
    /// Background colour (display values); the image's alpha is coverage.
    pub background: Vec3,
    /// MSAA sample count (1 = off).
    pub msaa: u32,
    /// Render through an HDR (`Rgba16Float`) main texture.
    pub hdr: bool,
    /// Radiance-field render scale of the camera
    /// ([`RadianceFieldCamera`](crate::field::RadianceFieldCamera)); 1 = full resolution.
    pub field_render_scale: f32,
    /// Render into an `Rgba16Float` image of linear, unclamped values, read
    /// with [`HeadlessRenderer::read_view_linear`] (with [`hdr`](Self::hdr)
    /// on, nothing on the way is clamped to 8 bits: a NaN or infinite value
    /// reaches the image). Off: an `Rgba8UnormSrgb` image, read with
    /// [`HeadlessRenderer::read_view`].
    pub float_output: bool,
}

impl HeadlessCamera {
    /// A camera with a black background, no MSAA, LDR.
    pub fn new(intrinsics: CameraIntrinsics, world_from_camera: Mat4) -> Self {
        Self {
            intrinsics,
            world_from_camera,
            background: Vec3::ZERO,
            msaa: 1,
            hdr: false,
            field_render_scale: 1.0,
            float_output: false,
        }
    }
}

/// Fails with [`HeadlessError::NoAdapter`] when wgpu finds no adapter.
pub fn check_adapter() -> Result<wgpu::AdapterInfo, HeadlessError> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter = bevy::tasks::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions::default()))
        .map_err(|_| HeadlessError::NoAdapter)?;
    Ok(adapter.get_info())
}

/// A Bevy app without a window that renders cameras to images.
pub struct HeadlessRenderer {
    app: App,
}

impl HeadlessRenderer {
    /// Builds the app (Bevy's default plugins without windowing, plus the
    /// crate's plugins chosen by [`HeadlessSettings::plugins`]). Fails when no
    /// adapter exists.
    pub fn new(settings: HeadlessSettings) -> Result<Self, HeadlessError> {
        check_adapter()?;
        let mut app = App::new();
        let plugins = DefaultPlugins
            .set(WindowPlugin {
                primary_window: None,
                exit_condition: ExitCondition::DontExit,
                close_when_requested: false,
                ..default()
            })
            .set(RenderPlugin {
                synchronous_pipeline_compilation: true,
                ..default()
            })
            .set(AssetPlugin {
                file_path: settings.asset_folder.clone(),
                watch_for_changes_override: Some(settings.watch_for_changes),
                ..default()
            })
            .disable::<PipelinedRenderingPlugin>();
        #[cfg(feature = "winit")]
        let plugins = plugins.disable::<bevy::winit::WinitPlugin>();
        let plugins = if settings.log {
            plugins
        } else {
            plugins.disable::<bevy::log::LogPlugin>()
        };
        app.add_plugins(plugins);
        // Keep the app alive on a render error and report it from `read_view`
        // (Bevy's default handler would only log it and exit the app).
        app.insert_resource(RenderErrorHandler(|error, main_world, _| {
            if !main_world.contains_resource::<HeadlessRenderError>() {
                main_world.insert_resource(HeadlessRenderError(format!("{:?} error: {}", error.ty, error.description)));
            }
            RenderErrorPolicy::StopRendering
        }));
        match settings.plugins {
            HeadlessPlugins::All => app.add_plugins(crate::RadiancePlugin),
            HeadlessPlugins::Splats => app.add_plugins(crate::GaussianSplatPlugin),
            HeadlessPlugins::Fields => app.add_plugins(crate::RadianceFieldPlugin),
        };
        if settings.diagnostics {
            app.add_plugins(bevy::render::diagnostic::RenderDiagnosticsPlugin);
        }
        while app.plugins_state() == PluginsState::Adding {
            bevy::tasks::tick_global_task_pools_on_main_thread();
        }
        app.finish();
        app.cleanup();
        let mut renderer = Self { app };
        renderer.wait_for_shaders()?;
        Ok(renderer)
    }

    /// Runs frames until the plugin's embedded shaders have loaded and the
    /// pipelines queued at startup have compiled, so the first rendered frame
    /// already draws every capture.
    fn wait_for_shaders(&mut self) -> Result<(), HeadlessError> {
        const MAX_UPDATES: u32 = 2_000;
        for _ in 0..MAX_UPDATES {
            self.update();
            let world = self.app.world();
            let (Some(shaders), Some(server)) = (world.get_resource::<RadianceShaders>(), world.get_resource::<AssetServer>())
            else {
                return Ok(());
            };
            if let Some(error) = shaders.failed(server) {
                return Err(HeadlessError::ShaderFailed(error));
            }
            if shaders.all_loaded(server) {
                // One frame extracts the shaders, the next compiles the queued pipelines.
                self.update();
                self.update();
                return self.render_error().map_or(Ok(()), Err);
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        Err(HeadlessError::ShadersNotLoaded(MAX_UPDATES))
    }

    /// The render world (the pipeline cache, the plugin's pipelines and GPU assets).
    pub fn render_world(&self) -> &World {
        self.app.sub_app(bevy::render::RenderApp).world()
    }

    /// The main world, to spawn meshes, lights or more splat entities.
    pub fn world_mut(&mut self) -> &mut World {
        self.app.world_mut()
    }

    /// The render device (for running GPU primitives such as the sort directly).
    pub fn render_device(&self) -> &RenderDevice {
        self.app.sub_app(bevy::render::RenderApp).world().resource::<RenderDevice>()
    }

    /// The render queue.
    pub fn render_queue(&self) -> &bevy::render::renderer::RenderQueue {
        self.app
            .sub_app(bevy::render::RenderApp)
            .world()
            .resource::<bevy::render::renderer::RenderQueue>()
    }

    /// The adapter's name and backend.
    pub fn adapter_name(&self) -> String {
        let info = self.app.world().resource::<bevy::render::renderer::RenderAdapterInfo>();
        format!("{} ({:?})", info.name, info.backend)
    }

    /// Adds a splat asset and spawns an entity showing it (the renderer must
    /// have the splat plugin: [`HeadlessPlugins::All`] or [`HeadlessPlugins::Splats`]).
    pub fn spawn_splats(&mut self, splats: GaussianSplats, transform: Transform) -> Entity {
        let handle = self.world_mut().resource_mut::<Assets<GaussianSplats>>().add(splats);
        self.world_mut().spawn((GaussianSplat3d(handle), transform)).id()
    }

    /// The plugin's GPU memory as the last [`update`](Self::update) measured
    /// it (the app's [`RadianceMemoryStats`](crate::render::memory::RadianceMemoryStats)
    /// resource gets the same figures one frame later).
    pub fn memory_stats(&self) -> crate::render::memory::RadianceMemoryStats {
        self.app
            .world()
            .get_resource::<crate::render::memory::SharedMemoryStats>()
            .map(|shared| shared.get())
            .unwrap_or_default()
    }

    /// The render error that stopped rendering, if any (every later frame is
    /// blank; [`read_view`](Self::read_view) returns it as an error).
    pub fn render_error(&self) -> Option<HeadlessError> {
        let error = self.app.world().get_resource::<HeadlessRenderError>()?;
        Some(HeadlessError::RenderFailed(error.0.clone()))
    }

    /// Runs one frame and waits for the GPU.
    pub fn update(&mut self) {
        self.app.update();
        let device = self.app.world().resource::<RenderDevice>();
        let _ = device.poll(PollType::Wait {
            submission_index: None,
            timeout: None,
        });
    }

    /// Spawns a camera rendering into its own image; it renders on every
    /// [`update`](Self::update) until [`despawn_view`](Self::despawn_view).
    pub fn spawn_view(&mut self, camera: &HeadlessCamera) -> Result<HeadlessView, HeadlessError> {
        let (width, height) = (camera.intrinsics.width, camera.intrinsics.height);
        if width == 0 || height == 0 || width > 16384 || height > 16384 {
            return Err(HeadlessError::ImageSize(width, height));
        }
        let mut image = Image::new_uninit(
            Extent3d {
                width,
                height,
                depth_or_array_layers: 1,
            },
            TextureDimension::D2,
            if camera.float_output { TextureFormat::Rgba16Float } else { TextureFormat::Rgba8UnormSrgb },
            RenderAssetUsages::RENDER_WORLD,
        );
        image.texture_descriptor.usage |=
            TextureUsages::RENDER_ATTACHMENT | TextureUsages::COPY_SRC | TextureUsages::TEXTURE_BINDING;
        let world = self.app.world_mut();
        let handle = world.resource_mut::<Assets<Image>>().add(image);
        let bg = camera.background;
        let mut entity = world.spawn((
            Camera3d::default(),
            Camera {
                clear_color: ClearColorConfig::Custom(Color::srgba(bg.x, bg.y, bg.z, 0.0)),
                ..default()
            },
            RenderTarget::from(handle.clone()),
            Projection::custom(IntrinsicProjection::new(camera.intrinsics)),
            Transform::from_matrix(camera.world_from_camera),
            Tonemapping::None,
            DebandDither::Disabled,
            Msaa::from_samples(camera.msaa),
            crate::scene::RadianceFieldCamera { render_scale: camera.field_render_scale },
        ));
        if camera.hdr {
            entity.insert(bevy::camera::Hdr);
        }
        Ok(HeadlessView {
            camera: entity.id(),
            image: handle,
            width,
            height,
            float_output: camera.float_output,
        })
    }

    /// Moves a view's camera.
    pub fn set_view_transform(&mut self, view: &HeadlessView, world_from_camera: Mat4) {
        if let Some(mut transform) = self.world_mut().get_mut::<Transform>(view.camera) {
            *transform = Transform::from_matrix(world_from_camera);
        }
    }

    /// Renders a frame and reads the view's image back (an 8-bit view: see
    /// [`HeadlessCamera::float_output`]).
    pub fn read_view(&mut self, view: &HeadlessView) -> Result<RgbaImage, HeadlessError> {
        if view.float_output {
            return Err(HeadlessError::WrongReadback("the view renders floats: read it with read_view_linear"));
        }
        Ok(RgbaImage {
            width: view.width,
            height: view.height,
            data: self.read_texture(view, 4)?,
        })
    }

    /// Renders a frame and reads a float view's image back: linear RGBA per
    /// pixel, row by row, exactly as rendered (NaN and infinities included).
    pub fn read_view_linear(&mut self, view: &HeadlessView) -> Result<Vec<[f32; 4]>, HeadlessError> {
        if !view.float_output {
            return Err(HeadlessError::WrongReadback("the view renders 8-bit sRGB: read it with read_view"));
        }
        let bytes = self.read_texture(view, 8)?;
        let value = |b: &[u8]| half::f16::from_le_bytes([b[0], b[1]]).to_f32();
        Ok(bytes.chunks_exact(8).map(|p| [value(&p[0..2]), value(&p[2..4]), value(&p[4..6]), value(&p[6..8])]).collect())
    }

    /// Renders until the view's texture is read back; its rows, unpadded.
    fn read_texture(&mut self, view: &HeadlessView, bytes_per_pixel: usize) -> Result<Vec<u8>, HeadlessError> {
        let result: Arc<Mutex<Option<Vec<u8>>>> = Arc::default();
        let sink = result.clone();
        let readback = self
            .world_mut()
            .spawn(Readback::texture(view.image.clone()))
            .observe(move |event: On<ReadbackComplete>| {
                let mut slot = sink.lock().unwrap_or_else(|e| e.into_inner());
                if slot.is_none() {
                    *slot = Some(event.data.clone());
                }
            })
            .id();
        const MAX_UPDATES: u32 = 8;
        let mut data = None;
        for _ in 0..MAX_UPDATES {
            self.update();
            data = result.lock().unwrap_or_else(|e| e.into_inner()).take();
            if data.is_some() || self.render_error().is_some() {
                break;
            }
        }
        self.world_mut().despawn(readback);
        if let Some(error) = self.render_error() {
            return Err(error);
        }
        let data = data.ok_or(HeadlessError::NoReadback(MAX_UPDATES))?;
        Ok(unpad_rows(&data, view.width, view.height, bytes_per_pixel))
    }

    /// Removes a view's camera and image.
    pub fn despawn_view(&mut self, view: HeadlessView) {
        let world = self.world_mut();
        world.despawn(view.camera);
        world.resource_mut::<Assets<Image>>().remove(&view.image);
    }

    /// Renders one image from `camera`: RGB composited over the background, A =
    /// coverage; no tonemapping, no colour-space change. (An 8-bit image: a
    /// [`float_output`](HeadlessCamera::float_output) camera is read through
    /// [`spawn_view`](Self::spawn_view) and [`read_view_linear`](Self::read_view_linear).)
    pub fn render(&mut self, camera: &HeadlessCamera) -> Result<RgbaImage, HeadlessError> {
        let view = self.spawn_view(camera)?;
        // The render target is prepared during the first frame; the camera draws
        // from the second on, so read back only after one update.
        self.update();
        let image = self.read_view(&view);
        self.despawn_view(view);
        image
    }
}

/// A camera of a [`HeadlessRenderer`] with its target image.
#[derive(Clone, Debug)]
pub struct HeadlessView {
    /// The camera entity.
    pub camera: Entity,
    /// The image it renders into.
    pub image: Handle<Image>,
    width: u32,
    height: u32,
    float_output: bool,
}

/// Removes the 256-byte row padding of a texture readback.
fn unpad_rows(data: &[u8], width: u32, height: u32, bytes_per_pixel: usize) -> Vec<u8> {
    let row = width as usize * bytes_per_pixel;
    let padded = RenderDevice::align_copy_bytes_per_row(row);
    if padded == row || height <= 1 {
        return data[..(row * height as usize).min(data.len())].to_vec();
    }
    (0..height as usize)
        .flat_map(|y| &data[y * padded..y * padded + row])
        .copied()
        .collect()
}
