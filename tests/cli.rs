//! The CLI end to end on tiny networks and the synthetic data: train, resume, generate,
//! reconstruct, latent grid, evolution, learning-rate search.

use std::path::PathBuf;
use std::process::Command;

/// Runs lobes: its exit code and what it printed (stdout, then stderr).
fn run_lobes(args: &[&str]) -> (Option<i32>, String) {
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

/// Runs lobes expecting success; returns what it printed.
fn lobes(args: &[&str]) -> String {
    let (code, text) = run_lobes(args);
    assert_eq!(code, Some(0), "lobes {args:?} failed:\n{text}");
    text
}

/// Runs lobes expecting a clean failure: exit status `code` (1 for lobes' errors, 2 for
/// clap's; never a panic's 101) and `message` in what it printed.
fn lobes_fails_with(code: i32, args: &[&str], message: &str) {
    let (got, text) = run_lobes(args);
    assert_eq!(got, Some(code), "lobes {args:?}:\n{text}");
    assert!(text.contains(message), "lobes {args:?}:\n{text}");
}

/// [`lobes_fails_with`] exit status 1.
fn lobes_fails(args: &[&str], message: &str) {
    lobes_fails_with(1, args, message);
}

fn tmp(name: &str) -> PathBuf {
    lobes::ppl::io::scratch_dir("lobes-cli", name).unwrap()
}

const TINY: [&str; 14] = [
    "--data",
    "synthetic:12",
    "--hidden",
    "32",
    "--batch",
    "24",
    "--augment-step",
    "180",
    "--eval-every",
    "1",
    "--dropout",
    "0.1",
    "--seed",
    "4",
];

#[test]
fn train_generate_reconstruct_and_friends() {
    let dir = tmp("run");
    let run = dir.join("run");
    let r = run.to_str().unwrap();
    let mut args = vec![
        "train", "--model", "cvae", "--latent", "2", "--epochs", "2", "--out", r,
    ];
    args.extend(TINY);
    let text = lobes(&args);
    assert!(text.contains("epoch   2"), "{text}");
    for f in [
        "metrics.csv",
        "loss.png",
        "samples.png",
        "checkpoint.safetensors",
        "checkpoints/epoch_0002.safetensors",
    ] {
        assert!(run.join(f).exists(), "{f}");
    }
    // Resume to 3 epochs.
    let mut args = vec![
        "train", "--model", "cvae", "--latent", "2", "--epochs", "3", "--resume", "--out", r,
    ];
    args.extend(TINY);
    lobes(&args);
    let csv = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");

    let ckpt = run.join("checkpoint.safetensors");
    let c = ckpt.to_str().unwrap();
    // The test loss with dropout off is the one training wrote; with dropout on (the paper's
    // protocol) it is another number.
    let text = lobes(&[
        "evaluate",
        "--checkpoint",
        c,
        "--data",
        "synthetic:12",
        "--batch",
        "24",
        "--repeats",
        "1",
    ]);
    let value = |what: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("{text}"));
        let v = line
            .rsplit("): ")
            .next()
            .unwrap()
            .split(' ')
            .next()
            .unwrap();
        v.parse().unwrap()
    };
    let last: f64 = csv
        .lines()
        .last()
        .unwrap()
        .split(',')
        .nth(2)
        .unwrap()
        .parse()
        .unwrap();
    assert!((value("dropout off") - last).abs() < 0.01, "{text}\n{csv}");
    assert!((value("dropout on") - last).abs() > 1e-3, "{text}");
    let gen_dir = dir.join("gen");
    lobes(&[
        "generate",
        "--checkpoint",
        c,
        "--n",
        "4",
        "--class",
        "FRII",
        "--sampling",
        "uniform:-4,4",
        "--format",
        "fits",
        "--out",
        gen_dir.to_str().unwrap(),
    ]);
    assert!(
        gen_dir.join("grid.png").exists() && gen_dir.join("FRII/generated_00003.fits").exists()
    );
    assert!(
        std::fs::read_to_string(gen_dir.join("labels.csv"))
            .unwrap()
            .contains("FRII")
    );
    let rec = dir.join("rec.png");
    lobes(&[
        "reconstruct",
        "--checkpoint",
        c,
        "--data",
        "synthetic:12",
        "--n",
        "3",
        "--out",
        rec.to_str().unwrap(),
    ]);
    // Two labelled rows ("input", "reconstruction") of three 100-pixel stamps under a title.
    let img = image::open(&rec).unwrap();
    assert_eq!(img.height(), 36 + 6 + 2 * 102 - 2 + 6);
    assert!(img.width() > 3 * 102, "{}", img.width());
    let grid = dir.join("grid.png");
    lobes(&[
        "latent-grid",
        "--checkpoint",
        c,
        "--class",
        "FRI",
        "--out",
        grid.to_str().unwrap(),
    ]);
    // 21 cells of 56 pixels, 2 apart, after the z2 title (26) and values ("-4.0": 39 + 12)
    // and a 6-pixel margin each side.
    assert_eq!(
        image::open(&grid).unwrap().width(),
        26 + 51 + 6 + 21 * 58 - 2 + 6
    );
    let evo = dir.join("evo.png");
    let text = lobes(&[
        "evolution",
        "--run",
        r,
        "--data",
        "synthetic:12",
        "--n",
        "2",
        "--out",
        evo.to_str().unwrap(),
    ]);
    assert!(text.contains("(3)"), "{text}");

    // The paper's analyses, scored by a classifier trained here for one epoch.
    let clf_dir = dir.join("clf");
    let text = lobes(&[
        "classifier",
        "train",
        "--data",
        "synthetic:6",
        "--epochs",
        "1",
        "--batch",
        "6",
        "--out",
        clf_dir.to_str().unwrap(),
    ]);
    assert!(text.contains("test accuracy"), "{text}");
    let clf = clf_dir.join("classifier.safetensors");
    let k = clf.to_str().unwrap();
    let text = lobes(&[
        "ramis",
        "--classifier",
        k,
        "--images",
        gen_dir.to_str().unwrap(),
    ]);
    assert!(text.contains("RAMIS "), "{text}");
    let table = dir.join("balance.csv");
    let text = lobes(&[
        "class-balance",
        "--checkpoint",
        c,
        "--classifier",
        k,
        "--n",
        "5",
        "--out",
        table.to_str().unwrap(),
    ]);
    assert!(
        text.contains("uniform(-4,4)") && text.contains("prior"),
        "{text}"
    );
    let csv = std::fs::read_to_string(&table).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
    // The label with a comma is quoted, so the table reads back with 6 fields a row.
    assert!(csv.contains("\"uniform(-4,4)\",FRI,5,"), "{csv}");
    assert!(image::open(table.with_extension("png")).is_ok());
    let pairs = dir.join("pairs");
    lobes(&[
        "pairs",
        "--checkpoint",
        c,
        "--n",
        "2",
        "--out",
        pairs.to_str().unwrap(),
    ]);
    let img = image::open(pairs.join("pairs.png")).unwrap();
    assert_eq!(
        (img.width(), img.height()),
        (2 * 300 + 3 * 8 + 620, 64 + 2 * 308)
    );
    let noise = dir.join("noise");
    let text = lobes(&[
        "noise",
        "--checkpoint",
        c,
        "--n",
        "3",
        "--out",
        noise.to_str().unwrap(),
    ]);
    assert!(text.contains("below 5e-5"), "{text}");
    assert_eq!(
        std::fs::read_to_string(noise.join("noise.csv"))
            .unwrap()
            .lines()
            .count(),
        4
    );
    let text = lobes(&["select", "--classifier", k, "--n", "10", r, r]);
    assert_eq!(text.matches("RAMIS").count(), 2, "{text}");
    // The paper's uniform(-4, 4) latents by default; the prior's are another sample.
    let prior = lobes(&[
        "select",
        "--classifier",
        k,
        "--n",
        "10",
        "--sampling",
        "prior",
        r,
    ]);
    assert!(prior.contains("RAMIS"), "{prior}");
    lobes_fails(
        &["select", "--classifier", k, "--sampling", "uniform:4,-4", r],
        "--sampling 'uniform:4,-4'",
    );

    // Bad input: a class of 7, an even blur kernel, a NaN noise amplitude are refused with a
    // message.
    let g = gen_dir.to_str().unwrap();
    lobes_fails(
        &["generate", "--checkpoint", c, "--class", "7", "--out", g],
        "unknown class '7'",
    );
    lobes_fails(
        &["ramis", "--classifier", k, "--images", g, "--blur", "4"],
        "odd kernel size",
    );
    lobes_fails(
        &["ramis", "--classifier", k, "--images", g, "--noise", "NaN"],
        "noise amplitude must be finite",
    );
}

