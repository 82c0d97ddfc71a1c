"""Further math ops: ``expm1``, ``erf`` (elementwise), ``hypot``, ``addcmul``/``addcdiv`` and
the reduction ``logsumexp``, with what PyTorch's ``derivatives.yaml`` saves for each
(Expm1Backward0: result; ErfBackward0: self; HypotBackward0: self, other, result;
AddcmulBackward0/AddcdivBackward0: the tensor operands the other grads need, and value;
LogsumexpBackward0: self and result).

>>> import gradlens_core as torch
>>> x = torch.tensor([0.0, 1.0], requires_grad=True)
>>> torch.logsumexp(x, 0)
tensor(1.3133, grad_fn=<LogsumexpBackward0>)
"""

from __future__ import annotations

import math

import numpy as np

from . import _dtype, _ns
from ._autograd import backward_formula, node_class
from ._ops import (
    _inplace_unary,
    _operands,
    _reduce_dims,
    _unary,
    _write,
    broadcast_error,
    no_kernel,
)
from ._tensor import Tensor, autograd_first, check_inplace, check_internal_overlap, finish_inplace, needs_grad, record

_wrap = Tensor._wrap

# ============================================================================ expm1, erf

_erf = np.frompyfunc(math.erf, 1, 1)


def _np_erf(x: np.ndarray) -> np.ndarray:
    """erf elementwise (numpy has none): math.erf in double, rounded to ``x``'s dtype."""
    return np.asarray(_erf(x.astype(np.float64, copy=False)), dtype=np.float64).astype(x.dtype, copy=False)


@backward_formula("Expm1Backward0")
def _expm1_bw(node, g, ns):
    (r,) = node.unpack(ns)
    return (g * (r + 1),)  # derivatives.yaml: grad * (result.conj() + 1)


@backward_formula("ErfBackward0")
def _erf_bw(node, g, ns):
    (x,) = node.unpack(ns)
    # derivatives.yaml: 2.0 / sqrt(M_PI) * exp(-(self.pow(2))) * grad
    return (2.0 / math.sqrt(math.pi) * ns.exp(-(x**2)) * g,)


expm1 = _unary("Expm1Backward0", np.expm1, save_output=True, quiet=True)
erf = _unary("ErfBackward0", _np_erf, save_input=True)
expm1_ = _inplace_unary("Expm1Backward0", np.expm1, save_output=True)
erf_ = _inplace_unary("ErfBackward0", _np_erf, save_input=True)


# ============================================================================ hypot


@autograd_first
def hypot(input, other):
    """``sqrt(input**2 + other**2)`` elementwise, broadcast (HypotBackward0: saves self, other
    and result).

    >>> import gradlens_core as torch
    >>> torch.hypot(torch.tensor([3.]), torch.tensor([4.]))
    tensor([5.])
    """
    if not isinstance(other, Tensor):
        raise TypeError(f"hypot(): argument 'other' (position 2) must be Tensor, not {type(other).__name__}")
    da, db, dt = _operands(input, other)
    dt = dt or input.dtype
    if not dt.is_floating_point:
        raise no_kernel("hypot_cpu", dt)
    try:
        res = np.hypot(da, db)
    except ValueError:
        raise broadcast_error(input.shape, other.shape) from None
    node = node_class("HypotBackward0")
    return record(_wrap(np.asarray(res)), node, (input, other), (input, other), save_output=True, op="hypot")


@backward_formula("HypotBackward0")
def _hypot_bw(node, g, ns):
    x, y, r = node.unpack(ns)
    gx = g * x / r if node.needs(0) else None
    gy = g * y / r if node.needs(1) else None
    return gx, gy


# ============================================================================ addcmul, addcdiv


def _pointwise3(input, tensor1, tensor2, value, name):
    """The operands' values in their common dtype, and the result dtype."""
    for t in (input, tensor1, tensor2):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}(): argument must be Tensor, not {type(t).__name__}")
    dt = _dtype.result_type(_dtype.result_type(input, tensor1), tensor2)
    if name.startswith("addcdiv") and not (tensor1.dtype.is_floating_point or tensor2.dtype.is_floating_point):
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future  release addcdiv will perform a "
            "true division of tensor1 and tensor2. The historic addcdiv behavior can be implemented as "
            "(input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for integer inputs and as "
            "(input + value * tensor1 / tensor2) for float inputs. The future addcdiv behavior is just the latter "
            "implementation: (input + value * tensor1 / tensor2), for all dtypes."
        )
    a, b, c = (t._data.astype(dt.np, copy=False) for t in (input, tensor1, tensor2))
    try:
        shape = np.broadcast_shapes(a.shape, b.shape, c.shape)
    except ValueError:
        shapes = [input.shape, tensor1.shape, tensor2.shape]
        for i in range(3):
            for j in range(i + 1, 3):
                try:
                    np.broadcast_shapes(shapes[i], shapes[j])
                except ValueError:
                    raise broadcast_error(shapes[i], shapes[j]) from None
        raise
    return a, b, c, dt, shape


