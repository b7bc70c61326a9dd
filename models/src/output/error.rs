//! What can go wrong claiming a folder to write into.

use std::path::PathBuf;

/// A folder that cannot be written into as asked.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// Another process holds the folder's lock.
    #[error(
        "{}: another lobes process is writing this folder ({owner}); wait for it to finish or \
         choose another folder",
        dir.display()
    )]
    Locked {
        /// The folder.
        dir: PathBuf,
        /// Who holds it, as its lock file says (pid, host, command).
        owner: String,
    },
    /// A run folder that already holds a run, without `--resume` or `--overwrite`.
    #[error(
        "{}: holds a run ({found}); continue it with --resume, or replace it with --overwrite \
         (which removes that run's checkpoints and metrics first), or choose another --out",
        dir.display()
    )]
    RunExists {
        /// The folder.
        dir: PathBuf,
        /// What shows the run (a file, with its epoch when known).
        found: String,
    },
    /// An output folder holding files lobes did not write there.
    #[error(
        "{}: is not empty and holds no lobes output ({} files, e.g. '{example}'); lobes writes a \
         set of files only into a new or empty folder, so that no stale file is mixed with the \
         new ones: choose another --out or empty it",
        dir.display(), count
    )]
    NotEmpty {
        /// The folder.
        dir: PathBuf,
        /// Entries found.
        count: usize,
        /// One of them.
        example: String,
    },
    /// An output folder holding an earlier output, without `--overwrite`.
    #[error(
        "{}: holds the output of an earlier `{command}` ({files} files listed in its {}); \
         replace it with --overwrite or choose another --out",
        dir.display(), super::MANIFEST
    )]
    EarlierOutput {
        /// The folder.
        dir: PathBuf,
        /// The command that wrote it.
        command: String,
        /// Files its manifest lists.
        files: usize,
    },
    /// Options that contradict each other.
    #[error("--resume continues the run in {} and --overwrite replaces it: give one", dir.display())]
    ResumeAndOverwrite {
        /// The folder.
        dir: PathBuf,
    },
    /// The file system refused.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl OutputError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        OutputError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
