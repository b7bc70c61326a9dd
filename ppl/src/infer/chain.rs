//! Variable elimination when enumeration dims are reused ([`markov`]): a dim no longer names
//! one variable, so each factor carries the variables it depends on (read from the site's
//! `enum_owners`), and variables are summed out in the order the model drew them, the oldest
//! first, as the forward algorithm of a hidden Markov model does. Pyro reaches the same by
//! naming dims symbolically and letting `opt_einsum` find the order.
//!
//! [`markov`]: crate::handlers::markov

use super::contract::{EnumVar, Factor, Ordinal, Ring};
use crate::error::{PplError, Result};
use crate::site::Site;
use crate::tensor::DTensor;
use std::collections::{BTreeSet, HashMap};

/// A log-density term, its plates, the variables (indices into the summed list) it depends
/// on, and the sites it came from (for errors).
pub(crate) struct ChainFactor {
    pub ordinal: Ordinal,
    pub tensor: DTensor,
    pub vars: BTreeSet<usize>,
    pub sites: Vec<String>,
}

/// The factors gathered for elimination: plain plated factors, or, when dims are reused, each
/// with the variables it depends on.
pub(crate) enum Factors {
    Plated(Vec<Factor>),
    Chain(Vec<ChainFactor>),
}

impl Factors {
    /// An empty collection of the kind `sum` needs.
    pub(crate) fn for_vars(sum: &[EnumVar]) -> Self {
        if dims_reused(sum) {
            Factors::Chain(vec![])
        } else {
            Factors::Plated(vec![])
        }
    }

    /// Adds `site`'s log-density term `tensor`.
    pub(crate) fn push(&mut self, site: &Site, tensor: DTensor, sum: &[EnumVar]) {
        let ordinal = super::contract::ordinal(site);
        match self {
            Factors::Plated(v) => v.push(Factor { ordinal, tensor }),
            Factors::Chain(v) => v.push(ChainFactor {
                ordinal,
                vars: vars_of(site, &tensor, sum),
                tensor,
                sites: vec![site.name.clone()],
            }),
        }
    }
}

/// Whether two summed variables share a dim (so [`eliminate_in_order`] is needed).
pub(crate) fn dims_reused(sum: &[EnumVar]) -> bool {
    sum.iter()
        .enumerate()
        .any(|(i, a)| sum[..i].iter().any(|b| b.dim == a.dim))
}

/// The summed variables `site`'s log-density `t` depends on: along each dim where `t` varies,
/// the variable holding that dim when the site ran (its `enum_owners`), or, for a site that
/// ran before any dim was reused, the first variable given that dim.
pub(crate) fn vars_of(site: &Site, t: &DTensor, sum: &[EnumVar]) -> BTreeSet<usize> {
    let owner = |dim: isize| -> Option<usize> {
        match &site.infer.enum_owners {
            Some(owners) => {
                let name = &owners.iter().find(|(d, _)| *d == dim)?.1;
                sum.iter().position(|v| &v.name == name)
            }
            None => sum.iter().position(|v| v.dim == dim),
        }
    };
    let dims: BTreeSet<isize> = sum
        .iter()
        .map(|v| v.dim)
        .filter(|&d| t.size_at(d) > 1)
        .collect();
    dims.into_iter().filter_map(owner).collect()
}

/// One eliminated variable, the factor it was eliminated from (before the sum or max) and the
/// later variables that factor still holds: what backward sampling draws it from.
pub(crate) struct ChainElimination {
    pub var: usize,
    pub factor: DTensor,
    pub later: BTreeSet<usize>,
}

/// Eliminates the variables `sum` from `factors` in the order given (summed in log space, or
/// maximised); returns the factors left, free of them, and, with `record`, each elimination.
pub(crate) fn eliminate_in_order(
    factors: Vec<ChainFactor>,
    sum: &[EnumVar],
    plates: &HashMap<String, isize>,
    ring: Ring,
    record: bool,
) -> Result<(Vec<Factor>, Vec<ChainElimination>)> {
    let mut eliminations = vec![];
    let structure = |f: &ChainFactor, reason: String| PplError::EnumerationStructure {
        sites: f.sites.clone(),
        plates: f.ordinal.iter().cloned().collect(),
        reason,
    };
    // A factor in plates none of its variables sits in is a product over them: a sum of logs.
    let mut pending = vec![];
    for mut f in factors {
        let var_plates: Ordinal = f
            .vars
            .iter()
            .flat_map(|&v| sum[v].ordinal.iter().cloned())
            .collect();
        if f.vars.iter().any(|&v| sum[v].ordinal != var_plates) {
            return Err(structure(
                &f,
                "with markov, the enumerated variables a site depends on must share their plates"
                    .into(),
            ));
        }
        for p in f.ordinal.difference(&var_plates) {
            f.tensor = f.tensor.sum_at(plates[p]);
        }
        if !var_plates.is_subset(&f.ordinal) {
            return Err(structure(
                &f,
                "a site outside the plates of a variable it depends on".into(),
            ));
        }
        f.ordinal = var_plates;
        pending.push(f);
    }
    for v in 0..sum.len() {
        let (with, rest): (Vec<ChainFactor>, Vec<ChainFactor>) =
            pending.into_iter().partition(|f| f.vars.contains(&v));
        pending = rest;
        let Some(first) = with.first() else { continue };
        let mut merged = ChainFactor {
            ordinal: first.ordinal.clone(),
            tensor: first.tensor.zeros_like(),
            vars: BTreeSet::new(),
            sites: vec![],
        };
        for f in with {
            merged.tensor = merged.tensor.try_add(&f.tensor)?;
            merged.vars.extend(f.vars);
            merged.sites.extend(f.sites);
        }
        let dims: Vec<isize> = merged.vars.iter().map(|&u| sum[u].dim).collect();
        if let Some(d) = dims
            .iter()
            .enumerate()
            .find(|(i, d)| dims[..*i].contains(d))
            .map(|(_, d)| d)
        {
            let names: Vec<&str> = merged
                .vars
                .iter()
                .filter(|&&u| sum[u].dim == *d)
                .map(|&u| sum[u].name.as_str())
                .collect();
            return Err(structure(
                &merged,
                format!(
                    "variables {names:?} share enumeration dim {d} in one factor: a step depends \
                     on a variable older than the markov history (raise `history` in markov_with)"
                ),
            ));
        }
        merged.vars.remove(&v);
        if record {
            eliminations.push(ChainElimination {
                var: v,
                factor: merged.tensor.clone(),
                later: merged.vars.clone(),
            });
        }
        merged.tensor = match ring {
            Ring::LogSum => merged.tensor.logsumexp_dim(sum[v].dim),
            Ring::Max => merged.tensor.max_dim(sum[v].dim),
        };
        pending.push(merged);
    }
    let left = pending
        .into_iter()
        .map(|f| Factor {
            ordinal: f.ordinal,
            tensor: f.tensor,
        })
        .collect();
    Ok((left, eliminations))
}
