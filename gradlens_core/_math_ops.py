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

from . import _dtype, _ns, _reduce
from ._argparse import MISSING, refuse, refuse_extra, refuse_given
from ._autograd import backward_formula, node_class
from ._ops import (
    _inplace_unary,
    _is_scalar,
    _np_sigmoid,
    _operands,
    _reduce_dims,
    _sigmoid_backward,
    _snapshot,
    _unary,
    _write,
    broadcast_error,
    check_pairs_broadcast,
    div_,
    fma,
    no_kernel,
    scalar_first_or_refused,
)
from ._tensor import Tensor, autograd_first, check_inplace, check_internal_overlap, finish_inplace, needs_grad, record
from ._warn import warn_once

_wrap = Tensor._wrap

# ============================================================================ expm1, erf

# numpy has no erf: Cephes' rational approximations (S. L. Moshier's, the ones scipy's ndtr uses),
# about 1e-16 relative error in double, evaluated over whole arrays. erf(x) = x T(x²) / U(x²) for
# |x| <= 1; beyond, 1 - erfc(|x|) with erfc(a) = exp(-a²) P(a) / Q(a) below 8 and R(a) / S(a) above.
_ERF_T = (9.60497373987051638749e0, 9.00260197203842689217e1, 2.23200534594684319226e3, 7.00332514112805075473e3)
_ERF_T += (5.55923013010394962768e4,)
_ERF_U = (1.0, 3.35617141647503099647e1, 5.21357949780152679795e2, 4.59432382970980127987e3)
_ERF_U += (2.26290000613890934246e4, 4.92673942608635921086e4)
_ERFC_P = (2.46196981473530512524e-10, 5.64189564831068821977e-1, 7.46321056442269912687e0)
_ERFC_P += (4.86371970985681366614e1, 1.96520832956077098242e2, 5.26445194995477358631e2)
_ERFC_P += (9.34528527171957607540e2, 1.02755188689515710272e3, 5.57535335369399327526e2)
_ERFC_Q = (1.0, 1.32281951154744992508e1, 8.67072140885989742329e1, 3.54937778887819891062e2)
_ERFC_Q += (9.75708501743205489753e2, 1.82390916687909736289e3, 2.24633760818710981792e3)
_ERFC_Q += (1.65666309194161350182e3, 5.57535340817727675546e2)
_ERFC_R = (5.64189583547755073984e-1, 1.27536670759978104416e0, 5.01905042251180477414e0)
_ERFC_R += (6.16021097993053585195e0, 7.40974269950448939160e0, 2.97886665372100240670e0)
_ERFC_S = (1.0, 2.26052863220117276590e0, 9.39603524938001434673e0, 1.20489539808096656605e1)
_ERFC_S += (1.70814450747565897222e1, 9.60896809063285878198e0, 3.36907645100081516050e0)
_MAXLOG = 7.09782712893383996843e2  # exp(-a²) is 0 in double beyond this a²


def _poly(coefs, x: np.ndarray) -> np.ndarray:
    """Horner's rule over an array, highest power first."""
    acc = np.full_like(x, coefs[0])
    for c in coefs[1:]:
        acc *= x
        acc += c
    return acc


