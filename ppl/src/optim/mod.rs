//! Optimisers over the parameter store: Adam, ClippedAdam (Pyro's), Adagrad, AdamW, SGD (with
//! momentum) and RMSprop, per-parameter settings ([`PerParam`]) and [`ReduceLrOnPlateau`],
//! with torch's
//! update formulas and defaults, each keeping its state per parameter name so a checkpoint can
//! save it as named tensors.
//!
//! These are written here rather than taken from `burn::optim` because a checkpoint must hold
//! the optimiser state as named tensors (burn's Adagrad keeps its state private), because
//! Pyro users expect torch's formulas (burn's Adam adds epsilon after bias correction, and its
//! epsilon defaults to 1e-5 where torch's is 1e-8), and because Pyro's ClippedAdam has no burn
//! counterpart.

/// The `lr`, `set_lr`, `state` and `load_state` methods of an optimiser whose learning rate is
/// its field `lr` and whose per-parameter state is its field `slots` ([`Slots`]).
macro_rules! slot_state_methods {
    ($name:literal) => {
        fn lr(&self) -> f64 {
            self.lr
        }
        fn set_lr(&mut self, lr: f64) {
            self.lr = lr;
        }
        fn state(&self) -> super::OptimState {
            self.slots.to_state(self.lr)
        }
        fn load_state(&mut self, state: super::OptimState) -> crate::error::Result<()> {
            (self.slots, self.lr) = super::Slots::from_state($name, state)?;
            Ok(())
        }
        fn take_nonfinite(&mut self) -> Vec<String> {
            std::mem::take(&mut self.slots.nonfinite)
        }
    };
}

mod adagrad;
mod adam;
mod adamw;
mod clipped_adam;
pub mod deferred;
mod fused;
mod per_param;
mod plateau;
mod rmsprop;
pub mod schedule;
mod sgd;

pub use adagrad::Adagrad;
pub use adam::Adam;
pub use adamw::AdamW;
pub use clipped_adam::ClippedAdam;
pub use per_param::PerParam;
pub use plateau::ReduceLrOnPlateau;
pub use rmsprop::RmsProp;
pub use sgd::Sgd;

use crate::error::{PplError, Result};
use crate::tensor::DTensor;
use deferred::DeferredGrad;
use std::collections::BTreeMap;

/// An optimiser's state: per-parameter tensors and scalars, by `"{param}/{slot}"` name.
#[derive(Clone, Debug, Default)]
pub struct OptimState {
    /// State tensors, e.g. `"loc/exp_avg"`.
    pub tensors: BTreeMap<String, DTensor>,
    /// State scalars, e.g. `"loc/step"` or `"lr"`.
    pub scalars: BTreeMap<String, f64>,
}

/// An optimiser that updates unconstrained parameters one tensor at a time.
pub trait Optimizer {
    /// The optimiser's name (`adam`, `clipped_adam`, `adagrad`).
    fn name(&self) -> &'static str;
    /// Whether this optimiser continues from the state an optimiser called `name` saved (its
    /// own, by default). Adam and ClippedAdam keep the same moments, so a run can turn
    /// clipping on or off when it resumes.
    fn reads_state_of(&self, name: &str) -> bool {
        name == self.name()
    }
    /// Called once per SVI step before the per-parameter updates (learning-rate decay).
    fn begin_step(&mut self) {}
    /// Returns the updated value of parameter `name` given its gradient. Both are taken by
    /// value: on the CPU a tensor with a single owner is updated in place, in one pass.
    fn update(&mut self, name: &str, param: DTensor, grad: DTensor) -> DTensor;
    /// [`Optimizer::update`] for a gradient that is `dense` (what burn's backward pass
    /// registered, if anything) plus a [`DeferredGrad`] (what a layer offered as a recipe:
    /// [`deferred`]). By default the recipe is computed whole, added, and passed to `update`;
    /// Adam and ClippedAdam compute it band by band inside their one-pass CPU update instead.
    fn update_deferred(
        &mut self,
        name: &str,
        param: DTensor,
        dense: Option<DTensor>,
        grad: DeferredGrad,
    ) -> DTensor {
        let g = materialise(&param, dense, &grad);
        self.update(name, param, g)
    }
    /// The current learning rate.
    fn lr(&self) -> f64;
    /// Sets the learning rate (used by learning-rate schedules).
    fn set_lr(&mut self, lr: f64);
    /// The state to checkpoint.
    fn state(&self) -> OptimState;
    /// Restores a state returned by [`Optimizer::state`].
    fn load_state(&mut self, state: OptimState) -> Result<()>;
    /// The parameters whose gradient held a NaN or an infinity in an update since the last
    /// call, in update order; the list is then cleared. The fused CPU updates find them in the
    /// pass they make anyway (no extra memory traffic); other devices check each gradient.
    fn take_nonfinite(&mut self) -> Vec<String> {
        vec![]
    }
}

