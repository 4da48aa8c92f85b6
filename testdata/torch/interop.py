#!/usr/bin/python3
"""safetensors interop between gradflow MLP files and torch.nn.Sequential.

The safetensors format is read and written here by hand (struct + json), so
the python safetensors package is not needed: a little-endian u64 header
length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__":
{...}}, then the raw little-endian data.

    interop.py load MODEL.safetensors INPUT.json OUTPUT.json
        Builds torch.nn.Sequential(Linear, act, ..., Linear) from the file's
        metadata, load_state_dict()s the tensors (strict), applies the forward
        multipliers recorded in the metadata (1 for the standard
        parameterization), runs the input {"shape", "data"} and writes the
        output in the same form.
    interop.py save DIR
        Writes DIR/torch_mlp.safetensors from a seeded torch MLP 4-6-5-3
        (tanh, float64) with gradflow's metadata, and DIR/torch_mlp_io.json
        with an input batch and torch's output for it.
    interop.py save-plain DIR
        Writes DIR/torch_plain_mlp.safetensors: the state dict of the seeded
        float32 module plain_model() exactly as
        safetensors.torch.save_file(model.state_dict(), path) stores it (no
        __metadata__), and DIR/torch_plain_mlp_io.json with an input batch,
        the module's float64 output for it (the same weights, .double()), its
        float32 output, and the dims and activations gradflow must be told.
    interop.py load-plain MODEL.safetensors INPUT.json OUTPUT.json
        What a PyTorch user does with a gradflow file: builds plain_model()
        from code (never reading the metadata, as
        safetensors.torch.load_file ignores it), load_state_dict()s the
        tensors (strict), runs the input and writes the output.
    interop.py checksum MODEL.safetensors OUTPUT.json
        Computes the SHA-256 of the file's tensor data (the bytes after the
        header) with hashlib and writes {"recorded": the metadata's
        "gradflow.sha256" or null, "computed": the hex digest}: the check a
        reader outside gradflow can make.
    interop.py seal IN.safetensors OUT.safetensors
        Copies IN to OUT with "gradflow.sha256" (computed with hashlib) added
        to its __metadata__, the tensor data unchanged.

Regenerate the committed fixtures with Debian's torch:
    /usr/bin/python3 testdata/torch/interop.py save testdata/torch
    /usr/bin/python3 testdata/torch/interop.py save-plain testdata/torch
"""
import hashlib
import json
import os
import struct
import sys

import torch

ACTS = {
    "identity": torch.nn.Identity, "relu": torch.nn.ReLU, "leaky_relu": torch.nn.LeakyReLU,
    "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid, "gelu": torch.nn.GELU, "silu": torch.nn.SiLU,
    "softplus": torch.nn.Softplus,
}
DTYPES = {"F32": (torch.float32, "f", 4), "F64": (torch.float64, "d", 8)}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    tensors = {}
    for name, e in header.items():
        dtype, fmt, size = DTYPES[e["dtype"]]
        b, end = e["data_offsets"]
        count = (end - b) // size
        vals = struct.unpack("<%d%s" % (count, fmt), data[b:end])
        tensors[name] = torch.tensor(vals, dtype=dtype).reshape(e["shape"])
    return tensors, meta


def write_safetensors(path, tensors, meta):
    """Writes tensors; meta None writes no __metadata__, as save_file(..., metadata=None)."""
    header, blobs, off = {}, [], 0
    if meta is not None:
        header["__metadata__"] = meta
    for name, t in tensors.items():
        t = t.detach().contiguous()
        dt = {torch.float32: "F32", torch.float64: "F64"}[t.dtype]
        fmt = DTYPES[dt][1]
        blob = struct.pack("<%d%s" % (t.numel(), fmt), *t.reshape(-1).tolist())
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(blob)]}
        blobs.append(blob)
        off += len(blob)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def build(meta):
    dims = json.loads(meta["dims"])
    acts = [meta["activation"]] * (len(dims) - 2)
    for i, a in enumerate(json.loads(meta.get("activations", "[]"))):
        if a:
            acts[i] = a
    bias = meta["bias"] == "true"
    layers = []
    for i in range(len(dims) - 1):
        layers.append(torch.nn.Linear(dims[i], dims[i + 1], bias=bias))
        if i < len(dims) - 2:
            layers.append(ACTS[acts[i]]())
    return torch.nn.Sequential(*layers)


