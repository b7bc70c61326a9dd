//! The Normal distribution.

use super::{
    DistError, Distribution, broadcast_params, check_expand, check_value, normal_noise, require,
};
use crate::tensor::DTensor;
use std::any::Any;
use std::sync::Arc;

const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// Normal(loc, scale), reparameterisable.
#[derive(Clone, Debug)]
pub struct Normal {
    /// Mean.
    pub loc: DTensor,
    /// Standard deviation (> 0).
    pub scale: DTensor,
    batch: Vec<usize>,
}

impl Normal {
    /// A Normal with mean `loc` and standard deviation `scale` (shapes broadcast).
    pub fn new(loc: impl Into<DTensor>, scale: impl Into<DTensor>) -> Result<Self, DistError> {
        let (loc, scale) = (loc.into(), scale.into());
        let batch = broadcast_params("Normal", &[&loc, &scale])?;
        Ok(Normal { loc, scale, batch })
    }
}

impl Distribution for Normal {
    fn name(&self) -> String {
        "Normal".into()
    }
    fn batch_shape(&self) -> Vec<usize> {
        self.batch.clone()
    }
    fn has_rsample(&self) -> bool {
        true
    }
    fn sample(&self) -> DTensor {
        self.rsample().expect("Normal has rsample").detach()
    }
    fn rsample(&self) -> Result<DTensor, DistError> {
        let eps = normal_noise(&self.batch, &self.loc);
        Ok(&self.loc + &self.scale * &eps)
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        let z = (value - &self.loc) / &self.scale;
        Ok(-0.5 * z.square() - self.scale.log() - HALF_LN_2PI)
    }
    fn validate(&self) -> Result<(), DistError> {
        require(
            self.scale.all_gt(0.0),
            "Normal",
            "scale",
            "positive",
            &self.scale,
        )?;
        require(self.loc.all_finite(), "Normal", "loc", "finite", &self.loc)
    }
    fn expand_batch(&self, batch: &[usize]) -> Result<Arc<dyn Distribution>, DistError> {
        check_expand(self, batch)?;
        Ok(Arc::new(Normal::new(
            self.loc.expand(batch)?,
            self.scale.expand(batch)?,
        )?))
    }
    fn entropy(&self) -> Option<DTensor> {
        (self.scale.log() + (0.5 + HALF_LN_2PI))
            .expand(&self.batch)
            .ok()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
