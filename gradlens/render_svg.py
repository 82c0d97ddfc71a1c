"""Draw a trace's graph as SVG: layered, with cuts, hazards and a highlighted path.

Tensors are boxes (green: a leaf that requires grad, blue: made by an op with a
``grad_fn``, grey: no grad), backward nodes are purple pills next to the tensor they
made. Data flow runs down; ``next`` edges (the backward graph) point up. Cuts are
dashed red, alias edges dotted, saved-tensor edges teal, anything an in-place hazard
touches orange, and the selected finding's path blue. Graphs with more than
``max_nodes`` nodes collapse to the neighbourhood of the findings, with a "+N more"
marker. Every piece of user text is escaped; styles are attributes, never a
``<style>`` block, so nothing leaks into the page around the SVG.

>>> import gradlens_core as torch, gradlens
>>> with gradlens.trace() as tr:
...     a = torch.tensor([1., 2.], requires_grad=True)
...     c = a.detach() * 2
>>> svg = graph_svg(tr.recorder)
>>> svg.startswith("<svg") and "stroke-dasharray" in svg
True
"""

from __future__ import annotations

import itertools
from html import escape

from .layout import MARGIN, Box, layout

__all__ = ["graph_svg", "graph_focus", "COLORS"]

COLORS = {
    "flow": "#9a9a9a",
    "cut": "#d62728",
    "alias": "#6f6f6f",
    "saved": "#17a2b8",
    "next": "#8c6bb1",
    "grad_fn": "#8c6bb1",
    "hazard": "#ff7f0e",
    "highlight": "#1f6feb",
}
_LEAF = ("#dff2d8", "#3c8d2f")
_NONLEAF = ("#dceaf7", "#4a7ab5")
_NOGRAD = ("#f0f0f0", "#9a9a9a")
_NODE = ("#f5f0fb", "#8c6bb1")
_HAZARD = ("#ffe3c2", COLORS["hazard"])
_CHAR = 7.0  # width of one character at font-size 12 (monospace)
_FONT = "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace"
_ids = itertools.count(1)


def _a(value) -> str:
    """An escaped attribute value."""
    return escape(str(value), quote=True)


def _shape(shape) -> str:
    """``[2, 3]`` for a shape given as a tuple or as its text ``'(2, 3)'``; ``scalar`` for ``()``."""
    if shape is None or shape == "":
        return ""
    if isinstance(shape, str):
        dims = [d.strip() for d in shape.strip("()[] ").split(",") if d.strip()]
    else:
        dims = [str(d) for d in shape]
    return "[" + ", ".join(dims) + "]" if dims else "scalar"


def _line(d):
    """The node's line, or None (the graph says -1 when it does not know)."""
    line = d.get("line")
    return line if isinstance(line, int) and line >= 0 else None


def _labels(graph, n) -> tuple:
    d = graph.nodes[n]
    if d.get("kind") == "node":
        return (str(d.get("name") or n),)
    first = str(d.get("name") or n)
    second = _shape(d.get("shape"))
    if d.get("dtype") and d.get("dtype") != "float32":
        second += f" {d['dtype']}"
    if _line(d) is not None:
        second += f" · line {_line(d)}"
    return (first, second.strip())


def _size(graph, n) -> tuple:
    labels = _labels(graph, n)
    width = max(len(s) for s in labels) * _CHAR + 18
    return (max(width, 44), 22 if len(labels) == 1 else 38)


def graph_focus(source, extra=()) -> list:
    """Node ids worth keeping when a big graph collapses: findings first, then backward roots.

    ``extra`` (e.g. the selected finding's path) comes first; long paths contribute their
    two ends and the nodes next to them, never thousands of ids.
    """
    rec = getattr(source, "recorder", source)
    focus: list = []

    def add(ids):
        ids = [i for i in ids if i]
        if len(ids) > 8:
            ids = ids[:4] + ids[-4:]
        focus.extend(ids)

    add(list(extra))
    for h in getattr(rec, "hazards", ()):
        add([h.tensor, h.saved_tensor, h.node_id])
    for cut in getattr(rec, "cuts", ()):
        add([cut[2], cut[3]])
    for run in getattr(rec, "runs", ()):
        add(list(run.roots))
    return list(dict.fromkeys(focus))


