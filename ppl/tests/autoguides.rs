//! Autoguides (`AutoNormal`, `AutoDiagonalNormal`, `AutoMultivariateNormal`, `AutoDelta`,
//! `AutoLowRankMultivariateNormal`, `AutoLaplaceApproximation`, `AutoGuideList`)
//! against known posteriors,
//! Pyro's parameter names, constrained supports, plates, initialisation and `Predictive`.

use lobes_ppl::handlers::{LocScaleReparam, reparam};
use lobes_ppl::infer::autoguide::{
    AutoDelta, AutoDiagonalNormal, AutoGuideList, AutoLaplaceApproximation,
    AutoLowRankMultivariateNormal, AutoMultivariateNormal, AutoNormal, InitLoc,
};
use lobes_ppl::infer::{Elbo, Predictive, Svi, TraceElbo, get_traces};
use lobes_ppl::optim::ClippedAdam;
use lobes_ppl::prelude::*;
use lobes_ppl::{ParamStore, with_param_store};
use std::collections::{BTreeMap, HashMap};

use crate::support::*;

/// Runs `steps` SVI steps (four particles, decaying rate) and averages `read(store)` over the
/// last `avg` of them.
fn fit<A: ?Sized, RM, RG>(
    model: impl Fn(&A) -> Result<RM>,
    guide: impl Fn(&A) -> Result<RG>,
    args: &A,
    steps: usize,
    avg: usize,
    read: impl Fn(&ParamStore) -> Vec<f64>,
) -> (Vec<f64>, ParamStore) {
    let optim = ClippedAdam::new(0.03).with_lrd(0.9992);
    let mut svi = Svi::new(model, guide, optim, TraceElbo::new(4)).with_seed(1, None);
    let mut acc: Vec<f64> = vec![];
    for t in 0..steps {
        svi.step(args).unwrap();
        if t >= steps - avg {
            let r = read(svi.store());
            acc.resize(r.len(), 0.0);
            acc.iter_mut()
                .zip(r)
                .for_each(|(a, v)| *a += v / avg as f64);
        }
    }
    (acc, std::mem::take(svi.store_mut()))
}

fn get(store: &ParamStore, name: &str) -> Vec<f64> {
    store
        .get(name)
        .unwrap_or_else(|| panic!("no param {name}"))
        .to_vec()
        .into_iter()
        .map(f64::from)
        .collect()
}

#[test]
fn auto_normal_recovers_the_normal_normal_posterior() {
    let x = data();
    let (m, sd) = exact_posterior(&x);
    let guide = AutoNormal::new(nn_model);
    let (r, _) = fit(
        nn_model,
        |x| guide.call(x),
        &x,
        2500,
        1200,
        |st| {
            [
                get(st, "AutoNormal.locs.mu"),
                get(st, "AutoNormal.scales.mu"),
            ]
            .concat()
        },
    );
    assert!((r[0] - m).abs() < 0.03 * m, "loc {} vs {m}", r[0]);
    assert!((r[1] - sd).abs() < 0.05 * sd, "scale {} vs {sd}", r[1]);
}

#[test]
fn auto_diagonal_normal_recovers_the_normal_normal_posterior() {
    let x = data();
    let (m, sd) = exact_posterior(&x);
    let guide = AutoDiagonalNormal::new(nn_model);
    let (r, _) = fit(
        nn_model,
        |x| guide.call(x),
        &x,
        2500,
        1200,
        |st| {
            [
                get(st, "AutoDiagonalNormal.loc"),
                get(st, "AutoDiagonalNormal.scale"),
            ]
            .concat()
        },
    );
    assert_eq!(r.len(), 2, "one latent coordinate: loc and scale");
    assert!((r[0] - m).abs() < 0.03 * m, "loc {} vs {m}", r[0]);
    assert!((r[1] - sd).abs() < 0.05 * sd, "scale {} vs {sd}", r[1]);
}

// a, b ~ N(0, 1); x_i ~ N(a + b, 1), i = 1..10. The posterior is Normal with precision
// I + 10 [[1, 1], [1, 1]]: covariance [[11, -10], [-10, 11]] / 21 (correlation -0.91), mean
// Σx / 21 in both coordinates.
fn sum_model(x: &DTensor) -> Result<()> {
    let a: DTensor = sample("a", Normal::new(s(0.0), s(1.0))?)?;
    let b: DTensor = sample("b", Normal::new(s(0.0), s(1.0))?)?;
    plate("data", x.numel()).run(|_| observe("x", Normal::new(a.add(&b), s(1.0))?, x.clone()))?;
    Ok(())
}

