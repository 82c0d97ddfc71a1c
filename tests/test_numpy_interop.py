"""Numpy arrays and scalars next to tensors, against real PyTorch.

PyTorch's operators refuse a numpy array (even a 0-d one) as their operand and return
NotImplemented: with the array on the right numpy then computes the op itself (reading the
tensor through ``__array__``, promoting as numpy does, wrapping the result with
``Tensor.__array_wrap__``); with the array on the left Python raises its TypeError, except
for ``/`` (PyTorch's ``__rdiv__`` multiplies the reciprocal by the array, with numpy) and
``==`` (which reads the array as a tensor). A numpy scalar is a number. Everything is
compared: the result's type, values, dtype and history, the error, and the warnings given
(numpy 2 warns about PyTorch's ``__array_wrap__`` signature).
"""

from __future__ import annotations

import operator
import warnings

import numpy as np
import pytest
from helpers import first_sentence

import gradlens_core


def _described(module, value):
    if isinstance(value, module.Tensor):
        node = value.grad_fn
        return (
            "Tensor",
            value.tolist(),
            str(value.dtype),
            None if node is None else type(node).__name__,
            value.requires_grad,
            value._version,
        )
    if isinstance(value, np.ndarray):
        return "ndarray", str(value.dtype), [_described(module, v) for v in value.ravel()]
    if isinstance(value, tuple):
        return tuple(_described(module, v) for v in value)
    return type(value).__name__, value


