//! The paper's pre-processing and augmentation: rotations about the image centre (exact for
//! multiples of 90°, nearest or bilinear otherwise), the central 100x100 crop, and a batch
//! stream over every (image, angle) pair that keeps images and labels paired; optionally, a
//! departure from the paper, mirror images as well ([`Augmented::with_reflections`]).

use super::{Class, Image, Sample};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Interpolation for rotations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interp {
    /// Nearest pixel.
    Nearest,
    /// Bilinear between the four nearest pixels.
    Bilinear,
}

/// Rotates `img` counter-clockwise by `deg` degrees about its centre; pixels that come from
/// outside the image are zero. Multiples of 90° are exact permutations.
pub fn rotate(img: &Image, deg: f64, interp: Interp) -> Image {
    let n = img.size;
    let turns = deg / 90.0;
    if (turns - turns.round()).abs() < 1e-12 {
        let k = (turns.round() as i64).rem_euclid(4);
        let mut out = Image::zeros(n);
        for y in 0..n {
            for x in 0..n {
                // Source of output pixel (y, x) for a counter-clockwise rotation by k * 90°.
                let (sy, sx) = match k {
                    0 => (y, x),
                    1 => (x, n - 1 - y),
                    2 => (n - 1 - y, n - 1 - x),
                    _ => (n - 1 - x, y),
                };
                out.pixels[y * n + x] = img.at(sy, sx);
            }
        }
        return out;
    }
    let (s, c) = deg.to_radians().sin_cos();
    let ctr = (n as f64 - 1.0) / 2.0;
    let mut out = Image::zeros(n);
    for y in 0..n {
        for x in 0..n {
            // Inverse map: rotate the output coordinate back by -deg (image y points down).
            let (dx, dy) = (x as f64 - ctr, y as f64 - ctr);
            let sx = c * dx - s * dy + ctr;
            let sy = s * dx + c * dy + ctr;
            out.pixels[y * n + x] = match interp {
                Interp::Nearest => {
                    let (rx, ry) = (sx.round(), sy.round());
                    if rx >= 0.0 && ry >= 0.0 && (rx as usize) < n && (ry as usize) < n {
                        img.at(ry as usize, rx as usize)
                    } else {
                        0.0
                    }
                }
                Interp::Bilinear => bilinear(img, sy, sx),
            };
        }
    }
    out
}

/// `img` mirrored left to right (pixel `(y, x)` from `(y, n - 1 - x)`). With the rotations
/// it gives every reflection: a mirror about any axis is this one followed by a rotation.
pub fn reflect(img: &Image) -> Image {
    let n = img.size;
    let mut out = Image::zeros(n);
    for y in 0..n {
        for x in 0..n {
            out.pixels[y * n + x] = img.at(y, n - 1 - x);
        }
    }
    out
}

/// `img` at the fractional position `(y, x)`, bilinear between the four nearest pixels; zero
/// outside the image.
pub fn bilinear(img: &Image, y: f64, x: f64) -> f32 {
    let n = img.size as isize;
    let (x0, y0) = (x.floor() as isize, y.floor() as isize);
    let (fx, fy) = ((x - x0 as f64) as f32, (y - y0 as f64) as f32);
    let px = |yy: isize, xx: isize| {
        if yy >= 0 && xx >= 0 && yy < n && xx < n {
            img.at(yy as usize, xx as usize)
        } else {
            0.0
        }
    };
    px(y0, x0) * (1.0 - fx) * (1.0 - fy)
        + px(y0, x0 + 1) * fx * (1.0 - fy)
        + px(y0 + 1, x0) * (1.0 - fx) * fy
        + px(y0 + 1, x0 + 1) * fx * fy
}

/// The paper's input: the central `crop x crop` (100x100 of a 150x150 stamp).
pub fn paper_view(img: &Image, crop: usize) -> Image {
    img.centre_crop(crop)
}

/// Rotation-augmented batches, streamed: each epoch visits every (image, angle) pair once in
/// a shuffled order and rotates on the fly, so the 198,000 augmented FRDEEP images never exist
/// at once. Every batch carries its images' own labels.
pub struct Augmented<'a> {
    samples: &'a [Sample],
    angles: Vec<f64>,
    crop: usize,
    interp: Interp,
    reflections: bool,
    rng: ChaCha8Rng,
}

/// One batch: `images[i]` is `crop²` pixels with label `labels[i]`.
#[derive(Clone, Debug)]
pub struct Batch {
    /// Row-major pixels, `len = labels.len() * crop²`.
    pub pixels: Vec<f32>,
    /// Labels, one per image.
    pub labels: Vec<Class>,
    /// Index of each image's source sample.
    pub sources: Vec<usize>,
    /// Rotation applied to each image, degrees.
    pub angles: Vec<f64>,
    /// Whether each image was mirrored (before its rotation).
    pub reflected: Vec<bool>,
    /// Images in the whole batch: `labels.len()` unless the batch is one replica's shard
    /// ([`Augmented::epoch_shard`]).
    pub whole: usize,
    /// The rows of the whole batch these images are, in order (`0..whole` when not sharded).
    pub rows: Vec<usize>,
}

