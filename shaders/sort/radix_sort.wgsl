// bevy_radiance: stable GPU LSD radix sort of (u32 key, u32 value) pairs.
//
// One pass sorts by 8 bits of the key (`params.shift`); four passes sort a full
// 32-bit key. Each pass runs five kernels:
//   count        per-block digit histograms, stored digit-major: hist[digit * num_blocks + block]
//   scan_local   exclusive scan of 1024-entry chunks of `hist`, chunk totals to `partials`
//   scan_partials exclusive scan of `partials` by one workgroup (any length)
//   scan_add     adds each chunk's scanned total back to its entries
//   scatter      stable scatter: each block walks its elements in 256-element tiles,
//                ranks each element among the tile's equal digits with per-digit
//                thread bitmasks, and writes it to hist[digit, block] + (count of the
//                digit earlier in the block) + rank.
// No subgroup operations are used, so the sort runs on every WebGPU adapter.

// Sizes from `src/render/sort/pipeline.rs` (shader defs). One thread per 8-bit
// digit: the workgroup size equals the 256 digits, which the kernels rely on.
const WG: u32 = #{SORT_WORKGROUP_SIZE}u;
const TILES_PER_BLOCK: u32 = #{SORT_TILES_PER_BLOCK}u;
const BLOCK: u32 = WG * TILES_PER_BLOCK;
const SCAN_ITEMS: u32 = #{SORT_SCAN_ITEMS}u; // scan chunk = WG * SCAN_ITEMS entries
const MAX_DISPATCH_X: u32 = #{MAX_DISPATCH_X}u;

// Per-pass parameters, mirrored by `SortParams` (src/render/sort/mod.rs).
struct SortParams {
    // Number of elements to sort.
    n: u32,
    // Bit offset of this pass's digit.
    shift: u32,
    // ceil(n / BLOCK).
    num_blocks: u32,
    // Length of `hist`: 256 * num_blocks.
    hist_len: u32,
}

@group(0) @binding(0) var<uniform> params: SortParams;
@group(0) @binding(1) var<storage, read> keys_in: array<u32>;
@group(0) @binding(2) var<storage, read> values_in: array<u32>;
@group(0) @binding(3) var<storage, read_write> keys_out: array<u32>;
@group(0) @binding(4) var<storage, read_write> values_out: array<u32>;
@group(0) @binding(5) var<storage, read_write> hist: array<u32>;
@group(0) @binding(6) var<storage, read_write> partials: array<u32>;

var<workgroup> s_hist: array<atomic<u32>, #{SORT_WORKGROUP_SIZE}>; // one counter per 8-bit digit

