"""Grad mode (thread-local, as in PyTorch) and anomaly detection.

>>> import gradlens_core as torch
>>> with torch.no_grad():
...     torch.is_grad_enabled()
False
"""

from __future__ import annotations

import functools
import inspect
import threading
import warnings

__all__ = [
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "is_grad_enabled",
    "set_detect_anomaly",
    "detect_anomaly",
    "is_anomaly_enabled",
    "inference_mode",
    "is_inference_mode_enabled",
    "InferenceCounter",
    "InferenceAliasCounter",
    "InferenceTensorCounter",
    "detached_counter",
]


class _State(threading.local):
    enabled = True
    inference = False


class InferenceTensorCounter(list):
    """The version counter of a tensor PyTorch calls an inference tensor (``is_inference()``):
    it may not be saved for backward nor made to require grad outside the mode."""

    __slots__ = ()


class InferenceCounter(InferenceTensorCounter):
    """The place of the version counter an inference tensor (one made under ``inference_mode``)
    does not have: reading ``_version`` raises, an in-place edit outside the mode is refused.

    Its views share it, so they are inference tensors too, as in PyTorch; ``clone()`` makes
    a normal tensor outside the mode.
    """

    __slots__ = ()


class InferenceAliasCounter(InferenceTensorCounter):
    """A real version counter on an inference tensor: the one PyTorch gives ``detach()`` or
    ``.data`` of an inference tensor outside the mode. That alias is still an inference tensor,
    yet it may be edited in place outside the mode and counts those edits (not the ones made
    inside the mode).
    """

    __slots__ = ()


def detached_counter(counter: list) -> list:
    """The version counter of ``detach()`` of a tensor whose counter is ``counter``.

    >>> import gradlens_core as torch
    >>> with torch.inference_mode():
    ...     i = torch.ones(2)
    >>> i.detach()._version  # i._version raises: an inference tensor tracks no version
    0
    """
    if counter.__class__ is list:  # a normal tensor: detach() shares its counter
        return counter
    if _state.inference:
        return counter if counter.__class__ is InferenceCounter else InferenceCounter([0])
    return InferenceAliasCounter([0])  # (a detach() of such an alias has its own counter again)


_state = _State()
_anomaly = [False]  # process-wide, as torch's anomaly flag


def is_grad_enabled() -> bool:
    """Whether ops currently record the autograd graph."""
    return _state.enabled


def _set(mode: bool) -> None:
    _state.enabled = bool(mode)


def is_inference_mode_enabled() -> bool:
    """Whether the code runs under ``inference_mode()`` (not ``inference_mode(False)``)."""
    return _state.inference


class _DecoratorContextManager:
    """A context manager that also decorates functions (and generator functions)."""

    def __call__(self, fn):
        if inspect.isgeneratorfunction(fn):

            @functools.wraps(fn)
            def gen_wrapper(*args, **kwargs):
                with self.clone():
                    yield from fn(*args, **kwargs)

            return gen_wrapper

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.clone():
                return fn(*args, **kwargs)

        return wrapper

    def clone(self):
        return type(self)()


class _NoParamDecoratorContextManager(_DecoratorContextManager):
    """One that also decorates without parentheses: ``@torch.no_grad`` as ``@torch.no_grad()``."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class no_grad(_NoParamDecoratorContextManager):
    """Disable graph recording inside the block (or the decorated function)."""

    def __enter__(self) -> None:
        self.prev = _state.enabled
        _state.enabled = False

    def __exit__(self, *exc) -> None:
        _state.enabled = self.prev


class enable_grad(_NoParamDecoratorContextManager):
    """Enable graph recording inside the block, even within ``no_grad``."""

    def __enter__(self) -> None:
        self.prev = _state.enabled
        _state.enabled = True

    def __exit__(self, *exc) -> None:
        _state.enabled = self.prev


class inference_mode(_DecoratorContextManager):
    """Inside, no graph is recorded and new tensors are inference tensors (PyTorch's
    InferenceMode guard: grad mode is ``not mode``, so ``inference_mode(False)`` enables it).

    >>> import gradlens_core as torch
    >>> with torch.inference_mode():
    ...     i = torch.ones(2)
    >>> i.is_inference(), torch.is_inference_mode_enabled()
    (True, False)

    Outside the mode an inference tensor may not be edited in place, saved for backward or
    made to require grad. ``@inference_mode`` decorates without parentheses too.
    """

    def __new__(cls, mode=True):
        if isinstance(mode, bool):
            return super().__new__(cls)
        return cls()(mode)

    def __init__(self, mode: bool = True) -> None:
        self.mode = mode

    def __enter__(self) -> None:
        self.prev = (_state.enabled, _state.inference)
        _state.enabled, _state.inference = not self.mode, self.mode

    def __exit__(self, *exc) -> None:
        _state.enabled, _state.inference = self.prev

    def clone(self):
        return type(self)(self.mode)


class set_grad_enabled(_DecoratorContextManager):
    """Set grad mode: takes effect at once, and is restored on exit when used with ``with``."""

    def __init__(self, mode: bool) -> None:
        self.prev = _state.enabled
        self.mode = bool(mode)
        _state.enabled = self.mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> None:
        _state.enabled = self.prev

    def clone(self):
        return type(self)(self.mode)

    def __call__(self, fn):
        _state.enabled = self.prev  # used as a decorator: the call itself must not change mode
        return super().__call__(fn)


def is_anomaly_enabled() -> bool:
    return _anomaly[0]


class set_detect_anomaly:
    """Turn anomaly detection on or off; restored on exit when used with ``with``."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = _anomaly[0]
        _anomaly[0] = bool(mode)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> None:
        _anomaly[0] = self.prev


class detect_anomaly(_DecoratorContextManager):
    """Context manager that enables anomaly detection inside the block (warning that it does)."""

    def __init__(self, check_nan: bool = True) -> None:
        warnings.warn(
            "Anomaly Detection has been enabled. This mode will increase the runtime and should only be "
            "enabled for debugging.",
            stacklevel=2,
        )

    def __enter__(self) -> None:
        self.prev = _anomaly[0]
        _anomaly[0] = True

    def __exit__(self, *exc) -> None:
        _anomaly[0] = self.prev
