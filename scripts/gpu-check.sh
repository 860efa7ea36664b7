#!/usr/bin/env bash
# The GPU check, for a machine with an NVIDIA GPU and no Rust: runs the carried release binary's
# kernel selftest, the determinant benchmark (f32/f64, B = 1e6 and 1e7) against torch.linalg.det
# on the same GPU, the copy bandwidth, and the default sweep on the GPU. Everything is logged
# under OUTDIR; a short table is printed last. A failing step is reported and the rest still runs.
#
#   scripts/gpu-check.sh BIN OUTDIR [GPU_TEST_EXE...]
#     BIN           the mha-cv binary built with `cargo build --release --features cuda`
#     OUTDIR        where the logs, JSON and the table go (created)
#     GPU_TEST_EXE  optional test executables (target/release/deps/gpu_kernels-*), run with
#                   REQUIRE_GPU=1
# Env: STEP_TIMEOUT (seconds per step, default 240), PYTHON (default python3).
set -u
bin=${1:?usage: gpu-check.sh BIN OUTDIR [GPU_TEST_EXE...]}
out=${2:?usage: gpu-check.sh BIN OUTDIR [GPU_TEST_EXE...]}
shift 2
tests=("$@")
mkdir -p "$out"
out=$(cd "$out" && pwd)
log="$out/gpu-check.log"
steps="$out/steps.tsv"
: > "$log"
: > "$steps"
py=${PYTHON:-python3}
step_timeout=${STEP_TIMEOUT:-240}

# step NAME CMD...: runs CMD with a timeout, stdout/stderr to NAME.out/NAME.err and the log,
# records "NAME<TAB>rc<TAB>seconds" in steps.tsv; never stops the script.
step() {
    local name=$1
    shift
    echo "==== $name: $*" | tee -a "$log"
    local t0 t1 rc
    t0=$(date +%s.%N)
    timeout "$step_timeout" "$@" > "$out/$name.out" 2> "$out/$name.err"
    rc=$?
    t1=$(date +%s.%N)
    cat "$out/$name.out" "$out/$name.err" >> "$log"
    local secs
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    printf '%s\t%s\t%s\n' "$name" "$rc" "$secs" >> "$steps"
    echo "---- $name: rc=$rc, ${secs}s" | tee -a "$log"
}

step nvidia-smi nvidia-smi
step binary-runs "$bin" --version
ldd "$bin" >> "$log" 2>&1
step selftest "$bin" selftest --device cuda
for t in "${tests[@]}"; do
    step "test-$(basename "$t")" env REQUIRE_GPU=1 "$t" --test-threads=1
done
for p in f32 f64; do
    for b in 1000000 10000000; do
        step "bench-$p-$b" "$bin" bench det --device cuda --precision "$p" --batch "$b" --json
    done
done

