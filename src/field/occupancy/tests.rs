//! Occupancy-grid tests.

use super::*;

#[test]
fn threshold_is_min_of_cap_and_mean() {
    // Mean below the cap.
    let mut v = vec![0.0f32; 1000];
    v[0] = 1.0; // mean 0.001
    assert!((occupancy_threshold(&v) - 0.001).abs() < 1e-9);
    // Mean above the cap.
    v[1..20].fill(1.0);
    assert_eq!(occupancy_threshold(&v), 0.01);
    // Negative (unseen) cells count as 0, NaN as 0.
    let w = vec![-1.0, -1.0, 0.004, f32::NAN];
    assert!((occupancy_threshold(&w) - 0.001).abs() < 1e-9);
    // +inf cells make the mean infinite; the threshold stays finite.
    let inf = vec![0.0, 0.0, f32::INFINITY, 0.0];
    assert_eq!(occupancy_threshold(&inf), 0.01);
}

#[test]
fn bits_in_morton_order_with_inf_cells() {
    let n = OCCUPANCY_GRID_CELLS as usize;
    let mut values = vec![0.0f32; n];
    let a = morton3d(1, 2, 3) as usize;
    let b = morton3d(100, 5, 77) as usize;
    let c = morton3d(7, 7, 7) as usize;
    values[a] = 0.5;
    values[b] = f32::INFINITY;
    values[c] = f32::NAN;
    values[0] = -1.0;
    let occ = Occupancy::from_density_grid(&values, 1, None);
    assert_eq!(occ.threshold, 0.01);
    assert_eq!(occ.occupied_count(0), 2);
    assert!(occ.cell_occupied(0, a as u32) && occ.cell_occupied(0, b as u32));
    assert!(!occ.cell_occupied(0, c as u32) && !occ.cell_occupied(0, 0));
    // Bit i of the u32 words is Morton index i.
    assert_eq!(occ.bitfields[0][a / 32] >> (a % 32) & 1, 1);
    // Position lookup: cell (1, 2, 3) spans [1/128, 2/128) × … .
    let p = Vec3::new(1.5, 2.5, 3.5) / 128.0;
    assert!(occ.is_occupied(p, 0));
    assert!(!occ.is_occupied(p + Vec3::X / 128.0, 0));
    // An explicit threshold overrides.
    let high = Occupancy::from_density_grid(&values, 1, Some(1.0));
    assert_eq!(high.occupied_count(0), 1);
}

#[test]
fn cascades_max_pool_into_their_centre() {
    let n = OCCUPANCY_GRID_CELLS as usize;
    let mut values = vec![0.0f32; 3 * n];
    // Cascade 0 cell (10, 20, 30) → cascade 1 cell (37, 42, 47) → cascade 2 cell (50, 53, 55).
    values[morton3d(10, 20, 30) as usize] = 1.0;
    // A cell of cascade 2 itself.
    values[2 * n + morton3d(0, 0, 0) as usize] = 1.0;
    let occ = Occupancy::from_density_grid(&values, 3, Some(0.01));
    assert!(occ.cell_occupied(1, morton3d(37, 42, 47)));
    assert!(occ.cell_occupied(2, morton3d(50, 53, 55)));
    assert!(occ.cell_occupied(2, morton3d(0, 0, 0)));
    assert_eq!(occ.occupied_count(0), 1);
    assert_eq!(occ.occupied_count(1), 1);
    assert_eq!(occ.occupied_count(2), 2);
    // The same point is occupied in every cascade.
    let p = Vec3::new(10.5, 20.5, 30.5) / 128.0;
    for k in 0..3 {
        assert!(occ.is_occupied(p, k), "cascade {k}");
    }
}

#[test]
fn cascade_choice_and_extent() {
    assert_eq!(mip_from_pos(Vec3::splat(0.2), 7), 0); // |d| = 0.3 < 0.5
    assert_eq!(mip_from_pos(Vec3::new(0.0, 0.5, 0.5), 7), 1); // |d| = 0.5: frexp exponent 0
    assert_eq!(mip_from_pos(Vec3::new(1.2, 0.5, 0.5), 7), 1); // 0.7
    assert_eq!(mip_from_pos(Vec3::new(1.6, 0.5, 0.5), 7), 2); // 1.1
    assert_eq!(mip_from_pos(Vec3::new(-3.0, 0.5, 0.5), 7), 3); // 3.5
    assert_eq!(mip_from_pos(Vec3::new(-3.0, 0.5, 0.5), 2), 2); // clamped
    assert_eq!(mip_from_pos(Vec3::splat(0.5), 7), 1); // exponent of 0 is 0
    assert_eq!(mip_from_pos(Vec3::splat(0.5), 0), 0);
    assert_eq!(frexp_exponent(1.0), 1);
    assert_eq!(frexp_exponent(0.75), 0);
    assert_eq!(frexp_exponent(0.25), -1);
    assert_eq!(frexp_exponent(1e-40), -132);
    // Cascade 1 covers [−0.5, 1.5] with 1/64 cells: −0.4 is in cell 6 along x.
    assert_eq!(cascaded_grid_index(Vec3::new(-0.4, 0.5, 0.5), 1), Some(morton3d(6, 64, 64)));
    assert_eq!(cascaded_grid_index(Vec3::new(-0.6, 0.5, 0.5), 1), None);
    assert_eq!(cascaded_grid_index(Vec3::new(1.0, 0.5, 0.5), 0), None);
    // Truncation toward zero: just below 0 still maps to cell 0.
    assert_eq!(cascaded_grid_index(Vec3::new(-0.001, 0.0, 0.0), 0), Some(0));
}
