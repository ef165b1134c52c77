//! Per-entity edit flags on the GPU: each [`SplatEdits`] is extracted when it
//! changes, and uploaded as one storage buffer per entity (four flag bytes
//! per word, in the asset's packed order) that the preprocess binds as group
//! 3. Entities without edits bind a shared one-word buffer.

use std::sync::Arc;

use bevy::platform::collections::HashMap;
use bevy::prelude::*;
use bevy::render::Extract;
use bevy::render::render_asset::RenderAssets;
use bevy::render::render_resource::{BindGroup, BindGroupEntries, Buffer, BufferInitDescriptor, BufferUsages, PipelineCache};
use bevy::render::renderer::RenderDevice;

use super::extract::ExtractedSplats;
use super::gpu_asset::GpuGaussianSplats;
use super::pipeline::SplatPipelines;
use crate::render::memory::GpuMemoryUsage;
use crate::scene::{GaussianSplat3d, SplatEdits};
use crate::splat::asset::GaussianSplats;

/// The edit flags of every splat entity that has [`SplatEdits`], as last
/// extracted (`Arc`: copied out of the main world only when they change).
#[derive(Resource, Default)]
pub struct ExtractedSplatEdits(pub HashMap<Entity, Arc<[u8]>>);

/// Copies changed [`SplatEdits`] into [`ExtractedSplatEdits`] and forgets
/// entities that lost theirs.
pub fn extract_splat_edits(
    mut extracted: ResMut<ExtractedSplatEdits>,
    query: Extract<Query<(Entity, Ref<SplatEdits>), With<GaussianSplat3d>>>,
) {
    extracted.0.retain(|entity, _| query.contains(*entity));
    for (entity, edits) in &query {
        if edits.is_changed() || !extracted.0.contains_key(&entity) {
            extracted.0.insert(entity, edits.drawn_flags().into());
        }
    }
}

/// One entity's uploaded flags.
pub struct EntityEditsGpu {
    flags: Arc<[u8]>,
    asset: AssetId<GaussianSplats>,
    buffer: Buffer,
    /// Preprocess group 3.
    pub bind_group: BindGroup,
}

/// The uploaded flags of every edited entity, and the shared empty binding.
#[derive(Resource, Default)]
pub struct SplatEditBuffers {
    entities: HashMap<Entity, EntityEditsGpu>,
    /// Flags that did not fit their asset, as warned about (warned once per change).
    mismatched: HashMap<Entity, (Arc<[u8]>, AssetId<GaussianSplats>)>,
    empty: Option<(Buffer, BindGroup)>,
}

impl SplatEditBuffers {
    /// The bind group of `entity`'s flags, if it has edits that fit its asset.
    pub fn get(&self, entity: Entity) -> Option<&BindGroup> {
        self.entities.get(&entity).map(|e| &e.bind_group)
    }

    /// The group-3 binding of entities without edits.
    pub fn empty(&self) -> Option<&BindGroup> {
        self.empty.as_ref().map(|(_, b)| b)
    }

    /// The buffers (per-entity flags and the shared empty one).
    pub fn memory(&self) -> GpuMemoryUsage {
        GpuMemoryUsage::of_buffers(self.entities.values().map(|e| &e.buffer).chain(self.empty.as_ref().map(|(b, _)| b)))
    }
}

/// Keeps the shared placeholder while any splat entity is drawn, uploads new or changed flags (and re-uploads them when the entity's asset
/// changed, as its packed order did); drops those of entities gone. Flags
/// made for another splat count are not drawn (warned once per change).
pub fn prepare_splat_edits(
    device: Res<RenderDevice>,
    pipeline_cache: Res<PipelineCache>,
    pipelines: Res<SplatPipelines>,
    extracted: Res<ExtractedSplatEdits>,
    splats: Res<ExtractedSplats>,
    assets: Res<RenderAssets<GpuGaussianSplats>>,
    mut buffers: ResMut<SplatEditBuffers>,
) {
    let layout = pipeline_cache.get_bind_group_layout(&pipelines.edits_layout);
    let bind = |buffer: &Buffer| device.create_bind_group("bevy_radiance:preprocess:edits_bind_group", &layout, &BindGroupEntries::single(buffer.as_entire_binding()));
    // The placeholder exists while splats are drawn (nothing is owned otherwise).
    if splats.0.is_empty() {
        buffers.empty = None;
    } else if buffers.empty.is_none() {
        let buffer = device.create_buffer_with_data(&BufferInitDescriptor {
            label: Some("bevy_radiance:edits:none"),
            contents: &[0u8; 4],
            usage: BufferUsages::STORAGE,
        });
        let group = bind(&buffer);
        buffers.empty = Some((buffer, group));
    }
    buffers.entities.retain(|entity, _| extracted.0.contains_key(entity));
    buffers.mismatched.retain(|entity, _| extracted.0.contains_key(entity));
    for item in &splats.0 {
        let Some(flags) = extracted.0.get(&item.main_entity) else {
            continue;
        };
        let current = buffers.entities.get(&item.main_entity);
        if current.is_some_and(|c| Arc::ptr_eq(&c.flags, flags) && c.asset == item.asset) {
            continue;
        }
        let Some(gpu) = assets.get(item.asset) else {
            continue;
        };
        if flags.is_empty() {
            buffers.entities.remove(&item.main_entity);
            continue;
        }
        if flags.len() != gpu.order.len() {
            let known = buffers.mismatched.get(&item.main_entity);
            if known.is_some_and(|(f, a)| Arc::ptr_eq(f, flags) && *a == item.asset) {
                continue;
            }
            buffers.mismatched.insert(item.main_entity, (flags.clone(), item.asset));
            warn!(
                "bevy_radiance: entity {}'s SplatEdits cover {} splats but its asset has {}; it is drawn unedited",
                item.main_entity,
                flags.len(),
                gpu.order.len()
            );
            buffers.entities.remove(&item.main_entity);
            continue;
        }
        let mut words = vec![0u32; gpu.order.len().div_ceil(4).max(1)];
        for (k, &i) in gpu.order.iter().enumerate() {
            words[k / 4] |= (flags[i as usize] as u32) << (8 * (k % 4));
        }
        let buffer = device.create_buffer_with_data(&BufferInitDescriptor {
            label: Some("bevy_radiance:edits:flags"),
            contents: bytemuck::cast_slice(&words),
            usage: BufferUsages::STORAGE,
        });
        let bind_group = bind(&buffer);
        buffers.entities.insert(item.main_entity, EntityEditsGpu { flags: flags.clone(), asset: item.asset, buffer, bind_group });
    }
}
