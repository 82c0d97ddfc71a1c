"""Ops that read or write a tensor at index positions: take, put_, index_fill_, index_copy_,
masked_scatter_ and fill_diagonal_ (each with its out-of-place form), with PyTorch's nodes
(TakeBackward0, PutBackward0, IndexFillBackward0/1, IndexCopyBackward0, MaskedScatterBackward0),
saved values and errors.

>>> import gradlens_core as torch
>>> x = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> x.take(torch.tensor([3, 0]))
tensor([4., 1.], grad_fn=<TakeBackward0>)
>>> x.index_fill(1, torch.tensor([0]), -1.0)
tensor([[-1.,  2.],
        [-1.,  4.]], grad_fn=<IndexFillBackward0>)
"""

from __future__ import annotations

import numpy as np

from . import _dtype
from ._argparse import MISSING, refuse_extra, refuse_unless
from ._autograd import backward_formula, node_class
from ._saved_attrs import Saved, _register, ctx
from ._tensor import Tensor, check_inplace, finish_inplace, record

# what each node shows as ``_saved_*`` (registered before the classes are made below)
_register("TakeBackward0", self=Saved(0), index=Saved(1))
_register("PutBackward0", index=Saved(0), source=Saved(1), accumulate=ctx())
_register("IndexFillBackward0 IndexFillBackward1", index=Saved(0), dim=ctx(unsigned=True))
_register(
    "IndexCopyBackward0",
    index=Saved(0),
    source=Saved(1),
    dim=ctx(unsigned=True),
    source_dim=lambda n: len(n._input_meta[1][0]),
)

__all__ = [
    "take",
    "put_",
    "put",
    "index_fill_",
    "index_fill",
    "index_copy_",
    "index_copy",
    "masked_scatter_",
    "masked_scatter",
    "fill_diagonal_",
]


def _data(x, ns):
    """A saved value as the formula's namespace holds it: the array on the fast path."""
    return x._data if ns.records_graph else x


def _flat_index(op: str, index: Tensor, numel: int) -> np.ndarray:
    """take's and put_'s index: int64 only, in [-numel, numel), negative ones counted from the end."""
    if index._data.dtype != np.int64:
        raise RuntimeError(f"{op}(): Expected a long tensor for index, but got {index.dtype._legacy}")
    idx = index._data.reshape(-1)
    bad = (idx < -numel) | (idx >= numel)
    if bad.any():
        raise IndexError(
            f"out of range: tried to access index {int(idx[bad.argmax()])} on a tensor of {numel} elements."
        )
    return np.where(idx < 0, idx + numel, idx)


# ----------------------------------------------------------------------------- take / put_
def take(input: Tensor, index: Tensor) -> Tensor:
    """``input`` read as if flat at ``index`` (the result has ``index``'s shape; TakeBackward0).

    >>> import gradlens_core as torch
    >>> torch.take(torch.tensor([[1, 2], [3, 4]]), torch.tensor([[0, 3]]))
    tensor([[1, 4]])
    """
    idx = _flat_index("take", index, input._data.size)
    res = np.ascontiguousarray(input._data.reshape(-1)[idx].reshape(index._data.shape))
    return record(Tensor._wrap(res), node_class("TakeBackward0"), (input,), (input, index), op="take")


@backward_formula("TakeBackward0")
def _take_bw(node, g, ns):
    # take_backward: zeros_like(self).put_(index, grad, accumulate=true)
    x, index = node.unpack(ns)
    if ns.records_graph:
        return (put_(ns.zeros(x._data.shape, g), index, g, True),)
    out = np.zeros(x.shape, dtype=g.dtype)
    np.add.at(out.reshape(-1), np.where(index < 0, index + out.size, index).reshape(-1), g.reshape(-1))
    return (out,)


