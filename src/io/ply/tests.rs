use super::*;

/// `(type name, value)` for one property of every scalar type and spelling.
const VALUES: [(&str, f64); 18] = [
    ("char", -5.0),
    ("uchar", 200.0),
    ("short", -30000.0),
    ("ushort", 60000.0),
    ("int", -2_000_000_000.0),
    ("uint", 4_000_000_000.0),
    ("half", 1.5),
    ("float", 3.25),
    ("double", -1.0e10),
    ("int8", 7.0),
    ("uint8", 0.0),
    ("int16", -1.0),
    ("uint16", 1.0),
    ("int32", 123_456.0),
    ("uint32", 65_536.0),
    ("float16", -0.25),
    ("float32", 1.0e-3),
    ("float64", 2.5e-7),
];

fn encode(ty: ScalarType, v: f64, big: bool, out: &mut Vec<u8>) {
    macro_rules! put {
        ($x:expr) => {
            if big {
                out.extend_from_slice(&$x.to_be_bytes())
            } else {
                out.extend_from_slice(&$x.to_le_bytes())
            }
        };
    }
    match ty {
        ScalarType::Int8 => put!(v as i8),
        ScalarType::Uint8 => put!(v as u8),
        ScalarType::Int16 => put!(v as i16),
        ScalarType::Uint16 => put!(v as u16),
        ScalarType::Int32 => put!(v as i32),
        ScalarType::Uint32 => put!(v as u32),
        ScalarType::Float16 => put!(half::f16::from_f64(v)),
        ScalarType::Float32 => put!(v as f32),
        ScalarType::Float64 => put!(v),
    }
}

/// A file with one `values` element holding one property per entry of
/// [`VALUES`] (two rows: the values and their halves / negations where
/// representable), then a `face` element with a list and a trailing scalar,
/// then a `tail` element.
fn build(format: PlyFormat) -> Vec<u8> {
    let mut h = format!(
        "ply\nformat {} 1.0\ncomment types\nobj_info x\n",
        format.header_name()
    );
    h.push_str("element values 2\n");
    for (i, (ty, _)) in VALUES.iter().enumerate() {
        h.push_str(&format!("property {ty} p{i}\n"));
    }
    h.push_str("element face 2\nproperty list uchar int idx\nproperty float area\n");
    h.push_str("element tail 1\nproperty ushort marker\nend_header\n");
    let mut out = h.into_bytes();
    let big = format == PlyFormat::BinaryBigEndian;
    let rows: [Vec<f64>; 2] = [
        VALUES.iter().map(|v| v.1).collect(),
        VALUES
            .iter()
            .map(|v| if v.1 > 100.0 { 100.0 } else { 0.0 })
            .collect(),
    ];
    let faces: [(&[f64], f64); 2] = [(&[1.0, -2.0, 3.0], 0.5), (&[], -7.0)];
    if format == PlyFormat::Ascii {
        let mut t = String::new();
        for row in &rows {
            let s: Vec<String> = row.iter().map(|v| v.to_string()).collect();
            t.push_str(&s.join(" "));
            t.push('\n');
        }
        for (items, area) in faces {
            t.push_str(&items.len().to_string());
            for v in items {
                t.push_str(&format!(" {v}"));
            }
            t.push_str(&format!(" {area}\n"));
        }
        t.push_str("65535\n");
        out.extend_from_slice(t.as_bytes());
    } else {
        for row in &rows {
            for ((ty, _), v) in VALUES.iter().zip(row) {
                encode(ScalarType::from_name(ty).unwrap(), *v, big, &mut out);
            }
        }
        for (items, area) in faces {
            encode(ScalarType::Uint8, items.len() as f64, big, &mut out);
            for v in items {
                encode(ScalarType::Int32, *v, big, &mut out);
            }
            encode(ScalarType::Float32, area, big, &mut out);
        }
        encode(ScalarType::Uint16, 65535.0, big, &mut out);
    }
    out
}

const FORMATS: [PlyFormat; 3] = [
    PlyFormat::Ascii,
    PlyFormat::BinaryLittleEndian,
    PlyFormat::BinaryBigEndian,
];

#[test]
fn every_scalar_type() {
    for format in FORMATS {
        let bytes = build(format);
        let ply = PlyFile::parse(&bytes).unwrap_or_else(|e| panic!("{format:?}: {e}"));
        assert_eq!(ply.format(), format);
        assert_eq!(
            ply.header().comments,
            vec!["types".to_owned(), "x".to_owned()]
        );
        let values = ply.element("values").unwrap();
        assert_eq!(values.len(), 2);
        for (i, (ty, v)) in VALUES.iter().enumerate() {
            let name = format!("p{i}");
            let t = ScalarType::from_name(ty).unwrap();
            assert_eq!(values.scalar_type(&name).unwrap(), t);
            let got = values.read_f32(&name).unwrap();
            let second = if *v > 100.0 { 100.0 } else { 0.0 };
            assert_eq!(got, vec![*v as f32, second], "{format:?} {ty}");
            if t.is_unsigned_integer() {
                assert_eq!(
                    values.read_u32(&name).unwrap(),
                    vec![*v as u32, second as u32],
                    "{format:?} {ty}"
                );
            } else {
                assert!(matches!(
                    values.read_u32(&name),
                    Err(SplatLoadError::WrongPropertyType { .. })
                ));
            }
        }
        // Several at once, in an arbitrary order, with a repeat.
        let rows = values.read_f32_rows(&["p7", "p1", "p7", "p8"]).unwrap();
        assert_eq!(rows, vec![3.25, 200.0, 3.25, -1.0e10, 0.0, 100.0, 0.0, 0.0]);

        let face = ply.element("face").unwrap();
        assert_eq!(
            face.read_list_f64("idx").unwrap(),
            vec![vec![1.0, -2.0, 3.0], vec![]]
        );
        assert_eq!(face.read_f32("area").unwrap(), vec![0.5, -7.0]);
        assert!(matches!(
            face.read_f32("idx"),
            Err(SplatLoadError::WrongPropertyType { .. })
        ));
        assert!(matches!(
            face.read_list_f64("area"),
            Err(SplatLoadError::WrongPropertyType { .. })
        ));
        let tail = ply.element("tail").unwrap();
        assert_eq!(tail.read_u32("marker").unwrap(), vec![65535]);
        assert!(matches!(
            tail.read_f32("nope"),
            Err(SplatLoadError::MissingProperty { .. })
        ));
        assert!(ply.element("nope").is_none());
    }
}