def _outcome(module, fn):
    """What ``fn(module)`` gives: its result described, or its error; and the warnings given."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = _described(module, fn(module))
        except Exception as exc:  # noqa: BLE001 - compared with torch's
            result = type(exc).__name__, first_sentence(str(exc))
    return result, [(w.category.__name__, first_sentence(str(w.message))) for w in caught]


def _assert_as_torch(fn):
    torch = pytest.importorskip("torch")
    assert _outcome(gradlens_core, fn) == _outcome(torch, fn)


OPERATORS = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "**": operator.pow,
    "&": operator.and_,
    "|": operator.or_,
    "^": operator.xor,
    "<<": operator.lshift,
    ">>": operator.rshift,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "@": operator.matmul,
}
NUMPY_OPERANDS = {
    "array_int": lambda: np.array([1, 2]),
    "array_float": lambda: np.array([1.5, 2.0]),
    "array_0d_int": lambda: np.array(3),
    "array_0d_float32": lambda: np.array(2.5, dtype=np.float32),
    "int64": lambda: np.int64(3),
    "float32": lambda: np.float32(2.5),
    "bool": lambda: np.bool_(True),  # PyTorch's parser reads it as a float
}
TENSORS = {
    "int": lambda t: t.tensor([3, 4]),
    "float": lambda t: t.tensor([1.0, 2.0]),
    "float_requires_grad": lambda t: t.tensor([1.0, 2.0], requires_grad=True),
}


@pytest.mark.parametrize("tensor", list(TENSORS))
@pytest.mark.parametrize("numpy_operand", list(NUMPY_OPERANDS))
@pytest.mark.parametrize("op", list(OPERATORS))
@pytest.mark.parametrize("numpy_first", [True, False], ids=["numpy_left", "numpy_right"])
def test_operator_with_a_numpy_operand_as_torch(op, numpy_operand, tensor, numpy_first):
    def fn(t):
        a, b = NUMPY_OPERANDS[numpy_operand](), TENSORS[tensor](t)
        return OPERATORS[op](a, b) if numpy_first else OPERATORS[op](b, a)

    _assert_as_torch(fn)


def _augmented(t, op, other):
    x = t.tensor([1, 5], dtype=t.int32)
    before = x
    if op == "+=":
        x += other
    elif op == "*=":
        x *= other
    elif op == "&=":
        x &= other
    elif op == "**=":
        x **= other
    # refused in place, the op is computed by numpy and the name rebound: the tensor is untouched
    return x, before


def _shares(array, t):
    return bool(np.shares_memory(array, t.numpy()))


def _asarray_under_no_grad(t):
    x = t.tensor([1.0, 2.0], requires_grad=True)
    with t.no_grad():
        return np.asarray(x), np.sin(x)


CASES = {
    # 0-d arrays promote as numpy's arrays do, not as tensors or numbers
    "int32_plus_0d_int64": lambda t: t.tensor([1, 5], dtype=t.int32) + np.array(2),
    "float32_times_0d_float32": lambda t: t.tensor([1.5, 2.5]) * np.array(2.5, dtype=np.float32),
    "float32_times_0d_float64": lambda t: t.tensor([1.5, 2.5]) * np.array(2.5),
    "float32_times_float64_scalar": lambda t: t.tensor([1.5, 2.5]) * np.float64(2.5),
    "int_divided_by_array": lambda t: t.tensor([1, 5]) / np.array([2, 4]),
    "array_divided_by_int": lambda t: np.array([2.0, 4.0], dtype=np.float32) / t.tensor([1, 5]),
    "bool_result_is_uint8": lambda t: t.tensor([1, 0]) & np.array([True, False]),
    "matmul_0d_result": lambda t: t.tensor([1.0, 2.0]) @ np.array([3.0, 4.0]),
    "matmul_by_number": lambda t: t.tensor([1.0, 2.0]) @ 2,
    "number_matmul": lambda t: 2 @ t.tensor([1.0, 2.0]),
    "in_place_add_0d": lambda t: _augmented(t, "+=", np.array(2)),
    "in_place_add_array": lambda t: _augmented(t, "+=", np.array([1.0, 2.0])),
    "in_place_mul_0d": lambda t: _augmented(t, "*=", np.array(2)),
    "in_place_and_0d": lambda t: _augmented(t, "&=", np.array(3)),
    "in_place_pow_array": lambda t: _augmented(t, "**=", np.array([1, 2])),
    "in_place_add_numpy_scalar": lambda t: _augmented(t, "+=", np.int64(2)),
    "array_in_place_add_tensor": lambda t: (lambda a: a.__iadd__(t.tensor([1, 2])))(np.array([1, 2])),
    "add_method_refuses": lambda t: t.tensor([1.0]).add(np.array(2.0)),
    # == reads the array as a tensor (a 0-d one does not promote); != compares identities
    "eq_array": lambda t: t.tensor([1, 2]) == np.array([1.0, 3.0]),
    "eq_array_promotes": lambda t: t.tensor([16777217]) == np.array([16777217], dtype=np.float32),
    "eq_0d_array_does_not_promote": lambda t: t.tensor([0.1]) == np.array(0.1),
    "eq_0d_array_wraps": lambda t: t.tensor([1, 2], dtype=t.int8) == np.array(258),
    "eq_array_shapes": lambda t: t.tensor([1, 2]) == np.array([1, 2, 3]),
    "eq_array_requires_grad": lambda t: t.tensor([1.0, 2.0], requires_grad=True) == np.array([1.0, 3.0]),
    "eq_string_array": lambda t: t.tensor([1, 2]) == np.array(["a", "b"]),
    "eq_object_array": lambda t: t.tensor([1, 2]) == np.array([1, 2], dtype=object),
    "ne_array": lambda t: t.tensor([1, 2]) != np.array([1, 3]),
    "eq_method": lambda t: t.tensor([1, 2]).eq(np.array([1, 3])),
    # a numpy ufunc over a tensor gives a tensor
    "ufunc": lambda t: np.sin(t.tensor([0.0, 1.0])),
    "ufunc_comparison_uint8": lambda t: np.greater(t.tensor([0.0, 1.0]), 0.5),
    "ufunc_requires_grad": lambda t: np.sin(t.tensor([0.0, 1.0], requires_grad=True)),
    # np.asarray(t) is t.numpy(): a fresh view, refused while t requires grad in grad mode
    "asarray_is_a_fresh_view": lambda t: (lambda u: (np.asarray(u) is np.asarray(u), _shares(np.asarray(u), u)))(
        t.tensor([1, 2])
    ),
    "asarray_with_dtype": lambda t: np.asarray(t.tensor([1, 2]), dtype=np.float64),
    "asarray_requires_grad": lambda t: np.asarray(t.tensor([1.0, 2.0], requires_grad=True)),
    "asarray_requires_grad_under_no_grad": _asarray_under_no_grad,
    "array_copy": lambda t: (lambda u: _shares(np.array(u, copy=True), u))(t.tensor([1, 2])),
    "array_no_copy_with_dtype": lambda t: np.array(t.tensor([1, 2]), dtype=np.int64, copy=False),
    # 0-d arrays as arguments: PyTorch's parser refuses them where it takes a tensor or a number
    "add_0d": lambda t: t.add(t.tensor([1, 5], dtype=t.int32), np.array(2)),
    "mul_0d": lambda t: t.mul(t.tensor([1.5]), np.array(2.5, dtype=np.float32)),
    "sub_0d_method": lambda t: t.tensor([1.5]).sub(np.array(2.5)),
    "pow_0d": lambda t: t.pow(t.tensor([1.5]), np.array(2.0)),
    "pow_0d_base": lambda t: t.pow(np.array(2.0), t.tensor([1.5])),
    "pow__0d": lambda t: t.tensor([1.5]).pow_(np.array(2.0)),
    "add__0d": lambda t: t.tensor([1.5]).add_(np.array(2.0)),
    "clamp_0d": lambda t: t.tensor([1.5, 2.5]).clamp(np.array(2.0)),
    "clamp_max_0d": lambda t: t.clamp(t.tensor([1.5, 2.5]), max=np.array(2.0)),
    "clamp__0d": lambda t: t.tensor([1.5, 2.5]).clamp_(np.array(2.0)),
    "where_0d": lambda t: t.where(t.tensor([True, False]), np.array(2.0), t.tensor([1.5, 2.5])),
    "where_0d_other": lambda t: t.where(t.tensor([True, False]), t.tensor([1.5, 2.5]), np.array(2.0)),
    "fill__0d": lambda t: t.tensor([1.5, 2.5]).fill_(np.array(2.0)),
    "masked_fill_0d": lambda t: t.tensor([1.5, 2.5]).masked_fill(t.tensor([True, False]), np.array(2.0)),
    "bitwise_and_0d": lambda t: t.bitwise_and(t.tensor([1, 5]), np.array(3)),
    "bitwise_and_array": lambda t: t.tensor([1, 5]).bitwise_and(np.array([3, 1])),
    "bitwise_or_list": lambda t: t.bitwise_or(t.tensor([1, 5]), [3, 1]),
    "eq_0d": lambda t: t.eq(t.tensor([1, 5]), np.array(1)),
    "maximum_0d": lambda t: t.maximum(t.tensor([1.0, 5.0]), np.array(2.0)),
    # numpy scalars are numbers
    "clamp_numpy_scalar": lambda t: t.tensor([1.5, 2.5]).clamp(np.float64(2.0)),
    "where_numpy_scalar": lambda t: t.where(t.tensor([True, False]), np.float32(2.0), t.tensor([1.5, 2.5])),
    "fill__numpy_scalar": lambda t: t.tensor([1.5, 2.5]).fill_(np.int64(2)),
    "bitwise_and_numpy_bool_is_a_float": lambda t: t.tensor([1, 5]) & np.bool_(True),
}


@pytest.mark.parametrize("name", list(CASES))
def test_numpy_argument_as_torch(name):
    _assert_as_torch(CASES[name])


ODD_ARRAYS = {
    "object": lambda: np.array([1, 2], dtype=object),
    "object_0d": lambda: np.array(5, dtype=object),
    "strings": lambda: np.array(["a", "b"]),
    "masked": lambda: np.ma.array([1, 2], mask=[0, 1]),
    "matrix": lambda: np.matrix([1, 2]),
}
IN_PLACE = {
    "+=": operator.iadd,
    "*=": operator.imul,
    "|=": operator.ior,
    "/=": operator.itruediv,
    "**=": operator.ipow,
}


@pytest.mark.parametrize("array", list(ODD_ARRAYS))
@pytest.mark.parametrize("op", ["+", "&", "/", "<", "==", *IN_PLACE])
@pytest.mark.parametrize("numpy_first", [True, False], ids=["numpy_left", "numpy_right"])
def test_operator_with_an_odd_array_as_torch(op, array, numpy_first):
    fn = OPERATORS.get(op) or IN_PLACE[op]

    def run(t):
        a, b = ODD_ARRAYS[array](), t.tensor([1, 2])
        return fn(a, b) if numpy_first else fn(b, a)

    _assert_as_torch(run)
