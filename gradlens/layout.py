"""Geometry for drawing a trace's graph: which nodes to draw, in which layer, where.

Pure functions of the ``networkx`` graph (no drawing, no IPython). Big graphs are cut
down to the neighbourhood of the findings first, so everything after that works on at
most ``max_nodes`` nodes; every walk over the full graph is iterative (a 100,000-node
chain must not hit Python's recursion limit).

Layers come from :func:`networkx.topological_generations` over the data flow: leaves
on top, the loss at the bottom. A backward node shares the slot of the tensor it made
(its ``grad_fn``), drawn to the right of it.

>>> import networkx as nx
>>> g = nx.MultiDiGraph()
>>> g.add_node("t1", kind="tensor"); g.add_node("t2", kind="tensor"); g.add_node("n3", kind="node")
>>> _ = g.add_edge("t1", "t2", key="flow"); _ = g.add_edge("t2", "n3", key="grad_fn")
>>> _ = g.add_edge("n3", "t1", key="next")
>>> lay = layout(g, size=lambda n: (60, 30))
>>> lay.boxes["t1"].layer, lay.boxes["t2"].layer, lay.boxes["n3"].layer
(0, 1, 1)
>>> lay.boxes["n3"].x > lay.boxes["t2"].x
True
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field

import networkx as nx

__all__ = ["Box", "Layout", "neighbourhood", "layers", "layout", "creation_order"]

# Spacing, in SVG user units.
MARGIN = 16
TOP = 56  # room for the legend
SLOT_GAP = 28  # between two slots of a row
NODE_GAP = 10  # between a tensor and its backward node(s)
ROW_GAP = 46

_ID = re.compile(r"[a-z](\d+)$")


@dataclass
class Box:
    """A drawn graph node: top-left corner, size and layer."""

    id: str
    x: float
    y: float
    w: float
    h: float
    layer: int

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass
class Layout:
    """Where each drawn node goes, which edges are drawn, and what was left out."""

    boxes: dict = field(default_factory=dict)  # node id -> Box
    edges: list = field(default_factory=list)  # (u, v, key, data) between drawn nodes
    hidden: int = 0  # graph nodes not drawn
    stubs: dict = field(default_factory=dict)  # drawn node -> number of its neighbours not drawn
    width: float = 0
    height: float = 0


def creation_order(node_id) -> tuple:
    """Sort key: ``t2`` before ``n10`` (the recorder numbers tensors and nodes with one counter)."""
    m = _ID.match(str(node_id))
    return (int(m.group(1)), str(node_id)) if m else (float("inf"), str(node_id))


def neighbourhood(graph, focus, max_nodes: int) -> list:
    """At most ``max_nodes`` node ids: ``focus`` first, then nodes ever farther from it.

    A breadth-first search over edges in both directions from all focus nodes at once, so
    each finding gets its share of the budget. Without a usable focus, the most recently
    made nodes are the focus.

    >>> g = nx.path_graph(10, create_using=nx.MultiDiGraph)
    >>> sorted(neighbourhood(g, [5], 3))
    [4, 5, 6]
    """
    if graph.number_of_nodes() <= max_nodes:
        return list(graph.nodes)
    seen: dict = {}
    queue: deque = deque()
    for n in focus:
        if n in graph and n not in seen and len(seen) < max_nodes:
            seen[n] = None
            queue.append(n)
    if not seen:
        last = max(graph.nodes, key=creation_order)  # the most recently made node
        seen[last] = None
        queue.append(last)
    succ, pred = graph.succ, graph.pred
    while queue and len(seen) < max_nodes:
        n = queue.popleft()
        for nbrs in (succ[n], pred[n]):
            for m in nbrs:
                if m not in seen:
                    seen[m] = None
                    queue.append(m)
                    if len(seen) >= max_nodes:
                        break
            if len(seen) >= max_nodes:
                break
    return list(seen)


def _slots(graph, nodes: set) -> dict:
    """Map every drawn node to the drawn node whose slot it shares (a backward node -> its tensor)."""
    rep = {n: n for n in nodes}
    for n in nodes:
        if graph.nodes[n].get("kind") != "node":
            continue
        outputs = [t for t, _, key in graph.in_edges(n, keys=True) if key == "grad_fn" and t in nodes]
        if outputs:
            rep[n] = min(outputs, key=creation_order)
    return rep


def layers(graph, nodes) -> dict:
    """Layer of each node in ``nodes``: generations of the data flow among them.

    Data flow and alias edges point down; a ``next`` edge (backward node -> the node or
    leaf it feeds) points up, since what it feeds was made earlier. Cycles (an in-place
    edit feeding a tensor back into itself, a node saving its own output) are folded by
    :func:`networkx.condensation` before :func:`networkx.topological_generations`.
    """
    nodes = set(nodes)
    rep = _slots(graph, nodes)
    dag = nx.DiGraph()
    dag.add_nodes_from(set(rep.values()))
    for u in nodes:
        for v, keys in graph.succ[u].items():
            if v not in nodes:
                continue
            for key in keys:
                if key in ("flow", "alias"):
                    a, b = rep[u], rep[v]
                elif key == "next":
                    a, b = rep[v], rep[u]
                else:
                    continue
                if a != b:
                    dag.add_edge(a, b)
    cond = nx.condensation(dag)
    member = cond.graph["mapping"]
    gen = {}
    for i, generation in enumerate(nx.topological_generations(cond)):
        for c in generation:
            gen[c] = i
    return {n: gen[member[rep[n]]] for n in nodes}


def layout(graph, focus=(), max_nodes: int = 150, size=None) -> Layout:
    """Place the neighbourhood of ``focus`` (at most ``max_nodes`` nodes) in layered rows.

    ``size(node_id) -> (width, height)`` gives each box's size. Within a row, slots are
    ordered by the mean position of what feeds them (one barycentre pass), then by
    creation order, and each row is centred.
    """
    size = size or (lambda n: (80, 30))
    drawn = neighbourhood(graph, focus, max_nodes)
    nodes = set(drawn)
    result = Layout(hidden=graph.number_of_nodes() - len(nodes))
    if not nodes:
        result.width, result.height = 2 * MARGIN + 200, TOP + MARGIN
        return result
    layer = layers(graph, nodes)
    rep = _slots(graph, nodes)
    members: dict = {r: [r] for r in sorted(set(rep.values()), key=creation_order)}
    for n in sorted(nodes, key=creation_order):
        if rep[n] != n:
            members[rep[n]].append(n)  # backward nodes to the right of the tensor they made
    rows: dict = {}
    for r in members:
        rows.setdefault(layer[r], []).append(r)

    feeders: dict = {r: [] for r in members}
    for u in nodes:
        for v, keys in graph.succ[u].items():
            if v in nodes and rep[u] != rep[v] and ("flow" in keys or "alias" in keys):
                feeders[rep[v]].append(rep[u])

    order_x: dict = {}
    sizes = {n: size(n) for n in nodes}
    row_widths, row_heights = {}, {}
    for i in sorted(rows):
        slots = rows[i]

        def key(r, _i=i):
            xs = [order_x[f] for f in feeders[r] if f in order_x and layer[f] < _i]
            return (sum(xs) / len(xs) if xs else float("inf"), creation_order(r))

        slots.sort(key=key)
        x = 0.0
        for r in slots:
            order_x[r] = x
            for j, n in enumerate(members[r]):
                x += (NODE_GAP if j else 0) + sizes[n][0]
            x += SLOT_GAP
        row_widths[i] = x - SLOT_GAP
        row_heights[i] = max(sizes[n][1] for r in slots for n in members[r])

    width = max(row_widths.values())
    y = TOP
    for i in sorted(rows):
        x = MARGIN + (width - row_widths[i]) / 2
        for r in rows[i]:
            for j, n in enumerate(members[r]):
                w, h = sizes[n]
                x += NODE_GAP if j else 0
                result.boxes[n] = Box(n, x, y + (row_heights[i] - h) / 2, w, h, i)
                x += w
            x += SLOT_GAP
        y += row_heights[i] + ROW_GAP

    succ, pred = graph.succ, graph.pred
    for u in drawn:
        for v, keys in succ[u].items():
            if v in nodes:
                for key, data in keys.items():
                    result.edges.append((u, v, key, data))
        if result.hidden:
            missing = sum(1 for m in succ[u] if m not in nodes) + sum(1 for m in pred[u] if m not in nodes)
            if missing:
                result.stubs[u] = missing
    result.width = width + 2 * MARGIN
    result.height = y - ROW_GAP + MARGIN
    return result
