//! Matrix products in bf16 on Intel's AMX tiles (`tdpbf16ps`), accumulated in f32.
//!
//! `C = A B` for f32 matrices given as strided views: both operands are rounded to bf16
//! (round to nearest, ties to even) while they are packed into AMX's tile layouts, the products
//! are summed in f32 tiles, and `C` is written once, in f32. The views' strides make
//! transposed operands free: the layer's input gradient `dy Wᵀ` packs `W` read row by row.
//!
//! # Layouts
//! Packed operands are 32-bit words, each two bf16 consecutive in the depth (the lower
//! half first in memory), 256 words (1 KiB) per tile, `kt` = `k` / 32 rounded up:
//! - `A` (`[m, k]`): tiles of 16 rows × 32 bf16, row-major (AMX's `A` operand); tile `(i, t)`
//!   at word `(i · kt + t) · 256`.
//! - `B` (`[k, n]`): AMX's VNNI tiles, 16 rows each holding the pairs `(B[2p, j], B[2p+1, j])`
//!   of 16 columns `j`; tile `(j, t)` at word `(j · kt + t) · 256`.
//!
//! Both are zero-padded to multiples of 32 rows, columns and depth, so every tile is whole; a
//! 32 × 32 block of `C` (four accumulator tiles, two of `A`, two of `B`: all eight tile
//! registers) runs the whole depth, and only its rows and columns inside `C` are written.
//!
//! # Shapes
//! - `a`: `[m, k]`, `b`: `[k, n]`, the result `[m, n]` row-major.
//!
//! Linux hands AMX's 8 KiB of tile state to a process only after
//! `arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)`, which [`available`] asks for once.

use rayon::prelude::*;
use std::sync::OnceLock;

/// A strided f32 matrix: element `(r, c)` at `data[r · rs + c · cs]`.
#[derive(Clone, Copy, Debug)]
pub struct View<'a> {
    /// The values.
    pub data: &'a [f32],
    /// Rows and columns.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Step between rows.
    pub rs: usize,
    /// Step between columns.
    pub cs: usize,
}

impl<'a> View<'a> {
    /// A row-major `[rows, cols]` matrix.
    pub fn rows(data: &'a [f32], rows: usize, cols: usize) -> View<'a> {
        assert_eq!(data.len(), rows * cols, "a [{rows}, {cols}] matrix");
        View {
            data,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }

    /// The transpose, without copying.
    pub fn t(self) -> View<'a> {
        View {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
        }
    }

    #[inline(always)]
    fn at(&self, r: usize, c: usize) -> f32 {
        self.data[r * self.rs + c * self.cs]
    }
}

/// `x` rounded to the nearest bf16, ties to even (NaN stays a quiet NaN).
#[inline(always)]
pub fn bf16(x: f32) -> u16 {
    (high_bf16(x) >> 16) as u16
}

/// The f32 a bf16 stands for.
#[inline(always)]
pub fn f32_of(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

fn up32(x: usize) -> usize {
    x.div_ceil(32) * 32
}

/// Whether this CPU runs AMX's bf16 products here (CPUID's AMX-TILE and AMX-BF16, and Linux's
/// permission to use the tile state), checked once.
pub fn available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            let l0 = std::arch::x86_64::__cpuid_count(0, 0);
            if l0.eax < 7 {
                return false;
            }
            let l7 = std::arch::x86_64::__cpuid_count(7, 0);
            let (tile, bf16) = (l7.edx & (1 << 24) != 0, l7.edx & (1 << 22) != 0);
            tile && bf16 && tile_permission()
        }
        #[cfg(not(target_arch = "x86_64"))]
        false
    })
}

#[cfg(target_arch = "x86_64")]
fn tile_permission() -> bool {
    #[cfg(target_os = "linux")]
    {
        const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
        const XFEATURE_XTILEDATA: libc::c_long = 18;
        // SAFETY: arch_prctl with an integer request and argument; it only changes this
        // process's permitted xsave features.
        unsafe {
            libc::syscall(
                libc::SYS_arch_prctl,
                ARCH_REQ_XCOMP_PERM,
                XFEATURE_XTILEDATA,
            ) == 0
        }
    }
    #[cfg(not(target_os = "linux"))]
    false
}

