//! Data-parallel SVI (`Svi::with_reducer`): replicas on shards of a batch, each plate kept at
//! the whole batch's size, take exactly the step one process takes on the whole batch.

use lobes_ppl::infer::reduce::ThreadReducer;
use lobes_ppl::infer::{Svi, TraceElbo};
use lobes_ppl::optim::Adam;
use lobes_ppl::prelude::*;

const N: usize = 12;

fn dev() -> Device {
    Device::flex()
}

/// y = x · (1, −2, 0.5) + 0.3 + noise, N points.
fn data() -> (Vec<f32>, Vec<f32>) {
    let x: Vec<f32> = (0..N * 3)
        .map(|i| ((i * 7 % 11) as f32 - 5.0) / 3.0)
        .collect();
    let y = (0..N)
        .map(|i| {
            x[3 * i] - 2.0 * x[3 * i + 1]
                + 0.5 * x[3 * i + 2]
                + 0.3
                + 0.1 * ((i * 5 % 7) as f32 - 3.0)
        })
        .collect();
    (x, y)
}

/// The rows `idx` of the data, and the plate over all N that subsamples them.
struct Shard {
    x: DTensor,
    y: DTensor,
    idx: Vec<usize>,
}

fn shard(idx: Vec<usize>) -> Shard {
    let (x, y) = data();
    let xs: Vec<f32> = idx
        .iter()
        .flat_map(|&i| x[3 * i..3 * i + 3].to_vec())
        .collect();
    let ys: Vec<f32> = idx.iter().map(|&i| y[i]).collect();
    Shard {
        x: DTensor::from_floats(xs, &[idx.len(), 3], &dev()).unwrap(),
        y: DTensor::from_floats(ys, &[idx.len()], &dev()).unwrap(),
        idx,
    }
}

/// Linear regression with a learnt weight and bias (a maximum-likelihood fit: no latent).
fn model(s: &Shard) -> Result<()> {
    let w: DTensor = param("w", DTensor::from_floats(vec![0.0; 3], &[3], &dev())?)?;
    let b: DTensor = param("b", DTensor::scalar(0.0, &dev()))?;
    let mean =
        s.x.try_mul(&w)?
            .sum_dim_keep(1)
            .reshape(&[s.idx.len()])?
            .add(&b);
    plate("data", N).subsample(s.idx.clone()).run(|_| {
        observe(
            "y",
            Normal::new(mean.clone(), DTensor::scalar(1.0, &dev()))?,
            s.y.clone(),
        )?;
        Ok(())
    })
}

fn guide(_: &Shard) -> Result<()> {
    Ok(())
}

/// The SVI of one replica.
type Fit = Svi<Shard, fn(&Shard) -> Result<()>, fn(&Shard) -> Result<()>, Adam, TraceElbo>;

fn params(svi: &Fit) -> Vec<f32> {
    ["b", "w"]
        .iter()
        .flat_map(|n| svi.store().get(n).unwrap().to_vec())
        .collect()
}

type Run = (Vec<f64>, Vec<f32>);

fn train(data: Shard, reducer: Option<ThreadReducer>, steps: usize) -> Run {
    let mut svi = Svi::new(
        model as fn(&Shard) -> Result<()>,
        guide as fn(&Shard) -> Result<()>,
        Adam::new(0.05),
        TraceElbo::default(),
    );
    if let Some(r) = reducer {
        svi = svi.with_reducer(r);
    }
    let losses = (0..steps).map(|_| svi.step(&data).unwrap()).collect();
    (losses, params(&svi))
}

#[test]
fn two_replicas_take_the_whole_batchs_step_and_stay_identical() {
    let steps = 10;
    let whole = train(shard((0..N).collect()), None, steps);
    let mut reducers = ThreadReducer::group(2);
    let (r1, r0) = (reducers.pop().unwrap(), reducers.pop().unwrap());
    let a = std::thread::spawn(move || train(shard((0..N).step_by(2).collect()), Some(r0), steps));
    let b = std::thread::spawn(move || train(shard((1..N).step_by(2).collect()), Some(r1), steps));
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    // Bit-identical across replicas: the same parameters after every step.
    assert_eq!(a.1, b.1);
    assert_eq!(a.0, b.0);
    // The whole batch's loss and parameters, to f32 reduction order.
    for (l, w) in a.0.iter().zip(&whole.0) {
        assert!((l - w).abs() <= 1e-4 * w.abs(), "{l} vs {w}");
    }
    for (p, w) in a.1.iter().zip(&whole.1) {
        assert!(
            (p - w).abs() <= 1e-5 + 1e-5 * w.abs(),
            "{:?} vs {:?}",
            a.1,
            whole.1
        );
    }
    assert!(whole.0[steps - 1] < whole.0[0], "it trains: {:?}", whole.0);
}

