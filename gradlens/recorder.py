"""The recorder: a listener that turns gradlens_core events into a graph.

Graph nodes are tensors (``t<k>``) and backward nodes (``n<k>``); edges carry a ``kind``:

========  =====================================================================
flow      data went from one tensor into another (``cut`` names a cut, if any)
grad_fn   a tensor and the backward node that made it
next      a backward node and the next one (or the leaf whose AccumulateGrad it is)
saved     a backward node saved this tensor (``version`` at save time)
alias     two tensors share storage (``alias`` = view, detach, data, numpy)
========  =====================================================================

Tensors are held by weak reference only, so tracing never keeps user tensors alive.

>>> import gradlens_core as torch
>>> rec = Recorder()
>>> rec.start()
>>> a = torch.ones(2, requires_grad=True)
>>> b = a.detach()
>>> rec.stop()
>>> [c.kind for c in rec.cuts]
['detach']
"""

from __future__ import annotations

import inspect
import sys
import warnings
import weakref

import networkx as nx
import numpy as np

from .adapter import CORE
from .findings import Cutoff
from .frames import user_frame

__all__ = ["Recorder", "TensorRecord", "NodeRecord", "SavedRecord", "BackwardRun"]

_SNAPSHOT_LOCALS = sys.version_info < (3, 13)
_CO_OPTIMIZED = inspect.CO_OPTIMIZED


class TensorRecord:
    """What gradlens knows about one tensor (no reference to its data)."""

    __slots__ = (
        "gid",
        "ref",
        "name",
        "file",
        "line",
        "op",
        "requires_grad",
        "is_leaf",
        "node_gid",
        "counter",
        "storage",
        "alias_kind",
        "detached_line",
        "rebound_from",
        "accumulated_line",
        "cleared_line",
        "escapes",
        "is_param",
        "refused",
    )

    def __init__(self, gid, ref, file, line, op) -> None:
        self.gid = gid
        self.ref = ref
        self.name = None
        self.file = file
        self.line = line
        self.op = op
        self.requires_grad = False
        self.is_leaf = True
        self.node_gid = None
        self.counter = None
        self.storage = None
        self.alias_kind = None
        self.detached_line = None
        self.rebound_from = None
        self.accumulated_line = None
        self.cleared_line = None
        self.escapes = None
        self.is_param = False
        self.refused = None

    @property
    def alive(self) -> bool:
        return self.ref() is not None

    def label(self) -> str:
        return self.name or self.gid


class NodeRecord:
    """A backward node (``SigmoidBackward0``) and where it was made."""

    __slots__ = ("gid", "ref", "name", "file", "line", "output")

    def __init__(self, gid, ref, name, file, line) -> None:
        self.gid = gid
        self.ref = ref
        self.name = name
        self.file = file
        self.line = line
        self.output = None


class SavedRecord:
    """A tensor saved by a node for backward, at a version."""

    __slots__ = ("node", "tensor", "version", "counter", "storage", "is_output", "line", "file", "ref", "snapshot", "hazard")

    def __init__(self, node, tensor, version, counter, storage, is_output, line, file, ref) -> None:
        self.node = node  # NodeRecord
        self.tensor = tensor  # TensorRecord
        self.version = version
        self.counter = counter
        self.storage = storage
        self.is_output = is_output
        self.line = line
        self.file = file
        self.ref = ref  # weakref to the engine's SavedTensor
        self.snapshot = None  # a copy of the values, kept only when numpy can write behind our back
        self.hazard = None

    def live(self, adapter) -> bool:
        saved = self.ref()
        return saved is not None and adapter.saved_live(saved)


class BackwardRun:
    """One backward() / autograd.grad() call."""

    __slots__ = ("roots", "line", "file", "error", "node", "finished")

    def __init__(self, roots, line, file) -> None:
        self.roots = roots  # graph ids of the root tensors
        self.line = line
        self.file = file
        self.error = None
        self.node = None  # NodeRecord being run when it failed
        self.finished = False


