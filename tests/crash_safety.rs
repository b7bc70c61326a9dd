//! Crash safety of `lobes train`: a run killed (SIGKILL) at random moments while it writes
//! checkpoints, and a run whose disk fills up (`RLIMIT_FSIZE`), never leave a torn or
//! unreadable checkpoint, lose at most one checkpoint interval, and resume to the losses of an
//! uninterrupted run, bit for bit.
//!
//! The number of kills is `LOBES_CRASH_KILLS` if set, else 25 when `CI` is set (the whole
//! suite must fit CI's budget on 2 cores) and 100 otherwise; `LOBES_CRASH_SEED` changes the
//! seed of the kill moments (default 14).

use lobes::models::generate::Generator;
use lobes::models::train::{EpochMetrics, read_metrics};
use lobes::models::vae::RunMetadata;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

fn tmp(name: &str) -> PathBuf {
    lobes::ppl::io::scratch_dir("lobes-crash", name).unwrap()
}

/// A small LCG (Knuth's MMIX constants): the kill moments are reproducible from the seed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn env_count(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a number"))
    })
}

/// Epochs of every run here: an epoch of this network takes ~0.05 s to train and ~0.3 s to
/// checkpoint (two 7.8 MB files, fsynced), so most kills land in a write.
const EPOCHS: usize = 8;
/// Epoch checkpoints kept (`--keep-checkpoints`): pruning happens under fire too.
const KEEP: usize = 3;

/// `lobes train` on a tiny CVAE (hidden 32, d = 2) and 8 synthetic sources, rotated by 180°,
/// with dropout: every source of randomness a resume must restore.
fn train(out: &Path, epochs: usize, resume: bool) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lobes"));
    c.args([
        "train",
        "--model",
        "cvae",
        "--data",
        "synthetic:8",
        "--latent",
        "2",
    ])
    .args(["--hidden", "32", "--batch", "16", "--augment-step", "180"])
    .args(["--dropout", "0.1", "--eval-every", "1", "--seed", "5"])
    .args(["--epochs", &epochs.to_string(), "--checkpoint-every", "1"])
    .args(["--keep-checkpoints", &KEEP.to_string()])
    .arg("--out")
    .arg(out)
    .stdin(Stdio::null())
    .stdout(Stdio::null());
    // A run killed before its first checkpoint has nothing to resume, and its folder holds
    // its metrics.csv: start it again over it, as the refusal tells a user to.
    c.arg(if resume { "--resume" } else { "--overwrite" });
    c
}

/// Runs to the end; its exit status and stderr.
fn run_to_end(mut c: Command) -> (ExitStatus, String) {
    let out = c.stderr(Stdio::piped()).output().expect("run lobes");
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The deterministic part of `metrics.csv`: every column but the timings, as written.
fn losses(run: &Path) -> Vec<String> {
    let csv = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    csv.lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            [&f[..3], &f[5..]].concat().join(",")
        })
        .collect()
}

/// Temporary files (`.NAME.tmp-PID`, see `lobes_ppl::io::write_atomic`) in a run folder.
fn temporaries(run: &Path) -> Vec<PathBuf> {
    temporaries_of(run, "")
}

/// [`temporaries`] of the process `pid` (`""`: of any).
fn temporaries_of(run: &Path, pid: &str) -> Vec<PathBuf> {
    [run.to_path_buf(), run.join("checkpoints")]
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix('.'))
                .and_then(|n| n.rsplit_once(".tmp-"))
                .is_some_and(|(_, p)| pid.is_empty() || p == pid)
        })
        .collect()
}

/// The epoch in a checkpoint's metadata; panics (naming the file) if it does not load.
fn checkpoint_epoch(p: &Path, what: &str) -> usize {
    let (tensors, meta) = lobes::ppl::io::load_tensors(p, &burn::prelude::Device::flex())
        .unwrap_or_else(|e| panic!("{what}: {} is unreadable: {e}", p.display()));
    assert!(
        !tensors.is_empty(),
        "{what}: {} has no tensors",
        p.display()
    );
    RunMetadata::from_map(&meta, p)
        .unwrap_or_else(|e| panic!("{what}: {}: {e}", p.display()))
        .epoch
}

