// bevy_radiance: sizes the radix sort from an element count the GPU wrote
// (the splat preprocess counts the visible splats), so only those are sorted.
// One thread: writes every pass's `SortParams` and the indirect dispatch sizes
// of the block kernels (count, scatter) and the chunk kernels (scan_local,
// scan_add), split over x and y as `dispatch_grid` does on the CPU.

const BLOCK: u32 = #{SORT_BLOCK}u;
const SCAN_CHUNK: u32 = #{SORT_SCAN_CHUNK}u;
const PASSES: u32 = #{SORT_PASSES}u;
const RADIX_BITS: u32 = #{SORT_RADIX_BITS}u;
// u32 words between two passes' parameters (the uniform offset stride).
const PARAMS_STRIDE_WORDS: u32 = #{SORT_PARAMS_STRIDE_WORDS}u;
const MAX_DISPATCH_X: u32 = #{MAX_DISPATCH_X}u;

// Mirrored by `SortState` (src/render/sort/mod.rs).
struct SortState {
    // Elements to sort (written before the sort: by the CPU or copied from a GPU count).
    n: u32,
    // Indirect dispatch sizes of the block kernels.
    blocks_x: u32,
    blocks_y: u32,
    blocks_z: u32,
    // Indirect dispatch sizes of the chunk kernels.
    chunks_x: u32,
    chunks_y: u32,
    chunks_z: u32,
    // Capacity of the sort's buffers; `n` is clamped to it.
    capacity: u32,
}

@group(0) @binding(0) var<storage, read_write> state: SortState;
// `SortParams` of each pass, PARAMS_STRIDE_WORDS words apart.
@group(0) @binding(1) var<storage, read_write> params: array<u32>;

fn grid(groups: u32) -> vec2<u32> {
    if (groups <= MAX_DISPATCH_X) {
        return vec2<u32>(groups, 1u);
    }
    return vec2<u32>(MAX_DISPATCH_X, (groups + MAX_DISPATCH_X - 1u) / MAX_DISPATCH_X);
}

@compute @workgroup_size(1)
fn setup() {
    var n = min(state.n, state.capacity);
    // Nothing to order below two elements: no kernel runs.
    if (n < 2u) {
        n = 0u;
    }
    let num_blocks = (n + BLOCK - 1u) / BLOCK;
    let hist_len = 256u * num_blocks;
    for (var p = 0u; p < PASSES; p++) {
        let at = p * PARAMS_STRIDE_WORDS;
        params[at] = n;
        params[at + 1u] = RADIX_BITS * p;
        params[at + 2u] = num_blocks;
        params[at + 3u] = hist_len;
    }
    let blocks = grid(num_blocks);
    state.blocks_x = blocks.x;
    state.blocks_y = blocks.y;
    state.blocks_z = 1u;
    let chunks = grid((hist_len + SCAN_CHUNK - 1u) / SCAN_CHUNK);
    state.chunks_x = chunks.x;
    state.chunks_y = chunks.y;
    state.chunks_z = 1u;
}
