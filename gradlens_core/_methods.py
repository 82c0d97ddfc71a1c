"""Bind the ops of ``_ops`` and ``_views`` to Tensor as methods and operators."""

from __future__ import annotations

import numbers

import numpy as np

from . import (
    _arrange,
    _cumulative,
    _dtype,
    _factories,
    _logic,
    _math_ops,
    _more_functions,
    _ops,
    _order_stats,
    _random,
    _scatter,
    _unique,
    _views,
)
from ._argparse import MISSING, entry, refuse, refuse_extra
from ._tensor import Tensor
from ._warn import warn_once


def _as_method(fn, name: str):
    """``fn`` as the Tensor method ``name``: its parser errors name the call as a method's."""

    def method(self, *args, **kwargs):
        return fn(self, *args, _call=(name, True), **kwargs)

    method.__name__ = name
    method.__doc__ = fn.__doc__
    return method


def _flip(self, *dims, **kwargs):
    """``x.flip(0, 1)``, ``x.flip([0, 1])`` or ``x.flip(dims=[0, 1])``, as torch.flip(x, [0, 1])."""
    if "dims" in kwargs and not dims:
        dims = (kwargs.pop("dims"),)
    if kwargs:
        raise TypeError(f"flip() got an unexpected keyword argument '{next(iter(kwargs))}'")
    if not dims:
        raise TypeError('flip() missing 1 required positional arguments: "dims"')
    try:
        shape = _views._shape_args(dims)
    except TypeError:
        refuse(("flip", True), (self, *dims))
        raise
    return _cumulative.flip(self, shape)


def index_put_(
    self=MISSING, indices=MISSING, values=MISSING, accumulate=False, *extra, _call=("index_put_", True), **unknown
):
    """``self[indices] = values`` (``+=`` with ``accumulate``) for a tuple of index tensors, after
    PyTorch's parser's checks (``values`` a tensor, ``accumulate`` a bool).

    >>> import gradlens_core as torch
    >>> torch.zeros(3).index_put_((torch.tensor([0, 2]),), torch.tensor(1.0))
    tensor([1., 0., 1.])
    """
    if (
        extra
        or unknown
        or not isinstance(self, Tensor)
        or not isinstance(indices, (tuple, list))
        or not isinstance(values, Tensor)
        or accumulate.__class__ is not bool
    ):
        refuse_extra(_call, (self, indices, values, accumulate), extra, unknown, (("accumulate", False),))
    return _views.index_put_(self, indices, values, accumulate)


