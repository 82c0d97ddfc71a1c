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

__all__ = [
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "is_grad_enabled",
    "set_detect_anomaly",
    "detect_anomaly",
    "is_anomaly_enabled",
    "inference_mode",
]


class _State(threading.local):
    enabled = True


_state = _State()
_anomaly = [False]  # process-wide, as torch's anomaly flag


def is_grad_enabled() -> bool:
    """Whether ops currently record the autograd graph."""
    return _state.enabled


def _set(mode: bool) -> None:
    _state.enabled = bool(mode)


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


class no_grad(_DecoratorContextManager):
    """Disable graph recording inside the block (or the decorated function)."""

    def __enter__(self) -> None:
        self.prev = _state.enabled
        _state.enabled = False

    def __exit__(self, *exc) -> None:
        _state.enabled = self.prev


class enable_grad(_DecoratorContextManager):
    """Enable graph recording inside the block, even within ``no_grad``."""

    def __enter__(self) -> None:
        self.prev = _state.enabled
        _state.enabled = True

    def __exit__(self, *exc) -> None:
        _state.enabled = self.prev


class inference_mode(no_grad):
    """Treated as ``no_grad`` (gradlens_core has no inference tensors)."""

    def __init__(self, mode: bool = True) -> None:
        self.mode = mode

    def __enter__(self) -> None:
        self.prev = _state.enabled
        _state.enabled = not self.mode and self.prev

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
    """Context manager that enables anomaly detection inside the block."""

    def __enter__(self) -> None:
        self.prev = _anomaly[0]
        _anomaly[0] = True

    def __exit__(self, *exc) -> None:
        _anomaly[0] = self.prev
