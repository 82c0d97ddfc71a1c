"""Small realistic program lines that print or raise exactly what PyTorch does.

Each case runs once with ``gradlens_core`` and once with ``torch`` (the module is the
lambda's argument); the outcome compared is the result's type name and ``repr`` (or
``str`` for strings), or the error's class and first sentence.

Example::

    ("format_0d", lambda t: f"{t.tensor(2.5)}")  # '2.5' in both
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import first_sentence

import gradlens_core


def _outcome(fn, mod):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            v = fn(mod)
    except Exception as e:  # noqa: BLE001 - the error is the outcome compared
        return ("raises", type(e).__name__, first_sentence(str(e)))
    return ("returns", type(v).__name__, repr(v))


def _copy_slices_name(t):
    y = t.zeros(2, requires_grad=True).clone()
    y[0] = 1
    return y.grad_fn.name()


CASES = [
    # B1: a 0-d tensor formats as its item; others refuse a format spec
    ("format_0d", lambda t: f"{t.tensor(2.5)}"),
    ("format_0d_grad_fn", lambda t: f"loss={t.tensor(2.5, requires_grad=True) * 2}"),
    ("format_0d_spec", lambda t: f"{t.tensor(2.5):.2f}"),
    ("format_0d_int_spec", lambda t: format(t.tensor(3), "d")),
    ("format_1d", lambda t: f"{t.tensor([2.5, 1.0])}"),
    ("format_1d_spec", lambda t: f"{t.tensor([2.5, 1.0]):.2f}"),
    # B2: torch.Size slices, concatenations and repeats stay Sizes
    ("size_slice", lambda t: t.ones(2, 3, 4).shape[1:]),
    ("size_index", lambda t: t.ones(2, 3, 4).shape[1]),
    ("size_add", lambda t: t.ones(2, 3, 4).shape + (1,)),
    ("size_radd", lambda t: (1,) + t.ones(2, 3, 4).shape),
    ("size_mul", lambda t: t.ones(2, 3).shape * 2),
    ("size_rmul", lambda t: 2 * t.ones(2, 3).shape),
    ("size_add_size", lambda t: t.ones(2).shape + t.ones(3).shape),
    ("size_add_list", lambda t: t.ones(2).shape + [1]),
    ("size_float", lambda t: t.Size([1.5])),
    ("size_str_item_1", lambda t: t.Size([1, "a"])),
    ("size_numpy_and_tensor", lambda t: t.Size([np.int64(2), t.tensor(3)])),
    ("size_float_tensor", lambda t: t.Size([t.tensor(2.0)])),
    ("size_empty", lambda t: t.Size()),
    # B3: C++ nodes are named with their namespace
    ("copy_slices_name", _copy_slices_name),
    # B4: a device keeps its index
    ("device_cpu0", lambda t: t.device("cpu:0")),
    ("device_cpu0_str", lambda t: str(t.device("cpu:0"))),
    ("device_cpu0_index", lambda t: t.device("cpu:0").index),
    ("device_cpu_index", lambda t: t.device("cpu", 0)),
    ("device_cpu0_eq_cpu", lambda t: t.device("cpu:0") == t.device("cpu")),
    ("device_cpu_eq_cpu", lambda t: t.device("cpu") == t.device("cpu")),
    ("device_eq_str", lambda t: t.ones(1).device == "cpu"),
    ("device_str", lambda t: str(t.ones(1).device)),
    ("device_of_cpu1_tensor", lambda t: t.ones(1, device="cpu:1").device),
    ("device_bad_index", lambda t: t.device("cpu:x")),
    ("device_negative_index", lambda t: t.device("cpu", -1)),
    ("device_two_indices", lambda t: t.device("cpu:0", 1)),
    ("device_unknown", lambda t: t.device("xyz")),
    ("device_cuda", lambda t: t.device("cuda:1")),
    # A13: no CUDA
    ("cuda_available", lambda t: t.cuda.is_available()),
    ("ones_cuda", lambda t: t.ones(2, device="cuda")),
    ("tensor_cuda", lambda t: t.tensor([1.0], device="cuda")),
    ("zeros_like_cuda", lambda t: t.zeros_like(t.ones(1), device="cuda")),
    ("method_cuda", lambda t: t.ones(2).cuda()),
    ("to_cuda", lambda t: t.ones(2).to("cuda")),
    ("to_cuda_device", lambda t: t.ones(2).to(t.device("cuda"))),
    ("module_cuda", lambda t: t.nn.Linear(1, 1).cuda()),
    ("to_cpu0", lambda t: t.ones(2).to("cpu:0")),
    # A10: addmm (and linear through it) checks dtypes before shapes, self against mat2 first
    ("linear_long_input", lambda t: t.nn.Linear(3, 2)(t.ones(2, 3, dtype=t.long))),
    ("linear_3d_long_input", lambda t: t.nn.Linear(3, 2)(t.ones(4, 2, 3, dtype=t.long))),
    ("linear_1d_double_input", lambda t: t.nn.Linear(3, 2)(t.ones(3, dtype=t.float64))),
    ("linear_double_bias", lambda t: t.nn.functional.linear(t.ones(2, 3), t.ones(2, 3), t.ones(2, dtype=t.float64))),
    ("addmm_self_mat2", lambda t: t.addmm(t.ones(2, 2), t.ones(2, 3), t.ones(3, 2, dtype=t.float64))),
    ("addmm_double_self", lambda t: t.addmm(t.ones(2, 2, dtype=t.float64), t.ones(2, 3), t.ones(3, 2))),
    ("addmm_mat1_mat2", lambda t: t.addmm(t.ones(2, 2), t.ones(2, 3, dtype=t.int32), t.ones(3, 2))),
    ("addmm_dtype_before_shape", lambda t: t.addmm(t.ones(2, 2), t.ones(2, 3), t.ones(4, 2, dtype=t.long))),
    ("addmm_long", lambda t: t.addmm(t.ones(2, dtype=t.long), t.ones(2, 3, dtype=t.long), t.ones(3, 2, dtype=t.long))),
    ("addmm_bool", lambda t: t.addmm(t.ones(2, 2).bool(), t.ones(2, 3).bool(), t.ones(3, 2).bool())),
    ("addmm_1d_mat1", lambda t: t.addmm(t.ones(2, 2), t.ones(3), t.ones(3, 2))),
    ("addmm_bad_self", lambda t: t.addmm(t.ones(3, 3), t.ones(2, 3), t.ones(3, 2))),
    ("mm_double", lambda t: t.mm(t.ones(2, 3), t.ones(3, 2, dtype=t.float64))),
    ("matmul_long_float", lambda t: t.ones(2, 3, dtype=t.long) @ t.ones(3, 2)),
    # A11: mean's dtype must be floating
    ("mean_long_dtype", lambda t: t.ones(2, 3).mean(dtype=t.long)),
    ("mean_dim_bool_dtype", lambda t: t.mean(t.ones(2, 3), 0, dtype=t.bool)),
    ("mean_long_input_double_dtype", lambda t: t.ones(2, 3, dtype=t.long).mean(dtype=t.float64)),
]


@pytest.mark.parametrize("fn", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_outcome_matches_torch(fn):
    torch = pytest.importorskip("torch")
    assert _outcome(fn, gradlens_core) == _outcome(fn, torch)
