"""PyTorch side of `go run ./bench mlp`: one MLP training step per
iteration, the same step as gradflow's (Linear/ReLU stack, softmax
cross-entropy, SGD with momentum 0.9), on one fixed random batch.

Prints one JSON object per line:
{"suite": "mlp", "impl": "pytorch", "dtype": ..., "threads": ...,
 "dims": [...], "batch": ..., "samples_per_sec": ..., "reps": [...]}

The caller sets OPENBLAS_NUM_THREADS to the thread count (and clears
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE) before starting this process, since
OpenBLAS reads them once at load time.
"""

import argparse
import json
import statistics
import time

import torch


def model_for(dims):
    layers = []
    for i in range(len(dims) - 1):
        layers.append(torch.nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def measure(dims, batch, dtype, reps, min_time, lr, momentum):
    torch.manual_seed(1)
    model = model_for(dims).to(dtype)
    x = torch.randn(batch, dims[0], dtype=dtype)
    y = torch.randint(0, dims[-1], (batch,))
    loss_fn = torch.nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    # Warm up: allocator caches, momentum buffers, OpenBLAS thread start.
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


def blas_library():
    """Returns the BLAS shared library this process loaded (Debian's torch
    uses whatever libblas.so.3 points to: the reference BLAS unless an
    OpenBLAS package is installed, which is ~20x slower)."""
    torch.randn(64, 64) @ torch.randn(64, 64)
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower() and ".so" in line}
    except OSError:
        return "unknown"
    for lib in sorted(libs):
        if "openblas" in lib:
            return lib
    return ",".join(sorted(libs)) or "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dims", required=True, help="comma-separated widths, e.g. 784,512,512,10")
    ap.add_argument("--batch", type=int, required=True)
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
    dims = [int(d) for d in a.dims.split(",")]
    dtype = torch.float32 if a.dtype == "float32" else torch.float64
    rates = measure(dims, a.batch, dtype, a.reps, a.min_time, a.lr, a.momentum)
    print(json.dumps({
        "suite": "mlp", "impl": "pytorch", "dtype": a.dtype, "threads": a.threads,
        "dims": dims, "batch": a.batch, "samples_per_sec": round(statistics.median(rates), 1),
        "reps": [round(r, 1) for r in rates], "torch": torch.__version__, "blas": blas_library(),
        "flush_denormal": a.flush_denormal,
    }), flush=True)


if __name__ == "__main__":
    main()
