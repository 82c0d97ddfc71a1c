"""clamp_min/clamp_max with tensor bounds and in place, torch.fill, and what remainder and
fmod save, against real PyTorch: values, dtypes, strides, node names and edges, versions,
the grads of every input, and which in-place edit of an operand breaks backward."""

from __future__ import annotations

import textwrap

import pytest
from helpers import first_sentence

import gradlens_core
from gradlens.runner import run_source

X = [[0.5, -1.0, 2.0], [1.5, 0.0, -0.75]]
UP = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]  # the upstream grad: each element's share can be told apart


def _outcomes(program):
    """``program(t)`` under gradlens_core and torch: its result, or its error's class and first sentence."""
    torch = pytest.importorskip("torch")
    seen = []
    for t in (gradlens_core, torch):
        try:
            seen.append(program(t))
        except Exception as e:  # noqa: BLE001 - compared with torch's
            seen.append((type(e).__name__, first_sentence(str(e))))
    return seen


def _same_as_torch(program):
    ours, theirs = _outcomes(program)
    assert repr(ours) == repr(theirs)  # (repr: nan equals nan, -0.0 differs from 0.0)


def _node(fn):
    """A node's name and the names at the ends of its edges (None for an empty edge)."""
    if fn is None:
        return None
    return [type(fn).__name__, [None if f is None else type(f).__name__ for f, _ in fn.next_functions]]


def _grad(t):
    return None if t.grad is None else t.grad.tolist()


# ----------------------------------------------------------------------------- clamp_min_ / clamp_max_


def _clamp_in_place(call, bound=None, bound_grad=False):
    """``call(t, a, b)`` edits ``a = x * 1`` in place (``b``: ``bound`` as a tensor, or None)."""

    def program(t):
        x = t.tensor(X, requires_grad=True)
        b = None if bound is None else t.tensor(bound, requires_grad=bound_grad)
        a = x * 1
        r = call(t, a, b)
        facts = [r is a, a._version, _node(a.grad_fn), a.tolist(), str(a.dtype)]
        (a * t.tensor(UP)).sum().backward()
        return facts + [_grad(x), None if b is None else _grad(b)]

    return program


CLAMP_IN_PLACE = {
    "min_number": _clamp_in_place(lambda t, a, b: a.clamp_min_(0.25)),
    "max_number": _clamp_in_place(lambda t, a, b: a.clamp_max_(0.0)),  # a tie at 0.0 keeps the grad
    "min_number_keyword": _clamp_in_place(lambda t, a, b: a.clamp_min_(min=0.0)),
    "min_int_number": _clamp_in_place(lambda t, a, b: a.clamp_min_(1)),
    "min_bool_number": _clamp_in_place(lambda t, a, b: a.clamp_max_(True)),
    "min_tensor": _clamp_in_place(lambda t, a, b: a.clamp_min_(b), [0.0, 0.0, 2.0], True),  # ties at 0 and 2
    "max_tensor": _clamp_in_place(lambda t, a, b: a.clamp_max_(b), [0.0, 0.0, 2.0], True),
    "min_tensor_no_grad": _clamp_in_place(lambda t, a, b: a.clamp_min_(b), [0.0, 0.0, 2.0]),
    "max_tensor_column": _clamp_in_place(lambda t, a, b: a.clamp_max_(b), [[1.0], [0.0]], True),
    "min_tensor_0d": _clamp_in_place(lambda t, a, b: a.clamp_min_(b), 0.75, True),
    "max_tensor_0d_keyword": _clamp_in_place(lambda t, a, b: a.clamp_max_(max=b), 0.75, True),
    "min_function": _clamp_in_place(lambda t, a, b: t.clamp_min_(a, b), [1.0, -2.0, 0.0], True),
    "max_function_number": _clamp_in_place(lambda t, a, b: t.clamp_max_(a, 1.0)),
    "min_tensor_nan": _clamp_in_place(lambda t, a, b: a.clamp_min_(b), [float("nan"), 0.0, 3.0], True),
    "min_tensor_float64": _clamp_in_place(lambda t, a, b: a.clamp_min_(b.double()), [0.0, 0.0, 2.0], True),
    "min_tensor_int": _clamp_in_place(lambda t, a, b: a.clamp_min_(b.long()), [0.0, 1.0, 3.0]),
    "min_self": _clamp_in_place(lambda t, a, b: a.clamp_min_(a)),  # the saved min is self: stale at once
}


