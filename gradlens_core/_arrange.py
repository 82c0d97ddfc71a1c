"""Ops that copy a tensor's elements into a new arrangement: ``tril``/``triu`` (and in place),
``repeat``/``tile``, ``roll`` and ``diag``, with the node names and formulas of PyTorch's
``derivatives.yaml`` (TrilBackward0, TriuBackward0, RepeatBackward0, RollBackward0,
DiagEmbedBackward0, DiagonalBackward0_copy). None of them saves a tensor: in-place edits of
their input never break their backward.

>>> import gradlens_core as torch
>>> x = torch.ones(2, 2, requires_grad=True)
>>> x.tril()
tensor([[1., 0.],
        [1., 1.]], grad_fn=<TrilBackward0>)
"""

from __future__ import annotations

import numpy as np

from ._argparse import refuse, refuse_extra
from ._autograd import backward_formula, node_class
from ._ops import _write
from ._tensor import Tensor, autograd_first, check_inplace, check_internal_overlap, finish_inplace, int_arg, record
from ._views import ViewStep, _shape_args, make_view

_wrap = Tensor._wrap


# ============================================================================ tril / triu


@backward_formula("TrilBackward0")
def _tril_bw(node, g, ns):
    if ns.records_graph:
        return (tril(g, node._ctx),)
    return (np.tril(g, node._ctx),)


@backward_formula("TriuBackward0")
def _triu_bw(node, g, ns):
    if ns.records_graph:
        return (triu(g, node._ctx),)
    return (np.triu(g, node._ctx),)


def _triangle(np_fn, name):
    node_cls = node_class(f"{name.capitalize()}Backward0")

    @autograd_first(call=(name, False))
    def fn(input, diagonal=0):
        if diagonal.__class__ is not int:
            diagonal = int_arg(diagonal, "diagonal")
        _check_matrix(input, name)
        res = np.ascontiguousarray(np_fn(input._data, diagonal))
        return record(_wrap(res), node_cls, (input,), ctx=diagonal, op=name)

    def inplace(self, diagonal=0, *extra, _call=(name + "_", True), **unknown):
        op = name + "_"
        if extra or unknown:
            refuse_extra(_call, (self, diagonal), extra, unknown, (("diagonal", 0),))
        if diagonal.__class__ is not int:
            try:
                diagonal = int_arg(diagonal, "diagonal")
            except TypeError:
                refuse(_call, (self, diagonal))
                raise
        _check_matrix(self, op[:-1])
        check_inplace(self, op)
        check_internal_overlap(self, op)
        _write(self, np_fn(self._data, diagonal), op)
        return finish_inplace(self, op, node_cls, (self,), ctx=diagonal)

    part = "lower" if name == "tril" else "upper"
    fn.__name__, inplace.__name__ = name, name + "_"
    fn.__doc__ = f"""The {part} triangle of the last two dims (on and {"below" if name == "tril" else "above"} the
    ``diagonal``-th diagonal), zeros elsewhere ({node_cls.__name__}: the grad's {part} triangle).

    >>> import gradlens_core as torch
    >>> torch.{name}(torch.ones(2, 2), 1).tolist()
    {[[1.0, 1.0], [1.0, 1.0]] if name == "tril" else [[0.0, 1.0], [0.0, 0.0]]}
    """
    inplace.__doc__ = f"In-place ``{name}`` ({node_cls.__name__}; bumps the version counter)."
    return fn, inplace


def _check_matrix(input: Tensor, name: str) -> None:
    if input._data.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")


tril, tril_ = _triangle(np.tril, "tril")
triu, triu_ = _triangle(np.triu, "triu")


# ============================================================================ repeat / tile


