"""Double backward (create_graph=True): the graph a formula records, next to PyTorch's.

PyTorch's built-in formulas are C++, where ``2 * t`` is mul.Scalar (MulBackward1); Python
code (user ops, tensor hooks, a custom Function's backward) records MulBackward0. These
tests pin that boundary and a few values of the formulas rewritten as derivatives.yaml.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradlens_core

torch = pytest.importorskip("torch")


def _names(fn) -> tuple:
    """``fn``'s name and its next_functions' names (None for an empty edge)."""
    if fn is None:
        return None
    return type(fn).__name__, tuple(None if n is None else type(n).__name__ for n, _ in fn.next_functions)


def _both(program):
    """``program(mod)`` run under torch and gradlens_core; its tensors' graph names, compared."""
    out = {}
    for mod in (torch, gradlens_core):
        result = program(mod)
        out[mod] = [(_names(t.grad_fn), t.requires_grad) for t in result]
    assert out[gradlens_core] == out[torch]


def test_a_python_number_operand_saved_by_the_user_op_stays_a_tensor_operand():
    # x * 2 saves the 2 as a wrapped-number tensor: its formula's grad * 2 is MulBackward0
    def program(mod):
        x = mod.tensor([1.0, -2.0], requires_grad=True)
        v = mod.ones(2, requires_grad=True)
        return [mod.autograd.grad(y, x, v, create_graph=True)[0] for y in (x * 2, x / 4, 3 * x)]

    _both(program)


def test_scalar_operands_of_alpha_and_rsub_are_scalars_in_the_formula():
    def program(mod):
        x = mod.tensor([1.0, -2.0], requires_grad=True)
        v = mod.ones(2, requires_grad=True)
        return [
            mod.autograd.grad(mod.add(v, x, alpha=2), x, v, create_graph=True)[0],
            mod.autograd.grad(mod.rsub(x, 1.5, alpha=3), x, v, create_graph=True)[0],
        ]

    _both(program)