#[test]
fn auto_multivariate_normal_learns_the_posterior_correlation() {
    let x = data();
    let sum: f64 = x.to_vec().iter().map(|&v| v as f64).sum();
    let guide = AutoMultivariateNormal::new(sum_model);
    // Pyro's parameters: loc [2], scale [2] at init_scale, scale_tril [2, 2] at the identity.
    let mut store = ParamStore::new();
    with_param_store(&mut store, || guide.call(&x)).unwrap();
    assert_eq!(
        store.get("AutoMultivariateNormal.loc").unwrap().shape(),
        &[2]
    );
    for v in store.get("AutoMultivariateNormal.scale").unwrap().to_vec() {
        assert!((v - 0.1).abs() < 1e-6, "scale {v}");
    }
    assert_eq!(
        store
            .get("AutoMultivariateNormal.scale_tril")
            .unwrap()
            .to_vec(),
        vec![1.0, 0.0, 0.0, 1.0]
    );
    let (r, store) = fit(
        sum_model,
        |x| guide.call(x),
        &x,
        3000,
        1500,
        |st| {
            let (sc, l) = (
                get(st, "AutoMultivariateNormal.scale"),
                get(st, "AutoMultivariateNormal.scale_tril"),
            );
            // L = scale[:, None] * scale_tril; covariance L Lᵀ.
            let (l00, l10, l11) = (sc[0] * l[0], sc[1] * l[2], sc[1] * l[3]);
            let loc = get(st, "AutoMultivariateNormal.loc");
            vec![loc[0], loc[1], l00 * l00, l10 * l10 + l11 * l11, l00 * l10]
        },
    );
    let (var, cov) = (11.0 / 21.0, -10.0 / 21.0);
    // Only a + b is pinned by the data: the means are Σx / 21 each, and their sum Σx / 10.5.
    assert!(
        (r[0] + r[1] - 2.0 * sum / 21.0).abs() < 0.05,
        "loc sum {} vs {}",
        r[0] + r[1],
        2.0 * sum / 21.0
    );
    for (got, want, what) in [
        (r[2], var, "var a"),
        (r[3], var, "var b"),
        (r[4], cov, "cov"),
    ] {
        assert!(
            (got - want).abs() < 0.1 * want.abs(),
            "{what} {got} vs {want}"
        );
    }
    let corr = r[4] / (r[2] * r[3]).sqrt();
    assert!((corr + 10.0 / 11.0).abs() < 0.03, "correlation {corr}");
    // The upper triangle stays zero and the diagonal one, whatever the steps did.
    let l = store
        .get("AutoMultivariateNormal.scale_tril")
        .unwrap()
        .to_vec();
    assert_eq!((l[0], l[1], l[3]), (1.0, 0.0, 1.0));

    // AutoDiagonalNormal cannot: its marginal standard deviations shrink to the conditional
    // ones, sqrt(1 / 11) = 0.30 instead of 0.72.
    let diag = AutoDiagonalNormal::new(sum_model);
    let (r, _) = fit(
        sum_model,
        |x| diag.call(x),
        &x,
        3000,
        1500,
        |st| get(st, "AutoDiagonalNormal.scale"),
    );
    for sd in r {
        assert!(
            (sd - (1.0f64 / 11.0).sqrt()).abs() < 0.05,
            "mean-field sd {sd}"
        );
    }
}

#[test]
fn auto_delta_finds_the_map() {
    let x = data();
    let (m, _) = exact_posterior(&x);
    let guide = AutoDelta::new(nn_model);
    let (r, _) = fit(
        nn_model,
        |x| guide.call(x),
        &x,
        1500,
        500,
        |st| get(st, "AutoDelta.mu"),
    );
    assert!((r[0] - m).abs() < 0.02 * m, "MAP {} vs {m}", r[0]);
}

// s ~ LogNormal(0, 1); x_i ~ LogNormal(ln s, 1). Then ln s | x ~ N(Σ ln x / 11, 1/sqrt(11)),
// exactly AutoNormal's family in unconstrained (log) space, if the Jacobian is right.
fn positive_data() -> DTensor {
    let x: Vec<f32> = (0..10)
        .map(|i| (1.0 + 0.5 * ((i as f32) * 1.3).cos()).exp())
        .collect();
    DTensor::from_floats(x, &[10], &dev()).unwrap()
}

fn lognormal_model(x: &DTensor) -> Result<()> {
    let sc: DTensor = sample("s", LogNormal::new(s(0.0), s(1.0))?)?;
    plate("data", x.numel()).run(|_| observe("x", LogNormal::new(sc.log(), s(1.0))?, x.clone()))?;
    Ok(())
}

#[test]
fn auto_normal_guides_a_positive_latent_in_log_space() {
    let x = positive_data();
    let (m, sd) = exact_posterior(&x.log());
    for diagonal in [false, true] {
        let (r, mut store) = if diagonal {
            let guide = AutoDiagonalNormal::new(lognormal_model);
            fit(
                lognormal_model,
                |x| guide.call(x),
                &x,
                2500,
                1200,
                |st| {
                    [
                        get(st, "AutoDiagonalNormal.loc"),
                        get(st, "AutoDiagonalNormal.scale"),
                    ]
                    .concat()
                },
            )
        } else {
            let guide = AutoNormal::new(lognormal_model);
            fit(
                lognormal_model,
                |x| guide.call(x),
                &x,
                2500,
                1200,
                |st| [get(st, "AutoNormal.locs.s"), get(st, "AutoNormal.scales.s")].concat(),
            )
        };
        assert!(
            (r[0] - m).abs() < 0.03 * m,
            "{diagonal}: loc {} vs {m}",
            r[0]
        );
        assert!(
            (r[1] - sd).abs() < 0.05 * sd,
            "{diagonal}: scale {} vs {sd}",
            r[1]
        );
        // Every draw of the guide lies in the support.
        let guide = AutoNormal::new(lognormal_model);
        with_param_store(&mut store, || {
            for _ in 0..20 {
                let v = guide.call(&x).unwrap();
                assert!(v["s"].all_gt(0.0));
            }
        });
    }
}

