//! `AutoGuideList`: several guides, each for some of the model's latent sites, run in turn as
//! one guide (Pyro's `pyro.infer.autoguide.AutoGuideList`).

use crate::error::Result;
use crate::tensor::DTensor;
use std::collections::BTreeMap;

type Part<'a, A> = Box<dyn Fn(&A) -> Result<BTreeMap<String, DTensor>> + 'a>;

/// Pyro's `AutoGuideList`: a custom guide for some sites and an autoguide for the rest, the
/// autoguide built on the model with those sites hidden (`block_with(BlockSpec::hide(..))`).
/// A site two parts sample is an error naming it (a duplicate site in the trace).
///
/// ```
/// use lobes_ppl::prelude::*;
/// use lobes_ppl::infer::autoguide::AutoGuideList;
/// use std::collections::BTreeMap;
/// let d = Device::flex();
/// let s = |v: f32| DTensor::scalar(v, &d);
/// let model = |_: &()| -> Result<()> {
///     let a: DTensor = sample("a", Normal::new(s(0.0), s(1.0))?)?;
///     sample::<DTensor>("b", Normal::new(a, s(1.0))?)?;
///     Ok(())
/// };
/// // `a` by hand, `b` by AutoNormal on the model without `a`.
/// let rest = AutoNormal::new(move |x: &()| block_with(BlockSpec::hide(["a"]), || model(x)));
/// let guide = AutoGuideList::new()
///     .push(|_: &()| {
///         let loc: DTensor = param("a_loc", s(0.0))?;
///         let a: DTensor = sample("a", Normal::new(loc, s(1.0))?)?;
///         Ok(BTreeMap::from([("a".to_string(), a)]))
///     })
///     .push(|x: &()| rest.call(x));
/// let mut svi = Svi::new(model, |x: &()| guide.call(x), Adam::new(0.01), TraceElbo::default());
/// svi.step(&())?;
/// assert!(svi.store().contains("a_loc") && svi.store().contains("AutoNormal.locs.b"));
/// # Ok::<(), PplError>(())
/// ```
pub struct AutoGuideList<'a, A: ?Sized> {
    parts: Vec<Part<'a, A>>,
}

impl<A: ?Sized> Default for AutoGuideList<'_, A> {
    fn default() -> Self {
        AutoGuideList { parts: vec![] }
    }
}

impl<'a, A: ?Sized> AutoGuideList<'a, A> {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a guide (Pyro's `guide.append(part)`): anything that samples some latent
    /// sites and returns their values by name, as the autoguides' `call` does.
    pub fn push(mut self, part: impl Fn(&A) -> Result<BTreeMap<String, DTensor>> + 'a) -> Self {
        self.parts.push(Box::new(part));
        self
    }

    /// Runs every part in order; returns all the values they drew.
    pub fn call(&self, args: &A) -> Result<BTreeMap<String, DTensor>> {
        let mut out = BTreeMap::new();
        for part in &self.parts {
            out.extend(part(args)?);
        }
        Ok(out)
    }
}
