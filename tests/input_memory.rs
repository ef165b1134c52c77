//! Memory per input. Every parser allocates at most [`RATIO`] × its decoded
//! payload plus [`SLACK`] at peak (heap bytes live at once, counted by this
//! binary's global allocator). The decoded payload is the file itself for
//! uncompressed formats; for compressed ones it is the inflated bytes, which
//! the readers bound in their turn (deflate ≤ 1032×, zstd ≤ 1024×, instant-ngp
//! ≤ 64× the file). So a header that claims 2³¹ splats on a 1 kB file costs
//! kilobytes, not gigabytes, and is a typed error; the shipped real captures
//! stay within the same bound.
//!
//! A sequence manifest's numbered pattern stays a pattern: a few bytes that
//! name a million frames cost a few bytes (a listed frame costs its path).
//!
//! Everything runs in one test so that no other test's allocations are counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use bevy::asset::AssetPath;
use bevy::math::Vec3;
use bevy_radiance::io::dot_splat::{parse_dot_splat, write_dot_splat};
use bevy_radiance::io::dynamic_ply::write_spacetime_ply;
use bevy_radiance::io::gltf_splats::{parse_gltf_splats, write_glb_splats};
use bevy_radiance::io::ingp::{RadianceFieldLoaderSettings, parse_snapshot};
use bevy_radiance::io::ply::PlyFormat;
use bevy_radiance::io::sog::parse_bundled_sog;
use bevy_radiance::io::sog_lod::parse_lod_meta;
use bevy_radiance::io::spz::{SpzWriteOptions, parse_spz, write_spz_with};
use bevy_radiance::io::{decode_radiance_field, gaussian_ply::write_gaussian_ply, parse_splat_ply};
use bevy_radiance::sequence::splat::{MAX_SEQUENCE_FRAMES, parse_manifest};
use bevy_radiance::splat::asset::GaussianSplats;
use bevy_radiance::splat::motion::MotionKind;
use bevy_radiance::testing::field::{TestContainer, TestSnapshotSpec, encode_document, test_snapshot_value, value_at};
use bevy_radiance::testing::motion::synthetic_dynamic;

/// Peak heap while parsing, per byte of decoded payload.
const RATIO: usize = 16;
/// Fixed allowance (tables, codebooks, thread stacks' bookkeeping).
const SLACK: usize = 1 << 20;
/// What hostile headers claim.
const CLAIMED: u64 = 1 << 31;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = CURRENT.fetch_add(by, Ordering::SeqCst) + by;
    PEAK.fetch_max(now, Ordering::SeqCst);
}

// SAFETY: every call forwards to the system allocator unchanged; the counters
// only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's pointer, layout and size.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // Count the old and new blocks as both live during the move.
            grew(new_size);
            CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result with the most heap it held at once
/// (the result itself included).
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = CURRENT.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let out = f();
    (out, PEAK.load(Ordering::SeqCst).saturating_sub(base))
}

/// One measured parse.
struct Case {
    name: String,
    file: usize,
    payload: usize,
    peak: usize,
    outcome: String,
}

impl Case {
    fn measure<T, E: std::fmt::Display>(name: &str, file: &[u8], payload: usize, parse: impl FnOnce() -> Result<T, E>) -> (Self, Option<T>) {
        let (result, peak) = peak_of(parse);
        let (outcome, value) = match result {
            Ok(v) => ("loaded".to_string(), Some(v)),
            Err(e) => (format!("error: {e}"), None),
        };
        (Case { name: name.into(), file: file.len(), payload, peak, outcome }, value)
    }

    fn bound(&self) -> usize {
        RATIO * self.payload + SLACK
    }
}

fn splats(n: usize, sh_degree: u8) -> GaussianSplats {
    let mut s = GaussianSplats::default();
    for i in 0..n {
        let t = i as f32;
        s.positions.push(Vec3::new(t.sin(), t.cos(), 0.1 * t));
        s.rotations.push(bevy::math::Quat::from_rotation_y(t));
        s.scales.push(Vec3::splat(-3.0));
        s.opacities.push(0.5);
    }
    s.sh_degree = sh_degree;
    let k = bevy_radiance::splat::asset::sh_coefficient_count(sh_degree);
    s.sh = (0..n * k).map(|i| [0.1 * (i % 7) as f32; 3]).collect();
    s
}

/// Replaces the first `element vertex N` of a PLY header.
fn claim_vertices(ply: &[u8], claimed: u64) -> Vec<u8> {
    let end = ply.windows(10).position(|w| w == b"end_header").expect("a PLY header") + 11;
    let header = String::from_utf8_lossy(&ply[..end]);
    let start = header.find("element vertex ").expect("a vertex element") + "element vertex ".len();
    let digits = header[start..].find('\n').unwrap();
    let mut out = format!("{}{claimed}{}", &header[..start], &header[start + digits..]).into_bytes();
    out.extend_from_slice(&ply[end..]);
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
    out
}

