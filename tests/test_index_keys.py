"""Index keys as PyTorch reads them, against real PyTorch.

A tuple's items index one dim each. A short non-tuple sequence (a list) holding a tensor, a
sequence, a slice, None or Ellipsis is read as a tuple too, with a deprecation warning
(``x[[0, [1, 2]]]`` is ``x[0, [1, 2]]``); a list of numbers is one index tensor, and so is a
numpy array. An item that is a sequence (a list, a numpy array, even a 0-d one) becomes an
index tensor: int64, or a bool or uint8 mask (uint8 with a deprecation warning); one of no
dims selects like an int (a view), a 0-d bool or uint8 one adds a dim as True/False do.
Reading, writing (``x[key] = v``, also through a view) and the backward of both are compared,
with the warnings given.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import first_sentence

import gradlens_core

KEYS = {
    "list_of_ints": lambda t: [0, 1],
    "list_of_lists": lambda t: [[0, 1], [1, 0]],
    "int_and_list": lambda t: [0, [1, 2]],
    "negative_int_and_list": lambda t: [-1, [0, 2]],
    "slice_and_int": lambda t: [slice(None), 1],
    "slice_only": lambda t: [slice(0, 1)],
    "none_and_int": lambda t: [None, 0],
    "none_and_slice": lambda t: [None, slice(0, 1), None],
    "ellipsis_and_int": lambda t: [Ellipsis, 0],
    "ellipsis_and_tensor": lambda t: [Ellipsis, t.tensor([1, 0])],
    "none_ellipsis_int": lambda t: [None, Ellipsis, 0],
    "tensors": lambda t: [t.tensor([0, 1]), t.tensor([1, 2])],
    "0d_tensors": lambda t: [t.tensor(1), t.tensor(2)],
    "int_and_0d_tensor": lambda t: [0, t.tensor(1)],
    "tensor_slice_int": lambda t: [t.tensor([0, 1]), slice(None), 0],
    "slice_and_tensor": lambda t: [slice(None), t.tensor([0, 2])],
    "one_list": lambda t: [[0, 1]],
    "list_in_list_in_list": lambda t: [[[0, 1]]],
    "tuples_in_list": lambda t: [(0, 1), (1, 2)],
    "range_in_list": lambda t: [range(2)],
    "range": lambda t: range(2),
    "bools": lambda t: [True, False],
    "list_of_bool_list": lambda t: [[True, False]],
    "int_and_bool": lambda t: [0, True],
    "none_only": lambda t: [None],
    "ellipsis_only": lambda t: [Ellipsis],
    "empty_list": lambda t: [],
    "empty_list_in_list": lambda t: [[]],
    "empty_list_and_int": lambda t: [[], 0],
    "floats": lambda t: [0.7, 1.2],
    "int_and_float": lambda t: [0, 1.9],
    "bool_and_int": lambda t: [True, 1],
    "numpy_ints": lambda t: [np.int64(0), np.int64(1)],
    "numpy_uint8s": lambda t: [np.uint8(1), np.uint8(0)],
    "list_of_0d_tensors_in_tuple": lambda t: (0, [t.tensor(1), t.tensor(2)]),
    "list_of_1_element_tensors_in_tuple": lambda t: ([t.tensor([1]), t.tensor([0])],),
    "list_of_bool_tensors": lambda t: [t.tensor(True), t.tensor(False)],
    "31_lists": lambda t: [[0]] * 31,  # a tuple: too many indices
    "32_lists": lambda t: [[0]] * 32,  # one index tensor
    "33_ints": lambda t: [0, 1] * 16 + [0],
    "long_list_with_a_slice": lambda t: [0] * 31 + [slice(None)],
    "tuple_of_lists": lambda t: ([0, 1], [1, 2]),
    "too_many": lambda t: [0, 0, 0, 0],
    "out_of_range_in_list": lambda t: [0, [5]],
    "out_of_range_int_first": lambda t: [5, [0]],
    "strings": lambda t: ["a"],
    "string": lambda t: "a",
    "bytes": lambda t: b"a",
    # numpy arrays and scalars
    "array": lambda t: np.array([0, 1]),
    "array_2d": lambda t: np.array([[0, 1], [1, 0]]),
    "array_float": lambda t: np.array([0.0, 1.0]),
    "array_bool": lambda t: np.array([True, False]),
    "array_uint8": lambda t: np.array([1, 0], dtype=np.uint8),
    "array_empty": lambda t: np.array([], dtype=np.int64),
    "array_0d": lambda t: np.array(1),
    "array_0d_int32": lambda t: np.array(1, dtype=np.int32),
    "array_0d_negative": lambda t: np.array(-1),
    "array_0d_out_of_range": lambda t: np.array(5),
    "array_0d_float": lambda t: np.array(1.0),
    "array_0d_bool": lambda t: np.array(True),
    "arrays_0d_in_tuple": lambda t: (np.array(1), np.array(2)),
    "slice_and_array_0d": lambda t: (slice(None), np.array(2)),
    "array_0d_and_list": lambda t: (np.array(0), [1, 2]),
    "arrays_0d_in_list": lambda t: [np.array(0), np.array(2)],
    "array_in_list": lambda t: [np.array([0, 1])],
    "array_0d_in_list": lambda t: [np.array(1)],
    "int_and_array_0d_bool": lambda t: (0, np.array(True)),
    "numpy_int": lambda t: np.int64(1),
    "numpy_ints_in_tuple": lambda t: (np.int64(1), np.int32(2)),
    "numpy_bool": lambda t: np.bool_(True),
    "numpy_float": lambda t: np.float32(1.0),
    "int_and_numpy_bool": lambda t: (0, np.bool_(True)),
    # tensors
    "uint8_mask": lambda t: t.tensor([1, 0], dtype=t.uint8),
    "uint8_0d": lambda t: t.tensor(1, dtype=t.uint8),
    "int_and_uint8_0d": lambda t: (0, t.tensor(1, dtype=t.uint8)),
    "bool_0d": lambda t: t.tensor(True),
    "int32_0d": lambda t: t.tensor(1, dtype=t.int32),
    "float": lambda t: 1.5,
    "dict": lambda t: {1: 2},
}


def _tensor_facts(t):
    node = t.grad_fn
    return t.tolist(), list(t.shape), None if node is None else type(node).__name__, t._base is not None, t._version


def _outcome(module, fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = fn(module)
        except Exception as exc:  # noqa: BLE001 - compared with torch's
            result = type(exc).__name__, first_sentence(str(exc))
    return result, [(w.category.__name__, first_sentence(str(w.message))) for w in caught]


def _assert_as_torch(fn):
    torch = pytest.importorskip("torch")
    assert _outcome(gradlens_core, fn) == _outcome(torch, fn)


def _read(key):
    def fn(t):
        a = t.arange(24.0).reshape(2, 3, 4).requires_grad_()
        out = (a * 1)[KEYS[key](t)]
        # a weighted sum: each element's grad tells where it came from
        (out * t.arange(float(out.numel())).reshape(out.shape)).sum().backward()
        return _tensor_facts(out), a.grad.tolist()

    return fn


@pytest.mark.parametrize("key", list(KEYS))
def test_read_as_torch(key):
    _assert_as_torch(_read(key))


VALUES = {
    "number": lambda t: 7.0,
    "0d_tensor": lambda t: t.tensor(7.0, requires_grad=True),
    "row": lambda t: t.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True),
}


def _write(key, value, through_view):
    def fn(t):
        a = t.arange(24.0).reshape(2, 3, 4).requires_grad_()
        b = a * 1
        target = b[:, 1:] if through_view else b
        v = VALUES[value](t)
        target[KEYS[key](t)] = v
        b.sum().backward()
        value_grad = v.grad.tolist() if isinstance(v, t.Tensor) and v.grad is not None else None
        return _tensor_facts(b), _tensor_facts(target), a.grad.tolist(), value_grad

    return fn


@pytest.mark.parametrize("through_view", [False, True], ids=["base", "view"])
@pytest.mark.parametrize("value", list(VALUES))
@pytest.mark.parametrize("key", list(KEYS))
def test_write_as_torch(key, value, through_view):
    _assert_as_torch(_write(key, value, through_view))


def _index_put_uint8(t, value):
    x = t.zeros(3)
    x.index_put_((t.tensor([1, 0, 1], dtype=t.uint8),), value)
    return x.tolist()


CASES = {
    # a uint8 mask with one value goes to masked_fill_, which refuses it (after the mask's shape)
    "uint8_mask_one_value": lambda t: t.zeros(3).__setitem__(t.tensor([1, 0, 1], dtype=t.uint8), 1.0),
    "uint8_mask_shape_first": lambda t: t.zeros(3).__setitem__(t.tensor([1, 0], dtype=t.uint8), 1.0),
    "uint8_mask_values": lambda t: _index_put_uint8(t, t.tensor([5.0, 6.0])),
    "uint8_mask_index_put_one_value": lambda t: _index_put_uint8(t, t.tensor(5.0)),
    "masked_fill_uint8_mask": lambda t: t.zeros(2).masked_fill_(t.tensor([1, 0], dtype=t.uint8), 1.0),
    "masked_fill_long_mask": lambda t: t.zeros(2).masked_fill(t.tensor([1, 0]), 1.0),
    "float_tensor_in_list": lambda t: t.zeros(3)[[t.tensor(1.5), 0]],
    "tensor_of_two_in_list": lambda t: t.zeros(3, 2)[([t.tensor([1, 2]), t.tensor([0, 1])],)],
    "0d_numpy_int_on_0d_tensor": lambda t: t.tensor(1.0)[np.int64(0)],
    # index_put_'s parser takes a tuple of tensors and a tensor
    "index_put_list_index": lambda t: t.zeros(3).index_put_(([0, 1],), t.tensor(1.0)),
    "index_put_array_index": lambda t: t.zeros(3).index_put_((np.array([0]),), t.tensor(1.0)),
    "index_put_none_index": lambda t: t.zeros(3).index_put_((None,), t.tensor(1.0)),
    "index_put_tensor_as_indices": lambda t: t.zeros(3).index_put_(t.tensor([0]), t.tensor(1.0)),
    "index_put_number_value": lambda t: t.zeros(3).index_put_((t.tensor([0]),), 1.0),
    "index_put_array_value": lambda t: t.zeros(3).index_put_((t.tensor([0]),), np.array(1.0)),
    "index_put_list_of_tensors": lambda t: t.zeros(3).index_put_([t.tensor([0])], t.tensor(1.0)).tolist(),
}


@pytest.mark.parametrize("name", list(CASES))
def test_index_case_as_torch(name):
    _assert_as_torch(CASES[name])
