#!/usr/bin/env bash
# The whole GPU session in one call (for a lent GPU machine with no Rust): gpu-check.sh on the
# carried binary and GPU test executable, then the same default sweep on the CPU of that machine
# and a comparison of the two result sets. Everything lands in $1 (default /tmp/gc); a tarball of
# it is written to $OUT when that is set.
#   scripts/device-run.sh [DIR]      (expects .carry/mha-cv and .carry/gpu_kernels)
set -u
dir=${1:-/tmp/gc}
bash scripts/gpu-check.sh .carry/mha-cv "$dir" .carry/gpu_kernels > "$dir.log" 2>&1
t0=$(date +%s.%N)
.carry/mha-cv sweep --device cpu --out "$dir/sweep-cpu" --quiet > "$dir/sweep-cpu.out" 2>&1
echo "sweep --device cpu (this machine): rc=$? $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}') s" >> "$dir/summary.txt"
python3 scripts/compare_results.py "$dir/sweep/results.json" "$dir/sweep-cpu/results.json" > "$dir/compare.txt" 2>&1
echo "cuda vs cpu sweep comparison: rc=$?" >> "$dir/summary.txt"
[ -n "${OUT:-}" ] && tar czf "$OUT/gpu-check.tgz" -C "$(dirname "$dir")" "$(basename "$dir")" "$(basename "$dir").log"
tail -40 "$dir.log"; cat "$dir/compare.txt"; tail -3 "$dir/summary.txt"
