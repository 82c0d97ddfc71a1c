"""``torch.optim``: ``Optimizer``, ``SGD``, ``Adam``, ``AdamW``, ``RMSprop``, ``Adagrad`` and ``lr_scheduler``.

>>> import gradlens_core as torch
>>> torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1).param_groups[0]["lr"]
0.1
"""

from __future__ import annotations

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam
from .adamw import AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler"]
