"""Test helpers: one comparison with real PyTorch, one gradient checker.

``compare_with_torch`` follows tinygrad's ``helper_test_op``: the same lambda runs on
``gradlens_core`` and on ``torch`` (the module is its first argument), over identical
seeded inputs, and everything a user can observe is compared: values, dtype, shape,
``grad_fn`` class name, ``requires_grad``, and after a backward pass with a seeded
upstream gradient, every input's ``.grad``.

>>> compare_with_torch(lambda t, x, y: (x * y).sum(1), (2, 3), (2, 3))  # doctest: +SKIP

``gradcheck`` compares gradlens_core's analytical vector-Jacobian products with float64
central differences of the same function; it needs no torch.

>>> gradcheck(lambda t, x: x.exp(), np.array([0.1, 0.2]))  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
import pytest

import gradlens_core

__all__ = [
    "compare_with_torch",
    "gradcheck",
    "uniform",
    "first_sentence",
    "grad_fn_name",
    "to_numpy",
]

_DEFAULT_TOL = {
    "float16": (1e-2, 1e-2),
    "float32": (1e-5, 1e-4),
    "float64": (1e-10, 1e-8),
}


def uniform(shape, low: float = -2.0, high: float = 2.0, seed: int = 0, dtype="float64") -> np.ndarray:
    """Seeded uniform values in [low, high) — for ops that need a domain (log, sqrt, ...)."""
    rng = np.random.default_rng(seed)
    return rng.uniform(low, high, size=shape).astype(dtype)


def first_sentence(message: str) -> str:
    """The part of an error message PyTorch users compare: up to the first '.' or ':' that ends a clause."""
    message = message.strip()
    head = message.split("\n", 1)[0]
    m = re.search(r"[.:](\s|$)", head)
    return head[: m.start() + 1] if m else head


def grad_fn_name(t) -> str | None:
    node = t.grad_fn
    return None if node is None else type(node).__name__


def to_numpy(t) -> np.ndarray:
    """Values of a gradlens_core or torch tensor as a fresh numpy array (no graph, no events needed)."""
    return np.array(t.detach().numpy(), copy=True)


def _is_tensor(module, x) -> bool:
    return isinstance(x, module.Tensor)


def _flatten_outputs(module, out) -> list:
    """The tensors of an op's result (a tensor, or a tuple such as ``max(dim)``'s (values, indices))."""
    if isinstance(out, (tuple, list)):
        res = []
        for o in out:
            res.extend(_flatten_outputs(module, o))
        return res
    return [out]


def _make_arrays(args, dtype: str, seed: int) -> list:
    rng = np.random.default_rng(seed)
    np_dtype = np.dtype(dtype)
    arrays = []
    for a in args:
        if isinstance(a, np.ndarray):
            arrays.append(a.copy())
        elif isinstance(a, tuple) and all(isinstance(s, int) for s in a):
            if np_dtype.kind == "f":
                arrays.append(rng.standard_normal(a).astype(np_dtype))
            elif np_dtype.kind == "b":
                arrays.append(rng.random(a) < 0.5)
            else:
                arrays.append(rng.integers(-5, 6, size=a).astype(np_dtype))
        else:
            arrays.append(a)  # a constant (Python number, ...) passed through unchanged
    return arrays


def _make_tensors(module, arrays, requires_grad: bool) -> list:
    tensors = []
    for a in arrays:
        if isinstance(a, np.ndarray):
            rg = requires_grad and a.dtype.kind == "f"
            tensors.append(module.tensor(a.copy(), requires_grad=rg))
        else:
            tensors.append(a)
    return tensors


def compare_with_torch(
    fn: Callable,
    *shapes_or_arrays,
    dtype: str = "float32",
    atol: float | None = None,
    rtol: float | None = None,
    grad: bool = True,
    forward_only: bool = False,
    seed: int = 0,
):
    """Run ``fn(module, *tensors)`` on gradlens_core and on torch over identical inputs and compare.

    Each of ``shapes_or_arrays`` is a shape (a tuple of ints: seeded random values of
    ``dtype``), a numpy array (used as is, keeping its dtype), or any other object,
    passed to ``fn`` unchanged. Float inputs require grad unless ``grad=False``.

    Compared: values, dtype, shape, ``grad_fn`` class name and ``requires_grad`` of every
    output tensor; then (unless ``forward_only`` or ``grad=False``) a backward pass seeded
    with a random upstream gradient, and every input's ``.grad`` (None-ness, dtype, values).

    Returns ``(gradlens_core_output, torch_output, gradlens_core_inputs, torch_inputs)``.
    """
    torch = pytest.importorskip("torch")
    dt_default = _DEFAULT_TOL.get(dtype, (1e-5, 1e-4))
    atol = dt_default[0] if atol is None else atol
    rtol = dt_default[1] if rtol is None else rtol

    arrays = _make_arrays(shapes_or_arrays, dtype, seed)
    g_in = _make_tensors(gradlens_core, arrays, grad)
    t_in = _make_tensors(torch, arrays, grad)

    g_out = fn(gradlens_core, *g_in)
    t_out = fn(torch, *t_in)

    g_list = _flatten_outputs(gradlens_core, g_out)
    t_list = _flatten_outputs(torch, t_out)
    assert len(g_list) == len(t_list), f"number of outputs: gradlens_core {len(g_list)}, torch {len(t_list)}"
    for k, (g, t) in enumerate(zip(g_list, t_list)):
        _compare_output(k, g, t, torch, atol, rtol)

    if grad and not forward_only:
        _compare_backward(g_list, t_list, g_in, t_in, torch, atol, rtol, seed)
    return g_out, t_out, g_in, t_in


def _compare_output(k: int, g, t, torch, atol: float, rtol: float) -> None:
    where = f"output {k}"
    if not isinstance(t, torch.Tensor):
        assert not isinstance(g, gradlens_core.Tensor), f"{where}: torch gave {type(t).__name__}, gradlens_core a Tensor"
        assert type(g) is type(t), f"{where}: type {type(g).__name__} != torch's {type(t).__name__}"
        assert g == t, f"{where}: {g!r} != torch's {t!r}"
        return
    assert isinstance(g, gradlens_core.Tensor), f"{where}: gradlens_core gave {type(g).__name__}, torch a Tensor"
    assert str(g.dtype) == str(t.dtype), f"{where}: dtype {g.dtype} != torch's {t.dtype}"
    assert tuple(g.shape) == tuple(t.shape), f"{where}: shape {tuple(g.shape)} != torch's {tuple(t.shape)}"
    assert grad_fn_name(g) == grad_fn_name(t), f"{where}: grad_fn {grad_fn_name(g)} != torch's {grad_fn_name(t)}"
    assert g.requires_grad == t.requires_grad, f"{where}: requires_grad {g.requires_grad} != torch's {t.requires_grad}"
    assert g.is_leaf == t.is_leaf, f"{where}: is_leaf {g.is_leaf} != torch's {t.is_leaf}"
    gv, tv = to_numpy(g), to_numpy(t)
    if tv.dtype.kind in "biu":
        np.testing.assert_array_equal(gv, tv, err_msg=f"{where}: values differ from torch")
    else:
        np.testing.assert_allclose(gv, tv, atol=atol, rtol=rtol, equal_nan=True, err_msg=f"{where}: values differ")


def _compare_backward(g_list, t_list, g_in, t_in, torch, atol, rtol, seed) -> None:
    rng = np.random.default_rng(seed + 1)
    g_roots, g_seeds, t_roots, t_seeds = [], [], [], []
    for g, t in zip(g_list, t_list):
        if isinstance(t, torch.Tensor) and t.requires_grad:
            upstream = rng.standard_normal(tuple(t.shape)).astype(to_numpy(t).dtype)
            g_roots.append(g)
            g_seeds.append(gradlens_core.tensor(upstream))
            t_roots.append(t)
            t_seeds.append(torch.tensor(upstream))
    if not t_roots:
        return
    torch.autograd.backward(t_roots, t_seeds)
    gradlens_core.autograd.backward(g_roots, g_seeds)
    for i, (g, t) in enumerate(zip(g_in, t_in)):
        if not isinstance(t, torch.Tensor) or not t.requires_grad:
            continue
        where = f"input {i}"
        if t.grad is None:
            assert g.grad is None, f"{where}: .grad is {g.grad!r}, torch's is None"
            continue
        assert g.grad is not None, f"{where}: .grad is None, torch's is {t.grad!r}"
        assert str(g.grad.dtype) == str(t.grad.dtype), f"{where}: grad dtype {g.grad.dtype} != torch's {t.grad.dtype}"
        assert tuple(g.grad.shape) == tuple(t.grad.shape), f"{where}: grad shape differs"
        np.testing.assert_allclose(
            to_numpy(g.grad), to_numpy(t.grad), atol=atol, rtol=rtol, err_msg=f"{where}: .grad differs from torch"
        )


# ----------------------------------------------------------------------------- gradient checker


def _float64(arrays) -> list:
    out = []
    for a in arrays:
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":
            out.append(a.astype(np.float64))
        else:
            out.append(a)
    return out


def _evaluate(fn, arrays):
    """Fresh leaves (float inputs require grad, so ``fn`` may itself call ``autograd.grad``) and outputs."""
    tensors = _make_tensors(gradlens_core, arrays, True)
    out = fn(gradlens_core, *tensors)
    outs = [o for o in _flatten_outputs(gradlens_core, out) if isinstance(o, gradlens_core.Tensor)]
    outs = [o for o in outs if o.dtype.is_floating_point]
    return tensors, outs


def gradcheck(
    fn: Callable,
    *arrays: np.ndarray | object,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    seed: int = 0,
) -> None:
    """Check gradlens_core's backward of ``fn(gradlens_core, *tensors)`` against central differences.

    Float arrays become float64 leaves that require grad; other arguments pass through.
    The outputs are reduced to a scalar ``L = sum(w_k * out_k)`` with fixed random weights
    ``w_k``; the analytical gradient is the backward pass seeded with ``w_k`` (no op under
    test is used to form ``L``), the numerical one is ``(L(x + eps) - L(x - eps)) / (2 eps)``
    per element.
    """
    arrays = _float64(arrays)
    tensors, outs = _evaluate(fn, arrays)
    assert outs, "fn produced no floating-point tensor output"
    for o in outs:
        assert o.dtype is gradlens_core.float64, f"gradcheck needs float64 outputs, got {o.dtype}"
        assert o.requires_grad, "output does not require grad: nothing to check"
    rng = np.random.default_rng(seed + 7)
    weights = [rng.standard_normal(tuple(o.shape)) for o in outs]
    gradlens_core.autograd.backward(outs, [gradlens_core.tensor(w) for w in weights])

    def loss(arrs) -> float:
        _, o2 = _evaluate(fn, arrs)
        return float(sum((to_numpy(o) * w).sum() for o, w in zip(o2, weights)))

    checked = 0
    any_nonzero = False
    for i, (a, t) in enumerate(zip(arrays, tensors)):
        if not (isinstance(a, np.ndarray) and a.dtype.kind == "f"):
            continue
        analytic = t.grad
        if analytic is None:
            analytic_np = np.zeros_like(a)
        else:
            assert analytic.dtype is gradlens_core.float64, f"input {i}: grad dtype {analytic.dtype}"
            assert tuple(analytic.shape) == a.shape, f"input {i}: grad shape {tuple(analytic.shape)} != {a.shape}"
            analytic_np = to_numpy(analytic)
        numeric = np.zeros_like(a)
        for j in range(a.size):
            plus = list(arrays)
            minus = list(arrays)
            ap, am = a.copy(), a.copy()
            ap.flat[j] += eps
            am.flat[j] -= eps
            plus[i], minus[i] = ap, am
            numeric.flat[j] = (loss(plus) - loss(minus)) / (2 * eps)
        np.testing.assert_allclose(
            analytic_np, numeric, atol=atol, rtol=rtol, err_msg=f"input {i}: analytical grad != central differences"
        )
        checked += 1
        any_nonzero = any_nonzero or bool(np.any(numeric != 0))
    assert checked, "no floating-point input to check"
    assert any_nonzero, "every numerical gradient is zero: the check would be vacuous"


def tensors_of(seq: Sequence) -> list:
    return [s for s in seq if isinstance(s, gradlens_core.Tensor)]
