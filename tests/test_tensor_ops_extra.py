"""gather/scatter/index_add, diagonal/movedim/meshgrid, log2/log10/atan/rsqrt, one_hot/pad/normalize,
unique/bincount and einsum against PyTorch: each program runs under gradlens_core and under torch,
and what a user sees must agree (values, dtypes, shapes, grad_fn names, next_functions, saved
values, versions, grads, double-backward graphs, warnings, and the class and first sentence of
every error).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gradlens_core
from tests.helpers import first_sentence

torch = pytest.importorskip("torch")

_RNG = np.random.default_rng(7)
_X = _RNG.standard_normal((3, 4)).astype(np.float32)
_S = _RNG.standard_normal((2, 4)).astype(np.float32)
_P = (_RNG.random((3, 4)) * 3 + 0.1).astype(np.float32)
_A = _RNG.standard_normal((2, 3, 4)).astype(np.float32)
_B = _RNG.standard_normal((2, 4, 5)).astype(np.float32)
_IDX = [[0, 1, 2, 0], [2, 2, 1, 0]]


def _seen(t, x):
    """What a user can observe of ``x`` (a tensor, a node, a number or a nest of them), module-neutral."""
    if isinstance(x, t.Tensor):
        grad_fn = x.grad_fn
        return (
            "tensor",
            str(x.dtype),
            tuple(x.shape),
            x.detach().numpy().copy(),
            x.requires_grad,
            None if grad_fn is None else type(grad_fn).__name__,
            x._version,
        )
    if isinstance(x, (tuple, list)):
        return tuple(_seen(t, e) for e in x)
    if isinstance(x, dict):
        return {k: _seen(t, v) for k, v in x.items()}
    if hasattr(x, "next_functions"):  # a node
        return ("node", type(x).__name__, tuple(None if f is None else type(f).__name__ for f, _ in x.next_functions))
    if isinstance(x, torch.Size):
        return tuple(x)
    return x


def _run(t, program):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            outcome = ("ok", _seen(t, program(t)))
        except Exception as e:  # noqa: BLE001 - the error is what is compared
            outcome = ("error", type(e).__name__, first_sentence(str(e)))
    return outcome, [(w.category.__name__, str(w.message).split(" (Triggered internally")[0]) for w in caught]


def _assert_same(a, b, where="outcome"):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray) and isinstance(b, np.ndarray), f"{where}: {a!r} != {b!r}"
        assert a.dtype == b.dtype and a.shape == b.shape, f"{where}: {a!r} != {b!r}"
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True, err_msg=where)
    elif isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        assert len(a) == len(b), f"{where}: {a!r} != {b!r}"
        for k, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{k}]")
    else:
        assert a == b, f"{where}: gradlens_core {a!r} != torch {b!r}"


def _compare(program):
    _assert_same(_run(gradlens_core, program), _run(torch, program))


def _leaf(t, a):
    return t.tensor(a, requires_grad=True)


def _grads(t, out, inputs, create_graph=False):
    """Grads of ``(out * weights).sum()`` (weights 1, 2, 3, ...: no symmetric cancellation)."""
    w = t.arange(1.0, out.numel() + 1.0).view(out.shape)
    return t.autograd.grad((out * w).sum(), inputs, create_graph=create_graph, allow_unused=True)


# ----------------------------------------------------------------------------- programs


def _gather(t):
    x = _leaf(t, _X)
    y = t.gather(x, 0, t.tensor(_IDX))
    f = y.grad_fn
    return y, f, f._saved_dim, f._saved_index, f._saved_self is x, f._saved_sparse_grad, _grads(t, y, x)


def _gather_method_dim1(t):
    x = _leaf(t, _X)
    y = x.gather(1, t.tensor([[3, 3], [0, 1], [2, 2]]))
    return y, _grads(t, y, x)


def _gather_double_backward(t):
    x = _leaf(t, _X)
    (g,) = t.autograd.grad((t.gather(x, 0, t.tensor(_IDX)) ** 2).sum(), x, create_graph=True)
    return g, g.grad_fn, g.grad_fn._saved_dim, g._version, t.autograd.grad(g.sum(), x)


def _gather_saved_self_edited(t):
    x = _leaf(t, _X)
    z = x * 1
    y = t.gather(z, 0, t.tensor(_IDX))
    z.add_(1)
    y.sum().backward()


def _scatter_src(t):
    x, s = _leaf(t, _X), _leaf(t, _S)
    y = t.scatter(x, 0, t.tensor(_IDX), s)
    return y, y.grad_fn, y.grad_fn._saved_dim, y.grad_fn._saved_index, _grads(t, y, (x, s))


def _scatter_value(t):
    x = _leaf(t, _X)
    y = x.scatter(1, t.tensor([[3], [0], [1]]), value=-2.5)
    z = t.zeros(2, 3).scatter(1, t.tensor([[2], [0]]), 5.0)
    return y, y.grad_fn, _grads(t, y, x), z


def _scatter_add(t):
    x, s = _leaf(t, _X), _leaf(t, _S)
    y = t.scatter_add(x, 0, t.tensor(_IDX), s)
    return y, y.grad_fn, y.grad_fn._saved_dim, _grads(t, y, (x, s))


def _double(t, op):
    x, s = _leaf(t, _X), _leaf(t, _S)
    y = getattr(t, op)(x, 0, t.tensor(_IDX), s)
    gx, gs = _grads(t, y**2, (x, s), create_graph=True)
    return gx, gx.grad_fn, gs, gs.grad_fn, t.autograd.grad(gx.sum() + gs.sum(), (x, s))


def _scatter_double(t):
    return _double(t, "scatter")


def _scatter_add_double(t):
    return _double(t, "scatter_add")


def _index_add(t):
    x, s = _leaf(t, _X), _leaf(t, _S)
    y = t.index_add(x, 0, t.tensor([2, 0]), s, alpha=2)
    f = y.grad_fn
    saved = (f._saved_alpha, f._saved_dim, f._saved_index, f._saved_source is s, f._saved_source_dim)
    gx, gs = _grads(t, y**2, (x, s), create_graph=True)
    return y, f, saved, gx, gs, gs.grad_fn, t.autograd.grad(gs.sum(), (x, s), allow_unused=True)


def _in_place_forms(t):
    x, s = _leaf(t, _X), _leaf(t, _S)
    a = x * 1
    a.scatter_(0, t.tensor(_IDX), s)
    b = x * 1
    b.scatter_(1, t.tensor(_IDX), -1.0)
    c = x * 1
    c.scatter_add_(1, t.tensor(_IDX), s)
    d = x * 1
    d.index_add_(1, t.tensor([3, 3]), s.t()[:3, :2] * 1, alpha=-1)  # (repeats add up)
    return [(v, v.grad_fn, v._version, _grads(t, v, (x, s))) for v in (a, b, c, d)]


def _scatter_reduce(t):
    x, s = _leaf(t, _X), _leaf(t, _S)
    t.set_warn_always(True)  # (PyTorch warns once per process)
    try:
        y = t.scatter(x, 0, t.tensor(_IDX), s, reduce="add")
    finally:
        t.set_warn_always(False)
    z = x.scatter(1, t.tensor(_IDX), 3.0, reduce="multiply")
    w = t.ones(3, 4)
    w.scatter_(0, t.tensor(_IDX), 2.0, reduce="multiply")
    return y, y.grad_fn, z, z.grad_fn, w, w._version


def _scatter_reduce_backward(t):
    t.scatter(_leaf(t, _X), 0, t.tensor(_IDX), 3.0, reduce="add").sum().backward()


def _in_place_on_leaf(t):
    x = _leaf(t, _X)
    x.scatter_(0, t.tensor(_IDX), 1.0)


_ERRORS = {
    "gather_float_index": lambda t: t.gather(t.ones(3, 4), 0, t.tensor(_IDX).float()),
    "gather_int32_index": lambda t: t.gather(t.ones(3, 4), 0, t.tensor(_IDX).int()),
    "gather_ndim": lambda t: t.gather(t.ones(3, 4), 0, t.tensor([0, 1])),
    "gather_bounds": lambda t: t.gather(t.ones(3, 4), 0, t.tensor([[5]])),
    "gather_negative": lambda t: t.gather(t.ones(3, 4), 0, t.tensor([[-1]])),
    "gather_size": lambda t: t.gather(t.ones(3, 4), 1, t.zeros(4, 1, dtype=t.long)),
    "gather_dim": lambda t: t.gather(t.ones(3, 4), 2, t.tensor(_IDX)),
    "scatter_src_small": lambda t: t.scatter(t.ones(3, 4), 0, t.tensor(_IDX), t.ones(1, 4)),
    "scatter_dtype": lambda t: t.scatter(t.ones(3, 4), 0, t.tensor(_IDX), t.ones(2, 4).double()),
    "scatter_float_index": lambda t: t.scatter(t.ones(3, 4), 0, t.tensor(_IDX).float(), 1.0),
    "scatter_value_size": lambda t: t.scatter(t.ones(3, 4), 0, t.zeros(2, 5, dtype=t.long), 1.0),
    "scatter_bounds": lambda t: t.scatter(t.ones(3, 4), 0, t.tensor([[3]]), 1.0),
    "scatter_ndim": lambda t: t.scatter(t.ones(3, 4), 0, t.tensor([0]), t.ones(3, 4)),
    "index_add_count": lambda t: t.index_add(t.ones(3, 4), 0, t.tensor([0, 1, 2]), t.ones(2, 4)),
    "index_add_bounds": lambda t: t.index_add(t.ones(3, 4), 0, t.tensor([0, 5]), t.ones(2, 4)),
    "index_add_float_index": lambda t: t.index_add(t.ones(3, 4), 0, t.tensor([0.0, 2.0]), t.ones(2, 4)),
    "index_add_dtype": lambda t: t.index_add(t.ones(3, 4), 0, t.tensor([0, 2]), t.ones(2, 4).double()),
    "index_add_shape": lambda t: t.index_add(t.ones(3, 4), 0, t.tensor([0, 2]), t.ones(2, 5)),
    "index_add_matrix_index": lambda t: t.index_add(t.ones(3, 4), 0, t.tensor([[0, 2]]), t.ones(2, 4)),
    "scatter_add_missing": lambda t: t.ones(2).scatter_add_(0),
    "index_add_missing": lambda t: t.ones(2).index_add_(0, foo=1),
    "scatter_no_args": lambda t: t.ones(2).scatter_(),
    "scatter_reduce_name": lambda t: t.scatter(t.ones(3, 4), 0, t.tensor(_IDX), 1.0, reduce="max"),
    "gather_dim_type": lambda t: t.gather(t.ones(3, 4), "a", t.tensor(_IDX)),
    "gather_method_index_type": lambda t: t.ones(3, 4).gather(1, "a"),
    "scatter_src_type": lambda t: t.ones(3, 4).scatter(0, t.tensor(_IDX), [1]),
    "scatter_add_missing_src": lambda t: t.ones(3, 4).scatter_add(0, t.tensor(_IDX)),
    "index_add_alpha_type": lambda t: t.index_add(t.ones(3, 4), 0, t.tensor([0]), t.ones(1, 4), alpha="a"),
    "index_add_alpha_positional": lambda t: t.ones(3, 4).index_add(0, t.tensor([0]), t.ones(1, 4), 2),
    "diagonal_same_dims": lambda t: t.ones(2, 3).diagonal(0, 1, 1),
    "diagonal_dim": lambda t: t.diagonal(t.ones(2, 3), 0, 0, 2),
    "movedim_lengths": lambda t: t.movedim(t.ones(2, 3), [0], [0, 1]),
    "movedim_repeated": lambda t: t.movedim(t.ones(2, 3, 4), (0, 0), (1, 2)),
    "meshgrid_2d": lambda t: t.meshgrid(t.ones(2, 1), t.ones(2), indexing="ij"),
    "meshgrid_dtypes": lambda t: t.meshgrid(t.ones(2), t.ones(2, dtype=t.long), indexing="ij"),
    "meshgrid_indexing": lambda t: t.meshgrid(t.ones(2), indexing="zz"),
    "one_hot_int32": lambda t: t.nn.functional.one_hot(t.tensor([1, 2]).int()),
    "one_hot_empty": lambda t: t.nn.functional.one_hot(t.tensor([], dtype=t.long)),
    "one_hot_negative": lambda t: t.nn.functional.one_hot(t.tensor([-1])),
    "one_hot_too_big": lambda t: t.nn.functional.one_hot(t.tensor([3]), 3),
    "pad_odd": lambda t: t.nn.functional.pad(t.ones(2, 3), (1,)),
    "pad_too_long": lambda t: t.nn.functional.pad(t.ones(2, 3), (1, 1, 1, 1, 1, 1)),
    "pad_crop_too_much": lambda t: t.nn.functional.pad(t.ones(2, 3), (-2, -2)),
    "pad_reflect_too_wide": lambda t: t.nn.functional.pad(t.ones(1, 2, 3), (3, 0), mode="reflect"),
    "pad_reflect_1d": lambda t: t.nn.functional.pad(t.ones(3), (1, 1), mode="reflect"),
    "pad_value": lambda t: t.nn.functional.pad(t.ones(1, 2, 3), (1, 1), mode="replicate", value=2.0),
    "bincount_float": lambda t: t.bincount(t.ones(3)),
    "bincount_negative": lambda t: t.bincount(t.tensor([1, -1])),
    "bincount_minlength": lambda t: t.bincount(t.tensor([1]), minlength=-1),
    "bincount_weights": lambda t: t.bincount(t.tensor([1, 2]), weights=t.ones(3)),
    "unique_dim": lambda t: t.unique(t.tensor([1, 2]), dim=1),
    "unique_backward": lambda t: t.unique(t.tensor([2.0, 1.0], requires_grad=True)).sum().backward(),
    "einsum_operands": lambda t: t.einsum("ij,jk->ik", t.ones(2, 2)),
    "einsum_dims": lambda t: t.einsum("ijk->", t.ones(2, 2)),
    "einsum_output": lambda t: t.einsum("ij->k", t.ones(2, 2)),
    "einsum_sizes": lambda t: t.einsum("ij,jk->ik", t.ones(2, 3), t.ones(2, 3)),
    "einsum_subscript": lambda t: t.einsum("i1", t.ones(2, 2)),
}


def _diagonal(t):
    x = _leaf(t, _A)
    out = []
    for args in [(), (1,), (0, 0, 2), (-1, 1, 2), (0, -1, -2), (1, 2, 0), (7, 0, 1)]:
        y = t.diagonal(x, *args)
        f = y.grad_fn
        (g,) = _grads(t, y * y, x, create_graph=True)
        out.append(
            (y, y.stride(), y.storage_offset(), y._base is x, f._saved_offset, f._saved_dim1, f._saved_dim2)
            + (f._saved_self_sym_sizes, g, g.grad_fn, g.grad_fn._saved_dim2, t.autograd.grad(g.sum(), x))
        )
    return out


def _diagonal_aliases(t):
    x = t.tensor(_A)
    d = x.diagonal(0, 1, 2)
    d.mul_(0)
    y = _leaf(t, _X) * 1
    e = y.diagonal(1)
    e.add_(1)
    return x, d._version, x._version, y, y.grad_fn, e.grad_fn, t.arange(9.0).view(3, 3).diagonal(-1)


def _movedim(t):
    x = _leaf(t, _A)
    out = []
    for src, dst in [(0, 2), ((0, 1), (1, 0)), (0, 0), ((0, 2), (2, 0)), (-1, 0)]:
        y = t.movedim(x, src, dst)
        out.append((y, y.stride(), y.grad_fn._saved_dims, y._base is x))
    return out, x.moveaxis(0, 1).shape, t.moveaxis(x, 1, 2).shape, x.movedim(2, 0).shape


def _meshgrid(t):
    a, b = _leaf(t, [1.0, 2.0, 3.0]), t.tensor([5.0, 6.0])
    ij = t.meshgrid(a, b, indexing="ij")
    xy = t.meshgrid([a, b, t.tensor(1.0)], indexing="xy")
    g = ij[0].grad_fn
    return ij, xy, g, g.next_functions[0][0], ij[0].stride(), ij[0]._base is a, _grads(t, ij[0] * ij[1], a)


def _meshgrid_warning(t):
    t.set_warn_always(True)  # (the warning is given once per process otherwise)
    try:
        return t.meshgrid(t.tensor([1, 2]), t.tensor([3]))
    finally:
        t.set_warn_always(False)


@pytest.fixture(params=["log2", "log10", "atan", "rsqrt", "arctan"])
def unary(request):
    return request.param


def _unary_program(name):
    def program(t):
        x = _leaf(t, _P)
        y = getattr(t, name)(x)
        f = y.grad_fn
        saved = f._saved_result if name == "rsqrt" else f._saved_self
        (g,) = _grads(t, y, x, create_graph=True)
        z = x * 1
        r = getattr(z, name + "_")()
        w = x * 1
        getattr(t, name + "_")(w)
        ints = getattr(t.arange(4), name)()
        special = getattr(t, name)(t.tensor([0.0, -1.0, float("inf")]))
        return y, f, saved, g, g.grad_fn, t.autograd.grad(g.sum(), x), r is z, z, z.grad_fn, w._version, ints, special

    return program


def _unary_int_in_place(name):
    return lambda t: getattr(t.arange(3), name + "_")()


def _pad_constant(t):
    x = _leaf(t, _A)
    out = []
    for p in [(1, 2), (1, 1, 2, 0), (-1, 2), (0, 0, 0, 0, 1, 1), (-2, -1, 1, 0)]:
        y = t.nn.functional.pad(x, p, value=0.5)
        (g,) = _grads(t, y, x, create_graph=True)
        out.append((y, y.grad_fn._saved_pad, g, g.grad_fn))
    return out, t.nn.functional.pad(t.arange(3), (1, 1), value=2.5)


def _pad_reflect_replicate(t):
    x = _leaf(t, _A)
    out = []
    for mode in ("reflect", "replicate"):
        for p in [(1, 2), (2, 1, 1, 1)]:
            y = t.nn.functional.pad(x, p, mode=mode)
            f = y.grad_fn
            (g,) = _grads(t, y, x, create_graph=True)
            out.append((y, f, f._saved_padding, f._saved_self is x, g, g.grad_fn, t.autograd.grad((g * g).sum(), x)))
    return out


def _one_hot(t):
    one_hot = t.nn.functional.one_hot
    return one_hot(t.tensor([[0, 2], [1, 1]])), one_hot(t.tensor([0, 1]), 4), one_hot(t.tensor([], dtype=t.long), 3)


def _normalize(t):
    x = _leaf(t, _A)
    y = t.nn.functional.normalize(x)
    f = y.grad_fn
    chain = [f]
    while chain[-1].next_functions and chain[-1].next_functions[-1][0] is not None:
        chain.append(chain[-1].next_functions[-1][0])
    z = t.nn.functional.normalize(x, p=1, dim=-1)
    return y, chain, _grads(t, z, x), t.nn.functional.normalize(t.zeros(2, 3))


def _unique(t):
    x = t.tensor([3, 1, 2, 1, 3, 3])
    m = t.tensor([[1, 2], [1, 2], [0, 5]])
    v = t.tensor([[2.0, 1.0], [1.0, 3.0]], requires_grad=True)
    return (
        t.unique(x),
        t.unique(x, sorted=False, return_inverse=True, return_counts=True),
        x.unique(return_counts=True),
        t.unique(m, dim=0, return_inverse=True, return_counts=True),
        t.unique(m, dim=1),
        t.unique(v),
        t.unique(v, dim=0),
        t.unique(t.tensor([[1, 2], [3, 1]]), return_inverse=True),
        t.unique(t.tensor(3.0)),
    )


def _bincount(t):
    x = t.tensor([3, 1, 2, 1, 3, 3])
    weights = t.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], requires_grad=True)
    return (
        t.bincount(x),
        x.bincount(minlength=6),
        t.bincount(x, weights=weights),
        t.bincount(x, weights=weights.double()),
        t.bincount(x, weights=t.ones(6, dtype=t.int32)),
        t.bincount(t.tensor([], dtype=t.long)),
        t.bincount(x.int()),
    )


_EINSUM = [
    ("ij,jk->ik", ("X", "XT")),
    ("bij,bjk->bik", ("A", "B")),
    ("ij->ji", ("X",)),
    ("ii->", ("Q",)),
    ("ii", ("Q",)),
    ("ii->i", ("Q",)),
    ("i,j->ij", ("v", "w")),
    ("ij->", ("X",)),
    ("ij->i", ("X",)),
    ("ij,ij->ij", ("X", "X")),
    ("ij,ij->", ("X", "X")),
    ("ij,jk", ("X", "XT")),
    ("...ij,...jk->...ik", ("A", "B")),
    ("b...,b...->b", ("A", "A")),
    ("ij,j->i", ("X", "w4")),
    ("ij,jk,kl->il", ("X", "XT", "X")),
    (" i j , j k -> i k ", ("X", "XT")),
]


def _einsum_program(equation, names):
    def program(t):
        values = {
            "X": _X,
            "XT": _X.T.copy(),
            "A": _A,
            "B": _B,
            "Q": _X[:, :3].copy(),
            "v": _X[0],
            "w": _X[1, :3].copy(),
            "w4": _X[2],
        }
        ops = [_leaf(t, values[n]) for n in names]
        r = t.einsum(equation, *ops)
        return r, r.grad_fn, _grads(t, r, ops)

    return program


# ----------------------------------------------------------------------------- tests

_PROGRAMS = {
    "gather": _gather,
    "gather_method_dim1": _gather_method_dim1,
    "gather_double_backward": _gather_double_backward,
    "gather_saved_self_edited": _gather_saved_self_edited,
    "scatter_src": _scatter_src,
    "scatter_value": _scatter_value,
    "scatter_add": _scatter_add,
    "scatter_double": _scatter_double,
    "scatter_add_double": _scatter_add_double,
    "index_add": _index_add,
    "in_place_forms": _in_place_forms,
    "in_place_on_leaf": _in_place_on_leaf,
    "scatter_reduce": _scatter_reduce,
    "scatter_reduce_backward": _scatter_reduce_backward,
    "diagonal": _diagonal,
    "diagonal_aliases": _diagonal_aliases,
    "movedim": _movedim,
    "meshgrid": _meshgrid,
    "meshgrid_warning": _meshgrid_warning,
    "pad_constant": _pad_constant,
    "pad_reflect_replicate": _pad_reflect_replicate,
    "one_hot": _one_hot,
    "normalize": _normalize,
    "unique": _unique,
    "bincount": _bincount,
    **{f"error_{k}": v for k, v in _ERRORS.items()},
    **{f"einsum_{eq.strip()}": _einsum_program(eq, names) for eq, names in _EINSUM},
}


@pytest.mark.parametrize("name", sorted(_PROGRAMS))
def test_program_matches_torch(name):
    _compare(_PROGRAMS[name])


def test_unary_ops_match_torch(unary):
    _compare(_unary_program(unary))
    _compare(_unary_int_in_place(unary))


def test_einsum_list_of_operands():
    _compare(lambda t: t.einsum("ij,jk->ik", [t.tensor(_X), t.tensor(_X.T.copy())]))


def test_the_new_ops_report_their_events():
    """A new tensor is ``created`` (with its node), a view is ``aliased``, an in-place edit is ``mutated``."""
    seen = []
    x = gradlens_core.tensor(_X, requires_grad=True)
    with gradlens_core.subscribe(lambda kind, payload: seen.append((kind, payload.get("op")))):
        y = gradlens_core.gather(x, 0, gradlens_core.tensor(_IDX))
        z = y * 1
        z.scatter_(0, gradlens_core.tensor([[1, 0, 1, 0]]), 2.0)
        x.diagonal()
        gradlens_core.bincount(gradlens_core.tensor([1, 2]))
    kinds = [k for k, _ in seen]
    assert ("created", "gather") in seen
    assert ("aliased", "diagonal") in seen
    assert "mutated" in kinds
    assert ("created", "bincount") in seen
