"""Kernels of the activations ``gelu``, ``leaky_relu``, ``silu``, ``elu`` (and ``selu``, ``celu``),
``hardtanh`` (and ``relu6``), ``log_sigmoid``, ``mish``, ``hardswish`` and ``hardsigmoid``, with
PyTorch's graphs.

Each is one ATen op and one autograd node, saving what ``derivatives.yaml`` saves:
GeluBackward0 (self, approximate), LeakyReluBackward0 (self, negative_slope), SiluBackward0
(self), EluBackward0 (self, alpha, scale, input_scale), CeluBackward0 (self, alpha),
HardtanhBackward0 (self, min_val, max_val). The in-place forms that can differentiate through
their result save it (LeakyReluBackward1, EluBackward1, CeluBackward1); ``silu_`` and
``hardtanh_`` save a clone of self taken before the edit, as PyTorch's generated kernels do.
Under ``create_graph=True`` the backward is itself one node (GeluBackwardBackward0,
LeakyReluBackwardBackward0, EluBackwardBackward0, HardtanhBackwardBackward0); silu's is
composite (``grad * sigmoid * (1 + x * (1 - sigmoid))``), as in PyTorch, and so is mish's;
hardsigmoid's backward has no derivative (NotImplemented).

>>> import gradlens_core as torch
>>> x = torch.tensor([-1., 2.], requires_grad=True)
>>> leaky_relu(x, 0.1)
tensor([-0.1000,  2.0000], grad_fn=<LeakyReluBackward0>)
"""

from __future__ import annotations

import math

import numpy as np

from .._autograd import NotImplementedNode, backward_formula, node_class
from .._math_ops import _np_erf
from .._ns import NUMPY
from .._ops import _np_sigmoid, _snapshot, _write, no_kernel
from .._tensor import Tensor, check_inplace, check_internal_overlap, finish_inplace, needs_grad, record

__all__ = [
    "gelu",
    "leaky_relu",
    "leaky_relu_",
    "silu",
    "silu_",
    "elu",
    "elu_",
    "celu",
    "celu_",
    "hardtanh",
    "hardtanh_",
]

_wrap = Tensor._wrap


def _float_only(input: Tensor, kernel: str) -> np.ndarray:
    data = input._data
    if data.dtype.kind != "f":
        raise no_kernel(kernel, input.dtype)
    return data


def _apply(input: Tensor, name: str, values, ctx, op: str) -> Tensor:
    """The out-of-place op: its result, recorded on a node saving ``input``."""
    res = np.asarray(values).astype(input._data.dtype, copy=False)
    return record(_wrap(res), node_class(name), (input,), (input,), ctx=ctx, op=op)


def _apply_(self: Tensor, name: str, values_of, ctx, op: str, save_result: bool) -> Tensor:
    """The in-place op: the node saves the result (``save_result``) or a clone of self taken
    before the edit (PyTorch's ``original_self``)."""
    check_inplace(self, op, overlap="ok")
    check_internal_overlap(self, op)
    saved = (_snapshot(self),) if not save_result and needs_grad(self) else ()
    with np.errstate(over="ignore", invalid="ignore"):
        _write(self, np.asarray(values_of(self._data)).astype(self._data.dtype, copy=False), op)
    return finish_inplace(self, op, node_class(name), (self,), saved, ctx=ctx, save_output=save_result)


def _fused_backward(name, formula, g, x, values, ctx, saved=None):
    """A backward kernel recorded as one node over (grad_output, self) under create_graph."""
    node = node_class(name, formula)
    inputs = (g, x)
    return record(_wrap(np.asarray(values)), node, inputs, inputs if saved is None else saved, ctx=ctx, op=name)


# ----------------------------------------------------------------------------- gelu

_SQRT1_2 = math.sqrt(0.5)
_GELU_PDF = 2 / math.sqrt(math.pi) * _SQRT1_2 * 0.5  # M_2_SQRTPI * M_SQRT1_2 * 0.5
_GELU_BETA = math.sqrt(2) * 2 / math.sqrt(math.pi) * 0.5  # M_SQRT2 * M_2_SQRTPI * 0.5
_GELU_KAPPA = 0.044715


