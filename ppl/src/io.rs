//! Named tensors in safetensors files, written atomically (a temporary file, then a rename), so
//! a crash never leaves a half-written file under the real name. PyTorch users read them with
//! `safetensors.torch.load_file`.

use crate::error::{PplError, Result};
use crate::tensor::DTensor;
use burn::prelude::Device;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

fn io_err(path: &Path, source: std::io::Error) -> PplError {
    PplError::io(path, source)
}

fn format_err(path: &Path, reason: impl Into<String>) -> PplError {
    PplError::format(path, reason)
}

/// Temporary files this process is writing (see [`Temporary`]): what a signal handler removes
/// before the process dies ([`remove_live_temporaries`]).
static LIVE: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

fn live() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// A temporary file being written, `.NAME.tmp-PID` beside its final `NAME`: removed when
/// dropped unless [`Temporary::persist`]ed, and listed while it lives so that a SIGINT or
/// SIGTERM handler can remove it ([`remove_live_temporaries`]; the `lobes` binary installs
/// one). A SIGKILL leaves it; [`remove_stale_temporaries`] removes it at the next write into the
/// folder.
///
/// ```
/// let dir = lobes_ppl::io::scratch_dir("doc", "temporary").unwrap();
/// let t = lobes_ppl::io::Temporary::beside(&dir.join("out.bin")).unwrap();
/// std::fs::write(t.path(), b"data").unwrap();
/// t.persist().unwrap();
/// assert_eq!(std::fs::read(dir.join("out.bin")).unwrap(), b"data");
/// ```
#[derive(Debug)]
pub struct Temporary {
    tmp: PathBuf,
    target: PathBuf,
    done: bool,
}

impl Temporary {
    /// The temporary file for `target` (not created: the caller writes it).
    pub fn beside(target: &Path) -> Result<Self> {
        let dir = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = target
            .file_name()
            .ok_or_else(|| format_err(target, "not a file path"))?;
        let tmp = dir.join(format!(
            ".{}.tmp-{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        debug_assert_eq!(
            Some(&tmp),
            Temporary::of_process(target, std::process::id()).as_ref()
        );
        live().push(tmp.clone());
        Ok(Temporary {
            tmp,
            target: target.to_path_buf(),
            done: false,
        })
    }
    /// The path of the temporary file process `pid` writes for `target` (`None` when
    /// `target` names no file): for a cooperating process (another MPI rank) that writes into
    /// it.
    ///
    /// ```
    /// use std::path::Path;
    /// let p = lobes_ppl::io::Temporary::of_process(Path::new("out/field.fits"), 42);
    /// assert_eq!(p.unwrap(), Path::new("out/.field.fits.tmp-42"));
    /// ```
    pub fn of_process(target: &Path, pid: u32) -> Option<PathBuf> {
        let dir = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = target.file_name()?;
        Some(dir.join(format!(".{}.tmp-{pid}", name.to_string_lossy())))
    }
    /// Where to write.
    pub fn path(&self) -> &Path {
        &self.tmp
    }
    /// Renames the temporary file to its target and flushes the folder (on Unix), so the
    /// rename survives a power loss.
    pub fn persist(mut self) -> Result<()> {
        std::fs::rename(&self.tmp, &self.target).map_err(|e| io_err(&self.target, e))?;
        self.done = true;
        let dir = self
            .target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        sync_dir(dir).map_err(|e| io_err(&self.target, e))
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
        }
        live().retain(|p| p != &self.tmp);
    }
}

/// Removes every temporary file this process is writing ([`Temporary`]) and returns them: for
/// a signal handler, before the process dies. Later writes of the process fail cleanly.
pub fn remove_live_temporaries() -> Vec<PathBuf> {
    let files = std::mem::take(&mut *live());
    for f in &files {
        let _ = std::fs::remove_file(f);
    }
    files
}

