"""The findings widget, driven from Python (no browser): children, state, selection, escaping."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import ipywidgets as widgets
import pytest

from gradlens.runner import run_source
from gradlens.widget import TAB_TITLES, FindingsWidget, error_note

SEED_INPLACE = """
import gradlens_core as torch
a = torch.tensor([1, 2, 3.], requires_grad=True)
out = a.sigmoid()
c = out.detach()
c.zero_()
out.sum().backward()
"""

SVG = "{http://www.w3.org/2000/svg}"


def named(tr) -> dict:
    """Variable name -> graph id of the tensors the trace named."""
    return {d["name"]: n for n, d in tr.graph.nodes(data=True) if d["kind"] == "tensor" and d["name"]}


def node_of(tr, name) -> str:
    [n] = [n for n, d in tr.graph.nodes(data=True) if d["kind"] == "node" and d["name"] == name]
    return n


def highlighted(svg: str) -> tuple:
    """(ids of highlighted nodes, (u, v) of highlighted edges) in an SVG drawn by gradlens."""
    root = ET.fromstring(svg)
    nodes = {g.get("data-id") for g in root.iter(SVG + "g") if "gradlens-hl" in (g.get("class") or "")}
    edges = {
        tuple(p.get("data-edge").split()[:2])
        for p in root.iter(SVG + "path")
        if "gradlens-hl" in (p.get("class") or "")
    }
    return nodes, edges


@pytest.fixture
def inplace():
    tr, _, error, namespace = run_source(SEED_INPLACE)
    assert isinstance(error, RuntimeError)
    yield tr  # the program's variables stay alive meanwhile, as a user's would


def test_children_and_state_for_a_known_trace(inplace):
    w = FindingsWidget(inplace)
    ids = named(inplace)
    sigmoid = node_of(inplace, "SigmoidBackward0")
    summary, banner, tabs = w.children
    assert summary.value == "<b>gradlens</b>: 4 tensors, 2 backward nodes, 1 cut-offs, 1 in-place hazards"
    assert "gradlens-error" in banner.value and "backward() raised RuntimeError" in banner.value
    assert isinstance(tabs, widgets.Tab) and tabs.titles == TAB_TITLES == (
        "Why None?",
        "Cut-offs",
        "In-place hazards",
        "Graph",
    )
    why, cuts, hazards, graph = tabs.children
    assert [label for label, _ in why.children[0].options] == ["a  [no_backward_yet]  line 6"]
    assert [label for label, _ in cuts.children[0].options] == ["line 4: detach  out -> c"]
    assert [label for label, _ in hazards.children[0].options] == ["line 5: will raise  breaks_backward (zero_)"]
    assert graph.children[1].value.startswith("<svg")
    assert [i.tab for i in w.items] == ["error", "why", "cutoffs", "hazards"]
    # the error comes first, highlighted: the edited alias, the saved tensor, the node that saved it
    assert w.selected == 0
    assert w.highlight == (ids["c"], ids["out"], sigmoid)
    assert tabs.selected_index == TAB_TITLES.index("In-place hazards")
    note = w.note
    assert (note.line, note.hazard.edit_line, note.hazard.saved_line, note.hazard.alias) == (6, 5, 3, "detach")
    assert highlighted(w.graph.value)[0] == {ids["c"], ids["out"], sigmoid}


def test_selecting_a_finding_changes_the_highlighted_path(inplace):
    w = FindingsWidget(inplace)
    ids = named(inplace)
    before = w.graph.value
    cut = next(i for i, it in enumerate(w.items) if it.tab == "cutoffs")
    w.select_finding(cut)
    assert w.selected == cut and w.highlight == (ids["out"], ids["c"])
    assert w.graph.value != before
    nodes, edges = highlighted(w.graph.value)
    assert nodes == {ids["out"], ids["c"]}
    assert edges and all(set(e) == {ids["out"], ids["c"]} for e in edges)
    assert w.selectors["cutoffs"].value == cut and w.graph_selector.value == cut
    assert w.details["cutoffs"].value == w.items[cut].html and "detach" in w.details["cutoffs"].value

    # choosing in a tab's selector is the same action
    why = next(i for i, it in enumerate(w.items) if it.tab == "why")
    w.selectors["why"].value = why
    assert w.selected == why and w.highlight == w.items[why].path and w.highlight[0] == ids["a"]
    assert ids["a"] in highlighted(w.graph.value)[0]

    w.graph_selector.value = -1
    assert w.highlight == () and highlighted(w.graph.value) == (set(), set())
    with pytest.raises(IndexError):
        w.select_finding(len(w.items))


def test_severity_of_a_silent_wrong_grad():
    tr, printed, error, _ = run_source(SEED_INPLACE.replace("out.detach()", "out.data") + "print(a.grad)\n")
    assert error is None and printed == "tensor([0., 0., 0.])\n"
    w = FindingsWidget(tr)
    hazards = w.tabs.children[TAB_TITLES.index("In-place hazards")].children[0]
    assert [label for label, _ in hazards.options] == ["line 5: silently wrong  silent_wrong_grad (zero_)"]
    assert w.note is None and len(w.children) == 2  # no error: summary and tabs only
    assert "silently wrong" in w.details["hazards"].value


def test_a_trace_without_findings():
    tr, _, _, _ = run_source("import gradlens_core as torch\na = torch.ones(2, requires_grad=True)\n")
    w = FindingsWidget(tr)
    assert w.items == [] and w.selected == -1 and w.highlight == ()
    why, cuts, hazards, _ = w.tabs.children
    assert "No gradient was cut off" in cuts.value and "No in-place edit" in hazards.value
    assert "nothing to report" in w.text()


def test_html_output_escapes_a_variable_named_script():
    evil = "<script>alert('x')</script>"
    tr, _, _, _ = run_source(
        f"""
        import gradlens_core as torch
        ns = globals()
        ns[{evil!r}] = torch.tensor([1., 2.], requires_grad=True)
        w = torch.tensor([1., 1.], requires_grad=True)
        loss = (ns[{evil!r}].detach() * w).sum()
        loss.backward()
        """
    )
    assert evil in named(tr)
    w = FindingsWidget(tr)
    assert any(evil in label for label, _ in w.selectors["why"].options)  # labels are plain text
    htmls = [w.summary.value, w.graph.value, w._repr_mimebundle_()["text/html"]]
    for i in range(len(w.items)):
        w.select_finding(i)
        htmls += [w.graph.value, *(d.value for d in w.details.values())]
    for html in htmls:
        assert "<script" not in html
    assert any("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in h for h in htmls)
    # the SVG stays well-formed XML, and its label reads the name back unchanged
    labels = [t.text for t in ET.fromstring(w.graph.value).iter(SVG + "text")]
    assert evil in labels


def test_mimebundle_for_frontends_without_widgets(inplace):
    w = FindingsWidget(inplace, max_nodes=2)
    data = w._repr_mimebundle_()
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == w.model_id
    assert data["text/plain"] == w.text()
    assert data["text/plain"].startswith("backward() raised RuntimeError at line 6")
    assert "gradlens report: 4 tensors" in data["text/plain"]
    html = data["text/html"]
    assert html.index("gradlens-error") < html.index("gradlens-report") < html.index("<svg")
    assert "+4 more" in html  # max_nodes=2 of 6 graph nodes


def test_error_note_is_none_without_an_error():
    tr, _, error, _ = run_source("import gradlens_core as torch\nx = torch.ones(2)\n")
    assert error is None and error_note(tr) is None
