#!/usr/bin/env bash
# Prints the path of a pinned nvcc 13.0 (13.0 emits PTX ISA 9.0, the newest driver 580 JITs),
# installing it from PyPI into .whl/cu13-13.0 (or $CUDA_PIP_DIR) the first time. No GPU needed.
set -euo pipefail
cd "$(dirname "$0")/.."
whl=${CUDA_PIP_DIR:-$PWD/.whl/cu13-13.0}
if [ ! -x "$whl/nvidia/cu13/bin/nvcc" ]; then
    echo "== installing nvcc 13.0 from PyPI into $whl" >&2
    python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$whl" \
        nvidia-cuda-nvcc==13.0.88 nvidia-cuda-crt==13.0.88 nvidia-nvvm==13.0.88 nvidia-cuda-runtime==13.0.96 >&2
fi
echo "$whl/nvidia/cu13/bin/nvcc"
