"""The op table of ``helpers.py`` against real PyTorch, plus dtype promotion, printing and metadata."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import as_float32, compare_with_torch, op_cases, second_order_cases

import gradlens_core

OPS = op_cases()


@pytest.mark.parametrize("case", OPS, ids=[c.id for c in OPS])
def test_op_matches_torch(case):
    compare_with_torch(case.fn, *as_float32(case.inputs), **case.torch_kw)


@pytest.mark.parametrize("case", OPS, ids=[c.id for c in OPS])
def test_op_matches_torch_float64(case):
    compare_with_torch(case.fn, *case.inputs, dtype="float64", **case.torch_kw)


SECOND = second_order_cases()


@pytest.mark.parametrize("case", SECOND, ids=[c.id for c in SECOND])
def test_second_derivative_matches_torch(case):
    """First-order grads with create_graph (values, node names), then their own backward."""
    compare_with_torch(case.fn, *case.inputs, dtype="float64")


# ----------------------------------------------------------------------------- conventions at kinks and edges
#
# Values exactly where a derivative is not defined (ties, 0 for relu/abs/sqrt, clamp bounds)
# and numerically extreme inputs: torch's conventions are the oracle here (no gradcheck).

F = np.float32
TIES = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], dtype=F)
AT_ZERO = np.array([-1.0, 0.0, 0.5, 1.0], dtype=F)

EDGES = {
    "max_all_ties_split_evenly": (lambda t, x: x.max(), TIES),
    "min_all_ties_split_evenly": (lambda t, x: x.min(), TIES),
    "max_dim_ties": (lambda t, x: x.max(1), TIES),
    "min_dim_ties": (lambda t, x: x.min(0), TIES),
    "relu_at_zero": (lambda t, x: x.relu(), AT_ZERO),
    "abs_at_zero": (lambda t, x: x.abs(), AT_ZERO),
    "clamp_at_bounds": (lambda t, x: x.clamp(0.0, 0.5), AT_ZERO),
    "clamp_min_at_bound": (lambda t, x: x.clamp(min=0.0), AT_ZERO),
    "maximum_ties": (lambda t, x, y: t.maximum(x, y), AT_ZERO, np.array([0.0, 0.0, 0.5, 2.0], dtype=F)),
    "minimum_ties": (lambda t, x, y: t.minimum(x, y), AT_ZERO, np.array([0.0, 0.0, 0.5, 2.0], dtype=F)),
    "pow_tensor_zero_base": (
        lambda t, x, y: x**y,
        np.array([0.0, 0.0, 2.0], dtype=F),
        np.array([0.0, 2.0, 0.0], dtype=F),
    ),
    "pow_scalar_zero_exponent": (lambda t, x: x**0, AT_ZERO),
    "pow_zero_base_half": (lambda t, x: x**0.5, np.array([0.0, 4.0], dtype=F)),
    "rpow_zero_base": (lambda t, x: 0.0**x, np.array([0.0, 2.0], dtype=F)),
    "sqrt_at_zero": (lambda t, x: x.sqrt(), np.array([0.0, 4.0], dtype=F)),
    "div_by_zero": (lambda t, x, y: x / y, np.array([1.0, -1.0, 0.0], dtype=F), np.zeros(3, dtype=F)),
    "log_at_zero": (lambda t, x: x.log(), np.array([0.0, 1.0], dtype=F)),
    "prod_one_zero": (lambda t, x: x.prod(), np.array([2.0, 0.0, 3.0], dtype=F)),
    "prod_two_zeros": (lambda t, x: x.prod(), np.array([2.0, 0.0, 0.0], dtype=F)),
    "prod_dim_with_zero": (lambda t, x: x.prod(1), np.array([[2.0, 0.0, 3.0], [1.0, 2.0, 3.0]], dtype=F)),
    "prod_dim_of_size_one_with_zero": (lambda t, x: x.prod(0), np.array([[2.0, 0.0, 3.0]], dtype=F)),
    "prod_dim_two_zeros_in_a_row": (lambda t, x: x.prod(1), np.array([[0.0, 2.0, 0.0], [1.0, 0.0, 3.0]], dtype=F)),
    "cumprod_one_zero": (lambda t, x: x.cumprod(0), np.array([2.0, 0.0, 3.0, 4.0], dtype=F)),
    "cumprod_zeros_per_row": (
        lambda t, x: x.cumprod(1),
        np.array([[0.0, 2.0, 0.0, 5.0], [1.0, 3.0, 0.0, 2.0], [1.5, 2.0, 3.0, 0.5]], dtype=F),
    ),
    "cumprod_dim0_transposed": (lambda t, x: x.t().cumprod(0), np.array([[1.0, 0.0, 2.0], [3.0, 4.0, 0.0]], dtype=F)),
    "cumsum_dtype_arg": (lambda t, x: x.cumsum(-1, dtype=t.float64), (2, 3)),
    "cumsum_int_is_int64": (lambda t, x: t.cumsum(x.int(), 0), (2, 3)),
    "flip_two_dims": (lambda t, x: t.flip(x, [0, -1]) * 2, (2, 3)),
    "flip_method_varargs": (lambda t, x: x.t().flip(1, 0), (2, 3)),
    "abs_grad_at_nan_is_zero": (lambda t, x: x.abs(), np.array([np.nan, -1.0, 0.0, 2.0], dtype=F)),
    "norm_1_grad_at_nan_is_zero": (lambda t, x: x.norm(1), np.array([np.nan, -1.0, 0.0, 2.0], dtype=F)),
    "sigmoid_saturated": (lambda t, x: x.sigmoid(), np.array([-100.0, 100.0, 0.0], dtype=F)),
    "tanh_saturated": (lambda t, x: x.tanh(), np.array([-30.0, 30.0], dtype=F)),
    "log_softmax_large_logits": (lambda t, x: x.log_softmax(0), np.array([1000.0, 0.0], dtype=F)),
    "softmax_large_logits": (lambda t, x: x.softmax(0), np.array([1000.0, 0.0, -1000.0], dtype=F)),
    "round_zero_grad": (lambda t, x: x.round(), (2, 3)),
    "sign_zero_grad": (lambda t, x: x.sign(), (2, 3)),
    "floor_zero_grad": (lambda t, x: x.floor(), (2, 3)),
    "div_floor_mode": (lambda t, x, y: t.div(x, y, rounding_mode="floor"), (2, 3), (2, 3)),
    "sum_dtype_arg": (lambda t, x: x.sum(dtype=t.float64), (2, 3)),
    "mean_dtype_arg": (lambda t, x: x.mean(dtype=t.float64), (2, 3)),
    "softmax_dtype_arg": (lambda t, x: x.softmax(-1, dtype=t.float64), (2, 3)),
    "cat_with_empty": (lambda t, x: t.cat([x, t.zeros(0, 3)]), (2, 3)),
    "where_two_python_scalars": (lambda t, x: t.where(x > 0, 1.0, 0.0), (2, 3)),
    "mul_by_bool_mask": (lambda t, x: x * (x > 0), (2, 3)),
    "mul_by_int_tensor": (lambda t, x: x * t.tensor([1, 2, 3]), (2, 3)),
    "float32_plus_0d_float64_requiring_grad": (
        lambda t, x: x + t.tensor(2.0, dtype=t.float64, requires_grad=True),
        (2, 3),
    ),
    "float32_times_float64_dimensioned": (lambda t, x, y: x * y, (2, 3), np.ones((2, 3))),
    "int_pow_tensor_exponent": (lambda t, x: x ** t.tensor([1, 2, 3]), (2, 3)),
    "half_cast": (lambda t, x: x.half(), (2,)),
    "type_as_float64": (lambda t, x, y: x.type_as(y), (2,), np.zeros(2)),
    "chunk_uneven": (lambda t, x: x.chunk(3, 1), (2, 5)),
    "split_int": (lambda t, x: x.split(2, 1), (2, 5)),
    "expand_then_sum": (lambda t, x: x.expand(4, 3).sum(0), (3,)),
    "same_input_twice_in_cat": (lambda t, x: t.cat([x, x]) * 2, (3,)),
}


@pytest.mark.parametrize("args", EDGES.values(), ids=EDGES.keys())
def test_edge_convention_matches_torch(args):
    fn, *inputs = args
    compare_with_torch(fn, *inputs)


# ----------------------------------------------------------------------------- the helper itself can fail


def test_compare_with_torch_detects_wrong_values():
    with pytest.raises(AssertionError, match="values differ"):
        compare_with_torch(lambda t, x: x + 1 if t is gradlens_core else x + 1.001, (2, 3))


def test_compare_with_torch_detects_wrong_grad():
    def fn(t, x):
        if t is gradlens_core:
            x.register_hook(lambda g: g * 2)  # same forward and node, doubled gradient
        return x.exp()

    with pytest.raises(AssertionError, match="grad differs"):
        compare_with_torch(fn, (2, 3))


def test_compare_with_torch_detects_wrong_node_name_and_dtype():
    with pytest.raises(AssertionError, match="grad_fn"):
        compare_with_torch(lambda t, x: x * 1 if t is gradlens_core else x + 0, (2,))
    with pytest.raises(AssertionError, match="dtype"):
        compare_with_torch(lambda t, x: x.double() if t is gradlens_core else x, (2,), grad=False)


# ----------------------------------------------------------------------------- dtype promotion

PROMOTION = {
    "int64_times_float_scalar": lambda t: t.tensor([1, 2, 3]) * 1.5,
    "int64_times_float32": lambda t: t.tensor([1, 2, 3]) * t.tensor([0.5, 1.5, 2.5]),
    "float32_times_float64": lambda t: t.tensor([1.0, 2.0]) * t.tensor([0.5, 1.5], dtype=t.float64),
    "float64_plus_float32": lambda t: t.tensor([1.0], dtype=t.float64) + t.tensor([0.25]),
    "int32_plus_int64": lambda t: t.tensor([1, 2], dtype=t.int32) + t.tensor([3, 4]),
    "uint8_plus_int8": lambda t: t.tensor([1, 2], dtype=t.uint8) + t.tensor([1, -2], dtype=t.int8),
    "uint8_minus_int_scalar_wraps": lambda t: t.tensor([1, 2], dtype=t.uint8) - 3,
    "int_div_int": lambda t: t.tensor([1, 2, 3]) / t.tensor([2, 4, 4]),
    "int_div_int_scalar": lambda t: t.tensor([3, 4]) / 2,
    "int_0d_div_int_0d": lambda t: t.tensor(3) / t.tensor(2),
    "int_floordiv_negative": lambda t: t.tensor([-3, 3, 7]) // 2,
    "float_floordiv": lambda t: t.tensor([-3.0, 3.0]) // 2,
    "bool_plus_int": lambda t: t.tensor([True, False]) + t.tensor([1, 2]),
    "bool_plus_int_scalar": lambda t: t.tensor([True, False]) + 1,
    "bool_plus_bool_scalar": lambda t: t.tensor([True, False]) + True,
    "bool_times_float": lambda t: t.tensor([True, False]) * 1.5,
    "int_times_bool_scalar": lambda t: t.tensor([1, 2]) * True,
    "comparison_plus_int": lambda t: (t.tensor([1, 2]) > 1.5) + 1,
    "float16_plus_float_scalar": lambda t: t.tensor([1.0, 2.0], dtype=t.float16) + 2.5,
    "int64_dim_plus_0d_float32": lambda t: t.tensor([1, 2]) + t.tensor(1.5),
    "int64_dim_plus_0d_float64": lambda t: t.tensor([1, 2]) + t.tensor(1.5, dtype=t.float64),
    "int32_dim_plus_0d_int64": lambda t: t.tensor([1, 2], dtype=t.int32) + t.tensor(7),
    "int8_dim_plus_0d_int64_wraps": lambda t: t.tensor([1, 2], dtype=t.int8) + t.tensor(300),
    "float32_dim_plus_0d_float64": lambda t: t.tensor([1.0, 2.0]) + t.tensor(1.5, dtype=t.float64),
    "float16_dim_times_0d_float64": lambda t: t.tensor([1.5, 2.0], dtype=t.float16) * t.tensor(2.0, dtype=t.float64),
    "bool_dim_plus_0d_int": lambda t: t.tensor([True, False]) + t.tensor(2),
    "0d_float_times_int32_dim": lambda t: t.tensor(2.5) * t.tensor([1, 2], dtype=t.int32),
    "0d_int_plus_float_scalar": lambda t: t.tensor(5) + 2.5,
    "0d_int32_plus_0d_int64": lambda t: t.tensor(5, dtype=t.int32) + t.tensor(2),
    "int_pow_float": lambda t: t.tensor([1, 2]) ** 2.5,
    "int_pow_int": lambda t: t.tensor([1, 2]) ** 2,
    "int_pow_float_tensor": lambda t: t.tensor([2, 3]) ** t.tensor([2.0, 0.5]),
    "int_sqrt": lambda t: t.tensor([1, 2]).sqrt(),
    "int_exp": lambda t: t.tensor([0, 1]).exp(),
    "bool_sum": lambda t: t.tensor([True, False, True]).sum(),
    "int32_sum": lambda t: t.tensor([1, 2], dtype=t.int32).sum(),
    "where_int_and_float_scalar": lambda t: t.where(t.tensor([True, False]), t.tensor([1, 2]), 2.5),
    "cat_int_and_float": lambda t: t.cat([t.tensor([1, 2]), t.tensor([1.5])]),
    "float32_times_numpy_float64_scalar": lambda t: t.tensor([1.0, 2.0]) * np.float64(2.0),
    "float32_div_numpy_float64_scalar": lambda t: t.tensor([1.0, 2.0]) / np.float64(4.0),
}


@pytest.mark.parametrize("fn", PROMOTION.values(), ids=PROMOTION.keys())
def test_dtype_promotion_matches_torch(fn):
    compare_with_torch(fn, grad=False)


# ----------------------------------------------------------------------------- printing

REPRS = {
    "sigmoid": lambda t: t.tensor([1.0, 2.0, 3.0], requires_grad=True).sigmoid(),
    "leaf_requires_grad": lambda t: t.tensor([[1.0, -2.5], [3.25, 0.0]], requires_grad=True),
    "sum_0d": lambda t: (t.tensor([1.0, 2.0], requires_grad=True) * 3).sum(),
    "mean_dim": lambda t: t.tensor([[1.0, 2.0], [3.0, 5.0]], requires_grad=True).mean(1),
    "max_dim_return_type": lambda t: t.tensor([[1.0, 4.0], [3.0, 2.0]], requires_grad=True).max(1),
    "select_view": lambda t: t.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)[1],
    "float64_result": lambda t: t.tensor([1.0, 2.0], dtype=t.float64, requires_grad=True).exp(),
    "int_division": lambda t: t.tensor([1, 2, 3]) / 3,
    "bool_comparison": lambda t: t.tensor([1.0, 2.0, 3.0]) > 1.5,
    "int64_arange": lambda t: t.arange(5) * 2,
    "float16": lambda t: t.tensor([1.0, 2.5], dtype=t.float16) * 3,
    "setitem_copyslices": lambda t: _setitem_repr(t),
    "matmul": lambda t: t.tensor([[1.0, 2.0]], requires_grad=True) @ t.tensor([[3.0], [4.0]]),
    "large_values_sci": lambda t: t.tensor([1e-5, 1.0, 1e6]) * 2,
    "nan_inf": lambda t: t.tensor([0.0, 1.0, -1.0]) / 0,
    "detached": lambda t: t.tensor([1.0, 2.0], requires_grad=True).exp().detach(),
    "sort_return_type": lambda t: t.tensor([[3.0, 1.0, 2.0]], requires_grad=True).sort(),
    "topk_return_type": lambda t: t.tensor([3.0, 1.0, 2.0]).topk(2),
    "argsort": lambda t: t.tensor([[3.0, 1.0, 2.0], [0.0, -1.0, 5.0]]).argsort(dim=0, descending=True),
    "sort_ties_and_nan": lambda t: t.sort(
        t.tensor([3.0, 1.0, 3.0, 2.0, 1.0, float("nan"), -0.0, 0.0]), descending=True
    ),
    "sort_0d": lambda t: t.tensor(2.0, requires_grad=True).sort(),
}


def _setitem_repr(t):
    y = t.tensor([1.0, 2.0, 3.0], requires_grad=True).clone()
    y[1] = 0.0
    return y


@pytest.mark.parametrize("fn", REPRS.values(), ids=REPRS.keys())
def test_repr_matches_torch(fn, torch):
    assert repr(fn(gradlens_core)) == repr(fn(torch))
    assert str(fn(gradlens_core)) == str(fn(torch))


# ----------------------------------------------------------------------------- metadata: versions, leaves, aliasing
#
# Each scenario runs with gradlens_core and with torch and returns what it observed.


def _versions_views_and_bases(t):
    seen = []
    x = t.zeros(4, 3)
    v = x[1]
    w = x.t()
    d = x.detach()
    dd = x.data

    def snap(label):
        seen.append((label, x._version, v._version, w._version, d._version, dd._version))

    snap("start")
    v.add_(1)
    snap("view add_")
    x.mul_(2)
    snap("base mul_")
    w[0, 0] = 5.0
    snap("setitem on view")
    d.zero_()
    snap("detach zero_")
    dd.add_(1)
    snap("data add_")
    x[0] = 1.0
    snap("setitem basic")
    x[[0, 1]] = 2.0
    snap("setitem advanced")
    x += 1
    snap("iadd")
    x[t.tensor([True, False, True, False])] = t.tensor(3.0)
    snap("setitem mask")
    v.copy_(t.ones(3))
    snap("copy_")
    x.fill_(0)
    snap("fill_")
    seen.append(("values", x.tolist()))
    return seen


def _versions_autograd(t):
    seen = []
    a = t.ones(3, requires_grad=True)
    b = a * 2
    seen.append((a._version, b._version))
    b.add_(1)
    b[0] = 5.0
    c = b.view(3)
    c.mul_(2)
    seen.append((a._version, b._version, c._version))
    with t.no_grad():
        a.add_(1)
        a[0] = 0.0
    seen.append(a._version)
    e = b.exp()
    e.sigmoid_()
    seen.append((b._version, e._version))
    try:
        b.view(3, 1).add(t.ones(2, 2))  # a failed op does not bump anything
    except RuntimeError:
        pass
    seen.append(b._version)
    g = t.ones(2)
    g.requires_grad_()
    seen.append(g._version)
    (g * 2).sum().backward()
    (g * 2).sum().backward()  # accumulation into .grad bumps the grad's version, not g's
    seen.append((g._version, g.grad._version))
    return seen


def _leaf_flags(t):
    a = t.tensor([1.0, 2.0], requires_grad=True)
    n = t.tensor([1.0, 2.0])
    with t.no_grad():
        under_no_grad = a * 2
        view_no_grad = a[0]
    cases = {
        "leaf": a,
        "plain": n,
        "op": a * 2,
        "op_on_plain": n * 2,
        "detach": a.detach(),
        "data": a.data,
        "view": a[0],
        "view_of_plain": n[0],
        "under_no_grad": under_no_grad,
        "view_under_no_grad": view_no_grad,
        "clone": a.clone(),
        "to_float64": a.to(t.float64),
        "long_cast": a.long(),
        "argmax": a.argmax(),
        "comparison": a > 1,
        "tensor_of_tensor_result": (a * 1).detach().requires_grad_(),
        "sum": a.sum(),
        "int_tensor": t.tensor([1, 2]),
        "max_indices": a.max(0).indices,
        "round": a.round(),
        "sign": a.sign(),
    }
    return {k: (v.is_leaf, v.requires_grad, v.grad_fn is None, str(v.dtype)) for k, v in cases.items()}


def _aliasing(t):
    x = t.arange(12.0)
    m = x.view(3, 4)
    views = {
        "view": m,
        "view_of_view_row": m[1],
        "t": m.t(),
        "slice_step": x[2::3],
        "select": m.select(1, 2),
        "unsqueeze": x.unsqueeze(0),
        "squeeze": x.view(1, 12).squeeze(),
        "expand": x[:3].expand(2, 3),
        "reshape_viewable": m.reshape(2, 6),
        "reshape_copy": m.t().reshape(12),
        "flatten_2d": m.flatten(),
        "flatten_1d": x.flatten(),
        "permute": m.permute(1, 0),
        "transpose": m.transpose(0, 1),
        "detach": x.detach(),
        "data": x.data,
        "clone": x.clone(),
        "adv_index": x[[0, 1]],
        "contiguous_of_t": m.t().contiguous(),
        "contiguous_of_contiguous": m.contiguous(),
        "narrow": m.narrow(1, 1, 2),
        "chunk0": m.chunk(2, 1)[1],
        "unbind": m.unbind(0)[2],
        "float_of_float": x.float(),
        "to_same_dtype": x.to(t.float32),
        "double": x.double(),
    }
    out = {}
    for k, v in views.items():
        base = v._base
        out[k] = (
            base is x,
            base is m,
            base is None,
            v is x,
            v is m,
            v.data_ptr() == x.data_ptr(),
            _offset_in(v, x),
            v.storage_offset(),
            v.stride(),
            v.is_contiguous(),
        )
    return out


def _version_sharing(t):
    x = t.arange(6.0)
    v = x.view(2, 3)
    d = x.detach()
    dd = x.data
    n = x.numpy()
    n[0] = 100.0  # numpy writes are invisible to the version counter
    v[1, 1] = -1.0
    d.add_(1)
    dd.mul_(2)
    return [x._version, v._version, d._version, dd._version, x.tolist(), v.tolist()]


def _offset_in(v, x):
    """Byte offset of v's first element inside x's memory, or None when v's memory is elsewhere (a copy)."""
    off = v.data_ptr() - x.data_ptr()
    return off if 0 <= off < x.numel() * x.element_size() else None


