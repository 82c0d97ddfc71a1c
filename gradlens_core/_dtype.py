"""Data types and PyTorch's type-promotion rules.

>>> from gradlens_core._dtype import float32, int64, result_type
>>> result_type(int64, 2.5)
torch.float32
"""

from __future__ import annotations

import numpy as np

__all__ = ["dtype", "result_type", "from_numpy_dtype", "promote_types", "can_cast", "float_result"]


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


def can_cast(src: dtype, dst: dtype) -> bool:
    """c10::canCast: what an in-place op or ``out=`` may write (no float into an integer
    tensor, nothing but bool into a bool tensor)."""
    if src.is_floating_point and not dst.is_floating_point:
        return False
    return src is bool_ or dst is not bool_


def float_result(d: dtype) -> dtype:
    """The dtype of an op that always computes in floating point (exp, div, ...): integers give the default float."""
    return d if d.is_floating_point else default_float
