"""``torch.nn.modules``: the module classes, also reachable directly as ``torch.nn.<Name>``.

>>> import gradlens_core as torch
>>> torch.nn.modules.Linear is torch.nn.Linear
True
"""

from __future__ import annotations

from ..activation import LogSoftmax, ReLU, Sigmoid, Softmax, Softplus, Tanh
from ..batchnorm import BatchNorm1d, BatchNorm2d
from ..container import ModuleList, Sequential
from ..conv import Conv1d, Conv2d
from ..flatten import Flatten, Unflatten
from ..linear import Identity, Linear
from ..loss import CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from ..module import Module
from ..normalization import Dropout, LayerNorm
from ..pooling import AdaptiveAvgPool1d, AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d

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
    "Unflatten",
    "Sequential",
    "ModuleList",
    "MSELoss",
    "L1Loss",
    "NLLLoss",
    "CrossEntropyLoss",
    "Dropout",
    "LayerNorm",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv1d",
    "Conv2d",
    "MaxPool1d",
    "MaxPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
]
