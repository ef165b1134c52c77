//! `bevy_radiance::io::parse_splat_ply`: 3DGS training PLY (ASCII, binary LE/BE)
//! and PlayCanvas compressed PLY. Must return an error, never panic; a parsed
//! scene must pass `GaussianSplats::validate` (as the function documents).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(splats) = bevy_radiance::io::parse_splat_ply(data) {
        assert_eq!(splats.validate(), Ok(()));
    }
});
