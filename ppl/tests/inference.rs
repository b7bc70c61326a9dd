//! Inference with known answers and fixed seeds.

use lobes_ppl::infer::{Elbo, FreeBits, Predictive, Svi, TraceElbo, TraceMeanFieldElbo};
use lobes_ppl::optim::schedule::{exponential_lr, one_cycle_lr, step_lr};
use lobes_ppl::optim::{
    Adagrad, Adam, AdamW, ClippedAdam, Optimizer, PerParam, ReduceLrOnPlateau, RmsProp, Sgd,
};
use lobes_ppl::prelude::*;
use lobes_ppl::{ParamStore, with_active_store, with_param_store};

use crate::support::*;

// ---------------------------------------------------------------- Normal–Normal conjugate
// support::nn_model: mu ~ N(0, 1); x_i ~ N(mu, 1), i = 1..10. Posterior N(Σx / 11, 1 / √11).

fn nn_guide(_x: &DTensor) -> Result<()> {
    let loc: DTensor = param("loc", s(0.0))?;
    let scale: DTensor = param_constrained("scale", s(1.0), Constraint::Positive)?;
    sample::<DTensor>("mu", Normal::new(loc, scale)?)?;
    Ok(())
}

/// Runs SVI and returns the average of (loc, scale) over the last `avg` steps.
fn fit<L: Elbo>(loss: L, steps: usize, avg: usize) -> (f64, f64) {
    let x = data();
    // A decaying rate (Pyro's ClippedAdam lrd), four particles per step and iterate averaging
    // tame the gradient noise (Adam's per-step normalisation otherwise shifts the scale by a
    // few percent when the noise is skewed, as the mean-field scale gradient's is).
    let optim = ClippedAdam::new(0.03).with_lrd(0.9992);
    let mut svi = Svi::new(nn_model, nn_guide, optim, loss).with_seed(1, None);
    let (mut loc, mut scale) = (0.0, 0.0);
    for t in 0..steps {
        svi.step(&x).unwrap();
        if t >= steps - avg {
            loc += svi.store().get("loc").unwrap().item() as f64;
            scale += svi.store().get("scale").unwrap().item() as f64;
        }
    }
    (loc / avg as f64, scale / avg as f64)
}

#[test]
fn normal_normal_posterior_is_recovered_within_2_percent() {
    let (m, sd) = exact_posterior(&data());
    for (name, (loc, scale)) in [
        ("Trace_ELBO", fit(TraceElbo::new(4), 3000, 1500)),
        (
            "TraceMeanField_ELBO",
            fit(TraceMeanFieldElbo::new(4), 3000, 1500),
        ),
    ] {
        assert!((loc - m).abs() < 0.02 * m, "{name}: loc {loc} vs {m}");
        assert!(
            (scale - sd).abs() < 0.02 * sd,
            "{name}: scale {scale} vs {sd}"
        );
    }
}

// ---------------------------------------------------------------- Bayesian linear regression

struct Regression {
    x: Tensor<2>,
    y: DTensor,
}

const NOISE: f32 = 0.5;
const PRIOR_SD: f32 = 10.0;

fn regression_data() -> Regression {
    let n = 40;
    let mut xs = vec![];
    let mut ys = vec![];
    for i in 0..n {
        let a = (i as f32 * 0.37).sin() * 2.0;
        let b = (i as f32 * 0.91).cos() * 1.5;
        xs.extend([a, b]);
        ys.push(1.5 * a - 2.0 * b + 0.7 * NOISE * ((i * 7 % 11) as f32 / 5.0 - 1.0));
    }
    Regression {
        x: Tensor::<1>::from_floats(xs.as_slice(), &dev()).reshape([n, 2]),
        y: DTensor::from_floats(ys, &[n], &dev()).unwrap(),
    }
}

fn reg_model(d: &Regression) -> Result<()> {
    let zeros = DTensor::zeros(&[2], &dev());
    let w: Tensor<1> = sample(
        "w",
        Normal::new(zeros.clone(), zeros.add_scalar(PRIOR_SD as f64))?.to_event(1),
    )?;
    let mean: Tensor<1> = d.x.clone().matmul(w.reshape([2, 1])).reshape([d.y.numel()]);
    plate("data", d.y.numel())
        .run(|_| observe("y", Normal::new(mean.clone(), s(NOISE))?, d.y.clone()))?;
    Ok(())
}

fn reg_guide(_d: &Regression) -> Result<()> {
    let loc: DTensor = param("w_loc", DTensor::zeros(&[2], &dev()))?;
    let scale: DTensor = param_constrained(
        "w_scale",
        DTensor::full(&[2], 0.1, &dev()),
        Constraint::Positive,
    )?;
    sample::<DTensor>("w", Normal::new(loc, scale)?.to_event(1))?;
    Ok(())
}

