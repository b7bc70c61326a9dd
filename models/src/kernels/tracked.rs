//! The autodiff wiring the custom products share ([`crate::kernels::linear`],
//! [`crate::kernels::sparse_op`]): a product of two tensors recorded on burn's graph with its
//! own backward pass.

use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::ops::{Backward, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend};

/// `forward(x, w)` on the inner backend, recorded with `op` as its backward pass, which gets
/// `(x, w)` as its state; untracked (no state kept) when neither input needs a gradient.
pub(crate) fn tracked_product<B, C, O>(
    op: O,
    x: FloatTensor<Autodiff<B, C>>,
    w: FloatTensor<Autodiff<B, C>>,
    forward: impl Fn(FloatTensor<B>, FloatTensor<B>) -> FloatTensor<B>,
) -> FloatTensor<Autodiff<B, C>>
where
    B: Backend,
    C: CheckpointStrategy,
    O: Backward<B, 2, State = (FloatTensor<B>, FloatTensor<B>)>,
{
    let nodes = [x.node(), w.node()];
    let (xp, wp) = (x.into_primitive(), w.into_primitive());
    match op.prepare::<C>(nodes).compute_bound().stateful() {
        OpsKind::Tracked(prep) => {
            let y = forward(xp.clone(), wp.clone());
            prep.finish((xp, wp), y)
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(xp, wp)),
    }
}
