"""Ops added in session 6 against real PyTorch: the non-differentiable ones (any/all,
nonzero), what the differentiable ones save (an in-place edit of a saved tensor breaks
backward as in PyTorch) and their errors. Their gradients are in the op table of
``helpers.py`` (test_gradcheck.py, test_vs_torch.py)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import compare_with_torch, first_sentence

import gradlens_core

F = np.float32
MIXED = np.array([[0.0, 1.5, -2.0], [0.0, 0.0, 3.0]], dtype=F)
TIED = np.array([[1.0, 2.0, 2.0, 2.0, 1.0, 1.0], [3.0, 0.0, 3.0, 0.0, 3.0, 3.0]], dtype=F)

NONDIFF = {
    "any_all": (lambda t, x: x.any(), MIXED),
    "all_all": (lambda t, x: t.all(x), MIXED),
    "any_dim": (lambda t, x: x.any(1), MIXED),
    "all_dim_keepdim": (lambda t, x: x.all(0, keepdim=True), MIXED),
    "any_dims_tuple": (lambda t, x: t.any(x, dim=(0, 1)), MIXED),
    "all_dim_empty_tuple": (lambda t, x: x.all(dim=()), MIXED),
    "all_uint8_stays_uint8": (lambda t, x: x.to(t.uint8).all(), np.array([1.0, 0.0, 2.0], dtype=F)),
    "any_uint8_dim": (lambda t, x: x.to(t.uint8).any(0), MIXED),
    "any_bool": (lambda t, x: (x > 1).any(-1), MIXED),
    "all_int": (lambda t, x: x.long().all(1), MIXED),
    "any_0d": (lambda t, x: x.any(0), np.array(2.0, dtype=F)),
    "all_empty": (lambda t, x: x.all(), np.zeros((0, 3), dtype=F)),
    "any_empty_dim": (lambda t, x: x.any(1), np.zeros((0, 3), dtype=F)),
    "nonzero": (lambda t, x: x.nonzero(), MIXED),
    "nonzero_fn": (lambda t, x: t.nonzero(x), MIXED),
    "nonzero_as_tuple": (lambda t, x: t.nonzero(x, as_tuple=True), MIXED),
    "nonzero_0d": (lambda t, x: x.nonzero(), np.array(2.0, dtype=F)),
    "nonzero_0d_zero": (lambda t, x: x.nonzero(), np.array(0.0, dtype=F)),
    "nonzero_0d_as_tuple": (lambda t, x: x.nonzero(as_tuple=True), np.array(2.0, dtype=F)),
    "nonzero_1d": (lambda t, x: x[1].nonzero(), MIXED),
    "argwhere": (lambda t, x: t.argwhere(x), MIXED),
    "masked_select_int": (lambda t, x: x.long().masked_select(x > 0), MIXED),
    "logsumexp_int": (lambda t, x: t.logsumexp(x.long(), 1), MIXED),
    "logsumexp_inf": (lambda t, x: (x / 0).logsumexp(1), MIXED),
    "logsumexp_empty": (lambda t, x: x.logsumexp(0), np.zeros((0, 3), dtype=F)),
    "erf_int": (lambda t, x: x.long().erf(), MIXED),
    "expm1_int": (lambda t, x: x.long().expm1(), MIXED),
    "hypot_promotes": (lambda t, x: t.hypot(x, x.double()), MIXED),
    "addcmul_int": (lambda t, x: t.addcmul(x.long(), x.long(), x.long(), value=2), MIXED),
    "addcmul_promotes": (lambda t, x: t.addcmul(x.long(), x, x.double()), MIXED),
    "median_nan": (lambda t, x: (x / x).median(), MIXED),
    "median_dim_nan": (lambda t, x: (x / x).median(1), MIXED),
    "median_ties": (lambda t, x: x.median(1), TIED),
    "median_all_ties": (lambda t, x: x.median(), TIED),
    "median_int": (lambda t, x: x.long().median(0), TIED),
    "median_0d": (lambda t, x: x.median(0), np.array(2.0, dtype=F)),
    "median_empty": (lambda t, x: x.median(), np.zeros((0,), dtype=F)),
    "kthvalue_ties": (lambda t, x: x.kthvalue(3, 1), TIED),
    "kthvalue_ties_dim0": (lambda t, x: x.kthvalue(2, 0, keepdim=True), TIED),
    "kthvalue_nan": (lambda t, x: (x / x).kthvalue(3), MIXED),
    "kthvalue_0d": (lambda t, x: x.kthvalue(1), np.array(2.0, dtype=F)),
    "cross_int": (lambda t, x: t.linalg.cross(x.long(), x.long() + 1), MIXED),
    "hypot__float64_other": (lambda t, x: (x * 1).hypot_(x.double() + 1), MIXED),
    "addcmul_value_0d_tensor": (lambda t, x: t.addcmul(x, x, x, value=t.tensor(2.0)), MIXED),
}


@pytest.mark.parametrize("name", sorted(NONDIFF))
def test_nondifferentiable_op_matches_torch(name):
    fn, *inputs = NONDIFF[name]
    compare_with_torch(fn, *inputs)


def _run_both(fn):
    """``fn(module)`` on gradlens_core and torch: (result, error's first sentence) of each."""
    torch = pytest.importorskip("torch")
    out = []
    for module in (gradlens_core, torch):
        try:
            out.append((fn(module), None))
        except Exception as e:  # noqa: BLE001 - compared with torch's
            out.append((None, (type(e).__name__, first_sentence(str(e)))))
    return out


def _inplace_after(op):
    """The error (if any) of backward after an in-place edit of the op's input."""

    def fn(t):
        x = t.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], requires_grad=True)
        a = x * 1.0
        y = op(t, a)
        a.mul_(2)
        y.sum().backward()
        return x.grad.tolist()

    return fn


