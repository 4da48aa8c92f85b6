#!/usr/bin/env python3
"""Reference trajectories of torch.optim for gradflow's optim package.

Runs each optimizer configuration for STEPS steps on a fixed float64 problem
and writes fixture.json, which optim/torch_test.go replays. Run from this
directory with Debian's torch (apt-get install python3-torch):

    /usr/bin/python3 make_fixture.py

The problem: three parameter tensors x_p (shapes [3, 4], [5], [3]) with the
gradient of the quadratic-plus-quartic

    f(x) = sum_p 0.5 x_p.A_p x_p - b_p.x_p + (c/4) sum_i x_pi^4,
    grad_p = A_p x_p - b_p + c x_p^3,

A_p symmetric positive definite. The problem data (x0, A, b, c) are written
to the fixture, so the Go side needs no random generator of torch's. The
gradient of parameter 2 is None on steps t with t % 3 == 1 (t from 0), which
checks that a parameter without a gradient is skipped and its per-parameter
step count (Adam's bias correction, Adagrad's lr_decay) does not advance.
"""
import json
import math

import torch

STEPS = 20
C = 0.1
SHAPES = [[3, 4], [5], [3]]
SKIP_PARAM, SKIP_MOD, SKIP_REM = 2, 3, 1

torch.set_default_dtype(torch.float64)
gen = torch.Generator().manual_seed(20240601)


def problem():
    ps = []
    for i, shape in enumerate(SHAPES):
        n = math.prod(shape)
        m = torch.randn(n, n, generator=gen)
        a = m @ m.T / n + 0.5 * torch.eye(n)
        a = (a + a.T) / 2
        b = torch.randn(n, generator=gen)
        x0 = torch.randn(*shape, generator=gen)
        ps.append({"name": "p%d" % i, "shape": shape, "A": a, "b": b, "x0": x0})
    return ps


PROBLEM = problem()


def grads(params, t):
    for i, (p, d) in enumerate(zip(params, PROBLEM)):
        if i == SKIP_PARAM and t % SKIP_MOD == SKIP_REM:
            p.grad = None
            continue
        x = p.detach().reshape(-1)
        g = d["A"] @ x - d["b"] + C * x * x * x
        p.grad = g.reshape(p.shape).clone()


# Each run: optimizer name, parameter groups (indices and torch keyword
# arguments), and an optional max_norm for clip_grad_norm_ before each step.
RUNS = [
    ("sgd_plain", "sgd", [([0, 1, 2], dict(lr=0.05))], None),
    ("sgd_momentum", "sgd", [([0, 1, 2], dict(lr=0.05, momentum=0.9))], None),
    ("sgd_dampening_wd", "sgd", [([0, 1, 2], dict(lr=0.03, momentum=0.8, dampening=0.3, weight_decay=0.01))], None),
    ("sgd_nesterov_wd", "sgd", [([0, 1, 2], dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3))], None),
    ("sgd_maximize", "sgd", [([0, 1, 2], dict(lr=0.01, momentum=0.5, maximize=True))], None),
    ("sgd_groups", "sgd", [([0], dict(lr=0.05, momentum=0.9)), ([1, 2], dict(lr=0.02, weight_decay=0.1))], None),
    ("sgd_clip", "sgd", [([0, 1, 2], dict(lr=0.1, momentum=0.5))], 0.5),
    ("adam_default", "adam", [([0, 1, 2], dict(lr=0.05))], None),
    ("adam_amsgrad_wd", "adam", [([0, 1, 2], dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1, amsgrad=True))], None),
    ("adam_maximize", "adam", [([0, 1, 2], dict(lr=0.01, maximize=True))], None),
    ("adam_groups", "adam", [([0, 2], dict(lr=0.05)), ([1], dict(lr=0.01, betas=(0.5, 0.9), weight_decay=0.01))], None),
    ("adamw_default", "adamw", [([0, 1, 2], dict(lr=0.05))], None),
    ("adamw_amsgrad", "adamw", [([0, 1, 2], dict(lr=0.05, betas=(0.9, 0.95), weight_decay=0.1, amsgrad=True))], None),
    ("adagrad_default", "adagrad", [([0, 1, 2], dict(lr=0.1))], None),
    ("adagrad_all", "adagrad", [([0, 1, 2], dict(lr=0.2, lr_decay=0.05, weight_decay=0.05, initial_accumulator_value=0.1, eps=1e-8))], None),
    ("rmsprop_default", "rmsprop", [([0, 1, 2], dict(lr=0.01))], None),
    ("rmsprop_centered", "rmsprop", [([0, 1, 2], dict(lr=0.01, alpha=0.9, centered=True))], None),
    ("rmsprop_momentum", "rmsprop", [([0, 1, 2], dict(lr=0.005, momentum=0.9, weight_decay=0.01))], None),
    ("rmsprop_centered_momentum", "rmsprop", [([0, 1, 2], dict(lr=0.005, alpha=0.95, eps=1e-6, momentum=0.7, centered=True, weight_decay=0.02))], None),
]

CLASSES = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
           "adagrad": torch.optim.Adagrad, "rmsprop": torch.optim.RMSprop}


def run(kind, groups, clip):
    params = [torch.nn.Parameter(d["x0"].clone()) for d in PROBLEM]
    if len(groups) == 1:
        # Hyperparameters as constructor arguments: torch's Adagrad takes
        # initial_accumulator_value from the constructor only, ignoring a
        # value given in a parameter group.
        (idx, kw), = groups
        opt = CLASSES[kind]([params[i] for i in idx], **kw)
    else:
        opt = CLASSES[kind]([dict(params=[params[i] for i in idx], **kw) for idx, kw in groups])
    traj = []
    for t in range(STEPS):
        grads(params, t)
        if clip is not None:
            torch.nn.utils.clip_grad_norm_([p for p in params if p.grad is not None], clip)
        opt.step()
        traj.append([p.detach().reshape(-1).tolist() for p in params])
    return traj


def hyper_json(kw):
    out = dict(kw)
    if "betas" in out:
        out["betas"] = list(out["betas"])
    return out


# Schedules: torch's learning rates for 25 steps from base lr 0.1.
SCHED_STEPS = 25


def schedule(make):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    s = make(opt)
    lrs = []
    for _ in range(SCHED_STEPS):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        s.step()
    return lrs


SCHEDULES = [
    ("step", dict(every=4, gamma=0.5), lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=4, gamma=0.5)),
    ("exponential", dict(gamma=0.9), lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9)),
    ("cosine", dict(total=10, eta_min=0.001), lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.001)),
    ("linear_warmup", dict(start=0.25, steps=6), lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=6)),
]


def main():
    out = {
        "torch_version": torch.__version__,
        "steps": STEPS,
        "c": C,
        "skip": {"param": SKIP_PARAM, "mod": SKIP_MOD, "rem": SKIP_REM},
        "params": [{"name": d["name"], "shape": d["shape"], "x0": d["x0"].reshape(-1).tolist(),
                    "A": d["A"].tolist(), "b": d["b"].tolist()} for d in PROBLEM],
        "runs": [{"name": name, "optimizer": kind,
                  "groups": [{"params": idx, "hyper": hyper_json(kw)} for idx, kw in groups],
                  "clip_norm": clip, "trajectory": run(kind, groups, clip)}
                 for name, kind, groups, clip in RUNS],
        "schedules": [{"name": name, "args": args, "base_lr": 0.1, "lrs": schedule(make)}
                      for name, args, make in SCHEDULES],
    }
    with open("fixture.json", "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
