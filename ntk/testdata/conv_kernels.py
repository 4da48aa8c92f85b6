#!/usr/bin/python3
"""Reference NNGP and NTK kernels of infinitely wide convolutional networks.

An independent implementation of the published recursions (Novak et al. 2019,
"Bayesian deep convolutional networks with many channels are Gaussian
processes", for the CNN-GP; Arora et al. 2019, "On exact computation with an
infinitely wide neural net", for the CNTK) in neural-tangents' conventions
(NTK parameterization, fan_in = channels x filter area, the input kernel
averaged over channels, AvgPool with normalize_edges=False, Flatten as the
mean of same-pixel covariances, LayerNorm dividing by the variances).

It always carries the covariances of all pixel pairs of all image pairs,
K[i, j, h, w, h', w'], and computes convolutions and pooling as plain sums
over filter offsets of zero-padded tensors, so that it shares neither the
separable sums nor the same-pixel shortcut of the Go code (ntk/conv*.go).

Run with the system python, which has numpy:

    /usr/bin/python3 ntk/testdata/conv_kernels.py > ntk/testdata/conv_kernels.json

The Go test TestConvMatchesNumpy requires agreement to 1e-10.
"""

import json
import math
import sys

import numpy as np

LEAKY_SLOPE = 0.01  # nn.LeakySlope


