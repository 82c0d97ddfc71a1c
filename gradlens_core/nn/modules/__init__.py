"""``torch.nn.modules``: the module classes, also reachable directly as ``torch.nn.<Name>``.

>>> import gradlens_core as torch
>>> torch.nn.modules.Linear is torch.nn.Linear
True
"""

from __future__ import annotations

from ..activation import LogSoftmax, ReLU, Sigmoid, Softmax, Softplus, Tanh
from ..container import ModuleList, Sequential
from ..flatten import Flatten
from ..linear import Identity, Linear
from ..loss import CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from ..module import Module
from ..normalization import Dropout, LayerNorm

__all__ = [
    "Module",
    "Linear",
    "Identity",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "LogSoftmax",
    "Softplus",
    "Flatten",
    "Sequential",
    "ModuleList",
    "MSELoss",
    "L1Loss",
    "NLLLoss",
    "CrossEntropyLoss",
    "Dropout",
    "LayerNorm",
]
