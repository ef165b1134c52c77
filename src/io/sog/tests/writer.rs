//! The SOG writer: round trips through the reader, determinism, order and
//! typed errors.

use super::*;
use crate::splat::motion::MotionKind;

/// Encodes and reads back through the bundle reader.
fn round_trip(s: &GaussianSplats, options: &SogWriteOptions) -> (EncodedSog, GaussianSplats) {
    let encoded = encode_sog(s, options).unwrap();
    let back = parse_bundled_sog(&encoded.bundle()).unwrap();
    (encoded, back)
}

/// The largest relative error of the scales, the largest SH error and the
/// largest position error over all splats.
fn errors(a: &GaussianSplats, b: &GaussianSplats) -> (f32, f32, f32) {
    let k = a.sh_per_splat();
    let mut worst = (0.0f32, 0.0f32, 0.0f32);
    for i in 0..a.len() {
        worst.0 = worst.0.max((b.scales[i] / a.scales[i] - Vec3::ONE).abs().max_element());
        for j in 0..k {
            for c in 0..3 {
                worst.1 = worst.1.max((a.sh[i * k + j][c] - b.sh[i * k + j][c]).abs());
            }
        }
        worst.2 = worst.2.max((a.positions[i] - b.positions[i]).abs().max_element());
        assert!(a.rotations[i].dot(b.rotations[i]).abs() > 0.9995, "rotation {i}");
        assert!((a.opacities[i] - b.opacities[i]).abs() <= 0.5 / 255.0 + 1e-6, "opacity {i}");
    }
    worst
}

#[test]
fn writer_round_trips_every_degree_in_capture_order() {
    let keep_order = SogWriteOptions { morton_order: false, ..Default::default() };
    // Sizes around plane and palette edges: 1 splat, a 4-aligned plane,
    // fewer splats than a palette, a palette of 1,024 with leftovers.
    for (degree, n) in [(0, 1), (1, 16), (2, 17), (3, 300), (3, 1500)] {
        let s = sample_splats(n, degree, 100 + n as u64);
        let (encoded, back) = round_trip(&s, &keep_order);
        assert_eq!((back.len(), back.sh_degree), (n, degree));
        let (scale, sh, position) = errors(&s, &back);
        // 16-bit log positions over a ~30 m range. The 256-entry log-scale
        // codebook minimises the mean error, so the sparse tail (the few
        // smallest splats) is coarser than the bulk.
        assert!(position < 2e-3, "n {n}: position error {position}");
        assert!(scale < 0.1, "n {n}: scale error {scale}");
        // A palette as large as the capture is exact up to its codebook;
        // a smaller one merges random (worst-case) coefficients.
        let sh_limit = if n.is_power_of_two() { 0.02 } else { 1.0 };
        assert!(sh < sh_limit, "n {n} degree {degree}: SH error {sh}");
        let meta = parse_sog_meta(&encoded.meta).unwrap();
        assert_eq!(meta.version, 2);
        let expected: &[&str] = if degree == 0 {
            &["means_l.webp", "means_u.webp", "quats.webp", "scales.webp", "sh0.webp"]
        } else {
            &["means_l.webp", "means_u.webp", "quats.webp", "scales.webp", "sh0.webp", "shN_centroids.webp", "shN_labels.webp"]
        };
        assert_eq!(encoded.planes.iter().map(|p| p.0).collect::<Vec<_>>(), expected);
    }
}

#[test]
fn writer_is_deterministic_and_morton_order_only_permutes() {
    let s = sample_splats(2000, 2, 5);
    let (a, in_morton) = round_trip(&s, &SogWriteOptions::default());
    let (b, _) = round_trip(&s, &SogWriteOptions::default());
    assert_eq!(a.bundle(), b.bundle(), "the same capture must give the same bytes");
    let (_, in_order) = round_trip(&s, &SogWriteOptions { morton_order: false, ..Default::default() });
    let key = |g: &GaussianSplats, i: usize| (g.positions[i].to_array().map(f32::to_bits), g.opacities[i].to_bits());
    let mut x: Vec<_> = (0..s.len()).map(|i| key(&in_morton, i)).collect();
    let mut y: Vec<_> = (0..s.len()).map(|i| key(&in_order, i)).collect();
    assert_ne!(x, y, "Morton order should move splats");
    x.sort();
    y.sort();
    assert_eq!(x, y, "Morton order must only permute the splats");
    // Vertically neighbouring pixels (what the WebP encoder predicts from)
    // hold nearby splats: the mean step down the columns of the 48-pixel
    // wide planes is far below the capture-order one.
    let width = 48;
    let step = |g: &GaussianSplats| (width..g.len()).map(|p| (g.positions[p] - g.positions[p - width]).length()).sum::<f32>();
    assert!(step(&in_morton) < 0.25 * step(&in_order), "{} vs {}", step(&in_morton), step(&in_order));
}

#[test]
fn writer_rejects_what_sog_cannot_hold() {
    assert!(matches!(encode_sog(&GaussianSplats::default(), &SogWriteOptions::default()), Err(SogWriteError::Empty)));
    let mut s = sample_splats(10, 1, 1);
    s.positions[7].y = f32::NAN;
    let error = encode_sog(&s, &SogWriteOptions::default()).unwrap_err();
    assert!(matches!(error, SogWriteError::NonFinite { index: 7, attribute: "position" }), "{error}");
    let mut s = sample_splats(10, 1, 1);
    s.sh[3 * 4 + 2][1] = f32::INFINITY;
    let error = encode_sog(&s, &SogWriteOptions::default()).unwrap_err();
    assert_eq!(error.to_string(), "splat 3: sh is not finite");
    let dynamic = crate::testing::motion::synthetic_dynamic(MotionKind::Spacetime, 10, 1);
    assert!(matches!(encode_sog(&dynamic, &SogWriteOptions::default()), Err(SogWriteError::Dynamic)));
    // A zero scale and a zero quaternion are written, not propagated as NaN.
    let mut s = sample_splats(10, 0, 2);
    s.scales[0] = Vec3::ZERO;
    s.rotations[1] = Quat::from_xyzw(0.0, 0.0, 0.0, 0.0);
    let back = parse_bundled_sog(&encode_sog(&s, &SogWriteOptions::default()).unwrap().bundle()).unwrap();
    back.validate().unwrap();
}

#[test]
fn column_layout_keeps_the_pixels_of_a_range_and_stacks_the_curve_in_columns() {
    let width = 8;
    for (start, len) in [(0, 64), (0, 70), (5, 3), (5, 30), (16, 17), (3, 0)] {
        let curve: Vec<u32> = (0..len as u32).collect();
        let laid = column_layout(&curve, width, start);
        let mut sorted = laid.clone();
        sorted.sort();
        assert_eq!(sorted, curve, "start {start} len {len}: only a permutation");
        // Inside the range's whole rows, the pixel above holds the previous
        // splat on the curve, except at the top of each column.
        let head = ((width - start % width) % width).min(len);
        let rows = (len - head) / width;
        for p in head + width..head + rows * width {
            let (above, here) = (laid[p - width], laid[p]);
            if (p - head) / width != 0 {
                assert_eq!(here, above + 1, "start {start} len {len} pixel {p}");
            }
        }
    }
    assert_eq!(plane_width(1), 4);
    assert_eq!(plane_width(17), 8);
    assert_eq!(plane_width(152_746), 392);
}
