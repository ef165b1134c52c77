//! The entities, components and assets the inspector reads and edits,
//! shared by the panel and its editing sections.

use bevy::diagnostic::DiagnosticsStore;
use bevy::ecs::system::SystemParam;
use bevy::prelude::*;

use crate::field::RadianceField;
use crate::render::memory::RadianceMemoryStats;
use crate::scene::{GaussianSplat3d, RadianceField3d, RadianceFieldCamera, RadianceFieldSettings, SplatCrop, SplatEdits, SplatSettings};
use crate::sequence::{SplatSequence, SplatSequence3d};
use crate::splat::asset::GaussianSplats;
use crate::timeline::Playback;

/// The entities and components the panel shows and edits.
#[derive(SystemParam)]
pub struct InspectedEntities<'w, 's> {
    pub(super) splats: Query<'w, 's, (Entity, Option<&'static Name>, &'static GaussianSplat3d)>,
    pub(super) fields: Query<'w, 's, (Entity, Option<&'static Name>, &'static RadianceField3d)>,
    pub(super) sequences: Query<'w, 's, (Entity, Option<&'static Name>, &'static SplatSequence3d)>,
    pub(super) transforms: Query<'w, 's, (&'static mut Transform, &'static GlobalTransform)>,
    pub(super) splat_settings: Query<'w, 's, &'static mut SplatSettings>,
    pub(super) field_settings: Query<'w, 's, &'static mut RadianceFieldSettings>,
    pub(super) playbacks: Query<'w, 's, &'static mut Playback>,
    pub(super) crops: Query<'w, 's, &'static mut SplatCrop>,
    pub(super) edits: Query<'w, 's, &'static mut SplatEdits>,
    pub(super) cameras: Query<'w, 's, (Entity, &'static mut RadianceFieldCamera)>,
}

/// The assets and figures the panel reads.
#[derive(SystemParam)]
pub struct InspectedAssets<'w> {
    pub(super) splats: Res<'w, Assets<GaussianSplats>>,
    pub(super) fields: Res<'w, Assets<RadianceField>>,
    pub(super) sequences: Res<'w, Assets<SplatSequence>>,
    pub(super) memory: Option<Res<'w, RadianceMemoryStats>>,
    pub(super) diagnostics: Option<Res<'w, DiagnosticsStore>>,
}

