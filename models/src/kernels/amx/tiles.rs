//! The product on AMX's tile registers: the tile configuration, the 32 × 32 block kernel and
//! the loop that shares the blocks of `C` between threads.

use super::{Shared, available, up32};
use rayon::prelude::*;

#[repr(C, align(64))]
struct TileConfig([u8; 64]);

/// Palette 1, eight tiles of 16 rows × 64 bytes.
const CONFIG: TileConfig = {
    let mut c = [0u8; 64];
    c[0] = 1;
    let mut t = 0;
    while t < 8 {
        c[16 + 2 * t] = 64;
        c[48 + t] = 16;
        t += 1;
    }
    TileConfig(c)
};

/// The 32 × 32 block of `C` from two tiles of packed `A` rows and two of packed `B` columns,
/// over `kt` depth tiles, into `acc` (four 16 × 16 f32 tiles: top-left, top-right,
/// bottom-left, bottom-right), added to what `acc` holds when `add`, else from zero.
///
/// # Safety
/// AMX available and configured with [`CONFIG`] on this thread; `a0`, `a1`, `b0`, `b1` each
/// point at `kt` (at least 1) consecutive packed tiles (1 KiB each).
#[cfg(target_arch = "x86_64")]
unsafe fn block(
    a0: *const u32,
    a1: *const u32,
    b0: *const u32,
    b1: *const u32,
    kt: usize,
    acc: &mut [f32; 1024],
    add: bool,
) {
    let o = acc.as_mut_ptr();
    // SAFETY: the caller's contract; every load reads 16 rows of 64 bytes inside one packed
    // tile or inside `acc`, every store writes 16 rows of 64 bytes inside `acc`.
    unsafe {
        if add {
            std::arch::asm!(
                "tileloadd tmm0, [{o} + {s}*1]",
                "tileloadd tmm1, [{o} + {s}*1 + 1024]",
                "tileloadd tmm2, [{o} + {s}*1 + 2048]",
                "tileloadd tmm3, [{o} + {s}*1 + 3072]",
                o = in(reg) o,
                s = in(reg) 64usize,
                options(nostack),
            );
        } else {
            std::arch::asm!(
                "tilezero tmm0",
                "tilezero tmm1",
                "tilezero tmm2",
                "tilezero tmm3",
                options(nostack)
            );
        }
        std::arch::asm!(
            "2:",
            "tileloadd tmm4, [{a0} + {s}*1]",
            "tileloadd tmm5, [{a1} + {s}*1]",
            "tileloadd tmm6, [{b0} + {s}*1]",
            "tileloadd tmm7, [{b1} + {s}*1]",
            "tdpbf16ps tmm0, tmm4, tmm6",
            "tdpbf16ps tmm1, tmm4, tmm7",
            "tdpbf16ps tmm2, tmm5, tmm6",
            "tdpbf16ps tmm3, tmm5, tmm7",
            "add {a0}, 1024",
            "add {a1}, 1024",
            "add {b0}, 1024",
            "add {b1}, 1024",
            "dec {n}",
            "jnz 2b",
            "tilestored [{o} + {s}*1], tmm0",
            "tilestored [{o} + {s}*1 + 1024], tmm1",
            "tilestored [{o} + {s}*1 + 2048], tmm2",
            "tilestored [{o} + {s}*1 + 3072], tmm3",
            a0 = inout(reg) a0 => _,
            a1 = inout(reg) a1 => _,
            b0 = inout(reg) b0 => _,
            b1 = inout(reg) b1 => _,
            n = inout(reg) kt => _,
            o = in(reg) o,
            s = in(reg) 64usize,
            options(nostack),
        );
    }
}

/// Depth tiles per pass over a group of blocks (256 of the depth): the `A` rows of a pass
/// (at batch 100, 4 × 2 × 8 KiB) stay in the core's cache while the group's `B` columns stream.
const DEPTH_TILES: usize = 8;

/// Column blocks (of 32) per task when `C` has few rows.
const GROUP: usize = 8;

