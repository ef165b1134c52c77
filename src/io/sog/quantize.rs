//! The quantisers of the SOG writer: scalar codebooks (256 entries, one byte
//! per value) and the SH palette (vector clustering, 16-bit labels).
//!
//! Everything here is deterministic: the same input gives the same bytes, so
//! exports can be compared and tests are exact.

/// Palette entries a splat may move between in one refinement pass: the
/// clusters of an aligned block of the bisection tree's leaves, which are
/// near each other in coefficient space.
const REFINE_BLOCK: usize = 16;

/// Histogram bins the scalar codebook is fitted to.
const CODEBOOK_BINS: usize = 4096;

/// A sorted scalar codebook of `k` entries for `values`.
///
/// The sorted values are binned (bin edges halfway between quantiles and
/// uniform steps, leaning to quantiles when a few outliers stretch the
/// range), each bin weighted by the square root of its count, and the
/// entries are the optimal partition of the bins ([`optimal_1d`]). The
/// square-root weight gives sparse tails (the few very large splats, which
/// cover the most pixels) more entries than a plain mean-squared fit would.
/// This is the scheme of PlayCanvas' writer, so files of both writers come
/// out alike; values with at most [`CODEBOOK_BINS`] distinct values are
/// partitioned exactly instead of binned (and with at most `k`, kept).
/// All-equal input gives `k` copies of the value; empty input gives zeros.
pub(crate) fn codebook_1d(values: &[f32], k: usize) -> Vec<f32> {
    let mut sorted: Vec<f32> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() || k == 0 {
        return vec![0.0; k];
    }
    sorted.sort_unstable_by(f32::total_cmp);
    let n = sorted.len();
    // Few distinct values are their own bins (and, when they fit, the
    // codebook itself, exactly).
    let mut distinct: Vec<(f64, f64)> = Vec::new();
    for &v in &sorted {
        if let Some((_, count)) = distinct.last_mut().filter(|d| d.0 == v as f64) {
            *count += 1.0;
        } else if distinct.len() > CODEBOOK_BINS {
            break;
        } else {
            distinct.push((v as f64, 1.0));
        }
    }
    if distinct.len() <= CODEBOOK_BINS {
        let bins: Vec<(f64, f64)> = distinct.into_iter().map(|(v, count)| (v, count.sqrt())).collect();
        return fit(&bins, k);
    }
    // Bins: contiguous runs of the sorted values (both position terms grow
    // with the index), as (mean, weight).
    let (lo, hi) = (sorted[0] as f64, sorted[n - 1] as f64);
    let iqr = (sorted[n * 3 / 4] - sorted[n / 4]) as f64;
    let beta = (1.0 - iqr / (hi - lo)).clamp(0.5, 0.999);
    let mut bins: Vec<(f64, f64)> = Vec::with_capacity(CODEBOOK_BINS);
    let (mut current, mut sum, mut count) = (usize::MAX, 0.0f64, 0usize);
    for (i, &v) in sorted.iter().enumerate() {
        let position = beta * i as f64 / n as f64 + (1.0 - beta) * (v as f64 - lo) / (hi - lo);
        let bin = ((position * CODEBOOK_BINS as f64) as usize).min(CODEBOOK_BINS - 1);
        if bin != current && count > 0 {
            bins.push((sum / count as f64, (count as f64).sqrt()));
            (sum, count) = (0.0, 0);
        }
        current = bin;
        sum += v as f64;
        count += 1;
    }
    bins.push((sum / count as f64, (count as f64).sqrt()));
    fit(&bins, k)
}

/// `k` sorted entries for sorted, weighted points: the points themselves
/// (the last repeated) when they fit, else [`optimal_1d`].
fn fit(points: &[(f64, f64)], k: usize) -> Vec<f32> {
    if points.len() > k {
        return optimal_1d(points, k);
    }
    let mut codebook: Vec<f32> = points.iter().map(|p| p.0 as f32).collect();
    let last = codebook[codebook.len() - 1];
    codebook.resize(k, last);
    codebook
}

