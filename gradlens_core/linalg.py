"""``torch.linalg``: the functions of PyTorch's linear algebra namespace gradlens_core has.

>>> import gradlens_core as torch
>>> torch.linalg.cross(torch.tensor([1., 0., 0.]), torch.tensor([0., 1., 0.]))
tensor([0., 0., 1.])
"""

from __future__ import annotations

from ._math_ops import linalg_cross as cross

__all__ = ["cross"]
