//! Student's t distribution.

use super::batched::{batched_boilerplate, batched_params};
use super::gamma::gamma_draws;
use super::{DistError, Distribution, check_value, require};
use crate::constraints::Constraint;
use crate::tensor::DTensor;

batched_params! {
    /// StudentT(df, loc, scale): `loc + scale T` for `T` a standard t variable with `df`
    /// degrees of freedom. Reparameterisable in `loc` and `scale`: `rsample` draws
    /// `T = X / √(Z/df)` (`X ~ Normal(0, 1)`, `Z ~ Chi²(df)`) on the host, so no pathwise
    /// gradient reaches `df` (torch's reaches it through Gamma's implicit reparameterisation).
    StudentT {
        /// Degrees of freedom ν (> 0).
        df,
        /// Location.
        loc,
        /// Scale (> 0).
        scale,
    }
}

impl StudentT {
    /// A StudentT with `df` degrees of freedom, location `loc` and scale `scale` (shapes
    /// broadcast).
    pub fn new(
        df: impl Into<DTensor>,
        loc: impl Into<DTensor>,
        scale: impl Into<DTensor>,
    ) -> Result<Self, DistError> {
        Self::from_params(df.into(), loc.into(), scale.into())
    }
    /// A standard StudentT (`loc = 0`, `scale = 1`) with `df` degrees of freedom.
    pub fn standard(df: impl Into<DTensor>) -> Result<Self, DistError> {
        let df = df.into();
        let dev = df.device();
        Self::new(df, DTensor::scalar(0.0, &dev), DTensor::scalar(1.0, &dev))
    }
    /// The mean: `loc` where `df > 1`, NaN elsewhere (as torch).
    pub fn mean(&self) -> DTensor {
        self.loc
            .expand(&self.batch)
            .expect("batch shape broadcasts")
            .where_zero(&self.df.gt_scalar(1.0), f64::NAN)
    }
    /// The variance: `scale² df / (df - 2)` where `df > 2`, infinite where `1 < df <= 2`,
    /// NaN where `df <= 1` (as torch).
    pub fn variance(&self) -> DTensor {
        (self.scale.square() * (&self.df / (&self.df - 2.0)))
            .expand(&self.batch)
            .expect("batch shape broadcasts")
            .where_zero(&self.df.gt_scalar(2.0), f64::INFINITY)
            .where_zero(&self.df.gt_scalar(1.0), f64::NAN)
    }
}

impl Distribution for StudentT {
    fn support(&self) -> Option<Constraint> {
        Some(Constraint::Real)
    }
    batched_boilerplate!(StudentT);
    fn has_rsample(&self) -> bool {
        true
    }
    fn sample(&self) -> DTensor {
        self.rsample().expect("StudentT has rsample").detach()
    }
    fn rsample(&self) -> Result<DTensor, DistError> {
        let df = self
            .df
            .expand(&self.batch)
            .expect("batch shape broadcasts")
            .to_vec();
        let half: Vec<f32> = df.iter().map(|d| d / 2.0).collect();
        let chi2 = gamma_draws(&half);
        let x = crate::rng::normals(df.len());
        let t: Vec<f32> = x
            .iter()
            .zip(&chi2)
            .zip(&df)
            .map(|((x, z), d)| x / (2.0 * z / d).sqrt())
            .collect();
        let t =
            DTensor::from_floats(t, &self.batch, &self.loc.device()).expect("one draw per element");
        Ok(&self.loc + &self.scale * &t)
    }
    fn log_prob(&self, value: &DTensor) -> Result<DTensor, DistError> {
        check_value(self, value)?;
        let y = (value - &self.loc) / &self.scale;
        let df = &self.df;
        // ln Z = ln scale + ½ ln ν + ½ ln π + ln Γ(ν/2) - ln Γ((ν+1)/2)
        let log_z = self.scale.log()
            + df.log() * 0.5
            + 0.5 * std::f64::consts::PI.ln()
            + (df * 0.5).lgamma()
            - ((df + 1.0) * 0.5).lgamma();
        Ok(-0.5 * ((y.square() / df).log1p() * (df + 1.0)) - log_z)
    }
    fn validate(&self) -> Result<(), DistError> {
        require(self.df.all_gt(0.0), "StudentT", "df", "positive", &self.df)?;
        require(
            self.scale.all_gt(0.0),
            "StudentT",
            "scale",
            "positive",
            &self.scale,
        )?;
        require(
            self.loc.all_finite(),
            "StudentT",
            "loc",
            "finite",
            &self.loc,
        )
    }
}
