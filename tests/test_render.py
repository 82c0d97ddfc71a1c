"""Graph layout and SVG, and the text/HTML representations of traces and findings."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import networkx as nx
import pytest
from IPython.lib.pretty import pretty

import gradlens
from gradlens.demo import PROGRAMS
from gradlens.findings import FindingList
from gradlens.layout import layers, layout, neighbourhood
from gradlens.render_html import report_html, trace_html
from gradlens.render_svg import COLORS, graph_svg
from gradlens.runner import run_source

SVG = "{http://www.w3.org/2000/svg}"


def program(title_start: str) -> str:
    return next(src for title, _, src, _ in PROGRAMS if title.startswith(title_start))


def named(tr) -> dict:
    return {d["name"]: n for n, d in tr.graph.nodes(data=True) if d["kind"] == "tensor" and d["name"]}


def edges(svg: str) -> dict:
    """(u, v, key) -> attributes of each drawn edge."""
    out = {}
    for p in ET.fromstring(svg).iter(SVG + "path"):
        if p.get("data-edge"):
            u, v, key = p.get("data-edge").split()
            out[(u, v, key)] = p.attrib
    return out


def boxes(svg: str) -> dict:
    """node id -> attributes of its drawn rectangle, plus the group's class."""
    out = {}
    for g in ET.fromstring(svg).iter(SVG + "g"):
        if g.get("data-id"):
            rect = g.find(SVG + "rect")
            out[g.get("data-id")] = {**rect.attrib, "class": g.get("class")}
    return out


@pytest.mark.parametrize("title", [t for t, *_ in PROGRAMS])
def test_svg_of_every_seed_program_is_well_formed(title):
    src = next(s for t, _, s, _ in PROGRAMS if t == title)
    tr, *_ = run_source(src)
    svg = graph_svg(tr)
    root = ET.fromstring(svg)  # raises on malformed XML
    assert root.tag == SVG + "svg"
    assert set(boxes(svg)) == set(tr.graph.nodes)


def test_cuts_dashed_red_aliases_dotted_hazards_orange():
    tr, *_ = run_source(program("3."))  # c = out.detach(); c.zero_(); backward raises
    ids = named(tr)
    svg = graph_svg(tr)
    drawn = edges(svg)
    cut = drawn[(ids["out"], ids["c"], "flow")]
    assert cut["stroke"] == COLORS["cut"] and cut["stroke-dasharray"] == "6 4"
    alias = drawn[(ids["out"], ids["c"], "alias")]
    assert alias["stroke-dasharray"] == "2 3"
    [h] = tr.hazards()
    saved = drawn[(h.node_id, h.saved_tensor, "saved")]
    assert saved["stroke"] == COLORS["hazard"]
    drawn_boxes = boxes(svg)
    for gid in (h.tensor, h.saved_tensor, h.node_id):
        assert "gradlens-hazard" in drawn_boxes[gid]["class"] and drawn_boxes[gid]["stroke"] == COLORS["hazard"]
    assert "gradlens-hazard" not in drawn_boxes[ids["a"]]["class"]
    assert drawn_boxes[ids["a"]]["fill"] == "#dff2d8"  # a leaf that requires grad is green
    assert "cut: detach" in svg


def test_layers_follow_the_data_flow_and_nodes_sit_by_their_tensor():
    tr, *_ = run_source(program("1."))
    ids = named(tr)
    lay = layout(tr.graph, size=lambda n: (60, 30))
    b = lay.boxes
    assert b[ids["a"]].layer < b[ids["out"]].layer < b[ids["c"]].layer
    [sig] = [n for n, d in tr.graph.nodes(data=True) if d.get("name") == "SigmoidBackward0"]
    assert b[sig].layer == b[ids["out"]].layer and b[sig].x > b[ids["out"]].x
    assert b[sig].y + b[sig].h > b[ids["out"]].y  # same row


def test_layers_survive_cycles():
    g = nx.MultiDiGraph()
    g.add_node("t1", kind="tensor")
    g.add_node("t2", kind="tensor")
    g.add_edge("t1", "t2", key="flow")
    g.add_edge("t2", "t1", key="flow")  # a.copy_(b); b.copy_(a)
    g.add_edge("t2", "t2", key="flow")  # x.add_(x)
    assert layers(g, g.nodes) == {"t1": 0, "t2": 0}


def test_selected_path_is_highlighted():
    tr, *_ = run_source(program("2."))  # backward through the detached c fails
    e = tr.why_none(tr.recorder.records[named(tr)["a"]].ref())
    assert e.cause == "cut:detach" and len(e.path) >= 3
    svg = graph_svg(tr, highlight=e.path)
    hl = {gid for gid, b in boxes(svg).items() if "gradlens-hl" in b["class"]}
    assert hl == set(e.path)
    hl_edges = {(u, v) for (u, v, _), a in edges(svg).items() if "gradlens-hl" in a["class"]}
    assert {frozenset(p) for p in hl_edges} == {frozenset(p) for p in zip(e.path, e.path[1:])}