_METHODS = {
    # arithmetic
    # (these replay PyTorch's argument parser when they fail: see _argparse.entry)
    "add": entry(_ops.add, "add", True),
    "sub": entry(_ops.sub, "sub", True),
    "subtract": entry(_ops.sub, "subtract", True),
    "mul": entry(_ops.mul, "mul", True),
    "multiply": entry(_ops.mul, "multiply", True),
    "div": entry(_ops.div, "div", True),
    "divide": entry(_ops.div, "divide", True),
    "true_divide": entry(_ops.div, "true_divide", True),
    "floor_divide": entry(_ops.floor_divide, "floor_divide", True),
    "floor_divide_": _ops.floor_divide_,
    "remainder": entry(_ops.remainder, "remainder", True),
    "fmod": entry(_ops.fmod, "fmod", True),
    "fmod_": _ops.fmod_,
    "remainder_": _ops.remainder_,
    "pow": entry(_ops.pow, "pow", True),
    "pow_": _ops.pow_,
    "neg": entry(_ops.neg, "neg", True),
    "negative": entry(_ops.neg, "negative", True),
    "reciprocal": _ops.reciprocal,
    "square": _ops.square,
    "exp": entry(_ops.exp, "exp", True),
    "log": entry(_ops.log, "log", True),
    "log1p": entry(_ops.log1p, "log1p", True),
    "expm1": entry(_math_ops.expm1, "expm1", True),
    "erf": entry(_math_ops.erf, "erf", True),
    "hypot": _as_method(_math_ops.hypot, "hypot"),
    "addcmul": _as_method(_math_ops.addcmul, "addcmul"),
    "addcdiv": _as_method(_math_ops.addcdiv, "addcdiv"),
    "logsumexp": entry(_math_ops.logsumexp, "logsumexp", True),
    "cross": entry(_math_ops.cross, "cross", True),
    "median": entry(_order_stats.median, "median", True),
    "kthvalue": entry(_order_stats.kthvalue, "kthvalue", True),
    "sqrt": entry(_ops.sqrt, "sqrt", True),
    "sin": entry(_ops.sin, "sin", True),
    "log2": entry(_ops.log2, "log2", True),
    "log10": entry(_ops.log10, "log10", True),
    "atan": entry(_ops.atan, "atan", True),
    "arctan": entry(_ops.atan, "arctan", True),
    "rsqrt": entry(_ops.rsqrt, "rsqrt", True),
    "cos": entry(_ops.cos, "cos", True),
    "tanh": entry(_ops.tanh, "tanh", True),
    "sigmoid": entry(_ops.sigmoid, "sigmoid", True),
    "relu": entry(_ops.relu, "relu", True),
    "abs": entry(_ops.abs, "abs", True),
    "absolute": entry(_ops.abs, "absolute", True),
    "round": entry(_ops.round, "round", True),
    "floor": entry(_ops.floor, "floor", True),
    "ceil": entry(_ops.ceil, "ceil", True),
    "trunc": entry(_ops.trunc, "trunc", True),
    "sign": entry(_ops.sign, "sign", True),
    "clamp": entry(_ops.clamp, "clamp", True),
    "clip": entry(_ops.clamp, "clip", True),
    "clamp_min": entry(_ops.clamp_min, "clamp_min", True),
    "clamp_max": entry(_ops.clamp_max, "clamp_max", True),
    "lerp": entry(_ops.lerp, "lerp", True),
    "sort": entry(_ops.sort, "sort", True),
    "argsort": entry(_ops.argsort, "argsort", True),
    "topk": entry(_ops.topk, "topk", True),
    "atan2": entry(_ops.atan2, "atan2", True),
    "arctan2": entry(_ops.atan2, "arctan2", True),
    "maximum": entry(_ops.maximum, "maximum", True),
    "minimum": entry(_ops.minimum, "minimum", True),
    # comparisons and logic
    **{name: _ops.comparison(name, name, True) for name in ("eq", "ne", "lt", "le", "gt", "ge")},
    "logical_not": _ops.logical_not,
    "bitwise_and": entry(_ops.bitwise_and, "bitwise_and", True),
    "bitwise_or": entry(_ops.bitwise_or, "bitwise_or", True),
    "bitwise_xor": entry(_ops.bitwise_xor, "bitwise_xor", True),
    "bitwise_not": entry(_ops.bitwise_not, "bitwise_not", True),
    "bitwise_and_": _ops.bitwise_and_,
    "bitwise_or_": _ops.bitwise_or_,
    "bitwise_xor_": _ops.bitwise_xor_,
    "bitwise_not_": _ops.bitwise_not_,
    "bitwise_left_shift": entry(_ops.bitwise_left_shift, "bitwise_left_shift", True),
    "bitwise_right_shift": entry(_ops.bitwise_right_shift, "bitwise_right_shift", True),
    "bitwise_left_shift_": _ops.bitwise_left_shift_,
    "bitwise_right_shift_": _ops.bitwise_right_shift_,
    "logical_and": entry(_ops.logical_and, "logical_and", True),
    "logical_or": entry(_ops.logical_or, "logical_or", True),
    "isnan": _ops.isnan,
    "isinf": _ops.isinf,
    "isfinite": _ops.isfinite,
    "any": entry(_logic.any, "any", True),
    "all": entry(_logic.all, "all", True),
    "nonzero": entry(_logic.nonzero, "nonzero", True),
    "argwhere": _logic.argwhere,
    "masked_select": _as_method(_logic.masked_select, "masked_select"),
    "argmax": entry(_ops.argmax, "argmax", True),
    "argmin": entry(_ops.argmin, "argmin", True),
    "allclose": _ops.allclose,
    "equal": _ops.equal,
    "isclose": entry(_ops.isclose, "isclose", True),
    # reductions
    "sum": entry(_ops.sum, "sum", True),
    "mean": entry(_ops.mean, "mean", True),
    "prod": entry(_ops.prod, "prod", True),
    "cumsum": entry(_cumulative.cumsum, "cumsum", True),
    "cumprod": entry(_cumulative.cumprod, "cumprod", True),
    "max": entry(_ops.max, "max", True),
    "min": entry(_ops.min, "min", True),
    "amax": entry(_ops.amax, "amax", True),
    "amin": entry(_ops.amin, "amin", True),
    "var": entry(_ops.var, "var", True),
    "std": entry(_ops.std, "std", True),
    "norm": _ops.norm,
    # products
    "matmul": entry(_ops.matmul, "matmul", True),
    "mm": entry(_ops.mm, "mm", True),
    "mv": _ops.mv,
    "bmm": entry(_ops.bmm, "bmm", True),
    "dot": _ops.dot,
    "outer": _ops.outer,
    "softmax": entry(_ops.softmax, "softmax", True),
    "log_softmax": entry(_ops.log_softmax, "log_softmax", True),
    # copies and casts
    "clone": _ops.clone,
    "contiguous": _ops.contiguous,
    "to": _ops.to,
    "type_as": _ops.type_as,
    "float": _ops._caster(_dtype.float32),
    "double": _ops._caster(_dtype.float64),
    "half": _ops._caster(_dtype.float16),
    "long": _ops._caster(_dtype.int64),
    "int": _ops._caster(_dtype.int32),
    "short": _ops._caster(_dtype.int16),
    "char": _ops._caster(_dtype.int8),
    "byte": _ops._caster(_dtype.uint8),
    "bool": _ops._caster(_dtype.bool_),
    # in place
    "add_": _ops.add_,
    "sub_": _ops.sub_,
    "mul_": _ops.mul_,
    "div_": _ops.div_,
    "zero_": _ops.zero_,
    "fill_": _ops.fill_,
    "copy_": _ops.copy_,
    "clamp_": _ops.clamp_,
    "clip_": entry(_ops.clamp_, "clip_", True),
    "clamp_min_": _ops.clamp_min_,
    "clamp_max_": _ops.clamp_max_,
    "relu_": _ops.relu_,
    "sigmoid_": _ops.sigmoid_,
    "tanh_": _ops.tanh_,
    "exp_": _ops.exp_,
    "log_": _ops.log_,
    "sqrt_": _ops.sqrt_,
    "sin_": _ops.sin_,
    "log2_": _ops.log2_,
    "log10_": _ops.log10_,
    "atan_": _ops.atan_,
    "arctan_": entry(_ops.atan_, "arctan_", True),
    "rsqrt_": _ops.rsqrt_,
    "cos_": _ops.cos_,
    "abs_": _ops.abs_,
    "neg_": _ops.neg_,
    "round_": _ops.round_,
    "floor_": _ops.floor_,
    "expm1_": _math_ops.expm1_,
    "erf_": _math_ops.erf_,
    "addcmul_": _math_ops.addcmul_,
    "hypot_": _math_ops.hypot_,
    "addcdiv_": _math_ops.addcdiv_,
    "ceil_": _ops.ceil_,
    "index_put_": index_put_,
    "masked_fill": entry(_ops.masked_fill, "masked_fill", True),
    "masked_fill_": _ops.masked_fill_,
    "uniform_": _random.uniform_,
    "normal_": _random.normal_,
    "bernoulli_": _random.bernoulli_,
    "bernoulli": _factories.bernoulli,
    # views
    "view": _views.view,
    "view_as": _views.view_as,
    "reshape": entry(_views.reshape, "reshape", True),
    "reshape_as": _views.reshape_as,
    "flatten": entry(_views.flatten, "flatten", True),
    "unflatten": entry(_views.unflatten, "unflatten", True),
    "transpose": entry(_views.transpose, "transpose", True),
    "swapaxes": entry(_views.transpose, "swapaxes", True),
    "swapdims": entry(_views.transpose, "swapdims", True),
    "t": _views.t,
    "permute": entry(_views.permute, "permute", True),
    "unsqueeze": entry(_views.unsqueeze, "unsqueeze", True),
    "squeeze": entry(_views.squeeze, "squeeze", True),
    "expand": entry(_views.expand, "expand", True),
    "expand_as": _views.expand_as,
    "select": entry(_views.select, "select", True),
    "index_select": entry(_views.index_select, "index_select", True),
    "narrow": entry(_views.narrow, "narrow", True),
    "unbind": entry(_views.unbind, "unbind", True),
    "split": _views.split,
    "chunk": entry(_views.chunk, "chunk", True),
    "flip": _flip,
    "tril": entry(_arrange.tril, "tril", True),
    "triu": entry(_arrange.triu, "triu", True),
    "tril_": _arrange.tril_,
    "triu_": _arrange.triu_,
    "repeat": entry(_arrange.repeat, "repeat", True),
    "tile": entry(_arrange.tile, "tile", True),
    "roll": entry(_arrange.roll, "roll", True),
    "diag": entry(_arrange.diag, "diag", True),
    "gather": entry(_scatter.gather, "gather", True),
    "unique": _unique.unique,
    "bincount": _unique.bincount,
    "diagonal": _arrange.diagonal,
    "movedim": _views.movedim,
    "moveaxis": _views.movedim,
    "scatter": entry(_scatter.scatter, "scatter", True),
    "scatter_": _scatter.scatter_,
    "scatter_add": entry(_scatter.scatter_add, "scatter_add", True),
    "scatter_add_": _scatter.scatter_add_,
    "index_add": entry(_scatter.index_add, "index_add", True),
    "index_add_": _scatter.index_add_,
    "__getitem__": _views.getitem,
    "__setitem__": _views.setitem,
    **_more_functions.METHODS,
}


