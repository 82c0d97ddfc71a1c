"""Bad input raises PyTorch's exception class with PyTorch's first sentence.

Every expected message below was printed by torch 2.13.0 (CPU) for the same program;
when torch is importable the same programs are also compared with it live.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import first_sentence

import gradlens_core

# ----------------------------------------------------------------------------- the programs


def _leaf_inplace(t):
    a = t.ones(3, requires_grad=True)
    a.add_(1)


def _leaf_view_inplace(t):
    a = t.ones(3, requires_grad=True)
    a[0].add_(1)


def _leaf_setitem(t):
    a = t.ones(3, requires_grad=True)
    a[0] = 2.0


def _no_grad_view_inplace(t):
    a = t.ones(3, requires_grad=True)
    with t.no_grad():
        v = a[:2]
    v.mul_(2)


def _detach_view_in_place(t):
    b = t.ones(3, requires_grad=True) * 2
    b[0].detach_()


def _backward_twice(t):
    a = t.ones(3, requires_grad=True)
    y = a.exp().sum()
    y.backward()
    y.backward()


def _backward_twice_scalar_mul(t):
    a = t.ones(3, requires_grad=True)
    y = (a * 2).sum()  # mul by a Python number saves the scalar, so the graph is freed
    y.backward()
    y.backward()


def _modified_saved_output(t):
    a = t.ones(3, requires_grad=True)
    y = a.sigmoid()
    y.mul_(2)
    y.sum().backward()


def _modified_saved_input(t):
    a = t.ones(3, requires_grad=True)
    c = a + 0
    y = c.sin()
    c.add_(1)
    y.sum().backward()


def _modified_saved_plain_tensor(t):
    a = t.ones(3, requires_grad=True)
    w = t.ones(3)
    y = a * w
    w.add_(1)
    y.sum().backward()


def _modified_saved_through_view(t):
    a = t.ones(2, 3, dtype=t.float64, requires_grad=True)
    y = a.exp()
    y[0, 0] = 0.0
    y.sum().backward()


def _modified_saved_through_detach(t):
    a = t.ones(3, requires_grad=True)
    y = a.tanh()
    y.detach().zero_()
    y.sum().backward()


def _hook_without_grad(t):
    t.ones(3).register_hook(lambda g: g)


def _grad_unused_input(t):
    a = t.ones(3, requires_grad=True)
    b = t.ones(3, requires_grad=True)
    t.autograd.grad((a * 2).sum(), [a, b])


def _backward_non_scalar(t):
    (t.ones(3, requires_grad=True) * 2).backward()


def _backward_not_requiring_grad(t):
    t.ones(3).sum().backward()


def _backward_through_detached(t):
    t.ones(3, requires_grad=True).detach().sum().backward()


def _grad_of_non_grad_output(t):
    a = t.ones(3)
    t.autograd.grad(a.sum(), a)


def _grad_wrt_non_grad_input(t):
    a = t.ones(3, requires_grad=True)
    b = t.ones(3)
    t.autograd.grad((a * b).sum(), b)


def _backward_gradient_shape(t):
    (t.ones(3, requires_grad=True) * 2).backward(t.ones(2))


def _backward_empty_inputs(t):
    t.ones(3, requires_grad=True).exp().backward(t.ones(3), inputs=[])


def _retain_grad_without_grad(t):
    t.ones(3).retain_grad()


def _requires_grad_false_on_non_leaf(t):
    (t.ones(3, requires_grad=True) * 2).requires_grad_(False)


ERRORS = [
    # matmul shapes
    (
        "matmul_2d_2d",
        lambda t: t.ones(2, 3) @ t.ones(4, 5),
        RuntimeError,
        "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)",
    ),
    (
        "matmul_2d_1d",
        lambda t: t.ones(2, 3) @ t.ones(4),
        RuntimeError,
        "size mismatch, got input (2), mat (2x3), vec (4)",
    ),
    (
        "matmul_1d_1d",
        lambda t: t.ones(3) @ t.ones(4),
        RuntimeError,
        "inconsistent tensor size, expected tensor [3] and src [4] to have the same number of elements, but got 3 and 4 elements respectively",
    ),
    (
        "matmul_1d_2d",
        lambda t: t.ones(3) @ t.ones(4, 5),
        RuntimeError,
        "mat1 and mat2 shapes cannot be multiplied (1x3 and 4x5)",
    ),
    (
        "mm_fn",
        lambda t: t.mm(t.ones(2, 3), t.ones(4, 5)),
        RuntimeError,
        "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)",
    ),
    (
        "matmul_3d_3d",
        lambda t: t.ones(2, 2, 3) @ t.ones(2, 4, 5),
        RuntimeError,
        "Expected size for first two dimensions of batch2 tensor to be:",
    ),
    # backward entry points
    (
        "backward_non_scalar",
        _backward_non_scalar,
        RuntimeError,
        "grad can be implicitly created only for scalar outputs",
    ),
    (
        "backward_not_requiring_grad",
        _backward_not_requiring_grad,
        RuntimeError,
        "element 0 of tensors does not require grad and does not have a grad_fn",
    ),
    (
        "backward_through_detached",
        _backward_through_detached,
        RuntimeError,
        "element 0 of tensors does not require grad and does not have a grad_fn",
    ),
    ("backward_gradient_shape", _backward_gradient_shape, RuntimeError, "Mismatch in shape:"),
    (
        "backward_empty_inputs",
        _backward_empty_inputs,
        RuntimeError,
        "`inputs` argument to `backward()` cannot be empty.",
    ),
    (
        "backward_twice",
        _backward_twice,
        RuntimeError,
        "Trying to backward through the graph a second time (or directly access saved tensors after they have already been freed).",
    ),
    (
        "backward_twice_scalar_mul",
        _backward_twice_scalar_mul,
        RuntimeError,
        "Trying to backward through the graph a second time (or directly access saved tensors after they have already been freed).",
    ),
    # autograd.grad
    (
        "grad_unused_input",
        _grad_unused_input,
        RuntimeError,
        "The differentiated Tensor at index 1 appears to not have been used in the graph.",
    ),
    (
        "grad_of_non_grad_output",
        _grad_of_non_grad_output,
        RuntimeError,
        "element 0 of tensors does not require grad and does not have a grad_fn",
    ),
    (
        "grad_wrt_non_grad_input",
        _grad_wrt_non_grad_input,
        RuntimeError,
        "One of the differentiated Tensors does not require grad",
    ),
    # leaving the graph
    (
        "numpy_requires_grad",
        lambda t: t.ones(3, requires_grad=True).numpy(),
        RuntimeError,
        "Can't call numpy() on Tensor that requires grad.",
    ),
    # requires_grad on integers
    (
        "int_tensor_requires_grad_kwarg",
        lambda t: t.tensor([1, 2], requires_grad=True),
        RuntimeError,
        "Only Tensors of floating point and complex dtype can require gradients",
    ),
    (
        "int_tensor_requires_grad_method",
        lambda t: t.tensor([1, 2]).requires_grad_(),
        RuntimeError,
        "only Tensors of floating point dtype can require gradients",
    ),
    (
        "int_zeros_requires_grad_kwarg",
        lambda t: t.zeros(2, dtype=t.int64, requires_grad=True),
        RuntimeError,
        "Only Tensors of floating point and complex dtype can require gradients",
    ),
    (
        "requires_grad_false_on_non_leaf",
        _requires_grad_false_on_non_leaf,
        RuntimeError,
        "you can only change requires_grad flags of leaf variables.",
    ),
    # broadcasting
    (
        "broadcast_add",
        lambda t: t.ones(2, 3) + t.ones(4),
        RuntimeError,
        "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1",
    ),
    (
        "broadcast_mul",
        lambda t: t.ones(2, 3) * t.ones(3, 2),
        RuntimeError,
        "The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 1",
    ),
    (
        "broadcast_leading",
        lambda t: t.ones(4, 3) - t.ones(2, 1, 3) * t.ones(5, 1, 1),
        RuntimeError,
        "The size of tensor a (2) must match the size of tensor b (5) at non-singleton dimension 0",
    ),
    # views
    (
        "view_non_contiguous",
        lambda t: t.ones(2, 3).t().view(6),
        RuntimeError,
        "view size is not compatible with input tensor's size and stride (at least one dimension spans across two contiguous subspaces).",
    ),
    ("view_invalid_shape", lambda t: t.ones(2, 3).view(4), RuntimeError, "shape '[4]' is invalid for input of size 6"),
    (
        "view_invalid_inferred_shape",
        lambda t: t.ones(2, 3).view(-1, 4),
        RuntimeError,
        "shape '[-1, 4]' is invalid for input of size 6",
    ),
    (
        "expand_invalid",
        lambda t: t.ones(3, 2).expand(3, 4),
        RuntimeError,
        "The expanded size of the tensor (4) must match the existing size (2) at non-singleton dimension 1.",
    ),
    (
        "write_to_expanded",
        lambda t: t.ones(3, 1).expand(3, 4).add_(1),
        RuntimeError,
        "unsupported operation: more than one element of the written-to tensor refers to a single memory location.",
    ),
    # in-place on leaves
    (
        "inplace_on_leaf",
        _leaf_inplace,
        RuntimeError,
        "a leaf Variable that requires grad is being used in an in-place operation.",
    ),
    (
        "inplace_on_view_of_leaf",
        _leaf_view_inplace,
        RuntimeError,
        "a view of a leaf Variable that requires grad is being used in an in-place operation.",
    ),
    (
        "setitem_on_leaf",
        _leaf_setitem,
        RuntimeError,
        "a view of a leaf Variable that requires grad is being used in an in-place operation.",
    ),
    (
        "inplace_on_view_made_under_no_grad",
        _no_grad_view_inplace,
        RuntimeError,
        "A view was created in no_grad mode and is being modified inplace with grad mode enabled.",
    ),
    ("detach__on_view", _detach_view_in_place, RuntimeError, "Can't detach views in-place."),
    # the in-place error at backward
    (
        "modified_saved_output",
        _modified_saved_output,
        RuntimeError,
        "one of the variables needed for gradient computation has been modified by an inplace operation:",
    ),
    (
        "modified_saved_input",
        _modified_saved_input,
        RuntimeError,
        "one of the variables needed for gradient computation has been modified by an inplace operation:",
    ),
    (
        "modified_saved_plain_tensor",
        _modified_saved_plain_tensor,
        RuntimeError,
        "one of the variables needed for gradient computation has been modified by an inplace operation:",
    ),
    (
        "modified_saved_through_view",
        _modified_saved_through_view,
        RuntimeError,
        "one of the variables needed for gradient computation has been modified by an inplace operation:",
    ),
    (
        "modified_saved_through_detach",
        _modified_saved_through_detach,
        RuntimeError,
        "one of the variables needed for gradient computation has been modified by an inplace operation:",
    ),
    # hooks and retain_grad
    (
        "hook_without_grad",
        _hook_without_grad,
        RuntimeError,
        "cannot register a hook on a tensor that doesn't require gradient",
    ),
    (
        "retain_grad_without_grad",
        _retain_grad_without_grad,
        RuntimeError,
        "can't retain_grad on Tensor that has requires_grad=False",
    ),
    # indexing
    ("index_out_of_range", lambda t: t.ones(3)[5], IndexError, "index 5 is out of bounds for dimension 0 with size 3"),
    (
        "index_negative_out_of_range",
        lambda t: t.ones(3)[-4],
        IndexError,
        "index -4 is out of bounds for dimension 0 with size 3",
    ),
    (
        "index_out_of_range_second_dim",
        lambda t: t.ones(2, 3)[1, 3],
        IndexError,
        "index 3 is out of bounds for dimension 1 with size 3",
    ),
    (
        "index_out_of_range_after_slice",
        lambda t: t.ones(2, 3)[:, 5],
        IndexError,
        "index 5 is out of bounds for dimension 1 with size 3",
    ),
    (
        "index_out_of_range_list",
        lambda t: t.ones(3)[[0, 5]],
        IndexError,
        "index 5 is out of bounds for dimension 0 with size 3",
    ),
    ("too_many_indices", lambda t: t.ones(2, 3)[0, 1, 2], IndexError, "too many indices for tensor of dimension 2"),
    (
        "float_index",
        lambda t: t.ones(3)[t.tensor([0.0])],
        IndexError,
        "tensors used as indices must be long, int, byte or bool tensors",
    ),
    (
        "select_out_of_range",
        lambda t: t.ones(2, 3).select(1, 3),
        IndexError,
        "select(): index 3 out of range for tensor of size [2, 3] at dimension 1",
    ),
    # dims
    (
        "dim_out_of_range_sum",
        lambda t: t.ones(2, 3).sum(2),
        IndexError,
        "Dimension out of range (expected to be in range of [-2, 1], but got 2)",
    ),
    (
        "dim_out_of_range_negative",
        lambda t: t.ones(2, 3).softmax(-3),
        IndexError,
        "Dimension out of range (expected to be in range of [-2, 1], but got -3)",
    ),
    (
        "dim_out_of_range_transpose",
        lambda t: t.ones(2, 3).transpose(0, 2),
        IndexError,
        "Dimension out of range (expected to be in range of [-2, 1], but got 2)",
    ),
    (
        "dim_out_of_range_unsqueeze",
        lambda t: t.ones(2, 3).unsqueeze(3),
        IndexError,
        "Dimension out of range (expected to be in range of [-3, 2], but got 3)",
    ),
    # scalars out of tensors
    (
        "item_multi_element",
        lambda t: t.ones(3).item(),
        RuntimeError,
        "a Tensor with 3 elements cannot be converted to Scalar",
    ),
    (
        "float_multi_element",
        lambda t: float(t.ones(3)),
        ValueError,
        "only one element tensors can be converted to Python scalars",
    ),
    (
        "int_multi_element",
        lambda t: int(t.ones(3)),
        ValueError,
        "only one element tensors can be converted to Python scalars",
    ),
    (
        "bool_multi_element",
        lambda t: bool(t.ones(3)),
        RuntimeError,
        "Boolean value of Tensor with more than one value is ambiguous",
    ),
    ("len_0d", lambda t: len(t.tensor(1.0)), TypeError, "len() of a 0-d tensor"),
    # others
    (
        "bool_subtraction",
        lambda t: t.tensor([True]) - t.tensor([False]),
        RuntimeError,
        "Subtraction, the `-` operator, with two bool tensors is not supported.",
    ),
    ("mean_of_int", lambda t: t.tensor([1, 2]).mean(), RuntimeError, "mean(): could not infer output dtype."),
    ("int_remainder_by_zero", lambda t: t.tensor([5, 3]) % 0, RuntimeError, "ZeroDivisionError"),
    ("int_remainder_by_zero_tensor", lambda t: t.tensor([5, 3]) % t.tensor([0, 1]), RuntimeError, "ZeroDivisionError"),
    ("number_remainder_by_int_zero", lambda t: 5 % t.tensor([0, 2]), RuntimeError, "ZeroDivisionError"),
    (
        "cat_size_mismatch",
        lambda t: t.cat([t.ones(2, 3), t.ones(2, 4)]),
        RuntimeError,
        "Sizes of tensors must match except in dimension 0.",
    ),
    (
        "stack_size_mismatch",
        lambda t: t.stack([t.ones(2, 3), t.ones(3, 2)]),
        RuntimeError,
        "stack expects each tensor to be equal size, but got [2, 3] at entry 0 and [3, 2] at entry 1",
    ),
]

IDS = [e[0] for e in ERRORS]


def _raised(fn, module):
    with pytest.raises(Exception) as info:
        fn(module)
    return info.value


@pytest.mark.parametrize("name, fn, exc, sentence", ERRORS, ids=IDS)
def test_error_matches_recorded_torch(name, fn, exc, sentence):
    err = _raised(fn, gradlens_core)
    assert type(err) is exc, f"{type(err).__name__}: {err}"
    assert str(err).startswith(sentence), str(err)


@pytest.mark.parametrize("name, fn, exc, sentence", ERRORS, ids=IDS)
def test_error_matches_live_torch(name, fn, exc, sentence, torch):
    theirs = _raised(fn, torch)
    ours = _raised(fn, gradlens_core)
    assert type(theirs) is exc and str(theirs).startswith(sentence), "the recorded expectation is stale"
    assert type(ours) is type(theirs)
    assert first_sentence(str(ours)) == first_sentence(str(theirs))


def test_first_sentence_helper():
    assert first_sentence("Can't detach views in-place. Use detach() instead.") == "Can't detach views in-place."
    assert first_sentence("shape '[4]' is invalid for input of size 6") == "shape '[4]' is invalid for input of size 6"
    assert first_sentence("Mismatch in shape: grad_output[0] has a shape of torch.Size([2])") == "Mismatch in shape:"
    assert first_sentence("torch.Size([2]) and more.\nsecond line") == "torch.Size([2]) and more."


# ----------------------------------------------------------------------------- the in-place error in full


def _modified_saved_view_of_edited_base(t):
    # mul_ saves b[0:2]; editing b[2:4] moves the counter it shares, and SavedVariable names
    # data_.grad_fn(), the view's history regenerated after its base's edit
    a = t.tensor([[0.5, 0.0, 2.0], [1.0, -0.5, 3.0]], requires_grad=True)
    b = (a * 2).view(6)
    b[2:4].mul_(b[0:2])
    b.sum().backward()


VERSION_ERRORS = [
    (
        _modified_saved_output,
        "one of the variables needed for gradient computation has been modified by an inplace operation: "
        "[torch.FloatTensor [3]], which is output 0 of Sigmoid, is at version 1; expected version 0 instead.",
    ),
    (
        _modified_saved_input,
        "one of the variables needed for gradient computation has been modified by an inplace operation: "
        "[torch.FloatTensor [3]], which is output 0 of Add, is at version 1; expected version 0 instead.",
    ),
    (
        _modified_saved_plain_tensor,
        "one of the variables needed for gradient computation has been modified by an inplace operation: "
        "[torch.FloatTensor [3]] is at version 1; expected version 0 instead.",
    ),
    (
        _modified_saved_through_view,
        "one of the variables needed for gradient computation has been modified by an inplace operation: "
        "[torch.DoubleTensor [2, 3]], which is output 0 of Exp, is at version 1; expected version 0 instead.",
    ),
    (
        _modified_saved_view_of_edited_base,
        "one of the variables needed for gradient computation has been modified by an inplace operation: "
        "[torch.FloatTensor [2]], which is output 0 of AsStrided, is at version 1; expected version 0 instead.",
    ),
]

HINT = (
    " Hint: enable anomaly detection to find the operation that failed to compute its gradient, "
    "with torch.autograd.set_detect_anomaly(True, check_nan=False)."
)


@pytest.mark.parametrize("fn, message", VERSION_ERRORS, ids=[f[0].__name__.strip("_") for f in VERSION_ERRORS])
def test_inplace_error_names_tensor_node_and_versions(fn, message):
    err = _raised(fn, gradlens_core)
    assert str(err).startswith(message), str(err)


@pytest.mark.parametrize("fn, message", VERSION_ERRORS, ids=[f[0].__name__.strip("_") for f in VERSION_ERRORS])
def test_inplace_error_full_text_matches_torch(fn, message, torch):
    theirs = str(_raised(fn, torch))
    assert theirs == message + HINT, "the recorded expectation is stale"
    assert str(_raised(fn, gradlens_core)) == theirs


def test_inplace_error_hint_under_anomaly_mode():
    with gradlens_core.autograd.set_detect_anomaly(True):
        with pytest.warns(UserWarning, match="Error detected in SigmoidBackward0"):
            err = _raised(_modified_saved_output, gradlens_core)
    assert str(err).endswith(
        "Hint: the backtrace further above shows the operation that failed to compute its gradient. "
        "The variable in question was changed in there or anywhere later. Good luck!"
    )


# ----------------------------------------------------------------------------- allowed cases next to the errors


def test_grad_unused_input_allowed_returns_none():
    a = gradlens_core.ones(3, requires_grad=True)
    b = gradlens_core.ones(3, requires_grad=True)
    ga, gb = gradlens_core.autograd.grad((a * 2).sum(), [a, b], allow_unused=True)
    assert ga.tolist() == [2.0, 2.0, 2.0]
    assert gb is None


def test_grad_unused_input_materialized_as_zeros():
    a = gradlens_core.ones(3, requires_grad=True)
    b = gradlens_core.ones(2, requires_grad=True)
    ga, gb = gradlens_core.autograd.grad((a * 2).sum(), [a, b], materialize_grads=True)
    assert gb.tolist() == [0.0, 0.0]


def test_backward_twice_with_retain_graph_accumulates():
    a = gradlens_core.ones(3, requires_grad=True)
    y = a.exp().sum()
    y.backward(retain_graph=True)
    y.backward()
    assert a.grad.tolist() == pytest.approx([2 * 2.718281828] * 3, rel=1e-6)


def test_graph_without_saved_tensors_can_run_backward_twice():
    a = gradlens_core.ones(3, requires_grad=True)
    y = (a + 1).sum()
    y.backward()
    y.backward()
    assert a.grad.tolist() == [2.0, 2.0, 2.0]


def test_numpy_allowed_under_no_grad_and_after_detach():
    a = gradlens_core.ones(3, requires_grad=True)
    with gradlens_core.no_grad():
        assert a.numpy().tolist() == [1.0, 1.0, 1.0]
    assert a.detach().numpy().tolist() == [1.0, 1.0, 1.0]


def test_inplace_on_leaf_allowed_under_no_grad():
    a = gradlens_core.ones(3, requires_grad=True)
    with gradlens_core.no_grad():
        a.mul_(2)
        a[0] = 5.0
    assert a.tolist() == [5.0, 2.0, 2.0]
    assert a.is_leaf and a.requires_grad and a.grad_fn is None


# ----------------------------------------------------------------------------- warnings given once


def test_a_warn_once_warning_is_given_once_unless_warn_always():
    import warnings

    t = gradlens_core.zeros(())
    assert gradlens_core.is_warn_always_enabled() is False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert t.mT is t  # may warn, if nothing in this process did it before
        assert t.mT is t
    assert len(caught) <= 1
    gradlens_core.set_warn_always(True)
    try:
        for _ in range(2):
            with pytest.warns(UserWarning, match="Tensor.mT is deprecated on 0-D tensors"):
                t.mT  # noqa: B018
    finally:
        gradlens_core.set_warn_always(False)


# ----------------------------------------------------------------------------- a stale no_grad view meets bad arguments


def _stale_no_grad_view(t, transposed=False):
    """A view made under no_grad whose base was then modified in place with grad mode on."""
    base = t.randn(3, 4, requires_grad=True).clone()
    with t.no_grad():
        v = base.t() if transposed else base[:]
    base.mul_(2)
    return v


# (id, program on the stale view ``v``, transposed view): PyTorch's autograd layer refuses the
# stale view before a differentiable op's kernel checks its arguments; a composite op (narrow,
# unflatten, outer, a non-contiguous reshape, Python's indexing) checks its own first.
STALE_VIEW_BAD_ARGS = [
    ("view", lambda t, v: v.view(5, 7), False),
    ("view_two_inferred", lambda t, v: v.view(-1, -1), False),
    ("view_as", lambda t, v: v.view_as(t.randn(5)), False),
    ("reshape_contiguous", lambda t, v: v.reshape(5, 7), False),
    ("reshape_non_contiguous", lambda t, v: v.reshape(5, 7), True),
    ("flatten", lambda t, v: v.flatten(5), False),
    ("unflatten", lambda t, v: v.unflatten(1, (3, 3)), False),
    ("mm", lambda t, v: v.mm(t.randn(5, 2)), False),
    ("mm_stale_second", lambda t, v: t.randn(2, 5).mm(v), False),
    ("matmul", lambda t, v: v.matmul(t.randn(5, 2)), False),
    ("matmul_vector", lambda t, v: v @ t.randn(5), False),
    ("matmul_0d", lambda t, v: t.matmul(t.tensor(1.0), v), False),
    ("bmm", lambda t, v: t.bmm(v, t.randn(1, 5, 2)), False),
    ("mv", lambda t, v: t.mv(v, t.randn(5)), False),
    ("dot", lambda t, v: t.dot(v, t.randn(5)), False),
    ("outer", lambda t, v: t.outer(v, v), False),
    ("addmm", lambda t, v: t.addmm(v, v, v), False),
    ("linear", lambda t, v: t.nn.functional.linear(v, t.randn(2, 5)), False),
    ("transpose", lambda t, v: v.transpose(0, 5), False),
    ("permute_duplicate", lambda t, v: v.permute(0, 0), False),
    ("permute_length", lambda t, v: v.permute(0), False),
    ("expand", lambda t, v: v.expand(5, 7), False),
    ("expand_few_sizes", lambda t, v: v.expand(4), False),
    ("expand_as", lambda t, v: v.expand_as(t.randn(5, 7)), False),
    ("unsqueeze", lambda t, v: v.unsqueeze(5), False),
    ("squeeze", lambda t, v: v.squeeze(5), False),
    ("squeeze_dims", lambda t, v: v.squeeze((0, 5)), False),
    ("select", lambda t, v: v.select(0, 10), False),
    ("index_int", lambda t, v: v[10], False),
    ("index_float", lambda t, v: v[1.5], False),
    ("index_tensor", lambda t, v: v[t.tensor([10])], False),
    ("index_list", lambda t, v: v[[0, 10]], False),
    ("index_mask", lambda t, v: v[t.tensor([True, False])], False),
    ("narrow_length", lambda t, v: v.narrow(0, 2, 5), False),
    ("narrow_negative_length", lambda t, v: v.narrow(0, 0, -1), False),
    ("narrow_start", lambda t, v: v.narrow(0, 4, 0), False),
    ("split_size", lambda t, v: v.split(0), False),
    ("split_dim", lambda t, v: v.split(1, 5), False),
    ("split_sizes", lambda t, v: v.split([1, 1], 0), False),
    ("chunk", lambda t, v: v.chunk(0), False),
    ("unbind", lambda t, v: v.unbind(5), False),
    ("flip", lambda t, v: v.flip(5), False),
    ("pow_tensor", lambda t, v: v.pow(t.randn(5)), False),
    ("pow_tensor_base", lambda t, v: t.pow(t.randn(5), v), False),
    ("clamp_no_bound", lambda t, v: v.clamp(), False),
    ("clamp_tensor_bound", lambda t, v: v.clamp(t.randn(5)), False),
    ("clamp_max_tensor", lambda t, v: v.clamp(max=t.randn(5)), False),
    ("bitwise_and_float", lambda t, v: v & v, False),
    ("invert_float", lambda t, v: ~v, False),
    ("softmax", lambda t, v: v.softmax(5), False),
    ("log_softmax", lambda t, v: t.nn.functional.log_softmax(v, 5), False),
    ("cumsum", lambda t, v: v.cumsum(5), False),
    ("cumprod", lambda t, v: v.cumprod(5), False),
    ("prod", lambda t, v: v.prod(5), False),
    ("stack_sizes", lambda t, v: t.stack([v, t.randn(5)]), False),
    ("stack_dim", lambda t, v: t.stack([v, v], 5), False),
    ("masked_fill_shape", lambda t, v: v.masked_fill(t.tensor([True, False]), 0.0), False),
    ("masked_fill_mask_dtype", lambda t, v: v.masked_fill(t.ones(3, 4), 0.0), False),
    ("where_condition_dtype", lambda t, v: t.where(v, v, v), False),
    ("div_rounding_mode", lambda t, v: t.div(v, 2, rounding_mode="bad"), False),
    ("floor_divide_shape", lambda t, v: v // t.randn(5), False),
    ("remainder_shape", lambda t, v: v % t.randn(5), False),
    ("nll_loss_target", lambda t, v: t.nn.functional.nll_loss(v, t.tensor([10, 0, 0])), False),
    ("sum_dim", lambda t, v: v.sum(5), False),
    ("cat_sizes", lambda t, v: t.cat([v, t.randn(5)]), False),
]


@pytest.mark.parametrize(
    "program, transposed", [c[1:] for c in STALE_VIEW_BAD_ARGS], ids=[c[0] for c in STALE_VIEW_BAD_ARGS]
)
def test_stale_no_grad_view_refuses_before_bad_arguments_as_torch(program, transposed):
    torch = pytest.importorskip("torch")
    theirs = _raised(lambda t: program(t, _stale_no_grad_view(t, transposed)), torch)
    ours = _raised(lambda t: program(t, _stale_no_grad_view(t, transposed)), gradlens_core)
    assert type(ours) is type(theirs), f"torch: {type(theirs).__name__}: {theirs}\nours: {type(ours).__name__}: {ours}"
    assert first_sentence(str(ours)) == first_sentence(str(theirs))


# ----------------------------------------------------------------------------- the argument parser's TypeErrors
#
# PyTorch's parser refuses arguments of the wrong type before an op runs, naming the argument
# (one plausible signature) or listing the signatures; the first line is compared.

BINARY_OPS = ["add", "sub", "mul", "div", "pow", "remainder", "maximum", "minimum"]
BAD_VALUES = {"str": "a", "None": None, "list": [1.0, 2.0], "tuple": (1.0, 2.0), "bytes": b"a", "object": object()}


def _first_line_of_error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the error itself is compared
        return type(e), str(e).split("\n", 1)[0]
    return None


def _parser_cases():
    cases = []
    for op in BINARY_OPS:
        for label, bad in BAD_VALUES.items():
            cases.append((f"torch.{op}(v, {label})", lambda t, v, op=op, bad=bad: getattr(t, op)(v, bad)))
            cases.append((f"v.{op}({label})", lambda t, v, op=op, bad=bad: getattr(v, op)(bad)))
            cases.append((f"torch.{op}({label}, v)", lambda t, v, op=op, bad=bad: getattr(t, op)(bad, v)))
    cases += [
        ("add_alpha_str", lambda t, v: t.add(v, v, alpha="x")),
        ("add_alpha_none", lambda t, v: t.sub(v, v, alpha=None)),
        ("add_alpha_list_method", lambda t, v: v.add(v, alpha=[1])),
        ("div_bad_other_and_mode", lambda t, v: t.div(v, "a", rounding_mode="floor")),
        ("div_bad_other_and_mode_method", lambda t, v: v.div(None, rounding_mode="trunc")),
        ("div_mode_int", lambda t, v: v.div(v, rounding_mode=3)),
        ("pow_numpy_array", lambda t, v: t.pow(v, np.array([1.0, 2.0]))),
        ("mul_numpy_array", lambda t, v: t.mul(v, np.array([1.0, 2.0]))),
        ("add_list_operator", lambda t, v: v + [1.0, 2.0]),
        ("sub_list_operator", lambda t, v: v - [1.0]),
        ("mul_str_operator", lambda t, v: v * "a"),
        ("norm_bad_order", lambda t, v: v.norm(p="bad")),
        ("norm_bad_order_2d", lambda t, v: t.ones(2, 2).norm(p="bad")),
        ("norm_bad_order_dim", lambda t, v: t.ones(2, 3).norm(p="bad", dim=1)),
        ("norm_inf_str", lambda t, v: t.norm(v, p="inf")),
        ("norm_nuc_1d", lambda t, v: v.norm(p="nuc")),
        ("norm_list_order", lambda t, v: v.norm(p=[1])),
        ("eq_str", lambda t, v: t.eq(v, "a")),
        ("eq_none", lambda t, v: t.eq(v, None)),
        ("ne_none_method", lambda t, v: v.ne(None)),
        ("lt_list", lambda t, v: t.lt(v, [1.0, 2.0])),
        ("ge_str_method", lambda t, v: v.ge("a")),
        ("greater_list", lambda t, v: t.greater(v, [1.0, 2.0])),
        ("lt_list_operator", lambda t, v: v < [1.0, 2.0]),
        ("le_none_operator", lambda t, v: v <= None),
        ("add__str", lambda t, v: v.detach().add_("a")),
        ("add__alpha_str", lambda t, v: v.detach().add_(v, alpha="x")),
        ("sub__none", lambda t, v: v.detach().sub_(None)),
        ("mul__list", lambda t, v: v.detach().mul_([1.0])),
        ("div__str", lambda t, v: v.detach().div_("a")),
        ("div__none_with_mode", lambda t, v: v.detach().div_(None, rounding_mode="floor")),
        ("add__str_on_leaf", lambda t, v: v.add_("a")),
        ("div__bad_mode", lambda t, v: v.detach().div_(2, rounding_mode="x")),
        ("where_str", lambda t, v: t.where(v > 1, v, "a")),
        ("where_list", lambda t, v: t.where(v > 1, [1.0, 2.0], v)),
        ("where_none", lambda t, v: t.where(v > 1, v, None)),
        ("where_array", lambda t, v: t.where(v > 1, v, np.array([1.0, 2.0]))),
        ("where_list_condition", lambda t, v: t.where([True, False], v, v)),
        ("rsub_str", lambda t, v: t.rsub(v, "a")),
        ("rsub_list", lambda t, v: t.rsub(v, [1.0])),
        ("rsub_number_first", lambda t, v: t.rsub(2, v)),
        ("logical_and_str", lambda t, v: t.logical_and(v, "a")),
        ("logical_and_number", lambda t, v: t.logical_and(v, 1)),
        ("logical_or_list_method", lambda t, v: v.logical_or([1.0])),
        ("logical_or_bool_method", lambda t, v: v.logical_or(True)),
        ("atan2_number", lambda t, v: t.atan2(v, 2.0)),
        ("atan2_str_method", lambda t, v: v.atan2("a")),
        ("lerp_number_end", lambda t, v: t.lerp(v, 2.0, 0.5)),
        ("lerp_str_weight_method", lambda t, v: v.lerp(v, "a")),
        ("lerp_end_dtype", lambda t, v: t.lerp(v, v.double(), 0.5)),
        ("lerp_weight_dtype", lambda t, v: t.lerp(v, v, v.double())),
        ("lerp_int", lambda t, v: t.lerp(t.ones(2, dtype=t.int64), t.ones(2, dtype=t.int64), 0.5)),
        ("lerp_shapes", lambda t, v: t.lerp(v, t.ones(3), 0.5)),
        ("lerp_weight_shape", lambda t, v: t.lerp(v, v, t.ones(3))),
        # int, int-list and bool arguments
        ("repeat_float", lambda t, v: v.repeat(2.0)),
        ("repeat_float_list", lambda t, v: v.repeat([2.0])),
        ("repeat_varargs_float", lambda t, v: v.repeat(1, 2.0)),
        ("repeat_float_then_int", lambda t, v: v.repeat(2.0, 1)),
        ("repeat_tuple_second_float", lambda t, v: v.repeat((1, 2.0))),
        ("repeat_keyword_float", lambda t, v: v.repeat(repeats=2.0)),
        ("repeat_float_tensor", lambda t, v: v.repeat(1, t.tensor(2.0))),
        ("roll_float", lambda t, v: t.roll(v, 1.5)),
        ("roll_float_dims", lambda t, v: t.roll(v, 1, 1.5)),
        ("roll_method_str", lambda t, v: v.roll("a")),
        ("kthvalue_float", lambda t, v: v.kthvalue(1.0)),
        ("kthvalue_function_float", lambda t, v: t.kthvalue(v, 1.0)),
        ("transpose_str", lambda t, v: v.transpose(0, "a")),
        ("transpose_function_float", lambda t, v: t.transpose(v, 0.0, 0)),
        ("unsqueeze_float", lambda t, v: v.unsqueeze(1.5)),
        ("unsqueeze_none", lambda t, v: t.unsqueeze(v, None)),
        ("permute_varargs_float", lambda t, v: t.ones(2, 3).permute(0, 1.0)),
        ("permute_float_first", lambda t, v: t.ones(2, 3).permute(1.0, 0)),
        ("expand_float", lambda t, v: v.expand(2.0)),
        ("flip_float_list", lambda t, v: t.flip(v, [0.0])),
        ("flip_method_float", lambda t, v: v.flip(0.5)),
        ("cumsum_float", lambda t, v: v.cumsum(0.0)),
        ("softmax_str", lambda t, v: v.softmax("a")),
        ("median_float", lambda t, v: v.median(0.0)),
        ("squeeze_float", lambda t, v: v.squeeze(0.0)),
        ("select_float_dim", lambda t, v: v.select(0.0, 0)),
        ("unbind_float", lambda t, v: v.unbind(0.0)),
        ("stack_float_dim", lambda t, v: t.stack([v, v], 0.5)),
        ("clamp_str", lambda t, v: v.clamp("a")),
        ("clamp_keyword_str", lambda t, v: v.clamp(max="a")),
        ("clamp_int_and_str", lambda t, v: v.clamp(0, "a")),
        ("clip_none_and_str", lambda t, v: v.clip(None, "a")),
        # bitwise ops on floats: the kernel's NotImplementedError, naming the promoted dtype
        ("and_float", lambda t, v: v & v),
        ("and_int_tensor_float_number", lambda t, v: t.ones(2, dtype=t.int64) & 1.5),
        ("or_float_int_number", lambda t, v: v | 1),
        ("invert_float", lambda t, v: ~v),
        ("torch_bitwise_and_float", lambda t, v: t.bitwise_and(v, 1)),
        ("torch_bitwise_xor_str", lambda t, v: t.bitwise_xor(t.ones(2, dtype=t.int64), "a")),
        ("bitwise_or_method_none", lambda t, v: t.ones(2, dtype=t.int64).bitwise_or(None)),
        ("bitwise_not_two_args", lambda t, v: t.bitwise_not(t.ones(2, dtype=t.int64), 1)),
        ("bitwise_and__float_number", lambda t, v: t.ones(2, dtype=t.int64).bitwise_and_(1.5)),
        ("iand_float_number", lambda t, v: t.ones(2, dtype=t.int64).__iand__(1.5)),
        ("bitwise_xor__float_self", lambda t, v: v.detach().bitwise_xor_(1)),
        ("rxor_float_number", lambda t, v: 1.5 ^ t.ones(2, dtype=t.int64)),
        # the reductions' dim and keepdim
        ("sum_float_dim", lambda t, v: v.sum(0.5)),
        ("sum_bool_dim", lambda t, v: v.sum(True)),
        ("sum_keepdim_none", lambda t, v: v.sum(0, None)),
        ("sum_keepdim_int", lambda t, v: v.sum(0, 1)),
        ("sum_keyword_keepdim_none", lambda t, v: v.sum(keepdim=None)),
        ("sum_float_tensor_dim", lambda t, v: t.sum(v, t.tensor(0.0))),
        ("mean_str_dim", lambda t, v: t.mean(v, "a")),
        ("mean_int_input_float_dim", lambda t, v: t.ones(2, dtype=t.int64).mean(0.5)),
        ("amax_bool_dim", lambda t, v: v.amax(True)),
        ("amin_float_list", lambda t, v: t.amin(v, [0.0])),
        ("argmax_float_dim", lambda t, v: v.argmax(0.5)),
        ("argmin_keepdim_str", lambda t, v: t.argmin(v, 0, "a")),
        ("prod_none_dim", lambda t, v: v.prod(None)),
        ("prod_float_dim", lambda t, v: t.prod(v, 0.5)),
        ("var_str", lambda t, v: v.var("a")),
        ("std_keepdim_int", lambda t, v: t.std(v, 0, True, 1)),
        ("logsumexp_float", lambda t, v: v.logsumexp(0.5)),
        ("any_bool_dim", lambda t, v: v.any(True)),
        ("all_str_dim", lambda t, v: t.all(v, "a")),
        ("norm_float_dim", lambda t, v: v.norm(2, 0.5)),
        ("norm_fro_float_dim", lambda t, v: v.norm("fro", 0.5)),
        # views, joins and picks
        ("view_float", lambda t, v: v.view(2.0)),
        ("view_bool_first", lambda t, v: v.view(True, 2)),
        ("view_varargs_str_second", lambda t, v: v.view(2, "a")),
        ("reshape_method_none", lambda t, v: v.reshape(None)),
        ("reshape_function_float", lambda t, v: t.reshape(v, 2.0)),
        ("tile_function_int", lambda t, v: t.tile(v, 2)),
        ("tile_method_float", lambda t, v: v.tile(2.0)),
        ("tile_function_tensor", lambda t, v: t.tile(v, t.tensor([2]))),
        ("narrow_float_start", lambda t, v: v.narrow(0, 0.5, 1)),
        ("narrow_bool_start", lambda t, v: t.narrow(v, 0, True, 1)),
        ("narrow_float_tensor_start", lambda t, v: v.narrow(0, t.tensor(0.0), 1)),
        ("split_float_dim", lambda t, v: v.split(1, 0.5)),
        ("split_bool", lambda t, v: v.split(True)),
        ("split_float_sizes", lambda t, v: t.split(v, [1.0, 1.0])),
        ("split_numpy_int", lambda t, v: v.split(np.int64(1))),
        ("chunk_bool", lambda t, v: v.chunk(True)),
        ("chunk_float_dim", lambda t, v: t.chunk(v, 2, 0.5)),
        ("cat_float_dim", lambda t, v: t.cat([v, v], 0.5)),
        ("cat_none_dim", lambda t, v: t.cat([v, v], None)),
        ("sort_float_dim", lambda t, v: v.sort(0.5)),
        ("sort_descending_int", lambda t, v: t.sort(v, 0, 1)),
        ("sort_keyword_descending_str", lambda t, v: v.sort(descending="a")),
        ("argsort_float_dim", lambda t, v: v.argsort(0.5)),
        ("topk_float_k", lambda t, v: v.topk(1.0)),
        ("topk_bool_k", lambda t, v: t.topk(v, True)),
        ("topk_float_tensor_k", lambda t, v: v.topk(t.tensor(1.0))),
        ("topk_largest_float", lambda t, v: v.topk(1, largest=1.5)),
        ("tril_float", lambda t, v: t.ones(2, 2).tril(0.5)),
        ("triu_bool", lambda t, v: t.triu(t.ones(2, 2), True)),
        ("tril__float", lambda t, v: t.ones(2, 2).tril_(0.5)),
        ("diag_float", lambda t, v: v.diag(0.5)),
        ("cross_float_dim", lambda t, v: t.cross(t.ones(3), t.ones(3), 0.5)),
        ("index_select_list", lambda t, v: v.index_select(0, [0])),
        ("index_select_str_dim", lambda t, v: t.index_select(v, "a", t.tensor([0]))),
        ("round_float_decimals", lambda t, v: v.round(decimals=1.5)),
        ("round_bool_decimals", lambda t, v: t.round(v, decimals=True)),
        # what torch refuses and gradlens_core took
        ("repeat_bool", lambda t, v: v.repeat(True)),
        ("kthvalue_bool", lambda t, v: v.kthvalue(True)),
        ("kthvalue_keepdim_int", lambda t, v: v.kthvalue(1, 0, 1)),
        ("roll_float_list", lambda t, v: t.roll(v, [1.5])),
        ("roll_method_bool", lambda t, v: v.roll(True)),
        ("clamp_list", lambda t, v: t.clamp(v, [1.0])),
        ("select_float_index", lambda t, v: v.select(0, 1.5)),
        ("select_float_tensor_index", lambda t, v: v.select(0, t.tensor(1.0))),
        ("softmax_none", lambda t, v: v.softmax(None)),
        ("log_softmax_none", lambda t, v: t.log_softmax(v, None)),
        ("median_none", lambda t, v: v.median(None)),
        ("squeeze_none", lambda t, v: v.squeeze(None)),
        ("flip_tensor_dims", lambda t, v: t.flip(v, t.tensor([0]))),
        ("permute_bool_first", lambda t, v: t.ones(2, 3).permute(True, 0)),
        ("expand_bool_first", lambda t, v: v.expand(True, 2)),
        # factories' sizes and ranges, numpy scalars as numbers
        ("zeros_float_size", lambda t, v: t.zeros(1.5)),
        ("zeros_numpy_float_size", lambda t, v: t.zeros(np.float64(2.0))),
        ("zeros_numpy_bool_size", lambda t, v: t.zeros(np.bool_(True))),
        ("ones_float_second_size", lambda t, v: t.ones(2, np.float32(1.0))),
        ("zeros_list_float_size", lambda t, v: t.zeros([2, 1.5])),
        ("full_tuple_float_size", lambda t, v: t.full((np.float16(1.0),), 1)),
        ("zeros_negative_numpy_size", lambda t, v: t.zeros(np.int64(-3))),
        ("ones_negative_numpy_size", lambda t, v: t.ones(2, np.int8(-3))),
        ("arange_negative_numpy_end", lambda t, v: t.arange(np.int64(-3))),
        ("bitwise_and_float_first", lambda t, v: t.bitwise_and(1.5, t.tensor([1, 2]))),
        ("bitwise_or_numpy_float_first", lambda t, v: t.bitwise_or(np.float64(1.5), t.tensor([1, 2]))),
        ("add_numpy_float_alpha_int", lambda t, v: t.tensor([1, 2]).add(t.tensor([1, 2]), alpha=np.float32(2.0))),
        ("add_numpy_bool_alpha_int", lambda t, v: t.tensor([1, 2]).add(t.tensor([1, 2]), alpha=np.bool_(True))),
        ("floor_divide_int_by_zero", lambda t, v: np.int64(3) // t.tensor([True, False])),
        ("floor_divide_int_by_zero_tensor", lambda t, v: t.tensor([4, 6]) // t.tensor([1, 0])),
        ("div_trunc_int_by_zero", lambda t, v: t.div(t.tensor([4, 6]), 0, rounding_mode="trunc")),
        ("floor_divide_bool", lambda t, v: t.tensor([True, False]) // t.tensor([True, True])),
        ("div_trunc_bool", lambda t, v: t.div(t.tensor([True]), True, rounding_mode="trunc")),
        # session 7 (survey of wrong-typed int / bool / Number arguments)
        ("flatten_float_start", lambda t, v: t.ones(2, 3).flatten(1.5)),
        ("flatten_str_start_fn", lambda t, v: t.flatten(t.ones(2, 3), "a")),
        ("flatten_0d_float", lambda t, v: t.tensor(1.0).flatten(1.5)),
        ("unflatten_float_sizes", lambda t, v: t.ones(2, 3).unflatten(1, 1.5)),
        ("unflatten_int_sizes", lambda t, v: t.ones(2, 3).unflatten(1, 3)),
        ("unflatten_numpy_int_sizes", lambda t, v: t.ones(2, 3).unflatten(1, np.int64(3))),
        ("unflatten_float_list_sizes", lambda t, v: t.ones(2, 3).unflatten(1, [1.0, 3])),
        ("unflatten_float_second_size", lambda t, v: t.ones(2, 3).unflatten(1, [3, 1.0])),
        ("unflatten_none_sizes", lambda t, v: t.ones(2, 3).unflatten(1, None)),
        ("unflatten_tensor_sizes", lambda t, v: t.ones(2, 3).unflatten(1, t.tensor([1, 3]))),
        ("unflatten_0d_tensor_sizes", lambda t, v: t.ones(2, 3).unflatten(1, t.tensor(3))),
        ("unflatten_float_dim", lambda t, v: t.ones(2, 3).unflatten(1.5, (3,))),
        ("unflatten_fn_float_sizes", lambda t, v: t.unflatten(t.ones(2, 3), 1, 1.5)),
        ("nonzero_as_tuple_float", lambda t, v: v.nonzero(as_tuple=1.5)),
        ("nonzero_as_tuple_none_fn", lambda t, v: t.nonzero(v, as_tuple=None)),
        ("nonzero_as_tuple_int_fn", lambda t, v: t.nonzero(v, as_tuple=1)),
        ("nonzero_as_tuple_tensor", lambda t, v: v.nonzero(as_tuple=t.tensor([1, 0]))),
        ("max_float_dim", lambda t, v: v.max(1.5)),
        ("max_none_dim", lambda t, v: v.max(None)),
        ("max_none_dim_fn", lambda t, v: t.max(v, None)),
        ("min_list_dim", lambda t, v: v.min([1.0, 2.0])),
        ("max_float_keepdim", lambda t, v: v.max(0, 1.5)),
        ("fill_str", lambda t, v: v.fill_("a")),
        ("fill_none", lambda t, v: v.fill_(None)),
        ("fill_list", lambda t, v: v.fill_([1.0, 2.0])),
        ("masked_fill_str", lambda t, v: v.masked_fill(v > 0, "a")),
        ("masked_fill_none", lambda t, v: v.masked_fill(v > 0, None)),
        ("masked_fill_list", lambda t, v: v.masked_fill(v > 0, [1.0, 2.0])),
        ("masked_fill_none_mask", lambda t, v: v.masked_fill(None, 1)),
        ("masked_fill__none", lambda t, v: v.detach().masked_fill_(v > 0, None)),
        ("masked_fill_fn_none", lambda t, v: t.masked_fill(v, v > 0, None)),
        ("clamp__str", lambda t, v: v.clamp_("a")),
        ("clamp__list", lambda t, v: v.clamp_([1.0, 2.0])),
        ("clamp__max_str", lambda t, v: v.detach().clamp_(0, "a")),
        ("clamp_min_str", lambda t, v: v.clamp_min("a")),
        ("clamp_min_none", lambda t, v: v.clamp_min(None)),
        ("clamp_max_list", lambda t, v: v.clamp_max([1.0, 2.0])),
        ("clamp_min_fn_none", lambda t, v: t.clamp_min(v, None)),
        ("index_str", lambda t, v: t.ones(2, 3)["a"]),
        ("index_none_and_str", lambda t, v: t.ones(2, 3)[None, "a"]),
        ("index_float_list", lambda t, v: t.ones(2, 3)[[1.0, 2.0]]),
        ("setitem_float_list", lambda t, v: t.ones(2, 3).__setitem__((slice(None), [0.5, 3.0]), 1)),
        ("and_float_broadcast_first", lambda t, v: t.ones(2, 3) & t.tensor([1, 0])),
        ("reshape_fn_numpy_int", lambda t, v: t.reshape(v, np.int64(2))),
        ("reshape_fn_int", lambda t, v: t.reshape(v, 2)),
        ("reshape_fn_varargs", lambda t, v: t.reshape(t.ones(2, 3), 3, 2)),
        ("reshape_fn_tensor", lambda t, v: t.reshape(v, t.tensor([2]))),
        ("round_decimals_none", lambda t, v: v.round(decimals=None)),
        ("round_decimals_none_fn", lambda t, v: t.round(v, decimals=None)),
        ("round__decimals_none", lambda t, v: v.round_(decimals=None)),
        ("round__decimals_float", lambda t, v: v.detach().round_(decimals=1.0)),
        ("norm_numpy_int_dim", lambda t, v: t.ones(2, 3).norm(dim=np.int64(1))),
        ("norm_0d_tensor_dim", lambda t, v: t.ones(2, 3).norm(dim=t.tensor(1))),
        # session 8: an optional argument given by keyword is named so (read from the call)
        ("sum_dim_then_keyword_keepdim_int", lambda t, v: t.ones(2, 3).sum(0, keepdim=1)),
        ("sum_keyword_dim_float", lambda t, v: t.ones(2, 3).sum(dim=1.5)),
        ("sum_fn_keyword_keepdim_none", lambda t, v: t.sum(t.ones(2, 3), 0, keepdim=None)),
        ("sum_positional_keepdim_int", lambda t, v: t.ones(2, 3).sum(0, 1)),
        ("sum_keyword_keepdim_int_alone", lambda t, v: t.ones(2, 3).sum(keepdim=1)),
        ("mean_keyword_keepdim_str", lambda t, v: t.ones(2, 3).mean(0, keepdim="a")),
        ("std_keyword_unbiased_int", lambda t, v: t.ones(2, 3).std(0, unbiased=2)),
        ("std_fn_keyword_keepdim_int", lambda t, v: t.std(t.ones(2, 3), 0, keepdim=2)),
        ("var_unbiased_then_keyword_keepdim_int", lambda t, v: t.ones(2, 3).var(0, True, keepdim=2)),
        ("sort_dim_then_keyword_descending_int", lambda t, v: t.ones(2, 3).sort(0, descending=1)),
        ("sort_keyword_dim_float", lambda t, v: t.ones(2, 3).sort(dim=0.5)),
        ("topk_keyword_largest_int", lambda t, v: t.topk(t.ones(2, 3), 1, 0, largest=2)),
        ("amax_keyword_keepdim_int", lambda t, v: t.ones(2, 3).amax(0, keepdim=3)),
        ("any_keyword_keepdim_int", lambda t, v: t.ones(2, 3).any(0, keepdim=2)),
        ("flatten_keyword_end_dim_float", lambda t, v: t.ones(2, 3).flatten(0, end_dim=1.5)),
        ("cat_keyword_dim_float", lambda t, v: t.cat([v, v], dim=0.5)),
        ("chunk_keyword_dim_float", lambda t, v: t.ones(2, 3).chunk(2, dim=1.5)),
    ]
    return cases


PARSER_CASES = _parser_cases()


@pytest.mark.parametrize("fn", [c[1] for c in PARSER_CASES], ids=[c[0] for c in PARSER_CASES])
def test_argument_type_errors_match_torch(fn, torch):
    def run(t):
        return _first_line_of_error(lambda: fn(t, t.tensor([1.0, 2.0], requires_grad=True)))

    theirs = run(torch)
    assert theirs is not None, "torch accepted the call"
    assert run(gradlens_core) == theirs


def test_parsed_ops_still_take_numbers_and_tensors(torch):
    def run(t, op, other, method):
        v = t.tensor([1.0, 2.0])
        other = other(t) if callable(other) else other
        try:
            out = getattr(v, op)(other) if method else getattr(t, op)(v, other)
        except Exception as e:  # noqa: BLE001 - compared with torch's
            return type(e).__name__
        return out.tolist(), str(out.dtype)

    for op in BINARY_OPS:
        for other in (lambda t: t.tensor([3.0, 4.0]), 2, 2.5, True, np.float32(2.0), lambda t: t.tensor(2.0)):
            for method in (False, True):
                assert run(gradlens_core, op, other, method) == run(torch, op, other, method), (op, other, method)


def test_equality_operators_fall_back_as_in_torch(torch):
    def run(t):
        v = t.tensor([1.0, 2.0])
        return [v == None, v != None, v == "a", v != "a", v == [1.0, 2.0], v != (1.0, 2.0)]  # noqa: E711

    assert run(gradlens_core) == run(torch)
