#![cfg(feature = "mpi")]
//! Data-parallel training across processes over MPI (`mpirun -np N lobes train
//! --data-parallel`; the `mpi` feature): [`MpiReducer`], the
//! [`GradientReducer`] of [`lobes_ppl::infer::Svi::with_reducer`] over `MPI_COMM_WORLD`, and
//! [`MpiReplicas`], a [`Replicas`] for [`lobes_models::train::train_replica`].
//!
//! Its own crate so that `--features mpi` rebuilds only this crate and the CLI, not
//! `lobes-models`. Without the `mpi` feature the crate is empty: the default build needs no MPI
//! library.
//!
//! Every collective is non-blocking (`MPI_Iallreduce`) and polled against a deadline
//! ([`Mpi::init`]'s time-out, `--collective-timeout`): a rank that died or is stuck makes the
//! others return [`PplError::Collective`] naming the operation, the ranks and the time waited,
//! rather than wait for ever; the caller then ends the job with [`Mpi::abort`] (`MPI_Abort`),
//! which also releases the buffers MPI still holds. (`mpirun` itself ends the job when a rank
//! is killed by a signal; the deadline covers a rank that lives but does not come.)
//!
//! Per step: one all-reduce of the loss (the sum, and a count of ranks whose loss was not
//! finite, so every rank takes the same bad-step decision); one of a signature of the
//! gradients' names and shapes (replicas with another model stop, on every rank); then the
//! gradients, flattened in name order and all-reduced in buckets of [`BUCKET_BYTES`] (the sum,
//! divided by the number of ranks), not one collective per tensor. For the Table-2 VAE
//! (104.25M parameters at d = 32) that is 417 MB in 16 buckets of at most 25 MiB, beside the
//! two small all-reduces of the loss and the signature.

