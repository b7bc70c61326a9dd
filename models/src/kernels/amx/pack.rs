//! Packing `f32` operands into AMX's bf16 tile layouts (the module documentation of
//! [`super`] describes them), in the order memory holds each operand.

use super::{Shared, View, available, up32};
use rayon::prelude::*;

/// The bf16 of `x` in the high half of a word (round to nearest, ties to even; a NaN stays a
/// NaN); the caller drops the low half. Branch-free, so the packing loops vectorise.
#[inline(always)]
pub(crate) fn high_bf16(x: f32) -> u32 {
    let b = x.to_bits();
    let rounded = b.wrapping_add(0x7fff + ((b >> 16) & 1));
    if x.is_nan() { b | 0x0040_0000 } else { rounded }
}

/// Two consecutive bf16 of the depth in one word, `lo` first in memory, as AMX reads them.
#[inline(always)]
fn pair(lo: f32, hi: f32) -> u32 {
    (high_bf16(hi) & 0xffff_0000) | (high_bf16(lo) >> 16)
}

/// One packed tile: 16 rows of 16 pair words. Lines are `A`'s rows or `B`'s columns; word
/// `(u, q)` holds depth elements `2q`, `2q + 1` of line `u`, stored line-major for `A`
/// (`tile[16u + q]`) and depth-major for `B` (`tile[16q + u]`, AMX's VNNI rows). Lines `u0..`,
/// depth `d0..`; outside the matrix, zeros. Compiled for AVX-512, which every CPU with AMX
/// has, so the conversion runs 16 lanes at a time.
///
/// # Safety
/// The CPU has AVX-512 F and BW ([`available`](super::available) implies it); `tile` is valid for writing 256
/// words that no other thread touches.
#[cfg_attr(target_arch = "x86_64", target_feature(enable = "avx512f,avx512bw"))]
unsafe fn pack_tile(m: View, lines_are_rows: bool, u0: usize, d0: usize, tile: *mut u32) {
    let (lines, depth) = if lines_are_rows {
        (m.rows, m.cols)
    } else {
        (m.cols, m.rows)
    };
    let (line_step, depth_step) = if lines_are_rows {
        (m.rs, m.cs)
    } else {
        (m.cs, m.rs)
    };
    let depth_major = !lines_are_rows;
    let at = |u: usize, q: usize| if depth_major { 16 * q + u } else { 16 * u + q };
    // SAFETY (every write below): `at` is below 256, inside the tile (the contract).
    let put = |u: usize, q: usize, w: u32| unsafe { tile.add(at(u, q)).write(w) };
    let full = u0 + 16 <= lines && d0 + 32 <= depth;
    let mut words = [0u32; 16];
    if full && depth_step == 1 {
        // A line's depth is contiguous: 32 values make its 16 words.
        for u in 0..16 {
            let run = &m.data[(u0 + u) * line_step + d0..][..32];
            for (q, w) in words.iter_mut().enumerate() {
                *w = pair(run[2 * q], run[2 * q + 1]);
            }
            for (q, w) in words.iter().enumerate() {
                put(u, q, *w);
            }
        }
    } else if full && line_step == 1 {
        // Lines are contiguous: two depth steps of 16 lines make one word per line.
        for q in 0..16 {
            let lo = &m.data[(d0 + 2 * q) * depth_step + u0..][..16];
            let hi = &m.data[(d0 + 2 * q + 1) * depth_step + u0..][..16];
            for (u, w) in words.iter_mut().enumerate() {
                *w = pair(lo[u], hi[u]);
            }
            for (u, w) in words.iter().enumerate() {
                put(u, q, *w);
            }
        }
    } else {
        let get = |u: usize, d: usize| {
            if u0 + u < lines && d0 + d < depth {
                m.data[(u0 + u) * line_step + (d0 + d) * depth_step]
            } else {
                0.0
            }
        };
        for u in 0..16 {
            for q in 0..16 {
                put(u, q, pair(get(u, 2 * q), get(u, 2 * q + 1)));
            }
        }
    }
}

/// `m` packed (module documentation): tiles of 16 lines × 32 depth, lines and depth padded with
/// zeros to multiples of 32. Threads share the work in the order memory holds `m`: by 16-line
/// blocks when each line's depth is contiguous, else by 32-deep slices (each slice then reads
/// 32 whole rows of `m` in turn rather than a 64-byte piece of every row).
///
/// Panics unless [`available`](super::available) (the packing is compiled for AVX-512, as AMX's CPUs have it).
fn pack(m: View, lines_are_rows: bool) -> Vec<u32> {
    assert!(
        available(),
        "AMX bf16 products are not available on this CPU"
    );
    let (lines, depth) = if lines_are_rows {
        (m.rows, m.cols)
    } else {
        (m.cols, m.rows)
    };
    let line_step = if lines_are_rows { m.rs } else { m.cs };
    let (lb, kt) = (up32(lines) / 16, up32(depth) / 32);
    // Every tile is written once below (padding as zeros): no zero-filled allocation first.
    let total = lb * kt * 256;
    let mut out: Vec<u32> = Vec::with_capacity(total);
    let ptr = Shared(out.as_mut_ptr());
    let tile = |i: usize, t: usize| {
        // SAFETY: tile (i, t) is the 256 words at (i · kt + t) · 256, inside the allocation,
        // written by this call only; AVX-512 is there (`available`, asserted above).
        unsafe {
            pack_tile(
                m,
                lines_are_rows,
                i * 16,
                t * 32,
                ptr.get().add((i * kt + t) * 256),
            )
        }
    };
    if line_step == 1 && lines > 1 {
        (0..kt)
            .into_par_iter()
            .for_each(|t| (0..lb).for_each(|i| tile(i, t)));
    } else {
        (0..lb)
            .into_par_iter()
            .for_each(|i| (0..kt).for_each(|t| tile(i, t)));
    }
    // SAFETY: all `total` words were written above.
    unsafe { out.set_len(total) };
    out
}

/// `a` (`[m, k]`) packed as tiles of 16 rows × 32 bf16 (module documentation), rows and depth
/// padded with zeros.
pub fn pack_a(a: View) -> Vec<u32> {
    pack(a, true)
}

/// `b` (`[k, n]`) packed as AMX's VNNI tiles (module documentation), depth and columns padded
/// with zeros.
pub fn pack_b(b: View) -> Vec<u32> {
    pack(b, false)
}
