//! Converts a splat file between formats, with a summary and an optional crop.
//!
//! ```text
//! cargo run --release --example convert -- INPUT OUTPUT [--crop MINX,MINY,MINZ,MAXX,MAXY,MAXZ] [--overwrite]
//! ```
//!
//! INPUT is any supported format (3DGS PLY, compressed PLY, SPZ, `.splat`,
//! SOG, `lod-meta.json` — its finest level). OUTPUT's extension picks the
//! writer: `.ply` (3DGS training layout, binary little-endian) or `.spz`.
//! Coordinates stay in the canonical 3DGS frame (no axis change); the crop box
//! is in that frame. An existing OUTPUT is never replaced unless `--overwrite`.

use std::path::PathBuf;
use std::process::ExitCode;

use bevy::math::Vec3;
use bevy_radiance::io::gaussian_ply::write_gaussian_ply;
use bevy_radiance::io::ply::PlyFormat;
use bevy_radiance::io::spz::write_spz;
use bevy_radiance::splat::asset::{AxisConvention, GaussianSplats};
use bevy_radiance::io::{SplatLoaderSettings, load_splat_file};

const USAGE: &str = "usage: convert INPUT OUTPUT(.ply|.spz) [--crop MINX,MINY,MINZ,MAXX,MAXY,MAXZ] [--overwrite]";

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
    let mut crop = None;
    let mut overwrite = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--overwrite" => overwrite = true,
            "--crop" => {
                let text = args.next().ok_or("--crop needs six numbers")?;
                let v: Result<Vec<f32>, _> = text.split(',').map(|s| s.trim().parse::<f32>()).collect();
                match v.as_deref() {
                    Ok([a, b, c, d, e, f]) => crop = Some((Vec3::new(*a, *b, *c), Vec3::new(*d, *e, *f))),
                    _ => return Err(format!("--crop: `{text}` is not six comma-separated numbers")),
                }
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other if other.starts_with("--") => return Err(format!("unknown option {other}\n{USAGE}")),
            other => positional.push(PathBuf::from(other)),
        }
    }
    let [input, output] = positional.as_slice() else {
        return Err(USAGE.into());
    };
    let extension = output.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    if extension != "ply" && extension != "spz" {
        return Err(format!("{}: the output must end in .ply or .spz", output.display()));
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
    if let Some((lo, hi)) = crop {
        let keep: Vec<bool> = splats.positions.iter().map(|p| p.cmpge(lo).all() && p.cmple(hi).all()).collect();
        splats.retain(|i| keep[i]);
        summary("cropped", &splats, None);
    }
    let bytes = match extension.as_str() {
        "ply" => write_gaussian_ply(&splats, PlyFormat::BinaryLittleEndian),
        _ => write_spz(&splats).map_err(|e| format!("cannot encode SPZ: {e}"))?,
    };
    std::fs::write(output, &bytes).map_err(|e| format!("cannot write {}: {e}", output.display()))?;
    summary(&format!("wrote {}", output.display()), &splats, Some(bytes.len()));
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
