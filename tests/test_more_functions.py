"""The functions of ``gradlens_core/_more_functions.py``, compared with PyTorch: values, dtypes,
``grad_fn`` names, what each node saved, grads, random draws and errors' texts."""

from __future__ import annotations

import numpy as np
import pytest

import gradlens_core as gc

torch = pytest.importorskip("torch")

_rng = np.random.default_rng(3)
_X = (_rng.random((2, 3)) * 0.8 + 0.1).astype(np.float32)
_Y = (_rng.random((2, 3)) * 0.8 + 0.1).astype(np.float32)
_V = _rng.random(3).astype(np.float32)


def _np(t):
    return t.detach().numpy() if t.__class__.__module__.startswith("torch") else np.asarray(t.detach().numpy())


def _same(a, b, exact=False):
    """gradlens_core's result ``a`` against torch's ``b`` (tensors, tuples of them, numbers)."""
    if isinstance(b, (tuple, list)):
        assert isinstance(a, (tuple, list)) and len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y, exact)
        return
    if not isinstance(b, torch.Tensor):
        assert a == b
        return
    assert str(a.dtype) == str(b.dtype)
    assert tuple(a.shape) == tuple(b.shape)
    assert a.requires_grad == b.requires_grad
    assert type(a.grad_fn).__name__ == type(b.grad_fn).__name__
    if exact:
        np.testing.assert_array_equal(_np(a), _np(b))
    else:
        np.testing.assert_allclose(_np(a), _np(b), rtol=2e-6, atol=1e-6, equal_nan=True)


def _run(build, exact=False, backward=True):
    """``build(t, leaves)`` under both, with leaves made from _X, _Y, _V; compares the results,
    then (``backward``) the leaves' grads of the sum of the first float result."""
    outs = []
    for t in (gc, torch):
        leaves = [t.tensor(a, requires_grad=True) for a in (_X, _Y, _V)]
        res = build(t, leaves)
        first = res[0] if isinstance(res, (tuple, list)) else res
        grads = None
        if backward and first.requires_grad:
            first.sum().backward()
            grads = [leaf.grad for leaf in leaves]
        outs.append((res, grads))
    (a, ga), (b, gb) = outs
    _same(a, b, exact)
    if gb is not None:
        for x, y in zip(ga, gb):
            assert (x is None) == (y is None)
            if y is not None:
                np.testing.assert_allclose(_np(x), _np(y), rtol=2e-6, atol=1e-6)


# ----------------------------------------------------------------------------- elementwise

_UNARY = ["sinh", "cosh", "asin", "acos", "tan", "exp2", "frac", "logit", "nan_to_num"]


@pytest.mark.parametrize("name", _UNARY)
def test_unary_values_nodes_and_grads(name):
    _run(lambda t, L: getattr(t, name)(L[0]))
    _run(lambda t, L: getattr(L[0] * 2, name)())


@pytest.mark.parametrize("name", ["sinh", "cosh", "asin", "acos", "tan", "exp2"])
def test_unary_promotes_integers_to_the_default_float(name):
    _run(lambda t, L: getattr(t, name)(t.tensor([0, 1])), backward=False)


@pytest.mark.parametrize("name", _UNARY)
def test_unary_saved_values(name):
    a = gc.tensor(_X, requires_grad=True)
    b = torch.tensor(_X, requires_grad=True)
    na, nb = getattr(gc, name)(a).grad_fn, getattr(torch, name)(b).grad_fn
    names = sorted(k for k in dir(nb) if k.startswith("_saved_"))
    assert sorted(k for k in dir(na) if k.startswith("_saved_")) == names
    for k in names:
        _same(getattr(na, k), getattr(nb, k))  # (tan's result may differ in the last bit: SLEEF's)
    assert na._saved_self is a if "_saved_self" in names else True


