"""More of torch's functions, with PyTorch's nodes and saved values: elementwise math
(``sinh``, ``cosh``, ``asin``, ``acos``, ``tan``, ``exp2``, ``frac``, ``logit``,
``float_power``, ``nan_to_num``, ``logical_xor``), ``normal``, ``can_cast``,
``set_default_dtype``, the legacy constructors (``torch.FloatTensor`` ...), the shape
functions PyTorch composes from views and joins (``broadcast_to``, ``atleast_1d``,
``vstack``, ``tensor_split``, ``rot90``, ``kron``, ``tensordot`` ...), reductions and scans
(``count_nonzero``, ``std_mean``, ``var_mean``, ``aminmax``, ``cummax``/``cummin``, ``diff``)
and the matrix products ``baddbmm`` and ``addmv``.

Where PyTorch's own implementation is composite (CompositeImplicitAutograd), the function is
written from the ops it calls, so that the recorded nodes are PyTorch's.

>>> import gradlens_core as torch
>>> torch.sinh(torch.tensor([0.0, 1.0], requires_grad=True))
tensor([0.0000, 1.1752], grad_fn=<SinhBackward0>)
"""

from __future__ import annotations

import builtins
import math
import numbers

import numpy as np

from . import _argparse, _dtype, _ops, _views
from ._argparse import MISSING, refuse_extra
from ._autograd import backward_formula, node_class
from ._ops import _inplace_unary, _snapshot, _unary, _write
from ._tensor import Tensor, check_inplace, check_internal_overlap, finish_inplace, needs_grad, record

_wrap = Tensor._wrap


def _np_or_method(ns, name, x):
    """``x.<name>()`` under create_graph (recorded), numpy's ``np.<name>(x)`` otherwise."""
    return getattr(x, name)() if ns.records_graph else getattr(np, name)(x)


def _rsqrt(ns, x):
    """``x.rsqrt()`` under create_graph (RsqrtBackward0, as derivatives.yaml's formulas record it),
    ATen's ``1 / sqrt(x)`` on arrays."""
    return x.rsqrt() if ns.records_graph else _ops._np_rsqrt(x)


# ============================================================================ elementwise


@backward_formula("SinhBackward0")
def _sinh_bw(node, g, ns):
    (x,) = node.unpack(ns)
    return (g * _np_or_method(ns, "cosh", x),)  # derivatives.yaml: grad * self.cosh().conj()


@backward_formula("CoshBackward0")
def _cosh_bw(node, g, ns):
    (x,) = node.unpack(ns)
    return (g * _np_or_method(ns, "sinh", x),)


@backward_formula("AsinBackward0")
def _asin_bw(node, g, ns):
    (x,) = node.unpack(ns)
    return (g * _rsqrt(ns, -x * x + 1),)  # derivatives.yaml: grad * (-self * self + 1).rsqrt().conj()


@backward_formula("AcosBackward0")
def _acos_bw(node, g, ns):
    (x,) = node.unpack(ns)
    return (g * -_rsqrt(ns, -x * x + 1),)  # derivatives.yaml: grad * -((-self * self + 1).rsqrt()).conj()


@backward_formula("TanBackward0")
def _tan_bw(node, g, ns):
    (r,) = node.unpack(ns)
    return (g * (r * r + 1),)  # grad * (1 + result.pow(2))


@backward_formula("Exp2Backward0")
def _exp2_bw(node, g, ns):
    (r,) = node.unpack(ns)
    return (g * r * math.log(2.0),)  # grad * result * M_LN2


@backward_formula("FracBackward0")
def _frac_bw(node, g, ns):
    return (g,)


def _np_exp2(x):
    return np.exp2(x)


def _np_frac(x):
    return x - np.trunc(x)


sinh = _unary("SinhBackward0", np.sinh, save_input=True, quiet=True)
cosh = _unary("CoshBackward0", np.cosh, save_input=True, quiet=True)
asin = _unary("AsinBackward0", np.arcsin, save_input=True, quiet=True)
acos = _unary("AcosBackward0", np.arccos, save_input=True, quiet=True)
tan = _unary("TanBackward0", np.tan, save_output=True, quiet=True)
exp2 = _unary("Exp2Backward0", _np_exp2, save_output=True, quiet=True)
_frac = _unary("FracBackward0", _np_frac, float_only=False)

sinh_ = _inplace_unary("SinhBackward0", np.sinh, save_input=True)
cosh_ = _inplace_unary("CoshBackward0", np.cosh, save_input=True)
asin_ = _inplace_unary("AsinBackward0", np.arcsin, save_input=True)
acos_ = _inplace_unary("AcosBackward0", np.arccos, save_input=True)
tan_ = _inplace_unary("TanBackward0", np.tan, save_output=True)
exp2_ = _inplace_unary("Exp2Backward0", _np_exp2, save_output=True)
_frac_ = _inplace_unary("FracBackward0", _np_frac, float_only=False)
sign_ = _inplace_unary("SignBackward0", _ops._np_sign, float_only=False)
reciprocal_ = _inplace_unary("ReciprocalBackward0", np.reciprocal, save_output=True)


def _float_only(input, kernel):
    if input._data.dtype.kind != "f":
        raise _ops.no_kernel(kernel, input.dtype)


def frac(input):
    """``input - trunc(input)`` (FracBackward0; floats only, as PyTorch's kernel).

    >>> import gradlens_core as torch
    >>> torch.frac(torch.tensor([1.5, -2.25]))
    tensor([ 0.5000, -0.2500])
    """
    _float_only(input, "frac_cpu")
    return _frac(input)


def frac_(self=MISSING, *extra, _call=("frac_", True), **unknown):
    """In-place ``frac`` (FracBackward0)."""
    _ops._self_only(self, extra, unknown, _call)
    _float_only(self, "frac_cpu")
    return _frac_(self)


def _logit_values(data, eps):
    if eps is not None:
        data = np.clip(data, data.dtype.type(eps), data.dtype.type(1 - eps))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(data / (1 - data))


def logit(input, eps=None):
    """``log(p / (1 - p))``, with ``p`` clamped to ``[eps, 1 - eps]`` when ``eps`` is given
    (LogitBackward0: saves self and eps).

    >>> import gradlens_core as torch
    >>> torch.logit(torch.tensor([0.5, 0.75]))
    tensor([0.0000, 1.0986])
    """
    data = input._data
    if data.dtype.kind != "f":
        data = data.astype(_dtype.default_float.np)
    res = np.asarray(_logit_values(data, eps))
    return record(_wrap(res), node_class("LogitBackward0"), (input,), (input, eps), op="logit")