SAVES_INPUT = {
    "masked_select": lambda t, a: a.masked_select(t.tensor([True, False, True])),
    # these save no tensor: the edit is harmless
    "tril": lambda t, a: a.tril(),
    "triu": lambda t, a: a.triu(1),
    "repeat": lambda t, a: a.repeat(2, 1),
    "tile": lambda t, a: a.tile((2,)),
    "roll": lambda t, a: a.roll(1),
    "diag": lambda t, a: a.diag(),
    "logsumexp": lambda t, a: a.logsumexp(1),
    "expm1": lambda t, a: a.expm1(),  # saves its result, not its input
    "erf": lambda t, a: a.erf(),
    "hypot": lambda t, a: t.hypot(a, t.ones(3)),
    "hypot_other": lambda t, a: t.hypot(t.ones(3), a),
    "addcmul_self": lambda t, a: t.addcmul(a, t.ones(3), t.ones(3)),
    "addcmul_tensor1": lambda t, a: t.addcmul(t.ones(3), a, t.ones(3)),
    "addcmul_tensor2": lambda t, a: t.addcmul(t.ones(3), t.ones(3), a),
    "addcdiv_tensor1": lambda t, a: t.addcdiv(t.ones(3), a, t.ones(3)),
    "addcdiv_tensor2": lambda t, a: t.addcdiv(t.ones(3), t.ones(3), a),
    "softplus": lambda t, a: t.nn.functional.softplus(a),
    "linalg_cross_self": lambda t, a: t.linalg.cross(a, t.ones(2, 3)),
    "linalg_cross_other": lambda t, a: t.linalg.cross(t.ones(2, 3), a),
    "median": lambda t, a: a.median(),
    "median_dim": lambda t, a: a.median(1).values,  # saves the indices only
    "kthvalue": lambda t, a: a.kthvalue(2).values,
}


def _edit_result(op):
    def fn(t):
        x = t.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], requires_grad=True)
        y = op(t, x * 1.0)
        y.add_(1)
        y.sum().backward()
        return x.grad.tolist()

    return fn


SAVES_RESULT = {
    "expm1": lambda t, a: a.expm1(),
    "logsumexp": lambda t, a: a.logsumexp(0),
    "hypot": lambda t, a: t.hypot(a, t.ones(3)),
    "erf": lambda t, a: a.erf(),  # saves its input only
    "median": lambda t, a: a.median(),
}


def test_cross_without_dim_warns_as_torch():
    torch = pytest.importorskip("torch")
    messages = []
    for t in (gradlens_core, torch):
        with pytest.warns(UserWarning) as record:
            out = t.cross(t.ones(2, 3), t.ones(2, 3))
        messages.append((first_sentence(str(record[0].message)), tuple(out.shape)))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("name", sorted(SAVES_RESULT))
def test_inplace_edit_of_result_matches_torch(name):
    (g, ge), (t, te) = _run_both(_edit_result(SAVES_RESULT[name]))
    assert ge == te
    np.testing.assert_allclose(np.array(g, dtype=float), np.array(t, dtype=float), rtol=1e-6)


@pytest.mark.parametrize("name", sorted(SAVES_INPUT))
def test_inplace_edit_of_saved_input_matches_torch(name):
    (g, ge), (t, te) = _run_both(_inplace_after(SAVES_INPUT[name]))
    assert ge == te
    np.testing.assert_allclose(np.array(g, dtype=float), np.array(t, dtype=float), rtol=1e-6)


ERRORS = {
    "masked_select_non_bool_mask": lambda t: t.ones(3).masked_select(t.tensor([1, 0, 1])),
    "masked_select_bad_broadcast": lambda t: t.ones(2, 3).masked_select(t.tensor([True, False])),
    "tril_1d": lambda t: t.ones(3).tril(),
    "triu__1d": lambda t: t.ones(3).triu_(),
    "tril__leaf": lambda t: t.ones(2, 2, requires_grad=True).tril_(),
    "repeat_too_few": lambda t: t.ones(2, 3).repeat(2),
    "repeat_negative": lambda t: t.ones(3).repeat(-1, 2),
    "repeat_no_args": lambda t: t.ones(3).repeat(),
    "tile_negative": lambda t: t.ones(3).tile(-1),
    "roll_misaligned": lambda t: t.ones(3).roll((1, 2), (0,)),
    "roll_no_shifts": lambda t: t.ones(3).roll((), ()),
    "roll_bad_dim": lambda t: t.ones(3).roll(1, 3),
    "diag_3d": lambda t: t.ones(2, 2, 2).diag(),
    "logsumexp_no_dim": lambda t: t.logsumexp(t.ones(3)),
    "hypot_long": lambda t: t.hypot(t.tensor([3]), t.tensor([4])),
    "hypot_number": lambda t: t.hypot(t.ones(2), 2.0),
    "hypot_method_number": lambda t: t.ones(2).hypot(2.0),
    "hypot__number": lambda t: t.ones(2).hypot_(2.0),
    "masked_select_list_mask": lambda t: t.ones(2).masked_select([True, False]),
    "masked_select_none_mask": lambda t: t.masked_select(t.ones(2), None),
    "addcmul_number": lambda t: t.addcmul(t.ones(2), 2, t.ones(2)),
    "addcmul_method_number": lambda t: t.ones(2).addcmul(2, t.ones(2)),
    "addcdiv_str": lambda t: t.addcdiv(t.ones(2), t.ones(2), "a"),
    "addcmul_value_str": lambda t: t.addcmul(t.ones(2), t.ones(2), t.ones(2), value="a"),
    "addcmul__number": lambda t: t.ones(2).addcmul_(t.ones(2), 3),
    "addcdiv__value_none": lambda t: t.ones(2).addcdiv_(t.ones(2), t.ones(2), value=None),
    "hypot_bad_broadcast": lambda t: t.hypot(t.ones(2), t.ones(3)),
    "addcdiv_integers": lambda t: t.addcdiv(t.tensor([1]), t.tensor([1]), t.tensor([2])),
    "addcmul__leaf": lambda t: t.ones(2, requires_grad=True).addcmul_(t.ones(2), t.ones(2)),
    "hypot__leaf": lambda t: t.ones(2, requires_grad=True).hypot_(t.ones(2)),
    "hypot__long": lambda t: t.tensor([3]).hypot_(t.tensor([4])),
    "softplus_long": lambda t: t.nn.functional.softplus(t.tensor([1, 2])),
    "cross_no_size_3": lambda t: t.cross(t.ones(2, 2), t.ones(2, 2)),
    "linalg_cross_not_3": lambda t: t.linalg.cross(t.ones(2, 2), t.ones(2, 2)),
    "linalg_cross_ndim": lambda t: t.linalg.cross(t.ones(3), t.ones(2, 3)),
    "linalg_cross_dtypes": lambda t: t.linalg.cross(t.ones(3), t.ones(3, dtype=t.float64)),
    "linalg_cross_broadcast": lambda t: t.linalg.cross(t.ones(2, 3), t.ones(3, 3)),
    "median_bool": lambda t: t.tensor([True]).median(),
    "median_empty_dim": lambda t: t.zeros(2, 0).median(1),
    "kthvalue_k_too_large": lambda t: t.ones(2, 3).kthvalue(4),
    "kthvalue_k_zero": lambda t: t.ones(2, 3).kthvalue(0, 0),
}