#[test]
fn bayesian_linear_regression_posterior_means_within_2_percent() {
    let d = regression_data();
    // Closed form: Σ = (XᵀX/σ² + I/τ²)⁻¹, μ = Σ Xᵀy / σ².
    let x: Vec<f32> = d.x.clone().try_into_vec_as::<f32>().unwrap();
    let y = d.y.to_vec();
    let (s2, t2) = ((NOISE as f64).powi(2), (PRIOR_SD as f64).powi(2));
    let mut a = [[0.0f64; 2]; 2];
    let mut b = [0.0f64; 2];
    for (row, &yi) in x.chunks(2).zip(&y) {
        for i in 0..2 {
            b[i] += row[i] as f64 * yi as f64 / s2;
            for j in 0..2 {
                a[i][j] += row[i] as f64 * row[j] as f64 / s2;
            }
        }
    }
    a[0][0] += 1.0 / t2;
    a[1][1] += 1.0 / t2;
    let det = a[0][0] * a[1][1] - a[0][1] * a[1][0];
    let mu = [
        (a[1][1] * b[0] - a[0][1] * b[1]) / det,
        (a[0][0] * b[1] - a[1][0] * b[0]) / det,
    ];
    let mut svi = Svi::new(
        reg_model,
        reg_guide,
        Adam::new(0.03),
        TraceMeanFieldElbo::default(),
    )
    .with_seed(2, None);
    let mut acc = [0.0f64; 2];
    let (steps, avg) = (2500, 1000);
    for t in 0..steps {
        svi.step(&d).unwrap();
        if t >= steps - avg {
            let v = svi.store().get("w_loc").unwrap().to_vec();
            acc[0] += v[0] as f64 / avg as f64;
            acc[1] += v[1] as f64 / avg as f64;
        }
    }
    for i in 0..2 {
        assert!(
            (acc[i] - mu[i]).abs() < 0.02 * mu[i].abs(),
            "w[{i}]: {} vs {}",
            acc[i],
            mu[i]
        );
    }
}

// ---------------------------------------------------------------- score-function gradients

const N_COPIES: usize = 50_000;
const PHI: f32 = -1.0;

fn sf_model(x: &DTensor) -> Result<()> {
    plate("n", N_COPIES).run(|_| {
        let z: DTensor = sample("z", Bernoulli::from_probs(s(0.3))?)?;
        observe("x", Normal::new(z.mul_scalar(2.0), s(1.0))?, x.clone())
    })?;
    Ok(())
}

fn sf_guide(_x: &DTensor) -> Result<()> {
    let phi: DTensor = param("phi", s(PHI))?;
    plate("n", N_COPIES).run(|_| sample::<DTensor>("z", Bernoulli::from_logits(phi.clone())?))?;
    Ok(())
}

#[test]
fn score_function_gradient_matches_the_analytic_elbo_gradient() {
    // Per copy: ELBO(φ) = Σ_z q(z) [a_z - ln q(z)], a_z = ln p(z) + ln N(1.5 | 2z, 1), q(1) = σ(φ);
    // dELBO/dφ = σ(1-σ) (a_1 - a_0 - φ).
    let ln_n = |x: f64, m: f64| -0.5 * (x - m).powi(2) - 0.5 * (2.0 * std::f64::consts::PI).ln();
    let (a1, a0) = (0.3f64.ln() + ln_n(1.5, 2.0), 0.7f64.ln() + ln_n(1.5, 0.0));
    let sig = 1.0 / (1.0 + (-(PHI as f64)).exp());
    let want = sig * (1.0 - sig) * (a1 - a0 - PHI as f64);
    let x = DTensor::full(&[N_COPIES], 1.5, &dev());
    let mut store = ParamStore::new();
    lobes_ppl::rng::set_rng_seed(17);
    let grad = with_param_store(&mut store, || {
        let est = TraceElbo::default()
            .estimate(&sf_model, &sf_guide, &x)
            .unwrap();
        let g = est.surrogate.backward();
        let leaf = with_active_store(|s| s.leaves()["phi"].clone());
        leaf.grad(&g).unwrap().item() as f64
    });
    let got = grad / N_COPIES as f64;
    assert!(
        (got - want).abs() < 0.05 * want.abs(),
        "score-function gradient {got} vs analytic {want}"
    );
}

// ---------------------------------------------------------------- subsampling is unbiased

fn sub_model(args: &(DTensor, usize)) -> Result<()> {
    let (x, k) = args;
    let mu: DTensor = sample("mu", Normal::new(s(0.0), s(1.0))?)?;
    plate("data", x.numel()).subsample_size(*k).run(|p| {
        let xt: Tensor<1> = x.to_tensor()?;
        observe("x", Normal::new(mu.clone(), s(1.0))?, p.subsample(xt, 0))
    })?;
    Ok(())
}

fn sub_guide(_: &(DTensor, usize)) -> Result<()> {
    let m: DTensor = param("m", s(0.7))?;
    sample::<DTensor>("mu", Delta::new(m, 0)?)?;
    Ok(())
}

