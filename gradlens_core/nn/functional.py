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

from .. import _math_ops, _ops, _warn
from .._tensor import Tensor
from . import _activation_ops, _conv_ops, _layer_ops, _loss_ops, _reduction

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
    "batch_norm",
    "conv1d",
    "conv2d",
    "max_pool1d",
    "max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "gelu",
    "leaky_relu",
    "silu",
    "elu",
    "selu",
    "celu",
    "hardtanh",
    "relu6",
    "logsigmoid",
    "mish",
    "hardswish",
    "hardsigmoid",
    "softsign",
    "tanhshrink",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "smooth_l1_loss",
    "huber_loss",
    "embedding",
    "one_hot",
    "pad",
    "normalize",
]

# ----------------------------------------------------------------------------- activations


def softplus(input: Tensor, beta: float = 1, threshold: float = 20) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``, and ``x`` where ``beta * x > threshold`` (SoftplusBackward0)."""
    return _math_ops.softplus(input, beta, threshold)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """``x * Phi(x)``, or its tanh approximation (GeluBackward0).

    >>> import gradlens_core as torch
    >>> torch.nn.functional.gelu(torch.tensor([-1., 1.]), approximate="tanh")
    tensor([-0.1588,  0.8412])
    """
    return _activation_ops.gelu(input, approximate)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` where positive, else ``negative_slope * x`` (LeakyReluBackward0; in place LeakyReluBackward1).

    >>> import gradlens_core as torch
    >>> torch.nn.functional.leaky_relu(torch.tensor([-1., 1.]), 0.1)
    tensor([-0.1000,  1.0000])
    """
    if inplace:
        return _activation_ops.leaky_relu_(input, negative_slope)
    return _activation_ops.leaky_relu(input, negative_slope)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)`` (SiluBackward0)."""
    return _activation_ops.silu_(input) if inplace else _activation_ops.silu(input)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` where positive, else ``alpha * (exp(x) - 1)`` (EluBackward0; in place EluBackward1)."""
    return _activation_ops.elu_(input, alpha) if inplace else _activation_ops.elu(input, alpha)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """``elu`` with SELU's alpha and scale (EluBackward0 / EluBackward1, as in PyTorch)."""
    f = _activation_ops.elu_ if inplace else _activation_ops.elu
    return f(input, _SELU_ALPHA, _SELU_SCALE, 1)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))`` (CeluBackward0; in place CeluBackward1)."""
    return _activation_ops.celu_(input, alpha) if inplace else _activation_ops.celu(input, alpha)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """``clamp(x, min_val, max_val)`` (HardtanhBackward0)."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    f = _activation_ops.hardtanh_ if inplace else _activation_ops.hardtanh
    return f(input, min_val, max_val)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``hardtanh(x, 0, 6)`` (HardtanhBackward0)."""
    f = _activation_ops.hardtanh_ if inplace else _activation_ops.hardtanh
    return f(input, 0, 6)


def logsigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(x))``, computed stably (LogSigmoidBackward0)."""
    return _activation_ops.log_sigmoid(input)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))`` (MishBackward0)."""
    return _activation_ops.mish_(input) if inplace else _activation_ops.mish(input)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * relu6(x + 3) / 6`` (HardswishBackward0)."""
    return _activation_ops.hardswish_(input) if inplace else _activation_ops.hardswish(input)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """``relu6(x + 3) / 6`` (HardsigmoidBackward0)."""
    return _activation_ops.hardsigmoid_(input) if inplace else _activation_ops.hardsigmoid(input)


def softsign(input: Tensor) -> Tensor:
    """``x / (1 + |x|)``, composed as in PyTorch (DivBackward0)."""
    return input / (input.abs() + 1)