def test_a_custom_function_backward_is_python_code():
    def program(mod):
        class Twice(mod.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return 2 * g

        x = mod.tensor([1.0, -2.0], requires_grad=True)
        v = mod.ones(2, requires_grad=True)
        return [mod.autograd.grad(Twice.apply(x), x, v, create_graph=True)[0]]

    _both(program)


def test_a_tensor_hook_is_python_code():
    def program(mod):
        x = mod.tensor([1.0, -2.0], requires_grad=True)
        y = x.exp()
        y.register_hook(lambda g: g * 2)
        return [mod.autograd.grad(y.sum(), x, create_graph=True)[0]]

    _both(program)


@pytest.mark.parametrize("create_graph", [False, True])
def test_relu_passes_the_grad_where_its_result_is_nan(create_graph):
    # threshold_backward zeroes where result <= 0 only: nan lets the grad through
    x = gradlens_core.tensor([math.nan, -1.0, 2.0], requires_grad=True)
    (g,) = gradlens_core.autograd.grad(x.relu().sum(), x, create_graph=create_graph)
    assert g.tolist() == [1.0, 0.0, 1.0]


@pytest.mark.parametrize("create_graph", [False, True])
def test_zero_to_a_negative_power_has_an_infinite_exponent_grad(create_graph):
    values = []
    for mod in (torch, gradlens_core):
        e = mod.tensor([0.0, -1.0, 2.0], requires_grad=True)
        (g,) = mod.autograd.grad((0.0**e).sum(), e, create_graph=create_graph)
        values.append(g.tolist())
    np.testing.assert_array_equal(values[1], values[0])


def test_pow_of_a_scalar_base_saves_the_exponent():
    errors = []
    for mod in (torch, gradlens_core):
        x = mod.tensor([1.0, 2.0], requires_grad=True)
        e = x * 1
        y = 2**e
        e.add_(1)
        with pytest.raises(RuntimeError) as info:
            y.sum().backward()
        errors.append(str(info.value))
    assert errors[1] == errors[0]


@pytest.mark.parametrize(
    "values",
    [[2.0, 0.0, 3.0], [0.0, 0.0, 1.5], [2.0, 5.0, 3.0], [1.5, 0.0, 2.0, 0.5]],
    ids=["one_zero", "two_zeros", "no_zero", "four"],
)
@pytest.mark.parametrize("dim", [None, 1])
def test_prod_with_zeros_records_the_zero_safe_products(values, dim):
    # prod_safe_zeros_backward under create_graph: cat, cumprod and flip, then grad * products;
    # backward through that graph (CumprodBackward0 with zeros, FlipBackward0, CatBackward0)
    grads = {}

    def program(mod):
        x = mod.tensor([values, values[::-1]], requires_grad=True)
        p = x.prod() if dim is None else x.prod(dim)
        (g,) = mod.autograd.grad(p.sum(), x, create_graph=True)
        (g * mod.arange(1.0, 1.0 + g.numel()).reshape(g.shape)).sum().backward()
        grads[mod] = (g.detach().numpy().copy(), x.grad.numpy().copy())
        return [g]

    _both(program)
    for got, want in zip(grads[gradlens_core], grads[torch]):
        np.testing.assert_allclose(got, want, rtol=1e-6)


# ----------------------------------------------------------------------------- the graphs formulas record


def _deep_names(fn, depth: int = 3):
    """``fn``'s name and its next_functions', ``depth`` levels down (None for an empty edge)."""
    if fn is None or depth == 0:
        return None
    return type(fn).__name__, tuple(_deep_names(n, depth - 1) for n, _ in fn.next_functions)


def _second_order(program, values=((0.5, -1.5, 2.0), (1.0, 0.25, -0.75)), depth: int = 3):
    """For ``y = program(mod, x)``: the graph ``grad((y * y).sum(), x, create_graph=True)``
    records (names ``depth`` levels down, the grad's version), and the second-order grad
    of ``(g * g).sum()``, compared with torch's."""
    out = {}
    for mod in (torch, gradlens_core):
        x = mod.tensor(values, requires_grad=True)
        y = program(mod, x)
        (g,) = mod.autograd.grad((y * y).sum(), x, create_graph=True)
        recorded = (_deep_names(g.grad_fn, depth), g._version)
        (h,) = mod.autograd.grad((g * g).sum(), x)
        out[mod] = (recorded, h.numpy().copy())
    assert out[gradlens_core][0] == out[torch][0]
    np.testing.assert_allclose(out[gradlens_core][1], out[torch][1], rtol=1e-5)


@pytest.mark.parametrize(
    "program",
    [
        lambda mod, x: x[1] * x[0],
        lambda mod, x: x[:, 1:] * 2,
        lambda mod, x: x[:, ::2] * x[:, 1:],
        lambda mod, x: x.narrow(1, 1, 2).exp(),
        lambda mod, x: x.select(1, 2) * x[:, 0],
        lambda mod, x: x[:, :1].expand(2, 3) * x,
    ],
    ids=["select", "slice", "step_slices", "narrow", "select_dim1", "expand_of_slice"],
)
def test_select_and_slice_record_their_backward_ops(program):
    # select_backward / slice_backward are ops of their own (SelectBackwardBackward0 ...)
    _second_order(program)


@pytest.mark.parametrize(
    "program",
    [
        lambda mod, x: x.split(1, 1)[0] * x.split(1, 1)[1],
        lambda mod, x: x.split([1, 2], 1)[1] * 3,
        lambda mod, x: x.chunk(2, 1)[0].exp(),
        lambda mod, x: x.unbind(1)[2] * x.unbind(1)[0],
        lambda mod, x: x.unbind(0)[1].exp(),
    ],
    ids=["split", "split_with_sizes", "chunk", "unbind", "unbind_one"],
)
def test_split_and_unbind_backward_cat_and_stack(program):
    # split_backward: cat of the grads, zeros for the missing ones; unbind_backward: stack
    _second_order(program)


@pytest.mark.parametrize(
    "program",
    [
        lambda mod, x: mod.cat([x, x * 2], 1),
        lambda mod, x: mod.cat([x.exp(), x], 0),
        lambda mod, x: mod.cat([x.reshape(-1), mod.zeros(0), x[0]]),
    ],
    ids=["dim1", "dim0", "with_empty"],
)
def test_cat_backward_narrows_the_grad(program):
    _second_order(program)


@pytest.mark.parametrize(
    "program",
    [
        lambda mod, x: x.sum(0) * x,
        lambda mod, x: x.mean(1),
        lambda mod, x: x.sum((0, 1)) * x,
        lambda mod, x: x.mean((0, 1), keepdim=True) * x,
        lambda mod, x: x.sum(-1).exp(),
    ],
    ids=["sum_dim", "mean_dim", "sum_dims", "mean_keepdim", "sum_last"],
)
def test_sum_and_mean_over_dims_unsqueeze_the_grad(program):
    # sum_backward's unsqueeze_multiple, then expand
    _second_order(program)


@pytest.mark.parametrize(
    "program",
    [
        lambda mod, x: x.max(1)[0],
        lambda mod, x: x.min(0)[0] * 2,
        lambda mod, x: x.max(1, keepdim=True)[0] * x,
        lambda mod, x: x[0, 0].max(0)[0] * x,
    ],
    ids=["max_dim", "min_dim", "keepdim", "zero_dim"],
)
def test_max_over_a_dim_scatters_into_zeros(program):
    # value_selecting_reduction_backward: zeros(sizes).scatter_(dim, indices, grad)
    _second_order(program)


def _higher_orders(program, values=((0.5, -1.5, 2.0), (1.0, 0.25, -0.75)), depth: int = 6):
    """For ``y = program(mod, x)``: grads of order 2, 3 and 4 taken with create_graph
    (``(g * g).sum()`` of the one before), their graphs ``depth`` levels down and their
    versions, and the fifth-order grad's values, compared with torch's."""
    out = {}
    for mod in (torch, gradlens_core):
        x = mod.tensor(values, requires_grad=True)
        y = program(mod, x)
        (g,) = mod.autograd.grad((y * y).sum(), x, create_graph=True)
        grads = [g]
        for _ in range(2):
            (g,) = mod.autograd.grad((g * g).sum(), x, create_graph=True)
            grads.append(g)
        (last,) = mod.autograd.grad((g * g).sum(), x)
        recorded = [(_deep_names(t.grad_fn, depth), t._version) for t in grads]
        out[mod] = (recorded, [t.detach().numpy().copy() for t in grads + [last]])
    assert out[gradlens_core][0] == out[torch][0]
    for mine, theirs in zip(out[gradlens_core][1], out[torch][1]):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5)