def test_tril__rebases_history_and_bumps_the_version_as_torch():
    torch = pytest.importorskip("torch")
    seen = []
    for t in (gradlens_core, torch):
        x = t.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        y = x * 1.0
        before = y._version
        z = y.triu_(1)
        (z * z).sum().backward()
        seen.append((z is y, y._version - before, type(y.grad_fn).__name__, x.grad.tolist()))
    assert seen[0] == seen[1]


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_error_matches_torch(name):
    (_, ge), (_, te) = _run_both(ERRORS[name])
    assert te is not None
    assert ge == te


@pytest.mark.parametrize("args", [(), (2, 5)])
def test_softplus_module_matches_torch(args):
    torch = pytest.importorskip("torch")
    assert repr(gradlens_core.nn.Softplus(*args)) == repr(torch.nn.Softplus(*args))
    compare_with_torch(lambda t, x: t.nn.Softplus(*args)(x), (2, 3))


LAYOUT = {
    "nonzero": lambda t, x: x.nonzero(),
    "nonzero_as_tuple": lambda t, x: x.nonzero(as_tuple=True)[1],
    "argwhere": lambda t, x: t.argwhere(x),
    "masked_select": lambda t, x: x.masked_select(x > 0),
    "masked_select_broadcast": lambda t, x: x[0].masked_select(t.tensor([[True, False, True], [False, True, True]])),
    "tril": lambda t, x: x.tril(),
    "repeat": lambda t, x: x.repeat(2, 1),
    "roll": lambda t, x: x.roll(1),
    "diag_of_matrix": lambda t, x: x.diag(),
    "diag_embed": lambda t, x: x[0].diag(),
    "logsumexp": lambda t, x: x.logsumexp(1),
    "hypot_same_input_twice": lambda t, x: t.hypot(x, x * 2),
    "addcmul_same_input": lambda t, x: t.addcmul(x, x, x),
    "cross_same_input_twice": lambda t, x: t.linalg.cross(x, x * 2),
    "median_dim": lambda t, x: x.median(1).values,
    "kthvalue": lambda t, x: x.kthvalue(2).values,
    "softplus": lambda t, x: t.nn.functional.softplus(x),
    "triu_": lambda t, x: (x * 1).triu_(),
    "hypot_": lambda t, x: (x * 1).hypot_(x),
}


@pytest.mark.parametrize("name", sorted(LAYOUT))
def test_result_and_grad_layout_and_version_match_torch(name):
    """The result's strides and version, and the leaf grad's (PyTorch builds some grads in
    place, and adds a second grad for one input into the first)."""
    torch = pytest.importorskip("torch")
    seen = []
    for t in (gradlens_core, torch):
        x = t.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], requires_grad=True)
        y = LAYOUT[name](t, x)
        facts = [y.stride(), y._version]
        if y.requires_grad:
            y.sum().backward()
            facts += [x.grad.stride(), x.grad._version]
        seen.append(facts)
    assert seen[0] == seen[1]


def _node_tree(fn):
    """The names of a node and, recursively, of its next functions (None for an empty edge)."""
    if fn is None:
        return None
    return [type(fn).__name__, *(_node_tree(nf) for nf, _ in fn.next_functions)]


CREATE_GRAPH = {
    "masked_select": lambda t, x: x.masked_select(x > 0),
    "tril": lambda t, x: x.tril(),
    "repeat": lambda t, x: x.repeat(2, 1, 2),
    "tile": lambda t, x: x.tile((2,)),
    "roll": lambda t, x: x.roll(1),
    "diag_of_matrix": lambda t, x: x.diag(),
    "diag_embed": lambda t, x: x[0].diag(),
    "logsumexp": lambda t, x: x.logsumexp(1),
    "expm1": lambda t, x: x.expm1(),
    "erf": lambda t, x: x.erf(),
    "hypot": lambda t, x: t.hypot(x, x[0] * 2),
    "addcmul": lambda t, x: t.addcmul(x, x[0] * 3, x, value=2),
    "addcdiv": lambda t, x: t.addcdiv(x, x * 2, x[0] + 3, value=2),
    "median": lambda t, x: x.median(),
    "median_dim": lambda t, x: x.median(1).values,
    "kthvalue": lambda t, x: x.kthvalue(2).values,
    "softplus": lambda t, x: t.nn.functional.softplus(x),
    "cross": lambda t, x: t.linalg.cross(x, x[:1] * 2),
}


@pytest.mark.parametrize("name", sorted(CREATE_GRAPH))
def test_create_graph_records_the_graph_torch_records(name):
    torch = pytest.importorskip("torch")
    seen = []
    for t in (gradlens_core, torch):
        x = t.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], dtype=t.float64, requires_grad=True)
        y = CREATE_GRAPH[name](t, x)
        v = t.ones(tuple(y.shape), dtype=t.float64, requires_grad=True)
        (grad,) = t.autograd.grad(y, x, v, create_graph=True)
        seen.append((_node_tree(grad.grad_fn), grad._version))
    assert seen[0] == seen[1]


def _view_facts(t):
    """How a tensor sits in memory and in autograd: what PyTorch users can see of a view."""
    return (t._is_view(), t.stride(), t.storage_offset(), t.is_contiguous(), t._version, _node_tree(t.grad_fn))


