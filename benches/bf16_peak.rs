//! Peak throughput of one core's bf16 products against its FP32 FMA (issue #28's first
//! measurement): AVX-512 `vfmadd` (FP32), AVX512-BF16 `vdpbf16ps` (pairs of bf16 products
//! accumulated in FP32) and AMX `tdpbf16ps` (16 x 16 FP32 tiles += 16 x 32 by 32 x 16 bf16),
//! each on eight or four independent accumulators, nothing read from memory: the ceiling a bf16
//! kernel could reach, not a matrix product's speed.
//!
//! ```sh
//! cargo bench --bench bf16_peak
//! ```
//!
//! Each part runs only where the CPU has it (CPUID), and says so when it skips. AMX needs the
//! kernel's permission first (`arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)`, Linux ≥
//! 5.16).

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::asm;
    use std::arch::x86_64::*;
    use std::time::Instant;

    /// (AVX-512F, AVX512-BF16, AMX-TILE and AMX-BF16) from CPUID leaf 7.
    pub fn features() -> (bool, bool, bool) {
        let max = __cpuid(0).eax;
        if max < 7 {
            return (false, false, false);
        }
        let l0 = __cpuid_count(7, 0);
        let l1 = __cpuid_count(7, 1);
        let avx512 = l0.ebx & (1 << 16) != 0 && is_x86_feature_detected!("avx512f");
        let bf16 = avx512 && l1.eax & (1 << 5) != 0;
        let amx = l0.edx & (1 << 24) != 0 && l0.edx & (1 << 22) != 0;
        (avx512, bf16, amx)
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn fma(iters: usize) -> f32 {
        let (a, b) = (_mm512_set1_ps(1.0), _mm512_set1_ps(0.0078));
        let mut acc = [_mm512_setzero_ps(); 8];
        for _ in 0..iters {
            for x in acc.iter_mut() {
                *x = _mm512_fmadd_ps(a, b, *x);
            }
        }
        let s = acc
            .iter()
            .fold(_mm512_setzero_ps(), |s, a| _mm512_add_ps(s, *a));
        _mm512_reduce_add_ps(s)
    }

    #[target_feature(enable = "avx512f,avx512bf16")]
    unsafe fn dpbf16(iters: usize) -> f32 {
        // Two bf16 1.0s and two bf16 0.0078s per 32-bit lane.
        // SAFETY: __m512i and __m512bh are both 64 bytes of plain bits.
        let a: __m512bh = unsafe { std::mem::transmute(_mm512_set1_epi32(0x3f80_3f80u32 as i32)) };
        // SAFETY: as above.
        let b: __m512bh = unsafe { std::mem::transmute(_mm512_set1_epi32(0x3c00_3c00u32 as i32)) };
        let mut acc = [_mm512_setzero_ps(); 8];
        for _ in 0..iters {
            for x in acc.iter_mut() {
                *x = _mm512_dpbf16_ps(*x, a, b);
            }
        }
        let s = acc
            .iter()
            .fold(_mm512_setzero_ps(), |s, a| _mm512_add_ps(s, *a));
        _mm512_reduce_add_ps(s)
    }

    #[repr(C, align(64))]
    struct TileConfig([u8; 64]);

    /// `arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)`: Linux's permission to use AMX.
    fn amx_permission() -> bool {
        let r: i64;
        // SAFETY: a plain syscall (158 = arch_prctl) with two integer arguments.
        unsafe {
            asm!("syscall", inlateout("rax") 158i64 => r, in("rdi") 0x1023i64, in("rsi") 18i64,
                 lateout("rcx") _, lateout("r11") _)
        };
        r == 0
    }

    /// AMX: four 16 x 16 FP32 accumulator tiles, each `tdpbf16ps` 8,192 multiply-adds.
    /// Returns GFLOP/s and the first accumulator's first element (a check).
    fn amx(iters: u64) -> Option<(f64, f32)> {
        if !amx_permission() {
            return None;
        }
        let mut cfg = TileConfig([0; 64]);
        cfg.0[0] = 1; // palette 1
        for t in 0..8 {
            cfg.0[16 + 2 * t] = 64; // bytes per row
            cfg.0[48 + t] = 16; // rows
        }
        let ones = vec![0x3f80u16; 16 * 32]; // bf16 1.0, 16 rows of 64 bytes
        let mut out = vec![0f32; 256];
        // SAFETY: the tile configuration is valid for palette 1, every tile load and store
        // reads or writes 16 rows of 64 bytes within `ones` and `out`, and the tiles are
        // released before returning.
        let secs = unsafe {
            asm!("ldtilecfg [{0}]", in(reg) cfg.0.as_ptr());
            asm!(
                "tilezero tmm0",
                "tilezero tmm1",
                "tilezero tmm2",
                "tilezero tmm3"
            );
            asm!("tileloadd tmm4, [{0} + {1}*1]", "tileloadd tmm5, [{0} + {1}*1]",
                 "tileloadd tmm6, [{0} + {1}*1]", "tileloadd tmm7, [{0} + {1}*1]",
                 in(reg) ones.as_ptr(), in(reg) 64usize);
            let t = Instant::now();
            for _ in 0..iters {
                asm!(
                    "tdpbf16ps tmm0, tmm4, tmm5",
                    "tdpbf16ps tmm1, tmm4, tmm6",
                    "tdpbf16ps tmm2, tmm7, tmm5",
                    "tdpbf16ps tmm3, tmm7, tmm6"
                );
            }
            let s = t.elapsed().as_secs_f64();
            asm!("tilestored [{0} + {1}*1], tmm0", in(reg) out.as_mut_ptr(), in(reg) 64usize);
            asm!("tilerelease");
            s
        };
        Some(((iters * 4) as f64 * 16384.0 / secs / 1e9, out[0]))
    }

    pub fn run() {
        let (avx512, bf16, has_amx) = features();
        let n = 25_000_000;
        for round in 1..=3 {
            let mut line = format!("round {round}, one core:");
            let mut base = None;
            if avx512 {
                let t = Instant::now();
                // SAFETY: AVX-512F is present (CPUID and the OS's XSAVE state checked).
                let r = unsafe { fma(n) };
                let g = (n * 8) as f64 * 32.0 / t.elapsed().as_secs_f64() / 1e9;
                base = Some(g);
                line += &format!(" FP32 FMA {g:.1} GFLOP/s [{r}];");
            } else {
                line += " FP32 FMA skipped (no AVX-512);";
            }
            if bf16 {
                let t = Instant::now();
                // SAFETY: AVX512-BF16 is present.
                let r = unsafe { dpbf16(n) };
                let g = (n * 8) as f64 * 64.0 / t.elapsed().as_secs_f64() / 1e9;
                let x = base.map_or(String::new(), |b| format!(" ({:.2}x FP32)", g / b));
                line += &format!(" vdpbf16ps {g:.1} GFLOP/s{x} [{r}];");
            } else {
                line += " vdpbf16ps skipped (no AVX512-BF16);";
            }
            if has_amx {
                match amx(n as u64 / 5) {
                    Some((g, check)) => {
                        let x = base.map_or(String::new(), |b| format!(" ({:.1}x FP32)", g / b));
                        line += &format!(" AMX tdpbf16ps {g:.0} GFLOP/s{x} [{check}]");
                    }
                    None => line += " AMX skipped (the kernel refused the tile permission)",
                }
            } else {
                line += " AMX skipped (no AMX-BF16)";
            }
            println!("{line}");
        }
    }
}

fn main() {
    #[cfg(target_arch = "x86_64")]
    x86::run();
    #[cfg(not(target_arch = "x86_64"))]
    println!("bf16_peak: skipped (not x86-64)");
}
