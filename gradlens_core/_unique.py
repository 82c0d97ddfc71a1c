"""``unique`` and ``bincount``: values counted, not differentiated.

>>> import gradlens_core as torch
>>> torch.unique(torch.tensor([3, 1, 3]), return_counts=True)
(tensor([1, 3]), tensor([1, 2]))
>>> torch.bincount(torch.tensor([0, 2, 2]))
tensor([1, 0, 2])
"""

from __future__ import annotations

import numpy as np

from ._autograd import NotImplementedNode, node_class
from ._ops import _nondiff
from ._tensor import Tensor, record

__all__ = ["bincount", "unique"]

_wrap = Tensor._wrap


def _not_implemented(op: str):
    def formula(node, grad, ns):
        raise NotImplementedError(f"the derivative for '{op}' is not implemented.")

    return formula


_Unique2Backward0 = node_class("Unique2Backward0", _not_implemented("_unique2"))
_UniqueDimBackward0 = node_class("UniqueDimBackward0", _not_implemented("unique_dim"))


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False, dim=None):
    """The distinct values of ``input`` in ascending order (also for ``sorted=False``, as
    PyTorch's CPU kernel gives them), or its distinct slices along ``dim``; with the int64
    ``inverse`` (where each element went) and ``counts`` when asked. The values get
    Unique2Backward0 (UniqueDimBackward0) when ``input`` requires grad, whose backward raises.

    >>> import gradlens_core as torch
    >>> torch.unique(torch.tensor([2, 1, 2]), return_inverse=True)
    (tensor([1, 2]), tensor([1, 0, 1]))
    """
    data = input._data
    if dim is None:
        values, inverse, counts = np.unique(data.reshape(-1), return_inverse=True, return_counts=True, equal_nan=False)
        inverse = inverse.reshape(data.shape)
        node = _Unique2Backward0
    else:
        d = input._wrap_dim(dim)
        if data.ndim == 0 or data.shape[d] == 0:
            values, inverse, counts = data.copy(), np.zeros(data.shape[d : d + 1], np.int64), np.zeros(0, np.int64)
        else:
            values, inverse, counts = np.unique(data, return_inverse=True, return_counts=True, axis=d)
            inverse = inverse.reshape(-1)
        node = _UniqueDimBackward0
    out = record(_wrap(np.ascontiguousarray(values)), node, (input,), op="unique")
    extra = []
    if return_inverse:
        extra.append(_nondiff(inverse.astype(np.int64), (input,), "unique"))
    if return_counts:
        extra.append(_nondiff(counts.astype(np.int64), (input,), "unique"))
    return (out, *extra) if extra else out


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """How often each value 0, 1, ... occurs in the 1-d non-negative integer ``input`` (at least
    ``minlength`` bins): int64, or the sums of ``weights`` (float32 for float32 weights, else
    float64; a NotImplemented node when they require grad).

    >>> import gradlens_core as torch
    >>> torch.bincount(torch.tensor([1, 1, 3]), minlength=5)
    tensor([0, 2, 0, 1, 0])
    """
    data = input._data
    if data.dtype.kind not in "iu":
        from ._ops import no_kernel

        raise no_kernel("bincount_cpu", input.dtype)
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if data.ndim != 1 or (data.size and data.min() < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is not None and (weights._data.ndim != 1 or weights._data.shape[0] != data.shape[0]):
        raise RuntimeError("weights should be 1-d and have the same length as input")
    n = max(int(data.max()) + 1 if data.size else 0, minlength)
    if weights is None:
        return _nondiff(np.bincount(data, minlength=n).astype(np.int64), (input,), "bincount")
    dtype = np.float32 if weights._data.dtype == np.float32 else np.float64
    res = np.zeros(n, np.float64)
    np.add.at(res, data, weights._data.astype(np.float64))  # (in the order of the input, as PyTorch adds)
    out = _wrap(res.astype(dtype))
    return record(out, NotImplementedNode, (input, weights), ctx="aten::bincount", op="bincount", grad_edges_only=True)


def _return_output(input, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    return unique(input, sorted, return_inverse, return_counts, dim)


# torch.unique: PyTorch's is made by boolean_dispatch, whose wrapper Python's own TypeErrors name
torch_unique = _return_output
torch_unique.__doc__ = unique.__doc__