@pytest.mark.parametrize(
    "program",
    [
        lambda mod, x: x.max(1)[0],
        lambda mod, x: x.max(1, keepdim=True)[0] * x,
        lambda mod, x: x[0, 0].max(0)[0] * x,
        lambda mod, x: x.exp().min(0)[0].pow(3),
        lambda mod, x: x[mod.tensor([1, 0])] * x,
    ],
    ids=["max_dim", "keepdim", "zero_dim", "min_of_exp", "index"],
)
def test_scatter_backward_gathers_and_gather_backward_scatter_adds(program):
    # scatter_'s derivative is src: grad.gather(dim, index) (GatherBackward0, even of a 0-d
    # grad), whose own is gather_backward: new_zeros(sizes).scatter_add_ (ScatterAddBackward0,
    # version 1); _index_put_impl_'s is grad.index(indices) (IndexBackward0)
    _higher_orders(program)


@pytest.mark.parametrize(
    "program",
    [
        lambda mod, x: x[mod.tensor([1, 0])] * x,
        lambda mod, x: x[:, mod.tensor([2, 2, 0])].exp(),
        lambda mod, x: x[x > 0] * 2,
    ],
    ids=["rows", "repeated_columns", "mask"],
)
def test_indexing_backward_is_index_put_impl(program):
    # index_backward: _index_put_impl_(zeros_like(self), indices, grad, accumulate=True)
    _second_order(program)