def graph_svg(source, max_nodes: int = 150, highlight=(), focus=None) -> str:
    """SVG of a trace's graph (``source`` is a :class:`~gradlens.trace.Trace` or its recorder).

    ``highlight`` is a path of node ids (an ``Explanation.path``, a hazard's tensors and
    node): its nodes and the edges between consecutive ids are drawn in blue. ``focus``
    overrides which nodes survive when the graph has more than ``max_nodes`` nodes
    (default: :func:`graph_focus`).
    """
    rec = getattr(source, "recorder", source)
    graph = rec.graph
    highlight = tuple(h for h in highlight if h is not None)
    if focus is None:
        focus = graph_focus(rec, highlight)
    lay = layout(graph, focus, max_nodes, size=lambda n: _size(graph, n))
    uid = f"gl{next(_ids)}"

    hazard_nodes: set = set()
    hazard_edges: set = set()
    for h in getattr(rec, "hazards", ()):
        hazard_nodes.update(x for x in (h.tensor, h.saved_tensor, h.node_id) if x)
        if h.node_id and h.saved_tensor:
            hazard_edges.add((h.node_id, h.saved_tensor, "saved"))
        if h.tensor and h.saved_tensor and h.tensor != h.saved_tensor:
            hazard_edges.add((h.saved_tensor, h.tensor, "alias"))
            hazard_edges.add((h.tensor, h.saved_tensor, "alias"))
    hl_nodes = set(highlight)
    hl_pairs = {frozenset(p) for p in zip(highlight, highlight[1:])}

    legend, legend_w = _legend(uid)
    width = max(lay.width, legend_w + 2 * MARGIN)
    shift = (width - lay.width) / 2
    height = max(lay.height, 80)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="gradlens-graph" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{_FONT}" font-size="12" '
        f'style="max-width:100%;height:auto;background:#fff">',
        _defs(uid),
        legend,
    ]
    if lay.hidden:
        out.append(
            f'<text class="gradlens-more" x="{width - MARGIN:.0f}" y="{height - 4:.0f}" text-anchor="end" '
            f'fill="#555" font-size="12">+{lay.hidden} more (graph collapsed to the neighbourhood of the findings)'
            "</text>"
        )
    if not lay.boxes:
        out.append(f'<text x="{MARGIN}" y="{height - 20:.0f}" fill="#555">(empty graph: no tensors recorded)</text>')

    pair_count: dict = {}
    for u, v, _, _ in lay.edges:
        k = frozenset((u, v))
        pair_count[k] = pair_count.get(k, 0) + 1
    pair_seen: dict = {}
    edge_parts, hl_parts = [], []
    for u, v, key, data in lay.edges:
        if u == v:
            continue
        k = frozenset((u, v))
        i = pair_seen[k] = pair_seen.get(k, -1) + 1
        offset = (i - (pair_count[k] - 1) / 2) * 7
        path = _route(_moved(lay.boxes[u], shift), _moved(lay.boxes[v], shift), key, offset)
        color, dash, width_ = COLORS.get(key, COLORS["flow"]), "", 1.2
        label = ""
        if key == "flow" and data.get("cut"):
            color, dash, width_ = COLORS["cut"], "6 4", 2
            label = "cut: " + str(data["cut"])
        elif key == "alias":
            dash = "2 3"
            if not any(d.get("cut") for kk, d in graph[u][v].items() if kk == "flow"):
                label = str(data.get("alias") or "")  # a cut's label already says it
        elif key == "grad_fn":
            width_ = 1
        if (u, v, key) in hazard_edges:
            color, width_ = COLORS["hazard"], 2.5
        hl = k in hl_pairs
        if hl:
            color, width_ = COLORS["highlight"], 3
        marker = "" if key == "grad_fn" else f' marker-end="url(#{uid}-{_marker_name(color)})"'
        attrs = f'd="{path[0]}" fill="none" stroke="{color}" stroke-width="{width_}"'
        if dash:
            attrs += f' stroke-dasharray="{dash}"'
        cls = "gradlens-edge gradlens-hl" if hl else "gradlens-edge"
        part = f'<path class="{cls}" data-edge="{_a(u)} {_a(v)} {_a(key)}" {attrs}{marker}/>'
        if label:
            part += (
                f'<text x="{path[1] + 5:.1f}" y="{path[2]:.1f}" fill="{color}" font-size="10">{escape(label)}</text>'
            )
        (hl_parts if hl else edge_parts).append(part)
    out += edge_parts + hl_parts  # highlighted edges on top

    for n, box in lay.boxes.items():
        out.append(
            _node(
                graph, n, _moved(box, shift), n in hazard_nodes, n in hl_nodes, lay.stubs.get(n, 0) if lay.hidden else 0
            )
        )
    out.append("</svg>")
    return "".join(out)


