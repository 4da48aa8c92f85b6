"""OpenBLAS side of `go run ./bench gemm`: square products C = A B through
torch.mm (PyTorch calls OpenBLAS's sgemm/dgemm for them), best GFLOPS of
three repetitions, each running the product for at least --min-time.

Prints one JSON object per line:
{"suite": "gemm", "impl": "openblas", "dtype": ..., "threads": ...,
 "m": n, "n": n, "k": n, "label": "square n", "gflops": ...}

The caller sets OPENBLAS_NUM_THREADS (and OPENBLAS_CORETYPE when it chose
a core type) before starting this process, since OpenBLAS reads them once
at load time.
"""

import argparse
import json
import time

import torch


def measure(n, dtype, min_time):
    g = torch.Generator().manual_seed(1)
    a = torch.randn(n, n, dtype=dtype, generator=g)
    b = torch.randn(n, n, dtype=dtype, generator=g)
    c = torch.empty(n, n, dtype=dtype)
    torch.mm(a, b, out=c)
    best = 0.0
    for _ in range(3):
        reps = 0
        t0 = time.perf_counter()
        while True:
            torch.mm(a, b, out=c)
            reps += 1
            dt = time.perf_counter() - t0
            if dt >= min_time:
                break
        best = max(best, 2 * n**3 * reps / dt / 1e9)
    return best


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", required=True)
    p.add_argument("--dtypes", default="float32,float64")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--min-time", type=float, default=0.2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    for n in [int(s) for s in args.sizes.split(",")]:
        for name in args.dtypes.split(","):
            dtype = {"float32": torch.float32, "float64": torch.float64}[name]
            g = measure(n, dtype, args.min_time)
            print(json.dumps({"suite": "gemm", "impl": "openblas", "dtype": name, "threads": args.threads,
                              "m": n, "n": n, "k": n, "label": "square %d" % n, "gflops": round(g, 2)}),
                  flush=True)


if __name__ == "__main__":
    main()
