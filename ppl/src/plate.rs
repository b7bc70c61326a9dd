//! `plate`: conditionally independent batch dims, with subsampling (Pyro's `pyro.plate`).

use crate::error::{PplError, Result};
use crate::runtime::{Messenger, active_plates, apply_stack, with_handler};
use crate::shape::Dims;
use crate::site::{PlateFrame, Site, SiteKind};
use burn::prelude::*;
use burn::tensor::TensorData;
use std::sync::Arc;

/// A plate about to be entered; configure it, then [`Plate::run`] the code inside it.
#[derive(Clone, Debug)]
pub struct Plate {
    name: String,
    size: usize,
    subsample_size: Option<usize>,
    subsample: Option<Vec<usize>>,
    dim: Option<isize>,
    /// The subsample was drawn (and recorded) by [`Plate::subsampled`]: entering the plate
    /// reuses it without a second plate site.
    drawn: bool,
}

/// Declares `size` conditionally independent copies along one batch dim:
/// `with pyro.plate(name, size):` becomes `plate(name, size).run(|p| { ... })`.
pub fn plate(name: &str, size: usize) -> Plate {
    Plate {
        name: name.to_string(),
        size,
        subsample_size: None,
        subsample: None,
        dim: None,
        drawn: false,
    }
}

/// What the code inside a plate sees: the frame and the subsample indices.
#[derive(Clone, Debug)]
pub struct PlateContext {
    /// The plate's frame (name, dim, size, subsample size).
    pub frame: PlateFrame,
    indices: Arc<Vec<usize>>,
}

impl PlateContext {
    /// The indices into `0..size` this run sees (all of them when not subsampled).
    pub fn indices(&self) -> &[usize] {
        &self.indices
    }
    /// The indices as an integer tensor, for `Tensor::select`.
    pub fn indices_tensor(&self, device: &Device) -> Tensor<1, Int> {
        let v: Vec<i64> = self.indices.iter().map(|&i| i as i64).collect();
        Tensor::from_data(TensorData::new(v, [self.indices.len()]), device)
    }
    /// Selects this run's subsample along `dim` of `t` (Pyro's `pyro.subsample`).
    pub fn subsample<const D: usize>(&self, t: Tensor<D>, dim: usize) -> Tensor<D> {
        if self.frame.subsample_size == self.frame.size {
            return t;
        }
        let device = t.device();
        t.select(dim, self.indices_tensor(&device))
    }
}

impl Plate {
    /// Subsample `k` of the `size` elements at random on every run; log-densities inside are
    /// scaled by `size / k` so the estimate stays unbiased.
    pub fn subsample_size(mut self, k: usize) -> Self {
        self.subsample_size = Some(k);
        self
    }
    /// Use these indices as the subsample.
    pub fn subsample(mut self, indices: Vec<usize>) -> Self {
        self.subsample_size = Some(indices.len());
        self.subsample = Some(indices);
        self
    }
    /// The batch dim to occupy, counted from the right (-1 is the rightmost batch dim).
    /// By default the rightmost dim not held by an enclosing plate.
    pub fn dim(mut self, dim: isize) -> Self {
        self.dim = Some(dim);
        self
    }

    fn invalid(&self, reason: String) -> PplError {
        PplError::InvalidPlate {
            plate: self.name.clone(),
            reason,
        }
    }

    fn check(&self) -> Result<usize> {
        if self.size == 0 {
            return Err(self.invalid("size must be at least 1".into()));
        }
        let k = self.subsample_size.unwrap_or(self.size);
        if k == 0 || k > self.size {
            return Err(self.invalid(format!("subsample size {k} must be in 1..={}", self.size)));
        }
        if let Some(ix) = &self.subsample
            && let Some(bad) = ix.iter().find(|&&i| i >= self.size)
        {
            return Err(self.invalid(format!(
                "subsample index {bad} is out of range for size {}",
                self.size
            )));
        }
        Ok(k)
    }

    /// This run's subsample. It is a site of its own, so that `trace` records it and
    /// `replay` hands the guide's indices to the model; a plate that is not subsampled has
    /// no such site.
    fn indices(&self, frame: &PlateFrame) -> Result<Arc<Vec<usize>>> {
        if self.drawn {
            return Ok(Arc::new(self.subsample.clone().expect("drawn")));
        }
        if frame.subsample_size == self.size && self.subsample.is_none() {
            return Ok(Arc::new((0..self.size).collect()));
        }
        let mut site = Site::new(&self.name, SiteKind::Plate);
        site.plates.push(frame.clone());
        site.indices = self.subsample.clone().map(Arc::new);
        apply_stack(&mut site)?;
        Ok(site.indices.expect("plate site resolved"))
    }

