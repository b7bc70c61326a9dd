#!/usr/bin/env bash
# The likelihood comparison of docs/reproduction.md (issue 13): the Table-2 VAE (d = 32) on
# FRDEEP-F, the same network, seed and budget for each likelihood, then RAMIS (the paper's
# protocol: 100 images from uniform(-4, 4) latents, the published classifier) and the §6.2
# background metric (share of pixels below 5e-5 in 100 prior samples).
#
#   scripts/likelihoods.sh LOBES DATA_DIR CLASSIFIER WORK_DIR OUT_DIR [EPOCHS] [AUGMENT_STEP]
#
# WORK_DIR holds the runs (1.25 GB each, removed after they are measured); OUT_DIR gets
# summary.csv and one samples-<likelihood>.png per likelihood. LIKELIHOODS="a b" runs only
# those. The images are the likelihood's mean of the decoder's output (the decoder's output
# itself for all but the continuous Bernoulli, and the Beta's clamp).
set -euo pipefail
lobes=$1; data=$2; clf=$3; work=$4; out=$5; epochs=${6:-6}; step=${7:-30}
mkdir -p "$work" "$out"
echo "likelihood,epochs,augment_step,images_seen,train_seconds,ramis_uniform,percent_below_5e-5" > "$out/summary.csv"
for lik in ${LIKELIHOODS:-bernoulli continuous-bernoulli normal normal-learned laplace beta}; do
  run="$work/$lik"
  rm -rf "$run"
  "$lobes" train --model vae --latent 32 --data "frdeep-f:$data" --epochs "$epochs" \
    --augment-step "$step" --batch 100 --eval-every 0 --checkpoint-every "$epochs" \
    --keep-checkpoints 1 --seed 0 --optim adam --lr 0.001 --scale exp-clamp \
    --likelihood "$lik" --classifier "$clf" --ramis-every "$epochs" --out "$run" > "$run.log" 2>&1
  ckpt="$run/checkpoint.safetensors"
  "$lobes" noise --checkpoint "$ckpt" --n 100 --out "$run/noise" > /dev/null
  "$lobes" generate --checkpoint "$ckpt" --n 16 --out "$run/samples" > /dev/null
  cp "$run/samples/grid.png" "$out/samples-$lik.png"
  python3 - "$run" "$lik" "$epochs" "$step" >> "$out/summary.csv" <<'PY'
import csv, sys
run, lik, epochs, step = sys.argv[1:5]
rows = list(csv.DictReader(open(f"{run}/metrics.csv")))
last = rows[-1]
secs = sum(float(r["seconds"] or 0) for r in rows)
noise = list(csv.DictReader(open(f"{run}/noise/noise.csv")))
col = [k for k in noise[0] if "below" in k][0]
below = sum(float(r[col]) for r in noise) / len(noise)
angles = 1 if float(step) == 0 else round(360 / float(step))
print(f"{lik},{epochs},{step},{550 * angles * int(epochs)},{secs:.0f},{float(last['ramis']):.4f},{below:.2f}")
PY
  rm -rf "$run/checkpoints" "$ckpt"
done
cat "$out/summary.csv"
