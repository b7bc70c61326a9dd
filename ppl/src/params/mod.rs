//! The parameter store: named, unconstrained parameters (Pyro's `ParamStoreDict`).
//!
//! Each thread has an active store that `param` and `module` sites read and create entries
//! in. [`with_param_store`] swaps a store of the caller's in for the duration of a closure
//! (SVI does this with its own store), so several models can train side by side.

use crate::constraints::Constraint;
use crate::error::{PplError, Result};
use crate::site::Site;
use crate::tensor::DTensor;
use burn::prelude::*;
use burn::tensor::Gradients;
use std::cell::RefCell;
use std::collections::HashMap;

mod finite;
mod io;

pub use finite::NonFinite;

/// One stored parameter.
#[derive(Clone, Debug)]
pub struct ParamEntry {
    /// The unconstrained value (a plain tensor, no autodiff graph).
    pub unconstrained: DTensor,
    /// The constraint mapping it into its support.
    pub constraint: Constraint,
}

/// Named parameters, in order of creation.
#[derive(Clone, Debug, Default)]
pub struct ParamStore {
    names: Vec<String>,
    entries: HashMap<String, ParamEntry>,
    /// Autodiff leaves handed out since the last [`ParamStore::clear_leaves`].
    leaves: HashMap<String, DTensor>,
    /// Matrix leaves ([`ParamStore::matrix_leaf`]) handed out since then.
    matrices: HashMap<String, Tensor<2>>,
}

impl ParamStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.names.len()
    }
    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
    /// Parameter names in order of creation.
    pub fn names(&self) -> &[String] {
        &self.names
    }
    /// Whether `name` is stored.
    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }
    /// The stored entry.
    pub fn entry(&self, name: &str) -> Option<&ParamEntry> {
        self.entries.get(name)
    }
    /// The constrained value of `name`.
    pub fn get(&self, name: &str) -> Option<DTensor> {
        self.entries
            .get(name)
            .map(|e| e.constraint.transform(&e.unconstrained))
    }
    /// Stores a parameter from its constrained value (replacing any previous one).
    pub fn insert(&mut self, name: &str, value: &DTensor, constraint: Constraint) -> Result<()> {
        let v = value.without_autodiff();
        if !constraint.check(&v) {
            return Err(PplError::InvalidParam {
                name: name.into(),
                reason: format!(
                    "initial value outside the {} constraint (values in [{}, {}])",
                    constraint.as_str(),
                    v.min_value(),
                    v.max_value()
                ),
            });
        }
        self.set_unconstrained(name, constraint.inverse(&v), constraint);
        Ok(())
    }
    /// Stores an unconstrained value directly (optimisers and checkpoint loading).
    pub fn set_unconstrained(&mut self, name: &str, u: DTensor, constraint: Constraint) {
        if !self.entries.contains_key(name) {
            self.names.push(name.to_string());
        }
        self.leaves.remove(name);
        self.matrices.remove(name);
        self.entries.insert(
            name.to_string(),
            ParamEntry {
                unconstrained: u.without_autodiff(),
                constraint,
            },
        );
    }
    /// Takes a parameter's unconstrained value out of the store (its entry stays, to be
    /// refilled by [`ParamStore::set_unconstrained`]), with its constraint: the caller then
    /// holds the only handle, so a CPU optimiser can update it in place.
    pub fn take_unconstrained(&mut self, name: &str) -> Option<(DTensor, Constraint)> {
        let e = self.entries.get_mut(name)?;
        let placeholder = DTensor::scalar(0.0, &e.unconstrained.device());
        Some((
            std::mem::replace(&mut e.unconstrained, placeholder),
            e.constraint,
        ))
    }
    /// Removes a parameter.
    pub fn remove(&mut self, name: &str) -> Option<ParamEntry> {
        self.names.retain(|n| n != name);
        self.leaves.remove(name);
        self.matrices.remove(name);
        self.entries.remove(name)
    }
    /// Removes everything.
    pub fn clear(&mut self) {
        *self = Self::default();
    }
    /// The autodiff leaves handed out since the last [`ParamStore::clear_leaves`], by name.
    pub fn leaves(&self) -> &HashMap<String, DTensor> {
        &self.leaves
    }
    /// Forgets the leaves (the next `param` call makes fresh ones); called before each step.
    pub fn clear_leaves(&mut self) {
        self.leaves.clear();
        self.matrices.clear();
    }
    /// Forgets the leaves of the parameters `keep` rejects, keeping their stored values.
    ///
    /// The ELBO estimators call this with the names of the param sites their traces recorded,
    /// so that a parameter a [`crate::handlers::block`] hid is read but not trained: Pyro's
    /// `SVI` optimises only the params its param-capture trace sees.
    pub fn retain_leaves(&mut self, keep: impl Fn(&str) -> bool) {
        self.leaves.retain(|name, _| keep(name));
        self.matrices.retain(|name, _| keep(name));
    }

    /// Inside an SVI step (a deferring [`crate::optim::deferred::Scope`] open, gradients on), the value
    /// of the 2-D, unconstrained-is-constrained (`Real`) parameter `name` on the CPU backend as
    /// a rank-2 autodiff leaf of its own (the same one until [`ParamStore::clear_leaves`]),
    /// made the scope's, so that a layer may defer its gradient in the step's backward pass;
    /// `None` otherwise.
    ///
    /// [`crate::module`] gives a module's weight matrices this leaf rather than a reshape of
    /// the parameter's [`DTensor`] leaf, so that a custom layer (lobes-models' sparse first
    /// layer) sees the leaf itself: burn's backward pass needs a registered gradient at every
    /// node between a leaf and a layer, so a layer can defer only a leaf's. Take the gradients
    /// with [`ParamStore::take_grad`], which adds this leaf's to the other's.
    pub fn matrix_leaf(&mut self, name: &str) -> Option<Tensor<2>> {
        if !crate::optim::deferred::is_open() || !crate::grad::is_grad_enabled() {
            return None;
        }
        if let Some(m) = self.matrices.get(name) {
            return Some(m.clone());
        }
        let e = self.entries.get(name)?;
        let u = &e.unconstrained;
        if e.constraint != Constraint::Real
            || u.shape().len() != 2
            || !u.is_f32()
            || u.device() != Device::flex()
        {
            return None;
        }
        let m = u.to_tensor::<2>().ok()?.autodiff().require_grad();
        crate::optim::deferred::allow(crate::tensor::node_id(&m)?);
        self.matrices.insert(name.to_string(), m.clone());
        Some(m)
    }

    /// The gradient of parameter `name` after a backward pass, taken out of `grads`: the
    /// dense part (its leaf's and its matrix leaf's, added) and the part a layer deferred
    /// (from `scope`, the step's); both `None` when it took no part.
    pub fn take_grad(
        &self,
        name: &str,
        grads: &mut Gradients,
        scope: &mut crate::optim::deferred::Scope,
    ) -> (
        Option<DTensor>,
        Option<crate::optim::deferred::DeferredGrad>,
    ) {
        let leaf = self.leaves.get(name).and_then(|l| l.grad_remove(grads));
        let Some(m) = self.matrices.get(name) else {
            return (leaf, None);
        };
        let deferred = crate::tensor::node_id(m).and_then(|id| scope.take(id));
        // The matrix leaf has the parameter's own (2-D) shape.
        let from_matrix = m.grad_remove(grads).map(DTensor::from_tensor);
        let dense = match (leaf, from_matrix) {
            (Some(a), Some(b)) => Some(a.add(&b)),
            (a, b) => a.or(b),
        };
        (dense, deferred)
    }

    /// The unconstrained value to hand out: an autodiff leaf (the same one for every call
    /// until [`ParamStore::clear_leaves`]) when gradients are on, the plain tensor otherwise.
    fn handout(&mut self, name: &str) -> Option<DTensor> {
        let u = self.entries.get(name)?.unconstrained.clone();
        if !crate::grad::is_grad_enabled() {
            return Some(u);
        }
        Some(
            self.leaves
                .entry(name.to_string())
                .or_insert_with(|| u.autodiff().require_grad())
                .clone(),
        )
    }
}

