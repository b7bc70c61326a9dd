//! [`DTensor`]: a float tensor of any rank up to [`MAX_RANK`], the value type of every site.
//!
//! burn's `Tensor<D>` fixes the rank at compile time, but a site's value may be a scalar,
//! a `[batch, latent]` matrix or a stack of images. A `DTensor` keeps a burn
//! `Tensor<MAX_RANK>` whose shape is the logical shape left-padded with ones, plus the logical
//! shape itself. Left-padding is exactly numpy's broadcasting rule, so elementwise arithmetic
//! between any two `DTensor`s is one burn op on two equal-rank tensors, with no copies.
//! See `docs/architecture.md`.

use crate::shape::{Dims, ShapeError, broadcast_shapes};
use burn::prelude::*;
use burn::tensor::activation;
use burn::tensor::{Gradients, TensorData};

mod dims;

/// The largest rank a [`DTensor`] can hold.
pub const MAX_RANK: usize = 6;

type Inner = Tensor<MAX_RANK>;

/// A float tensor of any rank up to [`MAX_RANK`], with numpy broadcasting.
///
/// Cloning is cheap (burn tensors are reference-counted handles).
#[derive(Clone, Debug)]
pub struct DTensor {
    inner: Inner,
    shape: Vec<usize>,
}

fn padded(shape: &[usize]) -> [usize; MAX_RANK] {
    let mut p = [1; MAX_RANK];
    p[MAX_RANK - shape.len()..].copy_from_slice(shape);
    p
}

fn check_rank(shape: &[usize]) -> Result<(), ShapeError> {
    if shape.len() > MAX_RANK {
        return Err(ShapeError::TooManyDims {
            shape: shape.into(),
            max: MAX_RANK,
        });
    }
    Ok(())
}

