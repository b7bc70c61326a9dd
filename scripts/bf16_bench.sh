#!/usr/bin/env bash
# Issue #28's comparison on one machine, in one run: the CPU's peak multiply-add rates (FP32
# FMA, AVX512-BF16 vdpbf16ps, AMX; cargo bench --bench bf16_peak), whether computing a weight
# gradient inside Adam's update pays for each large layer (cargo bench --bench fused_adam),
# lobes' SVI.step with f32 and bf16 products (alternating, twice), the dense layers' products
# alone (cargo bench --bench bf16_layers), and PyTorch's loop in f32 and with oneDNN's bf16 products, when a Python with
# torch is given (PYTHON=path/to/python; pip install torch==2.15.0 pyro-ppl==1.9.2).
#
#   cargo build --release && scripts/bf16_bench.sh
#
# Stop other work on the machine first: every figure is images/s or GFLOP/s of this CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
lscpu | grep -E 'Model name|^CPU\(s\)|Flags' | sed 's/Flags:.*\(amx_bf16\).*/AMX: \1/' | head -3
date -u
cargo bench --bench bf16_peak
cargo bench --bench fused_adam
cargo bench --bench bf16_layers
for round in 1 2; do
    for p in f32 bf16; do
        echo "== lobes bench --precision $p (round $round)"
        target/release/lobes bench --steps 6 --rounds 2 --precision "$p" 2>&1 |
            grep -E 'CPU|SVI|weight gradients' 
    done
done
if [ -n "${PYTHON:-}" ]; then
    echo "== PyTorch loop, f32"
    "$PYTHON" scripts/pyro_vae.py --threads 2 --steps 6 --rounds 2 --torch
    echo "== PyTorch loop, fp32_precision = bf16"
    "$PYTHON" scripts/pyro_vae.py --threads 2 --steps 6 --rounds 2 --torch --fp32-matmul-bf16
fi
