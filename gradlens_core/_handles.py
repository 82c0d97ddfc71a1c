"""Removable handles for hooks and event listeners, as in ``torch/utils/hooks.py``.

>>> hooks = HookDict()
>>> h = add_hook(hooks, print)
>>> len(hooks)
1
>>> h.remove(); len(hooks)
0
"""

from __future__ import annotations

import itertools
import weakref

__all__ = ["RemovableHandle"]

_next_id = itertools.count()


class RemovableHandle:
    """Removes one entry from a hook dict; holds the dict weakly so it never keeps it alive.

    Usable as a context manager: the hook is removed on exit.
    """

    __slots__ = ("hooks_dict_ref", "id")

    def __init__(self, hooks_dict: dict) -> None:
        self.hooks_dict_ref = weakref.ref(hooks_dict)
        self.id = next(_next_id)

    def remove(self) -> None:
        hooks = self.hooks_dict_ref()
        if hooks is not None:
            hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


class HookDict(dict):
    """A dict that can be weakly referenced (plain dicts cannot)."""

    __slots__ = ("__weakref__",)


def add_hook(hooks: HookDict, fn) -> RemovableHandle:
    """Register ``fn`` in ``hooks`` and return its handle."""
    handle = RemovableHandle(hooks)
    hooks[handle.id] = fn
    return handle