@pytest.mark.parametrize("name", sorted(CLAMP_IN_PLACE))
def test_clamp_min_max_in_place_match_torch(name):
    _same_as_torch(CLAMP_IN_PLACE[name])


def _clamp_plain(call, values, bound):
    """``call(t, x, b)`` on tensors that require no grad: the values and dtype written."""

    def program(t):
        x = t.tensor(values)
        b = t.tensor(bound) if isinstance(bound, list) else bound
        r = call(t, x, b)
        return [r is x, x._version, x.tolist(), str(x.dtype), _node(x.grad_fn)]

    return program


INTS = [1, -2, 3]
CLAMP_PLAIN = {
    "int_int_number": _clamp_plain(lambda t, x, b: x.clamp_min_(b), INTS, 0),
    "int_bool_number": _clamp_plain(lambda t, x, b: x.clamp_max_(b), INTS, True),
    "float_int_tensor": _clamp_plain(lambda t, x, b: x.clamp_min_(b), [1.0, -2.0, 3.0], [0, 1, 5]),
    "bool_bool_tensor": _clamp_plain(lambda t, x, b: x.clamp_min_(b), [True, False], [True, True]),
    "int8_wraps_a_0d_int64": _clamp_plain(lambda t, x, b: x.char().clamp_max_(t.tensor(1000)), INTS, None),
    "nan_number": _clamp_plain(lambda t, x, b: x.clamp_min_(b), [1.0, float("nan")], 2.0),
    "nan_bound": _clamp_plain(lambda t, x, b: x.clamp_max_(b), [1.0, -1.0], float("nan")),
    "signed_zero_number": _clamp_plain(lambda t, x, b: x.clamp_min_(b), [-0.0, 0.0], 0.0),
    "signed_zero_tensor": _clamp_plain(lambda t, x, b: x.clamp_max_(b), [-0.0, 0.0, -0.0], [0.0, -0.0, 0.0]),
    "grad_of_bound_only": _clamp_plain(lambda t, x, b: x.clamp_min_(t.tensor(2.0, requires_grad=True)), X, None),
}


@pytest.mark.parametrize("name", sorted(CLAMP_PLAIN))
def test_clamp_min_max_in_place_values_match_torch(name):
    _same_as_torch(CLAMP_PLAIN[name])


CLAMP_ERRORS = {
    "leaf": lambda t: t.ones(3, requires_grad=True).clamp_min_(0.5),
    "leaf_tensor_bound": lambda t: t.ones(3, requires_grad=True).clamp_max_(t.zeros(3)),
    "int_float_number": lambda t: t.tensor(INTS).clamp_min_(0.5),
    "int_float_tensor": lambda t: t.tensor(INTS).clamp_max_(t.tensor([0.5, 0.5, 0.5])),
    "int_float_0d_tensor_with_grad": lambda t: t.tensor(INTS).clamp_min_(t.tensor(0.5, requires_grad=True)),
    "bool_int_number": lambda t: t.tensor([True, False]).clamp_min_(0),
    "bound_broadcasts_beyond_self": lambda t: t.ones(3).clamp_min_(t.zeros(2, 3)),
    "bound_of_another_size": lambda t: t.ones(3).clamp_max_(t.zeros(2)),
    "expanded_self": lambda t: t.ones(3).expand(2, 3).clamp_min_(0.0),
    "expanded_self_tensor_bound": lambda t: t.ones(3).expand(2, 3).clamp_max_(t.zeros(2, 3)),
    "partial_overlap": lambda t: (lambda x: x[:3].clamp_min_(x[1:]))(t.arange(4.0)),
    "str": lambda t: t.ones(3).clamp_min_("a"),
    "none": lambda t: t.ones(3).clamp_max_(None),
    "list": lambda t: t.ones(3).clamp_max_([1.0, 2.0]),
    "missing": lambda t: t.ones(3).clamp_min_(),
    "two_numbers": lambda t: t.ones(3).clamp_min_(1.0, 2.0),
    "function_none": lambda t: t.clamp_min_(t.ones(3), None),
    "function_str": lambda t: t.clamp_max_(t.ones(3), "a"),
    "function_missing": lambda t: t.clamp_max_(t.ones(3)),
    "function_number_self": lambda t: t.clamp_min_(1.0, 0.0),
    "unknown_keyword": lambda t: t.ones(3).clamp_min_(2.0, max=1.0),
    "keyword_of_the_other_bound": lambda t: t.ones(3).clamp_max_(min=1.0),
}


