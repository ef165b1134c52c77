//! `bevy_radiance::io::dot_splat::parse_dot_splat`: antimatter15 `.splat`
//! (32-byte records). Must return an error, never panic; a parsed scene must
//! pass `GaussianSplats::validate` and hold one splat per record.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(splats) = bevy_radiance::io::dot_splat::parse_dot_splat(data) {
        assert_eq!(splats.len(), data.len() / 32);
        assert_eq!(splats.validate(), Ok(()));
    }
});
