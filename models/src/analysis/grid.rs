//! One row of the paper's Tables 3 and 4 for a finished run, measured as issue 26's protocol
//! asks: the run's validation-selected checkpoint (`best.safetensors`, else its last) on the test
//! set, in one pass: test −ELBO with dropout off and on, the importance-sampled −log p(x), RAMIS
//! from uniform(−4, 4) and from prior latents with bootstrap intervals and Fréchet distances,
//! Table 4's columns (a CVAE), the active latent units and §6.2's background share; and the CSV
//! those rows make (`docs/figures/tables-3-4.csv`), one row per run folder.

use crate::data::{Image, Sample};
use crate::error::ModelError;
use crate::generate::{Generator, Sampling};
use crate::ramis::balance::balance_rows;
use crate::ramis::bootstrap::ramis_interval;
use crate::ramis::classifier::{Classifier, SIDE, ramis};
use crate::ramis::frechet::{Gaussian, frechet_distance};
use crate::vae::{DimActivity, ModelKind};
use std::path::Path;

/// How much each measurement draws; [`Default`] is the protocol.
#[derive(Clone, Debug)]
pub struct GridSettings {
    /// Test −ELBO estimates averaged, each mode (5).
    pub repeats: usize,
    /// Guide samples per image for −log p(x) (5,000; 0: not measured).
    pub iw: usize,
    /// Generated images for RAMIS, per sampling, and per class for Table 4 (1,000).
    pub n: usize,
    /// Bootstrap resamples of RAMIS's 95% interval (1,000).
    pub bootstrap: usize,
    /// Seed of every draw (0).
    pub seed: u64,
}

impl Default for GridSettings {
    fn default() -> Self {
        GridSettings {
            repeats: 5,
            iw: 5000,
            n: 1000,
            bootstrap: 1000,
            seed: 0,
        }
    }
}

/// A statistic and its 95% interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Interval {
    /// The point estimate.
    pub value: f64,
    /// Lower end.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
}

/// RAMIS of one sampling of the latents, and the Fréchet distance of its images to the reference.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Generated {
    /// RAMIS with its bootstrap interval.
    pub ramis: Interval,
    /// Fréchet distance in the classifier's penultimate-layer features.
    pub frechet: f64,
}

/// One run's row.
#[derive(Clone, Debug, PartialEq)]
pub struct GridRow {
    /// The run folder's name (the row's key).
    pub run: String,
    /// `vae` or `cvae`.
    pub model: &'static str,
    /// Latent size d.
    pub latent: usize,
    /// The run's `--seed`.
    pub seed: String,
    /// The epoch of the checkpoint measured (the validation's choice when the run had one).
    pub epoch: usize,
    /// Epochs trained (the last row of `metrics.csv`).
    pub epochs: usize,
    /// Hours of training: the sum of `metrics.csv`'s per-epoch seconds.
    pub hours: f64,
    /// Departures from the paper the checkpoint records (`paper` for none), `;`-separated.
    pub departures: String,
    /// Test −ELBO per image, dropout off: mean and sd over the estimates.
    pub test_off: (f64, f64),
    /// Test −ELBO per image, dropout on (the paper's protocol): mean and sd.
    pub test_on: (f64, f64),
    /// Importance-sampled −log p(x) per image: mean and standard error (`None`: not measured).
    pub nll: Option<(f64, f64)>,
    /// Images from uniform(−4, 4) latents (the paper's RAMIS).
    pub uniform: Generated,
    /// Images from the prior.
    pub prior: Generated,
    /// Table 4 (a CVAE): percent of requested FRI and FRII classified so, from uniform latents
    /// then from the prior.
    pub table4: Option<[f64; 4]>,
    /// Latent dimensions active on the test set (Burda et al.: posterior-mean variance > 0.01).
    pub active: usize,
    /// §6.2: mean percent of pixels below 5e-5 in the prior's images (real stamps: ~98%).
    pub background: f64,
}

/// The departures from the paper a checkpoint's settings record.
fn departures(g: &Generator, extra: &std::collections::BTreeMap<String, String>) -> String {
    let mut out = vec![];
    if g.net.likelihood != Default::default() {
        out.push(format!("likelihood={}", g.net.likelihood.name()));
    }
    if g.net.prior != Default::default() {
        out.push(format!("prior={}", g.net.prior.name()));
    }
    for key in ["free_bits", "iwae", "reflect", "precision"] {
        if let Some(v) = extra.get(key) {
            out.push(format!("{key}={v}"));
        }
    }
    if out.is_empty() {
        "paper".into()
    } else {
        out.join(";")
    }
}

