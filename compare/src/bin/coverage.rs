//! Foreground coverage of RGBA PNGs (as written by `bench --save` and
//! `peer_bench --save`, A = coverage over a transparent background).
//!
//! ```text
//! cargo run --release --bin coverage -- A.png [B.png ...]
//! ```
//!
//! Prints, per image, the percentage of pixels with alpha ≥ 128 (at least
//! half covered) and with alpha > 0 (touched at all), and, for two images of
//! the same size, the percentage of pixels where exactly one of them is at
//! least half covered (how far the two views disagree on the silhouette).
//! Exits with status 2 when an image has no covered pixel at all (nothing
//! was drawn: a frame time measured on it would mean nothing).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        return Err("usage: coverage A.png [B.png ...]".into());
    }
    let mut masks = Vec::new();
    let mut blank = Vec::new();
    for path in &paths {
        let mut decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path)?));
        decoder.set_transformations(png::Transformations::EXPAND);
        let mut reader = decoder.read_info()?;
        let mut buf = vec![0; reader.output_buffer_size().ok_or("image too large")?];
        let info = reader.next_frame(&mut buf)?;
        if info.color_type != png::ColorType::Rgba || info.bit_depth != png::BitDepth::Eight {
            return Err(format!("{path}: not 8-bit RGBA").into());
        }
        let alpha: Vec<u8> = buf[..info.buffer_size()].chunks_exact(4).map(|p| p[3]).collect();
        let n = alpha.len() as f64;
        let half = alpha.iter().filter(|&&a| a >= 128).count() as f64;
        let any = alpha.iter().filter(|&&a| a > 0).count() as f64;
        println!(
            "{path}: {}x{}, foreground {:.1} % (alpha >= 128), {:.1} % (alpha > 0)",
            info.width,
            info.height,
            100.0 * half / n,
            100.0 * any / n
        );
        if any == 0.0 {
            blank.push(path.clone());
        }
        masks.push(((info.width, info.height), alpha));
    }
    if let [(size_a, a), (size_b, b)] = &masks[..]
        && size_a == size_b
    {
        let differ = a.iter().zip(b).filter(|(x, y)| (**x >= 128) != (**y >= 128)).count();
        println!("silhouette mismatch: {:.1} % of pixels", 100.0 * differ as f64 / a.len() as f64);
    }
    if !blank.is_empty() {
        eprintln!("nothing drawn in {}", blank.join(", "));
        std::process::exit(2);
    }
    Ok(())
}
