"""Plain-text rendering of findings (what ``str(report)`` prints).

>>> from gradlens.findings import Explanation
>>> print(explanation_text(Explanation("non_leaf", 4, "`y` is an intermediate result.", name="y")))
why is `y`.grad None? [non_leaf] line 4
  `y` is an intermediate result.
"""

from __future__ import annotations

__all__ = ["explanation_text", "cutoff_text", "hazard_text", "report_text"]


def _line(n) -> str:
    return f"line {n}" if n is not None else "line ?"


def explanation_text(e) -> str:
    who = f"`{e.name}`" if e.name else "this tensor"
    return f"why is {who}.grad None? [{e.cause}] {_line(e.line)}\n  {e.message}"


def cutoff_text(c) -> str:
    src = f"`{c.source_name}`" if c.source_name else c.source
    res = f" -> `{c.result_name}`" if c.result_name and c.result != c.source else ""
    return f"cut-off [{c.kind}] {_line(c.line)}: {src}{res} ({c.op})"


def hazard_text(h) -> str:
    where = f"edit {_line(h.edit_line)}"
    if h.saved_line is not None:
        where += f", saved {_line(h.saved_line)} by {h.node}"
    return f"hazard [{h.kind}] ({h.severity}) {where}\n  {h.message}"


def _section(lines: list, title: str, entries: list) -> None:
    """Append a titled block of entries (each may span lines), indented under the title."""
    if not entries:
        return
    lines += ["", title]
    for entry in entries:
        lines += ["  " + s for s in entry.splitlines()]


def report_text(r) -> str:
    lines = [f"gradlens report: {r.summary}"]
    _section(lines, "Backward errors:", [f.message for f in r.failures])
    _section(lines, "In-place hazards:", [hazard_text(h) for h in r.hazards])
    _section(lines, "Cut-offs:", [cutoff_text(c) for c in r.cutoffs])
    _section(lines, "Why None?", [explanation_text(e) for e in r.explanations])
    _section(
        lines,
        "Module parameters without a gradient:",
        [f"{name}: [{e.cause}] {_line(e.line)}\n  {e.message}" for name, e in r.parameters],
    )
    if len(lines) == 1:
        lines.append("nothing to report: no cut-offs, no in-place hazards, no missing gradients.")
    return "\n".join(lines)