#[test]
fn the_subsampled_elbo_is_an_unbiased_estimate_of_the_full_data_elbo() {
    let x = DTensor::from_floats(
        (0..100).map(|i| ((i as f32) * 0.73).sin() * 2.0).collect(),
        &[100],
        &dev(),
    )
    .unwrap();
    let mut store = ParamStore::new();
    lobes_ppl::rng::set_rng_seed(5);
    let (full, est) = with_param_store(&mut store, || {
        let elbo = TraceElbo::default();
        let full = elbo
            .loss(&sub_model, &sub_guide, &(x.clone(), 100))
            .unwrap();
        let est: Vec<f64> = (0..1500)
            .map(|_| elbo.loss(&sub_model, &sub_guide, &(x.clone(), 10)).unwrap())
            .collect();
        (full, est)
    });
    let n = est.len() as f64;
    let mean = est.iter().sum::<f64>() / n;
    let sd = (est.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    assert!(sd > 0.0, "subsampled estimates must vary");
    assert!(
        (mean - full).abs() < 3.0 * sd / n.sqrt(),
        "mean {mean} vs full {full} (se {})",
        sd / n.sqrt()
    );
}

// ---------------------------------------------------------------- checkpoints

fn tmp(name: &str) -> std::path::PathBuf {
    lobes_ppl::io::scratch_dir("lobes-test", name).unwrap()
}

#[test]
fn resuming_from_a_checkpoint_reproduces_the_uninterrupted_run_bit_for_bit() {
    let x = data();
    let new_svi =
        || Svi::new(nn_model, nn_guide, Adam::new(0.05), TraceElbo::default()).with_seed(9, None);
    let mut a = new_svi();
    let straight: Vec<f64> = (0..40).map(|_| a.step(&x).unwrap()).collect();

    let dir = tmp("ckpt");
    let path = dir.join("svi.safetensors");
    let mut b = new_svi();
    let mut resumed: Vec<f64> = (0..20).map(|_| b.step(&x).unwrap()).collect();
    b.save_checkpoint(&path).unwrap();
    lobes_ppl::rng::set_rng_seed(12345); // disturb the generator: the checkpoint must restore it
    let mut c = new_svi();
    c.load_checkpoint(&path, &dev()).unwrap();
    assert_eq!(c.steps(), 20);
    resumed.extend((0..20).map(|_| c.step(&x).unwrap()));
    assert_eq!(straight, resumed);
    // Nothing but the checkpoint in the folder: no temporary file left behind.
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    // A checkpoint for another optimiser is refused, naming the file.
    let mut other = Svi::new(nn_model, nn_guide, Adagrad::new(0.1), TraceElbo::default());
    let e = other
        .load_checkpoint(&path, &dev())
        .unwrap_err()
        .to_string();
    assert!(e.contains("svi.safetensors") && e.contains("adam"), "{e}");
    // ClippedAdam keeps Adam's moments: it continues an Adam run, and with a bound no gradient
    // reaches it takes the same steps as Adam would.
    let mut d = Svi::new(
        nn_model,
        nn_guide,
        ClippedAdam::new(0.05).with_clip_norm(1e30),
        TraceElbo::default(),
    )
    .with_seed(9, None);
    d.load_checkpoint(&path, &dev()).unwrap();
    let clipped: Vec<f64> = (0..20).map(|_| d.step(&x).unwrap()).collect();
    assert_eq!(clipped, straight[20..]);
    std::fs::remove_dir_all(dir).ok();
}

/// `scratch_dir` removes the folders earlier processes left under the same prefix and name, and
/// nothing else.
#[test]
fn scratch_dirs_replace_those_of_earlier_runs_only() {
    let base = std::env::temp_dir();
    let earlier = base.join("lobes-scratch-1-run");
    let other_name = base.join("lobes-scratch-1-run2");
    let not_a_pid = base.join("lobes-scratch-x1-run");
    for d in [&earlier, &other_name, &not_a_pid] {
        std::fs::create_dir_all(d).unwrap();
    }
    let d = lobes_ppl::io::scratch_dir("lobes-scratch", "run").unwrap();
    std::fs::write(d.join("f"), b"x").unwrap();
    assert!(!earlier.exists());
    assert!(other_name.exists() && not_a_pid.exists());
    // Asked again in the same process: fresh and empty.
    let again = lobes_ppl::io::scratch_dir("lobes-scratch", "run").unwrap();
    assert_eq!(again, d);
    assert!(!d.join("f").exists());
    for d in [&d, &other_name, &not_a_pid] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn the_param_store_saves_and_loads() {
    let dir = tmp("store");
    let path = dir.join("params.safetensors");
    let mut store = ParamStore::new();
    with_param_store(&mut store, || {
        param::<DTensor>(
            "a",
            DTensor::from_floats(vec![1.0, 2.0, 3.0], &[3], &dev()).unwrap(),
        )
        .unwrap();
        param_constrained::<DTensor>(
            "b",
            DTensor::full(&[2, 2], 0.25, &dev()),
            Constraint::UnitInterval,
        )
        .unwrap();
    });
    store.save(&path).unwrap();
    let back = ParamStore::load(&path, &dev()).unwrap();
    assert_eq!(back.names(), store.names());
    assert_eq!(back.get("a").unwrap().to_vec(), vec![1.0, 2.0, 3.0]);
    assert_eq!(
        back.entry("b").unwrap().constraint,
        Constraint::UnitInterval
    );
    assert_eq!(back.get("b").unwrap().shape(), &[2, 2]);
    let e = ParamStore::load(dir.join("missing.safetensors"), &dev())
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.safetensors"), "{e}");
    std::fs::write(dir.join("junk.safetensors"), b"not a tensor file").unwrap();
    let e = ParamStore::load(dir.join("junk.safetensors"), &dev())
        .unwrap_err()
        .to_string();
    assert!(e.contains("junk.safetensors"), "{e}");
    // Extra metadata travels beside the constraints.
    let extra = std::collections::HashMap::from([("run.note".to_string(), "x".to_string())]);
    store.save_with(&path, &extra).unwrap();
    let (back, meta) = ParamStore::load_with_metadata(&path, &dev()).unwrap();
    assert_eq!(back.names(), store.names());
    assert_eq!(meta.get("run.note").map(String::as_str), Some("x"));
    // The header alone gives the same metadata; a file that is not safetensors is named.
    assert_eq!(lobes_ppl::io::read_metadata(&path).unwrap(), meta);
    for junk in [
        &b"short"[..],
        &b"\xff\xff\xff\xff\xff\xff\xff\x7fjunk"[..],
        &b"\x04\0\0\0\0\0\0\0[1,2"[..],
    ] {
        std::fs::write(dir.join("junk.safetensors"), junk).unwrap();
        let e = lobes_ppl::io::read_metadata(&dir.join("junk.safetensors"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("junk.safetensors") && e.contains("not a safetensors file"),
            "{e}"
        );
    }
    std::fs::remove_dir_all(dir).ok();
}

// ---------------------------------------------------------------- mean-field vs trace ELBO

// mu ~ N(0, 1); one observation x ~ N(mu, 3): the likelihood is weak, so the KL term carries
// most of the ELBO's randomness, which the mean-field estimator replaces by its closed form.
// (Near the exact posterior the opposite holds: Trace_ELBO's estimate has zero variance there.)
fn weak_model(x: &DTensor) -> Result<()> {
    let mu: DTensor = sample("mu", Normal::new(s(0.0), s(1.0))?)?;
    observe("x", Normal::new(mu, s(3.0))?, x.clone())?;
    Ok(())
}

#[test]
fn mean_field_and_trace_elbo_agree_in_expectation_and_mean_field_has_lower_variance() {
    let x = s(1.2);
    let mut store = ParamStore::new();
    with_param_store(&mut store, || {
        param::<DTensor>("loc", s(0.5)).unwrap();
        param_constrained::<DTensor>("scale", s(0.5), Constraint::Positive).unwrap();
    });
    lobes_ppl::rng::set_rng_seed(3);
    let stats = |v: Vec<f64>| {
        let n = v.len() as f64;
        let m = v.iter().sum::<f64>() / n;
        (
            m,
            v.iter().map(|e| (e - m).powi(2)).sum::<f64>() / (n - 1.0),
        )
    };
    let n = 3000;
    let (tm, tv, mm, mv) = with_param_store(&mut store, || {
        let tr: Vec<f64> = (0..n)
            .map(|_| {
                TraceElbo::default()
                    .loss(&weak_model, &nn_guide, &x)
                    .unwrap()
            })
            .collect();
        let mf: Vec<f64> = (0..n)
            .map(|_| {
                TraceMeanFieldElbo::default()
                    .loss(&weak_model, &nn_guide, &x)
                    .unwrap()
            })
            .collect();
        let (tm, tv) = stats(tr);
        let (mm, mv) = stats(mf);
        (tm, tv, mm, mv)
    });
    let se = (tv / n as f64 + mv / n as f64).sqrt();
    assert!(
        (tm - mm).abs() < 3.0 * se,
        "Trace {tm} vs MeanField {mm} (se {se})"
    );
    assert!(
        mv < 0.5 * tv,
        "mean-field variance {mv} should be well below {tv}"
    );
}

// ---------------------------------------------------------------- failures

fn nan_model(args: &(DTensor, bool)) -> Result<()> {
    nn_model(&args.0)?;
    if args.1 {
        let w: DTensor = param("w", s(1.0))?;
        factor("bad", w.add_scalar(-5.0).log())?;
    }
    Ok(())
}

fn nan_guide(args: &(DTensor, bool)) -> Result<()> {
    nn_guide(&args.0)
}

#[test]
fn a_non_finite_loss_stops_step_names_the_site_and_leaves_parameters_alone() {
    let x = data();
    let mut svi = Svi::new(nan_model, nan_guide, Adam::new(0.05), TraceElbo::default());
    for _ in 0..3 {
        svi.step(&(x.clone(), false)).unwrap();
    }
    let before = (
        svi.store().get("loc").unwrap().to_vec(),
        svi.store().get("scale").unwrap().to_vec(),
    );
    let e = svi.step(&(x.clone(), true)).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, PplError::NonFiniteLoss { .. }));
    assert!(msg.contains("'bad' in the model (Unit)"), "{msg}");
    assert!(
        msg.contains("model trace:") && msg.contains("mu ") && msg.contains("[10]"),
        "{msg}"
    );
    let after = (
        svi.store().get("loc").unwrap().to_vec(),
        svi.store().get("scale").unwrap().to_vec(),
    );
    assert_eq!(before, after);
    assert_eq!(svi.steps(), 3);
}

fn empty_guide(_x: &DTensor) -> Result<()> {
    Ok(())
}

/// Pyro's `test_nonempty_model_empty_guide_ok` model: one observed site.
fn observed_only(x: &DTensor) -> Result<()> {
    plate("data", x.numel()).run(|_| observe("x", Normal::new(s(0.0), s(1.0))?, x.clone()))?;
    Ok(())
}

fn unused_param_model(x: &DTensor) -> Result<()> {
    let _w: DTensor = param("w", s(1.0))?;
    observed_only(x)
}

/// Pyro's `test_nonempty_model_empty_guide_ok` (tests/infer/test_valid_models.py): a model
/// with an observed site and an empty guide trains nothing and `step` returns the loss, as
/// does a step whose only parameter does not reach the loss.
#[test]
fn a_step_that_touches_no_parameter_returns_the_loss() {
    let x = data();
    // The case: a model with a latent and an empty guide (the latent is drawn from
    // its prior, with Pyro's warning).
    let mut svi = Svi::new(nn_model, empty_guide, Adam::new(0.05), TraceElbo::default());
    assert!(svi.step(&x).unwrap().is_finite());
    let mut svi = Svi::new(
        observed_only,
        empty_guide,
        Adam::new(0.05),
        TraceElbo::default(),
    )
    .with_seed(0, None);
    let loss = svi.step(&x).unwrap();
    // -log N(x | 0, 1) summed over the ten points.
    let expected: f64 = x
        .to_vec()
        .iter()
        .map(|&v| 0.5 * (v as f64).powi(2) + 0.5 * (2.0 * std::f64::consts::PI).ln())
        .sum();
    assert!(
        (loss - expected).abs() < 1e-3 * expected,
        "{loss} vs {expected}"
    );
    assert_eq!(svi.steps(), 1);
    assert!(svi.store().names().is_empty());

    let mut svi = Svi::new(
        unused_param_model,
        empty_guide,
        Adam::new(0.05),
        TraceElbo::default(),
    );
    svi.step(&x).unwrap();
    assert_eq!(svi.store().get("w").unwrap().to_vec(), [1.0]);
}

/// `sqrt(0 * w)` has value 0 and gradient `0 * inf = NaN`: a finite loss, a NaN gradient.
fn nan_grad_model(args: &(DTensor, bool)) -> Result<()> {
    nn_model(&args.0)?;
    if args.1 {
        let w: DTensor = param("w", s(2.0))?;
        factor("kink", w.mul_scalar(0.0).sqrt())?;
    }
    Ok(())
}

#[test]
fn a_non_finite_gradient_is_an_error_naming_the_parameter() {
    let x = data();
    let opts: [Box<dyn Optimizer>; 3] = [
        Box::new(Adam::new(0.05)),
        Box::new(ClippedAdam::new(0.05)),
        Box::new(Adagrad::new(0.05)),
    ];
    for opt in opts {
        let name = opt.name();
        let mut svi = Svi::new(nan_grad_model, nan_guide, opt, TraceElbo::default());
        svi.step(&(x.clone(), false)).unwrap();
        let e = svi.step(&(x.clone(), true)).unwrap_err();
        let PplError::NonFiniteGradient {
            step, loss, params, ..
        } = &e
        else {
            panic!("{name}: expected NonFiniteGradient, got {e}");
        };
        assert_eq!(
            (*step, params.as_slice()),
            (1, ["w".to_string()].as_slice()),
            "{name}"
        );
        assert!(loss.is_finite(), "{name}");
        assert!(
            e.to_string().contains("restore a checkpoint"),
            "{name}: {e}"
        );
        assert_eq!(svi.steps(), 1, "{name}: the bad step is not counted");
        // The flag is cleared: the next good step succeeds (on the parameters left finite).
        svi.step(&(x.clone(), false)).unwrap();
    }
}

#[test]
fn model_and_guide_that_disagree_are_errors_naming_the_site() {
    let z_model = |_: &()| -> Result<()> {
        plate("data", 100).run(|_| {
            sample::<DTensor>(
                "z",
                Normal::new(DTensor::zeros(&[32], &dev()), DTensor::ones(&[32], &dev()))?
                    .to_event(1),
            )
        })?;
        Ok(())
    };
    let z_guide = |_: &()| -> Result<()> {
        plate("data", 100).run(|_| {
            sample::<DTensor>(
                "z",
                Normal::new(DTensor::zeros(&[16], &dev()), DTensor::ones(&[16], &dev()))?
                    .to_event(1),
            )
        })?;
        Ok(())
    };
    let e = TraceElbo::default()
        .loss(&z_model, &z_guide, &())
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "Model and guide shapes disagree at site 'z': [100, 32] vs [100, 16]"
    );
    let empty = |_: &()| -> Result<()> { Ok(()) };
    // Pyro (test_nonempty_model_empty_guide_ok): a model latent the guide does not sample is
    // drawn from the prior, with a warning; the loss is finite.
    let loss = TraceElbo::default().loss(&z_model, &empty, &()).unwrap();
    assert!(loss.is_finite(), "{loss}");
    let e = TraceElbo::default()
        .loss(&empty, &z_guide, &())
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "latent site 'z' is sampled in the guide but not in the model"
    );
}

