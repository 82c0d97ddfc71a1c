"""Reliability: no leaks, traces always closed, threads, and graphs too deep for recursion.

* Tensors made inside a trace die when the user drops them; a trace keeps records, never tensors.
* 1,000 traced cells in an in-process IPython shell (history off) add less than 50 MB.
* ``%unload_ext gradlens`` leaves no listener and no cell hook behind.
* A trace left open by an exception (in a ``with`` block, a traced cell, a script) is closed.
* Grad mode is thread-local, as in PyTorch; a trace while four threads run ops neither
  crashes nor mixes up their records.
* A 100,000-node graph: backward, tracing, ``why_none``, hazards, the report, the SVG, the
  widget and the GraphML/JSON exports raise no ``RecursionError``.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import threading
import weakref

import networkx as nx
import pytest

import gradlens
import gradlens_core
import gradlens_core as torch
from gradlens_core import _events


@pytest.fixture(autouse=True)
def _no_listener_left():
    before = _events.listener_count()
    yield
    assert _events.listener_count() == before, "a gradlens listener was left subscribed"


# ----------------------------------------------------------------------------- leaks


def _tutorial(t, failing_backward: bool):
    """The seed tutorial's programs, plus retain_grad, numpy and a rebinding; returns the tensors made."""
    a = t.tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = a.sigmoid()
    c = out.detach()
    c.zero_()  # breaks backward
    if failing_backward:
        try:
            out.sum().backward()
        except RuntimeError:
            pass
    b = t.tensor([1.0, 2.0, 3.0], requires_grad=True)
    out2 = b.sigmoid()
    d = out2.data
    d.zero_()  # silently wrong
    out2.sum().backward()
    w = b.exp()
    w.retain_grad()
    (w * 2).sum().backward()
    arr = b.detach().numpy()
    e = t.from_numpy(arr) * 2
    with t.no_grad():
        f = a * 2
    b = b - 0.1 * b.grad  # rebound
    return [a, out, c, b, out2, d, w, e, f]


