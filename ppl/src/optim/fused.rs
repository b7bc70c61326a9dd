//! One-pass optimiser updates on the CPU. Written with tensor operations, an Adam step makes
//! about a dozen passes over every parameter tensor (each `mul_scalar`, `add`, `sqrt`, ... reads
//! and writes a whole tensor); for the paper's 104M-parameter VAE that is most of a step's
//! memory traffic. Here the parameter, its gradient and the optimiser's state are unwrapped
//! from burn's CPU tensors (no copy when a tensor has a single owner) and updated element by
//! element in one parallel pass. Tensors on other devices (a GPU) take the tensor-operation
//! path in the optimisers instead.

use super::deferred::DeferredGrad;
use crate::tensor::DTensor;
use burn::prelude::*;
use burn::tensor::TensorData;
use rayon::prelude::*;

/// Elements per parallel task; below this a tensor is updated on the calling thread.
const CHUNK: usize = 1 << 16;

/// Whether `t` lives on burn's CPU backend (flex) without autodiff, so the fused path applies.
pub(crate) fn on_cpu(t: &DTensor) -> bool {
    let d = t.device();
    !d.is_autodiff() && d == Device::flex()
}

/// Whether `t` takes the fused path: an f32 CPU tensor of `shape`.
fn fits(t: &DTensor, shape: &[usize]) -> bool {
    on_cpu(t) && t.is_f32() && t.shape() == shape
}

fn zeros(n: usize, shape: &[usize]) -> TensorData {
    TensorData::new(vec![0f32; n], shape.to_vec())
}

fn back(d: TensorData, shape: &[usize], device: &Device) -> DTensor {
    DTensor::from_data(d, shape, device)
}

/// Runs `f(p, g, a, b)` over chunks of the four arrays, in parallel when they are large;
/// returns whether any call returned true (a non-finite gradient element).
fn for_chunks(
    p: &mut [f32],
    g: &[f32],
    a: &mut [f32],
    b: &mut [f32],
    f: impl Fn(&mut [f32], &[f32], &mut [f32], &mut [f32]) -> bool + Sync,
) -> bool {
    if p.len() < 2 * CHUNK {
        return f(p, g, a, b);
    }
    p.par_chunks_mut(CHUNK)
        .zip(g.par_chunks(CHUNK))
        .zip(a.par_chunks_mut(CHUNK))
        .zip(b.par_chunks_mut(CHUNK))
        .map(|(((p, g), a), b)| f(p, g, a, b))
        .reduce(|| false, |x, y| x | y)
}

/// 1 when `g` is NaN or infinite (all exponent bits set), else 0: an integer test that
/// vectorises as an OR reduction inside the update loops.
#[inline(always)]
fn nonfinite_bit(g: f32) -> u32 {
    u32::from(g.to_bits() & 0x7f80_0000 == 0x7f80_0000)
}

/// Adam's coefficients for one step.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AdamStep {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    /// Elementwise gradient clamp (ClippedAdam); `None` for Adam.
    pub clip: Option<f64>,
    /// The step number, from 1.
    pub t: i32,
}

/// One Adam step in a single pass: returns `(param, exp_avg, exp_avg_sq, nonfinite)` (the last:
/// whether the gradient held a NaN or an infinity), or the inputs back (`Err`) when they are not
/// f32 CPU tensors of one shape.
// The error hands the inputs back by value for the tensor-operation path (no copies).
#[allow(clippy::type_complexity, clippy::result_large_err)]
pub(crate) fn adam(
    p: DTensor,
    g: DTensor,
    m: Option<DTensor>,
    v: Option<DTensor>,
    h: AdamStep,
) -> Result<(DTensor, DTensor, DTensor, bool), (DTensor, DTensor, Option<DTensor>, Option<DTensor>)>
{
    let shape = p.shape().to_vec();
    let same = |t: &Option<DTensor>| t.as_ref().is_none_or(|t| fits(t, &shape));
    if !fits(&p, &shape) || !fits(&g, &shape) || !same(&m) || !same(&v) {
        return Err((p, g, m, v));
    }
    let device = p.device();
    let n: usize = shape.iter().product();
    let (mut pd, gd) = (p.into_data(), g.into_data());
    let mut md = m.map_or_else(|| zeros(n, &shape), DTensor::into_data);
    let mut vd = v.map_or_else(|| zeros(n, &shape), DTensor::into_data);
    let c = AdamCoeffs::new(&h);
    let bad = {
        let ps = pd.as_mut_slice::<f32>().expect("f32 checked");
        let gs = gd.as_slice::<f32>().expect("f32 checked");
        let ms = md.as_mut_slice::<f32>().expect("f32 state");
        let vs = vd.as_mut_slice::<f32>().expect("f32 state");
        for_chunks(ps, gs, ms, vs, |p, g, m, v| c.update(p, g, m, v))
    };
    Ok((
        back(pd, &shape, &device),
        back(md, &shape, &device),
        back(vd, &shape, &device),
        bad,
    ))
}