def _put_args(self: Tensor, index: Tensor, source: Tensor):
    if index._data.size != source._data.size:
        raise IndexError(
            "put_(): Expected source and index to have the same number of elements, but got "
            f"source.numel() = {source._data.size}, index.numel() = {index._data.size}"
        )
    if self._data.dtype != source._data.dtype:
        raise RuntimeError(
            "put_(): self and source expected to have the same dtype, but got self.dtype = "
            f"{self.dtype._legacy} and source.dtype = {source.dtype._legacy}"
        )
    return _flat_index("put_", index, self._data.size)


def _put_values(data: np.ndarray, idx, source: Tensor, accumulate: bool) -> np.ndarray:
    out = np.array(data, copy=True)
    flat = out.reshape(-1)
    if accumulate:
        np.add.at(flat, idx, source._data.reshape(-1))
    else:
        flat[idx] = source._data.reshape(-1)  # a repeated index: the last write stays, as the CPU loop's
    return out


def put_(self, index=MISSING, source=MISSING, accumulate=False, *extra, _call=("put_", True), **unknown) -> Tensor:
    """Write ``source`` into ``self`` read as flat, at ``index`` (added with ``accumulate``);
    PutBackward0.

    >>> import gradlens_core as torch
    >>> torch.zeros(2, 2).put_(torch.tensor([1, 2]), torch.tensor([5.0, 6.0]))
    tensor([[0., 5.],
            [6., 0.]])
    """
    if (
        extra
        or unknown
        or not isinstance(index, Tensor)
        or not isinstance(source, Tensor)
        or accumulate.__class__ is not bool
    ):
        refuse_extra(_call, (self, index, source, accumulate), extra, unknown, (("accumulate", False),))
    check_inplace(self, "put_", (source,))
    idx = _put_args(self, index, source)
    self._data[...] = _put_values(self._data, idx, source, accumulate)
    saved = _put_saved(index, source, accumulate)
    return finish_inplace(self, "put_", node_class("PutBackward0"), (self, source), saved, ctx=accumulate)


def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """Out-of-place ``put_`` (PutBackward0)."""
    idx = _put_args(input, index, source)
    res = _put_values(input._data, idx, source, accumulate)
    saved = _put_saved(index, source, accumulate)
    return record(Tensor._wrap(res), node_class("PutBackward0"), (input, source), saved, ctx=accumulate, op="put")


def _put_saved(index, source, accumulate):
    return (index,) if accumulate else (index, source)  # with accumulate the source is not needed


@backward_formula("PutBackward0")
def _put_bw(node, g, ns):
    # self: accumulate ? grad : grad.put(index, zeros_like(source), false)
    # source: grad.take(index).reshape_as(source)
    index = node.saved_value(0, ns)
    accumulate = node._ctx
    source_shape = node._input_meta[1][0]
    gs = gx = None
    if node.needs(0):
        if accumulate:
            gx = g
        elif ns.records_graph:
            gx = put(g, index, ns.zeros(tuple(source_shape), g), False)
        else:
            gx = np.array(g, copy=True)
            gx.reshape(-1)[np.where(index < 0, index + g.size, index).reshape(-1)] = 0
    if node.needs(1):
        if ns.records_graph:
            gs = take(g, index).reshape(tuple(source_shape))
        else:
            gs = g.reshape(-1)[np.where(index < 0, index + g.size, index).reshape(-1)].reshape(source_shape)
    return gx, gs


# ----------------------------------------------------------------------------- index_fill_ / index_copy_
def _dim_index(op: str, self: Tensor, dim: int, index: Tensor, dtype_text: str):
    d = self._wrap_dim(dim)
    if index._data.dtype != np.int64:
        raise IndexError(dtype_text) if op == "index_fill_" else RuntimeError(dtype_text)
    if index._data.ndim > 1:
        raise RuntimeError("Index has to be a vector/scalar")
    return d, index._data.reshape(-1)