@pytest.mark.parametrize(
    "values",
    [((0.5, -1.5, 2.0), (1.0, 0.25, -0.75)), ((2.0, -1.5, 2.0), (1.0, 2.0, -0.75)), ((1.0, math.nan), (2.0, 3.0))],
    ids=["one_max", "ties", "nan"],
)
@pytest.mark.parametrize("op", ["max", "min"])
def test_max_of_all_fills_zeros_where_the_result_is(values, op):
    # evenly_distribute_backward: grad.new_zeros(sizes).masked_fill_(mask, grad / mask.sum())
    _second_order(lambda mod, x: getattr(x, op)() * 2, values)


@pytest.mark.parametrize(
    "program",
    [
        lambda mod, x: x.amax(1),
        lambda mod, x: x.amin(0) * 2,
        lambda mod, x: x.amax((0, 1), keepdim=True) * x,
        lambda mod, x: x.amax(),
    ],
    ids=["amax", "amin", "keepdim", "all"],
)
@pytest.mark.parametrize(
    "values", [((0.5, -1.5, 2.0), (1.0, 0.25, -0.75)), ((2.0, -1.5, 2.0), (2.0, 2.0, -0.75))], ids=["one", "ties"]
)
def test_amax_scales_the_grad_by_the_count_of_ties(program, values):
    # scale_grad_by_count: (grad / mask.sum(dims, True)) * mask
    _second_order(program, values)


@pytest.mark.parametrize(
    "program",
    [
        lambda mod, x: x.norm(),
        lambda mod, x: x.norm(dim=1),
        lambda mod, x: x.norm(dim=(0, 1)) * x,
        lambda mod, x: x.norm(p=1, dim=0),
        lambda mod, x: x.norm(p=1.5),
        lambda mod, x: x.norm(p=3, dim=1, keepdim=True) * x,
    ],
    ids=["all", "dim", "all_dims", "p1", "p1_5", "p3_keepdim"],
)
@pytest.mark.parametrize("values", [((0.5, -1.5, 2.0), (1.0, 0.25, -0.75)), ((0.0, 0.0, 0.0), (1.0, 0.0, -2.0))])
def test_norm_backward_masks_a_zero_norm(program, values):
    # norm_backward: grad * (self / norm).masked_fill_(norm == 0, 0) for p = 2
    _second_order(program, values)


@pytest.mark.parametrize(
    "program",
    [
        lambda mod, x: x.softmax(1),
        lambda mod, x: x.softmax(0) * x,
        lambda mod, x: x.log_softmax(1),
        lambda mod, x: x.log_softmax(0).exp() * x,
    ],
    ids=["softmax", "softmax_dim0", "log_softmax", "log_softmax_dim0"],
)
def test_softmax_backward_is_one_node(program):
    # _softmax_backward_data / _log_softmax_backward_data are ops with formulas of their own
    _second_order(program)


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_backward_node_saves_the_grad_and_the_output(op):
    # SoftmaxBackwardDataBackward0 saves grad_output: editing it breaks the next backward
    errors, third = [], []
    for mod in (torch, gradlens_core):
        x = mod.tensor([[0.5, -1.5, 2.0], [1.0, 0.25, -0.75]], requires_grad=True)
        gy = mod.tensor([[1.0, 2.0, -1.0], [0.5, 0.0, 3.0]], requires_grad=True)
        (g,) = mod.autograd.grad(getattr(x, op)(1), x, gy, create_graph=True)
        (h,) = mod.autograd.grad((g * g).sum(), gy, create_graph=True, retain_graph=True)
        (k,) = mod.autograd.grad((h * h).sum(), (x, gy)[0], retain_graph=True)
        third.append(k.numpy().copy())
        with mod.no_grad():
            gy.mul_(2)
        with pytest.raises(RuntimeError) as info:
            (g * g).sum().backward()
        errors.append(str(info.value))
    assert errors[1] == errors[0]
    np.testing.assert_allclose(third[1], third[0], rtol=1e-5)


