//! lobes: simulating populations of radio galaxies with structured variational inference.
//!
//! A facade over the crates: [`ppl`] (the probabilistic programming language), [`models`]
//! (radio data, the paper's VAE/CVAE, RAMIS) and, with the `mpi` feature, [`mpi`] (training
//! across MPI ranks).

pub use lobes_models as models;
#[cfg(feature = "mpi")]
pub use lobes_mpi as mpi;
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

/// Checks, before any tensor exists, that the device `BURN_DEVICE` names (or, unset, the one
/// burn would pick first) can start here, so a missing GPU driver is an error naming the device
/// and the fix rather than a panic inside the GPU runtime. Today: a build with the `cuda`
/// feature needs the NVIDIA driver's `libcuda.so.1`.
pub fn check_device() -> Result<(), String> {
    let wanted = std::env::var("BURN_DEVICE").ok();
    #[cfg(all(feature = "cuda", target_os = "linux"))]
    if wanted.as_deref().is_none_or(|d| d.starts_with("cuda")) {
        // SAFETY: dlopen with a valid C string; the handle is closed at once.
        let found = unsafe {
            let h = libc::dlopen(c"libcuda.so.1".as_ptr(), libc::RTLD_LAZY | libc::RTLD_LOCAL);
            if !h.is_null() {
                libc::dlclose(h);
            }
            !h.is_null()
        };
        if !found {
            let which = match &wanted {
                Some(d) => format!("BURN_DEVICE={d}"),
                None => "this CUDA build's default device (BURN_DEVICE unset)".into(),
            };
            return Err(format!(
                "{which}: the NVIDIA driver's libcuda.so.1 cannot be loaded (no GPU driver on \
                 this machine, or not on the library path); set BURN_DEVICE=flex to compute on \
                 the CPU"
            ));
        }
    }
    let _ = wanted;
    Ok(())
}

/// On SIGINT, SIGTERM or SIGHUP, removes the temporary files being written
/// ([`lobes_ppl::io::Temporary`]: a survey field's image can be gigabytes) and the folder locks
/// held, then dies of the signal as it would have (exit status 128 + signal in a shell). The
/// handler runs on its own thread, not inside the signal handler; a process killed by SIGKILL
/// leaves its temporaries, which the next write into the folder removes. Binaries call this
/// once at start.
pub fn remove_temporaries_on_signal() -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                ppl::io::remove_live_temporaries();
                models::output::release_all_locks();
                let _ = signal_hook::low_level::emulate_default_handler(sig);
                std::process::exit(128 + sig);
            }
        })?;
    Ok(())
}