def _np_gelu(x: np.ndarray, approximate: str) -> np.ndarray:
    # in x's dtype, op for op as GeluKernel's scalar formulas (float32's cancellation in
    # 1 + erf(x / sqrt 2) for x << 0 included); erf and tanh themselves are numpy's
    t = x.dtype.type
    if approximate == "tanh":
        inner = t(_GELU_BETA) * (x + t(_GELU_KAPPA) * x * x * x)
        return t(0.5) * x * (t(1) + np.tanh(inner))
    return x * t(0.5) * (t(1) + _np_erf(x * t(_SQRT1_2)))


def _np_gelu_backward(g: np.ndarray, x: np.ndarray, approximate: str) -> np.ndarray:
    t = x.dtype.type
    with np.errstate(over="ignore", invalid="ignore"):
        if approximate == "tanh":
            x_sq = x * x
            tanh_inner = np.tanh(t(_GELU_BETA) * (x + t(_GELU_KAPPA) * x_sq * x))
            left_derivative = t(0.5) * (t(1) + tanh_inner)
            right_derivative = t(0.5) * x * (t(1) - tanh_inner * tanh_inner) * t(_GELU_BETA)
            right_derivative = right_derivative * (t(1) + t(3 * _GELU_KAPPA) * x_sq)
            return g * (left_derivative + right_derivative)
        cdf = t(0.5) * (t(1) + _np_erf(x * t(_SQRT1_2)))
        pdf = np.exp(t(-0.5) * x * x) * t(_GELU_PDF)
        return g * (cdf + x * pdf)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """``x * Phi(x)`` (``approximate='tanh'``: its tanh approximation); GeluBackward0 saves
    self and approximate.

    >>> import gradlens_core as torch
    >>> gelu(torch.tensor([0., 1.]))
    tensor([0.0000, 0.8413])
    """
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    data = _float_only(input, "GeluKernelImpl")
    return _apply(input, "GeluBackward0", _np_gelu(data, approximate), approximate, "gelu")


def _gelu_backward(g, x, approximate, ns):
    """ATen's gelu_backward(grad, self, approximate)."""
    if ns.records_graph:
        values = _np_gelu_backward(g._data, x._data, approximate)
        return _fused_backward("GeluBackwardBackward0", _gelu_bb, g, x, values, approximate)
    return _np_gelu_backward(g, x, approximate)


@backward_formula("GeluBackward0")
def _gelu_bw(node, g, ns):
    (x,) = node.unpack(ns)
    return (_gelu_backward(g, x, node._ctx, ns),)


def _gelu_bb(node, gg, ns):
    """derivatives.yaml: grad_output: gelu_backward(grad, self, approximate); self:
    gelu_double_backward(grad, grad_output, self, approximate)."""
    g, x = node.unpack(ns)
    approximate = node._ctx
    ga = _gelu_backward(gg, x, approximate, ns) if node.needs(0) else None
    gx = None
    if node.needs(1):
        if approximate == "tanh":
            inner = (x + x * x * x * _GELU_KAPPA) * _GELU_BETA
            t = inner.tanh() if ns.records_graph else np.tanh(inner)
            f = x * 0.5
            g_ = 1 - t * t
            h = (1 + x * x * (3 * _GELU_KAPPA)) * _GELU_BETA
            # gelu' = (1 + t) / 2 + f g h; both halves contribute g h / 2 to gelu''; g' = -2 t g h
            g_prime = g_ * t * h * -2
            dgrad = g_ * h + f * h * g_prime + f * g_ * (x * (6 * _GELU_KAPPA * _GELU_BETA))
        else:
            x_sq = x * x
            pdf = ns.exp(x_sq * -0.5) * _GELU_PDF
            dgrad = pdf * 2 - x_sq * pdf
        gx = gg * g * dgrad
    return ga, gx


# ----------------------------------------------------------------------------- leaky_relu


def _np_leaky(x: np.ndarray, slope) -> np.ndarray:
    return np.where(x > 0, x, x * x.dtype.type(slope))


def leaky_relu(input: Tensor, negative_slope=0.01) -> Tensor:
    """``x`` where ``x > 0``, else ``negative_slope * x`` (LeakyReluBackward0)."""
    data = _float_only(input, "leaky_relu_cpu")
    return _apply(input, "LeakyReluBackward0", _np_leaky(data, negative_slope), negative_slope, "leaky_relu")


def leaky_relu_(input: Tensor, negative_slope=0.01) -> Tensor:
    """In place (LeakyReluBackward1, saving the result)."""
    _float_only(input, "leaky_relu_cpu")
    f = lambda d: _np_leaky(d, negative_slope)  # noqa: E731
    return _apply_(input, "LeakyReluBackward1", f, negative_slope, "leaky_relu_", save_result=True)


