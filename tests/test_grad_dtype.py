"""A leaf's ``grad_dtype`` (PyTorch 2.9+): what ``.grad`` may hold, and what backward casts to.

Each case runs under gradlens_core and torch; outcomes (value and dtype, or error class and
first sentence) must agree.
"""

from __future__ import annotations

import warnings

import pytest
from helpers import first_sentence

import gradlens_core


def _outcome(fn, mod):
    # warn-always: torch's once-per-process warnings (create_graph's) stay unspent for other tests
    mod.set_warn_always(True)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            v = fn(mod)
    except Exception as e:  # noqa: BLE001 - the error is the outcome compared
        return ("raises", type(e).__name__, first_sentence(str(e)))
    finally:
        mod.set_warn_always(False)
    said = [first_sentence(str(w.message)) for w in caught if "reference cycle" not in str(w.message)]
    return ("returns", repr(v), said)


def _leaf(t, dtype=None):
    return t.ones(2, requires_grad=True, dtype=dtype or t.float32)


def _set(t, grad_dtype, grad=None, dtype=None):
    a = _leaf(t, dtype)
    a.grad_dtype = grad_dtype
    if grad is not None:
        a.grad = grad
    return a


def _backward_into(t, grad_dtype, create_graph=False):
    a = _set(t, grad_dtype)
    (a * 2).sum().backward(create_graph=create_graph)
    return a.grad


def _set_after_graph(t):
    a = _leaf(t)
    y = (a * 2).sum()
    a.grad_dtype = t.float64  # read when backward runs
    return t.autograd.grad(y, a)[0]


def _set_then_reset(t):
    a = _leaf(t)
    a.grad_dtype = t.float64
    y = (a * 2).sum()
    a.grad_dtype = t.float32
    return t.autograd.grad(y, a)[0]


def _twice(t):
    a = _set(t, t.float16)
    (a * 2).sum().backward()
    (a * 2).sum().backward()
    return a.grad


def _change_with_a_grad(t):
    a = _set(t, None, grad=t.ones(2, dtype=t.long))
    a.grad_dtype = t.float64
    return a


CASES = [
    ("default_is_own_dtype", lambda t: (_leaf(t).grad_dtype, t.ones(2, dtype=t.float64).grad_dtype)),
    ("none_allows_any_grad", lambda t: _set(t, None, grad=t.ones(2, dtype=t.long)).grad),
    ("set_grad_of_other_dtype", lambda t: _set(t, t.float64, grad=t.ones(2))),
    ("set_grad_of_own_dtype_refused", lambda t: _leaf(t).__setattr__("grad", t.ones(2, dtype=t.long))),
    ("backward_casts", lambda t: _backward_into(t, t.float16)),
    ("backward_with_none", lambda t: _backward_into(t, None)),
    ("backward_create_graph_casts", lambda t: _backward_into(t, t.float64, create_graph=True)),
    ("accumulates_in_grad_dtype", _twice),
    ("read_at_backward_time", _set_after_graph),
    ("last_setting_counts", _set_then_reset),
    ("not_a_dtype", lambda t: _set(t, 3)),
    ("a_string", lambda t: _set(t, "float")),
    ("non_leaf_read", lambda t: (_leaf(t) * 2).grad_dtype),
    ("non_leaf_set", lambda t: (_leaf(t) * 2).__setattr__("grad_dtype", None)),
    ("view_read", lambda t: _leaf(t)[:1].grad_dtype),
    ("detach_has_its_own", lambda t: _set(t, t.float64).detach().grad_dtype),
    ("change_with_a_grad", _change_with_a_grad),
]


@pytest.mark.parametrize("fn", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_grad_dtype_matches_torch(fn):
    torch = pytest.importorskip("torch")
    assert _outcome(fn, gradlens_core) == _outcome(fn, torch)
