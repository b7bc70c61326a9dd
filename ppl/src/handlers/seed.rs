//! `seed`: makes the draws inside reproducible.

use crate::error::Result;
use crate::rng::{get_rng_state, set_rng_seed, set_rng_state};

struct Restore(crate::rng::RngState);
impl Drop for Restore {
    fn drop(&mut self) {
        set_rng_state(&self.0);
    }
}

/// Runs `f` with the PPL's generator seeded with `seed`, then restores the generator's previous
/// state however `f` ends (`poutine.seed(f, rng_seed)`). Sample sites and plate subsampling
/// draw from this generator; burn operations inside user networks (dropout) use burn's own,
/// seeded with `Device::seed`.
pub fn seed<R>(seed: u64, f: impl FnOnce() -> Result<R>) -> Result<R> {
    let _restore = Restore(get_rng_state());
    set_rng_seed(seed);
    f()
}
