#!/usr/bin/env bash
# Start, or resume, one run of issue 26's campaign with the recipe of docs/reproduction.md
# ("The validation protocol"): Adam 1e-3, a 20-epoch KL warm-up from 0, exp-clamp scales,
# rotations every 10 degrees, batch 100, a stratified 50-image validation split (seed 0) for
# every decision (rate tenfold lower after 10 epochs without a better validation loss, stop
# after 30), at most 400 epochs, RAMIS every 5 epochs.
#
#   scripts/campaign.sh MODEL D SEED [EXTRA lobes train OPTIONS...]
#   scripts/campaign.sh vae 32 0                       # runs/vae-d32-s0
#   TAG=-fb05 scripts/campaign.sh vae 32 0 --free-bits 0.5   # runs/vae-d32-s0-fb05
#
# A folder that already holds a checkpoint is resumed (`--resume`); give the same EXTRA options
# again (the network's options are checked against the checkpoint). Environment:
#   LOBES       the binary (default target/release/lobes)
#   DATA        the FRDEEP-F folder (default ../shared/data/FRDEEP-F)
#   CLASSIFIER  the published RAMIS classifier (default ../shared/data/ramis-classifier/hmt-frdeepf.safetensors)
#   RUNS        where run folders go (default runs)
#   TAG         appended to the folder's name, for a run with a departure from the recipe
#   NICE        the niceness it runs at (default 19: it yields to builds and tests)
#   FOREGROUND  1: run in the foreground and exit with the training's status (scripts/grid.sh)
# The log is RUNS/NAME.log; the run is started in the background (nohup) and its PID printed.
set -euo pipefail
if [ $# -lt 3 ]; then
    sed -n 2,20p "$0" >&2
    exit 2
fi
model=$1 d=$2 seed=$3
shift 3
LOBES=${LOBES:-target/release/lobes}
DATA=${DATA:-../shared/data/FRDEEP-F}
CLASSIFIER=${CLASSIFIER:-../shared/data/ramis-classifier/hmt-frdeepf.safetensors}
RUNS=${RUNS:-runs}
NICE=${NICE:-19}
name="$model-d$d-s$seed${TAG:-}"
out="$RUNS/$name"
for f in "$LOBES" "$CLASSIFIER"; do
    [ -e "$f" ] || { echo "campaign.sh: $f does not exist" >&2; exit 1; }
done
[ -d "$DATA" ] || { echo "campaign.sh: the FRDEEP-F folder $DATA does not exist" >&2; exit 1; }
mkdir -p "$RUNS"
resume=()
if [ -e "$out/checkpoint.safetensors" ]; then resume=(--resume); fi
cmd=(nice -n "$NICE" "$LOBES" train --model "$model" --latent "$d" --data "frdeep-f:$DATA" \
    --epochs 400 --augment-step 10 --batch 100 --checkpoint-every 1 --keep-checkpoints 1 \
    --seed "$seed" --scale exp-clamp --kl-warmup 20 --kl-warmup-from 0 \
    --validation 50 --split-seed 0 --lr-plateau 10 --early-stop 30 \
    --classifier "$CLASSIFIER" --ramis-every 5 --out "$out" "${resume[@]}" "$@")
if [ "${FOREGROUND:-0}" = 1 ]; then
    echo "$name: running (log $RUNS/$name.log${resume:+, resumed})"
    exec "${cmd[@]}" >>"$RUNS/$name.log" 2>&1
fi
nohup "${cmd[@]}" >>"$RUNS/$name.log" 2>&1 &
echo "$name: pid $! (log $RUNS/$name.log${resume:+, resumed})"