// theta_j ~ N(0, 1) in plate("groups", 3), y_j ~ N(theta_j, 1): theta_j | y ~ N(y_j/2, 1/√2).
fn groups() -> DTensor {
    DTensor::from_floats(vec![-2.0, 1.0, 4.0], &[3], &dev()).unwrap()
}

fn plate_model(y: &DTensor) -> Result<()> {
    plate("groups", 3).run(|_| {
        let theta: DTensor = sample("theta", Normal::new(s(0.0), s(1.0))?)?;
        observe("y", Normal::new(theta, s(1.0))?, y.clone())
    })?;
    Ok(())
}

#[test]
fn plate_batched_latents_are_guided_per_element() {
    let y = groups();
    let sd = 0.5f64.sqrt();
    let guide = AutoNormal::new(plate_model);
    let (r, _) = fit(
        plate_model,
        |y| guide.call(y),
        &y,
        2500,
        1200,
        |st| {
            [
                get(st, "AutoNormal.locs.theta"),
                get(st, "AutoNormal.scales.theta"),
            ]
            .concat()
        },
    );
    assert_eq!(r.len(), 6);
    for (j, yj) in y.to_vec().into_iter().enumerate() {
        let m = yj as f64 / 2.0;
        assert!((r[j] - m).abs() < 0.05, "theta[{j}] loc {} vs {m}", r[j]);
        assert!(
            (r[3 + j] - sd).abs() < 0.05 * sd,
            "theta[{j}] scale {}",
            r[3 + j]
        );
    }
}

#[test]
fn guide_traces_use_pyros_names_shapes_and_plates() {
    let y = groups();
    let mut store = ParamStore::new();
    with_param_store(&mut store, || {
        let guide = AutoNormal::new(plate_model);
        let (m, g) = get_traces(&plate_model, &|y: &DTensor| guide.call(y), &y).unwrap();
        let theta = g.get("theta").unwrap();
        assert_eq!(theta.value_shape(), vec![3]);
        assert_eq!(theta.plates[0].name, "groups");
        let aux = g.get("theta_unconstrained").unwrap();
        assert!(aux.infer.is_auxiliary);
        assert!(m.get("theta").is_some());
        let diag = AutoDiagonalNormal::new(plate_model);
        let (_, g) = get_traces(&plate_model, &|y: &DTensor| diag.call(y), &y).unwrap();
        assert_eq!(g.value("_AutoDiagonalNormal_latent").unwrap().shape(), &[3]);
        assert_eq!(g.value("theta").unwrap().shape(), &[3]);
    });
    assert_eq!(store.get("AutoNormal.locs.theta").unwrap().shape(), &[3]);
    let scales = store.get("AutoNormal.scales.theta").unwrap().to_vec();
    assert!(scales.iter().all(|&v| (v - 0.1).abs() < 1e-6), "{scales:?}");
    assert_eq!(store.get("AutoDiagonalNormal.loc").unwrap().shape(), &[3]);
}

#[test]
fn init_loc_fn_and_init_scale_set_the_initial_parameters() {
    let x = positive_data();
    let mut store = ParamStore::new();
    with_param_store(&mut store, || {
        let values = HashMap::from([("s".to_string(), s(2.0))]);
        let g = AutoNormal::new(lognormal_model)
            .init_loc_fn(InitLoc::value(values))
            .init_scale(0.5);
        g.call(&x).unwrap();
        let feasible = AutoDelta::new(lognormal_model).init_loc_fn(InitLoc::Feasible);
        feasible.call(&x).unwrap();
        let sampled = AutoDiagonalNormal::new(lognormal_model).init_loc_fn(InitLoc::Sample);
        sampled.call(&x).unwrap();
        let median = g.median().unwrap();
        assert!((median["s"].item() - 2.0).abs() < 1e-5);
    });
    assert!((store.get("AutoNormal.locs.s").unwrap().item() - 2f32.ln()).abs() < 1e-6);
    assert!((store.get("AutoNormal.scales.s").unwrap().item() - 0.5).abs() < 1e-6);
    // init_to_feasible: zero in unconstrained space, exp(0) = 1 in the support.
    assert!((store.get("AutoDelta.s").unwrap().item() - 1.0).abs() < 1e-6);
    assert!(store.get("AutoDiagonalNormal.loc").unwrap().all_finite());
}

