#!/usr/bin/python3
"""PyTorch reference for gradflow's convolutional nets (nn.Net).

It builds, from the same spec strings as nn.NewNet (the subset of the
grammar the tests use), the torch.nn.Sequential that gradflow's Net mirrors:
one module per spec token, so the state-dict keys are gradflow's ("0.weight",
"1.running_mean", "3.body.0.weight", "3.shortcut.0.weight", ...).

  cnn_ref.py fixtures DIR
      writes DIR/cnn_ref_<case>.safetensors (the initial state dict) and
      DIR/cnn_ref_<case>.json: inputs, labels, train-mode logits, the mean
      cross-entropy, its gradient for every parameter, a Hessian-vector
      product (double backward on the same single forward pass), the buffers
      after that forward pass and the eval-mode logits afterwards.
  cnn_ref.py eval SPEC SHAPE MODEL X OUT
      loads MODEL (a safetensors file gradflow wrote) into the torch model
      of SPEC with load_state_dict(strict=True) and writes to OUT the
      eval-mode logits on the inputs X (JSON {"shape", "data"}).

Everything is float64. safetensors is read and written by hand (8-byte
header length, JSON header, little-endian data), so only torch is needed.
Run with /usr/bin/python3 (PyTorch 1.13).
"""
import json
import re
import struct
import sys

import torch
from torch import nn

torch.set_default_dtype(torch.float64)

ACTS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU,
        "silu": nn.SiLU, "softplus": nn.Softplus, "identity": nn.Identity}


class Residual(nn.Module):
    """body(x) + shortcut(x), the identity when there is no shortcut."""

    def __init__(self, body, shortcut=None):
        super().__init__()
        self.body = body
        self.shortcut = shortcut

    def forward(self, x):
        s = x if self.shortcut is None else self.shortcut(x)
        return self.body(x) + s


class GAP(nn.Module):
    """Global average pooling [N, C, H, W] -> [N, C], gradflow's gap."""

    def forward(self, x):
        return x.mean(dim=(2, 3))


def split_top(s, sep):
    parts, depth, start = [], 0, 0
    for i, c in enumerate(s):
        depth += (c == "(") - (c == ")")
        if c == sep and depth == 0:
            parts.append(s[start:i])
            start = i + 1
    parts.append(s[start:])
    return parts


def pair(v):
    if v is None:
        return None
    a, _, b = v.partition("x")
    return (int(a), int(b or a))


