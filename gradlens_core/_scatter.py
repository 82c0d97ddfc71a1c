"""gather, scatter, scatter_add and index_add (and their in-place forms), as PyTorch's.

Each reads or writes ``self`` at an advanced-index key made from ``index``: for gather and
scatter, ``self[i][index[i][j]]`` along ``dim`` (the key is the index grid with ``index`` at
``dim``); for index_add, the whole slices ``index`` selects along ``dim``. The backward
formulas are derivatives.yaml's, over the key (``_views``' scatter section has the ones the
other backward formulas share).

>>> import gradlens_core as torch
>>> x = torch.tensor([[1., 2.], [3., 4.]], requires_grad=True)
>>> torch.gather(x, 1, torch.tensor([[1], [0]]))
tensor([[2.],
        [3.]], grad_fn=<GatherBackward0>)
"""

from __future__ import annotations

import numpy as np

from . import _dtype
from ._argparse import MISSING, refuse_extra
from ._autograd import NotImplementedNode, backward_formula, node_class
from ._tensor import Tensor, autograd_first, check_inplace, finish_inplace, record
from ._views import _gather_bw, _gathered_bw
from ._warn import warn_once

__all__ = ["gather", "index_add", "index_add_", "scatter", "scatter_", "scatter_add", "scatter_add_"]

_wrap = Tensor._wrap

# the formulas these nodes share with the backward formulas that scatter and gather
node_class("GatherBackward0", _gather_bw)
for _name in ("ScatterBackward0", "ScatterBackward1", "ScatterAddBackward0"):
    node_class(_name, _gathered_bw)


def _index_array(index, op: str, ints: str = "int32/int64") -> np.ndarray:
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}(): argument 'index' (position 3) must be Tensor, not {type(index).__name__}")
    idx = index._data
    if idx.dtype not in (np.int64, np.int32):
        raise RuntimeError(f"{op}(): Expected dtype {ints} for index")
    return idx


def _dim_of(self: Tensor, dim) -> int:
    """``dim`` wrapped as PyTorch wraps it (a 0-d tensor has one dim, of size 1)."""
    return self._wrap_dim(dim, max(self._data.ndim, 1))


def _sizes(a: np.ndarray) -> tuple:
    return a.shape if a.ndim else (1,)


def _key(idx: np.ndarray, d: int) -> tuple:
    """The advanced-index key of ``self[..., index[i][j], ...]`` (``index`` at ``d``)."""
    grid = list(np.indices(_sizes(idx), sparse=True))
    grid[d] = idx.reshape(_sizes(idx)).astype(np.intp)
    return tuple(grid)


def _check_bounds(idx: np.ndarray, n: int, d: int) -> None:
    bad = (idx < 0) | (idx >= n)
    if bad.any():
        raise RuntimeError(f"index {idx.flat[np.argmax(bad)]} is out of bounds for dimension {d} with size {n}")