def cmd_load(model_path, in_path, out_path):
    tensors, meta = read_safetensors(model_path)
    model = build(meta)
    dtype = next(iter(tensors.values())).dtype
    model = model.to(dtype)
    model.load_state_dict(tensors, strict=True)
    alphas = json.loads(meta.get("weight_multipliers", "null")) or [1.0] * (len(model) // 2 + 1)
    betas = json.loads(meta.get("bias_multipliers", "null")) or [1.0] * len(alphas)
    with torch.no_grad():
        for k, layer in enumerate(m for m in model if isinstance(m, torch.nn.Linear)):
            layer.weight.mul_(alphas[k])
            if layer.bias is not None:
                layer.bias.mul_(betas[k])
    with open(in_path) as f:
        x = json.load(f)
    xt = torch.tensor(x["data"], dtype=dtype).reshape(x["shape"])
    with torch.no_grad():
        y = model(xt)
    with open(out_path, "w") as f:
        json.dump({"shape": list(y.shape), "data": [float(v) for v in y.reshape(-1).tolist()]}, f)


def cmd_save(out_dir):
    torch.manual_seed(5)
    dims = [4, 6, 5, 3]
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3)
    ).double()
    meta = {"format": "gradflow.mlp/v1", "dims": json.dumps(dims, separators=(",", ":")), "activation": "tanh",
            "parameterization": "standard", "w_std": "1", "b_std": "0", "bias": "true"}
    write_safetensors(os.path.join(out_dir, "torch_mlp.safetensors"), model.state_dict(), meta)
    x = torch.randn(5, 4, dtype=torch.float64)
    with torch.no_grad():
        y = model(x)
    doc = {"torch_version": torch.__version__,
           "x": {"shape": list(x.shape), "data": x.reshape(-1).tolist()},
           "y": {"shape": list(y.shape), "data": y.reshape(-1).tolist()}}
    with open(os.path.join(out_dir, "torch_mlp_io.json"), "w") as f:
        json.dump(doc, f)
        f.write("\n")


# The module of the plain-state-dict fixture: widths 4-8-6-3 with a
# different activation after each hidden layer, so that a loader applying
# one activation everywhere, or the two in the wrong order, fails the test.
PLAIN_DIMS = [4, 8, 6, 3]
PLAIN_ACTS = ["relu", "gelu"]


def plain_model():
    return torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 6), torch.nn.GELU(), torch.nn.Linear(6, 3)
    )


def cmd_save_plain(out_dir):
    torch.manual_seed(7)
    model = plain_model()  # float32, torch's default init: what users save
    write_safetensors(os.path.join(out_dir, "torch_plain_mlp.safetensors"), model.state_dict(), None)
    x = torch.randn(5, PLAIN_DIMS[0], dtype=torch.float64)
    with torch.no_grad():
        y32 = model(x.float())
        y = model.double()(x)
    doc = {"torch_version": torch.__version__, "dims": PLAIN_DIMS, "activations": PLAIN_ACTS,
           "x": {"shape": list(x.shape), "data": x.reshape(-1).tolist()},
           "y": {"shape": list(y.shape), "data": y.reshape(-1).tolist()},
           "y32": {"shape": list(y32.shape), "data": [float(v) for v in y32.reshape(-1).tolist()]}}
    with open(os.path.join(out_dir, "torch_plain_mlp_io.json"), "w") as f:
        json.dump(doc, f)
        f.write("\n")


def cmd_load_plain(model_path, in_path, out_path):
    tensors, _ = read_safetensors(model_path)
    dtype = next(iter(tensors.values())).dtype
    model = plain_model().to(dtype)
    model.load_state_dict(tensors, strict=True)
    with open(in_path) as f:
        x = json.load(f)
    xt = torch.tensor(x["data"], dtype=dtype).reshape(x["shape"])
    with torch.no_grad():
        y = model(xt)
    with open(out_path, "w") as f:
        json.dump({"shape": list(y.shape), "data": [float(v) for v in y.reshape(-1).tolist()]}, f)


CHECKSUM_KEY = "gradflow.sha256"


def split_file(path):
    """Returns the header (a dict) and the tensor data of a safetensors file."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def cmd_checksum(model_path, out_path):
    header, data = split_file(model_path)
    doc = {"recorded": header.get("__metadata__", {}).get(CHECKSUM_KEY),
           "computed": hashlib.sha256(data).hexdigest()}
    with open(out_path, "w") as f:
        json.dump(doc, f)


def cmd_seal(in_path, out_path):
    header, data = split_file(in_path)
    header.setdefault("__metadata__", {})[CHECKSUM_KEY] = hashlib.sha256(data).hexdigest()
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(out_path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


if __name__ == "__main__":
    if sys.argv[1:2] == ["load"] and len(sys.argv) == 5:
        cmd_load(*sys.argv[2:])
    elif sys.argv[1:2] == ["save"] and len(sys.argv) == 3:
        cmd_save(sys.argv[2])
    elif sys.argv[1:2] == ["save-plain"] and len(sys.argv) == 3:
        cmd_save_plain(sys.argv[2])
    elif sys.argv[1:2] == ["load-plain"] and len(sys.argv) == 5:
        cmd_load_plain(*sys.argv[2:])
    elif sys.argv[1:2] == ["checksum"] and len(sys.argv) == 4:
        cmd_checksum(*sys.argv[2:])
    elif sys.argv[1:2] == ["seal"] and len(sys.argv) == 4:
        cmd_seal(*sys.argv[2:])
    else:
        sys.exit(__doc__)
