//! `x w` for a mostly-zero `x` as a custom autodiff operation on burn's CPU backend (flex),
//! through burn's backend-extension mechanism (`#[backend_extension]`, an `Autodiff`
//! implementation with its own `Backward`).
//!
//! The VAE's input images are ~98.5% exact zeros (FIRST), and the first encoder layer
//! (10000 → 4096) holds 40% of the network's multiply-adds. Forward, each task owns a band of
//! output columns and walks the non-zero entries of `x` column by column, adding
//! `x[b, j] · w[j, band]` into output row `b`: every needed row of `w` is read once, rows for
//! all-zero pixels never. Backward, the weight gradient `xᵀ dy` is built row by row, in
//! parallel, from the non-zero entries of each column of `x`; rows for all-zero pixels are
//! exactly zero, as in the dense product. Work is proportional to the non-zero entries.
//!
//! The result is the dense product's within f32 summation order (tests below). Batches denser
//! than [`MAX_SPARSE_DENSITY`], other dtypes, and tensors on other devices (a GPU) take burn's
//! `matmul`, so every backend still works.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::prelude::*;
use burn::tensor::TensorData;
use lobes_ppl::optim::deferred::{self, RowSource};
use lobes_ppl::tensor::flex::{f32_values, on_flex};
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Above this fraction of non-zero entries in `x`, [`sparse_matmul`] uses the dense product:
/// a non-zero entry costs a memory-bound row update (~0.4 µs for 4096 outputs on these
/// machines), a dense column ~5 µs of GEMM for a batch of 100.
pub const MAX_SPARSE_DENSITY: f64 = 0.1;

/// The backend operations behind [`sparse_matmul`]. The default bodies are plain tensor
/// operations; flex overrides them with the kernels of this module, and autodiff gives the
/// product its backward pass.
#[backend_extension(Flex, Autodiff)]
pub trait SparseBackend: Backend {
    /// `x w` (`[b, n] × [n, m]`) for a mostly-zero `x`.
    fn sparse_matmul(x: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::float_matmul(x, w)
    }

    /// `xᵀ dy` (`[n, b] × [b, m]`) for a mostly-zero `x`.
    fn sparse_matmul_xt(x: FloatTensor<Self>, dy: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::float_matmul(Self::float_transpose(x), dy)
    }
}

/// Row-major f32 values of a 2-D flex tensor, copied only when not contiguous.
pub(crate) fn rows_f32(t: &FlexTensor) -> Option<(std::borrow::Cow<'_, [f32]>, usize, usize)> {
    if t.layout().num_dims() != 2 {
        return None;
    }
    let (r, c) = (t.layout().shape()[0], t.layout().shape()[1]);
    Some((f32_values(t)?, r, c))
}

/// A `[rows, cols]` flex tensor owning `values` (no copy).
pub(crate) fn flex_f32(values: Vec<f32>, rows: usize, cols: usize) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, [rows, cols]))
}

/// The non-zero entries of row-major `x` (`[b, n]`) by column: entry `j` lists `(row, value)`
/// for column `j` (empty for an all-zero column).
fn by_column(x: &[f32], b: usize, n: usize) -> Vec<Vec<(usize, f32)>> {
    let mut cols: Vec<Vec<(usize, f32)>> = vec![Vec::new(); n];
    for (i, row) in x.chunks_exact(n).enumerate().take(b) {
        for (j, &v) in row.iter().enumerate() {
            if v != 0.0 {
                cols[j].push((i, v));
            }
        }
    }
    cols
}

fn density(x: &[f32]) -> f64 {
    x.iter().filter(|v| **v != 0.0).count() as f64 / x.len().max(1) as f64
}