def _index_fill_args(self: Tensor, dim: int, index: Tensor, value):
    d, idx = _dim_index("index_fill_", self, dim, index, "index_fill_(): Expected dtype int64 for index.")
    n = self._data.shape[d] if self._data.ndim else 1
    bad = (idx < -n) | (idx >= n)
    if bad.any():
        raise IndexError(f"index {int(idx[bad.argmax()])} is out of bounds for dimension {d} with size {n}")
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(
                "index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                f"{value.ndim} dimension(s)."
            )
        v = value._data.item()
        node_cls, inputs = node_class("IndexFillBackward1"), (self, value)
    else:
        v, node_cls, inputs = value, node_class("IndexFillBackward0"), (self,)
    key = (slice(None),) * d + (np.where(idx < 0, idx + n, idx),) if self._data.ndim else ()
    return key, _dtype.checked_scalar(v, self.dtype), node_cls, inputs


def index_fill_(
    self, dim=MISSING, index=MISSING, value=MISSING, *extra, _call=("index_fill_", True), **unknown
) -> Tensor:
    """Fill the entries at ``index`` along ``dim`` with ``value`` (a number or a 0-d tensor).

    >>> import gradlens_core as torch
    >>> torch.zeros(2, 3).index_fill_(1, torch.tensor([0, 2]), 1.0)
    tensor([[1., 0., 1.],
            [1., 0., 1.]])
    """
    well_formed = not (extra or unknown) and isinstance(dim, int) and isinstance(index, Tensor) and value is not MISSING
    refuse_unless(well_formed, _call, (self, dim, index, value, *extra), unknown)
    check_inplace(self, "index_fill_", (value,))
    key, v, node_cls, inputs = _index_fill_args(self, dim, index, value)
    self._data[key] = v
    return finish_inplace(self, "index_fill_", node_cls, inputs, (index,), ctx=dim)