def build(spec, shape):
    """Returns (torch.nn.Sequential, output shape) for examples of shape."""
    mods = []
    for tok in split_top(spec, "-"):
        if tok.startswith("res("):
            parts = split_top(tok[4:-1], ",")
            body, out = build(parts[0], shape)
            short = None
            if len(parts) > 1:
                short, _ = build(parts[1], shape)
            mods.append(Residual(body, short))
            shape = out
            continue
        m = re.fullmatch(r"conv(\d+)k([\dx]+)(?:s([\dx]+))?(?:p([\dx]+))?(?:d([\dx]+))?(?:g(\d+))?(nb)?", tok)
        if m:
            c, k, s, p = int(m[1]), pair(m[2]), pair(m[3]) or (1, 1), pair(m[4]) or (0, 0)
            d, g = pair(m[5]) or (1, 1), int(m[6] or 1)
            mods.append(nn.Conv2d(shape[0], c, k, stride=s, padding=p, dilation=d, groups=g, bias=m[7] is None))
            shape = [c] + [(shape[1 + i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(2)]
            continue
        m = re.fullmatch(r"(max|avg)pool([\dx]+)(?:s([\dx]+))?(?:p([\dx]+))?", tok)
        if m:
            k = pair(m[2])
            s, p = pair(m[3]) or k, pair(m[4]) or (0, 0)
            mods.append((nn.MaxPool2d if m[1] == "max" else nn.AvgPool2d)(k, s, p))
            shape = [shape[0]] + [(shape[1 + i] + 2 * p[i] - k[i]) // s[i] + 1 for i in range(2)]
            continue
        m = re.fullmatch(r"fc(\d+)(nb)?", tok)
        if m:
            mods.append(nn.Linear(shape[0], int(m[1]), bias=m[2] is None))
            shape = [int(m[1])]
        elif tok == "bn":
            mods.append((nn.BatchNorm1d if len(shape) == 1 else nn.BatchNorm2d)(shape[0]))
        elif tok == "ln":
            mods.append(nn.LayerNorm(shape))
        elif tok == "flatten":
            mods.append(nn.Flatten())
            n = 1
            for d in shape:
                n *= d
            shape = [n]
        elif tok == "gap":
            mods.append(GAP())
            shape = shape[:1]
        elif tok in ACTS:
            mods.append(ACTS[tok]())
        else:
            raise SystemExit("cnn_ref.py: token %r not supported here" % tok)
    return nn.Sequential(*mods), shape


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        if t.dtype == torch.int64:
            dt, fmt = "I64", "q"
        else:
            dt, fmt = "F64", "d"
        blob = struct.pack("<%d%s" % (t.numel(), fmt), *t.reshape(-1).tolist())
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(blob)]}
        blobs.append(blob)
        off += len(blob)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        fmt, size, dtype = {"F64": ("d", 8, torch.float64), "F32": ("f", 4, torch.float32),
                            "I64": ("q", 8, torch.int64)}[e["dtype"]]
        b, end = e["data_offsets"]
        vals = struct.unpack("<%d%s" % ((end - b) // size, fmt), data[b:end])
        out[name] = torch.tensor(vals, dtype=dtype).reshape(e["shape"])
    return out


def js(t):
    t = t.detach()
    return {"shape": list(t.shape), "data": t.reshape(-1).tolist()}


CASES = [
    # 1x8x8 digits-size inputs: conv, BatchNorm2d, ReLU, an identity
    # residual block, max pooling, a block with a strided 1x1 shortcut,
    # average pooling, flatten and a Linear readout.
    ("small8", [1, 8, 8],
     "conv4k3p1-bn-relu-res(conv4k3p1-bn-relu-conv4k3p1-bn)-relu-maxpool2-"
     "res(conv6k3s2p1-bn-relu-conv6k3p1,conv6k1s2-bn)-relu-avgpool2-flatten-fc5"),
    # 1x12x12: padded strided max pooling, a block, global average pooling,
    # LayerNorm, BatchNorm1d and two Linear layers.
    ("gap12", [1, 12, 12],
     "conv4k5p2-bn-relu-maxpool3s2p1-res(conv4k3p1-bn-relu-conv4k3p1nb-bn)-relu-gap-ln-fc6-bn-tanh-fc3"),
    # 1x10x10: a dilated convolution, a grouped one with a 3x2 kernel, and
    # ReLU straight after conv and Linear layers (gradflow fuses those into
    # the layer's op), average pooling with stride 1.
    ("fused10", [1, 10, 10],
     "conv3k3p2d2-relu-maxpool2-conv6k3x2p1g3-relu-avgpool2s1-flatten-fc8-relu-fc3"),
]


def fixtures(outdir):
    for i, (name, shape, spec) in enumerate(CASES):
        torch.manual_seed(100 + i)
        model, out = build(spec, shape)
        # Move every BatchNorm and LayerNorm off its trivial init, so that a
        # loader that skipped a tensor is caught.
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.uniform_(-0.5, 0.5)
                    m.running_mean.uniform_(-0.3, 0.3)
                    m.running_var.uniform_(0.5, 2.0)
                    m.num_batches_tracked.fill_(7)
                if isinstance(m, nn.LayerNorm):
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.uniform_(-0.5, 0.5)
        state = {k: v.clone() for k, v in model.state_dict().items()}
        write_safetensors("%s/cnn_ref_%s.safetensors" % (outdir, name), state)
        n = 5
        x = torch.randn(n, *shape)
        labels = torch.randint(0, out[0], (n,))
        model.train()
        params = [p for _, p in model.named_parameters()]
        names = [k for k, _ in model.named_parameters()]
        logits = model(x)  # the one forward pass: running stats move once
        loss = nn.functional.cross_entropy(logits, labels)
        grads = torch.autograd.grad(loss, params, create_graph=True)
        vs = [torch.randn_like(p) for p in params]
        dot = sum((g * v).sum() for g, v in zip(grads, vs))
        hvps = torch.autograd.grad(dot, params)
        buffers = {k: v.clone() for k, v in model.named_buffers()}
        model.eval()
        with torch.no_grad():
            eval_logits = model(x)
        doc = {
            "spec": spec, "input_shape": shape,
            "x": js(x.reshape(n, -1)), "labels": labels.tolist(),
            "logits": js(logits), "loss": loss.item(),
            "grads": {k: js(g) for k, g in zip(names, grads)},
            "v": {k: js(v) for k, v in zip(names, vs)},
            "hvp": {k: js(h) for k, h in zip(names, hvps)},
            "buffers": {k: js(b.to(torch.float64)) for k, b in buffers.items()},
            "eval_logits": js(eval_logits),
        }
        with open("%s/cnn_ref_%s.json" % (outdir, name), "w") as f:
            json.dump(doc, f)


def evaluate(spec, shape, model_path, x_path, out_path):
    shape = json.loads(shape)
    model, _ = build(spec, shape)
    model.load_state_dict(read_safetensors(model_path), strict=True)
    model.eval()
    xj = json.load(open(x_path))
    x = torch.tensor(xj["data"]).reshape([xj["shape"][0]] + shape)
    with torch.no_grad():
        y = model(x)
    with open(out_path, "w") as f:
        json.dump(js(y), f)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "fixtures":
        fixtures(sys.argv[2])
    elif len(sys.argv) == 7 and sys.argv[1] == "eval":
        evaluate(*sys.argv[2:])
    else:
        raise SystemExit(__doc__)
