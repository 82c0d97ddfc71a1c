"""Review fixes of the functions of ``_more_functions.py``, ``_einsum.py`` and ``norm``, compared
with PyTorch: legacy constructors on a cpu ``torch.device``, the parser's TypeErrors of
``kron``/``einsum``/``tensor_split``/``normal``, einsum's sublist form, ``norm`` with p = inf,
-inf and 0 (values, grads, create_graph graphs, ``F.normalize``, ``clip_grad_norm_``),
cummax/cummin's and asin/acos's double-backward graphs, and the legacy type names."""

from __future__ import annotations

import numpy as np
import pytest

import gradlens_core as gc

torch = pytest.importorskip("torch")

INF = float("inf")


def _outcome(fn, mod):
    """What ``fn(mod)`` does: ("ok", its value printed) or (the error's class, its first line)."""
    try:
        res = fn(mod)
    except Exception as e:  # noqa: BLE001 (the outcome compared, whatever it is)
        return type(e).__name__, str(e).split("\n")[0]
    if isinstance(res, (tuple, list)):
        return "ok", [str(r) for r in res]
    return "ok", str(res)


def _same_outcome(fn):
    assert _outcome(fn, gc) == _outcome(fn, torch)


@pytest.mark.parametrize(
    "device",
    [lambda m: m.device("cpu"), lambda m: "cpu:0", lambda m: m.device("cpu", 0), lambda m: "meta"],
    ids=["device-cpu", "str-cpu0", "device-cpu0", "meta"],
)
def test_legacy_constructor_device(device):
    _same_outcome(lambda m: m.FloatTensor([1.5, 2.0], device=device(m)))
    _same_outcome(lambda m: m.LongTensor(2, 3, device=device(m)).shape)


_WRONG_TYPES = {
    "kron-str-first": lambda m: m.kron("a", m.ones(2)),
    "kron-int-other": lambda m: m.kron(m.ones(2), 2),
    "kron-list-other": lambda m: m.kron(m.ones(2), [1.0]),
    "einsum-nested-floats": lambda m: m.einsum("ij->i", [[1.0, 2.0]]),
    "einsum-number-operand": lambda m: m.einsum("i", m.ones(2), 3),
    "einsum-array-operand": lambda m: m.einsum("i,i", m.ones(2), np.ones(2)),
    "einsum-none": lambda m: m.einsum("i", None),
    "einsum-int-equation": lambda m: m.einsum(3, [m.ones(2)]),
    "einsum-empty-list": lambda m: m.einsum("i", []),
    "einsum-sublist-range": lambda m: m.einsum(m.ones(2), [0], [60]),
    "tensor_split-float": lambda m: m.tensor_split(m.ones(2, 2), 1.5),
    "tensor_split-str": lambda m: m.tensor_split(m.ones(2, 2), "a"),
    "tensor_split-float-dim": lambda m: m.tensor_split(m.ones(2, 2), 1.5, dim=1),
    "tensor_split-float-list": lambda m: m.tensor_split(m.ones(2, 2), [1.5]),
    "tensor_split-method": lambda m: m.ones(2, 2).tensor_split(1.5),
    "normal-tensor-float-size": lambda m: m.normal(m.ones(2), 1.0, size=(2,)),
    "normal-float-tensor-size": lambda m: m.normal(0.0, m.ones(2), size=(2,)),
    "normal-tensors-size": lambda m: m.normal(m.ones(2), m.ones(2), (2,)),
}


@pytest.mark.parametrize("call", list(_WRONG_TYPES.values()), ids=list(_WRONG_TYPES))
def test_wrong_types_get_pytorch_errors(call):
    expected = _outcome(call, torch)
    assert expected[0] != "ok"
    assert _outcome(call, gc) == expected


_EINSUM_SUBLISTS = {
    "trace": lambda m, a, b: m.einsum(a, [0, 0], []),
    "mm": lambda m, a, b: m.einsum(a, [0, 1], b, [1, 2], [0, 2]),
    "implicit": lambda m, a, b: m.einsum(a, [0, 1], b, [1, 2]),
    "ellipsis": lambda m, a, b: m.einsum(a, [..., 1], [1]),
    "big-labels": lambda m, a, b: m.einsum(a, [30, 51], [51, 30]),
}


@pytest.mark.parametrize("call", list(_EINSUM_SUBLISTS.values()), ids=list(_EINSUM_SUBLISTS))
def test_einsum_sublist_form(call):
    data = np.arange(9.0).reshape(3, 3)
    results = []
    for m in (torch, gc):
        a = m.tensor(data, requires_grad=True)
        b = m.tensor(data[::-1].copy())
        out = call(m, a, b)
        out.sum().backward()
        results.append((out.tolist(), type(out.grad_fn).__name__, a.grad.tolist()))
    assert results[0] == results[1]


