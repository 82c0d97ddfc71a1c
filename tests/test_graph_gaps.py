"""Graph, saved-tensor, interop and parser gaps, each next to PyTorch.

Every test runs one program under torch and under gradlens_core and compares what a user
can observe: node names and edges, versions, values, and the class and first sentence of
errors. (The programs take the module as their argument: ``program(torch)``.)
"""

from __future__ import annotations

import pytest

import gradlens_core

torch = pytest.importorskip("torch")


def _both(program):
    """``program(mod)`` under torch and under gradlens_core."""
    return program(torch), program(gradlens_core)


def outcome(fn):
    """``fn()``'s repr-free result, or the error's class and first line."""
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - the error is the outcome compared
        return (type(e).__name__, str(e).split("\n")[0])


def graph(t) -> list:
    """The node names of ``t``'s graph, depth first (``next_functions`` in order)."""
    names, stack = [], [t.grad_fn]
    while stack:
        node = stack.pop()
        if node is None:
            names.append(None)
            continue
        names.append(node.name())
        stack.extend(n for n, _ in reversed(node.next_functions))
    return names


# ----------------------------------------------------------------------------- 1. dtype= casts


@pytest.mark.parametrize(
    "call",
    [
        lambda m, x: m.softmax(x, 1, dtype=m.float64),
        lambda m, x: m.log_softmax(x, 0, dtype=m.float64),
        lambda m, x: x.softmax(-1, dtype=m.float64),
        lambda m, x: m.nn.functional.log_softmax(x, dim=1, dtype=m.float64),
        lambda m, x: m.softmax(x.half(), 1, dtype=m.float32),
        lambda m, x: m.softmax(x, 1, dtype=m.float32),  # the same dtype: no cast
        lambda m, x: x.sum(dtype=m.float64),  # the reductions cast inside their kernel
        lambda m, x: x.cumsum(1, dtype=m.float64),
        lambda m, x: x.mean(1, dtype=m.float64),
        lambda m, x: x.prod(1, dtype=m.float64),
    ],
)
def test_a_dtype_argument_records_the_cast_where_torch_does(call):
    def program(m):
        x = m.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 7.5]], requires_grad=True)
        y = call(m, x)
        g = m.arange(y.numel(), dtype=y.dtype).reshape(y.shape)
        (y * g).sum().backward()
        return graph(y), str(y.dtype), y.flatten().tolist(), x.grad.flatten().tolist()

    ref, got = _both(program)
    assert got[:2] == ref[:2]
    assert got[2] == pytest.approx(ref[2], rel=1e-3)
    assert got[3] == pytest.approx(ref[3], rel=1e-3, abs=1e-6)


def test_softmax_dtype_of_an_integer_tensor_and_its_error():
    def program(m):
        x = m.tensor([1, 2, 3])
        y = m.softmax(x, 0, dtype=m.float64)
        return y.tolist(), str(y.dtype), outcome(lambda: m.softmax(x.float(), 0, dtype=m.int64))

    ref, got = _both(program)
    assert got[1:] == ref[1:]
    assert got[0] == pytest.approx(ref[0])


# ----------------------------------------------------------------------------- 3. inference tensors


def test_inference_tensors_track_no_version():
    def program(m):
        with m.inference_mode():
            i = m.ones(3)
            j = i[1:]
            i.add_(1)
            d_in = i.detach()
            inside = [outcome(lambda: i._version), outcome(lambda: d_in._version), j._base is None]
        a = m.ones(3)
        with m.inference_mode():
            v = a[1:]  # a view of a normal tensor is a normal tensor
            v.mul_(2)
            inside += [v.is_inference(), v._version, a._version]
        d = i.detach()
        dd = i.data
        out = [
            outcome(lambda: i._version),
            outcome(lambda: j._version),
            j.is_inference(),
            j._base is None,
            j._is_view(),
            outcome(lambda: i.view(3)._version),
            d.is_inference(),
            d._version,
            outcome(lambda: d.add_(1).tolist()),
            d._version,
            dd.is_inference(),
            outcome(lambda: dd.mul_(2).tolist()),
            dd._version,
            d.detach()._version,
            outcome(lambda: d.view(3)._version),
            outcome(lambda: d.requires_grad_()),
            outcome(lambda: (m.ones(3, requires_grad=True) * d).sum()),
            outcome(lambda: i.zero_()),
            (i + 1)._version,
            i.tolist(),
        ]
        with m.inference_mode():
            d.add_(1)  # inside the mode, the alias's edit is not counted
            out += [d._version, outcome(lambda: d.detach()._version)]
        return inside, out

    ref, got = _both(program)
    assert got == ref
