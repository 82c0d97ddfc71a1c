"""Bad input: fuzzed ``%gradlens`` arguments and ``%gradlens why`` expressions, and escaping in HTML/SVG.

In an in-process IPython shell (history off), every ``%gradlens`` / ``%%gradlens`` line
hypothesis can make of commands, options, numbers, paths, quotes, ``$``/``{}``,
``<script>`` and unicode ends either normally or in a ``UsageError`` — never in another
exception or in a traceback through gradlens's own code. ``%gradlens why EXPR`` errors
are one line.

Every HTML and SVG output (report, explanation, cut-off and hazard HTML, the widget's
HTML, the graph SVG, the standalone page) escapes user-derived strings: source lines,
an error message, an expression given to ``why``, a module parameter's name and a
custom Function's class name, all holding ``<script>``, quotes and ampersands.
"""

from __future__ import annotations

import re
import textwrap
import xml.etree.ElementTree as ET
from html import escape
from html.parser import HTMLParser

import pytest
from helpers import reproducible
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

pytest.importorskip("IPython")

from IPython.core.error import UsageError  # noqa: E402
from IPython.utils.capture import capture_output  # noqa: E402

import gradlens  # noqa: E402
from gradlens.findings import CAUSES  # noqa: E402
from gradlens.trace import clear_last  # noqa: E402
from gradlens_core import _events  # noqa: E402

FUZZ = reproducible(150, HealthCheck.function_scoped_fixture)

PAYLOAD = "<script>alert('x\"&y')</script>"

SETUP = """\
import gradlens_core as torch
from gradlens_core import nn
a = torch.tensor([1., 2., 3.], requires_grad=True)
out = a.sigmoid()
c = out.detach()
w = torch.ones(2, requires_grad=True)
(w * 2).sum().backward()
n = 3
s = '<script>&"'
lst = [1, 2]
"""

TRACED = """\
%%gradlens trace
b = torch.tensor([1., 2.], requires_grad=True)
y = b.sigmoid()
d = y.detach()
d.zero_()
z = (b.detach() * 2).sum()
"""


@pytest.fixture
def ip(shell, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # `%gradlens export` writes where it is told
    shell.run_line_magic("load_ext", "gradlens")
    run(shell, SETUP).raise_error()
    run(shell, TRACED).raise_error()
    yield shell
    shell.run_line_magic("unload_ext", "gradlens")
    shell.reset(new_session=False)
    clear_last()
    assert _events.listener_count() == 0


def run(ip, cell: str):
    with capture_output() as io:
        result = ip.run_cell(cell, store_history=False)
    result.output = io.stdout + io.stderr
    return result


def check_outcome(result, source: str):
    """The magic ended normally or with a UsageError, and printed no traceback through gradlens."""
    err = result.error_before_exec or result.error_in_exec
    assert err is None or isinstance(err, UsageError), f"{source!r} raised {type(err).__name__}: {err}"
    assert not re.search(r"gradlens[/\\][a-z_]+\.py", result.output), f"{source!r} printed:\n{result.output}"
    return err


# ----------------------------------------------------------------------------- %gradlens arguments

WORDS = [
    *("trace", "on", "off", "why", "cutoffs", "hazards", "graph", "export", "clear", "help"),
    *("--name", "--max-nodes", "--name=x", "--max-nodes=0", "--max-nodes=-3", "--max-nodes=abc", "-n", "-h"),
    *("--help", "--", "-", "--max", "--nam", "0", "1", "-1", "1e9", "99999999999999999999", "x", "_gradlens"),
    *("a.json", "b.graphml", "c.txt", "'q r.json'", '"q r.graphml"', "/nonexistent/dir/x.json", ".", ".."),
    *("'", '"', "\\", "$a", "$$", "{a}", "{", "}", "{}", "%", "%%", "<script>", "&amp;", "ñ", "🙂", "=", ";", "#"),
]
TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=6)
COMMANDS = ["trace", "on", "off", "why", "cutoffs", "hazards", "graph", "export", "clear", "help"]
# a command (mostly a real one) and what follows it; or anything at all
LINES = st.one_of(
    st.tuples(st.sampled_from(COMMANDS), st.lists(st.one_of(st.sampled_from(WORDS), TEXT), max_size=3)).map(
        lambda t: " ".join([t[0], *t[1]])
    ),
    st.lists(st.one_of(st.sampled_from(WORDS), TEXT), max_size=5).map(" ".join),
)


