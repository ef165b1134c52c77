//! Test support shared by the unit tests, the integration tests, the
//! examples and the benchmarks: synthetic scenes and snapshots. Compiled for
//! the crate's own tests and with the `testing` feature (which the crate's
//! dev-dependency on itself turns on); not part of the stable API.

pub mod field;
pub mod motion;
pub mod random;

pub use random::{Damage, FuzzOutcome, TestRng, corrupt, fuzz_corruptions};
