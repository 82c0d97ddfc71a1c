"""Order statistics: ``median`` (MedianBackward0 over all elements, saving self and result;
MedianBackward1 along a dim, saving the indices) and ``kthvalue`` (KthvalueBackward0, saving
the indices). Among equal values, the index is the one PyTorch's CPU kernels pick.

>>> import gradlens_core as torch
>>> torch.tensor([3., 1., 2.]).median()
tensor(2.)
"""

from __future__ import annotations

import math

import numpy as np

from ._autograd import node_class
from ._ops import _extreme_all_bw, _extreme_dim_bw, _return_type, no_kernel
from ._tensor import Tensor, autograd_first, record, symint_arg

_wrap = Tensor._wrap
_median_rt, _kthvalue_rt = _return_type("median"), _return_type("kthvalue")

node_class("MedianBackward0", _extreme_all_bw)
node_class("MedianBackward1", _extreme_dim_bw)
node_class("KthvalueBackward0", _extreme_dim_bw)


def _check_dtype(input: Tensor, kernel: str) -> None:
    if input._data.dtype == np.bool_:
        raise no_kernel(kernel, input.dtype)


_ALL = object()  # median() over all elements (None is refused, as by PyTorch's parser)


@autograd_first(call=("median", False))
def median(input, dim=_ALL, keepdim=False):
    """The lower median of all elements (MedianBackward0: ties share the grad), or the
    (values, indices) of the lower median along ``dim`` (MedianBackward1). A nan is the
    median of a row that holds one (the first nan's index).

    >>> import gradlens_core as torch
    >>> torch.tensor([[1., 5., 2.], [4., 0., 4.]]).median(1)
    torch.return_types.median(
    values=tensor([2., 4.]),
    indices=tensor([2, 0]))
    """
    _check_dtype(input, "median_cpu")
    data = input._data
    if keepdim.__class__ is not bool:
        raise TypeError("median(): argument 'keepdim' must be bool")
    if dim is _ALL:
        flat = data.reshape(-1)
        if flat.size == 0:
            res = np.asarray(np.nan, dtype=data.dtype)
        elif flat.dtype.kind == "f" and np.isnan(flat).any():
            res = np.asarray(np.nan, dtype=data.dtype)
        else:
            res = np.asarray(np.sort(flat)[(flat.size - 1) // 2])
        node = node_class("MedianBackward0")
        return record(_wrap(res), node, (input,), (input,), save_output=True, op="median")
    d = input._wrap_dim(dim, max(data.ndim, 1))
    if data.ndim == 0:
        return _picked(input, np.zeros((), np.int64), None, keepdim, "MedianBackward1", "median", _median_rt, dim)
    if data.shape[d] == 0:
        raise IndexError(f"median(): Expected reduction dim {d} to have non-zero size.")
    n = data.shape[d]
    # median_with_indices_impl: the first nan of a row, else nth_element on (value, index) pairs
    order = np.argsort(data, axis=d, kind="stable")
    idx = np.take(order, [(n - 1) // 2], axis=d)
    if data.dtype.kind == "f":
        nan = np.isnan(data)
        has_nan = nan.any(axis=d, keepdims=True)
        idx = np.where(has_nan, np.argmax(nan, axis=d, keepdims=True), idx)
    return _picked(input, idx, d, keepdim, "MedianBackward1", "median", _median_rt, dim)


@autograd_first(call=("kthvalue", False))
def kthvalue(input, k, dim=-1, keepdim=False):
    """The ``k``-th smallest values along ``dim`` and their indices (KthvalueBackward0).

    >>> import gradlens_core as torch
    >>> torch.kthvalue(torch.tensor([3., 1., 2.]), 2)
    torch.return_types.kthvalue(
    values=tensor(2.),
    indices=tensor(2))
    """
    if k.__class__ is not int:
        k = symint_arg(k, "k")
    if keepdim.__class__ is not bool:
        raise TypeError("kthvalue(): argument 'keepdim' must be bool")
    _check_dtype(input, "kthvalue_cpu")
    data = input._data
    d = input._wrap_dim(dim, max(data.ndim, 1))
    n = data.shape[d] if data.ndim else 1
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    if data.ndim == 0:
        return _picked(input, np.zeros((), np.int64), None, keepdim, "KthvalueBackward0", "kthvalue", _kthvalue_rt, dim)
    rows = np.moveaxis(data, d, -1).reshape(-1, n)
    order = np.argsort(rows, axis=1, kind="stable")
    picked = order[:, k - 1].copy()
    s = np.take_along_axis(rows, order, axis=1)
    ties = (s[:, 1:] == s[:, :-1]).any(axis=1)
    if s.dtype.kind == "f":
        ties |= np.isnan(s).sum(axis=1) > 1
    for r in np.flatnonzero(ties):  # the index depends on PyTorch's quickselect
        picked[r] = _quick_select(rows[r].tolist(), k - 1)
    idx = np.expand_dims(picked.reshape(np.moveaxis(data, d, -1).shape[:-1]), d)
    return _picked(input, idx, d, keepdim, "KthvalueBackward0", "kthvalue", _kthvalue_rt, dim)


def _picked(input, idx, d, keepdim, node_name, op, rt, dim):
    """(values, indices) at ``idx`` (indices along ``d``, kept dim), as value-selecting
    reductions record them (the grad is scattered back at the indices). ``dim``: as given
    (PyTorch's ``_saved_dim``)."""
    data = input._data
    if d is None:
        values, idx = data.copy(), np.asarray(idx, dtype=np.int64)
    else:
        idx = np.asarray(idx, dtype=np.int64)
        values = np.take_along_axis(data, idx, axis=d)
        if not keepdim:
            values, idx = values.squeeze(d), idx.squeeze(d)
    idx_t = _wrap(np.array(idx, order="C"))
    ctx = (data.shape, d, keepdim, dim)
    vals = record(_wrap(np.array(values, order="C")), node_class(node_name), (input,), (idx_t,), ctx=ctx, op=op)
    return rt(vals, idx_t)


def _quick_select(values: list, k: int) -> int:
    """The index PyTorch's quick_select_template (SortingUtils.h) leaves at ``k``: median-of-three
    quickselect with nan largest, swapping (value, index) pairs."""
    isnan = math.isnan

    def gt(a, b):
        return (isnan(a) and not isnan(b)) or a > b

    arr = list(values)
    ind = list(range(len(arr)))

    def swap(i, j):
        arr[i], arr[j] = arr[j], arr[i]
        ind[i], ind[j] = ind[j], ind[i]

    lo, hi = 0, len(arr) - 1
    while True:
        if hi <= lo:
            return ind[k]
        if hi == lo + 1:
            if gt(arr[lo], arr[hi]):
                swap(lo, hi)
            return ind[k]
        p = lo + (hi - lo) // 2
        swap(p, lo + 1)
        if gt(arr[lo + 1], arr[hi]):
            swap(lo + 1, hi)
        if gt(arr[lo], arr[hi]):
            swap(lo, hi)
        if gt(arr[lo + 1], arr[lo]):
            swap(lo + 1, lo)
        i, j = lo + 1, hi
        piv = arr[lo]
        while True:
            i += 1
            while gt(piv, arr[i]):
                i += 1
            j -= 1
            while gt(arr[j], piv):
                j -= 1
            if j < i:
                break
            swap(i, j)
        swap(lo, j)
        if j <= k:
            lo = i
        if j >= k:
            hi = j - 1
