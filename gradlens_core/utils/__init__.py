"""``torch.utils``: ``data`` (datasets, samplers, ``DataLoader``).

>>> import gradlens_core as torch
>>> len(torch.utils.data.TensorDataset(torch.zeros(3, 2)))
3
"""

from __future__ import annotations

from . import data

__all__ = ["data"]
