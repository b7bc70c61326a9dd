//! Adagrad, as `torch.optim.Adagrad` (the optimiser of the paper's code).

use super::fused;
use super::{Optimizer, Slots};
use crate::tensor::DTensor;

/// Adagrad (Duchi et al. 2011) as `torch.optim.Adagrad`: defaults lr 1e-2, lr_decay 0,
/// eps 1e-10, initial accumulator 0.
#[derive(Clone, Debug)]
pub struct Adagrad {
    /// Learning rate.
    pub lr: f64,
    /// The step size is `lr / (1 + (t - 1) lr_decay)`.
    pub lr_decay: f64,
    /// Added to the denominator.
    pub eps: f64,
    slots: Slots,
}

impl Adagrad {
    /// Adagrad with torch's defaults and the given learning rate.
    pub fn new(lr: f64) -> Self {
        Adagrad {
            lr,
            lr_decay: 0.0,
            eps: 1e-10,
            slots: Slots::default(),
        }
    }
}

impl Optimizer for Adagrad {
    fn name(&self) -> &'static str {
        "adagrad"
    }
    fn update(&mut self, name: &str, p: DTensor, g: DTensor) -> DTensor {
        let t = self.slots.tick(name);
        let clr = self.lr / (1.0 + (t as f64 - 1.0) * self.lr_decay);
        let (p, g, sum) = match fused::adagrad(p, g, self.slots.take(name, "sum"), clr, self.eps) {
            Ok((p, sum, bad)) => {
                self.slots.set(name, "sum", sum);
                self.slots.flag(name, bad);
                return p;
            }
            Err(inputs) => inputs,
        };
        self.slots.flag(name, !g.all_finite());
        let sum = match sum {
            Some(s) => s.add(&g.square()),
            None => g.square(),
        };
        let out = p.sub(&g.div(&sum.sqrt().add_scalar(self.eps)).mul_scalar(clr));
        self.slots.set(name, "sum", sum);
        out
    }
    slot_state_methods!("adagrad");
}
