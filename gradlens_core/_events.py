"""What happens inside gradlens_core, reported to whoever listens.

A listener is a callable ``listener(kind, payload)``; ``payload`` is a dict of the
objects involved (never copies of data). With no listener subscribed, an op pays
one check of the module-level ``active`` flag.

>>> seen = []
>>> with subscribe(lambda kind, payload: seen.append(kind)):
...     emit("mutated", tensor=None, op="add_", old_version=0, new_version=1)
>>> seen
['mutated']

Event kinds and their payload keys:

=================  ===============================================================
created            tensor, grad_fn (or None), inputs (tuple of tensors), op
aliased            tensor, source, kind ('view', 'detach', 'data', 'numpy',
                   'from_numpy'), op; for 'numpy' the array is under ``array``
detached_in_place  tensor, old_grad_fn
mutated            tensor, op, old_version, new_version, inputs
saved              node, tensor, version, is_output, saved (the SavedTensor)
backward_begin     roots, inputs (None for backward()), retain_graph, create_graph
backward_end       roots
backward_error     roots, error, node (the node being run, or None)
accumulated        tensor, grad (None when cleared), how ('backward', 'set', 'retain')
value_escaped      tensor, how ('item', 'tolist', 'float', 'int', 'numpy', 'bool')
flag_changed       tensor, flag ('requires_grad', 'retain_grad'), value
inplace_refused    tensor, op, error (an in-place edit PyTorch refuses, e.g. on a
                   leaf that requires grad; emitted just before the error is raised)
=================  ===============================================================
"""

from __future__ import annotations

import threading

from ._handles import HookDict, RemovableHandle

__all__ = ["subscribe", "emit", "KINDS"]

KINDS = (
    "created",
    "aliased",
    "detached_in_place",
    "mutated",
    "saved",
    "backward_begin",
    "backward_end",
    "backward_error",
    "accumulated",
    "value_escaped",
    "flag_changed",
    "inplace_refused",
)

_listeners = HookDict()
active = False  # read by every op; True while at least one listener is subscribed
_current: tuple = ()  # the listeners, as emit() iterates them (rebuilt on (un)subscribe)


class _ListenerHandle(RemovableHandle):
    __slots__ = ()

    def remove(self) -> None:
        super().remove()
        _refresh()


def _refresh() -> None:
    global active, _current
    _current = tuple(_listeners.values())
    active = bool(_current)


def subscribe(listener) -> RemovableHandle:
    """Deliver every event to ``listener(kind, payload)`` until the handle is removed."""
    if not callable(listener):
        raise TypeError(f"listener must be callable, got {type(listener).__name__}")
    handle = _ListenerHandle(_listeners)
    _listeners[handle.id] = listener
    _refresh()
    return handle


def listener_count() -> int:
    return len(_listeners)


class _Local(threading.local):
    muted = False  # set by ``muted()``: this thread's events go to no listener


_local = _Local()


class muted:
    """Within ``with muted():`` this thread's events reach no listener (other threads' do).
    Checked in ``emit``, which only runs while a listener is subscribed: an op without
    listeners still pays only its check of ``active``."""

    __slots__ = ("_was",)

    def __enter__(self) -> None:
        self._was, _local.muted = _local.muted, True

    def __exit__(self, *exc) -> None:
        _local.muted = self._was


def emit(event: str, /, **payload) -> None:
    """Send one event to every listener (callers check ``active`` first), unless this
    thread is ``muted``."""
    if _local.muted:
        return
    for listener in _current:
        listener(event, payload)
