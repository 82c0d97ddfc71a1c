"""The autograd graph and the backward engine.

A backward node is an instance of a small class named as PyTorch names it
(``SigmoidBackward0``); the class carries the derivative formula, the instance carries
the edges to the next nodes, the saved tensors and the constants the formula needs.

>>> import gradlens_core as torch
>>> a = torch.tensor([1., 2.], requires_grad=True)
>>> (a * a).sum().backward()
>>> a.grad
tensor([2., 4.])
"""

from __future__ import annotations

import heapq
import itertools
import re
import threading
import traceback
import warnings
import weakref

import numpy as np

from . import _events, _grad_mode, _ns
from ._handles import HookDict, add_hook
from ._warn import warn_once

__all__ = ["Node", "SavedTensor", "AccumulateGrad", "backward_formula", "run_backward"]

ERR_BACKWARD_TWICE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward."
)
ERR_DETACHED_IN_PLACE = (
    "Trying to use a saved tensor that has been detached in-place, i.e. with .detach_().This is "
    "not supported, please use out-of-place `.detach()` instead"
)

_seq = itertools.count()
_ANOMALY = _grad_mode._anomaly  # the process-wide flag's list, bound once for Node()
_SHORT_NAME = re.compile(r"Backward(\d*)$")


def short_name(node: Node) -> str:
    """``SigmoidBackward0`` -> ``Sigmoid``, ``PowBackward1`` -> ``Pow1``: how PyTorch names a node
    in the in-place error (Node::forward_op_name keeps an overload number other than 0)."""
    return _SHORT_NAME.sub(lambda m: "" if m.group(1) in ("", "0") else m.group(1), node.name())


class _NodeExtra:
    """Hooks and debugging state of a node; most nodes never have any (keeps Node small)."""

    __slots__ = ("hooks", "pre_hooks", "tensor_pre_hooks", "retain", "metadata", "anomaly_trace")

    def __init__(self) -> None:
        self.hooks = self.pre_hooks = self.tensor_pre_hooks = self.retain = self.metadata = None
        self.anomaly_trace = None


def _extra_field(name: str):
    def get(self):
        x = self._x
        return None if x is None else getattr(x, name)

    def set(self, value):
        if self._x is None:
            self._x = _NodeExtra()
        setattr(self._x, name, value)

    return property(get, set)


