//! Decoding the splats from the planes through the metadata's quantisation.

use bevy::math::{Quat, Vec3};

use super::planes::{decode_planes, open_plane};
use super::{MAX_SOG_SPLATS, SogError, SogMeta, SogQuantization};
use crate::splat::asset::GaussianSplats;

/// Palette entries per row of `shN_centroids`.
const CENTROIDS_PER_ROW: usize = 64;

/// SH-rest coefficients per colour channel for 0..=3 bands.
const REST_PER_CHANNEL: [usize; 4] = [0, 3, 8, 15];

/// `lerp(a, b, t)`, exact at both ends.
#[inline(always)]
pub(super) fn lerp(a: f32, b: f32, t: f32) -> f32 {
    a * (1.0 - t) + b * t
}

/// Decodes one channel's byte through a quantisation.
struct Dequant<'a> {
    attribute: &'static str,
    q: &'a SogQuantization,
}

impl Dequant<'_> {
    #[inline(always)]
    fn get(&self, channel: usize, byte: u8, at: impl FnOnce() -> String) -> Result<f32, SogError> {
        match self.q {
            SogQuantization::Codebook(cb) => {
                cb.get(byte as usize)
                    .copied()
                    .ok_or_else(|| SogError::CodebookIndex {
                        attribute: self.attribute,
                        value: byte,
                        len: cb.len(),
                        at: at(),
                    })
            }
            SogQuantization::Range { mins, maxs } => {
                let c = channel.min(mins.len() - 1).min(maxs.len() - 1);
                Ok(lerp(mins[c], maxs[c], byte as f32 / 255.0))
            }
        }
    }
}

/// Checks that a v1 range has at least `channels` entries (the parser ensures
/// it; a hand-built [`SogMeta`] might not).
fn check_quantization(q: &SogQuantization, field: &str, channels: usize) -> Result<(), SogError> {
    let bad = |reason: String| SogError::MetaField {
        field: field.to_owned(),
        reason,
    };
    match q {
        SogQuantization::Codebook(cb) if cb.is_empty() || cb.len() > 256 => Err(bad(format!(
            "codebook has {} entries, expected 1..=256",
            cb.len()
        ))),
        SogQuantization::Range { mins, maxs } if mins.len() < channels || maxs.len() < channels => {
            Err(bad(format!("ranges need {channels} entries")))
        }
        _ => Ok(()),
    }
}

