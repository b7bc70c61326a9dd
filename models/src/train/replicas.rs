//! Data-parallel training: `N` replicas of one run (MPI ranks, or threads of one process), each
//! stepping on its shard of every batch, that together take the step one process takes on the
//! whole batch (see [`lobes_ppl::infer::reduce`]).
//!
//! The rule, on every replica `r` of `N`:
//!
//! - the same initial model (drawn on the host from `--seed`, [`crate::init`]) and the same
//!   augmentation stream (seeded from `--seed` and the epoch), so the whole batches are those of
//!   one process; replica `r` draws and rotates rows `r, r + N, ...` of each, and a final batch
//!   of fewer than `N` images is dropped ([`crate::data::augment::Augmented::epoch_shard`]);
//! - the data plate at the whole batch's size, subsampled at the shard's rows
//!   ([`crate::vae::Shard`]), so each replica's ELBO estimates the whole batch's;
//! - the PPL's generator (the guide's draws, dropout masks) seeded from [`replica_seed`]`(seed,
//!   r)` and the step: replica 0 draws exactly what a one-process run draws, the others their
//!   own streams;
//! - the losses averaged first (a non-finite loss on one replica is a bad step on all), then the
//!   gradients, so every replica takes the same step; every bad-step decision (skip, roll back,
//!   stop) is agreed ([`Replicas::max`]);
//! - evaluations (test or validation loss, RAMIS) computed by every replica, rank 0's values
//!   broadcast so every replica takes the same decisions (best epoch, plateau, early stop);
//! - rank 0 alone takes the run folder's lock and writes checkpoints, `metrics.csv`,
//!   `best.safetensors`, figures, and prints; the others read the folder only (a resumed or
//!   rolled-back checkpoint), so it must be on a file system every replica sees;
//! - at every checkpoint the replicas compare a hash of their parameters: replicas that
//!   drifted apart stop the run ([`PplError::ReplicaMismatch`]).

use crate::error::ModelError;
use lobes_ppl::PplError;
use lobes_ppl::infer::reduce::{GradientReducer, ThreadReducer};
use lobes_ppl::prelude::DTensor;
use std::sync::{Arc, Barrier, Mutex};

