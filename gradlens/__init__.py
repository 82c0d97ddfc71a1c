"""gradlens: explain gradient flow in gradlens_core programs.

Why is ``a.grad`` None? Where was the gradient cut off? Which in-place edit will break
backward, or silently corrupt it? gradlens answers at the line where it happened.

>>> import gradlens_core as torch, gradlens
>>> with gradlens.trace() as tr:
...     w = torch.tensor([1., 2.], requires_grad=True)
...     loss = (w.detach() * 2).sum()
>>> tr.cutoffs()[0].kind
'detach'
"""

from __future__ import annotations

from .findings import CAUSES, CUT_KINDS, HAZARD_KINDS, BackwardFailure, Cutoff, Explanation, Hazard, Report
from .trace import Trace, last_trace, trace

__all__ = [
    "trace",
    "Trace",
    "why_none",
    "last_trace",
    "Explanation",
    "Cutoff",
    "Hazard",
    "Report",
    "BackwardFailure",
    "CAUSES",
    "CUT_KINDS",
    "HAZARD_KINDS",
    "load_ipython_extension",
    "unload_ipython_extension",
]

__version__ = "0.1.0"


def why_none(t) -> Explanation:
    """Explain ``t.grad is None`` using the most recent trace."""
    tr = last_trace()
    if tr is None:
        raise RuntimeError("no gradlens trace yet: run your code inside `with gradlens.trace():` first")
    return tr.why_none(t)


def load_ipython_extension(ipython) -> None:
    """``%load_ext gradlens``: register the magics (IPython is imported only here)."""
    from .magics import load

    load(ipython)


def unload_ipython_extension(ipython) -> None:
    """``%unload_ext gradlens``: remove the magics' listeners."""
    from .magics import unload

    unload(ipython)
