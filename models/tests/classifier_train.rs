//! Training the RAMIS classifier from scratch: the exported checkpoint is read by the same
//! loader as the published weights and gives the trained network's outputs; a short run writes
//! its files; bad options are errors; class balance counts a request for FRI as FRI.

#[path = "support/mod.rs"]
mod common;

use burn::prelude::*;
use lobes_models::data::synthetic::Synthetic;
use lobes_models::data::{Class, DataSet, Image, frdeep};
use lobes_models::ramis::balance::class_balance;
use lobes_models::ramis::classifier::Classifier;
use lobes_models::ramis::hmt::{ClassifierOptions, train_classifier_on};
use lobes_models::ramis::network::Hmt;
use std::collections::HashMap;

fn images(n: usize) -> Vec<Image> {
    Synthetic::default()
        .samples(n, 5, 0)
        .into_iter()
        .map(|s| s.image.pad_to(150))
        .collect()
}

fn tensor(imgs: &[Image], device: &Device) -> Tensor<4> {
    let px: Vec<f32> = imgs.iter().flat_map(|i| i.pixels.clone()).collect();
    Tensor::<1>::from_floats(px.as_slice(), device).reshape([imgs.len(), 1, 150, 150])
}

#[test]
fn an_exported_network_reads_back_as_the_same_classifier() {
    let plain = Device::flex();
    let device = plain.clone().autodiff();
    let net = Hmt::new(0.5, &device);
    let imgs = images(3);
    // A training-mode pass moves the batch-norm running statistics away from (0, 1), so the
    // export of non-trivial statistics is checked too.
    let _ = net.forward(tensor(&imgs, &device) * 10.0);
    let valid = net.valid();
    let expected: Vec<f32> = valid
        .forward(tensor(&imgs, &plain))
        .try_into_vec_as::<f32>()
        .unwrap();
    let dir = common::tmp("hmt-export");
    let path = dir.join("c.safetensors");
    lobes_ppl::io::save_tensors(&path, &valid.named_tensors(), HashMap::new()).unwrap();
    let got: Vec<f32> = Classifier::load(&path)
        .unwrap()
        .logits(&imgs)
        .unwrap()
        .try_into_vec_as::<f32>()
        .unwrap();
    assert_eq!(expected.len(), 2 * imgs.len());
    for (a, b) in expected.iter().zip(&got) {
        assert!(
            (a - b).abs() <= 1e-4 * (1.0 + a.abs()),
            "{expected:?} vs {got:?}"
        );
    }
}

#[test]
fn a_short_run_writes_its_files_and_bad_options_are_errors() {
    let out = common::tmp("hmt-train");
    let ds = Synthetic::default().dataset(12, 4, 1);
    let opts = ClassifierOptions {
        epochs: 2,
        batch: 8,
        val_fraction: 0.25,
        class_weights: true,
        out: out.clone(),
        ..Default::default()
    };
    let r = train_classifier_on(&opts, &ds).unwrap();
    assert_eq!(r.epochs.len(), 2);
    assert!(r.best_epoch >= 1 && r.best_epoch <= 2);
    assert_eq!(r.test.counts, [4, 4]);
    for f in [
        "classifier.safetensors",
        "metrics.csv",
        "accuracy.png",
        "test.csv",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let metrics = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert_eq!(metrics.lines().count(), 3, "{metrics}");
    let test = std::fs::read_to_string(out.join("test.csv")).unwrap();
    assert_eq!(test.lines().count(), 9);

    let err = |opts: &ClassifierOptions, ds: &DataSet| {
        train_classifier_on(opts, ds).unwrap_err().to_string()
    };
    let bad = ClassifierOptions {
        val_fraction: 1.0,
        ..opts.clone()
    };
    assert!(err(&bad, &ds).contains("validation fraction"));
    let mut big = ds.clone();
    big.train[3].image = Image::zeros(200);
    big.train[3].name = "huge.png".into();
    let e = err(
        &ClassifierOptions {
            val_fraction: 0.0,
            ..opts.clone()
        },
        &big,
    );
    assert!(e.contains("huge.png") && e.contains("200x200"), "{e}");
    let mut one_class = ds.clone();
    one_class.train.retain(|s| s.label == Class::FRI);
    assert!(err(&opts, &one_class).contains("both classes"));
}

/// A dropout probability outside [0, 1) used to panic inside burn's dropout after the output
/// folder was made; it is refused first, and nothing is created. So is a data set without a
/// test split.
#[test]
fn a_dropout_outside_zero_to_one_or_no_test_split_is_refused_before_anything_is_written() {
    let ds = Synthetic::default().dataset(2, 1, 1);
    for p in [1.0, -0.5, 1.5, f64::NAN] {
        let out = common::tmp("hmt-dropout").join("run");
        let opts = ClassifierOptions {
            dropout: p,
            epochs: 1,
            out: out.clone(),
            ..Default::default()
        };
        let e = train_classifier_on(&opts, &ds).unwrap_err().to_string();
        assert!(e.contains("--dropout") && e.contains("[0, 1)"), "{p}: {e}");
        assert!(!out.exists(), "{p}: {} was made", out.display());
    }
    // No test split: nothing to score the kept weights on (it reported accuracy over 0 images).
    let mut no_test = ds.clone();
    no_test.test.clear();
    let out = common::tmp("hmt-no-test").join("run");
    let opts = ClassifierOptions {
        epochs: 1,
        out: out.clone(),
        ..Default::default()
    };
    let e = train_classifier_on(&opts, &no_test)
        .unwrap_err()
        .to_string();
    assert!(e.contains("test split holds no images"), "{e}");
    assert!(!out.exists());
}

#[test]
fn class_balance_scores_real_fri_requests_in_the_fri_column() {
    let Some(data) = common::shared_data() else {
        return;
    };
    // The published classifier as scorer and the real FRDEEP-F test images as "generator": a
    // request for a class returns real images of that class, so the percentages are the
    // classifier's per-class accuracy. A swap of the two columns would put them near 0.
    let clf = Classifier::load(&data.join("ramis-classifier/hmt-frdeepf.safetensors")).unwrap();
    let ds = frdeep::load_dir(&data.join("FRDEEP-F")).unwrap();
    let mut generate = |c: Class, n: usize| {
        Ok(ds
            .test
            .iter()
            .filter(|s| s.label == c)
            .take(n)
            .map(|s| s.image.clone())
            .collect())
    };
    let [fri, frii] = class_balance(20, &mut generate, &|imgs| clf.probs(imgs)).unwrap();
    eprintln!("{fri:?} {frii:?}");
    assert_eq!(fri.requested, Class::FRI);
    assert!(fri.percent_correct() >= 70.0, "{fri:?}");
    assert!(frii.percent_correct() >= 70.0, "{frii:?}");
}
