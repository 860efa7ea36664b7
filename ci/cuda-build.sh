#!/usr/bin/env bash
# CI for the CUDA path (called by .ci/run). No GPU needed:
#  1. takes nvcc from $NVCC, or installs nvcc 13.0 from PyPI into .whl/cu13-13.0 (ci/nvcc.sh);
#  2. builds the CUDA code's tests with `--features cuda` (build.rs compiles every kernels/*.cu;
#     a kernel that does not compile fails the build) in the dev profile, so the dependencies
#     `cargo test` already built are reused (a release build here cost CI 2 min, and the other
#     test executables 3 min more: `cargo clippy --all-targets --features cuda` type-checks them);
#     the unit tests and tests/gpu_kernels.rs in one cargo call, so that both cores compile;
#  3. runs the GPU-free tests of the CUDA code (launch geometry, kernel list, selftest
#     tolerances on the CPU) and the GPU tests (they print "skipped: no CUDA driver");
#  4. compiles the per-thread det/CM math with the host compiler and checks it against exact
#     integer determinants (kernels/host/host_check.cpp);
#  5. records the ptxas -v report in $MHA_CV_PTXAS_REPORT (default $CI_OUT/ptxas-report.txt) and
#     fails if a det6_* or cm_vol2_* kernel has a stack frame or spills on sm_90 (any other
#     spilling kernel is a warning).
# Env: NVCC (use this nvcc), CUDA_PIP_DIR (install dir), CI_OUT (report dir, default target/ci),
# MHA_CV_CI_FEATURES (the cargo features, default `cuda`; .ci/run adds `lapack` so that its
# LAPACK test reuses this build of the library).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${CI_OUT:-$root/target/ci}
features=${MHA_CV_CI_FEATURES:-cuda}
mkdir -p "$out"

if [ -z "${NVCC:-}" ]; then NVCC=$(bash ci/nvcc.sh); fi
export NVCC
echo "== nvcc: $NVCC"
"$NVCC" --version | tail -n 2

# .ci/run sets it for all its cargo calls (a change would rerun build.rs); otherwise in $out.
export MHA_CV_PTXAS_REPORT=${MHA_CV_PTXAS_REPORT:-$out/ptxas-report.txt}
rm -f "$MHA_CV_PTXAS_REPORT"
echo "== cargo test --features $features (GPU-free parts; GPU tests skip)"
cargo test --features "$features" --no-run --lib --test gpu_kernels
cargo test --features "$features" --lib backend::cuda
cargo test --features "$features" --test gpu_kernels

echo "== host check of kernels/det6.cuh, kernels/cm.cuh"
host_bin="$root/target/host_check"
"${CXX:-g++}" -O2 -std=c++17 -ffp-contract=fast -Wall -Wno-unknown-pragmas -I kernels \
    kernels/host/host_check.cpp -o "$host_bin"
"$host_bin" | tee "$out/host-check.txt"

# build.rs rewrites the report only when it reruns; otherwise take the newest one it wrote.
if [ ! -s "$MHA_CV_PTXAS_REPORT" ]; then
    newest=$(ls -t target/debug/build/mha-cv-*/out/ptxas-report.txt 2>/dev/null | head -n 1 || true)
    [ -n "$newest" ] || { echo "error: no ptxas report found under target/debug/build" >&2; exit 1; }
    cp "$newest" "$MHA_CV_PTXAS_REPORT"
fi
echo "== ptxas -v summary ($MHA_CV_PTXAS_REPORT)"
# Summary lines: function | arch | registers | stack | spill stores | spill loads | smem
awk -F' \\| ' '/^[a-z0-9_]+ \| sm_/ { print }' "$MHA_CV_PTXAS_REPORT" | grep -E '^(det6|cm_vol2)' || true
bad=$(awk -F' \\| ' '$2 == "sm_90" && $1 ~ /^(det6|cm_vol2)/ && ($4 != 0 || $5 != 0 || $6 != 0) { print $1 }' "$MHA_CV_PTXAS_REPORT")
other=$(awk -F' \\| ' '$2 ~ /^sm_/ && $1 !~ /^(det6|cm_vol2)/ && ($4 != 0 || $5 != 0 || $6 != 0) { print $1 " (" $2 ")" }' "$MHA_CV_PTXAS_REPORT")
checked=$(awk -F' \\| ' '$2 == "sm_90" && $1 ~ /^(det6|cm_vol2)/' "$MHA_CV_PTXAS_REPORT" | wc -l)
[ -z "$other" ] || echo "warning: kernels with a stack frame or spills: $other"
if [ "$checked" -lt 5 ]; then
    echo "error: expected det6_f32/f64 and cm_vol2_* for sm_90 in the ptxas report, found $checked" >&2
    exit 1
fi
if [ -n "$bad" ]; then
    echo "error: local-memory stack or spills on sm_90 in: $bad (the matrix must stay in registers)" >&2
    exit 1
fi
echo "ok: det6/cm_vol2 kernels use no stack and no spills on sm_90 ($checked kernels)"