class Recorder:
    """Listens to an engine's events and keeps the graph (see module docstring)."""

    def __init__(self, adapter=CORE) -> None:
        self.adapter = adapter
        self.graph = nx.MultiDiGraph()
        self.tensors: dict = {}  # id(tensor) -> TensorRecord, live tensors only
        self.records: dict = {}  # gid -> TensorRecord
        self.nodes: dict = {}  # id(node) -> NodeRecord, live nodes only
        self.node_records: dict = {}  # gid -> NodeRecord
        self.saved: list = []
        self._saved_by_counter: dict = {}
        self._saved_by_storage: dict = {}
        self.hazards: list = []
        self._hazard_keys: set = set()
        self.cuts: list = []
        self.runs: list = []
        self.numpy_exports: dict = {}  # storage key -> (source gid, line)
        self.bindings: dict = {}  # (scope, name) -> gid
        self.modules: dict = {}  # name -> weakref to an nn.Module seen in user code
        self.files: set = set()
        self._ref_key: dict = {}
        self._node_ref_key: dict = {}
        self._count = 0
        self.internal_errors: list = []
        self._handle = None
        self._frame = None
        self._frame_line = None
        self._dispatch = {
            "created": self._created,
            "aliased": self._aliased,
            "detached_in_place": self._detached_in_place,
            "mutated": self._mutated,
            "saved": self._saved,
            "backward_begin": self._backward_begin,
            "backward_end": self._backward_end,
            "backward_error": self._backward_error,
            "accumulated": self._accumulated,
            "value_escaped": self._value_escaped,
            "flag_changed": self._flag_changed,
            "inplace_refused": self._inplace_refused,
        }

    # ------------------------------------------------------------------ lifecycle
    @property
    def active(self) -> bool:
        return self._handle is not None

    def start(self) -> None:
        if self._handle is None:
            self._handle = self.adapter.subscribe(self)

    def stop(self, frame=None) -> None:
        if self._handle is None:
            return
        self._handle.remove()
        self._handle = None
        f = frame if frame is not None else user_frame(2)
        if f is not None:
            self._scan_names(f)
        self._frame = None

    def __call__(self, kind: str, payload: dict) -> None:
        handler = self._dispatch.get(kind)
        if handler is None:
            return
        try:
            handler(self._where(), **payload)
        except Exception as exc:  # a recorder bug must never break the user's program
            self.internal_errors.append(f"{kind}: {type(exc).__name__}: {exc}")
            if len(self.internal_errors) == 1:
                warnings.warn(f"gradlens: recording failed and was skipped ({self.internal_errors[0]})", stacklevel=2)

    # ------------------------------------------------------------------ where and names
    def _where(self):
        """(file, line) of the user's code; scans the frame's names when the line changed."""
        f = user_frame(3)
        if f is None:
            return None, None
        line = f.f_lineno
        if f is not self._frame or line != self._frame_line:
            self._scan_names(f)
            self._frame = f
            self._frame_line = line
        file = f.f_code.co_filename
        self.files.add(file)
        return file, line

    def _scan_names(self, f) -> None:
        scope = f.f_code
        try:
            local_dict = f.f_locals
            items = list(local_dict.items())
        except Exception:  # exotic frames: names are a convenience, never an error
            return
        if _SNAPSHOT_LOCALS and f.f_code.co_flags & _CO_OPTIMIZED:
            # Before Python 3.13 a function frame's f_locals is a cached snapshot that holds
            # strong references until the next access: drop them so tracing keeps nothing alive.
            local_dict.clear()
        self.scan_namespace(items, scope)

    def scan_namespace(self, items, scope) -> None:
        """Learn variable names from ``(name, value)`` pairs (a frame's locals, a script's globals)."""
        adapter = self.adapter
        for name, value in items:
            if name.startswith("_"):
                continue
            if adapter.is_tensor(value):
                rec = self._lookup(value)
                if rec is None:
                    continue
                key = (scope, name)
                prev = self.bindings.get(key)
                if prev == rec.gid:
                    continue
                self.bindings[key] = rec.gid
                if rec.name is None:
                    rec.name = name
                    self.graph.nodes[rec.gid]["name"] = name
                if prev is not None:
                    self._check_rebinding(self.records.get(prev), rec)
            elif adapter.is_module(value):
                self.modules[name] = weakref.ref(value)

    def _check_rebinding(self, old, new) -> None:
        # `w = w - lr * w.grad`: the name moved from a leaf that required grad to a non-leaf
        # computed from it; the new w will never get a .grad.
        if old is None or new.is_leaf or not (old.is_leaf and old.requires_grad):
            return
        if new.rebound_from is None and self._flows_from(old.gid, new.gid):
            new.rebound_from = old.gid
            new.name = old.name or new.name
            self.graph.nodes[new.gid]["name"] = new.name

    def _flows_from(self, src: str, dst: str, limit: int = 10000) -> bool:
        seen = {dst}
        stack = [dst]
        while stack and len(seen) < limit:
            g = stack.pop()
            for pred, _, kind in self.graph.in_edges(g, keys=True):
                if kind != "flow" or pred in seen:
                    continue
                if pred == src:
                    return True
                seen.add(pred)
                stack.append(pred)
        return False

    # ------------------------------------------------------------------ records
    def _lookup(self, t):
        rec = self.tensors.get(id(t))
        if rec is not None and rec.ref() is t:
            return rec
        return None

    def _record(self, t, where, op) -> TensorRecord:
        """The record of tensor ``t`` (made now if gradlens has not seen it yet)."""
        rec = self._lookup(t)
        if rec is not None:
            return rec
        adapter = self.adapter
        self._count += 1
        gid = f"t{self._count}"
        ref = weakref.ref(t, self._tensor_died)
        self._ref_key[ref] = id(t)
        file, line = where
        rec = TensorRecord(gid, ref, file, line, op)
        desc = adapter.describe(t)
        rec.requires_grad = desc["requires_grad"]
        rec.is_leaf = desc["is_leaf"]
        rec.counter = adapter.counter_key(t)
        rec.storage = adapter.storage_key(t)
        rec.is_param = adapter.is_parameter(t)
        self.tensors[id(t)] = rec
        self.records[gid] = rec
        self.graph.add_node(
            gid,
            kind="tensor",
            name=None,
            op=op,
            shape=desc["shape"],
            dtype=desc["dtype"],
            requires_grad=desc["requires_grad"],
            is_leaf=desc["is_leaf"],
            grad_fn=desc["grad_fn"],
            version=desc["version"],
            line=line,
            file=file,
        )
        node = adapter.grad_fn(t)
        if node is not None:
            self._link_grad_fn(rec, node, where)
        return rec

    def _tensor_died(self, ref) -> None:
        key = self._ref_key.pop(ref, None)
        rec = self.tensors.get(key)
        if rec is not None and rec.ref is ref:
            del self.tensors[key]
            self.graph.nodes[rec.gid]["alive"] = False

    def _node_died(self, ref) -> None:
        key = self._node_ref_key.pop(ref, None)
        rec = self.nodes.get(key)
        if rec is not None and rec.ref is ref:
            del self.nodes[key]

    def _node(self, node, where) -> NodeRecord:
        rec = self.nodes.get(id(node))
        if rec is not None and rec.ref() is node:
            return rec
        adapter = self.adapter
        self._count += 1
        gid = f"n{self._count}"
        ref = weakref.ref(node, self._node_died)
        self._node_ref_key[ref] = id(node)
        file, line = where
        rec = NodeRecord(gid, ref, adapter.node_name(node), file, line)
        self.nodes[id(node)] = rec
        self.node_records[gid] = rec
        self.graph.add_node(gid, kind="node", name=rec.name, line=line, file=file)
        for nxt, _ in adapter.next_functions(node):
            if nxt is None:
                continue
            if adapter.is_accumulate(nxt):
                leaf = self._record(adapter.accumulate_variable(nxt), (None, None), "leaf")
                self.graph.add_edge(gid, leaf.gid, key="next")
            else:
                self.graph.add_edge(gid, self._node(nxt, (None, None)).gid, key="next")
        return rec

    def _link_grad_fn(self, rec: TensorRecord, node, where) -> None:
        nrec = self._node(node, where)
        if rec.node_gid == nrec.gid:
            return
        rec.node_gid = nrec.gid
        rec.is_leaf = False
        rec.requires_grad = True
        nrec.output = rec.gid
        attrs = self.graph.nodes[rec.gid]
        attrs.update(grad_fn=nrec.name, is_leaf=False, requires_grad=True)
        self.graph.add_edge(rec.gid, nrec.gid, key="grad_fn")

    def _flow(self, src: TensorRecord, dst: TensorRecord, cut: str | None, where, op, cut_after=None) -> None:
        if cut_after is not None:
            self.graph.add_edge(src.gid, dst.gid, key="flow", cut=cut_after[0], cut_line=cut_after[1], line=where[1], op=op)
            return
        self.graph.add_edge(src.gid, dst.gid, key="flow", cut=cut or "", line=where[1], op=op)
        if cut:
            self.cuts.append((cut, where[1], src.gid, dst.gid, where[0], op))

    # ------------------------------------------------------------------ event handlers
    def _created(self, where, tensor, grad_fn, inputs, op) -> None:
        adapter = self.adapter
        rec = self._record(tensor, where, op)
        if grad_fn is not None:
            self._link_grad_fn(rec, grad_fn, where)
        inputs = [i for i in inputs if adapter.is_tensor(i)]
        cut = None
        if grad_fn is None and any(adapter.requires_grad(i) for i in inputs):
            cut = "non_differentiable" if adapter.is_grad_enabled() else "no_grad"
        for inp in inputs:
            src = self._record(inp, (None, None), "external")
            if adapter.requires_grad(inp):
                self._flow(src, rec, cut, where, op)
            elif src.detached_line is not None:
                # a use of a tensor after detach_(): cut from the history it had before
                self._flow(src, rec, None, where, op, cut_after=("detach_", src.detached_line))
            else:
                self._flow(src, rec, None, where, op)

    def _aliased(self, where, tensor, source, kind, op, array=None) -> None:
        adapter = self.adapter
        if kind == "numpy":
            src = self._record(source, where, op)
            storage = adapter.storage_key_of_array(array)
            self.numpy_exports[storage] = (src.gid, where[1], adapter.requires_grad(source))
            self._snapshot_saved(storage)
            if adapter.requires_grad(source):
                src.escapes = (src.escapes or ()) + (("numpy", where[1]),)
            return
        rec = self._record(tensor, where, op)
        rec.alias_kind = kind
        if kind == "from_numpy":
            export = self.numpy_exports.get(adapter.storage_key(tensor))
            if export is not None:
                src = self.records[export[0]]
                self.graph.add_edge(src.gid, rec.gid, key="alias", alias="numpy")
                self._flow(src, rec, "numpy" if export[2] else None, where, op)
            return
        src = self._record(source, where, op)
        self.graph.add_edge(src.gid, rec.gid, key="alias", alias=kind)
        if kind in ("detach", "data"):
            self._flow(src, rec, kind if adapter.requires_grad(source) else None, where, op)

    def _detached_in_place(self, where, tensor, old_grad_fn) -> None:
        from .analysis import hazards_for_detach

        rec = self._record(tensor, where, "detach_")
        rec.detached_line = where[1]
        was = rec.requires_grad
        rec.is_leaf = True
        rec.requires_grad = False
        self.graph.nodes[rec.gid].update(is_leaf=True, requires_grad=False, grad_fn=None, detached_line=where[1])
        if was:
            self.cuts.append(("detach_", where[1], rec.gid, rec.gid, where[0], "detach_"))
        self._add_hazards(hazards_for_detach(self, rec, where))

    def _mutated(self, where, tensor, op, old_version, new_version, inputs) -> None:
        from .analysis import hazards_for_edit

        adapter = self.adapter
        rec = self._record(tensor, where, op)
        self.graph.nodes[rec.gid]["version"] = new_version
        node = adapter.grad_fn(tensor)
        if node is not None:
            self._link_grad_fn(rec, node, where)
            base = getattr(tensor, "_base", None)
            if base is not None and adapter.grad_fn(base) is not None:
                self._link_grad_fn(self._record(base, where, "base"), adapter.grad_fn(base), where)
        for inp in inputs:
            if adapter.is_tensor(inp):
                cut = "no_grad" if adapter.requires_grad(inp) and node is None else None
                self._flow(self._record(inp, (None, None), "external"), rec, cut, where, op)
        self._add_hazards(hazards_for_edit(self, tensor, rec, op, where))

    def _saved(self, where, node, tensor, version, is_output, saved=None) -> None:
        adapter = self.adapter
        nrec = self._node(node, where)
        trec = self._record(tensor, where, "saved")
        self.graph.add_edge(nrec.gid, trec.gid, key="saved", version=version)
        ref = weakref.ref(saved) if saved is not None else (lambda: None)
        srec = SavedRecord(
            nrec, trec, version, adapter.counter_key(tensor), adapter.storage_key(tensor), is_output, where[1], where[0], ref
        )
        self.saved.append(srec)
        self._saved_by_counter.setdefault(srec.counter, []).append(srec)
        self._saved_by_storage.setdefault(srec.storage, []).append(srec)
        if srec.storage in self.numpy_exports:
            srec.snapshot = np.array(adapter.saved_values(saved), copy=True) if saved is not None else None

    def _snapshot_saved(self, storage) -> None:
        for srec in self._saved_by_storage.get(storage, ()):
            saved = srec.ref()
            if saved is not None and srec.snapshot is None and self.adapter.saved_live(saved):
                values = self.adapter.saved_values(saved)
                if values is not None:
                    srec.snapshot = np.array(values, copy=True)

    def saved_for(self, counter=None, storage=None) -> list:
        if counter is not None:
            return self._saved_by_counter.get(counter, [])
        return self._saved_by_storage.get(storage, [])

    def _backward_begin(self, where, roots, inputs, retain_graph, create_graph) -> None:
        from .analysis import check_numpy_writes

        run = BackwardRun(tuple(self._record(r, where, "root").gid for r in roots), where[1], where[0])
        self.runs.append(run)
        self._add_hazards(check_numpy_writes(self))

    def _backward_end(self, where, roots) -> None:
        if self.runs:
            self.runs[-1].finished = True

    def _backward_error(self, where, roots, error, node) -> None:
        if not self.runs:
            return
        run = self.runs[-1]
        run.error = error
        if node is not None:
            run.node = self._node(node, (None, None))

    def _accumulated(self, where, tensor, grad, how) -> None:
        rec = self._record(tensor, where, "leaf")
        if grad is not None:
            rec.accumulated_line = where[1] if how != "backward" else (self.runs[-1].line if self.runs else where[1])
            rec.cleared_line = None
        elif rec.accumulated_line is not None:
            rec.cleared_line = where[1]

    def _value_escaped(self, where, tensor, how) -> None:
        rec = self._record(tensor, where, how)
        kind = "numpy" if how == "numpy" else "item"
        if how != "numpy":
            rec.escapes = (rec.escapes or ()) + ((kind, where[1]),)

    def _flag_changed(self, where, tensor, flag, value) -> None:
        rec = self._record(tensor, where, flag)
        if flag == "requires_grad":
            rec.requires_grad = value
            self.graph.nodes[rec.gid]["requires_grad"] = value

    def _inplace_refused(self, where, tensor, op, error) -> None:
        from .analysis import refused_hazard

        rec = self._record(tensor, where, op)
        self._add_hazards([refused_hazard(self, rec, op, error, where)])

    def _add_hazards(self, hazards) -> None:
        # one hazard per (kind, node, saved tensor, edit): a node that saved the same tensor
        # twice (``out * out``) is one problem, not two
        for h in hazards:
            key = (h.kind, h.node_id, h.saved_tensor, h.edit_line, h.tensor)
            if key not in self._hazard_keys:
                self._hazard_keys.add(key)
                self.hazards.append(h)

    # ------------------------------------------------------------------ queries
    def cutoffs(self) -> list:
        """The cuts seen so far, with the tensors' current names."""
        out = []
        for kind, line, src, dst, file, op in self.cuts:
            s, d = self.records.get(src), self.records.get(dst)
            out.append(
                Cutoff(kind, line, src, dst, s.name if s else None, d.name if d else None, file=file, op=op)
            )
        return out

    def record_of(self, t):
        """The record of a tensor seen in this trace (None if it was not)."""
        return self._lookup(t)

    def parameters(self):
        """(qualified name, parameter) of every nn.Module parameter seen in user code."""
        out = []
        for mname, ref in list(self.modules.items()):
            module = ref()
            if module is None:
                continue
            for pname, p in self.adapter.named_parameters(module):
                out.append((f"{mname}.{pname}", p))
        return out
