#!/usr/bin/env bash
# Prepares what bench/device-check.sh needs on the GPU machine (which has no
# Node.js, no npm and no network) in .device/ (git-ignored):
#   .device/node.xz + unpack-node.sh   Node.js, stripped and compressed
#   .device/js/                         lib/ and test/ compiled to JS, package.json, data/
#   .device/headers/                    Node-API and node-addon-api headers (for a rebuild there)
# and builds build/Release with the CUDA kernels (all archs, sm_90a included).
# Then call the device tool's run with carry [".device", "build/Release"] and
# the command `bash bench/device-check.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
# ../shared beside the checkout (CI, the main worktree), else beside the main worktree of a linked one.
shared=${CUDAGRAD_SHARED:-../shared}
if [ ! -d "$shared" ]; then shared="$(git rev-parse --path-format=absolute --git-common-dir)/../../shared"; fi
mkdir -p .device
if [ ! -f .device/node.xz ] || [ "$(command -v node)" -nt .device/node.xz ]; then
  bash "$shared/device/pack-node.sh" .device >/dev/null
fi
rm -rf .device/js .device/headers
npx tsc -p tsconfig.device.json
cp package.json .device/js/
cp -r data .device/js/   # the shipped datasets (tinyshakespeare, MNIST test set) the tests and `train gpt` read
cp -r test/fixtures .device/js/test/   # reference outputs (torch, HF) the tests compare against
mkdir -p .device/headers/node-addon-api
cp -r node_modules/node-api-headers/include .device/headers/node-api
cp node_modules/node-addon-api/*.h .device/headers/node-addon-api/
case "${CUDAGRAD_CUDA_ARCHS:-90a}" in
  *90a*) ;;
  *) echo "device bundle: WARNING: CUDAGRAD_CUDA_ARCHS=$CUDAGRAD_CUDA_ARCHS has no 90a: the addon carries no sm_90a code, so on the H200 the wgmma GEMM cannot run (its test skips, its device-check rows are missing). Unset it or include 90a." >&2 ;;
esac
npx cmake-js compile >/dev/null
du -sh .device build/Release | sed 's/^/device bundle: /'
