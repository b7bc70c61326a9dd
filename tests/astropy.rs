//! FITS files checked by a real client: `scripts/check_fits.py` (astropy) opens stamps written
//! by `lobes generate --format fits` and `lobes data synthetic --format fits`, and fields
//! written by `lobes simulate-field` (one near RA 0 at Dec 70, noiseless, so the image is
//! compared exactly). The Python is `LOBES_PYTHON` or `python3`; without astropy the test is
//! skipped, except under CI (`CI` set), where it fails. `.ci/run` installs astropy in a venv.

use std::path::PathBuf;
use std::process::Command;

fn tmp(name: &str) -> PathBuf {
    lobes::ppl::io::scratch_dir("lobes-astropy", name).unwrap()
}

/// The Python to run, when it has astropy and numpy; `None` skips, except under CI.
fn python() -> Option<String> {
    let py = std::env::var("LOBES_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&py)
        .args(["-c", "import astropy, numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(py);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but {py} cannot import astropy and numpy (set LOBES_PYTHON to a Python \
         that can; .ci/run makes a venv)"
    );
    eprintln!("skipping: {py} cannot import astropy and numpy (set LOBES_PYTHON)");
    None
}

fn lobes(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_lobes"))
        .args(args)
        .output()
        .expect("run lobes");
    assert!(
        out.status.success(),
        "lobes {args:?}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn check(py: &str, args: &[&str]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/check_fits.py");
    let out = Command::new(py)
        .arg(script)
        .args(args)
        .output()
        .expect("run python");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "check_fits.py {args:?}:\n{text}");
    assert!(text.contains("all checks passed"), "{text}");
    eprintln!("{text}");
}

#[test]
fn astropy_reads_our_stamps_and_fields_as_intended() {
    let Some(py) = python() else {
        return;
    };
    let dir = tmp("check");
    let s = |p: &str| dir.join(p).display().to_string();

    // Stamps from a tiny CVAE: generated, and their PNG grid.
    let run = s("run");
    lobes(&[
        "train",
        "--model",
        "cvae",
        "--data",
        "synthetic:4",
        "--latent",
        "2",
        "--hidden",
        "16",
        "--batch",
        "8",
        "--augment-step",
        "0",
        "--epochs",
        "1",
        "--out",
        &run,
    ]);
    let ckpt = s("run/checkpoint.safetensors");
    let gen_dir = s("gen");
    lobes(&[
        "generate",
        "--checkpoint",
        &ckpt,
        "--n",
        "5",
        "--format",
        "fits",
        "--out",
        &gen_dir,
    ]);
    check(&py, &["stamps", &gen_dir]);
    let syn = s("synthetic");
    lobes(&[
        "data",
        "synthetic",
        "--n",
        "2",
        "--format",
        "fits",
        "--out",
        &syn,
    ]);
    check(&py, &["stamps", &syn]);

    // A noiseless field across RA 0 at Dec 70, with a wider beam than the stamps' and 1"
    // pixels: the image at isolated peaks must equal the catalogue exactly.
    let f1 = s("field-noiseless");
    lobes(&[
        "simulate-field",
        "--width",
        "1500",
        "--height",
        "1300",
        "--pixel-scale",
        "1.0",
        "--beam",
        "8",
        "--ra",
        "359.9",
        "--dec",
        "70",
        "--n",
        "12",
        "--rms",
        "0",
        "--seed",
        "2",
        "--no-progress",
        "--out",
        &f1,
    ]);
    check(
        &py,
        &[
            "field",
            &f1,
            "--ra",
            "359.9",
            "--dec",
            "70",
            "--pixel-arcsec",
            "1.0",
            "--beam-arcsec",
            "8",
        ],
    );
    // A FIRST-like field from the CVAE, with noise, south of the equator.
    let f2 = s("field-cvae");
    lobes(&[
        "simulate-field",
        "--width",
        "900",
        "--height",
        "700",
        "--checkpoint",
        &ckpt,
        "--fri-fraction",
        "0.3",
        "--ra",
        "12.5",
        "--dec",
        "-30",
        "--n",
        "10",
        "--no-progress",
        "--out",
        &f2,
    ]);
    check(&py, &["field", &f2, "--ra", "12.5", "--dec", "-30"]);
}
