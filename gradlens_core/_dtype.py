"""Data types and PyTorch's type-promotion rules.

>>> from gradlens_core._dtype import float32, int64, result_type
>>> result_type(int64, 2.5)
torch.float32
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "dtype",
    "result_type",
    "from_numpy_dtype",
    "promote_types",
    "can_cast",
    "float_result",
    "parsed_number",
    "overflows",
    "checked_scalar",
    "scalar_tensor_value",
    "opmath",
]


class dtype:
    """A tensor element type; prints as PyTorch does (``torch.float32``)."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_rank", "_legacy", "_cpp")

    def __init__(self, name: str, np_dtype, rank: int, legacy: str, cpp: str) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = self.np.kind == "f"
        self.is_signed = self.np.kind in "if"
        self.itemsize = self.np.itemsize
        self._rank = rank
        self._legacy = legacy  # "Float" in "torch.FloatTensor" and in cast errors
        self._cpp = cpp  # the C++ type name some errors print ("long int" in mm's dtype error)

    @property
    def is_complex(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "torch." + self.name

    def __reduce__(self):
        return (_by_name, (self.name,))

    def to_real(self) -> dtype:
        return self


bool_ = dtype("bool", np.bool_, 0, "Bool", "bool")
uint8 = dtype("uint8", np.uint8, 1, "Byte", "unsigned char")
int8 = dtype("int8", np.int8, 1, "Char", "signed char")
int16 = dtype("int16", np.int16, 2, "Short", "short int")
int32 = dtype("int32", np.int32, 3, "Int", "int")
int64 = dtype("int64", np.int64, 4, "Long", "long int")
float16 = dtype("float16", np.float16, 5, "Half", "c10::Half")
float32 = dtype("float32", np.float32, 6, "Float", "float")
float64 = dtype("float64", np.float64, 7, "Double", "double")

ALL = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
_BY_NP = {d.np: d for d in ALL}
_BY_NAME = {d.name: d for d in ALL}
# PyTorch's legacy tensor types by name ("torch.FloatTensor": float32): Tensor.type's names and
# the legacy constructor classes
LEGACY_TENSOR_NAMES = {f"torch.{d._legacy}Tensor": d for d in ALL}

default_float = float32


def _by_name(name: str) -> dtype:
    return _BY_NAME[name]


def from_numpy_dtype(np_dtype) -> dtype:
    """The gradlens_core dtype of a numpy dtype; TypeError for unsupported ones."""
    try:
        return _BY_NP[np.dtype(np_dtype)]
    except (KeyError, TypeError):
        raise TypeError(
            # (the numpy type's name, as PyTorch prints it: numpy.object_, numpy.str_)
            f"can't convert np.ndarray of type numpy.{np.dtype(np_dtype).type.__name__}. The only supported types are: "
            "float64, float32, float16, int64, int32, int16, int8, uint8, and bool."
        ) from None


def _category(d: dtype) -> int:
    return 2 if d.is_floating_point else (0 if d is bool_ else 1)


def promote_types(a: dtype, b: dtype) -> dtype:
    """torch.promote_types: the smallest dtype both convert to without losing kind."""
    if a is b:
        return a
    if a is uint8 and b is int8 or a is int8 and b is uint8:
        return int16
    return a if a._rank >= b._rank else b


def _combine(higher: dtype | None, lower: dtype | None) -> dtype | None:
    # c10::combine_categories: a higher-priority operand wins unless a lower one is of a
    # higher category (bool < integer < floating), in which case the two are promoted.
    if higher is None:
        return lower
    if lower is None or higher.is_floating_point:
        return higher
    if higher is bool_ or lower.is_floating_point:
        return promote_types(higher, lower)
    return higher


def _scalar_dtype(value) -> dtype:
    # PyTorch reads a numpy integer as a Python int and any other numpy scalar (np.bool_
    # too) as a Python float: a wrapped number whose own width does not count
    if isinstance(value, bool):
        return bool_
    if isinstance(value, (int, np.integer)):
        return int64
    return default_float


def result_type(*operands) -> dtype:
    """PyTorch's result dtype for an op over tensors, dtypes and Python scalars.

    Tensors with dimensions outrank 0-d tensors, which outrank Python numbers; a
    lower-ranked operand only matters when it is of a higher category.
    Dtype arguments count as dimensioned tensors.
    """
    dim = zero = wrapped = None
    for op in operands:
        if isinstance(op, dtype):
            dim = op if dim is None else promote_types(dim, op)
            continue
        data = getattr(op, "_data", None)
        if data is None:
            d = _scalar_dtype(op)
            wrapped = d if wrapped is None else promote_types(wrapped, d)
            continue
        d = _BY_NP[data.dtype]
        if data.ndim:
            dim = d if dim is None else promote_types(dim, d)
        else:
            zero = d if zero is None else promote_types(zero, d)
    return _combine(dim, _combine(zero, wrapped))


def parsed_number(value):
    """A number as PyTorch's argument parser reads it into a Scalar: an int as int64, or as
    uint64 when it is too big for int64 (beyond both it is refused), a numpy integer as an int,
    any other numpy scalar as a float, a 0-d tensor as its ``item()``.

    >>> parsed_number(np.int8(3)), parsed_number(2**63)
    (3, 9223372036854775808)
    """
    cls = value.__class__
    if cls is float or cls is bool:
        return value
    if isinstance(value, int):
        if -(2**63) <= value < 2**64:
            return value
        raise OverflowError("can't convert negative int to unsigned" if value < 0 else "int too big to convert")
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (np.floating, np.bool_)):
        return float(value)
    data = getattr(value, "_data", None)  # a tensor
    return value if data is None else data.item()