def _reflected(fn):
    def method(self, other):
        return fn(self, other)

    return method


def _rsub(self, other):
    return _ops.rsub(self, other)


def _rtruediv(self, other):
    # PyTorch's __rdiv__ is ``self.reciprocal() * other``, a TypeError returning NotImplemented:
    # the ``*`` operator lets a numpy array multiply the reciprocal itself
    try:
        return _ops.reciprocal(self) * other
    except TypeError:
        return NotImplemented


def _rpow(self, other):
    return _ops._rpow(other, self)


def _rmatmul(self, other):
    return _ops.matmul(other, self)


def _rmod(self, other):
    return _ops.remainder(other, self)


def _rfloordiv(self, other):
    return _ops.floor_divide(_ops.as_tensor_arg(other, self if _ops._is_scalar(other) else None), self)


def _reflected_shift(fn):
    # torch's __rlshift__ is bitwise_left_shift(other, self) in Python
    def method(self, other):
        return fn(other, self)

    return method


_tensor_eq = _ops.comparison("eq", "__eq__", True)


def _eq(self, other):
    """``==``: PyTorch's reads a numpy array as a tensor (``!=``, ``<`` ... refuse it: NotImplemented,
    so Python compares identities or refuses); an array of a dtype no tensor has is refused too."""
    if isinstance(other, np.ndarray):
        try:
            _dtype.from_numpy_dtype(other.dtype)
        except TypeError:
            return _eq_foreign(self, other)
        other = Tensor._wrap(other)
    return _tensor_eq(self, other)


