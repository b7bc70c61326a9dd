//! Pyro's ClippedAdam: Adam with gradient clipping and a per-step learning-rate decay.

use super::adam::{adam_update, adam_update_deferred};
use super::{Optimizer, Slots};
use crate::tensor::DTensor;

/// `pyro.optim.ClippedAdam`, with Pyro's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8,
/// `clip_norm` 10, `lrd` 1 (no decay). As in Pyro's implementation, each gradient is clamped
/// elementwise to `[-clip_norm, clip_norm]`, and the learning rate is multiplied by `lrd` at the
/// start of every step.
#[derive(Clone, Debug)]
pub struct ClippedAdam {
    /// Learning rate (decays by `lrd` each step).
    pub lr: f64,
    /// Decay of the first moment.
    pub beta1: f64,
    /// Decay of the second moment.
    pub beta2: f64,
    /// Added to the denominator.
    pub eps: f64,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
    /// Gradients are clamped to `[-clip_norm, clip_norm]`.
    pub clip_norm: f64,
    /// Learning-rate decay factor per step.
    pub lrd: f64,
    slots: Slots,
}

impl ClippedAdam {
    /// ClippedAdam with Pyro's defaults and the given learning rate.
    pub fn new(lr: f64) -> Self {
        ClippedAdam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            clip_norm: 10.0,
            lrd: 1.0,
            slots: Slots::default(),
        }
    }
    /// Sets the clipping bound.
    pub fn with_clip_norm(mut self, c: f64) -> Self {
        self.clip_norm = c;
        self
    }
    /// Sets the learning-rate decay per step.
    pub fn with_lrd(mut self, lrd: f64) -> Self {
        self.lrd = lrd;
        self
    }
}

impl Optimizer for ClippedAdam {
    fn name(&self) -> &'static str {
        "clipped_adam"
    }
    fn reads_state_of(&self, name: &str) -> bool {
        matches!(name, "adam" | "clipped_adam")
    }
    fn begin_step(&mut self) {
        self.lr *= self.lrd;
    }
    fn update(&mut self, name: &str, p: DTensor, g: DTensor) -> DTensor {
        let h = (self.lr, self.beta1, self.beta2, self.eps, self.weight_decay);
        adam_update(&mut self.slots, name, p, g, h, Some(self.clip_norm))
    }
    fn update_deferred(
        &mut self,
        name: &str,
        p: DTensor,
        dense: Option<DTensor>,
        g: super::deferred::DeferredGrad,
    ) -> DTensor {
        let h = (self.lr, self.beta1, self.beta2, self.eps, self.weight_decay);
        adam_update_deferred(&mut self.slots, name, p, dense, g, h, Some(self.clip_norm))
    }
    slot_state_methods!("clipped_adam");
}
