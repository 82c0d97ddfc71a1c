"""The IPython extension, driven through an in-process InteractiveShell (history off)."""

from __future__ import annotations

import json
import textwrap

import networkx as nx
import pytest

pytest.importorskip("IPython")

from IPython.core.error import UsageError  # noqa: E402
from IPython.utils.capture import capture_output  # noqa: E402

import gradlens  # noqa: E402
from gradlens.findings import FindingList  # noqa: E402
from gradlens.magics import USAGE, CellTracing, GradlensMagics  # noqa: E402
from gradlens.trace import clear_last  # noqa: E402
from gradlens_core import _events  # noqa: E402

INPLACE_CELL = """\
%%gradlens trace
a = torch.tensor([1, 2, 3.], requires_grad=True)
out = a.sigmoid()
c = out.detach()
c.zero_()
out.sum().backward()
"""


@pytest.fixture
def ip(shell):
    shell.run_line_magic("load_ext", "gradlens")
    shell.run_cell("import gradlens_core as torch\nfrom gradlens_core import nn")
    yield shell
    shell.run_line_magic("unload_ext", "gradlens")
    shell.config.pop("GradlensMagics", None)  # %config settings of one test stay in that test
    shell.reset(new_session=False)
    clear_last()


def run(ip, cell):
    """Run a cell; returns (result, captured output)."""
    with capture_output() as io:
        result = ip.run_cell(textwrap.dedent(cell))
    return result, io


def ok(ip, cell):
    """Run a cell that must succeed (its error is re-raised, as jupysql's tests do)."""
    result, io = run(ip, cell)
    result.raise_error()
    return io


def usage_error(ip, line) -> str:
    result, _ = run(ip, line)
    assert isinstance(result.error_in_exec, UsageError), (line, result.error_in_exec)
    return str(result.error_in_exec)


def ours(callbacks) -> list:
    return [cb for cb in callbacks if isinstance(getattr(cb, "__self__", None), CellTracing)]


# ----------------------------------------------------------------------------- loading


def test_load_registers_magics_and_nothing_that_runs_per_cell(ip):
    assert "gradlens" in ip.magics_manager.magics["line"]
    assert "gradlens" in ip.magics_manager.magics["cell"]
    assert not ours(ip.events.callbacks["pre_run_cell"]) and not ours(ip.events.callbacks["post_run_cell"])
    # a cell that is not traced runs with no gradlens listener attached
    ok(ip, "n_listeners = __import__('gradlens_core')._events.listener_count()\nx = torch.ones(2) * 2")
    assert ip.user_ns["n_listeners"] == 0


def test_reload_is_idempotent(ip):
    ip.run_line_magic("load_ext", "gradlens")  # already loaded: nothing added
    gradlens.load_ipython_extension(ip)  # called directly twice: still one registration
    for _ in range(3):
        ip.run_line_magic("reload_ext", "gradlens")
    ok(ip, "%gradlens on")
    ip.run_line_magic("reload_ext", "gradlens")  # reloading turns `on` off: no hook survives
    assert not ours(ip.events.callbacks["pre_run_cell"])
    ok(ip, "%gradlens on")
    assert len(ours(ip.events.callbacks["pre_run_cell"])) == 1
    assert len(ours(ip.events.callbacks["post_run_cell"])) == 1
    assert sum(isinstance(c, GradlensMagics) for c in ip.configurables) == 1
    ok(ip, "n_listeners = __import__('gradlens_core')._events.listener_count()")
    assert ip.user_ns["n_listeners"] == 1  # one trace listening while the cell ran, not one per reload
    assert _events.listener_count() == 0  # and none between cells


def test_unload_removes_magics_hooks_and_listeners(ip):
    ok(ip, "%gradlens on")
    ip.run_line_magic("unload_ext", "gradlens")
    assert "gradlens" not in ip.magics_manager.magics["line"]
    assert "gradlens" not in ip.magics_manager.magics["cell"]
    assert not ours(ip.events.callbacks["pre_run_cell"]) and not ours(ip.events.callbacks["post_run_cell"])
    assert not any(isinstance(c, GradlensMagics) for c in ip.configurables)
    ok(ip, "n_listeners = __import__('gradlens_core')._events.listener_count()")
    assert ip.user_ns["n_listeners"] == 0
    result, _ = run(ip, "%gradlens help")
    assert isinstance(result.error_in_exec, UsageError)  # the magic is gone
    ip.run_line_magic("load_ext", "gradlens")  # and comes back
    assert "gradlens" in ip.magics_manager.magics["line"]


# ----------------------------------------------------------------------------- %%gradlens trace