META = {
    "versions_views_and_bases": _versions_views_and_bases,
    "versions_autograd": _versions_autograd,
    "leaf_flags": _leaf_flags,
    "aliasing": _aliasing,
    "version_sharing": _version_sharing,
}


@pytest.mark.parametrize("scenario", META.values(), ids=META.keys())
def test_metadata_matches_torch(scenario, torch):
    assert scenario(gradlens_core) == scenario(torch)


# ----------------------------------------------------------------------------- strides of empty tensors
#
# numpy gives an empty array it allocates strides 0; PyTorch's are contiguous (a size-0 dim
# counts as 1), views derive theirs from their base's, and an elementwise result follows
# TensorIterator (contiguous when every operand has its shape, else multiplied by each size,
# 0 included, in the operands' order). The strides steer the gradient layout contract, so
# they show in a leaf's .grad._version too.


def _transposed(t):
    return t.empty(2, 0, 3).transpose(0, 2)  # strides (1, 3, 3)


EMPTY_STRIDES = {
    "empty_1d": lambda t: t.empty(0),
    "empty_2d": lambda t: t.empty(0, 3),
    "empty_trailing_zero": lambda t: t.empty(3, 0),
    "empty_3d": lambda t: t.empty(2, 0, 3),
    "zeros_with_ones": lambda t: t.zeros(1, 0, 0, 1),
    "tensor_of_empty_lists": lambda t: t.tensor([[], []]),
    "arange_empty": lambda t: t.arange(0),
    "full_empty": lambda t: t.full((0, 3), 1.0),
    "transpose": _transposed,
    "permute": lambda t: t.empty(2, 0, 3).permute(2, 0, 1),
    "t": lambda t: t.empty(3, 0).t(),
    "slice_to_empty": lambda t: t.ones(4, 5)[2:2],
    "slice_columns_to_empty": lambda t: t.ones(4, 5)[1:3, 5:],
    "narrow_to_empty": lambda t: t.ones(4, 5).narrow(1, 0, 0),
    "split_empty_piece": lambda t: t.ones(3, 4).split([4, 0], 1)[1],
    "select_of_empty": lambda t: t.empty(2, 0, 3).select(2, 1),
    "view_other_shape": lambda t: t.empty(2, 0, 3).view(3, 0, 2),
    "reshape_same_shape_keeps_strides": lambda t: t.empty(0, 3).t().reshape(3, 0),
    "flatten": lambda t: t.empty(0, 3).t().flatten(),
    "unsqueeze_before_zero": lambda t: t.empty(2, 0, 3).unsqueeze(1),
    "unsqueeze_of_transposed": lambda t: t.empty(0, 3).t().unsqueeze(1),
    "index_none": lambda t: t.empty(0, 3).t()[:, None],
    "squeeze_keeps_strides": lambda t: t.empty(0, 1, 3).permute(2, 1, 0).squeeze(1),
    "expand": lambda t: t.empty(1, 0).expand(3, 0),
    "expand_size_one": lambda t: t.empty(0, 1).expand(0, 4),
    "same_shape_operands_contiguous": lambda t: _transposed(t) + _transposed(t),
    "unary_contiguous": lambda t: _transposed(t).exp(),
    "number_operand_in_operand_order": lambda t: _transposed(t) * 2,
    "broadcast_operand_in_operand_order": lambda t: _transposed(t) + t.ones(1),
    "rsub": lambda t: 1 - t.empty(3, 0).t(),
    "where_with_number": lambda t: t.where(_transposed(t) > 0, _transposed(t), 0.0),
    "clone_keeps_strides": lambda t: _transposed(t).clone(),
    "clone_keeps_expanded_strides": lambda t: t.empty(3, 1, 0).expand(3, 4, 0).clone(),
    "contiguous": lambda t: t.empty(2, 0, 3).permute(1, 2, 0).contiguous(),
    "to_dtype_keeps_strides": lambda t: _transposed(t).double(),
    "empty_like_keeps_strides": lambda t: t.empty_like(t.empty(2, 0, 3).permute(1, 2, 0)),
    "zeros_like": lambda t: t.zeros_like(_transposed(t)),
    "reduction": lambda t: _transposed(t).sum(1),
    "cat": lambda t: t.cat([t.empty(0, 3), t.empty(0, 3)]),
    "stack": lambda t: t.stack([t.empty(3, 0).t(), t.empty(3, 0).t()], 2),
    "matmul": lambda t: t.ones(0, 3) @ t.ones(3, 4),
    "cumsum": lambda t: _transposed(t).cumsum(1),
}