cat > "$out/torch_det.py" <<'PY'
# torch.linalg.det on (B, 6, 6) on the GPU, and a device copy of the same bytes: CUDA events
# after a warm-up, median of 5. Prints one JSON object per case.
import json, sys, torch
assert torch.cuda.is_available(), "torch sees no GPU"
dev = torch.device("cuda")
def timed(fn, reps=5):
    fn(); torch.cuda.synchronize()
    ts = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record(); fn(); b.record(); torch.cuda.synchronize()
        ts.append(a.elapsed_time(b) / 1e3)
    ts.sort()
    return ts[len(ts) // 2]
for dtype, name in ((torch.float32, "f32"), (torch.float64, "f64")):
    for batch in (1_000_000, 10_000_000):
        g = torch.Generator(device=dev).manual_seed(42)
        x = torch.rand((batch, 6, 6), generator=g, device=dev, dtype=dtype) * 2 - 1
        s = timed(lambda: torch.linalg.det(x))
        y = torch.empty_like(x)
        c = timed(lambda: y.copy_(x))
        print(json.dumps({"precision": name, "batch": batch, "torch_det_seconds": s,
                          "torch_det_per_second": batch / s,
                          "torch_copy_gb_per_s": 2 * x.numel() * x.element_size() / c / 1e9,
                          "torch": torch.__version__, "gpu": torch.cuda.get_device_name()}))
        del x, y
        torch.cuda.empty_cache()
PY
step torch-det "$py" "$out/torch_det.py"

step sweep "$bin" sweep --device cuda --out "$out/sweep" --quiet

cat > "$out/table.py" <<'PY'
# Builds the summary table from the step files (robust to missing or malformed ones).
import json, os, sys
out = sys.argv[1]
steps = {}
for line in open(os.path.join(out, "steps.tsv")):
    name, rc, secs = line.rstrip("\n").split("\t")
    steps[name] = (int(rc), float(secs))
def text(name):
    try:
        return open(os.path.join(out, name)).read()
    except OSError:
        return ""
def find(obj, key):
    # First value under `key` anywhere in a JSON structure.
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        for v in obj.values():
            r = find(v, key)
            if r is not None:
                return r
    if isinstance(obj, list):
        for v in obj:
            r = find(v, key)
            if r is not None:
                return r
    return None
def load_json(s):
    s = s.strip()
    try:
        return json.loads(s)
    except ValueError:
        objs = []
        for line in s.splitlines():
            try:
                objs.append(json.loads(line))
            except ValueError:
                pass
        return objs or None
rows = []
def status(name):
    if name not in steps:
        return "not run"
    rc, secs = steps[name]
    return "ok" if rc == 0 else ("TIMEOUT" if rc == 124 else f"FAIL rc={rc}")
sel = text("selftest.out")
passed = sum(1 for l in sel.splitlines() if l.rstrip().endswith("| ok"))
failed = sum(1 for l in sel.splitlines() if "| FAIL" in l or "| ERROR" in l)
rows.append(("kernel selftest", f"{status('selftest')}: {passed} checks ok, {failed} failed"))
for name in sorted(n for n in steps if n.startswith("test-")):
    rows.append((name, status(name)))
torch = {}
tj = load_json(text("torch-det.out")) or []
for o in ([tj] if isinstance(tj, dict) else tj):
    if isinstance(o, dict):
        torch[(o.get("precision"), o.get("batch"))] = o
for p in ("f32", "f64"):
    for b in (1000000, 10000000):
        name = f"bench-{p}-{b}"
        j = load_json(text(name + ".out"))
        dps = find(j, "det_per_second") if j is not None else None
        pct = find(j, "percent_of_copy_bandwidth") if j is not None else None
        cbw = find(j, "copy_gb_per_s") if j is not None else None
        t = torch.get((p, b), {})
        tdps = t.get("torch_det_per_second")
        cell = status(name)
        if dps:
            cell = f"{dps / 1e6:9.1f} M det/s"
            if pct is not None:
                cell += f", {pct:5.1f}% of copy BW ({cbw:.0f} GB/s)"
            if tdps:
                cell += f", {dps / tdps:6.1f}x torch ({tdps / 1e6:.1f} M det/s)"
        elif tdps:
            cell += f" (torch {tdps / 1e6:.1f} M det/s)"
        rows.append((f"det {p} B={b:.0e}", cell))
if torch:
    t = next(iter(torch.values()))
    rows.append(("torch copy bandwidth", f"{t.get('torch_copy_gb_per_s', 0):.0f} GB/s (read+write), {t.get('gpu')}"))
else:
    rows.append(("torch det", status("torch-det")))
sw = steps.get("sweep")
rows.append(("sweep --device cuda wall time", f"{sw[1]:.2f} s ({status('sweep')})" if sw else "not run"))
width = max(len(r[0]) for r in rows)
print("\n==== GPU check summary")
for k, v in rows:
    print(f"{k:<{width}} | {v}")
PY
echo | tee -a "$log"
"$py" "$out/table.py" "$out" > "$out/summary.txt" 2>> "$log" || {
    echo "(table.py failed; raw step results:)" > "$out/summary.txt"
    cat "$steps" >> "$out/summary.txt"
}
cat "$out/summary.txt" >> "$log"
cat "$out/summary.txt"