// ---------------------------------------------------------------- optimisers

#[test]
fn optimisers_follow_torch_formulas() {
    let p0 = 1.0f64;
    let grads = [0.5f64, -0.2, 0.3];
    // torch.optim.Adam(lr=0.1): m, v moments, bias-corrected, eps 1e-8.
    let (mut p, mut m, mut v) = (p0, 0.0, 0.0);
    for (t, g) in grads.iter().enumerate() {
        let t = t as i32 + 1;
        m = 0.9 * m + 0.1 * g;
        v = 0.999 * v + 0.001 * g * g;
        let denom = (v / (1.0 - 0.999f64.powi(t))).sqrt() + 1e-8;
        p -= 0.1 / (1.0 - 0.9f64.powi(t)) * m / denom;
    }
    let mut adam = Adam::new(0.1);
    let mut q = s(p0 as f32);
    for g in grads {
        adam.begin_step();
        q = adam.update("p", q, s(g as f32));
    }
    assert!(
        (q.item() as f64 - p).abs() < 1e-6,
        "Adam {} vs {p}",
        q.item()
    );
    // Adagrad(lr=0.1).
    let (mut p, mut acc) = (p0, 0.0);
    for g in grads {
        acc += g * g;
        p -= 0.1 * g / (acc.sqrt() + 1e-10);
    }
    let mut ada = Adagrad::new(0.1);
    let mut q = s(p0 as f32);
    for g in grads {
        q = ada.update("p", q, s(g as f32));
    }
    assert!(
        (q.item() as f64 - p).abs() < 1e-6,
        "Adagrad {} vs {p}",
        q.item()
    );
    // ClippedAdam: gradients clamped elementwise, lr decayed every step.
    let mut ca = ClippedAdam::new(0.1).with_clip_norm(0.25).with_lrd(0.5);
    let mut adam = Adam::new(0.05);
    ca.begin_step();
    let a = ca.update("p", s(1.0), s(3.0));
    let b = adam.update("p", s(1.0), s(0.25));
    assert_eq!(a.item(), b.item());
    assert_eq!(ca.lr(), 0.05);
}

