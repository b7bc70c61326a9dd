//! Plates: dims, broadcasting, subsampling and its scaling algebra.

use lobes_ppl::prelude::*;

fn dev() -> Device {
    Device::flex()
}

fn std_normal() -> Normal {
    Normal::new(DTensor::scalar(0.0, &dev()), DTensor::scalar(1.0, &dev())).unwrap()
}

#[test]
fn a_scalar_distribution_is_broadcast_to_the_plate() {
    let (_, tr) = trace(|| plate("data", 7).run(|_| sample::<DTensor>("z", std_normal()))).unwrap();
    let z = tr.get("z").unwrap();
    assert_eq!(z.value_shape(), vec![7]);
    assert_eq!(z.dist.as_ref().unwrap().batch_shape(), vec![7]);
    assert_eq!(z.plates.len(), 1);
    assert_eq!((z.plates[0].name.as_str(), z.plates[0].dim), ("data", -1));
}

#[test]
fn nested_plates_allocate_distinct_dims() {
    let (_, tr) = trace(|| {
        plate("outer", 10).run(|_| {
            plate("inner", 5).run(|p| {
                assert_eq!(p.frame.dim, -2);
                sample::<DTensor>("z", std_normal())
            })
        })
    })
    .unwrap();
    let z = tr.get("z").unwrap();
    assert_eq!(z.value_shape(), vec![5, 10]);
    let dims: Vec<(String, isize)> = z.plates.iter().map(|f| (f.name.clone(), f.dim)).collect();
    assert_eq!(dims, [("outer".to_string(), -1), ("inner".to_string(), -2)]);
}

#[test]
fn event_dims_sit_to_the_right_of_plate_dims() {
    let loc = DTensor::zeros(&[1, 3], &dev());
    let (_, tr) = trace(|| {
        plate("data", 4)
            .run(|_| sample::<DTensor>("z", Normal::new(loc.clone(), loc.ones_like())?.to_event(1)))
    })
    .unwrap();
    let z = tr.get("z").unwrap();
    assert_eq!(z.value_shape(), vec![4, 3]);
    assert_eq!(z.dist.as_ref().unwrap().event_shape(), vec![3]);
}

#[test]
fn subsampling_scales_log_probs_by_size_over_subsample_size() {
    let data =
        DTensor::from_floats((0..10).map(|i| i as f32 / 10.0).collect(), &[10], &dev()).unwrap();
    let model = |k: usize| {
        let data = data.clone();
        move || {
            plate("data", 10).subsample_size(k).run(|p| {
                let ix = p.indices().to_vec();
                let all = data.to_vec();
                let sub: Vec<f32> = ix.iter().map(|&i| all[i]).collect();
                let x = DTensor::from_floats(sub, &[ix.len()], &dev())?;
                observe("x", std_normal(), x)?;
                Ok(ix)
            })
        }
    };
    let (ix, mut tr) = trace(model(4)).unwrap();
    assert_eq!(ix.len(), 4);
    let site = tr.get("x").unwrap().clone();
    assert_eq!(site.scale, 2.5);
    assert_eq!(site.plates[0].subsample_size, 4);
    let total = tr.log_prob_sum().unwrap().item() as f64;
    // Scaled sum of the selected points' log-densities.
    let want: f64 = ix
        .iter()
        .map(|&i| {
            let x = i as f64 / 10.0;
            -0.5 * x * x - 0.5 * (2.0 * std::f64::consts::PI).ln()
        })
        .sum::<f64>()
        * 2.5;
    assert!((total - want).abs() < 1e-4, "{total} vs {want}");
    // The plate's indices are a site of their own.
    assert_eq!(
        tr.get("data").unwrap().indices.as_ref().unwrap().as_slice(),
        ix.as_slice()
    );
}

