//! `bevy_radiance::io::parse_splat_ply` on dynamic (4D) PLY layouts: Spacetime
//! Gaussians lite and sliced 4D Gaussians (3DGS-style and `.ply4d` names),
//! seeded with files from `io::dynamic_ply::write`. Must return an error,
//! never panic; a parsed scene passes `GaussianSplats::validate` (motion and
//! timeline included), and evaluating it at any time gives finite splats
//! (a splat whose motion overflows is hidden: opacity 0).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(splats) = bevy_radiance::io::parse_splat_ply(data) {
        assert_eq!(splats.validate(), Ok(()));
        if let Some(timeline) = splats.motion.timeline() {
            for t in [timeline.start, 0.5 * (timeline.start + timeline.end), timeline.end] {
                for i in 0..splats.len().min(64) {
                    let e = splats.evaluate(i, t);
                    assert!(e.position.is_finite(), "splat {i} at {t}: position {}", e.position);
                    assert!(e.covariance.is_finite(), "splat {i} at {t}: covariance {}", e.covariance);
                    assert!(e.opacity.is_finite(), "splat {i} at {t}: opacity {}", e.opacity);
                }
            }
        }
    }
});