def _survivors(trace: bool, collect: bool, failing_backward: bool = False) -> list:
    """Which of the tutorial's tensors are still alive after the user dropped them (by position)."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        tr = gradlens.trace() if trace else None
        if tr is not None:
            tr.start()
        refs = [weakref.ref(x) for x in _tutorial(gradlens_core, failing_backward)]
        if tr is not None:
            tr.stop()
            assert tr.hazards() and tr.cutoffs(), "the trace saw nothing: the test would be vacuous"
        if collect:
            gc.collect()
        return [i for i, r in enumerate(refs) if r() is not None]
    finally:
        if was_enabled:
            gc.enable()


@pytest.mark.parametrize("failing_backward", [False, True], ids=["", "after_a_failed_backward"])
def test_tensors_made_in_a_trace_die_when_dropped(failing_backward):
    # the trace (kept alive here, as a user would keep it) holds no tensor
    assert _survivors(trace=True, collect=True, failing_backward=failing_backward) == []


@pytest.mark.parametrize("failing_backward", [False, True], ids=["", "after_a_failed_backward"])
def test_a_trace_adds_no_reference_to_user_tensors(failing_backward):
    # Without the cycle collector some tensors live on in reference cycles of the engine
    # (an output saved by its own node); tracing must not keep any other tensor alive.
    traced = _survivors(trace=True, collect=False, failing_backward=failing_backward)
    assert traced == _survivors(trace=False, collect=False, failing_backward=failing_backward)


def test_tensors_dropped_while_the_trace_listens_die():
    refs = []
    with gradlens.trace() as tr:
        for _ in range(50):
            x = torch.ones(3, requires_grad=True)
            y = (x * 2).sigmoid()
            y.detach().zero_()
            refs += [weakref.ref(x), weakref.ref(y)]
        del x, y
        gc.collect()
        alive_inside = [r for r in refs if r() is not None]
    assert alive_inside == []
    assert len(tr.hazards()) == 50  # the records outlive the tensors


def test_records_follow_live_tensors_not_steps():
    with gradlens.trace() as tr:
        for _ in range(2000):
            x = torch.ones(3, requires_grad=True)
            loss = (x * 2).sigmoid().sum()
            loss.backward()
    gc.collect()
    assert len(tr.recorder.records) < 50, len(tr.recorder.records)
    assert len(tr.recorder.node_records) < 50, len(tr.recorder.node_records)


def test_a_returned_function_s_tensors_die_while_the_trace_listens():
    refs = []

    def step():
        w = torch.ones(1000, requires_grad=True)
        y = w * 2
        refs.extend((weakref.ref(w), weakref.ref(y)))

    with gradlens.trace():
        step()  # its frame (with w and y in it) is where the trace last found the user's line
        alive = [r() is not None for r in refs]
    assert alive == [False, False]


def _sin_chain(x, n=100):
    y = x
    for _ in range(n):
        y = (y * 1.01).sin()
    return y.sum()


def test_intermediates_dead_before_anyone_asks_get_no_record():
    """What an op makes is journaled: a tensor (or node) that died before an event or a query
    needed it never gets a record or a graph id."""

    def step(x):
        _sin_chain(x).backward()

    with gradlens.trace() as tr:
        x = torch.ones(3, requires_grad=True)
        step(x)
    rec = tr.recorder
    assert x.grad is not None
    assert rec.dropped >= 200  # every y * 1.01 and every y
    assert rec._count < 10  # graph ids ever handed out (the eager recorder made 400)


def test_data_flow_through_unrecorded_intermediates_survives():
    # every y dies unrecorded (each y * 1.01 lives on, saved by sin for backward)
    with gradlens.trace() as tr:
        x = torch.ones(3, requires_grad=True)
        loss = _sin_chain(x)
    rec = tr.recorder
    flows = nx.subgraph_view(tr.graph, filter_edge=lambda u, v, k: k == "flow")
    assert nx.has_path(flows, rec.record_of(x).gid, rec.record_of(loss).gid)


def test_views_keep_what_they_view_when_recorded_late():
    # A view's alias is journaled with it: w.t() in a loop dies unrecorded, while a view that
    # lives (also a view of a view whose middle view died) still knows it is a view of its base.
    w = torch.ones(2, 3, requires_grad=True)
    with gradlens.trace() as tr:
        for _ in range(50):
            (w.t() * 2).sum()
        base = w * 1
        v = base.t()[0]
        vv = base[1]
    rec = tr.recorder
    assert rec.internal_errors == []
    assert rec._count < 20  # the 50 w.t() views never got a record
    kept, middle = rec.record_of(v), rec.record_of(vv)
    assert (kept.alias_kind, middle.alias_kind) == ("view", "view")
    assert middle.alias_of == (rec.record_of(base).gid, "view")
    aliases = [(u, d["alias"]) for u, x, d in tr.graph.in_edges(middle.gid, data=True) if "alias" in d]
    assert aliases == [(rec.record_of(base).gid, "view")]


def test_old_traces_are_freed():
    first = gradlens.trace()
    with first:
        x = torch.ones(2, requires_grad=True) * 2
    ref = weakref.ref(first)
    del first, x
    with gradlens.trace():  # the most recent trace is kept for gradlens.why_none(); older ones are not
        pass
    gc.collect()
    assert ref() is None


def test_gc_while_the_graph_is_built():
    """A cyclic-garbage collection in the middle of ``recorder.graph`` drops dead records (weakref
    callbacks): building the graph must not iterate over the live dicts."""
    failures = []
    threshold = gc.get_threshold()
    try:
        for offset in range(5, 400, 30):  # collect after `offset` more allocations: somewhere inside the build
            gc.collect()
            gc.disable()
            with gradlens.trace() as tr:
                keep = []
                for _ in range(100):
                    a = torch.ones(2, requires_grad=True)
                    s = a.sigmoid()  # s and its SigmoidBackward0 form a cycle: freed only by the collector
                    keep.append(a * 2)
                del a, s
            gc.set_threshold(gc.get_count()[0] + offset, threshold[1], threshold[2])
            gc.enable()
            try:
                assert tr.recorder.graph.number_of_nodes() >= 0
            except RuntimeError as exc:
                failures.append(f"offset {offset}: {exc}")
            gc.set_threshold(*threshold)
    finally:
        gc.set_threshold(*threshold)
        gc.enable()
    assert not failures, failures[:3]


# ----------------------------------------------------------------------------- traces closed after exceptions


def test_with_block_exception_closes_the_trace():
    tr = gradlens.trace()
    with pytest.raises(ValueError, match="boom"):
        with tr:
            torch.ones(2, requires_grad=True).sigmoid()
            raise ValueError("boom")
    assert not tr.active
    assert _events.listener_count() == 0
    assert _error_name(tr.error) == "ValueError"
    assert str(tr.report())


def test_backward_error_inside_a_trace_closes_it():
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        with gradlens.trace() as tr:
            a = torch.tensor([1.0, 2.0], requires_grad=True)
            out = a.sigmoid()
            out.detach().zero_()
            out.sum().backward()
    assert not tr.active and _events.listener_count() == 0
    assert [h.kind for h in tr.hazards()] == ["breaks_backward"]
    assert len(tr.failures()) == 1


def test_keyboard_interrupt_closes_the_trace():
    with pytest.raises(KeyboardInterrupt):
        with gradlens.trace() as tr:
            torch.ones(2, requires_grad=True) * 2
            raise KeyboardInterrupt
    assert not tr.active and _events.listener_count() == 0


def test_exception_in_a_hook_during_traced_backward_closes_the_trace():
    def bad_hook(g):
        raise ZeroDivisionError("hook failed")

    with pytest.raises(ZeroDivisionError):
        with gradlens.trace() as tr:
            a = torch.ones(2, requires_grad=True)
            b = a * 3
            b.register_hook(bad_hook)
            b.sum().backward()
    assert not tr.active and _events.listener_count() == 0
    str(tr.report())


def test_script_that_raises_leaves_no_listener(tmp_path, capsys):
    from gradlens.cli import main

    script = tmp_path / "boom.py"
    script.write_text(
        "import gradlens_core as torch\na = torch.ones(2, requires_grad=True)\nb = a.detach()\nraise SystemError('x')\n"
    )
    status = main(["run", str(script), "--json", str(tmp_path / "out.json"), "--html", str(tmp_path / "out.html")])
    assert status == 1
    assert _events.listener_count() == 0
    assert json.loads((tmp_path / "out.json").read_text())["cutoffs"]
    capsys.readouterr()


# ----------------------------------------------------------------------------- the IPython extension


@pytest.fixture
def ip(shell):
    from gradlens.trace import clear_last

    shell.run_line_magic("load_ext", "gradlens")
    shell.run_cell("import gradlens_core as torch")
    yield shell
    shell.run_line_magic("unload_ext", "gradlens")
    shell.reset(new_session=False)
    clear_last()
    gc.collect()


def run(ip, cell: str):
    from IPython.utils.capture import capture_output

    with capture_output() as io:
        result = ip.run_cell(cell, store_history=False)
    return result, io


def _ours(ip) -> list:
    from gradlens.magics import CellTracing

    return [
        cb
        for kind in ("pre_run_cell", "post_run_cell")
        for cb in ip.events.callbacks[kind]
        if isinstance(getattr(cb, "__self__", None), CellTracing)
    ]


TUTORIAL_CELL = """\
a = torch.tensor([1, 2, 3.], requires_grad=True)
out = a.sigmoid()
c = out.detach()
c.zero_()
out.sum().backward()
"""


def test_unload_ext_leaves_no_listener(ip):
    run(ip, "%gradlens on")
    run(ip, "x = torch.ones(2, requires_grad=True)\ny = x.detach() * 2")
    result, _ = run(ip, TUTORIAL_CELL)  # raises inside a traced cell
    assert isinstance(result.error_in_exec, RuntimeError)
    run(ip, "%%gradlens trace\n" + TUTORIAL_CELL)
    ip.run_line_magic("unload_ext", "gradlens")
    assert _events.listener_count() == 0
    assert _ours(ip) == []
    result, _ = run(ip, "n = __import__('gradlens_core')._events.listener_count()\nz = torch.ones(2) * 2")
    result.raise_error()
    assert ip.user_ns["n"] == 0
    ip.run_line_magic("load_ext", "gradlens")  # the fixture unloads again


@pytest.mark.parametrize(
    "cell",
    [
        TUTORIAL_CELL,  # backward raises
        "x = (",  # a syntax error
        "raise KeyboardInterrupt",
        "%%no_such_magic\nx = 1",
        "import sys; sys.exit(3)",
    ],
    ids=["backward_error", "syntax_error", "keyboard_interrupt", "unknown_cell_magic", "sys_exit"],
)
@pytest.mark.parametrize("how", ["on", "trace"])
@pytest.mark.filterwarnings("ignore:To exit:UserWarning")  # IPython's answer to sys.exit() in a cell
def test_a_cell_that_raises_leaves_no_listener(ip, cell, how):
    if how == "on":
        run(ip, "%gradlens on")
        run(ip, cell)
    else:
        run(ip, "%%gradlens trace\n" + cell)
    assert _events.listener_count() == 0
    result, _ = run(ip, "n = __import__('gradlens_core')._events.listener_count()")
    result.raise_error()
    assert ip.user_ns["n"] == (1 if how == "on" else 0)  # `on` listens only while a cell runs


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


PLAIN_CELL = "x = torch.ones(4, 3, requires_grad=True)\ny = (x @ x.t()).sum(1)\ny.sum().backward()\n"
CELLS = {
    # every `%%gradlens trace` cell shows the findings widget
    "trace": [
        TUTORIAL_CELL,
        "w = torch.tensor([1., 2., 3.], requires_grad=True)\nloss = ((w * 2).sigmoid() * w.detach()).sum()\n",
        PLAIN_CELL,
    ],
    # under `on`, a cell shows the widget when it adds findings: one cell in five here
    "on": [TUTORIAL_CELL, PLAIN_CELL, PLAIN_CELL, PLAIN_CELL, PLAIN_CELL],
}


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc to read the resident set size")
@pytest.mark.parametrize("how", ["trace", "on"])
def test_1000_traced_cells_add_less_than_50_mb(ip, how):
    """Default settings (the findings widget is shown). Fails as soon as the budget is exceeded."""
    prefix = "%%gradlens trace\n" if how == "trace" else ""
    if how == "on":
        run(ip, "%gradlens on")

    def cells(n):
        for i in range(n):
            result, _ = run(ip, prefix + CELLS[how][i % len(CELLS[how])])
            if not isinstance(result.error_in_exec, RuntimeError):
                result.raise_error()

    cells(30)  # warm up: imports, caches, first widgets
    gc.collect()
    start = _rss_mb()
    for done in range(100, 1001, 100):
        cells(100)
        gc.collect()
        grown = _rss_mb() - start
        assert grown < 50, f"{done} cells ({how}) added {grown:.0f} MB"


# ----------------------------------------------------------------------------- threads


@pytest.fixture(params=["gradlens_core", "torch"])
def module(request):
    if request.param == "torch":
        return pytest.importorskip("torch")
    return gradlens_core


def test_grad_mode_is_thread_local(module):
    entered, release = threading.Event(), threading.Event()
    seen = {}

    def worker():
        with module.no_grad():
            entered.set()
            release.wait(5)
            seen["inside"] = module.is_grad_enabled()
            seen["records"] = (module.ones(2, requires_grad=True) * 2).requires_grad

    t = threading.Thread(target=worker)
    t.start()
    assert entered.wait(5)
    main_enabled = module.is_grad_enabled()
    main_records = (module.ones(2, requires_grad=True) * 2).grad_fn is not None
    release.set()
    t.join(5)
    assert main_enabled and main_records
    assert seen == {"inside": False, "records": False}


def test_new_threads_start_with_grad_mode_on(module):
    seen = []

    def worker():
        seen.append(module.is_grad_enabled())
        with module.set_grad_enabled(False):
            seen.append(module.is_grad_enabled())

    with module.no_grad():
        t = threading.Thread(target=worker)
        t.start()
        t.join(5)
        assert not module.is_grad_enabled()
    assert module.is_grad_enabled()
    assert seen == [True, False]


WORKER = """\
def work(torch, n, failures, shape):
    for i in range(n):
        a = torch.ones(shape, requires_grad=True)
        out = a.sigmoid()
        c = out.detach()
        c.zero_()
        with torch.no_grad():
            d = out * 2
        try:
            out.sum().backward()
        except RuntimeError:
            failures.append(i)
        e = (a * 3).sum()
        e.backward()