@FUZZ
@given(line=LINES)
def test_line_magic_arguments(ip, line):
    check_outcome(run(ip, f"%gradlens {line}"), line)


BODIES = ["y2 = torch.ones(2, requires_grad=True) * 2", "raise ValueError('<script>')", "x = (", ""]


@FUZZ
@given(line=LINES, body=st.sampled_from(BODIES))
def test_cell_magic_arguments(ip, line, body):
    err = check_outcome(run(ip, f"%%gradlens {line}\n{body}\n"), line)
    if err is None:
        assert line.split()[:1] == ["trace"] or line.strip().startswith("trace")


@pytest.mark.parametrize(
    "line",
    ["", "  ", "bogus", "trace", "why", "export", "export a b", "export x.txt", "graph --max-nodes 0", "on --name 1x"],
)
def test_bad_arguments_raise_usage_error(ip, line):
    err = check_outcome(run(ip, f"%gradlens {line}"), line)
    assert isinstance(err, UsageError)


# ----------------------------------------------------------------------------- %gradlens why EXPR

EXPR_TOKENS = [
    *("a", "out", "c", "w", "b", "y", "d", "z", "n", "s", "lst", "torch", "None", "True", "undefined_name"),
    *(".", "grad", "detach()", "data", "sum()", "T", "shape", "ones(2)", "tensor([1.])", "requires_grad"),
    *("(", ")", "[", "]", ":", ",", "+", "-", "*", "/", "@", "==", "<", ">", "not", "and", "if", "else", "lambda"),
    *("0", "1", "-1", "2.5", "'", '"', "'<script>&\"'", "\\", "#", "$", "{", "}", "=", ";", "ñ", "🙂", "\t"),
]
NAMES = ["a", "out", "c", "w", "b", "y", "d", "z", "n", "s", "lst", "torch.ones(2)", "undefined_name", "_gradlens"]
SUFFIXES = [".detach()", ".data", ".sum()", " * 2", "[0]", ".grad", ".T", ".exp()", ".requires_grad_()", "[:1]", ""]
# mostly expressions that evaluate (tensors or not); then token soup
EXPRS = st.one_of(
    st.tuples(st.sampled_from(NAMES), st.lists(st.sampled_from(SUFFIXES), max_size=2)).map(
        lambda t: t[0] + "".join(t[1])
    ),
    st.lists(st.one_of(st.sampled_from(EXPR_TOKENS), TEXT), min_size=1, max_size=7).flatmap(
        lambda toks: st.sampled_from([" ".join(toks), "".join(toks)])
    ),
)


@pytest.mark.filterwarnings("ignore::SyntaxWarning", "ignore::UserWarning")  # what evaluating EXPR warns
@FUZZ
@given(expr=EXPRS)
def test_why_expressions(ip, expr):
    if "\n" in expr or "\r" in expr:
        return
    result = run(ip, f"%gradlens why {expr}")
    err = check_outcome(result, expr)
    if isinstance(err, UsageError) and expr.strip():  # (no expression at all gets the usage text)
        assert "\n" not in str(err).strip(), f"why {expr!r}: a multi-line error:\n{err}"
    elif result.result is not None:
        assert result.result.cause in CAUSES


