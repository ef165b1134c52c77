//! Crop options shared by the command-line examples (`convert`, `render`):
//!
//! - `--crop MINX,MINY,MINZ,MAXX,MAXY,MAXZ` keeps the splats inside a box;
//! - `--keep-sphere X,Y,Z,R` keeps the splats inside a ball;
//! - `--remove-box MINX,…,MAXZ` and `--remove-sphere X,Y,Z,R` remove them.
//!
//! Each may be repeated; the rule is [`bevy_radiance::splat::crop`]'s (inside
//! any keep volume, inside no remove volume). Coordinates are the file's own.

use bevy::math::Vec3;
use bevy_radiance::splat::crop::{CropMode, CropVolume, validate_crop};

/// The usage text of the crop options.
pub const CROP_USAGE: &str =
    "[--crop MINX,MINY,MINZ,MAXX,MAXY,MAXZ] [--keep-sphere X,Y,Z,R] [--remove-box MINX,…,MAXZ] [--remove-sphere X,Y,Z,R]";

fn numbers<const N: usize>(option: &str, text: &str) -> Result<[f32; N], String> {
    let parsed: Result<Vec<f32>, _> = text.split(',').map(|s| s.trim().parse::<f32>()).collect();
    match parsed {
        Ok(v) if v.len() == N && v.iter().all(|x| x.is_finite()) => Ok(v.try_into().unwrap_or([0.0; N])),
        _ => Err(format!("{option}: `{text}` is not {N} comma-separated finite numbers")),
    }
}

/// Parses one crop option (`option` with its `value`) into `volumes`;
/// returns `Ok(false)` when `option` is not a crop option.
pub fn parse_crop_option(option: &str, value: impl FnOnce() -> Option<String>, volumes: &mut Vec<CropVolume>) -> Result<bool, String> {
    let mode = match option {
        "--crop" | "--keep-sphere" => CropMode::KeepInside,
        "--remove-box" | "--remove-sphere" => CropMode::RemoveInside,
        _ => return Ok(false),
    };
    let text = value().ok_or(format!("{option} needs a value"))?;
    let volume = if option.ends_with("sphere") {
        let [x, y, z, r] = numbers::<4>(option, &text)?;
        CropVolume::sphere(Vec3::new(x, y, z), r, mode)
    } else {
        let [a, b, c, d, e, f] = numbers::<6>(option, &text)?;
        CropVolume::aabb(Vec3::new(a, b, c), Vec3::new(d, e, f), mode)
    };
    volumes.push(volume);
    validate_crop(volumes).map_err(|e| format!("{option} {text}: {e}"))?;
    Ok(true)
}