def logit_(self=MISSING, eps=None, *extra, _call=("logit_", True), **unknown):
    """In-place ``logit`` (LogitBackward0: saves the old self and eps)."""
    if extra or unknown or not isinstance(self, Tensor) or not (eps is None or isinstance(eps, (int, float))):
        refuse_extra(_call, (self, eps), extra, unknown, (("eps", None),))
    op = "logit_"
    check_inplace(self, op)
    check_internal_overlap(self, op)
    saved = (_snapshot(self), eps) if needs_grad(self) else ()
    _write(self, _logit_values(self._data, eps), op, _dtype.float_result(self.dtype))
    return finish_inplace(self, op, node_class("LogitBackward0"), (self,), saved)


@backward_formula("LogitBackward0")
def _logit_bw(node, g, ns):
    # logit_backward(grad, self, eps): grad / (self * (1 - self)), 0 outside [eps, 1 - eps]
    # when eps is given, nan outside [0, 1] when not
    x, eps = node.unpack(ns)
    res = g / (x * (1 - x))
    if eps is None:
        outside = (x < 0) | (x > 1)
        return (ns.masked_fill(res, outside, float("nan")),)
    return (ns.masked_fill(res, (x < eps) | (x > 1 - eps), 0.0),)


def _nan_to_num_values(data, nan, posinf, neginf):
    if data.dtype.kind != "f":
        return data.copy()
    info = np.finfo(data.dtype)
    res = np.where(np.isnan(data), data.dtype.type(0.0 if nan is None else nan), data)
    res = np.where(res == np.inf, info.max if posinf is None else data.dtype.type(posinf), res)
    res = np.where(res == -np.inf, info.min if neginf is None else data.dtype.type(neginf), res)
    return res.astype(data.dtype, copy=False)


def nan_to_num(input, nan=None, posinf=None, neginf=None):
    """nan, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (by default 0 and the
    dtype's largest and smallest values; NanToNumBackward0: saves self).

    >>> import gradlens_core as torch
    >>> torch.nan_to_num(torch.tensor([2.0, -1.0]).log())  # log(-1) is nan
    tensor([0.6931, 0.0000])
    """
    res = np.asarray(_nan_to_num_values(input._data, nan, posinf, neginf))
    return record(_wrap(res), node_class("NanToNumBackward0"), (input,), (input,), op="nan_to_num")


def nan_to_num_(self=MISSING, nan=None, posinf=None, neginf=None, *extra, _call=("nan_to_num_", True), **unknown):
    """In-place ``nan_to_num`` (NanToNumBackward0: saves the old self)."""
    numbers_ok = all(v is None or isinstance(v, (int, float)) for v in (nan, posinf, neginf))
    if extra or unknown or not isinstance(self, Tensor) or not numbers_ok:
        optional = (("nan", None), ("posinf", None), ("neginf", None))
        refuse_extra(_call, (self, nan, posinf, neginf), extra, unknown, optional)
    op = "nan_to_num_"
    check_inplace(self, op)
    check_internal_overlap(self, op)
    saved = (_snapshot(self),) if needs_grad(self) else ()
    _write(self, _nan_to_num_values(self._data, nan, posinf, neginf), op)
    return finish_inplace(self, op, node_class("NanToNumBackward0"), (self,), saved)


@backward_formula("NanToNumBackward0")
def _nan_to_num_bw(node, g, ns):
    (x,) = node.unpack(ns)
    # grad * at::isfinite(self)
    finite = x.isfinite() if ns.records_graph else np.isfinite(x)
    return (g * finite,)


def float_power(input, exponent):
    """``pow`` in float64: PyTorch's composite ``input.to(double).pow(exponent)``
    (ToCopyBackward0, then PowBackward0 or PowBackward1).

    >>> import gradlens_core as torch
    >>> torch.float_power(torch.tensor([2, 3]), 2)
    tensor([4., 9.], dtype=torch.float64)
    """
    if isinstance(input, Tensor):
        base = input.to(_dtype.float64)
    else:
        base = float(input)
    if isinstance(exponent, Tensor):
        exponent = exponent.to(_dtype.float64)
    elif isinstance(exponent, numbers.Number) and not isinstance(exponent, bool):
        exponent = float(exponent)
    if not isinstance(base, Tensor):
        return _ops._rpow(base, exponent)
    return _ops.pow(base, exponent)


def float_power_(self=MISSING, exponent=MISSING, *extra, _call=("float_power_", True), **unknown):
    """In-place ``float_power``: only a float64 tensor may take it, as in PyTorch."""
    if extra or unknown or not isinstance(self, Tensor) or not isinstance(exponent, (Tensor, int, float)):
        refuse_extra(_call, (self, exponent), extra, unknown)
    if self.dtype is not _dtype.float64:
        raise RuntimeError(
            f"the base given to float_power_ has dtype {self.dtype._legacy} but the operation's result requires "
            "dtype Double"
        )
    if isinstance(exponent, Tensor):
        exponent = exponent.to(_dtype.float64)
    return self.pow_(exponent)


def logical_xor(input, other):
    """Elementwise ``bool(input) != bool(other)``, a bool tensor (no grad).

    >>> import gradlens_core as torch
    >>> torch.logical_xor(torch.tensor([True, False]), torch.tensor([True, True]))
    tensor([False,  True])
    """
    other = _ops.as_tensor_arg(other, input)
    try:
        res = np.logical_xor(input._data, other._data)
    except ValueError:
        raise _ops.broadcast_error(input.shape, other.shape) from None
    return _ops._nondiff(np.asarray(res), (input, other), "logical_xor")


def logical_xor_(self=MISSING, other=MISSING, *extra, _call=("logical_xor_", True), **unknown):
    """In-place ``logical_xor`` (into self's dtype)."""
    if extra or unknown or not isinstance(self, Tensor) or not isinstance(other, Tensor):
        refuse_extra(_call, (self, other), extra, unknown)
    other = _ops.as_tensor_arg(other, self)
    op = "logical_xor_"
    check_inplace(self, op, (other,))
    _write(self, np.logical_xor(self._data, other._data).astype(self._data.dtype), op)
    return finish_inplace(self, op, None, (self, other))


def square_(self=MISSING, *extra, _call=("square_", True), **unknown):
    """In-place ``square``: ``pow_(2)`` (PowBackward0)."""
    _ops._self_only(self, extra, unknown, _call)
    return self.pow_(2)


