//! Pyro's hidden Markov model example (`examples/hmm.py`, model 1), line for line: polyphonic
//! music as 12 tones per step, a hidden state per step summed out by `TraceEnumElbo` through
//! `markov` (two enumeration dims for every step), the transition and emission probabilities
//! fitted as MAP points by `AutoDelta`.
//!
//! Pyro trains on the JSB chorales, a pickle its example downloads; our machines cannot reach
//! it, so this port and `scripts/hmm_reference.py` (Pyro 1.9.2 running model 1 unchanged)
//! build the same synthetic chorales from one integer generator and start from the same
//! values. Pyro prints the loss per observed step; `tests/pyro_tutorials.rs` checks that this
//! port prints Pyro's numbers (8.115327 at the first step, 3.983450 at the 50th).
//!
//! Run: `cargo run --release --example hmm [steps]`

use lobes::ppl::handlers::markov;
use lobes::ppl::infer::TraceEnumElbo;
use lobes::ppl::prelude::*;
use std::collections::HashMap;

/// Hidden states, tones, sequences and the longest sequence.
pub const HIDDEN: usize = 8;
/// Tones per step (Pyro's data has 88 keys).
pub const TONES: usize = 12;
const SEQUENCES: usize = 16;
const MAX_LENGTH: usize = 40;

/// The sequences (`[sequence, step, tone]`, 0 or 1) and their lengths.
pub struct Chorales {
    /// `[SEQUENCES, MAX_LENGTH, TONES]`.
    pub sequences: DTensor,
    /// Observed steps of each sequence.
    pub lengths: Vec<usize>,
}

/// A 64-bit linear congruential generator (Knuth's MMIX constants), upper 53 bits.
struct Lcg(u64);