/// The optimal `k` sorted entries for sorted, weighted `(value, weight)`
/// points (`k < points.len()`): the partition of the points into `k` runs
/// with the least weighted squared error, each entry its run's weighted
/// mean.
///
/// Dynamic programming over (entries, points). The best split point of a
/// prefix never moves left as the prefix grows (1D squared error satisfies
/// the quadrangle inequality), so each row is filled by divide and conquer
/// in `O(m log m)` instead of `O(m²)`.
fn optimal_1d(points: &[(f64, f64)], k: usize) -> Vec<f32> {
    let m = points.len();
    // Prefix sums of w, w·v and w·v²: any run's mean and error in O(1).
    let mut prefix = vec![(0.0f64, 0.0f64, 0.0f64); m + 1];
    for (i, &(v, w)) in points.iter().enumerate() {
        let p = prefix[i];
        prefix[i + 1] = (p.0 + w, p.1 + w * v, p.2 + w * v * v);
    }
    // Error and mean of the run of points `a..b`.
    let run = |a: usize, b: usize| {
        let (p, q) = (prefix[b], prefix[a]);
        let (w, wv, wvv) = (p.0 - q.0, p.1 - q.1, p.2 - q.2);
        if w > 0.0 { ((wvv - wv * wv / w).max(0.0), wv / w) } else { (0.0, points[a].0) }
    };
    // cost[j]: least error of points `0..j` in the entries so far;
    // splits[e][j]: where the last run of that solution starts.
    let mut cost: Vec<f64> = (0..=m).map(|j| run(0, j).0).collect();
    let mut splits = vec![vec![0u32; m + 1]; k];
    for row in splits.iter_mut().skip(1) {
        let mut next = vec![f64::INFINITY; m + 1];
        fill_row(&cost, &run, row, &mut next, 1, m, 1, m);
        cost = next;
    }
    let mut entries = vec![0.0f32; k];
    let mut end = m;
    for e in (0..k).rev() {
        let start = splits[e][end] as usize;
        entries[e] = run(start, end).1 as f32;
        end = start;
    }
    entries.sort_unstable_by(f32::total_cmp);
    entries
}

/// One row of [`optimal_1d`]: for every prefix length `j` in `lo..=hi`, the
/// best start `s` (searched in `s_lo..=s_hi`, `s < j`) of its last run.
#[expect(clippy::too_many_arguments, reason = "one recursive step of the row fill; a struct would only rename them")]
fn fill_row(
    previous: &[f64],
    run: &impl Fn(usize, usize) -> (f64, f64),
    splits: &mut [u32],
    cost: &mut [f64],
    lo: usize,
    hi: usize,
    s_lo: usize,
    s_hi: usize,
) {
    if lo > hi {
        return;
    }
    let j = (lo + hi) / 2;
    let mut best = (f64::INFINITY, s_lo.min(j - 1));
    for (s, &before) in previous.iter().enumerate().take(s_hi.min(j - 1) + 1).skip(s_lo) {
        let c = before + run(s, j).0;
        if c < best.0 {
            best = (c, s);
        }
    }
    cost[j] = best.0;
    splits[j] = best.1 as u32;
    if j > lo {
        fill_row(previous, run, splits, cost, lo, j - 1, s_lo, best.1);
    }
    fill_row(previous, run, splits, cost, j + 1, hi, best.1, s_hi);
}

/// The index of the codebook entry nearest to `v` (`codebook` sorted, at
/// most 256 entries).
pub(crate) fn nearest_index(codebook: &[f32], v: f32) -> u8 {
    let i = codebook.partition_point(|&c| c < v);
    let best = if i == 0 {
        0
    } else if i == codebook.len() {
        codebook.len() - 1
    } else if v - codebook[i - 1] <= codebook[i] - v {
        i - 1
    } else {
        i
    };
    best as u8
}

/// A vector palette: `centroids` (`count × dim`, row-major) and one label
/// per input vector.
pub(crate) struct Palette {
    /// Entries, `dim` values each.
    pub centroids: Vec<f32>,
    /// The entry of each input vector.
    pub labels: Vec<u32>,
}

impl Palette {
    /// How many entries the palette has.
    pub fn count(&self, dim: usize) -> usize {
        self.centroids.len() / dim.max(1)
    }
}

/// The palette size the SOG writer uses for `n` splats: the largest power of
/// two ≤ `n`, at most 65,536 (what 16-bit labels address), as PlayCanvas'
/// writer chooses.
pub(crate) fn palette_size(n: usize) -> usize {
    if n == 0 { 1 } else { (1usize << n.ilog2()).min(1 << 16) }
}

