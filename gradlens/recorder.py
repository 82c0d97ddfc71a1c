"""The recorder: a listener that turns gradlens_core events into compact records.

Tensors (``t<k>``) and backward nodes (``n<k>``) are small slotted records; edges are kept
in adjacency lists. ``recorder.graph`` builds a ``networkx.MultiDiGraph`` from them on
demand, with edge keys:

========  =====================================================================
flow      data went from one tensor into another (``cut`` names a cut, if any)
grad_fn   a tensor and the backward node that made it
next      a backward node and the next one (or the leaf whose AccumulateGrad it is)
saved     a backward node saved this tensor (``version`` at save time)
alias     two tensors share storage (``alias`` = view, detach, data, numpy)
========  =====================================================================

Tensors are held by weak reference only, so tracing never keeps user tensors alive.
When a tensor dies and no finding refers to it, its record is dropped (its data-flow
edges are bridged, so paths and cuts survive): memory follows live tensors and
findings, not the number of steps traced. What an ordinary op makes is only journaled;
its record is made at the next event or query that needs it, and a tensor that died
before then never gets one (see ``_Pending``).

>>> import gradlens_core as torch
>>> rec = Recorder()
>>> rec.start()
>>> a = torch.ones(2, requires_grad=True)
>>> b = a.detach()
>>> rec.stop()
>>> [c.kind for c in rec.cutoffs()]
['detach']
"""

from __future__ import annotations

import inspect
import sys
import threading
import warnings
import weakref
from typing import NamedTuple

import networkx as nx
import numpy as np

from .adapter import CORE
from .analysis import check_numpy_writes, hazards_for_detach, hazards_for_edit, refused_hazard
from .findings import Cutoff, ErrorInfo
from .frames import SKIPPED

__all__ = ["Recorder", "TensorRecord", "NodeRecord", "SavedRecord", "BackwardRun", "Flow"]

_SNAPSHOT_LOCALS = sys.version_info < (3, 13)
_CO_OPTIMIZED = inspect.CO_OPTIMIZED
PINNED_RUNS = 3  # the roots of the most recent backward passes are kept for explanations
MAX_FINDINGS = 500  # cut-offs and hazards kept (each); a trace left on for hours keeps the newest
FLUSH_AT = 4096  # dead records dropped at the latest after this many (a long loop on one line)
# dead records dropped at a line change once this many wait: a batch that spans several
# statements mostly dies whole, so it needs few bridges, and a flush per line costs more
FLUSH_BATCH = 256
# events whose handlers follow no data-flow edges: they leave the journal (see _Pending) as it is
_NEED_NO_FLOWS = ("created", "backward_begin", "backward_end", "accumulated")
_NOWHERE = (None, None)
_NO_SOURCES = ()
_thread_id = threading.get_ident
# events backward itself may report: they take the line of the backward call (see _run_where)
_IN_BACKWARD = ("accumulated", "backward_end", "backward_error")
# the first frame that may be the user's, counted from _where (0) through __call__, emit and
# the gradlens_core function that emitted: that function's caller
_FIRST_CANDIDATE = 4


_RECORD_DEFAULTS = {
    "key": None,  # id() of the tensor while it lives
    "name": None,
    "shape": (),
    "dtype": "",
    "version": 0,
    "requires_grad": False,
    "is_leaf": True,
    "node_gid": None,
    "counter": None,
    "storage": None,
    "alias_kind": None,
    "alias_of": None,  # (source gid, kind)
    "rebound_from": None,
    "accumulated_line": None,
    "cleared_line": None,
    "escapes": None,
    "is_param": False,
    "flag_line": None,  # where requires_grad was last switched off
}


class TensorRecord:
    """What gradlens knows about one tensor (no reference to its data)."""

    __slots__ = (
        "gid",
        "ref",
        "key",
        "name",
        "file",
        "line",
        "op",
        "shape",
        "dtype",
        "version",
        "requires_grad",
        "is_leaf",
        "node_gid",
        "counter",
        "storage",
        "alias_kind",
        "alias_of",
        "detached_line",
        "rebound_from",
        "accumulated_line",
        "cleared_line",
        "escapes",
        "is_param",
        "flag_line",
        "alive",
        "flow_in",
        "flow_out",
    )

    def __init__(self, gid, ref, file, line, op) -> None:
        # Only what every record needs is set here (this runs once per traced op); the rest
        # read as their defaults (``__getattr__``) until something sets them.
        self.gid = gid
        self.ref = ref
        self.file = file
        self.line = line
        self.op = op
        self.alive = True
        self.flow_in = []
        self.flow_out = []
        self.detached_line = None  # read whenever the tensor is an op's input: no default lookup

    def __getattr__(self, name):  # an unset slot
        try:
            return _RECORD_DEFAULTS[name]
        except KeyError:
            raise AttributeError(name) from None

    def label(self) -> str:
        return self.name or self.gid

    def attrs(self, grad_fn_name) -> dict:
        return {
            "kind": "tensor",
            "name": self.name or "",
            "op": self.op or "",
            "shape": str(tuple(self.shape)),
            "dtype": self.dtype,
            "requires_grad": self.requires_grad,
            "is_leaf": self.is_leaf,
            "grad_fn": grad_fn_name or "",
            "version": self.version,
            "line": -1 if self.line is None else self.line,
            "file": self.file or "",
            "alive": self.alive,
            "detached_line": -1 if self.detached_line is None else self.detached_line,
        }


class Flow(NamedTuple):
    """A data-flow edge ``src -> dst``; ``cut`` names the cut kind ('' when the gradient flows).

    A tuple of strings and ints: the garbage collector stops tracking it after its first pass,
    which matters when a trace holds a 100,000-node graph.
    """

    src: str
    dst: str
    cut: str
    cut_line: int | None
    line: int | None
    op: str | None


