//! Normalizing flows (`lobes_ppl::flows`) and `AutoIAFNormal`: log-Jacobians against finite
//! differences, invertibility, MADE's masks and autoregressive property, event shapes and
//! errors, a flow fitted by SVI to a banana density (KL against a mean-field Normal's), and
//! `AutoIAFNormal` against `AutoDiagonalNormal` on a correlated Gaussian posterior.

use lobes_ppl::flows::{
    AffineAutoregressive, AffineCoupling, AutoRegressiveNN, DenseNN, Nonlinearity, Permute,
    affine_autoregressive, affine_coupling, conditional_affine_autoregressive,
};
use lobes_ppl::infer::autoguide::{AutoDiagonalNormal, AutoIAFNormal};
use lobes_ppl::optim::ClippedAdam;
use lobes_ppl::prelude::*;
use lobes_ppl::rng::{normals, set_rng_seed};
use std::sync::Arc;

const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

fn dev() -> Device {
    Device::flex()
}

fn randn(shape: &[usize]) -> DTensor {
    let n = shape.iter().product();
    DTensor::from_floats(normals(n), shape, &dev()).unwrap()
}

fn std_normal(shape: &[usize]) -> Normal {
    Normal::new(DTensor::zeros(shape, &dev()), DTensor::ones(shape, &dev())).unwrap()
}

/// `ln |det m|` of a `d x d` row-major matrix (Gaussian elimination, partial pivoting).
fn log_abs_det(mut m: Vec<f64>, d: usize) -> f64 {
    let mut acc = 0.0;
    for c in 0..d {
        let p = (c..d)
            .max_by(|&a, &b| m[a * d + c].abs().total_cmp(&m[b * d + c].abs()))
            .unwrap();
        for k in 0..d {
            m.swap(c * d + k, p * d + k);
        }
        let pivot = m[c * d + c];
        acc += pivot.abs().ln();
        for r in c + 1..d {
            let f = m[r * d + c] / pivot;
            for k in c..d {
                m[r * d + k] -= f * m[c * d + k];
            }
        }
    }
    acc
}

/// `ln |det ∂y/∂x|` at each row of `x` (`[n, d]`) by central differences of step `h`, in f64
/// from the f32 forward (the step actually taken in f32 is the denominator).
fn fd_log_det(t: &dyn Transform, x: &DTensor, h: f32) -> Vec<f64> {
    let (n, d) = (x.shape()[0], x.shape()[1]);
    let xv = x.to_vec();
    let mut jac = vec![vec![0.0f64; d * d]; n];
    for j in 0..d {
        let moved = |s: f32| {
            let mut v = xv.clone();
            for b in 0..n {
                v[b * d + j] += s;
            }
            let y = t.forward(&DTensor::from_floats(v.clone(), &[n, d], &dev()).unwrap());
            (v, y.to_vec())
        };
        let ((xu, yu), (xd, yd)) = (moved(h), moved(-h));
        for b in 0..n {
            let step = xu[b * d + j] as f64 - xd[b * d + j] as f64;
            for i in 0..d {
                jac[b][i * d + j] = (yu[b * d + i] as f64 - yd[b * d + i] as f64) / step;
            }
        }
    }
    jac.into_iter().map(|m| log_abs_det(m, d)).collect()
}

/// `t`'s log-Jacobian against finite differences at 16 random points. A point where the
/// estimates of steps h and h/2 disagree has a ReLU kink (or the clamp) inside the stencil
/// and is skipped; at most 4 may be.
fn check_log_det(name: &str, t: &dyn Transform, d: usize) {
    let x = randn(&[16, d]);
    let y = t.forward(&x);
    assert_eq!(y.shape(), &[16, d], "{name}: forward keeps the shape");
    let ladj = t.log_abs_det_jacobian(&x, &y);
    assert_eq!(ladj.shape(), &[16], "{name}: one log-det per vector");
    let ladj = ladj.to_vec();
    let (a, b) = (fd_log_det(t, &x, 1e-2), fd_log_det(t, &x, 5e-3));
    let mut used = 0;
    for k in 0..16 {
        if (a[k] - b[k]).abs() > 2e-4 {
            continue;
        }
        used += 1;
        assert!(
            (a[k] - ladj[k] as f64).abs() < 1e-3,
            "{name}: point {k}: log|det J| {} vs finite differences {}",
            ladj[k],
            a[k]
        );
    }
    assert!(
        used >= 12,
        "{name}: only {used} of 16 points away from kinks"
    );
}

