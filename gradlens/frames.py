"""Find the user's source line: the innermost frame outside gradlens_core and gradlens.

>>> user_frame() is not None
True
"""

from __future__ import annotations

import os
import sys

import gradlens_core

__all__ = ["user_frame", "SKIP_DIRS"]

SKIP_DIRS = (
    os.path.dirname(os.path.abspath(gradlens_core.__file__)) + os.sep,
    os.path.dirname(os.path.abspath(__file__)) + os.sep,
)
_skip_cache: dict = {}


def _skipped(filename: str) -> bool:
    skip = _skip_cache.get(filename)
    if skip is None:
        skip = filename.startswith(SKIP_DIRS) or filename.startswith("<frozen ") or filename.endswith("contextlib.py")
        _skip_cache[filename] = skip
    return skip


def user_frame(depth: int = 1):
    """The innermost frame whose code is not gradlens_core's or gradlens's own (None if none)."""
    f = sys._getframe(depth)
    cache = _skip_cache
    while f is not None:
        filename = f.f_code.co_filename
        skip = cache.get(filename)
        if skip is None:
            skip = _skipped(filename)
        if not skip:
            return f
        f = f.f_back
    return None