/// Runs `opt` over `grads` from `p0`, one scalar parameter.
fn run_optim(opt: &mut impl Optimizer, p0: f64, grads: &[f64]) -> f64 {
    let mut q = s(p0 as f32);
    for &g in grads {
        opt.begin_step();
        q = opt.update("p", q, s(g as f32));
    }
    q.item() as f64
}

#[test]
fn sgd_rmsprop_and_adamw_follow_torch_formulas() {
    let (p0, grads) = (1.0f64, [0.5f64, -0.2, 0.3, 0.8]);
    let close = |got: f64, want: f64, what: &str| {
        assert!((got - want).abs() < 1e-5, "{what}: {got} vs torch's {want}")
    };
    // torch.optim.SGD(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01, nesterov=False),
    // and nesterov=True without dampening.
    for nesterov in [false, true] {
        let damp = if nesterov { 0.0 } else { 0.1 };
        let (mut p, mut b) = (p0, None::<f64>);
        for g in grads {
            let g = g + 0.01 * p;
            let nb = match b {
                None => g,
                Some(b) => 0.9 * b + (1.0 - damp) * g,
            };
            b = Some(nb);
            p -= 0.1 * if nesterov { g + 0.9 * nb } else { nb };
        }
        let mut sgd = Sgd::new(0.1)
            .with_momentum(0.9)
            .with_dampening(damp)
            .with_weight_decay(0.01)
            .with_nesterov(nesterov);
        close(run_optim(&mut sgd, p0, &grads), p, "SGD");
    }
    // torch.optim.RMSprop(lr=0.01, alpha=0.9, momentum=0.5, centered=True).
    let (mut p, mut v, mut ga, mut buf) = (p0, 0.0, 0.0, 0.0);
    for g in grads {
        v = 0.9 * v + 0.1 * g * g;
        ga = 0.9 * ga + 0.1 * g;
        let avg = (v - ga * ga).sqrt() + 1e-8;
        buf = 0.5 * buf + g / avg;
        p -= 0.01 * buf;
    }
    let mut rms = RmsProp::new(0.01)
        .with_alpha(0.9)
        .with_momentum(0.5)
        .with_centered(true);
    close(run_optim(&mut rms, p0, &grads), p, "RMSprop");
    // torch.optim.AdamW(lr=0.1, weight_decay=0.1).
    let (mut p, mut m, mut v) = (p0, 0.0, 0.0);
    for (t, g) in grads.iter().enumerate() {
        let t = t as i32 + 1;
        p *= 1.0 - 0.1 * 0.1;
        m = 0.9 * m + 0.1 * g;
        v = 0.999 * v + 0.001 * g * g;
        p -= 0.1 / (1.0 - 0.9f64.powi(t)) * m / ((v / (1.0 - 0.999f64.powi(t))).sqrt() + 1e-8);
    }
    let mut adamw = AdamW::new(0.1).with_weight_decay(0.1);
    close(run_optim(&mut adamw, p0, &grads), p, "AdamW");
    // A checkpointed state continues exactly: two steps, save, two more in a new optimiser.
    let mut a = Sgd::new(0.1).with_momentum(0.9);
    let half = run_optim(&mut a, p0, &grads[..2]);
    let mut b = Sgd::new(0.1).with_momentum(0.9);
    b.load_state(a.state()).unwrap();
    let resumed = run_optim(&mut b, half, &grads[2..]);
    let mut whole = Sgd::new(0.1).with_momentum(0.9);
    close(resumed, run_optim(&mut whole, p0, &grads), "SGD resumed");
}