def test_neighbourhood_is_bounded_and_starts_at_the_focus():
    g = nx.path_graph(1000, create_using=nx.MultiDiGraph)
    near = neighbourhood(g, [500, 10], 7)
    assert len(near) == 7 and near[:2] == [500, 10] and set(near) <= {8, 9, 10, 11, 12, 498, 499, 500, 501, 502}


def test_long_chain_collapses_without_recursion():
    """A 100,000-node graph: the SVG shows the findings' neighbourhood and says how much is hidden."""
    tr, *_ = run_source(
        """
        import gradlens_core as torch
        a = torch.tensor([1.], requires_grad=True)
        b = torch.tensor([1.], requires_grad=True)
        xs = [b]
        for i in range(50000):
            xs.append(xs[-1] * 1.0)  # kept alive: 50,000 tensors and their 50,000 nodes
        y = xs[-1].detach() * 2
        loss = (y * a).sum()
        loss.backward()
        """
    )
    g = tr.graph
    assert g.number_of_nodes() > 100_000
    [cut] = tr.cutoffs()
    svg = graph_svg(tr, max_nodes=120)  # its latency is measured by benchmarks/ (analysis_latency)
    drawn = boxes(svg)
    assert len(drawn) == 120 and {cut.source, cut.result} <= set(drawn)
    hidden = g.number_of_nodes() - 120
    [more] = [t for t in ET.fromstring(svg).iter(SVG + "text") if t.get("class") == "gradlens-more"]
    assert more.text.startswith(f"+{hidden} more")
    stubs = [t for t in ET.fromstring(svg).iter(SVG + "text") if t.get("class") == "gradlens-stub"]
    assert stubs  # the drawn nodes that connect to hidden ones say so
    # explaining on the big graph works too, and its 50,000-id path collapses as well
    e = tr.why_none(tr.recorder.records[named(tr)["b"]].ref())
    assert e.cause == "cut:detach" and len(e.path) > 50_000
    svg = graph_svg(tr, max_nodes=120, highlight=e.path)
    drawn = boxes(svg)
    assert {e.path[0], cut.source, cut.result} <= set(drawn)
    assert any("gradlens-hl" in b["class"] for b in drawn.values())
    assert trace_html(tr, max_nodes=50).count("<svg") == 1
    # and so does the widget, for every finding it can select
    from gradlens.widget import FindingsWidget

    w = FindingsWidget(tr, max_nodes=120)
    for i in range(len(w.items)):
        w.select_finding(i)
    assert f"+{hidden} more" in w.html()


def test_reprs_for_terminal_and_html():
    tr, *_ = run_source(program("3."))
    report = tr.report()
    [h] = report.hazards
    [c] = report.cutoffs
    [e] = report.explanations
    for obj in (h, c, e, report, FindingList([c], "Cut-offs")):
        assert pretty(obj) == str(obj)
        assert obj._repr_html_().startswith("<div")
    assert pretty(tr) == str(report)
    assert "will raise" in h._repr_html_() and "SigmoidBackward0" in h._repr_html_()
    html = tr._repr_html_()
    assert "gradlens-report" in html and "<svg" in html
    assert str(FindingList([], "Cut-offs")) == "Cut-offs: none"


def test_report_html_escapes_user_text():
    evil = "<img src=x onerror=alert(1)>"
    tr, *_ = run_source(
        f"""
        import gradlens_core as torch
        globals()[{evil!r}] = torch.tensor([1., 2.], requires_grad=True)
        d = globals()[{evil!r}].detach()
        """
    )
    for html in (report_html(tr.report()), trace_html(tr), graph_svg(tr)):
        assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_export_graphml_and_json(tmp_path):
    tr, *_ = run_source(program("4."))  # .data: a silent wrong gradient
    assert tr.export(tmp_path / "g.graphml") == "graphml"
    g = nx.read_graphml(tmp_path / "g.graphml")
    assert g.number_of_nodes() == tr.graph.number_of_nodes()
    assert {d.get("name") for _, d in g.nodes(data=True)} >= {"a", "out", "c"}
    assert tr.export(tmp_path / "g.json") == "json"
    data = json.loads((tmp_path / "g.json").read_text())
    assert [h["kind"] for h in data["hazards"]] == ["silent_wrong_grad"]
    with pytest.raises(ValueError, match=r"\.graphml or \.json"):
        tr.export(tmp_path / "g.csv")


def test_empty_trace_draws_a_placeholder():
    with gradlens.trace() as tr:
        pass
    svg = graph_svg(tr)
    ET.fromstring(svg)
    assert "empty graph" in svg