/// Clusters `n = data.len() / dim` vectors into `k` entries (a power of two).
///
/// Balanced bisection first: each node is split at the median of its
/// highest-variance coordinate until there are `k` leaves (every leaf holds
/// ⌊n/k⌋ or ⌈n/k⌉ vectors, none is empty). Then `iterations` rounds of
/// Lloyd refinement in which a vector may move to any cluster of its aligned
/// block of [`REFINE_BLOCK`] leaves (the blocks shift by half a block every
/// other round so clusters trade across block edges). With `n ≤ k` every
/// vector is its own entry.
pub(crate) fn palette(data: &[f32], dim: usize, k: usize, iterations: u32) -> Palette {
    let n = data.len() / dim.max(1);
    if n <= k || dim == 0 {
        return Palette { centroids: data[..n * dim].to_vec(), labels: (0..n as u32).collect() };
    }
    debug_assert!(k.is_power_of_two());
    let mut order: Vec<u32> = (0..n as u32).collect();
    let mut labels = vec![0u32; n];
    let depth = k.ilog2();
    bisect(data, dim, &mut order, depth, 0, &mut labels);
    let mut centroids = vec![0.0f32; k * dim];
    update_means(data, dim, &labels, &mut centroids);
    let block = REFINE_BLOCK.min(k);
    for round in 0..iterations {
        let shift = if round % 2 == 1 && block < k { block / 2 } else { 0 };
        reassign(data, dim, &centroids, block, shift, &mut labels);
        update_means(data, dim, &labels, &mut centroids);
    }
    Palette { centroids, labels }
}

/// Splits `order` (indices of vectors) into `2^depth` leaves numbered from
/// `first`, writing each vector's leaf into `labels`.
fn bisect(data: &[f32], dim: usize, order: &mut [u32], depth: u32, first: u32, labels: &mut [u32]) {
    if depth == 0 || order.len() < 2 {
        for &i in order.iter() {
            labels[i as usize] = first;
        }
        return;
    }
    let m = order.len() as f64;
    let mut best = (0, -1.0f64);
    for d in 0..dim {
        let mean = order.iter().map(|&i| data[i as usize * dim + d] as f64).sum::<f64>() / m;
        let var = order.iter().map(|&i| (data[i as usize * dim + d] as f64 - mean).powi(2)).sum::<f64>();
        if var > best.1 {
            best = (d, var);
        }
    }
    let axis = best.0;
    let mid = order.len() / 2;
    order.select_nth_unstable_by(mid, |&a, &b| {
        data[a as usize * dim + axis].total_cmp(&data[b as usize * dim + axis]).then(a.cmp(&b))
    });
    let (left, right) = order.split_at_mut(mid);
    let half = 1u32 << (depth - 1);
    bisect(data, dim, left, depth - 1, first, labels);
    bisect(data, dim, right, depth - 1, first + half, labels);
}

/// Sets each centroid to the mean of its vectors; an empty cluster keeps its
/// entry.
fn update_means(data: &[f32], dim: usize, labels: &[u32], centroids: &mut [f32]) {
    let k = centroids.len() / dim;
    let mut sums = vec![0.0f64; k * dim];
    let mut counts = vec![0u32; k];
    for (i, &l) in labels.iter().enumerate() {
        let l = l as usize;
        counts[l] += 1;
        for d in 0..dim {
            sums[l * dim + d] += data[i * dim + d] as f64;
        }
    }
    for (c, &count) in counts.iter().enumerate() {
        if count > 0 {
            for d in 0..dim {
                centroids[c * dim + d] = (sums[c * dim + d] / count as f64) as f32;
            }
        }
    }
}