    /// Draws the subsample now and returns a plate that keeps it: entering the returned plate
    /// again (for a second group of local sites, say) sees the same indices and records no
    /// second subsample site, as reusing one `pyro.plate(...)` object does in Pyro. A
    /// subsampled plate built afresh twice in one run is a duplicate site.
    pub fn subsampled(mut self) -> Result<Plate> {
        let k = self.check()?;
        let frame = PlateFrame {
            name: self.name.clone(),
            dim: self.dim.unwrap_or(-1),
            size: self.size,
            subsample_size: k,
        };
        let ix = self.indices(&frame)?;
        self.subsample = Some((*ix).clone());
        self.subsample_size = Some(k);
        self.drawn = true;
        Ok(self)
    }

    /// Runs `f` inside the plate.
    pub fn run<R>(self, f: impl FnOnce(&PlateContext) -> Result<R>) -> Result<R> {
        let k = self.check()?;
        let enclosing = active_plates();
        let dim = match self.dim {
            Some(d) if d >= 0 => {
                return Err(self.invalid(format!(
                    "dim must be negative (counted from the right), got {d}"
                )));
            }
            Some(d) => {
                if let Some(other) = enclosing.iter().find(|f| f.dim == d) {
                    return Err(PplError::PlateDimCollision {
                        plate: self.name.clone(),
                        dim: d,
                        other: other.name.clone(),
                    });
                }
                d
            }
            None => (1..)
                .map(|i| -(i as isize))
                .find(|d| enclosing.iter().all(|f| f.dim != *d))
                .expect("a free dim exists"),
        };
        if let Some(other) = enclosing.iter().find(|f| f.name == self.name) {
            return Err(self.invalid(format!(
                "nested inside a plate of the same name ('{}')",
                other.name
            )));
        }
        let frame = PlateFrame {
            name: self.name.clone(),
            dim,
            size: self.size,
            subsample_size: k,
        };
        let indices = self.indices(&frame)?;
        let ctx = PlateContext {
            frame: frame.clone(),
            indices,
        };
        with_handler(PlateMessenger { frame }, || f(&ctx)).map(|(r, _)| r)
    }

    /// A sequential plate (`for i in pyro.plate("data", n):`): runs `f(i)` for each index of
    /// this run's subsample, in order. Sites inside are scaled by `size / subsample_size` as
    /// in a vectorised plate but get no batch dim (their names must differ per iteration,
    /// `format!("obs_{i}")`), and plates nested inside allocate dims as if it were absent.
    pub fn for_each(self, mut f: impl FnMut(usize) -> Result<()>) -> Result<()> {
        let k = self.check()?;
        let frame = PlateFrame {
            name: self.name.clone(),
            dim: 0,
            size: self.size,
            subsample_size: k,
        };
        let scale = self.size as f64 / k as f64;
        for &i in self.indices(&frame)?.iter() {
            with_handler(SequentialMessenger { scale }, || f(i))?;
        }
        Ok(())
    }
}

/// The handler of one iteration of a sequential plate: the subsampling scale only.
struct SequentialMessenger {
    scale: f64,
}

impl Messenger for SequentialMessenger {
    fn process(&mut self, site: &mut Site) -> Result<()> {
        if site.kind == SiteKind::Sample {
            site.scale *= self.scale;
        }
        Ok(())
    }
}

/// The handler a plate pushes while its body runs.
struct PlateMessenger {
    frame: PlateFrame,
}

impl Messenger for PlateMessenger {
    fn process(&mut self, site: &mut Site) -> Result<()> {
        if site.kind != SiteKind::Sample {
            return Ok(());
        }
        site.plates.insert(0, self.frame.clone());
        site.scale *= self.frame.size as f64 / self.frame.subsample_size as f64;
        broadcast_to_plates(site)
    }
    fn plate_frame(&self) -> Option<&PlateFrame> {
        Some(&self.frame)
    }
}

/// Expands the site's distribution so its batch shape covers every plate recorded on it
/// (Pyro's `BroadcastMessenger`); a batch dim that is neither 1 nor the plate's size is an error.
fn broadcast_to_plates(site: &mut Site) -> Result<()> {
    let Some(dist) = site.dist.clone() else {
        return Ok(());
    };
    let batch = dist.batch_shape();
    let need = site.plate_width();
    let len = batch.len().max(need);
    let mut target = vec![1; len - batch.len()];
    target.extend_from_slice(&batch);
    for f in &site.plates {
        let pos = (len as isize + f.dim) as usize;
        if target[pos] == 1 {
            target[pos] = f.subsample_size;
        } else if target[pos] != f.subsample_size {
            return Err(PplError::PlateShape {
                site: site.name.clone(),
                plate: f.name.clone(),
                dim: f.dim,
                size: f.subsample_size,
                batch: Dims(batch),
            });
        }
    }
    if target != batch {
        site.dist = Some(
            dist.expand_batch(&target)
                .map_err(|e| PplError::at_site(&site.name, e))?,
        );
    }
    Ok(())
}
