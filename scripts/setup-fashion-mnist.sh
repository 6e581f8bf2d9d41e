#!/usr/bin/env bash
# Installs Fashion-MNIST from Debian's dataset-fashion-mnist package when it is
# missing (needs root or sudo, and apt), then prints the folder holding the
# IDX files, for `cudagrad train mlp --data fashion` (or --data <that folder>).
set -euo pipefail
pkg=dataset-fashion-mnist
if ! dpkg -s "$pkg" >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "$pkg"
fi
# Where the package put the files (today /usr/share/datasets/fashion-mnist).
dir=$(dirname "$(dpkg -L "$pkg" | grep -m1 'train-images-idx3-ubyte')")
echo "$dir"
