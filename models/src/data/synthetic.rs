//! A built-in synthetic FRI/FRII population, the default data set that needs no download.
//!
//! Parametric sources in the spirit of the Gaussian-component models the paper cites: a core,
//! two jets along a (possibly bent) axis and lobes. FRI sources are brightest at the core and
//! fade along widening plumes; FRII sources have a faint core, edge-brightened lobes and compact
//! hotspots at their outer ends. Position angle, size, arm asymmetry and bending are random.
//! Each sky model is convolved with a FIRST-like beam (5.4" FWHM at 1.8"/pixel = 3 pixels),
//! given Gaussian noise, then clipped at 3σ and min-max scaled like FRDEEP, and quantised to
//! 8 bits. Deterministic for a seed (each source has its own stream).

use super::prepare::sigma_clipped_rms;
use super::stamps::{StampFormat, StampStream};
use super::{Class, DataError, DataSet, Image, Sample};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use std::collections::BTreeMap;
use std::f64::consts::PI;
use std::path::Path;

/// Generator settings.
#[derive(Clone, Debug)]
pub struct Synthetic {
    /// Stamp size in pixels (FRDEEP: 150).
    pub size: usize,
    /// Beam FWHM in pixels (FIRST: 5.4" / 1.8" = 3).
    pub beam_fwhm: f64,
    /// Noise rms relative to the brightest pixel of the convolved source.
    pub noise: f64,
}

impl Synthetic {
    /// FIRST's beam in its pixels: 5.4" / 1.8".
    pub const FIRST_BEAM_PIXELS: f64 = 3.0;
}

impl Default for Synthetic {
    fn default() -> Self {
        Synthetic {
            size: 150,
            beam_fwhm: Self::FIRST_BEAM_PIXELS,
            noise: 0.01,
        }
    }
}

struct Canvas {
    n: usize,
    px: Vec<f64>,
}

impl Canvas {
    fn gauss(&mut self, cy: f64, cx: f64, amp: f64, sigma: f64) {
        let r = (4.0 * sigma).ceil() as isize;
        let (y0, x0) = (cy.round() as isize, cx.round() as isize);
        for y in (y0 - r).max(0)..=(y0 + r).min(self.n as isize - 1) {
            for x in (x0 - r).max(0)..=(x0 + r).min(self.n as isize - 1) {
                let d2 = (y as f64 - cy).powi(2) + (x as f64 - cx).powi(2);
                self.px[y as usize * self.n + x as usize] +=
                    amp * (-d2 / (2.0 * sigma * sigma)).exp();
            }
        }
    }
    fn convolve(&mut self, sigma: f64) {
        let r = (4.0 * sigma).ceil() as isize;
        let k: Vec<f64> = (-r..=r)
            .map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp())
            .collect();
        let s: f64 = k.iter().sum();
        let n = self.n as isize;
        for pass in 0..2 {
            let src = self.px.clone();
            for y in 0..n {
                for x in 0..n {
                    let mut acc = 0.0;
                    for (j, w) in k.iter().enumerate() {
                        let o = j as isize - r;
                        let (yy, xx) = if pass == 0 { (y, x + o) } else { (y + o, x) };
                        if yy >= 0 && xx >= 0 && yy < n && xx < n {
                            acc += w * src[(yy * n + xx) as usize];
                        }
                    }
                    self.px[(y * n + x) as usize] = acc / s;
                }
            }
        }
    }
}

/// Points along an arm: from the core outwards over `length` pixels, the direction turning
/// linearly by `bend` radians. Returns `(y, x, t)` with `t` in (0, 1].
fn arm(cy: f64, cx: f64, angle: f64, length: f64, bend: f64, steps: usize) -> Vec<(f64, f64, f64)> {
    let mut pts = Vec::with_capacity(steps);
    let (mut y, mut x) = (cy, cx);
    let ds = length / steps as f64;
    for i in 1..=steps {
        let t = i as f64 / steps as f64;
        let a = angle + bend * t;
        x += ds * a.cos();
        y -= ds * a.sin();
        pts.push((y, x, t));
    }
    pts
}

