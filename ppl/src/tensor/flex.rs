//! Helpers for writing a parallel elementwise operation on burn's CPU backend (flex).
//!
//! burn's CPU elementwise operations run on one thread. A custom autodiff operation that reads
//! its inputs as f32 slices and writes its output in parallel chunks is how lobes spreads the
//! large elementwise passes (the Bernoulli likelihood of [`crate::dist::Bernoulli`], a decoder's
//! sigmoid) over every core. These are the three pieces each such operation needs: is the
//! tensor on flex ([`on_flex`]), its values as one slice ([`f32_values`]), and a parallel map
//! into a new tensor ([`par_map`]).
//!
//! ```
//! use burn::backend::flex::FlexTensor;
//! use burn::tensor::TensorData;
//! use lobes_ppl::tensor::flex::{f32_values, par_map};
//!
//! let x = FlexTensor::from_data(TensorData::new(vec![1.0f32, -2.0, 3.0], [3]));
//! let xv = f32_values(&x).expect("f32 values");
//! let y = par_map(vec![3], |i| 2.0 * xv[i]);
//! assert_eq!(f32_values(&y).unwrap().as_ref(), &[2.0, -4.0, 6.0]);
//! ```

use burn::backend::flex::FlexTensor;
use burn::prelude::*;
use burn::tensor::{DType, TensorData};
use rayon::prelude::*;
use std::borrow::Cow;
use std::mem::MaybeUninit;

/// Elements per parallel task of [`par_map`]: large enough that a task outweighs its
/// scheduling, small enough that a `[100, 10000]` batch splits over many cores.
pub const CHUNK: usize = 1 << 14;

/// Whether `device` is burn's CPU backend (flex), with or without autodiff.
///
/// ```
/// use burn::prelude::*;
/// assert!(lobes_ppl::tensor::flex::on_flex(&Device::flex().autodiff()));
/// ```
pub fn on_flex(device: &Device) -> bool {
    *device == Device::flex() || *device == Device::flex().autodiff()
}

/// The values of an f32 flex tensor as one row-major slice: borrowed when the tensor is
/// contiguous, copied otherwise; `None` for another dtype.
pub fn f32_values(t: &FlexTensor) -> Option<Cow<'_, [f32]>> {
    if t.dtype() != DType::F32 {
        return None;
    }
    match t.as_slice::<f32>() {
        Some(s) => Some(Cow::Borrowed(s)),
        None => Some(Cow::Owned(t.to_contiguous().as_slice::<f32>()?.to_vec())),
    }
}

/// A new f32 flex tensor of `shape` whose `n` elements (the product of `shape`) are `f(0), …,
/// f(n − 1)` in row-major order, computed in parallel chunks of [`CHUNK`] elements.
pub fn par_map(shape: Vec<usize>, f: impl Fn(usize) -> f32 + Sync) -> FlexTensor {
    let n = shape.iter().product();
    let mut out: Vec<f32> = Vec::with_capacity(n);
    out.spare_capacity_mut()[..n]
        .par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(c, chunk): (usize, &mut [MaybeUninit<f32>])| {
            for (k, o) in chunk.iter_mut().enumerate() {
                o.write(f(c * CHUNK + k));
            }
        });
    // SAFETY: every one of the n reserved elements was written above.
    unsafe { out.set_len(n) };
    FlexTensor::from_data(TensorData::new(out, shape))
}