@pytest.mark.parametrize(
    "program",
    [
        lambda mod, x: mod.nn.functional.mse_loss(x, x.detach() * 2),
        lambda mod, x: mod.nn.functional.mse_loss(x.exp(), x * 3, reduction="sum"),
        lambda mod, x: mod.nn.functional.mse_loss(x * 2, mod.ones(2, 3), reduction="none"),
        lambda mod, x: mod.nn.functional.cross_entropy(x, mod.tensor([0, 2])),
        lambda mod, x: mod.nn.functional.cross_entropy(x, mod.tensor([1, -100]), reduction="sum"),
        lambda mod, x: mod.nn.functional.nll_loss(x, mod.tensor([2, 1]), weight=mod.tensor([1.0, 2.0, 0.5])),
        lambda mod, x: mod.nn.functional.nll_loss(x * x, mod.tensor([2, 1]), reduction="none"),
    ],
    ids=["mse", "mse_sum_both", "mse_none", "ce", "ce_ignore", "nll_weight", "nll_none"],
)
def test_loss_backward_kernels_are_one_node(program):
    # mse_loss_backward and nll_loss_backward are ops with formulas of their own
    _second_order(program)


@pytest.mark.parametrize(
    "values, dim",
    [
        ([2.0, 0.0, 3.0, 4.0], 0),
        ([0.0, 2.0, 3.0], 0),
        ([2.0, 3.0, 0.0], 0),
        ([2.0, 0.0, 3.0, 0.0, 5.0], 0),
        ([[1.0, 0.0, 2.0], [3.0, 4.0, 0.5]], -1),
        ([[1.0, 0.0, 2.0], [0.0, 4.0, 0.5]], 0),
        ([[[1.0, 0.0], [2.0, 3.0]], [[0.5, 2.0], [0.0, 0.0]]], 1),
    ],
    ids=["one_zero", "zero_first", "zero_last", "two_zeros", "rows", "dim0", "3d"],
)
def test_cumprod_backward_through_zeros_in_grad_mode(values, dim):
    # cumprod_backward's GradMode branch: for each k, sum(grad.slice(dim, k) * omitted_products)
    # copied into zeros.select(dim, k) (CopySlices; at::zeros from C++ is at version 1, then
    # one copy_ per slice); omitted_products from cat, prod, expand and cumprod of slices
    out = {}
    for mod in (torch, gradlens_core):
        x = mod.tensor(values, dtype=mod.float64, requires_grad=True)
        y = x.cumprod(dim)
        v = mod.arange(1.0, y.numel() + 1, dtype=mod.float64).reshape(y.shape).requires_grad_()
        (g,) = mod.autograd.grad(y, x, v, create_graph=True)
        out[mod] = ((_deep_names(g.grad_fn, 7), g._version), g.detach().numpy().copy())
    assert out[gradlens_core][0] == out[torch][0]
    np.testing.assert_allclose(out[gradlens_core][1], out[torch][1], rtol=1e-12)


def _edit_a_row(mod, x):
    y = x.sin()
    y[:, 1] = x[:, 0] * 3
    return y


def _add_into_a_transposed_slice(mod, x):
    y = x.clone()
    y.t()[1:].add_(x.t()[:-1] ** 2)
    return y


def _copy_into_zeros(mod, x):
    y = mod.zeros(2, 3, dtype=x.dtype)
    y[1].copy_(x[0].sin())
    return y * x


@pytest.mark.parametrize(
    "program, values",
    [
        (_edit_a_row, ((0.5, -1.5, 2.0), (1.0, 0.25, -0.75))),
        (_add_into_a_transposed_slice, ((0.5, -1.5, 2.0), (1.0, 0.25, -0.75))),
        (_copy_into_zeros, ((0.5, -1.5, 2.0), (1.0, 0.25, -0.75))),
        (lambda mod, x: x.cumprod(1), ((0.5, 0.0, 2.0), (1.0, 0.25, 0.0))),
        (lambda mod, x: x.cumprod(0) * x, ((0.0, -1.5, 2.0), (1.0, 0.0, -0.75))),
    ],
    ids=["edit_a_row", "add_into_transposed_slice", "copy_into_zeros", "cumprod_zeros", "cumprod_zeros_dim0"],
)
def test_copy_slices_backward_records_its_ops(program, values):
    # CopySlices under create_graph: result = new_empty_strided(base).copy_(grad) (CopyBackwards),
    # grad_slice = result.as_strided(view) (AsStridedBackward0), fn(grad_slice.clone())
    # (CloneBackward0), grad_slice.copy_(fn's grad) (CopySlices); as_strided_backward: zeros
    # of the storage, as_strided(view).copy_(grad), as_strided(input) (AsStridedBackward0)
    _higher_orders(program, values)


