"""The two loss kernels that PyTorch implements as single autograd nodes.

``mse_loss`` records ``MseLossBackward0`` (saves self and target) and ``nll_loss``
records ``NllLossBackward0`` / ``NllLoss2DBackward0`` (saves self, target, total_weight
and the class weight if any), so graphs, saved-tensor checks and printed ``grad_fn``
names are PyTorch's. Argument checking lives in :mod:`.functional`; these functions
expect validated, already broadcast inputs.

>>> import gradlens_core as torch
>>> x = torch.tensor([1., 2.], requires_grad=True)
>>> mse_loss(x, torch.tensor([0., 0.]), 1)
tensor(2.5000, grad_fn=<MseLossBackward0>)
"""

from __future__ import annotations

import numpy as np

from .. import _dtype
from .._autograd import backward_formula, node_class
from .._tensor import Tensor, record
from ._reduction import MEAN, NONE

__all__ = ["mse_loss", "nll_loss", "mul_scalar", "div_scalar", "masked_fill"]


def _np(x):
    """The numpy values of a saved value (a Tensor when the backward records a graph)."""
    return x._data if isinstance(x, Tensor) else x


# ----------------------------------------------------------------------------- mse


@backward_formula("MseLossBackward0")
def _mse_loss_bw(node, g, ns):
    x, y = node.unpack(ns)
    reduction, numel = node._ctx
    need_x = node.next_functions[0][0] is not None
    need_y = node.next_functions[1][0] is not None
    # PyTorch: norm * (input - target) * grad, norm = 2/numel for 'mean', else 2
    norm = 2.0 / numel if reduction == MEAN and numel else 2.0
    # the target's grad is mse_loss_backward(grad, target, self): (y - x), not -(x - y), so 0 stays +0
    gx = (x - y) * norm * g if need_x else None
    gy = (y - x) * norm * g if need_y else None
    return gx, gy


def mse_loss(input: Tensor, target: Tensor, reduction: int) -> Tensor:
    """Mean squared error of same-shaped tensors (dtype promoted like PyTorch)."""
    dt = _dtype.promote_types(input.dtype, target.dtype)
    if not dt.is_floating_point:
        raise NotImplementedError(f"\"mse_cpu\" not implemented for '{dt._legacy}'")
    a = input._data.astype(dt.np, copy=False)
    b = target._data.astype(dt.np, copy=False)
    d = a - b
    sq = d * d
    with np.errstate(invalid="ignore", divide="ignore"):
        if reduction == NONE:
            out = sq
        elif reduction == MEAN:
            out = np.asarray(sq.sum() / dt.np.type(sq.size))  # 0/0 -> nan on empty input, as PyTorch
        else:
            out = np.asarray(sq.sum())
    node = node_class("MseLossBackward0")
    return record(Tensor._wrap(out), node, (input, target), (input, target), ctx=(reduction, a.size), op="mse_loss")


# ----------------------------------------------------------------------------- nll


def _rows(target: np.ndarray, shape) -> np.ndarray:
    """Target as (N, *spatial) int64, the batch axis added for an unbatched (C,) input."""
    if len(shape) == 1:
        return target.reshape(1).astype(np.int64, copy=False)
    return target.reshape((shape[0],) + tuple(shape[2:])).astype(np.int64, copy=False)


def _picked_weights(t, weight, ignore_index, dtype):
    """(kept mask, safe class index per sample, its weight: 0 where the target is ignored)."""
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    w = weight[safe] if weight is not None else np.ones(safe.shape, dtype)
    return valid, safe, np.where(valid, w, 0).astype(dtype, copy=False)


def _nll_loss_bw(node, g, ns):
    saved = node.unpack(ns)
    t, total_weight = _np(saved[1]), saved[2]
    weight = _np(saved[3]) if len(saved) > 3 else None
    reduction, ignore_index, shape, np_dtype = node._ctx
    valid, safe, w = _picked_weights(_rows(t, shape), weight, ignore_index, np_dtype)
    batched_shape = shape if len(shape) > 1 else (1,) + tuple(shape)
    if reduction == MEAN:
        # all targets ignored: total_weight is 0 and every grad stays 0 (PyTorch writes none)
        tw = float(_np(total_weight))
        g = g / total_weight if tw != 0 else g * 0
    if not ns.records_graph:
        gv = np.asarray(g, dtype=np_dtype)
        if reduction == NONE:
            gv = gv.reshape(safe.shape)
        # PyTorch writes -w * g only at kept targets; everything else stays exactly +0
        vals = np.where(valid, w * np.broadcast_to(-gv, safe.shape), 0)
        out = np.zeros(batched_shape, np_dtype)
        np.put_along_axis(out, safe[:, None], vals[:, None], axis=1)
        return (out.reshape(shape),)
    # create_graph: the same values as (constant coefficient) * g, differentiable in g
    coef = np.zeros(batched_shape, np_dtype)
    np.put_along_axis(coef, safe[:, None], -w[:, None], axis=1)
    coef_t = Tensor._wrap(coef.reshape(shape))
    if reduction == NONE and len(shape) > 1:
        g = ns.reshape(g, (shape[0], 1) + tuple(shape[2:]))
    return (coef_t * g,)