#[test]
fn init_to_median_starts_near_the_prior_median() {
    let mut store = ParamStore::new();
    let x = data();
    with_param_store(&mut store, || {
        let g = AutoNormal::new(nn_model).init_loc_fn(InitLoc::median());
        g.call(&x).unwrap();
    });
    // The median of 15 draws of N(0, 1): well inside (-1, 1), and not exactly 0.
    let loc = store.get("AutoNormal.locs.mu").unwrap().item();
    assert!(loc.abs() < 1.0 && loc != 0.0, "{loc}");
}

#[test]
fn each_autoguide_starts_where_pyros_does() {
    // Pyro: AutoNormal init_to_feasible (zero in unconstrained space), the packed guides and
    // AutoDelta init_to_median.
    let x = data();
    let mut store = ParamStore::new();
    with_param_store(&mut store, || AutoNormal::new(lognormal_model).call(&x)).unwrap();
    assert_eq!(store.get("AutoNormal.locs.s").unwrap().item(), 0.0);
    let mut store = ParamStore::new();
    with_param_store(&mut store, || AutoDiagonalNormal::new(nn_model).call(&x)).unwrap();
    let loc = store.get("AutoDiagonalNormal.loc").unwrap().item();
    assert!(loc.abs() < 1.0 && loc != 0.0, "{loc}");
}

#[test]
fn predictive_draws_from_the_fitted_guide() {
    let x = data();
    let (m, sd) = exact_posterior(&x);
    let guide = AutoNormal::new(nn_model);
    let (_, mut store) = fit(nn_model, |x| guide.call(x), &x, 2000, 1, |_| vec![]);
    let samples = with_param_store(&mut store, || {
        Predictive::new(1000)
            .posterior(&nn_model, &|x: &DTensor| guide.call(x), &x)
            .unwrap()
    });
    let mu = samples.get("mu").unwrap().to_vec();
    let mean = mu.iter().map(|&v| v as f64).sum::<f64>() / mu.len() as f64;
    let var = mu.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / mu.len() as f64;
    assert!((mean - m).abs() < 4.0 * sd / (mu.len() as f64).sqrt() + 0.03 * m);
    assert!(
        (var.sqrt() - sd).abs() < 0.1 * sd,
        "sd {} vs {sd}",
        var.sqrt()
    );
    assert_eq!(samples.get("x").unwrap().shape(), &[1000, 10]);
    assert!(samples.get("mu_unconstrained").is_none());
}

fn discrete_model(_: &()) -> Result<()> {
    sample::<DTensor>("k", Bernoulli::from_probs(s(0.3))?)?;
    Ok(())
}

#[test]
fn a_discrete_latent_is_a_typed_error() {
    let guide = AutoNormal::new(discrete_model);
    let mut store = ParamStore::new();
    let err = with_param_store(&mut store, || guide.call(&()).unwrap_err());
    match err {
        PplError::Autoguide { guide, site, .. } => {
            assert_eq!((guide, site.as_str()), ("AutoNormal", "k"));
        }
        e => panic!("unexpected error {e}"),
    }
}

#[test]
fn the_elbo_of_a_constrained_site_counts_the_jacobian() {
    // With the guide at loc = ln 2, scale -> tiny, the ELBO is log p(s = 2) + log |ds/du|
    // + entropy term; check the guide's log q of `s` = log N(u; loc, scale) - u.
    let mut store = ParamStore::new();
    with_param_store(&mut store, || {
        let x = positive_data();
        let g = AutoNormal::new(lognormal_model)
            .init_loc_fn(InitLoc::value(HashMap::from([("s".to_string(), s(2.0))])));
        let (_, mut tr) = trace(|| g.call(&x)).unwrap();
        let u = tr.value("s_unconstrained").unwrap().item() as f64;
        let lp_s = {
            tr.compute_log_prob().unwrap();
            tr.get("s").unwrap().log_prob_sum.as_ref().unwrap().item() as f64
        };
        assert!(
            (lp_s + u).abs() < 1e-5,
            "log density of s: {lp_s} vs -u = {}",
            -u
        );
        let _: BTreeMap<String, DTensor> = g.median().unwrap();
        let loss = TraceElbo::new(1)
            .loss(&lognormal_model, &|x: &DTensor| g.call(x), &x)
            .unwrap();
        assert!(loss.is_finite());
    });
}

// ---------------------------------------------------------------- eight schools
// The centred model, run non-centred through reparam(LocScaleReparam(0)) and fitted with
// AutoNormal, as examples/eight_schools.rs (which runs it longer).

struct Schools {
    y: DTensor,
    sigma: DTensor,
}

fn schools_centred(data: &Schools) -> Result<DTensor> {
    let mu: DTensor = sample("mu", Normal::new(s(0.0), s(5.0))?)?;
    let tau: DTensor = sample("tau", HalfCauchy::new(s(5.0))?)?;
    plate("schools", 8).run(|_| {
        let theta: DTensor = sample("theta", Normal::new(mu.clone(), tau.clone())?)?;
        observe(
            "obs",
            Normal::new(theta.clone(), data.sigma.clone())?,
            data.y.clone(),
        )?;
        Ok(theta)
    })
}

