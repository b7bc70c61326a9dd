//! Autodiff: detaching, marking leaves, the backward pass and gradients.

use super::DTensor;
use burn::backend::DispatchTensorKind;
use burn::prelude::*;
use burn::tensor::Gradients;

/// burn's autodiff node id of `t` when it is a flex tensor with autodiff enabled, else `None`:
/// what identifies a leaf to [`crate::optim::deferred`].
pub fn node_id<const D: usize>(t: &Tensor<D>) -> Option<u64> {
    match t.clone().into_dispatch().kind {
        DispatchTensorKind::Autodiff(inner) => match *inner {
            DispatchTensorKind::Flex(b) => Some(b.as_autodiff().id().value),
            _ => None,
        },
        _ => None,
    }
}

impl DTensor {
    /// Cuts this tensor from the graph (a new leaf that keeps autodiff enabled).
    pub fn detach(&self) -> Self {
        self.unary(|a| a.detach())
    }
    /// Marks this tensor as a leaf whose gradient is retained.
    pub fn require_grad(&self) -> Self {
        self.unary(|a| a.require_grad())
    }
    /// Enables autodiff on this tensor (a constant unless [`Self::require_grad`] follows).
    pub fn autodiff(&self) -> Self {
        self.unary(|a| a.autodiff())
    }
    /// This tensor without its autodiff association (as burn's `Tensor::inner`).
    pub fn without_autodiff(&self) -> Self {
        self.unary(|a| a.inner())
    }
    /// burn's autodiff node id of this tensor (flex with autodiff only): equal ids are the same
    /// node of the graph.
    pub fn node_id(&self) -> Option<u64> {
        node_id(&self.inner)
    }
    /// Whether autodiff is enabled for this tensor.
    pub fn is_autodiff(&self) -> bool {
        self.inner.is_autodiff()
    }
    /// Whether this tensor's gradient is retained by a backward pass.
    pub fn is_require_grad(&self) -> bool {
        self.inner.is_require_grad()
    }
    /// Whether this tensor takes part in an autodiff graph (a tracked leaf or computed from
    /// one); a backward pass from an untracked tensor has nothing to differentiate.
    pub fn is_tracked(&self) -> bool {
        self.inner.is_tracked()
    }
    /// Runs the backward pass from this (rank-0) tensor.
    pub fn backward(&self) -> Gradients {
        self.inner.backward()
    }
    /// This leaf's gradient in `grads`, with this tensor's shape.
    pub fn grad(&self, grads: &Gradients) -> Option<Self> {
        self.inner
            .grad(grads)
            .map(|g| Self::wrap(g, self.shape.clone()))
    }

    /// Takes this leaf's gradient out of `grads` (burn's `grad_remove`): the returned tensor
    /// is then its only handle.
    pub fn grad_remove(&self, grads: &mut Gradients) -> Option<Self> {
        self.inner
            .grad_remove(grads)
            .map(|g| Self::wrap(g, self.shape.clone()))
    }
}