@pytest.mark.parametrize("make", EMPTY_STRIDES.values(), ids=EMPTY_STRIDES.keys())
def test_empty_tensor_strides_match_torch(make, torch):
    def meta(t):
        x = make(t)
        return tuple(x.shape), x.stride(), x.is_contiguous()

    assert meta(gradlens_core) == meta(torch)


EMPTY_GRADS = {
    "expanded_grad_is_copied": lambda x: x.sum(),
    "contiguous_product_is_taken": lambda x: (x * 2).sum(),
    # TBackward0's transpose of an empty (3, 0) grad has strides (1, 1) in PyTorch: not the
    # leaf's (3, 1), so AccumulateGrad copies it
    "transposed_product_is_copied": lambda x: (x.t() * 2).sum(),
    "permuted_product_is_copied": lambda x: (x.permute(1, 0) * 2).sum(),
    "transposed_dims_product_is_copied": lambda x: (x.transpose(0, 1) * 2).sum(),
    "mT_product_is_copied": lambda x: (x.mT * 2).sum(),
    "unsqueezed_transpose": lambda x: (x.unsqueeze(0).transpose(1, 2) * 2).sum(),
    "transposed_twice_is_taken": lambda x: (x.t().t() * 2).sum(),
    "broadcast_product_summed_and_squeezed_is_taken": lambda x: (x.unsqueeze(0) * x.new_ones(2, 1, 1)).sum(),
    "mean": lambda x: x.mean(),
    "matmul": lambda x: (x @ x.new_ones(3, 2)).sum(),
    "reshape": lambda x: (x.reshape(3, 0) * 2).sum(),
}


