"""Writes conv_ref.json: PyTorch 1.13 reference values for autograd's
Conv2D, MaxPool2D and AvgPool2D (TestConvTorchFixture).

Run from this directory with /usr/bin/python3 conv_ref.py. Inputs are drawn
here in float64 and stored, with the forward output and the gradients of
sum(y * u) for a stored random u."""
import json

import torch
import torch.nn.functional as F

torch.manual_seed(0)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def conv_case(x_shape, w_shape, stride, padding, dilation, groups, bias, alpha, act):
    x = torch.randn(*x_shape, dtype=torch.float64, requires_grad=True)
    w = torch.randn(*w_shape, dtype=torch.float64, requires_grad=True)
    b = torch.randn(w_shape[0], dtype=torch.float64, requires_grad=True) if bias else None
    # alpha scales the convolution, not the bias: conv(x, alpha w) + b.
    y = F.conv2d(x, w * alpha, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
    if act == "relu":
        y = F.relu(y)
    u = torch.randn(*y.shape, dtype=torch.float64)
    (y * u).sum().backward()
    out = dict(x_shape=list(x_shape), w_shape=list(w_shape), stride=list(stride), padding=list(padding),
               dilation=list(dilation), groups=groups, alpha=alpha, act=act,
               x=flat(x), w=flat(w), u=flat(u), y_shape=list(y.shape), y=flat(y),
               gx=flat(x.grad), gw=flat(w.grad))
    if bias:
        out["b"], out["gb"] = flat(b), flat(b.grad)
    return out


def pool_case(kind, x_shape, kernel, stride, padding, exclude_pad):
    x = torch.randn(*x_shape, dtype=torch.float64, requires_grad=True)
    if kind == "max":
        y = F.max_pool2d(x, kernel, stride or None, padding, ceil_mode=False)
    else:
        y = F.avg_pool2d(x, kernel, stride or None, padding, ceil_mode=False,
                         count_include_pad=not exclude_pad)
    u = torch.randn(*y.shape, dtype=torch.float64)
    (y * u).sum().backward()
    return dict(kind=kind, x_shape=list(x_shape), kernel=list(kernel), stride=list(stride) if stride else [0, 0],
                padding=list(padding), exclude_pad=exclude_pad, x=flat(x), u=flat(u),
                y_shape=list(y.shape), y=flat(y), gx=flat(x.grad))


convs = [
    conv_case((2, 1, 8, 8), (3, 1, 5, 5), (1, 1), (2, 2), (1, 1), 1, True, 1.0, "relu"),
    conv_case((2, 4, 7, 9), (6, 2, 3, 3), (2, 1), (1, 2), (1, 2), 2, True, 0.5, ""),
    conv_case((1, 3, 6, 6), (3, 1, 3, 3), (1, 1), (1, 1), (1, 1), 3, False, 1.0, ""),
    conv_case((3, 5, 4, 5), (7, 5, 1, 1), (1, 1), (0, 0), (1, 1), 1, True, 2.0, "relu"),
]
pools = [
    pool_case("max", (2, 3, 8, 8), (2, 2), None, (0, 0), False),
    pool_case("max", (1, 2, 7, 6), (3, 3), (2, 2), (1, 1), False),
    pool_case("avg", (2, 2, 7, 6), (3, 3), (2, 2), (1, 1), False),
    pool_case("avg", (2, 2, 7, 6), (3, 2), (2, 1), (1, 1), True),
    pool_case("avg", (1, 3, 6, 6), (2, 2), None, (0, 0), False),
]
with open("conv_ref.json", "w") as f:
    json.dump(dict(torch_version=torch.__version__, convs=convs, pools=pools), f, separators=(",", ":"))
