"""The benchmark workloads, each written once against a torch-like module.

A workload is a function ``fn(torch_like, size) -> callable``: it builds inputs (outside
the timing) and returns the step to time. ``size`` scales it down for the smoke test.
"""

from __future__ import annotations

import numpy as np

__all__ = ["tiny_chain", "big_elementwise", "mlp_step", "deep_graph", "numpy_tiny_chain", "numpy_big_elementwise"]


def tiny_chain(torch, size=100):
    """100 x (x * 1.01, sin) on 3 elements, then sum().backward()."""

    def step():
        x = torch.tensor([0.1, 0.2, 0.3], requires_grad=True)
        y = x
        for _ in range(size):
            y = (y * 1.01).sin()
        y.sum().backward()

    return step


def numpy_tiny_chain(size=100):
    """The forward arithmetic of tiny_chain in raw numpy (the floor)."""
    x0 = np.array([0.1, 0.2, 0.3], dtype=np.float32)

    def step():
        y = x0
        for _ in range(size):
            y = np.sin(y * np.float32(1.01))
        y.sum()

    return step


def big_elementwise(torch, size=2**20):
    """((a * a).sigmoid() * a).tanh().sum().backward() on 2**20 float32 elements."""
    data = np.random.default_rng(0).standard_normal(size).astype(np.float32)

    def step():
        a = torch.tensor(data, requires_grad=True)
        ((a * a).sigmoid() * a).tanh().sum().backward()

    return step


def numpy_big_elementwise(size=2**20):
    a = np.random.default_rng(0).standard_normal(size).astype(np.float32)

    def step():
        s = 1 / (1 + np.exp(-(a * a)))
        np.tanh(s * a).sum()

    return step


def mlp_step(torch, batch=64, sizes=(784, 256, 10)):
    """Linear-ReLU-Linear, cross-entropy, backward, SGD step, zero_grad."""
    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(sizes[0], sizes[1]), nn.ReLU(), nn.Linear(sizes[1], sizes[2]))
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.standard_normal((batch, sizes[0])).astype(np.float32))
    y = torch.tensor(rng.integers(0, sizes[2], batch))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()

    return step


def deep_graph(torch, size=100_000):
    """One backward through a chain of ``size`` nodes."""

    def step():
        x = torch.tensor([1.0], requires_grad=True)
        y = x
        for _ in range(size):
            y = y * 1.0
        y.sum().backward()

    return step
