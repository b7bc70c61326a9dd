#!/usr/bin/env bash
# The GPU measurement, prepared for one call of ≤ 8 minutes on a machine lent with a GPU (the
# device tool runs it in the repository root of a copy of the working tree):
#
#   scripts/gpu.sh BIN DATA OUT
#
#   BIN   a lobes binary built with the GPU features (scripts/build-cuda.sh gives
#         target/cuda/release/lobes; carry it, xz-compressed if large)
#   DATA  a FRDEEP-F folder (the pickles of ../shared/data/FRDEEP-F, carried in an ignored
#         folder: data is never committed)
#   OUT   where to write the log and the run ($OUT on the device machine)
#
# It prints the GPU and the CPU, runs `lobes bench` (the Table-2 VAE's SVI step, batch 100) on
# every device the binary offers (cuda; wgpu and vulkan when a Vulkan driver for the GPU is
# present), then trains one epoch of FRDEEP-F on the GPU (19,800 images: 550 at 10-degree
# rotations; the test loss before and after) and prints its time. Each part has its own time
# limit, so one hanging backend cannot eat the others' time.
set -uo pipefail
bin=${1:?usage: scripts/gpu.sh BIN DATA OUT}
data=${2:?usage: scripts/gpu.sh BIN DATA OUT}
out=${3:?usage: scripts/gpu.sh BIN DATA OUT}
mkdir -p "$out"
exec > >(tee "$out/gpu.log") 2>&1
case $bin in *.xz) xz -dkf "$bin"; bin=${bin%.xz} ;; esac
chmod +x "$bin"

echo "== machine ($(date -u +%FT%TZ))"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 || echo "no nvidia-smi"
lscpu | grep -m1 'Model name'
ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>/dev/null

echo "== lobes bench, Table-2 VAE, batch 100, per device"
for dev in cuda wgpu vulkan; do
    echo "-- BURN_DEVICE=$dev"
    BURN_DEVICE=$dev timeout 150 "$bin" bench --steps 20 --rounds 2 || echo "($dev: exit $?)"
done

echo "== one epoch of FRDEEP-F on the GPU (BURN_DEVICE=cuda)"
start=$(date +%s)
BURN_DEVICE=cuda timeout 240 "$bin" train --model vae --latent 32 --data "frdeep-f:$data" \
    --epochs 1 --augment-step 10 --batch 100 --eval-every 1 --seed 0 --out "$out/epoch" \
    || echo "(train: exit $?)"
echo "whole command: $(( $(date +%s) - start )) s"
cat "$out/epoch/metrics.csv" 2>/dev/null
