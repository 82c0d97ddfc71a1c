"""Analysis: pure functions from the recorder's graph to findings.

``why_none`` follows one decision procedure (see :func:`why_none`); hazards are found at
the moment of each in-place edit (:func:`hazards_for_edit`), before any backward runs.

>>> import gradlens_core as torch, gradlens
>>> with gradlens.trace() as tr:
...     a = torch.tensor([1., 2.], requires_grad=True)
...     y = a * 2
...     y.sum().backward()
>>> tr.why_none(y).cause
'non_leaf'
"""

from __future__ import annotations

import re
from collections import deque

import numpy as np

from .findings import Explanation, Hazard

__all__ = ["why_none", "hazards_for_edit", "refused_hazard", "check_numpy_writes", "unexplained_parameters"]

_CUT_WORDS = {
    "detach": "`.detach()`",
    "data": "`.data`",
    "detach_": "`.detach_()`",
    "no_grad": "an op under `torch.no_grad()`",
    "non_differentiable": "a non-differentiable op",
    "numpy": "a round trip through numpy",
    "item": "`.item()` (a Python number)",
}
_CUT_FIX = {
    "detach": "use the tensor itself (not its `.detach()`) where the gradient must flow",
    "data": "use the tensor itself, not `.data`, where the gradient must flow",
    "detach_": "use `.detach()` on a copy instead of detaching the tensor in place",
    "no_grad": "compute it outside `torch.no_grad()`",
    "non_differentiable": "use a differentiable op (argmax, rounding, comparisons and integer casts have no gradient)",
    "numpy": "keep the computation in tensor ops instead of going through numpy",
    "item": "keep the value as a tensor instead of calling `.item()`/`float()`",
}


def _at(line) -> str:
    return f"line {line}" if line is not None else "an earlier line"


def _q(rec) -> str:
    return f"`{rec.name}`" if rec is not None and rec.name else "the tensor"


# ----------------------------------------------------------------------------- why None


