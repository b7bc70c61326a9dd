//! Learning-rate schedules of step number, for [`Svi::with_schedule`](crate::infer::Svi),
//! as the torch schedulers Pyro's `pyro.optim` wraps (`StepLR`, `ExponentialLR`,
//! `OneCycleLR`), each a pure function of the step so that a resumed run continues it exactly.
//!
//! ```
//! use lobes_ppl::optim::schedule::{exponential_lr, step_lr};
//! let f = step_lr(0.1, 100, 0.5); // torch's StepLR(step_size=100, gamma=0.5)
//! assert_eq!((f(0), f(99), f(100), f(250)), (0.1, 0.1, 0.05, 0.025));
//! let g = exponential_lr(1.0, 0.9);
//! assert!((g(2) - 0.81).abs() < 1e-12);
//! ```

/// torch's `StepLR`: `lr0 · gamma^⌊step / step_size⌋` (a `step_size` of 0 is read as 1).
pub fn step_lr(lr0: f64, step_size: u64, gamma: f64) -> impl Fn(u64) -> f64 + Clone {
    let size = step_size.max(1);
    move |step| lr0 * gamma.powi((step / size) as i32)
}

/// torch's `ExponentialLR`: `lr0 · gamma^step`.
pub fn exponential_lr(lr0: f64, gamma: f64) -> impl Fn(u64) -> f64 + Clone {
    move |step| lr0 * gamma.powf(step as f64)
}

/// torch's `OneCycleLR` with its defaults (`pct_start` 0.3, cosine annealing, `div_factor`
/// 25, `final_div_factor` 1e4): from `max_lr / 25` up to `max_lr` over the first 30% of
/// `total_steps`, then down to `max_lr / 25 / 1e4`; the last rate holds after `total_steps`.
pub fn one_cycle_lr(max_lr: f64, total_steps: u64) -> impl Fn(u64) -> f64 + Clone {
    let initial = max_lr / 25.0;
    let last = initial / 1e4;
    let total = total_steps.max(2) as f64;
    // torch: the phases end at steps pct_start · total − 1 and total − 1.
    let up_end = (0.3 * total - 1.0).max(1.0);
    let down_end = total - 1.0;
    let cos = |from: f64, to: f64, pct: f64| {
        to + (from - to) / 2.0 * ((std::f64::consts::PI * pct).cos() + 1.0)
    };
    move |step| {
        let s = (step as f64).min(down_end);
        if s <= up_end {
            cos(initial, max_lr, s / up_end)
        } else {
            cos(max_lr, last, (s - up_end) / (down_end - up_end))
        }
    }
}
