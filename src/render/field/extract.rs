//! Extraction of radiance-field entities, and the depth-texture usage the
//! ray marcher needs on 3D cameras.

use bevy::camera::visibility::RenderLayers;
use bevy::prelude::*;
use bevy::render::Extract;
use bevy::render::render_resource::TextureUsages;

use bevy::render::sync_world::RenderEntity;

use crate::field::RadianceField;
use crate::scene::{RadianceField3d, RadianceFieldCamera, RadianceFieldSettings};

/// A visible radiance-field entity, as the render world sees it this frame.
#[derive(Clone, Debug)]
pub struct ExtractedField {
    /// The main-world entity.
    pub main_entity: Entity,
    /// The field asset.
    pub asset: AssetId<RadianceField>,
    /// Local → world.
    pub world_from_local: Mat4,
    /// Render settings.
    pub settings: RadianceFieldSettings,
    /// Render layers.
    pub layers: RenderLayers,
}

/// Every visible field entity, sorted by main-world entity.
#[derive(Resource, Default, Debug)]
pub struct ExtractedFields(pub Vec<ExtractedField>);

/// Copies visible field entities into [`ExtractedFields`].
#[expect(clippy::type_complexity, reason = "a Bevy system's query")]
pub fn extract_fields(
    mut extracted: ResMut<ExtractedFields>,
    query: Extract<
        Query<(
            Entity,
            &RadianceField3d,
            &GlobalTransform,
            &InheritedVisibility,
            Option<&RadianceFieldSettings>,
            Option<&RenderLayers>,
        )>,
    >,
) {
    extracted.0.clear();
    for (entity, field, transform, visibility, settings, layers) in &query {
        if !visibility.get() {
            continue;
        }
        extracted.0.push(ExtractedField {
            main_entity: entity,
            asset: field.0.id(),
            world_from_local: transform.to_matrix(),
            settings: settings.cloned().unwrap_or_default(),
            layers: layers.cloned().unwrap_or_default(),
        });
    }
    extracted.0.sort_by_key(|f| f.main_entity);
}

/// Lets the ray marcher read each 3D camera's depth (rays stop at meshes).
pub fn enable_depth_texture_binding(mut cameras: Query<&mut Camera3d>) {
    for mut camera in &mut cameras {
        let usages = TextureUsages::from(camera.depth_texture_usages);
        if !usages.contains(TextureUsages::TEXTURE_BINDING) {
            camera.depth_texture_usages = (usages | TextureUsages::TEXTURE_BINDING).into();
        }
    }
}

/// Copies each 3D camera's [`RadianceFieldCamera`] onto its render-world view
/// (and removes it from views whose camera no longer has one).
#[expect(clippy::type_complexity, reason = "a Bevy system's query")]
pub fn extract_field_cameras(
    mut commands: Commands,
    cameras: Extract<Query<(RenderEntity, Option<&RadianceFieldCamera>), With<Camera3d>>>,
) {
    for (render_entity, settings) in &cameras {
        if let Ok(mut entity) = commands.get_entity(render_entity) {
            match settings {
                Some(settings) => entity.insert(*settings),
                None => entity.remove::<RadianceFieldCamera>(),
            };
        }
    }
}