def tanhshrink(input: Tensor) -> Tensor:
    """``x - tanh(x)``, composed as in PyTorch (SubBackward0)."""
    return input - input.tanh()


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


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-5) -> Tensor:  # fmt: skip
    """Normalize each channel (dim 1) by the batch's statistics in training, else by the running
    ones (NativeBatchNormBackward0). In training, given running stats are updated in place:
    ``(1 - momentum) * running + momentum * batch`` with the unbiased batch variance.

    >>> import gradlens_core as torch
    >>> import gradlens_core.nn.functional as F
    >>> rm, rv = torch.zeros(2), torch.ones(2)
    >>> F.batch_norm(torch.tensor([[0., 1.], [2., 3.]]), rm, rv, training=True)
    tensor([[-1.0000, -1.0000],
            [ 1.0000,  1.0000]])
    >>> rm
    tensor([0.1000, 0.2000])
    """
    if training:
        size = input.size()
        prod = size[0]
        for i in range(len(size) - 2):
            prod *= size[i + 2]
        if prod == 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size {size}")
    if input.dim() < 2:  # input.size(1) in _batch_norm_impl_index
        input.size(1)
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var)):
        if t is not None:
            if t.numel() != c:
                raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")
        elif not training:
            raise RuntimeError(f"{name} must be defined in evaluation mode")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")
    if input.numel() == 0:  # ATen's _batch_norm_impl_index for an empty input: no kernel, stats untouched
        out = input.clone()
        if weight is not None:
            out = out * weight.select(0, 0)
        if bias is not None:
            out = out + bias.select(0, 0)
        return out
    return _conv_ops.native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps)


# ----------------------------------------------------------------------------- convolution, pooling


def _expand_param(name: str, value: tuple, dims: int) -> tuple:
    """at::convolution's expand_param_if_needed: one value for every spatial dim."""
    if len(value) == 1:
        return value * dims
    if len(value) != dims:
        raise RuntimeError(
            f"expected {name} to be a single integer value or a list of {dims} values to match the convolution "
            f"dimensions, but got {name}={list(value)}"
        )
    return value


def _conv(input, weight, bias, stride, padding, dilation, groups, dims: int, name: str, positional=False) -> Tensor:
    """ATen's conv1d/conv2d: an unbatched input is unsqueezed, convolved and squeezed back.
    ``positional``: the caller (a module) passed every argument by position, as PyTorch's
    parser error then lists them."""
    args = (input, weight, bias, stride, padding, dilation, groups)
    try:
        stride = _conv_ops.int_tuple(stride, dims, (name, "stride", 0))
        dilation = _conv_ops.int_tuple(dilation, dims, (name, "dilation", 0))
        if not isinstance(padding, str):
            padding = _conv_ops.int_tuple(padding, dims, (name, "padding", 0))
    except TypeError:
        raise TypeError(
            f"{name}() received an invalid combination of arguments - got ({_described(args, positional)}), but "
            "expected one of:"
        ) from None
    if input.dim() not in (dims + 1, dims + 2):
        raise RuntimeError(
            f"Expected {dims + 1}D (unbatched) or {dims + 2}D (batched) input to {name}, but got input of size: "
            f"{list(input.shape)}"
        )
    batched = input.dim() == dims + 2
    x = input if batched else input.unsqueeze(0)
    k = weight.dim() - 2
    if k <= 0:
        raise RuntimeError("weight should have at least three dimensions")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    stride = _expand_param("stride", stride, k)
    dilation = _expand_param("dilation", dilation, k)
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0,) * k
        elif padding == "same":
            x, padding = _same_padding(x, weight, stride, dilation, k)
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        padding = _expand_param("padding", padding, k)
    out = _conv_ops.convolution(x, weight, bias, stride, padding, dilation, groups)
    return out if batched else out.squeeze(0)


_CONV_DEFAULTS = (None, 1, 0, 1, 1)  # bias, stride, padding, dilation, groups


def _described(args, positional: bool) -> str:
    """The arguments of a call as PyTorch's parser lists them in its error: by type, those
    passed by keyword as ``name=type`` (here: a functional call's non-default ones)."""

    def kind(v):
        return type(v).__name__

    if positional:
        return ", ".join(kind(v) for v in args)
    names = ("bias", "stride", "padding", "dilation", "groups")
    extra = [f"{n}={kind(v)}" for n, v, d in zip(names, args[2:], _CONV_DEFAULTS) if v is not d and v != d]
    return ", ".join([kind(args[0]), kind(args[1])] + extra)


def same_padding(kernel_size, dilation) -> list:
    """Each dim's (left, right) padding for ``padding="same"``: ``d * (k - 1)`` in all, the odd
    one of an even kernel's on the right (ATen's _convolution_mode, PyTorch's _ConvNd).

    >>> same_padding((2, 3), (1, 1))
    [(0, 1), (1, 1)]
    """
    return [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel_size, dilation)]


