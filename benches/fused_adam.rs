//! Would fusing a layer's weight-gradient product with its Adam update pay? (issue #28,
//! docs/performance.md.)
//!
//! Today a training step writes each weight gradient `xᵀ dY` to memory in full (the dense layers:
//! burn's GEMM, through `lobes_models::kernels::matrix::f32_matmul`; the sparse first layer:
//! `kernels::sparse_op`), then the fused Adam pass reads it back beside the weight and both
//! moments. Fused, the gradient is made a band of rows (a "panel") at a time into a buffer that
//! stays in cache, and Adam updates that band at once: the gradient never reaches memory. This
//! bench times both, for each large layer of the paper's VAE at batch 100, with Adam's update
//! as lobes' fused pass computes it (torch's formula, f32, same order):
//!
//! - **unfused**: the product into a new buffer (the code path a step runs), then Adam over all
//!   rows in parallel chunks;
//! - **fused, dense layers**: for each panel of rows, `x[:, rows]ᵀ dY` by the same GEMM
//!   (`f32_matmul_into`, all cores) into one reused buffer, then Adam over that panel (all cores);
//! - **fused, sparse first layer**: panels in parallel, each row of the gradient built from the
//!   non-zero entries of its input column (as `sparse_op` does) into a per-task buffer, then
//!   Adam over the panel.
//!
//! Best of five after one warm-up, per layer, milliseconds. Run with the machine otherwise idle:
//!
//! ```sh
//! cargo bench --bench fused_adam
//! ```

use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::tensor::TensorData;
use lobes::models::kernels::matrix::{View, f32_matmul, f32_matmul_into};
use lobes::models::kernels::sparse_op::SparseBackend;
use rayon::prelude::*;
use std::time::Instant;

/// Elements per parallel task of the Adam pass (lobes' fused pass uses the same).
const CHUNK: usize = 1 << 16;
/// The batch.
const B: usize = 100;

/// Adam's coefficients at step 10 (torch's defaults, lr 1e-3).
#[derive(Clone, Copy)]
struct Coeffs {
    b1: f32,
    b2: f32,
    c1: f32,
    c2: f32,
    step: f32,
    inv_sqrt_bc2: f32,
    eps: f32,
}

impl Coeffs {
    fn at(t: i32) -> Coeffs {
        let (b1, b2, lr) = (0.9f64, 0.999f64, 1e-3f64);
        Coeffs {
            b1: b1 as f32,
            b2: b2 as f32,
            c1: (1.0 - b1) as f32,
            c2: (1.0 - b2) as f32,
            step: (lr / (1.0 - b1.powi(t))) as f32,
            inv_sqrt_bc2: (1.0 / (1.0 - b2.powi(t)).sqrt()) as f32,
            eps: 1e-8,
        }
    }
}

/// One Adam update of `p`, `m`, `v` from `g`, on the calling thread.
fn adam_seq(h: Coeffs, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
    for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        *m = *m * h.b1 + g * h.c1;
        *v = *v * h.b2 + g * g * h.c2;
        *p -= *m / (v.sqrt() * h.inv_sqrt_bc2 + h.eps) * h.step;
    }
}

/// [`adam_seq`] over parallel chunks.
fn adam_par(h: Coeffs, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
    p.par_chunks_mut(CHUNK)
        .zip(g.par_chunks(CHUNK))
        .zip(m.par_chunks_mut(CHUNK))
        .zip(v.par_chunks_mut(CHUNK))
        .for_each(|(((p, g), m), v)| adam_seq(h, p, g, m, v));
}

/// `c = a b` on all cores into the caller's buffer (the product `f32_matmul` runs).
fn gemm_into(a: View, b: View, c: &mut [f32]) {
    // SAFETY: an initialised f32 is a valid `MaybeUninit<f32>`, and `f32_matmul_into` writes
    // only f32 values.
    let c = unsafe { &mut *(c as *mut [f32] as *mut [std::mem::MaybeUninit<f32>]) };
    f32_matmul_into(a, b, c);
}

