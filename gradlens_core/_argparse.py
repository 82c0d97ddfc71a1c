"""PyTorch's Python argument parser, replayed for its error texts.

PyTorch checks every call of ``torch.add`` or ``Tensor.add`` against the op's signatures
(``torch/csrc/utils/python_arg_parser.cpp``) before the op runs. gradlens_core's ops look at
no argument types on their fast path; when that path fails, the op hands the call to
``parser_error``, which runs PyTorch's parser over it with the signatures as PyTorch prints
them, and returns the TypeError PyTorch raises -- or None when PyTorch's parser accepts the
arguments (the op's own error is then the right one).

>>> import gradlens_core as torch
>>> parser_error("add", (torch.ones(2), "a"), {})
TypeError("add(): argument 'other' (position 2) must be Tensor, not str")
>>> str(parser_error("pow", (torch.ones(2), None), {})).splitlines()[0]
'pow() received an invalid combination of arguments - got (Tensor, NoneType), but expected one of:'
"""

from __future__ import annotations

import dis
import functools
import numbers
import os
import sys
import types

import numpy as np

__all__ = [
    "parser_error",
    "param_index",
    "refuse",
    "refuse_given",
    "refuse_extra",
    "warn_deprecated",
    "entry",
    "NotATensor",
    "MISSING",
]


class NotATensor(TypeError):
    """An op's operand that is neither a tensor nor a number (a list, a string, None): PyTorch's
    parser refuses it, so the op stops before converting it (see ``parser_error``)."""


# a factory's keyword arguments, as PyTorch's signatures end
_FACTORY = "ScalarType? dtype = None, Layout? layout = None, Device? device = None, bool pin_memory = False, bool requires_grad = False"