def _np_erf(x: np.ndarray) -> np.ndarray:
    """erf elementwise in double, rounded to ``x``'s dtype (nan stays nan, erf(±inf) = ±1, and
    the sign of a zero is kept).

    >>> _np_erf(np.array([0.5, -2.0]))
    array([ 0.52049988, -0.99532227])
    """
    d = np.asarray(x, dtype=np.float64)
    a = np.abs(d)
    z = d * d
    with np.errstate(all="ignore"):
        small = d * _poly(_ERF_T, z) / _poly(_ERF_U, z)
        e = np.exp(-z)
        erfc = np.where(a < 8.0, e * _poly(_ERFC_P, a) / _poly(_ERFC_Q, a), e * _poly(_ERFC_R, a) / _poly(_ERFC_S, a))
        erfc[z > _MAXLOG] = 0.0
        out = np.where(a <= 1.0, small, np.copysign(1.0 - erfc, d))
    return out.astype(x.dtype, copy=False)


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
def hypot(input=MISSING, other=MISSING, *extra, _call=("hypot", False)):
    """``sqrt(input**2 + other**2)`` elementwise, broadcast (HypotBackward0: saves self, other
    and result).

    >>> import gradlens_core as torch
    >>> torch.hypot(torch.tensor([3.]), torch.tensor([4.]))
    tensor([5.])
    """
    if extra:
        refuse_extra(_call, (input, other), extra, None)
    refuse_non_tensors(_call, (input, other))
    da, db, dt = _operands(input, other)
    dt = dt or input.dtype
    if not dt.is_floating_point:
        raise no_kernel("hypot_cpu", dt)
    try:
        res = np.hypot(da, db)
    except ValueError:
        raise broadcast_error(input.shape, other.shape) from None
    node = node_class("HypotBackward0")
    # each operand only for its own grad, as PyTorch's
    saved = (input if input.requires_grad else None, other if other.requires_grad else None)
    return record(_wrap(np.asarray(res)), node, (input, other), saved, save_output=True, op="hypot")


def hypot_(self, other=MISSING, *extra, _call=("hypot_", True), **unknown):
    """In-place ``hypot`` (HypotBackward0: saves a clone of the old self, other and the result).

    >>> import gradlens_core as torch
    >>> torch.tensor([3.]).hypot_(torch.tensor([4.]))
    tensor([5.])
    """
    if extra or unknown:
        refuse_extra(_call, (self, other), extra, unknown)
    refuse_non_tensors(_call, (self, other))
    op = "hypot_"
    check_inplace(self, op, (other,))
    check_internal_overlap(self, op)
    da, db, dt = _operands(self, other)
    dt = dt or self.dtype
    if not dt.is_floating_point:
        raise no_kernel("hypot_cpu", dt)
    saved = ()
    if needs_grad(self, other):  # each operand only for its own grad, as PyTorch's
        saved = (_snapshot(self) if self.requires_grad else None, other if other.requires_grad else None)
    _write(self, np.hypot(da, db), op)
    return finish_inplace(self, op, node_class("HypotBackward0"), (self, other), saved, save_output=True)


@backward_formula("HypotBackward0")
def _hypot_bw(node, g, ns):
    # derivatives.yaml: self: grad * self / result; other: grad * other / result (other's
    # first: the generated formulas go in the alphabetical order of the inputs' names)
    x, y, r = node.unpack(ns)
    gy = g * y / r if node.needs(1) else None
    gx = g * x / r if node.needs(0) else None
    return gx, gy


# ============================================================================ addcmul, addcdiv


def refuse_non_tensors(call, tensors, value=1) -> None:
    """PyTorch's parser error for an op whose arguments are all tensors (and a Number
    ``value``); ``call`` is (torch's name, whether called as a Tensor method)."""
    if all(isinstance(t, Tensor) for t in tensors) and _is_scalar(value):
        return
    refuse(call, tensors, value=(value, 1))
    if not all(isinstance(t, Tensor) for t in tensors):  # (the parser accepts a 0-d tensor value)
        raise TypeError(f"{call[0]}(): expected Tensor arguments, got {[type(t).__name__ for t in tensors]}")


def _pointwise3(input, tensor1, tensor2, value, name):
    """The operands' values in their common dtype, and the result dtype."""
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
        check_pairs_broadcast([input.shape, tensor1.shape, tensor2.shape])
        raise
    if dt is _dtype.bool_:  # (addcdiv refused bool above: an integer division)
        raise no_kernel("addcmul_cpu_out", dt)
    return a, b, c, dt, shape


def _values(a, b, c, value, divide, dt):
    # the kernels compute in their math type (float for half: a float value makes numpy's
    # products float), reading value as it, refused out of its range
    v = _dtype.checked_scalar(value, _dtype.opmath(dt))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if not divide and (dt.np == np.float32 or dt.np == np.float64):
            # PointwiseOpsKernel.cpp's addcmul: vec::fmadd(scalar_vec * t1, t2, self), one rounding
            return fma(v * b, c, a, dt.np)
        return (a + v * b / c if divide else a + v * b * c).astype(dt.np, copy=False)  # as the kernels