@pytest.mark.parametrize("name", sorted(CLAMP_ERRORS))
def test_clamp_min_max_in_place_errors_match_torch(name):
    ours, theirs = _outcomes(CLAMP_ERRORS[name])
    assert isinstance(theirs, tuple) and theirs[0] in ("RuntimeError", "TypeError")
    assert ours == theirs


# clamp_min / clamp_max with a tensor bound: ClampMinBackward1 / ClampMaxBackward1 (derivatives.yaml:
# self: where(self >= min, grad, 0); min: where(self < min, grad, 0)), saving self and the bound


def _clamp_tensor_bound(op, bound, grads=(True, True), edit=None, function=False):
    """``op`` of ``a = x * 1`` (or plain ``x``) and a tensor ``bound``; ``grads``: which of the two
    require grad; ``edit``: "self" or "bound", edited in place before backward."""

    def program(t):
        x = t.tensor(X, requires_grad=grads[0])
        m = t.tensor(bound, requires_grad=grads[1])
        a, b = x * 1, m * 1
        y = getattr(t, op)(a, b) if function else getattr(a, op)(b)
        facts = [_node(y.grad_fn), y.tolist()]
        if edit is not None:
            {"self": a, "bound": b}[edit].mul_(2)
        (y * t.tensor(UP)).sum().backward()
        return facts + [_grad(x), _grad(m)]

    return program


ROW = [0.0, 0.0, 2.0]  # ties with X at 0.0 and 2.0
CLAMP_TENSOR_BOUND = {
    "min": _clamp_tensor_bound("clamp_min", ROW),
    "max": _clamp_tensor_bound("clamp_max", ROW),
    "min_function": _clamp_tensor_bound("clamp_min", ROW, function=True),
    "max_function": _clamp_tensor_bound("clamp_max", ROW, function=True),
    "min_only_self_grad": _clamp_tensor_bound("clamp_min", ROW, (True, False)),
    "max_only_bound_grad": _clamp_tensor_bound("clamp_max", ROW, (False, True)),
    "min_broadcast_column": _clamp_tensor_bound("clamp_min", [[1.0], [0.0]]),
    "max_broadcast_0d": _clamp_tensor_bound("clamp_max", 0.5),
    "min_bound_broadcasts_self": _clamp_tensor_bound("clamp_min", [[ROW], [ROW]]),
    "max_nan_bound": _clamp_tensor_bound("clamp_max", [float("nan"), 0.0, 1.0]),
    "min_edit_self": _clamp_tensor_bound("clamp_min", ROW, edit="self"),
    "min_edit_bound": _clamp_tensor_bound("clamp_min", ROW, edit="bound"),
    "max_edit_self_only_bound_grad": _clamp_tensor_bound("clamp_max", ROW, (False, True), edit="self"),
    "max_edit_bound_only_self_grad": _clamp_tensor_bound("clamp_max", ROW, (True, False), edit="bound"),
}


@pytest.mark.parametrize("name", sorted(CLAMP_TENSOR_BOUND))
def test_clamp_min_max_tensor_bound_match_torch(name):
    _same_as_torch(CLAMP_TENSOR_BOUND[name])


@pytest.mark.parametrize("op", ["clamp_min", "clamp_max"])
def test_clamp_min_max_tensor_bound_create_graph_matches_torch(op):
    def program(t):
        x = t.tensor(X, dtype=t.float64, requires_grad=True)
        m = t.tensor(ROW, dtype=t.float64, requires_grad=True)
        y = getattr(x, op)(m)
        v = t.tensor(UP, dtype=t.float64, requires_grad=True)
        gx, gm = t.autograd.grad(y, (x, m), v, create_graph=True)
        (gx * gm + gx).sum().backward()
        return [_node(y.grad_fn), _node(gx.grad_fn), _node(gm.grad_fn), gx.tolist(), gm.tolist(), _grad(v)]

    _same_as_torch(program)


