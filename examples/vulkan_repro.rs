//! Minimal reproduction of burn's `vulkan` backend (cubecl-wgpu with SPIR-V kernels) crashing
//! Mesa's software Vulkan driver, lavapipe, at its first compute pipeline; see docs/gpu.md.
//!
//! ```sh
//! cargo run --release --features vulkan --target-dir target/vulkan --example vulkan_repro
//! cargo run --release --features vulkan --target-dir target/vulkan --example vulkan_repro -- wgpu
//! ```
//!
//! One tensor of four floats, one elementwise kernel (`x + 1`), one read back. With no
//! argument the device is `Device::vulkan` (SPIR-V, cubecl's own compiler); with `wgpu` it is
//! `Device::wgpu`, which in a build with the `vulkan` feature also compiles SPIR-V (wgpu's
//! automatic choice); `wgsl` forces the WGSL path on the same Vulkan adapter through the
//! `CUBECL_WGPU_COMPILER`-free route of a `--features wgpu` build instead (see docs/gpu.md).

use burn::prelude::*;

fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "vulkan".into());
    let device = match which.as_str() {
        "wgpu" => Device::wgpu(Default::default()),
        _ => Device::vulkan(Default::default()),
    };
    eprintln!("device: {device:?}");
    let x = Tensor::<1>::from_floats([1.0, 2.0, 3.0, 4.0], &device);
    eprintln!("uploaded; launching x + 1");
    let y = (x + 1.0).into_data();
    println!("{:?}", y.to_vec::<f32>().expect("f32 values"));
}
