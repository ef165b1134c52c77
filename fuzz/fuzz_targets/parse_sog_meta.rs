//! `bevy_radiance::io::sog::parse_sog_meta`: a SOG `meta.json` (v1 or v2).
//! Must return an error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = bevy_radiance::io::sog::parse_sog_meta(data);
});