def _norm_case(m, p, dim, keepdim):
    x = m.tensor([[1.0, -3.0, 3.0, 0.0], [float("nan"), 2.0, -2.0, 1.0]], requires_grad=True)
    y = x.norm(p=p, dim=dim, keepdim=keepdim)
    (y * m.arange(float(y.numel())).reshape(y.shape)).sum().backward()
    x2 = m.tensor([[1.0, -3.0, 3.0, 0.0], [5.0, 2.0, -2.0, 1.0]], dtype=m.float64, requires_grad=True)
    y2 = x2.norm(p=p, dim=dim, keepdim=keepdim)
    (g,) = m.autograd.grad((y2 * y2).sum(), x2, create_graph=True, allow_unused=True)
    second = None
    if g is not None:
        (h,) = m.autograd.grad(g.sum(), x2, allow_unused=True)
        # (the second grad's zeros: signed as PyTorch's only up to the sign, see the README)
        second = (type(g.grad_fn).__name__, g.tolist(), None if h is None else (h + 0.0).tolist())
    return (
        str(y.dtype),
        y.tolist(),
        type(y.grad_fn).__name__,
        None if x.grad is None else x.grad.tolist(),
        second,
    )


@pytest.mark.parametrize("p", [INF, -INF, 0], ids=["inf", "-inf", "0"])
@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1)], ids=["all", "d0", "d1", "both"])
@pytest.mark.parametrize("keepdim", [False, True])
def test_norm_inf_and_zero(p, dim, keepdim):
    assert repr(_norm_case(gc, p, dim, keepdim)) == repr(_norm_case(torch, p, dim, keepdim))


@pytest.mark.parametrize("p", [INF, -INF, 0], ids=["inf", "-inf", "0"])
@pytest.mark.parametrize("dim", [None, 0, 1])
def test_norm_of_empty(p, dim):
    _same_outcome(lambda m: m.zeros(0, 3).norm(p=p, dim=dim))


def test_normalize_and_clip_grad_with_inf_and_zero_norms():
    for p in (INF, 0.0, 2.0):
        _same_outcome(lambda m, p=p: m.nn.functional.normalize(m.tensor([[1.0, -4.0], [2.0, 1.0]]), p=p))
    for norm_type in (INF, -INF, 0.0):
        for foreach in (None, False):
            _same_outcome(
                lambda m, norm_type=norm_type, foreach=foreach: m.nn.utils.get_total_norm(
                    [m.tensor([1.0, -4.0]), m.tensor([2.0, 0.0])], norm_type=norm_type, foreach=foreach
                )
            )
            _same_outcome(
                lambda m, norm_type=norm_type, foreach=foreach: m.nn.utils.get_total_norm(
                    [m.zeros(0)], norm_type=norm_type, foreach=foreach
                )
            )

    def clip(m):
        w = m.nn.Parameter(m.tensor([3.0, -4.0, 0.5]))
        w.grad = m.tensor([3.0, -4.0, 0.5])
        return m.nn.utils.clip_grad_norm_(w, 1.0, norm_type=INF), w.grad

    _same_outcome(clip)


def _graph_names(t):
    """The class names of the nodes of ``t``'s graph, depth first (the order of next_functions)."""
    names, stack, seen = [], [t.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        names.append(type(node).__name__)
        stack.extend(n for n, _ in reversed(node.next_functions))
    return names


@pytest.mark.parametrize("name", ["cummax", "cummin"])
@pytest.mark.parametrize("dim", [1, -2])
def test_cummax_cummin_double_backward_is_scatter_add(name, dim):
    data = np.random.default_rng(0).standard_normal((3, 4))
    results = []
    for m in (torch, gc):
        x = m.tensor(data, requires_grad=True)
        values = getattr(x, name)(dim).values
        (g,) = m.autograd.grad((values**2).sum(), x, create_graph=True)
        (h,) = m.autograd.grad(g.sum(), x)
        results.append((_graph_names(g), g.tolist(), h.tolist()))
    assert results[0] == results[1]


@pytest.mark.parametrize("name", ["asin", "acos"])
def test_asin_acos_double_backward_records_rsqrt(name):
    data = np.array([-0.7, 0.1, 0.5], dtype=np.float32)
    results = []
    for m in (torch, gc):
        x = m.tensor(data, requires_grad=True)
        (g,) = m.autograd.grad(getattr(x, name)().sum(), x, create_graph=True)
        (h,) = m.autograd.grad(g.sum(), x)
        results.append((_graph_names(g), g.detach().numpy(), h.numpy()))
    assert results[0][0] == results[1][0]
    np.testing.assert_array_equal(results[1][1], results[0][1])
    np.testing.assert_allclose(results[1][2], results[0][2], rtol=1e-6)  # (rsqrt's backward: allclose)


def test_legacy_type_names():
    names = ["torch." + n for n in ("Bool", "Byte", "Char", "Short", "Int", "Long", "Half", "Float", "Double")]
    names = [n + "Tensor" for n in names]
    for name in names:
        _same_outcome(lambda m, name=name: m.ones(2).type(name).type())
        _same_outcome(lambda m, name=name: m.ones(2).type(getattr(m, name[6:])).dtype)
        _same_outcome(lambda m, name=name: repr(getattr(m, name[6:])))
        _same_outcome(lambda m, name=name: isinstance(m.zeros(1).type(name), getattr(m, name[6:])))


@pytest.mark.parametrize("dtype", ["float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"])
def test_grad_dtype_error_names_the_cpp_type(dtype):
    def assign(m):
        x = m.zeros(2, requires_grad=True)
        x.grad = m.zeros(2, dtype=getattr(m, dtype))

    _same_outcome(assign)
