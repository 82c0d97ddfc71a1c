"""Every cause code and hazard kind of gradlens, on small realistic programs, with exact lines."""

from __future__ import annotations

import gc
import weakref

import pytest

import gradlens
from gradlens.runner import run_source


def run(src):
    tr, printed, error, ns = run_source(src, "<test>")
    return tr, ns, error


def explain(src, name):
    tr, ns, _ = run(src)
    return tr.why_none(ns[name])


# ----------------------------------------------------------------------------- causes

CAUSE_CASES = {
    "requires_grad_false": (
        """
        import gradlens_core as torch
        a = torch.tensor([1, 2, 3.], requires_grad=True)
        out = a.sigmoid()
        c = out.detach()
        out.sum().backward()
        """,
        "c",
        4,
    ),
    "non_leaf": (
        """
        import gradlens_core as torch
        a = torch.tensor([1., 2.], requires_grad=True)
        y = a * 2
        (y * y).sum().backward()
        """,
        "y",
        3,
    ),
    "rebound": (
        """
        import gradlens_core as torch
        x = torch.tensor([1., 2.])
        w = torch.tensor([0.5, -0.5], requires_grad=True)
        loss = ((w * x).sum() - 1) ** 2
        loss.backward()
        w = w - 0.05 * w.grad
        loss = ((w * x).sum() - 1) ** 2
        loss.backward()
        """,
        "w",
        6,
    ),
    "no_backward_yet": (
        """
        import gradlens_core as torch
        a = torch.tensor([1., 2.], requires_grad=True)
        loss = (a * a).sum()
        """,
        "a",
        2,
    ),
    "unused": (
        """
        import gradlens_core as torch
        a = torch.tensor([1., 2.], requires_grad=True)
        b = torch.tensor([3., 4.], requires_grad=True)
        loss = (a * 3).sum()
        loss.backward()
        """,
        "b",
        3,
    ),
    "cut:detach": (
        """
        import gradlens_core as torch
        a = torch.tensor([1, 2, 3.], requires_grad=True)
        out = a.sigmoid()
        c = out.detach()
        w = torch.ones(3, requires_grad=True)
        (c * w).sum().backward()
        """,
        "a",
        4,
    ),
    "cut:data": (
        """
        import gradlens_core as torch
        a = torch.tensor([1., 2.], requires_grad=True)
        w = torch.ones(2, requires_grad=True)
        h = a.data
        (h * w).sum().backward()
        """,
        "a",
        4,
    ),
    "cut:detach_": (
        """
        import gradlens_core as torch
        a = torch.tensor([1, 2, 3.], requires_grad=True)
        out = a.sigmoid()
        out.detach_()
        w = torch.ones(3, requires_grad=True)
        z = out * w
        z.sum().backward()
        """,
        "a",
        4,
    ),
    "cut:no_grad": (
        """
        import gradlens_core as torch
        a = torch.tensor([1., 2.], requires_grad=True)
        w = torch.ones(2, requires_grad=True)
        with torch.no_grad():
            h = a * 2
        (h * w).sum().backward()
        """,
        "a",
        5,
    ),
    "cut:non_differentiable": (
        """
        import gradlens_core as torch
        a = torch.tensor([1.5, 2.5], requires_grad=True)
        w = torch.ones(2, requires_grad=True)
        k = a.long()
        (k * w).sum().backward()
        """,
        "a",
        4,
    ),
    "cut:numpy": (
        """
        import gradlens_core as torch
        a = torch.tensor([1., 2.], requires_grad=True)
        w = torch.ones(2, requires_grad=True)
        with torch.no_grad():
            n = a.numpy()
        t = torch.from_numpy(n)
        (t * w).sum().backward()
        """,
        "a",
        6,
    ),
    "cut:item": (
        """
        import gradlens_core as torch
        a = torch.tensor([1., 2.], requires_grad=True)
        w = torch.ones(2, requires_grad=True)
        s = a.sum().item()
        (w * s).sum().backward()
        """,
        "a",
        4,
    ),
    "grad_cleared": (
        """
        import gradlens_core as torch
        a = torch.tensor([1., 2.], requires_grad=True)
        (a * a).sum().backward()
        a.grad = None
        """,
        "a",
        4,
    ),
}