def _saved3(tensor1, tensor2, value, divide):
    """What PyTorch saves: tensor2 if tensor1 needs grad (for addcdiv always: both formulas
    read it), tensor1 if tensor2 needs grad; and value."""
    t1 = tensor1 if tensor2.requires_grad else None
    t2 = tensor2 if divide or tensor1.requires_grad else None
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
    g1 = g * _scalar_over(value, t2, ns) if node.needs(1) else None
    g2 = -g * (value * t1 / (t2 * t2)) if node.needs(2) else None
    return g, g1, g2


def _scalar_over(value, t, ns):
    """C++ ``value / t`` in a formula: ``empty_like(t).fill_(value).div_(t)`` under create_graph
    (an in-place DivBackward0 whose first edge is empty)."""
    if not ns.records_graph:
        return value / t
    filled = _wrap(np.full_like(t._data, value))
    filled._version_counter[0] = 1  # fill_
    return div_(filled, t)


def _addc(name, divide):
    node_cls = node_class("AddcdivBackward0" if divide else "AddcmulBackward0")

    @autograd_first
    def fn(input=MISSING, tensor1=MISSING, tensor2=MISSING, *extra, value=1, _call=(name, False), **unknown):
        if extra or unknown:
            return scalar_first_or_refused(_call, fn, (input, tensor1, tensor2), extra, unknown, "value", value, 1)
        refuse_non_tensors(_call, (input, tensor1, tensor2), value)
        value = _dtype.parsed_number(value)  # a Scalar, as the parser reads it
        a, b, c, dt, _ = _pointwise3(input, tensor1, tensor2, value, name)
        res = np.asarray(_values(a, b, c, value, divide, dt))
        inputs = (input, tensor1, tensor2)
        saved = _saved3(tensor1, tensor2, value, divide) if needs_grad(*inputs) else ()
        return record(_wrap(res), node_cls, inputs, saved, op=name)

    def inplace(self, tensor1=MISSING, tensor2=MISSING, *extra, value=1, _call=(name + "_", True), **unknown):
        op = name + "_"
        if extra or unknown:
            return scalar_first_or_refused(_call, inplace, (self, tensor1, tensor2), extra, unknown, "value", value, 1)
        refuse_non_tensors(_call, (self, tensor1, tensor2), value)
        value = _dtype.parsed_number(value)
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
def logsumexp(input, dim=None, keepdim=False, *, _call=("logsumexp", False)):
    """``log(sum(exp(input), dim))`` computed stably (LogsumexpBackward0: saves self and
    result; the grad is ``grad * exp(self - result)``).

    >>> import gradlens_core as torch
    >>> torch.logsumexp(torch.tensor([[0., 0.], [1., 1.]]), 1)
    tensor([0.6931, 1.6931])
    """
    try:
        if dim is None:
            raise TypeError('logsumexp() missing 1 required positional arguments: "dim"')
        if keepdim.__class__ is not bool:
            raise TypeError(f"logsumexp(): argument 'keepdim' must be bool, not {type(keepdim).__name__}")
        data = input._data
        if data.dtype.kind != "f":
            data = data.astype(_dtype.default_float.np)
        dims = _reduce_dims(input, dim) if data.ndim else ()
    except Exception:
        refuse_given(_call, (input, dim, keepdim), (("dim", None), ("keepdim", False)))
        raise
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if data.size:
            maxes = np.amax(data, axis=dims, keepdims=True)
            maxes = np.where(np.abs(maxes) == np.inf, data.dtype.type(0), maxes)
            # at::sum_out of the exps: PyTorch's order of additions (the exps are numpy's)
            total = _reduce.sum_data(np.exp(data - maxes), tuple(dims), keepdim)
            res = np.log(total) + (maxes if keepdim else np.squeeze(maxes, dims))
        else:
            res = np.log(np.sum(np.exp(data), axis=dims, keepdims=keepdim))
    res = _ns.reduced(np.asarray(res, dtype=data.dtype))
    node = node_class("LogsumexpBackward0")
    ctx = (dims, keepdim, dim)  # the dim as given: PyTorch's ``_saved_dim``
    return record(_wrap(res), node, (input,), (input,), ctx=ctx, save_output=True, op="logsumexp")


