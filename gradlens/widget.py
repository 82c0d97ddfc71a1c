"""The findings widget: a summary line, then tabs *Why None?*, *Cut-offs*, *In-place hazards*, *Graph*.

A thin mapping of a trace's findings (plain data, see :func:`finding_items`) onto
ipywidgets. Every user action has a Python method, so tests drive the widget without a
browser: :meth:`FindingsWidget.select_finding` is what choosing a finding in any tab
does, and it moves the highlighted path in the graph. Front-ends without widgets
(terminal IPython, nbconvert, GitHub) get the same findings as text and as HTML with the
graph, through ``_repr_mimebundle_``.

>>> import gradlens_core as torch, gradlens
>>> with gradlens.trace() as tr:
...     a = torch.tensor([1., 2.], requires_grad=True)
...     c = a.detach() * 2
>>> w = FindingsWidget(tr)
>>> [i.tab for i in w.items], w.highlight == w.items[0].path
(['cutoffs'], True)
"""

from __future__ import annotations

import dataclasses
import re
from html import escape

import ipywidgets as widgets
import traitlets

from .findings import Explanation, Hazard
from .render_html import cutoff_html, error_html, explanation_html, findings_html, hazard_html, source_line
from .render_svg import graph_svg

__all__ = ["FindingsWidget", "ErrorNote", "Item", "error_note", "finding_items", "TAB_TITLES"]

TAB_TITLES = ("Why None?", "Cut-offs", "In-place hazards", "Graph")
_TABS = ("why", "cutoffs", "hazards")


@dataclasses.dataclass(frozen=True)
class ErrorNote:
    """What gradlens knows about the error a traced cell raised."""

    title: str  # 'backward() raised RuntimeError', 'the cell raised TypeError'
    error: str  # 'RuntimeError: <first sentence>'
    line: int | None  # where it was raised, in the traced cell
    file: str | None
    message: str  # gradlens's explanation
    hazard: Hazard | None = None  # the in-place edit behind it
    related: tuple = ()  # explanations of tensors on the failing line whose grad is None
    path: tuple = ()
    edited: str = ""  # the hazard's edited tensor in words: '`c`', 'an unnamed tensor t5 of shape (3,)'
    saved: str = ""  # the hazard's saved tensor, said the same way

    def __str__(self) -> str:
        lines = [f"{self.title} at {_line_text(self.line, self.file)}", f"  {self.error}"]
        h = self.hazard
        if h is not None and h.saved_line is not None:
            via = f"through {h.alias}" if h.alias and h.alias != "direct" else "directly"
            lines.append(f"  in-place edit: {_line_text(h.edit_line, h.file)}  (edits {self.edited} {via})")
            lines.append(f"  saved tensor:  {_line_text(h.saved_line, h.file)}  ({self.saved}, saved by {h.node})")
        lines.append(f"  {self.message}")
        for e in self.related:
            lines += ["  " + s for s in str(e).splitlines()]
        return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class Item:
    """One selectable finding: the tab it lives in, its label, its HTML and the path it highlights."""

    tab: str  # 'error', 'why', 'cutoffs' or 'hazards'
    label: str
    html: str
    path: tuple = ()
    line: int | None = None


def _line_text(line, file) -> str:
    src = source_line(file, line)
    return f"line {line if line is not None else '?'}" + (f": {src}" if src else "")


def _unique(ids) -> tuple:
    return tuple(dict.fromkeys(i for i in ids if i))


def _first_sentence(exc) -> str:
    """``RuntimeError: <first sentence>`` (a '. ' before a capital ends it; 'i.e. with' does not)."""
    text = " ".join(str(exc).split())
    m = re.search(r"\.\s+[A-Z]", text)
    if m:
        text = text[: m.start()]
    return f"{exc.type_name}: {text}" if text else exc.type_name


def _tensor_words(graph, gid) -> str:
    """How to name a tensor in a sentence: its variable, else its graph id and shape."""
    d = graph.nodes[gid] if gid in graph else {}
    if d.get("name"):
        return f"`{d['name']}`"
    shape = d.get("shape")
    shape = f" of shape {tuple(shape) if not isinstance(shape, str) else shape}" if shape not in (None, "") else ""
    return f"an unnamed tensor {gid}{shape}"


def hazard_path(h) -> tuple:
    """The graph ids a hazard involves: the edited tensor, the saved tensor, the node that saved it."""
    return _unique((h.tensor, h.saved_tensor, h.node_id))


def _raise_site(exc, files) -> tuple:
    """(line, file) of the innermost traceback frame in traced code (the cell), else of the cell's frame."""
    entries = exc.frames
    traced = [e for e in entries if e[1] in files]
    if not traced:
        traced = [e for e in entries if e[2] == "<module>"]
    return (traced[-1][0], traced[-1][1]) if traced else (None, None)


