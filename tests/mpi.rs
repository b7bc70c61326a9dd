//! `lobes train --data-parallel` and `lobes simulate-field --data-parallel` under a real
//! `mpirun -np 2` (Open MPI, both ranks on this machine talking over TCP on the loopback
//! interface, 127.0.0.1). Built only with `--features mpi`; CI runs it (`.ci/run`):
//!
//! ```sh
//! cargo test --workspace --features wgpu,mpi --test mpi
//! ```
//!
//! - two ranks end with bit-identical parameters, and with the losses and parameters of the
//!   same rule run as two threads of one process (tests/ranks.rs checks that reference);
//! - a rank killed with SIGKILL ends the job within a bounded time, naming the rank; the last
//!   checkpoint is intact and the run resumes, to the losses of a run never killed;
//! - a rank that hangs makes the others stop after `--collective-timeout`, naming the rank and
//!   the collective;
//! - a two-rank field equals a one-process field byte for byte.
//!
//! Each job is bounded: one that outlives its limit is killed and the test fails.
#![cfg(feature = "mpi")]

mod common;

use common::{lobes, tensors, train_args};

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn tmp(name: &str) -> PathBuf {
    lobes::ppl::io::scratch_dir("lobes-mpi", name).unwrap()
}

/// `mpirun -np 2 lobes ARGS` with `env`, killed after `limit`: (exit code, output).
fn mpirun(args: &[&str], env: &[(&str, &str)], limit: Duration) -> (Option<i32>, String) {
    let mut c = Command::new("mpirun");
    c.args([
        "--allow-run-as-root",
        "--oversubscribe",
        "--mca",
        "btl",
        "self,tcp",
        "--mca",
        "btl_tcp_if_include",
        "lo",
        "-np",
        "2",
    ])
    .arg(env!("CARGO_BIN_EXE_lobes"))
    .args(args)
    .env("BURN_DEVICE", "flex")
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let child = match c.spawn() {
        Ok(c) => c,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipped: cannot start mpirun ({e}); install openmpi-bin");
            return (Some(-1), String::new());
        }
        Err(e) => panic!("mpirun: {e} (CI installs openmpi-bin)"),
    };
    let pid = child.id();
    let start = Instant::now();
    let watchdog = std::thread::spawn(move || {
        while start.elapsed() < limit {
            std::thread::sleep(Duration::from_millis(100));
            if std::fs::metadata(format!("/proc/{pid}")).is_err() {
                return false;
            }
        }
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
        true
    });
    let out = child.wait_with_output().expect("wait for mpirun");
    let killed = watchdog.join().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !killed,
        "mpirun {args:?} still running after {limit:?}: {text}"
    );
    eprintln!(
        "mpirun -np 2 {args:?}: {:.1} s",
        start.elapsed().as_secs_f64()
    );
    (out.status.code(), text)
}

fn losses(run: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| l.split(',').take(3).collect::<Vec<_>>().join(","))
        .collect()
}

const LIMIT: Duration = Duration::from_secs(180);

#[test]
fn two_ranks_end_bit_identical_and_equal_two_replicas_in_one_process() {
    let d = tmp("train");
    let (mpi, threads) = (d.join("mpi"), d.join("threads"));
    let (pm, pt) = (d.join("params-mpi"), d.join("params-threads"));
    for p in [&pm, &pt] {
        std::fs::create_dir_all(p).unwrap();
    }
    let mut a = train_args(mpi.to_str().unwrap(), "3");
    a.push("--data-parallel");
    let (code, text) = mpirun(
        &a,
        &[("LOBES_TEST_REPLICA_PARAMS", pm.to_str().unwrap())],
        LIMIT,
    );
    if code == Some(-1) {
        return;
    }
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("data-parallel on 2 MPI rank(s)"), "{text}");
    assert!(text.contains("all-reduced per step"), "{text}");
    let (r0, r1) = (
        tensors(&pm.join("rank-0.safetensors")),
        tensors(&pm.join("rank-1.safetensors")),
    );
    assert!(!r0.is_empty() && r0 == r1, "the ranks' parameters differ");

    let mut a = train_args(threads.to_str().unwrap(), "3");
    a.extend(["--replicas-in-process", "2"]);
    lobes(&a, &[("LOBES_TEST_REPLICA_PARAMS", &pt)]);
    assert_eq!(
        losses(&mpi),
        losses(&threads),
        "MPI vs threads: epoch, train, test"
    );
    assert!(
        r0 == tensors(&pt.join("rank-0.safetensors")),
        "MPI's parameters differ from the in-process replicas'"
    );
}

