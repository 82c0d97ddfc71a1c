"""Run a piece of source code under a trace (used by the demo, the CLI and the tests).

>>> tr, printed, error, ns = run_source("import gradlens_core as torch\\nx = torch.ones(2).detach()\\n")
>>> error is None, printed
(True, '')
"""

from __future__ import annotations

import contextlib
import io
import textwrap
import traceback

from .findings import ErrorInfo
from .trace import Trace

__all__ = ["run_source", "error_line"]


def run_code(code, namespace: dict, tr: Trace) -> BaseException | None:
    """Execute compiled ``code`` in ``namespace`` under ``tr``; returns the exception it raised (or None)."""
    error = None
    tr.start()
    try:
        exec(code, namespace)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # SystemExit too: the report must still be made
        error = exc
    finally:
        tr.recorder.stop(frame=None)
        tr.recorder.scan_namespace(list(namespace.items()), id(namespace))
        tr.error = ErrorInfo.of(error)
    return error


def run_source(source: str, filename: str = "<gradlens>", capture: bool = True):
    """Run ``source`` (dedented) under a new trace.

    Returns ``(trace, printed, error, namespace)``: what the code printed (when captured),
    the exception it raised (or None), and its global namespace. Line numbers in the
    trace are lines of ``source`` after dedenting.
    """
    code = compile(textwrap.dedent(source).strip("\n") + "\n", filename, "exec")
    namespace: dict = {"__name__": "__main__"}
    out = io.StringIO()
    tr = Trace()
    with contextlib.redirect_stdout(out) if capture else contextlib.nullcontext():
        error = run_code(code, namespace, tr)
        if error is not None:
            print(error_line(error))
    return tr, out.getvalue(), error, namespace


def error_line(exc: BaseException) -> str:
    """``raised RuntimeError: <first sentence>`` for an exception."""
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return "raised " + text.split(". ")[0]
