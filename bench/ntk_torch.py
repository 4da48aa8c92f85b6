"""functorch side of `go run ./bench ntk`: the empirical NTK of an MLP the
way PyTorch's "Neural Tangent Kernels" tutorial computes it, per-example
Jacobians with vmap(jacrev(f)) and their contraction with matmul (traced
over the outputs: (1/k) sum_a J_a(x_i) . J_a(x_j)), chunked over examples
so that the Jacobians of two chunks fit in memory.

Prints one JSON object:
{"suite": "ntk", "impl": "functorch", "dims": [...], "n": ..., "threads": ...,
 "seconds": ..., "gflops": ..., "peak_bytes": ..., "reps": [...], ...}

gflops counts the contraction products only (2 n^2 k P for the blocks
formed, P the parameter count), not the Jacobians; peak_bytes is the
process's peak resident set (VmHWM); cpu_seconds the process's user+system
CPU time (median over the repetitions), which on a loaded machine leaves out
the time other processes held the cores.

The caller sets OPENBLAS_NUM_THREADS to the thread count (and clears
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE) before starting this process.
"""

import argparse
import json
import resource
import statistics
import time

import torch

try:  # torch >= 2.0
    from torch.func import functional_call, jacrev, vmap

    def functional(model):
        params = {k: v.detach() for k, v in model.named_parameters()}

        def f(p, x):
            return functional_call(model, p, (x,))

        return f, params

    def param_list(params):
        return list(params.values())

    def jac_list(jac):
        return list(jac.values())
except ImportError:  # torch 1.13 (Debian): the functorch package
    from functorch import jacrev, make_functional, vmap

    def functional(model):
        fnet, params = make_functional(model)
        return fnet, tuple(p.detach() for p in params)

    def param_list(params):
        return list(params)

    def jac_list(jac):
        return list(jac)


def model_for(dims):
    layers = []
    for i in range(len(dims) - 1):
        layers.append(torch.nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def empirical_ntk(fnet, params, x, chunk, symmetric):
    """Traced empirical NTK of x with itself, [n, n]."""

    def f_single(p, xi):
        return fnet(p, xi.unsqueeze(0)).squeeze(0)

    jac_fn = vmap(jacrev(f_single), (None, 0))

    def jacobians(lo, hi):
        # One [c, k*P_p] matrix per parameter tensor p.
        return [j.flatten(2).flatten(1) for j in jac_list(jac_fn(params, x[lo:hi]))]

    n = x.shape[0]
    k = fnet(params, x[:1]).shape[1]
    out = torch.zeros(n, n, dtype=x.dtype)
    for i0 in range(0, n, chunk):
        i1 = min(i0 + chunk, n)
        j1s = jacobians(i0, i1)
        for j0 in range(i0 if symmetric else 0, n, chunk):
            j1 = min(j0 + chunk, n)
            j2s = j1s if j0 == i0 else jacobians(j0, j1)
            blk = out[i0:i1, j0:j1]
            for a, b in zip(j1s, j2s):
                blk.addmm_(a, b.T)
            del j2s
            if symmetric and j0 != i0:
                out[j0:j1, i0:i1] = blk.T
    return out / k


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dims", required=True, help="comma-separated widths, e.g. 784,1024,1024,10")
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float64")
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--chunk", type=int, default=16, help="examples per Jacobian chunk")
    ap.add_argument("--symmetric", action="store_true",
                    help="form only the blocks on and above the diagonal (the tutorial forms all)")
    ap.add_argument("--mnist", default="", help="a [n, d] float64 little-endian file of inputs (default random)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dims = [int(d) for d in a.dims.split(",")]
    dtype = torch.float32 if a.dtype == "float32" else torch.float64
    torch.manual_seed(1)
    model = model_for(dims).to(dtype)
    if a.mnist:
        import numpy as np

        x = torch.from_numpy(np.fromfile(a.mnist, dtype="<f8").reshape(-1, dims[0])[: a.n].copy()).to(dtype)
    else:
        x = torch.rand(a.n, dims[0], dtype=dtype)
    fnet, params = functional(model)
    nparams = sum(p.numel() for p in param_list(params))
    k = dims[-1]
    times, cpus = [], []
    with torch.no_grad():
        for _ in range(a.reps):
            t0, c0 = time.perf_counter(), time.process_time()
            ntk = empirical_ntk(fnet, params, x, a.chunk, a.symmetric)
            times.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
    assert torch.isfinite(ntk).all()
    nchunks = -(-a.n // a.chunk)
    if a.symmetric:
        pairs = 0
        for i in range(nchunks):
            ci = min(a.chunk, a.n - i * a.chunk)
            for j in range(i, nchunks):
                pairs += ci * min(a.chunk, a.n - j * a.chunk)
    else:
        pairs = a.n * a.n
    flops = 2 * pairs * k * nparams
    sec = statistics.median(times)
    print(json.dumps({
        "suite": "ntk", "impl": "functorch", "dims": dims, "n": a.n, "threads": a.threads,
        "seconds": round(sec, 4), "gflops": round(flops / sec / 1e9, 2),
        "peak_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "dtype": a.dtype, "reps": [round(t, 4) for t in times], "cpu_seconds": round(statistics.median(cpus), 4),
        "chunk": a.chunk, "symmetric": a.symmetric,
        "torch": torch.__version__, "trace": float(ntk.trace()),
    }), flush=True)


if __name__ == "__main__":
    main()
