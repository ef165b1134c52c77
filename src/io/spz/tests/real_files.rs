//! The shipped captures through SPZ.

use super::*;

#[test]
fn biker_spz_agrees_with_compressed_ply() {
    let spz_bytes = std::fs::read(BIKER_SPZ).unwrap();
    let mut times = Vec::new();
    let mut parsed = None;
    for _ in 0..3 {
        let start = std::time::Instant::now();
        parsed = Some(parse_spz(&spz_bytes).unwrap());
        times.push(start.elapsed());
    }
    let file = parsed.unwrap();
    eprintln!(
        "biker.spz: {} splats, parse times {times:?}",
        file.splats.len()
    );
    assert_eq!(file.version, 4);
    assert!(!file.antialiased);
    assert_eq!(file.splats.len(), 152_746);
    assert_eq!(file.splats.sh_degree, 0);

    let ply = parse_splat_ply(&std::fs::read(BIKER_PLY).unwrap()).unwrap();
    assert_eq!(ply.len(), 152_746);
    // Same splats in the same order: the SPZ is a re-quantisation of the
    // compressed PLY's decoded values, so only SPZ's steps separate them.
    let d = compare(&ply, &file.splats, Tolerances::spz(12, 5, 4, true));
    eprintln!("biker agreement, max deviations: {d:?}");
}

#[test]
fn fruit_drops_ply_survives_spz() {
    let ply = parse_splat_ply(&std::fs::read(FRUIT_PLY).unwrap()).unwrap();
    assert_eq!(ply.sh_degree, 3);
    let spz = parse_spz(&write_spz(&ply).unwrap()).unwrap().splats;
    let d = compare(&ply, &spz, Tolerances::spz(12, 5, 4, true));
    eprintln!("fruit_drops PLY → SPZ: {d:?}");
    // And back to a PLY: exactly the SPZ-decoded values (f32 round trip).
    let again =
        parse_splat_ply(&write_gaussian_ply(&spz, PlyFormat::BinaryLittleEndian)).unwrap();
    compare(&ply, &again, Tolerances::spz(12, 5, 4, true));
    for i in 0..spz.len() {
        assert!(spz.positions[i].abs_diff_eq(again.positions[i], 1e-6));
    }
}
