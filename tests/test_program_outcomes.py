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


def _inference(t):
    with t.inference_mode():
        i = t.ones(2)
    return i


def _edit_inference_then_read(t, edit):
    i = _inference(t)
    try:
        edit(t, i)
    except RuntimeError as e:
        return str(e), i  # PyTorch refuses after the kernel wrote the values
    return None, i


def _inference_state(t):
    x = t.ones(2, requires_grad=True)
    with t.inference_mode():
        inside = (t.is_inference_mode_enabled(), t.is_grad_enabled(), t.ones(1).is_inference())
        y = x * 2
        view_of_normal = x.view(2).is_inference()
        j = t.ones(2, requires_grad=True)
        with t.inference_mode(False):
            nested = (t.is_inference_mode_enabled(), t.is_grad_enabled(), t.ones(1).is_inference())
    with t.no_grad(), t.inference_mode(False):
        false_in_no_grad = t.is_grad_enabled()
    return inside, nested, false_in_no_grad, y.requires_grad, y.is_inference(), view_of_normal, j.requires_grad, j * 2


def _decorated(t):
    x = t.ones(1, requires_grad=True)

    @t.no_grad
    def f(a):
        return (a * 2).requires_grad

    @t.enable_grad
    def g(a):
        return (a * 2).requires_grad

    @t.inference_mode
    def h():
        return t.is_inference_mode_enabled(), t.ones(1).is_inference()

    @t.set_grad_enabled(False)
    def k(a):
        return (a * 2).requires_grad

    with t.no_grad():
        g_out = g(x)
    return f(x), g_out, h(), k(x), t.is_grad_enabled(), t.is_inference_mode_enabled()


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
    # A12: inference tensors
    ("inference_state", _inference_state),
    ("inference_is_inference", lambda t: (_inference(t).is_inference(), t.ones(1).is_inference())),
    ("inference_views", lambda t: (_inference(t)[0].is_inference(), _inference(t).detach().is_inference())),
    ("inference_clone", lambda t: _inference(t).clone().is_inference()),
    ("inference_add_", lambda t: _edit_inference_then_read(t, lambda t, i: i.add_(1))),
    ("inference_view_mul_", lambda t: _edit_inference_then_read(t, lambda t, i: i.view(2).mul_(3))),
    ("inference_setitem", lambda t: _edit_inference_then_read(t, lambda t, i: i.__setitem__(0, 7))),
    ("inference_zero_", lambda t: _edit_inference_then_read(t, lambda t, i: i.zero_())),
    ("inference_copy_", lambda t: _edit_inference_then_read(t, lambda t, i: i.copy_(t.zeros(2)))),
    ("inference_edit_inside", lambda t: _edit_inference_then_read(t, lambda t, i: t.inference_mode()(i.add_)(1))),
    ("inference_copied_from", lambda t: t.ones(2).copy_(_inference(t))),
    ("inference_saved", lambda t: _inference(t) * t.ones(2, requires_grad=True)),
    ("inference_not_saved", lambda t: _inference(t) + t.ones(2, requires_grad=True)),
    ("inference_linear", lambda t: t.nn.functional.linear(_inference(t), t.ones(2, 2, requires_grad=True))),
    ("inference_requires_grad_", lambda t: _inference(t).requires_grad_()),
    ("inference_requires_grad_false", lambda t: _inference(t).requires_grad_(False)),
    ("inference_requires_grad_setter", lambda t: setattr(_inference(t), "requires_grad", True)),
    ("inference_plain_ops", lambda t: (_inference(t) * 2).is_inference()),
    # C10: decorators without parentheses
    ("decorators", _decorated),
    # A14: stable= only in the overload where dim and descending are keyword-only
    ("sort_dim_stable", lambda t: t.tensor([3.0, 1.0]).sort(0, stable=True)),
    ("sort_fn_dim_stable", lambda t: t.sort(t.tensor([3.0, 1.0]), 0, stable=True)),
    ("argsort_fn_dim_stable", lambda t: t.argsort(t.tensor([3.0, 1.0]), 0, stable=True)),
    ("sort_stable", lambda t: t.tensor([3.0, 1.0]).sort(stable=True)),
    ("sort_keywords_stable", lambda t: t.tensor([3.0, 1.0]).sort(dim=0, descending=True, stable=True)),
    ("argsort_stable", lambda t: t.tensor([3.0, 1.0]).argsort(stable=True, descending=True)),
    # C1-C4, C11: nested data read as PyTorch's compute_sizes / infer_scalar_type / recursive_store
    ("tensor_ragged", lambda t: t.tensor([[1, 2], [3]])),
    ("tensor_ragged_longer", lambda t: t.tensor([[1, 2], [3, 4, 5]], dtype=t.float32)),
    ("tensor_ragged_dim_2", lambda t: t.tensor([[[1], [2]], [[3], [4, 5]]])),
    ("tensor_str", lambda t: t.tensor("abc")),
    ("tensor_str_item", lambda t: t.tensor([1, "a"])),
    ("tensor_str_item_float", lambda t: t.tensor([1, "a"], dtype=t.float32)),
    ("tensor_only_str_item", lambda t: t.tensor(["a"])),
    ("tensor_none_item", lambda t: t.tensor([1, None])),
    ("tensor_none", lambda t: t.tensor(None)),
    ("tensor_none_item_float", lambda t: t.tensor([[1.0, None]], dtype=t.float32)),
    ("tensor_nan_item_float", lambda t: t.tensor([1.0, float("nan")], dtype=t.float32)),
    ("tensor_object_item", lambda t: t.tensor([1, {1}])),
    ("tensor_number_after_list", lambda t: t.tensor([[1, 2], 3])),
    ("tensor_list_after_number", lambda t: t.tensor([1, [2, 3]])),
    ("tensor_list_after_float", lambda t: t.tensor([1.0, [2, 3]])),
    ("tensor_0d_arrays", lambda t: t.tensor([np.array(1.5), np.array(2.5)])),
    ("tensor_0d_array_after_list", lambda t: t.tensor([[1.0], np.array(1.5)])),
    ("tensor_empty_then_item", lambda t: t.tensor([[], [1]])),
    ("tensor_item_then_empty", lambda t: t.tensor([[1], []])),
    ("tensor_tensors_of_two", lambda t: t.tensor([t.ones(2), t.ones(2)])),
    ("tensor_list_then_tensor", lambda t: t.tensor([[1, 2], t.ones(3)])),
    ("tensor_0d_tensors", lambda t: t.tensor([t.tensor(1.0), t.tensor(2.0)])),
    ("tensor_int_overflow", lambda t: t.tensor([1, 2**70])),
    # C5: three operands broadcast in order
    ("where_broadcast", lambda t: t.where(t.ones(3, dtype=t.bool), t.ones(2, 3), t.zeros(2))),
    ("addcmul_broadcast", lambda t: t.addcmul(t.ones(3), t.ones(2, 3), t.ones(2))),
    # C6: masked_fill's mask dtype
    ("masked_fill_float_mask", lambda t: t.ones(3).masked_fill(t.ones(3), 0)),
    # C7: empty lists
    ("cat_empty", lambda t: t.cat([])),
    ("cat_empty_tuple", lambda t: t.cat((), dim=1)),
    ("stack_empty", lambda t: t.stack([])),
    # C8: Tensor.type with a legacy class, a legacy name, a dtype
    ("type_legacy_class", lambda t: t.tensor([1.5, 2.5]).type(t.LongTensor)),
    ("type_legacy_name", lambda t: t.tensor([1.5, 2.5]).type("torch.IntTensor")),
    ("type_dtype", lambda t: t.tensor([1.5, 2.5]).type(t.float64)),
    ("type_same_is_self", lambda t: (lambda x: x.type(t.FloatTensor) is x)(t.tensor([1.5]))),
    ("type_unknown_name", lambda t: t.tensor([1.5]).type("foo")),
    ("type_cuda_name", lambda t: t.tensor([1.5]).type("torch.cuda.FloatTensor")),
    ("type_not_a_type", lambda t: t.tensor([1.5]).type(3)),
    ("type_name", lambda t: t.tensor([True]).type()),
    # C9: torch.linalg.norm / vector_norm, and a norm's dtype
    ("linalg_norm", lambda t: _norm_and_grad(t, lambda x: t.linalg.norm(x))),
    ("linalg_norm_fro", lambda t: _norm_and_grad(t, lambda x: t.linalg.norm(x, "fro"))),
    ("linalg_norm_dim", lambda t: _norm_and_grad(t, lambda x: t.linalg.norm(x, dim=1))),
    ("linalg_norm_ord_dim", lambda t: _norm_and_grad(t, lambda x: t.linalg.norm(x, 1, dim=0))),
    ("linalg_norm_vector_ord", lambda t: _norm_and_grad(t, lambda x: t.linalg.norm(x[0], 3))),
    ("linalg_norm_two_dims", lambda t: _norm_and_grad(t, lambda x: t.linalg.norm(x, dim=(0, 1), keepdim=True))),
    ("vector_norm_ord", lambda t: _norm_and_grad(t, lambda x: t.linalg.vector_norm(x, ord=3))),
    ("vector_norm_inf", lambda t: _norm_and_grad(t, lambda x: t.linalg.vector_norm(x, float("inf")))),
    ("vector_norm_dtype", lambda t: _norm_and_grad(t, lambda x: t.linalg.vector_norm(x, 3, dtype=t.float64))),
    ("norm_method_dtype", lambda t: _norm_and_grad(t, lambda x: x.norm(dtype=t.float64))),
    ("vector_norm_narrowing", lambda t: t.linalg.vector_norm(t.ones(2), dtype=t.float16)),
    ("vector_norm_integer_dtype", lambda t: t.linalg.vector_norm(t.ones(2), dtype=t.long)),
]


def _norm_and_grad(t, fn):
    x = t.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    r = fn(x)
    r.sum().backward()
    return r, x.grad


@pytest.mark.parametrize("fn", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_outcome_matches_torch(fn):
    torch = pytest.importorskip("torch")
    assert _outcome(fn, gradlens_core) == _outcome(fn, torch)


def test_detect_anomaly_warns_as_torch():
    torch = pytest.importorskip("torch")
    for mod in (gradlens_core, torch):
        with pytest.warns(UserWarning, match="^Anomaly Detection has been enabled. This mode will increase"):
            with mod.autograd.detect_anomaly():
                assert mod.is_anomaly_enabled()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with mod.autograd.set_detect_anomaly(True):  # no warning
                assert mod.is_anomaly_enabled()
        assert not mod.is_anomaly_enabled()