def _mul_into_a_row(mod, x):
    y = x * 1
    y[0].mul_(x[1])
    return y


def _sin_in_place(mod, x):
    y = x * 1
    y.sin_()
    return y


@pytest.mark.parametrize("program", [_mul_into_a_row, _sin_in_place], ids=["mul_of_a_row", "sin_"])
def test_an_in_place_op_saves_a_recorded_clone_of_self(program):
    # the kernel saves original_self = self.clone() after making its grad_fn: under
    # create_graph its formula reads CloneBackward0 over self's old history, which the engine
    # runs before the op's node (a later sequence number)
    _higher_orders(program)


@pytest.mark.parametrize(
    "program",
    [
        lambda mod, x: (x * 1).div_(x + 3),
        lambda mod, x: (x.t() * 1).mul_(x.t()),
    ],
    ids=["div_", "mul_of_transposed"],
)
def test_an_in_place_op_saves_a_recorded_clone_of_self_second_order(program):
    _second_order(program, depth=6)


def _index_put_rows(accumulate):
    def program(mod, x):
        v = (x[0, :2] * 3).exp()
        y = x * 1
        y.index_put_((mod.tensor([0, 1]), mod.tensor([2, 0])), v, accumulate=accumulate)
        return y

    return program


def _masked_assignment(mod, x):
    y = x * 1
    y[x > 0] = x.sum() * 2
    return y


@pytest.mark.parametrize(
    "program",
    [_index_put_rows(False), _index_put_rows(True), _masked_assignment],
    ids=["index_put", "index_put_accumulate", "mask_assignment"],
)
def test_index_put_backward_records_index_put_and_index(program):
    # derivatives.yaml: self: accumulate ? grad : grad.index_put(indices, zeros_like(values),
    # false) (IndexPutBackward0); values: grad.index(indices) (IndexBackward0)
    _higher_orders(program)


# ----------------------------------------------------------------------------- layer_norm


def _layer_norm_grads(mod, shape, k, affine, create_graph, seed=0):
    """First-order grads of F.layer_norm (input, and weight and bias when ``affine``) with a
    grad_output that requires grad, then second-order grads of all of them."""
    rng = np.random.default_rng(seed)

    def leaf(s):
        return mod.tensor(rng.uniform(-1.5, 1.5, s).tolist(), dtype=mod.float64, requires_grad=True)

    x = leaf(shape)
    norm = tuple(shape[len(shape) - k :])
    w, b = (leaf(norm), leaf(norm)) if affine else (None, None)
    v = leaf(shape)
    y = mod.nn.functional.layer_norm(x, norm, w, b)
    inputs = (x, w, b) if affine else (x,)
    first = mod.autograd.grad(y, inputs, v, create_graph=True)
    seeds = [mod.tensor(rng.uniform(0.5, 1.5, tuple(g.shape)).tolist(), dtype=mod.float64) for g in first]
    second = mod.autograd.grad(first, inputs + (v,), seeds, create_graph=create_graph, allow_unused=True)
    return y, first, second


def _described(t):
    """What torch shows of a grad: values, version, whether a view, grad_fn and its edges."""
    if t is None:
        return None
    return np.array(t.detach().tolist()), t._version, t._base is not None, _names(t.grad_fn)


@pytest.mark.parametrize("shape,k,affine", [((2, 3), 1, True), ((2, 4), 1, False), ((2, 2, 3), 2, True)])
@pytest.mark.parametrize("create_graph", [True, False])
def test_layer_norm_backward_is_differentiable(shape, k, affine, create_graph):
    # NativeLayerNormBackward0's formula is one op, native_layer_norm_backward: its results
    # share one node (NativeLayerNormBackwardBackward0) whose formula, layer_norm_double_backward,
    # edits its terms in place (the grads' versions show it)
    out = {}
    for mod in (torch, gradlens_core):
        y, first, second = _layer_norm_grads(mod, shape, k, affine, create_graph)
        out[mod] = (_names(y.grad_fn), [_names(g.grad_fn) for g in first], [_described(g) for g in second])
    (t_y, t_first, t_second), (g_y, g_first, g_second) = out[torch], out[gradlens_core]
    assert (g_y, g_first) == (t_y, t_first)
    for t, g in zip(t_second, g_second):
        assert (g is None) == (t is None)
        if t is not None:
            np.testing.assert_allclose(g[0], t[0], rtol=1e-12, atol=1e-12)
            assert g[1:] == t[1:]