impl Synthetic {
    /// The noiseless, unconvolved sky model of one source.
    fn sky(&self, class: Class, rng: &mut ChaCha8Rng) -> Canvas {
        let n = self.size;
        let mut c = Canvas {
            n,
            px: vec![0.0; n * n],
        };
        let ctr = (n as f64 - 1.0) / 2.0;
        let (cy, cx) = (
            ctr + rng.random_range(-2.0..2.0),
            ctr + rng.random_range(-2.0..2.0),
        );
        let pa = rng.random_range(0.0..PI);
        let extent = rng.random_range(15.0..(0.4 * n as f64));
        let asym = rng.random_range(0.7..1.0);
        let (bend_max, steps) = match class {
            Class::FRI => (0.8, 40),
            Class::FRII => (0.15, 40),
        };
        // Both arms bend the same way (a tail swept back by the host's motion).
        let bend = rng.random_range(-bend_max..bend_max);
        let lengths = if rng.random_bool(0.5) {
            [extent, extent * asym]
        } else {
            [extent * asym, extent]
        };
        match class {
            Class::FRI => {
                c.gauss(cy, cx, 1.0, 1.2);
                // Jets as chains of overlapping Gaussians whose amplitudes are scaled by
                // spacing / (σ √2π), so the surface brightness along the jet is about
                // `jet · e^(-fade t)` whatever the sampling.
                let jet = rng.random_range(0.25..0.5);
                let fade = rng.random_range(2.0..3.5);
                for (side, &len) in lengths.iter().enumerate() {
                    let a = pa + side as f64 * PI;
                    let b = if side == 0 { bend } else { -bend };
                    let ds = len / steps as f64;
                    for (y, x, t) in arm(cy, cx, a, len, b, steps) {
                        let sigma = 1.2 + 3.0 * t;
                        let norm = ds / (sigma * (2.0 * PI).sqrt());
                        c.gauss(y, x, jet * (-fade * t).exp() * norm * sigma, sigma);
                    }
                }
            }
            Class::FRII => {
                c.gauss(cy, cx, rng.random_range(0.05..0.3), 1.0);
                for (side, &len) in lengths.iter().enumerate() {
                    let a = pa + side as f64 * PI;
                    let b = if side == 0 { bend } else { -bend };
                    let pts = arm(cy, cx, a, len, b, steps);
                    let ds = len / steps as f64;
                    for &(y, x, t) in &pts {
                        let (amp, sigma) = if t < 0.6 {
                            (0.03, 1.0)
                        } else {
                            let u = (t - 0.6) / 0.4;
                            (0.1 + 0.3 * u, 2.5 + 1.5 * (1.0 - u))
                        };
                        c.gauss(y, x, amp * ds / (2.0 * PI).sqrt(), sigma);
                    }
                    let &(hy, hx, _) = pts.last().expect("an arm has points");
                    c.gauss(hy, hx, rng.random_range(0.8..1.2), 1.0);
                }
            }
        }
        c
    }

    /// One source of `class`: sky model, beam, noise, 3σ clipping, min-max scaling, 8 bits.
    pub fn source(&self, class: Class, seed: u64) -> Image {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut c = self.sky(class, &mut rng);
        c.convolve(self.beam_fwhm / (8.0 * 2f64.ln()).sqrt());
        let peak = c.px.iter().cloned().fold(0.0, f64::max);
        let noise = Normal::new(0.0, self.noise * peak).expect("positive noise");
        let noisy: Vec<f32> =
            c.px.iter()
                .map(|v| (v + noise.sample(&mut rng)) as f32)
                .collect();
        let thr = 3.0 * sigma_clipped_rms(&noisy, 3.0) as f32;
        let clipped: Vec<f32> = noisy
            .iter()
            .map(|&v| if v <= thr { 0.0 } else { v })
            .collect();
        let hi = clipped.iter().cloned().fold(0.0, f32::max);
        let pixels = clipped
            .iter()
            .map(|&v| ((v / hi).clamp(0.0, 1.0) * 255.0).round() / 255.0)
            .collect();
        Image::new(self.size, pixels)
    }

    /// `n` sources per class, FRI then FRII, source `i` of a class seeded from `(seed, class, i)`.
    pub fn samples(&self, n: usize, seed: u64, offset: usize) -> Vec<Sample> {
        let mut out = Vec::with_capacity(2 * n);
        for class in Class::ALL {
            for i in offset..offset + n {
                out.push(self.sample(class, i, seed));
            }
        }
        out
    }

    /// Source `i` of `class` of the set seeded with `seed`, as [`Synthetic::samples`] makes it.
    pub fn sample(&self, class: Class, i: usize, seed: u64) -> Sample {
        let s = seed
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add((class.label() as u64) << 40)
            .wrapping_add(i as u64);
        let mut meta = BTreeMap::new();
        meta.insert("seed".into(), s.to_string());
        Sample {
            image: self.source(class, s),
            label: class,
            name: format!("synthetic_{}_{i:05}", class.name()),
            meta,
        }
    }

    /// Writes the stamps of [`Synthetic::samples`]`(n, seed, 0)` into `out/FRI/` and
    /// `out/FRII/` with `labels.csv` (split `train`), and `grid.png` of 16 sources spread over
    /// the set, a chunk at a time as they are made (in parallel): any `n` needs the memory of
    /// one chunk and of the `labels.csv` rows, and the first stamps are on disk at once.
    /// Returns the number written.
    pub fn write_stamps(
        &self,
        out: &Path,
        n: usize,
        seed: u64,
        format: StampFormat,
    ) -> Result<usize, DataError> {
        use rayon::prelude::*;
        const CHUNK: usize = 64;
        let total = n.saturating_mul(2);
        let step = (total / 16).max(1);
        let mut stream = StampStream::new(out, format, true, "train");
        let mut grid = vec![];
        for start in (0..total).step_by(CHUNK) {
            let end = total.min(start + CHUNK);
            let chunk: Vec<Sample> = (start..end)
                .into_par_iter()
                .map(|k| self.sample(Class::ALL[k / n], k % n, seed))
                .collect();
            stream.write(&chunk)?;
            grid.extend(
                (start..end)
                    .filter(|k| k % step == 0 && k / step < 16)
                    .map(|k| chunk[k - start].image.clone()),
            );
        }
        let written = stream.finish()?;
        super::writers::write_grid(&out.join("grid.png"), &grid, 4)?;
        Ok(written)
    }

    /// A data set of `n_train` training and `n_test` test sources per class.
    pub fn dataset(&self, n_train: usize, n_test: usize, seed: u64) -> DataSet {
        DataSet {
            name: format!("synthetic(seed {seed})"),
            train: self.samples(n_train, seed, 0),
            test: self.samples(n_test, seed, n_train),
        }
    }
}
