//! The published RAMIS classifier on FRDEEP-F: accuracy and RAMIS of the real images.

#[path = "support/mod.rs"]
mod common;

use lobes_models::data::{Class, Image, frdeep};
use lobes_models::ramis::classifier::{Classifier, ramis};

#[test]
fn published_weights_give_the_published_accuracy_and_ramis() {
    let Some(data) = common::shared_data() else {
        return;
    };
    let clf = Classifier::load(&data.join("ramis-classifier/hmt-frdeepf.safetensors")).unwrap();
    let ds = frdeep::load_dir(&data.join("FRDEEP-F")).unwrap();
    let test: Vec<Image> = ds.test.iter().map(|s| s.image.clone()).collect();
    let p = clf.probs(&test).unwrap();
    let correct = p
        .iter()
        .zip(&ds.test)
        .filter(|(p, s)| (if p[1] > p[0] { Class::FRII } else { Class::FRI }) == s.label)
        .count();
    let acc = correct as f64 / test.len() as f64;
    eprintln!("test accuracy {acc}");
    let train: Vec<Image> = ds.train.iter().map(|s| s.image.clone()).collect();
    let r = ramis(&clf.probs(&train).unwrap(), 1e-12);
    eprintln!("RAMIS of the training images {r}");
    assert!((acc - 0.86).abs() < 0.005, "accuracy {acc}");
    assert!((r - 1.40).abs() <= 0.01, "RAMIS {r}");
}

#[test]
fn ramis_is_one_for_a_single_confident_class_and_two_for_balanced_certainty() {
    assert!((ramis(&[[1.0, 0.0]; 10], 1e-12) - 1.0).abs() < 1e-9);
    let half: Vec<[f64; 2]> = (0..10)
        .map(|i| if i % 2 == 0 { [1.0, 0.0] } else { [0.0, 1.0] })
        .collect();
    assert!((ramis(&half, 1e-12) - 2.0).abs() < 1e-6);
    assert!((ramis(&[[0.5, 0.5]; 4], 1e-12) - 1.0).abs() < 1e-9);
}

#[test]
fn blur_noise_and_blanking_lower_ramis_toward_one() {
    use lobes_models::ramis::degrade::{add_noise, blank_edges, gaussian_blur};
    let Some(data) = common::shared_data() else {
        return;
    };
    let clf = Classifier::load(&data.join("ramis-classifier/hmt-frdeepf.safetensors")).unwrap();
    let ds = frdeep::load_dir(&data.join("FRDEEP-F")).unwrap();
    let imgs: Vec<Image> = ds.test.iter().map(|s| s.image.clone()).collect();
    let score = |f: &dyn Fn(&Image, usize) -> Image| {
        let d: Vec<Image> = imgs.iter().enumerate().map(|(i, im)| f(im, i)).collect();
        ramis(&clf.probs(&d).unwrap(), 1e-12)
    };
    let blur: Vec<f64> = [1, 7, 15]
        .iter()
        .map(|&k| score(&|im, _| gaussian_blur(im, k).unwrap()))
        .collect();
    let blank: Vec<f64> = [0, 25, 50]
        .iter()
        .map(|&p| score(&|im, _| blank_edges(im, p)))
        .collect();
    let noise: Vec<f64> = [0.0, 0.002, 0.05]
        .iter()
        .map(|&a| score(&|im, i| add_noise(im, a, i as u64).unwrap()))
        .collect();
    for (what, v) in [("blur", &blur), ("blank", &blank), ("noise", &noise)] {
        assert!(v[0] > v[1] && v[1] > v[2], "{what}: {v:?} should fall");
        assert!(v[2] >= 1.0 && v[2] < 1.2, "{what}: {v:?} should approach 1");
    }
}

