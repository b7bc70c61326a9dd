//! The GPU path: burn's wgpu backend against the CPU backend (flex), in one process, on two
//! explicit devices (`Device::wgpu(Default::default())`, `Device::flex()`). Built with
//! `--features wgpu`, which the README's test command (`cargo test --workspace --features
//! wgpu`) turns on; CI runs it on Mesa's software Vulkan device (lavapipe, `.ci/run`). On a
//! machine where wgpu finds no adapter every test here says so and returns, except under CI
//! (`CI` set), where that is a failure.
//!
//! What is compared, and within what (f32 throughout; each tolerance is stated where it is
//! asserted, with the reason):
//! - the PPL on the GPU: log-densities of a representative set of distributions against closed
//!   forms and against flex, reparameterised draws' moments, the effect handlers, and the
//!   gradients of `Trace_ELBO` (pathwise, score-function) and `TraceEnum_ELBO` (model and
//!   guide enumeration) against closed forms;
//! - the Table-2 VAE and CVAE: one seed gives bit-identical initial parameters on both devices
//!   (drawn on the host, `lobes_models::init`); SVI steps from them with the same random draws
//!   (the PPL's generator, and dropout masks drawn on the host on both devices) give the same
//!   losses and parameters — small networks for five steps, and one step of the full-size
//!   network (104M parameters);
//! - checkpoints carry no device: written on one, resumed on the other, in process and
//!   through `lobes train --resume`;
//! - `lobes train`, `generate`, `ramis` and `simulate-field --checkpoint` end to end with
//!   `BURN_DEVICE=wgpu`.
//!
//! Every model here builds its constants on the device it runs on: a plain number given to a
//! distribution (`Normal::new(0.0, 1.0)`) lands on burn's *default* device, which under cargo
//! is flex (`.cargo/config.toml` sets `BURN_DEVICE=flex` unless it is set).
#![cfg(feature = "wgpu")]

use burn::prelude::*;
use lobes::models::data::synthetic::Synthetic;
use lobes::models::vae::{Batch, VaeConfig, batch_of, guide, model};
use lobes::ppl::infer::{Elbo, TraceEnumElbo};
use lobes::ppl::prelude::*;
use lobes::ppl::{with_active_store, with_param_store};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn flex() -> Device {
    Device::flex()
}

/// burn's wgpu device as `Device::wgpu(Default::default())` makes it (the adapter and graphics
/// API wgpu prefers: Vulkan first), initialised once so that the adapter can be reported.
fn gpu() -> Device {
    gpu_and_limit().0
}

/// [`gpu`] and the largest storage buffer it binds, in bytes (`maxStorageBufferRange`: 128 MiB on
/// lavapipe, 4 GiB on NVIDIA's and AMD's drivers).
fn gpu_and_limit() -> (Device, u64) {
    adapter().clone().expect("checked by require_gpu!")
}

/// The wgpu device and its buffer limit, or `None` where wgpu finds no adapter (a machine
/// without a Vulkan, Metal or DX12 driver: the README's test command must pass there).
fn adapter() -> &'static Option<(Device, u64)> {
    static GPU: OnceLock<Option<(Device, u64)>> = OnceLock::new();
    GPU.get_or_init(|| {
        let (device, setup) = match Device::wgpu_options().init_with_setup() {
            Ok(found) => found,
            Err(e) => {
                // Under CI a missing adapter is a failure: CI installs lavapipe for this.
                assert!(
                    std::env::var_os("CI").is_none(),
                    "CI is set but wgpu finds no adapter ({e:?}): apt-get install \
                     mesa-vulkan-drivers"
                );
                eprintln!(
                    "tests/wgpu.rs: SKIPPED, wgpu finds no adapter ({e:?}); install a Vulkan \
                     driver (Debian: mesa-vulkan-drivers) to run the GPU path on this machine"
                );
                return None;
            }
        };
        let info = setup.adapter.get_info();
        eprintln!(
            "wgpu device: {} ({:?}, {:?}, driver {} {})",
            info.name, setup.backend, info.device_type, info.driver, info.driver_info
        );
        // CI installs lavapipe for this: a run that fell back to OpenGL would not test it.
        if std::env::var_os("CI").is_some() {
            assert_eq!(
                setup.backend,
                burn::tensor::wgpu::wgpu::Backend::Vulkan,
                "CI is set but wgpu did not come up on Vulkan"
            );
        }
        let limit = setup.device.limits().max_storage_buffer_binding_size;
        Some((device, limit))
    })
}

/// Returns from the test, after saying so once, where no wgpu adapter exists (never under CI).
macro_rules! require_gpu {
    () => {
        if adapter().is_none() {
            return;
        }
    };
}

fn t(v: &[f32], shape: &[usize], d: &Device) -> DTensor {
    DTensor::from_floats(v.to_vec(), shape, d).unwrap()
}

fn s(v: f32, d: &Device) -> DTensor {
    DTensor::scalar(v, d)
}

/// The largest `|a - b| / (atol + rtol |b|)`: at most 1 when every element is within
/// tolerance.
fn worst(a: &[f32], b: &[f32], rtol: f64, atol: f64) -> (f64, usize) {
    assert_eq!(a.len(), b.len());
    let mut w = (0.0f64, 0);
    for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
        let r = (x as f64 - y as f64).abs() / (atol + rtol * (y as f64).abs());
        // A NaN is the worst of all.
        let r = if r.is_nan() { f64::INFINITY } else { r };
        if r > w.0 {
            w = (r, i);
        }
    }
    w
}

