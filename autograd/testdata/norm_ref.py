"""Reference values for LayerNorm and BatchNorm from PyTorch, in float64.

Run with /usr/bin/python3 (PyTorch 1.13) from autograd/testdata:

    /usr/bin/python3 norm_ref.py > norm_ref.json

Each case gives the inputs (flat, row-major), the output y, the gradients
(dx, dw, db) of <u, y>, and a second-order quantity: the gradients with
respect to x and w of s = <dx, r>, computed by double backward. BatchNorm
cases run several forward passes on successive batches, recording the
running statistics after each; the outputs and gradients are those of the
last batch.
"""
import json

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(20261208)


def t(a):
    return torch.tensor(a, dtype=torch.float64)


def flat(v):
    return None if v is None else v.detach().reshape(-1).tolist()


def derivatives(y, x, w, b, u, r):
    ins = [v for v in (x, w, b) if v is not None]
    grads = torch.autograd.grad(y, ins, u, create_graph=True)
    g = dict(zip(["x"] + (["w"] if w is not None else []) + (["b"] if b is not None else []), grads))
    s = (g["x"] * r).sum()
    sec_in = [x] + ([w] if w is not None else [])
    sec = torch.autograd.grad(s, sec_in, allow_unused=True)
    out = {"y": flat(y), "dx": flat(g["x"]), "dw": flat(g.get("w")), "db": flat(g.get("b")),
           "sx": flat(sec[0]) if sec[0] is not None else [0.0] * x.numel(),
           "sw": None}
    if w is not None:
        out["sw"] = flat(sec[1]) if sec[1] is not None else [0.0] * w.numel()
    return out


def param(shape, on, loc):
    if not on:
        return None
    return t(rng.normal(loc, 0.5, shape)).requires_grad_()


cases = []

for name, shape, dims, has_w, has_b in [
    ("ln_d1_wb", [3, 4, 5], 1, True, True),
    ("ln_d2_plain", [2, 3, 4], 2, False, False),
    ("ln_d3_w", [2, 2, 3, 2], 3, True, False),
    ("ln_d1_b_offset", [4, 6], 1, False, True),
]:
    ns = shape[len(shape) - dims:]
    scale = 100.0 if "offset" in name else 0.0  # a large mean tests the two-pass variance
    x = t(rng.normal(scale, 2.0, shape)).requires_grad_()
    w, b = param(ns, has_w, 1.0), param(ns, has_b, 0.0)
    u, r = t(rng.normal(0, 1, shape)), t(rng.normal(0, 1, shape))
    y = F.layer_norm(x, ns, w, b, 1e-5)
    c = {"name": name, "op": "layernorm", "shape": shape, "dims": dims, "eps": 1e-5,
         "x": [flat(x)], "w": flat(w), "b": flat(b), "u": flat(u), "r": flat(r)}
    c.update(derivatives(y, x, w, b, u, r))
    cases.append(c)

for name, shape, has_w, has_b, modes in [
    ("bn2d_train_wb", [6, 3], True, True, [True, True]),
    ("bn4d_train_wb", [4, 3, 2, 3], True, True, [True, True]),
    ("bn4d_train_plain", [3, 2, 3, 2], False, False, [True, True]),
    ("bn4d_eval_wb", [4, 3, 2, 3], True, True, [True, True, False]),
    ("bn2d_eval_w", [5, 4], True, False, [True, False]),
    # H*W >= 16 takes the vector-kernel path of the Go code.
    ("bn4d_wide_train_wb", [3, 2, 4, 5], True, True, [True, True]),
    ("bn4d_wide_train_b", [2, 3, 4, 4], False, True, [True, True]),
    ("bn4d_wide_eval_wb", [3, 2, 4, 5], True, True, [True, False]),
]:
    ch = shape[1]
    w, b = param([ch], has_w, 1.0), param([ch], has_b, 0.0)
    rm, rv = t(rng.normal(0, 0.5, ch)), t(rng.uniform(0.5, 2, ch))
    c = {"name": name, "op": "batchnorm", "shape": shape, "eps": 1e-5, "momentum": 0.1,
         "training": modes, "run_mean0": flat(rm), "run_var0": flat(rv), "w": flat(w), "b": flat(b),
         "x": [], "run_mean": [], "run_var": []}
    for i, training in enumerate(modes):
        x = t(rng.normal(0.5 * i, 1.5, shape)).requires_grad_()
        y = F.batch_norm(x, rm, rv, w, b, training, 0.1, 1e-5)
        c["x"].append(flat(x))
        c["run_mean"].append(flat(rm))
        c["run_var"].append(flat(rv))
    u, r = t(rng.normal(0, 1, shape)), t(rng.normal(0, 1, shape))
    c["u"], c["r"] = flat(u), flat(r)
    c.update(derivatives(y, x, w, b, u, r))
    cases.append(c)

print(json.dumps({"torch": torch.__version__, "cases": cases}))
