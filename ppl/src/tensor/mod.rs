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
use burn::tensor::TensorData;

mod autodiff;
pub use autodiff::node_id;
mod dims;
mod elementwise;
pub mod flex;
mod ops;
mod predicates;
mod reduce;

/// The largest rank a [`DTensor`] can hold.
pub const MAX_RANK: usize = 6;

type Inner = Tensor<MAX_RANK>;

/// A float tensor of any rank up to [`MAX_RANK`], with numpy broadcasting.
///
/// Cloning is cheap (burn tensors are reference-counted handles).
///
/// Arithmetic reads like torch: `+`, `-`, `*`, `/` between `DTensor`s (owned or borrowed)
/// broadcast as [`DTensor::add`] does and panic, as it does, on shapes that do not broadcast
/// (the `try_*` methods return that error instead); either operand may also be an `f64`, and
/// unary `-` negates.
///
/// ```
/// use lobes_ppl::prelude::*;
/// let dev = Device::flex();
/// let x = DTensor::from_floats(vec![1.0, 2.0, 3.0], &[3], &dev)?;
/// let loc = DTensor::scalar(2.0, &dev);
/// let scale = DTensor::scalar(0.5, &dev);
/// // The Normal log-density, written as the maths.
/// let lp = -((&x - &loc) / &scale).square() * 0.5 - scale.log() - 0.918_938_5;
/// assert_eq!(lp.shape(), &[3]);
/// assert!((lp.to_vec()[1] - (0.5f32.ln().abs() - 0.918_938_5)).abs() < 1e-6);
/// assert_eq!((1.0 - &x).to_vec(), vec![0.0, -1.0, -2.0]);
/// assert_eq!((2.0 * &x + &loc).to_vec(), vec![4.0, 6.0, 8.0]);
/// # Ok::<(), PplError>(())
/// ```
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

    fn unary(&self, f: impl FnOnce(Inner) -> Inner) -> Self {
        Self::wrap(f(self.inner.clone()), self.shape.clone())
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
    fn bad_shapes_are_errors() {
        let d = dev();
        assert!(DTensor::from_floats(vec![1.0; 5], &[2, 3], &d).is_err());
        let a = DTensor::zeros(&[2, 3], &d);
        assert!(a.reshape(&[4]).is_err());
        assert!(a.expand(&[3]).is_err());
        assert!(a.expand(&[4, 2, 3]).is_ok());
    }
}