_WIDE_UNSIGNED = {np.dtype(np.uint16): "UInt16", np.dtype(np.uint32): "UInt32", np.dtype(np.uint64): "UInt64"}


def _eq_foreign(self, other: np.ndarray):
    """``t == array`` of a dtype PyTorch has and gradlens_core does not (uint16/32/64, complex):
    compared in the dtype PyTorch's promotion gives (a tensor with dims outranks a 0-d one of
    the same category); an integer tensor with a wide unsigned one is refused as PyTorch
    refuses that promotion. Any other array: NotImplemented.

    >>> import numpy as np, gradlens_core as torch
    >>> torch.tensor([1.0, 2.0]) == np.array([1, 3], dtype=np.uint16)
    tensor([ True, False])
    """
    d = self._data
    mine, its = d.ndim > 0, other.ndim > 0
    if other.dtype in _WIDE_UNSIGNED:
        if d.dtype.kind == "f":
            common = d.dtype
        elif not mine and its:
            common = other.dtype  # a 0-d tensor gives way to the array with dims
        elif mine and not its and d.dtype.kind != "b":
            common = d.dtype
        else:
            raise RuntimeError(
                "Promotion for uint16, uint32, uint64 types is not supported, attempted to promote "
                f"{self.dtype._legacy} and {_WIDE_UNSIGNED[other.dtype]}"
            )
    elif other.dtype.kind == "c":
        wide = other.dtype == np.complex128 or (d.dtype == np.float64 and (mine or not its))
        common = np.dtype(np.complex128 if wide else np.complex64)
    else:
        return NotImplemented
    try:
        np.broadcast_shapes(d.shape, other.shape)
    except ValueError:
        raise _ops.broadcast_error(d.shape, other.shape) from None
    result = np.equal(d.astype(common, copy=False), other.astype(common, copy=False))
    return _ops._nondiff(np.asarray(result), (self,), "eq")