@pytest.mark.parametrize("offset", [0, 1, -1])
@pytest.mark.parametrize("create_graph", [False, True])
def test_diag_embed_grad_is_a_view_of_the_incoming_grad_as_torch(offset, create_graph):
    # derivatives.yaml's ``grad.diagonal(offset)``: a view of the incoming grad (DiagonalBackward0
    # under create_graph), not a copy; its own backward puts the grad back on the diagonal
    torch = pytest.importorskip("torch")
    seen = []
    for t in (gradlens_core, torch):
        x = t.tensor([1.0, -2.0, 3.0], dtype=t.float64, requires_grad=True)
        n = 3 + abs(offset)
        w = t.arange(float(n * n), dtype=t.float64, requires_grad=True)
        v = (w * 1).view(n, n)
        (g,) = t.autograd.grad(t.diag(x, offset), x, v, create_graph=create_graph)
        facts = [g.tolist(), _view_facts(g), tuple(g._base.shape)]
        if create_graph:
            (gw,) = t.autograd.grad((g * g).sum(), w, create_graph=True)
            facts += [gw.tolist(), _view_facts(gw)]
            g.add_(1)  # the view shares the incoming grad's version counter
            facts += [v._version, g._version, v.tolist()]
        seen.append(facts)
    assert seen[0] == seen[1]


@pytest.mark.parametrize(
    "values",
    [[[0.0, 1.0, 2.0], [3.0, 0.0, 5.0]], [0.0, 2.0, 0.0, 4.0], 3.0, 0.0, [[0.0, 0.0, 0.0]], [[[1.0], [0.0]]]],
    ids=["matrix", "vector", "0d", "0d_zero", "empty", "3d"],
)
def test_nonzero_as_tuple_gives_views_of_one_result_as_torch(values):
    # PyTorch's nonzero(as_tuple=True) is nonzero().unbind(1): views of one (n, ndim) result,
    # sharing its version counter
    torch = pytest.importorskip("torch")
    seen = []
    for t in (gradlens_core, torch):
        parts = t.nonzero(t.tensor(values), as_tuple=True)
        facts = [[(p.tolist(), _view_facts(p)) for p in parts]]
        base = parts[0]._base
        facts.append((tuple(base.shape), base.stride(), all(p._base is base for p in parts)))
        base.add_(1)
        facts.append([(p.tolist(), p._version) for p in parts])
        seen.append(facts)
    assert seen[0] == seen[1]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_erf_over_its_whole_range_as_torch(dtype):
    # erf runs over whole arrays (Cephes' approximations in double): its branches meet at |x| = 1
    # and 8, and it must keep nan, ±inf, the sign of zero and tiny values as torch does
    torch = pytest.importorskip("torch")
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 8.0, -8.0, 27.0, 1e-30, -1e-30, 0.99999, 1.00001]
    values = np.concatenate([np.linspace(-10.0, 10.0, 20001), special]).astype(dtype)
    ours = gradlens_core.erf(gradlens_core.tensor(values)).numpy()
    theirs = torch.erf(torch.tensor(values)).numpy()
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(np.signbit(ours), np.signbit(theirs))
    np.testing.assert_allclose(ours, theirs, rtol=2 * np.finfo(dtype).eps, atol=0)


# ----------------------------------------------------------------------------- session 7: bitwise ops,
# index_select, round(decimals=)

INTS = np.array([[5, -3, 0], [12, 7, 1]], dtype=np.int64)
BOOLS = np.array([True, False, True])

ADDED_OPS = {
    "bitwise_and": (lambda t, x: t.bitwise_and(x, x.flip(0)), INTS),
    "bitwise_or_number": (lambda t, x: t.bitwise_or(x, 8), INTS),
    "bitwise_xor_method": (lambda t, x: x.bitwise_xor(3), INTS),
    "bitwise_not": (lambda t, x: t.bitwise_not(x), INTS),
    "bitwise_not_bool_method": (lambda t, x: x.bitwise_not(), BOOLS),
    "bitwise_xor_bool_number": (lambda t, x: t.bitwise_xor(x, True), BOOLS),
    "bitwise_and_uint8": (lambda t, x: x.to(t.uint8).bitwise_and(6), INTS),
    "bitwise_and_": (lambda t, x: x.clone().bitwise_and_(6), INTS),
    "bitwise_or_tensor_": (lambda t, x: x.clone().bitwise_or_(x.flip(1)), INTS),
    "bitwise_not_": (lambda t, x: x.clone().bitwise_not_(), INTS),
    "iand": (lambda t, x: x.clone().__iand__(3), INTS),
    "rxor_int": (lambda t, x: 1 ^ x, INTS),
    "index_select": (lambda t, x: x.index_select(1, t.tensor([2, 0, 2])), MIXED),
    "index_select_fn_dim0": (lambda t, x: t.index_select(x, 0, t.tensor([1, 1, 0])), MIXED),
    "index_select_0d_index": (lambda t, x: x.index_select(-1, t.tensor(1)), MIXED),
    "index_select_int32": (lambda t, x: x.index_select(1, t.tensor([1, 0], dtype=t.int32)), MIXED),
    "index_select_empty": (lambda t, x: x.index_select(0, t.tensor([], dtype=t.int64)), MIXED),
    "index_select_0d_input": (lambda t, x: x.sum().index_select(0, t.tensor([0])), MIXED),
    "index_select_int_input": (lambda t, x: x.index_select(1, t.tensor([2, 2])), INTS),
    "round_decimals": (lambda t, x: t.round(x * 1.2345, decimals=2), MIXED),
    "round_negative_decimals": (lambda t, x: (x * 77.7).round(decimals=-1), MIXED),
    "round_decimals_float64": (lambda t, x: t.round(x.double() / 7, decimals=3), MIXED),
    "round_decimals_half": (lambda t, x: t.round(x.half() / 8 + 0.125, decimals=1), MIXED),
    "round_decimals_zero": (lambda t, x: t.round(x + 0.5, decimals=0), MIXED),
}

