//! Reductions and selections along one logical dim, counted from the right as Pyro counts
//! plate and enumeration dims: what variable elimination over enumerated sites needs.

use super::{DTensor, MAX_RANK, padded};
use crate::shape::{ShapeError, broadcast_shapes};

impl DTensor {
    /// The position of dim `dim` (negative, from the right) in the logical shape, `None`
    /// when the tensor has fewer dims (the dim is then an implicit size one).
    pub fn dim_position(&self, dim: isize) -> Option<usize> {
        let r = self.rank() as isize;
        (dim < 0 && r + dim >= 0).then(|| (r + dim) as usize)
    }

    /// The size of dim `dim` (negative, from the right); 1 when absent.
    pub fn size_at(&self, dim: isize) -> usize {
        self.dim_position(dim).map_or(1, |p| self.shape()[p])
    }

    fn padded_dim(&self, pos: usize) -> usize {
        MAX_RANK - self.rank() + pos
    }

    /// `log(sum(exp(x)))` over dim `dim` (negative, from the right), keeping it with size one;
    /// stable (the maximum is subtracted first) and exact where every element is `-inf`.
    pub fn logsumexp_dim(&self, dim: isize) -> Self {
        let Some(pos) = self.dim_position(dim) else {
            return self.clone();
        };
        let d = self.padded_dim(pos);
        let mut shape = self.shape().to_vec();
        shape[pos] = 1;
        let m = self
            .inner
            .clone()
            .max_dim(d)
            .detach()
            .clamp(-f32::MAX, f32::MAX);
        let s = (self.inner.clone() - m.clone()).exp().sum_dim(d).log() + m;
        Self::wrap(s, shape)
    }

    /// The maximum over dim `dim` (negative, from the right), keeping it with size one.
    pub fn max_dim(&self, dim: isize) -> Self {
        let Some(pos) = self.dim_position(dim) else {
            return self.clone();
        };
        let mut shape = self.shape().to_vec();
        shape[pos] = 1;
        Self::wrap(self.inner.clone().max_dim(self.padded_dim(pos)), shape)
    }

    /// Sums over dim `dim` (negative, from the right), keeping it with size one.
    pub fn sum_at(&self, dim: isize) -> Self {
        match self.dim_position(dim) {
            Some(pos) if self.shape()[pos] != 1 => self.sum_dim_keep(pos),
            _ => self.clone(),
        }
    }

    /// The index (as a float) of the largest element along dim `dim`, keeping it with size one.
    pub fn argmax_dim(&self, dim: isize) -> Self {
        let Some(pos) = self.dim_position(dim) else {
            return self.zeros_like();
        };
        let mut shape = self.shape().to_vec();
        shape[pos] = 1;
        Self::wrap(
            self.inner.clone().argmax(self.padded_dim(pos)).float(),
            shape,
        )
    }

    /// Picks, along dim `dim` (negative, from the right), the element at `index`: a float
    /// tensor of indices of size one at `dim` that broadcasts with the other dims. The result
    /// has size one at `dim` (torch's `gather` after broadcasting both).
    pub fn gather_dim(&self, dim: isize, index: &Self) -> Result<Self, ShapeError> {
        let rank = self.rank().max(index.rank()).max((-dim) as usize);
        let lift = |t: &Self| {
            let mut s = vec![1; rank - t.rank()];
            s.extend_from_slice(t.shape());
            t.reshape(&s)
        };
        let (src, idx) = (lift(self)?, lift(index)?);
        let pos = (rank as isize + dim) as usize;
        let mut shape = broadcast_shapes(src.shape(), idx.shape())?;
        let k = src.shape()[pos];
        shape[pos] = 1;
        let idx = idx.expand(&shape)?;
        shape[pos] = k;
        let src = src.expand(&shape)?;
        shape[pos] = 1;
        let out = src
            .inner
            .gather(MAX_RANK - rank + pos, idx.inner.int())
            .reshape(padded(&shape));
        Ok(Self::wrap(out, shape))
    }
}

impl DTensor {
    /// The elements at `indices` along dim `dim` (negative, from the right), in that order
    /// (torch's `index_select`); an index out of range is an error naming the shape.
    pub fn index_select(&self, dim: isize, indices: &[usize]) -> Result<Self, ShapeError> {
        let bad = |index| ShapeError::Index {
            index,
            dim,
            shape: self.dims(),
        };
        let pos = self.dim_position(dim).ok_or_else(|| bad(0))?;
        let n = self.shape()[pos];
        if let Some(&i) = indices.iter().find(|&&i| i >= n) {
            return Err(bad(i));
        }
        let device = self.device();
        let idx: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
        let idx = burn::prelude::Tensor::<1, burn::prelude::Int>::from_data(
            burn::tensor::TensorData::new(idx, [indices.len()]),
            &device,
        );
        let mut shape = self.shape().to_vec();
        shape[pos] = indices.len();
        Ok(Self::wrap(
            self.inner.clone().select(self.padded_dim(pos), idx),
            shape,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::prelude::Device;

    fn t(v: &[f32], s: &[usize]) -> DTensor {
        DTensor::from_floats(v.to_vec(), s, &Device::flex()).unwrap()
    }

    #[test]
    fn logsumexp_matches_the_definition_and_survives_minus_infinity() {
        let x = t(
            &[0.0, 1.0, 2.0, f32::NEG_INFINITY, f32::NEG_INFINITY, 3.0],
            &[2, 3],
        );
        let l = x.logsumexp_dim(-2).to_vec();
        let want0 = (1.0f32 + f32::NEG_INFINITY.exp()).ln();
        assert!((l[0] - want0).abs() < 1e-6);
        assert!((l[2] - (2f32.exp() + 3f32.exp()).ln()).abs() < 1e-5);
        let all = t(&[f32::NEG_INFINITY; 2], &[2]).logsumexp_dim(-1).to_vec();
        assert_eq!(all, vec![f32::NEG_INFINITY]);
    }

    #[test]
    fn gather_and_argmax_along_a_dim_from_the_right() {
        // shape [3, 2]: K = 3 along dim -2, a plate of 2 along dim -1.
        let x = t(&[0.1, 5.0, 0.7, 0.2, 0.3, 0.9], &[3, 2]);
        let am = x.argmax_dim(-2);
        assert_eq!(am.shape(), &[1, 2]);
        assert_eq!(am.to_vec(), vec![1.0, 0.0]);
        let g = x.gather_dim(-2, &am).unwrap();
        assert_eq!(g.to_vec(), vec![0.7, 5.0]);
        // An index with fewer dims broadcasts; a missing dim is an implicit size one.
        let g = x.gather_dim(-2, &t(&[2.0], &[1])).unwrap();
        assert_eq!(g.to_vec(), vec![0.3, 0.9]);
        assert_eq!(t(&[1.0, 2.0], &[2]).size_at(-3), 1);
        let s = x.index_select(-1, &[1, 1, 0]).unwrap();
        assert_eq!(s.shape(), &[3, 3]);
        assert_eq!(&s.to_vec()[..3], &[5.0, 5.0, 0.1]);
        assert!(x.index_select(-1, &[2]).is_err());
    }
}