# The signatures as PyTorch lists them in its error (``?``: may be None; ``!`` before a
# signature: hidden, a deprecated overload that is tried but never listed).
_SIGNATURES = {
    "add": (
        "Tensor input, Tensor other, *, Number alpha = 1, Tensor out = None",
        "!Tensor input, Number alpha, Tensor other, *, Tensor out = None",
    ),
    "sub": (
        "Tensor input, Tensor other, *, Number alpha = 1, Tensor out = None",
        "!Tensor input, Number alpha, Tensor other, *, Tensor out = None",
    ),
    "mul": ("Tensor input, Tensor other, *, Tensor out = None",),
    "div": (
        "Tensor input, Tensor other, *, Tensor out = None",
        "Tensor input, Tensor other, *, str? rounding_mode, Tensor out = None",
        "Tensor input, Number other, *, str? rounding_mode",
    ),
    "pow": (
        "Tensor input, Tensor exponent, *, Tensor out = None",
        "Number self, Tensor exponent, *, Tensor out = None",
        "Tensor input, Number exponent, *, Tensor out = None",
    ),
    "remainder": (
        "Tensor input, Tensor other, *, Tensor out = None",
        "Number self, Tensor other",
        "Tensor input, Number other, *, Tensor out = None",
    ),
    "fmod": ("Tensor input, Tensor other, *, Tensor out = None", "Tensor input, Number other, *, Tensor out = None"),
    "fmod_": ("Tensor input, Tensor other", "Tensor input, Number other"),
    "remainder_": ("Tensor input, Tensor other", "Tensor input, Number other"),
    # in place: Tensor methods only
    "add_": ("Tensor input, Tensor other, *, Number alpha = 1", "!Tensor input, Number alpha, Tensor other"),
    "sub_": ("Tensor input, Tensor other, *, Number alpha = 1", "!Tensor input, Number alpha, Tensor other"),
    "mul_": ("Tensor input, Tensor other",),
    "floor_divide_": ("Tensor input, Tensor other", "Tensor input, Number other"),
    "pow_": ("Tensor input, Tensor exponent", "Tensor input, Number exponent"),
    "div_": (
        "Tensor input, Tensor other",
        "Tensor input, Tensor other, *, str? rounding_mode",
        "Tensor input, Number other, *, str? rounding_mode",
    ),
    # aliases list their own overloads
    "subtract": (
        "Tensor input, Tensor other, *, Number alpha = 1, Tensor out = None",
        "Tensor input, Number other, Number alpha = 1",
    ),
    "multiply": ("Tensor input, Tensor other, *, Tensor out = None", "Tensor input, Number other"),
    "divide": (
        "Tensor input, Tensor other, *, Tensor out = None",
        "Tensor input, Tensor other, *, str? rounding_mode, Tensor out = None",
        "Tensor input, Number other",
        "Tensor input, Number other, *, str? rounding_mode",
    ),
    "true_divide": ("Tensor input, Tensor other, *, Tensor out = None", "Tensor input, Number other"),
    "floor_divide": ("Tensor input, Tensor other, *, Tensor out = None", "Tensor input, Number other"),
    **{
        name: ("Tensor input, Tensor other, *, Tensor out = None", "Tensor input, Number other, *, Tensor out = None")
        for name in ("eq", "ne", "lt", "le", "gt", "ge", "less", "less_equal", "greater", "greater_equal")
    },
    "rsub": ("Tensor input, Tensor other, *, Number alpha = 1", "Tensor input, Number other, Number alpha = 1"),
    "logical_and": ("Tensor input, Tensor other, *, Tensor out = None",),
    "logical_or": ("Tensor input, Tensor other, *, Tensor out = None",),
    "where": (
        "Tensor condition",
        "Tensor condition, Tensor input, Tensor other, *, Tensor out = None",
        "Tensor condition, Number self, Tensor other",
        "Tensor condition, Tensor input, Number other",
        "Tensor condition, Number self, Number other",
    ),
    "maximum": ("Tensor input, Tensor other, *, Tensor out = None",),
    "minimum": ("Tensor input, Tensor other, *, Tensor out = None",),
    "atan2": ("Tensor input, Tensor other, *, Tensor out = None",),
    "arctan2": ("Tensor input, Tensor other, *, Tensor out = None",),
    "lerp": (
        "Tensor input, Tensor end, Tensor weight, *, Tensor out = None",
        "Tensor input, Tensor end, Number weight, *, Tensor out = None",
    ),
    "hypot": ("Tensor input, Tensor other, *, Tensor out = None",),
    "hypot_": ("Tensor input, Tensor other",),
    "masked_select": ("Tensor input, Tensor mask, *, Tensor out = None",),
    **{
        name: (
            "Tensor input, Tensor tensor1, Tensor tensor2, *, Number value = 1, Tensor out = None",
            "!Tensor input, Number value, Tensor tensor1, Tensor tensor2, *, Tensor out = None",
        )
        for name in ("addcmul", "addcdiv")
    },
    **{
        name: (
            "Tensor input, Tensor tensor1, Tensor tensor2, *, Number value = 1",
            "!Tensor input, Number value, Tensor tensor1, Tensor tensor2",
        )
        for name in ("addcmul_", "addcdiv_")
    },
    # ops of int, int-list, bool and Number arguments (PyTorch's IntArrayRef is "int[]"; "int[1]"
    # also takes a single int)
    "repeat": ("Tensor input, int[] repeats",),
    "tile": ("Tensor input, int[] dims",),
    "flip": ("Tensor input, int[] dims",),
    "permute": ("Tensor input, int[] dims",),
    "roll": ("Tensor input, int[1] shifts, int[1] dims = None",),
    "view": ("Tensor input, ScalarType dtype", "Tensor input, int[] size"),
    "reshape": ("Tensor input, int[] shape",),
    "expand": ("Tensor input, int[] size, *, bool implicit = False",),
    "kthvalue": ("Tensor input, SymInt k, int dim = -1, bool keepdim = False, *, Tensor[] out = None",),
    "topk": ("Tensor input, SymInt k, int dim = -1, bool largest = True, bool sorted = True, *, Tensor[] out = None",),
    "sort": (
        "Tensor input, *, bool stable, int dim = -1, bool descending = False, Tensor[] out = None",
        "Tensor input, int dim = -1, bool descending = False, *, Tensor[] out = None",
    ),
    "argsort": (
        "Tensor input, *, bool stable, int dim = -1, bool descending = False, Tensor out = None",
        "Tensor input, int dim = -1, bool descending = False",
    ),
    "sum": (
        "Tensor input, *, ScalarType? dtype = None",
        "Tensor input, int[1]? dim, bool keepdim = False, *, ScalarType? dtype = None, Tensor out = None",
    ),
    "mean": (
        "Tensor input, *, ScalarType? dtype = None, Tensor out = None",
        "Tensor input, int[1]? dim, bool keepdim = False, *, ScalarType? dtype = None, Tensor out = None",
    ),
    **{
        name: ("Tensor input, int[1] dim = [], bool keepdim = False, *, Tensor out = None",)
        for name in ("amax", "amin")
    },
    **{
        name: ("Tensor input, int? dim = None, bool keepdim = False, *, Tensor out = None",)
        for name in ("argmax", "argmin")
    },
    **{
        name: ("Tensor input, int dim, *, ScalarType? dtype = None, Tensor out = None",)
        for name in ("cumsum", "cumprod")
    },
    **{
        name: ("Tensor input, int dim, ScalarType? dtype = None, *, Tensor out = None",)
        for name in ("softmax", "log_softmax")
    },
    "median": ("Tensor input", "Tensor input, int dim, bool keepdim = False, *, Tensor[] out = None"),
    **{name: ("Tensor input, int dim, *, Tensor[] out = None",) for name in ("cummax", "cummin")},
    "aminmax": ("Tensor input, *, int? dim = None, bool keepdim = False, Tensor[] out = None",),
    "transpose": ("Tensor input, int dim0, int dim1",),
    "swapaxes": ("Tensor input, int axis0, int axis1",),
    "swapdims": ("Tensor input, int dim0, int dim1",),
    "unsqueeze": ("Tensor input, int dim",),
    "squeeze": ("Tensor input", "Tensor input, int dim", "Tensor input, int[] dim"),
    "select": ("Tensor input, int dim, SymInt index",),
    "narrow": (
        "Tensor input, int dim, Tensor start, SymInt length",
        "Tensor input, int dim, SymInt start, SymInt length",
    ),
    "chunk": ("Tensor input, int chunks, int dim = 0",),
    # Tensor.split (Python) calls these as functions, dim positional
    "split": ("Tensor input, int split_size, int dim = 0", "Tensor input, int[] split_size, int dim = 0"),
    "split_with_sizes": ("Tensor input, int[] split_sizes, int dim = 0",),
    "prod": (
        "Tensor input, *, ScalarType? dtype = None",
        "Tensor input, int dim, bool keepdim = False, *, ScalarType? dtype = None, Tensor out = None",
    ),
    **{
        name: (
            "Tensor input, *, Tensor out = None",
            "Tensor input, int[1]? dim = None, bool keepdim = False, *, Tensor out = None",
            "Tensor input, int dim, bool keepdim = False, *, Tensor out = None",
        )
        for name in ("any", "all")
    },
    **{
        name: (
            "Tensor input, int[1]? dim, bool unbiased = True, bool keepdim = False, *, Tensor out = None",
            "Tensor input, int[1]? dim = None, *, Number? correction = None, bool keepdim = False, Tensor out = None",
            "Tensor input, bool unbiased = True",
        )
        for name in ("var", "std")
    },
    "logsumexp": ("Tensor input, int[1] dim, bool keepdim = False, *, Tensor out = None",),
    "cross": ("Tensor input, Tensor other, int? dim = None, *, Tensor out = None",),
    "index_select": ("Tensor input, int dim, Tensor index, *, Tensor out = None",),
    "gather": ("Tensor input, int dim, Tensor index, *, bool sparse_grad = False, Tensor out = None",),
    "scatter": tuple(
        f"Tensor input, int dim, Tensor index, {what}, *, {reduce}Tensor out = None"
        for what in ("Tensor src", "Number value")
        for reduce in ("", "str reduce, ")
    ),
    "scatter_add": ("Tensor input, int dim, Tensor index, Tensor src, *, Tensor out = None",),
    "scatter_": tuple(
        f"Tensor input, int dim, Tensor index, {what}{reduce}"
        for what in ("Tensor src", "Number value")
        for reduce in ("", ", *, str reduce")
    ),
    "scatter_add_": ("Tensor input, int dim, Tensor index, Tensor src",),
    "index_add_": ("Tensor input, int dim, Tensor index, Tensor source, *, Scalar alpha = 1",),
    "index_add": ("Tensor input, int dim, Tensor index, Tensor source, *, Scalar alpha = 1, Tensor out = None",),
    **{
        name: ("Tensor input, int source, int destination", "Tensor input, int[] source, int[] destination")
        for name in ("movedim", "moveaxis")
    },
    "round": ("Tensor input, *, Tensor out = None", "Tensor input, *, int decimals, Tensor out = None"),
    "round_": ("Tensor input", "Tensor input, *, int decimals"),
    "unbind": ("Tensor input, int dim = 0",),
    "cat": ("Tensor[] tensors, int dim = 0, *, Tensor out = None",),
    "concat": ("Tensor[] tensors, int dim = 0, *, Tensor out = None",),
    "stack": ("Tensor[] tensors, int dim = 0, *, Tensor out = None",),
    **{name: ("Tensor input, int diagonal = 0, *, Tensor out = None",) for name in ("tril", "triu", "diag")},
    **{name: ("Tensor input, int diagonal = 0",) for name in ("tril_", "triu_")},
    **{
        name: (
            "Tensor input, Tensor? min = None, Tensor? max = None, *, Tensor out = None",
            "Tensor input, Number? min = None, Number? max = None, *, Tensor out = None",
        )
        for name in ("clamp", "clip")
    },
    **{
        name: (
            "Tensor input, Tensor? min = None, Tensor? max = None",
            "Tensor input, Number? min = None, Number? max = None",
        )
        for name in ("clamp_", "clip_")
    },
    "clamp_min": ("Tensor input, Tensor min, *, Tensor out = None", "Tensor input, Number min, *, Tensor out = None"),
    "clamp_max": ("Tensor input, Tensor max, *, Tensor out = None", "Tensor input, Number max, *, Tensor out = None"),
    **{
        name: (
            "Tensor input, Tensor other, *, Tensor out = None",
            "Number self, Tensor other",
            "Tensor input, Number other, *, Tensor out = None",
        )
        for name in ("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift")
    },
    **{
        name: ("Tensor input, Tensor other", "Tensor input, Number other")
        for name in ("bitwise_and_", "bitwise_or_", "bitwise_xor_", "bitwise_left_shift_", "bitwise_right_shift_")
    },
    "bitwise_not": ("Tensor input, *, Tensor out = None",),
    **{
        name: (
            "Tensor input, *, Tensor out = None",
            "Tensor input, Tensor other, *, Tensor out = None",
            "Tensor input, int dim, bool keepdim = False, *, Tensor[] out = None",
        )
        for name in ("max", "min")
    },
    "flatten": ("Tensor input, int start_dim = 0, int end_dim = -1",),
    "unflatten": ("Tensor input, int dim, int[] sizes",),
    "nonzero": ("Tensor input, *, bool as_tuple = False, Tensor out = None",),
    **{name: ("Tensor input, Tensor value", "Tensor input, Number value") for name in ("fill", "fill_")},
    **{
        name: ("Tensor input, Tensor mask, Tensor value", "Tensor input, Tensor mask, Number value")
        for name in ("masked_fill", "masked_fill_")
    },
    **{
        f"{name}_": (f"Tensor input, Tensor {bound}", f"Tensor input, Number {bound}")
        for name, bound in (("clamp_min", "min"), ("clamp_max", "max"))
    },
    # the in-place index ops (``_index_ops``)
    "put_": ("Tensor input, Tensor index, Tensor source, bool accumulate = False",),
    "index_fill_": (
        "Tensor input, int dim, Tensor index, Tensor value",
        "Tensor input, int dim, Tensor index, Number value",
    ),
    "index_copy_": ("Tensor input, int dim, Tensor index, Tensor source",),
    "masked_scatter_": ("Tensor input, Tensor mask, Tensor source",),
    "fill_diagonal_": ("Tensor input, Number fill_value, bool wrap = False",),
    # ops whose out= error lists their signatures (the factories' keyword arguments included)
    **{
        name: (
            "Tensor input, Tensor mat2, *, Tensor out = None",
            "Tensor input, Tensor mat2, ScalarType out_dtype, *, Tensor out = None",
        )
        for name in ("mm", "bmm")
    },
    "addmm": (
        "Tensor input, Tensor mat1, Tensor mat2, *, Number beta = 1, Number alpha = 1, Tensor out = None",
        "Tensor input, Tensor mat1, Tensor mat2, ScalarType out_dtype, *, Number beta = 1, Number alpha = 1, "
        "Tensor out = None",
    ),
    "baddbmm": (
        "Tensor input, Tensor batch1, Tensor batch2, *, Number beta = 1, Number alpha = 1, Tensor out = None",
        "Tensor input, Tensor batch1, Tensor batch2, ScalarType out_dtype, *, Number beta = 1, Number alpha = 1, "
        "Tensor out = None",
    ),
    "float_power": (
        "Tensor input, Tensor exponent, *, Tensor out = None",
        "Number self, Tensor exponent, *, Tensor out = None",
        "Tensor input, Number exponent, *, Tensor out = None",
    ),
    "normal": (
        "Tensor mean, Tensor std, *, Generator generator = None, Tensor out = None",
        "Tensor mean, float std = 1, *, Generator generator = None, Tensor out = None",
        "float mean, Tensor std, *, Generator generator = None, Tensor out = None",
        f"float mean, float std, int[] size, *, Generator generator = None, Tensor out = None, {_FACTORY}",
    ),
    "bernoulli": (
        "Tensor input, *, Generator generator = None, Tensor out = None",
        "Tensor input, float p, *, Generator generator = None",
    ),
    "arange": (
        f"Number end, *, Tensor out = None, {_FACTORY}",
        f"Number start, Number end, *, {_FACTORY}",
        f"Number start, Number end, Number step = 1, *, Tensor out = None, {_FACTORY}",
    ),
    "full": (f"int[] size, Number fill_value, *, Tensor out = None, {_FACTORY}",),  # (its names= overload aside)
    "eye": (f"int n, *, Tensor out = None, {_FACTORY}", f"int n, int m, *, Tensor out = None, {_FACTORY}"),
    "linspace": tuple(
        f"{a} start, {b} end, int steps, *, Tensor out = None, {_FACTORY}"
        for a, b in (("Tensor", "Tensor"), ("Number", "Tensor"), ("Tensor", "Number"), ("Number", "Number"))
    ),
    **{
        name: (
            f"int[] size, *, Generator generator, Tensor out = None, {_FACTORY}",
            f"int[] size, *, Tensor out = None, {_FACTORY}",
        )
        for name in ("rand", "randn")
    },
    "randint": tuple(
        f"{first}int[] size, *, {gen}Tensor out = None, {_FACTORY}"
        for first in ("int high, ", "int low, int high, ")
        for gen in ("Generator generator, ", "")
    ),
    "randperm": (
        f"int n, *, Generator generator, Tensor out = None, {_FACTORY}",
        f"int n, *, Tensor out = None, {_FACTORY}",
    ),
    # what Tensor.norm calls with a number p (its TypeError names linalg_vector_norm's arguments)
    "linalg_vector_norm": (
        "Tensor input, Number ord = 2, int[1]? dim = None, bool keepdim = False, *, ScalarType? dtype = None, "
        "Tensor out = None",
    ),
    # in-place ops of the tensor alone (their Tensor methods take nothing: CPython's METH_NOARGS)
    **{
        name: ("Tensor input",)
        for name in ("abs_", "bitwise_not_", "ceil_", "cos_", "detach_", "erf_", "exp_", "expm1_", "floor_", "log_")
        + ("neg_", "relu_", "sigmoid_", "sin_", "sqrt_", "tanh_", "zero_")
        + ("log2_", "log10_", "atan_", "arctan_", "rsqrt_")
        + ("sinh_", "cosh_", "asin_", "acos_", "arcsin_", "arccos_", "tan_", "exp2_", "frac_", "square_", "sign_")
        + ("reciprocal_",)
    },
    "logit_": ("Tensor input, float? eps = None",),
    "nan_to_num_": ("Tensor input, float? nan = None, float? posinf = None, float? neginf = None",),
    "logical_xor_": ("Tensor input, Tensor other",),
    "float_power_": ("Tensor input, Tensor exponent", "Tensor input, Number exponent"),
    "lerp_": ("Tensor input, Tensor end, Tensor weight", "Tensor input, Tensor end, Number weight"),
    # (copy_ takes a number as a tensor; its hidden overload is not known here)
    "t": ("Tensor input",),
    # ops of the tensor alone (their Tensor methods take nothing: CPython's METH_NOARGS)
    **{
        name: ("Tensor input, *, Tensor out = None",)
        for name in ("abs", "absolute", "ceil", "cos", "erf", "exp", "expm1", "floor", "log", "log1p", "neg")
        + ("negative", "sgn", "sigmoid", "sign", "sin", "sqrt", "tanh", "trunc")
        + ("log2", "log10", "atan", "arctan", "rsqrt")
        + ("sinh", "cosh", "asin", "acos", "arcsin", "arccos", "tan", "exp2")
    },
    "relu": ("Tensor input",),
    "matmul": ("Tensor input, Tensor other, *, Tensor out = None",),
    "isclose": ("Tensor input, Tensor other, float rtol = 1e-05, float atol = 1e-08, bool equal_nan = False",),
    "expand_as": ("Tensor input, Tensor other",),
    "copy_": ("Tensor input, Tensor other, bool non_blocking = False", "!Tensor input, Tensor other, bool async"),
    "uniform_": ("Tensor input, float from = 0, float to = 1, *, Generator? generator = None",),
    "normal_": ("Tensor input, float mean = 0, float std = 1, *, Generator? generator = None",),
    "bernoulli_": (
        "Tensor input, Tensor p, *, Generator? generator = None",
        "Tensor input, float p = 0.5, *, Generator? generator = None",
    ),
    "index_put_": ("Tensor input, Tensor[] indices, Tensor values, bool accumulate = False",),
}

