"""``torch.nn.functional``: activations, ``linear`` and losses, with PyTorch's graphs.

>>> import gradlens_core as torch
>>> import gradlens_core.nn.functional as F
>>> logits = torch.tensor([[2., 0.5], [0.1, 1.0]], requires_grad=True)
>>> F.cross_entropy(logits, torch.tensor([0, 1]))
tensor(0.2713, grad_fn=<NllLossBackward0>)
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import _math_ops, _ops
from .._tensor import Tensor
from . import _layer_ops, _loss_ops, _reduction

__all__ = [
    "relu",
    "sigmoid",
    "tanh",
    "softplus",
    "softmax",
    "log_softmax",
    "linear",
    "mse_loss",
    "l1_loss",
    "nll_loss",
    "cross_entropy",
    "dropout",
    "layer_norm",
    "one_hot",
    "pad",
    "normalize",
]

# ----------------------------------------------------------------------------- activations


def softplus(input: Tensor, beta: float = 1, threshold: float = 20) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``, and ``x`` where ``beta * x > threshold`` (SoftplusBackward0)."""
    return _math_ops.softplus(input, beta, threshold)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    return input.relu_() if inplace else _ops.relu(input)


def sigmoid(input: Tensor) -> Tensor:
    return _ops.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    return _ops.tanh(input)


def _get_softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X as an argument.",
        stacklevel=stacklevel,
    )
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim=None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """Softmax over ``dim`` (SoftmaxBackward0); omitting ``dim`` warns as in PyTorch."""
    if dim is None:
        dim = _get_softmax_dim("softmax", input.dim(), _stacklevel)
    return _ops.softmax(input, dim, dtype=dtype)


def log_softmax(input: Tensor, dim=None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """Log-softmax over ``dim`` (LogSoftmaxBackward0)."""
    if dim is None:
        dim = _get_softmax_dim("log_softmax", input.dim(), _stacklevel)
    return _ops.log_softmax(input, dim, dtype=dtype)


# ----------------------------------------------------------------------------- dropout, layer_norm


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)`` (MulBackward0,
    saving the noise); the input itself in eval mode or for ``p == 0``. The draws come from
    gradlens_core's generator: which elements drop differs from PyTorch's."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    return _layer_ops.dropout(input, p, training, inplace)


def layer_norm(input: Tensor, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Normalize over the last ``len(normalized_shape)`` dims (NativeLayerNormBackward0)."""
    return _layer_ops.native_layer_norm(input, normalized_shape, weight, bias, eps)


# ----------------------------------------------------------------------------- linear


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """An int64 tensor with a last dim of ``num_classes``, 1 at each value of ``tensor``.

    >>> import gradlens_core as torch
    >>> torch.nn.functional.one_hot(torch.tensor([0, 2]))
    tensor([[1, 0, 0],
            [0, 0, 1]])
    """
    return _layer_ops.one_hot(tensor, num_classes)


def pad(input: Tensor, pad, mode: str = "constant", value=None) -> Tensor:
    """Pad the last ``len(pad) // 2`` dims by ``pad``'s (before, after) pairs, last dim first:
    "constant" (``value``, 0 by default; negative pads crop: ConstantPadNdBackward0), "reflect"
    or "replicate".

    >>> import gradlens_core as torch
    >>> torch.nn.functional.pad(torch.ones(2), (1, 2))
    tensor([0., 1., 1., 0., 0.])
    """
    if mode == "constant":
        return _layer_ops.constant_pad_nd(input, pad, 0 if value is None else value)
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    if mode in ("reflect", "replicate"):
        return _layer_ops.reflect_or_replicate_pad(input, pad, mode)
    if mode == "circular":
        raise NotImplementedError("gradlens_core: F.pad's circular mode is not implemented")
    raise NotImplementedError(f"Unrecognised padding mode {mode}")


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None) -> Tensor:
    """``input`` divided by its ``p``-norm over ``dim``, at least ``eps``: PyTorch's composition
    ``input / input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)`` (DivBackward0).

    >>> import gradlens_core as torch
    >>> torch.nn.functional.normalize(torch.tensor([[3., 4.]]))
    tensor([[0.6000, 0.8000]])
    """
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    if out is None:
        return input / denom
    from .. import div  # (the namespace's div takes out=)

    return div(input, denom, out=out)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias``, dispatched as ATen's ``linear`` so grad_fn names match.

    2-D input with bias: one ``addmm`` (AddmmBackward0). Other contiguous ranks with bias
    are folded to a matrix, run through ``addmm`` and viewed back (ViewBackward0).
    Otherwise ``matmul`` then an in-place ``add_`` of the bias.
    """
    if input.dim() == 0 or weight.dim() == 0:
        raise RuntimeError(
            f"both arguments to linear need to be at least 1D, but they are {input.dim()}D and {weight.dim()}D"
        )
    wt = weight.t()
    if bias is None:
        return input.matmul(wt)
    if input.dim() == 2:
        return _ops.addmm(bias, input, wt)
    if input.is_contiguous():
        out = _ops.addmm(bias, input.view(-1, input.shape[-1]), wt)
        return out.view(*input.shape[:-1], out.shape[-1])
    out = input.matmul(wt)
    out.add_(bias)
    return out