/// Milliseconds of `f`, best of five after one warm-up call.
fn best_ms(mut f: impl FnMut()) -> f64 {
    f();
    (0..5)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .fold(f64::INFINITY, f64::min)
}

/// A weight, its moments and the factors of its gradient.
struct Layer {
    n: usize,
    m: usize,
    x: Vec<f32>,
    dy: Vec<f32>,
    p: Vec<f32>,
    mo: Vec<f32>,
    v: Vec<f32>,
}

impl Layer {
    fn new(n: usize, m: usize, x: Vec<f32>) -> Layer {
        let wave =
            |len: usize, f: f32, s: f32| (0..len).map(|i| (i as f32 * f).sin() * s).collect();
        Layer {
            n,
            m,
            x,
            dy: wave(B * m, 0.017, 1e-3),
            p: wave(n * m, 0.011, 0.02),
            mo: vec![1e-4; n * m],
            v: vec![1e-8; n * m],
        }
    }
}

fn dense_unfused(l: &mut Layer, h: Coeffs) {
    let g = f32_matmul(View::rows(&l.x, B, l.n).t(), View::rows(&l.dy, B, l.m));
    adam_par(h, &mut l.p, &g, &mut l.mo, &mut l.v);
}

fn dense_fused(l: &mut Layer, h: Coeffs, rows: usize, scratch: &mut Vec<f32>) {
    let (n, m) = (l.n, l.m);
    scratch.resize(rows * m, 0.0);
    for r0 in (0..n).step_by(rows) {
        let r1 = (r0 + rows).min(n);
        // x[:, r0..r1]ᵀ: element (r, b) at x[b · n + r0 + r].
        let panel = View {
            data: &l.x[r0..],
            rows: r1 - r0,
            cols: B,
            rs: 1,
            cs: n,
        };
        let g = &mut scratch[..(r1 - r0) * m];
        gemm_into(panel, View::rows(&l.dy, B, m), g);
        let band = r0 * m..r1 * m;
        adam_par(
            h,
            &mut l.p[band.clone()],
            g,
            &mut l.mo[band.clone()],
            &mut l.v[band],
        );
    }
}

fn flex(values: &[f32], rows: usize, cols: usize) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values.to_vec(), [rows, cols]))
}

fn sparse_unfused(l: &mut Layer, h: Coeffs, x: &FlexTensor, dy: &FlexTensor) {
    let g = <Flex as SparseBackend>::sparse_matmul_xt(x.clone(), dy.clone());
    let g = g.as_slice::<f32>().expect("contiguous f32");
    adam_par(h, &mut l.p, g, &mut l.mo, &mut l.v);
}

/// `y += a x`, for whatever instruction set the caller enables.
#[inline(always)]
fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// The sparse layer's gradient recipe: the input's non-zero entries by column, and `dY`.
struct SparseGrad<'a> {
    h: Coeffs,
    cols: &'a [Vec<(usize, f32)>],
    dy: &'a [f32],
    m: usize,
}

impl SparseGrad<'_> {
    /// One panel from row `first_row`: its gradient rows from the input's non-zero entries,
    /// then Adam.
    #[inline(always)]
    fn panel(&self, first_row: usize, p: &mut [f32], mo: &mut [f32], v: &mut [f32]) {
        let m = self.m;
        let mut g = vec![0f32; p.len()];
        for (r, row) in g.chunks_mut(m).enumerate() {
            for &(i, a) in &self.cols[first_row + r] {
                axpy(row, a, &self.dy[i * m..(i + 1) * m]);
            }
        }
        adam_seq(self.h, p, &g, mo, v);
    }
}

/// [`SparseGrad::panel`] compiled for AVX2 and FMA, as `sparse_op`'s kernels are on this kind
/// of CPU.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn panel_avx2(s: &SparseGrad, first_row: usize, p: &mut [f32], mo: &mut [f32], v: &mut [f32]) {
    s.panel(first_row, p, mo, v)
}

