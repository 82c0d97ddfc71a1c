"""Ops along one dim: ``flip``, ``cumsum`` and ``cumprod`` (FlipBackward0, CumsumBackward0,
CumprodBackward0), with PyTorch's formulas from ``FunctionsManual.cpp``.

prod's zero-safe backward is built from them, so under ``create_graph=True`` it records
the graph PyTorch records.

>>> import gradlens_core as torch
>>> x = torch.tensor([1., 2., 3.], requires_grad=True)
>>> y = x.cumprod(0)
>>> y
tensor([1., 2., 6.], grad_fn=<CumprodBackward0>)
>>> y.sum().backward()
>>> x.grad
tensor([9., 4., 2.])
"""

from __future__ import annotations

import math

import numpy as np

from ._autograd import backward_formula, node_class
from ._dtype import from_numpy_dtype
from ._factories import ones, zeros
from ._layout import empty_preserving
from ._ns import NUMPY, accumulated
from ._ops import _reduce_dtype, cat
from ._reduce import cumsum_data
from ._tensor import Tensor, autograd_first, record

_wrap = Tensor._wrap


def _dims_list(self: Tensor, dims) -> tuple:
    if not isinstance(dims, (list, tuple)):  # (an int, a tensor)
        raise TypeError(f"flip(): argument 'dims' (position 2) must be tuple of ints, not {type(dims).__name__}")
    wrapped = tuple(self._wrap_dim(d) for d in dims)
    for d in wrapped:
        if wrapped.count(d) > 1:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return wrapped


@autograd_first(call=("flip", False))
def flip(input: Tensor, dims) -> Tensor:
    """A copy of ``input`` reversed along ``dims`` (FlipBackward0: the grad flipped back).

    >>> import gradlens_core as torch
    >>> torch.flip(torch.arange(3), [0])
    tensor([2, 1, 0])
    """
    wrapped = _dims_list(input, dims)
    # the node keeps the dims as given, as PyTorch's (``_saved_dims``); its formula flips by them
    kept = tuple(d if d.__class__ is int else w for d, w in zip(dims, wrapped))
    return record(_wrap(_flipped(input._data, wrapped)), node_class("FlipBackward0"), (input,), ctx=kept, op="flip")


def _flipped(a: np.ndarray, dims: tuple) -> np.ndarray:
    """A copy of ``a`` reversed along ``dims``, laid out as PyTorch's flip lays it out (its
    kernel writes into empty_like(self))."""
    out = empty_preserving(a)
    np.copyto(out, np.flip(a, dims) if a.ndim else a)
    return out


@backward_formula("FlipBackward0")
def _flip_bw(node, g, ns):
    dims = node._ctx
    if ns.records_graph:
        return (g.flip(dims),)
    return (_flipped(g, dims),)


def _scan(input: Tensor, dim: int, dtype, ufunc, op: str) -> tuple:
    """(the wrapped dim, the accumulated values in the result dtype, C-contiguous)."""
    d = input._wrap_dim(dim)
    data = input._data.astype(_reduce_dtype(input, dtype), copy=False)  # int64 for integers
    if data.dtype == np.bool_:  # dtype=torch.bool (a bool input alone scans in int64)
        raise NotImplementedError(f"\"{op}_out_cpu\" not implemented for 'Bool'")
    with np.errstate(over="ignore", invalid="ignore"):
        if ufunc is np.add and data.dtype.kind == "f" and data.ndim:
            res = cumsum_data(data, d)  # PyTorch's chain in double (float for half)
        else:
            res = accumulated(ufunc, data, d) if data.ndim else data.copy()
    # numpy accumulates small integers in 64 bits; the wrap-around to the dtype is the same
    return d, np.asarray(res, dtype=data.dtype, order="C")  # PyTorch allocates it contiguous


