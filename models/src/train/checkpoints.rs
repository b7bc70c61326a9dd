//! The epoch checkpoints of a run folder (`out/checkpoints/epoch_NNNN.safetensors`).

use crate::data;
use crate::error::ModelError;
use crate::vae::Batch;
use lobes_ppl::infer::{Elbo, Svi};
use lobes_ppl::optim::Optimizer;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Writes epoch `epoch`'s checkpoint into `out/checkpoints/` and as `out/checkpoint.safetensors`
/// (the one a run resumes from), with the run's metadata; keeps the newest `keep` epochs.
pub(super) fn save<M, G, O, L>(
    svi: &Svi<Batch, M, G, O, L>,
    out: &Path,
    epoch: usize,
    meta: &HashMap<String, String>,
    keep: usize,
) -> Result<(), ModelError>
where
    M: Fn(&Batch) -> lobes_ppl::Result<()>,
    G: Fn(&Batch) -> lobes_ppl::Result<()>,
    O: Optimizer,
    L: Elbo,
{
    let dir = out.join("checkpoints");
    svi.save_checkpoint_with(dir.join(format!("epoch_{epoch:04}.safetensors")), meta)?;
    svi.save_checkpoint_with(out.join("checkpoint.safetensors"), meta)?;
    prune(&dir, keep)
}

/// Removes all but the newest `keep` `epoch_NNNN.safetensors` files of `dir` (`keep` = 0: none
/// removed). Other files are left alone.
pub(super) fn prune(dir: &Path, keep: usize) -> Result<(), ModelError> {
    if keep == 0 {
        return Ok(());
    }
    let mut epochs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| data::DataError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix("epoch_"))
                .and_then(|n| n.strip_suffix(".safetensors"))
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    // Zero-padded epoch numbers sort in epoch order.
    epochs.sort();
    let old = epochs.len().saturating_sub(keep);
    for p in &epochs[..old] {
        std::fs::remove_file(p).map_err(|e| data::DataError::io(p, e))?;
    }
    Ok(())
}