/// The bf16 of `x` in the high half of a word (round to nearest, ties to even; a NaN stays a
/// NaN); the caller drops the low half. Branch-free, so the packing loops vectorise.
#[inline(always)]
fn high_bf16(x: f32) -> u32 {
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
/// The CPU has AVX-512 F and BW ([`available`] implies it); `tile` is valid for writing 256
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
/// Panics unless [`available`] (the packing is compiled for AVX-512, as AMX's CPUs have it).
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
    let ptr = Words(out.as_mut_ptr());
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

/// The packed buffer's pointer, shared by threads that each write their own tiles.
#[derive(Clone, Copy)]
struct Words(*mut u32);
// SAFETY: each task writes a disjoint set of tiles.
unsafe impl Send for Words {}
unsafe impl Sync for Words {}

impl Words {
    /// The pointer (a method, so closures capture the `Sync` wrapper, not the raw pointer).
    fn get(self) -> *mut u32 {
        self.0
    }
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

/// The output's pointer, shared by the threads that each write their own columns.
#[derive(Clone, Copy)]
struct Out(*mut f32);
// SAFETY: each task writes a disjoint set of blocks of the output.
unsafe impl Send for Out {}
unsafe impl Sync for Out {}

impl Out {
    /// The pointer (a method, so closures capture the `Sync` wrapper, not the raw pointer).
    fn get(self) -> *mut f32 {
        self.0
    }
}

/// Depth tiles per pass over a group of blocks (256 of the depth): the `A` rows of a pass
/// (at batch 100, 4 × 2 × 8 KiB) stay in the core's cache while the group's `B` columns stream.
const DEPTH_TILES: usize = 8;

/// Column blocks (of 32) per task when `C` has few rows.
const GROUP: usize = 8;

/// `a b` from packed operands (`pa` = [`pack_a`] of `[m, k]`, `pb` = [`pack_b`] of `[k, n]`),
/// row-major `[m, n]`. Panics unless [`available`].
///
/// With many rows (the weight gradient, depth 100) each task is a 32-row strip of `C`, written
/// whole. With few (the forward and input-gradient products at batch 100) each task is a group
/// of [`GROUP`] column blocks, run [`DEPTH_TILES`] depth tiles at a time with the partial sums
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
    let out = Out(c.as_mut_ptr());
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

/// `a b` (`[m, k] × [k, n]`) in bf16 with f32 accumulation. Panics unless [`available`] or
/// when the inner sizes differ.
pub fn matmul(a: View, b: View) -> Vec<f32> {
    assert_eq!(
        a.cols, b.rows,
        "[{}, {}] x [{}, {}]",
        a.rows, a.cols, b.rows, b.cols
    );
    let (pa, pb) = rayon::join(|| pack_a(a), || pack_b(b));
    matmul_packed(&pa, &pb, a.rows, a.cols, b.cols)
}

/// The same product from the same bf16-rounded operands, summed in f64 (the tests' reference).
pub fn reference(a: View, b: View) -> Vec<f32> {
    let mut c = vec![0f32; a.rows * b.cols];
    for i in 0..a.rows {
        for j in 0..b.cols {
            let s: f64 = (0..a.cols)
                .map(|t| f32_of(bf16(a.at(i, t))) as f64 * f32_of(bf16(b.at(t, j))) as f64)
                .sum();
            c[i * b.cols + j] = s as f32;
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bf16_rounds_to_nearest_even() {
        assert_eq!(bf16(1.0), 0x3f80);
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties go to the even 1.0.
        assert_eq!(bf16(1.0 + 1.0 / 256.0), 0x3f80);
        assert_eq!(bf16(1.0 + 3.0 / 512.0), 0x3f81);
        assert_eq!(f32_of(bf16(-2.5)), -2.5);
        assert!(f32_of(bf16(f32::NAN)).is_nan());
        assert_eq!(f32_of(bf16(f32::INFINITY)), f32::INFINITY);
    }

    #[test]
    fn packing_puts_each_element_where_the_tiles_read_it() {
        let (m, k, n) = (19, 37, 21);
        let av: Vec<f32> = (0..m * k).map(|i| i as f32).collect();
        let bv: Vec<f32> = (0..k * n).map(|i| i as f32).collect();
        let (a, b) = (View::rows(&av, m, k), View::rows(&bv, k, n));
        let halves = |p: Vec<u32>| -> Vec<u16> {
            p.iter()
                .flat_map(|w| [*w as u16, (w >> 16) as u16])
                .collect()
        };
        let (pa, pb) = (halves(pack_a(a)), halves(pack_b(b)));
        let kt = up32(k) / 32;
        for i in 0..up32(m) {
            for t in 0..up32(k) {
                let want = if i < m && t < k { bf16(a.at(i, t)) } else { 0 };
                let at = ((i / 16) * kt + t / 32) * 512 + (i % 16) * 32 + t % 32;
                assert_eq!(pa[at], want, "A ({i}, {t})");
            }
        }
        // The transposed view packs the same tiles as its row-major copy.
        let bt: Vec<f32> = (0..n * k).map(|i| bv[(i % k) * n + i / k]).collect();
        assert_eq!(halves(pack_b(View::rows(&bt, n, k).t())), pb);
        let at: Vec<f32> = (0..k * m).map(|i| av[(i % m) * k + i / m]).collect();
        assert_eq!(halves(pack_a(View::rows(&at, k, m).t())), pa);
        for t in 0..up32(k) {
            for j in 0..up32(n) {
                let want = if t < k && j < n { bf16(b.at(t, j)) } else { 0 };
                let at =
                    ((j / 16) * kt + t / 32) * 512 + ((t % 32) / 2) * 32 + (j % 16) * 2 + t % 2;
                assert_eq!(pb[at], want, "B ({t}, {j})");
            }
        }
    }

    /// Deterministic values in [-1, 1).
    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 40) as f32 / (1u64 << 23) as f32 - 1.0
            })
            .collect()
    }

    /// The product of `[m, k] × [k, n]` (`b` transposed when `bt`) against the same
    /// bf16-rounded operands summed in f64 (f32 accumulation order only), and against the f32
    /// product (bf16's rounding: at most 2^-8 of Σ|a||b| per entry), on `samples` entries.
    fn check(m: usize, k: usize, n: usize, bt: bool, samples: usize) {
        let (av, bv) = (values(m * k, 1), values(k * n, 2));
        let a = View::rows(&av, m, k);
        let b = if bt {
            View::rows(&bv, n, k).t()
        } else {
            View::rows(&bv, k, n)
        };
        let c = matmul(a, b);
        assert_eq!(c.len(), m * n);
        let mut x = 12345usize;
        for s in 0..samples.min(m * n) {
            let at = if samples >= m * n {
                s
            } else {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (x >> 17) % (m * n)
            };
            let (i, j) = (at / n, at % n);
            let (mut exact, mut f32sum, mut size) = (0f64, 0f64, 0f64);
            for t in 0..k {
                let (p, q) = (a.at(i, t), b.at(t, j));
                exact += f32_of(bf16(p)) as f64 * f32_of(bf16(q)) as f64;
                f32sum += p as f64 * q as f64;
                size += (p as f64 * q as f64).abs();
            }
            let got = c[at] as f64;
            assert!(
                (got - exact).abs() <= 1e-5 * size + 1e-30,
                "[{m}, {k}] x [{k}, {n}] ({i}, {j}): {got} against {exact} (summed |ab| {size})"
            );
            assert!(
                (got - f32sum).abs() <= size / 128.0,
                "[{m}, {k}] x [{k}, {n}] ({i}, {j}): {got} against f32 {f32sum}"
            );
        }
    }

    #[test]
    fn products_match_f32_within_bf16_rounding_at_ragged_and_network_shapes() {
        if !available() {
            eprintln!("skipping: this CPU has no AMX bf16 (or Linux refused its tile state)");
            return;
        }
        // Ragged: nothing a multiple of 16 or 32, a depth below one tile, one row.
        for (m, k, n) in [
            (1, 1, 1),
            (7, 5, 3),
            (19, 37, 21),
            (33, 65, 47),
            (100, 31, 130),
        ] {
            check(m, k, n, false, usize::MAX);
            check(m, k, n, true, usize::MAX);
        }
        // The Table-2 decoder's last layer at batch 100: forward, input gradient (Wᵀ read row
        // by row) and weight gradient (xᵀ dy, depth 100), sampled.
        check(100, 4096, 1500, false, 3000);
        check(100, 1500, 4096, true, 3000);
        check(512, 100, 1500, false, 3000);
    }
}