@pytest.mark.parametrize("name", ["sinh_", "cosh_", "asin_", "acos_", "tan_", "exp2_", "frac_", "logit_"])
def test_in_place_forms(name):
    def build(t, L):
        y = L[0] * 1
        out = getattr(y, name)()
        assert out is y and y._version == 1
        return y

    _run(build)


def test_in_place_square_sign_reciprocal_lerp():
    _run(lambda t, L: (L[0] * 1).square_())
    _run(lambda t, L: (L[0] - 0.5).sign_(), exact=True)
    _run(lambda t, L: (L[0] * 1).reciprocal_())
    _run(lambda t, L: (L[0] * 1).lerp_(L[1], 0.3))
    _run(lambda t, L: (L[0] * 1).lerp_(L[1], L[1]))


def test_logit_eps_and_nan_to_num_arguments():
    _run(lambda t, L: t.logit(L[0] * 2 - 0.5, eps=0.2))
    data = [float("nan"), float("inf"), -float("inf"), 1.5]
    for kw in ({}, {"nan": 2.0, "posinf": 9.0, "neginf": -9.0}):
        _run(lambda t, L, kw=kw: t.nan_to_num(t.tensor(data, requires_grad=True), **kw) + L[2].sum(), exact=True)
    assert gc.logit(gc.tensor([0.5])).grad_fn is None


def test_float_power_and_logical_xor():
    _run(lambda t, L: t.float_power(L[0], 2))
    _run(lambda t, L: t.float_power(L[0], L[1]))
    _run(lambda t, L: t.float_power(t.tensor([2, 3]), 2), backward=False)
    a, b = [True, False, True], [1, 0, 0]
    _run(lambda t, L: t.logical_xor(t.tensor(a), t.tensor(b)), exact=True, backward=False)


# ----------------------------------------------------------------------------- dtypes, constructors