#[track_caller]
fn assert_close(what: &str, gpu: &[f32], cpu: &[f32], rtol: f64, atol: f64) {
    let (r, i) = worst(gpu, cpu, rtol, atol);
    assert!(
        r <= 1.0,
        "{what}: element {i} is {} on the GPU and {} on the CPU (rtol {rtol}, atol {atol})",
        gpu[i],
        cpu[i]
    );
}

fn ln_normal(x: f64, m: f64, s: f64) -> f64 {
    -0.5 * ((x - m) / s).powi(2) - s.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
}

/// The device the tests below run on is `Device::wgpu(Default::default())`, the one
/// `BURN_DEVICE=wgpu` gives (in CI's log, from [`gpu`]: lavapipe's `llvmpipe (LLVM …)` on
/// Vulkan, device type Cpu).
#[test]
fn the_wgpu_device_is_the_default_one() {
    require_gpu!();
    assert!(gpu() == Device::wgpu(Default::default()));
    let id = gpu()
        .identity()
        .expect("a wgpu device reports its identity");
    assert!(!id.name.is_empty());
}

// ------------------------------------------------------------------------ the PPL

/// Values for the densities: element 0 is the closed-form point, the rest a spread.
fn spread(first: f32, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    let mut v = vec![first];
    v.extend((1..n).map(|i| lo + (hi - lo) * ((i as f32 * 0.618_034) % 1.0)));
    v
}

