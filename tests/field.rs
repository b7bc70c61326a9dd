//! `lobes simulate-field` end to end: the same seed writes byte-identical files, another seed
//! other files; the catalogue's fluxes follow the requested power law; bad options fail with
//! the option's name before anything is written.

use std::path::{Path, PathBuf};
use std::process::Command;

fn tmp(name: &str) -> PathBuf {
    lobes::ppl::io::scratch_dir("lobes-field", name).unwrap()
}

fn run(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lobes"))
        .args(args)
        .output()
        .expect("run lobes");
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn field(out: &Path, extra: &[&str]) {
    let o = out.to_str().unwrap();
    let mut args = vec!["simulate-field", "--no-progress", "--out", o];
    args.extend(extra);
    let (code, text) = run(&args);
    assert_eq!(code, Some(0), "{args:?}: {text}");
}

#[test]
fn the_same_seed_writes_the_same_bytes() {
    let d = tmp("repro");
    // Several bands (128 rows each) and sources crossing band and image edges.
    let opts = [
        "--width", "700", "--height", "520", "--n", "40", "--seed", "9",
    ];
    field(&d.join("a"), &opts);
    field(&d.join("b"), &opts);
    for f in ["field.fits", "truth.csv", "truth.fits"] {
        let (a, b) = (
            std::fs::read(d.join("a").join(f)).unwrap(),
            std::fs::read(d.join("b").join(f)).unwrap(),
        );
        assert!(a == b, "{f} differs between two runs with seed 9");
    }
    let img = std::fs::read(d.join("a/field.fits")).unwrap();
    assert_eq!(img.len(), (2880 + 700 * 520 * 4usize).div_ceil(2880) * 2880);
    let mut other = opts;
    other[7] = "10";
    field(&d.join("c"), &other);
    assert!(std::fs::read(d.join("c/field.fits")).unwrap() != img);
    let mut left: Vec<String> = std::fs::read_dir(d.join("a"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    // No temporary file is left: the three files and the output's manifest.
    assert_eq!(
        left,
        [".lobes-output", "field.fits", "truth.csv", "truth.fits"]
    );
}

/// Fluxes from truth.csv against dN/dS ∝ S^-2 above 1 mJy (no upper bound): the
/// maximum-likelihood slope within 4 standard errors ((slope - 1) / √n) and the
/// Kolmogorov–Smirnov distance under its 0.1% critical value, 1.95 / √n.
#[test]
fn catalogue_fluxes_follow_the_power_law() {
    let d = tmp("counts");
    let n = 3000;
    let ns = n.to_string();
    field(
        &d,
        &[
            "--width",
            "2000",
            "--height",
            "2000",
            "--n",
            &ns,
            "--slope",
            "2",
            "--smin",
            "0.001",
            "--smax",
            "inf",
            "--stamp-pixel",
            "0.3",
            "--rms",
            "0",
            "--seed",
            "1",
        ],
    );
    let csv = std::fs::read_to_string(d.join("truth.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = header.iter().position(|c| *c == "flux_int").unwrap();
    let mut s: Vec<f64> = lines
        .map(|l| l.split(',').nth(col).unwrap().parse().unwrap())
        .collect();
    assert_eq!(s.len(), n);
    let nf = n as f64;
    let slope = 1.0 + nf / s.iter().map(|v| (v / 1e-3).ln()).sum::<f64>();
    assert!(
        (slope - 2.0).abs() < 4.0 / nf.sqrt(),
        "maximum-likelihood slope {slope}, want 2 ± {}",
        4.0 / nf.sqrt()
    );
    s.sort_by(f64::total_cmp);
    let cdf = |v: f64| 1.0 - 1e-3 / v;
    let ks = s
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            (cdf(v) - i as f64 / nf)
                .abs()
                .max((cdf(v) - (i + 1) as f64 / nf).abs())
        })
        .fold(0.0, f64::max);
    assert!(ks < 1.95 / nf.sqrt(), "KS distance {ks}");
}

#[test]
fn bad_options_name_the_option_and_write_nothing() {
    let d = tmp("bad");
    let out = d.join("out");
    let o = out.to_str().unwrap();
    // A VAE checkpoint, for --fri-fraction.
    let run_dir = d.join("vae");
    let (code, text) = run(&[
        "train",
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
        run_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{text}");
    let ckpt = run_dir.join("checkpoint.safetensors");
    let c = ckpt.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["--width", "0"], "--width"),
        (&["--height", "0"], "--height"),
        (&["--rms", "-0.001"], "--rms"),
        (&["--slope", "1", "--smax", "inf"], "--slope"),
        (&["--slope", "0.5", "--smax", "inf"], "--slope"),
        (&["--smin", "1", "--smax", "0.5"], "--smax"),
        (&["--smin", "0"], "--smin"),
        (&["--fri-fraction", "1.2"], "--fri-fraction"),
        (
            &["--checkpoint", c, "--fri-fraction", "0.5"],
            "--fri-fraction",
        ),
        (&["--beam", "2"], "--beam"),
        (&["--pixel-scale", "0"], "--pixel-scale"),
        (&["--dec", "-91"], "--dec"),
        (&["--sampling", "uniform:1,0"], "--sampling"),
    ];
    for (extra, opt) in cases {
        let mut args = vec!["simulate-field", "--out", o];
        args.extend(*extra);
        let (code, text) = run(&args);
        assert_eq!(code, Some(1), "{args:?}: {text}");
        assert!(
            text.starts_with(&format!("error: {opt}")),
            "{args:?} should name {opt}: {text}"
        );
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
}

/// The library prints nothing and draws no bar: it reports each band written, and the CLI
/// draws its bar from those reports.
#[test]
fn the_library_reports_every_band_to_its_caller() {
    use lobes::models::data::synthetic::Synthetic;
    use lobes::models::field::{BandWritten, FieldConfig, Population, simulate};
    let d = tmp("library-bands");
    let cfg = FieldConfig {
        width: 300,
        height: 300,
        sources: 10,
        seed: 3,
        ..FieldConfig::default()
    };
    let mut events: Vec<BandWritten> = vec![];
    let s = simulate(
        &cfg,
        &mut Population::Synthetic(Synthetic::default()),
        &d,
        &mut |b| events.push(b),
    )
    .unwrap();
    let n = events.len();
    assert!(n >= 3, "300 rows are three bands of 128: {events:?}");
    assert!(
        events
            .iter()
            .enumerate()
            .all(|(i, b)| b.done == i + 1 && b.total == n),
        "{events:?}"
    );
    assert_eq!(s.rows.len(), 10);
    std::fs::remove_dir_all(d).ok();
}