@autograd_first(call=("repeat", False))
def repeat(input, *repeats):
    """``input`` repeated ``repeats[i]`` times along dim ``i`` (leading repeats add dims;
    RepeatBackward0: the grad summed over the copies).

    >>> import gradlens_core as torch
    >>> torch.tensor([1, 2]).repeat(2, 2)
    tensor([[1, 2, 1, 2],
            [1, 2, 1, 2]])
    """
    if not repeats:
        raise TypeError('repeat() missing 1 required positional arguments: "repeats"')
    repeats = tuple(int(r) for r in _shape_args(repeats))
    data = input._data
    if len(repeats) < data.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor")
    if min(repeats) < 0:
        padded = (1,) * (len(repeats) - data.ndim) + data.shape
        sizes = [n * r for n, r in zip(padded, repeats)]
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(sizes)}: {sizes}")
    res = np.ascontiguousarray(np.tile(data, repeats))
    return record(_wrap(res), node_class("RepeatBackward0"), (input,), ctx=(repeats, data.shape), op="repeat")


def tile(input, *dims, _call=("tile", False)):
    """``repeat`` with ``dims`` padded with leading ones to the input's rank (RepeatBackward0).

    >>> import gradlens_core as torch
    >>> torch.tile(torch.tensor([[1, 2]]), (2,))
    tensor([[1, 2, 1, 2]])
    """
    try:
        if (not _call[1] and (len(dims) != 1 or not isinstance(dims[0], (list, tuple)))) or isinstance(dims[0], Tensor):
            raise TypeError("tile(): argument 'dims' must be tuple of ints")
        dims = _shape_args(dims)
    except Exception:
        refuse(_call, (input, *dims))
        raise
    dims = (1,) * (input._data.ndim - len(dims)) + dims
    return repeat(input, dims)


@backward_formula("RepeatBackward0")
def _repeat_bw(node, g, ns):
    """FunctionsManual's repeat_backward: the added leading dims summed away one by one, then
    one reshape to (repeat, size) pairs and one sum over the repeats."""
    repeats, input_shape = node._ctx
    if 0 in repeats:
        return (ns.zeros(input_shape, g),)
    for _ in range(g.ndim - len(input_shape)):
        g = ns.sum(g, 0)
    lead = len(repeats) - len(input_shape)
    grad_size, sum_dims = [], []
    for d, n in enumerate(input_shape):
        r = repeats[d + lead]
        if r != 1:
            grad_size.append(r)
            sum_dims.append(len(grad_size) - 1)
        grad_size.append(n)
    if sum_dims:
        g = ns.sum(ns.reshape(g, tuple(grad_size)), tuple(sum_dims))
    return (g,)


# ============================================================================ roll


@autograd_first(call=("roll", False))
def roll(input, shifts, dims=None):
    """Elements shifted ``shifts`` places along ``dims`` (of the flattened tensor when
    ``dims`` is not given), wrapping around (RollBackward0: the grad rolled back).

    >>> import gradlens_core as torch
    >>> torch.roll(torch.tensor([1, 2, 3]), 1)
    tensor([3, 1, 2])
    """
    shifts = (int_arg(shifts, "shifts"),) if not isinstance(shifts, (list, tuple)) else _shape_args((shifts,))
    if dims is not None:
        dims = (int_arg(dims, "dims"),) if not isinstance(dims, (list, tuple)) else _shape_args((dims,))
    else:
        dims = ()
    if not shifts:
        raise RuntimeError("`shifts` required")
    if not dims and len(shifts) != 1:
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    if dims and len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    wrapped = tuple(input._wrap_dim(d) for d in dims)
    res = _rolled(input._data, shifts, wrapped)
    return record(_wrap(res), node_class("RollBackward0"), (input,), ctx=(shifts, dims), op="roll")


def _rolled(a: np.ndarray, shifts, dims) -> np.ndarray:
    if not dims:
        return np.roll(a.reshape(-1), shifts[0]).reshape(a.shape)
    return np.ascontiguousarray(np.roll(a, shifts, dims))


@backward_formula("RollBackward0")
def _roll_bw(node, g, ns):
    # derivatives.yaml: grad.roll(-shifts reversed, dims reversed)
    shifts, dims = node._ctx
    back, dims = tuple(-s for s in reversed(shifts)), tuple(reversed(dims))
    if ns.records_graph:
        return (roll(g, back, dims if dims else None),)
    return (_rolled(g, back, tuple(d % g.ndim for d in dims)),)


# ============================================================================ diag


