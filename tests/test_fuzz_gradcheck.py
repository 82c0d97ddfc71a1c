"""Every differentiable op against float64 central differences, over hypothesis-drawn shapes and values.

``helpers.gradcheck`` checks one function at one point; here hypothesis draws the point:
shapes (0-d to 3-d, broadcasting pairs and triples), dims (negative ones, tuples,
``keepdim``), indices and values. Values stay inside each op's domain and away from its
kinks (relu/abs at 0, clamp bounds, max/min ties), where central differences and the
analytical gradient legitimately disagree; ``test_vs_torch.py`` pins the conventions at
the kinks themselves. No torch needed. Derandomized, so CI sees the same examples.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import _grad_of, reproducible
from helpers import gradcheck as _gradcheck
from hypothesis import assume, given, reject
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

SETTINGS = reproducible(15)

SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)
SHAPES_1D_UP = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)
PAIRS = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=3)
TRIPLES = hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, min_side=1, max_side=3)


def gradcheck(fn, *arrays) -> None:
    """``helpers.gradcheck``; a point where every numerical gradient is zero (``x ** 2`` at 0,
    ``cos`` at 0) checks nothing, so hypothesis draws another."""
    try:
        _gradcheck(fn, *arrays)
    except AssertionError as exc:
        if "vacuous" in str(exc):
            reject()
        raise


# ----------------------------------------------------------------------------- values


def _floats(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def values(shape, domain: str = "any"):
    """Float64 arrays of ``shape`` inside an op's domain and away from its kinks."""
    if domain == "distinct":  # no ties anywhere (max/min, sorting): a grid of step 0.1, shuffled
        n = int(np.prod(shape)) if shape else 1
        return st.lists(st.integers(-25, 25), min_size=n, max_size=n, unique=True).map(
            lambda v: np.asarray(np.array(v, dtype=np.float64).reshape(shape) / 10.0)
        )
    elements = {
        "any": _floats(-2.0, 2.0),
        "pos": _floats(0.2, 3.0),
        "unit": _floats(-0.9, 0.9),
        "nonzero": st.one_of(_floats(-2.0, -0.25), _floats(0.25, 2.0)),
        # clamp bounds are -0.5 and 0.5
        "clamp": st.one_of(_floats(-2.0, -0.6), _floats(-0.4, 0.4), _floats(0.6, 2.0)),
    }[domain]
    return hnp.arrays(np.float64, shape, elements=elements).map(np.asarray)


def mask(shape, at_least_one: bool = False):
    return hnp.arrays(np.bool_, shape).map(np.asarray).filter(lambda m: not at_least_one or m.any())


def dim_of(data, ndim: int) -> int:
    n = max(ndim, 1)
    return data.draw(st.integers(-n, n - 1), label="dim")


def dims_of(data, ndim: int) -> tuple:
    """A non-empty tuple of distinct dims, some given as negative numbers."""
    picked = data.draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True), label="dims")
    return tuple(d - ndim if data.draw(st.booleans(), label="negative") else d for d in picked)


# ----------------------------------------------------------------------------- elementwise

