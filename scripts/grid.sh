#!/usr/bin/env bash
# Issue 26's whole campaign in one command: Tables 3 and 4 (VAE and CVAE at d = 2, 4, 8, 16,
# 32, 64, seed 0), seeds 1 and 2 at d = 32, and the departures of its item 4 on d = 32 (free
# bits, IWAE k = 5, the mixture prior, the class-conditional prior, reflections, the
# zero-inflated Beta likelihood), each with scripts/campaign.sh's recipe, JOBS at a time, each
# resumed where it stopped (a finished run returns at once); then `lobes grid` measures every
# run folder into docs/figures/tables-3-4.csv and `lobes plot --kind grid` draws
# docs/figures/tables-3-4.png.
#
#   cargo build --release && scripts/grid.sh
#   DRY_RUN=1 scripts/grid.sh          # print the runs and the commands, start nothing
#
# Environment: LOBES, DATA, CLASSIFIER, RUNS, NICE as scripts/campaign.sh; JOBS (default 2).
# On a 2-core machine an epoch (19,800 images) takes 70-130 s alone (Zen 4 to Zen 3) and a run
# ~100 epochs before its validation loss flattens (the IWAE run five times the cost per epoch),
# so the 23 runs take one to two weeks there;
# on a GPU, build with its feature and set BURN_DEVICE (docs/gpu.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export LOBES=${LOBES:-target/release/lobes}
export DATA=${DATA:-../shared/data/FRDEEP-F}
export CLASSIFIER=${CLASSIFIER:-../shared/data/ramis-classifier/hmt-frdeepf.safetensors}
export RUNS=${RUNS:-runs}
JOBS=${JOBS:-2}

# One run per line: TAG MODEL D SEED [EXTRA lobes train OPTIONS]  ("-" for no tag).
runs() {
    for model in vae cvae; do
        for d in 2 4 8 16 32 64; do echo "- $model $d 0"; done
        for seed in 1 2; do echo "- $model 32 $seed"; done
    done
    echo "-fb05 vae 32 0 --free-bits 0.5"
    echo "-iwae5 vae 32 0 --iwae 5"
    echo "-mixture vae 32 0 --prior mixture"
    echo "-reflect vae 32 0 --reflect"
    echo "-classprior cvae 32 0 --prior class-normal"
    echo "-reflect cvae 32 0 --reflect"
    echo "-zib vae 32 0 --likelihood zero-inflated-beta"
}

one() {
    local tag=$1
    shift
    [ "$tag" = - ] && tag=""
    if [ "${DRY_RUN:-0}" = 1 ]; then
        echo "TAG=$tag FOREGROUND=1 scripts/campaign.sh $*"
    else
        TAG=$tag FOREGROUND=1 scripts/campaign.sh "$@" || echo "grid.sh: $* (tag '$tag') exited $?" >&2
    fi
}
export -f one

runs | xargs -P "$JOBS" -L 1 bash -c 'one "$@"' _

folders=()
while read -r tag model d seed _; do
    [ "$tag" = - ] && tag=""
    folders+=("$RUNS/$model-d$d-s$seed$tag")
done < <(runs)
measure=("$LOBES" grid --classifier "$CLASSIFIER" --data "frdeep-f:$DATA" --csv docs/figures/tables-3-4.csv)
plot=("$LOBES" plot --kind grid --csv docs/figures/tables-3-4.csv --out docs/figures/tables-3-4.png)
if [ "${DRY_RUN:-0}" = 1 ]; then
    echo "${measure[*]} ${folders[*]}"
    echo "${plot[*]}"
    exit 0
fi
present=()
for f in "${folders[@]}"; do
    if [ -e "$f/checkpoint.safetensors" ]; then present+=("$f"); else echo "grid.sh: no run in $f" >&2; fi
done
if [ ${#present[@]} = 0 ]; then
    echo "grid.sh: no run folder under $RUNS holds a checkpoint: nothing to measure" >&2
    exit 1
fi
"${measure[@]}" "${present[@]}"
"${plot[@]}"
