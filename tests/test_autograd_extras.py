"""torch.autograd.functional, post-accumulate-grad hooks, and the Tensor methods and nn.init functions
added with them, each run under gradlens_core and torch: the printed results (values, dtypes,
``grad_fn`` names, ``requires_grad``, versions) or the error's class and first sentence must agree.
"""

from __future__ import annotations

import importlib
import sys

import pytest
from helpers import first_sentence

import gradlens_core

torch = pytest.importorskip("torch")


def _run(fn, mod):
    """What a user sees of ``fn(mod)``: the repr of its result, what it printed, or its error."""
    printed = []
    try:
        v = fn(mod, printed.append)
    except Exception as e:  # noqa: BLE001 - the error is the outcome compared
        return ("raises", type(e).__name__, first_sentence(str(e)), [repr(p) for p in printed])
    return ("returns", repr(v), [repr(p) for p in printed])


def _same(fn):
    assert _run(fn, gradlens_core) == _run(fn, torch)


def _af(t):
    return importlib.import_module(t.__name__ + ".autograd.functional")


# ----------------------------------------------------------------------------- autograd.functional
def _cube(a):
    return (a**3).sum()


def _pair(a, b):
    return a * b, (a + b).sum()


FUNCTIONAL = {
    "jacobian": lambda t, p: _af(t).jacobian(lambda a: a.exp() * 2, t.tensor([0.5, -1.0, 2.0])),
    "jacobian_tuple": lambda t, p: _af(t).jacobian(_pair, (t.tensor([1.0, 2.0]), t.tensor([3.0, -1.0]))),
    "jacobian_vectorize": lambda t, p: _af(t).jacobian(
        _pair, (t.tensor([1.0, 2.0]), t.tensor([3.0, -1.0])), vectorize=True
    ),
    "jacobian_unused": lambda t, p: _af(t).jacobian(lambda a, b: a * 2, (t.tensor([1.0]), t.tensor([2.0, 3.0]))),
    "jacobian_create_graph": lambda t, p: (
        _af(t).jacobian(lambda a: a.sin(), t.tensor([1.0, 2.0], requires_grad=True), create_graph=True).requires_grad
    ),
    "jacobian_strict": lambda t, p: _af(t).jacobian(lambda a: a.detach(), t.tensor([1.0]), strict=True),
    "jacobian_strict_unused": lambda t, p: _af(t).jacobian(
        lambda a, b: a * 2, (t.tensor([1.0]), t.tensor([2.0])), strict=True
    ),
    "jacobian_strict_linear": lambda t, p: _af(t).jacobian(
        lambda a: a * 2, t.tensor([1.0]), strict=True, create_graph=True
    ),
    "jacobian_bad_input": lambda t, p: _af(t).jacobian(lambda a: a, [t.tensor([1.0])]),
    "jacobian_bad_strategy": lambda t, p: _af(t).jacobian(lambda a: a, t.tensor([1.0]), strategy="x"),
    "hessian": lambda t, p: _af(t).hessian(_cube, t.tensor([1.0, -2.0, 0.5])),
    "hessian_tuple": lambda t, p: _af(t).hessian(
        lambda a, b: (a * b).sum() + (a**2).sum(), (t.tensor([1.0, 2.0]), t.tensor([3.0, 4.0]))
    ),
    "hessian_not_scalar": lambda t, p: _af(t).hessian(lambda a: a * a, t.tensor([1.0, 2.0])),
    "hessian_strict_linear": lambda t, p: _af(t).hessian(lambda a: a.sum(), t.tensor([1.0, 2.0]), strict=True),
    "vjp": lambda t, p: _af(t).vjp(lambda a: a.exp(), t.tensor([1.0, 2.0]), t.tensor([1.0, -1.0])),
    "vjp_no_v": lambda t, p: _af(t).vjp(lambda a: a.exp(), t.tensor([1.0, 2.0])),
    "vjp_bad_v": lambda t, p: _af(t).vjp(lambda a: a.exp(), t.tensor([1.0, 2.0]), t.tensor([1.0])),
    "vjp_tuple_v_len": lambda t, p: _af(t).vjp(_pair, (t.tensor([1.0]), t.tensor([2.0])), (t.tensor([1.0]),)),
    "jvp": lambda t, p: _af(t).jvp(lambda a: a.exp() * a, t.tensor([1.0, 2.0]), t.tensor([1.0, 0.5])),
    "jvp_create_graph": lambda t, p: (
        _af(t)
        .jvp(lambda a: a.exp(), t.tensor([1.0, 2.0], requires_grad=True), t.tensor([1.0, 1.0]), create_graph=True)[1]
        .requires_grad
    ),
    "hvp": lambda t, p: _af(t).hvp(_cube, t.tensor([1.0, 2.0]), t.tensor([1.0, -1.0])),
    "vhp": lambda t, p: _af(t).vhp(_cube, t.tensor([1.0, 2.0]), t.tensor([1.0, -1.0])),
    "hvp_strict": lambda t, p: _af(t).hvp(lambda a: a.sum(), t.tensor([1.0, 2.0]), t.tensor([1.0, 1.0]), strict=True),
    "vhp_two_outputs": lambda t, p: _af(t).vhp(_pair, (t.tensor([1.0]), t.tensor([2.0])), (t.tensor([1.0]),) * 2),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONAL))
