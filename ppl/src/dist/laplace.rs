//! The Laplace distribution.

use super::{
    DistError, Distribution, broadcast_params, check_expand, check_value, require, uniform_noise,
};
use crate::tensor::DTensor;
use std::any::Any;
use std::sync::Arc;

/// Laplace(loc, scale), reparameterisable.
#[derive(Clone, Debug)]
pub struct Laplace {
    /// Location (median).
    pub loc: DTensor,
    /// Scale (> 0).
    pub scale: DTensor,
    batch: Vec<usize>,
}

impl Laplace {
    /// A Laplace with location `loc` and scale `scale`.
    pub fn new(loc: impl Into<DTensor>, scale: impl Into<DTensor>) -> Result<Self, DistError> {
        let (loc, scale) = (loc.into(), scale.into());
        let batch = broadcast_params("Laplace", &[&loc, &scale])?;
        Ok(Laplace { loc, scale, batch })
    }
}

impl Distribution for Laplace {
    fn name(&self) -> String {
        "Laplace".into()
    }
    fn batch_shape(&self) -> Vec<usize> {
        self.batch.clone()
    }
    fn has_rsample(&self) -> bool {
        true
    }
    fn sample(&self) -> DTensor {
        self.rsample().expect("Laplace has rsample").detach()
    }
    fn rsample(&self) -> Result<DTensor, DistError> {
        // u ~ U(-1, 1) (kept off the end points); x = loc - scale * sign(u) * ln(1 - |u|).
        let u = (uniform_noise(&self.batch, &self.loc) * 2.0 - 1.0).clamp(-1.0 + 1e-7, 1.0 - 1e-7);
        let mag = (1.0 - u.abs()).log();
        Ok(&self.loc - &self.scale * u.sign() * mag)
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        let dev = (value - &self.loc).abs() / &self.scale;
        Ok(-dev - (&self.scale * 2.0).log())
    }
    fn validate(&self) -> Result<(), DistError> {
        require(
            self.scale.all_gt(0.0),
            "Laplace",
            "scale",
            "positive",
            &self.scale,
        )
    }
    fn expand_batch(&self, batch: &[usize]) -> Result<Arc<dyn Distribution>, DistError> {
        check_expand(self, batch)?;
        Ok(Arc::new(Laplace::new(
            self.loc.expand(batch)?,
            self.scale.expand(batch)?,
        )?))
    }
    fn entropy(&self) -> Option<DTensor> {
        ((&self.scale * 2.0).log() + 1.0).expand(&self.batch).ok()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
