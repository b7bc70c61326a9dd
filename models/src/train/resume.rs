//! Resuming a run: the header of its latest checkpoint is read and checked against the options
//! before anything is written, so a missing, foreign or parameters-only checkpoint leaves the
//! run folder as it was.

use super::TrainOptions;
use crate::error::ModelError;
use crate::vae::{RunMetadata, VaeConfig};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// What a resumed run takes from its checkpoint's header.
pub(super) struct Resumed {
    /// The header's metadata, every key.
    pub meta: HashMap<String, String>,
    /// The epoch the checkpoint was written at.
    pub epoch: usize,
    /// The run's recorded settings: the `lobes.*` keys other than the model, network and
    /// epoch, without the prefix.
    pub settings: BTreeMap<String, String>,
    /// A line for the user (the guide's scale changed), if any.
    pub note: Option<String>,
}

/// Reads `latest` if `opts.resume` (`None` otherwise) and checks that it is a training
/// checkpoint of the model and network `opts` and `net` describe. `net.scale` becomes the
/// checkpoint's unless the options name one; a change of scale is printed.
pub(super) fn resumable(
    opts: &TrainOptions,
    net: &mut VaeConfig,
    latest: &Path,
) -> Result<Option<Resumed>, ModelError> {
    if !opts.resume {
        return Ok(None);
    }
    if !latest.exists() {
        return Err(ModelError::NothingToResume {
            checkpoint: latest.to_path_buf(),
        });
    }
    let meta = lobes_ppl::io::read_metadata(latest)?;
    if meta.get("format").map(String::as_str) == Some(lobes_ppl::io::PARAMS_FORMAT) {
        return Err(ModelError::checkpoint(
            latest,
            "holds parameters only (e.g. from `lobes export`), no optimiser state or step count \
             to resume from",
        ));
    }
    let RunMetadata {
        kind,
        net: saved,
        epoch,
        extra: settings,
    } = RunMetadata::from_map(&meta, latest)?;
    net.scale = opts.scale.unwrap_or(saved.scale);
    let note = (net.scale != saved.scale).then(|| {
        format!(
            "{}: the guide's scale changes from '{}' to '{}' at epoch {epoch}",
            latest.display(),
            saved.scale.name(),
            net.scale.name()
        )
    });
    let same_network = VaeConfig {
        scale: net.scale,
        ..saved.clone()
    } == *net;
    if kind != opts.kind || !same_network {
        return Err(ModelError::wrong_model(
            latest,
            format!(
                "checkpoint is a {} {:?}, the options ask for a {} {:?}",
                kind.name(),
                saved,
                opts.kind.name(),
                net
            ),
        ));
    }
    Ok(Some(Resumed {
        meta,
        epoch,
        settings,
        note,
    }))
}
