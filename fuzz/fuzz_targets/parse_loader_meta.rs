//! The loaders' `.meta` RON files, read as Bevy reads them
//! (`AssetMeta<Loader, ()>`), for the splat and radiance-field loaders (the
//! sequence loader has no settings). Whatever settings parse are then applied: the splat settings to a
//! small dynamic scene (`SplatLoaderSettings::apply_timeline`, SH truncation,
//! LOD level choice through `decode_splats`), the field settings to a
//! snapshot decode. Must return an error, never panic.
#![no_main]

use bevy::asset::meta::{AssetAction, AssetMeta};
use bevy::tasks::block_on;
use bevy_radiance::io::ingp::RadianceFieldLoaderSettings;
use bevy_radiance::io::splat_file::{SplatFormat, decode_splats};
use bevy_radiance::io::{DiskSiblings, SplatLoaderSettings, decode_radiance_field};
use bevy_radiance::loader::{GaussianSplatLoader, RadianceFieldLoader};
use libfuzzer_sys::fuzz_target;

/// Four Spacetime splats (binary PLY, written by `write_spacetime_ply`).
const SPACETIME_PLY: &[u8] = include_bytes!("../corpus/parse_dynamic_ply/seed_spacetime_binary.ply");

fn apply_splat_settings(settings: &SplatLoaderSettings) {
    let mut siblings = DiskSiblings("/nonexistent".into());
    if let Ok(decoded) = block_on(decode_splats(SPACETIME_PLY, SplatFormat::Ply, settings, &mut siblings)) {
        assert_eq!(decoded.splats.validate(), Ok(()));
        assert!(decoded.splats.sh_degree <= settings.max_sh_degree.min(3));
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(meta) = ron::de::from_bytes::<AssetMeta<GaussianSplatLoader, ()>>(data)
        && let AssetAction::Load { settings, .. } = &meta.asset
    {
        apply_splat_settings(settings);
    }
    if let Ok(meta) = ron::de::from_bytes::<AssetMeta<RadianceFieldLoader, ()>>(data)
        && let AssetAction::Load { settings, .. } = &meta.asset
    {
        let settings: &RadianceFieldLoaderSettings = settings;
        // The settings are checked before the bytes: an empty document must
        // fail on the settings or on the container, never panic.
        assert!(decode_radiance_field(&[], settings).is_err());
    }
});