def _leaky_relu_backward(g, x, slope, is_result, ns):
    """ATen's leaky_relu_backward(grad, self, negative_slope, self_is_result)."""
    if is_result and slope < 0:
        raise RuntimeError(
            "In-place leakyReLu backward calculation is triggered with a negative slope which is not supported. "
            "This is caused by calling in-place forward function with a negative slope, please call out-of-place "
            "version instead. File an issue at https://github.com/pytorch/pytorch if you do require supporting "
            "in-place leakRelu backward calculation with negative slope"
        )
    if ns.records_graph:
        values = _leaky_relu_backward(g._data, x._data, slope, False, NUMPY)
        return _fused_backward("LeakyReluBackwardBackward0", _leaky_bb, g, x, values, slope, saved=(x,))
    return np.where(x > 0, g, g * g.dtype.type(slope))


@backward_formula("LeakyReluBackward0")
def _leaky_bw(node, g, ns):
    (x,) = node.unpack(ns)
    return (_leaky_relu_backward(g, x, node._ctx, False, ns),)


@backward_formula("LeakyReluBackward1")
def _leaky_bw1(node, g, ns):
    (r,) = node.unpack(ns)
    return (_leaky_relu_backward(g, r, node._ctx, True, ns),)


def _leaky_bb(node, gg, ns):
    # derivatives.yaml: grad_output: leaky_relu_backward(grad, self, negative_slope, false);
    # self: zeros_like(grad)
    (x,) = node.unpack(ns)
    ga = _leaky_relu_backward(gg, x, node._ctx, False, ns) if node.needs(0) else None
    return ga, ns.zeros_like(gg) if node.needs(1) else None


# ----------------------------------------------------------------------------- silu


