"""HTML rendering of findings; all user-derived text is escaped.

>>> from gradlens.findings import Explanation
>>> "&lt;script&gt;" in explanation_html(Explanation("non_leaf", 1, "m", name="<script>"))
True
"""

from __future__ import annotations

from html import escape

__all__ = ["explanation_html", "report_html"]


def explanation_html(e) -> str:
    who = escape(f"`{e.name}`" if e.name else "this tensor")
    return (
        f"<div class='gradlens-explanation'><b>why is {who}.grad None?</b> "
        f"<code>{escape(e.cause)}</code> line {escape(str(e.line))}<br>{escape(e.message)}</div>"
    )


def report_html(r) -> str:
    from .render_text import cutoff_text, hazard_text

    parts = [f"<div class='gradlens-report'><p><b>gradlens</b>: {escape(r.summary)}</p>"]
    for f in r.failures:
        parts.append(f"<p class='gradlens-failure'>{escape(f.message)}</p>")
    if r.hazards:
        parts.append("<h4>In-place hazards</h4><ul>")
        parts += [f"<li><pre>{escape(hazard_text(h))}</pre></li>" for h in r.hazards]
        parts.append("</ul>")
    if r.cutoffs:
        parts.append("<h4>Cut-offs</h4><ul>")
        parts += [f"<li>{escape(cutoff_text(c))}</li>" for c in r.cutoffs]
        parts.append("</ul>")
    if r.explanations:
        parts.append("<h4>Why None?</h4>")
        parts += [explanation_html(e) for e in r.explanations]
    for name, e in r.parameters:
        parts.append(f"<p>{escape(name)}: {explanation_html(e)}</p>")
    parts.append("</div>")
    return "".join(parts)


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
