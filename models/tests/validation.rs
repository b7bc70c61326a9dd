//! A run that takes its decisions on a validation split held out of the training images, never
//! on the test set; and the importance-sampled log-likelihood of a trained model.

#[path = "support/mod.rs"]
mod common;

use common::tiny;
use lobes_models::data::split::Holdout;
use lobes_models::data::synthetic::Synthetic;
use lobes_models::generate::Generator;
use lobes_models::train::{EpochMetrics, train_on, validation};
use lobes_models::vae::ModelKind;

fn val_losses(rows: &[EpochMetrics]) -> Vec<Option<f64>> {
    rows.iter().map(|r| r.val_loss).collect()
}

#[test]
fn a_validation_run_never_touches_the_test_set_keeps_its_best_epoch_and_resumes_exactly() {
    let _serial = common::serial();
    let ds = Synthetic::default().dataset(40, 8, 1);
    let out = common::tmp("val");
    let mut o = tiny(ModelKind::Vae, out.clone(), 4);
    o.validation = Some(10);
    o.split_seed = Some(3);
    o.lr_plateau = Some(1);
    let rows = train_on(&o, &ds).unwrap();
    assert!(rows.iter().all(|r| r.test_loss.is_none()), "{rows:?}");
    assert!(
        rows.iter().all(|r| r.val_loss.is_some_and(f64::is_finite)),
        "{rows:?}"
    );
    // The checkpoint records the split; best.safetensors holds the best epoch.
    let meta = lobes_ppl::io::read_metadata(&out.join("checkpoint.safetensors")).unwrap();
    assert_eq!(meta.get("lobes.validation").map(String::as_str), Some("10"));
    assert_eq!(meta.get("lobes.split_seed").map(String::as_str), Some("3"));
    assert_eq!(meta.get("lobes.lr_plateau").map(String::as_str), Some("1"));
    let (best_epoch, best) = validation::best(&rows).unwrap();
    let best_meta = lobes_ppl::io::read_metadata(&out.join("best.safetensors")).unwrap();
    assert_eq!(best_meta.get("lobes.epoch"), Some(&best_epoch.to_string()));
    // Its validation loss, measured again from the file, is the row's (the same guide draws).
    let mut g = Generator::load(&out.join("best.safetensors")).unwrap();
    let val = ds.samples("val:10:3").unwrap();
    let again = g.test_loss(&val, 32, false, 0x7e57_1055).unwrap();
    assert!(
        (again - best).abs() < 1e-6 * best.abs(),
        "{again} vs {best}"
    );
    // The validation images are not trained on: the fit split excludes them.
    let fit = ds.samples("fit:10:3").unwrap();
    assert_eq!(fit.len() + val.len(), ds.train.len());
    assert!(val.iter().all(|v| fit.iter().all(|f| f.name != v.name)));

    // Stop at 2, resume to 4: the same validation losses and rates (the plateau's state is
    // replayed from metrics.csv).
    let out2 = common::tmp("val-resume");
    let mut first = o.clone();
    first.out = out2.clone();
    first.epochs = 2;
    train_on(&first, &ds).unwrap();
    let mut rest = first.clone();
    rest.epochs = 4;
    rest.resume = true;
    rest.validation = None;
    rest.split_seed = None;
    rest.lr_plateau = None;
    let resumed = train_on(&rest, &ds).unwrap();
    assert_eq!(val_losses(&resumed), val_losses(&rows));
    let lrs = |r: &[EpochMetrics]| r.iter().map(|m| m.lr).collect::<Vec<_>>();
    assert_eq!(lrs(&resumed), lrs(&rows));
    // Another split on resume is refused: it would validate on trained images.
    let mut other = rest.clone();
    other.split_seed = Some(4);
    let e = train_on(&other, &ds).unwrap_err().to_string();
    assert!(e.contains("cannot change on --resume"), "{e}");
}

#[test]
fn early_stopping_and_the_plateau_act_on_the_validation_loss() {
    let _serial = common::serial();
    let ds = Synthetic::default().dataset(40, 8, 1);
    // A rate so small nothing improves by the threshold: the plateau (which counts from epoch
    // 1, the untrained network's epoch 0 aside) decays after epoch 3, the second without
    // improvement on epoch 1; early stopping stops 4 epochs after the best, epoch 0.
    let mut o = tiny(ModelKind::Vae, common::tmp("early"), 20);
    o.lr = 1e-9;
    o.validation = Some(10);
    o.lr_plateau = Some(1);
    o.lr_gamma = Some(0.5);
    o.early_stop = Some(4);
    let rows = train_on(&o, &ds).unwrap();
    let last = rows.last().unwrap().epoch;
    assert!(last < 20, "stopped early: {rows:?}");
    let (best_epoch, _) = validation::best(&rows).unwrap();
    assert_eq!((best_epoch, last), (0, 4), "{rows:?}");
    let lrs: Vec<f64> = rows.iter().filter_map(|r| r.lr).collect();
    assert!(lrs.last().unwrap() < &1e-9, "decayed: {lrs:?}");
    // Options that cannot work: a patience without a split, or with sparse evaluations.
    let mut bad = tiny(ModelKind::Vae, common::tmp("early-bad"), 2);
    bad.early_stop = Some(3);
    let e = train_on(&bad, &ds).unwrap_err().to_string();
    assert!(e.contains("--validation"), "{e}");
    bad.validation = Some(10);
    bad.eval_every = 2;
    let e = train_on(&bad, &ds).unwrap_err().to_string();
    assert!(e.contains("--eval-every 1"), "{e}");
    assert_eq!(Holdout::parse("10:0"), Some(Holdout { n: 10, seed: 0 }));
}

#[test]
fn the_importance_sampled_log_likelihood_is_at_least_the_elbo() {
    let _serial = common::serial();
    let ds = Synthetic::default().dataset(40, 8, 1);
    let out = common::tmp("iw");
    train_on(&tiny(ModelKind::Vae, out.clone(), 3), &ds).unwrap();
    let mut g = Generator::load(&out.join("checkpoint.safetensors")).unwrap();
    let test = &ds.test[..6];
    // -ELBO averaged over 20 draws, against -log p(x) from 200 weights per image.
    let elbo_loss: f64 = (0..20)
        .map(|s| g.test_loss(test, 6, false, s).unwrap())
        .sum::<f64>()
        / 20.0;
    let lp = g.log_likelihood(test, 200, 64, 1).unwrap();
    assert_eq!(lp.len(), 6);
    let nll = -lp.iter().sum::<f64>() / 6.0;
    assert!(
        nll.is_finite() && nll <= elbo_loss + 0.5,
        "-log p {nll} vs -ELBO {elbo_loss}"
    );
    // Reproducible from its seed.
    assert_eq!(g.log_likelihood(test, 200, 64, 1).unwrap(), lp);
}
