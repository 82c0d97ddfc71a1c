"""Kernels of convolution, pooling and batch norm, with PyTorch's nodes.

Each op is one ATen op and one node, as PyTorch records it: ``convolution``
(ConvolutionBackward0, saving input and weight), ``max_pool2d_with_indices``
(MaxPool2DWithIndicesBackward0, saving the input and the indices), ``avg_pool2d``
(AvgPool2DBackward0), ``_adaptive_avg_pool2d`` (AdaptiveAvgPool2DBackward0) and
``native_batch_norm`` (NativeBatchNormBackward0). 1-d inputs run through the 2-d kernels
with a height of 1 (conv1d keeps its 1-tuples in the node, as ATen's).

The arithmetic is numpy: windows are strided views of the (padded) input, a convolution
is one matrix product per group over the unfolded windows (im2col), and its input grad
adds the columns back one kernel offset at a time (col2im). The sums run in another order
than mkldnn's: values are close to PyTorch's, not bit for bit.

Under ``create_graph=True`` the backward of a convolution or a pooling is itself one op
with PyTorch's node (ConvolutionBackwardBackward0 ...), so double backward works.

>>> import gradlens_core as torch
>>> import gradlens_core.nn.functional as F
>>> x = torch.ones(1, 1, 3, 3, requires_grad=True)
>>> F.conv2d(x, torch.ones(1, 1, 2, 2)).grad_fn
<ConvolutionBackward0 ...>
"""

from __future__ import annotations

import math

import numpy as np

from .. import _events, _ops
from .._autograd import backward_formula, node_class
from .._tensor import Tensor, record
from ._layer_ops import multi_output_op

__all__ = [
    "convolution",
    "max_pool2d_with_indices",
    "avg_pool2d",
    "adaptive_avg_pool2d",
    "native_batch_norm",
]

_as_strided = np.lib.stride_tricks.as_strided


def _wrap(a) -> Tensor:
    return Tensor._wrap(np.ascontiguousarray(a))


def int_tuple(value, n: int, arg: tuple | None = None) -> tuple:
    """An int or a list of ints as a tuple: an int is repeated ``n`` times, a list kept as given.

    With ``arg = (fn, name, position)`` it is ATen's parser of an ``int[n]`` argument: the
    items must be ints (not bools, floats or strings), else PyTorch's TypeError; without,
    it is torch.nn.modules.utils._ntuple, which takes anything.

    >>> int_tuple(3, 2), int_tuple([1, 2], 2)
    ((3, 3), (1, 2))
    """
    listed = isinstance(value, (list, tuple))
    if arg is None:
        return tuple(value) if listed else (value,) * n
    fn, name, pos = arg
    items = value if listed else (value,)
    for i, v in enumerate(items):
        if isinstance(v, bool) or not hasattr(v, "__index__"):
            head = f"{fn}(): argument '{name}' (position {pos}) must be tuple of ints, "
            raise TypeError(head + (f"but found element of type {type(v).__name__} at pos {i}" if listed
                                    else f"not {type(v).__name__}"))  # fmt: skip
    return tuple(int(v) for v in value) if listed else (int(value),) * n


# ----------------------------------------------------------------------------- convolution


class ConvParams(tuple):
    """(stride, padding, dilation, groups, bias sizes): the node's ``_ctx``, as ATen's tuples."""

    __slots__ = ()

    stride = property(lambda self: self[0])
    padding = property(lambda self: self[1])
    dilation = property(lambda self: self[2])
    groups = property(lambda self: self[3])
    bias_sizes = property(lambda self: self[4])


def _as_2d(a, dims: int):
    """A 1-d convolution's (N, C, L) array as (N, C, 1, L)."""
    return a[:, :, None, :] if dims == 1 else a


def _geometry2d(params: ConvParams, dims: int):
    stride = (1,) + tuple(params.stride) if dims == 1 else tuple(params.stride)
    padding = (0,) + tuple(params.padding) if dims == 1 else tuple(params.padding)
    dilation = (1,) + tuple(params.dilation) if dims == 1 else tuple(params.dilation)
    return stride, padding, dilation


def _bmm(a, b):
    """``a @ b`` per group: numpy's stacked matmul leaves BLAS for a transposed operand, a
    loop over the groups (not the elements) keeps it."""
    out = np.empty((a.shape[0], a.shape[1], b.shape[2]), dtype=np.result_type(a, b))
    for i in range(a.shape[0]):
        np.matmul(a[i], b[i], out=out[i])
    return out