/// Options that cannot make a network or a training run are errors naming the option, before
/// any run folder is written; never a panic.
#[test]
fn bad_training_options_are_errors() {
    let dir = tmp("bad-options");
    let out = dir.join("run");
    let o = out.to_str().unwrap();
    let base = [
        "train",
        "--data",
        "synthetic:4",
        "--epochs",
        "1",
        "--out",
        o,
    ];
    for (extra, message) in [
        (
            &["--latent", "0"][..],
            "latent dimension must be at least 1",
        ),
        (
            &["--hidden", "0"],
            "hidden widths must be one or more positive",
        ),
        (&["--hidden", "16,0,8"], "[16, 0, 8]"),
        (&["--batch", "0"], "batch needs at least one image"),
        (
            &["--lr", "NaN"],
            "learning rate must be positive and finite",
        ),
        (&["--lr=-0.1"], "learning rate must be positive and finite"),
        (&["--augment-step=-5"], "rotation step must be 0"),
        (&["--dropout", "1"], "dropout must be in [0, 1)"),
        (
            &["--scale", "tanh"],
            "unknown guide scale 'tanh' (exp, softplus, exp-clamp)",
        ),
        (
            &["--optim", "adagrad", "--clip-norm", "5"],
            "it does not apply to --optim adagrad",
        ),
        (&["--clip-norm", "0"], "--clip-norm must be positive"),
        (
            &["--max-bad-steps", "0"],
            "--max-bad-steps must be at least 1",
        ),
        (&["--ramis-every", "5"], "give --classifier too"),
        (
            &["--classifier", "no/such.safetensors"],
            "no/such.safetensors",
        ),
        (
            &["--classifier", "x", "--ramis-sampling", "uniform:4,-4"],
            "--ramis-sampling 'uniform:4,-4'",
        ),
    ] {
        let mut args = base.to_vec();
        args.extend(extra);
        lobes_fails(&args, message);
        assert!(!out.exists(), "{extra:?} wrote {o}");
    }
    lobes_fails(
        &["bench", "--latent", "0", "--hidden", "16", "--steps", "1"],
        "latent dimension must be at least 1",
    );
    let clf = ["classifier", "train", "--data", "synthetic:4", "--out", o];
    lobes_fails(
        &[&clf[..], &["--lr", "NaN"]].concat(),
        "learning rate must be positive and finite",
    );
    assert!(!out.exists(), "the classifier's bad rate wrote {o}");
}

