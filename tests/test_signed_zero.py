"""The sign of zero where +0.0 and -0.0 tie, against PyTorch on this machine.

PyTorch's CPU kernels for maximum/minimum return the second operand on a tie in their
vectorized body and the first in their scalar loop (``gradlens_core._layout.vectorized_lanes``
models which element goes where); relu and clamp with number bounds keep the input. A later
``reciprocal`` shows the difference as +inf against -inf. Torch runs on the same machine as
the engine, so these tests hold wherever both run (the split depends on PyTorch's CPU build).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradlens_core as g
from gradlens_core._layout import _intraop_threads

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64, np.float16]


def zeros(shape, dtype, rng, p=0.5):
    """±0 at random: ties everywhere, each sign at random positions."""
    return np.where(rng.random(shape) < p, -0.0, 0.0).astype(dtype)


def assert_same_bits(got, want):
    got, want = np.asarray(got._data), want.detach().numpy()
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(np.isnan(got), np.isnan(want))
    keep = ~np.isnan(want)
    np.testing.assert_array_equal(got[keep], want[keep])
    mismatched = np.flatnonzero(np.signbit(got[keep]) != np.signbit(want[keep]))
    assert mismatched.size == 0, f"sign of zero differs at {mismatched[:20]}"


def both(fn, *arrays, views=None):
    """fn over gradlens and torch tensors of the same values, each through ``views`` (same strides)."""
    views = views or [lambda t: t] * len(arrays)
    ours = fn(g, *(v(g.tensor(a)) for v, a in zip(views, arrays)))
    theirs = fn(torch, *(v(torch.tensor(a)) for v, a in zip(views, arrays)))
    return ours, theirs


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("n", [1, 7, 8, 15, 16, 17, 31, 32, 33, 40, 47, 48, 64, 65, 70])
@pytest.mark.parametrize("op", ["maximum", "minimum"])
def test_contiguous_ties_split_by_vector_steps(op, n, dtype):
    # the fuzzer's case: torch.maximum(zeros(n), -zeros(n)), each operand in either place
    plus, minus = np.zeros(n, dtype), -np.zeros(n, dtype)
    for a, b in ((plus, minus), (minus, plus)):
        assert_same_bits(*both(lambda lib, x, y: getattr(lib, op)(x, y), a, b))


@pytest.mark.parametrize("op", ["maximum", "minimum"])
@pytest.mark.parametrize(
    "case",
    [
        "transposed",
        "sliced",
        "zero_d_second",
        "zero_d_first",
        "size_one_row",
        "expanded",
        "mixed_dtype",
        "mixed_expanded",
        "reciprocal",
    ],
)
def test_layouts(op, case):
    rng = np.random.default_rng(7)
    f = getattr

    def fn(lib, x, y):
        return f(lib, op)(x, y)

    if case == "transposed":  # TensorIterator iterates in memory order: rows of the transposed layout
        a, b = zeros((37, 21), np.float32, rng), zeros((37, 21), np.float32, rng)
        ours, theirs = both(fn, a, b, views=[lambda t: t.T, lambda t: t.T])
    elif case == "sliced":  # a strided inner dim: the scalar loop only
        a, b = zeros((5, 80), np.float32, rng), zeros((5, 40), np.float32, rng)
        ours, theirs = both(fn, a, b, views=[lambda t: t[:, ::2], lambda t: t])
    elif case == "zero_d_second":  # a stride-0 operand: still vectorized
        a, b = zeros((3, 45), np.float64, rng), np.array(-0.0)
        ours, theirs = both(fn, a, b)
    elif case == "zero_d_first":
        a, b = np.array(0.0, np.float32), zeros((50,), np.float32, rng)
        ours, theirs = both(fn, a, b)
    elif case == "size_one_row":  # broadcast along the inner dim
        a, b = zeros((6, 1), np.float32, rng), zeros((6, 33), np.float32, rng)
        ours, theirs = both(fn, a, b)
    elif case == "expanded":
        a, b = zeros((1, 40), np.float32, rng), zeros((9, 40), np.float32, rng)
        ours, theirs = both(fn, a, b, views=[lambda t: t.expand(9, 40), lambda t: t])
    elif case == "mixed_dtype":  # the float32 operand is cast to a float64 copy first
        a, b = zeros((4, 19), np.float32, rng), zeros((4, 19), np.float64, rng)
        ours, theirs = both(fn, a, b, views=[lambda t: t, lambda t: t])
    elif case == "mixed_expanded":  # the cast copy of an expanded tensor is dense (.to's layout)
        a, b = zeros((35, 1, 48), np.float64, rng), zeros((1, 23, 48), np.float16, rng)
        ours, theirs = both(fn, a, b, views=[lambda t: t.expand(35, 23, 48), lambda t: t.expand(35, 23, 48)])
    else:  # what the fuzzer saw: +inf against -inf
        a, b = np.zeros(17, np.float32), -np.zeros(17, np.float32)
        ours, theirs = both(lambda lib, x, y: f(lib, op)(x, y).reciprocal(), a, b)
    assert_same_bits(ours, theirs)


@pytest.mark.parametrize("n", [1, 40])
@pytest.mark.parametrize(
    "fn",
    [
        lambda lib, x: x.relu(),
        lambda lib, x: lib.nn.functional.relu(x),
        lambda lib, x: x.clone().relu_(),
        lambda lib, x: x.clamp(min=0.0),
        lambda lib, x: x.clamp(min=-0.0),
        lambda lib, x: x.clamp(max=-0.0),
        lambda lib, x: x.clamp(max=0.0),
        lambda lib, x: x.clamp(-0.0, 0.0),
        lambda lib, x: x.clamp(0.0, -0.0),
        lambda lib, x: x.clamp_min(0.0),
        lambda lib, x: x.clamp_max(-0.0),
        lambda lib, x: x.clone().clamp_(min=0.0),
        lambda lib, x: x.clone().clamp_(max=-0.0),
    ],
    ids=[
        "relu",
        "F.relu",
        "relu_",
        "clamp_min0",
        "clamp_min-0",
        "clamp_max-0",
        "clamp_max0",
        "clamp-0,0",
        "clamp0,-0",
        "clamp_min",
        "clamp_max",
        "clamp_",
        "clamp_max_",
    ],
)
def test_number_bounds_keep_the_input(fn, n):
    rng = np.random.default_rng(n)
    x = zeros((n,), np.float32, rng)
    x[: min(n, 2)] = [-0.0, 0.0][: min(n, 2)]
    if n > 4:
        x[4] = np.nan
    assert_same_bits(*both(fn, x))


@pytest.mark.parametrize("case", ["min", "max", "both", "inplace", "both_scalar_bound"])
def test_tensor_bounds_follow_maximum_minimum(case):
    rng = np.random.default_rng(3)
    x, lo, hi = (zeros((3, 41), np.float32, rng) for _ in range(3))
    if case == "min":
        ours, theirs = both(lambda lib, a, b: a.clamp(min=b), x, lo)
    elif case == "max":
        ours, theirs = both(lambda lib, a, b: a.clamp(max=b), x, hi)
    elif case == "both":
        ours, theirs = both(lambda lib, a, b, c: lib.clamp(a, b, c), x, lo, hi)
    elif case == "inplace":
        ours, theirs = both(lambda lib, a, b: a.clamp_(min=b), x, lo)
    else:
        ours, theirs = both(lambda lib, a, b, c: lib.clamp(a, b, c), x, np.array(-0.0, np.float32), hi)
    assert_same_bits(ours, theirs)


@pytest.mark.skipif(torch.get_num_threads() != _intraop_threads(), reason="torch runs another thread count")
@pytest.mark.parametrize("shape", [(40001,), (3031, 33), (33, 3031)])
def test_parallel_shares(shape):
    # above GRAIN_SIZE (32768) each thread's share starts its own vector steps
    rng = np.random.default_rng(11)
    a, b = zeros(shape, np.float32, rng), zeros(shape, np.float32, rng)
    assert_same_bits(*both(lambda lib, x, y: lib.maximum(x, y), a, b))


# ----------------------------------------------------------------------------- randomized


@st.composite
def operand_views(draw, shape):
    """An operand broadcastable to ``shape``: (base shape, view) — contiguous, transposed,
    sliced, broadcast (fewer or size-1 dims, or 0-d) or expanded."""
    nd = len(shape)
    kind = draw(st.sampled_from(["contiguous", "transposed", "sliced", "broadcast", "expanded", "zero_d"]))
    if nd == 0 or kind == "zero_d":
        return (), lambda t: t
    if kind == "transposed" and nd >= 2:
        perm = draw(st.permutations(range(nd)))
        inverse = tuple(int(i) for i in np.argsort(perm))
        return tuple(shape[p] for p in perm), lambda t: t.permute(*inverse)
    if kind == "sliced":
        d = draw(st.integers(0, nd - 1))
        step, start = draw(st.integers(1, 3)), draw(st.integers(0, 1))
        base = list(shape)
        base[d] = shape[d] * step + start
        index = tuple(slice(start, start + shape[d] * step, step) if i == d else slice(None) for i in range(nd))
        return tuple(base), lambda t: t[index]
    if kind in ("broadcast", "expanded"):
        ones = draw(st.lists(st.booleans(), min_size=nd, max_size=nd))
        small = tuple(1 if o else n for o, n in zip(ones, shape))
        if kind == "expanded":
            return small, lambda t: t.expand(*shape)
        return small[draw(st.integers(0, nd)) :], lambda t: t
    return tuple(shape), lambda t: t


@st.composite
def tie_cases(draw):
    sizes = st.one_of(st.sampled_from([1, 2, 7, 8, 9, 16, 17, 31, 32, 33, 64, 65]), st.integers(1, 70))
    shape = tuple(draw(st.lists(sizes, min_size=0, max_size=3)))
    while np.prod(shape) > 30000:  # below GRAIN_SIZE: one thread, whatever the machine
        shape = shape[1:]
    op = draw(st.sampled_from(["maximum", "minimum", "clamp_min_tensor", "clamp_both_tensors", "clamp_"]))
    dtype = draw(st.sampled_from(DTYPES))
    n_operands = 3 if op == "clamp_both_tensors" else 2
    operands = []
    for i in range(n_operands):
        other = draw(st.sampled_from(DTYPES)) if draw(st.integers(0, 4)) == 0 else dtype
        if op == "clamp_" and i == 0:  # the tensor written in place has the full shape
            operands.append((shape, dtype, lambda t: t))
        else:
            base, view = draw(operand_views(shape))
            operands.append((base, other, view))
    seed = draw(st.integers(0, 2**32 - 1))
    return op, operands, seed


OPS = {
    "maximum": lambda lib, a, b: lib.maximum(a, b),
    "minimum": lambda lib, a, b: lib.minimum(a, b),
    "clamp_min_tensor": lambda lib, a, b: lib.clamp(a, min=b),
    "clamp_both_tensors": lambda lib, a, b, c: lib.clamp(a, b, c),
    "clamp_": lambda lib, a, b: a.clamp_(min=b),
}


@settings(max_examples=250, deadline=None, derandomize=True, database=None)
@given(tie_cases())
def test_random_ties_match_torch(case):
    op, operands, seed = case
    rng = np.random.default_rng(seed)
    arrays = []
    for base, dtype, _ in operands:
        values = zeros(base, dtype, rng, p=0.5)
        values[rng.random(base) < 0.1] = np.nan
        values[rng.random(base) < 0.1] = 1.0
        arrays.append(values)
    views = [view for _, _, view in operands]
    try:
        theirs = OPS[op](torch, *(v(torch.tensor(a)) for v, a in zip(views, arrays)))
    except RuntimeError:
        return  # e.g. clamp_ refusing a promotion: the error itself is tested elsewhere
    ours = OPS[op](g, *(v(g.tensor(a)) for v, a in zip(views, arrays)))
    assert_same_bits(ours, theirs)


# ----------------------------------------------------------------------------- remainder


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("form", ["tensor_tensor", "tensor_number", "number_tensor"])
def test_remainder_zero_keeps_the_dividends_sign(form, dtype):
    # PyTorch's kernel is fmod, then ``+ b`` where the signs differ: a zero remainder keeps
    # the dividend's sign (numpy's mod gives the divisor's)
    a = np.array([-0.0, 0.0, -6.0, 6.0, 6.0, -6.0, 5.5, -5.5, np.inf, 1.0, -1.0, -0.0], dtype)
    b = np.array([3.0, -3.0, 3.0, -3.0, 3.0, -3.0, -2.0, 2.0, 2.0, np.inf, np.inf, 0.0], dtype)
    if form == "tensor_tensor":
        assert_same_bits(*both(lambda lib, x, y: x % y, a, b))
    elif form == "tensor_number":
        for number in (3.0, -3.0, 2, float("inf")):
            assert_same_bits(*both(lambda lib, x, n=number: lib.remainder(x, n), a))
    else:
        for number in (0.0, -0.0, 6.0, -6, 1.5):
            assert_same_bits(*both(lambda lib, y, n=number: n % y, b))


# ----------------------------------------------------------------------------- max/min reductions


def _reduction_ties(shape, dtype, rng, other):
    values = zeros(shape, dtype, rng)
    values[rng.random(shape) < 0.3] = other
    return values


REDUCTIONS = {
    "max": lambda lib, x: x.max(),
    "min": lambda lib, x: lib.min(x),
    "max_dim0": lambda lib, x: x.max(0),
    "min_dim_last": lambda lib, x: x.min(-1),
    "max_dim0_keepdim": lambda lib, x: lib.max(x, 0, keepdim=True),
    "amax": lambda lib, x: x.amax(),
    "amin": lambda lib, x: lib.amin(x),
    "amax_dim0": lambda lib, x: x.amax(0),
    "amin_dim_last": lambda lib, x: x.amin(-1),
    "amax_dims": lambda lib, x: x.amax((0, -1) if x.dim() > 1 else 0),
    "amin_dims_keepdim": lambda lib, x: x.amin((-1, 0) if x.dim() > 1 else 0, keepdim=True),
}


def _check_reduction(name, a, view):
    """Values (with the sign of zero), indices, and which elements the gradient reaches."""
    fn = REDUCTIONS[name]
    leaves = [lib.tensor(a, requires_grad=True) for lib in (g, torch)]
    ours, theirs = (fn(lib, view(x)) for lib, x in zip((g, torch), leaves))
    if isinstance(theirs, tuple):
        np.testing.assert_array_equal(ours[1].numpy(), theirs[1].numpy())
        ours, theirs = ours[0], theirs[0]
    assert_same_bits(ours, theirs)
    seed = np.arange(1, ours.numel() + 1, dtype=a.dtype).reshape(tuple(ours.shape))
    ours.backward(g.tensor(seed))
    theirs.backward(torch.tensor(seed))
    assert_same_bits(leaves[0].grad, leaves[1].grad)


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_max_min_reductions_keep_the_zero_torch_keeps(name, dtype):
    rng = np.random.default_rng(5)
    for shape in [(1,), (3,), (7,), (8,), (9,), (16,), (17,), (33,), (3, 5), (4, 40), (70, 3), (2, 3, 17)]:
        for other in (1.0, -1.0):
            a = _reduction_ties(shape, dtype, rng, other)
            _check_reduction(name, a, lambda t: t)
            if len(shape) > 1:
                _check_reduction(name, np.ascontiguousarray(a.T), lambda t: t.T)


@pytest.mark.skipif(torch.get_num_threads() != _intraop_threads(), reason="torch runs another thread count")
@pytest.mark.parametrize("name", ["max", "min", "amax", "amin"])
@pytest.mark.parametrize("n", [32768, 32769, 40001, 100003])
def test_max_min_over_thread_shares(name, n):
    rng = np.random.default_rng(n)
    for dtype in DTYPES:
        _check_reduction(name, _reduction_ties((n,), dtype, rng, -1.0 if name.endswith("max") else 1.0), lambda t: t)