thread_local! {
    /// Each thread's buffer for one band of a deferred gradient.
    static BAND_BUFFER: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Elements per band of a deferred gradient: the band is computed into a buffer of this size
/// that stays in the core's cache while Adam reads it (`cargo bench --bench fused_adam`).
const BAND: usize = 1 << 18;

/// [`adam`] with the gradient computed band by band from `g` inside the pass, never whole:
/// each parallel task writes a band of rows into its own buffer and updates those rows.
/// Returns the inputs back (`Err`) when they are not f32 CPU tensors of `g`'s shape.
// The error hands the inputs back by value for the caller's fallback (no copies).
#[allow(clippy::type_complexity, clippy::result_large_err)]
pub(crate) fn adam_deferred(
    p: DTensor,
    g: &DeferredGrad,
    m: Option<DTensor>,
    v: Option<DTensor>,
    h: AdamStep,
) -> Result<(DTensor, DTensor, DTensor, bool), (DTensor, Option<DTensor>, Option<DTensor>)> {
    let shape = p.shape().to_vec();
    let same = |t: &Option<DTensor>| t.as_ref().is_none_or(|t| fits(t, &shape));
    if !fits(&p, &shape) || shape.as_slice() != g.shape() || !same(&m) || !same(&v) {
        return Err((p, m, v));
    }
    let device = p.device();
    let (n, cols) = (shape.iter().product::<usize>(), shape[1].max(1));
    let mut pd = p.into_data();
    let mut md = m.map_or_else(|| zeros(n, &shape), DTensor::into_data);
    let mut vd = v.map_or_else(|| zeros(n, &shape), DTensor::into_data);
    let c = AdamCoeffs::new(&h);
    let band = (BAND / cols).max(1) * cols;
    let bad = {
        let ps = pd.as_mut_slice::<f32>().expect("f32 checked");
        let ms = md.as_mut_slice::<f32>().expect("f32 state");
        let vs = vd.as_mut_slice::<f32>().expect("f32 state");
        ps.par_chunks_mut(band)
            .zip(ms.par_chunks_mut(band))
            .zip(vs.par_chunks_mut(band))
            .enumerate()
            .map(|(k, ((p, m), v))| {
                let first = k * band / cols;
                BAND_BUFFER.with(|b| match b.try_borrow_mut() {
                    Ok(mut b) => {
                        // Zero-filled once per thread, then reused: `write_rows` overwrites it.
                        if b.len() < p.len() {
                            b.resize(p.len(), 0.0);
                        }
                        let gb = &mut b[..p.len()];
                        g.write_rows(first, gb);
                        c.update(p, gb, m, v)
                    }
                    // Taken by a band this thread is already computing (a `RowSource` that
                    // runs parallel work of its own lets rayon start another band here).
                    Err(_) => {
                        let mut gb = vec![0f32; p.len()];
                        g.write_rows(first, &mut gb);
                        c.update(p, &gb, m, v)
                    }
                })
            })
            .reduce(|| false, |x, y| x | y)
    };
    Ok((
        back(pd, &shape, &device),
        back(md, &shape, &device),
        back(vd, &shape, &device),
        bad,
    ))
}

/// Adam's per-step constants in f32, and its elementwise update.
struct AdamCoeffs {
    b1: f32,
    b2: f32,
    c1: f32,
    c2: f32,
    step: f32,
    inv_sqrt_bc2: f32,
    eps: f32,
    wd: f32,
    clip: f32,
}

impl AdamCoeffs {
    fn new(h: &AdamStep) -> Self {
        AdamCoeffs {
            b1: h.beta1 as f32,
            b2: h.beta2 as f32,
            c1: (1.0 - h.beta1) as f32,
            c2: (1.0 - h.beta2) as f32,
            step: (h.lr / (1.0 - h.beta1.powi(h.t))) as f32,
            inv_sqrt_bc2: (1.0 / (1.0 - h.beta2.powi(h.t)).sqrt()) as f32,
            eps: h.eps as f32,
            wd: h.weight_decay as f32,
            // `clip` = infinity is no clamp.
            clip: h.clip.map_or(f32::INFINITY, |c| c as f32),
        }
    }

    /// One Adam update of `p`, `m`, `v` from `g`; returns whether `g` held a NaN or an
    /// infinity. f32 arithmetic in the tensor-operation path's order (so both agree to
    /// rounding), with no branch in the loop so that it vectorises.
    #[inline]
    fn update(&self, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) -> bool {
        let c = self;
        let mut bad = 0u32;
        for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            bad |= nonfinite_bit(g);
            let g = g.clamp(-c.clip, c.clip) + *p * c.wd;
            *m = *m * c.b1 + g * c.c1;
            *v = *v * c.b2 + g * g * c.c2;
            *p -= *m / (v.sqrt() * c.inv_sqrt_bc2 + c.eps) * c.step;
        }
        bad != 0
    }
}

