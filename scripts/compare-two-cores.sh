#!/usr/bin/env bash
# benches/compare.sh on two physical cores of a larger machine (the issues' targets are stated
# for a 2-core machine): picks CPU 0 and the first CPU on another core (not an SMT sibling),
# then runs compare.sh RUNS times pinned to them with `taskset`. For a machine without Rust:
# MHA_CV_BIN names the binary, PROTOTYPE the prototype (see compare.sh). Logs go to DIR.
#   scripts/compare-two-cores.sh DIR [RUNS]
set -euo pipefail
dir=${1:?usage: compare-two-cores.sh DIR [RUNS]}
runs=${2:-2}
cd "$(dirname "$0")/.."
mkdir -p "$dir"
lscpu > "$dir/lscpu.txt"
# lscpu -p: "CPU,CORE" lines; the first CPU whose core differs from CPU 0's.
pair=$(lscpu -p=CPU,CORE | grep -v '^#' | awk -F, 'NR == 1 { c = $2; print $1 } NR > 1 && $2 != c { print $1; exit }' | paste -sd,)
echo "pinned to CPUs $pair ($(grep -m1 'Model name' "$dir/lscpu.txt" | sed 's/  */ /g'))" | tee "$dir/pinning.txt"
for r in $(seq 1 "$runs"); do
    taskset -c "$pair" bash benches/compare.sh 2>&1 | tee "$dir/compare-$r.txt" | tail -n 16
done