def test_autograd_functional(name):
    _same(FUNCTIONAL[name])


def test_functional_is_a_submodule():
    import gradlens_core.autograd.functional as af

    assert sys.modules["gradlens_core.autograd.functional"] is af is gradlens_core.autograd.functional
    assert af.__all__ == torch.autograd.functional.__all__


# ----------------------------------------------------------------------------- post accumulate grad hooks
def _post_hooks(t, p):
    x = t.ones(2, requires_grad=True)
    h = x.register_post_accumulate_grad_hook(lambda v: p((v.grad.clone(), v is x, v.grad._version)))
    p(len(x._post_accumulate_grad_hooks))
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    t.autograd.grad((x * 2).sum(), x)  # no accumulation: no call
    (x * x).sum().backward(inputs=[x])
    h.remove()
    (x * 2).sum().backward()
    return x.grad, t.ones(1)._post_accumulate_grad_hooks


def _returns(value):
    def case(t, p):
        x = t.ones(2, requires_grad=True)
        x.register_post_accumulate_grad_hook(lambda v: value(t, v))
        (x * 2).sum().backward()
        return x.grad

    return case


POST_HOOKS = {
    "calls": _post_hooks,
    "returns_tensor": _returns(lambda t, v: v * 2),
    "returns_int": _returns(lambda t, v: 1),
    "non_leaf": lambda t, p: (t.ones(2, requires_grad=True) * 2).register_post_accumulate_grad_hook(print),
    "no_grad": lambda t, p: t.ones(2).register_post_accumulate_grad_hook(print),
    "node_hooks": lambda t, p: _node_hooks(t, p),
}


def _node_hooks(t, p):
    graph = importlib.import_module(t.__name__ + ".autograd.graph")
    x = t.ones(2, requires_grad=True)
    y = x * 2
    p(isinstance(y.grad_fn, graph.Node))
    y.grad_fn.register_prehook(lambda go: p(go))
    y.grad_fn.register_hook(lambda gi, go: p((gi, go)))
    y.sum().backward()
    return x.grad


@pytest.mark.parametrize("name", sorted(POST_HOOKS))
def test_post_accumulate_grad_hook(name):
    _same(POST_HOOKS[name])


# ----------------------------------------------------------------------------- index ops and composites
def _x(t):
    data = [[1.0, -2.0, 3.0, 0.5], [4.0, 5.0, -6.0, 7.0], [0.1, 0.2, 0.3, 0.4]]
    return t.tensor(data, requires_grad=True)


def _graded(y, *leaves, create_graph=False):
    """``y``, its node's name, the version, and the grads of a weighted sum of ``y``."""
    t = sys.modules[type(y).__module__.split(".")[0]]
    w = t.arange(y.numel(), dtype=y.dtype).view(y.shape)
    grads = t.autograd.grad((y * w).sum(), leaves, allow_unused=True, create_graph=create_graph)
    return y, y.grad_fn.name() if y.grad_fn is not None else None, y._version, grads


def _src(t):
    return t.tensor([[9.0, 8.0], [7.0, 6.0], [5.0, 4.0]], requires_grad=True)


