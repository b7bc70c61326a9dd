//! The parameter store on disk: safetensors files of unconstrained values, with each
//! parameter's constraint in the metadata (also the parameter part of `Svi` checkpoints).

use super::ParamStore;
use crate::error::{PplError, Result};
use burn::prelude::Device;
use std::collections::HashMap;
use std::path::Path;

/// Constraint metadata keys, shared with [`ParamStore`]'s own files.
fn constraint_key(name: &str) -> String {
    format!("constraint/{name}")
}

impl ParamStore {
    pub(crate) fn to_named(&self) -> Vec<(String, crate::DTensor)> {
        self.names()
            .iter()
            .map(|n| {
                (
                    n.clone(),
                    self.entry(n).expect("listed").unconstrained.clone(),
                )
            })
            .collect()
    }

    pub(crate) fn constraint_metadata(&self) -> HashMap<String, String> {
        self.names()
            .iter()
            .map(|n| {
                (
                    constraint_key(n),
                    self.entry(n)
                        .expect("listed")
                        .constraint
                        .as_str()
                        .to_string(),
                )
            })
            .collect()
    }

    pub(crate) fn from_named(
        params: Vec<(String, crate::DTensor)>,
        meta: &HashMap<String, String>,
    ) -> Result<Self> {
        let mut store = ParamStore::new();
        for (name, t) in params {
            let c = match meta.get(&constraint_key(&name)) {
                Some(c) => crate::Constraint::parse(c).ok_or_else(|| PplError::InvalidParam {
                    name: name.clone(),
                    reason: format!("unknown constraint '{c}'"),
                })?,
                None => crate::Constraint::Real,
            };
            store.set_unconstrained(&name, t, c);
        }
        Ok(store)
    }

    /// Saves every parameter (unconstrained, under its own name) and its constraint to a
    /// safetensors file, atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        self.save_with(path, &HashMap::new())
    }

    /// [`ParamStore::save`] with extra string metadata beside the constraints (a run's
    /// configuration, say), which [`ParamStore::load_with_metadata`] returns.
    pub fn save_with(&self, path: impl AsRef<Path>, extra: &HashMap<String, String>) -> Result<()> {
        let mut meta = extra.clone();
        meta.extend(self.constraint_metadata());
        meta.insert("format".into(), crate::io::PARAMS_FORMAT.into());
        crate::io::save_tensors(path.as_ref(), &self.to_named(), meta)
    }

    /// Loads a file written by [`ParamStore::save`] (or any safetensors file: tensors without a
    /// recorded constraint are taken as real-valued), onto `device`. An `Svi` checkpoint loads
    /// too: its optimiser state (`optim/*`) is left out.
    pub fn load(path: impl AsRef<Path>, device: &Device) -> Result<Self> {
        Ok(Self::load_with_metadata(path, device)?.0)
    }

    /// [`ParamStore::load`] that also returns the file's string metadata, reading it once.
    pub fn load_with_metadata(
        path: impl AsRef<Path>,
        device: &Device,
    ) -> Result<(Self, HashMap<String, String>)> {
        let (tensors, meta) = crate::io::load_tensors(path.as_ref(), device)?;
        let params = tensors
            .into_iter()
            .filter(|(n, _)| !n.starts_with("optim/"))
            .collect();
        Ok((Self::from_named(params, &meta)?, meta))
    }
}
