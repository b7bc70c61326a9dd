//! A run folder (`lobes train`, `lobes classifier train`): locked while written, and never
//! started over an earlier run by accident.
//!
//! ```
//! use lobes_models::output::{RunFolder, RunMode};
//! let dir = lobes_ppl::io::scratch_dir("doc", "run-folder").unwrap();
//! let files = &["checkpoint.safetensors", "metrics.csv"];
//! drop(RunFolder::open(&dir, RunMode::New, files, &[]).unwrap());
//! std::fs::write(dir.join("metrics.csv"), "epoch\n0\n").unwrap();
//! // The folder now holds a run: a new one is refused, replacing it removes its files first.
//! assert!(RunFolder::open(&dir, RunMode::New, files, &[]).is_err());
//! drop(RunFolder::open(&dir, RunMode::Overwrite, files, &[]).unwrap());
//! assert!(!dir.join("metrics.csv").exists());
//! ```

use super::{FolderLock, OutputError};
use std::path::{Path, PathBuf};

/// What to do with a folder that holds a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunMode {
    /// Start a run: a folder that holds one is refused.
    New,
    /// Continue the run the folder holds (`--resume`).
    Resume,
    /// Replace the run the folder holds (`--overwrite`): its files are removed first.
    Overwrite,
}

impl RunMode {
    /// From the `--resume` and `--overwrite` flags.
    ///
    /// # Errors
    /// Both given.
    pub fn from_flags(dir: &Path, resume: bool, overwrite: bool) -> Result<Self, OutputError> {
        match (resume, overwrite) {
            (true, true) => Err(OutputError::ResumeAndOverwrite {
                dir: dir.to_path_buf(),
            }),
            (true, false) => Ok(RunMode::Resume),
            (false, true) => Ok(RunMode::Overwrite),
            (false, false) => Ok(RunMode::New),
        }
    }
}

/// A locked run folder; the lock is released when it is dropped.
#[derive(Debug)]
pub struct RunFolder {
    /// The folder.
    pub dir: PathBuf,
    _lock: FolderLock,
}

impl RunFolder {
    /// Locks `dir` (created if missing) for a run whose files are `files` (names in the
    /// folder) and any `*.safetensors` in the sub-folders `checkpoint_dirs`. With
    /// [`RunMode::New`] a folder holding any of them is refused; with [`RunMode::Overwrite`]
    /// they are removed; [`RunMode::Resume`] leaves them. Other files in the folder are never
    /// touched. Temporaries of processes no longer running are removed.
    ///
    /// # Errors
    /// [`OutputError::Locked`] when another process writes the folder,
    /// [`OutputError::RunExists`] for a new run over an old one.
    pub fn open(
        dir: &Path,
        mode: RunMode,
        files: &[&str],
        checkpoint_dirs: &[&str],
    ) -> Result<Self, OutputError> {
        let lock = FolderLock::acquire(dir)?;
        let mut found: Vec<PathBuf> = files
            .iter()
            .map(|f| dir.join(f))
            .filter(|p| p.exists())
            .collect();
        for sub in checkpoint_dirs {
            let sub = dir.join(sub);
            let Ok(entries) = std::fs::read_dir(&sub) else {
                continue;
            };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_file() && p.extension().is_some_and(|x| x == "safetensors") {
                    found.push(p);
                }
            }
        }
        match mode {
            RunMode::New if !found.is_empty() => {
                found.sort();
                return Err(OutputError::RunExists {
                    dir: dir.to_path_buf(),
                    found: describe(dir, &found),
                });
            }
            RunMode::Overwrite => {
                for p in &found {
                    std::fs::remove_file(p).map_err(|e| OutputError::io(p, e))?;
                }
            }
            _ => {}
        }
        for d in
            std::iter::once(dir.to_path_buf()).chain(checkpoint_dirs.iter().map(|s| dir.join(s)))
        {
            lobes_ppl::io::remove_stale_temporaries(&d)
                .map_err(|e| OutputError::io(&d, std::io::Error::other(e.to_string())))?;
        }
        Ok(RunFolder {
            dir: dir.to_path_buf(),
            _lock: lock,
        })
    }
}

/// "metrics.csv, checkpoint.safetensors and 7 more".
fn describe(dir: &Path, found: &[PathBuf]) -> String {
    let names: Vec<String> = found
        .iter()
        .take(2)
        .map(|p| p.strip_prefix(dir).unwrap_or(p).display().to_string())
        .collect();
    match found.len() {
        n if n > 2 => format!("{} and {} more files", names.join(", "), n - 2),
        _ => names.join(" and "),
    }
}
