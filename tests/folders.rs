//! Run and output folders (docs/reliability.md, "Run and output folders"), with real
//! processes: a run folder is never started over by accident nor written by two processes, an
//! output folder never mixes two outputs, and a signal leaves no temporary file behind.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn tmp(name: &str) -> PathBuf {
    lobes::ppl::io::scratch_dir("lobes-folders", name).unwrap()
}

/// Runs lobes: exit code and stdout + stderr.
fn run(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lobes"))
        .args(args)
        .output()
        .expect("run lobes");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

fn ok(args: &[&str]) -> String {
    let (code, text) = run(args);
    assert_eq!(code, Some(0), "lobes {args:?}:\n{text}");
    text
}

fn fails(args: &[&str], needles: &[&str]) -> String {
    let (code, text) = run(args);
    assert_eq!(code, Some(1), "lobes {args:?}:\n{text}");
    for n in needles {
        assert!(text.contains(n), "lobes {args:?}: no '{n}' in\n{text}");
    }
    text
}

/// A tiny training run's arguments into `out`.
fn train_args<'a>(out: &'a str, epochs: &'a str, seed: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--data",
        "synthetic:12",
        "--hidden",
        "32",
        "--latent",
        "2",
        "--batch",
        "24",
        "--augment-step",
        "180",
        "--epochs",
        epochs,
        "--seed",
        seed,
        "--out",
        out,
    ]
}