#[test]
fn schedules_follow_torchs_lr_schedulers() {
    // StepLR(step_size=3, gamma=0.1), ExponentialLR(gamma=0.5).
    let f = step_lr(1.0, 3, 0.1);
    let want = [1.0, 1.0, 1.0, 0.1, 0.1, 0.1, 0.01];
    for (t, w) in want.iter().enumerate() {
        assert!((f(t as u64) - w).abs() < 1e-12, "StepLR at {t}");
    }
    assert!((exponential_lr(2.0, 0.5)(3) - 0.25).abs() < 1e-12);
    // OneCycleLR(max_lr=1, total_steps=100): 1/25 at the start, 1 at step 29 (0.3 · 100 − 1),
    // 1/25/1e4 at step 99, a cosine between.
    let g = one_cycle_lr(1.0, 100);
    assert!((g(0) - 0.04).abs() < 1e-12);
    assert!((g(29) - 1.0).abs() < 1e-12);
    assert!((g(99) - 4e-6).abs() < 1e-12);
    // torch's cosine anneal: end + (start − end) / 2 · (cos(π · pct) + 1).
    let cos = |start: f64, end: f64, pct: f64| {
        end + (start - end) / 2.0 * ((std::f64::consts::PI * pct).cos() + 1.0)
    };
    assert!((g(14) - cos(0.04, 1.0, 14.0 / 29.0)).abs() < 1e-12);
    assert!((g(60) - cos(1.0, 4e-6, 31.0 / 70.0)).abs() < 1e-12);
    assert_eq!(g(500), g(99), "the last rate holds after total_steps");
}

#[test]
fn a_learning_rate_schedule_sets_the_rate_before_each_step() {
    let x = data();
    let mut svi = Svi::new(nn_model, nn_guide, Adam::new(1.0), TraceElbo::default())
        .with_schedule(|t| 0.1 / (1.0 + t as f64));
    for _ in 0..3 {
        svi.step(&x).unwrap();
    }
    assert!((svi.optim.lr() - 0.1 / 3.0).abs() < 1e-12);
}

// ---------------------------------------------------------------- Predictive