UNARY = {
    "neg": (lambda t, x: -x, "any"),
    "exp": (lambda t, x: x.exp(), "any"),
    "log": (lambda t, x: x.log(), "pos"),
    "log1p": (lambda t, x: x.log1p(), "pos"),
    "sqrt": (lambda t, x: x.sqrt(), "pos"),
    "sin": (lambda t, x: x.sin(), "any"),
    "cos": (lambda t, x: t.cos(x), "any"),
    "tanh": (lambda t, x: x.tanh(), "any"),
    "sigmoid": (lambda t, x: t.sigmoid(x), "any"),
    "relu": (lambda t, x: x.relu(), "nonzero", lambda x: (x > 0).any()),
    "abs": (lambda t, x: x.abs(), "nonzero"),
    "square": (lambda t, x: x.square(), "any"),
    "reciprocal": (lambda t, x: x.reciprocal(), "nonzero"),
    "clamp_both": (lambda t, x: x.clamp(-0.5, 0.5), "clamp", lambda x: (abs(x) < 0.5).any()),
    "clamp_min": (lambda t, x: x.clamp(min=-0.5), "clamp", lambda x: (x > -0.5).any()),
    "clamp_max": (lambda t, x: t.clamp(x, max=0.5), "clamp", lambda x: (x < 0.5).any()),
    "clamp_min_method": (lambda t, x: x.clamp_min(0.5), "clamp", lambda x: (x > 0.5).any()),
    "clamp_max_method": (lambda t, x: x.clamp_max(-0.5), "clamp", lambda x: (x < -0.5).any()),
    "pow_2": (lambda t, x: x**2, "any"),
    "pow_3": (lambda t, x: x.pow(3), "any"),
    "pow_half": (lambda t, x: x**0.5, "pos"),
    "pow_neg": (lambda t, x: x**-1.5, "pos"),
    "rpow": (lambda t, x: 1.7**x, "any"),
    "pow_fn_scalar_base": (lambda t, x: t.pow(2.5, x), "any"),
    "add_scalar": (lambda t, x: x + 1.5, "any"),
    "rsub_scalar": (lambda t, x: 0.5 - x, "any"),
    "rsub_fn": (lambda t, x: t.rsub(x, 2.0), "any"),
    "mul_scalar": (lambda t, x: 3.0 * x, "any"),
    "div_scalar": (lambda t, x: x / 4.0, "any"),
    "rdiv_scalar": (lambda t, x: 2.0 / x, "nonzero"),
    "same_twice": (lambda t, x: x * x + x / (x * x + 1), "any"),
    "clone": (lambda t, x: x.clone() * 2, "any"),
    "contiguous_of_transpose": (lambda t, x: x.T.contiguous() * 2 if x.dim() == 2 else x.contiguous() * 2, "any"),
    "double": (lambda t, x: x.double().exp(), "any"),
    "masked_fill": (lambda t, x: x.masked_fill(x > 0.5, 2.0), "clamp", lambda x: (x <= 0.5).any()),
    "where_scalar_other": (lambda t, x: t.where(x > 0.5, x, 0.25), "clamp", lambda x: (x > 0.5).any()),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@SETTINGS
@given(data=st.data())
def test_unary(name, data):
    fn, domain, *active = UNARY[name]
    x = data.draw(SHAPES.flatmap(lambda s: values(s, domain)), label="x")
    assume(not active or active[0](x))  # some element where the gradient is not zero
    gradcheck(fn, x)


BINARY = {
    "add": (lambda t, x, y: x + y, "any", "any"),
    "add_alpha": (lambda t, x, y: t.add(x, y, alpha=2.5), "any", "any"),
    "sub": (lambda t, x, y: x - y, "any", "any"),
    "sub_alpha": (lambda t, x, y: t.sub(x, y, alpha=-1.5), "any", "any"),
    "mul": (lambda t, x, y: x * y, "any", "any"),
    "div": (lambda t, x, y: x / y, "any", "nonzero"),
    "div_fn": (lambda t, x, y: t.div(x, y), "any", "nonzero"),
    "pow": (lambda t, x, y: x**y, "pos", "any"),
    "pow_fn": (lambda t, x, y: t.pow(x, y), "pos", "any"),
    "mixed": (lambda t, x, y: (x * y).exp() - y / (x * x + 1), "any", "any"),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@SETTINGS
@given(data=st.data())
def test_binary_broadcasting(name, data):
    fn, dx, dy = BINARY[name]
    shapes = data.draw(PAIRS, label="shapes").input_shapes
    x = data.draw(values(shapes[0], dx), label="x")
    y = data.draw(values(shapes[1], dy), label="y")
    gradcheck(fn, x, y)


@pytest.mark.parametrize("op", ["maximum", "minimum"])
@SETTINGS
@given(data=st.data())
def test_maximum_minimum_broadcasting(op, data):
    shapes = data.draw(PAIRS, label="shapes").input_shapes
    x = data.draw(values(shapes[0], "distinct"), label="x")
    # y on the grid shifted by half a step: never equal to an x (no ties); an array, as a 0-d
    # one plus a number is a numpy scalar, which maximum refuses (it takes no numbers)
    y = np.asarray(data.draw(values(shapes[1], "distinct"), label="y") + 0.05)
    gradcheck(lambda t, a, b: getattr(t, op)(a, b), x, y)


@SETTINGS
@given(data=st.data())
def test_where_broadcasting(data):
    shapes = data.draw(TRIPLES, label="shapes").input_shapes
    cond = data.draw(mask(shapes[0]), label="cond")
    x = data.draw(values(shapes[1]), label="x")
    y = data.draw(values(shapes[2]), label="y")
    out_shape = np.broadcast_shapes(*shapes)
    # each input must reach the output somewhere, or its gradient is legitimately all zero
    assume(np.broadcast_to(cond, out_shape).any() and not np.broadcast_to(cond, out_shape).all())
    gradcheck(lambda t, c, a, b: t.where(c, a, b), cond, x, y)


@SETTINGS
@given(data=st.data())
def test_clamp_tensor_bounds_broadcasting(data):
    shapes = data.draw(PAIRS, label="shapes").input_shapes
    x = data.draw(values(shapes[0], "distinct"), label="x")
    lo = data.draw(values(shapes[1], "distinct"), label="lo") + 0.05
    gradcheck(lambda t, a, b: a.clamp(min=b), x, lo)


# ----------------------------------------------------------------------------- reductions over dims


@pytest.mark.parametrize("op", ["sum", "mean"])
@SETTINGS
@given(data=st.data())
def test_sum_mean(op, data):
    x = data.draw(SHAPES.flatmap(values), label="x")
    form = data.draw(st.sampled_from(["all", "dim", "dims"] if x.ndim else ["all", "dim"]), label="form")
    keepdim = data.draw(st.booleans(), label="keepdim")
    if form == "all":
        gradcheck(lambda t, a: getattr(a, op)(), x)
    elif form == "dim":
        d = dim_of(data, x.ndim)
        gradcheck(lambda t, a: getattr(a, op)(d, keepdim=keepdim), x)
    else:
        ds = dims_of(data, x.ndim)
        gradcheck(lambda t, a: getattr(t, op)(a, dim=ds, keepdim=keepdim), x)


@SETTINGS
@given(data=st.data())
def test_prod(data):
    x = data.draw(SHAPES.flatmap(lambda s: values(s, "nonzero")), label="x")
    if data.draw(st.booleans(), label="over_all"):
        gradcheck(lambda t, a: a.prod(), x)
    else:
        d = dim_of(data, x.ndim)
        keepdim = data.draw(st.booleans(), label="keepdim")
        gradcheck(lambda t, a: a.prod(d, keepdim=keepdim), x)


@pytest.mark.parametrize("op", ["max", "min"])
@SETTINGS
@given(data=st.data())
def test_max_min(op, data):
    x = data.draw(SHAPES.flatmap(lambda s: values(s, "distinct")), label="x")
    if data.draw(st.booleans(), label="over_all"):
        gradcheck(lambda t, a: getattr(a, op)(), x)
    else:
        d = dim_of(data, x.ndim)
        keepdim = data.draw(st.booleans(), label="keepdim")
        gradcheck(lambda t, a: getattr(t, op)(a, d, keepdim=keepdim)[0], x)


@pytest.mark.parametrize("op", ["amax", "amin"])
@SETTINGS
@given(data=st.data())
def test_amax_amin(op, data):
    x = data.draw(SHAPES_1D_UP.flatmap(lambda s: values(s, "distinct")), label="x")
    dims = dims_of(data, x.ndim) if data.draw(st.booleans(), label="tuple") else dim_of(data, x.ndim)
    keepdim = data.draw(st.booleans(), label="keepdim")
    gradcheck(lambda t, a: getattr(a, op)(dims, keepdim=keepdim), x)


@pytest.mark.parametrize("op", ["var", "std"])
@SETTINGS
@given(data=st.data())
def test_var_std(op, data):
    x = data.draw(SHAPES_1D_UP.flatmap(lambda s: values(s, "distinct")), label="x")
    if data.draw(st.booleans(), label="over_all"):
        assume(x.size > 1)
        gradcheck(lambda t, a: getattr(a, op)(), x)
    else:
        d = dim_of(data, x.ndim)
        assume(x.shape[d] > 1)
        keepdim = data.draw(st.booleans(), label="keepdim")
        gradcheck(lambda t, a: getattr(a, op)(d, keepdim=keepdim), x)


@SETTINGS
@given(data=st.data())
def test_norm(data):
    x = data.draw(SHAPES.flatmap(lambda s: values(s, "nonzero")), label="x")
    gradcheck(lambda t, a: a.norm(), x)


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@SETTINGS
@given(data=st.data())
def test_softmax(op, data):
    x = data.draw(SHAPES.flatmap(values), label="x")
    d = dim_of(data, x.ndim)
    assume(x.ndim == 0 or x.shape[d] > 1)  # over one element softmax is constant
    gradcheck(lambda t, a: getattr(t, op)(a, dim=d), x)


# ----------------------------------------------------------------------------- products


@SETTINGS
@given(data=st.data())
def test_matmul_broadcasting(data):
    n, k, m = (data.draw(st.integers(1, 3), label=s) for s in "nkm")
    batch = data.draw(PAIRS.filter(lambda b: len(b.result_shape) <= 2), label="batch").input_shapes
    kind = data.draw(st.sampled_from(["1d@1d", "2d@1d", "1d@2d", "batched"]), label="kind")
    if kind == "1d@1d":
        sa, sb = (k,), (k,)
    elif kind == "2d@1d":
        sa, sb = (*batch[0], n, k), (k,)
    elif kind == "1d@2d":
        sa, sb = (k,), (*batch[1], k, m)
    else:
        sa, sb = (*batch[0], n, k), (*batch[1], k, m)
    a = data.draw(values(sa), label="a")
    b = data.draw(values(sb), label="b")
    gradcheck(lambda t, x, y: x @ y, a, b)


PRODUCTS = {
    "mm": (lambda t, x, y: t.mm(x, y), lambda n, k, m: ((n, k), (k, m))),
    "mv": (lambda t, x, y: t.mv(x, y), lambda n, k, m: ((n, k), (k,))),
    "dot": (lambda t, x, y: t.dot(x, y), lambda n, k, m: ((k,), (k,))),
    "outer": (lambda t, x, y: t.outer(x, y), lambda n, k, m: ((n,), (m,))),
    "bmm": (lambda t, x, y: t.bmm(x, y), lambda n, k, m: ((2, n, k), (2, k, m))),
    "mm_transposed": (lambda t, x, y: x.t().mm(y), lambda n, k, m: ((k, n), (k, m))),
}


@pytest.mark.parametrize("name", sorted(PRODUCTS))
@SETTINGS
@given(data=st.data())
def test_products(name, data):
    fn, shapes = PRODUCTS[name]
    sa, sb = shapes(*(data.draw(st.integers(1, 3), label=s) for s in "nkm"))
    gradcheck(fn, data.draw(values(sa), label="a"), data.draw(values(sb), label="b"))


@SETTINGS
@given(data=st.data())
def test_addmm_broadcast_bias(data):
    n, k, m = (data.draw(st.integers(1, 3), label=s) for s in "nkm")
    bias_shape = data.draw(st.sampled_from([(n, m), (m,), (1, m), (n, 1), ()]), label="bias")
    bias = data.draw(values(bias_shape), label="bias_values")
    a, b = data.draw(values((n, k)), label="a"), data.draw(values((k, m)), label="b")
    gradcheck(lambda t, c, x, y: t.addmm(c, x, y), bias, a, b)


# ----------------------------------------------------------------------------- joining


@pytest.mark.parametrize("op", ["cat", "stack"])
@SETTINGS
@given(data=st.data())
def test_cat_stack(op, data):
    shape = data.draw(SHAPES_1D_UP if op == "cat" else SHAPES, label="shape")
    count = data.draw(st.integers(1, 3), label="count")
    arrays = []
    if op == "cat":
        d = dim_of(data, len(shape))
        for _ in range(count):
            s = list(shape)
            s[d] = data.draw(st.integers(1, 3), label="size")
            arrays.append(data.draw(values(tuple(s)), label="part"))
    else:
        d = data.draw(st.integers(-len(shape) - 1, len(shape)), label="dim")
        arrays = [data.draw(values(shape), label="part") for _ in range(count)]
    gradcheck(lambda t, *xs: getattr(t, op)(list(xs), d), *arrays)


# ----------------------------------------------------------------------------- views and indexing


def _no_negative_steps(key) -> bool:
    items = key if isinstance(key, tuple) else (key,)
    return all(not (isinstance(i, slice) and i.step is not None and i.step < 0) for i in items)


def _nonempty_keys(shape, newaxis: bool = False):
    """Basic indices (ints, slices with positive steps, ``...``) selecting at least one element."""
    return hnp.basic_indices(shape, allow_newaxis=newaxis, allow_ellipsis=True).filter(
        lambda key: _no_negative_steps(key) and np.empty(shape)[key].size > 0
    )


def _broadcastable_to(shape):
    """Shapes that broadcast to exactly ``shape`` (the source of an in-place op on a tensor of ``shape``)."""
    return hnp.broadcastable_shapes(shape, max_dims=len(shape)).filter(
        lambda s: np.broadcast_shapes(s, shape) == tuple(shape)
    )


@SETTINGS
@given(data=st.data())
def test_basic_indexing(data):
    shape = data.draw(SHAPES, label="shape")
    key = data.draw(_nonempty_keys(shape, newaxis=True), label="key")
    x = data.draw(values(shape), label="x")
    gradcheck(lambda t, a: a[key], x)


@SETTINGS
@given(data=st.data())
def test_advanced_indexing(data):
    shape = data.draw(SHAPES_1D_UP, label="shape")
    x = data.draw(values(shape), label="x")
    kind = data.draw(st.sampled_from(["list", "long_tensor", "mask", "second_dim"]), label="kind")
    idx = st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=4)
    if kind == "list":
        rows = data.draw(idx, label="rows")
        gradcheck(lambda t, a: a[rows], x)
    elif kind == "long_tensor":
        rows = [r % shape[0] for r in data.draw(idx, label="rows")]
        gradcheck(lambda t, a: a[t.tensor(rows)], x)
    elif kind == "mask":
        m = data.draw(mask(shape[: data.draw(st.integers(1, len(shape)), label="mask_dims")], True), label="mask")
        gradcheck(lambda t, a, mm: a[mm], x, m)
    else:
        assume(len(shape) >= 2)
        cols = data.draw(st.lists(st.integers(-shape[1], shape[1] - 1), min_size=1, max_size=3), label="cols")
        gradcheck(lambda t, a: a[:, cols], x)


def _view_fn(data, shape):
    """A view op valid for ``shape``, drawn with its arguments."""
    n = len(shape)
    kinds = ["view_flat", "reshape", "unsqueeze", "expand", "squeeze", "flatten", "T_perm"]
    if n >= 1:
        kinds += ["transpose", "permute", "narrow", "select", "unbind", "split", "chunk", "unflatten"]
    kind = data.draw(st.sampled_from(kinds), label="view")
    numel = int(np.prod(shape)) if shape else 1
    if kind == "view_flat":
        return lambda t, a: a.view(-1)
    if kind == "reshape":
        target = data.draw(st.sampled_from([(numel,), (1, numel), (numel, 1), (-1, 1)]), label="target")
        return lambda t, a: a.t().reshape(target) if a.dim() == 2 else a.reshape(target)
    if kind == "unsqueeze":
        d = data.draw(st.integers(-n - 1, n), label="dim")
        return lambda t, a: a.unsqueeze(d)
    if kind == "expand":
        lead = data.draw(st.integers(1, 3), label="lead")
        sizes = [lead] + [data.draw(st.integers(1, 3), label="size") if s == 1 else s for s in shape]
        return lambda t, a: a.expand(*sizes)
    if kind == "squeeze":
        if n and data.draw(st.booleans(), label="with_dim"):
            d = dim_of(data, n)
            return lambda t, a: a.squeeze(d)
        return lambda t, a: a.squeeze()
    if kind == "flatten":
        return lambda t, a: t.flatten(a)
    if kind == "T_perm":
        return lambda t, a: a.permute(tuple(reversed(range(a.dim()))))  # a tuple: 0-d too (torch refuses permute())
    d = dim_of(data, n)
    if kind == "transpose":
        d2 = dim_of(data, n)
        return lambda t, a: a.transpose(d, d2)
    if kind == "permute":
        perm = data.draw(st.permutations(range(n)), label="perm")
        return lambda t, a: a.permute(*perm)
    if kind == "narrow":
        start = data.draw(st.integers(0, shape[d] - 1), label="start")
        length = data.draw(st.integers(1, shape[d] - start), label="length")
        return lambda t, a: a.narrow(d, start, length)
    if kind == "select":
        i = data.draw(st.integers(-shape[d], shape[d] - 1), label="index")
        return lambda t, a: a.select(d, i)
    if kind == "unbind":
        return lambda t, a: a.unbind(d)
    if kind == "split":
        size = data.draw(st.integers(1, 3), label="size")
        return lambda t, a: a.split(size, d)
    if kind == "chunk":
        chunks = data.draw(st.integers(1, 3), label="chunks")
        return lambda t, a: a.chunk(chunks, d)
    return lambda t, a: a.unflatten(d, (1, shape[d]))


@SETTINGS
@given(data=st.data())
def test_views(data):
    shape = data.draw(SHAPES, label="shape")
    x = data.draw(values(shape), label="x")
    first = _view_fn(data, shape)
    # a view of a view, then an op: the gradient flows through both
    gradcheck(lambda t, a: tuple(v * v for v in _as_tuple(first(t, a))), x)


def _as_tuple(out):
    return out if isinstance(out, tuple) else (out,)


# ----------------------------------------------------------------------------- in place (on clones and their views)

INPLACE = {
    "add_": lambda c, y: c.add_(y),
    "add_alpha": lambda c, y: c.add_(y, alpha=-2),
    "sub_": lambda c, y: c.sub_(y),
    "mul_": lambda c, y: c.mul_(y),
    "div_": lambda c, y: c.div_(y * y + 0.5),
    "copy_": lambda c, y: c.copy_(y),
    "iadd": lambda c, y: c.__iadd__(y),
    "imul": lambda c, y: c.__imul__(y),
}
INPLACE_UNARY = ["exp_", "sigmoid_", "tanh_", "sin_", "neg_"]


@pytest.mark.parametrize("name", sorted(INPLACE))
@SETTINGS
@given(data=st.data())
def test_inplace_binary_broadcasting(name, data):
    shape = data.draw(SHAPES, label="shape")
    x = data.draw(values(shape), label="x")
    y_shape = data.draw(_broadcastable_to(shape), label="y_shape")
    y = data.draw(values(y_shape), label="y")
    op = INPLACE[name]

    def fn(t, a, b):
        c = a * 1.5  # a non-leaf: in-place is allowed
        op(c, b)
        return c * a

    gradcheck(fn, x, y)


@pytest.mark.parametrize("op", INPLACE_UNARY)
@SETTINGS
@given(data=st.data())
def test_inplace_unary_on_view_of_clone(op, data):
    shape = data.draw(SHAPES_1D_UP, label="shape")
    key = data.draw(_nonempty_keys(shape), label="key")
    x = data.draw(values(shape), label="x")

    def fn(t, a):
        c = a.clone()
        getattr(c[key], op)()
        return c

    gradcheck(fn, x)


@SETTINGS
@given(data=st.data())
def test_setitem_on_clone(data):
    shape = data.draw(SHAPES_1D_UP, label="shape")
    key = data.draw(_nonempty_keys(shape), label="key")
    sel = np.empty(shape)[key].shape
    y_shape = data.draw(_broadcastable_to(sel), label="y_shape")
    x = data.draw(values(shape), label="x")
    y = data.draw(values(y_shape), label="y")

    def fn(t, a, b):
        c = a.clone()
        c[key] = b.exp()
        return c * a

    gradcheck(fn, x, y)


@SETTINGS
@given(data=st.data())
def test_setitem_mask_and_index_put(data):
    shape = data.draw(SHAPES_1D_UP, label="shape")
    x = data.draw(values(shape), label="x")
    m = data.draw(mask(shape, True), label="mask")
    v = data.draw(values(()), label="v")

    def fn(t, a, mm, b):
        c = a.clone()
        c[mm] = b * 2
        return c * a

    gradcheck(fn, x, m, v)


# ----------------------------------------------------------------------------- second derivatives

SECOND = {
    "exp": (lambda t, x: x.exp(), "any"),
    "tanh": (lambda t, x: x.tanh(), "any"),
    "sigmoid": (lambda t, x: x.sigmoid(), "any"),
    "log": (lambda t, x: x.log(), "pos"),
    "sqrt": (lambda t, x: x.sqrt(), "pos"),
    "pow_3": (lambda t, x: x**3, "any"),
    "sum_dim_squared": (lambda t, x: x.sum(-1) ** 2, "any"),
    "mean_exp": (lambda t, x: x.mean().exp(), "any"),
    "softmax": (lambda t, x: x.softmax(-1), "any"),
}


@pytest.mark.parametrize("name", sorted(SECOND))
@SETTINGS
@given(data=st.data())
def test_second_derivative(name, data):
    f, domain = SECOND[name]
    x = data.draw(SHAPES_1D_UP.flatmap(lambda s: values(s, domain)), label="x")
    gradcheck(_grad_of(f), x)


@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
@SETTINGS
@given(data=st.data())
def test_cumulative(op, data):
    x = data.draw(SHAPES.flatmap(lambda s: values(s, "nonzero")), label="x")
    d = dim_of(data, x.ndim)
    gradcheck(lambda t, a: getattr(a, op)(d), x)


@SETTINGS
@given(data=st.data())
def test_flip(data):
    x = data.draw(SHAPES.flatmap(lambda s: values(s)), label="x")
    dims = dims_of(data, x.ndim) if x.ndim else ()
    gradcheck(lambda t, a: t.flip(a, list(dims)) * a.sum(), x)