# ----------------------------------------------------------------------------- losses


def _reduction_enum(size_average, reduce, reduction) -> int:
    if size_average is not None or reduce is not None:
        reduction = _reduction.legacy_get_string(size_average, reduce)
    return _reduction.get_enum(reduction)


def _warn_size(input: Tensor, target: Tensor) -> None:
    if target.size() != input.size():
        warnings.warn(
            f"Using a target size ({target.size()}) that is different to the input size ({input.size()}). "
            "This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            stacklevel=3,
        )


def _broadcast_pair(a: Tensor, b: Tensor):
    """``torch.broadcast_tensors(a, b)``: expand only the operand whose shape differs."""
    if a.shape == b.shape:
        return a, b
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise _ops.broadcast_error(a.shape, b.shape) from None
    return (a if a.shape == shape else a.expand(shape)), (b if b.shape == shape else b.expand(shape))


def _reduce(loss: Tensor, reduction: int) -> Tensor:
    if reduction == _reduction.MEAN:
        return loss.mean()
    if reduction == _reduction.SUM:
        return loss.sum()
    return loss


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None) -> Tensor:
    """Mean squared error (MseLossBackward0); a differently shaped target warns and broadcasts."""
    _warn_size(input, target)
    red = _reduction_enum(size_average, reduce, reduction)
    a, b = _broadcast_pair(input, target)
    if weight is None:
        return _loss_ops.mse_loss(a, b, red)
    if weight.size() != input.size():
        raise ValueError("Weights and input must have the same size.")
    weighted = _ops.pow(a - b, 2) * weight
    if red == _reduction.MEAN:
        return weighted.sum() / weight.sum()
    return _reduce(weighted, red)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None) -> Tensor:
    """Mean absolute error; PyTorch composes it from ``abs`` and a reduction (so does this)."""
    _warn_size(input, target)
    red = _reduction_enum(size_average, reduce, reduction)
    a, b = _broadcast_pair(input, target)
    err = (a - b).abs()
    if weight is None:
        return _reduce(err, red)
    if weight.size() != input.size():
        raise ValueError("Weights and input must have the same size.")
    weighted = err * weight
    if red == _reduction.MEAN:
        return weighted.sum() / weight.sum()
    return _reduce(weighted, red)


