"""HTML rendering of findings; all user-derived text is escaped.

Used by the ``_repr_html_`` of every finding and trace, by the widget's fallback for
front-ends without widgets (nbconvert, GitHub), and by ``gradlens run --html``. Styles
are inline, so the HTML reads the same wherever it is pasted.

>>> from gradlens.findings import Explanation
>>> "&lt;script&gt;" in explanation_html(Explanation("non_leaf", 1, "m", name="<script>"))
True
"""

from __future__ import annotations

import linecache
from html import escape

__all__ = [
    "explanation_html",
    "cutoff_html",
    "hazard_html",
    "error_html",
    "report_html",
    "findings_html",
    "trace_html",
    "standalone_page",
    "source_line",
    "SEVERITY_COLORS",
]

SEVERITY_COLORS = {"will raise": "#d62728", "silently wrong": "#ff7f0e", "refused": "#6f6f6f"}


def source_line(file, line) -> str:
    """The text of ``line`` in ``file`` (a script, or an IPython cell: IPython keeps cells in linecache).

    >>> source_line("<no such file>", 1)
    ''
    """
    if not file or line is None:
        return ""
    return linecache.getline(file, line).strip()


def _where(line, file=None) -> str:
    """``line 5: <code>c.zero_()</code>`` (just ``line 5`` when the source is unknown)."""
    if line is None:
        return "line ?"
    src = source_line(file, line)
    return f"line {escape(str(line))}" + (f": <code>{escape(src)}</code>" if src else "")


def explanation_html(e) -> str:
    who = escape(f"`{e.name}`" if e.name else "this tensor")
    return (
        f"<div class='gradlens-explanation'><b>why is {who}.grad None?</b> "
        f"<code>{escape(e.cause)}</code> {_where(e.line, e.file)}<br>{escape(e.message)}</div>"
    )


def cutoff_html(c) -> str:
    src = escape(f"`{c.source_name}`" if c.source_name else str(c.source))
    res = escape(f" -> `{c.result_name}`") if c.result_name and c.result != c.source else ""
    op = f" ({escape(str(c.op))})" if c.op else ""
    return (
        f"<div class='gradlens-cutoff'><b>cut-off</b> <code>{escape(c.kind)}</code> {src}{res}{op}, "
        f"{_where(c.line, c.file)}</div>"
    )


def _badge(severity: str) -> str:
    color = SEVERITY_COLORS.get(severity, "#6f6f6f")
    return (
        f"<span style='background:{color};color:#fff;border-radius:3px;padding:0 5px;font-size:90%'>"
        f"{escape(severity)}</span>"
    )


def hazard_html(h) -> str:
    saved = ""
    if h.saved_line is not None:
        saved = f"<br>saved by <code>{escape(str(h.node))}</code> at {_where(h.saved_line, h.file)}"
    alias = f" (through {escape(str(h.alias))})" if h.alias and h.alias != "direct" else ""
    return (
        f"<div class='gradlens-hazard'>{_badge(h.severity)} <code>{escape(h.kind)}</code> "
        f"edit at {_where(h.edit_line, h.file)}{alias}{saved}<br>{escape(h.message)}</div>"
    )


def error_html(note) -> str:
    """The explanation of the error a traced cell raised (see :func:`gradlens.widget.error_note`)."""
    rows = [f"<b>{escape(note.title)}</b> at {_where(note.line, note.file)}", f"<code>{escape(note.error)}</code>"]
    h = note.hazard
    if h is not None and h.saved_line is not None:
        via = f"through {escape(str(h.alias))}" if h.alias and h.alias != "direct" else "directly"
        rows.append(
            "<table style='border-collapse:collapse;margin:4px 0'>"
            f"<tr><td style='padding-right:8px'>in-place edit</td><td>{_where(h.edit_line, h.file)} "
            f"(edits {escape(note.edited)} {via})</td></tr>"
            f"<tr><td style='padding-right:8px'>saved tensor</td><td>{_where(h.saved_line, h.file)} "
            f"({escape(note.saved)}, saved by <code>{escape(str(h.node))}</code>)</td></tr></table>"
        )
    rows.append(escape(note.message))
    for e in note.related:
        rows.append(explanation_html(e))
    return (
        "<div class='gradlens-error' style='border-left:4px solid #d62728;padding:4px 8px;margin:4px 0;"
        "background:#fff5f5'>" + "<br>".join(rows) + "</div>"
    )


def report_html(r) -> str:
    parts = [f"<div class='gradlens-report'><p><b>gradlens</b>: {escape(r.summary)}</p>"]
    for f in r.failures:
        parts.append(f"<p class='gradlens-failure'>{escape(f.message)}</p>")
    if r.hazards:
        parts.append("<h4>In-place hazards</h4>")
        parts += [hazard_html(h) for h in r.hazards]
    if r.cutoffs:
        parts.append("<h4>Cut-offs</h4>")
        parts += [cutoff_html(c) for c in r.cutoffs]
    if r.explanations:
        parts.append("<h4>Why None?</h4>")
        parts += [explanation_html(e) for e in r.explanations]
    if r.parameters:
        parts.append("<h4>Module parameters without a gradient</h4>")
        for name, e in r.parameters:
            who = "" if e.name == name else f"<p><code>{escape(name)}</code></p>"
            parts.append(who + explanation_html(e))
    parts.append("</div>")
    return "".join(parts)


def findings_html(report, note=None, svg: str = "") -> str:
    """A report led by the error explanation (if any) and followed by the graph SVG."""
    head = error_html(note) if note is not None else ""
    graph = f"<details open><summary>Graph</summary>{svg}</details>" if svg else ""
    return f"<div class='gradlens'>{head}{report_html(report)}{graph}</div>"


def trace_html(tr, max_nodes: int = 150) -> str:
    """A trace's report and its graph (collapsed beyond ``max_nodes``)."""
    from .render_svg import graph_svg

    return findings_html(tr.report(), svg=graph_svg(tr.recorder, max_nodes=max_nodes))


def standalone_page(tr) -> str:
    """A self-contained HTML page with the report (and the graph, when drawing is available)."""
    body = report_html(tr.report())
    try:
        from .render_svg import graph_svg

        body += graph_svg(tr.recorder)
    except ImportError:
        pass
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>gradlens report</title></head>"
        f"<body>{body}</body></html>"
    )