def _same_padding(x, weight, stride, dilation, k):
    """ATen's _convolution_mode for 'same': half the total padding on each side; an odd total
    pads the input's right end by one more first (constant_pad_nd, with a warning)."""
    if any(s != 1 for s in stride):
        raise RuntimeError("padding='same' is not supported for strided convolutions")
    pads = same_padding(weight.shape[2:], dilation)
    left = tuple(a for a, _ in pads)
    if all(a == b for a, b in pads):
        return x, left
    _warn.warn_once(
        "Using padding='same' with even kernel lengths and odd dilation may require a zero-padded copy of the input "
        "be created (Triggered internally at /__w/pytorch/pytorch/aten/src/ATen/native/Convolution.cpp:1101.)",
        stacklevel=None,
    )
    pad = [0] * (2 * k)
    for i, (a, b) in enumerate(pads):
        pad[2 * (k - 1 - i) + 1] = b - a
    return _layer_ops.constant_pad_nd(x, pad), left


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """1-d convolution (cross-correlation) over (N, C, L) or (C, L) (ConvolutionBackward0).

    >>> import gradlens_core as torch
    >>> import gradlens_core.nn.functional as F
    >>> F.conv1d(torch.tensor([[[1., 2., 3.]]]), torch.tensor([[[1., -1.]]]))
    tensor([[[-1., -1.]]])
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """2-d convolution (cross-correlation) over (N, C, H, W) or (C, H, W) (ConvolutionBackward0);
    ``padding`` may be "same" or "valid".

    >>> import gradlens_core as torch
    >>> import gradlens_core.nn.functional as F
    >>> F.conv2d(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 2, 2), padding=1)[0, 0, 0]
    tensor([1., 2., 2., 1.])
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over each window (MaxPool2DWithIndicesBackward0); with ``return_indices`` also each
    maximum's flat index in its input plane.

    >>> import gradlens_core as torch
    >>> import gradlens_core.nn.functional as F
    >>> F.max_pool2d(torch.tensor([[[[1., 5.], [3., 2.]]]]), 2, return_indices=True)
    (tensor([[[[5.]]]]), tensor([[[[1]]]]))
    """
    out, idx = _conv_ops.max_pool2d_with_indices(
        input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )
    return (out, idx) if return_indices else out


def _pool1d_args(fn: str, input, kernel_size, stride, padding, dilation=1):
    """ATen's check_max_pool1d (its words for avg_pool1d too): (k, s, p, d) as 1-tuples."""
    if input.dim() not in (2, 3):
        raise RuntimeError(
            f"{fn}: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for input, but got:"
            f"{list(input.shape)}"
        )
    arg = _conv_ops.int_tuple
    k = arg(kernel_size, 1, (fn, "kernel_size", 2))
    s = arg(stride, 1, (fn, "stride", 3)) if stride is not None and stride != [] and stride != () else k
    p = arg(padding, 1, (fn, "padding", 4))
    d = arg(dilation, 1, (fn, "dilation", 5))
    for name, v in (("kernel_size", k), ("stride", s), ("padding", p), ("dilation", d)):
        if len(v) != 1:
            if fn == "avg_pool1d":  # ATen's check1d, its own words
                raise RuntimeError(f"avg_pool1d() argument '{name}' should contain one int (got {len(v)})")
            raise RuntimeError(
                f"{fn}() {name} must be an int, list of ints or tuple of ints of size 1 but got size {len(v)}"
            )
    return k, s, p, d


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """ATen's max_pool1d_with_indices: max_pool2d over ``input.unsqueeze(-2)``, squeezed back."""
    k, s, p, d = _pool1d_args("max_pool1d", input, kernel_size, stride, padding, dilation)
    checks = (
        (k[0] > 0, f"kernel_size must be greater than zero, but got {k[0]}"),
        (s[0] > 0, f"stride must be greater than zero, but got {s[0]}"),
        (p[0] >= 0, f"padding must be non-negative, but got {p[0]}"),
        (
            p[0] <= k[0] // 2,
            f"padding should be at most half of kernel size, but got padding={p[0]} and kernel_size={k[0]}",
        ),  # fmt: skip
        (d[0] > 0, f"dilation must be greater than zero, but got {d[0]}"),
    )
    for ok, text in checks:
        if not ok:
            raise RuntimeError(f"max_pool1d() {text}")
    ow = _conv_ops.pool_out_size(input.shape[-1], k[0], s[0], p[0], d[0], ceil_mode)
    if ow <= 0:
        raise RuntimeError(f"max_pool1d() Invalid computed output size: {ow}")
    out, idx = _conv_ops.max_pool2d_with_indices(
        input.unsqueeze(-2), (1, k[0]), (1, s[0]), (0, p[0]), (1, d[0]), ceil_mode, return_indices
    )
    return (out.squeeze(-2), idx.squeeze(-2)) if return_indices else out.squeeze(-2)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None) -> Tensor:  # fmt: skip
    """Mean over each window (AvgPool2DBackward0); ``count_include_pad`` counts the padding
    in the divisor.

    >>> import gradlens_core as torch
    >>> import gradlens_core.nn.functional as F
    >>> F.avg_pool2d(torch.tensor([[[[1., 5.], [3., 3.]]]]), 2)
    tensor([[[[3.]]]])
    """
    return _conv_ops.avg_pool2d(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True) -> Tensor:
    """ATen's avg_pool1d: avg_pool2d over ``input.unsqueeze(-2)``, squeezed back."""
    if input.dim() not in (2, 3):
        raise RuntimeError(
            f"Expected 2 to 3 dimensions, but got {input.dim()}-dimensional tensor for argument #1 'self' (while "
            "checking arguments for avg_pool1d)"
        )
    k, s, p, _ = _pool1d_args("avg_pool1d", input, kernel_size, stride, padding)
    out = _conv_ops.avg_pool2d(input.unsqueeze(-2), (1, k[0]), (1, s[0]), (0, p[0]), ceil_mode, count_include_pad)
    return out.squeeze(-2)


