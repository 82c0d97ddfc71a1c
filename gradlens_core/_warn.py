"""Warnings PyTorch gives once per process (``TORCH_WARN_ONCE``), unless ``set_warn_always(True)``.

>>> set_warn_always(True); is_warn_always_enabled()
True
>>> set_warn_always(False)
"""

from __future__ import annotations

import warnings

__all__ = ["set_warn_always", "is_warn_always_enabled", "warn_once", "silence_numpy_float_warnings"]

_always = False
_given: set = set()


def set_warn_always(b: bool) -> None:
    """Give warnings that PyTorch gives once per process every time (as ``torch.set_warn_always``)."""
    global _always
    _always = bool(b)


def is_warn_always_enabled() -> bool:
    return _always


def warn_once(message: str, stacklevel: int = 3, key=None) -> None:
    """A UserWarning the first time ``message`` (or any message of the same ``key``: one
    TORCH_WARN_ONCE that says several things) is given in this process (every time if warn-always)."""
    key = message if key is None else key
    if _always or key not in _given:
        _given.add(key)
        warnings.warn(message, UserWarning, stacklevel=stacklevel)


def silence_numpy_float_warnings() -> None:
    """Ignore numpy's floating-point RuntimeWarnings (inf - inf, sin(inf), ...) raised from inside
    the engine: PyTorch returns nan/inf silently. Called on import; call it again inside a
    ``warnings.catch_warnings()`` block that reset the filters (pytest does, per test)."""
    warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"gradlens_core\.")
