//! `ReduceLROnPlateau` (torch's, which Pyro's `pyro.optim.ReduceLROnPlateau` wraps): lowers
//! the learning rate when a monitored loss stops improving.

use super::Optimizer;

/// torch's `ReduceLROnPlateau(mode="min", factor, patience, threshold=1e-4,
/// threshold_mode="rel", cooldown, min_lr, eps=1e-8)`: after `patience` calls without a loss
/// below `best · (1 - threshold)`, the rate is multiplied by `factor` (not below `min_lr`),
/// then `cooldown` calls pass before bad calls count again. Call [`ReduceLrOnPlateau::step`]
/// once per epoch with the validation (or training) loss, as Pyro's `scheduler.step(loss)`.
///
/// ```
/// use lobes_ppl::optim::{Adam, Optimizer, ReduceLrOnPlateau};
/// let mut opt = Adam::new(0.1);
/// let mut plateau = ReduceLrOnPlateau::new(0.5, 2);
/// for loss in [3.0, 2.0, 2.0, 2.0, 2.0] {
///     plateau.step(loss, &mut opt);
/// }
/// // Three epochs without improvement, more than the patience of two: the rate halves.
/// assert!((opt.lr() - 0.05).abs() < 1e-12);
/// ```
#[derive(Clone, Debug)]
pub struct ReduceLrOnPlateau {
    /// The rate's multiplier at each reduction (torch's default 0.1).
    pub factor: f64,
    /// Calls without improvement tolerated (default 10).
    pub patience: usize,
    /// Relative improvement that counts (default 1e-4).
    pub threshold: f64,
    /// Calls after a reduction during which bad calls are not counted (default 0).
    pub cooldown: usize,
    /// The lowest rate (default 0).
    pub min_lr: f64,
    /// Reductions smaller than this are skipped (default 1e-8).
    pub eps: f64,
    /// The best loss so far.
    pub best: f64,
    /// Calls since the last improvement.
    pub num_bad: usize,
    /// Cooldown calls left.
    pub cooldown_left: usize,
}

impl ReduceLrOnPlateau {
    /// Multiply the rate by `factor` after `patience` calls without improvement.
    pub fn new(factor: f64, patience: usize) -> Self {
        ReduceLrOnPlateau {
            factor,
            patience,
            threshold: 1e-4,
            cooldown: 0,
            min_lr: 0.0,
            eps: 1e-8,
            best: f64::INFINITY,
            num_bad: 0,
            cooldown_left: 0,
        }
    }
    /// torch's `cooldown`.
    pub fn with_cooldown(mut self, calls: usize) -> Self {
        self.cooldown = calls;
        self
    }
    /// torch's `min_lr`.
    pub fn with_min_lr(mut self, lr: f64) -> Self {
        self.min_lr = lr;
        self
    }
    /// torch's `threshold` (relative).
    pub fn with_threshold(mut self, threshold: f64) -> Self {
        self.threshold = threshold;
        self
    }

    /// Records `loss` and lowers `optim`'s rate when the plateau has lasted long enough;
    /// returns whether it did. A NaN loss counts as no improvement.
    pub fn step(&mut self, loss: f64, optim: &mut impl Optimizer) -> bool {
        if loss < self.best * (1.0 - self.threshold) {
            self.best = loss;
            self.num_bad = 0;
        } else {
            self.num_bad += 1;
        }
        if self.cooldown_left > 0 {
            self.cooldown_left -= 1;
            self.num_bad = 0;
        }
        if self.num_bad > self.patience {
            let old = optim.lr();
            let new = (old * self.factor).max(self.min_lr);
            self.cooldown_left = self.cooldown;
            self.num_bad = 0;
            if old - new > self.eps {
                optim.set_lr(new);
                return true;
            }
        }
        false
    }
}
