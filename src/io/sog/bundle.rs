//! Bundled `.sog` files: a ZIP archive of `meta.json` and its planes.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use super::{MAX_ENTRY_BYTES, MAX_META_BYTES, SogError, decode_sog, parse_sog_meta};
use crate::splat::asset::GaussianSplats;

/// Deflate cannot expand data by more than about 1032:1; entries that claim
/// more are rejected before they are read.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// Reads one entry of a bundle, with size checks before any allocation.
fn read_entry(
    archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
    name: &str,
    limit: u64,
) -> Result<Vec<u8>, SogError> {
    let index = archive
        .index_for_name(name)
        .ok_or_else(|| SogError::MissingEntry {
            name: name.to_owned(),
        })?;
    let bad = |reason: String| SogError::BadEntry {
        name: name.to_owned(),
        reason,
    };
    let file = archive.by_index(index).map_err(|e| bad(e.to_string()))?;
    let (size, compressed) = (file.size(), file.compressed_size());
    let limit = limit.min(
        compressed
            .saturating_mul(MAX_DEFLATE_RATIO)
            .saturating_add(64),
    );
    if size > limit {
        return Err(SogError::EntryTooLarge {
            name: name.to_owned(),
            size,
            compressed,
            limit,
        });
    }
    let mut data = Vec::with_capacity(size as usize);
    file.take(size + 1)
        .read_to_end(&mut data)
        .map_err(|e| bad(e.to_string()))?;
    if data.len() as u64 != size {
        return Err(bad(format!(
            "holds {} bytes, but declares {size}",
            data.len()
        )));
    }
    Ok(data)
}

/// Decodes a bundled `.sog` file: a ZIP archive (stored or deflated entries)
/// with `meta.json` and the planes it names at the root.
pub fn parse_bundled_sog(zip_bytes: &[u8]) -> Result<GaussianSplats, SogError> {
    let mut archive =
        zip::ZipArchive::new(Cursor::new(zip_bytes)).map_err(|e| SogError::Zip(e.to_string()))?;
    let meta_bytes = read_entry(&mut archive, "meta.json", MAX_META_BYTES)?;
    let meta = parse_sog_meta(&meta_bytes)?;
    let mut planes: HashMap<String, Vec<u8>> = HashMap::new();
    for name in meta.files() {
        if let std::collections::hash_map::Entry::Vacant(slot) = planes.entry(name) {
            let bytes = read_entry(&mut archive, slot.key(), MAX_ENTRY_BYTES)?;
            slot.insert(bytes);
        }
    }
    decode_sog(&meta, &|name| planes.get(name).map(Vec::as_slice))
}
