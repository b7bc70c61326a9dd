//! `module`: registers a burn `Module`'s parameters as param sites (Pyro's `pyro.module`).

use crate::error::{PplError, Result};
use crate::grad::is_grad_enabled;
use crate::primitives::param;
use crate::tensor::DTensor;
use burn::module::{Module, ModuleMapper, Param};
use burn::prelude::*;

struct Registrar {
    prefix: String,
    path: Vec<String>,
    error: Option<PplError>,
}

impl ModuleMapper for Registrar {
    fn enter_module(&mut self, name: &str, _container: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _name: &str, _container: &str) {
        self.path.pop();
    }
    fn map_float<const D: usize>(&mut self, p: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if self.error.is_some() {
            return p;
        }
        let name = if self.path.is_empty() {
            self.prefix.clone()
        } else {
            format!("{}.{}", self.prefix, self.path.join("."))
        };
        // A parameter already in the store is read without touching the template's value:
        // burn initialises parameters lazily, and forcing that here would draw from burn's
        // random generator on every step (and differently after a resume).
        if crate::params::with_active_store(|s| s.contains(&name)) {
            return match crate::primitives::get_param::<DTensor>(&name).and_then(|v| {
                if let Some(m) = matrix_leaf::<D>(&name, &v) {
                    return Ok(m);
                }
                v.to_tensor::<D>().map_err(|source| PplError::SiteShape {
                    site: name.clone(),
                    source,
                })
            }) {
                Ok(v) => Param::initialized(p.id, v),
                Err(e) => {
                    self.error = Some(e);
                    p
                }
            };
        }
        let error = &mut self.error;
        p.map(|t| {
            match DTensor::try_from_tensor(t.clone())
                .map_err(|source| PplError::SiteShape {
                    site: name.clone(),
                    source,
                })
                .and_then(|init| param::<DTensor>(&name, init))
            {
                Ok(v) => match v.to_tensor::<D>() {
                    Ok(v) => v,
                    Err(source) => {
                        *error = Some(PplError::SiteShape {
                            site: name.clone(),
                            source,
                        });
                        t
                    }
                },
                Err(e) => {
                    *error = Some(e);
                    t
                }
            }
        })
    }
}

/// The store's matrix leaf for a 2-D parameter `name` whose site value `v` is the store's own
/// leaf (no handler replaced it, no constraint transformed it): see
/// [`crate::params::ParamStore::matrix_leaf`].
fn matrix_leaf<const D: usize>(name: &str, v: &DTensor) -> Option<Tensor<D>> {
    if D != 2 || v.node_id().is_none() {
        return None;
    }
    crate::params::with_active_store(|s| {
        let own = s.leaves().get(name)?.node_id();
        if own != v.node_id() {
            return None;
        }
        s.matrix_leaf(name)
    })
    .map(|m| Tensor::from_dispatch(m.into_dispatch()))
}

/// Registers every float parameter of `m` as a param site named `"{name}.{path}"` (e.g.
/// `decoder.fc1.weight`, PyTorch's naming) and returns the module with the values the active
/// store holds: `pyro.module("decoder", self.decoder)`.
///
/// The first call copies `m`'s initial values into the store; later calls return the stored
/// (trained) values, so `m` itself serves only as a template. Inside [`crate::no_grad`] the
/// module comes back in evaluation mode (dropout off).
pub fn module<M: Module>(name: &str, m: &M) -> Result<M> {
    let mut r = Registrar {
        prefix: name.to_string(),
        path: vec![],
        error: None,
    };
    let mapped = m.clone().map(&mut r);
    if let Some(e) = r.error {
        return Err(e);
    }
    Ok(if is_grad_enabled() {
        mapped
    } else {
        mapped.valid()
    })
}
