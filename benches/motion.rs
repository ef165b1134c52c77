//! CPU evaluation of dynamic splats: one million splats of each motion kind
//! evaluated at one time (`GaussianSplats::evaluate`, single-threaded), the
//! maths the GPU mirrors. Reports splats/s.
//!
//! `cargo bench --bench motion`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;

use bevy::math::Vec3;
use bevy_radiance::splat::motion::MotionKind;
use bevy_radiance::testing::motion::synthetic_dynamic;

const SPLATS: usize = 1_000_000;

fn motion(c: &mut Criterion) {
    let mut group = c.benchmark_group("evaluate_1m");
    group.sample_size(10).measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(SPLATS as u64));
    for (name, kind) in [
        ("static", MotionKind::Static),
        ("spacetime", MotionKind::Spacetime),
        ("sliced4d", MotionKind::Sliced4d),
    ] {
        let splats = synthetic_dynamic(kind, SPLATS, 1);
        let t = splats.model_time(0.8);
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut acc = Vec3::ZERO;
                let mut opacity = 0.0f32;
                for i in 0..splats.len() {
                    let e = splats.evaluate(i, black_box(t));
                    acc += e.position + e.covariance.x_axis;
                    opacity += e.opacity;
                }
                black_box((acc, opacity))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, motion);
criterion_main!(benches);
