//! How much memory a request may take: what cannot be streamed (a figure of every pair, a
//! batch decoded at once) is compared with the memory this process can still get before it is
//! allocated, so an oversized count is a clear error instead of an abort (`memory allocation
//! failed`) or the machine swapping.
//!
//! The memory available is the least of `MemAvailable` in `/proc/meminfo`, the address-space
//! limit (`ulimit -v`) less what the process already maps, and its cgroup's limit less its
//! usage (v2 `memory.max`, v1 `memory.limit_in_bytes`); `LOBES_MEMORY_LIMIT` (bytes, or with a
//! `K`, `M`, `G` or `T` suffix) states a limit of its own. Where none is known (not Linux) no
//! request is refused.

use crate::error::ModelError;
use std::path::Path;

/// Memory this process can still get, and where that figure comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Available {
    /// Bytes.
    pub bytes: u64,
    /// Which limit binds (e.g. `MemAvailable in /proc/meminfo`).
    pub source: String,
}

/// The environment variable that states a memory limit (bytes, or `512M`, `2G`, ...).
pub const LIMIT_VAR: &str = "LOBES_MEMORY_LIMIT";

/// The memory this process can still get: the least of the limits the module doc lists, or
/// `None` when none is known.
pub fn available() -> Option<Available> {
    let mut found: Vec<Available> = vec![];
    let mut add = |bytes: Option<u64>, source: &str| {
        if let Some(bytes) = bytes {
            found.push(Available {
                bytes,
                source: source.to_string(),
            });
        }
    };
    if let Ok(v) = std::env::var(LIMIT_VAR) {
        add(parse_size(&v), LIMIT_VAR);
    }
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    add(
        field_kb(&meminfo, "MemAvailable:"),
        "MemAvailable in /proc/meminfo",
    );
    add(address_space_left(), "the address-space limit, ulimit -v");
    add(cgroup_left(), "the cgroup's memory limit");
    found.into_iter().min_by_key(|a| a.bytes)
}

/// Refuses a request of `need` bytes (`what` names it, with its option) that exceeds
/// [`available`] memory; the error gives both amounts. Nothing is refused where no limit is
/// known.
pub fn check(what: &str, need: u128) -> Result<(), ModelError> {
    match available() {
        Some(a) => check_against(what, need, &a),
        None => Ok(()),
    }
}

/// [`check`] against a given amount.
pub fn check_against(what: &str, need: u128, available: &Available) -> Result<(), ModelError> {
    if need <= u128::from(available.bytes) {
        return Ok(());
    }
    Err(ModelError::Memory {
        what: what.to_string(),
        need: bytes(need),
        available: bytes(u128::from(available.bytes)),
        limit: available.source.clone(),
    })
}

/// `n` items of `each` bytes plus `fixed`, without overflow (`u128` holds any product of two
/// `usize`s and a small factor).
pub fn total(n: usize, each: u128, fixed: u128) -> u128 {
    (n as u128).saturating_mul(each).saturating_add(fixed)
}

/// Bytes for people: `812 MB`, `1.3 GB`, `8.0 TB` (decimal units).
pub fn bytes(b: u128) -> String {
    let units = ["bytes", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < units.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} bytes")
    } else if v >= 100.0 {
        format!("{v:.0} {}", units[u])
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// `123`, `64K`, `512M`, `2G`, `1T` (binary multiples; a trailing `B` or `iB` is allowed).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim().trim_end_matches("iB").trim_end_matches('B');
    let (digits, shift) = match s.chars().last()?.to_ascii_uppercase() {
        'K' => (&s[..s.len() - 1], 10),
        'M' => (&s[..s.len() - 1], 20),
        'G' => (&s[..s.len() - 1], 30),
        'T' => (&s[..s.len() - 1], 40),
        _ => (s, 0),
    };
    digits.trim().parse::<u64>().ok()?.checked_mul(1 << shift)
}

/// A `key:  N kB` line of `/proc/meminfo` or `/proc/self/status`, in bytes.
fn field_kb(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(key))?;
    let kb: u64 = line[key.len()..].split_whitespace().next()?.parse().ok()?;
    kb.checked_mul(1024)
}

/// The soft address-space limit less the process's mapped size; `None` when unlimited.
fn address_space_left() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max address space"))?;
    let soft: u64 = line["Max address space".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    Some(soft.saturating_sub(field_kb(&status, "VmSize:").unwrap_or(0)))
}

/// The process's cgroup limit less its usage (cgroup v2, else v1); `None` when unlimited or
/// not found.
fn cgroup_left() -> Option<u64> {
    let groups = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let read = |p: &Path| -> Option<u64> { std::fs::read_to_string(p).ok()?.trim().parse().ok() };
    let root = Path::new("/sys/fs/cgroup");
    for line in groups.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let rel = path.trim_start_matches('/');
        let (limit, usage) = if controllers.is_empty() {
            let d = root.join(rel);
            (read(&d.join("memory.max")), read(&d.join("memory.current")))
        } else if controllers.split(',').any(|c| c == "memory") {
            let d = root.join("memory").join(rel);
            (
                read(&d.join("memory.limit_in_bytes")),
                read(&d.join("memory.usage_in_bytes")),
            )
        } else {
            continue;
        };
        // v1 writes "no limit" as a huge number (2^63 rounded to a page).
        if let Some(limit) = limit.filter(|&l| l < 1 << 60) {
            return Some(limit.saturating_sub(usage.unwrap_or(0)));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_above_the_limit_is_refused_with_both_amounts() {
        let a = Available {
            bytes: 2_000_000_000,
            source: "a test".into(),
        };
        assert!(check_against("small", 1_000, &a).is_ok());
        let e = check_against("pairs --n 100000", total(100_000, 1_200_000, 0), &a)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("pairs --n 100000")
                && e.contains("120 GB")
                && e.contains("2.0 GB")
                && e.contains("a test"),
            "{e}"
        );
        // No overflow, however large the count.
        assert!(check_against("huge", total(usize::MAX, u128::from(u64::MAX), 1), &a).is_err());
    }

    #[test]
    fn sizes_parse_and_print() {
        assert_eq!(parse_size("512M"), Some(512 << 20));
        assert_eq!(parse_size("2GiB"), Some(2 << 30));
        assert_eq!(parse_size("123"), Some(123));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_size("99999999999T"), None);
        assert_eq!(bytes(999), "999 bytes");
        assert_eq!(bytes(1_300_000_000), "1.3 GB");
        assert_eq!(
            field_kb(
                "MemTotal: 10 kB\nMemAvailable:   2048 kB\n",
                "MemAvailable:"
            ),
            Some(2 << 20)
        );
    }

    #[test]
    fn this_machine_reports_some_memory() {
        if cfg!(target_os = "linux") {
            let a = available().expect("Linux has /proc/meminfo");
            assert!(a.bytes > 0, "{a:?}");
        }
    }
}