#[test]
fn lr_search_writes_a_table_a_plot_and_the_best_rate() {
    let dir = tmp("lr");
    let out = dir.to_str().unwrap();
    let mut args = vec![
        "lr-search",
        "--from",
        "0.001",
        "--to",
        "0.003",
        "--step",
        "0.001",
        "--epochs",
        "1",
        "--latent",
        "2",
        "--out",
        out,
    ];
    args.extend(TINY);
    let text = lobes(&args);
    assert!(text.contains("best lr"), "{text}");
    let csv = std::fs::read_to_string(dir.join("lr_search.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(dir.join("lr_search.png").exists());
}

/// `--keep-checkpoints 2` keeps the newest two epoch checkpoints, and without it three. A VAE's stamps have no
/// class: they go straight into the output folder (no FRI/FRII folders, no labels.csv), and
/// asking a VAE for a class is an error. `--n 0` is refused.
#[test]
fn vae_run_keeps_checkpoints_and_its_stamps_have_no_class() {
    let dir = tmp("vae-gen");
    let run = dir.join("run");
    let mut args = vec![
        "train",
        "--model",
        "vae",
        "--latent",
        "2",
        "--epochs",
        "3",
        "--keep-checkpoints",
        "2",
        "--out",
        run.to_str().unwrap(),
    ];
    args.extend(TINY);
    lobes(&args);
    let mut kept: Vec<String> = std::fs::read_dir(run.join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    kept.sort();
    assert_eq!(kept, ["epoch_0002.safetensors", "epoch_0003.safetensors"]);
    assert!(run.join("checkpoint.safetensors").exists());
    // Resumed to 5 epochs without the option: the default keeps the newest 3.
    let r = run.to_str().unwrap();
    let mut more = vec![
        "train", "--model", "vae", "--latent", "2", "--epochs", "5", "--resume", "--out", r,
    ];
    more.extend(TINY);
    lobes(&more);
    let mut kept: Vec<String> = std::fs::read_dir(run.join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    kept.sort();
    assert_eq!(
        kept,
        [
            "epoch_0003.safetensors",
            "epoch_0004.safetensors",
            "epoch_0005.safetensors"
        ]
    );
    let ckpt = run.join("checkpoint.safetensors");
    let c = ckpt.to_str().unwrap();
    let gen_dir = dir.join("gen");
    let g = gen_dir.to_str().unwrap();
    lobes(&["generate", "--checkpoint", c, "--n", "3", "--out", g]);
    for f in ["grid.png", "generated_00000.png", "generated_00002.png"] {
        assert!(gen_dir.join(f).exists(), "{f}");
    }
    for f in ["FRI", "FRII", "labels.csv"] {
        assert!(!gen_dir.join(f).exists(), "{f}");
    }
    let other = dir.join("other");
    let o = other.to_str().unwrap();
    lobes_fails(
        &["generate", "--checkpoint", c, "--class", "FRI", "--out", o],
        "--class needs a CVAE checkpoint",
    );
    lobes_fails_with(
        2,
        &["generate", "--checkpoint", c, "--n", "0", "--out", o],
        "invalid value '0' for '--n <N>'",
    );
    assert!(!other.exists());

    // `lobes export`: the parameters alone, a third of the checkpoint (Adam's two moments
    // gone), generating the same images; it cannot resume a run, and never overwrites the
    // checkpoint it reads.
    let model = dir.join("model.safetensors");
    let m = model.to_str().unwrap();
    let said = lobes(&["export", "--checkpoint", c, "--out", m]);
    assert!(
        said.contains("epoch 5") && said.contains("no optimiser state"),
        "{said}"
    );
    let (big, small) = (
        std::fs::metadata(&ckpt).unwrap().len(),
        std::fs::metadata(&model).unwrap().len(),
    );
    assert!(small * 5 < big * 2, "{small} vs {big} bytes");
    let from_model = dir.join("gen-model");
    lobes(&[
        "generate",
        "--checkpoint",
        m,
        "--n",
        "3",
        "--out",
        from_model.to_str().unwrap(),
    ]);
    for f in ["generated_00000.png", "generated_00002.png"] {
        assert_eq!(
            std::fs::read(gen_dir.join(f)).unwrap(),
            std::fs::read(from_model.join(f)).unwrap(),
            "{f}"
        );
    }
    // Over a training checkpoint (itself, or another run's): refused, the file untouched.
    let other_run = run.join("checkpoints/epoch_0003.safetensors");
    for target in [c, other_run.to_str().unwrap()] {
        let before = std::fs::metadata(target).unwrap().len();
        lobes_fails(
            &["export", "--checkpoint", c, "--out", target],
            "is a training checkpoint",
        );
        assert_eq!(std::fs::metadata(target).unwrap().len(), before);
    }
    // Its metadata: the run's `lobes.*` keys and where it came from; no training state.
    let meta = lobes::ppl::io::read_metadata(&model).unwrap();
    assert_eq!(meta.get("lobes.latent").map(String::as_str), Some("2"));
    assert_eq!(meta.get("lobes.epoch").map(String::as_str), Some("5"));
    assert_eq!(
        meta.get("lobes.exported_from").map(String::as_str),
        Some("checkpoint.safetensors")
    );
    assert_eq!(
        meta.get("format").map(String::as_str),
        Some("lobes-params-1")
    );
    for k in meta.keys() {
        assert!(
            !(k == "step" || k == "rng" || k.starts_with("optim")),
            "{k} exported"
        );
    }
    let resumed = dir.join("resumed");
    std::fs::create_dir_all(&resumed).unwrap();
    std::fs::copy(&model, resumed.join("checkpoint.safetensors")).unwrap();
    std::fs::copy(run.join("metrics.csv"), resumed.join("metrics.csv")).unwrap();
    let mut args = vec![
        "train",
        "--model",
        "vae",
        "--latent",
        "2",
        "--epochs",
        "4",
        "--resume",
        "--out",
        resumed.to_str().unwrap(),
    ];
    args.extend(TINY);
    lobes_fails(&args, "holds parameters only");
    // Refused before anything was written.
    assert!(!resumed.join("checkpoints").exists());
}

/// The classifier beside the checkout (`../shared/data`); `None` skips, except under CI.
fn shared_classifier() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/ramis-classifier/hmt-frdeepf.safetensors");
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but {} is missing",
        p.display()
    );
    eprintln!("skipping: {} not found", p.display());
    None
}

/// A CVAE trained with RAMIS logged every epoch, ClippedAdam and the softplus scale: the
/// metrics carry RAMIS and Table 4's columns, the scale is stored in the checkpoint and the
/// commands that load it use it; `--resume` with `--clip-norm` dropped is refused (another
/// optimiser).
#[test]
fn train_with_ramis_clipping_and_a_softplus_scale() {
    let Some(clf) = shared_classifier() else {
        return;
    };
    let dir = tmp("ramis-train");
    let run = dir.join("run");
    let r = run.to_str().unwrap();
    let c = clf.to_str().unwrap();
    let mut args = vec![
        "train",
        "--model",
        "cvae",
        "--latent",
        "2",
        "--epochs",
        "2",
        "--out",
        r,
        "--classifier",
        c,
        "--ramis-every",
        "1",
        "--ramis-n",
        "10",
        "--clip-norm",
        "5",
        "--scale",
        "softplus",
    ];
    args.extend(TINY);
    let text = lobes(&args);
    assert!(text.contains("RAMIS") && text.contains("FRII"), "{text}");
    let csv = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 4, "{csv}");
    for row in &rows[1..] {
        let f: Vec<&str> = row.split(',').collect();
        assert!(
            !f[5].is_empty() && !f[6].is_empty() && !f[7].is_empty(),
            "{row}"
        );
    }
    let ckpt = run.join("checkpoint.safetensors");
    let (_, meta) = lobes::ppl::io::load_tensors(&ckpt, &burn::prelude::Device::flex()).unwrap();
    assert_eq!(meta["lobes.scale"], "softplus");
    assert_eq!(meta["optimizer"], "clipped_adam");
    let rec = dir.join("rec.png");
    lobes(&[
        "reconstruct",
        "--checkpoint",
        ckpt.to_str().unwrap(),
        "--data",
        "synthetic:12",
        "--n",
        "2",
        "--out",
        rec.to_str().unwrap(),
    ]);
    assert!(rec.exists());
    let mut resume: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| *a != "--clip-norm" && *a != "5")
        .chain(["--resume"])
        .collect();
    let at = resume.iter().position(|a| *a == "--epochs").unwrap();
    resume[at + 1] = "3";
    // Adam continues from ClippedAdam's moments (clipping turned off on resume); Adagrad
    // cannot.
    let mut adagrad = resume.clone();
    adagrad.extend(["--optim", "adagrad"]);
    lobes_fails(&adagrad, "written by optimiser 'clipped_adam'");
    lobes(&resume);
    let (_, meta) = lobes::ppl::io::load_tensors(&ckpt, &burn::prelude::Device::flex()).unwrap();
    assert_eq!(meta["optimizer"], "adam");
    assert_eq!(meta["lobes.scale"], "softplus");
    assert_eq!(meta["lobes.epoch"], "3");
}