/// `inverse(forward(x)) ≈ x` and `forward(inverse(y)) ≈ y` at random points.
fn check_inverse(name: &str, t: &dyn Transform, d: usize) {
    for (what, v, round_trip) in [
        ("inverse(forward(x))", randn(&[16, d]).mul_scalar(1.5), true),
        (
            "forward(inverse(y))",
            randn(&[16, d]).mul_scalar(1.5),
            false,
        ),
    ] {
        let back = if round_trip {
            t.inverse(&t.forward(&v))
        } else {
            t.forward(&t.inverse(&v))
        };
        for (got, want) in back.to_vec().into_iter().zip(v.to_vec()) {
            assert!(
                (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                "{name}: {what} = {got}, want {want}"
            );
        }
    }
}

fn boxed(t: impl Transform) -> Arc<dyn Transform> {
    Arc::new(t)
}

/// The transforms under test, each with its vector length.
fn transforms() -> Vec<(&'static str, Arc<dyn Transform>, usize)> {
    set_rng_seed(11);
    let d = dev();
    let iaf = affine_autoregressive(4, None, &d).unwrap();
    let stable = AffineAutoregressive::new(
        AutoRegressiveNN::new(3, &[9, 9], &d)
            .unwrap()
            .with_nonlinearity(Nonlinearity::Tanh),
    )
    .unwrap()
    .stable(true);
    let elu = AffineAutoregressive::new(
        AutoRegressiveNN::new(3, &[12], &d)
            .unwrap()
            .with_nonlinearity(Nonlinearity::Elu),
    )
    .unwrap();
    let coupling = affine_coupling(4, None, None, &d).unwrap();
    let coupling_tanh = AffineCoupling::new(
        5,
        2,
        DenseNN::new(2, &[16, 16], 6, &d)
            .unwrap()
            .with_nonlinearity(Nonlinearity::Tanh),
    )
    .unwrap();
    let cond = conditional_affine_autoregressive(3, 2, None, &d).unwrap();
    let conditioned = cond.condition(&randn(&[16, 2])).unwrap();
    vec![
        ("IAF (ReLU)", boxed(iaf), 4),
        ("stable IAF (tanh)", boxed(stable), 3),
        ("IAF (ELU)", boxed(elu), 3),
        ("AffineCoupling", boxed(coupling), 4),
        ("AffineCoupling (tanh, 5 split 2)", boxed(coupling_tanh), 5),
        ("conditioned IAF", boxed(conditioned), 3),
        ("Permute", boxed(Permute::new(vec![2, 0, 3, 1]).unwrap()), 4),
    ]
}

#[test]
fn log_det_jacobians_match_finite_differences() {
    for (name, t, d) in transforms() {
        assert_eq!(t.event_dim(), 1, "{name}");
        check_log_det(name, &*t, d);
    }
}

#[test]
fn flows_invert() {
    for (name, t, d) in transforms() {
        check_inverse(name, &*t, d);
    }
}

fn rows(v: &[f32], d: usize) -> Tensor<2> {
    DTensor::from_floats(v.to_vec(), &[v.len() / d, d], &dev())
        .unwrap()
        .to_tensor::<2>()
        .unwrap()
}

#[test]
fn made_outputs_depend_only_on_earlier_inputs_in_the_permutation() {
    set_rng_seed(3);
    let d = 5;
    // Masked weights make the forbidden dependencies exactly zero whatever the nonlinearity;
    // the allowed ones are checked with tanh, since a ReLU unit on a narrow path can be dead
    // at every probe point.
    for (nonlinearity, context_dim) in [
        (Nonlinearity::Relu, 0),
        (Nonlinearity::Relu, 2),
        (Nonlinearity::Tanh, 0),
        (Nonlinearity::Tanh, 2),
    ] {
        let arn = AutoRegressiveNN::conditional(d, context_dim, &[11, 13], &dev())
            .unwrap()
            .with_nonlinearity(nonlinearity);
        let smooth = nonlinearity == Nonlinearity::Tanh;
        let perm = arn.permutation().to_vec();
        let mut rank = vec![0; d];
        for (k, &p) in perm.iter().enumerate() {
            rank[p] = k;
        }
        let out = |x: &[f32], c: &[f32]| -> Vec<f32> {
            let ctx = (context_dim > 0).then(|| rows(c, context_dim));
            let (loc, log_scale) = arn.forward(rows(x, d), ctx).unwrap();
            [
                DTensor::from_tensor(loc).to_vec(),
                DTensor::from_tensor(log_scale).to_vec(),
            ]
            .concat()
        };
        let moved =
            |a: &[f32], b: &[f32], i: usize| (a[i] - b[i]).abs().max((a[d + i] - b[d + i]).abs());
        let mut seen = vec![vec![false; d]; d];
        let mut context_seen = vec![false; d];
        for _ in 0..4 {
            let x = normals(d);
            let c = normals(context_dim);
            let base = out(&x, &c);
            for j in 0..d {
                let mut xj = x.clone();
                xj[j] += 1.5;
                let o = out(&xj, &c);
                for i in 0..d {
                    let m = moved(&o, &base, i);
                    if rank[i] <= rank[j] {
                        assert_eq!(
                            m, 0.0,
                            "context {context_dim}, permutation {perm:?}: output {i} moved with input {j}"
                        );
                    } else if m > 1e-6 {
                        seen[i][j] = true;
                    }
                }
            }
            if context_dim > 0 {
                let mut c0 = c.clone();
                c0[0] += 1.5;
                let o = out(&x, &c0);
                for (i, s) in context_seen.iter_mut().enumerate() {
                    *s |= moved(&o, &base, i) > 1e-6;
                }
            }
        }
        for i in 0..d {
            for j in 0..d {
                if smooth && rank[i] > rank[j] {
                    assert!(
                        seen[i][j],
                        "context {context_dim}, permutation {perm:?}: output {i} never depends on input {j}"
                    );
                }
            }
        }
        if smooth && context_dim > 0 {
            assert!(
                context_seen.iter().all(|&s| s),
                "every output reads the context: {context_seen:?}"
            );
        }
    }
}

#[test]
fn made_masks_are_pyros() {
    // Pyro's create_mask(input_dim=3, context_dim, hidden_dims=[4], permutation=[2, 0, 1], 2).
    let arn = AutoRegressiveNN::new(3, &[4], &dev())
        .unwrap()
        .with_permutation(vec![2, 0, 1])
        .unwrap();
    let m = arn.masks();
    let h: Vec<f32> = vec![0., 0., 1.];
    let g: Vec<f32> = vec![1., 0., 1.];
    assert_eq!(m[0], vec![h.clone(), h, g.clone(), g]);
    let (a, b, z): (Vec<f32>, Vec<f32>, Vec<f32>) =
        (vec![1., 1., 0., 0.], vec![1.; 4], vec![0.; 4]);
    assert_eq!(m[1], vec![a.clone(), b.clone(), z.clone(), a, b, z]);

    let arn = AutoRegressiveNN::conditional(3, 2, &[4], &dev())
        .unwrap()
        .with_permutation(vec![2, 0, 1])
        .unwrap();
    let m = arn.masks();
    let (h0, h1, h2): (Vec<f32>, Vec<f32>, Vec<f32>) = (
        vec![1., 1., 0., 0., 0.],
        vec![1., 1., 0., 0., 1.],
        vec![1., 1., 1., 0., 1.],
    );
    assert_eq!(m[0], vec![h0, h1.clone(), h1, h2]);
    let (a, b, c): (Vec<f32>, Vec<f32>, Vec<f32>) =
        (vec![1., 1., 1., 0.], vec![1.; 4], vec![1., 0., 0., 0.]);
    assert_eq!(m[1], vec![a.clone(), b.clone(), c.clone(), a, b, c]);
}

#[test]
fn event_shapes_grow_and_errors_name_the_transform() {
    set_rng_seed(5);
    let d = dev();
    let iaf = affine_autoregressive(2, None, &d).unwrap();
    let q = TransformedDistribution::new(Arc::new(std_normal(&[2])), vec![Arc::new(iaf.clone())])
        .unwrap();
    assert_eq!((q.batch_shape(), q.event_shape()), (vec![], vec![2]));
    let e = q.expand_batch(&[5]).unwrap();
    assert_eq!((e.batch_shape(), e.event_shape()), (vec![5], vec![2]));
    assert_eq!(e.sample().shape(), &[5, 2]);
    assert_eq!(e.log_prob(&e.sample()).unwrap().shape(), &[5]);

    // log q(y) = Σ log N(x) - ln|det J|, x = f⁻¹(y), with an elementwise map first: its
    // log-Jacobian is summed over the event the flow made.
    let two = TransformedDistribution::new(
        Arc::new(std_normal(&[2])),
        vec![Arc::new(ExpTransform), Arc::new(iaf.clone())],
    )
    .unwrap();
    assert_eq!(two.event_shape(), vec![2]);
    // Values the map can reach: the inverse of the flow must be positive for the log.
    let y = iaf.forward(&randn(&[7, 2]).exp());
    let x1 = iaf.inverse(&y);
    let x0 = x1.log();
    let want = std_normal(&[2])
        .log_prob(&x0)
        .unwrap()
        .sum_rightmost(1)
        .sub(&x0.sum_rightmost(1))
        .sub(&iaf.log_abs_det_jacobian(&x1, &y));
    let got = two.log_prob(&y).unwrap();
    assert_eq!(got.shape(), &[7]);
    for (g, w) in got.to_vec().into_iter().zip(want.to_vec()) {
        assert!((g - w).abs() < 1e-5, "log_prob {g} vs {w}");
    }

    // Elementwise transforms keep the base's event shape.
    let ln = TransformedDistribution::with(Arc::new(std_normal(&[2])), ExpTransform).unwrap();
    assert_eq!((ln.batch_shape(), ln.event_shape()), (vec![2], vec![]));
    assert_eq!(ln.log_prob(&randn(&[2]).exp()).unwrap().shape(), &[2]);

    let err = |r: std::result::Result<TransformedDistribution, lobes_ppl::dist::DistError>| {
        r.unwrap_err().to_string()
    };
    let e = err(TransformedDistribution::new(
        Arc::new(std_normal(&[3])),
        vec![Arc::new(iaf.clone())],
    ));
    assert!(
        e.contains("AffineAutoregressive") && e.contains("[3]") && e.contains("[2]"),
        "{e}"
    );
    let e = err(TransformedDistribution::new(
        Arc::new(std_normal(&[])),
        vec![Arc::new(iaf)],
    ));
    assert!(
        e.contains("AffineAutoregressive") && e.contains("value shape []"),
        "{e}"
    );
    let e = AutoRegressiveNN::new(3, &[2], &d).unwrap_err().to_string();
    assert!(
        e.contains("AutoRegressiveNN") && e.contains("hidden_dims"),
        "{e}"
    );
    let e = AffineCoupling::new(4, 0, DenseNN::new(1, &[8], 6, &d).unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("AffineCoupling") && e.contains("split_dim"),
        "{e}"
    );
    let e = AffineCoupling::new(4, 2, DenseNN::new(2, &[8], 6, &d).unwrap())
        .unwrap_err()
        .to_string();
    assert!(e.contains("2 → 6") && e.contains("2 → 4"), "{e}");
    let e = Permute::new(vec![0, 0]).unwrap_err().to_string();
    assert!(e.contains("Permute") && e.contains("permutation"), "{e}");
    let cond = conditional_affine_autoregressive(2, 3, None, &d).unwrap();
    let e = cond.condition(&randn(&[4, 2])).unwrap_err().to_string();
    assert!(
        e.contains("context") && e.contains("[4, 2]") && e.contains("[3]"),
        "{e}"
    );
    let e = AffineAutoregressive::new(AutoRegressiveNN::conditional(2, 3, &[4], &d).unwrap())
        .unwrap_err()
        .to_string();
    assert!(e.contains("ConditionalAffineAutoregressive"), "{e}");
}

#[test]
fn a_conditioned_flow_takes_the_batch_of_its_context() {
    set_rng_seed(8);
    let d = dev();
    let template = conditional_affine_autoregressive(2, 3, None, &d).unwrap();
    let mut store = ParamStore::new();
    with_param_store(&mut store, || {
        let cond = module("cond", &template).unwrap();
        let ctx = randn(&[4, 3]);
        let q = TransformedDistribution::new(
            Arc::new(std_normal(&[2])),
            vec![Arc::new(cond.condition(&ctx).unwrap())],
        )
        .unwrap();
        assert_eq!((q.batch_shape(), q.event_shape()), (vec![4], vec![2]));
        let y = q.sample();
        assert_eq!(y.shape(), &[4, 2]);
        let lp = q.log_prob(&y).unwrap().to_vec();
        // Another context scores the same values differently.
        let other = TransformedDistribution::new(
            Arc::new(std_normal(&[2])),
            vec![Arc::new(cond.condition(&ctx.add_scalar(1.0)).unwrap())],
        )
        .unwrap();
        let lp2 = other.log_prob(&y).unwrap().to_vec();
        assert!(
            lp.iter().zip(&lp2).all(|(a, b)| (a - b).abs() > 1e-6),
            "{lp:?} {lp2:?}"
        );
    });
    assert_eq!(
        store.get("cond.nn.layers.0.weight").unwrap().shape(),
        &[5, 20],
        "context and input in, hidden [10 · 2] out"
    );
}

// The banana: x1 ~ N(0, 1), x2 | x1 ~ N(x1² / 2, 0.5²).
const SIGMA: f64 = 0.5;

fn banana_log_density(x: &DTensor) -> DTensor {
    let x1 = x.index_select(-1, &[0]).unwrap();
    let x2 = x.index_select(-1, &[1]).unwrap();
    let lp1 = x1.square().mul_scalar(-0.5).add_scalar(-HALF_LN_2PI);
    let z = x2.sub(&x1.square().mul_scalar(0.5)).mul_scalar(1.0 / SIGMA);
    let lp2 = z
        .square()
        .mul_scalar(-0.5)
        .add_scalar(-HALF_LN_2PI - SIGMA.ln());
    lp1.add(&lp2).sum_rightmost(1)
}

/// A model whose joint density is the banana: x ~ N(0, I), times the factor p(x) / N(x).
/// Its ELBO is -KL(q ‖ p).
fn banana_model(_: &()) -> Result<()> {
    let x: DTensor = sample("x", std_normal(&[2]).to_event(1))?;
    let log_n = x
        .square()
        .mul_scalar(-0.5)
        .add_scalar(-HALF_LN_2PI)
        .sum_rightmost(1);
    factor("banana", banana_log_density(&x).sub(&log_n))
}

fn flow(layers: &[AffineAutoregressive], batch: &[usize]) -> Result<TransformedDistribution> {
    let mut ts: Vec<Arc<dyn Transform>> = vec![];
    for (i, t) in layers.iter().enumerate() {
        ts.push(Arc::new(module(&format!("flow.{i}"), t)?));
    }
    let base = std_normal(&[batch, &[2]].concat());
    Ok(TransformedDistribution::new(Arc::new(base), ts)?)
}

#[test]
fn an_iaf_fitted_by_svi_reaches_the_banana() {
    set_rng_seed(21);
    let d = dev();
    let iaf = |perm: Vec<usize>| {
        let arn = AutoRegressiveNN::new(2, &[32], &d).unwrap();
        AffineAutoregressive::new(arn.with_permutation(perm).unwrap()).unwrap()
    };
    let layers = vec![iaf(vec![1, 0]), iaf(vec![0, 1])];
    let guide = |_: &()| -> Result<()> {
        sample::<DTensor>("x", flow(&layers, &[])?)?;
        Ok(())
    };
    let optim = ClippedAdam::new(0.01).with_lrd(0.999);
    let mut svi = Svi::new(banana_model, guide, optim, TraceElbo::new(4)).with_seed(2, None);
    for _ in 0..2000 {
        svi.step(&()).unwrap();
    }
    let kl_flow = with_param_store(svi.store_mut(), || {
        no_grad(|| {
            let q = flow(&layers, &[4000]).unwrap();
            let x = q.sample();
            let log_q = q.log_prob(&x).unwrap();
            log_q.sub(&banana_log_density(&x)).mean().item() as f64
        })
    });

    let diag = AutoDiagonalNormal::new(banana_model);
    let optim = ClippedAdam::new(0.01).with_lrd(0.999);
    let mut svi = Svi::new(
        banana_model,
        |x: &()| diag.call(x),
        optim,
        TraceElbo::new(4),
    )
    .with_seed(2, None);
    for _ in 0..2000 {
        svi.step(&()).unwrap();
    }
    let kl_diag = (0..200)
        .map(|_| svi.evaluate_loss(&()).unwrap())
        .sum::<f64>()
        / 200.0;
    // The best mean-field Normal has KL 0.318 (sd 0.625 and 0.5, mean (0, 0.195)).
    let report = format!("KL(q ‖ p): IAF {kl_flow:.4}, diagonal Normal {kl_diag:.4}");
    assert!(kl_flow > -0.01 && kl_flow < 0.08, "{report}");
    assert!(kl_diag > 0.25 && kl_diag < 0.45, "{report}");
    assert!(kl_flow < kl_diag - 0.2, "{report}");
    eprintln!("{report}");
}

// a, b ~ N(0, 1); x_i ~ N(a + b, 1): the posterior is Normal with correlation -10/11.
fn data() -> DTensor {
    let x: Vec<f32> = (0..10)
        .map(|i| 3.0 + 0.4 * ((i as f32) * 1.7).sin())
        .collect();
    DTensor::from_floats(x, &[10], &dev()).unwrap()
}

fn sum_model(x: &DTensor) -> Result<()> {
    let s = |v: f32| DTensor::scalar(v, &dev());
    let a: DTensor = sample("a", Normal::new(s(0.0), s(1.0))?)?;
    let b: DTensor = sample("b", Normal::new(s(0.0), s(1.0))?)?;
    plate("data", x.numel()).run(|_| observe("x", Normal::new(a.add(&b), s(1.0))?, x.clone()))?;
    Ok(())
}

/// `ln p(x)`: x ~ N(0, I + 2 · 11ᵀ).
fn log_evidence(x: &DTensor) -> f64 {
    let v: Vec<f64> = x.to_vec().into_iter().map(f64::from).collect();
    let n = v.len() as f64;
    let (s, ss) = (v.iter().sum::<f64>(), v.iter().map(|x| x * x).sum::<f64>());
    -n * HALF_LN_2PI - 0.5 * (1.0 + 2.0 * n).ln() - 0.5 * (ss - 2.0 * s * s / (1.0 + 2.0 * n))
}

fn elbo_after<G, R>(guide: G, x: &DTensor) -> f64
where
    G: Fn(&DTensor) -> Result<R>,
{
    let optim = ClippedAdam::new(0.01).with_lrd(0.9995);
    let mut svi = Svi::new(sum_model, guide, optim, TraceElbo::new(4)).with_seed(4, None);
    for _ in 0..3000 {
        svi.step(x).unwrap();
    }
    -(0..100).map(|_| svi.evaluate_loss(x).unwrap()).sum::<f64>() / 100.0
}

#[test]
fn auto_iaf_normal_fits_a_correlated_posterior_better_than_a_diagonal_normal() {
    let x = data();
    let log_ev = log_evidence(&x);
    let iaf = AutoIAFNormal::new(sum_model);
    let elbo_iaf = elbo_after(|x: &DTensor| iaf.call(x), &x);
    let diag = AutoDiagonalNormal::new(sum_model);
    let elbo_diag = elbo_after(|x: &DTensor| diag.call(x), &x);
    // The mean-field gap is -ln(1 - ρ²) / 2 = 0.876 for ρ = -10/11; the IAF can be exact.
    let report = format!(
        "ln p(x) {log_ev:.4}; ELBO: AutoIAFNormal {elbo_iaf:.4}, AutoDiagonalNormal {elbo_diag:.4}"
    );
    assert!(
        elbo_iaf < log_ev + 0.03,
        "an ELBO above the evidence: {report}"
    );
    assert!(elbo_iaf > log_ev - 0.1, "{report}");
    assert!(elbo_diag < log_ev - 0.6, "{report}");
    assert!(elbo_iaf > elbo_diag + 0.5, "{report}");
    eprintln!("{report}");
}

#[test]
fn auto_iaf_normal_uses_pyros_names_and_refuses_subsampling() {
    set_rng_seed(9);
    let x = data();
    let guide = AutoIAFNormal::new(sum_model).num_transforms(2);
    let mut store = ParamStore::new();
    let (values, tr) = with_param_store(&mut store, || trace(|| guide.call(&x))).unwrap();
    assert_eq!(values["a"].shape(), &[] as &[usize]);
    let latent = tr.get("_AutoIAFNormal_latent").unwrap();
    assert!(latent.infer.is_auxiliary);
    assert_eq!(tr.value("_AutoIAFNormal_latent").unwrap().shape(), &[2]);
    for i in 0..2 {
        let p = |s: &str| format!("AutoIAFNormal.transform.{i}.arn.layers.{s}");
        assert_eq!(store.get(&p("0.weight")).unwrap().shape(), &[2, 7]);
        assert_eq!(store.get(&p("1.weight")).unwrap().shape(), &[7, 4]);
        assert_eq!(store.get(&p("1.bias")).unwrap().shape(), &[4]);
    }
    assert_eq!(guide.latents().unwrap().len(), 2);

    let sub_model = |x: &DTensor| -> Result<()> {
        plate("data", x.numel()).subsample_size(3).run(|_| {
            sample::<DTensor>("z", Normal::new(0.0, 1.0)?)?;
            Ok(())
        })
    };
    let guide = AutoIAFNormal::new(sub_model);
    let e = with_param_store(&mut ParamStore::new(), || guide.call(&x))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("AutoIAFNormal") && e.contains("subsample"),
        "{e}"
    );
}

