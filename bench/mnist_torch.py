"""PyTorch side of `go run ./bench mnist`: time to reach a test accuracy on
MNIST with an MLP 784-512-512-10, SGD with momentum, batch 128, the same
settings as gradflow's run.

Reads the four IDX files (gzipped or raw) with gzip + numpy, standardizes
the pixels with the training set's mean and standard deviation over all
pixels, and prints one JSON line:
{"suite": "mnist", "impl": "pytorch", "seconds": ..., "epochs": ...,
 "accuracy": [...], "reached": ...}

The caller sets OPENBLAS_NUM_THREADS (and clears OPENBLAS_CORETYPE /
OPENBLAS_L2_SIZE) before starting this process.
"""

import argparse
import gzip
import json
import os
import time

import numpy as np
import torch

from mlp_torch import blas_library, model_for


def read_idx(path):
    if not os.path.exists(path) and os.path.exists(path + ".gz"):
        path += ".gz"
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(data_dir):
    sets = []
    for images, labels in (("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
                           ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")):
        x = read_idx(os.path.join(data_dir, images)).reshape(-1, 784).astype(np.float64) / 255.0
        y = read_idx(os.path.join(data_dir, labels)).astype(np.int64)
        sets.append((x, y))
    (xtr, ytr), (xte, yte) = sets
    mean = xtr.mean()
    std = np.sqrt(((xtr - mean) ** 2).mean())
    f = lambda x: torch.from_numpy(((x - mean) / std).astype(np.float32))
    return f(xtr), torch.from_numpy(ytr), f(xte), torch.from_numpy(yte)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--target", type=float, default=0.98)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--flush-denormal", action="store_true",
                    help="torch.set_flush_denormal(True): denormal floats are treated as zero")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.flush_denormal and not torch.set_flush_denormal(True):
        raise SystemExit("this CPU cannot flush denormals")
    torch.manual_seed(a.seed)
    xtr, ytr, xte, yte = load(a.data)
    dims = [784, 512, 512, 10]
    model = model_for(dims)
    loss_fn = torch.nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum)
    gen = torch.Generator().manual_seed(a.seed)
    n = xtr.shape[0]
    accs = []
    reached = False
    t0 = time.perf_counter()
    for epoch in range(a.epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, a.batch):
            idx = perm[i:i + a.batch]
            xb, yb = xtr[idx], ytr[idx]
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
        model.eval()
        correct = 0
        with torch.no_grad():
            for i in range(0, xte.shape[0], 1000):
                correct += (model(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item()
        acc = correct / xte.shape[0]
        accs.append(acc)
        if acc >= a.target:
            reached = True
            break
    secs = time.perf_counter() - t0
    print(json.dumps({
        "suite": "mnist", "impl": "pytorch", "dtype": "float32", "threads": a.threads, "dims": dims,
        "batch": a.batch, "target": a.target, "seconds": round(secs, 2), "epochs": len(accs),
        "accuracy": accs, "reached": reached, "torch": torch.__version__, "blas": blas_library(),
        "flush_denormal": a.flush_denormal,
    }), flush=True)


if __name__ == "__main__":
    main()
