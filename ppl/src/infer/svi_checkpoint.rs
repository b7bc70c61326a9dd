//! Checkpoints of an [`Svi`] run: parameters, optimiser state, step count and the
//! generator's state in one safetensors file.

use super::elbo::Elbo;
use super::svi::Svi;
use crate::error::{PplError, Result};
use crate::optim::{OptimState, Optimizer};
use crate::params::ParamStore;
use crate::rng::{self, RngState};
use burn::prelude::Device;
use std::collections::HashMap;
use std::path::Path;

use crate::io::CHECKPOINT_FORMAT as FORMAT;

impl<A: ?Sized, M, G, O, L, RM, RG> Svi<A, M, G, O, L>
where
    M: Fn(&A) -> Result<RM>,
    G: Fn(&A) -> Result<RG>,
    O: Optimizer,
    L: Elbo,
{
    /// Writes parameters, optimiser state, step count and the generator's state to one
    /// safetensors file, atomically. Parameters are stored under their own names
    /// (unconstrained), optimiser tensors under `optim/...`.
    pub fn save_checkpoint(&self, path: impl AsRef<Path>) -> Result<()> {
        self.save_checkpoint_with(path, &HashMap::new())
    }

    /// [`Svi::save_checkpoint`] with extra string metadata (a run's configuration, say), which
    /// [`crate::io::load_tensors`] returns and [`Svi::load_checkpoint`] ignores.
    pub fn save_checkpoint_with(
        &self,
        path: impl AsRef<Path>,
        extra: &HashMap<String, String>,
    ) -> Result<()> {
        let mut tensors = self.store.to_named();
        let state = self.optim.state();
        tensors.extend(
            state
                .tensors
                .iter()
                .map(|(k, v)| (format!("optim/{k}"), v.clone())),
        );
        let mut meta = extra.clone();
        meta.extend(self.store.constraint_metadata());
        meta.insert("format".into(), FORMAT.into());
        meta.insert("step".into(), self.steps.to_string());
        meta.insert("optimizer".into(), self.optim.name().into());
        for (k, v) in &state.scalars {
            meta.insert(format!("optim.scalar/{k}"), v.to_string());
        }
        let r = rng::get_rng_state();
        meta.insert(
            "rng".into(),
            format!(
                "{}:{}:{}",
                r.seed
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>(),
                r.stream,
                r.word_pos
            ),
        );
        crate::io::save_tensors(path.as_ref(), &tensors, meta)
    }

    /// Restores a checkpoint written by [`Svi::save_checkpoint`] (parameters onto `device`),
    /// replacing this SVI's store, optimiser state, step count and the generator's state.
    pub fn load_checkpoint(&mut self, path: impl AsRef<Path>, device: &Device) -> Result<()> {
        let path = path.as_ref();
        let bad = |reason: String| PplError::Format {
            path: path.display().to_string(),
            reason,
        };
        let (tensors, meta) = crate::io::load_tensors(path, device)?;
        if meta.get("format").map(String::as_str) == Some(crate::io::PARAMS_FORMAT) {
            return Err(bad(
                "holds parameters only (a ParamStore file, e.g. from `lobes export`), no \
                 optimiser state or step count to resume from"
                    .into(),
            ));
        }
        if meta.get("format").map(String::as_str) != Some(FORMAT) {
            return Err(bad(format!(
                "not a lobes checkpoint (expected format {FORMAT})"
            )));
        }
        let optim = meta.get("optimizer").cloned().unwrap_or_default();
        if !self.optim.reads_state_of(&optim) {
            return Err(bad(format!(
                "checkpoint was written by optimiser '{optim}', this SVI uses '{}'",
                self.optim.name()
            )));
        }
        let steps: u64 = meta
            .get("step")
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("missing step count".into()))?;
        let rng_state = meta
            .get("rng")
            .and_then(|s| parse_rng(s))
            .ok_or_else(|| bad("missing or bad rng state".into()))?;
        let mut state = OptimState::default();
        let mut params = vec![];
        for (name, t) in tensors {
            match name.strip_prefix("optim/") {
                Some(k) => {
                    state.tensors.insert(k.to_string(), t);
                }
                None => params.push((name, t)),
            }
        }
        for (k, v) in &meta {
            if let Some(k) = k.strip_prefix("optim.scalar/") {
                let v: f64 = v
                    .parse()
                    .map_err(|_| bad(format!("bad optimiser scalar '{k}'")))?;
                state.scalars.insert(k.to_string(), v);
            }
        }
        let store = ParamStore::from_named(params, &meta).map_err(|e| bad(e.to_string()))?;
        self.optim.load_state(state)?;
        self.store = store;
        self.steps = steps;
        rng::set_rng_state(&rng_state);
        Ok(())
    }
}

fn parse_rng(s: &str) -> Option<RngState> {
    let mut it = s.split(':');
    let hex = it.next()?;
    let stream = it.next()?.parse().ok()?;
    let word_pos = it.next()?.parse().ok()?;
    let mut seed = [0u8; 32];
    if hex.len() != 64 {
        return None;
    }
    for (i, b) in seed.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(RngState {
        seed,
        stream,
        word_pos,
    })
}