def _moved(box: Box, dx: float) -> Box:
    return Box(box.id, box.x + dx, box.y, box.w, box.h, box.layer) if dx else box


def _marker_name(color: str) -> str:
    return "arrow-" + color.lstrip("#")


def _defs(uid: str) -> str:
    markers = []
    for color in dict.fromkeys(COLORS.values()):
        markers.append(
            f'<marker id="{uid}-{_marker_name(color)}" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="8" '
            f'markerHeight="8" markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="{color}"/></marker>'
        )
    return "<defs>" + "".join(markers) + "</defs>"


def _legend(uid: str) -> tuple:
    items = [
        ("box", _LEAF, "leaf, requires grad"),
        ("box", _NONLEAF, "has grad_fn"),
        ("box", _NOGRAD, "no grad"),
        ("pill", _NODE, "backward node"),
        ("line", (COLORS["flow"], ""), "data flow"),
        ("line", (COLORS["cut"], "6 4"), "cut"),
        ("line", (COLORS["alias"], "2 3"), "alias"),
        ("line", (COLORS["saved"], ""), "saved"),
        ("line", (COLORS["next"], ""), "next (backward)"),
        ("line", (COLORS["hazard"], ""), "in-place hazard"),
        ("line", (COLORS["highlight"], ""), "selected"),
    ]
    parts, x, y = [], MARGIN, 14
    for i, (shape, style, text) in enumerate(items):
        if i == 6:  # second row
            x, y = MARGIN, 34
        if shape == "line":
            color, dash = style
            d = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(f'<line x1="{x}" y1="{y}" x2="{x + 22}" y2="{y}" stroke="{color}" stroke-width="2"{d}/>')
        else:
            rx = 8 if shape == "pill" else 3
            parts.append(
                f'<rect x="{x}" y="{y - 6}" width="22" height="12" rx="{rx}" fill="{style[0]}" stroke="{style[1]}"/>'
            )
        parts.append(f'<text x="{x + 27}" y="{y + 4}" fill="#333" font-size="11">{escape(text)}</text>')
        x += 27 + len(text) * 6.6 + 16
        if i == 5:
            first_row = x
    width = max(first_row, x) - MARGIN
    return f'<g class="gradlens-legend">{"".join(parts)}</g>', width


