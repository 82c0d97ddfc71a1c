"""``gradlens.trace()``: record what gradlens_core does and explain it.

>>> import gradlens_core as torch, gradlens
>>> with gradlens.trace() as tr:
...     a = torch.tensor([1., 2., 3.], requires_grad=True)
...     out = a.sigmoid()
...     c = out.data
...     _ = c.zero_()
...     out.sum().backward()
>>> [h.kind for h in tr.hazards()]
['silent_wrong_grad']
"""

from __future__ import annotations

import json
import os
import weakref

from . import analysis
from .findings import ErrorInfo, Report
from .frames import user_frame
from .recorder import Recorder

__all__ = ["Trace", "trace", "last_trace", "clear_last"]

_last = [None]


def last_trace():
    """The most recent trace (None before the first one)."""
    ref = _last[0]
    return ref() if ref is not None else None


class Trace:
    """A recording of gradlens_core activity, with the questions gradlens answers about it."""

    def __init__(self, adapter=None) -> None:
        self.recorder = Recorder() if adapter is None else Recorder(adapter)
        self.error = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Trace:
        """Start listening (idempotent)."""
        _last[0] = weakref.ref(self)
        _keep_last[0] = self
        self.recorder.start()
        return self

    def stop(self) -> Trace:
        """Stop listening; the graph and findings stay available."""
        self.recorder.stop(user_frame(2))
        return self

    @property
    def active(self) -> bool:
        return self.recorder.active

    def __enter__(self) -> Trace:
        return self.start()

    def __exit__(self, exc_type, exc, tb) -> None:
        self.error = ErrorInfo.of(exc)
        self.recorder.stop(user_frame(2))

    # ------------------------------------------------------------------ answers
    @property
    def graph(self):
        """A ``networkx.MultiDiGraph`` of tensors (``t<k>``) and backward nodes (``n<k>``)."""
        return self.recorder.graph

    def why_none(self, t):
        """Why ``t.grad`` is None: an :class:`~gradlens.findings.Explanation`."""
        self.recorder.flush()
        return analysis.why_none(self.recorder, t)

    def cutoffs(self) -> list:
        """Every place a gradient path was cut (:class:`~gradlens.findings.Cutoff`)."""
        return self.recorder.cutoffs()

    def hazards(self) -> list:
        """In-place edits that break backward or silently corrupt it (:class:`~gradlens.findings.Hazard`)."""
        self.recorder._add_hazards(analysis.check_numpy_writes(self.recorder))
        return list(self.recorder.hazards)

    def failures(self) -> tuple:
        """Backward calls that raised, with their explanations."""
        return analysis.failures(self.recorder)

    def checkpoint(self) -> tuple:
        """A mark of the findings so far; ``report(since=mark)`` lists only newer ones."""
        rec = self.recorder
        return (frozenset(id(h) for h in rec.hazards), frozenset(id(c) for c in rec.cuts), len(rec.runs))

    def report(self, since: tuple | None = None) -> Report:
        """All findings: explanations of named leaves with grad None, cut-offs, hazards, failures.

        With ``since`` (a :meth:`checkpoint`), hazards, cut-offs and failed backward calls
        are only those found after it (``%gradlens on`` shows each cell its own).
        """
        rec = self.recorder
        rec.flush()
        hazards = tuple(self.hazards())
        cutoffs = tuple(self.cutoffs())
        failures = self.failures()
        if since is not None:
            old_hazards, old_cuts, old_runs = since
            hazards = tuple(h for h in hazards if id(h) not in old_hazards)
            cutoffs = tuple(c for c, raw in zip(cutoffs, rec.cuts) if id(raw) not in old_cuts)
            old_failures = sum(r.error is not None for r in rec.runs[:old_runs])
            failures = failures[old_failures:]
        params = analysis.unexplained_parameters(rec)
        param_ids = {e.tensor_id for _, e in params}
        explanations = []
        if rec.runs:
            for r in list(rec.records.values()):
                t = r.ref()
                if t is None or r.name is None or r.gid in param_ids:
                    continue
                if not (r.requires_grad or r.rebound_from) or rec.adapter.grad(t) is not None:
                    continue
                if not rec.adapter.is_leaf(t) and r.rebound_from is None:
                    continue
                explanations.append(self.why_none(t))
        return Report(
            tensors=len(rec.records),
            nodes=len(rec.node_records),
            explanations=tuple(explanations),
            cutoffs=cutoffs,
            hazards=hazards,
            failures=failures,
            parameters=params,
            file=next(iter(rec.files), None),
        )

    def __repr__(self) -> str:
        state = "active" if self.active else "stopped"
        g = self.recorder.graph
        return f"<gradlens.Trace {state}: {g.number_of_nodes()} graph nodes, {len(self.recorder.hazards)} hazards>"

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(str(self.report()))

    def _repr_html_(self) -> str:
        from .render_html import trace_html

        return trace_html(self)

    def export(self, path) -> str:
        """Write the graph to ``path``: GraphML (``.graphml``) or JSON with the findings (``.json``).

        Returns the format written (``'graphml'`` or ``'json'``); any other extension is a ValueError.
        """
        ext = os.path.splitext(str(path))[1].lower()
        if ext == ".json":
            from .cli import report_json

            with open(path, "w", encoding="utf-8") as fh:
                json.dump(report_json(self), fh, indent=1, default=str)
            return "json"
        if ext == ".graphml":
            import networkx as nx

            nx.write_graphml(_graphml_ready(self.graph), path)
            return "graphml"
        raise ValueError(f"cannot export to {str(path)!r}: the file name must end in .graphml or .json")


_keep_last = [None]  # the most recent trace stays reachable for gradlens.why_none()


def clear_last() -> None:
    """Forget the most recent trace (``%gradlens clear``): ``gradlens.why_none`` needs a new one."""
    _last[0] = None
    _keep_last[0] = None


def _graphml_ready(graph):
    """A copy of ``graph`` whose attributes GraphML can hold: no None, shapes as text."""
    import networkx as nx

    def clean(attrs):
        out = {}
        for k, v in attrs.items():
            if v is None:
                continue
            out[k] = v if isinstance(v, (str, int, float, bool)) else str(list(v) if isinstance(v, tuple) else v)
        return out

    g = nx.MultiDiGraph()
    g.add_nodes_from((n, clean(d)) for n, d in graph.nodes(data=True))
    g.add_edges_from((u, v, k, clean(d)) for u, v, k, d in graph.edges(keys=True, data=True))
    return g


def trace(adapter=None) -> Trace:
    """A new :class:`Trace`; use it as a context manager or call ``start()``/``stop()``."""
    return Trace(adapter)