/// `compare-paper` prints and writes the table and draws the figure; a log without the
/// paper's columns is an error naming the file and the column.
#[test]
fn compare_paper_draws_our_curve_beside_the_papers_log() {
    let dir = tmp("compare");
    let m = dir.join("metrics.csv");
    std::fs::write(
        &m,
        "epoch,train_loss,test_loss,seconds,images_per_s,ramis,fri_percent,frii_percent,bad_steps,lr\n\
         0,,6932.3,0,0,1.0,,,0,0.001\n5,166.1,146.9,80,248,1.068,,,0,0.001\n10,164.4,138.5,80,248,1.12,,,1,0.0005\n",
    )
    .unwrap();
    let log = dir.join("paper.csv");
    std::fs::write(
        &log,
        ",Epoch,Train_Loss,Test_Loss,Sigma_clipped,Inception_score\n\
         0,0.0,290.4,161.56,0.0,1.0039\n5,5.0,170.1,153.43,0.0,1.0040\n10,10.0,168.2,153.47,0.0,1.0050\n",
    )
    .unwrap();
    let (fig, table) = (dir.join("fig.png"), dir.join("table.md"));
    let text = lobes(&[
        "compare-paper",
        "--metrics",
        m.to_str().unwrap(),
        "--paper-log",
        log.to_str().unwrap(),
        "--out",
        fig.to_str().unwrap(),
        "--table",
        table.to_str().unwrap(),
    ]);
    assert!(
        text.contains("| 10 | 138.50 | 153.47 | 1.120 | 1.005 |"),
        "{text}"
    );
    assert!(text.contains("| ≤ 140 | 10 | not in 10 |"), "{text}");
    assert_eq!(std::fs::read_to_string(&table).unwrap().lines().count(), 11);
    let img = image::open(&fig).unwrap();
    assert_eq!((img.width(), img.height()), (1280, 440));
    std::fs::write(&log, "Epoch,Test_Loss\n0,1\n").unwrap();
    lobes_fails(
        &[
            "compare-paper",
            "--metrics",
            m.to_str().unwrap(),
            "--paper-log",
            log.to_str().unwrap(),
            "--out",
            dir.join("f2.png").to_str().unwrap(),
        ],
        "paper.csv: no column 'Train_Loss'",
    );
    assert!(!dir.join("f2.png").exists());

    // Two runs, labelled: a column and a curve each.
    std::fs::write(
        &log,
        ",Epoch,Train_Loss,Test_Loss,Sigma_clipped,Inception_score\n0,0.0,290.4,161.56,0.0,1.0039\n",
    )
    .unwrap();
    let m2 = dir.join("warm.csv");
    std::fs::write(
        &m2,
        "epoch,train_loss,test_loss,seconds,images_per_s,ramis,fri_percent,frii_percent,bad_steps,lr,kl_scale\n\
         0,,6932.3,0,0,1.0,,,0,0.001,\n5,160.0,128.4,80,248,1.10,,,0,0.001,0.25\n",
    )
    .unwrap();
    let two = |labels: &[&str]| {
        let mut a = vec![
            "compare-paper",
            "--metrics",
            m.to_str().unwrap(),
            "--metrics",
        ];
        a.push(m2.to_str().unwrap());
        for l in labels {
            a.extend(["--label", l]);
        }
        a.extend([
            "--paper-log",
            log.to_str().unwrap(),
            "--out",
            fig.to_str().unwrap(),
        ]);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let args = two(&["Adam", "Adam + warm-up"]);
    let text = lobes(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        text.contains("| 5 | 146.90 | 128.40 | – | 1.068 | 1.100 | – |"),
        "{text}"
    );
    assert!(
        text.contains("| ≤ 130 | not in 10 | 5 | not in 0 |"),
        "{text}"
    );
    let args = two(&["only one"]);
    lobes_fails(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        "1 --label for 2 --metrics",
    );
}

/// A likelihood and a prior other than the paper's, end to end: train, generate from the
/// checkpoint (which records them), and score with RAMIS; unknown names list the choices.
#[test]
fn train_generate_and_score_with_a_continuous_bernoulli_and_a_laplace_prior() {
    let dir = tmp("swap");
    let run = dir.join("run");
    let mut args = vec![
        "train",
        "--likelihood",
        "continuous-bernoulli",
        "--prior",
        "laplace",
        "--epochs",
        "2",
        "--out",
        run.to_str().unwrap(),
    ];
    args.extend(TINY);
    lobes(&args);
    let ckpt = run.join("checkpoint.safetensors");
    let (_, meta) = lobes::ppl::io::load_tensors(&ckpt, &burn::prelude::Device::flex()).unwrap();
    assert_eq!(meta["lobes.likelihood"], "continuous-bernoulli");
    assert_eq!(meta["lobes.prior"], "laplace");
    let c = ckpt.to_str().unwrap();
    let stamps = dir.join("stamps");
    lobes(&[
        "generate",
        "--checkpoint",
        c,
        "--n",
        "4",
        "--out",
        stamps.to_str().unwrap(),
    ]);
    let n = std::fs::read_dir(&stamps).unwrap().count();
    assert!(n >= 4, "{n} files in {}", stamps.display());
    if let Some(clf) = shared_classifier() {
        let text = lobes(&[
            "ramis",
            "--classifier",
            clf.to_str().unwrap(),
            "--checkpoint",
            c,
            "--n",
            "8",
        ]);
        assert!(text.contains("RAMIS "), "{text}");
    }
    // The latent dimensions the encoder uses: a row per dimension, printed and written.
    let table = dir.join("latents.csv");
    let text = lobes(&[
        "latents",
        "--checkpoint",
        c,
        "--data",
        "synthetic:12",
        "--out",
        table.to_str().unwrap(),
    ]);
    assert!(text.contains("dimensions active over"), "{text}");
    let csv = std::fs::read_to_string(&table).unwrap();
    assert_eq!(csv.lines().count(), 1 + 32, "{csv}");
    assert!(text.contains("not the model's laplace prior"), "{text}");
    let o = dir.join("bad").to_str().unwrap().to_string();
    let base = [
        "train",
        "--data",
        "synthetic:4",
        "--epochs",
        "1",
        "--out",
        &o,
    ];
    let mut bad = base.to_vec();
    bad.extend(["--likelihood", "gaussian"]);
    lobes_fails(
        &bad,
        "unknown likelihood 'gaussian' (bernoulli, continuous-bernoulli, normal, normal-learned, laplace, beta, zero-inflated-beta)",
    );
    let mut bad = base.to_vec();
    bad.extend(["--prior", "cauchy"]);
    lobes_fails(
        &bad,
        "unknown prior 'cauchy' (normal, laplace, student-t, mixture, class-normal)",
    );
    assert!(!dir.join("bad").exists());
}