def why_none(recorder, t) -> Explanation:
    """Explain why ``t.grad`` is None.

    Decision procedure, first match wins:

    1. a non-leaf: ``rebound`` if its name used to hold the leaf it was computed from,
       else ``non_leaf``;
    2. a leaf that does not require grad: ``requires_grad_false``;
    3. a grad was accumulated, then cleared: ``grad_cleared``;
    4. no backward ran at all: ``no_backward_yet``;
    5. a data-flow path to a backward root passes a cut: ``cut:<kind>`` of the first cut;
    6. its value left the graph (``.item()``, numpy) on the way: ``cut:item`` / ``cut:numpy``;
    7. only failed backward calls, or graphs never backpropagated, depend on it:
       ``no_backward_yet``;
    8. otherwise ``unused``.
    """
    adapter = recorder.adapter
    if not adapter.is_tensor(t):
        raise TypeError(f"why_none() expects a tensor, got {type(t).__name__}")
    if adapter.grad(t) is not None:
        raise ValueError("this tensor's .grad is not None: there is nothing to explain")
    rec = recorder.record_of(t)
    if rec is None:
        return _explain(
            None,
            "requires_grad_false" if not adapter.requires_grad(t) else "no_backward_yet",
            None,
            "gradlens did not see this tensor being made: create it inside the trace to get a full explanation.",
        )
    name = _q(rec)

    if not adapter.is_leaf(t):
        if rec.rebound_from is not None:
            old = recorder.records.get(rec.rebound_from)
            return _explain(
                rec,
                "rebound",
                rec.line,
                f"{name} was re-bound at {_at(rec.line)} to a new non-leaf tensor computed from the old leaf "
                f"{_q(old)} (made at {_at(old.line if old else None)}), so it never gets a .grad. Update the "
                "parameter in place under `torch.no_grad()` (e.g. `w -= lr * w.grad`) instead of `w = w - ...`.",
                path=(rec.gid, rec.rebound_from),
            )
        node = recorder.node_records.get(rec.node_gid)
        return _explain(
            rec,
            "non_leaf",
            rec.line,
            f"{name} is an intermediate result ({node.name if node else 'a non-leaf'}, {_at(rec.line)}): PyTorch "
            f"keeps .grad only for leaf tensors. Call `{rec.name or 't'}.retain_grad()` before backward() "
            "if you need it.",
        )

    if not adapter.requires_grad(t):
        how = _made_how(recorder, rec)
        return _explain(
            rec,
            "requires_grad_false",
            rec.detached_line or rec.flag_line or rec.line,
            f"{name} does not require grad{how}, so autograd never computes a gradient for it. Create it with "
            "`requires_grad=True` (or call `.requires_grad_()` on a leaf) if you need one.",
        )

    if rec.cleared_line is not None:
        return _explain(
            rec,
            "grad_cleared",
            rec.cleared_line,
            f"{name} had a gradient, but it was cleared at {_at(rec.cleared_line)} (`zero_grad()` or "
            "`.grad = None`) and no backward has run since. Run backward() after clearing, or read the grad "
            "before clearing it.",
        )

    runs = recorder.runs
    if not runs:
        return _explain(
            rec,
            "no_backward_yet",
            rec.line,
            f"No backward pass has run yet, so {name} has no gradient. Call `loss.backward()` first.",
        )

    roots = {}
    for run in runs:
        for r in run.roots:
            roots.setdefault(r, run)
    path = _path_to(recorder, rec.gid, roots)
    if path is not None:
        cut = _first_cut(recorder, path)
        if cut is not None:
            kind, line = cut
            run = roots[path[-1]]
            return _explain(
                rec,
                "cut:" + kind,
                line,
                f"The loss backpropagated at {_at(run.line)} depends on {name} only through "
                f"{_CUT_WORDS[kind]} at {_at(line)}, which cuts the gradient off. To fix it, {_CUT_FIX[kind]}.",
                path=tuple(path),
            )

    escape = _escape_below(recorder, rec.gid)
    if escape is not None:
        kind, line = escape
        return _explain(
            rec,
            "cut:" + kind,
            line,
            f"The value of {name} left the graph through {_CUT_WORDS[kind]} at {_at(line)}; whatever was computed "
            f"from that value carries no gradient back to it. To fix it, {_CUT_FIX[kind]}.",
        )

    if path is not None:
        run = roots[path[-1]]
        err = f" raised ({_first_sentence(run.error)})" if run.error is not None else " did not reach it"
        return _explain(
            rec,
            "no_backward_yet",
            run.line,
            f"The backward call at {_at(run.line)}{err}, so no gradient reached {name}. Fix that error and run "
            "backward again.",
            path=tuple(path),
        )

    if any(not e.cut for e in rec.flow_out):
        return _explain(
            rec,
            "no_backward_yet",
            rec.line,
            f"{name} is part of a graph that no backward pass has gone through yet (backward ran on other "
            f"outputs). Call backward() on the output that depends on {name}.",
        )
    return _explain(
        rec,
        "unused",
        rec.line,
        f"backward() ran, but the loss does not depend on {name} at all: it was never used to compute it. "
        "Check that it is actually used in the forward pass (or remove it from the optimizer).",
    )


def _explain(rec, cause, line, message, path=None) -> Explanation:
    return Explanation(
        cause=cause,
        line=line,
        message=message,
        path=tuple(path) if path is not None else ((rec.gid,) if rec is not None else ()),
        name=None if rec is None else rec.name,
        file=None if rec is None else rec.file,
        tensor_id=None if rec is None else rec.gid,
    )


def _first_sentence(error, limit: int = 160) -> str:
    """The first sentence of an error message (a '. ' followed by a capital ends it)."""
    text = str(error)
    m = re.search(r"\.\s+[A-Z]", text)
    if m:
        text = text[: m.start()]
    text = text.rstrip(".")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _made_how(recorder, rec) -> str:
    if rec.detached_line is not None:
        return f" (it was detached in place by `.detach_()` at {_at(rec.detached_line)})"
    if rec.flag_line is not None:
        return f" (`requires_grad` was switched off at {_at(rec.flag_line)})"
    for e in rec.flow_in:
        if e.cut:
            return f" (it was made from {_q(recorder.records.get(e.src))} by {_CUT_WORDS[e.cut]} at {_at(e.cut_line)})"
    return ""


def _upstream_cut(recorder, rec) -> str:
    """How the history of ``rec`` was cut somewhere upstream (for backward on a cut result)."""
    seen = {rec.gid}
    queue = deque([rec])
    while queue:
        r = queue.popleft()
        for e in r.flow_in:
            if e.cut:
                return (
                    f": it was computed from {_q(recorder.records.get(e.src))}, cut off by "
                    f"{_CUT_WORDS[e.cut]} at {_at(e.cut_line)}"
                )
            src = recorder.records.get(e.src)
            if src is not None and e.src not in seen:
                seen.add(e.src)
                queue.append(src)
    return ""