ADDED_OPS.update(
    {
        # session 7: the ops whose wrong-typed arguments now replay PyTorch's parser still compute
        "round__decimals": (lambda t, x: (x * 1.2345).round_(decimals=2), MIXED),
        "round__negative_decimals": (lambda t, x: (x * 77.7).round_(decimals=-1), MIXED),
        "unflatten_fn": (lambda t, x: t.unflatten(x, 1, (3, 1)), MIXED),
        "unflatten_fn_minus_one": (lambda t, x: t.unflatten(x, -1, [1, -1]), MIXED),
        "masked_fill_fn": (lambda t, x: t.masked_fill(x, x > 0, 7.0), MIXED),
        "clamp_min_fn": (lambda t, x: t.clamp_min(x, 0.5), MIXED),
        "clamp_max_fn": (lambda t, x: t.clamp_max(x, np.float64(1.0)), MIXED),
        "reshape_fn_keyword_shape": (lambda t, x: t.reshape(x, shape=(3, 2)), MIXED),
        "index_float_list": (lambda t, x: x[[1.0, 0.7]], MIXED),
        "index_float_list_second": (lambda t, x: x[:, [2.9, -1.5]], MIXED),
        "index_numpy_float_array": (lambda t, x: x[np.array([1.0])], MIXED),
    }
)


# session 7: shifts, as ATen's lshift/rshift kernels (a count out of range, negative counts, the sign)
SHIFTS = np.array([[5, -3, 0, -8], [12, 7, 1, -1]], dtype=np.int64)
COUNTS = np.array([1, 0, 63, 64], dtype=np.int64)

ADDED_OPS.update(
    {
        "lshift_int": (lambda t, x: x << 2, SHIFTS),
        "rshift_int": (lambda t, x: x >> 1, SHIFTS),
        "lshift_numpy_int": (lambda t, x: x << np.int64(1), SHIFTS),
        "rshift_numpy_int": (lambda t, x: x >> np.int32(2), SHIFTS),
        "lshift_tensor_counts": (lambda t, x, c: x << c, SHIFTS, COUNTS),
        "rshift_tensor_counts": (lambda t, x, c: x >> c, SHIFTS, COUNTS),
        "lshift_negative_count": (lambda t, x: x << -1, SHIFTS),
        "rshift_negative_count": (lambda t, x: x >> -1, SHIFTS),
        "lshift_beyond_width": (lambda t, x: x << 70, SHIFTS),
        "rshift_beyond_width": (lambda t, x: x >> 70, SHIFTS),
        "rlshift_number": (lambda t, x: 1 << x.abs(), SHIFTS),
        "rrshift_number": (lambda t, x: 1024 >> x, SHIFTS),
        "rlshift_numpy_number": (lambda t, x: np.int64(3) << x.abs(), SHIFTS),
        "lshift_int8_wraps": (lambda t, x: x.to(t.int8) << 5, SHIFTS),
        "rshift_int8_sign": (lambda t, x: x.to(t.int8) >> t.tensor([9, 7, 1, 100], dtype=t.int8), SHIFTS),
        "lshift_uint8": (lambda t, x: x.abs().to(t.uint8) << 4, SHIFTS),
        "rshift_uint8_wrapped_count": (lambda t, x: x.abs().to(t.uint8) >> 300, SHIFTS),
        "lshift_uint8_by_int8_promotes": (lambda t, x: x.abs().to(t.uint8) << x.abs().to(t.int8), SHIFTS),
        "lshift_int32_by_int64_0d": (lambda t, x: x.int() << t.tensor(3), SHIFTS),
        "lshift_bool_by_number": (lambda t, x: (x > 0) << 1, SHIFTS),
        "bitwise_left_shift_fn": (lambda t, x: t.bitwise_left_shift(x, 3), SHIFTS),
        "bitwise_right_shift_fn_tensor": (lambda t, x, c: t.bitwise_right_shift(x, c), SHIFTS, COUNTS),
        "bitwise_left_shift_fn_number_first": (lambda t, x: t.bitwise_left_shift(2, x.abs()), SHIFTS),
        "bitwise_right_shift_method": (lambda t, x: x.bitwise_right_shift(2), SHIFTS),
        "bitwise_left_shift_": (lambda t, x: x.clone().bitwise_left_shift_(1), SHIFTS),
        "bitwise_right_shift__tensor": (lambda t, x, c: x.clone().bitwise_right_shift_(c), SHIFTS, COUNTS),
        "ilshift": (lambda t, x: _augmented(x.clone(), "<<=", 2), SHIFTS),
        "irshift_uint8_by_int64": (lambda t, x: _augmented(x.abs().to(t.uint8), ">>=", t.tensor([1, 2, 3, 4])), SHIFTS),
    }
)


# session 7: fmod (the dividend's sign, a zero's sign kept, nan for a zero float divisor)
DIVIDENDS = np.array([[5.5, -5.5, -0.0, 3.0], [-4.0, 6.0, -6.0, 0.25]], dtype=F)
DIVISORS = np.array([2.0, -2.5, 1.5, -3.0], dtype=F)

ADDED_OPS.update(
    {
        "fmod_number": (lambda t, x: t.fmod(x, 2), DIVIDENDS),
        "fmod_negative_float_number": (lambda t, x: x.fmod(-2.5), DIVIDENDS),
        "fmod_zero_float": (lambda t, x: t.fmod(x, 0), DIVIDENDS),
        "fmod_tensor": (lambda t, x, y: t.fmod(x, y), DIVIDENDS, DIVISORS),
        "fmod_tensor_method_other_only": (lambda t, x, y: x.detach().fmod(y), DIVIDENDS, DIVISORS),
        "fmod_tensor_self_only": (lambda t, x, y: x.fmod(y.detach()), DIVIDENDS, DIVISORS),
        "fmod_float64_0d": (lambda t, x: t.fmod(x.double(), t.tensor(0.7)), DIVIDENDS),
        "fmod_half": (lambda t, x: t.fmod(x.half(), 0.7), DIVIDENDS),
        "fmod_int": (lambda t, x: t.fmod(x, 3), SHIFTS),
        "fmod_int_negative": (lambda t, x: t.fmod(x, -3), SHIFTS),
        "fmod_int_by_float": (lambda t, x: t.fmod(x, 2.5), SHIFTS),
        "fmod_int8_wrapped_number": (lambda t, x: t.fmod(x.to(t.int8), 200), SHIFTS),
        "fmod_bool_by_int": (lambda t, x: t.fmod(x > 0, 1), SHIFTS),
        "fmod_": (lambda t, x: x.clone().fmod_(2), DIVIDENDS),
        "fmod__tensor": (lambda t, x, y: (x * 1).fmod_(y), DIVIDENDS, DIVISORS),
        "fmod__int": (lambda t, x: x.clone().fmod_(t.tensor([1, 2, 3, 4])), SHIFTS),
    }
)


