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


# ----------------------------------------------------------------------------- 2. saved-tensor hooks


def test_saved_tensors_hooks_pack_when_saved_and_unpack_when_read():
    def program(m):
        log = []
        x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)

        def pack(t):
            log.append(("pack", t is x, t.requires_grad, t.grad_fn is None, m.is_grad_enabled()))
            return ("packed", t)

        def unpack(p):
            log.append(("unpack", p[0]))
            return p[1]

        with m.autograd.graph.saved_tensors_hooks(pack, unpack):
            y = x.exp()
            z = x * x
            w = x * 2  # a Python number is not packed
            s = (x * 1).sin()
        log.append(len(log))
        y_seen = [y.grad_fn._saved_result is y, y.grad_fn._saved_result.grad_fn is y.grad_fn]
        x_seen = [z.grad_fn._saved_self is x, z.grad_fn._saved_self.requires_grad, z.grad_fn._saved_self.is_leaf]
        with m.no_grad():
            x.mul_(2)  # no version check through hooks
        (y.sum() + z.sum() + w.sum() + s.sum()).backward()
        return (
            log,
            y_seen,
            x_seen,
            type(y.grad_fn._raw_saved_result).__name__,
            x.grad.tolist(),
            outcome(lambda: y.grad_fn._saved_result),
        )

    ref, got = _both(program)
    assert got[:4] == ref[:4]
    assert got[4] == pytest.approx(ref[4])
    assert got[5] == ref[5]


def test_saved_tensors_hooks_nest_refuse_and_feed_create_graph():
    def program(m):
        inner, out = [], []
        a = m.tensor([1.0, 2.0], requires_grad=True)
        graph = m.autograd.graph
        with graph.saved_tensors_hooks(lambda t: t, lambda t: t):
            with graph.saved_tensors_hooks(lambda t: inner.append(1) or t * 1, lambda t: t):
                b = a.sin()
            a.cos()
        out.append(len(inner))
        (g,) = m.autograd.grad(b.sum(), a, create_graph=True)
        out.append([g.grad_fn.name(), [n.name() if n else None for n, _ in g.grad_fn.next_functions]])
        g.sum().backward()
        out.append(a.grad.tolist())
        with graph.saved_tensors_hooks(lambda t: 1, lambda p: p):
            c = a.sin()
        out.append(outcome(lambda: c.grad_fn._saved_self))
        out.append(outcome(lambda: c.sum().backward()))
        with graph.saved_tensors_hooks(lambda t: t, lambda p: p.double()):
            d = a.sin()
        out.append(str(d.grad_fn._saved_self.dtype))
        a.grad = None
        d.sum().backward()
        out.append([a.grad.tolist(), str(a.grad.dtype)])

        def modifies(t):
            t.mul_(1)
            return t

        def save_with(pack):
            with graph.saved_tensors_hooks(pack, lambda t: t):
                (a * 1).sin()

        out.append(outcome(lambda: save_with(modifies)))
        out.append(outcome(lambda: graph.saved_tensors_hooks(None, None).__enter__()))
        with graph.disable_saved_tensors_hooks("no hooks here"):
            out.append(outcome(lambda: save_with(lambda t: t)))
        with graph.save_on_cpu():
            e = a.exp()
        out.append([e.grad_fn._saved_result is e, e.grad_fn._saved_result.tolist()])
        return out

    ref, got = _both(program)
    assert got[:2] == ref[:2]
    assert got[2] == pytest.approx(ref[2])
    assert got[3:6] == ref[3:6]
    assert got[6][0] == pytest.approx(ref[6][0]) and got[6][1] == ref[6][1]
    assert got[7:10] == ref[7:10]
    assert got[10][0] == ref[10][0] and got[10][1] == pytest.approx(ref[10][1])