class Node:
    """A backward function: gradients of its outputs in, gradients of its inputs out."""

    __slots__ = ("next_functions", "_held", "_ctx", "_input_meta", "_seq", "_x", "__weakref__")
    _formula = None  # (node, grad, ns) -> tuple of input grads; set per node class
    _n_outputs = 1
    # PyTorch's own formula (C++), not Python code such as a custom Function's backward
    builtin_formula = True

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        from ._saved_attrs import install  # (it builds on this module)

        install(cls)  # PyTorch's ``_saved_self``-style attributes, made once per class

    def __init__(self, next_functions=(), saved=(), ctx=None, input_meta=()) -> None:
        self.next_functions = next_functions
        self._held = saved
        self._ctx = ctx
        self._input_meta = input_meta
        self._seq = next(_seq)
        self._x = None
        if _ANOMALY[0]:
            self._anomaly_trace = _forward_trace()

    _hooks = _extra_field("hooks")
    _pre_hooks = _extra_field("pre_hooks")
    _tensor_pre_hooks = _extra_field("tensor_pre_hooks")
    _retain = _extra_field("retain")
    _metadata = _extra_field("metadata")
    _anomaly_trace = _extra_field("anomaly_trace")

    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {id(self):#x}>"

    @property
    def metadata(self) -> dict:
        if self._metadata is None:
            self._metadata = {}
        return self._metadata

    def register_hook(self, fn):
        """``fn(grad_inputs, grad_outputs)`` runs after the node; a returned tuple replaces grad_inputs."""
        if self._hooks is None:
            self._hooks = HookDict()
        return add_hook(self._hooks, fn)

    def register_prehook(self, fn):
        """``fn(grad_outputs)`` runs before the node; a returned tuple replaces grad_outputs."""
        if self._pre_hooks is None:
            self._pre_hooks = HookDict()
        return add_hook(self._pre_hooks, fn)

    def _register_tensor_hook(self, output_nr: int, fn):
        if self._tensor_pre_hooks is None:
            self._tensor_pre_hooks = HookDict()
        return add_hook(self._tensor_pre_hooks, (output_nr, fn))

    def needs(self, i: int) -> bool:
        """Whether input ``i`` wants a gradient (it has an edge)."""
        return self.next_functions[i][0] is not None

    def saved_value(self, i: int, ns):
        """Saved value ``i``, checked against its version."""
        return self._held[i].unpack(self, ns)

    def unpack(self, ns):
        """The saved values, checked against their versions; tensors when ns records a graph."""
        __tracebackhide__ = True
        return [s.unpack(self, ns) for s in self._held]

    def release(self) -> None:
        for s in self._held:
            s.release()

    def _all_saved(self) -> tuple:
        """Every value the node saved (not named ``_saved_*``: those are PyTorch's)."""
        return self._held

    def apply_formula(self, grads, ns):
        __tracebackhide__ = True
        return self._formula(self, grads[0] if self._n_outputs == 1 else grads, ns)


_node_classes: dict = {}


def node_class(name: str, formula=None, base=Node, n_outputs: int = 1) -> type:
    """The node class PyTorch calls ``name`` (created once)."""
    cls = _node_classes.get(name)
    if cls is None:
        attrs = {"__slots__": ()}
        if base is Node:  # multi-output node bases keep the count per instance
            attrs["_n_outputs"] = n_outputs
        if formula is not None:
            attrs["_formula"] = staticmethod(formula)
        cls = type(name, (base,), attrs)
        _node_classes[name] = cls
    return cls


def backward_formula(name: str):
    """Decorator: register ``fn(node, grad, ns)`` as the formula of node class ``name``.

    The function is returned unchanged (it can serve other node names too)."""

    def register(fn):
        node_class(name, fn)
        return fn

    return register


def _forward_trace() -> str:
    return "".join(traceback.format_stack()[:-3])


class NotImplementedNode(Node):
    """The node of an op PyTorch has no derivative for (``5.0 % t``: remainder.Scalar_Tensor).

    Its Python class is ``NotImplemented`` (``grad_fn=<NotImplemented>``); backward through
    it raises. ``_ctx`` is the ATen op's name."""

    __slots__ = ()

    def name(self) -> str:
        return "torch::autograd::NotImplemented"

    @staticmethod
    def _formula(node, grad, ns):
        raise RuntimeError(f"derivative for {node._ctx} is not implemented")


NotImplementedNode.__name__ = NotImplementedNode.__qualname__ = "NotImplemented"


class AccumulateGrad(Node):
    """The gradient edge of a leaf: writes what arrives into ``variable.grad``."""

    __slots__ = ("variable",)

    def __init__(self, variable) -> None:
        super().__init__()
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"


class _NotSaved:
    """A None in a node's saved values: an absent bound, or an operand whose partner's grad
    is not wanted (shared by all nodes, so it costs nothing)."""

    __slots__ = ()
    tensor = data = None
    released = False

    def release(self) -> None:
        pass

    def unpack(self, node, ns):
        return None


NOT_SAVED = _NotSaved()


class SavedTensor:
    """A value a node saved for backward, with the version it had when saved."""

    __slots__ = (
        "tensor",
        "data",
        "counter",
        "version",
        "is_output",
        "was_leaf",
        "released",
        "as_tensor",
        "__weakref__",
    )

    def __init__(self, tensor=None, data=None, is_output=False) -> None:
        self.tensor = tensor
        self.data = data
        self.is_output = is_output
        self.released = False
        if tensor is not None:
            counter = self.counter = tensor._version_counter
            if counter.__class__ is not list and isinstance(counter, _grad_mode.InferenceTensorCounter):
                raise RuntimeError(
                    "Inference tensors cannot be saved for backward. Please do not use Tensors created in inference "
                    "mode in computation tracked by autograd. To work around this, you can make a clone to get a "
                    "normal tensor and use it in autograd, or use `torch.no_grad()` instead of "
                    "`torch.inference_mode()`."
                )
            self.version = counter[0]
            self.was_leaf = tensor._grad_fn is None
            if is_output:  # PyTorch keeps an output's tensor_data(): ``.data =`` later does not reach it
                self.data = tensor._data
            if SAVED_TENSORS_HOOKS_PUSHED[0]:  # saved_tensors_hooks somewhere: this thread's, if any
                hooks = SAVED_TENSORS_HOOKS
                if hooks.stack and hooks.disabled is None:
                    _set_hooks(self, *hooks.stack[-1], tensor)
        else:
            self.counter = None
            self.version = 0
            self.was_leaf = True

    def release(self) -> None:
        self.released = True
        if self.tensor is not None:  # a Python number stays: PyTorch keeps a Scalar (``_saved_exponent``)
            self.tensor = self.data = None

    def unpack(self, node: Node, ns):
        __tracebackhide__ = True
        if self.released:
            raise RuntimeError(ERR_BACKWARD_TWICE)
        t = self.tensor
        if t is None:  # a Python scalar saved as a wrapped number
            return self.data
        grad_fn = node if self.is_output else t._grad_fn
        if not self.is_output and not self.was_leaf and grad_fn is None:
            raise RuntimeError(ERR_DETACHED_IN_PLACE)
        current = self.counter[0]
        if current != self.version:
            if not self.is_output:
                # PyTorch names data_.grad_fn(): a view whose base was edited since gets its
                # history regenerated (AsStridedBackward0)
                grad_fn = t.grad_fn
            raise RuntimeError(version_error(t, grad_fn, current, self.version))
        if self.is_output:
            return t._alias_with_grad_fn(node, self.data) if ns.records_graph else self.data
        return t if ns.records_graph else t._data

    hooked = False  # (HookedSavedTensor: packed by hooks)

    def register_hooks(self, *args, **kwargs) -> None:
        """Pack this saved tensor now with ``pack_hook(tensor) -> packed`` and unpack it with
        ``unpack_hook(packed) -> Tensor`` whenever it is read (PyTorch's SavedTensor.register_hooks;
        then no version check guards it).

        >>> import gradlens_core as torch
        >>> x = torch.tensor([1., 2.], requires_grad=True)
        >>> y = x.sin()
        >>> y.grad_fn._raw_saved_self.register_hooks(lambda t: t * 10, lambda p: p / 10)
        >>> y.grad_fn._saved_self
        tensor([1., 2.], requires_grad=True)
        """
        if len(args) != 2 or kwargs or not all(callable(a) for a in args):
            raise TypeError(
                _incompatible(
                    "register_hooks",
                    "self: torch._C._autograd.SavedTensor, arg0: collections.abc.Callable, "
                    "arg1: collections.abc.Callable",
                    (self, *args),
                    kwargs,
                )
            )
        if self.hooked:
            raise RuntimeError(
                "Calling register_hooks on a saved tensor whose hooks have already been set. "
                "Hint: only one pair of hooks is allowed at a time."
            )
        t = self.tensor
        if t is None:
            if self.released:
                raise RuntimeError(
                    "Calling register_hooks on a saved tensor after it has been freed. Saved intermediate values "
                    "of the graph are freed when you call .backward() or autograd.grad(). Specify "
                    "retain_graph=True if you need to backward through the graph a second time or if you need "
                    "to access saved variables after calling backward."
                )
            raise RuntimeError("Calling register_hooks on a saved tensor with value None is forbidden")
        if self.is_output and not self.was_leaf:  # PyTorch's tensor_data(): no history, the same counter
            arg = _tensor_type()._wrap(self.data)
            arg._version_counter = self.counter
        else:  # the saved original, detached
            arg = t.detach()
        _set_hooks(self, *args, arg)

    def wrapped_number(self):
        """A saved Python number as the 0-d tensor PyTorch saves for it (``t * 2`` saves
        ``tensor(2)``), made once: when a graph is recorded through it, or it is read."""
        return self.tensor_of(lambda v: _tensor_type()._wrap(np.asarray(v)))

    def tensor_of(self, make):
        """``make(self.data)``, the tensor(s) PyTorch saves for a value kept here as a Python
        object, made at the first call (``as_tensor``: a slot only set here, so saving such
        a value costs nothing more) and the same objects afterwards, as PyTorch's."""
        try:
            return self.as_tensor
        except AttributeError:
            self.as_tensor = make(self.data)
            return self.as_tensor

    def __repr__(self) -> str:
        state = "freed" if self.released else f"version {self.version}"
        return f"<SavedTensor {state}>"


class _SavedTensorsHooks(threading.local):
    """Per thread, as PyTorch's SavedTensorDefaultHooksTLS: saved_tensors_hooks' (pack, unpack)
    pairs, innermost last, and the message disable_saved_tensors_hooks refuses them with."""

    def __init__(self) -> None:
        self.stack = []
        self.disabled = None


SAVED_TENSORS_HOOKS = _SavedTensorsHooks()
SAVED_TENSORS_HOOKS_PUSHED = [0]  # pairs pushed in all threads: while 0, saving looks no further


class _Packed:
    """What a hooked saved tensor keeps instead of the tensor (PyTorch's SavedVariable with
    hooks_): the packed object, the unpack hook, and the edge the unpacked tensor gets."""

    __slots__ = ("packed", "unpack_hook", "edge")


class HookedSavedTensor(SavedTensor):
    """A saved tensor packed by hooks: ``tensor`` and ``data`` are None (nothing for a version
    check: PyTorch checks none), ``as_tensor`` is its ``_Packed``."""

    __slots__ = ()
    hooked = True

    def release(self) -> None:
        self.released = True
        self.as_tensor = None  # PyTorch lets go of the hooks and what they packed

    def unpack(self, node: Node, ns):
        __tracebackhide__ = True
        if self.released:
            raise RuntimeError(ERR_BACKWARD_TWICE)
        p = self.as_tensor
        Tensor = _tensor_type()
        data = p.unpack_hook(p.packed)
        if not isinstance(data, Tensor):
            raise TypeError(
                "Output of saved tensor unpack_hook expected to be a Tensor but got result of type "
                f"{type(data).__name__}"
            )
        if not ns.records_graph:
            return data._data
        grad_fn, nr = (node, p.edge[1]) if self.is_output else p.edge
        if grad_fn is None and not data.requires_grad:
            return data
        # a new tensor over the unpacked one's values and counter, with the saved tensor's history
        var = Tensor._wrap(data._data)
        var._version_counter = data._version_counter
        if grad_fn.__class__ is AccumulateGrad:  # a leaf: the original's accumulator
            var._requires_grad = True
            var._get_meta().accumulator = weakref.ref(grad_fn)
        elif grad_fn is not None:
            var._grad_fn = grad_fn
            var._output_nr = nr
        return var


# one class to the user, as PyTorch's (torch._C._autograd.SavedTensor, hooked or not)
HookedSavedTensor.__name__ = HookedSavedTensor.__qualname__ = "SavedTensor"


def _set_hooks(s: SavedTensor, pack_hook, unpack_hook, arg) -> None:
    """Pack ``s``'s tensor with ``pack_hook(arg)`` (under no_grad) and keep what it returns."""
    t = s.tensor
    p = _Packed()
    p.unpack_hook = unpack_hook
    # an output's edge is its node (the one unpacking it); a leaf's its accumulator, kept alive
    p.edge = (None, t._output_nr) if s.is_output else t._edge()
    counter = t._version_counter
    before = counter[0]
    prev = _grad_mode._state.enabled
    _grad_mode._state.enabled = False
    try:
        p.packed = pack_hook(arg)
    finally:
        _grad_mode._state.enabled = prev
    if counter[0] != before:
        raise RuntimeError(
            "A saved tensor pack hook is modifying its input in place. Tensors provided as input to pack hook "
            "cannot be modified by in-place operations as this can lead to unexpected side-effects. Please open "
            "an issue if you need to perform in-place operations on the input to a pack hook."
        )
    s.tensor = s.data = None
    s.as_tensor = p
    s.__class__ = HookedSavedTensor


def _incompatible(name: str, signature: str, args, kwargs) -> str:
    """pybind11's TypeError text for a call that matches no overload."""
    given = ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])
    return (
        f"{name}(): incompatible function arguments. The following argument types are supported:\n"
        f"    1. ({signature}) -> None\n\nInvoked with: {given}"
    )


