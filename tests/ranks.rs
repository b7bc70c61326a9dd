//! The data-parallel rules of `lobes train --data-parallel` and `lobes simulate-field
//! --data-parallel`, checked in every build with threads of one process standing in for MPI
//! ranks (the hidden `--replicas-in-process N` / `--ranks-in-process N`, the reference the MPI
//! runs of tests/mpi.rs are compared with): replicas end with bit-identical parameters, a run
//! resumes on another number of replicas, and a field shared out over ranks is byte-identical
//! to a one-process field.

mod common;

use common::{lobes, tensors, train_args};
use std::path::{Path, PathBuf};
use std::process::Command;

fn tmp(name: &str) -> PathBuf {
    lobes::ppl::io::scratch_dir("lobes-ranks", name).unwrap()
}

fn column(run: &Path, name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let k = head.iter().position(|h| *h == name).unwrap();
    lines
        .map(|l| l.split(',').nth(k).unwrap().to_string())
        .collect()
}

#[test]
fn replicas_end_with_bit_identical_parameters_and_resume_on_another_number() {
    let d = tmp("train");
    let (two, params) = (d.join("two"), d.join("params"));
    std::fs::create_dir_all(&params).unwrap();
    let mut a = train_args(two.to_str().unwrap(), "2");
    a.extend(["--replicas-in-process", "2"]);
    lobes(&a, &[("LOBES_TEST_REPLICA_PARAMS", &params)]);
    let (r0, r1) = (
        tensors(&params.join("rank-0.safetensors")),
        tensors(&params.join("rank-1.safetensors")),
    );
    assert!(!r0.is_empty());
    assert!(r0 == r1, "the two replicas' parameters differ");
    // The checkpoint records the rule.
    let meta = lobes::ppl::io::read_metadata(&two.join("checkpoint.safetensors")).unwrap();
    assert_eq!(
        meta.get("lobes.ranks").map(String::as_str),
        Some("2"),
        "{meta:?}"
    );
    assert!(meta.contains_key("lobes.replica_seeds"), "{meta:?}");

    // Resumed in one process for a third epoch: it takes up the two replicas' state.
    let mut a = train_args(two.to_str().unwrap(), "3");
    a.push("--resume");
    lobes(&a, &[]);
    let loss = column(&two, "test_loss");
    assert_eq!(loss.len(), 4, "{loss:?}");
    assert!(
        loss.iter()
            .all(|l| l.parse::<f64>().is_ok_and(f64::is_finite))
    );

    // A one-process run resumed on two replicas, the reverse.
    let one = d.join("one");
    lobes(&train_args(one.to_str().unwrap(), "1"), &[]);
    let mut a = train_args(one.to_str().unwrap(), "2");
    a.extend(["--resume", "--replicas-in-process", "2"]);
    lobes(&a, &[]);
    assert_eq!(column(&one, "test_loss").len(), 3);
    // Both start from one seed's initial model: the same untrained test loss.
    assert_eq!(column(&one, "test_loss")[0], loss[0]);
}

fn field(out: &Path, extra: &[&str]) {
    let o = out.to_str().unwrap();
    // 8 bands of 128 rows, sources crossing band and image edges.
    let mut args = vec![
        "simulate-field",
        "--no-progress",
        "--width",
        "600",
        "--height",
        "1000",
        "--n",
        "150",
        "--seed",
        "5",
        "--out",
        o,
    ];
    args.extend(extra);
    lobes(&args, &[]);
}

#[test]
fn a_field_shared_out_over_ranks_is_byte_identical_to_one_process() {
    let d = tmp("field");
    field(&d.join("one"), &[]);
    for n in ["2", "3", "8", "9"] {
        let dir = d.join(format!("ranks-{n}"));
        field(&dir, &["--ranks-in-process", n]);
        for f in ["field.fits", "truth.csv", "truth.fits"] {
            let (a, b) = (
                std::fs::read(d.join("one").join(f)).unwrap(),
                std::fs::read(dir.join(f)).unwrap(),
            );
            assert!(a == b, "{f}: {n} ranks differ from one process");
        }
        let left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|f| f.contains(".tmp"))
            .collect();
        assert!(left.is_empty(), "temporaries left: {left:?}");
    }
}

/// The same with a trained model's sources: each rank decodes other batches of latents (its
/// first band also takes sources owned by earlier bands), and the stamps must not depend on
/// how they are batched.
#[test]
fn a_model_field_shared_out_over_ranks_is_byte_identical_to_one_process() {
    let d = tmp("model-field");
    let run = d.join("run");
    lobes(&train_args(run.to_str().unwrap(), "1"), &[]);
    let ckpt = run.join("checkpoint.safetensors");
    let c = ckpt.to_str().unwrap();
    field(&d.join("one"), &["--checkpoint", c]);
    let three = d.join("three");
    field(&three, &["--checkpoint", c, "--ranks-in-process", "3"]);
    for f in ["field.fits", "truth.csv", "truth.fits"] {
        assert!(
            std::fs::read(d.join("one").join(f)).unwrap() == std::fs::read(three.join(f)).unwrap(),
            "{f}: 3 ranks differ from one process"
        );
    }
}

#[test]
fn a_batch_smaller_than_the_replicas_is_refused() {
    let d = tmp("small-batch");
    let out = d.join("run");
    let mut a = train_args(out.to_str().unwrap(), "1");
    let k = a.iter().position(|x| *x == "24").unwrap();
    a[k] = "2";
    a.extend(["--replicas-in-process", "3"]);
    let o = Command::new(env!("CARGO_BIN_EXE_lobes"))
        .env("BURN_DEVICE", "flex")
        .args(&a)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stderr);
    assert_ne!(o.status.code(), Some(0));
    assert!(
        text.contains("--batch 2") && text.contains("3 data-parallel replicas"),
        "{text}"
    );
}

/// Started by a launcher as one of several ranks (here Slurm's `srun`, which sets
/// `SLURM_STEP_NUM_TASKS`) without `--data-parallel`, every rank would write the same folder:
/// refused before anything is written.
#[test]
fn a_rank_of_a_launcher_without_data_parallel_is_refused() {
    let d = tmp("unasked");
    let out = d.join("run");
    for var in ["SLURM_STEP_NUM_TASKS", "OMPI_COMM_WORLD_SIZE"] {
        let o = Command::new(env!("CARGO_BIN_EXE_lobes"))
            .env("BURN_DEVICE", "flex")
            .env(var, "4")
            .args(train_args(out.to_str().unwrap(), "1"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stderr);
        assert_ne!(o.status.code(), Some(0), "{var}");
        assert!(
            text.contains("one of 4 MPI ranks") && text.contains("--data-parallel"),
            "{text}"
        );
        assert!(!out.exists(), "{var}: nothing written");
    }
}

/// Rank 0 alone opens the run folder; when it cannot (the folder holds another run), every
/// replica stops instead of waiting for rank 0 at the first collective.
#[test]
fn a_folder_rank_0_cannot_open_stops_every_replica() {
    let d = tmp("taken");
    let out = d.join("run");
    lobes(&train_args(out.to_str().unwrap(), "1"), &[]);
    let mut a = train_args(out.to_str().unwrap(), "1");
    a.extend(["--replicas-in-process", "2"]);
    let o = Command::new(env!("CARGO_BIN_EXE_lobes"))
        .env("BURN_DEVICE", "flex")
        .args(&a)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stderr);
    assert_ne!(o.status.code(), Some(0), "{text}");
    assert!(
        text.contains("--resume") || text.contains("--overwrite"),
        "{text}"
    );
}