thread_local! {
    static STORE: RefCell<ParamStore> = RefCell::new(ParamStore::new());
}

/// Runs `f` on this thread's active parameter store.
pub fn with_active_store<R>(f: impl FnOnce(&mut ParamStore) -> R) -> R {
    STORE.with(|s| f(&mut s.borrow_mut()))
}

/// Empties this thread's active store (Pyro's `pyro.clear_param_store()`).
pub fn clear_param_store() {
    with_active_store(|s| s.clear());
}

struct SwapBack<'a>(&'a mut ParamStore);
impl Drop for SwapBack<'_> {
    fn drop(&mut self) {
        STORE.with(|s| std::mem::swap(&mut *s.borrow_mut(), self.0));
    }
}

/// Runs `f` with `store` as this thread's active store, then puts it back (with whatever `f`
/// created in it), however `f` ends.
pub fn with_param_store<R>(store: &mut ParamStore, f: impl FnOnce() -> R) -> R {
    STORE.with(|s| std::mem::swap(&mut *s.borrow_mut(), store));
    let _back = SwapBack(store);
    f()
}

/// Default behaviour of a param site no handler answered: read the active store, creating the
/// entry from the site's initial value if absent.
pub(crate) fn resolve_param(site: &mut Site) -> Result<()> {
    with_active_store(|store| {
        if let Some(e) = store.entry(&site.name) {
            if e.constraint != site.constraint && site.init.is_some() {
                return Err(PplError::InvalidParam {
                    name: site.name.clone(),
                    reason: format!(
                        "stored with constraint {} but requested with {}",
                        e.constraint.as_str(),
                        site.constraint.as_str()
                    ),
                });
            }
            site.constraint = e.constraint;
        } else {
            let init = site.init.as_ref().ok_or_else(|| PplError::MissingParam {
                name: site.name.clone(),
            })?;
            store.insert(&site.name, init, site.constraint)?;
        }
        let u = store.handout(&site.name).expect("entry exists");
        site.value = Some(site.constraint.transform(&u));
        site.unconstrained = Some(u);
        Ok(())
    })
}
