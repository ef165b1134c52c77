//! A stable GPU radix sort of `(u32 key, u32 value)` pairs.
//!
//! The splat renderer uses it to order every visible splat of a view, across all
//! splat entities at once, by depth. It is a standalone primitive:
//! [`RadixSortPipelines`] queues the kernels once per app (`RenderStartup`), a
//! [`GpuRadixSort`] per user owns its key/value buffers; write keys and values
//! into [`GpuRadixSort::keys`] and [`GpuRadixSort::values`], then record
//! [`GpuRadixSort::encode`] with the compiled [`SortKernels`].
//!
//! The result is the same permutation as a CPU stable sort by key (see
//! [`cpu_stable_argsort`]); the tests check that on sizes around the block and
//! tile boundaries, on equal keys and on millions of elements.

mod pipeline;

pub use pipeline::{
    RadixSortPipelines, SORT_BLOCK, SORT_KERNELS, SORT_SCAN_CHUNK, SORT_SCAN_ITEMS, SORT_TILES_PER_BLOCK,
    SORT_WORKGROUP_SIZE, SortKernels, init_radix_sort_pipelines,
};

use bevy::render::render_resource::{
    BindGroup, BindGroupEntries, BindGroupLayout, Buffer, BufferBinding, BufferUsages,
    CommandEncoder, ComputePassDescriptor, ShaderType,
};
use bevy::render::renderer::{RenderDevice, RenderQueue};

use crate::render::gpu::{create_buffer, dispatch_grid};

/// Bits sorted per pass.
pub const RADIX_BITS: u32 = 8;
/// Passes of a full 32-bit key.
const PASSES: usize = (32 / RADIX_BITS) as usize;
/// Stride of one pass's parameters in the uniform buffer (every adapter's
/// uniform offset alignment divides it).
const PARAMS_STRIDE: u64 = 256;

/// Per-pass parameters (`SortParams` in `shaders/sort/radix_sort.wgsl`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable, ShaderType)]
pub struct SortParams {
    /// Number of elements to sort.
    pub n: u32,
    /// Bit offset of the pass's digit.
    pub shift: u32,
    /// `ceil(n / SORT_BLOCK)`.
    pub num_blocks: u32,
    /// Histogram length: `256 · num_blocks`.
    pub hist_len: u32,
}

/// Buffers and bind groups for sorting up to `capacity` pairs.
#[derive(Clone)]
pub struct GpuRadixSort {
    capacity: u32,
    keys: [Buffer; 2],
    values: [Buffer; 2],
    params: Buffer,
    /// `bind_groups[0]` reads buffers 0 and writes 1; `[1]` the reverse.
    bind_groups: [BindGroup; 2],
}

impl GpuRadixSort {
    /// Allocates buffers for up to `capacity` pairs (at least 1); `layout`
    /// is [`RadixSortPipelines::bind_group_layout`].
    pub fn new(device: &RenderDevice, layout: &BindGroupLayout, capacity: u32) -> Self {
        let capacity = capacity.max(1);
        let buffer = |label: &str, size: u64, usage: BufferUsages| create_buffer(device, label, size, usage);
        let pair_usage = BufferUsages::STORAGE | BufferUsages::COPY_DST | BufferUsages::COPY_SRC;
        let n = capacity as u64 * 4;
        let keys = [
            buffer("bevy_radiance:sort:keys", n, pair_usage),
            buffer("bevy_radiance:sort:keys_tmp", n, pair_usage),
        ];
        let values = [
            buffer("bevy_radiance:sort:values", n, pair_usage),
            buffer("bevy_radiance:sort:values_tmp", n, pair_usage),
        ];
        let hist_len = histogram_len(capacity);
        let hist = buffer("bevy_radiance:sort:histogram", hist_len as u64 * 4, BufferUsages::STORAGE);
        let partials = buffer(
            "bevy_radiance:sort:partials",
            hist_len.div_ceil(SORT_SCAN_CHUNK).max(1) as u64 * 4,
            BufferUsages::STORAGE,
        );
        let params = buffer(
            "bevy_radiance:sort:params",
            PARAMS_STRIDE * PASSES as u64,
            BufferUsages::UNIFORM | BufferUsages::COPY_DST,
        );
        let bind_group = |src: usize, dst: usize| {
            device.create_bind_group(
                "bevy_radiance:sort:bind_group",
                layout,
                &BindGroupEntries::sequential((
                    BufferBinding {
                        buffer: &params,
                        offset: 0,
                        size: Some(SortParams::min_size()),
                    },
                    keys[src].as_entire_binding(),
                    values[src].as_entire_binding(),
                    keys[dst].as_entire_binding(),
                    values[dst].as_entire_binding(),
                    hist.as_entire_binding(),
                    partials.as_entire_binding(),
                )),
            )
        };
        let bind_groups = [bind_group(0, 1), bind_group(1, 0)];
        Self {
            capacity,
            keys,
            values,
            params,
            bind_groups,
        }
    }

