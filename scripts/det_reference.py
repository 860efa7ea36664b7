#!/usr/bin/env python3
"""Same-run reference for `mha-cv bench det`: numpy.linalg.det and torch.linalg.det on a batch
of random 6x6 matrices (entries uniform in [-1, 1)), f64 and f32, on the CPU.

Each library/precision: fresh random matrices per run, `--warmup` untimed runs, then the
median of `--repeats` timed runs. Prints one JSON object per line with the same fields as
`mha-cv bench det --json` (device, precision, batch, seconds_median, dets_per_second) plus
`library` and `threads`. Missing libraries are reported and skipped. Reference only: the
Rust tool never needs Python.

    python3 scripts/det_reference.py [--batch 1000000] [--repeats 5] [--warmup 1]
"""

import argparse
import json
import os
import statistics
import time


def bench(det, make, batch, repeats, warmup):
    times = []
    for run in range(warmup + repeats):
        mats = make(run)
        start = time.perf_counter()
        det(mats)
        seconds = time.perf_counter() - start
        if run >= warmup:
            times.append(seconds)
    return statistics.median(times), min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    args = ap.parse_args()
    threads = len(os.sched_getaffinity(0))  # the CPUs this process may use (taskset)

    cases = []
    try:
        import numpy as np

        def np_case(dtype):
            def make(run):
                rng = np.random.default_rng(run)
                return rng.uniform(-1.0, 1.0, (args.batch, 6, 6)).astype(dtype)

            return make, np.linalg.det

        cases += [("numpy", "f64", *np_case(np.float64)), ("numpy", "f32", *np_case(np.float32))]
    except ImportError as e:
        print(json.dumps({"library": "numpy", "skipped": str(e)}))

    try:
        import torch

        torch.set_num_threads(threads)

        def torch_case(dtype):
            def make(run):
                g = torch.Generator().manual_seed(run)
                return torch.rand((args.batch, 6, 6), generator=g, dtype=dtype) * 2 - 1

            return make, torch.linalg.det

        cases += [
            ("torch", "f64", *torch_case(torch.float64)),
            ("torch", "f32", *torch_case(torch.float32)),
        ]
    except ImportError as e:
        print(json.dumps({"library": "torch", "skipped": str(e)}))

    for library, precision, make, det in cases:
        median, best = bench(det, make, args.batch, args.repeats, args.warmup)
        print(
            json.dumps(
                {
                    "library": library,
                    "device": "cpu",
                    "precision": precision,
                    "threads": threads,
                    "batch": args.batch,
                    "repeats": args.repeats,
                    "warmup": args.warmup,
                    "seconds_median": median,
                    "seconds_min": best,
                    "dets_per_second": args.batch / median,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