/// One Adagrad step (learning rate `clr` already decayed) in a single pass: returns
/// `(param, sum, nonfinite)`, or the inputs back when they are not f32 CPU tensors of one shape.
// The error hands the inputs back by value for the tensor-operation path (no copies).
#[allow(clippy::type_complexity, clippy::result_large_err)]
pub(crate) fn adagrad(
    p: DTensor,
    g: DTensor,
    sum: Option<DTensor>,
    clr: f64,
    eps: f64,
) -> Result<(DTensor, DTensor, bool), (DTensor, DTensor, Option<DTensor>)> {
    let shape = p.shape().to_vec();
    if !fits(&p, &shape) || !fits(&g, &shape) || sum.as_ref().is_some_and(|s| !fits(s, &shape)) {
        return Err((p, g, sum));
    }
    let device = p.device();
    let n: usize = shape.iter().product();
    let (mut pd, gd) = (p.into_data(), g.into_data());
    let mut sd = sum.map_or_else(|| zeros(n, &shape), DTensor::into_data);
    let (clr, eps) = (clr as f32, eps as f32);
    let bad = {
        let ps = pd.as_mut_slice::<f32>().expect("f32 checked");
        let gs = gd.as_slice::<f32>().expect("f32 checked");
        let ss = sd.as_mut_slice::<f32>().expect("f32 state");
        if ps.len() < 2 * CHUNK {
            adagrad_chunk(ps, gs, ss, clr, eps)
        } else {
            ps.par_chunks_mut(CHUNK)
                .zip(gs.par_chunks(CHUNK))
                .zip(ss.par_chunks_mut(CHUNK))
                .map(|((p, g), s)| adagrad_chunk(p, g, s, clr, eps))
                .reduce(|| false, |x, y| x | y)
        }
    };
    Ok((back(pd, &shape, &device), back(sd, &shape, &device), bad))
}

/// One Adagrad chunk; returns whether the gradient held a NaN or an infinity.
fn adagrad_chunk(p: &mut [f32], g: &[f32], s: &mut [f32], clr: f32, eps: f32) -> bool {
    let mut bad = 0u32;
    for ((p, &g), s) in p.iter_mut().zip(g).zip(s.iter_mut()) {
        bad |= nonfinite_bit(g);
        *s += g * g;
        *p -= g / (s.sqrt() + eps) * clr;
    }
    bad != 0
}

#[cfg(test)]
mod tests {
    use crate::optim::{Adagrad, Adam, ClippedAdam, Optimizer};
    use crate::tensor::DTensor;
    use burn::prelude::*;

    /// Three steps of `opt` on CPU tensors (the fused path) and on autodiff-device tensors
    /// (the tensor-operation path) give the same parameters and state.
    fn same_both_ways(mut fused: impl Optimizer, mut ops: impl Optimizer) {
        let plain = Device::flex();
        let ad = plain.clone().autodiff();
        // Large enough for the parallel path (2 * CHUNK elements and more).
        let n = 3 * super::CHUNK + 17;
        let vals = |k: f32| {
            (0..n)
                .map(|i| ((i as f32 * 0.37 + k).sin()) * 3.0)
                .collect()
        };
        let (mut p1, mut p2) = (
            DTensor::from_floats(vals(0.0), &[n], &plain).unwrap(),
            DTensor::from_floats(vals(0.0), &[n], &ad).unwrap(),
        );
        for step in 0..3 {
            let g: Vec<f32> = vals(step as f32 + 1.0);
            assert!(super::on_cpu(&p1) && !super::on_cpu(&p2));
            p1 = fused.update(
                "w",
                p1,
                DTensor::from_floats(g.clone(), &[n], &plain).unwrap(),
            );
            p2 = ops.update("w", p2, DTensor::from_floats(g, &[n], &ad).unwrap());
        }
        let (a, b) = (p1.to_vec(), p2.to_vec());
        for i in 0..n {
            assert!(
                (a[i] - b[i]).abs() <= 1e-5 * (1.0 + b[i].abs()),
                "{i}: {} vs {}",
                a[i],
                b[i]
            );
        }
        let (sa, sb) = (fused.state(), ops.state());
        assert_eq!(
            sa.tensors.keys().collect::<Vec<_>>(),
            sb.tensors.keys().collect::<Vec<_>>()
        );
        for (k, t) in &sa.tensors {
            let (x, y) = (t.to_vec(), sb.tensors[k].to_vec());
            assert!(
                x.iter()
                    .zip(&y)
                    .all(|(x, y)| (x - y).abs() <= 1e-5 * (1.0 + y.abs())),
                "{k}"
            );
        }
    }