OPS = {
    "take": lambda t, p: (lambda x: _graded(x.take(t.tensor([[0, 5], [-1, 3]])), x))(_x(t)),
    "take_fn": lambda t, p: t.take(t.tensor([[1, 2], [3, 4]]), t.tensor([3, 3, 0])),
    "put": lambda t, p: (lambda x, s: _graded(x.put(t.tensor([0, 5]), s[0]), x, s))(_x(t), _src(t)),
    "put_accumulate": lambda t, p: (lambda x, s: _graded(x.put(t.tensor([0, 0]), s[0], accumulate=True), x, s))(
        _x(t), _src(t)
    ),
    "put_": lambda t, p: (lambda x, s: _graded((x * 1).put_(t.tensor([1, 1]), s[0]), x, s))(_x(t), _src(t)),
    "index_fill": lambda t, p: (lambda x: _graded(x.index_fill(1, t.tensor([0, 2]), -1.0), x))(_x(t)),
    "index_fill_tensor": lambda t, p: (lambda x, v: _graded(x.index_fill(-1, t.tensor([1, 1, 3]), v), x, v))(
        _x(t), t.tensor(2.5, requires_grad=True)
    ),
    "index_fill_": lambda t, p: (lambda x, v: _graded((x * 1).index_fill_(0, t.tensor(1), v), x, v))(
        _x(t), t.tensor(2.5, requires_grad=True)
    ),
    "index_fill_double_backward": lambda t, p: (
        lambda x: _graded(x.index_fill(1, t.tensor([0, 2]), 0.0) ** 2, x, create_graph=True)[3][0].grad_fn.name()
    )(_x(t)),
    "index_copy": lambda t, p: (lambda x, s: _graded(x.index_copy(1, t.tensor([0, 2]), s), x, s))(_x(t), _src(t)),
    "index_copy_": lambda t, p: (lambda x, s: _graded((x * 1).index_copy_(1, t.tensor([3, 1]), s), x, s))(
        _x(t), _src(t)
    ),
    "masked_scatter": lambda t, p: (lambda x, s: _graded(x.masked_scatter(x > 0.45, s), x, s))(
        _x(t), t.arange(12.0, requires_grad=True)
    ),
    "masked_scatter_broadcast": lambda t, p: (
        lambda x, s: _graded(x.masked_scatter(t.tensor([True, False, True, False]), s), x, s)
    )(_x(t), t.arange(12.0, requires_grad=True)),
    "masked_scatter_": lambda t, p: (lambda x, s: _graded((x * 1).masked_scatter_(x < 0.45, s), x, s))(
        _x(t), t.arange(12.0, requires_grad=True)
    ),
    "fill_diagonal_": lambda t, p: (
        t.zeros(7, 3).fill_diagonal_(5, wrap=True),
        t.zeros(3, 3, 3).fill_diagonal_(2),
        t.zeros(2, 4).fill_diagonal_(1),
    ),
    "fill_diagonal_grad": lambda t, p: (lambda x: _graded((x * 1).fill_diagonal_(0), x)[3])(_x(t)),
    "msort": lambda t, p: (lambda x: _graded(t.msort(x), x))(_x(t)),
    "sum_to_size": lambda t, p: (lambda x: _graded(x.sum_to_size(1, 4), x))(_x(t)),
    "sum_to_size_lead": lambda t, p: (lambda x: _graded(x.sum_to_size(4), x))(_x(t)),
    "sum_to_size_same": lambda t, p: (lambda x: x.sum_to_size(3, 4) is x)(_x(t)),
    "unfold": lambda t, p: (lambda x: _graded(x.unfold(1, 2, 1), x))(_x(t)),
    "unfold_view": lambda t, p: (
        lambda x: (x.unfold(0, 2, 1).stride(), x.unfold(-1, 3, 2)._base is x, x.unfold(1, 2, 2).is_contiguous())
    )(_x(t)),
    "unfold_saved": lambda t, p: (
        lambda n: (n._saved_dimension, n._saved_size, n._saved_step, n._saved_self_sym_sizes)
    )(_x(t).unfold(-1, 2, 1).grad_fn),
    "renorm": lambda t, p: (lambda x: _graded(x.renorm(2, 0, 5.0), x)[1:])(_x(t)),
    "renorm_saved": lambda t, p: (lambda n: (n._saved_p, n._saved_dim, n._saved_maxnorm))(
        _x(t).renorm(1, -1, 2.0).grad_fn
    ),
    "cartesian_prod": lambda t, p: (lambda x: _graded(t.cartesian_prod(x[0], x[1, :2]), x))(_x(t)),
    "combinations": lambda t, p: (lambda x: _graded(t.combinations(x[0]), x))(_x(t)),
    "combinations_replacement": lambda t, p: (lambda x: _graded(t.combinations(x[0], 3, with_replacement=True), x))(
        _x(t)
    ),
    "block_diag": lambda t, p: (lambda x, s, v: _graded(t.block_diag(x, s, v, x[0]), x, s, v))(
        _x(t), _src(t), t.tensor(2.0, requires_grad=True)
    ),
    "block_diag_promotes": lambda t, p: t.block_diag(t.tensor([[1, 2]]), t.tensor(3.0, dtype=t.float64)),
    "trapz": lambda t, p: (lambda x: _graded(t.trapz(x), x))(_x(t)),
    "trapezoid_dx": lambda t, p: (lambda x: _graded(t.trapezoid(x, dx=0.5, dim=0), x))(_x(t)),
    "trapezoid_x": lambda t, p: (lambda x: _graded(t.trapezoid(x, t.tensor([0.0, 1.0, 3.0, 3.5])), x))(_x(t)),
    "searchsorted": lambda t, p: t.searchsorted(
        t.tensor([1.0, 3.0, 5.0]), t.tensor([[2.0, 5.0], [0.0, 9.0]]), right=True
    ),
    "searchsorted_rows": lambda t, p: t.searchsorted(
        t.tensor([[1.0, 3.0], [2.0, 4.0]]), t.tensor([[2.0, 5.0], [2.0, 3.0]]), out_int32=True
    ),
    "bucketize": lambda t, p: t.bucketize(t.tensor([[2.0, 5.0], [1.0, 9.0]]), t.tensor([1.0, 3.0, 5.0])),
    "histc": lambda t, p: (t.histc(_x(t).detach(), bins=5), _x(t).detach().histc(bins=3, min=-1, max=4)),
    "multinomial": lambda t, p: _multinomial(t),
}