class NodeRecord:
    """A backward node (``SigmoidBackward0``) and where it was made."""

    __slots__ = ("gid", "ref", "name", "file", "line", "output", "next", "saved")

    def __init__(self, gid, ref, name, file, line) -> None:
        self.gid = gid
        self.ref = ref
        self.name = name
        self.file = file
        self.line = line
        self.output = None
        self.next = []
        self.saved = []


class SavedRecord:
    """A tensor saved by a node for backward, at a version."""

    __slots__ = (
        "node",
        "tensor",
        "version",
        "counter",
        "storage",
        "is_output",
        "line",
        "file",
        "ref",
        "snapshot",
        "hazard",
    )

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

    __slots__ = ("roots", "where", "error", "node", "finished")

    def __init__(self, roots, where) -> None:
        self.roots = roots  # graph ids of the root tensors
        self.where = where  # (file, line) of the call
        self.error = None
        self.node = None  # NodeRecord being run when it failed
        self.finished = False

    @property
    def file(self):
        return self.where[0]

    @property
    def line(self):
        return self.where[1]


class _Pending(weakref.ref):
    """A tensor an op made, not recorded yet: a weak reference to it (``entry()`` is the
    tensor, or None once it died) that carries what its record would need.

    Tracing's hot path journals what an op made and records it at the next safe point
    (``Recorder._materialize``): by then most of a statement's intermediates have died, and
    a dead one costs no record at all, only a bridge for the data flow through it. Being
    the weakref itself, an entry is one object per op, made without a Python-level call;
    ``Recorder._journaled`` sets its fields:

    * ``node_ref``: weakref to its grad_fn (None for a factory's tensor);
    * ``where``, ``op``: its line and op;
    * ``sources``: the TensorRecord or _Pending each tensor input is (None, the one, or a
      list of them);
    * ``rec``: its record once made; ``view_of``: for a view, the record or _Pending of the
      tensor it views;
    * ``flows_from``: set once it is known dead, the records its data came from.
    """

    __slots__ = ("node_ref", "where", "op", "sources", "rec", "view_of", "flows_from")


class _PendingNode:
    """A backward node linked but not recorded yet: it is recorded only when something asks
    about it (``Recorder._take_pending_nodes``)."""

    __slots__ = ("node_ref", "where", "gid", "output")

    def __init__(self, node_ref, where, gid=None, output=None) -> None:
        self.node_ref = node_ref
        self.where = where
        self.gid = gid  # given when first needed
        self.output = output  # the gid of the tensor it made, when that one has a record