/// The seed of replica `rank`'s generator: `seed` itself for rank 0 (so that a run on one
/// replica is the one-process run), SplitMix64 of `seed ^ rank · 0x9E3779B97F4A7C15` for the
/// others. Recorded in checkpoints as [`REPLICA_SEED_RULE`].
pub fn replica_seed(seed: u64, rank: usize) -> u64 {
    if rank == 0 {
        return seed;
    }
    let mut z = seed ^ (rank as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// [`replica_seed`] in words, as data-parallel checkpoints record it (`lobes.replica_seeds`).
pub const REPLICA_SEED_RULE: &str = "rank 0: seed; rank r > 0: splitmix64(seed ^ r * 0x9E3779B97F4A7C15); rows r, r+N, ... of each batch";

/// One replica of a data-parallel run: what [`super::train_replica`] needs besides the options.
pub trait Replicas {
    /// This replica's rank, `0..replicas()`.
    fn rank(&self) -> usize;
    /// The number of replicas.
    fn replicas(&self) -> usize;
    /// How the replicas talk (`mpi`, `threads`), for messages.
    fn transport(&self) -> &'static str;
    /// The reducer of this replica's SVI (taken once).
    fn reducer(&mut self) -> Result<Box<dyn GradientReducer>, PplError>;
    /// The maximum of `value` over replicas, on every replica. `what` names the operation in
    /// errors.
    fn max(&mut self, what: &str, value: u64) -> Result<u64, PplError>;
    /// Replaces `values` by rank 0's, on every replica: rank 0's bits and every other
    /// replica's zeros, [`Replicas::sum`]med.
    fn broadcast(&mut self, what: &str, values: &mut [f64]) -> Result<(), PplError> {
        let lead = self.rank() == 0;
        let mut bits: Vec<u64> = values
            .iter()
            .map(|v| if lead { v.to_bits() } else { 0 })
            .collect();
        self.sum(&format!("broadcast of rank 0's {what}"), &mut bits)?;
        for (v, b) in values.iter_mut().zip(bits) {
            *v = f64::from_bits(b);
        }
        Ok(())
    }
    /// Replaces `values` by their element-wise sum over replicas (wrapping), on every replica:
    /// with each element non-zero on one replica only, every replica gets every replica's
    /// values (a gather).
    fn sum(&mut self, what: &str, values: &mut [u64]) -> Result<(), PplError>;
    /// The gradient exchanges so far ([`Traffic`]); `None` where not measured.
    fn traffic(&self) -> Option<Traffic> {
        None
    }
}

/// What a replica's gradient exchanges cost.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Traffic {
    /// Bytes of gradients all-reduced by one step.
    pub bytes: u64,
    /// Collectives per step.
    pub collectives: usize,
    /// Seconds spent in gradient exchanges (copies to and from the host included), in all.
    pub seconds: f64,
    /// Steps whose gradients were exchanged.
    pub steps: u64,
}

/// A boxed reducer, as [`lobes_ppl::infer::Svi::with_reducer`] takes one.
pub(super) struct Boxed(pub Box<dyn GradientReducer>);

impl GradientReducer for Boxed {
    fn mean_loss(&mut self, loss: f64) -> lobes_ppl::Result<f64> {
        self.0.mean_loss(loss)
    }
    fn mean_gradients(&mut self, grads: &mut [(String, DTensor)]) -> lobes_ppl::Result<()> {
        self.0.mean_gradients(grads)
    }
}

/// Whether every replica holds the same `value` (its maximum and its complement's agree).
pub(super) fn all_equal(r: &mut dyn Replicas, what: &str, value: u64) -> Result<bool, PplError> {
    let hi = r.max(what, value)?;
    let lo = !r.max(what, !value)?;
    Ok(hi == value && lo == value)
}

/// A hash of every parameter of `store` (names sorted, values' bits), to check that replicas
/// hold the same parameters.
/// Stops, naming the epoch and this rank, unless every replica holds the same parameters (a
/// hash of all of them compared at a checkpoint).
pub(super) fn check_params(
    r: &mut dyn Replicas,
    store: &lobes_ppl::ParamStore,
    epoch: usize,
) -> Result<(), PplError> {
    let (rank, ranks) = (r.rank(), r.replicas());
    if all_equal(r, "parameter check", params_hash(store))? {
        return Ok(());
    }
    Err(PplError::ReplicaMismatch {
        param: "(all parameters)".into(),
        reason: format!(
            "the replicas' parameters differ at epoch {epoch} (a hash of every parameter \
             compared at the checkpoint): rank {rank} of {ranks} stops"
        ),
    })
}

/// The one line that reports what the gradient exchanges of an epoch cost.
pub(super) fn traffic_note(r: &dyn Replicas, t: &Traffic, epoch: usize, seconds: f64) -> String {
    format!(
        "data-parallel: {} replicas over {}: {:.1} MB of gradients all-reduced per step in {} \
         collectives, {:.3} s per step (the mean of epoch {epoch}'s {} steps; {:.0}% of the \
         epoch's time)",
        r.replicas(),
        r.transport(),
        t.bytes as f64 / 1e6,
        t.collectives,
        t.seconds / t.steps as f64,
        t.steps,
        100.0 * t.seconds / seconds
    )
}

pub(super) fn params_hash(store: &lobes_ppl::ParamStore) -> u64 {
    let mut names = store.names().to_vec();
    names.sort();
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let mut mix = |v: u64| {
        h = (h ^ v).wrapping_mul(0x0000_0100_0000_01b3);
        h ^= h >> 29;
    };
    for n in names {
        n.bytes().for_each(|b| mix(u64::from(b)));
        if let Some(t) = store.get(&n) {
            t.to_vec().iter().for_each(|v| mix(u64::from(v.to_bits())));
        }
    }
    h
}

struct Board {
    barrier: Barrier,
    slots: Mutex<Vec<Vec<u64>>>,
}

/// Replicas as threads of one process ([`ThreadReducer`] for the gradients): for tests of the
/// data-parallel rule, and as the one-process reference an MPI run is compared with (the same
/// rank streams, replayed in one process).
pub struct ThreadReplicas {
    rank: usize,
    n: usize,
    reducer: Option<ThreadReducer>,
    board: Arc<Board>,
}

impl ThreadReplicas {
    /// `n` replicas; move each into its own thread.
    pub fn group(n: usize) -> Vec<ThreadReplicas> {
        let n = n.max(1);
        let board = Arc::new(Board {
            barrier: Barrier::new(n),
            slots: Mutex::new(vec![vec![]; n]),
        });
        ThreadReducer::group(n)
            .into_iter()
            .enumerate()
            .map(|(rank, r)| ThreadReplicas {
                rank,
                n,
                reducer: Some(r),
                board: board.clone(),
            })
            .collect()
    }

    fn exchange(&self, mine: Vec<u64>) -> Vec<Vec<u64>> {
        let lock = || self.board.slots.lock().unwrap_or_else(|e| e.into_inner());
        lock()[self.rank] = mine;
        self.board.barrier.wait();
        let all = lock().clone();
        self.board.barrier.wait();
        all
    }
}

impl Replicas for ThreadReplicas {
    fn rank(&self) -> usize {
        self.rank
    }
    fn replicas(&self) -> usize {
        self.n
    }
    fn transport(&self) -> &'static str {
        "threads"
    }
    fn reducer(&mut self) -> Result<Box<dyn GradientReducer>, PplError> {
        match self.reducer.take() {
            Some(r) => Ok(Box::new(r)),
            None => Err(PplError::Collective {
                op: "reducer".into(),
                reason: "this replica's reducer was already taken".into(),
            }),
        }
    }
    fn max(&mut self, _what: &str, value: u64) -> Result<u64, PplError> {
        let all = self.exchange(vec![value]);
        Ok(all
            .iter()
            .filter_map(|v| v.first().copied())
            .max()
            .unwrap_or(value))
    }
    fn sum(&mut self, what: &str, values: &mut [u64]) -> Result<(), PplError> {
        let all = self.exchange(values.to_vec());
        if let Some(bad) = all.iter().position(|a| a.len() != values.len()) {
            return Err(PplError::Collective {
                op: format!("sum of the {what}"),
                reason: format!(
                    "replica {bad} gave {} values, replica {} gave {}",
                    all[bad].len(),
                    self.rank,
                    values.len()
                ),
            });
        }
        for (i, v) in values.iter_mut().enumerate() {
            *v = all.iter().fold(0u64, |s, a| s.wrapping_add(a[i]));
        }
        Ok(())
    }
}