# ----------------------------------------------------------------------------- fill


def _layout(t):
    return [t.tolist(), str(t.dtype), t.stride(), t._version, _node(t.grad_fn), t.requires_grad]


def _fill(make, value, value_grad=False, x_grad=True, function="fill"):
    """``torch.<function>`` of ``make(t)`` (``x_grad``: it requires grad) with ``value`` (a 0-d tensor if
    ``value_grad`` is not None and ``value`` a number given as a list, else as is)."""

    def program(t):
        x = make(t).requires_grad_(x_grad)
        v = t.tensor(value[0], requires_grad=value_grad) if isinstance(value, list) else value
        a = x * 1 if function == "fill_" else x
        y = getattr(t, function)(a, v)
        facts = [_layout(y), _layout(x)]
        if y.requires_grad:
            (y * t.arange(1.0, y.numel() + 1).view(y.shape)).sum().backward()
            facts += [_grad(x), _grad(v) if isinstance(v, t.Tensor) else None]
        return facts

    return program


def _x(t):
    return t.tensor(X)


FILL = {
    "number": _fill(_x, 2.5),
    "int_number": _fill(_x, 3),
    "tensor": _fill(_x, [2.0], True),
    "tensor_no_grad": _fill(_x, [2.0]),
    "tensor_only_value_grad": _fill(_x, [2.0], True, x_grad=False),
    "float64_input_float32_value": _fill(lambda t: t.tensor(X, dtype=t.float64), [2.0], True),
    "int_value_tensor": _fill(_x, [7]),
    "bool_value_tensor": _fill(_x, [True]),
    "transposed_keeps_strides": _fill(lambda t: t.tensor(X).t(), 1.0),
    "transposed_tensor_value": _fill(lambda t: t.tensor(X).t(), [1.0], True),
    "expanded_is_dense": _fill(lambda t: t.tensor(X[0]).expand(2, 3), 1.0),
    "sliced_is_dense": _fill(lambda t: t.ones(3, 4)[:, ::2], [1.0], True),
    "empty": _fill(lambda t: t.zeros(0, 3), [2.0], True),
    "zero_dim": _fill(lambda t: t.tensor(5.0), [2.0], True),
    "int_input": _fill(lambda t: t.tensor(INTS), 2.5, x_grad=False),
    "bool_input": _fill(lambda t: t.tensor([True, False]), 0, x_grad=False),
    "half_value_overflows_to_inf": _fill(lambda t: t.ones(2).half(), [1e6], x_grad=False),
    "int_input_grad_value": _fill(lambda t: t.tensor(INTS), [2.5], True, x_grad=False),
    "in_place_function": _fill(_x, 2.5, function="fill_"),
    "in_place_function_tensor": _fill(_x, [2.0], True, function="fill_"),
    "in_place_function_only_value_grad": _fill(_x, [2.0], True, x_grad=False, function="fill_"),
}


@pytest.mark.parametrize("name", sorted(FILL))
def test_fill_matches_torch(name):
    _same_as_torch(FILL[name])


@pytest.mark.parametrize("value_grad", [False, True])
def test_fill_tensor_value_create_graph_matches_torch(value_grad):
    # value: grad.sum() -- a SumBackward0 only when the incoming grad itself requires grad
    def program(t):
        x = t.tensor(X, dtype=t.float64, requires_grad=True)
        v = t.tensor(2.0, dtype=t.float64, requires_grad=True)
        w = t.tensor(UP, dtype=t.float64, requires_grad=value_grad)
        gx, gv = t.autograd.grad(t.fill(x, v), (x, v), w, create_graph=True)
        return [_node(gx.grad_fn), _node(gv.grad_fn), gx.tolist(), gv.tolist()]

    _same_as_torch(program)