def index_fill(input: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """Out-of-place ``index_fill_`` (IndexFillBackward0, or 1 for a tensor value)."""
    key, v, node_cls, inputs = _index_fill_args(input, dim, index, value)
    res = np.array(input._data, copy=True)
    res[key] = v
    return record(Tensor._wrap(res), node_cls, inputs, (index,), ctx=dim, op="index_fill")


@backward_formula("IndexFillBackward0")
def _index_fill_bw(node, g, ns):
    return (_grad_index_filled(node, g, ns),)


@backward_formula("IndexFillBackward1")
def _index_fill_value_bw(node, g, ns):
    # value: grad.index_select(dim, std::get<0>(at::_unique(index, false))).sum()
    gx = _grad_index_filled(node, g, ns) if node.needs(0) else None
    gv = None
    if node.needs(1):
        index = node.saved_value(0, ns)
        dim = node._ctx
        uniq = np.unique(_data(index, ns))
        if ns.records_graph:
            from ._views import index_select

            gv = index_select(g, dim, Tensor._wrap(uniq)).sum() if g.ndim else g.sum()
        else:
            d = dim % g.ndim if g.ndim else 0
            gv = (np.take(g, uniq, axis=d) if g.ndim else g).sum(dtype=g.dtype)
            gv = np.asarray(gv, dtype=g.dtype)
    return gx, gv


def _grad_index_filled(node, g, ns):
    # self: grad.index_fill(dim, index, 0)
    index = node.saved_value(0, ns)
    dim = node._ctx
    if ns.records_graph:
        return index_fill(g, dim, index, 0)
    out = np.array(g, copy=True)
    if out.ndim:
        d = dim % out.ndim
        idx = index.reshape(-1)
        out[(slice(None),) * d + (np.where(idx < 0, idx + out.shape[d], idx),)] = 0
    else:
        out[...] = 0
    return out


def _index_copy_args(self: Tensor, dim: int, index: Tensor, source: Tensor):
    d, idx = _dim_index(
        "index_copy_",
        self,
        dim,
        index,
        f"index_copy_(): Expected a long tensor for index, but got {index.dtype._legacy}",
    )
    n = self._data.shape[d] if self._data.ndim else 1
    src_n = source._data.shape[d] if source._data.ndim else 1
    if idx.size != src_n:
        raise IndexError(f"index_copy_(): Number of indices ({idx.size}) should be equal to source.size(dim) ({src_n})")
    if self._data.dtype != source._data.dtype:
        raise RuntimeError(
            "index_copy_(): self and source expected to have the same dtype, but got (self) "
            f"{self.dtype._legacy} and (source) {source.dtype._legacy}"
        )
    bad = (idx < 0) | (idx >= n)
    if bad.any():
        raise IndexError(
            f"index_copy_(): index {int(idx[bad.argmax()])} is out of bounds for dimension {d} with size {n}"
        )
    return ((slice(None),) * d + (idx,) if self._data.ndim else ()), d


def index_copy_(
    self, dim=MISSING, index=MISSING, source=MISSING, *extra, _call=("index_copy_", True), **unknown
) -> Tensor:
    """Copy the slices of ``source`` along ``dim`` to the positions ``index`` of ``self``.

    >>> import gradlens_core as torch
    >>> torch.zeros(2, 3).index_copy_(1, torch.tensor([2]), torch.ones(2, 1))
    tensor([[0., 0., 1.],
            [0., 0., 1.]])
    """
    well_formed = not (extra or unknown) and isinstance(dim, int) and isinstance(index, Tensor)
    refuse_unless(well_formed and isinstance(source, Tensor), _call, (self, dim, index, source, *extra), unknown)
    check_inplace(self, "index_copy_", (source,))
    key, d = _index_copy_args(self, dim, index, source)
    self._data[key] = source._data
    node = node_class("IndexCopyBackward0")
    return finish_inplace(self, "index_copy_", node, (self, source), (index, source), ctx=dim)


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """Out-of-place ``index_copy_`` (IndexCopyBackward0)."""
    key, d = _index_copy_args(input, dim, index, source)
    res = np.array(input._data, copy=True)
    res[key] = source._data
    node = node_class("IndexCopyBackward0")
    return record(Tensor._wrap(res), node, (input, source), (index, source), ctx=dim, op="index_copy")


@backward_formula("IndexCopyBackward0")
def _index_copy_bw(node, g, ns):
    # self: grad.index_fill(dim, index, 0); source: grad.index_select(dim, index).expand_as(source)
    gx = _grad_index_filled(node, g, ns) if node.needs(0) else None
    gs = None
    if node.needs(1):
        index = node.saved_value(0, ns)
        shape = tuple(node._input_meta[1][0])
        if ns.records_graph:
            from ._views import index_select

            gs = index_select(g, node._ctx, index) if g.ndim else g
            gs = gs.reshape(shape) if tuple(gs.shape) != shape else gs
        else:
            gs = np.take(g, index.reshape(-1), axis=node._ctx % g.ndim) if g.ndim else g
            gs = gs.reshape(shape)
    return gx, gs


# ----------------------------------------------------------------------------- masked_scatter_
class _MaskedScatterKey:
    """masked_scatter's node context: the positions written (masked_select's backward makes
    nodes of this class too, with the bare key of ``place_into``)."""

    __slots__ = ("key",)

    def __init__(self, key) -> None:
        self.key = key


def _masked_scatter_args(self: Tensor, mask: Tensor, source: Tensor, op: str = "masked_scatter_"):
    if mask._data.dtype != np.bool_:
        raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got mask with dtype {mask.dtype._legacy}")
    if self._data.dtype != source._data.dtype:
        raise RuntimeError(
            "masked_scatter: expected self and source to have same dtypes but got"
            f"{self.dtype._legacy} and {source.dtype._legacy}"
        )
    m = np.broadcast_to(mask._data, self._data.shape)
    key = np.nonzero(m)
    if key[0].size > source._data.size:
        raise RuntimeError("Number of elements of source < number of ones in mask")
    return key


def masked_scatter_(self, mask=MISSING, source=MISSING, *extra, _call=("masked_scatter_", True), **unknown) -> Tensor:
    """Copy ``source``'s elements, in order, to where ``mask`` is True (MaskedScatterBackward0).

    >>> import gradlens_core as torch
    >>> torch.zeros(3).masked_scatter_(torch.tensor([True, False, True]), torch.tensor([7.0, 8.0, 9.0]))
    tensor([7., 0., 8.])
    """
    well_formed = not (extra or unknown) and isinstance(mask, Tensor) and isinstance(source, Tensor)
    refuse_unless(well_formed, _call, (self, mask, source, *extra), unknown)
    check_inplace(self, "masked_scatter_", (source,))
    key = _masked_scatter_args(self, mask, source)
    self._data[key] = source._data.reshape(-1)[: key[0].size]
    node = node_class("MaskedScatterBackward0")
    return finish_inplace(self, "masked_scatter_", node, (self, source), (mask,), ctx=_MaskedScatterKey(key))


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """Out-of-place ``masked_scatter_`` (the input and mask broadcast together)."""
    shape = np.broadcast_shapes(input._data.shape, mask._data.shape)
    res = np.array(np.broadcast_to(input._data, shape), copy=True)
    key = _masked_scatter_args(Tensor._wrap(res), mask, source)
    res[key] = source._data.reshape(-1)[: key[0].size]
    node = node_class("MaskedScatterBackward0")
    return record(Tensor._wrap(res), node, (input, source), (mask,), ctx=_MaskedScatterKey(key), op="masked_scatter")


@backward_formula("MaskedScatterBackward0")
def _masked_scatter_bw(node, g, ns):
    # self: grad.masked_fill(mask, 0); source: masked_scatter_backward(grad, mask, source.sizes()):
    # the grad at the mask, padded with zeros to source's numel, viewed as source
    ctx = node._ctx
    if ctx.__class__ is not _MaskedScatterKey:
        from ._views import _placed_bw

        return _placed_bw(node, g, ns)  # masked_select's backward writes through this node too
    key = ctx.key
    (mask,) = node.unpack(ns)
    shape = tuple(node._input_meta[1][0])
    numel = int(np.prod(shape))
    gx = ns.masked_fill(g, mask, 0) if node.needs(0) else None
    gs = None
    if node.needs(1):
        picked = ns.take(g, key)
        missing = numel - key[0].size
        if missing > 0:
            picked = ns.cat([picked, ns.zeros((missing,), picked)], 0)
        gs = ns.reshape(picked, shape)
    return gx, gs


# ----------------------------------------------------------------------------- fill_diagonal_
def fill_diagonal_(self, fill_value=MISSING, wrap=False, *extra, _call=("fill_diagonal_", True), **unknown) -> Tensor:
    """Fill the main diagonal (all indices equal) with ``fill_value``; with ``wrap`` a tall
    matrix's diagonal starts again after a blank row (PyTorch's ``as_strided`` positions).
    The history is recorded as ``self[rows, cols] = fill_value`` (IndexPutBackward0), where
    PyTorch fills a strided view (CopySlices).

    >>> import gradlens_core as torch
    >>> torch.zeros(2, 3).fill_diagonal_(5)
    tensor([[5., 0., 0.],
            [0., 5., 0.]])
    """
    if extra or unknown or fill_value is MISSING or isinstance(fill_value, Tensor) or wrap.__class__ is not bool:
        refuse_extra(_call, (self, fill_value, wrap), extra, unknown, (("wrap", False),))
    shape = self._data.shape
    if len(shape) < 2:
        raise RuntimeError("dimensions must larger than 1")
    if len(shape) > 2 and len(set(shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    height, width = shape[0], shape[1]
    n = min(height, width)
    idx = np.arange(n)
    key = [idx] * len(shape)
    if wrap and len(shape) == 2 and height > width + 1:
        # the wrapped diagonal: as_strided(wrap_size, width + 1 elements) from row width + 1
        step = width + 1
        wrap_size = (height * width + step - 1) // step - n
        flat = (width + 1) * width + np.arange(wrap_size) * step
        key = [np.concatenate([idx, flat // width]), np.concatenate([idx, flat % width])]
    self[tuple(Tensor._wrap(k.astype(np.int64)) for k in key)] = fill_value
    return self