# Tensor methods whose signatures are not the function's without ``input`` and ``out``
_METHOD_SIGNATURES = {
    "nonzero": ("Tensor input", "Tensor input, *, bool as_tuple"),
    "mm": ("Tensor input, Tensor mat2",),  # (out_dtype overloads: functions only)
    "bmm": ("Tensor input, Tensor mat2",),
}


# ops whose Tensor arguments take Python numbers (PyTorch's should_allow_numbers_as_tensors)
_NUMBERS_AS_TENSORS = frozenset(
    ("add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "floor_divide")
    + ("add_", "sub_", "mul_", "div_", "copy_")
)


def _is_number(x) -> bool:
    return isinstance(x, (numbers.Number, np.number, np.bool_)) and not hasattr(x, "_data")


def _is_tensor(x) -> bool:
    from ._tensor import Tensor

    return isinstance(x, Tensor)


# how PyTorch's error texts name a parameter's type
_TYPE_TEXT = {
    "int[]": "tuple of ints",
    "ScalarType": "torch.dtype",
    "Generator": "torch.Generator",
    "Tensor[]": "tuple of Tensors",
    "SymInt": "int",
    "Dimname": "name",
    "Dimname[]": "tuple of names",
    "Layout": "torch.layout",
    "Device": "torch.device",
}


def _is_int(x) -> bool:
    """PyTorch's THPUtils_checkLong, or a 0-d integer tensor (an ``int`` parameter takes it)."""
    if isinstance(x, (int, np.integer)):
        return not isinstance(x, bool)
    return _is_tensor(x) and x.ndim == 0 and x._data.dtype.kind in "iu"


def _is_index(x) -> bool:
    """PyTorch's THPUtils_checkIndex (a SymInt parameter, an int list's element): an int, or
    what ``__index__`` reads as one, such as a 0-d integer numpy array (not a bool)."""
    return _is_int(x) or (x.__class__ is np.ndarray and x.ndim == 0 and x.dtype.kind in "iu")


def _is_int_element(x) -> bool:
    """An element of an int list as PyTorch unpacks it: a bool counts, so does an integer tensor
    of one element, or a 0-d integer numpy array (its ``__index__``)."""
    if isinstance(x, (int, np.integer)) or _is_index(x):
        return True
    return _is_tensor(x) and x._data.size == 1 and x._data.dtype.kind in "iu"


class _Param:
    __slots__ = ("type", "name", "nullable", "optional", "keyword_only", "text", "numbers_as_tensors", "size")

    def __init__(self, text: str, keyword_only: bool, numbers_as_tensors: bool) -> None:
        self.numbers_as_tensors = numbers_as_tensors
        decl, _, default = text.partition(" = ")
        type_, name = decl.split(" ")
        self.nullable = type_.endswith("?") or default == "None"
        type_ = type_.rstrip("?")
        # int[N]: a list of ints, or (N > 0) a single int standing for N of them
        self.size = int(type_[4:-1]) if type_.startswith("int[") and type_ != "int[]" else 0
        self.type = "int[]" if type_.startswith("int[") else type_
        self.name = name
        self.optional = bool(default)
        self.keyword_only = keyword_only
        self.text = f"{_TYPE_TEXT.get(self.type, self.type)} {name}" + (f" = {default}" if default else "")

    def refusal(self, x) -> str | None:
        """FunctionParameter::check: None if ``x`` is accepted, else the end of the error text
        ("not float", or for a list "but found element of type float at pos 0")."""
        if (x is None and self.nullable) or self._accepts(x):
            return None
        if self.type in ("int[]", "Dimname[]") and isinstance(x, (list, tuple)):
            return f"but found element of type {_type_name(x[0])} at pos 0"
        return f"not {_type_name(x)}"

    def _accepts(self, x) -> bool:
        kind = self.type
        if kind == "Tensor":
            return _is_tensor(x) or (self.numbers_as_tensors and _is_number(x))
        if kind in ("Number", "float"):
            return _is_number(x) or (_is_tensor(x) and x.ndim == 0 and not x.requires_grad)
        if kind == "int":
            return _is_int(x)
        if kind == "SymInt":
            return _is_index(x)
        if kind == "int[]":
            if isinstance(x, (list, tuple)):  # the parser looks at the first element only
                return not x or _is_index(x[0])
            return self.size > 0 and _is_int(x)
        if kind == "bool":
            return isinstance(x, bool)
        if kind in ("str", "Dimname"):
            return isinstance(x, str)
        if kind == "Dimname[]":
            return isinstance(x, (list, tuple)) and (not x or isinstance(x[0], str))
        if kind == "Tensor[]":  # the op names a wrong element itself ("expected Tensor as element 1 ...")
            return isinstance(x, (list, tuple))
        if kind == "ScalarType":
            return type(x).__name__ == "dtype"
        if kind == "Generator":
            return type(x).__name__ == "Generator"
        return True

    def unpack_error(self, x) -> str | None:
        """The error of PythonArgs::intlist for an accepted list: an element after the first
        that is no int ("failed to unpack the object at pos 2 ...")."""
        if self.type != "int[]" or not isinstance(x, (list, tuple)):
            return None
        for i, e in enumerate(x):
            if not _is_int_element(e):
                return (
                    f"argument '{self.name}' failed to unpack the object at pos {i + 1} with error "
                    f'"type must be tuple of ints,but got {_type_name(e)}"'
                )
        return None


class _Signature:
    def __init__(self, name: str, text: str, method: bool) -> None:
        self.hidden = text.startswith("!")
        params, keyword_only = [], False
        for part in text.lstrip("!").split(", "):
            if part == "*":
                keyword_only = True
            elif part:
                params.append(_Param(part, keyword_only, name in _NUMBERS_AS_TENSORS))
        if method:  # self is the tensor; Tensor methods take no out=
            params = [p for p in params[1:] if p.name != "out"]
        self.name = name
        self.params = params
        self.max_positional = sum(not p.keyword_only for p in params)
        self.min_args = sum(not p.optional for p in params)
        self.text = _signature_text(params)
        # a single positional int list takes its ints as varargs too: view(2, 3), permute(1, 0)
        self.varargs = self.max_positional == 1 and params[0].type == "int[]"

    def _positional(self, args: tuple) -> tuple:
        """``args`` as the parser binds them: varargs ints packed into the int list (when the
        first is an int and the list parameter does not take it alone)."""
        if self.varargs and args and _is_index(args[0]) and (len(args) > 1 or self.params[0].size == 0):
            return (tuple(args),)
        return args

    def error(self, args, kwargs) -> TypeError | None:
        """FunctionSignature::parse: the first thing wrong with the call, or None."""
        name = self.name
        args = self._positional(args)
        if len(args) > self.max_positional:
            n, given = self.max_positional, len(args)
            if self.min_args != n:
                return TypeError(
                    f"{name}() takes from {self.min_args} to {n} positional arguments but {given} were given"
                )
            return TypeError(
                f"{name}() takes {n} positional argument{'' if n == 1 else 's'} but {given} "
                f"{'was' if given == 1 else 'were'} given"
            )
        used = 0  # keyword arguments taken by a parameter
        for i, p in enumerate(self.params):
            positional = i < len(args)
            if not positional and p.name not in kwargs:
                if p.optional:
                    continue
                return self._missing(i)
            value = args[i] if positional else kwargs[p.name]
            used += not positional
            refusal = p.refusal(value)
            if refusal is not None:
                where = f" (position {i + 1})" if positional else ""
                return TypeError(
                    f"{name}(): argument '{p.name}'{where} must be {_TYPE_TEXT.get(p.type, p.type)}, {refusal}"
                )
            # is_tensor_list's check raises, element by element (an ``out`` tuple's: ``_out`` says it)
            if p.type == "Tensor[]" and p.name != "out" and value is not None:
                bad = next(((j, e) for j, e in enumerate(value) if not _is_tensor(e)), None)
                if bad is not None:
                    return TypeError(
                        f"expected Tensor as element {bad[0]} in argument {i}, but got {_type_name(bad[1])}"
                    )
        if used < len(kwargs):  # extra_kwargs: the first keyword no parameter took, in the call's order
            names = [p.name for p in self.params]
            for key in kwargs:
                if key not in names:
                    return TypeError(f"{name}() got an unexpected keyword argument '{key}'")
                if names.index(key) < len(args):
                    return TypeError(f"{name}() got multiple values for argument '{key}'")
        return None

    def _missing(self, i: int) -> TypeError:
        """missing_args: every required parameter from the first missing one on (given or not),
        with PyTorch's plural ("1 required positional arguments", "2 ... argument")."""
        missing = [f'"{p.name}"' for p in self.params[i:] if not p.optional]
        n = len(missing)
        return TypeError(
            f"{self.name}() missing {n} required positional argument{'s' if n == 1 else ''}: " + ", ".join(missing)
        )

    def unpack_error(self, args, kwargs) -> TypeError | None:
        """After the signature matched: an int list the parser cannot unpack, or None."""
        args = self._positional(args)
        for i, p in enumerate(self.params):
            value = args[i] if i < len(args) else kwargs.get(p.name)
            text = p.unpack_error(value)
            if text is not None:
                return TypeError(f"{self.name}(): {text}")
        return None


def _signature_text(params) -> str:
    parts, starred = [], False
    for p in params:
        if p.keyword_only and not starred:
            parts.append("*")
            starred = True
        parts.append(p.text)
    return ", ".join(parts)


# classes CPython names with their module, as PyTorch's C types are named (``torch.dtype``)
_TORCH_TYPES = frozenset(("dtype", "Size", "device", "layout"))


def _type_name(x) -> str:
    cls = type(x)
    if cls.__module__.startswith("gradlens_core") and cls.__name__ in _TORCH_TYPES:
        return f"torch.{cls.__name__}"
    if cls.__module__ == "builtins" or cls.__module__.startswith("gradlens_core"):
        return cls.__name__
    return f"{cls.__module__}.{cls.__name__}"


@functools.cache
def _overloads(name: str, method: bool) -> tuple:
    texts = _METHOD_SIGNATURES.get(name, _SIGNATURES[name]) if method else _SIGNATURES[name]
    if method:  # the tensor is self: overloads whose first argument is a number have no method
        texts = tuple(t for t in texts if t.lstrip("!").startswith("Tensor "))
    return tuple(_Signature(name, t, method) for t in texts)


def parser_error(name: str, args: tuple, kwargs: dict, method: bool = False, owner="Tensor") -> TypeError | None:
    """The TypeError PyTorch's parser raises for ``torch.<name>(*args, **kwargs)`` (or, with
    ``method``, for ``tensor.<name>(*args, **kwargs)``: ``args`` without the tensor), or None
    when one of the op's signatures accepts the call. (``owner``: the class CPython names a
    method of the tensor alone by, see ``_method_owner``.)"""
    sigs = _overloads(name, method)
    if method and not any(s.params for s in sigs):  # a method of self alone: CPython's METH_NOARGS
        if kwargs:
            return TypeError(f"{owner}.{name}() takes no keyword arguments")
        return TypeError(f"{owner}.{name}() takes no arguments ({len(args)} given)") if args else None
    if len(sigs) == 1:
        return sigs[0].error(args, kwargs) or sigs[0].unpack_error(args, kwargs)
    for s in sigs:  # the first signature that takes the call unpacks it
        if s.error(args, kwargs) is None:
            return s.unpack_error(args, kwargs)
    # PythonArgParser::print_error: a single plausible signature (by the number of
    # arguments) names the argument; otherwise format_invalid_args describes the call
    n = len(args) + len(kwargs)
    plausible = [s for s in sigs if not s.hidden and s.min_args <= n <= len(s.params)]
    if len(plausible) == 1:
        return plausible[0].error(args, kwargs)
    return TypeError(_invalid_args(name, args, kwargs, [s.text for s in sigs if not s.hidden]))


def _invalid_args(name: str, args: tuple, kwargs: dict, options: list) -> str:
    """torch::format_invalid_args (invalid_arguments.cpp): the call's argument types against
    the signatures PyTorch lists, each re-read by its own simple parser (``_Option``). The
    keywords are shown as its std::unordered_map holds them: the last given first."""
    kwargs = dict(reversed(kwargs.items()))
    head = f"{name}() received an invalid combination of arguments - got"
    if len(options) == 1:
        option = _Option(options[0])
        unmatched = option.unmatched(kwargs)
        if unmatched:
            return f"{head} unrecognized keyword arguments: " + ", ".join(unmatched)
        got = option.marked(args, kwargs) if option.takes(args, kwargs) else _arg_desc(args, kwargs)
        return f"{head} {got}, but expected ({options[0]})"
    lines = [f"{head} {_arg_desc(args, kwargs)}, but expected one of:"]
    for text in options:
        lines.append(f" * ({text})")
        option = _Option(text)
        if option.takes(args, kwargs):
            unmatched = option.unmatched(kwargs)
            if unmatched:
                lines.append("      didn't match because some of the keywords were incorrect: " + ", ".join(unmatched))
            else:
                lines.append(
                    "      didn't match because some of the arguments have invalid types: "
                    + option.marked(args, kwargs)
                )
    return "\n".join(lines) + "\n"


def _arg_desc(args: tuple, kwargs: dict) -> str:
    # _argDesc: each type followed by ", ", the last ", " cut only when a positional came first
    items = "".join(f"{_arg_type_name(a)}, " for a in args) + "".join(
        f"{k}={_arg_type_name(v)}, " for k, v in kwargs.items()
    )
    return f"({items[:-2] if args else items})"


class _Option:
    """A signature as invalid_arguments.cpp's _parseOption reads it back from its text: split
    at ", ", each part's last word its name, the rest its type ("*" and "Number alpha = 1",
    whose name is "1", are arguments too)."""

    def __init__(self, text: str) -> None:
        self.args = []
        for part in text.split(", "):
            type_, _, arg_name = part.rpartition(" ")
            self.args.append((type_ or part, arg_name))

    def takes(self, args, kwargs) -> bool:
        """_argcountMatch."""
        return len(args) + len(kwargs) == len(self.args)

    def unmatched(self, kwargs) -> list:
        """_tryMatchKwargs: the keywords not among the last ``len(kwargs)`` arguments' names."""
        names = [n for _, n in self.args[max(len(self.args) - len(kwargs), 0) :]]
        return [k for k in kwargs if k not in names]

    def marked(self, args, kwargs) -> str:
        """_formattedArgDesc: the call's argument types, each not matching its argument's type
        between "!"s (colours on a terminal, which a test does not have)."""
        parts = []
        keywords = list(kwargs.items())
        for i in range(len(args) + len(kwargs)):
            if i < len(args):
                label, value = "", args[i]
            else:
                key = self.args[i][1]
                label, value = (key, kwargs[key]) if key in kwargs else keywords[i - len(args)]
                label += "="
            text = label + _described(value)
            parts.append(text if _type_matches(self.args[i][0], value) else f"!{text}!")
        items = "".join(f"{p}, " for p in parts)
        return f"({items[:-2] if args else items})"


def param_index(name: str, args: tuple, kwargs: dict, param: str) -> int | None:
    """The position of ``param`` in the first signature of ``name`` that takes the call (the
    argument number some of PyTorch's errors give: "expected Tensor as element 1 in argument 3")."""
    for s in _overloads(name, False):
        if s.error(args, kwargs) is None:
            return next((i for i, p in enumerate(s.params) if p.name == param), None)
    return None


def _arg_type_name(x) -> str:
    return "Tensor" if type(x).__name__ == "Tensor" else _type_name(x)


def _described(x) -> str:
    if isinstance(x, (list, tuple)):
        inner = ", ".join(_arg_type_name(e) for e in x)
        if isinstance(x, tuple):
            return f"tuple of ({inner}{',' if len(x) == 1 else ''})"
        return f"list of [{inner}]"
    return _arg_type_name(x)


def _type_matches(type_text: str, x) -> bool:
    """SimpleType/MultiType::is_matching: the Python type's name is the argument's type ("float"
    also takes an int, as PyTorch's legacy parser reads it)."""
    name = _arg_type_name(x)
    if type_text == "float":
        return name in ("float", "int")
    return name == type_text


class _Missing:
    """An argument the call left out: the default of an op's required parameter, so that the
    call reaches the op's failure path, whose parser replay names what is missing."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


MISSING = _Missing()


def refuse_unless(well_formed: bool, call: tuple, args: tuple, unknown=None) -> None:
    """An op's first check: unless ``well_formed`` (no extra or unknown arguments, the right
    types), raise the parser's error for the call (see ``refuse``), or ``NotATensor``."""
    if not well_formed:
        refuse(call, args, unknown)
        raise NotATensor(args)