def _tensor_type():
    from ._tensor import Tensor  # (it builds on this module)

    return Tensor


def version_error(t, grad_fn, current: int, expected: int) -> str:
    owner = f", which is output {t._output_nr} of {short_name(grad_fn)}," if grad_fn is not None else ""
    hint = (
        "Hint: the backtrace further above shows the operation that failed to compute its gradient. "
        "The variable in question was changed in there or anywhere later. Good luck!"
        if _grad_mode._anomaly[0]
        else "Hint: enable anomaly detection to find the operation that failed to compute its "
        "gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False)."
    )
    return (
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [{t.type()} {list(t.shape)}]{owner} is at version {current}; expected version "
        f"{expected} instead. {hint}"
    )


# ----------------------------------------------------------------------------- engine


def _graph_order(roots):
    """Dependency counts of every node reachable from ``roots`` (iterative: graphs can be deep)."""
    deps: dict = {}
    seen = set(roots)
    stack = list(roots)
    while stack:
        node = stack.pop()
        for nxt, _ in node.next_functions:
            if nxt is None:
                continue
            deps[nxt] = deps.get(nxt, 0) + 1
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return deps, seen


def _needed(roots, deps, targets):
    """Nodes with a target strictly below them: only these run under autograd.grad."""
    order = []  # a topological order (roots first), from Kahn's algorithm
    remaining = dict(deps)
    ready = [r for r in roots if remaining.get(r, 0) == 0]
    seen = set(ready)
    while ready:
        node = ready.pop()
        order.append(node)
        for nxt, _ in node.next_functions:
            if nxt is None:
                continue
            remaining[nxt] -= 1
            if remaining[nxt] == 0 and nxt not in seen:
                seen.add(nxt)
                ready.append(nxt)
    needed = set()
    for node in reversed(order):
        if any(n in targets or n in needed for n, _ in node.next_functions if n is not None):
            needed.add(node)
    return needed


