//! `AutoIAFNormal`: a standard Normal over all latent sites packed into one unconstrained
//! vector, pushed through inverse autoregressive flows (Pyro's
//! `pyro.infer.autoguide.AutoIAFNormal`).

use super::continuous::unpack;
use super::normal::sample_transformed;
use super::prototype::{LatentSite, Prototype, in_plates};
use crate::dist::{DistError, DistExt, Normal, Transform, TransformedDistribution};
use crate::error::{PplError, Result};
use crate::flows::{AffineAutoregressive, AutoRegressiveNN};
use crate::infer::init::InitLoc;
use crate::module::module;
use crate::primitives::sample_with;
use crate::site::InferConfig;
use crate::tensor::DTensor;
use burn::prelude::Device;
use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::sync::Arc;

const NAME: &str = "AutoIAFNormal";
const LATENT: &str = "_AutoIAFNormal_latent";

/// Pyro's `AutoIAFNormal(model, hidden_dim=None, num_transforms=1)`.
///
/// The unconstrained values of every latent site, flattened in execution order, form one
/// vector of length `N`. Each call draws the auxiliary site `_AutoIAFNormal_latent` from
/// `Normal(0, 1)` over `[N]` pushed through `num_transforms`
/// [`AffineAutoregressive`] flows, then cuts it into the sites' shapes and samples each site,
/// inside its plates, as a point mass at `biject_to(support)(piece)` with the log-Jacobian as
/// log-density, exactly as [`AutoDiagonalNormal`](super::AutoDiagonalNormal) does. There is no
/// `loc` parameter (Pyro's `AutoNormalizingFlow`); the flows are registered as modules
/// `AutoIAFNormal.transform.{i}`, so their parameters are
/// `AutoIAFNormal.transform.{i}.arn.layers.{k}.weight` and `.bias`. Each flow's network has
/// hidden layers `hidden_dims` (default `[3 N + 1]`, Pyro's) and its own random permutation,
/// drawn with the initial weights from the PPL's generator on the first call.
///
/// Scoring the latent (in the ELBO) inverts each flow, `N` network passes per flow; latents
/// inside a subsampled plate are refused, as Pyro's `AutoContinuous` refuses them.
///
/// ```
/// use lobes_ppl::infer::autoguide::AutoIAFNormal;
/// use lobes_ppl::prelude::*;
///
/// fn model(_: &()) -> Result<()> {
///     let a: DTensor = sample("a", Normal::new(0.0, 1.0)?)?;
///     sample::<DTensor>("b", Normal::new(a, 1.0)?)?;
///     Ok(())
/// }
/// let guide = AutoIAFNormal::new(model).num_transforms(2);
/// let mut svi = Svi::new(model, |x: &()| guide.call(x), Adam::new(0.01), TraceElbo::new(1));
/// for _ in 0..3 {
///     svi.step(&())?;
/// }
/// assert!(svi.store().contains("AutoIAFNormal.transform.1.arn.layers.0.weight"));
/// # Ok::<(), PplError>(())
/// ```
pub struct AutoIAFNormal<M> {
    model: M,
    hidden_dims: Option<Vec<usize>>,
    num_transforms: usize,
    stable: bool,
    prototype: Prototype,
    transforms: OnceCell<Vec<AffineAutoregressive>>,
}

impl<M> AutoIAFNormal<M> {
    /// The guide of `model`: one flow, hidden layer `[3 N + 1]`, as Pyro's defaults.
    pub fn new(model: M) -> Self {
        AutoIAFNormal {
            model,
            hidden_dims: None,
            num_transforms: 1,
            stable: false,
            prototype: Prototype::default(),
            transforms: OnceCell::new(),
        }
    }

    /// The hidden layers of each flow's network (Pyro's `hidden_dim`); each at least `N`.
    pub fn hidden_dims(mut self, dims: &[usize]) -> Self {
        self.hidden_dims = Some(dims.to_vec());
        self
    }

