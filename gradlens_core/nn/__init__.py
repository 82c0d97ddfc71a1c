"""``torch.nn``: modules, parameters, losses, ``functional`` and ``init``.

>>> import gradlens_core as torch
>>> torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU())
Sequential(
  (0): Linear(in_features=2, out_features=3, bias=True)
  (1): ReLU()
)
"""

from __future__ import annotations

from . import functional, init, modules, parameter, utils
from .modules import *  # noqa: F403  (the module classes, listed once in nn.modules)
from .parameter import Parameter

__all__ = [*modules.__all__, "Parameter", "functional", "init", "modules", "parameter", "utils"]