    #[test]
    fn fused_adam_matches_tensor_operations() {
        same_both_ways(Adam::new(0.01), Adam::new(0.01));
        let wd = || Adam::new(0.01).with_weight_decay(0.1).with_betas(0.8, 0.99);
        same_both_ways(wd(), wd());
    }

    #[test]
    fn fused_clipped_adam_matches_tensor_operations() {
        let c = || ClippedAdam::new(0.01).with_clip_norm(1.5).with_lrd(0.9);
        same_both_ways(c(), c());
    }

    /// Every optimiser, on the fused path (sequential and parallel sizes) and the
    /// tensor-operation path, names the parameters whose gradient held a NaN or an infinity,
    /// once; finite gradients are never flagged.
    #[test]
    fn non_finite_gradients_are_flagged_on_both_paths() {
        let plain = Device::flex();
        let ad = plain.clone().autodiff();
        for n in [5, 3 * super::CHUNK + 1] {
            for dev in [&plain, &ad] {
                let opts: [Box<dyn Optimizer>; 3] = [
                    Box::new(Adam::new(0.01)),
                    Box::new(ClippedAdam::new(0.01)),
                    Box::new(Adagrad::new(0.01)),
                ];
                for mut opt in opts {
                    let t = |v: Vec<f32>| DTensor::from_floats(v, &[n], dev).unwrap();
                    let mut g = vec![0.5f32; n];
                    opt.update("ok", t(vec![1.0; n]), t(g.clone()));
                    assert!(opt.take_nonfinite().is_empty(), "{}", opt.name());
                    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                        g[n - 1] = bad;
                        opt.update("a", t(vec![1.0; n]), t(g.clone()));
                        opt.update("b", t(vec![1.0; n]), t(vec![0.5; n]));
                        assert_eq!(opt.take_nonfinite(), ["a"], "{} {bad} n={n}", opt.name());
                        assert!(opt.take_nonfinite().is_empty());
                    }
                }
            }
        }
    }

    #[test]
    fn fused_adagrad_matches_tensor_operations() {
        same_both_ways(Adagrad::new(0.1), Adagrad::new(0.1));
    }

    /// Adam and ClippedAdam with a deferred gradient (computed band by band inside the pass,
    /// several bands in parallel, a ragged last band) give bit for bit what they give with the
    /// same gradient written whole; SGD's default path (the gradient computed whole first)
    /// gives its own update.
    #[test]
    fn deferred_gradients_update_as_written_ones() {
        use crate::optim::Sgd;
        use crate::optim::deferred::{DeferredGrad, RowSource};
        struct Wave(usize, usize, f32);
        impl RowSource for Wave {
            fn shape(&self) -> [usize; 2] {
                [self.0, self.1]
            }
            fn write_rows(&self, first: usize, out: &mut [f32]) {
                for (k, o) in out.iter_mut().enumerate() {
                    *o = ((first * self.1 + k) as f32 * 0.37 + self.2).sin() * 3.0;
                }
            }
        }
        let plain = Device::flex();
        // 2 · BAND / 700 rows and a ragged last band; and a tiny one.
        for (rows, cols) in [(2 * super::BAND / 700 + 5, 700), (3, 5)] {
            let n = rows * cols;
            let p0: Vec<f32> = (0..n).map(|i| (i as f32 * 0.011).cos()).collect();
            let opts: [(Box<dyn Optimizer>, Box<dyn Optimizer>); 3] = [
                (Box::new(Adam::new(0.01)), Box::new(Adam::new(0.01))),
                (
                    Box::new(ClippedAdam::new(0.01).with_clip_norm(1.5)),
                    Box::new(ClippedAdam::new(0.01).with_clip_norm(1.5)),
                ),
                (Box::new(Sgd::new(0.01)), Box::new(Sgd::new(0.01))),
            ];
            for (mut a, mut b) in opts {
                let t = |v: Vec<f32>| DTensor::from_floats(v, &[rows, cols], &plain).unwrap();
                let (mut pa, mut pb) = (t(p0.clone()), t(p0.clone()));
                for step in 0..3 {
                    let src = || Box::new(Wave(rows, cols, step as f32));
                    let g = DeferredGrad::new(src());
                    pa = a.update_deferred("w", pa, None, g);
                    pb = b.update("w", pb, t(DeferredGrad::new(src()).materialise()));
                }
                let bits = |d: &DTensor| d.to_vec().iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert!(bits(&pa) == bits(&pb), "{} {rows}x{cols}", a.name());
                for (k, s) in &a.state().tensors {
                    assert!(bits(s) == bits(&b.state().tensors[k]), "{} {k}", a.name());
                }
                assert_eq!(a.state().scalars, b.state().scalars);
            }
        }
    }
}