def test_register_hooks_on_a_raw_saved_tensor():
    def program(m):
        log, out = [], []
        x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        b = x.cos()
        r = b.grad_fn._raw_saved_self

        def pack(t):
            log.append(("pack", t is x, t.requires_grad, t._version))
            return t * 10

        def unpack(p):
            log.append("unpack")
            return p / 10

        out.append(r.register_hooks(pack, unpack))
        out.append(outcome(lambda: r.register_hooks(lambda t: t, lambda t: t)))
        out.append(b.grad_fn._saved_self.tolist())
        h = x.exp()
        rr = h.grad_fn._raw_saved_result
        rr.register_hooks(lambda t: log.append(("out", t is h, t.grad_fn is None, t.requires_grad)) or t, lambda t: t)
        with m.no_grad():
            h.mul_(2)
        out.append(h.grad_fn._saved_result.tolist())  # the edited values: no version check
        for args in [(None, lambda t: t), (lambda t: t, None), (lambda t: t,), (1, 2)]:
            out.append(outcome(lambda args=args: x.sin().grad_fn._raw_saved_self.register_hooks(*args))[0])
        c = x.cos()
        c.sum().backward()
        out.append(outcome(lambda: c.grad_fn._raw_saved_self.register_hooks(lambda t: t, lambda t: t)))
        loss = m.nn.functional.nll_loss(m.ones(2, 3, requires_grad=True), m.tensor([0, 2]))
        out.append(outcome(lambda: loss.grad_fn._raw_saved_weight.register_hooks(lambda t: t, lambda t: t)))
        b.sum().backward()
        out.append(x.grad.tolist())
        return log, out

    ref, got = _both(program)
    assert got[0] == ref[0]
    assert got[1][:2] == ref[1][:2]
    assert got[1][2] == pytest.approx(ref[1][2])
    assert got[1][3] == pytest.approx(ref[1][3])
    assert got[1][4:-1] == ref[1][4:-1]
    assert got[1][-1] == pytest.approx(ref[1][-1])


# ----------------------------------------------------------------------------- 5. CopySlices' release


def test_one_backward_through_an_edit_on_a_view_and_its_create_graph_grad():
    def program(m):
        x = m.tensor([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]], requires_grad=True)
        y = x * 1
        y[:, 1:3].exp_()
        (g,) = m.autograd.grad(y.sum(), x, create_graph=True)
        out = [outcome(lambda: m.autograd.backward([y.sum(), g.sum()]))]
        out.append(x.grad.flatten().tolist())
        out.append(outcome(lambda: y.sum().backward()))  # freed now
        z = x * 1
        z[0].sin_()
        z.sum().backward()
        out.append(outcome(lambda: z.sum().backward()))
        return out

    ref, got = _both(program)
    assert got[0] == ref[0] and got[2:] == ref[2:]
    assert got[1] == pytest.approx(ref[1])


# ----------------------------------------------------------------------------- 4. saved indices


def test_saved_indices_are_the_index_tensors_passed():
    def program(m):
        x = m.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
        mask = x > 2
        rows = m.tensor([1, 0, 1])
        cols = m.tensor([2, 2, 0], dtype=m.int32)
        y = x * 1
        out = []
        for node in [
            x[mask].grad_fn,
            x[rows].grad_fn,
            x[rows, cols].grad_fn,
            x[:, m.tensor([True, False, True])].grad_fn,
            x[[1, 0]].grad_fn,
        ]:
            out.append([i is mask or i is rows or i is cols or (i is None and "None") for i in node._saved_indices])
        y[mask] = m.tensor(0.0)
        out.append([i is mask for i in y.grad_fn._saved_indices])
        z = (x * 1).index_put_((rows, cols), m.tensor([1.0, 2.0, 3.0]), accumulate=True)
        out.append([i is rows or i is cols for i in z.grad_fn._saved_indices])
        node = x[rows].grad_fn
        node_indices = node._saved_indices
        out.append(node_indices[0] is node._saved_indices[0])
        return out

    ref, got = _both(program)
    assert got == ref


# ----------------------------------------------------------------------------- 6. numpy arrays as arguments