def _multinomial(t):
    t.manual_seed(3)
    probs = t.rand(3, 7) * (t.rand(3, 7) > 0.3) + t.eye(3, 7)
    return (
        t.multinomial(probs, 3),
        t.multinomial(probs[0], 1),
        t.multinomial(probs, 5, replacement=True),
        probs.double().multinomial(4),
        t.rand(1),
    )


ERRORS = {
    "take_int": lambda t, p: t.ones(3, 4).take(t.tensor([0], dtype=t.int32)),
    "take_oob": lambda t, p: t.ones(3, 4).take(t.tensor([12])),
    "put_numel": lambda t, p: t.ones(3, 4).put_(t.tensor([0, 1]), t.ones(3)),
    "put_dtype": lambda t, p: t.ones(3, 4).put_(t.tensor([1]), t.ones(1, dtype=t.float64)),
    "put_leaf": lambda t, p: t.ones(2, requires_grad=True).put_(t.tensor([1]), t.ones(1)),
    "index_fill_int": lambda t, p: t.ones(3, 4).index_fill(1, t.tensor([0], dtype=t.int32), 1.0),
    "index_fill_oob": lambda t, p: t.ones(3, 4).index_fill(1, t.tensor([5]), 1.0),
    "index_fill_value": lambda t, p: t.ones(3, 4).index_fill(1, t.tensor([0]), t.ones(1)),
    "index_copy_count": lambda t, p: t.ones(3, 4).index_copy(1, t.tensor([0]), t.ones(3, 2)),
    "index_copy_dtype": lambda t, p: t.ones(3, 4).index_copy(1, t.tensor([0]), t.ones(3, 1, dtype=t.float64)),
    "masked_scatter_mask": lambda t, p: t.ones(3, 4).masked_scatter(t.ones(3, 4), t.ones(12)),
    "masked_scatter_short": lambda t, p: t.ones(3, 4).masked_scatter(t.ones(3, 4) > 0, t.ones(5)),
    "fill_diagonal_1d": lambda t, p: t.ones(3).fill_diagonal_(1),
    "fill_diagonal_shape": lambda t, p: t.ones(2, 3, 4).fill_diagonal_(1),
    "sum_to_size": lambda t, p: t.ones(3, 4).sum_to_size(2, 4),
    "unfold_size": lambda t, p: t.ones(3, 4).unfold(1, 5, 1),
    "unfold_step": lambda t, p: t.ones(3, 4).unfold(1, 2, 0),
    "renorm_p": lambda t, p: t.ones(3, 4).renorm(-1, 0, 1.0),
    "renorm_maxnorm": lambda t, p: t.ones(3, 4).renorm(2, 0, -1.0),
    "renorm_int": lambda t, p: t.ones(2, 2, dtype=t.long).renorm(2, 0, 1.0),
    "searchsorted_side": lambda t, p: t.searchsorted(t.ones(3), t.ones(3), side="middle"),
    "searchsorted_dims": lambda t, p: t.searchsorted(t.ones(2, 3), t.ones(3, 1)),
    "bucketize_2d": lambda t, p: t.bucketize(t.ones(3), t.ones(2, 2)),
    "histc_long": lambda t, p: t.histc(t.ones(3, dtype=t.long)),
    "histc_bins": lambda t, p: t.histc(t.ones(3), bins=0),
    "histc_range": lambda t, p: t.histc(t.ones(3), min=2, max=1),
    "multinomial_negative": lambda t, p: t.multinomial(t.tensor([-1.0, 1.0]), 1),
    "multinomial_3d": lambda t, p: t.multinomial(t.ones(2, 2, 2), 1),
    "multinomial_zero": lambda t, p: t.multinomial(t.tensor([0.0, 0.0]), 1),
    "multinomial_long": lambda t, p: t.multinomial(t.tensor([1, 2]), 1),
    "multinomial_too_many": lambda t, p: t.multinomial(t.tensor([1.0, 2.0]), 3),
    "cartesian_prod_2d": lambda t, p: t.cartesian_prod(t.ones(2, 2), t.ones(2)),
    "combinations_negative": lambda t, p: t.combinations(t.ones(2), -1),
    "block_diag_3d": lambda t, p: t.block_diag(t.ones(2, 2, 2)),
    "trapezoid_x": lambda t, p: t.trapezoid(t.ones(3), t.ones(2)),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_op(name):
    _same(OPS[name])


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_op_error(name):
    outcome = _run(ERRORS[name], torch)
    assert outcome[0] == "raises"
    assert _run(ERRORS[name], gradlens_core) == outcome


def test_take_saved_values_and_version_check():
    def case(t, p):
        x = _x(t)
        i = t.tensor([0, 2])
        n = x.take(i).grad_fn
        p((n._saved_index is i, n._saved_self is x))
        n2 = x.index_copy(1, i, _src(t)[:, :2]).grad_fn
        p((n2._saved_dim, n2._saved_source_dim, n2._saved_index is i))
        n3 = x.put(i, t.ones(2), accumulate=True).grad_fn
        p((n3._saved_accumulate, n3._saved_source))
        y = (x * 1).take(i)
        x.detach().add_(1)  # x itself is saved: the edit makes it stale
        y.sum().backward()

    _same(case)


# ----------------------------------------------------------------------------- nn.init
def _init(t, p):
    init = t.nn.init
    t.manual_seed(0)
    w = t.empty(5, 7)
    p(init.trunc_normal_(w) is w)
    p((w._version, init.trunc_normal_(t.empty(20), mean=0.3, std=0.2, a=-0.1, b=0.5)))
    p(init.trunc_normal_(t.empty(30), std=1.0, a=1.5, b=3.0))  # the rejection sampler
    e = t.empty(2, 3, requires_grad=True)
    p((init.eye_(e), e._version, init.eye_(t.empty(3, 2))))
    d = t.empty(4, 2, 3)
    p((init.dirac_(d), d._version, init.dirac_(t.empty(4, 2, 3, 3), groups=2).sum()))
    p(init.dirac_(t.empty(2, 2, 1, 1, 3)).sum())
    return w, t.rand(2)


INIT_ERRORS = {
    "eye_1d": lambda t, p: t.nn.init.eye_(t.empty(2)),
    "dirac_2d": lambda t, p: t.nn.init.dirac_(t.empty(2, 2)),
    "dirac_groups": lambda t, p: t.nn.init.dirac_(t.empty(3, 2, 2), groups=2),
    "orthogonal_1d": lambda t, p: t.nn.init.orthogonal_(t.empty(3)),
}


def test_init_draws_as_torch():
    _same(_init)


@pytest.mark.parametrize("name", sorted(INIT_ERRORS))
def test_init_errors(name):
    _same(INIT_ERRORS[name])


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 2, 2)])
def test_orthogonal_close_to_torch(shape):
    import numpy as np

    out = []
    for t in (gradlens_core, torch):
        t.manual_seed(1)
        q = t.nn.init.orthogonal_(t.empty(*shape), gain=2)
        out.append((q.numpy().copy(), q._version, t.rand(3).numpy()))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-4, atol=1e-5)
    assert out[0][1] == out[1][1]
    np.testing.assert_array_equal(out[0][2], out[1][2])  # the same number of draws