/// Checks a run folder after a kill: every checkpoint loads (the latest also as a network),
/// epoch files hold their epoch, `metrics.csv` parses and is at most one epoch (one checkpoint
/// interval) ahead of the latest checkpoint, which never goes back. Returns the latest
/// checkpoint's epoch (`None`: killed before the first).
fn check_run(run: &Path, what: &str, last: &mut Option<usize>) -> Option<usize> {
    let latest = run.join("checkpoint.safetensors");
    let rows: Vec<EpochMetrics> = read_metrics(&run.join("metrics.csv"), usize::MAX)
        .unwrap_or_else(|e| panic!("{what}: metrics.csv: {e}"));
    let written = rows.last().map(|r| r.epoch);
    let dir = run.join("checkpoints");
    let mut epoch_files = vec![];
    for e in std::fs::read_dir(&dir).into_iter().flatten() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(n) = name
            .strip_prefix("epoch_")
            .and_then(|n| n.strip_suffix(".safetensors"))
        {
            let n: usize = n.parse().unwrap();
            assert_eq!(checkpoint_epoch(&p, what), n, "{what}: {name}");
            epoch_files.push(n);
        }
    }
    assert!(
        epoch_files.len() <= KEEP + 1,
        "{what}: {epoch_files:?} kept"
    );
    if !latest.exists() {
        assert!(last.is_none(), "{what}: checkpoint.safetensors vanished");
        assert!(
            epoch_files.is_empty(),
            "{what}: {epoch_files:?} without a latest"
        );
        return None;
    }
    let c = checkpoint_epoch(&latest, what);
    Generator::load(&latest).unwrap_or_else(|e| panic!("{what}: the latest checkpoint: {e}"));
    if let Some(prev) = *last {
        assert!(
            c >= prev,
            "{what}: the latest checkpoint went back {prev} -> {c}"
        );
    }
    let m = written.expect("a checkpoint without metrics.csv");
    assert!(
        m >= c && m - c <= 1,
        "{what}: metrics.csv reached epoch {m}, the latest checkpoint is epoch {c}"
    );
    assert!(
        epoch_files.iter().all(|&e| e <= c + 1),
        "{what}: {epoch_files:?} beyond {c}"
    );
    *last = Some(c);
    Some(c)
}

/// Kills a child (SIGKILL) and reaps it; `true` if the kill landed (it had not finished).
fn kill(child: &mut Child) -> bool {
    let _ = child.kill();
    let status = child.wait().unwrap();
    assert!(
        status.code() == Some(0) || status.signal() == Some(libc::SIGKILL),
        "killed run: {status:?}"
    );
    status.signal() == Some(libc::SIGKILL)
}

