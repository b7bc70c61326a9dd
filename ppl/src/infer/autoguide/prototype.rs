//! The prototype trace an autoguide records from its model on first use (Pyro's
//! `AutoGuide._setup_prototype`): the latent sites, their shapes, plates, supports and
//! initial values.

use crate::constraints::Constraint;
use crate::error::{PplError, Result};
use crate::grad::no_grad;
use crate::handlers::{block, trace};
use crate::infer::init::{InitLoc, initialize};
use crate::infer::support::support_of;
use crate::plate::{Plate, plate};
use crate::site::PlateFrame;
use crate::tensor::DTensor;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// One latent site of the model, as an autoguide sees it.
#[derive(Clone, Debug)]
pub struct LatentSite {
    /// The site's name.
    pub name: String,
    /// Number of event dims of the site's distribution.
    pub event_dim: usize,
    /// The support (the constraint whose transform maps unconstrained space onto it).
    pub support: Constraint,
    /// Enclosing plates, outermost first.
    pub plates: Vec<PlateFrame>,
    /// The initial value, in the support.
    pub init: DTensor,
    /// The initial value mapped to unconstrained space.
    pub init_unconstrained: DTensor,
}

impl LatentSite {
    /// The shape of the site's value (and of its unconstrained value).
    pub fn shape(&self) -> &[usize] {
        self.init.shape()
    }
}

/// Runs `model(args)` once, hidden from every outer handler, with latent sites initialised
/// by `init`, and returns its latent sites in execution order. Observed, deterministic and
/// factor sites are left out (they are observed), as Pyro's `iter_stochastic_nodes` does.
pub fn discover<A: ?Sized, R>(
    guide: &'static str,
    model: &impl Fn(&A) -> Result<R>,
    args: &A,
    init: &InitLoc,
) -> Result<Vec<LatentSite>> {
    let (_, tr) = no_grad(|| block(|| trace(|| initialize(init.clone(), || model(args)))))
        // `init_to_feasible` meets a site it cannot place before this guide can refuse it:
        // the error names the guide.
        .map_err(|e| match e {
            PplError::Autoguide {
                guide: "init_to_feasible",
                site,
                reason,
            } => PplError::Autoguide {
                guide,
                site,
                reason,
            },
            e => e,
        })?;
    let mut out = vec![];
    for s in tr.stochastic_sites() {
        let fail = |reason: String| PplError::Autoguide {
            guide,
            site: s.name.clone(),
            reason,
        };
        let (Some(dist), Some(value)) = (&s.dist, &s.value) else {
            continue;
        };
        let support = support_of(&**dist).map_err(fail)?;
        // A point needs no density in unconstrained space; a Normal there needs a bijection,
        // which the simplex's softmax is not.
        if support == Constraint::Simplex && guide != "AutoDelta" {
            return Err(fail("simplex supports are not yet supported".into()));
        }
        let event_dim = dist.event_shape().len();
        let mut init = value.detach();
        for f in s.plates.iter().filter(|f| f.subsample_size != f.size) {
            // Parameters cover the whole plate: the subsample's values repeated to full size
            // (Pyro's `periodic_repeat`).
            let k = f.subsample_size;
            let tiled: Vec<usize> = (0..f.size).map(|i| i % k).collect();
            init = init.index_select(f.dim - event_dim as isize, &tiled)?;
        }
        out.push(LatentSite {
            name: s.name.clone(),
            event_dim,
            support,
            plates: s.plates.clone(),
            init_unconstrained: support.inverse(&init),
            init,
        });
    }
    Ok(out)
}

/// The subsample of each subsampled plate a guide site was entered in: `(dim, indices)`.
pub type Subsamples = [(isize, Vec<usize>)];

/// The subsample of each subsampled plate of `latents`, drawn once per guide call and shared
/// by every site in the plate (Pyro's `AutoGuide._create_plates`); the model gets it by replay.
pub fn draw_plates(latents: &[LatentSite]) -> Result<HashMap<String, Plate>> {
    let mut out = HashMap::new();
    for f in latents.iter().flat_map(|s| &s.plates) {
        if f.subsample_size != f.size && !out.contains_key(&f.name) {
            let p = plate(&f.name, f.size)
                .dim(f.dim)
                .subsample_size(f.subsample_size)
                .subsampled()?;
            out.insert(f.name.clone(), p);
        }
    }
    Ok(out)
}

/// Runs `f` inside the plates `frames` (outermost first), each at its recorded dim, as
/// Pyro's autoguides re-enter the model's plates around each guide site; a subsampled plate
/// is entered with its subsample from `drawn` ([`draw_plates`]), which `f` receives to cut
/// full-size parameters with [`select_subsample`].
pub fn in_plates<R>(
    frames: &[PlateFrame],
    drawn: &HashMap<String, Plate>,
    f: impl FnOnce(&Subsamples) -> Result<R>,
) -> Result<R> {
    fn enter<R>(
        frames: &[PlateFrame],
        drawn: &HashMap<String, Plate>,
        acc: &mut Vec<(isize, Vec<usize>)>,
        f: impl FnOnce(&Subsamples) -> Result<R>,
    ) -> Result<R> {
        let Some((first, rest)) = frames.split_first() else {
            return f(acc);
        };
        let subsampled = first.subsample_size != first.size;
        let p = match drawn.get(&first.name) {
            Some(p) if subsampled => p.clone(),
            _ => plate(&first.name, first.size).dim(first.dim),
        };
        p.run(|ctx| {
            if subsampled {
                acc.push((first.dim, ctx.indices().to_vec()));
            }
            enter(rest, drawn, acc, f)
        })
    }
    enter(frames, drawn, &mut vec![], f)
}

/// The elements of a full-size parameter `t` (with `event_dim` event dims) that the
/// subsample selects (Pyro's `index_select` along each subsampled plate's dim).
pub fn select_subsample(t: &DTensor, event_dim: usize, subsamples: &Subsamples) -> Result<DTensor> {
    let mut t = t.clone();
    for (dim, ix) in subsamples {
        t = t.index_select(dim - event_dim as isize, ix)?;
    }
    Ok(t)
}

/// The latent sites of an autoguide's model, discovered on the guide's first call and kept.
#[derive(Debug, Default)]
pub struct Prototype(RefCell<Option<Rc<Vec<LatentSite>>>>);

impl Prototype {
    /// The latent sites, running [`discover`] the first time.
    pub fn get<A: ?Sized, R>(
        &self,
        guide: &'static str,
        model: &impl Fn(&A) -> Result<R>,
        args: &A,
        init: &InitLoc,
    ) -> Result<Rc<Vec<LatentSite>>> {
        if let Some(l) = self.0.borrow().as_ref() {
            return Ok(l.clone());
        }
        let latents = Rc::new(discover(guide, model, args, init)?);
        *self.0.borrow_mut() = Some(latents.clone());
        Ok(latents)
    }

    /// The latent sites, if the guide has run.
    pub fn latents(&self) -> Option<Rc<Vec<LatentSite>>> {
        self.0.borrow().clone()
    }
}