#[test]
fn truncated_after_list() {
    let bytes = build(PlyFormat::BinaryLittleEndian);
    for cut in 1..=7 {
        let short = &bytes[..bytes.len() - cut];
        assert!(
            matches!(PlyFile::parse(short), Err(SplatLoadError::Truncated { .. })),
            "cut {cut}"
        );
    }
}

#[test]
fn header_errors() {
    let err = |text: &str| PlyFile::parse(text.as_bytes()).unwrap_err();
    assert!(
        matches!(err("ply\nformat ascii 2.0\nend_header\n"), SplatLoadError::UnsupportedFormat(f) if f == "ascii 2.0")
    );
    assert!(matches!(
        err("ply\nformat binary_middle_endian 1.0\nend_header\n"),
        SplatLoadError::UnsupportedFormat(_)
    ));
    assert!(matches!(
        err("ply\nformat ascii 1.0\nelement v 1\nproperty quad x\nend_header\n"),
        SplatLoadError::UnknownPropertyType { type_name, property } if type_name == "quad" && property == "x"
    ));
    assert!(matches!(
        err("ply\nformat ascii 1.0\nelement v -1\nend_header\n"),
        SplatLoadError::MalformedHeader { line_number: 3, .. }
    ));
    assert!(matches!(
        err("ply\nformat ascii 1.0\nproperty float x\nend_header\n"),
        SplatLoadError::MalformedHeader { line_number: 3, .. }
    ));
    assert!(matches!(
        err("ply\nformat ascii 1.0\nelement v 1\nproperty list float int x\nend_header\n"),
        SplatLoadError::MalformedHeader { .. }
    ));
    assert!(matches!(
        err("ply\nformat ascii 1.0\nbogus line\nend_header\n"),
        SplatLoadError::MalformedHeader { line, .. } if line == "bogus line"
    ));
    assert!(matches!(
        err("ply\nelement v 0\nend_header\n"),
        SplatLoadError::MalformedHeader { .. }
    ));
    assert!(matches!(
        err("ply\nformat ascii 1.0\nelement v 0\n"),
        SplatLoadError::MissingEndHeader
    ));
    let mut long = String::from("ply\nformat ascii 1.0\n");
    while long.len() <= MAX_HEADER_BYTES {
        long.push_str("comment padding padding padding padding padding padding\n");
    }
    assert!(matches!(err(&long), SplatLoadError::HeaderTooLong { .. }));
    // Windows line endings and a missing final newline are fine.
    let ply = PlyFile::parse(
        b"ply\r\nformat ascii 1.0\r\nelement v 1\r\nproperty uchar a\r\nend_header\r\n9",
    )
    .unwrap();
    assert_eq!(ply.element("v").unwrap().read_u32("a").unwrap(), vec![9]);
}

#[test]
fn ascii_value_errors() {
    let err = |body: &str| {
        let text = format!(
            "ply\nformat ascii 1.0\nelement v 2\nproperty uchar a\nproperty float b\nend_header\n{body}"
        );
        PlyFile::parse(text.as_bytes()).unwrap_err()
    };
    assert!(matches!(
        err("1 2\n256 3\n"),
        SplatLoadError::AsciiParse { line: 8, .. }
    ));
    assert!(matches!(
        err("1 2\n-1 3\n"),
        SplatLoadError::AsciiParse { .. }
    ));
    assert!(matches!(
        err("1 x\n"),
        SplatLoadError::AsciiParse { line: 7, .. }
    ));
    assert!(matches!(
        err("1 2\n3"),
        SplatLoadError::AsciiTruncated { found_rows: 1, .. }
    ));
    // A huge list length with little data fails without allocating it.
    let text = "ply\nformat ascii 1.0\nelement f 1\nproperty list uint float l\nend_header\n4000000000 1 2\n";
    assert!(matches!(
        PlyFile::parse(text.as_bytes()),
        Err(SplatLoadError::AsciiTruncated { .. })
    ));
    let bin = b"ply\nformat binary_little_endian 1.0\nelement f 1\nproperty list uint float l\nend_header\n\xff\xff\xff\xff\0\0\0\0";
    assert!(matches!(
        PlyFile::parse(bin),
        Err(SplatLoadError::Truncated { .. })
    ));
}