def diag(input, diagonal=0, *, _call=("diag", False)):
    """A 1-d tensor as the ``diagonal``-th diagonal of a square matrix (DiagEmbedBackward0),
    or the ``diagonal``-th diagonal of a matrix as a 1-d tensor (DiagonalBackward0_copy).

    >>> import gradlens_core as torch
    >>> torch.diag(torch.tensor([1, 2]))
    tensor([[1, 0],
            [0, 2]])
    """
    data = input._data
    if diagonal.__class__ is not int:
        try:
            diagonal = int_arg(diagonal, "diagonal")
        except TypeError:
            refuse(_call, (input, diagonal))
            raise
    if data.ndim == 1:
        res = np.ascontiguousarray(np.diag(data, diagonal))
        ctx = (res.shape, diagonal)
        return record(_wrap(res), node_class("DiagEmbedBackward0"), (input,), ctx=ctx, op="diag")
    if data.ndim == 2:
        res = np.array(np.diagonal(data, diagonal))
        ctx = (data.shape, diagonal)
        return record(_wrap(res), node_class("DiagonalBackward0_copy"), (input,), ctx=ctx, op="diag")
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {data.ndim}D")


def _diagonal_key(shape, offset):
    """The (rows, columns) of the ``offset``-th diagonal of a matrix of ``shape``."""
    rows, cols = shape
    n = max(0, min(rows, cols - offset) if offset >= 0 else min(rows + offset, cols))
    i = np.arange(n)
    return (i - min(offset, 0), i + max(offset, 0))


def _diagonal_view(a: np.ndarray, offset: int) -> np.ndarray:
    """The ``offset``-th diagonal of the matrix ``a`` as a view of its memory (stride: the sum of
    its strides), writable if ``a`` is (numpy's ``diagonal`` is a read-only view)."""
    rows, cols = _diagonal_key(a.shape, offset)
    start = a[max(-offset, 0) :, max(offset, 0) :]
    stride = a.strides[0] + a.strides[1]
    return np.lib.stride_tricks.as_strided(start, (len(rows),), (stride,), writeable=a.flags.writeable)


@backward_formula("DiagEmbedBackward0")
def _diag_embed_bw(node, g, ns):
    """derivatives.yaml: ``grad.diagonal(offset, dim1, dim2)``, a view of the grad as in PyTorch
    (DiagonalBackward0 under create_graph, whose backward puts the grad back on the diagonal)."""
    shape, offset = node._ctx
    if ns.records_graph:
        key = _diagonal_key(shape, offset)
        step = ViewStep(
            lambda a: _diagonal_view(a, offset),
            lambda gg, ns: ns.scatter(gg, shape, key, "DiagonalBackwardBackward0"),
        )
        return (make_view(g, _diagonal_view(g._data, offset), "DiagonalBackward0", step, "diagonal"),)
    return (_diagonal_view(g, offset),)


@backward_formula("DiagonalBackward0_copy")
def _diagonal_bw(node, g, ns):
    """diagonal_backward: zeros of the input's shape with the grad on the diagonal
    (DiagonalBackwardBackward0 under create_graph, whose own backward reads it back)."""
    shape, offset = node._ctx
    return (ns.scatter(g, shape, _diagonal_key(shape, offset), "DiagonalBackwardBackward0"),)


# ============================================================================ diagonal (a view)


def _diagonal_nd(a: np.ndarray, offset: int, d1: int, d2: int, given=None) -> np.ndarray:
    """The ``offset``-th diagonal of ``a`` over dims ``d1`` and ``d2`` (wrapped), appended as
    the last dim: a writable view of ``a``'s memory (numpy's ``diagonal`` is read-only).
    ``given``: the dims as the user gave them (kept by the view's step for ``_saved_dim1``)."""
    n1, n2 = a.shape[d1], a.shape[d2]
    n = max(0, min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2))
    start = [slice(None)] * a.ndim
    if n:  # (an empty diagonal starts at the storage offset of ``a``, as PyTorch's)
        start[d2 if offset >= 0 else d1] = slice(abs(offset), None)
    first = a[tuple(start)]
    keep = [k for k in range(a.ndim) if k not in (d1, d2)]
    shape = tuple(a.shape[k] for k in keep) + (n,)
    strides = tuple(a.strides[k] for k in keep) + (a.strides[d1] + a.strides[d2],)
    return np.lib.stride_tricks.as_strided(first, shape, strides, writeable=a.flags.writeable)


