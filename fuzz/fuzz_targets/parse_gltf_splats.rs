//! `bevy_radiance::io::gltf_splats::parse_gltf_splats`: `.glb` / `.gltf` with
//! `KHR_gaussian_splatting` primitives (GLB BIN chunk and base64 `data:`
//! buffers; no external files). Must return an error, never panic; a parsed
//! scene must pass `GaussianSplats::validate`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(splats) = bevy_radiance::io::gltf_splats::parse_gltf_splats(data, &|_| None) {
        assert_eq!(splats.validate(), Ok(()));
    }
});
