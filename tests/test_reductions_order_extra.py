"""More sums in PyTorch's order (gradlens_core/_reduce.py), bit for bit against torch on this
machine: sums of sliced (strided) inputs and the thread splits TensorIterator makes of them,
nll_loss's own cascade, the softmax kernels' sums (their exp and log are numpy's, so the
forward is compared by rate, the backward kernels exactly), logsumexp, norm(p=2), and var/std
of a few long float64 rows (Welford over Python floats: exact and fast).
"""

from __future__ import annotations

import numpy as np
import pytest

import gradlens_core as g
from gradlens_core import _ops, _reduce

torch = pytest.importorskip("torch")


def bits(t):
    """The result's shape, dtype and bytes (nan compares equal to the same nan)."""
    a = t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t.detach()._data)
    return a.shape, a.dtype, a.tobytes()


SLICES = {
    "cols_step2": (slice(None), slice(None, None, 2)),
    "rows_step3": (slice(None, None, 3), slice(None)),
    "inner_window": (slice(1, None), slice(3, -2)),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(40, 64), (300, 70), (1000, 80)], ids=str)
@pytest.mark.parametrize("name", SLICES)
def test_sum_of_a_sliced_input(name, shape, dtype):
    # TensorIterator reads a slice where it is (its strides); past the grain size a full sum is
    # split over threads in blocks of rows, a sum over one dim in shares of columns
    x = (np.random.default_rng(len(shape) + shape[0]).standard_normal(shape) * 3).astype(dtype)
    ours, theirs = g.tensor(x)[SLICES[name]], torch.tensor(x)[SLICES[name]]
    for dims in (None, 0, 1, (0, 1)):
        a, b = (t.sum() if dims is None else t.sum(dims) for t in (ours, theirs))
        assert bits(a) == bits(b), (name, dims)


def test_sum_over_dims_split_in_column_shares():
    # 36,000 elements, 60 outputs: parallel_dim_reduction gives each thread 30 columns, and
    # each share groups its columns by four on its own
    x = (np.random.default_rng(5).standard_normal((2, 300, 120)) * 3).astype(np.float32)
    for sl in ((slice(None), slice(None), slice(None, None, 2)), (slice(None), slice(None), slice(1, None))):
        for dims in ((0, 1), (1,), None):
            a, b = (t[sl].sum() if dims is None else t[sl].sum(dims) for t in (g.tensor(x), torch.tensor(x)))
            assert bits(a) == bits(b), (sl, dims)


@pytest.mark.parametrize("dtype", ["float32", "float16", "float64"])
@pytest.mark.parametrize("n", [17, 64, 257, 1000])
def test_nll_loss_sums_in_the_frames_cascade(n, dtype):
    rng = np.random.default_rng(n)
    x = (rng.standard_normal((n, 7)) * 3).astype(dtype)
    target = rng.integers(0, 7, n)
    ignored = target.copy()
    ignored[rng.random(n) < 0.3] = -100
    w = rng.random(7).astype(dtype)
    for t in (target, ignored):
        for weight in (None, w):
            for reduction in ("mean", "sum"):
                a, b = (
                    lib.nn.functional.nll_loss(
                        lib.tensor(x),
                        lib.tensor(t),
                        weight=None if weight is None else lib.tensor(weight),
                        reduction=reduction,
                    )
                    for lib in (g, torch)
                )
                assert bits(a) == bits(b), (weight is None, reduction, t is ignored)


def test_nll_loss_2d_sums_over_batch_and_pixels():
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((4, 5, 9, 9)) * 3).astype(np.float32)
    t = rng.integers(0, 5, (4, 9, 9))
    for reduction in ("mean", "sum"):
        a, b = (lib.nn.functional.nll_loss(lib.tensor(x), lib.tensor(t), reduction=reduction) for lib in (g, torch))
        assert bits(a) == bits(b)