#[test]
fn predictive_draws_from_prior_and_posterior() {
    let x = data();
    let mut svi = Svi::new(
        nn_model,
        nn_guide,
        Adam::new(0.05),
        TraceMeanFieldElbo::default(),
    )
    .with_seed(4, None);
    for _ in 0..600 {
        svi.step(&x).unwrap();
    }
    let prior = Predictive::new(400).prior(&nn_model, &x).unwrap();
    assert_eq!(prior.get("mu").unwrap().shape(), &[400]);
    assert_eq!(prior.get("x").unwrap().shape(), &[400, 10]);
    let pm = prior.get("mu").unwrap().mean().item();
    assert!(pm.abs() < 0.2, "prior mean of mu {pm}");
    let loc = svi.store().get("loc").unwrap().item();
    let post = with_param_store(svi.store_mut(), || {
        Predictive::new(400)
            .return_sites(["mu", "x"])
            .posterior(&nn_model, &nn_guide, &x)
    })
    .unwrap();
    let m = post.get("mu").unwrap().mean().item();
    assert!(
        (m - loc).abs() < 0.1,
        "posterior predictive mean of mu {m} vs guide loc {loc}"
    );
    let xm = post.get("x").unwrap().mean().item();
    assert!(
        (xm - loc).abs() < 0.15,
        "posterior predictive mean of x {xm}"
    );
}

/// Pyro's `Predictive(model, posterior_samples=samples)`: each run fixes the given sites at one
/// row and draws the rest, observations afresh; by default the given sites are not returned;
/// a `num_samples` other than the rows' is replaced by it with Pyro's warning.
#[test]
fn predictive_from_posterior_samples() {
    use lobes_ppl::infer::Samples;
    use lobes_ppl::warnings::{PplWarning, catch_warnings};
    let x = data();
    let mut given = Samples::default();
    let mu = DTensor::from_floats(vec![-5.0, 0.0, 5.0, 50.0], &[4], &dev()).unwrap();
    given.sites.insert("mu".into(), mu.clone());
    let (out, seen) = catch_warnings(|| Predictive::new(2).from_samples(&nn_model, &given, &x));
    let out = out.unwrap();
    assert_eq!(
        seen,
        [PplWarning::PredictiveSamples {
            num_samples: 2,
            leading: 4
        }]
    );
    assert!(
        out.get("mu").is_none(),
        "given sites are not returned by default"
    );
    let xs = out.get("x").unwrap();
    assert_eq!(xs.shape(), [4, 10]);
    // x_i ~ N(mu, 1) around each row's mu, not around the data (3.0 +- 0.4).
    for (r, m) in [-5.0f32, 0.0, 5.0, 50.0].iter().enumerate() {
        let row = &xs.to_vec()[r * 10..(r + 1) * 10];
        let mean = row.iter().sum::<f32>() / 10.0;
        assert!((mean - m).abs() < 1.5, "row {r}: mean {mean} vs mu {m}");
    }
    let both = Predictive::new(4)
        .return_sites(["mu", "x"])
        .from_samples(&nn_model, &given, &x)
        .unwrap();
    assert_eq!(both.get("mu").unwrap().to_vec(), mu.to_vec());
    // Draws that disagree on their number: an error naming both sites.
    given
        .sites
        .insert("nu".into(), DTensor::zeros(&[3], &dev()));
    let e = Predictive::new(4)
        .from_samples(&nn_model, &given, &x)
        .unwrap_err()
        .to_string();
    assert!(e.contains("'mu' has 4") && e.contains("'nu' has 3"), "{e}");
}

