"""Kernels of ``F.dropout`` and ``F.layer_norm``, with PyTorch's graphs.

Dropout on the CPU is ATen's composite ``_dropout``: the input itself when nothing is dropped
(``p == 0``, eval mode, no elements), else ``input * noise`` (MulBackward0, saving the noise:
Bernoulli(1 - p) draws divided by 1 - p). layer_norm is ``native_layer_norm``
(NativeLayerNormBackward0, saving the input, weight, bias and the rows' mean and rstd).

>>> import gradlens_core as torch
>>> import gradlens_core.nn.functional as F
>>> x = torch.tensor([[1., 2., 4.]], requires_grad=True)
>>> F.layer_norm(x, (3,)).grad_fn
<NativeLayerNormBackward0 ...>
>>> F.dropout(x, 0.0) is x
True
"""

from __future__ import annotations

import math

import numpy as np

from .. import _ops, _random
from .._autograd import backward_formula, node_class
from .._layout import empty_preserving
from .._tensor import Tensor, record

__all__ = ["dropout", "native_layer_norm"]


def dropout(input: Tensor, p: float, train: bool, inplace: bool) -> Tensor:
    """ATen's ``_dropout``: ``noise = empty_like(input).bernoulli_(1 - p).div_(1 - p)``, drawn
    from the default generator as PyTorch draws it, so the same elements drop."""
    if p == 0 or not train or input._data.size == 0:
        return input
    data = input._data
    if p == 1:
        zeros = Tensor._wrap(np.zeros((), dtype=data.dtype))
        zeros._version_counter[0] = 1  # at::zeros: empty, then zero_
        return input.mul_(zeros) if inplace else _ops.mul(input, zeros)
    if data.dtype.kind != "f":
        raise RuntimeError(f"result type Float can't be cast to the desired output type {input.dtype._legacy}")
    noise = empty_preserving(data)
    keep = _random.bernoulli(_random.default_generator, noise.size, 1 - p)  # noise.bernoulli_(1 - p)
    # noise.div_(1 - p): the number in float (opmath) for half, in the tensor's dtype otherwise
    scale = (
        np.float32(1) / np.float32(1 - p) if data.dtype.itemsize < 4 else data.dtype.type(1) / data.dtype.type(1 - p)
    )
    _random.store_in_order(noise, np.where(keep, scale, 0).astype(data.dtype))
    noise_t = Tensor._wrap(noise)
    noise_t._version_counter[0] = 2  # bernoulli_, div_
    return input.mul_(noise_t) if inplace else _ops.mul(input, noise_t)


def native_layer_norm(input: Tensor, normalized_shape, weight, bias, eps: float) -> Tensor:
    """``(x - mean) * rstd * weight + bias`` over the last ``len(normalized_shape)`` dims."""
    shape = tuple(int(s) for s in normalized_shape)
    data = input._data
    k = len(shape)
    for name, t in (("weight", weight), ("bias", bias)):  # _check_layer_norm_inputs' order
        if t is not None and tuple(t._data.shape) != shape:
            raise RuntimeError(
                f"Expected {name} to be of same shape as normalized_shape, but got {name} of shape "
                f"{list(t._data.shape)} and normalized_shape = {list(shape)}"
            )
    if k == 0 or data.ndim < k or data.shape[data.ndim - k :] != shape:
        expected = "[*" + "".join(f", {s}" for s in shape) + "]"
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape {expected}, but got input of size"
            f"{list(data.shape)}"
        )
    if data.dtype.kind != "f":
        raise _ops.no_kernel("LayerNormKernelImpl", input.dtype)
    axes = tuple(range(data.ndim - k, data.ndim))
    acc = data.astype(np.float64) if data.dtype.itemsize < 8 else data  # the kernel accumulates wider
    mean = acc.mean(axis=axes, keepdims=True)
    var = ((acc - mean) ** 2).mean(axis=axes, keepdims=True)
    rstd = 1.0 / np.sqrt(var + eps)
    out = (acc - mean) * rstd
    if weight is not None:
        out = out * weight._data
    if bias is not None:
        out = out + bias._data
    stat_shape = data.shape[: data.ndim - k] + (1,) * k
    mean_t = Tensor._wrap(mean.astype(data.dtype).reshape(stat_shape))
    rstd_t = Tensor._wrap(rstd.astype(data.dtype).reshape(stat_shape))
    result = Tensor._wrap(np.ascontiguousarray(out.astype(data.dtype)))
    saved = (input, weight, bias, mean_t, rstd_t)
    return record(
        result, node_class("NativeLayerNormBackward0"), (input, weight, bias), saved, ctx=axes, op="layer_norm"
    )


@backward_formula("NativeLayerNormBackward0")
def _layer_norm_bw(node, g, ns):
    """native_layer_norm_backward: with ``x_hat = (x - mean) * rstd`` and ``dy = grad * weight``,
    ``dx = rstd * (dy - mean(dy) - x_hat * mean(dy * x_hat))``, ``dweight = sum(grad * x_hat)``,
    ``dbias = sum(grad)`` over the leading dims."""
    if ns.records_graph:
        raise NotImplementedError("create_graph=True through layer_norm is not supported")
    x, w, _, mean, rstd = node.unpack(ns)
    axes = node._ctx
    wide = np.float64 if x.dtype.itemsize < 8 else x.dtype
    gw, xw = g.astype(wide), x.astype(wide)
    x_hat = (xw - mean) * rstd
    lead = tuple(range(x.ndim - len(axes)))
    dx = dw = db = None
    if node.needs(0):
        dy = gw * w if w is not None else gw
        n = math.prod(x.shape[a] for a in axes)
        mean_dy = dy.sum(axis=axes, keepdims=True) / n
        mean_dy_xhat = (dy * x_hat).sum(axis=axes, keepdims=True) / n
        dx = (rstd * (dy - mean_dy - x_hat * mean_dy_xhat)).astype(x.dtype)
    if node.needs(1):
        dw = (gw * x_hat).sum(axis=lead).astype(x.dtype)
    if node.needs(2):
        db = gw.sum(axis=lead).astype(x.dtype)
    return dx, dw, db