def lerp_(self=MISSING, end=MISSING, weight=MISSING, *extra, _call=("lerp_", True), **unknown):
    """In-place ``lerp`` (LerpBackward0 for a number weight, LerpBackward1 for a tensor).

    >>> import gradlens_core as torch
    >>> torch.zeros(2).lerp_(torch.ones(2), 0.25)
    tensor([0.2500, 0.2500])
    """
    if extra or unknown or not (isinstance(self, Tensor) and isinstance(end, Tensor)):
        refuse_extra(_call, (self, end, weight), extra, unknown)
    if not isinstance(weight, (Tensor, int, float)):
        refuse_extra(_call, (self, end, weight), extra, unknown)
    op = "lerp_"
    others = (end, weight) if isinstance(weight, Tensor) else (end,)
    check_inplace(self, op, others)
    check_internal_overlap(self, op)
    from ._grad_mode import no_grad

    with no_grad():
        values = _ops.lerp(self.detach(), end.detach(), weight.detach() if isinstance(weight, Tensor) else weight)
    if isinstance(weight, Tensor):
        saved = ()
        if needs_grad(self, end, weight):
            saved = (_snapshot(self), end, weight) if weight.requires_grad else (None, None, weight)
        node, inputs = node_class("LerpBackward1"), (self, end, weight)
    else:
        saved, node, inputs = (weight,), node_class("LerpBackward0"), (self, end)
    _write(self, values._data, op)
    return finish_inplace(self, op, node, inputs, saved)


# ============================================================================ dtypes, constructors


def can_cast(from_, to) -> bool:
    """Whether PyTorch's type promotion lets a ``from_`` value be cast to ``to`` in place:
    no float into an integer type, nothing but bool into bool.

    >>> import gradlens_core as torch
    >>> torch.can_cast(torch.float64, torch.int32), torch.can_cast(torch.int32, torch.float16)
    (False, True)
    """
    for name, d in (("from", from_), ("to", to)):
        if not isinstance(d, _dtype.dtype):
            raise TypeError(
                "can_cast(): argument '"
                + name
                + f"' (position {1 if name == 'from' else 2}) must be torch.dtype, not {type(d).__name__}"
            )
    return _dtype.can_cast(from_, to)


def set_default_dtype(d) -> None:
    """The dtype of float factories and Python floats (float32 at start; only float types).

    >>> import gradlens_core as torch
    >>> torch.set_default_dtype(torch.float64); torch.tensor([1.5]).dtype
    torch.float64
    >>> torch.set_default_dtype(torch.float32)
    """
    if not isinstance(d, _dtype.dtype):
        raise TypeError(f"dtype must be a torch.dtype (got {type(d).__name__})")
    if not d.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _dtype.default_float = d


class _LegacyType(type):
    """``isinstance(x, torch.FloatTensor)``: a CPU tensor of that dtype, as PyTorch's
    legacy tensor types answer."""

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor) and obj.dtype is cls._dtype

    def __repr__(cls) -> str:
        return f"<class 'torch.{cls.__name__}'>"


def _options(d) -> str:
    return (
        f"TensorOptions(dtype={d._cpp}, device=cpu, layout=Strided, requires_grad=false (default), "
        "pinned_memory=false (default), memory_format=(nullopt))"
    )


def _legacy(name, d):
    def __new__(cls, *args, **kwargs):
        device = kwargs.pop("device", None)
        if device is not None and str(device).split(":")[0] != "cpu":
            raise RuntimeError(
                f"legacy constructor expects device type: cpu but device type: {str(device).split(':')[0]} was passed"
            )
        if kwargs:
            raise TypeError(f"new() got an unexpected keyword argument '{next(iter(kwargs))}'")
        from ._factories import empty, tensor

        if not args:
            return empty(0, dtype=d)
        if len(args) == 1:
            a = args[0]
            if isinstance(a, Tensor):
                if a.dtype is not d:
                    raise TypeError(f"expected {_options(d)} (got {_options(a.dtype)})")
                return a.detach()  # a new tensor over the same memory, as PyTorch's alias
            if isinstance(a, (list, tuple)) and not type(a).__name__ == "Size":
                return tensor(a, dtype=d)
            if isinstance(a, np.ndarray):
                return tensor(a, dtype=d)
            if isinstance(a, numbers.Integral) and not isinstance(a, bool):
                return empty(int(a), dtype=d)
            if type(a).__name__ == "Size":
                return empty(*a, dtype=d)
        if all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in args):
            return empty(*(int(a) for a in args), dtype=d)
        raise TypeError(
            f"new() received an invalid combination of arguments - got ({', '.join(type(a).__name__ for a in args)}, )"
        )

    return _LegacyType(name, (), {"_dtype": d, "__new__": __new__, "__doc__": f"Legacy ``torch.{name}``."})


# torch.FloatTensor ... torch.BoolTensor, one for each name of _dtype's table
LEGACY_CLASSES = {name[6:]: _legacy(name[6:], d) for name, d in _dtype.LEGACY_TENSOR_NAMES.items()}
globals().update(LEGACY_CLASSES)


# ============================================================================ normal


@backward_formula("NormalBackward1")
def _normal1_bw(node, g, ns):
    return (ns.zeros_like(g),)


@backward_formula("NormalBackward2")
def _normal2_bw(node, g, ns):
    return (ns.zeros_like(g),)


@backward_formula("NormalBackward3")
def _normal3_bw(node, g, ns):
    return (ns.zeros_like(g) if node.needs(0) else None, ns.zeros_like(g) if node.needs(1) else None)