def _calls_with_arrays(m):
    import numpy as np

    x = m.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    v = m.tensor([1.0, 2.0, 3.0])
    a = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    i1, i2 = np.array(1), np.array(2, dtype=np.int8)
    return [
        # refused: a Tensor or Number parameter takes no numpy array
        lambda: v.clone().copy_(a),
        lambda: m.cat([v, a]),
        lambda: m.cat((a, v), dim=0),
        lambda: m.cat([v, [1.0]]),
        lambda: m.stack([v, a]),
        lambda: m.matmul(v, a),
        lambda: v.matmul(a),
        lambda: m.matmul(a, v),
        lambda: m.isclose(v, a),
        lambda: v.isclose(a, atol=1e-3),
        lambda: v.expand_as(np.ones((2, 3))),
        lambda: m.full((2,), np.array(3.0)),
        lambda: m.full((2,), np.array(3), dtype=m.float64),
        lambda: m.arange(np.array(3)),
        lambda: m.arange(np.array(3.0), dtype=m.float32),
        lambda: m.arange(0, np.array(3)),
        lambda: x.view(np.array(6.0)),
        lambda: x.view(np.array([6])),
        lambda: x.transpose(np.array(0), 1),
        lambda: x.select(np.array(0), 1),
        lambda: x.unsqueeze(i1),
        # taken: a SymInt (or an int list's element) reads a 0-d integer array with __index__
        lambda: x.select(0, i1),
        lambda: m.select(x, 1, i2),
        lambda: x.view(np.array(3), 2),
        lambda: x.view([np.array(3), 2]),
        lambda: x.view((3, np.array(2))),
        lambda: x.reshape(np.array(6)),
        lambda: m.reshape(x, (np.array(6),)),
        lambda: v.expand(np.array(2), 3),
        lambda: m.zeros(np.array(2)),
        lambda: m.ones(2, np.array(2)),
        lambda: m.zeros([np.array(2), 1]),
        lambda: m.full((np.array(2),), 1.0),
        lambda: x.narrow(1, i1, i1),
        lambda: x.topk(i1).values,
        lambda: x.permute(i1, 0),
        lambda: x.repeat(np.array(2), 1),
        lambda: v @ m.tensor(a),  # (an operator is not a parser call)
        # == reads an array of a dtype gradlens_core lacks as PyTorch does
        lambda: v == np.array([1, 2, 4], dtype=np.uint16),
        lambda: v == np.array([1, 2, 3], dtype=np.uint64),
        lambda: v.double() == np.array([0.1, 2, 3], dtype=np.complex64),
        lambda: m.tensor(2.0) == np.array([0.5, 2], dtype=np.complex128),
        lambda: m.tensor([1, 2, 3]) == np.array([1, 2, 3], dtype=np.uint16),
        lambda: m.tensor(2) == np.array([1, 2, 3], dtype=np.uint32),
        lambda: m.tensor([True, False]) == np.array(1, dtype=np.uint16),
        lambda: v == np.array([[1], [2]], dtype=np.uint16),
        lambda: v == np.array([1, 2], dtype=np.uint16),
    ]


def test_numpy_arrays_as_arguments_as_pytorchs_parser_reads_them():
    def program(m):
        out = []
        for call in _calls_with_arrays(m):
            r = outcome(call)
            out.append(r if isinstance(r, tuple) else (str(r.dtype), r.tolist()))
        return out

    ref, got = _both(program)
    assert len(got) == len(ref)
    for i, (g, r) in enumerate(zip(got, ref)):
        assert g == r, i


# ----------------------------------------------------------------------------- 7. unknown keywords


@pytest.mark.parametrize(
    "call",
    [
        lambda m, x: m.mm(x, x, foo=1),
        lambda m, x: m.bmm(x[None], x[None], foo=1),
        lambda m, x: m.addmm(x, x, x, foo=1),
        lambda m, x: m.where(x > 0, x, x, foo=1),
        lambda m, x: x.mm(x, foo=1),
        lambda m, x: x[None].bmm(x[None], bar=2),
        lambda m, x: x.mm("a"),
    ],
)
def test_an_unknown_keyword_gets_the_parsers_text(call):
    def program(m):
        return outcome(lambda: call(m, m.ones(2, 2)))

    ref, got = _both(program)
    assert got == ref


def _packs_seen_per_thread(t):
    """Which threads' saves the main thread's saved_tensors_hooks pack (PyTorch: its own only)."""
    import threading

    packed = []
    x = t.ones(2, requires_grad=True)

    def save_in_other_thread():
        (x * x).sum()

    with t.autograd.graph.saved_tensors_hooks(
        lambda v: packed.append(threading.current_thread().name) or v, lambda v: v
    ):
        worker = threading.Thread(target=save_in_other_thread, name="worker")
        worker.start()
        worker.join()
        (x * x).sum()
    return sorted(set(packed))


def test_saved_tensors_hooks_are_per_thread():
    torch = pytest.importorskip("torch")
    assert _packs_seen_per_thread(gradlens_core) == _packs_seen_per_thread(torch) == ["MainThread"]
