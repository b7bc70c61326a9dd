//! AdamW, as `torch.optim.AdamW` (Pyro's `pyro.optim.AdamW`): Adam with decoupled weight decay.

use super::adam::adam_update;
use super::{Optimizer, Slots};
use crate::tensor::DTensor;

/// AdamW (Loshchilov & Hutter 2019) as `torch.optim.AdamW`: the parameter first shrinks,
/// `p ← p (1 − lr · weight_decay)`, then takes Adam's step without an L2 term. torch's
/// defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 1e-2.
///
/// ```
/// use lobes_ppl::optim::{AdamW, Optimizer};
/// use lobes_ppl::prelude::*;
/// let d = Device::flex();
/// let mut opt = AdamW::new(0.1);
/// // Adam's first step is lr · sign(g); the decay shrinks p by lr · 1e-2 first.
/// let p = opt.update("w", DTensor::scalar(1.0, &d), DTensor::scalar(3.0, &d));
/// assert!((p.item() - (1.0 * (1.0 - 0.1 * 0.01) - 0.1)).abs() < 1e-6);
/// ```
#[derive(Clone, Debug)]
pub struct AdamW {
    /// Learning rate.
    pub lr: f64,
    /// Decay of the first moment.
    pub beta1: f64,
    /// Decay of the second moment.
    pub beta2: f64,
    /// Added to the denominator.
    pub eps: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
    slots: Slots,
}

impl AdamW {
    /// AdamW with torch's defaults and the given learning rate.
    pub fn new(lr: f64) -> Self {
        AdamW {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 1e-2,
            slots: Slots::default(),
        }
    }
    /// Sets the weight decay.
    pub fn with_weight_decay(mut self, wd: f64) -> Self {
        self.weight_decay = wd;
        self
    }
    /// Sets the betas.
    pub fn with_betas(mut self, beta1: f64, beta2: f64) -> Self {
        self.beta1 = beta1;
        self.beta2 = beta2;
        self
    }
}

impl Optimizer for AdamW {
    fn name(&self) -> &'static str {
        "adamw"
    }
    fn reads_state_of(&self, name: &str) -> bool {
        // The same moments as Adam's.
        matches!(name, "adamw" | "adam" | "clipped_adam")
    }
    fn update(&mut self, name: &str, p: DTensor, g: DTensor) -> DTensor {
        let p = p.mul_scalar(1.0 - self.lr * self.weight_decay);
        let h = (self.lr, self.beta1, self.beta2, self.eps, 0.0);
        adam_update(&mut self.slots, name, p, g, h, None)
    }
    slot_state_methods!("adamw");
}
