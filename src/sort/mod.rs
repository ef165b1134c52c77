//! A stable GPU radix sort of `(u32 key, u32 value)` pairs.
//!
//! The splat renderer uses it to order every visible splat of a view, across all
//! splat entities at once, by depth. It is a standalone primitive: build
//! [`RadixSortPipelines`] once per device, a [`GpuRadixSort`] per user (it owns
//! its key/value buffers), write keys and values into [`GpuRadixSort::keys`] and
//! [`GpuRadixSort::values`], then record [`GpuRadixSort::encode`].
//!
//! The result is the same permutation as a CPU stable sort by key (see
//! [`cpu_stable_argsort`]); the tests check that on sizes around the block and
//! tile boundaries, on equal keys and on millions of elements.

use bevy::render::render_resource::{
    BindGroup, BindGroupEntry, BindGroupLayout, BindGroupLayoutEntry, BindingType, Buffer,
    BufferBindingType, BufferDescriptor, BufferUsages, CommandEncoder, ComputePassDescriptor,
    ComputePipeline, RawComputePipelineDescriptor, PipelineLayoutDescriptor, ShaderModuleDescriptor,
    ShaderSource, ShaderStages,
};
use bevy::render::renderer::{RenderDevice, RenderQueue};

/// Elements handled by one workgroup of the count and scatter kernels.
pub const SORT_BLOCK: u32 = 4096;
/// Histogram entries scanned by one workgroup.
const SCAN_CHUNK: u32 = 1024;
/// Bits sorted per pass; four passes sort 32-bit keys.
const PASSES: usize = 4;
/// Size of one pass's uniform block (padded to the uniform offset alignment).
const PARAMS_STRIDE: u64 = 256;

/// The sort's WGSL source.
pub const RADIX_SORT_WGSL: &str = include_str!("../../shaders/radix_sort.wgsl");

/// Per-pass parameters, mirrored by `SortParams` in `radix_sort.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct SortParams {
    /// Number of elements to sort.
    n: u32,
    /// Bit offset of the pass's 8-bit digit.
    shift: u32,
    /// `ceil(n / SORT_BLOCK)`.
    num_blocks: u32,
    /// `256 * num_blocks`.
    hist_len: u32,
}

/// Compiled kernels of the sort, shared by every [`GpuRadixSort`] on a device.
pub struct RadixSortPipelines {
    layout: BindGroupLayout,
    count: ComputePipeline,
    scan_local: ComputePipeline,
    scan_partials: ComputePipeline,
    scan_add: ComputePipeline,
    scatter: ComputePipeline,
}

