//! `bevy_radiance::io::decode_radiance_field`: an instant-ngp snapshot
//! (`.ingp` gzip, zlib, or raw MessagePack `.msgpack`) decoded into a field
//! the renderer can draw. Must return an error, never panic, and never
//! allocate beyond `MAX_COMPRESSION_RATIO` × the input for the inflated
//! document plus the sizes its config implies (checked against the parameter
//! bytes actually present).
#![no_main]

use bevy_radiance::io::ingp::RadianceFieldLoaderSettings;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(field) = bevy_radiance::io::decode_radiance_field(data, &RadianceFieldLoaderSettings::default()) {
        assert!(field.aabb_scale.is_power_of_two(), "aabb_scale {}", field.aabb_scale);
        assert!(field.cone_angle.is_finite() && field.cone_angle >= 0.0, "cone angle {}", field.cone_angle);
    }
});
