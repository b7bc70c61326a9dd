//! Variable elimination over enumerated sites in a plated factor graph (Obermeyer et al.
//! 2019, "Tensor variable elimination for plated factor graphs"; Pyro's
//! `contract_tensor_tree`): sums (or maximises) enumerated dims out of log-density factors,
//! innermost plates first, turning a product over a plate into a sum over its dim once no
//! enumerated variable of that plate is left.

use crate::error::{PplError, Result};
use crate::site::Site;
use crate::tensor::DTensor;
use std::collections::{BTreeSet, HashMap};

/// The plates a site sits in, by name (Pyro's ordinal).
pub(crate) type Ordinal = BTreeSet<String>;

/// The ordinal of a site.
pub(crate) fn ordinal(site: &Site) -> Ordinal {
    site.plates.iter().map(|f| f.name.clone()).collect()
}

/// The dim of every plate the sites sit in.
pub(crate) fn plate_dims<'a>(sites: impl Iterator<Item = &'a Site>) -> HashMap<String, isize> {
    sites
        .flat_map(|s| s.plates.iter().map(|f| (f.name.clone(), f.dim)))
        .collect()
}

/// An enumerated site: its name, its enumeration dim and its plates.
#[derive(Clone, Debug)]
pub(crate) struct EnumVar {
    pub name: String,
    pub dim: isize,
    pub ordinal: Ordinal,
}

impl EnumVar {
    /// The enumerated variable of a site, if the enumeration handler gave it a dim.
    pub fn of(site: &Site) -> Option<EnumVar> {
        site.infer.enum_dim.map(|dim| EnumVar {
            name: site.name.clone(),
            dim,
            ordinal: ordinal(site),
        })
    }
    /// Whether `t` varies along this variable's dim.
    pub fn in_tensor(&self, t: &DTensor) -> bool {
        t.size_at(self.dim) > 1
    }
}

/// How enumerated dims are eliminated: summed in log space (marginalisation) or maximised
/// (the MAP assignment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ring {
    LogSum,
    Max,
}

/// A log-density term and the plates it sits in.
#[derive(Clone, Debug)]
pub(crate) struct Factor {
    pub ordinal: Ordinal,
    pub tensor: DTensor,
}

/// One eliminated variable and the factor it was eliminated from (which still holds the
/// variables eliminated after it): what backward sampling draws it from.
pub(crate) struct Elimination {
    pub var: usize,
    pub factor: DTensor,
}

/// What elimination leaves: factors free of the summed variables (each at the ordinal it was
/// reduced to), and, when recorded, the eliminations in order.
pub(crate) struct Contraction {
    pub results: Vec<Factor>,
    pub eliminations: Vec<Elimination>,
}

/// Eliminates the variables `sum` from `factors`. Variables in `keep` (enumerated in the guide)
/// stay as dims of the results. Each step takes the factors of the deepest ordinal left, adds
/// them, eliminates the variables that live at that ordinal, and sums over the plates that no
/// remaining variable needs, moving the factor to the smaller ordinal.
pub(crate) fn contract(
    mut pending: Vec<Factor>,
    sum: &[EnumVar],
    keep: &[EnumVar],
    plates: &HashMap<String, isize>,
    ring: Ring,
    record: bool,
) -> Result<Contraction> {
    let mut out = Contraction {
        results: vec![],
        eliminations: vec![],
    };
    while let Some(deepest) = pending.iter().map(|f| f.ordinal.len()).max() {
        let at = pending
            .iter()
            .position(|f| f.ordinal.len() == deepest)
            .expect("the deepest ordinal exists")
            .to_owned();
        let level = pending[at].ordinal.clone();
        let (here, rest): (Vec<Factor>, Vec<Factor>) =
            pending.into_iter().partition(|f| f.ordinal == level);
        pending = rest;
        // Each connected component (factors linked by a shared variable) on its own, as
        // Pyro's `_partition_terms`: a purely local one stays at this level.
        for component in components(here, sum) {
            if let Some(moved) =
                reduce(component, &level, sum, keep, plates, ring, &mut out, record)?
            {
                pending.push(moved);
            }
        }
    }
    Ok(out)
}

/// Splits factors into groups linked by a shared summed variable, in their order.
fn components(here: Vec<Factor>, sum: &[EnumVar]) -> Vec<Vec<Factor>> {
    let vars: Vec<Vec<usize>> = here
        .iter()
        .map(|f| {
            (0..sum.len())
                .filter(|&i| sum[i].in_tensor(&f.tensor))
                .collect()
        })
        .collect();
    let mut group: Vec<usize> = (0..here.len()).collect();
    for a in 0..here.len() {
        for b in a + 1..here.len() {
            if vars[a].iter().any(|v| vars[b].contains(v)) {
                let (ga, gb) = (group[a], group[b]);
                for g in group.iter_mut().filter(|g| **g == gb) {
                    *g = ga;
                }
            }
        }
    }
    let mut out: Vec<(usize, Vec<Factor>)> = vec![];
    for (f, g) in here.into_iter().zip(group) {
        match out.iter_mut().find(|(h, _)| *h == g) {
            Some((_, v)) => v.push(f),
            None => out.push((g, vec![f])),
        }
    }
    out.into_iter().map(|(_, v)| v).collect()
}