def pad_amounts(n, f, s, padding):
    """Output size and (low, high) zero padding of an axis, as XLA does."""
    if padding == "SAME":
        out = -(-n // s)
        total = max((out - 1) * s + f - n, 0)
        return out, (total // 2, total - total // 2)
    return (n - f) // s + 1, (0, 0)


def conv(K, f, padding):
    """Sum over filter offsets d of K(p + d, p' + d) / |filter|."""
    N1, N2, H, W = K.shape[:4]
    oh, (lh, hh) = pad_amounts(H, f[0], 1, padding)
    ow, (lw, hw) = pad_amounts(W, f[1], 1, padding)
    Kp = np.pad(K, ((0, 0), (0, 0), (lh, hh), (lw, hw), (lh, hh), (lw, hw)))
    out = np.zeros((N1, N2, oh, ow, oh, ow))
    for dh in range(f[0]):
        for dw in range(f[1]):
            out += Kp[:, :, dh:dh + oh, dw:dw + ow, dh:dh + oh, dw:dw + ow]
    return out / (f[0] * f[1])


def avg_pool(K, f, s, padding):
    """Window means at both pixels independently (normalize_edges=False)."""
    N1, N2, H, W = K.shape[:4]
    oh, (lh, hh) = pad_amounts(H, f[0], s[0], padding)
    ow, (lw, hw) = pad_amounts(W, f[1], s[1], padding)
    Kp = np.pad(K, ((0, 0), (0, 0), (lh, hh), (lw, hw), (lh, hh), (lw, hw)))
    out = np.zeros((N1, N2, oh, ow, oh, ow))
    eh, ew = s[0] * (oh - 1) + 1, s[1] * (ow - 1) + 1
    for a in range(f[0]):
        for b in range(f[1]):
            for c in range(f[0]):
                for d in range(f[1]):
                    out += Kp[:, :, a:a + eh:s[0], b:b + ew:s[1], c:c + eh:s[0], d:d + ew:s[1]]
    return out / (f[0] * f[1]) ** 2


def relu_J(q1, q2, c):
    """E[relu(u) relu(v)] and P(u > 0, v > 0) (Cho and Saul 2009)."""
    r = np.sqrt(q1 * q2)
    t = np.arccos(np.clip(c / r, -1.0, 1.0))
    return r * (np.sin(t) + (math.pi - t) * np.cos(t)) / (2 * math.pi), (math.pi - t) / (2 * math.pi), t, r


def activation(name, q1, q2, c):
    """E[phi(u) phi(v)] and E[phi'(u) phi'(v)], (u, v) with variances q1, q2, covariance c."""
    if name in ("relu", "leaky_relu"):
        # phi(x) = b relu(x) - a relu(-x): the pairs (u, v) and (-u, -v)
        # have angle t, the pairs (u, -v) and (-u, v) angle pi - t.
        a, b = (0.0, 1.0) if name == "relu" else (LEAKY_SLOPE, 1.0)
        J, P, t, r = relu_J(q1, q2, c)
        Jm = r * (np.sin(t) - t * np.cos(t)) / (2 * math.pi)
        k = (a * a + b * b) * J - 2 * a * b * Jm
        kd = (a * a + b * b) * P + 2 * a * b * t / (2 * math.pi)
        return k, kd
    if name == "erf":
        den = (1 + 2 * q1) * (1 + 2 * q2)
        return 2 / math.pi * np.arcsin(2 * c / np.sqrt(den)), 4 / math.pi / np.sqrt(den - 4 * c * c)
    if name == "identity":
        return c.copy(), np.ones_like(c)
    raise ValueError(name)


def pixel_var(K):
    """q[i, h, w] = K[i, i, h, w, h, w] of a full state, or q[i] of a scalar one."""
    N = K.shape[0]
    if K.ndim == 2:
        return np.array([K[i, i] for i in range(N)])
    H, W = K.shape[2], K.shape[3]
    q = np.zeros((N, H, W))
    for i in range(N):
        for h in range(H):
            for w in range(W):
                q[i, h, w] = K[i, i, h, w, h, w]
    return q


def pair_vars(q, ndim):
    """Broadcast q to (q1, q2) over the state's axes."""
    if ndim == 2:
        return q[:, None], q[None, :]
    N, H, W = q.shape
    return q[:, None, :, :, None, None], q[None, :, None, None, :, :]


def run(layers, K, T, gauss):
    for l in layers:
        op = l["op"]
        if op in ("conv", "dense"):
            w2, b2 = l.get("w_std", 1.0) ** 2, l.get("b_std", 0.0) ** 2
            if K.ndim == 6:
                f = l.get("size", [1, 1])
                Kc, Tc = conv(K, f, l.get("padding", "VALID")), conv(T, f, l.get("padding", "VALID"))
            else:
                Kc, Tc = K, T
            K = w2 * Kc + b2
            T = K + w2 * Tc
            gauss = True
        elif op == "act":
            q1, q2 = pair_vars(pixel_var(K), K.ndim)
            K, kd = activation(l["act"], q1, q2, K)
            T = T * kd
            gauss = False
        elif op == "avgpool":
            K = avg_pool(K, l["size"], l.get("stride", [1, 1]), l.get("padding", "VALID"))
            T = avg_pool(T, l["size"], l.get("stride", [1, 1]), l.get("padding", "VALID"))
        elif op == "gap":
            K, T = K.mean(axis=(2, 3, 4, 5)), T.mean(axis=(2, 3, 4, 5))
        elif op == "flatten":
            K = np.einsum("ijhwhw->ij", K) / (K.shape[2] * K.shape[3])
            T = np.einsum("ijhwhw->ij", T) / (T.shape[2] * T.shape[3])
            gauss = False
        elif op == "layernorm":
            assert gauss
            eps = l.get("eps", 1e-12)
            q = pixel_var(K)
            if l.get("spatial") and K.ndim == 6:
                q = q.mean(axis=(1, 2))
                q1, q2 = q[:, None, None, None, None, None], q[None, :, None, None, None, None]
            else:
                q1, q2 = pair_vars(q, K.ndim)
            norm = np.sqrt((q1 + eps) * (q2 + eps))
            K, T = K / norm, T / norm
        elif op == "residual":
            K1, T1, _ = run(l["branch"], K, T, gauss)
            K2, T2, _ = run(l["shortcut"], K, T, gauss)
            K, T, gauss = K1 + K2, T1 + T2, True
        else:
            raise ValueError(op)
    return K, T, gauss


def kernels(layers, x, C, H, W):
    """NNGP and NTK of all pairs of the images x [N, C*H*W] (NCHW rows)."""
    xs = x.reshape(len(x), C, H, W)
    K = np.einsum("ichw,jcHW->ijhwHW", xs, xs) / C
    T = np.zeros_like(K)
    K, T, _ = run(layers, K, T, False)
    return K, T


def conv_l(f, padding, w, b):
    return {"op": "conv", "size": [f, f] if isinstance(f, int) else f, "padding": padding, "w_std": w, "b_std": b}


def act(a):
    return {"op": "act", "act": a}


CASES = [
    # name, (C, H, W), layers
    ("flatten_relu_same_bias", (2, 5, 5), [
        conv_l(3, "SAME", 1.5, 0.2), act("relu"), conv_l(3, "SAME", 1.2, 0.1), act("relu"),
        {"op": "flatten"}, {"op": "dense", "w_std": 1.3, "b_std": 0.05}]),
    ("flatten_erf_valid_nobias", (3, 5, 5), [
        conv_l(3, "VALID", 1.4, 0.0), act("erf"), conv_l(2, "VALID", 1.1, 0.0), act("erf"),
        {"op": "flatten"}, {"op": "dense", "w_std": 1.0, "b_std": 0.0}]),
    ("gap_relu_valid_nobias", (2, 5, 5), [
        conv_l(3, "VALID", 1.6, 0.0), act("relu"), conv_l(2, "SAME", 1.2, 0.0), act("relu"),
        {"op": "gap"}, {"op": "dense", "w_std": 1.0, "b_std": 0.0}]),
    ("gap_erf_same_bias", (3, 4, 4), [
        conv_l(3, "SAME", 1.3, 0.3), act("erf"), conv_l(2, "SAME", 0.9, 0.2), act("erf"),
        conv_l([1, 3], "SAME", 1.1, 0.1), act("erf"),
        {"op": "gap"}, {"op": "dense", "w_std": 1.2, "b_std": 0.1}]),
    ("pool_then_flatten", (2, 5, 5), [
        conv_l(3, "SAME", 1.5, 0.1), act("relu"),
        {"op": "avgpool", "size": [2, 2], "stride": [1, 1], "padding": "VALID"},
        conv_l(3, "SAME", 1.2, 0.1), act("leaky_relu"),
        {"op": "flatten"}, {"op": "dense", "w_std": 1.0, "b_std": 0.1}]),
    ("strided_same_pool_gap", (2, 5, 5), [
        conv_l(2, "SAME", 1.4, 0.0), act("relu"),
        {"op": "avgpool", "size": [3, 3], "stride": [2, 2], "padding": "SAME"},
        conv_l(2, "VALID", 1.3, 0.2), act("erf"),
        {"op": "gap"}, act("relu"), {"op": "dense", "w_std": 1.1, "b_std": 0.3}]),
    ("residual_identity_gap", (2, 4, 4), [
        conv_l(3, "SAME", 1.2, 0.1),
        {"op": "residual", "branch": [act("relu"), conv_l(3, "SAME", 1.4, 0.1), act("relu"), conv_l(3, "SAME", 1.0, 0.0)],
         "shortcut": []},
        act("relu"), {"op": "gap"}, {"op": "dense", "w_std": 1.0, "b_std": 0.0}]),
    ("residual_conv_shortcut_layernorm_flatten", (3, 5, 5), [
        conv_l(3, "SAME", 1.3, 0.2), {"op": "layernorm", "spatial": False}, act("erf"),
        {"op": "residual", "branch": [conv_l(3, "SAME", 1.5, 0.1), act("relu"), conv_l(3, "SAME", 1.1, 0.0)],
         "shortcut": [conv_l(1, "VALID", 0.7, 0.0)]},
        {"op": "layernorm", "spatial": True}, act("relu"),
        {"op": "flatten"}, {"op": "dense", "w_std": 1.0, "b_std": 0.0},
        {"op": "layernorm"}, act("erf"), {"op": "dense", "w_std": 1.4, "b_std": 0.1}]),
    ("dense_on_pixels_identity", (2, 4, 4), [
        {"op": "dense", "w_std": 1.3, "b_std": 0.2}, act("identity"), conv_l(2, "VALID", 1.0, 0.1),
        {"op": "layernorm", "spatial": True}, act("relu"),
        {"op": "flatten"}, {"op": "dense", "w_std": 1.0, "b_std": 0.0}]),
    ("residual_with_pool_gap", (2, 5, 5), [
        conv_l(2, "SAME", 1.3, 0.0),
        {"op": "residual", "branch": [act("relu"), conv_l(3, "SAME", 1.2, 0.1),
                                      {"op": "avgpool", "size": [2, 2], "stride": [1, 1], "padding": "SAME"}],
         "shortcut": [{"op": "avgpool", "size": [3, 3], "stride": [1, 1], "padding": "SAME"}]},
        act("relu"), {"op": "gap"}, {"op": "dense", "w_std": 1.0, "b_std": 0.1}]),
]


def main():
    rng = np.random.default_rng(20)
    out = []
    for name, (C, H, W), layers in CASES:
        n1, n2 = 3, 2
        d = C * H * W
        # Rows of different scales, so that variances differ by image.
        x = rng.standard_normal((n1 + n2, d)) * rng.uniform(0.5, 1.5, (n1 + n2, 1))
        K, T = kernels(layers, x, C, H, W)
        out.append({
            "name": name, "shape": [C, H, W], "layers": layers,
            "x1": x[:n1].ravel().tolist(), "x2": x[n1:].ravel().tolist(),
            "nngp": K[:n1, n1:].ravel().tolist(), "ntk": T[:n1, n1:].ravel().tolist(),
            "gram_nngp": K[:n1, :n1].ravel().tolist(), "gram_ntk": T[:n1, :n1].ravel().tolist(),
        })
    json.dump({"generator": "ntk/testdata/conv_kernels.py", "numpy": np.__version__, "cases": out}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