def _check_std(std) -> None:
    if isinstance(std, Tensor):
        if std.numel() and bool(np.any(std._data < 0)):
            raise RuntimeError("normal expects all elements of std >= 0.0")
    elif std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """Normal draws, as PyTorch's overloads make them (bit for bit after ``manual_seed``):
    ``normal(mean, std, size)`` for numbers is ``empty(size).normal_(mean, std)``; with a tensor
    ``mean`` and a number ``std``, draws of N(0, std) plus ``mean`` (NormalBackward1); with a
    tensor ``std``, standard draws times ``std`` plus ``mean`` (NormalBackward2, or 3 when both
    are tensors). The grads are zero.

    >>> import gradlens_core as torch
    >>> _ = torch.manual_seed(0)
    >>> torch.normal(2.0, 3.0, (2,))
    tensor([6.6230, 1.1197])
    """
    from . import _factories, _random

    gen = _random.generator_or_default(generator)
    t_mean, t_std = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not t_mean and not t_std:
        if size is None:
            raise TypeError(
                "normal() received an invalid combination of arguments - got (float, float), but expected one of:"
            )
        _check_std(std)
        dtype = _factories._random_dtype(dtype, "normal_kernel_cpu")
        out = _factories.empty(*(size if isinstance(size, (tuple, list)) else (size,)), dtype=dtype)
        _random.normal_fill(gen, out._data, float(mean), float(std), True)
        if requires_grad:
            out.requires_grad_(True)
        return out
    if size is not None:  # no overload takes a tensor with a size
        _argparse.refuse_given(("normal", False), (mean, std, size), (("size", None),))
    _check_std(std)
    ref = mean if t_mean else std
    if not ref.dtype.is_floating_point:
        raise NotImplementedError(f"\"normal_kernel_cpu\" not implemented for '{ref.dtype._legacy}'")
    if t_mean and not t_std:
        shape = mean.shape
        data = np.empty(shape, mean._data.dtype)
        _random.normal_fill(gen, data, 0.0, float(std), True)
        with np.errstate(all="ignore"):
            res = np.asarray(data + mean._data)
        return record(_wrap(res), node_class("NormalBackward1"), (mean,), op="normal")
    try:
        shape = np.broadcast_shapes(mean.shape if t_mean else (), std.shape)
    except ValueError:
        raise _ops.broadcast_error(mean.shape, std.shape) from None
    data = np.empty(shape, std._data.dtype)
    _random.normal_fill(gen, data, 0.0, 1.0, True)
    m = mean._data if t_mean else std._data.dtype.type(mean)
    with np.errstate(all="ignore"):
        res = np.asarray((data * std._data).astype(data.dtype) + m).astype(data.dtype)
    if t_mean:
        return record(_wrap(res), node_class("NormalBackward3"), (mean, std), op="normal")
    return record(_wrap(res), node_class("NormalBackward2"), (std,), op="normal")


# ============================================================================ shapes


def broadcast_to(input, size):
    """``input.expand(size)`` (ExpandBackward0).

    >>> import gradlens_core as torch
    >>> torch.broadcast_to(torch.tensor([1, 2]), (2, 2))
    tensor([[1, 2],
            [1, 2]])
    """
    return _views.expand(input, *((size,) if not isinstance(size, (tuple, list)) else (tuple(size),)))


def broadcast_tensors(*tensors):
    """The tensors expanded to their common shape (ExpandBackward0 each; one that has it
    already is returned as it is, as PyTorch's).

    >>> import gradlens_core as torch
    >>> [t.shape for t in torch.broadcast_tensors(torch.zeros(2, 1), torch.zeros(3))]
    [torch.Size([2, 3]), torch.Size([2, 3])]
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    try:
        shape = np.broadcast_shapes(*(t._data.shape for t in tensors))
    except ValueError:
        _ops.check_pairs_broadcast([t.shape for t in tensors])
        raise
    return tuple(t if t._data.shape == shape else _views.expand(t, shape) for t in tensors)


def _atleast(fn, tensors):
    if len(tensors) == 1:
        if isinstance(tensors[0], Tensor):
            return fn(tensors[0])
        tensors = tuple(tensors[0])
    return tuple(fn(t) for t in tensors)


def _at_least_1d(t):
    return _views.reshape(t, 1) if t.ndim == 0 else t


def _at_least_2d(t):
    if t.ndim == 0:
        return _views.reshape(t, 1, 1)
    return _views.unsqueeze(t, 0) if t.ndim == 1 else t


def _at_least_3d(t):
    if t.ndim == 0:
        return _views.reshape(t, 1, 1, 1)
    if t.ndim == 1:
        return _views.unsqueeze(_views.unsqueeze(t, 0), -1)
    return _views.unsqueeze(t, -1) if t.ndim == 2 else t


def atleast_1d(*tensors):
    """Each tensor with at least one dim (a 0-d one reshaped: ViewBackward0).

    >>> import gradlens_core as torch
    >>> torch.atleast_1d(torch.tensor(2.0))
    tensor([2.])
    """
    return _atleast(_at_least_1d, tensors)


def atleast_2d(*tensors):
    """Each tensor with at least two dims (a 1-d one unsqueezed in front).

    >>> import gradlens_core as torch
    >>> torch.atleast_2d(torch.tensor([1, 2])).shape
    torch.Size([1, 2])
    """
    return _atleast(_at_least_2d, tensors)


def atleast_3d(*tensors):
    """Each tensor with at least three dims (1-d: ``(1, n, 1)``; 2-d: ``(m, n, 1)``).

    >>> import gradlens_core as torch
    >>> torch.atleast_3d(torch.tensor([1, 2])).shape
    torch.Size([1, 2, 1])
    """
    return _atleast(_at_least_3d, tensors)


def _joined(name, tensors):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(
            f"{name}(): argument 'tensors' (position 1) must be tuple of Tensors, not {type(tensors).__name__}"
        )
    if not tensors:
        raise RuntimeError(f"{name} expects a non-empty TensorList")
    return tensors


def vstack(tensors):
    """``cat(atleast_2d(tensors), 0)`` (CatBackward0).

    >>> import gradlens_core as torch
    >>> torch.vstack([torch.tensor([1, 2]), torch.tensor([3, 4])])
    tensor([[1, 2],
            [3, 4]])
    """
    return _ops.cat(atleast_2d(_joined("vstack", tensors)), 0)


def hstack(tensors):
    """``cat(atleast_1d(tensors), 0 if they are 1-d else 1)`` (CatBackward0).

    >>> import gradlens_core as torch
    >>> torch.hstack([torch.tensor([1, 2]), torch.tensor([3])])
    tensor([1, 2, 3])
    """
    parts = atleast_1d(_joined("hstack", tensors))
    return _ops.cat(parts, 0 if parts[0].ndim == 1 else 1)


def dstack(tensors):
    """``cat(atleast_3d(tensors), 2)`` (CatBackward0).

    >>> import gradlens_core as torch
    >>> torch.dstack([torch.tensor([1, 2]), torch.tensor([3, 4])]).shape
    torch.Size([1, 2, 2])
    """
    return _ops.cat(atleast_3d(_joined("dstack", tensors)), 2)


def column_stack(tensors):
    """The tensors as columns: 0-d and 1-d ones reshaped to ``(n, 1)``, then ``hstack``.

    >>> import gradlens_core as torch
    >>> torch.column_stack([torch.tensor([1, 2]), torch.tensor([3, 4])])
    tensor([[1, 3],
            [2, 4]])
    """
    parts = [_views.reshape(t, t.numel(), 1) if t.ndim <= 1 else t for t in _joined("column_stack", tensors)]
    return hstack(parts)


swapaxes = _argparse.entry(_views.transpose, "swapaxes", False)
swapdims = _argparse.entry(_views.transpose, "swapdims", False)


# the signatures PyTorch's parser lists for these (read by _argparse's error replay)
_argparse._SIGNATURES["kron"] = ("Tensor input, Tensor other, *, Tensor out = None",)
_argparse._SIGNATURES["tensor_split"] = (
    "Tensor input, int[] indices, int dim = 0",
    "Tensor input, Tensor tensor_indices_or_sections, int dim = 0",
    "Tensor input, int sections, int dim = 0",
)


def tensor_split(input, indices_or_sections, dim=0, *, _call=("tensor_split", False)):
    """Slices of ``input`` along ``dim`` (SliceBackward0 views): ``n`` sections as equal as
    may be (the first ones one longer), or split before each index given.

    >>> import gradlens_core as torch
    >>> [t.tolist() for t in torch.tensor_split(torch.arange(5), 2)]
    [[0, 1, 2], [3, 4]]
    """
    if input.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims")
    d = input._wrap_dim(dim)
    n = input.shape[d]
    spec = indices_or_sections
    if isinstance(spec, Tensor):
        if spec.dtype is not _dtype.int64:
            raise RuntimeError(
                f"tensor_split expected tensor_indices_or_sections to have integer dtype, but got {spec.dtype._legacy}"
            )
        if spec.ndim > 1:
            raise RuntimeError(
                "tensor_split expected tensor_indices_or_sections to be a zero-dimensional or one-dimensional "
                f"tensor, but got a tensor with {spec.ndim} dims"
            )
        spec = spec.item() if spec.ndim == 0 else spec.tolist()
    if isinstance(spec, numbers.Integral) and not isinstance(spec, bool):
        sections = int(spec)
        if sections <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {sections}")
        small, extra = divmod(n, sections)
        bounds, start = [], 0
        for i in range(sections):
            size = small + (1 if i < extra else 0)
            bounds.append((start, start + size))
            start += size
    else:
        if not isinstance(spec, (list, tuple)) or not all(_argparse._is_int(i) for i in spec):
            _argparse.refuse_given(_call, (input, indices_or_sections, dim), (("dim", 0),))
        points = [int(i) for i in spec]
        bounds, start = [], 0
        for p in points:
            bounds.append((start, p))
            start = p
        bounds.append((start, n))
    pieces = []
    for lo, hi in bounds:
        lo_c = builtins.min(builtins.max(lo, 0), n)
        hi_c = builtins.max(builtins.min(hi, n), lo_c)
        # always a slice (SliceBackward0), even of the whole dim, as PyTorch's
        pieces.append(_views._key_view(input, (slice(None),) * d + (slice(lo_c, hi_c),), "SliceBackward0", "slice"))
    return tuple(pieces)


def split_with_sizes(input, split_sizes, dim=0):
    """Pieces of the given sizes along ``dim`` (SplitWithSizesBackward0).

    >>> import gradlens_core as torch
    >>> [t.tolist() for t in torch.split_with_sizes(torch.arange(3), [1, 2])]
    [[0], [1, 2]]
    """
    return _views.split(input, list(split_sizes), dim)


@backward_formula("Rot90Backward0")
def _rot90_bw(node, g, ns):
    k, dims = node._ctx
    if ns.records_graph:
        return (rot90(g, -k, dims),)
    return (_rotated(g, -k, dims),)


def _rotated(a, k, dims):
    """np.rot90 laid out as PyTorch's result (flip, then transpose: not C-contiguous for odd k)."""
    return np.array(np.rot90(a, k, axes=dims), order="K")