/// Adds one component's factors, eliminates the variables of `level`, and either keeps the
/// result (no summed variable left) or sums it over the plates the remaining variables do
/// not need, returning it at the smaller ordinal.
#[allow(clippy::too_many_arguments)]
fn reduce(
    here: Vec<Factor>,
    level: &Ordinal,
    sum: &[EnumVar],
    keep: &[EnumVar],
    plates: &HashMap<String, isize>,
    ring: Ring,
    out: &mut Contraction,
    record: bool,
) -> Result<Option<Factor>> {
    let mut f = here[0].tensor.clone();
    for g in &here[1..] {
        f = f.try_add(&g.tensor)?;
    }
    for (i, v) in sum.iter().enumerate().rev() {
        if &v.ordinal == level && v.in_tensor(&f) {
            if record {
                out.eliminations.push(Elimination {
                    var: i,
                    factor: f.clone(),
                });
            }
            f = match ring {
                Ring::LogSum => f.logsumexp_dim(v.dim),
                Ring::Max => f.max_dim(v.dim),
            };
        }
    }
    let left: Vec<&EnumVar> = sum.iter().filter(|v| v.in_tensor(&f)).collect();
    if left.is_empty() {
        out.results.push(Factor {
            ordinal: level.clone(),
            tensor: f,
        });
        return Ok(None);
    }
    let kept = keep.iter().filter(|v| v.in_tensor(&f));
    let target: Ordinal = left
        .iter()
        .copied()
        .chain(kept)
        .flat_map(|v| v.ordinal.iter().cloned())
        .collect();
    if !(target.is_subset(level) && target.len() < level.len()) {
        return Err(PplError::EnumerationStructure {
            sites: left.iter().map(|v| v.name.clone()).collect(),
            plates: level.iter().cloned().collect(),
            reason: format!(
                "a factor in plates {level:?} still depends on them after eliminating the \
                 sites of those plates, and they need plates {target:?}: the plates are \
                 not tree-structured, or model enumeration is more global than guide \
                 enumeration (enumerate those sites in the guide instead)"
            ),
        });
    }
    for p in level.difference(&target) {
        f = f.sum_at(plates[p]);
    }
    Ok(Some(Factor {
        ordinal: target,
        tensor: f,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::prelude::Device;

    fn t(v: &[f32], s: &[usize]) -> DTensor {
        DTensor::from_floats(v.to_vec(), s, &Device::flex()).unwrap()
    }
    fn ord(names: &[&str]) -> Ordinal {
        names.iter().map(|s| s.to_string()).collect()
    }

    /// A global binary z (dim -2) and, in a plate of 3 (dim -1), factors f(z, n): the
    /// marginal is log sum_z exp(g(z) + sum_n f(z, n)).
    #[test]
    fn a_global_variable_is_summed_after_the_plate_product() {
        let g = t(&[0.3, -1.2], &[2, 1]);
        let f = t(&[0.1, 0.2, 0.3, -0.5, 0.4, 1.0], &[2, 3]);
        let z = EnumVar {
            name: "z".into(),
            dim: -2,
            ordinal: ord(&[]),
        };
        let plates = HashMap::from([("data".to_string(), -1)]);
        let factors = vec![
            Factor {
                ordinal: ord(&[]),
                tensor: g,
            },
            Factor {
                ordinal: ord(&["data"]),
                tensor: f,
            },
        ];
        let c = contract(factors, &[z], &[], &plates, Ring::LogSum, false).unwrap();
        assert_eq!(c.results.len(), 1);
        let got = c.results[0].tensor.sum().item();
        let a: f32 = 0.3 + 0.1 + 0.2 + 0.3;
        let b: f32 = -1.2 - 0.5 + 0.4 + 1.0;
        assert!((got - (a.exp() + b.exp()).ln()).abs() < 1e-5, "{got}");
    }

    #[test]
    fn variables_in_sibling_plates_are_not_tree_structured() {
        // One factor in plates a (dim -1) and b (dim -2) that depends on x of plate a
        // (dim -3) and y of plate b (dim -4).
        let f = DTensor::zeros(&[2, 2, 3, 4], &Device::flex());
        let x = EnumVar {
            name: "x".into(),
            dim: -3,
            ordinal: ord(&["a"]),
        };
        let y = EnumVar {
            name: "y".into(),
            dim: -4,
            ordinal: ord(&["b"]),
        };
        let plates = HashMap::from([("a".to_string(), -1), ("b".to_string(), -2)]);
        let factors = vec![Factor {
            ordinal: ord(&["a", "b"]),
            tensor: f,
        }];
        let err = contract(factors, &[x, y], &[], &plates, Ring::LogSum, false)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("not tree-structured"), "{err}");
    }
}
