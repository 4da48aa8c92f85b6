#!/usr/bin/python3
"""Reference empirical NTK from PyTorch for gradflow's package ntk.

Writes empirical_ntk.json: a torch.nn.Sequential(Linear(4, 6), ReLU,
Linear(6, 5), Tanh, Linear(5, 3)) in float64 with PyTorch's default
initialization (gradflow's standard parameterization with the "torch"
initializer), its state dict, inputs x1 [5, 4] and x2 [3, 4], and

  ntk_full[i][j][a][b] = J_a(x1_i) . J_b(x2_j)            (x1 against x2)
  ntk_traced[i][j]     = (1/3) sum_a J_a(x1_i) . J_a(x1_j) (x1 against x1)

where J_a(x) is the gradient of output a at x with respect to all
parameters, computed with torch.autograd.grad one example and output at a
time.

Run with Debian's torch (apt-get install python3-torch):
  /usr/bin/python3 testdata/ntk/make_fixture.py
"""
import json
import os

import torch

torch.manual_seed(20260601)
torch.set_default_dtype(torch.float64)

model = torch.nn.Sequential(
    torch.nn.Linear(4, 6), torch.nn.ReLU(),
    torch.nn.Linear(6, 5), torch.nn.Tanh(),
    torch.nn.Linear(5, 3))
x1 = torch.randn(5, 4)
x2 = torch.randn(3, 4)
params = list(model.parameters())


def jacobian(x):
    """Returns [n, k, P]: one backward pass per example and output."""
    rows = []
    for i in range(x.shape[0]):
        out = model(x[i:i + 1])[0]
        per_out = []
        for a in range(out.shape[0]):
            grads = torch.autograd.grad(out[a], params, retain_graph=True)
            per_out.append(torch.cat([g.reshape(-1) for g in grads]))
        rows.append(torch.stack(per_out))
    return torch.stack(rows)


j1, j2 = jacobian(x1), jacobian(x2)
full = torch.einsum('iap,jbp->ijab', j1, j2)
traced = torch.einsum('iap,jap->ij', j1, j1) / j1.shape[1]

fixture = {
    'torch_version': torch.__version__,
    'state_dict': {k: v.tolist() for k, v in model.state_dict().items()},
    'x1': x1.tolist(),
    'x2': x2.tolist(),
    'ntk_full': full.tolist(),
    'ntk_traced': traced.tolist(),
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'empirical_ntk.json')
with open(path, 'w') as f:
    json.dump(fixture, f, indent=1)
print('wrote', path)