/// `(name, log_prob on device, closed form of element 0)` for a representative set.
type Case = (&'static str, fn(&Device) -> DTensor, f64);

fn cases() -> Vec<Case> {
    const N: usize = 97;
    vec![
        (
            "Normal(1, 2)",
            |d| {
                let x = t(&spread(0.5, N, -6.0, 8.0), &[N], d);
                Normal::new(s(1.0, d), s(2.0, d))
                    .unwrap()
                    .log_prob(&x)
                    .unwrap()
            },
            ln_normal(0.5, 1.0, 2.0),
        ),
        (
            "Bernoulli",
            |d| {
                let p = spread(0.3, N, 0.01, 0.99);
                let x: Vec<f32> = (0..N).map(|i| if i % 3 == 1 { 0.0 } else { 1.0 }).collect();
                Bernoulli::from_probs(t(&p, &[N], d))
                    .unwrap()
                    .log_prob(&t(&x, &[N], d))
                    .unwrap()
            },
            0.3f64.ln(),
        ),
        (
            "ContinuousBernoulli",
            |d| {
                // Probabilities near 1/2 take the Taylor branch of the normaliser.
                let mut p = spread(0.3, N, 0.02, 0.98);
                p[1] = 0.5;
                p[2] = 0.499;
                let x = spread(0.6, N, 0.0, 1.0);
                ContinuousBernoulli::from_probs(t(&p, &[N], d))
                    .unwrap()
                    .log_prob(&t(&x, &[N], d))
                    .unwrap()
            },
            {
                let c = 2.0 * 0.4f64.atanh() / 0.4;
                c.ln() + 0.6 * 0.3f64.ln() + 0.4 * 0.7f64.ln()
            },
        ),
        (
            "Beta(2, 3)",
            |d| {
                let x = t(&spread(0.4, N, 0.01, 0.99), &[N], d);
                Beta::new(s(2.0, d), s(3.0, d))
                    .unwrap()
                    .log_prob(&x)
                    .unwrap()
            },
            (12.0f64 * 0.4 * 0.36).ln(),
        ),
        (
            "Gamma(2, 3)",
            |d| {
                let x = t(&spread(0.5, N, 0.01, 5.0), &[N], d);
                Gamma::new(s(2.0, d), s(3.0, d))
                    .unwrap()
                    .log_prob(&x)
                    .unwrap()
            },
            9.0f64.ln() + 0.5f64.ln() - 1.5,
        ),
        (
            "Dirichlet(1, 2, 3)",
            |d| {
                let x = [
                    0.2, 0.3, 0.5, 0.1, 0.1, 0.8, 0.6, 0.3, 0.1, 0.34, 0.33, 0.33,
                ];
                Dirichlet::new(t(&[1.0, 2.0, 3.0], &[3], d))
                    .unwrap()
                    .log_prob(&t(&x, &[4, 3], d))
                    .unwrap()
            },
            4.5f64.ln(),
        ),
        (
            "Categorical",
            |d| {
                let x: Vec<f32> = (0..N).map(|i| ((i * 7 + 2) % 3) as f32).collect();
                Categorical::from_probs(t(&[0.2, 0.3, 0.5], &[3], d))
                    .unwrap()
                    .expand(&[N])
                    .unwrap()
                    .log_prob(&t(&x, &[N], d))
                    .unwrap()
            },
            0.5f64.ln(),
        ),
        (
            "MultivariateNormal",
            |d| {
                let x = [1.0, 1.0, -0.3, 2.0, 0.7, -1.1];
                MultivariateNormal::new(
                    t(&[0.0, 0.0], &[2], d),
                    t(&[1.0, 0.0, 0.5, 1.0], &[2, 2], d),
                )
                .unwrap()
                .log_prob(&t(&x, &[3, 2], d))
                .unwrap()
            },
            // L = [[1, 0], [0.5, 1]]: L y = x gives y = (1, 0.5); ln|L| = 0.
            -0.5 * 1.25 - (2.0 * std::f64::consts::PI).ln(),
        ),
        (
            "Laplace(0, 1)",
            |d| {
                let x = t(&spread(1.0, N, -5.0, 5.0), &[N], d);
                Laplace::new(s(0.0, d), s(1.0, d))
                    .unwrap()
                    .log_prob(&x)
                    .unwrap()
            },
            -1.0 - 2.0f64.ln(),
        ),
        (
            "StudentT(3, 0, 1)",
            |d| {
                let x = t(&spread(1.0, N, -9.0, 9.0), &[N], d);
                StudentT::new(s(3.0, d), s(0.0, d), s(1.0, d))
                    .unwrap()
                    .log_prob(&x)
                    .unwrap()
            },
            // Γ(2) / (√(3π) Γ(3/2)) (4/3)^-2 = 18 / (16 π √3).
            (18.0 / (16.0 * std::f64::consts::PI * 3.0f64.sqrt())).ln(),
        ),
    ]
}

#[test]
fn log_densities_on_the_gpu_match_closed_forms_and_the_cpu() {
    require_gpu!();
    for (name, lp, want) in cases() {
        let (g, c) = (lp(&gpu()).to_vec(), lp(&flex()).to_vec());
        assert!(g.iter().all(|v| v.is_finite()), "{name}: {g:?}");
        // f32 at magnitudes of a few units: 1e-5 relative is ~100 ulps.
        assert!(
            (g[0] as f64 - want).abs() < 1e-4 * (1.0 + want.abs()),
            "{name}: {} on the GPU, closed form {want}",
            g[0]
        );
        // The same formula in the same tensor operations; lavapipe's log, exp and lgamma
        // differ from the CPU's by a few ulps.
        assert_close(name, &g, &c, 1e-5, 1e-5);
    }
}

/// Sample mean and variance of each of the `k` columns of `v` (`[n, k]` row-major).
fn moments(v: &[f32], k: usize) -> Vec<(f64, f64)> {
    let n = (v.len() / k) as f64;
    (0..k)
        .map(|j| {
            let m = v.iter().skip(j).step_by(k).map(|&x| x as f64).sum::<f64>() / n;
            let var = v
                .iter()
                .skip(j)
                .step_by(k)
                .map(|&x| (x as f64 - m).powi(2))
                .sum::<f64>()
                / n;
            (m, var)
        })
        .collect()
}

#[test]
fn reparameterised_draws_on_the_gpu_have_the_right_moments_and_the_cpus_values() {
    require_gpu!();
    const N: usize = 20_000;
    type Draw = fn(&Device) -> DTensor;
    // (name, draw, columns, [(mean, variance)] per column)
    type Case = (&'static str, Draw, usize, Vec<(f64, f64)>);
    let cases: Vec<Case> = vec![
        (
            "Normal(1.5, 0.5)",
            |d| {
                Normal::new(s(1.5, d), s(0.5, d))
                    .unwrap()
                    .expand(&[N])
                    .unwrap()
                    .rsample()
                    .unwrap()
            },
            1,
            vec![(1.5, 0.25)],
        ),
        (
            "Gamma(3, 2)",
            |d| {
                Gamma::new(DTensor::full(&[N], 3.0, d), s(2.0, d))
                    .unwrap()
                    .rsample()
                    .unwrap()
            },
            1,
            vec![(1.5, 0.75)],
        ),
        (
            "Beta(2, 5)",
            |d| {
                Beta::new(DTensor::full(&[N], 2.0, d), s(5.0, d))
                    .unwrap()
                    .rsample()
                    .unwrap()
            },
            1,
            vec![(2.0 / 7.0, 10.0 / (49.0 * 8.0))],
        ),
        (
            "Dirichlet(2, 3, 5)",
            |d| {
                let c: Vec<f32> = (0..N).flat_map(|_| [2.0, 3.0, 5.0]).collect();
                Dirichlet::new(t(&c, &[N, 3], d))
                    .unwrap()
                    .rsample()
                    .unwrap()
            },
            3,
            vec![
                (0.2, 0.2 * 0.8 / 11.0),
                (0.3, 0.3 * 0.7 / 11.0),
                (0.5, 0.5 * 0.5 / 11.0),
            ],
        ),
    ];
    for (name, draw, k, want) in cases {
        lobes::ppl::rng::set_rng_seed(3);
        let g = draw(&gpu()).to_vec();
        lobes::ppl::rng::set_rng_seed(3);
        let c = draw(&flex()).to_vec();
        assert_eq!(g.len(), N * k, "{name}");
        for (j, (&(m, v), &(wm, wv))) in moments(&g, k).iter().zip(&want).enumerate() {
            // Four standard errors: of the mean sqrt(v / n); of the variance, below
            // sqrt(2 / n) v · 2 for these shapes (excess kurtosis < 3).
            let n = N as f64;
            assert!(
                (m - wm).abs() < 4.0 * (wv / n).sqrt(),
                "{name}[{j}]: mean {m} vs {wm}"
            );
            assert!(
                (v - wv).abs() < 8.0 * (2.0 / n).sqrt() * wv,
                "{name}[{j}]: variance {v} vs {wv}"
            );
        }
        // The draws come from the PPL's generator on the host: the same numbers, transformed
        // on each device.
        assert_close(name, &g, &c, 1e-5, 1e-6);
    }
}

/// z ~ N(0, 1) (two of them); x ~ N(z, 1) observed at 0.5; on `d`.
fn handler_model(d: &Device) -> Result<DTensor> {
    let z: DTensor = sample(
        "z",
        Normal::new(DTensor::zeros(&[2], d), DTensor::ones(&[2], d))?,
    )?;
    observe(
        "x",
        Normal::new(z.clone(), DTensor::ones(&[2], d))?,
        DTensor::full(&[2], 0.5, d),
    )?;
    Ok(z)
}

#[test]
fn the_handlers_on_the_gpu() {
    require_gpu!();
    let d = gpu();
    let m = || handler_model(&d);
    // trace: sites in order, on the GPU.
    let (z, tr) = trace(m).unwrap();
    let names: Vec<&str> = tr.sites().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["z", "x"]);
    assert!(tr.device().unwrap() == d);
    assert_eq!(tr.value("z").unwrap().to_vec(), z.to_vec());
    // replay: the guide's values; log p is the closed form at them.
    lobes::ppl::rng::set_rng_seed(5);
    let (_, guide_tr) = trace(|| {
        sample::<DTensor>(
            "z",
            Normal::new(DTensor::zeros(&[2], &d), DTensor::ones(&[2], &d))?,
        )
    })
    .unwrap();
    let zs: Vec<f64> = guide_tr
        .value("z")
        .unwrap()
        .to_vec()
        .iter()
        .map(|&v| v as f64)
        .collect();
    let (z, mut tr) = trace(|| replay(&guide_tr, m)).unwrap();
    assert_eq!(z.to_vec(), guide_tr.value("z").unwrap().to_vec());
    let want: f64 = zs
        .iter()
        .map(|&z| ln_normal(z, 0.0, 1.0) + ln_normal(0.5, z, 1.0))
        .sum();
    let lp = tr.log_prob_sum().unwrap().item() as f64;
    assert!(
        (lp - want).abs() < 1e-5 * (1.0 + want.abs()),
        "{lp} vs {want}"
    );
    // condition: an observed value.
    let data = HashMap::from([("z".to_string(), DTensor::full(&[2], 1.25, &d))]);
    let (z, tr) = trace(|| condition(data, m)).unwrap();
    assert_eq!(z.to_vec(), vec![1.25, 1.25]);
    assert!(tr.get("z").unwrap().is_observed);
    // scale: the log-density times the factor.
    let (_, mut scaled) = trace(|| scale(3.0, || replay(&guide_tr, m))).unwrap();
    let b = scaled.log_prob_sum().unwrap().item() as f64;
    assert!(
        (b - 3.0 * want).abs() < 1e-5 * (1.0 + want.abs()),
        "{b} vs 3 * {want}"
    );
    // mask: element 1 contributes nothing.
    let (_, mut half) = trace(|| mask(t(&[1.0, 0.0], &[2], &d), || replay(&guide_tr, m))).unwrap();
    half.compute_log_prob().unwrap();
    for (name, want0) in [
        ("z", ln_normal(zs[0], 0.0, 1.0)),
        ("x", ln_normal(0.5, zs[0], 1.0)),
    ] {
        let v = half.get(name).unwrap().log_prob.as_ref().unwrap().to_vec();
        assert!((v[0] as f64 - want0).abs() < 1e-5, "{name}: {v:?}");
        assert_eq!(v[1], 0.0, "{name}");
    }
    // block: hidden from the outer trace.
    let (_, tr) = trace(|| block(m)).unwrap();
    assert!(tr.is_empty());
}

// Normal–Normal: mu ~ N(0, 1); x_i ~ N(mu, 1); guide mu ~ N(loc, scale).
const XS: [f32; 10] = [3.1, 2.7, 3.4, 3.0, 2.2, 3.9, 3.3, 2.8, 3.05, 2.95];

fn nn_model(args: &(DTensor, Device)) -> Result<()> {
    let (x, d) = args;
    let mu: DTensor = sample("mu", Normal::new(s(0.0, d), s(1.0, d))?)?;
    plate("data", x.numel())
        .run(|_| observe("x", Normal::new(mu.clone(), s(1.0, d))?, x.clone()))?;
    Ok(())
}

fn nn_guide(args: &(DTensor, Device)) -> Result<()> {
    let d = &args.1;
    let loc: DTensor = param("loc", s(0.4, d))?;
    let scale: DTensor = param_constrained("scale", s(0.7, d), Constraint::Positive)?;
    sample::<DTensor>("mu", Normal::new(loc, scale)?)?;
    Ok(())
}

/// (loss, d/dloc, d/dscale of the surrogate (the ELBO), mu drawn) of one Trace_ELBO estimate.
fn pathwise(d: &Device) -> (f64, f64, f64, f64) {
    let args = (t(&XS, &[10], d), d.clone());
    let mut store = ParamStore::new();
    lobes::ppl::rng::set_rng_seed(21);
    with_param_store(&mut store, || {
        let est = TraceElbo::default()
            .estimate(&nn_model, &nn_guide, &args)
            .unwrap();
        let mu = est.guide_trace.value("mu").unwrap().item() as f64;
        let g = est.surrogate.backward();
        let leaves = with_active_store(|s| s.leaves().clone());
        let grad = |n: &str| leaves[n].grad(&g).unwrap().item() as f64;
        (est.loss(), grad("loc"), grad("scale"), mu)
    })
}

#[test]
fn trace_elbo_pathwise_gradients_on_the_gpu_are_the_closed_form_at_the_draw() {
    require_gpu!();
    let (loss, gloc, graw, mu) = pathwise(&gpu());
    // With mu = loc + scale ε: ELBO = ln p(mu) + Σ ln p(x_i | mu) - ln q(mu); its derivative
    // in loc is Σx - (n + 1) mu; in the unconstrained scale u (scale = exp u),
    // (Σx - (n + 1) mu) ε scale + 1 (ln q's -ln scale).
    let (loc, scale) = (0.4f64, 0.7f64);
    let eps = (mu - loc) / scale;
    let sx: f64 = XS.iter().map(|&v| v as f64).sum();
    let n = XS.len() as f64;
    let elbo = ln_normal(mu, 0.0, 1.0)
        + XS.iter()
            .map(|&x| ln_normal(x as f64, mu, 1.0))
            .sum::<f64>()
        - ln_normal(mu, loc, scale);
    assert!(
        (loss + elbo).abs() < 1e-4 * elbo.abs(),
        "loss {loss} vs {}",
        -elbo
    );
    let want_loc = sx - (n + 1.0) * mu;
    let want_raw = (sx - (n + 1.0) * mu) * eps * scale + 1.0;
    assert!(
        (gloc - want_loc).abs() < 1e-4 * (1.0 + want_loc.abs()),
        "{gloc} vs {want_loc}"
    );
    assert!(
        (graw - want_raw).abs() < 1e-4 * (1.0 + want_raw.abs()),
        "{graw} vs {want_raw}"
    );
    // The CPU with the same seed draws the same mu and gets the same numbers.
    let c = pathwise(&flex());
    assert!((c.3 - mu).abs() < 1e-6 && (c.1 - gloc).abs() < 1e-4 * (1.0 + gloc.abs()));
}

const N_COPIES: usize = 50_000;
const PHI: f32 = -1.0;

fn sf_model(args: &(DTensor, Device)) -> Result<()> {
    let (x, d) = args;
    plate("n", N_COPIES).run(|_| {
        let z: DTensor = sample("z", Bernoulli::from_probs(s(0.3, d))?)?;
        observe("x", Normal::new(z.mul_scalar(2.0), s(1.0, d))?, x.clone())
    })?;
    Ok(())
}

fn sf_guide(args: &(DTensor, Device)) -> Result<()> {
    let phi: DTensor = param("phi", s(PHI, &args.1))?;
    plate("n", N_COPIES).run(|_| sample::<DTensor>("z", Bernoulli::from_logits(phi.clone())?))?;
    Ok(())
}

#[test]
fn trace_elbo_score_function_gradient_on_the_gpu_matches_the_closed_form() {
    require_gpu!();
    // Per copy: dELBO/dφ = σ(1-σ) (a_1 - a_0 - φ), a_z = ln p(z) + ln N(1.5 | 2z, 1).
    let (a1, a0) = (
        0.3f64.ln() + ln_normal(1.5, 2.0, 1.0),
        0.7f64.ln() + ln_normal(1.5, 0.0, 1.0),
    );
    let sig = 1.0 / (1.0 + (-(PHI as f64)).exp());
    let want = sig * (1.0 - sig) * (a1 - a0 - PHI as f64);
    let grad = |d: &Device| {
        let args = (DTensor::full(&[N_COPIES], 1.5, d), d.clone());
        let mut store = ParamStore::new();
        lobes::ppl::rng::set_rng_seed(17);
        with_param_store(&mut store, || {
            let est = TraceElbo::default()
                .estimate(&sf_model, &sf_guide, &args)
                .unwrap();
            let g = est.surrogate.backward();
            let leaf = with_active_store(|s| s.leaves()["phi"].clone());
            leaf.grad(&g).unwrap().item() as f64 / N_COPIES as f64
        })
    };
    let g = grad(&gpu());
    // 50,000 copies: the estimate's standard error is ~1% of the gradient.
    assert!(
        (g - want).abs() < 0.05 * want.abs(),
        "score-function gradient {g} vs {want}"
    );
    // Same seed, same Bernoulli draws on the CPU: the same estimate to f32 summation order.
    let c = grad(&flex());
    assert!((g - c).abs() < 1e-4 * c.abs(), "GPU {g} vs CPU {c}");
}

const X4: [f32; 4] = [-0.7, 0.2, 2.4, 3.1];

fn mixture(args: &(DTensor, Device)) -> Result<()> {
    let (x, d) = args;
    let locs: DTensor = param("locs", t(&[-1.0, 2.0], &[2], d))?;
    config_enumerate(|| {
        plate("data", x.numel()).run(|_| {
            let a: DTensor = sample("a", Categorical::from_probs(t(&[0.3, 0.7], &[2], d))?)?;
            observe(
                "x",
                Normal::new(locs.gather_last(&a)?, s(1.0, d))?,
                x.clone(),
            )?;
            Ok(())
        })
    })
}

fn empty(_: &(DTensor, Device)) -> Result<()> {
    Ok(())
}

fn mixture_loss(locs: [f64; 2]) -> f64 {
    let lse = |a: f64, b: f64| a.max(b) + ((a - a.max(b)).exp() + (b - a.max(b)).exp()).ln();
    -X4.iter()
        .map(|&x| {
            lse(
                0.3f64.ln() + ln_normal(x as f64, locs[0], 1.0),
                0.7f64.ln() + ln_normal(x as f64, locs[1], 1.0),
            )
        })
        .sum::<f64>()
}

const PHI_ENUM: f32 = 0.4;

fn coin_model(args: &(DTensor, Device)) -> Result<()> {
    let (x, d) = args;
    plate("n", x.numel()).run(|_| {
        let z: DTensor = sample("z", Bernoulli::from_probs(s(0.3, d))?)?;
        observe("x", Normal::new(z.mul_scalar(2.0), s(1.0, d))?, x.clone())?;
        Ok(())
    })
}

fn coin_guide(args: &(DTensor, Device)) -> Result<()> {
    let (x, d) = args;
    let phi: DTensor = param("phi", s(PHI_ENUM, d))?;
    config_enumerate(|| {
        plate("n", x.numel()).run(|_| sample::<DTensor>("z", Bernoulli::from_logits(phi)?))
    })?;
    Ok(())
}

#[test]
fn trace_enum_elbo_on_the_gpu_gives_the_exact_loss_and_gradients() {
    require_gpu!();
    let d = gpu();
    // Model enumeration: the mixture's exact marginal likelihood and its gradient.
    let args = (t(&X4, &[4], &d), d.clone());
    let mut store = ParamStore::new();
    let (loss, grad) = with_param_store(&mut store, || {
        let est = TraceEnumElbo::new(1)
            .estimate(&mixture, &empty, &args)
            .unwrap();
        let g = est.surrogate.backward();
        let leaf = with_active_store(|s| s.leaves()["locs"].clone());
        (est.loss(), leaf.grad(&g).unwrap().to_vec())
    });
    let want = mixture_loss([-1.0, 2.0]);
    assert!((loss - want).abs() < 1e-4, "loss {loss} vs {want}");
    for k in 0..2 {
        let (h, mut up) = (1e-5, [-1.0, 2.0]);
        let mut down = up;
        up[k] += h;
        down[k] -= h;
        let fd = -(mixture_loss(up) - mixture_loss(down)) / (2.0 * h);
        assert!(
            (grad[k] as f64 - fd).abs() < 1e-3,
            "d/dlocs[{k}]: {} vs {fd}",
            grad[k]
        );
    }
    // Guide enumeration: the exact ELBO of q(z = 1) = σ(φ) and its gradient.
    let (a1, a0) = (
        0.3f64.ln() + ln_normal(1.5, 2.0, 1.0),
        0.7f64.ln() + ln_normal(1.5, 0.0, 1.0),
    );
    let sig = 1.0 / (1.0 + (-(PHI_ENUM as f64)).exp());
    let elbo = sig * (a1 - sig.ln()) + (1.0 - sig) * (a0 - (1.0 - sig).ln());
    let dphi = sig * (1.0 - sig) * (a1 - a0 - PHI_ENUM as f64);
    let args = (DTensor::full(&[3], 1.5, &d), d.clone());
    let mut store = ParamStore::new();
    let (loss, grad) = with_param_store(&mut store, || {
        let est = TraceEnumElbo::new(1)
            .estimate(&coin_model, &coin_guide, &args)
            .unwrap();
        let g = est.surrogate.backward();
        let leaf = with_active_store(|s| s.leaves()["phi"].clone());
        (est.loss(), leaf.grad(&g).unwrap().item() as f64)
    });
    assert!(
        (loss + 3.0 * elbo).abs() < 1e-4,
        "loss {loss} vs {}",
        -3.0 * elbo
    );
    assert!(
        (grad - 3.0 * dphi).abs() < 1e-4,
        "gradient {grad} vs {}",
        3.0 * dphi
    );
}

// ------------------------------------------------------------------------ the VAE and CVAE

/// A network of the Table-2 shape (10000 pixels, dropout 0.2, the paper's slope and prior)
/// with the given hidden widths and latent dimension.
fn net(hidden: &[usize], latent: usize, conditional: bool) -> VaeConfig {
    VaeConfig {
        hidden: hidden.to_vec(),
        ..VaeConfig::paper(latent, conditional)
    }
}

/// `batch` synthetic FRI/FRII images (100 x 100 crops, both classes) on `d`.
fn images(batch: usize, d: &Device) -> Batch {
    images_cropped(batch, 100, d)
}

/// [`images`] cropped to `side` x `side`.
fn images_cropped(batch: usize, side: usize, d: &Device) -> Batch {
    let data = Synthetic::default().dataset(batch.div_ceil(2), 0, 5);
    let refs: Vec<_> = data.train.iter().take(batch).collect();
    batch_of(&refs, side, d)
}

/// Every parameter of `store`, by name.
fn values(store: &ParamStore) -> Vec<(String, Vec<f32>)> {
    let mut names = store.names().to_vec();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let v = store.get(&n).unwrap().to_vec();
            (n, v)
        })
        .collect()
}

