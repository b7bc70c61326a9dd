#!/usr/bin/env bash
# Builds lobes with burn's CUDA backend (`--features cuda`) on a machine without internet.
#
# burn's cubecl-cuda compiles its kernels with LLVM through cubecl-llvm, whose build script
# downloads a prebuilt LLVM ("tracel-llvm") into $XDG_DATA_HOME/tracel/ unless it finds one
# there. This script stands Debian's LLVM 22 in for it:
#   1. installs llvm-22-dev, libpolly-22-dev and libzstd-dev if missing (apt-get);
#   2. makes a stand-in folder OUTSIDE the source tree (default ~/.cache/lobes-cuda-llvm, or
#      $LOBES_CUDA_LLVM_HOME) holding tracel/tracel-llvm-23.1.0-4/ with the marker file
#      .tracel-llvm-installed and a bin/llvm-config wrapper that calls Debian's llvm-config
#      (rewriting the absolute libz3.so path it prints into -lz3);
#   3. builds with XDG_DATA_HOME pointing there for this build alone, in its own target folder
#      (target/cuda), so default and CI builds are untouched.
# At run time kernels using exp/log/tanh load libdevice.10.bc from $CUDA_PATH or the CUDA
# toolkit: on the GPU machine set CUDA_PATH (or install the toolkit).
#
# Usage: scripts/build-cuda.sh [extra cargo args]   -> target/cuda/release/lobes
# Measured: docs/gpu.md ("CUDA, built offline"): 46 min from nothing on the 2-core VM, 2026-12-06.
set -euo pipefail
cd "$(dirname "$0")/.."

LLVM_VERSION=22
TRACEL=tracel-llvm-23.1.0-4
need=()
for p in "llvm-$LLVM_VERSION-dev" "libpolly-$LLVM_VERSION-dev" libzstd-dev; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if ((${#need[@]})); then
    echo "installing ${need[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

real_config=/usr/lib/llvm-$LLVM_VERSION/bin/llvm-config
[[ -x $real_config ]] || { echo "error: $real_config not found" >&2; exit 1; }

home=${LOBES_CUDA_LLVM_HOME:-$HOME/.cache/lobes-cuda-llvm}
case "$(realpath -m "$home")" in
    "$(realpath .)"*) echo "error: $home is inside the source tree; choose another LOBES_CUDA_LLVM_HOME" >&2; exit 1 ;;
esac
stand_in=$home/tracel/$TRACEL
mkdir -p "$stand_in/bin"
touch "$stand_in/.tracel-llvm-installed"
cat > "$stand_in/bin/llvm-config" <<WRAP
#!/usr/bin/env bash
# Debian's LLVM $LLVM_VERSION standing in for $TRACEL (made by lobes' scripts/build-cuda.sh).
"$real_config" "\$@" | sed -E 's#[^ ]*/libz3\.so[^ ]*#-lz3#g'
WRAP
chmod +x "$stand_in/bin/llvm-config"

start=$(date +%s)
# Crates come from crates.io as usual; --offline then guarantees that no build script downloads.
cargo fetch
XDG_DATA_HOME=$home cargo build --offline --release --features cuda --target-dir target/cuda "$@"
echo "built target/cuda/release/lobes in $(( $(date +%s) - start )) s" >&2