CASES = [((50, d), 1) for d in (3, 10, 16, 17, 40, 257)] + [((7, 9, 5), 1), ((33, 6), 0), ((3, 31, 20), 1)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,dim", CASES, ids=str)
def test_softmax_backward_kernels_sum_in_their_order(shape, dim, dtype):
    # no exp in softmax's backward: (g - sum(g * out)) * out, its sum by vec::reduce_all over
    # the last dim, by fused multiply-adds over another; log_softmax's with out = 0 (exp 1)
    rng = np.random.default_rng(sum(shape))
    grad = (rng.standard_normal(shape) * 3).astype(dtype)
    out = rng.random(shape).astype(dtype)
    ours = _ops._softmax_backward_values(grad, out, dim, log=False)
    theirs = torch._softmax_backward_data(torch.tensor(grad), torch.tensor(out), dim, torch.tensor(grad).dtype)
    assert ours.tobytes() == theirs.numpy().tobytes()
    zero = np.zeros(shape, dtype)
    ours = _ops._softmax_backward_values(grad, zero, dim, log=True)
    theirs = torch._log_softmax_backward_data(torch.tensor(grad), torch.tensor(zero), dim, torch.tensor(grad).dtype)
    assert ours.tobytes() == theirs.numpy().tobytes()


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_forward_float64_mostly_identical(fn):
    # the sum's order is PyTorch's; what still differs is numpy's exp/log against SLEEF's in the
    # last bit (numpy's order of additions: 41% and 89% of these values identical)
    rng = np.random.default_rng(0)
    same = total = 0
    for d in (3, 10, 17, 40, 100):
        x = rng.standard_normal((200, d)) * 3
        a, b = getattr(g, fn)(g.tensor(x), 1).numpy(), getattr(torch, fn)(torch.tensor(x), 1).numpy()
        same, total = same + (a == b).sum(), total + a.size
    assert same / total > 0.9


def test_logsumexp_float64_mostly_identical():
    # sum_out's cascade over the exps; numpy's exp and log against MKL's leave a few in the
    # last bit (numpy's order of additions: 89% of these identical)
    rng = np.random.default_rng(1)
    same = total = 0
    for shape, dim in (((100, 33), 1), ((100, 1000), 1), ((100, 40), 0), ((3000,), 0), ((5, 6, 70), (0, 2))):
        x = rng.standard_normal(shape) * 3
        a, b = g.logsumexp(g.tensor(x), dim).numpy(), torch.logsumexp(torch.tensor(x), dim).numpy()
        assert a.shape == b.shape and a.dtype == b.dtype
        same, total = same + (a == b).sum(), total + a.size
    assert same / total > 0.97


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_norm_two(dtype):
    # the last-dim kernel: squares in AVX2 lanes, lanes in order, the tail in pieces of four
    # (float) or fused multiply-adds
    rng = np.random.default_rng(2)
    for shape, dim in [((100, d), 1) for d in (1, 3, 5, 7, 8, 13, 33, 1001)] + [((40, 30), None), ((40, 30), 0)]:
        x = (rng.standard_normal(shape) * 3).astype(dtype)
        for a, b in ((g.tensor(x), torch.tensor(x)), (g.tensor(x).T, torch.tensor(x).T)):
            assert bits(a.norm(dim=dim)) == bits(b.norm(dim=dim)), (shape, dim)


def test_var_std_of_few_long_float64_rows_is_exact():
    # Welford's steps depend on each other's rounding (its speed is measured by hand, not here:
    # the suite has no timed assertions)
    x = np.random.default_rng(4).standard_normal((2, 300_000)) * 3 + 1
    ours = g.tensor(x).var(1), g.tensor(x).std(1)
    theirs = torch.tensor(x).var(1), torch.tensor(x).std(1)
    assert [bits(t) for t in ours] == [bits(t) for t in theirs]


@pytest.mark.parametrize("shape", [(2, 3, 5), (16, 1), (1, 16), (16, 2), (40, 4, 8), (3, 40, 1, 2)], ids=str)
def test_chain_helper_adds_in_order_whatever_the_layout(shape):
    # _seq reduces along axis 0 with np.add.reduce only where numpy's loop cannot be pairwise
    a = (np.random.default_rng(len(shape)).standard_normal(shape) * 1e4).astype(np.float32)
    for view in (a, np.swapaxes(a, 0, -1).copy().swapaxes(0, -1), a[::1, ...]):
        expected = np.add.accumulate(view, axis=0)[-1] + np.float32(0)
        assert _reduce._seq(view).tobytes() == expected.tobytes()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "shape,k", [((3, 8), 1), ((20, 10), 1), ((33, 17), 1), ((64, 100), 1), ((4, 5, 6), 2), ((5,), 1)]
)
def test_layer_norm_backward(shape, k, dtype):
    # LayerNormBackwardKernelImplInternal: its sums, its fused multiply-adds, and dgamma/dbeta
    # summed in one buffer per thread's share of the rows
    rng = np.random.default_rng(sum(shape))
    x = (rng.standard_normal(shape) * 2 + 1).astype(dtype)
    ns = shape[-k:]
    w, b = rng.standard_normal(ns).astype(dtype), rng.standard_normal(ns).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    for affine in (False, True):
        grads = []
        for lib in (g, torch):
            xt = lib.tensor(x, requires_grad=True)
            wt, bt = (lib.tensor(w, requires_grad=True), lib.tensor(b, requires_grad=True)) if affine else (None, None)
            lib.nn.functional.layer_norm(xt, ns, wt, bt).backward(lib.tensor(dy))
            grads.append([bits(t.grad) for t in ((xt, wt, bt) if affine else (xt,))])
        assert grads[0] == grads[1], affine