def _fmod_saved(t, edit_self, other_requires_grad):
    a = t.tensor([5.5, -5.5, 3.0], requires_grad=True)
    b = t.tensor([2.0, 2.0, -1.5], requires_grad=other_requires_grad)
    x = a * 1
    y = t.fmod(x, b)
    if edit_self:
        x.add_(1)
    else:
        y.fmod_(b)
    try:
        y.sum().backward()
    except RuntimeError as e:
        return first_sentence(str(e))
    return a.grad.tolist(), None if b.grad is None else b.grad.tolist(), y._version, y.tolist()


@pytest.mark.parametrize("edit_self", [False, True])
@pytest.mark.parametrize("other_requires_grad", [False, True])
def test_fmod_saves_self_as_torch(edit_self, other_requires_grad):
    torch = pytest.importorskip("torch")
    theirs = _fmod_saved(torch, edit_self, other_requires_grad)
    assert _fmod_saved(gradlens_core, edit_self, other_requires_grad) == theirs


def _augmented(y, op, other):
    before = y._version
    if op == "<<=":
        y <<= other
    elif op == ">>=":
        y >>= other
    elif op == "//=":
        y //= other
    elif op == "**=":
        y **= other
    assert y._version == before + 1
    return y


def _ior(y):
    y |= 1
    return y


@pytest.mark.parametrize("name", sorted(ADDED_OPS))
def test_added_op_matches_torch(name):
    fn, *inputs = ADDED_OPS[name]
    compare_with_torch(fn, *inputs)


ADDED_ERRORS = {
    "index_select_2d_index": lambda t: t.ones(2, 3).index_select(1, t.tensor([[0]])),
    "index_select_float_index": lambda t: t.ones(2, 3).index_select(1, t.tensor([0.0])),
    "index_select_out_of_range": lambda t: t.ones(2, 3).index_select(1, t.tensor([0, 5])),
    "index_select_negative": lambda t: t.ones(2, 3).index_select(1, t.tensor([-1])),
    "index_select_dim": lambda t: t.ones(2, 3).index_select(2, t.tensor([0])),
    "index_select_scalar_two": lambda t: t.tensor(2.0).index_select(0, t.tensor([0, 0])),
    "round_decimals_int": lambda t: t.round(t.tensor([1, 2]), decimals=1),
    "bitwise_and__float_other": lambda t: t.tensor([1, 2]).bitwise_and_(t.ones(2)),
    "bitwise_and__bool_self": lambda t: t.tensor([True]).bitwise_and_(1),
    "bitwise_not__float": lambda t: t.ones(2).bitwise_not_(),
    "rxor_float_number": lambda t: 1.5 ^ t.tensor([1, 2]),
    "lshift_float": lambda t: t.ones(2) << 1,
    "rshift_by_float_number": lambda t: t.tensor([1, 2]) >> 1.5,
    "rlshift_float_number": lambda t: 1.5 << t.tensor([1, 2]),
    "lshift_by_float_tensor": lambda t: t.tensor([1, 2]) << t.ones(2),
    "lshift_bool_bool": lambda t: t.tensor([True]) << t.tensor([True]),
    "rshift_bool_bool": lambda t: t.tensor([True]) >> t.tensor([False]),
    "lshift_float_requires_grad": lambda t: t.ones(2, requires_grad=True) << 1,
    "lshift_broadcast": lambda t: t.tensor([1, 2, 3]) << t.tensor([1, 2]),
    "rshift_float_broadcast_first": lambda t: t.tensor([1, 2]).bitwise_right_shift(t.ones(3)),
    "ilshift_float_number": lambda t: _augmented(t.tensor([1, 2]), "<<=", 1.5),
    "irshift_float_self": lambda t: _augmented(t.ones(2), ">>=", 1),
    "bitwise_left_shift__str": lambda t: t.tensor([1, 2]).bitwise_left_shift_("a"),
    "bitwise_right_shift_str": lambda t: t.bitwise_right_shift(t.tensor([1, 2]), "a"),
    "bitwise_left_shift_one_arg": lambda t: t.bitwise_left_shift(t.tensor([1, 2])),
    "lshift_none": lambda t: t.tensor([1, 2]) << None,
    "rrshift_list": lambda t: [1] >> t.tensor([1, 2]),
}


@pytest.mark.parametrize("name", sorted(ADDED_ERRORS))
def test_added_op_error_matches_torch(name):
    (_, mine), (_, theirs) = _run_both(ADDED_ERRORS[name])
    assert theirs is not None
    assert mine == theirs


ADDED_ERRORS.update(
    {
        "fmod_int_zero": lambda t: t.fmod(t.tensor([7, -7]), 0),
        "fmod_int_zero_tensor": lambda t: t.fmod(t.tensor([7, -7]), t.tensor([1, 0])),
        "fmod_int_zero_broadcast_first": lambda t: t.fmod(t.tensor([7, -7, 1]), t.tensor([1, 0])),
        "fmod_bool": lambda t: t.fmod(t.tensor([True]), t.tensor([True])),
        "fmod_number_first": lambda t: t.fmod(3, t.tensor([1, 2])),
        "fmod_str": lambda t: t.fmod(t.ones(2), "a"),
        "fmod_one_arg": lambda t: t.fmod(t.ones(2)),
        "fmod__none": lambda t: t.ones(2).fmod_(None),
        "fmod__int_by_float": lambda t: t.tensor([1, 2]).fmod_(2.5),
        "fmod__int_zero": lambda t: t.tensor([1, 2]).fmod_(0),
        "fmod__leaf": lambda t: t.ones(2, requires_grad=True).fmod_(2),
    }
)


# ----------------------------------------------------------------------------- floor_divide_ (//=)

