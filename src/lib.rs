//! lobes: simulating populations of radio galaxies with structured variational inference.
//!
//! A facade over the two crates: [`ppl`] (the probabilistic programming language) and
//! [`models`] (radio data, the paper's VAE/CVAE, RAMIS).

pub use lobes_models as models;
pub use lobes_ppl as ppl;

/// Configures glibc's allocator for burn's CPU backend: no `mmap` for large blocks and no
/// trimming, so the big per-step tensors are reused instead of being mapped and unmapped
/// (hundreds of thousands of page faults per step otherwise; measured 70 → 170 images/s on the
/// paper's VAE). Binaries call this first thing; it does nothing off glibc.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}