/// `a b` from packed operands (`pa` = [`pack_a`](super::pack_a) of `[m, k]`, `pb` = [`pack_b`](super::pack_b) of `[k, n]`),
/// row-major `[m, n]`. Panics unless [`available`].
///
/// With many rows (the weight gradient, depth 100) each task is a 32-row strip of `C`, written
/// whole. With few (the forward and input-gradient products at batch 100) each task is a group
/// of 8 column blocks (`GROUP`), run 8 depth tiles (`DEPTH_TILES`) at a time with the partial sums
/// kept in the task's accumulators, so the small `A` is read from cache and the large `B` (the
/// weight) once from memory.
pub fn matmul_packed(pa: &[u32], pb: &[u32], m: usize, k: usize, n: usize) -> Vec<f32> {
    assert!(
        available(),
        "AMX bf16 products are not available on this CPU"
    );
    let (mp, kp, np) = (up32(m), up32(k), up32(n));
    assert_eq!(
        (pa.len(), pb.len()),
        (mp * kp / 2, kp * np / 2),
        "packed [{m}, {k}] x [{k}, {n}]"
    );
    let kt = kp / 32;
    let mut c: Vec<f32> = Vec::with_capacity(m * n);
    let out = Shared(c.as_mut_ptr());
    let (rb, cb) = (mp / 32, np / 32);
    let by_rows = rb >= 8;
    let (tasks, rows_per, cols_per) = if by_rows {
        (rb, 1, cb)
    } else {
        (cb.div_ceil(GROUP), rb, GROUP)
    };
    (0..tasks).into_par_iter().for_each(|task| {
        let (ib0, jb0) = if by_rows {
            (task, 0)
        } else {
            (0, task * GROUP)
        };
        let cols = cols_per.min(cb - jb0);
        let mut acc = vec![[0f32; 1024]; rows_per * cols];
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AMX is available (asserted above) and CONFIG is a valid palette-1 layout.
        unsafe {
            std::arch::asm!("ldtilecfg [{0}]", in(reg) CONFIG.0.as_ptr(), options(nostack));
        }
        let chunk = if by_rows { kt } else { DEPTH_TILES };
        for t0 in (0..kt).step_by(chunk) {
            let depth = chunk.min(kt - t0);
            for (x, acc) in acc.iter_mut().enumerate() {
                let (ib, jb) = (ib0 + x % rows_per, jb0 + x / rows_per);
                let tile =
                    |p: &[u32], line_block: usize| p[(line_block * kt + t0) * 256..].as_ptr();
                #[cfg(target_arch = "x86_64")]
                // SAFETY: tiles configured above; each pointer starts `depth` whole tiles.
                unsafe {
                    block(
                        tile(pa, 2 * ib),
                        tile(pa, 2 * ib + 1),
                        tile(pb, 2 * jb),
                        tile(pb, 2 * jb + 1),
                        depth,
                        acc,
                        t0 > 0,
                    )
                };
            }
        }
        #[cfg(target_arch = "x86_64")]
        // SAFETY: releases this thread's tile state.
        unsafe {
            std::arch::asm!("tilerelease", options(nostack));
        }
        for (x, acc) in acc.iter().enumerate() {
            let (ib, jb) = (ib0 + x % rows_per, jb0 + x / rows_per);
            for q in 0..4 {
                let (r0, c0) = (ib * 32 + (q / 2) * 16, jb * 32 + (q % 2) * 16);
                if r0 >= m || c0 >= n {
                    continue;
                }
                let cols = (n - c0).min(16);
                for r in 0..(m - r0).min(16) {
                    let src = &acc[q * 256 + r * 16..q * 256 + r * 16 + cols];
                    // SAFETY: (r0 + r, c0..c0 + cols) is inside the [m, n] output, and no
                    // other task writes this block.
                    unsafe {
                        std::ptr::copy_nonoverlapping(
                            src.as_ptr(),
                            out.get().add((r0 + r) * n + c0),
                            cols,
                        )
                    };
                }
            }
        }
    });
    // SAFETY: every element of the [m, n] output was written above (the blocks cover it).
    unsafe { c.set_len(m * n) };
    c
}