def rot90(input, k=1, dims=(0, 1)):
    """``input`` turned ``k`` quarter turns from ``dims[0]`` towards ``dims[1]`` (Rot90Backward0:
    saves k and dims).

    >>> import gradlens_core as torch
    >>> torch.rot90(torch.tensor([[1, 2], [3, 4]]))
    tensor([[2, 4],
            [1, 3]])
    """
    dims = list(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = input._wrap_dim(dims[0]), input._wrap_dim(dims[1])
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
    res = _rotated(input._data, k, (d0, d1))
    return record(_wrap(res), node_class("Rot90Backward0"), (input,), ctx=(k, tuple(dims)), op="rot90")


def kron(input, other, *, _call=("kron", False)):
    """The Kronecker product: PyTorch's ``_unsafe_view(mul(_unsafe_view(a), _unsafe_view(b)))``
    over interleaved dims (UnsafeViewBackward0 over MulBackward0).

    >>> import gradlens_core as torch
    >>> torch.kron(torch.tensor([1, 2]), torch.tensor([1, 10]))
    tensor([ 1, 10,  2, 20])
    """
    if not (isinstance(input, Tensor) and isinstance(other, Tensor)):
        _argparse.refuse(_call, (input, other))
    nd = builtins.max(input.ndim, other.ndim)
    a_shape = (1,) * (nd - input.ndim) + tuple(input.shape)
    b_shape = (1,) * (nd - other.ndim) + tuple(other.shape)
    a_view, b_view, result = [], [], []
    for x, y in zip(a_shape, b_shape):
        a_view += [x, 1]
        b_view += [1, y]
        result.append(x * y)
    prod = _ops.mul(_ops._unsafe_view(input, tuple(a_view)), _ops._unsafe_view(other, tuple(b_view)))
    return _ops._unsafe_view(prod, tuple(result))


def tensordot(a, b, dims=2):
    """Sums of products over ``dims`` (the last ``dims`` of ``a`` with the first of ``b``, or
    the two lists of dims given): PyTorch's permute, reshape, ``mm``, reshape.

    >>> import gradlens_core as torch
    >>> torch.tensordot(torch.ones(2, 3), torch.ones(3, 4), dims=1).shape
    torch.Size([2, 4])
    """
    if isinstance(dims, Tensor):
        dims = dims.item() if dims.ndim == 0 else dims.tolist()
    if isinstance(dims, numbers.Integral):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > builtins.min(a.ndim, b.ndim):
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        dims_a, dims_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        dims_a, dims_b = (list(d) if isinstance(d, (list, tuple)) else [d] for d in dims)
    if len(dims_a) != len(dims_b):
        raise RuntimeError("both dimension lists should have same length")
    dims_a = [a._wrap_dim(d) for d in dims_a]
    dims_b = [b._wrap_dim(d) for d in dims_b]
    for da, db in zip(dims_a, dims_b):
        if a.shape[da] != b.shape[db]:
            raise RuntimeError(
                f"contracted dimensions need to match, but first has size {a.shape[da]} in dim {da} and second "
                f"has size {b.shape[db]} in dim {db}"
            )
    keep_a = [i for i in range(a.ndim) if i not in dims_a]
    keep_b = [i for i in range(b.ndim) if i not in dims_b]
    csize = math.prod(a.shape[d] for d in dims_a)
    size1 = math.prod(a.shape[i] for i in keep_a)
    size2 = math.prod(b.shape[i] for i in keep_b)
    t1 = _views.reshape(_views.permute(a, *(keep_a + dims_a)), size1, csize)
    t2 = _views.reshape(_views.permute(b, *(dims_b + keep_b)), csize, size2)
    rsizes = [a.shape[i] for i in keep_a] + [b.shape[i] for i in keep_b]
    res = _views.reshape(_ops.mm(t1, t2), *rsizes) if rsizes else _views.reshape(_ops.mm(t1, t2), ())
    return res


# ============================================================================ reductions and scans


def count_nonzero(input, dim=None):
    """How many elements are not zero, over ``dim`` (int64; no grad).

    >>> import gradlens_core as torch
    >>> torch.count_nonzero(torch.tensor([[0, 1], [2, 0]]), dim=0)
    tensor([1, 1])
    """
    dims = tuple(range(input.ndim)) if dim is None else _ops._reduce_dims(input, dim)
    res = np.asarray(np.count_nonzero(input._data, axis=dims if input.ndim else None), dtype=np.int64)
    return _ops._nondiff(res, (input,), "count_nonzero")


def _second_output(out, node, inputs, op):
    """Make ``out`` output 1 of ``node`` (a two-output node ``record`` made for output 0)."""
    from . import _events

    if node is not None:
        out._grad_fn = node
        out._output_nr = 1
    if _events.active:
        _events.emit("created", tensor=out, grad_fn=out._grad_fn, inputs=tuple(inputs), op=op)
    return out


def _pair(values, values2, name, inputs, saved, ctx, save_outputs, op):
    """Two outputs of one node ``name`` (StdMeanBackward0, AminmaxBackward0 ...)."""
    node_cls = node_class(name, n_outputs=2)
    first = record(_wrap(values), node_cls, inputs, saved, ctx=ctx, save_output=save_outputs > 0, op=op)
    second = _wrap(values2)
    node = first._grad_fn
    if node is not None and save_outputs > 1:
        second._grad_fn, second._output_nr = node, 1
        from ._tensor import _save_output

        _save_output(node, second)
    return first, _second_output(second, node, inputs, op)


def _moments(name, input, dim, unbiased, keepdim, correction):
    call = ("std" if name == "std_mean" else "var", False)
    dim, dims, c, given = _ops._var_args(input, dim, unbiased, keepdim, correction, call)
    spread = _ops._var_data(input, dims, c, keepdim, "std" if name == "std_mean" else "var")
    with np.errstate(divide="ignore", invalid="ignore"):
        from . import _ns, _reduce

        mean = _ns.reduced(_reduce.mean_data(input._data, dims, keepdim))
    ctx = (dims, keepdim, c, dim is None or input._data.ndim == 0, dim, given)
    node = "StdMeanBackward0" if name == "std_mean" else "VarMeanBackward0"
    saved = (input,)
    return _pair(np.asarray(spread), np.asarray(mean), node, (input,), saved, ctx, name == "std_mean", name)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(std, mean)`` over ``dim``, one node for both (StdMeanBackward0: saves self and the std).

    >>> import gradlens_core as torch
    >>> torch.std_mean(torch.tensor([1.0, 3.0]))
    (tensor(1.4142), tensor(2.))
    """
    return _moments("std_mean", input, dim, unbiased, keepdim, correction)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(var, mean)`` over ``dim``, one node for both (VarMeanBackward0: saves self).

    >>> import gradlens_core as torch
    >>> torch.var_mean(torch.tensor([1.0, 3.0]))
    (tensor(2.), tensor(2.))
    """
    return _moments("var_mean", input, dim, unbiased, keepdim, correction)


def _mean_part(g, x, ctx, ns):
    """mean_backward: the grad spread evenly over the elements each mean reduced."""
    dims, keepdim = ctx[0], ctx[1]
    shape = tuple(x.shape)
    count = math.prod(shape[d] for d in dims) if dims else 1
    if not keepdim and shape:
        g = ns.unsqueeze_multiple(g, dims)
    return ns.div_scalar(ns.expand(g, shape), count)


def _moments_bw(is_std):
    def formula(node, grads, ns):
        held = node.unpack(ns)
        x = held[0]
        g_spread, g_mean = grads
        res = None
        if g_spread is not None:
            if is_std:
                r = held[1]
                with np.errstate(divide="ignore", invalid="ignore"):
                    g_spread = ns.masked_fill_(g_spread / (r * 2), r == 0, 0)
            res = _ops._var_backward(g_spread, x, node._ctx, ns)
        if g_mean is not None:
            part = _mean_part(g_mean, x, node._ctx, ns)
            res = part if res is None else res + part
        return (res,)

    return formula


node_class("StdMeanBackward0", _moments_bw(True), n_outputs=2)
node_class("VarMeanBackward0", _moments_bw(False), n_outputs=2)


class _MinMax(tuple):
    """``torch.return_types.aminmax(min=..., max=...)``."""

    def __new__(cls, lo, hi):
        return tuple.__new__(cls, (lo, hi))

    min = property(lambda self: self[0])
    max = property(lambda self: self[1])

    def __repr__(self) -> str:
        return f"torch.return_types.aminmax(\nmin={self[0]!r},\nmax={self[1]!r})"


_MinMax.__name__ = _MinMax.__qualname__ = "aminmax"


def aminmax(input, *, dim=None, keepdim=False):
    """``(min, max)`` over ``dim`` (or all elements), one node for both (AminmaxBackward0: saves
    self, min and max; ties share the grad, as amin's and amax's).

    >>> import gradlens_core as torch
    >>> torch.aminmax(torch.tensor([3, 1, 2])).max
    tensor(3)
    """
    if input.numel() == 0:
        raise RuntimeError(
            "aminmax(): cannot compute aminmax over an empty dimension as the operation has no identity."
        )
    dims = tuple(range(input.ndim)) if dim is None else (input._wrap_dim(dim),)
    if input.ndim == 0:
        dims = ()
    kd = keepdim if dim is not None else keepdim
    lo = np.asarray(np.amin(input._data, axis=dims, keepdims=kd))
    hi = np.asarray(np.amax(input._data, axis=dims, keepdims=kd))
    ctx = (dims, kd, dim)
    first, second = _pair(lo, hi, "AminmaxBackward0", (input,), (input,), ctx, 2, "aminmax")
    return _MinMax(first, second)


def _aminmax_bw(node, grads, ns):
    x, lo, hi = node.unpack(ns)
    res = None
    for g, r in zip(grads, (lo, hi)):
        if g is None:
            continue
        part = _ops._amax_bw(_OneNode(node, (x, r)), g, ns)[0]
        res = part if res is None else res + part
    return (res,)


class _OneNode:
    """A stand-in node for amax's formula: its saved (self, result) and ctx."""

    def __init__(self, node, held):
        self._ctx, self._held_values = node._ctx, held

    def unpack(self, ns):
        return self._held_values


node_class("AminmaxBackward0", _aminmax_bw, n_outputs=2)


def _cumulative_extreme(input, dim, is_max):
    data = input._data
    if data.ndim == 0:
        return data.copy(), np.zeros((), np.int64)
    d = input._wrap_dim(dim)
    moved = np.moveaxis(data, d, 0)
    values = np.empty_like(moved)
    indices = np.empty(moved.shape, np.int64)
    if moved.shape[0]:
        out, idx = moved[0].copy(), np.zeros(moved.shape[1:], np.int64)
        for i in range(moved.shape[0]):
            cur = moved[i]
            with np.errstate(invalid="ignore"):
                better = cur >= out if is_max else cur <= out
            if data.dtype.kind == "f":
                better = np.isnan(cur) | (~np.isnan(out) & better)
            out = np.where(better, cur, out)
            idx = np.where(better, i, idx)
            values[i], indices[i] = out, idx
    return np.ascontiguousarray(np.moveaxis(values, 0, d)), np.ascontiguousarray(np.moveaxis(indices, 0, d))


class _Scan(tuple):
    _name = ""

    def __new__(cls, values, indices):
        return tuple.__new__(cls, (values, indices))

    values = property(lambda self: self[0])
    indices = property(lambda self: self[1])

    def __repr__(self) -> str:
        return f"torch.return_types.{self._name}(\nvalues={self[0]!r},\nindices={self[1]!r})"


_cummax_rt = type("cummax", (_Scan,), {"_name": "cummax", "__slots__": ()})
_cummin_rt = type("cummin", (_Scan,), {"_name": "cummin", "__slots__": ()})


def _cum_extreme(input, dim, is_max):
    values, indices = _cumulative_extreme(input, dim, is_max)
    idx = _ops._nondiff(indices, (input,), "cummax" if is_max else "cummin")
    name = "CummaxBackward0" if is_max else "CumminBackward0"
    saved = (input, idx)
    out = record(_wrap(values), node_class(name), (input,), saved, ctx=dim, op=name[:6].lower())
    return (_cummax_rt if is_max else _cummin_rt)(out, idx)


def cummax(input, dim):
    """Running maxima along ``dim`` and where each was found (the last of equal ones; a nan
    stays; CummaxBackward0: saves self and the indices).

    >>> import gradlens_core as torch
    >>> torch.cummax(torch.tensor([1, 3, 2]), 0).values
    tensor([1, 3, 3])
    """
    return _cum_extreme(input, dim, True)


def cummin(input, dim):
    """Running minima along ``dim`` and where each was found (CumminBackward0).

    >>> import gradlens_core as torch
    >>> torch.cummin(torch.tensor([3, 1, 2]), 0).values
    tensor([3, 1, 1])
    """
    return _cum_extreme(input, dim, False)


def _cum_extreme_bw(node, g, ns):
    """cummaxmin_backward: ``zeros_like(self).scatter_add_(dim, indices, grad)`` (under
    create_graph recorded as that: ScatterAddBackward0)."""
    x, idx = node.unpack(ns)
    if x.ndim == 0:  # (a 0-d scatter_add's own backward is not supported: g itself here)
        return (g,)
    if ns.records_graph:
        from . import _scatter

        return (_scatter.scatter_add(ns.zeros_like(x), node._ctx, idx, g),)
    d = node._ctx % x.ndim
    res = np.zeros_like(g)
    moved_res, moved_idx, moved_g = (np.moveaxis(a, d, -1) for a in (res, idx, g))
    rows = np.indices(moved_idx.shape)[:-1]
    np.add.at(moved_res, (*rows, moved_idx), moved_g)
    return (res,)


node_class("CummaxBackward0", _cum_extreme_bw)
node_class("CumminBackward0", _cum_extreme_bw)


def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The ``n``-th forward difference along ``dim``: PyTorch's ``narrow(1:) - narrow(:-1)``
    repeated (SubBackward0; ``logical_xor`` for bool), after ``prepend`` and ``append`` are
    joined on (CatBackward0).

    >>> import gradlens_core as torch
    >>> torch.diff(torch.tensor([1, 4, 9]))
    tensor([3, 5])
    """
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    if prepend is not None or append is not None:
        parts = [t for t in (prepend, input, append) if t is not None]
        parts = [t if t.ndim else _views.expand(t, tuple(input.shape[:-1]) + (1,)) for t in parts]
        input = _ops.cat(parts, dim)
    d = input._wrap_dim(dim)
    if n == 0:
        from ._factories import zeros_like

        return zeros_like(input).copy_(input)  # as PyTorch's diff_helper (CopyBackwards)
    out_len = input.shape[d] - 1
    n = builtins.min(n, input.shape[d])
    result = input
    for _ in range(n):
        hi = _views.narrow(result, d, 1, out_len)
        lo = _views.narrow(result, d, 0, out_len)
        result = logical_xor(hi, lo) if input.dtype is _dtype.bool_ else _ops.sub(hi, lo)
        out_len -= 1
    return result


# ============================================================================ matrix products


def _scaled_sum(product, input, beta, alpha):
    """``beta * input + alpha * product`` as the kernels compute it (beta 0: input not read)."""
    if alpha != 1:
        product = product * alpha
    shape = np.broadcast_shapes(input._data.shape, product.shape)
    if beta == 0:
        return np.ascontiguousarray(np.broadcast_to(product, shape))
    return np.asarray(product + (input._data if beta == 1 else input._data * beta))


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * bmm(batch1, batch2)`` (BaddbmmBackward0: saves batch1, batch2,
    alpha and beta).

    >>> import gradlens_core as torch
    >>> torch.baddbmm(torch.ones(1, 1, 1), torch.ones(1, 1, 2), torch.ones(1, 2, 1))
    tensor([[[3.]]])
    """
    for name, t in (("batch1", batch1), ("batch2", batch2)):
        if t.ndim != 3:
            raise RuntimeError(f"{name} must be a 3D tensor")
    if batch1.shape[0] != batch2.shape[0] or batch1.shape[2] != batch2.shape[1]:
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: [{batch1.shape[0]}, "
            f"{batch1.shape[2]}] but got: [{batch2.shape[0]}, {batch2.shape[1]}]."
        )
    for a, b in ((input, batch1), (batch1, batch2)):
        if a.dtype is not b.dtype:
            raise RuntimeError(f"expected scalar type {a.dtype._legacy} but found {b.dtype._legacy}")
    try:
        res = _scaled_sum(batch1._data @ batch2._data, input, beta, alpha)
    except ValueError:
        raise _ops.broadcast_error(input.shape, (batch1.shape[0], batch1.shape[1], batch2.shape[2])) from None
    inputs = (input, batch1, batch2)
    saved = (batch1 if batch2.requires_grad else None, batch2 if batch1.requires_grad else None, alpha, beta)
    return record(_wrap(res), node_class("BaddbmmBackward0"), inputs, saved, op="baddbmm")


@backward_formula("BaddbmmBackward0")
def _baddbmm_bw(node, g, ns):
    # self: maybe_multiply(grad, beta); batch1: grad.bmm(batch2.transpose(1, 2)).mul(alpha);
    # batch2: batch1.transpose(1, 2).bmm(grad).mul(alpha)
    b1, b2, alpha, beta = node.unpack(ns)
    g2 = ns.bmm(ns.swapaxes(b1, 1, 2), g) * alpha if node.needs(2) else None
    g1 = ns.bmm(g, ns.swapaxes(b2, 1, 2)) * alpha if node.needs(1) else None
    return (g if beta == 1 else g * beta) if node.needs(0) else None, g1, g2


def addmv(input, mat, vec, *, beta=1, alpha=1):
    """``beta * input + alpha * mv(mat, vec)`` (AddmvBackward0: saves mat, vec, alpha, beta).

    >>> import gradlens_core as torch
    >>> torch.addmv(torch.ones(2), torch.ones(2, 3), torch.ones(3))
    tensor([4., 4.])
    """
    if mat.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.ndim}, {mat.ndim}, {vec.ndim}")
    if mat.shape[1] != vec.shape[0]:
        raise RuntimeError(
            f"size mismatch, got input ({input.shape[0] if input.ndim else 1}), mat ({mat.shape[0]}x{mat.shape[1]}), "
            f"vec ({vec.shape[0]})"
        )
    try:
        res = _scaled_sum(mat._data @ vec._data, input, beta, alpha)
    except ValueError:
        raise _ops.broadcast_error(input.shape, (mat.shape[0],)) from None
    inputs = (input, mat, vec)
    saved = (mat if vec.requires_grad else None, vec if mat.requires_grad else None, alpha, beta)
    return record(_wrap(res), node_class("AddmvBackward0"), inputs, saved, op="addmv")