fn schools(data: &Schools) -> Result<DTensor> {
    let config = HashMap::from([("theta".to_string(), LocScaleReparam::new(0.0))]);
    reparam(config, || schools_centred(data))
}

#[test]
fn eight_schools_non_centred_auto_normal_finds_mu_near_4_4() {
    let data = Schools {
        y: DTensor::from_floats(vec![28., 8., -3., 7., -1., 1., 18., 12.], &[8], &dev()).unwrap(),
        sigma: DTensor::from_floats(vec![15., 10., 16., 11., 9., 11., 10., 18.], &[8], &dev())
            .unwrap(),
    };
    let guide = AutoNormal::new(schools);
    let optim = ClippedAdam::new(0.02).with_lrd(0.999);
    let mut svi = Svi::new(schools, |x| guide.call(x), optim, TraceElbo::new(2)).with_seed(0, None);
    for _ in 0..2000 {
        svi.step(&data).unwrap();
    }
    let names: Vec<String> = guide
        .latents()
        .unwrap()
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert_eq!(names, ["mu", "tau", "theta_decentered"]);
    let post = with_param_store(svi.store_mut(), || {
        Predictive::new(1000)
            .return_sites(["mu", "tau", "theta"])
            .posterior(&schools, &|x: &Schools| guide.call(x), &data)
            .unwrap()
    });
    let mean = |v: &DTensor| v.to_vec().iter().map(|&a| a as f64).sum::<f64>() / v.numel() as f64;
    let mu = mean(post.get("mu").unwrap());
    let tau = post.get("tau").unwrap();
    assert!(
        (mu - 4.4).abs() < 1.5,
        "posterior mean of mu {mu}, NUTS 4.4"
    );
    assert!(
        tau.all_gt(0.0) && mean(tau) > 0.3 && mean(tau) < 10.0,
        "tau {}",
        mean(tau)
    );
    assert_eq!(post.get("theta").unwrap().shape(), &[1000, 8]);
}

#[test]
fn auto_diagonal_normal_guides_plate_batched_latents() {
    let y = groups();
    let sd = 0.5f64.sqrt();
    let guide = AutoDiagonalNormal::new(plate_model);
    let (r, _) = fit(
        plate_model,
        |y| guide.call(y),
        &y,
        2500,
        1200,
        |st| {
            [
                get(st, "AutoDiagonalNormal.loc"),
                get(st, "AutoDiagonalNormal.scale"),
            ]
            .concat()
        },
    );
    for (j, yj) in y.to_vec().into_iter().enumerate() {
        let m = yj as f64 / 2.0;
        assert!((r[j] - m).abs() < 0.05, "theta[{j}] loc {} vs {m}", r[j]);
        assert!(
            (r[3 + j] - sd).abs() < 0.05 * sd,
            "theta[{j}] scale {}",
            r[3 + j]
        );
    }
}

// z ~ Normal(0, 1).expand([2]).to_event(1); x ~ Normal(z, 1).to_event(1) observed:
// z | x ~ N(x / 2, 1/√2) per component, one site with an event dim.
fn event_model(x: &DTensor) -> Result<()> {
    let prior = Normal::new(DTensor::zeros(&[2], &dev()), DTensor::ones(&[2], &dev()))?;
    let z: DTensor = sample("z", prior.to_event(1))?;
    observe("x", Normal::new(z, s(1.0))?.to_event(1), x.clone())?;
    Ok(())
}

#[test]
fn a_latent_with_an_event_dim_is_guided_as_one_event() {
    let x = DTensor::from_floats(vec![1.0, -3.0], &[2], &dev()).unwrap();
    let guide = AutoNormal::new(event_model);
    let (r, mut store) = fit(
        event_model,
        |x| guide.call(x),
        &x,
        2500,
        1200,
        |st| [get(st, "AutoNormal.locs.z"), get(st, "AutoNormal.scales.z")].concat(),
    );
    let sd = 0.5f64.sqrt();
    for (j, xj) in [1.0, -3.0].into_iter().enumerate() {
        assert!((r[j] - xj / 2.0).abs() < 0.05, "z[{j}] loc {}", r[j]);
        assert!(
            (r[2 + j] - sd).abs() < 0.05 * sd,
            "z[{j}] scale {}",
            r[2 + j]
        );
    }
    with_param_store(&mut store, || {
        let (_, g) = trace(|| guide.call(&x)).unwrap();
        let z = g.get("z").unwrap().dist.as_ref().unwrap();
        assert_eq!((z.batch_shape(), z.event_shape()), (vec![], vec![2]));
    });
}

// ---------------------------------------------------------------- subsampled plates
// In plate("data", 10, subsample_size=4): z_i ~ N(0, 1), x_i ~ N(z_i, 1) at x_i; posterior
// z_i | x_i ~ N(x_i / 2, 1 / sqrt(2)). Pyro's AutoNormal keeps full-size parameters and
// selects the subsample the guide draws (the model gets it by replay).

fn local_x() -> DTensor {
    let x: Vec<f32> = (0..10).map(|i| i as f32 - 4.5).collect();
    DTensor::from_floats(x, &[10], &dev()).unwrap()
}