def adaptive_avg_pool2d(input, output_size) -> Tensor:
    """Average over ``output_size`` windows that cover the input evenly
    (AdaptiveAvgPool2DBackward0); an output of 1x1 is ``input.mean((-1, -2), keepdim=True)``.

    >>> import gradlens_core as torch
    >>> import gradlens_core.nn.functional as F
    >>> F.adaptive_avg_pool2d(torch.tensor([[[[1., 2., 3.]]]]), (1, 2))
    tensor([[[[1.5000, 2.5000]]]])
    """
    if isinstance(output_size, int):
        out = (output_size, output_size)
    else:
        out = tuple(output_size)
        if len(input.shape) <= len(out):
            raise ValueError(f"Input dimension should be at least {len(out) + 1}")
        out = tuple(v if v is not None else d for v, d in zip(out, input.shape[-len(out) :]))
    if len(out) != 2:
        raise RuntimeError("adaptive_avg_pool2d: output_size must be 2")
    if out[0] < 0 or out[1] < 0:
        raise RuntimeError(
            "adaptive_avg_pool2d: elements of output_size must be greater than or equal to 0 but received "
            f"{{{out[0]}, {out[1]}}}"
        )
    if out == (1, 1):  # ATen's shortcut: a mean over the last two dims (MeanBackward1)
        return input.mean((-1, -2), keepdim=True)
    return _conv_ops.adaptive_avg_pool2d(input, out)


def adaptive_avg_pool1d(input, output_size) -> Tensor:
    """ATen's adaptive_avg_pool1d: adaptive_avg_pool2d over ``input.unsqueeze(-2)`` to (1, L)."""
    if input.dim() not in (2, 3):
        raise RuntimeError(
            f"Expected 2 to 3 dimensions, but got {input.dim()}-dimensional tensor for argument #1 'self' (while "
            "checking arguments for adaptive_avg_pool1d)"
        )
    out = _conv_ops.int_tuple(output_size, 1, ("adaptive_avg_pool1d", "output_size", 2))
    if len(out) != 1:
        raise RuntimeError("adaptive_avg_pool1d: output_size must be 1")
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, out[0])).squeeze(-2)


# ----------------------------------------------------------------------------- embedding


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """The rows of ``weight`` at the indices ``input`` (EmbeddingBackward0); no grad flows into
    row ``padding_idx``; with ``max_norm`` the rows used are renormalized in place first.

    >>> import gradlens_core as torch
    >>> torch.nn.functional.embedding(torch.tensor([1]), torch.tensor([[0., 1.], [2., 3.]]))
    tensor([[2., 3.]])
    """
    if padding_idx is not None:
        if padding_idx > 0:
            if padding_idx >= weight.size(0):
                raise AssertionError("Padding_idx must be within num_embeddings")
        elif padding_idx < 0:
            if padding_idx < -weight.size(0):
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx = weight.size(0) + padding_idx
    else:
        padding_idx = -1
    if max_norm is not None:
        input = input.contiguous()
        from .._grad_mode import no_grad

        with no_grad():
            _layer_ops.embedding_renorm_(weight, input, max_norm, norm_type)
    return _layer_ops.embedding(weight, input, padding_idx, scale_grad_by_freq, sparse)


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
    "constant" (``value``, 0 by default; negative pads crop: ConstantPadNdBackward0), "reflect",
    "replicate" or "circular".

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
        return _layer_ops.circular_pad(input, pad)
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


