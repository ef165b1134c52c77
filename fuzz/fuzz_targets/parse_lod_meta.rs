//! `bevy_radiance::io::sog_lod::parse_lod_meta`: a streamed SOG
//! `lod-meta.json`. Must return an error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = bevy_radiance::io::sog_lod::parse_lod_meta(data);
});