/// Writes `bytes` to `path` atomically: a sibling [`Temporary`], flushed, then renamed, and
/// the folder flushed so the rename itself survives a power loss (on Unix; elsewhere the
/// rename is left to the file system).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = Temporary::beside(path)?;
    let written = (|| {
        let mut f = std::fs::File::create(tmp.path())?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    written.map_err(|e| io_err(path, e))?;
    tmp.persist()
}

/// Flushes a folder's entries (the rename of [`write_atomic`]) to disk.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Removes the temporary files ([`Temporary`], `.NAME.tmp-PID`) that processes no longer
/// running left in `dir` (a SIGKILL or a power loss mid-write leaves them, and a checkpoint's
/// or a survey field's can be gigabytes). A temporary of a process still running on this
/// machine is left alone (on Linux, where `/proc` tells; elsewhere any other process's is
/// removed). Returns what it removed.
pub fn remove_stale_temporaries(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let own = std::process::id().to_string();
    let mut removed = vec![];
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(removed),
        Err(e) => return Err(io_err(dir, e)),
    };
    for e in entries {
        let p = e.map_err(|e| io_err(dir, e))?.path();
        let stale = p
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix('.'))
            .and_then(|n| n.rsplit_once(".tmp-"))
            .is_some_and(|(name, pid)| {
                !name.is_empty()
                    && !pid.is_empty()
                    && pid.bytes().all(|b| b.is_ascii_digit())
                    && pid != own
                    && !process_alive(pid)
            });
        if stale && p.is_file() {
            std::fs::remove_file(&p).map_err(|e| io_err(&p, e))?;
            removed.push(p);
        }
    }
    Ok(removed)
}

/// Whether process `pid` is running on this machine (Linux: `/proc/PID` exists; elsewhere
/// unknown, taken as not running).
fn process_alive(pid: &str) -> bool {
    cfg!(target_os = "linux") && Path::new("/proc").join(pid).exists()
}