@autograd_first(call=("cumsum", False))
def cumsum(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Cumulative sum along ``dim`` (CumsumBackward0: the grad's reversed cumulative sum).

    >>> import gradlens_core as torch
    >>> torch.cumsum(torch.tensor([1., 2., 3.]), 0)
    tensor([1., 3., 6.])
    """
    d, res = _scan(input, dim, dtype, np.add, "cumsum")
    # the dim as given, as PyTorch's node keeps it (``_saved_dim``) and its formula uses it
    ctx = (dim if dim.__class__ is int else d, input._data.dtype)
    return record(_wrap(res), node_class("CumsumBackward0"), (input,), ctx=ctx, op="cumsum")


def _to_input_dtype(g, dtype, ns):
    """``grad.to(self.scalar_type())``: a scan with ``dtype=`` sends back its input's dtype."""
    if ns.records_graph:
        return g if g._data.dtype == dtype else g.to(from_numpy_dtype(dtype))
    return g if g.dtype == dtype else g.astype(dtype)


def _reversed_cumsum(w, dim: int, ns):
    """``w.flip(dim).cumsum(dim).flip(dim)``: the sum of each element and those after it."""
    if ns.records_graph:
        return w.flip([dim]).cumsum(dim).flip([dim])
    scan = cumsum_data if w.dtype.kind == "f" else lambda a, d: accumulated(np.add, a, d)
    return np.ascontiguousarray(np.flip(scan(np.flip(w, dim), dim), dim))


def _trivial(shape, dim: int) -> bool:
    """cumsum/cumprod_backward's trivial case (the grad as it is): at most one element, or one
    along ``dim``."""
    return math.prod(shape) <= 1 or shape[dim] == 1


@backward_formula("CumsumBackward0")
def _cumsum_bw(node, g, ns):
    dim, dtype = node._ctx
    g = _to_input_dtype(g, dtype, ns)
    if _trivial(g.shape, dim):
        return (g,)
    return (_reversed_cumsum(g, dim, ns),)


@autograd_first(call=("cumprod", False))
def cumprod(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Cumulative product along ``dim`` (CumprodBackward0; saves input and result).

    >>> import gradlens_core as torch
    >>> torch.cumprod(torch.tensor([1., 2., 3.]), 0)
    tensor([1., 2., 6.])
    """
    d, res = _scan(input, dim, dtype, np.multiply, "cumprod")
    node = node_class("CumprodBackward0")
    ctx = (d, dim if dim.__class__ is int else d)  # and the dim as given (PyTorch's ``_saved_dim``)
    return record(_wrap(res), node, (input,), (input,), ctx=ctx, save_output=True, op="cumprod")


@backward_formula("CumprodBackward0")
def _cumprod_bw(node, g, ns):
    """cumprod_backward: ``reversed_cumsum(result * grad) / input`` without zeros; with zeros,
    the O(n) masked formula, or under create_graph the O(n^2) one PyTorch differentiates."""
    x, out = node.unpack(ns)
    dim = node._ctx[0]
    g = _to_input_dtype(g, x._data.dtype if ns.records_graph else x.dtype, ns)
    if _trivial(x.shape, dim):
        return (g,)
    w = out * g  # computed (and recorded) before the test for zeros, as in PyTorch
    values = x._data if ns.records_graph else x
    if not np.any(values == 0):
        return (_reversed_cumsum(w, dim, ns) / x,)
    if ns.records_graph:
        return (_cumprod_bw_in_grad_mode(g, x, dim),)
    return (_cumprod_bw_with_zeros(g, x, out, w, dim),)


def _cumprod_bw_in_grad_mode(g: Tensor, x: Tensor, dim: int) -> Tensor:
    """cumprod_backward's branch for GradMode (create_graph) when ``x`` holds zeros: the O(n)
    formula's derivative is not cumprod's second derivative, so PyTorch builds each slice
    ``k`` of the grad from the products that omit ``x[k]`` (prod of the slices before it,
    times the cumprod of those after), ``sum(grad[k:] * omitted, dim)``, and copies it into
    ``zeros.select(dim, k)``: the result's history is CopySlices, at version ``n + 1``."""
    n = x.shape[dim]
    grad_input = zeros(x.shape, dtype=g.dtype)
    grad_input._version_counter[0] = 1  # at::zeros from C++ is empty + zero_(), an in-place edit
    ones_size = list(x.shape)
    ones_size[dim] = 1
    unit = ones(1, dtype=g.dtype).expand(ones_size)
    for k in range(n):
        if k == 0:
            omitted = cat([unit, x.narrow(dim, 1, n - 1).cumprod(dim)], dim)
        else:
            until_k = x.narrow(dim, 0, k).prod(dim, keepdim=True)
            if k == n - 1:
                omitted = until_k
            else:
                from_k_plus_1 = x.narrow(dim, k + 1, n - k - 1).cumprod(dim)
                omitted = cat([until_k, until_k.expand_as(from_k_plus_1) * from_k_plus_1], dim)
        grad_slice = (g.narrow(dim, k, n - k) * omitted).sum(dim)
        grad_input.select(dim, k).copy_(grad_slice)
    return grad_input


def _cumprod_bw_with_zeros(g, x, out, w, dim):
    """cumprod_backward without grad mode: before the first zero of a slice, the formula
    without zeros; at it, prod(x[:z1]) * sum(grad[z1:z2] * cumprod(x[z1+1:z2])); after it, 0."""
    grad_input = np.zeros(x.shape, g.dtype)
    zeros_seen = np.cumsum(x == 0, axis=dim)
    before = zeros_seen == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        head = _reversed_cumsum(np.where(before, w, 0), dim, NUMPY) / x
    grad_input[before] = head[before]
    span = zeros_seen == 1  # from the first zero to the second
    first = np.argmax(span, axis=dim, keepdims=True)
    first_mask = np.zeros(x.shape, bool)
    np.put_along_axis(first_mask, first, True, axis=dim)
    first_mask &= span
    span &= ~first_mask
    tail = accumulated(np.multiply, np.where(span, x, x.dtype.type(1)), dim) * np.where(zeros_seen != 1, 0, g)
    lead = np.take_along_axis(out, np.maximum(first - 1, 0), axis=dim)
    lead = np.where(first == 0, 1, lead)
    at_zero = np.broadcast_to(tail.sum(axis=dim, keepdims=True) * lead, x.shape)
    grad_input[first_mask] = at_zero[first_mask]
    return grad_input
