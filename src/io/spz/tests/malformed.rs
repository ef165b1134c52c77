//! Truncated, corrupted and lying files give typed errors, never panics.

use crate::testing::{Damage, FuzzOutcome, TestRng, corrupt};
use super::*;

#[test]
fn truncated_files_are_typed_errors() {
    let v4 = biker_bytes();
    for cut in [
        0,
        1,
        3,
        4,
        10,
        16,
        31,
        2000,
        5000,
        v4.len() / 2,
        v4.len() - 1,
    ] {
        match parse_spz(&v4[..cut]) {
            Err(SpzError::Truncated { expected, found }) => {
                assert_eq!(found, cut as u64);
                assert!(expected > found);
            }
            other => panic!("cut {cut}: {other:?}"),
        }
    }
    // Below ~1.3 KB the header's 152,746 points fail the size sanity check
    // (9 position bytes per point, zstd ratio ≤ 1024) before the streams
    // are looked at.
    for cut in [32, 40, 112, 1000] {
        let r = parse_spz(&v4[..cut]);
        assert!(
            matches!(r, Err(SpzError::TooManyPoints(152_746))),
            "cut {cut}: {r:?}"
        );
    }
    let v3 = write_spz_with(
        &in_range_splats(500, 2, 1),
        &SpzWriteOptions {
            version: 3,
            ..Default::default()
        },
    )
    .unwrap();
    for cut in [
        1,
        2,
        5,
        10,
        20,
        100,
        v3.len() / 2,
        v3.len() - 9,
        v3.len() - 1,
    ] {
        let r = parse_spz(&v3[..cut]);
        // A cut gzip stream fails to inflate, or ends early, or (for very
        // short cuts) is too small for the points its header claims.
        assert!(
            matches!(
                r,
                Err(SpzError::Truncated { .. }
                    | SpzError::Decompress(_)
                    | SpzError::TooManyPoints(500))
            ),
            "cut {cut}: {r:?}"
        );
    }
    // A complete gzip stream with too little payload.
    let mut raw = legacy_header(3, 1000, 0);
    raw.extend_from_slice(&[0; 1000]);
    assert!(matches!(
        parse_spz(&gzip(&raw)),
        Err(SpzError::Truncated {
            expected: 20_016,
            found: 1016
        })
    ));
}

#[test]
fn wrong_magic_and_versions() {
    assert!(matches!(parse_spz(b"ply\nformat"), Err(SpzError::BadMagic)));
    assert!(matches!(parse_spz(b"NGSQ0000"), Err(SpzError::BadMagic)));
    let mut raw = legacy_header(3, 0, 0);
    raw[0] = b'X';
    assert!(matches!(parse_spz(&gzip(&raw)), Err(SpzError::BadMagic)));

    let mut v4 = biker_bytes();
    v4[4] = 5;
    assert!(matches!(
        parse_spz(&v4),
        Err(SpzError::UnsupportedVersion(5))
    ));
    v4[4] = 3; // legacy versions are never stored uncompressed
    assert!(matches!(
        parse_spz(&v4),
        Err(SpzError::UnsupportedVersion(3))
    ));
    for version in [0u32, 5, 1_000_000] {
        let r = parse_spz(&gzip(&legacy_header(version, 1, 0)));
        assert!(
            matches!(r, Err(SpzError::UnsupportedVersion(v)) if v == version),
            "{r:?}"
        );
    }
    let r = parse_spz(&gzip(&legacy_header(2, 1, 5)));
    assert!(matches!(r, Err(SpzError::InvalidShDegree(5))), "{r:?}");
    let mut v4 = biker_bytes();
    v4[12] = 9;
    assert!(matches!(parse_spz(&v4), Err(SpzError::InvalidShDegree(9))));
}

#[test]
fn lying_point_counts_fail_before_allocating() {
    // Version 4, tiny file, huge counts.
    let mut v4 = write_spz(&in_range_splats(10, 1, 2)).unwrap();
    for n in [u32::MAX, 1 << 31, 50_000_000, 1_000_000] {
        v4[8..12].copy_from_slice(&n.to_le_bytes());
        let r = parse_spz(&v4);
        assert!(
            matches!(r, Err(SpzError::TooManyPoints(m)) if m == u64::from(n)),
            "{n}: {r:?}"
        );
    }
    // A small lie passes the ratio check but not the table of contents.
    v4[8..12].copy_from_slice(&11u32.to_le_bytes());
    assert!(matches!(
        parse_spz(&v4),
        Err(SpzError::StreamSize {
            stream: "positions",
            expected: 99,
            found: 90
        })
    ));
    // The real biker file with a huge count.
    let mut biker = biker_bytes();
    biker[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(parse_spz(&biker), Err(SpzError::TooManyPoints(_))));

    // Gzip: the count is checked against deflate's maximum ratio.
    for n in [u32::MAX, i32::MAX as u32, 10_000_000] {
        let r = parse_spz(&gzip(&legacy_header(3, n, 3)));
        assert!(matches!(r, Err(SpzError::TooManyPoints(_))), "{n}: {r:?}");
    }
}

