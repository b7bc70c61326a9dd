//! SGD with momentum, dampening, Nesterov momentum and weight decay, as `torch.optim.SGD`
//! (Pyro's `pyro.optim.SGD`).

use super::{Optimizer, Slots};
use crate::tensor::DTensor;

/// Stochastic gradient descent as `torch.optim.SGD`: with `g = ∇ + weight_decay · p`, the
/// momentum buffer `b ← momentum · b + (1 − dampening) · g` (`b = g` at the first step), the
/// step `p ← p − lr · (g + momentum · b)` with Nesterov momentum and `p ← p − lr · b` without
/// (`p ← p − lr · g` when momentum is 0). torch's defaults: no momentum, dampening or decay.
///
/// ```
/// use lobes_ppl::optim::{Optimizer, Sgd};
/// use lobes_ppl::prelude::*;
/// let d = Device::flex();
/// let mut sgd = Sgd::new(0.1).with_momentum(0.9);
/// let p = DTensor::scalar(1.0, &d);
/// let p = sgd.update("w", p, DTensor::scalar(2.0, &d)); // 1 − 0.1 · 2
/// let p = sgd.update("w", p, DTensor::scalar(2.0, &d)); // − 0.1 · (0.9 · 2 + 2)
/// assert!((p.item() - 0.42).abs() < 1e-6);
/// ```
#[derive(Clone, Debug)]
pub struct Sgd {
    /// Learning rate.
    pub lr: f64,
    /// Momentum factor.
    pub momentum: f64,
    /// Dampening of the momentum's new gradient.
    pub dampening: f64,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
    /// Nesterov momentum (needs a momentum and no dampening, as torch requires).
    pub nesterov: bool,
    slots: Slots,
}

impl Sgd {
    /// Plain SGD with the given learning rate.
    pub fn new(lr: f64) -> Self {
        Sgd {
            lr,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
            slots: Slots::default(),
        }
    }
    /// Sets the momentum factor.
    pub fn with_momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }
    /// Sets the dampening.
    pub fn with_dampening(mut self, dampening: f64) -> Self {
        self.dampening = dampening;
        self
    }
    /// Sets the weight decay.
    pub fn with_weight_decay(mut self, wd: f64) -> Self {
        self.weight_decay = wd;
        self
    }
    /// Nesterov momentum.
    pub fn with_nesterov(mut self, on: bool) -> Self {
        self.nesterov = on;
        self
    }
}

impl Optimizer for Sgd {
    fn name(&self) -> &'static str {
        "sgd"
    }
    fn update(&mut self, name: &str, p: DTensor, g: DTensor) -> DTensor {
        self.slots.tick(name);
        self.slots.flag(name, !g.all_finite());
        let mut g = if self.weight_decay != 0.0 {
            g.add(&p.mul_scalar(self.weight_decay))
        } else {
            g
        };
        if self.momentum != 0.0 {
            let b = match self.slots.take(name, "momentum_buffer") {
                Some(b) => b
                    .mul_scalar(self.momentum)
                    .add(&g.mul_scalar(1.0 - self.dampening)),
                None => g.clone(),
            };
            g = if self.nesterov {
                g.add(&b.mul_scalar(self.momentum))
            } else {
                b.clone()
            };
            self.slots.set(name, "momentum_buffer", b);
        }
        p.sub(&g.mul_scalar(self.lr))
    }
    slot_state_methods!("sgd");
}
