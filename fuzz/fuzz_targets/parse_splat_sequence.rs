//! `bevy_radiance::sequence::parse_manifest`: a `.splatseq.ron` splat sequence
//! manifest (RON). Must return an error, never panic; a parsed sequence has at
//! least one frame, at most `MAX_SEQUENCE_FRAMES`, and a finite positive rate.
#![no_main]

use bevy::asset::AssetPath;
use bevy_radiance::sequence::parse_manifest;
use bevy_radiance::sequence::splat::MAX_SEQUENCE_FRAMES;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(sequence) = parse_manifest(text, &AssetPath::from("clips/wave.splatseq.ron")) {
        assert!(!sequence.frames.is_empty());
        assert!(sequence.frames.len() <= MAX_SEQUENCE_FRAMES as usize);
        assert!(sequence.fps.is_finite() && sequence.fps > 0.0, "fps {}", sequence.fps);
    }
});