def run_backward(
    roots,
    grad_roots,
    retain_graph,
    create_graph,
    inputs=None,
    allow_unused=False,
    accumulate=True,
    current=None,
    seed_tensors=(),
):
    """Run the graph backwards from ``roots`` (tensors) seeded with ``grad_roots``.

    With ``inputs`` and ``accumulate=False`` (``autograd.grad``) the gradients reaching those
    tensors are returned instead of being accumulated; with ``accumulate=True`` and ``inputs``
    only those tensors get ``.grad``. ``current[0]`` names the node being run (for errors).
    ``seed_tensors`` are the tensors the caller passed as grads (their arrays seed the pass).
    """
    __tracebackhide__ = True  # IPython: the traceback ends at the user's line
    if current is None:
        current = [None]
    from ._tensor import Tensor

    ns = _ns.TENSOR if create_graph else _ns.NUMPY
    prev_mode = _grad_mode._state.enabled
    _grad_mode._state.enabled = bool(create_graph)
    _ns.grad_versions.append(_seed_versions(seed_tensors))
    try:
        with np.errstate(all="ignore"):  # PyTorch's formulas make inf and nan silently
            return _execute(roots, grad_roots, retain_graph, ns, inputs, allow_unused, accumulate, current, Tensor)
    finally:
        _ns.grad_versions.pop()
        _grad_mode._state.enabled = prev_mode


def _seed_versions(seed_tensors) -> dict:
    """The version counters a pass starts with: a formula's view of a grad the caller passed
    (ViewBackward0's reshape of it) shares that tensor's counter, as in PyTorch. A numpy view
    names the memory's owner as its base, so the owner gets the counter too."""
    versions: dict = {}
    for t in seed_tensors:
        a = getattr(t, "_data", None)
        while a.__class__ is np.ndarray:
            versions.setdefault(id(a), (a, t._version_counter))
            a = a.base
            if a is not None and a.__class__ is not np.ndarray:
                a = getattr(a, "base", None)  # np.lib.stride_tricks.as_strided keeps a holder
    return versions


class BackwardEvents:
    """Report a backward pass (begin, then end or error with the node being run) to listeners."""

    __slots__ = ("roots", "current")

    def __init__(self, roots, inputs, retain_graph, create_graph) -> None:
        self.roots = tuple(r for r in roots if r is not None)
        self.current = [None]
        if _events.active:
            _events.emit(
                "backward_begin", roots=self.roots, inputs=inputs, retain_graph=retain_graph, create_graph=create_graph
            )

    def __enter__(self):
        return self.current

    def __exit__(self, exc_type, exc, tb) -> None:
        if _events.active:
            if exc is not None:
                _events.emit("backward_error", roots=self.roots, error=exc, node=self.current[0])
            else:
                _events.emit("backward_end", roots=self.roots)


