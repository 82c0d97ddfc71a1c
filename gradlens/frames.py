"""Find the user's source line: the innermost frame outside gradlens_core and gradlens.

>>> user_frame() is not None
True
"""

from __future__ import annotations

import os
import sys

import gradlens_core

__all__ = ["user_frame", "SKIPPED", "SKIP_DIRS"]

SKIP_DIRS = (
    os.path.dirname(os.path.abspath(gradlens_core.__file__)) + os.sep,
    os.path.dirname(os.path.abspath(__file__)) + os.sep,
)


class _Skipped(dict):
    """filename -> whether its frames are gradlens_core's or gradlens's own (cached)."""

    def __missing__(self, filename: str) -> bool:
        skip = self[filename] = (
            filename.startswith(SKIP_DIRS) or filename.startswith("<frozen ") or filename.endswith("contextlib.py")
        )
        return skip


SKIPPED = _Skipped()


def user_frame(depth: int = 1):
    """The innermost frame whose code is not gradlens_core's or gradlens's own (None if none)."""
    f = sys._getframe(depth)
    while f is not None and SKIPPED[f.f_code.co_filename]:
        f = f.f_back
    return f