def _route(a: Box, b: Box, key: str, offset: float) -> tuple:
    """SVG path data from box ``a`` to box ``b``, and a point near its middle for a label."""
    if b.layer != a.layer:
        down = b.layer > a.layer
        x1, y1 = a.cx + offset, (a.y + a.h) if down else a.y
        x2, y2 = b.cx + offset, b.y if down else (b.y + b.h)
        my = (y1 + y2) / 2
        return f"M{x1:.1f},{y1:.1f} C{x1:.1f},{my:.1f} {x2:.1f},{my:.1f} {x2:.1f},{y2:.1f}", (x1 + x2) / 2, my
    if key == "grad_fn" and b.x >= a.x:
        x1, x2, y = a.x + a.w, b.x, a.cy + offset
        return f"M{x1:.1f},{y:.1f} L{x2:.1f},{y:.1f}", (x1 + x2) / 2, y - 3
    # same row: arc over the top going right, under the bottom going left
    right = b.cx >= a.cx
    y1 = a.y if right else a.y + a.h
    y2 = b.y if right else b.y + b.h
    bend = -26 if right else 26
    x1, x2 = a.cx + offset, b.cx + offset
    cy = min(y1, y2) + bend if right else max(y1, y2) + bend
    return f"M{x1:.1f},{y1:.1f} C{x1:.1f},{cy:.1f} {x2:.1f},{cy:.1f} {x2:.1f},{y2:.1f}", (x1 + x2) / 2, cy


def _node(graph, n, box: Box, hazard: bool, selected: bool, stub: int) -> str:
    d = graph.nodes[n]
    labels = _labels(graph, n)
    is_node = d.get("kind") == "node"
    if is_node:
        fill, stroke = _NODE
        rx = box.h / 2
    else:
        fill, stroke = _LEAF if d.get("is_leaf") and d.get("requires_grad") else _NONLEAF
        if not d.get("requires_grad"):
            fill, stroke = _NOGRAD
        rx = 4
    stroke_w = 1.2
    if hazard:
        fill, stroke, stroke_w = _HAZARD[0], _HAZARD[1], 2.2
    if selected:
        stroke, stroke_w = COLORS["highlight"], 3
    dash = ""
    if d.get("detached_line") is not None:
        dash = ' stroke-dasharray="5 3"'
        if not selected and not hazard:
            stroke = COLORS["cut"]
    cls = "gradlens-node" + (" gradlens-hl" if selected else "") + (" gradlens-hazard" if hazard else "")
    opacity = ' opacity="0.6"' if d.get("alive") is False else ""
    parts = [
        f'<g class="{cls}" data-id="{_a(n)}"{opacity}><title>{escape(_tooltip(n, d))}</title>',
        f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.w:.1f}" height="{box.h:.1f}" rx="{rx:.1f}" '
        f'fill="{fill}" stroke="{stroke}" stroke-width="{stroke_w}"{dash}/>',
    ]
    if len(labels) == 1:
        parts.append(
            f'<text x="{box.cx:.1f}" y="{box.cy + 4:.1f}" text-anchor="middle" fill="#3b2a5c" font-size="11">'
            f"{escape(labels[0])}</text>"
        )
    else:
        parts.append(
            f'<text x="{box.cx:.1f}" y="{box.y + 15:.1f}" text-anchor="middle" fill="#111" font-weight="bold">'
            f"{escape(labels[0])}</text>"
            f'<text x="{box.cx:.1f}" y="{box.y + 30:.1f}" text-anchor="middle" fill="#555" font-size="10">'
            f"{escape(labels[1])}</text>"
        )
    if stub:
        parts.append(
            f'<text class="gradlens-stub" x="{box.x + box.w + 3:.1f}" y="{box.y + 8:.1f}" fill="#888" '
            f'font-size="10">+{stub}</text>'
        )
    parts.append("</g>")
    return "".join(parts)


def _tooltip(n, d) -> str:
    if d.get("kind") == "node":
        return f"{n}: {d.get('name')}" + (f" (made at line {_line(d)})" if _line(d) is not None else "")
    bits = [f"{n}: {d.get('name') or '(unnamed)'}", f"op {d.get('op')}", f"shape {_shape(d.get('shape'))}"]
    bits.append(f"dtype {d.get('dtype')}")
    bits.append(f"requires_grad={d.get('requires_grad')}, is_leaf={d.get('is_leaf')}")
    if d.get("grad_fn"):
        bits.append(f"grad_fn={d['grad_fn']}")
    bits.append(f"version {d.get('version')}")
    if _line(d) is not None:
        bits.append(f"line {_line(d)}")
    if d.get("alive") is False:
        bits.append("(freed)")
    return "\n".join(bits)