@backward_formula("AddmvBackward0")
def _addmv_bw(node, g, ns):
    # self: maybe_multiply(grad, beta); mat: grad.ger(vec) * alpha; vec: mat.t().mv(grad) * alpha
    m, v, alpha, beta = node.unpack(ns)
    gv = ns.matmul(ns.t(m), g) * alpha if node.needs(2) else None
    gm = ns.outer(g, v) * alpha if node.needs(1) else None
    return (g if beta == 1 else g * beta) if node.needs(0) else None, gm, gv


def is_nonzero(input) -> bool:
    """The truth of a one-element tensor (``bool(input)``).

    >>> import gradlens_core as torch
    >>> torch.is_nonzero(torch.tensor([1.5]))
    True
    """
    n = input.numel()
    if n == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if n > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(input._data.reshape(-1)[0])


# ============================================================================ the namespace

__all__ = [
    *LEGACY_CLASSES,
    "sinh", "cosh", "asin", "acos", "tan", "exp2", "frac", "logit", "float_power", "nan_to_num",
    "logical_xor", "can_cast", "set_default_dtype", "normal", "broadcast_to", "broadcast_tensors", "atleast_1d",
    "atleast_2d", "atleast_3d", "vstack", "hstack", "dstack", "column_stack", "swapaxes", "swapdims",
    "tensor_split", "split_with_sizes", "rot90", "kron", "tensordot", "count_nonzero", "std_mean", "var_mean",
    "aminmax", "cummax", "cummin", "diff", "baddbmm", "addmv", "is_nonzero",
]  # fmt: skip

