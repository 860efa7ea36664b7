"""The PyTorch reference fixture for the tape, the model and Adam (tests/torch_parity.rs).

Builds the prototype's MHAClassifier (class copied from ../shared/seed/mha_cv_prototype.py) for
a small config with two heads, runs it in float64, and writes with safetensors.torch.save_file:

  x (B, S) int64, y (B) int64              the inputs
  init.<param>                            the 10 parameters, PyTorch names and shapes
  act.h (B,S,D)        emb[x] + pos
  act.qkv (B,S,3D)     h · in_proj_weightᵀ + in_proj_bias
  act.attn_probs (B,H,S,S)  softmax(q_h k_hᵀ / √hd) per head
  act.attn (B,S,D)     heads' probs_h · v_h, concatenated (before out_proj)
  act.attn_out (B,S,D) out_proj(attn)
  act.resid (B,S,D)    h + attn_out
  act.ln (B,S,D)       LayerNorm(resid)
  act.pooled (B,D)     mean over the sequence
  act.logits (B,C)     head(pooled)
  act.loss (1)         cross-entropy, mean over the batch
  grad.<param>         d loss / d param at init
  step1.<param>, step5.<param>   parameters after 1 and 5 Adam steps (lr 1e-3, full batch)
  losses (5)           the loss of each of those 5 steps' forward passes

and the same in float32 (torch_ref_f32.safetensors), starting from the float64 file's initial
parameters cast to float32, on the same data, computed by PyTorch in float32.

The intermediates are recomputed step by step exactly as nn.MultiheadAttention computes them
(q, k, v from in_proj; per head softmax(q kᵀ / √hd) v; concatenation; out_proj). The script
ASSERTS that they equal the module's own outputs (attention output, per-head attention weights,
logits, loss, every gradient) to 1e-12 in float64 (1e-5 relative to scale in float32), so the
fixture holds the module's truth; the stored loss and gradients are the module's own.

Initialisation: PyTorch's default, then in_proj_bias, out_proj.bias, norm.weight and norm.bias are
perturbed by N(0, 0.1²). By default the biases are 0 and the norm weight 1, which would leave
their values untested in the forward pass and their gradients' effect invisible after a step.

Run from the repository root (needs torch and safetensors; the tests do not):
    python3 tests/gen_torch_fixture.py
"""

import copy
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

VOCAB, DIM, HEADS, SEQ, CLASSES, BATCH = 32, 12, 2, 8, 10, 7
LR, STEPS = 1e-3, 5
SEED = 7
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")

PARAM_NAMES = [
    "emb.weight",
    "pos",
    "mha.in_proj_weight",
    "mha.in_proj_bias",
    "mha.out_proj.weight",
    "mha.out_proj.bias",
    "norm.weight",
    "norm.bias",
    "head.weight",
    "head.bias",
]


class MHAClassifier(nn.Module):
    """The prototype's model, copied as is (forward_activations and the CV helpers left out)."""

    def __init__(self, vocab, dim, n_heads, seq_len, n_classes):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.pos = nn.Parameter(torch.randn(1, seq_len, dim) * 0.02)
        self.mha = nn.MultiheadAttention(dim, n_heads, batch_first=True)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, n_classes)

    def forward(self, x):
        h = self.emb(x) + self.pos
        attn_out, _ = self.mha(h, h, h)
        h = self.norm(h + attn_out)
        h = h.mean(dim=1)
        return self.head(h)


