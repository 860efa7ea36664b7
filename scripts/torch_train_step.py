"""Times one full-batch training step of the prototype's model in PyTorch (CPU, 2 threads):
zero_grad, forward, cross-entropy, backward, Adam step, on 500 sequences of 8 tokens,
heads 8, D = 64 and D = 256, float32. The Rust counterpart is `cargo bench --bench train_step`.

Usage: python3 scripts/torch_train_step.py [--threads 2] [--steps 50] [--prototype PATH]
"""

import argparse
import importlib.util
import os
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PROTOTYPE = os.path.join(HERE, "..", "..", "shared", "seed", "mha_cv_prototype.py")


def load_prototype(path):
    """The prototype's own module (its sweep runs only under __main__), so the model timed is
    exactly the one the prototype trains."""
    spec = importlib.util.spec_from_file_location("mha_cv_prototype", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def time_step(MHAClassifier, dim, heads, steps, warmup=5):
    torch.manual_seed(42)
    x = torch.randint(0, 256, (500, 8))
    y = torch.randint(0, 10, (500,))
    model = MHAClassifier(256, dim, heads, 8, 10)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    times.sort()
    return 1e3 * times[len(times) // 2], 1e3 * times[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--prototype", default=DEFAULT_PROTOTYPE, help="path to mha_cv_prototype.py")
    args = ap.parse_args()
    model_class = load_prototype(args.prototype).MHAClassifier
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32")
    for dim in (64, 256):
        median, best = time_step(model_class, dim, 8, args.steps)
        print(f"D={dim} heads=8 batch=500x8: {median:.2f} ms/step (median), {best:.2f} (best)")


if __name__ == "__main__":
    main()
