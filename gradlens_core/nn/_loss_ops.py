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

from .. import _dtype, _reduce
from .._autograd import backward_formula, node_class
from .._ns import NUMPY as _NUMPY
from .._tensor import Tensor, autograd_first, finish_inplace, record
from ._reduction import MEAN, NONE

__all__ = ["mse_loss", "nll_loss", "mul_scalar", "div_scalar", "masked_fill"]


def _np(x):
    """The numpy values of a saved value (a Tensor when the backward records a graph)."""
    return x._data if isinstance(x, Tensor) else x


# ----------------------------------------------------------------------------- mse


def _mse_loss_backward(g, x, y, ctx, ns):
    """ATen's mse_loss_backward(grad, self, target): ``norm * (self - target) * grad``, norm =
    2/numel for 'mean', else 2; one node (MseLossBackwardBackward0, saving grad_output, self
    and target) under create_graph."""
    reduction, numel = ctx
    norm = 2.0 / numel if reduction == MEAN and numel else 2.0
    if ns.records_graph:
        values = np.asarray((x._data - y._data) * norm * g._data)
        return record(Tensor._wrap(values), _MseLossBackwardBackward0, (g, x, y), (g, x, y), ctx=ctx, op="mse_backward")
    return (x - y) * norm * g


def _mse_loss_double_backward(gg, ctx, ns):
    """FunctionsManual's mse_loss_double_backward: ``2 * grad``, divided by numel for 'mean'."""
    reduction, numel = ctx
    out = 2 * gg
    return out / numel if reduction == MEAN else out


def _mse_loss_bdb(node, gg, ns):
    # derivatives.yaml: grad_output: mse_loss_backward(grad, self, target);
    # self: mse_loss_double_backward(grad * grad_output, self); target: -mse_loss_double_backward(...)
    g, x, y = node.unpack(ns)
    ctx = node._ctx
    return (
        _mse_loss_backward(gg, x, y, ctx, ns) if node.needs(0) else None,
        _mse_loss_double_backward(gg * g, ctx, ns) if node.needs(1) else None,
        -_mse_loss_double_backward(gg * g, ctx, ns) if node.needs(2) else None,
    )


_MseLossBackwardBackward0 = node_class("MseLossBackwardBackward0", _mse_loss_bdb)


@backward_formula("MseLossBackward0")
def _mse_loss_bw(node, g, ns):
    x, y = node.unpack(ns)
    # derivatives.yaml: self: mse_loss_backward(grad, self, target); target: mse_loss_backward(grad,
    # target, self), so (y - x), not -(x - y), and 0 stays +0
    gx = _mse_loss_backward(g, x, y, node._ctx, ns) if node.needs(0) else None
    gy = _mse_loss_backward(g, y, x, node._ctx, ns) if node.needs(1) else None
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
            out = _reduce.mean_data(sq, tuple(range(sq.ndim)))  # at::mean_out: 0/0 -> nan on empty input
        else:
            out = _reduce.sum_data(sq, tuple(range(sq.ndim)))
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
    if ns.records_graph:
        # ATen's nll_loss_backward as one node (NllLossBackwardBackward0) over the grad and self
        # (target, weight and total_weight have no edges); it saves target and weight
        values = _nll_loss_bw(node, g._data, _NUMPY)[0]
        fused = _NllLossBackwardBackward0 if node.name() == "NllLossBackward0" else _NllLoss2DBackwardBackward0
        ctx = (node._ctx[0], node._ctx[1], node.name())
        return (record(Tensor._wrap(values), fused, (g, saved[0]), saved[1:2] + saved[3:], ctx=ctx, op="nll_backward"),)
    t, total_weight = _np(saved[1]), saved[2]
    weight = _np(saved[3]) if len(saved) > 3 else None
    reduction, ignore_index, shape, np_dtype = node._ctx
    valid, safe, w = _picked_weights(_rows(t, shape), weight, ignore_index, np_dtype)
    batched_shape = shape if len(shape) > 1 else (1,) + tuple(shape)
    if reduction == MEAN:
        # all targets ignored: total_weight is 0 and every grad stays 0 (PyTorch writes none)
        tw = float(_np(total_weight))
        g = g / total_weight if tw != 0 else g * 0
    gv = np.asarray(g, dtype=np_dtype)
    if reduction == NONE:
        gv = gv.reshape(safe.shape)
    # PyTorch writes -w * g only at kept targets; everything else stays exactly +0
    vals = np.where(valid, w * np.broadcast_to(-gv, safe.shape), 0)
    out = np.zeros(batched_shape, np_dtype)
    np.put_along_axis(out, safe[:, None], vals[:, None], axis=1)
    return (out.reshape(shape),)