#[test]
fn a_non_finite_loss_on_one_replica_is_a_bad_step_on_every_replica() {
    let mut reducers = ThreadReducer::group(2);
    let (r1, r0) = (reducers.pop().unwrap(), reducers.pop().unwrap());
    let run = |s: Shard, r: ThreadReducer| {
        std::thread::spawn(move || {
            let s = s;
            let mut svi = Svi::new(
                model as fn(&Shard) -> Result<()>,
                guide as fn(&Shard) -> Result<()>,
                Adam::new(0.05),
                TraceElbo::default(),
            )
            .with_reducer(r);
            let first = svi.step(&s).map_err(|e| e.to_string());
            (first, svi.steps())
        })
    };
    let mut bad = shard((1..N).step_by(2).collect());
    bad.y = DTensor::from_floats(vec![f32::NAN; N / 2], &[N / 2], &dev()).unwrap();
    let a = run(shard((0..N).step_by(2).collect()), r0);
    let b = run(bad, r1);
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    assert!(
        a.0.as_ref().is_err_and(|e| e.contains("not finite")),
        "{a:?}"
    );
    assert!(
        b.0.as_ref().is_err_and(|e| e.contains("not finite")),
        "{b:?}"
    );
    assert_eq!((a.1, b.1), (0, 0), "neither step counted");
}

#[test]
fn a_replica_whose_model_fails_leaves_no_replica_waiting() {
    let mut reducers = ThreadReducer::group(2);
    let (r1, r0) = (reducers.pop().unwrap(), reducers.pop().unwrap());
    let run = |s: Shard, r: ThreadReducer| {
        std::thread::spawn(move || {
            let s = s;
            let mut svi = Svi::new(
                model as fn(&Shard) -> Result<()>,
                guide as fn(&Shard) -> Result<()>,
                Adam::new(0.05),
                TraceElbo::default(),
            )
            .with_reducer(r);
            let first = svi.step(&s).map_err(|e| e.to_string());
            (first, svi.steps())
        })
    };
    // An index past the plate's size: the model fails before it has a loss.
    let mut broken = shard((1..N).step_by(2).collect());
    broken.idx[0] = N + 5;
    let a = run(shard((0..N).step_by(2).collect()), r0);
    let b = run(broken, r1);
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    assert!(
        a.0.as_ref().is_err_and(|e| e.contains("not finite")),
        "the other replica has a bad step: {a:?}"
    );
    assert!(
        b.0.as_ref().is_err_and(|e| e.contains("out of range")),
        "the failing replica reports its own error: {b:?}"
    );
    assert_eq!((a.1, b.1), (0, 0), "neither step counted");
}

/// A model with no parameter: nothing to train.
fn no_params(s: &Shard) -> Result<()> {
    plate("data", N).subsample(s.idx.clone()).run(|_| {
        observe(
            "y",
            Normal::new(DTensor::scalar(0.0, &dev()), DTensor::scalar(1.0, &dev()))?,
            s.y.clone(),
        )?;
        Ok(())
    })
}

/// One replica has nothing to train in a step while the other has gradients: both still reach
/// the gradient exchange, so neither is left waiting nor pairs its next collective with the
/// other's last; both stop with the mismatch.
#[test]
fn a_replica_with_nothing_to_train_still_takes_part_in_the_exchange() {
    let mut reducers = ThreadReducer::group(2);
    let (r1, r0) = (reducers.pop().unwrap(), reducers.pop().unwrap());
    let run = |m: fn(&Shard) -> Result<()>, s: Shard, r: ThreadReducer| {
        std::thread::spawn(move || {
            let s = s;
            let mut svi: Fit = Svi::new(
                m,
                guide as fn(&Shard) -> Result<()>,
                Adam::new(0.05),
                TraceElbo::default(),
            )
            .with_reducer(r);
            svi.step(&s).map_err(|e| e.to_string())
        })
    };
    let a = run(model, shard((0..N).step_by(2).collect()), r0);
    let b = run(no_params, shard((1..N).step_by(2).collect()), r1);
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    // Before, the replica with nothing to train returned before the exchange and the other
    // waited for it for ever.
    assert!(
        a.as_ref().is_err_and(|e| e.contains("differ")),
        "{a:?} (other replica: {b:?})"
    );
}