/// Waits (at most 60 s) until `p` holds.
fn wait_for(what: &str, mut p: impl FnMut() -> bool) {
    let t = Instant::now();
    while !p() {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "waited 60 s for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_run_folder_is_refused_without_resume_or_overwrite_and_overwrite_replaces_the_run() {
    let dir = tmp("refuse");
    let run_dir = dir.join("run");
    let r = run_dir.to_str().unwrap();
    ok(&train_args(r, "3", "1"));
    let before = std::fs::read(run_dir.join("metrics.csv")).unwrap();
    let e = fails(
        &train_args(r, "1", "2"),
        &["holds a run", "--resume", "--overwrite"],
    );
    assert!(e.contains("checkpoint.safetensors"), "{e}");
    assert_eq!(
        std::fs::read(run_dir.join("metrics.csv")).unwrap(),
        before,
        "untouched"
    );
    assert_eq!(
        names(&run_dir.join("checkpoints")),
        [
            "epoch_0001.safetensors",
            "epoch_0002.safetensors",
            "epoch_0003.safetensors"
        ]
    );
    let mut both = train_args(r, "1", "2");
    both.extend(["--resume", "--overwrite"]);
    fails(&both, &["give one"]);
    // Replaced: the old run's checkpoints are gone, not mixed with the new run's.
    let mut over = train_args(r, "1", "2");
    over.push("--overwrite");
    ok(&over);
    assert_eq!(
        names(&run_dir.join("checkpoints")),
        ["epoch_0001.safetensors"]
    );
    let metrics = std::fs::read_to_string(run_dir.join("metrics.csv")).unwrap();
    assert_eq!(
        metrics.lines().count(),
        3,
        "epochs 0 and 1 of the new run:\n{metrics}"
    );
    assert!(
        !run_dir.join(".lobes.lock").exists(),
        "the lock is released"
    );
}

#[test]
fn two_processes_on_one_run_folder_the_second_is_refused_naming_the_first() {
    let dir = tmp("lock");
    let run_dir = dir.join("run");
    let r = run_dir.to_str().unwrap();
    let first = Command::new(env!("CARGO_BIN_EXE_lobes"))
        .args(train_args(r, "40", "1"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lock = run_dir.join(".lobes.lock");
    wait_for("the first run's lock", || {
        std::fs::read_to_string(&lock).is_ok_and(|s| s.contains("pid"))
    });
    let e = fails(&train_args(r, "40", "2"), &["another lobes process"]);
    assert!(e.contains(&format!("pid {}", first.id())), "{e}");
    let e = fails(
        &[&train_args(r, "40", "2")[..], &["--resume"]].concat(),
        &["another lobes process"],
    );
    assert!(e.contains(&format!("pid {}", first.id())), "{e}");
    let out = first.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The folder is the first run's alone: 40 epochs, seed 1.
    let metrics = std::fs::read_to_string(run_dir.join("metrics.csv")).unwrap();
    assert_eq!(metrics.lines().count(), 42, "{metrics}");
    assert!(!lock.exists());
    // A lock file left by a killed process is stale: taken over.
    std::fs::write(&lock, "pid 4194305 on host gone: lobes train\n").unwrap();
    let mut resume = train_args(r, "41", "1");
    resume.push("--resume");
    ok(&resume);
}

#[test]
fn an_output_folder_never_mixes_two_outputs() {
    let dir = tmp("generate");
    let run_dir = dir.join("run");
    let r = run_dir.to_str().unwrap();
    ok(&train_args(r, "1", "1"));
    let ckpt = run_dir.join("checkpoint.safetensors");
    let c = ckpt.to_str().unwrap();
    let stamps = dir.join("stamps");
    let s = stamps.to_str().unwrap();
    let generate = |n: &'static str, extra: &[&'static str]| {
        let mut a = vec!["generate", "--checkpoint", c, "--n", n, "--out", s];
        a.extend(extra);
        a
    };
    ok(&generate("6", &[]));
    let six = names(&stamps);
    assert_eq!(
        six.iter().filter(|n| n.ends_with(".png")).count(),
        7,
        "{six:?}"
    );
    fails(
        &generate("2", &[]),
        &["earlier `lobes generate`", "--overwrite"],
    );
    assert_eq!(names(&stamps), six, "untouched");
    ok(&generate("2", &["--overwrite"]));
    // The two new stamps and their grid, not the four old stamps beside them.
    assert_eq!(
        names(&stamps),
        [
            ".lobes-output",
            "generated_00000.png",
            "generated_00001.png",
            "grid.png"
        ]
    );
    // A folder holding someone else's files is refused, with or without --overwrite.
    let mine = dir.join("mine");
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::write(mine.join("notes.txt"), "keep").unwrap();
    for extra in [&[][..], &["--overwrite"][..]] {
        let mut a = vec!["generate", "--checkpoint", c, "--n", "2", "--out"];
        a.push(mine.to_str().unwrap());
        a.extend(extra);
        fails(&a, &["not empty", "notes.txt"]);
    }
    assert_eq!(names(&mine), ["notes.txt"]);
    // A failing command leaves no folder behind.
    let never = dir.join("never");
    fails(
        &[
            "generate",
            "--checkpoint",
            c,
            "--n",
            "2",
            "--sampling",
            "bogus",
            "--out",
            never.to_str().unwrap(),
        ],
        &["sampling"],
    );
    assert!(!never.exists());
}

/// The temporaries in `dir` (`.NAME.tmp-PID`).
fn temporaries(dir: &Path) -> Vec<String> {
    names(dir)
        .into_iter()
        .filter(|n| n.starts_with('.') && n.contains(".tmp-"))
        .collect()
}

#[test]
fn sigint_and_sigterm_remove_the_temporary_field_and_a_killed_runs_is_removed_later() {
    let dir = tmp("signal");
    for (sig, name) in [(libc::SIGINT, "int"), (libc::SIGTERM, "term")] {
        let out = dir.join(name);
        let o = out.to_str().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_lobes"))
            .args([
                "simulate-field",
                "--width",
                "16384",
                "--height",
                "16384",
                "--n",
                "200",
                "--no-progress",
                "--out",
                o,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for("the temporary field", || {
            out.exists() && !temporaries(&out).is_empty()
        });
        // SAFETY: kill only sends a signal to our own child.
        assert_eq!(unsafe { libc::kill(child.id() as i32, sig) }, 0);
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(sig), "{status:?}");
        assert!(temporaries(&out).is_empty(), "{:?}", names(&out));
        assert!(!out.join("field.fits").exists());
    }
    // A SIGKILLed writer's temporary (a process id no longer running) is removed by the next
    // write into the folder; the interrupted output left no file, so nothing is mixed.
    let out = dir.join("int");
    std::fs::write(out.join(".field.fits.tmp-4194305"), vec![0u8; 1 << 20]).unwrap();
    let o = out.to_str().unwrap();
    let args = [
        "simulate-field",
        "--width",
        "256",
        "--height",
        "256",
        "--n",
        "5",
        "--no-progress",
        "--out",
        o,
    ];
    ok(&args);
    assert!(temporaries(&out).is_empty(), "{:?}", names(&out));
    assert!(out.join("field.fits").exists());
    fails(&args, &["earlier `lobes simulate-field`", "--overwrite"]);
    ok(&[&args[..], &["--overwrite"]].concat());
}
