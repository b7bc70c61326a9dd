//! Training the RAMIS classifier from scratch (`lobes classifier train`): the HMT network of
//! Tang et al. (2019) as a burn module, trained with Adagrad on randomly rotated images, with
//! optional class weights, a validation split and per-class accuracy. The checkpoint is a
//! safetensors file with PyTorch's tensor names, so [`Classifier::load`] (and `lobes ramis`)
//! read it exactly like the published weights.
//!
//! The published weights do not record where the original training applied dropout; we apply
//! it after each fully-connected hidden layer (`fc1`, and both applications of `fc2`).

use crate::data::augment::{Interp, rotate};
use crate::data::{self, Class, DataSet, Image, Sample};
use crate::error::ModelError;
use crate::output::{RunFolder, RunMode};
use crate::ramis::classifier::Classifier;
use crate::ramis::network::{Hmt, SIDE, images_tensor};
pub use crate::ramis::records::{Accuracy, ClassifierEpoch};
use burn::optim::{AdaGradConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;
use std::path::PathBuf;

/// Options of `lobes classifier train`.
/// The files of a classifier run: what shows that a folder holds one, and what `--overwrite`
/// removes.
pub const CLASSIFIER_RUN_FILES: &[&str] = &[
    "classifier.safetensors",
    "metrics.csv",
    "accuracy.png",
    "test.csv",
];

#[derive(Clone, Debug)]
pub struct ClassifierOptions {
    /// Data spec (labelled images, 150x150 or smaller: smaller ones are zero-padded).
    pub data: String,
    /// Epochs.
    pub epochs: usize,
    /// Images per step.
    pub batch: usize,
    /// Adagrad learning rate.
    pub lr: f64,
    /// Fraction of the training split held out for validation.
    pub val_fraction: f64,
    /// Weight each class by `n / (2 n_class)` in the loss.
    pub class_weights: bool,
    /// Rotate every training image by a uniform random angle each time it is used.
    pub rotate: bool,
    /// Dropout after the fully-connected hidden layers.
    pub dropout: f64,
    /// Seed of initialisation, split, shuffling, rotations and dropout.
    pub seed: u64,
    /// Output folder: `classifier.safetensors`, `metrics.csv`, `accuracy.png`, `test.csv`.
    pub out: PathBuf,
    /// Replace a classifier run `out` holds (its files are removed first); without it such a
    /// folder is refused.
    pub overwrite: bool,
}

impl Default for ClassifierOptions {
    fn default() -> Self {
        ClassifierOptions {
            data: "synthetic".into(),
            epochs: 30,
            batch: 32,
            lr: 0.01,
            val_fraction: 0.1,
            class_weights: false,
            rotate: true,
            dropout: 0.5,
            seed: 0,
            out: PathBuf::from("runs/classifier"),
            overwrite: false,
        }
    }
}

/// What a training run produced.
#[derive(Clone, Debug)]
pub struct ClassifierReport {
    /// Every epoch.
    pub epochs: Vec<ClassifierEpoch>,
    /// The epoch whose weights were kept (best validation accuracy, then lowest loss).
    pub best_epoch: usize,
    /// Test-split accuracy of the kept weights, read back through [`Classifier::load`].
    pub test: Accuracy,
    /// Where the weights are.
    pub checkpoint: PathBuf,
}

fn at_side(s: &Sample) -> Result<Image, ModelError> {
    match s.image.size {
        SIDE => Ok(s.image.clone()),
        n if n < SIDE => Ok(s.image.pad_to(SIDE)),
        n => Err(ModelError::ClassifierImageSize {
            image: Some(format!("image '{}'", s.name)),
            side: n,
        }),
    }
}

/// Weighted cross-entropy `-sum w_i log p(y_i | x_i) / sum w_i`, with PyTorch's weighted mean.
fn cross_entropy(logits: Tensor<2>, labels: &[Class], weights: [f64; 2]) -> Tensor<1> {
    let n = labels.len();
    let mut target = vec![0f32; 2 * n];
    let mut total = 0.0;
    for (i, c) in labels.iter().enumerate() {
        target[2 * i + c.label()] = weights[c.label()] as f32;
        total += weights[c.label()];
    }
    let device = logits.device();
    let target = Tensor::<1>::from_floats(target.as_slice(), &device).reshape([n, 2]);
    (log_softmax(logits, 1) * target).sum().neg() / total
}

fn argmax2(logits: &[f32]) -> Vec<usize> {
    logits.chunks(2).map(|c| usize::from(c[1] > c[0])).collect()
}

fn to_vec(t: Tensor<2>) -> Result<Vec<f32>, ModelError> {
    t.try_into_vec_as::<f32>()
        .map_err(|e| ModelError::tensor_read("the classifier logits", e))
}

/// Loss and accuracy of `net` in evaluation mode.
fn evaluate(
    net: &Hmt,
    images: &[Image],
    labels: &[Class],
    weights: [f64; 2],
    batch: usize,
) -> Result<(f64, Accuracy), ModelError> {
    let device = Device::default();
    let (mut loss, mut predicted) = (0.0, vec![]);
    for (imgs, labs) in images.chunks(batch).zip(labels.chunks(batch)) {
        let logits = net.forward(images_tensor(imgs, &device));
        let w: f64 = labs.iter().map(|c| weights[c.label()]).sum();
        loss += cross_entropy(logits.clone(), labs, weights).into_scalar::<f32>() as f64 * w;
        predicted.extend(argmax2(&to_vec(logits)?));
    }
    let w: f64 = labels.iter().map(|c| weights[c.label()]).sum();
    Ok((
        loss / w.max(f64::MIN_POSITIVE),
        Accuracy::of(labels, &predicted),
    ))
}

/// What [`train_classifier_with`] reports while it runs (the library prints nothing).
#[derive(Clone, Copy, Debug)]
pub enum ClassifierEvent<'a> {
    /// A step is done: steps done and steps in the whole run.
    Step {
        /// Steps done so far.
        done: usize,
        /// Steps in the whole run.
        total: usize,
    },
    /// An epoch's row, as `metrics.csv` gets it.
    Epoch(&'a ClassifierEpoch),
}

/// [`train_classifier_on`] the data set named by `opts.data`.
pub fn train_classifier(opts: &ClassifierOptions) -> Result<ClassifierReport, ModelError> {
    train_classifier_with(opts, &mut |_| {})
}

/// [`train_classifier`], telling `observe` what happens.
pub fn train_classifier_with(
    opts: &ClassifierOptions,
    observe: &mut dyn FnMut(ClassifierEvent<'_>),
) -> Result<ClassifierReport, ModelError> {
    train_classifier_on_with(opts, &data::load_spec(&opts.data)?, observe)
}

/// Trains the classifier on `ds.train` (less a validation split), keeps the weights with the
/// best validation accuracy, and scores them on `ds.test`. Reports nothing
/// ([`train_classifier_on_with`] does).
pub fn train_classifier_on(
    opts: &ClassifierOptions,
    ds: &DataSet,
) -> Result<ClassifierReport, ModelError> {
    train_classifier_on_with(opts, ds, &mut |_| {})
}

/// [`train_classifier_on`], telling `observe` what happens.
pub fn train_classifier_on_with(
    opts: &ClassifierOptions,
    ds: &DataSet,
    observe: &mut dyn FnMut(ClassifierEvent<'_>),
) -> Result<ClassifierReport, ModelError> {
    let bad = [
        (
            "--val-fraction",
            !(0.0..1.0).contains(&opts.val_fraction),
            opts.val_fraction,
        ),
        ("--batch", opts.batch == 0, opts.batch as f64),
        ("--epochs", opts.epochs == 0, opts.epochs as f64),
    ];
    if let Some(&(option, _, value)) = bad.iter().find(|(_, wrong, _)| *wrong) {
        return Err(ModelError::invalid_option(
            option,
            value,
            format!(
                "need 0 <= validation fraction < 1, a batch and epochs > 0 (got {}, {}, {})",
                opts.val_fraction, opts.batch, opts.epochs
            ),
        ));
    }
    crate::error::check_learning_rate(opts.lr)?;
    // burn's dropout panics outside [0, 1]; p = 1 would zero every activation.
    if !(0.0..1.0).contains(&opts.dropout) {
        return Err(ModelError::invalid_option(
            "--dropout",
            opts.dropout,
            format!(
                "--dropout: a dropout probability must be in [0, 1), got {}",
                opts.dropout
            ),
        ));
    }
    // The kept weights are scored on the test split: without one there is nothing to report.
    if ds.test.is_empty() {
        return Err(ModelError::no_images(
            Some(&ds.name),
            format!(
                "{}: the test split holds no images to score the classifier on",
                ds.name
            ),
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut order: Vec<usize> = (0..ds.train.len()).collect();
    order.shuffle(&mut rng);
    let n_val = (opts.val_fraction * order.len() as f64).round() as usize;
    let (val_idx, train_idx) = order.split_at(n_val);
    if train_idx.is_empty() {
        return Err(ModelError::no_images(
            Some(&ds.name),
            format!(
                "data set '{}' leaves no training images after a validation split of {}",
                ds.name, opts.val_fraction
            ),
        ));
    }
    let pick = |idx: &[usize]| -> Result<(Vec<Image>, Vec<Class>), ModelError> {
        let images = idx
            .iter()
            .map(|&i| at_side(&ds.train[i]))
            .collect::<Result<_, _>>()?;
        Ok((images, idx.iter().map(|&i| ds.train[i].label).collect()))
    };
    let (train_x, train_y) = pick(train_idx)?;
    let (val_x, val_y) = pick(val_idx)?;
    let mut counts = [0usize; 2];
    train_y.iter().for_each(|c| counts[c.label()] += 1);
    let weights = if opts.class_weights {
        if counts.contains(&0) {
            return Err(ModelError::no_images(
                Some(&ds.name),
                format!(
                    "class weights need both classes in the training images (FRI {}, FRII {})",
                    counts[0], counts[1]
                ),
            ));
        }
        counts.map(|c| train_x.len() as f64 / (2.0 * c as f64))
    } else {
        [1.0, 1.0]
    };

    let mode = if opts.overwrite {
        RunMode::Overwrite
    } else {
        RunMode::New
    };
    let _folder = RunFolder::open(&opts.out, mode, CLASSIFIER_RUN_FILES, &[])?;
    let plain = Device::default();
    plain.seed(opts.seed);
    let device = plain.clone().autodiff();
    let mut net = Hmt::seeded(opts.dropout, opts.seed, &device);
    let mut optim = AdaGradConfig::new().with_epsilon(1e-10).init();
    let checkpoint = opts.out.join("classifier.safetensors");
    let (mut rows, mut best): (Vec<ClassifierEpoch>, Option<(f64, f64, usize)>) = (vec![], None);
    let total = opts.epochs * train_x.len().div_ceil(opts.batch);
    let mut done = 0;
    for epoch in 1..=opts.epochs {
        let mut perm: Vec<usize> = (0..train_x.len()).collect();
        perm.shuffle(&mut rng);
        let (mut loss_sum, mut steps, mut right) = (0.0, 0, 0);
        for chunk in perm.chunks(opts.batch) {
            let imgs: Vec<Image> = chunk
                .iter()
                .map(|&i| {
                    if opts.rotate {
                        rotate(&train_x[i], rng.random_range(0.0..360.0), Interp::Bilinear)
                    } else {
                        train_x[i].clone()
                    }
                })
                .collect();
            let labels: Vec<Class> = chunk.iter().map(|&i| train_y[i]).collect();
            let logits = net.forward(images_tensor(&imgs, &device));
            let loss = cross_entropy(logits.clone(), &labels, weights);
            let value = loss.clone().into_scalar::<f32>() as f64;
            if !value.is_finite() {
                return Err(ModelError::ClassifierDiverged { epoch, loss: value });
            }
            let pred = argmax2(&to_vec(logits.detach())?);
            right += labels
                .iter()
                .zip(&pred)
                .filter(|(c, p)| c.label() == **p)
                .count();
            let grads = GradientsParams::from_grads(loss.backward(), &net);
            net = optim.step(opts.lr, net, grads);
            loss_sum += value;
            steps += 1;
            done += 1;
            observe(ClassifierEvent::Step { done, total });
        }
        let valid = net.valid();
        let (val_loss, val) = if val_x.is_empty() {
            (f64::NAN, Accuracy::default())
        } else {
            evaluate(&valid, &val_x, &val_y, weights, 50)?
        };
        let row = ClassifierEpoch {
            epoch,
            train_loss: loss_sum / steps as f64,
            train_accuracy: right as f64 / train_x.len() as f64,
            val_loss,
            val,
        };
        rows.push(row);
        observe(ClassifierEvent::Epoch(rows.last().expect("just pushed")));
        // Keep the best validation accuracy (ties: lower loss); without a validation split,
        // the last epoch.
        let score = (val.overall, if val_loss.is_nan() { 0.0 } else { -val_loss });
        if best.is_none_or(|(a, l, _)| score.0 > a || (score.0 == a && score.1 >= l)) {
            best = Some((score.0, score.1, epoch));
            let meta = HashMap::from([
                ("lobes.kind".to_string(), "hmt-classifier".to_string()),
                ("lobes.epoch".to_string(), epoch.to_string()),
                ("lobes.data".to_string(), opts.data.clone()),
                (
                    "lobes.val_accuracy".to_string(),
                    format!("{:.4}", val.overall),
                ),
            ]);
            lobes_ppl::io::save_tensors(&checkpoint, &valid.named_tensors(), meta)?;
        }
        super::records::write_metrics(&opts.out.join("metrics.csv"), &rows)?;
        super::figure::accuracy_figure(&opts.out.join("accuracy.png"), &rows, "HMT classifier")?;
    }

    let clf = Classifier::load(&checkpoint)?;
    let test_x: Vec<Image> = ds.test.iter().map(at_side).collect::<Result<_, _>>()?;
    let test_y: Vec<Class> = ds.test.iter().map(|s| s.label).collect();
    let predicted: Vec<usize> = clf
        .probs(&test_x)?
        .iter()
        .map(|p| usize::from(p[1] > p[0]))
        .collect();
    let test = Accuracy::of(&test_y, &predicted);
    let mut csv = String::from("name,label,predicted\n");
    for (s, p) in ds.test.iter().zip(&predicted) {
        csv.push_str(&format!(
            "{},{},{}\n",
            s.name,
            s.label.name(),
            Class::ALL[*p].name()
        ));
    }
    lobes_ppl::io::write_atomic(&opts.out.join("test.csv"), csv.as_bytes())?;
    Ok(ClassifierReport {
        epochs: rows,
        best_epoch: best.map_or(opts.epochs, |b| b.2),
        test,
        checkpoint,
    })
}
