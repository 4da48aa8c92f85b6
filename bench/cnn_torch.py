"""PyTorch side of `go run ./bench cnn`: one CNN training step per
iteration, the same step as gradflow's (forward, softmax cross-entropy,
backward, SGD with momentum 0.9), on one fixed random batch of 1x28x28
images.

Models (the same as bench/cnn.go builds from its specs):
  lenet5: Conv(1->6, 5x5, pad 2) ReLU MaxPool(2) Conv(6->16, 5x5) ReLU
          MaxPool(2) Flatten Linear(400, 120) ReLU Linear(120, 84) ReLU
          Linear(84, 10)
  resnet: Conv(1->16, 3x3, pad 1) BN ReLU, two residual blocks
          [Conv(16, 3x3) BN ReLU Conv(16, 3x3) BN] + identity, ReLU,
          GlobalAvgPool, Linear(16, 10)

Prints one JSON object per line:
{"suite": "cnn", "impl": "pytorch", "model": ..., "dtype": ..., "threads": ...,
 "batch": ..., "samples_per_sec": ..., "reps": [...]}

The caller sets OMP_NUM_THREADS / OPENBLAS_NUM_THREADS before starting this
process (oneDNN, which Debian's torch uses for convolutions, and OpenBLAS
read them at load time).
"""

import argparse
import json
import statistics
import time

import torch
from torch import nn


class Residual(nn.Module):
    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, x):
        return self.body(x) + x


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def block(c):
    return Residual(nn.Sequential(
        nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU(),
        nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c)))


def resnet():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        block(16), nn.ReLU(), block(16), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))


MODELS = {"lenet5": lenet5, "resnet": resnet}


def measure(model_name, batch, dtype, reps, min_time, lr, momentum):
    torch.manual_seed(1)
    model = MODELS[model_name]().to(dtype)
    model.train()
    x = torch.randn(batch, 1, 28, 28, dtype=dtype)
    y = torch.randint(0, 10, (batch,))
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    # Warm up: allocator caches, oneDNN primitive caches, momentum buffers.
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < min_time / 2:
        step()
    rates = []
    for _ in range(reps):
        n = 0
        t0 = time.perf_counter()
        while True:
            step()
            n += 1
            dt = time.perf_counter() - t0
            if dt >= min_time:
                break
        rates.append(n * batch / dt)
    return rates


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=sorted(MODELS), required=True)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--min-time", type=float, default=0.5, help="seconds per repetition")
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--flush-denormal", action="store_true",
                    help="torch.set_flush_denormal(True): denormal floats are treated as zero")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.flush_denormal and not torch.set_flush_denormal(True):
        raise SystemExit("this CPU cannot flush denormals")
    dtype = torch.float32 if a.dtype == "float32" else torch.float64
    rates = measure(a.model, a.batch, dtype, a.reps, a.min_time, a.lr, a.momentum)
    print(json.dumps({
        "suite": "cnn", "impl": "pytorch", "model": a.model, "dtype": a.dtype, "threads": a.threads,
        "batch": a.batch, "samples_per_sec": round(statistics.median(rates), 1),
        "reps": [round(r, 1) for r in rates], "torch": torch.__version__,
        "mkldnn": torch.backends.mkldnn.is_available(),
        "flush_denormal": a.flush_denormal,
    }), flush=True)


if __name__ == "__main__":
    main()