def _np_silu(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return x / (1 + np.exp(-x))


def silu(input: Tensor) -> Tensor:
    """``x * sigmoid(x)`` (SiluBackward0, saving self)."""
    data = _float_only(input, "silu_cpu")
    return _apply(input, "SiluBackward0", _np_silu(data), None, "silu")


def silu_(input: Tensor) -> Tensor:
    """In place (SiluBackward0, saving a clone of self taken before the edit)."""
    _float_only(input, "silu_cpu")
    return _apply_(input, "SiluBackward0", _np_silu, None, "silu_", save_result=False)


@backward_formula("SiluBackward0")
def _silu_bw(node, g, ns):
    """derivatives.yaml: silu_backward(grad, self) with grad mode off; under create_graph
    infinitely_differentiable_silu_backward: ``grad * sigmoid * (1 + self * (1 - sigmoid))``."""
    (x,) = node.unpack(ns)
    if ns.records_graph:
        s = x.sigmoid()
        return (g * s * (1 + x * (1 - s)),)
    s = _np_sigmoid(x)
    return ((g * s * (1 + x * (1 - s))).astype(g.dtype, copy=False),)


# ----------------------------------------------------------------------------- elu, selu, celu


def _np_elu(x: np.ndarray, alpha, scale, input_scale) -> np.ndarray:
    t = x.dtype.type
    with np.errstate(over="ignore", invalid="ignore"):
        neg = np.expm1(x * t(input_scale)) * t(alpha * scale)
    return np.where(x <= 0, neg, x * t(scale))


def elu(input: Tensor, alpha=1.0, scale=1, input_scale=1, node="EluBackward0") -> Tensor:
    """``scale * x`` where ``x > 0``, else ``alpha * scale * (exp(input_scale * x) - 1)``
    (EluBackward0; ``selu`` is elu with its constants; ``celu`` records CeluBackward0)."""
    data = _float_only(input, "elu_cpu")
    ctx = (alpha, scale, input_scale)
    return _apply(input, node, _np_elu(data, alpha, scale, input_scale), ctx, "elu")


def elu_(input: Tensor, alpha=1.0, scale=1, input_scale=1, node="EluBackward1") -> Tensor:
    """In place (EluBackward1 / CeluBackward1, saving the result)."""
    _float_only(input, "elu_cpu")
    f = lambda d: _np_elu(d, alpha, scale, input_scale)  # noqa: E731
    return _apply_(input, node, f, (alpha, scale, input_scale), "elu_", save_result=True)


def _check_celu_alpha(alpha) -> None:
    # ATen's celu checks before it divides by alpha; its text names C++'s would-be error
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")


def celu(input: Tensor, alpha=1.0) -> Tensor:
    """``elu(x, alpha, 1, 1 / alpha)`` (CeluBackward0, saving self and alpha)."""
    _check_celu_alpha(alpha)
    return elu(input, alpha, 1, 1.0 / alpha, node="CeluBackward0")


def celu_(input: Tensor, alpha=1.0) -> Tensor:
    """In place (CeluBackward1, saving the result)."""
    _check_celu_alpha(alpha)
    return elu_(input, alpha, 1, 1.0 / alpha, node="CeluBackward1")


def _elu_backward(g, alpha, scale, input_scale, is_result, x, ns):
    """ATen's elu_backward(grad, alpha, scale, input_scale, is_result, self_or_result)."""
    if is_result and alpha < 0:
        raise RuntimeError(
            "In-place elu backward calculation is triggered with a negative slope which is not supported. "
            "This is caused by calling in-place forward function with a negative slope, please call out-of-place "
            "version instead."
        )
    if ns.records_graph:
        values = _elu_backward(g._data, alpha, scale, input_scale, is_result, x._data, NUMPY)
        ctx = (alpha, scale, input_scale, is_result)
        return _fused_backward("EluBackwardBackward0", _elu_bb, g, x, values, ctx)
    t = g.dtype.type
    negcoef, poscoef, negiptcoef = t(alpha * scale), t(scale), t(input_scale)
    with np.errstate(over="ignore", invalid="ignore"):
        if is_result:
            neg = g * negiptcoef * (x + negcoef)
        else:
            neg = g * negiptcoef * negcoef * np.exp(x * negiptcoef)
    return np.where(x <= 0, neg, g * poscoef).astype(g.dtype, copy=False)


def _elu_bw_of(is_result: bool, celu: bool):
    def formula(node, g, ns):
        (x,) = node.unpack(ns)
        if celu:  # derivatives.yaml: elu_backward(grad, alpha, 1, 1.0/alpha.toFloat(), is_result, ...)
            alpha = node._ctx[0]
            return (_elu_backward(g, alpha, 1, 1.0 / float(alpha), is_result, x, ns),)
        return (_elu_backward(g, *node._ctx, is_result, x, ns),)

    return formula


node_class("EluBackward0", _elu_bw_of(False, False))
node_class("EluBackward1", _elu_bw_of(True, False))
node_class("CeluBackward0", _elu_bw_of(False, True))
node_class("CeluBackward1", _elu_bw_of(True, True))


def _elu_bb(node, gg, ns):
    """derivatives.yaml: grad_output: elu_backward(grad, ...); self_or_result:
    elu_double_backward(grad, grad_output, alpha, scale, input_scale, is_result, self_or_result)."""
    g, x = node.unpack(ns)
    alpha, scale, input_scale, is_result = node._ctx
    ga = _elu_backward(gg, alpha, scale, input_scale, is_result, x, ns) if node.needs(0) else None
    gx = None
    if node.needs(1):
        neg = (x < 0).type_as(gg) if ns.records_graph else (x < 0).astype(gg.dtype)
        w = gg * g * float(input_scale)
        if is_result:
            gx = w * neg
        else:
            gx = _elu_backward(w, alpha, scale, input_scale, is_result, x, ns) * neg
    return ga, gx


# ----------------------------------------------------------------------------- hardtanh


def _np_hardtanh(x: np.ndarray, min_val, max_val) -> np.ndarray:
    if x.dtype.kind == "f":
        t = x.dtype.type
        # clamp: nan stays nan
        return np.where(x < t(min_val), t(min_val), np.where(x > t(max_val), t(max_val), x))
    return np.clip(x, math.ceil(min_val) if min_val > -math.inf else None, max_val).astype(x.dtype)


def _check_hardtanh(input: Tensor) -> None:
    if input._data.dtype == np.bool_:
        raise RuntimeError("Bool inputs not supported for hardtanh")


def hardtanh(input: Tensor, min_val=-1.0, max_val=1.0) -> Tensor:
    """``clamp(x, min_val, max_val)`` (HardtanhBackward0: saves self, min_val, max_val)."""
    _check_hardtanh(input)
    return _apply(
        input, "HardtanhBackward0", _np_hardtanh(input._data, min_val, max_val), (min_val, max_val), "hardtanh"
    )


def hardtanh_(input: Tensor, min_val=-1.0, max_val=1.0) -> Tensor:
    """In place (HardtanhBackward0, saving a clone of self taken before the edit)."""
    _check_hardtanh(input)
    f = lambda d: _np_hardtanh(d, min_val, max_val)  # noqa: E731
    return _apply_(input, "HardtanhBackward0", f, (min_val, max_val), "hardtanh_", save_result=False)


def _hardtanh_backward(g, x, min_val, max_val, ns):
    """ATen's hardtanh_backward(grad, self, min_val, max_val): grad strictly inside the range."""
    if ns.records_graph:
        values = _hardtanh_backward(g._data, x._data, min_val, max_val, NUMPY)
        return _fused_backward("HardtanhBackwardBackward0", _hardtanh_bb, g, x, values, (min_val, max_val), (x,))
    return np.where((x <= min_val) | (x >= max_val), np.zeros((), g.dtype), g)


@backward_formula("HardtanhBackward0")
def _hardtanh_bw(node, g, ns):
    (x,) = node.unpack(ns)
    return (_hardtanh_backward(g, x, *node._ctx, ns),)


def _hardtanh_bb(node, gg, ns):
    # derivatives.yaml: grad_output: hardtanh_backward(grad, self, min_val, max_val); self: zeros_like(grad)
    (x,) = node.unpack(ns)
    ga = _hardtanh_backward(gg, x, *node._ctx, ns) if node.needs(0) else None
    return ga, ns.zeros_like(gg) if node.needs(1) else None


# ----------------------------------------------------------------------------- log_sigmoid, mish, hardswish, hardsigmoid


def log_sigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|))`` (LogSigmoidBackward0: saves self and
    the forward's buffer ``exp(-|x|)``)."""
    data = _float_only(input, "log_sigmoid_cpu")
    with np.errstate(over="ignore"):
        buffer = np.exp(-np.abs(data))
        out = np.minimum(data, data.dtype.type(0)) - np.log1p(buffer)
    node = node_class("LogSigmoidBackward0")
    return record(_wrap(np.asarray(out)), node, (input,), (input, _wrap(buffer)), op="log_sigmoid")


def _log_sigmoid_backward(g, x, buffer, ns):
    """ATen's log_sigmoid_backward(grad, self, buffer): ``(1 - z / (1 + z)) * grad`` for x < 0,
    ``z / (1 + z) * grad`` otherwise, with ``z = exp(-|x|)``; one node
    (LogSigmoidBackwardBackward0, saving grad_output, self and buffer) under create_graph."""
    if ns.records_graph:
        values = _log_sigmoid_backward(g._data, x._data, buffer._data, NUMPY)
        node = node_class("LogSigmoidBackwardBackward0", _log_sigmoid_bb)
        return record(_wrap(values), node, (g, x, buffer), (g, x, buffer), op="log_sigmoid_backward")
    one = x.dtype.type(1)
    z = np.exp(-np.abs(x))
    r = z / (one + z)
    return np.asarray(np.where(x < 0, one - r, r) * g, dtype=g.dtype)


@backward_formula("LogSigmoidBackward0")
def _log_sigmoid_bw(node, g, ns):
    x, buffer = node.unpack(ns)
    return (_log_sigmoid_backward(g, x, buffer, ns),)


def _log_sigmoid_bb(node, gg, ns):
    # derivatives.yaml: grad_output: log_sigmoid_backward(grad, self, buffer); self:
    # log_sigmoid_double_backward(grad * grad_output, self) = w * (sigmoid - 1) * sigmoid
    g, x, buffer = node.unpack(ns)
    ga = _log_sigmoid_backward(gg, x, buffer, ns) if node.needs(0) else None
    gx = None
    if node.needs(1):
        s = x.sigmoid() if ns.records_graph else _np_sigmoid(x)
        gx = gg * g * (s - 1) * s
    return ga, gx, None


def _np_mish(x: np.ndarray) -> np.ndarray:
    from .._math_ops import _np_softplus

    return x * np.tanh(_np_softplus(x, 1, 20))


def mish(input: Tensor) -> Tensor:
    """``x * tanh(softplus(x))`` (MishBackward0, saving self)."""
    data = _float_only(input, "mish_cpu")
    return _apply(input, "MishBackward0", _np_mish(data), None, "mish")


@backward_formula("MishBackward0")
def _mish_bw(node, g, ns):
    """derivatives.yaml: mish_backward(grad, self) with grad mode off, under create_graph
    infinitely_differentiable_mish_backward: ``grad * (tanh(softplus) + self * sigmoid *
    (1 - tanh(softplus)^2))``."""
    (x,) = node.unpack(ns)
    if ns.records_graph:
        from .._math_ops import softplus

        s = x.sigmoid()
        t = softplus(x).tanh()
        return (g * (t + x * s * (1 - t * t)),)
    from .._math_ops import _np_softplus

    s = _np_sigmoid(x)
    t = np.tanh(_np_softplus(x, 1, 20))
    return (np.asarray(g * (t + x * s * (1 - t * t)), dtype=g.dtype),)


def _np_hardswish(x: np.ndarray) -> np.ndarray:
    t = x.dtype.type
    return x * np.minimum(np.maximum(x + t(3), t(0)), t(6)) / t(6)


def hardswish(input: Tensor) -> Tensor:
    """``x * relu6(x + 3) / 6`` (HardswishBackward0, saving self)."""
    data = _float_only(input, "hardswish_cpu")
    return _apply(input, "HardswishBackward0", _np_hardswish(data), None, "hardswish")


def _hardswish_backward(g, x, ns):
    """ATen's hardswish_backward: 0 up to -3, ``grad * (x / 3 + 0.5)`` below 3, grad from 3; one
    node (HardswishBackwardBackward0, saving grad_output and self) under create_graph."""
    if ns.records_graph:
        values = _hardswish_backward(g._data, x._data, NUMPY)
        return _fused_backward("HardswishBackwardBackward0", _hardswish_bb, g, x, values, None)
    t = x.dtype.type
    mid = g * (x / t(3) + t(0.5))
    return np.asarray(np.where(x <= -3, t(0), np.where(x < 3, mid, g)), dtype=g.dtype)


@backward_formula("HardswishBackward0")
def _hardswish_bw(node, g, ns):
    (x,) = node.unpack(ns)
    return (_hardswish_backward(g, x, ns),)


def _hardswish_bb(node, gg, ns):
    # derivatives.yaml: grad_output: hardswish_backward(grad, self); self: where(-3 < self < 3,
    # grad * grad_output / 3.0, 0)
    g, x = node.unpack(ns)
    ga = _hardswish_backward(gg, x, ns) if node.needs(0) else None
    gx = None
    if node.needs(1):
        inside = (x > -3) & (x < 3) if not ns.records_graph else (x > -3).logical_and(x < 3)
        gx = ns.where(inside, gg * g / 3.0, ns.zeros_like(gg))
    return ga, gx


def hardsigmoid(input: Tensor) -> Tensor:
    """``relu6(x + 3) / 6`` (HardsigmoidBackward0, saving self; its backward has no derivative)."""
    data = _float_only(input, "hardsigmoid_cpu")
    t = data.dtype.type
    values = np.minimum(np.maximum(data + t(3), t(0)), t(6)) / t(6)
    return _apply(input, "HardsigmoidBackward0", values, None, "hardsigmoid")


@backward_formula("HardsigmoidBackward0")
def _hardsigmoid_bw(node, g, ns):
    (x,) = node.unpack(ns)
    if ns.records_graph:  # hardsigmoid_backward is not differentiable in PyTorch
        values = _hardsigmoid_bw(node, g._data, NUMPY)[0]
        return (
            record(_wrap(values), NotImplementedNode, (g, x), ctx="aten::hardsigmoid_backward", grad_edges_only=True),
        )
    t = x.dtype.type
    return (np.asarray(np.where((x > -3) & (x < 3), g / t(6), t(0)), dtype=g.dtype),)


def mish_(input: Tensor) -> Tensor:
    """In place (MishBackward0, saving a clone of self taken before the edit)."""
    _float_only(input, "mish_cpu")
    return _apply_(input, "MishBackward0", _np_mish, None, "mish_", save_result=False)


def hardswish_(input: Tensor) -> Tensor:
    """In place (HardswishBackward0, saving a clone of self taken before the edit)."""
    _float_only(input, "hardswish_cpu")
    return _apply_(input, "HardswishBackward0", _np_hardswish, None, "hardswish_", save_result=False)


def hardsigmoid_(input: Tensor) -> Tensor:
    """In place (HardsigmoidBackward0, saving a clone of self taken before the edit)."""
    _float_only(input, "hardsigmoid_cpu")

    def values(d):
        t = d.dtype.type
        return np.minimum(np.maximum(d + t(3), t(0)), t(6)) / t(6)

    return _apply_(input, "HardsigmoidBackward0", values, None, "hardsigmoid_", save_result=False)
