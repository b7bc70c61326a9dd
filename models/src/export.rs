//! A trained model without its training state: `lobes export` writes a checkpoint's
//! parameters and run metadata (its `lobes.*` keys), leaving out the optimiser's state and the
//! random generator's. With Adam (two moments per parameter) the file is a third of the
//! checkpoint's size, 417 MB instead of 1.25 GB for the paper's d = 32 VAE; with Adagrad (one)
//! a half. Every command that reads a model (`generate`, `reconstruct`, `ramis`, `latents`,
//! `evolution`, ...) reads it; `train --resume` does not, and says so.

use crate::error::ModelError;
use crate::generate::Generator;
use lobes_ppl::io::CHECKPOINT_FORMAT;
use std::path::Path;

/// What [`export`] wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct Exported {
    /// The epoch of the checkpoint.
    pub epoch: usize,
    /// Parameters (values) written.
    pub parameters: usize,
    /// Size of the written file in bytes.
    pub bytes: u64,
}

/// Writes the parameters and run metadata of `checkpoint` to `out` (atomically), with the
/// checkpoint's file name as `lobes.exported_from`. `out` must not be a training checkpoint
/// (`checkpoint` itself or another run's): that would throw away the state a run resumes from.
pub fn export(checkpoint: &Path, out: &Path) -> Result<Exported, ModelError> {
    if out.exists()
        && lobes_ppl::io::read_metadata(out)
            .is_ok_and(|m| m.get("format").map(String::as_str) == Some(CHECKPOINT_FORMAT))
    {
        return Err(ModelError::checkpoint(
            out,
            "is a training checkpoint; lobes export would overwrite it with parameters alone \
             (give --out another file)",
        ));
    }
    let (mut meta, store) = Generator::read(checkpoint)?;
    if let Some(name) = checkpoint.file_name() {
        meta.extra
            .insert("exported_from".into(), name.to_string_lossy().into_owned());
    }
    store.save_with(out, &meta.to_map())?;
    let bytes = std::fs::metadata(out)
        .map_err(|e| crate::data::DataError::io(out, e))?
        .len();
    Ok(Exported {
        epoch: meta.epoch,
        parameters: store
            .names()
            .iter()
            .filter_map(|n| store.entry(n))
            .map(|e| e.unconstrained.numel())
            .sum(),
        bytes,
    })
}
