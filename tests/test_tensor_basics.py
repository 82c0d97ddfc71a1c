"""Factories, dtypes, metadata and the printed form of fresh tensors.

Expected values were recorded from torch 2.13.0 (CPU) running the same expressions;
with torch installed they are also compared live.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gradlens_core
import gradlens_core as torch_like

# (id, expression over module t, repr in torch 2.13, dtype, shape)
FACTORIES = [
    ("tensor_float_list", lambda t: t.tensor([1.0, 2.0, 3.0]), "tensor([1., 2., 3.])", "torch.float32", (3,)),
    ("tensor_int_list", lambda t: t.tensor([1, 2, 3]), "tensor([1, 2, 3])", "torch.int64", (3,)),
    ("tensor_bool_list", lambda t: t.tensor([True, False]), "tensor([ True, False])", "torch.bool", (2,)),
    ("tensor_mixed_int_float", lambda t: t.tensor([1, 2.5]), "tensor([1.0000, 2.5000])", "torch.float32", (2,)),
    ("tensor_0d_float", lambda t: t.tensor(3.5), "tensor(3.5000)", "torch.float32", ()),
    ("tensor_0d_int", lambda t: t.tensor(3), "tensor(3)", "torch.int64", ()),
    (
        "tensor_nested_float64",
        lambda t: t.tensor([[1, 2], [3, 4]], dtype=t.float64),
        "tensor([[1., 2.],\n        [3., 4.]], dtype=torch.float64)",
        "torch.float64",
        (2, 2),
    ),
    (
        "tensor_requires_grad",
        lambda t: t.tensor([1.0, 2.0], requires_grad=True),
        "tensor([1., 2.], requires_grad=True)",
        "torch.float32",
        (2,),
    ),
    (
        "tensor_from_numpy_float64",
        lambda t: t.tensor(np.array([1.5, 2.5])),
        "tensor([1.5000, 2.5000], dtype=torch.float64)",
        "torch.float64",
        (2,),
    ),
    (
        "tensor_from_numpy_int32",
        lambda t: t.tensor(np.array([1, 2], dtype=np.int32)),
        "tensor([1, 2], dtype=torch.int32)",
        "torch.int32",
        (2,),
    ),
    ("tensor_empty_list", lambda t: t.tensor([]), "tensor([])", "torch.float32", (0,)),
    (
        "tensor_negative",
        lambda t: t.tensor([[-1.5, 2.0], [3.25, -4.0]]),
        "tensor([[-1.5000,  2.0000],\n        [ 3.2500, -4.0000]])",
        "torch.float32",
        (2, 2),
    ),
    ("zeros", lambda t: t.zeros(2, 3), "tensor([[0., 0., 0.],\n        [0., 0., 0.]])", "torch.float32", (2, 3)),
    (
        "zeros_tuple",
        lambda t: t.zeros((2, 2), dtype=t.int32),
        "tensor([[0, 0],\n        [0, 0]], dtype=torch.int32)",
        "torch.int32",
        (2, 2),
    ),
    ("ones_int", lambda t: t.ones(2, dtype=t.int64), "tensor([1, 1])", "torch.int64", (2,)),
    ("ones_bool", lambda t: t.ones(2, dtype=t.bool), "tensor([True, True])", "torch.bool", (2,)),
    (
        "ones_requires_grad",
        lambda t: t.ones(2, requires_grad=True),
        "tensor([1., 1.], requires_grad=True)",
        "torch.float32",
        (2,),
    ),
    ("zeros_0d", lambda t: t.zeros(()), "tensor(0.)", "torch.float32", ()),
    ("full_int", lambda t: t.full((2, 2), 7), "tensor([[7, 7],\n        [7, 7]])", "torch.int64", (2, 2)),
    ("full_float", lambda t: t.full((2,), 1.5), "tensor([1.5000, 1.5000])", "torch.float32", (2,)),
    ("full_bool", lambda t: t.full((2,), True), "tensor([True, True])", "torch.bool", (2,)),
    (
        "full_dtype",
        lambda t: t.full((1, 2), 3, dtype=t.float64),
        "tensor([[3., 3.]], dtype=torch.float64)",
        "torch.float64",
        (1, 2),
    ),
    ("arange_int", lambda t: t.arange(5), "tensor([0, 1, 2, 3, 4])", "torch.int64", (5,)),
    ("arange_float_end", lambda t: t.arange(5.0), "tensor([0., 1., 2., 3., 4.])", "torch.float32", (5,)),
    (
        "arange_start_end_step",
        lambda t: t.arange(1, 4, 0.5),
        "tensor([1.0000, 1.5000, 2.0000, 2.5000, 3.0000, 3.5000])",
        "torch.float32",
        (6,),
    ),
    ("arange_neg_step", lambda t: t.arange(5, 0, -2), "tensor([5, 3, 1])", "torch.int64", (3,)),
    (
        "arange_dtype",
        lambda t: t.arange(3, dtype=t.float64),
        "tensor([0., 1., 2.], dtype=torch.float64)",
        "torch.float64",
        (3,),
    ),
    (
        "linspace",
        lambda t: t.linspace(0, 1, 5),
        "tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000])",
        "torch.float32",
        (5,),
    ),
    ("linspace_int_args", lambda t: t.linspace(-2, 2, 3), "tensor([-2.,  0.,  2.])", "torch.float32", (3,)),
    (
        "eye",
        lambda t: t.eye(3),
        "tensor([[1., 0., 0.],\n        [0., 1., 0.],\n        [0., 0., 1.]])",
        "torch.float32",
        (3, 3),
    ),
    ("eye_rect", lambda t: t.eye(2, 3), "tensor([[1., 0., 0.],\n        [0., 1., 0.]])", "torch.float32", (2, 3)),
    ("zeros_like", lambda t: t.zeros_like(t.tensor([[1, 2]])), "tensor([[0, 0]])", "torch.int64", (1, 2)),
    (
        "ones_like_float64",
        lambda t: t.ones_like(t.tensor([1.0], dtype=t.float64)),
        "tensor([1.], dtype=torch.float64)",
        "torch.float64",
        (1,),
    ),
    ("full_like", lambda t: t.full_like(t.tensor([1.0, 2.0]), 4), "tensor([4., 4.])", "torch.float32", (2,)),
    ("ones_like_dtype", lambda t: t.ones_like(t.tensor([1.0]), dtype=t.int64), "tensor([1])", "torch.int64", (1,)),
    ("legacy_Tensor", lambda t: t.Tensor([1, 2]), "tensor([1., 2.])", "torch.float32", (2,)),
    ("as_tensor_list", lambda t: t.as_tensor([1, 2]), "tensor([1, 2])", "torch.int64", (2,)),
    (
        "float16",
        lambda t: t.tensor([1.0, 2.5], dtype=t.float16),
        "tensor([1.0000, 2.5000], dtype=torch.float16)",
        "torch.float16",
        (2,),
    ),
    (
        "uint8",
        lambda t: t.tensor([1, 255], dtype=t.uint8),
        "tensor([  1, 255], dtype=torch.uint8)",
        "torch.uint8",
        (2,),
    ),
    ("int8", lambda t: t.tensor([-1, 2], dtype=t.int8), "tensor([-1,  2], dtype=torch.int8)", "torch.int8", (2,)),
    (
        "large_summarized",
        lambda t: t.arange(2000.0),
        "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n        1.9990e+03])",
        "torch.float32",
        (2000,),
    ),
    (
        "large_2d_summarized",
        lambda t: t.arange(1200).reshape(40, 30),
        "tensor([[   0,    1,    2,  ...,   27,   28,   29],\n        [  30,   31,   32,  ...,   57,   58,   59],\n        [  60,   61,   62,  ...,   87,   88,   89],\n        ...,\n        [1110, 1111, 1112,  ..., 1137, 1138, 1139],\n        [1140, 1141, 1142,  ..., 1167, 1168, 1169],\n        [1170, 1171, 1172,  ..., 1197, 1198, 1199]])",
        "torch.int64",
        (40, 30),
    ),
    ("sci_small", lambda t: t.tensor([1e-8, 1.0]), "tensor([1.0000e-08, 1.0000e+00])", "torch.float32", (2,)),
    ("sci_large", lambda t: t.tensor([1e10, 1.0]), "tensor([1.0000e+10, 1.0000e+00])", "torch.float32", (2,)),
    (
        "mixed_precision",
        lambda t: t.tensor([0.123456789, 100.5]),
        "tensor([  0.1235, 100.5000])",
        "torch.float32",
        (2,),
    ),
    ("empty_2d", lambda t: t.zeros(0, 3), "tensor([], size=(0, 3))", "torch.float32", (0, 3)),
    (
        "new_zeros",
        lambda t: t.tensor([1.0]).new_zeros(2, 2),
        "tensor([[0., 0.],\n        [0., 0.]])",
        "torch.float32",
        (2, 2),
    ),
    ("new_ones_int", lambda t: t.tensor([1]).new_ones(3), "tensor([1, 1, 1])", "torch.int64", (3,)),
    (
        "new_full",
        lambda t: t.tensor([1.0], dtype=t.float64).new_full((2,), 3),
        "tensor([3., 3.], dtype=torch.float64)",
        "torch.float64",
        (2,),
    ),
    ("new_tensor", lambda t: t.tensor([1.0]).new_tensor([1, 2]), "tensor([1., 2.])", "torch.float32", (2,)),
]
FACTORY_IDS = [f[0] for f in FACTORIES]


@pytest.mark.parametrize("name, make, expected_repr, dtype, shape", FACTORIES, ids=FACTORY_IDS)
def test_factory_matches_recorded_torch(name, make, expected_repr, dtype, shape):
    t = make(gradlens_core)
    assert isinstance(t, gradlens_core.Tensor)
    assert str(t.dtype) == dtype
    assert tuple(t.shape) == shape
    assert repr(t) == expected_repr
    assert t.is_leaf and t.grad_fn is None


@pytest.mark.parametrize("name, make, expected_repr, dtype, shape", FACTORIES, ids=FACTORY_IDS)
def test_factory_matches_live_torch(name, make, expected_repr, dtype, shape, torch):
    ours, theirs = make(gradlens_core), make(torch)
    assert repr(theirs) == expected_repr, "the recorded expectation is stale"
    assert repr(ours) == repr(theirs)
    assert ours.requires_grad == theirs.requires_grad
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())


# ----------------------------------------------------------------------------- dtypes


def test_dtype_aliases_and_properties():
    t = gradlens_core
    assert t.float is t.float32 and t.double is t.float64 and t.half is t.float16
    assert t.long is t.int64 and t.int is t.int32 and t.short is t.int16
    assert repr(t.float32) == "torch.float32" and repr(t.bool) == "torch.bool"
    assert t.float32.is_floating_point and not t.int64.is_floating_point and not t.bool.is_floating_point
    assert (t.float32.itemsize, t.float64.itemsize, t.int16.itemsize, t.bool.itemsize) == (4, 8, 2, 1)
    assert t.int32.is_signed and not t.uint8.is_signed
    assert t.get_default_dtype() is t.float32


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ("int32", "float16", "float16"),
        ("uint8", "int8", "int16"),
        ("bool", "int8", "int8"),
        ("int64", "float32", "float32"),
        ("float32", "float64", "float64"),
        ("bool", "bool", "bool"),
        ("uint8", "int16", "int16"),
    ],
)
def test_promote_types(a, b, expected):
    t = gradlens_core
    assert t.promote_types(getattr(t, a), getattr(t, b)) is getattr(t, expected)
    assert t.promote_types(getattr(t, b), getattr(t, a)) is getattr(t, expected)


def test_result_type_ranks_dimensioned_over_0d_over_python_numbers():
    t = gradlens_core
    assert t.result_type(t.tensor([1, 2]), 1.0) is t.float32
    assert t.result_type(t.tensor([1, 2], dtype=t.int32), t.tensor(1)) is t.int32
    assert t.result_type(t.tensor(1.0), t.tensor([1], dtype=t.int32)) is t.float32
    assert t.result_type(t.tensor([1.0]), t.tensor(1.0, dtype=t.float64)) is t.float32
    assert t.result_type(t.tensor([1, 2]), True) is t.int64


def test_numpy_dtypes_round_trip():
    for np_dtype, name in [
        (np.float64, "float64"),
        (np.float32, "float32"),
        (np.float16, "float16"),
        (np.int64, "int64"),
        (np.int32, "int32"),
        (np.int16, "int16"),
        (np.int8, "int8"),
        (np.uint8, "uint8"),
        (np.bool_, "bool"),
    ]:
        arr = np.zeros(2, dtype=np_dtype)
        t = gradlens_core.from_numpy(arr)
        assert str(t.dtype) == f"torch.{name}"
        assert t.numpy().dtype == np_dtype


def test_unsupported_numpy_dtype_refused():
    with pytest.raises(TypeError, match="can't convert np.ndarray of type"):
        gradlens_core.from_numpy(np.zeros(2, dtype=np.complex64))


# ----------------------------------------------------------------------------- metadata


def test_shape_and_size():
    x = gradlens_core.zeros(2, 3)
    assert isinstance(x.shape, gradlens_core.Size) and isinstance(x.shape, tuple)
    assert repr(x.shape) == "torch.Size([2, 3])"
    assert x.shape == (2, 3) and x.size() == (2, 3)
    assert (x.size(1), x.size(-1), x.dim(), x.ndim, x.numel(), len(x)) == (3, 3, 2, 2, 6, 2)
    assert gradlens_core.Size([2, 3]).numel() == 6
    assert repr(gradlens_core.tensor(1.0).shape) == "torch.Size([])"


def test_strides_contiguity_and_element_size():
    x = gradlens_core.zeros(2, 3)
    assert x.stride() == (3, 1) and x.stride(0) == 3
    assert x.t().stride() == (1, 3) and not x.t().is_contiguous() and x.is_contiguous()
    assert x.element_size() == 4 and gradlens_core.zeros(1, dtype=gradlens_core.float64).element_size() == 8
    assert x[:, 1:].storage_offset() == 1 and x[1].storage_offset() == 3


def test_type_strings_and_device():
    t = gradlens_core
    assert t.zeros(2).type() == "torch.FloatTensor"
    assert t.zeros(2, dtype=t.int64).type() == "torch.LongTensor"
    assert t.zeros(2, dtype=t.bool).type() == "torch.BoolTensor"
    assert t.zeros(2, dtype=t.float64).type() == "torch.DoubleTensor"
    assert str(t.zeros(2).device) == "cpu"
    assert repr(t.zeros(2).device) == "device(type='cpu')"
    assert t.zeros(2).device == t.device("cpu")
    assert not t.cuda.is_available()


def test_leaf_defaults():
    x = gradlens_core.tensor([1.0])
    assert x.is_leaf and not x.requires_grad and x.grad is None and x.grad_fn is None
    assert x._version == 0 and x._base is None


def test_python_values_out():
    t = gradlens_core
    assert t.tensor([1.5, 2.5]).tolist() == [1.5, 2.5]
    assert t.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    v = t.tensor(2).item()
    assert v == 2 and type(v) is int
    assert type(t.tensor(True).item()) is bool and type(t.tensor([1.5]).item()) is float
    assert float(t.tensor([2.5])) == 2.5 and int(t.tensor(3.9)) == 3 and bool(t.tensor([1]))
    assert f"{t.tensor(2.5):.2f}" == "2.50"
    assert [r.tolist() for r in t.arange(4).view(2, 2)] == [[0, 1], [2, 3]]
    assert np.asarray(t.tensor([1.0, 2.0])).tolist() == [1.0, 2.0]


def test_is_helpers():
    t = gradlens_core
    assert t.is_tensor(t.ones(1)) and not t.is_tensor([1])
    assert t.numel(t.ones(2, 3)) == 6
    assert t.is_floating_point(t.ones(1)) and not t.is_floating_point(t.ones(1, dtype=t.int64))


# ----------------------------------------------------------------------------- copying and sharing


def test_tensor_copies_numpy_input():
    arr = np.array([1.0, 2.0])
    t = gradlens_core.tensor(arr)
    arr[0] = 100.0
    assert t.tolist() == [1.0, 2.0]


def test_from_numpy_and_as_tensor_share_memory():
    arr = np.array([1.0, 2.0])
    a = gradlens_core.from_numpy(arr)
    b = gradlens_core.as_tensor(arr)
    arr[0] = 100.0
    assert a.tolist() == [100.0, 2.0] and b.tolist() == [100.0, 2.0]
    a.add_(1)
    assert arr.tolist() == [101.0, 3.0]
    assert a.dtype is gradlens_core.float64


def test_numpy_shares_memory_both_ways():
    t = gradlens_core.tensor([1.0, 2.0])
    n = t.numpy()
    n[1] = 7.0
    assert t.tolist() == [1.0, 7.0]
    t.mul_(2)
    assert n.tolist() == [2.0, 14.0]


def test_copy_construct_warns():
    src = gradlens_core.tensor([1.0, 2.0])
    with pytest.warns(UserWarning, match="To copy construct from a tensor"):
        c = gradlens_core.tensor(src)
    c.add_(1)
    assert src.tolist() == [1.0, 2.0]


def test_casts():
    t = gradlens_core
    x = t.tensor([1.5, -2.5])
    assert x.float() is x and x.to(t.float32) is x
    assert repr(x.long()) == "tensor([ 1, -2])"
    assert repr(t.tensor([1.5, 0.0]).bool()) == "tensor([ True, False])"
    assert repr(t.tensor([1, 2]).double()) == "tensor([1., 2.], dtype=torch.float64)"
    assert repr(t.tensor([1.0, 2.0]).to(t.int32)) == "tensor([1, 2], dtype=torch.int32)"
    assert t.tensor([1, 2]).to(t.tensor([1.0], dtype=t.float64)).dtype is t.float64
    assert x.to("cpu") is x


# ----------------------------------------------------------------------------- randomness


def test_random_factories_shapes_dtypes_and_ranges():
    t = gradlens_core
    t.manual_seed(0)
    r = t.rand(100)
    assert r.dtype is t.float32 and r.shape == (100,)
    assert 0 <= r.min().item() and r.max().item() < 1
    n = t.randn(2, 3, dtype=t.float64)
    assert n.dtype is t.float64 and n.shape == (2, 3)
    i = t.randint(3, 7, (50,))
    assert i.dtype is t.int64 and 3 <= i.min().item() and i.max().item() < 7
    p = t.randperm(5)
    assert sorted(p.tolist()) == [0, 1, 2, 3, 4]
    assert t.randn(2, requires_grad=True).requires_grad
    assert t.rand_like(n).dtype is t.float64 and t.randn_like(n).shape == (2, 3)


def test_manual_seed_is_reproducible():
    t = gradlens_core
    t.manual_seed(123)
    a = t.randn(5).tolist()
    t.manual_seed(123)
    assert t.randn(5).tolist() == a
    assert t.randn(5).tolist() != a


# ----------------------------------------------------------------------------- printing options


def test_set_printoptions_precision(torch):
    try:
        for m in (gradlens_core, torch):
            m.set_printoptions(precision=2)
        x = [1.23456, 2.5]
        assert repr(gradlens_core.tensor(x)) == repr(torch.tensor(x)) == "tensor([1.23, 2.50])"
    finally:
        for m in (gradlens_core, torch):
            m.set_printoptions(profile="default")
    assert repr(gradlens_core.tensor([1.23456])) == "tensor([1.2346])"


def test_non_leaf_grad_access_warns():
    a = gradlens_core.tensor([1.0], requires_grad=True)
    b = a * 2
    with pytest.warns(UserWarning, match="The .grad attribute of a Tensor that is not a leaf Tensor is being accessed"):
        assert b.grad is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert a.grad is None  # a leaf: no warning


def test_module_is_importable_as_torch():
    assert torch_like.Tensor is gradlens_core.Tensor
    assert isinstance(gradlens_core.ones(1), torch_like.Tensor)


def test_transpose_deprecations_warn_once_per_process(monkeypatch):
    """As PyTorch's TORCH_WARN_ONCE: ``.T`` of a non-matrix and ``.mT`` of a 0-d tensor warn the
    first time only (unless ``set_warn_always(True)``, which the fuzzing runner turns on)."""
    from gradlens_core import _warn

    monkeypatch.setattr(_warn, "_given", set())
    for make in (lambda: torch_like.ones(3).T, lambda: torch_like.zeros(()).mT, lambda: torch_like.zeros(()).T):
        with warnings.catch_warnings(record=True) as first:
            warnings.simplefilter("always")
            make()
        with warnings.catch_warnings(record=True) as again:
            warnings.simplefilter("always")
            make()
        assert [w.category for w in first] == [UserWarning] and "deprecated" in str(first[0].message)
        assert again == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert torch_like.ones(2, 3).T.shape == (3, 2)  # a matrix: no warning