node_class("NllLossBackward0", _nll_loss_bw)
node_class("NllLoss2DBackward0", _nll_loss_bw)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None, reduction: int, ignore_index: int, node_name: str):
    """Negative log likelihood of ``input`` (C,), (N, C) or (N, C, H, W) at class indices ``target``."""
    x = input._data
    shape = x.shape
    xb = x if x.ndim > 1 else x[None]
    t = _rows(target._data, shape)
    n_classes = xb.shape[1]
    bad = (t != ignore_index) & ((t < 0) | (t >= n_classes))
    if bad.any():
        raise IndexError(f"Target {t[bad].flat[0]} is out of bounds.")
    w_np = None if weight is None else weight._data.astype(x.dtype, copy=False)
    valid, safe, w = _picked_weights(t, w_np, ignore_index, x.dtype)
    picked = np.take_along_axis(xb, safe[:, None], axis=1)[:, 0]
    # ignored targets give +0, not -0 (PyTorch writes 0 there rather than computing -x * 0)
    losses = np.where(valid, -picked * w, 0)  # ignored targets give +0, not -x * 0
    total = np.asarray(w.sum(dtype=x.dtype)) if reduction != NONE else np.zeros((), x.dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        if reduction == NONE:
            out = losses if x.ndim > 1 else losses.reshape(())
        elif reduction == MEAN:
            out = np.asarray(losses.sum(dtype=x.dtype) / total)
        else:
            out = np.asarray(losses.sum(dtype=x.dtype))
    total_weight = Tensor._wrap(total)
    saved = (input, target, total_weight) + ((weight,) if weight is not None else ())
    ctx = (reduction, ignore_index, shape, x.dtype)
    return record(Tensor._wrap(out), node_class(node_name), (input,), saved, ctx=ctx, op="nll_loss")


# ----------------------------------------------------------------------------- Scalar overloads
# ATen code such as cross_entropy multiplies by C++ scalars (mul.Scalar / div.Scalar), which
# PyTorch records as MulBackward1 / DivBackward1; Python's ``t * 2`` gives MulBackward0.


def _mul_scalar_bw(node, g, ns):
    return (g * node._ctx,)


def _div_scalar_bw(node, g, ns):
    return (g / node._ctx,)


_SCALAR_NODES = {
    "MulBackward1": (node_class("MulBackward1", _mul_scalar_bw), _mul_scalar_bw),
    "DivBackward1": (node_class("DivBackward1", _div_scalar_bw), _div_scalar_bw),
}


def _scalar_op(t: Tensor, scalar, name: str, fallback, saved=()):
    cls, formula = _SCALAR_NODES[name]
    if cls._formula is not formula:  # the engine registered this name first: use its plain op
        return fallback(t, scalar)
    data = fallback(Tensor._wrap(t._data), scalar)._data
    return record(Tensor._wrap(data), cls, (t,), saved, ctx=scalar, op=name[: name.index("Backward")].lower())


def mul_scalar(t: Tensor, scalar: float) -> Tensor:
    """``t * scalar`` recorded as PyTorch's mul.Scalar (MulBackward1)."""
    return _scalar_op(t, scalar, "MulBackward1", lambda a, s: a * s)


def div_scalar(t: Tensor, scalar: float) -> Tensor:
    """``t / scalar`` recorded as PyTorch's div.Scalar (DivBackward1)."""
    return _scalar_op(t, scalar, "DivBackward1", lambda a, s: a / s)


def masked_fill(t: Tensor, mask: Tensor, value: float) -> Tensor:
    """``t.masked_fill(mask, value)`` (MaskedFillBackward0, saves the mask), out of place."""
    from .. import _ops

    return _ops.masked_fill(t, mask, value)
