//! Every error names the site and, where shapes are involved, the plate and both shapes.

use lobes_ppl::prelude::*;

fn dev() -> Device {
    Device::flex()
}

fn normal(shape: &[usize]) -> Normal {
    Normal::new(DTensor::zeros(shape, &dev()), DTensor::ones(shape, &dev())).unwrap()
}

#[test]
fn duplicate_site_names() {
    let e = trace(|| {
        sample::<DTensor>("z", normal(&[1]))?;
        sample::<DTensor>("z", normal(&[1]))
    })
    .unwrap_err();
    assert!(matches!(e, PplError::DuplicateSite { .. }));
    assert_eq!(
        e.to_string(),
        "Multiple sites named 'z' in one run: site names must be unique"
    );
}

#[test]
fn observed_value_shape_vs_distribution_shape() {
    let d = Bernoulli::from_probs(DTensor::full(&[100, 10000], 0.5, &dev()))
        .unwrap()
        .to_event(1);
    let x = DTensor::zeros(&[100, 9999], &dev());
    let e = observe("obs", d, x).unwrap_err().to_string();
    assert_eq!(
        e,
        "site 'obs': observed value shape [100, 9999] does not match the distribution's shape, batch [100] + event [10000]"
    );
}

#[test]
fn plate_shape_mismatch_names_plate_site_and_both_shapes() {
    let e = plate("data", 100)
        .run(|_| sample::<DTensor>("z", normal(&[32])))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "Shape mismatch inside plate('data') at site 'z' dim -1: plate size 100 vs batch shape [32]"
    );
}

#[test]
fn plate_dim_collision() {
    let e = plate("outer", 3)
        .run(|_| plate("inner", 4).dim(-1).run(|_| Ok(())))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "plate('inner') asks for dim -1, already used by the enclosing plate('outer')"
    );
}

#[test]
fn invalid_distribution_parameters() {
    let d = Normal::new(
        DTensor::zeros(&[3], &dev()),
        DTensor::full(&[3], -1.0, &dev()),
    )
    .unwrap();
    let e = sample::<DTensor>("z", d).unwrap_err().to_string();
    assert_eq!(
        e,
        "site 'z': invalid Normal parameter 'scale': must be positive, found values in [-1, -1]"
    );
    let d = Bernoulli::from_probs(DTensor::full(&[2], 1.5, &dev())).unwrap();
    let e = sample::<DTensor>("b", d).unwrap_err().to_string();
    assert!(
        e.starts_with("site 'b': invalid Bernoulli parameter 'probs': must be in [0, 1]"),
        "{e}"
    );
}

#[test]
fn parameter_shapes_that_do_not_broadcast() {
    let e = Normal::new(
        DTensor::zeros(&[100, 32], &dev()),
        DTensor::ones(&[100, 16], &dev()),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "Normal: parameter shapes do not broadcast: shapes [100, 32] and [100, 16] do not broadcast"
    );
}

#[test]
fn to_event_with_too_few_batch_dims() {
    let e = sample::<DTensor>("z", normal(&[3]).to_event(2))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "site 'z': Normal.to_event(2): needs 2 batch dims, batch shape is [3]"
    );
}

#[test]
fn nan_in_a_log_prob() {
    let x = DTensor::from_floats(vec![0.0, f32::NAN], &[2], &dev()).unwrap();
    let (_, mut tr) = trace(|| observe("x", normal(&[2]), x.clone())).unwrap();
    let e = tr.log_prob_sum_checked().unwrap_err().to_string();
    assert_eq!(
        e,
        "site 'x': log_prob of Normal is not finite (NaN or inf); value shape [2]"
    );
}

#[test]
fn observed_value_outside_the_support() {
    let d = Bernoulli::from_probs(DTensor::full(&[2], 0.5, &dev())).unwrap();
    let x = DTensor::from_floats(vec![0.0, 7.0], &[2], &dev()).unwrap();
    let e = observe("label", d, x).unwrap_err().to_string();
    assert_eq!(
        e,
        "site 'label': Bernoulli: value outside the support ([0, 1]); values range over [0, 7]"
    );
}

#[test]
fn a_value_asked_for_at_the_wrong_rank() {
    let e = sample::<Tensor<1>>("z", normal(&[2, 3]))
        .unwrap_err()
        .to_string();
    assert_eq!(e, "site 'z': expected a rank-1 tensor, found shape [2, 3]");
}

#[test]
fn a_mask_that_does_not_broadcast_names_the_site_and_both_shapes() {
    let (_, mut tr) = trace(|| {
        mask(DTensor::ones(&[3], &dev()), || {
            sample::<DTensor>("z", normal(&[2]))
        })
    })
    .unwrap();
    let e = tr.compute_log_prob().unwrap_err().to_string();
    assert_eq!(e, "site 'z': shapes [2] and [3] do not broadcast");
}

/// DTensor arithmetic on shapes from user input: the checked forms return the error naming
/// both shapes (torch raises the same), never a panic.
#[test]
fn dtensor_arithmetic_on_shapes_that_do_not_broadcast_is_an_error_naming_both() {
    let dev = burn::prelude::Device::flex();
    let a = DTensor::full(&[2, 3], 1.0, &dev);
    let b = DTensor::full(&[4], 2.0, &dev);
    for e in [a.try_add(&b), a.try_sub(&b), a.try_mul(&b), a.try_div(&b)] {
        let msg = e.unwrap_err().to_string();
        assert!(msg.contains("[2, 3]") && msg.contains("[4]"), "{msg}");
    }
    let ok = a.try_mul(&DTensor::full(&[3], 2.0, &dev)).unwrap();
    assert_eq!(ok.shape(), &[2, 3]);
    assert_eq!(ok.to_vec(), vec![2.0; 6]);
}