FLOOR_DIVIDE_IN_PLACE = {
    "by_number": lambda t: _floor_divided(t, t.tensor([3.0, -4.0, 5.5], requires_grad=True) * 1, 2),
    "by_tensor": lambda t: _floor_divided(
        t, t.tensor([3.0, -4.0, 5.5], requires_grad=True) * 1, t.tensor([2.0, 3.0, -2.0], requires_grad=True)
    ),
    "backward_refused": lambda t: (
        _floor_divided(t, t.tensor([3.0, 4.0], requires_grad=True) * 1, 2)[-1].sum().backward()
    ),
    "int_by_float_refused": lambda t: _floor_divided(t, t.tensor([3, 4]), 2.5),
    "int_by_int": lambda t: _floor_divided(t, t.tensor([3, -7]), 2),
    "int_by_zero": lambda t: _floor_divided(t, t.tensor([3, 4]), 0),
    "bool_refused": lambda t: _floor_divided(t, t.tensor([True]), True),
    "leaf_refused": lambda t: _floor_divided(t, t.tensor([3.0, 4.0], requires_grad=True), 2),
    "shapes": lambda t: _floor_divided(t, t.ones(2, 2), t.tensor([1.0, 2.0, 3.0])),
    "self_without_grad": lambda t: _floor_divided(
        t, t.tensor([3.0, 4.0]), t.tensor([2.0, 3.0], requires_grad=True) * 1
    ),
    "other_without_grad": lambda t: _floor_divided(
        t, t.tensor([3.0, 4.0], requires_grad=True) * 1, t.tensor([2.0, 3.0])
    ),
    "method_returns_self": lambda t: (lambda x: x.floor_divide_(2) is x)(t.tensor([3.0, 4.0])),
    "method_parser": lambda t: t.ones(2).floor_divide_("a"),
    "div_floor_int_by_zero": lambda t: t.tensor([3, 4]).div_(0, rounding_mode="floor"),
    "div_trunc_bool": lambda t: t.tensor([True]).div_(True, rounding_mode="trunc"),
}


