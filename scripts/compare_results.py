#!/usr/bin/env python3
"""Compares two mha-cv results.json files (e.g. a sweep on --device cuda against --device cpu):
per config, the largest relative difference of the losses, the accuracies, every CV, and how
many metrics kept a different number of volumes (a near-degenerate 5-tuple whose vol² is
rounding noise can pass the 1e-20 filter on one device and not the other: numerics.md).
Exit 1 when a loss differs by more than --loss-rtol (default 1e-3: f32 training on two devices
sums in different orders, and 50 Adam steps amplify that rounding) or a config is missing.

    python3 scripts/compare_results.py A/results.json B/results.json
"""
import argparse, json, sys

ap = argparse.ArgumentParser()
ap.add_argument("a"); ap.add_argument("b")
ap.add_argument("--loss-rtol", type=float, default=1e-3)
args = ap.parse_args()
A = {(r["dim"], r["heads"], r["seed"]): r for r in json.load(open(args.a))["results"]}
B = {(r["dim"], r["heads"], r["seed"]): r for r in json.load(open(args.b))["results"]}
bad = 0
print(f"{'config':>14} | {'max rel loss':>12} | {'acc a':>6} {'acc b':>6} | {'max |Δcv|':>9} {'median |Δcv|':>12} | kept≠ | metric of max")
for key in sorted(A.keys() | B.keys()):
    if key not in A or key not in B:
        print(f"{key}: missing in {'a' if key not in A else 'b'}"); bad += 1; continue
    a, b = A[key], B[key]
    rel = max(abs(x - y) / max(abs(y), 1e-30) for x, y in zip(a["losses"], b["losses"]))
    diffs, kept_differs = [], 0
    for phase in ("pre", "mid", "post"):
        for m, va in (a.get(phase) or {}).items():
            vb = (b.get(phase) or {}).get(m, {})
            kept_differs += va.get("valid") != vb.get("valid")
            if va.get("cv") is not None and vb.get("cv") is not None:
                diffs.append((abs(va["cv"] - vb["cv"]), f"{phase}/{m}"))
    diffs.sort()
    mx = diffs[-1] if diffs else (float("nan"), "-")
    med = diffs[len(diffs) // 2][0] if diffs else float("nan")
    print(f"{str(key):>14} | {rel:12.2e} | {a['acc']:6.3f} {b['acc']:6.3f} | {mx[0]:9.2e} {med:12.2e} | {kept_differs:5d} | {mx[1]}")
    bad += rel > args.loss_rtol
sys.exit(1 if bad else 0)
