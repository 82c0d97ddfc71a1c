"""Ops that test or pick elements by their truth: ``any``, ``all``, ``nonzero``/``argwhere``
(no history) and ``masked_select`` (MaskedSelectBackward0, saving self and mask).

>>> import gradlens_core as torch
>>> x = torch.tensor([1., -2., 3.], requires_grad=True)
>>> x.masked_select(x > 0)
tensor([1., 3.], grad_fn=<MaskedSelectBackward0>)
>>> (x > 2).any()
tensor(True)
"""

from __future__ import annotations

import numpy as np

from . import _views
from ._argparse import refuse, refuse_given
from ._autograd import backward_formula, node_class
from ._layout import restrided
from ._math_ops import refuse_non_tensors
from ._ops import _nondiff, broadcast_error
from ._tensor import Tensor, autograd_first, record

_wrap = Tensor._wrap
_DIM_KEEPDIM = (("dim", None), ("keepdim", False))


def _truth_reduction(np_fn, op):
    def fn(input, dim=None, keepdim=False, *, _call=(op, False)):
        data = input._data
        try:
            if keepdim.__class__ is not bool:
                raise TypeError(f"{op}(): argument 'keepdim' must be bool, not {type(keepdim).__name__}")
            if dim is None:
                res = np.asarray(np_fn(data))
                if keepdim:
                    res = res.reshape((1,) * data.ndim)
            else:
                dims = dim if isinstance(dim, (list, tuple)) else (dim,)
                axes = tuple(sorted(input._wrap_dim(d) for d in dims)) if data.ndim else ()
                res = np.asarray(np_fn(data, axis=axes, keepdims=keepdim))
        except Exception:
            refuse_given(_call, (input, dim, keepdim), _DIM_KEEPDIM)
            raise
        # PyTorch keeps uint8 for a uint8 input (a legacy of masks before bool), else gives bool
        res = res.astype(np.uint8 if data.dtype == np.uint8 else np.bool_, copy=False)
        return _nondiff(res if res.ndim < 2 else np.ascontiguousarray(res), (input,), op)

    fn.__name__ = op
    fn.__doc__ = f"""Whether {"any" if op == "any" else "every"} element is nonzero, over all elements or
    over ``dim`` (an int or a tuple); no history.

    >>> import gradlens_core as torch
    >>> torch.{op}(torch.tensor([[1, 0], [1, 1]]), dim=1)
    tensor({"[True, True]" if op == "any" else "[False,  True]"})
    """
    return fn


any = _truth_reduction(np.any, "any")
all = _truth_reduction(np.all, "all")


def nonzero(input, *, as_tuple=False, _call=("nonzero", False)):
    """Indices of the nonzero elements: an int64 tensor of shape (n, ndim), or with
    ``as_tuple=True`` one 1-d tensor per dim (a 0-d input counts as 1-d); no history.

    >>> import gradlens_core as torch
    >>> torch.nonzero(torch.tensor([0, 3, 5]))
    tensor([[1],
            [2]])
    """
    data = input._data
    if as_tuple is not False:
        if as_tuple is not True:
            refuse(_call, (input,), as_tuple=(as_tuple, False))
        # PyTorch returns ``nonzero().unbind(1)``: views of one (n, ndim) result (its
        # columns, stride 1), sharing its version counter; a 0-d input counts as 1-d
        return _views.unbind(_nonzero_matrix(data.reshape(-1) if data.ndim == 0 else data, input), 1)
    return _nonzero_matrix(data, input)


def _nonzero_matrix(data: np.ndarray, input: Tensor) -> Tensor:
    """nonzero's (n, ndim) int64 result, laid out as PyTorch's kernel writes it."""
    if data.ndim == 0:
        res = np.zeros((1 if data else 0, 0), dtype=np.int64)
    else:
        # PyTorch's kernel writes the (n, ndim) result column by column: strides (1, n),
        # (1, 0) when empty (numpy would zero an empty array's strides)
        res = np.asfortranarray(np.argwhere(data), dtype=np.int64)
        if not res.size:
            res = restrided(res, (res.itemsize, 0))
    return _nondiff(res, (input,), "nonzero")


def argwhere(input):
    """``nonzero(input)`` (no history)."""
    return nonzero(input)


@autograd_first
def masked_select(input, mask, *, _call=("masked_select", False)):
    """The elements of ``input`` where ``mask`` (broadcast with it) holds, as a 1-d tensor
    (MaskedSelectBackward0; saves self and mask).

    >>> import gradlens_core as torch
    >>> torch.masked_select(torch.tensor([[1., 2.], [3., 4.]]), torch.tensor([True, False]))
    tensor([1., 3.])
    """
    refuse_non_tensors(_call, (input, mask))
    if mask._data.dtype != np.bool_:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    try:
        data, m = np.broadcast_arrays(input._data, mask._data)
    except ValueError:
        raise broadcast_error(mask.shape, input.shape) from None  # infer_size(mask, self)
    res = np.ascontiguousarray(data[m])
    node = node_class("MaskedSelectBackward0")
    return record(_wrap(res), node, (input,), (input, mask), op="masked_select")


@backward_formula("MaskedSelectBackward0")
def _masked_select_bw(node, g, ns):
    """masked_select_backward: zeros of the broadcast shape, ``masked_scatter_(mask, grad)``
    (MaskedScatterBackward0 under create_graph); the engine sums it to the input's shape."""
    x, mask = node.unpack(ns)
    xs = x._data.shape if ns.records_graph else x.shape
    ms = mask._data.shape if ns.records_graph else mask.shape
    mv = mask._data if ns.records_graph else mask
    shape = np.broadcast_shapes(xs, ms)
    key = np.nonzero(np.broadcast_to(mv, shape))
    return (ns.made_in_place(ns.index_add(g, shape, key, "MaskedScatterBackward0", (mask,)), 1),)
