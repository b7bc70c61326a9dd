//! Per-parameter optimiser settings (Pyro's callable `optim_args`): one optimiser for each
//! parameter, built from its name the first time the parameter is updated, as Pyro's
//! `PyroOptim` builds one torch optimiser per parameter.

use super::{OptimState, Optimizer};
use crate::error::Result;
use crate::tensor::DTensor;
use std::collections::BTreeMap;

/// Pyro's `Adam(lambda module_name, param_name: {...})`: `make(name)` gives the optimiser of
/// parameter `name` (any [`Optimizer`], with its own rate and settings).
///
/// A learning-rate schedule ([`Svi::with_schedule`](crate::infer::Svi::with_schedule)) sets
/// the rate of the first parameter updated and scales every other one alike, so their ratios
/// stay those `make` chose. The checkpointed state holds each parameter's slots and rate.
///
/// ```
/// use lobes_ppl::optim::{Adam, Optimizer, PerParam};
/// use lobes_ppl::prelude::*;
/// // The decoder ten times slower than the rest.
/// let mut opt = PerParam::new(|name: &str| Adam::new(if name.starts_with("decoder.") { 1e-4 } else { 1e-3 }));
/// let d = Device::flex();
/// let p = DTensor::ones(&[2], &d);
/// let g = DTensor::ones(&[2], &d);
/// let a = opt.update("decoder.w", p.clone(), g.clone());
/// let b = opt.update("encoder.w", p, g);
/// // Adam's first step moves each weight by its rate.
/// assert!((1.0 - a.to_vec()[0] - 1e-4).abs() < 1e-7 && (1.0 - b.to_vec()[0] - 1e-3).abs() < 1e-7);
/// ```
pub struct PerParam<O, F> {
    make: F,
    optims: BTreeMap<String, O>,
    /// Parameters in the order they were first updated.
    order: Vec<String>,
}

impl<O: Optimizer, F: Fn(&str) -> O> PerParam<O, F> {
    /// One optimiser per parameter, `make(name)`.
    pub fn new(make: F) -> Self {
        PerParam {
            make,
            optims: BTreeMap::new(),
            order: vec![],
        }
    }

    /// The optimiser of `name`, built on first use.
    pub fn get(&mut self, name: &str) -> &mut O {
        if !self.optims.contains_key(name) {
            self.optims.insert(name.to_string(), (self.make)(name));
            self.order.push(name.to_string());
        }
        self.optims.get_mut(name).expect("just inserted")
    }
}

impl<O: Optimizer, F: Fn(&str) -> O> Optimizer for PerParam<O, F> {
    fn name(&self) -> &'static str {
        "per_param"
    }
    fn begin_step(&mut self) {
        self.optims.values_mut().for_each(Optimizer::begin_step);
    }
    fn update(&mut self, name: &str, param: DTensor, grad: DTensor) -> DTensor {
        self.get(name).update(name, param, grad)
    }
    fn update_deferred(
        &mut self,
        name: &str,
        param: DTensor,
        dense: Option<DTensor>,
        grad: super::deferred::DeferredGrad,
    ) -> DTensor {
        self.get(name).update_deferred(name, param, dense, grad)
    }
    fn lr(&self) -> f64 {
        match self.order.first() {
            Some(first) => self.optims[first].lr(),
            None => (self.make)("").lr(),
        }
    }
    fn set_lr(&mut self, lr: f64) {
        let reference = self.lr();
        if reference == 0.0 || self.optims.is_empty() {
            return;
        }
        for o in self.optims.values_mut() {
            let own = o.lr();
            o.set_lr(own * lr / reference);
        }
    }
    fn state(&self) -> OptimState {
        let mut out = OptimState::default();
        for (name, o) in &self.optims {
            let s = o.state();
            out.tensors.extend(s.tensors);
            for (k, v) in s.scalars {
                // Each optimiser's rate is kept under its parameter's name.
                let key = if k == "lr" { format!("{name}/lr") } else { k };
                out.scalars.insert(key, v);
            }
        }
        out
    }
    fn load_state(&mut self, state: OptimState) -> Result<()> {
        let mut per: BTreeMap<String, OptimState> = BTreeMap::new();
        for (k, v) in state.tensors {
            let param = k
                .rsplit_once('/')
                .map_or(k.as_str(), |(p, _)| p)
                .to_string();
            per.entry(param).or_default().tensors.insert(k, v);
        }
        for (k, v) in state.scalars {
            let Some((param, slot)) = k.rsplit_once('/') else {
                continue;
            };
            let key = if slot == "lr" {
                "lr".to_string()
            } else {
                k.clone()
            };
            per.entry(param.to_string())
                .or_default()
                .scalars
                .insert(key, v);
        }
        for (name, s) in per {
            self.get(&name).load_state(s)?;
        }
        Ok(())
    }
    fn take_nonfinite(&mut self) -> Vec<String> {
        self.order
            .iter()
            .flat_map(|n| {
                self.optims
                    .get_mut(n)
                    .map(Optimizer::take_nonfinite)
                    .unwrap_or_default()
            })
            .collect()
    }
}