@pytest.mark.parametrize("cause", sorted(CAUSE_CASES))
def test_every_cause_code_with_its_line(cause):
    src, name, line = CAUSE_CASES[cause]
    e = explain(src, name)
    assert e.cause == cause, e.message
    assert e.line == line, e.message
    assert e.message and name in e.message


def test_cases_cover_every_cause_in_the_contract():
    assert set(CAUSE_CASES) == set(gradlens.CAUSES)


def test_cut_cause_path_runs_from_tensor_to_loss():
    src, name, _ = CAUSE_CASES["cut:detach"]
    tr, ns, _ = run(src)
    e = tr.why_none(ns[name])
    assert e.path[0] == tr.recorder.record_of(ns["a"]).gid
    assert tr.graph.nodes[e.path[-1]]["kind"] == "tensor"
    assert len(e.path) >= 3


def test_dropped_intermediates_leave_one_bridged_edge_with_their_cut():
    tr, ns, _ = run(
        """
        import gradlens_core as torch
        a = torch.ones(2, requires_grad=True)
        b = torch.ones(2, requires_grad=True)
        h = a * 2
        h.detach_()
        loss = ((h * 3) + (h + 1) + b).sum()
        loss.backward()
        """
    )
    rec = tr.recorder
    rec.flush()
    rh, rl = rec.record_of(ns["h"]), rec.record_of(ns["loss"])
    assert rec.dropped == 4  # h * 3, h + 1 and the two sums are gone
    edges = [e for e in rh.flow_out if e.dst == rl.gid]
    assert [(e.cut, e.cut_line, e.line) for e in edges] == [("detach_", 5, 6)]  # two paths, one edge
    assert edges[0] in rl.flow_in
    assert all(e.src in rec.records and e.dst in rec.records for r in rec.records.values() for e in r.flow_in)
    assert tr.why_none(ns["a"]).cause == "cut:detach_"


def test_grad_cleared_by_optimizer_zero_grad_names_its_line():
    e = explain(
        """
        import gradlens_core as torch
        w = torch.tensor([1., 2.], requires_grad=True)
        opt = torch.optim.SGD([w], lr=0.1)
        (w * w).sum().backward()
        opt.step()
        opt.zero_grad()
        """,
        "w",
    )
    assert (e.cause, e.line) == ("grad_cleared", 6)


def test_why_none_refuses_tensors_that_have_a_grad():
    tr, ns, _ = run(
        """
        import gradlens_core as torch
        a = torch.tensor([1., 2.], requires_grad=True)
        (a * a).sum().backward()
        """
    )
    with pytest.raises(ValueError, match="not None"):
        tr.why_none(ns["a"])
    with pytest.raises(TypeError):
        tr.why_none(3)


def test_module_level_why_none_uses_the_last_trace():
    tr, ns, _ = run(CAUSE_CASES["non_leaf"][0])
    assert gradlens.why_none(ns["y"]).cause == "non_leaf"


# ----------------------------------------------------------------------------- hazards


def test_seed_detach_then_zero_breaks_backward_known_at_the_edit():
    tr, ns, error = run(
        """
        import gradlens_core as torch
        a = torch.tensor([1, 2, 3.], requires_grad=True)
        out = a.sigmoid()
        c = out.detach()
        c.zero_()
        out.sum().backward()
        """
    )
    assert isinstance(error, RuntimeError)
    (h,) = tr.hazards()
    assert (h.kind, h.edit_line, h.saved_line, h.node) == ("breaks_backward", 5, 3, "SigmoidBackward0")
    assert h.alias == "detach"
    (failure,) = tr.failures()
    assert failure.hazard == h and failure.line == 6


def test_hazard_exists_before_backward_runs():
    tr, ns, _ = run(
        """
        import gradlens_core as torch
        a = torch.tensor([1, 2, 3.], requires_grad=True)
        out = a.sigmoid()
        out.detach().zero_()
        """
    )
    assert [(h.kind, h.edit_line) for h in tr.hazards()] == [("breaks_backward", 4)]