/// Saves named f32 tensors and string metadata to a safetensors file, atomically.
pub fn save_tensors(
    path: &Path,
    tensors: &[(String, DTensor)],
    metadata: HashMap<String, String>,
) -> Result<()> {
    let data: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(n, t)| {
            let bytes = t.to_vec().iter().flat_map(|v| v.to_le_bytes()).collect();
            (n.clone(), t.shape().to_vec(), bytes)
        })
        .collect();
    let views = data
        .iter()
        .map(|(n, s, b)| {
            TensorView::new(Dtype::F32, s.clone(), b)
                .map(|v| (n.clone(), v))
                .map_err(|e| format_err(path, e.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    let bytes = safetensors::serialize(views, Some(metadata))
        .map_err(|e| format_err(path, e.to_string()))?;
    write_atomic(path, &bytes)
}

/// A fresh, empty folder `{prefix}-{pid}-{name}` under the system's temporary folder, after
/// removing the folders `{prefix}-{other pid}-{name}` earlier processes left: a program or test
/// suite run again and again keeps one copy of each (the latest, to look into after a failure)
/// instead of one per run. Errors creating it name the folder.
pub fn scratch_dir(prefix: &str, name: &str) -> Result<std::path::PathBuf> {
    let base = std::env::temp_dir();
    let suffix = format!("-{name}");
    if let Ok(entries) = std::fs::read_dir(&base) {
        for e in entries.flatten() {
            let file = e.file_name().to_string_lossy().into_owned();
            let pid = file
                .strip_prefix(prefix)
                .and_then(|r| r.strip_prefix('-'))
                .and_then(|r| r.strip_suffix(suffix.as_str()));
            if pid.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let d = base.join(format!("{prefix}-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).map_err(|e| io_err(&d, e))?;
    Ok(d)
}

/// The string metadata of a safetensors file, read from its header alone (the tensors, a
/// gigabyte for a large model's checkpoint, are not read).
pub fn read_metadata(path: &Path) -> Result<HashMap<String, String>> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| io_err(path, e))?;
    let mut len = [0u8; 8];
    f.read_exact(&mut len)
        .map_err(|_| format_err(path, "not a safetensors file: shorter than its header"))?;
    let n = u64::from_le_bytes(len);
    // safetensors' own limit on a header.
    if n > 100_000_000 {
        return Err(format_err(
            path,
            format!("not a safetensors file: a header of {n} bytes"),
        ));
    }
    let mut header = vec![0u8; n as usize];
    f.read_exact(&mut header)
        .map_err(|_| format_err(path, "not a safetensors file: its header is cut short"))?;
    let json: serde_json::Value = serde_json::from_slice(&header)
        .map_err(|e| format_err(path, format!("not a safetensors file: {e}")))?;
    let Some(obj) = json.as_object() else {
        return Err(format_err(
            path,
            "not a safetensors file: the header is not an object",
        ));
    };
    Ok(match obj.get("__metadata__") {
        Some(serde_json::Value::Object(m)) => m
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
            .collect(),
        _ => HashMap::new(),
    })
}

/// The `format` metadata of a file written by [`crate::ParamStore::save`]: parameters only.
pub const PARAMS_FORMAT: &str = "lobes-params-1";

/// The `format` metadata of an `Svi` checkpoint: parameters, optimiser state, step count and
/// the generator's state.
pub const CHECKPOINT_FORMAT: &str = "lobes-checkpoint-1";

/// Named tensors in file order, and the file's string metadata.
pub type NamedTensors = (Vec<(String, DTensor)>, HashMap<String, String>);

/// Loads every tensor of a safetensors file as f32 (f32, f64, f16, bf16 and integer tensors are
/// converted) onto `device`, with the file's metadata. Names keep the file's order.
pub fn load_tensors(path: &Path, device: &Device) -> Result<NamedTensors> {
    let bytes = std::fs::read(path).map_err(|e| io_err(path, e))?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| format_err(path, format!("not a safetensors file: {e}")))?;
    let (_, meta) =
        SafeTensors::read_metadata(&bytes).map_err(|e| format_err(path, e.to_string()))?;
    let mut names: Vec<(usize, String)> = meta
        .tensors()
        .iter()
        .map(|(n, info)| (info.data_offsets.0, n.clone()))
        .collect();
    names.sort();
    let mut out = Vec::with_capacity(names.len());
    for (_, name) in names {
        let view = st
            .tensor(&name)
            .map_err(|e| format_err(path, e.to_string()))?;
        let values = decode(view.dtype(), view.data()).ok_or_else(|| {
            format_err(
                path,
                format!("tensor '{name}' has unsupported dtype {:?}", view.dtype()),
            )
        })?;
        let t = DTensor::from_floats(values, view.shape(), device)
            .map_err(|e| format_err(path, format!("tensor '{name}': {e}")))?;
        out.push((name, t));
    }
    Ok((out, meta.metadata().clone().unwrap_or_default()))
}

fn decode(dtype: Dtype, b: &[u8]) -> Option<Vec<f32>> {
    Some(match dtype {
        Dtype::F32 => b
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect(),
        Dtype::F64 => b
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()) as f32)
            .collect(),
        Dtype::F16 => b
            .chunks_exact(2)
            .map(|c| half_to_f32(u16::from_le_bytes([c[0], c[1]])))
            .collect(),
        Dtype::BF16 => b
            .chunks_exact(2)
            .map(|c| f32::from_bits((u16::from_le_bytes([c[0], c[1]]) as u32) << 16))
            .collect(),
        Dtype::I64 => b
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f32)
            .collect(),
        Dtype::I32 => b
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes(c.try_into().unwrap()) as f32)
            .collect(),
        Dtype::U8 => b.iter().map(|&v| v as f32).collect(),
        _ => return None,
    })
}

fn half_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as i32;
    let mant = (h & 0x3ff) as u32;
    let bits = match exp {
        0 if mant == 0 => sign,
        0 => {
            // Subnormal: normalise.
            let mut e = -14;
            let mut m = mant;
            while m & 0x400 == 0 {
                m <<= 1;
                e -= 1;
            }
            sign | (((e + 127) as u32) << 23) | ((m & 0x3ff) << 13)
        }
        31 => sign | 0x7f80_0000 | (mant << 13),
        _ => sign | (((exp - 15 + 127) as u32) << 23) | (mant << 13),
    };
    f32::from_bits(bits)
}
