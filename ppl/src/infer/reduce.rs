//! Data-parallel SVI: several replicas of one model and guide (processes under MPI, devices,
//! threads) each take a shard of every batch, and a [`GradientReducer`] makes them one
//! optimiser step. As in Pyro's Horovod example, each replica's data plate keeps the size of
//! the whole batch and subsamples its shard (`plate("data", global).subsample(shard)`), so its
//! ELBO is scaled to the whole batch; the replicas' mean loss and mean gradient are then the
//! whole batch's, and every replica, from the same parameters and the same averaged gradient,
//! takes the same step.
//!
//! [`Svi::with_reducer`](super::Svi::with_reducer) calls the reducer twice a step: with the
//! loss, before any gradient, so that a non-finite loss on one replica is a bad step on all
//! (none is left waiting for the others' gradients); and with the gradients, sorted by name,
//! before the optimiser. [`ThreadReducer`] averages between threads of one process; an MPI
//! implementation lives outside the PPL.

use crate::error::{PplError, Result};
use crate::tensor::DTensor;
use std::sync::{Arc, Barrier, Mutex};

/// Combines the replicas of one SVI step.
pub trait GradientReducer {
    /// This replica's loss in, the mean over replicas out: NaN when any replica's loss is not
    /// finite, on every replica.
    fn mean_loss(&mut self, loss: f64) -> Result<f64>;
    /// Replaces `grads` (the same names and shapes on every replica, sorted by name) by their
    /// mean over replicas.
    fn mean_gradients(&mut self, grads: &mut [(String, DTensor)]) -> Result<()>;
}

struct Shared {
    losses: Vec<f64>,
    grads: Vec<Option<Vec<Vec<f32>>>>,
}

/// Averages between `n` threads of one process, each owning one replica (e.g. one per device
/// of a node, or tests of the data-parallel rule): [`ThreadReducer::group`] makes one reducer
/// per thread. Sums are taken in replica order, so every replica gets the same bits.
pub struct ThreadReducer {
    rank: usize,
    n: usize,
    barrier: Arc<Barrier>,
    shared: Arc<Mutex<Shared>>,
}

impl ThreadReducer {
    /// `n` reducers, one per replica (move each into its thread).
    pub fn group(n: usize) -> Vec<ThreadReducer> {
        let n = n.max(1);
        let barrier = Arc::new(Barrier::new(n));
        let shared = Arc::new(Mutex::new(Shared {
            losses: vec![0.0; n],
            grads: vec![None; n],
        }));
        (0..n)
            .map(|rank| ThreadReducer {
                rank,
                n,
                barrier: barrier.clone(),
                shared: shared.clone(),
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl GradientReducer for ThreadReducer {
    fn mean_loss(&mut self, loss: f64) -> Result<f64> {
        self.lock().losses[self.rank] = loss;
        self.barrier.wait();
        let losses = self.lock().losses.clone();
        self.barrier.wait();
        Ok(if losses.iter().all(|l| l.is_finite()) {
            losses.iter().sum::<f64>() / self.n as f64
        } else {
            f64::NAN
        })
    }

    fn mean_gradients(&mut self, grads: &mut [(String, DTensor)]) -> Result<()> {
        let mine: Vec<Vec<f32>> = grads.iter().map(|(_, g)| g.to_vec()).collect();
        self.lock().grads[self.rank] = Some(mine);
        self.barrier.wait();
        let summed: Result<Vec<Vec<f32>>> = {
            let shared = self.lock();
            let all: Vec<&Vec<Vec<f32>>> = shared.grads.iter().flatten().collect();
            grads
                .iter()
                .enumerate()
                .map(|(i, (name, _))| {
                    let len = all[0].get(i).map_or(0, Vec::len);
                    if all.iter().any(|g| g.get(i).map(Vec::len) != Some(len)) {
                        return Err(PplError::ReplicaMismatch {
                            param: name.clone(),
                            reason: "the gradients differ in size (a replica with another \
                                     model or parameter set)"
                                .into(),
                        });
                    }
                    let mut sum = vec![0.0f32; len];
                    for g in &all {
                        for (s, v) in sum.iter_mut().zip(&g[i]) {
                            *s += v;
                        }
                    }
                    Ok(sum.into_iter().map(|s| s / self.n as f32).collect())
                })
                .collect()
        };
        self.barrier.wait();
        self.lock().grads[self.rank] = None;
        for ((_, g), mean) in grads.iter_mut().zip(summed?) {
            *g = DTensor::from_floats(mean, g.shape(), &g.device())?;
        }
        Ok(())
    }
}