FILL_ERRORS = {
    "value_1d": lambda t: t.fill(t.ones(3), t.tensor([2.0])),
    "in_place_value_1d": lambda t: t.fill_(t.ones(3), t.tensor([2.0])),
    "none": lambda t: t.fill(t.ones(3), None),
    "str": lambda t: t.fill(t.ones(3), "a"),
    "list": lambda t: t.fill(t.ones(3), [3]),
    "missing": lambda t: t.fill(t.ones(3)),
    "number_input": lambda t: t.fill(2, 3),
    "keyword": lambda t: t.fill(t.ones(3), valu=3),
    "in_place_none": lambda t: t.fill_(t.ones(3), None),
    "in_place_leaf": lambda t: t.fill_(t.ones(3, requires_grad=True), 1.0),
    "int_input_grad_value": lambda t: t.fill(t.tensor(INTS), t.tensor(2.5, requires_grad=True)),
}


@pytest.mark.parametrize("name", sorted(FILL_ERRORS))
def test_fill_errors_match_torch(name):
    ours, theirs = _outcomes(FILL_ERRORS[name])
    assert isinstance(theirs, tuple) and theirs[0] in ("RuntimeError", "TypeError")
    assert ours == theirs


def test_fill_keyword_value_and_method_absence_match_torch():
    _same_as_torch(lambda t: [t.fill(t.ones(2), value=3).tolist(), hasattr(t.Tensor, "fill")])


# ----------------------------------------------------------------------------- remainder and fmod: what is saved

# derivatives.yaml: self: grad; other: -grad * self.div(other, rounding_mode=...): self and
# other are saved only when other's grad is wanted, so only then does an edit of either break backward


def _binary_edit(op, grads, edit):
    """``op`` of ``a`` and ``b`` (made from leaves; ``grads``: which require grad), then ``edit``
    ("self" or "other") edited in place before backward."""

    def program(t):
        x = t.tensor([5.0, -3.0, 7.0, -4.5], requires_grad=grads[0])
        o = t.tensor([2.0, 2.0, -3.0, 1.5], requires_grad=grads[1])
        a, b = x * 1, o * 1
        y = op(t, a, b)
        facts = [_node(y.grad_fn), y.tolist()]
        {"self": a, "other": b}[edit].mul_(2)
        y.sum().backward()
        return facts + [_grad(x), _grad(o)]

    return program


BINARY_OPS = {
    "remainder": lambda t, a, b: t.remainder(a, b),
    "mod": lambda t, a, b: a % b,
    "remainder_0d": lambda t, a, b: a.remainder(b[1]),
    "fmod": lambda t, a, b: t.fmod(a, b),
    "fmod_method": lambda t, a, b: a.fmod(b),
}
GRADS = {"self": (True, False), "other": (False, True), "both": (True, True)}


@pytest.mark.parametrize("edit", ["self", "other"])
@pytest.mark.parametrize("grads", sorted(GRADS))
@pytest.mark.parametrize("op", sorted(BINARY_OPS))
def test_remainder_fmod_save_as_torch(op, grads, edit):
    _same_as_torch(_binary_edit(BINARY_OPS[op], GRADS[grads], edit))


@pytest.mark.parametrize("op", ["remainder", "fmod"])
@pytest.mark.parametrize("grads", sorted(GRADS))
def test_remainder_fmod_hazard_found_where_torch_raises(op, grads):
    """gradlens reports an edit hazard exactly where backward raises (its recorder reads what
    the node saved): the edit of self breaks backward only when other requires grad."""
    torch = pytest.importorskip("torch")
    rx, ro = GRADS[grads]
    source = f"""
        import gradlens_core as torch
        x = torch.tensor([5.0, -3.0, 7.0], requires_grad={rx})
        o = torch.tensor([2.0, 2.0, -3.0], requires_grad={ro})
        a = x * 1
        y = torch.{op}(a, o * 1)
        a.mul_(2)
        y.sum().backward()
        """
    tr, _, error, _ = run_source(source, "<test>")
    try:
        exec(textwrap.dedent(source).replace("import gradlens_core as torch", ""), {"torch": torch})
        torch_raises = False
    except RuntimeError:
        torch_raises = True
    assert (error is not None) == torch_raises
    assert [(h.kind, h.edit_line) for h in tr.hazards()] == ([("breaks_backward", 6)] if torch_raises else [])


