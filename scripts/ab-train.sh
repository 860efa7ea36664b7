#!/usr/bin/env bash
# A/B of two mha-cv binaries on the training step of every default config, one thread, for a
# noisy machine: the binaries take turns config by config, ROUNDS times over, and each config
# keeps its fastest step per binary (interference only adds time, so the minimum is the
# steadiest figure). Prints per-config minima, their sums and the ratio.
#   bash scripts/ab-train.sh OLD_BINARY NEW_BINARY [ROUNDS]
# The factoring is `auto` on both sides; `--steps 4 --warmup 1` per turn.
set -euo pipefail
old=$1 new=$2 rounds=${3:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
configs=()
for d in 64 128 256; do for h in 1 2 4 8; do configs+=("$d $h"); done; done
for r in $(seq "$rounds"); do
    for c in "${configs[@]}"; do
        set -- $c
        for side in old new; do
            bin=$old; [ "$side" = new ] && bin=$new
            RAYON_NUM_THREADS=1 "$bin" bench train --dims "$1" --heads "$2" --steps 4 --warmup 1 \
                --baseline auto --json >> "$tmp/$side.jsonl"
        done
    done
done
python3 - "$tmp/old.jsonl" "$tmp/new.jsonl" <<'EOF'
import json, sys
best = []
for path in sys.argv[1:3]:
    m = {}
    for line in open(path):
        d = json.loads(line)
        k = (d["dim"], d["heads"])
        m[k] = min(m.get(k, float("inf")), d["ms_min"])
    best.append(m)
old, new = best
print(f"{'D':>4} {'heads':>5} {'old ms':>8} {'new ms':>8} {'new/old':>8}")
for k in sorted(old):
    print(f"{k[0]:>4} {k[1]:>5} {old[k]:8.2f} {new[k]:8.2f} {new[k] / old[k]:8.3f}")
so, sn = sum(old.values()), sum(new.values())
print(f"{'sum':>10} {so:8.1f} {sn:8.1f} {sn / so:8.3f}")
EOF