# ----------------------------------------------------------------------------- bce, smooth_l1, huber


def _infer_size(a, b):
    """``torch._C._infer_size``: the broadcast shape, refused with PyTorch's text."""
    common = [1] * max(len(a), len(b))
    for arg_idx, shape in enumerate((tuple(a), tuple(b))):
        for idx in range(-1, -1 - len(shape), -1):
            if common[idx] == 1:
                common[idx] = shape[idx]
            elif shape[idx] != 1 and common[idx] != shape[idx]:
                raise RuntimeError(
                    f"Attempting to broadcast a dimension of length {shape[idx]} at {idx}! Mismatching argument at "
                    f"index {arg_idx} had torch.Size({list(shape)}); but expected shape should be broadcastable to "
                    f"{common}"
                )
    return tuple(common)


def _check_same_dtype(input: Tensor, other: Tensor) -> None:
    if other.dtype != input.dtype:
        raise RuntimeError(f"Found dtype {other.dtype._legacy} but expected {input.dtype._legacy}")


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean") -> Tensor:
    """Binary cross entropy of probabilities ``input`` against ``target`` (BinaryCrossEntropyBackward0).

    >>> import gradlens_core as torch
    >>> torch.nn.functional.binary_cross_entropy(torch.tensor([0.5]), torch.tensor([1.]))
    tensor(0.6931)
    """
    red = _reduction_enum(size_average, reduce, reduction)
    if target.size() != input.size():
        raise ValueError(
            f"Using a target size ({target.size()}) that is different to the input size ({input.size()}) is "
            "deprecated. Please ensure they have the same size."
        )
    if weight is not None:
        weight = weight.expand(_infer_size(target.size(), weight.size()))
    _check_same_dtype(input, target)
    if weight is not None:
        _check_same_dtype(input, weight)
    if input._data.dtype.kind != "f":
        raise _ops.no_kernel("binary_cross_entropy", input.dtype)
    return _loss_ops.binary_cross_entropy(input, target, weight, red)


def binary_cross_entropy_with_logits(
    input, target, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None
) -> Tensor:
    """``binary_cross_entropy(sigmoid(input), target)`` computed stably, ``pos_weight`` weighing
    the positive term (BinaryCrossEntropyWithLogitsBackward0).

    >>> import gradlens_core as torch
    >>> torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor([0.]), torch.tensor([1.]))
    tensor(0.6931)
    """
    red = _reduction_enum(size_average, reduce, reduction)
    if target.size() != input.size():
        raise ValueError(f"Target size ({target.size()}) must be the same as input size ({input.size()})")
    shape = tuple(input.shape)
    for extra in (pos_weight, weight):  # ATen's composite kernel broadcasts them
        if extra is not None:
            try:
                shape = np.broadcast_shapes(shape, tuple(extra.shape))
            except ValueError:
                raise _ops.broadcast_error(shape, tuple(extra.shape)) from None
    return _loss_ops.binary_cross_entropy_with_logits(input, target, weight, pos_weight, red)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta: float = 1.0) -> Tensor:
    """Squared error below ``beta``, absolute error above (SmoothL1LossBackward0); ``beta=0`` is
    ``l1_loss``."""
    _warn_size(input, target)
    red = _reduction_enum(size_average, reduce, reduction)
    a, b = _broadcast_pair(input, target)
    if beta == 0.0:
        return _reduce((a - b).abs(), red)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    return _loss_ops.smooth_l1_loss(a, b, red, beta)


def huber_loss(input, target, reduction="mean", delta: float = 1.0, weight=None) -> Tensor:
    """Squared error below ``delta``, ``delta``-scaled absolute error above (HuberLossBackward0)."""
    _warn_size(input, target)
    a, b = _broadcast_pair(input, target)
    red = _reduction.get_enum(reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    if weight is None:
        return _loss_ops.smooth_l1_loss(a, b, red, delta, huber=True)
    loss = _loss_ops.smooth_l1_loss(a, b, _reduction.NONE, delta, huber=True) * weight
    return _reduce(loss, red)
