//! The dense layers' three products in bf16 on AMX (`lobes_models::kernels::amx`) against the
//! f32 GEMM (the `gemm` crate, burn's CPU GEMM) at the Table-2 VAE's shapes, batch 100, in
//! GFLOP/s, with the share of the bf16 time spent packing the operands (issue #28).
//!
//! ```sh
//! cargo bench --bench bf16_layers
//! ```

use lobes::models::kernels::amx::{self, View};
use lobes::models::kernels::matrix::f32_matmul;
use std::time::Instant;

/// Best seconds of 5 calls after a warm-up.
fn secs(mut f: impl FnMut()) -> f64 {
    f();
    (0..5)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    lobes::tune_allocator();
    println!("CPU: {}", lobes::models::bench::cpu_model());
    if !amx::available() {
        println!("skipped: this CPU has no AMX bf16 (or Linux refused its tile state)");
        return;
    }
    let b = 100;
    let widths = [10000, 4096, 2048, 1024, 512, 256];
    println!("batch {b}; GFLOP/s f32 / bf16 (AMX, packing included) / share of bf16 time packing");
    println!(
        "{:>11} {:>22} {:>22} {:>22}",
        "layer", "x W", "x^T dY (dW)", "dY W^T (dX)"
    );
    let (mut t32, mut t16, mut flops) = (0.0, 0.0, 0.0);
    for w in widths.windows(2) {
        let (i, o) = (w[0], w[1]);
        let x: Vec<f32> = (0..b * i)
            .map(|v| ((v * 7919) % 1000) as f32 / 1e3)
            .collect();
        let wt: Vec<f32> = (0..i * o)
            .map(|v| ((v * 104729) % 997) as f32 / 997.0 - 0.5)
            .collect();
        let dy: Vec<f32> = (0..b * o)
            .map(|v| ((v * 31) % 101) as f32 / 101.0 - 0.5)
            .collect();
        let (xv, wv, dv) = (
            View::rows(&x, b, i),
            View::rows(&wt, i, o),
            View::rows(&dy, b, o),
        );
        let mac = (b * i * o) as f64 * 2.0;
        let mut line = format!("{:>11}", format!("{i}-{o}"));
        for (a, bm) in [(xv, wv), (xv.t(), dv), (dv, wv.t())] {
            let s32 = secs(|| drop(f32_matmul(a, bm)));
            let s16 = secs(|| drop(amx::matmul(a, bm)));
            let pack = secs(|| drop(rayon::join(|| amx::pack_a(a), || amx::pack_b(bm))));
            line += &format!(
                " {:>7.1} / {:>6.1} / {:>3.0}%",
                mac / s32 / 1e9,
                mac / s16 / 1e9,
                100.0 * pack / s16
            );
            // Encoder and decoder each hold this layer once.
            t32 += 2.0 * s32;
            t16 += 2.0 * s16;
            flops += 2.0 * mac;
        }
        println!("{line}");
    }
    // Packing alone at the largest layer: the weight as the forward's and the input
    // gradient's operand, in GB/s of f32 read.
    let (i, o) = (widths[0], widths[1]);
    let wt: Vec<f32> = (0..i * o).map(|v| (v % 997) as f32 / 997.0 - 0.5).collect();
    let wv = View::rows(&wt, i, o);
    let gb = (i * o * 4) as f64 / 1e9;
    let fwd = secs(|| drop(amx::pack_b(wv)));
    let back = secs(|| drop(amx::pack_b(wv.t())));
    println!(
        "packing the {i}x{o} weight: as B {:.1} ms ({:.1} GB/s), as B transposed {:.1} ms ({:.1} GB/s)",
        fwd * 1e3,
        gb / fwd,
        back * 1e3,
        gb / back
    );
    println!(
        "all dense products of one step: {:.1} GFLOP, f32 {:.1} ms, bf16 {:.1} ms ({:.2}x)",
        flops / 1e9,
        t32 * 1e3,
        t16 * 1e3,
        t32 / t16
    );
}