def test_trace_cell_stores_the_trace_and_shows_the_widget(ip):
    io = ok(
        ip,
        """\
        %%gradlens trace --name tr1
        a = torch.tensor([1, 2, 3.], requires_grad=True)
        out = a.sigmoid()
        c = out.detach()
        print(c.requires_grad)
        out.sum().backward()
        """,
    )
    assert io.stdout == "False\n"  # the cell's own output, as usual
    tr = ip.user_ns["tr1"]
    assert isinstance(tr, gradlens.Trace) and not tr.active and tr.error is None
    assert "_gradlens" not in ip.user_ns
    [cut] = tr.cutoffs()
    assert (cut.kind, cut.line, cut.source_name, cut.result_name) == ("detach", 4, "out", "c")
    [shown] = io.outputs
    assert "application/vnd.jupyter.widget-view+json" in shown.data
    assert "cut-off [detach] line 4: `out` -> `c`" in shown.data["text/plain"]
    assert "<svg" in shown.data["text/html"]


def test_line_numbers_are_lines_of_the_cell(ip):
    ok(ip, INPLACE_CELL.replace("out.sum().backward()\n", ""))
    tr = ip.user_ns["_gradlens"]
    lines = {d["name"]: d["line"] for _, d in tr.graph.nodes(data=True) if d["kind"] == "tensor" and d["name"]}
    assert lines == {"a": 2, "out": 3, "c": 4}  # line 1 is `%%gradlens trace`
    [h] = tr.hazards()
    assert (h.edit_line, h.saved_line) == (5, 3)


def test_cell_that_raises_shows_the_traceback_and_explains_the_error_first(ip):
    result, io = run(ip, INPLACE_CELL)
    # IPython shows the original exception, with the cell's own line numbers
    assert "RuntimeError: one of the variables needed for gradient computation" in io.stdout
    assert "line 6" in io.stdout and "out.sum().backward()" in io.stdout
    tr = ip.user_ns["_gradlens"]
    assert tr.error.type_name == "RuntimeError"  # kept as ErrorInfo: no frames kept alive
    [shown] = io.outputs
    text = shown.data["text/plain"]
    first, *rest = text.splitlines()
    assert first == "backward() raised RuntimeError at line 6: out.sum().backward()"
    assert "in-place edit: line 5: c.zero_()  (edits `c` through detach)" in text
    assert "saved tensor:  line 3: out = a.sigmoid()  (`out`, saved by SigmoidBackward0)" in text
    assert text.index("backward() raised") < text.index("gradlens report")
    html = shown.data["text/html"]
    assert html.index("gradlens-error") < html.index("gradlens-report")
    assert "<code>c.zero_()</code>" in html and "SigmoidBackward0" in html


@pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf")
def test_cell_that_raises_elsewhere_links_the_error_to_the_explanation(ip):
    _, io = run(
        ip,
        """\
        %%gradlens trace
        x = torch.tensor([1., 2.])
        w = torch.tensor([0.5, -0.5], requires_grad=True)
        for step in range(3):
            loss = ((w * x).sum() - 1) ** 2
            loss.backward()
            w = w - 0.1 * w.grad
        """,
    )
    assert "TypeError" in io.stdout
    text = io.outputs[0].data["text/plain"]
    assert text.startswith("the cell raised TypeError at line 7: w = w - 0.1 * w.grad")
    assert "why is `w`.grad None? [rebound] line 7" in text


def test_trace_cell_escapes_source_lines_in_html(ip):
    io = ok(
        ip,
        """\
        %%gradlens trace
        a = torch.tensor([1., 2.], requires_grad=True)
        b = a.detach()  # <b>"bold"</b> & co
        """,
    )
    html = io.outputs[0].data["text/html"]
    assert "<b>&quot;bold&quot;</b>" not in html and '<b>"bold"</b>' not in html
    assert "&lt;b&gt;&quot;bold&quot;&lt;/b&gt; &amp; co" in html


# ----------------------------------------------------------------------------- line commands


def test_why_cutoffs_hazards_graph(ip):
    run(ip, INPLACE_CELL)
    io = ok(ip, "%gradlens why a")  # shown as the cell's value (Out[n])
    assert "why is `a`.grad None? [no_backward_yet] line 6" in io.stdout
    e = ip.run_line_magic("gradlens", "why a")
    assert isinstance(e, gradlens.Explanation) and e.cause == "no_backward_yet"
    e = ip.run_line_magic("gradlens", "why  out.detach()")  # any expression; unseen tensors say so
    assert e.name == "out.detach()" and e.cause == "requires_grad_false"
    cuts = ip.run_line_magic("gradlens", "cutoffs")
    assert isinstance(cuts, FindingList) and [c.kind for c in cuts] == ["detach"]
    assert str(cuts).startswith("Cut-offs (1):")
    hazards = ip.run_line_magic("gradlens", "hazards")
    assert [(h.kind, h.edit_line, h.node) for h in hazards] == [("breaks_backward", 5, "SigmoidBackward0")]
    svg = ip.run_line_magic("gradlens", "graph --max-nodes 3")
    assert svg.data.startswith("<svg") and "+3 more" in svg.data


def test_why_reports_bad_expressions_in_one_line(ip):
    assert "no gradlens trace yet" in usage_error(ip, "%gradlens why a")
    run(ip, INPLACE_CELL)
    ok(ip, "b = torch.ones(2, requires_grad=True); b.sum().backward()")
    for line, words in [
        ("%gradlens why nope", "cannot evaluate `nope`: NameError"),
        ("%gradlens why a +", "cannot evaluate `a +`: SyntaxError"),
        ("%gradlens why 3", "`3` is not a tensor (int)"),
        ("%gradlens why b", "`b.grad` is not None"),
    ]:
        message = usage_error(ip, line)
        assert words in message and "\n" not in message, message
    assert USAGE in usage_error(ip, "%gradlens why")