FLOOR_DIVIDE = {
    # floor_divide has no derivative: a NotImplemented node with edges to the inputs that require grad
    "by_number": lambda t: _divided(t, t.tensor([3.0, -4.0], requires_grad=True), 2),
    "number_by": lambda t: _divided(t, 2, t.tensor([3.0, -4.0], requires_grad=True)),
    "by_tensor_without_grad": lambda t: _divided(t, t.tensor([3.0, -4.0], requires_grad=True), t.tensor([2.0, 3.0])),
    "tensor_without_grad_by": lambda t: _divided(t, t.tensor([2.0, 3.0]), t.tensor([3.0, -4.0], requires_grad=True)),
    "by_itself": lambda t: (lambda x: _divided(t, x, x))(t.tensor([3.0, -4.0], requires_grad=True)),
    "function": lambda t: _divided(t, t.tensor([3.0, -4.0], requires_grad=True), 2, t.floor_divide),
    "integers": lambda t: _divided(t, t.tensor([3, -4]), 2),
    "backward_refused": lambda t: (t.tensor([3.0, 4.0], requires_grad=True) // 2).sum().backward(),
    "div_floor_is_differentiable": lambda t: _divided(
        t, t.tensor([3.0, -4.0], requires_grad=True), 2, lambda a, b: t.div(a, b, rounding_mode="floor")
    ),
}


def _divided(t, x, other, fn=lambda a, b: a // b):
    y = fn(x, other)
    node = y.grad_fn
    edges = None if node is None else [type(n).__name__ for n, _ in node.next_functions]
    return y.tolist(), str(y.dtype), None if node is None else type(node).__name__, edges


@pytest.mark.parametrize("name", list(FLOOR_DIVIDE))
def test_floor_divide_as_torch(name):
    (mine, mine_error), (theirs, theirs_error) = _run_both(FLOOR_DIVIDE[name])
    assert (mine, mine_error) == (theirs, theirs_error)


def _floor_divided(t, x, other):
    x //= other
    node = x.grad_fn
    edges = None if node is None else [type(n).__name__ for n, _ in node.next_functions]
    return x.tolist(), str(x.dtype), x._version, None if node is None else type(node).__name__, edges, x


@pytest.mark.parametrize("name", list(FLOOR_DIVIDE_IN_PLACE))
def test_floor_divide_in_place_as_torch(name):
    torch = pytest.importorskip("torch")

    def run(mod):
        try:
            out = FLOOR_DIVIDE_IN_PLACE[name](mod)
        except Exception as exc:
            return type(exc).__name__, str(exc).splitlines()[0]
        return out[:-1] if isinstance(out, tuple) else out

    assert run(gradlens_core) == run(torch)


# ----------------------------------------------------------------------------- pow_ (**=)


def _powered(t, x, exponent):
    x **= exponent
    node = x.grad_fn
    edges = None if node is None else [None if n is None else type(n).__name__ for n, _ in node.next_functions]
    return x.tolist(), str(x.dtype), x._version, None if node is None else type(node).__name__, edges


def _pow_backward(t, exponent, edit=None):
    """Grads through ``b **= exponent`` (``edit``: an in-place edit of the result or of the
    exponent after it, which breaks backward where pow saved what was edited)."""
    a = t.tensor([1.0, 2.0, 3.0, 0.0], requires_grad=True)
    e = exponent(t) if callable(exponent) else exponent
    b = a * 1
    b **= e
    if edit == "result":
        b.add_(1)
    elif edit == "exponent":
        e.add_(1)
    b.sum().backward()
    return a.grad.tolist(), None if not isinstance(e, t.Tensor) or e.grad is None else e.grad.tolist()


def _pow_of_view(t):
    a = t.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    b = a * 1
    v = b[1:3]
    v **= 2
    b.sum().backward()
    return b.tolist(), type(b.grad_fn).__name__, type(v.grad_fn).__name__, v._version, a.grad.tolist()


def _pow_double_backward(t):
    a = t.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = a * 1
    b **= t.tensor([2.0, 3.0, 0.5])
    (g,) = t.autograd.grad(b.sum(), a, create_graph=True)
    (gg,) = t.autograd.grad(g.sum(), a)
    return g.tolist(), type(g.grad_fn).__name__, gg.tolist()


def _requiring_grad(values):
    return lambda t: t.tensor(values, requires_grad=True)


def _self_powered_backward(t):
    b = t.tensor([1.0, 2.0], requires_grad=True) * 1
    b **= b
    b.sum().backward()


def _pow_of_leaf_under_no_grad(t):
    with t.no_grad():
        return _powered(t, t.tensor([1.0, 2.0], requires_grad=True), 2)


def _no_grad_view_powered(t):
    b = t.tensor([1.0, 2.0], requires_grad=True) * 1
    with t.no_grad():
        v = b[:1]
    v **= 2


POW_IN_PLACE = {
    "by_int": lambda t: _powered(t, t.tensor([1.0, 2.0, 3.0], requires_grad=True) * 1, 2),
    "by_float": lambda t: _powered(t, t.tensor([1.0, 2.0, 3.0], requires_grad=True) * 1, 2.5),
    "by_numpy_float": lambda t: _powered(t, t.tensor([1.0, 2.0, 3.0], requires_grad=True) * 1, np.float32(0.5)),
    "by_tensor": lambda t: _powered(
        t, t.tensor([1.0, 2.0, 3.0], requires_grad=True) * 1, t.tensor([1.0, 2.0, 3.0], requires_grad=True)
    ),
    "self_without_grad": lambda t: _powered(t, t.tensor([1.0, 2.0]), t.tensor([1.0, 2.0], requires_grad=True)),
    "exponent_without_grad": lambda t: _powered(t, t.tensor([1.0, 2.0], requires_grad=True) * 1, t.tensor([1.0, 2.0])),
    "int_by_int": lambda t: _powered(t, t.tensor([1, 2, 3]), 2),
    "int_by_negative_tensor": lambda t: _powered(t, t.tensor([2, -1, 1]), t.tensor([-1, -1, -3])),
    "float_by_0d_float64": lambda t: _powered(t, t.tensor([1.0, 2.0]), t.tensor(2.0, dtype=t.float64)),
    "float_by_int_tensor": lambda t: _powered(t, t.tensor([1.0, 2.0]), t.tensor([-1, 2])),
    "bool_by_true": lambda t: _powered(t, t.tensor([True, False]), True),
    "bool_by_false": lambda t: _powered(t, t.tensor([True, False]), False),
    "float16": lambda t: _powered(t, t.tensor([2.0, 3.0], dtype=t.float16), 2.5),
    "self_as_exponent": lambda t: (lambda b: _powered(t, b, b))(t.arange(4.0)),
    "no_grad": _pow_of_leaf_under_no_grad,
    "method_returns_self": lambda t: (lambda x: x.pow_(2) is x)(t.tensor([3.0, 4.0])),
    "method_keyword": lambda t: t.ones(2).pow_(exponent=3).tolist(),
    "backward_by_number": lambda t: _pow_backward(t, 2),
    "backward_by_zero": lambda t: _pow_backward(t, 0),
    "backward_by_half": lambda t: _pow_backward(t, 0.5),
    "backward_by_tensor": lambda t: _pow_backward(t, _requiring_grad([2.0, 0.5, 1.0, 3.0])),
    "result_edited_number": lambda t: _pow_backward(t, 2, "result"),  # saves self's old values only
    "result_edited_tensor": lambda t: _pow_backward(t, _requiring_grad([2.0, 0.5, 1.0, 3.0]), "result"),
    "exponent_edited": lambda t: _pow_backward(t, lambda t: t.tensor([2.0, 0.5, 1.0, 3.0]), "exponent"),
    "self_as_exponent_backward": _self_powered_backward,  # the saved exponent is stale
    "view": _pow_of_view,
    "double_backward": _pow_double_backward,
    # refused
    "leaf": lambda t: _powered(t, t.tensor([1.0, 2.0], requires_grad=True), 2),
    "view_of_leaf": lambda t: _powered(t, t.tensor([1.0, 2.0], requires_grad=True)[:1], 2),
    "multi_output_view": lambda t: _powered(t, (t.tensor([1.0, 2.0], requires_grad=True) * 1).split(1)[0], 2),
    "no_grad_view": _no_grad_view_powered,
    "int_by_float": lambda t: _powered(t, t.tensor([1, 2]), 2.5),
    "int_by_float_tensor": lambda t: _powered(t, t.tensor([1, 2]), t.tensor([1.0, 2.0])),
    "int_by_negative_int": lambda t: _powered(t, t.tensor([1, 2]), -2),
    "expanded_int_by_negative_int": lambda t: _powered(t, t.tensor([2]).expand(3), -2),  # pow's check first
    "bool_by_int": lambda t: _powered(t, t.tensor([True, False]), 2),
    "bool_by_bool_tensor": lambda t: _powered(t, t.tensor([True, False]), t.tensor([True, True])),
    "shape": lambda t: _powered(t, t.ones(2), t.ones(2, 2)),
    "broadcast": lambda t: _powered(t, t.ones(2, 2), t.ones(3)),
    "expanded": lambda t: _powered(t, t.ones(1).expand(3), 2),
    "partial_overlap": lambda t: (lambda b: _powered(t, b[1:], b[:-1]))(t.arange(4.0)),
    "string": lambda t: _powered(t, t.ones(2), "a"),
    "list": lambda t: _powered(t, t.ones(2), [1, 2]),
    "method_string": lambda t: t.ones(2).pow_("a"),
    "method_none": lambda t: t.ones(2).pow_(None),
    # the saved result's error names the node "Pow1" (PyTorch's forward_op_name)
    "result_edited_exponent_without_grad": lambda t: _pow_backward(t, lambda t: t.tensor([2.0, 0.5, 1, 3]), "result"),
}


@pytest.mark.parametrize("name", list(POW_IN_PLACE))
def test_pow_in_place_as_torch(name):
    torch = pytest.importorskip("torch")

    def run(mod):
        try:
            return POW_IN_PLACE[name](mod)
        except Exception as exc:
            return type(exc).__name__, str(exc).splitlines()[0]

    assert run(gradlens_core) == run(torch)