/// Decodes only the splats in `ranges` (`(start, end)` pairs, in that order);
/// each range must lie within `0..meta.count`.
pub(crate) fn decode_sog_ranges<'a>(
    meta: &SogMeta,
    files: &dyn Fn(&str) -> Option<&'a [u8]>,
    ranges: &[(usize, usize)],
) -> Result<GaussianSplats, SogError> {
    let count = meta.count;
    if count > MAX_SOG_SPLATS {
        return Err(SogError::CountTooLarge {
            count: count as u64,
            limit: MAX_SOG_SPLATS,
        });
    }
    let mut selected = 0usize;
    for &(start, end) in ranges {
        if start > end || end > count {
            return Err(SogError::LodRangeOutOfBounds {
                file: "meta.json".into(),
                offset: start as u64,
                count: end.saturating_sub(start) as u64,
                file_count: count,
            });
        }
        selected = selected.saturating_add(end - start);
    }
    if selected > MAX_SOG_SPLATS {
        return Err(SogError::CountTooLarge {
            count: selected as u64,
            limit: MAX_SOG_SPLATS,
        });
    }
    check_quantization(&meta.scales, "scales", 3)?;
    check_quantization(&meta.sh0, "sh0", if meta.version == 2 { 3 } else { 4 })?;
    if let Some(sh) = &meta.sh_n {
        check_quantization(&sh.quantization, "shN", 1)?;
    }
    let v1_opacity = match &meta.sh0 {
        SogQuantization::Range { mins, maxs } if mins.len() >= 4 && maxs.len() >= 4 => {
            Some((mins[3], maxs[3]))
        }
        _ => None,
    };

    // Open every plane (headers only) and check sizes before decoding pixels.
    let per_splat = [
        &meta.means.low_file,
        &meta.means.high_file,
        &meta.quats_file,
        &meta.scales_file,
        &meta.sh0_file,
    ];
    let mut pending = Vec::with_capacity(7);
    for name in per_splat {
        pending.push(open_plane(name, files)?);
    }
    let mut sh_layout = None;
    if let Some(sh) = &meta.sh_n {
        pending.push(open_plane(&sh.labels_file, files)?);
        let centroids = open_plane(&sh.centroids_file, files)?;
        let (width, height) = (centroids.width, centroids.height);
        let size_err = |reason: String| SogError::CentroidsSize {
            file: sh.centroids_file.clone(),
            width,
            height,
            reason,
        };
        let bands = match sh.bands {
            Some(b @ 1..=3) => {
                let expected = (CENTROIDS_PER_ROW * REST_PER_CHANNEL[b as usize]) as u32;
                if width != expected {
                    return Err(size_err(format!("{b} SH bands need a width of {expected}")));
                }
                b
            }
            Some(b) => {
                return Err(SogError::MetaField {
                    field: "shN.bands".into(),
                    reason: format!("is {b}, expected 1..=3"),
                });
            }
            None => match width {
                192 => 1,
                512 => 2,
                960 => 3,
                _ => {
                    return Err(size_err(
                        "the width must be 192, 512 or 960 (1, 2 or 3 SH bands)".into(),
                    ));
                }
            },
        };
        let max_rows = 65536 / CENTROIDS_PER_ROW as u32;
        if height > max_rows {
            return Err(size_err(format!(
                "16-bit labels address at most {max_rows} rows"
            )));
        }
        let stored = CENTROIDS_PER_ROW * height as usize;
        let entries = sh.palette_count.map_or(stored, |p| p.min(stored));
        sh_layout = Some((bands, entries));
        pending.push(centroids);
    }
    let per_splat_planes = pending.len() - usize::from(meta.sh_n.is_some());
    let (ref_w, ref_h) = (pending[0].width, pending[0].height);
    let limit = 2 * count as u64 + (1 << 20);
    for p in &pending[..per_splat_planes] {
        if p.width != ref_w || p.height != ref_h {
            return Err(SogError::PlaneSizeMismatch {
                file: p.name.clone(),
                width: p.width,
                height: p.height,
                reference: pending[0].name.clone(),
                expected_width: ref_w,
                expected_height: ref_h,
            });
        }
    }
    let first = &pending[0];
    if first.pixels() < count as u64 {
        return Err(SogError::PlaneTooSmall {
            file: first.name.clone(),
            width: first.width,
            height: first.height,
            count,
        });
    }
    if first.pixels() > limit {
        return Err(SogError::PlaneTooLarge {
            file: first.name.clone(),
            width: first.width,
            height: first.height,
            count,
            limit,
        });
    }

    let planes = decode_planes(pending)?;
    let (means_l, means_u, quats, scales_p, sh0_p) =
        (&planes[0], &planes[1], &planes[2], &planes[3], &planes[4]);

    // The SH palette, expanded once: `entries × rest` RGB triples.
    let (degree, palette, rest) = match (sh_layout, &meta.sh_n) {
        (Some((bands, entries)), Some(sh)) => {
            let rest = REST_PER_CHANNEL[bands as usize];
            let centroids = &planes[6];
            let dq = Dequant {
                attribute: "shN",
                q: &sh.quantization,
            };
            let mut palette = Vec::with_capacity(entries * rest);
            for e in 0..entries {
                let (x0, y) = ((e % CENTROIDS_PER_ROW) * rest, e / CENTROIDS_PER_ROW);
                for j in 0..rest {
                    let px = centroids.texel(y * centroids.width + x0 + j);
                    let at = || format!("SH palette entry {e}");
                    palette.push([
                        dq.get(0, px[0], at)?,
                        dq.get(0, px[1], at)?,
                        dq.get(0, px[2], at)?,
                    ]);
                }
            }
            (bands, palette, rest)
        }
        _ => (0, Vec::new(), 0),
    };
    let labels = meta.sh_n.as_ref().map(|_| &planes[5]);
    let entries = palette.len().checked_div(rest).unwrap_or(0);

    let mut out = GaussianSplats::with_capacity(selected, degree);
    let scale_dq = Dequant {
        attribute: "scales",
        q: &meta.scales,
    };
    let color_dq = Dequant {
        attribute: "sh0",
        q: &meta.sh0,
    };
    let (mins, maxs) = (meta.means.mins, meta.means.maxs);

    for &(start, end) in ranges {
        for i in start..end {
            let lo = means_l.texel(i);
            let hi = means_u.texel(i);
            let mut p = [0f32; 3];
            for a in 0..3 {
                let n = lo[a] as u32 | (hi[a] as u32) << 8;
                let t = n as f64 / 65535.0;
                let v = mins[a] * (1.0 - t) + maxs[a] * t;
                p[a] = (v.signum() * (v.abs().exp() - 1.0)) as f32;
            }
            out.positions.push(Vec3::from_array(p));

            let q = quats.texel(i);
            if !(252..=255).contains(&q[3]) {
                return Err(SogError::QuatTag {
                    index: i,
                    tag: q[3],
                });
            }
            let s = std::f32::consts::SQRT_2;
            let a = (q[0] as f32 / 255.0 - 0.5) * s;
            let b = (q[1] as f32 / 255.0 - 0.5) * s;
            let c = (q[2] as f32 / 255.0 - 0.5) * s;
            let d = (1.0 - (a * a + b * b + c * c)).max(0.0).sqrt();
            // (x, y, z, w); the three stored values keep (w, x, y, z) order.
            let rot = match q[3] - 252 {
                0 => Quat::from_xyzw(a, b, c, d),
                1 => Quat::from_xyzw(d, b, c, a),
                2 => Quat::from_xyzw(b, d, c, a),
                _ => Quat::from_xyzw(b, c, d, a),
            };
            out.rotations.push(rot.normalize());

            let sc = scales_p.texel(i);
            let at = || format!("splat {i}");
            out.scales.push(Vec3::new(
                scale_dq.get(0, sc[0], at)?.exp(),
                scale_dq.get(1, sc[1], at)?.exp(),
                scale_dq.get(2, sc[2], at)?.exp(),
            ));

            let c0 = sh0_p.texel(i);
            out.sh.push([
                color_dq.get(0, c0[0], at)?,
                color_dq.get(1, c0[1], at)?,
                color_dq.get(2, c0[2], at)?,
            ]);
            out.opacities.push(match v1_opacity {
                Some((lo, hi)) => {
                    let logit = lerp(lo, hi, c0[3] as f32 / 255.0);
                    1.0 / (1.0 + (-logit).exp())
                }
                None => c0[3] as f32 / 255.0,
            });

            if let Some(labels) = labels {
                let l = labels.texel(i);
                let label = l[0] as usize | (l[1] as usize) << 8;
                if label >= entries {
                    return Err(SogError::ShPaletteIndex {
                        index: label as u32,
                        centroids: entries,
                        splat: i,
                    });
                }
                out.sh
                    .extend_from_slice(&palette[label * rest..(label + 1) * rest]);
            }
        }
    }
    out.validate()?;
    Ok(out)
}