def refuse(call: tuple, args: tuple, unknown=None, /, **given) -> None:
    """In an op's ``except`` block: raise PyTorch's parser error if its parser refuses the call.

    ``call`` is the op's hidden ``_call`` argument, (torch's name, whether called as a Tensor
    method; see ``entry``); ``args`` the positional arguments, the tensor first, ``MISSING``
    where the call left one out (those after it came by keyword); ``unknown`` the keywords
    the op has no parameter for (its ``**unknown``); ``given`` the keyword arguments as
    ``name=(value, default)`` (a default value counts as not given).
    Returns if the parser accepts the call: the op's own error stands.

    >>> refuse(("mul_", True), (None, MISSING))
    Traceback (most recent call last):
    TypeError: mul_() missing 1 required positional arguments: "other"
    """
    name, method = call
    kwargs = {}
    n = next((i for i, a in enumerate(args) if a is MISSING), None)
    if n is not None:  # the arguments from the first one given by keyword on are keywords
        names = [p.name for p in _overloads(name, method)[0].params]
        start = 1 if method else 0
        keywords = call_keywords(sys._getframe(1)) or ()
        n = next((i for i in range(start, n) if names[i - start] in keywords), n)
        kwargs = {names[i - start]: a for i, a in enumerate(args[n:], n) if a is not MISSING}
        args = args[:n]
    kwargs.update((k, v) for k, (v, default) in given.items() if not (type(v) is type(default) and v == default))
    kwargs.update(unknown or ())
    noargs = method and not any(s.params for s in _overloads(name, method))  # (CPython names the class)
    owner = _method_owner(sys._getframe(1), name, args[0]) if noargs else None
    error = parser_error(name, args[1:] if method else args, kwargs, method, owner)
    if error is not None:
        raise error from None