/// Pyro's callable `optim_args`: a rate per parameter (the scale ten times slower), with a
/// schedule keeping the ratio, and a checkpoint that resumes the run bit for bit.
#[test]
fn per_parameter_optimiser_settings_and_their_checkpoint() {
    let x = data();
    let make = |name: &str| Adam::new(if name == "scale" { 0.005 } else { 0.05 });
    let new_svi = || {
        Svi::new(
            nn_model,
            nn_guide,
            PerParam::new(make),
            TraceElbo::default(),
        )
        .with_seed(3, None)
    };
    // Adam's first step moves each parameter by its own rate (in unconstrained space).
    let mut a = new_svi();
    a.step(&x).unwrap();
    let loc = a.store().get("loc").unwrap().item() as f64;
    let log_scale = (a.store().get("scale").unwrap().item() as f64).ln();
    assert!(
        (loc.abs() - 0.05).abs() < 1e-6 && (log_scale.abs() - 0.005).abs() < 1e-6,
        "{loc} {log_scale}"
    );
    // A schedule sets the first parameter's rate and scales the other alike.
    a.optim.set_lr(0.1);
    assert!(
        (a.optim.get("loc").lr() - 0.1).abs() < 1e-12
            && (a.optim.get("scale").lr() - 0.01).abs() < 1e-12
    );
    // Checkpoint and resume.
    let mut b = new_svi();
    let straight: Vec<f64> = (0..30).map(|_| b.step(&x).unwrap()).collect();
    let dir = tmp("per-param");
    let path = dir.join("svi.safetensors");
    let mut c = new_svi();
    let mut resumed: Vec<f64> = (0..15).map(|_| c.step(&x).unwrap()).collect();
    c.save_checkpoint(&path).unwrap();
    let mut d = new_svi();
    d.load_checkpoint(&path, &dev()).unwrap();
    assert!((d.optim.get("scale").lr() - 0.005).abs() < 1e-12);
    resumed.extend((0..15).map(|_| d.step(&x).unwrap()));
    assert_eq!(straight, resumed);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn reduce_lr_on_plateau_follows_torch() {
    // torch 2.15: ReduceLROnPlateau(SGD(lr=1), factor=0.5, patience=2, cooldown=1,
    // min_lr=0.1) stepped with these losses leaves these rates.
    let losses = [
        5.0, 4.0, 4.0001, 4.0, 3.9999, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 2.0, 2.0, 2.0, 2.0, 2.0,
        2.0, 2.0, 2.0,
    ];
    let torch = [
        1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.125,
        0.125, 0.125, 0.125, 0.1,
    ];
    let mut opt = Sgd::new(1.0);
    let mut plateau = ReduceLrOnPlateau::new(0.5, 2)
        .with_cooldown(1)
        .with_min_lr(0.1);
    let got: Vec<f64> = losses
        .iter()
        .map(|&l| {
            plateau.step(l, &mut opt);
            opt.lr()
        })
        .collect();
    assert_eq!(got, torch);
}

// ---------------------------------------------------------------- free bits
// z ~ N(0, I₂) for each of 4 points, q(z) = N(loc, 1) with loc = (2, 0.1) shared by the
// points, all under scale(c): dimension 0 costs 2 nats per point, above λ = 0.5, dimension 1
// 0.005, below. Free bits keep Trace_ELBO's gradient on dimension 0, give dimension 1 none,
// and report Trace_ELBO's value, draw for draw.

fn fb_model(c: &f64) -> Result<()> {
    scale(*c, || {
        plate("data", 4).run(|_| {
            let prior = Normal::new(DTensor::zeros(&[4, 2], &dev()), s(1.0))?;
            sample::<DTensor>("z", prior.to_event(1))
        })
    })?;
    Ok(())
}

fn fb_guide(c: &f64) -> Result<()> {
    let loc: DTensor = param("loc", t(&[2.0, 0.1]))?;
    scale(*c, || {
        plate("data", 4)
            .run(|_| sample::<DTensor>("z", Normal::new(loc.expand(&[4, 2])?, s(1.0))?.to_event(1)))
    })?;
    Ok(())
}

/// (ELBO, surrogate, d surrogate / d loc, z) of one estimate on seed 3.
fn fb_estimate(elbo: &impl Elbo, c: f64) -> (f64, f64, Vec<f32>, Vec<f32>) {
    let mut store = ParamStore::new();
    lobes_ppl::rng::set_rng_seed(3);
    with_param_store(&mut store, || {
        let est = elbo.estimate(&fb_model, &fb_guide, &c).unwrap();
        let g = est.surrogate.backward();
        let leaf = with_active_store(|s| s.leaves()["loc"].clone());
        let z = est.guide_trace.get("z").unwrap().value.clone().unwrap();
        (
            est.elbo.item() as f64,
            est.surrogate.item() as f64,
            leaf.grad(&g).unwrap().to_vec(),
            z.to_vec(),
        )
    })
}

#[test]
fn free_bits_floor_each_latent_dimension_and_report_the_elbo() {
    let (lambda, c) = (0.5, 0.7);
    let (elbo, sur, grad, z) = fb_estimate(&TraceElbo::default(), c);
    let free = FreeBits::new(TraceElbo::default(), lambda).unwrap();
    let (fb_elbo, fb_sur, fb_grad, fb_z) = fb_estimate(&free, c);
    assert_eq!(z, fb_z, "same draws");
    assert_eq!(elbo, fb_elbo, "the reported ELBO is Trace_ELBO's");
    assert!(
        (grad[0] - fb_grad[0]).abs() < 1e-5 * grad[0].abs(),
        "{grad:?} {fb_grad:?}"
    );
    assert!(
        grad[1].abs() > 1e-3,
        "Trace_ELBO moves dimension 1: {grad:?}"
    );
    assert_eq!(fb_grad[1], 0.0, "below the floor, no gradient: {fb_grad:?}");
    // Dimension 1's cost: T = c Σ_b ln q(z_b1) - ln p(z_b1) = c Σ_b (z² - (z - 0.1)²) / 2,
    // replaced by the floor λ n with n = 4c data points.
    let t1: f64 = (0..4)
        .map(|b| {
            let v = z[2 * b + 1] as f64;
            c * (v * v - (v - 0.1) * (v - 0.1)) / 2.0
        })
        .sum();
    assert!(t1 < lambda * 4.0 * c);
    let want = sur + t1 - lambda * 4.0 * c;
    assert!((fb_sur - want).abs() < 1e-4, "surrogate {fb_sur} vs {want}");
    // λ = 0 is Trace_ELBO itself.
    let zero = FreeBits::new(TraceElbo::default(), 0.0).unwrap();
    assert_eq!(fb_estimate(&zero, c).1, sur);
}

#[test]
fn free_bits_name_the_site_that_has_no_kl_per_dimension() {
    assert!(FreeBits::new(TraceElbo::default(), f64::NAN).is_err());
    let mvn_model = |_: &f64| -> Result<()> {
        plate("data", 4).run(|_| {
            let eye = DTensor::from_floats(vec![1.0, 0.0, 0.0, 1.0], &[2, 2], &dev())?;
            let prior = MultivariateNormal::new(DTensor::zeros(&[4, 2], &dev()), eye)?;
            sample::<DTensor>("z", prior)
        })?;
        Ok(())
    };
    let guide = |_: &f64| fb_guide(&1.0);
    let free = FreeBits::new(TraceElbo::default(), 0.5).unwrap();
    let mut store = ParamStore::new();
    let err = with_param_store(&mut store, || free.estimate(&mvn_model, &guide, &1.0))
        .err()
        .expect("a full-covariance prior has no KL per dimension")
        .to_string();
    assert!(
        err.contains("FreeBits") && err.contains("'z'") && err.contains("MultivariateNormal"),
        "{err}"
    );
}