/// The initial parameters of `cfg` under `seed` on `d`, as the store registers them.
fn initial(cfg: &VaeConfig, seed: u64, d: &Device) -> Vec<(String, Vec<f32>)> {
    let vae = cfg.init_seeded(seed, &d.clone().autodiff());
    let mut store = ParamStore::new();
    with_param_store(&mut store, || {
        lobes::ppl::module("encoder", &vae.encoder).unwrap();
        lobes::ppl::module("decoder", &vae.decoder).unwrap();
    });
    values(&store)
}

/// Losses and final parameters of `steps` SVI steps (Adam 1e-3, the paper's rate) from the
/// initial model of `seed`, every step's draws seeded by `seed` (`Svi::with_seed`), on `d`.
fn svi_steps(
    cfg: &VaeConfig,
    batch: usize,
    steps: usize,
    seed: u64,
    d: &Device,
) -> (Vec<f64>, Vec<(String, Vec<f32>)>) {
    svi_steps_crop(cfg, 100, batch, steps, seed, d)
}

/// [`svi_steps`] on `side` x `side` crops.
fn svi_steps_crop(
    cfg: &VaeConfig,
    side: usize,
    batch: usize,
    steps: usize,
    seed: u64,
    d: &Device,
) -> (Vec<f64>, Vec<(String, Vec<f32>)>) {
    let vae = cfg.init_seeded(seed, &d.clone().autodiff());
    let b = images_cropped(batch, side, d);
    let mut svi = Svi::new(
        |b: &Batch| model(&vae, b),
        |b: &Batch| guide(&vae, b),
        Adam::new(1e-3),
        TraceElbo::default(),
    )
    .with_seed(seed, None);
    let losses = (0..steps).map(|_| svi.step(&b).unwrap()).collect();
    (losses, values(svi.store()))
}