def warn_deprecated(call: tuple) -> None:
    """PyTorch's warning for a call its parser matched to an op's deprecated overload (``!`` in
    ``_SIGNATURES``: ``x.add_(2, y)`` for ``x.add_(y, alpha=2)``), once per process for every
    op (a single TORCH_WARN_ONCE) unless warn-always."""
    from ._warn import warn_once

    name, method = call
    sigs = _overloads(name, method)
    message = f"This overload of {name} is deprecated:\n\t{name}({next(s for s in sigs if s.hidden).text})"
    shown = [f"\n\t{name}({s.text})" for s in sigs if not s.hidden]
    if shown:
        message += "\nConsider using one of the following signatures instead:" + "".join(shown)
    warn_once(message, stacklevel=None, key="deprecated overload")  # (the user's line: torch.add is wrapped for out=)


def refuse_extra(call: tuple, args: tuple, extra: tuple, unknown: dict, optional=(), /, **given) -> None:
    """``refuse`` for a call an op took into its catch-alls (``*extra``, ``**unknown``), which
    PyTorch's parser refuses, or whose arguments it may refuse (no tensor, a list, ...: it
    returns if the parser accepts them). ``args``, the tensor first, end with the optional
    parameters ``optional`` names as (name, default) pairs: by position when ``extra`` follows
    them, else read as ``refuse_given`` reads them."""
    if extra:
        refuse(call, (*args, *extra), unknown, **given)
    else:
        refuse_given(call, args, optional, unknown, **given)
    if extra or unknown:  # (were the parser to accept them)
        raise TypeError(f"{call[0]}() got unexpected arguments")