    /// How many pairs the buffers hold.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// The key buffer: input of [`Self::encode`] and, after it, the sorted keys.
    pub fn keys(&self) -> &Buffer {
        &self.keys[0]
    }

    /// The value buffer: input of [`Self::encode`] and, after it, the values in key order.
    pub fn values(&self) -> &Buffer {
        &self.values[0]
    }

    /// Writes the per-pass parameters for sorting `n` pairs. Call once before
    /// submitting the commands recorded by [`Self::encode`] with the same `n`.
    pub fn write_params(&self, queue: &RenderQueue, n: u32) {
        let n = n.min(self.capacity);
        let mut bytes = vec![0u8; PARAMS_STRIDE as usize * PASSES];
        for pass in 0..PASSES {
            let p = SortParams {
                n,
                shift: RADIX_BITS * pass as u32,
                num_blocks: n.div_ceil(SORT_BLOCK),
                hist_len: histogram_len(n),
            };
            let at = pass * PARAMS_STRIDE as usize;
            bytes[at..at + size_of::<SortParams>()].copy_from_slice(bytemuck::bytes_of(&p));
        }
        queue.write_buffer(&self.params, 0, &bytes);
    }

    /// Records the sort of the first `n` pairs (clamped to the capacity).
    /// The sorted pairs end in [`Self::keys`] / [`Self::values`].
    pub fn encode(&self, kernels: &SortKernels<'_>, encoder: &mut CommandEncoder, n: u32) {
        let n = n.min(self.capacity);
        if n <= 1 {
            return;
        }
        let blocks = dispatch_grid(n.div_ceil(SORT_BLOCK));
        let chunks = dispatch_grid(histogram_len(n).div_ceil(SORT_SCAN_CHUNK));
        // count, scan_local, scan_partials, scan_add, scatter
        let grids = [blocks, chunks, (1, 1), chunks, blocks];
        let mut pass = encoder.begin_compute_pass(&ComputePassDescriptor {
            label: Some("bevy_radiance:sort"),
            timestamp_writes: None,
        });
        for p in 0..PASSES {
            let offset = (p as u64 * PARAMS_STRIDE) as u32;
            pass.set_bind_group(0, &self.bind_groups[p % 2], &[offset]);
            for (kernel, (x, y)) in kernels.0.iter().zip(grids) {
                pass.set_pipeline(kernel);
                pass.dispatch_workgroups(x, y, 1);
            }
        }
    }
}

/// Histogram entries for `n` elements: one per digit value per block.
fn histogram_len(n: u32) -> u32 {
    (1 << RADIX_BITS) * n.div_ceil(SORT_BLOCK)
}

/// The permutation a stable ascending sort by key produces: `result[i]` is the
/// index of the `i`-th smallest key, ties kept in input order.
pub fn cpu_stable_argsort(keys: &[u32]) -> Vec<u32> {
    let mut idx: Vec<u32> = (0..keys.len() as u32).collect();
    idx.sort_by_key(|&i| keys[i as usize]);
    idx
}