def _nll_loss_bdb(node, gg, ns):
    # derivatives.yaml: grad_output: nll_loss(grad, target, weight, reduction, ignore_index);
    # self: zeros_like(grad)
    saved = node.unpack(ns)
    reduction, ignore_index, name = node._ctx
    weight = saved[1] if len(saved) > 1 else None
    if ns.records_graph:
        g_out = nll_loss(gg, saved[0], weight, reduction, ignore_index, name) if node.needs(0) else None
    else:
        g_out = _nll_loss_values(gg, saved[0], weight, reduction, ignore_index)[0] if node.needs(0) else None
    return g_out, ns.zeros_like(gg) if node.needs(1) else None


node_class("NllLossBackward0", _nll_loss_bw)
node_class("NllLoss2DBackward0", _nll_loss_bw)
_NllLossBackwardBackward0 = node_class("NllLossBackwardBackward0", _nll_loss_bdb)
_NllLoss2DBackwardBackward0 = node_class("NllLoss2DBackwardBackward0", _nll_loss_bdb)


@autograd_first
def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None, reduction: int, ignore_index: int, node_name: str):
    """Negative log likelihood of ``input`` (C,), (N, C) or (N, C, H, W) at class indices ``target``."""
    out, total_weight = _nll_loss_values(input._data, target._data, _np(weight), reduction, ignore_index)
    saved = (input, target, Tensor._wrap(total_weight)) + ((weight,) if weight is not None else ())
    ctx = (reduction, ignore_index, input._data.shape, input._data.dtype)
    return record(Tensor._wrap(out), node_class(node_name), (input,), saved, ctx=ctx, op="nll_loss")


def _nll_loss_values(x: np.ndarray, target: np.ndarray, weight, reduction: int, ignore_index: int):
    """(loss, total_weight) of nll_loss on arrays."""
    shape = x.shape
    xb = x if x.ndim > 1 else x[None]
    t = _rows(target, shape)
    n_classes = xb.shape[1]
    bad = (t != ignore_index) & ((t < 0) | (t >= n_classes))
    if bad.any():
        raise IndexError(f"Target {t[bad].flat[0]} is out of bounds.")
    w_np = None if weight is None else weight.astype(x.dtype, copy=False)
    valid, safe, w = _picked_weights(t, w_np, ignore_index, x.dtype)
    picked = np.take_along_axis(xb, safe[:, None], axis=1)[:, 0]
    # ignored targets give +0, not -0 (PyTorch writes 0 there rather than computing -x * 0)
    losses = np.where(valid, -picked * w, 0)  # ignored targets give +0, not -x * 0
    if reduction == NONE:
        return (losses if x.ndim > 1 else losses.reshape(())), np.zeros((), x.dtype)
    # the loss and the weights summed as nll_loss_out_frame adds them, sample by sample (in
    # C order of the batch and spatial dims); without weights the total is the count kept
    kept = valid.ravel()
    if w_np is None:
        total = np.asarray(x.dtype.type(np.count_nonzero(kept)))
    else:
        total = _reduce.nll_sum(w.ravel(), kept)
    out = _reduce.nll_sum(losses.ravel(), kept)
    if reduction == MEAN:
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.asarray(out / total)
    return out, total


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


def scalar_op_(t: Tensor, scalar: float, op: str) -> Tensor:
    """C++ ``t.mul_(scalar)`` / ``t.div_(scalar)`` in a formula, on the fresh ``t``: mul_.Scalar /
    div_.Scalar, which rebase ``t``'s history onto MulBackward1 / DivBackward1."""
    name = "MulBackward1" if op == "mul" else "DivBackward1"
    cls = _SCALAR_NODES[name][0]
    data = t._data
    np.multiply(data, scalar, out=data) if op == "mul" else np.true_divide(data, scalar, out=data)
    return finish_inplace(t, op + "_", cls, (t,), ctx=scalar)


def masked_fill(t: Tensor, mask: Tensor, value: float) -> Tensor:
    """``t.masked_fill(mask, value)`` (MaskedFillBackward0, saves the mask), out of place."""
    from .. import _ops

    return _ops.masked_fill(t, mask, value)