def _invert(self):
    # Python's ~ refuses a non-integral tensor before any op runs (THPVariable_invert)
    if self._data.dtype.kind in "fc":
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
    return _ops.bitwise_not(self)


_OPERATORS = {
    "__add__": _ops.add,
    "__radd__": _ops.add,
    "__iadd__": _ops.add_,
    "__sub__": _ops.sub,
    "__rsub__": _rsub,
    "__isub__": _ops.sub_,
    "__mul__": _ops.mul,
    "__rmul__": _ops.mul,
    "__imul__": _ops.mul_,
    "__truediv__": _ops.div,
    "__rtruediv__": _rtruediv,
    "__itruediv__": _ops.div_,
    "__floordiv__": _ops.floor_divide,
    "__ifloordiv__": _ops.floor_divide_,
    "__rfloordiv__": _rfloordiv,
    "__imod__": _ops.remainder_,
    "__mod__": _ops.remainder,
    "__rmod__": _rmod,
    "__pow__": _ops.pow,
    "__rpow__": _rpow,
    "__ipow__": _ops.pow_,
    "__matmul__": _ops.matmul,
    "__rmatmul__": _rmatmul,
    "__neg__": _ops.neg,
    "__abs__": _ops.abs,
    "__eq__": _eq,
    "__ne__": _ops.comparison("ne", "__ne__", True),
    "__lt__": _ops.lt,
    "__le__": _ops.le,
    "__gt__": _ops.gt,
    "__ge__": _ops.ge,
    "__and__": _ops.bitwise_and,
    "__rand__": _ops.bitwise_and,
    "__or__": _ops.bitwise_or,
    "__ror__": _ops.bitwise_or,
    "__xor__": _ops.bitwise_xor,
    "__rxor__": _ops.bitwise_xor,
    "__iand__": _ops.bitwise_and_,
    "__ior__": _ops.bitwise_or_,
    "__ixor__": _ops.bitwise_xor_,
    "__lshift__": _ops.bitwise_left_shift,
    "__rlshift__": _reflected_shift(_ops.bitwise_left_shift),
    "__ilshift__": _ops.bitwise_left_shift_,
    "__rshift__": _ops.bitwise_right_shift,
    "__rrshift__": _reflected_shift(_ops.bitwise_right_shift),
    "__irshift__": _ops.bitwise_right_shift_,
    "__invert__": _invert,
}


def _pos(self):
    return self