@pytest.mark.filterwarnings("ignore::UserWarning")  # out.grad: .grad of a non-leaf
@pytest.mark.parametrize(
    "expr",
    ["undefined_name", "1/0", "n", "lst", "s", "w", "a +", "torch.ones(2)", "out.grad", "a if '<script>' else a"],
)
def test_why_errors_are_one_line(ip, expr):
    result = run(ip, f"%gradlens why {expr}")
    err = check_outcome(result, expr)
    if err is not None:
        assert "\n" not in str(err).strip()


# ----------------------------------------------------------------------------- escaping

ESCAPE_CELL = f"""\
%%gradlens trace
a = torch.tensor([1., 2., 3.], requires_grad=True)  # {PAYLOAD}
out = a.sigmoid()  # {PAYLOAD}
c = out.detach()  # {PAYLOAD}
c.zero_()  # {PAYLOAD}
k = (a.detach() * 2).sum()  # {PAYLOAD}
m = nn.Linear(2, 2)
m.register_parameter({PAYLOAD!r}, nn.Parameter(torch.ones(2)))
Evil = type({PAYLOAD!r}, (torch.autograd.Function,), dict(
    forward=staticmethod(lambda ctx, x: x * 2),
    backward=staticmethod(lambda ctx, g: g * 2),
))
e = Evil.apply(a)  # {PAYLOAD}
f = e.sigmoid()
e.data.zero_()  # {PAYLOAD}
m(a[:2]).sum().backward()  # {PAYLOAD}
raise ValueError({PAYLOAD!r})
"""

_ENTITY = re.compile(r"&(?!(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);)")


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append(tag)


def assert_escaped(html: str, where: str, svg: bool = False) -> None:
    assert "<script" not in html.lower(), f"{where}: raw <script>"
    bad = _ENTITY.search(html)
    assert bad is None, f"{where}: unescaped '&' at {html[max(bad.start() - 40, 0) : bad.start() + 40]!r}"
    assert 'x"&y' not in html and "x'&y" not in html, f"{where}: raw payload"
    parser = _Tags()
    parser.feed(html)
    assert "script" not in parser.tags, where
    if svg:
        ET.fromstring(html)  # well-formed XML: every user string escaped in text and attributes


@pytest.fixture
def evil(ip):
    result = run(ip, ESCAPE_CELL)
    assert result.error_in_exec is None, result.error_in_exec  # the cell's ValueError is the trace's
    tr = ip.user_ns["_gradlens"]
    assert _error_name(tr.error) == "ValueError"
    return tr


def test_html_and_svg_escape_user_strings(ip, evil):
    from gradlens.render_html import (
        cutoff_html,
        error_html,
        explanation_html,
        findings_html,
        hazard_html,
        report_html,
        standalone_page,
        trace_html,
    )
    from gradlens.render_svg import graph_svg
    from gradlens.widget import FindingsWidget, error_note

    tr = evil
    report = tr.report()
    assert report.hazards and report.cutoffs and report.parameters, "the scenario must produce findings"
    outputs = {
        "report_html": report_html(report),
        "report._repr_html_": report._repr_html_(),
        "trace_html": trace_html(tr),
        "trace._repr_html_": tr._repr_html_(),
        "standalone_page": standalone_page(tr),
        "findings_html": findings_html(report, error_note(tr, report), graph_svg(tr.recorder)),
    }
    note = error_note(tr, report)
    assert note is not None
    outputs["error_html"] = error_html(note)
    for i, e in enumerate(report.explanations):
        outputs[f"explanation_html[{i}]"] = explanation_html(e)
        outputs[f"explanation._repr_html_[{i}]"] = e._repr_html_()
    for _, e in report.parameters:
        outputs[f"parameter {e.name}"] = explanation_html(e)
    for i, c in enumerate(report.cutoffs):
        outputs[f"cutoff_html[{i}]"] = cutoff_html(c)
    for i, h in enumerate(report.hazards):
        outputs[f"hazard_html[{i}]"] = hazard_html(h)
        outputs[f"hazard._repr_html_[{i}]"] = h._repr_html_()
    for i, f in enumerate(report.failures):
        outputs[f"failure._repr_html_[{i}]"] = f._repr_html_()
    widget = FindingsWidget(tr)
    outputs["widget.html"] = widget.html()
    outputs["widget mimebundle"] = widget._repr_mimebundle_()["text/html"]
    for i in range(len(widget.items)):
        widget.select_finding(i)
        outputs[f"widget item {i}"] = widget.items[i].html
        for k, child in enumerate(_html_widgets(widget)):
            outputs[f"widget item {i} HTML child {k}"] = child.value

    svgs = {"graph_svg": graph_svg(tr.recorder), "graph_svg collapsed": graph_svg(tr.recorder, max_nodes=3)}
    for i, item in enumerate(widget.items):
        svgs[f"graph_svg highlight {i}"] = graph_svg(tr.recorder, highlight=item.path)
    for name, out in outputs.items():
        assert_escaped(out, name)
    for name, out in svgs.items():
        assert_escaped(out, name, svg=True)

    everything = "".join(outputs.values()) + "".join(svgs.values())
    assert escape(PAYLOAD) in everything  # the payload did reach the output, escaped
    for part in ("&lt;script&gt;", "&quot;", "&amp;", "&#x27;"):
        assert part in everything
    # each vector reached the output: the source lines, the error, the parameter name, the node name
    assert escape(PAYLOAD) in outputs["error_html"]
    assert any(escape(PAYLOAD) in v for k, v in outputs.items() if k.startswith("parameter"))
    assert escape(PAYLOAD) in svgs["graph_svg"]


