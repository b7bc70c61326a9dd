//! Running one command on the ranks of an MPI job (`mpirun -np N lobes ... --data-parallel`,
//! the `mpi` feature), or on threads of this process standing in for ranks (hidden test
//! options).

use lobes::models::ModelError;
use lobes::models::train::{Replicas, ThreadReplicas};

/// `--collective-timeout` checked: the seconds a rank waits in one collective.
pub(crate) fn timeout(seconds: f64) -> Result<std::time::Duration, ModelError> {
    std::time::Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            ModelError::invalid_option(
                "--collective-timeout",
                seconds,
                format!("--collective-timeout must be a positive number of seconds, got {seconds}"),
            )
        })
}

/// Runs `job` as this process's MPI rank. An error on any rank ends the whole job
/// (`MPI_Abort`) after the rank has printed it and removed its temporary files, so no rank is
/// left waiting.
#[cfg(feature = "mpi")]
pub(crate) fn on_mpi<T>(
    timeout: std::time::Duration,
    job: impl FnOnce(&mut dyn Replicas) -> Result<T, ModelError>,
) -> Result<T, ModelError> {
    use lobes::mpi::Mpi;
    let mpi = Mpi::init(timeout)?;
    let (rank, size) = (mpi.rank(), mpi.size());
    match job(&mut mpi.replicas()) {
        Ok(v) => Ok(v),
        Err(e) => {
            eprintln!("error (rank {rank} of {size}): {e}");
            lobes::models::ppl::io::remove_live_temporaries();
            eprintln!("rank {rank}: ending the job (MPI_Abort)");
            mpi.abort(1)
        }
    }
}

#[cfg(not(feature = "mpi"))]
pub(crate) fn on_mpi<T>(
    _: std::time::Duration,
    _: impl FnOnce(&mut dyn Replicas) -> Result<T, ModelError>,
) -> Result<T, ModelError> {
    Err(ModelError::data_parallel(
        None,
        "--data-parallel needs MPI: this lobes was built without it (cargo build --release \
         --features mpi, with an MPI library and libclang installed; docs/user-guide.md)",
    ))
}

/// Runs `job` on `n` threads standing in for ranks ([`ThreadReplicas`]) and returns rank 0's
/// result (or the first error).
pub(crate) fn on_threads<T: Send>(
    n: usize,
    job: impl Fn(&mut dyn Replicas) -> Result<T, ModelError> + Sync,
) -> Result<T, ModelError> {
    let job = &job;
    let results: Vec<Result<T, ModelError>> = std::thread::scope(|s| {
        let handles: Vec<_> = ThreadReplicas::group(n)
            .into_iter()
            .map(|mut r| {
                std::thread::Builder::new()
                    .stack_size(64 << 20)
                    .spawn_scoped(s, move || job(&mut r))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h {
                Ok(h) => h.join().unwrap_or_else(|_| {
                    Err(ModelError::data_parallel(
                        None,
                        "a replica's thread panicked",
                    ))
                }),
                Err(e) => Err(ModelError::data_parallel(
                    None,
                    format!("cannot start a replica: {e}"),
                )),
            })
            .collect()
    });
    let mut first = None;
    for r in results {
        match r {
            Ok(v) if first.is_none() => first = Some(Ok(v)),
            Err(e) if !matches!(first, Some(Err(_))) => first = Some(Err(e)),
            _ => {}
        }
    }
    first.unwrap_or_else(|| Err(ModelError::data_parallel(None, "no replica ran")))
}

/// Refuses a command started by `mpirun` or `srun` as one of several ranks without
/// `--data-parallel`: every rank would write the same output. The launchers say so before
/// MPI starts: Open MPI's `OMPI_COMM_WORLD_SIZE`, PMI's `PMI_SIZE`, and Slurm's
/// `SLURM_STEP_NUM_TASKS` (set for the tasks `srun` starts, not in a batch script itself).
pub(crate) fn refuse_unasked_ranks(command: &str) -> Result<(), ModelError> {
    let size = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"]
        .iter()
        .find_map(|k| std::env::var(k).ok()?.parse::<usize>().ok());
    match size {
        Some(n) if n > 1 => Err(ModelError::data_parallel(
            None,
            format!(
                "`lobes {command}` was started as one of {n} MPI ranks without \
                 --data-parallel: every rank would write the same output; pass --data-parallel"
            ),
        )),
        _ => Ok(()),
    }
}