class GradHolders:
    """Who holds each grad array during a backward pass, as PyTorch's use counts tell its
    engine: the caller holds the roots' grads for the whole pass, and every input-buffer
    slot that stores an array holds it until its node has run. A grad some other holder
    has may not be added into in place (InputBuffer) nor taken as a leaf's .grad
    (AccumulateGrad)."""

    __slots__ = ("caller", "slots")

    def __init__(self) -> None:
        self.caller: dict = {}  # id -> array the caller holds
        self.slots: dict = {}  # id -> [array, number of buffer slots holding it]

    def pin(self, g) -> None:
        """The caller holds ``g`` (a root's grad) throughout."""
        self.caller[id(g)] = g

    def store(self, g) -> None:
        """A buffer slot now holds ``g``."""
        entry = self.slots.get(id(g))
        if entry is None:
            self.slots[id(g)] = [g, 1]
        else:
            entry[1] += 1

    def release(self, grads) -> None:
        """A node has run: its buffer slots let go of ``grads``."""
        slots = self.slots
        for g in grads:
            entry = slots.get(id(g)) if g is not None else None
            if entry is not None:
                if entry[1] <= 1:
                    del slots[id(g)]
                else:
                    entry[1] -= 1

    def others_hold(self, g) -> bool:
        """Whether something besides one buffer slot holds ``g``."""
        if id(g) in self.caller:
            return True
        entry = self.slots.get(id(g))
        return entry is not None and entry[1] > 1


def _execute(roots, grad_roots, retain_graph, ns, inputs, allow_unused, accumulate, current, Tensor):
    __tracebackhide__ = True
    buffers: dict = {}
    root_nodes = []
    holders = GradHolders()
    for index, (t, g) in enumerate(zip(roots, grad_roots)):
        node, nr = t._edge()
        if node is None:
            continue
        holders.pin(g)
        if t._meta is not None and t._meta.grad_meta is not None:  # ``.data`` changed: as PyTorch's GraphRoot
            g = _validate_root_grad(g, t._meta.grad_meta, index, ns)
        slot = buffers.setdefault(node, [None] * node._n_outputs)
        slot[nr] = g if slot[nr] is None else slot[nr] + g
        if node not in root_nodes:
            root_nodes.append(node)
    deps, _ = _graph_order(root_nodes)

    captures = None  # (node, output_nr) -> indices into ``inputs``
    targets = needed = None
    if inputs is not None:
        captures = {}
        for i, t in enumerate(inputs):
            node, nr = t._edge()
            if node is not None:
                captures.setdefault((node, nr), []).append(i)
        targets = {n for n, _ in captures}
        needed = _needed(root_nodes, deps, targets)
        if accumulate:  # backward(inputs=...): the inputs' nodes run (non-leaf inputs retain grad)
            needed |= targets
            captures = None
    results = [None] * (len(inputs) if inputs is not None else 0)

    # ready nodes, latest-created first (sequence numbers are unique, so nodes never compare)
    heap = [(-n._seq, n) for n in root_nodes if deps.get(n, 0) == 0]
    heapq.heapify(heap)
    heappop, heappush = heapq.heappop, heapq.heappush
    slots = holders.slots  # the common holders.store/.release inlined; rarer paths call them
    slot_of = slots.get
    while heap:
        node = heappop(heap)[1]
        current[0] = node
        stored = buffers.pop(node, None)
        grads = stored or [None] * node._n_outputs
        # As PyTorch's engine: with ``inputs``, only nodes on a path to them run; an input's
        # own node, when it does not run, still calls its tensor hooks before its grad is
        # taken (a node that runs is captured before its hooks).
        run = needed is None or node in needed
        captured = captures is not None and node in targets
        if CUSTOM_GRAD_DTYPES[0] and node.__class__ is AccumulateGrad and grads[0] is not None:
            grads = _to_grad_dtype(node.variable, grads, ns)
        if run or captured:
            hooked = node._x is not None
            if hooked:  # hooks may replace grads: ``stored`` keeps what the buffer held
                grads = list(grads)
            if captured:
                if hooked and not run:
                    grads = _run_pre_hooks(node, grads, ns, Tensor, tensor_hooks_only=True)
                _capture(node, grads, captures, results)
            if run and hooked:
                grads = _run_pre_hooks(node, grads, ns, Tensor)
        out = _apply(node, grads, ns, retain_graph, Tensor, holders) if run else None
        if stored:  # as PyTorch's engine, the buffer lets go before the outputs are routed
            for g in stored:
                entry = slot_of(id(g)) if g is not None else None
                if entry is not None:
                    if entry[1] <= 1:
                        del slots[id(g)]
                    else:
                        entry[1] -= 1
        # an array a node returns twice (AddBackward0's ``g, g``) is held by its later
        # outputs while the earlier ones are routed
        repeated = out is not None and len(out) > 1 and _has_repeats(out)
        if repeated:
            for g in out:
                if g is not None:
                    holders.store(g)
        i = 0
        for nxt, nr in node.next_functions:
            if nxt is not None:
                g = out[i] if out is not None else None
                if g is not None:
                    slot = buffers.get(nxt)
                    if slot is None:
                        slot = buffers[nxt] = [None] * nxt._n_outputs
                    old = slot[nr]
                    if old is None:
                        slot[nr] = g
                        entry = slot_of(id(g))
                        if entry is None:
                            slots[id(g)] = [g, 1]
                        else:
                            entry[1] += 1
                    else:
                        total = slot[nr] = _add_in_buffer(old, g, holders)
                        if total is not old:
                            holders.release((old,))
                            holders.store(total)
                    if repeated:
                        holders.release((g,))
                left = deps[nxt] - 1
                deps[nxt] = left
                if left == 0:
                    heappush(heap, (-nxt._seq, nxt))
            i += 1
    current[0] = None
    if captures is not None:
        for i, g in enumerate(results):
            if g is None and not allow_unused:
                raise RuntimeError(
                    f"The differentiated Tensor at index {i} appears to not have been used in the graph. "
                    "Set allow_unused=True if this is the desired behavior."
                )
        bases: dict = {}  # results that view one buffer are views of one base tensor
        return tuple(None if g is None else _result(g, Tensor, bases) for g in results)
    return None