def test_layer_norm_backward_node_edges_and_saved_values():
    def edges(mod):
        y, first, _ = _layer_norm_grads(mod, (2, 3), 1, True, True)
        node = first[0].grad_fn
        same = [g.grad_fn is node for g in first]
        return [None if n is None else type(n).__name__ for n, _ in node.next_functions], same, first[2].output_nr

    assert edges(gradlens_core) == edges(torch)
    _, first, _ = _layer_norm_grads(gradlens_core, (2, 3), 1, True, True)
    saved = [s.tensor for s in first[0].grad_fn._all_saved()]
    assert len(saved) == 5  # grad_out, input, mean, rstd, weight (torch's _saved_* of the node)


@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_second_derivative_against_central_differences(affine):
    from helpers import gradcheck

    def grads(t, x, w, b, v):
        y = t.nn.functional.layer_norm(x, (3,), w if affine else None, b if affine else None)
        inputs = (x, w, b) if affine else (x,)
        return t.autograd.grad(y, inputs, v, create_graph=True)

    rng = np.random.default_rng(3)
    gradcheck(grads, *(rng.uniform(-1.5, 1.5, s) for s in ((2, 3), (3,), (3,), (2, 3))))


# ----------------------------------------------------------------------------- higher-order graphs
# scripts/higher_order_graphs.py walks the whole graph of each grad to order 4 under torch and
# gradlens_core. PyTorch's generated formulas compute the inputs' grads in the alphabetical
# order of the inputs' names (other before self in mul and div, mat2 before self in mm), and
# C++ evaluates an operator's right operand first: the nodes' sequence numbers, which order
# the next backward pass and so the terms of its sums, follow.

_KNOWN_GRAPH_DIFFERENCES: dict = {}


def _graph_cases():
    import os
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "scripts"))
    import higher_order_graphs

    return higher_order_graphs


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=_KNOWN_GRAPH_DIFFERENCES[n]))
        if n in _KNOWN_GRAPH_DIFFERENCES
        else n
        for n in _graph_cases().CASES
    ],
)
def test_fourth_order_graph_is_torchs(name):
    assert _graph_cases().compare(name, 4) is None


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_atan2_grad_is_zero_at_the_origin(create_graph, dtype):
    # atan2_backward masks the reciprocal of self * self + other * other where it is zero
    grads = []
    for mod in (torch, gradlens_core):
        x = mod.tensor([1.0, 0.0, 0.0, -0.0], dtype=getattr(mod, dtype), requires_grad=True)
        y = mod.tensor([2.0, 0.0, -0.0, 0.0], dtype=getattr(mod, dtype), requires_grad=True)
        gx, gy = mod.autograd.grad(mod.atan2(x, y).sum(), (x, y), create_graph=create_graph)
        grads.append([(str(t.detach()), t.requires_grad) for t in (gx, gy)])
    assert grads[1] == grads[0]


def test_masked_fill_with_a_tensor_value_selects_the_grad_of_the_value():
    # masked_fill_backward: grad.masked_select(mask).sum() (MaskedSelectBackward0 under create_graph)
    graphs = []
    for mod in (torch, gradlens_core):
        v = mod.tensor(2.0, requires_grad=True)
        y = mod.zeros(3).masked_fill(mod.tensor([False, True, True]), v * 1)
        (g,) = mod.autograd.grad(y, v, mod.ones(3, requires_grad=True), create_graph=True)
        graphs.append((_deep_names(g.grad_fn, 4), g.item()))
    assert graphs[1] == graphs[0]
