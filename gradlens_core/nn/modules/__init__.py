"""``torch.nn.modules``: the module classes, also reachable directly as ``torch.nn.<Name>``.

>>> import gradlens_core as torch
>>> torch.nn.modules.Linear is torch.nn.Linear
True
"""

from __future__ import annotations

from ..activation import (
    CELU,
    ELU,
    GELU,
    SELU,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    Mish,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Softsign,
    Tanh,
    Tanhshrink,
)
from ..batchnorm import BatchNorm1d, BatchNorm2d
from ..container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from ..conv import Conv1d, Conv2d
from ..flatten import Flatten, Unflatten
from ..linear import Identity, Linear
from ..loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from ..module import Module
from ..normalization import Dropout, LayerNorm
from ..pooling import AdaptiveAvgPool1d, AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d
from ..sparse import Embedding

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
    "ModuleDict",
    "ParameterList",
    "ParameterDict",
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
    "GELU",
    "LeakyReLU",
    "SiLU",
    "ELU",
    "SELU",
    "CELU",
    "Hardtanh",
    "ReLU6",
    "LogSigmoid",
    "Mish",
    "Hardswish",
    "Hardsigmoid",
    "Softsign",
    "Tanhshrink",
    "BCELoss",
    "BCEWithLogitsLoss",
    "SmoothL1Loss",
    "HuberLoss",
    "Embedding",
]