/// The doc examples of the flows and of `AutoIAFNormal`, run here too.
#[test]
fn doc_examples_run() -> Result<()> {
    let d = Device::flex();
    let arn = AutoRegressiveNN::new(3, &[10], &d)?.with_permutation(vec![2, 0, 1])?;
    let (loc, log_scale) = arn.forward(Tensor::<2>::zeros([5, 3], &d), None)?;
    assert_eq!((loc.dims(), log_scale.dims()), ([5, 3], [5, 3]));

    let template = affine_autoregressive(2, None, &d)?;
    let mut store = ParamStore::new();
    let lp = with_param_store(&mut store, || -> Result<DTensor> {
        let iaf = module("iaf", &template)?;
        let base = Normal::new(DTensor::zeros(&[2], &d), DTensor::ones(&[2], &d))?;
        let flow = TransformedDistribution::new(Arc::new(base), vec![Arc::new(iaf)])?;
        assert_eq!((flow.batch_shape(), flow.event_shape()), (vec![], vec![2]));
        Ok(flow.log_prob(&flow.sample())?)
    })?;
    assert_eq!(lp.shape(), &[] as &[usize]);
    assert!(store.contains("iaf.arn.layers.0.weight"));

    let cond = conditional_affine_autoregressive(2, 3, None, &d)?;
    let context = DTensor::zeros(&[4, 3], &d);
    let base = Normal::new(DTensor::zeros(&[2], &d), DTensor::ones(&[2], &d))?;
    let q =
        TransformedDistribution::new(Arc::new(base), vec![Arc::new(cond.condition(&context)?)])?;
    assert_eq!((q.batch_shape(), q.event_shape()), (vec![4], vec![2]));
    assert_eq!(q.log_prob(&q.sample())?.shape(), &[4]);

    let (c1, c2) = (
        affine_coupling(4, None, None, &d)?,
        affine_coupling(4, None, None, &d)?,
    );
    let ts: Vec<Arc<dyn Transform>> = vec![
        Arc::new(c1),
        Arc::new(Permute::new(vec![3, 2, 1, 0])?),
        Arc::new(c2),
    ];
    let base = Normal::new(DTensor::zeros(&[10, 4], &d), DTensor::ones(&[10, 4], &d))?;
    let q = TransformedDistribution::new(Arc::new(base), ts)?;
    assert_eq!((q.batch_shape(), q.event_shape()), (vec![10], vec![4]));

    fn model(_: &()) -> Result<()> {
        let a: DTensor = sample("a", Normal::new(0.0, 1.0)?)?;
        sample::<DTensor>("b", Normal::new(a, 1.0)?)?;
        Ok(())
    }
    let guide = AutoIAFNormal::new(model).num_transforms(2);
    let mut svi = Svi::new(
        model,
        |x: &()| guide.call(x),
        Adam::new(0.01),
        TraceElbo::new(1),
    );
    for _ in 0..3 {
        svi.step(&())?;
    }
    assert!(
        svi.store()
            .contains("AutoIAFNormal.transform.1.arn.layers.0.weight")
    );
    Ok(())
}