def _check_grad_shape(node, index: int, g, shape) -> None:
    """validate_outputs: a node's grad must sum to its input's shape."""
    have = _as_array(g).shape
    if have != shape and _ns.sum_to_axes(have, shape) is None:
        raise _ns.invalid_grad(have, shape, f"Function {node.name()} returned an invalid gradient at index {index}")


def _validate_root_grad(g, grad_meta, index: int, ns):
    """GraphRoot's validate_outputs: a root's grad is summed and cast to the shape and dtype
    its node was made for, which ``.data`` may have changed since."""
    shape, _ = grad_meta
    have = _as_array(g).shape
    if _ns.sum_to_axes(have, shape) is None:
        raise _ns.invalid_grad(have, shape, f"invalid gradient at index {index}")
    return ns.validate(g, *grad_meta)


def _has_repeats(out) -> bool:
    """Whether one array appears twice among a node's output grads."""
    if len(out) == 2:  # most nodes with several inputs have two
        return out[0] is out[1] and out[0] is not None
    grads = [g for g in out if g is not None]
    return len({id(g) for g in grads}) < len(grads)


def _add_in_buffer(old, g, holders):
    """PyTorch's InputBuffer::accumulate: a second grad for the same input is added to the
    first in place when nothing else holds the first (its version moves), else summed anew."""
    if old.__class__ is np.ndarray and g.__class__ is np.ndarray and _can_accumulate_inplace(old, g, holders):
        np.add(old, g, out=old)
        grad_counter(old)[0] += 1
        return old
    total = old + g
    return np.asarray(total) if isinstance(total, np.generic) else total  # 0-d sums are numpy scalars


def _can_accumulate_inplace(into: np.ndarray, other: np.ndarray, holders) -> bool:
    """Whether the buffer may add ``other`` into ``into``: it owns its memory, nothing else
    holds it, and it is dense."""
    from ._layout import owns_memory  # _layout builds on this module

    return (
        into is not other  # the grad being added holds it too
        and into.dtype == other.dtype
        and owns_memory(into)
        and into.flags.writeable
        and not holders.others_hold(into)
        and into.shape == np.broadcast_shapes(into.shape, other.shape)
        and non_overlapping_and_dense(into)
    )


def grad_counter(g) -> list:
    """The version counter PyTorch's tensor for the grad array ``g`` has in this backward
    pass (a one-element list, as a tensor's ``_version_counter``).

    A view shares its base's counter, and PyTorch's formulas return views of one buffer to
    several inputs (cat's backward narrows one grad into pieces, stack's selects from it):
    so the grads of two leaves taken from one buffer move together when either is edited in
    place later. Here a grad that is a numpy view walks its bases to the first array with a
    counter in this pass; one with none gets a counter at the memory's owner, for the other
    views of it to find.
    """
    if not _ns.grad_versions:
        return [0]
    versions = _ns.grad_versions[-1]
    a = g
    while True:
        entry = versions.get(id(a))
        if entry is not None and entry[0] is a:
            return entry[1]
        base = getattr(a, "base", None)
        if base is not None and base.__class__ is not np.ndarray:
            base = getattr(base, "base", None)  # np.lib.stride_tricks.as_strided keeps a holder
        if base.__class__ is not np.ndarray:
            break
        a = base
    counter = [0]
    versions[id(a)] = (a, counter)
    return counter


def grad_version(g) -> int:
    """The version PyTorch's tensor for the grad array ``g`` has in this backward pass: a
    view (e.g. SqueezeBackward's) shares its base's version counter."""
    return grad_counter(g)[0]


def torch_contiguous_strides(shape, itemsize: int) -> tuple:
    """PyTorch's contiguous (byte) strides: a size-0 dim counts as size 1, so an empty
    tensor's strides are those of its shape with the zeros read as ones."""
    strides, step = [], itemsize
    for n in reversed(shape):
        strides.append(step)
        step *= n if n > 1 else 1
    return tuple(reversed(strides))


def torch_strides(a: np.ndarray) -> tuple:
    """``a``'s (byte) strides as PyTorch's tensor for it has them.

    numpy gives an empty array it allocates strides 0, and views of it keep 0, where
    PyTorch's strides are contiguous. An empty tensor's array carries PyTorch's strides
    (``Tensor._wrap``), but a grad array in a backward pass may be such a numpy array, or a
    reshape of one: read as contiguous. Strides set through ``as_strided`` (an expanded
    grad's 0s) are meant.
    """
    if a.size or any(a.strides):
        return a.strides
    b = a
    while b.base is not None:
        b = b.base
        if b.__class__ is not np.ndarray:
            return a.strides  # as_strided's holder: chosen strides
    return torch_contiguous_strides(a.shape, a.itemsize)