impl Lcg {
    fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Four true states, each sounding three tones, sticky transitions, lengths 20-40
/// (`scripts/hmm_reference.py` builds the same).
pub fn data() -> Chorales {
    let mut g = Lcg(2019);
    let lengths: Vec<usize> = (0..SEQUENCES)
        .map(|_| 20 + (g.uniform() * 21.0) as usize)
        .collect();
    let mut seqs = vec![0.0f32; SEQUENCES * MAX_LENGTH * TONES];
    for (s, &length) in lengths.iter().enumerate() {
        let mut state = (g.uniform() * 4.0) as usize;
        for t in 0..length {
            if g.uniform() < 0.2 {
                state = (g.uniform() * 4.0) as usize;
            }
            for d in 0..TONES {
                let p = if d / 3 == state { 0.8 } else { 0.05 };
                seqs[(s * MAX_LENGTH + t) * TONES + d] = f32::from(g.uniform() < p);
            }
        }
    }
    let sequences = DTensor::from_floats(seqs, &[SEQUENCES, MAX_LENGTH, TONES], &Device::default())
        .expect("one value per tone");
    Chorales { sequences, lengths }
}

/// The starting values of both runs: a sticky transition matrix and distinct emissions.
pub fn init_values() -> HashMap<String, DTensor> {
    let dev = Device::default();
    let mut px = vec![0.1 / HIDDEN as f32; HIDDEN * HIDDEN];
    for h in 0..HIDDEN {
        px[h * HIDDEN + h] += 0.9;
    }
    let row_sum = 0.9 + 0.1;
    let px: Vec<f32> = px.iter().map(|p| p / row_sum).collect();
    let py: Vec<f32> = (0..HIDDEN * TONES)
        .map(|i| {
            let (h, d) = ((i / TONES) as f64, (i % TONES) as f64);
            (0.1 + 0.8 * ((h * 7.0 + d * 3.0) * 0.618034).fract()) as f32
        })
        .collect();
    HashMap::from([
        (
            "probs_x".to_string(),
            DTensor::from_floats(px, &[HIDDEN, HIDDEN], &dev).expect("H x H"),
        ),
        (
            "probs_y".to_string(),
            DTensor::from_floats(py, &[HIDDEN, TONES], &dev).expect("H x D"),
        ),
    ])
}

/// `model_1(sequences, lengths)`.
pub fn model_1(data: &Chorales) -> Result<()> {
    let dev = data.sequences.device();
    let eye: Vec<f32> = (0..HIDDEN * HIDDEN)
        .map(|i| if i % (HIDDEN + 1) == 0 { 1.0 } else { 0.0 })
        .collect();
    let eye = DTensor::from_floats(eye, &[HIDDEN, HIDDEN], &dev)?;
    let probs_x: DTensor = sample("probs_x", Dirichlet::new(eye * 0.9 + 0.1)?.to_event(1))?;
    let probs_y: DTensor = sample(
        "probs_y",
        Beta::new(0.1, 0.9)?.expand(&[HIDDEN, TONES])?.to_event(2),
    )?;
    let tones_plate = plate("tones", TONES).dim(-1);
    plate("sequences", SEQUENCES).dim(-2).run(|_| {
        let max_length = data.lengths.iter().copied().max().unwrap_or(0);
        let mut x: Option<DTensor> = None;
        markov(0..max_length, |t| {
            let observed: Vec<f32> = data.lengths.iter().map(|&l| f32::from(t < l)).collect();
            mask(
                DTensor::from_floats(observed, &[SEQUENCES, 1], &dev)?,
                || {
                    // probs_x[x], with x = 0 before the first step.
                    let probs = match &x {
                        None => probs_x.index_select(-2, &[0])?.reshape(&[HIDDEN])?,
                        Some(prev) => probs_x.index_rows(prev)?,
                    };
                    let xt: DTensor = config_enumerate(|| {
                        sample(&format!("x_{t}"), Categorical::from_probs(probs)?)
                    })?;
                    // probs_y[x.squeeze(-1)]
                    let squeezed = xt.reshape(&xt.shape()[..xt.rank() - 1])?;
                    let probs_y_x = probs_y.index_rows(&squeezed)?;
                    let y_t = data
                        .sequences
                        .index_select(-2, &[t])?
                        .reshape(&[SEQUENCES, TONES])?;
                    tones_plate.clone().run(|_| {
                        observe(&format!("y_{t}"), Bernoulli::from_probs(probs_y_x)?, y_t)
                    })?;
                    x = Some(xt);
                    Ok(())
                },
            )
        })
    })
}

/// `poutine.block(model, expose_fn=lambda msg: msg["name"].startswith("probs_"))`.
pub fn probs_only(data: &Chorales) -> Result<()> {
    block_with(
        BlockSpec::hide_fn(|s| !s.name.starts_with("probs_")),
        || model_1(data),
    )
}

/// What a run printed: the loss per observed step after each SVI step.
pub struct Fit {
    /// `loss / num_observations`, per step.
    pub losses: Vec<f64>,
    /// Observed steps in all (Pyro's `num_observations`).
    pub num_observations: usize,
}

/// Pyro's training loop: `SVI(model_1, AutoDelta(..), Adam({"lr": 0.05}), TraceEnum_ELBO(max_plate_nesting=2))`.
pub fn fit(steps: usize) -> Result<Fit> {
    let data = data();
    let num_observations: usize = data.lengths.iter().sum();
    let guide = AutoDelta::new(probs_only).init_loc_fn(InitLoc::value(init_values()));
    let mut svi = Svi::new(
        model_1,
        |d: &Chorales| guide.call(d),
        Adam::new(0.05),
        TraceEnumElbo::new(2),
    )
    .with_seed(0, None);
    let losses = (0..steps)
        .map(|_| svi.step(&data).map(|l| l / num_observations as f64))
        .collect::<Result<Vec<_>>>()?;
    Ok(Fit {
        losses,
        num_observations,
    })
}

#[allow(dead_code)]
fn main() -> Result<()> {
    let steps = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(50);
    let started = std::time::Instant::now();
    let fit = fit(steps)?;
    println!("observations {}", fit.num_observations);
    for (step, loss) in fit.losses.iter().enumerate() {
        println!("{step: >5}\t{loss:.6}");
    }
    println!("{steps} steps in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