impl<'a> Augmented<'a> {
    /// Rotations over `[0, 360)` in steps of `step_deg` (no augmentation when `step_deg` is 0
    /// or at least 360), then the central `crop`.
    pub fn new(
        samples: &'a [Sample],
        step_deg: f64,
        crop: usize,
        interp: Interp,
        seed: u64,
    ) -> Self {
        let angles = if step_deg <= 0.0 || step_deg >= 360.0 {
            vec![0.0]
        } else {
            (0..)
                .map(|k| k as f64 * step_deg)
                .take_while(|a| *a < 360.0 - 1e-9)
                .collect()
        };
        Augmented {
            samples,
            angles,
            crop,
            interp,
            reflections: false,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// Mirrors each drawn image with probability 1/2 (before rotating it), a fresh draw for
    /// each (image, angle) pair each epoch: radio galaxies are statistically invariant under
    /// reflections as under rotations. Not the paper's augmentation (rotations only); the
    /// images per epoch stay the same.
    pub fn with_reflections(mut self, on: bool) -> Self {
        self.reflections = on;
        self
    }

    /// Images per epoch: samples x angles.
    pub fn len(&self) -> usize {
        self.samples.len() * self.angles.len()
    }

    /// Whether the stream is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One epoch's batches of `batch` images (the last may be smaller), in a fresh order.
    /// Rotation happens as each batch is drawn.
    pub fn epoch(&mut self, batch: usize) -> Epoch<'_, 'a> {
        self.epoch_shard(batch, 0, 1)
    }

    /// [`Augmented::epoch`] for replica `rank` of `replicas` (data-parallel training): the same
    /// order and the same whole batches on every replica (the generator is the same), of which
    /// this one draws (and rotates) only rows `rank, rank + replicas, ...`. A final batch of
    /// fewer than `replicas` images, which would leave a replica without rows, is dropped
    /// on every replica.
    pub fn epoch_shard(&mut self, batch: usize, rank: usize, replicas: usize) -> Epoch<'_, 'a> {
        let mut order: Vec<u32> = (0..self.len() as u32).collect();
        order.shuffle(&mut self.rng);
        let flips: Vec<bool> = if self.reflections {
            (0..order.len())
                .map(|_| self.rng.random_bool(0.5))
                .collect()
        } else {
            vec![false; order.len()]
        };
        let replicas = replicas.max(1);
        if replicas > 1 && order.len() % batch.max(1) < replicas {
            let tail = order.len() % batch.max(1);
            order.truncate(order.len() - tail);
        }
        Epoch {
            aug: self,
            order,
            flips,
            pos: 0,
            batch: batch.max(1),
            rank,
            replicas,
        }
    }

    fn make_batch(&self, chunk: &[u32], flips: &[bool]) -> Batch {
        let na = self.angles.len();
        let mut b = Batch {
            pixels: Vec::with_capacity(chunk.len() * self.crop * self.crop),
            labels: vec![],
            sources: vec![],
            angles: vec![],
            reflected: vec![],
            whole: chunk.len(),
            rows: (0..chunk.len()).collect(),
        };
        for (&k, &flip) in chunk.iter().zip(flips) {
            let (i, a) = (k as usize / na, self.angles[k as usize % na]);
            let s = &self.samples[i];
            let mirrored;
            let source = if flip {
                mirrored = reflect(&s.image);
                &mirrored
            } else {
                &s.image
            };
            let view = if a == 0.0 {
                paper_view(source, self.crop)
            } else {
                paper_view(&rotate(source, a, self.interp), self.crop)
            };
            b.pixels.extend_from_slice(&view.pixels);
            b.labels.push(s.label);
            b.sources.push(i);
            b.angles.push(a);
            b.reflected.push(flip);
        }
        b
    }
}

/// The batches of one epoch, drawn lazily.
pub struct Epoch<'s, 'a> {
    aug: &'s Augmented<'a>,
    order: Vec<u32>,
    flips: Vec<bool>,
    pos: usize,
    batch: usize,
    rank: usize,
    replicas: usize,
}

impl Iterator for Epoch<'_, '_> {
    type Item = Batch;
    fn next(&mut self) -> Option<Batch> {
        if self.pos >= self.order.len() {
            return None;
        }
        let end = (self.pos + self.batch).min(self.order.len());
        let whole = &self.order[self.pos..end];
        let flips = &self.flips[self.pos..end];
        self.pos = end;
        if self.replicas == 1 {
            return Some(self.aug.make_batch(whole, flips));
        }
        let rows: Vec<usize> = (self.rank..whole.len()).step_by(self.replicas).collect();
        let mine: Vec<u32> = rows.iter().map(|&r| whole[r]).collect();
        let my_flips: Vec<bool> = rows.iter().map(|&r| flips[r]).collect();
        let mut b = self.aug.make_batch(&mine, &my_flips);
        b.whole = whole.len();
        b.rows = rows;
        Some(b)
    }
}
