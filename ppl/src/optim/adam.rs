//! Adam, with torch's update (epsilon added to the bias-corrected root mean square).

use super::deferred::DeferredGrad;
use super::fused::{self, AdamStep};
use super::{Optimizer, Slots};
use crate::tensor::DTensor;

/// Adam (Kingma & Ba 2015) as `torch.optim.Adam`: defaults lr 1e-3, betas (0.9, 0.999),
/// eps 1e-8 (torch's; burn's `AdamConfig` defaults to 1e-5), no weight decay.
#[derive(Clone, Debug)]
pub struct Adam {
    /// Learning rate.
    pub lr: f64,
    /// Decay of the first moment.
    pub beta1: f64,
    /// Decay of the second moment.
    pub beta2: f64,
    /// Added to the denominator.
    pub eps: f64,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
    slots: Slots,
}

impl Adam {
    /// Adam with torch's defaults and the given learning rate.
    pub fn new(lr: f64) -> Self {
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            slots: Slots::default(),
        }
    }
    /// Sets epsilon.
    pub fn with_eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }
    /// Sets the betas.
    pub fn with_betas(mut self, beta1: f64, beta2: f64) -> Self {
        self.beta1 = beta1;
        self.beta2 = beta2;
        self
    }
    /// Sets the weight decay.
    pub fn with_weight_decay(mut self, wd: f64) -> Self {
        self.weight_decay = wd;
        self
    }
}

/// One Adam update shared with ClippedAdam (`clip`: its elementwise gradient clamp): returns
/// the new parameter. CPU tensors take the fused one-pass path; others use tensor operations.
pub(crate) fn adam_update(
    slots: &mut Slots,
    name: &str,
    p: DTensor,
    g: DTensor,
    (lr, b1, b2, eps, wd): (f64, f64, f64, f64, f64),
    clip: Option<f64>,
) -> DTensor {
    let t = slots.tick(name) as i32;
    let (m, v) = (slots.take(name, "exp_avg"), slots.take(name, "exp_avg_sq"));
    let h = AdamStep {
        lr,
        beta1: b1,
        beta2: b2,
        eps,
        weight_decay: wd,
        clip,
        t,
    };
    let (p, g, m, v) = match fused::adam(p, g, m, v, h) {
        Ok((p, m, v, bad)) => {
            slots.set(name, "exp_avg", m);
            slots.set(name, "exp_avg_sq", v);
            slots.flag(name, bad);
            return p;
        }
        Err(inputs) => inputs,
    };
    slots.flag(name, !g.all_finite());
    let g = match clip {
        Some(c) => g.clamp(-c, c),
        None => g,
    };
    let g = if wd != 0.0 {
        g.add(&p.mul_scalar(wd))
    } else {
        g
    };
    let m = match m {
        Some(m) => m.mul_scalar(b1).add(&g.mul_scalar(1.0 - b1)),
        None => g.mul_scalar(1.0 - b1),
    };
    let v = match v {
        Some(v) => v.mul_scalar(b2).add(&g.square().mul_scalar(1.0 - b2)),
        None => g.square().mul_scalar(1.0 - b2),
    };
    let bc1 = 1.0 - b1.powi(t);
    let bc2 = 1.0 - b2.powi(t);
    let denom = v.sqrt().mul_scalar(1.0 / bc2.sqrt()).add_scalar(eps);
    let out = p.sub(&m.div(&denom).mul_scalar(lr / bc1));
    slots.set(name, "exp_avg", m);
    slots.set(name, "exp_avg_sq", v);
    out
}

/// [`adam_update`] for a gradient that is `dense` plus `g` (a [`DeferredGrad`]): on the CPU,
/// with nothing dense, `g` is computed band by band inside the one-pass update; otherwise it is
/// computed whole first.
pub(crate) fn adam_update_deferred(
    slots: &mut Slots,
    name: &str,
    p: DTensor,
    dense: Option<DTensor>,
    g: DeferredGrad,
    h: (f64, f64, f64, f64, f64),
    clip: Option<f64>,
) -> DTensor {
    if dense.is_some() {
        let g = super::materialise(&p, dense, &g);
        return adam_update(slots, name, p, g, h, clip);
    }
    let t = slots.tick(name) as i32;
    let (m, v) = (slots.take(name, "exp_avg"), slots.take(name, "exp_avg_sq"));
    let (lr, beta1, beta2, eps, weight_decay) = h;
    let step = AdamStep {
        lr,
        beta1,
        beta2,
        eps,
        weight_decay,
        clip,
        t,
    };
    match fused::adam_deferred(p, &g, m, v, step) {
        Ok((p, m, v, bad)) => {
            slots.set(name, "exp_avg", m);
            slots.set(name, "exp_avg_sq", v);
            slots.flag(name, bad);
            p
        }
        Err((p, m, v)) => {
            // Not an f32 CPU tensor: the tensor-operation path, the step count given back.
            slots.untick(name);
            if let Some(m) = m {
                slots.set(name, "exp_avg", m);
            }
            if let Some(v) = v {
                slots.set(name, "exp_avg_sq", v);
            }
            let g = super::materialise(&p, None, &g);
            adam_update(slots, name, p, g, h, clip)
        }
    }
}

impl Optimizer for Adam {
    fn name(&self) -> &'static str {
        "adam"
    }
    fn reads_state_of(&self, name: &str) -> bool {
        matches!(name, "adam" | "clipped_adam")
    }
    fn update(&mut self, name: &str, p: DTensor, g: DTensor) -> DTensor {
        let h = (self.lr, self.beta1, self.beta2, self.eps, self.weight_decay);
        adam_update(&mut self.slots, name, p, g, h, None)
    }
    fn update_deferred(
        &mut self,
        name: &str,
        p: DTensor,
        dense: Option<DTensor>,
        g: DeferredGrad,
    ) -> DTensor {
        let h = (self.lr, self.beta1, self.beta2, self.eps, self.weight_decay);
        adam_update_deferred(&mut self.slots, name, p, dense, g, h, None)
    }
    slot_state_methods!("adam");
}