fn sparse_fused(l: &mut Layer, h: Coeffs, rows: usize, cols: &[Vec<(usize, f32)>]) {
    let m = l.m;
    let s = SparseGrad {
        h,
        cols,
        dy: &l.dy,
        m,
    };
    let avx2 = cfg!(target_arch = "x86_64")
        && std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma");
    l.p.par_chunks_mut(rows * m)
        .zip(l.mo.par_chunks_mut(rows * m))
        .zip(l.v.par_chunks_mut(rows * m))
        .enumerate()
        .for_each(|(k, ((p, mo), v))| {
            if avx2 {
                // SAFETY: the CPU has AVX2 and FMA (checked above).
                #[cfg(target_arch = "x86_64")]
                unsafe {
                    panel_avx2(&s, k * rows, p, mo, v)
                }
            } else {
                s.panel(k * rows, p, mo, v)
            }
        });
}

/// A batch of 100-pixel-square stamps, each a bright disc of radius 7 to 9 pixels at the centre
/// on zeros: ~2% non-zero, as FIRST stamps after sigma-clipping.
fn stamps() -> Vec<f32> {
    let n = 10_000;
    (0..B * n)
        .map(|i| {
            let (b, c) = (i / n, i % n);
            let (y, x) = ((c / 100) as f32 - 50.0, (c % 100) as f32 - 50.0);
            if (y * y + x * x).sqrt() < 7.0 + (b % 3) as f32 {
                0.5
            } else {
                0.0
            }
        })
        .collect()
}

fn main() {
    lobes::tune_allocator();
    println!("CPU: {}", lobes::models::bench::cpu_model());
    println!("layer (weight rows x cols) | unfused ms | fused ms by panel size");
    let h = Coeffs::at(10);
    let mut total = (0.0, 0.0);
    // The decoder's output layer and the two 4096 <-> 2048 layers (dense products).
    for (n, m) in [(4096, 10_000), (2048, 4096), (4096, 2048)] {
        let x = (0..B * n).map(|i| (i as f32 * 0.013).sin()).collect();
        let mut l = Layer::new(n, m, x);
        let unfused = best_ms(|| dense_unfused(&mut l, h));
        let mut scratch = vec![];
        let mut line = format!("dense  {n:>5} x {m:>5} | {unfused:8.1} |");
        let mut best = f64::INFINITY;
        for floats in [1 << 20, 1 << 21, 1 << 22] {
            let rows = (floats / m).max(1);
            let t = best_ms(|| dense_fused(&mut l, h, rows, &mut scratch));
            best = best.min(t);
            line += &format!(" {rows} rows: {t:.1} ");
        }
        println!("{line}");
        total.0 += unfused;
        total.1 += best.min(unfused);
    }
    // The encoder's first layer (sparse input).
    let (n, m) = (10_000, 4096);
    let x = stamps();
    let nonzero = x.iter().filter(|v| **v != 0.0).count() as f64 / x.len() as f64;
    let mut cols: Vec<Vec<(usize, f32)>> = vec![Vec::new(); n];
    for (i, row) in x.chunks_exact(n).enumerate() {
        for (j, &v) in row.iter().enumerate() {
            if v != 0.0 {
                cols[j].push((i, v));
            }
        }
    }
    let (xf, mut l) = (flex(&x, B, n), Layer::new(n, m, x));
    let dyf = flex(&l.dy, B, m);
    let unfused = best_ms(|| sparse_unfused(&mut l, h, &xf, &dyf));
    let mut line = format!(
        "sparse {n:>5} x {m:>5} ({:.1}% non-zero) | {unfused:8.1} |",
        100.0 * nonzero
    );
    let mut best = f64::INFINITY;
    for rows in [16, 64, 256] {
        let t = best_ms(|| sparse_fused(&mut l, h, rows, &cols));
        best = best.min(t);
        line += &format!(" {rows} rows: {t:.1} ");
    }
    println!("{line}");
    total.0 += unfused;
    total.1 += best.min(unfused);
    println!(
        "these four layers (95% of the weights): unfused {:.1} ms, each at its best (fused or not) {:.1} ms",
        total.0, total.1
    );
}