@backward_formula("LogsumexpBackward0")
def _logsumexp_bw(node, g, ns):
    """logsumexp_backward: grad and result unsqueezed at the reduced dims, then
    ``grad * (self - result).exp()``."""
    x, r = node.unpack(ns)
    dims, keepdim, _ = node._ctx
    if not keepdim and dims:
        g = ns.unsqueeze_multiple(g, dims)
        r = ns.unsqueeze_multiple(r, dims)
    return (g * ns.exp(x - r),)


# ============================================================================ softplus


def _np_softplus(x: np.ndarray, beta, threshold) -> np.ndarray:
    xb = x * x.dtype.type(beta)
    with np.errstate(over="ignore"):
        soft = np.log1p(np.exp(xb)) / x.dtype.type(beta)
    return np.where(xb > threshold, x, soft).astype(x.dtype, copy=False)


@autograd_first
def softplus(input, beta=1, threshold=20):
    """``log(1 + exp(beta * x)) / beta``, and ``x`` where ``beta * x > threshold``
    (SoftplusBackward0: saves self, beta and threshold).

    >>> import gradlens_core as torch
    >>> torch.nn.functional.softplus(torch.tensor([0., 30.]))
    tensor([ 0.6931, 30.0000])
    """
    if input._data.dtype.kind != "f":
        raise no_kernel("softplus_cpu", input.dtype)
    res = np.asarray(_np_softplus(input._data, beta, threshold))
    node = node_class("SoftplusBackward0")
    return record(_wrap(res), node, (input,), (input,), ctx=(beta, threshold), op="softplus")


def _softplus_backward(g, x, beta, threshold, ns):
    """ATen's softplus_backward(grad, self, beta, threshold); one node
    (SoftplusBackwardBackward0, saving grad_output and self) under create_graph."""
    if ns.records_graph:
        values = _softplus_backward(g._data, x._data, beta, threshold, _ns.NUMPY)
        node = node_class("SoftplusBackwardBackward0", _softplus_bb)
        return record(_wrap(values), node, (g, x), (g, x), ctx=(beta, threshold), op="softplus_backward")
    xb = x * x.dtype.type(beta)
    with np.errstate(over="ignore", invalid="ignore"):
        z = np.exp(xb)
        return np.where(xb > threshold, g, g * z / (z + 1)).astype(g.dtype, copy=False)


@backward_formula("SoftplusBackward0")
def _softplus_bw(node, g, ns):
    (x,) = node.unpack(ns)
    beta, threshold = node._ctx
    return (_softplus_backward(g, x, beta, threshold, ns),)


def _softplus_bb(node, gg, ns):
    """derivatives.yaml: grad_output: softplus_backward(grad, self, beta, threshold);
    self: softplus_double_backward(grad * grad_output, self, beta, threshold), that is
    ``sigmoid_backward(w, (self * beta).sigmoid()) * (self * beta < threshold) * beta``."""
    g, x = node.unpack(ns)
    beta, threshold = node._ctx
    ga = _softplus_backward(gg, x, beta, threshold, ns) if node.needs(0) else None
    gx = None
    if node.needs(1):
        w = gg * g
        xb = x * beta
        if ns.records_graph:
            below = (xb < threshold).type_as(w)
            gx = _sigmoid_backward(w, xb.sigmoid(), ns) * below * beta
        else:
            below = (xb < threshold).astype(w.dtype)
            gx = _sigmoid_backward(w, _np_sigmoid(xb), ns) * below * w.dtype.type(beta)
    return ga, gx


# ============================================================================ cross