/// A GLB's JSON and binary chunks.
fn split_glb(glb: &[u8]) -> (serde_json::Value, Vec<u8>) {
    let json_len = u32::from_le_bytes(glb[12..16].try_into().unwrap()) as usize;
    let json = serde_json::from_slice(&glb[20..20 + json_len]).unwrap();
    let bin_at = 20 + json_len;
    let bin_len = u32::from_le_bytes(glb[bin_at..bin_at + 4].try_into().unwrap()) as usize;
    (json, glb[bin_at + 8..bin_at + 8 + bin_len].to_vec())
}

fn join_glb(json: &serde_json::Value, bin: &[u8]) -> Vec<u8> {
    let mut text = serde_json::to_vec(json).unwrap();
    while text.len() % 4 != 0 {
        text.push(b' ');
    }
    let total = 12 + 8 + text.len() + 8 + bin.len();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"glTF");
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    out.extend_from_slice(b"JSON");
    out.extend_from_slice(&text);
    out.extend_from_slice(&(bin.len() as u32).to_le_bytes());
    out.extend_from_slice(b"BIN\0");
    out.extend_from_slice(bin);
    out
}

/// A bundled SOG with its `meta.json` edited and its planes kept.
fn edit_sog(bundle: &[u8], edit: impl Fn(&mut serde_json::Value)) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bundle)).unwrap();
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        let name = entry.name().unwrap().to_string();
        if name == "meta.json" {
            let mut meta: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            edit(&mut meta);
            bytes = serde_json::to_vec(&meta).unwrap();
        }
        writer.start_file(name, options).unwrap();
        writer.write_all(&bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

fn read(path: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn parsing_allocates_at_most_a_fixed_multiple_of_the_decoded_input() {
    let mut hostile = Vec::new();
    let mut real = Vec::new();

    // Uncompressed splat formats: 1 kB of body behind a header that claims 2³¹ splats.
    for (name, format) in [("binary PLY", PlyFormat::BinaryLittleEndian), ("ASCII PLY", PlyFormat::Ascii)] {
        let file = claim_vertices(&write_gaussian_ply(&splats(16, 0), format), CLAIMED);
        hostile.push(Case::measure(name, &file, file.len(), || parse_splat_ply(&file)).0);
    }
    let dynamic = synthetic_dynamic(MotionKind::Spacetime, 8, 1);
    let file = claim_vertices(&write_spacetime_ply(&dynamic, PlyFormat::BinaryLittleEndian).unwrap(), CLAIMED);
    hostile.push(Case::measure("Spacetime PLY", &file, file.len(), || parse_splat_ply(&file)).0);
    let compressed = read("assets/biker.compressed.ply");
    let header_end = compressed.windows(10).position(|w| w == b"end_header").unwrap() + 11;
    let header = String::from_utf8_lossy(&compressed[..header_end])
        .replace("element chunk 597", &format!("element chunk {}", CLAIMED / 256))
        .replace("element vertex 152746", &format!("element vertex {CLAIMED}"));
    let mut file = header.into_bytes();
    file.extend_from_slice(&compressed[header_end..header_end + 1024]);
    hostile.push(Case::measure("compressed PLY", &file, file.len(), || parse_splat_ply(&file)).0);
    let file = write_dot_splat(&splats(32, 0));
    hostile.push(Case::measure(".splat (no header: 32 records)", &file, file.len(), || parse_dot_splat(&file)).0);

    // glTF: every accessor claims 2³¹ elements.
    let (mut json, bin) = split_glb(&write_glb_splats(&splats(16, 1)));
    for accessor in json["accessors"].as_array_mut().unwrap() {
        accessor["count"] = serde_json::json!(CLAIMED);
    }
    let file = join_glb(&json, &bin);
    hostile.push(Case::measure("glTF", &file, file.len(), || parse_gltf_splats(&file, &|_| None)).0);

    // SPZ: version 2 (gzip, the count inside the stream) and version 4 (zstd streams).
    let v2 = write_spz_with(&splats(16, 1), &SpzWriteOptions { version: 2, ..Default::default() }).unwrap();
    let mut inner = gunzip(&v2);
    inner[8..12].copy_from_slice(&(CLAIMED as u32 - 1).to_le_bytes());
    let file = gzip(&inner);
    hostile.push(Case::measure("SPZ v2", &file, inner.len(), || parse_spz(&file)).0);
    let mut file = write_spz_with(&splats(16, 1), &SpzWriteOptions::default()).unwrap();
    file[8..12].copy_from_slice(&(CLAIMED as u32 - 1).to_le_bytes());
    // The zstd streams' declared sizes are bounded at 1024× the file.
    hostile.push(Case::measure("SPZ v4", &file, file.len() * 1024, || parse_spz(&file)).0);

    // SOG: meta.json claims 2³¹ splats over 4,225-splat planes.
    let wave = read("assets/wave/wave_0001.sog");
    let file = edit_sog(&wave, |meta| meta["count"] = serde_json::json!(CLAIMED));
    hostile.push(Case::measure("SOG bundle", &file, file.len(), || parse_bundled_sog(&file)).0);

    // Streamed SOG: a level that claims 2³¹ splats.
    let lod = String::from_utf8(read("assets/playbot/lod-meta.json")).unwrap().replace("\"count\":248155", &format!("\"count\":{CLAIMED}"));
    hostile.push(Case::measure("lod-meta.json", lod.as_bytes(), lod.len(), || parse_lod_meta(lod.as_bytes())).0);

    // instant-ngp: a config whose hash grid and parameter count are huge.
    let spec = TestSnapshotSpec { log2_hashmap_size: 8, container: TestContainer::Gzip, ..Default::default() };
    for (name, log2_hashmap_size, n_levels) in [("instant-ngp, 2^31 hash table", 31u32, 16u32), ("instant-ngp, 128 levels of 2^30", 30, 128)] {
        let mut doc = test_snapshot_value(&spec);
        *value_at(&mut doc, "encoding.log2_hashmap_size").unwrap() = rmpv::Value::from(log2_hashmap_size);
        *value_at(&mut doc, "encoding.n_levels").unwrap() = rmpv::Value::from(n_levels);
        *value_at(&mut doc, "snapshot.n_params").unwrap() = rmpv::Value::from(CLAIMED);
        let raw = encode_document(&doc, TestContainer::Msgpack);
        let file = encode_document(&doc, TestContainer::Gzip);
        hostile.push(Case::measure(name, &file, raw.len(), || parse_snapshot(&file)).0);
    }

    // The shipped real captures, whole.
    for path in ["assets/biker.compressed.ply", "tests/data/guitar.compressed.ply", "tests/data/fruit_drops_minimal.ply", "assets/fountain/fountain.spacetime.ply"] {
        let file = read(path);
        real.push(Case::measure(path, &file, file.len(), || parse_splat_ply(&file)).0);
    }
    let file = read("tests/data/biker.spz");
    real.push(Case::measure("tests/data/biker.spz", &file, file.len() * 1024, || parse_spz(&file)).0);
    real.push(Case::measure("assets/wave/wave_0001.sog", &wave, wave.len(), || parse_bundled_sog(&wave)).0);
    let file = read("assets/lego_ngp_small/lego.ingp");
    let inflated = gunzip(&file).len();
    real.push(Case::measure("assets/lego_ngp_small/lego.ingp", &file, inflated, || decode_radiance_field(&file, &RadianceFieldLoaderSettings::default())).0);

    let mut report = String::new();
    for (kind, cases) in [("hostile header", &hostile), ("real file", &real)] {
        for c in cases.iter() {
            report += &format!(
                "{kind:>14} | {:<40} | file {:>9} B | payload {:>10} B | peak {:>10} B ({:.2}× payload) | {}\n",
                c.name, c.file, c.payload, c.peak, c.peak as f64 / c.payload as f64, c.outcome.chars().take(110).collect::<String>()
            );
        }
    }
    println!("{report}");
    for c in &hostile {
        assert!(c.outcome.starts_with("error") || c.name.starts_with(".splat"), "{}: a header claiming 2³¹ splats loaded\n{report}", c.name);
    }
    for c in hostile.iter().chain(&real) {
        assert!(c.peak <= c.bound(), "{}: peak {} B is over {RATIO} × {} + {SLACK}\n{report}", c.name, c.peak, c.payload);
    }
    for c in &real {
        assert_eq!(c.outcome, "loaded", "{}", c.name);
    }

    // Sequence manifests: a pattern names many frames in a few bytes.
    let text = format!(r#"(fps: 30.0, frames: Pattern(pattern: "frames/wave_{{:08}}.sog", first: 0, count: {MAX_SEQUENCE_FRAMES}))"#);
    let base = AssetPath::from("clips/wave.splatseq.ron");
    let (sequence, peak) = peak_of(|| parse_manifest(&text, &base));
    let sequence = sequence.expect("the largest pattern is allowed");
    assert_eq!(sequence.frames.len(), MAX_SEQUENCE_FRAMES as usize);
    println!("manifest of {} B naming {MAX_SEQUENCE_FRAMES} frames: peak {peak} B", text.len());
    assert!(peak <= RATIO * text.len() + SLACK, "manifest: peak {peak} B");
    assert_eq!(sequence.frames.get(999_999).unwrap().to_string(), "clips/frames/wave_00999999.sog");
    let text = text.replace(&format!("count: {MAX_SEQUENCE_FRAMES}"), &format!("count: {CLAIMED}"));
    let (result, peak) = peak_of(|| parse_manifest(&text, &base));
    assert!(result.is_err(), "2³¹ frames are refused");
    assert!(peak <= SLACK, "a refused manifest allocates {peak} B");
}
