//! Checksummed downloads of FRDEEP-F / FRDEEP-N: HTTP GET, MD5 verified while streaming,
//! unpacked into a temporary folder and renamed into place, so a failed or corrupted download
//! leaves nothing behind under the real names.

use super::DataError;
use md5::{Digest, Md5};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// A published data set archive.
#[derive(Clone, Copy, Debug)]
pub struct Archive {
    /// Name on the command line.
    pub name: &'static str,
    /// Published URL.
    pub url: &'static str,
    /// File name of the archive.
    pub file: &'static str,
    /// Published MD5.
    pub md5: &'static str,
    /// Folder the archive unpacks to.
    pub folder: &'static str,
}

/// The archives `lobes data fetch` knows (URLs and MD5s from the data sets' own loader).
pub const ARCHIVES: [Archive; 2] = [
    Archive {
        name: "frdeep-f",
        url: "http://www.jb.man.ac.uk/research/ascaife/FIRST_PNG_dataset.tar.gz",
        file: "FIRST_PNG_dataset.tar.gz",
        md5: "2f39461e6c62fb45289559915106013a",
        folder: "FIRST_PNG_dataset",
    },
    Archive {
        name: "frdeep-n",
        url: "http://www.jb.man.ac.uk/research/ascaife/NVSS_PNG_dataset.tar.gz",
        file: "NVSS_PNG_dataset.tar.gz",
        md5: "2584ed1e174ea71f581d0e0d6f32ef38",
        folder: "NVSS_PNG_dataset",
    },
];

/// The most bytes a download may bring (the published archives are about 0.3 MB): a mirror
/// that streams without end is cut off with an error instead of filling the disk.
pub const MAX_DOWNLOAD: u64 = 64 << 20;

/// Finds an archive by name.
pub fn archive(name: &str) -> Option<Archive> {
    ARCHIVES
        .iter()
        .copied()
        .find(|a| a.name.eq_ignore_ascii_case(name))
}

struct Cleanup(Vec<PathBuf>);
impl Drop for Cleanup {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = if p.is_dir() {
                std::fs::remove_dir_all(p)
            } else {
                std::fs::remove_file(p)
            };
        }
    }
}

/// Downloads `a` into `dir` and unpacks it; returns the data folder. `base_url`, when given,
/// replaces the published location (the archive's file name is appended), for mirrors and
/// tests. An existing folder is left as it is and returned.
pub fn fetch(a: &Archive, dir: &Path, base_url: Option<&str>) -> Result<PathBuf, DataError> {
    let dest = dir.join(a.folder);
    if dest.join("data_batch_1").exists() {
        return Ok(dest);
    }
    std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    let url = match base_url {
        Some(b) => format!("{}/{}", b.trim_end_matches('/'), a.file),
        None => a.url.to_string(),
    };
    let part = dir.join(format!(".{}.part-{}", a.file, std::process::id()));
    let unpack = dir.join(format!(".{}.unpack-{}", a.folder, std::process::id()));
    let _cleanup = Cleanup(vec![part.clone(), unpack.clone()]);

    let http = |reason: String| DataError::Http {
        url: url.clone(),
        reason,
    };
    let mut resp = ureq::get(&url).call().map_err(|e| http(e.to_string()))?;
    let mut body = resp.body_mut().as_reader();
    let mut f = std::fs::File::create(&part).map_err(|e| DataError::io(&part, e))?;
    let mut md5 = Md5::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = body
            .read(&mut buf)
            .map_err(|e| http(format!("download interrupted: {e}")))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > MAX_DOWNLOAD {
            return Err(http(format!(
                "more than {} MiB: not the {} archive (about 0.3 MB); the download was discarded",
                MAX_DOWNLOAD >> 20,
                a.name
            )));
        }
        md5.update(&buf[..n]);
        f.write_all(&buf[..n])
            .map_err(|e| DataError::io(&part, e))?;
    }
    f.sync_all().map_err(|e| DataError::io(&part, e))?;
    drop(f);
    let got: String = md5.finalize().iter().map(|b| format!("{b:02x}")).collect();
    if got != a.md5 {
        return Err(DataError::Checksum {
            path: url.clone(),
            expected: a.md5.into(),
            got,
        });
    }
    let tgz = std::fs::File::open(&part).map_err(|e| DataError::io(&part, e))?;
    tar::Archive::new(flate2::read::GzDecoder::new(tgz))
        .unpack(&unpack)
        .map_err(|e| DataError::format(&part, format!("cannot unpack {}: {e}", a.file)))?;
    let inner = unpack.join(a.folder);
    if !inner.join("data_batch_1").exists() {
        return Err(DataError::format(
            &part,
            format!("archive holds no {}/data_batch_1", a.folder),
        ));
    }
    std::fs::rename(&inner, &dest).map_err(|e| DataError::io(&dest, e))?;
    Ok(dest)
}