def _values(a, b, c, value, divide, dt):
    v = dt.np.type(value)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return (a + v * b / c if divide else a + v * b * c).astype(dt.np, copy=False)  # as the kernels


def _saved3(tensor1, tensor2, value, divide):
    """What PyTorch saves: tensor2 if tensor1 needs grad (and, for addcdiv, if tensor2 does),
    tensor1 if tensor2 needs grad; and value."""
    t1 = tensor1 if tensor2.requires_grad else None
    t2 = tensor2 if tensor1.requires_grad or (divide and tensor2.requires_grad) else None
    return (t1, t2, value)


@backward_formula("AddcmulBackward0")
def _addcmul_bw(node, g, ns):
    t1, t2, value = node.unpack(ns)
    g1 = g * (t2 * value) if node.needs(1) else None
    g2 = g * (t1 * value) if node.needs(2) else None
    return g, g1, g2


@backward_formula("AddcdivBackward0")
def _addcdiv_bw(node, g, ns):
    t1, t2, value = node.unpack(ns)
    g1 = g * (value / t2) if node.needs(1) else None
    g2 = -g * (value * t1 / (t2 * t2)) if node.needs(2) else None
    return g, g1, g2


def _addc(name, divide):
    node_cls = node_class("AddcdivBackward0" if divide else "AddcmulBackward0")

    @autograd_first
    def fn(input, tensor1, tensor2, *, value=1):
        a, b, c, dt, _ = _pointwise3(input, tensor1, tensor2, value, name)
        res = np.asarray(_values(a, b, c, value, divide, dt))
        inputs = (input, tensor1, tensor2)
        saved = _saved3(tensor1, tensor2, value, divide) if needs_grad(*inputs) else ()
        return record(_wrap(res), node_cls, inputs, saved, op=name)

    def inplace(self, tensor1, tensor2, *, value=1):
        op = name + "_"
        check_inplace(self, op, (tensor1, tensor2))
        check_internal_overlap(self, op)
        a, b, c, dt, _ = _pointwise3(self, tensor1, tensor2, value, op)
        inputs = (self, tensor1, tensor2)
        saved = _saved3(tensor1, tensor2, value, divide) if needs_grad(*inputs) else ()
        _write(self, _values(a, b, c, value, divide, dt), op)
        return finish_inplace(self, op, node_cls, inputs, saved)

    what = "tensor1 / tensor2" if divide else "tensor1 * tensor2"
    fn.__name__, inplace.__name__ = name, name + "_"
    fn.__doc__ = f"""``input + value * {what}``, broadcast ({node_cls.__name__}).

    >>> import gradlens_core as torch
    >>> torch.{name}(torch.tensor([1.]), torch.tensor([2.]), torch.tensor([4.]), value=2)
    tensor([{"2." if divide else "17."}])
    """
    inplace.__doc__ = f"In-place ``{name}`` ({node_cls.__name__}; bumps the version counter)."
    return fn, inplace


addcmul, addcmul_ = _addc("addcmul", False)
addcdiv, addcdiv_ = _addc("addcdiv", True)


# ============================================================================ logsumexp


@autograd_first
def logsumexp(input, dim=None, keepdim=False):
    """``log(sum(exp(input), dim))`` computed stably (LogsumexpBackward0: saves self and
    result; the grad is ``grad * exp(self - result)``).

    >>> import gradlens_core as torch
    >>> torch.logsumexp(torch.tensor([[0., 0.], [1., 1.]]), 1)
    tensor([0.6931, 1.6931])
    """
    if dim is None:
        raise TypeError('logsumexp() missing 1 required positional arguments: "dim"')
    data = input._data
    if data.dtype.kind != "f":
        data = data.astype(_dtype.default_float.np)
    dims = _reduce_dims(input, dim) if data.ndim else ()
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if data.size:
            maxes = np.amax(data, axis=dims, keepdims=True)
            maxes = np.where(np.abs(maxes) == np.inf, data.dtype.type(0), maxes)
            total = np.sum(np.exp(data - maxes), axis=dims, keepdims=keepdim)
            res = np.log(total) + (maxes if keepdim else np.squeeze(maxes, dims))
        else:
            res = np.log(np.sum(np.exp(data), axis=dims, keepdims=keepdim))
    res = _ns.reduced(np.asarray(res, dtype=data.dtype))
    node = node_class("LogsumexpBackward0")
    return record(_wrap(res), node, (input,), (input,), ctx=(dims, keepdim), save_output=True, op="logsumexp")


@backward_formula("LogsumexpBackward0")
def _logsumexp_bw(node, g, ns):
    """logsumexp_backward: grad and result unsqueezed at the reduced dims, then
    ``grad * (self - result).exp()``."""
    x, r = node.unpack(ns)
    dims, keepdim = node._ctx
    if not keepdim and dims:
        g = ns.unsqueeze_multiple(g, dims)
        r = ns.unsqueeze_multiple(r, dims)
    return (g * ns.exp(x - r),)