def error_note(tr, report=None) -> ErrorNote | None:
    """Explain ``tr.error`` (the exception the traced code raised), or None if it raised nothing.

    A failed ``backward()`` is explained by the analysis (for an in-place error: which edit,
    through which alias, bumped the version of which saved tensor, saved where and by which
    node). Any other error is linked to a hazard made on the same line, or to the
    tensors on that line whose grad is None.
    """
    exc = tr.error
    if exc is None:
        return None
    rec = tr.recorder
    report = report if report is not None else tr.report()
    line, file = _raise_site(exc, rec.files)
    error = _first_sentence(exc)
    failed_runs = [run for run in rec.runs if run.error is not None]
    for run, failure in zip(failed_runs, report.failures):
        if run.error.ident == exc.ident:
            h = failure.hazard
            return ErrorNote(
                f"backward() raised {exc.type_name}",
                error,
                failure.line,
                run.file or file,
                failure.message,
                hazard=h,
                path=hazard_path(h) if h is not None else _path_to_roots(report, run.roots),
                **_hazard_words(rec.graph, h),
            )
    title = f"the cell raised {exc.type_name}"
    for h in report.hazards:
        if line is not None and h.edit_line == line and h.file in (file, None):
            return ErrorNote(
                title, error, line, file, h.message, hazard=h, path=hazard_path(h), **_hazard_words(rec.graph, h)
            )
    words = set(re.findall(r"[A-Za-z_]\w*", source_line(file, line)))
    explained = list(report.explanations) + [e for _, e in report.parameters]
    related = tuple(e for e in explained if e.name and e.name in words)
    if related:
        names = ", ".join(f"`{e.name}`" for e in related)
        message = f"On this line, the .grad of {names} is None; gradlens explains why below."
        return ErrorNote(title, error, line, file, message, related=related, path=related[0].path)
    return ErrorNote(title, error, line, file, "gradlens found nothing in the trace that explains this error.")


def _path_to_roots(report, roots) -> tuple:
    """The path of the first explanation that reaches one of ``roots`` (else just the roots)."""
    for e in report.explanations:
        if e.path and e.path[-1] in roots:
            return tuple(e.path)
    return tuple(roots)


def without_noted(report, note):
    """``report`` minus the backward failure that ``note`` already explains (it is shown first)."""
    if note is None:
        return report
    return dataclasses.replace(report, failures=tuple(f for f in report.failures if f.message != note.message))


def _hazard_words(graph, h) -> dict:
    if h is None:
        return {}
    saved = _tensor_words(graph, h.saved_tensor)
    edited = _tensor_words(graph, h.tensor)
    if h.tensor == h.saved_tensor and not saved.startswith("`"):
        saved = "the same tensor"
    return {"edited": edited, "saved": saved}


def finding_items(report, note=None) -> list:
    """The selectable findings, in tab order: the error (if any), why-None, cut-offs, hazards."""
    items = []
    if note is not None:
        items.append(Item("error", f"error at line {note.line}", error_html(note), note.path, note.line))
    for e in list(report.explanations) + [_named(name, e) for name, e in report.parameters]:
        items.append(Item("why", f"{e.name}  [{e.cause}]  line {e.line}", explanation_html(e), e.path, e.line))
    for c in report.cutoffs:
        target = f" -> {c.result_name}" if c.result_name and c.result != c.source else ""
        label = f"line {c.line}: {c.kind}  {c.source_name or c.source}{target}"
        items.append(Item("cutoffs", label, cutoff_html(c), _unique((c.source, c.result)), c.line))
    for h in report.hazards:
        label = f"line {h.edit_line}: {h.severity}  {h.kind} ({h.op})"
        items.append(Item("hazards", label, hazard_html(h), hazard_path(h), h.edit_line))
    return items


def _named(name, e: Explanation) -> Explanation:
    return e if e.name else dataclasses.replace(e, name=name)


_EMPTY = {
    "why": "No named tensor has a grad of None that needs explaining.",
    "cutoffs": "No gradient was cut off.",
    "hazards": "No in-place edit endangers backward.",
}