# ----------------------------------------------------------------------------- remainder_ and %=


def _imod(a, b):
    a %= b
    return a


def _remainder_in_place(call, other, grads=(True, True), edit_other=False):
    """``call(a, b)`` edits ``a = x * 1`` in place by ``b`` (``other`` as a tensor from a leaf with
    ``grads[1]``, or a number); ``edit_other``: ``b`` is edited before backward."""

    def program(t):
        x = t.tensor([5.0, -3.0, 7.0, -4.5], requires_grad=grads[0])
        o = t.tensor(other, requires_grad=grads[1]) if isinstance(other, list) else None
        a, b = x * 1, other if o is None else o * 1
        r = call(a, b)
        facts = [r is a, a._version, _node(a.grad_fn), a.tolist()]
        if edit_other:
            b.mul_(2)
        if a.requires_grad:
            (a * t.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
        return facts + [_grad(x), None if o is None else _grad(o)]

    return program


OTHER = [2.0, 2.0, -3.0, 1.5]
REMAINDER_IN_PLACE = {
    "imod_number": _remainder_in_place(_imod, 2.0),
    "imod_negative_number": _remainder_in_place(_imod, -1.5),
    "imod_tensor": _remainder_in_place(_imod, OTHER),
    "method_tensor": _remainder_in_place(lambda a, b: a.remainder_(b), OTHER),
    "method_number": _remainder_in_place(lambda a, b: a.remainder_(b), 3),
    "imod_0d_tensor": _remainder_in_place(_imod, 2.5),
    "imod_only_self_grad_edit_other": _remainder_in_place(_imod, OTHER, (True, False), edit_other=True),
    "imod_only_other_grad": _remainder_in_place(_imod, OTHER, (False, True)),
    "imod_edit_other": _remainder_in_place(_imod, OTHER, edit_other=True),
    "imod_no_grad": _remainder_in_place(_imod, OTHER, (False, False)),
    "fmod__only_self_grad_edit_other": _remainder_in_place(lambda a, b: a.fmod_(b), OTHER, (True, False), True),
    "fmod__edit_other": _remainder_in_place(lambda a, b: a.fmod_(b), OTHER, edit_other=True),
}


@pytest.mark.parametrize("name", sorted(REMAINDER_IN_PLACE))
def test_remainder_in_place_matches_torch(name):
    _same_as_torch(REMAINDER_IN_PLACE[name])


def _view_sees_imod(t):
    x = t.tensor([5, -3, 7, 9])
    v = x[1:]
    x %= 4
    return [v.tolist(), x._version, v._version]


REMAINDER_IN_PLACE_PLAIN = {
    "view_sees_the_edit": _view_sees_imod,
    "int_by_int": lambda t: _imod(t.tensor([5, -3, 7]), t.tensor([2, 2, -3])).tolist(),
    "float_by_int_number": lambda t: _imod(t.tensor([5.0, -3.0]), 2).tolist(),
    "int_by_zero": lambda t: _imod(t.tensor([5, 3]), 0),
    "int_by_float": lambda t: _imod(t.tensor([5, 3]), 2.5),
    "int_by_float_tensor": lambda t: t.tensor([5, 3]).remainder_(t.tensor([2.5])),
    "bool": lambda t: _imod(t.tensor([True, False]), t.tensor([True, True])),
    "bool_out_of_place": lambda t: t.tensor([True, False]) % True,
    "bool_shapes_checked_first": lambda t: t.tensor([True, False]) % t.tensor([True, False, True]),
    "leaf": lambda t: _imod(t.ones(2, requires_grad=True), 2.0),
    "broadcast_beyond_self": lambda t: t.ones(2).remainder_(t.ones(3, 2)),
    "str": lambda t: t.ones(2).remainder_("a"),
    "none": lambda t: t.ones(2).remainder_(None),
    "operator_str": lambda t: _imod(t.ones(2), "a"),
}


@pytest.mark.parametrize("name", sorted(REMAINDER_IN_PLACE_PLAIN))
def test_remainder_in_place_values_and_errors_match_torch(name):
    _same_as_torch(REMAINDER_IN_PLACE_PLAIN[name])