def test_can_cast_matches_torch():
    names = ["float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]
    for x in names:
        for y in names:
            assert gc.can_cast(getattr(gc, x), getattr(gc, y)) == torch.can_cast(getattr(torch, x), getattr(torch, y))


def test_set_default_dtype_changes_factories_and_float_promotion():
    try:
        for t in (gc, torch):
            t.set_default_dtype(t.float64)
        _run(lambda t, L: (t.tensor([1.5]), t.zeros(2), t.tensor([1, 2]).sin(), t.tensor([1]) * 1.5), backward=False)
        assert str(gc.get_default_dtype()) == str(torch.get_default_dtype())
        for make in (
            lambda t: t.tensor([1, 2]) / t.tensor([3, 4]),
            lambda t: t.tensor([1.5], dtype=t.float32),
            lambda t: t.zeros(0),
            lambda t: t.arange(0.5, 2),
        ):
            assert repr(make(gc)) == repr(make(torch))
        with pytest.raises(TypeError) as e:
            gc.set_default_dtype(gc.int64)
        with pytest.raises(TypeError) as f:
            torch.set_default_dtype(torch.int64)
        assert str(e.value) == str(f.value)
    finally:
        for t in (gc, torch):
            t.set_default_dtype(t.float32)


@pytest.mark.parametrize("name", ["FloatTensor", "DoubleTensor", "LongTensor", "IntTensor", "BoolTensor"])
def test_legacy_constructors(name):
    for args in (([1, 0, 2],), ([[1, 2], [3, 4]],), ()):
        a, b = getattr(gc, name)(*args), getattr(torch, name)(*args)
        _same(a, b, exact=True)
    a, b = getattr(gc, name)(2, 3), getattr(torch, name)(2, 3)
    assert tuple(a.shape) == tuple(b.shape) and str(a.dtype) == str(b.dtype)
    assert isinstance(getattr(gc, name)([1]), getattr(gc, name))
    assert not isinstance(gc.tensor([1], dtype=gc.float16), getattr(gc, name))
    other = gc.tensor([1], dtype=gc.float16), torch.tensor([1], dtype=torch.float16)
    assert _error(lambda: getattr(gc, name)(other[0])) == _error(lambda: getattr(torch, name)(other[1]))


# ----------------------------------------------------------------------------- normal


@pytest.mark.parametrize("n", [3, 16, 21, 40])
def test_normal_overloads_draw_what_torch_draws(n):
    mean = _rng.random(n).astype(np.float32)
    std = _rng.random(n).astype(np.float32) + 0.5
    calls = [
        lambda t: t.normal(2.0, 3.0, (n,)),
        lambda t: t.normal(-1.0, 0.5, size=(2, n)),
        lambda t: t.normal(t.tensor(mean, requires_grad=True), 0.5),
        lambda t: t.normal(t.tensor(mean, requires_grad=True)),
        lambda t: t.normal(1.5, t.tensor(std, requires_grad=True)),
        lambda t: t.normal(t.tensor(mean, requires_grad=True), t.tensor(std, requires_grad=True)),
        lambda t: t.normal(0.0, 1.0, (n,), dtype=t.float64),
    ]
    for call in calls:
        results = []
        for t in (gc, torch):
            t.manual_seed(7)
            results.append(call(t))
        _same(*results, exact=True)


def test_normal_grads_are_zero_and_sizes_saved():
    for t in (gc, torch):
        m = t.tensor(_V, requires_grad=True)
        y = t.normal(m, 1.0)
        assert tuple(y.grad_fn._saved_mean_sym_sizes) == (3,)
        y.sum().backward()
        assert m.grad.abs().sum().item() == 0
    with pytest.raises(RuntimeError, match="normal expects std >= 0.0"):
        gc.normal(0.0, -1.0, (2,))


# ----------------------------------------------------------------------------- shapes


def test_broadcasting_functions():
    _run(lambda t, L: t.broadcast_to(L[2], (2, 3)))
    _run(lambda t, L: t.broadcast_tensors(L[0], L[2]))
    _run(lambda t, L: L[2].broadcast_to((4, 3)))


def test_atleast():
    s = np.float32(2.5)
    for fn in ("atleast_1d", "atleast_2d", "atleast_3d"):
        _run(lambda t, L, fn=fn: getattr(t, fn)(L[2].sum()))
        _run(lambda t, L, fn=fn: getattr(t, fn)(L[2] * 1))
        _run(lambda t, L, fn=fn: getattr(t, fn)(L[0] * 1))
        _run(lambda t, L, fn=fn: getattr(t, fn)(L[2] * 1, t.tensor(s)), backward=False)
        _run(lambda t, L, fn=fn: getattr(t, fn)([L[2] * 1, L[0] * 1]), backward=False)


@pytest.mark.parametrize("fn", ["vstack", "hstack", "dstack", "column_stack"])
def test_stacks(fn):
    _run(lambda t, L: getattr(t, fn)([L[0], L[1]]))
    _run(lambda t, L: getattr(t, fn)([L[2], L[2] * 2]))


def test_swaps_and_splits():
    _run(lambda t, L: t.swapaxes(L[0], 0, 1))
    _run(lambda t, L: t.swapdims(L[0], 1, 0))
    for spec in (2, 3, [1, 2], [2, 1, 5], (0,)):
        _run(lambda t, L, spec=spec: t.tensor_split(L[0], spec, dim=1))
    _run(lambda t, L: t.tensor_split(t.arange(7.0, requires_grad=True), 3))
    _run(lambda t, L: t.tensor_split(L[2], t.tensor([1])))
    _run(lambda t, L: t.split_with_sizes(L[0], [2, 1], 1))
    _run(lambda t, L: L[2].split_with_sizes([1, 2]))


def test_rot90_kron_tensordot():
    for k, dims in ((1, (0, 1)), (2, (0, 1)), (-1, [1, 0]), (3, (0, 1)), (4, (0, 1))):
        _run(lambda t, L, k=k, dims=dims: t.rot90(L[0], k, dims))
    a = gc.rot90(gc.tensor(_X, requires_grad=True), -1, [0, 1])
    b = torch.rot90(torch.tensor(_X, requires_grad=True), -1, [0, 1])
    assert a.grad_fn._saved_k == b.grad_fn._saved_k and tuple(a.grad_fn._saved_dims) == tuple(b.grad_fn._saved_dims)
    assert a.stride() == b.stride()
    _run(lambda t, L: t.kron(L[0], L[2]))
    _run(lambda t, L: t.kron(L[2], L[0]))
    _run(lambda t, L: t.tensordot(L[0], L[1], dims=([1], [1])))
    _run(lambda t, L: t.tensordot(L[0], L[2], dims=1))
    _run(lambda t, L: t.tensordot(L[0], L[1], 2))
    _run(lambda t, L: t.tensordot(L[0].reshape(1, 2, 3), L[1].t().reshape(3, 2, 1), dims=([1, 2], [1, 0])))


# ----------------------------------------------------------------------------- reductions and scans


def test_count_nonzero():
    data = [[0, 1, 2], [0, 0, 3]]
    for kw in ({}, {"dim": 0}, {"dim": (0, 1)}, {"dim": -1}):
        _run(lambda t, L, kw=kw: t.count_nonzero(t.tensor(data), **kw), exact=True, backward=False)


@pytest.mark.parametrize("fn", ["std_mean", "var_mean"])
def test_std_mean_var_mean(fn):
    for kw in ({}, {"dim": 1}, {"dim": 0, "keepdim": True}, {"dim": 1, "unbiased": False}, {"correction": 0}):
        _run(lambda t, L, kw=kw: getattr(t, fn)(L[0], **kw))
        _run(lambda t, L, kw=kw: sum(getattr(t, fn)(L[0], **kw)[1:]))  # the mean's grad alone
        _run(lambda t, L, kw=kw: (lambda r: r[0] * 2 + r[1])(getattr(t, fn)(L[0], **kw)))
    a, b = (
        getattr(gc, fn)(gc.tensor(_X, requires_grad=True), 1),
        getattr(torch, fn)(torch.tensor(_X, requires_grad=True), 1),
    )
    assert a[0].grad_fn is a[1].grad_fn
    for k in sorted(x for x in dir(b[0].grad_fn) if x.startswith("_saved_")):
        _same(getattr(a[0].grad_fn, k), getattr(b[0].grad_fn, k))


def test_aminmax():
    for kw in ({}, {"dim": 0}, {"dim": 1, "keepdim": True}):
        _run(lambda t, L, kw=kw: tuple(t.aminmax(L[0], **kw)))
        _run(lambda t, L, kw=kw: (lambda r: r.min * 2 + r.max)(t.aminmax(L[0], **kw)))
    r = gc.aminmax(gc.tensor([[1, 3], [2, 2]]), dim=0)
    assert repr(r) == repr(torch.aminmax(torch.tensor([[1, 3], [2, 2]]), dim=0))


@pytest.mark.parametrize("fn", ["cummax", "cummin"])
def test_cummax_cummin(fn):
    for dim in (0, 1, -1):
        _run(lambda t, L, dim=dim: tuple(getattr(t, fn)(L[0], dim)), exact=True)
    ties = [1.0, 3.0, 3.0, float("nan"), 2.0, float("nan"), 0.0]
    _run(lambda t, L: tuple(getattr(t, fn)(t.tensor(ties), 0)), exact=True, backward=False)
    _run(lambda t, L: tuple(getattr(t, fn)(t.tensor([2, 1, 2, 0, 5]), 0)), exact=True, backward=False)
    a = getattr(gc, fn)(gc.tensor(_X, requires_grad=True), 1)
    b = getattr(torch, fn)(torch.tensor(_X, requires_grad=True), 1)
    assert repr(a) == repr(b)
    np.testing.assert_array_equal(_np(a.values.grad_fn._saved_indices), _np(b.values.grad_fn._saved_indices))


def test_diff():
    _run(lambda t, L: t.diff(L[0]))
    _run(lambda t, L: t.diff(L[0], n=2, dim=1))
    _run(lambda t, L: t.diff(L[0], dim=0, prepend=L[1], append=L[0]))
    _run(lambda t, L: t.diff(t.tensor([True, False, False])), exact=True, backward=False)
    _run(lambda t, L: L[2].diff())
    _run(lambda t, L: t.diff(L[2], n=0))
    _run(lambda t, L: t.diff(L[2], n=5))


# ----------------------------------------------------------------------------- matrix products


def test_baddbmm_addmv_addmm_is_nonzero():
    b1 = _rng.random((2, 2, 3)).astype(np.float32)
    b2 = _rng.random((2, 3, 2)).astype(np.float32)
    m = _rng.random((2, 3)).astype(np.float32)
    _run(lambda t, L: t.baddbmm(L[0][:, :2].reshape(1, 2, 2) * 1, t.tensor(b1), t.tensor(b2), beta=0.5, alpha=2))
    _run(lambda t, L: L[0][0, :2].baddbmm(t.tensor(b1, requires_grad=True), t.tensor(b2)))
    _run(lambda t, L: t.addmv(L[0][:, 0], t.tensor(m), L[2], alpha=3))
    _run(lambda t, L: t.addmv(L[0][0, :1], t.tensor(m, requires_grad=True), L[2], beta=0))
    _run(lambda t, L: (L[0] @ L[1].t()).addmm(L[0], L[1].t(), alpha=2))
    x = gc.baddbmm(gc.ones(2, 2, 2), gc.tensor(b1, requires_grad=True), gc.tensor(b2), alpha=2)
    y = torch.baddbmm(torch.ones(2, 2, 2), torch.tensor(b1, requires_grad=True), torch.tensor(b2), alpha=2)
    assert (x.grad_fn._saved_alpha, x.grad_fn._saved_beta) == (y.grad_fn._saved_alpha, y.grad_fn._saved_beta)
    for data in ([1.5], [0], 0.0, [[True]]):
        assert gc.is_nonzero(gc.tensor(data)) == torch.is_nonzero(torch.tensor(data))
    for data in ([1, 2], []):
        with pytest.raises(RuntimeError) as e:
            gc.is_nonzero(gc.tensor(data))
        with pytest.raises(RuntimeError) as f:
            torch.is_nonzero(torch.tensor(data))
        assert str(e.value) == str(f.value)


def _error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the class and first line are compared
        return type(e).__name__, str(e).splitlines()[0]
    return None


@pytest.mark.parametrize("name", ["sinh", "cosh", "asin", "acos", "tan", "exp2"])
def test_unary_parser_errors(name):
    assert _error(lambda: getattr(gc, name)("a")) == _error(lambda: getattr(torch, name)("a"))
    assert _error(lambda: getattr(gc.zeros(2), name)(1)) == _error(lambda: getattr(torch.zeros(2), name)(1))
    assert _error(lambda: getattr(gc.zeros(2), name + "_")(1)) == _error(lambda: getattr(torch.zeros(2), name + "_")(1))


def test_value_errors():
    cases = [
        lambda t: t.frac(t.tensor([1, 2])),
        lambda t: t.rot90(t.zeros(2)),
        lambda t: t.rot90(t.zeros(2, 2), 1, [0, 0]),
        lambda t: t.diff(t.tensor(1.0)),
        lambda t: t.tensor_split(t.zeros(3), 0),
        lambda t: t.baddbmm(t.zeros(2, 2, 2), t.zeros(2, 2), t.zeros(2, 2, 2)),
        lambda t: t.normal(t.tensor([1, 2]), 1.0),
        lambda t: t.normal(0.0, -1.0, (2,)),
        lambda t: t.float_power(t.zeros(2), 2, out=t.zeros(2)),
    ]
    for case in cases:
        got, want = _error(lambda: case(gc)), _error(lambda: case(torch))  # noqa: B023
        assert want is not None and got == want
