"""``nn.Linear`` and ``nn.Identity``.

>>> import gradlens_core as torch
>>> layer = torch.nn.Linear(2, 3)
>>> layer, tuple(layer.weight.shape), tuple(layer.bias.shape)
(Linear(in_features=2, out_features=3, bias=True), (3, 2), (3,))
"""

from __future__ import annotations

from .. import _factories
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["Linear", "Identity"]


class Identity(Module):
    """Returns its input unchanged; accepts and ignores any constructor arguments."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """``y = x @ weight.T + bias`` with weight (out_features, in_features).

    Initialised as PyTorch does (kaiming-uniform with ``a=sqrt(5)``, i.e. both weight and
    bias uniform in ``±1/sqrt(in_features)``), from gradlens_core's own generator: the
    numbers differ from PyTorch's, the distribution does not.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(_factories.empty(out_features, in_features, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(_factories.empty(out_features, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init._reset_weight_and_bias(self.weight, self.bias)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
