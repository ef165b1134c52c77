//! `bevy_radiance::io::sog::parse_bundled_sog`: PlayCanvas SOG, bundled (a ZIP
//! of `meta.json` and WebP planes). Must return an error, never panic; a
//! parsed scene must pass `GaussianSplats::validate`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(splats) = bevy_radiance::io::sog::parse_bundled_sog(data) {
        assert_eq!(splats.validate(), Ok(()));
    }
});
