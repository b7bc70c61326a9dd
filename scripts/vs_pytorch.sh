#!/usr/bin/env bash
# Issue #28's "lobes' best mode against PyTorch's best mode, in the same session": lobes'
# SVI.step (`lobes bench`, f32 and, where the CPU has AMX, bf16) interleaved with PyTorch 2.15's
# hand-written loop with fused Adam in its three modes (f32, autocast bf16, f32 with oneDNN's
# bf16 products), ROUNDS times in turn, so that a machine slowing down or speeding up during
# the run touches every variant alike. Each line is one run's best images/s (validation on and
# off for lobes, as `lobes bench` prints them).
#
#   python3 -m venv v && v/bin/pip install torch==2.15.0 pyro-ppl==1.9.2
#   cargo build --release && PYTHON=v/bin/python scripts/vs_pytorch.sh
#
# Environment: PYTHON (required), LOBES (default target/release/lobes), ROUNDS (default 3),
# STEPS (steps per timed round, default 16), ALL_MODES (set: PyTorch's bf16 modes also on a CPU
# without bf16 instructions, where autocast takes minutes a round: under 4 images/s on Zen 3).
# Stop other work on the machine first.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${PYTHON:?set PYTHON to a python with torch 2.15 (see the header)}"
LOBES=${LOBES:-target/release/lobes}
ROUNDS=${ROUNDS:-3}
STEPS=${STEPS:-16}
lscpu | grep -E 'Model name|^CPU\(s\)|CPU family|^Model:' | tr -s ' '
for flag in avx512f avx512_bf16 amx_bf16; do
    if grep -qw "$flag" /proc/cpuinfo; then echo "$flag: yes"; else echo "$flag: no"; fi
done
date -u
precisions=(f32)
if grep -qw amx_bf16 /proc/cpuinfo; then precisions+=(bf16); fi
modes=("")
if grep -qwE 'avx512_bf16|amx_bf16' /proc/cpuinfo || [ -n "${ALL_MODES:-}" ]; then
    modes+=(--autocast --fp32-matmul-bf16)
else
    echo "no bf16 instructions: PyTorch's bf16 modes skipped (ALL_MODES=1 runs them)"
fi
for round in $(seq "$ROUNDS"); do
    for p in "${precisions[@]}"; do
        line=$("$LOBES" bench --steps "$STEPS" --rounds 3 --precision "$p" 2>&1 | grep 'SVI.step' | tr -s ' ' | paste -sd ';')
        echo "round $round  lobes --precision $p: $line"
    done
    for mode in "${modes[@]}"; do
        line=$("$PYTHON" scripts/pyro_vae.py --torch --threads 2 --steps "$STEPS" --rounds 3 $mode 2>&1 | tail -n 1)
        echo "round $round  PyTorch loop ${mode:-f32}: $line"
    done
done
date -u