/// `lobes grid`'s measurements (issue 26's protocol) on tiny runs: a CVAE chosen on a
/// validation split is measured at its best epoch with Table 4's columns, a VAE with free bits
/// and reflections names them as departures and has none; rows replace the row of their run in
/// the CSV, and a CSV of other columns is refused untouched.
#[test]
fn grid_rows_measure_the_chosen_epoch_and_replace_their_row() {
    use lobes_models::analysis::grid::{COLUMNS, GridSettings, measure, upsert};
    use lobes_models::data::synthetic::Synthetic;
    use lobes_models::train::train_on;
    use lobes_models::vae::ModelKind;
    let _serial = common::serial();
    let Some(data) = common::shared_data() else {
        return;
    };
    let clf = Classifier::load(&data.join("ramis-classifier/hmt-frdeepf.safetensors")).unwrap();
    let ds = Synthetic::default().dataset(32, 8, 1);
    let settings = GridSettings {
        repeats: 2,
        iw: 20,
        n: 20,
        bootstrap: 50,
        seed: 0,
    };
    let cvae = common::tmp("grid-cvae");
    let mut o = common::tiny(ModelKind::Cvae, cvae.clone(), 3);
    o.validation = Some(8);
    let rows = train_on(&o, &ds).unwrap();
    let chosen = rows
        .iter()
        .filter(|r| r.epoch > 0)
        .min_by(|a, b| a.val_loss.unwrap().total_cmp(&b.val_loss.unwrap()))
        .unwrap()
        .epoch;
    let row = measure(&cvae, &ds.test, &ds.train, &clf, &settings, &mut |_| {}).unwrap();
    assert_eq!((row.model, row.latent, row.seed.as_str()), ("cvae", 4, "3"));
    assert_eq!((row.epoch, row.epochs), (chosen, 3));
    assert_eq!(row.departures, "paper");
    assert!(row.test_off.0.is_finite() && row.test_on.0.is_finite());
    // Importance sampling tightens the single-sample bound.
    let (nll, se) = row.nll.unwrap();
    assert!(
        nll <= row.test_off.0 + 1.0 && se >= 0.0,
        "{nll} vs {:?}",
        row.test_off
    );
    for g in [row.uniform, row.prior] {
        let r = g.ramis;
        assert!(
            (1.0..=2.0).contains(&r.value) && r.lo <= r.value && r.value <= r.hi,
            "{r:?}"
        );
        assert!(g.frechet.is_finite() && g.frechet >= 0.0);
    }
    assert!(
        row.table4
            .unwrap()
            .iter()
            .all(|p| (0.0..=100.0).contains(p))
    );
    assert!(row.active <= 4 && (0.0..=100.0).contains(&row.background));

    let vae = common::tmp("grid-vae");
    let mut o = common::tiny(ModelKind::Vae, vae.clone(), 1);
    o.free_bits = Some(1.0);
    o.reflect = true;
    train_on(&o, &ds).unwrap();
    let v = measure(&vae, &ds.test, &ds.train, &clf, &settings, &mut |_| {}).unwrap();
    assert_eq!(v.departures, "free_bits=1;reflect=true");
    assert_eq!((v.epoch, v.table4), (1, None));

    let csv = common::tmp("grid-csv").join("tables.csv");
    upsert(&csv, &row.fields("cpu, with a comma", "2026-12-06")).unwrap();
    upsert(&csv, &v.fields("cpu", "2026-12-06")).unwrap();
    let mut again = row.clone();
    again.active = 99;
    upsert(&csv, &again.fields("cpu", "2026-12-07")).unwrap();
    let mut r = csv::Reader::from_path(&csv).unwrap();
    assert_eq!(r.headers().unwrap().iter().collect::<Vec<_>>(), COLUMNS);
    let recs: Vec<Vec<String>> = r
        .records()
        .map(|x| x.unwrap().iter().map(String::from).collect())
        .collect();
    assert_eq!(recs.len(), 2, "{recs:?}");
    assert_eq!((&recs[0][0], recs[0][27].as_str()), (&row.run, "99"));
    assert!(row.run.ends_with("grid-cvae") && recs[1][0].ends_with("grid-vae"));
    assert_eq!(recs[0][7], "cpu", "the newer row replaced the older");
    assert_eq!(recs[1][23], "", "no Table 4 for a VAE");

    // Figures 4 and 5 from it: the paper-recipe rows only (the VAE above has departures).
    use lobes_models::analysis::grid_figure::read_points;
    let points = read_points(&csv).unwrap();
    assert_eq!(points.len(), 1);
    assert_eq!((points[0].model.as_str(), points[0].d), ("cvae", 4));
    let png = csv.with_extension("png");
    lobes_models::figures::plot_csv(lobes_models::figures::PlotKind::Grid, &csv, &png, None)
        .unwrap();
    assert!(image::open(&png).unwrap().width() > 1000);

    std::fs::write(&csv, "run,other\nx,1\n").unwrap();
    let e = upsert(&csv, &v.fields("cpu", "d")).unwrap_err().to_string();
    assert!(e.contains("tables.csv") && e.contains("header"), "{e}");
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), "run,other\nx,1\n");
    let e = read_points(&csv).unwrap_err().to_string();
    assert!(e.contains("tables.csv") && e.contains("no column"), "{e}");
}