/// `dense + grad` as a tensor on `param`'s device, of its shape (the deferred gradient's shape
/// is the parameter's: the parameter store offers only matrix leaves of its own values).
pub(crate) fn materialise(param: &DTensor, dense: Option<DTensor>, grad: &DeferredGrad) -> DTensor {
    let g = DTensor::from_floats(grad.materialise(), param.shape(), &param.device())
        .expect("a deferred gradient has its parameter's shape");
    match dense {
        Some(d) => d.add(&g),
        None => g,
    }
}

/// Per-parameter slots shared by the optimisers: a step count and named tensors.
#[derive(Clone, Debug, Default)]
pub(crate) struct Slots {
    pub steps: BTreeMap<String, u64>,
    pub tensors: BTreeMap<String, DTensor>,
    /// Parameters whose gradient was not finite since [`Optimizer::take_nonfinite`].
    pub nonfinite: Vec<String>,
}

impl Slots {
    pub fn take(&mut self, param: &str, slot: &str) -> Option<DTensor> {
        self.tensors.remove(&format!("{param}/{slot}"))
    }
    pub fn set(&mut self, param: &str, slot: &str, t: DTensor) {
        self.tensors.insert(format!("{param}/{slot}"), t);
    }
    /// Records that `param`'s gradient was not finite when `bad` is true.
    pub fn flag(&mut self, param: &str, bad: bool) {
        if bad {
            self.nonfinite.push(param.to_string());
        }
    }
    pub fn tick(&mut self, param: &str) -> u64 {
        let s = self.steps.entry(param.to_string()).or_insert(0);
        *s += 1;
        *s
    }
    /// Takes back the last [`Slots::tick`] of `param` (an update that was not made).
    pub fn untick(&mut self, param: &str) {
        if let Some(s) = self.steps.get_mut(param) {
            *s -= 1;
            if *s == 0 {
                self.steps.remove(param);
            }
        }
    }
    pub fn to_state(&self, lr: f64) -> OptimState {
        let mut scalars: BTreeMap<String, f64> = self
            .steps
            .iter()
            .map(|(k, v)| (format!("{k}/step"), *v as f64))
            .collect();
        scalars.insert("lr".into(), lr);
        OptimState {
            tensors: self.tensors.clone(),
            scalars,
        }
    }
    pub fn from_state(name: &str, state: OptimState) -> Result<(Self, f64)> {
        let lr = *state
            .scalars
            .get("lr")
            .ok_or_else(|| PplError::OptimizerState {
                optimizer: name.to_string(),
                missing: "lr".into(),
            })?;
        let steps = state
            .scalars
            .iter()
            .filter_map(|(k, v)| k.strip_suffix("/step").map(|p| (p.to_string(), *v as u64)))
            .collect();
        Ok((
            Slots {
                steps,
                tensors: state.tensors,
                nonfinite: vec![],
            },
            lr,
        ))
    }
}

impl Optimizer for Box<dyn Optimizer> {
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn reads_state_of(&self, name: &str) -> bool {
        (**self).reads_state_of(name)
    }
    fn begin_step(&mut self) {
        (**self).begin_step()
    }
    fn update(&mut self, name: &str, param: DTensor, grad: DTensor) -> DTensor {
        (**self).update(name, param, grad)
    }
    fn update_deferred(
        &mut self,
        name: &str,
        param: DTensor,
        dense: Option<DTensor>,
        grad: DeferredGrad,
    ) -> DTensor {
        (**self).update_deferred(name, param, dense, grad)
    }
    fn lr(&self) -> f64 {
        (**self).lr()
    }
    fn set_lr(&mut self, lr: f64) {
        (**self).set_lr(lr)
    }
    fn state(&self) -> OptimState {
        (**self).state()
    }
    fn load_state(&mut self, state: OptimState) -> Result<()> {
        (**self).load_state(state)
    }
    fn take_nonfinite(&mut self) -> Vec<String> {
        (**self).take_nonfinite()
    }
}