/// `y += a x`, written so that the compiler vectorises it for whatever instruction set the
/// enclosing function enables.
#[inline(always)]
fn axpy_body(y: &mut [f32], a: f32, x: &[f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// Writes `0 + a x` into `row` (the first term of `y += a x` from zero, bit for bit), or zeros
/// without `first`, and returns it initialised.
#[inline(always)]
fn init_row<'a>(row: &'a mut [MaybeUninit<f32>], first: Option<(f32, &[f32])>) -> &'a mut [f32] {
    match first {
        Some((a, x)) => {
            assert_eq!(x.len(), row.len(), "a whole row");
            for (r, &x) in row.iter_mut().zip(x) {
                r.write(0.0 + a * x);
            }
        }
        None => {
            for r in row.iter_mut() {
                r.write(0.0);
            }
        }
    }
    // SAFETY: every element of `row` was written just above (`x` is as long as the row).
    unsafe { &mut *(row as *mut [MaybeUninit<f32>] as *mut [f32]) }
}

/// `y += a x`, compiled for the x86-64 baseline.
fn axpy_plain(y: &mut [f32], a: f32, x: &[f32]) {
    axpy_body(y, a, x)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn axpy_avx512(y: &mut [f32], a: f32, x: &[f32]) {
    axpy_body(y, a, x)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn axpy_avx2(y: &mut [f32], a: f32, x: &[f32]) {
    axpy_body(y, a, x)
}

/// The widest `y += a x` this CPU runs (chosen at run time, as burn's `x86-v4` kernels are: the
/// binary still runs on CPUs without AVX-512).
fn axpy() -> fn(&mut [f32], f32, &[f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F.
            return |y, a, x| unsafe { axpy_avx512(y, a, x) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA.
            return |y, a, x| unsafe { axpy_avx2(y, a, x) };
        }
    }
    axpy_plain
}

/// Output columns per task of the sparse forward product.
const BAND: usize = 512;

impl SparseBackend for Flex {
    fn sparse_matmul(x: FlexTensor, w: FlexTensor) -> FlexTensor {
        let (Some((xs, b, n)), Some((ws, n2, m))) = (rows_f32(&x), rows_f32(&w)) else {
            return Flex::float_matmul(x, w);
        };
        if n != n2 || density(&xs) > MAX_SPARSE_DENSITY {
            return Flex::float_matmul(x, w);
        }
        let cols = by_column(&xs, b, n);
        let axpy = axpy();
        let mut out = vec![0f32; b * m];
        // Task t owns output columns [t·BAND, (t+1)·BAND) of every row, in its own buffer.
        let bands: Vec<(usize, Vec<f32>)> = (0..m.div_ceil(BAND))
            .into_par_iter()
            .map(|t| {
                let (c0, c1) = (t * BAND, ((t + 1) * BAND).min(m));
                let wd = c1 - c0;
                let mut acc = vec![0f32; b * wd];
                for (j, entries) in cols.iter().enumerate() {
                    let wrow = &ws[j * m + c0..j * m + c1];
                    for &(i, v) in entries {
                        axpy(&mut acc[i * wd..(i + 1) * wd], v, wrow);
                    }
                }
                (c0, acc)
            })
            .collect();
        for (c0, acc) in bands {
            let wd = acc.len() / b.max(1);
            for i in 0..b {
                out[i * m + c0..i * m + c0 + wd].copy_from_slice(&acc[i * wd..(i + 1) * wd]);
            }
        }
        flex_f32(out, b, m)
    }

    fn sparse_matmul_xt(x: FlexTensor, dy: FlexTensor) -> FlexTensor {
        let (Some((xs, b, n)), Some((ds, b2, m))) = (rows_f32(&x), rows_f32(&dy)) else {
            return Flex::float_matmul(Flex::float_transpose(x), dy);
        };
        if b != b2 || density(&xs) > MAX_SPARSE_DENSITY {
            return Flex::float_matmul(Flex::float_transpose(x), dy);
        }
        let entries = by_column(&xs, b, n);
        let axpy = axpy();
        // Each of the n rows written once, in parallel: no zero-filled buffer first (164 MB
        // for the paper's first layer, which calloc fills on the calling thread alone).
        let mut out: Vec<f32> = Vec::with_capacity(n * m);
        out.spare_capacity_mut()[..n * m]
            .par_chunks_mut(m)
            .zip(entries.par_iter())
            .for_each(|(row, e)| {
                let first = e.first().map(|&(i, v)| (v, &ds[i * m..(i + 1) * m]));
                let row = init_row(row, first);
                for &(i, v) in e.iter().skip(1) {
                    axpy(row, v, &ds[i * m..(i + 1) * m]);
                }
            });
        // SAFETY: `init_row` wrote every element of the n · m reserved above.
        unsafe { out.set_len(n * m) };
        flex_f32(out, n, m)
    }
}

/// The weight gradient `xᵀ dy` as a recipe ([`lobes_ppl::optim::deferred`]): row `j` is the
/// sum over the non-zero entries `(i, v)` of column `j` of `x` of `v · dy[i, :]`, built in the
/// same order as [`SparseBackend::sparse_matmul_xt`] builds it (so bit for bit its values),
/// a band of rows at a time inside Adam's update: the 164 MB gradient of the paper's first
/// layer, 98% zero rows, is never written whole (`cargo bench --bench fused_adam`: that
/// layer's gradient and Adam update 48–50 ms → 30–31 ms on a 2-core AMD Zen 3).
struct SparseRows {
    cols: Vec<Vec<(usize, f32)>>,
    dy: Vec<f32>,
    m: usize,
    axpy: fn(&mut [f32], f32, &[f32]),
}

impl RowSource for SparseRows {
    fn shape(&self) -> [usize; 2] {
        [self.cols.len(), self.m]
    }

    fn write_rows(&self, first: usize, out: &mut [f32]) {
        let m = self.m;
        for (r, row) in out.chunks_exact_mut(m).enumerate() {
            let e = &self.cols[first + r];
            match e.first() {
                Some(&(i, v)) => {
                    for (o, &d) in row.iter_mut().zip(&self.dy[i * m..(i + 1) * m]) {
                        *o = 0.0 + v * d;
                    }
                }
                None => row.fill(0.0),
            }
            for &(i, v) in e.iter().skip(1) {
                (self.axpy)(row, v, &self.dy[i * m..(i + 1) * m]);
            }
        }
    }
}

/// A backend on which [`sparse_matmul`]'s weight gradient may be deferred to the optimiser.
pub trait DeferSparseGrad: Backend {
    /// Offers `xᵀ dy` as the gradient of autodiff node `node` (the weight) to
    /// [`lobes_ppl::optim::deferred`]; whether it was taken (the backward pass then registers
    /// none). Never, by default.
    fn defer_xt(_x: &FloatTensor<Self>, _dy: &FloatTensor<Self>, _node: u64) -> bool {
        false
    }
}

impl DeferSparseGrad for Flex {
    fn defer_xt(x: &FlexTensor, dy: &FlexTensor, node: u64) -> bool {
        if !deferred::eligible(node) {
            return false;
        }
        let (Some((xs, b, n)), Some((ds, b2, m))) = (rows_f32(x), rows_f32(dy)) else {
            return false;
        };
        if b != b2 || density(&xs) > MAX_SPARSE_DENSITY {
            return false;
        }
        let source = SparseRows {
            cols: by_column(&xs, b, n),
            dy: ds.into_owned(),
            m,
            axpy: axpy(),
        };
        deferred::offer(node, Box::new(source)).is_ok()
    }
}

/// `x w` with `x` as data: the backward pass gives `w` its gradient through
/// [`SparseBackend::sparse_matmul_xt`], or defers it ([`DeferSparseGrad`]); and `x`, if it is
/// tracked, the dense `dy wᵀ`.
#[derive(Debug)]
struct SparseMatmul;

impl<B: Backend + SparseBackend + DeferSparseGrad> Backward<B, 2> for SparseMatmul {
    type State = (B::FloatTensorPrimitive, B::FloatTensorPrimitive);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let (x, w) = ops.state;
        let g = grads.consume::<B>(&ops.node);
        let [node_x, node_w] = ops.parents;
        if let Some(node) = node_w
            && !B::defer_xt(&x, &g, node.id.value)
        {
            grads.register::<B>(node.id, B::sparse_matmul_xt(x, g.clone()));
        }
        if let Some(node) = node_x {
            grads.register::<B>(node.id, B::float_matmul(g, B::float_transpose(w)));
        }
    }
}

impl<B: Backend + SparseBackend + DeferSparseGrad, C: CheckpointStrategy> SparseBackend
    for Autodiff<B, C>
{
    fn sparse_matmul(x: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self> {
        crate::kernels::tracked::tracked_product::<B, C, _>(SparseMatmul, x, w, B::sparse_matmul)
    }
}

/// `x w` for a mostly-zero `x` (`[b, n] × [n, m]`): the same values as `x.matmul(w)` within
/// f32 rounding, at a cost proportional to the non-zero entries on the CPU backend.
pub fn sparse_matmul(x: Tensor<2>, w: Tensor<2>) -> Tensor<2> {
    if !on_flex(&x.device()) {
        return x.matmul(w);
    }
    Tensor::from_dispatch(<Dispatch as SparseBackend>::sparse_matmul(
        x.into_dispatch(),
        w.into_dispatch(),
    ))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A `[b, n]` batch with about `zeros` per mille exact zeros, the rest in (0, 1].
    fn batch(b: usize, n: usize, zeros: u64, device: &Device) -> Tensor<2> {
        let px: Vec<f32> = (0..b * n)
            .map(|i| {
                let h = (i as u64).wrapping_mul(2654435761) % 1000;
                if h < zeros {
                    0.0
                } else {
                    (h - zeros + 1) as f32 / (1000 - zeros) as f32
                }
            })
            .collect();
        Tensor::<1>::from_floats(px.as_slice(), device).reshape([b, n])
    }

    pub(crate) fn wave(shape: [usize; 2], f: f32, device: &Device) -> Tensor<2> {
        let v: Vec<f32> = (0..shape[0] * shape[1])
            .map(|i| (i as f32 * f).sin())
            .collect();
        Tensor::<1>::from_floats(v.as_slice(), device).reshape(shape)
    }

    pub(crate) fn close(name: &str, a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), b.len(), "{name}: lengths");
        // f32 rounding of sums in a different order: relative to the vector's scale.
        let scale = 1.0 + a.iter().fold(0f32, |m, v| m.max(v.abs()));
        for (i, (a, b)) in a.iter().zip(b).enumerate() {
            assert!(
                (a - b).abs() <= 1e-5 * scale,
                "{name}[{i}]: {a} vs {b} (scale {scale})"
            );
        }
    }

    fn vec(t: Tensor<2>) -> Vec<f32> {
        t.try_into_vec_as::<f32>().unwrap()
    }

    /// Output, weight gradient and input gradient of `op(x, w)` under a fixed loss.
    pub(crate) fn run(
        op: fn(Tensor<2>, Tensor<2>) -> Tensor<2>,
        x: &Tensor<2>,
        w: &Tensor<2>,
        track_x: bool,
    ) -> (Vec<f32>, Vec<f32>, Option<Vec<f32>>) {
        let x = if track_x {
            x.clone().require_grad()
        } else {
            x.clone()
        };
        let w = w.clone().require_grad();
        let y = op(x.clone(), w.clone());
        let [b, m] = y.dims();
        let target = wave([b, m], 0.37, &y.device());
        let loss = (y.clone() * target).sum() + y.clone().square().sum() * 0.5;
        let g = loss.backward();
        let gx = x.grad(&g).map(|t| t.try_into_vec_as::<f32>().unwrap());
        (vec(y), w.grad(&g).unwrap().try_into_vec_as().unwrap(), gx)
    }

    #[test]
    fn the_sparse_product_matches_the_dense_one_in_values_and_gradients() {
        let device = Device::flex().autodiff();
        // 97% zeros (sparse kernels) and 50% zeros (the dense fallback); band edges at 512.
        for zeros in [970, 500] {
            let x = batch(9, 700, zeros, &device);
            let w = wave([700, 600], 0.013, &device);
            let dense = run(|x, w| x.matmul(w), &x, &w, false);
            let sparse = run(sparse_matmul, &x, &w, false);
            close("output", &dense.0, &sparse.0);
            close("weight gradient", &dense.1, &sparse.1);
            assert!(sparse.2.is_none());
            // With x tracked too, its gradient matches.
            let dense = run(|x, w| x.matmul(w), &x, &w, true);
            let sparse = run(sparse_matmul, &x, &w, true);
            close("input gradient", &dense.2.unwrap(), &sparse.2.unwrap());
        }
        // Without autodiff the forward kernel runs alone.
        let plain = Device::flex();
        let x = batch(5, 300, 980, &plain);
        let w = wave([300, 70], 0.05, &plain);
        close(
            "untracked output",
            &vec(x.clone().matmul(w.clone())),
            &vec(sparse_matmul(x, w)),
        );
    }

    /// Inside SVI the first layer's weight gradient is deferred to Adam (computed band by band
    /// in its update) and the parameters and Adam's state come out bit for bit as when every
    /// gradient is written whole; the dense layers' gradients are not deferred.
    #[test]
    fn a_deferred_first_layer_gradient_trains_bit_for_bit_as_a_written_one() {
        use crate::vae::{Batch, VaeConfig, guide, model};
        use lobes_ppl::infer::{Svi, TraceElbo};
        use lobes_ppl::optim::{Adam, Optimizer};
        let dev = Device::flex().autodiff();
        let config = VaeConfig {
            pixels: 900,
            latent: 3,
            hidden: vec![40, 16],
            dropout: 0.0,
            ..VaeConfig::paper(3, false)
        };
        let vae = config.init_seeded(5, &dev);
        // 6 images, ~3% non-zero (a disc), rows that differ.
        let batch = Batch {
            x: batch(6, 900, 970, &dev),
            y: Tensor::<2>::zeros([6, 2], &dev),
            shard: None,
        };
        let run = |defer: bool| {
            let mut svi = Svi::new(
                |b: &Batch| model(&vae, b),
                |b: &Batch| guide(&vae, b),
                Adam::new(1e-2),
                TraceElbo::default(),
            )
            .with_seed(7, None)
            .with_deferred_gradients(defer);
            let mut deferred = vec![];
            for _ in 0..3 {
                svi.step(&batch).unwrap();
                deferred.push(svi.deferred_last_step().to_vec());
            }
            let params: Vec<(String, Vec<f32>)> = svi
                .store()
                .names()
                .iter()
                .map(|n| {
                    (
                        n.clone(),
                        svi.store().entry(n).unwrap().unconstrained.to_vec(),
                    )
                })
                .collect();
            let state: Vec<(String, Vec<f32>)> = svi
                .optim
                .state()
                .tensors
                .iter()
                .map(|(k, t)| (k.clone(), t.to_vec()))
                .collect();
            (params, state, deferred)
        };
        let (on, off) = (run(true), run(false));
        // The first step creates the parameters (no leaves to defer yet); then the first layer.
        assert_eq!(
            on.2,
            [
                vec![],
                vec!["encoder.first.weight".to_string()],
                vec!["encoder.first.weight".to_string()]
            ]
        );
        assert!(off.2.iter().all(|d| d.is_empty()));
        assert_eq!(on.0.len(), off.0.len());
        for ((n, a), (_, b)) in on.0.iter().zip(&off.0).chain(on.1.iter().zip(&off.1)) {
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert!(bits(a) == bits(b), "{n} differs");
        }
    }
}
