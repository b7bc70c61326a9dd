//! The precision of the dense layers' matrix products (`--precision`): f32, the default, or
//! bf16 inputs with f32 accumulation on Intel's AMX tiles ([`crate::kernels::amx`]).
//!
//! Like PyTorch's `torch.backends.mkldnn.matmul.fp32_precision`, the setting is process-wide:
//! it changes how the CPU backend computes [`crate::kernels::linear::linear`]'s three products
//! (forward, input gradient, weight gradient), not what is stored. Weights, gradients, Adam's
//! moments and every other operation stay f32. The sparse first layer (its cost is in reading
//! the weight rows of the non-zero pixels, not in arithmetic) and GPU devices are unchanged.
//!
//! ```
//! use lobes_models::kernels::precision::{Precision, matmul_precision, set_matmul_precision};
//! let before = set_matmul_precision(Precision::Bf16);
//! assert_eq!(matmul_precision(), Precision::Bf16);
//! set_matmul_precision(before);
//! ```

use crate::error::ModelError;
use std::sync::atomic::{AtomicU8, Ordering};

/// What the dense layers' products read and how they sum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Precision {
    /// f32 inputs, f32 sums: burn's GEMM (and the weight gradient through the same GEMM).
    #[default]
    F32,
    /// Inputs rounded to bf16 (8 bits of mantissa), products summed in f32, on AMX where the
    /// CPU has it; elsewhere the f32 path runs ([`Precision::kernel`] says which).
    Bf16,
}

static PRECISION: AtomicU8 = AtomicU8::new(0);

impl Precision {
    /// The option's value: `f32` or `bf16`.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
        }
    }

    /// `f32` or `bf16`, or an error naming `--precision`.
    pub fn parse(s: &str) -> Result<Precision, ModelError> {
        match s {
            "f32" | "fp32" => Ok(Precision::F32),
            "bf16" => Ok(Precision::Bf16),
            _ => Err(ModelError::invalid_option(
                "--precision",
                s,
                format!("--precision must be f32 or bf16, got {s:?}"),
            )),
        }
    }

    /// The kernel path this precision runs on this CPU, in words (for `lobes bench` and the
    /// training's first lines).
    pub fn kernel(self) -> &'static str {
        match self {
            Precision::F32 => "f32 products (burn's GEMM, AVX-512/AVX2 FMA)",
            Precision::Bf16 if crate::kernels::amx::available() => {
                "bf16 products on AMX tiles (tdpbf16ps, f32 accumulation)"
            }
            Precision::Bf16 => {
                "bf16 asked for, but this CPU has no AMX bf16: f32 products (burn's GEMM)"
            }
        }
    }

    /// Whether products run in bf16 here: asked for and AMX available.
    pub fn runs_bf16(self) -> bool {
        self == Precision::Bf16 && crate::kernels::amx::available()
    }
}

/// Sets the process's product precision; returns the previous one.
pub fn set_matmul_precision(p: Precision) -> Precision {
    match PRECISION.swap(p as u8, Ordering::Relaxed) {
        1 => Precision::Bf16,
        _ => Precision::F32,
    }
}

/// The process's product precision.
pub fn matmul_precision() -> Precision {
    match PRECISION.load(Ordering::Relaxed) {
        1 => Precision::Bf16,
        _ => Precision::F32,
    }
}

/// Whether this call's products run in bf16 (set to bf16 and AMX available).
pub(crate) fn bf16_now() -> bool {
    matmul_precision().runs_bf16()
}
