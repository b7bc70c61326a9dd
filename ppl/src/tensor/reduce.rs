//! Sums, stacking, and reductions and selections along the last dim.

use super::{DTensor, MAX_RANK, check_rank, padded};
use crate::shape::{Dims, ShapeError, broadcast_shapes};
use burn::prelude::*;
use burn::tensor::activation;

impl DTensor {
    /// Sums over the `n` rightmost dims (Pyro's `sum_rightmost`).
    pub fn sum_rightmost(&self, n: usize) -> Self {
        let n = n.min(self.rank());
        if n == 0 {
            return self.clone();
        }
        let keep = self.shape[..self.rank() - n].to_vec();
        let b: usize = keep.iter().product();
        let e: usize = self.shape[self.rank() - n..].iter().product();
        let s = self
            .inner
            .clone()
            .reshape([1, 1, 1, 1, b, e])
            .sum_dim(5)
            .reshape(padded(&keep));
        Self::wrap(s, keep)
    }

    /// Sums over logical dim `dim`, keeping it with size one.
    pub fn sum_dim_keep(&self, dim: usize) -> Self {
        let mut shape = self.shape.clone();
        shape[dim] = 1;
        Self::wrap(
            self.inner.clone().sum_dim(MAX_RANK - self.rank() + dim),
            shape,
        )
    }

    /// Stacks tensors of one shape along a new leading dim.
    pub fn stack(items: &[DTensor]) -> Result<Self, ShapeError> {
        let first = items.first().ok_or(ShapeError::Numel {
            shape: Dims(vec![]),
            len: 0,
        })?;
        let mut shape = vec![items.len()];
        shape.extend_from_slice(first.shape());
        check_rank(&shape)?;
        let mut one = vec![1];
        one.extend_from_slice(first.shape());
        let parts = items
            .iter()
            .map(|t| {
                if t.shape() != first.shape() {
                    return Err(ShapeError::Broadcast {
                        a: first.dims(),
                        b: t.dims(),
                    });
                }
                Ok(t.reshape(&one)?.inner)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::wrap(
            Tensor::cat(parts, MAX_RANK - shape.len()),
            shape,
        ))
    }

    /// Sums every element into a rank-0 tensor.
    pub fn sum(&self) -> Self {
        Self::wrap(self.inner.clone().sum().reshape([1; MAX_RANK]), vec![])
    }

    /// Mean of every element, as a rank-0 tensor.
    pub fn mean(&self) -> Self {
        Self::wrap(self.inner.clone().mean().reshape([1; MAX_RANK]), vec![])
    }

    /// Sums along the last dim, keeping it with size one.
    pub fn sum_last_keepdim(&self) -> Self {
        self.unary(|a| a.sum_dim(MAX_RANK - 1))
    }

    /// `log_softmax` along the last dim.
    pub fn log_softmax_last(&self) -> Self {
        self.unary(|a| activation::log_softmax(a, MAX_RANK - 1))
    }

    /// Picks, along the last dim, the element at `index` (a float tensor of indices whose shape
    /// is this shape without its last dim, or broadcastable to it).
    pub fn gather_last(&self, index: &Self) -> Result<Self, ShapeError> {
        let k = *self.shape.last().unwrap_or(&1);
        let batch = broadcast_shapes(&self.shape[..self.rank().saturating_sub(1)], &index.shape)?;
        check_rank(&[batch.clone(), vec![k]].concat())?;
        let mut full = batch.clone();
        full.push(k);
        let src = self.expand(&full)?;
        let mut ishape = batch.clone();
        ishape.push(1);
        let idx = index.expand(&batch)?.reshape(&ishape)?;
        let out = src.inner.gather(MAX_RANK - 1, idx.inner.int());
        Ok(Self::wrap(out.reshape(padded(&batch)), batch))
    }

    /// One-hot encodes a tensor of class indices into a new last dim of size `k`.
    pub fn one_hot(&self, k: usize) -> Result<Self, ShapeError> {
        let mut shape = self.shape.clone();
        shape.push(k);
        check_rank(&shape)?;
        let classes: Vec<f32> = (0..k).map(|i| i as f32).collect();
        let ar = Self::from_floats(classes, &[k], &self.device())?;
        let mut col = self.shape.clone();
        col.push(1);
        Ok(self.reshape(&col)?.eq_tensor(&ar))
    }

    /// `self[index]` for a matrix `self` (`[K, M]`) and row indices `index` (floats, any shape
    /// `S`): shape `S + [M]`, Pyro's `Vindex(probs)[x]` (or `probs[x]`) with an enumerated `x`,
    /// as a hidden Markov model's transition `probs_x[x_prev]`. Differentiable in `self`.
    pub fn index_rows(&self, index: &Self) -> Result<Self, ShapeError> {
        let &[k, m] = self.shape.as_slice() else {
            return Err(ShapeError::Rank {
                shape: self.shape.clone().into(),
                expected: 2,
            });
        };
        let rows = [index.shape.clone(), vec![k, 1]].concat();
        check_rank(&[index.shape.clone(), vec![k, m]].concat())?;
        let picked = index
            .one_hot(k)?
            .reshape(&rows)?
            .try_mul(self)?
            .sum_dim_keep(index.rank());
        picked.reshape(&[index.shape.clone(), vec![m]].concat())
    }

    /// Index of the largest element along the last dim, as floats.
    pub fn argmax_last(&self) -> Self {
        let batch = self.shape[..self.rank().saturating_sub(1)].to_vec();
        let out = self.inner.clone().argmax(MAX_RANK - 1).float();
        Self::wrap(out.reshape(padded(&batch)), batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gather_and_one_hot() {
        let d = Device::flex();
        let lp = DTensor::from_floats(vec![0.1, 0.2, 0.7, 0.5, 0.25, 0.25], &[2, 3], &d).unwrap();
        let idx = DTensor::from_floats(vec![2., 0.], &[2], &d).unwrap();
        assert_eq!(lp.gather_last(&idx).unwrap().to_vec(), vec![0.7, 0.5]);
        let oh = idx.one_hot(3).unwrap();
        assert_eq!(oh.shape(), &[2, 3]);
        assert_eq!(oh.to_vec(), vec![0., 0., 1., 1., 0., 0.]);
        assert_eq!(lp.argmax_last().to_vec(), vec![2., 0.]);
    }
}
