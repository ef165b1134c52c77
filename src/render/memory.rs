//! GPU memory the plugin owns, measured every frame: [`RadianceMemoryStats`].
//!
//! Each renderer measures what it holds in the render world after its prepare
//! system (uploaded assets; per-view buffers, uniforms and layer textures) and
//! writes its part into a [`SharedMemoryStats`] that both worlds share; the
//! main world copies it into [`RadianceMemoryStats`] at the start of the next
//! frame (so the figures are one frame old). Bevy's own objects (pipelines,
//! bind groups, the main textures) are not counted.

use std::ops::{Add, AddAssign};
use std::sync::{Arc, Mutex, PoisonError};

use bevy::prelude::*;
use bevy::render::render_resource::{Buffer, Texture};

/// Live GPU objects of one kind and their bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Reflect)]
pub struct GpuMemoryUsage {
    /// Buffers (storage, uniform, indirect).
    pub buffers: u32,
    /// Textures (layers and their multisample resolve targets).
    pub textures: u32,
    /// Bytes of those buffers and textures.
    pub bytes: u64,
}

impl GpuMemoryUsage {
    /// The usage of some buffers.
    pub fn of_buffers<'a>(buffers: impl IntoIterator<Item = &'a Buffer>) -> Self {
        let mut usage = Self::default();
        for buffer in buffers {
            usage.add_buffer(buffer);
        }
        usage
    }

    /// Counts a buffer and its size.
    pub fn add_buffer(&mut self, buffer: &Buffer) {
        self.buffers += 1;
        self.bytes += buffer.size();
    }

    /// Counts a texture and its size (all mips, layers and samples).
    pub fn add_texture(&mut self, texture: &Texture) {
        self.textures += 1;
        let size = texture.size();
        let block = u64::from(texture.format().block_copy_size(None).unwrap_or(4));
        let mut bytes = 0;
        for mip in 0..texture.mip_level_count() {
            let width = u64::from((size.width >> mip).max(1));
            let height = u64::from((size.height >> mip).max(1));
            bytes += width * height * block;
        }
        self.bytes += bytes * u64::from(size.depth_or_array_layers) * u64::from(texture.sample_count());
    }

    /// No object of this kind is alive.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl std::iter::Sum for GpuMemoryUsage {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::default(), Add::add)
    }
}

impl Add for GpuMemoryUsage {
    type Output = Self;

    fn add(self, other: Self) -> Self {
        Self {
            buffers: self.buffers + other.buffers,
            textures: self.textures + other.textures,
            bytes: self.bytes + other.bytes,
        }
    }
}

impl AddAssign for GpuMemoryUsage {
    fn add_assign(&mut self, other: Self) {
        *self = *self + other;
    }
}

/// The plugin's live GPU memory, per kind (main world resource, updated every
/// frame; the figures are those of the previous frame's render).
///
/// Despawning every capture entity and camera, and dropping every asset
/// handle, returns all of it to zero.
#[derive(Resource, Clone, Copy, Debug, Default, PartialEq, Eq, Reflect)]
#[reflect(Resource)]
pub struct RadianceMemoryStats {
    /// Uploaded splat assets: packed splats, SH rest bytes, chunk ranges, motion.
    pub splat_assets: GpuMemoryUsage,
    /// Per-camera splat buffers (projected splats, sort keys and values,
    /// draw arguments, uniforms) and splat layers.
    pub splat_views: GpuMemoryUsage,
    /// Uploaded radiance fields: hash-grid parameters, MLP weights, occupancy.
    pub field_assets: GpuMemoryUsage,
    /// Per-camera field uniforms and field layers.
    pub field_views: GpuMemoryUsage,
}

impl RadianceMemoryStats {
    /// Every kind together.
    pub fn total(&self) -> GpuMemoryUsage {
        self.splat_assets + self.splat_views + self.field_assets + self.field_views
    }

    /// The kinds with their names, for display.
    pub fn kinds(&self) -> [(&'static str, GpuMemoryUsage); 4] {
        [
            ("splat assets", self.splat_assets),
            ("splat views", self.splat_views),
            ("field assets", self.field_assets),
            ("field views", self.field_views),
        ]
    }
}

/// The stats as the render world last measured them, shared by both worlds.
#[derive(Resource, Clone, Default)]
pub struct SharedMemoryStats(Arc<Mutex<RadianceMemoryStats>>);

impl SharedMemoryStats {
    /// Changes the shared stats (a renderer writes its own kinds).
    pub fn update(&self, f: impl FnOnce(&mut RadianceMemoryStats)) {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner));
    }

    /// The shared stats now.
    pub fn get(&self) -> RadianceMemoryStats {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `First` system copying the render world's last measurement into
/// [`RadianceMemoryStats`] (only when it changed, so change detection means
/// something).
pub fn publish_memory_stats(shared: Res<SharedMemoryStats>, mut stats: ResMut<RadianceMemoryStats>) {
    let now = shared.get();
    if *stats != now {
        *stats = now;
    }
}

/// Adds the shared stats to both worlds and the main-world copy (once).
pub(crate) fn add_memory_stats(app: &mut App) {
    if app.world().contains_resource::<SharedMemoryStats>() {
        return;
    }
    let shared = SharedMemoryStats::default();
    app.insert_resource(shared.clone())
        .init_resource::<RadianceMemoryStats>()
        .register_type::<RadianceMemoryStats>()
        .add_systems(First, publish_memory_stats);
    if let Some(render_app) = app.get_sub_app_mut(bevy::render::RenderApp) {
        render_app.insert_resource(shared);
    }
}