def refuse_given(call: tuple, args: tuple, optional: tuple, unknown=None, /, **given) -> None:
    """``refuse`` for an op whose optional parameters may come by position or by keyword: ``args``,
    the tensor first, end with the parameters ``optional`` names as (name, default) pairs
    (``unknown``: as ``refuse``'s).

    Which of them came by keyword is read from the user's call (``call_keywords``); those not
    given at all sit at their defaults. Where the call cannot be read (``f(**kwargs)``), the
    first one at its default ends the positional ones (a later value was given by keyword)."""
    first = len(args) - len(optional)
    keywords = call_keywords(sys._getframe(1))
    n = first
    if keywords is None:
        while n < len(args) and not _at_default(args[n], optional[n - first][1]):
            n += 1
    else:
        while n < len(args) and optional[n - first][0] not in keywords:
            n += 1
        while n > first and _at_default(args[n - 1], optional[n - 1 - first][1]):
            n -= 1  # left out, not given
    for value, (name, default) in zip(args[n:], optional[n - first :]):
        given[name] = (value, default)
    refuse(call, args[:n], unknown, **given)


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def call_keywords(frame):
    """The keyword names passed by the call that entered ``frame`` (through any frames of this
    package: the first caller outside it), read from the caller's bytecode at the call it is
    making; None when they cannot be read (a call with ``**kwargs``, or a Python whose call
    bytecode is not known here). Only a refused call pays for this.

    >>> def f(*args, **kwargs):
    ...     return call_keywords(sys._getframe())
    >>> sorted(f(1, dim=0, keepdim=True))
    ['dim', 'keepdim']
    """
    f = _user_frame(frame)
    return None if f is None else _keywords_at(f.f_code, f.f_lasti)