/// Encodes optional values for [`Replicas::broadcast`]: a presence flag and the value.
pub(super) fn pack(values: &[Option<f64>]) -> Vec<f64> {
    values
        .iter()
        .flat_map(|v| [f64::from(u8::from(v.is_some())), v.unwrap_or(0.0)])
        .collect()
}

/// The inverse of [`pack`].
pub(super) fn unpack(packed: &[f64]) -> Vec<Option<f64>> {
    packed
        .chunks(2)
        .map(|p| (p[0] != 0.0).then_some(p[1]))
        .collect()
}

/// Agrees on a bad step's outcome: every replica contributes its own (0 skip, 1 roll back, 2 an
/// error that stops it) and all take the most severe.
pub(super) fn agree(
    r: &mut dyn Replicas,
    mine: Option<super::Recovery>,
    step: u64,
) -> Result<Option<super::Recovery>, ModelError> {
    use super::Recovery;
    let code = match mine {
        Some(Recovery::Skip) => 0,
        Some(Recovery::RollBack) => 1,
        None => 2,
    };
    let all = r.max("bad-step decision", code)?;
    Ok(match all {
        0 => Some(Recovery::Skip),
        1 => Some(Recovery::RollBack),
        _ if mine.is_none() => None,
        _ => {
            return Err(PplError::Collective {
                op: "bad-step decision".into(),
                reason: format!(
                    "another replica stopped with an error at step {step} (its message names it); \
                     rank {} of {} stops too",
                    r.rank(),
                    r.replicas()
                ),
            }
            .into());
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replica_zero_keeps_the_seed_and_the_others_differ() {
        assert_eq!(replica_seed(7, 0), 7);
        let s: Vec<u64> = (0..8).map(|r| replica_seed(7, r)).collect();
        let mut d = s.clone();
        d.sort();
        d.dedup();
        assert_eq!(d.len(), 8, "{s:?}");
        assert_ne!(replica_seed(8, 1), replica_seed(7, 1));
    }

    #[test]
    fn optional_values_survive_packing() {
        let v = [Some(1.5), None, Some(f64::NAN), Some(-0.0)];
        let u = unpack(&pack(&v));
        assert_eq!(u[0], Some(1.5));
        assert_eq!(u[1], None);
        assert!(u[2].is_some_and(f64::is_nan));
        assert_eq!(u[3].map(f64::to_bits), Some((-0.0f64).to_bits()));
    }

    #[test]
    fn thread_replicas_agree_on_the_maximum_and_rank_zeros_values() {
        let handles: Vec<_> = ThreadReplicas::group(3)
            .into_iter()
            .map(|mut r| {
                std::thread::spawn(move || {
                    let m = r.max("t", r.rank() as u64 * 10).unwrap();
                    let mut v = [r.rank() as f64, 1.0];
                    r.broadcast("t", &mut v).unwrap();
                    let same = all_equal(&mut r, "t", 5).unwrap();
                    let rank = r.rank() as u64;
                    let differ = all_equal(&mut r, "t", rank).unwrap();
                    (m, v, same, differ)
                })
            })
            .collect();
        for h in handles {
            let (m, v, same, differ) = h.join().unwrap();
            assert_eq!(m, 20);
            assert_eq!(v, [0.0, 1.0]);
            assert!(same);
            assert!(!differ);
        }
    }
}