impl RadixSortPipelines {
    /// Compiles the sort kernels.
    pub fn new(device: &RenderDevice) -> Self {
        let storage = |binding, read_only| BindGroupLayoutEntry {
            binding,
            visibility: ShaderStages::COMPUTE,
            ty: BindingType::Buffer {
                ty: BufferBindingType::Storage { read_only },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let entries = [
            BindGroupLayoutEntry {
                binding: 0,
                visibility: ShaderStages::COMPUTE,
                ty: BindingType::Buffer {
                    ty: BufferBindingType::Uniform,
                    has_dynamic_offset: true,
                    min_binding_size: None,
                },
                count: None,
            },
            storage(1, true),
            storage(2, true),
            storage(3, false),
            storage(4, false),
            storage(5, false),
            storage(6, false),
        ];
        let layout = device.create_bind_group_layout("bevy_radiance:sort:layout", &entries);
        let module = device.create_and_validate_shader_module(ShaderModuleDescriptor {
            label: Some("bevy_radiance:sort:shader"),
            source: ShaderSource::Wgsl(RADIX_SORT_WGSL.into()),
        });
        let pipeline_layout = device.create_pipeline_layout(&PipelineLayoutDescriptor {
            label: Some("bevy_radiance:sort:pipeline_layout"),
            bind_group_layouts: &[Some(&*layout)],
            immediate_size: 0,
        });
        let pipeline = |entry: &str| {
            device.create_compute_pipeline(&RawComputePipelineDescriptor {
                label: Some(&format!("bevy_radiance:sort:{entry}")),
                layout: Some(&pipeline_layout),
                module: &module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        Self {
            count: pipeline("count"),
            scan_local: pipeline("scan_local"),
            scan_partials: pipeline("scan_partials"),
            scan_add: pipeline("scan_add"),
            scatter: pipeline("scatter"),
            layout,
        }
    }
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

fn div_ceil(a: u32, b: u32) -> u32 {
    a.div_ceil(b)
}

/// Splits a workgroup count over x and y so neither exceeds 65 535.
fn dispatch_dims(groups: u32) -> (u32, u32) {
    if groups <= 65_535 {
        (groups.max(1), 1)
    } else {
        (65_535, div_ceil(groups, 65_535))
    }
}

impl GpuRadixSort {
    /// Allocates buffers for up to `capacity` pairs (at least 1).
    pub fn new(device: &RenderDevice, pipelines: &RadixSortPipelines, capacity: u32) -> Self {
        let capacity = capacity.max(1);
        let buffer = |label: &str, size: u64, usage: BufferUsages| {
            device.create_buffer(&BufferDescriptor {
                label: Some(label),
                size,
                usage,
                mapped_at_creation: false,
            })
        };
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
        let max_blocks = div_ceil(capacity, SORT_BLOCK);
        let hist_len = 256 * max_blocks;
        let hist = buffer(
            "bevy_radiance:sort:histogram",
            hist_len as u64 * 4,
            BufferUsages::STORAGE,
        );
        let partials = buffer(
            "bevy_radiance:sort:partials",
            div_ceil(hist_len, SCAN_CHUNK).max(1) as u64 * 4,
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
                &pipelines.layout,
                &[
                    BindGroupEntry {
                        binding: 0,
                        resource: bevy::render::render_resource::BindingResource::Buffer(
                            bevy::render::render_resource::BufferBinding {
                                buffer: &params,
                                offset: 0,
                                size: core::num::NonZeroU64::new(16),
                            },
                        ),
                    },
                    BindGroupEntry {
                        binding: 1,
                        resource: keys[src].as_entire_binding(),
                    },
                    BindGroupEntry {
                        binding: 2,
                        resource: values[src].as_entire_binding(),
                    },
                    BindGroupEntry {
                        binding: 3,
                        resource: keys[dst].as_entire_binding(),
                    },
                    BindGroupEntry {
                        binding: 4,
                        resource: values[dst].as_entire_binding(),
                    },
                    BindGroupEntry {
                        binding: 5,
                        resource: hist.as_entire_binding(),
                    },
                    BindGroupEntry {
                        binding: 6,
                        resource: partials.as_entire_binding(),
                    },
                ],
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
        let num_blocks = div_ceil(n, SORT_BLOCK);
        let mut bytes = vec![0u8; PARAMS_STRIDE as usize * PASSES];
        for pass in 0..PASSES {
            let p = SortParams {
                n,
                shift: 8 * pass as u32,
                num_blocks,
                hist_len: 256 * num_blocks,
            };
            let at = pass * PARAMS_STRIDE as usize;
            bytes[at..at + 16].copy_from_slice(bytemuck::bytes_of(&p));
        }
        queue.write_buffer(&self.params, 0, &bytes);
    }

    /// Records the sort of the first `n` pairs (clamped to the capacity).
    /// The sorted pairs end in [`Self::keys`] / [`Self::values`].
    pub fn encode(&self, pipelines: &RadixSortPipelines, encoder: &mut CommandEncoder, n: u32) {
        let n = n.min(self.capacity);
        if n <= 1 {
            return;
        }
        let num_blocks = div_ceil(n, SORT_BLOCK);
        let hist_chunks = div_ceil(256 * num_blocks, SCAN_CHUNK);
        let mut pass = encoder.begin_compute_pass(&ComputePassDescriptor {
            label: Some("bevy_radiance:sort"),
            timestamp_writes: None,
        });
        for p in 0..PASSES {
            let offset = (p as u64 * PARAMS_STRIDE) as u32;
            pass.set_bind_group(0, &self.bind_groups[p % 2], &[offset]);
            let (bx, by) = dispatch_dims(num_blocks);
            let (hx, hy) = dispatch_dims(hist_chunks);
            pass.set_pipeline(&pipelines.count);
            pass.dispatch_workgroups(bx, by, 1);
            pass.set_pipeline(&pipelines.scan_local);
            pass.dispatch_workgroups(hx, hy, 1);
            pass.set_pipeline(&pipelines.scan_partials);
            pass.dispatch_workgroups(1, 1, 1);
            pass.set_pipeline(&pipelines.scan_add);
            pass.dispatch_workgroups(hx, hy, 1);
            pass.set_pipeline(&pipelines.scatter);
            pass.dispatch_workgroups(bx, by, 1);
        }
    }
}

/// The permutation a stable ascending sort by key produces: `result[i]` is the
/// index of the `i`-th smallest key, ties kept in input order.
pub fn cpu_stable_argsort(keys: &[u32]) -> Vec<u32> {
    let mut idx: Vec<u32> = (0..keys.len() as u32).collect();
    idx.sort_by_key(|&i| keys[i as usize]);
    idx
}
