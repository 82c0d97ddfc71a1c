"""Warnings PyTorch gives once per process (``TORCH_WARN_ONCE``), unless ``set_warn_always(True)``.

>>> set_warn_always(True); is_warn_always_enabled()
True
>>> set_warn_always(False)
"""

from __future__ import annotations

import os
import sys
import warnings

__all__ = ["set_warn_always", "is_warn_always_enabled", "warn_once", "user_stacklevel", "silence_numpy_float_warnings"]

_always = False
_given: set = set()


def set_warn_always(b: bool) -> None:
    """Give warnings that PyTorch gives once per process every time (as ``torch.set_warn_always``)."""
    global _always
    _always = bool(b)


def is_warn_always_enabled() -> bool:
    return _always


def warn_once(message: str, stacklevel: int | None = 3, key=None) -> None:
    """A UserWarning the first time ``message`` (or any message of the same ``key``: one
    TORCH_WARN_ONCE that says several things) is given in this process (every time if
    warn-always); ``stacklevel`` None names the user's line (``user_stacklevel``)."""
    key = message if key is None else key
    if _always or key not in _given:
        _given.add(key)
        warnings.warn(message, UserWarning, stacklevel=user_stacklevel() if stacklevel is None else stacklevel)


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def user_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning given by the caller name the innermost line
    outside gradlens_core, as PyTorch's C++ warnings name the Python line that called into
    torch (however deep the engine's own calls go: a torch.* function may be wrapped for
    ``out=``)."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level


def silence_numpy_float_warnings() -> None:
    """Ignore numpy's floating-point RuntimeWarnings (inf - inf, sin(inf), ...) raised from inside
    the engine: PyTorch returns nan/inf silently. Called on import; call it again inside a
    ``warnings.catch_warnings()`` block that reset the filters (pytest does, per test)."""
    warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"gradlens_core\.")