/// Moves every vector to the nearest centroid of its block (ties keep the
/// lower index), on all cores.
fn reassign(data: &[f32], dim: usize, centroids: &[f32], block: usize, shift: usize, labels: &mut [u32]) {
    let k = centroids.len() / dim;
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get()).min(16);
    let chunk = labels.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        for (c, part) in labels.chunks_mut(chunk).enumerate() {
            scope.spawn(move || {
                for (j, label) in part.iter_mut().enumerate() {
                    let i = c * chunk + j;
                    let v = &data[i * dim..(i + 1) * dim];
                    // The block holding the current label, shifted by `shift`.
                    let start = ((*label as usize + shift) / block * block) as isize - shift as isize;
                    let (base, end) = (start.max(0) as usize, ((start + block as isize) as usize).min(k));
                    let mut best = (*label as usize, f32::INFINITY);
                    for e in base..end {
                        let centre = &centroids[e * dim..(e + 1) * dim];
                        let d2: f32 = v.iter().zip(centre).map(|(a, b)| (a - b) * (a - b)).sum();
                        if d2 < best.1 {
                            best = (e, d2);
                        }
                    }
                    *label = best.0 as u32;
                }
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codebook_fits_clusters_and_keeps_tails() {
        // Two dense clusters and a sparse tail: with 4 entries, both
        // clusters are hit exactly and the tail gets its own entries.
        let mut values = vec![1.0f32; 1000];
        values.extend(vec![2.0f32; 1000]);
        values.extend([40.0, 41.0]);
        let cb = codebook_1d(&values, 4);
        assert!(cb.windows(2).all(|w| w[0] <= w[1]), "{cb:?}");
        assert_eq!(cb[nearest_index(&cb, 1.0) as usize], 1.0, "{cb:?}");
        assert_eq!(cb[nearest_index(&cb, 2.0) as usize], 2.0, "{cb:?}");
        assert!((cb[nearest_index(&cb, 40.5) as usize] - 40.5).abs() <= 0.5, "{cb:?}");
        assert_eq!(codebook_1d(&[3.0; 10], 256), vec![3.0; 256]);
        assert_eq!(codebook_1d(&[], 4), vec![0.0; 4]);
        // Nearest index at and beyond the ends.
        let cb = [0.0, 1.0, 2.0];
        assert_eq!([-5.0, 0.4, 0.6, 1.5, 9.0].map(|v| nearest_index(&cb, v)), [0, 0, 1, 1, 2]);
    }

    /// Weighted squared error of `points` quantised to their nearest entry.
    fn weighted_error(points: &[(f64, f64)], entries: &[f32]) -> f64 {
        points.iter().map(|&(v, w)| w * (v - entries[nearest_index(entries, v as f32) as usize] as f64).powi(2)).sum()
    }

    #[test]
    fn optimal_codebook_matches_the_quadratic_dynamic_programme() {
        let mut rng = crate::testing::TestRng::new(3);
        for (m, k) in [(2, 1), (9, 3), (60, 7), (200, 31)] {
            let mut values: Vec<f64> = (0..m).map(|_| (rng.unit() as f64 * 4.0).exp()).collect();
            values.sort_by(f64::total_cmp);
            let points: Vec<(f64, f64)> = values.iter().map(|&v| (v, 0.1 + rng.unit() as f64)).collect();
            // The plain O(k·m²) programme: best[e][j] over all last runs.
            let run_error = |a: usize, b: usize| {
                let w: f64 = points[a..b].iter().map(|p| p.1).sum();
                let mean = points[a..b].iter().map(|p| p.0 * p.1).sum::<f64>() / w;
                points[a..b].iter().map(|p| p.1 * (p.0 - mean).powi(2)).sum::<f64>()
            };
            let mut best: Vec<f64> = (0..=m).map(|j| if j == 0 { 0.0 } else { run_error(0, j) }).collect();
            for _ in 1..k {
                best = (0..=m).map(|j| (1..j).map(|s| best[s] + run_error(s, j)).fold(f64::INFINITY, f64::min)).collect();
            }
            let entries = optimal_1d(&points, k);
            assert_eq!(entries.len(), k);
            let got = weighted_error(&points, &entries);
            assert!(got <= best[m] * (1.0 + 1e-4) + 1e-9, "m {m} k {k}: {got} vs optimum {}", best[m]);
        }
    }

    #[test]
    fn palette_is_balanced_and_refinement_lowers_the_error() {
        let dim = 9;
        let mut rng = crate::testing::TestRng::new(7);
        let data: Vec<f32> = (0..5000 * dim).map(|_| rng.unit() * 2.0 - 1.0).collect();
        let error = |p: &Palette| -> f64 {
            p.labels
                .iter()
                .enumerate()
                .map(|(i, &l)| {
                    (0..dim).map(|d| (data[i * dim + d] - p.centroids[l as usize * dim + d]).powi(2) as f64).sum::<f64>()
                })
                .sum()
        };
        let k = palette_size(5000);
        assert_eq!(k, 4096);
        let bisected = palette(&data, dim, 256, 0);
        let mut sizes = vec![0; 256];
        bisected.labels.iter().for_each(|&l| sizes[l as usize] += 1);
        assert!(sizes.iter().all(|&s| s == 19 || s == 20), "unbalanced leaves");
        let refined = palette(&data, dim, 256, 8);
        assert!(error(&refined) < error(&bisected), "{} vs {}", error(&refined), error(&bisected));
        // Fewer vectors than entries: every vector is exact.
        let small = palette(&data[..10 * dim], dim, 16, 4);
        assert_eq!(small.count(dim), 10);
        assert_eq!(error(&small), 0.0);
        assert_eq!([0, 1, 5, 1024, 70_000, 1 << 20].map(palette_size), [1, 1, 4, 1024, 65536, 65536]);
    }
}
