//! The `do_` (intervention) and `reparam` (`LocScaleReparam`) handlers: values and
//! log-densities against hand computation.

use lobes_ppl::prelude::*;
use lobes_ppl::site::SiteKind;
use std::collections::HashMap;

fn dev() -> Device {
    Device::flex()
}

fn s(v: f32) -> DTensor {
    DTensor::scalar(v, &dev())
}

fn log_normal_pdf(x: f64, loc: f64, scale: f64) -> f64 {
    -0.5 * ((x - loc) / scale).powi(2) - scale.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
}

// z ~ N(0, 1); y ~ N(z, 1); returns (z as the model sees it, y).
fn chain() -> Result<(f32, f32)> {
    let z: DTensor = sample("z", Normal::new(s(0.0), s(1.0))?)?;
    let y: DTensor = sample("y", Normal::new(z.clone(), s(1.0))?)?;
    Ok((z.item(), y.item()))
}

#[test]
fn do_fixes_the_value_downstream_without_scoring_it() {
    let data = HashMap::from([("z".to_string(), s(3.0))]);
    let ((z_seen, y), mut tr) = seed(0, || trace(|| do_(data, chain))).unwrap();
    assert_eq!(z_seen, 3.0, "the model sees the intervention");
    // As Pyro: `z` is still a latent site holding an independent draw from its prior ...
    let zs = tr.get("z").unwrap();
    assert!(zs.is_latent());
    let z_draw = zs.value.as_ref().unwrap().item() as f64;
    assert_ne!(z_draw, 3.0);
    // ... and y is drawn given z = 3: log p = log N(z_draw; 0, 1) + log N(y; 3, 1).
    let want = log_normal_pdf(z_draw, 0.0, 1.0) + log_normal_pdf(y as f64, 3.0, 1.0);
    let got = tr.log_prob_sum_checked().unwrap();
    assert!((got - want).abs() < 1e-4, "{got} vs {want}");
    assert!(tr.get("z__CF").is_none() && tr.len() == 2);
}

#[test]
fn do_differs_from_condition() {
    let data = HashMap::from([("z".to_string(), s(3.0))]);
    let ((_, y), mut tr) = seed(0, || trace(|| condition(data, chain))).unwrap();
    let z = tr.get("z").unwrap();
    assert!(z.is_observed);
    let want = log_normal_pdf(3.0, 0.0, 1.0) + log_normal_pdf(y as f64, 3.0, 1.0);
    assert!((tr.log_prob_sum_checked().unwrap() - want).abs() < 1e-4);
}

#[test]
fn do_leaves_other_sites_alone() {
    let data = HashMap::from([("w".to_string(), s(3.0))]);
    let ((z, y), tr) = seed(0, || trace(|| do_(data, chain))).unwrap();
    assert_eq!(tr.value("z").unwrap().item(), z);
    assert_eq!(tr.value("y").unwrap().item(), y);
}

// x ~ N(2, 3) (in a plate of n when n > 0): returns x.
fn centred(n: usize) -> Result<DTensor> {
    if n == 0 {
        sample("x", Normal::new(s(2.0), s(3.0))?)
    } else {
        plate("p", n).run(|_| sample("x", Normal::new(s(2.0), s(3.0))?))
    }
}

fn non_centred() -> HashMap<String, LocScaleReparam> {
    HashMap::from([("x".to_string(), LocScaleReparam::new(0.0))])
}

#[test]
fn loc_scale_reparam_draws_standard_noise_and_shifts_it() {
    let (x, mut tr) = seed(1, || trace(|| reparam(non_centred(), || centred(0)))).unwrap();
    let dec = tr.get("x_decentered").unwrap();
    assert!(dec.is_latent());
    let d = dec.value.as_ref().unwrap().item() as f64;
    assert!((x.item() as f64 - (2.0 + 3.0 * d)).abs() < 1e-5);
    let det = tr.get("x").unwrap();
    assert!(det.infer.deterministic && det.is_observed);
    assert_eq!(det.value.as_ref().unwrap().item(), x.item());
    // The log-joint is the standard normal's at the noise; `x` adds nothing.
    let got = tr.log_prob_sum_checked().unwrap();
    assert!((got - log_normal_pdf(d, 0.0, 1.0)).abs() < 1e-5);
    // The centred density is the same up to the Jacobian: log N(x; 2, 3) = log N(d) - ln 3.
    let centred = log_normal_pdf(x.item() as f64, 2.0, 3.0);
    assert!((centred - (got - 3f64.ln())).abs() < 1e-5);
}

#[test]
fn loc_scale_reparam_keeps_the_distribution_of_x() {
    // 20000 draws in a plate: mean 2, sd 3.
    let n = 20000;
    let (x, tr) = seed(2, || trace(|| reparam(non_centred(), || centred(n)))).unwrap();
    let v = x.to_vec();
    let mean = v.iter().map(|&a| a as f64).sum::<f64>() / n as f64;
    let sd = (v.iter().map(|&a| (a as f64 - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
    assert!((mean - 2.0).abs() < 0.1, "mean {mean}");
    assert!((sd - 3.0).abs() < 0.1, "sd {sd}");
    for name in ["x", "x_decentered"] {
        let site = tr.get(name).unwrap();
        assert_eq!(site.value_shape(), vec![n]);
        assert_eq!(site.plates.len(), 1, "{name} is in plate p");
    }
}

#[test]
fn reparam_inside_a_plate_records_x_in_that_plate() {
    let (_, mut tr) = seed(3, || {
        trace(|| plate("p", 4).run(|_| reparam(non_centred(), || centred(0))))
    })
    .unwrap();
    let x = tr.get("x").unwrap();
    assert_eq!(x.plates.len(), 1);
    assert_eq!(x.value_shape(), vec![4]);
    tr.compute_log_prob().unwrap();
    assert_eq!(
        tr.get("x").unwrap().log_prob.as_ref().unwrap().shape(),
        &[4]
    );
    assert_eq!(
        tr.get("x").unwrap().log_prob_sum.as_ref().unwrap().item(),
        0.0
    );
}

#[test]
fn reparam_of_an_observed_site_observes_the_noise() {
    let f = || {
        reparam(non_centred(), || {
            observe("x", Normal::new(s(2.0), s(3.0))?, s(8.0))
        })
    };
    let (x, tr) = trace(f).unwrap();
    assert_eq!(x.item(), 8.0);
    let dec = tr.get("x_decentered").unwrap();
    assert!(dec.is_observed);
    assert!((dec.value.as_ref().unwrap().item() - 2.0).abs() < 1e-6);
}

#[test]
fn fully_centred_is_the_identity_and_non_normals_are_refused() {
    let one = HashMap::from([("x".to_string(), LocScaleReparam::new(1.0))]);
    let (_, tr) = trace(|| reparam(one, || centred(0))).unwrap();
    assert!(tr.get("x").unwrap().is_latent() && tr.get("x_decentered").is_none());
    let err = reparam(non_centred(), || {
        sample::<DTensor>("x", Gamma::new(s(2.0), s(1.0))?)
    })
    .unwrap_err();
    assert!(
        matches!(err, PplError::Reparam { ref site, .. } if site == "x"),
        "{err}"
    );
    assert!(tr.sites().iter().all(|s| s.kind == SiteKind::Sample));
}
