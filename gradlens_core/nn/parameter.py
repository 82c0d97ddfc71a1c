"""``nn.Parameter``: a leaf tensor that a Module registers as one of its parameters.

>>> import gradlens_core as torch
>>> p = torch.nn.Parameter(torch.tensor([1., 2.]))
>>> p
Parameter containing:
tensor([1., 2.], requires_grad=True)
>>> type(p * 2).__name__
'Tensor'
"""

from __future__ import annotations

from .. import _events
from .._tensor import Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A Tensor subclass marking module parameters; ``requires_grad`` defaults to True.

    Like ``torch.Tensor._make_subclass`` it shares the storage *and* the version counter
    of ``data`` but none of its history: the result is always a leaf.
    """

    # No __slots__: as in PyTorch, users may hang attributes on parameters.

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            from .._factories import empty

            data = empty(0)
        if not isinstance(data, Tensor):
            # PyTorch's non-Tensor path calls data.detach()
            raise AttributeError(f"'{type(data).__name__}' object has no attribute 'detach'")
        if requires_grad and data._data.dtype.kind != "f":
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        t = cls._wrap(data._data, bool(requires_grad))
        t._version_counter = data._version_counter
        if _events.active:
            _events.emit("aliased", tensor=t, source=data, kind="detach", op="Parameter")
        return t

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    # Tensor sets ``__str__ = __repr__`` on its own class, which would bypass ours.
    __str__ = __repr__

    def __deepcopy__(self, memo):
        # PyTorch copies the values and the flag, not the grad.
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)._wrap(self._data.copy(), self._requires_grad)
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self._data.copy(), self._requires_grad))


def _rebuild_parameter(data, requires_grad):
    return Parameter._wrap(data, requires_grad)