def _path_to(recorder, start, targets):
    """Shortest data-flow path from ``start`` to any target (iterative BFS), or None."""
    if start in targets:
        return [start]
    records = recorder.records
    prev = {start: None}
    queue = deque([start])
    while queue:
        rec = records.get(queue.popleft())
        if rec is None:
            continue
        for e in rec.flow_out:
            nxt = e.dst
            if nxt in prev:
                continue
            prev[nxt] = e
            if nxt in targets:
                path = [nxt]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]].src)
                return path[::-1]
            queue.append(nxt)
    return None


def _first_cut(recorder, path):
    records = recorder.records
    for a, b in zip(path, path[1:]):
        rec = records.get(a)
        for e in rec.flow_out if rec is not None else ():
            if e.dst == b and e.cut:
                return e.cut, e.cut_line
    return None


def _escape_below(recorder, start):
    """The first ``.item()``/numpy escape of ``start`` or of anything computed from it."""
    records = recorder.records
    seen = {start}
    queue = deque([start])
    while queue:
        rec = records.get(queue.popleft())
        if rec is None:
            continue
        if rec.escapes:
            return rec.escapes[0]
        for e in rec.flow_out:
            if e.dst not in seen:
                seen.add(e.dst)
                queue.append(e.dst)
    return None


def unexplained_parameters(recorder):
    """(name, Explanation) for each module parameter whose grad is None after a backward pass."""
    if not recorder.runs:
        return ()
    adapter = recorder.adapter
    out = []
    for name, p in recorder.parameters():
        if adapter.grad(p) is not None:
            continue
        rec = recorder.record_of(p)
        if rec is None:
            continue  # a module from before this trace that this trace never touched
        if rec.name is None or rec.name.split(".")[0] not in recorder.modules:
            rec.name = name
        out.append((name, why_none(recorder, p)))
    return tuple(out)


# ----------------------------------------------------------------------------- hazards


def _alias_word(rec) -> str:
    return {"detach": "detach()", "data": ".data", "view": "a view", "from_numpy": "a numpy array"}.get(
        rec.alias_kind, "the tensor itself"
    )


def hazards_for_edit(recorder, tensor, rec, op, where) -> list:
    """Hazards made by the in-place edit ``op`` of ``tensor`` that just happened at ``where``.

    * the edit bumped a version counter that a live node's saved tensor shares, and that
      saved tensor is now stale: backward will raise (``breaks_backward``);
    * the edit wrote into memory a live saved tensor uses, through an alias with another
      version counter (``.data``): backward will run and be wrong (``silent_wrong_grad``).
    """
    adapter = recorder.adapter
    found = []
    counter = adapter.counter_key(tensor)
    for srec in recorder.saved_for(counter=counter):
        if srec.hazard is not None or not srec.live(adapter):
            continue
        saved = srec.ref()
        if saved.version == saved.counter[0]:
            continue
        found.append(_make_hazard(recorder, "breaks_backward", srec, rec, op, where))
    for srec in recorder.saved_for(storage=adapter.storage_key(tensor)):
        if srec.hazard is not None or srec.counter == counter or not srec.live(adapter):
            continue
        values = adapter.saved_values(srec.ref())
        if values is None or not adapter.shares_memory(tensor, values):
            continue
        found.append(_make_hazard(recorder, "silent_wrong_grad", srec, rec, op, where))
    return found


def _make_hazard(recorder, kind, srec, edited, op, where, alias=None) -> Hazard:
    saved_rec = srec.tensor
    node = srec.node
    alias = alias or (edited.alias_kind or "direct")
    via = f" through {_alias_word(edited)}" if edited.alias_kind else ""
    if op.endswith("(out=)"):  # torch.add(a, b, out=y): gradlens_core reports the op as "add(out=)"
        edit = f"`torch.{op[:-6]}(..., out={edited.name or '...'})`"
    elif edited.name and op != "numpy write":
        edit = f"`{edited.name}.{op}()`"
    else:
        edit = f"`{op}`"
    saved_name = _q(saved_rec)
    if kind == "breaks_backward":
        whose = "its version" if saved_rec is edited else f"the version of {saved_name}"
        message = (
            f"{edit} at {_at(where[1])} edits {_q(edited)}{via} in place, bumping {whose}, "
            f"which {node.name} saved at {_at(srec.line)}: backward through it will raise "
            f'"one of the variables needed for gradient computation has been modified by an inplace operation". '
            "Edit a `.clone()` instead, or do the edit after backward."
        )
    else:
        message = (
            f"{edit} at {_at(where[1])} writes into the memory of {saved_name}{via}, which {node.name} saved at "
            f"{_at(srec.line)}. That alias has its own version counter, so PyTorch will not notice: backward will run "
            "and the gradient will be silently wrong. Use `.detach()` instead of `.data` (then PyTorch raises), or "
            "edit a `.clone()`."
        )
    hazard = Hazard(
        kind=kind,
        edit_line=where[1],
        saved_line=srec.line,
        node=node.name,
        message=message,
        op=op,
        alias=alias,
        tensor=edited.gid,
        saved_tensor=saved_rec.gid,
        edited_name=edited.name,
        saved_name=saved_rec.name,
        file=where[0],
        node_id=node.gid,
    )
    srec.hazard = hazard
    return hazard