def build_model():
    """The float64 model: default init drawn in float64, then the perturbation (see above)."""
    torch.manual_seed(SEED)
    torch.set_default_dtype(torch.float64)
    model = MHAClassifier(VOCAB, DIM, HEADS, SEQ, CLASSES)
    torch.set_default_dtype(torch.float32)
    gen = torch.Generator().manual_seed(SEED + 1)
    with torch.no_grad():
        for p in (model.mha.in_proj_bias, model.mha.out_proj.bias, model.norm.weight, model.norm.bias):
            p.add_(0.1 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    assert sorted(n for n, _ in model.named_parameters()) == sorted(PARAM_NAMES)
    return model


def make_data():
    gen = torch.Generator().manual_seed(SEED + 2)
    x = torch.randint(0, VOCAB, (BATCH, SEQ), generator=gen, dtype=torch.int64)
    y = torch.randint(0, CLASSES, (BATCH,), generator=gen, dtype=torch.int64)
    return x, y


def params_of(model):
    return dict(model.named_parameters())


def check_close(name, ours, module, tol):
    """Asserts |ours - module| <= tol · max(1, max|module|)."""
    scale = max(1.0, module.abs().max().item())
    err = (ours - module).abs().max().item()
    assert err <= tol * scale, f"{name}: recomputed differs from the module by {err:.3e} (scale {scale:.3e})"
    return err


def trace(model, x, y, tol):
    """Every intermediate, recomputed as nn.MultiheadAttention computes it and checked against the
    module; the loss and gradients of the module's own forward pass."""
    B, S = x.shape
    D, H = DIM, HEADS
    hd = D // H
    mha = model.mha

    h = model.emb(x) + model.pos                                           # (B,S,D)
    qkv = F.linear(h, mha.in_proj_weight, mha.in_proj_bias)                # (B,S,3D)
    q, k, v = (t.reshape(B, S, H, hd).transpose(1, 2) for t in qkv.split(D, dim=-1))  # (B,H,S,hd)
    probs = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(hd), dim=-1)  # (B,H,S,S)
    attn = (probs @ v).transpose(1, 2).reshape(B, S, D)                    # heads concatenated
    attn_out = F.linear(attn, mha.out_proj.weight, mha.out_proj.bias)      # (B,S,D)
    resid = h + attn_out
    ln = model.norm(resid)
    pooled = ln.mean(dim=1)                                                # (B,D)
    logits = model.head(pooled)                                            # (B,C)
    loss = F.cross_entropy(logits, y)

    # The module's own forward on the same h, and the whole model's.
    module_out, module_probs = mha(h, h, h, need_weights=True, average_attn_weights=False)
    worst = {
        "attn_out": check_close("act.attn_out", attn_out, module_out, tol),
        "attn_probs": check_close("act.attn_probs", probs, module_probs, tol),
    }
    model.zero_grad()
    module_loss = F.cross_entropy(model(x), y)
    module_loss.backward()
    module_grads = {n: p.grad.detach().clone() for n, p in params_of(model).items()}
    with torch.no_grad():
        worst["logits"] = check_close("act.logits", logits, model(x), tol)
    worst["loss"] = check_close("act.loss", loss, module_loss, tol)

    model.zero_grad()
    loss.backward()
    for n, p in params_of(model).items():
        worst["grad." + n] = check_close("grad." + n, p.grad, module_grads[n], tol)
    model.zero_grad()

    acts = {
        "act.h": h,
        "act.qkv": qkv,
        "act.attn_probs": probs,
        "act.attn": attn,
        "act.attn_out": attn_out,
        "act.resid": resid,
        "act.ln": ln,
        "act.pooled": pooled,
        "act.logits": logits,
        "act.loss": module_loss.reshape(1),
    }
    out = {n: t.detach().clone() for n, t in acts.items()}
    out.update({"grad." + n: g for n, g in module_grads.items()})
    return out, max(worst.values())


def adam_steps(model, x, y):
    """STEPS full-batch steps of torch.optim.Adam (single-tensor formula, PyTorch defaults)."""
    opt = torch.optim.Adam(model.parameters(), lr=LR, foreach=False)
    out, losses = {}, []
    for t in range(1, STEPS + 1):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.detach().clone())
        if t in (1, STEPS):
            out.update({f"step{t}.{n}": p.detach().clone() for n, p in params_of(model).items()})
    out["losses"] = torch.stack(losses)
    return out


def write(model, x, y, tol, path):
    tensors = {"x": x, "y": y}
    tensors.update({"init." + n: p.detach().clone() for n, p in params_of(model).items()})
    traced, worst = trace(model, x, y, tol)
    tensors.update(traced)
    tensors.update(adam_steps(model, x, y))
    dtype = str(next(model.parameters()).dtype)
    config = dict(vocab=VOCAB, dim=DIM, heads=HEADS, seq_len=SEQ, classes=CLASSES, batch=BATCH,
                  lr=LR, steps=STEPS, seed=SEED, dtype=dtype, torch=torch.__version__)
    # One metadata key: the writer keeps metadata in a hash map, so several keys would come out in
    # a different order on every run and the file would not be byte-for-byte reproducible.
    save_file({n: t.contiguous() for n, t in tensors.items()}, path,
              metadata={"config": json.dumps(config, sort_keys=True)})
    print(f"{os.path.getsize(path):7d} bytes  {os.path.relpath(path)}  ({len(tensors)} tensors, "
          f"{dtype}, recomputation vs module: max deviation {worst:.2e})")


def main():
    model64 = build_model()
    model32 = copy.deepcopy(model64).float()   # the same initial parameters, cast
    x, y = make_data()
    write(model64, x, y, 1e-12, os.path.join(OUT, "torch_ref_f64.safetensors"))
    write(model32, x, y, 1e-5, os.path.join(OUT, "torch_ref_f32.safetensors"))


if __name__ == "__main__":
    main()
