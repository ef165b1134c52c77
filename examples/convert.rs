//! Converts a splat file between formats, with a summary and an optional crop.
//!
//! ```text
//! cargo run --release --example convert -- INPUT OUTPUT [--crop MINX,MINY,MINZ,MAXX,MAXY,MAXZ] \
//!     [--keep-sphere X,Y,Z,R] [--remove-box MINX,…,MAXZ] [--remove-sphere X,Y,Z,R] [--overwrite]
//! ```
//!
//! INPUT is any supported format (3DGS PLY, compressed PLY, SPZ, `.splat`,
//! SOG, `lod-meta.json` — its finest level). OUTPUT's extension picks the
//! writer: `.ply` (3DGS training layout, binary little-endian), `.spz`,
//! `.splat`, `.glb` (glTF `KHR_gaussian_splatting`), `.sog` (bundled SOG
//! version 2), or a path named `meta.json` (unbundled SOG: the WebP planes
//! are written beside it).
//! Coordinates stay in the canonical 3DGS frame (no axis change); crop volumes
//! are in that frame and follow `SplatCrop`'s rule (inside any keep volume,
//! inside no remove volume; each option may be repeated), so `render` with
//! the same options previews the result. An existing OUTPUT (or, for
//! `meta.json`, any of its planes) is never replaced unless `--overwrite`.

use std::path::PathBuf;
use std::process::ExitCode;

#[path = "support/crop_args.rs"]
mod crop_args;

use bevy_radiance::io::{SplatLoaderSettings, load_splat_file, write_splat_file};
use bevy_radiance::splat::asset::{AxisConvention, GaussianSplats};

fn usage() -> String {
    format!("usage: convert INPUT OUTPUT(.ply|.spz|.splat|.glb|.sog|meta.json) {} [--overwrite]", crop_args::CROP_USAGE)
}

fn summary(label: &str, splats: &GaussianSplats, bytes: Option<usize>) {
    let bounds = splats
        .bounds()
        .map_or("empty".to_string(), |(lo, hi)| format!("{lo:.3} .. {hi:.3}"));
    let per = bytes.map_or(String::new(), |b| {
        format!(", {b} bytes ({:.1} bytes/splat)", b as f64 / splats.len().max(1) as f64)
    });
    println!("{label}: {} splats, SH degree {}, bounds {bounds}{per}", splats.len(), splats.sh_degree);
}

fn run() -> Result<(), String> {
    let mut positional = Vec::new();
    let mut crop = Vec::new();
    let mut overwrite = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if crop_args::parse_crop_option(&arg, || args.next(), &mut crop)? {
            continue;
        }
        match arg.as_str() {
            "--overwrite" => overwrite = true,
            "-h" | "--help" => return Err(usage()),
            other if other.starts_with("--") => return Err(format!("unknown option {other}\n{}", usage())),
            other => positional.push(PathBuf::from(other)),
        }
    }
    let [input, output] = positional.as_slice() else {
        return Err(usage());
    };
    let settings = SplatLoaderSettings { axes: AxisConvention::AsIs, ..Default::default() };
    // Multi-file inputs (SOG meta.json, lod-meta.json, .gltf) have no single size.
    let single_file = !matches!(input.extension().and_then(|e| e.to_str()), Some("json" | "gltf"));
    let input_size = single_file.then(|| std::fs::metadata(input).map(|m| m.len() as usize).ok()).flatten();
    let mut splats = load_splat_file(input, &settings).map_err(|e| e.to_string())?;
    summary(&format!("read {}", input.display()), &splats, input_size);
    if !crop.is_empty() {
        let removed = splats.crop(&crop, 0.0).map_err(|e| e.to_string())?;
        summary(&format!("cropped ({removed} removed)"), &splats, None);
    }
    let start = std::time::Instant::now();
    let bytes = write_splat_file(output, &splats, AxisConvention::AsIs, overwrite).map_err(|e| match e {
        bevy_radiance::io::SplatWriteError::Exists(path) => format!("{} exists; pass --overwrite to replace it", path.display()),
        other => other.to_string(),
    })?;
    summary(&format!("wrote {} in {:.2?}", output.display(), start.elapsed()), &splats, Some(bytes));
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