def _diagonal_backward(g, shape, offset: int, d1: int, d2: int, given, ns):
    """diagonal_backward: zeros of the input's shape with the grad on the diagonal
    (DiagonalBackwardBackward0 under create_graph, whose backward takes the diagonal again)."""
    if ns.records_graph:
        out = np.zeros(shape, g._data.dtype)
        _diagonal_nd(out, offset, d1, d2)[...] = g._data
        ctx = ("nd", shape, offset, given, (d1, d2))
        return record(_wrap(out), node_class("DiagonalBackwardBackward0"), (g,), ctx=ctx, op="diagonal_backward")
    out = np.zeros(shape, g.dtype)
    _diagonal_nd(out, offset, d1, d2)[...] = g
    return out


def _diagonal_bb(node, gg, ns):
    # derivatives.yaml: grad.diagonal(offset, dim1, dim2); a matrix's diag's node keeps its key
    if isinstance(node._ctx[0], str):  # ("nd", ...): torch.diagonal's
        _, _, offset, (dim1, dim2), (d1, d2) = node._ctx
        if ns.records_graph:
            return (diagonal(gg, offset, dim1, dim2),)
        return (_diagonal_nd(gg, offset, d1, d2),)
    from ._views import _placed_bw

    return _placed_bw(node, gg, ns)


node_class("DiagonalBackwardBackward0", _diagonal_bb)


@autograd_first
def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The ``offset``-th diagonal over ``dim1`` and ``dim2``, as the last dim: a view sharing
    ``input``'s memory and version counter (DiagonalBackward0).

    >>> import gradlens_core as torch
    >>> torch.arange(9.).view(3, 3).diagonal(1)
    tensor([1., 5.])
    """
    data = input._data
    for name, v in (("offset", offset), ("dim1", dim1), ("dim2", dim2)):
        if v.__class__ is not int:
            int_arg(v, name)
    d1, d2 = input._wrap_dim(dim1), input._wrap_dim(dim2)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    shape = data.shape
    # the forward step keeps offset and the dims as given (PyTorch's ``_saved_*``)
    given = (dim1, dim2)
    step = ViewStep(
        lambda a: _diagonal_nd(a, offset, d1, d2, given),
        lambda g, ns: _diagonal_backward(g, shape, offset, d1, d2, given, ns),
    )
    return make_view(input, _diagonal_nd(data, offset, d1, d2), "DiagonalBackward0", step, "diagonal")


# ============================================================================ meshgrid


def meshgrid(*tensors, indexing: str | None = None):
    """Coordinate grids of 0-d or 1-d tensors: each input viewed and expanded to the grid's
    shape (ExpandBackward0 over ViewBackward0, views of the inputs). ``indexing`` is "ij"
    (the default, with PyTorch's warning when it is not given) or "xy" (the first two dims
    swapped).

    >>> import gradlens_core as torch
    >>> torch.meshgrid(torch.tensor([1, 2]), torch.tensor([3, 4, 5]), indexing="ij")[1]
    tensor([[3, 4, 5],
            [3, 4, 5]])
    """
    from ._warn import warn_once

    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warn_once("torch.meshgrid: in an upcoming release, it will be required to pass the indexing argument.", None)
        indexing = "ij"
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for t in tensors:
        if t._data.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t}")
    if any(t._data.dtype != tensors[0]._data.dtype for t in tensors):
        raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    if indexing not in ("xy", "ij"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    swap = indexing == "xy" and len(tensors) >= 2
    if swap:
        tensors = (tensors[1], tensors[0], *tensors[2:])
    shape = [t._data.size for t in tensors]
    grids = []
    for i, t in enumerate(tensors):
        view_shape = [1] * len(tensors)
        view_shape[i] = -1
        grids.append(t.view(view_shape).expand(shape))
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)