use lobes_models::error::ModelError;
use lobes_models::train::{Replicas, Traffic};
use lobes_ppl::PplError;
use lobes_ppl::infer::reduce::GradientReducer;
use lobes_ppl::prelude::DTensor;
use mpi::collective::SystemOperation;
use mpi::datatype::Equivalence;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Bytes of gradients per all-reduce (PyTorch DDP's default bucket, 25 MiB).
pub const BUCKET_BYTES: usize = 25 << 20;

/// The default deadline of one collective (`--collective-timeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// Test hook: `kill:RANK:STEP` makes rank RANK SIGKILL itself at its STEP-th step (counted from
/// 1 by this process), `stall:RANK:STEP` makes it sleep there instead (a stuck rank).
pub const FAULT_ENV: &str = "LOBES_TEST_MPI_FAULT";

/// MPI, initialised: hold it for as long as MPI is used (dropping it finalises MPI).
pub struct Mpi {
    universe: Universe,
    timeout: Duration,
}

impl Mpi {
    /// Initialises MPI (`MPI_Init_thread`, MPI called from the main thread only) with
    /// `timeout` as every collective's deadline. Without `mpirun` the process is a world of
    /// one.
    pub fn init(timeout: Duration) -> Result<Mpi, ModelError> {
        let (universe, _) = mpi::initialize_with_threading(mpi::Threading::Funneled)
            .ok_or_else(|| ModelError::data_parallel(None, "MPI is already initialised"))?;
        Ok(Mpi { universe, timeout })
    }

    /// This process's rank in `MPI_COMM_WORLD`.
    pub fn rank(&self) -> usize {
        self.universe.world().rank() as usize
    }

    /// The number of ranks.
    pub fn size(&self) -> usize {
        self.universe.world().size() as usize
    }

    /// This rank as a replica of a data-parallel run.
    pub fn replicas(&self) -> MpiReplicas {
        let link = Link {
            rank: self.rank(),
            size: self.size(),
            timeout: self.timeout,
        };
        let traffic = Arc::new(Mutex::new(Traffic::default()));
        MpiReplicas {
            reducer: Some(MpiReducer {
                link: link.clone(),
                traffic: traffic.clone(),
                attempts: 0,
                bucket: BUCKET_BYTES / 4,
                fault: Fault::from_env(link.rank),
            }),
            link,
            traffic,
        }
    }

    /// Ends the whole job (`MPI_Abort` on `MPI_COMM_WORLD`) with `code`.
    pub fn abort(&self, code: i32) -> ! {
        self.universe.world().abort(code)
    }
}

/// What every collective needs: who this rank is and how long it waits.
#[derive(Clone, Debug)]
struct Link {
    rank: usize,
    size: usize,
    timeout: Duration,
}

impl Link {
    /// The ranks other than this one, for messages.
    fn others(&self) -> String {
        let others: Vec<usize> = (0..self.size).filter(|&r| r != self.rank).collect();
        match others.as_slice() {
            [] => "none".into(),
            [one] => one.to_string(),
            many if many.len() <= 8 => many
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            _ => format!("0..{} but {}", self.size - 1, self.rank),
        }
    }

    /// `MPI_Iallreduce` of `send` into `recv` under `how`, polled until done or the deadline.
    /// `tight`: poll without sleeping (a transfer every rank has reached); otherwise sleep up to
    /// a millisecond between polls once the wait passes 2 ms (a slower rank still computing).
    /// Returns both buffers; on the deadline MPI keeps them (they are leaked: the job is about
    /// to be aborted) and the error names `op`, the ranks and the time waited.
    fn all_reduce<T: Equivalence>(
        &self,
        op: &dyn Fn() -> String,
        send: Vec<T>,
        mut recv: Vec<T>,
        how: SystemOperation,
        tight: bool,
    ) -> Result<(Vec<T>, Vec<T>), PplError> {
        let world = SimpleCommunicator::world();
        let start = Instant::now();
        let timed_out = mpi::request::scope(|scope| {
            let mut req = world.immediate_all_reduce_into(scope, &send[..], &mut recv[..], how);
            loop {
                match req.test() {
                    Ok(_) => return false,
                    Err(r) => req = r,
                }
                let waited = start.elapsed();
                if waited >= self.timeout {
                    // Unregistered, never completed: MPI_Abort releases it.
                    // SAFETY: the buffers are leaked below, so they outlive the request.
                    let _ = unsafe { req.into_raw() };
                    return true;
                }
                if tight || waited < Duration::from_millis(2) {
                    std::thread::yield_now();
                } else {
                    std::thread::sleep(
                        (waited / 1000).clamp(Duration::from_micros(50), Duration::from_millis(1)),
                    );
                }
            }
        });
        if timed_out {
            std::mem::forget(send);
            std::mem::forget(recv);
            return Err(PplError::Collective {
                op: op(),
                reason: format!(
                    "rank {} of {} waited {:.0} s (--collective-timeout) for rank(s) {}: one of \
                     them died, is stuck or is at another collective; the job must be aborted",
                    self.rank,
                    self.size,
                    start.elapsed().as_secs_f64(),
                    self.others()
                ),
            });
        }
        Ok((send, recv))
    }
}

#[derive(Clone, Copy, Debug)]
enum Fault {
    Kill(u64),
    Stall(u64),
}

impl Fault {
    fn from_env(rank: usize) -> Option<Fault> {
        let v = std::env::var(FAULT_ENV).ok()?;
        let mut it = v.split(':');
        let kind = it.next()?;
        let r: usize = it.next()?.parse().ok()?;
        let step: u64 = it.next()?.parse().ok()?;
        (r == rank).then_some(())?;
        match kind {
            "kill" => Some(Fault::Kill(step)),
            "stall" => Some(Fault::Stall(step)),
            _ => None,
        }
    }

    fn strike(self, attempt: u64) {
        match self {
            Fault::Kill(s) if s == attempt => {
                let pid = std::process::id().to_string();
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &pid])
                    .status();
                std::thread::sleep(Duration::from_secs(3600));
            }
            Fault::Stall(s) if s == attempt => std::thread::sleep(Duration::from_secs(3600)),
            _ => {}
        }
    }
}

/// The [`GradientReducer`] of one MPI rank (see the module's documentation).
pub struct MpiReducer {
    link: Link,
    traffic: Arc<Mutex<Traffic>>,
    /// Steps attempted by this rank (calls of `mean_loss`).
    attempts: u64,
    /// Values per bucket.
    bucket: usize,
    fault: Option<Fault>,
}

/// A hash of the gradients' names and shapes, in order.
fn signature(grads: &[(String, DTensor)]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let mut mix = |v: u64| h = (h ^ v).wrapping_mul(0x0000_0100_0000_01b3);
    for (name, g) in grads {
        name.bytes().for_each(|b| mix(u64::from(b)));
        mix(0xff);
        g.shape().iter().for_each(|&d| mix(d as u64));
    }
    h
}

impl GradientReducer for MpiReducer {
    fn mean_loss(&mut self, loss: f64) -> lobes_ppl::Result<f64> {
        self.attempts += 1;
        if let Some(f) = self.fault {
            f.strike(self.attempts);
        }
        let finite = loss.is_finite();
        let send = vec![
            if finite { loss } else { 0.0 },
            f64::from(u8::from(!finite)),
        ];
        let attempt = self.attempts;
        let (_, sum) = self.link.all_reduce(
            &|| format!("all-reduce of the loss (this rank's step attempt {attempt})"),
            send,
            vec![0.0; 2],
            SystemOperation::sum(),
            false,
        )?;
        Ok(if sum[1] > 0.0 {
            f64::NAN
        } else {
            sum[0] / self.link.size as f64
        })
    }