def torch_strided_empty(a: np.ndarray) -> np.ndarray:
    """The empty array ``a`` with the strides PyTorch's tensor for it has (``torch_strides``)."""
    strides = torch_strides(a)
    if strides == a.strides:
        return a
    from ._layout import restrided  # _layout builds on this module

    return restrided(a, strides)


def non_overlapping_and_dense(a: np.ndarray) -> bool:
    """Whether ``a`` fills its memory range exactly once, in some order of its dims (an empty
    array is, as PyTorch calls any empty tensor contiguous, whatever its strides)."""
    if a.size == 0:
        return True
    expected = a.itemsize
    for stride, size in sorted((st, n) for st, n in zip(a.strides, a.shape) if n != 1):
        if stride != expected:
            return False
        expected *= size
    return True


def obeys_layout_contract(g: np.ndarray, variable: np.ndarray) -> bool:
    """PyTorch's gradient layout contract: a leaf may take ``g`` as its .grad only if ``g``
    has the variable's strides (a variable that is not dense: C-contiguous)."""
    if not non_overlapping_and_dense(variable):
        return g.flags.c_contiguous
    # strides in elements, as PyTorch's (the grad's dtype may differ from the variable's); the
    # grad's dims are walked, a size-1 one only refused with stride 0
    vstrides = variable.strides if variable.size else torch_strides(variable)
    for i, (size, st) in enumerate(zip(g.shape, g.strides if g.size else torch_strides(g))):
        if size == 1:
            if st == 0:
                return False
        elif i >= len(vstrides):
            # ``.data =`` dropped dims: PyTorch reads past the variable's strides, into storage a
            # fresh tensor initialises to stride 1 for dim 0 and 0 beyond
            if st // g.itemsize != (1 if i == 0 else 0):
                return False
        elif st // g.itemsize != vstrides[i] // variable.itemsize:
            return False
    return True


def warn_unless_layout_contract(g: np.ndarray, variable: np.ndarray) -> None:
    """AccumulateGrad's CHECK_RESULT after adding into an existing .grad: a warning (once per
    process) when the sum does not obey the gradient layout contract."""
    if obeys_layout_contract(g, variable):
        return

    def layout(a):
        return f"sizes() = {list(a.shape)}, strides() = {[st // a.itemsize for st in a.strides]}"

    warn_once(
        "grad and param do not obey the gradient layout contract. This is not an error, but may impair "
        f"performance.\ngrad.{layout(g)}\nparam.{layout(variable)}",
        stacklevel=2,
    )


def _result(g, Tensor, bases):
    """A grad returned by autograd.grad, with the version PyTorch's would have; a grad that a
    view op made is a view, as PyTorch's (``bases``: the base tensors made so far, by owner)."""
    if isinstance(g, Tensor):
        return g
    data = _owned(g)
    out = Tensor._wrap(data)
    if data is g:
        out._version_counter = grad_counter(g)
    else:  # a copy, made writable
        out._version_counter[0] = grad_version(g)
    if data.base is not None:
        from ._views import as_view_of_owner

        as_view_of_owner(out, bases)
    return out


def _owned(g):
    """A grad handed to the user must be writable. A broadcast grad (e.g. SumBackward0's)
    stays broadcast, as PyTorch's expanded grad is: writing one element writes them all."""
    if not isinstance(g, np.ndarray) or g.flags.writeable:
        return g
    if 0 not in g.strides:
        return np.array(g, copy=True)
    compact = np.array(g[tuple(slice(0, 1) if st == 0 else slice(None) for st in g.strides)], order="C")
    strides = tuple(0 if st == 0 else cst for st, cst in zip(g.strides, compact.strides))
    return np.lib.stride_tricks.as_strided(compact, g.shape, strides, writeable=True)


def _as_tensor(g, Tensor):
    """A grad handed to a hook: a tensor at the version PyTorch's would have."""
    if isinstance(g, Tensor):
        return g
    t = Tensor._wrap(g)
    t._version_counter = grad_counter(g)  # a hook's in-place edit moves the buffer's version
    return t


def _as_array(g):
    return g._data if hasattr(g, "_data") else g


CUSTOM_GRAD_DTYPES = [0]  # how many times a leaf's grad_dtype was set: until then backward never looks


def _to_grad_dtype(variable, grads, ns) -> list:
    """A leaf's grad cast to the ``grad_dtype`` it asks for now (validate_outputs reads it at
    backward time); None and the default take the grad as it is."""
    want = variable._meta.grad_dtype if variable._meta is not None else None
    g = grads[0]
    data = g._data if hasattr(g, "_data") else g
    if want is None or isinstance(want, str) or want.np == data.dtype:
        return grads
    return [ns.validate(g, data.shape, want.np)]


def _capture(node, grads, captures, results) -> None:
    for nr, g in enumerate(grads):
        for i in captures.get((node, nr), ()):
            results[i] = g