/// How far the GPU's parameters are from the CPU's after `steps` Adam steps of rate `lr`:
/// asserts every element within `2 · steps · lr` (the most Adam can move a parameter apart:
/// its first steps are ~`lr · sign(g)`, so a gradient element that is pure rounding noise may
/// take opposite signs on the two devices) and all but 1 in 10⁴ within `tight`; returns the
/// largest difference.
#[track_caller]
fn assert_params_close(
    what: &str,
    g: &[(String, Vec<f32>)],
    c: &[(String, Vec<f32>)],
    steps: usize,
    tight: f64,
) -> f64 {
    let bound = 2.0 * steps as f64 * 1e-3 + 1e-6;
    let (mut n, mut loose, mut max) = (0usize, 0usize, 0f64);
    assert_eq!(g.len(), c.len(), "{what}");
    for ((name, a), (cname, b)) in g.iter().zip(c) {
        assert_eq!(name, cname, "{what}");
        for (&x, &y) in a.iter().zip(b) {
            let d = (x as f64 - y as f64).abs();
            assert!(d <= bound, "{what}: {name} differs by {d} (> {bound})");
            n += 1;
            loose += usize::from(d > tight);
            max = max.max(d);
        }
    }
    assert!(
        loose * 10_000 <= n,
        "{what}: {loose} of {n} parameters differ by more than {tight}"
    );
    max
}

