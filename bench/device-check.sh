#!/usr/bin/env bash
# The one prepared script for the GPU machine (an H200; no Node.js, no network).
# Prepare here with `bash scripts/device-bundle.sh`, then run there through the
# device tool with carry [".device", "build/Release"]:
#   bash bench/device-check.sh
# In at most about 8 minutes (each step has its own timeout: 150, 60, 120 and
# 120 s) it: runs the test files on the CUDA backend (the compiled tests under
# a tap shim, every op test's device loop then covers 'cuda'); checks
# CPU-vs-CUDA parity for every op with a CUDA kernel (GEMM at each precision
# included, and bf16 once more on the sm_90a wgmma kernel, CUDAGRAD_GEMM_WGMMA=1);
# benchmarks the kernels against PyTorch on the same GPU (GEMM in fp32/TF32/bf16,
# bf16 also on wgmma; attention forward, backward and both, the copy bandwidth as
# the ceiling); times GPT-2 124M training (tokens/s, MFU) against a
# nanoGPT-style PyTorch model (bench/device/gpt.js); writes JSON and logs to
# $OUT (default bench/results/) and prints a short table last.
# DEVICE_CHECK_EMULATE=1 does a dry run of the same steps here, on the SIMT
# emulator build (build-emu/), with tiny benchmark sizes.
set -uo pipefail
cd "$(dirname "$0")/.."
# Standalone by design: drop loaders and coverage hooks a test harness may have passed down.
unset NODE_OPTIONS NODE_V8_COVERAGE
for v in $(env | sed -n 's/^\(_TAPJS[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
OUT=${OUT:-bench/results/device-$(date +%Y-%m-%d)}
export OUT
mkdir -p "$OUT"
log() { echo "[device-check $(date +%T)] $*"; }
status=0

if ! command -v node >/dev/null 2>&1; then eval "$(bash .device/unpack-node.sh .device)"; fi
node --version

addon=$PWD/build/Release/cudagrad.node
if [ "${DEVICE_CHECK_EMULATE:-0}" = 1 ]; then
  addon=$PWD/build-emu/Release/cudagrad.node
  export DEVICE_CHECK_SMALL=1
fi
if ! node -e "require('$addon')" 2>"$OUT/load.log"; then
  # A binary built on another image may not load here: build it here with cmake and nvcc.
  log "the carried addon does not load ($(head -c 200 "$OUT/load.log")); building here"
  CUDAGRAD_CUDA_ARCHS=90a cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_JS_INC="$PWD/.device/headers/node-api;$PWD/.device/headers/node-addon-api" >"$OUT/build.log" 2>&1 &&
    cmake --build build-gpu -j "$(nproc)" --target cudagrad >>"$OUT/build.log" 2>&1 ||
    { log "build failed: see $OUT/build.log"; exit 1; }
  addon=$PWD/build-gpu/cudagrad.node
  [ -f "$addon" ] || addon=$(find build-gpu -name cudagrad.node | head -n 1)
fi
export CUDAGRAD_ADDON=$addon CUDAGRAD_TEST_PKG=$PWD/.device/js/lib
nvidia-smi >"$OUT/nvidia-smi.txt" 2>&1 || true
node -e "const cg = require(process.env.CUDAGRAD_TEST_PKG); console.log(JSON.stringify({ cuda: cg.cuda.available(), reason: cg.cuda.reason(), runtime: cg.cuda.runtime(), devices: cg.devices() }, null, 2))" | tee "$OUT/devices.json"

log "tests on the CUDA backend"
timeout 150 node bench/device/run-tests.js "${DEVICE_CHECK_FILTER:-}" || status=1
log "CPU-vs-CUDA parity"
timeout 60 node bench/device/parity.js || status=1
log "benchmarks vs PyTorch"
PYTHONUNBUFFERED=1 timeout 120 node bench/device/bench.js || status=1
log "GPT-2 124M training vs nanoGPT-style PyTorch"
DEVICE_CHECK_TORCH_GPT_S=70 timeout 120 node bench/device/gpt.js || status=1
# Optional (off by default: the steps above fill the 8 minutes): the README's main job,
# `cudagrad train gpt` at its GPU default (shakespeare_char size, bf16), for at most
# DEVICE_CHECK_TRAIN_GPT_S seconds; its log shows the loss, tokens/s and the validation loss
# every 250 steps. A run cut at the limit (exit 124) is expected, not a failure.
if [ "${DEVICE_CHECK_TRAIN_GPT_S:-0}" -gt 0 ]; then
  log "train gpt on the GPU, at most ${DEVICE_CHECK_TRAIN_GPT_S} s (log: $OUT/train-gpt.log)"
  tiny=()
  [ "${DEVICE_CHECK_SMALL:-0}" = 1 ] && tiny=(--steps 4 --n-layer 1 --n-head 2 --n-embd 32 --block-size 16 --batch-size 2 --eval-interval 2 --eval-windows 2 --sample-tokens 8)
  timeout "$DEVICE_CHECK_TRAIN_GPT_S" node .device/js/lib/cli.js train gpt --device cuda --data data/tinyshakespeare.txt \
    --verbose 2 --out "$OUT/train-gpt" "${tiny[@]}" >"$OUT/train-gpt.log" 2>&1
  rc=$?
  if [ $rc -ne 0 ] && [ $rc -ne 124 ]; then status=1; log "train gpt failed (exit $rc)"; fi
  grep -E "^step|val loss" "$OUT/train-gpt.log" | tail -n 3
fi
node bench/device/report.js
exit $status