def _run_pre_hooks(node, grads, ns, Tensor, tensor_hooks_only=False):
    """Tensor hooks (registration order), then retain_grad, then (unless
    ``tensor_hooks_only``) node pre-hooks."""
    hooks = node._tensor_pre_hooks
    if hooks:
        for output_nr, fn in tuple(hooks.values()):
            g = grads[output_nr]
            # called for an output that got no grad too (PyTorch's hook gets None)
            res = fn(None if g is None else _as_tensor(g, Tensor))
            if res is not None:
                grads[output_nr] = res if ns.records_graph else _as_array(res)
    if node._retain:
        for output_nr, ref in tuple(node._retain.items()):
            t = ref()
            g = grads[output_nr]
            if t is not None and g is not None:
                t._retain_grad_update(g)
    if node._pre_hooks and not tensor_hooks_only:
        for fn in tuple(node._pre_hooks.values()):
            res = fn(tuple(None if g is None else _as_tensor(g, Tensor) for g in grads))
            if res is not None:
                grads = [None if g is None else (g if ns.records_graph else _as_array(g)) for g in res]
    return grads


def _apply(node, grads, ns, retain_graph, Tensor, holders=None):
    """Run one node: its formula, then checks that each input grad has the input's shape and dtype."""
    __tracebackhide__ = True
    if node.__class__ is AccumulateGrad:
        g = grads[0]
        variable = node.variable
        if g is not None and variable.grad_fn is not None:
            raise RuntimeError("leaf variable has been moved into the graph interior")
        if g is not None and variable.requires_grad:  # a leaf that stopped requiring grad gets none
            # PyTorch steals a grad nothing else holds that obeys the layout contract
            steal = (
                g.__class__ is np.ndarray
                and g.flags.writeable
                and not (holders is not None and holders.others_hold(g))
                and obeys_layout_contract(g, variable._data)
            )
            variable._accumulate(g, ns.records_graph, steal, grad_counter(g) if steal else None)
            meta = variable._meta
            if meta is not None and meta.post_acc_hooks:
                _run_post_accumulate_hooks(variable, meta.post_acc_hooks, Tensor)
        return ()
    for g in grads:
        if g is not None:
            break
    else:
        return None
    try:
        out = _recorded_formula(node, grads, ns) if ns.records_graph else node.apply_formula(grads, ns)
    except Exception:
        if _grad_mode._anomaly[0]:
            _warn_anomaly(node)
        raise
    if not retain_graph:
        node.release()
    out = list(out)
    x = node._x
    # a custom Function's hooks see what its backward returned for inputs without an edge too
    # (PyTorch's PyNode): the engine drops those grads after the hooks
    returned = out[:] if not node.builtin_formula and x is not None and x.hooks else None
    meta = node._input_meta
    fast = not ns.records_graph
    for i, (nxt, _) in enumerate(node.next_functions):
        g = out[i]
        if g is None:
            continue
        if nxt is None:
            out[i] = None
            continue
        if meta:
            shape, dt = meta[i]
            # the common case (an array of the right shape and dtype) skips the call
            if not (fast and g.__class__ is np.ndarray and g.shape == shape and g.dtype == dt):
                _check_grad_shape(node, i, g, shape)
                out[i] = ns.validate(g, shape, dt)  # summed or cast: a fresh grad, at version 0
    if x is not None and x.hooks:
        if returned is not None:
            out = [returned[i] if nxt is None else out[i] for i, (nxt, _) in enumerate(node.next_functions)]
        for fn in tuple(x.hooks.values()):
            res = fn(
                tuple(None if g is None else _as_tensor(g, Tensor) for g in out),
                tuple(None if g is None else _as_tensor(g, Tensor) for g in grads),
            )
            if res is not None:
                out = [None if g is None else (g if ns.records_graph else _as_array(g)) for g in res]
        if returned is not None:
            out = [None if nxt is None else out[i] for i, (nxt, _) in enumerate(node.next_functions)]
    if _grad_mode._anomaly[0]:
        for i, g in enumerate(out):
            if g is not None and np.isnan(_as_array(g)).any():
                _warn_anomaly(node)
                raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.")
    return out


def _run_post_accumulate_hooks(variable, hooks, Tensor) -> None:
    """AccumulateGrad's tensor_post_acc_grad_hooks: each is called with the leaf, after its .grad
    was written, and must return None (PyTorch's check of the returned value)."""
    for fn in tuple(hooks.values()):
        res = fn(variable)
        if res is None:
            continue
        if isinstance(res, Tensor):
            raise RuntimeError("Tensor post accumulate grad hooks should return None.")
        raise TypeError(f"expected Variable, but hook returned '{type(res).__name__}'")


def _recorded_formula(node, grads, ns):
    """Run ``node``'s formula under create_graph=True. A built-in formula is C++ code in
    PyTorch, whose number operands are Scalars: ``_ns.in_builtin_formula`` tells the ops."""
    if not node.builtin_formula:
        return node.apply_formula(grads, ns)
    flag = _ns.in_builtin_formula
    outer = flag[0]
    flag[0] = True
    try:
        return node.apply_formula(grads, ns)
    finally:
        flag[0] = outer


def _warn_anomaly(node) -> None:
    trace = node._anomaly_trace or "No forward pass information available."
    warnings.warn(
        f"Error detected in {node.name()}. Traceback of forward call that caused the error:\n{trace}",
        UserWarning,
        stacklevel=3,
    )
