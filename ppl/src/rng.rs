//! The PPL's random number generator: one ChaCha8 stream per thread.
//!
//! Sample sites and plate subsampling draw their randomness here (on the host, then upload),
//! never from burn's backend generator, so a [`crate::handlers::seed`] scope makes them
//! reproducible on every backend and the state can be saved in a checkpoint.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;

thread_local! {
    static RNG: RefCell<ChaCha8Rng> = RefCell::new(ChaCha8Rng::seed_from_u64(0x10be5));
}

/// The full state of the PPL's generator (seed, stream and position), for checkpoints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RngState {
    /// The 32-byte ChaCha seed.
    pub seed: [u8; 32],
    /// The stream number.
    pub stream: u64,
    /// The word position within the stream.
    pub word_pos: u128,
}

impl RngState {
    /// The state a generator seeded with `seed` starts from.
    pub fn from_seed(seed: u64) -> Self {
        state_of(&ChaCha8Rng::seed_from_u64(seed))
    }
}

fn state_of(r: &ChaCha8Rng) -> RngState {
    RngState {
        seed: r.get_seed(),
        stream: r.get_stream(),
        word_pos: r.get_word_pos(),
    }
}

fn rng_of(s: &RngState) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::from_seed(s.seed);
    r.set_stream(s.stream);
    r.set_word_pos(s.word_pos);
    r
}

/// Reseeds this thread's generator (Pyro's `set_rng_seed`).
pub fn set_rng_seed(seed: u64) {
    RNG.with(|r| *r.borrow_mut() = ChaCha8Rng::seed_from_u64(seed));
}

/// The current state of this thread's generator.
pub fn get_rng_state() -> RngState {
    RNG.with(|r| state_of(&r.borrow()))
}

/// Restores a state returned by [`get_rng_state`].
pub fn set_rng_state(s: &RngState) {
    RNG.with(|r| *r.borrow_mut() = rng_of(s));
}

/// Runs `f` with this thread's generator.
pub fn with_rng<T>(f: impl FnOnce(&mut ChaCha8Rng) -> T) -> T {
    RNG.with(|r| f(&mut r.borrow_mut()))
}

/// `n` standard normal draws.
pub fn normals(n: usize) -> Vec<f32> {
    with_rng(|r| {
        (0..n)
            .map(|_| r.sample::<f32, _>(rand_distr::StandardNormal))
            .collect()
    })
}

/// `n` uniform draws in `[0, 1)`.
pub fn uniforms(n: usize) -> Vec<f32> {
    with_rng(|r| (0..n).map(|_| r.random::<f32>()).collect())
}

/// A uniformly random subset of `0..size` of length `k`, in random order.
pub fn subsample_indices(size: usize, k: usize) -> Vec<usize> {
    with_rng(|r| rand::seq::index::sample(r, size, k).into_vec())
}

/// A fresh 64-bit seed drawn from this thread's generator.
pub fn next_seed() -> u64 {
    with_rng(|r| r.random::<u64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips() {
        set_rng_seed(7);
        let _ = normals(3);
        let s = get_rng_state();
        let a = normals(5);
        set_rng_state(&s);
        assert_eq!(a, normals(5));
        assert_eq!(RngState::from_seed(7), {
            set_rng_seed(7);
            get_rng_state()
        });
    }
}