    fn mean_gradients(&mut self, grads: &mut [(String, DTensor)]) -> lobes_ppl::Result<()> {
        if self.link.size == 1 {
            // A world of one: the gradients are already the mean.
            return Ok(());
        }
        let start = Instant::now();
        let sig = signature(grads);
        let attempt = self.attempts;
        let (_, max) = self.link.all_reduce(
            &|| format!("all-reduce of the gradients' signature (step attempt {attempt})"),
            vec![sig, !sig],
            vec![0u64; 2],
            SystemOperation::max(),
            false,
        )?;
        if max[0] != sig || !max[1] != sig {
            return Err(PplError::ReplicaMismatch {
                param: "(every gradient)".into(),
                reason: format!(
                    "rank {}'s gradients ({} tensors) differ in names or shapes from another \
                     rank's (another model or parameter set)",
                    self.link.rank,
                    grads.len()
                ),
            });
        }
        let mut values: Vec<Vec<f32>> = grads.iter().map(|(_, g)| g.to_vec()).collect();
        let total: usize = values.iter().map(Vec::len).sum();
        let per = self.bucket.max(1);
        let buckets = total.div_ceil(per);
        let n = self.link.size as f32;
        let (mut send, mut recv) = (Vec::with_capacity(per.min(total)), vec![]);
        // The cursor (tensor, offset) of the flat stream's next value, packing and unpacking.
        let (mut pt, mut po) = (0usize, 0usize);
        let (mut ut, mut uo) = (0usize, 0usize);
        for b in 0..buckets {
            let len = per.min(total - b * per);
            send.clear();
            while send.len() < len {
                let take = (len - send.len()).min(values[pt].len() - po);
                send.extend_from_slice(&values[pt][po..po + take]);
                po += take;
                if po == values[pt].len() {
                    pt += 1;
                    po = 0;
                }
            }
            recv.resize(len, 0.0);
            let (s, r) = self.link.all_reduce(
                &|| {
                    format!(
                        "all-reduce of the gradients (bucket {} of {buckets}, {:.1} MB, step attempt {attempt})",
                        b + 1,
                        len as f64 * 4.0 / 1e6
                    )
                },
                send,
                recv,
                SystemOperation::sum(),
                true,
            )?;
            (send, recv) = (s, r);
            let mut done = 0;
            while done < len {
                let take = (len - done).min(values[ut].len() - uo);
                for (v, s) in values[ut][uo..uo + take]
                    .iter_mut()
                    .zip(&recv[done..done + take])
                {
                    *v = s / n;
                }
                done += take;
                uo += take;
                if uo == values[ut].len() {
                    ut += 1;
                    uo = 0;
                }
            }
        }
        for ((_, g), mean) in grads.iter_mut().zip(values) {
            *g = DTensor::from_floats(mean, g.shape(), &g.device())?;
        }
        let mut t = self.traffic.lock().unwrap_or_else(|e| e.into_inner());
        t.bytes = total as u64 * 4;
        t.collectives = buckets;
        t.seconds += start.elapsed().as_secs_f64();
        t.steps += 1;
        Ok(())
    }
}

/// One MPI rank as a replica of a data-parallel run.
pub struct MpiReplicas {
    link: Link,
    reducer: Option<MpiReducer>,
    traffic: Arc<Mutex<Traffic>>,
}

impl Replicas for MpiReplicas {
    fn rank(&self) -> usize {
        self.link.rank
    }
    fn replicas(&self) -> usize {
        self.link.size
    }
    fn transport(&self) -> &'static str {
        "MPI"
    }
    fn reducer(&mut self) -> Result<Box<dyn GradientReducer>, PplError> {
        match self.reducer.take() {
            Some(r) => Ok(Box::new(r)),
            None => Err(PplError::Collective {
                op: "reducer".into(),
                reason: "this rank's reducer was already taken".into(),
            }),
        }
    }
    fn max(&mut self, what: &str, value: u64) -> Result<u64, PplError> {
        let (_, r) = self.link.all_reduce(
            &|| format!("all-reduce (maximum) for the {what}"),
            vec![value],
            vec![0u64],
            SystemOperation::max(),
            false,
        )?;
        Ok(r[0])
    }
    fn sum(&mut self, what: &str, values: &mut [u64]) -> Result<(), PplError> {
        let len = values.len();
        let (_, r) = self.link.all_reduce(
            &|| format!("sum of the {what} ({len} values)"),
            values.to_vec(),
            vec![0u64; len],
            SystemOperation::sum(),
            false,
        )?;
        values.copy_from_slice(&r);
        Ok(())
    }
    fn traffic(&self) -> Option<Traffic> {
        Some(*self.traffic.lock().unwrap_or_else(|e| e.into_inner()))
    }
}