def _user_frame(frame):
    """The first frame before ``frame`` outside this package: the user's call."""
    f = frame.f_back
    while f is not None and f.f_code.co_filename.startswith(_PACKAGE):
        f = f.f_back
    return f


def _method_owner(frame, name: str, self) -> str:
    """How CPython names a method of the tensor alone in its TypeError: ``x.exp(1)`` calls the
    method descriptor of the C class, TensorBase; a bound method (``f = x.exp; f(1)``) is
    named by self's type. Read from the user's bytecode: the last load of ``name``."""
    f = _user_frame(frame)
    if f is not None:
        for i in reversed([i for i in dis.get_instructions(f.f_code) if i.offset <= f.f_lasti]):
            if i.opname in ("LOAD_METHOD", "LOAD_ATTR") and i.argval == name:
                if i.opname == "LOAD_METHOD" or (sys.version_info >= (3, 12) and i.arg & 1):
                    return "TensorBase"
                break
    return type(self).__qualname__


def _keywords_at(code, lasti: int):
    """The keyword names of the call instruction at ``lasti`` in ``code``: Python 3.11 and 3.12
    put them in a KW_NAMES before the CALL (3.11 with a PRECALL between), 3.13 loads them as a
    constant before CALL_KW."""
    before = [i for i in dis.get_instructions(code) if i.offset <= lasti]
    if not before:
        return None
    call = before.pop()
    if call.opname == "CALL_KW":
        names = before[-1].argval if before and before[-1].opname == "LOAD_CONST" else None
        return frozenset(names) if isinstance(names, tuple) else None
    if call.opname != "CALL":
        return None  # CALL_FUNCTION_EX (``**kwargs``) or an unknown instruction
    if before and before[-1].opname == "PRECALL":
        before.pop()
    if before and before[-1].opname == "KW_NAMES":
        return frozenset(code.co_consts[before[-1].arg])
    return frozenset()