def hazards_for_detach(recorder, rec, where) -> list:
    """``detach_()`` of a tensor a live node saved as an input: backward will refuse to use it."""
    found = []
    for srec in recorder.saved_for(counter=rec.counter):
        if srec.hazard is not None or srec.tensor is not rec or srec.is_output or not srec.live(recorder.adapter):
            continue
        hazard = Hazard(
            kind="breaks_backward",
            edit_line=where[1],
            saved_line=srec.line,
            node=srec.node.name,
            message=(
                f"`{rec.name or 't'}.detach_()` at {_at(where[1])} detaches {_q(rec)} in place, but "
                f'{srec.node.name} saved it at {_at(srec.line)}: backward through it will raise "Trying to use a '
                'saved tensor that has been detached in-place". Use `.detach()` (out of place) instead.'
            ),
            op="detach_",
            alias="direct",
            tensor=rec.gid,
            saved_tensor=rec.gid,
            edited_name=rec.name,
            saved_name=rec.name,
            file=where[0],
            node_id=srec.node.gid,
        )
        srec.hazard = hazard
        found.append(hazard)
    return found


def refused_hazard(recorder, rec, op, error, where) -> Hazard:
    """An in-place edit PyTorch refused (a leaf that requires grad, a view of one, an expanded tensor)."""
    leaf = "leaf Variable" in str(error)
    fix = (
        "Do parameter updates under `with torch.no_grad():`, or edit a `.clone()`."
        if leaf
        else "Edit a `.clone()` of the tensor instead."
    )
    return Hazard(
        kind="leaf_inplace",
        edit_line=where[1],
        saved_line=None,
        node=None,
        message=f"`{op}` at {_at(where[1])} on {_q(rec)} was refused: {_first_sentence(error)}. {fix}",
        op=op,
        alias=rec.alias_kind or "direct",
        tensor=rec.gid,
        edited_name=rec.name,
        file=where[0],
    )


def check_numpy_writes(recorder) -> list:
    """Saved tensors whose memory was changed through a numpy array (no event is possible there)."""
    found = []
    adapter = recorder.adapter
    for storage, (src_gid, line, _) in recorder.numpy_exports.items():
        for srec in recorder.saved_for(storage=storage):
            if srec.hazard is not None or srec.snapshot is None or not srec.live(adapter):
                continue
            values = adapter.saved_values(srec.ref())
            if values is None or np.array_equal(values, srec.snapshot, equal_nan=True):
                continue
            edited = recorder.records[src_gid]
            found.append(
                _make_hazard(recorder, "silent_wrong_grad", srec, edited, "numpy write", (srec.file, line), "numpy")
            )
    return found


def failures(recorder) -> tuple:
    """Backward calls that raised, each with the hazard that explains it (if gradlens saw one)."""
    from .findings import BackwardFailure

    out = []
    for run in recorder.runs:
        if run.error is None:
            continue
        hazard = None
        if run.node is not None:
            hazard = next((h for h in recorder.hazards if h.node_id == run.node.gid), None)
        if hazard is None and "modified by an inplace operation" in str(run.error):
            hazard = next((h for h in recorder.hazards if h.kind == "breaks_backward"), None)
        text = _first_sentence(run.error)
        root = recorder.records.get(run.roots[0]) if run.roots else None
        if hazard is None and "does not require grad" in text and root is not None:
            message = (
                f"backward() at {_at(run.line)} raised: {text}. The tensor it was called on does not require grad"
                f"{_made_how(recorder, root) or _upstream_cut(recorder, root)}."
            )
        elif hazard is not None:
            message = (
                f"backward() at {_at(run.line)} raised because of the in-place edit at {_at(hazard.edit_line)}: "
                + hazard.message
            )
        else:
            message = f"backward() at {_at(run.line)} raised: {text}."
        out.append(
            BackwardFailure(
                line=run.line, error=text, node=run.node.name if run.node else None, hazard=hazard, message=message
            )
        )
    return tuple(out)
