//! `bevy_radiance::io::spz::parse_spz`: Niantic SPZ versions 1–3 (gzip) and 4
//! (`NGSP` + zstd streams). Must return an error, never panic; a parsed scene
//! must pass `GaussianSplats::validate`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = bevy_radiance::io::spz::parse_spz(data) {
        assert!((1..=4).contains(&file.version), "version {}", file.version);
        assert_eq!(file.splats.validate(), Ok(()));
    }
});
