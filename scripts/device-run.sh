#!/usr/bin/env bash
# The whole GPU session in one call (for a lent GPU machine with no Rust): gpu-check.sh on the
# carried binary and GPU test executable, then the same default sweep on the CPU of that machine
# and a comparison of the two result sets. Everything lands in $1 (default /tmp/gc); a tarball of
# it is written to $OUT when that is set.
#   scripts/device-run.sh [DIR]      (expects .carry/mha-cv and .carry/gpu_kernels)
set -u
dir=${1:-/tmp/gc}
bash scripts/gpu-check.sh .carry/mha-cv "$dir" .carry/gpu_kernels > "$dir.log" 2>&1
secs() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}'; }
# The same GPU sweep again with the null-baseline cache warm (--fresh keeps null_cache.json).
t0=$(date +%s.%N)
.carry/mha-cv sweep --device cuda --out "$dir/sweep" --fresh --quiet > "$dir/sweep-warm.out" 2>&1
echo "sweep --device cuda, warm null cache: rc=$? $(secs "$t0") s" >> "$dir/summary.txt"
# cv --device cuda against --device cpu on the committed fixture's tensors.
for d in cuda cpu; do
    .carry/mha-cv cv tests/fixtures/torch_ref_f64.safetensors --json --device $d > "$dir/cv-$d.json" 2> "$dir/cv-$d.err"
done
python3 - "$dir" >> "$dir/summary.txt" 2>&1 <<'PY'
import json, sys
d = sys.argv[1]
a, b = (json.load(open(f"{d}/cv-{x}.json"))["tensors"] for x in ("cuda", "cpu"))
diffs = [abs(x["cv"] - y["cv"]) / y["cv"] for x, y in zip(a, b) if x.get("cv") and y.get("cv")]
same_valid = all(x.get("valid") == y.get("valid") for x, y in zip(a, b))
print(f"cv --device cuda vs cpu: {len(diffs)} tensors, max rel diff {max(diffs):.2e}, same kept counts: {same_valid}")
PY
t0=$(date +%s.%N)
.carry/mha-cv sweep --device cpu --out "$dir/sweep-cpu" --quiet > "$dir/sweep-cpu.out" 2>&1
echo "sweep --device cpu (this machine): rc=$? $(secs "$t0") s" >> "$dir/summary.txt"
python3 scripts/compare_results.py "$dir/sweep/results.json" "$dir/sweep-cpu/results.json" > "$dir/compare.txt" 2>&1
echo "cuda vs cpu sweep comparison: rc=$?" >> "$dir/summary.txt"
[ -n "${OUT:-}" ] && tar czf "$OUT/gpu-check.tgz" -C "$(dirname "$dir")" "$(basename "$dir")" "$(basename "$dir").log"
tail -40 "$dir.log"; cat "$dir/compare.txt"; tail -6 "$dir/summary.txt"