/// SIGKILL at ≥ 100 random moments (25 under CI; see the module docs), half of them timed
/// uniformly over a run's life, half a few milliseconds after a temporary checkpoint file
/// appears (inside a write). After every kill every checkpoint loads, at most one checkpoint
/// interval is lost, and the run resumes with `--resume`; each completed run's `metrics.csv`
/// equals an uninterrupted run's, bit for bit, and no temporary file is left behind.
#[test]
fn sigkill_at_random_moments_never_tears_a_checkpoint_and_resumes_bit_for_bit() {
    let target = env_count("LOBES_CRASH_KILLS").unwrap_or(if std::env::var_os("CI").is_some() {
        25
    } else {
        100
    });
    let mut rng = Lcg(env_count("LOBES_CRASH_SEED").unwrap_or(14));
    let dir = tmp("kill");
    let t0 = Instant::now();
    let reference = dir.join("reference");
    let (status, err) = run_to_end(train(&reference, EPOCHS, false));
    assert!(status.success(), "uninterrupted run: {err}");
    let expected = losses(&reference);
    assert_eq!(expected.len(), EPOCHS + 2);
    std::fs::remove_dir_all(&reference).unwrap();

    let (mut kills, mut in_write, mut rounds, mut spawns) = (0u64, 0u64, 0u64, 0u64);
    // Up to this many kills per run folder; then the run is let finish and compared.
    let per_round = 8;
    while kills < target {
        rounds += 1;
        let run = dir.join(format!("round_{rounds}"));
        let (mut last, mut round_kills) = (None, 0);
        loop {
            spawns += 1;
            assert!(spawns < 20 * target + 100, "no progress: {kills} kills");
            let what = format!("round {rounds}, start {}", round_kills + 1);
            let resume = run.join("checkpoint.safetensors").exists();
            if round_kills >= per_round || kills >= target {
                let (status, err) = run_to_end(train(&run, EPOCHS, resume));
                assert!(status.success(), "{what}: {err}");
                break;
            }
            let mut child = train(&run, EPOCHS, resume)
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let started = Instant::now();
            let pid = child.id().to_string();
            let in_a_write = rng.below(2) == 0;
            let deadline = started + Duration::from_millis(rng.below(1500));
            let after_write_starts = Duration::from_millis(rng.below(8));
            let mut landed = None;
            loop {
                if let Some(status) = child.try_wait().unwrap() {
                    assert!(status.success(), "{what}: {status:?}");
                    landed = Some(false);
                    break;
                }
                let now = Instant::now();
                let due = if in_a_write {
                    now > started + Duration::from_secs(4) || !temporaries_of(&run, &pid).is_empty()
                } else {
                    now >= deadline
                };
                if due {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            if landed.is_none() {
                if in_a_write {
                    std::thread::sleep(after_write_starts);
                }
                landed = Some(kill(&mut child));
            }
            if landed == Some(true) {
                kills += 1;
                round_kills += 1;
                if !temporaries_of(&run, &pid).is_empty() {
                    in_write += 1;
                }
                check_run(&run, &what, &mut last);
            } else {
                break;
            }
        }
        check_run(&run, &format!("round {rounds}, finished"), &mut last);
        assert_eq!(last, Some(EPOCHS), "round {rounds}");
        assert_eq!(
            losses(&run),
            expected,
            "round {rounds}: the resumed run's metrics.csv differs from the uninterrupted run's"
        );
        let left = temporaries(&run);
        assert!(left.is_empty(), "round {rounds}: left behind {left:?}");
        std::fs::remove_dir_all(&run).unwrap();
    }
    eprintln!(
        "{kills} kills ({in_write} inside a checkpoint write) over {rounds} runs of {EPOCHS} epochs, {spawns} starts, in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    if kills >= 10 {
        assert!(in_write > 0, "no kill landed inside a write");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `cmd` with its file-size limit (`RLIMIT_FSIZE`) at `bytes` and SIGXFSZ ignored, so a write
/// past the limit fails with EFBIG, as on a full disk, instead of killing the process.
fn with_file_size_limit(mut cmd: Command, bytes: u64) -> Command {
    // SAFETY: between fork and exec only async-signal-safe calls (setrlimit, signal).
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: bytes as libc::rlim_t,
                rlim_max: bytes as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    cmd
}

/// Asserts a clean failure: exit status 1 (not a panic's 101), `error: ` naming `file`.
fn assert_fails_naming(status: ExitStatus, err: &str, file: &Path) {
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line: {err}"));
    assert!(
        line.contains(&file.display().to_string()) && line.contains("File too large"),
        "{line}"
    );
}

/// A full disk (`RLIMIT_FSIZE` below a checkpoint's 7.8 MB, above `metrics.csv`): the resumed
/// run fails with exit status 1 and an error naming the checkpoint it could not write; the
/// previous checkpoint is left byte for byte, no temporary file remains, and with the space
/// back the run resumes to an uninterrupted run's losses. A fresh run on a full disk fails
/// naming `checkpoint.safetensors` (or `metrics.csv` when even that does not fit) and leaves no
/// checkpoint. Temporary files left by a killed writer are removed when the run starts again.
#[test]
fn a_full_disk_fails_the_write_cleanly_and_keeps_the_previous_checkpoint() {
    let dir = tmp("full");
    let reference = dir.join("reference");
    let (status, err) = run_to_end(train(&reference, 4, false));
    assert!(status.success(), "{err}");

    let run = dir.join("run");
    let (status, err) = run_to_end(train(&run, 2, false));
    assert!(status.success(), "{err}");
    let latest = run.join("checkpoint.safetensors");
    let before = std::fs::read(&latest).unwrap();
    assert!(before.len() > 4 << 20, "{} bytes", before.len());
    let (status, err) = run_to_end(with_file_size_limit(train(&run, 4, true), 1 << 20));
    assert_fails_naming(
        status,
        &err,
        &run.join("checkpoints/epoch_0003.safetensors"),
    );
    assert!(
        std::fs::read(&latest).unwrap() == before,
        "the checkpoint changed"
    );
    assert_eq!(checkpoint_epoch(&latest, "after the full disk"), 2);
    Generator::load(&latest).unwrap();
    assert!(!run.join("checkpoints/epoch_0003.safetensors").exists());
    assert_eq!(temporaries(&run), Vec::<PathBuf>::new());
    // What a SIGKILL inside a write leaves (the regression of the kill test's first finding):
    // the next start removes it, and only it.
    let stale = [
        run.join(".checkpoint.safetensors.tmp-4194305"),
        run.join("checkpoints/.epoch_0003.safetensors.tmp-4194305"),
    ];
    let kept = [run.join("notes.tmp-1"), run.join(".notes.tmp-x")];
    for f in stale.iter().chain(&kept) {
        std::fs::write(f, b"half a checkpoint").unwrap();
    }
    // Space again: the run resumes from epoch 2 as if nothing had happened.
    let (status, err) = run_to_end(train(&run, 4, true));
    assert!(status.success(), "{err}");
    assert!(stale.iter().all(|f| !f.exists()), "{stale:?}");
    assert!(kept.iter().all(|f| f.exists()), "{kept:?}");
    assert_eq!(losses(&run), losses(&reference));

    let fresh = dir.join("fresh");
    let (status, err) = run_to_end(with_file_size_limit(train(&fresh, 2, false), 1 << 20));
    assert_fails_naming(status, &err, &fresh.join("checkpoint.safetensors"));
    assert!(!fresh.join("checkpoint.safetensors").exists());
    assert_eq!(temporaries(&fresh), Vec::<PathBuf>::new());
    let tiny = dir.join("tiny");
    let (status, err) = run_to_end(with_file_size_limit(train(&tiny, 2, false), 100));
    assert_fails_naming(status, &err, &tiny.join("metrics.csv"));
    assert!(!tiny.join("metrics.csv").exists());
    assert_eq!(temporaries(&tiny), Vec::<PathBuf>::new());
    std::fs::remove_dir_all(&dir).unwrap();
}