#[test]
fn one_seed_gives_the_same_initial_model_on_both_devices() {
    require_gpu!();
    for conditional in [false, true] {
        let cfg = net(&[64, 32], 4, conditional);
        let g = initial(&cfg, 11, &gpu());
        // Drawn on the host and uploaded: bit for bit.
        assert_eq!(g, initial(&cfg, 11, &flex()), "conditional {conditional}");
        let other = initial(&cfg, 12, &gpu());
        for ((name, a), (_, b)) in g.iter().zip(&other) {
            assert_ne!(a, b, "{name}: seeds 11 and 12 agree");
        }
    }
}

#[test]
fn svi_steps_of_the_vae_and_cvae_agree_between_the_gpu_and_the_cpu() {
    require_gpu!();
    const STEPS: usize = 5;
    for conditional in [false, true] {
        let what = if conditional { "CVAE" } else { "VAE" };
        let cfg = net(&[64, 32], 4, conditional);
        let (lg, pg) = svi_steps(&cfg, 6, STEPS, 3, &gpu());
        let (lc, pc) = svi_steps(&cfg, 6, STEPS, 3, &flex());
        // The same initial model, the same draws (ε, dropout masks): the losses agree to f32
        // summation order (the CPU's sparse first layer and direct-GEMM weight gradients add
        // in another order than the GPU's dense products).
        for (k, (a, b)) in lg.iter().zip(&lc).enumerate() {
            assert!(
                (a - b).abs() < 1e-4 * b.abs(),
                "{what} step {k}: loss {a} vs {b}"
            );
        }
        let max = assert_params_close(what, &pg, &pc, STEPS, 1e-5);
        eprintln!("{what}: losses {lg:?} (GPU) vs {lc:?} (CPU); parameters within {max:e}");
    }
}

