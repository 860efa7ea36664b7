#!/usr/bin/env bash
# Same-session comparisons behind BENCHMARKS.md: mha-cv against the PyTorch prototype and
# numpy/PyTorch baselines, back to back on this machine, with the ratios printed last.
#   bash benches/compare.sh            # sweep, determinant, training step
#   bash benches/compare.sh --train    # also the criterion bench of the step (a few minutes)
#   ROUNDS=3 bash benches/compare.sh   # the sweeps and the prototype three times, alternated
# Needs python3 with torch and numpy for the baselines (`python3 -m pip install torch numpy`);
# without them only mha-cv's own figures are printed. Run it on a quiet machine. Both sides use
# every CPU this process may run on (`nproc`): `taskset -c 0,1 bash benches/compare.sh` compares
# them on two cores of a larger machine. MHA_CV_BIN=path runs that binary instead of building
# one (for a machine without Rust; `--train` needs cargo).
set -euo pipefail
train=${1:-}  # read now: `set --` below reuses the positional parameters
rounds=${ROUNDS:-1}
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "ROUNDS=$rounds: give a positive count, e.g. ROUNDS=3" >&2; exit 2; }
cd "$(dirname "$0")/.."
proto=${PROTOTYPE:-../shared/seed/mha_cv_prototype.py}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
secs() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }
have_torch() { python3 -c 'import torch, numpy' 2>/dev/null; }

if [ -n "${MHA_CV_BIN:-}" ]; then
    bin=$MHA_CV_BIN
else
    cargo build --release --quiet
    bin=target/release/mha-cv
fi
threads=$(nproc)
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$threads}  # PyTorch's threads, as many as ours
rows=()

# The default sweep, whole process, prototype first. The four runs are repeated `rounds` times
# (ROUNDS, checked at the top), alternated, and their medians reported: on a noisy VM one run of
# either side can move by 30 %.
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
runs() { [ "$rounds" -gt 1 ] && echo " (median of $rounds: $*)"; true; }
warm() {
    local t0
    t0=$(date +%s.%N)
    "$bin" sweep --out "$tmp/sweep" --quiet --fresh --jobs "$1" > /dev/null
    secs "$t0"
}
proto_s=() cold_s=() jobs1_s=() jobs2_s=()
for _ in $(seq "$rounds"); do
    if have_torch && [ -f "$proto" ]; then
        t0=$(date +%s.%N); python3 "$proto" > "$tmp/proto.txt"; proto_s+=("$(secs "$t0")")
    fi
    rm -rf "$tmp/sweep"
    t0=$(date +%s.%N)
    "$bin" sweep --out "$tmp/sweep" --quiet --timings > "$tmp/ours.txt" 2> "$tmp/timings.txt"
    cold_s+=("$(secs "$t0")")
    # The same with the null cache warm: one config at a time, then in parallel (the default).
    jobs1_s+=("$(warm 1)")
    jobs2_s+=("$(warm 2)")
done
tp=
if [ "${#proto_s[@]}" -gt 0 ]; then
    tp=$(median "${proto_s[@]}")
    rows+=("prototype sweep (PyTorch)|${tp} s$(runs "${proto_s[@]}")")
fi
ratio() { [ -n "$tp" ] && awk -v a="$tp" -v b="$1" 'BEGIN { printf " → %.1f×", a / b }'; true; }
to=$(median "${cold_s[@]}")
rows+=("mha-cv sweep (cold null cache)|${to} s$(ratio "$to")$(runs "${cold_s[@]}")")
tj=$(median "${jobs1_s[@]}")
rows+=("mha-cv sweep --jobs 1 (warm cache)|${tj} s$(ratio "$tj")$(runs "${jobs1_s[@]}")")
tj=$(median "${jobs2_s[@]}")
rows+=("mha-cv sweep --jobs 2 (warm cache)|${tj} s$(ratio "$tj")$(runs "${jobs2_s[@]}")")
cat "$tmp/timings.txt"

# The batched determinant, f64 and f32, B = 1e6.
for p in f64 f32; do
    ours=$("$bin" bench det --batch 1000000 --precision "$p" --repeats 11 --json |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["dets_per_second"])')
    rows+=("det6 $p (mha-cv)|$(awk -v x="$ours" 'BEGIN { printf "%.1f M det/s", x / 1e6 }')")
    eval "ours_$p=$ours"
done
if have_torch; then
    python3 scripts/det_reference.py > "$tmp/ref.json"
    while read -r line; do
        lib=$(echo "$line" | python3 -c 'import json, sys; o = json.load(sys.stdin); print(o["library"], o["precision"], o["dets_per_second"])')
        set -- $lib
        ours_var="ours_$2"
        rows+=("det6 $2 ($1)|$(awk -v x="$3" -v o="${!ours_var}" 'BEGIN { printf "%.2f M det/s → mha-cv %.1f×", x / 1e6, o / x }')")
    done < "$tmp/ref.json"
fi

# The fused Cayley–Menger volumes, f64, D = 64, 10^6 tuples from 512 rows, against the direct
# path in the same run.
vol=$("$bin" bench volumes --json | python3 -c 'import json, sys; o = json.load(sys.stdin); print(o["auto"]["volumes_per_second"] / 1e6, o["auto_path"], o["speedup"])')
set -- $vol
rows+=("fused volumes f64 D=64 (mha-cv, $2)|$(printf '%.1f M vol/s, %.1f× the direct path' "$1" "$3")")

# One training step, heads 8, D = 64 and 256: mha-cv's default factoring against PyTorch's order
# in the same process (`bench train`), then the prototype's model in PyTorch.
while read -r line; do
    set -- $(echo "$line" | python3 -c 'import json, sys; o = json.load(sys.stdin); print(o["dim"], o["factoring"], o["ms_median"], o["baseline_ms_median"])')
    eval "step_$1=$3"
    rows+=("train step D=$1 h8 (mha-cv, $2)|$(printf '%.2f ms; per-token %.2f ms' "$3" "$4")")
done < <("$bin" bench train --dims 64,256 --heads 8 --json)
if have_torch && [ -f "$proto" ]; then
    python3 scripts/torch_train_step.py --threads "$threads" --prototype "$proto" > "$tmp/torch_step.txt"
    while read -r dim ms; do
        ours_var="step_$dim"
        rows+=("train step D=$dim h8 (PyTorch)|$(awk -v t="$ms" -v o="${!ours_var}" 'BEGIN { printf "%.2f ms median → mha-cv %.1f×", t, t / o }')")
    done < <(sed -n 's/^D=\([0-9]*\) heads=8.*: \([0-9.]*\) ms\/step (median).*/\1 \2/p' "$tmp/torch_step.txt")
fi

# The criterion benchmark of the step, every factoring (optional: it takes minutes).
if [ "$train" = "--train" ]; then
    cargo bench --bench train_step 2>&1 | grep -E "^train_step|time:" | tee "$tmp/train.txt"
fi

printf '\n%-40s | %s\n' "what" "result"
for r in "${rows[@]}"; do printf '%-40s | %s\n' "${r%%|*}" "${r#*|}"; done