#[test]
fn a_killed_rank_ends_the_job_naming_it_and_the_run_resumes() {
    let d = tmp("kill");
    let (run, whole) = (d.join("run"), d.join("whole"));
    let mut a = train_args(run.to_str().unwrap(), "3");
    a.push("--data-parallel");
    // Rank 1 kills itself (SIGKILL) at its fifth step (two an epoch): in epoch 3, after epoch 2's checkpoint.
    let (code, text) = mpirun(&a, &[("LOBES_TEST_MPI_FAULT", "kill:1:5")], LIMIT);
    if code == Some(-1) {
        return;
    }
    assert_ne!(code, Some(0), "{text}");
    assert!(
        text.contains("rank 1") && text.contains("signal 9"),
        "mpirun names the killed rank: {text}"
    );
    assert_eq!(
        losses(&run).len(),
        3,
        "epochs 0-2 written: {:?}",
        losses(&run)
    );
    // The checkpoint is intact: the run resumes on two ranks and ends where a run never
    // killed ends.
    let mut a = train_args(run.to_str().unwrap(), "3");
    a.extend(["--data-parallel", "--resume"]);
    let (code, text) = mpirun(&a, &[], LIMIT);
    assert_eq!(code, Some(0), "{text}");
    let mut a = train_args(whole.to_str().unwrap(), "3");
    a.push("--data-parallel");
    let (code, text) = mpirun(&a, &[], LIMIT);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(losses(&run), losses(&whole));
}

#[test]
fn a_hung_rank_makes_the_others_stop_at_the_collective_timeout() {
    let d = tmp("hang");
    let run = d.join("run");
    let mut a = train_args(run.to_str().unwrap(), "3");
    a.extend(["--data-parallel", "--collective-timeout", "5"]);
    let (code, text) = mpirun(&a, &[("LOBES_TEST_MPI_FAULT", "stall:1:3")], LIMIT);
    if code == Some(-1) {
        return;
    }
    assert_ne!(code, Some(0), "{text}");
    assert!(
        text.contains("error (rank 0 of 2)")
            && text.contains("waited 5 s")
            && text.contains("rank(s) 1")
            && text.contains("all-reduce of the loss"),
        "rank 0 names the collective and the missing rank: {text}"
    );
    // The checkpoint of epoch 1 is intact.
    assert_eq!(losses(&run).len(), 2, "{:?}", losses(&run));
    lobes::ppl::io::read_metadata(&run.join("checkpoint.safetensors")).unwrap();
}

#[test]
fn a_two_rank_field_equals_a_one_process_field_byte_for_byte() {
    let d = tmp("field");
    let args = |o: &Path| {
        vec![
            "simulate-field".to_string(),
            "--no-progress".into(),
            "--width".into(),
            "600".into(),
            "--height".into(),
            "1000".into(),
            "--n".into(),
            "150".into(),
            "--seed".into(),
            "5".into(),
            "--out".into(),
            o.to_str().unwrap().into(),
        ]
    };
    let one: Vec<String> = args(&d.join("one"));
    lobes(&one.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    let mut two = args(&d.join("two"));
    two.push("--data-parallel".into());
    let (code, text) = mpirun(
        &two.iter().map(String::as_str).collect::<Vec<_>>(),
        &[],
        LIMIT,
    );
    if code == Some(-1) {
        return;
    }
    assert_eq!(code, Some(0), "{text}");
    for f in ["field.fits", "truth.csv", "truth.fits"] {
        assert!(
            std::fs::read(d.join("one").join(f)).unwrap()
                == std::fs::read(d.join("two").join(f)).unwrap(),
            "{f}: two ranks differ from one process"
        );
    }
}