# c10::checked_convert's names of the C++ types a number is converted to
_SCALAR_NAMES = {
    uint8: "uint8_t",
    int8: "int8_t",
    int16: "int16_t",
    int32: "int",
    int64: "int64_t",
    float16: "c10::Half",
    float32: "float",
    float64: "double",
}


def _limits(d: dtype) -> tuple:
    # (lowest, max) exactly, and as doubles: C++ compares a double with the limit made a double
    info = np.finfo(d.np) if d.is_floating_point else np.iinfo(d.np)
    lo, hi = (float(info.min), float(info.max)) if d.is_floating_point else (int(info.min), int(info.max))
    return lo, hi, float(lo), float(hi)


_LIMITS = {d: _limits(d) for d in _SCALAR_NAMES}
# checked_scalar's shortcut: the floats and the ints (those the parser reads) that need no other test
_IN_RANGE = {
    **{(float, d): lim[:2] for d, lim in _LIMITS.items()},
    **{(int, d): (max(lim[0], -(2**63)), min(lim[1], 2**64 - 1)) for d, lim in _LIMITS.items()},
}


def overflows(value, d: dtype) -> bool:
    """c10::overflows: whether the number ``value`` (a bool, an int or a float, as
    ``parsed_number`` gives it) is out of ``d``'s range. Nothing overflows into bool and a
    bool overflows nothing; a negative int may wrap into uint8 (-1 is 255, -256 is refused);
    a float is compared as a double, inf is allowed into floating dtypes, nan only there.

    >>> overflows(-1, uint8), overflows(-1.0, uint8), overflows(1e39, float32), overflows(127.5, int8)
    (False, True, True, True)
    """
    if d is bool_ or value.__class__ is bool:
        return False
    lo, hi, lo_double, hi_double = _LIMITS[d]
    if isinstance(value, int):
        if value < 0 and not d.is_signed:
            return -value > hi
        return value < lo or value > hi
    if value != value:
        return not d.is_floating_point
    if d.is_floating_point and (value == np.inf or value == -np.inf):
        return False
    return value < lo_double or value > hi_double


def checked_scalar(value, d: dtype, name: str | None = None):
    """PyTorch's ``Scalar::to<T>`` (c10::checked_convert): the Python number ``value`` as a
    numpy scalar of dtype ``d``, or the RuntimeError PyTorch raises for a value out of ``d``'s
    range (``name``: the type the error names, by default the C++ one). fill_, full,
    masked_fill, clamp's bounds, add's alpha, ... write numbers through it.

    >>> checked_scalar(-1, uint8)
    np.uint8(255)
    >>> checked_scalar(300, int8)
    Traceback (most recent call last):
    RuntimeError: value cannot be converted to type int8_t without overflow
    """
    limits = _IN_RANGE.get((value.__class__, d))  # the common case: a float or an int well in range
    if limits is not None and limits[0] <= value <= limits[1]:
        return d.np.type(value)
    value = parsed_number(value)
    if overflows(value, d):
        raise RuntimeError(f"value cannot be converted to type {name or _SCALAR_NAMES[d]} without overflow")
    try:
        return d.np.type(value)
    except (OverflowError, ValueError):  # a negative int into uint8, 2.0**63 into int64: cast as C++ does
        with np.errstate(invalid="ignore", over="ignore"):
            return np.array(value).astype(d.np)[()]


def scalar_tensor_value(value, d: dtype):
    """The value of ``at::scalar_tensor(value, dtype=d)``, which ``where(cond, x, 2)`` and
    ``x[i] = 2`` make of a number: ``checked_scalar``'s, except that a half takes the number
    rounded from a double unchecked (70000.0 is inf).

    >>> scalar_tensor_value(70000.0, float16)
    np.float16(inf)
    """
    if d is not float16:
        return checked_scalar(value, d)
    with np.errstate(over="ignore"):
        return np.float16(parsed_number(value))


def opmath(d: dtype) -> dtype:
    """at::opmath_type: the dtype a kernel computes a half tensor in (float); others their own."""
    return float32 if d is float16 else d


def can_cast(src: dtype, dst: dtype) -> bool:
    """c10::canCast: what an in-place op or ``out=`` may write (no float into an integer
    tensor, nothing but bool into a bool tensor)."""
    if src.is_floating_point and not dst.is_floating_point:
        return False
    return src is bool_ or dst is not bool_


def float_result(d: dtype) -> dtype:
    """The dtype of an op that always computes in floating point (exp, div, ...): integers give the default float."""
    return d if d.is_floating_point else default_float