impl DTensor {
    /// Wraps a burn tensor of rank `D`.
    ///
    /// # Panics
    /// If `D` exceeds [`MAX_RANK`]; [`DTensor::try_from_tensor`] returns an error instead.
    pub fn from_tensor<const D: usize>(t: Tensor<D>) -> Self {
        Self::try_from_tensor(t).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Wraps a burn tensor of rank `D`, or reports a rank above [`MAX_RANK`].
    pub fn try_from_tensor<const D: usize>(t: Tensor<D>) -> Result<Self, ShapeError> {
        let shape = t.dims().to_vec();
        check_rank(&shape)?;
        Ok(DTensor {
            inner: t.reshape(padded(&shape)),
            shape,
        })
    }

    fn wrap(inner: Inner, shape: Vec<usize>) -> Self {
        DTensor { inner, shape }
    }

    /// Whether the values are 32-bit floats.
    pub fn is_f32(&self) -> bool {
        self.inner.dtype() == burn::tensor::DType::F32
    }

    /// The values as owned data, row-major. On the CPU backend this is not a copy when this
    /// is the only handle to a contiguous tensor.
    pub fn into_data(self) -> TensorData {
        self.inner.into_data()
    }

    /// The inverse of [`DTensor::into_data`] for f32 data of `shape.iter().product()` values.
    pub fn from_data(data: TensorData, shape: &[usize], device: &Device) -> Self {
        let d = TensorData::from_bytes(data.into_bytes(), padded(shape), burn::tensor::DType::F32);
        Self::wrap(Tensor::from_data(d, device), shape.to_vec())
    }

    /// Values in row-major order with the given shape, on `device`.
    pub fn from_floats(
        values: Vec<f32>,
        shape: &[usize],
        device: &Device,
    ) -> Result<Self, ShapeError> {
        check_rank(shape)?;
        if values.len() != shape.iter().product::<usize>() {
            return Err(ShapeError::Numel {
                shape: shape.into(),
                len: values.len(),
            });
        }
        let inner = Tensor::from_data(TensorData::new(values, padded(shape)), device);
        Ok(Self::wrap(inner, shape.to_vec()))
    }

    /// A rank-0 tensor holding `v`.
    pub fn scalar(v: f32, device: &Device) -> Self {
        Self::full(&[], v, device)
    }

    /// A tensor of the given shape filled with `v`.
    ///
    /// # Panics
    /// If `shape` has more than [`MAX_RANK`] dims.
    pub fn full(shape: &[usize], v: f32, device: &Device) -> Self {
        assert!(
            shape.len() <= MAX_RANK,
            "shape {} has too many dims",
            Dims(shape.to_vec())
        );
        Self::wrap(Tensor::full(padded(shape), v, device), shape.to_vec())
    }

    /// Zeros of the given shape.
    pub fn zeros(shape: &[usize], device: &Device) -> Self {
        Self::full(shape, 0.0, device)
    }

    /// Ones of the given shape.
    pub fn ones(shape: &[usize], device: &Device) -> Self {
        Self::full(shape, 1.0, device)
    }

    /// A tensor of zeros with this tensor's shape and device.
    pub fn zeros_like(&self) -> Self {
        Self::wrap(self.inner.zeros_like(), self.shape.clone())
    }

    /// A tensor of ones with this tensor's shape and device.
    pub fn ones_like(&self) -> Self {
        Self::wrap(self.inner.ones_like(), self.shape.clone())
    }

    /// The logical shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The logical shape, for error messages.
    pub fn dims(&self) -> Dims {
        Dims(self.shape.clone())
    }

    /// The number of logical dimensions.
    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// The device the tensor lives on.
    pub fn device(&self) -> Device {
        self.inner.device()
    }

    /// Converts to a burn tensor of rank `D`.
    ///
    /// Leading size-one dims are dropped or added as needed, so a `[1, 3]` tensor converts to
    /// `Tensor<1>` of shape `[3]` and a scalar to `Tensor<1>` of shape `[1]`; anything else whose
    /// rank is not `D` is an error.
    pub fn to_tensor<const D: usize>(&self) -> Result<Tensor<D>, ShapeError> {
        let r = self.shape.len();
        let target: Vec<usize> = if r == D {
            self.shape.clone()
        } else if r < D {
            let mut t = vec![1; D - r];
            t.extend_from_slice(&self.shape);
            t
        } else if self.shape[..r - D].iter().all(|&d| d == 1) {
            self.shape[r - D..].to_vec()
        } else {
            return Err(ShapeError::Rank {
                expected: D,
                shape: self.dims(),
            });
        };
        let mut arr = [0usize; D];
        arr.copy_from_slice(&target);
        Ok(self.inner.clone().reshape(arr))
    }

    /// Reads the values back to the host, row-major.
    pub fn to_vec(&self) -> Vec<f32> {
        self.inner.try_to_vec_as::<f32>().unwrap_or_default()
    }

    /// The single value of a one-element tensor (the first value otherwise).
    pub fn item(&self) -> f32 {
        self.inner
            .clone()
            .slice([0..1, 0..1, 0..1, 0..1, 0..1, 0..1])
            .into_scalar::<f32>()
    }

    /// Reshapes to a shape with the same number of elements.
    pub fn reshape(&self, shape: &[usize]) -> Result<Self, ShapeError> {
        check_rank(shape)?;
        if shape.iter().product::<usize>() != self.numel() {
            return Err(ShapeError::Reshape {
                from: self.dims(),
                to: shape.into(),
            });
        }
        Ok(Self::wrap(
            self.inner.clone().reshape(padded(shape)),
            shape.to_vec(),
        ))
    }

    /// Broadcasts to `shape` (numpy rules; dims of size one stretch).
    pub fn expand(&self, shape: &[usize]) -> Result<Self, ShapeError> {
        check_rank(shape)?;
        let b = broadcast_shapes(&self.shape, shape)?;
        if b != shape {
            return Err(ShapeError::Broadcast {
                a: self.dims(),
                b: shape.into(),
            });
        }
        if b == self.shape {
            return Ok(self.clone());
        }
        Ok(Self::wrap(self.inner.clone().expand(padded(shape)), b))
    }

    /// Broadcasts two tensors to their common shape.
    pub fn broadcast_pair(a: &Self, b: &Self) -> Result<(Self, Self), ShapeError> {
        let s = broadcast_shapes(&a.shape, &b.shape)?;
        Ok((a.expand(&s)?, b.expand(&s)?))
    }

    fn try_binary(
        &self,
        other: &Self,
        f: impl FnOnce(Inner, Inner) -> Inner,
    ) -> Result<Self, ShapeError> {
        let shape = broadcast_shapes(&self.shape, &other.shape)?;
        Ok(Self::wrap(
            f(self.inner.clone(), other.inner.clone()),
            shape,
        ))
    }

    fn binary(&self, other: &Self, f: impl FnOnce(Inner, Inner) -> Inner) -> Self {
        self.try_binary(other, f)
            .unwrap_or_else(|e| panic!("DTensor arithmetic: {e}"))
    }

    /// `self + other`, broadcasting; shapes that do not broadcast are an error naming both
    /// (as torch raises): the checked form of [`DTensor::add`], for shapes from user input.
    pub fn try_add(&self, other: &Self) -> Result<Self, ShapeError> {
        self.try_binary(other, |a, b| a + b)
    }
    /// `self - other`, broadcasting, or an error naming both shapes.
    pub fn try_sub(&self, other: &Self) -> Result<Self, ShapeError> {
        self.try_binary(other, |a, b| a - b)
    }
    /// `self * other`, broadcasting, or an error naming both shapes.
    pub fn try_mul(&self, other: &Self) -> Result<Self, ShapeError> {
        self.try_binary(other, |a, b| a * b)
    }
    /// `self / other`, broadcasting, or an error naming both shapes.
    pub fn try_div(&self, other: &Self) -> Result<Self, ShapeError> {
        self.try_binary(other, |a, b| a / b)
    }

    fn unary(&self, f: impl FnOnce(Inner) -> Inner) -> Self {
        Self::wrap(f(self.inner.clone()), self.shape.clone())
    }

    /// `self + other`, broadcasting, for shapes known to broadcast (a distribution's own
    /// parameters). Panics if they do not; [`DTensor::try_add`] returns the error instead.
    pub fn add(&self, other: &Self) -> Self {
        self.binary(other, |a, b| a + b)
    }
    /// `self - other`, broadcasting, for shapes known to broadcast (a distribution's own
    /// parameters). Panics if they do not; [`DTensor::try_sub`] returns the error instead.
    pub fn sub(&self, other: &Self) -> Self {
        self.binary(other, |a, b| a - b)
    }
    /// `self * other`, broadcasting, for shapes known to broadcast (a distribution's own
    /// parameters). Panics if they do not; [`DTensor::try_mul`] returns the error instead.
    pub fn mul(&self, other: &Self) -> Self {
        self.binary(other, |a, b| a * b)
    }
    /// `self / other`, broadcasting, for shapes known to broadcast (a distribution's own
    /// parameters). Panics if they do not; [`DTensor::try_div`] returns the error instead.
    pub fn div(&self, other: &Self) -> Self {
        self.binary(other, |a, b| a / b)
    }
    /// Elementwise maximum, broadcasting.
    pub fn max_pair(&self, other: &Self) -> Self {
        let (a, b) =
            Self::broadcast_pair(self, other).unwrap_or_else(|e| panic!("DTensor max: {e}"));
        let shape = a.shape.clone();
        Self::wrap(a.inner.max_pair(b.inner), shape)
    }
    /// `self + c`.
    pub fn add_scalar(&self, c: f64) -> Self {
        self.unary(|a| a.add_scalar(c))
    }
    /// `self * c`.
    pub fn mul_scalar(&self, c: f64) -> Self {
        self.unary(|a| a.mul_scalar(c))
    }
    /// `c - self`.
    pub fn rsub_scalar(&self, c: f64) -> Self {
        self.unary(|a| a.neg().add_scalar(c))
    }
    /// `-self`.
    pub fn neg(&self) -> Self {
        self.unary(|a| a.neg())
    }
    /// `exp(self)`.
    pub fn exp(&self) -> Self {
        self.unary(|a| a.exp())
    }
    /// Natural logarithm.
    pub fn log(&self) -> Self {
        self.unary(|a| a.log())
    }
    /// `ln(1 + self)`.
    pub fn log1p(&self) -> Self {
        self.unary(|a| a.log1p())
    }
    /// Square root.
    pub fn sqrt(&self) -> Self {
        self.unary(|a| a.sqrt())
    }
    /// Absolute value.
    pub fn abs(&self) -> Self {
        self.unary(|a| a.abs())
    }
    /// `self²`.
    pub fn square(&self) -> Self {
        self.unary(|a| a.square())
    }
    /// `1 / self`.
    pub fn recip(&self) -> Self {
        self.unary(|a| a.recip())
    }
    /// `self^p`.
    pub fn powf_scalar(&self, p: f64) -> Self {
        self.unary(|a| a.powf_scalar(p))
    }
    /// The sign (-1, 0 or 1).
    pub fn sign(&self) -> Self {
        self.unary(|a| a.sign())
    }
    /// Logistic sigmoid.
    pub fn sigmoid(&self) -> Self {
        self.unary(activation::sigmoid)
    }
    /// `ln(1 + exp(self))`, computed stably.
    pub fn softplus(&self) -> Self {
        self.unary(|a| activation::softplus(a, 1.0))
    }
    /// `ln(sigmoid(self))`, computed stably.
    pub fn log_sigmoid(&self) -> Self {
        self.unary(activation::log_sigmoid)
    }
    /// Hyperbolic arctangent.
    pub fn atanh(&self) -> Self {
        self.unary(|a| a.atanh())
    }
    /// The lower triangle of the last two dims, from the `diagonal`-th diagonal down (torch's
    /// `tril`: 0 keeps the diagonal, -1 starts below it); the rest set to zero. A rank-1
    /// tensor is read as a `1 x n` matrix.
    pub fn tril(&self, diagonal: i64) -> Self {
        self.unary(|a| a.tril(diagonal))
    }
    /// The upper triangle of the last two dims, from the `diagonal`-th diagonal up (torch's
    /// `triu`); the rest set to zero.
    pub fn triu(&self, diagonal: i64) -> Self {
        self.unary(|a| a.triu(diagonal))
    }
    /// Clamps into `[lo, hi]`.
    pub fn clamp(&self, lo: f64, hi: f64) -> Self {
        self.unary(|a| a.clamp(lo, hi))
    }
    /// `ln Γ(self)` for positive arguments (shifted Stirling series, ~1e-7 relative error).
    pub fn lgamma(&self) -> Self {
        // ln Γ(x) = ln Γ(x + 6) - ln(x (x+1) ... (x+5)), and Stirling's series for z = x + 6 >= 6.
        let x = self.inner.clone();
        let mut shift = x.clone().log();
        for k in 1..6 {
            shift = shift + x.clone().add_scalar(k as f64).log();
        }
        let z = x.add_scalar(6.0);
        let zr = z.clone().recip();
        let zr2 = zr.clone().square();
        let series = zr.clone().mul(
            zr2.clone()
                .mul_scalar(1.0 / 1260.0)
                .add_scalar(-1.0 / 360.0)
                .mul(zr2)
                .add_scalar(1.0 / 12.0),
        );
        let stirling = (z.clone().add_scalar(-0.5)) * z.clone().log() - z
            + 0.5 * (2.0 * std::f64::consts::PI).ln()
            + series;
        Self::wrap(stirling - shift, self.shape.clone())
    }
    /// Replaces elements where `mask` is zero by `value`.
    pub fn where_zero(&self, mask: &Self, value: f64) -> Self {
        let m = mask
            .expand(&self.shape)
            .unwrap_or_else(|e| panic!("DTensor mask: {e}"));
        self.unary(|a| a.mask_fill(m.inner.equal_elem(0.0), value))
    }
    /// Replaces elements where `cond` is zero by the matching element of `other`.
    pub fn select_where(&self, cond: &Self, other: &Self) -> Self {
        let shape = broadcast_shapes(
            &broadcast_shapes(&self.shape, &cond.shape).unwrap(),
            &other.shape,
        )
        .unwrap_or_else(|e| panic!("DTensor where: {e}"));
        let a = self.expand(&shape).unwrap();
        let c = cond.expand(&shape).unwrap();
        let o = other.expand(&shape).unwrap();
        Self::wrap(a.inner.mask_where(c.inner.equal_elem(0.0), o.inner), shape)
    }
    /// 1.0 where `self > c`, else 0.0.
    pub fn gt_scalar(&self, c: f64) -> Self {
        self.unary(|a| a.greater_elem(c).float())
    }
    /// 1.0 where `self >= c`, else 0.0.
    pub fn ge_scalar(&self, c: f64) -> Self {
        self.unary(|a| a.greater_equal_elem(c).float())
    }
    /// 1.0 where `self < c`, else 0.0.
    pub fn lt_scalar(&self, c: f64) -> Self {
        self.unary(|a| a.lower_elem(c).float())
    }
    /// 1.0 where `self == other` (broadcasting), else 0.0.
    pub fn eq_tensor(&self, other: &Self) -> Self {
        let (a, b) =
            Self::broadcast_pair(self, other).unwrap_or_else(|e| panic!("DTensor eq: {e}"));
        let shape = a.shape.clone();
        Self::wrap(a.inner.equal(b.inner).float(), shape)
    }

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

    /// Index of the largest element along the last dim, as floats.
    pub fn argmax_last(&self) -> Self {
        let batch = self.shape[..self.rank().saturating_sub(1)].to_vec();
        let out = self.inner.clone().argmax(MAX_RANK - 1).float();
        Self::wrap(out.reshape(padded(&batch)), batch)
    }

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

    /// Whether every element is finite.
    pub fn all_finite(&self) -> bool {
        self.inner.clone().is_finite().all().into_scalar::<bool>()
    }
    /// Whether any element is NaN.
    pub fn any_nan(&self) -> bool {
        self.inner.clone().is_nan().any().into_scalar::<bool>()
    }
    /// Whether every element is `> c`.
    pub fn all_gt(&self, c: f64) -> bool {
        self.inner
            .clone()
            .greater_elem(c)
            .all()
            .into_scalar::<bool>()
    }
    /// Whether every element is `>= c`.
    pub fn all_ge(&self, c: f64) -> bool {
        self.inner
            .clone()
            .greater_equal_elem(c)
            .all()
            .into_scalar::<bool>()
    }
    /// Whether every element is `<= c`.
    pub fn all_le(&self, c: f64) -> bool {
        self.inner
            .clone()
            .lower_equal_elem(c)
            .all()
            .into_scalar::<bool>()
    }
    /// Whether every element is exactly `c`.
    pub fn all_eq(&self, c: f64) -> bool {
        self.inner.clone().equal_elem(c).all().into_scalar::<bool>()
    }
    /// The smallest element (for error messages).
    pub fn min_value(&self) -> f32 {
        self.inner.clone().min().into_scalar::<f32>()
    }
    /// The largest element (for error messages).
    pub fn max_value(&self) -> f32 {
        self.inner.clone().max().into_scalar::<f32>()
    }
}

impl<const D: usize> From<Tensor<D>> for DTensor {
    fn from(t: Tensor<D>) -> Self {
        DTensor::from_tensor(t)
    }
}

/// A plain number as a rank-0 tensor on burn's default device, so a distribution can be built
/// from numbers as in Pyro (`Normal::new(0.0, 5.0)` for `dist.Normal(0., 5.)`). Tensors that a
/// model computes on another device need parameters on that device: use
/// [`DTensor::scalar`] with it.
impl From<f32> for DTensor {
    fn from(v: f32) -> Self {
        DTensor::scalar(v, &Device::default())
    }
}

/// As `From<f32>` (the value is stored as f32).
impl From<f64> for DTensor {
    fn from(v: f64) -> Self {
        DTensor::scalar(v as f32, &Device::default())
    }
}

/// Conversion from a site's [`DTensor`] value into what a model asked for
/// (`DTensor` itself, or a burn `Tensor<D>`).
pub trait FromDTensor: Sized {
    /// Converts, or reports the shape that does not fit.
    fn from_dtensor(t: DTensor) -> Result<Self, ShapeError>;
}

impl FromDTensor for DTensor {
    fn from_dtensor(t: DTensor) -> Result<Self, ShapeError> {
        Ok(t)
    }
}

impl<const D: usize> FromDTensor for Tensor<D> {
    fn from_dtensor(t: DTensor) -> Result<Self, ShapeError> {
        t.to_tensor::<D>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev() -> Device {
        Device::flex()
    }

    #[test]
    fn round_trips_and_broadcasts() {
        let d = dev();
        let a = DTensor::from_floats(vec![1., 2., 3., 4., 5., 6.], &[2, 3], &d).unwrap();
        let b = DTensor::from_floats(vec![10., 20., 30.], &[3], &d).unwrap();
        let c = a.add(&b);
        assert_eq!(c.shape(), &[2, 3]);
        assert_eq!(c.to_vec(), vec![11., 22., 33., 14., 25., 36.]);
        let s = c.sum_rightmost(1);
        assert_eq!(s.shape(), &[2]);
        assert_eq!(s.to_vec(), vec![66., 75.]);
        assert_eq!(c.sum().shape(), &[] as &[usize]);
        assert_eq!(c.sum().item(), 141.0);
        let t: Tensor<2> = c.to_tensor().unwrap();
        assert_eq!(t.dims(), [2, 3]);
        assert!(c.to_tensor::<1>().is_err());
        let t3: Tensor<3> = c.to_tensor().unwrap();
        assert_eq!(t3.dims(), [1, 2, 3]);
    }

    #[test]
    fn gather_and_one_hot() {
        let d = dev();
        let lp = DTensor::from_floats(vec![0.1, 0.2, 0.7, 0.5, 0.25, 0.25], &[2, 3], &d).unwrap();
        let idx = DTensor::from_floats(vec![2., 0.], &[2], &d).unwrap();
        assert_eq!(lp.gather_last(&idx).unwrap().to_vec(), vec![0.7, 0.5]);
        let oh = idx.one_hot(3).unwrap();
        assert_eq!(oh.shape(), &[2, 3]);
        assert_eq!(oh.to_vec(), vec![0., 0., 1., 1., 0., 0.]);
        assert_eq!(lp.argmax_last().to_vec(), vec![2., 0.]);
    }

    #[test]
    fn lgamma_matches_known_values() {
        let d = dev();
        let x = DTensor::from_floats(vec![0.5, 1.0, 2.0, 3.5, 10.0, 0.01], &[6], &d).unwrap();
        let got = x.lgamma().to_vec();
        let want = [
            0.5723649429247001,
            0.0,
            0.0,
            1.2009736023470743,
            12.801827480081469,
            4.599479878042022,
        ];
        for (g, w) in got.iter().zip(want) {
            assert!(
                (*g as f64 - w).abs() < 2e-6 * w.abs().max(1.0),
                "{g} vs {w}"
            );
        }
    }

    #[test]
    fn bad_shapes_are_errors() {
        let d = dev();
        assert!(DTensor::from_floats(vec![1.0; 5], &[2, 3], &d).is_err());
        let a = DTensor::zeros(&[2, 3], &d);
        assert!(a.reshape(&[4]).is_err());
        assert!(a.expand(&[3]).is_err());
        assert!(a.expand(&[4, 2, 3]).is_ok());
    }
}