def _check_scatter_shapes(self: np.ndarray, d: int, idx: np.ndarray, src: np.ndarray | None) -> None:
    """ATen's scatter_shape_check: index no larger than self (but at ``dim``) nor than src."""
    if not idx.size:
        return
    if max(idx.ndim, 1) != max(self.ndim, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    shape, ishape = _sizes(self), _sizes(idx)
    too_big = any(ishape[k] > shape[k] for k in range(len(shape)) if k != d)
    if src is None:
        if too_big:
            raise RuntimeError(
                f"Expected index {list(idx.shape)} to be no larger than self {list(self.shape)} apart from dimension {d}"
            )
        return
    if too_big or any(i > s for i, s in zip(ishape, _sizes(src))):
        raise RuntimeError(
            f"Expected index {list(idx.shape)} to be no larger than self {list(self.shape)} apart from dimension "
            f"{d} and to be no larger size than src {list(src.shape)}"
        )


# ----------------------------------------------------------------------------- gather


@autograd_first(call=("gather", False))
def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """``out[i][j] = input[index[i][j]][j]`` along ``dim`` (GatherBackward0: saves input and index;
    the grad is added back at the index, repeats adding up).

    >>> import gradlens_core as torch
    >>> torch.gather(torch.tensor([[1, 2], [3, 4]]), 1, torch.tensor([[0, 0], [1, 0]]))
    tensor([[1, 1],
            [4, 3]])
    """
    d = _dim_of(input, dim)
    idx = _index_array(index, "gather")
    data = input._data
    if idx.size:
        if max(idx.ndim, 1) != max(data.ndim, 1):
            raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
        shape, ishape = _sizes(data), _sizes(idx)
        for k in range(len(shape)):
            if k != d and ishape[k] > shape[k]:
                raise RuntimeError(
                    f"Size does not match at dimension {k} expected index {list(idx.shape)} to be no larger than "
                    f"self {list(data.shape)} apart from dimension {d}"
                )
        _check_bounds(idx, shape[d], d)
    key = _key(idx, d)
    res = data.reshape(_sizes(data))[key] if idx.size else np.zeros(idx.shape, data.dtype)
    res = np.ascontiguousarray(res).reshape(idx.shape)  # (ascontiguousarray makes a 0-d array 1-d)
    ctx = (_sizes(data), key) if data.ndim else ((1,), key, ())
    # saved: self and index (their versions are checked by backward), dim as given
    node = node_class("GatherBackward0")
    out = record(_wrap(res), node, (input,), (input, index, dim), ctx=ctx, op="gather")
    return out


# ----------------------------------------------------------------------------- scatter


def _scatter_values(self: Tensor, dim, index, src, value, op: str, add: bool, reduce=None):
    """(values of self after the scatter, the key, the node class). ``reduce`` ("add" or
    "multiply"): the values are combined with self's (repeats too), and autograd has no
    derivative (PyTorch's NotImplemented node)."""
    if reduce is not None:
        if reduce not in ("add", "multiply"):
            raise RuntimeError("reduce argument must be either add or multiply.")
        if isinstance(src, Tensor):
            warn_once(
                "The reduce argument of torch.scatter with Tensor src is deprecated and will be removed in a future "
                "PyTorch release. Use torch.scatter_reduce instead for more reduction options.",
                None,
            )
    d = _dim_of(self, dim)
    idx = _index_array(index, "scatter")
    data = self._data
    if isinstance(src, Tensor):
        if src._data.dtype != data.dtype:
            raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
        _check_scatter_shapes(data, d, idx, src._data)
    else:
        _check_scatter_shapes(data, d, idx, None)
    if idx.size:
        _check_bounds(idx, _sizes(data)[d], d)
    key = _key(idx, d)
    out = np.array(data.reshape(_sizes(data)), copy=True)
    if idx.size:
        if isinstance(src, Tensor):
            s = src._data.reshape(_sizes(src._data))
            values = s[tuple(slice(0, n) for n in _sizes(idx))]
        else:
            values = np.asarray(value).astype(data.dtype)
        if add or reduce == "add":
            np.add.at(out, key, values)
        elif reduce == "multiply":
            np.multiply.at(out, key, values)
        else:
            out[key] = values
    if reduce is not None:
        return out.reshape(data.shape), key, NotImplementedNode
    name = "ScatterAddBackward0" if add else "ScatterBackward0" if isinstance(src, Tensor) else "ScatterBackward1"
    return out.reshape(data.shape), key, node_class(name)


def _src_or_value(src, value, op: str):
    if (src is None) == (value is None):
        raise TypeError(f"{op}() received an invalid combination of arguments - got neither or both src and value")
    if src is None:
        if isinstance(value, Tensor):
            return value, None  # (PyTorch's parser takes a tensor value as src)
        if not isinstance(value, (bool, int, float, np.number)):
            raise TypeError(f"{op}(): argument 'value' must be Number, not {type(value).__name__}")
        return None, value
    if not isinstance(src, Tensor):
        if isinstance(src, (bool, int, float, np.number)):
            return None, src
        raise TypeError(f"{op}(): argument 'src' (position 4) must be Tensor, not {type(src).__name__}")
    return src, None


@autograd_first(call=("scatter", False))
def scatter(input: Tensor, dim: int, index: Tensor, src=None, *, value=None, reduce=None) -> Tensor:
    """A copy of ``input`` with ``src[i][j]`` (or the number ``value``) written at
    ``index[i][j]`` along ``dim`` (ScatterBackward0, ScatterBackward1 for a value; both save
    index and dim), or added or multiplied in with ``reduce`` (no derivative; deprecated for
    a tensor ``src``, with PyTorch's warning).

    >>> import gradlens_core as torch
    >>> torch.zeros(2, 3).scatter(1, torch.tensor([[2], [0]]), 5.0)
    tensor([[0., 0., 5.],
            [5., 0., 0.]])
    """
    src, value = _src_or_value(src, value, "scatter")
    res, key, node = _scatter_values(input, dim, index, src, value, "scatter", False, reduce)
    inputs = (input,) if src is None else (input, src)
    if node is NotImplementedNode:
        return record(_wrap(res), node, inputs, ctx="aten::scatter", op="scatter", grad_edges_only=True)
    return record(_wrap(res), node, inputs, (index, dim), ctx=key, op="scatter")


@autograd_first(call=("scatter_add", False))
def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of ``input`` with ``src[i][j]`` added at ``index[i][j]`` along ``dim``, repeats adding
    up (ScatterAddBackward0: saves index and dim).

    >>> import gradlens_core as torch
    >>> torch.zeros(3).scatter_add(0, torch.tensor([0, 0, 2]), torch.ones(3))
    tensor([2., 0., 1.])
    """
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add(): argument 'src' (position 4) must be Tensor, not {type(src).__name__}")
    res, key, node = _scatter_values(input, dim, index, src, None, "scatter_add", add=True)
    return record(_wrap(res), node, (input, src), (index, dim), ctx=key, op="scatter_add")


def _inplace(self: Tensor, res: np.ndarray, op: str, node, inputs, saved, key) -> Tensor:
    self._data[...] = res
    return finish_inplace(self, op, node, inputs, saved, ctx=key)


def scatter_(
    self=MISSING,
    dim=MISSING,
    index=MISSING,
    src=MISSING,
    *extra,
    value=MISSING,
    reduce=None,
    _call=("scatter_", True),
    **unknown,
) -> Tensor:
    """In-place ``scatter`` (bumps the version counter)."""
    if extra or unknown or MISSING in (self, dim, index) or (src is MISSING) == (value is MISSING):
        given = {"value": (value, MISSING)} if value is not MISSING else {}
        refuse_extra(_call, (self, dim, index, src), extra, unknown, reduce=(reduce, None), **given)
    src = None if src is MISSING else src
    return _scatter_in_place(self, dim, index, src, None if value is MISSING else value, reduce)


@autograd_first
def _scatter_in_place(self: Tensor, dim: int, index: Tensor, src, value, reduce) -> Tensor:
    src, value = _src_or_value(src, value, "scatter_")
    check_inplace(self, "scatter_", () if src is None else (src,))
    res, key, node = _scatter_values(self, dim, index, src, value, "scatter_", False, reduce)
    inputs = (self,) if src is None else (self, src)
    if node is NotImplementedNode:
        self._data[...] = res
        edges = tuple(t for t in inputs if t.requires_grad)
        return finish_inplace(self, "scatter_", node, inputs, ctx="aten::scatter_", node_inputs=edges)
    return _inplace(self, res, "scatter_", node, inputs, (index, dim), key)


def scatter_add_(
    self=MISSING, dim=MISSING, index=MISSING, src=MISSING, *extra, _call=("scatter_add_", True), **unknown
) -> Tensor:
    """In-place ``scatter_add`` (bumps the version counter)."""
    if extra or unknown or MISSING in (self, dim, index, src) or not isinstance(index, Tensor):
        refuse_extra(_call, (self, dim, index, src), extra, unknown)
    return _scatter_add_in_place(self, dim, index, src)


@autograd_first
def _scatter_add_in_place(self: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add_(): argument 'src' (position 3) must be Tensor, not {type(src).__name__}")
    check_inplace(self, "scatter_add_", (src,))
    res, key, node = _scatter_values(self, dim, index, src, None, "scatter_add_", add=True)
    return _inplace(self, res, "scatter_add_", node, (self, src), (index, dim), key)


# ----------------------------------------------------------------------------- index_add


def _index_add_values(self: Tensor, dim, index, source, alpha):
    if not isinstance(alpha, (bool, int, float, complex, np.number)):
        raise TypeError(f"index_add(): argument 'alpha' must be Number, not {type(alpha).__name__}")
    d = _dim_of(self, dim)
    if not isinstance(source, Tensor):
        raise TypeError(f"index_add(): argument 'source' (position 4) must be Tensor, not {type(source).__name__}")
    if not isinstance(index, Tensor):
        raise TypeError(f"index_add(): argument 'index' (position 3) must be Tensor, not {type(index).__name__}")
    idx = index._data
    if idx.ndim > 1:
        raise IndexError(
            f"index_add_(): Index is supposed to be a vector, but got dim: {idx.ndim} with type: "
            f"{_dtype.from_numpy_dtype(idx.dtype)._legacy} and size: {list(idx.shape)}"
        )
    if idx.dtype not in (np.int64, np.int32):
        raise RuntimeError(
            f"index_add_(): Expected dtype int32/int64 for index but got: {_dtype.from_numpy_dtype(idx.dtype)._legacy}"
        )
    data, src = self._data, source._data
    if src.dtype != data.dtype:
        raise RuntimeError(
            f"index_add_(): self ({self.dtype._legacy}) and source ({source.dtype._legacy}) must have the same "
            "scalar type"
        )
    n_src = src.shape[d] if src.ndim else 1
    if idx.size != n_src:
        raise RuntimeError(
            f"index_add_(): Number of indices ({idx.size}) should be equal to source.size(dim): ({n_src}), for dim: {d}"
        )
    shape = _sizes(data)
    if src.ndim != data.ndim or any(a != b for k, (a, b) in enumerate(zip(data.shape, src.shape)) if k != d):
        raise RuntimeError(
            "source tensor shape must match self tensor shape, excluding the specified dimension. Got self.shape = "
            f"{list(data.shape)} source.shape = {list(src.shape)}"
        )
    flat = idx.reshape(-1).astype(np.intp)
    _check_bounds(flat, shape[d], d)
    key = (slice(None),) * d + (flat,)
    out = np.array(data.reshape(shape), copy=True)
    values = src.reshape(_sizes(src)) if src.ndim else src.reshape(shape[:d] + (1,) + shape[d + 1 :])
    if alpha != 1:
        values = values * np.asarray(alpha).astype(data.dtype)
    np.add.at(out, key, values)
    return out.reshape(data.shape), key


@autograd_first(call=("index_add", False))
def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """A copy of ``input`` with ``alpha * source``'s slices added at ``index`` along ``dim``
    (IndexAddBackward0: saves index and source, whose grad is ``grad.index_select(dim, index)``).

    >>> import gradlens_core as torch
    >>> torch.zeros(3, 2).index_add(0, torch.tensor([2, 0]), torch.ones(2, 2))
    tensor([[1., 1.],
            [0., 0.],
            [1., 1.]])
    """
    res, key = _index_add_values(input, dim, index, source, alpha)
    saved = (index, source, dim, alpha, source._data.ndim)
    return record(_wrap(res), node_class("IndexAddBackward0"), (input, source), saved, ctx=key, op="index_add")


def index_add_(
    self=MISSING, dim=MISSING, index=MISSING, source=MISSING, *extra, alpha=1, _call=("index_add_", True), **unknown
) -> Tensor:
    """In-place ``index_add`` (bumps the version counter)."""
    if extra or unknown or MISSING in (self, dim, index, source) or not isinstance(index, Tensor):
        refuse_extra(_call, (self, dim, index, source), extra, unknown, alpha=(alpha, 1))
    return _index_add_in_place(self, dim, index, source, alpha)


@autograd_first
def _index_add_in_place(self: Tensor, dim: int, index: Tensor, source: Tensor, alpha) -> Tensor:
    check_inplace(self, "index_add_", (source,))
    res, key = _index_add_values(self, dim, index, source, alpha)
    saved = (index, source, dim, alpha, source._data.ndim)
    return _inplace(self, res, "index_add_", node_class("IndexAddBackward0"), (self, source), saved, key)


@backward_formula("IndexAddBackward0")
def _index_add_bw(node, g, ns):
    """self: grad; source: ``maybe_multiply(grad.index_select(dim, index).expand_as(source), alpha)``
    (a 0-d source: ``grad.index_select(dim, index.squeeze(0))``). index_select's own backward
    makes this node too (into zeros, no self edge; it saved index, grad and dim only)."""
    held = node.unpack(ns)
    if len(held) < 5:  # index_select's backward: the grad read back at the key
        return (None, ns.take(g, node._ctx))
    index, source, dim, alpha, source_dim = held
    gsrc = None
    if node.needs(1):
        if ns.records_graph:
            picked = g.index_select(dim, index.squeeze(0) if not source_dim else index)
            gsrc = picked.expand_as(source) if source_dim else picked
            if alpha != 1:
                gsrc = gsrc * alpha
        else:
            gsrc = g[node._ctx]
            gsrc = np.broadcast_to(gsrc, source.shape) if source_dim else gsrc.reshape(source.shape)
            if alpha != 1:
                gsrc = gsrc * np.asarray(alpha).astype(g.dtype)
    return (g if node.needs(0) else None, gsrc)