def _conv_cols(x, kh, kw, stride, padding, dilation, groups):
    """The unfolded windows of ``x`` (N, C, H, W): (groups, C/groups*kh*kw, N*Ho*Wo), and
    (Ho, Wo). Laid out so that the copy reads whole rows of the input."""
    n, c = x.shape[:2]
    win, (ho, wo) = _windows(x, (kh, kw), stride, padding, dilation, False, 0)
    cols = win.transpose(1, 4, 5, 0, 2, 3)  # (C, kh, kw, N, Ho, Wo)
    return cols.reshape(groups, (c // groups) * kh * kw, n * ho * wo), (ho, wo)


def conv_data(x, w, b, params: ConvParams):
    """The convolution of arrays ``x`` (N, C, *spatial) and ``w`` (O, C/groups, *kernel)."""
    dims = x.ndim - 2
    stride, padding, dilation = _geometry2d(params, dims)
    x2, w2 = _as_2d(x, dims), _as_2d(w, dims)
    n = x2.shape[0]
    o, _, kh, kw = w2.shape
    g = params.groups
    cols, (ho, wo) = _conv_cols(x2, kh, kw, stride, padding, dilation, g)
    out = _bmm(w2.reshape(g, o // g, -1), cols)  # (g, O/g, N*Ho*Wo)
    out = out.reshape(o, n, ho, wo).transpose(1, 0, 2, 3)
    if b is not None:
        out = out + b.reshape(1, o, 1, 1)
    out = np.ascontiguousarray(out, dtype=x.dtype)
    return out.reshape((n, o, wo) if dims == 1 else (n, o, ho, wo))


def conv_grads_data(g_out, x, w, params: ConvParams, mask):
    """(grad_input, grad_weight, grad_bias) of a convolution, each where ``mask`` asks."""
    dims = x.ndim - 2
    stride, padding, dilation = _geometry2d(params, dims)
    x2, w2 = _as_2d(x, dims), _as_2d(w, dims)
    n, c, h, wd = x2.shape
    o, cg, kh, kw = w2.shape
    g = params.groups
    go = _as_2d(g_out, dims)
    ho, wo = go.shape[2], go.shape[3]
    gmt = go.reshape(n, g, o // g, ho * wo).transpose(1, 2, 0, 3).reshape(g, o // g, n * ho * wo)
    gi = gw = gb = None
    if mask[0]:
        # the columns' grads as (g, C/g*kh*kw, N*Ho*Wo): each kernel offset's slab is then a
        # (C, N, Ho, Wo) view whose rows are contiguous
        wmt = w2.reshape(g, o // g, -1).transpose(0, 2, 1)
        dcols = _bmm(wmt, gmt).reshape(g, cg, kh, kw, n, ho, wo)
        (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
        padded = np.zeros((c, n, h + 2 * ph + sh + dh * kh, wd + 2 * pw + sw + dw * kw), dtype=x.dtype)
        for i in range(kh):  # col2im: one kernel offset at a time (kh * kw slices, not elements)
            for j in range(kw):
                slab = dcols[:, :, i, j].reshape(c, n, ho, wo)
                padded[:, :, i * dh : i * dh + sh * ho : sh, j * dw : j * dw + sw * wo : sw] += slab
        gi = np.ascontiguousarray(padded[:, :, ph : ph + h, pw : pw + wd].transpose(1, 0, 2, 3)).reshape(x.shape)
    if mask[1]:
        cols, _ = _conv_cols(x2, kh, kw, stride, padding, dilation, g)
        gwm = _bmm(cols, gmt.transpose(0, 2, 1))  # (g, C/g*kh*kw, O/g): OpenBLAS's faster side
        gw = np.ascontiguousarray(gwm.transpose(0, 2, 1), dtype=w.dtype).reshape(w.shape)
    if mask[2]:
        gb = np.ascontiguousarray(g_out.sum(axis=(0,) + tuple(range(2, g_out.ndim))), dtype=g_out.dtype)
    return gi, gw, gb


def convolution(input: Tensor, weight: Tensor, bias, stride, padding, dilation, groups: int) -> Tensor:
    """ATen's ``convolution`` (not transposed) of a batched input: ConvolutionBackward0,
    saving input and weight, with edges to input, weight and bias."""
    _check_conv_shape(input, weight, bias, stride, padding, dilation, groups)
    # bias_sym_sizes_opt: [0] without a bias, as PyTorch's node shows it
    params = ConvParams((stride, padding, dilation, groups, (0,) if bias is None else tuple(bias.shape)))
    data = conv_data(input._data, weight._data, None if bias is None else bias._data, params)
    return record(
        _wrap(data),
        node_class("ConvolutionBackward0"),
        (input, weight, bias),
        (input, weight),
        params,
        op="convolution",
    )


def _check_conv_shape(input, weight, bias, stride, padding, dilation, groups) -> None:
    """at::convolution's checks (check_shape_forward), in its order and words."""
    ws = list(weight.shape)
    k = input.dim()
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if len(ws) != k:
        raise RuntimeError(
            f"Expected {len(ws)}-dimensional input for {len(ws)}-dimensional weight {ws}, but got {k}-dimensional "
            f"input of size {list(input.shape)} instead"
        )
    if ws[0] < groups or ws[0] % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but got weight of "
            f"size [{ws}] instead"
        )
    if input.shape[1] != ws[1] * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {ws}, expected input{list(input.shape)} to have "
            f"{ws[1] * groups} channels, but got {input.shape[1]} channels instead"
        )
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != ws[0]):
        raise RuntimeError(
            f"Given weight of size {ws}, expected bias to be 1-dimensional with {ws[0]} elements, but got bias of "
            f"size {list(bias.shape)} instead"
        )
    padded = [input.shape[i] + 2 * padding[i - 2] for i in range(2, k)]
    kernel = [dilation[i - 2] * (ws[i] - 1) + 1 for i in range(2, k)]
    if any(p < q for p, q in zip(padded, kernel)):
        raise RuntimeError(
            f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). Kernel size: "
            f"({' x '.join(map(str, kernel))}). Kernel size can't be greater than actual input size"
        )
    if bias is not None and bias.dtype is not input.dtype:
        raise RuntimeError(f"Input type ({input.dtype._cpp}) and bias type ({bias.dtype._cpp}) should be the same")
    kernel2d = ([1] if k == 3 else []) + ws[2:]  # a 1-d convolution runs as a 2-d one of height 1
    if any(v <= 0 for v in kernel2d):  # the CPU kernels' shape checks: slow_conv2d's, or slow_conv_dilated's
        if any(v != 1 for v in dilation):
            raise RuntimeError(f"kernel size should be greater than zero, but got {kernel2d}")
        raise RuntimeError(
            f"kernel size should be greater than zero, but got kernel_height: {kernel2d[0]} kernel_width: {kernel2d[1]}"
        )
    if weight.dtype is not input.dtype:  # the kernel's own check
        raise RuntimeError(f"expected scalar type {input.dtype._legacy} but found {weight.dtype._legacy}")


def _conv(ns, x, w, b, params):
    """A convolution of arrays, or of tensors (recorded) under create_graph."""
    if ns.records_graph:
        return convolution(x, w, b, *params[:4])
    return conv_data(x, w, b, params)


@backward_formula("ConvolutionBackward0")
def _convolution_bw(node, g, ns):
    """derivatives.yaml: convolution_backward(grad, input, weight, bias_sym_sizes, stride,
    padding, dilation, transposed, output_padding, groups, grad_input_mask): one op, one
    node with three outputs (ConvolutionBackwardBackward0) under create_graph."""
    x, w = node.unpack(ns)
    mask = (node.needs(0), node.needs(1), node.needs(2))
    if ns.records_graph:
        return convolution_backward(g, x, w, node._ctx, mask)
    return conv_grads_data(g, x, w, node._ctx, mask)


def convolution_backward(g, x, w, params, mask):
    """ATen's convolution_backward on tensors: its results share one node,
    ConvolutionBackwardBackward0, with edges (grad_output, input, weight) and saving them."""
    arrays = conv_grads_data(g._data, x._data, w._data, params, mask)
    return multi_output_op("ConvolutionBackwardBackward0", arrays, (g, x, w), (g, x, w), params, "convolution_backward")


def _convolution_double_bw(node, grads, ns):
    """derivatives.yaml (convolution_backward): _convolution_double_backward. With ggI, ggW,
    ggb the grads of the first backward's results: grad_output gets conv(ggI, w) +
    conv(input, ggW) + ggb; input gets the input-grad of conv(., ggW) at grad_output;
    weight the weight-grad of conv(ggI, .) at grad_output."""
    g_out, x, w = node.unpack(ns)
    ggi, ggw, ggb = grads
    params = node._ctx
    ggo = gi = gw = None
    if node.needs(0):
        if ggi is not None:
            ggo = _conv(ns, ggi, w, None, params)
        if ggw is not None:
            t = _conv(ns, x, ggw, None, params)
            ggo = t if ggo is None else ggo + t
        if ggb is not None:
            shape = (1, -1) + (1,) * (len(g_out.shape) - 2)
            t = ns.expand(ns.reshape(ggb, shape), tuple(g_out.shape))
            ggo = t if ggo is None else ggo + t
    if ggw is not None and node.needs(1):
        gi = _conv_grads(ns, g_out, x, ggw, params, (True, False, False))[0]
    if ggi is not None and node.needs(2):
        gw = _conv_grads(ns, g_out, ggi, w, params, (False, True, False))[1]
    return ggo, gi, gw


def _conv_grads(ns, g, x, w, params, mask):
    if ns.records_graph:
        return convolution_backward(g, x, w, params, mask)
    return conv_grads_data(g, x, w, params, mask)


node_class("ConvolutionBackwardBackward0", _convolution_double_bw, n_outputs=3)


# ----------------------------------------------------------------------------- pooling


def pool_out_size(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """ATen's pooling_output_shape: with ceil_mode the last window must start inside the
    input or its left padding."""
    if s == 0:
        raise RuntimeError("stride should not be zero")
    out = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _windows(x, k, s, p, d, ceil_mode, fill):
    """The (N, C, Ho, Wo, kh, kw) windows of ``x`` (N, C, H, W), a strided view of ``x`` padded
    with ``fill``, and (Ho, Wo) as pool_out_size counts them: the padding on the right reaches
    as far as the last window (ceil_mode's may pass the right padding)."""
    n, c, h, w = x.shape
    out = tuple(pool_out_size(x.shape[2 + i], k[i], s[i], p[i], d[i], ceil_mode) for i in range(2))
    need = [(out[i] - 1) * s[i] + d[i] * (k[i] - 1) + 1 for i in range(2)]
    right = [max(need[0] - h - p[0], 0), max(need[1] - w - p[1], 0)]
    if p[0] or p[1] or right[0] or right[1]:
        x = np.pad(x, ((0, 0), (0, 0), (p[0], right[0]), (p[1], right[1])), constant_values=fill)
    st = x.strides
    shape = (n, c, out[0], out[1], k[0], k[1])
    return _as_strided(x, shape, (st[0], st[1], st[2] * s[0], st[3] * s[1], st[2] * d[0], st[3] * d[1])), out


def _batched4(data):
    """A 3-d (C, H, W) array as (1, C, H, W)."""
    return data[None] if data.ndim == 3 else data


def max_pool2d_data(data, k, s, p, d, ceil_mode):
    """(values, indices into each plane's H*W) of max pooling over an (N, C, H, W) array."""
    x = _batched4(data)
    n, c, h, w = x.shape
    lowest = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    win, out = _windows(x, k, s, p, d, ceil_mode, lowest)
    win = win.reshape(n, c, out[0], out[1], k[0] * k[1])
    arg = np.argmax(win, axis=-1)
    nan = np.isnan(win) if x.dtype.kind == "f" else None
    if (
        nan is not None and nan.any()
    ):  # ATen's loop takes every NaN it meets (``val > max || isnan(val)``): the last one
        last = win.shape[-1] - 1 - np.argmax(nan[..., ::-1], axis=-1)
        arg = np.where(nan.any(axis=-1), last, arg)
    values = np.take_along_axis(win, arg[..., None], axis=-1)[..., 0]
    i, j = np.divmod(arg, k[1])
    rows = np.arange(out[0]).reshape(-1, 1) * s[0] - p[0] + i * d[0]
    cols = np.arange(out[1]) * s[1] - p[1] + j * d[1]
    indices = (rows * w + cols).astype(np.int64)
    shape = data.shape[:-2] + out
    return np.ascontiguousarray(values, dtype=data.dtype).reshape(shape), indices.reshape(shape)


def max_pool2d_grad_data(g, shape, indices):
    """The input grad of max pooling: each grad added at its window's argmax."""
    hw = shape[-1] * shape[-2]
    planes = math.prod(shape[:-2])
    flat = (indices.reshape(planes, -1) + (np.arange(planes) * hw)[:, None]).ravel()
    gi = np.bincount(flat, weights=np.asarray(g, np.float64).ravel(), minlength=planes * hw)
    return gi.astype(g.dtype).reshape(shape)


def _pool_args(fn: str, name: str, value, default=None) -> tuple:
    """A pooling argument of op ``fn`` as a 2-tuple (an int, or a list of one or two ints):
    PyTorch's parser checks the types, the op the length, in its own words."""
    pos = _POOL_ARG_POSITIONS[name]
    if value is None or (isinstance(value, (list, tuple)) and len(value) == 0 and name == "stride"):
        value = default
    v = int_tuple(value, 2, (fn, name, pos))
    if len(v) not in (1, 2):
        raise RuntimeError(f"{fn}: {_POOL_ARG_ERRORS[name]}")
    return (v[0], v[-1])


_POOL_ARG_POSITIONS = {"kernel_size": 2, "stride": 3, "padding": 4, "dilation": 5}
_POOL_ARG_ERRORS = {
    "kernel_size": "kernel_size must either be a single int, or a tuple of two ints",
    "stride": "stride must either be omitted, a single int, or a tuple of two ints",
    "padding": "padding must either be a single int, or a tuple of two ints",
    "dilation": "dilation must be either a single int, or a tuple of two ints",
}


def _pool_shape_check(x, k, s, p, d, out, pool="max") -> None:
    """ATen's pool2d_shape_check, in its order and words."""
    if k[0] <= 0 or k[1] <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kH: {k[0]} kW: {k[1]}")
    if s[0] <= 0 or s[1] <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got dH: {s[0]} dW: {s[1]}")
    if d[0] <= 0 or d[1] <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilationH: {d[0]} dilationW: {d[1]}")
    ndim = x.dim()
    if not ((ndim == 3 and x.shape[0] and x.shape[1] and x.shape[2]) or (ndim == 4 and all(x.shape[1:]))):
        raise RuntimeError(
            "non-empty 3D or 4D (batch mode) tensor expected for input"
            if pool == "max"
            else "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:"
            + f"{list(x.shape)}"
        )
    if pool == "max":
        if p[0] > (d[0] * (k[0] - 1) + 1) // 2 or p[1] > (d[1] * (k[1] - 1) + 1) // 2:
            pi = 0 if p[0] > (d[0] * (k[0] - 1) + 1) // 2 else 1
            raise RuntimeError(
                f"pad should be at most half of effective kernel size, but got pad={p[pi]}, kernel_size={k[pi]} "
                f"and dilation={d[pi]}"
            )
    elif p[0] > k[0] // 2 or p[1] > k[1] // 2:
        pi = 0 if p[0] > k[0] // 2 else 1
        raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={p[pi]}, "
                           f"kernel_size={k[pi]} and dilation=1")  # fmt: skip
    c, h, w = x.shape[-3:]
    if out[0] < 1 or out[1] < 1:
        raise RuntimeError(
            f"Given input size: ({c}x{h}x{w}). Calculated output size: ({c}x{out[0]}x{out[1]}). Output size is too small"
        )


def max_pool2d_with_indices(
    input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=True
):
    """ATen's ``max_pool2d_with_indices``: (values, int64 indices into each input plane);
    MaxPool2DWithIndicesBackward0 saves the input and the indices (``_saved_result1``).
    The indices are reported as created only when the caller hands them to the user."""
    fn = "max_pool2d"
    k = _pool_args(fn, "kernel_size", kernel_size)
    s = _pool_args(fn, "stride", stride, k)
    p = _pool_args(fn, "padding", padding)
    d = _pool_args(fn, "dilation", dilation)
    h, w = input.shape[-2:] if input.dim() >= 2 else (1, 1)
    out = (pool_out_size(h, k[0], s[0], p[0], d[0], ceil_mode), pool_out_size(w, k[1], s[1], p[1], d[1], ceil_mode))
    _pool_shape_check(input, k, s, p, d, out)
    if input._data.dtype.kind not in "fiu":
        raise _ops.no_kernel("max_pool2d", input.dtype)
    values, indices = max_pool2d_data(input._data, k, s, p, d, ceil_mode)
    result, idx = _wrap(values), _wrap(indices)
    # the node keeps the lists as the parser made them (an int repeated, stride's None is [])
    ctx = (int_tuple(kernel_size, 2), () if stride is None else int_tuple(stride, 2), int_tuple(padding, 2),
           int_tuple(dilation, 2), bool(ceil_mode))  # fmt: skip
    record(result, node_class("MaxPool2DWithIndicesBackward0"), (input,), (input, idx), ctx, op="max_pool2d")
    if return_indices and _events.active:
        _events.emit("created", tensor=idx, grad_fn=None, inputs=(input,), op="max_pool2d")
    return result, idx


@backward_formula("MaxPool2DWithIndicesBackward0")
def _max_pool2d_bw(node, g, ns):
    """derivatives.yaml: max_pool2d_with_indices_backward(grad, self, ..., result1)."""
    x, idx = node.unpack(ns)
    if ns.records_graph:
        data = max_pool2d_grad_data(g._data, x._data.shape, idx._data)
        (gi,) = multi_output_op(
            "MaxPool2DWithIndicesBackwardBackward0", (data,), (g, x), (idx,), None, "max_pool2d_with_indices_backward"
        )
        return (gi,)
    return (max_pool2d_grad_data(g, x.shape, idx),)


def _max_pool2d_double_bw(node, ggi, ns):
    """derivatives.yaml: grad_output gets max_pool_double_backward(grad, indices, 2): the
    grad's values at the indices; self gets zeros."""
    (idx,) = node.unpack(ns)
    shape = tuple(ggi.shape)
    planes = math.prod(shape[:-2])
    ia = idx._data if ns.records_graph else idx
    rows = np.arange(planes)[:, None]
    flat = ns.reshape(ggi, (planes, shape[-2] * shape[-1]))
    picked = ns.take(flat, (rows, ia.reshape(planes, -1)))
    return ns.reshape(picked, ia.shape), None


node_class("MaxPool2DWithIndicesBackwardBackward0", _max_pool2d_double_bw)


def _avg_divisors(h, w, out, k, s, p, count_include_pad, divisor_override):
    """Each output's divisor, as ATen's avg_pool2d kernel counts its window."""
    if divisor_override:
        return np.full(out, divisor_override, dtype=np.int64)

    def spans(size, n, k, s, p):
        start = np.arange(n) * s - p
        end = np.minimum(start + k, size + p)
        pool = end - start
        return pool, np.minimum(end, size) - np.maximum(start, 0)

    ph, hh = spans(h, out[0], k[0], s[0], p[0])
    pw, ww = spans(w, out[1], k[1], s[1], p[1])
    if count_include_pad:
        return ph[:, None] * pw[None, :]
    return hh[:, None] * ww[None, :]


def avg_pool2d_data(data, k, s, p, ceil_mode, count_include_pad, divisor_override):
    x = _batched4(data)
    h, w = x.shape[-2:]
    win, out = _windows(x, k, s, p, (1, 1), ceil_mode, 0)
    sums = win.sum(axis=(-2, -1))
    div = _avg_divisors(h, w, out, k, s, p, count_include_pad, divisor_override)
    if data.dtype.kind != "f":  # C++'s integer division, toward zero
        avg = np.sign(sums) * (np.abs(sums) // div)
    else:
        avg = sums / div
    return np.ascontiguousarray(avg, dtype=data.dtype).reshape(data.shape[:-2] + out)


def avg_pool2d_grad_data(g, shape, k, s, p, count_include_pad, divisor_override):
    h, w = shape[-2:]
    out = g.shape[-2:]
    div = _avg_divisors(h, w, out, k, s, p, count_include_pad, divisor_override)
    share = _batched4(g / div.astype(g.dtype))
    n, c = share.shape[:2]
    padded = np.zeros((n, c, h + 2 * p[0] + s[0] * out[0] + k[0], w + 2 * p[1] + s[1] * out[1] + k[1]), g.dtype)
    for i in range(k[0]):  # each kernel offset adds its share to the elements it covers
        for j in range(k[1]):
            padded[:, :, i : i + s[0] * out[0] : s[0], j : j + s[1] * out[1] : s[1]] += share
    return np.ascontiguousarray(padded[:, :, p[0] : p[0] + h, p[1] : p[1] + w]).reshape(shape)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None) -> Tensor:  # fmt: skip
    """ATen's ``avg_pool2d``: AvgPool2DBackward0, saving the input and the arguments."""
    fn = "avg_pool2d"
    k = _pool_args(fn, "kernel_size", kernel_size)
    s = _pool_args(fn, "stride", stride, k)
    p = _pool_args(fn, "padding", padding)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    h, w = input.shape[-2:] if input.dim() >= 2 else (1, 1)
    out = (pool_out_size(h, k[0], s[0], p[0], 1, ceil_mode), pool_out_size(w, k[1], s[1], p[1], 1, ceil_mode))
    _pool_shape_check(input, k, s, p, (1, 1), out, pool="avg")
    if input._data.dtype.kind not in "fiu":
        raise _ops.no_kernel("avg_pool2d", input.dtype)
    data = avg_pool2d_data(input._data, k, s, p, ceil_mode, count_include_pad, divisor_override)
    ctx = (int_tuple(kernel_size, 2), () if stride is None else int_tuple(stride, 2), int_tuple(padding, 2),
           bool(ceil_mode), bool(count_include_pad), divisor_override)  # fmt: skip
    return record(_wrap(data), node_class("AvgPool2DBackward0"), (input,), (input,), ctx, op="avg_pool2d")


def _avg_geometry(ctx):
    k = _pool_args("avg_pool2d", "kernel_size", ctx[0])
    return k, _pool_args("avg_pool2d", "stride", ctx[1], k), _pool_args("avg_pool2d", "padding", ctx[2])


@backward_formula("AvgPool2DBackward0")
def _avg_pool2d_bw(node, g, ns):
    (x,) = node.unpack(ns)
    k, s, p = _avg_geometry(node._ctx)
    args = (k, s, p, node._ctx[4], node._ctx[5])
    if ns.records_graph:
        data = avg_pool2d_grad_data(g._data, x._data.shape, *args)
        return multi_output_op("AvgPool2DBackwardBackward0", (data,), (g, x), (x,), node._ctx, "avg_pool2d_backward")
    return (avg_pool2d_grad_data(g, x.shape, *args),)


def _avg_pool2d_double_bw(node, ggi, ns):
    """derivatives.yaml: grad_output gets avg_pool2d(grad, ...); self gets zeros."""
    c = node._ctx
    if ns.records_graph:
        return avg_pool2d(ggi, c[0], c[1], c[2], c[3], c[4], c[5]), None
    k, s, p = _avg_geometry(c)
    return avg_pool2d_data(ggi, k, s, p, c[3], c[4], c[5]), None


node_class("AvgPool2DBackwardBackward0", _avg_pool2d_double_bw)


def _adaptive_matrix(size: int, out: int, dtype):
    """(out, size) 0/1 matrix of the adaptive windows [floor(i*size/out), ceil((i+1)*size/out)),
    and each window's length."""
    i = np.arange(out)
    start = (i * size) // out
    end = -((-(i + 1) * size) // out)
    cols = np.arange(size)
    m = ((cols >= start[:, None]) & (cols < end[:, None])).astype(dtype)
    return m, end - start


def adaptive_avg_pool2d_data(data, out):
    h, w = data.shape[-2:]
    mh, lh = _adaptive_matrix(h, out[0], data.dtype)
    mw, lw = _adaptive_matrix(w, out[1], data.dtype)
    sums = np.matmul(np.matmul(mh, data), mw.T)
    return np.ascontiguousarray(sums / (lh[:, None] * lw[None, :]), dtype=data.dtype)


def adaptive_avg_pool2d_grad_data(g, shape):
    h, w = shape[-2:]
    out = g.shape[-2:]
    mh, lh = _adaptive_matrix(h, out[0], g.dtype)
    mw, lw = _adaptive_matrix(w, out[1], g.dtype)
    share = g / (lh[:, None] * lw[None, :]).astype(g.dtype)
    return np.ascontiguousarray(np.matmul(np.matmul(mh.T, share), mw), dtype=g.dtype)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """ATen's ``_adaptive_avg_pool2d``: AdaptiveAvgPool2DBackward0, saving the input."""
    out = tuple(int(o) for o in output_size)
    if input.dim() not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got {list(input.shape)}")
    for i in range(1, input.dim()):
        if input.shape[i] == 0:
            raise RuntimeError(
                "adaptive_avg_pool2d(): Expected input to have non-zero size for non-batch dimensions, but input "
                f"has sizes {list(input.shape)} with dimension {i} being empty"
            )
    if input._data.dtype.kind != "f":
        raise _ops.no_kernel("adaptive_avg_pool2d", input.dtype)
    data = adaptive_avg_pool2d_data(input._data, out)
    return record(
        _wrap(data), node_class("AdaptiveAvgPool2DBackward0"), (input,), (input,), out, op="adaptive_avg_pool2d"
    )


@backward_formula("AdaptiveAvgPool2DBackward0")
def _adaptive_avg_pool2d_bw(node, g, ns):
    (x,) = node.unpack(ns)
    if ns.records_graph:
        data = adaptive_avg_pool2d_grad_data(g._data, x._data.shape)
        return multi_output_op(
            "AdaptiveAvgPool2DBackwardBackward0", (data,), (g, x), (), node._ctx, "_adaptive_avg_pool2d_backward"
        )
    return (adaptive_avg_pool2d_grad_data(g, x.shape),)


def _adaptive_avg_pool2d_double_bw(node, ggi, ns):
    """derivatives.yaml: grad_output gets _adaptive_avg_pool2d(grad, ...); self gets zeros."""
    if ns.records_graph:
        return adaptive_avg_pool2d(ggi, node._ctx), None
    return adaptive_avg_pool2d_data(ggi, node._ctx), None


node_class("AdaptiveAvgPool2DBackwardBackward0", _adaptive_avg_pool2d_double_bw)


# ----------------------------------------------------------------------------- batch norm


def native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps):
    """ATen's ``native_batch_norm``: NativeBatchNormBackward0, saving input, weight, the
    running stats and the batch's mean and inverse std (result1, result2: empty in eval
    mode). In training the running stats are updated in their storage (their versions do
    not move, as in PyTorch's kernel), the variance unbiased."""
    data = input._data
    if data.dtype.kind != "f":
        raise _ops.no_kernel("batch_norm", input.dtype)
    params = [t for t in (weight, bias, running_mean, running_var) if t is not None]
    if params and params[0].dtype is not input.dtype:  # ATen's is_mixed_type, check_mixed_data_type
        if any(t._data.dtype != np.float32 for t in params):
            raise RuntimeError("mixed dtype (CPU): expect parameter to have scalar type of Float")
        if data.dtype != np.float16:
            raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")
    c = data.shape[1]
    axes = (0,) + tuple(range(2, data.ndim))
    shape = (1, c) + (1,) * (data.ndim - 2)
    wide = data.astype(np.float64)
    if training:
        n = data.size // c if c else 0
        mean = wide.mean(axis=axes)
        var = ((wide - mean.reshape(shape)) ** 2).mean(axis=axes)
        invstd = 1.0 / np.sqrt(var + eps)
        if running_mean is not None:
            rm = running_mean._data
            rm[...] = momentum * mean + (1 - momentum) * rm
        if running_var is not None:
            rv = running_var._data
            unbiased = var * n / (n - 1) if n > 1 else np.full_like(var, np.inf)
            rv[...] = momentum * unbiased + (1 - momentum) * rv
        save_mean = mean.astype(data.dtype)
        save_invstd = invstd.astype(data.dtype)
    else:
        mean = running_mean._data.astype(np.float64)
        invstd = 1.0 / np.sqrt(running_var._data.astype(np.float64) + eps)
        save_mean = save_invstd = np.empty(0, dtype=data.dtype)
    scale = invstd if weight is None else invstd * weight._data
    shift = -mean * scale if bias is None else bias._data - mean * scale
    out = (wide * scale.reshape(shape) + shift.reshape(shape)).astype(data.dtype)
    r1, r2 = _wrap(save_mean), _wrap(save_invstd)
    saved = (input, weight, running_mean, running_var, r1, r2)
    ctx = (bool(training), float(eps))
    return record(
        _wrap(out), node_class("NativeBatchNormBackward0"), (input, weight, bias), saved, ctx, op="batch_norm"
    )


@backward_formula("NativeBatchNormBackward0")
def _batch_norm_bw(node, g, ns):
    """native_batch_norm_backward, written with array ops (under create_graph the graph is
    of those ops, not PyTorch's one NativeBatchNormBackwardBackward0 node)."""
    x, w, rm, rv, mean, invstd = node.unpack(ns)
    training, eps = node._ctx
    nd = len(x.shape)
    c = x.shape[1]
    shape = (1, c) + (1,) * (nd - 2)
    axes = (0,) + tuple(range(2, nd))
    if not training:
        invstd = 1.0 / ns.sqrt(rv + eps)
        mean = rm
    elif ns.records_graph:  # the batch's statistics are functions of the input for a higher-order grad
        mean = ns.mean(x, axes)
        invstd = 1.0 / ns.sqrt(ns.mean((x - ns.reshape(mean, (1, c) + (1,) * (nd - 2))) ** 2, axes) + eps)
    mean_b, invstd_b = ns.reshape(mean, shape), ns.reshape(invstd, shape)
    xhat = (x - mean_b) * invstd_b
    gi = gw = gb = None
    scale = invstd_b if w is None else invstd_b * ns.reshape(w, shape)
    if node.needs(2) or (node.needs(0) and training):
        gb = ns.sum(g, axes)
    if node.needs(1) or (node.needs(0) and training):
        gw = ns.sum(g * xhat, axes)
    if node.needs(0):
        if training:
            n = math.prod(x.shape) // c
            gi = scale * (g - ns.reshape(gb, shape) / n - xhat * ns.reshape(gw, shape) / n)
        else:
            gi = g * scale
    return gi, gw if node.needs(1) else None, gb if node.needs(2) else None