/// The mean of `v` and its sample standard deviation (n − 1 in the denominator; 0 for one
/// value): what `lobes evaluate` and `lobes grid` report over estimates, seeds or images.
pub fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, var.sqrt())
}

/// Measures run folder `run` on `test`, the Fréchet distances against `reference` (the real
/// training images), with `clf`. `say` hears each step as it starts (the measurements take
/// minutes on the paper's network).
pub fn measure(
    run: &Path,
    test: &[Sample],
    reference: &[Sample],
    clf: &Classifier,
    s: &GridSettings,
    say: &mut dyn FnMut(&str),
) -> Result<GridRow, ModelError> {
    let best = run.join("best.safetensors");
    let checkpoint = if best.exists() {
        best
    } else {
        run.join("checkpoint.safetensors")
    };
    let (mut g, meta) = Generator::load_with_metadata(&checkpoint)?;
    g.check_inputs(test)?;
    let rows = crate::train::read_metrics(&run.join("metrics.csv"), usize::MAX)?;
    say(&format!(
        "{}: test −ELBO, {} estimates each mode",
        checkpoint.display(),
        s.repeats
    ));
    let mut loss = |dropout: bool| -> Result<(f64, f64), ModelError> {
        let v = (0..s.repeats.max(1) as u64)
            .map(|r| g.test_loss(test, 100, dropout, 0x7e57_1055 + r))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(mean_sd(&v))
    };
    let (test_off, test_on) = (loss(false)?, loss(true)?);
    let nll = if s.iw > 0 {
        say(&format!(
            "importance-sampled −log p(x), {} guide samples per image",
            s.iw
        ));
        let lp = g.log_likelihood(test, s.iw, 500, 0x1a7e_5a3e)?;
        let (mean, sd) = mean_sd(&lp.iter().map(|l| -l).collect::<Vec<_>>());
        Some((mean, sd / (lp.len() as f64).sqrt()))
    } else {
        None
    };
    let real: Vec<Image> = reference.iter().map(|x| x.image.pad_to(SIDE)).collect();
    let real = Gaussian::fit(&clf.features(&real)?);
    let mut generated = |sampling: Sampling| -> Result<(Generated, Vec<Image>), ModelError> {
        say(&format!("RAMIS of {} images, {sampling:?} latents", s.n));
        let images = g.generate(s.n, None, sampling, s.seed)?;
        let padded: Vec<Image> = images.iter().map(|i| i.pad_to(SIDE)).collect();
        let p = clf.probs(&padded)?;
        let (lo, hi) = ramis_interval(&p, 1e-12, s.bootstrap, 0.95, s.seed);
        let frechet = frechet_distance(&Gaussian::fit(&clf.features(&padded)?), &real);
        let ramis = Interval {
            value: ramis(&p, 1e-12),
            lo,
            hi,
        };
        Ok((Generated { ramis, frechet }, images))
    };
    let (uniform, _) = generated(Sampling::Uniform(-4.0, 4.0))?;
    let (prior, prior_images) = generated(Sampling::Prior)?;
    let table4 = if g.kind == ModelKind::Cvae {
        say(&format!("Table 4: {} images per class and sampling", s.n));
        let b = balance_rows(&mut g, clf, s.n, s.seed)?;
        let pc: Vec<f64> = b.iter().map(|r| r.balance.percent_correct()).collect();
        Some([pc[0], pc[1], pc[2], pc[3]])
    } else {
        None
    };
    say("active units and the background share");
    let dims: Vec<DimActivity> = crate::analysis::latents::latent_activity(&mut g, test)?;
    let background = prior_images
        .iter()
        .map(|i| super::percent_below(i, super::NOISE_THRESHOLD))
        .sum::<f64>()
        / prior_images.len().max(1) as f64;
    Ok(GridRow {
        run: run
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| run.display().to_string()),
        model: g.kind.name(),
        latent: g.net.latent,
        seed: meta.extra.get("seed").cloned().unwrap_or_default(),
        epoch: meta.epoch,
        epochs: rows.last().map_or(meta.epoch, |r| r.epoch),
        hours: rows.iter().map(|r| r.seconds).sum::<f64>() / 3600.0,
        departures: departures(&g, &meta.extra),
        test_off,
        test_on,
        nll,
        uniform,
        prior,
        table4,
        active: dims.iter().filter(|d| d.is_active()).count(),
        background,
    })
}