@pytest.mark.parametrize(
    "line",
    [
        "%gradlens",
        "%gradlens bogus",
        "%gradlens on now",
        "%gradlens trace",
        "%gradlens cutoffs --name x",
        "%gradlens export",
        "%gradlens export a.json b.json",
        "%gradlens export out.txt",
        "%gradlens graph --max-nodes 0",
        "%gradlens graph --max-nodes many",
        "%gradlens help 'unbalanced",
        "%%gradlens why a\nx = 1",
        "%%gradlens trace --name 1x\nx = 1",
        "%%gradlens trace extra\nx = 1",
        "%%gradlens trace --max-nodes -5\nx = 1",
    ],
)
def test_bad_subcommands_and_arguments_raise_usage_error_with_usage(ip, line):
    run(ip, INPLACE_CELL)
    assert USAGE in usage_error(ip, line)


def test_export_graphml_and_json(ip, tmp_path):
    run(ip, INPLACE_CELL)
    io = ok(ip, f"%gradlens export {tmp_path / 'g.graphml'}")
    assert "graphml: 6 nodes" in io.stdout
    g = nx.read_graphml(tmp_path / "g.graphml")
    names = {d.get("name") for _, d in g.nodes(data=True)}
    assert {"a", "out", "c"} <= names
    assert any(d.get("cut") == "detach" for *_, d in g.edges(data=True))
    ok(ip, f"%gradlens export '{tmp_path / 'with space.json'}'")
    data = json.loads((tmp_path / "with space.json").read_text())
    assert data["hazards"][0]["kind"] == "breaks_backward" and len(data["graph"]["nodes"]) == 6


def test_clear_forgets_the_traces(ip):
    run(ip, INPLACE_CELL)
    ok(ip, "%gradlens clear")
    assert "_gradlens" not in ip.user_ns
    assert "no gradlens trace yet" in usage_error(ip, "%gradlens cutoffs")


def test_help_prints_the_usage(ip):
    assert ok(ip, "%gradlens help").stdout.strip() == USAGE


# ----------------------------------------------------------------------------- %gradlens on / off


def test_on_traces_every_cell_and_shows_new_findings(ip):
    assert "tracing every cell" in ok(ip, "%gradlens on").stdout
    io = ok(ip, "x = torch.tensor([1., 2.])\nw = torch.tensor([0.5, -0.5], requires_grad=True)")
    assert io.outputs == []  # nothing found, nothing shown
    ok(ip, "loss = ((w * x).sum() - 1) ** 2\nloss.backward()")
    ok(ip, "w = w - 0.1 * w.grad")  # re-bound in its own cell
    ok(ip, "loss = ((w * x).sum() - 1) ** 2\nloss.backward()")
    e = ip.run_line_magic("gradlens", "why w")
    assert (e.cause, e.line) == ("rebound", 1)
    io = ok(ip, "d = w.detach()")
    [shown] = io.outputs  # a new cut-off: the widget appears
    assert "cut-off [detach] line 1: `w` -> `d`" in shown.data["text/plain"]
    tr = ip.user_ns["_gradlens"]
    assert ip.run_line_magic("gradlens", "cutoffs")[0] == tr.cutoffs()[0]
    ok(ip, "%config GradlensMagics.auto_display = False")
    assert ok(ip, "d2 = w.detach()").outputs == []  # found, but not shown
    assert len(tr.cutoffs()) == 2
    assert "stopped" in ok(ip, "%gradlens off").stdout
    assert not ours(ip.events.callbacks["post_run_cell"])
    assert _events.listener_count() == 0


def test_on_with_a_traced_cell_shows_one_widget(ip):
    ok(ip, "%gradlens on")
    _, io = run(ip, INPLACE_CELL)
    assert len(io.outputs) == 1
    session = ip.user_ns["_gradlens"]
    assert session.hazards()  # the session saw the cell too


# ----------------------------------------------------------------------------- settings


def test_settings_are_traitlets_configurable_with_config(ip):
    ok(ip, "%config GradlensMagics.max_nodes = 3")
    _, io = run(ip, INPLACE_CELL)
    assert "+3 more" in io.outputs[0].data["text/html"]
    ok(ip, "%config GradlensMagics.auto_display = False")
    _, io = run(ip, INPLACE_CELL)
    assert io.outputs == [] and ip.user_ns["_gradlens"].error.type_name == "RuntimeError"
    magics = ip.magics_manager.registry["GradlensMagics"]
    assert (magics.max_nodes, magics.auto_display) == (3, False)
    run(ip, "%config GradlensMagics.max_nodes = 0")  # refused (IPython logs the error)
    assert magics.max_nodes == 3
    ok(ip, "%config GradlensMagics.max_nodes = 150\n%config GradlensMagics.auto_display = True")
