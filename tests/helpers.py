"""Test helpers: one comparison with real PyTorch, one gradient checker, and the op table.

``compare_with_torch`` follows tinygrad's ``helper_test_op``: the same lambda runs on
``gradlens_core`` and on ``torch`` (the module is its first argument), over identical
seeded inputs, and everything a user can observe is compared: values, dtype, shape,
``grad_fn`` class name, ``requires_grad``, and after a backward pass with a seeded
upstream gradient, every input's ``.grad``.

Example (needs torch)::

    compare_with_torch(lambda t, x, y: (x * y).sum(1), (2, 3), (2, 3))

``gradcheck`` compares gradlens_core's analytical vector-Jacobian products with float64
central differences of the same function; it needs no torch.

Example::

    gradcheck(lambda t, x: x.exp(), np.array([0.1, 0.2]))

``op_cases()`` / ``second_order_cases()`` list every differentiable op once; both
test_gradcheck.py and test_vs_torch.py run them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest

import gradlens_core

__all__ = [
    "compare_with_torch",
    "gradcheck",
    "first_sentence",
    "grad_fn_name",
    "to_numpy",
    "OpCase",
    "op_cases",
    "second_order_cases",
    "as_float32",
]

_DEFAULT_TOL = {
    "float16": (1e-2, 1e-2),
    "float32": (1e-5, 1e-4),
    "float64": (1e-10, 1e-8),
}


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
    problems: list[str] = []
    for k, (g, t) in enumerate(zip(g_list, t_list)):
        _compare_output(problems, k, g, t, torch, atol, rtol)
    if grad and not forward_only:
        try:
            _compare_backward(problems, g_list, t_list, g_in, t_in, torch, atol, rtol, seed)
        except Exception as e:
            if not problems:
                raise
            # still report the forward differences (e.g. a node name) along with this
            problems.append(f"backward: {type(e).__name__}: {e}")
    assert not problems, "gradlens_core differs from torch:\n  " + "\n  ".join(problems)
    return g_out, t_out, g_in, t_in


def _check(problems: list, ok: bool, message: str) -> bool:
    if not ok:
        problems.append(message)
    return ok


def _compare_output(problems: list, k: int, g, t, torch, atol: float, rtol: float) -> None:
    where = f"output {k}"
    if not isinstance(t, torch.Tensor):
        if _check(problems, not isinstance(g, gradlens_core.Tensor), f"{where}: a Tensor, torch gave {t!r}"):
            _check(problems, type(g) is type(t) and g == t, f"{where}: {g!r} != torch's {t!r}")
        return
    if not _check(problems, isinstance(g, gradlens_core.Tensor), f"{where}: {type(g).__name__}, torch gave a Tensor"):
        return
    _check(problems, str(g.dtype) == str(t.dtype), f"{where}: dtype {g.dtype} != torch's {t.dtype}")
    _check(
        problems, grad_fn_name(g) == grad_fn_name(t), f"{where}: grad_fn {grad_fn_name(g)} != torch's {grad_fn_name(t)}"
    )
    _check(
        problems, g.requires_grad == t.requires_grad, f"{where}: requires_grad {g.requires_grad} != {t.requires_grad}"
    )
    _check(problems, g.is_leaf == t.is_leaf, f"{where}: is_leaf {g.is_leaf} != torch's {t.is_leaf}")
    if not _check(problems, tuple(g.shape) == tuple(t.shape), f"{where}: shape {tuple(g.shape)} != {tuple(t.shape)}"):
        return
    gv, tv = to_numpy(g), to_numpy(t)
    try:
        if tv.dtype.kind in "biu":
            np.testing.assert_array_equal(gv, tv)
        else:
            np.testing.assert_allclose(gv, tv, atol=atol, rtol=rtol, equal_nan=True)
    except AssertionError as e:
        problems.append(f"{where}: values differ: {str(e).strip()}")


def _compare_backward(problems: list, g_list, t_list, g_in, t_in, torch, atol, rtol, seed) -> None:
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
            _check(problems, g.grad is None, f"{where}: .grad is {g.grad!r}, torch's is None")
            continue
        if not _check(problems, g.grad is not None, f"{where}: .grad is None, torch's is {t.grad!r}"):
            continue
        _check(
            problems, str(g.grad.dtype) == str(t.grad.dtype), f"{where}: grad dtype {g.grad.dtype} != {t.grad.dtype}"
        )
        if not _check(problems, tuple(g.grad.shape) == tuple(t.grad.shape), f"{where}: grad shape differs"):
            continue
        try:
            np.testing.assert_allclose(to_numpy(g.grad), to_numpy(t.grad), atol=atol, rtol=rtol)
        except AssertionError as e:
            problems.append(f"{where}: .grad differs from torch: {str(e).strip()}")


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


# ----------------------------------------------------------------------------- the op table
#
# One list of differentiable ops, shared by test_gradcheck.py (central differences in
# float64) and test_vs_torch.py (the same lambdas against real torch in float32). Inputs
# are float64 arrays chosen away from kinks (relu/abs at 0, clamp bounds, max ties) and
# inside each op's domain (log, sqrt, pow with a tensor exponent need positive bases).

_rng = np.random.default_rng(20240613)


def U(*shape, low=-2.0, high=2.0) -> np.ndarray:
    """Uniform values in [low, high)."""
    return np.asarray(_rng.uniform(low, high, size=shape))


def P(*shape) -> np.ndarray:
    """Positive values in [0.5, 2)."""
    return np.asarray(_rng.uniform(0.5, 2.0, size=shape))


def K(*shape) -> np.ndarray:
    """Values at least 0.3 away from zero (relu, abs, division)."""
    # np.asarray: the product of two 0-d arrays is a numpy scalar, not an array
    return np.asarray(_rng.uniform(0.3, 2.0, size=shape) * np.where(_rng.random(shape) < 0.5, -1.0, 1.0))


def M(*shape) -> np.ndarray:
    """A boolean mask with both values present."""
    m = _rng.random(shape) < 0.5
    m.flat[0], m.flat[-1] = True, False
    return m


# Away from the clamp bounds -0.5 and 0.5 by more than 0.1.
CLAMP_X = np.array([[-1.3, -0.2, 0.7], [0.1, -0.8, 1.6]])


class OpCase:
    """One op: ``fn(module, *tensors)`` over ``inputs``; per-checker keyword overrides."""

    __slots__ = ("id", "fn", "inputs", "gradcheck_kw", "torch_kw")

    def __init__(self, id: str, fn: Callable, *inputs, gradcheck_kw=None, torch_kw=None) -> None:
        self.id = id
        self.fn = fn
        self.inputs = inputs
        self.gradcheck_kw = gradcheck_kw or {}
        self.torch_kw = torch_kw or {}

    def __repr__(self) -> str:
        return f"OpCase({self.id})"


def as_float32(inputs) -> list:
    return [a.astype(np.float32) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in inputs]


BROADCAST_SHAPES = [
    ("same", (2, 3), (2, 3)),
    ("row", (2, 3), (3,)),
    ("outer", (2, 1), (1, 3)),
    ("0d_left", (), (2, 3)),
    ("0d_right", (2, 3), ()),
]


def _binary_cases() -> list:
    cases = []
    for tag, sa, sb in BROADCAST_SHAPES:
        cases += [
            OpCase(f"add_{tag}", lambda t, x, y: x + y, U(*sa), U(*sb)),
            OpCase(f"sub_{tag}", lambda t, x, y: x - y, U(*sa), U(*sb)),
            OpCase(f"mul_{tag}", lambda t, x, y: x * y, U(*sa), U(*sb)),
            OpCase(f"div_{tag}", lambda t, x, y: x / y, U(*sa), K(*sb)),
            OpCase(f"pow_tensor_tensor_{tag}", lambda t, x, y: x**y, P(*sa), U(*sb)),
            OpCase(f"maximum_{tag}", lambda t, x, y: t.maximum(x, y), U(*sa), U(*sb)),
            OpCase(f"minimum_{tag}", lambda t, x, y: t.minimum(x, y), U(*sa), U(*sb)),
            OpCase(f"where_{tag}", lambda t, c, x, y: t.where(c, x, y), M(2, 3), U(*sa), U(*sb)),
        ]
    cases += [
        OpCase("add_alpha", lambda t, x, y: t.add(x, y, alpha=2.5), U(2, 3), U(2, 3)),
        OpCase("sub_alpha", lambda t, x, y: t.sub(x, y, alpha=-1.5), U(2, 3), U(3)),
        OpCase("add_scalar", lambda t, x: x + 1.5, U(2, 3)),
        OpCase("radd_scalar", lambda t, x: 1.5 + x, U(2, 3)),
        OpCase("sub_scalar", lambda t, x: x - 0.5, U(2, 3)),
        OpCase("rsub_scalar", lambda t, x: 0.5 - x, U(2, 3)),
        OpCase("mul_scalar", lambda t, x: x * 3.0, U(2, 3)),
        OpCase("rmul_scalar", lambda t, x: 3.0 * x, U(2, 3)),
        OpCase("div_scalar", lambda t, x: x / 4.0, U(2, 3)),
        OpCase("rdiv_scalar", lambda t, x: 2.0 / x, K(2, 3)),
        OpCase("remainder", lambda t, x, y: x % y, U(2, 3), K(2, 3)),
        OpCase("remainder_broadcast", lambda t, x, y: t.remainder(x, y), U(2, 3), K(3)),
        OpCase("remainder_scalar", lambda t, x: x % 0.7, U(2, 3)),
        OpCase("remainder_negative_scalar", lambda t, x: x.remainder(-0.7), U(2, 3)),
        OpCase("pow_scalar_2", lambda t, x: x**2, U(2, 3)),
        OpCase("pow_scalar_3", lambda t, x: x**3, U(2, 3)),
        OpCase("pow_scalar_int_method", lambda t, x: x.pow(3), U(2, 3)),
        OpCase("pow_scalar_half", lambda t, x: x**0.5, P(2, 3)),
        OpCase("pow_scalar_neg", lambda t, x: x**-1.5, P(2, 3)),
        OpCase("pow_fn_tensor_scalar", lambda t, x: t.pow(x, 2.5), P(2, 3)),
        OpCase("pow_fn_tensor_tensor", lambda t, x, y: t.pow(x, y), P(2, 3), U(2, 3)),
        OpCase("rpow_scalar", lambda t, x: 2.0**x, U(2, 3)),
        OpCase("pow_fn_scalar_tensor", lambda t, x: t.pow(1.7, x), U(2, 3)),
        OpCase("same_tensor_twice", lambda t, x: x * x + x / (x * x + 1), U(2, 3)),
    ]
    return cases


def _unary_cases() -> list:
    return [
        OpCase("neg", lambda t, x: -x, U(2, 3)),
        OpCase("neg_method", lambda t, x: x.neg(), U(2, 3)),
        OpCase("exp", lambda t, x: x.exp(), U(2, 3)),
        OpCase("exp_fn", lambda t, x: t.exp(x), U(2, 3)),
        OpCase("log", lambda t, x: x.log(), P(2, 3)),
        OpCase("sqrt", lambda t, x: x.sqrt(), P(2, 3)),
        OpCase("sin", lambda t, x: x.sin(), U(2, 3)),
        OpCase("cos", lambda t, x: x.cos(), U(2, 3)),
        OpCase("tanh", lambda t, x: x.tanh(), U(2, 3)),
        OpCase("sigmoid", lambda t, x: x.sigmoid(), U(2, 3)),
        OpCase("sigmoid_fn", lambda t, x: t.sigmoid(x), U(2, 3)),
        OpCase("relu", lambda t, x: x.relu(), K(2, 3)),
        OpCase("relu_fn", lambda t, x: t.relu(x), K(2, 3)),
        OpCase("abs", lambda t, x: x.abs(), K(2, 3)),
        OpCase("abs_fn", lambda t, x: t.abs(x), K(2, 3)),
        OpCase("clamp_min", lambda t, x: x.clamp(min=-0.5), CLAMP_X),
        OpCase("clamp_max", lambda t, x: x.clamp(max=0.5), CLAMP_X),
        OpCase("clamp_both", lambda t, x: x.clamp(-0.5, 0.5), CLAMP_X),
        OpCase("clamp_fn", lambda t, x: t.clamp(x, min=-0.5, max=0.5), CLAMP_X),
        OpCase("clamp_min_method", lambda t, x: x.clamp_min(-0.5), CLAMP_X),
    ]


def _reduction_cases() -> list:
    x3 = (2, 3, 4)
    return [
        OpCase("sum_all", lambda t, x: x.sum(), U(*x3)),
        OpCase("sum_fn", lambda t, x: t.sum(x), U(*x3)),
        OpCase("sum_dim1", lambda t, x: x.sum(1), U(*x3)),
        OpCase("sum_dim_neg", lambda t, x: x.sum(-1), U(*x3)),
        OpCase("sum_dims_tuple", lambda t, x: x.sum((0, 2)), U(*x3)),
        OpCase("sum_dims_tuple_neg", lambda t, x: x.sum((-1, 0)), U(*x3)),
        OpCase("sum_keepdim", lambda t, x: x.sum(1, keepdim=True), U(*x3)),
        OpCase("sum_dims_keepdim", lambda t, x: x.sum(dim=(0, -1), keepdim=True), U(*x3)),
        OpCase("sum_0d", lambda t, x: x.sum(), U()),
        OpCase("mean_all", lambda t, x: x.mean(), U(*x3)),
        OpCase("mean_dim1", lambda t, x: x.mean(1), U(*x3)),
        OpCase("mean_dim_neg", lambda t, x: x.mean(-2), U(*x3)),
        OpCase("mean_dims_tuple", lambda t, x: x.mean((0, 2)), U(*x3)),
        OpCase("mean_keepdim", lambda t, x: x.mean(-1, keepdim=True), U(*x3)),
        OpCase("mean_fn", lambda t, x: t.mean(x, 0), U(*x3)),
        OpCase("prod_all", lambda t, x: x.prod(), P(2, 3)),
        OpCase("prod_dim", lambda t, x: x.prod(1), U(2, 3, 2)),
        OpCase("prod_dim_neg_keepdim", lambda t, x: x.prod(-1, keepdim=True), U(2, 3)),
        OpCase("max_all", lambda t, x: x.max(), U(*x3)),
        OpCase("max_dim", lambda t, x: x.max(1), U(*x3)),
        OpCase("max_dim_values", lambda t, x: x.max(dim=-1).values, U(*x3)),
        OpCase("max_dim_keepdim", lambda t, x: x.max(0, keepdim=True), U(*x3)),
        OpCase("min_all", lambda t, x: x.min(), U(*x3)),
        OpCase("min_dim", lambda t, x: x.min(2), U(*x3)),
        OpCase("min_dim_neg_keepdim", lambda t, x: x.min(-2, keepdim=True), U(*x3)),
        OpCase("max_fn", lambda t, x: t.max(x), U(2, 3)),
        OpCase("min_fn_dim", lambda t, x: t.min(x, 1)[0], U(2, 3)),
    ]


def _matmul_cases() -> list:
    return [
        OpCase("matmul_1d_1d", lambda t, a, b: a @ b, U(3), U(3)),
        OpCase("matmul_2d_1d", lambda t, a, b: a @ b, U(2, 3), U(3)),
        OpCase("matmul_1d_2d", lambda t, a, b: a @ b, U(3), U(3, 4)),
        OpCase("matmul_2d_2d", lambda t, a, b: a @ b, U(2, 3), U(3, 4)),
        OpCase("matmul_3d_2d", lambda t, a, b: a @ b, U(2, 2, 3), U(3, 4)),
        OpCase("matmul_3d_1d", lambda t, a, b: a @ b, U(2, 2, 3), U(3)),
        OpCase("matmul_1d_3d", lambda t, a, b: a @ b, U(3), U(2, 3, 4)),
        OpCase("matmul_3d_3d", lambda t, a, b: a @ b, U(2, 2, 3), U(2, 3, 4)),
        OpCase("matmul_3d_3d_broadcast", lambda t, a, b: a @ b, U(1, 2, 3), U(2, 3, 4)),
        OpCase("matmul_4d_3d_broadcast", lambda t, a, b: a @ b, U(2, 1, 2, 3), U(3, 3, 2)),
        OpCase("matmul_fn", lambda t, a, b: t.matmul(a, b), U(2, 3), U(3, 2)),
        OpCase("matmul_method", lambda t, a, b: a.matmul(b), U(2, 3), U(3, 2)),
        OpCase("mm", lambda t, a, b: t.mm(a, b), U(2, 3), U(3, 4)),
        OpCase("mm_method", lambda t, a, b: a.mm(b), U(3, 2), U(2, 2)),
        OpCase("mm_transposed", lambda t, a, b: a.t().mm(b), U(3, 2), U(3, 2)),
    ]


def _softmax_cases() -> list:
    x3 = (2, 3, 4)
    return [
        OpCase("softmax_dim1", lambda t, x: x.softmax(1), U(*x3)),
        OpCase("softmax_dim_neg", lambda t, x: t.softmax(x, dim=-1), U(*x3)),
        OpCase("softmax_dim0", lambda t, x: x.softmax(0), U(*x3)),
        OpCase("log_softmax_dim1", lambda t, x: x.log_softmax(1), U(*x3)),
        OpCase("log_softmax_dim_neg", lambda t, x: t.log_softmax(x, dim=-1), U(*x3)),
        OpCase("log_softmax_dim0", lambda t, x: x.log_softmax(0), U(*x3)),
    ]


def _join_cases() -> list:
    return [
        OpCase("cat_dim0", lambda t, x, y: t.cat([x, y]), U(2, 3), U(1, 3)),
        OpCase("cat_dim1", lambda t, x, y: t.cat([x, y], 1), U(2, 3), U(2, 2)),
        OpCase("cat_dim_neg", lambda t, x, y, z: t.cat((x, y, z), dim=-1), U(2, 1), U(2, 3), U(2, 2)),
        OpCase("cat_same_tensor", lambda t, x: t.cat([x, x * 2]), U(2, 3)),
        OpCase("stack_dim0", lambda t, x, y: t.stack([x, y]), U(2, 3), U(2, 3)),
        OpCase("stack_dim2", lambda t, x, y: t.stack([x, y], 2), U(2, 3), U(2, 3)),
        OpCase("stack_dim_neg", lambda t, x, y, z: t.stack((x, y, z), dim=-1), U(3), U(3), U(3)),
        OpCase("where_broadcast_cond", lambda t, c, x, y: t.where(c, x, y), M(3), U(2, 3), U(2, 1)),
        OpCase("where_scalar_other", lambda t, c, x: t.where(c, x, 0.5), M(2, 3), U(2, 3)),
    ]


def _view_cases() -> list:
    return [
        OpCase("slice_step", lambda t, x: x[::2], U(5, 3)),
        OpCase("slice_2d_step", lambda t, x: x[1:, ::2], U(4, 3)),
        OpCase("slice_neg", lambda t, x: x[-3:-1], U(4, 3)),
        OpCase("index_int", lambda t, x: x[1], U(4, 3)),
        OpCase("index_int_neg_slice", lambda t, x: x[-1, 1:], U(4, 3)),
        OpCase("index_none_ellipsis", lambda t, x: x[None, ..., 1], U(4, 3)),
        OpCase("index_ellipsis", lambda t, x: x[..., 0], U(2, 3, 4)),
        OpCase("select", lambda t, x: x.select(1, 2), U(4, 3)),
        OpCase("select_neg", lambda t, x: x.select(-1, -1), U(2, 3, 4)),
        OpCase("view", lambda t, x: x.view(3, 4), U(4, 3)),
        OpCase("view_infer", lambda t, x: x.view(-1), U(4, 3)),
        OpCase("view_tuple", lambda t, x: x.view((2, 2, 3)), U(4, 3)),
        OpCase("reshape", lambda t, x: x.reshape(2, 6), U(4, 3)),
        OpCase("reshape_noncontiguous", lambda t, x: x.t().reshape(-1), U(4, 3)),
        OpCase("reshape_fn", lambda t, x: t.reshape(x, (6, 2)), U(4, 3)),
        OpCase("transpose", lambda t, x: x.transpose(0, 1), U(4, 3)),
        OpCase("transpose_neg", lambda t, x: x.transpose(-1, 0), U(2, 3, 4)),
        OpCase("t", lambda t, x: x.t(), U(4, 3)),
        OpCase("t_1d", lambda t, x: x.t(), U(3)),
        OpCase("T", lambda t, x: x.T, U(4, 3)),
        OpCase("permute", lambda t, x: x.permute(2, 0, 1), U(2, 3, 4)),
        OpCase("permute_neg", lambda t, x: x.permute(-1, -3, -2), U(2, 3, 4)),
        OpCase("unsqueeze0", lambda t, x: x.unsqueeze(0), U(4, 3)),
        OpCase("unsqueeze_neg", lambda t, x: x.unsqueeze(-1), U(4, 3)),
        OpCase("squeeze_all", lambda t, x: x.squeeze(), U(2, 1, 3, 1)),
        OpCase("squeeze_dim", lambda t, x: x.squeeze(1), U(2, 1, 3)),
        OpCase("squeeze_dim_noop", lambda t, x: x.squeeze(0), U(2, 1, 3)),
        OpCase("squeeze_dims_tuple", lambda t, x: x.squeeze((1, 3)), U(2, 1, 3, 1)),
        OpCase("expand", lambda t, x: x.expand(3, 4), U(3, 1)),
        OpCase("expand_new_dims", lambda t, x: x.expand(2, 3), U(3)),
        OpCase("expand_minus_one", lambda t, x: x.expand(2, -1, 4), U(3, 1)),
        OpCase("expand_as", lambda t, x, y: x.expand_as(y), U(1, 3), U(2, 3)),
        OpCase("flatten", lambda t, x: x.flatten(), U(2, 3, 4)),
        OpCase("flatten_start", lambda t, x: x.flatten(1), U(2, 3, 4)),
        OpCase("flatten_range", lambda t, x: t.flatten(x, 0, 1), U(2, 3, 4)),
        OpCase("narrow", lambda t, x: x.narrow(1, 1, 2), U(4, 3)),
        OpCase("chunk", lambda t, x: x.chunk(2, 0), U(4, 3)),
        OpCase("split_sizes", lambda t, x: x.split([1, 2], 1), U(4, 3)),
        OpCase("unbind", lambda t, x: x.unbind(1), U(4, 3)),
        OpCase("view_of_view", lambda t, x: x.t()[1:].unsqueeze(0)[..., ::2], U(4, 3)),
        OpCase("view_then_op", lambda t, x: x.view(3, 4).exp() * x.t().reshape(3, 4), U(4, 3)),
    ]


def _advanced_index_cases() -> list:
    return [
        OpCase("index_int_list", lambda t, x: x[[0, 2, 0]], U(4, 3)),
        OpCase("index_long_tensor", lambda t, x: x[t.tensor([3, 1, 3, 3])], U(4, 3)),
        OpCase("index_bool_mask", lambda t, x, m: x[m], U(4, 3), M(4, 3)),
        OpCase("index_bool_rows", lambda t, x, m: x[m], U(4, 3), M(4)),
        OpCase("index_second_dim_list", lambda t, x: x[:, [2, 0, 2]], U(4, 3)),
        OpCase("index_pairs", lambda t, x: x[[0, 1, 3], [2, 0, 2]], U(4, 3)),
    ]


def _copy_cases() -> list:
    return [
        OpCase("clone", lambda t, x: x.clone(), U(2, 3)),
        OpCase("clone_fn", lambda t, x: t.clone(x) * 2, U(2, 3)),
        OpCase("to_float64", lambda t, x: x.to(t.float64) * 2, U(2, 3)),
        # a float32 round trip: the function is linear, so a large eps only has to beat float32 rounding
        OpCase(
            "to_float32_and_back",
            lambda t, x: x.to(t.float32).to(t.float64) * 2,
            U(2, 3),
            gradcheck_kw={"eps": 1e-2, "atol": 1e-4},
        ),
        OpCase("double", lambda t, x: x.double().exp(), U(2, 3)),
        OpCase("contiguous", lambda t, x: x.t().contiguous(), U(2, 3)),
    ]


# ----------------------------------------------------------------------------- in place on non-leaf clones


def _set_basic_row(t, x, y):
    c = x.clone()
    c[0] = y
    return c


def _set_basic_step(t, x, y):
    c = x.clone()
    c[1:, ::2] = y * 2
    return c


def _set_basic_ellipsis(t, x, y):
    c = x.clone()
    c[..., 1] = y.exp()
    return c


def _set_basic_scalar_tensor(t, x, y):
    c = x.clone()
    c[1, 2] = y
    return c


def _set_basic_python_scalar(t, x):
    c = x.clone()
    c[0] = 2.0
    return c * x


def _set_advanced_list(t, x, y):
    c = x.clone()
    c[[0, 2]] = y
    return c


def _set_advanced_mask(t, x, y, m):
    c = x.clone()
    c[m] = y
    return c


def _set_advanced_scalar(t, x, m):
    c = x.clone()
    c[m] = 0.0
    return c * x


def _inplace_view_of_clone(t, x, y):
    c = x.clone()
    c[1].mul_(y)
    return c


def _inplace_transposed_view(t, x):
    c = x.clone()
    v = c.t()
    v[0].exp_()
    return c, v


def _inplace_view_then_use(t, x, y):
    c = x.clone()
    c[0].sigmoid_()
    return c * y


def _inplace_chain(t, x, y):
    c = x * 1.5
    c.mul_(y)
    c.add_(1)
    c.div_(y)
    c.exp_()
    return c


def _inplace_view_chain(t, x, y):
    c = x.clone()
    v = c.view(3, 2)
    v[:, 1].add_(y)
    v.mul_(2)
    return c


def _inplace_cases() -> list:
    return [
        OpCase("add_", lambda t, x, y: x.clone().add_(y), U(2, 3), U(2, 3)),
        OpCase("add__broadcast", lambda t, x, y: x.clone().add_(y), U(2, 3), U(3)),
        OpCase("add__scalar", lambda t, x: x.clone().add_(2.0), U(2, 3)),
        OpCase("add__alpha", lambda t, x, y: x.clone().add_(y, alpha=3), U(2, 3), U(2, 3)),
        OpCase("iadd", lambda t, x, y: _iadd(x.clone(), y), U(2, 3), U(2, 3)),
        OpCase("sub_", lambda t, x, y: x.clone().sub_(y), U(2, 3), U(1, 3)),
        OpCase("mul_", lambda t, x, y: x.clone().mul_(y), U(2, 3), U(2, 3)),
        OpCase("mul__broadcast", lambda t, x, y: x.clone().mul_(y), U(2, 3), U(2, 1)),
        OpCase("mul__scalar", lambda t, x: x.clone().mul_(3.0), U(2, 3)),
        OpCase("mul__0d", lambda t, x, y: x.clone().mul_(y), U(2, 3), U()),
        OpCase("div_", lambda t, x, y: x.clone().div_(y), U(2, 3), K(2, 3)),
        OpCase("div__scalar", lambda t, x: x.clone().div_(4.0), U(2, 3)),
        OpCase("exp_", lambda t, x: x.clone().exp_(), U(2, 3)),
        OpCase("sigmoid_", lambda t, x: x.clone().sigmoid_(), U(2, 3)),
        OpCase("tanh_", lambda t, x: x.clone().tanh_(), U(2, 3)),
        OpCase("relu_", lambda t, x: x.clone().relu_(), K(2, 3)),
        OpCase("sin_", lambda t, x: x.clone().sin_(), U(2, 3)),
        OpCase("log_", lambda t, x: x.clone().log_(), P(2, 3)),
        OpCase("sqrt_", lambda t, x: x.clone().sqrt_(), P(2, 3)),
        OpCase("clamp__both", lambda t, x: x.clone().clamp_(-0.5, 0.5), CLAMP_X),
        OpCase("clamp__min", lambda t, x: x.clone().clamp_(min=-0.5), CLAMP_X),
        OpCase("clamp__max", lambda t, x: x.clone().clamp_(max=0.5), CLAMP_X),
        OpCase("copy_", lambda t, x, y: x.clone().copy_(y), U(2, 3), U(2, 3)),
        OpCase("copy__broadcast", lambda t, x, y: x.clone().copy_(y), U(2, 3), U(3)),
        OpCase("inplace_chain", _inplace_chain, U(2, 3), K(2, 3)),
        OpCase("setitem_basic_row", _set_basic_row, U(3, 3), U(3)),
        OpCase("setitem_basic_step", _set_basic_step, U(3, 3), U(2, 2)),
        OpCase("setitem_basic_ellipsis", _set_basic_ellipsis, U(2, 3), U(2)),
        OpCase("setitem_basic_0d", _set_basic_scalar_tensor, U(2, 3), U()),
        OpCase("setitem_basic_python_scalar", _set_basic_python_scalar, U(2, 3)),
        OpCase("setitem_advanced_list", _set_advanced_list, U(3, 3), U(2, 3)),
        OpCase(
            "setitem_advanced_mask",
            _set_advanced_mask,
            U(2, 3),
            U(3),
            np.array([[True, False, True], [False, True, False]]),
        ),
        OpCase("setitem_advanced_python_scalar", _set_advanced_scalar, U(2, 3), M(2, 3)),
        OpCase("inplace_on_view_of_clone", _inplace_view_of_clone, U(2, 3), U(3)),
        OpCase("inplace_on_transposed_view", _inplace_transposed_view, U(2, 3)),
        OpCase("inplace_on_view_then_use", _inplace_view_then_use, U(2, 3), U(2, 3)),
        OpCase("inplace_on_view_chain", _inplace_view_chain, U(2, 3), U(3)),
    ]


def _iadd(c, y):
    c += y
    return c


# ----------------------------------------------------------------------------- second derivatives


def _grad_of(f, n_inputs: int = 1, seed: int = 3):
    """``autograd.grad(f(*xs), xs, grad_outputs=v, create_graph=True)``: a function whose own gradient
    is the second derivative of ``f``."""
    v_cache: dict = {}

    def fn(t, *xs):
        out = f(t, *xs)
        key = tuple(out.shape)
        if key not in v_cache:
            v_cache[key] = np.random.default_rng(seed).standard_normal(key)
        v = t.tensor(v_cache[key].astype(to_numpy(out).dtype))
        grads = t.autograd.grad(out, xs[:n_inputs], grad_outputs=v, create_graph=True)
        return grads

    return fn


def _added_second_order_cases() -> list:
    rng = np.random.default_rng(20261129)

    def u(*shape):
        return np.asarray(rng.uniform(-2.0, 2.0, size=shape))

    return [
        OpCase("lerp_scalar", _grad_of(lambda t, x, y: t.lerp(x, y, 0.3) * x, 2), u(2, 3), u(2, 3)),
        OpCase("lerp_tensor", _grad_of(lambda t, x, y, w: t.lerp(x, y, w) * w, 3), u(2, 3), u(2, 3), u(2, 3)),
        OpCase("atan2", _grad_of(lambda t, x, y: t.atan2(x, y), 2), u(2, 3), u(2, 3)),
        OpCase("sort", _grad_of(lambda t, x: x.sort(1).values ** 2), u(2, 5)),
        OpCase("topk", _grad_of(lambda t, x: x.topk(2).values ** 2), u(2, 5)),
    ] + _session6_second_order_cases()


def _session6_second_order_cases() -> list:
    rng = np.random.default_rng(20261131)

    def u(*shape, low=-2.0, high=2.0):
        return np.asarray(rng.uniform(low, high, size=shape))

    return [
        OpCase("masked_select", _grad_of(lambda t, x: x.masked_select(x > 0) ** 2), u(3, 4)),
        OpCase("tril", _grad_of(lambda t, x: x.tril(1) ** 2), u(3, 3)),
        OpCase("triu", _grad_of(lambda t, x: x.triu() ** 2), u(3, 3)),
        OpCase("repeat", _grad_of(lambda t, x: x.repeat(2, 1, 2) ** 2), u(2, 3)),
        OpCase("roll", _grad_of(lambda t, x: x.roll((1, 2), (0, 1)) ** 2), u(2, 3)),
        OpCase("roll_flat", _grad_of(lambda t, x: x.roll(2) ** 2), u(2, 3)),
        OpCase("diag_of_matrix", _grad_of(lambda t, x: x.diag(1) ** 2), u(3, 3)),
        OpCase("diag_embed", _grad_of(lambda t, x: x.diag(-1) ** 2), u(3)),
        OpCase("logsumexp", _grad_of(lambda t, x: x.logsumexp(1)), u(2, 3)),
        OpCase("logsumexp_keepdim", _grad_of(lambda t, x: x.logsumexp((0, 1), keepdim=True)), u(2, 3)),
        OpCase("expm1", _grad_of(lambda t, x: x.expm1()), u(2, 3)),
        OpCase("erf", _grad_of(lambda t, x: x.erf()), u(2, 3)),
        OpCase("hypot", _grad_of(lambda t, x, y: t.hypot(x, y), 2), u(2, 3), u(3)),
        OpCase("addcmul", _grad_of(lambda t, x, a, b: t.addcmul(x, a, b, value=0.5) * a, 3), u(3), u(3), u(3)),
        OpCase("addcdiv", _grad_of(lambda t, x, a, b: x.addcdiv(a, b, value=2) * x, 3), u(3), u(3), u(3, low=0.5)),
        OpCase("softplus", _grad_of(lambda t, x: t.nn.functional.softplus(x, beta=2, threshold=1.5)), u(2, 3)),
        OpCase("linalg_cross", _grad_of(lambda t, x, y: t.linalg.cross(x, y), 2), u(2, 3), u(1, 3)),
        OpCase("median_dim", _grad_of(lambda t, x: x.median(1).values ** 2), u(2, 5)),
        OpCase("median_all", _grad_of(lambda t, x: x.median() ** 2), u(2, 5)),
        OpCase("kthvalue", _grad_of(lambda t, x: x.kthvalue(2).values ** 2), u(2, 5)),
    ]


def second_order_cases() -> list:
    return [
        OpCase("exp", _grad_of(lambda t, x: x.exp()), U(2, 3)),
        OpCase("sin", _grad_of(lambda t, x: x.sin()), U(2, 3)),
        OpCase("cos", _grad_of(lambda t, x: x.cos()), U(2, 3)),
        OpCase("tanh", _grad_of(lambda t, x: x.tanh()), U(2, 3)),
        OpCase("sigmoid", _grad_of(lambda t, x: x.sigmoid()), U(2, 3)),
        OpCase("log", _grad_of(lambda t, x: x.log()), P(2, 3)),
        OpCase("sqrt", _grad_of(lambda t, x: x.sqrt()), P(2, 3)),
        OpCase("pow_scalar", _grad_of(lambda t, x: x**3), U(2, 3)),
        OpCase("pow_scalar_fractional", _grad_of(lambda t, x: x**2.5), P(2, 3)),
        OpCase("pow_tensor_tensor", _grad_of(lambda t, x, y: x**y, 2), P(2, 3), U(2, 3)),
        OpCase("rpow", _grad_of(lambda t, x: 1.7**x), U(2, 3)),
        OpCase("mul", _grad_of(lambda t, x, y: x * y * x, 2), U(2, 3), U(2, 3)),
        OpCase("div", _grad_of(lambda t, x, y: x / y, 2), U(2, 3), K(2, 3)),
        OpCase("div_broadcast", _grad_of(lambda t, x, y: x / y, 2), U(2, 3), K(3)),
        OpCase("remainder", _grad_of(lambda t, x, y: (x * y) % y, 2), U(2, 3), K(2, 3)),
        OpCase("sum", _grad_of(lambda t, x: x.sum(1) ** 2), U(2, 3)),
        OpCase("sum_all", _grad_of(lambda t, x: x.sum() ** 3), U(2, 3)),
        OpCase("mean", _grad_of(lambda t, x: x.mean(0) ** 3), U(2, 3)),
        OpCase("mean_all", _grad_of(lambda t, x: x.mean().exp()), U(2, 3)),
        OpCase("matmul_2d", _grad_of(lambda t, a, b: a @ b, 2), U(2, 3), U(3, 2)),
        OpCase("matmul_squared", _grad_of(lambda t, a: (a @ a).sin()), U(3, 3)),
        OpCase("matmul_1d_1d", _grad_of(lambda t, a, b: (a @ b) ** 2, 2), U(3), U(3)),
        OpCase("matmul_3d_2d", _grad_of(lambda t, a, b: a @ b, 2), U(2, 2, 3), U(3, 2)),
    ] + _added_second_order_cases()


def _fill_with_0d(t, x, v):
    return x.clone().fill_(v)


def _index_put_accumulate(t, x, v):
    return x.clone().index_put_((t.tensor([0, 0]),), v, accumulate=True)


def _more_cases() -> list:
    """Further differentiable ops of the engine, and 0-d inputs."""
    return [
        OpCase("amax_dim", lambda t, x: x.amax(1), U(2, 3, 4)),
        OpCase("amin_dim_neg", lambda t, x: x.amin(-1), U(2, 3, 4)),
        OpCase("var_all", lambda t, x: x.var(), U(2, 3)),
        OpCase("var_dim", lambda t, x: x.var(1), U(2, 3)),
        OpCase("std_dim_keepdim", lambda t, x: x.std(0, keepdim=True), U(2, 3)),
        OpCase("norm", lambda t, x: x.norm(), U(2, 3)),
        OpCase("log1p", lambda t, x: x.log1p(), P(2, 3)),
        OpCase("reciprocal", lambda t, x: x.reciprocal(), K(2, 3)),
        OpCase("square", lambda t, x: x.square(), U(2, 3)),
        OpCase("dot", lambda t, x, y: t.dot(x, y), U(3), U(3)),
        OpCase("mv", lambda t, x, y: t.mv(x, y), U(2, 3), U(3)),
        OpCase("bmm", lambda t, x, y: t.bmm(x, y), U(2, 2, 3), U(2, 3, 2)),
        OpCase("addmm", lambda t, b, x, y: t.addmm(b, x, y), U(3), U(2, 4), U(4, 3)),
        OpCase("outer", lambda t, x, y: t.outer(x, y), U(2), U(3)),
        OpCase("rsub_fn", lambda t, x: t.rsub(x, 2.0), U(2, 3)),
        OpCase("unflatten", lambda t, x: x.unflatten(1, (3, 1)), U(4, 3)),
        OpCase("view_as", lambda t, x, y: x.view_as(y), U(4, 3), U(3, 4)),
        OpCase("reshape_as_noncontiguous", lambda t, x, y: x.t().reshape_as(y), U(4, 3), U(12)),
        OpCase("swapaxes", lambda t, x: x.swapaxes(0, 1), U(4, 3)),
        OpCase("mT", lambda t, x: x.mT, U(2, 4, 3)),
        OpCase("index_0d_long_tensor", lambda t, x: x[t.tensor(1)], U(4, 3)),
        OpCase("clamp_tensor_bounds", lambda t, x, lo: x.clamp(min=lo), U(2, 3), U(3)),
        OpCase("clamp_min_tensor", lambda t, x, lo: t.clamp_min(x, lo), U(2, 3), U(3)),
        OpCase("clamp_max_tensor_method", lambda t, x, hi: x.clamp_max(hi), U(2, 3), U(2, 1)),
        OpCase("clamp_min__tensor", lambda t, x, lo: x.clone().clamp_min_(lo), U(2, 3), U(3)),
        OpCase("fill_0d_tensor", lambda t, x, v: t.fill(x, v), U(2, 3), U()),
        OpCase("remainder__tensor", lambda t, x, y: x.clone().remainder_(y), U(2, 3), K(3)),
        OpCase("fill__0d_tensor", _fill_with_0d, U(2, 3), U()),
        OpCase("index_put__accumulate", _index_put_accumulate, U(2, 3), U(2, 3)),
        OpCase("sub__alpha", lambda t, x, y: x.clone().sub_(y, alpha=2), U(2, 3), U(2, 3)),
        OpCase("neg_", lambda t, x: x.clone().neg_(), U(2, 3)),
        OpCase("0d_exp", lambda t, x: x.exp(), U()),
        OpCase("0d_expand", lambda t, x: x.expand(2, 2), U()),
        OpCase("0d_unsqueeze", lambda t, x: x.unsqueeze(0), U()),
        OpCase("0d_sum_dim0", lambda t, x: x.sum(0), U()),
        OpCase("0d_mean_dim_neg_keepdim", lambda t, x: x.mean(-1, keepdim=True), U()),
        OpCase("0d_max_dim0", lambda t, x: x.max(0), U()),
        OpCase("0d_softmax", lambda t, x: x.softmax(0) * x, U()),
        OpCase("0d_stack", lambda t, x: t.stack([x, x * 2]), U()),
    ]


def _added_op_cases() -> list:
    """lerp, atan2, sort/topk, dropout and layer_norm: values from their own generator, so the
    cases above keep theirs."""
    rng = np.random.default_rng(20261128)

    def u(*shape, low=-2.0, high=2.0):
        return np.asarray(rng.uniform(low, high, size=shape))

    def distinct(*shape):  # far apart: sort and topk have no ties
        return np.asarray(rng.permutation(int(np.prod(shape))).reshape(shape) * 0.37 - 1.0)

    return [
        OpCase("lerp_scalar_small", lambda t, x, y: t.lerp(x, y, 0.3), u(2, 3), u(2, 3)),
        OpCase("lerp_scalar_large_method", lambda t, x, y: x.lerp(y, 0.8), u(2, 3), u(2, 3)),
        OpCase("lerp_scalar_broadcast", lambda t, x, y: t.lerp(x, y, -0.6), u(2, 3), u(3)),
        OpCase("lerp_tensor", lambda t, x, y, w: t.lerp(x, y, w), u(2, 3), u(2, 3), u(2, 3, low=-1, high=1.5)),
        OpCase("lerp_tensor_broadcast", lambda t, x, y, w: x.lerp(y, w), u(2, 1), u(3), u(2, 3)),
        OpCase("atan2", lambda t, x, y: t.atan2(x, y), u(2, 3), u(2, 3)),
        OpCase("atan2_broadcast_method", lambda t, x, y: x.atan2(y), u(2, 3), u(3)),
        OpCase("arctan2", lambda t, x, y: t.arctan2(x, y), u(3), u(2, 3)),
        OpCase("sort", lambda t, x: t.sort(x), distinct(3, 5)),
        OpCase("sort_dim0_descending", lambda t, x: x.sort(0, descending=True), distinct(4, 3)),
        OpCase("sort_stable_keyword", lambda t, x: t.sort(x, stable=True, dim=1), distinct(2, 6)),
        OpCase("sort_then_scale", lambda t, x: x.sort().values * x, distinct(6)),
        OpCase("topk", lambda t, x: t.topk(x, 2), distinct(3, 5)),
        OpCase("topk_smallest_dim0", lambda t, x: x.topk(3, dim=0, largest=False), distinct(4, 3)),
        OpCase("topk_all", lambda t, x: x.topk(6).values.exp(), distinct(6)),
        OpCase("topk_of_transposed", lambda t, x: x.t().topk(2), distinct(3, 4)),
        OpCase("layer_norm", lambda t, x: t.nn.functional.layer_norm(x, (4,)), u(3, 4)),
        OpCase(
            "layer_norm_affine",
            lambda t, x, w, b: t.nn.functional.layer_norm(x, (4,), w, b, eps=1e-3),
            u(3, 4),
            u(4),
            u(4),
        ),
        OpCase(
            "layer_norm_weight_only_2d", lambda t, x, w: t.nn.functional.layer_norm(x, (2, 3), w), u(2, 2, 3), u(2, 3)
        ),
        OpCase("layer_norm_bias_only_1d", lambda t, x, b: t.nn.functional.layer_norm(x, (5,), None, b), u(5), u(5)),
        OpCase("layer_norm_transposed", lambda t, x: t.nn.functional.layer_norm(x.t(), (3,)).exp(), u(3, 4)),
        OpCase("dropout_p0", lambda t, x: t.nn.functional.dropout(x, 0.0) * 2, u(2, 3)),
        OpCase("dropout_eval", lambda t, x: t.nn.functional.dropout(x, 0.5, training=False).sin(), u(2, 3)),
        OpCase("dropout_p1", lambda t, x: t.nn.functional.dropout(x, 1.0) + x, u(2, 3)),
    ]


def _session6_op_cases() -> list:
    """masked_select, tril/triu, repeat/tile, roll, diag, logsumexp, expm1, erf, hypot,
    addcmul/addcdiv: values from their own generator, so the cases above keep theirs."""
    rng = np.random.default_rng(20261130)

    def u(*shape, low=-2.0, high=2.0):
        return np.asarray(rng.uniform(low, high, size=shape))

    def distinct(*shape):  # far apart: no ties
        return np.asarray(rng.permutation(int(np.prod(shape))).reshape(shape) * 0.37 - 1.0)

    def mask(*shape):
        m = rng.random(shape) < 0.5
        m.flat[0], m.flat[-1] = True, False
        return m

    return [
        OpCase("masked_select", lambda t, x, m: x.masked_select(m), u(3, 4), mask(3, 4)),
        OpCase("masked_select_broadcast_mask", lambda t, x, m: t.masked_select(x, m), u(3, 4), mask(4)),
        OpCase("masked_select_broadcast_input", lambda t, x, m: t.masked_select(x, m), u(4), mask(3, 4)),
        OpCase("tril", lambda t, x: x.tril(), u(3, 4)),
        OpCase("tril_diagonal_fn", lambda t, x: t.tril(x, 1), u(4, 3)),
        OpCase("tril_batched_negative", lambda t, x: x.tril(-1), u(2, 3, 3)),
        OpCase("triu", lambda t, x: t.triu(x), u(3, 4)),
        OpCase("triu_diagonal", lambda t, x: x.triu(diagonal=-1), u(4, 3)),
        OpCase("triu_of_transposed", lambda t, x: x.t().triu(1), u(3, 4)),
        OpCase("tril_", lambda t, x: (x * 2).tril_(), u(3, 3)),
        OpCase("triu__diagonal", lambda t, x: (x * 2).triu_(1), u(2, 3, 4)),
        OpCase("repeat", lambda t, x: x.repeat(2, 3), u(2, 3)),
        OpCase("repeat_new_dims", lambda t, x: x.repeat((2, 1, 3)), u(4)),
        OpCase("repeat_ones", lambda t, x: x.repeat(1, 1), u(2, 3)),
        OpCase("repeat_0d", lambda t, x: x.repeat(3), u()),
        OpCase("repeat_of_transposed", lambda t, x: x.t().repeat(1, 2, 2), u(2, 3)),
        OpCase("tile", lambda t, x: t.tile(x, (2,)), u(2, 3)),
        OpCase("tile_method_more_dims", lambda t, x: x.tile((2, 1, 2)), u(2, 3)),
        OpCase("roll", lambda t, x: x.roll(1, 0), u(3, 4)),
        OpCase("roll_flat", lambda t, x: t.roll(x, 5), u(3, 4)),
        OpCase("roll_dims", lambda t, x: t.roll(x, (1, -2), (0, -1)), u(3, 4)),
        OpCase("roll_negative_transposed", lambda t, x: x.t().roll(-1, 1), u(3, 4)),
        OpCase("diag_embed", lambda t, x: t.diag(x), u(3)),
        OpCase("diag_embed_offset", lambda t, x: x.diag(1), u(3)),
        OpCase("diag_embed_negative_offset", lambda t, x: x.diag(-2), u(2)),
        OpCase("diag_of_matrix", lambda t, x: x.diag(), u(3, 4)),
        OpCase("diag_of_matrix_offset", lambda t, x: t.diag(x, -1), u(3, 4)),
        OpCase("diag_of_matrix_offset_positive", lambda t, x: t.diag(x.t(), 2), u(3, 4)),
        OpCase("logsumexp", lambda t, x: t.logsumexp(x, 1), u(2, 3, 4)),
        OpCase("logsumexp_keepdim", lambda t, x: x.logsumexp(-1, keepdim=True), u(2, 3, 4)),
        OpCase("logsumexp_dims", lambda t, x: x.logsumexp((0, 2)), u(2, 3, 4)),
        OpCase("logsumexp_0d", lambda t, x: x.logsumexp(0), u()),
        OpCase("logsumexp_large", lambda t, x: x.logsumexp(0), u(3, 2, low=80.0, high=90.0)),
        OpCase("expm1", lambda t, x: x.expm1(), u(2, 3)),
        OpCase("expm1_fn", lambda t, x: t.expm1(x), u(3)),
        OpCase("expm1_", lambda t, x: (x * 1.5).expm1_(), u(2, 3)),
        OpCase("erf", lambda t, x: x.erf(), u(2, 3)),
        OpCase("erf_fn", lambda t, x: t.erf(x.t()), u(2, 3)),
        OpCase("erf_", lambda t, x: (x * 1.5).erf_(), u(2, 3)),
        OpCase("hypot", lambda t, x, y: t.hypot(x, y), u(2, 3), u(2, 3)),
        OpCase("hypot_broadcast_method", lambda t, x, y: x.hypot(y), u(2, 3), u(3)),
        OpCase("hypot_", lambda t, x, y: (x * 1.0).hypot_(y), u(2, 3), u(3)),
        OpCase("addcmul", lambda t, x, a, b: t.addcmul(x, a, b), u(2, 3), u(2, 3), u(2, 3)),
        OpCase("addcmul_value_broadcast", lambda t, x, a, b: x.addcmul(a, b, value=-0.5), u(3), u(2, 3), u(2, 1)),
        OpCase("addcdiv", lambda t, x, a, b: t.addcdiv(x, a, b, value=2), u(2, 3), u(2, 3), u(2, 3, low=0.5)),
        OpCase("addcdiv_broadcast", lambda t, x, a, b: x.addcdiv(a, b), u(2, 1), u(3), u(2, 3, low=0.5)),
        OpCase("addcmul_", lambda t, x, a, b: (x * 1.0).addcmul_(a, b, value=3), u(2, 3), u(3), u(2, 3)),
        OpCase("addcdiv_", lambda t, x, a, b: (x * 1.0).addcdiv_(a, b, value=0.5), u(2, 3), u(2, 3), u(3, low=0.5)),
        OpCase("softplus", lambda t, x: t.nn.functional.softplus(x), u(2, 3)),
        OpCase("softplus_beta_threshold", lambda t, x: t.nn.functional.softplus(x, beta=2, threshold=1.5), u(2, 3)),
        OpCase("linalg_cross", lambda t, x, y: t.linalg.cross(x, y), u(2, 3), u(2, 3)),
        OpCase("linalg_cross_dim_broadcast", lambda t, x, y: t.linalg.cross(x, y, dim=0), u(3, 1), u(3, 4)),
        OpCase("cross_dim", lambda t, x, y: t.cross(x, y, dim=1), u(2, 3), u(2, 3)),
        OpCase("cross_method", lambda t, x, y: x.cross(y, dim=-1), u(3), u(3)),
        OpCase("median_all", lambda t, x: x.median(), distinct(3, 4)),
        OpCase("median_dim", lambda t, x: t.median(x, 1), distinct(3, 4)),
        OpCase("median_dim_keepdim", lambda t, x: x.median(0, keepdim=True), distinct(3, 4)),
        OpCase("kthvalue", lambda t, x: t.kthvalue(x, 2), distinct(3, 4)),
        OpCase("kthvalue_dim0_keepdim", lambda t, x: x.kthvalue(3, 0, keepdim=True), distinct(3, 4)),
    ]


def op_cases() -> list:
    """Every differentiable op case (ids are unique)."""
    cases = (
        _binary_cases()
        + _unary_cases()
        + _reduction_cases()
        + _matmul_cases()
        + _softmax_cases()
        + _join_cases()
        + _view_cases()
        + _advanced_index_cases()
        + _copy_cases()
        + _inplace_cases()
        + _more_cases()
        + _added_op_cases()
        + _session6_op_cases()
    )
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "duplicate op case ids"
    return cases


def reproducible(max_examples: int, *also_suppress):
    """Hypothesis settings for a bounded, derandomized run (fixed examples, no database, no
    deadline), so CI is reproducible; slow or large draws are not health-check failures."""
    from hypothesis import HealthCheck, settings

    checks = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much, *also_suppress]
    return settings(
        max_examples=max_examples, deadline=None, derandomize=True, database=None, suppress_health_check=checks
    )
