#!/usr/bin/python3
"""PyTorch reference for the empirical NTK of gradflow's convolutional nets.

The nets are the torch.nn.Sequential models that nn/testdata/cnn_ref.py
builds from gradflow's spec strings (one module per token, gradflow's
state-dict keys); this script imports its builder and safetensors reader
and writer. The NTK is computed the plainest way: for every example and
output one torch.autograd.grad call gives a row of the Jacobian J, and
Theta[i, j, a, b] = J[i, a] . J[j, b] (the full kernel, n x n x k x k).
The models are in eval mode, so BatchNorm is a fixed affine map and the
examples are independent.

  cnn_ntk.py fixture DIR
      writes DIR/cnn_ntk.safetensors (a state dict: weights of torch's
      default init and random BatchNorm statistics, all rounded to float32
      so that the float32 and float64 models hold the same numbers, stored
      as F64) and DIR/cnn_ntk.json: spec, shape, inputs x [n, C*H*W] and
      the NTK computed in float64 ("ntk64") and in float32 ("ntk32").
  cnn_ntk.py ntk SPEC SHAPE MODEL X OUT
      loads MODEL (a safetensors state dict, e.g. a Net gradflow saved)
      into the model of SPEC for examples of SHAPE (JSON, e.g. [1,8,8]),
      reads the inputs X (JSON {"shape", "data"}) and writes to OUT the
      float64 NTK as {"shape", "data"}.

Run with /usr/bin/python3 (PyTorch 1.13, numpy not needed).
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "nn", "testdata"))
import cnn_ref  # noqa: E402  (sets float64 as torch's default dtype)

SPEC = ("conv4k3p1-bn-relu-res(conv4k3p1-relu-conv4k3p1)-relu-maxpool2-"
        "res(conv6k3p1-relu-conv6k3p1,conv6k1)-tanh-avgpool2-flatten-fc3")
SHAPE = [1, 8, 8]
N = 5


def ntk(model, x, shape):
    """Full empirical NTK [n, n, k, k] of model on the rows of x (examples of shape)."""
    params = [p for p in model.parameters()]
    rows = []
    for i in range(x.shape[0]):
        y = model(x[i:i + 1].reshape([1] + shape))
        k = y.shape[1]
        per_out = []
        for a in range(k):
            g = torch.autograd.grad(y[0, a], params, retain_graph=a + 1 < k)
            per_out.append(torch.cat([t.reshape(-1) for t in g]))
        rows.append(torch.stack(per_out))
    jac = torch.stack(rows)  # [n, k, P]
    return torch.einsum("iap,jbp->ijab", jac, jac)


def model_of(spec, shape, state, dtype):
    model, _ = cnn_ref.build(spec, shape)
    model.load_state_dict(state, strict=True)
    return model.to(dtype).eval()


def fixture(outdir):
    torch.manual_seed(20)
    model, _ = cnn_ref.build(SPEC, SHAPE)
    state = model.state_dict()
    for name, t in state.items():
        if name.endswith("running_mean"):
            t.copy_(0.2 * torch.randn(t.shape))
        elif name.endswith("running_var"):
            t.copy_(0.5 + torch.rand(t.shape))
        elif name.endswith(".weight") and t.ndim == 1:  # BatchNorm gamma
            t.copy_(1 + 0.3 * torch.randn(t.shape))
    state = {k: (v.float().double() if v.is_floating_point() else v) for k, v in state.items()}
    x = torch.rand(N, SHAPE[0] * SHAPE[1] * SHAPE[2]).float().double()
    out = {"spec": SPEC, "shape": SHAPE, "x": cnn_ref.js(x)}
    for dtype, key in ((torch.float64, "ntk64"), (torch.float32, "ntk32")):
        m = model_of(SPEC, SHAPE, state, dtype)
        out[key] = cnn_ref.js(ntk(m, x.to(dtype), SHAPE).double())
    cnn_ref.write_safetensors(os.path.join(outdir, "cnn_ntk.safetensors"), state)
    with open(os.path.join(outdir, "cnn_ntk.json"), "w") as f:
        json.dump(out, f)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "fixture":
        fixture(sys.argv[2])
    elif len(sys.argv) == 7 and sys.argv[1] == "ntk":
        spec, shape = sys.argv[2], json.loads(sys.argv[3])
        state = cnn_ref.read_safetensors(sys.argv[4])
        m = model_of(spec, shape, state, torch.float64)
        xs = json.load(open(sys.argv[5]))
        x = torch.tensor(xs["data"], dtype=torch.float64).reshape(xs["shape"])
        with open(sys.argv[6], "w") as f:
            json.dump(cnn_ref.js(ntk(m, x, shape)), f)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