fn local_model(x: &DTensor) -> Result<()> {
    plate("data", x.numel()).subsample_size(4).run(|p| {
        let z: DTensor = sample("z", Normal::new(s(0.0), s(1.0))?)?;
        let xs = x.index_select(-1, p.indices())?;
        observe("x", Normal::new(z, s(1.0))?, xs)?;
        Ok(())
    })
}

#[test]
fn auto_normal_follows_a_subsampled_plate_with_full_size_parameters() {
    let x = local_x();
    let guide = AutoNormal::new(local_model);
    let mut store = ParamStore::new();
    with_param_store(&mut store, || {
        let (model_tr, guide_tr) =
            get_traces(&local_model, &|x: &DTensor| guide.call(x), &x).unwrap();
        // One subsample, drawn by the guide and replayed in the model.
        let (gi, mi) = (
            &guide_tr.get("data").unwrap().indices,
            &model_tr.get("data").unwrap().indices,
        );
        assert_eq!(gi, mi);
        assert_eq!(guide_tr.value("z").unwrap().shape(), &[4]);
    });
    assert_eq!(store.get("AutoNormal.locs.z").unwrap().shape(), &[10]);
    // Training visits every element; each location approaches x_i / 2.
    let optim = ClippedAdam::new(0.05).with_lrd(0.999);
    let mut svi = Svi::new(
        local_model,
        |x: &DTensor| guide.call(x),
        optim,
        TraceElbo::default(),
    )
    .with_seed(2, None);
    for _ in 0..3000 {
        svi.step(&x).unwrap();
    }
    let locs = svi.store().get("AutoNormal.locs.z").unwrap().to_vec();
    for (i, (l, xi)) in locs.iter().zip(x.to_vec()).enumerate() {
        assert!(
            (l - xi / 2.0).abs() < 0.15,
            "z[{i}]: loc {l} vs posterior mean {}",
            xi / 2.0
        );
    }
    // AutoDelta subsamples the same way; AutoDiagonalNormal refuses, naming the plate.
    let delta = AutoDelta::new(local_model);
    let mut store = ParamStore::new();
    with_param_store(&mut store, || {
        let v = delta.call(&x).unwrap();
        assert_eq!(v["z"].shape(), &[4]);
    });
    assert_eq!(store.get("AutoDelta.z").unwrap().shape(), &[10]);
    let diag = AutoDiagonalNormal::new(local_model);
    let err = with_param_store(&mut ParamStore::new(), || diag.call(&x))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("'data'") && err.contains("subsampled"),
        "{err}"
    );
    let full = AutoMultivariateNormal::new(local_model);
    let err = with_param_store(&mut ParamStore::new(), || full.call(&x))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("'data'") && err.contains("AutoMultivariateNormal packs"),
        "{err}"
    );
}

#[test]
fn every_latent_of_a_subsampled_plate_shares_one_subsample() {
    let model = |x: &DTensor| -> Result<()> {
        plate("data", x.numel()).subsample_size(4).run(|p| {
            let a: DTensor = sample("a", Normal::new(s(0.0), s(1.0))?)?;
            let b: DTensor = sample("b", Normal::new(a, s(1.0))?)?;
            observe(
                "x",
                Normal::new(b, s(1.0))?,
                x.index_select(-1, p.indices())?,
            )?;
            Ok(())
        })
    };
    let x = local_x();
    for delta in [false, true] {
        let normal = AutoNormal::new(model);
        let point = AutoDelta::new(model);
        let guide = |x: &DTensor| {
            if delta { point.call(x) } else { normal.call(x) }
        };
        let mut store = ParamStore::new();
        with_param_store(&mut store, || {
            let (m, g) = get_traces(&model, &guide, &x).unwrap();
            assert_eq!(g.sites().iter().filter(|s| s.name == "data").count(), 1);
            assert_eq!(
                g.get("data").unwrap().indices,
                m.get("data").unwrap().indices
            );
        });
    }
}