@compute @workgroup_size(#{SORT_WORKGROUP_SIZE})
fn count(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let block = wg.x + wg.y * MAX_DISPATCH_X;
    if (block >= params.num_blocks) {
        return;
    }
    atomicStore(&s_hist[t], 0u);
    workgroupBarrier();
    let base = block * BLOCK;
    for (var i = 0u; i < TILES_PER_BLOCK; i++) {
        let idx = base + i * WG + t;
        if (idx < params.n) {
            let digit = (keys_in[idx] >> params.shift) & 255u;
            atomicAdd(&s_hist[digit], 1u);
        }
    }
    workgroupBarrier();
    hist[t * params.num_blocks + block] = atomicLoad(&s_hist[t]);
}

var<workgroup> s_scan: array<u32, #{SORT_WORKGROUP_SIZE}>;

// Exclusive scan of one value per thread across the workgroup; returns the
// exclusive prefix and leaves the total in s_scan[255] + own value (see callers).
fn workgroup_exclusive_scan(t: u32, value: u32) -> vec2<u32> {
    s_scan[t] = value;
    workgroupBarrier();
    for (var offset = 1u; offset < WG; offset = offset << 1u) {
        var add = 0u;
        if (t >= offset) {
            add = s_scan[t - offset];
        }
        workgroupBarrier();
        s_scan[t] = s_scan[t] + add;
        workgroupBarrier();
    }
    let inclusive = s_scan[t];
    let total = s_scan[WG - 1u];
    workgroupBarrier();
    return vec2<u32>(inclusive - value, total);
}

@compute @workgroup_size(#{SORT_WORKGROUP_SIZE})
fn scan_local(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let chunk = wg.x + wg.y * MAX_DISPATCH_X;
    if (chunk * WG * SCAN_ITEMS >= params.hist_len) {
        return;
    }
    let base = chunk * WG * SCAN_ITEMS + t * SCAN_ITEMS;
    var vals: array<u32, 4>;
    var sum = 0u;
    for (var i = 0u; i < SCAN_ITEMS; i++) {
        let idx = base + i;
        var v = 0u;
        if (idx < params.hist_len) {
            v = hist[idx];
        }
        vals[i] = sum;
        sum += v;
    }
    let scanned = workgroup_exclusive_scan(t, sum);
    for (var i = 0u; i < SCAN_ITEMS; i++) {
        let idx = base + i;
        if (idx < params.hist_len) {
            hist[idx] = scanned.x + vals[i];
        }
    }
    if (t == 0u) {
        partials[chunk] = scanned.y;
    }
}

@compute @workgroup_size(#{SORT_WORKGROUP_SIZE})
fn scan_partials(@builtin(local_invocation_index) t: u32) {
    let chunk_size = WG * SCAN_ITEMS;
    let count = (params.hist_len + chunk_size - 1u) / chunk_size;
    var carry = 0u;
    for (var start = 0u; start < count; start += WG) {
        let idx = start + t;
        var v = 0u;
        if (idx < count) {
            v = partials[idx];
        }
        let scanned = workgroup_exclusive_scan(t, v);
        if (idx < count) {
            partials[idx] = carry + scanned.x;
        }
        carry += scanned.y;
    }
}

@compute @workgroup_size(#{SORT_WORKGROUP_SIZE})
fn scan_add(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let chunk = wg.x + wg.y * MAX_DISPATCH_X;
    if (chunk * WG * SCAN_ITEMS >= params.hist_len) {
        return;
    }
    let add = partials[chunk];
    let base = chunk * WG * SCAN_ITEMS + t * SCAN_ITEMS;
    for (var i = 0u; i < SCAN_ITEMS; i++) {
        let idx = base + i;
        if (idx < params.hist_len) {
            hist[idx] += add;
        }
    }
}

// Tile ranking without subgroup operations: each thread sets its bit in its
// digit's WG-bit mask; an element's rank among equal digits of the tile is
// the number of set bits of lower threads. Three barriers per tile.
const MASK_WORDS: u32 = WG / 32u;

var<workgroup> s_base: array<u32, #{SORT_WORKGROUP_SIZE}>;
var<workgroup> s_mask: array<atomic<u32>, #{SORT_MASK_LEN}>; // [digit * MASK_WORDS + word]

@compute @workgroup_size(#{SORT_WORKGROUP_SIZE})
fn scatter(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let block = wg.x + wg.y * MAX_DISPATCH_X;
    if (block >= params.num_blocks) {
        return;
    }
    // Thread t owns digit t: its running output position and its mask words.
    s_base[t] = hist[t * params.num_blocks + block];
    for (var w = 0u; w < MASK_WORDS; w++) {
        atomicStore(&s_mask[t * MASK_WORDS + w], 0u);
    }
    workgroupBarrier();
    let base = block * BLOCK;
    let word = t / 32u;
    let bit = 1u << (t % 32u);
    for (var tile = 0u; tile < TILES_PER_BLOCK; tile++) {
        let tile_start = base + tile * WG;
        if (tile_start >= params.n) {
            break;
        }
        let idx = tile_start + t;
        let valid = idx < params.n;
        var digit = 0u;
        if (valid) {
            digit = (keys_in[idx] >> params.shift) & 255u;
            atomicOr(&s_mask[digit * MASK_WORDS + word], bit);
        }
        workgroupBarrier();
        if (valid) {
            var rank = countOneBits(atomicLoad(&s_mask[digit * MASK_WORDS + word]) & (bit - 1u));
            for (var w = 0u; w < word; w++) {
                rank += countOneBits(atomicLoad(&s_mask[digit * MASK_WORDS + w]));
            }
            let dst = s_base[digit] + rank;
            keys_out[dst] = keys_in[idx];
            values_out[dst] = values_in[idx];
        }
        workgroupBarrier();
        var total = 0u;
        for (var w = 0u; w < MASK_WORDS; w++) {
            total += countOneBits(atomicExchange(&s_mask[t * MASK_WORDS + w], 0u));
        }
        s_base[t] += total;
        workgroupBarrier();
    }
}