#[test]
fn a_table_2_step_agrees_between_the_gpu_and_the_cpu() {
    require_gpu!();
    // The Table-2 widths, 4096 → 2048 → 1024 → 512 → 256 → 32 and back, on 100 x 100 images
    // (104M parameters) where the device binds a 10000 x 4096 weight (164 MB). lavapipe binds
    // at most 128 MiB per storage buffer (maxStorageBufferRange, Mesa 22.3 and 25.0 alike), so
    // there the images are 90 x 90 crops (8100 pixels, 88.7M parameters: the first and last
    // layers' weights 133 MB each). A batch of 2 keeps lavapipe's time bounded.
    let (_, limit) = gpu_and_limit();
    let full = 10_000 * 4096 * 4 <= limit;
    let side = if full { 100 } else { 90 };
    let cfg = VaeConfig {
        pixels: side * side,
        ..VaeConfig::paper(32, false)
    };
    assert!(cfg.hidden.len() == 5 && cfg.pixels * 4096 * 4 <= limit as usize);
    let (lg, pg) = svi_steps_crop(&cfg, side, 2, 1, 0, &gpu());
    let (lc, pc) = svi_steps_crop(&cfg, side, 2, 1, 0, &flex());
    assert!(
        (lg[0] - lc[0]).abs() < 1e-4 * lc[0].abs(),
        "loss {} vs {}",
        lg[0],
        lc[0]
    );
    let max = assert_params_close("Table 2", &pg, &pc, 1, 1e-5);
    eprintln!(
        "Table 2 on {side} x {side} images ({} parameters): loss {} (GPU) vs {} (CPU); \
         parameters within {max:e}",
        cfg.num_params(),
        lg[0],
        lc[0]
    );
}

fn scratch(name: &str) -> PathBuf {
    lobes::ppl::io::scratch_dir("lobes-wgpu", name).unwrap()
}

/// `first` steps on `a`, a checkpoint, then `then` more on `b` after loading it there.
fn across(
    cfg: &VaeConfig,
    a: &Device,
    b: &Device,
    first: usize,
    then: usize,
    path: &Path,
) -> (Vec<f64>, Vec<(String, Vec<f32>)>) {
    let batch = 6;
    let mut losses = vec![];
    {
        let vae = cfg.init_seeded(1, &a.clone().autodiff());
        let x = images(batch, a);
        let mut svi = Svi::new(
            |x: &Batch| model(&vae, x),
            |x: &Batch| guide(&vae, x),
            Adam::new(1e-3),
            TraceElbo::default(),
        )
        .with_seed(1, None);
        for _ in 0..first {
            losses.push(svi.step(&x).unwrap());
        }
        svi.save_checkpoint(path).unwrap();
    }
    // Another seed for the template: the checkpoint's values replace it.
    let vae = cfg.init_seeded(99, &b.clone().autodiff());
    let x = images(batch, b);
    let mut svi = Svi::new(
        |x: &Batch| model(&vae, x),
        |x: &Batch| guide(&vae, x),
        Adam::new(1e-3),
        TraceElbo::default(),
    )
    .with_seed(1, None);
    svi.load_checkpoint(path, b).unwrap();
    for _ in 0..then {
        losses.push(svi.step(&x).unwrap());
    }
    (losses, values(svi.store()))
}

