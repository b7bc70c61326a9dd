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
//! registers) runs the depth ([`tiles`] says in which passes), and only its rows and columns
//! inside `C` are written. [`pack`] converts and lays out the operands, in parallel, reading
//! each in the order memory holds it; [`tiles`] runs the blocks.
//!
//! # Shapes
//! - `a`: `[m, k]`, `b`: `[k, n]`, the result `[m, n]` row-major.
//!
//! Linux hands AMX's 8 KiB of tile state to a process only after
//! `arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)`, which [`available`] asks for once.

pub mod pack;
pub mod tiles;

pub use pack::{pack_a, pack_b};
pub use tiles::matmul_packed;

pub use super::matrix::View;
use std::sync::OnceLock;

/// A buffer's pointer shared by threads that each write their own disjoint part of it (the
/// packed tiles, the output's blocks).
#[derive(Clone, Copy)]
struct Shared<T>(*mut T);
// SAFETY: every user writes only its own part of the buffer, and the buffer outlives the tasks.
unsafe impl<T> Send for Shared<T> {}
unsafe impl<T> Sync for Shared<T> {}

impl<T> Shared<T> {
    /// The pointer (a method, so closures capture the `Sync` wrapper, not the raw pointer).
    fn get(self) -> *mut T {
        self.0
    }
}

/// `x` rounded to the nearest bf16, ties to even (NaN stays a quiet NaN).
#[inline(always)]
pub fn bf16(x: f32) -> u16 {
    (pack::high_bf16(x) >> 16) as u16
}

/// The f32 a bf16 stands for.
#[inline(always)]
pub fn f32_of(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

pub(crate) fn up32(x: usize) -> usize {
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

#[cfg(test)]
mod tests;