"""


def test_tracing_while_four_threads_run_ops():
    n = 60
    errors: list = []
    failures = {k: [] for k in range(4)}
    barrier = threading.Barrier(4)

    def thread_main(k):
        try:
            ns: dict = {}
            exec(compile(WORKER, f"<worker-{k}>", "exec"), ns)
            barrier.wait(5)
            ns["work"](torch, n, failures[k], (k + 2,))
        except BaseException as exc:
            errors.append((k, exc))

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often: interleave the recorder's work
    try:
        with gradlens.trace() as tr:
            threads = [threading.Thread(target=thread_main, args=(k,)) for k in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
    finally:
        sys.setswitchinterval(old)
    assert not errors, errors
    assert all(len(f) == n for f in failures.values()), {k: len(f) for k, f in failures.items()}
    rec = tr.recorder
    assert rec.internal_errors == []
    shape_of_file = {f"<worker-{k}>": (k + 2,) for k in range(4)}
    # every record is attributed to the thread (file) that made it: shapes tell them apart
    for r in list(rec.records.values()):
        if r.file in shape_of_file and len(r.shape):
            assert tuple(r.shape) == shape_of_file[r.file], (r.gid, r.file, r.line, r.shape, r.op)
    hazards = tr.hazards()
    per_file = {f: 0 for f in shape_of_file}
    for h in hazards:
        assert h.kind == "breaks_backward" and h.node == "SigmoidBackward0", h
        per_file[h.file] += 1
        for gid in (h.tensor, h.saved_tensor):
            assert tuple(rec.records[gid].shape) == shape_of_file[h.file], (h, rec.records[gid].file)
    assert per_file == {f: n for f in shape_of_file}
    for kind, _line, src, dst, file, _op in rec.cuts:
        assert kind in ("detach", "no_grad")
        assert tuple(rec.records[src].shape) == tuple(rec.records[dst].shape) == shape_of_file[file]
    failures = tr.failures()
    # each failed backward is the one at line 10 of its worker, explained by its own hazard
    assert len(failures) == 4 * n, len(failures)
    assert {f.line for f in failures} == {10}
    assert all(f.hazard is not None and f.hazard.node == "SigmoidBackward0" for f in failures)
    str(tr.report())


def test_a_saved_tensor_keeps_its_thread_s_line_when_another_thread_runs_in_between():
    # The recorder takes a saved tensor's line from the next event of the same thread (the
    # op's result): here thread B runs a whole op between thread A's save and A's result.
    x = torch.ones(3, requires_grad=True)
    a_saved, b_done = threading.Event(), threading.Event()
    lines, out = {}, {}

    def gate(kind, payload):  # subscribed after the recorder: A waits right after its save
        if kind == "saved" and threading.current_thread().name == "A" and not a_saved.is_set():
            a_saved.set()
            b_done.wait(5)

    def run_a():
        lines["a"] = sys._getframe().f_lineno + 1
        out["a"] = x.sin()

    def run_b():
        a_saved.wait(5)
        lines["b"] = sys._getframe().f_lineno + 1
        out["b"] = x.cos()
        b_done.set()

    with gradlens.trace() as tr, _events.subscribe(gate):
        threads = [threading.Thread(target=f, name=n) for f, n in ((run_a, "A"), (run_b, "B"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
    assert a_saved.is_set() and b_done.is_set()
    rec = tr.recorder
    saved = {s.node.name: s.line for s in rec.saved_for(counter=id(x._version_counter))}
    assert saved == {"SinBackward0": lines["a"], "CosBackward0": lines["b"]}
    assert rec.internal_errors == []


# ----------------------------------------------------------------------------- a 100,000-node graph


def test_a_100000_node_graph_raises_no_recursion_error(tmp_path):
    from gradlens.render_html import report_html, standalone_page
    from gradlens.render_svg import graph_svg
    from gradlens.widget import FindingsWidget

    n = 100_000
    x = torch.ones(2, requires_grad=True)
    y = x
    for _ in range(n):
        y = y * 1.0001
    with gradlens.trace() as tr:
        s = y.sigmoid()  # the recorder walks the whole existing graph from here
        s.detach().zero_()  # breaks backward
        try:
            s.sum().backward()
        except RuntimeError:
            pass
        loss = y.sum()
        loss.backward()  # through 100,000 nodes
        z = y.detach()
        zz = z * 2
    assert x.grad is not None and x.grad.shape == (2,)
    graph = tr.graph
    assert graph.number_of_nodes() >= n
    assert tr.why_none(y).cause == "non_leaf"
    assert tr.why_none(zz).cause == "requires_grad_false"
    why = tr.why_none(z)
    assert [h.kind for h in tr.hazards()] == ["breaks_backward"]
    assert [c.kind for c in tr.cutoffs()] == ["detach", "detach"]
    report = tr.report()
    assert str(report) and report_html(report)
    svg = graph_svg(tr.recorder, highlight=why.path)
    assert svg.startswith("<svg") and len(svg) < 2_000_000  # collapsed to the findings' neighbourhood
    assert standalone_page(tr).startswith("<!DOCTYPE html>")
    FindingsWidget(tr).html()
    assert tr.export(tmp_path / "big.graphml") == "graphml"
    assert (tmp_path / "big.graphml").read_text().count("<node ") == graph.number_of_nodes()
    assert tr.export(tmp_path / "big.json") == "json"
    assert len(json.loads((tmp_path / "big.json").read_text())["graph"]["nodes"]) == graph.number_of_nodes()
    del s, loss, y, z, zz, graph, tr
    gc.collect()  # freeing the chain must not recurse either


def _error_name(error) -> str:
    """The class name of the error a trace kept (an ``ErrorInfo``, or the exception itself)."""
    return getattr(error, "type_name", None) or type(error).__name__
