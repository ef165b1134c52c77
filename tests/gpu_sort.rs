//! The GPU radix sort against a CPU stable argsort.

mod common;

use bevy::render::render_resource::{BufferDescriptor, BufferUsages, CommandEncoderDescriptor, MapMode, PipelineCache, PollType};
use bevy_radiance::render::sort::{GpuRadixSort, RadixSortPipelines, cpu_stable_argsort};
use common::*;

/// Sorts `keys`; with `gpu_count = Some(m)` the buffers hold all of `keys`
/// but only the first `m` are sorted, the count coming from a GPU buffer
/// ([`GpuRadixSort::copy_count`], as the splat pass does).
fn gpu_sort_counted(r: &bevy_radiance::headless::HeadlessRenderer, keys: &[u32], gpu_count: Option<u32>) -> (Vec<u32>, Vec<u32>) {
    let world = r.render_world();
    let pipelines = world.resource::<RadixSortPipelines>();
    let cache = world.resource::<PipelineCache>();
    let kernels = pipelines.kernels(cache).expect("the sort kernels compiled while the renderer started");
    let device = r.render_device();
    let queue = r.render_queue();
    let n = keys.len() as u32;
    let sort = GpuRadixSort::new(device, &pipelines.bind_group_layouts(cache), n);
    let values: Vec<u32> = (0..n).collect();
    queue.write_buffer(sort.keys(), 0, bytemuck::cast_slice(keys));
    queue.write_buffer(sort.values(), 0, bytemuck::cast_slice(&values));
    sort.write_count(queue, n);
    let count_source = gpu_count.map(|m| {
        let buffer = device.create_buffer(&BufferDescriptor {
            label: Some("test:count"),
            size: 16,
            usage: BufferUsages::COPY_SRC | BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        queue.write_buffer(&buffer, 0, bytemuck::cast_slice(&[0u32, 0, m, 0]));
        buffer
    });
    let bytes = n as u64 * 4;
    let staging = device.create_buffer(&BufferDescriptor {
        label: Some("test:staging"),
        size: bytes * 2,
        usage: BufferUsages::MAP_READ | BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = device.create_command_encoder(&CommandEncoderDescriptor { label: None });
    if let Some(source) = &count_source {
        sort.copy_count(&mut encoder, source, 8);
    }
    sort.encode(&kernels, &mut encoder);
    encoder.copy_buffer_to_buffer(sort.keys(), 0, &staging, 0, bytes);
    encoder.copy_buffer_to_buffer(sort.values(), 0, &staging, bytes, bytes);
    queue.submit([encoder.finish()]);
    staging.slice(..).map_async(MapMode::Read, |r| r.expect("map staging buffer"));
    device.poll(PollType::Wait { submission_index: None, timeout: None }).expect("poll");
    let data = staging.slice(..).get_mapped_range();
    let all: &[u32] = bytemuck::cast_slice(&data);
    (all[..n as usize].to_vec(), all[n as usize..].to_vec())
}

fn gpu_sort(r: &bevy_radiance::headless::HeadlessRenderer, keys: &[u32]) -> (Vec<u32>, Vec<u32>) {
    gpu_sort_counted(r, keys, None)
}

fn check(r: &bevy_radiance::headless::HeadlessRenderer, keys: &[u32], what: &str) {
    let (sorted_keys, values) = gpu_sort(r, keys);
    let expected = cpu_stable_argsort(keys);
    if values != expected {
        let first = values.iter().zip(&expected).position(|(a, b)| a != b).unwrap_or(0);
        panic!("{what} (n = {}): GPU order differs from CPU stable argsort at {first}: {} vs {}", keys.len(), values[first], expected[first]);
    }
    let expected_keys: Vec<u32> = expected.iter().map(|&i| keys[i as usize]).collect();
    assert!(sorted_keys == expected_keys, "{what}: keys are not in order");
}

#[test]
fn radix_sort_matches_cpu_stable_argsort() {
    let r = renderer();
    let mut rng = TestRng::new(12345);
    // Sizes around the 256-element tile and the 4096-element block.
    for n in [1usize, 2, 255, 256, 257, 4095, 4096, 4097, 70_001] {
        let keys: Vec<u32> = (0..n).map(|_| rng.next_u32()).collect();
        check(&r, &keys, "random keys");
    }
    // Equal keys keep their input order; few distinct keys; the culled-splat sentinel.
    check(&r, &vec![7u32; 10_000], "equal keys");
    let few: Vec<u32> = (0..50_000).map(|_| rng.next_u32() % 5).collect();
    check(&r, &few, "five distinct keys");
    let mixed: Vec<u32> = (0..9_000).map(|i| if i % 3 == 0 { u32::MAX } else { rng.next_u32() }).collect();
    check(&r, &mixed, "with u32::MAX");
}

#[test]
fn radix_sort_millions() {
    let r = renderer();
    let mut rng = TestRng::new(777);
    // Depth-like keys: float bits of positive depths, inverted as the renderer does.
    let keys: Vec<u32> = (0..3_000_000).map(|_| (rng.range(0.1, 100.0)).to_bits() ^ u32::MAX).collect();
    check(&r, &keys, "3M depth keys");
}

#[test]
fn radix_sort_sorts_only_a_gpu_written_count() {
    let r = renderer();
    let mut rng = TestRng::new(99);
    let keys: Vec<u32> = (0..20_000).map(|_| rng.next_u32()).collect();
    // Counts around the tile and block sizes; 0 and 1 leave the buffers as they are.
    for m in [0u32, 1, 2, 255, 4097, 12_345, 20_000, 50_000] {
        let (sorted_keys, values) = gpu_sort_counted(&r, &keys, Some(m));
        let m = (m as usize).min(keys.len());
        let expected = cpu_stable_argsort(&keys[..m]);
        assert_eq!(&values[..m], &expected[..], "count {m}: the first {m} entries are not sorted");
        let identity: Vec<u32> = (m as u32..keys.len() as u32).collect();
        assert_eq!(&values[m..], &identity[..], "count {m}: entries past the count were moved");
        assert_eq!(&sorted_keys[m..], &keys[m..], "count {m}: keys past the count were moved");
    }
}