def _check_nll_args(input: Tensor, target: Tensor, weight: Tensor | None, n_classes: int, kernel: str) -> None:
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{input.dtype._legacy}'")
    if target._data.dtype not in (np.int64, np.uint8):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {target.dtype._legacy}")
    if weight is not None and weight.numel() != n_classes:
        raise RuntimeError(
            f"weight tensor should be defined either for all {n_classes} classes or no classes but got weight "
            f"tensor of shape: {list(weight.shape)}"
        )


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean") -> Tensor:
    """Negative log likelihood of log-probabilities ``input`` at class indices ``target``.

    ``input`` is (C,) with a 0-d target, (N, C) with (N,) targets, or (N, C, d1, ...) with
    (N, d1, ...) targets; ``ignore_index`` targets contribute nothing (NllLossBackward0, or
    NllLoss2DBackward0 for the spatial forms).
    """
    red = _reduction_enum(size_average, reduce, reduction)
    dim = input.dim()
    if dim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {dim})")
    target_batch = target.shape[0] if target.dim() else 0
    if dim != 1 and input.shape[0] != target_batch:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size ({target_batch}).")
    n_classes = input.shape[0] if dim == 1 else input.shape[1]
    if dim <= 2:
        if target.dim() > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if dim == 1 and target.dim() == 1 and target.shape[0] != 1:
            raise ValueError(f"For 1D input, 1D target must have size 1, but got target size: {target.shape[0]}")
        _check_nll_args(input, target, weight, n_classes, "nll_loss_out_frame")
        return _loss_ops.nll_loss(input, target, weight, red, ignore_index, "NllLossBackward0")
    if dim == 4:
        if target.dim() != 3:
            raise RuntimeError(
                f"only batches of spatial targets supported (3D tensors) but got targets of dimension: {target.dim()}"
            )
        if tuple(target.shape) != (input.shape[0],) + tuple(input.shape[2:]):
            raise RuntimeError(f"size mismatch (got input: {list(input.shape)} , target: {list(target.shape)}")
        _check_nll_args(input, target, weight, n_classes, "nll_loss2d_forward_out_frame")
        return _loss_ops.nll_loss(input, target, weight, red, ignore_index, "NllLoss2DBackward0")
    # 3-D or > 4-D: PyTorch views the input as (N, C, 1, -1) and uses the 2-D kernel
    n, c = input.shape[0], input.shape[1]
    out_size = [n] + list(input.shape[2:])
    if tuple(target.shape[1:]) != tuple(input.shape[2:]):
        raise RuntimeError(f"Expected target size {out_size}, got {list(target.shape)}")
    inp = _ops.contiguous(input)
    tgt = _ops.contiguous(target)
    inp = inp.view(n, c, 1, -1) if inp.numel() > 0 else inp.view(n, c, 0, 0)
    tgt = tgt.view(n, 1, -1) if tgt.numel() > 0 else tgt.view(n, 0, 0)
    _check_nll_args(inp, tgt, weight, n_classes, "nll_loss2d_forward_out_frame")
    out = _loss_ops.nll_loss(inp, tgt, weight, red, ignore_index, "NllLoss2DBackward0")
    return out if red != _reduction.NONE else out.view(*out_size)


def cross_entropy(
    input,
    target,
    weight=None,
    size_average=None,
    ignore_index=-100,
    reduce=None,
    reduction="mean",
    label_smoothing=0.0,
) -> Tensor:
    """``nll_loss(log_softmax(input, class_dim), target)`` for class-index targets.

    Class-probability targets (float, same shape as ``input``) and ``label_smoothing`` are
    supported with composite ops, as in ATen.
    """
    red = _reduction_enum(size_average, reduce, reduction)
    class_dim = 0 if input.dim() == 1 else 1
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    lsm = log_softmax(input, class_dim)
    n_classes = input.shape[class_dim] if input.dim() else 1
    if tuple(input.shape) == tuple(target.shape):  # ATen decides by shape, then checks the dtype
        if not target.is_floating_point():
            raise RuntimeError(
                f"Expected floating point type for target with class probabilities, got {target.dtype._legacy}"
            )
        return _cross_entropy_probs(lsm, target, weight, red, label_smoothing, class_dim, n_classes)
    nll = nll_loss(lsm, target, weight, None, ignore_index, None, _REDUCTION_NAMES[red])
    if label_smoothing <= 0.0:
        return nll
    # smoothing term: the sum over classes of -log p (class-weighted), zero at ignored targets
    if weight is not None:
        shape = [1] * input.dim()
        shape[class_dim] = n_classes
        smooth = -(lsm * weight.view(*shape)).sum(class_dim)
    else:
        smooth = -lsm.sum(class_dim)
    ignored = target == ignore_index
    smooth = _loss_ops.masked_fill(smooth, ignored, 0.0)
    if red == _reduction.MEAN:
        if weight is not None:
            kept = target[_ops.logical_not(ignored)].flatten()
            smooth = smooth.sum() / weight[kept].sum()
        else:
            smooth = smooth.sum() / _ops.logical_not(ignored).sum()
    elif red == _reduction.SUM:
        smooth = smooth.sum()
    return _loss_ops.mul_scalar(nll, 1 - label_smoothing) + _loss_ops.mul_scalar(smooth, label_smoothing / n_classes)


_REDUCTION_NAMES = {_reduction.NONE: "none", _reduction.MEAN: "mean", _reduction.SUM: "sum"}


def _cross_entropy_probs(lsm, target, weight, red, label_smoothing, class_dim, n_classes):
    if label_smoothing > 0.0:
        target = target * (1 - label_smoothing) + label_smoothing / n_classes
    prod = lsm * target
    if weight is not None:
        shape = [1] * lsm.dim()
        shape[class_dim] = n_classes
        prod = prod * weight.view(*shape)
    if red == _reduction.NONE:
        return -prod.sum(class_dim)
    if red == _reduction.SUM:
        return -prod.sum()
    return _loss_ops.div_scalar(-prod.sum(), lsm.numel() // n_classes if n_classes else 0)