@autograd_first
def linalg_cross(input, other, *, dim=-1):
    """The cross product of 3-vectors along ``dim``, broadcast (LinalgCrossBackward0: saves
    self if other needs grad and other if self does).

    >>> import gradlens_core as torch
    >>> torch.linalg.cross(torch.tensor([1., 0., 0.]), torch.tensor([0., 1., 0.]))
    tensor([0., 0., 1.])
    """
    if input._data.ndim != other._data.ndim:
        raise RuntimeError(
            f"linalg.cross: inputs must have the same number of dimensions. Got {input.ndim} and {other.ndim}"
        )
    d = input._wrap_dim(dim)
    if input.shape[d] != 3 or other.shape[d] != 3:
        raise RuntimeError(
            f"linalg.cross: inputs dimension {dim} must have length 3. Got {input.shape[d]} and {other.shape[d]}"
        )
    if input.dtype != other.dtype:
        raise RuntimeError(f"expected scalar type {input.dtype._legacy} but found {other.dtype._legacy}")
    da, db = input._data, other._data
    try:
        shape = np.broadcast_shapes(da.shape, db.shape)
    except ValueError:
        raise broadcast_error(input.shape, other.shape) from None
    res = _owned(np.cross(np.broadcast_to(da, shape), np.broadcast_to(db, shape), axis=d))
    inputs = (input, other)
    saved = (input if other.requires_grad else None, other if input.requires_grad else None)
    saved = saved if needs_grad(*inputs) else ()
    # the node keeps the dim as given, as PyTorch's (``_saved_dim``): its formula takes it so
    ctx = dim if dim.__class__ is int else d
    return record(_wrap(res), node_class("LinalgCrossBackward0"), inputs, saved, ctx=ctx, op="linalg_cross")


@backward_formula("LinalgCrossBackward0")
def _linalg_cross_bw(node, g, ns):
    # derivatives.yaml: self: linalg_cross(other, grad, dim); other: linalg_cross(grad, self, dim)
    x, y = node.unpack(ns)
    d = node._ctx
    if ns.records_graph:
        gx = linalg_cross(y, g, dim=d) if node.needs(0) else None
        gy = linalg_cross(g, x, dim=d) if node.needs(1) else None
        return gx, gy
    gx = _owned(np.cross(*np.broadcast_arrays(y, g), axis=d)) if node.needs(0) else None
    gy = _owned(np.cross(*np.broadcast_arrays(g, x), axis=d)) if node.needs(1) else None
    return gx, gy


def _owned(a: np.ndarray) -> np.ndarray:
    """``a`` as a C-contiguous array owning its memory (np.cross returns a moved-axis view),
    as PyTorch's fresh result: the engine may then add a second grad into it in place."""
    return a if a.base is None and a.flags.c_contiguous else np.array(a, order="C")


_CROSS_DIM_WARNING = (
    "Using torch.cross without specifying the dim arg is deprecated.\n"
    "Please either pass the dim explicitly or simply use torch.linalg.cross.\n"
    "The default value of dim will change to agree with that of linalg.cross in a future release."
)


def cross(input, other, dim=None, *, _call=("cross", False)):
    """``linalg.cross`` (LinalgCrossBackward0); without ``dim``, the first dim of size 3, with
    PyTorch's deprecation warning.

    >>> import gradlens_core as torch
    >>> torch.cross(torch.tensor([0., 1., 0.]), torch.tensor([0., 0., 1.]), dim=0)
    tensor([1., 0., 0.])
    """
    try:
        if dim is None:
            warn_once(_CROSS_DIM_WARNING, stacklevel=None)  # (torch.cross is wrapped for out=)
            shape = np.broadcast_shapes(input.shape, other.shape)
            dim = next((i for i, n in enumerate(shape) if n == 3), None)
            if dim is None:
                raise RuntimeError("no dimension of size 3 in input")
        return linalg_cross(input, other, dim=dim)
    except Exception:
        refuse_given(_call, (input, other, dim), (("dim", None),))
        raise
