"""PyTorch side of autograd's BenchmarkConv* (autograd/conv_bench_test.go):
per-layer and LeNet conv-stack forward+backward at batch 64, and the whole
LeNet-5 training step (Step, as bench/cnn_torch.py's lenet5), CPU time per
step (time.process_time), one thread. Run as
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=1 python3 conv_bench_torch.py [names]
"""
import sys, time, torch
import torch.nn.functional as F
torch.set_num_threads(1)
torch.manual_seed(0)

def layer(xs, ws, pad, xgrad, pool=False):
    x = torch.randn(*xs, requires_grad=xgrad)
    if pool:
        def step():
            y = F.max_pool2d(x, 2); y.sum().backward()
        return step
    w = torch.randn(*ws, requires_grad=True); b = torch.randn(ws[0], requires_grad=True)
    def step():
        y = F.relu(F.conv2d(x, w, b, padding=pad)); y.sum().backward()
    return step

def stack(lin=False):
    x = torch.randn(64, 1, 28, 28)
    w1 = torch.randn(6, 1, 5, 5, requires_grad=True); b1 = torch.randn(6, requires_grad=True)
    w2 = torch.randn(16, 6, 5, 5, requires_grad=True); b2 = torch.randn(16, requires_grad=True)
    def step():
        h = F.max_pool2d(F.relu(F.conv2d(x, w1, b1, padding=2)), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, w2, b2)), 2)
        h.sum().backward()
    return step

def full_step():
    from torch import nn
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    x = torch.randn(64, 1, 28, 28)
    y = torch.arange(64) % 10
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    return step

cases = {
    "Conv1": layer((64, 1, 28, 28), (6, 1, 5, 5), 2, False),
    "Pool1": layer((64, 6, 28, 28), None, 0, True, pool=True),
    "Conv2": layer((64, 6, 14, 14), (16, 6, 5, 5), 0, True),
    "Pool2": layer((64, 16, 10, 10), None, 0, True, pool=True),
    "ResNet3x3": layer((64, 16, 28, 28), (16, 16, 3, 3), 1, True),
    "Stack": stack(),
    "Step": full_step(),
}
names = sys.argv[1:] or list(cases)
mint = 1.0
for n in names:
    f = cases[n]
    t0 = time.process_time()
    while time.process_time() - t0 < 0.3: f()
    best = []
    for r in range(3):
        k = 0; t0 = time.process_time()
        while True:
            f(); k += 1
            dt = time.process_time() - t0
            if dt >= mint / 3: break
        best.append(dt / k * 1e9)
    print(f"torch {n} cpu-ns/op min {min(best):.0f} med {sorted(best)[1]:.0f}", flush=True)