#[test]
fn auto_low_rank_multivariate_normal_holds_a_rank_one_posterior_exactly() {
    // sum_model's posterior N(Σx/21 [1, 1], [[11, -10], [-10, 11]] / 21) is rank one plus a
    // diagonal: (10/21) [1, -1][1, -1]ᵀ + I / 21, i.e. scale = 1/√21 and cov_factor =
    // √10 [1, -1]. With the guide there, q is the posterior: every single-draw ELBO equals
    // log p(x) = -½ (Σx² - 2 (Σx)² / 21) - ½ ln 21 - 5 ln 2π.
    let x = data();
    let xs: Vec<f64> = x.to_vec().iter().map(|&v| v as f64).collect();
    let (sum, sq): (f64, f64) = (xs.iter().sum(), xs.iter().map(|v| v * v).sum());
    let log_px = -0.5 * (sq - 2.0 * sum * sum / 21.0)
        - 0.5 * 21f64.ln()
        - 5.0 * (2.0 * std::f64::consts::PI).ln();
    let guide = AutoLowRankMultivariateNormal::new(sum_model).rank(1);
    let mut store = ParamStore::new();
    with_param_store(&mut store, || guide.call(&x)).unwrap();
    assert_eq!(
        store
            .get("AutoLowRankMultivariateNormal.cov_factor")
            .unwrap()
            .shape(),
        &[2, 1]
    );
    let m = (sum / 21.0) as f32;
    store
        .insert(
            "AutoLowRankMultivariateNormal.loc",
            &DTensor::from_floats(vec![m, m], &[2], &dev()).unwrap(),
            Constraint::Real,
        )
        .unwrap();
    let s21 = (1.0f64 / 21.0).sqrt() as f32;
    store
        .insert(
            "AutoLowRankMultivariateNormal.scale",
            &DTensor::from_floats(vec![s21, s21], &[2], &dev()).unwrap(),
            Constraint::SoftplusPositive,
        )
        .unwrap();
    let w = 10f32.sqrt();
    store
        .insert(
            "AutoLowRankMultivariateNormal.cov_factor",
            &DTensor::from_floats(vec![w, -w], &[2, 1], &dev()).unwrap(),
            Constraint::Real,
        )
        .unwrap();
    with_param_store(&mut store, || {
        for _ in 0..5 {
            let elbo = -TraceElbo::new(1)
                .estimate(&sum_model, &|x: &DTensor| guide.call(x), &x)
                .unwrap()
                .loss();
            assert!(
                (elbo - log_px).abs() < 1e-3,
                "ELBO {elbo} vs log p(x) {log_px}"
            );
        }
    });
    // From Pyro's start, SVI moves towards it: the correlation's sign and size.
    let fresh = AutoLowRankMultivariateNormal::new(sum_model).rank(1);
    let (r, _) = fit(
        sum_model,
        |x| fresh.call(x),
        &x,
        800,
        300,
        |st| {
            let (sc, w) = (
                get(st, "AutoLowRankMultivariateNormal.scale"),
                get(st, "AutoLowRankMultivariateNormal.cov_factor"),
            );
            let (f0, f1) = (w[0] * sc[0], w[1] * sc[1]);
            vec![f0 * f1 / ((f0 * f0 + sc[0] * sc[0]) * (f1 * f1 + sc[1] * sc[1])).sqrt()]
        },
    );
    assert!(r[0] < -0.7, "correlation {} (exact -10/11)", r[0]);
}

#[test]
fn auto_laplace_approximation_is_exact_for_a_gaussian_posterior() {
    let x = data();
    let sum: f64 = x.to_vec().iter().map(|&v| v as f64).sum();
    let guide = AutoLaplaceApproximation::new(sum_model);
    let mut svi = Svi::new(
        sum_model,
        |x: &DTensor| guide.call(x),
        Adam::new(0.05),
        TraceElbo::new(1),
    )
    .with_seed(0, None);
    for _ in 0..1500 {
        svi.step(&x).unwrap();
    }
    let loc = get(svi.store(), "AutoLaplaceApproximation.loc");
    for l in &loc {
        assert!(
            (l - sum / 21.0).abs() < 0.01,
            "MAP {loc:?} vs {}",
            sum / 21.0
        );
    }
    let mvn = with_param_store(svi.store_mut(), || guide.laplace_approximation(&x)).unwrap();
    let st = svi.store();
    let (sc, l) = (
        get(st, "AutoMultivariateNormal.scale"),
        get(st, "AutoMultivariateNormal.scale_tril"),
    );
    let (l00, l10, l11) = (sc[0] * l[0], sc[1] * l[2], sc[1] * l[3]);
    let got = [l00 * l00, l10 * l10 + l11 * l11, l00 * l10];
    let want = [11.0 / 21.0, 11.0 / 21.0, -10.0 / 21.0];
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() < 0.01 * w.abs(),
            "Laplace covariance {got:?} vs {want:?}"
        );
    }
    // The returned guide draws from that Gaussian.
    let draws = with_param_store(svi.store_mut(), || {
        Predictive::new(4000).return_sites(["a", "b"]).posterior(
            &sum_model,
            &|x: &DTensor| mvn.call(x),
            &x,
        )
    })
    .unwrap();
    let a = draws.get("a").unwrap().to_vec();
    let mean = a.iter().map(|&v| v as f64).sum::<f64>() / 4000.0;
    assert!((mean - sum / 21.0).abs() < 0.05, "draws' mean {mean}");
    // Before any training there is no point to approximate around.
    let untrained = AutoLaplaceApproximation::new(sum_model);
    let e = with_param_store(&mut ParamStore::new(), || {
        untrained.laplace_approximation(&x).map(|_| ())
    })
    .unwrap_err();
    assert!(
        e.to_string().contains("AutoLaplaceApproximation") && e.to_string().contains("not trained"),
        "{e}"
    );
}

