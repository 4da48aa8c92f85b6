#!/usr/bin/python3
"""Reference gradients and Hessian-vector products from PyTorch for gradflow.

Writes mlp_grads.json: for a 2-hidden-layer MLP (torch.nn.Sequential of
Linear, act, Linear, act, Linear) in float64, for each of the activations
tanh and relu and each of the losses cross-entropy (class indices, mean) and
MSE (mean), the state dict, the inputs and targets, the loss, the gradient of
every parameter, and the Hessian-vector product H v for a fixed random v
computed by double backward (torch.autograd.grad with create_graph=True).

Run with Debian's torch (apt-get install python3-torch):
    /usr/bin/python3 testdata/torch/make_fixtures.py
Floats are written with repr, which round-trips float64 exactly.
"""
import json
import os
import sys

import torch

torch.set_default_dtype(torch.float64)
DIMS = [5, 8, 6, 3]
BATCH = 7


def make_model(act):
    acts = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}
    layers = []
    for i in range(len(DIMS) - 1):
        layers.append(torch.nn.Linear(DIMS[i], DIMS[i + 1]))
        if i < len(DIMS) - 2:
            layers.append(acts[act]())
    return torch.nn.Sequential(*layers)


def tensor_json(t):
    return {"shape": list(t.shape), "data": [float(x) for x in t.detach().reshape(-1).tolist()]}


def case(act, loss_name, seed):
    torch.manual_seed(seed)
    model = make_model(act)
    x = torch.randn(BATCH, DIMS[0])
    if loss_name == "ce":
        labels = torch.randint(0, DIMS[-1], (BATCH,))
        target = {"labels": [int(v) for v in labels]}
        loss_fn = lambda out: torch.nn.functional.cross_entropy(out, labels)
    else:
        y = torch.randn(BATCH, DIMS[-1])
        target = {"targets": tensor_json(y)}
        loss_fn = lambda out: torch.nn.functional.mse_loss(out, y)
    names = [n for n, _ in model.named_parameters()]
    params = [p for _, p in model.named_parameters()]
    out = model(x)
    loss = loss_fn(out)
    grads = torch.autograd.grad(loss, params, create_graph=True)
    vs = [torch.randn_like(p) for p in params]
    dot = sum((g * v).sum() for g, v in zip(grads, vs))
    hvp = torch.autograd.grad(dot, params)
    return {
        "activation": act,
        "loss": loss_name,
        "dims": DIMS,
        "x": tensor_json(x),
        **target,
        "output": tensor_json(out),
        "loss_value": float(loss),
        "params": {n: tensor_json(p) for n, p in zip(names, params)},
        "grads": {n: tensor_json(g) for n, g in zip(names, grads)},
        "v": {n: tensor_json(v) for n, v in zip(names, vs)},
        "hvp": {n: tensor_json(h) for n, h in zip(names, hvp)},
    }


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    cases = []
    seed = 1
    for act in ("tanh", "relu"):
        for loss_name in ("ce", "mse"):
            cases.append(case(act, loss_name, seed))
            seed += 1
    doc = {"torch_version": torch.__version__, "cases": cases}
    path = os.path.join(here, "mlp_grads.json")
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", path, file=sys.stderr)


if __name__ == "__main__":
    main()