class Recorder:
    """Listens to an engine's events and keeps the records (see module docstring)."""

    def __init__(self, adapter=CORE) -> None:
        self.adapter = adapter
        self._tensor_type = adapter.Tensor
        self.tensors: dict = {}  # id(tensor) -> TensorRecord, live tensors only
        self.records: dict = {}  # gid -> TensorRecord
        self.nodes: dict = {}  # id(node) -> NodeRecord, live nodes only
        self.node_records: dict = {}  # gid -> NodeRecord
        self._saved_by_counter: dict = {}
        self._saved_by_storage: dict = {}
        self.hazards: list = []
        self._hazard_keys: set = set()
        self.cuts: list = []  # (kind, line, source gid, result gid, file, op)
        self.runs: list = []
        self.numpy_exports: dict = {}  # storage key -> (source gid, line, source required grad)
        self.bindings: dict = {}  # (scope, name) -> gid
        self.modules: dict = {}  # name -> weakref to an nn.Module seen in user code
        self.files: set = set()
        self.pinned: set = set()  # gids findings refer to: never dropped
        self.internal_errors: list = []
        self.dropped = 0  # tensors forgotten after they died (recorded or journaled)
        self._ref_rec: dict = {}  # weakref -> TensorRecord
        self._node_ref_rec: dict = {}  # weakref -> NodeRecord
        self._dead: list = []  # records whose tensors died, dropped at the next safe point
        self._dead_nodes: list = []
        self._pending_nodes: dict = {}  # id(node) -> _PendingNode, a node linked but not recorded
        self._journal: list = []  # _Pending tensors made by ops, recorded at the next safe point
        self._journal_index: dict = {}  # id(tensor) -> its _Pending in the journal
        self._prune_nodes_at = FLUSH_AT
        # _PendingNodes whose saved tensors are not recorded yet: read from the node when asked
        # (see _take_pending_saved), so a "saved" event costs nothing
        self._pending_saved: list = []
        # copies of saved values in memory numpy may write behind our back, taken when saved
        self._saved_snapshots = weakref.WeakKeyDictionary()
        self._run_of_thread: dict = {}  # thread id -> the BackwardRun it is running
        self._lock = threading.RLock()
        self._count = 0
        self._changes = 0
        self._graph = None
        self._graph_at = -1
        self._handle = None
        # the user's frame of the last event, by id and code: holding the frame would keep a
        # returned function's locals (its tensors) alive until the next event elsewhere
        self._frame_id = None
        self._frame_code = None
        self._frame_line = None
        self._frame_where = _NOWHERE
        self._lines: dict = {}  # instruction offset -> line, in the code of the last user frame
        # bound once: a new bound method per weakref would cost on every op
        self._on_tensor_death = self._tensor_died
        self._on_node_death = self._node_died
        self._dispatch = {
            "created": self._created,
            "aliased": self._aliased,
            "detached_in_place": self._detached_in_place,
            "mutated": self._mutated,
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
            # a bound method: calling the instance would look up __call__ on every event
            self._handle = self.adapter.subscribe(self.__call__)

    def stop(self, frame=None) -> None:
        if self._handle is None:
            return
        self._handle.remove()
        self._handle = None
        if frame is not None:
            self._scan_names(frame)
        self._frame_id = None
        try:
            self.flush()  # what died during the trace goes now, not at a later query
        except Exception as exc:  # a recorder bug must never break the user's program
            self._internal_error("stop", exc)

    def __call__(self, kind: str, payload: dict) -> None:
        if kind == "saved" and not self.numpy_exports:
            # a saved tensor is recorded from its node when asked (_take_pending_saved), with
            # the node's line: nothing to do, not even the lock
            return
        with self._lock:  # threads may run ops concurrently; records change one event at a time
            try:
                # the hot path, one "created" per op: most are only journaled
                if kind == "created":
                    where = self._where()
                    p = payload
                    if self._journaled(where, p["tensor"], p["grad_fn"], p["inputs"], p["op"]):
                        return  # no record changed
                elif kind == "saved":  # numpy may write this memory behind our back
                    self._snapshot_if_exported(payload["saved"])
                    return
                elif kind == "aliased" and payload["kind"] == "view" and self._view_journaled(payload):
                    return  # the view's record, if it ever needs one, learns it then
                else:
                    where = self._run_where(kind, payload) if kind in _IN_BACKWARD else self._where()
                    if self._journal and kind not in _NEED_NO_FLOWS:
                        self._materialize()  # the other handlers follow data-flow edges
                handler = self._dispatch.get(kind)
                if handler is None:
                    return
                if len(self._dead) >= FLUSH_AT:
                    self._flush()
                handler(where, **payload)
            except Exception as exc:  # a recorder bug must never break the user's program
                self._internal_error(kind, exc)
            self._changes += 1

    def _internal_error(self, kind: str, exc: Exception) -> None:
        self.internal_errors.append(f"{kind}: {type(exc).__name__}: {exc}")
        if len(self.internal_errors) == 1:
            warnings.warn(f"gradlens: recording failed and was skipped ({self.internal_errors[0]})", stacklevel=3)

    # ------------------------------------------------------------------ where and names
    def _where(self, depth=_FIRST_CANDIDATE):
        """(file, line) of the user's code; when the line changed, scans the frame's names and
        drops what died once a batch of it waits (whole statements' intermediates at once,
        see ``_drop``)."""
        # The search starts past this method, __call__, emit and the gradlens_core function
        # that emitted (events come only from there): each frame object walked past is made
        # for the walk (Python >= 3.11 makes them lazily), and that is most of a search's cost.
        # It is user_frame's loop, inlined: this runs for every event.
        f = sys._getframe(depth)
        while SKIPPED[f.f_code.co_filename]:
            f = f.f_back
            if f is None:
                return _NOWHERE
        code = f.f_code
        if code is self._frame_code:
            # f_lineno decodes the line table from its start; the instruction offset maps to
            # one line for good, so a loop's ops find theirs in a dict
            lasti = f.f_lasti
            line = self._lines.get(lasti)
            if line is None:
                line = self._lines[lasti] = f.f_lineno
            # A new call's frame may reuse a returned one's id: then it is taken for the same
            # frame until its line changes (names are learned at the next line instead)
            if line == self._frame_line and id(f) == self._frame_id:
                return self._frame_where
        else:
            line = f.f_lineno
            self._frame_code = code
            self._lines = {f.f_lasti: line}
        if len(self._dead) >= FLUSH_BATCH or len(self._dead_nodes) >= FLUSH_BATCH:
            self._flush()
        self._scan_names(f)
        self._frame_id = id(f)
        self._frame_line = line
        self._frame_where = (code.co_filename, line)  # shared by the line's records
        self.files.add(code.co_filename)
        return self._frame_where

    def _run_where(self, kind, payload):
        """The line of the backward call running in this thread, for what backward itself
        reports (a leaf's grad written, the end, an error): no frame search from deep inside
        the engine. Otherwise, or outside backward, the user's line as usual."""
        run = self._run_of_thread.get(_thread_id())
        if run is None or (kind == "accumulated" and payload["how"] != "backward"):
            return self._where()
        return run.where

    def _scan_names(self, f) -> None:
        try:
            local_dict = f.f_locals
            items = list(local_dict.items())
        except Exception:  # exotic frames: names are a convenience, never an error
            return
        optimized = f.f_code.co_flags & _CO_OPTIMIZED
        if _SNAPSHOT_LOCALS and optimized:
            # Before Python 3.13 a function frame's f_locals is a cached snapshot that holds
            # strong references until the next access: drop them so tracing keeps nothing alive.
            local_dict.clear()
        # module-level names live in the globals dict, whichever code object (an IPython cell
        # runs each top-level statement as its own code) assigns them
        self.scan_namespace(items, f.f_code if optimized else id(f.f_globals))

    def scan_namespace(self, items, scope) -> None:
        """Learn variable names from ``(name, value)`` pairs (a frame's locals, a script's globals)."""
        with self._lock:
            self._scan(items, scope)

    def _scan(self, items, scope) -> None:
        tensor_type, module_type = self._tensor_type, self.adapter.module_type()
        tensors, bindings, modules = self.tensors, self.bindings, self.modules
        for name, value in items:
            if name.startswith("_"):
                continue
            if isinstance(value, tensor_type):
                key = (scope, name)
                prev = bindings.get(key)
                rec = tensors.get(id(value))
                if rec is not None and rec.gid == prev:
                    continue  # bound as it was (a live record is its tensor's: dead ones leave tensors)
                rec = self._lookup(value)
                if rec is None or prev == rec.gid:
                    continue
                bindings[key] = rec.gid
                if rec.name is None:
                    rec.name = name
                if prev is not None:
                    self._check_rebinding(self.records.get(prev), rec, name)
            elif module_type is not None and isinstance(value, module_type):
                known = modules.get(name)
                if known is None or known() is not value:
                    modules[name] = weakref.ref(value)

    def _check_rebinding(self, old, new, name) -> None:
        # `w = w - lr * w.grad`: the name of a leaf that required grad now holds a non-leaf
        # computed from it; the new w will never get a .grad.
        if old is None or new.is_leaf or old.name != name or not (old.is_leaf and old.requires_grad):
            return
        if self._journal:
            self._materialize()  # the data-flow edges are followed
        if new.rebound_from is None and self._flows_from(old.gid, new.gid):
            new.rebound_from = old.gid
            new.name = name
            self.pinned.update((old.gid, new.gid))

    def _flows_from(self, src: str, dst: str, limit: int = 10000) -> bool:
        seen = {dst}
        stack = [dst]
        records = self.records
        while stack and len(seen) < limit:
            rec = records.get(stack.pop())
            if rec is None:
                continue
            for e in rec.flow_in:
                if e.src == src:
                    return True
                if e.src not in seen:
                    seen.add(e.src)
                    stack.append(e.src)
        return False

    # ------------------------------------------------------------------ records
    def _lookup(self, t):
        rec = self.tensors.get(id(t))
        if rec is not None and rec.ref() is t:
            return rec
        entry = self._journal_index.get(id(t))
        if entry is not None and entry() is t:
            return self._promote(entry)
        return None

    def record_for(self, t, where=_NOWHERE, op="external") -> TensorRecord:
        """The record of tensor ``t`` (made now if gradlens has not seen it yet)."""
        rec = self._lookup(t)
        if rec is not None:
            return rec
        return self._new_record(t, where, op, self.adapter.grad_fn(t))

    def _new_record(self, t, where, op, node) -> TensorRecord:
        self._count += 1
        gid = f"t{self._count}"
        ref = weakref.ref(t, self._on_tensor_death)
        rec = TensorRecord(gid, ref, where[0], where[1], op)
        key = rec.key = id(t)
        self._ref_rec[ref] = rec
        self.adapter.fill(rec, t)
        self.tensors[key] = rec
        self.records[gid] = rec
        if node is not None:
            self._link_grad_fn(rec, node, where)
        return rec

    def _node(self, node, where) -> NodeRecord:
        """The record of a backward node; unknown next nodes are recorded too (iteratively)."""
        if self._journal:
            self._materialize()  # it may know the node's line
        rec = self.nodes.get(id(node))
        if rec is not None and rec.ref() is node:
            return rec
        adapter = self.adapter
        nodes, tensors = self.nodes, self.tensors
        first = self._new_node(node, where)
        stack = [(first, node)]
        while stack:
            rec, n = stack.pop()
            for nxt, _ in adapter.next_functions(n):
                if nxt is None:
                    continue
                if adapter.is_accumulate(nxt):
                    leaf = adapter.accumulate_variable(nxt)
                    known = tensors.get(id(leaf))
                    if known is None or known.ref() is not leaf:
                        known = self.record_for(leaf, _NOWHERE, "leaf")
                    rec.next.append(known.gid)
                    continue
                known = nodes.get(id(nxt))
                if known is None or known.ref() is not nxt:
                    known = self._new_node(nxt, _NOWHERE)
                    stack.append((known, nxt))
                rec.next.append(known.gid)
        return first

    def _new_node(self, node, where) -> NodeRecord:
        key = id(node)
        pending = self._pending_nodes.pop(key, None)
        if pending is not None and pending.node_ref() is node:
            gid, where, output = self._pending_gid(pending), pending.where, pending.output
        else:
            self._count += 1
            gid, output = f"n{self._count}", None
        ref = weakref.ref(node, self._on_node_death)
        rec = NodeRecord(gid, ref, self.adapter.node_name(node), where[0], where[1])
        rec.output = output
        self._node_ref_rec[ref] = (rec, key)
        self.nodes[key] = rec
        self.node_records[gid] = rec
        return rec

    def _link_grad_fn(self, rec: TensorRecord, node, where, node_ref=None) -> None:
        """``node`` made ``rec``'s tensor. Its record is made on demand (``_take_pending_nodes``):
        most nodes of a step die with the step before anyone asks about them."""
        key = id(node)
        nrec = self.nodes.get(key)
        if nrec is not None and nrec.ref() is node:
            gid = nrec.gid
            nrec.output = rec.gid
        else:
            pending = self._pending_nodes.get(key)
            if pending is not None and pending.node_ref() is node:
                gid = self._pending_gid(pending)
                pending.where, pending.output = where, rec.gid
            else:
                self._count += 1
                gid = f"n{self._count}"
                ref = node_ref or weakref.ref(node)
                pending = self._pending_nodes[key] = _PendingNode(ref, where, gid, rec.gid)
                self._pending_saved.append(pending)
                if len(self._pending_nodes) >= self._prune_nodes_at:
                    self._prune_pending_nodes()
        rec.node_gid = gid
        rec.is_leaf = False
        rec.requires_grad = True

    def _pending_gid(self, pending) -> str:
        """A pending node's graph id (given now if it has none yet)."""
        if pending.gid is None:
            self._count += 1
            pending.gid = f"n{self._count}"
        return pending.gid

    def _promote(self, entry) -> TensorRecord:
        """The record of a journaled tensor that is still alive, made now; its data-flow edges
        wait for ``_materialize`` (what it was made from may be journaled still)."""
        rec = entry.rec
        if rec is None:
            rec = entry.rec = self._new_record(entry(), entry.where, entry.op, None)
            node = None if entry.node_ref is None else entry.node_ref()
            if node is not None:
                self._link_grad_fn(rec, node, entry.where, entry.node_ref)
            base = entry.view_of
            if base is not None:
                rec.alias_kind = "view"
                if type(base) is _Pending:  # a view of a view holds the first one's base, not it
                    base = self._promote(base) if base.rec is not None or base() is not None else None
                if base is not None:
                    rec.alias_of = (base.gid, "view")
        return rec

    def _materialize(self) -> None:
        """Record what the journal holds, in the order it was made (inputs first).

        A tensor still alive gets its record and its data-flow edges. A dead one gets none:
        the records its data came from flow on to whatever it fed, as ``_bridge`` would have
        bridged them, and its node (if alive) waits in ``_pending_nodes`` with its line.
        """
        journal, self._journal = self._journal, []
        self._journal_index = {}
        dropped = 0
        for e in journal:
            sources = e.sources
            kind = type(sources)
            if kind is _Pending:
                # a chain of dead ones shares one list of sources (never changed)
                srcs = sources.flows_from if sources.rec is None else (sources.rec,)
            elif kind is not list:
                srcs = _NO_SOURCES if sources is None else (sources,)
            else:
                srcs = []
                for s in sources:
                    if type(s) is not _Pending:
                        srcs.append(s)
                    elif s.rec is not None:
                        srcs.append(s.rec)
                    else:
                        srcs.extend(s.flows_from)
                if len(srcs) > 1:
                    srcs = list(dict.fromkeys(srcs))
            rec = e.rec
            if rec is None:
                if e() is not None:
                    rec = self._promote(e)
                else:  # died unrecorded: its node (if alive) waits with its line
                    e.flows_from = srcs
                    dropped += 1
                    node = None if e.node_ref is None else e.node_ref()
                    if node is not None and not self._knows_node(node):
                        pending = self._pending_nodes[id(node)] = _PendingNode(e.node_ref, e.where)
                        self._pending_saved.append(pending)
                    continue
            line, op, dst, flow_in = e.where[1], e.op, rec.gid, rec.flow_in
            for src in srcs:
                flow = Flow(src.gid, dst, "", line, line, op)
                src.flow_out.append(flow)
                flow_in.append(flow)
        self.dropped += dropped
        if len(self._pending_nodes) >= self._prune_nodes_at:
            self._prune_pending_nodes()
        if len(self._pending_saved) >= FLUSH_AT:
            self._take_pending_saved()  # a long forward pass: what it saves is recorded in batches
        self._changes += 1

    def _knows_node(self, node) -> bool:
        """Whether ``node`` is recorded or pending already (a node with several outputs)."""
        key = id(node)
        rec = self.nodes.get(key)
        if rec is not None and rec.ref() is node:
            return True
        pending = self._pending_nodes.get(key)
        return pending is not None and pending.node_ref() is node

    def _prune_pending_nodes(self) -> None:
        """Forget pending nodes that died; the live ones stay pending (a pending entry is as
        small as a record, and a deep graph kept for backward would otherwise be recorded
        node by node). The next prune waits until the live ones have doubled: amortized O(1)."""
        pending = self._pending_nodes
        for key in [key for key, entry in pending.items() if entry.node_ref() is None]:
            del pending[key]
        self._pending_saved = [entry for entry in self._pending_saved if entry.node_ref() is not None]
        self._prune_nodes_at = max(FLUSH_AT, 2 * len(pending))

    def _take_pending_nodes(self) -> None:
        """Record the linked nodes that are still alive (see ``_link_grad_fn``)."""
        pending = self._pending_nodes
        while pending:
            key, entry = pending.popitem()
            node = entry.node_ref()
            if node is None:
                continue
            pending[key] = entry  # _new_node takes its gid and line from here
            self._node(node, entry.where)
            pending.pop(key, None)

    def _flow(self, src: TensorRecord, dst: TensorRecord, cut, where, op, cut_line=None) -> None:
        e = Flow(src.gid, dst.gid, cut or "", cut_line if cut_line is not None else where[1], where[1], op)
        src.flow_out.append(e)
        dst.flow_in.append(e)
        if cut and cut_line is None:
            self._note_cut(cut, where[1], src.gid, dst.gid, where[0], op)

    def _note_cut(self, cut, line, src_gid, dst_gid, file, op) -> None:
        """A finding: the gradient is cut between two records, which are kept for explanations."""
        self.cuts.append((cut, line, src_gid, dst_gid, file, op))
        self.pinned.update((src_gid, dst_gid))
        if len(self.cuts) > MAX_FINDINGS:
            old = self.cuts.pop(0)
            self._unpin(old[2], old[3])

    # ------------------------------------------------------------------ forgetting the dead
    def _tensor_died(self, ref) -> None:
        # A weakref callback: it may run inside any code (the cycle collector), so it only
        # unlinks the id and queues the record; flush() drops it at a safe point.
        rec = self._ref_rec.pop(ref, None)
        if rec is None:
            return
        if self.tensors.get(rec.key) is rec:
            del self.tensors[rec.key]
        rec.alive = False
        self._dead.append(rec)

    def flush(self) -> None:
        """Forget what died since the last call (unless a finding refers to it); record the
        saved tensors still held."""
        with self._lock:
            self._materialize()
            self._take_pending_nodes()
            self._take_pending_saved()
            self._flush()

    def _flush(self) -> None:
        if self._journal:
            self._materialize()  # their flow edges must exist before dead sources are bridged
        records, pinned = self.records, self.pinned
        doomed = {}
        while self._dead:
            rec = self._dead.pop()
            if rec.gid not in pinned and records.get(rec.gid) is rec:
                doomed[rec.gid] = rec
        if doomed:
            self._drop(doomed)
        while self._dead_nodes:
            rec = self._dead_nodes.pop()
            if rec.gid in pinned or rec.gid not in self.node_records:
                continue
            for srec in rec.saved:
                self._unindex_saved(srec)
            del self.node_records[rec.gid]
            self._changes += 1

    def _drop(self, doomed: dict) -> None:
        """Forget dead tensors no finding refers to (``doomed``: gid -> record), bridging their
        data flow so paths survive.

        A whole batch goes at once: a step's intermediates usually die together, and then no
        kept record touches the batch and nothing needs a bridge.
        """
        records = self.records
        for rec in doomed.values():
            for e in rec.flow_in:
                src = records.get(e.src)
                if src is not None and e.src not in doomed:
                    self._bridge(src, doomed)
        for rec in doomed.values():
            for e in rec.flow_out:
                dst = records.get(e.dst)
                if dst is not None and e.dst not in doomed:
                    dst.flow_in = [x for x in dst.flow_in if x.src not in doomed]
        for gid in doomed:
            del records[gid]
        self.dropped += len(doomed)
        self._changes += 1

    def _bridge(self, src: TensorRecord, doomed: dict) -> None:
        """Replace ``src``'s edges into doomed records by one edge to each kept record reachable
        through them, carrying the first cut on the way (its kind and line)."""
        into = [e for e in src.flow_out if e.dst in doomed]
        if not into:
            return  # bridged already (src fed several doomed records)
        src.flow_out = [e for e in src.flow_out if e.dst not in doomed]
        if not any(doomed[e.dst].flow_out for e in into):
            return  # dead ends (a step's loss): nothing lies beyond them
        existing = {(e.dst, e.cut) for e in src.flow_out}
        stack = [(e, e.cut, e.cut_line) for e in into]
        seen = set()
        while stack:
            e, cut, cut_line = stack.pop()
            for o in doomed[e.dst].flow_out:
                through = cut or o.cut
                line = cut_line if cut else o.cut_line
                if o.dst in doomed:
                    if (o.dst, through) not in seen:
                        seen.add((o.dst, through))
                        stack.append((o, through, line))
                    continue
                dst = self.records.get(o.dst)
                if dst is None or o.dst == src.gid or (o.dst, through) in existing:
                    continue
                existing.add((o.dst, through))
                bridged = Flow(src.gid, o.dst, through, line, o.line, o.op)
                src.flow_out.append(bridged)
                dst.flow_in.append(bridged)

    def _node_died(self, ref) -> None:
        entry = self._node_ref_rec.pop(ref, None)
        if entry is None:
            return
        rec, key = entry
        if self.nodes.get(key) is rec:
            del self.nodes[key]
        self._dead_nodes.append(rec)

    def _unindex_saved(self, srec) -> None:
        for index, key in ((self._saved_by_counter, srec.counter), (self._saved_by_storage, srec.storage)):
            entries = index.get(key)
            if entries is not None:
                entries.pop(srec, None)
                if not entries:
                    del index[key]

    def _unpin(self, *gids) -> None:
        """Let records go once no kept finding or recent root refers to them (dropped if dead)."""
        keep = self._finding_gids() | {g for r in self.runs[-PINNED_RUNS:] for g in r.roots}
        for g in gids:
            if g and g not in keep:
                self.pinned.discard(g)
                rec = self.records.get(g)
                if rec is not None and not rec.alive:
                    self._dead.append(rec)

    def pin(self, *gids) -> None:
        """Keep these records even after their tensors die (findings refer to them)."""
        self.pinned.update(g for g in gids if g)

    # ------------------------------------------------------------------ event handlers
    def _created(self, where, tensor, grad_fn, inputs, op) -> None:
        # what _journaled declined: a cut, a use after detach_(), an input gradlens has not seen
        if self._journal:
            self._materialize()
        tensors = self.tensors
        adapter = self.adapter
        rec = tensors.get(id(tensor))
        if rec is None or rec.ref() is not tensor:
            rec = self._new_record(tensor, where, op, grad_fn)
        elif grad_fn is not None:
            self._link_grad_fn(rec, grad_fn, where)
        tensor_type = adapter.Tensor
        sources = []
        for inp in inputs:
            if isinstance(inp, tensor_type):
                src = tensors.get(id(inp))
                if src is None or src.ref() is not inp:
                    src = self.record_for(inp)
                sources.append((src, inp.requires_grad))
        cut = None
        if grad_fn is None and any(rg for _, rg in sources):
            cut = "non_differentiable" if adapter.is_grad_enabled() else "no_grad"
        dst, line, file = rec.gid, where[1], where[0]
        flow_in = rec.flow_in
        for src, rg in sources:
            if rg or src.detached_line is None:
                e = Flow(src.gid, dst, (cut or "") if rg else "", line, line, op)
                src.flow_out.append(e)
                flow_in.append(e)
                if rg and cut:
                    self._note_cut(cut, line, src.gid, dst, file, op)
            else:  # a use of a tensor after detach_(): cut from the history it had before
                self._flow(src, rec, "detach_", where, op, cut_line=src.detached_line)

    def _journaled(self, where, tensor, grad_fn, inputs, op) -> bool:
        """Journal what an op made (see ``_Pending``) when that is all it needs: a new tensor
        from inputs gradlens knows, with no cut and no use of a tensor after ``detach_()``."""
        tensors, index = self.tensors, self._journal_index
        key = id(tensor)
        if key in tensors:
            return False
        known = index.get(key)
        if known is not None and known() is tensor:
            return False
        sources = None  # one source as itself, more in a list: fewer objects for the collector
        tensor_type = self._tensor_type
        for inp in inputs:
            k = id(inp)
            src = index.get(k)
            if src is None or src() is not inp:
                src = tensors.get(k)
                if src is None or src.ref() is not inp:
                    if isinstance(inp, tensor_type):
                        return False  # a tensor gradlens has not seen
                    continue  # a number
                if src.detached_line is not None:
                    return False
            if sources is None:
                sources = src
            elif type(sources) is list:
                sources.append(src)
            else:
                sources = [sources, src]
        if grad_fn is None:
            if any(isinstance(inp, tensor_type) and inp.requires_grad for inp in inputs):
                return False  # a cut
            node_ref = None
        else:
            node_ref = weakref.ref(grad_fn)
        entry = index[key] = _Pending(tensor)
        entry.node_ref = node_ref
        entry.where = where
        entry.op = op
        entry.sources = sources
        entry.rec = entry.view_of = None
        journal = self._journal
        journal.append(entry)
        if len(journal) >= FLUSH_AT:  # a long loop on one line
            self._flush()
        return True

    def _view_journaled(self, payload) -> bool:
        """Note on a journaled view what it views, when gradlens knows that tensor: a view
        op reports its result (journaled) and then the alias, and most views (``w.t()`` in a
        linear layer) die before anything asks about them."""
        tensor, source = payload["tensor"], payload["source"]
        entry = self._journal_index.get(id(tensor))
        if entry is None or entry() is not tensor or entry.rec is not None:
            return False
        key = id(source)
        src = self._journal_index.get(key)
        if src is None or src() is not source:
            src = self.tensors.get(key)
            if src is None or src.ref() is not source:
                return False
        entry.view_of = src
        return True

    def _aliased(self, where, tensor, source, kind, op, array=None) -> None:
        adapter = self.adapter
        if kind == "numpy":
            src = self.record_for(source, where, op)
            storage = adapter.storage_key_of_array(array)
            self.numpy_exports[storage] = (src.gid, where[1], adapter.requires_grad(source))
            self.pin(src.gid)
            self._snapshot_saved(storage)
            if adapter.requires_grad(source):
                src.escapes = (src.escapes or ()) + (("numpy", where[1]),)
            return
        rec = self.record_for(tensor, where, op)
        rec.alias_kind = kind
        if kind == "from_numpy":
            export = self.numpy_exports.get(adapter.storage_key(tensor))
            if export is not None and export[0] in self.records:
                src = self.records[export[0]]
                rec.alias_of = (src.gid, "numpy")
                self._flow(src, rec, "numpy" if export[2] else None, where, op)
            return
        if source is None:
            return
        src = self.record_for(source, where, op)
        rec.alias_of = (src.gid, kind)
        if kind in ("detach", "data"):
            self._flow(src, rec, kind if adapter.requires_grad(source) else None, where, op)

    def _detached_in_place(self, where, tensor, old_grad_fn) -> None:
        rec = self.record_for(tensor, where, "detach_")
        rec.detached_line = where[1]
        was = rec.requires_grad
        rec.is_leaf = True
        rec.requires_grad = False
        rec.node_gid = None
        self.pin(rec.gid)
        if was:
            self.cuts.append(("detach_", where[1], rec.gid, rec.gid, where[0], "detach_"))
        self._add_hazards(hazards_for_detach(self, rec, where))

    def _mutated(self, where, tensor, op, old_version, new_version, inputs) -> None:
        adapter = self.adapter
        rec = self.record_for(tensor, where, op)
        rec.version = new_version
        node = adapter.grad_fn(tensor)
        if node is not None:
            self._link_grad_fn(rec, node, where)
            base = getattr(tensor, "_base", None)
            if base is not None and adapter.grad_fn(base) is not None:
                self._link_grad_fn(self.record_for(base, where, "base"), adapter.grad_fn(base), where)
        for inp in inputs:
            if adapter.is_tensor(inp):
                requires_grad = adapter.requires_grad(inp)
                src = self._lookup(inp)
                if src is None:
                    if not requires_grad:
                        # a tensor gradlens never saw, with no history (``p.grad`` in an
                        # optimizer's step): its edge could carry no gradient and would die with it
                        continue
                    src = self.record_for(inp)
                self._flow(src, rec, "no_grad" if requires_grad and node is None else None, where, op)
        self._add_hazards(hazards_for_edit(self, tensor, rec, op, where))

    def _snapshot_if_exported(self, saved) -> None:
        """Copy a saved tensor's values now if numpy may write its memory behind our back (a
        numpy write bumps no version: ``check_numpy_writes`` compares with the copy)."""
        adapter = self.adapter
        tensor = adapter.saved_tensor(saved)
        if tensor is not None and adapter.storage_key(tensor) in self.numpy_exports:
            values = adapter.saved_values(saved)
            if values is not None:
                self._saved_snapshots[saved] = np.array(values, copy=True)

    def _take_pending_saved(self) -> None:
        """Record what the pending nodes saved and still hold for backward.

        Nothing is recorded when an op saves: most saved tensors are released by backward
        before anything asks about them (an edit, a detach_, a query). A node's saved tensors
        are read from the node itself, and take its line. A node that died, or whose saved
        tensors were released, costs nothing here.
        """
        if self._journal:
            self._materialize()  # the nodes of journaled ops join the queue
        adapter = self.adapter
        while self._pending_saved:  # recording a saved tensor may link (and queue) its node
            pending, self._pending_saved = self._pending_saved, []
            for entry in pending:
                node = entry.node_ref()
                if node is None:
                    continue
                held = [
                    s
                    for s in adapter.saved_entries(node)
                    if adapter.saved_tensor(s) is not None and adapter.saved_live(s)
                ]
                if not held:
                    continue
                nrec = self._node(adapter.saver(node), entry.where)
                if nrec.saved:
                    continue  # recorded already (a node that made several outputs is queued by each)
                for saved in held:
                    self._record_saved(nrec, entry.where, saved)

    def _record_saved(self, nrec, where, saved) -> None:
        adapter = self.adapter
        tensor = adapter.saved_tensor(saved)
        trec = self.record_for(tensor, where, "saved")
        srec = SavedRecord(
            nrec,
            trec,
            adapter.saved_version(saved),
            adapter.counter_key(tensor),
            adapter.storage_key(tensor),
            adapter.saved_is_output(saved),
            where[1],
            where[0],
            weakref.ref(saved),
        )
        nrec.saved.append(srec)
        # dicts used as ordered sets: a weight is saved by every step, and entries go one by one
        self._saved_by_counter.setdefault(srec.counter, {})[srec] = None
        self._saved_by_storage.setdefault(srec.storage, {})[srec] = None
        srec.snapshot = self._saved_snapshots.pop(saved, None)

    def _snapshot_saved(self, storage) -> None:
        self._take_pending_saved()
        for srec in list(self._saved_by_storage.get(storage, ())):
            saved = srec.ref()
            if saved is not None and srec.snapshot is None and self.adapter.saved_live(saved):
                values = self.adapter.saved_values(saved)
                if values is not None:
                    srec.snapshot = np.array(values, copy=True)

    def saved_for(self, counter=None, storage=None) -> list:
        """Saved-tensor records sharing a version counter, or a storage."""
        if self._pending_saved or self._journal:
            with self._lock:
                self._take_pending_saved()
        if counter is not None:
            return list(self._saved_by_counter.get(counter, ()))
        return list(self._saved_by_storage.get(storage, ()))

    def _backward_begin(self, where, roots, inputs, retain_graph, create_graph) -> None:
        run = BackwardRun(tuple(self.record_for(r, where, "root").gid for r in roots), where)
        self.runs.append(run)
        self._run_of_thread[threading.get_ident()] = run
        self.pin(*run.roots)
        if len(self.runs) > PINNED_RUNS:
            self._unpin_run(self.runs[-PINNED_RUNS - 1])
        self._add_hazards(check_numpy_writes(self))

    def _unpin_run(self, run) -> None:
        keep = {g for r in self.runs[-PINNED_RUNS:] for g in r.roots} | self._finding_gids()
        for g in run.roots:
            if g in keep:
                continue
            self.pinned.discard(g)
            rec = self.records.get(g)
            if rec is not None and not rec.alive:
                self._dead.append(rec)

    def _finding_gids(self) -> set:
        out = set()
        for cut in self.cuts:
            out.update(cut[2:4])
        for h in self.hazards:
            out.update((h.tensor, h.saved_tensor))
        return out

    def _this_threads_run(self):
        return self._run_of_thread.pop(threading.get_ident(), None)

    def _backward_end(self, where, roots) -> None:
        run = self._this_threads_run()
        if run is not None:
            run.finished = True

    def _backward_error(self, where, roots, error, node) -> None:
        run = self._this_threads_run()
        if run is None:
            return
        run.error = ErrorInfo.of(error)
        if node is not None:
            run.node = self._node(node, _NOWHERE)
            self.pin(run.node.gid)

    def _accumulated(self, where, tensor, grad, how) -> None:
        rec = self.record_for(tensor, where, "leaf")
        if grad is not None:
            rec.accumulated_line = where[1]  # for "backward", the backward call's (_run_where)
            rec.cleared_line = None
        elif rec.accumulated_line is not None:
            rec.cleared_line = where[1]

    def _value_escaped(self, where, tensor, how) -> None:
        if how == "numpy":
            return  # recorded with the alias, where the array is known
        rec = self.record_for(tensor, where, how)
        rec.escapes = (rec.escapes or ()) + (("item", where[1]),)
        self.pin(rec.gid)

    def _flag_changed(self, where, tensor, flag, value) -> None:
        rec = self.record_for(tensor, where, flag)
        if flag == "requires_grad":
            rec.requires_grad = value
            rec.flag_line = None if value else where[1]

    def _inplace_refused(self, where, tensor, op, error) -> None:
        rec = self.record_for(tensor, where, op)
        self._add_hazards([refused_hazard(self, rec, op, error, where)])

    def _add_hazards(self, hazards) -> None:
        # one hazard per (kind, node, saved tensor, edit): a node that saved the same tensor
        # twice (``out * out``) is one problem, not two
        for h in hazards:
            key = (h.kind, h.node_id, h.saved_tensor, h.edit_line, h.tensor)
            if key not in self._hazard_keys:
                self._hazard_keys.add(key)
                self.hazards.append(h)
                self.pin(h.tensor, h.saved_tensor, h.node_id)
                if len(self.hazards) > MAX_FINDINGS:
                    old = self.hazards.pop(0)
                    self._unpin(old.tensor, old.saved_tensor, old.node_id)

    # ------------------------------------------------------------------ queries
    def record_of(self, t):
        """The record of a tensor seen in this trace (None if it was not)."""
        with self._lock:
            self._materialize()
            return self._lookup(t)

    def cutoffs(self) -> list:
        """The cuts seen so far, with the tensors' current names."""
        out = []
        for kind, line, src, dst, file, op in self.cuts:
            s, d = self.records.get(src), self.records.get(dst)
            out.append(Cutoff(kind, line, src, dst, s.name if s else None, d.name if d else None, file=file, op=op))
        return out

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

    @property
    def graph(self) -> nx.MultiDiGraph:
        """The records as a networkx graph (rebuilt only when something changed)."""
        self.flush()
        if self._graph is None or self._graph_at != self._changes:
            self._graph = self.build_graph()
            self._graph_at = self._changes
        return self._graph

    def build_graph(self) -> nx.MultiDiGraph:
        g = nx.MultiDiGraph()
        # snapshots: a weakref callback may queue records meanwhile (never mutates these)
        nodes = dict(self.node_records)
        records = dict(self.records)
        for gid, n in nodes.items():
            g.add_node(gid, kind="node", name=n.name, line=-1 if n.line is None else n.line, file=n.file or "")
        for gid, rec in records.items():
            node = nodes.get(rec.node_gid)
            g.add_node(gid, **rec.attrs(node.name if node else None))
        for gid, rec in records.items():
            if rec.node_gid in nodes:
                g.add_edge(gid, rec.node_gid, key="grad_fn")
            for e in rec.flow_out:
                if e.dst in records:
                    g.add_edge(gid, e.dst, key="flow", cut=e.cut, line=-1 if e.line is None else e.line, op=e.op or "")
            if rec.alias_of is not None and rec.alias_of[0] in records:
                g.add_edge(rec.alias_of[0], gid, key="alias", alias=rec.alias_of[1])
        for gid, n in nodes.items():
            for nxt in n.next:
                if nxt in nodes or nxt in records:
                    g.add_edge(gid, nxt, key="next")
            for s in n.saved:
                if s.tensor.gid in records:
                    g.add_edge(gid, s.tensor.gid, key="saved", version=s.version)
        return g