def _at_default(value, default) -> bool:
    return value is default or (type(value) is type(default) and not _is_tensor(value) and value == default)


def entry(fn, name: str, method: bool):
    """``fn`` under torch's name ``name``, or as a Tensor method: the same code with its hidden
    ``_call`` argument set, so the parser's error names the call as it was written (a second
    function object: no wrapper on the op's path). A function's tensor is named ``input``, as
    torch's functions name it (``torch.fill_(input=x, value=1)``), where the op calls it ``self``."""
    wrapped = getattr(fn, "__wrapped__", None)
    if wrapped is not None:  # an ``autograd_first`` op: its twin replays the parser as ``name``
        from ._tensor import autograd_first

        twin = autograd_first(wrapped if method else _input_named(wrapped), call=(name, method))
        twin.__qualname__ = name
        return twin
    clone = _input_named(fn) if not method else _copy(fn, fn.__code__)
    if "_call" in (fn.__kwdefaults__ or {}):
        clone.__kwdefaults__ = {**fn.__kwdefaults__, "_call": (name, method)}
    # (Python's own TypeError names the function by this: "add() got an unexpected keyword
    # argument 'foo'", as PyTorch's parser says it)
    clone.__name__ = clone.__qualname__ = name
    return clone


def _input_named(fn):
    """``fn`` with its first parameter named ``input`` if it was ``self`` (the same code, its
    first local renamed)."""
    code = fn.__code__
    if code.co_varnames[:1] == ("self",):
        code = code.replace(co_varnames=("input", *code.co_varnames[1:]))
    return _copy(fn, code)


def _copy(fn, code):
    """A second function of ``fn``'s, running ``code``."""
    clone = types.FunctionType(code, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
    clone.__kwdefaults__ = dict(fn.__kwdefaults__) if fn.__kwdefaults__ else None
    clone.__doc__ = fn.__doc__
    clone.__qualname__ = fn.__qualname__
    clone.__module__ = fn.__module__
    return clone
