"""``torch.optim``: ``Optimizer``, ``SGD`` and ``Adam``.

>>> import gradlens_core as torch
>>> torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1).param_groups[0]["lr"]
0.1
"""

from __future__ import annotations

from .adam import Adam
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam"]