def _html_widgets(widget) -> list:
    import ipywidgets as widgets

    out, stack = [], [widget]
    while stack:
        w = stack.pop()
        if isinstance(w, widgets.HTML):
            out.append(w)
        stack.extend(getattr(w, "children", ()))
    return out


def test_why_expression_is_escaped(ip, evil):
    expr = f"torch.ones(2) if {PAYLOAD!r} else k"  # an unnamed tensor: the explanation is named by EXPR
    result = run(ip, f"%gradlens why {expr}")
    e = result.result
    assert e is not None and e.cause in CAUSES, result.output
    html = e._repr_html_()
    assert_escaped(html, "why explanation")
    assert escape(expr) in html


def test_findings_escape_names_given_directly():
    from gradlens.findings import Cutoff, Explanation, FindingList, Hazard

    e = Explanation("non_leaf", 1, f"message {PAYLOAD}", name=PAYLOAD, file=PAYLOAD)
    c = Cutoff(kind="detach", line=2, source="t1", result="t2", source_name=PAYLOAD, result_name=PAYLOAD, op=PAYLOAD)
    h = Hazard("breaks_backward", 3, 2, PAYLOAD, PAYLOAD, op=PAYLOAD, alias=PAYLOAD, file=PAYLOAD)
    for obj in (e, c, h, FindingList([e, c, h], PAYLOAD)):
        html = obj._repr_html_()
        assert_escaped(html, type(obj).__name__)
        assert escape(PAYLOAD) in html


def test_script_with_special_characters_in_its_name(tmp_path, capsys):
    from gradlens.cli import main

    script = tmp_path / "a<b>&'c\".py"
    script.write_text(
        textwrap.dedent(
            f"""\
            import gradlens_core as torch
            a = torch.tensor([1., 2.], requires_grad=True)  # {PAYLOAD}
            out = a.sigmoid()
            out.detach().zero_()  # {PAYLOAD}
            """
        )
    )
    page = tmp_path / "page.html"
    assert main(["run", str(script), "--html", str(page), "--json", str(tmp_path / "r.json")]) == 0
    capsys.readouterr()
    html = page.read_text()
    assert_escaped(html, "standalone page")
    assert escape(PAYLOAD) in html
    assert gradlens.last_trace() is not None


def _error_name(error) -> str:
    """The class name of the error a trace kept (an ``ErrorInfo``, or the exception itself)."""
    return getattr(error, "type_name", None) or type(error).__name__