#[test]
fn subsampled_estimate_is_unbiased_on_average() {
    // Exact algebra: the mean over all subsets of the scaled sum is the full sum. Check with
    // many random subsets.
    let vals: Vec<f32> = (0..20).map(|i| (i as f32 * 0.37).sin()).collect();
    let x = DTensor::from_floats(vals.clone(), &[20], &dev()).unwrap();
    let full = {
        let (_, mut tr) =
            trace(|| plate("d", 20).run(|_| observe("x", std_normal(), x.clone()))).unwrap();
        tr.log_prob_sum().unwrap().item() as f64
    };
    lobes_ppl::rng::set_rng_seed(11);
    let n = 2000;
    let mut est = Vec::with_capacity(n);
    for _ in 0..n {
        let (_, mut tr) = trace(|| {
            plate("d", 20).subsample_size(5).run(|p| {
                let sub: Vec<f32> = p.indices().iter().map(|&i| vals[i]).collect();
                observe("x", std_normal(), DTensor::from_floats(sub, &[5], &dev())?)
            })
        })
        .unwrap();
        est.push(tr.log_prob_sum().unwrap().item() as f64);
    }
    let mean = est.iter().sum::<f64>() / n as f64;
    let sd = (est.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
    let se = sd / (n as f64).sqrt();
    assert!(
        (mean - full).abs() < 3.0 * se,
        "mean {mean} vs full {full}, se {se}"
    );
}

#[test]
fn replay_hands_the_guide_subsample_to_the_model() {
    let run = || {
        plate("data", 100)
            .subsample_size(10)
            .run(|p| Ok(p.indices().to_vec()))
    };
    let (g_ix, guide_tr) = trace(run).unwrap();
    let m_ix = replay(&guide_tr, run).unwrap();
    assert_eq!(g_ix, m_ix);
}

#[test]
fn explicit_subsample_and_pyro_subsample_helper() {
    let t = Tensor::<2>::from_floats([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]], &dev());
    let got = plate("rows", 4)
        .subsample(vec![3, 1])
        .run(|p| Ok(p.subsample(t.clone(), 0)))
        .unwrap();
    let v: Vec<f32> = got.try_into_vec_as::<f32>().unwrap();
    assert_eq!(v, vec![3.0, 3.0, 1.0, 1.0]);
}

#[test]
fn bad_plate_arguments_are_errors() {
    let e = plate("p", 0).run(|_| Ok(())).unwrap_err().to_string();
    assert!(e.contains("plate('p')"), "{e}");
    let e = plate("p", 5)
        .subsample_size(6)
        .run(|_| Ok(()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("plate('p')") && e.contains("6"), "{e}");
    let e = plate("p", 5)
        .subsample(vec![9])
        .run(|_| Ok(()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("index 9"), "{e}");
    let e = plate("p", 5)
        .dim(0)
        .run(|_| Ok(()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("negative"), "{e}");
}

#[test]
fn a_sequential_plate_scales_each_iteration_and_takes_no_dim() {
    let x = [0.5f32, -1.0, 2.0, 0.1, 1.3];
    let model = || {
        plate("loop", 5).subsample_size(2).for_each(|i| {
            let loc = DTensor::scalar(0.0, &dev());
            observe(
                &format!("obs_{i}"),
                Normal::new(loc, 1.0)?,
                DTensor::scalar(x[i], &dev()),
            )?;
            // A vectorised plate inside takes the rightmost dim, as if the loop were absent.
            plate("inner", 3).run(|p| {
                assert_eq!(p.frame.dim, -1);
                Ok(())
            })
        })
    };
    let (_, mut tr) = trace(model).unwrap();
    let ix = tr.get("loop").unwrap().indices.clone().unwrap();
    assert_eq!(ix.len(), 2);
    let ln_n = |v: f32| -0.5 * v * v - 0.5 * (2.0 * std::f32::consts::PI).ln();
    let want: f32 = ix.iter().map(|&i| 2.5 * ln_n(x[i])).sum();
    assert!((tr.log_prob_sum().unwrap().item() - want).abs() < 1e-5);
    for &i in ix.iter() {
        let site = tr.get(&format!("obs_{i}")).unwrap();
        assert!(site.plates.is_empty());
        assert_eq!(site.scale, 2.5);
    }
    // Replay hands the loop's indices to a second run.
    let (_, again) = trace(|| replay(&tr, model)).unwrap();
    assert_eq!(again.get("loop").unwrap().indices, Some(ix));
}

#[test]
fn a_drawn_subsample_is_reused_each_time_the_plate_is_entered() {
    let (ix, tr) = trace(|| {
        let data = plate("data", 50).subsample_size(5).subsampled()?;
        let a = data.clone().run(|p| Ok(p.indices().to_vec()))?;
        let b = data.run(|p| Ok(p.indices().to_vec()))?;
        assert_eq!(a, b);
        Ok(a)
    })
    .unwrap();
    assert_eq!(tr.sites().iter().filter(|s| s.name == "data").count(), 1);
    assert_eq!(tr.get("data").unwrap().indices.as_deref(), Some(&ix));
    // Building the subsampled plate afresh twice in one run is an error that says how to reuse it.
    let twice = || {
        plate("data", 50).subsample_size(5).run(|_| Ok(()))?;
        plate("data", 50).subsample_size(5).run(|_| Ok(()))
    };
    let err = trace(twice).unwrap_err().to_string();
    assert!(
        err.contains("plate('data')") && err.contains("subsampled()"),
        "{err}"
    );
}
