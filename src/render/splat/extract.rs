//! Extraction of splat entities into the render world.

use bevy::camera::visibility::RenderLayers;
use bevy::prelude::*;
use bevy::render::Extract;

use bevy::platform::collections::HashMap;

use crate::scene::{GaussianSplat3d, SplatCrop, SplatSettings};
use crate::splat::asset::GaussianSplats;
use crate::splat::crop::{CropError, CropVolume};
use crate::splat::projection::SplatParams;
use crate::timeline::Playback;

/// A visible splat entity, as the render world sees it this frame.
#[derive(Clone, Debug)]
pub struct ExtractedSplat {
    /// The main-world entity (orders entities deterministically).
    pub main_entity: Entity,
    /// The splat asset.
    pub asset: AssetId<GaussianSplats>,
    /// Local → world.
    pub world_from_local: Mat4,
    /// Render settings.
    pub params: SplatParams,
    /// Render layers of the entity.
    pub layers: RenderLayers,
    /// Playback time in seconds (dynamic assets; 0 without a playback).
    pub time_seconds: f32,
    /// Crop volumes (valid ones only: an invalid [`SplatCrop`] is dropped
    /// with a warning and the entity drawn uncropped).
    pub crop: Vec<CropVolume>,
}

/// Every visible splat entity, sorted by main-world entity.
#[derive(Resource, Default, Debug)]
pub struct ExtractedSplats(pub Vec<ExtractedSplat>);

/// Copies visible splat entities into [`ExtractedSplats`].
#[expect(clippy::type_complexity, reason = "a Bevy system's query")]
pub fn extract_splats(
    mut extracted: ResMut<ExtractedSplats>,
    mut reported: Local<HashMap<Entity, CropError>>,
    query: Extract<
        Query<(
            Entity,
            &GaussianSplat3d,
            &GlobalTransform,
            &InheritedVisibility,
            &SplatSettings,
            Option<&RenderLayers>,
            Option<&Playback>,
            Option<&SplatCrop>,
        )>,
    >,
) {
    extracted.0.clear();
    for (entity, splats, transform, visibility, settings, layers, playback, crop) in &query {
        if !visibility.get() {
            continue;
        }
        let crop = match crop.map(|c| (c, c.validate())) {
            None => Vec::new(),
            Some((crop, Ok(()))) => {
                reported.remove(&entity);
                crop.0.clone()
            }
            Some((_, Err(error))) => {
                if reported.get(&entity) != Some(&error) {
                    warn!("bevy_radiance: entity {entity} is drawn uncropped: its SplatCrop is invalid ({error})");
                    reported.insert(entity, error);
                }
                Vec::new()
            }
        };
        extracted.0.push(ExtractedSplat {
            main_entity: entity,
            asset: splats.0.id(),
            world_from_local: transform.to_matrix(),
            params: settings.params(),
            layers: layers.cloned().unwrap_or_default(),
            time_seconds: playback.map_or(0.0, |p| p.time),
            crop,
        });
    }
    if !reported.is_empty() {
        reported.retain(|entity, _| query.contains(*entity));
    }
    extracted.0.sort_by_key(|s| s.main_entity);
}
