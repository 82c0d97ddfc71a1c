"""``torch.autograd.graph``: hooks on the tensors the graph saves for backward.

>>> import gradlens_core as torch
>>> a = torch.tensor([1., 2.], requires_grad=True)
>>> with torch.autograd.graph.saved_tensors_hooks(lambda t: t.tolist(), lambda p: torch.tensor(p)):
...     y = a.sin()
>>> y.grad_fn._saved_self  # unpacked: a new tensor with a's grad accumulator
tensor([1., 2.], requires_grad=True)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator
from typing import Any

from .._autograd import SAVED_TENSORS_HOOKS, SAVED_TENSORS_HOOKS_PUSHED, Node, _incompatible

__all__ = ["Node", "saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks"]


class saved_tensors_hooks:
    """Context manager: every tensor an op (or ``ctx.save_for_backward``) saves inside it is
    stored as ``pack_hook(tensor)``, and read back, by backward or ``grad_fn._saved_*``, as
    ``unpack_hook(packed)``, which must return a tensor. The innermost pair applies; a tensor
    saved so has no version check. Python numbers a node saves are not packed.
    """

    def __init__(self, pack_hook: Callable[[Any], Any], unpack_hook: Callable[[Any], Any]) -> None:
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self) -> None:
        if not (callable(self.pack_hook) and callable(self.unpack_hook)):
            raise TypeError(
                _incompatible(
                    "_push_saved_tensors_default_hooks",
                    "arg0: collections.abc.Callable, arg1: collections.abc.Callable",
                    (self.pack_hook, self.unpack_hook),
                    {},
                )
            )
        if SAVED_TENSORS_HOOKS.disabled is not None:
            raise RuntimeError(SAVED_TENSORS_HOOKS.disabled)
        SAVED_TENSORS_HOOKS.stack.append((self.pack_hook, self.unpack_hook))
        SAVED_TENSORS_HOOKS_PUSHED[0] += 1

    def __exit__(self, *args: object) -> None:
        SAVED_TENSORS_HOOKS.stack.pop()
        SAVED_TENSORS_HOOKS_PUSHED[0] -= 1


class save_on_cpu(saved_tensors_hooks):
    """Saved tensors are kept on the CPU and moved back to their device for backward: here
    every tensor is on the CPU, so each is kept as ``(device, tensor.cpu())``."""

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda") -> None:
        def pack_to_cpu(tensor):
            return (tensor.device, tensor.cpu())

        def unpack_from_cpu(packed):
            device, tensor = packed
            return tensor.to(device)

        super().__init__(pack_to_cpu, unpack_from_cpu)


@contextlib.contextmanager
def disable_saved_tensors_hooks(error_message: str) -> Generator[None, None, None]:
    """Inside, entering ``saved_tensors_hooks`` raises ``RuntimeError(error_message)`` and no
    saved tensor is packed by hooks pushed before."""
    previous = SAVED_TENSORS_HOOKS.disabled
    SAVED_TENSORS_HOOKS.disabled = error_message
    try:
        yield
    finally:
        SAVED_TENSORS_HOOKS.disabled = previous