def test_seed_data_then_zero_is_silently_wrong():
    tr, ns, error = run(
        """
        import gradlens_core as torch
        a = torch.tensor([1, 2, 3.], requires_grad=True)
        out = a.sigmoid()
        c = out.data
        c.zero_()
        out.sum().backward()
        """
    )
    assert error is None
    (h,) = tr.hazards()
    assert (h.kind, h.edit_line, h.saved_line, h.node, h.alias) == (
        "silent_wrong_grad",
        5,
        3,
        "SigmoidBackward0",
        "data",
    )
    text = str(tr.report())
    for needle in ("line 3", "line 4", "line 5", "silently wrong", ".data", "SigmoidBackward0"):
        assert needle in text


def test_seed_detach_inplace_of_saved_tensor_breaks_backward():
    tr, ns, error = run(
        """
        import gradlens_core as torch
        a = torch.tensor([1, 2, 3.], requires_grad=True)
        out = a.sigmoid()
        sq = out * out
        out.detach_()
        sq.sum().backward()
        """
    )
    assert "detached in-place" in str(error)
    (h,) = tr.hazards()
    assert (h.kind, h.edit_line, h.saved_line, h.node) == ("breaks_backward", 5, 4, "MulBackward0")


def test_in_place_relu_after_sigmoid():
    tr, ns, error = run(
        """
        import gradlens_core as torch
        x = torch.tensor([-1., 0.5, 2.], requires_grad=True)
        h = x.sigmoid()
        h.relu_()
        h.sum().backward()
        """
    )
    (h,) = tr.hazards()
    assert (h.kind, h.edit_line, h.saved_line) == ("breaks_backward", 4, 3)


def test_saved_line_of_a_node_an_in_place_view_edit_wraps():
    # the in-place mul_ on a view saves `t` in a MulBackward0 that CopySlices wraps: no tensor
    # has that node as grad_fn, so its line is known only from the saved tensor's own event
    tr, _, _ = run(
        """
        import gradlens_core as torch
        a = torch.full((1,), 2.0, requires_grad=True)
        t = torch.cat([a, a * 2], -1)
        t.t().mul_(t)
        """
    )
    assert [(h.kind, h.edit_line, h.saved_line, h.node) for h in tr.hazards()] == [
        ("breaks_backward", 4, 4, "MulBackward0")
    ]


def test_leaf_in_place_is_a_hazard_with_the_fix():
    tr, ns, error = run(
        """
        import gradlens_core as torch
        w = torch.tensor([1., 2.], requires_grad=True)
        w.add_(1)
        """
    )
    assert isinstance(error, RuntimeError)
    (h,) = tr.hazards()
    assert (h.kind, h.edit_line) == ("leaf_inplace", 3)
    assert "no_grad" in h.message


def test_numpy_write_into_saved_memory_is_silently_wrong():
    tr, ns, error = run(
        """
        import gradlens_core as torch
        a = torch.tensor([1., 2.], requires_grad=True)
        out = a.exp()
        n = out.detach().numpy()
        n[0] = 100.
        out.sum().backward()
        """
    )
    kinds = [(h.kind, h.alias) for h in tr.hazards()]
    assert ("silent_wrong_grad", "numpy") in kinds


@pytest.mark.parametrize(
    "src",
    [
        # mul by a Python scalar saves only the scalar: editing the tensor is harmless
        """
        import gradlens_core as torch
        a = torch.tensor([1., 2.], requires_grad=True)
        x = a.clone()
        y = x * 2
        x.add_(1)
        y.sum().backward()
        """,
        # the graph was freed by backward: nothing saved is live any more
        """
        import gradlens_core as torch
        a = torch.tensor([1., 2.], requires_grad=True)
        out = a.sigmoid()
        out.sum().backward()
        out.detach().zero_()
        """,
        # the in-place op saves its own new output
        """
        import gradlens_core as torch
        a = torch.tensor([1., 2.], requires_grad=True)
        y = a.clone()
        y.exp_()
        y.sum().backward()
        """,
        # a leaf updated under no_grad that no live node saved
        """
        import gradlens_core as torch
        w = torch.tensor([1., 2.], requires_grad=True)
        (w * 3).sum().backward()
        with torch.no_grad():
            w -= 0.1 * w.grad
        """,
    ],
)
def test_negative_cases_report_no_hazard(src):
    tr, ns, error = run(src)
    assert error is None
    assert tr.hazards() == []