// a ~ N(0, 1), b ~ N(a, 1), x ~ N(b, 1) at x = 2: E[a | x] = 2/3, E[b | x] = 4/3.
fn chain_ab(x: &DTensor) -> Result<()> {
    let a: DTensor = sample("a", Normal::new(s(0.0), s(1.0))?)?;
    let b: DTensor = sample("b", Normal::new(a, s(1.0))?)?;
    observe("x", Normal::new(b, s(1.0))?, x.clone())?;
    Ok(())
}

#[test]
fn auto_guide_list_combines_a_custom_guide_and_an_autoguide() {
    let x = s(2.0);
    let rest = AutoNormal::new(|x: &DTensor| block_with(BlockSpec::hide(["a"]), || chain_ab(x)));
    let guide = AutoGuideList::new()
        .push(|_: &DTensor| {
            let loc: DTensor = param("a_loc", s(0.0))?;
            let scale: DTensor =
                lobes_ppl::param_constrained("a_scale", s(0.5), Constraint::Positive)?;
            let a: DTensor = sample("a", Normal::new(loc, scale)?)?;
            Ok(BTreeMap::from([("a".to_string(), a)]))
        })
        .push(|x: &DTensor| rest.call(x));
    let (r, _) = fit(
        chain_ab,
        |x| guide.call(x),
        &x,
        1000,
        400,
        |st| vec![get(st, "a_loc")[0], get(st, "AutoNormal.locs.b")[0]],
    );
    assert!(
        (r[0] - 2.0 / 3.0).abs() < 0.05 && (r[1] - 4.0 / 3.0).abs() < 0.05,
        "means {r:?}"
    );
    // A site two parts both draw is an error naming it.
    let twice = AutoGuideList::new()
        .push(|x: &DTensor| rest.call(x))
        .push(|x: &DTensor| rest.call(x));
    let e = with_param_store(&mut ParamStore::new(), || trace(|| twice.call(&x)))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("'b_unconstrained'") && e.contains("unique"),
        "{e}"
    );
}

#[test]
fn medians_and_quantiles_are_read_from_a_store_by_reference() {
    let x = data();
    // AutoNormal on a positive latent: quantiles are exp(loc + scale Φ⁻¹(q)).
    let guide = AutoNormal::new(lognormal_model);
    let y = positive_data();
    let mut svi = Svi::new(
        lognormal_model,
        |x: &DTensor| guide.call(x),
        Adam::new(0.05),
        TraceElbo::new(1),
    )
    .with_seed(1, None);
    for _ in 0..20 {
        svi.step(&y).unwrap();
    }
    let store = svi.store();
    let names: Vec<String> = guide
        .latents()
        .unwrap()
        .iter()
        .map(|s| s.name.clone())
        .collect();
    let name = &names[0];
    let (loc, scale) = (
        get(store, &format!("AutoNormal.locs.{name}"))[0],
        get(store, &format!("AutoNormal.scales.{name}"))[0],
    );
    let q = guide.quantiles_in(store, &[0.05, 0.5, 0.95]).unwrap();
    let v: Vec<f64> = q[name].to_vec().into_iter().map(f64::from).collect();
    let want = [
        (loc - 1.644854 * scale).exp(),
        loc.exp(),
        (loc + 1.644854 * scale).exp(),
    ];
    for (g, w) in v.iter().zip(want) {
        assert!(
            (g - w).abs() < 1e-4 * w.max(1.0),
            "quantiles {v:?} vs {want:?}"
        );
    }
    assert!((guide.median_in(store).unwrap()[name].item() as f64 - loc.exp()).abs() < 1e-4);
    // AutoMultivariateNormal: marginal sds are the row norms of scale[:, None] * scale_tril.
    let mvn = AutoMultivariateNormal::new(sum_model);
    let mut svi = Svi::new(
        sum_model,
        |x: &DTensor| mvn.call(x),
        Adam::new(0.05),
        TraceElbo::new(1),
    )
    .with_seed(1, None);
    for _ in 0..20 {
        svi.step(&x).unwrap();
    }
    let st = svi.store();
    let (loc, sc, l) = (
        get(st, "AutoMultivariateNormal.loc"),
        get(st, "AutoMultivariateNormal.scale"),
        get(st, "AutoMultivariateNormal.scale_tril"),
    );
    let sd_b = ((sc[1] * l[2]).powi(2) + (sc[1] * l[3]).powi(2)).sqrt();
    let q = mvn.quantiles_in(st, &[0.95]).unwrap();
    assert!((q["b"].item() as f64 - (loc[1] + 1.644854 * sd_b)).abs() < 1e-4);
    // A quantile outside (0, 1) is refused; a Laplace point has none.
    assert!(
        mvn.quantiles_in(st, &[1.5])
            .unwrap_err()
            .to_string()
            .contains("(0, 1)")
    );
    let point = AutoLaplaceApproximation::new(sum_model);
    let mut svi = Svi::new(
        sum_model,
        |x: &DTensor| point.call(x),
        Adam::new(0.05),
        TraceElbo::new(1),
    );
    svi.step(&x).unwrap();
    let e = point
        .quantiles_in(svi.store(), &[0.5])
        .unwrap_err()
        .to_string();
    assert!(e.contains("laplace_approximation"), "{e}");
}