class FindingsWidget(widgets.VBox):
    """The findings of a trace (see module docstring); ``selected`` is the index of the chosen finding."""

    selected = traitlets.Int(-1, help="index into .items of the selected finding (-1: none)")
    highlight = traitlets.Tuple(help="graph ids drawn highlighted: the selected finding's path")

    def __init__(self, tr, max_nodes: int = 150, since=None, **kwargs) -> None:
        self.trace = tr
        self.max_nodes = max_nodes
        self.report = tr.report(since=since)
        self.note = error_note(tr, self.report)
        self.items = finding_items(self.report, self.note)
        self._syncing = False

        summary = f"<b>gradlens</b>: {self.report.summary}"
        self.summary = widgets.HTML(summary)
        head = [self.summary]
        if self.note is not None:
            head.append(widgets.HTML(error_html(self.note)))
        elif self.report.failures:
            head.append(widgets.HTML("".join(f"<p>{escape(f.message)}</p>" for f in self.report.failures)))

        self.selectors: dict = {}
        self.details: dict = {}
        pages = []
        for tab in _TABS:
            options = [(it.label, i) for i, it in enumerate(self.items) if it.tab == tab]
            self.details[tab] = widgets.HTML()
            if not options:
                pages.append(widgets.HTML(f"<p>{_EMPTY[tab]}</p>"))
                continue
            if tab == "why":
                sel = widgets.Dropdown(options=options, value=None, description="tensor")
            else:
                sel = widgets.Select(options=options, value=None, rows=min(len(options), 6))
            sel.layout.width = "max-content"
            sel.observe(self._chosen, "value")
            self.selectors[tab] = sel
            pages.append(widgets.VBox([sel, self.details[tab]]))

        graph_options = [("(nothing highlighted)", -1)] + [
            (f"{it.tab}: {it.label}", i) for i, it in enumerate(self.items)
        ]
        self.graph_selector = widgets.Dropdown(options=graph_options, value=-1, description="highlight")
        self.graph_selector.layout.width = "max-content"
        self.graph_selector.observe(self._chosen, "value")
        self.graph = widgets.HTML(self.graph_svg())
        pages.append(widgets.VBox([self.graph_selector, self.graph]))
        self.tabs = widgets.Tab(children=pages, titles=TAB_TITLES)

        super().__init__(children=[*head, self.tabs], **kwargs)
        first = next((i for i, it in enumerate(self.items) if it.tab == "error"), None)
        if first is None:
            first = next((i for i, it in enumerate(self.items) if it.tab == "hazards"), 0 if self.items else -1)
        self.select_finding(first)
        self.tabs.selected_index = self._tab_of(first)

    def release(self) -> None:
        """Close this widget and all its parts, and let go of the trace (frees their memory)."""
        stack = [self, *self.selectors.values(), self.graph_selector]
        while stack:
            w = stack.pop()
            stack.extend(c for c in getattr(w, "children", ()) if isinstance(c, widgets.Widget))
            # layout and style are widgets of their own, registered until closed
            stack.extend(p for p in (getattr(w, "layout", None), getattr(w, "style", None)) if p is not None)
            w.close()
        self.trace = self.report = self.note = None
        self.items = []

    def _tab_of(self, index: int) -> int:
        """The tab that shows finding ``index`` (an error shows its hazard, or its explanations)."""
        if index < 0:
            return 0
        tab = self.items[index].tab
        if tab == "error":
            tab = "hazards" if self.note.hazard is not None else "why"
        return _TABS.index(tab)

    # ------------------------------------------------------------------ actions
    def select_finding(self, index: int) -> None:
        """Select finding ``index`` of :attr:`items` (-1: none), as choosing it in a tab does."""
        if not -1 <= index < len(self.items):
            raise IndexError(f"finding {index} does not exist: this widget has {len(self.items)} findings")
        self.selected = index

    @traitlets.observe("selected")
    def _selected_changed(self, change) -> None:
        i = change["new"]
        item = self.items[i] if i >= 0 else None
        self.highlight = item.path if item is not None else ()
        self._syncing = True
        try:
            self.graph_selector.value = i
            if item is not None and item.tab in self.selectors:
                self.selectors[item.tab].value = i
                self.details[item.tab].value = item.html
        finally:
            self._syncing = False

    @traitlets.observe("highlight")
    def _highlight_changed(self, change) -> None:
        if hasattr(self, "graph"):
            self.graph.value = self.graph_svg()

    def _chosen(self, change) -> None:
        if not self._syncing and change["new"] is not None:
            self.select_finding(change["new"])

    # ------------------------------------------------------------------ renderings
    def graph_svg(self) -> str:
        """The graph with the current highlight."""
        return graph_svg(self.trace.recorder, max_nodes=self.max_nodes, highlight=self.highlight)

    def text(self) -> str:
        """The findings as plain text (terminal IPython, front-ends without widgets)."""
        parts = [str(self.note)] if self.note is not None else []
        parts.append(str(without_noted(self.report, self.note)))
        return "\n\n".join(parts)

    def html(self) -> str:
        """The findings as static HTML with the graph (nbconvert, GitHub)."""
        return findings_html(without_noted(self.report, self.note), self.note, self.graph_svg())

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs)
        data["text/plain"] = self.text()
        data["text/html"] = self.html()
        return data