def test_detach_of_a_tensor_that_never_required_grad_is_no_cutoff():
    tr, ns, error = run(
        """
        import gradlens_core as torch
        x = torch.tensor([1., 2.])
        y = x.detach()
        z = x.data
        """
    )
    assert tr.cutoffs() == []


def test_cutoffs_name_kind_line_and_tensors():
    tr, ns, _ = run(
        """
        import gradlens_core as torch
        a = torch.tensor([1., 2.], requires_grad=True)
        b = a.detach()
        with torch.no_grad():
            c = a * 2
        d = a.argmax()
        """
    )
    got = [(c.kind, c.line, c.source_name, c.result_name) for c in tr.cutoffs()]
    assert got == [("detach", 3, "a", "b"), ("no_grad", 5, "a", "c"), ("non_differentiable", 6, "a", "d")]


def test_an_edit_records_an_unseen_input_only_when_it_carries_history():
    import gradlens_core as torch

    a = torch.ones(2, requires_grad=True)  # made before the trace: gradlens never saw these
    w = torch.zeros(2)
    p = torch.ones(2, requires_grad=True)
    (p * 2).sum().backward()
    with gradlens.trace() as tr:
        with torch.no_grad():
            w.add_(a)  # a requires grad: the edit cuts it off
            p.add_(p.grad, alpha=-0.1)  # an optimizer's step: p.grad has no history
    assert [(c.kind, c.result_name) for c in tr.cutoffs()] == [("no_grad", "w")]
    assert tr.recorder.record_of(a) is not None
    assert tr.recorder.record_of(p) is not None
    assert tr.recorder.record_of(p.grad) is None


# ----------------------------------------------------------------------------- graph and report


def test_graph_has_tensors_nodes_saved_and_alias_edges():
    tr, ns, _ = run(
        """
        import gradlens_core as torch
        a = torch.tensor([1., 2.], requires_grad=True)
        out = a.sigmoid()
        v = out[0:1]
        """
    )
    g = tr.graph
    rec = tr.recorder.record_of
    a, out, v = rec(ns["a"]).gid, rec(ns["out"]).gid, rec(ns["v"]).gid
    assert g.nodes[a]["kind"] == "tensor" and g.nodes[a]["is_leaf"] and g.nodes[a]["name"] == "a"
    node = rec(ns["out"]).node_gid
    assert g.nodes[node]["name"] == "SigmoidBackward0" and g.nodes[node]["line"] == 3
    assert g.has_edge(out, node, key="grad_fn")
    assert g.has_edge(node, a, key="next")
    assert g.has_edge(node, out, key="saved")
    assert g.has_edge(out, v, key="alias") and g.edges[out, v, "alias"]["alias"] == "view"
    assert g.has_edge(a, out, key="flow")


def test_report_lists_module_parameters_without_grad():
    tr, ns, _ = run(
        """
        import gradlens_core as torch
        import gradlens_core.nn as nn
        model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
        extra = nn.Linear(2, 2)
        for p in model[0].parameters():
            p.requires_grad_(False)
        model(torch.ones(3, 2)).sum().backward()
        """
    )
    params = dict(tr.report().parameters)
    assert params["model.0.weight"].cause == "requires_grad_false"
    assert params["extra.weight"].cause == "unused"
    assert "model.2.weight" not in params


def test_tracing_keeps_no_user_tensor_alive():
    with gradlens.trace() as tr:
        import gradlens_core as torch

        a = torch.tensor([1.0, 2.0], requires_grad=True)
        out = a.sigmoid()
        c = out.detach()
        ref = weakref.ref(c)
        out_ref = weakref.ref(out)
        out.sum().backward()
    del c, out
    gc.collect()
    assert ref() is None and out_ref() is None
    assert tr.graph.number_of_nodes() > 0


def test_trace_start_stop_and_listener_removed():
    import gradlens_core._events as events

    before = events.listener_count()
    tr = gradlens.trace()
    tr.start()
    assert tr.active and events.listener_count() == before + 1
    tr.stop()
    assert not tr.active and events.listener_count() == before


def test_trace_closed_when_block_raises():
    import gradlens_core._events as events

    before = events.listener_count()
    with pytest.raises(ZeroDivisionError):
        with gradlens.trace():
            raise ZeroDivisionError("inside the trace")
    assert events.listener_count() == before
