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
