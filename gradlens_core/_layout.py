"""Memory layouts as PyTorch picks them.

numpy and PyTorch agree on C-contiguous operands, which is the common case and costs one
stride comparison here. They differ elsewhere: TensorIterator orders an elementwise output's
dims by its operands' strides (the first operand that tells two dims apart decides, where
numpy falls back to C order), and ``clone``/``*_like`` keep a dense tensor's strides exactly.
The layout is visible: it decides whether a later ``view``/``flatten`` can alias or must copy.

>>> a = np.ones((2, 3)).T
>>> in_operands_layout(a + np.ones((3, 2)), a).flags.f_contiguous
True
>>> empty_preserving(a).strides == a.strides
True
"""

from __future__ import annotations

import numpy as np

from ._autograd import non_overlapping_and_dense

__all__ = ["in_operands_layout", "empty_preserving", "empty_strided", "preserved_copy", "apply_in_iteration_order"]

_ndarray = np.ndarray


def in_operands_layout(res: np.ndarray, *operands) -> np.ndarray:
    """``res`` laid out in memory as PyTorch's TensorIterator lays out an elementwise op's
    output: dims ordered by the operands' strides, the first operand that tells two dims
    apart deciding (numpy's ufuncs fall back to C order when operands disagree, and
    ``np.where`` always returns C order). Copies only when the layouts differ, so the
    common case (every operand C-contiguous) costs one flag test per operand.

    """
    if res.ndim < 2:
        return res
    arrays = [a for a in operands if a.__class__ is _ndarray and a.ndim]
    if all(a.strides == _c_strides(a.shape, a.itemsize) for a in arrays):
        return res  # numpy and TensorIterator agree: C order
    shape = res.shape
    out = _empty_in_order(shape, res.dtype, _iteration_order(shape, [_broadcast_strides(a, shape) for a in arrays]))
    if out.strides == res.strides:
        return res
    np.copyto(out, res)
    return out


_C_STRIDES: dict = {}


def _c_strides(shape, itemsize) -> tuple:
    """The strides of a C-contiguous array (size-1 dims included, as numpy allocates them)."""
    key = (shape, itemsize)
    strides = _C_STRIDES.get(key)
    if strides is None:
        if len(_C_STRIDES) > 4096:  # shapes vary without bound: keep the cache small
            _C_STRIDES.clear()
        strides, step = [], itemsize
        for n in reversed(shape):
            strides.append(step)
            step *= n
        strides = _C_STRIDES[key] = tuple(reversed(strides))
    return strides


def _broadcast_strides(a: np.ndarray, shape) -> tuple:
    """``a``'s strides broadcast to ``shape`` as TensorIterator sees them: 0 for new and
    stretched dims, a size-1 dim that stays size 1 keeps its stride (np.broadcast_to zeroes it)."""
    lead = len(shape) - a.ndim
    return (0,) * lead + tuple(
        0 if n == 1 and shape[lead + i] != 1 else st for i, (n, st) in enumerate(zip(a.shape, a.strides))
    )


def _iteration_order(shape, strides) -> list:
    """The dims from slowest to fastest, as TensorIterator's reorder_dimensions sorts them:
    an insertion sort from C order where, for each pair of dims, the first operand whose
    strides (non-zero) differ decides, and equal strides put the smaller dim faster."""

    def should_swap(d0, d1):
        for st in strides:
            s0, s1 = st[d0], st[d1]
            if s0 == 0 or s1 == 0:
                continue
            if s0 != s1:
                return 1 if s0 > s1 else -1
            if shape[d0] > shape[d1]:
                return 1
        return 0

    perm = list(range(len(shape) - 1, -1, -1))  # fastest first
    for i in range(1, len(perm)):
        d1 = i
        for d0 in range(i - 1, -1, -1):
            c = should_swap(perm[d0], perm[d1])
            if c > 0:
                perm[d0], perm[d1] = perm[d1], perm[d0]
                d1 = d0
            elif c < 0:
                break
    return perm[::-1]


def _empty_in_order(shape, dtype, order) -> np.ndarray:
    """An uninitialised array whose dims lie in memory in ``order`` (slowest first)."""
    return np.empty([shape[d] for d in order], dtype).transpose(np.argsort(order))


def empty_preserving(a: np.ndarray, dtype=None) -> np.ndarray:
    """An uninitialised array shaped as ``a`` and laid out as PyTorch's empty_like with
    preserve_format: a dense ``a``'s strides exactly, else its dims in TensorIterator's order."""
    dtype = a.dtype if dtype is None else np.dtype(dtype)
    # (a one-element 1-d tensor is dense whatever its stride, e.g. 0 when expanded, and keeps it)
    if (a.ndim < 2 and a.size != 1) or a.strides == _c_strides(a.shape, a.itemsize):
        return np.empty(a.shape, dtype)
    if non_overlapping_and_dense(a):
        return empty_strided(a.shape, tuple(st // a.itemsize * dtype.itemsize for st in a.strides), dtype)
    return _empty_in_order(a.shape, dtype, _iteration_order(a.shape, [a.strides]))


def empty_strided(shape, strides, dtype) -> np.ndarray:
    """An uninitialised array with exactly these (non-negative, byte) strides over fresh
    memory just large enough, as PyTorch's empty_strided."""
    dtype = np.dtype(dtype)
    if 0 in shape or tuple(strides) == _c_strides(tuple(shape), dtype.itemsize):
        return np.empty(shape, dtype)  # an array that owns its memory (not a view of a buffer)
    elements = 1 + sum((n - 1) * st for n, st in zip(shape, strides)) // dtype.itemsize
    return np.lib.stride_tricks.as_strided(np.empty(elements, dtype), shape, strides)


def preserved_copy(a: np.ndarray) -> np.ndarray:
    """A copy of ``a`` laid out as PyTorch's clone lays it out (preserve_format)."""
    out = empty_preserving(a)
    np.copyto(out, a)
    return out


def apply_in_iteration_order(fn, out: np.ndarray, other: np.ndarray) -> None:
    """``out[...] = fn(out, other)`` one element at a time, in TensorIterator's order, each
    read of ``other`` seeing the writes before it. For an ``other`` that aliases ``out`` in a
    way PyTorch cannot analyse (neither is dense): PyTorch then refuses nothing, and its
    kernel loop reads what it already wrote (numpy would buffer a copy first)."""
    shape = out.shape
    live = np.lib.stride_tricks.as_strided(other, shape, _broadcast_strides(other, shape), writeable=False)
    order = _iteration_order(shape, [out.strides, live.strides])
    index = [0] * len(shape)
    for position in np.ndindex(*[shape[d] for d in order]):
        for d, i in zip(order, position):
            index[d] = i
        at = tuple(index)
        out[at] = fn(out[at], live[at])