    /// The number of flows applied in sequence (Pyro's `num_transforms`, at least 1).
    pub fn num_transforms(mut self, n: usize) -> Self {
        self.num_transforms = n;
        self
    }

    /// The stable variant of every flow (Pyro's `stable=True` transform keyword).
    pub fn stable(mut self, stable: bool) -> Self {
        self.stable = stable;
        self
    }

    /// The latent sites found in the model, once the guide has run, in packing order.
    pub fn latents(&self) -> Option<Vec<LatentSite>> {
        self.prototype.latents().map(|l| (*l).clone())
    }

    /// The flows' templates for `n` coordinates, built on the first call.
    fn templates(&self, n: usize, device: &Device) -> Result<&[AffineAutoregressive]> {
        if self.transforms.get().is_none() {
            if self.num_transforms == 0 {
                return Err(PplError::InvalidParam {
                    name: format!("{NAME}.num_transforms"),
                    reason: "must be at least 1".into(),
                });
            }
            let hidden = self.hidden_dims.clone().unwrap_or_else(|| vec![3 * n + 1]);
            let built = (0..self.num_transforms)
                .map(|_| {
                    let arn = AutoRegressiveNN::new(n, &hidden, device)?;
                    Ok(AffineAutoregressive::new(arn)?.stable(self.stable))
                })
                .collect::<std::result::Result<Vec<_>, DistError>>()
                .map_err(|e| PplError::Autoguide {
                    guide: NAME,
                    site: LATENT.into(),
                    reason: format!("cannot build its flows over {n} coordinates: {e}"),
                })?;
            let _ = self.transforms.set(built);
        }
        Ok(self.transforms.get().map(Vec::as_slice).unwrap_or_default())
    }

    /// Runs the guide: samples every latent site of the model, returning their values.
    pub fn call<A: ?Sized, R>(&self, args: &A) -> Result<BTreeMap<String, DTensor>>
    where
        M: Fn(&A) -> Result<R>,
    {
        let latents = self
            .prototype
            .get(NAME, &self.model, args, &InitLoc::Feasible)?;
        for site in latents.iter() {
            if let Some(f) = site.plates.iter().find(|f| f.subsample_size != f.size) {
                return Err(PplError::Autoguide {
                    guide: NAME,
                    site: site.name.clone(),
                    reason: format!(
                        "plate '{}' is subsampled ({} of {}); {NAME} packs every latent into \
                         one vector and cannot follow a subsample (use AutoNormal)",
                        f.name, f.subsample_size, f.size
                    ),
                });
            }
        }
        let Some(device) = latents.first().map(|s| s.init.device()) else {
            return Ok(BTreeMap::new());
        };
        let n: usize = latents.iter().map(|s| s.init.numel()).sum();
        let mut transforms: Vec<Arc<dyn Transform>> = vec![];
        for (i, t) in self.templates(n, &device)?.iter().enumerate() {
            transforms.push(Arc::new(module(&format!("{NAME}.transform.{i}"), t)?));
        }
        let base = Normal::new(DTensor::zeros(&[n], &device), DTensor::ones(&[n], &device))
            .map_err(|e| PplError::at_site(LATENT, e))?
            .to_event(1);
        let q = TransformedDistribution::new(Arc::new(base), transforms)
            .map_err(|e| PplError::at_site(LATENT, e))?;
        let infer = InferConfig {
            is_auxiliary: true,
            ..Default::default()
        };
        let latent: DTensor = sample_with(LATENT, Arc::new(q), None, infer)?;
        unpack(&latent, &latents)?
            .into_iter()
            .zip(latents.iter())
            .map(|(u, site)| {
                let v = in_plates(&site.plates, &Default::default(), |_| {
                    sample_transformed(site, &u)
                })?;
                Ok((site.name.clone(), v))
            })
            .collect()
    }
}
