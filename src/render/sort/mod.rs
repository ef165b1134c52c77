//! A stable GPU radix sort of `(u32 key, u32 value)` pairs.
//!
//! The splat renderer uses it to order every visible splat of a view, across all
//! splat entities at once, by depth. It is a standalone primitive:
//! [`RadixSortPipelines`] queues the kernels once per app (`RenderStartup`), a
//! [`GpuRadixSort`] per user owns its key/value buffers; write keys and values
//! into [`GpuRadixSort::keys`] and [`GpuRadixSort::values`], set the element
//! count (from the CPU with [`GpuRadixSort::write_count`], or from a count a
//! GPU pass wrote with [`GpuRadixSort::copy_count`]), then record
//! [`GpuRadixSort::encode`] with the compiled [`SortKernels`]. A one-thread
//! setup kernel sizes every pass from that count (indirect dispatch), so a
//! GPU-counted subset — the visible splats — is sorted without a CPU round trip.
//!
//! The result is the same permutation as a CPU stable sort by key (see
//! [`cpu_stable_argsort`]); the tests check that on sizes around the block and
//! tile boundaries, on equal keys and on millions of elements.

mod pipeline;

pub use pipeline::{
    RadixSortPipelines, SORT_BLOCK, SortLayouts, SORT_KERNELS, SORT_MASK_LEN, SORT_SCAN_CHUNK, SORT_SCAN_ITEMS,
    SORT_TILES_PER_BLOCK, SORT_WORKGROUP_SIZE, SortKernels, init_radix_sort_pipelines,
};

use bevy::render::render_resource::{
    BindGroup, BindGroupEntries, Buffer, BufferBinding, BufferUsages,
    CommandEncoder, ComputePassDescriptor, ShaderType,
};
use bevy::render::renderer::{RenderDevice, RenderQueue};

use crate::render::gpu::create_buffer;
use crate::render::memory::GpuMemoryUsage;

/// Bits sorted per pass.
pub const RADIX_BITS: u32 = 8;
/// Passes of a full 32-bit key.
pub const PASSES: usize = (32 / RADIX_BITS) as usize;
/// Stride of one pass's parameters in the uniform buffer (every adapter's
/// uniform offset alignment divides it).
pub const PARAMS_STRIDE: u64 = 256;

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

/// The sort's count and indirect dispatch sizes (`SortState` in
/// `shaders/sort/setup.wgsl`), written by the setup kernel.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable, ShaderType)]
pub struct SortState {
    /// Elements to sort.
    pub n: u32,
    /// Indirect dispatch size of the block kernels (x, y, z).
    pub blocks_x: u32,
    /// See `blocks_x`.
    pub blocks_y: u32,
    /// See `blocks_x`.
    pub blocks_z: u32,
    /// Indirect dispatch size of the chunk kernels (x, y, z).
    pub chunks_x: u32,
    /// See `chunks_x`.
    pub chunks_y: u32,
    /// See `chunks_x`.
    pub chunks_z: u32,
    /// Capacity of the buffers (`n` is clamped to it).
    pub capacity: u32,
}

/// Byte offsets of the two indirect dispatch sizes in [`SortState`].
const BLOCKS_OFFSET: u64 = 4;
const CHUNKS_OFFSET: u64 = 16;

/// Buffers and bind groups for sorting up to `capacity` pairs.
#[derive(Clone)]
pub struct GpuRadixSort {
    capacity: u32,
    keys: [Buffer; 2],
    values: [Buffer; 2],
    state: Buffer,
    /// Histogram, scan partials and pass parameters (bound in the bind groups).
    scratch: [Buffer; 3],
    /// `bind_groups[0]` reads buffers 0 and writes 1; `[1]` the reverse.
    bind_groups: [BindGroup; 2],
    setup_bind_group: BindGroup,
}

impl GpuRadixSort {
    /// Allocates buffers for up to `capacity` pairs (at least 1); `layouts`
    /// are [`RadixSortPipelines::bind_group_layouts`].
    pub fn new(device: &RenderDevice, layouts: &SortLayouts, capacity: u32) -> Self {
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
            BufferUsages::UNIFORM | BufferUsages::STORAGE,
        );
        let state = buffer(
            "bevy_radiance:sort:state",
            size_of::<SortState>() as u64,
            BufferUsages::STORAGE | BufferUsages::INDIRECT | BufferUsages::COPY_DST,
        );
        let setup_bind_group = device.create_bind_group(
            "bevy_radiance:sort:setup_bind_group",
            &layouts.setup,
            &BindGroupEntries::sequential((state.as_entire_binding(), params.as_entire_binding())),
        );
        let layout = &layouts.passes;
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
            state,
            scratch: [hist, partials, params],
            bind_groups,
            setup_bind_group,
        }
    }

    /// The sort's buffers, for [`RadianceMemoryStats`](crate::render::memory::RadianceMemoryStats).
    pub fn memory(&self) -> GpuMemoryUsage {
        GpuMemoryUsage::of_buffers(self.keys.iter().chain(&self.values).chain([&self.state]).chain(&self.scratch))
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

    /// Sets the number of pairs to sort from the CPU (clamped to the
    /// capacity). Takes effect for the commands submitted after it.
    pub fn write_count(&self, queue: &RenderQueue, n: u32) {
        let state = SortState { n, capacity: self.capacity, ..Default::default() };
        queue.write_buffer(&self.state, 0, bytemuck::bytes_of(&state));
    }

    /// Records a copy of a GPU-written `u32` count (at byte `offset` of
    /// `source`, a multiple of 4) as the number of pairs to sort (clamped to
    /// the capacity, which [`Self::write_count`] must have set once).
    pub fn copy_count(&self, encoder: &mut CommandEncoder, source: &Buffer, offset: u64) {
        encoder.copy_buffer_to_buffer(source, offset, &self.state, 0, 4);
    }

    /// Records the sort of the first `n` pairs, `n` as set by
    /// [`Self::write_count`] or [`Self::copy_count`]. The sorted pairs end in
    /// [`Self::keys`] / [`Self::values`].
    pub fn encode(&self, kernels: &SortKernels<'_>, encoder: &mut CommandEncoder) {
        let mut pass = encoder.begin_compute_pass(&ComputePassDescriptor {
            label: Some("bevy_radiance:sort"),
            timestamp_writes: None,
        });
        pass.set_pipeline(kernels.setup);
        pass.set_bind_group(0, &self.setup_bind_group, &[]);
        pass.dispatch_workgroups(1, 1, 1);
        // count, scan_local, scan_partials, scan_add, scatter
        let grids = [Some(BLOCKS_OFFSET), Some(CHUNKS_OFFSET), None, Some(CHUNKS_OFFSET), Some(BLOCKS_OFFSET)];
        for p in 0..PASSES {
            let offset = (p as u64 * PARAMS_STRIDE) as u32;
            pass.set_bind_group(0, &self.bind_groups[p % 2], &[offset]);
            for (kernel, grid) in kernels.passes.iter().zip(grids) {
                pass.set_pipeline(kernel);
                match grid {
                    Some(at) => pass.dispatch_workgroups_indirect(&self.state, at),
                    None => pass.dispatch_workgroups(1, 1, 1),
                }
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