/// The CSV's columns, in order.
pub const COLUMNS: [&str; 30] = [
    "run",
    "model",
    "d",
    "seed",
    "epoch",
    "epochs",
    "hours",
    "cpu",
    "departures",
    "test_off",
    "test_off_sd",
    "test_on",
    "test_on_sd",
    "nll_iw",
    "nll_iw_se",
    "ramis_uniform",
    "ramis_uniform_lo",
    "ramis_uniform_hi",
    "ramis_prior",
    "ramis_prior_lo",
    "ramis_prior_hi",
    "frechet_uniform",
    "frechet_prior",
    "fri_uniform",
    "frii_uniform",
    "fri_prior",
    "frii_prior",
    "active_units",
    "background_percent",
    "measured",
];

impl GridRow {
    /// The row's fields in [`COLUMNS`]' order; `cpu` is the machine that trained and measured
    /// it, `measured` the date (both given by the caller: the library reads no clock).
    pub fn fields(&self, cpu: &str, measured: &str) -> Vec<String> {
        let f = |v: f64, digits: usize| format!("{v:.digits$}");
        let opt = |v: Option<f64>, digits: usize| v.map(|v| f(v, digits)).unwrap_or_default();
        let t4 = |i: usize| opt(self.table4.map(|t| t[i]), 1);
        vec![
            self.run.clone(),
            self.model.to_string(),
            self.latent.to_string(),
            self.seed.clone(),
            self.epoch.to_string(),
            self.epochs.to_string(),
            f(self.hours, 2),
            cpu.to_string(),
            self.departures.clone(),
            f(self.test_off.0, 2),
            f(self.test_off.1, 2),
            f(self.test_on.0, 2),
            f(self.test_on.1, 2),
            opt(self.nll.map(|n| n.0), 2),
            opt(self.nll.map(|n| n.1), 2),
            f(self.uniform.ramis.value, 4),
            f(self.uniform.ramis.lo, 4),
            f(self.uniform.ramis.hi, 4),
            f(self.prior.ramis.value, 4),
            f(self.prior.ramis.lo, 4),
            f(self.prior.ramis.hi, 4),
            f(self.uniform.frechet, 2),
            f(self.prior.frechet, 2),
            t4(0),
            t4(1),
            t4(2),
            t4(3),
            self.active.to_string(),
            f(self.background, 2),
            measured.to_string(),
        ]
    }
}

/// Writes `fields` (a row in [`COLUMNS`]' order) into the CSV at `path`: in place of the row of
/// the same run, else appended; a new file gets the header. A file whose header is not
/// [`COLUMNS`] is refused, naming it, and left as it was. Written atomically.
pub fn upsert(path: &Path, fields: &[String]) -> Result<(), ModelError> {
    let bad = |why: String| ModelError::from(crate::data::DataError::format(path, why));
    let mut rows: Vec<Vec<String>> = vec![];
    if path.exists() {
        let mut r = csv::Reader::from_path(path).map_err(|e| bad(e.to_string()))?;
        let header: Vec<String> = r
            .headers()
            .map_err(|e| bad(e.to_string()))?
            .iter()
            .map(String::from)
            .collect();
        if header != COLUMNS {
            return Err(bad(format!(
                "its header is not the grid's {} columns ({}, ...)",
                COLUMNS.len(),
                COLUMNS[..4].join(",")
            )));
        }
        for rec in r.records() {
            rows.push(
                rec.map_err(|e| bad(e.to_string()))?
                    .iter()
                    .map(String::from)
                    .collect(),
            );
        }
    }
    match rows.iter_mut().find(|r| r.first() == fields.first()) {
        Some(r) => *r = fields.to_vec(),
        None => rows.push(fields.to_vec()),
    }
    let mut w = csv::Writer::from_writer(vec![]);
    let io = |e: csv::Error| bad(e.to_string());
    w.write_record(COLUMNS).map_err(io)?;
    for r in &rows {
        w.write_record(r).map_err(io)?;
    }
    let bytes = w.into_inner().map_err(|e| bad(e.to_string()))?;
    lobes_ppl::io::write_atomic(path, &bytes)?;
    Ok(())
}