def _T(self):
    # PyTorch's .T is a permute of all dims, whatever the rank (PermuteBackward0)
    if self.ndim == 0:
        warn_once("Tensor.T is deprecated on 0-D tensors. This function is the identity in these cases.")
    elif self.ndim != 2:
        warn_once(
            "The use of `x.T` on tensors of dimension other than 2 to reverse their shape is deprecated and it will "
            "throw an error in a future release. Consider `x.mT` to transpose batches of matrices or "
            "`x.permute(*torch.arange(x.ndim - 1, -1, -1))` to reverse the dimensions of a tensor."
        )
    return _views.permute(self, tuple(reversed(range(self.ndim))))


def _mT(self):
    if self.ndim == 0:
        # PyTorch returns the tensor itself, with a deprecation warning
        warn_once("Tensor.mT is deprecated on 0-D tensors. This function is the identity in these cases.")
        return self
    if self.ndim < 2:
        raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. Got {self.ndim}-D tensor.")
    return _views.transpose(self, -2, -1)


def _new_tensor(self, data, dtype=None, requires_grad=False):
    from ._factories import tensor

    return tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)


def _new_filled(value):
    def method(self, *size, dtype=None, requires_grad=False, device=None):
        from ._factories import _filled

        return _filled(size, value, dtype or self.dtype, requires_grad, "new")

    return method


def _new_full(self, size, fill_value, dtype=None, requires_grad=False, device=None):
    from ._factories import _filled

    return _filled((tuple(size),), fill_value, dtype or self.dtype, requires_grad, "new_full", checked=True)


def _cpu(self, *args, **kwargs):
    return self


def _cuda(self, *args, **kwargs):
    # PyTorch built without CUDA fails in torch.cuda._lazy_init with an AssertionError
    raise AssertionError("Torch not compiled with CUDA enabled")


_OPERAND_TYPES = (Tensor, numbers.Number, np.generic)
_COMMON_OPERANDS = frozenset((Tensor, float, int))  # checked first: numbers.Number is a slow ABC check


def _binary_operator(fn, tensors_only=False):
    # PyTorch's parser refuses an operand that is no tensor or number (None, a string, a list, a
    # numpy array, even a 0-d one) and the operator returns NotImplemented: Python then raises
    # its own TypeError ("unsupported operand type(s) for +: 'Tensor' and 'list'"), or a numpy
    # array computes the op itself (its reflected operator reads the tensor with __array__,
    # numpy's promotion, and wraps the result with Tensor.__array_wrap__). ``tensors_only``: @
    # takes no number either.
    def method(self, other):
        if other.__class__ not in _COMMON_OPERANDS and not isinstance(other, _OPERAND_TYPES):
            return NotImplemented
        if tensors_only and not isinstance(other, Tensor):
            return NotImplemented
        return fn(self, other)

    method.__name__ = getattr(fn, "__name__", "operator")
    method.__doc__ = fn.__doc__
    return method


_UNARY = {"__neg__", "__abs__", "__invert__"}
_COMPARISONS = {"__eq__", "__ne__"}
_MATMUL = {"__matmul__", "__rmatmul__"}
_OWN_CHECKS = {"__rtruediv__"}  # PyTorch's __rdiv__ is Python code that hands any operand on


def install() -> None:
    for name, fn in _METHODS.items():
        setattr(Tensor, name, fn)
    for name, fn in _OPERATORS.items():
        if name not in _UNARY and name not in _COMPARISONS and name not in _OWN_CHECKS:
            fn = _binary_operator(fn, tensors_only=name in _MATMUL)
        setattr(Tensor, name, fn)
    Tensor.__hash__ = lambda self: id(self)
    Tensor.__pos__ = _pos
    Tensor.T = property(_T)
    Tensor.mT = property(_mT)
    Tensor.new_tensor = _new_tensor
    Tensor.new_zeros = _new_filled(0)
    Tensor.new_ones = _new_filled(1)
    Tensor.new_empty = _new_filled(0)
    Tensor.new_full = _new_full
    Tensor.cpu = _cpu
    Tensor.detach_cpu = _cpu
    Tensor.cuda = _cuda
