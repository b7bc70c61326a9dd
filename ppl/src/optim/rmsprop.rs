//! RMSprop, as `torch.optim.RMSprop` (Pyro's `pyro.optim.RMSprop`).

use super::{Optimizer, Slots};
use crate::tensor::DTensor;

/// RMSprop (Hinton's lecture 6e) as `torch.optim.RMSprop`: with `g = ∇ + weight_decay · p`,
/// `v ← α v + (1 − α) g²`, the denominator `√v + eps` (centred: `√(v − ḡ²) + eps` with
/// `ḡ ← α ḡ + (1 − α) g`), then `p ← p − lr · g / denom`, or through a momentum buffer
/// `b ← momentum · b + g / denom`, `p ← p − lr · b`. torch's defaults: lr 1e-2, α 0.99,
/// eps 1e-8, no momentum, not centred.
///
/// ```
/// use lobes_ppl::optim::{Optimizer, RmsProp};
/// use lobes_ppl::prelude::*;
/// let d = Device::flex();
/// let mut opt = RmsProp::new(0.01);
/// let p = opt.update("w", DTensor::scalar(1.0, &d), DTensor::scalar(2.0, &d));
/// // v = 0.01 · 4, step 0.01 · 2 / (0.2 + 1e-8)
/// assert!((p.item() - (1.0 - 0.1)).abs() < 1e-5);
/// ```
#[derive(Clone, Debug)]
pub struct RmsProp {
    /// Learning rate.
    pub lr: f64,
    /// Decay of the squared-gradient average.
    pub alpha: f64,
    /// Added to the denominator.
    pub eps: f64,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
    /// Momentum factor (0: none).
    pub momentum: f64,
    /// Normalise by the gradient's estimated variance rather than its second moment.
    pub centered: bool,
    slots: Slots,
}

impl RmsProp {
    /// RMSprop with torch's defaults and the given learning rate.
    pub fn new(lr: f64) -> Self {
        RmsProp {
            lr,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
            slots: Slots::default(),
        }
    }
    /// Sets α.
    pub fn with_alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }
    /// Sets the momentum factor.
    pub fn with_momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }
    /// The centred variant.
    pub fn with_centered(mut self, on: bool) -> Self {
        self.centered = on;
        self
    }
    /// Sets the weight decay.
    pub fn with_weight_decay(mut self, wd: f64) -> Self {
        self.weight_decay = wd;
        self
    }
}

/// `α · old + (1 − α) · new`, with `old` absent read as 0 (torch's zero-initialised state).
fn average(old: Option<DTensor>, new: &DTensor, alpha: f64) -> DTensor {
    let fresh = new.mul_scalar(1.0 - alpha);
    match old {
        Some(o) => o.mul_scalar(alpha).add(&fresh),
        None => fresh,
    }
}

impl Optimizer for RmsProp {
    fn name(&self) -> &'static str {
        "rmsprop"
    }
    fn update(&mut self, name: &str, p: DTensor, g: DTensor) -> DTensor {
        self.slots.tick(name);
        self.slots.flag(name, !g.all_finite());
        let g = if self.weight_decay != 0.0 {
            g.add(&p.mul_scalar(self.weight_decay))
        } else {
            g
        };
        let v = average(self.slots.take(name, "square_avg"), &g.square(), self.alpha);
        let denom = if self.centered {
            let ga = average(self.slots.take(name, "grad_avg"), &g, self.alpha);
            let d = v.sub(&ga.square()).sqrt().add_scalar(self.eps);
            self.slots.set(name, "grad_avg", ga);
            d
        } else {
            v.sqrt().add_scalar(self.eps)
        };
        self.slots.set(name, "square_avg", v);
        let step = g.div(&denom);
        let step = if self.momentum > 0.0 {
            let b = match self.slots.take(name, "momentum_buffer") {
                Some(b) => b.mul_scalar(self.momentum).add(&step),
                None => step,
            };
            self.slots.set(name, "momentum_buffer", b.clone());
            b
        } else {
            step
        };
        p.sub(&step.mul_scalar(self.lr))
    }
    slot_state_methods!("rmsprop");
}