#[test]
fn checkpoints_written_on_one_device_resume_on_the_other() {
    require_gpu!();
    let dir = scratch("checkpoints");
    let cfg = net(&[48, 24], 3, true);
    let (cpu_only, pc) = svi_steps_seed1(&cfg, 4);
    for (a, b, name) in [(gpu(), flex(), "gpu-to-cpu"), (flex(), gpu(), "cpu-to-gpu")] {
        let (losses, p) = across(&cfg, &a, &b, 2, 2, &dir.join(format!("{name}.safetensors")));
        for (k, (x, y)) in losses.iter().zip(&cpu_only).enumerate() {
            assert!(
                (x - y).abs() < 1e-4 * y.abs(),
                "{name} step {k}: {x} vs {y}"
            );
        }
        assert_params_close(name, &p, &pc, 4, 1e-5);
    }
}

/// Four uninterrupted steps on the CPU, as [`across`] takes them.
fn svi_steps_seed1(cfg: &VaeConfig, steps: usize) -> (Vec<f64>, Vec<(String, Vec<f32>)>) {
    svi_steps(cfg, 6, steps, 1, &flex())
}

// ------------------------------------------------------------------------ the CLI

/// Runs lobes with `BURN_DEVICE=device`, expecting success; returns what it printed.
fn lobes_on(device: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_lobes"))
        .env("BURN_DEVICE", device)
        .args(args)
        .output()
        .expect("run lobes");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "BURN_DEVICE={device} lobes {args:?} failed:\n{text}"
    );
    text
}

/// The test losses of a run's metrics.csv, by epoch (rows with one).
fn test_losses(run: &Path) -> Vec<f64> {
    let csv = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "test_loss").unwrap();
    lines
        .filter_map(|l| l.split(',').nth(col).and_then(|v| v.parse().ok()))
        .collect()
}

/// The RAMIS classifier beside the checkout; `None` skips, except under CI, where it fails.
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
    eprintln!("skipping RAMIS: {} not found", p.display());
    None
}

#[test]
fn the_cli_trains_generates_and_simulates_on_the_gpu_and_resumes_across_devices() {
    require_gpu!();
    let dir = scratch("cli");
    let (g, c) = (dir.join("gpu"), dir.join("cpu"));
    let train = |device: &str, epochs: &str, out: &Path, resume: bool| {
        let mut args = vec![
            "train", "--model", "cvae", "--latent", "2", "--epochs", epochs, "--out",
        ];
        args.push(out.to_str().unwrap());
        args.extend([
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
        ]);
        if resume {
            args.push("--resume");
        }
        lobes_on(device, &args)
    };
    // Two epochs on each device from the same seed: the same initial model and the same draws,
    // so the same test losses at epochs 0 (untrained), 1 and 2, to f32 summation order.
    train("wgpu", "2", &g, false);
    train("flex", "2", &c, false);
    let (lg, lc) = (test_losses(&g), test_losses(&c));
    assert_eq!(lg.len(), 3, "{lg:?}");
    for (k, (a, b)) in lg.iter().zip(&lc).enumerate() {
        assert!(
            (a - b).abs() < 1e-4 * b.abs(),
            "epoch {k}: test loss {a} (GPU) vs {b} (CPU)"
        );
    }
    // Each resumed on the other device for a third epoch.
    train("flex", "3", &g, true);
    train("wgpu", "3", &c, true);
    let (lg, lc) = (test_losses(&g), test_losses(&c));
    assert_eq!(lg.len(), 4, "{lg:?}");
    assert!(
        (lg[3] - lc[3]).abs() < 1e-4 * lc[3].abs(),
        "epoch 3: {} (GPU, then CPU) vs {} (CPU, then GPU)",
        lg[3],
        lc[3]
    );
    eprintln!("test losses by epoch: {lg:?} (GPU, then CPU); {lc:?} (CPU, then GPU)");

    let ckpt = g.join("checkpoint.safetensors");
    let ck = ckpt.to_str().unwrap();
    let gen_dir = dir.join("generated");
    lobes_on(
        "wgpu",
        &[
            "generate",
            "--checkpoint",
            ck,
            "--n",
            "4",
            "--class",
            "FRII",
            "--out",
            gen_dir.to_str().unwrap(),
        ],
    );
    assert!(std::fs::read_dir(&gen_dir).unwrap().count() > 0);
    let field = dir.join("field");
    lobes_on(
        "wgpu",
        &[
            "simulate-field",
            "--checkpoint",
            ck,
            "--fri-fraction",
            "0.5",
            "--width",
            "300",
            "--height",
            "300",
            "--n",
            "6",
            "--no-progress",
            "--out",
            field.to_str().unwrap(),
        ],
    );
    for f in ["field.fits", "truth.csv", "truth.fits"] {
        assert!(field.join(f).exists(), "{f}");
    }
    if let Some(clf) = shared_classifier() {
        let text = lobes_on(
            "wgpu",
            &[
                "ramis",
                "--classifier",
                clf.to_str().unwrap(),
                "--checkpoint",
                ck,
                "--n",
                "8",
            ],
        );
        assert!(text.contains("RAMIS "), "{text}");
    }
}
