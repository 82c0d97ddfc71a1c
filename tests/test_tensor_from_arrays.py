"""``torch.tensor`` of lists holding numpy arrays and numpy scalars: dtypes, errors and the
(once per process) warning, as PyTorch's tensor_new.cpp gives them.

Both libraries run with ``set_warn_always(True)`` so that the TORCH_WARN_ONCE warning is
given on every call and can be compared.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import first_sentence

import gradlens_core

CASES = {
    "float_then_0d_array": lambda: [1.5, np.array(2.5)],
    "0d_array_first": lambda: [np.array(2.5), 1.5],
    "0d_array_alone": lambda: [np.array(1.5)],
    "nested_0d_array": lambda: [[1.5], [np.array(2.5)]],
    "arrays": lambda: [np.array([1.0, 2.0]), np.array([3.0, 4.0])],
    "int_arrays": lambda: [np.array([1, 2]), np.array([3, 4])],
    "array_then_list": lambda: [np.array([1.0, 2.0]), [3.0, 4.0]],
    "list_then_array": lambda: [[1.0, 2.0], np.array([3.0, 4.0])],
    "int_then_0d_int_array": lambda: [1, np.array(2)],
    "tuple": lambda: (1.5, np.array(2.5)),
    "bool_then_float32_array": lambda: [True, np.array(2.5, dtype=np.float32)],
    "float64_scalar": lambda: [np.float64(2.5), 1.5],
    "float32_scalar": lambda: [np.float32(2.5), 1.5],
    "int32_scalar": lambda: [np.int32(2), 3],
    "float16_scalar": lambda: [np.float16(2), 3.0],
    "int32_0d_array": lambda: [np.array(2, dtype=np.int32), 3],
    "numbers_only": lambda: [1.5, 2.5],
}

INTEGER_CASES = {
    "float32_scalar": lambda: np.float32(2.5),
    "float32_in_list": lambda: [np.float32(2.5)],
    "float16_in_list": lambda: [1, np.float16(2.5)],
    "float64_scalar": lambda: np.float64(2.5),
    "python_float": lambda: 2.5,
}


def _outcome(mod, data, **kw):
    mod.set_warn_always(True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            t = mod.tensor(data, **kw)
            got = ("tensor", str(t.dtype), t.tolist())
        except Exception as e:  # noqa: BLE001 - the error is the outcome compared
            got = ("raises", type(e).__name__, first_sentence(str(e)))
        finally:
            mod.set_warn_always(False)
    return got + ([first_sentence(str(w.message)) for w in caught],)


@pytest.mark.parametrize("case", sorted(CASES))
def test_list_with_numpy_values_matches_torch(case):
    torch = pytest.importorskip("torch")
    assert _outcome(gradlens_core, CASES[case]()) == _outcome(torch, CASES[case]())


@pytest.mark.parametrize("case", sorted(INTEGER_CASES))
@pytest.mark.parametrize("dtype", ["long", "int32", "uint8"])
def test_numpy_floats_stored_as_integers_match_torch(case, dtype):
    torch = pytest.importorskip("torch")
    data = INTEGER_CASES[case]
    got = _outcome(gradlens_core, data(), dtype=getattr(gradlens_core, dtype))
    assert got == _outcome(torch, data(), dtype=getattr(torch, dtype))


def test_the_warning_is_given_once_per_process():
    gradlens_core._warn._given.discard(gradlens_core._factories._LIST_OF_ARRAYS_WARNING)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gradlens_core.tensor([1.0, np.array(2.0), np.array(3.0)])
        gradlens_core.tensor([1.0, np.array(2.0)])
    assert [str(w.message) for w in caught] == [gradlens_core._factories._LIST_OF_ARRAYS_WARNING]
    assert caught[0].filename == __file__  # the user's line, as PyTorch names it
