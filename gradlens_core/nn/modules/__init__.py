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
from ..container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from ..flatten import Flatten
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
