//! Converts a splat file between formats, with a summary and an optional crop.
//!
//! ```text
//! cargo run --release --example convert -- INPUT OUTPUT [--crop MINX,MINY,MINZ,MAXX,MAXY,MAXZ] \
//!     [--keep-sphere X,Y,Z,R] [--remove-box MINX,…,MAXZ] [--remove-sphere X,Y,Z,R] [--overwrite]
//! cargo run --release --example convert -- INPUT OUT/lod-meta.json --lod [--lod-levels N] \
//!     [--lod-ratio R] [--lod-chunk SPLATS] [--lod-extent UNITS] [--overwrite]
//! ```
//!
//! INPUT is any supported format (3DGS PLY, compressed PLY, SPZ, `.splat`,
//! SOG, `lod-meta.json` — its finest level). OUTPUT's extension picks the
//! writer: `.ply` (3DGS training layout, binary little-endian), `.spz`,
//! `.splat`, `.glb` (glTF `KHR_gaussian_splatting`), `.sog` (bundled SOG
//! version 2), or a path named `meta.json` (unbundled SOG: the WebP planes
//! are written beside it).
//!
//! `--lod` with an OUTPUT named `lod-meta.json` builds a streamed SOG set
//! (the format PlayCanvas streams): level 0 is the input, each coarser level
//! merges neighbouring splats down to `--lod-ratio` (default 0.5) of the
//! finer one's, `--lod-levels` of them (default: until a level would have
//! under 2,000 splats), in a k-d tree of leaves of at most `--lod-chunk`
//! splats (default 524,288) and `--lod-extent` units (default 16).
//! Coordinates stay in the canonical 3DGS frame (no axis change); crop volumes
//! are in that frame and follow `SplatCrop`'s rule (inside any keep volume,
//! inside no remove volume; each option may be repeated), so `render` with
//! the same options previews the result. An existing OUTPUT (or, for
//! `meta.json`, any of its planes) is never replaced unless `--overwrite`.

use std::path::PathBuf;
use std::process::ExitCode;

#[path = "support/crop_args.rs"]
mod crop_args;

use bevy_radiance::io::sog_lod::LodBuildOptions;
use bevy_radiance::io::{SplatLoaderSettings, load_splat_file, write_lod, write_splat_file};
use bevy_radiance::splat::asset::{AxisConvention, GaussianSplats};

fn usage() -> String {
    format!(
        "usage: convert INPUT OUTPUT(.ply|.spz|.splat|.glb|.sog|meta.json|lod-meta.json) {} [--lod [--lod-levels N] [--lod-ratio R] [--lod-chunk SPLATS] [--lod-extent UNITS]] [--overwrite]",
        crop_args::CROP_USAGE
    )
}

/// The value after option `name`, parsed.
fn value<T: std::str::FromStr>(name: &str, next: Option<String>) -> Result<T, String> {
    let text = next.ok_or_else(|| format!("{name} needs a value"))?;
    text.parse().map_err(|_| format!("{name}: cannot read `{text}`"))
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
    let mut lod: Option<LodBuildOptions> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if crop_args::parse_crop_option(&arg, || args.next(), &mut crop)? {
            continue;
        }
        match arg.as_str() {
            "--overwrite" => overwrite = true,
            "--lod" => {
                lod.get_or_insert_with(LodBuildOptions::default);
            }
            "--lod-levels" => lod.get_or_insert_with(LodBuildOptions::default).levels = Some(value(&arg, args.next())?),
            "--lod-ratio" => lod.get_or_insert_with(LodBuildOptions::default).ratio = value(&arg, args.next())?,
            "--lod-chunk" => lod.get_or_insert_with(LodBuildOptions::default).chunk_splats = value(&arg, args.next())?,
            "--lod-extent" => lod.get_or_insert_with(LodBuildOptions::default).chunk_extent = value(&arg, args.next())?,
            "-h" | "--help" => return Err(usage()),
            other if other.starts_with("--") => return Err(format!("unknown option {other}\n{}", usage())),
            other => positional.push(PathBuf::from(other)),
        }
    }
    let [input, output] = positional.as_slice() else {
        return Err(usage());
    };
    let names_lod = output.file_name().is_some_and(|n| n.eq_ignore_ascii_case("lod-meta.json"));
    if lod.is_some() && !names_lod {
        return Err(format!("{}: --lod writes a streamed SOG set; name the output lod-meta.json", output.display()));
    }
    if let Some(options) = &lod {
        options.validate().map_err(|e| e.to_string())?;
    }
    if output.exists() && !overwrite {
        return Err(format!("{} exists; pass --overwrite to replace it", output.display()));
    }
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
    let written = match &lod {
        Some(options) => write_lod(output, &splats, AxisConvention::AsIs, options, overwrite),
        None => write_splat_file(output, &splats, AxisConvention::AsIs, overwrite),
    };
    let bytes = written.map_err(|e| match e {
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
