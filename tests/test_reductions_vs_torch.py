"""Float reductions bit for bit against PyTorch on this machine: the order of additions of
cascade_sum (sum, mean, the losses and grads that use them), cumsum's chain in double, var/std
(std_var_all_cpu, WelfordOps) and layer_norm's RowwiseMoments (see gradlens_core/_reduce.py).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradlens_core as g

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:.*degrees of freedom is <= 0")

DTYPES = [np.float32, np.float64, np.float16]


def bits(t):
    """The result's bytes, shape and dtype (nan compares equal to nan of the same bits)."""
    a = t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t.detach()._data)
    return a.shape, a.dtype, a.tobytes()


def both(fn, *arrays):
    return [fn(lib, *(lib.tensor(a) for a in arrays)) for lib in (g, torch)]


def assert_same(fn, *arrays):
    ours, theirs = both(fn, *arrays)
    assert bits(ours) == bits(theirs), (ours, theirs)


def test_reported_cases():
    # the tester's prints: torch's digits
    assert g.tensor([-0.2, 1.8, 9.1, -9.6, -2.6]).sum().item() == -1.5
    assert str(g.tensor([1e8, 1.0, -1e8]).cumsum(0)) == "tensor([1.0000e+08, 1.0000e+08, 1.0000e+00])"
    assert g.tensor([1.0, 0.7, 0.1]).var().item() == 0.20999999344348907
    assert g.tensor([60000.0, 60000.0], dtype=g.float16).mean().item() == 60000.0
    y = g.nn.functional.layer_norm(g.tensor([5.0, 2.0, -3.0]), (3,))
    assert y.tolist()[1] == 0.20203045010566711


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("n", [*range(1, 70, 3), 255, 256, 257, 4095, 4096, 4097, 2**16 - 1, 2**16 + 1])
def test_full_sum_and_mean(n, dtype):
    # lengths around the vector (8 floats), ilp (4 vectors) and cascade (16 rows) steps, and
    # past the grain size (one share per thread, two_pass_reduction)
    x = (np.random.default_rng(n).standard_normal(n) * 3).astype(dtype)
    for op in ("sum", "mean"):
        assert_same(lambda lib, a, op=op: getattr(a, op)(), x)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("shape", [(64, 10), (10, 64), (3, 5, 7), (33, 17), (7, 40), (2, 3, 4, 5), (300, 5), (5, 300)])
def test_sum_mean_over_dims(shape, dtype):
    # an inner dim (vectorized along it), an outer one (across it, 32 columns at a time), pairs
    x = (np.random.default_rng(1).standard_normal(shape) * 3).astype(dtype)
    for r in (1, 2):
        for dims in itertools.combinations(range(len(shape)), r):
            for op, keepdim in itertools.product(("sum", "mean"), (False, True)):
                assert_same(lambda lib, a, op=op, d=dims, k=keepdim: getattr(a, op)(d, keepdim=k), x)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_cumsum(dtype):
    x = (np.random.default_rng(2).standard_normal((5, 70)) * 100).astype(dtype)
    for d in (0, 1):
        assert_same(lambda lib, a, d=d: a.cumsum(d), x)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("shape", [(5,), (17,), (300,), (64, 10), (3, 5, 7)])
def test_var_std(shape, dtype):
    x = (np.random.default_rng(3).standard_normal(shape) * 3 + 1).astype(dtype)
    dim_sets = [None, *itertools.combinations(range(len(shape)), 1), *itertools.combinations(range(len(shape)), 2)]
    for dims, op, c in itertools.product(dim_sets, ("var", "std"), (0, 1)):
        assert_same(lambda lib, a, op=op, d=dims, c=c: getattr(a, op)(d, correction=c), x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: d.__name__)
@pytest.mark.parametrize("n", [3, 8, 9, 33, 127, 128, 129, 300, 2049])
def test_layer_norm(n, dtype):
    rng = np.random.default_rng(n)
    x = (rng.standard_normal((4, n)) * 3 + 1).astype(dtype)
    w, b = rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)
    assert_same(lambda lib, a: lib.nn.functional.layer_norm(a, (n,)), x)
    assert_same(lambda lib, a, w, b: lib.nn.functional.layer_norm(a, (n,), w, b), x, w, b)
    assert_same(lambda lib, a: lib.nn.functional.layer_norm(a, x.shape), x)  # over both dims


@pytest.mark.parametrize(
    "loss",
    [
        lambda lib, a, b: (a * b).mean(),
        lambda lib, a, b: (a * b).sum(1).pow(2).sum(),
        lambda lib, a, b: lib.nn.functional.mse_loss(a, b),
        lambda lib, a, b: (a.var(1) * b[:, 0]).sum(),
        lambda lib, a, b: (a + b[0]).std(0).sum(),
    ],
)
def test_losses_and_grads(loss):
    # a (64, 10) batch, as in a training loop printing loss.item(); the grads use the same sums
    rng = np.random.default_rng(4)
    x, y = (rng.standard_normal((64, 10)) * 3 + 1).astype(np.float32), rng.standard_normal((64, 10)).astype(np.float32)
    results = []
    for lib in (g, torch):
        a = lib.tensor(x, requires_grad=True)
        out = loss(lib, a, lib.tensor(y))
        out.backward()
        results.append((bits(out), bits(a.grad)))
    assert results[0] == results[1]


@settings(max_examples=60, deadline=None)
@given(
    shape=st.lists(st.integers(1, 40), min_size=1, max_size=3),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**32 - 1),
    data=st.data(),
)
def test_random_shapes(shape, dtype, seed, data):
    x = (np.random.default_rng(seed).standard_normal(shape) * 10).astype(dtype)
    dims = tuple(sorted(data.draw(st.sets(st.integers(0, len(shape) - 1), min_size=1))))
    for op in ("sum", "mean", "var"):
        assert_same(lambda lib, a, op=op: getattr(a, op)(dims), x)
    assert_same(lambda lib, a: a.cumsum(dims[0]), x)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("shape", [(64, 10), (3, 5, 7), (7, 40)])
def test_permuted_layouts(shape, dtype):
    # TensorIterator orders the reduced dims by the input's strides: x.T.sum(0) runs along memory
    x = (np.random.default_rng(5).standard_normal(shape) * 10).astype(dtype)
    for perm in itertools.permutations(range(len(shape))):
        for dims in [None, *itertools.combinations(range(len(shape)), 1), (0, len(shape) - 1)]:
            for op in ("sum", "mean", "var"):
                call = {} if dims is None else {"dim": dims}
                assert_same(lambda lib, a, op=op, kw=call, p=perm: getattr(a.permute(p), op)(**kw), x)
