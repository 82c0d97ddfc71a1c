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


# ----------------------------------------------------------------------------- shared by the losses below


def _reduced(loss: np.ndarray, reduction: int) -> np.ndarray:
    """apply_loss_reduction: ``loss.mean()`` / ``loss.sum()`` in PyTorch's order, or ``loss``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        if reduction == MEAN:
            return _reduce.mean_data(loss, tuple(range(loss.ndim)))
        if reduction == 2:
            return _reduce.sum_data(loss, tuple(range(loss.ndim)))
    return loss


def _mean_div(x, numel: int, reduction: int, ns):
    """C++ ``grad_input.div_(numel)`` for 'mean' (DivBackward1 under create_graph)."""
    if reduction != MEAN:
        return x
    return div_scalar(x, numel) if ns.records_graph else x / x.dtype.type(numel)


def _mask_like(cond, like, ns):
    """``cond.type_as(like)``."""
    return cond.type_as(like) if ns.records_graph else cond.astype(like.dtype)


# ----------------------------------------------------------------------------- binary cross entropy

_BCE_EPSILON = 1e-12


def _refuse_grad_of(op: str, **arguments) -> None:
    """The autograd kernel's check of arguments its formula cannot differentiate."""
    from .._grad_mode import is_grad_enabled

    for name, t in arguments.items():
        if t is not None and t.requires_grad and is_grad_enabled():
            raise RuntimeError(
                f"The function '{op}' is not differentiable with respect to argument '{name}'. This input cannot "
                "have requires_grad True."
            )


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None, reduction: int) -> Tensor:
    """ATen's binary_cross_entropy on same-shaped float tensors: ``-(t * max(log x, -100) +
    (1 - t) * max(log(1 - x), -100))``, times weight (BinaryCrossEntropyBackward0: saves self,
    target, weight and reduction)."""
    _refuse_grad_of("binary_cross_entropy", weight=weight)
    x, t = input._data, target._data
    if ((x < 0) | (x > 1)).any() or np.isnan(x).any():
        raise RuntimeError("all elements of input should be between 0 and 1")
    one = x.dtype.type(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        low = x.dtype.type(-100)
        loss = (t - one) * np.maximum(np.log1p(-x), low) - t * np.maximum(np.log(x), low)
    if weight is not None:
        loss = loss * weight._data
    out = _reduced(np.asarray(loss, dtype=x.dtype), reduction)
    node = node_class("BinaryCrossEntropyBackward0")
    inputs = (input, target)
    return record(Tensor._wrap(np.asarray(out)), node, inputs, (input, target, weight), ctx=reduction, op="bce")


def _bce_backward(g, x, t, w, reduction, ns):
    """ATen's binary_cross_entropy_backward: ``grad * (x - t) / max((1 - x) x, 1e-12)``, times
    weight, over numel for 'mean'; one node (BinaryCrossEntropyBackwardBackward0) under
    create_graph."""
    if ns.records_graph:
        values = _bce_backward(g._data, x._data, t._data, _np(w), reduction, _NUMPY)
        node = node_class("BinaryCrossEntropyBackwardBackward0", _bce_bb)
        inputs = (g, x, t, w)
        return record(Tensor._wrap(values), node, inputs, (g, x, t, w), ctx=reduction, op="bce_backward")
    one = x.dtype.type(1)
    res = g * (x - t) / np.maximum((one - x) * x, x.dtype.type(_BCE_EPSILON))
    if w is not None:
        res = res * w
    return np.asarray(_mean_div(np.asarray(res, dtype=x.dtype), x.size, reduction, ns))


def _bce_target_backward(g, x, t, w, reduction, ns):
    """FunctionsManual's binary_cross_entropy_target_backward: ``-logit(self) * grad``, times
    weight, over numel for 'mean'."""
    if ns.records_graph:
        res = -(ns.log(x) - (-x).log1p()) * g
    else:
        with np.errstate(divide="ignore"):
            res = -(np.log(x) - np.log1p(-x)) * g
    if w is not None:
        res = res * w
    return _mean_div(res, _numel(t), reduction, ns)


def _numel(t) -> int:
    return t.numel() if isinstance(t, Tensor) else t.size


@backward_formula("BinaryCrossEntropyBackward0")
def _bce_bw(node, g, ns):
    x, t, w = node.unpack(ns)
    reduction = node._ctx
    gx = _bce_backward(g, x, t, w, reduction, ns) if node.needs(0) else None
    gt = _bce_target_backward(g, x, t, w, reduction, ns) if node.needs(1) else None
    return gx, gt


def _bce_bb(node, gg, ns):
    """derivatives.yaml (binary_cross_entropy_backward): grad_output, self and target get
    FunctionsManual's binary_cross_entropy_double_backward{_grad_output,,_target}."""
    g, x, t, w = node.unpack(ns)
    reduction = node._ctx
    eps = _BCE_EPSILON
    ggo = gx = gt = None
    if node.needs(0):
        ggo = (x - t) / ((x + eps) * (1 - x + eps)) * gg
        if w is not None:
            ggo = ggo * w
        if reduction != NONE:
            ggo = ns.sum(ggo)
            ggo = _mean_div(ggo, _numel(x), reduction, ns)
    if node.needs(1):
        gx = (x * x - 2 * x * t + t) / ((x + eps) ** 2 * (1 - x + eps) ** 2) * (gg * g)
        if w is not None:
            gx = gx * w
        gx = _mean_div(gx, _numel(x), reduction, ns)
    if node.needs(2):
        res = -gg * g
        if w is not None:
            res = res * w
        denom = (1 - x) * x
        denom = denom.detach().clamp_min(eps) if ns.records_graph else np.maximum(denom, eps)
        gt = _mean_div(res / denom, _numel(t), reduction, ns)
    return ggo, gx, gt, None


# ----------------------------------------------------------------------------- binary cross entropy with logits


def _np_log_sigmoid(z: np.ndarray) -> np.ndarray:
    """ATen's log_sigmoid: ``min(z, 0) - log1p(exp(-|z|))``."""
    return np.minimum(z, z.dtype.type(0)) - np.log1p(np.exp(-np.abs(z)))


def binary_cross_entropy_with_logits(input, target, weight, pos_weight, reduction: int) -> Tensor:
    """ATen's composite kernel, run as one node (BinaryCrossEntropyWithLogitsBackward0: saves
    self, target, weight, pos_weight and reduction): ``(1 - t) * x - log_weight * log_sigmoid(x)``
    with ``log_weight = (pos_weight - 1) * t + 1``, times weight."""
    _refuse_grad_of("binary_cross_entropy_with_logits", weight=weight, pos_weight=pos_weight)
    dt = _dtype.promote_types(input.dtype, target.dtype)
    x = input._data.astype(dt.np, copy=False)
    t = target._data.astype(dt.np, copy=False)
    one = x.dtype.type(1)
    with np.errstate(over="ignore", invalid="ignore"):
        log_sig = _np_log_sigmoid(x)
        if pos_weight is not None:
            log_sig = log_sig * ((pos_weight._data - one) * t + one)
        loss = (one - t) * x - log_sig
        if weight is not None:
            loss = loss * weight._data
    out = _reduced(np.asarray(loss, dtype=x.dtype), reduction)
    node = node_class("BinaryCrossEntropyWithLogitsBackward0")
    saved = (input, target, weight, pos_weight)
    return record(Tensor._wrap(np.asarray(out)), node, (input, target), saved, ctx=reduction, op="bce_with_logits")


@backward_formula("BinaryCrossEntropyWithLogitsBackward0")
def _bce_logits_bw(node, g, ns):
    """FunctionsManual's binary_cross_entropy_with_logits_backward and _target_backward (composite:
    under create_graph they record their ops)."""
    x, t, w, pw = node.unpack(ns)
    reduction = node._ctx
    gx = gt = None
    sig = x.sigmoid() if ns.records_graph else _np_sigmoid(x)
    if node.needs(0):
        if pw is not None:
            pt = pw * t
            gx = (pt + 1 - t) * sig - pt
        else:
            gx = sig - t
        gx = gx * g
        if w is not None:
            gx = gx * w
        gx = _mean_div(gx, _numel(x), reduction, ns)
    if node.needs(1):
        if pw is not None:
            if ns.records_graph:
                ls_neg, ls_pos = -_softplus_of(x), -_softplus_of(-x)
            else:
                ls_neg, ls_pos = _np_log_sigmoid(-x), _np_log_sigmoid(x)
            gt = (ls_neg - ls_pos * pw) * g
        else:
            gt = -x * g
        if w is not None:
            gt = gt * w
        gt = _mean_div(gt, _numel(t), reduction, ns)
    return gx, gt


def _softplus_of(x):
    from .. import _math_ops

    return _math_ops.softplus(x)


def _np_sigmoid(x):
    from .._ops import _np_sigmoid as sigmoid

    return sigmoid(x)


# ----------------------------------------------------------------------------- smooth_l1, huber


def _smooth_values(d: np.ndarray, beta, huber: bool) -> np.ndarray:
    z = np.abs(d)
    t = d.dtype.type
    if huber:
        return np.where(z < t(beta), t(0.5) * z * z, t(beta) * (z - t(0.5) * t(beta)))
    return np.where(z < t(beta), t(0.5) * z * z / t(beta), z - t(0.5) * t(beta))


def smooth_l1_loss(input: Tensor, target: Tensor, reduction: int, beta, huber: bool = False) -> Tensor:
    """ATen's smooth_l1_loss (SmoothL1LossBackward0: saves self, target, reduction, beta) or
    huber_loss (HuberLossBackward0: ..., delta) on same-shaped tensors."""
    dt = _dtype.promote_types(input.dtype, target.dtype)
    if not dt.is_floating_point:
        raise NotImplementedError(f"\"{'huber' if huber else 'smooth_l1'}_cpu\" not implemented for '{dt._legacy}'")
    d = input._data.astype(dt.np, copy=False) - target._data.astype(dt.np, copy=False)
    out = _reduced(np.asarray(_smooth_values(d, beta, huber), dtype=dt.np), reduction)
    node = node_class("HuberLossBackward0" if huber else "SmoothL1LossBackward0")
    ctx = (reduction, beta, huber)
    return record(Tensor._wrap(np.asarray(out)), node, (input, target), (input, target), ctx=ctx, op="smooth_l1")


def _smooth_backward(g, x, y, ctx, ns):
    """ATen's smooth_l1_loss_backward / huber_loss_backward(grad, self, target, reduction, beta);
    one node (SmoothL1LossBackwardBackward0 / HuberLossBackwardBackward0) under create_graph."""
    reduction, beta, huber = ctx
    if ns.records_graph:
        values = _smooth_backward(g._data, x._data, y._data, ctx, _NUMPY)
        name = "HuberLossBackwardBackward0" if huber else "SmoothL1LossBackwardBackward0"
        node = node_class(name, _smooth_bb)
        return record(Tensor._wrap(np.asarray(values)), node, (g, x, y), (g, x, y), ctx=ctx, op=name)
    t = x.dtype.type
    norm = t(1.0 / x.size) if reduction == MEAN else t(1)
    d = x - y
    b = t(beta)
    scale = b if huber else t(1)
    inner = norm * d * g if huber else norm * d * g / b
    res = np.where(d <= -b, -norm * g * scale, np.where(d >= b, norm * g * scale, inner))
    return np.asarray(res, dtype=x.dtype)


def _smooth_double_backward(w, x, y, ctx, ns):
    """FunctionsManual's smooth_l1_loss_double_backward / huber_loss_double_backward."""
    reduction, beta, huber = ctx
    inside = _mask_like(ns.abs(x - y) < beta, w, ns)
    res = w * inside if huber else w * inside / beta
    return _mean_div(res, _numel(x), reduction, ns)


@backward_formula("SmoothL1LossBackward0")
def _smooth_bw(node, g, ns):
    # derivatives.yaml: self: smooth_l1_loss_backward(grad, self, target, ...); target: the same, swapped
    x, y = node.unpack(ns)
    gx = _smooth_backward(g, x, y, node._ctx, ns) if node.needs(0) else None
    gy = _smooth_backward(g, y, x, node._ctx, ns) if node.needs(1) else None
    return gx, gy


node_class("HuberLossBackward0", _smooth_bw)


def _smooth_bb(node, gg, ns):
    # derivatives.yaml: grad_output: smooth_l1_loss_backward(grad, self, target, ...);
    # self: smooth_l1_loss_double_backward(grad * grad_output, ...); target: its negation
    g, x, y = node.unpack(ns)
    ctx = node._ctx
    ga = _smooth_backward(gg, x, y, ctx, ns) if node.needs(0) else None
    gx = _smooth_double_backward(gg * g, x, y, ctx, ns) if node.needs(1) else None
    gy = -_smooth_double_backward(gg * g, x, y, ctx, ns) if node.needs(2) else None
    return ga, gx, gy
