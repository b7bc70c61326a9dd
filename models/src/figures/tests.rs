//! Each figure writer writes a PNG of the expected size, and fails with an error naming the
//! file, without writing it, on empty data or an unwritable path.

use super::*;
use crate::analysis::experiments::Curve;
use crate::analysis::pair;
use crate::data::{Class, Image};
use crate::error::ModelError;
use crate::ramis::balance::ClassBalance;
use crate::ramis::hmt::{Accuracy, ClassifierEpoch};
use crate::train::EpochMetrics;
use std::path::{Path, PathBuf};

fn tmp(name: &str) -> PathBuf {
    lobes_ppl::io::scratch_dir("lobes-figures", name).unwrap()
}

/// `write` at a good path gives a PNG of `size`; in a missing folder an error naming it;
/// `empty` (the writer on empty data) an error naming its file, which is not written.
fn check(
    name: &str,
    size: (u32, u32),
    write: impl Fn(&Path) -> Result<(), ModelError>,
    empty: impl Fn(&Path) -> Result<(), ModelError>,
) {
    let dir = tmp(name);
    let p = dir.join("f.png");
    write(&p).unwrap();
    let img = image::open(&p).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), size, "{name}");
    let inked = img.pixels().filter(|px| px.0 != [255, 255, 255]).count();
    assert!(inked > 3000, "{name}: {inked} pixels drawn");
    let e = write(&dir.join("missing").join("f.png"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing"), "{name}: {e}");
    let e = empty(&dir.join("e.png")).unwrap_err().to_string();
    assert!(e.contains("e.png"), "{name}: {e}");
    assert!(!dir.join("e.png").exists(), "{name}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn metrics(n: usize) -> Vec<EpochMetrics> {
    (0..n)
        .map(|e| EpochMetrics {
            epoch: e,
            train_loss: (e > 0).then(|| 150.0 + 100.0 / e as f64),
            test_loss: Some(if e == 0 {
                6932.0
            } else {
                140.0 + 20.0 / e as f64
            }),
            seconds: 1.0,
            images_per_s: 1.0,
            ramis: None,
            fri_percent: None,
            frii_percent: None,
            bad_steps: usize::from(e == 3),
            lr: Some(1e-3),
            kl_scale: None,
            val_loss: None,
            max_step_loss: None,
        })
        .collect()
}

fn stamp(v: f32) -> Image {
    Image::new(
        20,
        (0..400)
            .map(|i| v * ((i % 20) as f32 / 20.0 + (i / 20) as f32 / 40.0))
            .collect(),
    )
}

#[test]
fn loss_figure_has_a_log_panel_and_a_zoom_from_epoch_1() {
    check(
        "loss",
        (1280, 440),
        |p| loss_figure(p, &metrics(10), "VAE"),
        |p| loss_figure(p, &[], "VAE"),
    );
}

#[test]
fn accuracy_figure_has_four_curves() {
    let rows: Vec<ClassifierEpoch> = (1..6)
        .map(|e| ClassifierEpoch {
            epoch: e,
            train_loss: 1.0 / e as f64,
            train_accuracy: 0.5 + 0.08 * e as f64,
            val_loss: 1.0,
            val: Accuracy {
                overall: 0.6,
                per_class: [0.4, 0.8],
                counts: [10, 12],
            },
        })
        .collect();
    check(
        "accuracy",
        (1280, 440),
        |p| accuracy_figure(p, &rows, "HMT"),
        |p| accuracy_figure(p, &[], "HMT"),
    );
}

#[test]
fn ramis_experiments_figure_has_three_panels() {
    let curves = vec![
        Curve {
            name: "blur",
            points: vec![(1.0, 1.4), (3.0, 1.3), (5.0, 1.2)],
        },
        Curve {
            name: "noise",
            points: vec![(0.0, 1.4), (0.001, 1.38), (0.01, 1.0), (0.1, 1.0)],
        },
        Curve {
            name: "blank",
            points: vec![(0.0, 1.4), (5.0, 1.39), (10.0, 1.3)],
        },
    ];
    check(
        "ramis",
        (1680, 420),
        |p| ramis_experiments_figure(p, &curves, "real"),
        |p| ramis_experiments_figure(p, &[], "real"),
    );
}

#[test]
fn lr_search_figure_leaves_out_non_finite_losses() {
    let pts = [
        (5e-4, 160.0, 150.0),
        (1e-3, 158.0, 149.0),
        (1.5e-3, f64::NAN, 151.0),
    ];
    check(
        "lr",
        (760, 480),
        |p| lr_search_figure(p, &pts, "search"),
        |p| lr_search_figure(p, &[(1e-3, f64::NAN, f64::NAN)], "search"),
    );
}

#[test]
fn class_balance_figure_draws_bars_per_latent_draw() {
    let row = |latents: &str, requested, scored| BalanceRow {
        latents: latents.into(),
        balance: ClassBalance {
            requested,
            n: 1000,
            scored,
        },
    };
    let rows = vec![
        row("uniform(-4,4)", Class::FRI, [46, 954]),
        row("uniform(-4,4)", Class::FRII, [64, 936]),
        row("prior", Class::FRI, [215, 785]),
        row("prior", Class::FRII, [240, 760]),
    ];
    check(
        "balance",
        (680, 460),
        |p| class_balance_figure(p, &rows),
        |p| class_balance_figure(p, &[]),
    );
}

#[test]
fn profiles_and_pairs_figures() {
    let profile: Vec<(f64, f64, f64)> = (-10..=10)
        .map(|t| (t as f64, 0.5 / (1.0 + (t * t) as f64), 0.3))
        .collect();
    check(
        "profiles",
        (1120, 400),
        |p| profiles_figure(p, &[profile.clone(), profile.clone()]),
        |p| profiles_figure(p, &[]),
    );
    let pairs = vec![pair(stamp(1.0), stamp(0.5)), pair(stamp(0.8), stamp(0.3))];
    check(
        "pairs",
        (2 * 300 + 3 * 8 + 620, 64 + 2 * 308),
        |p| pairs_figure(p, &pairs),
        |p| pairs_figure(p, &[]),
    );
}

#[test]
fn image_figures_have_their_labels_and_check_counts() {
    let inputs = vec![stamp(1.0); 4];
    let recs = vec![stamp(0.5); 4];
    // Reconstructions: "reconstruction" (14 characters) sets the left margin.
    let w = 135 + 12 + 6 + 4 * 102 - 2 + 6;
    check(
        "recon",
        (w, 36 + 6 + 2 * 102 - 2 + 6),
        |p| reconstructions_figure(p, &inputs, &recs, "VAE"),
        |p| reconstructions_figure(p, &inputs, &recs[..1], "VAE"),
    );
    let cols = vec![
        ("epoch 1".to_string(), recs.clone()),
        ("epoch 2".to_string(), recs.clone()),
    ];
    check(
        "evolution",
        // The title (29 characters at 20 px, 0.6 em each, + 20) is wider than the grid.
        (29 * 12 + 20, 36 + 26 + 6 + 4 * 102 - 2 + 6),
        |p| evolution_figure(p, &inputs, &cols),
        |p| evolution_figure(p, &inputs, &[("epoch 1".into(), vec![])]),
    );
    let ticks = [-1.0f32, 0.0, 1.0];
    check(
        "latent",
        (
            26 + 39 + 12 + 6 + 3 * 58 - 2 + 6,
            36 + 6 + 3 * 58 - 2 + 26 + 26 + 6,
        ),
        |p| latent_grid_figure(p, &vec![stamp(1.0); 9], &ticks, "grid"),
        |p| latent_grid_figure(p, &vec![stamp(1.0); 8], &ticks, "grid"),
    );
    check(
        "noise",
        (
            202 + 12 + 6 + 4 * 122 - 2 + 6,
            36 + 26 + 26 + 6 + 2 * 122 - 2 + 6,
        ),
        |p| noise_figure(p, &inputs, "test"),
        |p| noise_figure(p, &[], "test"),
    );
}

#[test]
fn plot_csv_redraws_the_committed_charts_and_names_bad_files() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/figures");
    let dir = tmp("csv");
    for (kind, input) in [
        (PlotKind::Loss, docs.join("frdeep-vae-d32-metrics.csv")),
        (
            PlotKind::Accuracy,
            docs.join("classifier-frdeepf/metrics.csv"),
        ),
        (PlotKind::RamisExperiments, docs.join("ramis-experiments")),
        (
            PlotKind::ClassBalance,
            docs.join("analyses/class_balance_d8.csv"),
        ),
        (
            PlotKind::Profiles,
            docs.join("analyses/pairs-d8/profiles.csv"),
        ),
    ] {
        let out = dir.join("p.png");
        plot_csv(kind, &input, &out, None).unwrap();
        assert!(image::open(&out).is_ok(), "{kind:?}");
    }
    let lr = dir.join("lr_search.csv");
    std::fs::write(
        &lr,
        "lr,final_train_loss,final_test_loss\n0.001,160,150\n0.002,NaN,152\n",
    )
    .unwrap();
    plot_csv(PlotKind::LrSearch, &lr, &dir.join("lr.png"), None).unwrap();

    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "lr,final_train_loss,final_test_loss\n0.001,x,150\n").unwrap();
    let e = plot_csv(PlotKind::LrSearch, &bad, &dir.join("b.png"), None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("bad.csv: line 2: column 'final_train_loss' is not a number: 'x'"),
        "{e}"
    );
    let e = plot_csv(PlotKind::Profiles, &bad, &dir.join("b.png"), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("bad.csv: no column 'pair'"), "{e}");
    std::fs::write(&bad, "pair,offset,FRI,FRII\n").unwrap();
    let e = plot_csv(PlotKind::Profiles, &bad, &dir.join("b.png"), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("bad.csv: no rows to plot"), "{e}");
    let e = plot_csv(
        PlotKind::Loss,
        &dir.join("none.csv"),
        &dir.join("b.png"),
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("none.csv: no such metrics file"), "{e}");
    assert!(!dir.join("b.png").exists());
    assert_eq!(PlotKind::parse("lr-search"), Some(PlotKind::LrSearch));
    assert_eq!(PlotKind::parse("pie"), None);
    std::fs::remove_dir_all(&dir).unwrap();
}
