#!/usr/bin/env bash
# Installs the benchmark peers from Debian when missing: NumPy on OpenBLAS and
# PyTorch (CPU). Needs root for apt-get; without it the bench runs cudagrad only.
set -u
py=/usr/bin/python3
if [ -x "$py" ] && "$py" -c 'import numpy, torch' 2>/dev/null && [ -e /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "bench: numpy/torch/OpenBLAS missing and not root; peers will be skipped" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq python3-numpy python3-torch libopenblas0-pthread >/dev/null \
  || echo "bench: apt-get could not install the peers; they will be skipped" >&2
exit 0