@pytest.mark.parametrize("loss", EMPTY_GRADS.values(), ids=EMPTY_GRADS.keys())
def test_empty_leaf_grad_strides_and_version_match_torch(loss, torch):
    """Whether AccumulateGrad takes an empty grad (version 0) or copies it (version 1)
    depends on the grad's strides against the leaf's."""

    def run(t):
        x = t.empty(0, 3, requires_grad=True)
        loss(x).backward()
        return x.grad.stride(), x.grad._version

    assert run(gradlens_core) == run(torch)


# ----------------------------------------------------------------------------- no stray numpy warnings

NUMPY_WARNING_PROGRAM = """
import gradlens_core as torch
z = torch.tensor([0.0, 2.0], requires_grad=True)
e = torch.tensor([0.0, 2.0], requires_grad=True)
for out in (z ** e, z ** 0.5, z.sqrt(), z.log(), torch.tensor([1.0, -1.0], requires_grad=True) / torch.zeros(2)):
    out.backward(torch.ones_like(out))
print("done")
"""


def test_inf_and_nan_at_edges_print_no_numpy_warnings():
    """torch prints nothing for inf/nan from x**y, sqrt, log, division at 0; a fresh interpreter with the
    default warning filters must not print numpy's RuntimeWarnings either."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", NUMPY_WARNING_PROGRAM], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "done"
    assert "Warning" not in proc.stderr, proc.stderr


# ----------------------------------------------------------------------------- linspace, bit for bit


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_linspace_matches_torch_bit_for_bit(dtype):
    torch = pytest.importorskip("torch")
    # PyTorch's kernel counts the first half up from start and the rest back from end, each value
    # one fused multiply-add; numpy's float64 linspace differs in the last bit
    rng = np.random.default_rng(7)
    for _ in range(150):
        start, end = (float(v) for v in rng.normal(size=2) * 5)
        if rng.integers(0, 3) == 0:
            start, end = round(start * 2) / 2, round(end * 2) / 2
        steps = int(rng.integers(0, 130))
        want = torch.linspace(start, end, steps, dtype=getattr(torch, dtype)).numpy()
        got = gradlens_core.linspace(start, end, steps, dtype=getattr(gradlens_core, dtype)).numpy()
        assert got.dtype == want.dtype and got.shape == want.shape
        assert got.tobytes() == want.tobytes(), (start, end, steps)
    big = (-3.3, 7.1, 100_000)  # past one thread's share: the same formula per element
    assert gradlens_core.linspace(*big, dtype=getattr(gradlens_core, dtype)).numpy().tobytes() == (
        torch.linspace(*big, dtype=getattr(torch, dtype)).numpy().tobytes()
    )


def test_linspace_non_finite_ends_and_overflow_match_torch():
    torch = pytest.importorskip("torch")
    for args in [(float("-inf"), 1.0, 3), (0.0, float("inf"), 4), (float("nan"), 1.0, 3)]:
        want = torch.linspace(*args, dtype=torch.float64).numpy()
        got = gradlens_core.linspace(*args, dtype=gradlens_core.float64).numpy()
        np.testing.assert_array_equal(got, want)
    with pytest.raises(RuntimeError, match="value cannot be converted to type float without overflow"):
        gradlens_core.linspace(0.0, 1e300, 3)


def test_half_cumulative_ops_accumulate_in_float_both_ways():
    # PyTorch's cum kernels accumulate half in float (numpy's cumsum of 3000 x 0.1 stalls at 256)
    torch = pytest.importorskip("torch")
    for op in ("cumsum", "cumprod", "prod"):
        grads = []
        for mod in (torch, gradlens_core):
            values = [0.1] * 3000 if op == "cumsum" else [1.01] * 300 + [0.0]
            x = mod.tensor(values, dtype=mod.float16, requires_grad=True)
            y = x.prod() if op == "prod" else getattr(x, op)(0)
            y.sum().backward()
            grads.append((y.detach().numpy().tobytes(), x.grad.numpy().tobytes()))
        assert grads[0] == grads[1], op


# ----------------------------------------------------------------------------- a number's remainder by a tensor
#
# remainder.Scalar_Tensor has no derivative in PyTorch: a result that requires grad gets a
# NotImplemented node, and backward through it raises.

NUMBER_REMAINDER = {
    "float_mod_float_tensor": lambda t, x: 5.0 % x,
    "int_mod_float_tensor": lambda t, x: 5 % x,
    "torch_remainder_float": lambda t, x: t.remainder(5.0, x),
    "torch_remainder_negative_int": lambda t, x: t.remainder(-3, x),
    "float_mod_int_tensor": lambda t, x: 5.5 % t.tensor([1, -2, 3]),
    "int_mod_int_tensor": lambda t, x: 7 % t.tensor([2, -3, 5]),
    "bool_mod_int_tensor": lambda t, x: t.remainder(True, t.tensor([2, 3])),
    "float_mod_float64_tensor": lambda t, x: 5 % x.double(),
    "float_mod_float16_tensor": lambda t, x: 5.0 % x.half(),
    "mod_zeros": lambda t, x: 5.0 % t.tensor([0.0, -0.0, 2.0], requires_grad=True),
    "under_no_grad": lambda t, x: _no_grad(t, lambda: 5.0 % x),
}


def _no_grad(t, fn):
    with t.no_grad():
        return fn()


@pytest.mark.parametrize("fn", NUMBER_REMAINDER.values(), ids=NUMBER_REMAINDER.keys())
def test_number_remainder_by_tensor_matches_torch(fn):
    compare_with_torch(fn, np.array([1.5, -2.0, 3.0, -0.7], dtype=F), forward_only=True)


def test_number_remainder_by_tensor_prints_and_refuses_backward_as_torch(torch):
    def run(t):
        x = t.tensor([1.5, -2.0, 3.0], requires_grad=True)
        y = 5.0 % x
        node = y.grad_fn
        seen = [repr(y), type(node).__name__, node.name(), repr(node).split(" object")[0]]
        seen.append([type(n).__name__ for n, _ in node.next_functions])
        for attempt in (lambda: y.sum().backward(), lambda: t.autograd.grad(y.sum(), x)):
            with pytest.raises(RuntimeError) as info:
                attempt()
            seen.append(str(info.value))
        return seen

    assert run(gradlens_core) == run(torch)


# ----------------------------------------------------------------------------- div_ with a rounding mode

ROUNDED_DIV_ = {
    "floor": lambda t, x, y: x.clone().div_(y, rounding_mode="floor"),
    "trunc_number": lambda t, x: x.clone().div_(-0.7, rounding_mode="trunc"),
    "floor_int": lambda t, x: t.tensor([5, -7, 3]).div_(2, rounding_mode="floor") * x,
    "trunc_int_tensor": lambda t, x: t.tensor([5, -7, 3]).div_(t.tensor([2, 2, -2]), rounding_mode="trunc") * x,
}


@pytest.mark.parametrize("fn", ROUNDED_DIV_.values(), ids=ROUNDED_DIV_.keys())
def test_inplace_div_rounding_modes_match_torch(fn):
    arrays = [np.array([5.0, -7.0, 3.5], dtype=F), np.array([2.0, 2.0, -1.5], dtype=F)]
    compare_with_torch(fn, *arrays[: fn.__code__.co_argcount - 1])


# ----------------------------------------------------------------------------- topk's choice among equal values


@pytest.mark.parametrize("n", [5, 16, 17, 40, 64, 130, 700])
@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("sorted_", [True, False])
def test_topk_picks_among_ties_as_torch(n, largest, sorted_, torch):
    """PyTorch's topk runs libstdc++'s partial_sort or nth_element (+ sort): not stable, so which
    of several equal values it returns (and so which element gets the gradient) is theirs."""
    rng = np.random.default_rng(n)
    for trial in range(6):
        a = rng.integers(0, 3, size=(3, n)).astype(F)
        if trial % 3 == 0:
            a[rng.random(a.shape) < 0.1] = np.nan
        if trial % 2:
            a[a == 0] = -0.0
        k = int(rng.integers(1, min(n, 12) + 1))
        outs = []
        for lib in (gradlens_core, torch):
            x = lib.tensor(a, requires_grad=True)
            values, indices = x.topk(k, dim=1, largest=largest, sorted=sorted_)
            values.backward(lib.ones_like(values))
            outs.append((indices.numpy().copy(), x.grad.numpy().copy(), np.signbit(values.detach().numpy())))
        for ours, theirs in zip(*outs):
            np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int16", "bool"])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_orders_ties_as_torch(dtype, descending, torch):
    """PyTorch's CPU sort without ``stable=True`` is libstdc++'s std::sort (introsort): equal
    values come out in its order, not in index order, beyond 16 elements."""
    rng = np.random.default_rng(len(dtype) + descending)
    for n in (5, 17, 40, 100, 300):
        a = rng.integers(0, 3, size=(2, n)).astype(dtype)
        if dtype.startswith("float"):
            a[rng.random(a.shape) < 0.1] = np.nan
        for stable, dim, view in ((None, 1, False), (False, 0, False), (True, 1, False), (None, 1, True)):
            outs = []
            for lib in (gradlens_core, torch):
                x = lib.tensor(a)
                if view:  # a transposed layout, and an expanded dim left as it is
                    x = x.t().contiguous().t()
                kw = {} if stable is None else {"stable": stable}
                values, indices = x.sort(dim=dim, descending=descending, **kw)
                expanded = lib.tensor(a[:, :1]).expand(2, 4).sort(dim=1, descending=descending)
                outs.append((indices.numpy(), values.numpy(), expanded.indices.numpy()))
            for ours, theirs in zip(*outs):
                np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize(
    "expr",
    ["t.sqrt()", "t * 2", "t + t", "t + m.ones(3, 1)", "t + m.ones(3, 4)", "u.sqrt()", "u * u", "u + 1"],
)
def test_elementwise_result_strides_in_dims_of_size_one(expr):
    # TensorIterator's fast setup: operands of one shape, all contiguous (size-1 dims have no
    # say) give C strides throughout; a wrapped number or broadcasting takes the general path
    torch = pytest.importorskip("torch")

    def strides(m):
        t = m.tensor([[-0.5, 0.25, 0.25]]).permute(1, 0)
        u = m.ones(2, 1, 3).transpose(0, 2)
        return eval(expr, {"m": m, "t": t, "u": u}).stride()

    assert strides(gradlens_core) == strides(torch)


def test_node_names_and_class_names_as_torch():
    torch = pytest.importorskip("torch")

    def names(mod):
        x = mod.tensor([1.0, 2.0], requires_grad=True)
        y = (x * 2).sin() + mod.remainder(5.0, x)
        out = []
        stack = [y.grad_fn]
        while stack:
            n = stack.pop()
            out.append((n.name(), type(n).__name__))
            stack.extend(m for m, _ in n.next_functions if m is not None)
        return out

    assert names(gradlens_core) == names(torch)


# ----------------------------------------------------------------------------- numpy scalars as numbers
#
# PyTorch reads a numpy integer as a Python int and any other numpy scalar (np.bool_ too) as a
# Python float: a wrapped number, whose own width does not count in type promotion.

NP_SCALARS = {
    "int64": np.int64(3),
    "int32": np.int32(3),
    "uint8": np.uint8(3),
    "int8": np.int8(-3),
    "float64": np.float64(2.5),
    "float32": np.float32(2.5),
    "float16": np.float16(2.5),
    "bool": np.bool_(True),
}
NP_TENSORS = {
    "int64": lambda t: t.tensor([1, 2]),
    "float32": lambda t: t.tensor([1.0, 2.0]),
    "bool": lambda t: t.tensor([True, False]),
    "float16": lambda t: t.tensor([1.0, 2.0], dtype=t.float16),
    "uint8": lambda t: t.tensor([1, 2], dtype=t.uint8),
    "int32_0d": lambda t: t.tensor(2, dtype=t.int32),
}
NP_OPS = {
    "add": lambda t, a, b: a + b,
    "radd": lambda t, a, b: b + a,
    "sub": lambda t, a, b: a - b,
    "rsub": lambda t, a, b: b - a,
    "mul": lambda t, a, b: a * b,
    "floordiv": lambda t, a, b: a // b,
    "rfloordiv": lambda t, a, b: b // a,
    "mod": lambda t, a, b: a % b,
    "pow": lambda t, a, b: a**b,
    "lt": lambda t, a, b: a < b,
    "and": lambda t, a, b: a & b,
    "ror": lambda t, a, b: b | a,
    "torch.add_first": lambda t, a, b: t.add(b, a),
    "torch.sub_first": lambda t, a, b: t.sub(b, a),
    "torch.div_first": lambda t, a, b: t.div(b, a),
    "torch.mul": lambda t, a, b: t.mul(a, b),
    "torch.bitwise_xor_first": lambda t, a, b: t.bitwise_xor(b, a),
    "where": lambda t, a, b: t.where(a > 1, a, b),
    "clamp": lambda t, a, b: t.clamp(a, max=b),
    "add_alpha": lambda t, a, b: a.add(a, alpha=b),
    "iadd": lambda t, a, b: a.__iadd__(b),
    "imul": lambda t, a, b: a.__imul__(b),
}


def _np_outcome(fn):
    try:
        r = fn()
    except Exception as e:  # noqa: BLE001 - the outcome is compared
        return (type(e).__name__, str(e).split("\n")[0])
    return (str(r.dtype), r.tolist())


@pytest.mark.parametrize("op", NP_OPS)
def test_numpy_scalar_operands_promote_as_torch(op, torch):
    for tensor, make in NP_TENSORS.items():
        for name, s in NP_SCALARS.items():
            theirs = _np_outcome(lambda make=make, s=s: NP_OPS[op](torch, make(torch), s))
            ours = _np_outcome(lambda make=make, s=s: NP_OPS[op](gradlens_core, make(gradlens_core), s))
            assert ours == theirs, (tensor, name)


@pytest.mark.parametrize(
    "data",
    [
        [np.int32(3)],
        [np.float64(2.5), 1],
        [1.5, np.float64(2.5)],
        [np.float16(2.5), 1],
        [np.uint8(3), np.int8(-1)],
    ],
    ids=str,
)
def test_tensor_of_numpy_scalars_infers_dtype_as_torch(data, torch):
    assert _np_outcome(lambda: gradlens_core.tensor(data)) == _np_outcome(lambda: torch.tensor(data))


@pytest.mark.parametrize(
    "make",
    [
        lambda t: t.full((2,), np.int64(3)),
        lambda t: t.arange(np.int64(3)),
        lambda t: t.arange(0, 5, np.int32(2)),
        lambda t: t.tensor([1, 2], dtype=t.uint8) + np.int64(300),
        lambda t: t.tensor([1, 2], dtype=t.uint8) + -3,
        lambda t: t.div(np.int8(-3), t.tensor([1, 2], dtype=t.uint8)),
        lambda t: t.tensor([1, 2], dtype=t.uint8).add(t.tensor([1, 2], dtype=t.uint8), alpha=-3),
    ],
)
def test_factories_and_wrapping_with_numpy_scalars_as_torch(make, torch):
    assert _np_outcome(lambda: make(gradlens_core)) == _np_outcome(lambda: make(torch))


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [None, 0, 1, -1])
def test_argmax_argmin_shapes_and_values_as_torch(name, keepdim, dim):
    torch = pytest.importorskip("torch")

    def run(mod):
        x = mod.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]])
        r = getattr(mod, name)(x, dim=dim, keepdim=keepdim)
        return tuple(r.shape), r.tolist(), str(r.dtype)

    assert run(gradlens_core) == run(torch)
