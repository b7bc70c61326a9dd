//! Minimal reproduction of burn's `vulkan` backend (cubecl-wgpu with cubecl's own SPIR-V
//! compiler) crashing Mesa's software Vulkan driver, lavapipe; see docs/gpu.md, "burn's `vulkan`
//! backend crashes lavapipe".
//!
//! ```sh
//! cargo run --release --features vulkan --target-dir target/vulkan --example vulkan_repro
//! cargo run --release --features vulkan --target-dir target/vulkan --example vulkan_repro -- add
//! cargo run --release --features vulkan --target-dir target/vulkan --example vulkan_repro -- matmul
//! ```
//!
//! One tensor of four floats on `Device::vulkan`, then one operation, read back:
//!
//! - `sum` (the default): `[1, 2, 3, 4].sum()`. burn runs cubek-reduce's `shared_sum_kernel`,
//!   which uses workgroup (shared) memory. On lavapipe (Mesa 22.3.6 and 25.0.7) the process dies
//!   with SIGSEGV inside `vkCreateComputePipelines`: cubecl emits an invalid module for it (the
//!   shared-memory variable is declared as a pointer to a pointer; `spirv-val` and the Vulkan
//!   validation layer reject it) and lavapipe does not survive it.
//! - `matmul`: a 2 x 2 matmul; the same crash, in the matmul kernel's shared memory.
//! - `add`: `x + 1`, an elementwise kernel with no shared memory: runs, prints [2, 3, 4, 5].
//!
//! `CUBECL_DEBUG_LOG=stderr` prints each kernel's SPIR-V (disassembled) before its pipeline is
//! created; `VK_INSTANCE_LAYERS=VK_LAYER_KHRONOS_validation` reports the invalid module.

use burn::prelude::*;

fn main() {
    let op = std::env::args().nth(1).unwrap_or_else(|| "sum".into());
    let device = Device::vulkan(Default::default());
    eprintln!("device: {device:?}");
    let x = Tensor::<1>::from_floats([1.0, 2.0, 3.0, 4.0], &device);
    eprintln!("uploaded; launching {op}");
    let y = match op.as_str() {
        "add" => x + 1.0,
        "matmul" => {
            let a = x.reshape([2, 2]);
            a.clone().matmul(a).reshape([4])
        }
        "sum" => x.sum(),
        other => panic!("unknown operation {other:?}: expected sum, matmul or add"),
    };
    let y = y.into_data();
    println!("{op}: {:?}", y.try_to_vec::<f32>().expect("f32 values"));
}