#[test]
fn gzip_bombs_and_garbage() {
    // 64 MiB of zeros compress to ~64 KiB: a header claiming many points is
    // refused from the ratio alone ...
    let zeros = vec![0u8; 64 << 20];
    for n in [i32::MAX as u32, 10_000_000] {
        let mut raw = legacy_header(3, n, 0);
        raw.extend_from_slice(&zeros);
        let bomb = gzip_level(&raw, flate2::Compression::best());
        assert!(bomb.len() < 200_000, "{}", bomb.len());
        let r = parse_spz(&bomb);
        assert!(
            matches!(r, Err(SpzError::TooManyPoints(m)) if m == u64::from(n)),
            "{r:?}"
        );
    }
    // ... and with a small claim only the payload it implies is kept (the
    // rest is decompressed in bounded amounts and dropped).
    let mut raw = legacy_header(3, 10, 0);
    raw.extend_from_slice(&zeros);
    let file = parse_spz(&gzip(&raw)).unwrap();
    assert_eq!(file.splats.len(), 10);
    drop(zeros);

    // Garbage after a gzip header, or in place of zstd streams.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut garbage = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    for _ in 0..4000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        garbage.push(state as u8);
    }
    let r = parse_spz(&garbage);
    assert!(
        matches!(r, Err(SpzError::Decompress(_) | SpzError::Truncated { .. })),
        "{r:?}"
    );
    let mut v4 = write_spz(&in_range_splats(50, 1, 4)).unwrap();
    let toc_end = HEADER_LEN + 6 * TOC_ENTRY_LEN;
    for (b, g) in v4[toc_end..].iter_mut().zip(&garbage[10..]) {
        *b = *g;
    }
    let r = parse_spz(&v4);
    assert!(
        matches!(
            r,
            Err(SpzError::Decompress(_) | SpzError::StreamSize { .. })
        ),
        "{r:?}"
    );
}

#[test]
fn nan_positions_are_rejected() {
    // Version 1 stores half floats: a NaN reaches validation.
    let splats = in_range_splats(3, 0, 6);
    let bytes = write_any_version(
        &splats,
        &SpzWriteOptions {
            version: 1,
            ..Default::default()
        },
    )
    .unwrap();
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(bytes.as_slice())
        .read_to_end(&mut raw)
        .unwrap();
    raw[16 + 6 + 2..16 + 6 + 4].copy_from_slice(&half::f16::NAN.to_le_bytes());
    assert!(matches!(
        parse_spz(&gzip(&raw)),
        Err(SpzError::InvalidData(SplatDataError::NonFinite {
            index: 1,
            field: "position"
        }))
    ));
}

#[test]
fn container_inconsistencies() {
    let good = write_spz(&in_range_splats(10, 1, 2)).unwrap();
    let mut v4 = good.clone();
    v4[15] = 5; // stream count
    assert!(matches!(parse_spz(&v4), Err(SpzError::InvalidContainer(_))));
    let mut v4 = good.clone();
    v4[16] = 8; // table of contents inside the header
    assert!(matches!(parse_spz(&v4), Err(SpzError::InvalidContainer(_))));
    let mut v4 = good.clone();
    v4.push(0); // trailing byte
    assert!(matches!(parse_spz(&v4), Err(SpzError::InvalidContainer(_))));
    let mut v4 = good.clone();
    v4[32..40].copy_from_slice(&u64::MAX.to_le_bytes()); // compressed size
    assert!(matches!(parse_spz(&v4), Err(SpzError::Truncated { .. })));
    let mut v4 = good;
    v4[40..48].copy_from_slice(&91u64.to_le_bytes()); // uncompressed size
    assert!(matches!(
        parse_spz(&v4),
        Err(SpzError::StreamSize {
            stream: "positions",
            expected: 90,
            found: 91
        })
    ));
}

#[test]
fn random_corruptions_never_panic() {
    let mut bases = vec![write_spz(&in_range_splats(40, 3, 1)).unwrap()];
    for version in 1..=3 {
        let options = SpzWriteOptions {
            version,
            ..Default::default()
        };
        bases.push(
            write_any_version(&in_range_splats(40, 1, version.into()), &options).unwrap(),
        );
    }
    // The uncompressed legacy payload, re-wrapped after each corruption.
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(bases[3].as_slice())
        .read_to_end(&mut raw)
        .unwrap();
    let biker = biker_bytes();
    bases.push(biker[..biker.len().min(3000)].to_vec());

    // Mostly near the start: headers and table of contents.
    let damage = Damage { max_edits: 4, text: &[0, 1, 0xFF, 0x80, b'N', b'G', b'S', b'P'], text_region: 128 };
    let mut rng = TestRng::new(0x1234_5678);
    let mut outcome = FuzzOutcome::default();
    for (b, base) in bases.iter().chain([&raw]).enumerate() {
        for _ in 0..150 {
            let mut bytes = base.clone();
            corrupt(&mut rng, &mut bytes, &damage);
            if b == bases.len() {
                bytes = gzip(&bytes);
            }
            match parse_spz(&bytes) {
                Ok(file) => {
                    assert!(file.splats.validate().is_ok());
                    outcome.accepted += 1;
                }
                Err(_) => outcome.rejected += 1,
            }
        }
    }
    assert!(outcome.rejected > 300, "{outcome:?}");
}