# torch's function forms of the in-place ones (their tensor is ``input``)
_FUNCTION_FORMS = ("sinh_", "cosh_", "asin_", "acos_", "tan_", "exp2_", "frac_", "logit_", "nan_to_num_")
_FUNCTION_FORMS += ("reciprocal_", "square_")
FUNCTION_FORMS = {name: _argparse.entry(globals()[name], name, False) for name in _FUNCTION_FORMS}
FUNCTION_FORMS["arcsin_"] = _argparse.entry(asin_, "arcsin_", False)
FUNCTION_FORMS["arccos_"] = _argparse.entry(acos_, "arccos_", False)

# the Tensor methods (installed by _methods)
METHODS = {
    **{name: _argparse.entry(globals()[name], name, True) for name in ("sinh", "cosh", "asin", "acos", "tan", "exp2")},
    **{name: globals()[name] for name in ("frac", "logit")},
    **{name: globals()[name] for name in ("float_power", "nan_to_num", "logical_xor")},
    **{name + "_": globals()[name + "_"] for name in ("sinh", "cosh", "asin", "acos", "tan", "exp2", "frac")},
    **{name + "_": globals()[name + "_"] for name in ("logit", "float_power", "nan_to_num", "logical_xor")},
    **{name: globals()[name] for name in ("square_", "sign_", "reciprocal_", "lerp_")},
    **{name: globals()[name] for name in ("broadcast_to", "split_with_sizes", "rot90")},
    **{name: _argparse.entry(globals()[name], name, True) for name in ("tensor_split", "kron")},
    **{name: globals()[name] for name in ("count_nonzero", "aminmax", "cummax", "cummin", "diff")},
    **{name: globals()[name] for name in ("baddbmm", "addmv", "is_nonzero")},
    "addmm": _ops.addmm,
    "arcsin": _argparse.entry(asin, "arcsin", True),
    "arccos": _argparse.entry(acos, "arccos", True),
    "arcsin_": _argparse.entry(asin_, "arcsin_", True),
    "arccos_": _argparse.entry(acos_, "arccos_", True),
}
